/* The store tests' view of the change feed (feed_text.h). */
#include "feed_text.h"

#include <stdio.h>

#include "util.h"

static void append_change(void *ctx, const token_change *c)
{
    sb_printf(ctx, "%s%s:%lld", ((strbuf *)ctx)->len ? " " : "", c->address, (long long)c->seq);
}

const char *feed_text(store *st, int64_t since, size_t limit, int64_t *head, char *err, size_t errlen)
{
    static char out[1024];
    strbuf b = {0};
    int rc = store_changes(st, since, limit, append_change, &b, head, err, errlen);
    snprintf(out, sizeof out, "%s", b.data ? b.data : "");
    sb_free(&b);
    return rc == 0 ? out : NULL;
}
