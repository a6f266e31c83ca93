/* The HTTP API's pure pieces: the listen address, the query string, entity
 * tags and If-None-Match, content negotiation, a gzip round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "api_http.h"

static void listen_addresses(void **state)
{
    (void)state;
    struct sockaddr_storage sa;
    socklen_t len;
    char why[256];
    assert_int_equal(api_parse_listen("127.0.0.1:8080", &sa, &len, why, sizeof why), 0);
    const struct sockaddr_in *a4 = (const void *)&sa;
    assert_int_equal(sa.ss_family, AF_INET);
    assert_int_equal(ntohs(a4->sin_port), 8080);
    assert_int_equal(ntohl(a4->sin_addr.s_addr), 0x7f000001);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(api_parse_listen("localhost:0", &sa, &len, why, sizeof why), 0);
    assert_int_equal(ntohl(a4->sin_addr.s_addr), 0x7f000001);
    assert_int_equal(api_parse_listen("0.0.0.0:65535", &sa, &len, why, sizeof why), 0);
    assert_int_equal(api_parse_listen("[::1]:9000", &sa, &len, why, sizeof why), 0);
    const struct sockaddr_in6 *a6 = (const void *)&sa;
    assert_int_equal(sa.ss_family, AF_INET6);
    assert_int_equal(ntohs(a6->sin6_port), 9000);
    assert_int_equal(len, sizeof(struct sockaddr_in6));

    static const char *const bad[][2] = {
        {"8080", "expected HOST:PORT"},          {"127.0.0.1", "expected HOST:PORT"},
        {"127.0.0.1:", "expected HOST:PORT"},    {":8080", "expected HOST:PORT"},
        {"127.0.0.1:65536", "port"},             {"127.0.0.1:http", "port"},
        {"::1:8080", "not an IPv4 address"},     {"[::1:8080", "brackets"},
        {"example.com:80", "no name is looked up"}, {"[1.2.3.4]:80", "not an IPv6 address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        why[0] = '\0';
        assert_int_equal(api_parse_listen(bad[i][0], &sa, &len, why, sizeof why), -1);
        if (!strstr(why, bad[i][1]))
            fail_msg("%s: \"%s\" does not say \"%s\"", bad[i][0], why, bad[i][1]);
    }
}

static void query_strings(void **state)
{
    (void)state;
    api_param *p;
    char *buf;
    size_t n = api_parse_query("a=1&b=x%20y&b=2&&c&d=&+e+=%zz&f=%41%2c%2", &p, &buf);
    assert_int_equal(n, 7);
    static const char *const want[][2] = {{"a", "1"},  {"b", "x y"},     {"b", "2"},    {"c", ""},
                                          {"d", ""},   {" e ", "%zz"},   {"f", "A,%2"}};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(p[i].key, want[i][0]);
        assert_string_equal(p[i].value, want[i][1]);
    }
    free(p);
    free(buf);
    assert_int_equal(api_parse_query(NULL, &p, &buf), 0);
    free(p);
    free(buf);
    assert_int_equal(api_parse_query("", &p, &buf), 0);
    free(p);
    free(buf);
}

static void entity_tags(void **state)
{
    (void)state;
    char a[API_ETAG_LEN], b[API_ETAG_LEN], z[API_ETAG_LEN];
    api_etag("hello", 5, 0, a);
    api_etag("hello", 5, 0, b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 18);
    assert_true(a[0] == '"' && a[17] == '"');
    api_etag("hellp", 5, 0, b);
    assert_string_not_equal(a, b);
    api_etag("hello", 5, 1, z);
    assert_int_equal(strncmp(a, z, 17), 0);
    assert_string_equal(z + 17, "-gz\"");

    assert_true(api_etag_matches(a, a));
    assert_true(api_etag_matches(z, a)); /* one body: its two codings match */
    assert_true(api_etag_matches(a, z));
    char weak[40], list[80];
    snprintf(weak, sizeof weak, "W/%s", a);
    assert_true(api_etag_matches(weak, a));
    snprintf(list, sizeof list, "\"x\", %s , W/\"y\"", z);
    assert_true(api_etag_matches(list, a));
    assert_true(api_etag_matches("*", a));
    assert_false(api_etag_matches(b, a));
    assert_false(api_etag_matches("\"x\", W/\"y\"", a));
    assert_false(api_etag_matches("nonsense", a));
    assert_false(api_etag_matches("\"unterminated", a));
    assert_false(api_etag_matches(NULL, a));
    assert_false(api_etag_matches("", a));
}

static void content_negotiation(void **state)
{
    (void)state;
    assert_true(api_accepts_gzip("gzip"));
    assert_true(api_accepts_gzip("GZIP"));
    assert_true(api_accepts_gzip("deflate, gzip;q=0.5, br"));
    assert_true(api_accepts_gzip("x-gzip"));
    assert_true(api_accepts_gzip("*"));
    assert_false(api_accepts_gzip("gzip;q=0"));
    assert_false(api_accepts_gzip("gzip; q=0, *"));
    assert_false(api_accepts_gzip("*;q=0"));
    assert_false(api_accepts_gzip("identity"));
    assert_false(api_accepts_gzip("gzipped"));
    assert_false(api_accepts_gzip(""));
    assert_false(api_accepts_gzip(NULL));
    assert_true(api_accepts_media("text/event-stream", "text/event-stream"));
    assert_true(api_accepts_media("text/html, Text/Event-Stream;q=0.9", "text/event-stream"));
    assert_false(api_accepts_media("*/*", "text/event-stream"));
    assert_false(api_accepts_media("text/event-stream;q=0", "text/event-stream"));
    assert_false(api_accepts_media("application/json", "text/event-stream"));
    assert_false(api_accepts_media(NULL, "text/event-stream"));
}

static void gzip_round_trip(void **state)
{
    (void)state;
    size_t len = 200000;
    char *in = malloc(len);
    for (size_t i = 0; i < len; i++)
        in[i] = "{\"price_usd\":1.25,\"name\":\"x\"},"[i % 31] + (char)(i % 7 == 0 && i % 31 == 2);
    char *z;
    size_t zlen;
    assert_int_equal(api_gzip(in, len, &z, &zlen), 0);
    assert_true(zlen < len / 4);
    assert_int_equal((unsigned char)z[0], 0x1f); /* a gzip member */
    assert_int_equal((unsigned char)z[1], 0x8b);
    char *out = malloc(len + 1);
    z_stream s = {0};
    assert_int_equal(inflateInit2(&s, 15 + 16), Z_OK);
    s.next_in = (Bytef *)z;
    s.avail_in = (uInt)zlen;
    s.next_out = (Bytef *)out;
    s.avail_out = (uInt)len + 1;
    assert_int_equal(inflate(&s, Z_FINISH), Z_STREAM_END);
    assert_int_equal(s.total_out, len);
    inflateEnd(&s);
    assert_memory_equal(in, out, len);
    free(z);
    assert_int_equal(api_gzip("", 0, &z, &zlen), 0);
    assert_true(zlen > 0);
    free(z);
    free(in);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(listen_addresses),    cmocka_unit_test(query_strings), cmocka_unit_test(entity_tags),
        cmocka_unit_test(content_negotiation), cmocka_unit_test(gzip_round_trip),
    };
    return cmocka_run_group_tests_name("api_http", tests, NULL, NULL);
}
