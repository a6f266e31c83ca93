/* The SQLite store's schema and its migrations (store_sqlite_schema.c). */
#ifndef TC_STORE_SQLITE_SCHEMA_H
#define TC_STORE_SQLITE_SCHEMA_H

#include <sqlite3.h>

/* Creates the tables of a new store at DB (PATH: for messages) or upgrades
 * an older one, in one transaction. 0, or -1 with *EMSG (sqlite3_free). */
int store_sqlite_schema(sqlite3 *db, const char *path, char **emsg);

#endif
