/*
 * olddesign: replays the replaced Node.js service's two request patterns
 * against the fake upstream, so `make bench` can compare them with
 * tokencollector on the same server in the same run.
 *
 *   olddesign pertoken  URL TOKENS_FILE N SCALE
 *   olddesign batchplan URL TOKENS_FILE N SCALE
 *
 * pertoken   the old single-token path (docs/upstream-apis.md, "The old service"): for
 *            each token, one Jupiter call, sleep 100 ms, one Helius call,
 *            sleep 100 ms, one DexScreener call, sleep 500 ms. Sequential.
 * batchplan  the old "batch plan": 50-token batches, one after another; in a
 *            batch the sources run one after another: Jupiter in chunks of
 *            100 (so one call of 50), Helius in chunks of 100 (one call of 50),
 *            then DexScreener as single-token calls in parallel groups of 10
 *            with a 1 s pause between two groups of the same batch.
 *
 * Every sleep is divided by SCALE (the fake upstream runs with --scale SCALE,
 * so its windows are SCALE times shorter too). Like the old service (maxRetries
 * 1, no retry), a 429 or any other failure is counted and not retried: that
 * token's data from that source is lost. Responses are read and discarded, not
 * parsed or stored, which flatters the old designs slightly.
 *
 * Output: key=value lines (tokens, requests per source, http_429, errors,
 * lost, wall_s) for bench/run.sh.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { JUP, HEL, DEX, NSRC };
static const char *const SRC_NAME[NSRC] = {"jupiter", "helius", "dexscreener"};

typedef struct counters {
    unsigned long requests[NSRC], status_429[NSRC], errors[NSRC], lost[NSRC];
} counters;

static double scale = 1.0;
static const char *base_url;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_scaled_ms(double ms)
{
    double s = ms / scale / 1000.0;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
    (void)p;
    (void)user;
    return size * n;
}

static void die(const char *what)
{
    fprintf(stderr, "olddesign: %s\n", what);
    exit(1);
}

/* A growable string, enough for URLs and JSON-RPC bodies. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *text)
{
    size_t n = strlen(text);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            die("out of memory");
    }
    memcpy(b->s + b->len, text, n + 1);
    b->len += n;
}

static void sb_reset(sbuf *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

/* Prepares H for one request of SRC over ADDRS[0..N). URL and BODY must live
 * until the transfer ends. */
static void prepare(CURL *h, int src, char *const *addrs, size_t n, sbuf *url, sbuf *body)
{
    sb_reset(url);
    sb_reset(body);
    sb_add(url, base_url);
    if (src == JUP) {
        sb_add(url, "/tokens/v2/search?query=");
        for (size_t i = 0; i < n; i++) {
            if (i)
                sb_add(url, ",");
            sb_add(url, addrs[i]);
        }
    } else if (src == HEL) {
        sb_add(url, "/?api-key=bench");
        sb_add(body, "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"method\":\"getAssetBatch\",\"params\":{\"ids\":[");
        for (size_t i = 0; i < n; i++) {
            sb_add(body, i ? ",\"" : "\"");
            sb_add(body, addrs[i]);
            sb_add(body, "\"");
        }
        sb_add(body, "]}}");
    } else {
        sb_add(url, "/tokens/v1/solana/");
        for (size_t i = 0; i < n; i++) {
            if (i)
                sb_add(url, ",");
            sb_add(url, addrs[i]);
        }
    }
    curl_easy_setopt(h, CURLOPT_URL, url->s);
    if (src == HEL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->s);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body->len);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
}

static CURL *new_handle(void)
{
    CURL *h = curl_easy_init();
    if (!h)
        die("curl_easy_init failed");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L); /* the old axios timeout */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    return h;
}

static void account(counters *c, int src, CURLcode rc, CURL *h, size_t n_tokens)
{
    long status = 0;
    c->requests[src]++;
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status == 429)
        c->status_429[src]++;
    else if (status != 200)
        c->errors[src]++;
    if (status != 200)
        c->lost[src] += n_tokens;
}

static void one_request(counters *c, CURL *h, int src, char *const *addrs, size_t n, sbuf *url, sbuf *body)
{
    prepare(h, src, addrs, n, url, body);
    account(c, src, curl_easy_perform(h), h, n);
}

static void run_pertoken(counters *c, char *const *addrs, size_t n)
{
    static const double pause_ms[NSRC] = {100, 100, 500};
    CURL *h[NSRC];
    sbuf url = {0}, body = {0};
    for (int s = 0; s < NSRC; s++)
        h[s] = new_handle();
    for (size_t i = 0; i < n; i++)
        for (int s = 0; s < NSRC; s++) {
            one_request(c, h[s], s, &addrs[i], 1, &url, &body);
            sleep_scaled_ms(pause_ms[s]);
        }
    for (int s = 0; s < NSRC; s++)
        curl_easy_cleanup(h[s]);
    free(url.s);
    free(body.s);
}

