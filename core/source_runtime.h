/* Each source's runtime: its queue of tokens not yet asked, the chunks it
 * forms from that queue and sends, and everything that paces or protects the
 * source — its limiter and the global one, throttle_ms, the circuit breaker,
 * the retry budget, 429 / Retry-After pauses, in-flight accounting — and what
 * each answer means for the chunk (settled, retried or given up).
 *
 * The batch pipeline (engine.c) owns the tokens and their batches: it queues
 * tokens here and is told, through engine_settle(), each source's outcome per
 * token. The runtime must not touch batches, claims or the store. */
#ifndef TC_SOURCE_RUNTIME_H
#define TC_SOURCE_RUNTIME_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "breaker.h"
#include "config.h"
#include "engine.h"
#include "http.h"
#include "inflight.h"
#include "limiter.h"
#include "registry.h"
#include "scheduler.h" /* sched_source_capacity */

struct metrics;
struct chunk;
typedef struct token_state token_state;

/* What every source shares; the engine owns it. */
typedef struct source_env {
    http_engine *http;
    limiter *global;            /* [core] global_rate over every source, or NULL */
    struct metrics *m;          /* daemon metrics, or NULL */
    volatile sig_atomic_t stop; /* set from signal handlers: send nothing new */
    uint64_t rng;               /* backoff jitter (and the engine's claim ids) */
} source_env;

typedef struct source_rt {
    size_t index;            /* into each token's per-source arrays */
    source_instance *inst;
    limiter *lim;            /* shared [limiter NAME], or NULL */
    int64_t throttle_ns;
    int64_t next_allowed_ns; /* throttle_ms gap */
    long timeout_ms;
    long concurrency;        /* the user's upper bound of requests in flight */
    long max_attempts;
    int in_flight;
    inflight flow;           /* how many may be in flight now: rate x latency (inflight.h) */
    int retired;             /* removed by a reload: sends nothing, drains what is in flight */
    int paused;              /* an operator paused it: sends nothing, what waits stays owed */
    token_state **queue;     /* FIFO of tokens not yet sent to this source */
    size_t q_head, q_len, q_cap;
    struct chunk *retry;     /* chunks waiting to be sent again, oldest first */
    breaker brk;
    double retry_budget;
    int64_t waiting_since_ns; /* a chunk was ready but the limiter said wait */
    source_stats stats;
} source_rt;

/* Source INDEX runs plugin INST (its reference is taken over) as configured
 * by CS, through the shared limiter LIM (NULL: none). */
void source_rt_init(source_rt *s, size_t index, source_instance *inst, const cfg_source *cs, limiter *lim);
/* A reload changed S's section: INST (non-NULL) replaces its plugin
 * instance for new chunks, while chunks in flight finish with the old one;
 * the knobs of CS apply at once; LIM is its limiter now. The breaker keeps
 * its state unless its own settings changed. */
void source_rt_update(source_rt *s, source_instance *inst, const cfg_source *cs, limiter *lim);
/* A reload removed S: nothing more is sent; what waited (queue, retries)
 * is settled as not asked, and what is in flight finishes. */
void source_rt_retire(source_env *env, source_rt *s);

/* Frees what waits for retry and the queue; in-flight chunks are abandoned
 * with the HTTP engine. */
void source_rt_free(source_rt *s);

/* Queues T to be asked of S; FRONT: before everything queued (refresh
 * now: it goes with the next request, still under the limiters). */
void source_rt_enqueue(source_rt *s, token_state *t);
void source_rt_enqueue_front(source_rt *s, token_state *t);

/* Sends what S may send at NOW: full chunks, retries that are due, and
 * partial chunks when ALLOW_PARTIAL. Returns the earliest time something
 * more could go (INT64_MAX: nothing waits on time). A paused source sends
 * nothing: what waits for it is settled as skipped (still owed). */
int64_t source_rt_dispatch(source_env *env, source_rt *s, int allow_partial, int64_t now);

/* 1 when chunks wait to be sent again; how many. */
int source_rt_retry_pending(const source_rt *s);
size_t source_rt_retry_count(const source_rt *s);
/* 1 when the queue holds a full chunk. */
int source_rt_has_full_chunk(const source_rt *s);

/* The HTTP engine's abandon callback for a chunk still in flight when the
 * engine is freed: frees it and drops its instance reference. */
void source_rt_abandon_chunk(void *chunk);

/* Copies the breaker's own counters into S's stats. */
void source_rt_sync_stats(source_rt *s);

/* Requests/s S may send (see engine_source_rate). */
double source_rt_rate(const source_rt *s, int current);
/* Requests/s S may send now through its limiters and the global one
 * (<= 0: nothing limits it): what its in-flight limit is sized for. */
double source_rt_flow_rate(const source_env *env, const source_rt *s);
/* Tokens/s S can answer now: its flow rate x chunk size (sched_source_capacity;
 * INFINITY when nothing limits it). */
double source_rt_capacity(const source_env *env, const source_rt *s);
/* Requests S may have in flight now (inflight.h), as of its last dispatch. */
long source_rt_inflight_limit(const source_rt *s);
/* Its answers' p90 latency (ns) that limit was sized for. */
int64_t source_rt_latency_p90_ns(const source_rt *s);

/* One row of each summary table (engine_print_summary prints the heads). */
void source_rt_print_counts(const source_rt *s, FILE *out);
void source_rt_print_resilience(const source_rt *s, FILE *out);

#endif
