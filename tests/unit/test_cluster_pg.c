/* The cluster-wide limiter's statements (cluster_pg.c) on a real PostgreSQL
 * (tests/unit/pg_test.c starts one): the first reservation creates the row
 * and grants the burst and what fits cluster_ahead; the schedule then
 * refuses more until time passes; a pause refuses everything and halves an
 * adaptive rate once per pause; two connections reserving as fast as they
 * can together stay within the GCRA's bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "cluster_limiter.h"
#include "cluster_pg.h"
#include "pg_test.h"
#include "util.h"

static cluster_pg *connect_limiter(void)
{
    char err[512];
    cluster_pg *c = cluster_pg_new(g_uri);
    if (cluster_pg_connect(c, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(cluster_pg_connected(c));
    return c;
}

static void reserve_creates_the_row_and_grants_the_burst(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_cluster_reserve");
    cluster_pg *c = connect_limiter();
    /* 100/s, burst 3, 50 ms ahead: 1 + floor((0.05 + 0.02) x 100) = 8 permits now. */
    cluster_pg_limit l = {"api", 100, 3, 0.05, 0};
    cluster_pg_answer a;
    char err[512];
    assert_int_equal(cluster_pg_reserve(c, &l, 20, &a, err, sizeof err), 0);
    assert_int_equal(a.granted, 8);
    assert_true(a.tat_s > 0.07 && a.tat_s <= 0.081);
    assert_true(a.rate == 100);
    assert_true(a.pause_s == 0);
    assert_int_equal(a.taken, 8);
    /* At once again: the schedule is full 50 ms ahead (one more at most if
     * 10 ms passed in between). */
    assert_int_equal(cluster_pg_reserve(c, &l, 20, &a, err, sizeof err), 0);
    assert_true(a.granted <= 1);
    assert_q("api", "SELECT name FROM cluster_limiters");
    /* Never more than asked. */
    cluster_pg_limit m = {"other", 1000, 1, 1, 0};
    assert_int_equal(cluster_pg_reserve(c, &m, 5, &a, err, sizeof err), 0);
    assert_int_equal(a.granted, 5);
    cluster_pg_free(c);
    close_all(st);
}

static void pause_refuses_everyone_and_halves_once(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_cluster_pause");
    cluster_pg *c = connect_limiter(), *d = connect_limiter();
    cluster_pg_limit l = {"api", 100, 1, 0.05, 1};
    cluster_pg_answer a;
    char err[512];
    assert_int_equal(cluster_pg_reserve(c, &l, 4, &a, err, sizeof err), 0);
    assert_int_equal(a.granted, 4);
    /* A 429 seen by C: D is refused for the pause, the adaptive rate halves. */
    assert_int_equal(cluster_pg_pause(c, &l, 0.5, 1, &a, err, sizeof err), 0);
    assert_true(a.pause_s > 0.45 && a.pause_s <= 0.5);
    assert_true(a.rate == 50);
    assert_int_equal(cluster_pg_reserve(d, &l, 4, &a, err, sizeof err), 0);
    assert_int_equal(a.granted, 0);
    assert_true(a.pause_s > 0.4);
    /* D's 429 of the same window: the pause stays, the rate is not halved again. */
    assert_int_equal(cluster_pg_pause(d, &l, 0.5, 1, &a, err, sizeof err), 0);
    assert_true(a.rate == 50);
    assert_q("2", "SELECT pauses FROM cluster_limiters WHERE name = 'api'");
    /* The restart has no burst: the schedule starts after the pause. */
    assert_true(a.tat_s >= a.pause_s - 0.001);
    cluster_pg_free(c);
    cluster_pg_free(d);
    close_all(st);
}

/* Two collectors reserving back to back for 0.5 s at 200/s, burst 2, 20 ms
 * ahead: together at most rate x 0.5 s + burst + rate x ahead permits. */
