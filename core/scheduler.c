#include "scheduler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "str_index.h"
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
static int64_t fit_interval(const sched_params *p, sched_tier t, double v)
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
    return fit_interval(p, t, v);
}

int sched_price_changed(double before, double after, double rel_eps)
{
    int b = isfinite(before), a = isfinite(after);
    if (!a || !b)
        return a != b;
    double scale = fmax(fabs(before), fabs(after));
    return fabs(after - before) > rel_eps * scale;
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

/* ---- the scheduler: entries, address index, heaps ----
 *
 * One min-heap per tier on (due, higher score, insertion order), and one
 * over every queued token on its deadline (the latest refresh that keeps
 * max_wait: last refresh + max_wait). Serving order:
 *   1. hot tokens that are due (unless the plan stretched the hot tier too:
 *      then it has slack like the others and comes after 2);
 *   2. any token whose deadline falls before the top-up horizon ends;
 *   3. warm, then cold tokens that are due;
 *   4. tokens due within the horizon (top-up), soonest first.
 * A single heap on due time would make a hot token due now wait behind
 * every colder token that came due before it; under load due times bunch
 * up (tokens served back-to-back from a backlog come due back-to-back), so
 * the top tier would inherit the backlog's lag. Stretched tiers have slack
 * and absorb that lag instead, up to their deadline: then step 2 serves
 * them ahead of everything but hot. The overload plan keeps the hot load
 * within capacity, and caps stretched intervals wait_margin below max_wait,
 * so step 2 has both the capacity and the time to meet the deadlines. */

#define NO_TIME INT64_MIN

typedef struct entry {
    char *address; /* NULL: free slot */
    double score;
    sched_tier tier;
    int64_t interval_ns; /* dynamic, unstretched */
    int64_t due_ns;
    int64_t deadline_ns; /* refresh by then to keep max_wait */
    int64_t anchor_ns;   /* last refresh or attempt; NO_TIME: never */
    uint64_t seq;        /* insertion order: the last tie-break, for determinism */
    size_t pos[2];       /* in its tier's heap, in the deadline heap; SIZE_MAX: in flight */
    int forced;          /* due set before anchor+interval on purpose: rebalance keeps it */
} entry;

struct sched {
    sched_params p;
    double stretch[SCHED_TIERS];
    entry *e;
    size_t n_slots, cap_slots;
    size_t *free_slots;
    size_t n_free;
    struct heap {
        size_t *a; /* slot indices */
        size_t n;
        int by_deadline; /* 0: a tier's heap on due time; 1: the deadline heap */
    } heap[SCHED_TIERS], urgent;
    size_t queued;
    str_index index; /* address -> slot */
    size_t count;
    uint64_t seq;
};

/* The index reads addresses through the scheduler, not a copy of s->e:
 * new_slot() moves the entries when it grows them. */
static const char *entry_address(const void *sched_, size_t slot)
{
    return ((const sched *)sched_)->e[slot].address;
}

/* Longest stretched interval: max_wait less the margin kept for lag. */
static int64_t stretch_cap(const sched_params *p)
{
    return (int64_t)((double)p->max_wait_ns * (1.0 - p->wait_margin));
}

static int64_t effective(const sched *s, const entry *x)
{
    double f = s->stretch[x->tier];
    if (f <= 1.0)
        return x->interval_ns;
    double v = (double)x->interval_ns * f;
    int64_t cap = stretch_cap(&s->p);
    if (cap < x->interval_ns)
        cap = x->interval_ns;
    return v >= (double)cap ? cap : (int64_t)v;
}

typedef struct heap heap;

/* Tier heaps: earlier due, then higher score, then earlier insertion.
 * Deadline heap: earlier deadline, then earlier insertion. */
static int before(const sched *s, const heap *h, size_t a, size_t b)
{
    const entry *x = &s->e[a], *y = &s->e[b];
    if (h->by_deadline) {
        if (x->deadline_ns != y->deadline_ns)
            return x->deadline_ns < y->deadline_ns;
        return x->seq < y->seq;
    }
    if (x->due_ns != y->due_ns)
        return x->due_ns < y->due_ns;
    if (x->score != y->score)
        return x->score > y->score;
    return x->seq < y->seq;
}

static void heap_set(sched *s, heap *h, size_t pos, size_t slot)
{
    h->a[pos] = slot;
    s->e[slot].pos[h->by_deadline] = pos;
}

static void sift_up(sched *s, heap *h, size_t pos)
{
    size_t slot = h->a[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!before(s, h, slot, h->a[parent]))
            break;
        heap_set(s, h, pos, h->a[parent]);
        pos = parent;
    }
    heap_set(s, h, pos, slot);
}

