/* Metrics: histogram accuracy against exact quantiles, counter scopes and
 * roll-ups, interval rolls, the log lines and the by-name visit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

static uint64_t rng_next(uint64_t *st)
{
    uint64_t z = (*st += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *st)
{
    return (double)(rng_next(st) >> 11) / 9007199254740992.0;
}

static void buckets_tile_the_range(void **state)
{
    (void)state;
    int64_t prev_hi = 0;
    for (int b = 0; b < HIST_BUCKETS; b++) {
        int64_t lo, hi;
        hist_bucket_bounds(b, &lo, &hi);
        assert_int_equal(lo, prev_hi); /* contiguous, no gaps or overlaps */
        assert_true(hi > lo);
        assert_int_equal(hist_bucket_of(lo), b);
        assert_int_equal(hist_bucket_of(hi - 1), b);
        /* Width at most 1/8 of the lower bound above the linear part. */
        if (b >= HIST_LINEAR)
            assert_true((hi - lo) * 8 <= lo);
        prev_hi = hi;
    }
    assert_int_equal(prev_hi, INT64_C(1) << 40);
    assert_int_equal(hist_bucket_of(INT64_C(1) << 50), HIST_BUCKETS - 1);
    assert_int_equal(hist_bucket_of(-5), 0);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The documented bound: within 1/16 of the exact nearest-rank value, or
 * 1 us (ns are truncated to us). */
static void check_quantiles(const char *what, int64_t *v, size_t n)
{
    metrics_hist h;
    hist_reset(&h);
    for (size_t i = 0; i < n; i++)
        hist_add(&h, v[i]);
    qsort(v, n, sizeof *v, cmp_i64);
    const double qs[] = {0.5, 0.95, 0.99, 0.0, 1.0};
    double worst = 0;
    for (size_t k = 0; k < sizeof qs / sizeof *qs; k++) {
        size_t rank = (size_t)ceil(qs[k] * (double)n);
        int64_t exact = v[(rank ? rank : 1) - 1];
        int64_t est = hist_quantile_ns(&h, qs[k]);
        double err = fabs((double)(est - exact));
        assert_true(err <= (double)exact / 16.0 + 1000.0);
        if (exact > 16000)
            worst = fmax(worst, err / (double)exact);
    }
    print_message("%-12s n=%zu p50=%.3fms p95=%.3fms worst relative error %.2f%%\n", what, n,
                  (double)hist_quantile_ns(&h, 0.5) / 1e6, (double)hist_quantile_ns(&h, 0.95) / 1e6, 100 * worst);
    assert_int_equal(h.n, n);
    assert_int_equal(h.min_us, v[0] / 1000);
    assert_int_equal(h.max_us, v[n - 1] / 1000);
}

static void quantiles_within_documented_accuracy(void **state)
{
    (void)state;
    enum { N = 20000 };
    int64_t *v = malloc(N * sizeof *v);
    uint64_t rng = 1;
    /* Uniform 1 ms .. 10 s. */
    for (size_t i = 0; i < N; i++)
        v[i] = NS_PER_MS + (int64_t)(rng_unit(&rng) * 10e9);
    check_quantiles("uniform", v, N);
    /* Log-uniform 10 us .. 100 s: every octave. */
    for (size_t i = 0; i < N; i++)
        v[i] = (int64_t)(1e4 * pow(10, 7 * rng_unit(&rng)));
    check_quantiles("log-uniform", v, N);
    /* Bimodal: fast answers and timeouts. */
    for (size_t i = 0; i < N; i++)
        v[i] = rng_next(&rng) % 10 ? (int64_t)(200e6 + 100e6 * rng_unit(&rng)) : (int64_t)(15e9 + 1e9 * rng_unit(&rng));
    check_quantiles("bimodal", v, N);
    /* Sub-16 us values are exact to the us. */
    for (size_t i = 0; i < N; i++)
        v[i] = (int64_t)(rng_next(&rng) % 16000);
    check_quantiles("tiny", v, N);
    /* Constant: exact (min/max clamp). */
    for (size_t i = 0; i < 100; i++)
        v[i] = 250 * NS_PER_MS;
    check_quantiles("constant", v, 100);
    metrics_hist h;
    hist_reset(&h);
    hist_add(&h, 250 * NS_PER_MS);
    assert_int_equal(hist_quantile_ns(&h, 0.95), 250 * NS_PER_MS);
    hist_reset(&h);
    assert_int_equal(hist_quantile_ns(&h, 0.5), 0);
    free(v);
}