static void two_connections_share_one_schedule(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_cluster_two");
    cluster_pg *c[2] = {connect_limiter(), connect_limiter()};
    cluster_pg_limit l = {"api", 200, 2, 0.02, 0};
    cluster_pg_answer a;
    char err[512];
    long long got[2] = {0, 0};
    int64_t end = now_mono_ns() + 500 * NS_PER_MS;
    long long first_taken = -1;
    for (int i = 0; now_mono_ns() < end; i ^= 1) {
        assert_int_equal(cluster_pg_reserve(c[i], &l, 3, &a, err, sizeof err), 0);
        if (first_taken < 0)
            first_taken = a.taken - a.granted;
        got[i] += a.granted;
    }
    long long total = got[0] + got[1];
    print_message("granted %lld + %lld in 0.5 s (bound %d)\n", got[0], got[1], 100 + 2 + 4);
    assert_true(total <= 100 + 2 + 4);
    assert_true(got[0] > 0 && got[1] > 0);
    assert_int_equal(a.taken - first_taken, total);
    cluster_pg_free(c[0]);
    cluster_pg_free(c[1]);
    close_all(st);
}

/* The database away: an error naming the store (no password), and
 * connected() says so; the next connect gets it back. */
static void a_lost_connection_fails_then_reconnects(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_cluster_lost");
    cluster_pg *c = connect_limiter();
    cluster_pg_limit l = {"api", 10, 1, 0.1, 0};
    cluster_pg_answer a;
    char err[512];
    exec_ok(g_db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                  " WHERE application_name = 'tokencollector-limiter'");
    assert_int_not_equal(cluster_pg_reserve(c, &l, 1, &a, err, sizeof err), 0);
    assert_non_null(strstr(err, "cluster limiter reservation"));
    assert_false(cluster_pg_connected(c));
    assert_int_equal(cluster_pg_connect(c, err, sizeof err), 0);
    assert_int_equal(cluster_pg_reserve(c, &l, 1, &a, err, sizeof err), 0);
    assert_int_equal(a.granted, 1);
    cluster_pg_free(c);
    close_all(st);
}

/* The limiter thread and the loop's side (cluster_limiter.c) for real: a
 * loop taking permits as fast as they come for 0.6 s at 100/s gets what the
 * GCRA allows (no more), a pause stops it for everyone, the figures add up. */
static void the_limiter_thread_feeds_a_loop(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_cluster_thread");
    cluster *c = cluster_new(g_uri);
    cluster_limiter *l = cluster_add(c, "api", 100, 1, 0, 250 * NS_PER_MS);
    int64_t start = now_mono_ns(), end = start + 600 * NS_PER_MS;
    long taken = 0;
    while (now_mono_ns() < end) {
        int64_t now = now_mono_ns(), w = cluster_limiter_wait_ns(l, now);
        if (w == 0) {
            cluster_limiter_take(l, now);
            taken++;
        } else {
            struct timespec ts = {0, (long)(w < 2 * NS_PER_MS ? w : 2 * NS_PER_MS)};
            nanosleep(&ts, NULL);
        }
    }
    /* 0.6 s at 100/s, from an idle row: 60 + 1, and what the last
     * reservation let go early (never before its moment: none). */
    print_message("taken %ld in 0.6 s at 100/s\n", taken);
    assert_true(taken <= 61);
    assert_true(taken >= 30); /* a loaded machine still gets half */
    cluster_stats cs;
    assert_int_equal(cluster_stats_collect(c, &cs, 1), 1);
    assert_string_equal(cs.name, "api");
    assert_int_equal(cs.used, (uint64_t)taken);
    assert_true(cs.granted >= cs.used);
    assert_true(cs.reservations >= 1 && cs.reservations < (uint64_t)taken);
    assert_true(cs.connected);
    /* A 429: nothing for 300 ms, written to the row for every collector. */
    int64_t now = now_mono_ns();
    cluster_limiter_pause(l, now, 300 * NS_PER_MS);
    int64_t w = cluster_limiter_wait_ns(l, now);
    assert_true(w >= 290 * NS_PER_MS);
    for (int i = 0; i < 100; i++) {
        char *v = q1("SELECT pauses FROM cluster_limiters WHERE name = 'api'");
        int done = v && !strcmp(v, "1");
        free(v);
        if (done)
            break;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_q("1", "SELECT pauses FROM cluster_limiters WHERE name = 'api'");
    assert_q("t", "SELECT pause_until > now() FROM cluster_limiters WHERE name = 'api'");
    cluster_free(c);
    close_all(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reserve_creates_the_row_and_grants_the_burst),
        cmocka_unit_test(pause_refuses_everyone_and_halves_once),
        cmocka_unit_test(two_connections_share_one_schedule),
        cmocka_unit_test(a_lost_connection_fails_then_reconnects),
        cmocka_unit_test(the_limiter_thread_feeds_a_loop),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
