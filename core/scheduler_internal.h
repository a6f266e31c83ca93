/* What the scheduler's files (scheduler.c, scheduler_policy.c,
 * scheduler_overload.c) share: the entries, the heaps and struct sched, and
 * the few helpers one of them lends the others. Private to those files (and
 * scheduler_admin.c, the operators' settings):
 * nothing else may include it (the interface is scheduler.h). Must not hold
 * logic of its own. */
#ifndef TC_SCHEDULER_INTERNAL_H
#define TC_SCHEDULER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "scheduler.h"
#include "str_index.h"

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
    sched_signals sig;   /* as last upserted (operators may change in_contest) */
    double pin_score;    /* an operator's priority; NAN: from the signals */
    int64_t pin_interval_ns; /* an operator's interval; 0: dynamic */
    int64_t last_ok_ns;  /* last refresh that got an answer; NO_TIME: none yet */
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

typedef struct heap heap;

/* scheduler_policy.c */

/* V (ns) fitted into tier T's range; the base interval when dynamic is off. */
int64_t sched_fit_interval(const sched_params *p, sched_tier t, double v);
/* Longest stretched interval: max_wait less the margin kept for lag. */
int64_t sched_stretch_cap(const sched_params *p);

/* scheduler.c */

/* X's interval under its tier's stretch factor, capped by sched_stretch_cap. */
int64_t sched_effective(const sched *s, const entry *x);
/* Sets X's due time and, from it, its deadline. */
void sched_set_due(const sched *s, entry *x, int64_t due);
/* Restores H's order after its keys changed. */
void sched_heapify(sched *s, heap *h);
/* Re-scores the entry at SLOT from its signals and pins, re-tiers it, and
 * moves a queued one earlier when its new interval says so (never later);
 * DUE_NS (INT64_MAX: none) may force it earlier still. */
void sched_rescore(sched *s, size_t slot, int64_t due_ns);
/* The slot of ADDR, or SIZE_MAX. */
size_t sched_slot_of(const sched *s, const char *addr);
int sched_entry_queued(const entry *x);
/* The public view of the entry at SLOT. */
void sched_token_of(const sched *s, size_t slot, sched_token *out);
void sched_dequeue(sched *s, size_t slot);

#endif
