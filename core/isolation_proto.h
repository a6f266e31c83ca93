/* The framed protocol between the host and a plugin's child process
 * (isolation = process): each frame is a 4-byte length, a 1-byte type and
 * the payload, numbers little-endian, strings as a 4-byte length and the
 * bytes (no NUL; length 0xffffffff: NULL). Pure framing and encoding. */
#ifndef TC_ISOLATION_PROTO_H
#define TC_ISOLATION_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum {
    ISO_HELLO = 1,   /* child -> host: name, version, description, abi major, minor, max_chunk, chunk_size */
    ISO_FAIL,        /* child -> host: the plugin could not be loaded: message */
    ISO_BUILD,       /* host -> child: the chunk's addresses */
    ISO_BUILT,       /* child -> host: rc, then the request (method, url, headers, body, content type) */
    ISO_PARSE,       /* host -> child: addresses, HTTP status, content type, body */
    ISO_PARSED,      /* child -> host: the emitted values (ops), status, outcome message, retry_after_ms */
};

/* The emitted values, replayed by the host into its own tc_emit. */
enum { OP_STR = 1, OP_NUM, OP_LINK, OP_KNOWN, OP_XNUM, OP_XSTR, OP_XBOOL, OP_END };

/* Frames larger than this are a broken peer (bodies are capped at 32 MiB). */
#define ISO_MAX_FRAME (64u * 1024 * 1024)

void iso_put_u32(strbuf *b, uint32_t v);
void iso_put_i64(strbuf *b, int64_t v);
void iso_put_f64(strbuf *b, double v);
void iso_put_str(strbuf *b, const char *s);
void iso_put_bytes(strbuf *b, const char *s, size_t n);

/* A payload being read; a short or malformed one sets BAD and yields zeros. */
typedef struct iso_reader {
    const char *p, *end;
    int bad;
} iso_reader;

uint32_t iso_get_u32(iso_reader *r);
int64_t iso_get_i64(iso_reader *r);
double iso_get_f64(iso_reader *r);
/* A malloc'd NUL-terminated copy (NULL for a NULL string); *LEN its length. */
char *iso_get_str(iso_reader *r, size_t *len);

/* Writes one frame; 0, or -1 (the peer is gone). */
int iso_write_frame(int fd, int type, const strbuf *payload);
/* Reads one frame within TIMEOUT_MS (-1: no limit) into OUT (reset first):
 * its type, 0 on EOF, -1 on an error or a malformed frame, -2 on timeout. */
int iso_read_frame(int fd, int timeout_ms, strbuf *out);

#endif
