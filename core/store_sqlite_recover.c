/* Crash recovery on the SQLite store (store.h, recover_claims): the owner's
 * lock is an flock() on "DB.collector-<owner>.lock" beside the database,
 * held until the process ends (the kernel drops it when a collector dies,
 * kill -9 included), then one UPDATE that releases the owner's running
 * leases and one SELECT over the others'. Touches only the claim columns. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "store_sqlite_internal.h"

/* The lock file of OWNER beside the database at DB_PATH. */
static void lock_path(const char *db_path, const char *owner, char *out, size_t len)
{
    char safe[96];
    size_t n = 0;
    for (const char *p = owner; *p && n + 1 < sizeof safe; p++)
        safe[n++] = (strchr("/\\ \t\n", *p) || (unsigned char)*p < 0x20) ? '_' : *p;
    safe[n] = '\0';
    snprintf(out, len, "%s.collector-%s.lock", db_path, safe);
}

/* 1: the lock is ours now (kept open for the process's life); 0: another
 * live process holds it; -1: the file cannot be opened. */
static int take_owner_lock(const char *path, char *err, size_t errlen)
{
    static int held_fd = -1;
    static char held_path[4200];
    if (held_fd >= 0 && !strcmp(held_path, path))
        return 1; /* this process holds it already (a store opened again) */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "sqlite: cannot open the collector's lock file %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return 0;
    }
    if (held_fd >= 0)
        close(held_fd);
    held_fd = fd;
    snprintf(held_path, sizeof held_path, "%s", path);
    return 1;
}

static int fail(sqlite3 *db, const char *path, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "sqlite %s: %s: %s", path, what, sqlite3_errmsg(db));
    return -1;
}

int store_sqlite_recover_claims(void *be, const char *owner, int64_t now, claim_recovery *out, char *err,
                                size_t errlen)
{
    sqlite3 *db = store_sqlite_db(be);
    const char *path = store_sqlite_path(be);
    memset(out, 0, sizeof *out);
    char lp[4200];
    lock_path(path, owner, lp, sizeof lp);
    int mine = take_owner_lock(lp, err, errlen);
    if (mine < 0)
        return -1;
    out->owner_alive = !mine;
    sqlite3_stmt *st = NULL;
    if (mine) {
        if (sqlite3_prepare_v2(db,
                               "UPDATE tokens SET claimed_by = NULL, claim_id = NULL, lease_until = 0"
                               " WHERE claimed_by = ?1 AND lease_until > ?2", -1, &st, NULL) != SQLITE_OK)
            return fail(db, path, "taking back claims", err, errlen);
        sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return fail(db, path, "taking back claims", err, errlen);
        out->taken_back = (size_t)sqlite3_changes(db);
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*), min(lease_until), max(lease_until),"
                           " (SELECT claimed_by FROM tokens WHERE lease_until > ?2 AND claimed_by IS NOT ?1"
                           "  ORDER BY lease_until DESC LIMIT 1)"
                           " FROM tokens WHERE lease_until > ?2 AND claimed_by IS NOT ?1", -1, &st, NULL) != SQLITE_OK)
        return fail(db, path, "reading claims", err, errlen);
    sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return fail(db, path, "reading claims", err, errlen);
    }
    out->foreign = (size_t)sqlite3_column_int64(st, 0);
    out->foreign_first_until = sqlite3_column_int64(st, 1);
    out->foreign_last_until = sqlite3_column_int64(st, 2);
    const unsigned char *who = sqlite3_column_text(st, 3);
    snprintf(out->foreign_owner, sizeof out->foreign_owner, "%s", who ? (const char *)who : "?");
    sqlite3_finalize(st);
    return 0;
}
