/* The batch pipeline (engine.h): builds the engine, claims tokens from the
 * store as batches, hands each token to the sources that owe it, collects
 * every source's outcome (engine_settle), and runs the loop that drives it
 * all, in --once and in daemon mode; finished batches are committed by
 * engine_commit.c. Must not pace, send or judge requests: that is each
 * source's runtime (source_runtime.c, source_answer.c), reached through
 * source_rt_*. */
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster_limiter.h"
#include "engine_pipeline.h"
#include "http.h"
#include "limiter.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "secrets.h"
#include "util.h"

/* The auto window never holds more tokens than this: every token in the
 * engine carries each source's values (~1.6 KB), and with limits far above
 * what the collector itself can do (the bench's unlimited runs) Little's
 * law asks for tens of thousands of tokens that only cost memory (a 50,000
 * cap: 119 MB of RSS, and slower). 4,000 covers 2,000 tokens/s at 400 ms p90
 * beside two 1,000-id requests; [core] max_concurrent_batches sets more. */
#define WINDOW_AUTO_MAX_TOKENS 4000

/* ---- construction -------------------------------------------------------- */

limiter *engine_limiter_named(engine *e, const char *name)
{
    for (size_t i = 0; name && i < e->n_limiters; i++)
        if (!strcmp(e->limiters[i]->name, name))
            return e->limiters[i];
    return NULL;
}

limiter *engine_add_limiter(engine *e, const cfg_limiter *cl, int64_t now)
{
    limiter *l = xcalloc(1, sizeof *l);
    limiter_init(l, cl->name, cl->rate_per_s, cl->burst, now);
    limiter_set_adaptive(l, cl->adaptive, now);
    if (cfg_limiter_cluster(cl)) { /* config.c refused it with any store but PostgreSQL */
        if (!e->cluster)
            e->cluster = cluster_new(e->cfg->store);
        l->cluster = cluster_add(e->cluster, cl->name, cl->rate_per_s, cl->burst, cl->adaptive, cl->cluster_ahead_ns);
    }
    e->limiters = xrealloc(e->limiters, (e->n_limiters + 1) * sizeof *e->limiters);
    e->limiters[e->n_limiters++] = l;
    return l;
}

static void init_limiters(engine *e, int64_t now)
{
    for (size_t i = 0; i < e->cfg->n_limiters; i++)
        engine_add_limiter(e, &e->cfg->limiters[i], now);
    engine_set_global_limiter(e, now);
}

void engine_set_global_limiter(engine *e, int64_t now)
{
    double rate = config_global_rate(e->cfg);
    if (rate > 0 && e->env.global)
        limiter_reconfigure(e->env.global, rate, e->cfg->global_burst, 0, now);
    else if (rate > 0) {
        e->env.global = xcalloc(1, sizeof *e->env.global);
        limiter_init(e->env.global, "global", rate, e->cfg->global_burst, now);
    } else if (e->env.global) {
        limiter_free(e->env.global);
        free(e->env.global);
        e->env.global = NULL;
    }
}

source_rt *engine_add_source(engine *e, source_instance *inst, const cfg_source *cs)
{
    source_rt *s = xcalloc(1, sizeof *s);
    source_rt_init(s, e->n_src, inst, cs, engine_limiter_named(e, cs->limiter));
    e->src = xrealloc(e->src, (e->n_src + 1) * sizeof *e->src);
    e->src_names = xrealloc(e->src_names, (e->n_src + 1) * sizeof *e->src_names);
    e->src[e->n_src] = s;
    e->src_names[e->n_src] = xstrdup(cs->name);
    e->n_src++;
    return s;
}

/* Loads every enabled source. */
static int open_sources(engine *e, char *err, size_t errlen)
{
    const config *cfg = e->cfg;
    for (size_t i = 0; i < cfg->n_sources; i++) {
        const cfg_source *cs = &cfg->sources[i];
        if (!cs->enabled)
            continue;
        source_instance *inst = registry_open(cfg->path, cfg->plugin_dir, cs, err, errlen);
        if (!inst)
            return -1;
        engine_add_source(e, inst, cs);
    }
    return 0;
}

