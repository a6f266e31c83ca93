/* What the admin API's two files share (api_admin.c: auth, the scheduler,
 * plugins, reloads, the route table; api_admin_tokens.c: the token
 * routes): the guard every route passes, JSON bodies, the call into the
 * daemon loop. Nothing else includes it. */
#ifndef TC_API_ADMIN_INTERNAL_H
#define TC_API_ADMIN_INTERNAL_H

#include <cjson/cJSON.h>

#include "api.h"
#include "ops.h"

/* The admin routes, for api_admin.c's table (api_admin_tokens.c). */
int api_admin_tokens_list(const api_request *rq, api_response *rs);
int api_admin_tokens_add(const api_request *rq, api_response *rs);
int api_admin_tokens_set_many(const api_request *rq, api_response *rs);
int api_admin_token_set(const api_request *rq, api_response *rs);
int api_admin_token_refresh(const api_request *rq, api_response *rs);

/* The hub when RQ may use the admin API; else NULL with RS filled: 404 the
 * admin API is off (no token configured), 401 no or a wrong bearer token,
 * 503 no collector runs in this process. ALLOWED: the query parameters
 * the route takes (NULL-terminated; 400 for any other). */
ops_hub *admin_guard(const api_request *rq, api_response *rs, const char *const *allowed);

/* The body as a JSON object: NULL with a 400 in RS when it is not one.
 * OPTIONAL: no body is an empty object. */
cJSON *admin_body(const api_request *rq, api_response *rs, int optional);
/* 0 when every member of O is in ALLOWED (NULL-terminated); else -1 with
 * a 400 naming it. WHERE prefixes the message ("tokens[3]"), or NULL. */
int admin_check_members(const cJSON *o, const char *const *allowed, const char *where, api_response *rs);
/* What most routes start with: the guard (no query parameters), then the
 * body as an object whose members are all in MEMBERS (OPTIONAL: no body is
 * {}). The body (the caller deletes it) and *H; NULL with RS filled. */
cJSON *admin_begin(const api_request *rq, api_response *rs, int optional, const char *const *members, ops_hub **h);
/* admin_begin for a body {"KEY": [1 to MAX items]}: *BODY (the caller
 * deletes it) and the array, or NULL with RS filled. */
const cJSON *admin_list_body(const api_request *rq, api_response *rs, const char *key, int max, const char *items,
                             ops_hub **h, cJSON **body);
/* Runs C on the loop and moves its answer into RS (503 when the loop did
 * not take it in time). */
int admin_call(ops_hub *h, ops_command *c, api_response *rs);

#endif
