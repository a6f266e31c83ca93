/* Refresh scheduler for the daemon: which token to refresh next, and when
 * again. Pure: the clock (monotonic ns) is passed in, no I/O, no globals.
 *
 *   score (rank, contest, volume, volatility) -> tier -> interval range
 *   outcome of a refresh (price changed or not) -> next interval (dynamic)
 *   capacity of the rate limits vs demand -> per-tier stretch (overload)
 *   a min-heap per tier on (due time, higher score, insertion order); due
 *   tokens are served hottest tier first -> batches
 *
 * A token is either queued (in the heap) or in flight (popped, waiting for
 * sched_done). Addresses are copied; the pointers handed out in sched_item
 * stay valid until the token is removed or the scheduler freed. */
#ifndef TC_SCHEDULER_H
#define TC_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

/* Tiers in priority order: the lowest number is served first. */
typedef enum sched_tier { SCHED_HOT = 0, SCHED_WARM, SCHED_COLD, SCHED_TIERS } sched_tier;

/* What is known about a token. Unknown is not zero: a NAN volume or change,
 * or a rank <= 0, is left out of the score instead of counting as worst. */
typedef struct sched_signals {
    long rank;             /* 1 = first; <= 0: unknown / unranked */
    int in_contest;        /* held in a live contest portfolio */
    double volume_24h_usd; /* NAN: unknown */
    double change_24h_pct; /* NAN: unknown; sign ignored */
} sched_signals;

typedef struct sched_tier_params {
    double min_score;   /* a score >= this (and below the tier above) lands here */
    int64_t floor_ns;   /* dynamic intervals never go below */
    int64_t base_ns;    /* starting interval; the interval when dynamic is off */
    int64_t ceiling_ns; /* dynamic intervals never go above (before stretching) */
} sched_tier_params;

typedef struct sched_params {
    int64_t min_interval_ns; /* no token more often than this */
    int64_t max_interval_ns; /* no tier ceiling above this */
    int64_t max_wait_ns;     /* no stretched interval above this (>= max_interval) */
    sched_tier_params tier[SCHED_TIERS];
    double shrink;      /* interval factor after a price change (0.5: halve) */
    double grow;        /* interval factor after no change (1.5) */
    double utilization; /* share of the capacity the overload plan fills (0.9) */
    double wait_margin; /* stretched intervals cap at max_wait*(1-margin) (0.1): time to catch up */
    int prioritization; /* 0: every token scores 0 and sits in WARM (FIFO by due time) */
    int dynamic_intervals; /* 0: every token keeps its tier's base interval */
} sched_params;

/* The interval defaults, in seconds: also the [scheduler] defaults of the
 * config map (config_keys.c), so the two cannot differ. */
#define SCHED_DEFAULT_MIN_INTERVAL_S 15
#define SCHED_DEFAULT_MAX_INTERVAL_S 300
#define SCHED_DEFAULT_MAX_WAIT_S 600

/* Defaults for the intervals above, tiers derived by
 * sched_params_derive_tiers. */
void sched_params_default(sched_params *p);
/* Re-derives the tier ranges from min/max_interval (after changing them):
 *   hot  [min, base min, 4*min]  warm [2*min, base 4*min, max/2]
 *   cold [max/4, base max, max], each clamped into [min, max]. */
void sched_params_derive_tiers(sched_params *p);

/* ---- pure scoring and interval steps (no scheduler needed) ---- */

/* Priority score: 0..1000 from the known signals, +1000 in a contest. */
double sched_score(const sched_signals *sig);
/* Tier for SIG under P (a contest token is always HOT). */
sched_tier sched_tier_of(const sched_params *p, const sched_signals *sig, double score);
const char *sched_tier_name(sched_tier t);

typedef enum sched_outcome {
    SCHED_CHANGED = 0, /* refreshed, the price moved: interval shrinks */
    SCHED_UNCHANGED,   /* refreshed, the price did not move: interval grows */
    SCHED_NO_PRICE,    /* refreshed, no source has a price: grows like UNCHANGED */
    SCHED_FAILED,      /* not refreshed (errors): same interval, due again after it */
    SCHED_RELEASED     /* handed back undone (shutdown): due again at its old due time */
} sched_outcome;

/* Next unstretched interval of a token in tier T after OUTCOME. */
int64_t sched_step_interval(const sched_params *p, sched_tier t, int64_t cur_ns, sched_outcome o);
/* 1 when AFTER differs from BEFORE by more than REL_EPS (relative); a price
 * appearing or disappearing counts as a change. NAN: no price. */
int sched_price_changed(double before, double after, double rel_eps);

/* ---- capacity and batch sizing ---- */

typedef struct sched_source_rate {
    double rate_per_s; /* requests per second its limiter allows (<= 0: unlimited) */
    size_t chunk;      /* addresses per request */
} sched_source_rate;

