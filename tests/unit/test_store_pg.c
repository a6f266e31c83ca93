/* PostgreSQL store backend against a real server (pg_test.h: which server,
 * and the helpers). Each test works in a schema of its own
 * (options=-csearch_path%3D...). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pg_test.h"
#include "feed_text.h"
#include "store.h"
#include "store_pg_schema.h"
#include "util.h"

static const char weird_name[] = "Quote \"q\" back\\slash, {brace} caf\xc3\xa9 'x' NULL";

/* ---- tests --------------------------------------------------------------------------- */

static void round_trip(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_round");
    const char *addrs[] = {"CCC3", "AAA1", "BBB2", "AAA1"};
    import_list(st, addrs, 4, 3);
    import_list(st, addrs, 4, 0);

    claimed_token *got;
    size_t n = claim_n(st, "claim-1", 1000, 60, 10, 0, &got);
    assert_int_equal(n, 3);
    assert_string_equal(got[0].address, "AAA1");
    assert_string_equal(got[1].address, "BBB2");
    assert_string_equal(got[2].address, "CCC3");
    free_list(got, n);
    assert_q("claim-1", "SELECT claim_id FROM tokens WHERE address = 'BBB2'");
    assert_q("test:1", "SELECT claimed_by FROM tokens WHERE address = 'BBB2'");
    assert_int_equal(q_epoch("lease_until", "tokens", "BBB2"), 1060);
    /* Leased: nobody else gets them. */
    assert_int_equal(claim_n(st, "claim-2", 1001, 60, 10, 0, NULL), 0);

    tok t[3];
    tok_init(&t[0], "AAA1", STATUS_ENRICHED, 15);
    tc_values *m = &t[0].r.merged;
    values_set_str(m, TC_NAME, weird_name);
    values_set_str(m, TC_SYMBOL, "Q,{}");
    values_set_num(m, TC_DECIMALS, 6);
    values_set_str(m, TC_SUPPLY, "18446744073709551615");
    values_set_str(m, TC_IMAGE_URL, "https://img.example/a.png");
    values_set_str(m, TC_DESCRIPTION, "line1\nline2\t\"tab\"");
    values_set_num(m, TC_PRICE_USD, 0.1 + 0.2);
    values_set_num(m, TC_MARKET_CAP, 1e12);
    values_set_num(m, TC_LIQUIDITY_USD, 2.25);
    values_set_num(m, TC_VOLUME_24H, 0);
    values_set_num(m, TC_CHANGE_24H, -3.5);
    values_add_link(m, TC_LINK_SOCIAL, "twitter", "https://x.com/q\"uote");
    values_add_link(m, TC_LINK_SOCIAL, "telegram", "https://t.me/q");
    values_add_link(m, TC_LINK_WEBSITE, "Official", "https://q.example/{a,b}");
    values_add_link(m, TC_LINK_WEBSITE, NULL, "https://docs.q.example");
    t[0].outs[0] = OUTCOME_FOUND;
    values_set_str(&t[0].per[0], TC_NAME, weird_name);
    values_set_str(&t[0].per[0], TC_SUPPLY, "18446744073709551615");
    values_set_num(&t[0].per[0], TC_PRICE_USD, 0.1 + 0.2);
    t[0].outs[1] = OUTCOME_MISSING;

    tok_init(&t[1], "BBB2", STATUS_NO_DATA, 0);
    t[1].outs[0] = t[1].outs[1] = OUTCOME_MISSING;

    tok_init(&t[2], "CCC3", STATUS_FAILED, 0);
    t[2].outs[0] = t[2].outs[1] = OUTCOME_FAILED;
    t[2].errs[0] = xstrdup("timeout \"x\"");

    size_t fenced = 99;
    assert_int_equal(commit_toks(st, t, 3, 1000, "claim-1", &fenced), 0);
    assert_int_equal(fenced, 0);

    assert_q("enriched", "SELECT status FROM tokens WHERE address = 'AAA1'");
    assert_q(weird_name, "SELECT name FROM tokens WHERE address = 'AAA1'");
    assert_q("Q,{}", "SELECT symbol FROM tokens WHERE address = 'AAA1'");
    assert_q("6", "SELECT decimals FROM tokens WHERE address = 'AAA1'");
    assert_q("18446744073709551615", "SELECT supply FROM tokens WHERE address = 'AAA1'");
    assert_q("line1\nline2\t\"tab\"", "SELECT description FROM tokens WHERE address = 'AAA1'");
    assert_q("https://img.example/a.png", "SELECT image_url FROM tokens WHERE address = 'AAA1'");
    assert_q("1", "SELECT enrichment_attempts FROM tokens WHERE address = 'AAA1'");
    assert_int_equal(q_epoch("last_refresh_attempt", "tokens", "AAA1"), 1000);
    assert_int_equal(q_epoch("last_refresh_success", "tokens", "AAA1"), 1000);
    assert_int_equal(q_epoch("last_price_change", "tokens", "AAA1"), 1000);
    assert_q("15", "SELECT refresh_interval_seconds FROM tokens WHERE address = 'AAA1'");
    assert_int_equal(q_epoch("next_refresh_at", "tokens", "AAA1"), 1015);
    assert_q("0", "SELECT count(*) FROM tokens WHERE claim_id IS NOT NULL OR claimed_by IS NOT NULL"
                  " OR lease_until IS NOT NULL");
    assert_q("found", "SELECT refresh_metadata->'sources'->>'helius' FROM tokens WHERE address = 'AAA1'");
    assert_q("missing", "SELECT refresh_metadata->'sources'->>'dexscreener' FROM tokens WHERE address = 'AAA1'");
    /* Numbers exactly as the doubles were. */
    assert_q("0.30000000000000004", "SELECT price_usd::text FROM token_prices WHERE address = 'AAA1'");
    assert_q("1000000000000", "SELECT market_cap::text FROM token_prices WHERE address = 'AAA1'");
    assert_q(NULL, "SELECT fdv FROM token_prices WHERE address = 'AAA1'");
    assert_q("2.25", "SELECT liquidity_usd::text FROM token_prices WHERE address = 'AAA1'");
    assert_q("0", "SELECT volume_24h::text FROM token_prices WHERE address = 'AAA1'");
    assert_q("-3.5", "SELECT change_24h::text FROM token_prices WHERE address = 'AAA1'");
    assert_int_equal(q_epoch("updated_at", "token_prices", "AAA1"), 1000);
    assert_q("https://t.me/q telegram|https://x.com/q\"uote twitter",
             "SELECT string_agg(url || ' ' || type, '|' ORDER BY url) FROM token_socials WHERE address = 'AAA1'");
    assert_q("https://docs.q.example -|https://q.example/{a,b} Official",
             "SELECT string_agg(url || ' ' || coalesce(label, '-'), '|' ORDER BY url) FROM token_websites"
             " WHERE address = 'AAA1'");
    assert_q(weird_name, "SELECT data->>'name' FROM token_sources WHERE address = 'AAA1' AND source = 'helius'");
    assert_q("18446744073709551615",
             "SELECT data->>'supply' FROM token_sources WHERE address = 'AAA1' AND source = 'helius'");
    assert_q("0.30000000000000004",
             "SELECT (data->'price_usd')::text FROM token_sources WHERE address = 'AAA1' AND source = 'helius'");
    assert_int_equal(q_epoch("fetched_at", "token_sources", "AAA1"), 1000);
    assert_q("1", "SELECT count(*) FROM token_sources");

    assert_q("no_data", "SELECT status FROM tokens WHERE address = 'BBB2'");
    assert_q("30", "SELECT refresh_interval_seconds FROM tokens WHERE address = 'BBB2'");
    assert_int_equal(q_epoch("next_refresh_at", "tokens", "BBB2"), 1030);
    assert_int_equal(q_epoch("last_refresh_success", "tokens", "BBB2"), 1000);
    assert_q(NULL, "SELECT last_price_change FROM tokens WHERE address = 'BBB2'");
    assert_q("0", "SELECT count(*) FROM token_prices WHERE address = 'BBB2'");

    assert_q("failed", "SELECT status FROM tokens WHERE address = 'CCC3'");
    assert_q(NULL, "SELECT last_refresh_success FROM tokens WHERE address = 'CCC3'");
    assert_q("timeout \"x\"", "SELECT refresh_metadata->'errors'->>'helius' FROM tokens WHERE address = 'CCC3'");

    uint64_t counts[STATUS_COUNT];
    char err[1024];
    assert_int_equal(store_count_by_status(st, counts, err, sizeof err), 0);
    assert_int_equal(counts[STATUS_PENDING], 0);
    assert_int_equal(counts[STATUS_ENRICHED], 1);
    assert_int_equal(counts[STATUS_NO_DATA], 1);
    assert_int_equal(counts[STATUS_FAILED], 1);
    for (int i = 0; i < 3; i++)
        tok_free(&t[i]);

    /* Second refresh: due ones only; a failure keeps the data it had. */
    assert_int_equal(claim_n(st, "claim-3", 1020, 5000, 10, 1, NULL), 1); /* AAA1 due at 1015 */
    n = claim_n(st, "claim-4", 2000, 60, 10, 1, &got);
    assert_int_equal(n, 2);
    free_list(got, n);
    tok_init(&t[0], "AAA1", STATUS_FAILED, 0);
    t[0].outs[0] = t[0].outs[1] = OUTCOME_FAILED;
    fenced = 99;
    assert_int_equal(commit_toks(st, t, 1, 1030, "claim-3", &fenced), 0);
    assert_int_equal(fenced, 0);
    tok_free(&t[0]);
    assert_q("enriched", "SELECT status FROM tokens WHERE address = 'AAA1'");
    assert_q(weird_name, "SELECT name FROM tokens WHERE address = 'AAA1'");
    assert_q("2", "SELECT enrichment_attempts FROM tokens WHERE address = 'AAA1'");
    assert_int_equal(q_epoch("last_refresh_success", "tokens", "AAA1"), 1000);
    assert_int_equal(q_epoch("last_refresh_attempt", "tokens", "AAA1"), 1030);
    assert_int_equal(q_epoch("next_refresh_at", "tokens", "AAA1"), 1045); /* kept interval 15 */
    assert_q("2", "SELECT count(*) FROM token_socials WHERE address = 'AAA1'");
    assert_q("1", "SELECT count(*) FROM token_sources WHERE address = 'AAA1'");
    close_all(st);
}

