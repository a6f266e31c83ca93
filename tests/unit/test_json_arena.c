/* cJSON's arena during a plugin's parse: trees parsed inside the window are
 * the same as with malloc, frees inside it are no-ops, memory from outside
 * the window is freed normally wherever it is released, and the window
 * keeps no more than its cap between answers. */
/* cmocka needs these first, in this order. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_arena.h"
#include "util.h"

static char *big_document(size_t items)
{
    strbuf b = {0};
    sb_appends(&b, "[");
    for (size_t i = 0; i < items; i++)
        sb_printf(&b, "%s{\"id\":\"addr%zu\",\"price\":%zu.25,\"tags\":[\"a\",\"b\"],\"ok\":true}", i ? "," : "", i,
                  i);
    sb_appends(&b, "]");
    return b.data;
}

static void trees_inside_the_window_read_the_same(void **state)
{
    (void)state;
    json_arena_install();
    char *doc = big_document(20000); /* larger than a block: several blocks and a cap to give back */
    cJSON *outside = cJSON_Parse("{\"kept\":[1,2,3]}"); /* malloc'd: freed normally inside the window */
    char *printed_before = NULL;
    for (int round = 0; round < 3; round++) {
        json_arena_begin();
        cJSON *j = cJSON_Parse(doc);
        assert_non_null(j);
        assert_int_equal(cJSON_GetArraySize(j), 20000);
        cJSON *last = cJSON_GetArrayItem(j, 19999);
        assert_string_equal(cJSON_GetObjectItem(last, "id")->valuestring, "addr19999");
        assert_true(cJSON_GetObjectItem(last, "price")->valuedouble == 19999.25);
        char *printed = cJSON_PrintUnformatted(j);
        assert_non_null(printed);
        if (!printed_before)
            printed_before = strdup(printed);
        assert_string_equal(printed, printed_before);
        cJSON_free(printed);
        if (round == 0) {
            cJSON_Delete(outside); /* allocated before the window: a real free */
            outside = NULL;
        }
        cJSON_Delete(j);
        json_arena_end();
    }
    /* After the window: plain malloc again, freed normally. */
    cJSON *after = cJSON_Parse(doc);
    assert_int_equal(cJSON_GetArraySize(after), 20000);
    cJSON_Delete(after);
    /* A small tree from a window released after it (the arena keeps its
     * block, so the late free is a no-op, not a crash). */
    json_arena_begin();
    cJSON *late = cJSON_Parse("{\"a\":\"b\"}");
    json_arena_end();
    cJSON_Delete(late);
    free(printed_before);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trees_inside_the_window_read_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
