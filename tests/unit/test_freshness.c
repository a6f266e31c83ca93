/* Refresh by what a source provides (freshness.h): the market-source
 * assignment (a split in proportion to spare capacity, never a source that
 * does not know the token, an open breaker's share moved to the others),
 * the market fields' newest-within-the-bound rule, and the scheduler's
 * capacity (the sum of the market sources'). The merge and the fields'
 * classes with a loaded config are in test_merge.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "freshness.h"
#include "scheduler.h"

/* N picks; each pick's token is assigned to the chosen source. */
static void assign(market_cand *c, size_t n, int picks, int *got)
{
    for (int i = 0; i < picks; i++) {
        int s = market_pick(c, n);
        assert_true(s >= 0 && (size_t)s < n);
        c[s].assigned += 1;
        got[s]++;
    }
}

static void split_follows_spare_capacity(void **state)
{
    (void)state;
    /* Jupiter 29/min x 100, DexScreener 290/min x 30, Helius 1.8/s x 1000 */
    market_cand c[3] = {{29.0 / 60 * 100, 0, 1, 1}, {290.0 / 60 * 30, 0, 1, 1}, {1.8 * 1000, 0, 1, 1}};
    double total = c[0].capacity + c[1].capacity + c[2].capacity;
    int got[3] = {0};
    assign(c, 3, 10000, got);
    for (int s = 0; s < 3; s++) {
        double want = 10000 * c[s].capacity / total;
        assert_true(fabs(got[s] - want) <= 1.0);
    }
    /* What is already assigned counts: a source with a backlog gets less
     * until the others catch up. */
    market_cand d[2] = {{10, 50, 1, 1}, {10, 0, 1, 1}};
    int got2[2] = {0};
    assign(d, 2, 50, got2);
    assert_int_equal(got2[0], 0);
    assert_int_equal(got2[1], 50);
    assign(d, 2, 20, got2);
    assert_int_equal(got2[0], 10);
    assert_int_equal(got2[1], 60);
}

static void a_source_that_does_not_know_never_gets_it(void **state)
{
    (void)state;
    market_cand c[3] = {{10, 0, 1, 1}, {1e6, 0, 0, 1}, {20, 0, 1, 1}};
    int got[3] = {0};
    assign(c, 3, 300, got);
    assert_int_equal(got[1], 0);
    assert_int_equal(got[0], 100);
    assert_int_equal(got[2], 200);
    /* nobody knows it: no pick (the engine then tries every market source) */
    market_cand none[2] = {{10, 0, 0, 1}, {10, 0, 0, 1}};
    assert_int_equal(market_pick(none, 2), -1);
}

static void open_breaker_is_skipped_and_its_share_moves(void **state)
{
    (void)state;
    market_cand c[3] = {{30, 0, 1, 1}, {10, 0, 1, 1}, {20, 0, 1, 1}};
    int before[3] = {0};
    assign(c, 3, 600, before);
    assert_int_equal(before[0], 300);
    c[0].usable = 0; /* its breaker opened */
    int after[3] = {0};
    assign(c, 3, 600, after);
    assert_int_equal(after[0], 0);
    /* its share went to the others, still in proportion to their capacity */
    assert_int_equal(after[1] + after[2], 600);
    assert_true(abs(after[2] - 2 * after[1]) <= 3);
    c[1].usable = c[2].usable = 0;
    assert_int_equal(market_pick(c, 3), -1);
}

