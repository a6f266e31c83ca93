/* The statements of the cluster-wide limiters (cluster_pg.h).
 *
 * The reservation is one UPDATE ... RETURNING on the limiter's row (found by
 * its primary key: no scan). Its SET expressions read the row as locked, so
 * collectors reserving at once take turns on the row and each sees the
 * other's theoretical arrival time: together they never get more than the
 * GCRA allows. In the SET list, for the row c and the parameters
 *   $1 name, $2 permits wanted, $3 configured rate, $4 burst,
 *   $5 seconds ahead, $6 adaptive:
 *   R    the rate in force: the row's shared rate, plus 5% of $3 when
 *        adaptive and 10 s passed since the last 429 or increase; $3 when not
 *        adaptive; within [$3 / 100, $3]
 *   BASE greatest(tat, now())
 *   N    permits granted: none while paused, else as many of $2 as keep the
 *        last one within $5 seconds of now (GCRA: permit k goes at
 *        BASE + k / R - (burst - 1) / R)
 * The answer carries N (last_grant), the new tat, R, the pause and the
 * row's total, all relative to the statement's now(). */
#include "cluster_pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "util.h"

struct cluster_pg {
    char *uri;
    char *display;
    PGconn *conn;
};

#define R_EXPR                                                                                                    \
    "greatest($3::float8 / 100, CASE WHEN NOT $6::bool OR c.rate >= $3::float8 THEN $3::float8"                    \
    " WHEN now() - c.clean_since >= interval '10 seconds' THEN least($3::float8, c.rate + $3::float8 * 0.05)"     \
    " ELSE c.rate END)"
#define BASE_EXPR "greatest(c.tat, now())"
#define N_EXPR                                                                                                    \
    "(CASE WHEN c.pause_until > now() THEN 0 ELSE greatest(0, least($2::int, 1 + floor(("                         \
    "extract(epoch FROM now() - " BASE_EXPR ")::float8 + $5::float8 + ($4::float8 - 1) / " R_EXPR ") * " R_EXPR   \
    ")))::int END)"

static const char reserve_sql[] =
    "UPDATE cluster_limiters c SET"
    " rate = " R_EXPR ","
    " clean_since = CASE WHEN " R_EXPR " > c.rate THEN now() ELSE c.clean_since END,"
    " last_grant = " N_EXPR ","
    " tat = CASE WHEN " N_EXPR " > 0 THEN " BASE_EXPR " + make_interval(secs => " N_EXPR " / " R_EXPR
    ") ELSE c.tat END,"
    " taken = c.taken + " N_EXPR ","
    " updated_at = now()"
    " WHERE c.name = $1::text"
    " RETURNING c.last_grant, extract(epoch FROM c.tat - now())::float8, c.rate,"
    " greatest(0, extract(epoch FROM c.pause_until - now()))::float8, c.taken";

/* $1 name, $2 pause seconds, $3 configured rate, $4 burst, $5 halve, $6 adaptive.
 * The restart after the pause has no burst (tat moved past its end by the
 * burst's tolerance), like the local limiter's. */
static const char pause_sql[] =
    "UPDATE cluster_limiters c SET"
    " rate = CASE WHEN $5::bool AND $6::bool AND c.pause_until <= now()"
    "  THEN greatest($3::float8 / 100, least(c.rate, $3::float8) / 2) ELSE c.rate END,"
    " clean_since = CASE WHEN $5::bool THEN now() ELSE c.clean_since END,"
    " pause_until = greatest(c.pause_until, now() + make_interval(secs => $2::float8)),"
    " tat = greatest(c.tat, now() + make_interval(secs => $2::float8 + ($4::float8 - 1) / least(c.rate, $3::float8))),"
    " pauses = c.pauses + 1,"
    " updated_at = now()"
    " WHERE c.name = $1::text"
    " RETURNING 0, extract(epoch FROM c.tat - now())::float8, c.rate,"
    " greatest(0, extract(epoch FROM c.pause_until - now()))::float8, c.taken";

/* A limiter's row the first time any collector uses it. */
static const char ensure_sql[] =
    "INSERT INTO cluster_limiters (name, rate) VALUES ($1::text, $2::float8) ON CONFLICT (name) DO NOTHING";

cluster_pg *cluster_pg_new(const char *uri)
{
    cluster_pg *c = xcalloc(1, sizeof *c);
    c->uri = xstrdup(uri);
    c->display = store_pg_redact(uri);
    return c;
}

static void disconnect(cluster_pg *c)
{
    if (c->conn)
        PQfinish(c->conn);
    c->conn = NULL;
}

void cluster_pg_free(cluster_pg *c)
{
    if (!c)
        return;
    disconnect(c);
    free(c->uri);
    free(c->display);
    free(c);
}

int cluster_pg_connected(const cluster_pg *c)
{
    return c->conn && PQstatus(c->conn) == CONNECTION_OK;
}

