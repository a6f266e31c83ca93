#include "engine.h"

#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backoff.h"
#include "breaker.h"
#include "http.h"
#include "limiter.h"
#include "log.h"
#include "merge.h"
#include "metrics.h"
#include "registry.h"
#include "str_index.h"
#include "util.h"

/* Backoff for transient failures: full jitter, U(0, min(cap, base * 2^k)). */
#define BACKOFF_BASE_NS (500 * NS_PER_MS)
#define BACKOFF_CAP_NS (30 * NS_PER_S)
/* A chunk answered 429 this many times in a row is given up for this pass. */
#define MAX_THROTTLED_RESENDS 50
/* Retries always allowed on top of the retry budget's share of requests, so
 * a source with few requests can still retry. */
#define RETRY_BUDGET_FLOOR 10

typedef struct batch batch;

typedef struct token_state {
    char addr[48];
    batch *owner;
    size_t sources_left;
    source_outcome *outcomes; /* [n_sources] */
    tc_values *values;        /* [n_sources] */
    char **errors;            /* [n_sources] */
    int outstanding_attempts; /* from the claim: earlier passes that left sources owed */
    double price_before;      /* stored price at claim (daemon mode), NAN: none */
} token_state;

struct batch {
    char claim_id[160];
    int64_t opened_ns;
    token_state *tokens;
    size_t n;
    size_t left; /* tokens not yet answered by every source */
    batch *next;
};

typedef struct source_rt source_rt;

typedef struct chunk {
    source_rt *src;
    source_instance *inst; /* referenced while the chunk exists */
    token_state **tokens;
    const char **addrs;
    size_t n;
    int attempt;           /* transient failures so far */
    int throttled;         /* 429s in a row */
    int64_t not_before_ns;
    int64_t ready_since_ns; /* when it first could have gone but for the limiter */
    int64_t sent_ns;
    struct chunk *next;
    engine *eng;
    tc_request req;
} chunk;

struct source_rt {
    size_t index;
    source_instance *inst;
    limiter *lim;          /* shared [limiter NAME], or NULL */
    int64_t throttle_ns;
    int64_t next_allowed_ns; /* throttle_ms gap */
    long timeout_ms;
    long concurrency;
    long max_attempts;
    int in_flight;
    token_state **queue;   /* FIFO of tokens not yet sent to this source */
    size_t q_head, q_len, q_cap;
    chunk *retry;          /* chunks waiting to be sent again */
    breaker brk;
    double retry_budget;
    int64_t waiting_since_ns; /* a chunk was ready but the limiter said wait */
    source_stats stats;
};

struct engine {
    const config *cfg;
    store *st;
    http_engine *http;
    source_rt *src;
    size_t n_src;
    limiter *limiters;
    size_t n_limiters;
    limiter *global;       /* [core] global_rate over every source, or NULL */
    merge_plan plan;
    const char **src_names;
    size_t window_tokens;
    size_t batch_size;
    batch *open_batches;
    size_t tokens_open;
    int store_exhausted;
    char owner[128];       /* "host:pid", recorded with each claim */
    uint64_t claims;       /* claim ids are owner:claims:random */
    uint64_t committed, commit_failures, fenced, total_pending;
    uint64_t rng;
    volatile sig_atomic_t stop;
    int daemon;
    engine_hooks hooks;
    metrics *m;
};

/* ---- small helpers ---------------------------------------------------------- */

static uint64_t next_random(engine *e)
{
    /* xorshift64*: only for jitter, never for anything secret. */
    e->rng ^= e->rng >> 12;
    e->rng ^= e->rng << 25;
    e->rng ^= e->rng >> 27;
    return e->rng * UINT64_C(2685821657736338717);
}

static int64_t backoff_ns(engine *e, int attempt)
{
    return backoff_full_jitter_ns(attempt, BACKOFF_BASE_NS, BACKOFF_CAP_NS, next_random(e));
}

static void queue_push(source_rt *s, token_state *t)
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
    s->queue[(s->q_head + s->q_len) % s->q_cap] = t;
    s->q_len++;
}

static token_state *queue_pop(source_rt *s)
{
    token_state *t = s->queue[s->q_head];
    s->q_head = (s->q_head + 1) % s->q_cap;
    s->q_len--;
    return t;
}

/* ---- construction -------------------------------------------------------- */

