/* The parts of a test plugin that its test does not look at: an instance
 * that is one byte, no request, no answer understood. Each test plugin is
 * one .so built from one .c; this header keeps them to what they test. */
#ifndef TC_TEST_PLUGIN_INERT_H
#define TC_TEST_PLUGIN_INERT_H

#include <stdlib.h>

#include "tokencollector/plugin.h"

static inline int inert_create(const tc_host *host, const tc_settings *settings, void **self, char *err,
                               size_t errlen)
{
    (void)host, (void)settings, (void)err, (void)errlen;
    *self = malloc(1);
    return 0;
}

static inline void inert_destroy(void *self)
{
    free(self);
}

static inline int inert_build(void *self, const char *const *addrs, size_t n, tc_request *req)
{
    (void)self, (void)addrs, (void)n, (void)req;
    return -1;
}

static inline tc_status inert_parse(void *self, const char *const *addrs, size_t n, const tc_response *res,
                                    const tc_emit *out, tc_outcome *outcome)
{
    (void)self, (void)addrs, (void)n, (void)res, (void)out, (void)outcome;
    return TC_FATAL;
}

#endif
