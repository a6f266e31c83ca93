/* The engine in-process, as Fluent Bit's runtime tests run theirs: the real
 * engine (engine_run_once, and daemon mode: engine_set_daemon, engine_submit,
 * engine_step) with the real plugins loaded through the registry, against
 * the fake upstream on an ephemeral loopback port, with a real SQLite store.
 * The assertions compare three independent accounts: the engine's
 * source_stats, what the fake upstream counted, and what the store holds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "live_harness.h"
#include "util.h"

/* A pass without faults: ceil(N / chunk) requests per source by both
 * counts, each address asked once, no 429, every answer used. */
static void expect_clean_pass(live *L, engine *e, fake_source s)
{
    size_t i = live_source(e, fake_source_name(s));
    const source_stats *st = engine_source_stats(e, i);
    fake_source_stats f = live_fake_stats(L, s);
    uint64_t want = live_chunks(L->n, engine_source_chunk_size(e, i));
    assert_int_equal(st->requests, want);
    assert_int_equal(f.requests, want);
    assert_int_equal(f.ok, want);
    assert_int_equal(st->ok, want);
    assert_int_equal(f.status_429 + f.status_4xx + f.status_5xx, 0);
    assert_int_equal(st->retries + st->throttled + st->chunks_failed, 0);
    assert_int_equal(f.addresses, L->n);
    assert_int_equal(f.distinct_addresses, L->n);
    assert_int_equal(f.max_requests_per_address, 1);
    assert_true(f.max_in_window <= f.limit);
    assert_int_equal(st->tokens_found, live_count_known(L, s));
    assert_int_equal(st->tokens_found + st->tokens_missing, L->n);
}

static const int ALL_SOURCES[FAKE_NSOURCES] = {1, 1, 1};
static const int DEX_ONLY[FAKE_NSOURCES] = {0, 0, 1};

/* ---- --once ------------------------------------------------------------------ */

static void once_sends_ceil_n_over_chunk_and_commits_every_token(void **state)
{
    (void)state;
    live L;
    live_start(&L, NULL);
    live_config(&L, NULL, NULL, NULL, NULL);
    live_import(&L, 250, 21);
    engine *e = live_engine(&L);
    assert_int_equal(engine_source_count(e), 3);
    assert_int_equal(engine_run_once(e, NULL), 0);
    assert_int_equal(engine_tokens_committed(e), 250);
    assert_int_equal(engine_commit_failures(e), 0);
    for (int s = 0; s < FAKE_NSOURCES; s++)
        expect_clean_pass(&L, e, (fake_source)s);
    /* 250 tokens: 3 Jupiter requests of 100, 1 Helius, 9 DexScreener of 30. */
    assert_int_equal(live_fake_stats(&L, FAKE_JUPITER).requests, 3);
    assert_int_equal(live_fake_stats(&L, FAKE_HELIUS).requests, 1);
    assert_int_equal(live_fake_stats(&L, FAKE_DEXSCREENER).requests, 9);
    live_check_committed(&L, ALL_SOURCES);
    assert_int_equal(live_sql_int(&L, "SELECT count(*) FROM tokens WHERE outstanding_sources IS NOT NULL"), 0);
    engine_free(e);
    live_stop(&L);
}

/* One source, one request at a time: the fake's fault draws then come in a
 * fixed order, so the run is the same every time. With FAULT_SEED the draws
 * give 2 answers 500/503 in the 5xx test and one 429 in the 429 test. */
#define ONE_AT_A_TIME "concurrency = 1\nmax_attempts = 10\nbreaker_window = 100\nbreaker_min_calls = 100"
#define FAULT_SEED 9

typedef struct dex_run {
    engine *e;
    const source_stats *st; /* the engine's account */
    fake_source_stats f;    /* the fake's */
    uint64_t chunks;        /* ceil(n / 30) */
    int64_t took_ns;
} dex_run;

/* A --once pass over N tokens (addresses of SEED) with DexScreener only,
 * one request at a time, under FAULTS. Whatever the faults, in the end both
 * accounts agree, every chunk got one good answer, and every token was
 * committed as served. */
