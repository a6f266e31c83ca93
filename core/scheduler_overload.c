/* The scheduler's demand and overload plan (sched_demand, sched_rebalance:
 * stretch factors that fit demand to capacity, then re-keying the queued
 * tokens) and its lag statistics (sched_lag). Reads entries and heaps
 * through scheduler_internal.h and changes them only through
 * sched_set_due and sched_heapify: must not add, remove, pop or complete
 * tokens (scheduler.c) nor hold scoring or interval rules
 * (scheduler_policy.c). */
#include "scheduler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler_internal.h"
#include "util.h"

/* ---- overload ---- */

double sched_demand(const sched *s, double per_tier[SCHED_TIERS])
{
    double d[SCHED_TIERS] = {0}, total = 0;
    for (size_t i = 0; i < s->n_slots; i++)
        if (s->e[i].address)
            d[s->e[i].tier] += (double)NS_PER_S / (double)s->e[i].interval_ns;
    for (int t = 0; t < SCHED_TIERS; t++) {
        total += d[t];
        if (per_tier)
            per_tier[t] = d[t];
    }
    return total;
}

/* Stretched interval in seconds: I*f capped at W, never below I. */
static double stretched(double interval, double f, double w)
{
    double v = interval * f;
    return v <= w ? v : (interval > w ? interval : w);
}

typedef struct tier_set {
    double *iv; /* unstretched intervals in seconds */
    size_t n;
    double min_iv;
} tier_set;

static double tier_load(const tier_set *t, double f, double w)
{
    double sum = 0;
    for (size_t i = 0; i < t->n; i++)
        sum += 1.0 / stretched(t->iv[i], f, w);
    return sum;
}

static double tiers_load(const tier_set *ts, int from, double f, double w)
{
    double sum = 0;
    for (int t = from; t < SCHED_TIERS; t++)
        sum += tier_load(&ts[t], f, w);
    return sum;
}

/* Factor at which every interval in tiers FROM.. is capped at W. */
static double cap_factor(const tier_set *ts, int from, double w)
{
    double min_iv = INFINITY;
    for (int t = from; t < SCHED_TIERS; t++)
        if (ts[t].n)
            min_iv = fmin(min_iv, ts[t].min_iv);
    return isfinite(min_iv) && min_iv < w ? w / min_iv : 1.0;
}

/* Smallest f in [1, HI] with load(f) <= BUDGET (load falls as f grows);
 * HI is known to satisfy it. Bisection to 1e-13: well below 1 ns. */
