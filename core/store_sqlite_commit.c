/* The SQLite backend's commit: one transaction per batch, each token written
 * behind its claim fence, and the change feed's places (change_seq) given
 * to the tokens whose stored data changed. store_sqlite.c owns the
 * connection; this file owns the commit's statements.
 *
 * What a token costs is mostly how many statements it runs and how many
 * rows they write, so the tokens row's own UPDATE also tells, in one go,
 * whether the token already has a price, links and source records: a token
 * written for the first time then only inserts, and a refresh whose links
 * did not change writes none (they are read once and compared here, rather
 * than deleted and inserted again). The stored result is the same as
 * writing everything: the tests compare it value by value. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "store.h"
#include "store_sqlite_internal.h"
#include "util.h"

enum {
    CS_UPDATE_TOKEN,
    CS_UPSERT_PRICE,
    CS_PRICE_SAME,
    CS_LINKS,
    CS_DEL_SOCIALS,
    CS_INS_SOCIAL,
    CS_DEL_WEBSITES,
    CS_INS_WEBSITE,
    CS_UPSERT_SOURCE,
    CS_SOURCE_SAME,
    CS_DEL_SOURCE,
    CS_SEQ_GET,
    CS_SEQ_SET,
    CS_SET_CHANGE,
    CS_N
};

/* The status a commit writes (?2 the new one): a failed refresh does not
 * demote a token that has data. */
#define NEW_STATUS "CASE WHEN ?2 = 'failed' AND status IN ('enriched','no_data') THEN status ELSE ?2 END"

