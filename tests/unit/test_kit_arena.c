/* The test kit parses as the host does: cJSON's memory during
 * parse_response comes from the host's arena, so a plugin that releases it
 * through cJSON passes, and one that hands it to libc's free() dies in its
 * own unit test (as it would in the host) instead of in production. */
/* cmocka needs these first, in this order. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json_arena.h"
#include "tokencollector/testkit.h"

static const char body[] = "{\"price\":1.5,\"name\":\"arena test\",\"tags\":[\"a\",\"b\",\"c\"]}";
static const char *const addrs[] = {"So11111111111111111111111111111111111111112"};

/* Parses BODY with json_free.so, SETTINGS its config; the status. */
static tc_status parse_with(const char *settings, double *price)
{
    const char *build = getenv("TC_BUILD_DIR");
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/test-plugins/json_free.so", build ? build : "build");
    tc_kit_plugin *p = tc_kit_load(path, err, sizeof err);
    if (!p)
        fail_msg("%s", err);
    tc_kit_instance *in = tc_kit_create(p, settings, err, sizeof err);
    if (!in)
        fail_msg("%s", err);
    tc_kit_result *r = NULL;
    tc_status st = tc_kit_parse(in, addrs, 1, 200, "application/json", body, strlen(body), &r);
    if (price)
        *price = tc_kit_num(r, addrs[0], TC_PRICE_USD);
    tc_kit_result_free(r);
    tc_kit_destroy(in);
    tc_kit_unload(p);
    return st;
}

static void freeing_through_cjson_passes(void **state)
{
    (void)state;
    double price = 0;
    for (int i = 0; i < 3; i++) /* the arena's block is reused between calls */
        assert_int_equal(parse_with("free = cjson\n", &price), TC_OK);
    assert_true(price == 1.5);
}

static void freeing_with_libc_dies_in_the_kit(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* glibc's report of the bad free() is expected here; keep it off the
         * test's output. */
        if (!freopen("/dev/null", "w", stderr))
            _exit(3);
        _exit(parse_with("free = libc\n", NULL) == TC_OK ? 0 : 2);
    }
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    if (json_arena_enabled()) {
        if (!WIFSIGNALED(ws))
            fail_msg("a plugin that free()s cJSON's memory passed its kit test (exit status %d)",
                     WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
    } else {
        /* AddressSanitizer build: the arena stays closed (json_arena.h), so
         * the same free() is a plain one and the plugin runs to the end. */
        assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(freeing_through_cjson_passes),
        cmocka_unit_test(freeing_with_libc_dies_in_the_kit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
