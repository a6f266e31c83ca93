/* The operations API's handlers, called directly (no HTTP server) against
 * the real daemon loop running in this process (real plugins, SQLite, the
 * fake upstream): /metrics (and `promtool check metrics` on it when
 * promtool is installed), /status.json, the status page's files, and every
 * admin route with good and bad input and without the token: pause stops
 * every request within a second and resume restarts them, refresh now goes
 * out within a limiter interval, token settings reach the scheduler and the
 * store, reloads answer with their validation result. An operator thread
 * does all of it while daemon_run runs on the main thread, then SIGTERMs
 * it. daemon_run's stop flag is never cleared: a single test. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>

#include "api_admin.h"
#include "api_ops.h"
#include "daemon.h"
#include "live_harness.h"
#include "ops.h"
#include "status_cli.h"
#include "util.h"

enum { N = 60 };
#define TOKEN "test-admin-token-0123456789"
#define WAIT_NS (10 * NS_PER_S)

typedef struct op {
    live *L;
    char failure[512]; /* the first failed check, "" when none */
    char *metrics_text;
} op;

static op *the;

#define CHECK(cond, ...)                                                                                         \
    do {                                                                                                         \
        if (!(cond) && !the->failure[0])                                                                         \
            snprintf(the->failure, sizeof the->failure, __VA_ARGS__);                                            \
    } while (0)

/* ---- calling a handler as the server would ------------------------------------------ */

typedef struct call_result {
    int status;
    char *body;
    cJSON *json;
    const char *type;
} call_result;

static const api_route *find_route(const char *method, const char *path, const char **args, size_t *n_args)
{
    const api_route *tables[] = {api_ops_routes, api_admin_routes};
    for (int t = 0; t < 2; t++)
        for (const api_route *r = tables[t]; r->method; r++) {
            if (strcmp(r->method, method) != 0)
                continue;
            /* segment by segment; "{...}" takes one */
            const char *p = path, *q = r->path;
            size_t n = 0;
            static char argbuf[4][128];
            int ok = 1;
            while (ok && *p && *q) {
                if (*q == '{') {
                    const char *end = strchr(p, '/');
                    size_t len = end ? (size_t)(end - p) : strlen(p);
                    snprintf(argbuf[n], sizeof argbuf[n], "%.*s", (int)len, p);
                    args[n] = argbuf[n];
                    n++;
                    p += len;
                    q = strchr(q, '}') + 1;
                } else if (*p == *q) {
                    p++;
                    q++;
                } else
                    ok = 0;
            }
            if (ok && !*p && !*q) {
                *n_args = n;
                return r;
            }
        }
    return NULL;
}

/* METHOD PATH?QUERY with BODY (NULL: none) and AUTH ("Bearer ..." or NULL). */
static call_result call(const char *method, const char *target, const char *body, const char *auth)
{
    char path[256];
    snprintf(path, sizeof path, "%s", target);
    api_param params[8];
    static char qbuf[256];
    size_t nq = 0;
    char *qs = strchr(path, '?');
    if (qs) {
        *qs++ = '\0';
        snprintf(qbuf, sizeof qbuf, "%s", qs);
        for (char *kv = strtok(qbuf, "&"); kv && nq < 8; kv = strtok(NULL, "&")) {
            char *eq = strchr(kv, '=');
            if (eq)
                *eq++ = '\0';
            params[nq++] = (api_param){kv, eq ? eq : ""};
        }
    }
    const char *args[4];
    size_t n_args = 0;
    call_result r = {0};
    const api_route *route = find_route(method, path, args, &n_args);
    if (!route) {
        r.status = 404;
        return r;
    }
    api_request rq = {.method = method, .path = path, .path_args = args, .n_path_args = n_args,
                      .query = params, .n_query = nq, .body = body, .body_len = body ? strlen(body) : 0,
                      .authorization = auth};
    api_response rs = {0};
    route->handler(&rq, &rs);
    r.status = rs.status ? rs.status : 200;
    r.body = rs.body;
    r.type = rs.content_type;
    if (!rs.content_type && rs.body)
        r.json = cJSON_Parse(rs.body);
    return r;
}