static void fill_full(tok *t, const char *addr, double price, const char *name, const char *social)
{
    tok_init(t, addr, STATUS_ENRICHED, 20);
    values_set_str(&t->r.merged, TC_NAME, name);
    values_set_num(&t->r.merged, TC_PRICE_USD, price);
    values_add_link(&t->r.merged, TC_LINK_SOCIAL, "twitter", social);
    values_add_link(&t->r.merged, TC_LINK_WEBSITE, "Website", social);
    t->outs[0] = OUTCOME_FOUND;
    values_set_num(&t->per[0], TC_PRICE_USD, price);
    values_set_str(&t->per[0], TC_NAME, name);
    t->outs[1] = OUTCOME_FOUND;
    values_set_num(&t->per[1], TC_PRICE_USD, price * 2);
}

static char *snapshot_all(int with_tokens)
{
    char *parts[5];
    parts[0] = with_tokens ? snapshot("tokens", "address") : xstrdup("");
    parts[1] = snapshot("token_prices", "address");
    parts[2] = snapshot("token_socials", "address, type, url");
    parts[3] = snapshot("token_websites", "address, url");
    parts[4] = snapshot("token_sources", "address, source");
    strbuf b = {0};
    for (int i = 0; i < 5; i++) {
        sb_appends(&b, parts[i]);
        sb_appends(&b, "\n--\n");
        free(parts[i]);
    }
    return b.data;
}

static void replay_changes_nothing(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_replay");
    const char *addrs[] = {"R1", "R2"};
    import_list(st, addrs, 2, 2);
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 0, NULL), 2);
    tok t[2];
    fill_full(&t[0], "R1", 1.5, "one", "https://x.com/one");
    fill_full(&t[1], "R2", 2.5, "two", "https://x.com/two");
    size_t fenced = 99;
    assert_int_equal(commit_toks(st, t, 2, 1000, "c1", &fenced), 0);
    assert_int_equal(fenced, 0);
    char *before = snapshot_all(1);

    /* The same batch again (a retry after an unknown outcome): all fenced. */
    assert_int_equal(commit_toks(st, t, 2, 1000, "c1", &fenced), 0);
    assert_int_equal(fenced, 2);
    char *after = snapshot_all(1);
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* Claimed again and the same observation written again: the data tables
     * are byte-identical (only the attempt counter moves). */
    before = snapshot_all(0);
    char *tok_before = q1("SELECT string_agg(row(status, name, last_refresh_success, last_price_change,"
                          " next_refresh_at, refresh_metadata)::text, '|' ORDER BY address) FROM tokens");
    assert_int_equal(claim_n(st, "c2", 1100, 60, 10, 1, NULL), 2);
    assert_int_equal(commit_toks(st, t, 2, 1000, "c2", &fenced), 0);
    assert_int_equal(fenced, 0);
    after = snapshot_all(0);
    assert_string_equal(before, after);
    assert_q(tok_before, "SELECT string_agg(row(status, name, last_refresh_success, last_price_change,"
                         " next_refresh_at, refresh_metadata)::text, '|' ORDER BY address) FROM tokens");
    assert_q("2", "SELECT min(enrichment_attempts) FROM tokens");
    free(tok_before);
    free(before);
    free(after);
    tok_free(&t[0]);
    tok_free(&t[1]);
    close_all(st);
}

/* The change feed as "ADDRESS:SEQ ..." and the head. */
static const char *feed(store *st, int64_t since, size_t limit, int64_t *head)
{
    char err[1024];
    const char *t = feed_text(st, since, limit, head, err, sizeof err);
    if (!t)
        fail_msg("changes: %s", err);
    return t;
}

/* Each commit gives the tokens whose stored data it changed (a field, the
 * price, a link, a source's record) the next places in the feed, in the
 * same transaction; an unchanged observation takes none. Several
 * collectors committing at once take distinct places with no gap. */
