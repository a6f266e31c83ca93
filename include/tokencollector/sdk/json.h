/* tokencollector SDK: cJSON parsing and typed getters. Needs libcjson
 * (Debian libcjson-dev; link with -lcjson). Not pulled in by sdk.h. */
#ifndef TOKENCOLLECTOR_SDK_JSON_H
#define TOKENCOLLECTOR_SDK_JSON_H

#include <math.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "../plugin.h"
#include "outcome.h"
#include "text.h"

/* 1 when S[0..N) ends inside a string or with an unclosed '{' / '[':
 * what a cut-off body looks like. */
static inline int tc_json_unclosed_(const char *s, size_t n) {
    size_t depth = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return in_str || depth > 0;
}

/* Parses the whole body. On failure returns NULL, fills OUTCOME with
 * "truncated JSON: ... (parse error at offset N of LEN)" when the body ends
 * inside an open value, else "malformed JSON at offset N of LEN near '...'",
 * and the caller should return TC_RETRY. Trailing non-whitespace after the
 * value is an error too. Free the result with cJSON_Delete. */
static inline cJSON *tc_json_parse(const tc_response *res, tc_outcome *o) {
    if (!res->body || res->body_len == 0) {
        tc_outcome_set(o, -1, "empty response body");
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(res->body, res->body_len, &end, 0);
    size_t off = end ? (size_t)(end - res->body) : 0;
    if (!root) {
        char near[25];
        if (tc_json_unclosed_(res->body, res->body_len)) {
            tc_outcome_set(o, -1, "truncated JSON: body ends inside an open value (parse error at offset %zu of %zu)",
                           off, res->body_len);
        } else {
            tc_text_sanitize(near, res->body + off, res->body_len - off, 24);
            tc_outcome_set(o, -1, "malformed JSON at offset %zu of %zu near '%s'", off, res->body_len, near);
        }
        return NULL;
    }
    while (off < res->body_len) {
        char c = res->body[off];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        off++;
    }
    if (off < res->body_len) {
        cJSON_Delete(root);
        tc_outcome_set(o, -1, "malformed JSON: trailing data at offset %zu of %zu", off, res->body_len);
        return NULL;
    }
    return root;
}

/* OBJ[KEY] when OBJ is an object, else NULL. (cJSON_GetObjectItem on an
 * array returns its first element, so the type check matters.) */
static inline const cJSON *tc_json_get(const cJSON *obj, const char *key) {
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

/* OBJ[KEY] when it is an object, else NULL (also for a NULL OBJ). */
static inline const cJSON *tc_json_obj(const cJSON *obj, const char *key) {
    const cJSON *v = tc_json_get(obj, key);
    return cJSON_IsObject(v) ? v : NULL;
}

/* OBJ[KEY] when it is an array, else NULL. */
static inline const cJSON *tc_json_arr(const cJSON *obj, const char *key) {
    const cJSON *v = tc_json_get(obj, key);
    return cJSON_IsArray(v) ? v : NULL;
}

/* OBJ[KEY] when it is a non-empty string, else NULL. */
static inline const char *tc_json_str(const cJSON *obj, const char *key) {
    const cJSON *v = tc_json_get(obj, key);
    return (cJSON_IsString(v) && v->valuestring && v->valuestring[0]) ? v->valuestring : NULL;
}

/* 1 and *OUT when OBJ[KEY] is a finite JSON number; 0 when absent, null,
 * another type or not finite (e.g. 1e999). */
static inline int tc_json_num(const cJSON *obj, const char *key, double *out) {
    const cJSON *v = tc_json_get(obj, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return 0;
    *out = v->valuedouble;
    return 1;
}

#endif /* TOKENCOLLECTOR_SDK_JSON_H */