static void done_with(call_result *r)
{
    free(r->body);
    cJSON_Delete(r->json);
}

static const char *error_code(const call_result *r)
{
    cJSON *e = r->json ? cJSON_GetObjectItem(r->json, "error") : NULL;
    return e ? cJSON_GetStringValue(cJSON_GetObjectItem(e, "code")) : "";
}

/* Expects STATUS (and for errors, a body with an error code). */
static void expect(const char *method, const char *target, const char *body, const char *auth, int status,
                   const char *code)
{
    call_result r = call(method, target, body, auth);
    CHECK(r.status == status, "%s %s %s: status %d, want %d (%s)", method, target, body ? body : "", r.status, status,
          r.body ? r.body : "");
    if (code)
        CHECK(r.json && !strcmp(error_code(&r), code), "%s %s: error code \"%s\", want \"%s\" (%s)", method, target,
              error_code(&r), code, r.body ? r.body : "");
    done_with(&r);
}

#define AUTH "Bearer " TOKEN

/* ---- helpers ----------------------------------------------------------------------------- */

static uint64_t requests_total(live *L)
{
    uint64_t n = 0;
    for (int s = 0; s < FAKE_NSOURCES; s++)
        n += live_fake_stats(L, (fake_source)s).requests;
    return n;
}

static int wait_until(int (*cond)(op *), op *o)
{
    int64_t deadline = now_mono_ns() + WAIT_NS;
    while (!cond(o)) {
        if (now_mono_ns() > deadline)
            return -1;
        usleep(20 * 1000);
    }
    return 0;
}

static int snapshot_ready(op *o)
{
    (void)o;
    ops_snapshot s = {0};
    int ok = ops_current() && ops_read(ops_current(), &s) == 0;
    ops_snapshot_clear(&s);
    return ok;
}

/* Every token committed once, as the daemon's own snapshot says. */
static int first_pass_done(op *o)
{
    (void)o;
    ops_snapshot s = {0};
    int done = ops_current() && ops_read(ops_current(), &s) == 0 && s.committed >= N && s.in_flight_tokens == 0 &&
               s.tier[SCHED_HOT].refreshed + s.tier[SCHED_WARM].refreshed + s.tier[SCHED_COLD].refreshed == N;
    ops_snapshot_clear(&s);
    return done;
}