static const char *const commit_sql[CS_N] = {
    /* A failed refresh does not demote a token that has data. Unknown
     * fields keep the last known value. */
    [CS_UPDATE_TOKEN] =
        "UPDATE tokens SET"
        /* ?17: the next change_seq, taken when a status or field changes
         * (SET sees the row as it was). */
        " change_seq = CASE WHEN status IS NOT " NEW_STATUS " OR name IS NOT COALESCE(?3, name)"
        "  OR symbol IS NOT COALESCE(?4, symbol) OR decimals IS NOT COALESCE(?5, decimals)"
        "  OR image_url IS NOT COALESCE(?6, image_url) OR description IS NOT COALESCE(?7, description)"
        "  OR supply IS NOT COALESCE(?8, supply) THEN ?17 ELSE change_seq END,"
        " status = " NEW_STATUS ","
        " name = COALESCE(?3, name), symbol = COALESCE(?4, symbol), decimals = COALESCE(?5, decimals),"
        " image_url = COALESCE(?6, image_url), description = COALESCE(?7, description),"
        " supply = COALESCE(?8, supply),"
        " enrichment_attempts = enrichment_attempts + 1, last_refresh_attempt = ?9,"
        " last_refresh_success = CASE WHEN ?2 IN ('enriched','no_data') THEN ?9 ELSE last_refresh_success END,"
        " refresh_metadata = ?10,"
        " refresh_interval_seconds = CASE WHEN ?12 > 0 THEN ?12 ELSE refresh_interval_seconds END,"
        " next_refresh_at = CASE WHEN ?13 > 0 THEN ?13"
        "  ELSE ?9 + CASE WHEN ?12 > 0 THEN ?12 ELSE refresh_interval_seconds END END,"
        " outstanding_sources = ?14, outstanding_attempts = ?15,"
        " priority_score = COALESCE(?16, priority_score),"
        /* ?18: the new price (NULL: none): the time it last moved. */
        " last_price_change = CASE WHEN ?18 IS NOT NULL AND"
        "  (SELECT price_usd FROM token_prices WHERE address = ?1) IS NOT ?18 THEN ?9 ELSE last_price_change END,"
        " claimed_by = NULL, claim_id = NULL, lease_until = 0"
        " WHERE address = ?1 AND claim_id IS ?11"
        /* what the rest of the commit needs to know about the stored rows */
        " RETURNING change_seq = ?17, EXISTS (SELECT 1 FROM token_prices p WHERE p.address = ?1),"
        " EXISTS (SELECT 1 FROM token_socials s WHERE s.address = ?1)"
        "  OR EXISTS (SELECT 1 FROM token_websites w WHERE w.address = ?1),"
        " EXISTS (SELECT 1 FROM token_sources ts WHERE ts.address = ?1)",
    [CS_UPSERT_PRICE] =
        "INSERT INTO token_prices(address, price_usd, market_cap, fdv, liquidity_usd, volume_24h, change_24h,"
        " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT(address) DO UPDATE SET price_usd = COALESCE(excluded.price_usd, price_usd),"
        " market_cap = COALESCE(excluded.market_cap, market_cap), fdv = COALESCE(excluded.fdv, fdv),"
        " liquidity_usd = COALESCE(excluded.liquidity_usd, liquidity_usd),"
        " volume_24h = COALESCE(excluded.volume_24h, volume_24h),"
        " change_24h = COALESCE(excluded.change_24h, change_24h), updated_at = excluded.updated_at",
    /* Market data and source records as stored already: only their time is
     * written (no change for the feed); else the upsert writes them. */
    [CS_PRICE_SAME] =
        "UPDATE token_prices SET updated_at = ?8 WHERE address = ?1 AND price_usd IS COALESCE(?2, price_usd)"
        " AND market_cap IS COALESCE(?3, market_cap) AND fdv IS COALESCE(?4, fdv)"
        " AND liquidity_usd IS COALESCE(?5, liquidity_usd) AND volume_24h IS COALESCE(?6, volume_24h)"
        " AND change_24h IS COALESCE(?7, change_24h)",
    /* A token's stored links (0: social type, 1: website label). */
    [CS_LINKS] = "SELECT 0, type, url FROM token_socials WHERE address = ?1"
                 " UNION ALL SELECT 1, label, url FROM token_websites WHERE address = ?1",
    [CS_DEL_SOCIALS] = "DELETE FROM token_socials WHERE address = ?1",
    [CS_INS_SOCIAL] = "INSERT OR IGNORE INTO token_socials(address, type, url) VALUES (?1, ?2, ?3)",
    [CS_DEL_WEBSITES] = "DELETE FROM token_websites WHERE address = ?1",
    [CS_INS_WEBSITE] = "INSERT OR IGNORE INTO token_websites(address, label, url) VALUES (?1, ?2, ?3)",
    [CS_UPSERT_SOURCE] =
        "INSERT INTO token_sources(address, source, data, fetched_at, plugin_version) VALUES (?1, ?2, ?3, ?4, ?5)"
        " ON CONFLICT(address, source) DO UPDATE SET data = excluded.data, fetched_at = excluded.fetched_at,"
        " plugin_version = excluded.plugin_version WHERE excluded.fetched_at >= token_sources.fetched_at",
    [CS_SOURCE_SAME] = "UPDATE token_sources SET fetched_at = ?4, plugin_version = ?5 WHERE address = ?1"
                       " AND source = ?2 AND data = ?3 AND fetched_at <= ?4",
    [CS_DEL_SOURCE] = "DELETE FROM token_sources WHERE address = ?1 AND source = ?2",
    /* The change feed's counter, read and written once per commit under the
     * write lock, and a token's place in it. */
    [CS_SEQ_GET] = "SELECT seq FROM change_counter",
    [CS_SEQ_SET] = "UPDATE change_counter SET seq = ?1",
    [CS_SET_CHANGE] = "UPDATE tokens SET change_seq = ?2 WHERE address = ?1",
};

struct sqlite_writer {
    sqlite3 *db;
    const char *path;
    sqlite3_stmt *st[CS_N];
    int64_t next_seq; /* during a commit: the change_seq the next changed token takes */
    strbuf json;      /* a source's record, reused from token to token */
};

/* What the tokens row's update found stored for a token. */
typedef struct stored_rows {
    int seq_taken; /* a status or field changed: the token took next_seq */
    int price, links, sources;
} stored_rows;

static int db_error(sqlite_writer *w, char *err, size_t errlen, const char *what)
{
    return store_sqlite_error(w->db, w->path, err, errlen, what);
}

sqlite_writer *sqlite_writer_new(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    sqlite_writer *w = xcalloc(1, sizeof *w);
    w->db = db;
    w->path = path;
    for (int i = 0; i < CS_N; i++)
        if (sqlite3_prepare_v3(db, commit_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &w->st[i], NULL) != SQLITE_OK) {
            db_error(w, err, errlen, "prepare");
            sqlite_writer_free(w);
            return NULL;
        }
    return w;
}