static void hist_merge_equals_combined(void **state)
{
    (void)state;
    metrics_hist a, b, all;
    hist_reset(&a);
    hist_reset(&b);
    hist_reset(&all);
    uint64_t rng = 9;
    for (int i = 0; i < 5000; i++) {
        int64_t x = (int64_t)(rng_next(&rng) % (uint64_t)(5 * NS_PER_S));
        hist_add(i % 3 ? &a : &b, x);
        hist_add(&all, x);
    }
    hist_merge(&a, &b);
    assert_memory_equal(a.bucket, all.bucket, sizeof a.bucket);
    assert_int_equal(a.n, all.n);
    assert_int_equal(a.min_us, all.min_us);
    assert_int_equal(a.max_us, all.max_us);
    assert_int_equal(hist_quantile_ns(&a, 0.95), hist_quantile_ns(&all, 0.95));
}

static const char *const SOURCES[] = {"jupiter", "helius", "dexscreener"};

static void counters_scopes_and_rollup(void **state)
{
    (void)state;
    metrics *m = metrics_new(SOURCES, 3, 0);
    metrics_count(m, 0, MC_REQUESTS, 3);
    metrics_count(m, 2, MC_REQUESTS, 10);
    metrics_count(m, 2, MC_THROTTLED, 1);
    metrics_count(m, 1, MC_FAILURES, 2);
    metrics_count(m, 0, MC_TOKENS, 300);
    metrics_count(m, 2, MC_TOKENS, 290);
    metrics_count(m, METRICS_ALL, MC_TOKENS, 300); /* committed */
    metrics_count(m, METRICS_ALL, MC_BATCHES, 6);
    const metrics_scope *all = metrics_scope_const(m, METRICS_ALL);
    assert_string_equal(all->name, "all");
    assert_int_equal(all->cur.c[MC_REQUESTS], 13); /* rolled up */
    assert_int_equal(all->cur.c[MC_THROTTLED], 1);
    assert_int_equal(all->cur.c[MC_FAILURES], 2);
    assert_int_equal(all->cur.c[MC_TOKENS], 300); /* not summed over sources */
    assert_int_equal(metrics_scope_const(m, 2)->cur.c[MC_TOKENS], 290);
    /* Roll: the interval becomes "last", counting starts again; totals stay. */
    metrics_roll(m, 60 * NS_PER_S);
    metrics_count(m, 0, MC_REQUESTS, 1);
    assert_int_equal(metrics_scope_const(m, 0)->last.c[MC_REQUESTS], 3);
    assert_int_equal(metrics_scope_const(m, 0)->cur.c[MC_REQUESTS], 1);
    assert_int_equal(metrics_scope_const(m, 0)->total[MC_REQUESTS], 4);
    assert_int_equal(all->total[MC_REQUESTS], 14);
    metrics_roll(m, 120 * NS_PER_S);
    assert_int_equal(metrics_scope_const(m, 0)->last.c[MC_REQUESTS], 1);
    assert_int_equal(metrics_scope_const(m, 2)->last.c[MC_REQUESTS], 0);
    assert_int_equal(metrics_scope_const(m, 2)->total[MC_REQUESTS], 10);
    assert_string_equal(metrics_counter_name(MC_THROTTLED), "throttled");
    metrics_free(m);
}

