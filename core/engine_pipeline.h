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
    merge_plan plan;    /* over the active slots */
    size_t window_tokens;
    size_t batch_size;
    int window_auto;       /* max_concurrent_batches = 0: window_tokens is the floor of one that grows with rate x latency */
    batch *open_batches;
    size_t tokens_open;
    int store_exhausted;
    char owner[128];       /* "host:pid", recorded with each claim */
    uint64_t claims;       /* claim ids are owner:claims:random */
    uint64_t committed, commit_failures, fenced, total_pending;
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

/* Frees B and its tokens' per-source data. */
void engine_free_batch(batch *b);
/* Commits the batches whose tokens are all settled, in one transaction each,
 * and frees them; 1 when its time budget ran out with some left (commit
 * again after the sources had their turn), else 0. */
int engine_commit_finished(engine *e);

#endif
