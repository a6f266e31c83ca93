/* The HTTP API server in-process on 127.0.0.1 (an ephemeral port) over a
 * SQLite store that this test writes as a collector would: the error
 * shapes (400, 404, 405 with Allow, 413, 414, 503 without SQL), ETag and
 * 304, gzip, CORS, the OpenAPI document, the change feed's pages, its
 * streams (resumed with Last-Event-ID, new changes arriving, a client that
 * never reads cut off while another keeps everything), and the per-address
 * connection limit. Every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "api_server.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define N_TOKENS 300

static char dir[64], db[128], ini[128];
static config cfg;
static store *writer;
static api_server *srv;
static unsigned port;
static char addrs[N_TOKENS][16];
static int64_t fake_now = 1000;

/* ---- the collector's side ------------------------------------------------------------ */

/* Tokens FIRST..FIRST+N-1 claimed and committed with PRICE: each changes. */
static void commit_prices(size_t first, size_t n, double price)
{
    const char **a = xcalloc(n, sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = addrs[first + i];
    claim_request rq = {.owner = "test", .claim_id = "c", .now = ++fake_now, .lease_s = 60};
    claimed_token *got;
    size_t n_got;
    char err[512];
    if (store_claim_addresses(writer, &rq, a, n, &got, &n_got, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(n_got, n);
    claimed_tokens_free(got, n_got);
    token_result *r = xcalloc(n, sizeof *r);
    for (size_t i = 0; i < n; i++) {
        r[i].address = a[i];
        r[i].status = STATUS_ENRICHED;
        r[i].priority_score = NAN;
        values_set_num(&r[i].merged, TC_PRICE_USD, price + (double)i);
    }
    size_t fenced;
    if (store_commit(writer, r, n, fake_now, "c", &fenced, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(fenced, 0);
    for (size_t i = 0; i < n; i++)
        values_clear(&r[i].merged);
    free(r);
    free(a);
}

static int64_t store_head(void)
{
    int64_t head;
    char err[512];
    assert_int_equal(store_changes(writer, 0, 0, NULL, NULL, &head, err, sizeof err), 0);
    return head;
}

static int setup(void **state)
{
    (void)state;
    log_set_level(TC_LOG_WARN);
    snprintf(dir, sizeof dir, "/tmp/tc-test-api-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db, sizeof db, "%s/t.db", dir);
    snprintf(ini, sizeof ini, "%s/t.ini", dir);
    FILE *f = fopen(ini, "w");
    fprintf(f,
            "[core]\nstore = sqlite:%s\n[api]\nlisten = 127.0.0.1:0\nthreads = 2\nmax_connections = 40\n"
            "per_ip_connections = 12\nconnection_timeout_s = 5\nmax_body_bytes = 1024\nmax_uri_bytes = 1024\n"
            "cors_origin = https://app.example\ngzip_min_bytes = 512\nsse_buffer_bytes = 8192\nsse_poll_ms = 20\n"
            "sse_heartbeat_s = 1\n",
            db);
    fclose(f);
    char err[1024], uri[160];
    snprintf(uri, sizeof uri, "sqlite:%s", db);
    writer = store_open(uri, err, sizeof err);
    if (!writer)
        return -1;
    const char *a[N_TOKENS];
    for (size_t i = 0; i < N_TOKENS; i++) {
        snprintf(addrs[i], sizeof addrs[i], "Tok%05zu", i);
        a[i] = addrs[i];
    }
    size_t ins;
    if (store_import(writer, a, N_TOKENS, &ins, err, sizeof err) != 0)
        return -1;
    commit_prices(0, 40, 1.0);
    if (config_load_ex(ini, &cfg, CONFIG_SERVE, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    srv = api_server_start(&cfg, err, sizeof err);
    if (!srv) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    port = api_server_port(srv);
    return port ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    api_server_stop(srv);
    store_close(writer);
    config_free(&cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- HTTP with libcurl ------------------------------------------------------------------- */

typedef struct reply {
    long status;
    strbuf headers, body;
} reply;

static size_t take(char *p, size_t size, size_t n, void *ud)
{
    sb_append(ud, p, size * n);
    return size * n;
}

/* METHOD PATH with HEADERS (NULL-terminated, may be NULL) and BODY (NULL:
 * none); DECODE: ask for gzip and let curl decode it. */
static reply http(const char *method, const char *path, const char *const *headers, const char *body, int decode)
{
    reply r = {0};
    CURL *c = curl_easy_init();
    char url[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    struct curl_slist *h = NULL;
    for (const char *const *p = headers; p && *p; p++)
        h = curl_slist_append(h, *p);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (decode)
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, take);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!r.body.data)
        sb_append(&r.body, "", 0);
    if (!r.headers.data)
        sb_append(&r.headers, "", 0);
    return r;
}

static void reply_free(reply *r)
{
    sb_free(&r->headers);
    sb_free(&r->body);
}

/* The value of header NAME (case-insensitive) in R, into OUT ("" if none). */
static const char *hdr(const reply *r, const char *name, char *out, size_t len)
{
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *p = r->headers.data; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
        if (!strncasecmp(p, name, n) && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, len, "%.*s", (int)strcspn(v, "\r\n"), v);
            break;
        }
    return out;
}

/* R is a JSON error STATUS with CODE, and names no SQL. */
static void expect_error(const reply *r, long status, const char *code)
{
    if (r->status != status)
        fail_msg("status %ld, want %ld: %s", r->status, status, r->body.data);
    char ct[64];
    assert_string_equal(hdr(r, "Content-Type", ct, sizeof ct), "application/json");
    cJSON *j = cJSON_Parse(r->body.data);
    assert_non_null(j);
    cJSON *e = cJSON_GetObjectItem(j, "error");
    assert_non_null(e);
    assert_string_equal(cJSON_GetObjectItem(e, "code")->valuestring, code);
    const char *msg = cJSON_GetObjectItem(e, "message")->valuestring;
    assert_true(strlen(msg) > 5);
    for (const char *bad = "SELECT\0sqlite\0change_counter\0tokens t\0"; *bad; bad += strlen(bad) + 1)
        if (strstr(msg, bad))
            fail_msg("the message shows \"%s\": %s", bad, msg);
    cJSON_Delete(j);
}

/* ---- tests -------------------------------------------------------------------------------------- */

static void health_and_error_shapes(void **state)
{
    (void)state;
    reply r = http("GET", "/health", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    cJSON *j = cJSON_Parse(r.body.data);
    cJSON *st = cJSON_GetObjectItem(j, "store");
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "ok");
    assert_string_equal(cJSON_GetObjectItem(st, "backend")->valuestring, "sqlite");
    assert_int_equal((int64_t)cJSON_GetObjectItem(st, "change_seq")->valuedouble, store_head());
    cJSON_Delete(j);
    reply_free(&r);

    r = http("GET", "/nope", NULL, NULL, 0);
    expect_error(&r, 404, "not_found");
    reply_free(&r);
    r = http("GET", "/api/v3/tokens/changes/", NULL, NULL, 0);
    expect_error(&r, 404, "not_found");
    reply_free(&r);
    r = http("DELETE", "/api/v3/tokens/changes", NULL, NULL, 0);
    expect_error(&r, 405, "method_not_allowed");
    char v[128];
    assert_string_equal(hdr(&r, "Allow", v, sizeof v), "GET, HEAD");
    reply_free(&r);
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    r = http("POST", "/health", NULL, big, 0); /* the body cap comes before routing */
    expect_error(&r, 413, "body_too_large");
    reply_free(&r);
    char path[1200];
    snprintf(path, sizeof path, "/health?x=%.1100s", big);
    r = http("GET", path, NULL, NULL, 0);
    expect_error(&r, 414, "uri_too_long");
    reply_free(&r);
    r = http("GET", "/health?verbose=1", NULL, NULL, 0);
    expect_error(&r, 400, "bad_parameter");
    assert_non_null(strstr(r.body.data, "verbose: unknown parameter"));
    reply_free(&r);
    r = http("GET", "/api/v3/tokens/changes?since=-1", NULL, NULL, 0);
    expect_error(&r, 400, "bad_parameter");
    assert_non_null(strstr(r.body.data, "since: expected a sequence number"));
    reply_free(&r);
    r = http("GET", "/api/v3/tokens/changes?limit=1001", NULL, NULL, 0);
    expect_error(&r, 400, "bad_parameter");
    reply_free(&r);
    static const char *const bad_id[] = {"Accept: text/event-stream", "Last-Event-ID: 12abc", NULL};
    r = http("GET", "/api/v3/tokens/changes", bad_id, NULL, 0);
    expect_error(&r, 400, "bad_header");
    reply_free(&r);
    r = http("HEAD", "/health", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "");
    reply_free(&r);
}

static void etag_gzip_cors_openapi(void **state)
{
    (void)state;
    const char *page = "/api/v3/tokens/changes?limit=40";
    reply a = http("GET", page, NULL, NULL, 0);
    assert_int_equal(a.status, 200);
    char etag[64], v[128];
    hdr(&a, "ETag", etag, sizeof etag);
    assert_int_equal(strlen(etag), 18);
    assert_string_equal(hdr(&a, "Content-Encoding", v, sizeof v), "");
    assert_string_equal(hdr(&a, "Vary", v, sizeof v), "Accept-Encoding");
    assert_string_equal(hdr(&a, "Access-Control-Allow-Origin", v, sizeof v), "https://app.example");
    char inm[96];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *const h304[] = {inm, NULL};
    reply b = http("GET", page, h304, NULL, 0);
    assert_int_equal(b.status, 304);
    assert_string_equal(b.body.data, "");
    assert_string_equal(hdr(&b, "ETag", v, sizeof v), etag);
    reply_free(&b);

    /* gzip: the same bytes once decoded, another tag, and that tag
     * revalidates the identity form too. */
    reply z = http("GET", page, NULL, NULL, 1);
    assert_int_equal(z.status, 200);
    assert_string_equal(hdr(&z, "Content-Encoding", v, sizeof v), "gzip");
    assert_string_equal(z.body.data, a.body.data);
    char zetag[64];
    hdr(&z, "ETag", zetag, sizeof zetag);
    assert_int_equal(strncmp(zetag, etag, 17), 0);
    assert_string_equal(zetag + 17, "-gz\"");
    snprintf(inm, sizeof inm, "If-None-Match: \"other\", %s", zetag);
    b = http("GET", page, h304, NULL, 0);
    assert_int_equal(b.status, 304);
    reply_free(&b);
    reply_free(&z);
    /* Small bodies are sent as they are. */
    z = http("GET", "/health", NULL, NULL, 1);
    assert_string_equal(hdr(&z, "Content-Encoding", v, sizeof v), "");
    reply_free(&z);
    /* A change: another body, another tag, 200 again. */
    commit_prices(0, 1, 99.0);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    b = http("GET", page, h304, NULL, 0);
    assert_int_equal(b.status, 200);
    assert_string_not_equal(hdr(&b, "ETag", v, sizeof v), etag);
    reply_free(&b);
    reply_free(&a);

    static const char *const pre[] = {"Origin: https://app.example", "Access-Control-Request-Method: GET", NULL};
    reply o = http("OPTIONS", "/api/v3/tokens/changes", pre, NULL, 0);
    assert_int_equal(o.status, 204);
    assert_non_null(strstr(hdr(&o, "Access-Control-Allow-Methods", v, sizeof v), "GET"));
    reply_free(&o);

    size_t len;
    const char *doc = api_openapi_text(&len);
    o = http("GET", "/api/v3/openapi.json", NULL, NULL, 1);
    assert_int_equal(o.status, 200);
    assert_int_equal(o.body.len, len);
    assert_memory_equal(o.body.data, doc, len);
    reply_free(&o);
}

/* Page by page from 0: every changed token once, in sequence order. */
static void change_pages(void **state)
{
    (void)state;
    commit_prices(10, 30, 5.0);
    int64_t since = 0, last = 0, head = store_head();
    int seen[N_TOKENS] = {0}, pages = 0, more = 1;
    while (more && pages < 100) {
        char path[128];
        snprintf(path, sizeof path, "/api/v3/tokens/changes?since=%" PRId64 "&limit=7", since);
        reply r = http("GET", path, NULL, NULL, 0);
        assert_int_equal(r.status, 200);
        cJSON *j = cJSON_Parse(r.body.data), *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "data"))
        {
            int64_t seq = (int64_t)cJSON_GetObjectItem(e, "seq")->valuedouble;
            assert_true(seq > last);
            last = seq;
            int i = atoi(cJSON_GetObjectItem(e, "address")->valuestring + 3);
            seen[i]++;
            assert_true(cJSON_IsNumber(cJSON_GetObjectItem(e, "price_usd")));
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "market_cap"))); /* unknown: null, never 0 */
        }
        more = cJSON_IsTrue(cJSON_GetObjectItem(j, "has_more"));
        since = (int64_t)cJSON_GetObjectItem(j, "next")->valuedouble;
        assert_int_equal((int64_t)cJSON_GetObjectItem(j, "head")->valuedouble, head);
        cJSON_Delete(j);
        reply_free(&r);
        pages++;
    }
    assert_int_equal(since, head);
    for (int i = 0; i < N_TOKENS; i++)
        assert_int_equal(seen[i], i < 40 ? 1 : 0);
}

/* ---- streams over raw sockets ------------------------------------------------------------------- */

static int tcp_connect(int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(0x7f000001);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static int open_stream(const char *query, const char *last_id, int rcvbuf)
{
    int fd = tcp_connect(rcvbuf);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /api/v3/tokens/changes%s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n%s%s%s\r\n",
                     query, last_id ? "Last-Event-ID: " : "", last_id ? last_id : "", last_id ? "\r\n" : "");
    assert_int_equal(send(fd, req, (size_t)n, 0), n);
    return fd;
}

/* Reads from FD into B until NEEDLE is in it or MS pass; 1 when found. */
static int read_until(int fd, strbuf *b, const char *needle, int ms)
{
    int64_t end = now_mono_ns() + (int64_t)ms * NS_PER_MS;
    while (!(b->data && strstr(b->data, needle))) {
        int left = (int)((end - now_mono_ns()) / NS_PER_MS);
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return 0;
        char buf[8192];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return b->data && strstr(b->data, needle);
        sb_append(b, buf, (size_t)n);
    }
    return 1;
}

/* The body of a chunked HTTP answer RAW (as far as it came), malloc'd. */
static char *dechunk(const char *raw)
{
    strbuf b = {0};
    const char *p = strstr(raw, "\r\n\r\n");
    for (p = p ? p + 4 : raw + strlen(raw); *p;) {
        char *end;
        unsigned long len = strtoul(p, &end, 16);
        if (end == p || strncmp(end, "\r\n", 2) || len == 0)
            break;
        p = end + 2;
        size_t have = strnlen(p, len);
        sb_append(&b, p, have);
        if (have < len)
            break;
        p += len + (p[len] == '\r' ? 2 : 0);
    }
    if (!b.data)
        sb_append(&b, "", 0);
    return b.data;
}

/* The events of a stream (RAW: what came on the socket): their ids in
 * order, and for each its address (ADDR[i], 16 bytes each). */
static size_t stream_events(const char *raw, int64_t *ids, char (*addr)[16], size_t max)
{
    char *text = dechunk(raw);
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, "id: ")) && n < max; p += 4) {
        if (p != text && p[-1] != '\n')
            continue;
        const char *a = strstr(p, "\"address\":\"");
        const char *next = strstr(p + 4, "\n\n");
        if (!a || !next || a > next)
            continue; /* not a change (the cut-off event) or not whole */
        ids[n] = strtoll(p + 4, NULL, 10);
        snprintf(addr[n], 16, "%.*s", (int)strcspn(a + 11, "\""), a + 11);
        n++;
    }
    free(text);
    return n;
}

