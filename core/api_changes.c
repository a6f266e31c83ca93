/* GET /api/v3/tokens/changes: the change feed, as JSON pages (?since=SEQ
 * &limit=N) or, for Accept: text/event-stream, as a stream of Server-Sent
 * Events (resumable with Last-Event-ID or since; api_sse_hub.c fills it).
 * Owns the parameters, the page's shape and a change's JSON (shared with
 * the stream's events); must not write anything. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_http.h"
#include "api_server.h"
#include "api_sse_hub.h"
#include "util.h"

#define CHANGES_LIMIT_DEFAULT 100
#define CHANGES_LIMIT_MAX 1000

static void add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static void add_str(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static cJSON *change_object(const token_change *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seq", (double)c->seq);
    cJSON_AddStringToObject(o, "address", c->address);
    cJSON_AddStringToObject(o, "status", status_name(c->status));
    add_str(o, "name", c->name);
    add_str(o, "symbol", c->symbol);
    if (c->has_decimals)
        cJSON_AddNumberToObject(o, "decimals", c->decimals);
    else
        cJSON_AddNullToObject(o, "decimals");
    add_str(o, "image_url", c->image_url);
    add_num(o, "price_usd", c->price_usd);
    add_num(o, "market_cap", c->market_cap);
    add_num(o, "fdv", c->fdv);
    add_num(o, "liquidity_usd", c->liquidity_usd);
    add_num(o, "volume_24h", c->volume_24h);
    add_num(o, "change_24h", c->change_24h);
    char when[32];
    time_t t = (time_t)c->refreshed_at;
    struct tm tm;
    if (c->refreshed_at > 0 && gmtime_r(&t, &tm) && strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
        cJSON_AddStringToObject(o, "refreshed_at", when);
    else
        cJSON_AddNullToObject(o, "refreshed_at");
    return o;
}

char *api_change_json(const token_change *c)
{
    cJSON *o = change_object(c);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort(); /* out of memory */
    return s;
}

static void add_change(void *ctx, const token_change *c)
{
    cJSON_AddItemToArray(ctx, change_object(c));
}

/* A sequence number: digits only, 0 .. 2^63-1. */
static int parse_seq(const char *s, int64_t *out)
{
    if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
        return -1;
    *out = strtoll(s, NULL, 10);
    return 0;
}

/* The stream: from Last-Event-ID, else since, else the store's head (only
 * what changes from now on). */
static int open_stream(const api_request *rq, api_response *rs, const char *since_s)
{
    sse_hub *hub = api_ctx_hub(rq->ctx);
    if (!hub)
        return api_error(rs, 503, "streams_disabled", "this server has no change streams ([api] sse_max_clients = 0)");
    int64_t since;
    if (rq->last_event_id) {
        if (parse_seq(rq->last_event_id, &since) != 0)
            return api_error(rs, 400, "bad_header", "Last-Event-ID: expected a sequence number (digits), got \"%.40s\"",
                             rq->last_event_id);
    } else if (since_s)
        parse_seq(since_s, &since);
    else {
        char err[1024];
        if (store_changes(rq->st, 0, 0, NULL, NULL, &since, err, sizeof err) != 0)
            return api_store_unavailable(rs, err);
    }
    rs->stream = sse_hub_join(hub, since);
    if (!rs->stream)
        return api_error(rs, 503, "too_many_streams", "every change stream of this server is taken; try again later");
    rs->status = 200;
    return 0;
}

static int get_changes(const api_request *rq, api_response *rs)
{
    static const char *const allowed[] = {"since", "limit", NULL};
    if (api_check_params(rq, allowed, rs) != 0)
        return 0;
    const char *since_s = api_query(rq, "since"), *limit_s = api_query(rq, "limit");
    int64_t since = 0;
    long limit = CHANGES_LIMIT_DEFAULT;
    if (since_s && parse_seq(since_s, &since) != 0)
        return api_error(rs, 400, "bad_parameter", "since: expected a sequence number (digits, 0 for every token), "
                         "got \"%.40s\"", since_s);
    if (limit_s && parse_long(limit_s, 1, CHANGES_LIMIT_MAX, &limit) != 0)
        return api_error(rs, 400, "bad_parameter", "limit: expected 1..%d, got \"%.40s\"", CHANGES_LIMIT_MAX, limit_s);
    if (api_accepts_media(rq->accept, "text/event-stream"))
        return open_stream(rq, rs, since_s);

    cJSON *root = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(root, "data");
    int64_t head = 0;
    char err[1024];
    if (store_changes(rq->st, since, (size_t)limit, add_change, data, &head, err, sizeof err) != 0) {
        cJSON_Delete(root);
        return api_store_unavailable(rs, err);
    }
    int n = cJSON_GetArraySize(data);
    int64_t next = n ? (int64_t)cJSON_GetObjectItem(cJSON_GetArrayItem(data, n - 1), "seq")->valuedouble : since;
    /* No change between SINCE and the head: the next page starts there. */
    if (n < limit && head > next)
        next = head;
    cJSON_AddNumberToObject(root, "since", (double)since);
    cJSON_AddNumberToObject(root, "next", (double)next);
    cJSON_AddNumberToObject(root, "head", (double)head);
    cJSON_AddBoolToObject(root, "has_more", n == limit);
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    api_json(rs, body);
    rs->cacheable = 1;
    return 0;
}

const api_route api_change_routes[] = {
    {"GET", "/api/v3/tokens/changes", get_changes},
    {NULL, NULL, NULL},
};