void engine_refresh_active(engine *e)
{
    free(e->active);
    free(e->active_names);
    e->active = xcalloc(e->n_src ? e->n_src : 1, sizeof *e->active);
    e->active_names = xcalloc(e->n_src ? e->n_src : 1, sizeof *e->active_names);
    e->n_active = 0;
    for (size_t i = 0; i < e->n_src; i++)
        if (!e->src[i]->retired) {
            e->active_names[e->n_active] = e->src_names[i];
            e->active[e->n_active++] = i;
        }
    merge_plan_build(&e->plan, e->cfg, e->active_names, e->n_active);
    engine_route_fields(e);
}

void engine_size_window(engine *e)
{
    size_t largest_chunk = 1;
    for (size_t i = 0; i < e->n_src; i++)
        if (!e->src[i]->retired && e->src[i]->inst->chunk_size > largest_chunk)
            largest_chunk = e->src[i]->inst->chunk_size;
    e->batch_size = (size_t)e->cfg->batch_size;
    e->window_auto = e->cfg->max_concurrent_batches <= 0;
    if (e->cfg->max_concurrent_batches > 0) {
        e->window_tokens = e->batch_size * (size_t)e->cfg->max_concurrent_batches;
    } else {
        /* Enough tokens in flight for two full requests of the largest chunk,
         * so no source ever has to send a partial one mid-run. */
        size_t want = 2 * largest_chunk > 2 * e->batch_size ? 2 * largest_chunk : 2 * e->batch_size;
        e->window_tokens = (want + e->batch_size - 1) / e->batch_size * e->batch_size;
    }
    for (size_t i = 0; i < e->n_src; i++)
        if (!e->src[i]->retired && e->src[i]->inst->chunk_size > e->window_tokens)
            LOG_WARN(e->src[i]->inst->name,
                     "chunk_size %zu is above the %zu tokens in flight (batch_size x max_concurrent_batches): "
                     "its requests will carry at most %zu addresses",
                     e->src[i]->inst->chunk_size, e->window_tokens, e->window_tokens);
}

engine *engine_new(const config *cfg, store *st, char *err, size_t errlen)
{
    engine *e = xcalloc(1, sizeof *e);
    e->cfg = cfg;
    e->st = st;
    e->env.rng = (uint64_t)now_mono_ns() | 1;
    engine_collector_id(cfg, e->owner, sizeof e->owner);
    e->env.http = http_engine_new(cfg->connect_timeout_ms);
    if (!e->env.http) {
        snprintf(err, errlen, "cannot initialise libcurl");
        free(e);
        return NULL;
    }
    init_limiters(e, now_mono_ns());
    if (open_sources(e, err, errlen) != 0) {
        engine_free(e);
        return NULL;
    }
    engine_refresh_active(e);
    engine_size_window(e);
    engine_recover_claims(e);
    return e;
}

void engine_free_batch(batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        token_state *t = &b->tokens[i];
        for (size_t s = 0; s < b->n_slots; s++) {
            values_clear(&t->values[s]);
            free(t->errors[s]);
        }
        free(t->outcomes);
        free(t->values);
        free(t->errors);
        free(t->fetched_at);
        free(t->stored_price);
    }
    free(b->tokens);
    free(b);
}

void engine_free(engine *e)
{
    if (!e)
        return;
    /* Requests still on the wire after the grace period: their chunks (and
     * the plugin instances they hold) are freed unanswered. */
    http_engine_free(e->env.http, source_rt_abandon_chunk);
    while (e->open_batches) {
        batch *b = e->open_batches;
        e->open_batches = b->next;
        engine_free_batch(b);
    }
    for (size_t i = 0; i < e->n_src; i++) {
        source_rt_free(e->src[i]);
        free(e->src[i]);
        free(e->src_names[i]);
    }
    cluster_free(e->cluster); /* its limiters go with it */
    for (size_t i = 0; i < e->n_limiters; i++) {
        limiter_free(e->limiters[i]);
        free(e->limiters[i]);
    }
    free(e->limiters);
    if (e->env.global)
        limiter_free(e->env.global);
    free(e->env.global);
    free(e->src);
    free(e->src_names);
    free(e->active);
    free(e->active_names);
    free(e->fields);
    free(e->market);
    free(e->answered);
    free(e->priced);
    free(e);
}

