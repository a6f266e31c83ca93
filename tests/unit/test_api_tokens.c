/* GET /api/v3/tokens and /api/v3/tokens/{address}: the handlers driven
 * directly (api_request built by hand) on a real store filled through the
 * store API (api_fixture.h), once on SQLite and once on PostgreSQL (the
 * server of pg_test.c: a throwaway one from tests/pg/pg_harness.sh, or
 * $TC_PG_URI; without PostgreSQL server binaries the PostgreSQL group FAILS,
 * as test_store_pg.c does). */
/* cmocka needs these first, in this order. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_check.h"
#include "api_tokens.h"
#include "pg_test.h"
#include "util.h"

#define N 2500 /* more than the cap of 2,000 */

static int g_pg;    /* the group's backend */
static store *g_st; /* N fixture tokens */
static int64_t g_created[N + 1000];
static char g_dir[64]; /* SQLite files */

/* ---- stores ---------------------------------------------------------------------------- */

/* A new empty store NAME of the group's backend. */
static store *fresh_store(const char *name)
{
    char uri[1400], err[1024];
    if (g_pg) {
        PGconn *c = PQconnectdb(g_base_uri);
        char sql[128];
        snprintf(sql, sizeof sql, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s CASCADE", name);
        PQclear(PQexec(c, sql));
        PQfinish(c);
        snprintf(uri, sizeof uri, "%s%coptions=-csearch_path%%3D%s", g_base_uri, strchr(g_base_uri, '?') ? '&' : '?',
                 name);
    } else {
        snprintf(uri, sizeof uri, "sqlite:%s/%s.db", g_dir, name);
    }
    store *st = store_open(uri, err, sizeof err);
    if (!st)
        fprintf(stderr, "store_open %s: %s\n", uri, err);
    return st;
}

static void note_created(void *ctx, const token_brief *t)
{
    (void)ctx;
    size_t i = fx_index(t->address);
    if (i < sizeof g_created / sizeof g_created[0])
        g_created[i] = t->created_at;
}

/* PostgreSQL keeps created_at to the microsecond (store_scan rounds it):
 * the API's whole seconds are its floor. */
static int pg_created(void)
{
    char uri[1400];
    snprintf(uri, sizeof uri, "%s%coptions=-csearch_path%%3Dapi_tokens", g_base_uri,
             strchr(g_base_uri, '?') ? '&' : '?');
    PGconn *c = PQconnectdb(uri);
    PGresult *r = PQexec(c, "SELECT address, floor(extract(epoch FROM created_at))::bigint FROM tokens");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    for (int k = 0; ok && k < PQntuples(r); k++) {
        size_t i = fx_index(PQgetvalue(r, k, 0));
        if (i < sizeof g_created / sizeof g_created[0])
            g_created[i] = strtoll(PQgetvalue(r, k, 1), NULL, 10);
    }
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

static int api_setup(int pg)
{
    g_pg = pg;
    snprintf(g_dir, sizeof g_dir, "/tmp/tc-api-tokens.XXXXXX");
    if (!pg && !mkdtemp(g_dir))
        return -1;
    if (pg && group_setup(NULL)) /* pg_test.c: the server */
        return -1;
    g_st = fresh_store("api_tokens");
    char err[256];
    if (!g_st || fx_fill(g_st, 0, N) || store_scan(g_st, 0, note_created, NULL, err, sizeof err))
        return -1;
    return pg ? pg_created() : 0;
}

static int sqlite_setup(void **state)
{
    (void)state;
    return api_setup(0);
}

static int pg_setup(void **state)
{
    (void)state;
    return api_setup(1);
}

static int api_teardown(void **state)
{
    store_close(g_st);
    g_st = NULL;
    if (g_pg)
        return group_teardown(state);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_api_tokens: %s failed\n", cmd);
    return 0;
}

/* ---- helpers --------------------------------------------------------------------------- */

static const cJSON *item(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static void get_ok(api_call *c, const char *path, const char *const *kv)
{
    api_get(g_st, c, path, kv);
    if (c->rs.status != 200)
        fprintf(stderr, "GET %s: %d %s\n", path, c->rs.status, c->rs.body ? c->rs.body : "");
    assert_int_equal(c->rs.status, 200);
    assert_non_null(c->json);
    assert_true(c->rs.cacheable);
}

/* A 400 for KV whose message contains WANT. */
static void expect_400(const char *const *kv, const char *want)
{
    api_call c;
    api_get(g_st, &c, "/api/v3/tokens", kv);
    const cJSON *msg = item(item(c.json, "error"), "message");
    if (c.rs.status != 400 || !cJSON_IsString(msg) || !strstr(msg->valuestring, want))
        fprintf(stderr, "%s=%s: got %d %s, want 400 with \"%s\"\n", kv[0], kv[1], c.rs.status, c.rs.body, want);
    assert_int_equal(c.rs.status, 400);
    assert_non_null(strstr(msg->valuestring, want));
    assert_string_equal(item(item(c.json, "error"), "code")->valuestring, "bad_parameter");
    assert_false(c.rs.cacheable);
    api_call_free(&c);
}

/* api_walk, failing the test on a broken page. */
static size_t *walk(store *st, const char *const *kv, const char *limit, int by_cursor, void (*between)(void),
                    size_t *n_out)
{
    char why[256];
    size_t *seen = api_walk(st, kv, limit, by_cursor, between, n_out, why, sizeof why);
    if (!seen)
        fail_msg("walk: %s", why);
    return seen;
}

static const char *const sorts[] = {"market_cap", "-market_cap", "volume_24h", "-volume_24h",
                                    "updated_at", "-updated_at", "address",    "-address"};

static token_sort sort_of(const char *s)
{
    const char *n = *s == '-' ? s + 1 : s;
    return !strcmp(n, "market_cap")   ? TOKEN_SORT_MARKET_CAP
           : !strcmp(n, "volume_24h") ? TOKEN_SORT_VOLUME_24H
           : !strcmp(n, "updated_at") ? TOKEN_SORT_UPDATED_AT
                                      : TOKEN_SORT_ADDRESS;
}

/* Walking SORT returns every token once, in the sort's order. */
static void walk_matches_order(const char *sort, const char *limit, int by_cursor)
{
    const char *kv[] = {"sort", sort, "fields", "address", NULL};
    size_t n;
    size_t *seen = walk(g_st, kv, limit, by_cursor, NULL, &n);
    size_t *want = fx_expected_order(N, sort_of(sort), *sort == '-');
    assert_int_equal(n, N);
    for (size_t i = 0; i < N; i++) {
        if (seen[i] != want[i])
            fprintf(stderr, "sort=%s %s: position %zu has token %zu, want %zu\n", sort, by_cursor ? "cursor" : "page",
                    i, seen[i], want[i]);
        assert_int_equal(seen[i], want[i]);
    }
    free(seen);
    free(want);
}

/* ---- the list --------------------------------------------------------------------------- */

static void default_page(void **state)
{
    (void)state;
    api_call c;
    get_ok(&c, "/api/v3/tokens", NULL);
    const cJSON *pg = item(c.json, "pagination");
    assert_int_equal(cJSON_GetArraySize(item(c.json, "data")), 100);
    assert_int_equal(item(pg, "page")->valueint, 1);
    assert_int_equal(item(pg, "limit")->valueint, 100);
    assert_int_equal(item(pg, "total")->valueint, N);
    assert_int_equal(item(pg, "pages")->valueint, N / 100);
    assert_true(cJSON_IsTrue(item(pg, "has_next")));
    assert_true(cJSON_IsFalse(item(pg, "limit_capped")));
    assert_true(cJSON_IsString(item(pg, "next_cursor")));
    /* By market cap, largest first; every field but sources. */
    size_t *want = fx_expected_order(N, TOKEN_SORT_MARKET_CAP, 1);
    size_t k = 0;
    const cJSON *t;
    char why[256];
    cJSON_ArrayForEach(t, item(c.json, "data"))
    {
        size_t i = fx_index(item(t, "address")->valuestring);
        assert_int_equal(i, want[k++]);
        if (fx_check_token(t, i, g_created[i], TF_DEFAULT, why, sizeof why))
            fail_msg("token %zu: %s", i, why);
    }
    free(want);
    api_call_free(&c);
}

static void pages_return_every_token_once(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof sorts / sizeof sorts[0]; s++)
        walk_matches_order(sorts[s], "97", 0);
}

static void cursors_return_every_token_once(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof sorts / sizeof sorts[0]; s++)
        walk_matches_order(sorts[s], "113", 1);
}

static void values_equal_the_stores(void **state)
{
    (void)state;
    const char *kv[] = {"sort",
                        "address",
                        "limit",
                        "2000",
                        "page",
                        "1",
                        "fields",
                        "status,name,symbol,decimals,image_url,description,supply,prices,last_price_change_at,"
                        "created_at,updated_at,socials,websites,sources",
                        NULL};
    char why[256];
    size_t seen = 0;
    for (int page = 1; page <= 2; page++) {
        kv[5] = page == 1 ? "1" : "2";
        api_call c;
        get_ok(&c, "/api/v3/tokens", kv);
        const cJSON *t;
        cJSON_ArrayForEach(t, item(c.json, "data"))
        {
            size_t i = fx_index(item(t, "address")->valuestring);
            assert_true(i < N);
            if (fx_check_token(t, i, g_created[i], TF_DEFAULT | TF_BIT(TF_SOURCES), why, sizeof why))
                fail_msg("token %zu: %s", i, why);
            seen++;
        }
        api_call_free(&c);
    }
    assert_int_equal(seen, N);
}

static void light_has_its_six_fields(void **state)
{
    (void)state;
    const char *kv[] = {"light", "1", "limit", "2000", NULL};
    api_call c;
    get_ok(&c, "/api/v3/tokens", kv);
    assert_int_equal(cJSON_GetArraySize(item(c.json, "data")), 2000);
    const cJSON *t;
    char why[256];
    cJSON_ArrayForEach(t, item(c.json, "data"))
    {
        size_t i = fx_index(item(t, "address")->valuestring);
        if (fx_check_token(t, i, g_created[i], TF_LIGHT, why, sizeof why))
            fail_msg("token %zu: %s", i, why);
    }
    api_call_free(&c);
    const char *off[] = {"light", "0", "limit", "3", NULL};
    get_ok(&c, "/api/v3/tokens", off);
    assert_non_null(item(cJSON_GetArrayItem(item(c.json, "data"), 0), "socials"));
    api_call_free(&c);
}

static void fields_select_what_is_shown(void **state)
{
    (void)state;
    static const struct {
        const char *fields;
        uint32_t bits;
    } cases[] = {
        {"name", TF_BIT(TF_ADDRESS) | TF_BIT(TF_NAME)},
        {"prices", TF_BIT(TF_ADDRESS) | TF_PRICES},
        {"symbol,socials,websites", TF_BIT(TF_ADDRESS) | TF_BIT(TF_SYMBOL) | TF_BIT(TF_SOCIALS) | TF_BIT(TF_WEBSITES)},
        {"sources,supply,supply", TF_BIT(TF_ADDRESS) | TF_BIT(TF_SOURCES) | TF_BIT(TF_SUPPLY)},
        {"address", TF_BIT(TF_ADDRESS)},
        {"market_cap,change_24h", TF_BIT(TF_ADDRESS) | TF_BIT(TF_MARKET_CAP) | TF_BIT(TF_CHANGE_24H)},
    };
    char why[256];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *kv[] = {"fields", cases[k].fields, "limit", "300", "sort", "-updated_at", NULL};
        api_call c;
        get_ok(&c, "/api/v3/tokens", kv);
        const cJSON *t;
        cJSON_ArrayForEach(t, item(c.json, "data"))
        {
            size_t i = fx_index(item(t, "address")->valuestring);
            if (fx_check_token(t, i, g_created[i], cases[k].bits, why, sizeof why))
                fail_msg("fields=%s, token %zu: %s", cases[k].fields, i, why);
        }
        api_call_free(&c);
    }
}

