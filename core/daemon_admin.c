/* The admin API's commands, run on the daemon loop's thread (ops.h): pause
 * and resume, refresh now, reload the config (daemon_reload, as SIGHUP) or
 * one plugin, a token's settings, adding tokens, the token list. Each
 * answers with an HTTP status and a JSON body, and logs what it changed
 * ("admin" component). The request was already checked for form by the
 * handler (api_admin*.c); what needs the running state is checked here
 * (unknown source or token: 404; a state that conflicts: 409). Must not
 * parse requests nor render pages. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "daemon_internal.h"
#include "log.h"
#include "ops.h"
#include "ops_json.h"
#include "util.h"

static void answer(ops_command *c, int status, cJSON *body)
{
    c->status = status;
    c->body = ops_print(body);
}

static void refuse(ops_command *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void refuse(ops_command *c, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_response rs = {0};
    api_error(&rs, status, code, "%s", msg);
    c->status = rs.status;
    c->body = rs.body;
}

static void admin_log(const char *action, const char *what, const char *detail)
{
    log_field f[2] = {{"action", action, 0}, {"target", what ? what : "all", 0}};
    log_fields(TC_LOG_INFO, "admin", f, 2, "%s %s: %s", action, what ? what : "all sources", detail);
}

/* The live slot of source NAME, or SIZE_MAX. */
static size_t slot_named(const daemon_state *d, const char *name)
{
    for (size_t i = 0; i < engine_source_count(d->e); i++)
        if (engine_source_active(d->e, i) && !strcmp(engine_source_name(d->e, i), name))
            return i;
    return SIZE_MAX;
}

static int source_paused(const daemon_state *d, size_t i)
{
    engine_source_view v;
    engine_source_view_of(d->e, i, &v);
    return v.paused && !engine_held(d->e);
}

/* {"all": bool, "paused": [names]} after a pause or resume. */
static cJSON *pause_state(const daemon_state *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "all", d->paused_all);
    cJSON *names = cJSON_AddArrayToObject(o, "paused");
    for (size_t i = 0; i < engine_source_count(d->e); i++)
        if (engine_source_active(d->e, i) && (d->paused_all || source_paused(d, i)))
            cJSON_AddItemToArray(names, cJSON_CreateString(engine_source_name(d->e, i)));
    return o;
}

/* ---- pause, resume ------------------------------------------------------------ */

static void do_pause(daemon_state *d, ops_command *c, int pause)
{
    if (!c->source) {
        int any = d->paused_all;
        for (size_t i = 0; i < engine_source_count(d->e); i++)
            any |= engine_source_active(d->e, i) && source_paused(d, i);
        if (pause ? d->paused_all : !any) {
            refuse(c, 409, "conflict", pause ? "every source is paused already" : "nothing is paused");
            return;
        }
        d->paused_all = pause;
        engine_hold(d->e, pause);
        for (size_t i = 0; !pause && i < engine_source_count(d->e); i++)
            engine_source_pause(d->e, i, 0);
        admin_log(pause ? "pause" : "resume", NULL,
                  pause ? "no batch is taken and no request sent; what is queued waits"
                        : "every source sends again");
        answer(c, 200, pause_state(d));
        return;
    }
    size_t i = slot_named(d, c->source);
    if (i == SIZE_MAX) {
        refuse(c, 404, "unknown_source", "%s: no such source is running", c->source);
        return;
    }
    if (d->paused_all) {
        refuse(c, 409, "conflict",
               pause ? "every source is paused already"
                     : "every source is paused: resume them all (no \"source\") first");
        return;
    }
    if (source_paused(d, i) == pause) {
        refuse(c, 409, "conflict", "source %s is %s already", c->source, pause ? "paused" : "running");
        return;
    }
    engine_source_pause(d->e, i, pause);
    admin_log(pause ? "pause" : "resume", c->source,
              pause ? "sends nothing; its tokens stay owed and the other sources go on" : "sends again");
    answer(c, 200, pause_state(d));
}

/* ---- refresh now ---------------------------------------------------------------- */

