/* The store's reads for the HTTP API (store_backend.list_tokens, get_token):
 * what a list query asks, the rows it gets back, and what both backends share
 * to answer it. Owns the read types, a page's memory and the paging algorithm
 * (store_read.c); the SQL is in store_sqlite_read.c and store_pg_read.c. Must
 * not know HTTP, JSON or query strings (core/api_tokens*.c has those).
 *
 * Order. A list is sorted by one key (token_sort) and then by address, in the
 * same direction, so the order is total. Tokens without a value for the key
 * (no market data yet, never refreshed) come after all the others in both
 * directions, by address: the "tail". A position in that order (token_key) is
 * what a keyset page continues after; rows added before the position are not
 * returned, the others once each. */
#ifndef TC_STORE_READ_H
#define TC_STORE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

typedef enum token_sort {
    TOKEN_SORT_ADDRESS = 0,
    TOKEN_SORT_MARKET_CAP, /* token_prices.market_cap */
    TOKEN_SORT_VOLUME_24H, /* token_prices.volume_24h */
    TOKEN_SORT_UPDATED_AT, /* tokens.last_refresh_success */
    TOKEN_SORT_COUNT
} token_sort;

/* token_query.with: what is read beside the token's own columns. */
enum {
    TOKEN_WITH_SOCIALS = 1u << 0,  /* token_socials */
    TOKEN_WITH_WEBSITES = 1u << 1, /* token_websites */
    TOKEN_WITH_SOURCES = 1u << 2,  /* token_sources: each source's record */
    TOKEN_WITH_REFRESH = 1u << 3,  /* tokens.refresh_metadata */
    /* Only address, name, symbol, price_usd, change_24h, market_cap (and the
     * sort key): the other columns are left unknown. No related rows. */
    TOKEN_LIGHT = 1u << 4,
};

/* A position in a sort order: the row a keyset page continues after. */
typedef struct token_key {
    int tail;         /* among the tokens without a value for the key */
    double value;     /* the key's value as the backend compares it (not tail, not address) */
    char address[64]; /* the tie-breaker */
} token_key;

typedef struct token_query {
    unsigned statuses;            /* bit (1u << token_status) per status wanted; 0: any */
    const char *const *addresses; /* only these tokens (NULL: any) */
    size_t n_addresses;
    const char *prefix; /* symbol or name starts with it, ASCII letters in any case; NULL: any */
    token_sort sort;
    int descending;
    size_t limit;           /* rows wanted, > 0 */
    uint64_t offset;        /* page mode: rows skipped before the first */
    const token_key *after; /* keyset mode: rows after this position (offset 0); NULL: from the start */
    unsigned with;          /* TOKEN_WITH_* | TOKEN_LIGHT */
    int count;              /* 1: token_page.total is filled */
} token_query;

typedef struct token_link {
    const char *label; /* socials: the platform ("twitter"); websites: the label or NULL */
    const char *url;
} token_link;

typedef struct token_source_row {
    const char *source;
    const char *json; /* token_sources.data: the source's normalized record, JSON text */
    int64_t fetched_at;
    const char *plugin_version; /* of the plugin that parsed it; NULL: unknown */
} token_source_row;

/* One token. Strings are NULL and numbers NAN when unknown; times are unix
 * seconds, 0 when there is none. */
typedef struct token_row {
    const char *address;
    token_status status;
    const char *name, *symbol, *image_url, *description;
    const char *supply; /* exact decimal digits */
    double decimals;
    double price_usd, market_cap, fdv, liquidity_usd, volume_24h, change_24h;
    int64_t price_updated_at; /* token_prices.updated_at */
    int64_t created_at, last_attempt, last_success, last_price_change, next_refresh_at;
    /* refresh state */
    int attempts, refresh_interval_s, outstanding_attempts, in_contest;
    double priority_score;
    const char *outstanding;      /* the sources still owed, comma separated; NULL: none */
    const char *refresh_metadata; /* JSON text (TOKEN_WITH_REFRESH), else NULL */
    const token_link *socials, *websites;
    size_t n_socials, n_websites;
    const token_source_row *sources; /* by source name */
    size_t n_sources;
    double key; /* the sort key's value as the backend compares it (token_key.value) */
} token_row;

typedef struct token_mem token_mem; /* store_read.c's */

/* What a read returns: the rows in order and where they end. */
typedef struct token_page {
    token_row *rows;
    size_t n;
    uint64_t total; /* the tokens matching the filters (token_query.count) */
    int has_next;   /* a row follows the last one */
    token_key last; /* the last row's position (n > 0) */
    token_mem *mem;
} token_page;

void token_page_free(token_page *p);
/* 1 when ROW has no value for SORT (it is in the tail). */
int token_row_in_tail(const token_row *row, token_sort sort);

/* ---- for the backends -------------------------------------------------------------------- */

/* A backend answers a list query with these steps; store_read_tokens strings
 * them together (segments, offsets, has_next, the related rows) so both
 * backends page the same way. Every step returns 0, or -1 with ERR. */
typedef struct token_read_ops {
    /* One snapshot for every step of a read (end is called after begin
     * succeeded, whatever the outcome). */
    int (*begin)(void *be, char *err, size_t errlen);
    void (*end)(void *be);
    /* The tokens matching Q's filters; KEYED: only those with a value for
     * the sort key. */
    int (*count)(void *be, const token_query *q, int keyed, uint64_t *n, char *err, size_t errlen);
    /* Appends to OUT up to LIMIT rows of Q's order, from the keyed part
     * (TAIL 0) or the tail (1), after position AFTER (NULL: from the part's
     * start; AFTER is in the same part), skipping OFFSET first. */
    int (*rows)(void *be, const token_query *q, int tail, const token_key *after, uint64_t offset, size_t limit,
                token_page *out, char *err, size_t errlen);
    /* The related rows Q.with asks for, of OUT's rows (token_page_add_*). */
    int (*related)(void *be, const token_query *q, token_page *out, char *err, size_t errlen);
} token_read_ops;

int store_read_tokens(const token_read_ops *ops, void *be, const token_query *q, token_page *out, char *err,
                      size_t errlen);
/* Q for one token with everything (get_token). */
token_query store_read_one_query(const char *const *address);

/* A copy of LEN bytes at S in the page's memory (NULL when S is NULL). */
const char *token_page_str(token_page *p, const char *s, size_t len);
/* A new row at the end, every value unknown. */
token_row *token_page_add_row(token_page *p);
/* Related rows of the token ADDRESS (one of the page's; others are ignored):
 * a social (LABEL: its type) or a website (WEBSITE 1), a source's record.
 * Strings are copied. Each kind in the order it is given. */
void token_page_add_link(token_page *p, int website, const char *address, const char *label, size_t label_len,
                         const char *url, size_t url_len);
void token_page_add_source(token_page *p, const char *address, const char *source, size_t source_len, const char *json,
                           size_t json_len, int64_t fetched_at, const char *version, size_t version_len);

/* The backends' names for a status; -1 for an unknown name. */
int token_status_parse(const char *name);

/* PREFIX with ASCII letters lowered in LO, and in HI the smallest string
 * above every string that starts with LO (bytewise); *HAS_HI 0 when there is
 * none. LO and HI hold strlen(PREFIX) + 1 bytes. */
void token_prefix_range(const char *prefix, char *lo, char *hi, int *has_hi);

#endif
