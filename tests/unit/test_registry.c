/* Registry: real dlopen of real .so files, ABI checks before anything is
 * called, two instances of one .so, reference counting for hot swap. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "registry.h"

static char dir[512];
static char ini[64];

static int setup(void **state)
{
    (void)state;
    const char *build = getenv("TC_BUILD_DIR");
    snprintf(dir, sizeof dir, "%s/test-plugins", build ? build : "build");
    return 0;
}

static void load_config(config *cfg, const char *sections)
{
    snprintf(ini, sizeof ini, "/tmp/tc-test-registry-%d.ini", (int)getpid());
    FILE *f = fopen(ini, "w");
    fprintf(f, "[core]\nplugin_dir = %s\n%s", dir, sections);
    fclose(f);
    char err[512];
    if (config_load(ini, cfg, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static void expect_refused(const char *plugin, const char *needle)
{
    char sections[256];
    snprintf(sections, sizeof sections, "[source s]\nplugin = %s\n", plugin);
    config cfg;
    load_config(&cfg, sections);
    char err[1024] = "";
    source_instance *inst = registry_open(cfg.path, cfg.plugin_dir, &cfg.sources[0], err, sizeof err);
    assert_null(inst);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s:4: ", ini);
    if (strncmp(err, prefix, strlen(prefix)) || !strstr(err, needle))
        fail_msg("got \"%s\"; want \"%s\" and \"%s\"", err, prefix, needle);
    config_free(&cfg);
    unlink(ini);
}

static void refuses_bad_plugins(void **state)
{
    (void)state;
    expect_refused("abi_future.so", "was built for plugin ABI 99.0, this host speaks ABI 1.");
    expect_refused("abi_truncated.so", "descriptor is 16 bytes");
    expect_refused("no_entry.so", "does not export tc_source_entry()");
    expect_refused("missing.so", "cannot load plugin");
}

static void two_instances_share_one_module(void **state)
{
    (void)state;
    config cfg;
    load_config(&cfg, "[source one]\nplugin = counting.so\ngreeting = hi\n"
                      "[source two]\nplugin = counting.so\nchunk_size = 3\n");
    char err[512];
    source_instance *a = registry_open(cfg.path, cfg.plugin_dir, &cfg.sources[0], err, sizeof err);
    source_instance *b = registry_open(cfg.path, cfg.plugin_dir, &cfg.sources[1], err, sizeof err);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a->name, "one");
    assert_string_equal(b->name, "two");
    assert_int_equal(a->chunk_size, 10); /* the plugin's max when not configured */
    assert_int_equal(b->chunk_size, 3);
    assert_ptr_equal(a->vt, b->vt);
    /* The settings each instance sees are its own section's. */
    assert_string_equal(a->host.setting((const tc_settings *)a->cfg, "greeting"), "hi");
    assert_null(b->host.setting((const tc_settings *)b->cfg, "greeting"));

    char path[600];
    snprintf(path, sizeof path, "%s/counting.so", dir);
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(h);
    int (*live)(void) = (int (*)(void))dlsym(h, "counting_live_instances");
    assert_int_equal(live(), 2);
    /* A request in flight holds a reference: unref by the owner does not
     * destroy the instance until the request lets go too. */
    source_ref(a);
    source_unref(a);
    assert_int_equal(live(), 2);
    source_unref(a);
    assert_int_equal(live(), 1);
    source_unref(b);
    dlclose(h);
    /* The module is closed once no instance uses it. */
    assert_null(dlopen(path, RTLD_NOW | RTLD_NOLOAD));
    config_free(&cfg);
    unlink(ini);
}

static void plugin_refusing_settings_is_reported(void **state)
{
    (void)state;
    config cfg;
    load_config(&cfg, "[source s]\nplugin = counting.so\ngreeting = refuse\n");
    char err[512];
    assert_null(registry_open(cfg.path, cfg.plugin_dir, &cfg.sources[0], err, sizeof err));
    assert_non_null(strstr(err, "refused its settings: greeting must not be \"refuse\""));
    config_free(&cfg);
    unlink(ini);
}