engine *engine_new(const config *cfg, store *st, char *err, size_t errlen)
{
    engine *e = xcalloc(1, sizeof *e);
    e->cfg = cfg;
    e->st = st;
    e->rng = (uint64_t)now_mono_ns() | 1;
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(e->owner, sizeof e->owner, "%s:%ld", host, (long)getpid());
    e->http = http_engine_new(cfg->connect_timeout_ms);
    if (!e->http) {
        snprintf(err, errlen, "cannot initialise libcurl");
        free(e);
        return NULL;
    }
    int64_t now = now_mono_ns();
    e->n_limiters = cfg->n_limiters;
    e->limiters = xcalloc(cfg->n_limiters ? cfg->n_limiters : 1, sizeof *e->limiters);
    for (size_t i = 0; i < cfg->n_limiters; i++) {
        limiter_init(&e->limiters[i], cfg->limiters[i].name, cfg->limiters[i].rate_per_s,
                     cfg->limiters[i].burst, now);
        limiter_set_adaptive(&e->limiters[i], cfg->limiters[i].adaptive, now);
    }
    double global = config_global_rate(cfg);
    if (global > 0) {
        e->global = xcalloc(1, sizeof *e->global);
        limiter_init(e->global, "global", global, cfg->global_burst, now);
    }
    e->src = xcalloc(cfg->n_sources, sizeof *e->src);
    e->src_names = xcalloc(cfg->n_sources, sizeof *e->src_names);
    size_t largest_chunk = 1;
    for (size_t i = 0; i < cfg->n_sources; i++) {
        const cfg_source *cs = &cfg->sources[i];
        if (!cs->enabled)
            continue;
        source_instance *inst = registry_open(cfg->path, cfg->plugin_dir, cs, err, errlen);
        if (!inst) {
            engine_free(e);
            return NULL;
        }
        source_rt *s = &e->src[e->n_src];
        s->index = e->n_src;
        s->inst = inst;
        s->throttle_ns = cs->throttle_ms * NS_PER_MS;
        s->timeout_ms = cs->timeout_ms;
        s->concurrency = cs->concurrency;
        s->max_attempts = cs->max_attempts;
        s->retry_budget = cs->retry_budget;
        breaker_config bc = {.window = (int)cs->breaker_window,
                             .min_calls = (int)cs->breaker_min_calls,
                             .threshold = cs->breaker_threshold,
                             .open_ns = cs->breaker_open_s * NS_PER_S,
                             .open_max_ns = cs->breaker_open_max_s * NS_PER_S,
                             .probes = (int)cs->breaker_probes};
        breaker_init(&s->brk, &bc);
        for (size_t l = 0; cs->limiter && l < cfg->n_limiters; l++)
            if (!strcmp(cfg->limiters[l].name, cs->limiter))
                s->lim = &e->limiters[l];
        e->src_names[e->n_src] = inst->name;
        if (inst->chunk_size > largest_chunk)
            largest_chunk = inst->chunk_size;
        e->n_src++;
    }
    merge_plan_build(&e->plan, cfg, e->src_names, e->n_src);
    e->batch_size = (size_t)cfg->batch_size;
    if (cfg->max_concurrent_batches > 0) {
        e->window_tokens = e->batch_size * (size_t)cfg->max_concurrent_batches;
    } else {
        /* Enough tokens in flight for two full requests of the largest chunk,
         * so no source ever has to send a partial one mid-run. */
        size_t want = 2 * largest_chunk > 2 * e->batch_size ? 2 * largest_chunk : 2 * e->batch_size;
        e->window_tokens = (want + e->batch_size - 1) / e->batch_size * e->batch_size;
    }
    for (size_t i = 0; i < e->n_src; i++)
        if (e->src[i].inst->chunk_size > e->window_tokens)
            LOG_WARN(e->src[i].inst->name,
                     "chunk_size %zu is above the %zu tokens in flight (batch_size x max_concurrent_batches): "
                     "its requests will carry at most %zu addresses",
                     e->src[i].inst->chunk_size, e->window_tokens, e->window_tokens);
    return e;
}

static void free_chunk(chunk *c)
{
    request_reset(&c->req);
    source_unref(c->inst);
    free(c->tokens);
    free(c->addrs);
    free(c);
}

static void free_batch(engine *e, batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        token_state *t = &b->tokens[i];
        for (size_t s = 0; s < e->n_src; s++) {
            values_clear(&t->values[s]);
            free(t->errors[s]);
        }
        free(t->outcomes);
        free(t->values);
        free(t->errors);
    }
    free(b->tokens);
    free(b);
}

void engine_free(engine *e)
{
    if (!e)
        return;
    http_engine_free(e->http); /* in-flight chunks are abandoned with the process */
    while (e->open_batches) {
        batch *b = e->open_batches;
        e->open_batches = b->next;
        free_batch(e, b);
    }
    for (size_t i = 0; i < e->n_src; i++) {
        source_rt *s = &e->src[i];
        while (s->retry) {
            chunk *c = s->retry;
            s->retry = c->next;
            free_chunk(c);
        }
        free(s->queue);
        source_unref(s->inst);
    }
    for (size_t i = 0; i < e->n_limiters; i++)
        limiter_free(&e->limiters[i]);
    free(e->limiters);
    if (e->global)
        limiter_free(e->global);
    free(e->global);
    free(e->src);
    free(e->src_names);
    free(e);
}

void engine_request_stop(engine *e) { e->stop = 1; }

/* ---- admission: store -> batches -> source queues ----------------------------- */

static void settle(engine *e, source_rt *s, token_state *t, source_outcome o, const char *error);

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

static void next_claim_id(engine *e, char out[160])
{
    snprintf(out, 160, "%s:%llu:%08llx", e->owner, (unsigned long long)++e->claims,
             (unsigned long long)(next_random(e) & 0xffffffffu));
}

/* Turns claimed tokens into an open batch and queues each to the sources
 * that owe it. */
static void open_batch(engine *e, const char *claim_id, const claimed_token *claimed, size_t n)
{
    batch *b = xcalloc(1, sizeof *b);
    b->tokens = xcalloc(n, sizeof *b->tokens);
    snprintf(b->claim_id, sizeof b->claim_id, "%s", claim_id);
    b->opened_ns = now_mono_ns();
    b->n = b->left = n;
    b->next = e->open_batches;
    e->open_batches = b;
    e->tokens_open += n;
    for (size_t i = 0; i < n; i++) {
        token_state *t = &b->tokens[i];
        snprintf(t->addr, sizeof t->addr, "%s", claimed[i].address);
        t->owner = b;
        t->sources_left = e->n_src;
        t->outcomes = xcalloc(e->n_src, sizeof *t->outcomes);
        t->values = xcalloc(e->n_src, sizeof *t->values);
        t->errors = xcalloc(e->n_src, sizeof *t->errors);
        t->outstanding_attempts = claimed[i].outstanding_attempts;
        t->price_before = claimed[i].price_usd;
        /* A token owed by some sources goes only to those; when none of them
         * is configured any more, it gets a full refresh. */
        const char *owed = claimed[i].outstanding;
        int any_owed = 0;
        for (size_t s = 0; owed && s < e->n_src; s++)
            any_owed |= is_owed(owed, e->src_names[s]);
        for (size_t s = 0; s < e->n_src; s++) {
            if (any_owed && !is_owed(owed, e->src_names[s]))
                settle(e, &e->src[s], t, OUTCOME_KEPT, NULL);
            else
                queue_push(&e->src[s], t);
        }
    }
}