/* The value of series KEY ("name{labels}") in the /metrics text, NAN if absent. */
static double metric(const char *text, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = text; p && *p;) {
        if (!strncmp(p, key, n) && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return NAN;
}

/* ---- the checks -------------------------------------------------------------------------- */

static void check_metrics(op *o)
{
    call_result r = call("GET", "/metrics", NULL, NULL);
    CHECK(r.status == 200, "/metrics: %d", r.status);
    CHECK(r.type && !strncmp(r.type, "text/plain; version=0.0.4", 25), "/metrics content type %s", r.type);
    const char *t = r.body ? r.body : "";
    fake_source_stats jup = live_fake_stats(o->L, FAKE_JUPITER);
    double sent = metric(t, "tokencollector_source_requests_total{source=\"jupiter\"}");
    CHECK(sent == (double)jup.requests, "jupiter requests: /metrics %g, the fake served %llu", sent,
          (unsigned long long)jup.requests);
    CHECK(metric(t, "tokencollector_source_responses_total{source=\"jupiter\",outcome=\"ok\"}") == (double)jup.ok,
          "jupiter ok answers differ from the fake's");
    CHECK(metric(t, "tokencollector_source_breaker_state{source=\"helius\",state=\"closed\"}") == 1,
          "helius breaker not closed");
    CHECK(metric(t, "tokencollector_scheduler_tokens{tier=\"cold\"}") + metric(t, "tokencollector_scheduler_tokens{tier=\"warm\"}") +
                  metric(t, "tokencollector_scheduler_tokens{tier=\"hot\"}") == N,
          "tokens by tier do not add up to %d", N);
    CHECK(metric(t, "tokencollector_tokens_committed_total") >= N, "committed below %d", N);
    CHECK(metric(t, "tokencollector_source_request_duration_seconds_count{source=\"dexscreener\"}") ==
              (double)live_fake_stats(o->L, FAKE_DEXSCREENER).requests,
          "dexscreener's request histogram count differs from its requests");
    CHECK(strstr(t, "tokencollector_plugin_info{source=\"jupiter\",plugin=\"jupiter\",version=\"") != NULL,
          "no plugin_info for jupiter");
    CHECK(strstr(t, "tokencollector_build_info{version=\"") != NULL, "no build_info");
    CHECK(strstr(t, "le=\"+Inf\"") != NULL, "no histogram buckets");
    CHECK(strstr(t, "tokencollector_store_commit_duration_seconds_count") != NULL, "no store commit histogram");
    if (getenv("TC_DUMP_METRICS"))
        fputs(t, stderr);
    o->metrics_text = r.body ? xstrdup(r.body) : NULL;
    done_with(&r);

    r = call("GET", "/status.json", NULL, NULL);
    CHECK(r.status == 200 && r.json, "/status.json: %d", r.status);
    cJSON *src = r.json ? cJSON_GetObjectItem(r.json, "sources") : NULL;
    CHECK(cJSON_GetArraySize(src) == 3, "/status.json: %d sources", cJSON_GetArraySize(src));
    CHECK(r.json && cJSON_GetObjectItem(r.json, "recent_errors"), "/status.json: no recent_errors");
    done_with(&r);
    r = call("GET", "/", NULL, NULL);
    CHECK(r.status == 200 && r.body && strstr(r.body, "<script src=\"/status.js\">"), "/: not the page");
    done_with(&r);
    r = call("GET", "/status.js", NULL, NULL);
    CHECK(r.status == 200 && r.body && strstr(r.body, "parseMetrics"), "/status.js: not the script");
    done_with(&r);
    expect("GET", "/metrics?x=1", NULL, NULL, 400, "bad_parameter");
}

static void check_auth(void)
{
    api_admin_reset();
    expect("GET", "/api/admin/scheduler/status", NULL, AUTH, 404, "admin_disabled");
    char err[256];
    setenv("TC_ADMIN_TOKEN", TOKEN, 1);
    CHECK(api_admin_configure(NULL, err, sizeof err) == 0, "configure: %s", err);
    const char *routes[][2] = {{"GET", "/api/admin/scheduler/status"},
                               {"POST", "/api/admin/scheduler/pause"},
                               {"POST", "/api/admin/scheduler/resume"},
                               {"GET", "/api/admin/scheduler/recommendations"},
                               {"GET", "/api/admin/tokens"},
                               {"POST", "/api/admin/tokens"},
                               {"PUT", "/api/admin/tokens"},
                               {"PUT", "/api/admin/tokens/So11111111111111111111111111111111111111112"},
                               {"POST", "/api/admin/tokens/So11111111111111111111111111111111111111112/refresh"},
                               {"GET", "/api/admin/plugins"},
                               {"POST", "/api/admin/reload"},
                               {"POST", "/api/admin/plugins/jupiter/reload"}};
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        expect(routes[i][0], routes[i][1], NULL, NULL, 401, "unauthorized");
        expect(routes[i][0], routes[i][1], NULL, "Bearer wrong", 401, "unauthorized");
        expect(routes[i][0], routes[i][1], NULL, "Basic " TOKEN, 401, "unauthorized");
    }
}

