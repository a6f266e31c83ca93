/* The PostgreSQL store and what each source's record carries beyond the
 * fields: the extras a plugin reported (token_sources.data "extra", read
 * back whole by load_sources) and the version of the plugin that produced
 * the record (token_sources.plugin_version, schema version 5), replaced
 * with the record and kept with it; the upgrade from version 4. The same
 * contract as test_store_sqlite checks for SQLite. Server: pg_test.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_test.h"
#include "store.h"
#include "store_pg_schema.h"
#include "util.h"

static const char tricky[] = "Pool \"1\" \\ caf\xc3\xa9 \x01\n{[,]}";

/* Helius's record of ADDR with every kind of extra, by plugin 1.0.0;
 * dexscreener's without extras, by 2.1.0. */
static void fill_with_extras(tok *t, const char *addr, double price)
{
    tok_init(t, addr, STATUS_ENRICHED, 30);
    values_set_num(&t->r.merged, TC_PRICE_USD, price);
    t->outs[0] = t->outs[1] = OUTCOME_FOUND;
    values_set_num(&t->per[0], TC_PRICE_USD, price);
    values_set_extra(&t->per[0], "holder_count", EXTRA_NUM, 817364, NULL);
    values_set_extra(&t->per[0], "organic_score", EXTRA_NUM, 0.1 + 0.2, NULL);
    values_set_extra(&t->per[0], "first_pool", EXTRA_STR, 0, tricky);
    values_set_extra(&t->per[0], "is_verified", EXTRA_BOOL, 1, NULL);
    values_set_extra(&t->per[0], "audited", EXTRA_BOOL, 0, NULL);
    values_set_version(&t->per[0], "1.0.0");
    values_set_num(&t->per[1], TC_PRICE_USD, price * 2);
    values_set_version(&t->per[1], "2.1.0");
}

static void keep_helius_record(void *ctx, const char *addr, const char *source, const char *json)
{
    (void)addr;
    if (!strcmp(source, "helius"))
        *(char **)ctx = xstrdup(json);
}

/* A store on SCHEMA holding ADDR, claimed and committed at 1000 with
 * fill_with_extras (T: what was committed). */
static store *one_committed(const char *schema, const char *addr, tok *t)
{
    store *st = open_schema(schema);
    const char *addrs[] = {addr};
    import_list(st, addrs, 1, 1);
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 0, NULL), 1);
    fill_with_extras(t, addr, 1.5);
    size_t fenced = 99;
    assert_int_equal(commit_toks(st, t, 1, 1000, "c1", &fenced), 0);
    assert_int_equal(fenced, 0);
    return st;
}

