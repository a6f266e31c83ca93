/*
 * Deterministic fake token data (see fake_data.h). Every value is drawn from
 * a splitmix64 stream seeded by fake_hash(address, purpose salt), so the same
 * address always yields the same data, with no state and no I/O.
 *
 * Numbers are built to survive a text round trip: prices are an integer
 * mantissa divided by a power of ten (both exact doubles, so the quotient is
 * correctly rounded and prints back as the same short decimal), money
 * amounts are whole cents, Jupiter volume parts are quarters.
 */
#include "fake_data.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Salts: one per purpose, so decisions are independent of each other. */
enum {
    SALT_UNKNOWN_ALL = 0x1001,
    SALT_UNKNOWN_SOURCE = 0x2001, /* + source */
    SALT_IDENTITY = 0x3001,
    SALT_DRIFT = 0x3002,
    SALT_NAME_VARIANT = 0x4001,   /* + source */
    SALT_SOURCE_DATA = 0x5001,    /* + source */
    SALT_JUP_VOLUME = 0x6001,
    SALT_HELIUS_SHAPE = 0x7001,
    SALT_DEX_PAIRS = 0x8001,
    SALT_DEX_PAIR_ADDR = 0x9001,
    SALT_DEX_DECOY_BASE = 0xa001,
    SALT_DEX_QUOTE_ONLY = 0xb001,
};

/* ---------------------------------------------------------------- hashing */

static uint64_t splitmix64_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t fake_hash(const char *s, uint64_t salt)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return splitmix64_mix(h ^ salt);
}

/* A stream of pseudo-random draws (splitmix64). */
typedef struct draw {
    uint64_t state;
} draw;

static draw draw_for(const char *addr, uint64_t salt)
{
    draw d = { fake_hash(addr, salt) };
    return d;
}

static uint64_t draw_u64(draw *d)
{
    d->state += 0x9e3779b97f4a7c15ULL;
    return splitmix64_mix(d->state);
}

/* Uniform in [lo, hi] (inclusive); the modulo bias is irrelevant here. */
static uint64_t draw_range(draw *d, uint64_t lo, uint64_t hi)
{
    return lo + draw_u64(d) % (hi - lo + 1);
}

static int draw_permille(draw *d, unsigned permille)
{
    return draw_u64(d) % 1000 < permille;
}

/* ---------------------------------------------------------------- base58 */

static const char BASE58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Encode N bytes; OUT must hold 2*N chars (ample: log(256)/log(58) < 1.37). */
static void base58_encode(const unsigned char *in, size_t n, char *out)
{
    unsigned char digits[64] = {0}; /* little-endian base-58 digits */
    size_t ndigits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned carry = in[i];
        for (size_t j = 0; j < ndigits; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (unsigned char)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            digits[ndigits++] = (unsigned char)(carry % 58);
            carry /= 58;
        }
    }
    size_t len = 0;
    for (size_t i = 0; i < n && in[i] == 0; i++)
        out[len++] = '1';
    while (ndigits)
        out[len++] = BASE58[digits[--ndigits]];
    out[len] = '\0';
}

void fake_address(uint64_t seed, uint64_t i, char out[45])
{
    /* Bytes 24..31 are a bijection of i (odd multiplier, then splitmix64's
     * invertible mix), which makes addresses unique per seed. Byte 0 is kept
     * non-zero so the 256-bit value is >= 2^248 > 58^42: 43 or 44 chars. */
    unsigned char bytes[32];
    uint64_t unique = splitmix64_mix(splitmix64_mix(seed) + i * 0x9e3779b97f4a7c15ULL);
    draw filler = { unique ^ 0x5bd1e9955bd1e995ULL };
    for (int k = 0; k < 24; k += 8) {
        uint64_t v = draw_u64(&filler);
        for (int b = 0; b < 8; b++)
            bytes[k + b] = (unsigned char)(v >> (8 * b));
    }
    for (int b = 0; b < 8; b++)
        bytes[24 + b] = (unsigned char)(unique >> (8 * b));
    if (bytes[0] == 0)
        bytes[0] = 1;
    base58_encode(bytes, sizeof bytes, out);
}

/* --------------------------------------------------------------- profile */

void fake_profile_default(fake_profile *p)
{
    p->unknown_all_permille = 20;
    p->unknown_permille[FAKE_JUPITER] = 50;
    p->unknown_permille[FAKE_HELIUS] = 30;
    p->unknown_permille[FAKE_DEXSCREENER] = 120;
}

const char *fake_source_name(fake_source s)
{
    switch (s) {
    case FAKE_JUPITER: return "jupiter";
    case FAKE_HELIUS: return "helius";
    case FAKE_DEXSCREENER: return "dexscreener";
    default: return "unknown";
    }
}