static void check_reads(void)
{
    call_result r = call("GET", "/api/admin/scheduler/status", NULL, AUTH);
    CHECK(r.status == 200 && r.json && cJSON_GetObjectItem(r.json, "tiers"), "status: %d", r.status);
    /* `tokencollector status` prints that body as tables. */
    char *text = NULL, err[128];
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    CHECK(status_print(r.body ? r.body : "", mem, err, sizeof err) == 0, "status_print: %s", err);
    fclose(mem);
    CHECK(strstr(text, "scheduler: 60 tokens") && strstr(text, "first pass: 60 of 60 tokens answered") &&
              strstr(text, "\njupiter ") && strstr(text, "\ncold ") && strstr(text, "\nsource "),
          "status_print:\n%s", text);
    free(text);
    mem = open_memstream(&text, &len);
    CHECK(status_print("{\"x\":1}", mem, err, sizeof err) == -1, "status_print took a wrong body");
    fclose(mem);
    free(text);
    done_with(&r);
    expect("GET", "/api/admin/scheduler/status?verbose=1", NULL, AUTH, 400, "bad_parameter");
    r = call("GET", "/api/admin/scheduler/recommendations", NULL, AUTH);
    cJSON *tiers = r.json ? cJSON_GetObjectItem(r.json, "tiers") : NULL;
    CHECK(r.status == 200 && cJSON_GetArraySize(tiers) == 3, "recommendations: %d", r.status);
    done_with(&r);
    r = call("GET", "/api/admin/plugins", NULL, AUTH);
    cJSON *pl = r.json ? cJSON_GetObjectItem(r.json, "plugins") : NULL;
    CHECK(r.status == 200 && cJSON_GetArraySize(pl) == 3, "plugins: %d", r.status);
    cJSON *first = cJSON_GetArrayItem(pl, 0);
    CHECK(first && cJSON_GetStringValue(cJSON_GetObjectItem(first, "version")) &&
              cJSON_GetStringValue(cJSON_GetObjectItem(first, "abi")) &&
              cJSON_GetObjectItem(first, "loaded_at") && cJSON_GetStringValue(cJSON_GetObjectItem(first, "file")),
          "plugins: a member is missing");
    done_with(&r);
}

static int quiet_for_a_second(op *o)
{
    uint64_t before = requests_total(o->L);
    usleep(1000 * 1000);
    return requests_total(o->L) == before;
}

static void check_pause_resume(op *o)
{
    expect("POST", "/api/admin/scheduler/pause", "{\"source\":\"nope\"}", AUTH, 404, "unknown_source");
    expect("POST", "/api/admin/scheduler/pause", "{\"source\":5}", AUTH, 400, "bad_body");
    expect("POST", "/api/admin/scheduler/pause", "{\"src\":\"jupiter\"}", AUTH, 400, "bad_body");
    expect("POST", "/api/admin/scheduler/pause", "not json", AUTH, 400, "bad_json");
    expect("POST", "/api/admin/scheduler/pause", "[1]", AUTH, 400, "bad_body");
    expect("POST", "/api/admin/scheduler/resume", NULL, AUTH, 409, "conflict");
    expect("POST", "/api/admin/scheduler/pause", "{\"source\":\"dexscreener\"}", AUTH, 200, NULL);
    expect("POST", "/api/admin/scheduler/pause", "{\"source\":\"dexscreener\"}", AUTH, 409, "conflict");
    expect("POST", "/api/admin/scheduler/resume", "{\"source\":\"jupiter\"}", AUTH, 409, "conflict");
    expect("POST", "/api/admin/scheduler/resume", "{\"source\":\"dexscreener\"}", AUTH, 200, NULL);
    /* Everything: keep the sources busy (min_interval 1 s now through a
     * reload would be a change; refresh-now keeps one token going instead). */
    expect("POST", "/api/admin/scheduler/pause", "", AUTH, 200, NULL);
    expect("POST", "/api/admin/scheduler/pause", NULL, AUTH, 409, "conflict");
    expect("POST", "/api/admin/scheduler/resume", "{\"source\":\"jupiter\"}", AUTH, 409, "conflict");
    expect("POST", "/api/admin/tokens/" "%s/refresh", NULL, AUTH, 400, "bad_address");
    char path[128];
    snprintf(path, sizeof path, "/api/admin/tokens/%s/refresh", o->L->addrs[0]);
    expect("POST", path, NULL, AUTH, 409, "conflict"); /* paused */
    usleep(300 * 1000); /* what was on the wire finishes */
    CHECK(quiet_for_a_second(o), "requests went out while everything was paused");
    expect("POST", "/api/admin/scheduler/resume", NULL, AUTH, 200, NULL);
    expect("POST", "/api/admin/scheduler/resume", NULL, AUTH, 409, "conflict");
}