static void records_keep_extras(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    tok t;
    store *st = one_committed("t_extras", "X1", &t);
    const char *addrs[] = {"X1"};
    /* Stored as the shared serializer writes it (what SQLite stores). */
    char *want = values_to_json(&t.per[0]);
    const char *params[1] = {want};
    PGresult *r = PQexecParams(g_db, "SELECT data = $1::jsonb FROM token_sources WHERE source = 'helius'", 1, NULL,
                               params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    assert_q(tricky, "SELECT data->'extra'->>'first_pool' FROM token_sources WHERE source = 'helius'");
    assert_q("817364 0.30000000000000004 true false",
             "SELECT concat_ws(' ', data->'extra'->'holder_count', data->'extra'->'organic_score',"
             " data->'extra'->'is_verified', data->'extra'->'audited') FROM token_sources WHERE source = 'helius'");
    assert_q(NULL, "SELECT data->'extra' FROM token_sources WHERE source = 'dexscreener'");
    /* Read back by load_sources, the record gives the same values. */
    char *rec = NULL, err[1024];
    assert_int_equal(store_load_sources(st, addrs, 1, keep_helius_record, &rec, err, sizeof err), 0);
    tc_values back = {0};
    assert_int_equal(values_from_json(&back, rec), 0);
    assert_int_equal(back.n_extras, 5);
    char *again = values_to_json(&back);
    assert_string_equal(again, want);
    free(again);
    values_clear(&back);
    free(rec);
    free(want);
    tok_free(&t);
    close_all(st);
}

/* A pass over V1 (claimed as ID at CLAIM_AT), committed at NOW: source s
 * as O[s] says, a FOUND one with a price by plugin VERSION[s] (NULL: none). */
static void pass_v1(store *st, const char *id, int64_t claim_at, int64_t now, const source_outcome o[NSRC],
                    const char *const version[NSRC])
{
    assert_int_equal(claim_n(st, id, claim_at, 60, 10, 1, NULL), 1);
    tok t;
    tok_init(&t, "V1", STATUS_ENRICHED, 30);
    for (int s = 0; s < NSRC; s++) {
        t.outs[s] = o[s];
        if (o[s] == OUTCOME_FOUND) {
            values_set_num(&t.per[s], TC_PRICE_USD, (double)now / 1000);
            values_set_version(&t.per[s], version[s]);
        }
    }
    size_t fenced;
    assert_int_equal(commit_toks(st, &t, 1, now, id, &fenced), 0);
    tok_free(&t);
}

/* The version is that of the record's own plugin, replaced with the
 * record; a row not written (kept, failed, older) keeps its version. */
static void plugin_version_follows_the_record(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    tok t;
    store *st = one_committed("t_version", "V1", &t);
    tok_free(&t);
    const char *versions = "SELECT string_agg(source || ' ' || coalesce(plugin_version, '-'), '|' ORDER BY source)"
                           " FROM token_sources WHERE address = 'V1'";
    assert_q("dexscreener 2.1.0|helius 1.0.0", "%s", versions);

    /* Helius answers through a newer plugin (an update in place, without
     * extras now); dexscreener was not asked. */
    pass_v1(st, "c2", 5000, 5000, (source_outcome[]){OUTCOME_FOUND, OUTCOME_KEPT}, (const char *[]){"1.1.0", NULL});
    assert_q("dexscreener 2.1.0|helius 1.1.0", "%s", versions);
    assert_q("{\"price_usd\": 5}", "SELECT data::text FROM token_sources WHERE address = 'V1' AND source = 'helius'");

    /* An older observation: neither its data nor its version. A failed
     * source leaves its row. */
    pass_v1(st, "c3", 9000, 4000, (source_outcome[]){OUTCOME_FOUND, OUTCOME_FAILED}, (const char *[]){"0.9.0", NULL});
    assert_q("dexscreener 2.1.0|helius 1.1.0", "%s", versions);

    /* A record without a version (a source that did not say) is stored so. */
    pass_v1(st, "c4", 20000, 20000, (source_outcome[]){OUTCOME_MISSING, OUTCOME_FOUND}, (const char *[]){NULL, NULL});
    assert_q("dexscreener -", "%s", versions);
    close_all(st);
}

/* A store of schema version 4 gets the column: its rows stay, without a
 * version until they are written again; and the change feed (6) numbers
 * its token that has data. */
static void migrate_from_version_4(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    assert_int_equal(PG_SCHEMA_VERSION, 8);
    schema_uri("t_v4", NULL);
    PGconn *c = connect_or_die(g_uri);
    exec_ok(c, "BEGIN");
    exec_ok(c, "CREATE SCHEMA t_v4");
    exec_ok(c, pg_migration_prelude);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pg_migrations[i].version, i + 1);
        exec_ok(c, pg_migrations[i].sql);
        char sql[160];
        snprintf(sql, sizeof sql, "INSERT INTO schema_migrations (version, name) VALUES (%d, '%s')",
                 pg_migrations[i].version, pg_migrations[i].name);
        exec_ok(c, sql);
    }
    exec_ok(c, "INSERT INTO tokens (address, status) VALUES ('OLD4', 'enriched')");
    exec_ok(c, "INSERT INTO token_sources (address, source, data, fetched_at) VALUES"
               " ('OLD4', 'helius', '{\"name\": \"kept\"}', to_timestamp(5))");
    exec_ok(c, "COMMIT");
    PQfinish(c);
    char msg[1024], err[1024];
    assert_int_equal(store_migrate(g_uri, msg, sizeof msg, err, sizeof err), 0);
    assert_non_null(strstr(msg, "from version 4 to 8"));
    store *st = store_open(g_uri, err, sizeof err);
    assert_non_null(st);
    g_db = connect_or_die(g_uri);
    assert_q("kept true", "SELECT (data->>'name') || ' ' || (plugin_version IS NULL) FROM token_sources");
    assert_q("5 plugin version", "SELECT version || ' ' || name FROM schema_migrations WHERE version = 5");
    assert_q("1 1", "SELECT change_seq || ' ' || (SELECT seq FROM change_counter) FROM tokens WHERE address = 'OLD4'");
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 1, NULL), 1);
    tok t;
    fill_with_extras(&t, "OLD4", 2.0);
    size_t fenced;
    assert_int_equal(commit_toks(st, &t, 1, 1000, "c1", &fenced), 0);
    assert_int_equal(fenced, 0);
    tok_free(&t);
    assert_q("1.0.0 817364", "SELECT plugin_version || ' ' || (data->'extra'->>'holder_count') FROM token_sources"
                             " WHERE source = 'helius'");
    close_all(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(records_keep_extras),
        cmocka_unit_test(plugin_version_follows_the_record),
        cmocka_unit_test(migrate_from_version_4),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
