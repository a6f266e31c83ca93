/* The config map (every default valid and in range, help lists every key),
 * the key-by-key comparison of two configs, the INI reader's dialect, and
 * the store access check of --check-config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "config_map.h"
#include "ini_reader.h"
#include "store.h"

/* Each row's default parses through its own parser, and each stored row
 * points inside its section's struct. */
static void every_default_is_valid(void **state)
{
    (void)state;
    static const size_t sizes[CFG_SEC_MERGE] = {[CFG_SEC_CORE] = sizeof(config),
                                                [CFG_SEC_SCHEDULER] = sizeof(scheduler_config),
                                                [CFG_SEC_LIMITER] = sizeof(cfg_limiter),
                                                [CFG_SEC_SOURCE] = sizeof(cfg_source),
                                                [CFG_SEC_API] = sizeof(cfg_api)};
    for (size_t i = 0; i < cfg_n_keys; i++) {
        const cfg_key_def *d = &cfg_keys[i];
        assert_true(d->section < CFG_SEC_MERGE);
        assert_non_null(d->help);
        assert_ptr_equal(cfg_key_find(d->section, d->name), d); /* names are unique per section */
        if (d->offset != CFG_NOT_STORED)
            assert_true(d->offset < sizes[d->section]);
        if (!d->def || d->offset == CFG_NOT_STORED)
            continue;
        unsigned char obj[sizeof(config) + sizeof(cfg_source)] = {0};
        char why[256];
        if (cfg_key_set(d, obj, d->def, why, sizeof why) != 0)
            fail_msg("default of %s: %s", d->name, why);
        cfg_section_free(d->section, obj);
    }
    /* [scheduler] defaults are the scheduler's own. */
    scheduler_config sc;
    scheduler_config_default(&sc);
    sched_params p;
    sched_params_default(&p);
    assert_int_equal(sc.min_interval_ns, p.min_interval_ns);
    assert_int_equal(sc.max_interval_ns, p.max_interval_ns);
    assert_int_equal(sc.max_wait_ns, p.max_wait_ns);
}

static void help_lists_every_key(void **state)
{
    (void)state;
    for (int markdown = 0; markdown < 2; markdown++) {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        cfg_print_help(out, markdown);
        fclose(out);
        for (size_t i = 0; i < cfg_n_keys; i++) {
            char want[96];
            snprintf(want, sizeof want, markdown ? "| `%s` |" : "  %s = ", cfg_keys[i].name);
            if (!strstr(text, want))
                fail_msg("help lacks %s", want);
        }
        assert_non_null(strstr(text, markdown ? "| `price_usd` | source list | `jupiter, dexscreener` |" : "price_usd"));
        free(text);
    }
}

static char path_a[64], path_b[64];

static void load_text(const char *path, const char *text, config *cfg)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    char err[512];
    if (config_load(path, cfg, err, sizeof err) != 0)
        fail_msg("%s", err);
}

typedef struct seen_diff {
    char lines[32][256];
    size_t n;
} seen_diff;

static void collect(void *ctx, const cfg_diff_entry *d)
{
    seen_diff *s = ctx;
    if (s->n < 32)
        snprintf(s->lines[s->n++], 256, "%d [%s] %s: %s -> %s%s", (int)d->change, d->section, d->key ? d->key : "*",
                 d->old_value ? d->old_value : "-", d->new_value ? d->new_value : "-", d->restart ? " (restart)" : "");
}

static int has(const seen_diff *s, const char *line)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->lines[i], line))
            return 1;
    return 0;
}

