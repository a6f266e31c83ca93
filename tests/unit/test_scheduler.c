/* Refresh scheduler: scoring, interval steps, the heap, the batch optimizer
 * and overload planning, with simulated hours on an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"
#include "util.h"

#define S(x) ((int64_t)(x) * NS_PER_S)

static const sched_signals UNKNOWN = {0, 0, NAN, NAN};

static uint64_t rng_next(uint64_t *st)
{
    /* splitmix64: deterministic and good enough for test data */
    uint64_t z = (*st += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *st)
{
    return (double)(rng_next(st) >> 11) / 9007199254740992.0;
}

/* Signals that land in each tier with the default parameters. */
static sched_signals hot_sig(void)
{
    return (sched_signals){0, 1, NAN, NAN}; /* in a contest */
}
static sched_signals warm_sig(void)
{
    return (sched_signals){0, 0, 1e6, 20}; /* (0.35*0.5 + 0.2*0.5)/0.55 = 500 */
}
static sched_signals cold_sig(void)
{
    return (sched_signals){0, 0, 5000, 1};
}

/* ---- scoring ---- */

static void score_formula(void **state)
{
    (void)state;
    /* Everything known: 0.45*1 + 0.35*1 + 0.2*0 = 0.8. */
    assert_float_equal(sched_score(&(sched_signals){1, 0, 1e9, 0}), 800.0, 1e-6);
    /* Rank 100 -> 0.5; $1M -> 0.5; 20% -> 0.5: all halves. */
    assert_float_equal(sched_score(&(sched_signals){100, 0, 1e6, -20}), 500.0, 1e-6);
    /* Unknown rank is left out, not counted as worst: renormalized. */
    assert_float_equal(sched_score(&(sched_signals){0, 0, 1e6, 20}), 500.0, 1e-6);
    /* Only the rank known. */
    assert_float_equal(sched_score(&(sched_signals){10, 0, NAN, NAN}), 750.0, 1e-6);
    /* Known zero volume counts (as 0), unknown volume does not. */
    assert_float_equal(sched_score(&(sched_signals){1, 0, 0, NAN}), 1000.0 * 0.45 / 0.80, 1e-6);
    assert_float_equal(sched_score(&(sched_signals){1, 0, -5, NAN}), 1000.0, 1e-6);
    assert_float_equal(sched_score(&UNKNOWN), 0.0, 1e-9);
    /* Contest puts it above any non-contest token. */
    assert_float_equal(sched_score(&(sched_signals){0, 1, NAN, NAN}), 1000.0, 1e-9);
    assert_true(sched_score(&(sched_signals){50000, 1, 10, 0}) > sched_score(&(sched_signals){1, 0, 1e12, 1e6}));
    /* Continuous and monotonic: no cliff at the old $10k step. */
    double a = sched_score(&(sched_signals){0, 0, 9999, NAN});
    double b = sched_score(&(sched_signals){0, 0, 10001, NAN});
    assert_true(b > a && b - a < 0.1);
    assert_true(sched_score(&(sched_signals){10, 0, NAN, NAN}) > sched_score(&(sched_signals){100, 0, NAN, NAN}));
    /* Volatility saturates: +5000% is not 50x +100%. */
    double v100 = sched_score(&(sched_signals){0, 0, NAN, 100});
    double v5000 = sched_score(&(sched_signals){0, 0, NAN, 5000});
    assert_true(v5000 > v100 && v5000 < 1.25 * v100);
}

static void tiers(void **state)
{
    (void)state;
    sched_params p;
    sched_params_default(&p);
    sched_signals h = hot_sig(), w = warm_sig(), c = cold_sig();
    assert_int_equal(sched_tier_of(&p, &h, sched_score(&h)), SCHED_HOT);
    assert_int_equal(sched_tier_of(&p, &w, sched_score(&w)), SCHED_WARM);
    assert_int_equal(sched_tier_of(&p, &c, sched_score(&c)), SCHED_COLD);
    sched_signals big = {1, 0, 1e9, 50};
    assert_int_equal(sched_tier_of(&p, &big, sched_score(&big)), SCHED_HOT);
    assert_int_equal(sched_tier_of(&p, &UNKNOWN, 0), SCHED_COLD);
    p.prioritization = 0;
    assert_int_equal(sched_tier_of(&p, &h, sched_score(&h)), SCHED_WARM);
    assert_int_equal(sched_tier_of(&p, &c, sched_score(&c)), SCHED_WARM);
    assert_string_equal(sched_tier_name(SCHED_COLD), "cold");
    /* Derived ranges: hot 15-60, warm 30-150, cold 75-300. */
    sched_params_default(&p);
    assert_int_equal(p.tier[SCHED_HOT].floor_ns, S(15));
    assert_int_equal(p.tier[SCHED_HOT].ceiling_ns, S(60));
    assert_int_equal(p.tier[SCHED_WARM].base_ns, S(60));
    assert_int_equal(p.tier[SCHED_COLD].floor_ns, S(75));
    assert_int_equal(p.tier[SCHED_COLD].ceiling_ns, S(300));
}

/* ---- interval steps ---- */

