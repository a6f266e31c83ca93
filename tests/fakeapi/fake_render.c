/*
 * Renders the fake upstream's JSON responses from fake_data.c's values, in
 * the real APIs' shapes (docs/upstream-apis.md). Pure
 * functions: no I/O, no global state; deterministic for given addresses.
 *
 * cJSON escapes strings correctly and prints doubles so that strtod gives
 * the same value back ("%.15g", or "%.17g" when 15 digits are not enough).
 * Helius' raw u64 supply is inserted as raw text so that its digits stay
 * exact above 2^53.
 */
#include "fake_data.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Salts for presentation choices that do not change the data. */
enum {
    SALT_NULL_STYLE = 0xc001,   /* + field: absent as null or as missing key */
    SALT_EXTRA = 0xd001,        /* + k: extra realistic fields */
    SALT_ORDER = 0xe001,
};

/* Add a number whose text strtod's back to exactly V. cJSON's own printer
 * checks its 15-digit form with an epsilon compare and so can be 1 ulp off;
 * here the shortest of %.15g/%.16g/%.17g that round-trips is used. */
static cJSON *add_number(cJSON *obj, const char *key, double v)
{
    if (!isfinite(v)) /* JSON has no NaN/Infinity; never generated anyway */
        return cJSON_AddNullToObject(obj, key);
    char text[32];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v)
            break;
    }
    return cJSON_AddRawToObject(obj, key, text);
}

/* An absent field is sent as an explicit null for some tokens and left out
 * for others; clients must treat both as "unknown". */
static int absent_as_null(const char *addr, unsigned field)
{
    return (fake_hash(addr, SALT_NULL_STYLE + field) & 1) != 0;
}

static void add_number_or_absent(cJSON *obj, const char *key, int has, double value,
                                 const char *addr, unsigned field)
{
    if (has)
        add_number(obj, key, value);
    else if (absent_as_null(addr, field))
        cJSON_AddNullToObject(obj, key);
}

static void add_string_or_absent(cJSON *obj, const char *key, const char *value,
                                 const char *addr, unsigned field)
{
    if (value && value[0])
        cJSON_AddStringToObject(obj, key, value);
    else if (absent_as_null(addr, field))
        cJSON_AddNullToObject(obj, key);
}

static uint64_t extra(const char *addr, unsigned k)
{
    return fake_hash(addr, SALT_EXTRA + k);
}

/* Print ROOT unformatted into a malloc'd buffer (independent of any cJSON
 * allocator hooks the embedding program may install) and delete ROOT. */
static char *print_and_delete(cJSON *root)
{
    if (!root)
        return NULL;
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return NULL;
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (copy)
        memcpy(copy, text, len + 1);
    cJSON_free(text);
    return copy;
}

/* Indices of the distinct addresses among ADDRS[0..N), in request order. */
static size_t distinct_indices(const char *const *addrs, size_t n, size_t *out)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        for (size_t j = 0; j < count && !seen; j++)
            seen = strcmp(addrs[out[j]], addrs[i]) == 0;
        if (!seen)
            out[count++] = i;
    }
    return count;
}

/* Deterministic shuffle of N pointers seeded by the request's addresses;
 * guarantees an order different from the input when N >= 2. */
static void shuffle_items(void **items, size_t n, const char *const *addrs, size_t naddrs)
{
    if (n < 2)
        return;
    uint64_t state = SALT_ORDER;
    for (size_t i = 0; i < naddrs; i++)
        state = state * 31 + fake_hash(addrs[i], i);
    void **original = malloc(n * sizeof *original);
    if (original)
        memcpy(original, items, n * sizeof *original);
    for (size_t i = n; i > 1; i--) {
        state += 0x9e3779b97f4a7c15ULL;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        size_t j = (size_t)(z % i);
        void *tmp = items[i - 1];
        items[i - 1] = items[j];
        items[j] = tmp;
    }
    if (original && memcmp(original, items, n * sizeof *original) == 0) {
        for (size_t i = 0; i < n / 2; i++) { /* the shuffle was the identity: reverse */
            void *tmp = items[i];
            items[i] = items[n - 1 - i];
            items[n - 1 - i] = tmp;
        }
    }
    free(original);
}

