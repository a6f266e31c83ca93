/* Shared by the config_*.c files only: the pieces of loading a config that
 * live apart from config.c (environment, [merge]). Nothing else includes it. */
#ifndef TC_CONFIG_PRIVATE_H
#define TC_CONFIG_PRIVATE_H

#include "config.h"
#include "util.h"

/* [merge] */
void config_merge_clear(cfg_merge *m);
void config_merge_set(cfg_merge *m, const char *v, int line);
void config_merge_unknown(const char *key, strbuf *out);
/* [merge] FIELD_max_age = DURATION: 1 when KEY is one (stored in CFG), 0
 * when KEY is not one, -1 with WHY when it is wrong. */
int config_merge_max_age(config *cfg, const char *key, const char *value, char *why, size_t whylen);

/* ${VAR} and ${VAR:-default} in VALUE. NULL, with WHY, when a variable
 * without a default is unset or a ${ is not closed. */
char *env_expand(const char *key, const char *value, char *why, size_t whylen);

/* What an environment override VAR ("TC_SOURCE_DEX_CHUNK_SIZE") targets.
 * Returns 0 when VAR is not an override (other TC_* variables belong to
 * tests and tools), 1 with SECTION ("source dexscreener") and KEY
 * ("chunk_size") set, or -1 with WHY when it names no existing section. */
int env_override_target(const config *cfg, const char *var, char *section, size_t seclen, char *key, size_t keylen,
                        char *why, size_t whylen);

#endif
