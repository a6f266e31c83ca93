/* The collection pipeline for one pass over the pending tokens:
 *
 *   store -> window of batches -> per-source queues -> chunks -> limiter ->
 *   plugin.build_request -> HTTP engine -> plugin.parse_response ->
 *   per-token outcomes -> merge -> store.commit (one transaction per batch)
 *
 * Each source draws chunks from its own queue, so chunks span batches and
 * every request carries as many addresses as the source allows: n tokens
 * cost exactly ceil(n / chunk_size) requests per source when nothing fails. */
#ifndef TC_ENGINE_H
#define TC_ENGINE_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "store.h"

typedef struct source_stats {
    uint64_t requests;        /* HTTP requests sent */
    uint64_t ok;              /* responses parsed as TC_OK */
    uint64_t throttled;       /* 429 answers */
    uint64_t retries;         /* chunks sent again after a transient failure */
    uint64_t fail_transport;  /* connect / timeout / cut transfers */
    uint64_t fail_5xx;
    uint64_t fail_4xx;        /* other 4xx: permanent */
    uint64_t fail_parse;      /* plugin said retry / fatal */
    uint64_t chunks_failed;   /* chunks given up after max_attempts or fatal */
    uint64_t tokens_found, tokens_missing, tokens_failed;
    uint64_t tokens_skipped;  /* owed but not asked: breaker open (stay outstanding) */
    uint64_t tokens_kept;     /* not asked: only other sources were owed */
    uint64_t retries_denied;  /* retries refused by the retry budget */
    uint64_t breaker_opened;  /* times the breaker opened */
    uint64_t breaker_transitions;
    int64_t limiter_wait_ns;  /* time chunks were ready but waited for the limiter */
} source_stats;

typedef struct engine engine;

engine *engine_new(const config *cfg, store *st, char *err, size_t errlen);
void engine_free(engine *e);

/* Processes every pending token once. PROGRESS, when not NULL, receives a
 * one-line progress display (a terminal). Returns 0, or -1 when a store
 * commit failed (those tokens stay pending). */
int engine_run_once(engine *e, FILE *progress);

/* Stops taking new work; what is in flight finishes (signal handlers). */
void engine_request_stop(engine *e);

size_t engine_source_count(const engine *e);
const char *engine_source_name(const engine *e, size_t i);
const source_stats *engine_source_stats(const engine *e, size_t i);
size_t engine_source_chunk_size(const engine *e, size_t i);
uint64_t engine_tokens_committed(const engine *e);
uint64_t engine_commit_failures(const engine *e);

/* ---- daemon mode: the scheduler chooses the tokens ----------------------- */

struct metrics;

typedef struct engine_hooks {
    void *ctx;
    /* Before a token's batch is committed: when it is due again (unix
     * seconds) and with which interval and priority score. ANSWERED: how
     * many sources answered for it this time (0: nothing was refreshed).
     * PRICE_BEFORE / PRICE_AFTER: the stored and the new merged price (NAN:
     * none). */
    int64_t (*next_refresh)(void *ctx, const char *addr, token_status status, size_t answered,
                            double price_before, double price_after, int *interval_s, double *priority_score);
    /* ADDR was submitted but not refreshed: another collector holds it, or
     * the engine stopped before its batch was done (released unchanged). */
    void (*not_refreshed)(void *ctx, const char *addr);
} engine_hooks;

/* Switches the engine to daemon mode: tokens come only from engine_submit,
 * partial chunks go out at once, and HOOKS are called per token. */
void engine_set_daemon(engine *e, const engine_hooks *hooks);
/* Counters and latencies go to M as well (daemon metrics); NULL: none. */
void engine_set_metrics(engine *e, struct metrics *m);
/* Claims ADDRS (those not leased by another collector, and not refreshed by
 * one since: due by DUE_BEFORE, unix seconds, 0 = any) as one batch and
 * queues them to every source. *CLAIMED: how many were taken. */
int engine_submit(engine *e, const char *const *addrs, size_t n, int64_t due_before, size_t *claimed, char *err,
                  size_t errlen);
/* One turn: sends what the limiters allow, waits up to TIMEOUT_MS for the
 * network, commits finished batches. */
void engine_step(engine *e, int timeout_ms);
/* Tokens submitted and not yet committed. */
size_t engine_tokens_open(const engine *e);
/* How many tokens the engine keeps in flight at most (batch window). */
size_t engine_window(const engine *e);
/* Requests on the wire. */
size_t engine_requests_in_flight(const engine *e);
/* Gives every open batch back to the store unchanged (shutdown after the
 * grace period); the engine must not be stepped afterwards. */
void engine_release_open(engine *e);
/* Requests/s source I may send: its limiter's rate (CURRENT: as adaptive
 * mode has lowered it; else as configured), capped by its throttle_ms;
 * 0 when neither limits it. */
double engine_source_rate(const engine *e, size_t i, int current);

/* ---- operators (the admin API, through the daemon loop) ------------------- */

/* Claims ADDR whatever its due time and queues it before everything else
 * at every source (still under their limiters): "refresh now". *CLAIMED 0:
 * another collector holds it. */
int engine_refresh_now(engine *e, const char *addr, size_t *claimed, char *err, size_t errlen);
/* HOLD: no source sends anything (pause all); what waits stays queued. */
void engine_hold(engine *e, int hold);
int engine_held(const engine *e);
/* A paused source sends nothing; what waits for it and what is routed to
 * it is settled as skipped (still owed), so the other sources go on. */
void engine_source_pause(engine *e, size_t i, int paused);

/* One source slot as the status pages show it (pointers valid until the
 * next reload or engine step). */
typedef struct engine_source_view {
    const char *name, *plugin, *version, *file, *limiter;
    unsigned abi_major, abi_minor;
    long long loaded_at; /* unix seconds */
    int active, paused;
    int breaker;         /* breaker_state */
    double rate_now, rate_max; /* requests/s (engine_source_rate) */
    size_t chunk;
    long concurrency;    /* the user's maximum in flight */
    long inflight_limit; /* in flight allowed now: rate x p90 latency (inflight.h) */
    double latency_p90_s; /* what that limit is sized for */
    int in_flight;
    size_t queued, retry_waiting;
    source_stats stats;
} engine_source_view;
void engine_source_view_of(const engine *e, size_t i, engine_source_view *v);

/* ---- live reload (engine_reload.c) ---------------------------------------- */

/* 0 for a source slot that a reload removed (it sends nothing any more). */
int engine_source_active(const engine *e, size_t i);

typedef struct engine_reload engine_reload;

/* Stages NEXT: a new plugin instance for each enabled source that is new or
 * changed (a key of its section, its plugin path, or a new build installed
 * over its plugin file). On any error returns NULL with every error in ERR,
 * one "FILE:LINE: ..." per line, and the engine is untouched. */
engine_reload *engine_reload_prepare(engine *e, const config *next, char *err, size_t errlen);
/* Stages a new instance of source NAME from its plugin file (a new build
 * installed over it, or the same one created afresh) with the running
 * config; the rest stays as it is. NULL with ERR as above. */
engine_reload *engine_reload_prepare_source(engine *e, const char *name, char *err, size_t errlen);
/* Applies R and frees it: limiters reconfigured in place, changed sources on
 * their new instance (in-flight chunks finish on the old), removed sources
 * drained, added ones started. The engine reads NEXT from now on, which must
 * stay alive until the next reload or engine_free. */
void engine_reload_apply(engine *e, engine_reload *r);
void engine_reload_discard(engine_reload *r);

/* Writes the end-of-run summary. */
void engine_print_summary(engine *e, FILE *out, double wall_s);

#endif
