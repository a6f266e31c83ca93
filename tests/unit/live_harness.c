/* See live_harness.h. */
#include "live_harness.h"

#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "log.h"
#include "record.h"

void live_fake_defaults(fake_server_options *o)
{
    fake_server_options_default(o);
    o->scale = LIVE_SCALE;
}

void live_start(live *L, const fake_server_options *o)
{
    memset(L, 0, sizeof *L);
    log_set_level(TC_LOG_WARN);
    snprintf(L->dir, sizeof L->dir, "/tmp/tc-live-XXXXXX");
    if (!mkdtemp(L->dir))
        fail_msg("mkdtemp %s failed", L->dir);
    snprintf(L->ini, sizeof L->ini, "%s/tc.ini", L->dir);
    snprintf(L->db, sizeof L->db, "%s/tokens.db", L->dir);
    if (o)
        L->fake_opts = *o;
    else
        live_fake_defaults(&L->fake_opts);
    L->fake_opts.port = 0;
    L->fake = fake_server_start(&L->fake_opts, &L->port);
    if (!L->fake)
        fail_msg("the fake upstream could not listen on 127.0.0.1");
}

/* Limits of the fake at scale 30: jupiter 60 per 2 s, helius 2 per 33 ms,
 * dexscreener 300 per 2 s (as tests/e2e/lib.sh). */
static const struct {
    const char *name, *limiter;
    int chunk;
} SOURCES[] = {
    {"jupiter", "rate = 27/s\nburst = 4", 100},
    {"helius", "rate = 27/s\nburst = 1", 1000},
    {"dexscreener", "rate = 135/s\nburst = 5", 30},
};

void live_config(live *L, const char *core_extra, const char *only, const char *source_extra, const char *tail)
{
    const char *env = getenv("TC_PLUGIN_DIR");
    char *plugins = realpath(env && *env ? env : "build/plugins", NULL);
    if (!plugins)
        fail_msg("no plugin directory (%s)", env ? env : "build/plugins");
    FILE *f = fopen(L->ini, "w");
    assert_non_null(f);
    fprintf(f, "[core]\nstore = sqlite:%s\nplugin_dir = %s\nbatch_size = 50\n%s\n", L->db, plugins,
            core_extra ? core_extra : "");
    free(plugins);
    for (size_t i = 0; i < sizeof SOURCES / sizeof *SOURCES; i++)
        fprintf(f, "[limiter %s]\n%s\n", SOURCES[i].name, SOURCES[i].limiter);
    for (size_t i = 0; i < sizeof SOURCES / sizeof *SOURCES; i++) {
        if (only && strcmp(only, SOURCES[i].name) != 0)
            continue;
        fprintf(f, "[source %s]\nplugin = %s.so\nlimiter = %s\nchunk_size = %d\nbase_url = http://127.0.0.1:%u\n"
                   "api_key = test-key\ntimeout_ms = 10000\n%s\n",
                SOURCES[i].name, SOURCES[i].name, SOURCES[i].name, SOURCES[i].chunk, L->port,
                source_extra ? source_extra : "");
    }
    fputs(tail ? tail : "", f);
    assert_int_equal(fclose(f), 0);
    char err[1024];
    if (config_load(L->ini, &L->cfg, err, sizeof err) != 0)
        fail_msg("%s", err);
    L->have_cfg = 1;
    L->st = store_open(L->cfg.store, err, sizeof err);
    if (!L->st)
        fail_msg("%s", err);
}

void live_import(live *L, size_t n, uint64_t seed)
{
    L->addrs = realloc(L->addrs, (L->n + n) * sizeof *L->addrs);
    assert_non_null(L->addrs);
    for (size_t i = 0; i < n; i++) {
        L->addrs[L->n + i] = malloc(45);
        assert_non_null(L->addrs[L->n + i]);
        fake_address(seed, i, L->addrs[L->n + i]);
    }
    char err[512];
    size_t inserted = 0;
    if (store_import(L->st, (const char *const *)L->addrs + L->n, n, &inserted, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(inserted, n);
    L->n += n;
}

static void remove_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *de;
    char file[512];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(file, sizeof file, "%s/%s", path, de->d_name);
            unlink(file);
        }
    }
    closedir(d);
    rmdir(path);
}

void live_stop(live *L)
{
    if (L->sql)
        sqlite3_close(L->sql);
    if (L->st)
        store_close(L->st);
    if (L->have_cfg)
        config_free(&L->cfg);
    fake_server_stop(L->fake);
    for (size_t i = 0; i < L->n; i++)
        free(L->addrs[i]);
    free(L->addrs);
    remove_dir(L->dir);
    memset(L, 0, sizeof *L);
}

fake_source_stats live_fake_stats(live *L, fake_source source)
{
    fake_source_stats s;
    fake_server_stats(L->fake, source, &s);
    return s;
}

