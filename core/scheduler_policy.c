/* The scheduler's policy (scheduler.h): parameters and tier ranges, the
 * priority score and tiers, interval steps, capacity and batch sizing. Pure
 * functions of their arguments: must not touch a scheduler instance (its
 * entries, index or heaps: scheduler.c) nor plan for overload
 * (scheduler_overload.c). */
#include "scheduler.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "scheduler_internal.h"
#include "util.h"

/* ---- parameters ---- */

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void sched_params_derive_tiers(sched_params *p)
{
    int64_t lo = p->min_interval_ns, hi = p->max_interval_ns;
    if (hi < lo)
        hi = lo;
    /* Each tier spans about 4x and the tiers are offset so that, for the
     * same price behaviour, hot is refreshed 4-5x as often as cold (15-60 s
     * vs 75-300 s). The old service let any token that kept changing fall to
     * 15 s whatever its rank; with thousands of traded memecoins that puts
     * everything at the floor and tiers only matter under overload. */
    sched_tier_params *t = p->tier;
    t[SCHED_HOT] = (sched_tier_params){600, lo, lo, 4 * lo};
    t[SCHED_WARM] = (sched_tier_params){300, 2 * lo, 4 * lo, hi / 2};
    t[SCHED_COLD] = (sched_tier_params){0, hi / 4, hi, hi};
    for (int i = 0; i < SCHED_TIERS; i++) {
        t[i].floor_ns = clamp64(t[i].floor_ns, lo, hi);
        t[i].ceiling_ns = clamp64(t[i].ceiling_ns, t[i].floor_ns, hi);
        t[i].base_ns = clamp64(t[i].base_ns, t[i].floor_ns, t[i].ceiling_ns);
    }
}

void sched_params_default(sched_params *p)
{
    memset(p, 0, sizeof *p);
    p->min_interval_ns = SCHED_DEFAULT_MIN_INTERVAL_S * NS_PER_S;
    p->max_interval_ns = SCHED_DEFAULT_MAX_INTERVAL_S * NS_PER_S;
    p->max_wait_ns = SCHED_DEFAULT_MAX_WAIT_S * NS_PER_S;
    /* Halve on a change, x1.5 without: a token that starts trading reaches
     * its floor in 2-3 refreshes, a quiet one backs off over ~8. The old
     * /1.2 and x1.05 needed 60 refreshes to go from 15 s to 300 s. */
    p->shrink = 0.5;
    p->grow = 1.5;
    /* 10% headroom: at 100% planned load the queue of due tokens never
     * drains after a burst and the lag only grows. */
    p->utilization = 0.9;
    /* Stretched intervals stop 10% short of max_wait: tokens that come due
     * in a bunch need time to be served before their deadline. */
    p->wait_margin = 0.1;
    p->prioritization = 1;
    p->dynamic_intervals = 1;
    sched_params_derive_tiers(p);
}

/* ---- scoring ---- */

/* Weights over the known signals; they are renormalized when one is
 * unknown, so a token without a rank (nothing here fills ranks yet) is
 * scored on what is known instead of counting as the worst rank. */
#define W_RANK 0.45
#define W_VOLUME 0.35
#define W_VOLAT 0.20

static double clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

