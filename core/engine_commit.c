/* The end of the batch pipeline: a finished batch is merged with the stored
 * records of the sources not answered this pass, given its next refresh
 * times and committed in one transaction; a batch left open when the engine
 * stops goes back to the store unchanged. Must not claim, queue or settle
 * tokens (engine.c) nor send anything (the source runtimes). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_pipeline.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/* A batch's tokens as the active sources see them at commit time: one
 * entry per (token, active source). A source added by a reload after the
 * batch opened was not asked (KEPT); a source removed by one is left out,
 * so it is neither merged nor owed. Values and errors are shallow copies
 * of the tokens' own. */
typedef struct commit_view {
    size_t na; /* active sources */
    source_outcome *outcomes;
    tc_values *values;
    char **errors;
    tc_values *stored; /* stored records, [n * na], or NULL when none is needed */
} commit_view;

static void build_view(const engine *e, const batch *b, commit_view *v)
{
    v->na = e->n_active;
    size_t cells = b->n * (v->na ? v->na : 1);
    v->outcomes = xcalloc(cells, sizeof *v->outcomes);
    v->values = xcalloc(cells, sizeof *v->values);
    v->errors = xcalloc(cells, sizeof *v->errors);
    v->stored = NULL;
    for (size_t i = 0; i < b->n; i++)
        for (size_t k = 0; k < v->na; k++) {
            size_t slot = e->active[k], cell = i * v->na + k;
            if (slot >= b->n_slots) {
                v->outcomes[cell] = OUTCOME_KEPT;
                continue;
            }
            v->outcomes[cell] = b->tokens[i].outcomes[slot];
            v->values[cell] = b->tokens[i].values[slot];
            v->errors[cell] = b->tokens[i].errors[slot];
        }
}

/* Stored per-source records of the tokens of one batch being committed. */
typedef struct stored_records {
    const engine *e;
    const batch *b;
    commit_view *v;
} stored_records;

static void on_stored_record(void *ctx, const char *addr, const char *source, const char *json)
{
    stored_records *r = ctx;
    for (size_t i = 0; i < r->b->n; i++) {
        if (strcmp(r->b->tokens[i].addr, addr) != 0)
            continue;
        for (size_t k = 0; k < r->v->na; k++)
            if (!strcmp(r->e->active_names[k], source) &&
                values_from_json(&r->v->stored[i * r->v->na + k], json) != 0)
                LOG_WARN("store", "token %s: stored %s record is not valid JSON; ignored", addr, source);
        return;
    }
}

static int needs_stored(const source_outcome *outcomes, size_t na)
{
    for (size_t k = 0; k < na; k++)
        if (outcomes[k] != OUTCOME_FOUND && outcomes[k] != OUTCOME_MISSING)
            return 1;
    return 0;
}

/* Loads the stored records of the tokens some source did not answer for
 * (V->stored stays NULL when none needs them). */
static void load_stored(engine *e, batch *b, commit_view *v)
{
    const char **want = xmalloc(b->n * sizeof *want);
    size_t n_want = 0;
    for (size_t i = 0; i < b->n; i++)
        if (needs_stored(&v->outcomes[i * v->na], v->na))
            want[n_want++] = b->tokens[i].addr;
    if (n_want) {
        char err[512];
        stored_records rec = {e, b, v};
        v->stored = xcalloc(b->n * v->na, sizeof *v->stored);
        if (store_load_sources(e->st, want, n_want, on_stored_record, &rec, err, sizeof err) != 0)
            LOG_WARN("store", "%s (merging without the stored records of unanswered sources)", err);
    }
    free(want);
}

static void free_view(const batch *b, commit_view *v)
{
    for (size_t i = 0; v->stored && i < b->n * v->na; i++)
        values_clear(&v->stored[i]);
    free(v->stored);
    free(v->outcomes);
    free(v->values);
    free(v->errors);
}

/* Sources not answered this pass (kept, failed, skipped) contribute their
 * stored record, so the merge sees every source's latest data. */
