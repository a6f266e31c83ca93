/* The collector's side of the cluster-wide limiters (cluster_gcra.c,
 * cluster_stats.c) with an injected clock: grants turned into local times,
 * expiry, the reservation sizer, and three collectors with skewed clocks and
 * random round trips against a model of the database's statement
 * (cluster_pg.c), checked in the database's timeline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>

#include "cluster_gcra.h"
#include "cluster_limiter.h"
#include "cluster_stats.h"
#include "util.h"

#define MS NS_PER_MS

/* An idle limiter (tat = now) with a burst of 3 at 10/s: the three permits
 * of a grant all go at once; the fourth waits one interval. */
static void grant_of_an_idle_limiter_is_the_burst(void **state)
{
    (void)state;
    cg_grant g = cg_grant_from_tat(4, 0.4, 10, 3);
    assert_int_equal(g.n, 4);
    assert_true(fabs(g.base_s) < 1e-9);
    cg_pool p = {0};
    cg_pool_add(&p, &g, 1000 * MS, 1000 * MS, 1000 * MS);
    assert_int_equal(p.len, 4);
    assert_int_equal(cg_pool_wait(&p, 1000 * MS), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cg_pool_take(&p, 1000 * MS), 0);
    assert_int_equal(cg_pool_take(&p, 1000 * MS), -1); /* the fourth is not due */
    assert_int_equal(cg_pool_wait(&p, 1000 * MS), 100 * MS);
    assert_int_equal(cg_pool_take(&p, 1100 * MS), 0);
    assert_int_equal(cg_pool_wait(&p, 1100 * MS), -1);
}

/* A permit lands at its moment after the answer arrived: never earlier. */
static void permits_never_go_before_their_moment(void **state)
{
    (void)state;
    srand(7);
    for (int k = 0; k < 1000; k++) {
        double rate = 1 + rand() % 500, burst = 1 + rand() % 5, base = (rand() % 1000) / 1000.0 - 0.3;
        int n = 1 + rand() % 50;
        cg_grant g = cg_grant_from_tat(n, base + n / rate, rate, burst);
        int64_t recv = (int64_t)(rand() % 100000) * MS;
        cg_pool p = {0};
        cg_pool_add(&p, &g, recv, recv, 10 * NS_PER_S);
        assert_int_equal(p.len, n);
        for (int i = 0; i < n; i++) {
            double at = base + i / rate - (burst - 1) / rate;
            double want = (double)recv + (at > 0 ? at * 1e9 : 0);
            double got = (double)p.t[(p.head + i) % CG_POOL_MAX];
            assert_true(got >= want - 1); /* float noise, no more */
            assert_true(got <= want + 1000);
        }
    }
}

static void unused_permits_expire_after_the_grace(void **state)
{
    (void)state;
    cg_pool p = {0};
    cg_grant g = cg_grant_from_tat(5, 0.5, 10, 1); /* permits at 0, 100, ..., 400 ms */
    cg_pool_add(&p, &g, 0, 0, 100 * MS);
    cg_pool_expire(&p, 250 * MS); /* 0 and 100 are over 100 ms late */
    assert_int_equal(p.len, 3);
    assert_int_equal(p.expired, 2);
    assert_int_equal(cg_pool_take(&p, 250 * MS), 0); /* 200: 50 ms late, still good */
    assert_int_equal(cg_pool_horizon(&p), 400 * MS);
    cg_pool_clear(&p);
    assert_int_equal(p.len, 0);
    assert_int_equal(p.expired, 4);
    assert_int_equal(p.used, 1);
    /* An answer slower than the lateness allowed: none of its permits could
     * go in time (each would be 150 ms after its moment, 100 allowed). */
    cg_pool q = {0};
    cg_pool_add(&q, &g, 0, 150 * MS, 100 * MS);
    assert_int_equal(q.len, 0);
    assert_int_equal(q.expired, 5);
    /* 60 ms: each permit from 60 ms after its moment to 100 ms after. */
    cg_pool_add(&q, &g, 0, 60 * MS, 100 * MS);
    assert_int_equal(q.len, 5);
    assert_int_equal(cg_pool_wait(&q, 0), 60 * MS);
    cg_pool_expire(&q, 201 * MS); /* the first two: deadlines 100 and 200 ms */
    assert_int_equal(q.len, 3);
}

