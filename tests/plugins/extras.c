/* Test plugin (ABI 1.1) that reports extras as its "response" says, one
 * call per line:
 *
 *   I T KEY VALUE      I: index into the chunk's addresses; T: n (number,
 *                      strtod), s (string: the rest of the line), z (a NULL
 *                      string), b (bool, atoi); KEY "-" is a NULL key
 *
 * and reports what each call returned as addrs[0]'s description, space
 * separated ("0 0 -1"), so a test sees the host's verdicts through the real
 * ABI path. On a host whose tc_emit has no extras (struct_size) it calls
 * none and says "no extras" instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokencollector/plugin.h"
#include "tokencollector/sdk/compat.h"

static int create(const tc_host *host, const tc_settings *settings, void **self, char *err, size_t errlen)
{
    (void)host, (void)settings, (void)err, (void)errlen;
    *self = malloc(1);
    return *self ? 0 : -1;
}

static void destroy(void *self) { free(self); }

static int build(void *self, const char *const *addrs, size_t n, tc_request *req)
{
    (void)self, (void)addrs, (void)n, (void)req;
    return -1;
}

/* One line: the setter's return value, or -2 for a line it cannot read. */
static int call_line(const tc_emit *out, const char *const *addrs, size_t n, char *line)
{
    char *p;
    size_t i = strtoul(line, &p, 10);
    if (p == line || i >= n || p[0] != ' ' || !p[1] || p[2] != ' ')
        return -2;
    char type = p[1];
    const char *key = p + 3;
    char *sp = strchr(key, ' ');
    const char *value = "";
    if (sp) {
        *sp = '\0';
        value = sp + 1;
    }
    if (!strcmp(key, "-"))
        key = NULL;
    switch (type) {
    case 'n': return out->extra_num(out->ctx, addrs[i], key, strtod(value, NULL));
    case 's': return out->extra_str(out->ctx, addrs[i], key, value);
    case 'z': return out->extra_str(out->ctx, addrs[i], key, NULL);
    case 'b': return out->extra_bool(out->ctx, addrs[i], key, atoi(value));
    default: return -2;
    }
}

static tc_status parse(void *self, const char *const *addrs, size_t n, const tc_response *res, const tc_emit *out,
                       tc_outcome *outcome)
{
    (void)self, (void)outcome;
    if (n == 0)
        return TC_OK;
    if (!TC_HAS_MEMBER(out, tc_emit, extra_bool)) {
        out->str(out->ctx, addrs[0], TC_DESCRIPTION, "no extras");
        return TC_OK;
    }
    char *body = strdup(res->body ? res->body : "");
    size_t cap = 16 + 4 * strlen(body);
    char *verdicts = calloc(1, cap);
    if (!body || !verdicts) {
        free(body);
        free(verdicts);
        return TC_RETRY;
    }
    char *save = NULL;
    for (char *line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t len = strlen(verdicts);
        snprintf(verdicts + len, cap - len, "%s%d", len ? " " : "", call_line(out, addrs, n, line));
    }
    out->str(out->ctx, addrs[0], TC_DESCRIPTION, verdicts);
    free(body);
    free(verdicts);
    return TC_OK;
}

static const tc_source desc = {.abi_major = TC_ABI_MAJOR,
                               .abi_minor = TC_ABI_MINOR,
                               .struct_size = sizeof(tc_source),
                               .name = "extras",
                               .version = "2.0.0",
                               .description = "test plugin: extras as told",
                               .max_chunk = 10,
                               .create = create,
                               .destroy = destroy,
                               .build_request = build,
                               .parse_response = parse};

TC_EXPORT const tc_source *tc_source_entry(void) { return &desc; }