static void check_refresh(op *o)
{
    char path[160];
    snprintf(path, sizeof path, "/api/admin/tokens/%s/refresh", "So11111111111111111111111111111111111111112");
    expect("POST", path, NULL, AUTH, 404, "not_found");
    snprintf(path, sizeof path, "/api/admin/tokens/%s/refresh", o->L->addrs[3]);
    expect("POST", path, "{\"now\":true}", AUTH, 400, "bad_body");
    long long before = live_sql_int(o->L, "SELECT enrichment_attempts FROM tokens WHERE address = %Q", o->L->addrs[3]);
    fake_source_stats jup0 = live_fake_stats(o->L, FAKE_JUPITER);
    int64_t t0 = now_mono_ns();
    call_result r = call("POST", path, NULL, AUTH);
    CHECK(r.status == 202, "refresh: %d %s", r.status, r.body ? r.body : "");
    done_with(&r);
    /* Jupiter's limiter: 27/s, burst 4; the fake answers at once. */
    while (live_fake_stats(o->L, FAKE_JUPITER).requests == jup0.requests && now_mono_ns() - t0 < 2 * NS_PER_S)
        usleep(2000);
    double took = (double)(now_mono_ns() - t0) / 1e9;
    CHECK(took < 1.0 / 27 + 0.25, "refresh now: jupiter asked after %.3f s (limiter interval %.3f s)", took, 1.0 / 27);
    int64_t deadline = now_mono_ns() + 3 * NS_PER_S;
    while (live_sql_int(o->L, "SELECT enrichment_attempts FROM tokens WHERE address = %Q", o->L->addrs[3]) == before &&
           now_mono_ns() < deadline)
        usleep(10 * 1000);
    CHECK(live_sql_int(o->L, "SELECT enrichment_attempts FROM tokens WHERE address = %Q", o->L->addrs[3]) == before + 1,
          "refresh now: the token was not committed again");
}

