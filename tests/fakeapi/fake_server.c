/*
 * The fake upstream's HTTP side (see README.md): libmicrohttpd with one
 * thread per connection. Requests are parsed here, admitted by fake_state.c
 * (limits, faults, counters), rendered by fake_render.c and sent; the
 * control endpoints (/_stats, /_reset, /_faults) have C equivalents for
 * in-process tests. The handlers only sleep (latency, hang) with the mutex
 * released.
 */
#include "fake_state.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define JUPITER_MAX_MINTS 100
#define HELIUS_MAX_IDS 1000
#define DEX_MAX_ADDRESSES 30
#define MAX_BODY_BYTES ((size_t)8 << 20)

/* ------------------------------------------------------------- responses */

typedef struct reply {
    unsigned status;
    char *body; /* malloc'd, owned */
    size_t len;
    const char *content_type;
    unsigned retry_after_s;  /* 0: no Retry-After header */
    int ratelimit_headers;   /* Jupiter's x-ratelimit-* headers */
    const admission *adm;
} reply;

static char *dup_text(const char *s)
{
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    if (copy)
        memcpy(copy, s, len + 1);
    return copy;
}

static void reply_text(reply *r, unsigned status, const char *content_type, const char *text)
{
    r->status = status;
    r->content_type = content_type;
    r->body = dup_text(text);
    r->len = r->body ? strlen(r->body) : 0;
}

static void reply_json(reply *r, unsigned status, char *json /* owned */)
{
    r->status = status;
    r->content_type = "application/json";
    r->body = json;
    r->len = json ? strlen(json) : 0;
    if (!json)
        reply_text(r, 500, "application/json", "{\"error\":\"out of memory\"}");
}

