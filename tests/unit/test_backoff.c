/* Backoff and throttling pauses: bounds, clamps, and the spread of the
 * jitter, with chosen random numbers instead of a generator. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backoff.h"
#include "util.h"

#define BASE (500 * NS_PER_MS)
#define CAP (30 * NS_PER_S)

static void jitter_stays_within_the_doubling_ceiling(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ULL; /* xorshift64: a spread of draws */
    for (int attempt = 1; attempt <= 12; attempt++) {
        int64_t ceiling = BASE;
        for (int i = 1; i < attempt; i++)
            ceiling = ceiling * 2 > CAP ? CAP : ceiling * 2;
        int64_t lo = INT64_MAX, hi = 0;
        for (int i = 0; i < 5000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            int64_t d = backoff_full_jitter_ns(attempt, BASE, CAP, x);
            assert_true(d >= 0 && d <= ceiling);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        /* Full jitter: the draws cover the whole range, not just its top. */
        assert_true(lo < ceiling / 20);
        assert_true(hi > ceiling - ceiling / 20);
    }
    /* The extremes of the random number map to the ends of the range. */
    assert_int_equal(backoff_full_jitter_ns(3, BASE, CAP, 0), 0);
    assert_int_equal(backoff_full_jitter_ns(3, BASE, CAP, (uint64_t)(4 * BASE)), 4 * BASE);
    assert_int_equal(backoff_full_jitter_ns(40, BASE, CAP, (uint64_t)CAP), CAP);
}

static void retry_after_is_clamped(void **state)
{
    (void)state;
    assert_int_equal(throttle_pause_ns(-1), BACKOFF_DEFAULT_PAUSE_S * NS_PER_S); /* absent */
    assert_int_equal(throttle_pause_ns(0), 0);                                   /* a date in the past */
    assert_int_equal(throttle_pause_ns(7), 7 * NS_PER_S);
    assert_int_equal(throttle_pause_ns(86400), BACKOFF_MAX_PAUSE_S * NS_PER_S);   /* absurd */
}

static void ratelimit_headers(void **state)
{
    (void)state;
    int64_t now = 1800000000;
    assert_int_equal(ratelimit_pause_ns(LONG_MIN, -1, now), 0); /* no headers */
    assert_int_equal(ratelimit_pause_ns(5, 30, now), 0);        /* requests left */
    assert_int_equal(ratelimit_pause_ns(0, 12, now), 12 * NS_PER_S);        /* delta */
    assert_int_equal(ratelimit_pause_ns(0, now + 20, now), 20 * NS_PER_S);  /* epoch */
    assert_int_equal(ratelimit_pause_ns(0, now - 5, now), 0);               /* already reset */
    assert_int_equal(ratelimit_pause_ns(0, 99999, now), BACKOFF_MAX_PAUSE_S * NS_PER_S);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jitter_stays_within_the_doubling_ceiling),
        cmocka_unit_test(retry_after_is_clamped),
        cmocka_unit_test(ratelimit_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