#define BATCH 50
#define DEX_GROUP 10

static void run_batchplan(counters *c, char *const *addrs, size_t n)
{
    CURL *h[2];
    CURL *dex[DEX_GROUP];
    sbuf url = {0}, body = {0};
    sbuf dex_url[DEX_GROUP] = {{0}}, dex_body[DEX_GROUP] = {{0}};
    for (int s = 0; s < 2; s++)
        h[s] = new_handle();
    for (int k = 0; k < DEX_GROUP; k++)
        dex[k] = new_handle();
    CURLM *multi = curl_multi_init();
    if (!multi)
        die("curl_multi_init failed");
    for (size_t b = 0; b < n; b += BATCH) {
        size_t bn = n - b < BATCH ? n - b : BATCH;
        /* Jupiter and Helius: chunks of 100, so one call each for 50 tokens. */
        for (size_t off = 0; off < bn; off += 100)
            one_request(c, h[JUP], JUP, &addrs[b + off], bn - off < 100 ? bn - off : 100, &url, &body);
        for (size_t off = 0; off < bn; off += 100)
            one_request(c, h[HEL], HEL, &addrs[b + off], bn - off < 100 ? bn - off : 100, &url, &body);
        /* DexScreener: parallel groups of 10 single-token calls, 1 s apart. */
        for (size_t g = 0; g < bn; g += DEX_GROUP) {
            if (g)
                sleep_scaled_ms(1000);
            size_t gn = bn - g < DEX_GROUP ? bn - g : DEX_GROUP;
            for (size_t k = 0; k < gn; k++) {
                prepare(dex[k], DEX, &addrs[b + g + k], 1, &dex_url[k], &dex_body[k]);
                curl_multi_add_handle(multi, dex[k]);
            }
            int running = 1;
            while (running) {
                if (curl_multi_perform(multi, &running) != CURLM_OK)
                    die("curl_multi_perform failed");
                if (running)
                    curl_multi_poll(multi, NULL, 0, 100, NULL);
            }
            CURLMsg *msg;
            int left;
            while ((msg = curl_multi_info_read(multi, &left)))
                if (msg->msg == CURLMSG_DONE)
                    account(c, DEX, msg->data.result, msg->easy_handle, 1);
            for (size_t k = 0; k < gn; k++)
                curl_multi_remove_handle(multi, dex[k]);
        }
    }
    curl_multi_cleanup(multi);
    for (int s = 0; s < 2; s++)
        curl_easy_cleanup(h[s]);
    for (int k = 0; k < DEX_GROUP; k++) {
        curl_easy_cleanup(dex[k]);
        free(dex_url[k].s);
        free(dex_body[k].s);
    }
    free(url.s);
    free(body.s);
}

int main(int argc, char **argv)
{
    if (argc != 6 || (strcmp(argv[1], "pertoken") && strcmp(argv[1], "batchplan"))) {
        fprintf(stderr, "usage: olddesign pertoken|batchplan URL TOKENS_FILE N SCALE\n");
        return 2;
    }
    base_url = argv[2];
    size_t want = strtoul(argv[4], NULL, 10);
    scale = strtod(argv[5], NULL);
    if (!want || !(scale > 0))
        die("N and SCALE must be positive");
    FILE *f = fopen(argv[3], "r");
    if (!f)
        die("cannot open the tokens file");
    char **addrs = calloc(want, sizeof *addrs);
    if (!addrs)
        die("out of memory");
    size_t n = 0;
    char line[256];
    while (n < want && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line && !(addrs[n++] = strdup(line)))
            die("out of memory");
    }
    fclose(f);
    if (n < want)
        die("the tokens file has fewer than N addresses");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("curl_global_init failed");

    counters c;
    memset(&c, 0, sizeof c);
    double t0 = now_s();
    if (!strcmp(argv[1], "pertoken"))
        run_pertoken(&c, addrs, n);
    else
        run_batchplan(&c, addrs, n);
    double wall = now_s() - t0;

    unsigned long total = 0, total_429 = 0, errors = 0, lost = 0;
    printf("tokens=%zu\n", n);
    for (int s = 0; s < NSRC; s++) {
        printf("requests_%s=%lu\nhttp_429_%s=%lu\nlost_%s=%lu\n", SRC_NAME[s], c.requests[s], SRC_NAME[s],
               c.status_429[s], SRC_NAME[s], c.lost[s]);
        total += c.requests[s];
        total_429 += c.status_429[s];
        errors += c.errors[s];
        lost += c.lost[s];
    }
    printf("requests=%lu\nhttp_429=%lu\nerrors=%lu\nlost=%lu\nwall_s=%.3f\n", total, total_429, errors, lost, wall);
    for (size_t i = 0; i < n; i++)
        free(addrs[i]);
    free(addrs);
    curl_global_cleanup();
    return 0;
}