void engine_request_stop(engine *e) { e->env.stop = 1; }

/* ---- admission: store -> batches -> source queues ----------------------------- */

/* 1 when source NAME is in the comma list OWED. */
static int is_owed(const char *owed, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = owed; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && !strncmp(p, name, n))
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* A claim of ours, with a fresh CLAIM_ID, at the configured lease. */
static claim_request new_claim(engine *e, char claim_id[160])
{
    snprintf(claim_id, 160, "%s:%ld:%llu:%08llx", e->owner, (long)getpid(), (unsigned long long)++e->claims,
             (unsigned long long)(xorshift64_star(&e->env.rng) & 0xffffffffu));
    return (claim_request){.owner = e->owner,
                           .claim_id = claim_id,
                           .now = now_wall_s(),
                           .lease_s = e->cfg->lease_seconds};
}

static void init_token(batch *b, token_state *t, const claimed_token *claimed)
{
    snprintf(t->addr, sizeof t->addr, "%s", claimed->address);
    t->owner = b;
    t->sources_left = b->n_slots;
    t->outcomes = xcalloc(b->n_slots, sizeof *t->outcomes);
    t->values = xcalloc(b->n_slots, sizeof *t->values);
    t->errors = xcalloc(b->n_slots, sizeof *t->errors);
    t->outstanding_attempts = claimed->outstanding_attempts;
    t->price_before = claimed->price_usd;
    t->fetched_at = xcalloc(b->n_slots, sizeof *t->fetched_at);
    t->stored_price = xmalloc(b->n_slots * sizeof *t->stored_price);
    for (size_t s = 0; s < b->n_slots; s++)
        t->stored_price[s] = NAN;
}

/* In a --once pass a token owed by some sources goes only to those (the
 * others keep their stored record); when none of them is configured any
 * more, it gets a full refresh. The daemon's old design (market_refresh =
 * all_sources) asks every source: the scheduler submits a token because it
 * is due for a refresh, and the owed sources are among them. The split
 * design (one_source, engine_route_split) asks the metadata sources when
 * the token's metadata is due and one market source that knows it; the
 * others keep their stored record. A source removed by a reload is owed
 * nothing; one paused by an operator stays owed (skipped). FRONT (refresh
 * now): queued before everything else, to every source. ASK: scratch of
 * n_src bytes. */
static void route_token(engine *e, token_state *t, const char *owed, int front, unsigned char *ask)
{
    int any_owed = 0;
    for (size_t k = 0; owed && !e->daemon && k < e->n_active; k++)
        any_owed |= is_owed(owed, e->active_names[k]);
    int split = engine_splits_market(e) && !front; /* refresh now: every source */
    if (split)
        engine_route_split(e, t, ask, now_wall_s());
    for (size_t s = 0; s < e->n_src; s++) {
        int keep = split ? !ask[s] : any_owed && !is_owed(owed, e->src_names[s]);
        if (e->src[s]->retired || keep)
            engine_settle(e->env.m, e->src[s], t, OUTCOME_KEPT, NULL);
        else if (e->src[s]->paused)
            engine_settle(e->env.m, e->src[s], t, OUTCOME_SKIPPED, "source paused by an operator");
        else if (front)
            source_rt_enqueue_front(e->src[s], t);
        else
            source_rt_enqueue(e->src[s], t);
    }
}

/* Turns claimed tokens into an open batch and queues each to the sources
 * that owe it. */
