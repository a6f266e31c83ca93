/* PostgreSQL schema migrations for store_pg.c.
 *
 * Same tables and columns as the SQLite backend, with PostgreSQL types:
 * every time is a timestamptz (SQLite keeps unix seconds; the backend converts
 * with to_timestamp()), refresh_metadata and token_sources.data are jsonb,
 * supply stays TEXT (exact u64 digits), prices are float8 (the value stored is
 * exactly the double the merger produced).
 *
 * Rules for adding a migration: append an entry with the next version; never
 * edit one that shipped. Every migration runs inside the migration
 * transaction (see pg_migrate in store_pg.c), after pg_advisory_xact_lock, so
 * two processes migrating at once take turns and the second finds nothing to
 * do. Tables are created in current_schema(): point the store at a schema of
 * its own with `options=-csearch_path%3Dtokencollector` in the URI. */
#ifndef TC_STORE_PG_SCHEMA_H
#define TC_STORE_PG_SCHEMA_H

typedef struct pg_migration {
    int version;
    const char *name;
    const char *sql;
} pg_migration;

/* Runs first in every migration transaction, under the advisory lock: the
 * schema named first in search_path is created when none of them exists
 * (otherwise CREATE TABLE has "no schema to create in"), then the version
 * table. */
static const char pg_migration_prelude[] =
    "DO $tc$ DECLARE s text; BEGIN"
    " IF current_schema() IS NULL THEN"
    "  s := btrim(split_part(current_setting('search_path'), ',', 1), ' \"');"
    "  IF s = '$user' THEN s := current_user; END IF;"
    "  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', s);"
    " END IF; END $tc$;"
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now());";

