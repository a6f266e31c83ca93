/* Routing: literal segments before "{...}" (the change feed before a
 * token's address, whichever table comes first), 404 and 405 with the
 * methods the path has, path arguments; and the server's real table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "api_route.h"

static int h_health(const api_request *rq, api_response *rs) { (void)rq; (void)rs; return 0; }
static int h_token(const api_request *rq, api_response *rs) { (void)rq; (void)rs; return 0; }
static int h_tokens(const api_request *rq, api_response *rs) { (void)rq; (void)rs; return 0; }
static int h_changes(const api_request *rq, api_response *rs) { (void)rq; (void)rs; return 0; }
static int h_post(const api_request *rq, api_response *rs) { (void)rq; (void)rs; return 0; }

/* Tables as the modules export them: the tokens module's (its shape on
 * wip-api2) and the feed's. */
static const api_route tokens_table[] = {
    {"GET", "/api/v3/tokens", h_tokens},
    {"GET", "/api/v3/tokens/{address}", h_token},
    {"POST", "/api/v3/tokens/{address}/refresh", h_post},
    {NULL, NULL, NULL},
};
static const api_route feed_table[] = {
    {"GET", "/health", h_health},
    {"GET", "/api/v3/tokens/changes", h_changes},
    {NULL, NULL, NULL},
};

static void check(const api_route *const *tables, const char *method, const char *path, int want, api_handler h,
                  const char *arg)
{
    api_match m;
    int got = api_route_find(tables, method, path, &m);
    if (got != want)
        fail_msg("%s %s: %d, want %d", method, path, got, want);
    if (want == 200) {
        assert_ptr_equal(m.route->handler, h);
        if (arg) {
            assert_int_equal(m.n_args, 1);
            assert_string_equal(m.args[0], arg);
        } else
            assert_int_equal(m.n_args, 0);
    }
    api_match_free(&m);
}

static void literal_wins_in_either_order(void **state)
{
    (void)state;
    const api_route *const orders[2][3] = {{tokens_table, feed_table, NULL}, {feed_table, tokens_table, NULL}};
    for (int o = 0; o < 2; o++) {
        const api_route *const *t = orders[o];
        check(t, "GET", "/api/v3/tokens/changes", 200, h_changes, NULL);
        check(t, "HEAD", "/api/v3/tokens/changes", 200, h_changes, NULL);
        check(t, "GET", "/api/v3/tokens/So11111111111111111111111111111111111111112", 200, h_token,
              "So11111111111111111111111111111111111111112");
        check(t, "GET", "/api/v3/tokens/changesX", 200, h_token, "changesX");
        check(t, "GET", "/api/v3/tokens", 200, h_tokens, NULL);
        check(t, "POST", "/api/v3/tokens/abc/refresh", 200, h_post, "abc");
        check(t, "GET", "/health", 200, h_health, NULL);
    }
}

static void not_found_and_not_allowed(void **state)
{
    (void)state;
    const api_route *const t[] = {tokens_table, feed_table, NULL};
    check(t, "GET", "/", 404, NULL, NULL);
    check(t, "GET", "/nope", 404, NULL, NULL);
    check(t, "GET", "/health/", 404, NULL, NULL);
    check(t, "GET", "//health", 404, NULL, NULL);
    check(t, "GET", "/api/v3/tokens/", 404, NULL, NULL);
    check(t, "GET", "/api/v3/tokens/a/b", 404, NULL, NULL);
    check(t, "GET", "/api/v3/tokens//refresh", 404, NULL, NULL);
    check(t, "GET", "/API/v3/tokens", 404, NULL, NULL);
    api_match m;
    assert_int_equal(api_route_find(t, "DELETE", "/api/v3/tokens/changes", &m), 405);
    assert_string_equal(m.allow, "GET, HEAD");
    api_match_free(&m);
    assert_int_equal(api_route_find(t, "GET", "/api/v3/tokens/abc/refresh", &m), 405);
    assert_string_equal(m.allow, "POST");
    api_match_free(&m);
    assert_int_equal(api_route_find(t, "POST", "/health", &m), 405);
    assert_string_equal(m.allow, "GET, HEAD");
    api_match_free(&m);
}

/* The table the server routes: the feed's path goes to the feed's handler
 * (and would with the tokens module's table in the list too). */
static void server_table(void **state)
{
    (void)state;
    check(api_route_tables, "GET", "/api/v3/tokens/changes", 200, api_change_routes[0].handler, NULL);
    check(api_route_tables, "GET", "/health", 200, api_basic_routes[0].handler, NULL);
    const api_route *const with_tokens[] = {tokens_table, api_change_routes, api_basic_routes, NULL};
    check(with_tokens, "GET", "/api/v3/tokens/changes", 200, api_change_routes[0].handler, NULL);
    check(with_tokens, "GET", "/api/v3/tokens/xyz", 200, h_token, "xyz");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literal_wins_in_either_order),
        cmocka_unit_test(not_found_and_not_allowed),
        cmocka_unit_test(server_table),
    };
    return cmocka_run_group_tests_name("api_route", tests, NULL, NULL);
}