static void intervals_converge(void **state)
{
    (void)state;
    sched_params p;
    sched_params_default(&p);
    /* A hot token that keeps changing sits at min_interval; one that never
     * changes climbs to its tier's ceiling. */
    int64_t iv = p.tier[SCHED_HOT].ceiling_ns;
    for (int i = 0; i < 3; i++)
        iv = sched_step_interval(&p, SCHED_HOT, iv, SCHED_CHANGED);
    assert_int_equal(iv, p.min_interval_ns);
    /* A cold static token reaches max_interval and stays there. */
    iv = p.tier[SCHED_COLD].floor_ns;
    int steps = 0;
    while (iv < p.max_interval_ns && steps < 100) {
        int64_t next = sched_step_interval(&p, SCHED_COLD, iv, SCHED_UNCHANGED);
        assert_true(next > iv);
        iv = next;
        steps++;
    }
    assert_int_equal(iv, p.max_interval_ns);
    assert_true(steps <= 4); /* 75 -> 112 -> 169 -> 253 -> 300 */
    assert_int_equal(sched_step_interval(&p, SCHED_COLD, iv, SCHED_NO_PRICE), p.max_interval_ns);
    /* A cold token that keeps changing stops at its tier's floor. */
    for (int i = 0; i < 10; i++)
        iv = sched_step_interval(&p, SCHED_COLD, iv, SCHED_CHANGED);
    assert_int_equal(iv, S(75));
    /* Failures keep the interval. */
    assert_int_equal(sched_step_interval(&p, SCHED_WARM, S(100), SCHED_FAILED), S(100));
    /* With every floor at min_interval, any token can reach it. */
    for (int t = 0; t < SCHED_TIERS; t++)
        p.tier[t].floor_ns = p.min_interval_ns;
    for (int i = 0; i < 10; i++)
        iv = sched_step_interval(&p, SCHED_COLD, iv, SCHED_CHANGED);
    assert_int_equal(iv, p.min_interval_ns);
    /* Off: the tier's base interval, whatever happens. */
    sched_params_default(&p);
    p.dynamic_intervals = 0;
    assert_int_equal(sched_step_interval(&p, SCHED_HOT, S(40), SCHED_UNCHANGED), S(15));
    assert_int_equal(sched_step_interval(&p, SCHED_COLD, S(100), SCHED_CHANGED), S(300));
}

static void price_changed(void **state)
{
    (void)state;
    assert_false(sched_price_changed(1.0, 1.0, 0));
    assert_true(sched_price_changed(1.0, 1.0000001, 0));
    assert_false(sched_price_changed(1.0, 1.0000001, 1e-6));
    assert_true(sched_price_changed(1.0, 1.01, 1e-3));
    assert_true(sched_price_changed(NAN, 2.0, 0));
    assert_true(sched_price_changed(2.0, NAN, 0));
    assert_false(sched_price_changed(NAN, NAN, 0));
}

/* ---- heap and index against a brute-force model ---- */

typedef struct model_tok {
    int present, queued;
    int64_t due, deadline;
    double score;
    uint64_t seq;
    int64_t anchor; /* last done; INT64_MIN: never */
    int64_t interval;
    int tier;
} model_tok;

static void addr_of(size_t i, char *buf, size_t len)
{
    snprintf(buf, len, "Tok%06zu", i);
}

static size_t index_of(const char *addr)
{
    return (size_t)strtoul(addr + 3, NULL, 10);
}

/* The documented serving order, by brute force: hot due, then deadline
 * reached, then warm due, then cold due (each: earlier due, higher score,
 * earlier insertion; deadlines: earlier deadline, earlier insertion). */
static size_t model_next(const model_tok *m, size_t n, int64_t now)
{
    size_t best = SIZE_MAX;
    for (int pass = 0; pass < 4 && best == SIZE_MAX; pass++) {
        for (size_t j = 0; j < n; j++) {
            const model_tok *a = &m[j];
            if (!a->present || !a->queued || a->due > now)
                continue;
            if (pass == 0 && a->tier != SCHED_HOT)
                continue;
            if (pass == 1 && a->deadline > now)
                continue;
            if (pass == 2 && a->tier != SCHED_WARM)
                continue;
            if (pass == 3 && a->tier != SCHED_COLD)
                continue;
            if (best == SIZE_MAX) {
                best = j;
                continue;
            }
            const model_tok *b = &m[best];
            int better;
            if (pass == 1)
                better = a->deadline != b->deadline ? a->deadline < b->deadline : a->seq < b->seq;
            else if (a->due != b->due)
                better = a->due < b->due;
            else
                better = a->score != b->score ? a->score > b->score : a->seq < b->seq;
            if (better)
                best = j;
        }
    }
    return best;
}

