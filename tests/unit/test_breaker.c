/* Circuit breaker state machine with an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "breaker.h"
#include "util.h"

static breaker_config cfg(void)
{
    breaker_config c;
    breaker_config_default(&c);
    c.window = 10;
    c.min_calls = 6;
    c.threshold = 0.5;
    c.open_ns = 10 * NS_PER_S;
    c.open_max_ns = 35 * NS_PER_S;
    c.probes = 2;
    return c;
}

static void never_opens_below_min_calls(void **state)
{
    (void)state;
    breaker_config c = cfg();
    breaker b;
    breaker_init(&b, &c);
    for (int i = 0; i < 5; i++) {
        assert_true(breaker_allow(&b, 0));
        breaker_record(&b, 0, 0);
    }
    assert_int_equal(breaker_state_at(&b, 0), BREAKER_CLOSED);
    /* The sixth failure reaches min_calls with 100% failures: opens. */
    breaker_record(&b, 0, 0);
    assert_int_equal(breaker_state_at(&b, 0), BREAKER_OPEN);
}

static void opens_exactly_at_threshold(void **state)
{
    (void)state;
    breaker_config c = cfg();
    breaker b;
    breaker_init(&b, &c);
    /* One failure in three (33%) stays under the 50% threshold for as long
     * as it goes on. */
    for (int i = 0; i < 30; i++) {
        breaker_record(&b, 0, i % 3 != 2);
        assert_int_equal(breaker_state_at(&b, 0), BREAKER_CLOSED);
    }
    /* The window now holds F,S,S,F,S,S,F,S,S,F (4/10, oldest first). A
     * failure pushes out a failure (still 4/10); the next pushes out a
     * success and reaches exactly 5/10, which opens it. */
    breaker_record(&b, 0, 0);
    assert_int_equal(breaker_state_at(&b, 0), BREAKER_CLOSED);
    assert_int_equal(b.failures, 4);
    breaker_record(&b, 0, 0);
    assert_int_equal(breaker_state_at(&b, 0), BREAKER_OPEN);
}

static void window_forgets_old_failures(void **state)
{
    (void)state;
    breaker_config c = cfg();
    breaker b;
    breaker_init(&b, &c);
    for (int i = 0; i < 2; i++)
        breaker_record(&b, 0, 0);
    /* Many successes push the old failures out of the 10-call window. */
    for (int i = 0; i < 30; i++)
        breaker_record(&b, 0, 1);
    for (int i = 0; i < 4; i++)
        breaker_record(&b, 0, 0);
    /* Had the first two been remembered, 6 of 10 would have opened it. */
    assert_int_equal(breaker_state_at(&b, 0), BREAKER_CLOSED);
    assert_int_equal(b.failures, 4);
}

static void open_admits_nothing_then_probes(void **state)
{
    (void)state;
    breaker_config c = cfg();
    breaker b;
    breaker_init(&b, &c);
    for (int i = 0; i < 6; i++)
        breaker_record(&b, 0, 0);
    for (int64_t t = 0; t < 10 * NS_PER_S; t += NS_PER_S)
        assert_false(breaker_allow(&b, t));
    /* Half-open: exactly `probes` calls go through until they are decided. */
    assert_true(breaker_allow(&b, 10 * NS_PER_S));
    assert_int_equal(breaker_state_at(&b, 10 * NS_PER_S), BREAKER_HALF_OPEN);
    assert_true(breaker_allow(&b, 10 * NS_PER_S));
    assert_false(breaker_allow(&b, 10 * NS_PER_S));
    breaker_record(&b, 11 * NS_PER_S, 1);
    assert_int_equal(breaker_state_at(&b, 11 * NS_PER_S), BREAKER_HALF_OPEN);
    breaker_record(&b, 11 * NS_PER_S, 1);
    assert_int_equal(breaker_state_at(&b, 11 * NS_PER_S), BREAKER_CLOSED);
    assert_true(breaker_allow(&b, 11 * NS_PER_S));
}

/* A probe answered 429 (or never sent) says nothing about the source: its
 * slot comes back, so half-open cannot run out of probes and stall. */
static void cancelled_probe_gives_its_slot_back(void **state)
{
    (void)state;
    breaker_config c = cfg();
    breaker b;
    breaker_init(&b, &c);
    for (int i = 0; i < 6; i++)
        breaker_record(&b, 0, 0);
    int64_t t = 10 * NS_PER_S;
    assert_true(breaker_allow(&b, t));
    assert_true(breaker_allow(&b, t));
    assert_false(breaker_allow(&b, t));
    breaker_cancel(&b);
    assert_true(breaker_allow(&b, t));
    assert_false(breaker_allow(&b, t));
    assert_int_equal(breaker_state_at(&b, t), BREAKER_HALF_OPEN);
    /* Closed: cancelling changes nothing. */
    breaker_record(&b, t, 1);
    breaker_record(&b, t, 1);
    assert_int_equal(breaker_state_at(&b, t), BREAKER_CLOSED);
    breaker_cancel(&b);
    assert_int_equal(b.probes_sent, 2);
    assert_true(breaker_allow(&b, t));
}

static void open_time_grows_to_cap(void **state)
{
    (void)state;
    breaker_config c = cfg();
    breaker b;
    breaker_init(&b, &c);
    for (int i = 0; i < 6; i++)
        breaker_record(&b, 0, 0);
    int64_t now = 0, last_period = 0;
    int64_t expected[] = {10, 20, 35, 35};
    for (int round = 0; round < 4; round++) {
        int64_t period = b.open_until_ns - now;
        assert_int_equal(period, expected[round] * NS_PER_S);
        assert_true(period >= last_period);
        last_period = period;
        now = b.open_until_ns;
        assert_true(breaker_allow(&b, now)); /* a probe */
        breaker_record(&b, now, 0);          /* fails: open again, longer */
        assert_int_equal(breaker_state_at(&b, now), BREAKER_OPEN);
    }
    assert_true(b.opened >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(never_opens_below_min_calls),
        cmocka_unit_test(opens_exactly_at_threshold),
        cmocka_unit_test(window_forgets_old_failures),
        cmocka_unit_test(open_admits_nothing_then_probes),
        cmocka_unit_test(cancelled_probe_gives_its_slot_back),
        cmocka_unit_test(open_time_grows_to_cap),
    };
    return cmocka_run_group_tests_name("breaker", tests, NULL, NULL);
}