static int is_quote_mint(const char *addr)
{
    return strcmp(addr, FAKE_SOL_MINT) == 0 || strcmp(addr, FAKE_USDC_MINT) == 0;
}

int fake_source_knows(const fake_profile *profile, fake_source source, const char *addr)
{
    fake_profile defaults;
    if (!profile) {
        fake_profile_default(&defaults);
        profile = &defaults;
    }
    if ((unsigned)source >= FAKE_NSOURCES)
        return 0;
    if (is_quote_mint(addr))
        return 1;
    if (fake_hash(addr, SALT_UNKNOWN_ALL) % 1000 < profile->unknown_all_permille)
        return 0;
    return fake_hash(addr, SALT_UNKNOWN_SOURCE + source) % 1000 >= profile->unknown_permille[source];
}

/* ----------------------------------------------------------- number helpers */

static const double POW10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* MANTISSA / 10^SCALE written as a plain decimal ("0.0012345", "142.17").
 * SCALE is at most 18 and OUTSZ at least 32 at every call site. */
static void format_scaled(uint64_t mantissa, int scale, char *out, size_t outsz)
{
    char digits[24], text[48];
    size_t n = (size_t)snprintf(digits, sizeof digits, "%" PRIu64, mantissa);
    size_t len = 0, frac = scale > 0 ? (size_t)scale : 0;
    if (n <= frac) { /* 0.000ddd */
        text[len++] = '0';
        text[len++] = '.';
        for (size_t z = n; z < frac; z++)
            text[len++] = '0';
        memcpy(text + len, digits, n);
        len += n;
    } else {
        memcpy(text, digits, n - frac);
        len = n - frac;
        if (frac) {
            text[len++] = '.';
            memcpy(text + len, digits + n - frac, frac);
            len += frac;
        }
    }
    if (len >= outsz)
        len = outsz - 1; /* cannot happen with the documented bounds */
    memcpy(out, text, len);
    out[len] = '\0';
}

/* A positive value with 5 significant digits around V, as a decimal string. */
static void format_significant(double v, char *out, size_t outsz)
{
    int scale = 4 - (int)floor(log10(v));
    if (scale < 0)
        scale = 0;
    if (scale > 18)
        scale = 18;
    uint64_t mantissa = (uint64_t)llround(v * pow(10.0, scale));
    if (mantissa == 0)
        mantissa = 1;
    format_scaled(mantissa, scale, out, outsz);
}

/* Whole cents with a log-uniform magnitude between 10^lo and 10^hi dollars. */
static uint64_t draw_cents(draw *d, int lo, int hi)
{
    int e = (int)draw_range(d, (uint64_t)lo, (uint64_t)hi - 1);
    uint64_t from = (uint64_t)POW10[e] * 100, to = (uint64_t)POW10[e + 1] * 100;
    return draw_range(d, from, to - 1);
}

/* Percent change in hundredths: sometimes exactly 0, may be negative. */
static double draw_change(draw *d)
{
    if (draw_permille(d, 50))
        return 0.0;
    return ((double)(int64_t)draw_range(d, 0, 40000) - 10000.0) / 100.0;
}

/* -------------------------------------------------------------- identity */

/* What an address "is", shared by every source (names, decimals, base price). */
typedef struct identity {
    char name[48];
    char symbol[16];
    char handle[24];          /* social handle, ASCII */
    int decimals;
    uint64_t price_mantissa;  /* price = mantissa / 10^price_scale */
    int price_scale;
} identity;

static const char *const ADJECTIVES[] = {
    "Solar", "Lunar", "Happy", "Based", "Turbo", "Golden", "Tiny", "Mega",
    "Frosty", "Electric", "Wild", "Cosmic", "Silent", "Rapid", "Lucky", "Royal",
};
static const char *const NOUNS[] = {
    "Cat", "Dog", "Frog", "Whale", "Panda", "Otter", "Moon", "Rocket",
    "Pepe", "Bonk", "Shiba", "Duck", "Falcon", "Tiger", "Lynx", "Koala",
};
static const char *const NAME_SUFFIXES[] = { "", " Coin", " Token", " Inu", " AI", " Finance" };
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void upper_ascii(const char *in, size_t max, char *out)
{
    size_t i = 0;
    for (; in[i] && i < max; i++)
        out[i] = (char)toupper((unsigned char)in[i]);
    out[i] = '\0';
}

static _Thread_local unsigned drift_permille;
static _Thread_local uint64_t drift_epoch;

void fake_set_price_drift(unsigned permille, uint64_t epoch)
{
    drift_permille = permille;
    drift_epoch = epoch;
}