static double solve_factor(const tier_set *ts, int from, int to, double budget, double w, double hi)
{
    double lo = 1.0;
    for (int it = 0; it < 100 && hi - lo > 1e-13 * hi; it++) {
        double mid = 0.5 * (lo + hi), load = 0;
        for (int t = from; t < to; t++)
            load += tier_load(&ts[t], mid, w);
        if (load <= budget)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void sched_rebalance(sched *s, double capacity, sched_load *out)
{
    sched_load L;
    memset(&L, 0, sizeof L);
    double w = (double)sched_stretch_cap(&s->p) / (double)NS_PER_S;
    tier_set ts[SCHED_TIERS];
    memset(ts, 0, sizeof ts);
    for (int t = 0; t < SCHED_TIERS; t++) {
        ts[t].iv = xmalloc((s->count ? s->count : 1) * sizeof(double));
        ts[t].min_iv = INFINITY;
    }
    for (size_t i = 0; i < s->n_slots; i++) {
        const entry *x = &s->e[i];
        if (!x->address)
            continue;
        tier_set *t = &ts[x->tier];
        double iv = (double)x->interval_ns / (double)NS_PER_S;
        t->iv[t->n++] = iv;
        t->min_iv = fmin(t->min_iv, iv);
    }
    L.top_tier = SCHED_TIERS;
    for (int t = 0; t < SCHED_TIERS; t++) {
        L.stretch[t] = 1.0;
        L.demand[t] = tier_load(&ts[t], 1.0, INFINITY);
        L.demand_total += L.demand[t];
        if (ts[t].n && L.top_tier == SCHED_TIERS)
            L.top_tier = t;
    }
    L.capacity = capacity > 0 ? capacity : INFINITY;
    L.budget = L.capacity * s->p.utilization;
    if (isfinite(L.budget) && L.demand_total > L.budget && L.top_tier < SCHED_TIERS) {
        L.overloaded = 1;
        int top = L.top_tier;
        double rest_hi = cap_factor(ts, top + 1, w);
        double top_hi = cap_factor(ts, top, w);
        double rest_floor = tiers_load(ts, top + 1, rest_hi, w);
        double f_top = 1.0, f_rest;
        if (L.demand[top] + rest_floor <= L.budget) {
            /* The tiers below absorb it: one factor for all of them. */
            f_rest = solve_factor(ts, top + 1, SCHED_TIERS, L.budget - L.demand[top], w, rest_hi);
        } else {
            /* Even with the rest at max_wait it does not fit: the top tier
             * gives way too, and if that is not enough the plan is simply
             * everything at max_wait (lag will grow; it is reported). */
            f_rest = rest_hi;
            double room = L.budget - rest_floor;
            if (tier_load(&ts[top], top_hi, w) > room) {
                L.infeasible = 1;
                f_top = top_hi;
            } else {
                f_top = solve_factor(ts, top, top + 1, room, w, top_hi);
            }
        }
        L.stretch[top] = f_top;
        for (int t = top + 1; t < SCHED_TIERS; t++)
            L.stretch[t] = f_rest;
    }
    for (int t = 0; t < SCHED_TIERS; t++) {
        L.planned[t] = tier_load(&ts[t], L.stretch[t], w);
        L.planned_total += L.planned[t];
        s->stretch[t] = L.stretch[t];
        free(ts[t].iv);
    }
    /* Re-key what was scheduled under the old factors, so a change takes
     * effect now rather than one (possibly long) interval later. */
    for (int t = 0; t < SCHED_TIERS; t++) {
        heap *h = &s->heap[t];
        for (size_t i = 0; i < h->n; i++) {
            entry *x = &s->e[h->a[i]];
            if (!x->forced)
                sched_set_due(s, x, x->anchor_ns != NO_TIME ? x->anchor_ns + sched_effective(s, x) : x->due_ns);
        }
        sched_heapify(s, h);
    }
    sched_heapify(s, &s->urgent);
    if (out)
        *out = L;
}

static void collect_lag(const sched *s, const heap *h, size_t pos, int64_t now, int64_t *lags, size_t *n)
{
    if (pos >= h->n || s->e[h->a[pos]].due_ns > now)
        return;
    lags[(*n)++] = now - s->e[h->a[pos]].due_ns;
    collect_lag(s, h, 2 * pos + 1, now, lags, n);
    collect_lag(s, h, 2 * pos + 2, now, lags, n);
}

void sched_lag(const sched *s, int64_t now, sched_lag_stats *out)
{
    memset(out, 0, sizeof *out);
    size_t due = sched_count_due(s, now, 0);
    if (due == 0)
        return;
    int64_t *lags = xmalloc(due * sizeof *lags);
    size_t n = 0;
    for (int t = 0; t < SCHED_TIERS; t++)
        collect_lag(s, &s->heap[t], 0, now, lags, &n);
    qsort(lags, n, sizeof *lags, cmp_i64);
    out->due = n;
    out->max_ns = lags[n - 1];
    out->p95_ns = lags[(n * 95 + 99) / 100 - 1]; /* nearest rank: ceil(0.95 n) */
    free(lags);
}

/* ---- advice ---- */

void sched_recommend(const sched *s, double capacity, sched_advice *out)
{
    memset(out, 0, sizeof *out);
    double demand = 0, budget = capacity * s->p.utilization;
    for (size_t i = 0; i < s->n_slots; i++)
        if (s->e[i].address)
            out->tokens[s->e[i].tier]++;
    size_t total = 0;
    for (int t = 0; t < SCHED_TIERS; t++) {
        out->base_s[t] = (double)s->p.tier[t].base_ns / 1e9;
        demand += (double)out->tokens[t] / out->base_s[t];
        total += out->tokens[t];
    }
    double floor_s = (double)s->p.min_interval_ns / 1e9;
    int limited = isfinite(budget) && budget > 0;
    out->load_factor = limited ? demand / budget : 0;
    out->uniform_s = limited ? (double)total / budget : floor_s;
    if (out->uniform_s < floor_s)
        out->uniform_s = floor_s;
    for (int t = 0; t < SCHED_TIERS; t++) {
        double v = limited ? out->base_s[t] * out->load_factor : floor_s;
        out->sustainable_s[t] = v < floor_s ? floor_s : v;
    }
}