static void heap_matches_model(void **state)
{
    (void)state;
    enum { N = 2000, OPS = 60000 };
    sched_params p;
    sched_params_default(&p);
    p.dynamic_intervals = 0;
    sched *s = sched_new(&p);
    model_tok *m = calloc(N, sizeof *m);
    uint64_t rng = 42, seq = 0;
    char addr[32];
    sched_item items[64];
    const int64_t base[SCHED_TIERS] = {S(15), S(60), S(300)}; /* dynamic off */
    size_t deadline_pops = 0;
    for (int op = 0; op < OPS; op++) {
        size_t i = rng_next(&rng) % N;
        addr_of(i, addr, sizeof addr);
        int r = (int)(rng_next(&rng) % 10);
        if (r < 4) {
            /* Few distinct due times and scores, so the tie-breaks matter;
             * due times over 1000 s and pops over 1500 s, so deadlines
             * (due + 600 s - interval) come into play. */
            int64_t due = S(20 * (int64_t)(rng_next(&rng) % 50));
            int tier = (int)(rng_next(&rng) % 3);
            /* Three scores per tier, so the score tie-break is exercised:
             * hot 1000/1389/1518, warm 350/513/574, cold 0/139/241. */
            static const sched_signals variants[SCHED_TIERS][3] = {
                {{0, 1, NAN, NAN}, {0, 1, 5e6, 0}, {0, 1, 5e6, 20}},
                {{0, 0, 2e6, 0}, {0, 0, 5e6, 10}, {0, 0, 5e6, 20}},
                {{0, 0, 50, 0}, {0, 0, 1e4, 2}, {0, 0, 5e4, 4}},
            };
            sched_signals sig = variants[tier][rng_next(&rng) % 3];
            assert_int_equal(sched_tier_of(&p, &sig, sched_score(&sig)), tier);
            int rc = sched_upsert(s, addr, &sig, due);
            model_tok *x = &m[i];
            if (!x->present) {
                assert_int_equal(rc, 1);
                *x = (model_tok){1, 1, due, 0, sched_score(&sig), seq++, INT64_MIN, base[tier], tier};
            } else {
                assert_int_equal(rc, 0);
                x->score = sched_score(&sig);
                x->interval = base[tier];
                x->tier = tier;
                if (!x->queued)
                    continue;
                if (x->anchor != INT64_MIN && x->anchor + x->interval < x->due)
                    x->due = x->anchor + x->interval;
                if (due < x->due)
                    x->due = due;
            }
            x->deadline = x->due + S(600) - x->interval;
        } else if (r < 6) {
            assert_int_equal(sched_remove(s, addr), m[i].present);
            m[i].present = 0;
        } else if (r < 8) {
            int64_t now = S(rng_next(&rng) % 1500);
            size_t max = 1 + rng_next(&rng) % 64;
            size_t n = sched_pop(s, now, now, max, items);
            for (size_t k = 0; k < n; k++) {
                size_t best = model_next(m, N, now);
                assert_true(best != SIZE_MAX);
                assert_int_equal(index_of(items[k].address), best);
                assert_int_equal(items[k].lag_ns, now - m[best].due);
                deadline_pops += m[best].deadline <= now && m[best].tier != SCHED_HOT;
                m[best].queued = 0;
            }
            if (n < max) /* nothing else was due */
                assert_int_equal(model_next(m, N, now), SIZE_MAX);
        } else {
            /* Finish an in-flight token, if this one is. */
            int64_t now = S(rng_next(&rng) % 1500);
            int rc = sched_done(s, addr, now, SCHED_FAILED);
            if (m[i].present && !m[i].queued) {
                assert_int_equal(rc, 0);
                m[i].queued = 1;
                m[i].anchor = now;
                m[i].due = now + m[i].interval;
                m[i].deadline = now + S(600);
                sched_token t;
                assert_int_equal(sched_get(s, addr, &t), 0);
                assert_int_equal(t.due_ns, m[i].due);
                assert_int_equal(t.last_done_ns, now);
            } else {
                assert_int_equal(rc, -1);
            }
        }
        if (op % 5000 == 0) {
            size_t present = 0, queued = 0;
            int64_t next = INT64_MAX;
            for (size_t j = 0; j < N; j++) {
                present += m[j].present;
                if (m[j].present && m[j].queued) {
                    queued++;
                    if (m[j].due < next)
                        next = m[j].due;
                }
            }
            assert_int_equal(sched_size(s), present);
            assert_int_equal(sched_queued(s), queued);
            assert_int_equal(sched_next_due(s), next);
            size_t due_by = 0;
            for (size_t j = 0; j < N; j++)
                due_by += m[j].present && m[j].queued && m[j].due <= S(500);
            assert_int_equal(sched_count_due(s, S(500), 0), due_by);
            assert_int_equal(sched_count_due(s, S(500), 7), due_by < 7 ? due_by : 7);
        }
    }
    /* The deadline lane was exercised, not just the tiers. */
    print_message("model: %zu pops by deadline\n", deadline_pops);
    assert_true(deadline_pops > 100);
    free(m);
    sched_free(s);
}

static void done_and_upsert_semantics(void **state)
{
    (void)state;
    sched_params p;
    sched_params_default(&p);
    sched *s = sched_new(&p);
    sched_signals c = cold_sig(), h = hot_sig();
    sched_item it[4];
    sched_token t;
    assert_int_equal(sched_upsert(s, "A", &c, 0), 1);
    assert_int_equal(sched_upsert(s, "", &c, 0), -1);
    assert_int_equal(sched_get(s, "A", &t), 0);
    assert_int_equal(t.tier, SCHED_COLD);
    assert_int_equal(t.interval_ns, S(300));
    assert_int_equal(t.last_done_ns, INT64_MIN);
    /* Done too early (not in flight) is refused. */
    assert_int_equal(sched_done(s, "A", 0, SCHED_CHANGED), -1);
    assert_int_equal(sched_pop(s, 0, 0, 4, it), 1);
    assert_int_equal(sched_get(s, "A", &t), 0);
    assert_false(t.queued);
    assert_int_equal(sched_done(s, "A", S(10), SCHED_CHANGED), 0);
    assert_int_equal(sched_get(s, "A", &t), 0);
    assert_int_equal(t.interval_ns, S(150));
    assert_int_equal(t.due_ns, S(160));
    /* Promotion to hot pulls the due time in (last refresh + 60 s, its new
     * ceiling), never pushes it out. */
    assert_int_equal(sched_upsert(s, "A", &h, INT64_MAX), 0);
    assert_int_equal(sched_get(s, "A", &t), 0);
    assert_int_equal(t.tier, SCHED_HOT);
    assert_int_equal(t.interval_ns, S(60));
    assert_int_equal(t.due_ns, S(70));
    assert_int_equal(sched_upsert(s, "A", &c, INT64_MAX), 0);
    assert_int_equal(sched_get(s, "A", &t), 0);
    assert_int_equal(t.due_ns, S(70));
    /* An explicit earlier due time wins (e.g. "refresh this now"). */
    assert_int_equal(sched_upsert(s, "A", &c, S(20)), 0);
    assert_int_equal(sched_next_due(s), S(20));
    /* Released: back with its old due time and lag. */
    assert_int_equal(sched_pop(s, S(30), S(30), 4, it), 1);
    assert_int_equal(it[0].lag_ns, S(10));
    assert_int_equal(sched_done(s, "A", S(31), SCHED_RELEASED), 0);
    assert_int_equal(sched_next_due(s), S(20));
    /* Removal while in flight: done then reports unknown. */
    assert_int_equal(sched_pop(s, S(30), S(30), 4, it), 1);
    assert_int_equal(sched_remove(s, "A"), 1);
    assert_int_equal(sched_done(s, "A", S(31), SCHED_CHANGED), -1);
    assert_int_equal(sched_size(s), 0);
    assert_int_equal(sched_next_due(s), INT64_MAX);
    sched_free(s);
}

