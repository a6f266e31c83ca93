/* SIGHUP: the config file read again and applied live, or not at all. The
 * whole new file is parsed and checked, and every new or changed plugin
 * instance created (engine_reload_prepare), before anything changes; any
 * error is logged as FILE:LINE and the running config stays untouched.
 * Keys that cannot change live (CFG_RESTART in the config map, e.g. the
 * store) refuse the reload with a message saying a restart is needed.
 * Must not send requests or touch the store: the engine and the loop do. */
#include <stdlib.h>
#include <string.h>

#include "daemon_internal.h"
#include "log.h"
#include "util.h"

typedef struct change_log {
    strbuf restart; /* the keys that need a restart, as "[section] key" */
    strbuf lines;   /* one line per change, logged once the reload applied */
    size_t n;
} change_log;

static void note_change(void *ctx, const cfg_diff_entry *d)
{
    change_log *c = ctx;
    static const char *const what[] = {"changed", "added", "removed"};
    c->n++;
    if (d->restart)
        sb_printf(&c->restart, "%s[%s] %s", c->restart.len ? ", " : "", d->section, d->key);
    else if (d->key)
        sb_printf(&c->lines, "[%s] %s: %s -> %s\n", d->section, d->key, d->old_value ? d->old_value : "(unset)",
                  d->new_value ? d->new_value : "(unset)");
    else
        sb_printf(&c->lines, "[%s] %s\n", d->section, what[d->change]);
}

static void log_lines(const char *text)
{
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        LOG_INFO("reload", "%.*s", (int)n, p);
        p += n + (nl != NULL);
    }
}

static void refuse(daemon_state *d, const char *why, reload_result *r)
{
    d->reloads_failed++;
    if (r)
        sb_printf(&r->errors, "%s", why);
    /* Every line of WHY is one error, already "FILE:LINE: ...". */
    const char *p = why;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        LOG_ERROR("reload", "%.*s", (int)n, p);
        p += n + (nl != NULL);
    }
    LOG_ERROR("reload", "reload refused: still running the previous config (%llu reloads refused, %llu applied)",
              (unsigned long long)d->reloads_failed, (unsigned long long)d->reloads_ok);
}

/* The parts of the loop that read the config at start: the scheduler's
 * parameters, the batch buffers, the log level. */
static void apply_to_loop(daemon_state *d)
{
    scheduler_config_params(&d->cfg->sched, &d->sp);
    sched_set_params(d->sc, &d->sp);
    daemon_size_batches(d);
    daemon_refresh_rates(d);
    if (!d->keep_log_level)
        log_set_level((tc_log_level)d->cfg->log_level);
    if (d->cfg->log_format)
        log_set_format((log_format)log_format_parse(d->cfg->log_format));
}

void daemon_reload(daemon_state *d, reload_result *rr)
{
    LOG_INFO("reload", "%s: reading %s", rr ? "admin API" : "SIGHUP", d->cfg->path);
    config *next = xcalloc(1, sizeof *next);
    char err[8192];
    if (config_load(d->cfg->path, next, err, sizeof err) != 0) {
        free(next);
        refuse(d, err, rr);
        return;
    }
    change_log changes = {0};
    config_diff(d->cfg, next, note_change, &changes);
    engine_reload *r = NULL;
    if (changes.restart.len)
        snprintf(err, sizeof err, "%s: %s cannot change while running: restart tokencollector to apply it",
                 next->path, changes.restart.data);
    else
        r = engine_reload_prepare(d->e, next, err, sizeof err);
    sb_free(&changes.restart);
    if (!r) {
        sb_free(&changes.lines);
        config_free(next);
        free(next);
        refuse(d, err, rr);
        return;
    }
    log_lines(changes.lines.data);
    if (rr) {
        sb_printf(&rr->changes, "%s", changes.lines.data ? changes.lines.data : "");
        rr->n_changes = changes.n;
        rr->applied = 1;
    }
    sb_free(&changes.lines);
    engine_reload_apply(d->e, r);
    config *old = d->owned;
    d->cfg = d->owned = next;
    if (old) {
        config_free(old);
        free(old);
    }
    apply_to_loop(d);
    d->reloads_ok++;
    LOG_INFO("reload", "%s applied: %zu change(s); %llu reloads applied, %llu refused", d->cfg->path, changes.n,
             (unsigned long long)d->reloads_ok, (unsigned long long)d->reloads_failed);
}
