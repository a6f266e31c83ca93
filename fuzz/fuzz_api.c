/* libFuzzer: the HTTP API's parsers, without the server: the query string
 * (api_parse_query), the tokens list's parameters and keyset cursor
 * (tokens_parse, tokens_cursor_decode) and the admin routes' JSON bodies
 * (admin_body, admin_check_members). The input's first byte picks the
 * parser; the rest is its text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "api_admin_internal.h"
#include "api_http.h"
#include "api_tokens.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_set_level(TC_LOG_ERROR);
    return 0;
}

static void free_response(api_response *rs) { free(rs->body); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0: { /* a query string, then the list's parameters */
        api_param *params = NULL;
        char *storage = NULL;
        size_t n = api_parse_query(text, &params, &storage);
        api_request rq = {.method = "GET", .path = "/api/v3/tokens", .query = params, .n_query = n};
        api_response rs = {0};
        tokens_params p;
        memset(&p, 0, sizeof p);
        tokens_parse(&rq, &p, &rs);
        tokens_params_free(&p);
        free_response(&rs);
        free(params);
        free(storage);
        break;
    }
    case 1: { /* a cursor given on its own */
        token_query q;
        memset(&q, 0, sizeof q);
        token_key k;
        memset(&k, 0, sizeof k);
        char why[256];
        tokens_cursor_decode(text, &q, &k, why, sizeof why);
        break;
    }
    default: { /* an admin body */
        api_request rq = {.method = "POST", .path = "/api/admin/tokens", .body = text, .body_len = size - 1};
        api_response rs = {0};
        cJSON *o = admin_body(&rq, &rs, data[0] & 8);
        if (o)
            admin_check_members(o, (const char *const[]){"addresses", "priority", "interval", "in_contest", NULL},
                                "body", &rs);
        cJSON_Delete(o);
        free_response(&rs);
        break;
    }
    }
    free(text);
    return 0;
}
