/* The HTTP API server on libmicrohttpd (api_server.h): the daemon's life
 * (threads, limits, the bound port), reading a request (target length,
 * body cap, query string), routing it (api_route.c), lending its handler a
 * store connection (api_pool.c), and sending the answer the way clients
 * expect: JSON errors, ETag and 304, gzip, CORS, and the change feed's
 * streams (api_sse.c) through MHD's content reader with suspend/resume.
 * Owns the MHD daemon and the api_ctx; must not hold a handler's logic nor
 * touch the collector (it has its own store connections). */
#include "api_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "api_http.h"
#include "api_pool.h"
#include "api_route.h"
#include "api_sse_hub.h"
#include "log.h"
#include "secrets.h"
#include "util.h"

/* A stream's socket send buffer: with SO_SNDBUF fixed, the kernel holds no
 * more than this for a client that stopped reading (autotuning would let it
 * grow to megabytes), so its queue fills and it is cut off. */
#define SSE_SNDBUF 32768

struct api_ctx {
    cfg_api cfg; /* a copy: the daemon's config may be swapped by a reload */
    const char *backend;
    api_pool *pool;
    store *hub_store;
    sse_hub *hub;
};

struct api_server {
    api_ctx ctx;
    struct MHD_Daemon *mhd;
    unsigned port;
    int stopping; /* MHD's messages about connections it cuts are expected then */
};

const char *api_ctx_backend(const api_ctx *ctx) { return ctx->backend; }
struct sse_hub *api_ctx_hub(api_ctx *ctx) { return ctx->hub; }

/* ---- one request ------------------------------------------------------------------- */

typedef struct req {
    char *target; /* the request target as sent (path and query), from the URI callback */
    size_t target_len;
    strbuf body;
    int started, too_big;
    int64_t t0;
} req;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    req *r = xcalloc(1, sizeof *r);
    r->target_len = strlen(uri);
    /* Only the length of an over-long one matters (414). */
    r->target = r->target_len <= 1048576 ? xstrdup(uri) : xstrdup("");
    r->t0 = now_mono_ns();
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    req *r = *con_cls;
    if (!r)
        return;
    free(r->target);
    sb_free(&r->body);
    free(r);
    *con_cls = NULL;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static void add_cors(const api_ctx *ctx, struct MHD_Response *resp)
{
    if (!ctx->cfg.cors_origin)
        return;
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", ctx->cfg.cors_origin);
    MHD_add_response_header(resp, "Access-Control-Expose-Headers", "ETag, Content-Encoding");
    if (strcmp(ctx->cfg.cors_origin, "*") != 0)
        MHD_add_response_header(resp, "Vary", "Origin");
}

static void log_request(const req *r, const char *method, unsigned status, size_t bytes)
{
    LOG_DEBUG("api", "%s %s %u %zu B %.1f ms", method, r->target, status, bytes,
              (double)(now_mono_ns() - r->t0) / 1e6);
}

/* Sends RS (its body is taken over): ETag and 304 when it is cacheable,
 * gzip when the client accepts it and the body is large enough. */
static enum MHD_Result send_response(api_server *srv, struct MHD_Connection *conn, const req *r, const char *method,
                                     api_response *rs, const char *allow)
{
    const cfg_api *cfg = &srv->ctx.cfg;
    unsigned status = rs->status ? (unsigned)rs->status : 200;
    char *body = rs->body ? rs->body : xstrdup("");
    size_t len = rs->body ? rs->body_len : 0;
    rs->body = NULL;
    len = secrets_scrub_len(body, len); /* no configured secret in any answer */
    int compressible = cfg->gzip_min_bytes > 0 && len >= (size_t)cfg->gzip_min_bytes;
    int gzip = compressible && api_accepts_gzip(header(conn, MHD_HTTP_HEADER_ACCEPT_ENCODING));
    char etag[API_ETAG_LEN] = "";
    if (rs->cacheable && status == 200) {
        api_etag(body, len, gzip, etag);
        if (api_etag_matches(header(conn, MHD_HTTP_HEADER_IF_NONE_MATCH), etag)) {
            status = 304;
            free(body);
            body = xstrdup("");
            len = 0;
            gzip = 0;
        }
    }
    if (gzip) {
        char *z;
        size_t zlen;
        if (api_gzip(body, len, &z, &zlen) == 0) {
            free(body);
            body = z;
            len = zlen;
        } else
            gzip = 0;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (status != 304)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                rs->content_type ? rs->content_type : "application/json");
    if (gzip)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (compressible || status == 304)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    if (*etag) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache"); /* revalidate: 304 is cheap */
    } else
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    add_cors(&srv->ctx, resp);
    enum MHD_Result ok = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    log_request(r, method, status, len);
    return ok;
}