static void open_batch(engine *e, const char *claim_id, const claimed_token *claimed, size_t n, int front)
{
    batch *b = xcalloc(1, sizeof *b);
    b->tokens = xcalloc(n, sizeof *b->tokens);
    snprintf(b->claim_id, sizeof b->claim_id, "%s", claim_id);
    b->opened_ns = now_mono_ns();
    b->n = b->left = n;
    b->n_slots = e->n_src;
    b->next = e->open_batches;
    e->open_batches = b;
    e->tokens_open += n;
    for (size_t i = 0; i < n; i++)
        init_token(b, &b->tokens[i], &claimed[i]);
    engine_load_fetches(e, b);
    unsigned char *ask = xmalloc(e->n_src ? e->n_src : 1);
    for (size_t i = 0; i < n; i++)
        route_token(e, &b->tokens[i], claimed[i].outstanding, front, ask);
    free(ask);
}

static int admit_batch(engine *e, char *err, size_t errlen)
{
    claimed_token *claimed = NULL;
    size_t n = 0;
    char claim_id[160];
    claim_request rq = new_claim(e, claim_id);
    rq.max = e->batch_size;
    if (store_claim(e->st, &rq, &claimed, &n, err, errlen) != 0)
        return -1;
    if (n < e->batch_size)
        e->store_exhausted = 1;
    if (n)
        open_batch(e, claim_id, claimed, n, 0);
    claimed_tokens_free(claimed, n);
    return 0;
}

/* Tells the scheduler which of ADDRS another collector holds. */
static void report_not_claimed(engine *e, const char *const *addrs, size_t n, const claimed_token *claimed,
                               size_t got)
{
    for (size_t i = 0; i < n; i++) {
        int taken = 0;
        for (size_t j = 0; j < got && !taken; j++)
            taken = !strcmp(claimed[j].address, addrs[i]);
        if (!taken)
            e->hooks.not_refreshed(e->hooks.ctx, addrs[i]);
    }
}

static int submit(engine *e, const char *const *addrs, size_t n, int64_t due_before, int front, size_t *claimed_n,
                  char *err, size_t errlen)
{
    *claimed_n = 0;
    claimed_token *claimed = NULL;
    size_t got = 0;
    char claim_id[160];
    claim_request rq = new_claim(e, claim_id);
    rq.due_before = due_before;
    int64_t t0 = now_mono_ns();
    int rc = store_claim_addresses(e->st, &rq, addrs, n, &claimed, &got, err, errlen);
    if (e->env.m) {
        metrics_time(e->env.m, METRICS_ALL, MT_STORE_CLAIM, now_mono_ns() - t0);
        if (rc != 0)
            metrics_store_error(e->env.m, MS_CLAIM);
    }
    if (rc != 0)
        return -1;
    if (got < n && e->hooks.not_refreshed)
        report_not_claimed(e, addrs, n, claimed, got);
    if (got)
        open_batch(e, claim_id, claimed, got, front);
    claimed_tokens_free(claimed, got);
    *claimed_n = got;
    return 0;
}

int engine_submit(engine *e, const char *const *addrs, size_t n, int64_t due_before, size_t *claimed_n, char *err,
                  size_t errlen)
{
    return submit(e, addrs, n, due_before, 0, claimed_n, err, errlen);
}

int engine_refresh_now(engine *e, const char *addr, size_t *claimed, char *err, size_t errlen)
{
    return submit(e, &addr, 1, 0, 1, claimed, err, errlen);
}

/* ---- outcomes, merge, commit ------------------------------------------------ */

void engine_settle(metrics *m, source_rt *s, token_state *t, source_outcome o, const char *error)
{
    if (t->outcomes[s->index] != OUTCOME_PENDING)
        return;
    t->outcomes[s->index] = o;
    if (error) {
        t->errors[s->index] = xstrdup(error);
        secrets_scrub(t->errors[s->index]); /* stored: no key travels to the store */
    }
    if (m && (o == OUTCOME_FOUND || o == OUTCOME_MISSING))
        metrics_count(m, s->index, MC_TOKENS, 1);
    if (o == OUTCOME_FOUND)
        s->stats.tokens_found++;
    else if (o == OUTCOME_MISSING)
        s->stats.tokens_missing++;
    else if (o == OUTCOME_FAILED)
        s->stats.tokens_failed++;
    else if (o == OUTCOME_SKIPPED)
        s->stats.tokens_skipped++;
    else if (o == OUTCOME_KEPT)
        s->stats.tokens_kept++;
    if (--t->sources_left == 0)
        t->owner->left--;
}

