/* The JSON writer (jsonw.h): string escaping with UTF-8 repair, integers,
 * and doubles as their shortest exact decimal.
 *
 * Doubles. For D = m * 2^e (m the 53-bit significand) and P digits, the
 * correctly rounded P-digit decimal of D is q * 10^-k with k = P - 1 -
 * floor(log10 D) and q = round(m * 5^k * 2^(e+k)), computed exactly in 128
 * bits while 0 <= k <= 27 (5^27 < 2^63). It reads back as D exactly when it
 * lies inside D's rounding interval (half a unit in the last place each
 * side, a quarter below a power of two; ties go to the even significand),
 * which the same integers decide. That is exactly what printf("%.Pg") plus
 * strtod decide in format_double, so the digits are the same, at about a
 * twentieth of the cost. Values outside that range (below 1e-13, or not an
 * integer above 1e17) and subnormals take format_double itself. */
#include "jsonw.h"

#include <math.h>
#include <stdio.h>

#include "record.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

/* ---- strings ----------------------------------------------------------------------------- */

/* 1: copied as it is. */
// clang-format off
static const unsigned char plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0), /* control characters */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* '"' */
    R16(1), R16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* '\\' */
    R16(1), R16(1),
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), /* >= 0x80: checked as UTF-8 */
#undef R16
};
// clang-format on

/* The length of the UTF-8 sequence at S (at most LEFT bytes), 0 when it is
 * not valid (overlong, surrogate, above U+10FFFF, cut short). */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return n;
}

void jw_string(strbuf *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    JW_LIT(b, "\"");
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && plain[s[run]])
            run++;
        if (run > i)
            jw_raw(b, (const char *)s + i, run - i);
        i = run;
        if (i == len)
            break;
        unsigned c = s[i];
        if (c >= 0x80) {
            size_t n = utf8_len(s + i, len - i);
            if (n)
                jw_raw(b, (const char *)s + i, n);
            else
                JW_LIT(b, "\xEF\xBF\xBD");
            i += n ? n : 1;
            continue;
        }
        char esc[8];
        switch (c) {
        case '"':
            JW_LIT(b, "\\\"");
            break;
        case '\\':
            JW_LIT(b, "\\\\");
            break;
        case '\n':
            JW_LIT(b, "\\n");
            break;
        case '\r':
            JW_LIT(b, "\\r");
            break;
        case '\t':
            JW_LIT(b, "\\t");
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            jw_raw(b, esc, 6);
        }
        i++;
    }
    JW_LIT(b, "\"");
}

int jw_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_len(s + i, len - i);
        if (!n)
            return 0;
        i += n;
    }
    return 1;
}

void jw_raw_utf8(strbuf *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_len(s + i, len - i);
        if (n) {
            i += n;
            continue;
        }
        jw_raw(b, str + run, i - run);
        JW_LIT(b, "\xEF\xBF\xBD");
        run = ++i;
    }
    jw_raw(b, str + run, len - run);
}

void jw_cstring(strbuf *b, const char *s)
{
    if (s)
        jw_string(b, s, strlen(s));
    else
        JW_LIT(b, "null");
}

/* ---- integers ---------------------------------------------------------------------------- */