static int admit_batch(engine *e, char *err, size_t errlen)
{
    claimed_token *claimed = NULL;
    size_t n = 0;
    char claim_id[160];
    next_claim_id(e, claim_id);
    claim_request rq = {.owner = e->owner,
                        .claim_id = claim_id,
                        .now = now_wall_s(),
                        .lease_s = e->cfg->lease_seconds,
                        .max = e->batch_size,
                        .due = 0};
    if (store_claim(e->st, &rq, &claimed, &n, err, errlen) != 0)
        return -1;
    if (n < e->batch_size)
        e->store_exhausted = 1;
    if (n)
        open_batch(e, claim_id, claimed, n);
    claimed_tokens_free(claimed, n);
    return 0;
}

int engine_submit(engine *e, const char *const *addrs, size_t n, int64_t due_before, size_t *claimed_n, char *err,
                  size_t errlen)
{
    *claimed_n = 0;
    claimed_token *claimed = NULL;
    size_t got = 0;
    char claim_id[160];
    next_claim_id(e, claim_id);
    claim_request rq = {.owner = e->owner,
                        .claim_id = claim_id,
                        .now = now_wall_s(),
                        .lease_s = e->cfg->lease_seconds,
                        .due_before = due_before};
    if (store_claim_addresses(e->st, &rq, addrs, n, &claimed, &got, err, errlen) != 0)
        return -1;
    if (got < n && e->hooks.not_refreshed) {
        /* Tell the scheduler which ones another collector holds. */
        for (size_t i = 0; i < n; i++) {
            int taken = 0;
            for (size_t j = 0; j < got && !taken; j++)
                taken = !strcmp(claimed[j].address, addrs[i]);
            if (!taken)
                e->hooks.not_refreshed(e->hooks.ctx, addrs[i]);
        }
    }
    if (got)
        open_batch(e, claim_id, claimed, got);
    claimed_tokens_free(claimed, got);
    *claimed_n = got;
    return 0;
}

/* ---- outcomes, merge, commit ------------------------------------------------ */

