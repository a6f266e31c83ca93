/* The scheduler itself (scheduler.h): its entries, the address index
 * (str_index.h), the tier and deadline heaps and the serving order, and
 * sched_new/free, upsert, remove, get, the counts, pop, next_batch and
 * done. Must not hold policy (scores, tiers, interval steps, batch sizing:
 * scheduler_policy.c) nor the overload plan or lag statistics
 * (scheduler_overload.c); it only applies their results. */
#include "scheduler.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "scheduler_internal.h"
#include "str_index.h"
#include "util.h"

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

/* The index reads addresses through the scheduler, not a copy of s->e:
 * new_slot() moves the entries when it grows them. */
static const char *entry_address(const void *sched_, size_t slot)
{
    return ((const sched *)sched_)->e[slot].address;
}

int64_t sched_effective(const sched *s, const entry *x)
{
    double f = s->stretch[x->tier];
    if (f <= 1.0)
        return x->interval_ns;
    double v = (double)x->interval_ns * f;
    int64_t cap = sched_stretch_cap(&s->p);
    if (cap < x->interval_ns)
        cap = x->interval_ns;
    return v >= (double)cap ? cap : (int64_t)v;
}

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

void sched_heapify(sched *s, heap *h)
{
    for (size_t i = h->n / 2; i-- > 0;)
        sift_down(s, h, i);
}

static int is_queued(const entry *x)
{
    return x->pos[0] != SIZE_MAX;
}

int sched_entry_queued(const entry *x) { return is_queued(x); }

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

void sched_dequeue(sched *s, size_t slot) { dequeue(s, slot); }

static int64_t add_sat(int64_t a, int64_t b)
{
    return b > 0 && a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Due at DUE; the deadline leaves the slack between its interval and
 * max_wait (measured from the last refresh: due - interval + max_wait). */
void sched_set_due(const sched *s, entry *x, int64_t due)
{
    int64_t slack = s->p.max_wait_ns - sched_effective(s, x);
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

void sched_set_params(sched *s, const sched_params *p) { s->p = *p; }

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

/* An operator's interval, within what the scheduler allows at all. */
static int64_t pinned_interval(const sched *s, const entry *x)
{
    int64_t v = x->pin_interval_ns;
    return v < s->p.min_interval_ns ? s->p.min_interval_ns : v > s->p.max_wait_ns ? s->p.max_wait_ns : v;
}

void sched_rescore(sched *s, size_t slot, int64_t due_ns)
{
    entry *x = &s->e[slot];
    int queued = is_queued(x);
    if (queued)
        dequeue(s, slot); /* its keys and maybe its heap change */
    x->score = x->pin_score == x->pin_score ? x->pin_score : s->p.prioritization ? sched_score(&x->sig) : 0;
    sched_tier tier = sched_tier_of(&s->p, &x->sig, x->score);
    if (tier != x->tier) {
        x->tier = tier;
        /* Keep what was learnt about its volatility, within the new range. */
        x->interval_ns = sched_fit_interval(&s->p, tier, (double)x->interval_ns);
    }
    if (x->pin_interval_ns)
        x->interval_ns = pinned_interval(s, x);
    if (!queued)
        return; /* in flight: sched_done schedules it with the new values */
    int64_t due = x->due_ns;
    if (x->anchor_ns != NO_TIME && x->anchor_ns + sched_effective(s, x) < due)
        due = x->anchor_ns + sched_effective(s, x);
    if (due_ns < due) {
        due = due_ns;
        x->forced = 1;
    }
    sched_set_due(s, x, due);
    enqueue(s, slot);
}

int sched_upsert(sched *s, const char *addr, const sched_signals *sig, int64_t due_ns)
{
    if (!addr || !*addr || !sig)
        return -1;
    size_t *cell = str_index_cell(&s->index, addr);
    if (*cell == 0) {
        if (2 * (s->count + 1) > s->index.cap) {
            str_index_grow(&s->index);
            cell = str_index_cell(&s->index, addr);
        }
        double score = s->p.prioritization ? sched_score(sig) : 0;
        sched_tier tier = sched_tier_of(&s->p, sig, score);
        size_t slot = new_slot(s);
        entry *x = &s->e[slot];
        *x = (entry){.address = xstrdup(addr), .score = score, .tier = tier, .anchor_ns = NO_TIME,
                     .seq = s->seq++, .pos = {SIZE_MAX, SIZE_MAX}, .sig = *sig, .pin_score = NAN,
                     .last_ok_ns = NO_TIME};
        x->interval_ns = sched_fit_interval(&s->p, tier, (double)s->p.tier[tier].base_ns);
        sched_set_due(s, x, due_ns);
        *cell = slot + 1;
        s->count++;
        enqueue(s, slot);
        return 1;
    }
    size_t slot = *cell - 1;
    s->e[slot].sig = *sig;
    sched_rescore(s, slot, due_ns);
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

size_t sched_slot_of(const sched *s, const char *addr)
{
    return addr ? str_index_find(&s->index, addr) : SIZE_MAX;
}

void sched_token_of(const sched *s, size_t slot, sched_token *out)
{
    const entry *x = &s->e[slot];
    *out = (sched_token){.score = x->score, .tier = x->tier, .interval_ns = x->interval_ns,
                         .effective_ns = sched_effective(s, x), .due_ns = x->due_ns,
                         .last_done_ns = x->anchor_ns, .queued = is_queued(x),
                         .in_contest = x->sig.in_contest, .pin_score = x->pin_score,
                         .pin_interval_ns = x->pin_interval_ns, .last_ok_ns = x->last_ok_ns};
}

int sched_get(const sched *s, const char *addr, sched_token *out)
{
    size_t slot = sched_slot_of(s, addr);
    if (slot == SIZE_MAX)
        return -1;
    sched_token_of(s, slot, out);
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
        if (!x->pin_interval_ns)
            x->interval_ns = sched_step_interval(&s->p, x->tier, x->interval_ns, o);
        x->anchor_ns = now;
        if (o != SCHED_FAILED)
            x->last_ok_ns = now;
        sched_set_due(s, x, now + sched_effective(s, x));
    }
    enqueue(s, slot);
    return 0;
}
