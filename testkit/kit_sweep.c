/* Test kit: robustness sweeps over a recorded body: every cut-off prefix
 * must be a clean TC_RETRY, and random damage must not crash the plugin or
 * make it emit what a host refuses. */
#include <stdlib.h>
#include <string.h>

#include "kit_internal.h"

size_t tc_kit_prefix_sweep(tc_kit_instance *in, const char *const *addrs, size_t n, const char *body, size_t len,
                           size_t *first_bad)
{
    size_t end = len, bad = 0;
    while (end > 0 && memchr(" \n\r\t", body[end - 1], 4))
        end--;
    /* Above 4 KiB a stride keeps the sweep fast; the last 64 cuts are all tried. */
    size_t stride = getenv("TC_KIT_FULL_SWEEP") ? 1 : 1 + end / 4096;
    for (size_t k = 0; k < end; k++) {
        if (k % stride != 0 && k + 64 < end)
            continue;
        tc_kit_result *r;
        if (tc_kit_parse(in, addrs, n, 200, TC_KIT_JSON, body, k, &r) != TC_RETRY || !tc_kit_empty(r))
            if (bad++ == 0 && first_bad)
                *first_bad = k;
        tc_kit_result_free(r);
    }
    return bad;
}

static unsigned next_random(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

/* One to four random edits of BUF[0..*LEN) (capacity CAP). */
static void damage(char *buf, size_t *len, size_t cap, unsigned *seed)
{
    static const char pool[] = "{}[]\",:\\0123456789-+.eE nul\x01\xff\xc3";
    int edits = 1 + (int)(next_random(seed) % 4);
    for (int e = 0; e<edits && * len> 0; e++) {
        size_t pos = ((size_t)next_random(seed) << 15 | next_random(seed)) % *len;
        switch (next_random(seed) % 4) {
        case 0: /* replace */
            buf[pos] = pool[next_random(seed) % (sizeof pool - 1)];
            break;
        case 1: /* delete */
            memmove(buf + pos, buf + pos + 1, *len - pos - 1);
            (*len)--;
            break;
        case 2: { /* duplicate a short span */
            size_t span = 1 + next_random(seed) % 24;
            if (pos + span > *len)
                span = *len - pos;
            if (*len + span <= cap) {
                memmove(buf + pos + span, buf + pos, *len - pos);
                *len += span;
            }
            break;
        }
        default: /* cut */
            *len = pos;
            break;
        }
    }
}

size_t tc_kit_fuzz(tc_kit_instance *in, const char *const *addrs, size_t n, const char *body, size_t len, unsigned seed,
                   int iterations, size_t status_counts[3])
{
    const char *env = getenv("TC_KIT_FUZZ_ITERATIONS"); /* for longer local runs */
    if (env && atoi(env) > 0)
        iterations = atoi(env);
    size_t cap = 2 * len + 63, problems = 0;
    char *buf = kit_calloc(1, cap + 1);
    for (int it = 0; it < iterations && len > 0; it++) {
        memcpy(buf, body, len);
        size_t blen = len;
        damage(buf, &blen, cap, &seed);
        tc_kit_result *r;
        tc_status st = tc_kit_parse(in, addrs, n, 200, TC_KIT_JSON, buf, blen, &r);
        if ((unsigned)st <= TC_FATAL && status_counts)
            status_counts[st]++;
        problems += (unsigned)st > TC_FATAL;
        problems += r->refused + tc_kit_duplicates(r);
        problems += st != TC_OK && !tc_kit_empty(r); /* emitted, then failed */
        tc_kit_result_free(r);
    }
    free(buf);
    return problems;
}
