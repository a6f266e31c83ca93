/*
 * fakeapi: a local stand-in for Jupiter, Helius and DexScreener.
 *
 * Speaks the real endpoints' paths and response shapes with deterministic
 * data (fake_data.c, fake_render.c), enforces each source's published rate
 * limit as a sliding window (HTTP 429 + Retry-After), adds latency, injects
 * faults on demand and counts everything it served, so tests can assert on
 * calls, rates and 429s. See README.md next to this file.
 *
 * Threading: libmicrohttpd with one thread per connection. All mutable state
 * (counters, windows, faults, PRNGs) lives in `server` under one mutex; the
 * handlers only sleep (latency, hang) with the mutex released.
 */
#include "fake_data.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define JUPITER_MAX_MINTS 100
#define HELIUS_MAX_IDS 1000
#define DEX_MAX_ADDRESSES 30
#define MAX_BODY_BYTES ((size_t)8 << 20)
#define MAX_WINDOW_LIMIT 10000000u
#define DEFAULT_PORT 8899
#define DEFAULT_HANG_MS 30000u
#define DEFAULT_RETRY_AFTER_S 1u

static atomic_int g_stopping; /* set on SIGTERM/SIGINT: ends hanging handlers */

/* ------------------------------------------------------------------ time */

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------------ PRNG */

static uint64_t prng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double prng_unit(uint64_t *state) /* uniform in [0, 1) */
{
    return (double)(prng_next(state) >> 11) * 0x1.0p-53;
}

/* ------------------------------------------------- timestamp queue (FIFO) */

/* Timestamps in arrival order; grows as needed. */
typedef struct ts_queue {
    int64_t *items;
    size_t cap, head, len;
} ts_queue;

static int ts_push(ts_queue *q, int64_t t)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        int64_t *items = malloc(cap * sizeof *items);
        if (!items)
            return -1;
        for (size_t i = 0; i < q->len; i++)
            items[i] = q->items[(q->head + i) % q->cap];
        free(q->items);
        q->items = items;
        q->cap = cap;
        q->head = 0;
    }
    q->items[(q->head + q->len) % q->cap] = t;
    q->len++;
    return 0;
}

static int64_t ts_front(const ts_queue *q)
{
    return q->items[q->head];
}

