/* Array parameters for the PostgreSQL store: PostgreSQL's binary array
 * format (array_recv) and the text[] literal of a sorted address list, both
 * with invalid UTF-8 replaced. Owns only the bytes it writes into the caller's
 * buffers; must not know statements, the connection or the store. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg_array.h"

/* Length of the valid UTF-8 sequence at S (1..4), or 0 when S does not start
 * one (stray continuation byte, overlong form, surrogate, above U+10FFFF,
 * cut short). */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if ((c & 0xE0) == 0xC0)
        n = 2, min = 0x80, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
        n = 3, min = 0x800, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
        n = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* PostgreSQL refuses text that is not valid UTF-8 (SQLSTATE 22021, a
 * permanent error that would fail the whole batch every time), in text and
 * binary input alike: an invalid byte from an upstream goes as U+FFFD. */
static void put_utf8_seq(strbuf *b, const unsigned char **s)
{
    size_t n = utf8_seq(*s);
    if (n) {
        sb_append(b, (const char *)*s, n);
        *s += n;
    } else {
        sb_append(b, "\xEF\xBF\xBD", 3);
        (*s)++;
    }
}

/* ---- text array literal ---------------------------------------------------------- */

/* "{…}" literal with every element double-quoted (backslash before " and \)
 * or an unquoted NULL: correct for any text, commas, braces and UTF-8. */
typedef struct pgarr {
    strbuf b;
    size_t n;
} pgarr;

static void arr_reset(pgarr *a)
{
    a->b.len = 0;
    a->n = 0;
    sb_append(&a->b, "{", 1);
}

static void arr_sep(pgarr *a)
{
    if (a->n++)
        sb_append(&a->b, ",", 1);
}

static void arr_str(pgarr *a, const char *str)
{
    arr_sep(a);
    if (!str) {
        sb_append(&a->b, "NULL", 4);
        return;
    }
    const unsigned char *s = (const unsigned char *)str;
    sb_append(&a->b, "\"", 1);
    while (*s) {
        const unsigned char *run = s;
        while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
            s++;
        sb_append(&a->b, (const char *)run, (size_t)(s - run));
        if (!*s)
            break;
        if (*s == '"' || *s == '\\') {
            char esc[2] = {'\\', (char)*s++};
            sb_append(&a->b, esc, 2);
        } else
            put_utf8_seq(&a->b, &s);
    }
    sb_append(&a->b, "\"", 1);
}

static const char *arr_end(pgarr *a)
{
    sb_append(&a->b, "}", 1);
    return a->b.data;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, so every statement locks rows in one order and concurrent writers
 * cannot deadlock; de-duplicated, so a repeated address counts once. */
char *store_pg_sorted_addr_array(const char *const *addrs, size_t n)
{
    const char **v = xmalloc((n ? n : 1) * sizeof *v);
    memcpy(v, addrs, n * sizeof *v);
    qsort(v, n, sizeof *v, compare_strings);
    pgarr a = {0};
    arr_reset(&a);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(v[i - 1], v[i]))
            arr_str(&a, v[i]);
    arr_end(&a);
    free(v);
    return a.b.data;
}

/* ---- binary arrays ----------------------------------------------------------------- */

/* A header (ndim, has-nulls flag, element type oid, length, lower bound),
 * then per element its length (-1: NULL) and its bytes in the type's binary
 * form, big-endian. Numbers go as their 4 or 8 bytes: no formatting here,
 * no parsing on the server, and a float8 arrives bit for bit. */

static void put_u32(strbuf *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    sb_append(b, (const char *)c, 4);
}

static void put_u64(strbuf *b, uint64_t v)
{
    put_u32(b, (uint32_t)(v >> 32));
    put_u32(b, (uint32_t)v);
}

static void patch_u32(strbuf *b, size_t at, uint32_t v)
{
    unsigned char *c = (unsigned char *)b->data + at;
    c[0] = (unsigned char)(v >> 24);
    c[1] = (unsigned char)(v >> 16);
    c[2] = (unsigned char)(v >> 8);
    c[3] = (unsigned char)v;
}

