/* A string index: open addressing on an FNV-1a hash with linear probing and
 * backward-shift deletion, so it never needs tombstones. It maps a string to
 * the number of the caller's item that holds it. Owns only its table of item
 * numbers; the strings stay with the caller (read back through KEY), so it
 * must not copy, free or outlive them. Shared by the engine (a chunk's
 * addresses) and the scheduler (every scheduled token). */
#ifndef TC_STR_INDEX_H
#define TC_STR_INDEX_H

#include <stddef.h>
#include <stdint.h>

/* The string of item I of ITEMS. */
typedef const char *(*str_index_key_fn)(const void *items, size_t i);

typedef struct str_index {
    size_t *cells; /* item number + 1; 0: empty */
    size_t cap;    /* a power of two */
    str_index_key_fn key;
    const void *items;
} str_index;

/* 64-bit FNV-1a. */
uint64_t str_index_hash(const char *s);

/* An empty index of at least MIN_CAP cells (16 at the least). */
void str_index_init(str_index *x, size_t min_cap, str_index_key_fn key, const void *items);
void str_index_free(str_index *x);

/* The cell holding S, or the empty cell where S would go. The table must
 * have an empty cell: callers grow it before it fills. */
size_t *str_index_cell(const str_index *x, const char *s);
/* The item holding S, or SIZE_MAX. */
size_t str_index_find(const str_index *x, const char *s);
/* Indexes item I unless its string is indexed already (the first stays). */
void str_index_add(str_index *x, size_t i);
/* Doubles the table, keeping every entry. */
void str_index_grow(str_index *x);
/* Empties CELL, a cell str_index_cell found holding an item. */
void str_index_delete(str_index *x, size_t *cell);

#endif