/* Tokens per second the limits allow when every token goes to every source:
 * min over sources of rate*chunk, and, when GLOBAL_RATE_PER_S > 0 (requests/s
 * over all sources together), at most GLOBAL / sum(1/chunk). INFINITY when
 * nothing limits. */
double sched_capacity(const sched_source_rate *src, size_t n, double global_rate_per_s);

/* Batch optimizer: how many tokens to take when DUE are due now and SOON
 * more are due within the top-up horizon, so requests go out as full as the
 * limits reward. Among n in [min(DUE,MAX), min(DUE+SOON,MAX)] it picks the one
 * that maximizes the throughput batches of that size would get,
 *   min over sources of rate_i * chunk_i * n / (ceil(n/chunk_i) * chunk_i),
 * the smallest such n on ties (no token is refreshed early for nothing).
 * MAX 0: no cap. Never takes fewer than the due tokens (up to MAX). */
size_t sched_plan_batch(size_t due, size_t soon, size_t max, const sched_source_rate *src, size_t n_src);

/* Tokens per second source S can answer: rate x chunk (INFINITY when
 * nothing limits it): what each source adds to sched_capacity (the min of
 * them when every token goes to every source, their sum when one of them
 * serves a token), and what the engine's auto window counts with. */
double sched_source_capacity(const sched_source_rate *s);

/* How the daemon paces batches: at most MAX_BATCH tokens per batch, one
 * batch per DELAY_NS at most. */
typedef struct sched_pacing {
    size_t max_batch;
    int64_t delay_ns;
    int derived; /* either came from the capacity ("auto") */
} sched_pacing;

/* The auto defaults, so that the pacing admits at least this many times
 * what the limits allow (it must never be the bound). */
#define SCHED_PACING_HEADROOM 2.0
#define SCHED_AUTO_DELAY_NS (1000 * 1000000LL) /* a second of due tokens share requests */
#define SCHED_AUTO_MIN_BATCH 100               /* the old fixed default */
#define SCHED_AUTO_MAX_BATCH 20000             /* also when nothing limits */

/* [scheduler] max_batch_size and batch_delay_ms, each explicit (a cap, kept
 * as given) or auto (< 0): derived from CAPACITY (tokens/s the configured
 * limits allow, sched_capacity) so that max_batch / delay >= HEADROOM x
 * CAPACITY:
 *   both auto:        delay 1 s, max_batch = HEADROOM x capacity x 1 s
 *   max_batch given:  delay = max_batch / (HEADROOM x capacity), at most 1 s
 *   delay given:      max_batch = HEADROOM x capacity x max(delay, 1 s / 4)
 * max_batch auto stays within [SCHED_AUTO_MIN_BATCH, SCHED_AUTO_MAX_BATCH]
 * and is rounded up to a multiple of LARGEST_CHUNK when that fits. */
void sched_pacing_derive(double capacity, size_t largest_chunk, long max_batch_cfg, int64_t delay_cfg_ns,
                         sched_pacing *out);
/* Tokens/s P admits (max_batch / delay; INFINITY without a delay): the
 * capacity the overload plan and the recommendations count with is the
 * smaller of this and the limits'. */
double sched_pacing_capacity(const sched_pacing *p);

/* ---- the scheduler ---- */

typedef struct sched sched;

typedef struct sched_item {
    const char *address; /* owned by the scheduler */
    int64_t due_ns;
    int64_t lag_ns;      /* pop time - due time; negative when topped up early */
    double score;
    sched_tier tier;
} sched_item;

typedef struct sched_token {
    double score;
    sched_tier tier;
    int64_t interval_ns;  /* dynamic, before stretching */
    int64_t effective_ns; /* after stretching and the max_wait cap */
    int64_t due_ns;
    int64_t last_done_ns; /* INT64_MIN: never */
    int queued;           /* 0: in flight */
    int in_contest;
    double pin_score;        /* an operator's priority; NAN: none */
    int64_t pin_interval_ns; /* an operator's interval; 0: none */
    int64_t last_ok_ns;      /* last refresh that got an answer; INT64_MIN: none */
} sched_token;

sched *sched_new(const sched_params *p);
void sched_free(sched *s);
/* New parameters (a reload): each token's next interval step uses them;
 * intervals already set run out first. */
void sched_set_params(sched *s, const sched_params *p);

/* Adds ADDR (due at DUE_NS, at its tier's base interval), or updates its
 * signals: re-scores, re-tiers, pulls its interval into the new tier's range,
 * and moves its due time earlier if the new interval says so (never later).
 * Returns 1 added, 0 updated, -1 invalid (NULL/empty address). */
int sched_upsert(sched *s, const char *addr, const sched_signals *sig, int64_t due_ns);
/* 1 removed, 0 unknown. */
int sched_remove(sched *s, const char *addr);
/* 0 and *OUT filled, -1 unknown. */
int sched_get(const sched *s, const char *addr, sched_token *out);

