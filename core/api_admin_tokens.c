/* The admin API's token routes (docs/api.md "Admin API"): the list with
 * refresh settings (limit, offset, sort, order, tier), a token's settings
 * (priority, interval_s, in_contest; one, or many in one request), refresh
 * now, adding addresses (the same validation as `import`). The request's
 * form is checked here (400 naming what is wrong); the loop checks the rest
 * (daemon_admin.c). Must not reach the engine or the scheduler. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api_admin_internal.h"
#include "ops_json.h"
#include "util.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define SET_MAX 1000
#define ADD_MAX 10000
#define PRIORITY_MAX 2000.0           /* scores are 0..1000, +1000 in a contest */
#define INTERVAL_MAX_S (7 * 86400.0)

/* ---- the list ----------------------------------------------------------------------- */

typedef enum { BY_PRIORITY, BY_INTERVAL, BY_LAST_REFRESH, BY_DUE, BY_ADDRESS } sort_key;
static const char *const sort_names[] = {"priority", "interval", "last_refresh", "due", "address", NULL};

typedef struct sort_by {
    sort_key key;
    int desc;
} sort_by;

static int cmp_num(double a, double b) { return (a > b) - (a < b); }

static int cmp_rows(const void *pa, const void *pb, void *ctx)
{
    const ops_token_row *a = pa, *b = pb;
    const sort_by *by = ctx;
    int c = 0;
    switch (by->key) {
    case BY_PRIORITY: c = cmp_num(a->t.score, b->t.score); break;
    case BY_INTERVAL: c = cmp_num((double)a->t.effective_ns, (double)b->t.effective_ns); break;
    case BY_LAST_REFRESH: c = cmp_num((double)a->t.last_ok_ns, (double)b->t.last_ok_ns); break;
    case BY_DUE: c = cmp_num((double)a->t.due_ns, (double)b->t.due_ns); break;
    case BY_ADDRESS: break;
    }
    if (by->desc)
        c = -c;
    return c ? c : strcmp(a->address, b->address); /* a stable order for paging */
}

static int parse_choice(const char *v, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(v, names[i]))
            return i;
    return -1;
}

int api_admin_tokens_list(const api_request *rq, api_response *rs)
{
    static const char *const allowed[] = {"limit", "offset", "sort", "order", "tier", NULL};
    ops_hub *h = admin_guard(rq, rs, allowed);
    if (!h)
        return 0;
    long limit = LIST_DEFAULT, offset = 0;
    const char *v;
    if ((v = api_query(rq, "limit")) && parse_long(v, 1, LIST_MAX, &limit) != 0)
        return api_error(rs, 400, "bad_parameter", "limit: expected 1 to %d, got \"%s\"", LIST_MAX, v);
    if ((v = api_query(rq, "offset")) && parse_long(v, 0, 1L << 40, &offset) != 0)
        return api_error(rs, 400, "bad_parameter", "offset: expected a number from 0, got \"%s\"", v);
    int key = BY_PRIORITY, desc = 1, tier = -1;
    if ((v = api_query(rq, "sort")) && (key = parse_choice(v, sort_names)) < 0)
        return api_error(rs, 400, "bad_parameter",
                         "sort: expected priority, interval, last_refresh, due or address, got \"%s\"", v);
    if ((v = api_query(rq, "order")) && (desc = parse_choice(v, (const char *const[]){"asc", "desc", NULL})) < 0)
        return api_error(rs, 400, "bad_parameter", "order: expected asc or desc, got \"%s\"", v);
    if (!api_query(rq, "order") && key != BY_PRIORITY)
        desc = 0;
    if ((v = api_query(rq, "tier")) && (tier = parse_choice(v, (const char *const[]){"hot", "warm", "cold", NULL})) < 0)
        return api_error(rs, 400, "bad_parameter", "tier: expected hot, warm or cold, got \"%s\"", v);
    ops_command c = {.kind = OPS_TOKENS_LIST};
    if (ops_call(h, &c, 5000) != 0)
        return api_error(rs, 503, "collector_busy", "the collector did not answer in time");
    size_t n = 0;
    for (size_t i = 0; i < c.n_rows; i++) /* the tier filter, in place */
        if (tier < 0 || (int)c.rows[i].t.tier == tier)
            c.rows[n++] = c.rows[i];
    qsort_r(c.rows, n, sizeof *c.rows, cmp_rows, &(sort_by){(sort_key)key, desc});
    cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "tokens");
    for (size_t i = (size_t)offset; i < n && i < (size_t)offset + (size_t)limit; i++)
        cJSON_AddItemToArray(list, ops_token_json(c.rows[i].address, &c.rows[i].t, c.now_ns, c.mono0_ns, c.wall0_s));
    cJSON *pg = cJSON_AddObjectToObject(root, "pagination");
    cJSON_AddNumberToObject(pg, "total", (double)n);
    cJSON_AddNumberToObject(pg, "limit", (double)limit);
    cJSON_AddNumberToObject(pg, "offset", (double)offset);
    cJSON_AddBoolToObject(pg, "has_more", (size_t)offset + (size_t)limit < n);
    cJSON_AddStringToObject(root, "sort", sort_names[key]);
    cJSON_AddStringToObject(root, "order", desc ? "desc" : "asc");
    ops_command_free(&c);
    return api_json(rs, ops_print(root));
}

