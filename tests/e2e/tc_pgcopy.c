/* tc_pgcopy: copies a PostgreSQL store into a new SQLite store file, so the
 * SQLite-based checkers (tc_check verify / same) judge a PostgreSQL run with
 * no change.
 *
 *   tc_pgcopy URI SQLITE_PATH
 *
 * The SQLite file is created afresh by the SQLite backend itself (its own
 * schema), then every table is copied column by column, by name. The two
 * schemas must have the same columns: a column on one side only is an error
 * (exit 1), so the backends cannot drift apart unnoticed. Conversions:
 *   timestamptz -> unix seconds (NULL -> 0 where SQLite says NOT NULL, as for
 *                  lease_until);
 *   float8      -> REAL, read back from PostgreSQL's shortest exact text;
 *   boolean     -> INTEGER 0 / 1;
 *   jsonb       -> text. token_sources.data is re-serialized the way the SQLite
 *                  backend writes it (values_to_json: the field order and
 *                  number format), because jsonb keeps the value, not the
 *                  text (keys reordered, spaces added). The rewrite is used
 *                  only when it is lossless (same JSON value, compared with
 *                  cJSON); otherwise the text is copied as PostgreSQL gave it
 *                  and `tc_check same` shows the difference.
 * Exit 0 on success, 1 on any error (message on stderr). */
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "store.h"
#include "util.h"

static const char *const tables[] = {"tokens", "token_prices", "token_socials", "token_websites", "token_sources"};

typedef struct column {
    char *name;
    char *sqlite_type; /* INTEGER, REAL, TEXT */
    int notnull;
    char *pg_type;     /* information_schema data_type */
} column;

static int die(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "tc_pgcopy: ");
    fprintf(stderr, fmt, a ? a : "", b ? b : "");
    fputc('\n', stderr);
    return 1;
}

/* values_to_json text of the same record, or NULL when the rewrite would
 * change the value (a key or shape values_to_json does not produce). */
static char *canonical_record(const char *json)
{
    tc_values v = {0};
    if (values_from_json(&v, json) != 0)
        return NULL;
    char *out = values_to_json(&v);
    values_clear(&v);
    cJSON *a = cJSON_Parse(json), *b = out ? cJSON_Parse(out) : NULL;
    int same = a && b && cJSON_Compare(a, b, 1);
    cJSON_Delete(a);
    cJSON_Delete(b);
    if (!same) {
        free(out);
        return NULL;
    }
    return out;
}

static int sqlite_columns(sqlite3 *db, const char *table, column **out, size_t *n)
{
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return die("sqlite: %s%s", sqlite3_errmsg(db), NULL);
    column *cols = NULL;
    size_t k = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        cols = xrealloc(cols, (k + 1) * sizeof *cols);
        cols[k].name = xstrdup((const char *)sqlite3_column_text(st, 1));
        cols[k].sqlite_type = xstrdup((const char *)sqlite3_column_text(st, 2));
        cols[k].notnull = sqlite3_column_int(st, 3);
        cols[k].pg_type = NULL;
        k++;
    }
    sqlite3_finalize(st);
    if (k == 0)
        return die("sqlite: no table %s%s", table, NULL);
    *out = cols;
    *n = k;
    return 0;
}