static void check_tokens(op *o)
{
    expect("GET", "/api/admin/tokens?limit=0", NULL, AUTH, 400, "bad_parameter");
    expect("GET", "/api/admin/tokens?limit=5000", NULL, AUTH, 400, "bad_parameter");
    expect("GET", "/api/admin/tokens?sort=name", NULL, AUTH, 400, "bad_parameter");
    expect("GET", "/api/admin/tokens?order=up", NULL, AUTH, 400, "bad_parameter");
    expect("GET", "/api/admin/tokens?tier=lukewarm", NULL, AUTH, 400, "bad_parameter");
    expect("GET", "/api/admin/tokens?page=2", NULL, AUTH, 400, "bad_parameter");
    call_result r = call("GET", "/api/admin/tokens?limit=7&offset=2&sort=address&order=asc", NULL, AUTH);
    cJSON *list = r.json ? cJSON_GetObjectItem(r.json, "tokens") : NULL;
    cJSON *pg = r.json ? cJSON_GetObjectItem(r.json, "pagination") : NULL;
    CHECK(r.status == 200 && cJSON_GetArraySize(list) == 7, "tokens: %d, %d rows", r.status, cJSON_GetArraySize(list));
    CHECK(pg && cJSON_GetObjectItem(pg, "total")->valueint == N && cJSON_IsTrue(cJSON_GetObjectItem(pg, "has_more")),
          "tokens: pagination");
    for (int i = 1; i < cJSON_GetArraySize(list); i++)
        CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(list, i - 1), "address")),
                     cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(list, i), "address"))) < 0,
              "tokens: not in address order");
    done_with(&r);

    const char *a = o->L->addrs[5], *b = o->L->addrs[6];
    char path[128], body[512];
    snprintf(path, sizeof path, "/api/admin/tokens/%s", a);
    expect("PUT", "/api/admin/tokens/not-an-address", "{\"priority\":1}", AUTH, 400, "bad_address");
    expect("PUT", "/api/admin/tokens/So11111111111111111111111111111111111111112", "{\"priority\":1}", AUTH, 404,
           "not_found");
    expect("PUT", path, "{}", AUTH, 400, "bad_body");
    expect("PUT", path, NULL, AUTH, 400, "bad_body");
    expect("PUT", path, "{\"priority\":\"high\"}", AUTH, 400, "bad_body");
    expect("PUT", path, "{\"priority\":5000}", AUTH, 400, "bad_body");
    expect("PUT", path, "{\"interval_s\":0}", AUTH, 400, "bad_body");
    expect("PUT", path, "{\"in_contest\":1}", AUTH, 400, "bad_body");
    expect("PUT", path, "{\"colour\":\"red\"}", AUTH, 400, "bad_body");
    r = call("PUT", path, "{\"priority\":900,\"interval_s\":42,\"in_contest\":true}", AUTH);
    cJSON *tok = r.json ? cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "tokens"), 0) : NULL;
    CHECK(r.status == 200 && tok, "PUT token: %d %s", r.status, r.body ? r.body : "");
    CHECK(tok && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(tok, "tier")), "hot") &&
              cJSON_GetObjectItem(tok, "interval_pinned_s")->valuedouble == 42 &&
              cJSON_IsTrue(cJSON_GetObjectItem(tok, "priority_pinned")),
          "PUT token: not applied (%s)", r.body ? r.body : "");
    done_with(&r);
    CHECK(live_sql_int(o->L, "SELECT in_contest FROM tokens WHERE address = %Q", a) == 1, "in_contest not stored");
    snprintf(body, sizeof body, "{\"tokens\":[{\"address\":\"%s\",\"priority\":null},{\"address\":\"%s\"}]}", a, b);
    expect("PUT", "/api/admin/tokens", body, AUTH, 400, "bad_body"); /* b has nothing to change */
    snprintf(body, sizeof body, "{\"tokens\":[{\"address\":\"%s\",\"priority\":null},{\"address\":\"%s\",\"priority\":1}]}", a,
             a);
    expect("PUT", "/api/admin/tokens", body, AUTH, 400, "bad_body"); /* twice */
    expect("PUT", "/api/admin/tokens", "{\"tokens\":[]}", AUTH, 400, "bad_body");
    snprintf(body, sizeof body,
             "{\"tokens\":[{\"address\":\"%s\",\"priority\":null,\"in_contest\":false},{\"address\":\"%s\",\"interval_s\":600}]}",
             a, b);
    r = call("PUT", "/api/admin/tokens", body, AUTH);
    CHECK(r.status == 200 && cJSON_GetObjectItem(r.json, "updated")->valueint == 2, "bulk PUT: %d %s", r.status,
          r.body ? r.body : "");
    done_with(&r);
    CHECK(live_sql_int(o->L, "SELECT in_contest FROM tokens WHERE address = %Q", a) == 0, "in_contest not cleared");

    expect("POST", "/api/admin/tokens", "{\"addresses\":[\"nope\",\"So11111111111111111111111111111111111111112\"]}",
           AUTH, 400, "bad_address");
    expect("POST", "/api/admin/tokens", "{\"addresses\":[]}", AUTH, 400, "bad_body");
    expect("POST", "/api/admin/tokens", "{\"address\":\"x\"}", AUTH, 400, "bad_body");
    const char *add = "{\"addresses\":[\"So11111111111111111111111111111111111111112\","
                      "\"So11111111111111111111111111111111111111112\",\"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v\"]}";
    r = call("POST", "/api/admin/tokens", add, AUTH);
    CHECK(r.status == 201 && cJSON_GetObjectItem(r.json, "added")->valueint == 2, "add: %d %s", r.status,
          r.body ? r.body : "");
    done_with(&r);
    r = call("POST", "/api/admin/tokens", add, AUTH);
    CHECK(r.status == 200 && cJSON_GetObjectItem(r.json, "added")->valueint == 0 &&
              cJSON_GetObjectItem(r.json, "already_known")->valueint == 2,
          "add again: %d %s", r.status, r.body ? r.body : "");
    done_with(&r);
}