static void reply_cjson(reply *r, unsigned status, cJSON *root)
{
    char *printed = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    reply_json(r, status, printed ? dup_text(printed) : NULL);
    cJSON_free(printed);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, reply *r)
{
    if (!r->body) { /* allocation failed somewhere: answer without a body */
        r->body = malloc(1);
        r->len = 0;
        if (!r->body)
            return MHD_NO;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(r->len, r->body, free);
    if (!resp) {
        free(r->body);
        r->body = NULL;
        return MHD_NO;
    }
    r->body = NULL; /* now owned by the response */
    MHD_add_response_header(resp, "Content-Type", r->content_type ? r->content_type : "application/json");
    char value[32];
    if (r->retry_after_s) {
        snprintf(value, sizeof value, "%u", r->retry_after_s);
        MHD_add_response_header(resp, "Retry-After", value);
    }
    if (r->ratelimit_headers && r->adm) {
        snprintf(value, sizeof value, "%ld", r->adm->remaining);
        MHD_add_response_header(resp, "x-ratelimit-remaining", value);
        snprintf(value, sizeof value, "%zu", r->adm->in_window);
        MHD_add_response_header(resp, "x-ratelimit-current", value);
        snprintf(value, sizeof value, "%lld", r->adm->reset_unix);
        MHD_add_response_header(resp, "x-ratelimit-reset", value);
    }
    enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Hold the connection for HANG_MS, or until the client goes away or the
 * server stops; the caller then closes it without a response. */
static void hang(server *srv, struct MHD_Connection *conn, unsigned hang_ms)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int fd = ci ? ci->connect_fd : -1;
    int64_t deadline = fake_monotonic_ns() + (int64_t)hang_ms * 1000000;
    for (;;) {
        int64_t left_ms = (deadline - fake_monotonic_ns()) / 1000000;
        if (left_ms <= 0 || atomic_load(&srv->stopping))
            return;
        int slice = left_ms < 100 ? (int)left_ms : 100;
        if (fd < 0) {
            fake_sleep_ms((unsigned)slice);
            continue;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
        if (poll(&p, 1, slice) <= 0)
            continue;
        if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
            return;
        char c;
        ssize_t k = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (k == 0)
            return; /* orderly shutdown by the client */
        fake_sleep_ms((unsigned)slice); /* pipelined bytes: keep waiting, don't spin */
    }
}

/* ---------------------------------------------------- source responses */

/* A parsed source request: the addresses (pointing into OWNED storage) or
 * the error reply to send once the request has been admitted. */
typedef struct source_request {
    fake_source source;
    const char **addrs;
    size_t n;
    char *owned_text;        /* storage for addrs (query copies) */
    cJSON *owned_json;       /* storage for addrs (Helius body) */
    char *id_json;           /* Helius request id as JSON text */
    int valid;
    unsigned error_status;   /* when !valid */
    char *error_body;        /* when !valid, malloc'd JSON */
} source_request;

static void source_request_free(source_request *q)
{
    free(q->addrs);
    free(q->owned_text);
    cJSON_Delete(q->owned_json);
    free(q->id_json);
    free(q->error_body);
}

static void request_invalid(source_request *q, unsigned status, const char *json)
{
    q->valid = 0;
    q->error_status = status;
    q->error_body = dup_text(json);
}

/* Split a comma-separated list (copied into q->owned_text); empty items are
 * skipped. Returns -1 on allocation failure. */
static int split_addresses(source_request *q, const char *list)
{
    q->owned_text = dup_text(list);
    if (!q->owned_text)
        return -1;
    size_t commas = 0;
    for (const char *p = list; *p; p++)
        commas += *p == ',';
    q->addrs = malloc((commas + 1) * sizeof *q->addrs);
    if (!q->addrs)
        return -1;
    char *save = NULL;
    for (char *tok = strtok_r(q->owned_text, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        q->addrs[q->n++] = tok;
    return 0;
}

static void parse_jupiter(struct MHD_Connection *conn, source_request *q)
{
    const char *query = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "query");
    q->valid = 1;
    if (!query || split_addresses(q, query) != 0 || q->n == 0)
        request_invalid(q, 400, "{\"error\":\"query is required\"}");
    else if (q->n > JUPITER_MAX_MINTS)
        request_invalid(q, 400, "{\"error\":\"Too many mints in query (max 100)\"}");
}

static void parse_dexscreener(const char *url, source_request *q)
{
    /* url = /tokens/v1/{chainId}/{addresses} */
    const char *chain = url + strlen("/tokens/v1/");
    const char *slash = strchr(chain, '/');
    q->valid = 1;
    if (!slash || split_addresses(q, slash + 1) != 0 || q->n == 0)
        request_invalid(q, 400, "{\"error\":\"expected /tokens/v1/{chainId}/{tokenAddresses}\"}");
    else if (q->n > DEX_MAX_ADDRESSES)
        request_invalid(q, 400, "{\"error\":\"Too many token addresses (max 30)\"}");
    else if ((size_t)(slash - chain) != strlen("solana") || strncmp(chain, "solana", 6) != 0)
        q->n = 0; /* another chain: a valid request that finds nothing */
}

static char *jsonrpc_error(const char *id_json, int code, const char *message)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "jsonrpc", "2.0");
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    cJSON_AddNumberToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", message);
    cJSON_AddRawToObject(root, "id", id_json ? id_json : "null");
    char *printed = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    char *copy = printed ? dup_text(printed) : NULL;
    cJSON_free(printed);
    return copy;
}

static void helius_invalid(source_request *q, unsigned status, int code, const char *message)
{
    q->valid = 0;
    q->error_status = status;
    q->error_body = jsonrpc_error(q->id_json, code, message);
}

static void parse_helius(const char *body, size_t len, source_request *q)
{
    q->valid = 1;
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
    q->owned_json = root;
    if (!root || !cJSON_IsObject(root)) {
        helius_invalid(q, 400, -32700, "Parse error");
        return;
    }
    cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (id) {
        char *printed = cJSON_PrintUnformatted(id);
        q->id_json = printed ? dup_text(printed) : NULL;
        cJSON_free(printed);
    }
    cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
    if (!cJSON_IsString(method)) {
        helius_invalid(q, 400, -32600, "Invalid request");
        return;
    }
    if (strcmp(method->valuestring, "getAssetBatch") != 0) {
        helius_invalid(q, 200, -32601, "Method not found");
        return;
    }
    cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
    cJSON *ids = cJSON_GetObjectItemCaseSensitive(params, "ids");
    if (!cJSON_IsArray(ids)) {
        helius_invalid(q, 400, -32602, "Invalid params: ids must be an array");
        return;
    }
    size_t count = (size_t)cJSON_GetArraySize(ids);
    if (count > HELIUS_MAX_IDS) {
        helius_invalid(q, 400, -32602, "Invalid params: batch size exceeds 1000 ids");
        return;
    }
    q->addrs = malloc((count ? count : 1) * sizeof *q->addrs);
    if (!q->addrs) {
        helius_invalid(q, 500, -32603, "Internal error");
        return;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, ids) {
        if (!cJSON_IsString(item)) {
            helius_invalid(q, 400, -32602, "Invalid params: ids must be strings");
            return;
        }
        q->addrs[q->n++] = item->valuestring;
    }
}

static const char *rate_limit_body(fake_source source)
{
    switch (source) {
    case FAKE_HELIUS:
        return "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32005,\"message\":\"Rate limit exceeded\"},\"id\":\"1\"}";
    case FAKE_JUPITER:
        return "{\"message\":\"Rate limit exceeded\"}";
    default:
        return "{\"error\":\"Too Many Requests\"}";
    }
}

static void log_request(const server *srv, const char *method, const char *url,
                        const source_request *q, unsigned status, const char *note)
{
    if (!srv->opt.verbose)
        return;
    fprintf(stderr, "fakeapi: %s %s [%s, %zu addresses] -> %u%s%s\n", method, url,
            fake_source_name(q->source), q->n, status, note ? " " : "", note ? note : "");
}

/* The echo fault: a 500 whose body quotes the request line with its query
 * string, as some gateways do (a key in the URL then travels in the body). */
static enum MHD_Result append_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    char *q = cls;
    size_t n = strlen(q);
    snprintf(q + n, 2048 - n, "%s%s%s%s", n ? "&" : "?", key, value ? "=" : "", value ? value : "");
    return MHD_YES;
}

