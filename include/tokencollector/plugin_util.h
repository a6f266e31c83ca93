/*
 * tokencollector plugin helpers: OPTIONAL, header-only, static inline.
 *
 * plugin.h is the only header a plugin needs; this one saves a plugin author
 * from rewriting the same small pieces:
 *
 *   tc_sb_*           growable string for URLs and request bodies
 *                     (URL percent-encoding, JSON string escaping)
 *   tc_util_base_url  read "base_url" (default when unset/empty, trailing '/'
 *                     stripped, http:// or https:// required)
 *   tc_util_lower     ASCII lower-case copy
 *   tc_util_strtod_exact  a decimal number in a string, whole string, finite
 *   tc_outcome_set / tc_util_check_status
 *                     outcome messages; a non-2xx that reaches the plugin is
 *                     TC_FATAL (the host keeps 408, 429 and 5xx to itself)
 *   tc_addr_index_*   address -> chunk position hash (open addressing)
 *   TC_HAS_MEMBER     does a sized ABI struct carry a given member
 *
 * With `#define TC_PLUGIN_UTIL_CJSON` before the include (and libcjson
 * linked) it also gives tc_json_parse and small typed getters.
 *
 * Nothing here allocates except tc_sb, tc_util_base_url and tc_addr_index,
 * which say so. Locale: tc_util_strtod_exact uses strtod, so the process must
 * run in the "C" numeric locale (the host never calls setlocale).
 */
#ifndef TOKENCOLLECTOR_PLUGIN_UTIL_H
#define TOKENCOLLECTOR_PLUGIN_UTIL_H

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

/* 1 when the sized struct *P (with a struct_size member) includes MEMBER. */
#define TC_HAS_MEMBER(p, type, member)                                     \
    ((size_t)(p)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))

/* ---- String builder --------------------------------------------------------
 * Errors are sticky: after an allocation failure every append is a no-op and
 * tc_sb_str() returns NULL, so callers check once at the end. */
typedef struct tc_sb {
    char *buf;
    size_t len, cap;
    int oom;
} tc_sb;

static inline void tc_sb_init(tc_sb *sb) { sb->buf = NULL; sb->len = sb->cap = 0; sb->oom = 0; }
static inline void tc_sb_free(tc_sb *sb) { free(sb->buf); tc_sb_init(sb); }

static inline int tc_sb_reserve(tc_sb *sb, size_t extra) {
    if (sb->oom) return -1;
    if (extra >= SIZE_MAX / 2 - sb->len) { sb->oom = 1; return -1; }
    if (sb->len + extra + 1 <= sb->cap) return 0;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1) cap *= 2;
    char *p = (char *)realloc(sb->buf, cap);
    if (!p) { sb->oom = 1; return -1; }
    sb->buf = p;
    sb->cap = cap;
    return 0;
}

static inline void tc_sb_putn(tc_sb *sb, const char *s, size_t n) {
    if (tc_sb_reserve(sb, n) != 0) return;
    if (n) memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}
static inline void tc_sb_puts(tc_sb *sb, const char *s) { tc_sb_putn(sb, s, strlen(s)); }
static inline void tc_sb_putc(tc_sb *sb, char c) { tc_sb_putn(sb, &c, 1); }

/* Appends S percent-encoded: everything but RFC 3986 unreserved characters
 * (A-Z a-z 0-9 - . _ ~) becomes %XX. Base58 addresses pass unchanged. */
static inline void tc_sb_put_urlenc(tc_sb *sb, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            tc_sb_putc(sb, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            tc_sb_putn(sb, e, 3);
        }
    }
}

/* Appends S as a JSON string literal, quotes included. Bytes >= 0x80 are
 * copied as they are (the caller provides UTF-8). */
static inline void tc_sb_put_json_str(tc_sb *sb, const char *s) {
    static const char hex[] = "0123456789abcdef";
    tc_sb_putc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            tc_sb_putn(sb, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            tc_sb_putn(sb, e, 6);
        } else {
            tc_sb_putc(sb, (char)c);
        }
    }
    tc_sb_putc(sb, '"');
}

/* The built string ("" when nothing was appended), or NULL after an
 * allocation failure. Owned by SB. */
static inline const char *tc_sb_str(tc_sb *sb) {
    if (sb->oom) return NULL;
    return sb->buf ? sb->buf : "";
}

/* ---- Small string helpers ------------------------------------------------ */

/* ASCII lower-case copy of SRC into DST (always NUL-terminated, truncated to
 * DSTLEN-1 bytes). */
