/* The HTTP API's pure pieces: the listen address, the query string,
 * entity tags and If-None-Match, Accept-Encoding and gzip. No HTTP library
 * and no sockets here (api_server.c has them), so each is unit-tested with
 * plain strings (tests/unit/test_api_http.c). */
#ifndef TC_API_HTTP_H
#define TC_API_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include "api.h"

/* "HOST:PORT": HOST an IPv4 address, "[IPv6]" or "localhost" (127.0.0.1);
 * PORT 0..65535 (0: the system picks one). 0, or -1 with WHY. No name is
 * looked up: a config is checked without the network. */
int api_parse_listen(const char *s, struct sockaddr_storage *out, socklen_t *len, char *why, size_t whylen);

/* Splits the query string QS ("a=1&b=x%20y"; NULL or "" for none) into
 * decoded parameters, in order, repeats kept ('+' is a space, a malformed
 * %-escape is kept as it is, a key without '=' has the value "").
 * *PARAMS and *STORAGE are malloc'd (free both); returns the count. */
size_t api_parse_query(const char *qs, api_param **params, char **storage);

/* The strong entity tag of a body: "\"<16 hex digits>\"" (FNV-1a 64). A
 * gzip-coded representation carries the same digits and "-gz" (another
 * representation, another tag). OUT holds at least API_ETAG_LEN bytes. */
#define API_ETAG_LEN 24
void api_etag(const char *body, size_t len, int gzipped, char *out);
/* 1 when the If-None-Match header value HDR ("*", or a list of tags, W/
 * or not) matches ETAG by the weak comparison (RFC 9110 13.1.2), the
 * gzip and identity tags of one body being equal. */
int api_etag_matches(const char *hdr, const char *etag);

/* 1 when the Accept-Encoding header value HDR accepts gzip (listed, or
 * "*", with a q above 0). */
int api_accepts_gzip(const char *hdr);
/* IN gzip-coded into a malloc'd *OUT. 0, or -1 (nothing to free). */
int api_gzip(const char *in, size_t len, char **out, size_t *outlen);

/* 1 when media type MEDIA (e.g. "text/event-stream") is in the Accept
 * header value HDR with a q above 0 (parameters and case ignored). */
int api_accepts_media(const char *hdr, const char *media);

#endif