/* Keep only timestamps inside the window (now - window, now]. */
static void ts_drop_outside(ts_queue *q, int64_t now, int64_t window)
{
    while (q->len && q->items[q->head] <= now - window) {
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
}

static void ts_free(ts_queue *q)
{
    free(q->items);
    memset(q, 0, sizeof *q);
}

/* ------------------------------------------- per-address request counts */

/* Open addressing keyed by a 64-bit hash of the address (0 = empty slot):
 * a few million addresses fit in tens of MB. */
typedef struct addr_counts {
    uint64_t *keys;
    uint32_t *counts;
    size_t cap, len;
    uint32_t max_count;
} addr_counts;

static int addr_counts_grow(addr_counts *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *counts = calloc(cap, sizeof *counts);
    if (!keys || !counts) {
        free(keys);
        free(counts);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = (size_t)(m->keys[i] & (cap - 1));
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        counts[j] = m->counts[i];
    }
    free(m->keys);
    free(m->counts);
    m->keys = keys;
    m->counts = counts;
    m->cap = cap;
    return 0;
}

static void addr_counts_add(addr_counts *m, const char *addr)
{
    if ((m->len + 1) * 10 > m->cap * 7 && addr_counts_grow(m) != 0)
        return; /* out of memory: the statistic becomes approximate */
    uint64_t key = fake_hash(addr, 0x57a7);
    if (!key)
        key = 1;
    size_t j = (size_t)(key & (m->cap - 1));
    while (m->keys[j] && m->keys[j] != key)
        j = (j + 1) & (m->cap - 1);
    if (!m->keys[j]) {
        m->keys[j] = key;
        m->len++;
    }
    if (++m->counts[j] > m->max_count)
        m->max_count = m->counts[j];
}

static void addr_counts_free(addr_counts *m)
{
    free(m->keys);
    free(m->counts);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------- server state */

typedef struct source_faults {
    double error_rate, timeout_rate, truncate_rate, malformed_rate, rate429;
    unsigned retry_after_s, hang_ms;
    int down;
} source_faults;

typedef struct source_state {
    unsigned limit;            /* requests per window */
    double window_ms;          /* published window, before --scale */
    int64_t window_ns;         /* effective window */
    ts_queue accepted;         /* requests admitted by the limiter, in window */
    ts_queue arrivals;         /* every arrival, in window (for max_in_window) */
    uint64_t requests, ok, status_429, status_4xx, status_5xx;
    uint64_t addresses, faults_injected, max_in_window;
    addr_counts per_address;
    source_faults faults;
} source_state;

typedef struct server {
    pthread_mutex_t lock;
    fake_profile profile;
    source_state src[FAKE_NSOURCES];
    uint64_t seed, fault_rng, latency_rng;
    unsigned latency_min_ms, latency_max_ms;
    double scale;
    unsigned drift_permille;        /* --drift: share of addresses whose price moves */
    unsigned long drift_period_ms;
    int verbose;
    int64_t started_ns;
} server;

static void faults_default(source_faults *f)
{
    memset(f, 0, sizeof *f);
    f->retry_after_s = DEFAULT_RETRY_AFTER_S;
    f->hang_ms = DEFAULT_HANG_MS;
}

static void reset_counters_locked(server *srv)
{
    for (int s = 0; s < FAKE_NSOURCES; s++) {
        source_state *st = &srv->src[s];
        st->accepted.len = st->arrivals.len = 0;
        st->requests = st->ok = st->status_429 = st->status_4xx = st->status_5xx = 0;
        st->addresses = st->faults_injected = st->max_in_window = 0;
        addr_counts_free(&st->per_address);
    }
    /* Reseed, so that a test phase after /_reset sees the same fault sequence. */
    srv->fault_rng = srv->seed;
    srv->latency_rng = srv->seed ^ 0xa5a5a5a5a5a5a5a5ULL;
    srv->started_ns = monotonic_ns();
}

static int source_by_name(const char *name, fake_source *out)
{
    for (int s = 0; s < FAKE_NSOURCES; s++) {
        if (strcmp(name, fake_source_name((fake_source)s)) == 0) {
            *out = (fake_source)s;
            return 0;
        }
    }
    return -1;
}

/* -------------------------------------------------------------- admission */

typedef enum verdict {
    VERDICT_SERVE,       /* answer normally (maybe with a body fault) */
    VERDICT_DOWN,        /* fault: source down, 503 */
    VERDICT_FORCED_429,  /* fault: 429 regardless of the window */
    VERDICT_LIMITED,     /* the sliding window is full: 429 */
    VERDICT_BAD_REQUEST, /* admitted but invalid: the caller's error reply */
} verdict;

typedef enum body_fault {
    FAULT_NONE,
    FAULT_ERROR,     /* 500 or 503 with a short body */
    FAULT_TIMEOUT,   /* hang, then close without a response */
    FAULT_TRUNCATE,  /* 200 with the JSON cut in half */
    FAULT_MALFORMED, /* 200 with garbage */
} body_fault;

typedef struct admission {
    verdict verdict;
    body_fault fault;
    unsigned error_status;   /* FAULT_ERROR: 500 or 503 */
    unsigned retry_after_s;  /* 429s */
    unsigned hang_ms;        /* FAULT_TIMEOUT */
    unsigned latency_ms;
    long remaining;          /* x-ratelimit-remaining */
    size_t in_window;        /* x-ratelimit-current */
    long long reset_unix;    /* x-ratelimit-reset */
} admission;

static unsigned ceil_seconds(int64_t ns)
{
    int64_t s = (ns + 999999999) / 1000000000;
    return s < 1 ? 1u : (unsigned)s;
}

/* Decide what happens to one arrival for SOURCE and account for it. VALID
 * says whether the request parsed; ADDRS/N are its addresses. */
static admission admit(server *srv, fake_source source, int valid,
                       const char *const *addrs, size_t n)
{
    admission a;
    memset(&a, 0, sizeof a);
    pthread_mutex_lock(&srv->lock);
    source_state *st = &srv->src[source];
    const source_faults *f = &st->faults;
    int64_t now = monotonic_ns();

    st->requests++;
    ts_drop_outside(&st->arrivals, now, st->window_ns);
    if (ts_push(&st->arrivals, now) == 0 && st->arrivals.len > st->max_in_window)
        st->max_in_window = st->arrivals.len;

    unsigned spread = srv->latency_max_ms - srv->latency_min_ms;
    a.latency_ms = srv->latency_min_ms +
                   (spread ? (unsigned)(prng_next(&srv->latency_rng) % (spread + 1)) : 0);

    ts_drop_outside(&st->accepted, now, st->window_ns);
    if (f->down) {
        a.verdict = VERDICT_DOWN;
        st->faults_injected++;
    } else if (f->rate429 > 0 && prng_unit(&srv->fault_rng) < f->rate429) {
        a.verdict = VERDICT_FORCED_429;
        a.retry_after_s = f->retry_after_s;
        st->faults_injected++;
    } else if (st->accepted.len >= st->limit) {
        a.verdict = VERDICT_LIMITED; /* rejected: not added to the window */
        a.retry_after_s = ceil_seconds(ts_front(&st->accepted) + st->window_ns - now);
    } else {
        if (ts_push(&st->accepted, now) != 0) /* out of memory: serve, uncounted */
            fprintf(stderr, "fakeapi: out of memory in the rate window\n");
        a.verdict = valid ? VERDICT_SERVE : VERDICT_BAD_REQUEST;
    }

    a.in_window = st->accepted.len;
    a.remaining = (long)st->limit - (long)st->accepted.len;
    a.reset_unix = (long long)time(NULL) +
                   (st->accepted.len ? ceil_seconds(ts_front(&st->accepted) + st->window_ns - now) : 0);

    if (a.verdict == VERDICT_SERVE) {
        st->addresses += n;
        for (size_t i = 0; i < n; i++)
            addr_counts_add(&st->per_address, addrs[i]);
        /* One draw decides the body fault: cumulative bands of the rates. */
        double r = prng_unit(&srv->fault_rng);
        double edge = f->error_rate;
        if (r < edge) {
            a.fault = FAULT_ERROR;
            a.error_status = (prng_next(&srv->fault_rng) & 1) ? 503 : 500;
        } else if (r < (edge += f->timeout_rate)) {
            a.fault = FAULT_TIMEOUT;
            a.hang_ms = f->hang_ms;
        } else if (r < (edge += f->truncate_rate)) {
            a.fault = FAULT_TRUNCATE;
        } else if (r < (edge += f->malformed_rate)) {
            a.fault = FAULT_MALFORMED;
        }
        if (a.fault != FAULT_NONE)
            st->faults_injected++;
    }
    pthread_mutex_unlock(&srv->lock);
    return a;
}

/* Count the HTTP status finally sent (0: connection closed, no response). */
static void record_outcome(server *srv, fake_source source, unsigned status, int ok)
{
    pthread_mutex_lock(&srv->lock);
    source_state *st = &srv->src[source];
    if (ok)
        st->ok++;
    if (status == 429)
        st->status_429++;
    else if (status >= 400 && status < 500)
        st->status_4xx++;
    else if (status >= 500)
        st->status_5xx++;
    pthread_mutex_unlock(&srv->lock);
}

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
static void hang(struct MHD_Connection *conn, unsigned hang_ms)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int fd = ci ? ci->connect_fd : -1;
    int64_t deadline = monotonic_ns() + (int64_t)hang_ms * 1000000;
    for (;;) {
        int64_t left_ms = (deadline - monotonic_ns()) / 1000000;
        if (left_ms <= 0 || atomic_load(&g_stopping))
            return;
        int slice = left_ms < 100 ? (int)left_ms : 100;
        if (fd < 0) {
            sleep_ms((unsigned)slice);
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
        sleep_ms((unsigned)slice); /* pipelined bytes: keep waiting, don't spin */
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
    if (!srv->verbose)
        return;
    fprintf(stderr, "fakeapi: %s %s [%s, %zu addresses] -> %u%s%s\n", method, url,
            fake_source_name(q->source), q->n, status, note ? " " : "", note ? note : "");
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
            hang(conn, adm.hang_ms);
            log_request(srv, method, url, q, 0, "(fault: timeout, closed)");
            record_outcome(srv, q->source, 0, 0);
            return MHD_NO; /* close without a response */
        }
        if (adm.fault == FAULT_ERROR) {
            r.ratelimit_headers = 0;
            if (adm.error_status == 503)
                reply_text(&r, 503, "text/html", "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>");
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
        if (srv->drift_permille)
            fake_set_price_drift(srv->drift_permille,
                                 (uint64_t)((monotonic_ns() - srv->started_ns) / 1000000 / srv->drift_period_ms));
        if (q->source == FAKE_JUPITER)
            json = fake_render_jupiter(&srv->profile, q->addrs, q->n);
        else if (q->source == FAKE_HELIUS)
            json = fake_render_helius(&srv->profile, q->addrs, q->n, q->id_json);
        else
            json = fake_render_dexscreener(&srv->profile, q->addrs, q->n);
        reply_json(&r, 200, json);
        if (adm.fault == FAULT_TRUNCATE && r.status == 200) {
            r.len = r.len > 1 ? r.len / 2 : r.len; /* valid JSON cut in half */
            note = "(fault: truncated)";
        } else {
            ok = r.status == 200;
        }
        break;
    }

    if (adm.latency_ms)
        sleep_ms(adm.latency_ms);
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
        const source_state *st = &srv->src[s];
        cJSON *o = cJSON_AddObjectToObject(root, fake_source_name((fake_source)s));
        cJSON_AddNumberToObject(o, "requests", (double)st->requests);
        cJSON_AddNumberToObject(o, "ok", (double)st->ok);
        cJSON_AddNumberToObject(o, "status_429", (double)st->status_429);
        cJSON_AddNumberToObject(o, "status_4xx", (double)st->status_4xx);
        cJSON_AddNumberToObject(o, "status_5xx", (double)st->status_5xx);
        cJSON_AddNumberToObject(o, "addresses", (double)st->addresses);
        cJSON_AddNumberToObject(o, "distinct_addresses", (double)st->per_address.len);
        cJSON_AddNumberToObject(o, "max_requests_per_address", st->per_address.max_count);
        cJSON_AddNumberToObject(o, "max_in_window", (double)st->max_in_window);
        cJSON_AddNumberToObject(o, "limit", st->limit);
        cJSON_AddNumberToObject(o, "window_ms", (double)st->window_ns / 1e6);
        cJSON_AddNumberToObject(o, "faults_injected", (double)st->faults_injected);
    }
    cJSON_AddNumberToObject(root, "scale", srv->scale);
    cJSON_AddNumberToObject(root, "uptime_ms", (double)((monotonic_ns() - srv->started_ns) / 1000000));
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
    }
    pthread_mutex_unlock(&srv->lock);
    return root;
}

