/* The texts of the PostgreSQL store's prepared statements and the element
 * types of the commit's arrays. Owns the SQL only: no code runs here, and
 * the parameter layout it relies on is declared in store_pg_sql.h. Must not
 * change a statement without the code that fills its parameters. */
#include "store_pg_sql.h"

#include "store_pg_array.h"

const char *const store_pg_ps_name[PS_N] = {"tc_claim_pending", "tc_claim_due",    "tc_claim_addresses",
                                            "tc_claim_mine",    "tc_release",      "tc_import",
                                            "tc_commit_plan",   "tc_commit",       "tc_commit_rows",
                                            "tc_commit_done",
                                            "tc_load_sources",
                                            "tc_scan",          "tc_count",        "tc_changes",
                                            "tc_set_contest",   "tc_source_fetches"};

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

/* A commit is one transaction of two statements, sent in pipeline mode in
 * two round trips (store_pg_commit.c): tc_commit_plan (planner settings for
 * this transaction, see there) and A, then B and the Sync that commits.
 *
 * A, "tc_commit": updates `tokens` with the claim fence and returns, for each
 * token it wrote, what is stored of it in the other tables (one index probe
 * per table, under the row lock that A holds until the commit). The client
 * compares that with the new values and builds B from the difference.
 * B, "tc_commit_rows": writes those rows, each of its parts joining one array
 * to one table by its key. Rows already as wanted cost nothing: an unchanged
 * link set writes nothing, an existing price or source row is updated in
 * place (UPDATE, no ON CONFLICT lock-then-update), a new row is a plain
 * INSERT.
 *
 * What A read is what B finds: only the holder of a token's claim writes the
 * token's rows (the fence), and A holds the row lock. (A writer outside that
 * rule inserting the same key in between would make B fail with a unique
 * violation: a permanent error; the batch is rolled back whole, its tokens
 * are claimed again after the lease, and A then reads the row.)
 *
 * A: $1 claim id, $2 now (timestamptz text); then binary arrays $3..$22:
 *   address, status, name, symbol, decimals, image_url, description, supply,
 *   refresh_metadata, refresh_interval_s, price_usd, market_cap, fdv,
 *   liquidity_usd, volume_24h, change_24h, next_refresh_at (unix s, 0: now +
 *   interval), outstanding_sources, outstanding_attempts, priority_score
 *   (NULL: keep).
 * Returns per written token: address; relink (a fresh, successful refresh:
 * its link sets are replaced); has_price (a token_prices row exists); when
 * relink, the stored socials and websites; the stored source names; whether
 * its status or a field changed (o: the row as it was, for the change feed).
 * Sets are sent as "LEN:BYTES" fields (octet length), a NULL label as "-". */
static const char commit_tokens_sql[] =
    "WITH u AS (SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::int[],"
    " $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::float8[], $14::float8[],"
    " $15::float8[], $16::float8[], $17::float8[], $18::float8[], $19::bigint[], $20::text[], $21::int[],"
    " $22::float8[]) AS u(address, status, name, symbol, decimals, image_url, description, supply, meta,"
    " interval_s, price_usd, market_cap, fdv, liquidity_usd, volume_24h, change_24h, next_at, outstanding,"
    " out_attempts, priority))"
    /* A failed refresh does not demote a token that has data; unknown fields
     * keep the last known value. */
    " UPDATE tokens t SET"
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
    /* token_result.next_refresh_at when the engine gave one, else
     * now + the (new or stored) interval. */
    " next_refresh_at = CASE WHEN NOT " FRESH " THEN t.next_refresh_at"
    "  WHEN u.next_at > 0 THEN to_timestamp(u.next_at)"
    "  ELSE " NOW " + make_interval(secs =>"
    "  CASE WHEN u.interval_s > 0 THEN u.interval_s ELSE t.refresh_interval_seconds END) END,"
    " outstanding_sources = CASE WHEN " FRESH " THEN u.outstanding ELSE t.outstanding_sources END,"
    " outstanding_attempts = CASE WHEN " FRESH " THEN u.out_attempts ELSE t.outstanding_attempts END,"
    " priority_score = CASE WHEN " FRESH " THEN COALESCE(u.priority, t.priority_score) ELSE t.priority_score END,"
    " claimed_by = NULL, claim_id = NULL, lease_until = NULL"
    " FROM u JOIN tokens o ON o.address = u.address LEFT JOIN token_prices p ON p.address = u.address"
    " WHERE t.address = u.address AND t.claim_id IS NOT DISTINCT FROM $1::text"
    " RETURNING t.address, t.last_refresh_attempt = " NOW " AND u.status = 'enriched',"
    " p.address IS NOT NULL,"
    " CASE WHEN t.last_refresh_attempt = " NOW " AND u.status = 'enriched' THEN"
    "  (SELECT string_agg(octet_length(s.type) || ':' || s.type || octet_length(s.url) || ':' || s.url, '')"
    "  FROM token_socials s WHERE s.address = t.address) END,"
    " CASE WHEN t.last_refresh_attempt = " NOW " AND u.status = 'enriched' THEN"
    "  (SELECT string_agg(octet_length(w.url) || ':' || w.url"
    "  || COALESCE(octet_length(w.label) || ':' || w.label, '-'), '')"
    "  FROM token_websites w WHERE w.address = t.address) END,"
    " (SELECT string_agg(octet_length(ts.source) || ':' || ts.source, '')"
    "  FROM token_sources ts WHERE ts.address = t.address),"
    " (t.status, t.name, t.symbol, t.decimals, t.image_url, t.description, t.supply) IS DISTINCT FROM"
    " (o.status, o.name, o.symbol, o.decimals, o.image_url, o.description, o.supply)";