static void conn_error(cluster_pg *c, PGresult *r, const char *what, char *err, size_t errlen)
{
    const char *msg = r ? PQresultErrorMessage(r) : c->conn ? PQerrorMessage(c->conn) : "out of memory";
    snprintf(err, errlen, "postgresql %s: cluster limiter %s: %s", c->display, what, msg && *msg ? msg : "failed");
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

int cluster_pg_connect(cluster_pg *c, char *err, size_t errlen)
{
    if (cluster_pg_connected(c))
        return 0;
    disconnect(c);
    /* Short timeouts: this connection only ever runs one small statement,
     * and while it is down nothing goes to a cluster-scoped API. */
    const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", "client_encoding", NULL};
    const char *const vals[] = {"3", "tokencollector-limiter", c->uri, "UTF8", NULL};
    c->conn = PQconnectdbParams(keys, vals, 1);
    if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
        conn_error(c, NULL, "connect", err, errlen);
        disconnect(c);
        return -1;
    }
    /* A lost commit of this row after a crash only gives back permits of
     * the last few milliseconds, fewer than a restart's downtime lets pass:
     * no need to wait for the WAL flush on every reservation. */
    PGresult *r = PQexec(c->conn, "SET synchronous_commit = off; SET statement_timeout = '5s'");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        conn_error(c, r, "session settings", err, errlen);
    PQclear(r);
    if (!ok) {
        disconnect(c);
        return -1;
    }
    return 0;
}

static int run(cluster_pg *c, const char *sql, int n, const char *const *vals, const char *what,
               cluster_pg_answer *out, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(c->conn, sql, n, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        conn_error(c, r, what, err, errlen);
        PQclear(r);
        if (!cluster_pg_connected(c))
            disconnect(c);
        return -1;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        return 1; /* no row yet */
    }
    out->granted = atoi(PQgetvalue(r, 0, 0));
    out->tat_s = strtod(PQgetvalue(r, 0, 1), NULL);
    out->rate = strtod(PQgetvalue(r, 0, 2), NULL);
    out->pause_s = strtod(PQgetvalue(r, 0, 3), NULL);
    out->taken = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
    PQclear(r);
    return 0;
}

static int ensure_row(cluster_pg *c, const cluster_pg_limit *l, char *err, size_t errlen)
{
    char rate[32];
    snprintf(rate, sizeof rate, "%.17g", l->rate);
    const char *vals[] = {l->name, rate};
    PGresult *r = PQexecParams(c->conn, ensure_sql, 2, NULL, vals, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) {
        conn_error(c, r, "create its row", err, errlen);
        if (!cluster_pg_connected(c))
            disconnect(c);
    }
    PQclear(r);
    return ok ? 0 : -1;
}

/* One statement; when the row does not exist yet, it is created and the
 * statement runs again. */
static int run_on_row(cluster_pg *c, const cluster_pg_limit *l, const char *sql, const char *const *vals,
                      const char *what, cluster_pg_answer *out, char *err, size_t errlen)
{
    if (!cluster_pg_connected(c)) {
        snprintf(err, errlen, "postgresql %s: cluster limiter %s: not connected", c->display, what);
        return -1;
    }
    memset(out, 0, sizeof *out);
    int rc = run(c, sql, 6, vals, what, out, err, errlen);
    if (rc == 1) {
        if (ensure_row(c, l, err, errlen) != 0)
            return -1;
        rc = run(c, sql, 6, vals, what, out, err, errlen);
        if (rc == 1) {
            snprintf(err, errlen, "postgresql %s: cluster limiter %s: the row of limiter %s vanished", c->display,
                     what, l->name);
            return -1;
        }
    }
    return rc;
}

int cluster_pg_reserve(cluster_pg *c, const cluster_pg_limit *l, int want, cluster_pg_answer *out, char *err,
                       size_t errlen)
{
    char n[16], rate[32], burst[32], ahead[32];
    snprintf(n, sizeof n, "%d", want);
    snprintf(rate, sizeof rate, "%.17g", l->rate);
    snprintf(burst, sizeof burst, "%.17g", l->burst);
    snprintf(ahead, sizeof ahead, "%.9f", l->ahead_s);
    const char *vals[] = {l->name, n, rate, burst, ahead, l->adaptive ? "t" : "f"};
    return run_on_row(c, l, reserve_sql, vals, "reservation", out, err, errlen);
}

int cluster_pg_pause(cluster_pg *c, const cluster_pg_limit *l, double pause_s, int halve, cluster_pg_answer *out,
                     char *err, size_t errlen)
{
    char pause[32], rate[32], burst[32];
    snprintf(pause, sizeof pause, "%.9f", pause_s < 0 ? 0 : pause_s);
    snprintf(rate, sizeof rate, "%.17g", l->rate);
    snprintf(burst, sizeof burst, "%.17g", l->burst);
    const char *vals[] = {l->name, pause, rate, burst, halve ? "t" : "f", l->adaptive ? "t" : "f"};
    return run_on_row(c, l, pause_sql, vals, "pause", out, err, errlen);
}
