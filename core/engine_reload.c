/* A live reload of the engine, in two steps so nothing changes unless the
 * whole new config is good: prepare() creates a plugin instance for every
 * source that is new or changed (a key of its section, or a new build of
 * its plugin file) and fails, with every error, before anything is
 * touched; apply() then swaps them in. Unchanged sources keep their
 * instance, limiter, breaker and requests in flight; limiters change in
 * place; a removed source drains. Must not read files or the store, nor
 * decide which keys need a restart (the daemon's reload does). */
#include <stdlib.h>
#include <string.h>

#include "cluster_limiter.h"
#include "engine_pipeline.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

struct engine_reload {
    const config *next;
    source_instance **staged; /* [next->n_sources]: a new instance, or NULL to keep the slot's */
    const char **why;         /* [next->n_sources]: why it was staged (static text) */
};

/* The live (not retired) slot running source NAME, or NULL. */
static source_rt *live_slot(const engine *e, const char *name)
{
    for (size_t i = 0; i < e->n_src; i++)
        if (!e->src[i]->retired && !strcmp(e->src_names[i], name))
            return e->src[i];
    return NULL;
}

/* Why the running slot S cannot simply keep its instance under NS (NULL:
 * it can). */
static const char *needs_instance(const engine *e, const config *next, source_rt *s, const cfg_source *ns)
{
    if (!s)
        return "added";
    if (config_diff_source(s->inst->cfg, ns, NULL, NULL) > 0)
        return "its settings changed";
    char *path = registry_resolve_path(next->plugin_dir, ns->plugin);
    int moved = strcmp(path, s->inst->path) != 0;
    free(path);
    if (moved)
        return "its plugin path changed";
    (void)e;
    return registry_build_changed(s->inst) ? "a new build of its plugin was installed" : NULL;
}

static void append_error(strbuf *errs, const char *msg)
{
    sb_printf(errs, "%s%s", errs->len ? "\n" : "", msg);
}

/* FORCE (NULL: none) names a source that gets a new instance even when
 * nothing of it changed (a plugin reload asked by an operator). */
static engine_reload *prepare(engine *e, const config *next, const char *force, char *err, size_t errlen)
{
    engine_reload *r = xcalloc(1, sizeof *r);
    r->next = next;
    r->staged = xcalloc(next->n_sources ? next->n_sources : 1, sizeof *r->staged);
    r->why = xcalloc(next->n_sources ? next->n_sources : 1, sizeof *r->why);
    strbuf errs = {0};
    for (size_t i = 0; i < next->n_sources; i++) {
        const cfg_source *ns = &next->sources[i];
        if (force && strcmp(ns->name, force) != 0)
            continue; /* a plugin reload touches that source only */
        if (!ns->enabled || !(r->why[i] = needs_instance(e, next, live_slot(e, ns->name), ns))) {
            if (!force || !ns->enabled)
                continue;
            r->why[i] = "an operator asked for it";
        }
        char one[1024];
        r->staged[i] = registry_open(next->path, next->plugin_dir, ns, one, sizeof one);
        if (!r->staged[i])
            append_error(&errs, one);
    }
    if (errs.len) {
        snprintf(err, errlen, "%s", errs.data);
        sb_free(&errs);
        engine_reload_discard(r);
        return NULL;
    }
    return r;
}

engine_reload *engine_reload_prepare(engine *e, const config *next, char *err, size_t errlen)
{
    return prepare(e, next, NULL, err, errlen);
}

engine_reload *engine_reload_prepare_source(engine *e, const char *name, char *err, size_t errlen)
{
    return prepare(e, e->cfg, name, err, errlen);
}

void engine_reload_discard(engine_reload *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->next->n_sources; i++)
        source_unref(r->staged[i]);
    free(r->staged);
    free(r->why);
    free(r);
}

/* Rates and bursts change in place (the schedule is kept: no burst after a
 * reload); a new limiter starts; a removed one stays until the engine ends,
 * since a draining source's answer may still pause it. */
static void apply_limiters(engine *e, const config *next, int64_t now)
{
    for (size_t i = 0; i < next->n_limiters; i++) {
        const cfg_limiter *cl = &next->limiters[i];
        limiter *l = engine_limiter_named(e, cl->name);
        if (!l) {
            engine_add_limiter(e, cl, now);
            LOG_INFO("reload", "limiter %s added: %.4g requests/s, burst %.4g", cl->name, cl->rate_per_s, cl->burst);
        } else if (l->max_rate != cl->rate_per_s || l->burst != cl->burst || l->adaptive != cl->adaptive ||
                   l->cluster) {
            if (l->max_rate != cl->rate_per_s || l->burst != cl->burst)
                LOG_INFO("reload", "limiter %s: %.4g -> %.4g requests/s, burst %.4g -> %.4g (in place)", cl->name,
                         l->max_rate, cl->rate_per_s, l->burst, cl->burst);
            limiter_reconfigure(l, cl->rate_per_s, cl->burst, cl->adaptive, now);
            if (l->cluster) /* scope itself needs a restart (CFG_RESTART) */
                cluster_limiter_reconfigure(l->cluster, cl->rate_per_s, cl->burst, cl->adaptive, cl->cluster_ahead_ns);
        }
    }
}

/* Running slots whose source is gone (or disabled) stop sending. */
static void retire_removed(engine *e, const config *next)
{
    for (size_t i = 0; i < e->n_src; i++) {
        source_rt *s = e->src[i];
        const cfg_source *ns = config_find_source(next, e->src_names[i]);
        if (s->retired || (ns && ns->enabled))
            continue;
        LOG_INFO("reload", "source %s removed: nothing more is sent, %d request(s) in flight finish", e->src_names[i],
                 s->in_flight);
        source_rt_retire(&e->env, s);
    }
}

static void log_new_instance(const char *name, const source_instance *old, const source_instance *inst,
                             const char *why)
{
    LOG_INFO("reload", "source %s: new instance, plugin %s %s -> %s %s (%s); chunks in flight finish with the old one",
             name, old->vt->name, old->vt->version ? old->vt->version : "?", inst->vt->name,
             inst->vt->version ? inst->vt->version : "?", why);
}

void engine_reload_apply(engine *e, engine_reload *r)
{
    const config *next = r->next;
    int64_t now = now_mono_ns();
    apply_limiters(e, next, now);
    e->cfg = next;
    engine_set_global_limiter(e, now);
    http_engine_set_connect_timeout(e->env.http, next->connect_timeout_ms);
    retire_removed(e, next);
    for (size_t i = 0; i < next->n_sources; i++) {
        const cfg_source *ns = &next->sources[i];
        source_rt *s = ns->enabled ? live_slot(e, ns->name) : NULL;
        limiter *lim = engine_limiter_named(e, ns->limiter);
        if (s && r->staged[i])
            log_new_instance(ns->name, s->inst, r->staged[i], r->why[i]);
        if (s)
            source_rt_update(s, r->staged[i], ns, lim);
        else if (r->staged[i]) {
            engine_add_source(e, r->staged[i], ns);
            if (e->env.m)
                metrics_add_source(e->env.m, ns->name);
            LOG_INFO("reload", "source %s added: plugin %s %s; tokens are asked of it from their next refresh",
                     ns->name, r->staged[i]->vt->name, r->staged[i]->vt->version ? r->staged[i]->vt->version : "?");
        }
        r->staged[i] = NULL; /* taken over */
    }
    engine_refresh_active(e);
    engine_size_window(e);
    engine_reload_discard(r);
}