typedef struct expected {
    char addr[N_TOKENS * 4][16];
    int64_t seq[N_TOKENS * 4];
    size_t n;
} expected;

static void expect_change(void *ctx, const token_change *c)
{
    expected *e = ctx;
    snprintf(e->addr[e->n], 16, "%s", c->address);
    e->seq[e->n++] = c->seq;
}

/* Every token the store has changed after SINCE reached the stream with
 * its current seq; the stream's ids rise. */
static void stream_has_store(const char *raw, int64_t since)
{
    static int64_t ids[8192];
    static char addr[8192][16];
    size_t n = stream_events(raw, ids, addr, 8192);
    for (size_t i = 1; i < n; i++)
        if (ids[i] <= ids[i - 1])
            fail_msg("ids do not rise: %" PRId64 " after %" PRId64, ids[i], ids[i - 1]);
    static expected e;
    e.n = 0;
    int64_t head;
    char err[512];
    assert_int_equal(store_changes(writer, since, N_TOKENS * 4, expect_change, &e, &head, err, sizeof err), 0);
    assert_true(e.n > 0);
    for (size_t k = 0; k < e.n; k++) {
        int found = 0;
        for (size_t i = 0; i < n && !found; i++)
            found = ids[i] == e.seq[k] && !strcmp(addr[i], e.addr[k]);
        if (!found)
            fail_msg("%s at %" PRId64 " is not in the stream", e.addr[k], e.seq[k]);
    }
    assert_true(n == 0 || ids[0] > since);
}

