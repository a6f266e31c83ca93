/* Private to the test kit (not installed): the types behind its opaque
 * handles and the views it hands out, the host's field rules, and checked
 * allocation. */
#ifndef TC_KIT_INTERNAL_H
#define TC_KIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tokencollector/testkit.h"

/* The fields the kit accepts, like the host's emit.c: ABI 1.0's. */
#define KIT_NFIELDS TC_FIELD_COUNT_V1

struct tc_kit_plugin {
    void *dl;
    const tc_source *src;
    char *path;
};

typedef struct kit_setting {
    char *key, *value;
} kit_setting;

struct tc_kit_instance {
    tc_kit_plugin *plugin;
    void *self;
    tc_host host;
    kit_setting *settings; /* the opaque tc_settings the plugin gets is the instance */
    size_t nsettings;
    unsigned nlog[4]; /* per tc_log_level */
    char last_log[512];
    uint32_t emit_size; /* tc_kit_set_emit_size; 0: sizeof(tc_emit) */
};

/* The request being recorded; the public view first, so the tc_request the
 * plugin gets and the tc_kit_request the test gets are one allocation. */
typedef struct kit_request {
    tc_kit_request pub;
    tc_kit_header *headers;
    char *url, *content_type, *body;
} kit_request;

typedef struct kit_token {
    const char *addr;
    int known;
    unsigned times[KIT_NFIELDS]; /* accepted setter calls per field */
    char *str[KIT_NFIELDS];
    double num[KIT_NFIELDS];
    size_t nlinks;
    tc_kit_link *links;
    size_t nextras; /* distinct keys, in the order first set; at most TC_EXTRA_MAX */
    tc_kit_extra *extras;
} kit_token;

typedef struct kit_result {
    tc_kit_result pub;
    tc_outcome outcome;
    size_t n;
    kit_token *tok; /* one per chunk address, in chunk order */
    tc_emit emit;
} kit_result;

/* Allocation that aborts when out of memory (a test tool may). */
void *kit_calloc(size_t n, size_t size);
void *kit_realloc(void *p, size_t size);
char *kit_strdup(const char *s); /* NULL stays NULL */

/* The host's request builders (kit_request.c), for the fake tc_host. */
int kit_request_url(tc_request *req, tc_method method, const char *url);
int kit_request_header(tc_request *req, const char *name, const char *value);
int kit_request_body(tc_request *req, const char *content_type, const char *body, size_t len);

/* The token of ADDR in R, or NULL when ADDR is not one of the chunk. */
const kit_token *kit_token_of(const tc_kit_result *r, const char *addr);
int kit_field_is_string(int field);

#endif
