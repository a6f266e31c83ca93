/* The HTTP API's pure pieces (api_http.h): parsing the listen address and
 * the query string, entity tags, content negotiation, gzip. Owns no state
 * and knows no connection; must not log or touch the store. */
#include "api_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "util.h"

/* ---- listen address -------------------------------------------------------------- */

int api_parse_listen(const char *s, struct sockaddr_storage *out, socklen_t *len, char *why, size_t whylen)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1]) {
        snprintf(why, whylen, "expected HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got \"%s\"", s);
        return -1;
    }
    long port;
    if (parse_long(colon + 1, 0, 65535, &port) != 0) {
        snprintf(why, whylen, "port: expected 0..65535, got \"%s\"", colon + 1);
        return -1;
    }
    size_t n = (size_t)(colon - s);
    int v6 = s[0] == '[';
    if (v6 && (n < 3 || s[n - 1] != ']')) {
        snprintf(why, whylen, "an IPv6 address is written in brackets: [::1]:8080, got \"%s\"", s);
        return -1;
    }
    if (v6)
        s++, n -= 2;
    if (n >= sizeof host) {
        snprintf(why, whylen, "host: too long");
        return -1;
    }
    memcpy(host, s, n);
    host[n] = '\0';
    memset(out, 0, sizeof *out);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
            snprintf(why, whylen, "host: \"%s\" is not an IPv6 address", host);
            return -1;
        }
        *len = sizeof *a;
        return 0;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (!strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
        snprintf(why, whylen, "host: \"%s\" is not an IPv4 address, [IPv6] or localhost (no name is looked up)",
                 host);
        return -1;
    }
    *len = sizeof *a;
    return 0;
}

/* ---- query string ---------------------------------------------------------------- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes [P, END) into W (NUL-terminated); returns the byte after it. */
static char *decode_into(const char *p, const char *end, char *w)
{
    while (p < end) {
        int hi, lo;
        if (*p == '+') {
            *w++ = ' ';
            p++;
        } else if (*p == '%' && end - p >= 3 && (hi = hex_value(p[1])) >= 0 && (lo = hex_value(p[2])) >= 0) {
            *w++ = (char)(hi * 16 + lo);
            p += 3;
        } else
            *w++ = *p++;
    }
    *w++ = '\0';
    return w;
}

size_t api_parse_query(const char *qs, api_param **params, char **storage)
{
    size_t len = qs ? strlen(qs) : 0, n = 0, cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += qs[i] == '&';
    api_param *v = xcalloc(cap, sizeof *v);
    /* Decoding never lengthens: each part fits in its own bytes plus a NUL. */
    char *w = xmalloc(len * 2 + 2), *start = w;
    for (const char *p = qs; p && *p;) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        if (end > p) {
            const char *eq = memchr(p, '=', (size_t)(end - p));
            v[n].key = w;
            w = decode_into(p, eq ? eq : end, w);
            v[n].value = w;
            w = decode_into(eq ? eq + 1 : end, end, w);
            n++;
        }
        p = amp ? amp + 1 : end;
    }
    *params = v;
    *storage = start;
    return n;
}

/* ---- entity tags ------------------------------------------------------------------ */

void api_etag(const char *body, size_t len, int gzipped, char *out)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)body[i];
        h *= 0x100000001b3ULL;
    }
    snprintf(out, API_ETAG_LEN, "\"%016llx%s\"", (unsigned long long)h, gzipped ? "-gz" : "");
}

/* The opaque part of a tag ("abc" of W/"abc-gz"), without the gzip mark;
 * *LEN its length. NULL when T does not start a quoted tag. */
static const char *tag_core(const char *t, size_t *len)
{
    if (!strncmp(t, "W/", 2))
        t += 2;
    if (*t != '"')
        return NULL;
    const char *end = strchr(t + 1, '"');
    if (!end)
        return NULL;
    *len = (size_t)(end - t - 1);
    if (*len >= 3 && !strncmp(end - 3, "-gz", 3))
        *len -= 3;
    return t + 1;
}

int api_etag_matches(const char *hdr, const char *etag)
{
    size_t want_len;
    const char *want = tag_core(etag, &want_len);
    if (!hdr || !want)
        return 0;
    for (const char *p = hdr; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        size_t len;
        const char *core = tag_core(p, &len);
        if (!core)
            return 0; /* malformed: no match rather than a guess */
        if (len == want_len && !memcmp(core, want, len))
            return 1;
        p = strchr(core, '"') + 1;
    }
    return 0;
}

/* ---- content negotiation ---------------------------------------------------------- */

/* The q of the list element that starts at P and ends at END (1 without one). */
static double element_q(const char *p, const char *end)
{
    for (const char *semi = memchr(p, ';', (size_t)(end - p)); semi; semi = memchr(semi + 1, ';', (size_t)(end - semi - 1))) {
        const char *q = semi + 1;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (end - q >= 2 && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
            return strtod(q + 2, NULL);
    }
    return 1;
}

/* The q given to TOKEN in the comma list HDR: -1 when absent. */
static double list_q(const char *hdr, const char *token)
{
    size_t tlen = strlen(token);
    for (const char *p = hdr; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = p + strcspn(p, ",");
        size_t name = strcspn(p, ";, \t");
        if (name > (size_t)(end - p))
            name = (size_t)(end - p);
        if (name == tlen && !strncasecmp(p, token, tlen))
            return element_q(p, end);
        p = end;
    }
    return -1;
}

int api_accepts_gzip(const char *hdr)
{
    if (!hdr)
        return 0;
    double q = list_q(hdr, "gzip");
    if (q < 0)
        q = list_q(hdr, "x-gzip");
    if (q < 0)
        q = list_q(hdr, "*");
    return q > 0;
}

int api_accepts_media(const char *hdr, const char *media)
{
    return hdr && list_q(hdr, media) > 0;
}

int api_gzip(const char *in, size_t len, char **out, size_t *outlen)
{
    z_stream z = {0};
    /* 15 window bits + 16: a gzip header and trailer; level 5: most of
     * level 9's size at a third of its time on JSON. */
    if (deflateInit2(&z, 5, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&z, (uLong)len);
    char *buf = xmalloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = n;
    return 0;
}