static void log_lines(void **state)
{
    (void)state;
    metrics *m = metrics_new(SOURCES, 3, 0);
    for (int i = 0; i < 30; i++) {
        metrics_count(m, 0, MC_REQUESTS, 1);
        metrics_count(m, 0, MC_TOKENS, 100);
        /* 20 at 400 ms, 10 at 2 s: p50 400 ms, p95 2 s. */
        metrics_latency(m, 0, i < 20 ? 400 * NS_PER_MS : 2 * NS_PER_S);
    }
    metrics_count(m, 0, MC_THROTTLED, 2);
    metrics_count(m, METRICS_ALL, MC_TOKENS, 3000);
    metrics_count(m, METRICS_ALL, MC_BATCHES, 30);
    metrics_latency(m, METRICS_ALL, 3 * NS_PER_S);
    for (int i = 0; i < 100; i++)
        metrics_lag(m, i < 90 ? 0 : 5 * NS_PER_S);
    metrics_gauges g = {.queue_depth = 15371, .in_flight = 100, .due = 40, .lag_max_ns = 3 * NS_PER_S,
                        .capacity = 45, .demand = 120, .stretch = {1, 3.2, 3.2}};
    metrics_set_gauges(m, &g);
    metrics_roll(m, 60 * NS_PER_S);
    char line[512];
    int n = metrics_format_line(m, 0, line, sizeof line);
    print_message("[jupiter] %s\n", line);
    assert_int_equal(n, (int)strlen(line));
    unsigned long long tokens, requests, failures, t429;
    double tok_rate;
    assert_int_equal(sscanf(line, "60s: tokens=%llu (%lf/s) requests=%llu (%*f/s) failures=%llu 429s=%llu", &tokens,
                            &tok_rate, &requests, &failures, &t429),
                     5);
    assert_int_equal(tokens, 3000);
    assert_float_equal(tok_rate, 50.0, 1e-9);
    assert_int_equal(requests, 30);
    assert_int_equal(failures, 0);
    assert_int_equal(t429, 2);
    /* 400 ms and 2 s come out within the histogram's 1/16. */
    const char *p50 = strstr(line, "p50="), *p95 = strstr(line, "p95=");
    assert_non_null(p50);
    assert_non_null(p95);
    long ms50 = strtol(p50 + 4, NULL, 10), ms95 = strtol(p95 + 4, NULL, 10);
    assert_true(labs(ms50 - 400) <= 25);
    assert_true(labs(ms95 - 2000) <= 125);
    n = metrics_format_line(m, METRICS_ALL, line, sizeof line);
    print_message("[all] %s\n", line);
    assert_non_null(strstr(line, "tokens=3000 (50.0/s)"));
    assert_non_null(strstr(line, "batches=30"));
    assert_non_null(strstr(line, "queue=15371 due=40 overdue_max=3000ms in_flight=100"));
    assert_non_null(strstr(line, "capacity=45.0/s demand=120.0/s stretch=1.00/3.20/3.20"));
    const char *lag = strstr(line, "lag p95=");
    assert_non_null(lag);
    assert_true(labs(strtol(lag + 8, NULL, 10) - 5000) <= 5000 / 16 + 1);
    /* A short buffer truncates safely and reports the length needed. */
    char small[16];
    int need = metrics_format_line(m, METRICS_ALL, small, sizeof small);
    assert_int_equal(need, n);
    assert_int_equal(strlen(small), sizeof small - 1);
    /* The FILE* form: one line per source, then the overall one. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    metrics_write(m, f);
    fclose(f);
    int lines = 0;
    for (char *c = buf; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 4);
    assert_true(strncmp(buf, "[jupiter] 60s: ", 15) == 0);
    assert_non_null(strstr(buf, "\n[all] 60s: "));
    free(buf);
    metrics_free(m);
}

typedef struct visit_acc {
    int n;
    double jup_requests, all_requests, dex_p95, queue;
    int kinds_ok;
} visit_acc;

static void visit_cb(void *ctx, const char *scope, const char *name, const char *kind, double value)
{
    visit_acc *a = ctx;
    a->n++;
    if (strcmp(kind, "counter") && strcmp(kind, "gauge"))
        a->kinds_ok = 0;
    if (!strcmp(scope, "jupiter") && !strcmp(name, "requests"))
        a->jup_requests = value;
    if (!strcmp(scope, "all") && !strcmp(name, "requests"))
        a->all_requests = value;
    if (!strcmp(scope, "dexscreener") && !strcmp(name, "latency_p95_seconds"))
        a->dex_p95 = value;
    if (!strcmp(scope, "all") && !strcmp(name, "queue_depth"))
        a->queue = value;
}

static void visit_by_name(void **state)
{
    (void)state;
    metrics *m = metrics_new(SOURCES, 3, 0);
    metrics_count(m, 0, MC_REQUESTS, 5);
    metrics_count(m, 2, MC_REQUESTS, 7);
    for (int i = 0; i < 100; i++)
        metrics_latency(m, 2, 300 * NS_PER_MS);
    metrics_gauges g = {.queue_depth = 123};
    metrics_set_gauges(m, &g);
    metrics_roll(m, 10 * NS_PER_S);
    metrics_count(m, 0, MC_REQUESTS, 1); /* totals include the open interval */
    /* An endpoint on another thread reads a copy. */
    metrics *copy = NULL;
    metrics_copy(&copy, m);
    metrics_count(m, 0, MC_REQUESTS, 100);
    visit_acc a = {.kinds_ok = 1};
    metrics_visit(copy, visit_cb, &a);
    assert_true(a.kinds_ok);
    /* 4 scopes x (6 counters + 2 quantiles) + 9 overall gauges + 3 stretches. */
    assert_int_equal(a.n, 4 * 8 + 9 + SCHED_TIERS);
    assert_float_equal(a.jup_requests, 6, 0);
    assert_float_equal(a.all_requests, 13, 0);
    assert_float_equal(a.dex_p95, 0.3, 0.3 / 16);
    assert_float_equal(a.queue, 123, 0);
    metrics_copy(&copy, m); /* reuses the allocation */
    a = (visit_acc){.kinds_ok = 1};
    metrics_visit(copy, visit_cb, &a);
    assert_float_equal(a.jup_requests, 106, 0);
    metrics_free(copy);
    metrics_free(m);
}

