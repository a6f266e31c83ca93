/* tokencollector SDK: the names of the fields as the host spells them, and
 * the host's rules for an extra (tc_emit.extra_*, ABI 1.1). The host
 * (core/record.c, core/emit.c) and the plugin test kit both check extras
 * with these very functions, so a plugin may use them to check its keys at
 * build or test time. None allocates. */
#ifndef TOKENCOLLECTOR_SDK_EXTRA_H
#define TOKENCOLLECTOR_SDK_EXTRA_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "../plugin.h"

/* The name of tc_field I (1 .. TC_FIELD_COUNT_V1 - 1), then of the link
 * sets "websites" and "socials" (TC_FIELD_COUNT_V1, TC_FIELD_COUNT_V1 + 1),
 * as the host's [merge] section and a stored record's JSON spell them; NULL
 * for any other I. */
static inline const char *tc_field_name(int i) {
    static const char *const names[] = {NULL,         "name",       "symbol",        "decimals",   "image_url",
                                        "description", "supply",     "price_usd",     "market_cap", "fdv",
                                        "liquidity_usd", "volume_24h", "change_24h",  "websites",   "socials"};
    return i > 0 && (size_t)i < sizeof names / sizeof names[0] ? names[i] : NULL;
}

/* The core table of what each standard field is (ABI 1.2, tc_freshness):
 * TC_FRESH_MARKET for price_usd .. change_24h, TC_FRESH_METADATA for the
 * identity fields and the link sets (numbered as for tc_field_name), 0 for
 * anything else. The host applies it to a plugin that declares nothing
 * (tc_source.fields NULL, or built for ABI 1.0 / 1.1); a plugin may start
 * its own tc_field_class list from it. */
static inline unsigned tc_field_default_freshness(int i) {
    if (i >= TC_PRICE_USD && i <= TC_CHANGE_24H) return TC_FRESH_MARKET;
    return tc_field_name(i) ? TC_FRESH_METADATA : 0;
}

/* 1 when KEY may name an extra: [a-z][a-z0-9_]{0,47} (at most
 * TC_EXTRA_KEY_MAX bytes) and not a tc_field_name. */
static inline int tc_extra_key_ok(const char *key) {
    if (!key || *key < 'a' || *key > 'z') return 0;
    for (size_t n = 1; key[n]; n++)
        if (n >= TC_EXTRA_KEY_MAX ||
            !((key[n] >= 'a' && key[n] <= 'z') || (key[n] >= '0' && key[n] <= '9') || key[n] == '_'))
            return 0;
    for (int i = 1; tc_field_name(i); i++)
        if (strcmp(key, tc_field_name(i)) == 0) return 0;
    return 1;
}

/* 1 when the host takes VALUE as a number extra: finite. */
static inline int tc_extra_num_ok(double value) { return isfinite(value); }

/* 1 when the host takes VALUE as a string extra: not NULL, at most
 * TC_EXTRA_STR_MAX bytes. */
static inline int tc_extra_str_ok(const char *value) {
    for (size_t n = 0; value && n <= TC_EXTRA_STR_MAX; n++)
        if (!value[n]) return 1;
    return 0;
}

#endif /* TOKENCOLLECTOR_SDK_EXTRA_H */