/* ---- batch optimizer ---- */

static const sched_source_rate JUPITER = {27.0 / 60, 100, SCHED_EVERY, 0};
static const sched_source_rate DEXSCREENER = {290.0 / 60, 30, SCHED_EVERY, 0};
static const sched_source_rate HELIUS = {1.8, 1000, SCHED_EVERY, 0};

static void capacity(void **state)
{
    (void)state;
    sched_source_rate all[] = {JUPITER, DEXSCREENER, HELIUS};
    assert_float_equal(sched_capacity(all, 3, 0), 45.0, 1e-9); /* Jupiter keyless is the floor */
    assert_float_equal(sched_capacity(all + 1, 2, 0), 145.0, 1e-9);
    /* A global 1 request/s: each token costs 1/100 + 1/30 + 1/1000 requests. */
    assert_float_equal(sched_capacity(all, 3, 1.0), 1.0 / (0.01 + 1.0 / 30 + 0.001), 1e-9);
    assert_true(isinf(sched_capacity(NULL, 0, 0)));
    sched_source_rate unlimited = {0, 50, SCHED_EVERY, 0};
    assert_true(isinf(sched_capacity(&unlimited, 1, 0)));
}

static void plan_fills_requests(void **state)
{
    (void)state;
    /* 95 due + 5 due soon: one full Jupiter request of 100. */
    assert_int_equal(sched_plan_batch(95, 5, 1000, &JUPITER, 1), 100);
    assert_int_equal(sched_plan_batch(95, 3, 1000, &JUPITER, 1), 98);
    /* More soon than needed: stop at the full request, not 100 + a sliver. */
    assert_int_equal(sched_plan_batch(95, 40, 1000, &JUPITER, 1), 100);
    assert_int_equal(sched_plan_batch(130, 100, 1000, &JUPITER, 1), 200);
    /* Never fewer than the due ones, never more than the cap. */
    assert_int_equal(sched_plan_batch(150, 0, 1000, &JUPITER, 1), 150);
    assert_int_equal(sched_plan_batch(95, 50, 90, &JUPITER, 1), 90);
    assert_int_equal(sched_plan_batch(0, 50, 1000, &JUPITER, 1), 0);
    /* All three: Jupiter keyless (45 tokens/s) is the bottleneck, so its
     * requests are the ones to fill; DexScreener has slack. */
    sched_source_rate all[] = {JUPITER, DEXSCREENER, HELIUS};
    assert_int_equal(sched_plan_batch(50, 100, 300, all, 3), 100);
    /* With a Jupiter key (600/min = 1000 tokens/s) DexScreener is the
     * bottleneck: fill its requests of 30; the smallest n wins ties. */
    sched_source_rate keyed[] = {{10, 100, SCHED_EVERY, 0}, DEXSCREENER, HELIUS};
    assert_int_equal(sched_plan_batch(50, 100, 300, keyed, 2), 60);
    assert_int_equal(sched_plan_batch(61, 100, 300, keyed, 2), 90);
    /* Add Helius: 1.8 requests/s of mostly empty 1000-id requests carry
     * only 1.8*n tokens/s, below DexScreener's 145 until n >= 81; the first
     * n where neither holds it back is 90. */
    assert_int_equal(sched_plan_batch(50, 100, 300, keyed, 3), 90);
    /* Nothing limited: nothing is refreshed early. */
    sched_source_rate free_src = {0, 100, SCHED_EVERY, 0};
    assert_int_equal(sched_plan_batch(95, 5, 1000, &free_src, 1), 95);
}

static void next_batch_tops_up(void **state)
{
    (void)state;
    sched_params p;
    sched_params_default(&p);
    sched *s = sched_new(&p);
    char addr[32];
    sched_signals c = cold_sig();
    /* 95 due at t <= 100 s, 5 due at 101-102 s, 50 more at 200 s. */
    for (size_t i = 0; i < 150; i++) {
        addr_of(i, addr, sizeof addr);
        int64_t due = i < 95 ? S(i) : i < 100 ? S(101) + (int64_t)(i % 2) * NS_PER_S : S(200);
        sched_upsert(s, addr, &c, due);
    }
    sched_item out[1000];
    sched_batch_params bp = {.max_batch = 1000, .horizon_ns = S(3), .src = &JUPITER, .n_src = 1};
    /* Nothing due: nothing popped, even with tokens due soon. */
    assert_int_equal(sched_next_batch(s, -S(1), &bp, out), 0);
    size_t n = sched_next_batch(s, S(100), &bp, out);
    assert_int_equal(n, 100);
    for (size_t i = 0; i < 95; i++)
        assert_true(out[i].lag_ns >= 0);
    for (size_t i = 95; i < 100; i++) {
        assert_true(out[i].lag_ns < 0); /* topped up early */
        assert_true(index_of(out[i].address) >= 95 && index_of(out[i].address) < 100);
    }
    assert_int_equal(sched_queued(s), 50);
    /* Without the horizon only the due ones go. */
    for (size_t i = 0; i < 100; i++)
        sched_done(s, out[i].address, S(100), SCHED_RELEASED);
    bp.horizon_ns = 0;
    assert_int_equal(sched_next_batch(s, S(100), &bp, out), 95);
    sched_free(s);
}