/* The digits of V, at the end of BUF[24]; returns where they start. */
static char *u64_digits(char *end, uint64_t v)
{
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

void jw_int(strbuf *b, int64_t v)
{
    char buf[24], *end = buf + sizeof buf;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char *p = u64_digits(end, u);
    if (v < 0)
        *--p = '-';
    jw_raw(b, p, (size_t)(end - p));
}

/* ---- doubles ----------------------------------------------------------------------------- */

static const uint64_t pow10_u64[18] = {1ULL,
                                       10ULL,
                                       100ULL,
                                       1000ULL,
                                       10000ULL,
                                       100000ULL,
                                       1000000ULL,
                                       10000000ULL,
                                       100000000ULL,
                                       1000000000ULL,
                                       10000000000ULL,
                                       100000000000ULL,
                                       1000000000000ULL,
                                       10000000000000ULL,
                                       100000000000000ULL,
                                       1000000000000000ULL,
                                       10000000000000000ULL,
                                       100000000000000000ULL};

static const uint64_t pow5_u64[28] = {1ULL,
                                      5ULL,
                                      25ULL,
                                      125ULL,
                                      625ULL,
                                      3125ULL,
                                      15625ULL,
                                      78125ULL,
                                      390625ULL,
                                      1953125ULL,
                                      9765625ULL,
                                      48828125ULL,
                                      244140625ULL,
                                      1220703125ULL,
                                      6103515625ULL,
                                      30517578125ULL,
                                      152587890625ULL,
                                      762939453125ULL,
                                      3814697265625ULL,
                                      19073486328125ULL,
                                      95367431640625ULL,
                                      476837158203125ULL,
                                      2384185791015625ULL,
                                      11920928955078125ULL,
                                      59604644775390625ULL,
                                      298023223876953125ULL,
                                      1490116119384765625ULL,
                                      7450580596923828125ULL};

/* Writes the decimal DIGITS[0..N) * 10^(E10 - N + 1) (no trailing zeros). */
static size_t place_digits(char *out, const char *digits, int n, int e10)
{
    char *p = out;
    if (e10 >= -7 && e10 < 21) {
        if (e10 < 0) {
            *p++ = '0';
            *p++ = '.';
            for (int i = 0; i < -e10 - 1; i++)
                *p++ = '0';
            memcpy(p, digits, (size_t)n);
            p += n;
        } else {
            for (int i = 0; i <= e10 || i < n; i++) {
                if (i == e10 + 1)
                    *p++ = '.';
                *p++ = i < n ? digits[i] : '0';
            }
        }
    } else {
        *p++ = digits[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, digits + 1, (size_t)n - 1);
            p += n - 1;
        }
        p += sprintf(p, "e%d", e10);
    }
    *p = '\0';
    return (size_t)(p - out);
}

enum { SLOW = -1, TOO_BIG = -2, TOO_SMALL = -3 };

/* Q (P digits, E10 the exponent of the first) for X = M * 2^E when it reads
 * back as X; see the top of the file. Returns 1 with *Q set, 0 when it does
 * not, SLOW when the integers would not fit, TOO_BIG / TOO_SMALL when Q has
 * more or fewer than P digits (E10 is off by one). */
static int exact_digits(uint64_t m, int e, int p, int e10, uint64_t *q_out)
{
    int k = p - 1 - e10;
    if (k < 0 || k > 27)
        return SLOW;
    uint64_t five = pow5_u64[k];
    u128 n = (u128)m * five;
    int s = -(e + k); /* X * 10^k = N / 2^s */
    u128 q;
    if (s > 0) {
        if (s >= 120)
            return SLOW;
        q = n >> s;
        u128 rem = n - (q << s), half = (u128)1 << (s - 1);
        if (rem > half || (rem == half && (q & 1)))
            q++;
    } else {
        if (-s > 8)
            return SLOW;
        q = n << -s;
    }
    if (q >= pow10_u64[p])
        return TOO_BIG;
    if (q < pow10_u64[p - 1])
        return TOO_SMALL;
    /* Scaled by 2^(s+2): |q - X*10^k| against half an ulp. */
    int a = s + 2;
    u128 t, x4, h;
    if (a >= 0) {
        if (a > 120 || q >> (126 - a))
            return SLOW;
        t = q << a;
        x4 = n << 2;
        h = (u128)five << 1;
    } else {
        t = q;
        x4 = n << (2 - a);
        h = (u128)five << (1 - a);
    }
    i128 diff = (i128)t - (i128)x4;
    int even = (m & 1) == 0;
    u128 d = diff >= 0 ? (u128)diff : (u128)-diff;
    if (diff < 0 && m == (1ULL << 52) && e > -1074)
        h >>= 1; /* below a power of two the gap is half */
    *q_out = (uint64_t)q;
    return d < h || (d == h && even);
}

/* The shortest of 15, 16, 17 digits that reads back as X (> 0, finite):
 * *N digits into DIGITS (no trailing zeros), E10 the exponent of the first,
 * *P the precision that took. 0: out of the exact range (the caller takes
 * format_double_printf). */
