/* tc_check: the end-to-end tests' oracle and helpers.
 *
 *   tc_check gen N [SEED]          print N fake Solana addresses
 *   tc_check verify DB [SOURCES]   compare every token in DB with what the
 *                                  fake upstream serves for it (SOURCES: the
 *                                  comma list of enabled sources, default
 *                                  jupiter,helius,dexscreener; TC_CHECK_PASSES=N:
 *                                  tokens may have taken up to N passes,
 *                                  default exactly 1)
 *   tc_check same DB1 DB2          the two stores hold the same data
 *                                  (timestamps aside)
 *
 * The expected values come from tests/fakeapi/fake_data.c, the same code the
 * fake upstream serves from (Jupiter's extras: fake_jupiter_extras), and the
 * merge rules of the core's defaults.
 * Exit 0 when everything matches, 1 with one line per mismatch otherwise. */
#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../fakeapi/fake_data.h"
#include "config.h"
#include "merge.h"
#include "record.h"
#include "util.h"

static unsigned long mismatches;

#define MISMATCH(...)                                                                                        \
    do {                                                                                                     \
        if (mismatches++ < 30)                                                                               \
            fprintf(stderr, __VA_ARGS__);                                                                    \
    } while (0)

static int cmd_gen(int argc, char **argv)
{
    if (argc < 1)
        return 2;
    unsigned long n = strtoul(argv[0], NULL, 10);
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    char addr[45];
    for (unsigned long i = 0; i < n; i++) {
        fake_address(seed, i, addr);
        puts(addr);
    }
    return 0;
}

/* Jupiter's extras for ADDR, as a correct plugin reports them. */
static void expected_jupiter_extras(const char *addr, tc_values *v)
{
    fake_jupiter_extra x;
    fake_jupiter_extras(addr, &x);
    values_set_extra(v, "holder_count", EXTRA_NUM, x.holder_count, NULL);
    values_set_extra(v, "organic_score", EXTRA_NUM, x.organic_score, NULL);
    values_set_extra(v, "is_verified", EXTRA_BOOL, x.is_verified, NULL);
    values_set_extra(v, "top_holders_pct", EXTRA_NUM, x.top_holders_pct, NULL);
    values_set_extra(v, "mint_authority_disabled", EXTRA_BOOL, x.mint_authority_disabled, NULL);
    values_set_extra(v, "freeze_authority_disabled", EXTRA_BOOL, x.freeze_authority_disabled, NULL);
    values_set_extra(v, "first_pool", EXTRA_STR, 0, x.first_pool);
}

/* What a correct plugin emits for this fake token. */
static void expected_values(const fake_token *ft, tc_values *v)
{
    memset(v, 0, sizeof *v);
    if (!ft->known)
        return;
    v->known = 1;
    if (ft->has_name) values_set_str(v, TC_NAME, ft->name);
    if (ft->has_symbol) values_set_str(v, TC_SYMBOL, ft->symbol);
    if (ft->has_image) values_set_str(v, TC_IMAGE_URL, ft->image);
    if (ft->has_description) values_set_str(v, TC_DESCRIPTION, ft->description);
    if (ft->has_supply) values_set_str(v, TC_SUPPLY, ft->supply);
    if (ft->has_decimals) values_set_num(v, TC_DECIMALS, ft->decimals);
    if (ft->has_price) values_set_num(v, TC_PRICE_USD, ft->price_usd);
    if (ft->has_market_cap) values_set_num(v, TC_MARKET_CAP, ft->market_cap);
    if (ft->has_fdv) values_set_num(v, TC_FDV, ft->fdv);
    if (ft->has_liquidity) values_set_num(v, TC_LIQUIDITY_USD, ft->liquidity_usd);
    if (ft->has_volume) values_set_num(v, TC_VOLUME_24H, ft->volume_24h);
    if (ft->has_change) values_set_num(v, TC_CHANGE_24H, ft->change_24h);
    for (size_t i = 0; i < ft->n_links; i++)
        values_add_link(v, ft->links[i].kind == 'w' ? TC_LINK_WEBSITE : TC_LINK_SOCIAL, ft->links[i].label,
                        ft->links[i].url);
}