static void make_identity(const char *addr, identity *id)
{
    memset(id, 0, sizeof *id);
    if (strcmp(addr, FAKE_SOL_MINT) == 0) {
        snprintf(id->name, sizeof id->name, "Wrapped SOL");
        snprintf(id->symbol, sizeof id->symbol, "SOL");
        snprintf(id->handle, sizeof id->handle, "solana");
        id->decimals = 9;
        id->price_mantissa = 15025;
        id->price_scale = 2;
        return;
    }
    if (strcmp(addr, FAKE_USDC_MINT) == 0) {
        snprintf(id->name, sizeof id->name, "USD Coin");
        snprintf(id->symbol, sizeof id->symbol, "USDC");
        snprintf(id->handle, sizeof id->handle, "circle");
        id->decimals = 6;
        id->price_mantissa = 99990;
        id->price_scale = 5;
        return;
    }
    draw d = draw_for(addr, SALT_IDENTITY);
    const char *adj = ADJECTIVES[draw_u64(&d) % COUNT(ADJECTIVES)];
    const char *noun = NOUNS[draw_u64(&d) % COUNT(NOUNS)];
    const char *suffix = NAME_SUFFIXES[draw_u64(&d) % COUNT(NAME_SUFFIXES)];
    char noun_upper[8];
    upper_ascii(noun, 6, noun_upper);

    /* A few names and symbols need JSON escapes or are non-ASCII UTF-8. */
    uint64_t style = draw_u64(&d) % 100;
    if (style < 3)
        snprintf(id->name, sizeof id->name, "The \"Real\" %s%s", noun, suffix);
    else if (style < 5)
        snprintf(id->name, sizeof id->name, "%s\\%s%s", adj, noun, suffix);
    else if (style < 8)
        snprintf(id->name, sizeof id->name, "Caf\xc3\xa9 %s", noun);
    else if (style < 10)
        snprintf(id->name, sizeof id->name, "%s %s \xf0\x9f\x9a\x80", adj, noun);
    else if (style < 11)
        snprintf(id->name, sizeof id->name, "%s \"%s\" \\o/", adj, noun);
    else
        snprintf(id->name, sizeof id->name, "%s %s%s", adj, noun, suffix);

    uint64_t sym_style = draw_u64(&d) % 100;
    if (sym_style < 2)
        snprintf(id->symbol, sizeof id->symbol, "%.3s\"", noun_upper);
    else if (sym_style < 4)
        snprintf(id->symbol, sizeof id->symbol, "%.3s\\", noun_upper);
    else if (sym_style < 6)
        snprintf(id->symbol, sizeof id->symbol, "\xc3\x89%.3s", noun_upper); /* "É" */
    else if (sym_style < 15)
        snprintf(id->symbol, sizeof id->symbol, "$%s", noun_upper);
    else
        snprintf(id->symbol, sizeof id->symbol, "%c%s", adj[0], noun_upper);

    char lower_noun[8];
    size_t k = 0;
    for (; noun[k] && k < 7; k++)
        lower_noun[k] = (char)tolower((unsigned char)noun[k]);
    lower_noun[k] = '\0';
    static const char B36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint64_t tag = draw_u64(&d);
    snprintf(id->handle, sizeof id->handle, "%s%c%c%c%c", lower_noun, B36[tag % 36],
             B36[(tag / 36) % 36], B36[(tag / 1296) % 36], B36[(tag / 46656) % 36]);

    /* 0 decimals on purpose now and then: 0 is a value, not "missing". */
    id->decimals = draw_permille(&d, 80) ? 0 : (int)draw_range(&d, 1, 9);
    id->price_mantissa = draw_range(&d, 1000, 99999);
    id->price_scale = (int)draw_range(&d, 0, 12);
    if (drift_permille && fake_hash(addr, SALT_DRIFT) % 1000 < drift_permille)
        id->price_mantissa = id->price_mantissa * (1000 + (drift_epoch * 7) % 20) / 1000;
}

/* Each source sometimes words the name differently, so a merge by source
 * priority is observable. */
static void source_name(const identity *id, fake_source source, const char *addr,
                        fake_token *t)
{
    static const char *const VARIANTS[] = { " Classic", " Wrapped", " Official" };
    draw d = draw_for(addr, SALT_NAME_VARIANT + source);
    if (draw_permille(&d, 100))
        snprintf(t->name, sizeof t->name, "%s%s", id->name, VARIANTS[draw_u64(&d) % COUNT(VARIANTS)]);
    else
        snprintf(t->name, sizeof t->name, "%s", id->name);
    snprintf(t->symbol, sizeof t->symbol, "%s", id->symbol);
    t->has_name = t->has_symbol = 1;
}

/* The identity's price nudged per source: still MANTISSA / 10^SCALE. */
static uint64_t source_price_mantissa(const identity *id, draw *d)
{
    return id->price_mantissa + draw_range(d, 0, 60) - 30; /* mantissa >= 1000 */
}

