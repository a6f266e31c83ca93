/* Driving the tokens handlers by hand and checking what they answer against
 * the fixture (api_fixture.h): a request built as the server would build it,
 * the body parsed, one token's JSON compared with what the fixture wrote,
 * and the order a sort must produce. Shared by test_api_tokens.c and the
 * handler benchmark; no cmocka here (checks return a reason). */
#ifndef TC_API_CHECK_H
#define TC_API_CHECK_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "api_fixture.h"

typedef struct api_call {
    api_response rs;
    cJSON *json; /* the parsed body (NULL when it is not JSON) */
} api_call;

/* GET PATH with the query KV (key, value, ..., NULL) through
 * api_token_routes, on store ST. */
void api_get(store *st, api_call *c, const char *path, const char *const *kv);
void api_call_free(api_call *c);
/* GET PATH?KV with no parsing: the handler alone (benchmarks). */
void api_get_raw(store *st, api_response *rs, const char *path, const char *const *kv);

/* Every token of GET /api/v3/tokens?KV&limit=LIMIT, page after page by
 * page= or by cursor; BETWEEN (may be NULL) runs after each page. The
 * fixture indexes in order (*N of them, caller frees), or NULL with WHY when
 * a page is not a 200 or its pagination is inconsistent. */
size_t *api_walk(store *st, const char *const *kv, const char *limit, int by_cursor, void (*between)(void), size_t *n,
                 char *why, size_t whylen);

/* The fields a check compares (bits of api_tokens.h's token_field). */
int fx_check_token(const cJSON *t, size_t i, int64_t created_at, uint32_t fields, char *why, size_t whylen);

/* The fixture tokens 0..N in the order SORT (DESC) must list them. */
size_t *fx_expected_order(size_t n, token_sort sort, int desc);
/* 1 when token I has a value for SORT. */
int fx_has_key(size_t i, token_sort sort);

#endif
