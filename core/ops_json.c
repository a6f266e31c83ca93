/* JSON views of the operations state (ops_json.h). Pure: values in, cJSON
 * out. Must not reach the engine, the scheduler or HTTP. */
#include "ops_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "log.h"
#include "util.h"

char *ops_print(cJSON *root)
{
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        abort(); /* out of memory */
    return s;
}

static void add_number_or_null(cJSON *o, const char *key, int known, double v)
{
    if (known && isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

cJSON *ops_token_json(const char *addr, const sched_token *t, int64_t now_ns, int64_t mono0_ns, int64_t wall0_s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "address", addr);
    cJSON_AddStringToObject(o, "tier", sched_tier_name(t->tier));
    cJSON_AddNumberToObject(o, "priority", round(t->score * 1000) / 1000);
    cJSON_AddBoolToObject(o, "priority_pinned", t->pin_score == t->pin_score);
    cJSON_AddBoolToObject(o, "in_contest", t->in_contest);
    cJSON_AddNumberToObject(o, "interval_s", (double)t->effective_ns / 1e9);
    add_number_or_null(o, "interval_pinned_s", t->pin_interval_ns > 0, (double)t->pin_interval_ns / 1e9);
    cJSON_AddBoolToObject(o, "in_flight", !t->queued);
    add_number_or_null(o, "due_in_s", t->queued, (double)(t->due_ns - now_ns) / 1e9);
    int64_t last = t->last_ok_ns;
    add_number_or_null(o, "last_refresh_at", last != INT64_MIN,
                       (double)(wall0_s + (last - mono0_ns) / NS_PER_S));
    add_number_or_null(o, "last_attempt_at", t->last_done_ns != INT64_MIN,
                       (double)(wall0_s + (t->last_done_ns - mono0_ns) / NS_PER_S));
    return o;
}

const char *ops_source_state(const ops_source *s)
{
    if (!s->active)
        return "removed";
    if (s->paused)
        return "paused";
    return breaker_state_name((breaker_state)s->breaker);
}

cJSON *ops_source_json(const ops_source *s)
{
    const source_stats *st = &s->stats;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddStringToObject(o, "state", ops_source_state(s));
    cJSON_AddStringToObject(o, "breaker", breaker_state_name((breaker_state)s->breaker));
    cJSON_AddBoolToObject(o, "paused", s->paused);
    cJSON *p = cJSON_AddObjectToObject(o, "plugin");
    cJSON_AddStringToObject(p, "name", s->plugin);
    cJSON_AddStringToObject(p, "version", s->version);
    char abi[16];
    snprintf(abi, sizeof abi, "%u.%u", s->abi_major, s->abi_minor);
    cJSON_AddStringToObject(p, "abi", abi);
    cJSON_AddStringToObject(p, "file", s->file);
    cJSON_AddNumberToObject(p, "loaded_at", (double)s->loaded_at);
    if (s->limiter[0])
        cJSON_AddStringToObject(o, "limiter", s->limiter);
    else
        cJSON_AddNullToObject(o, "limiter");
    cJSON_AddNumberToObject(o, "requests_per_s", round(s->requests_per_s * 1000) / 1000);
    add_number_or_null(o, "rate_limit_per_s", s->rate_now > 0, s->rate_now);
    add_number_or_null(o, "rate_configured_per_s", s->rate_max > 0, s->rate_max);
    cJSON_AddNumberToObject(o, "chunk_size", (double)s->chunk);
    cJSON_AddNumberToObject(o, "concurrency", (double)s->concurrency);
    cJSON_AddNumberToObject(o, "inflight_limit", (double)s->inflight_limit);
    cJSON_AddNumberToObject(o, "latency_p90_s", round(s->latency_p90_s * 1000) / 1000);
    cJSON_AddNumberToObject(o, "in_flight", s->in_flight);
    cJSON_AddNumberToObject(o, "queued_tokens", (double)s->queued);
    cJSON_AddNumberToObject(o, "retries_waiting", (double)s->retry_waiting);
    cJSON *c = cJSON_AddObjectToObject(o, "counts");
    cJSON_AddNumberToObject(c, "requests", (double)st->requests);
    cJSON_AddNumberToObject(c, "ok", (double)st->ok);
    cJSON_AddNumberToObject(c, "throttled", (double)st->throttled);
    cJSON_AddNumberToObject(c, "retries", (double)st->retries);
    cJSON_AddNumberToObject(c, "retries_refused", (double)st->retries_denied);
    cJSON_AddNumberToObject(c, "transport_errors", (double)st->fail_transport);
    cJSON_AddNumberToObject(c, "server_errors", (double)st->fail_5xx);
    cJSON_AddNumberToObject(c, "client_errors", (double)st->fail_4xx);
    cJSON_AddNumberToObject(c, "rejected", (double)st->fail_parse);
    cJSON_AddNumberToObject(c, "tokens_found", (double)st->tokens_found);
    cJSON_AddNumberToObject(c, "tokens_missing", (double)st->tokens_missing);
    cJSON_AddNumberToObject(c, "tokens_failed", (double)st->tokens_failed);
    cJSON_AddNumberToObject(c, "tokens_skipped", (double)st->tokens_skipped);
    cJSON_AddNumberToObject(c, "breaker_opened", (double)st->breaker_opened);
    cJSON_AddNumberToObject(c, "breaker_transitions", (double)st->breaker_transitions);
    cJSON_AddNumberToObject(c, "limiter_wait_s", (double)st->limiter_wait_ns / 1e9);
    return o;
}

cJSON *ops_lines_array(const char *text)
{
    cJSON *a = cJSON_CreateArray();
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n) {
            char *line = xmalloc(n + 1);
            memcpy(line, p, n);
            line[n] = '\0';
            cJSON_AddItemToArray(a, cJSON_CreateString(line));
            free(line);
        }
        p += n + (nl != NULL);
    }
    return a;
}

