/* The daemon loop's side of the operations API (ops.h): its hub, the admin
 * commands run at each turn (daemon_admin.c executes them), and the
 * snapshot the HTTP threads render /metrics, the status page and the admin
 * status from: built here, on the loop's thread, every OPS_PUBLISH_NS, from
 * the metrics, the engine's sources and one pass over the scheduler's
 * tokens each second. Must not render anything (api_ops*.c) nor change the
 * engine or the scheduler (commands do that, in daemon_admin.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_internal.h"
#include "log.h"
#include "ops.h"
#include "util.h"

/* The pass over every token (price ages, tiers, lag) runs this often. */
#define SCAN_STATS_NS (1000 * 1000000LL)

typedef struct daemon_scan_stats {
    ops_tier tier[SCHED_TIERS];
    size_t due;
    int64_t overdue_max_ns, overdue_p95_ns;
} daemon_scan_stats;

void daemon_ops_start(daemon_state *d)
{
    d->hub = ops_hub_new();
    d->scan_stats = xcalloc(1, sizeof *d->scan_stats);
    ops_attach(d->hub);
}

void daemon_ops_stop(daemon_state *d)
{
    ops_attach(NULL);
    ops_hub_free(d->hub);
    d->hub = NULL;
    free(d->scan_stats);
    d->scan_stats = NULL;
    free(d->rate_req);
    d->rate_req = NULL;
}

/* ---- the pass over the tokens ------------------------------------------------ */

typedef struct tier_pass {
    int64_t now;
    metrics_hist age[SCHED_TIERS];
    double target_sum[SCHED_TIERS];
    daemon_scan_stats *out;
} tier_pass;

static void visit_token(void *ctx, const char *addr, const sched_token *t)
{
    (void)addr;
    tier_pass *p = ctx;
    ops_tier *ot = &p->out->tier[t->tier];
    ot->tokens++;
    ot->queued += t->queued != 0;
    p->target_sum[t->tier] += (double)t->effective_ns;
    if (t->last_ok_ns != INT64_MIN) {
        ot->refreshed++;
        hist_add(&p->age[t->tier], p->now - t->last_ok_ns);
    }
}

static void scan_stats(daemon_state *d, int64_t now)
{
    daemon_scan_stats *st = d->scan_stats;
    memset(st, 0, sizeof *st);
    tier_pass *p = xcalloc(1, sizeof *p);
    p->now = now;
    p->out = st;
    sched_foreach(d->sc, visit_token, p);
    sched_advice adv;
    sched_recommend(d->sc, d->load.capacity, &adv);
    for (int t = 0; t < SCHED_TIERS; t++) {
        ops_tier *ot = &st->tier[t];
        ot->target_s = ot->tokens ? p->target_sum[t] / (double)ot->tokens / 1e9 : 0;
        ot->age_p50_s = (double)hist_quantile_ns(&p->age[t], 0.50) / 1e9;
        ot->age_p95_s = (double)hist_quantile_ns(&p->age[t], 0.95) / 1e9;
        ot->age_max_s = p->age[t].n ? (double)p->age[t].max_us / 1e6 : 0;
        ot->base_s = adv.base_s[t];
        ot->sustainable_s = adv.sustainable_s[t];
    }
    free(p);
    sched_lag_stats lag;
    sched_lag(d->sc, now, &lag);
    st->due = lag.due;
    st->overdue_max_ns = lag.max_ns;
    st->overdue_p95_ns = lag.p95_ns;
}

/* ---- the snapshot ------------------------------------------------------------ */

static void copy_text(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%.*s", (int)len - 1, src ? src : "");
}

static void fill_sources(daemon_state *d, ops_snapshot *s)
{
    s->n_src = engine_source_count(d->e);
    s->src = xcalloc(s->n_src ? s->n_src : 1, sizeof *s->src);
    for (size_t i = 0; i < s->n_src; i++) {
        engine_source_view v;
        engine_source_view_of(d->e, i, &v);
        ops_source *o = &s->src[i];
        copy_text(o->name, sizeof o->name, v.name);
        copy_text(o->plugin, sizeof o->plugin, v.plugin);
        copy_text(o->version, sizeof o->version, v.version);
        copy_text(o->limiter, sizeof o->limiter, v.limiter);
        copy_text(o->file, sizeof o->file, v.file);
        o->abi_major = v.abi_major;
        o->abi_minor = v.abi_minor;
        o->loaded_at = v.loaded_at;
        o->active = v.active;
        o->paused = v.paused;
        o->breaker = v.breaker;
        o->rate_now = v.rate_now;
        o->rate_max = v.rate_max;
        o->chunk = v.chunk;
        o->concurrency = v.concurrency;
        o->inflight_limit = v.inflight_limit;
        o->latency_p90_s = v.latency_p90_s;
        o->in_flight = v.in_flight;
        o->queued = v.queued;
        o->retry_waiting = v.retry_waiting;
        o->stats = v.stats;
    }
}

/* Committed tokens and each source's requests per second, over the
 * samples kept (about 10 s of publishes). */