/* The extras of a stored record (JSON) against WANT's. */
static void compare_extras(const char *addr, const char *source, const char *json, const tc_values *want)
{
    tc_values got = {0};
    values_from_json(&got, json);
    if (got.n_extras != want->n_extras)
        MISMATCH("%s %s: %zu extras, want %zu\n", addr, source, got.n_extras, want->n_extras);
    for (size_t i = 0; i < want->n_extras; i++) {
        const extra_rec *w = &want->extras[i], *g = values_extra(&got, w->key);
        if (!g || g->type != w->type || g->num != w->num || (w->str && (!g->str || strcmp(g->str, w->str))))
            MISMATCH("%s %s: extra %s = %s%.17g, want %s%.17g\n", addr, source, w->key, g && g->str ? g->str : "",
                     g ? g->num : NAN, w->str ? w->str : "", w->num);
    }
    values_clear(&got);
}

/* Compares a stored token_sources.data JSON with expected values. */
static void compare_record(const char *addr, const char *source, const char *json, const tc_values *want)
{
    cJSON *got = cJSON_Parse(json);
    if (!got) {
        MISMATCH("%s %s: token_sources.data is not JSON: %.80s\n", addr, source, json);
        return;
    }
    compare_extras(addr, source, json, want);
    for (int f = 1; f < FIELD_SLOTS; f++) {
        cJSON *item = cJSON_GetObjectItemCaseSensitive(got, field_name(f));
        if (!values_has(want, f)) {
            if (item)
                MISMATCH("%s %s: %s stored but the upstream did not send it\n", addr, source, field_name(f));
            continue;
        }
        if (!item) {
            MISMATCH("%s %s: %s missing\n", addr, source, field_name(f));
            continue;
        }
        if (field_is_string(f)) {
            if (!cJSON_IsString(item) || strcmp(item->valuestring, want->str[f]))
                MISMATCH("%s %s: %s = \"%s\", want \"%s\"\n", addr, source, field_name(f),
                         cJSON_IsString(item) ? item->valuestring : "?", want->str[f]);
        } else if (!cJSON_IsNumber(item) || item->valuedouble != want->num[f])
            MISMATCH("%s %s: %s = %.17g, want %.17g\n", addr, source, field_name(f), item->valuedouble,
                     want->num[f]);
    }
    for (int kind = TC_LINK_WEBSITE; kind <= TC_LINK_SOCIAL; kind++) {
        const char *key = kind == TC_LINK_WEBSITE ? "websites" : "socials";
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(got, key);
        size_t n = arr ? (size_t)cJSON_GetArraySize(arr) : 0;
        if (n != values_count_links(want, kind)) {
            MISMATCH("%s %s: %zu %s, want %zu\n", addr, source, n, key, values_count_links(want, kind));
            continue;
        }
        cJSON *l;
        cJSON_ArrayForEach(l, arr)
        {
            cJSON *url = cJSON_GetObjectItemCaseSensitive(l, "url");
            cJSON *label = cJSON_GetObjectItemCaseSensitive(l, kind == TC_LINK_WEBSITE ? "label" : "type");
            int ok = 0;
            for (size_t i = 0; i < want->n_links && cJSON_IsString(url); i++)
                if (want->links[i].kind == kind && !strcmp(want->links[i].url, url->valuestring) &&
                    cJSON_IsString(label) && !strcmp(want->links[i].label ? want->links[i].label : "",
                                                     label->valuestring))
                    ok = 1;
            if (!ok)
                MISMATCH("%s %s: unexpected %s entry %s\n", addr, source, key,
                         cJSON_IsString(url) ? url->valuestring : "?");
        }
    }
    cJSON_Delete(got);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(st, i);
}

static void expect_text(const char *addr, const char *what, const char *got, const tc_values *m, int f)
{
    const char *want = values_has(m, f) ? m->str[f] : NULL;
    if ((!got) != (!want) || (got && strcmp(got, want)))
        MISMATCH("%s: tokens.%s = %s, want %s\n", addr, what, got ? got : "NULL", want ? want : "NULL");
}

