/* PostgreSQL store backend (libpq), selected by `store = postgresql://...`.
 *
 * Same logical schema and semantics as store_sqlite.c (the reference), with
 * these PostgreSQL specifics:
 *
 * - Times are timestamptz; the store API speaks unix seconds, converted with
 *   to_timestamp(). The clock is the collector's (claim_request.now, the
 *   commit's now), as with SQLite, so tests can move time.
 * - Every operation is ONE prepared statement, so one round trip and one
 *   transaction (autocommit): the commit of a batch is a single statement
 *   whose data-modifying CTEs write every table from arrays sent as text
 *   array literals (unnest). Its first CTE updates `tokens` with the claim
 *   fence; every other table is joined to that UPDATE's RETURNING set, so a
 *   token whose claim was taken over gets nothing written at all.
 * - An older observation never overwrites a newer one: token_prices keeps
 *   updated_at <= the new one, token_sources fetched_at, and the token's own
 *   fields (and its link sets) are only replaced when the commit's time is not
 *   older than last_refresh_attempt. The attempt counter and the claim are
 *   always updated.
 * - Keys are sorted and de-duplicated in C, so concurrent writers lock rows in
 *   the same order.
 * - Retryable errors (class 08 connection, 40001 serialization, 40P01
 *   deadlock, 57P01..57P03 shutdown, or a connection gone bad) reset the
 *   connection when needed and run the whole statement again, with backoff
 *   100 ms doubling to 5 s (jittered), 10 attempts (about 10-20 s in all);
 *   then the call fails and the batch stays claimed until its lease ends (it
 *   is due again after that, never marked done without its data). Other
 *   errors (constraints, data) fail at once. Text that is not valid UTF-8
 *   is stored with U+FFFD in place of the bad bytes rather than failing the
 *   batch for ever.
 * - Messages name the store as "postgresql URI" with any password removed;
 *   the password itself comes from the URI, ${PGPASSWORD} or ~/.pgpass
 *   (libpq's own rules) and is never printed.
 *
 * Lost replies: when the connection drops while a statement is in flight,
 * the server may or may not have committed it. A claim retried takes back
 * the tokens its lost attempt claimed (same claim id); a commit retried first
 * counts the batch's tokens that its lost attempt wrote (claim ended at this
 * commit's time): they are reported written, the fence keeps them from
 * being written twice. */
#include <ctype.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_pg_schema.h"
#include "util.h"

/* ---- statements ------------------------------------------------------------ */

enum { PS_CLAIM_PENDING, PS_CLAIM_DUE, PS_CLAIM_ADDRESSES, PS_CLAIM_MINE, PS_RELEASE, PS_IMPORT, PS_COMMIT,
       PS_COMMIT_DONE, PS_LOAD_SOURCES, PS_SCAN, PS_COUNT, PS_N };

static const char *const ps_name[PS_N] = {"tc_claim_pending", "tc_claim_due",    "tc_claim_addresses",
                                         "tc_claim_mine",    "tc_release",      "tc_import",
                                         "tc_commit",        "tc_commit_done",  "tc_load_sources",
                                         "tc_scan",          "tc_count"};

/* Claim: $1 owner, $2 claim id, $3 now (unix s), $4 lease (s), $5 max.
 * Tokens whose lease ran out are free to take, whoever held them. SKIP LOCKED:
 * two collectors claiming at once each get other tokens, neither waits. */
#define CLAIM_SQL(COND)                                                                                      \
    "WITH c AS (SELECT address FROM tokens WHERE " COND                                                      \
    " AND (lease_until IS NULL OR lease_until <= to_timestamp($3::bigint))"                                  \
    " ORDER BY next_refresh_at, address LIMIT $5::bigint FOR UPDATE SKIP LOCKED)"                            \
    " UPDATE tokens t SET claimed_by = $1::text, claim_id = $2::text,"                                       \
    " lease_until = to_timestamp($3::bigint + $4::bigint) FROM c WHERE t.address = c.address"                \
    " RETURNING t.address, t.outstanding_sources, t.outstanding_attempts"

/* The commit's time, sent as timestamptz text (utc_text): a plain parameter,
 * not a function call per use. */
#define NOW "$2::timestamptz"
/* The commit's observation is not older than what the token holds. */
#define FRESH "(t.last_refresh_attempt IS NULL OR t.last_refresh_attempt <= " NOW ")"

/* Commit: $1 claim id, $2 now (unix s);
 * tokens $3..$22: address, status, name, symbol, decimals, image_url,
 *   description, supply, refresh_metadata, refresh_interval_s, price_usd,
 *   market_cap, fdv, liquidity_usd, volume_24h, change_24h, next_refresh_at
 *   (unix s, 0: now + interval), outstanding_sources, outstanding_attempts,
 *   priority_score (NULL: keep);
 * socials $23..$25: address, type, url; websites $26..$28: address, label, url;
 * sources found $29..$31: address, source, data; missing $32..$33: address, source.
 * Returns the number of tokens written (the others were fenced). */