/* ---- simulation: a fake engine on the injected clock ---- */

typedef enum price_mode { PRICE_ALWAYS, PRICE_NEVER, PRICE_HALF } price_mode;

typedef struct sim_stats {
    uint64_t refreshes;
    int64_t last;
    int64_t max_gap;
    int64_t max_lag;
    double sum_gap;
    uint64_t gaps;
} sim_stats;

typedef struct sim {
    sched *s;
    size_t n;
    sim_stats *st;
    sched_tier *tier;
    sched_source_rate src;
    int64_t horizon_ns;
    int64_t measure_from;
    int rebalance;         /* every 60 s, as the daemon would each metrics interval */
    price_mode mode;
    uint64_t rng;
    sched_load load;
    int64_t max_lag_seen;  /* after measure_from */
    int64_t end;
} sim;

static void sim_init(sim *x, const sched_params *p, const size_t counts[SCHED_TIERS], sched_source_rate src)
{
    memset(x, 0, sizeof *x);
    x->s = sched_new(p);
    x->src = src;
    x->rng = 7;
    for (int t = 0; t < SCHED_TIERS; t++)
        x->n += counts[t];
    x->st = calloc(x->n, sizeof *x->st);
    x->tier = calloc(x->n, sizeof *x->tier);
    size_t i = 0;
    char addr[32];
    for (int t = 0; t < SCHED_TIERS; t++) {
        sched_signals sig = t == SCHED_HOT ? hot_sig() : t == SCHED_WARM ? warm_sig() : cold_sig();
        for (size_t k = 0; k < counts[t]; k++, i++) {
            addr_of(i, addr, sizeof addr);
            /* Spread first due times over the first minute. */
            assert_int_equal(sched_upsert(x->s, addr, &sig, (int64_t)(rng_unit(&x->rng) * 60e9)), 1);
            x->tier[i] = (sched_tier)t;
            x->st[i].last = INT64_MIN;
        }
    }
}

static void sim_free(sim *x)
{
    sched_free(x->s);
    free(x->st);
    free(x->tier);
}

/* One request every 1/rate seconds, as the limiter would allow. */
static void sim_run(sim *x, int64_t end)
{
    int64_t step = (int64_t)(1e9 / x->src.rate_per_s);
    x->end = end;
    sched_batch_params bp = {.max_batch = x->src.chunk, .horizon_ns = x->horizon_ns, .src = &x->src, .n_src = 1};
    sched_item *items = calloc(x->src.chunk, sizeof *items);
    int64_t next_rebalance = 0;
    for (int64_t now = 0; now < end; now += step) {
        if (x->rebalance && now >= next_rebalance) {
            sched_rebalance(x->s, sched_capacity(&x->src, 1, 0), &x->load);
            next_rebalance = now + S(60);
        }
        size_t n = sched_next_batch(x->s, now, &bp, items);
        for (size_t k = 0; k < n; k++) {
            size_t i = index_of(items[k].address);
            sim_stats *st = &x->st[i];
            if (now >= x->measure_from) {
                st->refreshes++;
                if (items[k].lag_ns > x->max_lag_seen)
                    x->max_lag_seen = items[k].lag_ns;
                if (items[k].lag_ns > st->max_lag)
                    st->max_lag = items[k].lag_ns;
                if (st->last != INT64_MIN) {
                    int64_t gap = now - st->last;
                    st->sum_gap += (double)gap;
                    st->gaps++;
                    if (gap > st->max_gap)
                        st->max_gap = gap;
                }
            }
            st->last = now;
            int changed = x->mode == PRICE_ALWAYS   ? 1
                          : x->mode == PRICE_NEVER ? 0
                                                   : (rng_next(&x->rng) & 1);
            assert_int_equal(sched_done(x->s, items[k].address, now, changed ? SCHED_CHANGED : SCHED_UNCHANGED),
                             0);
        }
    }
    free(items);
}

typedef struct tier_obs {
    double refreshes_per_token;
    double mean_gap_s;
    double max_gap_s;
    double max_wait_s; /* longest gap, counting the open one at the end (starvation) */
    double max_lag_s;  /* most overdue at dispatch */
} tier_obs;

static tier_obs sim_tier(const sim *x, sched_tier t)
{
    tier_obs o = {0, 0, 0, 0, 0};
    double gaps = 0, tokens = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (x->tier[i] != t)
            continue;
        tokens++;
        o.refreshes_per_token += (double)x->st[i].refreshes;
        o.mean_gap_s += x->st[i].sum_gap / 1e9;
        gaps += (double)x->st[i].gaps;
        if ((double)x->st[i].max_gap / 1e9 > o.max_gap_s)
            o.max_gap_s = (double)x->st[i].max_gap / 1e9;
        int64_t open = x->end - (x->st[i].last == INT64_MIN ? 0 : x->st[i].last);
        double wait = (double)(open > x->st[i].max_gap ? open : x->st[i].max_gap) / 1e9;
        if (wait > o.max_wait_s)
            o.max_wait_s = wait;
        if ((double)x->st[i].max_lag / 1e9 > o.max_lag_s)
            o.max_lag_s = (double)x->st[i].max_lag / 1e9;
    }
    o.refreshes_per_token /= tokens;
    o.mean_gap_s = gaps > 0 ? o.mean_gap_s / gaps : 0;
    return o;
}