/* --------------------------------------------------------------- jupiter */

static const char *link_url(const fake_token *t, const char *label)
{
    for (size_t i = 0; i < t->n_links; i++)
        if (strcmp(t->links[i].label, label) == 0)
            return t->links[i].url;
    return NULL;
}

static cJSON *jupiter_stats(const char *addr, unsigned window, const fake_token *t,
                            double buy, double sell)
{
    cJSON *s = cJSON_CreateObject();
    double scale = (double)(window + 1) / 4.0;
    if (window == 3)
        add_number_or_absent(s, "priceChange", t->has_change, t->change_24h, addr, 20);
    else
        add_number(s, "priceChange", (double)(int)(extra(addr, 10 + window) % 2000) / 100.0 - 10.0);
    add_number(s, "holderChange", (double)(int)(extra(addr, 14 + window) % 500) / 100.0);
    add_number(s, "liquidityChange", (double)(int)(extra(addr, 18 + window) % 800) / 100.0 - 4.0);
    add_number(s, "volumeChange", (double)(int)(extra(addr, 22 + window) % 9000) / 100.0 - 30.0);
    /* Shorter windows get other (smaller) volumes: a client must read stats24h. */
    add_number(s, "buyVolume", window == 3 ? buy : (double)(uint64_t)(buy * scale / 2.0));
    add_number(s, "sellVolume", window == 3 ? sell : (double)(uint64_t)(sell * scale / 2.0));
    add_number(s, "buyOrganicVolume", (double)(uint64_t)(buy * scale / 3.0));
    add_number(s, "sellOrganicVolume", (double)(uint64_t)(sell * scale / 3.0));
    add_number(s, "numBuys", (double)(extra(addr, 26 + window) % 5000));
    add_number(s, "numSells", (double)(extra(addr, 30 + window) % 5000));
    add_number(s, "numTraders", (double)(extra(addr, 34 + window) % 3000));
    add_number(s, "numOrganicBuyers", (double)(extra(addr, 38 + window) % 300));
    add_number(s, "numNetBuyers", (double)(extra(addr, 42 + window) % 100));
    return s;
}

void fake_jupiter_extras(const char *addr, fake_jupiter_extra *out)
{
    out->holder_count = (double)(extra(addr, 8) % 250000);
    out->mint_authority_disabled = (extra(addr, 9) & 1) != 0;
    out->freeze_authority_disabled = (extra(addr, 9) & 2) != 0;
    out->top_holders_pct = (double)(extra(addr, 46) % 10000) / 100.0;
    out->organic_score = (double)(extra(addr, 47) % 10000) / 100.0;
    out->is_verified = (extra(addr, 49) % 10) < 3;
    fake_address(extra(addr, 2), 0, out->first_pool);
}

