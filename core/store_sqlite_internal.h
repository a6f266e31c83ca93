/* What the SQLite backend's files share and nothing else may include:
 * store_sqlite.c owns the backend's state (the connection and its prepared
 * statements) and gives the other files its connection through these;
 * store_sqlite_read.c has the HTTP API's reads. The public face of the
 * backend is store.h. */
#ifndef TC_STORE_SQLITE_INTERNAL_H
#define TC_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>

#include "store.h"

/* The connection of backend BE and its file (for messages). */
sqlite3 *store_sqlite_db(void *be);
const char *store_sqlite_path(void *be);

/* store_sqlite_read.c */
int store_sqlite_list_tokens(void *be, const token_query *q, token_page *out, char *err, size_t errlen);
int store_sqlite_get_token(void *be, const char *address, token_page *out, char *err, size_t errlen);

/* store_sqlite_recover.c */
int store_sqlite_recover_claims(void *be, const char *owner, int64_t now, claim_recovery *out, char *err,
                                size_t errlen);

#endif
