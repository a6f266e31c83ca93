/* The string index (str_index.h): hashing, probing, growing, deleting. Must
 * not know what the items are: it reaches their strings only through KEY. */
#include "str_index.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

uint64_t str_index_hash(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

void str_index_init(str_index *x, size_t min_cap, str_index_key_fn key, const void *items)
{
    size_t cap = 16;
    while (cap < min_cap)
        cap *= 2;
    x->cap = cap;
    x->cells = xcalloc(cap, sizeof *x->cells);
    x->key = key;
    x->items = items;
}

void str_index_free(str_index *x)
{
    free(x->cells);
    x->cells = NULL;
    x->cap = 0;
}

static size_t home_of(const str_index *x, const char *s) { return (size_t)str_index_hash(s) & (x->cap - 1); }

size_t *str_index_cell(const str_index *x, const char *s)
{
    size_t mask = x->cap - 1;
    for (size_t i = home_of(x, s);; i = (i + 1) & mask)
        if (x->cells[i] == 0 || strcmp(x->key(x->items, x->cells[i] - 1), s) == 0)
            return &x->cells[i];
}

size_t str_index_find(const str_index *x, const char *s)
{
    size_t cell = *str_index_cell(x, s);
    return cell ? cell - 1 : SIZE_MAX;
}

void str_index_add(str_index *x, size_t i)
{
    size_t *cell = str_index_cell(x, x->key(x->items, i));
    if (*cell == 0)
        *cell = i + 1;
}

void str_index_grow(str_index *x)
{
    size_t old_cap = x->cap;
    size_t *old = x->cells;
    x->cap = old_cap * 2;
    x->cells = xcalloc(x->cap, sizeof *x->cells);
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            str_index_add(x, old[i] - 1);
    free(old);
}

void str_index_delete(str_index *x, size_t *cell)
{
    size_t mask = x->cap - 1;
    size_t i = (size_t)(cell - x->cells);
    x->cells[i] = 0;
    for (size_t j = (i + 1) & mask; x->cells[j]; j = (j + 1) & mask) {
        size_t home = home_of(x, x->key(x->items, x->cells[j] - 1));
        /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            x->cells[i] = x->cells[j];
            x->cells[j] = 0;
            i = j;
        }
    }
}
