/* The admin API (/api/admin/, docs/api.md "Admin API"): the bearer token
 * (TC_ADMIN_TOKEN or [api] admin_token_file; without one the admin API is
 * off), the scheduler's status, pause and resume, recommendations, the
 * plugins, config and plugin reloads, and the route table with the token
 * routes of api_admin_tokens.c. Reads go to the loop's published snapshot,
 * changes to the loop as commands (ops.h): never the engine or the
 * scheduler from an HTTP thread. Must not hold what a command does
 * (daemon_admin.c). */
#include "api_admin.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api_admin_internal.h"
#include "log.h"
#include "ops_json.h"
#include "secrets.h"
#include "util.h"

/* How long a request waits for the loop to take its command. */
#define CALL_TIMEOUT_MS 5000

static char *admin_token; /* set before the server starts, read-only after */

static void set_token(const char *t)
{
    free(admin_token);
    admin_token = t ? xstrdup(t) : NULL;
    secrets_add(t); /* never echoed in a log line or a response */
}

int api_admin_configure(const char *token_file, char *err, size_t errlen)
{
    const char *env = getenv("TC_ADMIN_TOKEN");
    set_token(NULL);
    if (env && *env) {
        set_token(env);
        return 0;
    }
    if (!token_file || !*token_file)
        return 0;
    FILE *f = fopen(token_file, "r");
    if (!f) {
        snprintf(err, errlen, "[api] admin_token_file: cannot read %s: %s", token_file, strerror(errno));
        return -1;
    }
    char buf[512] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    struct stat sb;
    int loose = fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077);
    fclose(f);
    buf[n] = '\0';
    while (n && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    char *p = buf;
    while (isspace((unsigned char)*p))
        p++;
    if (strlen(p) < 16) {
        snprintf(err, errlen, "[api] admin_token_file: %s holds %s token: write one of 16 characters or more",
                 token_file, *p ? "too short a" : "no");
        return -1;
    }
    if (loose)
        LOG_WARN("api", "%s can be read by other users: chmod 600 it", token_file);
    set_token(p);
    return 0;
}

int api_admin_enabled(void) { return admin_token != NULL; }

const char *api_admin_token(void) { return admin_token; }

void api_admin_reset(void) { set_token(NULL); }

/* Compares in time independent of where they differ. */
static int same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

ops_hub *admin_guard(const api_request *rq, api_response *rs, const char *const *allowed)
{
    if (!admin_token) {
        api_error(rs, 404, "admin_disabled",
                  "the admin API is off: set TC_ADMIN_TOKEN or [api] admin_token_file to turn it on");
        return NULL;
    }
    const char *auth = rq->authorization;
    if (!auth || strncmp(auth, "Bearer ", 7) != 0 || !same_secret(auth + 7, admin_token)) {
        api_error(rs, 401, "unauthorized",
                  auth ? "wrong bearer token" : "send the admin token as \"Authorization: Bearer TOKEN\"");
        return NULL;
    }
    static const char *const none[] = {NULL};
    if (api_check_params(rq, allowed ? allowed : none, rs) != 0)
        return NULL;
    ops_hub *h = ops_current();
    if (!h)
        api_error(rs, 503, "no_collector",
                  "no collector runs in this process (tokencollector serve): the admin API is the daemon's");
    return h;
}

cJSON *admin_body(const api_request *rq, api_response *rs, int optional)
{
    const char *b = rq->body;
    size_t len = rq->body ? rq->body_len : 0;
    while (len && isspace((unsigned char)*b)) {
        b++;
        len--;
    }
    if (len == 0) {
        if (optional)
            return cJSON_CreateObject();
        api_error(rs, 400, "bad_body", "a JSON object is expected in the body");
        return NULL;
    }
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(b, len, &end, 0);
    if (!o) {
        const char *at = cJSON_GetErrorPtr();
        api_error(rs, 400, "bad_json", "the body is not valid JSON (at byte %ld)",
                  at && at >= b && at <= b + len ? (long)(at - rq->body) : 0L);
        return NULL;
    }
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        api_error(rs, 400, "bad_body", "the body must be a JSON object");
        return NULL;
    }
    return o;
}

int admin_check_members(const cJSON *o, const char *const *allowed, const char *where, api_response *rs)
{
    for (const cJSON *m = o->child; m; m = m->next) {
        int known = 0;
        for (const char *const *a = allowed; *a && !known; a++)
            known = !strcmp(*a, m->string);
        if (!known) {
            strbuf list = {0};
            for (const char *const *a = allowed; *a; a++)
                sb_printf(&list, "%s%s", a == allowed ? "" : ", ", *a);
            api_error(rs, 400, "bad_body", "%s%s%s: unknown member (known: %s)", where ? where : "",
                      where ? "." : "", m->string, list.data ? list.data : "none");
            sb_free(&list);
            return -1;
        }
    }
    return 0;
}

cJSON *admin_begin(const api_request *rq, api_response *rs, int optional, const char *const *members, ops_hub **h)
{
    *h = admin_guard(rq, rs, NULL);
    if (!*h)
        return NULL;
    cJSON *body = admin_body(rq, rs, optional);
    if (body && admin_check_members(body, members, NULL, rs) != 0) {
        cJSON_Delete(body);
        body = NULL;
    }
    return body;
}

const cJSON *admin_list_body(const api_request *rq, api_response *rs, const char *key, int max, const char *items,
                             ops_hub **h, cJSON **body)
{
    *body = admin_begin(rq, rs, 0, (const char *const[]){key, NULL}, h);
    if (!*body)
        return NULL;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(*body, key);
    int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    if (n > 0 && n <= max)
        return list;
    api_error(rs, 400, "bad_body", "%s: expected an array of 1 to %d %s", key, max, items);
    cJSON_Delete(*body);
    *body = NULL;
    return NULL;
}