double sched_score(const sched_signals *sig)
{
    double sum = 0, w = 0;
    if (sig->rank > 0) {
        /* Log of rank: attention falls off as a power law of rank (the old
         * tier thresholds 50/200/500/1000/3000 are log-spaced too).
         * 1 -> 1, 100 -> 0.5, 10000 and beyond -> 0. */
        sum += W_RANK * clamp01(1.0 - log10((double)sig->rank) / 4.0);
        w += W_RANK;
    }
    double vol = sig->volume_24h_usd;
    if (isfinite(vol) && vol >= 0) {
        /* Continuous log scale, $1k -> 0 .. $1B -> 1, instead of the old
         * steps (+50/+100/+200 at $10k/$100k/$1M, a cliff at each) and the
         * enrichment score's log10(v)/9, which spends a third of its range
         * below $1k. */
        sum += W_VOLUME * (vol < 1000 ? 0 : clamp01((log10(vol) - 3.0) / 6.0));
        w += W_VOLUME;
    }
    double chg = sig->change_24h_pct;
    if (isfinite(chg)) {
        /* Saturating x/(x+20): 5% -> 0.2, 20% -> 0.5, 100% -> 0.83. The old
         * min(100,|x|)/100 barely tells 0% from 5% and a new token's
         * +5000% from +100%. */
        double x = fabs(chg);
        sum += W_VOLAT * (x / (x + 20.0));
        w += W_VOLAT;
    }
    /* Nothing known (no market data from any source): nothing argues for
     * spending requests on it often. The old formula's enrichment status
     * and hours-since-success terms are left out: staleness is what the due
     * time already measures, counting it again double-books it. */
    double score = w > 0 ? 1000.0 * sum / w : 0;
    /* Contest holdings decide money: above every other token, always hot
     * (the old service raised them only to its second tier). */
    if (sig->in_contest)
        score += 1000.0;
    return score;
}

sched_tier sched_tier_of(const sched_params *p, const sched_signals *sig, double score)
{
    if (!p->prioritization)
        return SCHED_WARM;
    if (sig && sig->in_contest)
        return SCHED_HOT;
    for (int t = 0; t < SCHED_TIERS - 1; t++)
        if (score >= p->tier[t].min_score)
            return (sched_tier)t;
    return SCHED_COLD;
}

const char *sched_tier_name(sched_tier t)
{
    static const char *const names[] = {"hot", "warm", "cold"};
    return t >= 0 && t < SCHED_TIERS ? names[t] : "?";
}

/* ---- interval steps ---- */

static void tier_range(const sched_params *p, sched_tier t, int64_t *lo, int64_t *hi)
{
    *lo = p->tier[t].floor_ns > p->min_interval_ns ? p->tier[t].floor_ns : p->min_interval_ns;
    *hi = p->tier[t].ceiling_ns < p->max_interval_ns ? p->tier[t].ceiling_ns : p->max_interval_ns;
    if (*hi < *lo)
        *hi = *lo;
}

/* V (ns) fitted into tier T's range; the base interval when dynamic is off. */
int64_t sched_fit_interval(const sched_params *p, sched_tier t, double v)
{
    int64_t lo, hi;
    tier_range(p, t, &lo, &hi);
    if (!p->dynamic_intervals)
        return clamp64(p->tier[t].base_ns, lo, hi);
    if (!(v >= (double)lo))
        return lo;
    if (v > (double)hi)
        return hi;
    return (int64_t)v;
}

int64_t sched_step_interval(const sched_params *p, sched_tier t, int64_t cur_ns, sched_outcome o)
{
    double v = (double)(cur_ns > 0 ? cur_ns : p->tier[t].base_ns);
    if (o == SCHED_CHANGED)
        v *= p->shrink;
    else if (o == SCHED_UNCHANGED || o == SCHED_NO_PRICE)
        v *= p->grow;
    return sched_fit_interval(p, t, v);
}

int sched_price_changed(double before, double after, double rel_eps)
{
    int b = isfinite(before), a = isfinite(after);
    if (!a || !b)
        return a != b;
    double scale = fmax(fabs(before), fabs(after));
    return fabs(after - before) > rel_eps * scale;
}

/* Longest stretched interval: max_wait less the margin kept for lag. */
int64_t sched_stretch_cap(const sched_params *p)
{
    return (int64_t)((double)p->max_wait_ns * (1.0 - p->wait_margin));
}

/* ---- capacity and batch sizing ---- */