void sqlite_writer_free(sqlite_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < CS_N; i++)
        sqlite3_finalize(w->st[i]);
    sb_free(&w->json);
    free(w);
}

static int step_done(sqlite_writer *w, sqlite3_stmt *st, char *err, size_t errlen, const char *what)
{
    return store_sqlite_step(w->db, w->path, st, err, errlen, what);
}

static void bind_opt_text(sqlite3_stmt *st, int idx, const tc_values *v, int field)
{
    if (values_has(v, field))
        sqlite3_bind_text(st, idx, v->str[field], -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, idx);
}

static void bind_opt_num(sqlite3_stmt *st, int idx, const tc_values *v, int field)
{
    if (values_has(v, field))
        sqlite3_bind_double(st, idx, v->num[field]);
    else
        sqlite3_bind_null(st, idx);
}

static int has_market_data(const tc_values *v)
{
    for (int f = TC_PRICE_USD; f <= TC_CHANGE_24H; f++)
        if (values_has(v, f))
            return 1;
    return 0;
}

/* The tokens row: written behind the claim fence. 1 with *ROWS filled, 0
 * when fenced (claimed by someone else since, our lease ran out, or
 * deleted: their data is not ours to overwrite), -1 on error. */
static int update_token(sqlite_writer *w, const token_result *t, int64_t now, const char *claim_id,
                        stored_rows *rows, char *err, size_t errlen)
{
    const tc_values *m = &t->merged;
    sqlite3_stmt *st = w->st[CS_UPDATE_TOKEN];
    char *meta = store_refresh_metadata(t);
    sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, status_name(t->status), -1, SQLITE_STATIC);
    bind_opt_text(st, 3, m, TC_NAME);
    bind_opt_text(st, 4, m, TC_SYMBOL);
    if (values_has(m, TC_DECIMALS))
        sqlite3_bind_int(st, 5, (int)m->num[TC_DECIMALS]);
    else
        sqlite3_bind_null(st, 5);
    bind_opt_text(st, 6, m, TC_IMAGE_URL);
    bind_opt_text(st, 7, m, TC_DESCRIPTION);
    bind_opt_text(st, 8, m, TC_SUPPLY);
    sqlite3_bind_int64(st, 9, now);
    sqlite3_bind_text(st, 10, meta, -1, SQLITE_STATIC);
    if (claim_id)
        sqlite3_bind_text(st, 11, claim_id, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 11);
    sqlite3_bind_int(st, 12, t->refresh_interval_s);
    sqlite3_bind_int64(st, 13, t->next_refresh_at);
    char *outstanding = store_outstanding_sources(t);
    if (outstanding)
        sqlite3_bind_text(st, 14, outstanding, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 14);
    sqlite3_bind_int(st, 15, outstanding ? t->outstanding_attempts : 0);
    if (isnan(t->priority_score))
        sqlite3_bind_null(st, 16);
    else
        sqlite3_bind_double(st, 16, t->priority_score);
    sqlite3_bind_int64(st, 17, w->next_seq);
    bind_opt_num(st, 18, m, TC_PRICE_USD);
    int rc = sqlite3_step(st), written = rc == SQLITE_ROW;
    if (written) {
        rows->seq_taken = sqlite3_column_int(st, 0);
        rows->price = sqlite3_column_int(st, 1);
        rows->links = sqlite3_column_int(st, 2);
        rows->sources = sqlite3_column_int(st, 3);
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(meta);
    free(outstanding);
    if (rc != SQLITE_DONE)
        return db_error(w, err, errlen, "update tokens");
    return written;
}

/* The market data: its time only when it is as stored, else the upsert.
 * *CHANGED set when the stored values changed. */