/* Parsing state for POST /_faults: settings are applied only if every
 * argument is valid. */
typedef struct fault_update {
    int has_source, all_sources, clear, error;
    fake_source source;
    int set_error, set_timeout, set_truncate, set_malformed, set_rate429;
    int set_retry_after, set_hang, set_down;
    source_faults values;
    char message[160];
} fault_update;

static int parse_rate(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= 0.0 && d <= 1.0))
        return -1;
    *out = d;
    return 0;
}

static int parse_uint(const char *v, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long u = strtoul(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || u > max)
        return -1;
    *out = (unsigned)u;
    return 0;
}

static enum MHD_Result collect_fault_arg(void *cls, enum MHD_ValueKind kind,
                                         const char *key, const char *value)
{
    (void)kind;
    fault_update *u = cls;
    const char *v = value ? value : "";
    int bad = 0;
    unsigned flag;
    if (strcmp(key, "source") == 0) {
        u->has_source = 1;
        if (strcmp(v, "all") == 0)
            u->all_sources = 1;
        else
            bad = source_by_name(v, &u->source);
    } else if (strcmp(key, "error_rate") == 0) {
        bad = parse_rate(v, &u->values.error_rate), u->set_error = 1;
    } else if (strcmp(key, "timeout_rate") == 0) {
        bad = parse_rate(v, &u->values.timeout_rate), u->set_timeout = 1;
    } else if (strcmp(key, "truncate_rate") == 0) {
        bad = parse_rate(v, &u->values.truncate_rate), u->set_truncate = 1;
    } else if (strcmp(key, "malformed_rate") == 0) {
        bad = parse_rate(v, &u->values.malformed_rate), u->set_malformed = 1;
    } else if (strcmp(key, "rate429") == 0) {
        bad = parse_rate(v, &u->values.rate429), u->set_rate429 = 1;
    } else if (strcmp(key, "retry_after") == 0) {
        bad = parse_uint(v, 86400, &u->values.retry_after_s), u->set_retry_after = 1;
    } else if (strcmp(key, "hang_ms") == 0) {
        bad = parse_uint(v, 3600000, &u->values.hang_ms), u->set_hang = 1;
    } else if (strcmp(key, "down") == 0) {
        bad = parse_uint(v, 1, &flag), u->values.down = (int)flag, u->set_down = 1;
    } else if (strcmp(key, "clear") == 0) {
        bad = parse_uint(v, 1, &flag), u->clear = (int)flag;
    } else {
        snprintf(u->message, sizeof u->message, "unknown key '%.60s'", key);
        u->error = 1;
        return MHD_NO;
    }
    if (bad) {
        snprintf(u->message, sizeof u->message, "bad value for '%.40s': '%.60s'", key, v);
        u->error = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

static void apply_faults(source_faults *f, const fault_update *u)
{
    if (u->clear)
        faults_default(f);
    if (u->set_error) f->error_rate = u->values.error_rate;
    if (u->set_timeout) f->timeout_rate = u->values.timeout_rate;
    if (u->set_truncate) f->truncate_rate = u->values.truncate_rate;
    if (u->set_malformed) f->malformed_rate = u->values.malformed_rate;
    if (u->set_rate429) f->rate429 = u->values.rate429;
    if (u->set_retry_after) f->retry_after_s = u->values.retry_after_s;
    if (u->set_hang) f->hang_ms = u->values.hang_ms;
    if (u->set_down) f->down = u->values.down;
}

static void post_faults(server *srv, struct MHD_Connection *conn, reply *r)
{
    fault_update u;
    memset(&u, 0, sizeof u);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_fault_arg, &u);
    if (!u.error && !u.has_source) {
        snprintf(u.message, sizeof u.message, "source=NAME (jupiter, helius, dexscreener or all) is required");
        u.error = 1;
    }
    if (u.error) {
        cJSON *err = cJSON_CreateObject();
        cJSON_AddStringToObject(err, "error", u.message);
        reply_cjson(r, 400, err);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    for (int s = 0; s < FAKE_NSOURCES; s++)
        if (u.all_sources || (fake_source)s == u.source)
            apply_faults(&srv->src[s].faults, &u);
    pthread_mutex_unlock(&srv->lock);
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
            pthread_mutex_lock(&srv->lock);
            reset_counters_locked(srv);
            pthread_mutex_unlock(&srv->lock);
            reply_text(&r, 200, "application/json", "{\"ok\":true}");
        } else if (strcmp(url, "/_faults") == 0 && is_get) {
            reply_cjson(&r, 200, faults_json(srv));
        } else if (strcmp(url, "/_faults") == 0 && is_post) {
            post_faults(srv, conn, &r);
        } else if (strcmp(url, "/prices") == 0 && is_get) { /* the template plugin's API: no limit, faults, stats */
            const char *ids = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "ids");
            if (ids && *ids)
                reply_json(&r, 200, fake_render_prices(&srv->profile, ids));
            else
                reply_text(&r, 400, "application/json", "{\"error\":\"ids is required\"}");
        } else {
            reply_text(&r, 404, "application/json", "{\"error\":\"Not Found\"}");
        }
        if (srv->verbose)
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

/* --------------------------------------------------------------- options */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: fakeapi [options]\n"
            "  --port N                 listen on 127.0.0.1:N (default %d; 0 = ephemeral)\n"
            "  --port-file PATH         write the bound port to PATH once listening\n"
            "  --latency MIN-MAX        added latency per source request, ms (default 0-0)\n"
            "  --unknown-all PERMILLE   addresses unknown to every source (default 20)\n"
            "  --unknown SOURCE=PERMILLE addresses unknown to SOURCE (defaults 50, 30, 120)\n"
            "  --limit SOURCE=L/Wms     at most L requests per W ms sliding window\n"
            "                           (defaults jupiter=60/60000ms helius=2/1000ms\n"
            "                           dexscreener=300/60000ms)\n"
            "  --scale F                divide every window by F (F times faster)\n"
            "  --seed N                 seed of the fault and latency PRNGs (default 1)\n"
            "  --drift PERMILLE/MS      prices of that share of addresses move every MS\n"
            "                           milliseconds (daemon runs; default off)\n"
            "  --verbose                log each request to stderr\n"
            "SOURCE is jupiter, helius or dexscreener.\n",
            DEFAULT_PORT);
}

