/* What the SQLite backend's files share and nothing else may include:
 * store_sqlite.c owns the backend's state (the connection and its prepared
 * statements) and gives the other files its connection through these;
 * store_sqlite_commit.c has the commit, store_sqlite_read.c the HTTP API's
 * reads. The public face of the backend is store.h. */
#ifndef TC_STORE_SQLITE_INTERNAL_H
#define TC_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>

#include "store.h"

/* The connection of backend BE and its file (for messages). */
sqlite3 *store_sqlite_db(void *be);
const char *store_sqlite_path(void *be);

/* "sqlite PATH: WHAT: <SQLite's message>" into ERR; returns -1. */
int store_sqlite_error(sqlite3 *db, const char *path, char *err, size_t errlen, const char *what);
/* Steps ST once, then resets it and clears its bindings; -1 with ERR. */
int store_sqlite_step(sqlite3 *db, const char *path, sqlite3_stmt *st, char *err, size_t errlen, const char *what);

/* store_sqlite_commit.c: the commit's statements on DB (PATH for messages;
 * both outlive the writer). */
typedef struct sqlite_writer sqlite_writer;
sqlite_writer *sqlite_writer_new(sqlite3 *db, const char *path, char *err, size_t errlen);
void sqlite_writer_free(sqlite_writer *w);
int sqlite_writer_commit(sqlite_writer *w, const token_result *tokens, size_t n, int64_t now, const char *claim_id,
                         size_t *fenced, char *err, size_t errlen);

/* store_sqlite_read.c */
int store_sqlite_list_tokens(void *be, const token_query *q, token_page *out, char *err, size_t errlen);
int store_sqlite_get_token(void *be, const char *address, token_page *out, char *err, size_t errlen);

/* store_sqlite_recover.c */
int store_sqlite_recover_claims(void *be, const char *owner, int64_t now, claim_recovery *out, char *err,
                                size_t errlen);

#endif
