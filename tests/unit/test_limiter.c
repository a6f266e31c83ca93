/* Limiter properties with an injected clock: no sleeping, no real time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "limiter.h"
#include "util.h"

/* Greedy client: asks again the instant the limiter allows, with random extra
 * delays, and records grant times. */
static size_t run_greedy(limiter *l, int64_t start, int64_t duration, int64_t *grants, size_t max,
                         unsigned seed)
{
    int64_t now = start;
    size_t n = 0;
    srand(seed);
    while (now < start + duration && n < max) {
        int64_t wait = limiter_wait_ns(l, now);
        if (wait > 0) {
            now += wait;
            continue;
        }
        limiter_take(l, now);
        grants[n++] = now;
        if (rand() % 4 == 0)
            now += (int64_t)(rand() % 50) * NS_PER_MS;
    }
    return n;
}

/* Max grants in any window [t, t+w) over sorted grant times. */
static size_t max_in_window(const int64_t *g, size_t n, int64_t w)
{
    size_t best = 0, lo = 0;
    for (size_t hi = 0; hi < n; hi++) {
        while (g[hi] - g[lo] >= w)
            lo++;
        if (hi - lo + 1 > best)
            best = hi - lo + 1;
    }
    return best;
}

static void window_bound_holds(void **state)
{
    (void)state;
    /* DexScreener-like: 290/min, burst 5, against a 60 s window. */
    limiter l;
    limiter_init(&l, "t", 290.0 / 60.0, 5, 0);
    static int64_t g[20000];
    size_t n = run_greedy(&l, 0, 600 * NS_PER_S, g, 20000, 1);
    for (int64_t w = NS_PER_S; w <= 60 * NS_PER_S; w += 7 * NS_PER_S) {
        double bound = 290.0 / 60.0 * (double)w / 1e9 + 5 + 1;
        assert_true((double)max_in_window(g, n, w) <= bound);
    }
    /* A 60 s sliding window of 300 is never exceeded. */
    assert_true(max_in_window(g, n, 60 * NS_PER_S) <= 295);
    /* Long run: at least 99.9% of what the limit allows. */
    double allowed = 5 + 290.0 / 60.0 * 600.0;
    assert_true((double)n >= 0.999 * allowed - 1);
    limiter_free(&l);
}

static void burst_then_rate(void **state)
{
    (void)state;
    limiter l;
    limiter_init(&l, "t", 2.0, 3, 1000);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(limiter_wait_ns(&l, 1000), 0);
        limiter_take(&l, 1000);
    }
    /* The fourth waits one emission interval (0.5 s). */
    assert_int_equal(limiter_wait_ns(&l, 1000), 500 * NS_PER_MS);
    limiter_free(&l);
}

static void pause_blocks_until_retry_after(void **state)
{
    (void)state;
    limiter l;
    limiter_init(&l, "t", 100.0, 10, 0);
    int64_t t429 = 5 * NS_PER_S;
    limiter_pause(&l, t429, 7 * NS_PER_S);
    /* Nothing before t + Retry-After, whatever the burst. */
    for (int64_t t = t429; t < t429 + 7 * NS_PER_S; t += 100 * NS_PER_MS)
        assert_true(limiter_wait_ns(&l, t) > 0);
    int64_t resume = t429 + 7 * NS_PER_S;
    assert_int_equal(limiter_wait_ns(&l, resume), 0);
    limiter_take(&l, resume);
    /* And no burst right after the pause: the next waits a full interval. */
    assert_int_equal(limiter_wait_ns(&l, resume), 10 * NS_PER_MS);
    assert_int_equal(l.pauses, 1);
    limiter_free(&l);
}

static void wait_does_not_consume(void **state)
{
    (void)state;
    limiter l;
    limiter_init(&l, "t", 1.0, 1, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(limiter_wait_ns(&l, 0), 0);
    limiter_take(&l, 0);
    assert_int_equal(limiter_wait_ns(&l, 0), NS_PER_S);
    assert_int_equal(l.grants, 1);
    limiter_free(&l);
}

static void adaptive_halves_on_429_and_recovers(void **state)
{
    (void)state;
    limiter l;
    limiter_init(&l, "t", 10.0, 1, 0);
    limiter_set_adaptive(&l, 1, 0);
    limiter_throttled(&l, NS_PER_S);
    assert_true(l.rate == 5.0);
    limiter_throttled(&l, NS_PER_S);
    assert_true(l.rate == 2.5);
    /* Answers within one clean window do not raise it yet. */
    limiter_answered(&l, NS_PER_S + LIMITER_ADAPT_WINDOW_NS - 1);
    assert_true(l.rate == 2.5);
    /* Each full clean window adds 5% of the configured rate... */
    int64_t t = NS_PER_S;
    for (int i = 0; i < 200; i++) {
        t += LIMITER_ADAPT_WINDOW_NS;
        limiter_answered(&l, t);
        assert_true(l.rate <= 10.0); /* ...and never goes above it. */
    }
    assert_true(l.rate == 10.0);
    assert_int_equal(l.decreases, 2);
    /* Floor: 1% of the configured rate, however many 429s. */
    for (int i = 0; i < 50; i++)
        limiter_throttled(&l, t);
    assert_true(l.rate >= 0.1 - 1e-12);
    limiter_free(&l);
}

static void non_adaptive_rate_is_fixed(void **state)
{
    (void)state;
    limiter l;
    limiter_init(&l, "t", 10.0, 1, 0);
    limiter_throttled(&l, NS_PER_S);
    limiter_answered(&l, 100 * NS_PER_S);
    assert_true(l.rate == 10.0);
    limiter_free(&l);
}

/* Adaptive mode under a greedy client still never exceeds the configured
 * rate in any window, across decreases and recoveries. */
static void adaptive_never_exceeds_configured(void **state)
{
    (void)state;
    limiter l;
    limiter_init(&l, "t", 20.0, 2, 0);
    limiter_set_adaptive(&l, 1, 0);
    static int64_t g[20000];
    size_t n = 0;
    int64_t now = 0;
    while (now < 300 * NS_PER_S && n < 20000) {
        int64_t wait = limiter_wait_ns(&l, now);
        if (wait > 0) {
            now += wait;
            continue;
        }
        limiter_take(&l, now);
        g[n++] = now;
        if (n % 700 == 0)
            limiter_throttled(&l, now);
        else
            limiter_answered(&l, now);
    }
    assert_true(l.decreases > 0 && l.increases > 0);
    for (int64_t w = NS_PER_S; w <= 30 * NS_PER_S; w += 3 * NS_PER_S)
        assert_true((double)max_in_window(g, n, w) <= 20.0 * (double)w / 1e9 + 2 + 1);
    limiter_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(window_bound_holds),
        cmocka_unit_test(burst_then_rate),
        cmocka_unit_test(pause_blocks_until_retry_after),
        cmocka_unit_test(wait_does_not_consume),
        cmocka_unit_test(adaptive_halves_on_429_and_recovers),
        cmocka_unit_test(non_adaptive_rate_is_fixed),
        cmocka_unit_test(adaptive_never_exceeds_configured),
    };
    return cmocka_run_group_tests_name("limiter", tests, NULL, NULL);
}