static void add_link(fake_token *t, char kind, const char *label, const char *url)
{
    if (t->n_links >= FAKE_MAX_LINKS)
        return;
    fake_link *l = &t->links[t->n_links++];
    l->kind = kind;
    snprintf(l->label, sizeof l->label, "%s", label);
    snprintf(l->url, sizeof l->url, "%s", url);
}

/* --------------------------------------------------------------- jupiter */

void fake_jupiter_volume_parts(const char *addr, double *buy, double *sell)
{
    /* Quarters below 2^40: both parts and their sum are exact doubles. */
    draw d = draw_for(addr, SALT_JUP_VOLUME);
    int magnitude = (int)draw_range(&d, 8, 41); /* in quarters: up to 2^41 q = 2^39 $ */
    uint64_t span = (uint64_t)1 << magnitude;
    *buy = (double)draw_range(&d, 0, span - 1) / 4.0;
    *sell = (double)draw_range(&d, 0, span - 1) / 4.0;
}

static void jupiter_token(const char *addr, fake_token *t)
{
    identity id;
    make_identity(addr, &id);
    draw d = draw_for(addr, SALT_SOURCE_DATA + FAKE_JUPITER);
    t->known = 1;
    source_name(&id, FAKE_JUPITER, addr, t);

    t->has_image = !draw_permille(&d, 100);
    if (t->has_image)
        snprintf(t->image, sizeof t->image, "https://img.jup.fake/icons/%s.png", addr);
    t->has_decimals = 1;
    t->decimals = id.decimals;

    uint64_t mantissa = source_price_mantissa(&id, &d);
    t->has_price = !draw_permille(&d, 100);
    t->price_usd = (double)mantissa / POW10[id.price_scale];

    t->has_market_cap = !draw_permille(&d, 120);
    uint64_t mcap_cents = draw_cents(&d, 3, 10);
    t->market_cap = (double)mcap_cents / 100.0;
    t->has_fdv = !draw_permille(&d, 120);
    t->fdv = (double)(mcap_cents + draw_cents(&d, 2, 9)) / 100.0;
    t->has_liquidity = !draw_permille(&d, 80);
    t->liquidity_usd = draw_permille(&d, 30) ? 0.0 : (double)draw_cents(&d, 2, 8) / 100.0;

    int has_stats = !draw_permille(&d, 100);
    t->has_volume = has_stats;
    t->has_change = has_stats && !draw_permille(&d, 50);
    t->change_24h = draw_change(&d);
    double buy, sell;
    fake_jupiter_volume_parts(addr, &buy, &sell);
    t->volume_24h = buy + sell;

    char url[160];
    if (draw_permille(&d, 600)) {
        snprintf(url, sizeof url, "https://%s.fake", id.handle);
        add_link(t, 'w', "website", url);
    }
    if (draw_permille(&d, 700)) {
        snprintf(url, sizeof url, "https://x.com/%s", id.handle);
        add_link(t, 's', "twitter", url);
    }
    if (draw_permille(&d, 400)) {
        snprintf(url, sizeof url, "https://t.me/%s", id.handle);
        add_link(t, 's', "telegram", url);
    }
    if (draw_permille(&d, 250)) {
        snprintf(url, sizeof url, "https://discord.gg/%s", id.handle);
        add_link(t, 's', "discord", url);
    }
}

/* ---------------------------------------------------------------- helius */

static const char *const SUPPLY_EDGE_CASES[] = {
    "9007199254740993",     /* 2^53 + 1: the first integer a double cannot hold */
    "9007199254740992",
    "18446744073709551615", /* u64 max */
    "18446744073709551614",
    "12345678901234567891",
    "0",
};

