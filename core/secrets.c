/* Configured secrets and their scrubbing (secrets.h). A small array read
 * under a mutex: the scrub is a memmem per secret, cheap next to the
 * formatting of the line it cleans. */
#include "secrets.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

#define MAX_SECRETS 64
static const char MASK[] = "***";

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *secrets[MAX_SECRETS];
static size_t lens[MAX_SECRETS];
static size_t n_secrets;

static char *dup_n(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int secret_key_name(const char *key)
{
    return strstr(key, "key") || strstr(key, "secret") || strstr(key, "token") || strstr(key, "password");
}

static void add_one(const char *v, size_t n)
{
    if (n < SECRET_MIN_LEN)
        return;
    pthread_mutex_lock(&mu);
    int known = 0;
    for (size_t i = 0; i < n_secrets && !known; i++)
        known = lens[i] == n && !memcmp(secrets[i], v, n);
    if (!known && n_secrets < MAX_SECRETS) {
        secrets[n_secrets] = xmalloc(n + 1);
        memcpy(secrets[n_secrets], v, n);
        secrets[n_secrets][n] = '\0';
        lens[n_secrets++] = n;
    }
    pthread_mutex_unlock(&mu);
}

void secrets_add(const char *value)
{
    if (!value)
        return;
    size_t n = strlen(value);
    add_one(value, n);
    /* The form it takes in a query string. */
    strbuf enc = {0};
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-_.~", c)) {
            sb_append(&enc, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            sb_append(&enc, e, 3);
        }
    }
    if (enc.data && enc.len != n)
        add_one(enc.data, enc.len);
    sb_free(&enc);
}

/* The password of a libpq URI ("scheme://user:PASS@host") and of every
 * "password=PASS" (URI query or key=value string). */
static void add_dsn_password(const char *dsn)
{
    const char *scheme = strstr(dsn, "://");
    if (scheme) {
        const char *auth = scheme + 3, *at = strchr(auth, '@'), *slash = strchr(auth, '/');
        if (at && (!slash || at < slash)) {
            const char *colon = memchr(auth, ':', (size_t)(at - auth));
            if (colon) {
                char *pw = dup_n(colon + 1, (size_t)(at - colon - 1));
                secrets_add(pw);
                free(pw);
            }
        }
    }
    for (const char *p = dsn; (p = strstr(p, "password")); p += 8) {
        const char *q = p + 8;
        while (*q == ' ')
            q++;
        if (*q != '=')
            continue;
        q++;
        while (*q == ' ')
            q++;
        int quoted = *q == '\'';
        q += quoted;
        size_t n = strcspn(q, quoted ? "'" : (scheme ? "&#" : " \t"));
        char *pw = dup_n(q, n);
        secrets_add(pw);
        free(pw);
    }
}

void secrets_add_config(const config *cfg)
{
    for (size_t i = 0; i < cfg->n_sources; i++)
        for (size_t k = 0; k < cfg->sources[i].n_keys; k++)
            if (secret_key_name(cfg->sources[i].keys[k].key))
                secrets_add(cfg->sources[i].keys[k].value);
    if (cfg->store)
        add_dsn_password(cfg->store);
}

size_t secrets_scrub_len(char *buf, size_t len)
{
    if (!buf || !n_secrets) /* a racy read: at worst one line misses a secret added this instant */
        return len;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_secrets; i++) {
        size_t n = lens[i];
        char *p = buf;
        while (len >= n && (p = memmem(p, len - (size_t)(p - buf), secrets[i], n))) {
            memcpy(p, MASK, sizeof MASK - 1);
            memmove(p + sizeof MASK - 1, p + n, len - (size_t)(p - buf) - n);
            len -= n - (sizeof MASK - 1);
            p += sizeof MASK - 1;
        }
    }
    pthread_mutex_unlock(&mu);
    return len;
}

size_t secrets_scrub(char *buf)
{
    if (!buf)
        return 0;
    size_t len = strlen(buf), after = secrets_scrub_len(buf, len);
    buf[after] = '\0';
    return len != after;
}

size_t secrets_count(void)
{
    pthread_mutex_lock(&mu);
    size_t n = n_secrets;
    pthread_mutex_unlock(&mu);
    return n;
}

void secrets_reset(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_secrets; i++)
        free(secrets[i]);
    n_secrets = 0;
    pthread_mutex_unlock(&mu);
}
