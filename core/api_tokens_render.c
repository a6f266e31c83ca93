/* The JSON bodies of the tokens routes, written straight into one buffer
 * (jsonw.h; a cJSON tree of 2,000 tokens costs about 7 times more, see
 * bench/README.md, "API"). Numbers are JSON numbers, an unknown value is
 * null, the supply stays a decimal string, times are unix seconds. Owns the
 * shapes of the documents; must not read the store or parse a request. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_tokens.h"
#include "jsonw.h"

/* ,"name": for each field (no comma before the first, address), made once
 * from the names in api_tokens_query.c. */
static char key_text[TF_COUNT][32];
static size_t key_len[TF_COUNT];
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void make_keys(void)
{
    for (int f = 0; f < TF_COUNT; f++)
        key_len[f] = (size_t)snprintf(key_text[f], sizeof key_text[f], "%s\"%s\":", f == TF_ADDRESS ? "" : ",",
                                      token_field_name((token_field)f));
}

static void key(strbuf *b, token_field f)
{
    jw_raw(b, key_text[f], key_len[f]);
}

/* A time in unix seconds; 0 (none) is null. */
static void time_value(strbuf *b, int64_t t)
{
    if (t)
        jw_int(b, t);
    else
        JW_LIT(b, "null");
}

/* JSON text as the store holds it (written there from a JSON value); empty:
 * null. */
static void raw_json(strbuf *b, const char *json)
{
    if (json && *json)
        jw_raw_utf8(b, json, strlen(json));
    else
        JW_LIT(b, "null");
}

static void links(strbuf *b, const token_link *l, size_t n, const char *label_key)
{
    JW_LIT(b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            JW_LIT(b, ",");
        JW_LIT(b, "{\"");
        jw_raw(b, label_key, strlen(label_key));
        JW_LIT(b, "\":");
        jw_cstring(b, l[i].label);
        JW_LIT(b, ",\"url\":");
        jw_cstring(b, l[i].url);
        JW_LIT(b, "}");
    }
    JW_LIT(b, "]");
}

static void sources(strbuf *b, const token_row *r)
{
    JW_LIT(b, "{");
    for (size_t i = 0; i < r->n_sources; i++) {
        if (i)
            JW_LIT(b, ",");
        jw_cstring(b, r->sources[i].source);
        JW_LIT(b, ":{\"fetched_at\":");
        time_value(b, r->sources[i].fetched_at);
        JW_LIT(b, ",\"plugin_version\":");
        jw_cstring(b, r->sources[i].plugin_version);
        JW_LIT(b, ",\"record\":");
        raw_json(b, r->sources[i].json);
        JW_LIT(b, "}");
    }
    JW_LIT(b, "}");
}

/* The owed sources, "a,b" as ["a","b"]. */
static void owed(strbuf *b, const char *list)
{
    JW_LIT(b, "[");
    for (const char *p = list; p && *p;) {
        size_t n = strcspn(p, ",");
        if (p != list)
            JW_LIT(b, ",");
        jw_string(b, p, n);
        p += n + (p[n] == ',');
    }
    JW_LIT(b, "]");
}

static void refresh(strbuf *b, const token_row *r)
{
    JW_LIT(b, "{\"status\":");
    jw_cstring(b, status_name(r->status));
    JW_LIT(b, ",\"attempts\":");
    jw_int(b, r->attempts);
    JW_LIT(b, ",\"last_attempt_at\":");
    time_value(b, r->last_attempt);
    JW_LIT(b, ",\"last_success_at\":");
    time_value(b, r->last_success);
    JW_LIT(b, ",\"next_refresh_at\":");
    time_value(b, r->next_refresh_at);
    JW_LIT(b, ",\"interval_s\":");
    jw_int(b, r->refresh_interval_s);
    JW_LIT(b, ",\"owed_sources\":");
    owed(b, r->outstanding);
    JW_LIT(b, ",\"owed_attempts\":");
    jw_int(b, r->outstanding_attempts);
    JW_LIT(b, ",\"priority_score\":");
    jw_number(b, r->priority_score);
    JW_LIT(b, ",\"in_contest\":");
    if (r->in_contest)
        JW_LIT(b, "true");
    else
        JW_LIT(b, "false");
    JW_LIT(b, ",\"metadata\":");
    raw_json(b, r->refresh_metadata);
    JW_LIT(b, "}");
}

