/* The in-flight controller (core/inflight.c) with an injected clock, and
 * with the real limiter (core/limiter.c) in a small simulation of one
 * source: latency rising and falling, a slow source, a 429 storm. The
 * property that matters: the limit follows rate x latency, and raising it
 * never lets more through than the limiter allows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inflight.h"
#include "limiter.h"
#include "util.h"

static void note_n(inflight *f, int n, int64_t latency_ns, int64_t *now, int64_t step_ns)
{
    for (int i = 0; i < n; i++) {
        inflight_note(f, latency_ns, *now);
        *now += step_ns;
    }
}

static void test_formula(void **state)
{
    (void)state;
    /* 45/s at 400 ms: 18 on the wire, 27 with the headroom. */
    assert_int_equal(inflight_target(45, 400 * NS_PER_MS, 64), 27);
    assert_int_equal(inflight_target(45, 100 * NS_PER_MS, 64), 7);  /* ceil(6.75) */
    assert_int_equal(inflight_target(45, 400 * NS_PER_MS, 10), 10); /* the user's maximum */
    assert_int_equal(inflight_target(0.5, 100 * NS_PER_MS, 64), 1); /* never below one */
    assert_int_equal(inflight_target(0, 100 * NS_PER_MS, 64), 64);  /* unlimited: the maximum */
    assert_int_equal(inflight_target(45, 0, 64), 1);
}

static void test_prior_then_samples(void **state)
{
    (void)state;
    inflight f;
    inflight_init(&f);
    int64_t now = 1000 * NS_PER_S;
    /* Nothing answered yet: sized for 1 s. */
    assert_int_equal(inflight_p90_ns(&f, now), INFLIGHT_PRIOR_NS);
    assert_int_equal(inflight_update(&f, 20, 64, now), 30);
    inflight_note(&f, 50 * NS_PER_MS, now);
    assert_int_equal(inflight_p90_ns(&f, now), 50 * NS_PER_MS);
    assert_int_equal(inflight_update(&f, 20, 64, now), 2); /* ceil(20 x 0.05 x 1.5) */
}

static void test_latency_rises_and_falls(void **state)
{
    (void)state;
    inflight f;
    inflight_init(&f);
    int64_t now = 1000 * NS_PER_S;
    note_n(&f, INFLIGHT_SAMPLES, 100 * NS_PER_MS, &now, 20 * NS_PER_MS);
    assert_int_equal(inflight_update(&f, 45, 64, now), 7);
    /* Rising: a tenth of the window slow moves the p90 at once. */
    note_n(&f, 6, 800 * NS_PER_MS, &now, 20 * NS_PER_MS);
    assert_int_equal(inflight_update(&f, 45, 64, now), 7);
    note_n(&f, 1, 800 * NS_PER_MS, &now, 20 * NS_PER_MS);
    assert_int_equal(inflight_p90_ns(&f, now), 800 * NS_PER_MS);
    assert_int_equal(inflight_update(&f, 45, 64, now), 54);
    /* Falling: once the slow answers are out of the window, the limit is back. */
    note_n(&f, INFLIGHT_SAMPLES - 6, 100 * NS_PER_MS, &now, 20 * NS_PER_MS);
    assert_int_equal(inflight_update(&f, 45, 64, now), 7);
    /* Or out of date: a few fast answers a minute after the slow ones win. */
    note_n(&f, INFLIGHT_SAMPLES, 900 * NS_PER_MS, &now, 20 * NS_PER_MS);
    assert_int_equal(inflight_update(&f, 45, 64, now), 61);
    now += INFLIGHT_SAMPLE_AGE_NS + NS_PER_S;
    note_n(&f, 3, 200 * NS_PER_MS, &now, 20 * NS_PER_MS);
    assert_int_equal(inflight_p90_ns(&f, now), 200 * NS_PER_MS);
    assert_int_equal(inflight_update(&f, 45, 64, now), 14);
    /* An idle source keeps what it last saw rather than the prior. */
    now += 10 * INFLIGHT_SAMPLE_AGE_NS;
    assert_int_equal(inflight_p90_ns(&f, now), 900 * NS_PER_MS);
}

