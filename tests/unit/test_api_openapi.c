/* docs/openapi.json (as built into the binary) against the route table:
 * every route the server has is documented with its method, every path and
 * method documented is routed to a route of that path, and every $ref of
 * the document resolves, so the document and the server cannot drift. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "api_route.h"
#include "api_server.h"

static cJSON *doc(void)
{
    size_t len;
    const char *text = api_openapi_text(&len);
    assert_true(len > 100);
    assert_int_equal(strlen(text), len); /* the build appends a NUL */
    cJSON *d = cJSON_ParseWithLength(text, len);
    if (!d)
        fail_msg("docs/openapi.json is not JSON near: %.60s", cJSON_GetErrorPtr());
    assert_string_equal(cJSON_GetObjectItem(d, "openapi")->valuestring, "3.0.3");
    return d;
}

static void lower(const char *in, char *out, size_t len)
{
    size_t i = 0;
    for (; in[i] && i + 1 < len; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static void every_route_documented(void **state)
{
    (void)state;
    cJSON *d = doc(), *paths = cJSON_GetObjectItem(d, "paths");
    size_t n = 0;
    for (size_t t = 0; api_route_tables[t]; t++)
        for (const api_route *r = api_route_tables[t]; r->method; r++, n++) {
            char m[16];
            lower(r->method, m, sizeof m);
            cJSON *p = cJSON_GetObjectItemCaseSensitive(paths, r->path);
            if (!p || !cJSON_GetObjectItemCaseSensitive(p, m))
                fail_msg("route %s %s is not in docs/openapi.json", r->method, r->path);
        }
    assert_true(n >= 3);
    cJSON_Delete(d);
}

/* A concrete path for a documented one: each "{...}" becomes a value. */
static void concrete(const char *path, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = path; *p && o + 8 < len; p++) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            o += (size_t)snprintf(out + o, len - o, "x1");
            p = end ? end : p;
        } else
            out[o++] = *p;
    }
    out[o] = '\0';
}

static void every_documented_path_routed(void **state)
{
    (void)state;
    static const char *const methods[] = {"get", "put", "post", "delete", "patch", "head", "options", NULL};
    cJSON *d = doc(), *paths = cJSON_GetObjectItem(d, "paths"), *p;
    size_t n = 0;
    cJSON_ArrayForEach(p, paths)
    {
        for (const char *const *m = methods; *m; m++) {
            if (!cJSON_GetObjectItemCaseSensitive(p, *m))
                continue;
            char upper[16], path[512];
            size_t i = 0;
            for (; (*m)[i]; i++)
                upper[i] = (char)toupper((unsigned char)(*m)[i]);
            upper[i] = '\0';
            concrete(p->string, path, sizeof path);
            api_match match;
            int rc = api_route_find(api_route_tables, upper, path, &match);
            if (rc != 200 || strcmp(match.route->path, p->string))
                fail_msg("docs/openapi.json: %s %s is not routed (%d)", upper, p->string, rc);
            api_match_free(&match);
            n++;
        }
    }
    assert_true(n >= 3);
    cJSON_Delete(d);
}

/* The object a local "#/a/b" reference names, or NULL. */
static cJSON *resolve(cJSON *root, const char *ref)
{
    if (strncmp(ref, "#/", 2))
        return NULL;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ref + 2);
    cJSON *at = root;
    for (char *save, *part = strtok_r(buf, "/", &save); part && at; part = strtok_r(NULL, "/", &save))
        at = cJSON_GetObjectItemCaseSensitive(at, part);
    return at;
}

static size_t check_refs(cJSON *root, cJSON *node)
{
    size_t n = 0;
    cJSON *c;
    cJSON_ArrayForEach(c, node)
    {
        if (c->string && !strcmp(c->string, "$ref")) {
            if (!cJSON_IsString(c) || !resolve(root, c->valuestring))
                fail_msg("docs/openapi.json: $ref %s does not resolve", cJSON_IsString(c) ? c->valuestring : "?");
            n++;
        }
        n += check_refs(root, c);
    }
    return n;
}

/* The tokens module's parameters are documented for it (its paths come
 * with its routes). */
static void refs_resolve_and_token_parameters(void **state)
{
    (void)state;
    cJSON *d = doc();
    assert_true(check_refs(d, d) > 10);
    static const char *const params[] = {"limit", "page", "cursor", "fields", "light", "sort", "status",
                                         "addresses", "q", NULL};
    cJSON *all = resolve(d, "#/components/parameters"), *p;
    for (const char *const *want = params; *want; want++) {
        int found = 0;
        cJSON_ArrayForEach(p, all)
        {
            cJSON *name = cJSON_GetObjectItem(p, "name"), *in = cJSON_GetObjectItem(p, "in");
            found |= name && in && !strcmp(name->valuestring, *want) && !strcmp(in->valuestring, "query");
        }
        if (!found)
            fail_msg("no query parameter %s in components/parameters", *want);
    }
    cJSON_Delete(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_route_documented),
        cmocka_unit_test(every_documented_path_routed),
        cmocka_unit_test(refs_resolve_and_token_parameters),
    };
    return cmocka_run_group_tests_name("api_openapi", tests, NULL, NULL);
}
