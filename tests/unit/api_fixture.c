/* The HTTP API's test tokens (api_fixture.h). */
#include "api_fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *const fx_source_names[FX_NSRC] = {"jupiter", "helius", "dexscreener"};

static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int fx_all_full;
size_t fx_commit_batch;
double fx_price_factor = 1;

fx_kind fx_kind_of(size_t i)
{
    if (fx_all_full)
        return FX_FULL;
    switch (i % 10) {
    case 3:
        return FX_PARTIAL;
    case 8:
        return FX_PENDING;
    case 9:
        return FX_NO_DATA;
    default:
        return FX_FULL;
    }
}

size_t fx_index(const char *address)
{
    if (strlen(address) != 43)
        return SIZE_MAX;
    size_t i = 0;
    for (int k = 13; k >= 8; k--) {
        const char *at = strchr(b58, address[k]);
        if (!at)
            return SIZE_MAX;
        i = i * 58 + (size_t)(at - b58);
    }
    return i;
}

void fx_address(size_t i, char out[48])
{
    uint64_t h = (uint64_t)i * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    size_t n = 0;
    /* A first digit of 4 or more: 43 digits then decode to exactly 32 bytes
     * (58^42 * 4 > 2^248), as is_solana_address requires. */
    out[n++] = b58[4 + h % 54];
    h /= 58;
    for (int k = 1; k < 8; k++, h /= 58)
        out[n++] = b58[h % 58];
    uint64_t v = i;
    for (int k = 0; k < 6; k++, v /= 58)
        out[n++] = b58[v % 58];
    for (; n < 43; n++)
        out[n] = b58[(i * 7 + n) % 58];
    out[n] = '\0';
}

static void text(tc_values *v, int field, const char *fmt, size_t i)
{
    char buf[128];
    snprintf(buf, sizeof buf, fmt, i);
    values_set_str(v, field, buf);
}

void fx_token_make(size_t i, fx_token *t)
{
    memset(t, 0, sizeof *t);
    fx_address(i, t->address);
    t->kind = fx_kind_of(i);
    t->now = t->kind == FX_PENDING ? 0 : FX_T0 + (int64_t)(i / FX_BATCH);
    t->status = t->kind == FX_PENDING ? STATUS_PENDING : t->kind == FX_NO_DATA ? STATUS_NO_DATA : STATUS_ENRICHED;
    for (int s = 0; s < FX_NSRC; s++)
        t->outs[s] = OUTCOME_MISSING;
    if (t->kind == FX_PENDING || t->kind == FX_NO_DATA)
        return;
    tc_values *m = &t->merged;
    char name[128];
    snprintf(name, sizeof name, "Token \"%zu\" caf\xc3\xa9%s%s", i, i % 13 == 0 ? "\x01\n" : "",
             i % 17 == 0 ? " bad\xff" : "");
    values_set_str(m, TC_NAME, name);
    text(m, TC_SYMBOL, i % 2 ? "AbC%zu" : "xyz%zu", i);
    values_set_num(m, TC_DECIMALS, (double)(i % 10));
    text(m, TC_IMAGE_URL, "https://img.example/%zu.png", i);
    if (i % 4)
        text(m, TC_DESCRIPTION, "about %zu\n\twith \\ and \"quotes\"", i);
    if (i % 5 == 0)
        values_set_str(m, TC_SUPPLY, "18446744073709551615");
    else
        text(m, TC_SUPPLY, "1000000000000000%03zu", i % 1000);
    double price = (i % 11 == 0 ? 0.1 + 0.2 : (double)(i + 1) * 3.7e-9) * fx_price_factor;
    values_set_num(m, TC_PRICE_USD, price);
    if (t->kind == FX_FULL) {
        double mcap = ((double)(i % 40) * 1000.25 + 0.1) * fx_price_factor;
        values_set_num(m, TC_MARKET_CAP, mcap);
        values_set_num(m, TC_FDV, mcap * 1.5);
        values_set_num(m, TC_LIQUIDITY_USD, (double)i * 7.77);
        values_set_num(m, TC_VOLUME_24H, (double)i * 3.3 * fx_price_factor);
        values_set_num(m, TC_CHANGE_24H, (double)((long)(i % 41) - 20) / 4);
    }
    char url[96];
    if (i % 3 >= 1) {
        snprintf(url, sizeof url, "https://x.com/t%zu", i);
        values_add_link(m, TC_LINK_SOCIAL, "twitter", url);
    }
    if (i % 3 == 2) {
        snprintf(url, sizeof url, "https://t.me/t%zu", i);
        values_add_link(m, TC_LINK_SOCIAL, "telegram", url);
    }
    if (i % 2) {
        snprintf(url, sizeof url, "https://t%zu.example/?a=1&b=\"2\"", i);
        values_add_link(m, TC_LINK_WEBSITE, i % 4 == 1 ? NULL : "Website", url);
    }
    /* jupiter: the token's identity and price */
    t->outs[0] = OUTCOME_FOUND;
    tc_values *j = &t->per[0];
    values_set_str(j, TC_NAME, name);
    values_set_str(j, TC_SYMBOL, m->str[TC_SYMBOL]);
    values_set_num(j, TC_DECIMALS, m->num[TC_DECIMALS]);
    values_set_num(j, TC_PRICE_USD, price);
    if (i % 7)
        values_set_version(j, "1.0.0");
    if (i % 6 == 0)
        values_set_extra(j, "holder_count", EXTRA_NUM, (double)i * 3, NULL);
    /* helius: owed (failed) for the partial ones */
    t->outs[1] = t->kind == FX_PARTIAL ? OUTCOME_FAILED : OUTCOME_MISSING;
    /* dexscreener: the market and the links */
    if (t->kind == FX_FULL) {
        t->outs[2] = OUTCOME_FOUND;
        tc_values *d = &t->per[2];
        values_set_num(d, TC_PRICE_USD, price);
        values_set_num(d, TC_MARKET_CAP, m->num[TC_MARKET_CAP]);
        values_set_num(d, TC_VOLUME_24H, m->num[TC_VOLUME_24H]);
        values_copy_links(d, m, TC_LINK_SOCIAL);
        values_copy_links(d, m, TC_LINK_WEBSITE);
        values_set_version(d, "2.1.0-dex");
    }
}