static void sizer_grows_shrinks_and_idles(void **state)
{
    (void)state;
    cg_sizer z;
    cg_pool p = {0};
    cg_sizer_init(&z, 16, 100 * MS);
    assert_int_equal(cg_sizer_ask(&z, &p, 0), 0); /* nobody asked: nothing reserved */
    cg_sizer_demand(&z, 0);
    assert_int_equal(cg_sizer_ask(&z, &p, 0), 1);
    /* Every reservation used up in time: 2, 4, 8, 16, 16. */
    int want = 1;
    for (int i = 0; i < 5; i++) {
        cg_grant g = cg_grant_from_tat(want, 0, 1000, 1);
        cg_pool_add(&p, &g, 0, 0, NS_PER_S);
        while (p.len)
            assert_int_equal(cg_pool_take(&p, 0), 0);
        want = cg_sizer_ask(&z, &p, 0);
        assert_int_equal(want, i < 4 ? 2 << i : 16);
    }
    /* The pool holds more than half a reservation: no statement. */
    cg_grant g = cg_grant_from_tat(16, 0.016, 1000, 1);
    cg_pool_add(&p, &g, 0, 0, 0);
    assert_int_equal(cg_sizer_ask(&z, &p, 0), 0);
    /* Permits expired: the next reservation is half as large. */
    cg_pool_expire(&p, 1000 * MS);
    cg_sizer_demand(&z, 1000 * MS);
    assert_int_equal(cg_sizer_ask(&z, &p, 1000 * MS), 8);
    /* Idle past idle_ns: nothing, whatever the pool. */
    assert_int_equal(cg_sizer_ask(&z, &p, 1101 * MS), 0);
    assert_int_equal(cg_max_reservation(200, 250 * MS), 50);
    assert_int_equal(cg_max_reservation(2, 250 * MS), 1);
    assert_int_equal(cg_max_reservation(1e6, 250 * MS), CG_POOL_MAX / 2);
}

/* The database's statement (cluster_pg.c, reserve_sql), in its timeline. */
typedef struct db_model {
    double tat, rate, burst, ahead;
} db_model;

static int db_reserve(db_model *d, double now, int want, double *tat_rel)
{
    double base = d->tat > now ? d->tat : now;
    double n = floor((now - base + d->ahead + (d->burst - 1) / d->rate) * d->rate) + 1;
    int got = n < 0 ? 0 : n > want ? want : (int)n;
    if (got > 0)
        d->tat = base + got / d->rate;
    *tat_rel = d->tat - now;
    return got;
}

/* Three collectors, clocks skewed by up to +-5 s from the database's,
 * round trips of 0.2-3 ms (one in 300 takes 80 ms, over the lateness allowed: its permits are dropped), sending as soon as a permit allows, with random
 * stalls: every request goes at or after its permit's moment (in the
 * database's time) and at most the grace after it; so the requests in any
 * window W number at most rate x (W + grace) + burst. */