static void hot_refreshed_4x_cold(void **state)
{
    (void)state;
    const price_mode modes[] = {PRICE_ALWAYS, PRICE_NEVER, PRICE_HALF};
    for (size_t m = 0; m < 3; m++) {
        sched_params p;
        sched_params_default(&p);
        const size_t counts[SCHED_TIERS] = {20, 40, 200};
        sim x;
        /* Plenty of capacity: 10 requests/s of 10. */
        sim_init(&x, &p, counts, (sched_source_rate){10, 10, SCHED_EVERY, 0});
        x.mode = modes[m];
        x.horizon_ns = S(1) / 10;
        x.measure_from = S(3600);
        sim_run(&x, S(6 * 3600));
        tier_obs hot = sim_tier(&x, SCHED_HOT), warm = sim_tier(&x, SCHED_WARM), cold = sim_tier(&x, SCHED_COLD);
        print_message("mode %zu: refreshes/token in 5 h: hot %.0f warm %.0f cold %.0f (hot/cold %.1fx)\n", m,
                      hot.refreshes_per_token, warm.refreshes_per_token, cold.refreshes_per_token,
                      hot.refreshes_per_token / cold.refreshes_per_token);
        assert_true(hot.refreshes_per_token >= 4.0 * cold.refreshes_per_token);
        assert_true(warm.refreshes_per_token > cold.refreshes_per_token);
        assert_true(hot.refreshes_per_token > warm.refreshes_per_token);
        /* Nobody waits longer than max_interval plus a request's spacing. */
        assert_true(cold.max_gap_s <= 300.0 + 0.2);
        sim_free(&x);
    }
}

static void simulated_convergence(void **state)
{
    (void)state;
    sched_params p;
    sched_params_default(&p);
    const size_t counts[SCHED_TIERS] = {10, 0, 10};
    for (int changing = 0; changing <= 1; changing++) {
        sim x;
        sim_init(&x, &p, counts, (sched_source_rate){10, 10, SCHED_EVERY, 0});
        x.mode = changing ? PRICE_ALWAYS : PRICE_NEVER;
        x.measure_from = S(2 * 3600);
        sim_run(&x, S(3 * 3600));
        char addr[32];
        sched_token t;
        /* Hot token 0, cold token 10. */
        addr_of(0, addr, sizeof addr);
        assert_int_equal(sched_get(x.s, addr, &t), 0);
        assert_int_equal(t.interval_ns, changing ? p.min_interval_ns : p.tier[SCHED_HOT].ceiling_ns);
        addr_of(10, addr, sizeof addr);
        assert_int_equal(sched_get(x.s, addr, &t), 0);
        assert_int_equal(t.interval_ns, changing ? p.tier[SCHED_COLD].floor_ns : p.max_interval_ns);
        /* And the observed gaps match (requests are 0.1 s apart). */
        tier_obs hot = sim_tier(&x, SCHED_HOT), cold = sim_tier(&x, SCHED_COLD);
        if (changing) {
            assert_float_equal(hot.mean_gap_s, 15.0, 0.15);
        } else {
            assert_float_equal(cold.mean_gap_s, 300.0, 0.15);
            assert_float_equal(hot.mean_gap_s, 60.0, 0.15);
        }
        sim_free(&x);
    }
}

/* A 3x overload of COUNTS (dynamic intervals off: hot 15 s, warm 60 s, cold
 * 300 s), requests of 5 tokens paced at the rate that gives a third of the
 * demand, measured over hours 1-5. */
static void run_overload(sim *x, const size_t counts[SCHED_TIERS], int rebalance, int dynamic)
{
    sched_params p;
    sched_params_default(&p);
    p.dynamic_intervals = dynamic;
    double demand = (double)counts[0] / 15 + (double)counts[1] / 60 + (double)counts[2] / 300;
    size_t chunk = 5;
    sim_init(x, &p, counts, (sched_source_rate){demand / 3 / (double)chunk, chunk, SCHED_EVERY, 0});
    x->rebalance = rebalance;
    x->mode = PRICE_HALF;
    x->horizon_ns = (int64_t)(1e9 / x->src.rate_per_s); /* one request's spacing */
    x->measure_from = S(3600);
    sim_run(x, S(5 * 3600));
}

static void print_overload(const char *what, const sim *x)
{
    tier_obs o[SCHED_TIERS];
    for (int t = 0; t < SCHED_TIERS; t++)
        o[t] = sim_tier(x, (sched_tier)t);
    print_message("%s: demand %.2f/s capacity %.2f/s stretch %.2f/%.2f/%.2f planned %.2f/s\n", what,
                  x->load.demand_total, x->load.capacity, x->load.stretch[0], x->load.stretch[1], x->load.stretch[2],
                  x->load.planned_total);
    print_message("%s: mean/max gap hot %.1f/%.1f s, warm %.1f/%.1f s, cold %.1f/%.1f s; longest wait %.1f s; "
                  "max lag hot/warm/cold %.1f/%.1f/%.1f s\n",
                  what, o[0].mean_gap_s, o[0].max_gap_s, o[1].mean_gap_s, o[1].max_gap_s, o[2].mean_gap_s,
                  o[2].max_gap_s, fmax(o[0].max_wait_s, fmax(o[1].max_wait_s, o[2].max_wait_s)), o[0].max_lag_s,
                  o[1].max_lag_s, o[2].max_lag_s);
}

/* Hot 15 @15 s (1/s), warm 400 @60 s (6.7/s), cold 100 @300 s (0.33/s):
 * 8 tokens/s against 2.67. */
