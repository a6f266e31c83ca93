/* Tokens for the HTTP API's tests and benchmarks, written through the real
 * store API (store_import, store_claim_addresses, store_commit with
 * token_result values), every value a function of the token's number i so
 * a test knows what the store holds. What the values cover: unknown fields
 * (pending, no_data, no market data), ties of market_cap, exact doubles
 * that need 17 digits, an exact u64 supply, text to escape, a byte that is
 * not UTF-8, links, per-source records, an owed source. */
#ifndef TC_API_FIXTURE_H
#define TC_API_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define FX_T0 INT64_C(1700000000) /* the first batch's commit time */
#define FX_BATCH 50               /* tokens per commit: one commit time each */
#define FX_NSRC 3

extern const char *const fx_source_names[FX_NSRC]; /* jupiter, helius, dexscreener */

typedef enum fx_kind {
    FX_FULL,    /* enriched with every value */
    FX_PARTIAL, /* enriched without market_cap, volume, fdv, liquidity, change; helius owed */
    FX_NO_DATA, /* every source answered without it */
    FX_PENDING, /* imported, never refreshed */
} fx_kind;

/* Token I as the fixture writes it. */
typedef struct fx_token {
    char address[48];
    fx_kind kind;
    token_status status;
    tc_values merged;       /* the merged values (what the tokens / prices / links rows hold) */
    tc_values per[FX_NSRC]; /* each source's record */
    source_outcome outs[FX_NSRC];
    int64_t now; /* its commit time (0: pending) */
} fx_token;

/* For benchmarks: every token FX_FULL (1), and tokens per commit (0:
 * FX_BATCH; times then follow the commits, not fx_token.now). */
extern int fx_all_full;
extern size_t fx_commit_batch;
/* For benchmarks: market values are multiplied by it (a refresh that
 * changes them); 1 in the tests. */
extern double fx_price_factor;

fx_kind fx_kind_of(size_t i);
/* A valid Solana address, unique per I, not in I's order. */
void fx_address(size_t i, char out[48]);
/* I back from fx_address's text; SIZE_MAX when it is not one. */
size_t fx_index(const char *address);
/* Token I's values (fx_token_free after). */
void fx_token_make(size_t i, fx_token *t);
void fx_token_free(fx_token *t);

/* Writes tokens FROM..FROM+N (imports them all, commits all but the
 * pending ones in batches of FX_BATCH). 0, or -1 with a message on stderr. */
int fx_fill(store *st, size_t from, size_t n);

#endif