static inline void tc_util_lower(char *dst, size_t dstlen, const char *src) {
    size_t i = 0;
    if (dstlen == 0) return;
    for (; src[i] && i + 1 < dstlen; i++) {
        char c = src[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    dst[i] = '\0';
}

/* Parses S as a plain decimal number ([+-]digits[.digits][e[+-]digits]); the
 * whole string must be consumed and the value finite. "inf", "nan", hex,
 * leading/trailing spaces and "" are rejected. Returns 0 on success. */
static inline int tc_util_strtod_exact(const char *s, double *out) {
    if (!s || !*s) return -1;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return -1;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v) || errno == ERANGE) return -1;
    *out = v;
    return 0;
}

/* Reads "base_url" from SETTINGS: DEF when unset or empty, trailing '/'
 * removed. It must start with http:// or https:// and hold no spaces, control
 * characters, '?' or '#'. On success *OUT is a malloc'd copy (free it). On
 * failure writes a reason into ERR (the value is not echoed: it may carry
 * credentials) and returns -1. */
static inline int tc_util_base_url(const tc_host *host, const tc_settings *settings,
                                   const char *def, char **out, char *err, size_t errlen) {
    const char *v = host->setting ? host->setting(settings, "base_url") : NULL;
    if (!v || !*v) v = def;
    if (!v || !*v) {
        snprintf(err, errlen, "base_url is required");
        return -1;
    }
    size_t n = strlen(v);
    while (n > 0 && v[n - 1] == '/') n--;
    size_t scheme = strncmp(v, "https://", 8) == 0 ? 8 : strncmp(v, "http://", 7) == 0 ? 7 : 0;
    if (scheme == 0 || n <= scheme) {
        snprintf(err, errlen, "base_url must be an http:// or https:// URL with a host");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= 0x20 || c == 0x7f || c == '?' || c == '#') {
            snprintf(err, errlen, "base_url must not contain spaces, control characters, '?' or '#'");
            return -1;
        }
    }
    char *copy = (char *)malloc(n + 1);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(copy, v, n);
    copy[n] = '\0';
    *out = copy;
    return 0;
}

/* ---- Outcomes -------------------------------------------------------------- */

static inline void tc_outcome_set(tc_outcome *o, int32_t retry_after_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void tc_outcome_set(tc_outcome *o, int32_t retry_after_ms, const char *fmt, ...) {
    if (!o) return;
    va_list ap;
    va_start(ap, fmt);
    o->retry_after_ms = retry_after_ms;
    vsnprintf(o->message, sizeof o->message, fmt, ap);
    va_end(ap);
}

/* Copies up to MAX bytes of S into DST (size >= MAX+1) with every byte that is
 * not printable ASCII replaced by '?' (newlines, tabs become ' '). */
static inline void tc_util_sanitize(char *dst, const char *s, size_t len, size_t max) {
    size_t i = 0;
    for (; s && i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[i] = '\0';
}

/* Returns TC_OK for 2xx. Otherwise fills OUTCOME with "HTTP <status>: <first
 * 100 bytes of the body, sanitized>" and returns TC_FATAL. The host handles
 * 408, 429 and 5xx itself and never passes them to parse_response, so any
 * non-2xx that reaches a plugin is one the same request would get again. */
static inline tc_status tc_util_check_status(const tc_response *res, tc_outcome *o) {
    if (res->status >= 200 && res->status <= 299) return TC_OK;
    char snippet[101];
    tc_util_sanitize(snippet, res->body, res->body ? res->body_len : 0, 100);
    tc_outcome_set(o, -1, "HTTP %ld: %s", res->status, snippet);
    return TC_FATAL;
}

/* ---- Address index -----------------------------------------------------------
 * Maps an address string to its first position in the chunk in O(1).
 * FOLD_CASE compares ASCII case-insensitively (hex chains); Solana base58 is
 * case-sensitive. Keeps pointers into ADDRS: they must outlive the index. */
typedef struct tc_addr_index {
    const char *const *addrs;
    int32_t *slots; /* -1 empty, else position */
    size_t mask;
    int fold_case;
} tc_addr_index;

static inline uint64_t tc_addr_hash_(const char *s, int fold) {
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (fold && c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        h = (h ^ c) * UINT64_C(1099511628211);
    }
    return h;
}

static inline int tc_addr_eq_(const char *a, const char *b, int fold) {
    if (!fold) return strcmp(a, b) == 0;
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y - 'A' + 'a');
        if (x != y) return 0;
        if (!x) return 1;
    }
}