/* ---- one source simulated: limiter, in-flight limit, latency ------------------- */

typedef struct sim {
    limiter lim;
    inflight flow;
    long max;
    int64_t latency_ns;   /* every answer takes this long */
    int throttle;         /* every answer is a 429 (Retry-After 1 s) */
    int64_t done_at[4096]; /* answer times of what is in flight */
    int in_flight;
    int64_t sent[20000];
    size_t n_sent;
    long max_limit_seen, min_limit_seen;
    int max_in_flight;
} sim;

static void sim_init(sim *s, double rate, double burst, long max, int64_t latency_ns, int64_t now)
{
    memset(s, 0, sizeof *s);
    limiter_init(&s->lim, "sim", rate, burst, now);
    inflight_init(&s->flow);
    s->max = max;
    s->latency_ns = latency_ns;
    s->min_limit_seen = max;
}

/* Runs the dispatch rule of source_runtime.c (send while in flight < limit
 * and the limiter says go) against answers after latency_ns, 1 ms steps,
 * with an endless queue, until END. */
static void sim_run(sim *s, int64_t now, int64_t end)
{
    for (; now < end; now += NS_PER_MS) {
        for (int i = 0; i < s->in_flight;) {
            if (s->done_at[i] > now) {
                i++;
                continue;
            }
            inflight_note(&s->flow, s->latency_ns, now);
            if (s->throttle) {
                limiter_pause(&s->lim, now, NS_PER_S);
                limiter_throttled(&s->lim, now);
            } else
                limiter_answered(&s->lim, now);
            s->done_at[i] = s->done_at[--s->in_flight];
        }
        long limit = inflight_update(&s->flow, limiter_rate(&s->lim, 1), s->max, now);
        if (limit > s->max_limit_seen)
            s->max_limit_seen = limit;
        if (limit < s->min_limit_seen)
            s->min_limit_seen = limit;
        while (s->in_flight < limit && limiter_wait_ns(&s->lim, now) == 0) {
            limiter_take(&s->lim, now);
            s->done_at[s->in_flight++] = now + s->latency_ns;
            if (s->n_sent < sizeof s->sent / sizeof *s->sent)
                s->sent[s->n_sent++] = now;
        }
        if (s->in_flight > s->max_in_flight)
            s->max_in_flight = s->in_flight;
    }
}

static size_t sent_between(const sim *s, int64_t from, int64_t to)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_sent; i++)
        n += s->sent[i] >= from && s->sent[i] < to;
    return n;
}

/* Most requests in any window of W ns. */
static size_t max_in_window(const sim *s, int64_t w)
{
    size_t best = 0, lo = 0;
    for (size_t hi = 0; hi < s->n_sent; hi++) {
        while (s->sent[hi] - s->sent[lo] >= w)
            lo++;
        if (hi - lo + 1 > best)
            best = hi - lo + 1;
    }
    return best;
}

static void test_sim_reaches_the_limiter_at_any_latency(void **state)
{
    (void)state;
    const int64_t lat[] = {10 * NS_PER_MS, 100 * NS_PER_MS, 400 * NS_PER_MS, 2 * NS_PER_S};
    for (size_t k = 0; k < sizeof lat / sizeof *lat; k++) {
        static sim s;
        int64_t t0 = 1000 * NS_PER_S;
        sim_init(&s, 45, 5, 256, lat[k], t0);
        sim_run(&s, t0, t0 + 20 * NS_PER_S);
        /* Past the first answers, the limiter is the bound: 45/s. */
        size_t late = sent_between(&s, t0 + 10 * NS_PER_S, t0 + 20 * NS_PER_S);
        assert_in_range(late, 448, 451);
        /* and never more than it allows in any second: rate + burst. */
        assert_true(max_in_window(&s, NS_PER_S) <= 50);
        assert_true(s.max_in_flight <= s.max_limit_seen);
        print_message("latency %lld ms: limit %ld, in flight at most %d, %zu sent in the last 10 s\n",
                      (long long)(lat[k] / NS_PER_MS), s.flow.limit, s.max_in_flight, late);
        limiter_free(&s.lim);
    }
}

