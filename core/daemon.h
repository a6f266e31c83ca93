/* Continuous refresh: the daemon loop. Keeps every token of the store in the
 * priority scheduler, feeds its batches to the engine, writes each token's
 * next due time back, picks up tokens imported while it runs, logs metrics
 * every [scheduler] metrics_interval, and on SIGTERM / SIGINT stops taking
 * work, lets in-flight requests finish within [core] shutdown_grace_s and
 * gives unfinished batches back to the store unchanged. */
#ifndef TC_DAEMON_H
#define TC_DAEMON_H

#include "config.h"

/* Runs until a signal; returns the process exit code (0 after a clean stop). */
int daemon_run(const config *cfg);

#endif
