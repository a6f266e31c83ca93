/* Test kit: the request recorder behind the fake host's request_url,
 * request_header and request_body, refusing exactly what the host refuses
 * (core/registry.c), and tc_kit_build. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kit_internal.h"

int kit_request_url(tc_request *req, tc_method method, const char *url)
{
    kit_request *r = (kit_request *)req;
    r->pub.url_calls++;
    if ((method != TC_GET && method != TC_POST) || !url ||
        (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
        r->pub.refused++;
        return -1;
    }
    free(r->url);
    r->pub.url = r->url = kit_strdup(url);
    r->pub.method = method;
    return 0;
}

int kit_request_header(tc_request *req, const char *name, const char *value)
{
    kit_request *r = (kit_request *)req;
    r->pub.header_calls++;
    if (!name || !value || !*name || strpbrk(name, ":\r\n") || strpbrk(value, "\r\n")) {
        r->pub.refused++;
        return -1;
    }
    r->headers = kit_realloc(r->headers, (r->pub.nheaders + 1) * sizeof *r->headers);
    r->headers[r->pub.nheaders].name = kit_strdup(name);
    r->headers[r->pub.nheaders].value = kit_strdup(value);
    r->pub.nheaders++;
    r->pub.headers = r->headers;
    return 0;
}

int kit_request_body(tc_request *req, const char *content_type, const char *body, size_t len)
{
    kit_request *r = (kit_request *)req;
    r->pub.body_calls++;
    if (!body) {
        r->pub.refused++;
        return -1;
    }
    free(r->body);
    free(r->content_type);
    r->body = kit_calloc(1, len + 1);
    memcpy(r->body, body, len);
    r->pub.body = r->body;
    r->pub.body_len = len;
    r->pub.content_type = r->content_type = kit_strdup(content_type);
    return 0;
}

int tc_kit_build(tc_kit_instance *in, const char *const *addrs, size_t n, tc_kit_request **out)
{
    kit_request *r = kit_calloc(1, sizeof *r);
    r->pub.struct_size = sizeof r->pub;
    *out = &r->pub;
    return in->plugin->src->build_request(in->self, addrs, n, (tc_request *)r);
}

void tc_kit_request_free(tc_kit_request *req)
{
    kit_request *r = (kit_request *)req;
    if (!r)
        return;
    for (size_t i = 0; i < r->pub.nheaders; i++) {
        free((char *)r->headers[i].name);
        free((char *)r->headers[i].value);
    }
    free(r->headers);
    free(r->url);
    free(r->content_type);
    free(r->body);
    free(r);
}

const char *tc_kit_header_value(const tc_kit_request *r, const char *name)
{
    for (size_t i = 0; r && name && i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}