char *ops_error_lines(const char *code, const char *lines)
{
    cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(err, "code", code);
    cJSON *all = ops_lines_array(lines);
    cJSON *first = cJSON_GetArrayItem(all, 0);
    cJSON_AddStringToObject(err, "message", first ? first->valuestring : code);
    cJSON_AddItemToObject(err, "errors", all);
    return ops_print(root);
}

static cJSON *tier_json(const ops_tier *t, int i)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "tier", sched_tier_name((sched_tier)i));
    cJSON_AddNumberToObject(o, "tokens", (double)t->tokens);
    cJSON_AddNumberToObject(o, "queued", (double)t->queued);
    cJSON_AddNumberToObject(o, "refreshed", (double)t->refreshed);
    cJSON_AddNumberToObject(o, "base_interval_s", t->base_s);
    cJSON_AddNumberToObject(o, "target_interval_s", t->target_s);
    cJSON_AddNumberToObject(o, "sustainable_interval_s", t->sustainable_s);
    cJSON_AddNumberToObject(o, "demand_per_s", t->demand);
    cJSON_AddNumberToObject(o, "planned_per_s", t->planned);
    cJSON_AddNumberToObject(o, "stretch", t->stretch);
    cJSON *age = cJSON_AddObjectToObject(o, "price_age_s");
    cJSON_AddNumberToObject(age, "p50", t->age_p50_s);
    cJSON_AddNumberToObject(age, "p95", t->age_p95_s);
    cJSON_AddNumberToObject(age, "max", t->age_max_s);
    cJSON *ach = cJSON_AddObjectToObject(o, "achieved_interval_s");
    cJSON_AddNumberToObject(ach, "refreshes", (double)t->refreshes);
    cJSON_AddNumberToObject(ach, "p50", t->achieved_p50_s);
    cJSON_AddNumberToObject(ach, "p95", t->achieved_p95_s);
    cJSON_AddNumberToObject(ach, "target_mean", t->target_mean_s);
    return o;
}