static void reply_echo(reply *r, struct MHD_Connection *conn, const char *method, const char *url)
{
    char query[2048] = "", body[2400];
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, append_arg, query);
    snprintf(body, sizeof body, "{\"error\":\"Internal Server Error\",\"request\":\"%s %s%s HTTP/1.1\"}", method, url,
             query);
    reply_text(r, 500, "application/json", body);
}

typedef struct strbuf_fake {
    char *data;
    size_t len, cap;
} strbuf_fake;

static void fake_buf_put(strbuf_fake *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *d = realloc(b->data, cap);
        if (!d)
            abort();
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* The hostile fault: the first four "name" values of a 200 body become, in
 * turn, 50,000 characters with BEL and ESC, invalid UTF-8, a string with an
 * escaped NUL, and a lone surrogate (\ud800, which strict JSON parsers
 * reject). Each hits one token of the answer. */
static void hostile_names(reply *r)
{
    static const char *const tail[] = {NULL, "Bad\xff\xfe UTF-8 \xc3", "Nul\\u0000Cut", "Lone\\ud800Surrogate"};
    strbuf_fake out = {0};
    const char *p = r->body, *end = r->body + r->len;
    for (int k = 0; k < 4; k++) {
        const char *hit = strstr(p, "\"name\":\"");
        if (!hit)
            break;
        const char *v = hit + 8, *close = v;
        while (close < end && *close != '"')
            close += *close == '\\' ? 2 : 1;
        fake_buf_put(&out, p, (size_t)(v - p));
        if (k == 0) {
            for (int i = 0; i < 5000; i++)
                fake_buf_put(&out, "Long\a\x1b[31mName", 14);
        } else
            fake_buf_put(&out, tail[k], strlen(tail[k]));
        p = close;
    }
    fake_buf_put(&out, p, (size_t)(end - p));
    if (!out.data)
        return;
    free(r->body);
    r->body = out.data;
    r->len = out.len;
}

/* Admit, render, apply faults and latency, send: shared by all sources. */
static enum MHD_Result serve_source(server *srv, struct MHD_Connection *conn,
                                    const char *method, const char *url, source_request *q)
{
    admission adm = admit(srv, q->source, q->valid, q->addrs, q->n);
    reply r;
    memset(&r, 0, sizeof r);
    r.adm = &adm;
    r.ratelimit_headers = q->source == FAKE_JUPITER;
    int ok = 0;
    const char *note = NULL;

    switch (adm.verdict) {
    case VERDICT_DOWN:
        r.ratelimit_headers = 0;
        reply_text(&r, 503, "text/html", "<html><body><h1>503 Service Unavailable</h1></body></html>");
        note = "(fault: down)";
        break;
    case VERDICT_FORCED_429:
    case VERDICT_LIMITED:
        reply_text(&r, 429, "application/json", rate_limit_body(q->source));
        r.retry_after_s = adm.retry_after_s;
        note = adm.verdict == VERDICT_FORCED_429 ? "(fault: 429)" : "(rate limited)";
        break;
    case VERDICT_BAD_REQUEST:
        reply_json(&r, q->error_status, q->error_body);
        q->error_body = NULL;
        break;
    case VERDICT_SERVE:
        if (adm.fault == FAULT_TIMEOUT) {
            hang(srv, conn, adm.hang_ms);
            log_request(srv, method, url, q, 0, "(fault: timeout, closed)");
            record_outcome(srv, q->source, 0, 0);
            return MHD_NO; /* close without a response */
        }
        if (adm.fault == FAULT_ERROR) {
            r.ratelimit_headers = 0;
            if (adm.error_status == 503)
                reply_text(&r, 503, "text/html", "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>");
            else if (adm.echo)
                reply_echo(&r, conn, method, url);
            else
                reply_text(&r, 500, "application/json", "{\"error\":\"Internal Server Error\"}");
            note = "(fault: error)";
            break;
        }
        if (adm.fault == FAULT_MALFORMED) {
            reply_text(&r, 200, "application/json", "{\"oops\":");
            note = "(fault: malformed)";
            break;
        }
        char *json = NULL;
        if (srv->opt.drift_permille)
            fake_set_price_drift(srv->opt.drift_permille,
                                 (uint64_t)((fake_monotonic_ns() - srv->started_ns) / 1000000 / srv->opt.drift_period_ms));
        if (q->source == FAKE_JUPITER)
            json = fake_render_jupiter(&srv->opt.profile, q->addrs, q->n);
        else if (q->source == FAKE_HELIUS)
            json = fake_render_helius(&srv->opt.profile, q->addrs, q->n, q->id_json);
        else
            json = fake_render_dexscreener(&srv->opt.profile, q->addrs, q->n);
        reply_json(&r, 200, json);
        if (adm.hostile && r.status == 200)
            hostile_names(&r);
        if (adm.fault == FAULT_TRUNCATE && r.status == 200) {
            r.len = r.len > 1 ? r.len / 2 : r.len; /* valid JSON cut in half */
            note = "(fault: truncated)";
        } else {
            ok = r.status == 200;
        }
        break;
    }

    if (adm.latency_ms)
        fake_sleep_ms(adm.latency_ms);
    log_request(srv, method, url, q, r.status, note);
    record_outcome(srv, q->source, r.status, ok);
    return send_reply(conn, &r);
}

/* -------------------------------------------------- control endpoints */

static cJSON *stats_json(server *srv)
{
    cJSON *root = cJSON_CreateObject();
    pthread_mutex_lock(&srv->lock);
    for (int s = 0; s < FAKE_NSOURCES; s++) {
        fake_source_stats st;
        stats_snapshot_locked(srv, (fake_source)s, &st);
        cJSON *o = cJSON_AddObjectToObject(root, fake_source_name((fake_source)s));
        cJSON_AddNumberToObject(o, "requests", (double)st.requests);
        cJSON_AddNumberToObject(o, "ok", (double)st.ok);
        cJSON_AddNumberToObject(o, "status_429", (double)st.status_429);
        cJSON_AddNumberToObject(o, "status_4xx", (double)st.status_4xx);
        cJSON_AddNumberToObject(o, "status_5xx", (double)st.status_5xx);
        cJSON_AddNumberToObject(o, "addresses", (double)st.addresses);
        cJSON_AddNumberToObject(o, "distinct_addresses", (double)st.distinct_addresses);
        cJSON_AddNumberToObject(o, "max_requests_per_address", (double)st.max_requests_per_address);
        cJSON_AddNumberToObject(o, "max_in_window", (double)st.max_in_window);
        cJSON_AddNumberToObject(o, "limit", st.limit);
        cJSON_AddNumberToObject(o, "window_ms", st.window_ms);
        cJSON_AddNumberToObject(o, "faults_injected", (double)st.faults_injected);
    }
    cJSON_AddNumberToObject(root, "scale", srv->opt.scale);
    cJSON_AddNumberToObject(root, "uptime_ms", (double)((fake_monotonic_ns() - srv->started_ns) / 1000000));
    pthread_mutex_unlock(&srv->lock);
    return root;
}

static cJSON *faults_json(server *srv)
{
    cJSON *root = cJSON_CreateObject();
    pthread_mutex_lock(&srv->lock);
    for (int s = 0; s < FAKE_NSOURCES; s++) {
        const source_faults *f = &srv->src[s].faults;
        cJSON *o = cJSON_AddObjectToObject(root, fake_source_name((fake_source)s));
        cJSON_AddNumberToObject(o, "error_rate", f->error_rate);
        cJSON_AddNumberToObject(o, "timeout_rate", f->timeout_rate);
        cJSON_AddNumberToObject(o, "truncate_rate", f->truncate_rate);
        cJSON_AddNumberToObject(o, "malformed_rate", f->malformed_rate);
        cJSON_AddNumberToObject(o, "rate429", f->rate429);
        cJSON_AddNumberToObject(o, "retry_after", f->retry_after_s);
        cJSON_AddNumberToObject(o, "hang_ms", f->hang_ms);
        cJSON_AddNumberToObject(o, "down", f->down);
        cJSON_AddNumberToObject(o, "next429", f->next429);
        cJSON_AddNumberToObject(o, "echo", f->echo);
        cJSON_AddNumberToObject(o, "slow_ms", f->slow_ms);
        cJSON_AddNumberToObject(o, "hostile", f->hostile);
    }
    pthread_mutex_unlock(&srv->lock);
    return root;
}

static enum MHD_Result collect_fault_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    return fault_update_arg(cls, key, value) == 0 ? MHD_YES : MHD_NO;
}

