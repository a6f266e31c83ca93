/* The live reload in-process, under load, as the sanitizer build runs it
 * too (so a leak or a use after free of a swapped instance fails here): the
 * real daemon loop against the fake upstream while a watcher thread
 * rewrites the config and sends SIGHUP 50 times in a row, every tenth time
 * with an error in the file, then SIGTERM. Every token must still be
 * committed as the upstream served it, with no 429. */
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

#include "daemon.h"
#include "live_harness.h"
#include "util.h"

enum { N = 150, STORM = 50 };

typedef struct operator {
    live *L;
    char *original; /* the config file as live_config wrote it */
    int broken_sent;
    const char *stuck;
} operator;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* The original config with DexScreener's chunk_size set to CHUNK, and an
 * unknown key in its section when BROKEN. Written beside it and renamed
 * over it, as a deploy would: a reload still running from the last SIGHUP
 * must never read a half-written file (which it would rightly refuse, one
 * refusal more than the broken files sent). */
static int write_variant(operator *op, int chunk, int broken)
{
    const char *at = strstr(op->original, "chunk_size = 30\n");
    if (!at)
        return -1;
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s.new", op->L->ini);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%.*schunk_size = %d\n%s%s", (int)(at - op->original), op->original, chunk,
            broken ? "no_such_key = 1\n" : "", at + strlen("chunk_size = 30\n"));
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, op->L->ini);
}

static int all_committed(live *L)
{
    return live_sql_int(L, "SELECT count(*) FROM tokens WHERE status = 'pending' OR claim_id IS NOT NULL") == 0;
}

static void *operate(void *arg)
{
    operator *op = arg;
    int64_t deadline = now_mono_ns() + 20 * NS_PER_S;
    while (!all_committed(op->L) && now_mono_ns() < deadline)
        usleep(20 * 1000);
    for (int i = 0; i < STORM && !op->stuck; i++) {
        int broken = i % 10 == 9;
        if (write_variant(op, i % 2 ? 20 : 30, broken) != 0)
            op->stuck = "writing the config";
        op->broken_sent += broken;
        live_signal_daemon(op->L, SIGHUP);
        usleep(15 * 1000);
    }
    /* Back to the original, then let one more refresh of everything run. */
    if (write_variant(op, 30, 0) != 0)
        op->stuck = "writing the config";
    live_signal_daemon(op->L, SIGHUP);
    usleep(2500 * 1000);
    live_signal_daemon(op->L, SIGTERM);
    return NULL;
}

static void fifty_sighups_under_load(void **state)
{
    (void)state;
    live L;
    live_start(&L, NULL);
    live_config(&L, "shutdown_grace_s = 2", NULL, NULL,
                "[scheduler]\nmin_interval = 1s\nmax_interval = 2s\nmax_wait = 4s\nbatch_delay_ms = 20\n"
                "max_batch_size = 300\nmetrics_interval = 1s\ndynamic_intervals = false\n");
    live_import(&L, N, 41);
    operator op = {.L = &L, .original = read_file(L.ini)};
    assert_non_null(op.original);
    daemon_report report = {0};
    int rc = live_run_daemon(&L, &(daemon_opts){.report = &report}, operate, &op);
    free(op.original);
    if (op.stuck)
        fail_msg("%s", op.stuck);

    assert_int_equal(rc, 0);
    /* SIGHUPs that come during a reload are merged into the next one, so
     * fewer reloads than signals; the broken files are refused. */
    print_message("reloads: %llu applied, %llu refused of %d SIGHUPs (%d broken)\n",
                  (unsigned long long)report.reloads_applied, (unsigned long long)report.reloads_refused,
                  STORM + 1, op.broken_sent);
    assert_true(report.reloads_applied >= 10);
    assert_true(report.reloads_refused >= 1);
    assert_true(report.reloads_refused <= (uint64_t)op.broken_sent);
    assert_true(report.reloads_applied + report.reloads_refused <= STORM + 1);
    for (int s = 0; s < FAKE_NSOURCES; s++)
        assert_int_equal(live_fake_stats(&L, (fake_source)s).status_429, 0);
    /* Nothing lost: every token as the upstream served it, none claimed. */
    live_check_committed(&L, (const int[FAKE_NSOURCES]){1, 1, 1});
    live_stop(&L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fifty_sighups_under_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
