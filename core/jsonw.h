/* A JSON writer for the hot paths of the HTTP API: values appended straight
 * to a strbuf, no tree. Strings are escaped (and bytes that are not UTF-8
 * become U+FFFD, so the output is always valid JSON); numbers are the
 * shortest decimal that reads back as exactly the same double, like
 * record.h's format_double but without printf on the common path. Owns
 * text only: the shapes of the documents are the callers'. */
#ifndef TC_JSONW_H
#define TC_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

/* Appends literal JSON text. */
static inline void jw_raw(strbuf *b, const char *s, size_t n)
{
    sb_append(b, s, n);
}
#define JW_LIT(b, lit) jw_raw((b), (lit), sizeof(lit) - 1)

/* LEN bytes of JSON text at S as they are, but for bytes that are not
 * UTF-8 (as U+FFFD): stored JSON, which may hold what an upstream sent. */
void jw_raw_utf8(strbuf *b, const char *s, size_t len);
/* "S" with LEN bytes of S escaped. */
void jw_string(strbuf *b, const char *s, size_t len);
/* "S", or null when S is NULL. */
void jw_cstring(strbuf *b, const char *s);
/* D, or null when it is not finite. */
void jw_number(strbuf *b, double d);
void jw_int(strbuf *b, int64_t v);

/* 1 when LEN bytes at S are valid UTF-8. */
int jw_utf8_valid(const char *s, size_t len);

/* D (finite) as the shortest decimal that reads back exactly: the digits of
 * the first of "%.15g", "%.16g", "%.17g" that does, written plainly from
 * 1e-7 to 1e21 and with an exponent ("1.5e-9") outside. Returns the length;
 * OUT is NUL-terminated. */
size_t jw_format_double(char out[40], double d);

#endif