static void post_faults(server *srv, struct MHD_Connection *conn, reply *r)
{
    fault_update u;
    memset(&u, 0, sizeof u);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_fault_arg, &u);
    if (fault_update_apply(srv, &u) != 0) {
        cJSON *err = cJSON_CreateObject();
        cJSON_AddStringToObject(err, "error", u.message);
        reply_cjson(r, 400, err);
        return;
    }
    reply_cjson(r, 200, faults_json(srv));
}

/* --------------------------------------------------------------- routing */

typedef struct request_ctx {
    char *body;
    size_t len, cap;
    int too_large;
} request_ctx;

static int append_body(request_ctx *ctx, const char *data, size_t size)
{
    if (ctx->too_large || ctx->len + size > MAX_BODY_BYTES) {
        ctx->too_large = 1;
        return 0;
    }
    if (ctx->len + size + 1 > ctx->cap) {
        size_t cap = ctx->cap ? ctx->cap : 4096;
        while (cap < ctx->len + size + 1)
            cap *= 2;
        char *body = realloc(ctx->body, cap);
        if (!body)
            return -1;
        ctx->body = body;
        ctx->cap = cap;
    }
    memcpy(ctx->body + ctx->len, data, size);
    ctx->len += size;
    ctx->body[ctx->len] = '\0';
    return 0;
}

