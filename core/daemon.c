#include "daemon.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "api_server.h"
#include "api_admin.h"
#include "daemon_internal.h"
#include "log.h"
#include "notify.h"
#include "ops.h"
#include "util.h"

/* New tokens (import while running) are looked for this often; the full
 * rescan that refreshes every token's ranking signals runs each metrics
 * interval. */
#define NEW_TOKEN_SCAN_NS (2 * NS_PER_S)
#define FULL_SCAN_MIN_NS (60 * NS_PER_S)
/* Tokens handed to the engine wait in its per-source queues for the
 * limiters: keep about this much work queued, so a hot token that comes due
 * is not stuck behind minutes of colder ones. */
#define QUEUED_WORK_NS (3 * NS_PER_S)
/* A price moving by less than this (relative) is "unchanged". */
#define PRICE_EPSILON 1e-9

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* SIGHUP: the loop reloads at its next turn. A SIGHUP during a reload is
 * kept for the turn after it (never two at once); many in a row are one. */
static void on_reload_signal(int sig)
{
    (void)sig;
    reload_requested = 1;
}

static int64_t mono_of_wall(const daemon_state *d, int64_t wall_s)
{
    return d->mono0 + (wall_s - d->wall0) * NS_PER_S;
}

static int64_t wall_of_mono(const daemon_state *d, int64_t mono_ns)
{
    return d->wall0 + (mono_ns - d->mono0 + NS_PER_S - 1) / NS_PER_S;
}

/* ---- store scans -> scheduler ------------------------------------------------ */

static void collect_brief(void *ctx, const token_brief *t)
{
    daemon_state *d = ctx;
    if (d->n_briefs == d->cap_briefs) {
        d->cap_briefs = d->cap_briefs ? d->cap_briefs * 2 : 1024;
        d->briefs = xrealloc(d->briefs, d->cap_briefs * sizeof *d->briefs);
        d->brief_addrs = xrealloc(d->brief_addrs, d->cap_briefs * sizeof *d->brief_addrs);
    }
    d->briefs[d->n_briefs] = *t;
    d->brief_addrs[d->n_briefs] = xstrdup(t->address);
    d->briefs[d->n_briefs].address = d->brief_addrs[d->n_briefs];
    d->n_briefs++;
}

