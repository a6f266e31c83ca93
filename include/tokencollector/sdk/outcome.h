/* tokencollector SDK: filling the tc_outcome of parse_response. */
#ifndef TOKENCOLLECTOR_SDK_OUTCOME_H
#define TOKENCOLLECTOR_SDK_OUTCOME_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "../plugin.h"
#include "text.h"

/* Sets O's retry_after_ms (> 0 with TC_RETRY when the upstream asked for a
 * wait, else -1) and its message from FMT. O may be NULL. */
static inline void tc_outcome_set(tc_outcome *o, int32_t retry_after_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void tc_outcome_set(tc_outcome *o, int32_t retry_after_ms, const char *fmt, ...) {
    if (!o) return;
    va_list ap;
    va_start(ap, fmt);
    o->retry_after_ms = retry_after_ms;
    vsnprintf(o->message, sizeof o->message, fmt, ap);
    va_end(ap);
}

/* TC_OK for a 2xx RES. Anything else is TC_FATAL, with O's message set to
 * "HTTP <status>: <first 100 bytes of the body, sanitized>". The host keeps
 * 408, 429 and 5xx to itself (see parse_response in plugin.h), so a non-2xx
 * that reaches a plugin is one the same request would get again. */
static inline tc_status tc_outcome_reject_non_2xx(const tc_response *res, tc_outcome *o) {
    if (res->status >= 200 && res->status <= 299) return TC_OK;
    char snippet[101];
    tc_text_sanitize(snippet, res->body, res->body ? res->body_len : 0, 100);
    tc_outcome_set(o, -1, "HTTP %ld: %s", res->status, snippet);
    return TC_FATAL;
}

#endif /* TOKENCOLLECTOR_SDK_OUTCOME_H */
