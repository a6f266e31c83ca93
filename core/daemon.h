/* Continuous refresh: the daemon loop. Keeps every token of the store in the
 * priority scheduler, feeds its batches to the engine, writes each token's
 * next due time back, picks up tokens imported while it runs, logs metrics
 * every [scheduler] metrics_interval, and on SIGTERM / SIGINT stops taking
 * work, lets in-flight requests finish within [core] shutdown_grace_s and
 * gives unfinished batches back to the store unchanged. On SIGHUP it
 * reloads the config file live (daemon_reload.c). */
#ifndef TC_DAEMON_H
#define TC_DAEMON_H

#include <stdint.h>

#include "config.h"

/* Runs until a signal; returns the process exit code (0 after a clean stop).
 * SIGHUP reloads CFG's file (see daemon_reload.c); CFG itself is never
 * modified or freed. */
int daemon_run(const config *cfg);

typedef struct daemon_report {
    uint64_t reloads_applied, reloads_refused;
} daemon_report;

typedef struct daemon_opts {
    int keep_log_level;    /* --log-level was given: a reload leaves the level alone */
    daemon_report *report; /* filled when daemon_run returns, or NULL */
} daemon_opts;
int daemon_run_opts(const config *cfg, const daemon_opts *opts);

#endif