static dex_run dex_only_once(live *L, size_t n, uint64_t seed, const char *faults)
{
    fake_server_options o;
    live_fake_defaults(&o);
    o.seed = FAULT_SEED;
    live_start(L, &o);
    live_config(L, NULL, "dexscreener", ONE_AT_A_TIME, NULL);
    live_import(L, n, seed);
    live_faults(L, faults);
    dex_run r = {.e = live_engine(L), .chunks = live_chunks(n, 30)};
    int64_t t0 = now_mono_ns();
    assert_int_equal(engine_run_once(r.e, NULL), 0);
    r.took_ns = now_mono_ns() - t0;
    r.st = engine_source_stats(r.e, 0);
    r.f = live_fake_stats(L, FAKE_DEXSCREENER);
    assert_int_equal(r.f.requests, r.st->requests);
    assert_int_equal(r.f.ok, r.chunks);
    assert_int_equal(r.st->ok, r.chunks);
    assert_int_equal(r.st->chunks_failed, 0);
    assert_int_equal(engine_tokens_committed(r.e), n);
    live_check_committed(L, DEX_ONLY);
    assert_int_equal(live_sql_int(L, "SELECT count(*) FROM tokens WHERE outstanding_sources IS NOT NULL"), 0);
    return r;
}

static void once_retries_chunks_answered_5xx(void **state)
{
    (void)state;
    live L;
    dex_run r = dex_only_once(&L, 90, 22, "source=dexscreener&error_rate=0.5");
    assert_true(r.f.status_5xx >= 1);
    assert_int_equal(r.st->fail_5xx, r.f.status_5xx);
    assert_int_equal(r.st->retries, r.f.status_5xx); /* every 5xx was sent again */
    assert_int_equal(r.st->requests, r.chunks + r.st->retries);
    engine_free(r.e);
    live_stop(&L);
}

static void once_resends_after_injected_429(void **state)
{
    (void)state;
    live L;
    dex_run r = dex_only_once(&L, 60, 23, "source=dexscreener&rate429=0.4&retry_after=1");
    assert_true(r.f.status_429 >= 1);
    assert_int_equal(r.f.faults_injected, r.f.status_429);
    assert_int_equal(r.st->throttled, r.f.status_429);
    assert_int_equal(r.st->retries, 0); /* a 429 is not a failed attempt */
    assert_int_equal(r.st->requests, r.chunks + r.st->throttled);
    /* Each resend waited for the Retry-After of 1 s. */
    if (r.took_ns < (int64_t)r.st->throttled * NS_PER_S * 95 / 100)
        fail_msg("%llu 429s answered in %.2f s: a resend did not wait for Retry-After",
                 (unsigned long long)r.st->throttled, (double)r.took_ns / 1e9);
    engine_free(r.e);
    live_stop(&L);
}

/* The resilience table of engine_print_summary: its row for NAME. */
static void resilience_row(engine *e, const char *name, unsigned long long *opened, unsigned long long *skipped)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    engine_print_summary(e, f, 1.0);
    fclose(f);
    const char *table = strstr(text, "\nresilience ");
    assert_non_null(table);
    char want[64], row[64], brk[16];
    snprintf(want, sizeof want, "\n%s ", name);
    const char *line = strstr(table, want);
    assert_non_null(line);
    assert_int_equal(sscanf(line, "%63s %15s %llu %*u %llu", row, brk, opened, skipped), 4);
    free(text);
}

