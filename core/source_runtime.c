/* Each source's runtime (source_runtime.h): its queue, forming and sending
 * chunks under the limiters, throttle and breaker, and the fate of a chunk
 * that failed (retry with backoff within the retry budget, skip while the
 * breaker is open, give up). The answers themselves are judged in
 * source_answer.c. Must not touch batches, claims or the store: tokens leave
 * through engine_settle() only. */
#include "source_runtime.h"

#include <limits.h>
#include <stdlib.h>

#include "backoff.h"
#include "engine_internal.h"
#include "log.h"
#include "metrics.h"
#include "source_chunk.h"
#include "util.h"

/* Backoff for transient failures: full jitter, U(0, min(cap, base * 2^k)). */
#define BACKOFF_BASE_NS (500 * NS_PER_MS)
#define BACKOFF_CAP_NS (30 * NS_PER_S)
/* Retries always allowed on top of the retry budget's share of requests, so
 * a source with few requests can still retry. */
#define RETRY_BUDGET_FLOOR 10

/* ---- setup ------------------------------------------------------------------ */

static breaker_config breaker_config_of(const cfg_source *cs)
{
    return (breaker_config){.window = (int)cs->breaker_window,
                            .min_calls = (int)cs->breaker_min_calls,
                            .threshold = cs->breaker_threshold,
                            .open_ns = cs->breaker_open_s * NS_PER_S,
                            .open_max_ns = cs->breaker_open_max_s * NS_PER_S,
                            .probes = (int)cs->breaker_probes};
}

/* The per-source knobs of CS that need no state of their own. */
static void apply_settings(source_rt *s, const cfg_source *cs, limiter *lim)
{
    s->lim = lim;
    s->throttle_ns = cs->throttle_ms * NS_PER_MS;
    s->timeout_ms = cs->timeout_ms;
    s->concurrency = cs->concurrency;
    s->max_attempts = cs->max_attempts;
    s->retry_budget = cs->retry_budget;
}

void source_rt_init(source_rt *s, size_t index, source_instance *inst, const cfg_source *cs, limiter *lim)
{
    s->index = index;
    s->inst = inst;
    apply_settings(s, cs, lim);
    breaker_config bc = breaker_config_of(cs);
    breaker_init(&s->brk, &bc);
    inflight_init(&s->flow);
}

static int same_breaker_config(const breaker_config *a, const breaker_config *b)
{
    return a->window == b->window && a->min_calls == b->min_calls && a->threshold == b->threshold &&
           a->open_ns == b->open_ns && a->open_max_ns == b->open_max_ns && a->probes == b->probes;
}

void source_rt_update(source_rt *s, source_instance *inst, const cfg_source *cs, limiter *lim)
{
    if (inst) {
        source_unref(s->inst); /* chunks in flight keep the old one until answered */
        s->inst = inst;
    }
    apply_settings(s, cs, lim);
    breaker_config bc = breaker_config_of(cs);
    if (!same_breaker_config(&bc, &s->brk.cfg))
        breaker_init(&s->brk, &bc); /* new thresholds: start closed under them */
}

void source_rt_free(source_rt *s)
{
    while (s->retry) {
        chunk *c = s->retry;
        s->retry = c->next;
        chunk_free(c);
    }
    free(s->queue);
    source_unref(s->inst);
}

/* ---- the queue: a ring that doubles when full ---------------------------------- */

static void queue_grow(source_rt *s)
{
    if (s->q_len == s->q_cap) {
        size_t cap = s->q_cap ? s->q_cap * 2 : 256;
        token_state **q = xmalloc(cap * sizeof *q);
        for (size_t i = 0; i < s->q_len; i++)
            q[i] = s->queue[(s->q_head + i) % s->q_cap];
        free(s->queue);
        s->queue = q;
        s->q_cap = cap;
        s->q_head = 0;
    }
}

void source_rt_enqueue(source_rt *s, token_state *t)
{
    queue_grow(s);
    s->queue[(s->q_head + s->q_len) % s->q_cap] = t;
    s->q_len++;
}

void source_rt_enqueue_front(source_rt *s, token_state *t)
{
    queue_grow(s);
    s->q_head = (s->q_head + s->q_cap - 1) % s->q_cap;
    s->queue[s->q_head] = t;
    s->q_len++;
}

static token_state *queue_pop(source_rt *s)
{
    token_state *t = s->queue[s->q_head];
    s->q_head = (s->q_head + 1) % s->q_cap;
    s->q_len--;
    return t;
}