static void a_price_only_source_cannot_starve_the_other_market_fields(void **state)
{
    (void)state;
    field_mask full = market_fields_default(), price = FIELD_BIT(TC_PRICE_USD);
    field_mask market[3] = {full, full, price};
    int64_t at[3] = {1000, 1200, 3000};
    /* the complete sources' newest record is 1800 s old, half the 3600 s bound */
    market_cand c[3] = {{48, 0, 1, 1}, {145, 0, 1, 1}, {1800, 0, 1, 1}};
    assert_int_equal(market_pick(c, 3), 2); /* by capacity alone: the price-only source */
    assert_int_equal(market_keep_complete(c, market, at, 3, 3600, 3000), 1);
    assert_false(c[2].knows);
    assert_int_equal(market_pick(c, 3), 1);
    /* fresher than half the bound: nothing narrowed */
    market_cand d[3] = {{48, 0, 1, 1}, {145, 0, 1, 1}, {1800, 0, 1, 1}};
    assert_int_equal(market_keep_complete(d, market, at, 3, 3600, 2900), 0);
    assert_true(d[2].knows);
    /* no bound, or no complete source that knows it: nothing narrowed */
    assert_int_equal(market_keep_complete(d, market, at, 3, 0, 1e6), 0);
    market_cand e[3] = {{48, 0, 0, 1}, {145, 0, 0, 1}, {1800, 0, 1, 1}};
    assert_int_equal(market_keep_complete(e, market, at, 3, 3600, 1e6), 0);
    assert_true(e[2].knows);
}

static void newest_within_the_bound(void **state)
{
    (void)state;
    size_t order[3] = {0, 2, 1}; /* precedence: 0, then 2, then 1 */
    int has[3] = {1, 1, 1};
    int64_t at[3] = {1000, 1090, 1050};
    assert_int_equal(market_newest(order, 3, has, at, 1100, 3600), 1);
    has[1] = 0;
    assert_int_equal(market_newest(order, 3, has, at, 1100, 3600), 2);
    /* ties keep the precedence */
    int64_t tie[3] = {1000, 1000, 1000};
    int all[3] = {1, 1, 1};
    assert_int_equal(market_newest(order, 3, all, tie, 1000, 3600), 0);
    /* past the bound a value is not used, however new the others are not */
    int64_t old[3] = {100, 200, 300};
    assert_int_equal(market_newest(order, 3, all, old, 1000, 750), 2);
    assert_int_equal(market_newest(order, 3, all, old, 1000, 600), -1);
    assert_int_equal(market_newest(order, 3, all, old, 1000, 0), 2); /* 0: no bound */
}

static void capacity_is_the_sum_of_the_market_sources(void **state)
{
    (void)state;
    const double J = 29.0 / 60 * 100, D = 290.0 / 60 * 30, H = 1.8 * 1000;
    sched_source_rate every[3] = {{29.0 / 60, 100, SCHED_EVERY, 0}, {290.0 / 60, 30, SCHED_EVERY, 0},
                                  {1.8, 1000, SCHED_EVERY, 0}};
    assert_true(fabs(sched_capacity(every, 3, 0) - J) < 1e-9); /* the tightest one */
    sched_source_rate split[3] = {{29.0 / 60, 100, SCHED_SHARE, 0}, {290.0 / 60, 30, SCHED_SHARE, 0},
                                  {1.8, 1000, SCHED_ASIDE, 0}};
    assert_true(fabs(sched_capacity(split, 3, 0) - (J + D)) < 1e-9);
    split[2].role = SCHED_SHARE;
    assert_true(fabs(sched_capacity(split, 3, 0) - (J + D + H)) < 1e-9);
    /* Helius prices 40% of the tokens: the other 60% need Jupiter and
     * DexScreener, so the set moves at most at (J + D) / 0.6. */
    split[2].unknown = 0.6;
    assert_true(fabs(sched_capacity(split, 3, 0) - (J + D) / 0.6) < 1e-6);
    /* a global limiter of 0.5 requests/s bounds the mix too */
    assert_true(sched_capacity(split, 3, 0.5) < sched_capacity(split, 3, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_follows_spare_capacity),
        cmocka_unit_test(a_source_that_does_not_know_never_gets_it),
        cmocka_unit_test(open_breaker_is_skipped_and_its_share_moves),
        cmocka_unit_test(a_price_only_source_cannot_starve_the_other_market_fields),
        cmocka_unit_test(newest_within_the_bound),
        cmocka_unit_test(capacity_is_the_sum_of_the_market_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
