/* Crash recovery on the PostgreSQL store (store.h, recover_claims): the
 * owner's lock is a session advisory lock keyed by the owner's name (in its
 * own key space, TC_OWNER_LOCK_SPACE), held as long as the collector's
 * session; PostgreSQL drops it when that session ends, however the
 * collector died. Touches only the claim columns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg_internal.h"

/* pg_try_advisory_lock(int, int)'s first key: 'tcID'. */
#define TC_OWNER_LOCK_SPACE "1952663876"

static PGresult *run(pg_store *s, const char *sql, int n, const char *const *vals, ExecStatusType want,
                     const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != want) {
        store_pg_format_error(s, r, what, err, errlen);
        PQclear(r);
        return NULL;
    }
    return r;
}

int store_pg_recover_claims(void *be, const char *owner, int64_t now, claim_recovery *out, char *err, size_t errlen)
{
    pg_store *s = be;
    memset(out, 0, sizeof *out);
    char now_s[24];
    snprintf(now_s, sizeof now_s, "%lld", (long long)now);
    const char *vals[2] = {owner, now_s};
    PGresult *r = run(s, "SELECT pg_try_advisory_lock(" TC_OWNER_LOCK_SPACE ", hashtext($1::text))", 1, vals,
                      PGRES_TUPLES_OK, "the collector's advisory lock", err, errlen);
    if (!r)
        return -1;
    int mine = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    out->owner_alive = !mine;
    if (mine) {
        r = run(s, "UPDATE tokens SET claimed_by = NULL, claim_id = NULL, lease_until = NULL"
                   " WHERE claimed_by = $1::text AND lease_until > to_timestamp($2::bigint)", 2, vals,
                PGRES_COMMAND_OK, "taking back claims", err, errlen);
        if (!r)
            return -1;
        out->taken_back = (size_t)strtoull(PQcmdTuples(r), NULL, 10);
        PQclear(r);
    }
    r = run(s, "SELECT count(*), coalesce(extract(epoch FROM min(lease_until))::bigint, 0),"
               " coalesce(extract(epoch FROM max(lease_until))::bigint, 0),"
               " (SELECT claimed_by FROM tokens WHERE lease_until > to_timestamp($2::bigint)"
               "  AND claimed_by IS DISTINCT FROM $1::text ORDER BY lease_until DESC LIMIT 1)"
               " FROM tokens WHERE lease_until > to_timestamp($2::bigint) AND claimed_by IS DISTINCT FROM $1::text",
            2, vals, PGRES_TUPLES_OK, "reading claims", err, errlen);
    if (!r)
        return -1;
    out->foreign = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    out->foreign_first_until = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    out->foreign_last_until = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    snprintf(out->foreign_owner, sizeof out->foreign_owner, "%s", PQgetisnull(r, 0, 3) ? "?" : PQgetvalue(r, 0, 3));
    PQclear(r);
    return 0;
}