/* ---- a chunk's fate ------------------------------------------------------------ */

void source_rt_abandon_chunk(void *user)
{
    chunk *c = user;
    c->src->in_flight--;
    chunk_free(c);
}

void source_rt_sync_stats(source_rt *s)
{
    s->stats.breaker_opened = s->brk.opened;
    s->stats.breaker_transitions = s->brk.transitions;
}

void chunk_free(chunk *c)
{
    request_reset(&c->req);
    source_unref(c->inst);
    free(c->tokens);
    free(c->addrs);
    free(c);
}

void chunk_give_up(chunk *c, const char *why)
{
    source_rt *s = c->src;
    s->stats.chunks_failed++;
    LOG_WARN(s->inst->name, "giving up on a chunk of %zu tokens (first %s) after %d attempt(s): %s", c->n,
             c->addrs[0], c->attempt, why);
    for (size_t i = 0; i < c->n; i++)
        engine_settle(c->env->m, s, c->tokens[i], OUTCOME_FAILED, why);
    chunk_free(c);
}

void chunk_fail(chunk *c, const char *why)
{
    c->attempt++;
    chunk_give_up(c, why);
}

/* Settles C's tokens as not asked and frees C: its source was removed. */
static void drop_chunk(chunk *c)
{
    for (size_t i = 0; i < c->n; i++)
        engine_settle(c->env->m, c->src, c->tokens[i], OUTCOME_KEPT, NULL);
    chunk_free(c);
}

void chunk_retry_at(chunk *c, int64_t not_before_ns)
{
    if (c->src->retired) {
        drop_chunk(c); /* nothing more is sent for a removed source */
        return;
    }
    request_reset(&c->req);
    c->not_before_ns = not_before_ns;
    c->ready_since_ns = 0;
    /* Keep retries in arrival order: older chunks first. */
    chunk **p = &c->src->retry;
    while (*p)
        p = &(*p)->next;
    c->next = NULL;
    *p = c;
}

/* Settles a chunk's tokens as skipped: the source stays owed for them and
 * they are tried again later (its breaker is open). */
static void skip_chunk(chunk *c, const char *why)
{
    for (size_t i = 0; i < c->n; i++)
        engine_settle(c->env->m, c->src, c->tokens[i], OUTCOME_SKIPPED, why);
    chunk_free(c);
}

static int retry_budget_left(const source_rt *s)
{
    double allowed = s->retry_budget * (double)s->stats.requests + RETRY_BUDGET_FLOOR;
    return (double)s->stats.retries < allowed;
}

static int64_t backoff_ns(source_env *env, int attempt)
{
    return backoff_full_jitter_ns(attempt, BACKOFF_BASE_NS, BACKOFF_CAP_NS, xorshift64_star(&env->rng));
}

void chunk_transient_failure(chunk *c, const char *why, int64_t min_wait_ns)
{
    source_rt *s = c->src;
    c->attempt++;
    if (c->attempt >= s->max_attempts) {
        chunk_give_up(c, why);
        return;
    }
    char msg[480];
    if (breaker_state_at(&s->brk, now_mono_ns()) == BREAKER_OPEN) {
        snprintf(msg, sizeof msg, "circuit breaker open after: %s", why);
        skip_chunk(c, msg);
        return;
    }
    if (!retry_budget_left(s)) {
        /* Retrying a source that fails this often would multiply the load on
         * it; the tokens stay owed and are tried again in a later pass. */
        s->stats.retries_denied++;
        snprintf(msg, sizeof msg, "retry budget spent (%.0f%% of requests); last error: %s",
                 s->retry_budget * 100, why);
        chunk_give_up(c, msg);
        return;
    }
    int64_t wait = backoff_ns(c->env, c->attempt);
    if (wait < min_wait_ns)
        wait = min_wait_ns;
    LOG_INFO(s->inst->name, "retrying a chunk of %zu tokens in %lld ms (attempt %d of %ld): %s", c->n,
             (long long)(wait / NS_PER_MS), c->attempt + 1, s->max_attempts, why);
    s->stats.retries++;
    if (c->env->m)
        metrics_count(c->env->m, s->index, MC_RETRIES, 1);
    chunk_retry_at(c, now_mono_ns() + wait);
}

/* ---- sending ------------------------------------------------------------------- */