static enum MHD_Result route(server *srv, struct MHD_Connection *conn, const char *url,
                             const char *method, request_ctx *ctx)
{
    int is_get = strcmp(method, "GET") == 0, is_post = strcmp(method, "POST") == 0;
    reply r;
    memset(&r, 0, sizeof r);

    source_request q;
    memset(&q, 0, sizeof q);
    if (strcmp(url, "/tokens/v2/search") == 0 && is_get) {
        q.source = FAKE_JUPITER;
        parse_jupiter(conn, &q);
    } else if (strcmp(url, "/") == 0 && is_post) {
        q.source = FAKE_HELIUS;
        if (ctx->too_large)
            helius_invalid(&q, 413, -32600, "Request body too large");
        else
            parse_helius(ctx->body, ctx->len, &q);
    } else if (strncmp(url, "/tokens/v1/", strlen("/tokens/v1/")) == 0 && is_get) {
        q.source = FAKE_DEXSCREENER;
        parse_dexscreener(url, &q);
    } else {
        if (strcmp(url, "/_stats") == 0 && is_get) {
            reply_cjson(&r, 200, stats_json(srv));
        } else if (strcmp(url, "/_reset") == 0 && is_post) {
            fake_server_reset(srv);
            reply_text(&r, 200, "application/json", "{\"ok\":true}");
        } else if (strcmp(url, "/_faults") == 0 && is_get) {
            reply_cjson(&r, 200, faults_json(srv));
        } else if (strcmp(url, "/_faults") == 0 && is_post) {
            post_faults(srv, conn, &r);
        } else if (strcmp(url, "/prices") == 0 && is_get) { /* the template plugin's API: no limit, faults, stats */
            const char *ids = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "ids");
            if (ids && *ids)
                reply_json(&r, 200, fake_render_prices(&srv->opt.profile, ids));
            else
                reply_text(&r, 400, "application/json", "{\"error\":\"ids is required\"}");
        } else {
            reply_text(&r, 404, "application/json", "{\"error\":\"Not Found\"}");
        }
        if (srv->opt.verbose)
            fprintf(stderr, "fakeapi: %s %s -> %u\n", method, url, r.status);
        return send_reply(conn, &r);
    }

    enum MHD_Result ret = serve_source(srv, conn, method, url, &q);
    source_request_free(&q);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    server *srv = cls;
    request_ctx *ctx = *con_cls;
    if (!ctx) { /* headers received: set up body accumulation */
        ctx = calloc(1, sizeof *ctx);
        if (!ctx)
            return MHD_NO;
        *con_cls = ctx;
        return MHD_YES;
    }
    if (*upload_data_size) { /* a body chunk (Helius bodies reach ~50 KB) */
        if (append_body(ctx, upload_data, *upload_data_size) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return route(srv, conn, url, method, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    request_ctx *ctx = *con_cls;
    if (ctx) {
        free(ctx->body);
        free(ctx);
        *con_cls = NULL;
    }
}


/* ------------------------------------------------------------ lifetime */

fake_server *fake_server_start(const fake_server_options *o, unsigned *port)
{
    server *srv = malloc(sizeof *srv);
    if (!srv)
        return NULL;
    fake_state_init(srv, o);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)o->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    if (srv->opt.verbose)
        flags |= MHD_USE_ERROR_LOG;
    srv->mhd = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, on_request, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)NULL,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(1 << 20), /* long URLs */
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_END);
    if (!srv->mhd) {
        fake_state_free(srv);
        free(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : o->port;
    if (srv->opt.verbose)
        fprintf(stderr, "fakeapi: listening on 127.0.0.1:%u\n", *port);
    return srv;
}

void fake_server_stop(fake_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, 1);
    MHD_stop_daemon(srv->mhd);
    fake_state_free(srv);
    free(srv);
}

void fake_server_stats(fake_server *srv, fake_source source, fake_source_stats *out)
{
    pthread_mutex_lock(&srv->lock);
    stats_snapshot_locked(srv, source, out);
    pthread_mutex_unlock(&srv->lock);
}

void fake_server_reset(fake_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    reset_counters_locked(srv);
    pthread_mutex_unlock(&srv->lock);
}

int fake_server_faults(fake_server *srv, const char *query, char *err, size_t errlen)
{
    fault_update u;
    memset(&u, 0, sizeof u);
    char *copy = dup_text(query);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *save = NULL;
    for (char *kv = strtok_r(copy, "&", &save); kv && !u.error; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq)
            *eq = '\0';
        fault_update_arg(&u, kv, eq ? eq + 1 : NULL);
    }
    free(copy);
    if (fault_update_apply(srv, &u) != 0) {
        snprintf(err, errlen, "%s", u.message);
        return -1;
    }
    return 0;
}