static void do_refresh(daemon_state *d, ops_command *c)
{
    if (d->paused_all) {
        refuse(c, 409, "conflict", "every source is paused: resume first");
        return;
    }
    sched_item it;
    int64_t now = now_mono_ns();
    int rc = sched_take(d->sc, c->address, now, &it);
    if (rc < 0) { /* imported in the last seconds? */
        daemon_scan_tokens(d, d->last_new_scan_wall - 1);
        rc = sched_take(d->sc, c->address, now, &it);
    }
    if (rc < 0) {
        refuse(c, 404, "not_found", "%s: unknown token", c->address);
        return;
    }
    if (rc > 0) {
        refuse(c, 409, "conflict", "%s is being refreshed now", c->address);
        return;
    }
    char err[512] = "";
    size_t claimed = 0;
    if (engine_refresh_now(d->e, c->address, &claimed, err, sizeof err) != 0 || !claimed) {
        sched_done(d->sc, c->address, now, SCHED_RELEASED);
        if (claimed == 0 && !err[0])
            refuse(c, 409, "conflict", "%s is held by another collector", c->address);
        else {
            LOG_ERROR("store", "%s", err);
            refuse(c, 503, "store_unavailable", "the store did not answer; try again");
        }
        return;
    }
    cJSON *o = cJSON_CreateObject(), *asked = cJSON_AddArrayToObject(o, "sources"),
          *skipped = cJSON_AddArrayToObject(o, "skipped");
    cJSON_AddStringToObject(o, "address", c->address);
    cJSON_AddBoolToObject(o, "queued", 1);
    for (size_t i = 0; i < engine_source_count(d->e); i++)
        if (engine_source_active(d->e, i))
            cJSON_AddItemToArray(source_paused(d, i) ? skipped : asked,
                                 cJSON_CreateString(engine_source_name(d->e, i)));
    admin_log("refresh", c->address, "queued before every other token at each source");
    answer(c, 202, o);
}

/* ---- reloads -------------------------------------------------------------------- */

static void do_reload(daemon_state *d, ops_command *c)
{
    reload_result r = {0};
    daemon_reload(d, &r);
    if (r.applied) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "applied", 1);
        cJSON_AddStringToObject(o, "config", d->cfg->path);
        cJSON_AddNumberToObject(o, "changes", (double)r.n_changes);
        cJSON_AddItemToObject(o, "changed", ops_lines_array(r.changes.data));
        admin_log("reload", d->cfg->path, "applied");
        answer(c, 200, o);
    } else {
        c->status = 409;
        c->body = ops_error_lines("reload_refused", r.errors.data ? r.errors.data : "refused");
        admin_log("reload", d->cfg->path, "refused: still running the previous config");
    }
    sb_free(&r.changes);
    sb_free(&r.errors);
}

static void do_plugin_reload(daemon_state *d, ops_command *c)
{
    size_t i = slot_named(d, c->source);
    if (i == SIZE_MAX) {
        refuse(c, 404, "unknown_source", "%s: no such source is running", c->source);
        return;
    }
    engine_source_view v;
    engine_source_view_of(d->e, i, &v);
    char before[64], err[4096];
    snprintf(before, sizeof before, "%s", v.version);
    engine_reload *r = engine_reload_prepare_source(d->e, c->source, err, sizeof err);
    if (!r) {
        c->status = 409;
        c->body = ops_error_lines("reload_refused", err);
        admin_log("plugin reload", c->source, "refused: the running instance stays");
        return;
    }
    engine_reload_apply(d->e, r);
    daemon_refresh_rates(d);
    d->plugin_reloads++;
    engine_source_view_of(d->e, i, &v);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "applied", 1);
    cJSON_AddStringToObject(o, "source", c->source);
    cJSON_AddStringToObject(o, "plugin", v.plugin);
    cJSON_AddStringToObject(o, "version_before", before);
    cJSON_AddStringToObject(o, "version", v.version);
    cJSON_AddStringToObject(o, "file", v.file);
    cJSON_AddNumberToObject(o, "loaded_at", (double)v.loaded_at);
    char detail[256];
    snprintf(detail, sizeof detail, "new instance of %s %s -> %s (%s); requests in flight finish on the old one",
             v.plugin, before, v.version, v.file);
    admin_log("plugin reload", c->source, detail);
    answer(c, 200, o);
}

/* ---- tokens ----------------------------------------------------------------------- */

static cJSON *token_json(const daemon_state *d, const char *addr)
{
    sched_token t;
    if (sched_get(d->sc, addr, &t) != 0)
        return cJSON_CreateNull();
    return ops_token_json(addr, &t, now_mono_ns(), d->mono0, d->wall0);
}

/* "priority 12.5 -> 900, interval dynamic -> 42 s, in_contest 0 -> 1" */
static void describe_change(strbuf *b, const sched_token *t, const ops_token_setting *s)
{
    if (s->has_priority) {
        sb_printf(b, "priority %.4g%s -> ", t->score, t->pin_score == t->pin_score ? " (pinned)" : "");
        if (isnan(s->priority))
            sb_printf(b, "computed");
        else
            sb_printf(b, "%.4g (pinned)", s->priority);
    }
    if (s->has_interval) {
        sb_printf(b, "%sinterval ", b->len ? ", " : "");
        if (t->pin_interval_ns)
            sb_printf(b, "%.0f s (pinned)", (double)t->pin_interval_ns / 1e9);
        else
            sb_printf(b, "dynamic");
        if (s->interval_ns)
            sb_printf(b, " -> %.0f s (pinned)", (double)s->interval_ns / 1e9);
        else
            sb_printf(b, " -> dynamic");
    }
    if (s->has_contest)
        sb_printf(b, "%sin_contest %d -> %d", b->len ? ", " : "", t->in_contest, s->in_contest);
}

