/* The HTTP API's own routes: GET /health (the store's state, 503 when it
 * does not answer) and GET /api/v3/openapi.json (docs/openapi.json as built
 * in). Owns these two handlers and the 503 of a store that failed; must not
 * reach the collector. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "api_server.h"
#include "api_sse_hub.h"
#include "log.h"
#include "util.h"

int api_store_unavailable(api_response *rs, const char *err)
{
    LOG_WARN("api", "%s", err);
    return api_error(rs, 503, "store_unavailable", "the store did not answer; try again shortly");
}

static const char *const no_params[] = {NULL};

static int get_health(const api_request *rq, api_response *rs)
{
    if (api_check_params(rq, no_params, rs) != 0)
        return 0;
    int64_t head = 0;
    char err[1024];
    if (store_changes(rq->st, 0, 0, NULL, NULL, &head, err, sizeof err) != 0)
        return api_store_unavailable(rs, err);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", "ok");
    cJSON *st = cJSON_AddObjectToObject(root, "store");
    cJSON_AddStringToObject(st, "backend", api_ctx_backend(rq->ctx));
    cJSON_AddBoolToObject(st, "reachable", 1);
    cJSON_AddNumberToObject(st, "change_seq", (double)head);
    sse_hub *hub = api_ctx_hub(rq->ctx);
    if (hub) {
        sse_hub_stats s;
        sse_hub_stats_get(hub, &s);
        cJSON *feed = cJSON_AddObjectToObject(root, "feed");
        cJSON_AddNumberToObject(feed, "streams", (double)s.streams);
        cJSON_AddNumberToObject(feed, "streams_started", (double)s.joined);
        cJSON_AddNumberToObject(feed, "cut_off", (double)s.cut_off);
        cJSON_AddNumberToObject(feed, "events", (double)s.events);
        cJSON_AddNumberToObject(feed, "cursor", (double)s.cursor);
    }
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return api_json(rs, body);
}

static int get_openapi(const api_request *rq, api_response *rs)
{
    if (api_check_params(rq, no_params, rs) != 0)
        return 0;
    size_t len;
    const char *doc = api_openapi_text(&len);
    rs->status = 200;
    rs->body = xmalloc(len + 1);
    memcpy(rs->body, doc, len);
    rs->body[len] = '\0';
    rs->body_len = len;
    rs->content_type = "application/json";
    rs->cacheable = 1;
    return 0;
}

const api_route api_basic_routes[] = {
    {"GET", "/health", get_health},
    {"GET", "/api/v3/openapi.json", get_openapi},
    {NULL, NULL, NULL},
};
