/* Running the PostgreSQL store's statements on its connection: messages
 * (with the password redacted), which failures are worth another try, the
 * retry loop with its backoff and reconnect, preparing and executing the
 * prepared statements. Owns the session's health (s->prepared, resets); must
 * not know what any statement means or build a parameter. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_pg_internal.h"

/* ---- messages ---------------------------------------------------------------------- */

/* The URI up to its path with the user kept and ":password" dropped; returns
 * where the rest of URI starts. */
static const char *copy_authority(strbuf *b, const char *uri, const char *scheme)
{
    const char *auth = scheme + 3;
    const char *auth_end = auth + strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *q = auth; q < auth_end; q++)
        if (*q == '@')
            at = q;
    sb_append(b, uri, (size_t)(auth - uri));
    if (!at)
        return auth;
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    sb_append(b, auth, (size_t)((colon ? colon : at) - auth));
    return at;
}

/* Just past the password value at Q: 'quoted' (with \ escapes), else up to
 * the next separator of the URI's query or of a key=value string. */
static const char *value_end(const char *q, int in_uri)
{
    while (*q == ' ')
        q++;
    if (*q != '\'')
        return q + strcspn(q, in_uri ? "&#" : " \t");
    for (q++; *q && *q != '\''; q++)
        if (*q == '\\' && q[1])
            q++;
    return *q ? q + 1 : q;
}

/* "postgresql://user:secret@h/db?password=x" becomes
 * "postgresql://user@h/db?password=***"; key=value strings likewise. */
char *store_pg_redact(const char *uri)
{
    strbuf b = {0};
    const char *scheme = strstr(uri, "://");
    const char *p = scheme ? copy_authority(&b, uri, scheme) : uri;
    while (*p) {
        const char *hit = strstr(p, "password");
        if (!hit) {
            sb_appends(&b, p);
            break;
        }
        const char *q = hit + 8;
        while (*q == ' ')
            q++;
        int at_key_start = hit == uri || strchr("?& \t", hit[-1]) != NULL;
        if (*q != '=' || !at_key_start) { /* a word that only looks like the key */
            sb_append(&b, p, (size_t)(hit + 8 - p));
            p = hit + 8;
            continue;
        }
        q++;
        sb_append(&b, p, (size_t)(q - p));
        sb_appends(&b, "***");
        p = value_end(q, scheme != NULL);
    }
    if (!b.data)
        sb_append(&b, "", 0);
    return b.data;
}

/* libpq's messages span lines: one line, single spaces. */
static void one_line(char *s)
{
    char *w = s;
    int space = 0;
    for (const char *r = s; *r; r++) {
        if (*r == '\n' || *r == '\t' || *r == ' ' || *r == '\r') {
            space = w != s;
            continue;
        }
        if (space)
            *w++ = ' ';
        space = 0;
        *w++ = *r;
    }
    *w = '\0';
}

void store_pg_err_append(char *err, size_t errlen, const char *fmt, ...)
{
    size_t l = strlen(err);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + l, errlen > l ? errlen - l : 0, fmt, ap);
    va_end(ap);
}

void store_pg_format_error(pg_store *s, PGresult *r, const char *what, char *err, size_t errlen)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_HINT) : NULL;
    char msg[512];
    if (primary)
        snprintf(msg, sizeof msg, "%s", primary);
    else if (r && *PQresultErrorMessage(r))
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
    else
        snprintf(msg, sizeof msg, "%s", s->conn ? PQerrorMessage(s->conn) : "no connection");
    one_line(msg);
    snprintf(err, errlen, "store postgresql %s: %s: %s%s%s%s%s%s%s", s->display, what, state ? "SQLSTATE " : "",
             state ? state : "", state ? ": " : "", msg, detail ? " (" : "", detail ? detail : "",
             detail ? ")" : "");
    if (hint)
        store_pg_err_append(err, errlen, "; hint: %s", hint);
}

/* ---- which failures to retry -------------------------------------------------------- */

/* 1 when running the same statement again may succeed. */
static int retryable(pg_store *s, PGresult *r)
{
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK)
        return 1;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!state)
        return r == NULL;
    return !strncmp(state, "08", 2) || !strcmp(state, "40001") || !strcmp(state, "40P01") ||
           !strcmp(state, "57P01") || !strcmp(state, "57P02") || !strcmp(state, "57P03");
}