static void expect_num(const char *addr, const char *what, sqlite3_stmt *st, int col, const tc_values *m, int f)
{
    int is_null = sqlite3_column_type(st, col) == SQLITE_NULL;
    if (!values_has(m, f)) {
        if (!is_null)
            MISMATCH("%s: %s = %.17g, want NULL\n", addr, what, sqlite3_column_double(st, col));
        return;
    }
    if (is_null || sqlite3_column_double(st, col) != m->num[f])
        MISMATCH("%s: %s = %s%.17g, want %.17g\n", addr, what, is_null ? "NULL " : "",
                 sqlite3_column_double(st, col), m->num[f]);
}

static int source_index(const char *name)
{
    for (int s = 0; s < FAKE_NSOURCES; s++)
        if (!strcmp(fake_source_name((fake_source)s), name))
            return s;
    return -1;
}

static int cmd_verify(int argc, char **argv)
{
    if (argc < 1)
        return 2;
    const char *sources = argc > 1 ? argv[1] : "jupiter,helius,dexscreener";
    fake_source enabled[FAKE_NSOURCES];
    const char *names[FAKE_NSOURCES];
    size_t n_src = 0;
    char *copy = xstrdup(sources);
    for (char *tok = strtok(copy, ","); tok && n_src < FAKE_NSOURCES; tok = strtok(NULL, ",")) {
        int idx = source_index(tok);
        if (idx < 0) {
            fprintf(stderr, "tc_check: unknown source %s\n", tok);
            return 2;
        }
        enabled[n_src] = (fake_source)idx;
        names[n_src++] = fake_source_name((fake_source)idx);
    }
    /* The merge plan of a config with the default [merge]. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/tc-check-%d.ini", (int)getpid());
    FILE *f = fopen(path, "w");
    for (size_t i = 0; i < n_src; i++)
        fprintf(f, "[source %s]\nplugin = x.so\n", names[i]);
    fclose(f);
    config cfg;
    char err[512];
    if (config_load(path, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    remove(path);
    merge_plan plan;
    merge_plan_build(&plan, &cfg, names, n_src);
    fake_profile profile;
    fake_profile_default(&profile);

    sqlite3 *db;
    if (sqlite3_open_v2(argv[0], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "tc_check: cannot open %s\n", argv[0]);
        return 2;
    }
    sqlite3_stmt *tok, *price, *src, *links;
    sqlite3_prepare_v2(db,
                       "SELECT address, status, name, symbol, decimals, image_url, description, supply,"
                       " enrichment_attempts, last_refresh_success IS NOT NULL, coalesce(last_refresh_attempt, 0)"
                       " FROM tokens ORDER BY address",
                       -1, &tok, NULL);
    /* The market fields take the newest value (merge_token_at): when each
     * source's record was fetched. */
    sqlite3_stmt *fetched;
    sqlite3_prepare_v2(db, "SELECT fetched_at FROM token_sources WHERE address = ?1 AND source = ?2", -1, &fetched,
                       NULL);
    sqlite3_prepare_v2(db,
                       "SELECT price_usd, market_cap, fdv, liquidity_usd, volume_24h, change_24h FROM token_prices"
                       " WHERE address = ?1",
                       -1, &price, NULL);
    sqlite3_prepare_v2(db, "SELECT source, data FROM token_sources WHERE address = ?1", -1, &src, NULL);
    sqlite3_prepare_v2(db,
                       "SELECT 'w', coalesce(label,''), url FROM token_websites WHERE address = ?1 UNION ALL "
                       "SELECT 's', type, url FROM token_socials WHERE address = ?1",
                       -1, &links, NULL);
    unsigned long counts[STATUS_COUNT] = {0}, total = 0;
    while (sqlite3_step(tok) == SQLITE_ROW) {
        const char *addr = (const char *)sqlite3_column_text(tok, 0);
        const char *status = (const char *)sqlite3_column_text(tok, 1);
        total++;
        tc_values per[FAKE_NSOURCES];
        source_outcome outcomes[FAKE_NSOURCES];
        int any = 0;
        for (size_t s = 0; s < n_src; s++) {
            fake_token ft;
            fake_token_for(&profile, enabled[s], addr, &ft);
            expected_values(&ft, &per[s]);
            if (ft.known && enabled[s] == FAKE_JUPITER)
                expected_jupiter_extras(addr, &per[s]);
            outcomes[s] = ft.known ? OUTCOME_FOUND : OUTCOME_MISSING;
            any |= ft.known;
        }
        const char *want_status = any ? "enriched" : "no_data";
        for (int k = 0; k < STATUS_COUNT; k++)
            if (!strcmp(status, status_name((token_status)k)))
                counts[k]++;
        if (strcmp(status, want_status))
            MISMATCH("%s: status %s, want %s\n", addr, status, want_status);
        /* One pass per token, unless the test retried owed sources
         * (TC_CHECK_PASSES=N: at most N passes). */
        const char *passes_env = getenv("TC_CHECK_PASSES");
        int max_passes = passes_env ? atoi(passes_env) : 1;
        int attempts = sqlite3_column_int(tok, 8);
        if (passes_env ? (attempts < 1 || attempts > max_passes) : attempts != 1)
            MISMATCH("%s: enrichment_attempts %d, want %s%d\n", addr, attempts, passes_env ? "1 to " : "",
                     max_passes);
        if (sqlite3_column_int(tok, 9) != 1)
            MISMATCH("%s: last_refresh_success not set\n", addr);
        int64_t fetched_at[FAKE_NSOURCES] = {0};
        for (size_t s = 0; s < n_src; s++) {
            sqlite3_bind_text(fetched, 1, addr, -1, SQLITE_STATIC);
            sqlite3_bind_text(fetched, 2, names[s], -1, SQLITE_STATIC);
            if (sqlite3_step(fetched) == SQLITE_ROW)
                fetched_at[s] = sqlite3_column_int64(fetched, 0);
            sqlite3_reset(fetched);
        }
        tc_values merged = {0};
        merge_token_at(&plan, per, outcomes, fetched_at, n_src, sqlite3_column_int64(tok, 10), &merged);
        expect_text(addr, "name", col_text(tok, 2), &merged, TC_NAME);
        expect_text(addr, "symbol", col_text(tok, 3), &merged, TC_SYMBOL);
        expect_text(addr, "image_url", col_text(tok, 5), &merged, TC_IMAGE_URL);
        expect_text(addr, "description", col_text(tok, 6), &merged, TC_DESCRIPTION);
        expect_text(addr, "supply", col_text(tok, 7), &merged, TC_SUPPLY);
        expect_num(addr, "tokens.decimals", tok, 4, &merged, TC_DECIMALS);

        sqlite3_bind_text(price, 1, addr, -1, SQLITE_STATIC);
        int has_price_row = sqlite3_step(price) == SQLITE_ROW;
        int want_price_row = 0;
        for (int fld = TC_PRICE_USD; fld <= TC_CHANGE_24H; fld++)
            want_price_row |= values_has(&merged, fld);
        if (has_price_row != want_price_row)
            MISMATCH("%s: token_prices row %s, want %s\n", addr, has_price_row ? "present" : "absent",
                     want_price_row ? "present" : "absent");
        else if (has_price_row) {
            static const char *const cols[] = {"price_usd", "market_cap", "fdv", "liquidity_usd", "volume_24h",
                                               "change_24h"};
            for (int fld = TC_PRICE_USD; fld <= TC_CHANGE_24H; fld++)
                expect_num(addr, cols[fld - TC_PRICE_USD], price, fld - TC_PRICE_USD, &merged, fld);
        }
        sqlite3_reset(price);

        sqlite3_bind_text(src, 1, addr, -1, SQLITE_STATIC);
        size_t rows = 0;
        while (sqlite3_step(src) == SQLITE_ROW) {
            rows++;
            int idx = -1;
            for (size_t s = 0; s < n_src; s++)
                if (!strcmp(names[s], (const char *)sqlite3_column_text(src, 0)))
                    idx = (int)s;
            if (idx < 0 || outcomes[idx] != OUTCOME_FOUND)
                MISMATCH("%s: token_sources row for %s, which does not know it\n", addr,
                         (const char *)sqlite3_column_text(src, 0));
            else
                compare_record(addr, names[idx], (const char *)sqlite3_column_text(src, 1), &per[idx]);
        }
        sqlite3_reset(src);
        size_t want_rows = 0;
        for (size_t s = 0; s < n_src; s++)
            want_rows += outcomes[s] == OUTCOME_FOUND;
        if (rows != want_rows)
            MISMATCH("%s: %zu token_sources rows, want %zu\n", addr, rows, want_rows);

        sqlite3_bind_text(links, 1, addr, -1, SQLITE_STATIC);
        size_t n_links = 0;
        while (sqlite3_step(links) == SQLITE_ROW) {
            n_links++;
            int kind = sqlite3_column_text(links, 0)[0] == 'w' ? TC_LINK_WEBSITE : TC_LINK_SOCIAL;
            const char *label = (const char *)sqlite3_column_text(links, 1);
            const char *url = (const char *)sqlite3_column_text(links, 2);
            int ok = 0;
            for (size_t i = 0; i < merged.n_links; i++)
                ok |= merged.links[i].kind == kind && !strcmp(merged.links[i].url, url) &&
                      !strcmp(merged.links[i].label ? merged.links[i].label : "", label);
            if (!ok)
                MISMATCH("%s: unexpected link %s %s\n", addr, label, url);
        }
        sqlite3_reset(links);
        if (n_links != merged.n_links)
            MISMATCH("%s: %zu links stored, want %zu\n", addr, n_links, merged.n_links);
        values_clear(&merged);
        for (size_t s = 0; s < n_src; s++)
            values_clear(&per[s]);
    }
    sqlite3_finalize(tok);
    sqlite3_finalize(price);
    sqlite3_finalize(fetched);
    sqlite3_finalize(src);
    sqlite3_finalize(links);
    sqlite3_close(db);
    config_free(&cfg);
    free(copy);
    printf("verify: %lu tokens (enriched %lu, no_data %lu, failed %lu, pending %lu), %lu mismatches\n", total,
           counts[STATUS_ENRICHED], counts[STATUS_NO_DATA], counts[STATUS_FAILED], counts[STATUS_PENDING],
           mismatches);
    return mismatches || total == 0 ? 1 : 0;
}