static void settle(engine *e, source_rt *s, token_state *t, source_outcome o, const char *error)
{
    if (t->outcomes[s->index] != OUTCOME_PENDING)
        return;
    t->outcomes[s->index] = o;
    if (error)
        t->errors[s->index] = xstrdup(error);
    if (e->m && (o == OUTCOME_FOUND || o == OUTCOME_MISSING))
        metrics_count(e->m, s->index, MC_TOKENS, 1);
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

/* Stored per-source records of the tokens of one batch being committed. */
typedef struct stored_records {
    engine *e;
    batch *b;
    tc_values *v; /* [b->n * n_src] */
} stored_records;

static void on_stored_record(void *ctx, const char *addr, const char *source, const char *json)
{
    stored_records *r = ctx;
    for (size_t i = 0; i < r->b->n; i++) {
        if (strcmp(r->b->tokens[i].addr, addr) != 0)
            continue;
        for (size_t s = 0; s < r->e->n_src; s++)
            if (!strcmp(r->e->src_names[s], source) &&
                values_from_json(&r->v[i * r->e->n_src + s], json) != 0)
                LOG_WARN("store", "token %s: stored %s record is not valid JSON; ignored", addr, source);
        return;
    }
}

static int needs_stored(const token_state *t, size_t n_src)
{
    for (size_t s = 0; s < n_src; s++)
        if (t->outcomes[s] != OUTCOME_FOUND && t->outcomes[s] != OUTCOME_MISSING)
            return 1;
    return 0;
}

/* Sources not answered this pass (kept, failed, skipped) contribute their
 * stored record, so the merge sees every source's latest data. */
static token_status merge_with_stored(engine *e, const token_state *t, const tc_values *stored, tc_values *merged)
{
    size_t n = e->n_src;
    tc_values *eff = xcalloc(n, sizeof *eff);
    source_outcome *eff_o = xcalloc(n, sizeof *eff_o);
    int found = 0, answered = 0;
    for (size_t s = 0; s < n; s++) {
        source_outcome o = t->outcomes[s];
        if (o == OUTCOME_FOUND) {
            eff[s] = t->values[s];
            eff_o[s] = OUTCOME_FOUND;
        } else if (o != OUTCOME_MISSING && stored && stored[s].known) {
            eff[s] = stored[s];
            eff_o[s] = OUTCOME_FOUND;
        } else
            eff_o[s] = OUTCOME_MISSING;
        found |= eff_o[s] == OUTCOME_FOUND;
        answered |= o == OUTCOME_MISSING || o == OUTCOME_KEPT;
    }
    merge_token(&e->plan, eff, eff_o, n, merged);
    free(eff); /* shallow copies: the values belong to the token and STORED */
    free(eff_o);
    if (found)
        return STATUS_ENRICHED;
    /* failed only when no source answered at all */
    return answered ? STATUS_NO_DATA : STATUS_FAILED;
}

/* When a token owed by some sources is tried again: doubling from
 * outstanding_retry_min_s up to outstanding_retry_max_s. */
static int64_t outstanding_retry_at(const engine *e, int attempts, int64_t now)
{
    int64_t delay = e->cfg->outstanding_retry_min_s;
    for (int i = 1; i < attempts && delay < e->cfg->outstanding_retry_max_s; i++)
        delay *= 2;
    if (delay > e->cfg->outstanding_retry_max_s)
        delay = e->cfg->outstanding_retry_max_s;
    return now + (delay > 0 ? delay : 1);
}

static void commit_batch(engine *e, batch *b)
{
    char err[512];
    int64_t now = now_wall_s();
    token_result *res = xcalloc(b->n, sizeof *res);
    stored_records rec = {.e = e, .b = b, .v = NULL};
    const char **want = xmalloc(b->n * sizeof *want);
    size_t n_want = 0;
    for (size_t i = 0; i < b->n; i++)
        if (needs_stored(&b->tokens[i], e->n_src))
            want[n_want++] = b->tokens[i].addr;
    if (n_want) {
        rec.v = xcalloc(b->n * e->n_src, sizeof *rec.v);
        if (store_load_sources(e->st, want, n_want, on_stored_record, &rec, err, sizeof err) != 0)
            LOG_WARN("store", "%s (merging without the stored records of unanswered sources)", err);
    }
    free(want);
    for (size_t i = 0; i < b->n; i++) {
        token_state *t = &b->tokens[i];
        res[i].address = t->addr;
        res[i].status = merge_with_stored(e, t, rec.v ? &rec.v[i * e->n_src] : NULL, &res[i].merged);
        res[i].n_sources = e->n_src;
        res[i].source_names = e->src_names;
        res[i].outcomes = t->outcomes;
        res[i].per_source = t->values;
        res[i].errors = t->errors;
        res[i].priority_score = NAN;
        int owed = 0;
        size_t answered = 0;
        for (size_t s = 0; s < e->n_src; s++) {
            owed |= t->outcomes[s] == OUTCOME_FAILED || t->outcomes[s] == OUTCOME_SKIPPED;
            answered += t->outcomes[s] == OUTCOME_FOUND || t->outcomes[s] == OUTCOME_MISSING;
        }
        if (e->hooks.next_refresh) {
            double after = values_has(&res[i].merged, TC_PRICE_USD) ? res[i].merged.num[TC_PRICE_USD] : NAN;
            res[i].next_refresh_at = e->hooks.next_refresh(e->hooks.ctx, t->addr, res[i].status, answered,
                                                           t->price_before, after, &res[i].refresh_interval_s,
                                                           &res[i].priority_score);
        }
        if (owed) {
            res[i].outstanding_attempts = t->outstanding_attempts + 1;
            int64_t retry = outstanding_retry_at(e, res[i].outstanding_attempts, now);
            if (!res[i].next_refresh_at || retry < res[i].next_refresh_at)
                res[i].next_refresh_at = retry;
        }
    }
    size_t fenced = 0;
    if (store_commit(e->st, res, b->n, now, b->claim_id, &fenced, err, sizeof err) != 0) {
        /* The transaction rolled back: these tokens stay pending and are
         * picked up by the next pass. Nothing half-written. */
        LOG_ERROR("store", "%s", err);
        e->commit_failures += b->n;
    } else {
        e->committed += b->n - fenced;
        e->fenced += fenced;
        if (e->m) {
            metrics_count(e->m, METRICS_ALL, MC_TOKENS, b->n - fenced);
            metrics_count(e->m, METRICS_ALL, MC_BATCHES, 1);
            metrics_latency(e->m, METRICS_ALL, now_mono_ns() - b->opened_ns);
        }
        if (fenced)
            LOG_WARN("store", "%zu tokens of a batch were claimed by another collector after our lease "
                     "ran out; their newer data was left alone", fenced);
    }
    for (size_t i = 0; i < b->n; i++)
        values_clear(&res[i].merged);
    if (rec.v) {
        for (size_t i = 0; i < b->n * e->n_src; i++)
            values_clear(&rec.v[i]);
        free(rec.v);
    }
    free(res);
}

static void commit_finished_batches(engine *e)
{
    for (batch **p = &e->open_batches; *p;) {
        batch *b = *p;
        if (b->left == 0) {
            *p = b->next;
            commit_batch(e, b);
            e->tokens_open -= b->n;
            free_batch(e, b);
        } else
            p = &b->next;
    }
}

/* Stopping early: batches not fully answered go back to the store untouched,
 * so another run (or collector) takes them at once instead of after the lease. */
static void release_open_batches(engine *e)
{
    while (e->open_batches) {
        batch *b = e->open_batches;
        e->open_batches = b->next;
        const char **addrs = xmalloc(b->n * sizeof *addrs);
        for (size_t i = 0; i < b->n; i++)
            addrs[i] = b->tokens[i].addr;
        char err[512];
        if (store_release(e->st, addrs, b->n, b->claim_id, err, sizeof err) != 0)
            LOG_WARN("store", "%s (the claims will expire by themselves)", err);
        for (size_t i = 0; e->hooks.not_refreshed && i < b->n; i++)
            e->hooks.not_refreshed(e->hooks.ctx, addrs[i]);
        free(addrs);
        e->tokens_open -= b->n;
        free_batch(e, b);
    }
}

/* ---- emit: the plugin's setters --------------------------------------------- */

typedef struct emit_ctx {
    chunk *c;
    str_index index; /* address -> the chunk's token */
    uint64_t rejected;
} emit_ctx;

static const char *chunk_addr(const void *c, size_t i) { return ((const chunk *)c)->addrs[i]; }

static void emit_index_build(emit_ctx *x, chunk *c)
{
    x->c = c;
    str_index_init(&x->index, c->n * 2, chunk_addr, c);
    for (size_t i = 0; i < c->n; i++)
        str_index_add(&x->index, i);
}

static tc_values *emit_target(emit_ctx *x, const char *addr)
{
    size_t i = addr ? str_index_find(&x->index, addr) : SIZE_MAX;
    if (i != SIZE_MAX)
        return &x->c->tokens[i]->values[x->c->src->index];
    x->rejected += addr != NULL;
    return NULL;
}

static int emit_str(void *ctx, const char *addr, tc_field field, const char *value)
{
    emit_ctx *x = ctx;
    tc_values *v = emit_target(x, addr);
    if (!v || field <= 0 || field >= TC_FIELD_COUNT_V1 || !field_is_string(field) || !value) {
        x->rejected += v != NULL;
        return -1;
    }
    values_set_str(v, field, value);
    return 0;
}

static int emit_num(void *ctx, const char *addr, tc_field field, double value)
{
    emit_ctx *x = ctx;
    tc_values *v = emit_target(x, addr);
    if (!v || field <= 0 || field >= TC_FIELD_COUNT_V1 || field_is_string(field) || !isfinite(value)) {
        x->rejected += v != NULL;
        return -1;
    }
    values_set_num(v, field, value);
    return 0;
}

static int emit_link(void *ctx, const char *addr, tc_link_kind kind, const char *label, const char *url)
{
    emit_ctx *x = ctx;
    tc_values *v = emit_target(x, addr);
    if (!v || (kind != TC_LINK_WEBSITE && kind != TC_LINK_SOCIAL) || !url || !*url) {
        x->rejected += v != NULL;
        return -1;
    }
    values_add_link(v, kind, label, url);
    return 0;
}

static int emit_known(void *ctx, const char *addr)
{
    tc_values *v = emit_target(ctx, addr);
    if (!v)
        return -1;
    v->known = 1;
    return 0;
}

/* A failed parse must leave nothing behind: clear what the plugin emitted. */
static void reset_chunk_values(chunk *c)
{
    for (size_t i = 0; i < c->n; i++)
        values_clear(&c->tokens[i]->values[c->src->index]);
}

/* ---- completion ------------------------------------------------------------- */

static void give_up(engine *e, chunk *c, const char *why)
{
    source_rt *s = c->src;
    s->stats.chunks_failed++;
    LOG_WARN(s->inst->name, "giving up on a chunk of %zu tokens (first %s) after %d attempt(s): %s", c->n,
             c->addrs[0], c->attempt, why);
    for (size_t i = 0; i < c->n; i++)
        settle(e, s, c->tokens[i], OUTCOME_FAILED, why);
    free_chunk(c);
}

static void schedule_retry(engine *e, chunk *c, int64_t not_before_ns)
{
    source_rt *s = c->src;
    request_reset(&c->req);
    c->not_before_ns = not_before_ns;
    c->ready_since_ns = 0;
    /* Keep retries in arrival order: older chunks first. */
    chunk **p = &s->retry;
    while (*p)
        p = &(*p)->next;
    c->next = NULL;
    *p = c;
    (void)e;
}

/* Settles a chunk's tokens as skipped: the source stays owed for them and
 * they are tried again later (its breaker is open). */
static void skip_chunk(engine *e, chunk *c, const char *why)
{
    for (size_t i = 0; i < c->n; i++)
        settle(e, c->src, c->tokens[i], OUTCOME_SKIPPED, why);
    free_chunk(c);
}

static int retry_budget_left(const source_rt *s)
{
    double allowed = s->retry_budget * (double)s->stats.requests + RETRY_BUDGET_FLOOR;
    return (double)s->stats.retries < allowed;
}

static void transient_failure(engine *e, chunk *c, const char *why, int64_t min_wait_ns)
{
    source_rt *s = c->src;
    c->attempt++;
    if (c->attempt >= s->max_attempts) {
        give_up(e, c, why);
        return;
    }
    if (breaker_state_at(&s->brk, now_mono_ns()) == BREAKER_OPEN) {
        char msg[480];
        snprintf(msg, sizeof msg, "circuit breaker open after: %s", why);
        skip_chunk(e, c, msg);
        return;
    }
    if (!retry_budget_left(s)) {
        /* Retrying a source that fails this often would multiply the load on
         * it; the tokens stay owed and are tried again in a later pass. */
        s->stats.retries_denied++;
        char msg[480];
        snprintf(msg, sizeof msg, "retry budget spent (%.0f%% of requests); last error: %s",
                 s->retry_budget * 100, why);
        give_up(e, c, msg);
        return;
    }
    int64_t wait = backoff_ns(e, c->attempt);
    if (wait < min_wait_ns)
        wait = min_wait_ns;
    LOG_INFO(s->inst->name, "retrying a chunk of %zu tokens in %lld ms (attempt %d of %ld): %s", c->n,
             (long long)(wait / NS_PER_MS), c->attempt + 1, s->max_attempts, why);
    s->stats.retries++;
    if (e->m)
        metrics_count(e->m, s->index, MC_RETRIES, 1);
    schedule_retry(e, c, now_mono_ns() + wait);
}

/* Feeds one answer to the source's breaker and logs state changes. */
static void breaker_note(source_rt *s, int success)
{
    int64_t now = now_mono_ns();
    breaker_state before = breaker_state_at(&s->brk, now);
    breaker_record(&s->brk, now, success);
    breaker_state after = s->brk.state;
    if (after == before)
        return;
    if (after == BREAKER_OPEN)
        LOG_WARN(s->inst->name, "circuit breaker opened for %lld s: its tokens stay owed and are retried later",
                 (long long)(s->brk.open_period_ns / NS_PER_S));
    else
        LOG_INFO(s->inst->name, "circuit breaker %s", breaker_state_name(after));
}

static void excerpt(char *out, size_t outlen, const char *body, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < outlen && n < 100; i++)
        out[n++] = (body[i] >= 32 && body[i] < 127) ? body[i] : ' ';
    out[n] = '\0';
}

