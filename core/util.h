/* Small helpers shared by the core: clocks, checked allocation, address checks. */
#ifndef TC_UTIL_H
#define TC_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in nanoseconds: for limiters, timeouts, durations. */
int64_t now_mono_ns(void);
/* Wall clock in unix seconds: for what is stored. */
int64_t now_wall_s(void);
/* Wall clock in unix milliseconds: for what operators read. */
int64_t now_wall_ms(void);

/* xorshift64*: advances *STATE (never 0) and returns the next number. Only for
 * jitter and unique-enough ids, never for anything secret. */
uint64_t xorshift64_star(uint64_t *state);

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)

/* Allocation that aborts with a message on failure: out of memory is not a
 * condition this daemon can recover from meaningfully mid-batch. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* 1 when S is a plausible Solana address: base58 alphabet, 32..44 chars. */
int is_solana_address(const char *s);

/* Parses a whole decimal integer / double; 0 on success, -1 otherwise. */
int parse_long(const char *s, long min, long max, long *out);
int parse_double(const char *s, double *out);

/* Growable byte buffer. */
typedef struct strbuf {
    char *data;
    size_t len, cap;
} strbuf;
void sb_append(strbuf *b, const char *s, size_t n);
void sb_appends(strbuf *b, const char *s);
void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(strbuf *b);

#endif