static void change_feed_follows_commits(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_feed");
    const char *addrs[] = {"F1", "F2"};
    import_list(st, addrs, 2, 2);
    int64_t head = -1;
    assert_string_equal(feed(st, 0, 10, &head), "");
    assert_int_equal(head, 0);
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 0, NULL), 2);
    tok t[2];
    fill_full(&t[0], "F1", 1.5, "one", "https://x.com/one");
    fill_full(&t[1], "F2", 2.5, "two", "https://x.com/two");
    size_t fenced = 99;
    assert_int_equal(commit_toks(st, t, 2, 1000, "c1", &fenced), 0);
    assert_string_equal(feed(st, 0, 10, &head), "F1:1 F2:2");
    assert_int_equal(head, 2);
    assert_string_equal(feed(st, 1, 10, &head), "F2:2");

    /* The same observation later: nothing changed, nothing taken. */
    assert_int_equal(claim_n(st, "c2", 1100, 60, 10, 1, NULL), 2);
    assert_int_equal(commit_toks(st, t, 2, 1100, "c2", &fenced), 0);
    assert_string_equal(feed(st, 0, 10, &head), "F1:1 F2:2");
    assert_int_equal(head, 2);

    /* F2's price moves, F1's social link changes: both, in address order. */
    tok_free(&t[0]);
    tok_free(&t[1]);
    fill_full(&t[0], "F1", 1.5, "one", "https://x.com/uno");
    fill_full(&t[1], "F2", 2.75, "two", "https://x.com/two");
    assert_int_equal(claim_n(st, "c3", 1200, 60, 10, 1, NULL), 2);
    assert_int_equal(commit_toks(st, t, 2, 1200, "c3", &fenced), 0);
    assert_string_equal(feed(st, 0, 10, &head), "F1:3 F2:4");
    /* Only a source's record (dexscreener's price) moves: F1 alone. */
    values_set_num(&t[0].per[1], TC_PRICE_USD, 9.0);
    assert_int_equal(claim_n(st, "c4", 1300, 60, 10, 1, NULL), 2);
    assert_int_equal(commit_toks(st, t, 2, 1300, "c4", &fenced), 0);
    assert_string_equal(feed(st, 0, 10, &head), "F2:4 F1:5");
    /* Only the name: F2 alone. */
    values_set_str(&t[1].r.merged, TC_NAME, "deux");
    assert_int_equal(claim_n(st, "c5", 1400, 60, 10, 1, NULL), 2);
    assert_int_equal(commit_toks(st, t, 2, 1400, "c5", &fenced), 0);
    assert_string_equal(feed(st, 0, 10, &head), "F1:5 F2:6");
    assert_int_equal(head, 6);
    assert_q("6", "SELECT seq FROM change_counter");

    /* A reader sees the same and cannot write. */
    char err[1024];
    store *rd = store_open_reader(g_uri, err, sizeof err);
    if (!rd) {
        fprintf(stderr, "reader: %s\n", err);
        fail();
    }
    assert_string_equal(feed(rd, 5, 10, &head), "F2:6");
    store_close(rd);
    tok_free(&t[0]);
    tok_free(&t[1]);
    close_all(st);

    /* Four collectors committing 25 batches of 4 new tokens each at once:
     * 400 places, each taken once, none skipped. */
    st = open_schema("t_feed2");
    enum { WORKERS = 4, BATCHES = 25, PER = 4 };
    char names[WORKERS * BATCHES * PER][16];
    const char *all[WORKERS * BATCHES * PER];
    for (int i = 0; i < WORKERS * BATCHES * PER; i++) {
        snprintf(names[i], sizeof names[i], "W%04d", i);
        all[i] = names[i];
    }
    import_list(st, all, WORKERS * BATCHES * PER, WORKERS * BATCHES * PER);
    store_close(st);
    pid_t pids[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            char e[1024];
            store *cs = store_open(g_uri, e, sizeof e);
            int bad = !cs;
            for (int b = 0; b < BATCHES && !bad; b++) {
                char claim[32];
                snprintf(claim, sizeof claim, "w%d-%d", w, b);
                claimed_token *got = NULL;
                claim_request rq = {.owner = "w", .claim_id = claim, .now = 1000, .lease_s = 600, .max = PER};
                size_t n = 0;
                bad = store_claim(cs, &rq, &got, &n, e, sizeof e) != 0;
                tok bt[PER];
                for (size_t i = 0; i < n && !bad; i++)
                    fill_full(&bt[i], got[i].address, 1.0 + (double)i, "n", "https://x.com/w");
                size_t f;
                if (!bad && n)
                    bad = commit_toks(cs, bt, n, 1000, claim, &f) != 0;
                for (size_t i = 0; i < n; i++)
                    tok_free(&bt[i]);
                claimed_tokens_free(got, n);
            }
            if (cs)
                store_close(cs);
            _exit(bad);
        }
    }
    for (int w = 0; w < WORKERS; w++) {
        int status;
        assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_q("400 400 1 400 400", "SELECT count(*) || ' ' || count(DISTINCT change_seq) || ' ' || min(change_seq) || ' '"
                                 " || max(change_seq) || ' ' || (SELECT seq FROM change_counter) FROM tokens");
    close_all(NULL);
}

static void older_never_overwrites_newer(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_older");
    const char *addrs[] = {"O1"};
    import_list(st, addrs, 1, 1);
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 0, NULL), 1);
    tok t;
    fill_full(&t, "O1", 2.0, "new", "https://x.com/new");
    size_t fenced = 99;
    assert_int_equal(commit_toks(st, &t, 1, 2000, "c1", &fenced), 0);
    tok_free(&t);
    char *before = snapshot_all(0);

    /* A later commit carrying an older observation (t = 1500 < 2000). */
    assert_int_equal(claim_n(st, "c2", 3000, 60, 10, 1, NULL), 1);
    fill_full(&t, "O1", 1.0, "old", "https://x.com/old");
    t.outs[1] = OUTCOME_MISSING;
    values_clear(&t.per[1]);
    assert_int_equal(commit_toks(st, &t, 1, 1500, "c2", &fenced), 0);
    assert_int_equal(fenced, 0);
    tok_free(&t);
    char *after = snapshot_all(0);
    assert_string_equal(before, after);
    assert_q("2", "SELECT price_usd::text FROM token_prices");
    assert_int_equal(q_epoch("updated_at", "token_prices", "O1"), 2000);
    assert_q("2", "SELECT (data->'price_usd')::text FROM token_sources WHERE source = 'helius'");
    assert_q("4", "SELECT (data->'price_usd')::text FROM token_sources WHERE source = 'dexscreener'");
    assert_q("new", "SELECT name FROM tokens");
    assert_int_equal(q_epoch("last_refresh_attempt", "tokens", "O1"), 2000);
    assert_q("2", "SELECT enrichment_attempts FROM tokens");
    assert_q(NULL, "SELECT claim_id FROM tokens");
    free(before);
    free(after);
    close_all(st);
}

static void fence_after_lease_expired(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_fence");
    const char *addrs[] = {"F1", "F2", "F3"};
    import_list(st, addrs, 3, 3);
    assert_int_equal(claim_n(st, "A", 1000, 60, 10, 0, NULL), 3);
    /* A's lease ended at 1060; B takes the tokens over at 2000. */
    assert_int_equal(claim_n(st, "B", 2000, 60, 10, 0, NULL), 3);
    tok a[3], b[3];
    for (int i = 0; i < 3; i++) {
        fill_full(&a[i], addrs[i], 1.0, "from A", "https://x.com/a");
        fill_full(&b[i], addrs[i], 9.0, "from B", "https://x.com/b");
    }
    size_t fenced = 0;
    assert_int_equal(commit_toks(st, a, 3, 2001, "A", &fenced), 0);
    assert_int_equal(fenced, 3);
    /* Nothing of A's was written. */
    assert_q("3", "SELECT count(*) FROM tokens WHERE status = 'pending' AND claim_id = 'B' AND name IS NULL");
    assert_q("0", "SELECT (SELECT count(*) FROM token_prices) + (SELECT count(*) FROM token_socials)"
                  " + (SELECT count(*) FROM token_websites) + (SELECT count(*) FROM token_sources)");
    assert_int_equal(commit_toks(st, b, 3, 2002, "B", &fenced), 0);
    assert_int_equal(fenced, 0);
    /* A late again: still fenced, B's data stays. */
    assert_int_equal(commit_toks(st, a, 3, 2003, "A", &fenced), 0);
    assert_int_equal(fenced, 3);
    assert_q("3", "SELECT count(*) FROM tokens WHERE name = 'from B' AND claim_id IS NULL");
    assert_q("9", "SELECT DISTINCT price_usd::text FROM token_prices");
    assert_q("https://x.com/b", "SELECT DISTINCT url FROM token_socials");
    assert_q("1", "SELECT DISTINCT enrichment_attempts::text FROM tokens");
    for (int i = 0; i < 3; i++) {
        tok_free(&a[i]);
        tok_free(&b[i]);
    }
    close_all(st);
}

static void release_makes_claimable(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_release");
    const char *addrs[] = {"L1", "L2", "L3", "L4"};
    import_list(st, addrs, 4, 4);
    assert_int_equal(claim_n(st, "X", 1000, 600, 10, 0, NULL), 4);
    char err[1024];
    const char *two[] = {"L3", "L1"};
    /* Someone else's claim id releases nothing. */
    assert_int_equal(store_release(st, two, 2, "Y", err, sizeof err), 0);
    assert_int_equal(claim_n(st, "Z", 1001, 600, 10, 0, NULL), 0);
    assert_int_equal(store_release(st, two, 2, "X", err, sizeof err), 0);
    assert_q(NULL, "SELECT lease_until FROM tokens WHERE address = 'L1'");
    claimed_token *got;
    size_t n = claim_n(st, "Z", 1002, 600, 10, 0, &got);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].address, "L1");
    assert_string_equal(got[1].address, "L3");
    free_list(got, n);
    assert_q("X", "SELECT claim_id FROM tokens WHERE address = 'L2'");
    close_all(st);
}