static void streams_resume_follow_and_cut_off(void **state)
{
    (void)state;
    int64_t head = store_head();
    /* Resumed after 5: everything after 5 that the store has, then new
     * changes as they are committed. */
    int a = open_stream("", "5", 0);
    strbuf got = {0};
    char want[64];
    snprintf(want, sizeof want, "\nid: %" PRId64 "\n", head);
    assert_true(read_until(a, &got, "text/event-stream", 3000));
    assert_true(read_until(a, &got, want, 3000));
    /* A client that never reads, from now on; its socket buffer small. */
    int slow = open_stream("", NULL, 4096);
    usleep(200 * 1000);
    /* Four rounds, each changing every token once, a round at a time: the
     * reader takes each whole (1200 events), the slow one cannot. */
    for (int round = 0; round < 4; round++) {
        commit_prices(0, N_TOKENS, 10.0 * (round + 2));
        snprintf(want, sizeof want, "id: %" PRId64 "\n", store_head());
        assert_true(read_until(a, &got, want, 15000));
    }
    int64_t head2 = store_head();
    snprintf(want, sizeof want, "id: %" PRId64 "\n", head2);
    assert_true(read_until(a, &got, want, 15000));
    stream_has_store(got.data, 5);
    /* The slow one was cut off: the health page counts it; what it gets in
     * the end is the cut-off event naming where to resume. */
    int cut = 0;
    for (int i = 0; i < 400 && !cut; i++) { /* full, then 2 s without taking anything */
        reply r = http("GET", "/health", NULL, NULL, 0);
        cJSON *j = cJSON_Parse(r.body.data);
        cut = (int)cJSON_GetObjectItem(cJSON_GetObjectItem(j, "feed"), "cut_off")->valuedouble;
        cJSON_Delete(j);
        reply_free(&r);
        usleep(20 * 1000);
    }
    assert_int_equal(cut, 1);
    strbuf s = {0};
    assert_true(read_until(slow, &s, "resume_from", 5000));
    assert_true(read_until(slow, &s, "}\n\n", 1000));
    char *text = dechunk(s.data);
    const char *cutoff = strstr(text, "event: cutoff\ndata: {\"resume_from\":");
    assert_non_null(cutoff);
    int64_t resume = strtoll(strstr(cutoff, "resume_from\":") + 13, NULL, 10);
    /* Its last event's id is where to resume, the last change it got
     * whole (or where it started). */
    char idline[48];
    snprintf(idline, sizeof idline, "id: %" PRId64 "\nevent: cutoff", resume);
    assert_non_null(strstr(text, idline));
    int64_t ids[4096];
    char (*addr)[16] = xcalloc(4096, 16);
    size_t n = stream_events(s.data, ids, addr, 4096);
    assert_true(n == 0 || ids[n - 1] == resume);
    assert_true(resume < head2);
    free(text);
    close(slow);
    sb_free(&s);
    /* Resuming there: every change after it, nothing at or before it. */
    char id[32];
    snprintf(id, sizeof id, "%" PRId64, resume);
    int again = open_stream("?since=1", id, 0); /* Last-Event-ID wins over since */
    assert_true(read_until(again, &s, want, 10000));
    stream_has_store(s.data, resume);
    free(addr);
    close(again);
    sb_free(&s);
    sb_free(&got);
    close(a);
}

