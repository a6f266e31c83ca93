/* Routing of the HTTP API: the list of the modules' route tables and the
 * matcher (api_route.h). Owns which tables are routed; must not know what a
 * handler does or speak HTTP. */
#include "api_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_admin.h"
#include "api_ops.h"
#include "util.h"

const api_route *const api_route_tables[] = {
    api_basic_routes,
    api_change_routes,
    api_token_routes, /* /api/v3/tokens/changes (above) wins over /api/v3/tokens/{address} */
    api_ops_routes,   /* api_ops.c: /metrics, the status page, /status.json */
    api_admin_routes, /* api_admin.c: /api/admin/ */
    NULL,
};

static int is_param(const char *seg, size_t len) { return len >= 2 && seg[0] == '{' && seg[len - 1] == '}'; }

/* Length of the segment at P (up to '/' or the end). */
static size_t seg_len(const char *p) { return strcspn(p, "/"); }

/* Whether PATTERN matches PATH segment by segment; SPEC gets one char per
 * segment, '1' literal or '0' parameter (compared to rank two matches). */
static int matches(const char *pattern, const char *path, char *spec, size_t spec_cap)
{
    size_t k = 0;
    if (*pattern != '/' || *path != '/')
        return 0;
    if (!pattern[1] || !path[1]) { /* the root, "/": only itself */
        spec[0] = '\0';
        return !pattern[1] && !path[1];
    }
    for (pattern++, path++;; pattern++, path++) {
        size_t pl = seg_len(pattern), ql = seg_len(path);
        if (ql == 0 || k + 1 >= spec_cap)
            return 0; /* empty segments ("//", a trailing '/') are never routed */
        int param = is_param(pattern, pl);
        if (!param && (pl != ql || memcmp(pattern, path, pl)))
            return 0;
        spec[k++] = param ? '0' : '1';
        pattern += pl;
        path += ql;
        if (!*pattern || !*path)
            break;
    }
    spec[k] = '\0';
    return !*pattern && !*path;
}

static int method_matches(const char *route, const char *method)
{
    return !strcmp(route, method) || (!strcmp(method, "HEAD") && !strcmp(route, "GET"));
}

static void add_allow(char *allow, size_t cap, const char *method)
{
    if (strstr(allow, method))
        return;
    size_t n = strlen(allow);
    snprintf(allow + n, cap - n, "%s%s", n ? ", " : "", method);
}

/* The path's arguments: the segments where the route has "{...}". */
static void take_args(api_match *m, const char *pattern, const char *path)
{
    m->buf = xstrdup(path);
    char *q = m->buf + 1;
    for (const char *p = pattern + 1; *p && *q;) {
        size_t pl = seg_len(p), ql = seg_len(q);
        int last = !q[ql];
        if (is_param(p, pl) && m->n_args < API_MAX_ARGS)
            m->args[m->n_args++] = q;
        q[ql] = '\0';
        p += pl + (p[pl] == '/');
        q += ql + !last;
    }
}

int api_route_find(const api_route *const *tables, const char *method, const char *path, api_match *m)
{
    memset(m, 0, sizeof *m);
    char best_spec[64] = "", spec[64];
    int path_known = 0;
    for (size_t t = 0; tables[t]; t++)
        for (const api_route *r = tables[t]; r->method; r++) {
            if (!matches(r->path, path, spec, sizeof spec))
                continue;
            path_known = 1;
            if (!method_matches(r->method, method)) {
                add_allow(m->allow, sizeof m->allow, r->method);
                if (!strcmp(r->method, "GET"))
                    add_allow(m->allow, sizeof m->allow, "HEAD");
                continue;
            }
            /* '1' > '0': the literal segment first. */
            if (!m->route || strcmp(spec, best_spec) > 0) {
                m->route = r;
                strcpy(best_spec, spec);
            }
        }
    if (m->route) {
        take_args(m, m->route->path, path);
        return 200;
    }
    return path_known ? 405 : 404;
}

void api_match_free(api_match *m)
{
    free(m->buf);
    m->buf = NULL;
}
