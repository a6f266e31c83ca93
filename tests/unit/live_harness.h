/*
 * Harness for in-process runtime tests (after Fluent Bit's runtime tests):
 * the real engine with the real plugins (the .so files of build/plugins, loaded through
 * the registry as the binary loads them) against the fake upstream
 * (tests/fakeapi) started in this process on 127.0.0.1 with an ephemeral
 * port, and a real SQLite store in a temporary directory.
 *
 * The fake runs with its windows divided by 30 (as in tests/e2e), and the
 * limiters of the config sit under those limits, so nothing waits long.
 * Plugins come from $TC_PLUGIN_DIR (tests/run-unit.sh sets it), else
 * build/plugins.
 */
#ifndef TC_LIVE_HARNESS_H
#define TC_LIVE_HARNESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../fakeapi/fake_server.h"
#include "config.h"
#include "daemon.h"
#include "engine.h"
#include "store.h"

#define LIVE_SCALE 30
/* A daemon that refreshes every token once, then nothing for an hour: one
 * batch of up to 300, metrics every second (live_config's TAIL). */
#define LIVE_SCHED_HOURLY                                                                                    \
    "[scheduler]\nmin_interval = 1h\nmax_interval = 1h\nmax_wait = 2h\nbatch_delay_ms = 0\n"                  \
    "max_batch_size = 300\nmetrics_interval = 1s\n"

typedef struct live {
    fake_server *fake;
    fake_server_options fake_opts;
    unsigned port;
    char dir[128]; /* temporary directory: the config and the database */
    char ini[192], db[192];
    config cfg;
    int have_cfg;
    store *st;
    char **addrs; /* imported by live_import */
    size_t n;
    void *sql;    /* sqlite3: live_sql_* reads through it */
    pthread_t daemon_thread; /* live_run_daemon's */
    atomic_int daemon_done;
} live;

/* Default fake options for these tests: windows / LIVE_SCALE, seed 1. */
void live_fake_defaults(fake_server_options *o);
/* Makes the temporary directory and starts the fake (O NULL: the defaults). */
void live_start(live *L, const fake_server_options *o);
/* Writes and loads the config: [core] (store, plugin_dir, batch_size 50,
 * then CORE_EXTRA lines), the three limiters, and [source NAME] for
 * jupiter, helius and dexscreener (ONLY, when not NULL: just that one) at
 * their largest chunks, pointed at the fake, each with SOURCE_EXTRA lines.
 * TAIL is appended (other sections, e.g. [scheduler]). Opens the store. */
void live_config(live *L, const char *core_extra, const char *only, const char *source_extra, const char *tail);
/* Imports N addresses fake_address(SEED, 0..N-1) (kept in L->addrs). */
void live_import(live *L, size_t n, uint64_t seed);
/* Stops everything and removes the temporary directory. */
void live_stop(live *L);

fake_source_stats live_fake_stats(live *L, fake_source source);
/* Sets faults as POST /_faults?QUERY would; fails the test on a bad query. */
void live_faults(live *L, const char *query);

/* A fresh engine on L's config and store (fails the test if it cannot). */
engine *live_engine(live *L);
/* Index of source NAME in E (fails the test when absent). */
size_t live_source(const engine *e, const char *name);

/* The first column of the first row of a query (sqlite3_mprintf format:
 * %Q quotes), through a read-only connection of its own: an integer (0
 * when no row or NULL), or malloc'd text (NULL when no row or NULL). */
long long live_sql_int(live *L, const char *fmt, ...);
char *live_sql_text(live *L, const char *fmt, ...);
/* A number (NAN when no row or NULL). */
double live_sql_num(live *L, const char *fmt, ...);

/* Every imported token (L->addrs) was committed as the fake upstream
 * served it, ENABLED[s] saying which sources the config has: its status
 * (enriched when one of them knows it, else no_data), one token_sources row
 * per source that knows it with the name and price a correct plugin reads
 * (and Jupiter's extras) and plugin_version 1.0.0,
 * the merged name and price (the default [merge]); and nothing is claimed. */
void live_check_committed(live *L, const int enabled[FAKE_NSOURCES]);
/* How many of L->addrs source S knows. */
uint64_t live_count_known(const live *L, fake_source s);

/* daemon_run_opts(&L->cfg, OPTS) on this thread while OPERATE(ARG) plays
 * the operator on another, which ends it with live_signal_daemon(L,
 * SIGTERM). SIGTERM and SIGHUP after daemon_run returned are ignored (a
 * daemon_run per process: its stop flag is never cleared). Returns
 * daemon_run's exit code once both are done. */
int live_run_daemon(live *L, const daemon_opts *opts, void *(*operate)(void *), void *arg);
/* SIG to the daemon's thread, unless daemon_run has returned. */
void live_signal_daemon(live *L, int sig);
/* 1 once daemon_run has returned. */
int live_daemon_done(live *L);

/* ceil(N / CHUNK) */
uint64_t live_chunks(size_t n, size_t chunk);

#endif