/* The connection is unusable after these even if libpq has not noticed yet. */
static int needs_reset(pg_store *s, PGresult *r)
{
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK)
        return 1;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return state && (!strncmp(state, "08", 2) || !strncmp(state, "57P0", 4));
}

/* Its prepared statements are gone with the old session. */
void store_pg_reset_session(pg_store *s)
{
    PQreset(s->conn);
    s->prepared = 0;
}

/* ---- the retry loop ------------------------------------------------------------------ */

int store_pg_prepare_all(pg_store *s, char *err, size_t errlen)
{
    for (int i = 0; i < PS_N; i++) {
        PGresult *r = PQprepare(s->conn, store_pg_ps_name[i], store_pg_ps_sql[i], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            store_pg_format_error(s, r, "prepare", err, errlen);
            PQclear(r);
            return -1;
        }
        PQclear(r);
    }
    s->prepared = 1;
    return 0;
}

/* One try of FN: 0 done, 1 failed but another try may succeed, -1 failed for
 * good; ERR says why. */
static int try_once(pg_store *s, pg_attempt fn, void *ctx, int need_prepared, char *err, size_t errlen)
{
    if (PQstatus(s->conn) != CONNECTION_OK)
        store_pg_reset_session(s);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        store_pg_format_error(s, NULL, "connect", err, errlen);
        return 1;
    }
    if (need_prepared && !s->prepared && store_pg_prepare_all(s, err, errlen) != 0)
        return PQstatus(s->conn) != CONNECTION_OK ? 1 : -1;
    PGresult *r = NULL;
    const char *what = "query";
    if (fn(s, ctx, &r, &what) == 0)
        return 0;
    store_pg_format_error(s, r, what, err, errlen);
    int retry = retryable(s, r);
    int reset = needs_reset(s, r);
    PQclear(r);
    if (retry && reset)
        store_pg_reset_session(s); /* libpq may not have noticed that the session is gone */
    return retry ? 1 : -1;
}

static uint64_t jitter_next(pg_store *s)
{
    uint64_t x = s->jitter;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return s->jitter = x;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int store_pg_run_with_retry(pg_store *s, pg_attempt fn, void *ctx, int need_prepared, char *err, size_t errlen)
{
    int delay = s->backoff_first_ms;
    for (int attempt = 1;; attempt++) {
        int rc = try_once(s, fn, ctx, need_prepared, err, errlen);
        if (rc <= 0)
            return rc;
        if (attempt >= s->max_attempts) {
            store_pg_err_append(err, errlen, " (gave up after %d attempts)", attempt);
            return -1;
        }
        /* Equal jitter: half the step plus a random half, so collectors that
         * lost the same server do not all come back at the same instant. */
        int wait = delay / 2 + (int)(jitter_next(s) % (uint64_t)(delay / 2 + 1));
        LOG_WARN("store", "%s; retrying in %d ms (attempt %d of %d)", err, wait, attempt + 1, s->max_attempts);
        sleep_ms(wait);
        delay = delay * 2 > s->backoff_max_ms ? s->backoff_max_ms : delay * 2;
    }
}

/* ---- one statement ------------------------------------------------------------------- */

int store_pg_exec_prepared(pg_store *s, int ps, int n, const char *const *vals, ExecStatusType want, PGresult **out)
{
    PGresult *r = PQexecPrepared(s->conn, store_pg_ps_name[ps], n, vals, NULL, NULL, 0);
    *out = r;
    return PQresultStatus(r) == want ? 0 : -1;
}

typedef struct simple_ctx {
    int ps;
    int n;
    const char *const *vals;
    ExecStatusType want;
    const char *what;
    PGresult *res; /* kept on success */
} simple_ctx;

static int simple_attempt(pg_store *s, void *vctx, PGresult **out, const char **what)
{
    simple_ctx *c = vctx;
    *what = c->what;
    PGresult *r;
    if (store_pg_exec_prepared(s, c->ps, c->n, c->vals, c->want, &r) != 0) {
        *out = r;
        return -1;
    }
    c->res = r;
    return 0;
}

PGresult *store_pg_run_simple(pg_store *s, int ps, int n, const char *const *vals, ExecStatusType want,
                              const char *what, char *err, size_t errlen)
{
    simple_ctx c = {ps, n, vals, want, what, NULL};
    if (store_pg_run_with_retry(s, simple_attempt, &c, 1, err, errlen) != 0)
        return NULL;
    return c.res;
}