static int copy_table(PGconn *pg, sqlite3 *db, const char *table, unsigned long *rows)
{
    column *cols;
    size_t n;
    if (sqlite_columns(db, table, &cols, &n))
        return 1;
    const char *params[1] = {table};
    PGresult *r = PQexecParams(pg,
                               "SELECT column_name::text, data_type::text FROM information_schema.columns"
                               " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                               1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return die("postgresql: %s%s", PQerrorMessage(pg), NULL);
    int bad = PQntuples(r) == 0 ? die("postgresql: no table %s in the current schema%s", table, NULL) : 0;
    for (int i = 0; i < PQntuples(r) && !bad; i++) {
        const char *name = PQgetvalue(r, i, 0);
        size_t j = 0;
        while (j < n && strcmp(cols[j].name, name))
            j++;
        if (j == n) {
            fprintf(stderr, "tc_pgcopy: %s.%s exists in PostgreSQL but not in SQLite\n", table, name);
            bad = 1;
        } else
            cols[j].pg_type = xstrdup(PQgetvalue(r, i, 1));
    }
    PQclear(r);
    for (size_t j = 0; j < n && !bad; j++)
        if (!cols[j].pg_type) {
            fprintf(stderr, "tc_pgcopy: %s.%s exists in SQLite but not in PostgreSQL\n", table, cols[j].name);
            bad = 1;
        }
    strbuf sel = {0}, ins = {0};
    if (!bad) {
        sb_appends(&sel, "SELECT ");
        sb_printf(&ins, "INSERT INTO %s (", table);
        for (size_t j = 0; j < n; j++) {
            const char *sep = j ? ", " : "";
            if (!strcmp(cols[j].pg_type, "timestamp with time zone"))
                sb_printf(&sel, cols[j].notnull ? "%scoalesce(extract(epoch FROM \"%s\")::bigint, 0)"
                                                : "%sextract(epoch FROM \"%s\")::bigint",
                          sep, cols[j].name);
            else if (!strcmp(cols[j].pg_type, "boolean")) /* SQLite: INTEGER 0 / 1 */
                sb_printf(&sel, "%s\"%s\"::int", sep, cols[j].name);
            else
                sb_printf(&sel, "%s\"%s\"::text", sep, cols[j].name);
            sb_printf(&ins, "%s\"%s\"", sep, cols[j].name);
        }
        sb_printf(&sel, " FROM %s ORDER BY 1", table);
        sb_appends(&ins, ") VALUES (");
        for (size_t j = 0; j < n; j++)
            sb_printf(&ins, "%s?%zu", j ? ", " : "", j + 1);
        sb_appends(&ins, ")");
    }
    sqlite3_stmt *st = NULL;
    if (!bad && sqlite3_prepare_v2(db, ins.data, -1, &st, NULL) != SQLITE_OK)
        bad = die("sqlite: %s%s", sqlite3_errmsg(db), NULL);
    if (!bad) {
        r = PQexec(pg, sel.data);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            bad = die("postgresql: %s%s", PQerrorMessage(pg), NULL);
        } else {
            int canon_data = !strcmp(table, "token_sources");
            for (int i = 0; i < PQntuples(r) && !bad; i++) {
                char *owned = NULL;
                for (size_t j = 0; j < n; j++) {
                    int idx = (int)j + 1;
                    if (PQgetisnull(r, i, (int)j)) {
                        sqlite3_bind_null(st, idx);
                        continue;
                    }
                    const char *v = PQgetvalue(r, i, (int)j);
                    if (canon_data && !strcmp(cols[j].name, "data")) {
                        owned = canonical_record(v);
                        sqlite3_bind_text(st, idx, owned ? owned : v, -1, SQLITE_TRANSIENT);
                    } else if (!strcasecmp(cols[j].sqlite_type, "INTEGER"))
                        sqlite3_bind_int64(st, idx, strtoll(v, NULL, 10));
                    else if (!strcasecmp(cols[j].sqlite_type, "REAL"))
                        sqlite3_bind_double(st, idx, strtod(v, NULL));
                    else
                        sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC);
                }
                if (sqlite3_step(st) != SQLITE_DONE)
                    bad = die("sqlite insert: %s%s", sqlite3_errmsg(db), NULL);
                sqlite3_reset(st);
                sqlite3_clear_bindings(st);
                free(owned);
                (*rows)++;
            }
        }
        PQclear(r);
    }
    sqlite3_finalize(st);
    sb_free(&sel);
    sb_free(&ins);
    for (size_t j = 0; j < n; j++) {
        free(cols[j].name);
        free(cols[j].sqlite_type);
        free(cols[j].pg_type);
    }
    free(cols);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: tc_pgcopy POSTGRESQL_URI SQLITE_PATH\n");
        return 2;
    }
    const char *uri = argv[1], *path = argv[2];
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
    /* The SQLite backend creates its own schema. */
    char err[1024], sq[4200];
    snprintf(sq, sizeof sq, "sqlite:%s", path);
    store *s = store_open(sq, err, sizeof err);
    if (!s)
        return die("%s%s", err, NULL);
    store_close(s);

    PGconn *pg = PQconnectdb(uri);
    if (PQstatus(pg) != CONNECTION_OK) {
        char *shown = store_pg_redact(uri);
        fprintf(stderr, "tc_pgcopy: connect %s: %s", shown, PQerrorMessage(pg));
        free(shown);
        PQfinish(pg);
        return 1;
    }
    /* One snapshot for every table. */
    PQclear(PQexec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return die("sqlite open %s%s", path, NULL);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    int bad = 0;
    unsigned long rows[sizeof tables / sizeof *tables] = {0};
    for (size_t t = 0; t < sizeof tables / sizeof *tables && !bad; t++)
        bad = copy_table(pg, db, tables[t], &rows[t]);
    if (!bad && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        bad = die("sqlite commit: %s%s", sqlite3_errmsg(db), NULL);
    sqlite3_close(db);
    PQclear(PQexec(pg, "COMMIT"));
    PQfinish(pg);
    if (bad)
        return 1;
    printf("tc_pgcopy: copied");
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
        printf(" %s %lu%s", tables[t], rows[t], t + 1 < sizeof tables / sizeof *tables ? "," : "\n");
    return 0;
}