static void on_response(void *user, const http_result *r)
{
    chunk *c = user;
    engine *e = c->eng;
    source_rt *s = c->src;
    s->in_flight--;
    int64_t now = now_mono_ns();
    if (e->m) {
        metrics_latency(e->m, s->index, now - c->sent_ns);
        if (r->status == 429)
            metrics_count(e->m, s->index, MC_THROTTLED, 1);
        else if (r->error != HTTP_OK || r->status >= 400)
            metrics_count(e->m, s->index, MC_FAILURES, 1);
    }
    char why[400];

    if (r->error != HTTP_OK) {
        s->stats.fail_transport++;
        breaker_note(s, 0);
        snprintf(why, sizeof why, "%s error: %s", http_error_name(r->error), r->message);
        transient_failure(e, c, why, 0);
        return;
    }
    if (r->status == 429) {
        s->stats.throttled++;
        breaker_cancel(&s->brk); /* throttling is the limiter's business, not a fault */
        int64_t pause = throttle_pause_ns(r->retry_after_s);
        LOG_WARN(s->inst->name, "HTTP 429 (Retry-After %ld s): pausing limiter %s for %lld ms",
                 r->retry_after_s, s->lim ? s->lim->name : "(none)", (long long)(pause / NS_PER_MS));
        if (s->lim) {
            limiter_pause(s->lim, now, pause);
            limiter_throttled(s->lim, now);
        }
        if (++c->throttled > MAX_THROTTLED_RESENDS) {
            give_up(e, c, "HTTP 429 on every attempt");
            return;
        }
        /* Not a failed attempt: the chunk goes again once the pause ends. */
        schedule_retry(e, c, now + pause);
        return;
    }
    c->throttled = 0;
    if (s->lim && r->status >= 200 && r->status < 300) {
        /* The upstream says its window is used up: wait for its reset rather
         * than spend a request on a 429. */
        int64_t pause = ratelimit_pause_ns(r->ratelimit_remaining, r->ratelimit_reset, now_wall_s());
        if (pause > 0)
            limiter_pause(s->lim, now, pause);
    }
    if (r->status >= 500 || r->status == 408) {
        s->stats.fail_5xx++;
        breaker_note(s, 0);
        char body[128];
        excerpt(body, sizeof body, r->body, r->body_len);
        snprintf(why, sizeof why, "HTTP %ld: %s", r->status, body);
        transient_failure(e, c, why, 0);
        return;
    }

    tc_response resp = {.struct_size = sizeof resp,
                        .status = r->status,
                        .body = r->body,
                        .body_len = r->body_len,
                        .content_type = r->content_type};
    emit_ctx x = {0};
    emit_index_build(&x, c);
    tc_emit out = {.struct_size = sizeof out,
                   .ctx = &x,
                   .str = emit_str,
                   .num = emit_num,
                   .link = emit_link,
                   .known = emit_known};
    tc_outcome outcome = {.struct_size = sizeof outcome, .retry_after_ms = -1};
    tc_status st = c->inst->vt->parse_response(c->inst->self, c->addrs, c->n, &resp, &out, &outcome);
    str_index_free(&x.index);
    if (x.rejected)
        LOG_DEBUG(s->inst->name, "%llu values rejected (unknown address or wrong field type)",
                  (unsigned long long)x.rejected);
    outcome.message[sizeof outcome.message - 1] = '\0';
    breaker_note(s, st == TC_OK);
    if (st == TC_OK) {
        s->stats.ok++;
        if (s->lim)
            limiter_answered(s->lim, now);
        for (size_t i = 0; i < c->n; i++) {
            token_state *t = c->tokens[i];
            settle(e, s, t, t->values[s->index].known ? OUTCOME_FOUND : OUTCOME_MISSING, NULL);
        }
        free_chunk(c);
        return;
    }
    reset_chunk_values(c);
    if (e->m && r->status < 400)
        metrics_count(e->m, s->index, MC_FAILURES, 1);
    snprintf(why, sizeof why, "HTTP %ld, %s: %s", r->status, st == TC_RETRY ? "unusable response" : "rejected",
             outcome.message[0] ? outcome.message : "(no reason given by the plugin)");
    if (st == TC_RETRY) {
        s->stats.fail_parse++;
        int64_t asked = outcome.retry_after_ms > 0 ? outcome.retry_after_ms * NS_PER_MS : 0;
        if (asked > BACKOFF_MAX_PAUSE_S * NS_PER_S)
            asked = BACKOFF_MAX_PAUSE_S * NS_PER_S;
        transient_failure(e, c, why, asked);
        return;
    }
    if (r->status >= 400)
        s->stats.fail_4xx++;
    else
        s->stats.fail_parse++;
    c->attempt++;
    give_up(e, c, why);
}