static int by_market_cap_desc(const void *a, const void *b)
{
    double x = (*(const token_brief *const *)a)->market_cap, y = (*(const token_brief *const *)b)->market_cap;
    if (isnan(x))
        return isnan(y) ? 0 : 1;
    if (isnan(y))
        return -1;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Reads tokens created since SINCE into the scheduler. A full scan (SINCE 0)
 * also ranks every token by market cap, the "rank" signal. */
int daemon_scan_tokens(daemon_state *d, int64_t since)
{
    char err[512];
    d->n_briefs = 0;
    if (store_scan(d->st, since, collect_brief, d, err, sizeof err) != 0) {
        LOG_ERROR("daemon", "%s", err);
        metrics_store_error(d->m, MS_SCAN);
        return -1;
    }
    long *rank = xcalloc(d->n_briefs ? d->n_briefs : 1, sizeof *rank);
    if (since == 0) {
        const token_brief **order = xmalloc((d->n_briefs ? d->n_briefs : 1) * sizeof *order);
        for (size_t i = 0; i < d->n_briefs; i++)
            order[i] = &d->briefs[i];
        qsort(order, d->n_briefs, sizeof *order, by_market_cap_desc);
        for (size_t i = 0; i < d->n_briefs && !isnan(order[i]->market_cap); i++)
            rank[order[i] - d->briefs] = (long)i + 1;
        free(order);
    }
    int64_t now = now_mono_ns();
    size_t added = 0;
    for (size_t i = 0; i < d->n_briefs; i++) {
        const token_brief *t = &d->briefs[i];
        sched_signals sig = {.rank = rank[i],
                             .in_contest = t->in_contest,
                             .volume_24h_usd = t->volume_24h,
                             .change_24h_pct = t->change_24h};
        int64_t due = t->status == STATUS_PENDING ? now : mono_of_wall(d, t->next_refresh_at);
        added += sched_upsert(d->sc, t->address, &sig, due) == 1;
        free(d->brief_addrs[i]);
    }
    free(rank);
    if (added)
        LOG_INFO("daemon", "%zu new tokens scheduled (%zu known)", added, sched_size(d->sc));
    return 0;
}

/* ---- engine hooks -------------------------------------------------------------- */

static int64_t on_next_refresh(void *ctx, const char *addr, token_status status, size_t answered,
                               double price_before, double price_after, int *interval_s, double *priority)
{
    daemon_state *d = ctx;
    int64_t now = now_mono_ns();
    sched_token before;
    if (sched_get(d->sc, addr, &before) != 0)
        return 0; /* not ours (cannot happen): the store keeps its interval */
    sched_outcome o;
    if (answered == 0 || status == STATUS_FAILED)
        o = SCHED_FAILED;
    else if (isnan(price_after))
        o = SCHED_NO_PRICE;
    else
        o = sched_price_changed(price_before, price_after, PRICE_EPSILON) ? SCHED_CHANGED : SCHED_UNCHANGED;
    if (o != SCHED_FAILED && before.last_done_ns != INT64_MIN) {
        tier_stats *ts = &d->tiers[before.tier];
        hist_add(&ts->gap, now - before.last_done_ns);
        cum_add(&ts->gap_cum, now - before.last_done_ns);
        ts->target_sum_ns += (double)before.effective_ns;
        ts->refreshes++;
    }
    sched_done(d->sc, addr, now, o);
    sched_token after;
    sched_get(d->sc, addr, &after);
    *interval_s = (int)((after.effective_ns + NS_PER_S - 1) / NS_PER_S);
    *priority = after.score;
    return wall_of_mono(d, after.due_ns);
}

static void on_not_refreshed(void *ctx, const char *addr)
{
    daemon_state *d = ctx;
    /* Held by another collector, or handed back at shutdown: try again after
     * its interval rather than at once. */
    sched_done(d->sc, addr, now_mono_ns(), SCHED_FAILED);
}

/* ---- capacity, metrics ----------------------------------------------------------- */

void daemon_refresh_rates(daemon_state *d)
{
    size_t n = engine_source_count(d->e);
    if (n != d->n_src) {
        d->rates = xrealloc(d->rates, (n ? n : 1) * sizeof *d->rates);
        d->n_src = n;
        d->bp.src = d->rates;
        d->bp.n_src = n;
    }
    for (size_t i = 0; i < d->n_src; i++) {
        d->rates[i].rate_per_s = engine_source_rate(d->e, i, d->cfg->sched.adaptive_rate);
        d->rates[i].chunk = engine_source_chunk_size(d->e, i);
    }
}

static void rebalance(daemon_state *d)
{
    daemon_refresh_rates(d);
    /* What the limits allow, unless explicit batch settings allow less. */
    double cap = sched_capacity(d->rates, d->n_src, config_global_rate(d->cfg));
    sched_rebalance(d->sc, fmin(cap, sched_pacing_capacity(&d->pacing)), &d->load);
}

/* Tokens the engine may hold: a few seconds of what the limits allow, at
 * least one batch, at most the engine's own window. */
static size_t work_window(const daemon_state *d, size_t max_batch)
{
    size_t cap = engine_window(d->e);
    double cap_tokens = d->load.capacity * (double)QUEUED_WORK_NS / 1e9;
    if (isfinite(cap_tokens) && cap_tokens > 0 && cap_tokens < (double)cap) {
        size_t batches = (size_t)ceil(cap_tokens / (double)max_batch);
        cap = (batches ? batches : 1) * max_batch;
    }
    return cap > max_batch ? cap : max_batch;
}

static void log_tiers(daemon_state *d)
{
    for (int t = 0; t < SCHED_TIERS; t++) {
        tier_stats *ts = &d->tiers[t];
        if (!ts->refreshes)
            continue;
        LOG_INFO("metrics", "[tier %s] refreshes=%llu interval achieved p50=%.1fs p95=%.1fs target=%.1fs",
                 sched_tier_name((sched_tier)t), (unsigned long long)ts->refreshes,
                 (double)hist_quantile_ns(&ts->gap, 0.5) / 1e9, (double)hist_quantile_ns(&ts->gap, 0.95) / 1e9,
                 ts->target_sum_ns / (double)ts->refreshes / 1e9);
    }
}

static void emit_metrics(daemon_state *d, int64_t now)
{
    sched_lag_stats lag;
    sched_lag(d->sc, now, &lag);
    metrics_gauges g = {.queue_depth = sched_size(d->sc),
                        .in_flight = sched_size(d->sc) - sched_queued(d->sc),
                        .due = lag.due,
                        .lag_max_ns = lag.max_ns,
                        .lag_p95_ns = lag.p95_ns,
                        .capacity = d->load.capacity,
                        .demand = d->load.demand_total};
    memcpy(g.stretch, d->load.stretch, sizeof g.stretch);
    metrics_set_gauges(d->m, &g);
    metrics_roll(d->m, now);
    notify_status("%s%zu tokens, %llu refreshed, %zu due", d->paused_all ? "paused: " : "", sched_size(d->sc),
                  (unsigned long long)engine_tokens_committed(d->e), g.due);
    char line[1024];
    for (size_t i = 0; i <= d->n_src; i++) {
        size_t scope = i < d->n_src ? i : METRICS_ALL;
        metrics_format_line(d->m, scope, line, sizeof line);
        LOG_INFO("metrics", "[%s] %s", metrics_scope_const(d->m, scope)->name, line);
    }
    log_tiers(d);
}

/* ---- the loop ------------------------------------------------------------------ */

static void install_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_reload_signal;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The batch size and gap: explicit ones as set, auto ones from the
 * configured limits (sched_pacing_derive). */
void daemon_size_batches(daemon_state *d)
{
    daemon_refresh_rates(d);
    size_t largest = 1;
    sched_source_rate *r = xmalloc((d->n_src ? d->n_src : 1) * sizeof *r);
    for (size_t i = 0; i < d->n_src; i++) {
        r[i] = d->rates[i];
        r[i].rate_per_s = engine_source_rate(d->e, i, 0); /* as configured: 429s must not shrink batches */
        if (engine_source_active(d->e, i) && r[i].chunk > largest)
            largest = r[i].chunk;
    }
    double cap = sched_capacity(r, d->n_src, config_global_rate(d->cfg));
    free(r);
    sched_pacing_derive(cap, largest, d->cfg->sched.max_batch_size, d->cfg->sched.batch_delay_ns, &d->pacing);
    if (d->pacing.derived)
        LOG_INFO("daemon", "batches: up to %zu tokens, at most one per %lld ms (%s; the limits allow %.1f tokens/s)",
                 d->pacing.max_batch, (long long)(d->pacing.delay_ns / NS_PER_MS),
                 d->cfg->sched.max_batch_size < 0 && d->cfg->sched.batch_delay_ns < 0 ? "auto" : "partly auto", cap);
    else if (sched_pacing_capacity(&d->pacing) < cap)
        LOG_WARN("daemon",
                 "max_batch_size %zu / batch_delay_ms %lld allow %.1f tokens/s, below the %.1f the limits allow: "
                 "they cap the daemon (auto derives both)",
                 d->pacing.max_batch, (long long)(d->pacing.delay_ns / NS_PER_MS),
                 sched_pacing_capacity(&d->pacing), cap);
    d->max_batch = d->pacing.max_batch;
    d->items = xrealloc(d->items, d->max_batch * sizeof *d->items);
    d->addrs = xrealloc(d->addrs, d->max_batch * sizeof *d->addrs);
    d->bp = (sched_batch_params){.max_batch = d->max_batch,
                                 .horizon_ns = d->sp.min_interval_ns / 3,
                                 .src = d->rates,
                                 .n_src = d->n_src};
}

/* Metrics and the overload plan every metrics_interval (the plan at least
 * every FULL_SCAN_MIN_NS when the lines are off). */
static int64_t metrics_period(const daemon_state *d)
{
    return d->cfg->sched.metrics_interval_ns > 0 ? d->cfg->sched.metrics_interval_ns : FULL_SCAN_MIN_NS;
}

static int64_t full_scan_period(const daemon_state *d)
{
    return d->cfg->sched.metrics_interval_ns > FULL_SCAN_MIN_NS ? d->cfg->sched.metrics_interval_ns
                                                                : FULL_SCAN_MIN_NS;
}

/* Takes due tokens from the scheduler into the engine while its window
 * has room; returns when the next batch may be formed. */
static int64_t submit_batches(daemon_state *d, int64_t now, int64_t next_batch)
{
    char err[1024];
    while (!d->paused_all && now >= next_batch &&
           engine_tokens_open(d->e) + d->max_batch <= work_window(d, d->max_batch)) {
        size_t n = sched_next_batch(d->sc, now, &d->bp, d->items);
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            d->addrs[i] = d->items[i].address;
            metrics_lag(d->m, d->items[i].lag_ns);
        }
        /* Tokens another collector refreshed since we scheduled them
         * are due later in the store than anything we may take now. */
        int64_t due_before = now_wall_s() + (d->bp.horizon_ns + NS_PER_S - 1) / NS_PER_S + 1;
        size_t claimed = 0;
        if (engine_submit(d->e, d->addrs, n, due_before, &claimed, err, sizeof err) != 0) {
            LOG_ERROR("store", "%s (retrying those tokens after their interval)", err);
            for (size_t i = 0; i < n; i++)
                sched_done(d->sc, d->addrs[i], now, SCHED_FAILED);
        }
        next_batch = now + d->pacing.delay_ns;
    }
    return next_batch;
}