static void helius_build(const char *addr, fake_token *t, fake_helius_asset *a)
{
    identity id;
    make_identity(addr, &id);
    draw d = draw_for(addr, SALT_SOURCE_DATA + FAKE_HELIUS);
    memset(a, 0, sizeof *a);
    t->known = 1;

    a->has_metadata = !draw_permille(&d, 50);
    if (a->has_metadata) {
        source_name(&id, FAKE_HELIUS, addr, t);
        snprintf(a->json_uri, sizeof a->json_uri, "https://arweave.fake/meta/%s.json", addr);
        if (draw_permille(&d, 600)) {
            t->has_description = 1;
            /* Sometimes a newline and quotes: both need escaping in JSON. */
            if (draw_permille(&d, 200))
                snprintf(t->description, sizeof t->description,
                         "%s\nThe \"community\" token.", id.name);
            else
                snprintf(t->description, sizeof t->description,
                         "%s is a token used for testing.", id.name);
        }
    }

    /* Image shapes: each rule of the selection order is exercised. */
    char file_uri[160], cdn_uri[160], links_image[160];
    snprintf(file_uri, sizeof file_uri, "https://arweave.fake/img/%s.png", addr);
    snprintf(cdn_uri, sizeof cdn_uri, "https://cdn.helius.fake/cdn-cgi/image//%s.png", addr);
    snprintf(links_image, sizeof links_image, "https://ipfs.fake/ipfs/%s", addr);
    uint64_t shape = draw_u64(&d) % 100;
    if (shape < 45) { /* files[0] with cdn_uri and uri, links.image too */
        snprintf(a->file_uri, sizeof a->file_uri, "%s", file_uri);
        snprintf(a->file_cdn_uri, sizeof a->file_cdn_uri, "%s", cdn_uri);
        snprintf(a->links_image, sizeof a->links_image, "%s", links_image);
    } else if (shape < 70) { /* files[0].uri only, links.image too */
        snprintf(a->file_uri, sizeof a->file_uri, "%s", file_uri);
        snprintf(a->links_image, sizeof a->links_image, "%s", links_image);
    } else if (shape < 88) { /* no files, links.image */
        snprintf(a->links_image, sizeof a->links_image, "%s", links_image);
    } else if (shape < 93) { /* files[0] with cdn_uri and uri, no links.image */
        snprintf(a->file_uri, sizeof a->file_uri, "%s", file_uri);
        snprintf(a->file_cdn_uri, sizeof a->file_cdn_uri, "%s", cdn_uri);
    } /* else: no image anywhere */
    const char *chosen = a->file_cdn_uri[0] ? a->file_cdn_uri
                       : a->file_uri[0]     ? a->file_uri
                                            : a->links_image;
    t->has_image = chosen[0] != '\0';
    snprintf(t->image, sizeof t->image, "%s", chosen);

    a->token_program = draw_permille(&d, 150) ? "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
                                              : "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
    a->is_mutable = draw_permille(&d, 700);
    a->is_burnt = 0;

    a->has_token_info = !draw_permille(&d, 50);
    if (a->has_token_info) {
        t->has_decimals = 1;
        t->decimals = id.decimals;
        t->has_supply = 1;
        uint64_t kind = draw_u64(&d) % 100;
        if (kind < 10) {
            snprintf(t->supply, sizeof t->supply, "%s",
                     SUPPLY_EDGE_CASES[draw_u64(&d) % COUNT(SUPPLY_EDGE_CASES)]);
        } else if (kind < 30) { /* above 2^53 */
            uint64_t v = ((uint64_t)1 << 53) + draw_u64(&d) % (UINT64_MAX - ((uint64_t)1 << 53));
            snprintf(t->supply, sizeof t->supply, "%" PRIu64, v);
        } else {
            snprintf(t->supply, sizeof t->supply, "%" PRIu64,
                     draw_range(&d, 1000000ULL, 1000000000000000ULL));
        }
        /* price_info only for some tokens (Helius: top 10k by volume). */
        t->has_price = draw_permille(&d, 400);
        t->price_usd = (double)source_price_mantissa(&id, &d) / POW10[id.price_scale];
    }
}

int fake_helius_asset_for(const fake_profile *profile, const char *addr,
                          fake_token *token, fake_helius_asset *asset)
{
    memset(token, 0, sizeof *token);
    memset(asset, 0, sizeof *asset);
    if (!fake_source_knows(profile, FAKE_HELIUS, addr))
        return 0;
    helius_build(addr, token, asset);
    return 1;
}

/* ----------------------------------------------------------- dexscreener */

static const char *const DEX_IDS[] = { "raydium", "orca", "meteora", "pumpswap" };
static const char *const DEX_LABELS[] = { "CLMM", "DLMM", "wp", "DYN" };

static void token_ref(fake_dex_token_ref *r, const char *addr, const char *name, const char *symbol)
{
    snprintf(r->address, sizeof r->address, "%s", addr);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->symbol, sizeof r->symbol, "%s", symbol);
}

/* Fields every pair has whatever its role (address, dex, activity). */
static void pair_common(const char *addr, size_t index, draw *d, fake_dex_pair *p)
{
    fake_address(fake_hash(addr, SALT_DEX_PAIR_ADDR), index, p->pair_address);
    p->dex_id = DEX_IDS[draw_u64(d) % COUNT(DEX_IDS)];
    p->label = draw_permille(d, 400) ? DEX_LABELS[draw_u64(d) % COUNT(DEX_LABELS)] : NULL;
    for (int w = 0; w < 4; w++) {
        p->buys[w] = (unsigned)draw_range(d, 0, 50u << (2 * w));
        p->sells[w] = (unsigned)draw_range(d, 0, 50u << (2 * w));
        p->change[w] = draw_change(d);
    }
    p->has_change_h24 = 1;
    uint64_t h24 = draw_cents(d, 2, 9);
    p->volume[3] = (double)h24 / 100.0;
    p->volume[2] = (double)(h24 / 4) / 100.0;
    p->volume[1] = (double)(h24 / 24) / 100.0;
    p->volume[0] = (double)(h24 / 288) / 100.0;
    p->pair_created_at_ms = 1600000000000LL + (long long)draw_range(d, 0, 150000000000ULL);
}