/* The admin API's contest flag (tokens.in_contest), one statement. */
static void contest_flag_is_set_and_cleared(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_contest");
    const char *addrs[] = {"K1", "K2", "K3"};
    import_list(st, addrs, 3, 3);
    char err[1024];
    size_t updated = 9;
    const char *two[] = {"K3", "NOPE", "K1"};
    assert_int_equal(store_set_contest(st, two, 3, 1, &updated, err, sizeof err), 0);
    assert_int_equal(updated, 2);
    assert_q("true", "SELECT in_contest::text FROM tokens WHERE address = 'K1'");
    assert_q("false", "SELECT in_contest::text FROM tokens WHERE address = 'K2'");
    assert_int_equal(store_set_contest(st, two, 1, 0, &updated, err, sizeof err), 0);
    assert_int_equal(updated, 1);
    assert_q("false", "SELECT in_contest::text FROM tokens WHERE address = 'K3'");
    assert_q("true", "SELECT in_contest::text FROM tokens WHERE address = 'K1'");
    close_all(st);
}

#define CC_TOKENS 3000
#define CC_WORKERS 3

static void concurrent_claims_never_overlap(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_claims");
    char **addrs = xmalloc(CC_TOKENS * sizeof *addrs);
    for (int i = 0; i < CC_TOKENS; i++) {
        addrs[i] = xmalloc(16);
        snprintf(addrs[i], 16, "T%05d", i);
    }
    import_list(st, (const char *const *)addrs, CC_TOKENS, CC_TOKENS);
    char files[CC_WORKERS][64];
    pid_t pids[CC_WORKERS];
    for (int w = 0; w < CC_WORKERS; w++) {
        snprintf(files[w], sizeof files[w], "/tmp/tc-claims-%d-%d", (int)getpid(), w);
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            /* Child: its own connection; never touches the parent's. */
            char err[1024];
            store *cs = store_open(g_uri, err, sizeof err);
            FILE *f = fopen(files[w], "w");
            if (!cs || !f)
                _exit(2);
            for (unsigned k = 0;; k++) {
                char id[64];
                snprintf(id, sizeof id, "w%d-%u", w, k);
                claim_request rq = {.owner = "child", .claim_id = id, .now = 1000, .lease_s = 600, .max = 17,
                                    .due = 0};
                claimed_token *list;
                size_t n;
                if (store_claim(cs, &rq, &list, &n, err, sizeof err) != 0) {
                    fprintf(stderr, "child claim: %s\n", err);
                    _exit(3);
                }
                for (size_t i = 0; i < n; i++)
                    fprintf(f, "%s\n", list[i].address);
                claimed_tokens_free(list, n);
                if (n == 0)
                    break;
            }
            fclose(f);
            store_close(cs);
            _exit(0);
        }
    }
    for (int w = 0; w < CC_WORKERS; w++) {
        int status;
        assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    char *seen = xcalloc(CC_TOKENS, 1);
    size_t total = 0;
    int workers_with_work = 0;
    for (int w = 0; w < CC_WORKERS; w++) {
        FILE *f = fopen(files[w], "r");
        assert_non_null(f);
        char line[64];
        size_t mine = 0;
        while (fgets(line, sizeof line, f)) {
            int idx = atoi(line + 1);
            assert_true(idx >= 0 && idx < CC_TOKENS);
            assert_int_equal(seen[idx], 0); /* never claimed twice */
            seen[idx] = 1;
            total++;
            mine++;
        }
        workers_with_work += mine > 0;
        fclose(f);
        unlink(files[w]);
    }
    assert_int_equal(total, CC_TOKENS);
    fprintf(stderr, "concurrent claims: %d tokens, %d of %d workers got some, no duplicates\n", CC_TOKENS,
            workers_with_work, CC_WORKERS);
    assert_q("0", "SELECT count(*) FROM tokens WHERE claim_id IS NULL");
    free(seen);
    for (int i = 0; i < CC_TOKENS; i++)
        free(addrs[i]);
    free(addrs);
    close_all(st);
}

static void migration_twice_is_noop(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    schema_uri("t_migrate", NULL);
    char msg[1024], err[1024];
    assert_int_equal(store_migrate(g_uri, msg, sizeof msg, err, sizeof err), 0);
    assert_non_null(strstr(msg, "from version 0 to 8"));
    assert_int_equal(store_migrate(g_uri, msg, sizeof msg, err, sizeof err), 0);
    assert_non_null(strstr(msg, "already at version 8"));
    g_db = connect_or_die(g_uri);
    assert_q("8", "SELECT count(*) FROM schema_migrations");
    assert_q("{fillfactor=50}", "SELECT reloptions::text FROM pg_class WHERE oid = 't_migrate.token_sources'::regclass");
    assert_q("{fillfactor=50}", "SELECT reloptions::text FROM pg_class WHERE oid = 't_migrate.token_prices'::regclass");
    PQfinish(g_db);
    g_db = NULL;

    /* Two processes migrating a fresh schema at once: both succeed, once. */
    schema_uri("t_migrate2", NULL);
    pid_t pids[2];
    for (int w = 0; w < 2; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            char m[1024], e[1024];
            int rc = store_migrate(g_uri, m, sizeof m, e, sizeof e);
            if (rc)
                fprintf(stderr, "child migrate: %s\n", e);
            _exit(rc ? 1 : 0);
        }
    }
    for (int w = 0; w < 2; w++) {
        int status;
        assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    g_db = connect_or_die(g_uri);
    assert_q("8", "SELECT count(*) FROM schema_migrations");
    assert_q("tokens", "SELECT to_regclass('t_migrate2.tokens')::text");
    PQfinish(g_db);
    g_db = NULL;
}

static void survives_connection_loss(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    char app[64];
    snprintf(app, sizeof app, "tc_victim_%d", (int)getpid());
    char extra[96];
    snprintf(extra, sizeof extra, "&application_name=%s", app);
    schema_uri("t_connloss", NULL);
    g_db = connect_or_die(g_uri);
    char victim[1200];
    snprintf(victim, sizeof victim, "%s%s", g_uri, extra);
    char err[1024];
    store *st = store_open(victim, err, sizeof err);
    assert_non_null(st);
    const char *addrs[] = {"K1", "K2"};
    import_list(st, addrs, 2, 2);
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 0, NULL), 2);

    /* Kill the store's own backend from another connection. */
    assert_q("1", "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'", app);
    assert_q("t", "SELECT bool_and(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '%s'",
             app);
    for (int i = 0; i < 100; i++) { /* until it is gone */
        char *left = q1("SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'", app);
        int gone = !strcmp(left, "0");
        free(left);
        if (gone)
            break;
        usleep(20000);
    }

    tok t[2];
    fill_full(&t[0], "K1", 1.0, "k one", "https://x.com/k1");
    fill_full(&t[1], "K2", 2.0, "k two", "https://x.com/k2");
    size_t fenced = 99;
    assert_int_equal(commit_toks(st, t, 2, 1001, "c1", &fenced), 0);
    assert_int_equal(fenced, 0);
    assert_q("2", "SELECT count(*) FROM tokens WHERE status = 'enriched' AND claim_id IS NULL");
    assert_q("2", "SELECT count(*) FROM token_prices");
    /* And it keeps working on the new session (statements prepared again). */
    uint64_t counts[STATUS_COUNT];
    assert_int_equal(store_count_by_status(st, counts, err, sizeof err), 0);
    assert_int_equal(counts[STATUS_ENRICHED], 2);
    tok_free(&t[0]);
    tok_free(&t[1]);
    close_all(st);
}

static void permanent_error_writes_nothing(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_permanent");
    const char *addrs[] = {"P1", "P2"};
    import_list(st, addrs, 2, 2);
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 0, NULL), 2);
    tok t[3];
    fill_full(&t[0], "P1", 1.0, "ok", "https://x.com/p1");
    fill_full(&t[1], "P2", 2.0, "bad", "https://x.com/p2");
    t[1].r.status = (token_status)9; /* not a status: violates the CHECK */
    token_result res[2] = {t[0].r, t[1].r};
    size_t fenced = 0;
    char err[1024] = "";
    int64_t t0 = now_mono_ns();
    assert_int_equal(store_commit(st, res, 2, 1001, "c1", &fenced, err, sizeof err), -1);
    int64_t took = now_mono_ns() - t0;
    assert_true(took < 90 * NS_PER_MS); /* permanent: no retry, no backoff */
    assert_non_null(strstr(err, "postgresql"));
    assert_non_null(strstr(err, "SQLSTATE 23514"));
    /* Nothing half-written: the good token too is untouched and still ours. */
    assert_q("2", "SELECT count(*) FROM tokens WHERE status = 'pending' AND claim_id = 'c1' AND name IS NULL");
    assert_q("0", "SELECT count(*) FROM token_prices");

    /* A repeated address in a batch is written once, never an error. */
    fill_full(&t[2], "P2", 3.0, "dup", "https://x.com/p2");
    t[1].r.status = STATUS_ENRICHED;
    token_result dup[3] = {t[1].r, t[0].r, t[2].r};
    assert_int_equal(store_commit(st, dup, 3, 1002, "c1", &fenced, err, sizeof err), 0);
    assert_int_equal(fenced, 1);
    assert_q("2", "SELECT count(*) FROM tokens WHERE status = 'enriched'");
    for (int i = 0; i < 3; i++)
        tok_free(&t[i]);
    close_all(st);
}

