/* `tokencollector status` (status_cli.h): one GET with libcurl, then the
 * tables. Reads only the admin status's JSON (ops_json.c writes it): must
 * not reach a store or the engine. */
#include "status_cli.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return s ? s : "-";
}

static const char *dur(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, len, "-");
    else if (s < 1)
        snprintf(buf, len, "%.0fms", s * 1000);
    else if (s < 120)
        snprintf(buf, len, "%.1fs", s);
    else if (s < 7200)
        snprintf(buf, len, "%.1fm", s / 60);
    else
        snprintf(buf, len, "%.1fh", s / 3600);
    return buf;
}

static void print_tiers(const cJSON *root, FILE *out)
{
    char a[16], b[16], c[16], d[16], e[16];
    fprintf(out, "%-6s %8s %9s %8s %11s %7s %8s %8s %8s\n", "tier", "tokens", "refreshed", "target", "sustainable",
            "stretch", "age_p50", "age_p95", "age_max");
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(root, "tiers"))
    {
        const cJSON *age = cJSON_GetObjectItemCaseSensitive(t, "price_age_s");
        fprintf(out, "%-6s %8.0f %9.0f %8s %11s %7.2f %8s %8s %8s\n", str(t, "tier"), num(t, "tokens"),
                num(t, "refreshed"), dur(num(t, "target_interval_s"), a, sizeof a),
                dur(num(t, "sustainable_interval_s"), b, sizeof b), num(t, "stretch"), dur(num(age, "p50"), c, sizeof c),
                dur(num(age, "p95"), d, sizeof d), dur(num(age, "max"), e, sizeof e));
    }
}

static void print_sources(const cJSON *root, FILE *out)
{
    fprintf(out, "%-14s %9s %9s %7s %7s %7s %7s %7s %8s %8s %8s %10s %9s %12s %7s\n", "source", "state", "requests",
            "429s", "retries", "transp", "5xx", "4xx", "found", "missing", "failed", "limiter_s", "rate_now",
            "inflight/lim", "p90_ms");
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(root, "sources"))
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(s, "counts");
        char rate[24] = "-";
        if (isfinite(num(s, "rate_limit_per_s")))
            snprintf(rate, sizeof rate, "%.3g/s", num(s, "rate_limit_per_s"));
        /* in flight now / the limit sized by rate x latency (of at most concurrency) */
        char flow[48];
        snprintf(flow, sizeof flow, "%.0f/%.0f/%.0f", num(s, "in_flight"), num(s, "inflight_limit"),
                 num(s, "concurrency"));
        fprintf(out, "%-14s %9s %9.0f %7.0f %7.0f %7.0f %7.0f %7.0f %8.0f %8.0f %8.0f %10.1f %9s %12s %7.0f\n",
                str(s, "name"), str(s, "state"), num(c, "requests"), num(c, "throttled"), num(c, "retries"),
                num(c, "transport_errors"), num(c, "server_errors"), num(c, "client_errors"), num(c, "tokens_found"),
                num(c, "tokens_missing"), num(c, "tokens_failed"), num(c, "limiter_wait_s"), rate, flow,
                num(s, "latency_p90_s") * 1000);
    }
    fprintf(out, "%-14s %-10s %-8s %s\n", "plugin of", "name", "version", "file");
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(root, "sources"))
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(s, "plugin");
        fprintf(out, "%-14s %-10s %-8s %s (ABI %s)\n", str(s, "name"), str(p, "name"), str(p, "version"),
                str(p, "file"), str(p, "abi"));
    }
}

int status_print(const char *json, FILE *out, char *err, size_t errlen)
{
    cJSON *root = cJSON_Parse(json);
    const cJSON *sc = root ? cJSON_GetObjectItemCaseSensitive(root, "scheduler") : NULL;
    if (!cJSON_IsObject(sc)) {
        snprintf(err, errlen, "the answer is not the admin status");
        cJSON_Delete(root);
        return -1;
    }
    time_t started = (time_t)num(root, "started_at");
    char when[32] = "?", a[16], b[16];
    struct tm tm;
    if (localtime_r(&started, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    double up = num(root, "taken_at_ms") / 1000 - (double)started;
    fprintf(out, "running since %s (%s), config %s%s\n", when, dur(up, a, sizeof a), str(root, "config"),
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "paused")) ? ", PAUSED" : "");
    double cap = num(sc, "capacity_per_s");
    char capacity[24] = "unlimited";
    if (isfinite(cap))
        snprintf(capacity, sizeof capacity, "%.1f/s", cap);
    fprintf(out, "scheduler: %.0f tokens, %.0f queued, %.0f in flight, %.0f due (overdue max %s), capacity %s, "
                 "demand %.1f/s, committing %.1f/s%s\n",
            num(sc, "tokens"), num(sc, "queued"), num(sc, "in_flight"), num(sc, "due"),
            dur(num(sc, "overdue_max_s"), b, sizeof b), capacity, num(sc, "demand_per_s"), num(sc, "committed_per_s"),
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sc, "overloaded")) ? ", OVERLOADED" : "");
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(root, "first_pass");
    double eta = num(fp, "eta_s");
    fprintf(out, "first pass: %.0f of %.0f tokens answered since the start, ETA %s\n", num(fp, "refreshed"),
            num(fp, "tokens"), eta == 0 ? "done" : isfinite(eta) ? dur(eta, a, sizeof a) : "unknown");
    print_tiers(root, out);
    print_sources(root, out);
    const cJSON *rl = cJSON_GetObjectItemCaseSensitive(root, "reloads");
    fprintf(out, "reloads: %.0f applied, %.0f refused; plugin reloads: %.0f\n", num(rl, "applied"),
            num(rl, "refused"), num(rl, "plugins"));
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "recent_errors"), *e;
    int shown = 0;
    cJSON_ArrayForEach(e, errs)
    {
        if (shown++ == 5)
            break;
        time_t t = (time_t)(num(e, "time_ms") / 1000);
        char hm[16] = "?";
        if (localtime_r(&t, &tm))
            strftime(hm, sizeof hm, "%H:%M:%S", &tm);
        double rep = num(e, "repeats");
        fprintf(out, "%s %s %s [%s] %s", shown == 1 ? "recent:" : "       ", hm, str(e, "level"), str(e, "component"),
                str(e, "message"));
        if (rep > 0)
            fprintf(out, " (and %.0f more)", rep);
        fprintf(out, "\n");
    }
    cJSON_Delete(root);
    return 0;
}

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    sb_append(ctx, p, size * n);
    return size * n;
}

int status_cli(const char *base_url, const char *token, FILE *out)
{
    CURL *c = curl_easy_init();
    if (!c)
        return 1;
    char url[512], auth[600];
    snprintf(url, sizeof url, "%s/api/admin/scheduler/status", base_url);
    struct curl_slist *h = NULL;
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    strbuf body = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    int exit_code = 1;
    char err[256];
    if (rc != CURLE_OK)
        fprintf(stderr, "tokencollector status: %s: %s (is the daemon running with [api] listen?)\n", url,
                curl_easy_strerror(rc));
    else if (status != 200)
        fprintf(stderr, "tokencollector status: %s: HTTP %ld: %s\n", url, status, body.data ? body.data : "");
    else if (status_print(body.data ? body.data : "", out, err, sizeof err) != 0)
        fprintf(stderr, "tokencollector status: %s: %s\n", url, err);
    else
        exit_code = 0;
    sb_free(&body);
    return exit_code;
}