static const char commit_sql[] =
    "WITH u AS MATERIALIZED (SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::int[],"
    " $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::float8[], $14::float8[],"
    " $15::float8[], $16::float8[], $17::float8[], $18::float8[], $19::bigint[], $20::text[], $21::int[],"
    " $22::float8[]) AS u(address, status, name, symbol, decimals, image_url, description, supply, meta,"
    " interval_s, price_usd, market_cap, fdv, liquidity_usd, volume_24h, change_24h, next_at, outstanding,"
    " out_attempts, priority)),"
    /* A failed refresh does not demote a token that has data; unknown fields
     * keep the last known value. */
    " upd AS (UPDATE tokens t SET"
    " status = CASE WHEN NOT " FRESH " OR (u.status = 'failed' AND t.status IN ('enriched','no_data'))"
    "  THEN t.status ELSE u.status END,"
    " name = CASE WHEN " FRESH " THEN COALESCE(u.name, t.name) ELSE t.name END,"
    " symbol = CASE WHEN " FRESH " THEN COALESCE(u.symbol, t.symbol) ELSE t.symbol END,"
    " decimals = CASE WHEN " FRESH " THEN COALESCE(u.decimals, t.decimals) ELSE t.decimals END,"
    " image_url = CASE WHEN " FRESH " THEN COALESCE(u.image_url, t.image_url) ELSE t.image_url END,"
    " description = CASE WHEN " FRESH " THEN COALESCE(u.description, t.description) ELSE t.description END,"
    " supply = CASE WHEN " FRESH " THEN COALESCE(u.supply, t.supply) ELSE t.supply END,"
    " enrichment_attempts = t.enrichment_attempts + 1,"
    " last_refresh_attempt = GREATEST(t.last_refresh_attempt, " NOW "),"
    " last_refresh_success = CASE WHEN " FRESH " AND u.status IN ('enriched','no_data') THEN " NOW
    "  ELSE t.last_refresh_success END,"
    " last_price_change = CASE WHEN " FRESH " AND u.price_usd IS NOT NULL"
    "  AND u.price_usd IS DISTINCT FROM p.price_usd AND (p.updated_at IS NULL OR p.updated_at <= " NOW ")"
    "  THEN " NOW " ELSE t.last_price_change END,"
    " refresh_metadata = CASE WHEN " FRESH " THEN u.meta::jsonb ELSE t.refresh_metadata END,"
    " refresh_interval_seconds = CASE WHEN " FRESH " AND u.interval_s > 0 THEN u.interval_s"
    "  ELSE t.refresh_interval_seconds END,"
    /* store_next_refresh_at(): the engine's time when it gave one, else
     * now + the (new or stored) interval. */
    " next_refresh_at = CASE WHEN NOT " FRESH " THEN t.next_refresh_at"
    "  WHEN u.next_at > 0 THEN to_timestamp(u.next_at)"
    "  ELSE " NOW " + make_interval(secs =>"
    "  CASE WHEN u.interval_s > 0 THEN u.interval_s ELSE t.refresh_interval_seconds END) END,"
    " outstanding_sources = CASE WHEN " FRESH " THEN u.outstanding ELSE t.outstanding_sources END,"
    " outstanding_attempts = CASE WHEN " FRESH " THEN u.out_attempts ELSE t.outstanding_attempts END,"
    " priority_score = CASE WHEN " FRESH " THEN COALESCE(u.priority, t.priority_score) ELSE t.priority_score END,"
    " claimed_by = NULL, claim_id = NULL, lease_until = NULL"
    " FROM u LEFT JOIN token_prices p ON p.address = u.address"
    " WHERE t.address = u.address AND t.claim_id IS NOT DISTINCT FROM $1::text"
    " RETURNING t.address, t.last_refresh_attempt = " NOW " AND u.status = 'enriched' AS relink),"
    /* The newest observation wins whatever the commit order. */
    " pr AS (INSERT INTO token_prices AS tp (address, price_usd, market_cap, fdv, liquidity_usd, volume_24h,"
    " change_24h, updated_at) SELECT u.address, u.price_usd, u.market_cap, u.fdv, u.liquidity_usd,"
    " u.volume_24h, u.change_24h, " NOW " FROM u JOIN upd ON upd.address = u.address"
    " WHERE num_nonnulls(u.price_usd, u.market_cap, u.fdv, u.liquidity_usd, u.volume_24h, u.change_24h) > 0"
    " ORDER BY u.address"
    " ON CONFLICT (address) DO UPDATE SET price_usd = COALESCE(EXCLUDED.price_usd, tp.price_usd),"
    " market_cap = COALESCE(EXCLUDED.market_cap, tp.market_cap), fdv = COALESCE(EXCLUDED.fdv, tp.fdv),"
    " liquidity_usd = COALESCE(EXCLUDED.liquidity_usd, tp.liquidity_usd),"
    " volume_24h = COALESCE(EXCLUDED.volume_24h, tp.volume_24h),"
    " change_24h = COALESCE(EXCLUDED.change_24h, tp.change_24h), updated_at = EXCLUDED.updated_at"
    " WHERE tp.updated_at <= EXCLUDED.updated_at),"
    /* Link sets of enriched tokens are replaced whole: what is not in the new
     * set goes, what is new comes; both in this one statement. */
    " repl AS MATERIALIZED (SELECT address FROM upd WHERE relink),"
    " ls AS MATERIALIZED (SELECT * FROM unnest($23::text[], $24::text[], $25::text[]) AS l(address, type, url)),"
    " lw AS MATERIALIZED (SELECT * FROM unnest($26::text[], $27::text[], $28::text[]) AS l(address, label, url)),"
    " sd AS (DELETE FROM token_socials s USING repl WHERE s.address = repl.address AND NOT EXISTS"
    " (SELECT 1 FROM ls WHERE ls.address = s.address AND ls.type = s.type AND ls.url = s.url)),"
    " si AS (INSERT INTO token_socials (address, type, url) SELECT ls.address, ls.type, ls.url FROM ls"
    " JOIN repl ON repl.address = ls.address ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING),"
    " wd AS (DELETE FROM token_websites w USING repl WHERE w.address = repl.address AND NOT EXISTS"
    " (SELECT 1 FROM lw WHERE lw.address = w.address AND lw.url = w.url)),"
    " wi AS (INSERT INTO token_websites AS tw (address, label, url) SELECT lw.address, lw.label, lw.url"
    " FROM lw JOIN repl ON repl.address = lw.address ORDER BY 1, 3"
    " ON CONFLICT (address, url) DO UPDATE SET label = EXCLUDED.label"
    " WHERE tw.label IS DISTINCT FROM EXCLUDED.label),"
    /* Each source's normalized record: FOUND upserts it (never over a row
     * fetched later), MISSING deletes it, FAILED / SKIPPED / KEPT leave it. */
    " sf AS MATERIALIZED (SELECT * FROM unnest($29::text[], $30::text[], $31::text[]) AS f(address, source, data)),"
    " sm AS MATERIALIZED (SELECT * FROM unnest($32::text[], $33::text[]) AS m(address, source)),"
    " fi AS (INSERT INTO token_sources AS ts (address, source, data, fetched_at)"
    " SELECT sf.address, sf.source, sf.data::jsonb, " NOW " FROM sf JOIN upd ON upd.address = sf.address"
    " ORDER BY 1, 2 ON CONFLICT (address, source) DO UPDATE SET data = EXCLUDED.data,"
    " fetched_at = EXCLUDED.fetched_at WHERE ts.fetched_at <= EXCLUDED.fetched_at),"
    " md AS (DELETE FROM token_sources ts USING sm, upd WHERE upd.address = sm.address"
    " AND ts.address = sm.address AND ts.source = sm.source AND ts.fetched_at <= " NOW ")"
    " SELECT count(*) FROM upd";