/* ---- the loop ------------------------------------------------------------------ */

/* Lets every source send what it may; returns when the earliest of them
 * could send more (INT64_MAX: none waits on time). */
static int64_t dispatch_all(engine *e, int allow_partial, int64_t now)
{
    int64_t wake = INT64_MAX;
    for (size_t i = 0; i < e->n_src && !e->hold; i++) {
        int64_t w = source_rt_dispatch(&e->env, e->src[i], allow_partial, now);
        if (w < wake)
            wake = w;
    }
    return wake;
}

/* How long to wait for the network: until WAKE, at most CAP_MS. */
static int poll_timeout_ms(int64_t wake, int cap_ms)
{
    if (wake == INT64_MAX)
        return cap_ms;
    int64_t ms = (wake - now_mono_ns() + NS_PER_MS - 1) / NS_PER_MS;
    if (ms < cap_ms)
        return ms < 0 ? 0 : (int)ms;
    return cap_ms;
}

static int any_retry_pending(const engine *e)
{
    for (size_t i = 0; i < e->n_src; i++)
        if (source_rt_retry_pending(e->src[i]))
            return 1;
    return 0;
}

static int any_full_chunk(const engine *e)
{
    for (size_t i = 0; i < e->n_src; i++)
        if (source_rt_has_full_chunk(e->src[i]))
            return 1;
    return 0;
}

/* The auto window: two full requests of the largest chunk (window_tokens)
 * plus what the tokens' time in the engine needs by Little's law: the
 * tokens/s the limits allow (the tightest source's capacity, each token
 * going to every source) times the slowest source's p90 latency with the
 * in-flight headroom. Without it a source's requests could be in flight
 * while nothing is left for it to ask: latency would cap it through the
 * window instead of through its in-flight limit. */
static size_t flow_window(const engine *e)
{
    double capacity = INFINITY, latency_s = 0;
    for (size_t i = 0; i < e->n_src; i++) {
        source_rt *s = e->src[i];
        if (s->retired)
            continue;
        capacity = fmin(capacity, source_rt_capacity(&e->env, s));
        latency_s = fmax(latency_s, (double)source_rt_latency_p90_ns(s) / 1e9);
    }
    double want = (double)e->window_tokens;
    if (isfinite(capacity))
        want += capacity * latency_s * INFLIGHT_HEADROOM;
    if (want > WINDOW_AUTO_MAX_TOKENS)
        want = fmax(WINDOW_AUTO_MAX_TOKENS, (double)e->window_tokens);
    size_t n = (size_t)ceil(want);
    return (n + e->batch_size - 1) / e->batch_size * e->batch_size;
}

/* Tokens the engine may hold now: the fixed window, or the auto one. */
static size_t engine_window_now(const engine *e)
{
    return e->window_auto ? flow_window(e) : e->window_tokens;
}

/* Claims batches while the window has room; -1 when the store failed (no
 * more claims this pass). */
static int fill_window(engine *e)
{
    char err[512];
    size_t window = engine_window_now(e);
    while (!e->store_exhausted && e->tokens_open + e->batch_size <= window)
        if (admit_batch(e, err, sizeof err) != 0) {
            LOG_ERROR("store", "%s", err);
            e->store_exhausted = 1;
            return -1;
        }
    return 0;
}

/* Partial chunks go only when waiting cannot fill them: the store is
 * drained, or the window is full and nothing else can move. */
static int partial_chunks_allowed(const engine *e)
{
    int can_admit = !e->store_exhausted && !e->env.stop;
    return !can_admit && (e->store_exhausted || e->env.stop ||
                          (http_in_flight(e->env.http) == 0 && !any_retry_pending(e) && !any_full_chunk(e)));
}