static void breaker_opens_while_a_source_is_down(void **state)
{
    (void)state;
    enum { N = 300 };
    live L;
    live_start(&L, NULL);
    live_config(&L, "outstanding_retry_min_s = 1\noutstanding_retry_max_s = 1", NULL,
                "breaker_window = 4\nbreaker_min_calls = 4\nbreaker_open_s = 1\nbreaker_open_max_s = 1", NULL);
    live_import(&L, N, 24);
    live_faults(&L, "source=dexscreener&down=1");
    engine *e = live_engine(&L);
    assert_int_equal(engine_run_once(e, NULL), 0);
    size_t dex = live_source(e, "dexscreener");
    const source_stats *st = engine_source_stats(e, dex);
    fake_source_stats f = live_fake_stats(&L, FAKE_DEXSCREENER);
    uint64_t chunks = live_chunks(N, 30);
    /* The stats and the summary's resilience table count the same openings. */
    unsigned long long opened = 0, skipped = 0;
    resilience_row(e, "dexscreener", &opened, &skipped);
    assert_true(opened >= 1);
    assert_int_equal(st->breaker_opened, opened);
    assert_true(st->breaker_transitions >= st->breaker_opened);
    assert_true(st->tokens_skipped > 0); /* skipped: not asked, the breaker was open */
    assert_int_equal(skipped, st->tokens_skipped);
    assert_int_equal(st->tokens_found + st->tokens_missing, 0);
    assert_int_equal(st->tokens_skipped + st->tokens_failed, N);
    assert_int_equal(f.requests, st->requests);
    assert_int_equal(f.status_5xx, f.requests);
    assert_int_equal(st->fail_5xx, f.requests);
    /* Without the breaker every chunk would go out, max_attempts (4) times
     * each; with it, most chunks never do. */
    if (f.requests >= chunks)
        fail_msg("%llu requests reached the down source (%llu chunks)", (unsigned long long)f.requests,
                 (unsigned long long)chunks);
    expect_clean_pass(&L, e, FAKE_JUPITER);
    expect_clean_pass(&L, e, FAKE_HELIUS);
    engine_free(e);
    /* The other sources' data is committed; every token still owes dexscreener. */
    assert_int_equal(live_sql_int(&L, "SELECT count(*) FROM tokens WHERE outstanding_sources = 'dexscreener'"), N);
    assert_int_equal(live_sql_int(&L, "SELECT count(*) FROM tokens WHERE status = 'pending'"), 0);
    /* Not no_data while dexscreener is owed: a token the others do not know
     * is failed (retried), and only those are. */
    assert_int_equal(live_sql_int(&L, "SELECT count(*) FROM tokens WHERE status = 'no_data'"), 0);
    assert_int_equal(live_sql_int(&L, "SELECT count(*) FROM tokens t WHERE status = 'failed' AND EXISTS "
                                      "(SELECT 1 FROM token_sources s WHERE s.address = t.address)"), 0);
    assert_int_equal(live_sql_int(&L, "SELECT count(*) FROM token_sources WHERE source = 'dexscreener'"), 0);
    const int no_dex[FAKE_NSOURCES] = {1, 1, 0};
    live_check_committed(&L, no_dex);

    /* Once the source is back and the owed tokens are due, a pass asks only
     * dexscreener, in full chunks, and completes every token. */
    live_faults(&L, "source=all&clear=1");
    fake_server_reset(L.fake);
    int64_t due = live_sql_int(&L, "SELECT max(next_refresh_at) FROM tokens");
    assert_true(due <= now_wall_s() + 2);
    while (now_wall_s() < due)
        usleep(50 * 1000);
    e = live_engine(&L);
    assert_int_equal(engine_run_once(e, NULL), 0);
    assert_int_equal(live_fake_stats(&L, FAKE_JUPITER).requests, 0);
    assert_int_equal(live_fake_stats(&L, FAKE_HELIUS).requests, 0);
    assert_int_equal(engine_source_stats(e, live_source(e, "jupiter"))->tokens_kept, N);
    expect_clean_pass(&L, e, FAKE_DEXSCREENER);
    engine_free(e);
    live_check_committed(&L, ALL_SOURCES);
    assert_int_equal(live_sql_int(&L, "SELECT count(*) FROM tokens WHERE outstanding_sources IS NOT NULL"), 0);
    live_stop(&L);
}

/* ---- daemon mode ----------------------------------------------------------------- */

#define NEXT_REFRESH_AT INT64_C(4102444800) /* 2100-01-01 */

typedef struct hook_log {
    size_t next_refresh, not_refreshed;
    size_t answered_other; /* next_refresh calls with ANSWERED != every source */
    size_t n_sources;
} hook_log;