#define COMMIT_NPARAMS 33

static const char *const ps_sql[PS_N] = {
    [PS_CLAIM_PENDING] = CLAIM_SQL("(status = 'pending' OR (outstanding_sources IS NOT NULL"
                                   " AND next_refresh_at <= to_timestamp($3::bigint)))"),
    [PS_CLAIM_DUE] = CLAIM_SQL("next_refresh_at <= to_timestamp($3::bigint)"),
    /* The daemon's choice ($5: addresses), whatever their status or due
     * time, when their lease has ended; with the stored price. */
    [PS_CLAIM_ADDRESSES] =
        "WITH c AS (SELECT t.address FROM tokens t WHERE t.address = ANY($5::text[])"
        " AND (t.lease_until IS NULL OR t.lease_until <= to_timestamp($3::bigint))"
        " AND ($6::bigint = 0 OR t.status = 'pending' OR t.next_refresh_at <= to_timestamp($6::bigint))"
        " ORDER BY t.address FOR UPDATE SKIP LOCKED)"
        " UPDATE tokens t SET claimed_by = $1::text, claim_id = $2::text,"
        " lease_until = to_timestamp($3::bigint + $4::bigint) FROM c WHERE t.address = c.address"
        " RETURNING t.address, t.outstanding_sources, t.outstanding_attempts,"
        " (SELECT p.price_usd FROM token_prices p WHERE p.address = t.address)",
    /* After a lost reply: what that attempt of this claim already took. */
    [PS_CLAIM_MINE] = "SELECT t.address, t.outstanding_sources, t.outstanding_attempts, p.price_usd FROM tokens t"
                      " LEFT JOIN token_prices p ON p.address = t.address WHERE t.claim_id = $1::text",
    [PS_RELEASE] = "UPDATE tokens SET claimed_by = NULL, claim_id = NULL, lease_until = NULL"
                   " WHERE address = ANY($1::text[]) AND claim_id = $2::text",
    [PS_IMPORT] = "INSERT INTO tokens (address) SELECT a FROM unnest($1::text[]) AS a ORDER BY a"
                  " ON CONFLICT (address) DO NOTHING",
    [PS_COMMIT] = commit_sql,
    /* Before a commit is retried: its tokens that an earlier attempt wrote
     * (the reply was lost): claim ended at exactly this commit's time. */
    [PS_COMMIT_DONE] = "SELECT count(*) FROM tokens WHERE address = ANY($1::text[]) AND claim_id IS NULL"
                       " AND last_refresh_attempt = $2::timestamptz",
    [PS_LOAD_SOURCES] = "SELECT address, source, data::text FROM token_sources WHERE address = ANY($1::text[])"
                        " ORDER BY address, source",
    /* One page of the scan: $1 since (unix s), $2 the last address of the
     * previous page ('' first), $3 the page size. */
    [PS_SCAN] = "SELECT t.address, t.status, extract(epoch FROM t.next_refresh_at)::bigint,"
                " t.refresh_interval_seconds, t.in_contest::int, extract(epoch FROM t.created_at)::bigint,"
                " p.price_usd, p.market_cap, p.volume_24h, p.change_24h"
                " FROM tokens t LEFT JOIN token_prices p ON p.address = t.address"
                " WHERE t.created_at >= to_timestamp($1::bigint) AND t.address > $2::text"
                " ORDER BY t.address LIMIT $3::int",
    [PS_COUNT] = "SELECT status, count(*) FROM tokens GROUP BY status",
};

/* ---- text array literals ------------------------------------------------------ */

/* "{…}" literal with every element double-quoted (backslash before " and \)
 * or an unquoted NULL: correct for any text, commas, braces and UTF-8. */
typedef struct pgarr {
    strbuf b;
    size_t n;
} pgarr;

static void arr_reset(pgarr *a)
{
    a->b.len = 0;
    a->n = 0;
    sb_append(&a->b, "{", 1);
}

static void arr_sep(pgarr *a)
{
    if (a->n++)
        sb_append(&a->b, ",", 1);
}

/* Length of the valid UTF-8 sequence at S (1..4), or 0 when S does not start
 * one (stray continuation byte, overlong form, surrogate, above U+10FFFF,
 * cut short). */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if ((c & 0xE0) == 0xC0)
        n = 2, min = 0x80, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
        n = 3, min = 0x800, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
        n = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* One element. PostgreSQL refuses text that is not valid UTF-8 (SQLSTATE
 * 22021, a permanent error that would fail the whole batch every time): an
 * invalid byte from an upstream is stored as U+FFFD instead. */
static void arr_str(pgarr *a, const char *str)
{
    arr_sep(a);
    if (!str) {
        sb_append(&a->b, "NULL", 4);
        return;
    }
    const unsigned char *s = (const unsigned char *)str;
    sb_append(&a->b, "\"", 1);
    while (*s) {
        const unsigned char *run = s;
        while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
            s++;
        sb_append(&a->b, (const char *)run, (size_t)(s - run));
        if (!*s)
            break;
        if (*s == '"' || *s == '\\') {
            char esc[2] = {'\\', (char)*s++};
            sb_append(&a->b, esc, 2);
        } else {
            size_t n = utf8_seq(s);
            if (n) {
                sb_append(&a->b, (const char *)s, n);
                s += n;
            } else {
                sb_append(&a->b, "\xEF\xBF\xBD", 3);
                s++;
            }
        }
    }
    sb_append(&a->b, "\"", 1);
}

