/* The SQLite store's schema: the tables of a new store and the migrations
 * that bring an older one up to date. Owns the DDL only; the statements
 * that read and write the tables are in store_sqlite.c. */
#include "store_sqlite_schema.h"

#include <stdio.h>

#include "log.h"

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS tokens ("
    " address TEXT PRIMARY KEY,"
    " status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','enriched','no_data','failed')),"
    " name TEXT, symbol TEXT, decimals INTEGER, image_url TEXT, description TEXT, supply TEXT,"
    " enrichment_attempts INTEGER NOT NULL DEFAULT 0,"
    " last_refresh_attempt INTEGER, last_refresh_success INTEGER, last_price_change INTEGER,"
    " refresh_interval_seconds INTEGER NOT NULL DEFAULT 30,"
    " priority_score REAL NOT NULL DEFAULT 0,"
    " refresh_metadata TEXT NOT NULL DEFAULT '{}',"
    " next_refresh_at INTEGER NOT NULL DEFAULT 0,"
    " claimed_by TEXT, claim_id TEXT, lease_until INTEGER NOT NULL DEFAULT 0,"
    " outstanding_sources TEXT, outstanding_attempts INTEGER NOT NULL DEFAULT 0,"
    " in_contest INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL DEFAULT (unixepoch()));"
    "CREATE INDEX IF NOT EXISTS tokens_status ON tokens(status, address);"
    "CREATE INDEX IF NOT EXISTS tokens_due ON tokens(next_refresh_at, address);"
    "CREATE TABLE IF NOT EXISTS token_prices ("
    " address TEXT PRIMARY KEY REFERENCES tokens(address) ON DELETE CASCADE,"
    " price_usd REAL, market_cap REAL, fdv REAL, liquidity_usd REAL, volume_24h REAL, change_24h REAL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS token_socials ("
    " address TEXT NOT NULL REFERENCES tokens(address) ON DELETE CASCADE,"
    " type TEXT NOT NULL, url TEXT NOT NULL, PRIMARY KEY (address, type, url));"
    "CREATE TABLE IF NOT EXISTS token_websites ("
    " address TEXT NOT NULL REFERENCES tokens(address) ON DELETE CASCADE,"
    " label TEXT, url TEXT NOT NULL, PRIMARY KEY (address, url));"
    "CREATE TABLE IF NOT EXISTS token_sources ("
    " address TEXT NOT NULL REFERENCES tokens(address) ON DELETE CASCADE,"
    " source TEXT NOT NULL, data TEXT NOT NULL, fetched_at INTEGER NOT NULL, plugin_version TEXT,"
    " PRIMARY KEY (address, source));"
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
    "INSERT INTO schema_version SELECT 4 WHERE NOT EXISTS (SELECT 1 FROM schema_version);";

/* Upgrades from earlier schema versions, in order; each runs in the open
 * transaction that bumps the version. SQLite has no ADD COLUMN IF NOT
 * EXISTS: a migration is skipped when TABLE already has COLUMN (a table
 * schema_sql just created, in a store that lacked it). */
static const struct migration {
    const char *sql;
    const char *table, *column; /* the first column it adds */
} migrations[] = {
    [1] = {"ALTER TABLE tokens ADD COLUMN outstanding_sources TEXT;"
           "ALTER TABLE tokens ADD COLUMN outstanding_attempts INTEGER NOT NULL DEFAULT 0;",
           "tokens", "outstanding_sources"},
    [2] = {"ALTER TABLE tokens ADD COLUMN in_contest INTEGER NOT NULL DEFAULT 0;", "tokens", "in_contest"},
    /* Which plugin version wrote each source record; NULL for older rows. */
    [3] = {"ALTER TABLE token_sources ADD COLUMN plugin_version TEXT;", "token_sources", "plugin_version"},
    /* The HTTP API's orders and its q= filter (store_read_sql.c). No column:
     * it always runs (every index IF NOT EXISTS). */
    [4] = {"CREATE INDEX IF NOT EXISTS token_prices_market_cap ON token_prices(market_cap, address);"
           "CREATE INDEX IF NOT EXISTS token_prices_volume_24h ON token_prices(volume_24h, address);"
           "CREATE INDEX IF NOT EXISTS tokens_updated ON tokens(last_refresh_success, address);"
           "CREATE INDEX IF NOT EXISTS tokens_symbol_lower ON tokens(lower(symbol));"
           "CREATE INDEX IF NOT EXISTS tokens_name_lower ON tokens(lower(name));",
           NULL, NULL},
};
#define SCHEMA_VERSION 5
_Static_assert(sizeof migrations / sizeof migrations[0] == SCHEMA_VERSION, "one migration per version");

static int has_column(sqlite3 *db, const char *table, const char *column)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

/* Migration VERSION (from VERSION to VERSION + 1). */
static int apply(sqlite3 *db, int version, char **emsg)
{
    if (version < 1 || !migrations[version].sql)
        return -1;
    const struct migration *m = &migrations[version];
    if (m->table && has_column(db, m->table, m->column))
        return 0;
    return sqlite3_exec(db, m->sql, NULL, NULL, emsg) == SQLITE_OK ? 0 : -1;
}

/* Brings a store created by an older version up to SCHEMA_VERSION, in one
 * transaction (a concurrent opener waits on the write lock, then finds
 * nothing to do). */
static int migrate(sqlite3 *db, const char *path, char **emsg)
{
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, emsg) != SQLITE_OK)
        return -1;
    sqlite3_stmt *st = NULL;
    int version = SCHEMA_VERSION;
    if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    for (; version < SCHEMA_VERSION; version++) {
        char bump[96];
        snprintf(bump, sizeof bump, "UPDATE schema_version SET version = %d", version + 1);
        if (apply(db, version, emsg) != 0 || sqlite3_exec(db, bump, NULL, NULL, emsg) != SQLITE_OK) {
            if (!*emsg)
                *emsg = sqlite3_mprintf("no migration from schema version %d", version);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        LOG_INFO("store", "sqlite %s: schema migrated to version %d", path, version + 1);
    }
    /* Needs the columns of version 2, so it comes after the upgrade. */
    if (sqlite3_exec(db,
                     "CREATE INDEX IF NOT EXISTS tokens_owed ON tokens(next_refresh_at)"
                     " WHERE outstanding_sources IS NOT NULL",
                     NULL, NULL, emsg) != SQLITE_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return sqlite3_exec(db, "COMMIT", NULL, NULL, emsg) == SQLITE_OK ? 0 : -1;
}

int store_sqlite_schema(sqlite3 *db, const char *path, char **emsg)
{
    if (sqlite3_exec(db, schema_sql, NULL, NULL, emsg) != SQLITE_OK)
        return -1;
    return migrate(db, path, emsg);
}
