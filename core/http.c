#include "http.h"

#include <curl/curl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "version.h"

/* Upstream bodies are a few hundred KB at most; anything far larger is a
 * broken or hostile upstream, not data. */
#define MAX_BODY_BYTES (32u * 1024 * 1024)

typedef struct transfer {
    struct transfer *prev, *next; /* the engine's list of transfers in flight */
    CURL *easy;
    struct curl_slist *headers;
    char *post_body;
    strbuf body;
    int too_large;
    http_done_fn done;
    void *user;
    int64_t started_ns;
    char errbuf[CURL_ERROR_SIZE];
} transfer;

/* Response buffers kept for the next transfers: a body of a few hundred KB
 * grown from nothing costs a dozen reallocs and copies, and freeing it
 * makes malloc consolidate its free lists (measured ~11 us a token). */
#define SPARE_BODIES 8
#define SPARE_BODY_MAX (1024u * 1024)

struct http_engine {
    CURLM *multi;
    long connect_timeout_ms;
    size_t in_flight;
    transfer *active;
    strbuf spare[SPARE_BODIES];
    size_t n_spare;
};

static void link_transfer(http_engine *e, transfer *t)
{
    t->prev = NULL;
    t->next = e->active;
    if (e->active)
        e->active->prev = t;
    e->active = t;
    e->in_flight++;
}

static void unlink_transfer(http_engine *e, transfer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        e->active = t->next;
    if (t->next)
        t->next->prev = t->prev;
    e->in_flight--;
}

static int curl_ready;

http_engine *http_engine_new(long connect_timeout_ms)
{
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        curl_ready = 1;
    }
    http_engine *e = xcalloc(1, sizeof *e);
    e->multi = curl_multi_init();
    e->connect_timeout_ms = connect_timeout_ms;
    /* No connection limit here: each source's `concurrency` bounds what is
     * in flight, and a transfer libcurl queued behind a busy connection would
     * spend its CURLOPT_TIMEOUT_MS waiting for someone else's response (with
     * 3 sources x 4 on one host, a cap of 8 timed requests out after 0.5 s of
     * their own exchange: docs/architecture.md, "HTTP"). The cache keeps the
     * idle connections for reuse. */
    curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, 64L);
    return e;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    transfer *t = userdata;
    size_t n = size * nmemb;
    if (t->body.len + n > MAX_BODY_BYTES) {
        t->too_large = 1;
        return 0; /* aborts the transfer */
    }
    sb_append(&t->body, ptr, n);
    return n;
}

static void transfer_free(http_engine *e, transfer *t)
{
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    free(t->post_body);
    if (e->n_spare < SPARE_BODIES && t->body.cap <= SPARE_BODY_MAX) {
        t->body.len = 0;
        e->spare[e->n_spare++] = t->body;
    } else
        sb_free(&t->body);
    free(t);
}

int http_may_multiplex(const char *url)
{
    static int h2 = -1;
    if (h2 < 0) {
        const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
        h2 = (v->features & CURL_VERSION_HTTP2) != 0;
    }
    return h2 && strncasecmp(url, "https://", 8) == 0;
}

int http_submit(http_engine *e, const tc_request *req, long timeout_ms, http_done_fn done, void *user)
{
    if (!req->url)
        return -1;
    transfer *t = xcalloc(1, sizeof *t);
    if (e->n_spare)
        t->body = e->spare[--e->n_spare];
    t->easy = curl_easy_init();
    t->done = done;
    t->user = user;
    t->started_ns = now_mono_ns();
    CURL *h = t->easy;
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PRIVATE, t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, e->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    /* Waiting for a connection that may multiplex only pays where HTTP/2 can
     * be negotiated (TLS ALPN); over plain HTTP/1.1 it queues the request
     * behind another response, with its timeout running. */
    if (http_may_multiplex(req->url))
        curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tokencollector/" TC_VERSION_STRING);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    for (size_t i = 0; i < req->n_headers; i++)
        t->headers = curl_slist_append(t->headers, req->headers[i]);
    if (req->method == TC_POST) {
        t->post_body = xmalloc(req->body_len + 1);
        memcpy(t->post_body, req->body ? req->body : "", req->body_len);
        t->post_body[req->body_len] = '\0';
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, t->post_body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        if (req->content_type) {
            char ct[256];
            snprintf(ct, sizeof ct, "Content-Type: %s", req->content_type);
            t->headers = curl_slist_append(t->headers, ct);
        }
        /* No "Expect: 100-continue" round trip for bodies over 1 KB. */
        t->headers = curl_slist_append(t->headers, "Expect:");
    }
    if (t->headers)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->headers);
    if (curl_multi_add_handle(e->multi, h) != CURLM_OK) {
        transfer_free(e, t);
        return -1;
    }
    link_transfer(e, t);
    return 0;
}

