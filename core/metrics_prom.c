/* The Prometheus text format of a snapshot (metrics_prom.h): one family per
 * name (HELP, TYPE, samples), histograms from the cumulative histograms of
 * metrics.h. Must not compute anything the log line does not also show
 * from the same counters: it only formats. */
#include "metrics_prom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "log.h"
#include "util.h"
#include "version.h"

#define P "tokencollector_"

typedef struct out {
    strbuf b;
} out;

static void family(out *o, const char *name, const char *type, const char *help)
{
    sb_printf(&o->b, "# HELP " P "%s %s\n# TYPE " P "%s %s\n", name, help, name, type);
}

static void value(out *o, double v)
{
    if (isnan(v))
        sb_printf(&o->b, " NaN\n");
    else if (isinf(v))
        sb_printf(&o->b, " %s\n", v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        sb_printf(&o->b, " %.0f\n", v);
    else
        sb_printf(&o->b, " %.9g\n", v);
}

static void label_value(out *o, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            sb_printf(&o->b, "\\%c", *p);
        else if (*p == '\n')
            sb_printf(&o->b, "\\n");
        else
            sb_printf(&o->b, "%c", *p);
    }
}

/* NAME{k1="v1",k2="v2"} V: LABELS is "k1", "v1", ..., NULL. */
static void sample(out *o, const char *name, double v, const char *const *labels)
{
    sb_printf(&o->b, P "%s", name);
    if (labels && labels[0]) {
        sb_printf(&o->b, "{");
        for (size_t i = 0; labels[i]; i += 2) {
            sb_printf(&o->b, "%s%s=\"", i ? "," : "", labels[i]);
            label_value(o, labels[i + 1]);
            sb_printf(&o->b, "\"");
        }
        sb_printf(&o->b, "}");
    }
    value(o, v);
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static void histogram(out *o, const char *name, const metrics_cum *h, const char *key, const char *val)
{
    char bucket[96], le[32];
    snprintf(bucket, sizeof bucket, "%s_bucket", name);
    uint64_t cum = 0;
    for (int b = 0; b <= METRICS_BOUNDS; b++) {
        cum += h->bucket[b];
        if (b < METRICS_BOUNDS)
            snprintf(le, sizeof le, "%g", metrics_bounds_s[b]);
        else
            snprintf(le, sizeof le, "+Inf");
        if (key)
            sample(o, bucket, (double)cum, L(key, val, "le", le));
        else
            sample(o, bucket, (double)cum, L("le", le));
    }
    char sum[96], count[96];
    snprintf(sum, sizeof sum, "%s_sum", name);
    snprintf(count, sizeof count, "%s_count", name);
    sample(o, sum, h->sum_s, key ? L(key, val) : NULL);
    sample(o, count, (double)h->n, key ? L(key, val) : NULL);
}

/* ---- per source ----------------------------------------------------------------- */

typedef double (*source_value)(const ops_source *s);
static double v_requests(const ops_source *s) { return (double)s->stats.requests; }
static double v_retries(const ops_source *s) { return (double)s->stats.retries; }
static double v_refused(const ops_source *s) { return (double)s->stats.retries_denied; }
static double v_given_up(const ops_source *s) { return (double)s->stats.chunks_failed; }
static double v_rate_now(const ops_source *s) { return s->rate_now > 0 ? s->rate_now : INFINITY; }
static double v_rate_max(const ops_source *s) { return s->rate_max > 0 ? s->rate_max : INFINITY; }
static double v_transitions(const ops_source *s) { return (double)s->stats.breaker_transitions; }
static double v_opened(const ops_source *s) { return (double)s->stats.breaker_opened; }
static double v_in_flight(const ops_source *s) { return s->in_flight; }
static double v_inflight_limit(const ops_source *s) { return (double)s->inflight_limit; }
static double v_inflight_max(const ops_source *s) { return (double)s->concurrency; }
static double v_latency_p90(const ops_source *s) { return s->latency_p90_s; }
static double v_queued(const ops_source *s) { return (double)s->queued; }
static double v_paused(const ops_source *s) { return s->paused; }

static const struct {
    const char *name, *type, *help;
    source_value get;
} source_families[] = {
    {"source_requests_total", "counter", "HTTP requests sent", v_requests},
    {"source_retries_total", "counter", "requests that were retries of a failed chunk", v_retries},
    {"source_retries_refused_total", "counter", "retries refused by the retry budget", v_refused},
    {"source_chunks_given_up_total", "counter", "chunks given up after max_attempts or a permanent error",
     v_given_up},
    {"source_limiter_rate_requests_per_second", "gauge",
     "requests per second the source's limiters allow now (adaptive mode lowers it after 429s)", v_rate_now},
    {"source_limiter_configured_rate_requests_per_second", "gauge", "requests per second as configured",
     v_rate_max},
    {"source_breaker_transitions_total", "counter", "circuit breaker state changes", v_transitions},
    {"source_breaker_opened_total", "counter", "times the circuit breaker opened", v_opened},
    {"source_in_flight_requests", "gauge", "requests on the wire", v_in_flight},
    {"source_inflight_limit", "gauge",
     "requests allowed in flight now: ceil(rate now x p90 latency x 1.5), within [1, concurrency]", v_inflight_limit},
    {"source_inflight_max", "gauge", "the configured upper bound of requests in flight (concurrency)", v_inflight_max},
    {"source_latency_p90_seconds", "gauge", "p90 latency of the last answers, that the in-flight limit is sized for",
     v_latency_p90},
    {"source_queued_tokens", "gauge", "tokens waiting in the source's queue", v_queued},
    {"source_paused", "gauge", "1 while an operator has paused the source", v_paused},
};

typedef struct labelled_count {
    const char *label;
    uint64_t v;
} labelled_count;

/* NAME{source=X,KEY=label} for each of R (an active source only). */
static void by_label(out *o, const char *name, const ops_source *x, const char *key, const labelled_count *r, size_t n)
{
    for (size_t k = 0; x->active && k < n; k++)
        sample(o, name, (double)r[k].v, L("source", x->name, key, r[k].label));
}

static void sources(out *o, const ops_snapshot *s)
{
    for (size_t f = 0; f < sizeof source_families / sizeof *source_families; f++) {
        family(o, source_families[f].name, source_families[f].type, source_families[f].help);
        for (size_t i = 0; i < s->n_src; i++)
            if (s->src[i].active)
                sample(o, source_families[f].name, source_families[f].get(&s->src[i]), L("source", s->src[i].name));
    }
    family(o, "source_responses_total", "counter",
           "answers by outcome: ok, throttled (HTTP 429), transport_error, server_error (5xx, 408), client_error "
           "(other 4xx), rejected (the plugin could not use it)");
    for (size_t i = 0; i < s->n_src; i++) {
        const source_stats *st = &s->src[i].stats;
        const labelled_count r[] = {{"ok", st->ok},
                                    {"throttled", st->throttled},
                                    {"transport_error", st->fail_transport},
                                    {"server_error", st->fail_5xx},
                                    {"client_error", st->fail_4xx},
                                    {"rejected", st->fail_parse}};
        by_label(o, "source_responses_total", &s->src[i], "outcome", r, sizeof r / sizeof *r);
    }
    family(o, "source_tokens_total", "counter",
           "tokens settled by the source: found, missing (it does not know them), failed, skipped (breaker open or "
           "paused: still owed), kept (not asked)");
    for (size_t i = 0; i < s->n_src; i++) {
        const source_stats *st = &s->src[i].stats;
        const labelled_count r[] = {{"found", st->tokens_found},     {"missing", st->tokens_missing},
                                    {"failed", st->tokens_failed},   {"skipped", st->tokens_skipped},
                                    {"kept", st->tokens_kept}};
        by_label(o, "source_tokens_total", &s->src[i], "result", r, sizeof r / sizeof *r);
    }
    family(o, "source_breaker_state", "gauge", "the circuit breaker's state: 1 for the current one");
    for (size_t i = 0; i < s->n_src; i++)
        for (int st = BREAKER_CLOSED; s->src[i].active && st <= BREAKER_HALF_OPEN; st++)
            sample(o, "source_breaker_state", s->src[i].breaker == st,
                   L("source", s->src[i].name, "state", breaker_state_name((breaker_state)st)));
    const struct {
        const char *name, *help;
        metrics_timer timer;
    } hists[] = {{"source_request_duration_seconds", "a request, sent to answered", MT_REQUEST},
                 {"source_limiter_wait_seconds", "how long a request waited for the limiters (0: it did not)",
                  MT_LIMITER_WAIT}};
    for (int h = 0; h < 2; h++) {
        family(o, hists[h].name, "histogram", hists[h].help);
        for (size_t i = 0; s->m && i < s->n_src && i < s->m->n_sources; i++)
            if (s->src[i].active)
                histogram(o, hists[h].name, &s->m->scope[i].timer[hists[h].timer], "source", s->src[i].name);
    }
    family(o, "plugin_info", "gauge", "the plugin each source runs: name, version, ABI");
    for (size_t i = 0; i < s->n_src; i++) {
        const ops_source *x = &s->src[i];
        char abi[16];
        snprintf(abi, sizeof abi, "%u.%u", x->abi_major, x->abi_minor);
        if (x->active)
            sample(o, "plugin_info", 1, L("source", x->name, "plugin", x->plugin, "version", x->version, "abi", abi));
    }
}

/* ---- the scheduler ---------------------------------------------------------------- */

typedef double (*tier_value)(const ops_tier *t);
static double t_tokens(const ops_tier *t) { return (double)t->tokens; }
static double t_refreshed(const ops_tier *t) { return (double)t->refreshed; }
static double t_demand(const ops_tier *t) { return t->demand; }
static double t_planned(const ops_tier *t) { return t->planned; }
static double t_stretch(const ops_tier *t) { return t->stretch; }
static double t_target(const ops_tier *t) { return t->target_s; }
static double t_sustainable(const ops_tier *t) { return t->sustainable_s; }

static const struct {
    const char *name, *help;
    tier_value get;
} tier_families[] = {
    {"scheduler_tokens", "tokens known, by tier", t_tokens},
    {"scheduler_refreshed_tokens", "tokens answered at least once since the start (the first pass)", t_refreshed},
    {"scheduler_demand_tokens_per_second", "refreshes per second the unstretched intervals ask", t_demand},
    {"scheduler_planned_tokens_per_second", "refreshes per second after the overload plan", t_planned},
    {"scheduler_stretch_ratio", "the overload plan's interval factor (1: none)", t_stretch},
    {"scheduler_interval_target_seconds", "mean interval the tier's tokens are scheduled at now", t_target},
    {"scheduler_interval_sustainable_seconds",
     "the tier's base interval scaled so every token fits the limits (admin recommendations)", t_sustainable},
};

static void scheduler(out *o, const ops_snapshot *s)
{
    for (size_t f = 0; f < sizeof tier_families / sizeof *tier_families; f++) {
        family(o, tier_families[f].name, "gauge", tier_families[f].help);
        for (int t = 0; t < SCHED_TIERS; t++)
            sample(o, tier_families[f].name, tier_families[f].get(&s->tier[t]),
                   L("tier", sched_tier_name((sched_tier)t)));
    }
    family(o, "scheduler_price_age_seconds", "gauge",
           "age of the tokens' last answered refresh, by tier: p50, p95, max (refreshed tokens only)");
    for (int t = 0; t < SCHED_TIERS; t++) {
        const char *tier = sched_tier_name((sched_tier)t);
        sample(o, "scheduler_price_age_seconds", s->tier[t].age_p50_s, L("tier", tier, "stat", "p50"));
        sample(o, "scheduler_price_age_seconds", s->tier[t].age_p95_s, L("tier", tier, "stat", "p95"));
        sample(o, "scheduler_price_age_seconds", s->tier[t].age_max_s, L("tier", tier, "stat", "max"));
    }
    family(o, "scheduler_interval_achieved_seconds", "histogram", "time between two refreshes of a token, by tier");
    for (int t = 0; t < SCHED_TIERS; t++)
        histogram(o, "scheduler_interval_achieved_seconds", &s->tier[t].achieved, "tier",
                  sched_tier_name((sched_tier)t));
    const struct {
        const char *name, *help;
        double v;
    } g[] = {
        {"scheduler_queued_tokens", "tokens waiting in the scheduler (the queue depth)", (double)s->queued},
        {"scheduler_in_flight_tokens", "tokens handed to the engine and not committed yet", (double)s->in_flight_tokens},
        {"scheduler_due_tokens", "queued tokens already due", (double)s->due},
        {"scheduler_overdue_max_seconds", "how overdue the most overdue queued token is", (double)s->overdue_max_ns / 1e9},
        {"scheduler_capacity_tokens_per_second", "refreshes per second the rate limits allow (+Inf: unlimited)",
         s->capacity > 0 ? s->capacity : INFINITY},
        {"scheduler_demand_total_tokens_per_second", "refreshes per second every interval asks together", s->demand},
        {"scheduler_overloaded", "1 while demand exceeds the capacity budget", s->overloaded},
        {"scheduler_paused", "1 while an operator has paused every source", s->paused_all},
        {"scheduler_first_pass_eta_seconds",
         "time until every token was answered once since the start (0: done; -1: unknown)", (double)s->eta_s},
    };
    for (size_t i = 0; i < sizeof g / sizeof *g; i++) {
        family(o, g[i].name, "gauge", g[i].help);
        sample(o, g[i].name, g[i].v, NULL);
    }
    if (!s->m)
        return;
    const metrics_scope *all = &s->m->scope[s->m->n_sources];
    family(o, "scheduler_dispatch_lag_seconds", "histogram", "how late tokens were handed to the engine");
    histogram(o, "scheduler_dispatch_lag_seconds", &all->timer[MT_LAG], NULL, NULL);
}

/* ---- the store, the process ------------------------------------------------------------ */

static void store_and_process(out *o, const ops_snapshot *s)
{
    if (s->m) {
        const metrics_scope *all = &s->m->scope[s->m->n_sources];
        family(o, "tokens_committed_total", "counter", "tokens written to the store");
        sample(o, "tokens_committed_total", (double)s->committed, NULL);
        family(o, "batches_total", "counter", "batches committed");
        sample(o, "batches_total", (double)all->total[MC_BATCHES], NULL);
        family(o, "batch_duration_seconds", "histogram", "a batch, formed to committed");
        histogram(o, "batch_duration_seconds", &all->timer[MT_BATCH], NULL, NULL);
        family(o, "store_commit_duration_seconds", "histogram", "one store commit (a transaction)");
        histogram(o, "store_commit_duration_seconds", &all->timer[MT_STORE_COMMIT], NULL, NULL);
        family(o, "store_claim_duration_seconds", "histogram", "one claim of a batch's tokens");
        histogram(o, "store_claim_duration_seconds", &all->timer[MT_STORE_CLAIM], NULL, NULL);
        family(o, "store_errors_total", "counter", "store operations that failed, by operation");
        for (int op = 0; op < MS_OPS; op++)
            sample(o, "store_errors_total", (double)s->m->store_errors[op],
                   L("operation", metrics_store_op_name((metrics_store_op)op)));
    }
    family(o, "store_commit_failed_tokens_total", "counter", "tokens whose commit failed (still pending)");
    sample(o, "store_commit_failed_tokens_total", (double)s->commit_failures, NULL);
    family(o, "config_reloads_total", "counter", "config reloads (SIGHUP or the admin API) by result");
    sample(o, "config_reloads_total", (double)s->reloads_ok, L("result", "applied"));
    sample(o, "config_reloads_total", (double)s->reloads_failed, L("result", "refused"));
    family(o, "plugin_reloads_total", "counter", "plugin reloads through the admin API that were applied");
    sample(o, "plugin_reloads_total", (double)s->plugin_reloads, NULL);
    uint64_t per_level[4], suppressed;
    log_counts(per_level, &suppressed);
    family(o, "log_messages_total", "counter", "log messages by level (repeats included)");
    for (int l = 0; l < 4; l++)
        sample(o, "log_messages_total", (double)per_level[l], L("level", log_level_name(l)));
    family(o, "log_repeats_suppressed_total", "counter", "repeated warnings and errors counted instead of written");
    sample(o, "log_repeats_suppressed_total", (double)suppressed, NULL);
    char abi[16];
    snprintf(abi, sizeof abi, "%d.%d", TC_ABI_MAJOR, TC_ABI_MINOR);
    family(o, "build_info", "gauge", "the running build: version and plugin ABI");
    sample(o, "build_info", 1, L("version", TC_VERSION_STRING, "abi", abi));
    family(o, "start_time_seconds", "gauge", "when the daemon started, unix seconds");
    sample(o, "start_time_seconds", (double)s->started_s, NULL);
}

char *metrics_prom_render(const ops_snapshot *s, size_t *len)
{
    out o = {{0}};
    sources(&o, s);
    scheduler(&o, s);
    store_and_process(&o, s);
    *len = o.b.len;
    return o.b.data ? o.b.data : xstrdup("");
}
