/* The setters a plugin reports one chunk's data through (tc_emit): each value
 * goes to the token its address names, into that source's slot. Owns the
 * chunk's address lookup and the checks on what the plugin emits; must not
 * judge the answer or settle tokens (the source runtime does). */
#ifndef TC_EMIT_H
#define TC_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "engine_internal.h"
#include "str_index.h"
#include "tokencollector/plugin.h"

typedef struct emit_ctx {
    token_state **tokens;
    size_t n;
    size_t src;        /* the source's index into each token's values */
    str_index index;   /* address -> position in TOKENS */
    uint64_t rejected; /* values for unknown addresses, of the wrong type, or
                          extras with a bad key */
    uint64_t over_bounds; /* extras past TC_EXTRA_MAX per token or
                             TC_EXTRA_STR_MAX bytes */
    uint64_t cleaned;     /* strings changed by text_clean (cut, controls, bad UTF-8) */
    uint64_t dropped;     /* strings left empty by it: not stored */
    char first_cleaned[160]; /* "ADDR name" of the first one, for the chunk's log line */
} emit_ctx;

/* Indexes the N TOKENS and points OUT's setters at them, for source SRC.
 * VERSION (tc_source.version of the instance parsing this chunk; may be
 * NULL) is recorded in each token's values of SRC. X must stay where it is
 * until emit_close (the index reads through it). */
void emit_open(emit_ctx *x, token_state **tokens, size_t n, size_t src, const char *version, tc_emit *out);
/* After the parse: frees the index (the values stay with the tokens). */
void emit_close(emit_ctx *x);
/* A failed parse must leave nothing behind: clears what source SRC emitted
 * into the N TOKENS. */
void emit_discard(token_state **tokens, size_t n, size_t src);

#endif
