/* The SQLite store's contract, the same one test_store_pg checks for
 * PostgreSQL: claims with leases, owed sources, per-outcome writes, the
 * daemon's claim by address, scans, and the upgrade of an older schema. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "feed_text.h"
#include "store.h"
#include "util.h"

static char path[128];

static store *open_fresh(void)
{
    snprintf(path, sizeof path, "/tmp/tc-test-store-%d.db", (int)getpid());
    unlink(path);
    char uri[160], err[512];
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    store *st = store_open(uri, err, sizeof err);
    if (!st)
        fail_msg("%s", err);
    return st;
}

static void close_and_remove(store *st)
{
    store_close(st);
    char wal[160];
    unlink(path);
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
}

/* One value from the database file, as text ("" for NULL). */
static char *q(const char *sql)
{
    static char out[512];
    sqlite3 *db;
    sqlite3_stmt *st;
    out[0] = 0;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static void exec_sql(const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void import(store *st, const char *const *addrs, size_t n)
{
    size_t inserted;
    char err[512];
    assert_int_equal(store_import(st, addrs, n, &inserted, err, sizeof err), 0);
}

static size_t claim(store *st, const char *id, int64_t now, int due, claimed_token **out)
{
    claim_request rq = {.owner = "test", .claim_id = id, .now = now, .lease_s = 60, .max = 100, .due = due};
    size_t n;
    char err[512];
    assert_int_equal(store_claim(st, &rq, out, &n, err, sizeof err), 0);
    return n;
}

/* ADDR, the only token due, claimed as ID at NOW. */
static void claim_one(store *st, const char *addr, const char *id, int64_t now, int due)
{
    claimed_token *c;
    assert_int_equal(claim(st, id, now, due, &c), 1);
    assert_string_equal(c[0].address, addr);
    claimed_tokens_free(c, 1);
}

static const char *const SOURCES[2] = {"jupiter", "dexscreener"};

/* A two-source result for ADDR: jupiter OUT0, dexscreener OUT1, with a price
 * from every source that found it. */
typedef struct result {
    token_result r;
    source_outcome outs[2];
    tc_values per[2];
    char *errors[2];
} result;

static void result_init(result *x, const char *addr, source_outcome o0, source_outcome o1, double price)
{
    memset(x, 0, sizeof *x);
    x->outs[0] = o0;
    x->outs[1] = o1;
    for (int s = 0; s < 2; s++)
        if (x->outs[s] == OUTCOME_FOUND) {
            values_set_num(&x->per[s], TC_PRICE_USD, price * (s + 1));
            x->per[s].known = 1;
        }
    if (o0 == OUTCOME_FOUND || o1 == OUTCOME_FOUND)
        values_set_num(&x->r.merged, TC_PRICE_USD, price);
    x->r.address = addr;
    x->r.status = (o0 == OUTCOME_FOUND || o1 == OUTCOME_FOUND) ? STATUS_ENRICHED : STATUS_FAILED;
    x->r.n_sources = 2;
    x->r.source_names = SOURCES;
    x->r.outcomes = x->outs;
    x->r.per_source = x->per;
    x->r.errors = x->errors;
    x->r.priority_score = NAN;
}

static void result_free(result *x)
{
    values_clear(&x->r.merged);
    values_clear(&x->per[0]);
    values_clear(&x->per[1]);
}

static void commit1(store *st, result *x, int64_t now, const char *claim_id)
{
    size_t fenced;
    char err[512];
    assert_int_equal(store_commit(st, &x->r, 1, now, claim_id, &fenced, err, sizeof err), 0);
    assert_int_equal(fenced, 0);
}

static void owed_sources_are_written_and_claimed_again(void **state)
{
    (void)state;
    store *st = open_fresh();
    const char *addrs[] = {"A1", "A2"};
    import(st, addrs, 2);
    claimed_token *c;
    assert_int_equal(claim(st, "c1", 1000, 0, &c), 2);
    assert_null(c[0].outstanding);
    claimed_tokens_free(c, 2);

    /* A1: jupiter found, dexscreener failed: stored, but owed by dexscreener
     * and due again at the time the engine chose. */
    result a;
    result_init(&a, "A1", OUTCOME_FOUND, OUTCOME_FAILED, 2.0);
    a.r.outstanding_attempts = 1;
    a.r.next_refresh_at = 1060;
    commit1(st, &a, 1000, "c1");
    result_free(&a);
    assert_string_equal(q("SELECT status || ' ' || outstanding_sources || ' ' || outstanding_attempts || ' ' || "
                          "next_refresh_at FROM tokens WHERE address = 'A1'"),
                        "enriched dexscreener 1 1060");
    assert_string_equal(q("SELECT group_concat(source) FROM token_sources WHERE address = 'A1'"), "jupiter");
    result full;
    result_init(&full, "A2", OUTCOME_FOUND, OUTCOME_FOUND, 1.0);
    full.r.refresh_interval_s = 4000;
    commit1(st, &full, 1000, "c1");
    result_free(&full);
    assert_string_equal(q("SELECT coalesce(outstanding_sources, 'none') || ' ' || next_refresh_at FROM tokens "
                          "WHERE address = 'A2'"),
                        "none 5000");

    /* Not before its time; then again, with the owed list. */
    assert_int_equal(claim(st, "c2", 1059, 0, &c), 0);
    claimed_tokens_free(c, 0);
    assert_int_equal(claim(st, "c3", 1060, 0, &c), 1);
    assert_string_equal(c[0].address, "A1");
    assert_string_equal(c[0].outstanding, "dexscreener");
    assert_int_equal(c[0].outstanding_attempts, 1);
    claimed_tokens_free(c, 1);

    /* Now dexscreener answers, jupiter was not asked (kept): nothing owed,
     * jupiter's stored record stands. */
    result b;
    result_init(&b, "A1", OUTCOME_KEPT, OUTCOME_FOUND, 3.0);
    commit1(st, &b, 1061, "c3");
    result_free(&b);
    assert_string_equal(q("SELECT coalesce(outstanding_sources, 'none') || ' ' || outstanding_attempts FROM tokens "
                          "WHERE address = 'A1'"),
                        "none 0");
    assert_string_equal(q("SELECT group_concat(source || '=' || data, ' ') FROM (SELECT * FROM token_sources WHERE "
                          "address = 'A1' ORDER BY source)"),
                        "dexscreener={\"price_usd\":6} jupiter={\"price_usd\":2}");
    close_and_remove(st);
}

static void missing_deletes_and_older_never_overwrites(void **state)
{
    (void)state;
    store *st = open_fresh();
    const char *addrs[] = {"B1"};
    import(st, addrs, 1);
    claim_one(st, "B1", "c1", 1000, 0);
    result a;
    result_init(&a, "B1", OUTCOME_FOUND, OUTCOME_FOUND, 5.0);
    commit1(st, &a, 2000, "c1");
    result_free(&a);
    /* An older observation (fetched at 1500) does not replace the row of 2000. */
    claim_one(st, "B1", "c2", 3000, 1);
    result old;
    result_init(&old, "B1", OUTCOME_FOUND, OUTCOME_MISSING, 1.0);
    commit1(st, &old, 1500, "c2");
    result_free(&old);
    assert_string_equal(q("SELECT data FROM token_sources WHERE address = 'B1' AND source = 'jupiter'"),
                        "{\"price_usd\":5}");
    /* MISSING removed dexscreener's record. */
    assert_string_equal(q("SELECT count(*) FROM token_sources WHERE address = 'B1' AND source = 'dexscreener'"), "0");
    close_and_remove(st);
}

static void append_record(void *ctx, const char *addr, const char *source, const char *json)
{
    sb_printf(ctx, "%s/%s=%s ", addr, source, json);
}

static void load_sources_returns_stored_records(void **state)
{
    (void)state;
    store *st = open_fresh();
    exec_sql("INSERT INTO tokens(address) VALUES ('C1'), ('C2');"
             "INSERT INTO token_sources(address, source, data, fetched_at) VALUES"
             " ('C1', 'jupiter', '{\"name\":\"x\"}', 5), ('C2', 'jupiter', '{\"price_usd\":1}', 5)");
    strbuf seen = {0};
    const char *want[] = {"C1", "NOPE"};
    char err[512];
    assert_int_equal(store_load_sources(st, want, 2, append_record, &seen, err, sizeof err), 0);
    assert_string_equal(seen.data, "C1/jupiter={\"name\":\"x\"} ");
    sb_free(&seen);
    close_and_remove(st);
}

static void append_brief(void *ctx, const token_brief *t)
{
    sb_printf(ctx, "%s %s %lld %d %s|", t->address, status_name(t->status), (long long)t->next_refresh_at,
              t->in_contest, isnan(t->price_usd) ? "-" : "p");
}

static void daemon_claims_and_scan(void **state)
{
    (void)state;
    store *st = open_fresh();
    const char *addrs[] = {"D1", "D2", "D3"};
    import(st, addrs, 3);
    exec_sql("UPDATE tokens SET status = 'enriched', next_refresh_at = 1020 WHERE address = 'D2';"
             "UPDATE tokens SET in_contest = 1 WHERE address = 'D3';"
             "INSERT INTO token_prices(address, price_usd, updated_at) VALUES ('D2', 2.5, 1)");
    claim_request rq = {.owner = "daemon", .claim_id = "d1", .now = 1000, .lease_s = 60};
    const char *want[] = {"D2", "NOPE", "D3"};
    claimed_token *got;
    size_t n;
    char err[512];
    /* Whatever their status or due time, in the order asked, with the price. */
    assert_int_equal(store_claim_addresses(st, &rq, want, 3, &got, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].address, "D2");
    assert_true(got[0].price_usd == 2.5);
    assert_string_equal(got[1].address, "D3");
    assert_true(isnan(got[1].price_usd));
    claimed_tokens_free(got, n);
    /* Leased: not again. */
    rq.claim_id = "d2";
    assert_int_equal(store_claim_addresses(st, &rq, want, 3, &got, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    claimed_tokens_free(got, n);
    /* After the lease: D2 was refreshed by someone else (due 1020, after
     * due_before 1010) and is left alone; pending D1 is taken. */
    rq.now = 2000;
    rq.claim_id = "d3";
    rq.due_before = 1010;
    const char *two[] = {"D1", "D2"};
    assert_int_equal(store_claim_addresses(st, &rq, two, 2, &got, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].address, "D1");
    claimed_tokens_free(got, n);

    strbuf b = {0};
    assert_int_equal(store_scan(st, 0, append_brief, &b, err, sizeof err), 0);
    assert_string_equal(b.data, "D1 pending 0 0 -|D2 enriched 1020 0 p|D3 pending 0 1 -|");
    sb_free(&b);
    exec_sql("UPDATE tokens SET created_at = CASE address WHEN 'D3' THEN 5000 ELSE 100 END");
    b = (strbuf){0};
    assert_int_equal(store_scan(st, 4000, append_brief, &b, err, sizeof err), 0);
    assert_string_equal(b.data, "D3 pending 0 1 -|");
    sb_free(&b);
    close_and_remove(st);
}

/* The change feed as "ADDRESS:SEQ ..." and the head. */
static const char *feed(store *st, int64_t since, size_t limit, int64_t *head)
{
    char err[512];
    const char *t = feed_text(st, since, limit, head, err, sizeof err);
    if (!t)
        fail_msg("%s", err);
    return t;
}

/* Each commit gives the tokens whose data it changed the next places, in
 * order; an unchanged observation, a fenced token or a failure that keeps
 * the data take none; a reader sees the same through its own connection. */
static void change_feed_follows_commits(void **state)
{
    (void)state;
    store *st = open_fresh();
    const char *a[] = {"A", "B", "C"};
    import(st, a, 3);
    int64_t head = -1;
    assert_string_equal(feed(st, 0, 10, &head), "");
    assert_int_equal(head, 0);
    claimed_token *c;
    assert_int_equal(claim(st, "c1", 1000, 0, &c), 3);
    claimed_tokens_free(c, 3);
    result r[3];
    result_init(&r[0], "A", OUTCOME_FOUND, OUTCOME_FOUND, 1.0);
    result_init(&r[1], "B", OUTCOME_FOUND, OUTCOME_MISSING, 2.0);
    result_init(&r[2], "C", OUTCOME_FAILED, OUTCOME_FAILED, 0); /* pending -> failed: a change */
    for (int i = 0; i < 3; i++)
        commit1(st, &r[i], 1000, "c1");
    assert_string_equal(feed(st, 0, 10, &head), "A:1 B:2 C:3");
    assert_int_equal(head, 3);
    assert_string_equal(feed(st, 1, 1, &head), "B:2");
    assert_string_equal(feed(st, 0, 0, &head), "");
    assert_int_equal(head, 3);

    /* Again, the same values for A and C's failure again: no change; B's
     * price moves: B takes 4. */
    assert_int_equal(claim(st, "c2", 2000, 1, &c), 3);
    claimed_tokens_free(c, 3);
    for (int i = 0; i < 3; i++)
        result_free(&r[i]);
    result_init(&r[0], "A", OUTCOME_FOUND, OUTCOME_FOUND, 1.0);
    result_init(&r[1], "B", OUTCOME_FOUND, OUTCOME_MISSING, 2.5);
    result_init(&r[2], "C", OUTCOME_FAILED, OUTCOME_FAILED, 0);
    token_result batch[3] = {r[0].r, r[1].r, r[2].r};
    size_t fenced;
    char err[512];
    assert_int_equal(store_commit(st, batch, 3, 2000, "c2", &fenced, err, sizeof err), 0);
    assert_string_equal(feed(st, 0, 10, &head), "A:1 C:3 B:4");
    assert_int_equal(head, 4);
    /* The same batch once more: fenced (the claim ended), nothing taken. */
    assert_int_equal(store_commit(st, batch, 3, 2000, "c2", &fenced, err, sizeof err), 0);
    assert_int_equal(fenced, 3);
    assert_string_equal(feed(st, 3, 10, &head), "B:4");
    assert_int_equal(head, 4);

    /* A source's record gone (MISSING where it was FOUND) is a change. */
    assert_int_equal(claim(st, "c3", 3000, 1, &c), 3);
    claimed_tokens_free(c, 3);
    result_free(&r[0]);
    result_init(&r[0], "A", OUTCOME_FOUND, OUTCOME_MISSING, 1.0);
    commit1(st, &r[0], 3000, "c3");
    assert_string_equal(feed(st, 0, 10, &head), "C:3 B:4 A:5");

    /* A reader: the same feed, without writing; none where no store is. */
    char uri[160];
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    store *rd = store_open_reader(uri, err, sizeof err);
    if (!rd)
        fail_msg("%s", err);
    assert_string_equal(feed(rd, 3, 10, &head), "B:4 A:5");
    size_t ins;
    assert_int_not_equal(store_import(rd, a, 1, &ins, err, sizeof err), 0);
    store_close(rd);
    assert_null(store_open_reader("sqlite:/tmp/tc-no-such-store.db", err, sizeof err));
    assert_non_null(strstr(err, "no store there"));
    for (int i = 0; i < 3; i++)
        result_free(&r[i]);
    close_and_remove(st);
}

/* The admin API's contest flag: set and cleared in one transaction; an
 * unknown address touches nothing. */
static void contest_flag_is_set_and_cleared(void **state)
{
    (void)state;
    store *st = open_fresh();
    const char *addrs[] = {"C1", "C2", "C3"};
    import(st, addrs, 3);
    char err[512];
    size_t updated = 9;
    const char *two[] = {"C3", "NOPE", "C1"};
    assert_int_equal(store_set_contest(st, two, 3, 1, &updated, err, sizeof err), 0);
    assert_int_equal(updated, 2);
    strbuf b = {0};
    assert_int_equal(store_scan(st, 0, append_brief, &b, err, sizeof err), 0);
    assert_string_equal(b.data, "C1 pending 0 1 -|C2 pending 0 0 -|C3 pending 0 1 -|");
    sb_free(&b);
    assert_int_equal(store_set_contest(st, two, 1, 0, &updated, err, sizeof err), 0);
    assert_int_equal(updated, 1);
    b = (strbuf){0};
    assert_int_equal(store_scan(st, 0, append_brief, &b, err, sizeof err), 0);
    assert_string_equal(b.data, "C1 pending 0 1 -|C2 pending 0 0 -|C3 pending 0 0 -|");
    sb_free(&b);
    close_and_remove(st);
}

/* A store written by schema version 1 opens, upgraded, its data intact. */
static void upgrades_version_1(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/tc-test-store-%d.db", (int)getpid());
    unlink(path);
    exec_sql("CREATE TABLE tokens (address TEXT PRIMARY KEY, status TEXT NOT NULL DEFAULT 'pending',"
             " name TEXT, symbol TEXT, decimals INTEGER, image_url TEXT, description TEXT, supply TEXT,"
             " enrichment_attempts INTEGER NOT NULL DEFAULT 0, last_refresh_attempt INTEGER,"
             " last_refresh_success INTEGER, last_price_change INTEGER,"
             " refresh_interval_seconds INTEGER NOT NULL DEFAULT 30, priority_score REAL NOT NULL DEFAULT 0,"
             " refresh_metadata TEXT NOT NULL DEFAULT '{}', next_refresh_at INTEGER NOT NULL DEFAULT 0,"
             " claimed_by TEXT, claim_id TEXT, lease_until INTEGER NOT NULL DEFAULT 0,"
             " created_at INTEGER NOT NULL DEFAULT (unixepoch()));"
             "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);"
             "INSERT INTO tokens(address, name) VALUES ('OLD', 'kept')");
    char uri[160], err[512];
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    store *st = store_open(uri, err, sizeof err);
    if (!st)
        fail_msg("%s", err);
    assert_string_equal(q("SELECT version FROM schema_version"), "6");
    assert_string_equal(q("SELECT name || ' ' || outstanding_attempts || ' ' || in_contest FROM tokens"), "kept 0 0");
    claimed_token *c;
    assert_int_equal(claim(st, "c1", 1000, 0, &c), 1);
    claimed_tokens_free(c, 1);
    close_and_remove(st);
}

/* A pass over ADDR (claimed as ID at CLAIM_AT), committed at NOW: jupiter
 * O0 by plugin VERSION, dexscreener O1 (result_init's prices from PRICE). */
static void version_pass(store *st, const char *addr, const char *id, int64_t claim_at, int64_t now,
                         source_outcome o0, const char *version, source_outcome o1, double price)
{
    claim_one(st, addr, id, claim_at, 1);
    result x;
    result_init(&x, addr, o0, o1, price);
    values_set_version(&x.per[0], version);
    commit1(st, &x, now, id);
    result_free(&x);
}

static void keep_jupiter_record(void *ctx, const char *addr, const char *source, const char *json)
{
    (void)addr;
    if (!strcmp(source, "jupiter"))
        *(char **)ctx = xstrdup(json);
}

/* Each source's record keeps the extras its plugin reported, readable
 * again through load_sources, and the version of the plugin that produced
 * it: replaced with the record, kept with it. */
static void records_keep_extras_and_plugin_version(void **state)
{
    (void)state;
    store *st = open_fresh();
    const char *addrs[] = {"E1"};
    import(st, addrs, 1);
    claim_one(st, "E1", "c1", 1000, 0);
    result a;
    result_init(&a, "E1", OUTCOME_FOUND, OUTCOME_FOUND, 1.0);
    values_set_extra(&a.per[0], "holder_count", EXTRA_NUM, 817364, NULL);
    values_set_extra(&a.per[0], "first_pool", EXTRA_STR, 0, "Pool \"1\" caf\xc3\xa9");
    values_set_extra(&a.per[0], "is_verified", EXTRA_BOOL, 1, NULL);
    values_set_version(&a.per[0], "1.0.0");
    values_set_version(&a.per[1], "2.1.0");
    commit1(st, &a, 1000, "c1");
    char *want = values_to_json(&a.per[0]);
    result_free(&a);
    assert_string_equal(q("SELECT data FROM token_sources WHERE address = 'E1' AND source = 'jupiter'"), want);
    assert_string_equal(q("SELECT json_extract(data, '$.extra.holder_count') || ' ' || json_extract(data,"
                          " '$.extra.is_verified') || ' ' || plugin_version FROM token_sources WHERE source = 'jupiter'"),
                        "817364 1 1.0.0");
    assert_string_equal(q("SELECT plugin_version FROM token_sources WHERE source = 'dexscreener'"), "2.1.0");
    assert_string_equal(q("SELECT count(*) FROM tokens WHERE address = 'E1' AND name IS NULL"), "1"); /* not merged */
    char *rec = NULL, err[512];
    assert_int_equal(store_load_sources(st, addrs, 1, keep_jupiter_record, &rec, err, sizeof err), 0);
    tc_values back = {0};
    assert_int_equal(values_from_json(&back, rec), 0);
    assert_int_equal(back.n_extras, 3);
    char *again = values_to_json(&back);
    assert_string_equal(again, want);
    free(again);
    free(rec);
    values_clear(&back);
    free(want);

    /* Next pass: jupiter answers with another plugin version, dexscreener
     * is kept (not asked): its row and version stand. */
    version_pass(st, "E1", "c2", 5000, 5000, OUTCOME_FOUND, "1.1.0", OUTCOME_KEPT, 2.0);
    assert_string_equal(q("SELECT group_concat(source || ' ' || plugin_version || ' ' || data, '|') FROM (SELECT *"
                          " FROM token_sources WHERE address = 'E1' ORDER BY source)"),
                        "dexscreener 2.1.0 {\"price_usd\":2}|jupiter 1.1.0 {\"price_usd\":2}");
    /* An older observation changes neither the record nor its version. */
    version_pass(st, "E1", "c3", 9000, 4000, OUTCOME_FOUND, "0.9.0", OUTCOME_FAILED, 3.0);
    assert_string_equal(q("SELECT group_concat(source || ' ' || plugin_version, '|') FROM (SELECT * FROM"
                          " token_sources WHERE address = 'E1' ORDER BY source)"),
                        "dexscreener 2.1.0|jupiter 1.1.0");
    close_and_remove(st);
}

/* A store of schema version 3 (token_sources without plugin_version) is
 * upgraded: its records stay, with no version, until rewritten. */
static void upgrades_version_3(void **state)
{
    (void)state;
    store *st = open_fresh();
    store_close(st);
    exec_sql("ALTER TABLE token_sources DROP COLUMN plugin_version; UPDATE schema_version SET version = 3;"
             "INSERT INTO tokens(address) VALUES ('V3');"
             "INSERT INTO token_sources VALUES ('V3', 'jupiter', '{\"name\":\"old\"}', 5)");
    char uri[160], err[512];
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    st = store_open(uri, err, sizeof err);
    if (!st)
        fail_msg("%s", err);
    assert_string_equal(q("SELECT version FROM schema_version"), "6");
    assert_string_equal(q("SELECT data || ' ' || (plugin_version IS NULL) FROM token_sources"), "{\"name\":\"old\"} 1");
    version_pass(st, "V3", "c1", 1000, 1000, OUTCOME_FOUND, "1.0.0", OUTCOME_MISSING, 1.0);
    assert_string_equal(q("SELECT plugin_version || ' ' || data FROM token_sources"), "1.0.0 {\"price_usd\":1}");
    close_and_remove(st);
}

/* The stored links of A as one text: "s:type|url;...;w:label|url;..." in
 * key order (a NULL label as "-"). */
static const char *links_of_a(void)
{
    return q("SELECT ifnull((SELECT group_concat('s:' || type || '|' || url, ';') FROM"
             " (SELECT type, url FROM token_socials WHERE address = 'A' ORDER BY type, url)), '') || ';' ||"
             " ifnull((SELECT group_concat('w:' || ifnull(label, '-') || '|' || url, ';') FROM"
             " (SELECT label, url FROM token_websites WHERE address = 'A' ORDER BY url)), '')");
}

/* One enriched refresh of A at NOW with the links LINKS ("s" or "w", label
 * (NULL: none), url; NULL kind ends) and price PRICE. */
static void refresh_a(store *st, int64_t now, const char *const (*links)[3], double price)
{
    char id[32];
    snprintf(id, sizeof id, "c%lld", (long long)now);
    claim_one(st, "A", id, now, 1);
    result x;
    result_init(&x, "A", OUTCOME_FOUND, OUTCOME_MISSING, price);
    for (size_t i = 0; links && links[i][0]; i++)
        values_add_link(&x.r.merged, links[i][0][0] == 's' ? TC_LINK_SOCIAL : TC_LINK_WEBSITE, links[i][1],
                        links[i][2]);
    x.r.refresh_interval_s = 1;
    commit1(st, &x, now, id);
    result_free(&x);
}

/* A refresh writes a token's links only when they differ from the stored
 * ones (read and compared, not deleted and inserted again): the same rows
 * either way, and a change in the feed exactly when a row changed. The
 * time of the last price move too. */
static void links_and_price_moves_are_written_when_they_change(void **state)
{
    (void)state;
    store *st = open_fresh();
    const char *a[] = {"A"};
    import(st, a, 1);
    int64_t head;
    const char *const first[][3] = {{"s", "twitter", "https://x.com/a"},
                                     {"s", NULL, "https://t.me/a"},
                                     {"w", "Site", "https://a.example"},
                                     {"w", NULL, "https://b.example"},
                                     {NULL, NULL, NULL}};
    claimed_token *c;
    assert_int_equal(claim(st, "c0", 900, 0, &c), 1);
    claimed_tokens_free(c, 1);
    result x;
    result_init(&x, "A", OUTCOME_FOUND, OUTCOME_MISSING, 1.0);
    for (size_t i = 0; first[i][0]; i++)
        values_add_link(&x.r.merged, first[i][0][0] == 's' ? TC_LINK_SOCIAL : TC_LINK_WEBSITE, first[i][1],
                        first[i][2]);
    x.r.refresh_interval_s = 1;
    commit1(st, &x, 900, "c0");
    result_free(&x);
    const char *want = "s:|https://t.me/a;s:twitter|https://x.com/a;w:Site|https://a.example;w:-|https://b.example";
    assert_string_equal(links_of_a(), want);
    assert_string_equal(feed(st, 0, 10, &head), "A:1");
    assert_string_equal(q("SELECT last_price_change FROM tokens WHERE address = 'A'"), "900");

    refresh_a(st, 1000, first, 1.0); /* the same: nothing changes, the price did not move */
    assert_string_equal(links_of_a(), want);
    assert_string_equal(feed(st, 0, 10, &head), "A:1");
    assert_string_equal(q("SELECT last_price_change FROM tokens WHERE address = 'A'"), "900");

    const char *const relabel[][3] = {{"s", "twitter", "https://x.com/a"},
                                      {"s", NULL, "https://t.me/a"},
                                      {"w", "Site", "https://a.example"},
                                      {"w", "Docs", "https://b.example"},
                                      {NULL, NULL, NULL}};
    refresh_a(st, 1100, relabel, 2.0); /* a label: a change; the price moved */
    assert_string_equal(links_of_a(),
                        "s:|https://t.me/a;s:twitter|https://x.com/a;w:Site|https://a.example;w:Docs|https://b.example");
    assert_string_equal(feed(st, 0, 10, &head), "A:2");
    assert_string_equal(q("SELECT last_price_change FROM tokens WHERE address = 'A'"), "1100");

    const char *const fewer[][3] = {{"s", "twitter", "https://x.com/a"},
                                    {"w", "Site", "https://a.example"},
                                    {"w", "Docs", "https://b.example"},
                                    {NULL, NULL, NULL}};
    refresh_a(st, 1200, fewer, 2.0); /* one link fewer */
    assert_string_equal(links_of_a(), "s:twitter|https://x.com/a;w:Site|https://a.example;w:Docs|https://b.example");
    assert_string_equal(feed(st, 0, 10, &head), "A:3");

    const char *const retyped[][3] = {{"s", "telegram", "https://x.com/a"},
                                      {"w", "Site", "https://a.example"},
                                      {"w", "Docs", "https://b.example"},
                                      {NULL, NULL, NULL}};
    refresh_a(st, 1300, retyped, 2.0); /* as many links, one of another type */
    assert_string_equal(links_of_a(), "s:telegram|https://x.com/a;w:Site|https://a.example;w:Docs|https://b.example");
    assert_string_equal(feed(st, 0, 10, &head), "A:4");

    refresh_a(st, 1400, NULL, 2.0); /* none left */
    assert_string_equal(links_of_a(), ";");
    assert_string_equal(feed(st, 0, 10, &head), "A:5");
    refresh_a(st, 1500, NULL, 2.0);
    assert_string_equal(feed(st, 0, 10, &head), "A:5");
    close_and_remove(st);
}

/* --once claims walk the pending tokens from where the last claim stopped
 * (the ones before it are in flight) and wrap round for any left behind. */
static void claims_go_on_from_the_last_and_wrap_round(void **state)
{
    (void)state;
    store *st = open_fresh();
    const char *a[] = {"A", "B", "C", "D", "E"};
    import(st, a, 5);
    char err[512];
    claim_request rq = {.owner = "test", .claim_id = "k1", .now = 1000, .lease_s = 60, .max = 2};
    claimed_token *c;
    size_t n;
    assert_int_equal(store_claim(st, &rq, &c, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(c[0].address, "A");
    assert_string_equal(c[1].address, "B");
    claimed_tokens_free(c, n);
    const char *b[] = {"B"}; /* handed back: pending again, before the keyset */
    assert_int_equal(store_release(st, b, 1, "k1", err, sizeof err), 0);
    rq.claim_id = "k2";
    assert_int_equal(store_claim(st, &rq, &c, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(c[0].address, "C");
    assert_string_equal(c[1].address, "D");
    claimed_tokens_free(c, n);
    rq.claim_id = "k3";
    assert_int_equal(store_claim(st, &rq, &c, &n, err, sizeof err), 0);
    assert_int_equal(n, 2); /* E, then B from the start */
    assert_string_equal(c[0].address, "B");
    assert_string_equal(c[1].address, "E");
    claimed_tokens_free(c, n);
    rq.claim_id = "k4";
    assert_int_equal(store_claim(st, &rq, &c, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    claimed_tokens_free(c, n);
    rq.now = 2000; /* every lease ran out: all five again, A first */
    rq.max = 10;
    assert_int_equal(store_claim(st, &rq, &c, &n, err, sizeof err), 0);
    assert_int_equal(n, 5);
    claimed_tokens_free(c, n);
    close_and_remove(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(owed_sources_are_written_and_claimed_again),
        cmocka_unit_test(missing_deletes_and_older_never_overwrites),
        cmocka_unit_test(load_sources_returns_stored_records),
        cmocka_unit_test(daemon_claims_and_scan),
        cmocka_unit_test(contest_flag_is_set_and_cleared),
        cmocka_unit_test(upgrades_version_1),
        cmocka_unit_test(records_keep_extras_and_plugin_version),
        cmocka_unit_test(upgrades_version_3),
        cmocka_unit_test(change_feed_follows_commits),
        cmocka_unit_test(links_and_price_moves_are_written_when_they_change),
        cmocka_unit_test(claims_go_on_from_the_last_and_wrap_round),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
