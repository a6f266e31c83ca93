/* The per-thread cJSON arena (json_arena.h). Blocks of at least 1 MB
 * with a bump pointer; an allocation bigger than a block gets a block of
 * its own. No cJSON here: the test kit, which links libc and libdl only,
 * builds this file too and hands the hooks to the plugin's cJSON itself
 * (json_arena_hooks.c does it for the host). */
#include "json_arena.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define BLOCK_BYTES (1024u * 1024)
#define JSON_ARENA_KEEP (4u * 1024 * 1024) /* kept between windows */

typedef struct block {
    struct block *next;
    size_t size, used; /* bytes after the header */
    alignas(max_align_t) unsigned char data[];
} block;

typedef struct arena {
    block *head; /* the block allocations come from; older ones follow */
    int active;
} arena;

static _Thread_local arena g_arena;

/* Under AddressSanitizer the window stays closed: every allocation is its
 * own malloc, so an overflow inside a plugin's parse (the fuzzers', the
 * sanitizer build's) is still reported instead of landing in a block. */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_UNDER_ASAN 1
#endif
#endif
#ifndef ARENA_UNDER_ASAN
#define ARENA_UNDER_ASAN 0
#endif

static int owns(const arena *a, const void *p)
{
    for (const block *b = a->head; b; b = b->next)
        if ((const unsigned char *)p >= b->data && (const unsigned char *)p < b->data + b->size)
            return 1;
    return 0;
}

void *json_arena_malloc(size_t n)
{
    arena *a = &g_arena;
    if (!a->active)
        return malloc(n);
    size_t need = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    block *b = a->head;
    if (!b || b->size - b->used < need) { /* a new head; the old one stays owned until the end */
        size_t size = need > BLOCK_BYTES ? need : BLOCK_BYTES;
        block *nb = malloc(sizeof *nb + size);
        if (!nb)
            return NULL;
        nb->size = size;
        nb->used = 0;
        nb->next = a->head;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

void json_arena_free(void *p)
{
    if (p && !owns(&g_arena, p))
        free(p);
}

int json_arena_enabled(void) { return !ARENA_UNDER_ASAN; }

void json_arena_begin(void) { g_arena.active = !ARENA_UNDER_ASAN; }

void json_arena_end(void)
{
    arena *a = &g_arena;
    a->active = 0;
    /* Keep the newest blocks up to JSON_ARENA_KEEP, emptied; free the rest.
     * Only the head is allocated from, so keep one block: the largest. */
    block *keep = NULL;
    for (block *b = a->head, *next; b; b = next) {
        next = b->next;
        if (!keep || b->size > keep->size) {
            if (keep)
                free(keep);
            keep = b;
        } else
            free(b);
    }
    if (keep && keep->size > JSON_ARENA_KEEP) {
        free(keep);
        keep = NULL;
    }
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->head = keep;
}