static void chunk_above_max_and_unknown_keys(void **state)
{
    (void)state;
    config cfg;
    load_config(&cfg, "[source s]\nplugin = counting.so\nchunk_size = 11\n");
    char err[512];
    assert_null(registry_open(cfg.path, cfg.plugin_dir, &cfg.sources[0], err, sizeof err));
    assert_non_null(strstr(err, ":5: [source s] chunk_size 11 is above plugin counting's maximum of 10"));
    config_free(&cfg);
    load_config(&cfg, "[source s]\nplugin = counting.so\ncolour = red\n");
    assert_null(registry_open(cfg.path, cfg.plugin_dir, &cfg.sources[0], err, sizeof err));
    assert_non_null(strstr(err, ":5: [source s] unknown key \"colour\""));
    config_free(&cfg);
    unlink(ini);
}

/* Opens section 0 of SECTIONS; NEEDLE NULL: must load, else must be
 * refused with NEEDLE in the message. */
static void open_expect(const char *sections, const char *needle)
{
    config cfg;
    load_config(&cfg, sections);
    char err[1024] = "";
    source_instance *inst = registry_open(cfg.path, cfg.plugin_dir, &cfg.sources[0], err, sizeof err);
    if (!needle && !inst)
        fail_msg("refused: %s", err);
    if (needle && (inst || !strstr(err, needle)))
        fail_msg("%s: got \"%s\", want \"%s\"", sections, inst ? "(loaded)" : err, needle);
    source_unref(inst);
    config_free(&cfg);
    unlink(ini);
}

/* A plugin built for ABI 1.0 (bare names, shorter descriptor) keeps loading:
 * the host never reads the members it does not have. */
static void abi_10_plugin_with_key_names_loads(void **state)
{
    (void)state;
    open_expect("[source s]\nplugin = abi10.so\nregion = eu\n", NULL);
    open_expect("[source s]\nplugin = abi10.so\nzone = eu\n", ":5: [source s] unknown key \"zone\"");
}

/* Typed settings (ABI 1.1) are checked by the host before create(), with
 * the key's line; entries larger than the host's are stepped by size. */
static void typed_settings_are_checked(void **state)
{
    (void)state;
    open_expect("[source s]\nplugin = typed_settings.so\ndepth = 10\nratio = 0.5\nfast = yes\nlabel = x\n", NULL);
    open_expect("[source s]\nplugin = typed_settings.so\ndepth = 11\n",
                ":5: [source s] depth: expected a whole number 1..10, got \"11\"");
    open_expect("[source s]\nplugin = typed_settings.so\ndepth = 2.5\n", "depth: expected a whole number");
    open_expect("[source s]\nplugin = typed_settings.so\nratio = lots\n", ":5: [source s] ratio: expected a number 0..1");
    open_expect("[source s]\nplugin = typed_settings.so\nfast = maybe\n", "fast: expected true/false");
    open_expect("[source s]\nplugin = typed_settings.so\ndepht = 3\n", "unknown key \"depht\"");
}

/* --config-help's plugin part: every declared key with its default. */
static void describe_lists_settings(void **state)
{
    (void)state;
    char path[600], err[256], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/typed_settings.so", dir);
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(registry_describe(path, out, 1, err, sizeof err), 0);
    fclose(out);
    assert_non_null(strstr(text, "| `depth` | integer 1..10 | `3` | levels to look at |"));
    assert_non_null(strstr(text, "| `ratio` | number 0..1 | none |"));
    assert_non_null(strstr(text, "| `label` | text |"));
    free(text);
    snprintf(path, sizeof path, "%s/no_entry.so", dir);
    out = open_memstream(&text, &len);
    assert_int_equal(registry_describe(path, out, 0, err, sizeof err), -1);
    fclose(out);
    free(text);
    assert_non_null(strstr(err, "does not export"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuses_bad_plugins),
        cmocka_unit_test(two_instances_share_one_module),
        cmocka_unit_test(plugin_refusing_settings_is_reported),
        cmocka_unit_test(chunk_above_max_and_unknown_keys),
        cmocka_unit_test(abi_10_plugin_with_key_names_loads),
        cmocka_unit_test(typed_settings_are_checked),
        cmocka_unit_test(describe_lists_settings),
    };
    return cmocka_run_group_tests_name("registry", tests, setup, NULL);
}