void live_faults(live *L, const char *query)
{
    char err[256];
    if (fake_server_faults(L->fake, query, err, sizeof err) != 0)
        fail_msg("fault %s: %s", query, err);
}

engine *live_engine(live *L)
{
    char err[1024];
    engine *e = engine_new(&L->cfg, L->st, err, sizeof err);
    if (!e)
        fail_msg("engine_new: %s", err);
    return e;
}

size_t live_source(const engine *e, const char *name)
{
    for (size_t i = 0; i < engine_source_count(e); i++)
        if (!strcmp(engine_source_name(e, i), name))
            return i;
    fail_msg("the engine has no source %s", name);
    return 0;
}

/* Runs the query; the statement is on its first row, or NULL when none. */
static sqlite3_stmt *query(live *L, const char *fmt, va_list ap)
{
    if (!L->sql) {
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(L->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
            fail_msg("open %s: %s", L->db, sqlite3_errmsg(db));
        sqlite3_busy_timeout(db, 10000);
        L->sql = db;
    }
    char *sql = sqlite3_vmprintf(fmt, ap);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(L->sql, sql, -1, &stmt, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(L->sql));
    sqlite3_free(sql);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return stmt;
    if (rc != SQLITE_DONE)
        fail_msg("query failed: %s", sqlite3_errmsg(L->sql));
    sqlite3_finalize(stmt);
    return NULL;
}

long long live_sql_int(live *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *stmt = query(L, fmt, ap);
    va_end(ap);
    long long v = stmt ? sqlite3_column_int64(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    return v;
}

char *live_sql_text(live *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *stmt = query(L, fmt, ap);
    va_end(ap);
    const unsigned char *t = stmt ? sqlite3_column_text(stmt, 0) : NULL;
    char *copy = t ? strdup((const char *)t) : NULL;
    sqlite3_finalize(stmt);
    return copy;
}

double live_sql_num(live *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *stmt = query(L, fmt, ap);
    va_end(ap);
    double v = stmt && sqlite3_column_type(stmt, 0) != SQLITE_NULL ? sqlite3_column_double(stmt, 0) : NAN;
    sqlite3_finalize(stmt);
    return v;
}

uint64_t live_chunks(size_t n, size_t chunk)
{
    return (n + chunk - 1) / chunk;
}

/* ---- what the store must hold ---------------------------------------------- */

typedef struct expected {
    fake_token src[FAKE_NSOURCES]; /* known = 0 for a source not configured */
    int any;                       /* some configured source knows it */
} expected;

static void expect_token(const live *L, const char *addr, const int enabled[FAKE_NSOURCES], expected *x)
{
    memset(x, 0, sizeof *x);
    for (int s = 0; s < FAKE_NSOURCES; s++) {
        if (enabled[s])
            fake_token_for(&L->fake_opts.profile, (fake_source)s, addr, &x->src[s]);
        x->any |= x->src[s].known;
    }
}

/* The first source in ORDER that knows ADDR and sends a name. */
static const char *merged_name(const expected *x)
{
    static const fake_source order[] = {FAKE_HELIUS, FAKE_JUPITER, FAKE_DEXSCREENER}; /* [merge] default */
    for (size_t i = 0; i < 3; i++)
        if (x->src[order[i]].known && x->src[order[i]].has_name)
            return x->src[order[i]].name;
    return NULL;
}

/* The market rule (merge_token_at): the newest price among the sources
 * that have one, by their records' fetched_at; ties by the [merge]
 * default precedence: jupiter, dexscreener, then the source not listed. */
static double merged_price(live *L, const char *addr, const expected *x)
{
    static const fake_source order[] = {FAKE_JUPITER, FAKE_DEXSCREENER, FAKE_HELIUS};
    double best = NAN;
    int64_t best_at = -1;
    for (size_t i = 0; i < 3; i++) {
        if (!x->src[order[i]].known || !x->src[order[i]].has_price)
            continue;
        int64_t at = live_sql_int(L, "SELECT coalesce(max(fetched_at), 0) FROM token_sources WHERE address = %Q"
                                     " AND source = %Q", addr, fake_source_name(order[i]));
        if (at > best_at) {
            best_at = at;
            best = x->src[order[i]].price_usd;
        }
    }
    return best;
}

static int same_num(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* One token_sources row per source that knows ADDR, none for the others,
 * with the name and price a correct plugin reads from the fake, Jupiter's
 * extras, and the version of the plugin that wrote it. */
static void check_source_rows(live *L, const char *addr, const expected *x)
{
    for (int s = 0; s < FAKE_NSOURCES; s++) {
        const fake_token *ft = &x->src[s];
        char *json = live_sql_text(L, "SELECT data FROM token_sources WHERE address = %Q AND source = %Q", addr,
                                   fake_source_name((fake_source)s));
        if (!ft->known) {
            if (json)
                fail_msg("%s: a %s row is stored, but %s does not know it: %s", addr, fake_source_name((fake_source)s),
                         fake_source_name((fake_source)s), json);
            continue;
        }
        if (!json)
            fail_msg("%s: no %s row stored", addr, fake_source_name((fake_source)s));
        tc_values v = {0};
        assert_int_equal(values_from_json(&v, json), 0);
        const char *name = values_has(&v, TC_NAME) ? v.str[TC_NAME] : NULL;
        double price = values_has(&v, TC_PRICE_USD) ? v.num[TC_PRICE_USD] : NAN;
        if (!same_str(name, ft->has_name ? ft->name : NULL) || !same_num(price, ft->has_price ? ft->price_usd : NAN))
            fail_msg("%s: stored %s record %s; want name \"%s\", price %.17g", addr, fake_source_name((fake_source)s), json,
                     ft->has_name ? ft->name : "(none)", ft->has_price ? ft->price_usd : NAN);
        if (s == FAKE_JUPITER) { /* one of its extras stands for them all (tc_check verify has each) */
            fake_jupiter_extra x;
            fake_jupiter_extras(addr, &x);
            const extra_rec *e = values_extra(&v, "holder_count");
            if (!e || e->num != x.holder_count || v.n_extras != 7)
                fail_msg("%s: stored jupiter record %s; want holder_count %.17g and 7 extras", addr, json, x.holder_count);
        } else if (v.n_extras)
            fail_msg("%s: stored %s record %s has extras", addr, fake_source_name((fake_source)s), json);
        values_clear(&v);
        free(json);
        /* Every bundled plugin is 1.0.0: the instance that parsed the record. */
        char *version = live_sql_text(L, "SELECT plugin_version FROM token_sources WHERE address = %Q AND source = %Q",
                                      addr, fake_source_name((fake_source)s));
        if (!same_str(version, "1.0.0"))
            fail_msg("%s: %s record's plugin_version %s, want 1.0.0", addr, fake_source_name((fake_source)s),
                     version ? version : "NULL");
        free(version);
    }
}

void live_check_committed(live *L, const int enabled[FAKE_NSOURCES])
{
    for (size_t i = 0; i < L->n; i++) {
        const char *addr = L->addrs[i];
        expected x;
        expect_token(L, addr, enabled, &x);
        char *status = live_sql_text(L, "SELECT status FROM tokens WHERE address = %Q", addr);
        /* no_data only when every source answered: one still owed makes an
         * unknown token failed (retried). */
        int owed = live_sql_int(L, "SELECT count(*) FROM tokens WHERE address = %Q AND outstanding_sources IS NOT NULL",
                                addr);
        const char *want_status = x.any ? "enriched" : owed ? "failed" : "no_data";
        if (!same_str(status, want_status))
            fail_msg("%s: status %s, want %s", addr, status ? status : "(none)", want_status);
        free(status);
        check_source_rows(L, addr, &x);
        char *name = live_sql_text(L, "SELECT name FROM tokens WHERE address = %Q", addr);
        if (!same_str(name, merged_name(&x)))
            fail_msg("%s: merged name \"%s\", want \"%s\"", addr, name ? name : "(null)",
                     merged_name(&x) ? merged_name(&x) : "(null)");
        free(name);
        double price = live_sql_num(L, "SELECT price_usd FROM token_prices WHERE address = %Q", addr);
        double want = merged_price(L, addr, &x);
        if (!same_num(price, want))
            fail_msg("%s: merged price %.17g, want %.17g", addr, price, want);
    }
    assert_int_equal(live_sql_int(L, "SELECT count(*) FROM tokens WHERE claim_id IS NOT NULL OR lease_until > 0"), 0);
}

uint64_t live_count_known(const live *L, fake_source s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < L->n; i++)
        n += (uint64_t)fake_source_knows(&L->fake_opts.profile, s, L->addrs[i]);
    return n;
}

static void ignore_signal(int sig)
{
    (void)sig;
}

int live_run_daemon(live *L, const daemon_opts *opts, void *(*operate)(void *), void *arg)
{
    struct sigaction sa = {0};
    sa.sa_handler = ignore_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    L->daemon_thread = pthread_self();
    atomic_init(&L->daemon_done, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, operate, arg), 0);
    int rc = daemon_run_opts(&L->cfg, opts);
    atomic_store(&L->daemon_done, 1);
    pthread_join(t, NULL);
    return rc;
}

void live_signal_daemon(live *L, int sig)
{
    if (!atomic_load(&L->daemon_done))
        pthread_kill(L->daemon_thread, sig);
}

int live_daemon_done(live *L) { return atomic_load(&L->daemon_done); }