static void diff_reports_each_change(void **state)
{
    (void)state;
    snprintf(path_a, sizeof path_a, "/tmp/tc-test-diff-a-%d.ini", (int)getpid());
    snprintf(path_b, sizeof path_b, "/tmp/tc-test-diff-b-%d.ini", (int)getpid());
    config a, b;
    load_text(path_a,
              "[core]\nstore = sqlite:/tmp/a.db\n[limiter dex]\nrate = 300/min\n"
              "[source dex]\nplugin = dexscreener.so\nlimiter = dex\nchain = solana\napi_key = one\n"
              "[source old]\nplugin = jupiter.so\n",
              &a);
    load_text(path_b,
              "[core]\nstore = sqlite:/tmp/b.db\nbatch_size = 500\n[scheduler]\nmin_interval = 30s\n"
              "[limiter dex]\nrate = 240/min\nburst = 4\n"
              "[source dex]\nplugin = dexscreener.so\nlimiter = dex\nchain = bsc\nchunk_size = 20\napi_key = two\n"
              "[source new]\nplugin = helius.so\n[merge]\nprice_usd = dex\n",
              &b);
    seen_diff s = {0};
    size_t n = config_diff(&a, &b, collect, &s);
    assert_int_equal(n, s.n);
    const char *want[] = {
        "0 [core] store: sqlite:/tmp/a.db -> sqlite:/tmp/b.db (restart)",
        "0 [core] batch_size: 50 -> 500",
        "0 [scheduler] min_interval: 15s -> 30s",
        "0 [limiter dex] rate: 5/s -> 4/s",
        "0 [limiter dex] burst: 1 -> 4",
        "0 [source dex] chunk_size: 0 -> 20",
        "0 [source dex] chain: solana -> bsc",
        "0 [source dex] api_key: (secret) -> (secret)",
        "2 [source old] *: - -> -",
        "1 [source new] *: - -> -",
        "0 [merge] price_usd: jupiter, dexscreener -> dex",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!has(&s, want[i])) {
            for (size_t k = 0; k < s.n; k++)
                print_message("got: %s\n", s.lines[k]);
            fail_msg("missing: %s", want[i]);
        }
    assert_int_equal(s.n, sizeof want / sizeof *want);
    assert_int_equal(config_diff(&a, &a, NULL, NULL), 0);
    config_free(&a);
    config_free(&b);
    unlink(path_a);
    unlink(path_b);
}

typedef struct ini_log {
    char text[1024];
} ini_log;

static int log_section(void *user, const char *name, int line)
{
    ini_log *l = user;
    snprintf(l->text + strlen(l->text), sizeof l->text - strlen(l->text), "%d[%s]", line, name);
    return 0;
}

static int log_entry(void *user, const char *section, const char *key, const char *value, int line)
{
    ini_log *l = user;
    snprintf(l->text + strlen(l->text), sizeof l->text - strlen(l->text), "%d%s.%s=<%s>", line, section, key, value);
    return 0;
}

static int read_text(const char *text, ini_log *l)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    memset(l, 0, sizeof *l);
    ini_callbacks cb = {.user = l, .section = log_section, .entry = log_entry};
    int rc = ini_read(f, &cb);
    fclose(f);
    return rc;
}

static void ini_dialect(void **state)
{
    (void)state;
    ini_log l;
    assert_int_equal(read_text("\xEF\xBB\xBF; comment\n# also\n[core] ; why\n  a = 1 ; note\nb: x;y\n"
                               "url = http://h/p?q=1#f\n[source x y]\nempty =\n",
                               &l),
                     0);
    assert_string_equal(l.text, "3[core]4core.a=<1>5core.b=<x;y>6core.url=<http://h/p?q=1#f>7[source x y]"
                                "8source x y.empty=<>");
    assert_int_equal(read_text("[core]\nno separator here\n", &l), 2);
    assert_int_equal(read_text("[core\n", &l), 1);
    assert_int_equal(read_text("[core] junk\n", &l), 1);
    assert_int_equal(read_text("[core]\n= value\n", &l), 2);
}

static void store_access_check(void **state)
{
    (void)state;
    char file[64], uri[160], err[256];
    snprintf(file, sizeof file, "/tmp/tc-test-notadir-%d", (int)getpid());
    FILE *f = fopen(file, "w");
    fclose(f);
    /* A directory that is a file cannot hold the database. */
    snprintf(uri, sizeof uri, "sqlite:%s/tokens.db", file);
    assert_int_equal(store_check_access(uri, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not a writable directory"));
    /* Missing directories are created by the store: fine. */
    snprintf(uri, sizeof uri, "sqlite:/tmp/tc-test-missing-%d/a/b/tokens.db", (int)getpid());
    assert_int_equal(store_check_access(uri, err, sizeof err), 0);
    /* An existing file is checked itself. */
    snprintf(uri, sizeof uri, "sqlite:%s", file);
    assert_int_equal(store_check_access(uri, err, sizeof err), 0);
    snprintf(uri, sizeof uri, "sqlite:/tmp");
    assert_int_equal(store_check_access(uri, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a writable file"));
    unlink(file);
    /* No server on this socket directory. */
    assert_int_equal(store_check_access("postgresql:///tc?host=/nonexistent-tc-dir", err, sizeof err), -1);
    assert_non_null(strstr(err, "does not accept connections"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_default_is_valid),
        cmocka_unit_test(help_lists_every_key),
        cmocka_unit_test(diff_reports_each_change),
        cmocka_unit_test(ini_dialect),
        cmocka_unit_test(store_access_check),
    };
    return cmocka_run_group_tests_name("config_map", tests, NULL, NULL);
}