static void foreign_tokens_table_refused(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    schema_uri("t_foreign", NULL);
    PGconn *admin = connect_or_die(g_base_uri);
    exec_ok(admin, "CREATE SCHEMA t_foreign; CREATE TABLE t_foreign.tokens (id serial PRIMARY KEY,"
                   " address text UNIQUE NOT NULL, metadata_status text DEFAULT 'pending')");
    PQfinish(admin);
    char err[1024];
    store *st = store_open(g_uri, err, sizeof err);
    assert_null(st);
    assert_non_null(strstr(err, "not a tokencollector table"));
    assert_non_null(strstr(err, "search_path"));
    assert_non_null(strstr(err, "SQLSTATE 55000"));
}


/* claimed_token.outstanding, tokens.outstanding_sources / _attempts, the
 * per-outcome token_sources rules and next_refresh_at (store.h). */
static void outstanding_sources_and_outcomes(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_outstanding");
    const char *addrs[] = {"S1", "S2", "S3", "S4"};
    import_list(st, addrs, 4, 4);
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 0, NULL), 4);
    tok t[4];
    /* S1: dexscreener failed, due again at 1100 as the engine says. */
    fill_full(&t[0], "S1", 1.0, "one", "https://x.com/s1");
    t[0].outs[1] = OUTCOME_FAILED;
    values_clear(&t[0].per[1]);
    t[0].r.outstanding_attempts = 1;
    t[0].r.next_refresh_at = 1100;
    /* S2: helius skipped (breaker open), no time given, no interval. */
    fill_full(&t[1], "S2", 2.0, "two", "https://x.com/s2");
    t[1].r.refresh_interval_s = 0;
    t[1].outs[0] = OUTCOME_SKIPPED;
    values_clear(&t[1].per[0]);
    t[1].r.outstanding_attempts = 2;
    /* S3: everything answered: nothing owed, whatever the counter says. */
    fill_full(&t[2], "S3", 3.0, "three", "https://x.com/s3");
    t[2].r.outstanding_attempts = 5;
    /* S4: both failed: both owed, in source order. */
    tok_init(&t[3], "S4", STATUS_FAILED, 0);
    t[3].outs[0] = t[3].outs[1] = OUTCOME_FAILED;
    t[3].r.outstanding_attempts = 1;
    t[3].r.next_refresh_at = 1060;
    size_t fenced = 99;
    assert_int_equal(commit_toks(st, t, 4, 1000, "c1", &fenced), 0);
    assert_int_equal(fenced, 0);
    for (int i = 0; i < 4; i++)
        tok_free(&t[i]);
    assert_q("dexscreener 1", "SELECT outstanding_sources || ' ' || outstanding_attempts FROM tokens WHERE address = 'S1'");
    assert_q("helius 2", "SELECT outstanding_sources || ' ' || outstanding_attempts FROM tokens WHERE address = 'S2'");
    assert_q(NULL, "SELECT outstanding_sources FROM tokens WHERE address = 'S3'");
    assert_q("0", "SELECT outstanding_attempts FROM tokens WHERE address = 'S3'");
    assert_q("helius,dexscreener", "SELECT outstanding_sources FROM tokens WHERE address = 'S4'");
    assert_int_equal(q_epoch("next_refresh_at", "tokens", "S1"), 1100);
    assert_int_equal(q_epoch("next_refresh_at", "tokens", "S2"), 1030); /* now + stored default 30 */
    assert_int_equal(q_epoch("next_refresh_at", "tokens", "S3"), 1020); /* now + its interval 20 */
    assert_int_equal(q_epoch("next_refresh_at", "tokens", "S4"), 1060);
    /* FAILED / SKIPPED write no token_sources row; FOUND does. */
    assert_q("S1 helius|S2 dexscreener|S3 dexscreener|S3 helius",
             "SELECT string_agg(address || ' ' || source, '|' ORDER BY address, source) FROM token_sources");

    /* --once claims (due = 0): nothing pending, owed tokens once due. */
    assert_int_equal(claim_n(st, "c2", 1020, 60, 10, 0, NULL), 0);
    claimed_token *got;
    size_t n = claim_n(st, "c2", 1050, 600, 10, 0, &got);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].address, "S2");
    assert_non_null(got[0].outstanding);
    assert_string_equal(got[0].outstanding, "helius");
    assert_int_equal(got[0].outstanding_attempts, 2);
    free_list(got, n);
    n = claim_n(st, "c3", 1200, 60, 10, 0, &got); /* S3 is due too, but owes nothing */
    assert_int_equal(n, 2);
    assert_string_equal(got[0].address, "S1");
    assert_string_equal(got[0].outstanding, "dexscreener");
    assert_int_equal(got[0].outstanding_attempts, 1);
    assert_string_equal(got[1].address, "S4");
    assert_string_equal(got[1].outstanding, "helius,dexscreener");
    free_list(got, n);

    /* S2's owed source answers; dexscreener was not asked (KEPT): its row stands. */
    fill_full(&t[0], "S2", 2.5, "two again", "https://x.com/s2");
    t[0].outs[1] = OUTCOME_KEPT;
    values_clear(&t[0].per[1]);
    assert_int_equal(commit_toks(st, t, 1, 1051, "c2", &fenced), 0);
    assert_int_equal(fenced, 0);
    tok_free(&t[0]);
    assert_q(NULL, "SELECT outstanding_sources FROM tokens WHERE address = 'S2'");
    assert_q("0", "SELECT outstanding_attempts FROM tokens WHERE address = 'S2'");
    assert_int_equal(q_epoch("next_refresh_at", "tokens", "S2"), 1071);
    assert_q("1000 dexscreener 4|1051 helius 2.5",
             "SELECT string_agg(extract(epoch FROM fetched_at)::bigint || ' ' || source || ' ' || (data->'price_usd')::text,"
             " '|' ORDER BY source) FROM token_sources WHERE address = 'S2'");

    /* S1: dexscreener answered without it (MISSING deletes nothing there),
     * helius KEPT; S4: helius MISSING, dexscreener still FAILED. */
    tok_init(&t[0], "S1", STATUS_ENRICHED, 0);
    t[0].outs[0] = OUTCOME_KEPT;
    t[0].outs[1] = OUTCOME_MISSING;
    tok_init(&t[1], "S4", STATUS_FAILED, 0);
    t[1].outs[0] = OUTCOME_MISSING;
    t[1].outs[1] = OUTCOME_FAILED;
    t[1].r.outstanding_attempts = 2;
    assert_int_equal(commit_toks(st, t, 2, 1201, "c3", &fenced), 0);
    assert_int_equal(fenced, 0);
    tok_free(&t[0]);
    tok_free(&t[1]);
    assert_q("1", "SELECT count(*) FROM token_sources WHERE address = 'S1' AND source = 'helius'");
    assert_q(NULL, "SELECT outstanding_sources FROM tokens WHERE address = 'S1'");
    assert_q("dexscreener 2", "SELECT outstanding_sources || ' ' || outstanding_attempts FROM tokens WHERE address = 'S4'");

    /* S3: helius now MISSING deletes its row; dexscreener KEPT keeps its own. */
    assert_int_equal(claim_n(st, "c4", 5000, 60, 10, 1, NULL), 4);
    tok_init(&t[0], "S3", STATUS_ENRICHED, 0);
    t[0].outs[0] = OUTCOME_MISSING;
    t[0].outs[1] = OUTCOME_KEPT;
    assert_int_equal(commit_toks(st, t, 1, 5001, "c4", &fenced), 0);
    tok_free(&t[0]);
    assert_q("dexscreener", "SELECT string_agg(source, ',') FROM token_sources WHERE address = 'S3'");
    close_all(st);
}