static void three_skewed_collectors_stay_within_the_limit(void **state)
{
    (void)state;
    const double rate = 200, burst = 2, window = 0.5, ahead = 0.25;
    /* cluster_limiter.c's late_ns */
    const int64_t grace = (int64_t)(1e9 / rate + (burst - 1) * 1e9 / rate + ahead * 1e9 / CLUSTER_RTT_SHARE);
    db_model db = {0, rate, burst, ahead};
    int64_t skew[3] = {-5000 * MS, 1234 * MS, 4999 * MS};
    static cg_pool pool[3];
    cg_sizer z[3];
    int64_t busy_until[3] = {0};
    static double sent[20000];
    size_t nsent = 0;
    srand(11);
    for (int c = 0; c < 3; c++)
        cg_sizer_init(&z[c], cg_max_reservation(rate, (int64_t)(ahead * 1e9)), 100 * MS);
    /* The reservation a collector's limiter thread waits for, meanwhile
     * its loop sends with what the pool holds. */
    cg_grant pending[3];
    int64_t answer_at[3] = {-1, -1, -1}, sent_at[3] = {INT64_MIN / 2, INT64_MIN / 2, INT64_MIN / 2};
    /* Steps of 0.1 ms over 10 s of database time. */
    for (int64_t t = 0; t < 10000 * MS && nsent < 20000; t += MS / 10) {
        for (int c = 0; c < 3; c++) {
            int64_t local = t + skew[c];
            if (answer_at[c] >= 0 && local >= answer_at[c]) {
                cg_pool_add(&pool[c], &pending[c], sent_at[c], answer_at[c], grace);
                answer_at[c] = -1;
            }
            cg_pool_expire(&pool[c], local);
            if (local < busy_until[c]) /* the loop stalled */
                continue;
            cg_sizer_demand(&z[c], local);
            /* One statement at a time, at most one per 5 ms (the limiter
             * thread waits for room in the schedule between them). */
            int want = answer_at[c] < 0 && local - sent_at[c] >= 5 * MS ? cg_sizer_ask(&z[c], &pool[c], local) : 0;
            if (want > 0) {
                double tat_rel;
                int64_t rtt = (int64_t)(200000 + rand() % 2800000);
                if (rand() % 300 == 0) /* now and then a slow answer: 80 ms */
                    rtt = 80 * MS;
                /* The statement runs at some moment of the round trip; the
                 * answer arrives at its end. */
                double db_now = (double)(t + rand() % (rtt + 1)) / 1e9;
                int got = db_reserve(&db, db_now, want, &tat_rel);
                pending[c] = cg_grant_from_tat(got, tat_rel, rate, burst);
                answer_at[c] = local + rtt;
                sent_at[c] = local;
            }
            if (cg_pool_wait(&pool[c], local) == 0 && cg_pool_take(&pool[c], local) == 0) {
                sent[nsent++] = (double)t / 1e9;
                if (rand() % 50 == 0) /* a stall in the collector's loop */
                    busy_until[c] = local + (rand() % 20) * MS;
            }
        }
    }
    /* Sent in time order (one list, steps in order). Throughput: above
     * 90% of the rate; busiest window: within the bound. */
    assert_true(nsent >= (size_t)(0.9 * rate * 10));
    size_t lo = 0, busiest = 0;
    for (size_t hi = 0; hi < nsent; hi++) {
        while (sent[hi] - sent[lo] >= window)
            lo++;
        if (hi - lo + 1 > busiest)
            busiest = hi - lo + 1;
    }
    double bound = rate * (window + (double)grace / 1e9) + burst;
    print_message("sent %zu in 10 s (limit %.0f), busiest %.1f s window %zu (bound %.1f, rate x window %.0f)\n", nsent,
                  rate * 10, window, busiest, bound, rate * window);
    assert_true((double)busiest <= bound);
}

static void histogram_quantiles(void **state)
{
    (void)state;
    cs_hist h = {0};
    assert_true(cs_hist_quantile(&h, 0.5) == 0);
    for (int i = 0; i < 98; i++)
        cs_hist_add(&h, 0);
    cs_hist_add(&h, 300000);   /* 0.3 ms */
    cs_hist_add(&h, 20000000); /* 20 ms */
    assert_int_equal(h.count, 100);
    assert_true(cs_hist_quantile(&h, 0.5) == 0);
    double p99 = cs_hist_quantile(&h, 0.99);
    assert_true(p99 >= 0.0003 && p99 < 0.0003 * 1.2);
    double max = cs_hist_quantile(&h, 1);
    assert_true(max >= 0.02 && max < 0.02 * 1.2);
    cluster_stats s = {.granted = 25, .cluster_granted = 100};
    assert_true(fabs(cluster_stats_share(&s) - 0.25) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grant_of_an_idle_limiter_is_the_burst),
        cmocka_unit_test(permits_never_go_before_their_moment),
        cmocka_unit_test(unused_permits_expire_after_the_grace),
        cmocka_unit_test(sizer_grows_shrinks_and_idles),
        cmocka_unit_test(three_skewed_collectors_stay_within_the_limit),
        cmocka_unit_test(histogram_quantiles),
    };
    return cmocka_run_group_tests_name("cluster_gcra", tests, NULL, NULL);
}