static int write_price(sqlite_writer *w, const token_result *t, int64_t now, int stored, int *changed,
                       char *err, size_t errlen)
{
    const tc_values *m = &t->merged;
    for (int k = stored ? 0 : 1; k < 2; k++) {
        sqlite3_stmt *st = w->st[k ? CS_UPSERT_PRICE : CS_PRICE_SAME];
        sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
        for (int f = TC_PRICE_USD; f <= TC_CHANGE_24H; f++)
            bind_opt_num(st, 2 + (f - TC_PRICE_USD), m, f);
        sqlite3_bind_int64(st, 8, now);
        if (step_done(w, st, err, errlen, k ? "upsert token_prices" : "update token_prices"))
            return -1;
        if (sqlite3_changes(w->db) > 0) {
            *changed |= k;
            break;
        }
    }
    return 0;
}

static int same_text(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* The stored row a link becomes: a social's type is NOT NULL (""), a
 * website's label may be NULL. */
static const char *link_label(const link_rec *l)
{
    return l->label ? l->label : l->kind == TC_LINK_SOCIAL ? "" : NULL;
}

/* 1 when link I of V is the first of V's links with its key (the row a
 * delete-and-insert-or-ignore keeps): (type, url) for socials, url for
 * websites. */
static int first_of_key(const tc_values *v, size_t i)
{
    const link_rec *l = &v->links[i];
    for (size_t j = 0; j < i; j++) {
        const link_rec *o = &v->links[j];
        if (o->kind == l->kind && !strcmp(o->url, l->url) &&
            (l->kind == TC_LINK_WEBSITE || same_text(link_label(o), link_label(l))))
            return 0;
    }
    return 1;
}

/* 1 when the stored links of T are exactly the rows its new links would
 * leave, -1 on error. */
static int links_as_stored(sqlite_writer *w, const token_result *t, char *err, size_t errlen)
{
    const tc_values *m = &t->merged;
    size_t want = 0;
    for (size_t i = 0; i < m->n_links; i++)
        want += (m->links[i].kind == TC_LINK_SOCIAL || m->links[i].kind == TC_LINK_WEBSITE) &&
                first_of_key(m, i);
    sqlite3_stmt *st = w->st[CS_LINKS];
    sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
    size_t have = 0;
    int same = 1, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        have++;
        int kind = sqlite3_column_int(st, 0) ? TC_LINK_WEBSITE : TC_LINK_SOCIAL;
        const char *label = (const char *)sqlite3_column_text(st, 1);
        const char *url = (const char *)sqlite3_column_text(st, 2);
        int found = 0;
        for (size_t i = 0; same && !found && i < m->n_links; i++) {
            const link_rec *l = &m->links[i];
            if (l->kind != kind || !url || strcmp(l->url, url))
                continue;
            if (kind == TC_LINK_WEBSITE) /* keyed by url: the first one's label is stored */
                found = first_of_key(m, i) && same_text(link_label(l), label) ? 1 : -1;
            else if (same_text(link_label(l), label))
                found = 1;
        }
        same = same && found == 1;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return db_error(w, err, errlen, "read links");
    return same && have == want;
}

/* Link sets are replaced whole on every successful refresh (written only
 * when they differ from the stored ones). */
static int write_links(sqlite_writer *w, const token_result *t, int stored, int *changed, char *err, size_t errlen)
{
    const tc_values *m = &t->merged;
    if (stored) {
        int same = links_as_stored(w, t, err, errlen);
        if (same < 0)
            return -1;
        if (same)
            return 0;
        *changed = 1;
        for (int k = 0; k < 2; k++) {
            sqlite3_stmt *st = w->st[k ? CS_DEL_WEBSITES : CS_DEL_SOCIALS];
            sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
            if (step_done(w, st, err, errlen, "delete links"))
                return -1;
        }
    }
    for (size_t i = 0; i < m->n_links; i++) {
        const link_rec *l = &m->links[i];
        if (l->kind != TC_LINK_SOCIAL && l->kind != TC_LINK_WEBSITE)
            continue;
        sqlite3_stmt *st = w->st[l->kind == TC_LINK_SOCIAL ? CS_INS_SOCIAL : CS_INS_WEBSITE];
        sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
        const char *label = link_label(l);
        if (label)
            sqlite3_bind_text(st, 2, label, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 2);
        sqlite3_bind_text(st, 3, l->url, -1, SQLITE_STATIC);
        if (step_done(w, st, err, errlen, "insert link"))
            return -1;
        *changed |= sqlite3_changes(w->db) > 0;
    }
    return 0;
}

/* Each source's record: FOUND written (its time and version only when the
 * stored record is the same text), MISSING deleted. */
static int write_sources(sqlite_writer *w, const token_result *t, int64_t now, int stored, int *changed,
                         char *err, size_t errlen)
{
    for (size_t i = 0; i < t->n_sources; i++) {
        if (t->outcomes[i] == OUTCOME_FOUND) {
            w->json.len = 0;
            record_json_values(&w->json, &t->per_source[i]);
            for (int k = stored ? 0 : 1; k < 2; k++) {
                sqlite3_stmt *st = w->st[k ? CS_UPSERT_SOURCE : CS_SOURCE_SAME];
                sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, t->source_names[i], -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, w->json.data, (int)w->json.len, SQLITE_STATIC);
                sqlite3_bind_int64(st, 4, now);
                sqlite3_bind_text(st, 5, t->per_source[i].plugin_version, -1, SQLITE_STATIC); /* NULL: NULL */
                if (step_done(w, st, err, errlen, k ? "upsert token_sources" : "update token_sources"))
                    return -1;
                if (sqlite3_changes(w->db) > 0) {
                    *changed |= k;
                    break;
                }
            }
        } else if (t->outcomes[i] == OUTCOME_MISSING && stored) {
            sqlite3_stmt *st = w->st[CS_DEL_SOURCE];
            sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, t->source_names[i], -1, SQLITE_STATIC);
            if (step_done(w, st, err, errlen, "delete token_sources"))
                return -1;
            *changed |= sqlite3_changes(w->db) > 0;
        }
    }
    return 0;
}