static const pg_migration pg_migrations[] = {
    {1, "initial schema",
     /* A `tokens` table that is not ours (e.g. the DegenDuel one, keyed by a
      * serial id with metadata_status) is refused with a hint rather than
      * half-adopted. A table with our columns (created by hand from this
      * file) is adopted as is. */
     "DO $tc$ DECLARE missing text; BEGIN"
     " IF to_regclass(format('%I.tokens', current_schema())) IS NOT NULL THEN"
     "  SELECT string_agg(c, ', ') INTO missing FROM unnest(ARRAY['address','status','name','symbol','decimals',"
     "   'image_url','description','supply','enrichment_attempts','last_refresh_attempt','last_refresh_success',"
     "   'last_price_change','refresh_interval_seconds','priority_score','refresh_metadata','next_refresh_at',"
     "   'claimed_by','claim_id','lease_until']) AS c"
     "   WHERE NOT EXISTS (SELECT 1 FROM information_schema.columns i WHERE i.table_schema = current_schema()"
     "    AND i.table_name = 'tokens' AND i.column_name = c);"
     "  IF missing IS NOT NULL THEN"
     "   RAISE EXCEPTION 'table %.tokens exists but is not a tokencollector table (no column %)',"
     "    current_schema(), missing USING ERRCODE = 'object_not_in_prerequisite_state',"
     "    HINT = 'give tokencollector a schema of its own: add options=-csearch_path%3Dtokencollector to the"
     " store URI, then import the addresses (README, PostgreSQL)';"
     "  END IF;"
     " END IF; END $tc$;"
     "CREATE TABLE IF NOT EXISTS tokens ("
     " address text PRIMARY KEY,"
     " status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','enriched','no_data','failed')),"
     " name text, symbol text, decimals integer, image_url text, description text,"
     " supply text,"
     " enrichment_attempts integer NOT NULL DEFAULT 0,"
     " last_refresh_attempt timestamptz, last_refresh_success timestamptz, last_price_change timestamptz,"
     " refresh_interval_seconds integer NOT NULL DEFAULT 30,"
     " priority_score double precision NOT NULL DEFAULT 0,"
     " refresh_metadata jsonb NOT NULL DEFAULT '{}',"
     " next_refresh_at timestamptz NOT NULL DEFAULT 'epoch',"
     " claimed_by text, claim_id text, lease_until timestamptz,"
     " created_at timestamptz NOT NULL DEFAULT now());"
     "CREATE INDEX IF NOT EXISTS tokens_pending ON tokens (next_refresh_at, address) WHERE status = 'pending';"
     "CREATE INDEX IF NOT EXISTS tokens_due ON tokens (next_refresh_at, address);"
     "CREATE TABLE IF NOT EXISTS token_prices ("
     " address text PRIMARY KEY REFERENCES tokens(address) ON DELETE CASCADE,"
     " price_usd double precision, market_cap double precision, fdv double precision,"
     " liquidity_usd double precision, volume_24h double precision, change_24h double precision,"
     " updated_at timestamptz NOT NULL);"
     "CREATE TABLE IF NOT EXISTS token_socials ("
     " address text NOT NULL REFERENCES tokens(address) ON DELETE CASCADE,"
     " type text NOT NULL, url text NOT NULL, PRIMARY KEY (address, type, url));"
     "CREATE TABLE IF NOT EXISTS token_websites ("
     " address text NOT NULL REFERENCES tokens(address) ON DELETE CASCADE,"
     " label text, url text NOT NULL, PRIMARY KEY (address, url));"
     "CREATE TABLE IF NOT EXISTS token_sources ("
     " address text NOT NULL REFERENCES tokens(address) ON DELETE CASCADE,"
     " source text NOT NULL, data jsonb NOT NULL, fetched_at timestamptz NOT NULL,"
     " PRIMARY KEY (address, source));"},
    {2, "outstanding sources",
     /* What a pass still owes (store.h, claimed_token): the sources that
      * failed or were skipped, and how many passes left some owed. ADD
      * COLUMN with a constant default is a catalog change only (PostgreSQL
      * 11+): no table rewrite, even on a large existing table. IF NOT EXISTS
      * adopts columns added by hand. The partial index serves --once claims
      * (status = 'pending' OR outstanding_sources IS NOT NULL AND due). */
     "ALTER TABLE tokens ADD COLUMN IF NOT EXISTS outstanding_sources text;"
     "ALTER TABLE tokens ADD COLUMN IF NOT EXISTS outstanding_attempts integer NOT NULL DEFAULT 0;"
     "CREATE INDEX IF NOT EXISTS tokens_outstanding ON tokens (next_refresh_at, address)"
     " WHERE outstanding_sources IS NOT NULL;"},
    {3, "in_contest",
     /* Set by operators (UPDATE tokens SET in_contest = true ...): the
      * daemon's scheduler refreshes those tokens first. The index serves its
      * scans for new tokens (created_at >= the last scan). */
     "ALTER TABLE tokens ADD COLUMN IF NOT EXISTS in_contest boolean NOT NULL DEFAULT false;"
     "CREATE INDEX IF NOT EXISTS tokens_created ON tokens (created_at);"
     /* Room on every page for updated rows: an update that changes no
      * indexed column stays on its page (HOT) and adds no index entry. */
     "ALTER TABLE tokens SET (fillfactor = 70); ALTER TABLE token_prices SET (fillfactor = 70);"
     "ALTER TABLE token_sources SET (fillfactor = 70); ALTER TABLE token_websites SET (fillfactor = 70);"},
    {4, "fillfactor 50",
     /* A commit updates every price and source row of its tokens, and the
      * tokens of a batch sit together (they are written in address order):
      * all the rows of a page are updated in one transaction, whose old
      * versions cannot be pruned before it ends. With pages at most half
      * full every new version fits on its page (a HOT update: no index
      * entry); at 70 about half of them moved to another page. Applies to
      * pages filled from now on; no rewrite, no lock that blocks writes. */
     "ALTER TABLE token_prices SET (fillfactor = 50); ALTER TABLE token_sources SET (fillfactor = 50);"},
    {5, "plugin version",
     /* tc_source.version of the plugin instance that parsed each source
      * record, so data from before and after a plugin swap can be told
      * apart; NULL for rows written before. A nullable column without a
      * default: a catalog change only, no rewrite. */
     "ALTER TABLE token_sources ADD COLUMN IF NOT EXISTS plugin_version text;"},
    {6, "read api indexes",
     /* The HTTP API's orders (a keyset page walks the sort key's index from
      * where the last page ended: store_read_sql.c) and its q= filter (a
      * prefix of lower(symbol) or lower(name), by LIKE: text_pattern_ops).
      * Built inside the migration transaction, so writes to the two tables
      * wait for the build: about a second per 100,000 tokens. */
     "CREATE INDEX IF NOT EXISTS token_prices_market_cap ON token_prices (market_cap, address);"
     "CREATE INDEX IF NOT EXISTS token_prices_volume_24h ON token_prices (volume_24h, address);"
     "CREATE INDEX IF NOT EXISTS tokens_updated ON tokens (last_refresh_success, address);"
     "CREATE INDEX IF NOT EXISTS tokens_symbol_lower ON tokens (lower(symbol) text_pattern_ops);"
     "CREATE INDEX IF NOT EXISTS tokens_name_lower ON tokens (lower(name) text_pattern_ops);"},
    {7, "change feed",
     /* The change feed (store.h, changes): each token's place in it, and the
      * counter row every commit that changes data takes the next places from
      * (statement B, store_pg_sql.c). Its row lock, held from B to the
      * commit, puts the commits of every collector in one order, and a
      * reader never sees a place before every smaller one is committed.
      * Every token that has data gets a place now, in address order (one
      * pass over the table), so a reader starting at 0 sees every token. */
     "ALTER TABLE tokens ADD COLUMN IF NOT EXISTS change_seq bigint NOT NULL DEFAULT 0;"
     "CREATE TABLE IF NOT EXISTS change_counter (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL);"
     "UPDATE tokens t SET change_seq = r.i FROM (SELECT address, row_number() OVER (ORDER BY address) AS i"
     " FROM tokens WHERE status <> 'pending') r WHERE t.address = r.address;"
     "INSERT INTO change_counter VALUES (1, (SELECT count(*) FROM tokens WHERE status <> 'pending'))"
     " ON CONFLICT (id) DO UPDATE SET seq = GREATEST(change_counter.seq, EXCLUDED.seq);"
     "CREATE INDEX IF NOT EXISTS tokens_change_seq ON tokens (change_seq);"},
    /* TODO(merge): this is migration 9 (8 is wip-hard's); it sits at index 8
     * until that one lands, then its number becomes 9. Self-contained: it
     * depends on no other migration. */
    {8, "cluster limiters",
     /* One row per [limiter NAME] with scope = cluster (cluster_pg.c): the
      * GCRA's theoretical arrival time, the pause after a 429, the shared
      * adaptive rate and when it last changed, the last grant (the
      * statement's answer) and counters. Updated in place by one statement
      * per reservation: pages half full keep every update HOT. */
     "CREATE TABLE IF NOT EXISTS cluster_limiters ("
     " name text PRIMARY KEY,"
     " tat timestamptz NOT NULL DEFAULT now(),"
     " pause_until timestamptz NOT NULL DEFAULT '1970-01-01 00:00:00+00',"
     " rate float8 NOT NULL CHECK (rate > 0),"
     " clean_since timestamptz NOT NULL DEFAULT now(),"
     " last_grant integer NOT NULL DEFAULT 0,"
     " taken bigint NOT NULL DEFAULT 0,"
     " pauses bigint NOT NULL DEFAULT 0,"
     " updated_at timestamptz NOT NULL DEFAULT now()"
     ") WITH (fillfactor = 50);"},
};

#define PG_SCHEMA_VERSION ((int)(sizeof pg_migrations / sizeof pg_migrations[0]))

#endif