static token_status merge_with_stored(const engine *e, const source_outcome *outcomes, const tc_values *values,
                                      const tc_values *stored, tc_values *merged)
{
    size_t n = e->n_active;
    tc_values *eff = xcalloc(n ? n : 1, sizeof *eff);
    source_outcome *eff_o = xcalloc(n ? n : 1, sizeof *eff_o);
    int found = 0, answered = 0;
    for (size_t s = 0; s < n; s++) {
        source_outcome o = outcomes[s];
        if (o == OUTCOME_FOUND) {
            eff[s] = values[s];
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

/* What is committed for token I of the view: its merged record, every
 * active source's outcome, and when it is due again (the scheduler's
 * choice, or sooner while some source still owes it). */
static void fill_result(engine *e, token_state *t, const commit_view *v, size_t i, int64_t now, token_result *res)
{
    size_t na = v->na;
    const source_outcome *outcomes = &v->outcomes[i * na];
    res->address = t->addr;
    res->status = merge_with_stored(e, outcomes, &v->values[i * na], v->stored ? &v->stored[i * na] : NULL,
                                    &res->merged);
    res->n_sources = na;
    res->source_names = e->active_names;
    res->outcomes = outcomes;
    res->per_source = &v->values[i * na];
    res->errors = &v->errors[i * na];
    res->priority_score = NAN;
    int owed = 0;
    size_t answered = 0;
    for (size_t s = 0; s < na; s++) {
        owed |= outcomes[s] == OUTCOME_FAILED || outcomes[s] == OUTCOME_SKIPPED;
        answered += outcomes[s] == OUTCOME_FOUND || outcomes[s] == OUTCOME_MISSING;
    }
    if (e->hooks.next_refresh) {
        double after = values_has(&res->merged, TC_PRICE_USD) ? res->merged.num[TC_PRICE_USD] : NAN;
        res->next_refresh_at = e->hooks.next_refresh(e->hooks.ctx, t->addr, res->status, answered, t->price_before,
                                                     after, &res->refresh_interval_s, &res->priority_score);
    }
    if (owed) {
        res->outstanding_attempts = t->outstanding_attempts + 1;
        int64_t retry = outstanding_retry_at(e, res->outstanding_attempts, now);
        if (!res->next_refresh_at || retry < res->next_refresh_at)
            res->next_refresh_at = retry;
    }
}

/* One transaction for the batch; on failure nothing of it is written. */
static void store_results(engine *e, batch *b, token_result *res, int64_t now)
{
    char err[512];
    size_t fenced = 0;
    int64_t t0 = now_mono_ns();
    int rc = store_commit(e->st, res, b->n, now, b->claim_id, &fenced, err, sizeof err);
    if (e->env.m)
        metrics_time(e->env.m, METRICS_ALL, MT_STORE_COMMIT, now_mono_ns() - t0);
    if (rc != 0) {
        /* The transaction rolled back: these tokens stay pending and are
         * picked up by the next pass. Nothing half-written. */
        LOG_ERROR("store", "%s", err);
        if (e->env.m)
            metrics_store_error(e->env.m, MS_COMMIT);
        e->commit_failures += b->n;
        return;
    }
    e->committed += b->n - fenced;
    e->fenced += fenced;
    if (e->env.m) {
        metrics_count(e->env.m, METRICS_ALL, MC_TOKENS, b->n - fenced);
        metrics_count(e->env.m, METRICS_ALL, MC_BATCHES, 1);
        metrics_latency(e->env.m, METRICS_ALL, now_mono_ns() - b->opened_ns);
    }
    if (fenced)
        LOG_WARN("store", "%zu tokens of a batch were claimed by another collector after our lease "
                 "ran out; their newer data was left alone", fenced);
}

static void commit_batch(engine *e, batch *b)
{
    int64_t now = now_wall_s();
    token_result *res = xcalloc(b->n, sizeof *res);
    commit_view v;
    build_view(e, b, &v);
    load_stored(e, b, &v);
    for (size_t i = 0; i < b->n; i++)
        fill_result(e, &b->tokens[i], &v, i, now, &res[i]);
    store_results(e, b, res, now);
    for (size_t i = 0; i < b->n; i++)
        values_clear(&res[i].merged);
    free_view(b, &v);
    free(res);
}

/* One turn commits for at most this long: one answer can finish many
 * batches at once (a 1,000-id chunk, 20 of 50), and while the loop commits
 * no source sends; a pause longer than a limiter's burst would lose its
 * rate for good. The rest is committed at the next turn. */
#define COMMIT_TURN_BUDGET_NS (10 * NS_PER_MS)

int engine_commit_finished(engine *e)
{
    int64_t until = now_mono_ns() + COMMIT_TURN_BUDGET_NS;
    for (batch **p = &e->open_batches; *p;) {
        batch *b = *p;
        if (b->left == 0) {
            if (now_mono_ns() >= until)
                return 1;
            *p = b->next;
            commit_batch(e, b);
            e->tokens_open -= b->n;
            engine_free_batch(b);
        } else
            p = &b->next;
    }
    return 0;
}

/* Stopping early: batches not fully answered go back to the store untouched,
 * so another run (or collector) takes them at once instead of after the lease. */
void engine_release_open(engine *e)
{
    while (engine_commit_finished(e))
        ; /* what is fully answered is committed, not handed back */
    while (e->open_batches) {
        batch *b = e->open_batches;
        e->open_batches = b->next;
        const char **addrs = xmalloc(b->n * sizeof *addrs);
        for (size_t i = 0; i < b->n; i++)
            addrs[i] = b->tokens[i].addr;
        char err[512];
        if (store_release(e->st, addrs, b->n, b->claim_id, err, sizeof err) != 0) {
            LOG_WARN("store", "%s (the claims will expire by themselves)", err);
            if (e->env.m)
                metrics_store_error(e->env.m, MS_RELEASE);
        }
        for (size_t i = 0; e->hooks.not_refreshed && i < b->n; i++)
            e->hooks.not_refreshed(e->hooks.ctx, addrs[i]);
        free(addrs);
        e->tokens_open -= b->n;
        engine_free_batch(b);
    }
}
