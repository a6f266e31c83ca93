/* The store's reads for the HTTP API, the part both backends share: a page's
 * memory (rows, strings, related rows), the paging algorithm over the keyed
 * part and the tail of an order (see store_read.h), and the small helpers of
 * the SQL builders. Must not hold SQL or know a backend. */
#include "store_read.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str_index.h"
#include "util.h"

/* ---- a page's memory ------------------------------------------------------------------ */

#define BLOCK_SIZE 65536

typedef struct block {
    struct block *next;
    size_t used, cap;
    char data[];
} block;

typedef struct related {
    size_t row;
    token_link link;
    token_source_row src;
} related;

enum { REL_SOCIAL, REL_WEBSITE, REL_SOURCE, REL_N };

struct token_mem {
    block *blocks;
    size_t rows_cap;
    related *rel[REL_N];
    size_t n_rel[REL_N], cap_rel[REL_N];
    str_index index; /* the rows by address, built by the first related row */
    int indexed;
    token_link *links;         /* the rows' socials and websites, grouped by row */
    token_source_row *sources; /* the rows' sources, grouped by row */
};

static token_mem *mem_of(token_page *p)
{
    if (!p->mem)
        p->mem = xcalloc(1, sizeof *p->mem);
    return p->mem;
}

const char *token_page_str(token_page *p, const char *s, size_t len)
{
    if (!s)
        return NULL;
    token_mem *m = mem_of(p);
    block *b = m->blocks;
    if (!b || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > BLOCK_SIZE ? len + 1 : BLOCK_SIZE;
        b = xmalloc(sizeof *b + cap);
        b->used = 0;
        b->cap = cap;
        /* A large string gets a block of its own, behind the current one. */
        if (m->blocks && cap > BLOCK_SIZE) {
            b->next = m->blocks->next;
            m->blocks->next = b;
        } else {
            b->next = m->blocks;
            m->blocks = b;
        }
    }
    char *d = b->data + b->used;
    memcpy(d, s, len);
    d[len] = '\0';
    b->used += len + 1;
    return d;
}

token_row *token_page_add_row(token_page *p)
{
    token_mem *m = mem_of(p);
    if (p->n == m->rows_cap) {
        m->rows_cap = m->rows_cap ? m->rows_cap * 2 : 64;
        p->rows = xrealloc(p->rows, m->rows_cap * sizeof *p->rows);
    }
    token_row *r = &p->rows[p->n++];
    memset(r, 0, sizeof *r);
    r->decimals = r->price_usd = r->market_cap = r->fdv = r->liquidity_usd = r->volume_24h = r->change_24h = NAN;
    r->priority_score = r->key = NAN;
    return r;
}

void token_page_free(token_page *p)
{
    if (!p)
        return;
    token_mem *m = p->mem;
    if (m) {
        for (block *b = m->blocks, *next; b; b = next) {
            next = b->next;
            free(b);
        }
        for (int k = 0; k < REL_N; k++)
            free(m->rel[k]);
        if (m->indexed)
            str_index_free(&m->index);
        free(m->links);
        free(m->sources);
        free(m);
    }
    free(p->rows);
    memset(p, 0, sizeof *p);
}

/* ---- related rows --------------------------------------------------------------------- */

static const char *row_address(const void *rows, size_t i)
{
    return ((const token_row *)rows)[i].address;
}

static related *add_related(token_page *p, int kind, const char *address)
{
    token_mem *m = mem_of(p);
    if (!m->indexed) {
        str_index_init(&m->index, p->n * 2, row_address, p->rows);
        for (size_t i = 0; i < p->n; i++)
            str_index_add(&m->index, i);
        m->indexed = 1;
    }
    size_t row = str_index_find(&m->index, address);
    if (row == SIZE_MAX)
        return NULL;
    if (m->n_rel[kind] == m->cap_rel[kind]) {
        m->cap_rel[kind] = m->cap_rel[kind] ? m->cap_rel[kind] * 2 : 256;
        m->rel[kind] = xrealloc(m->rel[kind], m->cap_rel[kind] * sizeof *m->rel[kind]);
    }
    related *r = &m->rel[kind][m->n_rel[kind]++];
    memset(r, 0, sizeof *r);
    r->row = row;
    return r;
}

void token_page_add_link(token_page *p, int website, const char *address, const char *label, size_t label_len,
                         const char *url, size_t url_len)
{
    related *r = add_related(p, website ? REL_WEBSITE : REL_SOCIAL, address);
    if (r) {
        r->link.label = token_page_str(p, label, label_len);
        r->link.url = token_page_str(p, url, url_len);
    }
}

void token_page_add_source(token_page *p, const char *address, const char *source, size_t source_len, const char *json,
                           size_t json_len, int64_t fetched_at, const char *version, size_t version_len)
{
    related *r = add_related(p, REL_SOURCE, address);
    if (r) {
        r->src.source = token_page_str(p, source, source_len);
        r->src.json = token_page_str(p, json, json_len);
        r->src.fetched_at = fetched_at;
        r->src.plugin_version = token_page_str(p, version, version_len);
    }
}

/* Counts of KIND per row, turned into each row's first slot (a counting
 * sort that keeps the order within a row). */
static size_t *group_starts(const token_page *p, int kind)
{
    const token_mem *m = p->mem;
    size_t *start = xcalloc(p->n + 1, sizeof *start);
    for (size_t i = 0; i < m->n_rel[kind]; i++)
        start[m->rel[kind][i].row + 1]++;
    for (size_t i = 0; i < p->n; i++)
        start[i + 1] += start[i];
    return start;
}