static void sample_rates(daemon_state *d, ops_snapshot *s, int64_t now)
{
    size_t cap = sizeof d->rate_t / sizeof *d->rate_t;
    if (s->n_src > d->rate_slots) { /* a reload added slots: they start at 0 requests */
        d->rate_req = xrealloc(d->rate_req, s->n_src * sizeof *d->rate_req);
        memset(d->rate_req + d->rate_slots, 0, (s->n_src - d->rate_slots) * sizeof *d->rate_req);
        d->rate_slots = s->n_src;
    }
    size_t at = d->rate_i, oldest = d->rate_n < cap ? 0 : (at + 1) % cap;
    d->rate_t[at] = now;
    d->rate_c[at] = engine_tokens_committed(d->e);
    for (size_t k = 0; k < s->n_src; k++)
        d->rate_req[k][at] = s->src[k].stats.requests;
    d->rate_i = (at + 1) % cap;
    if (d->rate_n < cap)
        d->rate_n++;
    double secs = (double)(d->rate_t[at] - d->rate_t[oldest]) / 1e9;
    if (secs <= 0)
        return;
    s->tokens_per_s = (double)(d->rate_c[at] - d->rate_c[oldest]) / secs;
    for (size_t k = 0; k < s->n_src; k++)
        s->src[k].requests_per_s = (double)(d->rate_req[k][at] - d->rate_req[k][oldest]) / secs;
}

static void fill_scheduler(daemon_state *d, ops_snapshot *s)
{
    const daemon_scan_stats *st = d->scan_stats;
    memcpy(s->tier, st->tier, sizeof s->tier);
    size_t refreshed = 0;
    for (int t = 0; t < SCHED_TIERS; t++) {
        ops_tier *ot = &s->tier[t];
        const tier_stats *ts = &d->tiers[t];
        ot->demand = d->load.demand[t];
        ot->planned = d->load.planned[t];
        ot->stretch = d->load.stretch[t] > 0 ? d->load.stretch[t] : 1;
        ot->refreshes = ts->refreshes;
        ot->achieved_p50_s = (double)hist_quantile_ns(&ts->gap, 0.50) / 1e9;
        ot->achieved_p95_s = (double)hist_quantile_ns(&ts->gap, 0.95) / 1e9;
        ot->target_mean_s = ts->refreshes ? ts->target_sum_ns / (double)ts->refreshes / 1e9 : 0;
        ot->achieved = ts->gap_cum;
        refreshed += ot->refreshed;
    }
    s->tokens = sched_size(d->sc);
    s->queued = sched_queued(d->sc);
    s->in_flight_tokens = s->tokens - s->queued;
    s->due = st->due;
    s->overdue_max_ns = st->overdue_max_ns;
    s->capacity = d->load.capacity;
    s->demand = d->load.demand_total;
    s->planned = d->load.planned_total;
    s->overloaded = d->load.overloaded;
    sched_advice adv;
    sched_recommend(d->sc, d->load.capacity, &adv);
    s->load_factor = adv.load_factor;
    s->uniform_s = adv.uniform_s;
    size_t left = s->tokens > refreshed ? s->tokens - refreshed : 0;
    s->eta_s = left == 0 ? 0 : s->tokens_per_s > 0 ? (int64_t)ceil((double)left / s->tokens_per_s) : -1;
}

static void publish(daemon_state *d, int64_t now)
{
    if (now >= d->next_scan_stats_ns) {
        scan_stats(d, now);
        d->next_scan_stats_ns = now + SCAN_STATS_NS;
    }
    /* The metrics' scheduler gauges, as the log line will show them. */
    const daemon_scan_stats *st = d->scan_stats;
    metrics_gauges g = {.queue_depth = sched_size(d->sc),
                        .in_flight = sched_size(d->sc) - sched_queued(d->sc),
                        .due = st->due,
                        .lag_max_ns = st->overdue_max_ns,
                        .lag_p95_ns = st->overdue_p95_ns,
                        .capacity = d->load.capacity,
                        .demand = d->load.demand_total};
    memcpy(g.stretch, d->load.stretch, sizeof g.stretch);
    metrics_set_gauges(d->m, &g);

    ops_snapshot s = {0};
    s.taken_ms = now_wall_ms();
    s.started_s = d->wall0;
    metrics_copy(&s.m, d->m);
    fill_sources(d, &s);
    sample_rates(d, &s, now);
    fill_scheduler(d, &s);
    s.committed = engine_tokens_committed(d->e);
    s.commit_failures = engine_commit_failures(d->e);
    s.reloads_ok = d->reloads_ok;
    s.reloads_failed = d->reloads_failed;
    s.plugin_reloads = d->plugin_reloads;
    s.paused_all = d->paused_all;
    copy_text(s.config_path, sizeof s.config_path, d->cfg->path);
    ops_publish(d->hub, &s);
}

void daemon_ops_turn(daemon_state *d, int64_t now)
{
    /* After a command, at once: what it changed shows in the next read. */
    size_t ran = ops_drain(d->hub, daemon_admin_exec, d);
    if (ran)
        d->next_scan_stats_ns = 0;
    if (ran || now >= d->next_publish_ns) {
        publish(d, now);
        d->next_publish_ns = now + OPS_PUBLISH_NS;
        log_flush_repeats();
    }
}
