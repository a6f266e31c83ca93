/* tokencollector SDK: small string helpers. None allocates.
 * Locale: tc_text_strtod_exact uses strtod, so the process must run in the
 * "C" numeric locale (the host never calls setlocale). */
#ifndef TOKENCOLLECTOR_SDK_TEXT_H
#define TOKENCOLLECTOR_SDK_TEXT_H

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

/* ASCII lower-case copy of SRC into DST (always NUL-terminated, truncated to
 * DSTLEN-1 bytes). */
static inline void tc_text_lower(char *dst, size_t dstlen, const char *src) {
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
static inline int tc_text_strtod_exact(const char *s, double *out) {
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

/* Copies up to MAX bytes of S[0..LEN) into DST (size >= MAX+1) with every
 * byte that is not printable ASCII replaced by '?' (newlines, tabs become
 * ' '): an excerpt of upstream bytes fit for a log line. */
static inline void tc_text_sanitize(char *dst, const char *s, size_t len, size_t max) {
    size_t i = 0;
    for (; s && i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[i] = '\0';
}

#endif /* TOKENCOLLECTOR_SDK_TEXT_H */
