/* The admin API's route table and its bearer token (api_admin.c,
 * api_admin_tokens.c; docs/api.md "Admin API"). */
#ifndef TC_API_ADMIN_H
#define TC_API_ADMIN_H

#include <stddef.h>

#include "api.h"

extern const api_route api_admin_routes[];

/* The token: TC_ADMIN_TOKEN when set, else the first line of TOKEN_FILE
 * (NULL: none); without either the admin API is off. -1 with ERR when the
 * file cannot be read or holds no usable token. Call before the server
 * starts. */
int api_admin_configure(const char *token_file, char *err, size_t errlen);
int api_admin_enabled(void);
/* The configured token, or NULL (`tokencollector status` sends it). */
const char *api_admin_token(void);
/* Forgets the token (tests). */
void api_admin_reset(void);

#endif