static enum MHD_Result send_error(api_server *srv, struct MHD_Connection *conn, const req *r, const char *method,
                                  int status, const char *code, const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
static enum MHD_Result send_error(api_server *srv, struct MHD_Connection *conn, const req *r, const char *method,
                                  int status, const char *code, const char *allow, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_response rs = {0};
    api_error(&rs, status, code, "%s", msg);
    return send_response(srv, conn, r, method, &rs, allow);
}

/* ---- streams ------------------------------------------------------------------------- */

static void conn_suspend(void *conn) { MHD_suspend_connection(conn); }
static void conn_resume(void *conn) { MHD_resume_connection(conn); }

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    ssize_t n = sse_client_read(cls, buf, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void stream_done(void *cls)
{
    sse_client_gone(cls);
    sse_client_unref(cls);
}

static void peer_text(struct MHD_Connection *conn, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)ci->client_addr;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
    } else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)ci->client_addr;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
    }
    snprintf(out, len, "%s:%u", host, port);
}

static enum MHD_Result send_stream(api_server *srv, struct MHD_Connection *conn, const req *r, const char *method,
                                   sse_client *c)
{
    char peer[80];
    peer_text(conn, peer, sizeof peer);
    sse_client_bind(c, &(sse_io){conn_suspend, conn_resume, conn}, peer);
    const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (fd) {
        int sz = SSE_SNDBUF;
        setsockopt(fd->connect_fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    }
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, stream_read, c, stream_done);
    if (!resp) {
        sse_client_gone(c);
        sse_client_unref(c);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* a proxy in front must not hold events back */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close"); /* a stream that ends is a disconnect */
    add_cors(&srv->ctx, resp);
    enum MHD_Result ok = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    LOG_INFO("api", "change feed: %s streaming (%s %s)", peer, method, r->target);
    return ok;
}

/* ---- routing and the handler --------------------------------------------------------------- */

static enum MHD_Result preflight(api_server *srv, struct MHD_Connection *conn, const req *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    add_cors(&srv->ctx, resp);
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Accept, Last-Event-ID, If-None-Match");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    enum MHD_Result ok = MHD_queue_response(conn, 204, resp);
    MHD_destroy_response(resp);
    log_request(r, "OPTIONS", 204, 0);
    return ok;
}

static enum MHD_Result dispatch(api_server *srv, struct MHD_Connection *conn, req *r, const char *url,
                                const char *method)
{
    api_ctx *ctx = &srv->ctx;
    if (!strcmp(method, "OPTIONS") && ctx->cfg.cors_origin && header(conn, "Access-Control-Request-Method"))
        return preflight(srv, conn, r);
    api_match m;
    int found = api_route_find(api_route_tables, method, url, &m);
    if (found == 404)
        return send_error(srv, conn, r, method, 404, "not_found", NULL, "no such resource: %.200s (see /api/v3/openapi.json)",
                          url);
    if (found == 405) {
        char allow[sizeof m.allow];
        snprintf(allow, sizeof allow, "%s", m.allow);
        return send_error(srv, conn, r, method, 405, "method_not_allowed", allow, "%s is not allowed here (allowed: %s)",
                          method, allow);
    }
    api_param *query;
    char *storage;
    const char *qs = strchr(r->target, '?');
    size_t n_query = api_parse_query(qs ? qs + 1 : NULL, &query, &storage);
    api_request rq = {.method = method,
                      .path = url,
                      .path_args = m.args,
                      .n_path_args = m.n_args,
                      .query = query,
                      .n_query = n_query,
                      .body = r->body.len ? r->body.data : NULL,
                      .body_len = r->body.len,
                      .accept = header(conn, MHD_HTTP_HEADER_ACCEPT),
                      .authorization = header(conn, MHD_HTTP_HEADER_AUTHORIZATION),
                      .last_event_id = header(conn, "Last-Event-ID"),
                      .ctx = ctx};
    api_response rs = {0};
    enum MHD_Result ok;
    rq.st = api_pool_acquire(ctx->pool, ctx->cfg.store_wait_ms);
    if (!rq.st)
        api_error(&rs, 503, "busy", "every store connection of this server is in use; try again shortly");
    else if (m.route->handler(&rq, &rs) != 0 && rs.status < 400)
        api_error(&rs, 500, "internal", "the request could not be answered");
    api_pool_release(ctx->pool, rq.st);
    if (rs.stream && rs.status < 400)
        ok = send_stream(srv, conn, r, method, rs.stream);
    else {
        if (rs.stream) {
            sse_client_gone(rs.stream);
            sse_client_unref(rs.stream);
        }
        ok = send_response(srv, conn, r, method, &rs, NULL);
    }
    free(query);
    free(storage);
    api_match_free(&m);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    api_server *srv = cls;
    req *r = *con_cls;
    const cfg_api *cfg = &srv->ctx.cfg;
    if (!r->started) {
        r->started = 1;
        if (r->target_len > (size_t)cfg->max_uri_bytes)
            return send_error(srv, conn, r, method, 414, "uri_too_long", NULL,
                              "the request target is %zu bytes, more than the %ld this server takes", r->target_len,
                              cfg->max_uri_bytes);
        const char *cl = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)cfg->max_body_bytes)
            return send_error(srv, conn, r, method, 413, "body_too_large",
                              NULL, "the request body is %s bytes, more than the %ld this server takes", cl,
                              cfg->max_body_bytes);
        return MHD_YES; /* the body, if any, comes in the next calls */
    }
    if (*upload_size) {
        if (r->body.len + *upload_size > (size_t)cfg->max_body_bytes)
            r->too_big = 1; /* read and dropped: the answer comes at the end */
        else
            sb_append(&r->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_big)
        return send_error(srv, conn, r, method, 413, "body_too_large", NULL,
                          "the request body is more than the %ld bytes this server takes", cfg->max_body_bytes);
    return dispatch(srv, conn, r, url, method);
}