double sched_capacity(const sched_source_rate *src, size_t n, double global_rate_per_s)
{
    double cap = INFINITY, per_token_requests = 0;
    for (size_t i = 0; i < n; i++) {
        double c = src[i].chunk ? (double)src[i].chunk : 1.0;
        per_token_requests += 1.0 / c;
        if (src[i].rate_per_s > 0)
            cap = fmin(cap, src[i].rate_per_s * c);
    }
    if (global_rate_per_s > 0 && per_token_requests > 0)
        cap = fmin(cap, global_rate_per_s / per_token_requests);
    return cap;
}

/* Tokens/s that back-to-back batches of N tokens would get: each source
 * sends ceil(n/chunk) requests for them at its rate; the slowest sets it. */
static double batch_throughput(size_t n, const sched_source_rate *src, size_t n_src)
{
    double best = INFINITY;
    for (size_t i = 0; i < n_src; i++) {
        if (!(src[i].rate_per_s > 0))
            continue;
        size_t c = src[i].chunk ? src[i].chunk : 1;
        size_t requests = (n + c - 1) / c;
        best = fmin(best, src[i].rate_per_s * (double)n / (double)requests);
    }
    return best;
}

size_t sched_plan_batch(size_t due, size_t soon, size_t max, const sched_source_rate *src, size_t n_src)
{
    if (max == 0)
        max = SIZE_MAX;
    size_t lo = due < max ? due : max;
    size_t hi = soon > max - lo ? max : lo + soon;
    if (lo == 0 || lo == hi)
        return lo;
    if (!isfinite(batch_throughput(lo, src, n_src)))
        return lo; /* nothing limited: no reason to refresh anything early */
    size_t best_n = lo;
    double best = batch_throughput(lo, src, n_src);
    for (size_t n = lo + 1; n <= hi; n++) {
        double t = batch_throughput(n, src, n_src);
        if (t > best * (1 + 1e-12)) {
            best = t;
            best_n = n;
        }
    }
    return best_n;
}

/* ---- per-source capacity and the daemon's pacing ---- */

double sched_source_capacity(const sched_source_rate *s)
{
    double chunk = s->chunk ? (double)s->chunk : 1.0;
    return s->rate_per_s > 0 ? s->rate_per_s * chunk : INFINITY;
}

void sched_pacing_derive(double capacity, size_t largest_chunk, long max_batch_cfg, int64_t delay_cfg_ns,
                         sched_pacing *out)
{
    int auto_batch = max_batch_cfg < 0, auto_delay = delay_cfg_ns < 0;
    double cap = isfinite(capacity) && capacity > 0 ? capacity : INFINITY;
    out->derived = auto_batch || auto_delay;
    out->delay_ns = auto_delay ? SCHED_AUTO_DELAY_NS : delay_cfg_ns;
    if (auto_delay && !auto_batch)
        out->delay_ns = isfinite(cap) ? (int64_t)fmin((double)SCHED_AUTO_DELAY_NS,
                                                      (double)max_batch_cfg / (SCHED_PACING_HEADROOM * cap) * 1e9)
                                      : 0; /* nothing limits: no reason to hold batches back */
    if (!auto_batch) {
        out->max_batch = (size_t)max_batch_cfg;
        return;
    }
    double period_s = fmax((double)out->delay_ns, (double)SCHED_AUTO_DELAY_NS / 4) / 1e9;
    double want = isfinite(cap) ? ceil(SCHED_PACING_HEADROOM * cap * period_s) : SCHED_AUTO_MAX_BATCH;
    want = fmin(fmax(want, SCHED_AUTO_MIN_BATCH), SCHED_AUTO_MAX_BATCH);
    size_t n = (size_t)want, k = largest_chunk ? largest_chunk : 1;
    size_t rounded = (n + k - 1) / k * k;
    out->max_batch = rounded <= SCHED_AUTO_MAX_BATCH ? rounded : n;
}

double sched_pacing_capacity(const sched_pacing *p)
{
    if (p->delay_ns <= 0)
        return INFINITY;
    return (double)p->max_batch / ((double)p->delay_ns / 1e9);
}