static cJSON *jupiter_object(const char *addr, const fake_token *t)
{
    fake_jupiter_extra x;
    fake_jupiter_extras(addr, &x);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", addr);
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "symbol", t->symbol);
    add_string_or_absent(o, "icon", t->has_image ? t->image : NULL, addr, 1);
    add_number(o, "decimals", t->decimals);
    add_string_or_absent(o, "twitter", link_url(t, "twitter"), addr, 2);
    add_string_or_absent(o, "telegram", link_url(t, "telegram"), addr, 3);
    add_string_or_absent(o, "website", link_url(t, "website"), addr, 4);
    add_string_or_absent(o, "discord", link_url(t, "discord"), addr, 5);

    char dev[45], created[32];
    fake_address(extra(addr, 1), 0, dev);
    snprintf(created, sizeof created, "2025-%02u-%02uT%02u:00:00.000Z",
             (unsigned)(extra(addr, 3) % 12 + 1), (unsigned)(extra(addr, 4) % 28 + 1),
             (unsigned)(extra(addr, 5) % 24));
    cJSON_AddStringToObject(o, "dev", dev);
    add_number(o, "circSupply", (double)(extra(addr, 6) % 1000000000000ULL));
    add_number(o, "totalSupply", (double)(extra(addr, 7) % 1000000000000ULL) + 1e12);
    cJSON_AddStringToObject(o, "tokenProgram", "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
    cJSON_AddStringToObject(o, "createdAt", created);
    cJSON *first_pool = cJSON_AddObjectToObject(o, "firstPool");
    cJSON_AddStringToObject(first_pool, "id", x.first_pool);
    cJSON_AddStringToObject(first_pool, "createdAt", created);
    add_number(o, "holderCount", x.holder_count);
    cJSON *audit = cJSON_AddObjectToObject(o, "audit");
    cJSON_AddBoolToObject(audit, "mintAuthorityDisabled", x.mint_authority_disabled);
    cJSON_AddBoolToObject(audit, "freezeAuthorityDisabled", x.freeze_authority_disabled);
    add_number(audit, "topHoldersPercentage", x.top_holders_pct);
    add_number(o, "organicScore", x.organic_score);
    static const char *const LABELS[] = { "high", "medium", "low" };
    cJSON_AddStringToObject(o, "organicScoreLabel", LABELS[extra(addr, 48) % 3]);
    cJSON_AddBoolToObject(o, "isVerified", x.is_verified);
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    if (x.is_verified)
        cJSON_AddItemToArray(tags, cJSON_CreateString("verified"));
    if (extra(addr, 50) & 1)
        cJSON_AddItemToArray(tags, cJSON_CreateString("community"));

    add_number_or_absent(o, "fdv", t->has_fdv, t->fdv, addr, 6);
    add_number_or_absent(o, "mcap", t->has_market_cap, t->market_cap, addr, 7);
    add_number_or_absent(o, "usdPrice", t->has_price, t->price_usd, addr, 8);
    if (t->has_price)
        add_number(o, "priceBlockId", (double)(350000000 + extra(addr, 51) % 10000000));
    add_number_or_absent(o, "liquidity", t->has_liquidity, t->liquidity_usd, addr, 9);

    double buy, sell;
    fake_jupiter_volume_parts(addr, &buy, &sell);
    static const char *const WINDOWS[] = { "stats5m", "stats1h", "stats6h", "stats24h" };
    for (unsigned w = 0; w < 4; w++) {
        if (t->has_volume)
            cJSON_AddItemToObject(o, WINDOWS[w], jupiter_stats(addr, w, t, buy, sell));
        else if (absent_as_null(addr, 10))
            cJSON_AddNullToObject(o, WINDOWS[w]);
    }
    cJSON_AddStringToObject(o, "updatedAt", "2026-09-01T12:00:00.000Z");
    return o;
}

char *fake_render_jupiter(const fake_profile *profile, const char *const *addrs, size_t n)
{
    size_t *distinct = malloc((n ? n : 1) * sizeof *distinct);
    cJSON **items = malloc((n ? n : 1) * sizeof *items);
    cJSON *array = cJSON_CreateArray();
    if (!distinct || !items || !array) {
        free(distinct);
        free(items);
        cJSON_Delete(array);
        return NULL;
    }
    size_t nd = distinct_indices(addrs, n, distinct), nitems = 0;
    for (size_t i = 0; i < nd; i++) {
        const char *addr = addrs[distinct[i]];
        fake_token t;
        fake_token_for(profile, FAKE_JUPITER, addr, &t);
        if (t.known) /* unknown mints are simply left out */
            items[nitems++] = jupiter_object(addr, &t);
    }
    shuffle_items((void **)items, nitems, addrs, n);
    for (size_t i = 0; i < nitems; i++)
        cJSON_AddItemToArray(array, items[i]);
    free(distinct);
    free(items);
    return print_and_delete(array);
}

/* ---------------------------------------------------------------- helius */

