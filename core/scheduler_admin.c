/* The scheduler's side of the admin API (scheduler.h, "operators'
 * settings"): a token's pinned priority and interval, its contest flag,
 * taking one token out of turn (refresh now), and visiting every token
 * (the token list, price ages). Changes entries only through
 * sched_rescore and the queue helpers of scheduler.c: must not hold
 * scoring or interval rules (scheduler_policy.c) nor the overload plan. */
#include <math.h>
#include <stdint.h>

#include "scheduler.h"
#include "scheduler_internal.h"

int sched_set_priority(sched *s, const char *addr, double score)
{
    size_t slot = sched_slot_of(s, addr);
    if (slot == SIZE_MAX)
        return -1;
    s->e[slot].pin_score = score;
    sched_rescore(s, slot, INT64_MAX);
    return 0;
}

int sched_set_interval(sched *s, const char *addr, int64_t interval_ns)
{
    size_t slot = sched_slot_of(s, addr);
    if (slot == SIZE_MAX)
        return -1;
    entry *x = &s->e[slot];
    x->pin_interval_ns = interval_ns > 0 ? interval_ns : 0;
    if (!x->pin_interval_ns) /* dynamic again: from its tier's base */
        x->interval_ns = sched_fit_interval(&s->p, x->tier, (double)s->p.tier[x->tier].base_ns);
    sched_rescore(s, slot, INT64_MAX);
    return 0;
}

int sched_set_contest(sched *s, const char *addr, int in_contest)
{
    size_t slot = sched_slot_of(s, addr);
    if (slot == SIZE_MAX)
        return -1;
    s->e[slot].sig.in_contest = in_contest != 0;
    sched_rescore(s, slot, INT64_MAX);
    return 0;
}

int sched_take(sched *s, const char *addr, int64_t now, sched_item *out)
{
    size_t slot = sched_slot_of(s, addr);
    if (slot == SIZE_MAX)
        return -1;
    entry *x = &s->e[slot];
    if (!sched_entry_queued(x))
        return 1;
    sched_dequeue(s, slot);
    x->forced = 0;
    *out = (sched_item){.address = x->address, .due_ns = x->due_ns, .lag_ns = now - x->due_ns,
                        .score = x->score, .tier = x->tier};
    return 0;
}

void sched_foreach(const sched *s, sched_visit_fn fn, void *ctx)
{
    sched_token t;
    for (size_t i = 0; i < s->n_slots; i++)
        if (s->e[i].address) {
            sched_token_of(s, i, &t);
            fn(ctx, s->e[i].address, &t);
        }
}