static void set_liquidity(fake_dex_pair *p, uint64_t usd_cents, double base_price, double quote_price)
{
    p->has_liquidity = 1;
    p->liquidity_usd = (double)usd_cents / 100.0;
    /* Half of the value on each side, in token units, rounded to 1/100. */
    p->liquidity_base = round(p->liquidity_usd / 2.0 / base_price * 100.0) / 100.0;
    p->liquidity_quote = round(p->liquidity_usd / 2.0 / quote_price * 100.0) / 100.0;
}

static void pair_price_strings(fake_dex_pair *p, uint64_t mantissa, int scale, double quote_usd)
{
    format_scaled(mantissa, scale, p->price_usd, sizeof p->price_usd);
    double usd = (double)mantissa / POW10[scale];
    format_significant(usd / quote_usd, p->price_native, sizeof p->price_native);
}

/* info{...} of the best base pair; fills the token's image and links. */
static void best_pair_info(const char *addr, const identity *id, draw *d,
                           fake_dex_pair *p, fake_token *t)
{
    p->has_info = !draw_permille(d, 150);
    if (!p->has_info)
        return;
    snprintf(p->header, sizeof p->header, "https://dd.dexscreener.fake/ds-data/tokens/solana/%s/header.png", addr);
    snprintf(p->open_graph, sizeof p->open_graph, "https://cdn.dexscreener.fake/token-images/og/solana/%s", addr);
    if (!draw_permille(d, 100)) {
        snprintf(p->image_url, sizeof p->image_url,
                 "https://dd.dexscreener.fake/ds-data/tokens/solana/%s.png?key=%04x", addr,
                 (unsigned)(draw_u64(d) & 0xffff));
        t->has_image = 1;
        snprintf(t->image, sizeof t->image, "%s", p->image_url);
    }

    static const char *const SITE_LABELS[] = { "Website", "Docs", "Whitepaper" };
    p->n_websites = (size_t)draw_range(d, 0, 2);
    for (size_t i = 0; i < p->n_websites; i++) {
        fake_link *w = &p->websites[i];
        w->kind = 'w';
        snprintf(w->label, sizeof w->label, "%s", SITE_LABELS[i]);
        snprintf(w->url, sizeof w->url, "https://%s.fake/%s", id->handle, i ? "docs" : "");
        /* Collectors store website labels lower-cased, as social types. */
        char lowered[sizeof w->label];
        size_t j = 0;
        for (; w->label[j]; j++)
            lowered[j] = (char)((w->label[j] >= 'A' && w->label[j] <= 'Z') ? w->label[j] + 32 : w->label[j]);
        lowered[j] = 0;
        add_link(t, 'w', lowered, w->url);
    }

    static const char *const PLATFORMS[] = { "twitter", "telegram", "discord" };
    static const char *const PLATFORMS_CAPITALISED[] = { "Twitter", "Telegram", "Discord" };
    size_t room = FAKE_MAX_LINKS - p->n_websites;
    for (size_t k = 0; k < COUNT(PLATFORMS) && p->n_socials < room; k++) {
        if (!draw_permille(d, 550))
            continue;
        fake_dex_social *s = &p->socials[p->n_socials++];
        char url[160];
        if (k == 0)
            snprintf(url, sizeof url, "https://x.com/%s", id->handle);
        else if (k == 1)
            snprintf(url, sizeof url, "https://t.me/%s", id->handle);
        else
            snprintf(url, sizeof url, "https://discord.gg/%s", id->handle);

        if (draw_permille(d, 350)) { /* documented form {platform,handle} */
            s->form = 'p';
            snprintf(s->key, sizeof s->key, "%s",
                     draw_permille(d, 300) ? PLATFORMS_CAPITALISED[k] : PLATFORMS[k]);
            if (k == 0)
                snprintf(s->value, sizeof s->value, "@%s", id->handle);
            else if (k == 1)
                snprintf(s->value, sizeof s->value, "%s%s", draw_permille(d, 500) ? "@" : "", id->handle);
            else
                snprintf(s->value, sizeof s->value, "%s", url);
        } else { /* real form {type,url} */
            s->form = 't';
            snprintf(s->key, sizeof s->key, "%s", PLATFORMS[k]);
            snprintf(s->value, sizeof s->value, "%s", url);
        }
        add_link(t, 's', PLATFORMS[k], url);
    }
}