static long header_long(CURL *h, const char *name, long absent)
{
    struct curl_header *hd;
    if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK || !hd->value)
        return absent;
    char *end;
    long v = strtol(hd->value, &end, 10);
    return end == hd->value ? absent : v;
}

static http_error classify(CURLcode rc, int too_large)
{
    if (too_large)
        return HTTP_ERR_TOO_LARGE;
    switch (rc) {
    case CURLE_OK:
        return HTTP_OK;
    case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY: case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION:
        return HTTP_ERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_ERR_TIMEOUT;
    case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_PARTIAL_FILE: case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
        return HTTP_ERR_TRANSFER;
    default:
        return HTTP_ERR_OTHER;
    }
}

static void finish(http_engine *e, CURLMsg *msg)
{
    CURL *h = msg->easy_handle;
    transfer *t = NULL;
    curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&t);
    curl_multi_remove_handle(e->multi, h);
    unlink_transfer(e, t);

    http_result res = {0};
    res.error = classify(msg->data.result, t->too_large);
    res.retry_after_s = -1;
    res.ratelimit_remaining = LONG_MIN;
    res.ratelimit_reset = -1;
    res.elapsed_ns = now_mono_ns() - t->started_ns;
    if (res.error != HTTP_OK)
        snprintf(res.message, sizeof res.message, "%s",
                 t->too_large ? "response body above 32 MiB" : (t->errbuf[0] ? t->errbuf
                                                                 : curl_easy_strerror(msg->data.result)));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res.status);
    if (res.error == HTTP_OK) {
        curl_off_t ra = -1;
        /* Before curl 8.12 a Retry-After date in the past comes back
         * negative; clamp it to "now". */
        if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra != 0)
            res.retry_after_s = ra < 0 ? 0 : (long)ra;
        else if (ra == 0 && header_long(h, "Retry-After", -1) == 0)
            res.retry_after_s = 0;
        res.ratelimit_remaining = header_long(h, "x-ratelimit-remaining", LONG_MIN);
        res.ratelimit_reset = header_long(h, "x-ratelimit-reset", -1);
        char *ct = NULL;
        curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
        res.content_type = ct;
    }
    sb_append(&t->body, "", 0);
    res.body = t->body.data;
    res.body_len = t->body.len;
    t->done(t->user, &res);
    transfer_free(e, t);
}

int http_poll(http_engine *e, int timeout_ms)
{
    int running = 0;
    /* With nothing in flight this simply sleeps TIMEOUT_MS: the caller's
     * timer (limiter, backoff) decides how long. */
    if (timeout_ms > 0)
        curl_multi_poll(e->multi, NULL, 0, timeout_ms, NULL);
    curl_multi_perform(e->multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(e->multi, &left)))
        if (msg->msg == CURLMSG_DONE)
            finish(e, msg);
    return (int)e->in_flight;
}

size_t http_in_flight(const http_engine *e) { return e->in_flight; }

void http_engine_free(http_engine *e, void (*abandon)(void *user))
{
    if (!e)
        return;
    /* Abandon what is still in flight (shutdown path): no completion. */
    while (e->active) {
        transfer *t = e->active;
        if (abandon)
            abandon(t->user);
        curl_multi_remove_handle(e->multi, t->easy);
        unlink_transfer(e, t);
        transfer_free(e, t);
    }
    while (e->n_spare)
        sb_free(&e->spare[--e->n_spare]);
    curl_multi_cleanup(e->multi);
    free(e);
}

void http_engine_set_connect_timeout(http_engine *e, long ms) { e->connect_timeout_ms = ms; }

const char *http_error_name(http_error e)
{
    static const char *const names[] = {"ok", "connect", "timeout", "transfer", "too_large", "other"};
    return e <= HTTP_ERR_OTHER ? names[e] : "?";
}