/* Returns 0, or -1 when out of memory or N is too large. NULL entries are skipped. */
static inline int tc_addr_index_init(tc_addr_index *ix, const char *const *addrs, size_t n, int fold_case) {
    size_t cap = 8;
    if (n > (size_t)INT32_MAX / 4) return -1;
    while (cap < 2 * n) cap *= 2;
    ix->addrs = addrs;
    ix->mask = cap - 1;
    ix->fold_case = fold_case;
    ix->slots = (int32_t *)malloc(cap * sizeof *ix->slots);
    if (!ix->slots) return -1;
    for (size_t i = 0; i < cap; i++) ix->slots[i] = -1;
    for (size_t i = 0; i < n; i++) {
        if (!addrs[i]) continue;
        size_t h = (size_t)tc_addr_hash_(addrs[i], fold_case) & ix->mask;
        for (;; h = (h + 1) & ix->mask) {
            if (ix->slots[h] < 0) { ix->slots[h] = (int32_t)i; break; }
            if (tc_addr_eq_(addrs[ix->slots[h]], addrs[i], fold_case)) break; /* duplicate: first wins */
        }
    }
    return 0;
}

/* Position of KEY in the chunk, or -1. */
static inline long tc_addr_index_find(const tc_addr_index *ix, const char *key) {
    if (!key) return -1;
    for (size_t h = (size_t)tc_addr_hash_(key, ix->fold_case) & ix->mask;; h = (h + 1) & ix->mask) {
        int32_t s = ix->slots[h];
        if (s < 0) return -1;
        if (tc_addr_eq_(ix->addrs[s], key, ix->fold_case)) return s;
    }
}

static inline void tc_addr_index_free(tc_addr_index *ix) { free(ix->slots); ix->slots = NULL; }

/* ---- cJSON helpers (opt-in) ----------------------------------------------- */
#ifdef TC_PLUGIN_UTIL_CJSON
#include <cjson/cJSON.h>

/* 1 when S[0..N) ends inside a string or with an unclosed '{' / '[':
 * what a cut-off body looks like. */
static inline int tc_json_unclosed_(const char *s, size_t n) {
    size_t depth = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return in_str || depth > 0;
}

/* Parses the whole body. On failure returns NULL, fills OUTCOME with
 * "truncated JSON: ... (parse error at offset N of LEN)" when the body ends
 * inside an open value, else "malformed JSON at offset N of LEN near '...'",
 * and the caller should return TC_RETRY. Trailing non-whitespace after the
 * value is an error too. Free the result with cJSON_Delete. */
static inline cJSON *tc_json_parse(const tc_response *res, tc_outcome *o) {
    if (!res->body || res->body_len == 0) {
        tc_outcome_set(o, -1, "empty response body");
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(res->body, res->body_len, &end, 0);
    size_t off = end ? (size_t)(end - res->body) : 0;
    if (!root) {
        char near[25];
        if (tc_json_unclosed_(res->body, res->body_len)) {
            tc_outcome_set(o, -1, "truncated JSON: body ends inside an open value (parse error at offset %zu of %zu)",
                           off, res->body_len);
        } else {
            tc_util_sanitize(near, res->body + off, res->body_len - off, 24);
            tc_outcome_set(o, -1, "malformed JSON at offset %zu of %zu near '%s'", off, res->body_len, near);
        }
        return NULL;
    }
    while (off < res->body_len) {
        char c = res->body[off];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        off++;
    }
    if (off < res->body_len) {
        cJSON_Delete(root);
        tc_outcome_set(o, -1, "malformed JSON: trailing data at offset %zu of %zu", off, res->body_len);
        return NULL;
    }
    return root;
}

/* OBJ[KEY] when OBJ is an object, else NULL. (cJSON_GetObjectItem on an
 * array returns its first element, so the type check matters.) */
static inline const cJSON *tc_json_get(const cJSON *obj, const char *key) {
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

/* OBJ[KEY] when it is an object, else NULL (also for a NULL OBJ). */
static inline const cJSON *tc_json_obj(const cJSON *obj, const char *key) {
    const cJSON *v = tc_json_get(obj, key);
    return cJSON_IsObject(v) ? v : NULL;
}

/* OBJ[KEY] when it is an array, else NULL. */
static inline const cJSON *tc_json_arr(const cJSON *obj, const char *key) {
    const cJSON *v = tc_json_get(obj, key);
    return cJSON_IsArray(v) ? v : NULL;
}

/* OBJ[KEY] when it is a non-empty string, else NULL. */
static inline const char *tc_json_str(const cJSON *obj, const char *key) {
    const cJSON *v = tc_json_get(obj, key);
    return (cJSON_IsString(v) && v->valuestring && v->valuestring[0]) ? v->valuestring : NULL;
}

/* 1 and *OUT when OBJ[KEY] is a finite JSON number; 0 when absent, null,
 * another type or not finite (e.g. 1e999). */
static inline int tc_json_num(const cJSON *obj, const char *key, double *out) {
    const cJSON *v = tc_json_get(obj, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return 0;
    *out = v->valuedouble;
    return 1;
}
#endif /* TC_PLUGIN_UTIL_CJSON */

#endif /* TOKENCOLLECTOR_PLUGIN_UTIL_H */