static cJSON *helius_asset(const char *addr, const fake_token *t, const fake_helius_asset *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "interface", "FungibleToken");
    cJSON_AddStringToObject(o, "id", addr);

    cJSON *content = cJSON_AddObjectToObject(o, "content");
    cJSON_AddStringToObject(content, "$schema", "https://schema.metaplex.com/nft1.0.json");
    cJSON_AddStringToObject(content, "json_uri", a->json_uri);
    cJSON *files = cJSON_AddArrayToObject(content, "files");
    if (a->file_uri[0] || a->file_cdn_uri[0]) {
        cJSON *file = cJSON_CreateObject();
        if (a->file_uri[0])
            cJSON_AddStringToObject(file, "uri", a->file_uri);
        if (a->file_cdn_uri[0])
            cJSON_AddStringToObject(file, "cdn_uri", a->file_cdn_uri);
        cJSON_AddStringToObject(file, "mime", "image/png");
        cJSON_AddItemToArray(files, file);
    }
    cJSON *metadata = cJSON_AddObjectToObject(content, "metadata");
    if (a->has_metadata) {
        if (t->has_description)
            cJSON_AddStringToObject(metadata, "description", t->description);
        cJSON_AddStringToObject(metadata, "name", t->name);
        cJSON_AddStringToObject(metadata, "symbol", t->symbol);
        cJSON_AddStringToObject(metadata, "token_standard", "Fungible");
    }
    cJSON *links = cJSON_AddObjectToObject(content, "links");
    if (a->links_image[0])
        cJSON_AddStringToObject(links, "image", a->links_image);

    char authority[45];
    fake_address(extra(addr, 60), 0, authority);
    cJSON *authorities = cJSON_AddArrayToObject(o, "authorities");
    cJSON *auth = cJSON_CreateObject();
    cJSON_AddStringToObject(auth, "address", authority);
    cJSON *scopes = cJSON_AddArrayToObject(auth, "scopes");
    cJSON_AddItemToArray(scopes, cJSON_CreateString("full"));
    cJSON_AddItemToArray(authorities, auth);
    cJSON *compression = cJSON_AddObjectToObject(o, "compression");
    cJSON_AddBoolToObject(compression, "eligible", 0);
    cJSON_AddBoolToObject(compression, "compressed", 0);
    cJSON_AddStringToObject(compression, "data_hash", "");
    cJSON_AddStringToObject(compression, "tree", "");
    add_number(compression, "seq", 0);
    add_number(compression, "leaf_id", 0);
    cJSON_AddArrayToObject(o, "grouping");
    cJSON *royalty = cJSON_AddObjectToObject(o, "royalty");
    cJSON_AddStringToObject(royalty, "royalty_model", "creators");
    cJSON_AddNullToObject(royalty, "target");
    add_number(royalty, "percent", 0);
    add_number(royalty, "basis_points", 0);
    cJSON_AddBoolToObject(royalty, "primary_sale_happened", 0);
    cJSON_AddBoolToObject(royalty, "locked", 0);
    cJSON_AddArrayToObject(o, "creators");
    cJSON *ownership = cJSON_AddObjectToObject(o, "ownership");
    cJSON_AddBoolToObject(ownership, "frozen", 0);
    cJSON_AddBoolToObject(ownership, "delegated", 0);
    cJSON_AddNullToObject(ownership, "delegate");
    cJSON_AddStringToObject(ownership, "ownership_model", "token");
    cJSON_AddStringToObject(ownership, "owner", "");
    cJSON_AddNullToObject(o, "supply"); /* the NFT edition supply, not the token's */
    cJSON_AddBoolToObject(o, "mutable", a->is_mutable);
    cJSON_AddBoolToObject(o, "burnt", a->is_burnt);

    if (a->has_token_info) {
        cJSON *info = cJSON_AddObjectToObject(o, "token_info");
        if (a->has_metadata)
            cJSON_AddStringToObject(info, "symbol", t->symbol);
        cJSON_AddRawToObject(info, "supply", t->supply); /* exact digits, may exceed 2^53 */
        add_number(info, "decimals", t->decimals);
        cJSON_AddStringToObject(info, "token_program", a->token_program);
        if (t->has_price) {
            cJSON *price = cJSON_AddObjectToObject(info, "price_info");
            add_number(price, "price_per_token", t->price_usd);
            cJSON_AddStringToObject(price, "currency", "USDC");
        }
    }
    return o;
}