static void arr_num(pgarr *a, int has, double d)
{
    arr_sep(a);
    if (!has || !isfinite(d)) { /* NaN/inf: unknown, as in the JSON record */
        sb_append(&a->b, "NULL", 4);
        return;
    }
    /* 17 significant digits always read back as the same double (float8in
     * is exact), and cost one conversion instead of format_double's search
     * for the shortest form. The stored value is identical. */
    char num[32];
    int len = snprintf(num, sizeof num, "%.17g", d);
    sb_append(&a->b, num, (size_t)len);
}

static void arr_int(pgarr *a, int has, long long v)
{
    arr_sep(a);
    if (!has) {
        sb_append(&a->b, "NULL", 4);
        return;
    }
    char num[24];
    int len = snprintf(num, sizeof num, "%lld", v);
    sb_append(&a->b, num, (size_t)len);
}

static const char *arr_end(pgarr *a)
{
    sb_append(&a->b, "}", 1);
    return a->b.data;
}

/* ---- connection ---------------------------------------------------------------- */

enum { A_ADDR, A_STATUS, A_NAME, A_SYMBOL, A_DECIMALS, A_IMAGE, A_DESC, A_SUPPLY, A_META, A_INTERVAL,
       A_PRICE, A_MCAP, A_FDV, A_LIQ, A_VOL, A_CHG, A_NEXT_AT, A_OUTSTANDING, A_OUT_ATTEMPTS, A_PRIORITY,
       A_S_ADDR, A_S_TYPE, A_S_URL, A_W_ADDR, A_W_LABEL, A_W_URL,
       A_F_ADDR, A_F_SOURCE, A_F_DATA, A_M_ADDR, A_M_SOURCE, A_N };

typedef struct pg_store {
    PGconn *conn;
    char *uri;     /* as given: libpq needs it, it may hold a password */
    char *display; /* the URI with any password removed: for messages */
    int prepared;
    int max_attempts;
    int backoff_first_ms, backoff_max_ms;
    uint64_t jitter; /* xorshift state */
    pgarr arr[A_N]; /* reused by every commit */
} pg_store;

/* The URI without its password: "postgresql://user:secret@h/db?password=x"
 * becomes "postgresql://user@h/db?password=***". Also for key=value strings. */
char *store_pg_redact(const char *uri)
{
    strbuf b = {0};
    const char *p = uri;
    const char *scheme = strstr(uri, "://");
    if (scheme) {
        const char *auth = scheme + 3;
        const char *auth_end = auth + strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *q = auth; q < auth_end; q++)
            if (*q == '@')
                at = q;
        sb_append(&b, uri, (size_t)(auth - uri));
        if (at) {
            const char *colon = memchr(auth, ':', (size_t)(at - auth));
            sb_append(&b, auth, (size_t)((colon ? colon : at) - auth));
            p = at;
        } else
            p = auth;
    }
    /* password=VALUE anywhere after that (query parameter or key=value). */
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
        if (*q != '=' || !at_key_start) {
            sb_append(&b, p, (size_t)(hit + 8 - p));
            p = hit + 8;
            continue;
        }
        q++;
        sb_append(&b, p, (size_t)(q - p));
        sb_appends(&b, "***");
        while (*q == ' ')
            q++;
        if (*q == '\'') {
            for (q++; *q && *q != '\''; q++)
                if (*q == '\\' && q[1])
                    q++;
            if (*q)
                q++;
        } else
            q += strcspn(q, scheme ? "&#" : " \t");
        p = q;
    }
    if (!b.data)
        sb_append(&b, "", 0);
    return b.data;
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

/* "store postgresql URI: WHAT: SQLSTATE xxxxx: message (detail; hint)". */
static void format_error(pg_store *s, PGresult *r, const char *what, char *err, size_t errlen)
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
    if (hint) {
        size_t l = strlen(err);
        snprintf(err + l, errlen > l ? errlen - l : 0, "; hint: %s", hint);
    }
}

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

static PGconn *pg_connect(const char *uri)
{
    /* Later keywords win: defaults before the URI, what we rely on after. */
    const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", "client_encoding",
                                NULL};
    const char *const vals[] = {"10", "tokencollector", uri, "UTF8", NULL};
    return PQconnectdbParams(keys, vals, 1);
}

static int prepare_all(pg_store *s, char *err, size_t errlen)
{
    for (int i = 0; i < PS_N; i++) {
        PGresult *r = PQprepare(s->conn, ps_name[i], ps_sql[i], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            format_error(s, r, "prepare", err, errlen);
            PQclear(r);
            return -1;
        }
        PQclear(r);
    }
    s->prepared = 1;
    return 0;
}

/* ---- retry loop ---------------------------------------------------------------- */

/* One attempt of an operation on s->conn. Returns 0, or -1 with *res_out (may
 * be NULL) describing the failure for classification. */
typedef int (*pg_attempt)(pg_store *s, void *ctx, PGresult **res_out, const char **what);