static void limit_is_capped_at_2000(void **state)
{
    (void)state;
    static const char *const limits[] = {"2001", "5000", "99999999999999999999999"};
    for (size_t k = 0; k < 3; k++) {
        const char *kv[] = {"limit", limits[k], "fields", "address", NULL};
        api_call c;
        get_ok(&c, "/api/v3/tokens", kv);
        const cJSON *pg = item(c.json, "pagination");
        assert_int_equal(cJSON_GetArraySize(item(c.json, "data")), 2000);
        assert_int_equal(item(pg, "limit")->valueint, 2000);
        assert_true(cJSON_IsTrue(item(pg, "limit_capped")));
        assert_int_equal(item(pg, "pages")->valueint, 2);
        api_call_free(&c);
    }
    const char *kv[] = {"limit", "2000", "fields", "address", NULL};
    api_call c;
    get_ok(&c, "/api/v3/tokens", kv);
    assert_true(cJSON_IsFalse(item(item(c.json, "pagination"), "limit_capped")));
    api_call_free(&c);
}

/* The tokens of KV: their count equals that of the fixture tokens PRED
 * holds for, and each of them does. */
static void expect_filter(const char *const *kv, int (*pred)(size_t i, const void *arg), const void *arg)
{
    size_t n;
    size_t *seen = walk(g_st, kv, "2000", 1, NULL, &n);
    size_t want = 0;
    for (size_t i = 0; i < N; i++)
        want += (size_t)pred(i, arg);
    for (size_t k = 0; k < n; k++)
        assert_true(pred(seen[k], arg));
    assert_int_equal(n, want);
    api_call c;
    get_ok(&c, "/api/v3/tokens", kv);
    assert_int_equal(item(item(c.json, "pagination"), "total")->valueint, (int)want);
    api_call_free(&c);
    free(seen);
}