void fx_token_free(fx_token *t)
{
    values_clear(&t->merged);
    for (int s = 0; s < FX_NSRC; s++)
        values_clear(&t->per[s]);
}

/* Commits the tokens T[0..N) (all committed kinds) in one claim. */
static int commit_batch(store *st, fx_token *t, size_t n, int64_t now)
{
    char err[1024], claim_id[96];
    snprintf(claim_id, sizeof claim_id, "fx-%lld-%s", (long long)now, t[0].address);
    const char **addrs = xcalloc(n, sizeof *addrs);
    token_result *r = xcalloc(n, sizeof *r);
    for (size_t i = 0; i < n; i++) {
        addrs[i] = t[i].address;
        r[i] = (token_result){.address = t[i].address,
                              .status = t[i].status,
                              .merged = t[i].merged,
                              .n_sources = FX_NSRC,
                              .source_names = fx_source_names,
                              .outcomes = t[i].outs,
                              .per_source = t[i].per,
                              .outstanding_attempts = t[i].kind == FX_PARTIAL ? 1 : 0,
                              .priority_score = NAN};
    }
    claim_request rq = {.owner = "fixture", .claim_id = claim_id, .now = now, .lease_s = 600};
    claimed_token *got = NULL;
    size_t n_got = 0, fenced = 0;
    int rc = store_claim_addresses(st, &rq, addrs, n, &got, &n_got, err, sizeof err);
    if (rc == 0 && n_got != n) {
        snprintf(err, sizeof err, "claimed %zu of %zu", n_got, n);
        rc = -1;
    }
    claimed_tokens_free(got, n_got);
    if (rc == 0)
        rc = store_commit(st, r, n, now, claim_id, &fenced, err, sizeof err);
    if (rc)
        fprintf(stderr, "fx_fill: %s\n", err);
    free(addrs);
    free(r);
    return rc;
}

int fx_fill(store *st, size_t from, size_t n)
{
    char err[1024];
    int rc = 0;
    size_t per = fx_commit_batch ? fx_commit_batch : FX_BATCH;
    fx_token *t = xcalloc(per, sizeof *t), *batch = xcalloc(per, sizeof *batch);
    const char **addrs = xcalloc(per, sizeof *addrs);
    for (size_t b = from; b < from + n && !rc; b = (b / per + 1) * per) {
        size_t end = (b / per + 1) * per;
        if (end > from + n)
            end = from + n;
        size_t k = 0, c = 0;
        for (size_t i = b; i < end; i++, k++) {
            fx_token_make(i, &t[k]);
            addrs[k] = t[k].address;
        }
        size_t inserted = 0;
        rc = store_import(st, addrs, k, &inserted, err, sizeof err);
        if (rc)
            fprintf(stderr, "fx_fill import: %s\n", err);
        /* The committed ones; the pending ones stay as imported. */
        for (size_t i = 0; i < k; i++)
            if (t[i].kind != FX_PENDING)
                batch[c++] = t[i];
        if (!rc && c)
            rc = commit_batch(st, batch, c, FX_T0 + (int64_t)(b / FX_BATCH));
        for (size_t i = 0; i < k; i++)
            fx_token_free(&t[i]);
    }
    free(t);
    free(batch);
    free(addrs);
    return rc;
}