static void print_progress(engine *e, FILE *progress, int64_t started_ns, int final)
{
    double secs = (double)(now_mono_ns() - started_ns) / 1e9;
    uint64_t done = e->committed + e->commit_failures;
    fprintf(progress, "\r%llu/%llu tokens  %5.1f%%  %6.1f s  requests:", (unsigned long long)done,
            (unsigned long long)e->total_pending,
            e->total_pending ? 100.0 * (double)done / (double)e->total_pending : 100.0, secs);
    for (size_t i = 0; i < e->n_src; i++)
        fprintf(progress, " %s %llu", e->src[i]->inst->name, (unsigned long long)e->src[i]->stats.requests);
    fprintf(progress, final ? "\n" : "  ");
    fflush(progress);
}

int engine_run_once(engine *e, FILE *progress)
{
    char err[512];
    uint64_t counts[STATUS_COUNT];
    if (store_count_by_status(e->st, counts, err, sizeof err) == 0)
        e->total_pending = counts[STATUS_PENDING];
    int64_t started = now_mono_ns(), last_progress = 0;
    int store_failed = 0;
    for (;;) {
        if (!e->env.stop && !store_failed && fill_window(e) != 0)
            store_failed = 1;
        int64_t now = now_mono_ns();
        int64_t wake = dispatch_all(e, partial_chunks_allowed(e), now);
        int more = engine_commit_finished(e);
        if (progress && (now - last_progress > 250 * NS_PER_MS)) {
            print_progress(e, progress, started, 0);
            last_progress = now;
        }
        if (e->open_batches == NULL && e->store_exhausted && http_in_flight(e->env.http) == 0)
            break;
        if (e->env.stop && http_in_flight(e->env.http) == 0)
            break; /* stopping: tokens not yet sent stay pending in the store */
        http_poll(e->env.http, more ? 0 : poll_timeout_ms(wake, 200));
        engine_commit_finished(e);
    }
    engine_release_open(e);
    if (progress)
        print_progress(e, progress, started, 1);
    if (e->commit_failures || store_failed)
        return -1;
    /* Every token of the pass failed (no source answered, or the owed ones
     * never did): a pass that did nothing useful is not a success. */
    if (e->committed && e->committed_failed == e->committed) {
        LOG_ERROR("engine", "every one of the %llu tokens of this pass failed", (unsigned long long)e->committed);
        return -1;
    }
    return 0;
}

/* ---- daemon mode -------------------------------------------------------------- */

void engine_set_daemon(engine *e, const engine_hooks *hooks)
{
    e->daemon = 1;
    e->store_exhausted = 1; /* no claims of its own: partial chunks go at once */
    if (hooks)
        e->hooks = *hooks;
}

void engine_set_metrics(engine *e, metrics *m) { e->env.m = m; }

void engine_step(engine *e, int timeout_ms)
{
    int64_t wake = dispatch_all(e, 1, now_mono_ns());
    int more = engine_commit_finished(e);
    http_poll(e->env.http, more ? 0 : poll_timeout_ms(wake, timeout_ms));
    engine_commit_finished(e);
}

size_t engine_tokens_open(const engine *e) { return e->tokens_open; }
size_t engine_window(const engine *e) { return engine_window_now(e); }
size_t engine_requests_in_flight(const engine *e) { return (size_t)http_in_flight(e->env.http); }
double engine_source_rate(const engine *e, size_t i, int current)
{
    return e->src[i]->retired ? 0 : source_rt_rate(e->src[i], current);
}
int engine_source_active(const engine *e, size_t i) { return !e->src[i]->retired; }

void engine_hold(engine *e, int hold) { e->hold = hold != 0; }
int engine_held(const engine *e) { return e->hold; }
void engine_source_pause(engine *e, size_t i, int paused) { e->src[i]->paused = paused != 0; }

