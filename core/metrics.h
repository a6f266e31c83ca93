/* Daemon metrics, in one place: per source and overall counters, latency and
 * lag histograms, scheduler gauges. Every metrics_interval the owner calls
 * metrics_roll(): the interval just ended becomes "last" (what the log lines
 * and quantiles show) and a new one starts; totals only ever grow (what a
 * Prometheus-style endpoint exposes). Pure: times are passed in.
 *
 * Not thread-safe: it belongs to the engine loop. An HTTP endpoint on another
 * thread must read a copy made under the owner's lock (metrics_copy). */
#ifndef TC_METRICS_H
#define TC_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scheduler.h"

/* ---- histogram: log-linear buckets over microseconds ----
 * Values below 16 us have a bucket each; above, every power of two is split
 * into 8 equal buckets (HDR-histogram style). A quantile is reported as the
 * middle of its bucket, clamped to the exact min/max seen, so it is within
 * 1/16 = 6.25% (relative) of a value at that rank, or 0.5 us below 16 us.
 * The rank is nearest-rank (ceil(q*n)). Range up to 2^40 us (12 days);
 * larger values land in the last bucket. */
#define HIST_SUB 8
#define HIST_LINEAR 16
#define HIST_BUCKETS (HIST_LINEAR + (40 - 4) * HIST_SUB) /* 304: 2.4 KB */

typedef struct metrics_hist {
    uint64_t bucket[HIST_BUCKETS];
    uint64_t n;
    int64_t min_us, max_us;
    double sum_us;
} metrics_hist;

void hist_reset(metrics_hist *h);
void hist_add(metrics_hist *h, int64_t ns); /* negative values count as 0 */
/* Q in [0,1]; 0 when empty. Nanoseconds. */
int64_t hist_quantile_ns(const metrics_hist *h, double q);
void hist_merge(metrics_hist *into, const metrics_hist *from);
/* Bucket index of a value and the bucket's bounds [lo, hi) in us (tests, docs). */
int hist_bucket_of(int64_t us);
void hist_bucket_bounds(int b, int64_t *lo_us, int64_t *hi_us);

/* ---- cumulative histograms: what /metrics exposes ----
 * The histograms above cover one interval (quantiles for the log lines);
 * these only ever grow, over a few fixed bounds in seconds, as Prometheus
 * histograms must. */
#define METRICS_BOUNDS 18
extern const double metrics_bounds_s[METRICS_BOUNDS];

typedef struct metrics_cum {
    uint64_t bucket[METRICS_BOUNDS + 1]; /* per bucket (not cumulative); the last: above every bound */
    uint64_t n;
    double sum_s;
} metrics_cum;

void cum_add(metrics_cum *h, int64_t ns); /* negative values count as 0 */

/* What is timed, per source or overall (the scope it is recorded in). */
typedef enum metrics_timer {
    MT_REQUEST = 0,  /* source: sent -> answered */
    MT_LIMITER_WAIT, /* source: a request's wait for the limiters (0 when it did not wait) */
    MT_BATCH,        /* overall: a batch formed -> committed */
    MT_LAG,          /* overall: how late a token was dispatched */
    MT_STORE_COMMIT, /* overall: one store commit (a transaction) */
    MT_STORE_CLAIM,  /* overall: one claim of a batch */
    MT_TIMERS
} metrics_timer;

/* Store operations whose errors are counted. */
typedef enum metrics_store_op { MS_COMMIT = 0, MS_CLAIM, MS_SCAN, MS_RELEASE, MS_OPS } metrics_store_op;
const char *metrics_store_op_name(metrics_store_op op); /* "commit", "claim", ... */

/* ---- counters ---- */

typedef enum metrics_counter {
    MC_TOKENS = 0,  /* source: tokens it answered for; overall: tokens committed */
    MC_REQUESTS,    /* HTTP requests sent */
    MC_FAILURES,    /* requests that failed (transport, 5xx, other 4xx, parse) */
    MC_THROTTLED,   /* 429 answers (not counted as failures) */
    MC_RETRIES,     /* requests that were retries */
    MC_BATCHES,     /* overall: batches committed */
    MC_COUNTERS
} metrics_counter;

/* "tokens", "requests", "failures", "throttled", "retries", "batches". */
const char *metrics_counter_name(metrics_counter c);

typedef struct metrics_window {
    int64_t start_ns, end_ns;
    uint64_t c[MC_COUNTERS];
    metrics_hist latency; /* source: per request; overall: per batch (formed -> committed) */
    metrics_hist lag;     /* overall only: how late tokens were dispatched */
} metrics_window;