static int parse_source_assignment(const char *arg, fake_source *source, const char **value)
{
    const char *eq = strchr(arg, '=');
    if (!eq)
        return -1;
    char name[32];
    size_t len = (size_t)(eq - arg);
    if (len >= sizeof name)
        return -1;
    memcpy(name, arg, len);
    name[len] = '\0';
    *value = eq + 1;
    return source_by_name(name, source);
}

static int parse_limit(server *srv, const char *arg)
{
    fake_source s;
    const char *v;
    if (parse_source_assignment(arg, &s, &v) != 0)
        return -1;
    char *end;
    errno = 0;
    unsigned long limit = strtoul(v, &end, 10);
    if (errno || end == v || *end != '/' || v[0] == '-' || limit < 1 || limit > MAX_WINDOW_LIMIT)
        return -1;
    const char *w = end + 1;
    double window_ms = strtod(w, &end);
    if (end == w || !(window_ms > 0) || !isfinite(window_ms) || (*end && strcmp(end, "ms") != 0))
        return -1;
    srv->src[s].limit = (unsigned)limit;
    srv->src[s].window_ms = window_ms;
    return 0;
}

static int parse_options(server *srv, int argc, char **argv, unsigned *port, const char **port_file)
{
    enum { OPT_PORT = 1000, OPT_PORT_FILE, OPT_LATENCY, OPT_UNKNOWN_ALL, OPT_UNKNOWN,
           OPT_LIMIT, OPT_SCALE, OPT_SEED, OPT_VERBOSE, OPT_HELP, OPT_DRIFT };
    static const struct option LONG_OPTIONS[] = {
        { "port", required_argument, NULL, OPT_PORT },
        { "port-file", required_argument, NULL, OPT_PORT_FILE },
        { "latency", required_argument, NULL, OPT_LATENCY },
        { "unknown-all", required_argument, NULL, OPT_UNKNOWN_ALL },
        { "unknown", required_argument, NULL, OPT_UNKNOWN },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "scale", required_argument, NULL, OPT_SCALE },
        { "seed", required_argument, NULL, OPT_SEED },
        { "drift", required_argument, NULL, OPT_DRIFT },
        { "verbose", no_argument, NULL, OPT_VERBOSE },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "h", LONG_OPTIONS, NULL)) != -1) {
        int bad = 0;
        unsigned u;
        char *end;
        fake_source s;
        const char *v;
        switch (opt) {
        case OPT_PORT:
            bad = parse_uint(optarg, 65535, port);
            break;
        case OPT_PORT_FILE:
            *port_file = optarg;
            break;
        case OPT_LATENCY: {
            unsigned long lo = strtoul(optarg, &end, 10), hi = lo;
            if (end == optarg || optarg[0] == '-')
                bad = 1;
            else if (*end == '-')
                hi = strtoul(end + 1, &end, 10);
            if (!bad && (*end || hi < lo || hi > 600000))
                bad = 1;
            srv->latency_min_ms = (unsigned)lo;
            srv->latency_max_ms = (unsigned)hi;
            break;
        }
        case OPT_UNKNOWN_ALL:
            bad = parse_uint(optarg, 1000, &srv->profile.unknown_all_permille);
            break;
        case OPT_UNKNOWN:
            bad = parse_source_assignment(optarg, &s, &v) != 0 || parse_uint(v, 1000, &u) != 0;
            if (!bad)
                srv->profile.unknown_permille[s] = u;
            break;
        case OPT_LIMIT:
            bad = parse_limit(srv, optarg);
            break;
        case OPT_SCALE:
            srv->scale = strtod(optarg, &end);
            bad = end == optarg || *end || !(srv->scale > 0) || !isfinite(srv->scale);
            break;
        case OPT_DRIFT: {
            unsigned long period;
            bad = sscanf(optarg, "%u/%lu", &srv->drift_permille, &period) != 2 || srv->drift_permille > 1000 ||
                  period == 0;
            srv->drift_period_ms = period;
            break;
        }
        case OPT_SEED:
            errno = 0;
            srv->seed = strtoull(optarg, &end, 0);
            bad = errno || end == optarg || *end;
            break;
        case OPT_VERBOSE:
            srv->verbose = 1;
            break;
        case OPT_HELP:
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "fakeapi: bad value for --%s: '%s'\n",
                    LONG_OPTIONS[opt - OPT_PORT].name, optarg);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fakeapi: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Write the port to PATH atomically (readers never see a partial file). */
static int write_port_file(const char *path, unsigned port)
{
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    if (!tmp)
        return -1;
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = -1;
    if (f) {
        int written = fprintf(f, "%u\n", port) > 0;
        if (fclose(f) == 0 && written && rename(tmp, path) == 0)
            rc = 0;
    }
    if (rc != 0) {
        fprintf(stderr, "fakeapi: cannot write port file %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* ------------------------------------------------------------------ main */

static void server_init(server *srv)
{
    memset(srv, 0, sizeof *srv);
    pthread_mutex_init(&srv->lock, NULL);
    fake_profile_default(&srv->profile);
    /* Published free-tier limits (reference/upstream-apis.md). */
    srv->src[FAKE_JUPITER].limit = 60;
    srv->src[FAKE_JUPITER].window_ms = 60000;
    srv->src[FAKE_HELIUS].limit = 2;
    srv->src[FAKE_HELIUS].window_ms = 1000;
    srv->src[FAKE_DEXSCREENER].limit = 300;
    srv->src[FAKE_DEXSCREENER].window_ms = 60000;
    for (int s = 0; s < FAKE_NSOURCES; s++)
        faults_default(&srv->src[s].faults);
    srv->scale = 1.0;
    srv->seed = 1;
}

static void server_free(server *srv)
{
    for (int s = 0; s < FAKE_NSOURCES; s++) {
        ts_free(&srv->src[s].accepted);
        ts_free(&srv->src[s].arrivals);
        addr_counts_free(&srv->src[s].per_address);
    }
    pthread_mutex_destroy(&srv->lock);
}

int main(int argc, char **argv)
{
    static server srv; /* static: shared with the MHD threads for the whole run */
    server_init(&srv);
    unsigned port = DEFAULT_PORT;
    const char *port_file = NULL;
    if (parse_options(&srv, argc, argv, &port, &port_file) != 0) {
        server_free(&srv);
        return 2;
    }
    for (int s = 0; s < FAKE_NSOURCES; s++) {
        int64_t ns = llround(srv.src[s].window_ms * 1e6 / srv.scale);
        srv.src[s].window_ns = ns > 0 ? ns : 1;
    }
    reset_counters_locked(&srv); /* seeds the PRNGs; no threads yet */

    /* Block the stop signals in every thread; main waits for them below. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    if (srv.verbose)
        flags |= MHD_USE_ERROR_LOG;
    struct MHD_Daemon *daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, &srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)NULL,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(1 << 20), /* long URLs */
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_END);
    if (!daemon) {
        fprintf(stderr, "fakeapi: cannot listen on 127.0.0.1:%u\n", port);
        server_free(&srv);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    unsigned bound = info ? info->port : port;
    if (srv.verbose)
        fprintf(stderr, "fakeapi: listening on 127.0.0.1:%u\n", bound);
    int rc = 0;
    if (port_file && write_port_file(port_file, bound) != 0)
        rc = 1;

    while (rc == 0) {
        int sig;
        if (sigwait(&stop_signals, &sig) == 0)
            break;
    }
    atomic_store(&g_stopping, 1);
    MHD_stop_daemon(daemon);
    server_free(&srv);
    return rc;
}
