/* Upstream text cleaning (text_clean.h). The one place that decides what
 * text may reach the store, so SQLite and PostgreSQL store the same bytes. */
#include "text_clean.h"

#include <string.h>

#include "util.h"

/* The length of the valid UTF-8 sequence at P (at most N bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

char *text_clean(const char *in, size_t max, int keep_lines, text_report *r)
{
    text_report local = {0};
    text_report *rep = r ? r : &local;
    *rep = (text_report){0};
    const unsigned char *p = (const unsigned char *)in;
    size_t n = strlen(in), o = 0;
    char *out = xmalloc((n < max ? n : max) * 3 + 4);
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(p + i, n - i);
        const char *piece = (const char *)p + i;
        size_t plen = len;
        if (!len) {
            rep->invalid++;
            piece = "\xef\xbf\xbd";
            plen = 3;
            len = 1;
        } else if ((len == 1 && (p[i] < 0x20 || p[i] == 0x7f) && !(keep_lines && (p[i] == '\n' || p[i] == '\t'))) ||
                   (len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)) { /* C0, DEL, C1 */
            rep->controls++;
            i += len;
            continue;
        }
        if (o + plen > max) {
            rep->cut = n - i;
            break;
        }
        memcpy(out + o, piece, plen);
        o += plen;
        i += len;
    }
    out[o] = '\0';
    return out;
}

int text_changed(const text_report *r) { return r->controls || r->invalid || r->cut; }

static int hex4(const char *p, const char *end, unsigned *v)
{
    if (end - p < 4)
        return 0;
    unsigned x = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        x <<= 4;
        if (c >= '0' && c <= '9')
            x |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            x |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            x |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *v = x;
    return 1;
}

size_t text_fix_json_escapes(char *json, size_t len)
{
    size_t fixed = 0;
    char *end = json + len;
    for (char *p = json; p && p < end;) {
        p = memchr(p, '\\', (size_t)(end - p));
        if (!p || p + 1 >= end)
            break;
        unsigned v;
        if (p[1] != 'u' || !hex4(p + 2, end, &v)) {
            p += 2; /* another escape, \\ included */
            continue;
        }
        int bad = v == 0 || (v >= 0xdc00 && v <= 0xdfff);
        if (v >= 0xd800 && v <= 0xdbff) {
            unsigned lo;
            if (p + 7 < end && p[6] == '\\' && p[7] == 'u' && hex4(p + 8, end, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                p += 12; /* a valid pair */
                continue;
            }
            bad = 1;
        }
        if (bad) {
            memcpy(p + 2, "fffd", 4);
            fixed++;
        }
        p += 6;
    }
    return fixed;
}