static cJSON *recent_json(void)
{
    log_event ev[LOG_RECENT];
    size_t n = log_recent(ev, LOG_RECENT);
    cJSON *a = cJSON_CreateArray();
    for (size_t i = n; i-- > 0;) { /* newest first */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "time_ms", (double)ev[i].time_ms);
        cJSON_AddStringToObject(o, "level", log_level_name(ev[i].level));
        cJSON_AddStringToObject(o, "component", ev[i].component);
        cJSON_AddStringToObject(o, "message", ev[i].message);
        cJSON_AddNumberToObject(o, "repeats", (double)ev[i].repeats);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

cJSON *ops_status_json(const ops_snapshot *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "taken_at_ms", (double)s->taken_ms);
    cJSON_AddNumberToObject(o, "started_at", (double)s->started_s);
    cJSON_AddStringToObject(o, "config", s->config_path);
    cJSON_AddBoolToObject(o, "paused", s->paused_all);
    cJSON *sc = cJSON_AddObjectToObject(o, "scheduler");
    cJSON_AddNumberToObject(sc, "tokens", (double)s->tokens);
    cJSON_AddNumberToObject(sc, "queued", (double)s->queued);
    cJSON_AddNumberToObject(sc, "in_flight", (double)s->in_flight_tokens);
    cJSON_AddNumberToObject(sc, "due", (double)s->due);
    cJSON_AddNumberToObject(sc, "overdue_max_s", (double)s->overdue_max_ns / 1e9);
    add_number_or_null(sc, "capacity_per_s", s->capacity > 0, s->capacity);
    cJSON_AddNumberToObject(sc, "demand_per_s", s->demand);
    cJSON_AddNumberToObject(sc, "planned_per_s", s->planned);
    cJSON_AddBoolToObject(sc, "overloaded", s->overloaded);
    cJSON_AddNumberToObject(sc, "committed_per_s", s->tokens_per_s);
    cJSON_AddNumberToObject(sc, "committed", (double)s->committed);
    cJSON *fp = cJSON_AddObjectToObject(o, "first_pass");
    size_t refreshed = 0;
    cJSON *tiers = cJSON_AddArrayToObject(o, "tiers");
    for (int t = 0; t < SCHED_TIERS; t++) {
        refreshed += s->tier[t].refreshed;
        cJSON_AddItemToArray(tiers, tier_json(&s->tier[t], t));
    }
    cJSON_AddNumberToObject(fp, "refreshed", (double)refreshed);
    cJSON_AddNumberToObject(fp, "tokens", (double)s->tokens);
    add_number_or_null(fp, "eta_s", s->eta_s >= 0, (double)s->eta_s);
    cJSON *src = cJSON_AddArrayToObject(o, "sources");
    for (size_t i = 0; i < s->n_src; i++)
        if (s->src[i].active)
            cJSON_AddItemToArray(src, ops_source_json(&s->src[i]));
    cJSON *rl = cJSON_AddObjectToObject(o, "reloads");
    cJSON_AddNumberToObject(rl, "applied", (double)s->reloads_ok);
    cJSON_AddNumberToObject(rl, "refused", (double)s->reloads_failed);
    cJSON_AddNumberToObject(rl, "plugins", (double)s->plugin_reloads);
    cJSON_AddItemToObject(o, "recent_errors", recent_json());
    return o;
}

cJSON *ops_recommendations_json(const ops_snapshot *s)
{
    cJSON *o = cJSON_CreateObject();
    add_number_or_null(o, "capacity_per_s", s->capacity > 0 && isfinite(s->capacity), s->capacity);
    cJSON_AddNumberToObject(o, "load_factor", s->load_factor);
    cJSON_AddNumberToObject(o, "uniform_interval_s", s->uniform_s);
    cJSON *tiers = cJSON_AddArrayToObject(o, "tiers");
    for (int t = 0; t < SCHED_TIERS; t++) {
        const ops_tier *x = &s->tier[t];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "tier", sched_tier_name((sched_tier)t));
        cJSON_AddNumberToObject(e, "tokens", (double)x->tokens);
        cJSON_AddNumberToObject(e, "base_interval_s", x->base_s);
        cJSON_AddNumberToObject(e, "current_interval_s", x->target_s);
        cJSON_AddNumberToObject(e, "recommended_interval_s", x->sustainable_s);
        cJSON_AddItemToArray(tiers, e);
    }
    cJSON_AddStringToObject(o, "method",
                            "every tier's base interval times the load factor (demand at the base intervals over "
                            "capacity x utilization), never below min_interval");
    return o;
}