static const size_t OVERLOAD[SCHED_TIERS] = {15, 400, 100};
/* Hot 45 @15 s alone (3/s) is more than the capacity (4.33/3 = 1.44/s). */
static const size_t OVERLOAD_HOT[SCHED_TIERS] = {45, 60, 100};

static void overload_keeps_top_tier(void **state)
{
    (void)state;
    sim x;
    run_overload(&x, OVERLOAD, 1, 0);
    print_overload("overload", &x);
    double spacing = 1.0 / x.src.rate_per_s; /* 1.9 s between requests */
    tier_obs hot = sim_tier(&x, SCHED_HOT), warm = sim_tier(&x, SCHED_WARM), cold = sim_tier(&x, SCHED_COLD);
    assert_true(x.load.overloaded);
    assert_false(x.load.infeasible);
    assert_float_equal(x.load.stretch[SCHED_HOT], 1.0, 1e-12);
    assert_true(x.load.stretch[SCHED_WARM] > 2.0);
    assert_float_equal(x.load.stretch[SCHED_WARM], x.load.stretch[SCHED_COLD], 1e-12);
    assert_true(x.load.planned_total <= x.load.budget * (1 + 1e-9));
    /* The top tier meets its 15 s interval: on average, and never later
     * than the next request after it came due. */
    assert_true(hot.mean_gap_s <= 15.0 + 0.5);
    assert_true(hot.max_gap_s <= 15.0 + spacing + 0.01);
    assert_true(hot.max_lag_s <= spacing + 0.01);
    /* The rest stretch evenly: warm to 60*f, cold to min(300*f, 540 s). */
    double f = x.load.stretch[SCHED_WARM];
    assert_true(fabs(warm.mean_gap_s - 60.0 * f) < 0.2 * 60.0 * f);
    assert_true(fabs(cold.mean_gap_s - fmin(300.0 * f, 540.0)) < 0.1 * 540.0);
    /* Nothing starves: no wait beyond max_wait (plus the request spacing:
     * the deadline is checked when a request goes). */
    assert_true(warm.max_wait_s <= 600.0 + spacing + 0.01);
    assert_true(cold.max_wait_s <= 600.0 + spacing + 0.01);
    /* Lag is what the stretched tiers absorb, within their slack. */
    sched_lag_stats lag;
    sched_lag(x.s, S(5 * 3600), &lag);
    assert_true(lag.max_ns <= S(600) - S(60) * f);
    sim_free(&x);

    /* With dynamic intervals moving demand around, still nothing starves. */
    run_overload(&x, OVERLOAD, 1, 1);
    print_overload("overload, dynamic", &x);
    for (int t = 0; t < SCHED_TIERS; t++)
        assert_true(sim_tier(&x, (sched_tier)t).max_wait_s <= 600.0 + spacing + 0.01);
    assert_true(sim_tier(&x, SCHED_HOT).max_lag_s <= spacing + 0.01);
    sim_free(&x);
}

static void overload_top_tier_too_big(void **state)
{
    (void)state;
    sim x;
    /* The top tier alone needs more than there is: it stretches too, the
     * rest sit at max_wait, and still nothing starves. */
    run_overload(&x, OVERLOAD_HOT, 1, 0);
    print_overload("hot overload", &x);
    double spacing = 1.0 / x.src.rate_per_s;
    assert_true(x.load.overloaded);
    assert_false(x.load.infeasible);
    assert_true(x.load.stretch[SCHED_HOT] > 1.5);
    tier_obs hot = sim_tier(&x, SCHED_HOT);
    assert_true(fabs(hot.mean_gap_s - 15.0 * x.load.stretch[SCHED_HOT]) < 0.1 * 15.0 * x.load.stretch[SCHED_HOT]);
    for (int t = 0; t < SCHED_TIERS; t++)
        assert_true(sim_tier(&x, (sched_tier)t).max_wait_s <= 600.0 + spacing + 0.01);
    sim_free(&x);

    /* The control, without the plan: the hot tokens take every request and
     * the others starve, which the assertions above would catch. */
    run_overload(&x, OVERLOAD_HOT, 0, 0);
    print_overload("hot overload, no plan", &x);
    assert_true(sim_tier(&x, SCHED_WARM).max_wait_s > 3600.0);
    assert_true(sim_tier(&x, SCHED_COLD).max_wait_s > 3600.0);
    sim_free(&x);
}

/* ---- overload arithmetic ---- */

static void add_tokens(sched *s, size_t from, size_t n, sched_signals sig)
{
    char addr[32];
    for (size_t i = from; i < from + n; i++) {
        addr_of(i, addr, sizeof addr);
        sched_upsert(s, addr, &sig, 0);
    }
}