typedef struct loaded {
    strbuf b;
} loaded;

static void collect_source(void *ctx, const char *address, const char *source, const char *json)
{
    loaded *l = ctx;
    tc_values v = {0};
    /* Parsed back as the engine does: the stored record round-trips. */
    assert_int_equal(values_from_json(&v, json), 0);
    char *again = values_to_json(&v);
    sb_printf(&l->b, "%s %s %s\n", address, source, again);
    free(again);
    values_clear(&v);
}

static void load_sources_round_trip(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_load");
    const char *addrs[] = {"D1", "D2", "D3"};
    import_list(st, addrs, 3, 3);
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 0, NULL), 3);
    tok t[2];
    fill_full(&t[0], "D1", 0.1 + 0.2, weird_name, "https://x.com/d1");
    values_add_link(&t[0].per[0], TC_LINK_SOCIAL, "twitter", "https://x.com/d1");
    values_set_str(&t[0].per[0], TC_SUPPLY, "18446744073709551615");
    values_set_num(&t[0].per[0], TC_MARKET_CAP, 1e21);
    fill_full(&t[1], "D2", 2.0, "two", "https://x.com/d2");
    t[1].outs[1] = OUTCOME_MISSING;
    values_clear(&t[1].per[1]);
    size_t fenced;
    assert_int_equal(commit_toks(st, t, 2, 1000, "c1", &fenced), 0);
    char *want_d1h = values_to_json(&t[0].per[0]), *want_d1d = values_to_json(&t[0].per[1]),
         *want_d2h = values_to_json(&t[1].per[0]);
    loaded l = {0};
    const char *ask[] = {"D3", "D2", "D1", "D2", "NOPE"};
    char err[1024];
    assert_int_equal(store_load_sources(st, ask, 5, collect_source, &l, err, sizeof err), 0);
    char want[4096];
    snprintf(want, sizeof want, "D1 dexscreener %s\nD1 helius %s\nD2 helius %s\n", want_d1d, want_d1h, want_d2h);
    assert_string_equal(l.b.data, want);
    sb_free(&l.b);
    free(want_d1h);
    free(want_d1d);
    free(want_d2h);
    tok_free(&t[0]);
    tok_free(&t[1]);
    close_all(st);
}

/* A store made by the previous release (schema version 1) is brought to the
 * current version, by two processes at once, keeping its rows. */
static void v1_schema(const char *schema)
{
    schema_uri(schema, NULL);
    PGconn *c = connect_or_die(g_uri);
    exec_ok(c, "BEGIN");
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
    exec_ok(c, sql);
    exec_ok(c, pg_migration_prelude);
    assert_int_equal(pg_migrations[0].version, 1);
    exec_ok(c, pg_migrations[0].sql);
    exec_ok(c, "INSERT INTO schema_migrations (version, name) VALUES (1, 'initial schema')");
    exec_ok(c, "INSERT INTO tokens (address, status, name) VALUES ('OLD1', 'enriched', 'kept')");
    exec_ok(c, "COMMIT");
    PQfinish(c);
}

static void migrate_from_version_1(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    assert_int_equal(PG_SCHEMA_VERSION, 8);
    v1_schema("t_v1");
    char msg[1024], err[1024];
    assert_int_equal(store_migrate(g_uri, msg, sizeof msg, err, sizeof err), 0);
    assert_non_null(strstr(msg, "from version 1 to 8"));
    assert_int_equal(store_migrate(g_uri, msg, sizeof msg, err, sizeof err), 0);
    assert_non_null(strstr(msg, "already at version 8"));
    g_db = connect_or_die(g_uri);
    assert_q("kept 0 true false", "SELECT name || ' ' || outstanding_attempts || ' ' || (outstanding_sources IS NULL)"
                               " || ' ' || in_contest FROM tokens WHERE address = 'OLD1'");
    assert_q("1,2,3,4,5,6,7,8", "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations");
    PQfinish(g_db);
    g_db = NULL;

    v1_schema("t_v1b");
    pid_t pids[3];
    for (int w = 0; w < 3; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            char m[1024], e[1024];
            int rc = store_migrate(g_uri, m, sizeof m, e, sizeof e);
            if (rc)
                fprintf(stderr, "child migrate: %s\n", e);
            _exit(rc ? 1 : 0);
        }
    }
    for (int w = 0; w < 3; w++) {
        int status;
        assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    g_db = connect_or_die(g_uri);
    assert_q("1,2,3,4,5,6,7,8", "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations");
    assert_q("3", "SELECT count(*) FROM information_schema.columns WHERE table_schema = 't_v1b'"
                  " AND table_name = 'tokens' AND column_name IN ('outstanding_sources', 'outstanding_attempts',"
                  " 'in_contest')");
    /* The store opens on it and works. */
    char err2[1024];
    store *st = store_open(g_uri, err2, sizeof err2);
    assert_non_null(st);
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 1, NULL), 1);
    close_all(st);
}

/* Bytes that are not UTF-8 cannot be stored by PostgreSQL: replaced, the
 * batch is written. */
static void invalid_utf8_is_replaced(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_utf8");
    const char *addrs[] = {"U1"};
    import_list(st, addrs, 1, 1);
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 0, NULL), 1);
    tok t;
    fill_full(&t, "U1", 1.0, "ok \xc3\xa9 bad \xff\xc3( end \xed\xa0\x80 \xf0\x9f\x98\x80", "https://x.com/u1");
    size_t fenced;
    assert_int_equal(commit_toks(st, &t, 1, 1000, "c1", &fenced), 0);
    assert_int_equal(fenced, 0);
    tok_free(&t);
    assert_q("ok \xc3\xa9 bad \xef\xbf\xbd\xef\xbf\xbd( end \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xf0\x9f\x98\x80",
             "SELECT name FROM tokens");
    assert_q("enriched", "SELECT status FROM tokens");
    close_all(st);
}

/* Link sets are replaced as sets: a commit writes only what changed (rows
 * kept as they were are not rewritten), relabels websites, drops what is
 * gone, adds what is new; duplicates in the new set (also after invalid
 * UTF-8 is replaced) are stored once. */
static char *links_of(const char *addr)
{
    return q1("SELECT coalesce((SELECT string_agg(type || ' ' || url, '|' ORDER BY type, url) FROM token_socials"
              " WHERE address = '%s'), '') || ' / ' || coalesce((SELECT string_agg(url || ' ' || coalesce(label, '-'),"
              " '|' ORDER BY url) FROM token_websites WHERE address = '%s'), '')",
              addr, addr);
}

#define assert_links(expected, addr)                                                                         \
    do {                                                                                                     \
        char *l_ = links_of(addr);                                                                           \
        assert_string_equal(l_, expected);                                                                   \
        free(l_);                                                                                            \
    } while (0)

static char *link_ctids(const char *addr)
{
    return q1("SELECT coalesce((SELECT string_agg(ctid::text, ',' ORDER BY type, url) FROM token_socials"
              " WHERE address = '%s'), '') || '/' || coalesce((SELECT string_agg(ctid::text, ',' ORDER BY url)"
              " FROM token_websites WHERE address = '%s'), '')",
              addr, addr);
}

