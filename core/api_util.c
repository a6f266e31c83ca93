/* The small pieces every API handler uses: JSON bodies, the one error
 * shape, query parameters. No HTTP library here (api_server.c has it). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "util.h"

int api_json(api_response *rs, char *body)
{
    rs->status = rs->status ? rs->status : 200;
    rs->body = body;
    rs->body_len = body ? strlen(body) : 0;
    rs->content_type = NULL;
    return 0;
}

int api_error(api_response *rs, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", msg);
    free(rs->body);
    rs->body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!rs->body)
        abort(); /* out of memory */
    rs->body_len = strlen(rs->body);
    rs->status = status;
    rs->content_type = NULL;
    rs->cacheable = 0;
    return 0;
}

const char *api_query(const api_request *rq, const char *key)
{
    const char *v = NULL;
    for (size_t i = 0; i < rq->n_query; i++)
        if (!strcmp(rq->query[i].key, key))
            v = rq->query[i].value;
    return v;
}

int api_check_params(const api_request *rq, const char *const *allowed, api_response *rs)
{
    for (size_t i = 0; i < rq->n_query; i++) {
        const char *k = rq->query[i].key;
        int known = 0;
        for (const char *const *a = allowed; *a && !known; a++)
            known = !strcmp(*a, k);
        if (!known) {
            strbuf list = {0};
            for (const char *const *a = allowed; *a; a++)
                sb_printf(&list, "%s%s", a == allowed ? "" : ", ", *a);
            api_error(rs, 400, "bad_parameter", "%s: unknown parameter (known: %s)", k, list.data ? list.data : "none");
            sb_free(&list);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(rq->query[j].key, k)) {
                api_error(rs, 400, "bad_parameter", "%s: given more than once", k);
                return -1;
            }
    }
    return 0;
}
