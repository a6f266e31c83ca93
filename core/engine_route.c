/* Refresh by what a source provides (freshness.h): which sources a token's
 * refresh asks in the daemon's split design (market_refresh = one_source),
 * from what the store knows of its sources (store_source_fetches). The pure
 * choice of a market source is market_pick; this file gathers its inputs
 * from the source runtimes and the claimed tokens. Must not send, pace or
 * settle anything: engine.c queues the tokens it asks for. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_pipeline.h"
#include "log.h"
#include "str_index.h"
#include "util.h"

void engine_route_fields(engine *e)
{
    size_t had = e->fields ? e->n_fields : 0;
    e->fields = xrealloc(e->fields, (e->n_src ? e->n_src : 1) * sizeof *e->fields);
    e->answered = xrealloc(e->answered, (e->n_src ? e->n_src : 1) * sizeof *e->answered);
    e->priced = xrealloc(e->priced, (e->n_src ? e->n_src : 1) * sizeof *e->priced);
    for (size_t i = had; i < e->n_src; i++)
        e->answered[i] = e->priced[i] = 0;
    e->market = xrealloc(e->market, (e->n_src ? e->n_src : 1) * sizeof *e->market);
    e->n_fields = e->n_src;
    for (size_t i = 0; i < e->n_src; i++) {
        e->fields[i] = source_fields_of(e->src[i]->inst->vt, e->src[i]->inst->cfg);
        e->market[i] = e->fields[i].market;
    }
    /* The merge's market fields: the core table's and any a source declares. */
    for (size_t k = 0; k < e->n_active; k++)
        e->plan.market |= e->fields[e->active[k]].market;
}

int engine_splits_market(const engine *e)
{
    return e->daemon && !scheduler_config_all_sources(&e->cfg->sched);
}

int engine_source_role(const engine *e, size_t i)
{
    if (scheduler_config_all_sources(&e->cfg->sched))
        return SCHED_EVERY;
    return e->fields[i].market ? SCHED_SHARE : SCHED_ASIDE;
}

double engine_source_unknown_share(const engine *e, size_t i)
{
    if (i >= e->n_fields || e->answered[i] < 100)
        return 0;
    return 1.0 - (double)e->priced[i] / (double)e->answered[i];
}

void engine_count_priced(engine *e, const source_outcome *outcomes, const tc_values *values)
{
    /* Only refreshes that asked every market source (first fetches,
     * unknown tokens): the split asks a source only for the tokens it
     * prices, which would make it look as if it priced them all. */
    for (size_t k = 0; k < e->n_active; k++)
        if (e->fields[e->active[k]].market && outcomes[k] != OUTCOME_FOUND && outcomes[k] != OUTCOME_MISSING)
            return;
    for (size_t k = 0; k < e->n_active; k++) {
        size_t s = e->active[k];
        e->answered[s]++;
        e->priced[s] += outcomes[k] == OUTCOME_FOUND && values_has(&values[k], TC_PRICE_USD);
    }
}

/* ---- what the store knows ---- */

typedef struct fetch_ctx {
    engine *e;
    batch *b;
    str_index idx;
} fetch_ctx;

static const char *addr_of_token(const void *items, size_t i) { return ((const token_state *)items)[i].addr; }

static size_t slot_named(const engine *e, const char *name)
{
    for (size_t s = 0; s < e->n_src; s++)
        if (!e->src[s]->retired && !strcmp(e->src_names[s], name))
            return s;
    return SIZE_MAX;
}

static void on_fetch(void *ctx, const char *addr, const char *source, int64_t fetched_at, double price)
{
    fetch_ctx *c = ctx;
    size_t i = str_index_find(&c->idx, addr);
    if (i == SIZE_MAX)
        return;
    token_state *t = &c->b->tokens[i];
    if (!source) {
        t->metadata_at = fetched_at;
        return;
    }
    size_t s = slot_named(c->e, source);
    if (s == SIZE_MAX || s >= c->b->n_slots)
        return; /* a source no longer configured */
    t->fetched_at[s] = fetched_at > 0 ? fetched_at : 1;
    t->stored_price[s] = price;
}

