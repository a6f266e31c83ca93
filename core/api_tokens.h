/* GET /api/v3/tokens and GET /api/v3/tokens/{address}: the route table the
 * server mounts, and what the three files behind it share (nothing else may
 * include the rest of this header): api_tokens.c (the handlers),
 * api_tokens_query.c (query parameters, validation, cursors) and
 * api_tokens_render.c (the JSON). See docs/api.md, "Tokens". */
#ifndef TC_API_TOKENS_H
#define TC_API_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "store_read.h"
#include "util.h"

/* {"GET", "/api/v3/tokens", ...}, {"GET", "/api/v3/tokens/{address}", ...}, {NULL} */
extern const api_route api_token_routes[];

#define TOKENS_DEFAULT_LIMIT 100
#define TOKENS_MAX_LIMIT 2000
#define TOKENS_MAX_PAGE 1000000
#define TOKENS_MAX_Q 64

/* The fields of a token in the order they are written; TF_BIT(f) in a
 * field set. */
typedef enum token_field {
    TF_ADDRESS,
    TF_STATUS,
    TF_NAME,
    TF_SYMBOL,
    TF_DECIMALS,
    TF_IMAGE_URL,
    TF_DESCRIPTION,
    TF_SUPPLY,
    TF_PRICE_USD,
    TF_MARKET_CAP,
    TF_FDV,
    TF_LIQUIDITY_USD,
    TF_VOLUME_24H,
    TF_CHANGE_24H,
    TF_PRICE_UPDATED_AT,
    TF_LAST_PRICE_CHANGE,
    TF_CREATED_AT,
    TF_UPDATED_AT,
    TF_SOCIALS,
    TF_WEBSITES,
    TF_SOURCES,
    TF_REFRESH, /* the detail route only */
    TF_COUNT
} token_field;

#define TF_BIT(f) (1u << (f))
/* The fields a list shows without fields= (every field but sources). */
#define TF_DEFAULT (TF_BIT(TF_SOURCES) - 1)
/* light=1 */
#define TF_LIGHT                                                                                                       \
    (TF_BIT(TF_ADDRESS) | TF_BIT(TF_NAME) | TF_BIT(TF_SYMBOL) | TF_BIT(TF_PRICE_USD) | TF_BIT(TF_CHANGE_24H) |         \
     TF_BIT(TF_MARKET_CAP))
/* prices= in fields: the market data */
#define TF_PRICES                                                                                                      \
    (TF_BIT(TF_PRICE_USD) | TF_BIT(TF_MARKET_CAP) | TF_BIT(TF_FDV) | TF_BIT(TF_LIQUIDITY_USD) |                        \
     TF_BIT(TF_VOLUME_24H) | TF_BIT(TF_CHANGE_24H) | TF_BIT(TF_PRICE_UPDATED_AT))

/* The name of field F as a key and in fields=. */
const char *token_field_name(token_field f);

/* A list request, parsed and checked. */
typedef struct tokens_params {
    token_query q;
    token_key after; /* q.after points here when a cursor was given */
    long page;       /* 1-based; 0 with a cursor */
    int limit_capped;
    uint32_t fields;
    char *addr_copy; /* addresses= split in place (q.addresses points into it) */
    const char **addr_list;
} tokens_params;

/* 0, or -1 with a 400 in RS naming the parameter and why. */
int tokens_parse(const api_request *rq, tokens_params *p, api_response *rs);
void tokens_params_free(tokens_params *p);

/* The opaque cursor of position K in Q's order (base64url text, caller
 * frees), and back: 0, or -1 with WHY when TEXT is not a cursor of Q's
 * sort. */
char *tokens_cursor_encode(const token_query *q, const token_key *k);
int tokens_cursor_decode(const char *text, const token_query *q, token_key *k, char *why, size_t whylen);

/* The bodies. */
void tokens_render_list(strbuf *b, const token_page *pg, const tokens_params *p);
void tokens_render_detail(strbuf *b, const token_row *row);

#endif
