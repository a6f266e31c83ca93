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
 * none and says "no extras" instead, unless the response starts with a
 * line "!": then it calls them all the same, as a plugin that ignores
 * struct_size would (for the test kit, which must refuse such calls; a
 * real older host has no such members to call). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inert.h"
#include "tokencollector/plugin.h"
#include "tokencollector/sdk/compat.h"

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
    int force = res->body && strncmp(res->body, "!\n", 2) == 0;
    if (!TC_HAS_MEMBER(out, tc_emit, extra_bool) && !force) {
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
    for (char *line = strtok_r(body + (force ? 2 : 0), "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
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
                               .create = inert_create,
                               .destroy = inert_destroy,
                               .build_request = inert_build,
                               .parse_response = parse};

TC_EXPORT const tc_source *tc_source_entry(void) { return &desc; }
