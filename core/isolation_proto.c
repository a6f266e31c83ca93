/* Framing and encoding of the host <-> child protocol (isolation_proto.h). */
#include "isolation_proto.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

void iso_put_u32(strbuf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    sb_append(b, (const char *)x, 4);
}

void iso_put_i64(strbuf *b, int64_t v)
{
    iso_put_u32(b, (uint32_t)((uint64_t)v & 0xffffffffu));
    iso_put_u32(b, (uint32_t)((uint64_t)v >> 32));
}

void iso_put_f64(strbuf *b, double v)
{
    int64_t bits;
    memcpy(&bits, &v, sizeof bits);
    iso_put_i64(b, bits);
}

void iso_put_bytes(strbuf *b, const char *s, size_t n)
{
    iso_put_u32(b, (uint32_t)n);
    sb_append(b, s ? s : "", n);
}

void iso_put_str(strbuf *b, const char *s)
{
    if (!s)
        iso_put_u32(b, 0xffffffffu);
    else
        iso_put_bytes(b, s, strlen(s));
}

uint32_t iso_get_u32(iso_reader *r)
{
    if (r->bad || r->end - r->p < 4) {
        r->bad = 1;
        return 0;
    }
    const unsigned char *x = (const unsigned char *)r->p;
    r->p += 4;
    return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

int64_t iso_get_i64(iso_reader *r)
{
    uint64_t lo = iso_get_u32(r), hi = iso_get_u32(r);
    return (int64_t)(lo | hi << 32);
}

double iso_get_f64(iso_reader *r)
{
    int64_t bits = iso_get_i64(r);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

char *iso_get_str(iso_reader *r, size_t *len)
{
    uint32_t n = iso_get_u32(r);
    if (len)
        *len = 0;
    if (r->bad || n == 0xffffffffu)
        return NULL;
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    char *s = xmalloc((size_t)n + 1);
    memcpy(s, r->p, n);
    s[n] = '\0';
    r->p += n;
    if (len)
        *len = n;
    return s;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int iso_write_frame(int fd, int type, const strbuf *payload)
{
    strbuf h = {0};
    iso_put_u32(&h, (uint32_t)(payload ? payload->len : 0) + 1);
    char t = (char)type;
    sb_append(&h, &t, 1);
    int rc = write_all(fd, h.data, h.len);
    if (rc == 0 && payload && payload->len)
        rc = write_all(fd, payload->data, payload->len);
    sb_free(&h);
    return rc;
}

/* N bytes into P by DEADLINE (monotonic ns; 0: none): 1, 0 on EOF at the
 * start, -1 on error, -2 on timeout. */
static int read_all(int fd, char *p, size_t n, int64_t deadline)
{
    size_t got = 0;
    while (got < n) {
        if (deadline) {
            int64_t left = (deadline - now_mono_ns()) / NS_PER_MS;
            if (left <= 0)
                return -2;
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int pr = poll(&pfd, 1, (int)left);
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr == 0)
                return -2;
            if (pr < 0)
                return -1;
        }
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return got ? -1 : 0;
        if (r < 0)
            return -1;
        got += (size_t)r;
    }
    return 1;
}

int iso_read_frame(int fd, int timeout_ms, strbuf *out)
{
    out->len = 0;
    int64_t deadline = timeout_ms >= 0 ? now_mono_ns() + (int64_t)timeout_ms * NS_PER_MS : 0;
    unsigned char h[5];
    int rc = read_all(fd, (char *)h, 5, deadline);
    if (rc <= 0)
        return rc;
    uint32_t len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    if (len < 1 || len > ISO_MAX_FRAME || h[4] == 0)
        return -1;
    size_t n = len - 1;
    char *buf = xmalloc(n + 1);
    rc = n ? read_all(fd, buf, n, deadline) : 1;
    if (rc == 1) {
        sb_append(out, buf, n);
        sb_append(out, "", 0);
    }
    free(buf);
    return rc == 1 ? h[4] : rc == 0 ? -1 : rc;
}