/* Points every row at its related rows, grouped per row. */
static void attach_related(token_page *p)
{
    token_mem *m = p->mem;
    if (!m)
        return;
    size_t n_links = m->n_rel[REL_SOCIAL] + m->n_rel[REL_WEBSITE];
    m->links = xmalloc((n_links ? n_links : 1) * sizeof *m->links);
    m->sources = xmalloc((m->n_rel[REL_SOURCE] ? m->n_rel[REL_SOURCE] : 1) * sizeof *m->sources);
    size_t base = 0;
    for (int kind = 0; kind < REL_N; kind++) {
        size_t *start = group_starts(p, kind);
        size_t *fill = xmalloc((p->n + 1) * sizeof *fill);
        memcpy(fill, start, (p->n + 1) * sizeof *fill);
        for (size_t i = 0; i < m->n_rel[kind]; i++) {
            const related *r = &m->rel[kind][i];
            size_t at = fill[r->row]++;
            if (kind == REL_SOURCE)
                m->sources[at] = r->src;
            else
                m->links[base + at] = r->link;
        }
        for (size_t i = 0; i < p->n; i++) {
            token_row *row = &p->rows[i];
            size_t n = start[i + 1] - start[i];
            if (kind == REL_SOCIAL) {
                row->socials = m->links + base + start[i];
                row->n_socials = n;
            } else if (kind == REL_WEBSITE) {
                row->websites = m->links + base + start[i];
                row->n_websites = n;
            } else {
                row->sources = m->sources + start[i];
                row->n_sources = n;
            }
        }
        if (kind != REL_SOURCE)
            base += m->n_rel[kind];
        free(start);
        free(fill);
    }
}

/* ---- the paging algorithm ------------------------------------------------------------- */

int token_row_in_tail(const token_row *row, token_sort sort)
{
    switch (sort) {
    case TOKEN_SORT_MARKET_CAP:
        return isnan(row->market_cap);
    case TOKEN_SORT_VOLUME_24H:
        return isnan(row->volume_24h);
    case TOKEN_SORT_UPDATED_AT:
        return row->last_success == 0;
    default:
        return 0;
    }
}

/* The rows of Q's page: from the keyed part, then from the tail while the
 * page is not full. One row more than asked says whether another follows. */
static int read_rows(const token_read_ops *ops, void *be, const token_query *q, token_page *out, size_t *tail_from,
                     char *err, size_t errlen)
{
    size_t want = q->limit + 1;
    int has_tail = q->sort != TOKEN_SORT_ADDRESS;
    const token_key *after = q->after;
    uint64_t offset = after ? 0 : q->offset;
    if (!after || !after->tail) {
        if (ops->rows(be, q, 0, after, offset, want, out, err, errlen))
            return -1;
        offset = 0;
        if (out->n == 0 && q->offset > 0 && has_tail) {
            /* The page starts in the tail: skip what is left of the offset. */
            uint64_t keyed = 0;
            if (ops->count(be, q, 1, &keyed, err, errlen))
                return -1;
            offset = q->offset > keyed ? q->offset - keyed : 0;
        }
        after = NULL;
    }
    *tail_from = out->n;
    if (has_tail && out->n < want && ops->rows(be, q, 1, after, offset, want - out->n, out, err, errlen))
        return -1;
    return 0;
}

int store_read_tokens(const token_read_ops *ops, void *be, const token_query *q, token_page *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (ops->begin(be, err, errlen))
        return -1;
    size_t tail_from = 0;
    int rc = (q->count && ops->count(be, q, 0, &out->total, err, errlen)) ||
             read_rows(ops, be, q, out, &tail_from, err, errlen);
    if (!rc && out->n > q->limit) {
        out->has_next = 1;
        out->n = q->limit;
    }
    if (!rc && out->n && !(q->with & TOKEN_LIGHT) &&
        (q->with & (TOKEN_WITH_SOCIALS | TOKEN_WITH_WEBSITES | TOKEN_WITH_SOURCES)))
        rc = ops->related(be, q, out, err, errlen);
    ops->end(be);
    if (rc) {
        token_page_free(out);
        return -1;
    }
    attach_related(out);
    if (out->n) {
        const token_row *last = &out->rows[out->n - 1];
        out->last.tail = out->n > tail_from;
        out->last.value = last->key;
        snprintf(out->last.address, sizeof out->last.address, "%s", last->address);
    }
    return 0;
}

token_query store_read_one_query(const char *const *address)
{
    token_query q = {.addresses = address,
                     .n_addresses = 1,
                     .sort = TOKEN_SORT_ADDRESS,
                     .limit = 1,
                     .with = TOKEN_WITH_SOCIALS | TOKEN_WITH_WEBSITES | TOKEN_WITH_SOURCES | TOKEN_WITH_REFRESH};
    return q;
}

/* ---- helpers of the SQL builders ------------------------------------------------------- */

int token_status_parse(const char *name)
{
    for (int k = 0; k < STATUS_COUNT; k++)
        if (!strcmp(name, status_name((token_status)k)))
            return k;
    return -1;
}

void token_prefix_range(const char *prefix, char *lo, char *hi, int *has_hi)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i <= n; i++)
        lo[i] = (char)(prefix[i] >= 'A' && prefix[i] <= 'Z' ? prefix[i] - 'A' + 'a' : prefix[i]);
    memcpy(hi, lo, n + 1);
    *has_hi = 0;
    for (size_t i = n; i-- > 0;)
        if ((unsigned char)hi[i] != 0xFF) {
            hi[i] = (char)((unsigned char)hi[i] + 1);
            hi[i + 1] = '\0';
            *has_hi = 1;
            return;
        }
}