int admin_call(ops_hub *h, ops_command *c, api_response *rs)
{
    if (ops_call(h, c, CALL_TIMEOUT_MS) != 0)
        return api_error(rs, 503, "collector_busy", "the collector did not take the command within %d ms",
                         CALL_TIMEOUT_MS);
    rs->status = c->status;
    rs->body = c->body;
    rs->body_len = c->body ? strlen(c->body) : 0;
    rs->content_type = NULL;
    c->body = NULL;
    return 0;
}

/* ---- reads: the published snapshot ----------------------------------------------- */

/* The snapshot, or NULL with a 503 (nothing published yet). */
static int read_snapshot(ops_hub *h, ops_snapshot *s, api_response *rs)
{
    if (ops_read(h, s) == 0)
        return 0;
    api_error(rs, 503, "starting", "the collector has not published its state yet; try again in a second");
    return -1;
}

/* A read route: the guard, the snapshot, VIEW of it as the answer. */
static int answer_from_snapshot(const api_request *rq, api_response *rs, cJSON *(*view)(const ops_snapshot *))
{
    ops_hub *h = admin_guard(rq, rs, NULL);
    ops_snapshot s = {0};
    if (!h || read_snapshot(h, &s, rs) != 0)
        return 0;
    api_json(rs, ops_print(view(&s)));
    ops_snapshot_clear(&s);
    return 0;
}

static int scheduler_status(const api_request *rq, api_response *rs)
{
    return answer_from_snapshot(rq, rs, ops_status_json);
}

static int recommendations(const api_request *rq, api_response *rs)
{
    return answer_from_snapshot(rq, rs, ops_recommendations_json);
}

static cJSON *plugins_json(const ops_snapshot *sn)
{
    const ops_snapshot s = *sn;
    cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "plugins");
    for (size_t i = 0; i < s.n_src; i++) {
        const ops_source *x = &s.src[i];
        cJSON *o = cJSON_CreateObject();
        char abi[16];
        snprintf(abi, sizeof abi, "%u.%u", x->abi_major, x->abi_minor);
        cJSON_AddStringToObject(o, "source", x->name);
        cJSON_AddStringToObject(o, "name", x->plugin);
        cJSON_AddStringToObject(o, "version", x->version);
        cJSON_AddStringToObject(o, "abi", abi);
        cJSON_AddStringToObject(o, "file", x->file);
        cJSON_AddStringToObject(o, "state", ops_source_state(x));
        cJSON_AddNumberToObject(o, "loaded_at", (double)x->loaded_at);
        cJSON_AddItemToArray(list, o);
    }
    return root;
}

static int plugins(const api_request *rq, api_response *rs) { return answer_from_snapshot(rq, rs, plugins_json); }

/* ---- changes: commands to the loop ------------------------------------------------ */

static int pause_or_resume(const api_request *rq, api_response *rs, ops_kind kind)
{
    ops_hub *h;
    cJSON *body = admin_begin(rq, rs, 1, (const char *const[]){"source", NULL}, &h);
    if (!body)
        return 0;
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(body, "source");
    if (src && !cJSON_IsNull(src) && (!cJSON_IsString(src) || !*src->valuestring)) {
        cJSON_Delete(body);
        return api_error(rs, 400, "bad_body", "source: expected a source's name (a string), or no member for all");
    }
    ops_command c = {.kind = kind, .source = cJSON_IsString(src) ? src->valuestring : NULL};
    admin_call(h, &c, rs);
    ops_command_free(&c);
    cJSON_Delete(body);
    return 0;
}

static int pause(const api_request *rq, api_response *rs) { return pause_or_resume(rq, rs, OPS_PAUSE); }
static int resume(const api_request *rq, api_response *rs) { return pause_or_resume(rq, rs, OPS_RESUME); }

/* A command that takes no body (or {}), as the route's answer. */
static int bodyless_command(const api_request *rq, api_response *rs, ops_command *c)
{
    ops_hub *h;
    cJSON *body = admin_begin(rq, rs, 1, (const char *const[]){NULL}, &h);
    if (body)
        admin_call(h, c, rs);
    ops_command_free(c);
    cJSON_Delete(body);
    return 0;
}

static int reload(const api_request *rq, api_response *rs)
{
    return bodyless_command(rq, rs, &(ops_command){.kind = OPS_RELOAD});
}

static int plugin_reload(const api_request *rq, api_response *rs)
{
    return bodyless_command(rq, rs,
                            &(ops_command){.kind = OPS_PLUGIN_RELOAD, .source = rq->n_path_args ? rq->path_args[0] : ""});
}

const api_route api_admin_routes[] = {
    {"GET", "/api/admin/scheduler/status", scheduler_status},
    {"POST", "/api/admin/scheduler/pause", pause},
    {"POST", "/api/admin/scheduler/resume", resume},
    {"GET", "/api/admin/scheduler/recommendations", recommendations},
    {"GET", "/api/admin/tokens", api_admin_tokens_list},
    {"POST", "/api/admin/tokens", api_admin_tokens_add},
    {"PUT", "/api/admin/tokens", api_admin_tokens_set_many},
    {"PUT", "/api/admin/tokens/{address}", api_admin_token_set},
    {"POST", "/api/admin/tokens/{address}/refresh", api_admin_token_refresh},
    {"GET", "/api/admin/plugins", plugins},
    {"POST", "/api/admin/reload", reload},
    {"POST", "/api/admin/plugins/{source}/reload", plugin_reload},
    {NULL, NULL, NULL},
};