/* ---- settings ------------------------------------------------------------------------ */

static const char *const setting_members[] = {"priority", "interval_s", "in_contest", NULL};

/* Reads O's settings into S (ADDRESS already set); -1 with a 400. */
static int parse_setting(const cJSON *o, ops_token_setting *s, const char *where, api_response *rs)
{
    const char *w = where ? where : "body";
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "priority");
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(o, "interval_s");
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(o, "in_contest");
    if (!p && !iv && !ct) {
        api_error(rs, 400, "bad_body", "%s: nothing to change: give priority, interval_s or in_contest", w);
        return -1;
    }
    if (p) {
        if (!cJSON_IsNull(p) && (!cJSON_IsNumber(p) || !(p->valuedouble >= 0 && p->valuedouble <= PRIORITY_MAX))) {
            api_error(rs, 400, "bad_body", "%s.priority: expected a number from 0 to %.0f, or null to compute it",
                      w, PRIORITY_MAX);
            return -1;
        }
        s->has_priority = 1;
        s->priority = cJSON_IsNull(p) ? NAN : p->valuedouble;
    }
    if (iv) {
        if (!cJSON_IsNull(iv) && (!cJSON_IsNumber(iv) || !(iv->valuedouble >= 1 && iv->valuedouble <= INTERVAL_MAX_S))) {
            api_error(rs, 400, "bad_body", "%s.interval_s: expected seconds from 1 to %.0f, or null for dynamic", w,
                      INTERVAL_MAX_S);
            return -1;
        }
        s->has_interval = 1;
        s->interval_ns = cJSON_IsNull(iv) ? 0 : (int64_t)(iv->valuedouble * 1e9);
    }
    if (ct) {
        if (!cJSON_IsBool(ct)) {
            api_error(rs, 400, "bad_body", "%s.in_contest: expected true or false", w);
            return -1;
        }
        s->has_contest = 1;
        s->in_contest = cJSON_IsTrue(ct);
    }
    return 0;
}

static int run_settings(ops_hub *h, ops_token_setting *s, size_t n, api_response *rs)
{
    ops_command c = {.kind = OPS_TOKENS_SET, .settings = s, .n_settings = n};
    admin_call(h, &c, rs);
    ops_command_free(&c);
    return 0;
}

static int bad_address(api_response *rs, const char *where, const char *a)
{
    return api_error(rs, 400, "bad_address", "%s: not a Solana address (base58, 32-44 characters): \"%.60s\"", where,
                     a);
}

/* The token route's address, or NULL with a 400 in RS. */
static const char *path_address(const api_request *rq, api_response *rs)
{
    const char *addr = rq->n_path_args ? rq->path_args[0] : "";
    if (is_solana_address(addr))
        return addr;
    bad_address(rs, "address", addr);
    return NULL;
}