/* One token of a commit; when its stored data changed it takes next_seq. */
static int commit_one(sqlite_writer *w, const token_result *t, int64_t now, const char *claim_id, size_t *fenced,
                      char *err, size_t errlen)
{
    stored_rows rows = {0};
    int written = update_token(w, t, now, claim_id, &rows, err, errlen);
    if (written <= 0) {
        *fenced += written == 0;
        return written;
    }
    int changed = rows.seq_taken;
    if (has_market_data(&t->merged) && write_price(w, t, now, rows.price, &changed, err, errlen))
        return -1;
    if (t->status == STATUS_ENRICHED && write_links(w, t, rows.links, &changed, err, errlen))
        return -1;
    if (write_sources(w, t, now, rows.sources, &changed, err, errlen))
        return -1;
    if (changed && !rows.seq_taken) {
        sqlite3_stmt *st = w->st[CS_SET_CHANGE];
        sqlite3_bind_text(st, 1, t->address, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, w->next_seq);
        if (step_done(w, st, err, errlen, "update change_seq"))
            return -1;
    }
    w->next_seq += changed;
    return 0;
}

static void rollback(sqlite_writer *w)
{
    sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
}

int sqlite_writer_commit(sqlite_writer *w, const token_result *tokens, size_t n, int64_t now, const char *claim_id,
                         size_t *fenced, char *err, size_t errlen)
{
    *fenced = 0;
    if (sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(w, err, errlen, "BEGIN IMMEDIATE");
    /* The write lock is held from here: change_seq follows commit order. */
    sqlite3_stmt *st = w->st[CS_SEQ_GET];
    int rc = sqlite3_step(st);
    int64_t first = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) + 1 : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) {
        db_error(w, err, errlen, "read change_counter");
        rollback(w);
        return -1;
    }
    w->next_seq = first;
    for (size_t i = 0; i < n; i++)
        if (commit_one(w, &tokens[i], now, claim_id, fenced, err, errlen)) {
            size_t l = strlen(err);
            snprintf(err + l, errlen - l, " (token %s; batch of %zu rolled back)", tokens[i].address, n);
            rollback(w);
            return -1;
        }
    if (w->next_seq > first) {
        st = w->st[CS_SEQ_SET];
        sqlite3_bind_int64(st, 1, w->next_seq - 1);
        if (step_done(w, st, err, errlen, "update change_counter")) {
            rollback(w);
            return -1;
        }
    }
    if (sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        db_error(w, err, errlen, "COMMIT");
        rollback(w);
        return -1;
    }
    return 0;
}