static int run_with_retry(pg_store *s, pg_attempt fn, void *ctx, int need_prepared, char *err, size_t errlen)
{
    int delay = s->backoff_first_ms;
    for (int attempt = 1;; attempt++) {
        int retry = 1;
        if (PQstatus(s->conn) != CONNECTION_OK) {
            PQreset(s->conn);
            s->prepared = 0;
        }
        if (PQstatus(s->conn) != CONNECTION_OK) {
            format_error(s, NULL, "connect", err, errlen);
        } else if (need_prepared && !s->prepared && prepare_all(s, err, errlen) != 0) {
            retry = PQstatus(s->conn) != CONNECTION_OK;
        } else {
            PGresult *r = NULL;
            const char *what = "query";
            if (fn(s, ctx, &r, &what) == 0)
                return 0;
            format_error(s, r, what, err, errlen);
            retry = retryable(s, r);
            int reset = needs_reset(s, r);
            PQclear(r);
            if (!retry)
                return -1;
            if (reset) {
                /* Force a fresh session before the next attempt. */
                PQreset(s->conn);
                s->prepared = 0;
            }
        }
        if (!retry)
            return -1;
        if (attempt >= s->max_attempts) {
            size_t l = strlen(err);
            snprintf(err + l, errlen > l ? errlen - l : 0, " (gave up after %d attempts)", attempt);
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

static int exec_prepared(pg_store *s, int ps, int n, const char *const *vals, ExecStatusType want,
                         PGresult **out)
{
    PGresult *r = PQexecPrepared(s->conn, ps_name[ps], n, vals, NULL, NULL, 0);
    *out = r;
    return PQresultStatus(r) == want ? 0 : -1;
}

/* ---- migrations ------------------------------------------------------------------ */

typedef struct migrate_ctx {
    int from, to;
} migrate_ctx;

static int exec_cmd(pg_store *s, const char *sql, PGresult **out)
{
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(r);
        return 0;
    }
    *out = r;
    return -1;
}

static int migrate_attempt(pg_store *s, void *vctx, PGresult **out, const char **what)
{
    migrate_ctx *m = vctx;
    *what = "migrate";
    if (exec_cmd(s, "BEGIN", out) || exec_cmd(s, "SET LOCAL client_min_messages = warning", out) ||
        exec_cmd(s, "SELECT pg_advisory_xact_lock(hashtext('tokencollector schema migration'))", out) ||
        exec_cmd(s, pg_migration_prelude, out))
        goto fail;
    PGresult *r = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        *out = r;
        goto fail;
    }
    m->from = m->to = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    for (int i = 0; i < PG_SCHEMA_VERSION; i++) {
        const pg_migration *mg = &pg_migrations[i];
        if (mg->version <= m->from)
            continue;
        static char what_buf[96];
        snprintf(what_buf, sizeof what_buf, "migration %d (%s)", mg->version, mg->name);
        *what = what_buf;
        if (exec_cmd(s, mg->sql, out))
            goto fail;
        char ver[16];
        snprintf(ver, sizeof ver, "%d", mg->version);
        const char *params[2] = {ver, mg->name};
        r = PQexecParams(s->conn, "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2::text)", 2,
                         NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            *out = r;
            goto fail;
        }
        PQclear(r);
        m->to = mg->version;
    }
    *what = "migrate";
    if (exec_cmd(s, "COMMIT", out))
        goto fail;
    return 0;
fail:
    if (PQstatus(s->conn) == CONNECTION_OK)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    return -1;
}

static int pg_migrate(pg_store *s, int *from, int *to, char *err, size_t errlen)
{
    migrate_ctx m = {0, 0};
    if (run_with_retry(s, migrate_attempt, &m, 0, err, errlen) != 0)
        return -1;
    if (m.from > PG_SCHEMA_VERSION)
        LOG_WARN("store", "postgresql %s: schema version %d is newer than this build knows (%d)", s->display,
                 m.from, PG_SCHEMA_VERSION);
    else if (m.to > m.from)
        LOG_INFO("store", "postgresql %s: schema migrated from version %d to %d", s->display, m.from, m.to);
    if (from)
        *from = m.from;
    if (to)
        *to = m.to;
    return 0;
}

/* ---- open / close ------------------------------------------------------------------ */

static void pg_free(pg_store *s)
{
    if (!s)
        return;
    if (s->conn)
        PQfinish(s->conn);
    for (int i = 0; i < A_N; i++)
        sb_free(&s->arr[i].b);
    free(s->uri);
    free(s->display);
    free(s);
}

static pg_store *pg_open(const char *uri, char *err, size_t errlen)
{
    pg_store *s = xcalloc(1, sizeof *s);
    s->uri = xstrdup(uri);
    s->display = store_pg_redact(uri);
    /* 10 attempts, steps 0.1 0.2 0.4 0.8 1.6 3.2 5 5 5 s (jittered to 50-100%):
     * a server restart or a fail-over of up to 10-20 s is ridden out. */
    s->max_attempts = 10;
    s->backoff_first_ms = 100;
    s->backoff_max_ms = 5000;
    s->jitter = ((uint64_t)getpid() << 32) ^ (uint64_t)now_mono_ns() ^ 0x9E3779B97F4A7C15ULL;
    if (!s->jitter)
        s->jitter = 1;
    s->conn = pg_connect(uri);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        format_error(s, NULL, "connect", err, errlen);
        pg_free(s);
        return NULL;
    }
    return s;
}

void *store_pg_open(const char *uri, char *err, size_t errlen)
{
    pg_store *s = pg_open(uri, err, errlen);
    if (!s)
        return NULL;
    if (pg_migrate(s, NULL, NULL, err, errlen) != 0 || prepare_all(s, err, errlen) != 0) {
        pg_free(s);
        return NULL;
    }
    return s;
}

int store_pg_migrate(const char *uri, int *from, int *to, char *err, size_t errlen)
{
    pg_store *s = pg_open(uri, err, errlen);
    if (!s)
        return -1;
    int rc = pg_migrate(s, from, to, err, errlen);
    pg_free(s);
    return rc;
}

static void pg_close(void *be) { pg_free(be); }

/* ---- operations ------------------------------------------------------------------- */

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, de-duplicated copy of the pointers (not the strings). */
static const char **sorted_unique(const char *const *addrs, size_t n, size_t *out_n)
{
    const char **v = xmalloc((n ? n : 1) * sizeof *v);
    memcpy(v, addrs, n * sizeof *v);
    qsort(v, n, sizeof *v, compare_strings);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(v[k - 1], v[i]))
            v[k++] = v[i];
    *out_n = k;
    return v;
}

static char *addr_array(const char *const *addrs, size_t n)
{
    pgarr a = {0};
    arr_reset(&a);
    for (size_t i = 0; i < n; i++)
        arr_str(&a, addrs[i]);
    arr_end(&a);
    return a.b.data;
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
    if (exec_prepared(s, c->ps, c->n, c->vals, c->want, &r) != 0) {
        *out = r;
        return -1;
    }
    c->res = r;
    return 0;
}