static void check_reloads(op *o)
{
    call_result r = call("POST", "/api/admin/reload", NULL, AUTH);
    CHECK(r.status == 200 && cJSON_IsTrue(cJSON_GetObjectItem(r.json, "applied")), "reload: %d %s", r.status,
          r.body ? r.body : "");
    done_with(&r);
    expect("POST", "/api/admin/reload", "{\"force\":true}", AUTH, 400, "bad_body");
    /* A broken file: refused, with the error. */
    FILE *f = fopen(o->L->ini, "a");
    fputs("\n[core]\nbatch_size = lots\n", f);
    fclose(f);
    r = call("POST", "/api/admin/reload", NULL, AUTH);
    cJSON *e = r.json ? cJSON_GetObjectItem(r.json, "error") : NULL;
    CHECK(r.status == 409 && e && cJSON_GetArraySize(cJSON_GetObjectItem(e, "errors")) >= 1 &&
              strstr(cJSON_GetStringValue(cJSON_GetObjectItem(e, "message")), "batch_size"),
          "broken reload: %d %s", r.status, r.body ? r.body : "");
    done_with(&r);
    expect("POST", "/api/admin/plugins/nope/reload", NULL, AUTH, 404, "unknown_source");
    r = call("POST", "/api/admin/plugins/helius/reload", NULL, AUTH);
    CHECK(r.status == 200 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "source")), "helius"),
          "plugin reload: %d %s", r.status, r.body ? r.body : "");
    done_with(&r);
}

static void *operate(void *arg)
{
    op *o = arg;
    if (wait_until(snapshot_ready, o) != 0 || wait_until(first_pass_done, o) != 0)
        snprintf(o->failure, sizeof o->failure, "timed out waiting for the first pass");
    else {
        usleep(300 * 1000); /* a snapshot after the last commit */
        check_metrics(o);
        check_auth();
        check_reads();
        check_pause_resume(o);
        check_refresh(o);
        check_tokens(o);
        check_reloads(o);
    }
    live_signal_daemon(o->L, SIGTERM);
    return NULL;
}

static void promtool_accepts(const char *text)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        fprintf(stderr, "promtool not installed: the format check is left to tests/e2e/ops.sh\n");
        return;
    }
    char path[] = "/tmp/tc-metrics-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
    int rc = system(cmd);
    unlink(path);
    assert_int_equal(rc, 0);
}

static void operations_api_against_the_running_daemon(void **state)
{
    (void)state;
    live L;
    live_start(&L, NULL);
    live_config(&L, "shutdown_grace_s = 2", NULL, NULL, LIVE_SCHED_HOURLY);
    live_import(&L, N, 41);
    unsetenv("TC_ADMIN_TOKEN");
    op o = {.L = &L};
    the = &o;
    int rc = live_run_daemon(&L, NULL, operate, &o);
    if (o.failure[0])
        fail_msg("%s", o.failure);
    assert_int_equal(rc, 0);
    assert_null(ops_current()); /* detached when the daemon stopped */
    call_result r = call("GET", "/metrics", NULL, NULL);
    assert_int_equal(r.status, 503);
    done_with(&r);
    assert_non_null(o.metrics_text);
    promtool_accepts(o.metrics_text);
    free(o.metrics_text);
    api_admin_reset();
    live_stop(&L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(operations_api_against_the_running_daemon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