static int status_in(size_t i, const void *arg)
{
    fx_token x;
    fx_token_make(i, &x);
    int in = strstr(arg, status_name(x.status)) != NULL;
    fx_token_free(&x);
    return in;
}

static int starts_with(size_t i, const void *arg)
{
    fx_token x;
    fx_token_make(i, &x);
    int hit = 0;
    for (int f = TC_NAME; f <= TC_SYMBOL; f++)
        hit |= values_has(&x.merged, f) && !strncasecmp(x.merged.str[f], arg, strlen(arg));
    fx_token_free(&x);
    return hit;
}

static int in_set(size_t i, const void *arg)
{
    (void)arg;
    return i == 7 || i == 8 || i == 9 || i == 1234;
}

static int pending_in_set(size_t i, const void *arg)
{
    return in_set(i, arg) && fx_kind_of(i) == FX_PENDING;
}

static void filters_select_tokens(void **state)
{
    (void)state;
    static const char *const statuses[] = {"no_data", "pending", "enriched", "pending,no_data"};
    for (size_t k = 0; k < 4; k++) {
        const char *kv[] = {"status", statuses[k], "sort", "-volume_24h", NULL};
        expect_filter(kv, status_in, statuses[k]);
    }
    static const char *const prefixes[] = {"abc1", "ABC12", "XyZ", "token \"1", "nothing", "caf"};
    for (size_t k = 0; k < 6; k++) {
        const char *kv[] = {"q", prefixes[k], "sort", "market_cap", NULL};
        expect_filter(kv, starts_with, prefixes[k]);
    }
    /* addresses: the stored ones of the list, each once, unknown ones left out */
    char a[5][48], list[300];
    size_t idx[5] = {7, 8, 9, 1234, 7};
    for (int k = 0; k < 5; k++)
        fx_address(idx[k], a[k]);
    char unknown[48];
    fx_address(N + 77, unknown);
    snprintf(list, sizeof list, "%s,%s,%s,%s,%s,%s", a[0], a[1], a[2], a[3], a[4], unknown);
    const char *kv[] = {"addresses", list, "sort", "updated_at", NULL};
    expect_filter(kv, in_set, NULL);
    const char *both[] = {"addresses", list, "status", "pending", NULL};
    expect_filter(both, pending_in_set, NULL);
}

