/* The handlers of GET /api/v3/tokens (a page of tokens) and GET
 * /api/v3/tokens/{address} (one token with its sources and refresh state),
 * and their route table (api_token_routes, mounted by the server). Each
 * handler reads through its request's own store connection (rq->st) and
 * answers 200 (cacheable: the server adds the ETag), 400, 404 or 503; a
 * store error is logged, never shown. Owns the flow of the two requests;
 * the parameters are api_tokens_query.c's, the bodies api_tokens_render.c's.
 * See docs/api.md ("Tokens"). */
#include <stdio.h>
#include <string.h>

#include "api_tokens.h"
#include "log.h"

static int store_down(api_response *rs, const char *route, const char *err)
{
    LOG_WARN("api", "%s: %s", route, err);
    return api_error(rs, 503, "store_unavailable", "the store did not answer; try again shortly");
}

static void body(api_response *rs, strbuf *b)
{
    rs->status = 200;
    rs->body = b->data;
    rs->body_len = b->len;
    rs->content_type = NULL;
    rs->cacheable = 1;
}

static int tokens_list(const api_request *rq, api_response *rs)
{
    tokens_params p;
    if (tokens_parse(rq, &p, rs)) {
        tokens_params_free(&p);
        return 0;
    }
    if (!rq->st) {
        tokens_params_free(&p);
        return store_down(rs, "GET /api/v3/tokens", "no store connection");
    }
    token_page pg;
    char err[1024];
    if (store_list_tokens(rq->st, &p.q, &pg, err, sizeof err)) {
        tokens_params_free(&p);
        return store_down(rs, "GET /api/v3/tokens", err);
    }
    strbuf b = {0};
    tokens_render_list(&b, &pg, &p);
    token_page_free(&pg);
    tokens_params_free(&p);
    body(rs, &b);
    return 0;
}

static int token_detail(const api_request *rq, api_response *rs)
{
    static const char *const none[] = {NULL};
    if (api_check_params(rq, none, rs))
        return 0;
    const char *address = rq->n_path_args ? rq->path_args[0] : "";
    if (!is_solana_address(address))
        return api_error(rs, 400, "bad_parameter",
                         "address: \"%.64s\" is not a Solana address (base58, 32 to 44 "
                         "characters)",
                         address);
    if (!rq->st)
        return store_down(rs, "GET /api/v3/tokens/{address}", "no store connection");
    token_page pg;
    char err[1024];
    if (store_get_token(rq->st, address, &pg, err, sizeof err))
        return store_down(rs, "GET /api/v3/tokens/{address}", err);
    if (pg.n == 0) {
        token_page_free(&pg);
        return api_error(rs, 404, "not_found", "no token %s in the store", address);
    }
    strbuf b = {0};
    tokens_render_detail(&b, &pg.rows[0]);
    token_page_free(&pg);
    body(rs, &b);
    return 0;
}

const api_route api_token_routes[] = {
    {"GET", "/api/v3/tokens", tokens_list},
    {"GET", "/api/v3/tokens/{address}", token_detail},
    {NULL, NULL, NULL},
};