static int64_t on_next_refresh(void *ctx, const char *addr, token_status status, size_t answered,
                               double price_before, double price_after, int *interval_s, double *priority_score)
{
    (void)addr;
    (void)status;
    (void)price_before;
    (void)price_after;
    hook_log *h = ctx;
    h->next_refresh++;
    h->answered_other += answered != h->n_sources;
    *interval_s = 77;
    *priority_score = 2.5;
    return NEXT_REFRESH_AT;
}

static void on_not_refreshed(void *ctx, const char *addr)
{
    (void)addr;
    ((hook_log *)ctx)->not_refreshed++;
}

/* A daemon-mode engine, with every source, that has claimed N tokens
 * (addresses of SEED) in one engine_submit, under FAULTS (NULL: none). */
static engine *daemon_submitted(live *L, hook_log *h, size_t n, uint64_t seed, const char *faults)
{
    live_start(L, NULL);
    live_config(L, NULL, NULL, NULL, NULL);
    live_import(L, n, seed);
    if (faults)
        live_faults(L, faults);
    engine *e = live_engine(L);
    memset(h, 0, sizeof *h);
    h->n_sources = engine_source_count(e);
    engine_hooks hooks = {.ctx = h, .next_refresh = on_next_refresh, .not_refreshed = on_not_refreshed};
    engine_set_daemon(e, &hooks);
    char err[512];
    size_t claimed = 0;
    if (engine_submit(e, (const char *const *)L->addrs, n, 0, &claimed, err, sizeof err) != 0)
        fail_msg("engine_submit: %s", err);
    assert_int_equal(claimed, n);
    assert_int_equal(engine_tokens_open(e), n);
    return e;
}

/* Steps E until DONE(E, CTX) or 10 s have passed; fails on the timeout. */
static void step_until(engine *e, int (*done)(engine *, void *), void *ctx, const char *what)
{
    int64_t deadline = now_mono_ns() + 10 * NS_PER_S;
    while (!done(e, ctx)) {
        if (now_mono_ns() > deadline)
            fail_msg("timed out waiting for %s", what);
        engine_step(e, 20);
    }
}

static int nothing_open(engine *e, void *ctx)
{
    (void)ctx;
    return engine_tokens_open(e) == 0;
}

static int nothing_in_flight(engine *e, void *ctx)
{
    (void)ctx;
    return engine_requests_in_flight(e) == 0;
}

static void daemon_submit_step_commit(void **state)
{
    (void)state;
    enum { N = 70 };
    live L;
    hook_log h;
    engine *e = daemon_submitted(&L, &h, N, 25, NULL);
    char err[512];
    size_t claimed = 0;
    /* Submitted again while leased: none is taken, each is reported. */
    assert_int_equal(engine_submit(e, (const char *const *)L.addrs, N, 0, &claimed, err, sizeof err), 0);
    assert_int_equal(claimed, 0);
    assert_int_equal(h.not_refreshed, N);
    step_until(e, nothing_open, NULL, "the batch to be committed");
    assert_int_equal(engine_tokens_committed(e), N);
    assert_int_equal(h.next_refresh, N);
    assert_int_equal(h.answered_other, 0);
    /* Partial chunks go at once: 70 tokens = 1 + 1 + 3 requests. */
    for (int s = 0; s < FAKE_NSOURCES; s++)
        expect_clean_pass(&L, e, (fake_source)s);
    live_check_committed(&L, ALL_SOURCES);
    /* What the hook said is what the store keeps. */
    assert_int_equal(live_sql_int(&L, "SELECT count(*) FROM tokens WHERE next_refresh_at = %lld"
                                      " AND refresh_interval_seconds = 77 AND priority_score = 2.5",
                                  (long long)NEXT_REFRESH_AT),
                     N);
    engine_free(e);
    live_stop(&L);
}

typedef struct stuck_batch {
    live *L;
    size_t jup, hel;
} stuck_batch;

/* Jupiter and Helius have answered every token, DexScreener's requests hang. */
static int others_answered(engine *e, void *ctx)
{
    stuck_batch *b = ctx;
    const source_stats *j = engine_source_stats(e, b->jup), *h = engine_source_stats(e, b->hel);
    return j->tokens_found + j->tokens_missing == b->L->n && h->tokens_found + h->tokens_missing == b->L->n &&
           live_fake_stats(b->L, FAKE_DEXSCREENER).requests == live_chunks(b->L->n, 30);
}

