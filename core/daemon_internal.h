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

typedef struct tier_stats {
    metrics_hist gap;     /* time between two refreshes of one token */
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
    sched_item *items;
    const char **addrs;
    sched_batch_params bp;
    uint64_t reloads_ok, reloads_failed;
} daemon_state;

/* Sizes the batch buffers and parameters from d->cfg (start and reload). */
void daemon_size_batches(daemon_state *d);
/* Rates per engine source slot for the capacity plan (slots grow on reload). */
void daemon_refresh_rates(daemon_state *d);

/* Reloads d->cfg->path: applies it whole, or logs why not and changes
 * nothing (daemon_reload.c). */
void daemon_reload(daemon_state *d);

#endif
