/* Logging: the text and JSON line formats (each JSON line parses, with its
 * fields), repeats of a warning written once with their count, the ring of
 * recent warnings and errors, counts per level. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static int64_t fake_now;
static int64_t fake_clock(void) { return fake_now; }

static char *captured(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *buf = calloc(1, (size_t)n + 1);
    rewind(f);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        fail();
    rewind(f);
    if (ftruncate(fileno(f), 0) != 0)
        fail();
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static int setup(void **state)
{
    FILE *f = tmpfile();
    log_set_output(f);
    log_set_clock(fake_clock);
    log_set_level(TC_LOG_INFO);
    fake_now = 0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fake_now += 10 * LOG_REPEAT_WINDOW_NS; /* forget this test's repeats */
    log_flush_repeats();
    log_flush_repeats();
    log_set_output(NULL);
    log_set_clock(NULL);
    log_set_format(LOG_FORMAT_TEXT);
    fclose(*state);
    return 0;
}

static void text_format_with_fields(void **state)
{
    FILE *f = *state;
    log_msg(TC_LOG_INFO, "daemon", "started: %d tokens", 12);
    log_fields(TC_LOG_INFO, "admin", (log_field[]){{"action", "pause", 0}, {"source", "jupiter", 0}}, 2,
               "source paused");
    log_msg(TC_LOG_DEBUG, "x", "not at info");
    char *out = captured(f);
    assert_string_equal(out, "info [daemon] started: 12 tokens\ninfo [admin] source paused action=pause source=jupiter\n");
    free(out);
}

static void json_lines_parse_with_every_member(void **state)
{
    FILE *f = *state;
    log_set_format(LOG_FORMAT_JSON);
    log_msg(TC_LOG_WARN, "jupiter", "a \"quoted\" \\ line\twith\ncontrol \x01 chars");
    log_fields(TC_LOG_INFO, "admin", (log_field[]){{"tokens", "3", 1}, {"who", "ops", 0}, {"bad", "3x", 1}}, 3,
               "changed");
    log_msg(TC_LOG_ERROR, NULL, "no component");
    char *out = captured(f);
    assert_int_equal(count_lines(out), 3);
    char *line = strtok(out, "\n");
    int n = 0;
    for (; line; line = strtok(NULL, "\n"), n++) {
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        const char *time = cJSON_GetStringValue(cJSON_GetObjectItem(j, "time"));
        assert_non_null(time);
        assert_int_equal(strlen(time), 24); /* 2026-01-02T03:04:05.678Z */
        assert_int_equal(time[23], 'Z');
        assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(j, "level")));
        assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(j, "component")));
        assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(j, "message")));
        assert_true(cJSON_IsObject(cJSON_GetObjectItem(j, "fields")));
        if (n == 0)
            assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "message")),
                                "a \"quoted\" \\ line\twith\ncontrol \x01 chars");
        if (n == 1) {
            cJSON *fields = cJSON_GetObjectItem(j, "fields");
            assert_true(cJSON_IsNumber(cJSON_GetObjectItem(fields, "tokens")));
            assert_int_equal(cJSON_GetObjectItem(fields, "tokens")->valueint, 3);
            assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(fields, "who")), "ops");
            assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(fields, "bad")), "3x");
        }
        cJSON_Delete(j);
    }
    free(out);
}

static void a_repeated_error_is_written_once_with_its_count(void **state)
{
    FILE *f = *state;
    uint64_t before[4], sup_before, after[4], sup_after;
    log_counts(before, &sup_before);
    for (int i = 0; i < 1000; i++) {
        fake_now += NS_PER_MS; /* 1 s in all: inside the window */
        log_msg(TC_LOG_ERROR, "store", "database is locked");
    }
    log_msg(TC_LOG_ERROR, "store", "another error");
    log_flush_repeats(); /* the window has not ended: nothing yet */
    char *out = captured(f);
    assert_string_equal(out, "error [store] database is locked\nerror [store] another error\n");
    free(out);
    fake_now += LOG_REPEAT_WINDOW_NS;
    log_flush_repeats();
    out = captured(f);
    assert_non_null(strstr(out, "error [store] database is locked (repeated 999 more times in 60 s) repeated=999 window_s=60"));
    free(out);
    log_counts(after, &sup_after);
    assert_int_equal(after[TC_LOG_ERROR] - before[TC_LOG_ERROR], 1001);
    assert_int_equal(sup_after - sup_before, 999);
    /* Info lines are never held back. */
    for (int i = 0; i < 3; i++)
        log_msg(TC_LOG_INFO, "d", "same");
    out = captured(f);
    assert_int_equal(count_lines(out), 3);
    free(out);
}

static void recent_keeps_the_latest_warnings_with_repeats(void **state)
{
    (void)state;
    log_msg(TC_LOG_WARN, "helius", "HTTP 429");
    log_msg(TC_LOG_WARN, "helius", "HTTP 429");
    log_msg(TC_LOG_INFO, "helius", "not kept");
    log_msg(TC_LOG_ERROR, "store", "commit failed");
    log_event ev[LOG_RECENT];
    size_t n = log_recent(ev, LOG_RECENT);
    assert_true(n >= 2);
    assert_string_equal(ev[n - 1].message, "commit failed");
    assert_int_equal(ev[n - 1].level, TC_LOG_ERROR);
    assert_string_equal(ev[n - 2].message, "HTTP 429");
    assert_string_equal(ev[n - 2].component, "helius");
    assert_int_equal(ev[n - 2].repeats, 1);
    assert_true(ev[n - 2].time_ms > 1700000000000LL);
    for (int i = 0; i < 2 * LOG_RECENT; i++)
        log_msg(TC_LOG_WARN, "w", "warning %d", i);
    n = log_recent(ev, LOG_RECENT);
    assert_int_equal(n, LOG_RECENT);
    assert_string_equal(ev[LOG_RECENT - 1].message, "warning 63");
    assert_string_equal(ev[0].message, "warning 32");
}

static void formats_parse(void **state)
{
    (void)state;
    assert_int_equal(log_format_parse("text"), LOG_FORMAT_TEXT);
    assert_int_equal(log_format_parse("json"), LOG_FORMAT_JSON);
    assert_int_equal(log_format_parse("JSON"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(text_format_with_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(json_lines_parse_with_every_member, setup, teardown),
        cmocka_unit_test_setup_teardown(a_repeated_error_is_written_once_with_its_count, setup, teardown),
        cmocka_unit_test_setup_teardown(recent_keeps_the_latest_warnings_with_repeats, setup, teardown),
        cmocka_unit_test(formats_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
