/* tokencollector SDK: address -> first position in the chunk, O(1) (FNV-1a,
 * open addressing). Allocates; free with tc_addr_index_free. FOLD_CASE
 * compares ASCII case-insensitively (hex chains); Solana base58 is
 * case-sensitive. Keeps pointers into ADDRS: they must outlive the index. */
#ifndef TOKENCOLLECTOR_SDK_ADDR_INDEX_H
#define TOKENCOLLECTOR_SDK_ADDR_INDEX_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

#endif /* TOKENCOLLECTOR_SDK_ADDR_INDEX_H */
