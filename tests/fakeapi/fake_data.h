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

/* Price drift, for daemon runs (the exact-value checks leave it off): the
 * prices of the addresses whose hash falls under PERMILLE move with EPOCH,
 * the caller's time bucket, by up to +1.9%. Per thread: the server sets it
 * before rendering each response. */
void fake_set_price_drift(unsigned permille, uint64_t epoch);

/* ------------------------------------------------------------------------
 * Additions for the fake upstream's renderer (and for tests that want the
 * exact wire shapes). Everything below is as deterministic as the above.
 * ------------------------------------------------------------------------
 *
 * Rules a correct client applies (fake_token_for encodes their outcome):
 *  - Jupiter volume_24h = stats24h.buyVolume + stats24h.sellVolume (the sum is
 *    exact in double arithmetic). change_24h = stats24h.priceChange.
 *  - Helius image = content.files[0].cdn_uri if present, else files[0].uri,
 *    else content.links.image. token_info.supply is a bare JSON integer that
 *    may exceed 2^53; fake_token.supply holds its exact digits.
 *  - DexScreener: of the pairs whose baseToken.address is the token, take the
 *    one with the highest liquidity.usd (a missing liquidity ranks lowest);
 *    a pair where the token is only the quote token never wins while a base
 *    pair exists. With no base pair but a quote pair (dex_quote_only): name
 *    and symbol from quoteToken, price_usd = strtod(priceUsd) /
 *    strtod(priceNative), liquidity_usd = liquidity.usd, volume_24h =
 *    volume.h24, nothing else. Numeric strings are read with strtod.
 *  - DexScreener links: info.websites[{label,url}] -> kind 'w', label lower-cased.
 *    info.socials come in two forms:
 *      real       {type,url}        -> label = type, url as sent;
 *      documented {platform,handle} -> label = lowercase(platform), and the url
 *        is normalised: strip one leading '@' from the handle, then
 *        twitter  -> "https://x.com/<handle>",
 *        telegram -> "https://t.me/<handle>",
 *        any other platform -> the handle unchanged (it is already a URL).
 *  - Links are listed in response order: websites first, then socials.
 *  - The well-known quote mints (wrapped SOL and USDC) are known to every
 *    source whatever the profile says, and never dex_quote_only: they appear
 *    as the quote token of many pairs.
 */

#define FAKE_SOL_MINT  "So11111111111111111111111111111111111111112"
#define FAKE_USDC_MINT "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"

/* 1 when SOURCE knows ADDR under PROFILE (NULL PROFILE = defaults). */
int fake_source_knows(const fake_profile *profile, fake_source source, const char *addr);

/* Jupiter stats24h.buyVolume and sellVolume (multiples of 0.25 below 2^40);
 * meaningful when the token's has_volume is set. */
void fake_jupiter_volume_parts(const char *addr, double *buy, double *sell);

/* What Jupiter sends for ADDR beyond fake_token (fake_render.c), which a
 * correct plugin reports as extras: holderCount, organicScore, isVerified,
 * audit.{topHoldersPercentage, mintAuthorityDisabled,
 * freezeAuthorityDisabled} and firstPool.id, always sent for a known mint. */
typedef struct fake_jupiter_extra {
    double holder_count, organic_score, top_holders_pct;
    int is_verified, mint_authority_disabled, freeze_authority_disabled;
    char first_pool[45];
} fake_jupiter_extra;

void fake_jupiter_extras(const char *addr, fake_jupiter_extra *out);

/* The shape of a Helius asset beyond what fake_token says. Empty strings
 * mean "key absent". */
typedef struct fake_helius_asset {
    int has_metadata;          /* content.metadata carries name/symbol (else {}) */
    int has_token_info;        /* token_info present (decimals, supply) */
    char json_uri[160];
    char file_uri[160];        /* files[0].uri; "" and no cdn_uri = files is [] */
    char file_cdn_uri[160];    /* files[0].cdn_uri */
    char links_image[160];     /* content.links.image */
    const char *token_program;
    int is_mutable, is_burnt;
} fake_helius_asset;

/* Fill TOKEN (as fake_token_for) and ASSET; returns 0 when Helius does not
 * know ADDR (the result array then holds null). */
int fake_helius_asset_for(const fake_profile *profile, const char *addr,
                          fake_token *token, fake_helius_asset *asset);

#define FAKE_DEX_MAX_PAIRS 4

typedef struct fake_dex_token_ref {
    char address[45];
    char name[64];
    char symbol[16];
} fake_dex_token_ref;

typedef struct fake_dex_social {
    char form;          /* 't' real {type,url}; 'p' documented {platform,handle} */
    char key[16];       /* type or platform, as sent */
    char value[160];    /* url or handle, as sent */
} fake_dex_social;

typedef struct fake_dex_pair {
    char pair_address[45];
    const char *dex_id;                /* static string */
    const char *label;                 /* NULL: no labels */
    fake_dex_token_ref base, quote;
    char price_native[32];             /* decimal string */
    char price_usd[32];                /* decimal string; "" means null */
    int has_liquidity;                 /* 0: "liquidity" is null or absent */
    double liquidity_usd, liquidity_base, liquidity_quote;
    double volume[4];                  /* m5, h1, h6, h24 */
    int has_change_h24;                /* 0: priceChange.h24 null or absent */
    double change[4];                  /* m5, h1, h6, h24 */
    unsigned buys[4], sells[4];        /* txns m5, h1, h6, h24 */
    int has_fdv, has_market_cap;
    double fdv, market_cap;
    long long pair_created_at_ms;
    int has_info;
    char image_url[160];               /* "" = no imageUrl */
    char header[160], open_graph[160];
    size_t n_websites, n_socials;
    fake_link websites[2];             /* kind 'w', label, url as sent */
    fake_dex_social socials[3];
} fake_dex_pair;

/* The pairs DexScreener serves for ADDR (0 when unknown), already in the
 * deterministic shuffled order in which the server sends them. */
size_t fake_dex_pairs(const fake_profile *profile, const char *addr,
                      fake_dex_pair pairs[FAKE_DEX_MAX_PAIRS]);

/* Response renderers (fake_render.c; need libcjson). Each returns a
 * NUL-terminated malloc'd JSON text to release with free(), or NULL on
 * allocation failure.
 *  jupiter:     the /tokens/v2/search array: found mints only, each once, in
 *               a deterministic order that differs from the request.
 *  helius:      the whole JSON-RPC reply; ID_JSON is the request id as JSON
 *               text ("1", "\"abc\"", "null"); result in request order.
 *  dexscreener: the /tokens/v1 array of pairs of all found addresses, each
 *               address once, shuffled deterministically. */
char *fake_render_jupiter(const fake_profile *profile, const char *const *addrs, size_t n);
char *fake_render_helius(const fake_profile *profile, const char *const *addrs, size_t n,
                         const char *id_json);
char *fake_render_dexscreener(const fake_profile *profile, const char *const *addrs, size_t n);

/* The template plugin's imaginary API (plugins/template), GET /prices?ids=IDS:
 * {"<addr>":{"price":P},...} for each address of the comma list IDS the fake
 * knows, P being Jupiter's price (null when Jupiter has none). */
char *fake_render_prices(const fake_profile *profile, const char *ids);

#endif
