/* The scheduler's operator settings (scheduler_admin.c): pinned priority and
 * interval, the contest flag, refresh now (sched_take), the visit, the
 * advice of sched_recommend, and that pins survive a rescan (upsert). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scheduler.h"
#include "util.h"

#define S(x) ((int64_t)(x) * NS_PER_S)

static const sched_signals COLD = {0, 0, 5000, 1};

static sched *with_tokens(int n)
{
    sched_params p;
    sched_params_default(&p);
    sched *s = sched_new(&p);
    char addr[16];
    for (int i = 0; i < n; i++) {
        snprintf(addr, sizeof addr, "tok%d", i);
        assert_int_equal(sched_upsert(s, addr, &COLD, S(100) + i), 1);
    }
    return s;
}

static void priority_pin_moves_the_tier_and_survives_a_rescan(void **state)
{
    (void)state;
    sched *s = with_tokens(3);
    sched_token t;
    assert_int_equal(sched_get(s, "tok1", &t), 0);
    assert_int_equal(t.tier, SCHED_COLD);
    assert_true(isnan(t.pin_score));
    assert_int_equal(sched_set_priority(s, "tok1", 900), 0);
    assert_int_equal(sched_get(s, "tok1", &t), 0);
    assert_int_equal(t.tier, SCHED_HOT);
    assert_float_equal(t.score, 900, 1e-9);
    /* A rescan brings the same signals: the pin stays. */
    sched_upsert(s, "tok1", &COLD, S(1000));
    assert_int_equal(sched_get(s, "tok1", &t), 0);
    assert_float_equal(t.score, 900, 1e-9);
    assert_int_equal(t.tier, SCHED_HOT);
    /* NAN: computed again. */
    assert_int_equal(sched_set_priority(s, "tok1", NAN), 0);
    assert_int_equal(sched_get(s, "tok1", &t), 0);
    assert_int_equal(t.tier, SCHED_COLD);
    assert_int_equal(sched_set_priority(s, "nope", 1), -1);
    sched_free(s);
}

static void interval_pin_is_kept_through_refreshes_and_clamped(void **state)
{
    (void)state;
    sched *s = with_tokens(1);
    assert_int_equal(sched_set_interval(s, "tok0", S(42)), 0);
    sched_token t;
    sched_get(s, "tok0", &t);
    assert_int_equal(t.interval_ns, S(42));
    assert_int_equal(t.pin_interval_ns, S(42));
    /* Due earlier now that its interval is shorter? It has not been
     * refreshed yet: its due time stays. A refresh steps nothing. */
    sched_item it;
    assert_int_equal(sched_take(s, "tok0", S(200), &it), 0);
    assert_int_equal(sched_done(s, "tok0", S(200), SCHED_UNCHANGED), 0);
    sched_get(s, "tok0", &t);
    assert_int_equal(t.interval_ns, S(42));
    assert_int_equal(t.due_ns, S(242));
    assert_int_equal(t.last_ok_ns, S(200));
    /* Below min_interval (15 s) it is clamped. */
    sched_set_interval(s, "tok0", S(1));
    sched_get(s, "tok0", &t);
    assert_int_equal(t.interval_ns, S(SCHED_DEFAULT_MIN_INTERVAL_S));
    /* Pinned shorter than before: due moves earlier (anchor + interval). */
    assert_int_equal(t.due_ns, S(200 + SCHED_DEFAULT_MIN_INTERVAL_S));
    /* 0: dynamic again, from the tier's base. */
    sched_set_interval(s, "tok0", 0);
    sched_get(s, "tok0", &t);
    assert_int_equal(t.pin_interval_ns, 0);
    assert_int_equal(t.interval_ns, S(SCHED_DEFAULT_MAX_INTERVAL_S));
    sched_free(s);
}

static void contest_flag_makes_it_hot(void **state)
{
    (void)state;
    sched *s = with_tokens(2);
    assert_int_equal(sched_set_contest(s, "tok0", 1), 0);
    sched_token t;
    sched_get(s, "tok0", &t);
    assert_int_equal(t.tier, SCHED_HOT);
    assert_int_equal(t.in_contest, 1);
    assert_true(t.score >= 1000);
    sched_set_contest(s, "tok0", 0);
    sched_get(s, "tok0", &t);
    assert_int_equal(t.tier, SCHED_COLD);
    assert_int_equal(sched_set_contest(s, "x", 1), -1);
    sched_free(s);
}

static void take_pops_one_token_out_of_turn(void **state)
{
    (void)state;
    sched *s = with_tokens(5);
    sched_item it;
    /* Not due for 100 s, taken now anyway. */
    assert_int_equal(sched_take(s, "tok3", S(1), &it), 0);
    assert_string_equal(it.address, "tok3");
    assert_int_equal(sched_queued(s), 4);
    assert_int_equal(sched_take(s, "tok3", S(1), &it), 1); /* in flight */
    assert_int_equal(sched_take(s, "zzz", S(1), &it), -1);
    /* The others are still served in order. */
    sched_item out[8];
    size_t n = sched_pop(s, S(200), S(200), 8, out);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_string_not_equal(out[i].address, "tok3");
    assert_int_equal(sched_done(s, "tok3", S(2), SCHED_CHANGED), 0);
    assert_int_equal(sched_queued(s), 1);
    sched_free(s);
}

static void count_visit(void *ctx, const char *addr, const sched_token *t)
{
    (void)addr;
    int *n = ctx;
    n[0]++;
    n[1 + t->tier]++;
}

static void foreach_visits_every_token(void **state)
{
    (void)state;
    sched *s = with_tokens(7);
    sched_set_contest(s, "tok2", 1);
    sched_remove(s, "tok4");
    int n[4] = {0};
    sched_foreach(s, count_visit, n);
    assert_int_equal(n[0], 6);
    assert_int_equal(n[1 + SCHED_HOT], 1);
    assert_int_equal(n[1 + SCHED_COLD], 5);
    sched_free(s);
}

static void recommend_scales_base_intervals_to_the_budget(void **state)
{
    (void)state;
    sched *s = with_tokens(300); /* cold, base 300 s: 1 token/s at base */
    sched_advice a;
    /* Capacity 10/s, budget 9/s: base intervals use 1/9 of it. */
    sched_recommend(s, 10, &a);
    assert_int_equal(a.tokens[SCHED_COLD], 300);
    assert_float_equal(a.load_factor, 1.0 / 9.0, 1e-9);
    /* 300 s x 1/9 = 33 s, above the 15 s floor. */
    assert_float_equal(a.sustainable_s[SCHED_COLD], 300.0 / 9.0, 1e-6);
    assert_float_equal(a.uniform_s, 300.0 / 9.0, 1e-6);
    /* Overloaded: 0.5/s (budget 0.45): every interval stretches. */
    sched_recommend(s, 0.5, &a);
    assert_float_equal(a.sustainable_s[SCHED_COLD], 300.0 / 0.45, 1e-6);
    /* Unlimited: the floor. */
    sched_recommend(s, INFINITY, &a);
    assert_float_equal(a.sustainable_s[SCHED_HOT], SCHED_DEFAULT_MIN_INTERVAL_S, 1e-9);
    sched_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(priority_pin_moves_the_tier_and_survives_a_rescan),
        cmocka_unit_test(interval_pin_is_kept_through_refreshes_and_clamped),
        cmocka_unit_test(contest_flag_makes_it_hot),
        cmocka_unit_test(take_pops_one_token_out_of_turn),
        cmocka_unit_test(foreach_visits_every_token),
        cmocka_unit_test(recommend_scales_base_intervals_to_the_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
