/* The bridge between the daemon loop and the HTTP threads (the operations
 * API: /metrics, the status page, /api/admin/). The loop owns the engine
 * and the scheduler; no other thread may read them. So:
 *   - the loop publishes a snapshot of what the pages show (ops_publish,
 *     every OPS_PUBLISH_NS), and an HTTP thread reads a copy (ops_read);
 *   - an HTTP thread asks the loop to do something (ops_call): the command
 *     is queued, the loop runs it at its next turn (ops_drain) and the
 *     caller gets its result.
 * Both under one mutex. One hub per daemon, found by the handlers through
 * ops_current() (NULL when no collector runs in this process: `serve`).
 * Must not know HTTP (api_ops*.c) nor the daemon's state (daemon_ops.c). */
#ifndef TC_OPS_H
#define TC_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "metrics.h"
#include "scheduler.h"

#define OPS_PUBLISH_NS (250 * 1000000LL)

/* ---- the snapshot ---------------------------------------------------------- */

typedef struct ops_source {
    char name[32], plugin[48], version[32], limiter[32];
    char file[256];
    unsigned abi_major, abi_minor;
    long long loaded_at; /* unix seconds */
    int active;          /* 0: removed by a reload, draining */
    int paused;          /* by an operator (or everything is paused) */
    int breaker;         /* breaker_state */
    double rate_now, rate_max; /* requests/s its limits allow now / as configured; 0: unlimited */
    double requests_per_s;     /* sent, over the last few seconds */
    size_t chunk;
    long concurrency;
    long inflight_limit;  /* in flight allowed now (rate x p90 latency, at most concurrency) */
    double latency_p90_s; /* the latency it is sized for */
    int in_flight;
    size_t queued, retry_waiting;
    source_stats stats;
} ops_source;

typedef struct ops_tier {
    size_t tokens, queued;
    size_t refreshed;        /* answered at least once since the start */
    double base_s;           /* the tier's base interval */
    double target_s;         /* mean interval its tokens are scheduled at now (stretch included) */
    double demand, planned;  /* tokens/s: unstretched, after the overload plan */
    double stretch;
    double sustainable_s;    /* sched_recommend */
    double age_p50_s, age_p95_s, age_max_s; /* price age of the refreshed ones */
    uint64_t refreshes;      /* refreshes with a previous one (the achieved intervals) */
    double achieved_p50_s, achieved_p95_s, target_mean_s; /* of those, since the start */
    metrics_cum achieved;    /* the same, cumulative (Prometheus) */
} ops_tier;

typedef struct ops_snapshot {
    int64_t taken_ms;   /* unix milliseconds */
    int64_t started_s;  /* the daemon's start, unix seconds */
    metrics *m;         /* a copy of the daemon's metrics */
    ops_source *src;
    size_t n_src;
    ops_tier tier[SCHED_TIERS];
    size_t tokens, queued, in_flight_tokens, due;
    int64_t overdue_max_ns;
    double capacity, demand, planned, load_factor, uniform_s;
    int overloaded;
    uint64_t committed, commit_failures;
    uint64_t reloads_ok, reloads_failed, plugin_reloads;
    int paused_all;
    double tokens_per_s; /* committed, over the last few seconds */
    int64_t eta_s;       /* first pass: until every token was answered once; -1 unknown, 0 done */
    char config_path[256];
} ops_snapshot;

void ops_snapshot_clear(ops_snapshot *s);
/* Deep copy (DST cleared first). */
void ops_snapshot_copy(ops_snapshot *dst, const ops_snapshot *src);

/* ---- commands ---------------------------------------------------------------- */

typedef enum ops_kind {
    OPS_PAUSE,         /* source: one, or NULL: every source */
    OPS_RESUME,
    OPS_REFRESH,       /* address */
    OPS_RELOAD,        /* the config file, as SIGHUP */
    OPS_PLUGIN_RELOAD, /* source: a new instance from its plugin file */
    OPS_TOKENS_SET,    /* settings */
    OPS_TOKENS_ADD,    /* addrs (valid Solana addresses) */
    OPS_TOKENS_LIST    /* rows out */
} ops_kind;

/* One token's settings: what is given (HAS_*) changes. */
typedef struct ops_token_setting {
    const char *address;
    int has_priority, has_interval, has_contest;
    double priority;     /* NAN: computed again */
    int64_t interval_ns; /* 0: dynamic again */
    int in_contest;
} ops_token_setting;

typedef struct ops_token_row {
    char address[48];
    sched_token t;
} ops_token_row;

typedef struct ops_command {
    ops_kind kind;
    const char *source;
    const char *address;
    const ops_token_setting *settings;
    size_t n_settings;
    const char *const *addrs;
    size_t n_addrs;
    /* filled by the loop */
    int status;        /* HTTP status */
    char *body;        /* JSON (malloc'd): the result, or the error's body */
    ops_token_row *rows; /* OPS_TOKENS_LIST (malloc'd) */
    size_t n_rows;
    int64_t now_ns;    /* the loop's monotonic clock when it ran (due times are on it) */
    int64_t wall0_s, mono0_ns; /* one instant on both clocks */
    /* the queue's */
    int taken, done;
    struct ops_command *next;
} ops_command;

/* ---- the hub ----------------------------------------------------------------- */

typedef struct ops_hub ops_hub;

ops_hub *ops_hub_new(void);
/* Commands still queued are answered 503. */
void ops_hub_free(ops_hub *h);

/* The hub the handlers use (NULL: none). */
void ops_attach(ops_hub *h);
ops_hub *ops_current(void);

/* Loop: S replaces the published snapshot (taken over; S is left empty). */
void ops_publish(ops_hub *h, ops_snapshot *s);
/* HTTP thread: a copy of the latest snapshot; -1 when none was published. */
int ops_read(ops_hub *h, ops_snapshot *out);

/* HTTP thread: queues C and waits for the loop. -1 (C untouched) when the
 * loop did not take it within TIMEOUT_MS, or the hub is closing; once
 * taken, it waits until it is done. */
int ops_call(ops_hub *h, ops_command *c, int timeout_ms);
void ops_command_free(ops_command *c); /* frees body and rows */

/* Loop: runs FN on every queued command, in order; returns how many. */
typedef void (*ops_exec_fn)(void *ctx, ops_command *c);
size_t ops_drain(ops_hub *h, ops_exec_fn fn, void *ctx);

#endif