/* B: $1 now (timestamptz text); binary arrays:
 * prices $2..$9: address, stored (update, else insert), price_usd,
 *   market_cap, fdv, liquidity_usd, volume_24h, change_24h (NULL: keep);
 * socials $10..$13: address, type, url, op (0 delete, 2 insert);
 * websites $14..$17: address, url, label, op (0 delete, 1 set label, 2 insert);
 * sources $18..$22: address, source, data, op (0 delete (MISSING), 1 update,
 *   2 insert (FOUND)), plugin_version;
 * $23: the tokens whose status or a field A changed.
 * The newest observation wins whatever the commit order: a price or source
 * row written by a later observation is left alone.
 * Last, the change feed (schema 6): the tokens whose stored data changed
 * ($23, and every row written here whose data differs from the row it replaces: o
 * is the row as it was) take the next places of change_counter, whose row
 * lock then orders this commit after every earlier one and before every
 * later one, whichever collector sends it. A commit that changes nothing
 * leaves the counter alone (and takes no lock on it). */
static const char commit_rows_sql[] =
    "WITH px AS MATERIALIZED (SELECT * FROM unnest($2::text[], $3::bool[], $4::float8[], $5::float8[],"
    " $6::float8[], $7::float8[], $8::float8[], $9::float8[]) AS x(address, stored, price_usd, market_cap, fdv,"
    " liquidity_usd, volume_24h, change_24h)),"
    " pu AS (UPDATE token_prices tp SET price_usd = COALESCE(px.price_usd, tp.price_usd),"
    " market_cap = COALESCE(px.market_cap, tp.market_cap), fdv = COALESCE(px.fdv, tp.fdv),"
    " liquidity_usd = COALESCE(px.liquidity_usd, tp.liquidity_usd),"
    " volume_24h = COALESCE(px.volume_24h, tp.volume_24h),"
    " change_24h = COALESCE(px.change_24h, tp.change_24h), updated_at = $1::timestamptz"
    " FROM px JOIN token_prices o ON o.address = px.address"
    " WHERE px.stored AND tp.address = px.address AND tp.updated_at <= $1::timestamptz"
    " RETURNING tp.address, (tp.price_usd, tp.market_cap, tp.fdv, tp.liquidity_usd, tp.volume_24h, tp.change_24h)"
    " IS DISTINCT FROM (o.price_usd, o.market_cap, o.fdv, o.liquidity_usd, o.volume_24h, o.change_24h) AS changed),"
    " pi AS (INSERT INTO token_prices (address, price_usd, market_cap, fdv, liquidity_usd, volume_24h,"
    " change_24h, updated_at) SELECT address, price_usd, market_cap, fdv, liquidity_usd, volume_24h, change_24h,"
    " $1::timestamptz FROM px WHERE NOT px.stored RETURNING address),"
    " sx AS MATERIALIZED (SELECT * FROM unnest($10::text[], $11::text[], $12::text[], $13::int[])"
    " AS x(address, type, url, op)),"
    " sd AS (DELETE FROM token_socials s USING sx WHERE sx.op = 0 AND s.address = sx.address"
    " AND s.type = sx.type AND s.url = sx.url RETURNING s.address),"
    " si AS (INSERT INTO token_socials (address, type, url) SELECT address, type, url FROM sx WHERE sx.op = 2"
    " RETURNING address),"
    " wx AS MATERIALIZED (SELECT * FROM unnest($14::text[], $15::text[], $16::text[], $17::int[])"
    " AS x(address, url, label, op)),"
    " wd AS (DELETE FROM token_websites w USING wx WHERE wx.op = 0 AND w.address = wx.address"
    " AND w.url = wx.url RETURNING w.address),"
    " wu AS (UPDATE token_websites w SET label = wx.label FROM wx WHERE wx.op = 1 AND w.address = wx.address"
    " AND w.url = wx.url RETURNING w.address),"
    " wi AS (INSERT INTO token_websites (address, label, url) SELECT address, label, url FROM wx"
    " WHERE wx.op = 2 RETURNING address),"
    " fx AS MATERIALIZED (SELECT * FROM unnest($18::text[], $19::text[], $20::text[], $21::int[], $22::text[])"
    " AS x(address, source, data, op, version)),"
    " fd AS (DELETE FROM token_sources ts USING fx WHERE fx.op = 0 AND ts.address = fx.address"
    " AND ts.source = fx.source AND ts.fetched_at <= $1::timestamptz RETURNING ts.address),"
    " fu AS (UPDATE token_sources ts SET data = fx.data::jsonb, fetched_at = $1::timestamptz,"
    " plugin_version = fx.version FROM fx JOIN token_sources o ON o.address = fx.address AND o.source = fx.source"
    " WHERE fx.op = 1 AND ts.address = fx.address AND ts.source = fx.source"
    " AND ts.fetched_at <= $1::timestamptz RETURNING ts.address, ts.data IS DISTINCT FROM o.data AS changed),"
    " fi AS (INSERT INTO token_sources (address, source, data, fetched_at, plugin_version)"
    " SELECT address, source, data::jsonb, $1::timestamptz, version FROM fx WHERE fx.op = 2 RETURNING address),"
    " ch AS MATERIALIZED (SELECT a AS address FROM unnest($23::text[]) AS a"
    " UNION SELECT address FROM pu WHERE changed UNION SELECT address FROM pi"
    " UNION SELECT address FROM sd UNION SELECT address FROM si UNION SELECT address FROM wd"
    " UNION SELECT address FROM wu UNION SELECT address FROM wi UNION SELECT address FROM fd"
    " UNION SELECT address FROM fu WHERE changed UNION SELECT address FROM fi),"
    " cn AS (UPDATE change_counter c SET seq = c.seq + k.n FROM (SELECT count(*) AS n FROM ch) k"
    " WHERE c.id = 1 AND k.n > 0 RETURNING c.seq - k.n AS base),"
    " cs AS (UPDATE tokens t SET change_seq = cn.base + r.i FROM cn,"
    " (SELECT address, row_number() OVER (ORDER BY address) AS i FROM ch) r WHERE t.address = r.address)"
    " SELECT 1";

