/* The batch pipeline's own state, shared by its two files: engine.c (the
 * engine, claims, batches, settle, the loop) and engine_commit.c (merge with
 * the stored records, commit, release). The source runtimes must not include
 * it: they see tokens (engine_internal.h), never batches or the engine. */
#ifndef TC_ENGINE_PIPELINE_H
#define TC_ENGINE_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "engine_internal.h"
#include "freshness.h"
#include "limiter.h"
#include "merge.h"
#include "source_runtime.h"
#include "store.h"

/* The tokens of one claim, open until every source settled every token. */
typedef struct batch {
    char claim_id[160];
    int64_t opened_ns;
    token_state *tokens;
    size_t n;
    size_t n_slots; /* source slots when it opened: its tokens' per-source arrays */
    size_t left;    /* tokens not yet answered by every source */
    struct batch *next;
} batch;

struct engine {
    const config *cfg;
    store *st;
    source_env env;        /* HTTP, global limiter, metrics, stop flag, rng: shared with the sources */
    /* Source slots: a slot keeps its index for the engine's life, so tokens
     * in flight stay valid across a reload; a removed source's slot is
     * retired (drained, then idle), an added source gets a new one. */
    source_rt **src;
    char **src_names;
    size_t n_src;
    /* The slots not retired, in slot order: what is merged and committed. */
    size_t *active;
    const char **active_names;
    size_t n_active;
    limiter **limiters; /* by name; a reload reconfigures them in place */
    size_t n_limiters;
    struct cluster *cluster; /* the limiter thread of the scope = cluster limiters, or NULL */
    merge_plan plan;    /* over the active slots */
    source_fields *fields; /* [n_src]: what each slot provides (freshness.h) */
    field_mask *market;    /* [n_src]: fields[i].market, as market_keep_complete takes them */
    uint64_t *answered, *priced; /* [n_src]: tokens each answered for, and those with a price */
    size_t n_fields;             /* slots the four arrays above cover */
    size_t window_tokens;
    size_t batch_size;
    int window_auto;       /* max_concurrent_batches = 0: window_tokens is the floor of one that grows with rate x latency */
    batch *open_batches;
    size_t tokens_open;
    int store_exhausted;
    char owner[128];       /* the collector's identity (engine_recover.c), recorded with each claim */
    claim_recovery recovery; /* what the start found in the store (engine_recover_claims) */
    uint64_t claims;       /* claim ids are owner:claims:random */
    uint64_t committed, commit_failures, fenced, total_pending;
    uint64_t committed_failed; /* committed with status failed (--once: all failed = exit 1) */
    int daemon;
    int hold;              /* every source paused: nothing sent, nothing shed */
    engine_hooks hooks;
};

/* Construction pieces, also used by a reload (engine_reload.c). */
limiter *engine_limiter_named(engine *e, const char *name);
limiter *engine_add_limiter(engine *e, const cfg_limiter *cl, int64_t now);
/* The [core] global limiter as e->cfg wants it: reconfigured in place,
 * created or removed. */
void engine_set_global_limiter(engine *e, int64_t now);
source_rt *engine_add_source(engine *e, source_instance *inst, const cfg_source *cs);
/* Rebuilds the active slot list and the merge plan over it. */
void engine_refresh_active(engine *e);
/* Tokens in flight from batch_size, max_concurrent_batches and the largest
 * chunk_size of the active sources. */
void engine_size_window(engine *e);

/* ---- engine_route.c: refresh by what a source provides */
/* Recomputes E->fields for every slot (after a source was added or reloaded). */
void engine_route_fields(engine *e);
/* Fills the tokens of B with what the store knows of their sources. */
void engine_load_fetches(engine *e, batch *b);
/* 1 when refreshes ask one market source (daemon, market_refresh = one_source). */
int engine_splits_market(const engine *e);
/* Which slots to ask for T's refresh in the split design: ASK[slot] = 1.
 * Metadata sources when T's metadata is missing or older than metadata_ttl;
 * else one market source that knows T, by spare capacity (every market
 * source while none knows it yet). NOW: unix s. */
void engine_route_split(engine *e, const token_state *t, unsigned char *ask, int64_t now);
/* Counts, for the scheduler's capacity, what each active source answered
 * for one committed token (OUTCOMES, VALUES over the active slots). */
void engine_count_priced(engine *e, const source_outcome *outcomes, const tc_values *values);
/* T's metadata_at after its refresh with OUTCOMES (over the active slots):
 * NOW when every metadata source answered, else what it was. */
int64_t engine_metadata_at(const engine *e, const token_state *t, const source_outcome *outcomes, int64_t now);

/* Frees B and its tokens' per-source data. */
void engine_free_batch(batch *b);
/* Commits the batches whose tokens are all settled, in one transaction each,
 * and frees them; 1 when its time budget ran out with some left (commit
 * again after the sources had their turn), else 0. */
int engine_commit_finished(engine *e);

/* engine_recover.c */
void engine_collector_id(const config *cfg, char *out, size_t len);
void engine_recover_claims(engine *e);

#endif