/* Build the token and (when PAIRS is not NULL) its pairs; returns the count. */
static size_t dex_build(const char *addr, fake_token *t, fake_dex_pair *pairs)
{
    fake_dex_pair local[FAKE_DEX_MAX_PAIRS];
    if (!pairs)
        pairs = local;
    memset(pairs, 0, sizeof(fake_dex_pair) * FAKE_DEX_MAX_PAIRS);

    identity id;
    make_identity(addr, &id);
    draw d = draw_for(addr, SALT_DEX_PAIRS);
    t->known = 1;

    int use_usdc = draw_permille(&d, 300) && strcmp(addr, FAKE_USDC_MINT) != 0;
    const char *quote_addr = use_usdc ? FAKE_USDC_MINT : FAKE_SOL_MINT;
    const char *quote_name = use_usdc ? "USD Coin" : "Wrapped SOL";
    const char *quote_symbol = use_usdc ? "USDC" : "SOL";
    double quote_usd = use_usdc ? 0.9999 : 150.25;
    if (strcmp(addr, FAKE_SOL_MINT) == 0) { /* SOL trades against USDC */
        quote_addr = FAKE_USDC_MINT;
        quote_name = "USD Coin";
        quote_symbol = "USDC";
        quote_usd = 0.9999;
    }

    /* The decoy base token of pairs where ADDR is only the quote token. */
    char decoy_addr[45];
    fake_address(fake_hash(addr, SALT_DEX_DECOY_BASE), 0, decoy_addr);
    identity decoy;
    make_identity(decoy_addr, &decoy);

    size_t n = 0;
    int quote_only = !is_quote_mint(addr) && fake_hash(addr, SALT_DEX_QUOTE_ONLY) % 1000 < 50;
    if (quote_only) {
        fake_dex_pair *p = &pairs[n++];
        pair_common(addr, 0, &d, p);
        token_ref(&p->base, decoy_addr, decoy.name, decoy.symbol);
        token_ref(&p->quote, addr, id.name, id.symbol);
        /* priceUsd is the decoy base's USD price, priceNative its price in
         * ADDR units; a client derives ADDR's USD price from both strings. */
        format_scaled(decoy.price_mantissa, decoy.price_scale, p->price_usd, sizeof p->price_usd);
        double base_usd = (double)decoy.price_mantissa / POW10[decoy.price_scale];
        double token_usd = (double)id.price_mantissa / POW10[id.price_scale];
        format_significant(base_usd / token_usd, p->price_native, sizeof p->price_native);
        set_liquidity(p, draw_cents(&d, 3, 7), base_usd, token_usd);
        p->has_fdv = draw_permille(&d, 700);
        p->fdv = (double)draw_cents(&d, 4, 9) / 100.0;

        t->dex_quote_only = 1;
        snprintf(t->name, sizeof t->name, "%s", id.name);
        snprintf(t->symbol, sizeof t->symbol, "%s", id.symbol);
        t->has_name = t->has_symbol = 1;
        t->has_price = 1;
        t->price_usd = strtod(p->price_usd, NULL) / strtod(p->price_native, NULL);
        t->has_liquidity = 1;
        t->liquidity_usd = p->liquidity_usd;
        t->has_volume = 1;
        t->volume_24h = p->volume[3];
        return n;
    }

    /* The best base pair carries the token's values. */
    source_name(&id, FAKE_DEXSCREENER, addr, t);
    fake_dex_pair *best = &pairs[n++];
    pair_common(addr, 0, &d, best);
    token_ref(&best->base, addr, t->name, t->symbol);
    token_ref(&best->quote, quote_addr, quote_name, quote_symbol);
    uint64_t mantissa = source_price_mantissa(&id, &d);
    double token_usd = (double)mantissa / POW10[id.price_scale];
    pair_price_strings(best, mantissa, id.price_scale, quote_usd);
    if (draw_permille(&d, 50))
        best->price_usd[0] = '\0'; /* priceUsd null */
    uint64_t best_liquidity_cents = draw_cents(&d, 3, 8);
    set_liquidity(best, best_liquidity_cents, token_usd, quote_usd);
    best->has_fdv = !draw_permille(&d, 200);
    uint64_t mcap_cents = draw_cents(&d, 4, 10);
    best->fdv = (double)(mcap_cents + draw_cents(&d, 2, 9)) / 100.0;
    best->has_market_cap = !draw_permille(&d, 200);
    best->market_cap = (double)mcap_cents / 100.0;
    best->has_change_h24 = !draw_permille(&d, 50);
    best_pair_info(addr, &id, &d, best, t);

    t->has_price = best->price_usd[0] != '\0';
    t->price_usd = t->has_price ? strtod(best->price_usd, NULL) : 0.0;
    t->has_liquidity = 1;
    t->liquidity_usd = best->liquidity_usd;
    t->has_fdv = best->has_fdv;
    t->fdv = best->fdv;
    t->has_market_cap = best->has_market_cap;
    t->market_cap = best->market_cap;
    t->has_volume = 1;
    t->volume_24h = best->volume[3];
    t->has_change = best->has_change_h24;
    t->change_24h = best->change[3];

    /* Decoy base pairs: lower (or missing) liquidity, other prices. */
    size_t decoys = (size_t)draw_range(&d, 0, 2);
    for (size_t k = 0; k < decoys; k++) {
        fake_dex_pair *p = &pairs[n++];
        pair_common(addr, n, &d, p);
        token_ref(&p->base, addr, t->name, t->symbol);
        token_ref(&p->quote, quote_addr, quote_name, quote_symbol);
        uint64_t offset = draw_range(&d, 1, 500);
        uint64_t m = draw_permille(&d, 500) ? mantissa + offset : mantissa - offset; /* >= 470 */
        pair_price_strings(p, m, id.price_scale, quote_usd);
        uint64_t liquidity_kind = draw_u64(&d) % 100;
        if (liquidity_kind < 25)
            p->has_liquidity = 0;
        else if (liquidity_kind < 35)
            set_liquidity(p, 0, token_usd, quote_usd);
        else
            set_liquidity(p, draw_range(&d, 1, best_liquidity_cents - 1), token_usd, quote_usd);
        p->has_fdv = draw_permille(&d, 500);
        p->fdv = (double)draw_cents(&d, 4, 10) / 100.0;
        p->has_market_cap = draw_permille(&d, 500);
        p->market_cap = (double)draw_cents(&d, 4, 10) / 100.0;
        if (draw_permille(&d, 500)) { /* other image: a client must not mix pairs */
            p->has_info = 1;
            snprintf(p->image_url, sizeof p->image_url,
                     "https://dd.dexscreener.fake/ds-data/tokens/solana/%s.png?pair=%zu", addr, k);
        }
    }

    /* A deeper pool where ADDR is only the quote token: must not win. */
    if (draw_permille(&d, 300)) {
        fake_dex_pair *p = &pairs[n++];
        pair_common(addr, n, &d, p);
        token_ref(&p->base, decoy_addr, decoy.name, decoy.symbol);
        token_ref(&p->quote, addr, t->name, t->symbol);
        double base_usd = (double)decoy.price_mantissa / POW10[decoy.price_scale];
        pair_price_strings(p, decoy.price_mantissa, decoy.price_scale, token_usd);
        set_liquidity(p, best_liquidity_cents + draw_range(&d, 1, best_liquidity_cents),
                      base_usd, token_usd);
        p->has_fdv = p->has_market_cap = 1;
        p->fdv = p->market_cap = (double)draw_cents(&d, 4, 10) / 100.0;
        p->has_info = 1;
        snprintf(p->image_url, sizeof p->image_url,
                 "https://dd.dexscreener.fake/ds-data/tokens/solana/%s.png", decoy_addr);
    }

    /* Deterministic shuffle so that the best pair is not always first. */
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(draw_u64(&d) % i);
        fake_dex_pair tmp = pairs[i - 1];
        pairs[i - 1] = pairs[j];
        pairs[j] = tmp;
    }
    return n;
}