/* The contest flags go to the store first: if it fails, nothing changes. */
static int store_contest_flags(daemon_state *d, ops_command *c)
{
    for (int flag = 0; flag <= 1; flag++) {
        const char **addrs = xcalloc(c->n_settings ? c->n_settings : 1, sizeof *addrs);
        size_t n = 0, updated = 0;
        for (size_t i = 0; i < c->n_settings; i++)
            if (c->settings[i].has_contest && (c->settings[i].in_contest != 0) == flag)
                addrs[n++] = c->settings[i].address;
        char err[512];
        int rc = n ? store_set_contest(d->st, addrs, n, flag, &updated, err, sizeof err) : 0;
        free(addrs);
        if (rc != 0) {
            LOG_ERROR("store", "%s", err);
            refuse(c, 503, "store_unavailable", "the store did not answer; nothing was changed");
            return -1;
        }
    }
    return 0;
}

static void do_tokens_set(daemon_state *d, ops_command *c)
{
    sched_token t;
    for (size_t i = 0; i < c->n_settings; i++)
        if (sched_get(d->sc, c->settings[i].address, &t) != 0) {
            refuse(c, 404, "not_found", "%s: unknown token (nothing was changed)", c->settings[i].address);
            return;
        }
    if (store_contest_flags(d, c) != 0)
        return;
    cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "tokens");
    for (size_t i = 0; i < c->n_settings; i++) {
        const ops_token_setting *s = &c->settings[i];
        sched_get(d->sc, s->address, &t);
        strbuf what = {0};
        describe_change(&what, &t, s);
        if (s->has_priority)
            sched_set_priority(d->sc, s->address, s->priority);
        if (s->has_interval)
            sched_set_interval(d->sc, s->address, s->interval_ns);
        if (s->has_contest)
            sched_set_contest(d->sc, s->address, s->in_contest);
        admin_log("token settings", s->address, what.data ? what.data : "nothing");
        sb_free(&what);
        cJSON_AddItemToArray(list, token_json(d, s->address));
    }
    cJSON_AddNumberToObject(o, "updated", (double)c->n_settings);
    answer(c, 200, o);
}

static void do_tokens_add(daemon_state *d, ops_command *c)
{
    char err[512];
    size_t inserted = 0;
    if (store_import(d->st, c->addrs, c->n_addrs, &inserted, err, sizeof err) != 0) {
        LOG_ERROR("store", "%s", err);
        refuse(c, 503, "store_unavailable", "the store did not answer; nothing was added");
        return;
    }
    size_t scheduled = 0;
    int64_t now = now_mono_ns();
    sched_signals unknown = {0, 0, NAN, NAN};
    sched_token t;
    for (size_t i = 0; i < c->n_addrs; i++)
        if (sched_get(d->sc, c->addrs[i], &t) != 0)
            scheduled += sched_upsert(d->sc, c->addrs[i], &unknown, now) == 1;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "received", (double)c->n_addrs);
    cJSON_AddNumberToObject(o, "added", (double)inserted);
    cJSON_AddNumberToObject(o, "already_known", (double)(c->n_addrs - inserted));
    cJSON_AddNumberToObject(o, "scheduled", (double)scheduled);
    char detail[128];
    snprintf(detail, sizeof detail, "%zu addresses: %zu new, %zu already known", c->n_addrs, inserted,
             c->n_addrs - inserted);
    admin_log("add tokens", NULL, detail);
    answer(c, inserted ? 201 : 200, o);
}

typedef struct row_list {
    ops_token_row *rows;
    size_t n;
} row_list;

static void copy_row(void *ctx, const char *addr, const sched_token *t)
{
    row_list *l = ctx;
    ops_token_row *r = &l->rows[l->n++];
    snprintf(r->address, sizeof r->address, "%s", addr);
    r->t = *t;
}

static void do_tokens_list(daemon_state *d, ops_command *c)
{
    row_list l = {xcalloc(sched_size(d->sc) ? sched_size(d->sc) : 1, sizeof *l.rows), 0};
    sched_foreach(d->sc, copy_row, &l);
    c->rows = l.rows;
    c->n_rows = l.n;
    c->status = 200;
}

void daemon_admin_exec(void *ctx, ops_command *c)
{
    daemon_state *d = ctx;
    c->now_ns = now_mono_ns();
    c->mono0_ns = d->mono0;
    c->wall0_s = d->wall0;
    switch (c->kind) {
    case OPS_PAUSE: do_pause(d, c, 1); break;
    case OPS_RESUME: do_pause(d, c, 0); break;
    case OPS_REFRESH: do_refresh(d, c); break;
    case OPS_RELOAD: do_reload(d, c); break;
    case OPS_PLUGIN_RELOAD: do_plugin_reload(d, c); break;
    case OPS_TOKENS_SET: do_tokens_set(d, c); break;
    case OPS_TOKENS_ADD: do_tokens_add(d, c); break;
    case OPS_TOKENS_LIST: do_tokens_list(d, c); break;
    default: refuse(c, 400, "bad_request", "unknown command"); break;
    }
}
