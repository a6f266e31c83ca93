/* Upstream text made safe to store, the same way for every backend: valid
 * UTF-8 (each invalid sequence becomes U+FFFD), no control characters (C0,
 * DEL, C1; a description keeps \n and \t), at most a field's byte limit
 * (cut on a character boundary). Pure. Limits: README.md, "Resilience",
 * "Upstream text". */
#ifndef TC_TEXT_CLEAN_H
#define TC_TEXT_CLEAN_H

#include <stddef.h>

/* Byte limits per kind of text (the NUL not included). */
#define TEXT_MAX_NAME 200
#define TEXT_MAX_SYMBOL 32
#define TEXT_MAX_URL 2048
#define TEXT_MAX_DESCRIPTION 4000
#define TEXT_MAX_LABEL 64
#define TEXT_MAX_NUMBER 80 /* a supply's digits */

typedef struct text_report {
    size_t controls; /* control characters removed */
    size_t invalid;  /* invalid UTF-8 sequences replaced by U+FFFD */
    size_t cut;      /* bytes dropped past the limit (0: not truncated) */
} text_report;

/* Cleans IN (NUL-terminated) into a new string of at most MAX bytes;
 * KEEP_LINES keeps \n and \t. R (may be NULL) says what changed. */
char *text_clean(const char *in, size_t max, int keep_lines, text_report *r);

/* 1 when R records any change. */
int text_changed(const text_report *r);

/* In a JSON text of LEN bytes, rewrites in place (same length) every
 * \u0000 and every lone UTF-16 surrogate escape (\ud800 with no low half,
 * a low half with no high one) to \ufffd: strict parsers refuse the whole
 * body for one of them, and a \u0000 would cut a C string silently.
 * Returns how many were rewritten. */
size_t text_fix_json_escapes(char *json, size_t len);

#endif
