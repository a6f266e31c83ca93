/* The environment's part of a config: ${VAR} expansion in values, and
 * TC_<SECTION>_[<NAME>_]<KEY> variables that override the file, so a
 * container can change one value without editing it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_private.h"

char *env_expand(const char *key, const char *value, char *why, size_t whylen)
{
    strbuf out = {0};
    sb_appends(&out, "");
    for (const char *p = value; *p;) {
        if (p[0] != '$' || p[1] != '{') {
            sb_append(&out, p++, 1);
            continue;
        }
        const char *close = strchr(p + 2, '}');
        if (!close) {
            snprintf(why, whylen, "%s: unterminated ${ in value", key);
            sb_free(&out);
            return NULL;
        }
        char inner[256];
        snprintf(inner, sizeof inner, "%.*s", (int)(close - (p + 2)), p + 2);
        char *def = strstr(inner, ":-");
        if (def) {
            *def = '\0';
            def += 2;
        }
        const char *env = getenv(inner);
        if (env && (*env || !def))
            sb_appends(&out, env);
        else if (def)
            sb_appends(&out, def);
        else {
            snprintf(why, whylen, "%s: environment variable %s is not set (use ${%s:-default} for an optional value)",
                     key, inner, inner);
            sb_free(&out);
            return NULL;
        }
        p = close + 1;
    }
    return out.data;
}

/* NAME as it appears in a variable: upper case, anything else than letters
 * and digits as '_' ("my-src" -> "MY_SRC"). */
static void upper_ident(const char *in, char *out, size_t outlen)
{
    size_t i = 0;
    for (; in[i] && i + 1 < outlen; i++)
        out[i] = isalnum((unsigned char)in[i]) ? (char)toupper((unsigned char)in[i]) : '_';
    out[i] = '\0';
}

static void lower_into(const char *in, char *out, size_t outlen)
{
    size_t i = 0;
    for (; in[i] && i + 1 < outlen; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

/* Among NAMES, the longest whose identifier followed by '_' starts REST:
 * "JUPITER_BACKUP_CHUNK_SIZE" is key chunk_size of jupiter_backup, not key
 * backup_chunk_size of jupiter. */
static const char *longest_name(const char *rest, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < n; i++) {
        char up[160];
        upper_ident(names[i], up, sizeof up);
        size_t len = strlen(up);
        if (!strncmp(rest, up, len) && rest[len] == '_' && rest[len + 1] && len > best_len) {
            best = names[i];
            best_len = len;
        }
    }
    return best;
}

static void no_section(const char *var, const char *kind, const char *const *names, size_t n, char *why, size_t whylen)
{
    char ukind[16];
    upper_ident(kind, ukind, sizeof ukind);
    strbuf b = {0};
    sb_printf(&b, "environment %s: no [%s NAME] section matches", var, kind);
    for (size_t i = 0; i < n; i++) {
        char up[160];
        upper_ident(names[i], up, sizeof up);
        sb_printf(&b, "%s[%s %s] is TC_%s_%s_<KEY>", i ? ", " : " (", kind, names[i], ukind, up);
    }
    sb_appends(&b, n ? ")" : " (there is none)");
    snprintf(why, whylen, "%s", b.data);
    sb_free(&b);
}

static int named_target(const char *var, const char *rest, const char *kind, const char *const *names, size_t n,
                        char *section, size_t seclen, char *key, size_t keylen, char *why, size_t whylen)
{
    const char *name = longest_name(rest, names, n);
    if (!name) {
        no_section(var, kind, names, n, why, whylen);
        return -1;
    }
    char up[160];
    upper_ident(name, up, sizeof up);
    snprintf(section, seclen, "%s %s", kind, name);
    lower_into(rest + strlen(up) + 1, key, keylen);
    return 1;
}

int env_override_target(const config *cfg, const char *var, char *section, size_t seclen, char *key, size_t keylen,
                        char *why, size_t whylen)
{
    static const char *const plain[] = {"core", "scheduler", "merge", "api"};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        char prefix[32], up[16];
        upper_ident(plain[i], up, sizeof up);
        snprintf(prefix, sizeof prefix, "TC_%s_", up);
        if (!strncmp(var, prefix, strlen(prefix)) && var[strlen(prefix)]) {
            snprintf(section, seclen, "%s", plain[i]);
            lower_into(var + strlen(prefix), key, keylen);
            return 1;
        }
    }
    int is_source = !strncmp(var, "TC_SOURCE_", 10), is_limiter = !strncmp(var, "TC_LIMITER_", 11);
    if (!is_source && !is_limiter)
        return 0;
    size_t n = is_source ? cfg->n_sources : cfg->n_limiters;
    const char **names = xcalloc(n + 1, sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = is_source ? cfg->sources[i].name : cfg->limiters[i].name;
    int rc = named_target(var, var + (is_source ? 10 : 11), is_source ? "source" : "limiter", names, n, section, seclen,
                          key, keylen, why, whylen);
    free(names);
    return rc;
}