static void sift_down(sched *s, heap *h, size_t pos)
{
    size_t slot = h->a[pos];
    for (;;) {
        size_t l = 2 * pos + 1, r = l + 1, m = l;
        if (l >= h->n)
            break;
        if (r < h->n && before(s, h, h->a[r], h->a[l]))
            m = r;
        if (!before(s, h, h->a[m], slot))
            break;
        heap_set(s, h, pos, h->a[m]);
        pos = m;
    }
    heap_set(s, h, pos, slot);
}

static void heap_push(sched *s, heap *h, size_t slot)
{
    h->a[h->n] = slot;
    s->e[slot].pos[h->by_deadline] = h->n;
    h->n++;
    sift_up(s, h, h->n - 1);
}

static void heap_remove(sched *s, heap *h, size_t slot)
{
    size_t pos = s->e[slot].pos[h->by_deadline];
    s->e[slot].pos[h->by_deadline] = SIZE_MAX;
    h->n--;
    if (pos == h->n)
        return;
    size_t moved = h->a[h->n];
    heap_set(s, h, pos, moved);
    sift_up(s, h, pos);
    sift_down(s, h, s->e[moved].pos[h->by_deadline]);
}

static void heapify(sched *s, heap *h)
{
    for (size_t i = h->n / 2; i-- > 0;)
        sift_down(s, h, i);
}

static int is_queued(const entry *x)
{
    return x->pos[0] != SIZE_MAX;
}

/* Into its tier's heap and the deadline heap. */
static void enqueue(sched *s, size_t slot)
{
    heap_push(s, &s->heap[s->e[slot].tier], slot);
    heap_push(s, &s->urgent, slot);
    s->queued++;
}

static void dequeue(sched *s, size_t slot)
{
    heap_remove(s, &s->heap[s->e[slot].tier], slot);
    heap_remove(s, &s->urgent, slot);
    s->queued--;
}

static int64_t add_sat(int64_t a, int64_t b)
{
    return b > 0 && a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Due at DUE; the deadline leaves the slack between its interval and
 * max_wait (measured from the last refresh: due - interval + max_wait). */
static void set_due(const sched *s, entry *x, int64_t due)
{
    int64_t slack = s->p.max_wait_ns - effective(s, x);
    x->due_ns = due;
    x->deadline_ns = add_sat(due, slack > 0 ? slack : 0);
}

sched *sched_new(const sched_params *p)
{
    sched *s = xcalloc(1, sizeof *s);
    s->p = *p;
    for (int t = 0; t < SCHED_TIERS; t++)
        s->stretch[t] = 1.0;
    s->urgent.by_deadline = 1;
    str_index_init(&s->index, 64, entry_address, s);
    return s;
}

void sched_free(sched *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_slots; i++)
        free(s->e[i].address);
    free(s->e);
    free(s->free_slots);
    for (int t = 0; t < SCHED_TIERS; t++)
        free(s->heap[t].a);
    free(s->urgent.a);
    str_index_free(&s->index);
    free(s);
}

static size_t new_slot(sched *s)
{
    if (s->n_free)
        return s->free_slots[--s->n_free];
    if (s->n_slots == s->cap_slots) {
        s->cap_slots = s->cap_slots ? s->cap_slots * 2 : 64;
        s->e = xrealloc(s->e, s->cap_slots * sizeof *s->e);
        for (int t = 0; t < SCHED_TIERS; t++)
            s->heap[t].a = xrealloc(s->heap[t].a, s->cap_slots * sizeof *s->heap[t].a);
        s->urgent.a = xrealloc(s->urgent.a, s->cap_slots * sizeof *s->urgent.a);
        s->free_slots = xrealloc(s->free_slots, s->cap_slots * sizeof *s->free_slots);
    }
    return s->n_slots++;
}

