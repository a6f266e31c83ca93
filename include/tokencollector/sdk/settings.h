/* tokencollector SDK: reading host-owned settings the usual way. */
#ifndef TOKENCOLLECTOR_SDK_SETTINGS_H
#define TOKENCOLLECTOR_SDK_SETTINGS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plugin.h"

/* Reads "base_url" from SETTINGS: DEF when unset or empty, trailing '/'
 * removed. It must start with http:// or https:// and hold no spaces, control
 * characters, '?' or '#'. On success *OUT is a malloc'd copy (free it). On
 * failure writes a reason into ERR (the value is not echoed: it may carry
 * credentials) and returns -1. */
static inline int tc_setting_base_url(const tc_host *host, const tc_settings *settings,
                                      const char *def, char **out, char *err, size_t errlen) {
    const char *v = host->setting ? host->setting(settings, "base_url") : NULL;
    if (!v || !*v) v = def;
    if (!v || !*v) {
        snprintf(err, errlen, "base_url is required");
        return -1;
    }
    size_t n = strlen(v);
    while (n > 0 && v[n - 1] == '/') n--;
    size_t scheme = strncmp(v, "https://", 8) == 0 ? 8 : strncmp(v, "http://", 7) == 0 ? 7 : 0;
    if (scheme == 0 || n <= scheme) {
        snprintf(err, errlen, "base_url must be an http:// or https:// URL with a host");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= 0x20 || c == 0x7f || c == '?' || c == '#') {
            snprintf(err, errlen, "base_url must not contain spaces, control characters, '?' or '#'");
            return -1;
        }
    }
    char *copy = (char *)malloc(n + 1);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(copy, v, n);
    copy[n] = '\0';
    *out = copy;
    return 0;
}

#endif /* TOKENCOLLECTOR_SDK_SETTINGS_H */