static int shortest_digits(double x, char digits[24], int *n_out, int *e10_out, int *p_out)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int biased = (int)(bits >> 52);
    if (biased <= 0)
        return 0;
    uint64_t m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
    int e = biased - 1075;
    int e10 = (int)floor(log10(x)); /* may be one off next to a power of ten */
    for (int p = 15; p <= 17; p++) {
        uint64_t q = 0;
        int r = exact_digits(m, e, p, e10, &q);
        if (r == TOO_BIG || r == TOO_SMALL) {
            e10 += r == TOO_BIG ? 1 : -1;
            r = exact_digits(m, e, p, e10, &q);
        }
        if (r == 0 && q == pow10_u64[p - 1]) {
            /* Just below a power of ten, log10 may have rounded up. */
            uint64_t q2;
            if (exact_digits(m, e, p, e10 - 1, &q2) == 1) {
                e10--;
                q = q2;
                r = 1;
            }
        }
        if (r < 0)
            return 0;
        if (r == 1) {
            char buf[24], *end = buf + sizeof buf, *d = u64_digits(end, q);
            int n = (int)(end - d);
            while (n > 1 && d[n - 1] == '0')
                n--;
            memcpy(digits, d, (size_t)n);
            *n_out = n;
            *e10_out = e10;
            *p_out = p;
            return 1;
        }
    }
    return 0;
}

/* X (>= 0) as an integer when it is one below 1e15 (what "%.15g" prints
 * for it, without printf); 0 when it is not. */
static size_t small_integer(char *o, double x)
{
    if (!(x < 1e15 && x == floor(x)))
        return 0;
    char buf[24], *end = buf + sizeof buf, *p = u64_digits(end, (uint64_t)x);
    memcpy(o, p, (size_t)(end - p));
    o[end - p] = '\0';
    return (size_t)(end - p);
}

size_t jw_format_double(char out[40], double d)
{
    if (d == 0) {
        out[0] = '0';
        out[1] = '\0';
        return 1;
    }
    char *o = out;
    double x = d;
    if (x < 0) {
        *o++ = '-';
        x = -x;
    }
    size_t k = small_integer(o, x);
    if (k)
        return (size_t)(o - out) + k;
    char digits[24];
    int n, e10, p;
    if (shortest_digits(x, digits, &n, &e10, &p))
        return (size_t)(o - out) + place_digits(o, digits, n, e10);
    char slow[32];
    format_double_printf(slow, x);
    size_t len = strlen(slow);
    memcpy(o, slow, len + 1);
    return (size_t)(o - out) + len;
}

/* "%.Pg" of the digits: plain when -4 <= E10 < P, else d.ddde[+-]XX. */
static void place_g(char *o, const char *digits, int n, int e10, int p)
{
    if (e10 < -4 || e10 >= p) {
        *o++ = digits[0];
        if (n > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)n - 1);
            o += n - 1;
        }
        *o++ = 'e';
        *o++ = e10 < 0 ? '-' : '+';
        int a = e10 < 0 ? -e10 : e10;
        if (a >= 100)
            *o++ = (char)('0' + a / 100);
        *o++ = (char)('0' + a / 10 % 10);
        *o++ = (char)('0' + a % 10);
        *o = '\0';
        return;
    }
    place_digits(o, digits, n, e10); /* -4 <= e10 < 17: always plain there */
}

void format_double(char out[32], double d)
{
    if (!isfinite(d) || d == 0) {
        format_double_printf(out, d);
        return;
    }
    char *o = out;
    double x = d;
    if (x < 0) {
        *o++ = '-';
        x = -x;
    }
    if (small_integer(o, x))
        return;
    char digits[24];
    int n, e10, p;
    if (shortest_digits(x, digits, &n, &e10, &p))
        place_g(o, digits, n, e10, p);
    else
        format_double_printf(out, d);
}

void jw_number(strbuf *b, double d)
{
    if (!isfinite(d)) {
        JW_LIT(b, "null");
        return;
    }
    char buf[40];
    size_t n = jw_format_double(buf, d);
    jw_raw(b, buf, n);
}