char *fake_render_helius(const fake_profile *profile, const char *const *addrs, size_t n,
                         const char *id_json)
{
    cJSON *reply = cJSON_CreateObject();
    if (!reply)
        return NULL;
    cJSON_AddStringToObject(reply, "jsonrpc", "2.0");
    cJSON *result = cJSON_AddArrayToObject(reply, "result");
    for (size_t i = 0; i < n; i++) {
        fake_token t;
        fake_helius_asset a;
        if (fake_helius_asset_for(profile, addrs[i], &t, &a))
            cJSON_AddItemToArray(result, helius_asset(addrs[i], &t, &a));
        else
            cJSON_AddItemToArray(result, cJSON_CreateNull()); /* unknown: null in place */
    }
    cJSON_AddRawToObject(reply, "id", id_json && id_json[0] ? id_json : "null");
    return print_and_delete(reply);
}

/* ----------------------------------------------------------- dexscreener */

static cJSON *dex_token_ref(const fake_dex_token_ref *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "address", r->address);
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "symbol", r->symbol);
    return o;
}

static cJSON *dex_pair_object(const char *addr, const fake_dex_pair *p)
{
    static const char *const WINDOWS[] = { "m5", "h1", "h6", "h24" };
    cJSON *o = cJSON_CreateObject();
    char url[96];
    snprintf(url, sizeof url, "https://dexscreener.com/solana/%.44s", p->pair_address);
    cJSON_AddStringToObject(o, "chainId", "solana");
    cJSON_AddStringToObject(o, "dexId", p->dex_id);
    cJSON_AddStringToObject(o, "url", url);
    cJSON_AddStringToObject(o, "pairAddress", p->pair_address);
    if (p->label) {
        cJSON *labels = cJSON_AddArrayToObject(o, "labels");
        cJSON_AddItemToArray(labels, cJSON_CreateString(p->label));
    }
    cJSON_AddItemToObject(o, "baseToken", dex_token_ref(&p->base));
    cJSON_AddItemToObject(o, "quoteToken", dex_token_ref(&p->quote));
    cJSON_AddStringToObject(o, "priceNative", p->price_native);
    if (p->price_usd[0])
        cJSON_AddStringToObject(o, "priceUsd", p->price_usd);
    else
        cJSON_AddNullToObject(o, "priceUsd");

    cJSON *txns = cJSON_AddObjectToObject(o, "txns");
    for (int w = 0; w < 4; w++) {
        cJSON *t = cJSON_AddObjectToObject(txns, WINDOWS[w]);
        add_number(t, "buys", p->buys[w]);
        add_number(t, "sells", p->sells[w]);
    }
    cJSON *volume = cJSON_AddObjectToObject(o, "volume");
    for (int w = 3; w >= 0; w--)
        add_number(volume, WINDOWS[w], p->volume[w]);
    cJSON *change = cJSON_AddObjectToObject(o, "priceChange");
    for (int w = 0; w < 3; w++)
        add_number(change, WINDOWS[w], p->change[w]);
    add_number_or_absent(change, "h24", p->has_change_h24, p->change[3], p->pair_address, 30);

    if (p->has_liquidity) {
        cJSON *liq = cJSON_AddObjectToObject(o, "liquidity");
        add_number(liq, "usd", p->liquidity_usd);
        add_number(liq, "base", p->liquidity_base);
        add_number(liq, "quote", p->liquidity_quote);
    } else if (absent_as_null(p->pair_address, 31)) {
        cJSON_AddNullToObject(o, "liquidity");
    }
    add_number_or_absent(o, "fdv", p->has_fdv, p->fdv, addr, 32);
    add_number_or_absent(o, "marketCap", p->has_market_cap, p->market_cap, addr, 33);
    add_number(o, "pairCreatedAt", (double)p->pair_created_at_ms);

    if (p->has_info) {
        cJSON *info = cJSON_AddObjectToObject(o, "info");
        if (p->image_url[0])
            cJSON_AddStringToObject(info, "imageUrl", p->image_url);
        if (p->header[0])
            cJSON_AddStringToObject(info, "header", p->header);
        if (p->open_graph[0])
            cJSON_AddStringToObject(info, "openGraph", p->open_graph);
        cJSON *websites = cJSON_AddArrayToObject(info, "websites");
        for (size_t i = 0; i < p->n_websites; i++) {
            cJSON *w = cJSON_CreateObject();
            cJSON_AddStringToObject(w, "label", p->websites[i].label);
            cJSON_AddStringToObject(w, "url", p->websites[i].url);
            cJSON_AddItemToArray(websites, w);
        }
        cJSON *socials = cJSON_AddArrayToObject(info, "socials");
        for (size_t i = 0; i < p->n_socials; i++) {
            const fake_dex_social *s = &p->socials[i];
            cJSON *so = cJSON_CreateObject();
            cJSON_AddStringToObject(so, s->form == 'p' ? "platform" : "type", s->key);
            cJSON_AddStringToObject(so, s->form == 'p' ? "handle" : "url", s->value);
            cJSON_AddItemToArray(socials, so);
        }
    } else if (absent_as_null(p->pair_address, 34)) {
        cJSON_AddNullToObject(o, "info");
    }
    return o;
}