/* More connections from one address than [api] per_ip_connections: the
 * extra ones are closed at once; the others, and later ones, are served. */
static void per_address_limit(void **state)
{
    (void)state;
    usleep(300 * 1000); /* the streams above are closed */
    int held[12];
    for (int i = 0; i < 12; i++)
        held[i] = tcp_connect(0);
    usleep(200 * 1000);
    int extra = tcp_connect(0);
    struct pollfd p = {extra, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 2000), 1);
    char c;
    assert_true(recv(extra, &c, 1, 0) <= 0); /* closed without a word */
    close(extra);
    for (int i = 0; i < 12; i++)
        close(held[i]);
    usleep(200 * 1000);
    reply r = http("GET", "/health", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

/* The store failing under a request: 503, its own words, never SQL. */
static void store_failure_is_503(void **state)
{
    (void)state;
    sqlite3 *w;
    assert_int_equal(sqlite3_open(db, &w), SQLITE_OK);
    assert_int_equal(sqlite3_exec(w, "ALTER TABLE change_counter RENAME TO cc_away", NULL, NULL, NULL), SQLITE_OK);
    reply r = http("GET", "/health", NULL, NULL, 0);
    expect_error(&r, 503, "store_unavailable");
    reply_free(&r);
    r = http("GET", "/api/v3/tokens/changes", NULL, NULL, 0);
    expect_error(&r, 503, "store_unavailable");
    reply_free(&r);
    assert_int_equal(sqlite3_exec(w, "ALTER TABLE cc_away RENAME TO change_counter", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(w);
    r = http("GET", "/health", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_and_error_shapes),
        cmocka_unit_test(etag_gzip_cors_openapi),
        cmocka_unit_test(change_pages),
        cmocka_unit_test(streams_resume_follow_and_cut_off),
        cmocka_unit_test(per_address_limit),
        cmocka_unit_test(store_failure_is_503),
    };
    int rc = cmocka_run_group_tests_name("api_server", tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
