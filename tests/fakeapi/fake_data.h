/*
 * Deterministic fake token data shared by the fake upstream (fakeapi) and the
 * tests that check what the collector stored. Every value derives from a hash
 * of (source, address), so the server and a checker compute the same thing
 * without talking to each other.
 *
 * A fake_token describes what a *correct* collector should extract from that
 * source for that address (after picking the best DexScreener pair, etc.).
 */
#ifndef TC_FAKE_DATA_H
#define TC_FAKE_DATA_H

#include <stddef.h>
#include <stdint.h>

typedef enum fake_source {
    FAKE_JUPITER = 0,
    FAKE_HELIUS = 1,
    FAKE_DEXSCREENER = 2,
    FAKE_NSOURCES = 3
} fake_source;

#define FAKE_MAX_LINKS 4

typedef struct fake_link {
    char kind;        /* 'w' website, 's' social */
    char label[24];   /* website label or lowercase social type */
    char url[160];
} fake_link;

typedef struct fake_token {
    int known;                 /* 0: the source does not know this address */
    /* presence flags: 0 means the source leaves the field out or sends null */
    int has_name, has_symbol, has_image, has_description, has_decimals, has_supply;
    int has_price, has_market_cap, has_fdv, has_liquidity, has_volume, has_change;
    char name[64];
    char symbol[16];
    char image[160];
    char description[160];
    int decimals;
    char supply[24];           /* raw u64 as decimal digits (Helius); may exceed 2^53 */
    double price_usd, market_cap, fdv, liquidity_usd, volume_24h, change_24h;
    size_t n_links;
    fake_link links[FAKE_MAX_LINKS];
    /* DexScreener only: the token appears only as the quote token of a pair;
     * price_usd is then priceUsd / priceNative of that pair (computed the same
     * way a client would) and market fields other than price, liquidity and
     * volume are absent. */
    int dex_quote_only;
} fake_token;

/* Share of addresses unknown to a given source (per mille), on top of the
 * addresses unknown to every source. Settable by the server's options. */
typedef struct fake_profile {
    unsigned unknown_all_permille;            /* default 20 (2%) */
    unsigned unknown_permille[FAKE_NSOURCES]; /* defaults 50, 30, 120 */
} fake_profile;

void fake_profile_default(fake_profile *p);

/* Fill OUT with what SOURCE serves for ADDR under PROFILE. */
void fake_token_for(const fake_profile *profile, fake_source source,
                    const char *addr, fake_token *out);

/* 64-bit FNV-1a of a string mixed with a salt; the root of all determinism. */
uint64_t fake_hash(const char *s, uint64_t salt);

/* Generate the I-th valid-looking base58 Solana address (32..44 chars) for a
 * given seed; used by the demo, the benchmark and tests to make token sets. */
void fake_address(uint64_t seed, uint64_t i, char out[45]);

const char *fake_source_name(fake_source s); /* "jupiter", "helius", "dexscreener" */

#endif