/* Same rows in both stores, timestamps aside. */
static int cmd_same(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        return 2;
    char sql[4096];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS a; ATTACH '%s' AS b;", argv[0], argv[1]);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "tc_check: %s\n", sqlite3_errmsg(db));
        return 2;
    }
    static const char *const projections[] = {
        "SELECT address, status, name, symbol, decimals, image_url, description, supply, enrichment_attempts "
        "FROM %s.tokens",
        "SELECT address, price_usd, market_cap, fdv, liquidity_usd, volume_24h, change_24h FROM %s.token_prices",
        "SELECT address, type, url FROM %s.token_socials",
        "SELECT address, label, url FROM %s.token_websites",
        "SELECT address, source, data, plugin_version FROM %s.token_sources",
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof projections / sizeof *projections; i++) {
        char pa[256], pb[256];
        snprintf(pa, sizeof pa, projections[i], "a");
        snprintf(pb, sizeof pb, projections[i], "b");
        snprintf(sql, sizeof sql,
                 "SELECT (SELECT count(*) FROM (%s EXCEPT %s)) + (SELECT count(*) FROM (%s EXCEPT %s)),"
                 " (SELECT count(*) FROM (%s))",
                 pa, pb, pb, pa, pa);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
            fprintf(stderr, "tc_check: %s\n", sqlite3_errmsg(db));
            return 2;
        }
        long diff = sqlite3_column_int64(st, 0), rows = sqlite3_column_int64(st, 1);
        printf("same: %-60.60s rows %ld, differing %ld\n", projections[i] + 7, rows, diff);
        bad |= diff != 0;
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "gen"))
        return cmd_gen(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "verify"))
        return cmd_verify(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "same"))
        return cmd_same(argc - 2, argv + 2);
    fprintf(stderr, "usage: tc_check gen N [SEED] | verify DB [SOURCES] | same DB1 DB2\n");
    return 2;
}
