/* The registry of configured secrets and the scrub every output passes
 * through (log lines, stored errors, API responses): a secret's text, raw
 * or percent-encoded, becomes "***". Secrets are only ever added (a key
 * replaced by a reload stays scrubbed); thread-safe. */
#ifndef TC_SECRETS_H
#define TC_SECRETS_H

#include <stddef.h>

struct config;

/* Secrets shorter than this are not registered: scrubbing 1-3 characters
 * would mangle every line (README.md, "Resilience"). */
#define SECRET_MIN_LEN 4

/* 1 when a config key's name says it holds a credential (api_key, *_key,
 * *secret*, *token*, *password*): its value is a secret. */
int secret_key_name(const char *key);

/* Registers VALUE (and its percent-encoded form) as a secret. */
void secrets_add(const char *value);

/* Every secret of a loaded config: source keys named like credentials and
 * the password of the store's DSN (URI "user:PASS@" or "password=PASS"). */
void secrets_add_config(const struct config *cfg);

/* Replaces every registered secret in the NUL-terminated BUF, in place
 * (the text only shrinks). Returns nonzero when something was replaced. */
size_t secrets_scrub(char *buf);

/* The same for a buffer of LEN bytes (may hold NULs); returns the new length. */
size_t secrets_scrub_len(char *buf, size_t len);

/* How many secrets are registered (tests). Forget them all (tests). */
size_t secrets_count(void);
void secrets_reset(void);

#endif