/* Stopping as daemon_run does: nothing new goes out, what is on the wire
 * ends, and the batches still open go back to the store unchanged. The
 * fake holds DexScreener's requests for 500 ms, then closes them unanswered. */
static void daemon_stop_gives_open_batches_back(void **state)
{
    (void)state;
    enum { N = 40 };
    live L;
    hook_log h;
    engine *e = daemon_submitted(&L, &h, N, 26, "source=dexscreener&timeout_rate=1&hang_ms=500");
    stuck_batch b = {.L = &L, .jup = live_source(e, "jupiter"), .hel = live_source(e, "helius")};
    step_until(e, others_answered, &b, "jupiter and helius to answer");
    assert_int_equal(engine_tokens_open(e), N); /* the batch waits for dexscreener */
    assert_int_equal(engine_requests_in_flight(e), live_chunks(N, 30));
    assert_int_equal(live_sql_int(&L, "SELECT count(*) FROM tokens WHERE claim_id IS NOT NULL"), N);

    engine_request_stop(e);
    step_until(e, nothing_in_flight, NULL, "the hanging requests to end");
    const source_stats *dex = engine_source_stats(e, live_source(e, "dexscreener"));
    assert_int_equal(dex->fail_transport, live_chunks(N, 30));
    assert_int_equal(dex->requests, live_chunks(N, 30)); /* stopped: the retries were not sent */
    /* libcurl itself sends a request again, unseen by the engine, when a
     * reused connection closes unanswered (up to 5 times): the fake may count
     * more arrivals than the engine sent requests. */
    uint64_t arrived = live_fake_stats(&L, FAKE_DEXSCREENER).requests;
    assert_true(arrived >= live_chunks(N, 30) && arrived <= 6 * live_chunks(N, 30));
    assert_int_equal(engine_tokens_open(e), N);
    assert_int_equal(h.next_refresh, 0);

    engine_release_open(e);
    assert_int_equal(engine_tokens_open(e), 0);
    assert_int_equal(h.not_refreshed, N);
    assert_int_equal(engine_tokens_committed(e), 0);
    engine_free(e);
    /* Given back unchanged, Jupiter's and Helius's answers included: pending,
     * unclaimed, nothing written. */
    assert_int_equal(live_sql_int(&L, "SELECT count(*) FROM tokens WHERE status = 'pending' AND claim_id IS NULL"
                                      " AND lease_until = 0 AND enrichment_attempts = 0"),
                     N);
    assert_int_equal(live_sql_int(&L, "SELECT count(*) FROM token_sources"), 0);
    live_stop(&L);
}

/* The engine freed while requests are still on the wire (daemon_run after
 * its grace period): their chunks and the plugin instances they hold are
 * freed too. The sanitizer build's leak check is what sees a miss. */
static void free_with_requests_on_the_wire(void **state)
{
    (void)state;
    enum { N = 40 };
    live L;
    hook_log h;
    engine *e = daemon_submitted(&L, &h, N, 27, "source=dexscreener&timeout_rate=1&hang_ms=2000");
    stuck_batch b = {.L = &L, .jup = live_source(e, "jupiter"), .hel = live_source(e, "helius")};
    step_until(e, others_answered, &b, "jupiter and helius to answer");
    assert_int_equal(engine_requests_in_flight(e), live_chunks(N, 30));
    engine_release_open(e);
    assert_int_equal(h.not_refreshed, N);
    engine_free(e);
    live_stop(&L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(once_sends_ceil_n_over_chunk_and_commits_every_token),
        cmocka_unit_test(once_retries_chunks_answered_5xx),
        cmocka_unit_test(once_resends_after_injected_429),
        cmocka_unit_test(breaker_opens_while_a_source_is_down),
        cmocka_unit_test(daemon_submit_step_commit),
        cmocka_unit_test(daemon_stop_gives_open_batches_back),
        cmocka_unit_test(free_with_requests_on_the_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
