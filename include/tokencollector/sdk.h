/*
 * tokencollector plugin SDK: OPTIONAL helpers, header-only, static inline.
 *
 * plugin.h is the ABI and the only header a plugin needs. The SDK is code a
 * plugin may compile into itself instead of rewriting it; it is never part of
 * the binary interface, and nothing in it decides what the host decides
 * (rate limits, retries of 408/429/5xx, backoff, the circuit breaker).
 *
 *   sdk/compat.h      TC_HAS_MEMBER: does a sized ABI struct carry a member
 *   sdk/extra.h       tc_extra_key_ok, tc_extra_num_ok, tc_extra_str_ok: the
 *                     host's rules for an extra; tc_field_name
 *   sdk/strbuf.h      tc_sb_*: growable string, URL and JSON-string escaping
 *   sdk/text.h        tc_text_*: lower-case copy, exact decimal parse,
 *                     printable-ASCII excerpt
 *   sdk/settings.h    tc_setting_base_url: the "base_url" rules
 *   sdk/outcome.h     tc_outcome_set, tc_outcome_reject_non_2xx
 *   sdk/addr_index.h  tc_addr_index_*: address -> chunk position hash
 *   sdk/json.h        tc_json_*: whole-body parse, typed getters (needs
 *                     libcjson; not included here, include it yourself)
 *
 * This header includes all of them but sdk/json.h. Nothing here allocates
 * except tc_sb, tc_setting_base_url and tc_addr_index, which say so.
 */
#ifndef TOKENCOLLECTOR_SDK_H
#define TOKENCOLLECTOR_SDK_H

#include "sdk/addr_index.h"
#include "sdk/compat.h"
#include "sdk/extra.h"
#include "sdk/outcome.h"
#include "sdk/settings.h"
#include "sdk/strbuf.h"
#include "sdk/text.h"

#endif /* TOKENCOLLECTOR_SDK_H */