void engine_load_fetches(engine *e, batch *b)
{
    if (!b->n)
        return;
    fetch_ctx c = {.e = e, .b = b};
    str_index_init(&c.idx, b->n * 2, addr_of_token, b->tokens);
    for (size_t i = 0; i < b->n; i++)
        str_index_add(&c.idx, i);
    const char **addrs = xmalloc(b->n * sizeof *addrs);
    for (size_t i = 0; i < b->n; i++)
        addrs[i] = b->tokens[i].addr;
    char err[512];
    if (store_source_fetches(e->st, addrs, b->n, on_fetch, &c, err, sizeof err) != 0)
        /* Without the facts every token looks unknown: each source is asked,
         * as in the old design. Correct, only slower. */
        LOG_WARN("store", "%s (these tokens' refreshes ask every source)", err);
    free(addrs);
    str_index_free(&c.idx);
}

/* ---- the split ---- */

/* S knows T's market data: it has a record, with a price when S reports one. */
static int knows_market(const engine *e, const token_state *t, size_t s)
{
    if (!t->fetched_at[s])
        return 0;
    return !isnan(t->stored_price[s]) || !(e->fields[s].market & FIELD_BIT(TC_PRICE_USD));
}

static int usable(const source_rt *s, int64_t mono)
{
    return !s->retired && !s->paused && breaker_state_at((breaker *)&s->brk, mono) != BREAKER_OPEN;
}

/* The smallest staleness bound of the market fields the sources that know
 * T report (0: none). */
static int64_t smallest_bound(const engine *e, const market_cand *c)
{
    field_mask all = 0;
    for (size_t s = 0; s < e->n_src; s++)
        if (c[s].knows)
            all |= e->fields[s].market;
    int64_t bound = 0;
    for (int f = 1; f < CFG_MERGE_FIELDS; f++)
        if ((all & FIELD_BIT(f)) && e->plan.max_age_s[f] > 0 && (!bound || e->plan.max_age_s[f] < bound))
            bound = e->plan.max_age_s[f];
    return bound;
}

void engine_route_split(engine *e, const token_state *t, unsigned char *ask, int64_t now)
{
    size_t n = e->n_src;
    memset(ask, 0, n);
    int64_t ttl = e->cfg->sched.metadata_ttl_ns / NS_PER_S;
    int metadata_due = t->metadata_at <= 0 || now - t->metadata_at >= (ttl > 0 ? ttl : 1);
    int covered = 0, any_known = 0;
    int64_t mono = now_mono_ns();
    for (size_t s = 0; s < n; s++) {
        if (e->src[s]->retired)
            continue;
        if (metadata_due && e->fields[s].metadata)
            ask[s] = 1;
        if (e->fields[s].market && knows_market(e, t, s)) {
            any_known = 1;
            covered |= ask[s] && usable(e->src[s], mono);
        }
    }
    if (covered)
        return; /* a metadata request of a market source that knows it brings the price too */
    if (!any_known) {
        /* No market source has returned data for it yet: try them all. */
        for (size_t s = 0; s < n; s++)
            if (!e->src[s]->retired && e->fields[s].market)
                ask[s] = 1;
        return;
    }
    market_cand *c = xcalloc(2 * n, sizeof *c), *all = c + n; /* ALL: C before market_keep_complete narrows it */
    for (size_t s = 0; s < n; s++) {
        const source_rt *r = e->src[s];
        if (r->retired || !e->fields[s].market)
            continue;
        double rate = source_rt_rate(r, 1);
        c[s] = (market_cand){.capacity = (rate > 0 ? rate : 1e6) * (double)r->inst->chunk_size,
                             .assigned = (double)r->q_len,
                             .knows = knows_market(e, t, s),
                             .usable = usable(r, mono)};
    }
    memcpy(all, c, n * sizeof *all);
    int pick = market_keep_complete(c, e->market, t->fetched_at, n, smallest_bound(e, c), now) ? market_pick(c, n) : -1;
    if (pick < 0) {
        memcpy(c, all, n * sizeof *c);
        pick = market_pick(c, n);
    }
    if (pick < 0) {
        /* Every source that knows it is unusable now: queue it to the first
         * of them, whose runtime records it skipped (still owed), so it is
         * retried as an outstanding source. Never a source that does not know it. */
        for (size_t s = 0; s < n && pick < 0; s++)
            if (c[s].knows)
                pick = (int)s;
    }
    if (pick >= 0)
        ask[pick] = 1;
    free(c);
}

int64_t engine_metadata_at(const engine *e, const token_state *t, const source_outcome *outcomes, int64_t now)
{
    int any = 0;
    for (size_t k = 0; k < e->n_active; k++) {
        size_t s = e->active[k];
        if (!e->fields[s].metadata)
            continue;
        any = 1;
        if (outcomes[k] != OUTCOME_FOUND && outcomes[k] != OUTCOME_MISSING)
            return t->metadata_at;
    }
    return any ? now : t->metadata_at;
}
