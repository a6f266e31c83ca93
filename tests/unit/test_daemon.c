/* daemon_run in-process, bounded: the real daemon loop (scheduler, engine,
 * real plugins, SQLite store) against the fake upstream in this process. A
 * watcher thread plays the operator: it waits until every token has been
 * refreshed, imports more tokens while the daemon runs, makes DexScreener
 * hold its requests (100 ms, then a close without an answer) so their batch
 * is on the wire, and sends SIGTERM to the daemon's thread. daemon_run's
 * stop flag is never cleared, so one daemon_run per process: this file has a
 * single test. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "daemon.h"
#include "live_harness.h"
#include "util.h"

enum { N = 60, LATE = 20, LATE_SEED = 32 };
#define WAIT_NS (10 * NS_PER_S)

typedef struct operator {
    live *L;
    const char *stuck;           /* the step that timed out, NULL: none */
    fake_source_stats first[FAKE_NSOURCES]; /* after the first pass */
    int64_t sigterm_ns;
    char late[LATE][45];
} operator;

static long long count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Waits until COND(OP, DB) or WAIT_NS; 0, or -1 (OP->stuck = WHAT). */
static int wait_for(operator *op, sqlite3 *db, int (*cond)(operator *, sqlite3 *), const char *what)
{
    int64_t deadline = now_mono_ns() + WAIT_NS;
    while (!cond(op, db)) {
        if (live_daemon_done(op->L) || now_mono_ns() > deadline) {
            op->stuck = what;
            return -1;
        }
        usleep(20 * 1000);
    }
    return 0;
}

static int first_pass_done(operator *op, sqlite3 *db)
{
    (void)op;
    return count(db, "SELECT count(*) FROM tokens WHERE status = 'pending' OR claim_id IS NOT NULL") == 0;
}

static int late_batch_on_the_wire(operator *op, sqlite3 *db)
{
    (void)db;
    fake_source_stats dex;
    fake_server_stats(op->L->fake, FAKE_DEXSCREENER, &dex);
    return dex.requests > op->first[FAKE_DEXSCREENER].requests;
}

static int import_late(operator *op)
{
    char err[512];
    store *st = store_open(op->L->cfg.store, err, sizeof err);
    if (!st)
        return -1;
    const char *addrs[LATE];
    for (size_t i = 0; i < LATE; i++) {
        fake_address(LATE_SEED, i, op->late[i]);
        addrs[i] = op->late[i];
    }
    size_t inserted = 0;
    int rc = store_import(st, addrs, LATE, &inserted, err, sizeof err);
    store_close(st);
    return rc == 0 && inserted == LATE ? 0 : -1;
}

static void *operate(void *arg)
{
    operator *op = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(op->L->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 10000);
        if (wait_for(op, db, first_pass_done, "the first pass") == 0) {
            for (int s = 0; s < FAKE_NSOURCES; s++)
                fake_server_stats(op->L->fake, (fake_source)s, &op->first[s]);
            char err[256];
            if (fake_server_faults(op->L->fake, "source=dexscreener&timeout_rate=1&hang_ms=100", err,
                                   sizeof err) != 0 ||
                import_late(op) != 0)
                op->stuck = "importing the late tokens";
            else
                wait_for(op, db, late_batch_on_the_wire, "the late batch's DexScreener request");
        }
    } else {
        op->stuck = "opening the database";
    }
    sqlite3_close(db);
    op->sigterm_ns = now_mono_ns();
    live_signal_daemon(op->L, SIGTERM);
    return NULL;
}

static void daemon_refreshes_every_token_then_stops_on_sigterm(void **state)
{
    (void)state;
    live L;
    live_start(&L, NULL);
    live_config(&L, "shutdown_grace_s = 2", NULL, NULL, LIVE_SCHED_HOURLY);
    live_import(&L, N, 31);
    operator op = {.L = &L};
    int64_t wall0 = now_wall_s();
    /* The watcher returns as soon as it has sent SIGTERM. */
    int rc = live_run_daemon(&L, NULL, operate, &op);
    int64_t stopped_ns = now_mono_ns(), wall1 = now_wall_s();

    if (op.stuck)
        fail_msg("timed out waiting for %s", op.stuck);
    assert_int_equal(rc, 0);
    /* It waited for the request on the wire (held 100 ms, then closed
     * unanswered), and returned as soon as nothing was in flight, well within
     * the grace period of 2 s. libcurl sends a request that a reused
     * connection closed unanswered again on another pooled connection,
     * unseen by the engine: DexScreener may see it up to 6 times. */
    double stop_s = (double)(stopped_ns - op.sigterm_ns) / 1e9;
    if (stop_s < 0.05 || stop_s > 1.5)
        fail_msg("daemon_run returned %.2f s after SIGTERM (request held 0.1 s, grace 2 s)", stop_s);

    /* The first pass: one batch of all N tokens, ceil(N / chunk) requests. */
    assert_int_equal(op.first[FAKE_JUPITER].requests, live_chunks(N, 100));
    assert_int_equal(op.first[FAKE_HELIUS].requests, live_chunks(N, 1000));
    assert_int_equal(op.first[FAKE_DEXSCREENER].requests, live_chunks(N, 30));
    for (int s = 0; s < FAKE_NSOURCES; s++) {
        assert_int_equal(op.first[s].ok, op.first[s].requests);
        assert_int_equal(op.first[s].max_requests_per_address, 1);
        fake_source_stats f = live_fake_stats(&L, (fake_source)s);
        assert_int_equal(f.status_429, 0);
        /* Then only the late batch (DexScreener's maybe resent by libcurl,
         * above): the first tokens are not due for an hour. */
        assert_true(f.requests >= op.first[s].requests + 1);
        assert_true(f.requests <= op.first[s].requests + (s == FAKE_DEXSCREENER ? 6 : 1));
        assert_int_equal(f.distinct_addresses, N + LATE);
    }
    live_check_committed(&L, (const int[FAKE_NSOURCES]){1, 1, 1});
    /* Each refreshed token got its next due time from the scheduler. */
    assert_int_equal(live_sql_int(&L,
                                  "SELECT count(*) FROM tokens WHERE refresh_interval_seconds = 3600"
                                  " AND next_refresh_at BETWEEN %lld AND %lld",
                                  (long long)wall0 + 3600 - 2, (long long)wall1 + 3600 + 2),
                     N);

    /* The late batch was on the wire at SIGTERM: given back unchanged. */
    for (size_t i = 0; i < LATE; i++) {
        assert_int_equal(live_sql_int(&L,
                                      "SELECT count(*) FROM tokens WHERE address = %Q AND status = 'pending'"
                                      " AND claim_id IS NULL AND lease_until = 0 AND enrichment_attempts = 0",
                                      op.late[i]),
                         1);
        assert_int_equal(live_sql_int(&L, "SELECT count(*) FROM token_sources WHERE address = %Q", op.late[i]), 0);
    }
    live_stop(&L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(daemon_refreshes_every_token_then_stops_on_sigterm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