int sched_upsert(sched *s, const char *addr, const sched_signals *sig, int64_t due_ns)
{
    if (!addr || !*addr || !sig)
        return -1;
    size_t *cell = str_index_cell(&s->index, addr);
    double score = s->p.prioritization ? sched_score(sig) : 0;
    sched_tier tier = sched_tier_of(&s->p, sig, score);
    if (*cell == 0) {
        if (2 * (s->count + 1) > s->index.cap) {
            str_index_grow(&s->index);
            cell = str_index_cell(&s->index, addr);
        }
        size_t slot = new_slot(s);
        entry *x = &s->e[slot];
        *x = (entry){.address = xstrdup(addr), .score = score, .tier = tier,
                     .anchor_ns = NO_TIME, .seq = s->seq++, .pos = {SIZE_MAX, SIZE_MAX}};
        x->interval_ns = fit_interval(&s->p, tier, (double)s->p.tier[tier].base_ns);
        set_due(s, x, due_ns);
        *cell = slot + 1;
        s->count++;
        enqueue(s, slot);
        return 1;
    }
    size_t slot = *cell - 1;
    entry *x = &s->e[slot];
    int queued = is_queued(x);
    if (queued)
        dequeue(s, slot); /* its keys and maybe its heap change */
    x->score = score;
    if (tier != x->tier) {
        x->tier = tier;
        /* Keep what was learnt about its volatility, within the new range. */
        x->interval_ns = fit_interval(&s->p, tier, (double)x->interval_ns);
    }
    if (!queued)
        return 0; /* in flight: sched_done schedules it with the new values */
    int64_t due = x->due_ns;
    if (x->anchor_ns != NO_TIME && x->anchor_ns + effective(s, x) < due)
        due = x->anchor_ns + effective(s, x);
    if (due_ns < due) {
        due = due_ns;
        x->forced = 1;
    }
    set_due(s, x, due);
    enqueue(s, slot);
    return 0;
}

int sched_remove(sched *s, const char *addr)
{
    if (!addr)
        return 0;
    size_t *cell = str_index_cell(&s->index, addr);
    if (*cell == 0)
        return 0;
    size_t slot = *cell - 1;
    if (is_queued(&s->e[slot]))
        dequeue(s, slot);
    str_index_delete(&s->index, cell);
    free(s->e[slot].address);
    s->e[slot].address = NULL;
    s->free_slots[s->n_free++] = slot;
    s->count--;
    return 1;
}

int sched_get(const sched *s, const char *addr, sched_token *out)
{
    if (!addr)
        return -1;
    size_t slot = str_index_find(&s->index, addr);
    if (slot == SIZE_MAX)
        return -1;
    const entry *x = &s->e[slot];
    *out = (sched_token){.score = x->score, .tier = x->tier, .interval_ns = x->interval_ns,
                         .effective_ns = effective(s, x), .due_ns = x->due_ns,
                         .last_done_ns = x->anchor_ns, .queued = is_queued(x)};
    return 0;
}

size_t sched_size(const sched *s)
{
    return s->count;
}

size_t sched_queued(const sched *s)
{
    return s->queued;
}

int64_t sched_next_due(const sched *s)
{
    int64_t next = INT64_MAX;
    for (int t = 0; t < SCHED_TIERS; t++)
        if (s->heap[t].n && s->e[s->heap[t].a[0]].due_ns < next)
            next = s->e[s->heap[t].a[0]].due_ns;
    return next;
}

/* Visits the heap below POS, skipping subtrees whose root is due after T. */
static size_t count_from(const sched *s, const heap *h, size_t pos, int64_t t, size_t cap)
{
    if (pos >= h->n || cap == 0 || s->e[h->a[pos]].due_ns > t)
        return 0;
    size_t n = 1;
    n += count_from(s, h, 2 * pos + 1, t, cap - n);
    if (n < cap)
        n += count_from(s, h, 2 * pos + 2, t, cap - n);
    return n;
}

