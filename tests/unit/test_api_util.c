/* The API handlers' shared pieces: the error body, query parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "api.h"

static void error_body_has_code_and_message(void **state)
{
    (void)state;
    api_response rs = {0};
    assert_int_equal(api_error(&rs, 400, "bad_parameter", "limit: expected 1..%d, got \"%s\"", 2000, "x\"y"), 0);
    assert_int_equal(rs.status, 400);
    cJSON *root = cJSON_Parse(rs.body);
    assert_non_null(root);
    cJSON *err = cJSON_GetObjectItem(root, "error");
    assert_string_equal(cJSON_GetObjectItem(err, "code")->valuestring, "bad_parameter");
    assert_string_equal(cJSON_GetObjectItem(err, "message")->valuestring, "limit: expected 1..2000, got \"x\"y\"");
    assert_int_equal(rs.body_len, strlen(rs.body));
    cJSON_Delete(root);
    free(rs.body);
}

static void params_unknown_and_repeated(void **state)
{
    (void)state;
    static const char *const allowed[] = {"limit", "page", NULL};
    api_param q1[] = {{"limit", "5"}, {"page", "2"}};
    api_request rq = {.query = q1, .n_query = 2};
    api_response rs = {0};
    assert_int_equal(api_check_params(&rq, allowed, &rs), 0);
    assert_string_equal(api_query(&rq, "page"), "2");
    assert_null(api_query(&rq, "sort"));
    api_param q2[] = {{"limit", "5"}, {"pgae", "2"}};
    rq.query = q2;
    assert_int_equal(api_check_params(&rq, allowed, &rs), -1);
    assert_int_equal(rs.status, 400);
    assert_non_null(strstr(rs.body, "pgae: unknown parameter (known: limit, page)"));
    api_param q3[] = {{"limit", "5"}, {"limit", "6"}};
    rq.query = q3;
    assert_int_equal(api_check_params(&rq, allowed, &rs), -1);
    assert_non_null(strstr(rs.body, "limit: given more than once"));
    free(rs.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_body_has_code_and_message),
        cmocka_unit_test(params_unknown_and_repeated),
    };
    return cmocka_run_group_tests_name("api_util", tests, NULL, NULL);
}