/* The cumulative histograms of /metrics: a value on a bound counts in that
 * bucket (Prometheus' le is inclusive), above the last one in +Inf; the
 * timers land in their scopes and only grow across rolls. */
static void cumulative_histograms(void **state)
{
    (void)state;
    metrics_cum h = {0};
    cum_add(&h, 1000000);          /* 1 ms: the first bound */
    cum_add(&h, 1000001);          /* just above: the next */
    cum_add(&h, -5);               /* as 0 */
    cum_add(&h, 3600 * NS_PER_S);  /* above 600 s */
    assert_int_equal(h.bucket[0], 2);
    assert_int_equal(h.bucket[1], 1);
    assert_int_equal(h.bucket[METRICS_BOUNDS], 1);
    assert_int_equal(h.n, 4);
    assert_float_equal(h.sum_s, 3600.002000001, 1e-9);
    const char *names[] = {"a", "b"};
    metrics *m = metrics_new(names, 2, 0);
    metrics_latency(m, 1, 30 * NS_PER_MS);
    metrics_latency(m, METRICS_ALL, 2 * NS_PER_S);
    metrics_lag(m, 5 * NS_PER_S);
    metrics_time(m, 0, MT_LIMITER_WAIT, 0);
    metrics_time(m, METRICS_ALL, MT_STORE_COMMIT, 4 * NS_PER_MS);
    metrics_store_error(m, MS_CLAIM);
    metrics_roll(m, NS_PER_S);
    metrics_roll(m, 2 * NS_PER_S);
    assert_int_equal(metrics_scope_const(m, 1)->timer[MT_REQUEST].n, 1);
    assert_int_equal(metrics_scope_const(m, 0)->timer[MT_LIMITER_WAIT].bucket[0], 1);
    const metrics_scope *all = metrics_scope_const(m, METRICS_ALL);
    assert_int_equal(all->timer[MT_BATCH].n, 1);
    assert_int_equal(all->timer[MT_LAG].n, 1);
    assert_int_equal(all->timer[MT_STORE_COMMIT].bucket[2], 1); /* (2.5, 5] ms */
    assert_int_equal(m->store_errors[MS_CLAIM], 1);
    assert_string_equal(metrics_store_op_name(MS_SCAN), "scan");
    metrics *copy = NULL;
    metrics_copy(&copy, m);
    assert_int_equal(metrics_scope_const(copy, METRICS_ALL)->timer[MT_LAG].n, 1);
    metrics_free(copy);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buckets_tile_the_range),
        cmocka_unit_test(quantiles_within_documented_accuracy),
        cmocka_unit_test(hist_merge_equals_combined),
        cmocka_unit_test(counters_scopes_and_rollup),
        cmocka_unit_test(log_lines),
        cmocka_unit_test(visit_by_name),
        cmocka_unit_test(cumulative_histograms),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
