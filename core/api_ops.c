/* The operations API's public routes (docs/api.md "Metrics", "Status
 * page"): GET /metrics (Prometheus text, metrics_prom.c), the status page
 * at / with its style and script (web/, built into the binary), and
 * GET /status.json (the snapshot as JSON, ops_json.c). Every answer is
 * rendered from the loop's published snapshot (ops.h): never from the
 * engine or the scheduler. Must not change anything (the admin API does,
 * api_admin.c). */
#include "api_ops.h"

#include <string.h>

#include "metrics_prom.h"
#include "ops.h"
#include "ops_json.h"
#include "util.h"

/* web/ as it was when the binary was built (the Makefile lists them as
 * dependencies of this object). */
#define EMBED(sym, path)                                                                                     \
    __asm__(".section .rodata\n.global " #sym "\n.hidden " #sym "\n" #sym ":\n.incbin \"" path "\"\n"           \
            ".byte 0\n.previous\n");                                                                          \
    extern const char sym[]
EMBED(tc_web_status_html, "web/status.html");
EMBED(tc_web_status_css, "web/status.css");
EMBED(tc_web_status_js, "web/status.js");

static int snapshot_or_503(ops_snapshot *s, api_response *rs)
{
    ops_hub *h = ops_current();
    if (!h)
        return api_error(rs, 503, "no_collector",
                         "no collector runs in this process (tokencollector serve): this is the daemon's"),
               -1;
    if (ops_read(h, s) != 0)
        return api_error(rs, 503, "starting", "the collector has not published its state yet; try again in a second"),
               -1;
    return 0;
}

/* The public routes take no query parameter; the snapshot or a 503. */
static int public_snapshot(const api_request *rq, ops_snapshot *s, api_response *rs)
{
    static const char *const none[] = {NULL};
    if (api_check_params(rq, none, rs) != 0)
        return -1;
    return snapshot_or_503(s, rs);
}

static int get_metrics(const api_request *rq, api_response *rs)
{
    ops_snapshot s = {0};
    if (public_snapshot(rq, &s, rs) != 0)
        return 0;
    size_t len = 0;
    rs->status = 200;
    rs->body = metrics_prom_render(&s, &len);
    rs->body_len = len;
    rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
    ops_snapshot_clear(&s);
    return 0;
}

static int get_status(const api_request *rq, api_response *rs)
{
    ops_snapshot s = {0};
    if (public_snapshot(rq, &s, rs) != 0)
        return 0;
    api_json(rs, ops_print(ops_status_json(&s)));
    ops_snapshot_clear(&s);
    return 0;
}

static int static_file(api_response *rs, const char *text, const char *type)
{
    rs->status = 200;
    rs->body = xstrdup(text);
    rs->body_len = strlen(text);
    rs->content_type = type;
    rs->cacheable = 1;
    return 0;
}

static int get_page(const api_request *rq, api_response *rs)
{
    (void)rq;
    return static_file(rs, tc_web_status_html, "text/html; charset=utf-8");
}

static int get_css(const api_request *rq, api_response *rs)
{
    (void)rq;
    return static_file(rs, tc_web_status_css, "text/css; charset=utf-8");
}

static int get_js(const api_request *rq, api_response *rs)
{
    (void)rq;
    return static_file(rs, tc_web_status_js, "text/javascript; charset=utf-8");
}

const api_route api_ops_routes[] = {
    {"GET", "/metrics", get_metrics},  {"GET", "/status.json", get_status}, {"GET", "/", get_page},
    {"GET", "/status.css", get_css},   {"GET", "/status.js", get_js},       {NULL, NULL, NULL},
};