static void every_bad_parameter_is_a_400(void **state)
{
    (void)state;
    char other_sort[256];
    {
        const char *kv[] = {"sort", "address", NULL};
        api_call c;
        get_ok(&c, "/api/v3/tokens", kv);
        snprintf(other_sort, sizeof other_sort, "%s", item(item(c.json, "pagination"), "next_cursor")->valuestring);
        api_call_free(&c);
    }
    static const char long_q[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    char many[2000 * 45 / 10] = "";
    for (int k = 0; k < 101; k++) {
        char a[48];
        fx_address((size_t)k, a);
        strcat(many, k ? "," : "");
        strcat(many, a);
    }
    const struct {
        const char *kv[7];
        const char *want;
    } cases[] = {
        {{"limit", "0"}, "limit: expected a whole number from 1"},
        {{"limit", "-5"}, "limit: expected a whole number"},
        {{"limit", "ten"}, "limit: expected a whole number"},
        {{"limit", " 5"}, "limit: expected"},
        {{"limit", ""}, "limit: expected"},
        {{"page", "0"}, "page: expected a whole number from 1 to 1000000"},
        {{"page", "1000001"}, "page: expected"},
        {{"page", "1.5"}, "page: expected"},
        {{"page", "2", "cursor", other_sort}, "page and cursor cannot be used together"},
        {{"cursor", "garbage!"}, "cursor: not a cursor of this API"},
        {{"cursor", "MTo"}, "cursor: not a cursor"},
        {{"cursor", other_sort}, "cursor: the cursor was made for sort=address, this request has sort=-market_cap"},
        {{"fields", ""}, "fields: an empty name"},
        {{"fields", "name,,symbol"}, "fields: an empty name"},
        {{"fields", "name,bogus"}, "fields: unknown field \"bogus\" (known: address, status"},
        {{"fields", "refresh"}, "fields: unknown field \"refresh\""},
        {{"fields", "name", "light", "1"}, "fields: light=1 has its own fields"},
        {{"light", "yes"}, "light: expected 1 or 0"},
        {{"sort", "price"}, "sort: expected market_cap, volume_24h, updated_at or address"},
        {{"sort", "--address"}, "sort: expected"},
        {{"status", "done"}, "status: unknown status \"done\" (known: pending, enriched, no_data, failed)"},
        {{"status", "enriched,"}, "status: an empty name"},
        {{"addresses", "xyz"}, "addresses: \"xyz\" is not a Solana address"},
        {{"addresses", ""}, "addresses: \"\" is not a Solana address"},
        {{"addresses", many}, "addresses: 101 addresses, more than limit (100)"},
        {{"q", ""}, "q: expected 1 to 64 bytes"},
        {{"q", long_q}, "q: expected 1 to 64 bytes"},
        {{"q", "a\tb"}, "q: control characters are not allowed"},
        {{"q", "caf\xc3"}, "q: not valid UTF-8"},
        {{"offset", "10"}, "offset: unknown parameter (known: limit, page, cursor, fields, light, sort"},
        {{"limit", "5", "limit", "6"}, "limit: given more than once"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        expect_400(cases[k].kv, cases[k].want);
    /* A cursor is valid with any limit and filters of its sort. */
    const char *ok[] = {"sort", "address", "cursor", other_sort, "limit", "3", "status", "enriched", NULL};
    api_call c;
    get_ok(&c, "/api/v3/tokens", ok);
    assert_true(cJSON_IsNull(item(item(c.json, "pagination"), "page")));
    api_call_free(&c);
}

/* Tokens added between the pages of a cursor walk: each token there from
 * the start is returned exactly once, no token twice. */
static size_t g_added;
static store *g_adding;

static void add_tokens(void)
{
    assert_int_equal(fx_fill(g_adding, 600 + g_added, 20), 0);
    g_added += 20;
}

static void cursor_is_stable_while_tokens_are_added(void **state)
{
    (void)state;
    static const char *const by[] = {"-market_cap", "address", "-updated_at"};
    for (int s = 0; s < 3; s++) {
        char name[32];
        snprintf(name, sizeof name, "api_adding_%d", s);
        g_adding = fresh_store(name);
        assert_non_null(g_adding);
        assert_int_equal(fx_fill(g_adding, 0, 600), 0);
        g_added = 0;
        const char *kv[] = {"sort", by[s], "fields", "address", NULL};
        size_t n;
        size_t *seen = walk(g_adding, kv, "50", 1, add_tokens, &n);
        unsigned char count[N + 1000] = {0};
        for (size_t k = 0; k < n; k++) {
            assert_true(seen[k] < 600 + g_added);
            assert_int_equal(count[seen[k]]++, 0);
        }
        for (size_t i = 0; i < 600; i++)
            assert_int_equal(count[i], 1);
        free(seen);
        store_close(g_adding);
    }
}

static void page_and_cursor_agree_deep_down(void **state)
{
    (void)state;
    const char *first[] = {"limit", "20", "fields", "address", "sort", "-volume_24h", NULL};
    char *cursor = NULL;
    for (int p = 1; p < 50; p++) {
        const char *kv[] = {"limit", "20", "fields", "address", "sort", "-volume_24h", "cursor", cursor, NULL};
        api_call c;
        get_ok(&c, "/api/v3/tokens", cursor ? kv : first);
        free(cursor);
        cursor = xstrdup(item(item(c.json, "pagination"), "next_cursor")->valuestring);
        api_call_free(&c);
    }
    const char *by_cursor[] = {"limit", "20", "fields", "address", "sort", "-volume_24h", "cursor", cursor, NULL};
    const char *by_page[] = {"limit", "20", "fields", "address", "sort", "-volume_24h", "page", "50", NULL};
    api_call a, b;
    get_ok(&a, "/api/v3/tokens", by_cursor);
    get_ok(&b, "/api/v3/tokens", by_page);
    assert_true(cJSON_Compare(item(a.json, "data"), item(b.json, "data"), 1));
    assert_int_equal(cJSON_GetArraySize(item(a.json, "data")), 20);
    api_call_free(&a);
    api_call_free(&b);
    free(cursor);
}

/* ---- one token -------------------------------------------------------------------------- */

static void detail_has_sources_and_refresh_state(void **state)
{
    (void)state;
    char path[128], addr[48], why[256];
    for (size_t i = 0; i < 20; i++) {
        fx_address(i, addr);
        snprintf(path, sizeof path, "/api/v3/tokens/%s", addr);
        api_call c;
        get_ok(&c, path, NULL);
        const cJSON *t = item(c.json, "data");
        cJSON *copy = cJSON_Duplicate(t, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "refresh");
        if (fx_check_token(copy, i, g_created[i], TF_DEFAULT | TF_BIT(TF_SOURCES), why, sizeof why))
            fail_msg("token %zu: %s", i, why);
        cJSON_Delete(copy);
        fx_token x;
        fx_token_make(i, &x);
        const cJSON *r = item(t, "refresh");
        assert_string_equal(item(r, "status")->valuestring, status_name(x.status));
        assert_int_equal(item(r, "attempts")->valueint, x.kind == FX_PENDING ? 0 : 1);
        if (x.kind == FX_PENDING) {
            assert_true(cJSON_IsNull(item(r, "last_attempt_at")));
            assert_true(cJSON_IsNull(item(r, "last_success_at")));
            assert_true(cJSON_IsNull(item(r, "next_refresh_at")));
            assert_true(cJSON_IsObject(item(r, "metadata")));
        } else {
            assert_int_equal((int64_t)item(r, "last_attempt_at")->valuedouble, x.now);
            assert_int_equal((int64_t)item(r, "last_success_at")->valuedouble, x.now);
            assert_int_equal((int64_t)item(r, "next_refresh_at")->valuedouble, x.now + 30);
            const cJSON *outcomes = item(item(r, "metadata"), "sources");
            assert_string_equal(item(outcomes, "jupiter")->valuestring, outcome_name(x.outs[0]));
        }
        assert_int_equal(item(r, "interval_s")->valueint, 30);
        const cJSON *owed = item(r, "owed_sources");
        assert_int_equal(cJSON_GetArraySize(owed), x.kind == FX_PARTIAL ? 1 : 0);
        if (x.kind == FX_PARTIAL)
            assert_string_equal(cJSON_GetArrayItem(owed, 0)->valuestring, "helius");
        assert_int_equal(item(r, "owed_attempts")->valueint, x.kind == FX_PARTIAL ? 1 : 0);
        assert_true(cJSON_IsFalse(item(r, "in_contest")));
        assert_true(cJSON_IsNumber(item(r, "priority_score")));
        fx_token_free(&x);
        api_call_free(&c);
    }
}

static void detail_404_and_400(void **state)
{
    (void)state;
    char addr[48], path[160];
    fx_address(N + 5, addr);
    snprintf(path, sizeof path, "/api/v3/tokens/%s", addr);
    api_call c;
    api_get(g_st, &c, path, NULL);
    assert_int_equal(c.rs.status, 404);
    assert_string_equal(item(item(c.json, "error"), "code")->valuestring, "not_found");
    assert_false(c.rs.cacheable);
    api_call_free(&c);
    static const char *const bad[] = {"/api/v3/tokens/0OIl", "/api/v3/tokens/",
                                      "/api/v3/tokens/So11111111111111111111111111111111111111111111111112"};
    for (int k = 0; k < 3; k++) {
        api_get(g_st, &c, bad[k], NULL);
        assert_int_equal(c.rs.status, 400);
        assert_non_null(strstr(c.rs.body, "address: "));
        api_call_free(&c);
    }
    fx_address(3, addr);
    snprintf(path, sizeof path, "/api/v3/tokens/%s", addr);
    const char *kv[] = {"fields", "name", NULL};
    api_get(g_st, &c, path, kv);
    assert_int_equal(c.rs.status, 400);
    assert_non_null(strstr(c.rs.body, "fields: unknown parameter"));
    api_call_free(&c);
}

static void no_store_is_a_503(void **state)
{
    (void)state;
    api_call c;
    api_get(NULL, &c, "/api/v3/tokens", NULL);
    assert_int_equal(c.rs.status, 503);
    assert_string_equal(item(item(c.json, "error"), "code")->valuestring, "store_unavailable");
    api_call_free(&c);
}

#define CASES                                                                                                          \
    cmocka_unit_test(default_page), cmocka_unit_test(pages_return_every_token_once),                                   \
        cmocka_unit_test(cursors_return_every_token_once), cmocka_unit_test(values_equal_the_stores),                  \
        cmocka_unit_test(light_has_its_six_fields), cmocka_unit_test(fields_select_what_is_shown),                     \
        cmocka_unit_test(limit_is_capped_at_2000), cmocka_unit_test(filters_select_tokens),                            \
        cmocka_unit_test(every_bad_parameter_is_a_400), cmocka_unit_test(page_and_cursor_agree_deep_down),             \
        cmocka_unit_test(detail_has_sources_and_refresh_state), cmocka_unit_test(detail_404_and_400),                  \
        cmocka_unit_test(cursor_is_stable_while_tokens_are_added)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {CASES, cmocka_unit_test(no_store_is_a_503)};
    const struct CMUnitTest pg_tests[] = {CASES};
    int failed = cmocka_run_group_tests_name("api_tokens_sqlite", sqlite_tests, sqlite_setup, api_teardown);
    failed += cmocka_run_group_tests_name("api_tokens_postgresql", pg_tests, pg_setup, api_teardown);
    return failed;
}