void store_pg_bin_reset(pgbin *a, uint32_t elem_oid)
{
    a->b.len = 0;
    a->n = 0;
    a->hasnull = 0;
    put_u32(&a->b, 1);        /* ndim */
    put_u32(&a->b, 0);        /* has nulls: patched by store_pg_bin_end */
    put_u32(&a->b, elem_oid);
    put_u32(&a->b, 0);        /* length: patched by store_pg_bin_end */
    put_u32(&a->b, 1);        /* lower bound */
}

void store_pg_bin_null(pgbin *a)
{
    put_u32(&a->b, 0xFFFFFFFFu);
    a->hasnull = 1;
    a->n++;
}

void store_pg_bin_text(pgbin *a, const char *str)
{
    if (!str) {
        store_pg_bin_null(a);
        return;
    }
    size_t at = a->b.len;
    put_u32(&a->b, 0); /* length: patched below */
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        const unsigned char *run = s;
        while (*s && *s < 0x80)
            s++;
        sb_append(&a->b, (const char *)run, (size_t)(s - run));
        if (!*s)
            break;
        put_utf8_seq(&a->b, &s);
    }
    patch_u32(&a->b, at, (uint32_t)(a->b.len - at - 4));
    a->n++;
}

void store_pg_bin_bytes(pgbin *a, const char *p, size_t len)
{
    if (!p) {
        store_pg_bin_null(a);
        return;
    }
    put_u32(&a->b, (uint32_t)len);
    sb_append(&a->b, p, len);
    a->n++;
}

void store_pg_bin_f8(pgbin *a, int has, double d)
{
    if (!has || !isfinite(d)) { /* NaN/inf: unknown, as in the JSON record */
        store_pg_bin_null(a);
        return;
    }
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    put_u32(&a->b, 8);
    put_u64(&a->b, bits);
    a->n++;
}

void store_pg_bin_i4(pgbin *a, int has, int32_t v)
{
    if (!has) {
        store_pg_bin_null(a);
        return;
    }
    put_u32(&a->b, 4);
    put_u32(&a->b, (uint32_t)v);
    a->n++;
}

void store_pg_bin_i8(pgbin *a, int64_t v)
{
    put_u32(&a->b, 8);
    put_u64(&a->b, (uint64_t)v);
    a->n++;
}

void store_pg_bin_bool(pgbin *a, int v)
{
    put_u32(&a->b, 1);
    sb_append(&a->b, v ? "\1" : "\0", 1);
    a->n++;
}

void store_pg_bin_end(pgbin *a)
{
    if (a->n == 0) { /* an empty array has no dimensions */
        patch_u32(&a->b, 0, 0);
        a->b.len = 12;
        return;
    }
    patch_u32(&a->b, 4, a->hasnull ? 1 : 0);
    patch_u32(&a->b, 12, a->n);
}

void store_pg_bin_reset_all(pgbin *a, const uint32_t *oid, int first, int end)
{
    for (int i = first; i < end; i++)
        store_pg_bin_reset(&a[i], oid[i] ? oid[i] : OID_TEXT);
}

void store_pg_bin_end_all(pgbin *a, int first, int end)
{
    for (int i = first; i < end; i++)
        store_pg_bin_end(&a[i]);
}

const char *store_pg_stored_form(const char *str, char **own)
{
    *own = NULL;
    if (!str)
        return NULL;
    const unsigned char *p = (const unsigned char *)str;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : utf8_seq(p);
        if (!n)
            break;
        p += n;
    }
    if (!*p)
        return str;
    pgbin tmp = {0};
    store_pg_bin_text(&tmp, str); /* length word, then the bytes */
    *own = xmalloc(tmp.b.len - 4 + 1);
    memcpy(*own, tmp.b.data + 4, tmp.b.len - 4);
    (*own)[tmp.b.len - 4] = '\0';
    sb_free(&tmp.b);
    return *own;
}
