/* tokencollector SDK: a growable string for URLs and request bodies.
 * Allocates; free with tc_sb_free. Errors are sticky: after an allocation
 * failure every append is a no-op and tc_sb_str() returns NULL, so callers
 * check once at the end. */
#ifndef TOKENCOLLECTOR_SDK_STRBUF_H
#define TOKENCOLLECTOR_SDK_STRBUF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

#endif /* TOKENCOLLECTOR_SDK_STRBUF_H */