/* Nanoseconds until source S may send (0: now). */
static int64_t source_wait_ns(const source_env *env, const source_rt *s, int64_t now)
{
    int64_t wait = 0;
    if (env->global) {
        int64_t w = limiter_wait_ns(env->global, now);
        if (w > wait)
            wait = w;
    }
    if (s->next_allowed_ns > now)
        wait = s->next_allowed_ns - now;
    if (s->lim) {
        int64_t w = limiter_wait_ns(s->lim, now);
        if (w > wait)
            wait = w;
    }
    return wait;
}

static chunk *form_chunk(source_env *env, source_rt *s, int allow_partial)
{
    size_t size = s->inst->chunk_size;
    if (s->q_len == 0 || (s->q_len < size && !allow_partial))
        return NULL;
    size_t n = s->q_len < size ? s->q_len : size;
    chunk *c = xcalloc(1, sizeof *c);
    c->env = env;
    c->src = s;
    c->inst = s->inst;
    source_ref(c->inst);
    c->n = n;
    c->tokens = xmalloc(n * sizeof *c->tokens);
    c->addrs = xmalloc(n * sizeof *c->addrs);
    for (size_t i = 0; i < n; i++) {
        c->tokens[i] = queue_pop(s);
        c->addrs[i] = c->tokens[i]->addr;
    }
    return c;
}

static void send_chunk(source_env *env, source_rt *s, chunk *c, int64_t now)
{
    /* A chunk that waited for the limiter counts its wait from when it
     * could first have gone. */
    if (s->waiting_since_ns && !c->ready_since_ns)
        c->ready_since_ns = s->waiting_since_ns;
    s->waiting_since_ns = 0;
    request_reset(&c->req);
    if (c->inst->vt->build_request(c->inst->self, c->addrs, c->n, &c->req) != 0 || !c->req.url) {
        breaker_cancel(&s->brk);
        chunk_fail(c, "the plugin could not build a request");
        return;
    }
    if (s->lim)
        limiter_take(s->lim, now);
    if (env->global)
        limiter_take(env->global, now);
    s->next_allowed_ns = now + s->throttle_ns;
    if (c->ready_since_ns)
        s->stats.limiter_wait_ns += now - c->ready_since_ns;
    if (env->m)
        metrics_time(env->m, s->index, MT_LIMITER_WAIT, c->ready_since_ns ? now - c->ready_since_ns : 0);
    if (http_submit(env->http, &c->req, s->timeout_ms, chunk_on_response, c) != 0) {
        breaker_cancel(&s->brk);
        chunk_transient_failure(c, "could not start the HTTP transfer", 0);
        return;
    }
    s->in_flight++;
    s->stats.requests++;
    c->sent_ns = now;
    if (env->m)
        metrics_count(env->m, s->index, MC_REQUESTS, 1);
}

/* Nothing goes to a source whose breaker is open, or that an operator
 * paused: what waits for it is settled as skipped (still owed), so batches
 * commit the other sources' data now instead of holding it until the
 * source can be asked again. */
static void shed(source_env *env, source_rt *s, const char *why)
{
    while (s->retry) {
        chunk *c = s->retry;
        s->retry = c->next;
        skip_chunk(c, why);
    }
    while (s->q_len)
        engine_settle(env->m, s, queue_pop(s), OUTCOME_SKIPPED, why);
}

enum { READY_NONE, READY_RETRY, READY_NEW };

/* What S has to send at NOW, limiters aside: a due retry comes first. */
static int ready_kind(const source_rt *s, int allow_partial, int64_t now)
{
    if (s->retry && s->retry->not_before_ns <= now)
        return READY_RETRY;
    if (s->q_len >= s->inst->chunk_size || (allow_partial && s->q_len > 0))
        return READY_NEW;
    return READY_NONE;
}

/* 1 when S may send at NOW. Else, when the limiters or the throttle hold it,
 * notes since when it waits and lowers *WAKE to when it may go. */
static int may_send(const source_env *env, source_rt *s, int64_t now, int64_t *wake)
{
    int64_t wait = source_wait_ns(env, s, now);
    if (wait > 0) {
        if (!s->waiting_since_ns)
            s->waiting_since_ns = now;
        if (now + wait < *wake)
            *wake = now + wait;
        return 0;
    }
    return breaker_allow(&s->brk, now); /* 0 when half-open: wait for the probes' answers */
}