char *fake_render_dexscreener(const fake_profile *profile, const char *const *addrs, size_t n)
{
    size_t *distinct = malloc((n ? n : 1) * sizeof *distinct);
    cJSON **items = malloc((n ? n : 1) * FAKE_DEX_MAX_PAIRS * sizeof *items);
    cJSON *array = cJSON_CreateArray();
    if (!distinct || !items || !array) {
        free(distinct);
        free(items);
        cJSON_Delete(array);
        return NULL;
    }
    size_t nd = distinct_indices(addrs, n, distinct), nitems = 0;
    for (size_t i = 0; i < nd; i++) {
        const char *addr = addrs[distinct[i]];
        fake_dex_pair pairs[FAKE_DEX_MAX_PAIRS];
        size_t np = fake_dex_pairs(profile, addr, pairs);
        for (size_t k = 0; k < np; k++)
            items[nitems++] = dex_pair_object(addr, &pairs[k]);
    }
    /* Pairs of different tokens interleave, as in real responses. */
    shuffle_items((void **)items, nitems, addrs, n);
    for (size_t i = 0; i < nitems; i++)
        cJSON_AddItemToArray(array, items[i]);
    free(distinct);
    free(items);
    return print_and_delete(array);
}

/* -------------------------------------------------------------- template */

char *fake_render_prices(const fake_profile *profile, const char *ids)
{
    char *list = malloc(strlen(ids) + 1);
    cJSON *root = cJSON_CreateObject();
    if (!list || !root) {
        free(list);
        cJSON_Delete(root);
        return NULL;
    }
    strcpy(list, ids);
    char *save = NULL;
    for (char *addr = strtok_r(list, ",", &save); addr; addr = strtok_r(NULL, ",", &save)) {
        fake_token t;
        fake_token_for(profile, FAKE_JUPITER, addr, &t);
        if (!t.known || cJSON_GetObjectItemCaseSensitive(root, addr))
            continue; /* unknown addresses are left out; a repeated one is listed once */
        cJSON *entry = cJSON_AddObjectToObject(root, addr);
        if (t.has_price)
            add_number(entry, "price", t.price_usd);
        else
            cJSON_AddNullToObject(entry, "price");
    }
    free(list);
    return print_and_delete(root);
}