static PGresult *run_simple(pg_store *s, int ps, int n, const char *const *vals, ExecStatusType want,
                            const char *what, char *err, size_t errlen)
{
    simple_ctx c = {ps, n, vals, want, what, NULL};
    if (run_with_retry(s, simple_attempt, &c, 1, err, errlen) != 0)
        return NULL;
    return c.res;
}

static int pg_import(void *be, const char *const *addrs, size_t n, size_t *inserted, char *err, size_t errlen)
{
    pg_store *s = be;
    *inserted = 0;
    if (n == 0)
        return 0;
    size_t k;
    const char **v = sorted_unique(addrs, n, &k);
    char *arr = addr_array(v, k);
    free(v);
    const char *vals[1] = {arr};
    PGresult *r = run_simple(s, PS_IMPORT, 1, vals, PGRES_COMMAND_OK, "import", err, errlen);
    free(arr);
    if (!r)
        return -1;
    *inserted = (size_t)strtoull(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

static int compare_claimed(const void *a, const void *b)
{
    return strcmp(((const claimed_token *)a)->address, ((const claimed_token *)b)->address);
}

typedef struct claim_ctx {
    const claim_request *rq;
    int ps; /* PS_CLAIM_PENDING, _DUE or _ADDRESSES */
    int nvals;
    const char *const *vals;
    int attempts;
    PGresult *res;
} claim_ctx;

static int claim_attempt(pg_store *s, void *vctx, PGresult **out, const char **what)
{
    claim_ctx *c = vctx;
    *what = "claim";
    PGresult *r;
    if (c->attempts++ > 0) {
        /* The previous attempt may have committed before its reply was lost:
         * its tokens carry this claim id, unique to this claim. Take them
         * rather than leave them stranded until the lease ends. */
        const char *id[1] = {c->rq->claim_id};
        if (exec_prepared(s, PS_CLAIM_MINE, 1, id, PGRES_TUPLES_OK, &r) != 0) {
            *out = r;
            return -1;
        }
        if (PQntuples(r) > 0) {
            LOG_INFO("store", "postgresql %s: claim %s had been taken before the connection was lost (%d tokens)",
                     s->display, c->rq->claim_id, PQntuples(r));
            c->res = r;
            return 0;
        }
        PQclear(r);
    }
    if (exec_prepared(s, c->ps, c->nvals, c->vals, PGRES_TUPLES_OK, &r) != 0) {
        *out = r;
        return -1;
    }
    c->res = r;
    return 0;
}

/* Runs a claim statement; *OUT in the order of RETURNING. WITH_PRICE: the
 * fourth column is the stored price (else NAN). */
static int run_claim(pg_store *s, const claim_request *rq, int ps, const char *addr_array, claimed_token **out,
                     size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    char now[24], lease[24], max[24], due_before[24];
    snprintf(due_before, sizeof due_before, "%lld", (long long)rq->due_before);
    snprintf(now, sizeof now, "%lld", (long long)rq->now);
    snprintf(lease, sizeof lease, "%lld", (long long)rq->lease_s);
    snprintf(max, sizeof max, "%zu", rq->max);
    const char *vals[6] = {rq->owner ? rq->owner : "", rq->claim_id, now, lease,
                           ps == PS_CLAIM_ADDRESSES ? addr_array : max, due_before};
    claim_ctx c = {rq, ps, ps == PS_CLAIM_ADDRESSES ? 6 : 5, vals, 0, NULL};
    if (run_with_retry(s, claim_attempt, &c, 1, err, errlen) != 0)
        return -1;
    PGresult *r = c.res;
    size_t count = (size_t)PQntuples(r);
    int with_price = ps == PS_CLAIM_ADDRESSES && PQnfields(r) > 3;
    claimed_token *list = xcalloc(count ? count : 1, sizeof *list);
    for (size_t i = 0; i < count; i++) {
        list[i].address = xstrdup(PQgetvalue(r, (int)i, 0));
        list[i].outstanding = PQgetisnull(r, (int)i, 1) ? NULL : xstrdup(PQgetvalue(r, (int)i, 1));
        list[i].outstanding_attempts = atoi(PQgetvalue(r, (int)i, 2));
        list[i].price_usd =
            with_price && !PQgetisnull(r, (int)i, 3) ? strtod(PQgetvalue(r, (int)i, 3), NULL) : NAN;
    }
    PQclear(r);
    *out = list;
    *n = count;
    return 0;
}

static int pg_claim(void *be, const claim_request *rq, claimed_token **out, size_t *n, char *err, size_t errlen)
{
    pg_store *s = be;
    if (run_claim(s, rq, rq->due ? PS_CLAIM_DUE : PS_CLAIM_PENDING, NULL, out, n, err, errlen) != 0)
        return -1;
    /* RETURNING gives no order; batches are easier to follow sorted (the
     * SQLite backend sorts the same way). */
    qsort(*out, *n, sizeof **out, compare_claimed);
    return 0;
}

static int pg_claim_addresses(void *be, const claim_request *rq, const char *const *addrs, size_t n,
                              claimed_token **out, size_t *n_out, char *err, size_t errlen)
{
    pg_store *s = be;
    *out = NULL;
    *n_out = 0;
    if (n == 0) {
        *out = xcalloc(1, sizeof **out);
        return 0;
    }
    size_t k;
    const char **v = sorted_unique(addrs, n, &k);
    char *arr = addr_array(v, k);
    free(v);
    claimed_token *got;
    size_t m;
    int rc = run_claim(s, rq, PS_CLAIM_ADDRESSES, arr, &got, &m, err, errlen);
    free(arr);
    if (rc != 0)
        return -1;
    /* In the order asked (as the SQLite backend returns them), each once. */
    qsort(got, m, sizeof *got, compare_claimed);
    claimed_token *list = xcalloc(m ? m : 1, sizeof *list);
    char *taken = xcalloc(m ? m : 1, 1);
    size_t count = 0;
    for (size_t i = 0; i < n && count < m; i++) {
        claimed_token key = {.address = (char *)addrs[i]};
        claimed_token *hit = bsearch(&key, got, m, sizeof *got, compare_claimed);
        if (hit && !taken[hit - got]) { /* a repeated address is returned once */
            taken[hit - got] = 1;
            list[count++] = *hit;
        }
    }
    free(taken);
    free(got); /* the strings moved to LIST */
    *out = list;
    *n_out = count;
    return 0;
}

static double num_or_nan(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NAN : strtod(PQgetvalue(r, row, col), NULL);
}

/* In pages of SCAN_PAGE tokens by address (each page its own statement,
 * retried on its own), so a large table never sits in memory whole. Tokens
 * imported while a scan runs may or may not be seen by it. On an error CB
 * may have seen part of the tokens (as with SQLite). */
#define SCAN_PAGE 10000

static int pg_scan(void *be, int64_t since, store_token_cb cb, void *ctx, char *err, size_t errlen)
{
    pg_store *s = be;
    char since_s[24], page_s[16];
    snprintf(since_s, sizeof since_s, "%lld", (long long)since);
    snprintf(page_s, sizeof page_s, "%d", SCAN_PAGE);
    char *last = xstrdup("");
    for (;;) {
        const char *vals[3] = {since_s, last, page_s};
        PGresult *r = run_simple(s, PS_SCAN, 3, vals, PGRES_TUPLES_OK, "scan", err, errlen);
        if (!r) {
            free(last);
            return -1;
        }
        int rows = PQntuples(r);
        for (int i = 0; i < rows; i++) {
            token_brief t = {.address = PQgetvalue(r, i, 0),
                             .status = STATUS_PENDING,
                             .next_refresh_at = strtoll(PQgetvalue(r, i, 2), NULL, 10),
                             .refresh_interval_s = atoi(PQgetvalue(r, i, 3)),
                             .in_contest = atoi(PQgetvalue(r, i, 4)),
                             .created_at = strtoll(PQgetvalue(r, i, 5), NULL, 10),
                             .price_usd = num_or_nan(r, i, 6),
                             .market_cap = num_or_nan(r, i, 7),
                             .volume_24h = num_or_nan(r, i, 8),
                             .change_24h = num_or_nan(r, i, 9)};
            const char *status = PQgetvalue(r, i, 1);
            for (int k = 0; k < STATUS_COUNT; k++)
                if (!strcmp(status, status_name((token_status)k)))
                    t.status = (token_status)k;
            cb(ctx, &t);
        }
        if (rows > 0) {
            free(last);
            last = xstrdup(PQgetvalue(r, rows - 1, 0));
        }
        PQclear(r);
        if (rows < SCAN_PAGE)
            break;
    }
    free(last);
    return 0;
}

static int pg_load_sources(void *be, const char *const *addrs, size_t n, store_source_cb cb, void *ctx, char *err,
                           size_t errlen)
{
    pg_store *s = be;
    if (n == 0)
        return 0;
    size_t k;
    const char **v = sorted_unique(addrs, n, &k);
    char *arr = addr_array(v, k);
    free(v);
    const char *vals[1] = {arr};
    PGresult *r = run_simple(s, PS_LOAD_SOURCES, 1, vals, PGRES_TUPLES_OK, "load token_sources", err, errlen);
    free(arr);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        cb(ctx, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
    PQclear(r);
    return 0;
}

static int pg_release(void *be, const char *const *addrs, size_t n, const char *claim_id, char *err,
                      size_t errlen)
{
    pg_store *s = be;
    if (n == 0)
        return 0;
    size_t k;
    const char **v = sorted_unique(addrs, n, &k);
    char *arr = addr_array(v, k);
    free(v);
    const char *vals[2] = {arr, claim_id};
    PGresult *r = run_simple(s, PS_RELEASE, 2, vals, PGRES_COMMAND_OK, "release", err, errlen);
    free(arr);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/* Unix seconds as timestamptz input text, e.g. "2026-11-23 12:00:00+00". */
static void utc_text(int64_t t, char *out, size_t outlen)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm))
        strftime(out, outlen, "%Y-%m-%d %H:%M:%S+00", &tm);
    else
        snprintf(out, outlen, "epoch");
}

static int compare_results(const void *a, const void *b)
{
    return strcmp((*(const token_result *const *)a)->address, (*(const token_result *const *)b)->address);
}

/* Fills the 27 arrays of the commit statement from the unique tokens. */
static void build_commit_arrays(pg_store *s, const token_result *const *v, size_t k)
{
    pgarr *a = s->arr;
    for (int i = 0; i < A_N; i++)
        arr_reset(&a[i]);
    for (size_t i = 0; i < k; i++) {
        const token_result *t = v[i];
        const tc_values *m = &t->merged;
        arr_str(&a[A_ADDR], t->address);
        arr_str(&a[A_STATUS], status_name(t->status));
        static const int str_fields[] = {TC_NAME, TC_SYMBOL, TC_IMAGE_URL, TC_DESCRIPTION, TC_SUPPLY};
        static const int str_arr[] = {A_NAME, A_SYMBOL, A_IMAGE, A_DESC, A_SUPPLY};
        for (int f = 0; f < 5; f++)
            arr_str(&a[str_arr[f]], values_has(m, str_fields[f]) ? m->str[str_fields[f]] : NULL);
        int has_dec = values_has(m, TC_DECIMALS) && isfinite(m->num[TC_DECIMALS]) &&
                      fabs(m->num[TC_DECIMALS]) < 2147483647.0;
        arr_int(&a[A_DECIMALS], has_dec, has_dec ? (long long)(int)m->num[TC_DECIMALS] : 0);
        char *meta = store_refresh_metadata(t);
        arr_str(&a[A_META], meta);
        free(meta);
        arr_int(&a[A_INTERVAL], 1, t->refresh_interval_s);
        for (int f = TC_PRICE_USD; f <= TC_CHANGE_24H; f++)
            arr_num(&a[A_PRICE + (f - TC_PRICE_USD)], values_has(m, f), m->num[f]);
        arr_int(&a[A_NEXT_AT], 1, t->next_refresh_at > 0 ? (long long)t->next_refresh_at : 0);
        char *outstanding = store_outstanding_sources(t);
        arr_str(&a[A_OUTSTANDING], outstanding);
        arr_int(&a[A_OUT_ATTEMPTS], 1, outstanding ? t->outstanding_attempts : 0);
        free(outstanding);
        arr_num(&a[A_PRIORITY], !isnan(t->priority_score), t->priority_score);
        if (t->status == STATUS_ENRICHED) {
            for (size_t l = 0; l < m->n_links; l++) {
                const link_rec *lr = &m->links[l];
                if (!lr->url)
                    continue;
                if (lr->kind == TC_LINK_SOCIAL) {
                    /* The type is NOT NULL: an unlabeled social is "" (as in the JSON record). */
                    arr_str(&a[A_S_ADDR], t->address);
                    arr_str(&a[A_S_TYPE], lr->label ? lr->label : "");
                    arr_str(&a[A_S_URL], lr->url);
                } else if (lr->kind == TC_LINK_WEBSITE) {
                    int dup = 0; /* one row per url: ON CONFLICT DO UPDATE may touch a row once */
                    for (size_t j = 0; j < l && !dup; j++)
                        dup = m->links[j].kind == TC_LINK_WEBSITE && m->links[j].url &&
                              !strcmp(m->links[j].url, lr->url);
                    if (dup)
                        continue;
                    arr_str(&a[A_W_ADDR], t->address);
                    arr_str(&a[A_W_LABEL], lr->label);
                    arr_str(&a[A_W_URL], lr->url);
                }
            }
        }
        for (size_t j = 0; j < t->n_sources; j++) {
            int dup = 0; /* one row per (address, source) */
            for (size_t q = 0; q < j && !dup; q++)
                dup = !strcmp(t->source_names[q], t->source_names[j]) &&
                      (t->outcomes[q] == OUTCOME_FOUND || t->outcomes[q] == OUTCOME_MISSING);
            if (dup)
                continue;
            if (t->outcomes[j] == OUTCOME_FOUND) {
                char *json = values_to_json(&t->per_source[j]);
                arr_str(&a[A_F_ADDR], t->address);
                arr_str(&a[A_F_SOURCE], t->source_names[j]);
                arr_str(&a[A_F_DATA], json);
                free(json);
            } else if (t->outcomes[j] == OUTCOME_MISSING) {
                arr_str(&a[A_M_ADDR], t->address);
                arr_str(&a[A_M_SOURCE], t->source_names[j]);
            }
        }
    }
    for (int i = 0; i < A_N; i++)
        arr_end(&a[i]);
}

typedef struct commit_ctx {
    const char *const *vals;
    int attempts;
    size_t already; /* written by an earlier attempt whose reply was lost */
    size_t written;
} commit_ctx;

static int commit_attempt(pg_store *s, void *vctx, PGresult **out, const char **what)
{
    commit_ctx *c = vctx;
    *what = "commit";
    PGresult *r;
    if (c->attempts++ > 0) {
        const char *v[2] = {c->vals[2 + A_ADDR], c->vals[1]};
        if (exec_prepared(s, PS_COMMIT_DONE, 2, v, PGRES_TUPLES_OK, &r) != 0) {
            *out = r;
            return -1;
        }
        c->already = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    if (exec_prepared(s, PS_COMMIT, COMMIT_NPARAMS, c->vals, PGRES_TUPLES_OK, &r) != 0) {
        *out = r;
        return -1;
    }
    c->written = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

static int pg_commit(void *be, const token_result *tokens, size_t n, int64_t now, const char *claim_id,
                     size_t *fenced, char *err, size_t errlen)
{
    pg_store *s = be;
    *fenced = 0;
    if (n == 0)
        return 0;
    /* Sorted and unique: concurrent writers lock rows in the same order, and
     * ON CONFLICT never meets the same key twice. A repeated address is
     * written once; the repeats count as fenced (not written). */
    const token_result **v = xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = &tokens[i];
    qsort(v, n, sizeof *v, compare_results);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(v[k - 1]->address, v[i]->address))
            v[k++] = v[i];
    build_commit_arrays(s, v, k);
    free(v);

    char nowbuf[40];
    utc_text(now, nowbuf, sizeof nowbuf);
    const char *vals[COMMIT_NPARAMS];
    vals[0] = claim_id;
    vals[1] = nowbuf;
    for (int i = 0; i < A_N; i++)
        vals[2 + i] = s->arr[i].b.data;
    commit_ctx c = {vals, 0, 0, 0};
    if (run_with_retry(s, commit_attempt, &c, 1, err, errlen) != 0) {
        size_t l = strlen(err);
        snprintf(err + l, errlen > l ? errlen - l : 0, " (batch of %zu rolled back; its tokens stay claimed until "
                 "the lease ends)", n);
        return -1;
    }
    size_t written = c.written + c.already;
    *fenced = n > written ? n - written : 0;
    return 0;
}

static int pg_count_by_status(void *be, uint64_t counts[STATUS_COUNT], char *err, size_t errlen)
{
    pg_store *s = be;
    memset(counts, 0, STATUS_COUNT * sizeof *counts);
    PGresult *r = run_simple(s, PS_COUNT, 0, NULL, PGRES_TUPLES_OK, "count", err, errlen);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        for (int k = 0; k < STATUS_COUNT; k++)
            if (!strcmp(PQgetvalue(r, i, 0), status_name((token_status)k)))
                counts[k] = strtoull(PQgetvalue(r, i, 1), NULL, 10);
    PQclear(r);
    return 0;
}

const store_backend store_pg_backend = {
    .name = "postgresql",
    .import = pg_import,
    .claim = pg_claim,
    .load_sources = pg_load_sources,
    .claim_addresses = pg_claim_addresses,
    .scan = pg_scan,
    .release = pg_release,
    .commit = pg_commit,
    .count_by_status = pg_count_by_status,
    .close = pg_close,
};