size_t sched_count_due(const sched *s, int64_t t, size_t cap)
{
    if (cap == 0)
        cap = SIZE_MAX;
    size_t n = 0;
    for (int i = 0; i < SCHED_TIERS && n < cap; i++)
        n += count_from(s, &s->heap[i], 0, t, cap - n);
    return n;
}

/* Next token to serve (see the order above), tokens due by DUE_BY counting
 * as due and UNTIL ending the horizon. SIZE_MAX: none. */
static size_t next_slot(const sched *s, int64_t due_by, int64_t until)
{
    const heap *hot = &s->heap[SCHED_HOT];
    /* A stretched hot tier has slack like the others: deadlines first. */
    int hot_first = s->stretch[SCHED_HOT] <= 1.0;
    if (hot_first && hot->n && s->e[hot->a[0]].due_ns <= due_by)
        return hot->a[0];
    if (s->urgent.n && s->e[s->urgent.a[0]].deadline_ns <= until && s->e[s->urgent.a[0]].due_ns <= until)
        return s->urgent.a[0];
    if (hot->n && s->e[hot->a[0]].due_ns <= due_by)
        return hot->a[0];
    size_t best = SIZE_MAX;
    for (int t = SCHED_HOT + 1; t < SCHED_TIERS; t++)
        if (s->heap[t].n && s->e[s->heap[t].a[0]].due_ns <= due_by)
            return s->heap[t].a[0];
    for (int t = 0; t < SCHED_TIERS; t++) {
        const heap *h = &s->heap[t];
        if (h->n && s->e[h->a[0]].due_ns <= until && (best == SIZE_MAX || before(s, h, h->a[0], best)))
            best = h->a[0];
    }
    return best;
}

size_t sched_pop(sched *s, int64_t now, int64_t until_ns, size_t max, sched_item *out)
{
    size_t n = 0, slot;
    int64_t due_by = until_ns < now ? until_ns : now; /* nothing past UNTIL */
    while (n < max && (slot = next_slot(s, due_by, until_ns)) != SIZE_MAX) {
        entry *x = &s->e[slot];
        dequeue(s, slot);
        x->forced = 0;
        out[n++] = (sched_item){.address = x->address, .due_ns = x->due_ns, .lag_ns = now - x->due_ns,
                                .score = x->score, .tier = x->tier};
    }
    return n;
}

size_t sched_next_batch(sched *s, int64_t now, const sched_batch_params *bp, sched_item *out)
{
    size_t max = bp->max_batch;
    size_t due = sched_count_due(s, now, max);
    if (due == 0)
        return 0;
    int64_t until = now + (bp->horizon_ns > 0 ? bp->horizon_ns : 0);
    size_t soon = due < max ? sched_count_due(s, until, max) - due : 0;
    size_t n = sched_plan_batch(due, soon, max, bp->src, bp->n_src);
    return sched_pop(s, now, until, n, out);
}

int sched_done(sched *s, const char *addr, int64_t now, sched_outcome o)
{
    if (!addr)
        return -1;
    size_t slot = str_index_find(&s->index, addr);
    if (slot == SIZE_MAX)
        return -1;
    entry *x = &s->e[slot];
    if (is_queued(x))
        return -1;
    if (o == SCHED_RELEASED) {
        x->forced = 1; /* keeps its old due time and deadline: still owed */
    } else {
        x->interval_ns = sched_step_interval(&s->p, x->tier, x->interval_ns, o);
        x->anchor_ns = now;
        set_due(s, x, now + effective(s, x));
    }
    enqueue(s, slot);
    return 0;
}

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
    double w = (double)stretch_cap(&s->p) / (double)NS_PER_S;
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
                set_due(s, x, x->anchor_ns != NO_TIME ? x->anchor_ns + effective(s, x) : x->due_ns);
        }
        heapify(s, h);
    }
    heapify(s, &s->urgent);
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