/* ---- MHD's own messages ---------------------------------------------------------------------- */

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    api_server *srv = cls;
    if (__atomic_load_n(&srv->stopping, __ATOMIC_RELAXED))
        return;
    /* Under a flood MHD says "connection limit reached" for every refused
     * connection: once per 5 s is enough. */
    static int64_t last;
    static unsigned long skipped;
    int64_t now = now_mono_ns();
    if (now - __atomic_load_n(&last, __ATOMIC_RELAXED) < 5 * NS_PER_S) {
        __atomic_add_fetch(&skipped, 1, __ATOMIC_RELAXED);
        return;
    }
    __atomic_store_n(&last, now, __ATOMIC_RELAXED);
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\r\n")] = '\0';
    unsigned long n = __atomic_exchange_n(&skipped, 0, __ATOMIC_RELAXED);
    if (n)
        LOG_WARN("api", "%s (and %lu more messages in the last 5 s)", msg, n);
    else
        LOG_WARN("api", "%s", msg);
}

/* ---- life ----------------------------------------------------------------------------------- */

static void ctx_free(api_ctx *ctx)
{
    if (ctx->hub) {
        sse_hub_stop(ctx->hub);
        sse_hub_free(ctx->hub);
    }
    store_close(ctx->hub_store);
    api_pool_close(ctx->pool);
    cfg_section_free(CFG_SEC_API, &ctx->cfg);
}

static void copy_cfg(cfg_api *dst, const cfg_api *src)
{
    *dst = *src;
    dst->listen = src->listen ? xstrdup(src->listen) : NULL;
    dst->cors_origin = src->cors_origin ? xstrdup(src->cors_origin) : NULL;
}