const char *const store_pg_ps_sql[PS_N] = {
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
    /* Runs first in a commit's transaction (until its end): A and B join
     * small arrays to large tables by their keys, which only an index nested
     * loop does well. Their plans are generic (prepared), so planned once
     * per connection, possibly while a table was still nearly empty (a new
     * store: a hash join over a sequential scan looks cheapest then, and
     * would stay until the next ANALYZE while the table grows). */
    [PS_COMMIT_PLAN] = "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true),"
                       " set_config('enable_mergejoin', 'off', true)",
    [PS_COMMIT] = commit_tokens_sql,
    [PS_COMMIT_ROWS] = commit_rows_sql,
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
    /* The change feed: $1 since, $2 limit. The counter's row first (every
     * time, with the rows' columns NULL when none), so the head and the
     * rows come from one snapshot. */
    [PS_CHANGES] = "SELECT h.seq, c.change_seq, c.address, c.status, c.name, c.symbol, c.decimals, c.image_url,"
                   " p.price_usd, p.market_cap, p.fdv, p.liquidity_usd, p.volume_24h, p.change_24h,"
                   " extract(epoch FROM c.last_refresh_success)::bigint"
                   " FROM change_counter h LEFT JOIN LATERAL (SELECT * FROM tokens t WHERE t.change_seq > $1::bigint"
                   " ORDER BY t.change_seq LIMIT $2::bigint) c ON true"
                   " LEFT JOIN token_prices p ON p.address = c.address WHERE h.id = 1 ORDER BY c.change_seq",
    /* store_backend.source_fetches: $1 the addresses. Per token its
     * metadata_at (source NULL), then each source's fetched_at and price. */
    [PS_SOURCE_FETCHES] = "SELECT address, NULL::text, coalesce((refresh_metadata->>'metadata_at')::bigint, 0),"
                          " NULL::float8 FROM tokens WHERE address = ANY($1::text[]) UNION ALL"
                          " SELECT address, source, extract(epoch FROM fetched_at)::bigint, (data->>'price_usd')::float8"
                          " FROM token_sources WHERE address = ANY($1::text[])",
    [PS_SET_CONTEST] = "UPDATE tokens SET in_contest = $2::boolean WHERE address = ANY($1::text[])",
};

/* Text when not listed. */
const uint32_t store_pg_arr_oid[ARR_N] = {
    [A_DECIMALS] = OID_INT4,  [A_INTERVAL] = OID_INT4,  [A_OUT_ATTEMPTS] = OID_INT4, [A_NEXT_AT] = OID_INT8,
    [A_PRICE] = OID_FLOAT8,   [A_MCAP] = OID_FLOAT8,    [A_FDV] = OID_FLOAT8,        [A_LIQ] = OID_FLOAT8,
    [A_VOL] = OID_FLOAT8,     [A_CHG] = OID_FLOAT8,     [A_PRIORITY] = OID_FLOAT8,   [B_P_STORED] = OID_BOOL,
    [B_P_PRICE] = OID_FLOAT8, [B_P_MCAP] = OID_FLOAT8,  [B_P_FDV] = OID_FLOAT8,      [B_P_LIQ] = OID_FLOAT8,
    [B_P_VOL] = OID_FLOAT8,   [B_P_CHG] = OID_FLOAT8,   [B_S_OP] = OID_INT4,         [B_W_OP] = OID_INT4,
    [B_F_OP] = OID_INT4,
};