static void rebalance_math(void **state)
{
    (void)state;
    sched_params p;
    sched_params_default(&p);
    p.dynamic_intervals = 0;
    p.utilization = 1.0;
    p.wait_margin = 0; /* stretched intervals may reach max_wait itself */
    sched *s = sched_new(&p);
    add_tokens(s, 0, 30, hot_sig());   /* 2/s */
    add_tokens(s, 100, 120, warm_sig()); /* 2/s */
    double per[SCHED_TIERS];
    assert_float_equal(sched_demand(s, per), 4.0, 1e-9);
    assert_float_equal(per[SCHED_HOT], 2.0, 1e-9);
    sched_load L;
    /* Enough: nothing stretches. */
    sched_rebalance(s, 4.5, &L);
    assert_false(L.overloaded);
    assert_float_equal(L.stretch[SCHED_WARM], 1.0, 1e-12);
    assert_int_equal(L.top_tier, SCHED_HOT);
    /* 3 tokens/s: warm gets 1/s, so 60 s -> 120 s. */
    sched_rebalance(s, 3.0, &L);
    assert_true(L.overloaded);
    assert_float_equal(L.stretch[SCHED_HOT], 1.0, 1e-12);
    assert_float_equal(L.stretch[SCHED_WARM], 2.0, 1e-6);
    assert_float_equal(L.planned_total, 3.0, 1e-6);
    /* 2.1/s: warm would need 60 s * 20 = 1200 s > max_wait; at 600 s it
     * asks 0.2/s, so the top tier must give way: 2.1 - 0.2 = 1.9/s for 30
     * hot tokens -> 15.79 s. */
    sched_rebalance(s, 2.1, &L);
    assert_false(L.infeasible);
    assert_float_equal(L.planned[SCHED_WARM], 0.2, 1e-9);
    assert_float_equal(L.stretch[SCHED_HOT], 2.0 / 1.9, 1e-6);
    assert_float_equal(L.planned_total, 2.1, 1e-6);
    /* Everything at max_wait asks 150/600 = 0.25/s: below that it cannot fit. */
    sched_rebalance(s, 0.2, &L);
    assert_true(L.infeasible);
    assert_float_equal(L.planned_total, 0.25, 1e-9);
    /* Stretched intervals apply to what gets rescheduled, capped by max_wait. */
    sched_rebalance(s, 3.0, &L);
    sched_item it[200];
    size_t n = sched_pop(s, 0, 0, 200, it);
    assert_int_equal(n, 150);
    for (size_t i = 0; i < n; i++)
        sched_done(s, it[i].address, S(1000), SCHED_UNCHANGED);
    sched_token t;
    assert_int_equal(sched_get(s, "Tok000100", &t), 0);
    assert_int_equal(t.interval_ns, S(60));
    assert_true(llabs(t.effective_ns - S(120)) < 1000); /* bisection: within 1 us */
    assert_true(llabs(t.due_ns - S(1120)) < 1000);
    /* A new plan re-keys queued tokens from their last refresh. */
    sched_rebalance(s, INFINITY, &L);
    assert_int_equal(sched_get(s, "Tok000100", &t), 0);
    assert_int_equal(t.due_ns, S(1060));
    sched_rebalance(s, 0.2, &L);
    assert_int_equal(sched_get(s, "Tok000100", &t), 0);
    assert_int_equal(t.due_ns, S(1600)); /* capped exactly at max_wait */
    assert_int_equal(sched_get(s, "Tok000000", &t), 0);
    assert_true(t.effective_ns <= p.max_wait_ns);
    sched_free(s);

    /* With the default 10% margin the cap is 540 s, and the deadline keeps
     * the other 60 s. */
    sched_params_default(&p);
    p.dynamic_intervals = 0;
    s = sched_new(&p);
    add_tokens(s, 100, 120, warm_sig());
    sched_rebalance(s, 0.01, &L);
    assert_true(L.infeasible);
    n = sched_pop(s, 0, 0, 200, it);
    for (size_t i = 0; i < n; i++)
        sched_done(s, it[i].address, S(1000), SCHED_UNCHANGED);
    assert_int_equal(sched_get(s, "Tok000100", &t), 0);
    assert_int_equal(t.effective_ns, S(540));
    assert_int_equal(t.due_ns, S(1540));
    sched_free(s);
}

static void only_one_tier_stretches_itself(void **state)
{
    (void)state;
    sched_params p;
    sched_params_default(&p);
    p.prioritization = 0; /* everything warm */
    p.dynamic_intervals = 0;
    p.utilization = 1.0;
    sched *s = sched_new(&p);
    add_tokens(s, 0, 120, hot_sig()); /* warm all the same: 2/s */
    sched_load L;
    sched_rebalance(s, 1.0, &L);
    assert_int_equal(L.top_tier, SCHED_WARM);
    assert_float_equal(L.stretch[SCHED_WARM], 2.0, 1e-6);
    assert_float_equal(L.stretch[SCHED_HOT], 1.0, 1e-12);
    sched_free(s);
}

static void lag_stats(void **state)
{
    (void)state;
    sched_params p;
    sched_params_default(&p);
    sched *s = sched_new(&p);
    char addr[32];
    sched_signals c = cold_sig();
    /* 100 tokens due at 1..100 s, 50 in the future. */
    for (size_t i = 0; i < 150; i++) {
        addr_of(i, addr, sizeof addr);
        sched_upsert(s, addr, &c, S(i + 1));
    }
    sched_lag_stats l;
    sched_lag(s, S(100), &l);
    assert_int_equal(l.due, 100);
    assert_int_equal(l.max_ns, S(99));
    /* Lags 0..99 s: the 95th of 100 by nearest rank is 94 s. */
    assert_int_equal(l.p95_ns, S(94));
    sched_lag(s, 0, &l);
    assert_int_equal(l.due, 0);
    assert_int_equal(l.max_ns, 0);
    sched_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(score_formula),
        cmocka_unit_test(tiers),
        cmocka_unit_test(intervals_converge),
        cmocka_unit_test(price_changed),
        cmocka_unit_test(heap_matches_model),
        cmocka_unit_test(done_and_upsert_semantics),
        cmocka_unit_test(capacity),
        cmocka_unit_test(plan_fills_requests),
        cmocka_unit_test(next_batch_tops_up),
        cmocka_unit_test(hot_refreshed_4x_cold),
        cmocka_unit_test(simulated_convergence),
        cmocka_unit_test(overload_keeps_top_tier),
        cmocka_unit_test(overload_top_tier_too_big),
        cmocka_unit_test(rebalance_math),
        cmocka_unit_test(only_one_tier_stretches_itself),
        cmocka_unit_test(lag_stats),
    };
    return cmocka_run_group_tests_name("scheduler", tests, NULL, NULL);
}
