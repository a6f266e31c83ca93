/* The daemon's state, shared by its two files: daemon.c (the loop) and
 * daemon_reload.c (SIGHUP). Nothing else includes it. */
#ifndef TC_DAEMON_INTERNAL_H
#define TC_DAEMON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "metrics.h"
#include "scheduler.h"
#include "store.h"
#include "util.h"

struct ops_hub;
struct ops_command;

typedef struct tier_stats {
    metrics_hist gap;     /* time between two refreshes of one token */
    metrics_cum gap_cum;  /* the same, for /metrics */
    double target_sum_ns; /* its effective interval when it was refreshed */
    uint64_t refreshes;
} tier_stats;

typedef struct daemon_state {
    const config *cfg;   /* the running config: main's, or the last reload's (OWNED) */
    config *owned;       /* a config loaded by a reload, freed by the next one */
    int keep_log_level;  /* --log-level was given: a reload does not change it */
    store *st;
    engine *e;
    sched *sc;
    sched_params sp;
    metrics *m;
    sched_source_rate *rates;
    size_t n_src;
    sched_load load;
    tier_stats tiers[SCHED_TIERS];
    int64_t mono0, wall0; /* one instant on both clocks */
    int64_t last_new_scan_wall;
    /* scan collection */
    token_brief *briefs;
    char **brief_addrs;
    size_t n_briefs, cap_briefs;
    /* batches taken from the scheduler */
    size_t max_batch;
    sched_pacing pacing;  /* max_batch and the gap between batches (sched_pacing_derive) */
    sched_item *items;
    const char **addrs;
    sched_batch_params bp;
    uint64_t reloads_ok, reloads_failed, plugin_reloads;
    /* operations (daemon_ops.c, daemon_admin.c) */
    struct ops_hub *hub;
    int paused_all;               /* an operator paused every source: no batches are taken */
    int64_t next_publish_ns, next_scan_stats_ns;
    struct daemon_scan_stats *scan_stats; /* the last pass over the scheduler's tokens */
    int64_t rate_t[40];           /* sampled at each publish: committed tokens (the ETA) */
    uint64_t rate_c[40];
    uint64_t (*rate_req)[40];     /* and each source slot's requests (its rate) */
    size_t rate_slots, rate_i, rate_n;
} daemon_state;

/* Sizes the batch buffers and parameters from d->cfg (start and reload). */
void daemon_size_batches(daemon_state *d);
/* Rates per engine source slot for the capacity plan (slots grow on reload). */
void daemon_refresh_rates(daemon_state *d);

/* What a reload did: applied, or refused with every error (one per line);
 * the changes, one per line. */
typedef struct reload_result {
    int applied;
    size_t n_changes;
    strbuf changes, errors;
} reload_result;

/* Reloads d->cfg->path: applies it whole, or logs why not and changes
 * nothing (daemon_reload.c). R (NULL: none) receives the result. */
void daemon_reload(daemon_state *d, reload_result *r);

/* Reads tokens created since SINCE (0: every token) into the scheduler. */
int daemon_scan_tokens(daemon_state *d, int64_t since);

/* ---- operations (daemon_ops.c) ---- */

/* The hub the HTTP threads use, attached for this process. */
void daemon_ops_start(daemon_state *d);
/* Each turn of the loop: runs the queued admin commands (daemon_admin.c),
 * publishes a snapshot every OPS_PUBLISH_NS. */
void daemon_ops_turn(daemon_state *d, int64_t now);
void daemon_ops_stop(daemon_state *d);
/* Runs one admin command on the loop's thread (daemon_admin.c). */
void daemon_admin_exec(void *d, struct ops_command *c);

#endif