size_t sched_size(const sched *s);   /* tokens known */
size_t sched_queued(const sched *s); /* of which in the heap (the rest in flight) */
/* Earliest due time in the heap; INT64_MAX when empty (the daemon's timer). */
int64_t sched_next_due(const sched *s);
/* Queued tokens due at or before T, counting stops at CAP (0: no cap). */
size_t sched_count_due(const sched *s, int64_t t, size_t cap);

/* Pops up to MAX tokens into OUT: first those due at NOW, hottest tier
 * first (within a tier by due time, then higher score), then those due by
 * UNTIL_NS, soonest first. They are in flight until sched_done. */
size_t sched_pop(sched *s, int64_t now, int64_t until_ns, size_t max, sched_item *out);

typedef struct sched_batch_params {
    size_t max_batch;   /* OUT has room for this many; must be > 0 */
    int64_t horizon_ns; /* tokens due within now+horizon may top a batch up */
    const sched_source_rate *src;
    size_t n_src;
} sched_batch_params;

/* One batch: nothing when nothing is due; else sched_plan_batch decides how
 * many of the due and due-soon tokens to pop. */
size_t sched_next_batch(sched *s, int64_t now, const sched_batch_params *bp, sched_item *out);

/* Puts an in-flight token back with its next due time, after OUTCOME (see
 * sched_outcome). 0 done, -1 unknown or not in flight. */
int sched_done(sched *s, const char *addr, int64_t now, sched_outcome o);

/* ---- overload ---- */

typedef struct sched_load {
    double capacity;                 /* tokens/s offered */
    double budget;                   /* capacity * utilization */
    double demand[SCHED_TIERS];      /* tokens/s the unstretched intervals ask */
    double demand_total;
    double planned[SCHED_TIERS];     /* tokens/s after stretching */
    double planned_total;
    double stretch[SCHED_TIERS];     /* interval factors now in force (>= 1) */
    int top_tier;                    /* highest non-empty tier: keeps its interval if it can */
    int overloaded;                  /* demand > budget: something stretched */
    int infeasible;                  /* even everything at max_wait exceeds the budget */
} sched_load;

/* Demand by tier (tokens/s, from the unstretched intervals), returns the total. */
double sched_demand(const sched *s, double per_tier[SCHED_TIERS]);

/* Fits demand to CAPACITY (tokens/s; INFINITY or <= 0: unlimited): the top
 * tier keeps its intervals and the tiers below share one stretch factor, no
 * token's interval going past max_wait*(1-wait_margin) (the rest of
 * max_wait is left for lag: see the serving order in scheduler.c); only if
 * that is not enough does the top tier stretch too. The factors apply from now on, and every queued
 * token that was refreshed before is re-keyed to last_done + new interval.
 * Call it periodically (each metrics interval) and when the set changes. */
void sched_rebalance(sched *s, double capacity, sched_load *out);

typedef struct sched_lag_stats {
    size_t due;      /* queued tokens with due <= now */
    int64_t max_ns;  /* how overdue the most overdue one is */
    int64_t p95_ns;  /* 95th percentile (nearest rank) over the due ones */
} sched_lag_stats;

void sched_lag(const sched *s, int64_t now, sched_lag_stats *out);

/* ---- operators' settings and views (scheduler_admin.c) ---- */

/* Each returns 0, or -1 when ADDR is unknown. A queued token is re-keyed at
 * once (moved earlier when its new interval says so); one in flight takes
 * the setting when it is done. They survive upserts (rescans) and reloads,
 * not the scheduler. */
/* SCORE pins the priority score (the tier follows from it; a contest token
 * stays hot); NAN: computed from the signals again. */
int sched_set_priority(sched *s, const char *addr, double score);
/* A fixed interval (clamped to [min_interval, max_wait]; stretched under
 * overload like its tier's); 0: dynamic again. */
int sched_set_interval(sched *s, const char *addr, int64_t interval_ns);
int sched_set_contest(sched *s, const char *addr, int in_contest);
/* Takes queued ADDR out of the heaps at NOW as if popped (in flight until
 * sched_done): "refresh now". 0, -1 unknown, 1 already in flight. */
int sched_take(sched *s, const char *addr, int64_t now, sched_item *out);
/* Calls FN for every token, in no order. */
typedef void (*sched_visit_fn)(void *ctx, const char *addr, const sched_token *t);
void sched_foreach(const sched *s, sched_visit_fn fn, void *ctx);

/* What the limits sustain (scheduler_overload.c): every tier's base
 * interval scaled by one factor so that the tokens known fill CAPACITY x
 * utilization; never below min_interval. */
typedef struct sched_advice {
    double load_factor;                   /* demand at the base intervals / budget */
    double base_s[SCHED_TIERS];           /* each tier's base interval */
    double sustainable_s[SCHED_TIERS];    /* base x load factor, at least min_interval */
    size_t tokens[SCHED_TIERS];
    double uniform_s;                     /* one interval for every token that fits the budget */
} sched_advice;
void sched_recommend(const sched *s, double capacity, sched_advice *out);

#endif