void engine_source_view_of(const engine *e, size_t i, engine_source_view *v)
{
    source_rt *s = e->src[i];
    source_rt_sync_stats(s);
    int64_t now = now_mono_ns();
    const source_instance *inst = s->inst;
    *v = (engine_source_view){.name = e->src_names[i],
                              .plugin = inst->vt->name,
                              .version = inst->vt->version ? inst->vt->version : "?",
                              .abi_major = inst->vt->abi_major,
                              .abi_minor = inst->vt->abi_minor,
                              .file = inst->path,
                              .loaded_at = inst->loaded_at,
                              .active = !s->retired,
                              .paused = s->paused || e->hold,
                              .breaker = breaker_state_at(&s->brk, now),
                              .limiter = s->lim ? s->lim->name : NULL,
                              .rate_now = source_rt_rate(s, 1),
                              .rate_max = source_rt_rate(s, 0),
                              .chunk = inst->chunk_size,
                              .concurrency = s->concurrency,
                              .inflight_limit = source_rt_inflight_limit(s),
                              .latency_p90_s = (double)source_rt_latency_p90_ns(s) / 1e9,
                              .in_flight = s->in_flight,
                              .queued = s->q_len,
                              .retry_waiting = source_rt_retry_count(s),
                              .stats = s->stats};
}

/* ---- accessors and summary ---------------------------------------------------- */

size_t engine_source_count(const engine *e) { return e->n_src; }
const char *engine_source_name(const engine *e, size_t i) { return e->src_names[i]; }
const source_stats *engine_source_stats(const engine *e, size_t i)
{
    source_rt_sync_stats(e->src[i]);
    return &e->src[i]->stats;
}
size_t engine_source_chunk_size(const engine *e, size_t i) { return e->src[i]->inst->chunk_size; }
uint64_t engine_tokens_committed(const engine *e) { return e->committed; }
uint64_t engine_commit_failures(const engine *e) { return e->commit_failures; }

void engine_print_summary(engine *e, FILE *out, double wall_s)
{
    char err[256];
    uint64_t counts[STATUS_COUNT] = {0};
    int have_counts = store_count_by_status(e->st, counts, err, sizeof err) == 0;
    fprintf(out, "summary: %llu tokens processed in %.1f s", (unsigned long long)e->committed, wall_s);
    if (e->commit_failures)
        fprintf(out, " (%llu not stored: store errors, still pending)", (unsigned long long)e->commit_failures);
    fprintf(out, "\n");
    if (have_counts)
        fprintf(out, "tokens by status: enriched %llu, no_data %llu, failed %llu, pending %llu\n",
                (unsigned long long)counts[STATUS_ENRICHED], (unsigned long long)counts[STATUS_NO_DATA],
                (unsigned long long)counts[STATUS_FAILED], (unsigned long long)counts[STATUS_PENDING]);
    const claim_recovery *rc = &e->recovery;
    if (rc->taken_back || rc->foreign)
        fprintf(out, "claims: %zu taken back from a previous run of %s; %zu held by other collectors (the last "
                "ends in %lld s)\n", rc->taken_back, e->owner, rc->foreign,
                (long long)(rc->foreign ? rc->foreign_last_until - now_wall_s() : 0));
    fprintf(out, "%-14s %7s %9s %7s %7s %7s %7s %7s %8s %8s %8s %10s\n", "source", "chunk", "requests", "429s",
            "retries", "transp", "5xx", "4xx", "found", "missing", "failed", "limiter_s");
    uint64_t total_req = 0, total_429 = 0;
    for (size_t i = 0; i < e->n_src; i++) {
        source_rt_print_counts(e->src[i], out);
        total_req += e->src[i]->stats.requests;
        total_429 += e->src[i]->stats.throttled;
    }
    fprintf(out, "total requests: %llu, HTTP 429 received: %llu\n", (unsigned long long)total_req,
            (unsigned long long)total_429);
    fprintf(out, "%-14s %9s %7s %11s %9s %7s %9s %10s\n", "resilience", "breaker", "opened", "transitions",
            "skipped", "kept", "r_denied", "rate_now");
    for (size_t i = 0; i < e->n_src; i++)
        source_rt_print_resilience(e->src[i], out);
    cluster_stats cs[16];
    cluster_stats_print(cs, engine_cluster_stats(e, cs, sizeof cs / sizeof cs[0]), out);
}

size_t engine_cluster_stats(engine *e, cluster_stats *out, size_t max)
{
    return cluster_stats_collect(e->cluster, out, max);
}