static int open_store(api_ctx *ctx, const char *uri, char *err, size_t errlen)
{
    ctx->backend = !strncmp(uri, "sqlite:", 7) ? "sqlite" : "postgresql";
    ctx->pool = api_pool_open(uri, (size_t)ctx->cfg.threads, err, errlen);
    if (!ctx->pool)
        return -1;
    if (ctx->cfg.sse_max_clients == 0)
        return 0;
    ctx->hub_store = store_open_reader(uri, err, errlen);
    if (!ctx->hub_store)
        return -1;
    sse_hub_opts o = {.poll_ns = ctx->cfg.sse_poll_ns,
                      .heartbeat_ns = ctx->cfg.sse_heartbeat_ns,
                      .buffer_bytes = (size_t)ctx->cfg.sse_buffer_bytes,
                      .max_clients = (size_t)ctx->cfg.sse_max_clients};
    ctx->hub = sse_hub_new(ctx->hub_store, &o, api_change_json);
    if (sse_hub_start(ctx->hub) != 0) {
        snprintf(err, errlen, "api: cannot start the change feed's thread");
        return -1;
    }
    return 0;
}

static api_server *start(const config *cfg, char *err, size_t errlen);

/* The server's threads never take the process's signals (SIGTERM, SIGHUP
 * are the daemon's): they are created with them blocked. */
api_server *api_server_start(const config *cfg, char *err, size_t errlen)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGQUIT);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    api_server *srv = start(cfg, err, errlen);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return srv;
}

static api_server *start(const config *cfg, char *err, size_t errlen)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    char why[256];
    if (!cfg->api.listen || api_parse_listen(cfg->api.listen, &sa, &salen, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: [api] listen: %s", cfg->path, cfg->api.listen ? why : "not set");
        return NULL;
    }
    api_server *srv = xcalloc(1, sizeof *srv);
    copy_cfg(&srv->ctx.cfg, &cfg->api);
    const cfg_api *a = &srv->ctx.cfg;
    if (open_store(&srv->ctx, cfg->store, err, errlen) != 0) {
        ctx_free(&srv->ctx);
        free(srv);
        return NULL;
    }
    /* The connection's memory holds the request line and headers: room for
     * the longest target we answer ourselves (414 above it). */
    size_t memory = (size_t)a->max_uri_bytes + 16384;
    if (memory < 32768)
        memory = 32768;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, &sa},
        {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)a->threads, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)a->max_connections, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)a->per_ip_connections, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)a->connection_timeout_s, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)memory, NULL},
        {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    /* The logger first, so that MHD says nothing on its own. */
    srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
                                MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!srv->mhd) {
        snprintf(err, errlen, "%s: [api] listen = %s: cannot listen there (in use, or not an address of this host)",
                 cfg->path, a->listen);
        ctx_free(&srv->ctx);
        free(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : 0;
    char host[64];
    snprintf(host, sizeof host, "%s", a->listen);
    *strrchr(host, ':') = '\0';
    LOG_INFO("api", "listening on http://%s:%u (%ld threads, %ld connections at most, %ld per address, %s store)", host,
             srv->port, a->threads, a->max_connections, a->per_ip_connections, srv->ctx.backend);
    return srv;
}

unsigned api_server_port(const api_server *s) { return s->port; }

void api_server_stop(api_server *s)
{
    if (!s)
        return;
    /* Streams first: each is resumed and ends after a last comment, so no
     * connection is left suspended when the daemon stops (MHD requires it). */
    __atomic_store_n(&s->stopping, 1, __ATOMIC_RELAXED);
    MHD_quiesce_daemon(s->mhd);
    if (s->ctx.hub) {
        sse_hub_stop(s->ctx.hub);
        for (int i = 0; i < 200; i++) { /* up to 2 s for the streams to end */
            sse_hub_stats st;
            sse_hub_stats_get(s->ctx.hub, &st);
            if (st.streams == 0)
                break;
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    MHD_stop_daemon(s->mhd);
    ctx_free(&s->ctx);
    LOG_INFO("api", "stopped");
    free(s);
}