static void row(strbuf *b, const token_row *r, uint32_t f)
{
    JW_LIT(b, "{");
    key(b, TF_ADDRESS);
    jw_cstring(b, r->address);
    for (int i = TF_STATUS; i < TF_COUNT; i++) {
        if (!(f & TF_BIT(i)))
            continue;
        key(b, (token_field)i);
        switch ((token_field)i) {
        case TF_STATUS:
            jw_cstring(b, status_name(r->status));
            break;
        case TF_NAME:
            jw_cstring(b, r->name);
            break;
        case TF_SYMBOL:
            jw_cstring(b, r->symbol);
            break;
        case TF_DECIMALS:
            jw_number(b, r->decimals);
            break;
        case TF_IMAGE_URL:
            jw_cstring(b, r->image_url);
            break;
        case TF_DESCRIPTION:
            jw_cstring(b, r->description);
            break;
        case TF_SUPPLY:
            jw_cstring(b, r->supply);
            break;
        case TF_PRICE_USD:
            jw_number(b, r->price_usd);
            break;
        case TF_MARKET_CAP:
            jw_number(b, r->market_cap);
            break;
        case TF_FDV:
            jw_number(b, r->fdv);
            break;
        case TF_LIQUIDITY_USD:
            jw_number(b, r->liquidity_usd);
            break;
        case TF_VOLUME_24H:
            jw_number(b, r->volume_24h);
            break;
        case TF_CHANGE_24H:
            jw_number(b, r->change_24h);
            break;
        case TF_PRICE_UPDATED_AT:
            time_value(b, r->price_updated_at);
            break;
        case TF_LAST_PRICE_CHANGE:
            time_value(b, r->last_price_change);
            break;
        case TF_CREATED_AT:
            time_value(b, r->created_at);
            break;
        case TF_UPDATED_AT:
            time_value(b, r->last_success);
            break;
        case TF_SOCIALS:
            links(b, r->socials, r->n_socials, "type");
            break;
        case TF_WEBSITES:
            links(b, r->websites, r->n_websites, "label");
            break;
        case TF_SOURCES:
            sources(b, r);
            break;
        case TF_REFRESH:
            refresh(b, r);
            break;
        default:
            break;
        }
    }
    JW_LIT(b, "}");
}

void tokens_render_list(strbuf *b, const token_page *pg, const tokens_params *p)
{
    pthread_once(&keys_once, make_keys);
    /* About 600 bytes a token with every field: one allocation up front. */
    size_t want = 256 + pg->n * (p->fields & TF_BIT(TF_SOURCES) ? 1600 : p->fields == TF_LIGHT ? 200 : 700);
    if (b->cap < want) {
        b->data = xrealloc(b->data, want);
        b->cap = want;
    }
    JW_LIT(b, "{\"data\":[");
    for (size_t i = 0; i < pg->n; i++) {
        if (i)
            JW_LIT(b, ",");
        row(b, &pg->rows[i], p->fields);
    }
    JW_LIT(b, "],\"pagination\":{\"page\":");
    if (p->page)
        jw_int(b, p->page);
    else
        JW_LIT(b, "null");
    JW_LIT(b, ",\"limit\":");
    jw_int(b, (int64_t)p->q.limit);
    JW_LIT(b, ",\"limit_capped\":");
    if (p->limit_capped)
        JW_LIT(b, "true");
    else
        JW_LIT(b, "false");
    JW_LIT(b, ",\"total\":");
    jw_int(b, (int64_t)pg->total);
    JW_LIT(b, ",\"pages\":");
    jw_int(b, (int64_t)((pg->total + p->q.limit - 1) / p->q.limit));
    JW_LIT(b, ",\"has_next\":");
    if (pg->has_next)
        JW_LIT(b, "true");
    else
        JW_LIT(b, "false");
    JW_LIT(b, ",\"next_cursor\":");
    if (pg->has_next && pg->n) {
        char *c = tokens_cursor_encode(&p->q, &pg->last);
        jw_cstring(b, c);
        free(c);
    } else {
        JW_LIT(b, "null");
    }
    JW_LIT(b, "}}");
}

void tokens_render_detail(strbuf *b, const token_row *r)
{
    pthread_once(&keys_once, make_keys);
    JW_LIT(b, "{\"data\":");
    row(b, r, TF_DEFAULT | TF_BIT(TF_SOURCES) | TF_BIT(TF_REFRESH));
    JW_LIT(b, "}");
}