static void link_sets_follow_changes(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_links");
    const char *addrs[] = {"L1", "L2"};
    import_list(st, addrs, 2, 2);
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 0, NULL), 2);
    tok t[2];
    tok_init(&t[0], "L1", STATUS_ENRICHED, 30);
    tc_values *m = &t[0].r.merged;
    values_add_link(m, TC_LINK_SOCIAL, "twitter", "https://x.com/1");
    values_add_link(m, TC_LINK_SOCIAL, "telegram", "https://t.me/1");
    values_add_link(m, TC_LINK_SOCIAL, "twitter", "https://x.com/1"); /* the same pair again */
    values_add_link(m, TC_LINK_SOCIAL, NULL, "https://u.example/1");  /* unlabeled: type "" */
    values_add_link(m, TC_LINK_WEBSITE, "Website", "https://w.example/1");
    values_add_link(m, TC_LINK_WEBSITE, NULL, "https://w.example/2");
    values_add_link(m, TC_LINK_WEBSITE, "Other", "https://w.example/1"); /* same url: the first one counts */
    tok_init(&t[1], "L2", STATUS_ENRICHED, 30);
    size_t fenced = 99;
    assert_int_equal(commit_toks(st, t, 2, 1000, "c1", &fenced), 0);
    assert_int_equal(fenced, 0);
    assert_links(" https://u.example/1|telegram https://t.me/1|twitter https://x.com/1 / "
                 "https://w.example/1 Website|https://w.example/2 -",
                 "L1");
    assert_links(" / ", "L2");
    char *ctids = link_ctids("L1");

    /* The same sets again, in another order: nothing is rewritten. */
    assert_int_equal(claim_n(st, "c2", 2000, 60, 10, 1, NULL), 2);
    tok_free(&t[0]);
    tok_init(&t[0], "L1", STATUS_ENRICHED, 30);
    m = &t[0].r.merged;
    values_add_link(m, TC_LINK_WEBSITE, NULL, "https://w.example/2");
    values_add_link(m, TC_LINK_SOCIAL, NULL, "https://u.example/1");
    values_add_link(m, TC_LINK_SOCIAL, "twitter", "https://x.com/1");
    values_add_link(m, TC_LINK_WEBSITE, "Website", "https://w.example/1");
    values_add_link(m, TC_LINK_SOCIAL, "telegram", "https://t.me/1");
    assert_int_equal(commit_toks(st, t, 2, 2000, "c2", &fenced), 0);
    assert_int_equal(fenced, 0);
    char *again = link_ctids("L1");
    assert_string_equal(again, ctids);
    free(again);
    free(ctids);

    /* Changed sets: twitter kept, telegram and the unlabeled one gone,
     * discord new; w1 relabeled, w2 gone, w3 new. L2 gets one. */
    assert_int_equal(claim_n(st, "c3", 3000, 60, 10, 1, NULL), 2);
    char *kept = q1("SELECT ctid::text FROM token_socials WHERE address = 'L1' AND type = 'twitter'");
    for (int i = 0; i < 2; i++)
        tok_free(&t[i]);
    tok_init(&t[0], "L1", STATUS_ENRICHED, 30);
    m = &t[0].r.merged;
    values_add_link(m, TC_LINK_SOCIAL, "discord", "https://d.gg/1");
    values_add_link(m, TC_LINK_SOCIAL, "twitter", "https://x.com/1");
    values_add_link(m, TC_LINK_WEBSITE, "Site", "https://w.example/1");
    values_add_link(m, TC_LINK_WEBSITE, NULL, "https://w.example/3");
    tok_init(&t[1], "L2", STATUS_ENRICHED, 30);
    values_add_link(&t[1].r.merged, TC_LINK_SOCIAL, "twitter", "https://x.com/2");
    assert_int_equal(commit_toks(st, t, 2, 3000, "c3", &fenced), 0);
    assert_links("discord https://d.gg/1|twitter https://x.com/1 / https://w.example/1 Site|https://w.example/3 -",
                 "L1");
    assert_links("twitter https://x.com/2 / ", "L2");
    assert_q(kept, "SELECT ctid::text FROM token_socials WHERE address = 'L1' AND type = 'twitter'");
    free(kept);

    /* A label back to none; a failed refresh leaves L2's links alone; an
     * older observation too. */
    assert_int_equal(claim_n(st, "c4", 4000, 60, 10, 1, NULL), 2);
    for (int i = 0; i < 2; i++)
        tok_free(&t[i]);
    tok_init(&t[0], "L1", STATUS_ENRICHED, 30);
    values_add_link(&t[0].r.merged, TC_LINK_WEBSITE, NULL, "https://w.example/1");
    tok_init(&t[1], "L2", STATUS_FAILED, 30);
    values_add_link(&t[1].r.merged, TC_LINK_SOCIAL, "twitter", "https://x.com/other");
    assert_int_equal(commit_toks(st, t, 2, 4000, "c4", &fenced), 0);
    assert_links(" / https://w.example/1 -", "L1");
    assert_links("twitter https://x.com/2 / ", "L2");
    assert_int_equal(claim_n(st, "c5", 5000, 60, 10, 1, NULL), 2);
    tok_free(&t[1]);
    tok_init(&t[1], "L2", STATUS_ENRICHED, 30);
    values_add_link(&t[1].r.merged, TC_LINK_SOCIAL, "twitter", "https://x.com/older");
    assert_int_equal(commit_toks(st, &t[1], 1, 3500, "c5", &fenced), 0); /* observed before 4000 */
    assert_links("twitter https://x.com/2 / ", "L2");

    /* Two urls that differ only in invalid bytes are the same once stored:
     * one row, no error, now and on the next commit. */
    for (int round = 0; round < 2; round++) {
        assert_int_equal(claim_n(st, round ? "c7" : "c6", 6000 + round * 1000, 60, 10, 1, NULL), 2);
        tok_free(&t[0]);
        tok_init(&t[0], "L1", STATUS_ENRICHED, 30);
        values_add_link(&t[0].r.merged, TC_LINK_SOCIAL, "x", "https://x.com/\xff");
        values_add_link(&t[0].r.merged, TC_LINK_SOCIAL, "x", "https://x.com/\xfe");
        values_add_link(&t[0].r.merged, TC_LINK_WEBSITE, "a\xff", "https://w.example/\xff");
        values_add_link(&t[0].r.merged, TC_LINK_WEBSITE, "b", "https://w.example/\xfe");
        assert_int_equal(commit_toks(st, t, 1, 6000 + round * 1000, round ? "c7" : "c6", &fenced), 0);
        assert_int_equal(fenced, 0);
        assert_links("x https://x.com/\xef\xbf\xbd / https://w.example/\xef\xbf\xbd a\xef\xbf\xbd", "L1");
    }
    for (int i = 0; i < 2; i++)
        tok_free(&t[i]);
    close_all(st);
}

/* The JSON the store writes (refresh_metadata, token_sources.data) has the
 * value of the shared serializers' (store_refresh_metadata, values_to_json),
 * which the SQLite backend stores. */
static void json_same_as_reference(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_json");
    const char *addrs[] = {"J1"};
    import_list(st, addrs, 1, 1);
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 0, NULL), 1);
    tok t;
    tok_init(&t, "J1", STATUS_ENRICHED, 30);
    static const char tricky[] = "q\"b\\s/ \x01\x1f\b\f\n\r\t caf\xc3\xa9 \xf0\x9f\x98\x80 {[,]}";
    values_set_str(&t.r.merged, TC_NAME, tricky);
    t.outs[0] = OUTCOME_FOUND;
    tc_values *v = &t.per[0];
    values_set_str(v, TC_NAME, tricky);
    values_set_str(v, TC_SYMBOL, "");
    values_set_str(v, TC_SUPPLY, "18446744073709551615");
    values_set_num(v, TC_DECIMALS, 9);
    values_set_num(v, TC_PRICE_USD, 0.1 + 0.2);
    values_set_num(v, TC_MARKET_CAP, 1e300);
    values_set_num(v, TC_FDV, 1e-7);
    values_set_num(v, TC_LIQUIDITY_USD, -0.0);
    values_set_num(v, TC_VOLUME_24H, NAN);
    values_set_num(v, TC_CHANGE_24H, 123456789012345678.0);
    values_add_link(v, TC_LINK_SOCIAL, NULL, "https://x.com/\"j\"");
    values_add_link(v, TC_LINK_WEBSITE, "Site \\ 1", "https://j.example");
    values_add_link(v, TC_LINK_WEBSITE, NULL, "https://j2.example");
    t.outs[1] = OUTCOME_FAILED;
    t.errs[0] = xstrdup("unused \"x\"");
    t.errs[1] = xstrdup("HTTP 503 \"busy\"\n\\");
    size_t fenced = 99;
    assert_int_equal(commit_toks(st, &t, 1, 1000, "c1", &fenced), 0);
    assert_int_equal(fenced, 0);
    char *data = values_to_json(&t.per[0]);
    char *meta = store_refresh_metadata(&t.r);
    const char *params[2] = {data, meta};
    PGresult *r = PQexecParams(g_db,
                               "SELECT (SELECT data FROM token_sources WHERE address = 'J1' AND source = 'helius')"
                               " = $1::jsonb, (SELECT refresh_metadata FROM tokens WHERE address = 'J1') = $2::jsonb",
                               2, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "t");
    assert_string_equal(PQgetvalue(r, 0, 1), "t");
    PQclear(r);
    free(data);
    free(meta);
    assert_q(tricky, "SELECT data->>'name' FROM token_sources WHERE address = 'J1'");
    tok_free(&t);
    close_all(st);
}