int api_admin_token_set(const api_request *rq, api_response *rs)
{
    ops_hub *h;
    cJSON *body = admin_begin(rq, rs, 0, setting_members, &h);
    const char *addr = body ? path_address(rq, rs) : NULL;
    ops_token_setting s = {.address = addr};
    if (addr && parse_setting(body, &s, NULL, rs) == 0)
        run_settings(h, &s, 1, rs);
    cJSON_Delete(body);
    return 0;
}

int api_admin_tokens_set_many(const api_request *rq, api_response *rs)
{
    ops_hub *h;
    cJSON *body;
    const cJSON *list = admin_list_body(rq, rs, "tokens", SET_MAX, "settings", &h, &body);
    if (!list)
        return 0;
    int n = cJSON_GetArraySize(list);
    static const char *const members[] = {"address", "priority", "interval_s", "in_contest", NULL};
    ops_token_setting *s = xcalloc((size_t)n, sizeof *s);
    int ok = 1;
    for (int i = 0; ok && i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(list, i);
        char where[32];
        snprintf(where, sizeof where, "tokens[%d]", i);
        const cJSON *a = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "address") : NULL;
        if (!cJSON_IsObject(o) || !cJSON_IsString(a)) {
            api_error(rs, 400, "bad_body", "%s: expected an object with an address", where);
            ok = 0;
        } else if (!is_solana_address(a->valuestring)) {
            bad_address(rs, where, a->valuestring);
            ok = 0;
        } else {
            s[i].address = a->valuestring;
            ok = admin_check_members(o, members, where, rs) == 0 && parse_setting(o, &s[i], where, rs) == 0;
        }
        for (int j = 0; ok && j < i; j++)
            if (!strcmp(s[j].address, s[i].address)) {
                api_error(rs, 400, "bad_body", "%s: %s is given twice (also tokens[%d])", where, s[i].address, j);
                ok = 0;
            }
    }
    if (ok)
        run_settings(h, s, (size_t)n, rs);
    free(s);
    cJSON_Delete(body);
    return 0;
}

/* ---- refresh now, add --------------------------------------------------------------------- */

int api_admin_token_refresh(const api_request *rq, api_response *rs)
{
    ops_hub *h;
    cJSON *body = admin_begin(rq, rs, 1, (const char *const[]){NULL}, &h);
    const char *addr = body ? path_address(rq, rs) : NULL;
    if (addr) {
        ops_command c = {.kind = OPS_REFRESH, .address = addr};
        admin_call(h, &c, rs);
        ops_command_free(&c);
    }
    cJSON_Delete(body);
    return 0;
}

static int by_string(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int api_admin_tokens_add(const api_request *rq, api_response *rs)
{
    ops_hub *h;
    cJSON *body;
    const cJSON *list = admin_list_body(rq, rs, "addresses", ADD_MAX, "addresses", &h, &body);
    if (!list)
        return 0;
    int n = cJSON_GetArraySize(list);
    const char **addrs = xcalloc((size_t)n, sizeof *addrs);
    strbuf bad = {0};
    int n_bad = 0, i = 0;
    for (const cJSON *a = list->child; a; a = a->next, i++) {
        if (cJSON_IsString(a) && is_solana_address(a->valuestring)) {
            addrs[i] = a->valuestring;
            continue;
        }
        if (n_bad++ < 5)
            sb_printf(&bad, "%saddresses[%d] \"%.60s\"", bad.len ? ", " : "", i,
                      cJSON_IsString(a) ? a->valuestring : "(not a string)");
    }
    if (n_bad) {
        api_error(rs, 400, "bad_address",
                  "%d of %d are not Solana addresses (base58, 32-44 characters), nothing was added: %s%s", n_bad, n,
                  bad.data, n_bad > 5 ? ", ..." : "");
    } else {
        qsort(addrs, (size_t)n, sizeof *addrs, by_string); /* in key order, repeats once */
        size_t k = 0;
        for (int j = 0; j < n; j++)
            if (!k || strcmp(addrs[k - 1], addrs[j]) != 0)
                addrs[k++] = addrs[j];
        ops_command c = {.kind = OPS_TOKENS_ADD, .addrs = addrs, .n_addrs = k};
        admin_call(h, &c, rs);
        ops_command_free(&c);
    }
    sb_free(&bad);
    free(addrs);
    cJSON_Delete(body);
    return 0;
}