size_t fake_dex_pairs(const fake_profile *profile, const char *addr,
                      fake_dex_pair pairs[FAKE_DEX_MAX_PAIRS])
{
    if (!fake_source_knows(profile, FAKE_DEXSCREENER, addr))
        return 0;
    fake_token t;
    memset(&t, 0, sizeof t);
    return dex_build(addr, &t, pairs);
}

/* ----------------------------------------------------------------- entry */

void fake_token_for(const fake_profile *profile, fake_source source,
                    const char *addr, fake_token *out)
{
    memset(out, 0, sizeof *out);
    if (!fake_source_knows(profile, source, addr))
        return;
    switch (source) {
    case FAKE_JUPITER:
        jupiter_token(addr, out);
        break;
    case FAKE_HELIUS: {
        fake_helius_asset asset;
        helius_build(addr, out, &asset);
        break;
    }
    case FAKE_DEXSCREENER:
        dex_build(addr, out, NULL);
        break;
    default:
        break;
    }
    /* Absent means absent: zero the values behind unset flags so that
     * whole-struct comparisons stay meaningful. */
    if (!out->has_price) out->price_usd = 0.0;
    if (!out->has_market_cap) out->market_cap = 0.0;
    if (!out->has_fdv) out->fdv = 0.0;
    if (!out->has_liquidity) out->liquidity_usd = 0.0;
    if (!out->has_volume) out->volume_24h = 0.0;
    if (!out->has_change) out->change_24h = 0.0;
}