/* The daemon's operations: claim_addresses (its own choice of tokens), scan
 * (every token with its scheduling facts), priority_score on commit. */
typedef struct scanned {
    strbuf b;
    size_t n;
} scanned;

static void collect_brief(void *ctx, const token_brief *t)
{
    scanned *sc = ctx;
    sc->n++;
    if (sc->n > 5)
        return;
    char price[32] = "-";
    if (!isnan(t->price_usd))
        format_double(price, t->price_usd);
    sb_printf(&sc->b, "%s %s %lld %d %d %s|", t->address, status_name(t->status), (long long)t->next_refresh_at,
              t->refresh_interval_s, t->in_contest, price);
}

static void daemon_operations(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_daemon");
    const char *addrs[] = {"A1", "A2", "A3"};
    import_list(st, addrs, 3, 3);
    assert_int_equal(claim_n(st, "c1", 1000, 60, 10, 0, NULL), 3);
    tok t[2];
    fill_full(&t[0], "A1", 1.25, "one", "https://x.com/a1");
    t[0].r.priority_score = 7.5;
    fill_full(&t[1], "A2", 2.5, "two", "https://x.com/a2");
    size_t fenced;
    assert_int_equal(commit_toks(st, t, 2, 1000, "c1", &fenced), 0);
    assert_int_equal(fenced, 0);
    tok_free(&t[0]);
    tok_free(&t[1]);
    assert_q("7.5", "SELECT priority_score::text FROM tokens WHERE address = 'A1'");
    assert_q("0", "SELECT priority_score::text FROM tokens WHERE address = 'A2'"); /* NAN: kept */
    char err[1024];
    const char *rel[] = {"A3"};
    assert_int_equal(store_release(st, rel, 1, "c1", err, sizeof err), 0);
    exec_ok(g_db, "UPDATE tokens SET in_contest = true WHERE address = 'A2'");

    /* Exactly the tokens asked for whose lease ended, whatever their status
     * or due time, in the order asked, each once; with the stored price. */
    claim_request rq = {.owner = "daemon", .claim_id = "d1", .now = 1001, .lease_s = 60};
    const char *want[] = {"A2", "NOPE", "A3", "A1", "A2"};
    claimed_token *got;
    size_t n;
    assert_int_equal(store_claim_addresses(st, &rq, want, 5, &got, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(got[0].address, "A2");
    assert_true(got[0].price_usd == 2.5);
    assert_string_equal(got[1].address, "A3");
    assert_true(isnan(got[1].price_usd));
    assert_string_equal(got[2].address, "A1");
    assert_true(got[2].price_usd == 1.25);
    claimed_tokens_free(got, n);
    assert_q("3", "SELECT count(*) FROM tokens WHERE claim_id = 'd1' AND claimed_by = 'daemon'");
    /* Leased: a second claim gets none of them. */
    rq.claim_id = "d2";
    assert_int_equal(store_claim_addresses(st, &rq, want, 5, &got, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    claimed_tokens_free(got, n);
    rq.now = 2000; /* d1's lease has ended */
    assert_int_equal(store_claim_addresses(st, &rq, want + 3, 1, &got, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].address, "A1");
    claimed_tokens_free(got, n);
    /* A token another collector refreshed since (its stored due time is
     * after due_before) is not taken; a pending one always is. */
    rq.now = 3000;
    rq.claim_id = "d3";
    rq.due_before = 1010;
    const char *two[] = {"A2", "A3"};
    assert_int_equal(store_claim_addresses(st, &rq, two, 2, &got, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].address, "A3");
    claimed_tokens_free(got, n);
    rq.claim_id = "d4";
    rq.due_before = 1020;
    assert_int_equal(store_claim_addresses(st, &rq, two, 2, &got, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].address, "A2");
    claimed_tokens_free(got, n);
    exec_ok(g_db, "UPDATE tokens SET claim_id = NULL, claimed_by = NULL, lease_until = NULL");

    scanned sc = {0};
    assert_int_equal(store_scan(st, 0, collect_brief, &sc, err, sizeof err), 0);
    assert_int_equal(sc.n, 3);
    assert_string_equal(sc.b.data, "A1 enriched 1020 20 0 1.25|A2 enriched 1020 20 1 2.5|A3 pending 0 30 0 -|");
    sb_free(&sc.b);
    /* SINCE: only tokens created at or after it. */
    exec_ok(g_db, "UPDATE tokens SET created_at = to_timestamp(CASE address WHEN 'A3' THEN 5000 ELSE 100 END)");
    sc = (scanned){0};
    assert_int_equal(store_scan(st, 4000, collect_brief, &sc, err, sizeof err), 0);
    assert_int_equal(sc.n, 1);
    assert_string_equal(sc.b.data, "A3 pending 0 30 0 -|");
    sb_free(&sc.b);
    close_all(st);
}

/* More tokens than one scan page: every one delivered once. */
static void scan_pages(void **state)
{
    (void)state;
    SKIP_IF_NO_PG();
    store *st = open_schema("t_scan");
    g_db = g_db ? g_db : connect_or_die(g_uri);
    exec_ok(g_db, "INSERT INTO tokens (address) SELECT 'S' || lpad(i::text, 6, '0') FROM generate_series(1, 25001) i");
    scanned sc = {0};
    char err[1024];
    assert_int_equal(store_scan(st, 0, collect_brief, &sc, err, sizeof err), 0);
    assert_int_equal(sc.n, 25001);
    sb_free(&sc.b);
    close_all(st);
}

static void password_never_shown(void **state)
{
    (void)state;
    char *r = store_pg_redact("postgresql://bob:s3cret@db.example:5432/tc?sslmode=require&password=other&x=1");
    assert_string_equal(r, "postgresql://bob@db.example:5432/tc?sslmode=require&password=***&x=1");
    free(r);
    r = store_pg_redact("postgresql:///tc?host=/tmp/x&port=5432&user=postgres");
    assert_string_equal(r, "postgresql:///tc?host=/tmp/x&port=5432&user=postgres");
    free(r);
    r = store_pg_redact("host=h password='a b\\'c' dbname=tc");
    assert_string_equal(r, "host=h password=*** dbname=tc");
    free(r);
    SKIP_IF_NO_PG();
    char err[1024];
    store *st = store_open("postgresql://bob:s3cret@/tc?host=/nonexistent-tc-dir&connect_timeout=2", err,
                           sizeof err);
    assert_null(st);
    assert_null(strstr(err, "s3cret"));
    assert_non_null(strstr(err, "store postgresql postgresql://bob@/tc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(password_never_shown),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(replay_changes_nothing),
        cmocka_unit_test(older_never_overwrites_newer),
        cmocka_unit_test(fence_after_lease_expired),
        cmocka_unit_test(release_makes_claimable),
        cmocka_unit_test(contest_flag_is_set_and_cleared),
        cmocka_unit_test(concurrent_claims_never_overlap),
        cmocka_unit_test(migration_twice_is_noop),
        cmocka_unit_test(survives_connection_loss),
        cmocka_unit_test(permanent_error_writes_nothing),
        cmocka_unit_test(foreign_tokens_table_refused),
        cmocka_unit_test(outstanding_sources_and_outcomes),
        cmocka_unit_test(load_sources_round_trip),
        cmocka_unit_test(migrate_from_version_1),
        cmocka_unit_test(invalid_utf8_is_replaced),
        cmocka_unit_test(link_sets_follow_changes),
        cmocka_unit_test(json_same_as_reference),
        cmocka_unit_test(daemon_operations),
        cmocka_unit_test(scan_pages),
        cmocka_unit_test(change_feed_follows_commits),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