static void test_sim_fixed_four_is_capped_by_latency(void **state)
{
    (void)state;
    /* What the old fixed concurrency = 4 did at 400 ms: 10 requests/s of 45. */
    static sim s;
    int64_t t0 = 1000 * NS_PER_S;
    sim_init(&s, 45, 5, 4, 400 * NS_PER_MS, t0);
    sim_run(&s, t0, t0 + 20 * NS_PER_S);
    assert_in_range(sent_between(&s, t0 + 10 * NS_PER_S, t0 + 20 * NS_PER_S), 99, 101);
    limiter_free(&s.lim);
}

static void test_sim_slow_source(void **state)
{
    (void)state;
    /* Helius-like: 2 requests/s, answers after 3 s: 9 in flight (2 x 3 x 1.5),
     * the limiter still the bound. */
    static sim s;
    int64_t t0 = 1000 * NS_PER_S;
    sim_init(&s, 2, 1, 64, 3 * NS_PER_S, t0);
    sim_run(&s, t0, t0 + 60 * NS_PER_S);
    assert_int_equal(s.flow.limit, 9);
    assert_in_range(sent_between(&s, t0 + 20 * NS_PER_S, t0 + 60 * NS_PER_S), 79, 81);
    assert_true(max_in_window(&s, NS_PER_S) <= 2);
    limiter_free(&s.lim);
}

static void test_sim_429_storm(void **state)
{
    (void)state;
    /* Adaptive limiter at 45/s, 200 ms answers, then every answer a 429:
     * the rate halves per 429 and the limit follows it down to 1; what is
     * sent never exceeds what the (lowered) limiter allows. */
    static sim s;
    int64_t t0 = 1000 * NS_PER_S;
    sim_init(&s, 45, 5, 64, 200 * NS_PER_MS, t0);
    limiter_set_adaptive(&s.lim, 1, t0);
    sim_run(&s, t0, t0 + 10 * NS_PER_S);
    long before = s.flow.limit;
    assert_int_equal(before, 14); /* ceil(45 x 0.2 x 1.5) */
    size_t sent_before = s.n_sent;
    s.throttle = 1;
    sim_run(&s, t0 + 10 * NS_PER_S, t0 + 40 * NS_PER_S);
    assert_true(limiter_rate(&s.lim, 1) < 1.0);
    assert_int_equal(s.flow.limit, 1);
    assert_int_equal(s.min_limit_seen, 1);
    /* During the storm: each 429 pauses the limiter 1 s, so at most a
     * handful per second (those in flight when it began, then one per
     * pause), far below 45. */
    /* What was in flight when the storm began came back 429; after that the
     * lowered, re-spaced limiter lets nothing more through for now. */
    size_t storm = s.n_sent - sent_before;
    print_message("storm: %zu sent in 30 s, rate now %.3f/s, limit %ld\n", storm, limiter_rate(&s.lim, 1),
                  s.flow.limit);
    assert_true(storm <= (size_t)before);
    /* The upstream recovers: the rate climbs back (5% of 45/s per clean
     * 10 s) and the limit with it, still under the limiter. */
    s.throttle = 0;
    sim_run(&s, t0 + 40 * NS_PER_S, t0 + 400 * NS_PER_S);
    print_message("recovered: rate %.3f/s, limit %ld\n", limiter_rate(&s.lim, 1), s.flow.limit);
    assert_true(limiter_rate(&s.lim, 1) > 40);
    assert_true(s.flow.limit >= 13);
    assert_true(max_in_window(&s, NS_PER_S) <= 50);
    limiter_free(&s.lim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formula),
        cmocka_unit_test(test_prior_then_samples),
        cmocka_unit_test(test_latency_rises_and_falls),
        cmocka_unit_test(test_sim_reaches_the_limiter_at_any_latency),
        cmocka_unit_test(test_sim_fixed_four_is_capped_by_latency),
        cmocka_unit_test(test_sim_slow_source),
        cmocka_unit_test(test_sim_429_storm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