typedef struct metrics_scope {
    char name[32];        /* source name, or "all" */
    metrics_window cur;   /* the interval being filled */
    metrics_window last;  /* the interval that ended at the last roll */
    uint64_t total[MC_COUNTERS];
    metrics_cum timer[MT_TIMERS]; /* since the start */
} metrics_scope;

/* Scheduler state sampled by the owner (at each roll, typically). */
typedef struct metrics_gauges {
    uint64_t queue_depth; /* tokens known to the scheduler */
    uint64_t in_flight;
    uint64_t due;         /* queued tokens already due */
    int64_t lag_max_ns;   /* most overdue queued token */
    int64_t lag_p95_ns;
    double capacity;      /* tokens/s the limits allow (sched_load) */
    double demand;        /* tokens/s the intervals ask */
    double stretch[SCHED_TIERS]; /* sched_load.stretch */
} metrics_gauges;

typedef struct metrics {
    size_t n_sources;
    metrics_scope *scope; /* n_sources sources, then the overall scope */
    metrics_gauges gauges;
    uint64_t store_errors[MS_OPS]; /* since the start */
} metrics;

#define METRICS_ALL ((size_t)-1)

/* NAMES: the sources' names (copied, truncated to 31 chars). */
metrics *metrics_new(const char *const *names, size_t n_sources, int64_t now_ns);
void metrics_free(metrics *m);
/* A source added by a reload gets the next scope (its engine slot index);
 * the "all" scope stays last. */
void metrics_add_source(metrics *m, const char *name);
/* Deep copy into DST (allocated when *DST is NULL, else reused: same layout). */
void metrics_copy(metrics **dst, const metrics *src);

/* Adds N to counter C of source SRC (METRICS_ALL: the overall scope only).
 * Requests, failures, 429s and retries of a source also count overall;
 * tokens do not (the overall count is tokens committed, recorded with
 * METRICS_ALL, since every token goes to every source). */
void metrics_count(metrics *m, size_t src, metrics_counter c, uint64_t n);
/* One request of SRC took NS (source latency), or with METRICS_ALL one batch. */
void metrics_latency(metrics *m, size_t src, int64_t ns);
/* A token was dispatched LAG_NS after it was due (sched_item.lag_ns). */
void metrics_lag(metrics *m, int64_t lag_ns);
void metrics_set_gauges(metrics *m, const metrics_gauges *g);
/* One timing of T in source SRC's scope (METRICS_ALL: overall); only the
 * cumulative histogram (MT_REQUEST, MT_BATCH and MT_LAG are recorded by
 * metrics_latency and metrics_lag, with their interval histograms). */
void metrics_time(metrics *m, size_t src, metrics_timer t, int64_t ns);
void metrics_store_error(metrics *m, metrics_store_op op);

/* Ends the current interval at NOW: it becomes "last", a new one starts. */
void metrics_roll(metrics *m, int64_t now_ns);

metrics_scope *metrics_scope_of(metrics *m, size_t src);
const metrics_scope *metrics_scope_const(const metrics *m, size_t src);

/* The log line of one scope for the last interval (no prefix, no newline),
 * e.g. for a source
 *   "60s: tokens=3000 (50.0/s) requests=30 (0.50/s) failures=0 429s=0 retries=0
 *    latency p50=410ms p95=980ms"
 * and overall, with scheduler state
 *   "60s: tokens=... requests=... failures=... 429s=... batches=12
 *    batch p50=... p95=... lag p95=... max=... queue=15371 due=40 overdue_max=3.2s
 *    in_flight=100"
 * where "lag" is how late the tokens dispatched in the interval were, and
 * due/overdue_max the backlog at the roll (metrics_gauges).
 * Returns what snprintf returns (the length it needed). */
int metrics_format_line(const metrics *m, size_t src, char *buf, size_t len);
/* Every line, "[name] " first and "\n" last, sources then overall. */
void metrics_write(const metrics *m, FILE *out);

/* For an endpoint: every value by name. KIND is "counter" (monotonic
 * totals), or "gauge" (last-interval quantiles in seconds, scheduler state).
 * SCOPE is the source name or "all". */
typedef void (*metrics_visit_fn)(void *ctx, const char *scope, const char *name, const char *kind,
                                 double value);
void metrics_visit(const metrics *m, metrics_visit_fn fn, void *ctx);

#endif