int daemon_run(const config *cfg) { return daemon_run_opts(cfg, NULL); }

int daemon_run_opts(const config *cfg, const daemon_opts *opts)
{
    char err[1024];
    daemon_state d = {.cfg = cfg, .keep_log_level = opts && opts->keep_log_level};
    stop_requested = reload_requested = 0; /* a second run in one process (tests) starts clean */
    /* The admin API's token (TC_ADMIN_TOKEN; [api] admin_token_file with
     * the HTTP server): without one the admin routes are off. */
    if (api_admin_configure(cfg->api.admin_token_file, err, sizeof err) != 0) {
        LOG_ERROR("api", "%s", err);
        return 2;
    }
    d.st = store_open(cfg->store, err, sizeof err);
    if (!d.st) {
        LOG_ERROR("daemon", "%s", err);
        return 1;
    }
    d.e = engine_new(cfg, d.st, err, sizeof err);
    if (!d.e) {
        fprintf(stderr, "%s\n", err);
        store_close(d.st);
        return 2;
    }
    scheduler_config_params(&cfg->sched, &d.sp);
    d.sc = sched_new(&d.sp);
    d.n_src = engine_source_count(d.e);
    d.rates = xcalloc(d.n_src ? d.n_src : 1, sizeof *d.rates);
    const char **names = xcalloc(d.n_src ? d.n_src : 1, sizeof *names);
    for (size_t i = 0; i < d.n_src; i++)
        names[i] = engine_source_name(d.e, i);
    d.mono0 = now_mono_ns();
    d.wall0 = now_wall_s();
    d.m = metrics_new(names, d.n_src, d.mono0);
    free(names);
    for (int t = 0; t < SCHED_TIERS; t++)
        hist_reset(&d.tiers[t].gap);
    engine_hooks hooks = {.ctx = &d, .next_refresh = on_next_refresh, .not_refreshed = on_not_refreshed};
    engine_set_daemon(d.e, &hooks);
    engine_set_metrics(d.e, d.m);
    install_signals();
    daemon_ops_start(&d);
    /* The HTTP API: its own threads and store connections, started once
     * the store's schema is current (store_open migrated it) and the
     * operations hub it reads exists. */
    int rc = 0;
    api_server *api = NULL;
    if (cfg->api.listen && !(api = api_server_start(cfg, err, sizeof err))) {
        LOG_ERROR("api", "%s", err);
        rc = 1;
    }
    d.last_new_scan_wall = now_wall_s();
    if (daemon_scan_tokens(&d, 0) != 0)
        rc = 1;
    daemon_size_batches(&d);
    rebalance(&d);
    LOG_INFO("daemon", "started: %zu tokens, %zu sources, capacity %.1f tokens/s, demand %.1f tokens/s",
             sched_size(d.sc), d.n_src, d.load.capacity, d.load.demand_total);
    /* The store is open and migrated, every plugin loaded: systemd may
     * start what comes after us. */
    char ready[160];
    snprintf(ready, sizeof ready, "running: %zu tokens, %zu sources", sched_size(d.sc), d.n_src);
    notify_ready(ready);

    int64_t now = now_mono_ns();
    int64_t next_metrics = now + metrics_period(&d);
    int64_t next_full_scan = now + full_scan_period(&d);
    int64_t next_new_scan = now + NEW_TOKEN_SCAN_NS;
    int64_t next_batch = now;

    while (!stop_requested && rc == 0) {
        if (reload_requested) {
            reload_requested = 0;
            daemon_reload(&d, NULL);
        }
        now = now_mono_ns();
        daemon_ops_turn(&d, now);
        notify_watchdog(now);
        if (now >= next_metrics) {
            rebalance(&d);
            if (d.cfg->sched.metrics_interval_ns > 0)
                emit_metrics(&d, now);
            next_metrics = now + metrics_period(&d);
        }
        if (now >= next_full_scan) {
            d.last_new_scan_wall = now_wall_s();
            daemon_scan_tokens(&d, 0);
            next_full_scan = now + full_scan_period(&d);
        } else if (now >= next_new_scan) {
            /* created_at has one-second resolution: look one second back. */
            int64_t since = d.last_new_scan_wall - 1;
            d.last_new_scan_wall = now_wall_s();
            daemon_scan_tokens(&d, since);
            next_new_scan = now + NEW_TOKEN_SCAN_NS;
        }
        next_batch = submit_batches(&d, now, next_batch);
        int64_t wake = sched_next_due(d.sc);
        if (next_batch > wake)
            wake = next_batch;
        int timeout_ms = 200;
        if (wake != INT64_MAX && wake > now && (wake - now) / NS_PER_MS < timeout_ms)
            timeout_ms = (int)((wake - now) / NS_PER_MS);
        if (wake != INT64_MAX && wake <= now)
            timeout_ms = 0;
        engine_step(d.e, timeout_ms > 0 ? timeout_ms : 1);
    }

    /* Shutdown: no new requests; in-flight ones may finish within the grace
     * period; batches still unfinished go back to the store unchanged. */
    notify_stopping();
    LOG_INFO("daemon", "stopping: %zu tokens in flight, %zu requests on the wire (grace %ld s)",
             engine_tokens_open(d.e), engine_requests_in_flight(d.e), d.cfg->shutdown_grace_s);
    engine_request_stop(d.e);
    int64_t deadline = now_mono_ns() + d.cfg->shutdown_grace_s * NS_PER_S;
    while (engine_requests_in_flight(d.e) > 0 && now_mono_ns() < deadline)
        engine_step(d.e, 100);
    size_t unfinished = engine_tokens_open(d.e);
    engine_release_open(d.e);
    if (unfinished)
        LOG_INFO("daemon", "%zu tokens of unfinished batches given back to the store unchanged", unfinished);
    emit_metrics(&d, now_mono_ns());
    api_server_stop(api);
    daemon_ops_stop(&d);
    LOG_INFO("daemon", "stopped: %llu tokens refreshed", (unsigned long long)engine_tokens_committed(d.e));
    if (engine_commit_failures(d.e))
        rc = 1;

    if (opts && opts->report)
        *opts->report = (daemon_report){d.reloads_ok, d.reloads_failed};
    if (d.reloads_ok || d.reloads_failed)
        LOG_INFO("daemon", "reloads: %llu applied, %llu refused", (unsigned long long)d.reloads_ok,
                 (unsigned long long)d.reloads_failed);
    free(d.items);
    free(d.addrs);
    free(d.briefs);
    free(d.brief_addrs);
    free(d.rates);
    metrics_free(d.m);
    sched_free(d.sc);
    engine_free(d.e);
    store_close(d.st);
    if (d.owned) {
        config_free(d.owned);
        free(d.owned);
    }
    return rc;
}