void source_rt_retire(source_env *env, source_rt *s)
{
    s->retired = 1;
    while (s->retry) {
        chunk *c = s->retry;
        s->retry = c->next;
        drop_chunk(c);
    }
    while (s->q_len)
        engine_settle(env->m, s, queue_pop(s), OUTCOME_KEPT, NULL);
}

int64_t source_rt_dispatch(source_env *env, source_rt *s, int allow_partial, int64_t now)
{
    if (s->retired)
        return INT64_MAX;
    if (s->paused) {
        shed(env, s, "source paused by an operator");
        return INT64_MAX;
    }
    if (breaker_state_at(&s->brk, now) == BREAKER_OPEN) {
        shed(env, s, "circuit breaker open");
        return s->brk.open_until_ns;
    }
    int64_t wake = INT64_MAX;
    /* Little's law: enough in flight for the rate the limiters allow now at
     * the latency seen, so latency never caps the source below its limiter
     * (which still decides when each request goes). */
    long limit = inflight_update(&s->flow, source_rt_flow_rate(env, s), s->concurrency, now);
    while (s->in_flight < limit && !env->stop) {
        int ready = ready_kind(s, allow_partial, now);
        if (ready == READY_NONE || !may_send(env, s, now, &wake))
            break;
        chunk *c;
        if (ready == READY_RETRY) {
            c = s->retry;
            s->retry = c->next;
        } else
            c = form_chunk(env, s, allow_partial);
        if (!c)
            break;
        send_chunk(env, s, c, now);
    }
    if (s->retry && s->retry->not_before_ns > now && s->retry->not_before_ns < wake)
        wake = s->retry->not_before_ns;
    return wake;
}

/* ---- state and figures --------------------------------------------------------- */

int source_rt_retry_pending(const source_rt *s) { return s->retry != NULL; }

size_t source_rt_retry_count(const source_rt *s)
{
    size_t n = 0;
    for (const chunk *c = s->retry; c; c = c->next)
        n++;
    return n;
}

int source_rt_has_full_chunk(const source_rt *s) { return s->q_len >= s->inst->chunk_size; }

double source_rt_rate(const source_rt *s, int current)
{
    double rate = s->lim ? limiter_rate(s->lim, current) : 0;
    if (s->throttle_ns > 0) {
        double by_throttle = (double)NS_PER_S / (double)s->throttle_ns;
        if (rate <= 0 || by_throttle < rate)
            rate = by_throttle;
    }
    return rate;
}

double source_rt_flow_rate(const source_env *env, const source_rt *s)
{
    double rate = source_rt_rate(s, 1);
    if (env->global) {
        double g = limiter_rate(env->global, 1);
        if (g > 0 && (rate <= 0 || g < rate))
            rate = g;
    }
    return rate;
}

double source_rt_capacity(const source_env *env, const source_rt *s)
{
    sched_source_rate r = {.rate_per_s = source_rt_flow_rate(env, s), .chunk = s->inst->chunk_size};
    return sched_source_capacity(&r);
}

long source_rt_inflight_limit(const source_rt *s) { return s->flow.limit; }

int64_t source_rt_latency_p90_ns(const source_rt *s) { return s->flow.limit_p90_ns; }

void source_rt_print_counts(const source_rt *s, FILE *out)
{
    const source_stats *st = &s->stats;
    fprintf(out, "%-14s %7zu %9llu %7llu %7llu %7llu %7llu %7llu %8llu %8llu %8llu %10.1f\n", s->inst->name,
            s->inst->chunk_size, (unsigned long long)st->requests, (unsigned long long)st->throttled,
            (unsigned long long)st->retries, (unsigned long long)st->fail_transport,
            (unsigned long long)st->fail_5xx, (unsigned long long)st->fail_4xx,
            (unsigned long long)st->tokens_found, (unsigned long long)st->tokens_missing,
            (unsigned long long)st->tokens_failed, (double)st->limiter_wait_ns / 1e9);
}

void source_rt_print_resilience(const source_rt *s, FILE *out)
{
    char rate[32] = "-";
    if (s->lim)
        snprintf(rate, sizeof rate, "%.3g/s", limiter_rate(s->lim, 1));
    fprintf(out, "%-14s %9s %7llu %11llu %9llu %7llu %9llu %10s\n", s->inst->name,
            breaker_state_name(s->brk.state), (unsigned long long)s->brk.opened,
            (unsigned long long)s->brk.transitions, (unsigned long long)s->stats.tokens_skipped,
            (unsigned long long)s->stats.tokens_kept, (unsigned long long)s->stats.retries_denied, rate);
}