/* ---- dispatch --------------------------------------------------------------- */

/* Nanoseconds until source S may send (0: now). */
static int64_t source_wait_ns(const engine *e, const source_rt *s, int64_t now)
{
    int64_t wait = 0;
    if (e->global) {
        int64_t w = limiter_wait_ns(e->global, now);
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

static chunk *form_chunk(engine *e, source_rt *s, int allow_partial)
{
    size_t size = s->inst->chunk_size;
    if (s->q_len == 0 || (s->q_len < size && !allow_partial))
        return NULL;
    size_t n = s->q_len < size ? s->q_len : size;
    chunk *c = xcalloc(1, sizeof *c);
    c->eng = e;
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

static void send_chunk(engine *e, source_rt *s, chunk *c, int64_t now)
{
    request_reset(&c->req);
    if (c->inst->vt->build_request(c->inst->self, c->addrs, c->n, &c->req) != 0 || !c->req.url) {
        breaker_cancel(&s->brk);
        c->attempt++;
        give_up(e, c, "the plugin could not build a request");
        return;
    }
    if (s->lim)
        limiter_take(s->lim, now);
    if (e->global)
        limiter_take(e->global, now);
    s->next_allowed_ns = now + s->throttle_ns;
    if (c->ready_since_ns)
        s->stats.limiter_wait_ns += now - c->ready_since_ns;
    if (http_submit(e->http, &c->req, s->timeout_ms, on_response, c) != 0) {
        breaker_cancel(&s->brk);
        transient_failure(e, c, "could not start the HTTP transfer", 0);
        return;
    }
    s->in_flight++;
    s->stats.requests++;
    c->sent_ns = now;
    if (e->m)
        metrics_count(e->m, s->index, MC_REQUESTS, 1);
}

/* Sends what source S can send now; returns the earliest time something more
 * could go (INT64_MAX: nothing waiting on time). */
static int64_t dispatch_source(engine *e, source_rt *s, int allow_partial, int64_t now)
{
    int64_t wake = INT64_MAX;
    if (breaker_state_at(&s->brk, now) == BREAKER_OPEN) {
        /* Nothing goes to a source whose breaker is open: what waits for it
         * is settled as skipped (still owed), so batches commit the other
         * sources' data now instead of holding it until the breaker closes. */
        while (s->retry) {
            chunk *c = s->retry;
            s->retry = c->next;
            skip_chunk(e, c, "circuit breaker open");
        }
        while (s->q_len)
            settle(e, s, queue_pop(s), OUTCOME_SKIPPED, "circuit breaker open");
        return s->brk.open_until_ns;
    }
    while (s->in_flight < s->concurrency && !e->stop) {
        int retry_ready = s->retry && s->retry->not_before_ns <= now;
        int has_new = s->q_len >= s->inst->chunk_size || (allow_partial && s->q_len > 0);
        if (!retry_ready && !has_new)
            break;
        int64_t wait = source_wait_ns(e, s, now);
        if (wait > 0) {
            if (!s->waiting_since_ns)
                s->waiting_since_ns = now;
            if (now + wait < wake)
                wake = now + wait;
            break;
        }
        if (!breaker_allow(&s->brk, now))
            break; /* half-open: wait for the probes' answers */
        chunk *c;
        if (retry_ready) {
            c = s->retry;
            s->retry = c->next;
        } else
            c = form_chunk(e, s, allow_partial);
        if (!c)
            break;
        if (s->waiting_since_ns && !c->ready_since_ns)
            c->ready_since_ns = s->waiting_since_ns;
        s->waiting_since_ns = 0;
        send_chunk(e, s, c, now);
    }
    if (s->retry && s->retry->not_before_ns > now && s->retry->not_before_ns < wake)
        wake = s->retry->not_before_ns;
    return wake;
}

static int any_retry_pending(const engine *e)
{
    for (size_t i = 0; i < e->n_src; i++)
        if (e->src[i].retry)
            return 1;
    return 0;
}

static int any_full_chunk(const engine *e)
{
    for (size_t i = 0; i < e->n_src; i++)
        if (e->src[i].q_len >= e->src[i].inst->chunk_size)
            return 1;
    return 0;
}

static void print_progress(engine *e, FILE *progress, int64_t started_ns, int final)
{
    double secs = (double)(now_mono_ns() - started_ns) / 1e9;
    uint64_t done = e->committed + e->commit_failures;
    fprintf(progress, "\r%llu/%llu tokens  %5.1f%%  %6.1f s  requests:", (unsigned long long)done,
            (unsigned long long)e->total_pending,
            e->total_pending ? 100.0 * (double)done / (double)e->total_pending : 100.0, secs);
    for (size_t i = 0; i < e->n_src; i++)
        fprintf(progress, " %s %llu", e->src[i].inst->name, (unsigned long long)e->src[i].stats.requests);
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
        if (!e->stop && !store_failed)
            while (!e->store_exhausted && e->tokens_open + e->batch_size <= e->window_tokens)
                if (admit_batch(e, err, sizeof err) != 0) {
                    LOG_ERROR("store", "%s", err);
                    store_failed = 1;
                    e->store_exhausted = 1;
                    break;
                }
        int64_t now = now_mono_ns();
        int can_admit = !e->store_exhausted && !e->stop;
        /* Partial chunks go only when waiting cannot fill them: the store is
         * drained, or the window is full and nothing else can move. */
        int allow_partial = !can_admit && (e->store_exhausted || e->stop ||
                                           (http_in_flight(e->http) == 0 && !any_retry_pending(e) &&
                                            !any_full_chunk(e)));
        int64_t wake = INT64_MAX;
        for (size_t i = 0; i < e->n_src; i++) {
            int64_t w = dispatch_source(e, &e->src[i], allow_partial, now);
            if (w < wake)
                wake = w;
        }
        commit_finished_batches(e);
        if (progress && (now - last_progress > 250 * NS_PER_MS)) {
            print_progress(e, progress, started, 0);
            last_progress = now;
        }
        if (e->open_batches == NULL && e->store_exhausted && http_in_flight(e->http) == 0)
            break;
        if (e->stop && http_in_flight(e->http) == 0) {
            /* Stopping: tokens not yet sent stay pending in the store. */
            break;
        }
        int timeout_ms = 200;
        if (wake != INT64_MAX) {
            int64_t ms = (wake - now_mono_ns() + NS_PER_MS - 1) / NS_PER_MS;
            timeout_ms = ms < 0 ? 0 : (ms > 200 ? 200 : (int)ms);
        }
        http_poll(e->http, timeout_ms);
        commit_finished_batches(e);
    }
    release_open_batches(e);
    if (progress)
        print_progress(e, progress, started, 1);
    return (e->commit_failures || store_failed) ? -1 : 0;
}

/* ---- daemon mode -------------------------------------------------------------- */

void engine_set_daemon(engine *e, const engine_hooks *hooks)
{
    e->daemon = 1;
    e->store_exhausted = 1; /* no claims of its own: partial chunks go at once */
    if (hooks)
        e->hooks = *hooks;
}

void engine_set_metrics(engine *e, metrics *m) { e->m = m; }

void engine_step(engine *e, int timeout_ms)
{
    int64_t now = now_mono_ns();
    int64_t wake = INT64_MAX;
    for (size_t i = 0; i < e->n_src; i++) {
        int64_t w = dispatch_source(e, &e->src[i], 1, now);
        if (w < wake)
            wake = w;
    }
    commit_finished_batches(e);
    if (wake != INT64_MAX) {
        int64_t ms = (wake - now_mono_ns() + NS_PER_MS - 1) / NS_PER_MS;
        if (ms < timeout_ms)
            timeout_ms = ms < 0 ? 0 : (int)ms;
    }
    http_poll(e->http, timeout_ms);
    commit_finished_batches(e);
}

size_t engine_tokens_open(const engine *e) { return e->tokens_open; }
size_t engine_window(const engine *e) { return e->window_tokens; }
size_t engine_requests_in_flight(const engine *e) { return (size_t)http_in_flight(e->http); }
void engine_release_open(engine *e) { release_open_batches(e); }
double engine_source_rate(const engine *e, size_t i, int current)
{
    const source_rt *s = &e->src[i];
    double rate = s->lim ? (current ? s->lim->rate : s->lim->max_rate) : 0;
    if (s->throttle_ns > 0) {
        double by_throttle = (double)NS_PER_S / (double)s->throttle_ns;
        if (rate <= 0 || by_throttle < rate)
            rate = by_throttle;
    }
    return rate;
}

/* ---- accessors and summary ---------------------------------------------------- */

size_t engine_source_count(const engine *e) { return e->n_src; }
const char *engine_source_name(const engine *e, size_t i) { return e->src[i].inst->name; }
const source_stats *engine_source_stats(const engine *e, size_t i) { return &e->src[i].stats; }
size_t engine_source_chunk_size(const engine *e, size_t i) { return e->src[i].inst->chunk_size; }
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
    fprintf(out, "%-14s %7s %9s %7s %7s %7s %7s %7s %8s %8s %8s %10s\n", "source", "chunk", "requests", "429s",
             "retries", "transp", "5xx", "4xx", "found", "missing", "failed", "limiter_s");
    uint64_t total_req = 0, total_429 = 0;
    for (size_t i = 0; i < e->n_src; i++) {
        const source_stats *s = &e->src[i].stats;
        fprintf(out, "%-14s %7zu %9llu %7llu %7llu %7llu %7llu %7llu %8llu %8llu %8llu %10.1f\n",
                e->src[i].inst->name, e->src[i].inst->chunk_size, (unsigned long long)s->requests,
                (unsigned long long)s->throttled, (unsigned long long)s->retries,
                (unsigned long long)s->fail_transport, (unsigned long long)s->fail_5xx,
                (unsigned long long)s->fail_4xx, (unsigned long long)s->tokens_found,
                (unsigned long long)s->tokens_missing, (unsigned long long)s->tokens_failed,
                (double)s->limiter_wait_ns / 1e9);
        total_req += s->requests;
        total_429 += s->throttled;
    }
    fprintf(out, "total requests: %llu, HTTP 429 received: %llu\n", (unsigned long long)total_req,
            (unsigned long long)total_429);
    fprintf(out, "%-14s %9s %7s %11s %9s %7s %9s %10s\n", "resilience", "breaker", "opened", "transitions",
            "skipped", "kept", "r_denied", "rate_now");
    for (size_t i = 0; i < e->n_src; i++) {
        const source_rt *s = &e->src[i];
        char rate[32] = "-";
        if (s->lim)
            snprintf(rate, sizeof rate, "%.3g/s", s->lim->rate);
        fprintf(out, "%-14s %9s %7llu %11llu %9llu %7llu %9llu %10s\n", s->inst->name,
                breaker_state_name(s->brk.state), (unsigned long long)s->brk.opened,
                (unsigned long long)s->brk.transitions, (unsigned long long)s->stats.tokens_skipped,
                (unsigned long long)s->stats.tokens_kept, (unsigned long long)s->stats.retries_denied, rate);
    }
}
