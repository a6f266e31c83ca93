#!/usr/bin/env bash
# End-to-end tests: the real tokencollector binary, real plugins loaded with
# dlopen, real HTTP through libcurl to the local fake upstream, SQLite.
# Usage: tests/e2e/run.sh [BUILD_DIR]
BUILD=${1:-build}
. "$(dirname "$0")/lib.sh"

echo "# e2e: work directory $WORK"

# ---------------------------------------------------------------------------
echo "# 1. full chunks at the scaled published limits"
N=6000
start_fake main --scale 30 --latency 2-20
"$CHECK" gen $N 7 >"$WORK/tokens.txt"
write_config "$WORK/main.ini" "$WORK/main.db"
"$TC" -c "$WORK/main.ini" import "$WORK/tokens.txt" >"$WORK/import.out"
expect "import exit code" $? 0
"$TC" -c "$WORK/main.ini" --once --no-progress >"$WORK/once.out" 2>"$WORK/once.err"
expect "--once exit code" $? 0
expect_minimum_requests $N "$WORK/once.out"
"$CHECK" verify "$WORK/main.db" >"$WORK/verify.out" 2>&1
expect "every stored value equals the fake upstream's (tc_check verify)" $? 0
cat "$WORK/verify.out" | tail -1
expect "some tokens enriched and some no_data" \
    "$(sqlite3 "$WORK/main.db" "SELECT count(DISTINCT status) FROM tokens WHERE status IN ('enriched','no_data')")" 2
expect "no token left pending" "$(sqlite3 "$WORK/main.db" "SELECT count(*) FROM tokens WHERE status='pending'")" 0
# tc_check verify compared each extra with the fake's; here: every record has them, typed, and its
# plugin's version (a record the fake does not know has no row, which verify checked too).
JUP_ROWS=$(sqlite3 "$WORK/main.db" "SELECT count(*) FROM token_sources WHERE source='jupiter'")
expect "jupiter records stored" "$([ "$JUP_ROWS" -gt 0 ] && echo yes)" yes
expect "every jupiter record has its extras and plugin_version 1.0.0" \
    "$(sqlite3 "$WORK/main.db" "SELECT count(*) FROM token_sources WHERE source='jupiter' AND plugin_version='1.0.0'
        AND json_type(data,'\$.extra.holder_count')='integer' AND json_type(data,'\$.extra.organic_score') IN ('integer','real')
        AND json_type(data,'\$.extra.is_verified') IN ('true','false') AND json_type(data,'\$.extra.first_pool')='text'
        AND json_type(data,'\$.extra.top_holders_pct') IN ('integer','real')
        AND json_type(data,'\$.extra.mint_authority_disabled') IN ('true','false')
        AND json_type(data,'\$.extra.freeze_authority_disabled') IN ('true','false')")" "$JUP_ROWS"
expect "the other sources' records: version 1.0.0, no extras" \
    "$(sqlite3 "$WORK/main.db" "SELECT count(*) FROM token_sources WHERE source!='jupiter' AND (plugin_version IS NOT '1.0.0' OR json_type(data,'\$.extra') IS NOT NULL)")" 0
"$TC" -c "$WORK/main.ini" --once --no-progress >"$WORK/once2.out" 2>&1
expect "a second --once finds nothing pending" "$(grep -c '^summary: 0 tokens' "$WORK/once2.out")" 1

# ---------------------------------------------------------------------------
echo "# 2. chunk_size=1 stores the same data as the maximum chunk sizes"
start_fake unlimited --limit jupiter=1000000/1000ms --limit helius=1000000/1000ms --limit dexscreener=1000000/1000ms
head -n 300 "$WORK/tokens.txt" >"$WORK/small.txt"
write_config "$WORK/max.ini" "$WORK/max.db"
write_config "$WORK/one.ini" "$WORK/one.db" 1 1 1 "concurrency = 16"
sed -i 's/^rate = .*/rate = 100000\/s/' "$WORK/max.ini" "$WORK/one.ini"
"$TC" -c "$WORK/max.ini" import "$WORK/small.txt" >/dev/null
"$TC" -c "$WORK/one.ini" import "$WORK/small.txt" >/dev/null
"$TC" -c "$WORK/max.ini" --once --no-progress >"$WORK/max.out" 2>&1
expect "max-chunk run exit code" $? 0
"$TC" -c "$WORK/one.ini" --once --no-progress >"$WORK/one.out" 2>&1
expect "chunk_size=1 run exit code" $? 0
expect "chunk_size=1: one request per token per source" "$(summary_requests "$WORK/one.out" dexscreener)" 300
"$CHECK" same "$WORK/max.db" "$WORK/one.db" >"$WORK/same.out" 2>&1
expect "both stores hold the same rows (tc_check same)" $? 0
"$CHECK" verify "$WORK/one.db" >/dev/null 2>&1
expect "chunk_size=1 values equal the fake upstream's" $? 0

# ---------------------------------------------------------------------------
echo "# 3. a source that is down: tokens fail, nothing else is lost"
start_fake down
for s in jupiter helius dexscreener; do curl -sf -X POST "$URL/_faults?source=$s&down=1" >/dev/null; done
head -n 40 "$WORK/tokens.txt" >"$WORK/down.txt"
MAX_ATTEMPTS=2 write_config "$WORK/down.ini" "$WORK/down.db"
"$TC" -c "$WORK/down.ini" import "$WORK/down.txt" >/dev/null
"$TC" -c "$WORK/down.ini" --once --no-progress >"$WORK/down.out" 2>"$WORK/down.err"
expect "--once with every source down exits 1 (every token failed: issue 14, defect 7)" $? 1
expect "... and says so" "$(grep -c 'every one of the 40 tokens of this pass failed' "$WORK/down.err")" 1
expect "every token is failed" "$(sqlite3 "$WORK/down.db" "SELECT count(*) FROM tokens WHERE status='failed'")" 40
expect "attempts and last attempt recorded, no success time" \
    "$(sqlite3 "$WORK/down.db" "SELECT count(*) FROM tokens WHERE enrichment_attempts=1 AND last_refresh_attempt IS NOT NULL AND last_refresh_success IS NULL")" 40
expect "refresh_metadata names the HTTP status per source" \
    "$(sqlite3 "$WORK/down.db" "SELECT count(*) FROM tokens WHERE json_extract(refresh_metadata,'\$.errors.helius') LIKE 'HTTP 503%'")" 40
expect "no data rows written for failed tokens" \
    "$(sqlite3 "$WORK/down.db" "SELECT (SELECT count(*) FROM token_prices)+(SELECT count(*) FROM token_sources)")" 0
expect "each source tried exactly max_attempts times per chunk" "$(stats '.dexscreener.requests')" 4

# ---------------------------------------------------------------------------
echo "# 4. config errors: FILE:LINE and exit code 2"
printf '[core]\nbatch_size = 50\nbatch_sise = 5\n[source a]\nplugin = jupiter.so\n' >"$WORK/bad1.ini"
"$TC" -c "$WORK/bad1.ini" --check-config >/dev/null 2>"$WORK/bad1.err"
expect "unknown key: exit code" $? 2
expect "unknown key: message names file and line" "$(grep -c "^$WORK/bad1.ini:3: .*batch_sise" "$WORK/bad1.err")" 1
printf '[core]\nplugin_dir = %s/plugins\n[source dex]\nplugin = dexscreener.so\nchunk_size = 31\n' "$BUILD" >"$WORK/bad2.ini"
"$TC" -c "$WORK/bad2.ini" --check-config >/dev/null 2>"$WORK/bad2.err"
expect "chunk_size above the plugin's maximum: exit code" $? 2
expect "chunk_size above the plugin's maximum: FILE:LINE" "$(grep -c "^$WORK/bad2.ini:5: .*maximum of 30" "$WORK/bad2.err")" 1
printf '[core]\nplugin_dir = %s/plugins\n[source x]\nplugin = nosuch.so\n' "$BUILD" >"$WORK/bad3.ini"
"$TC" -c "$WORK/bad3.ini" --check-config >/dev/null 2>"$WORK/bad3.err"
expect "missing plugin: exit code" $? 2
expect "missing plugin: FILE:LINE" "$(grep -c "^$WORK/bad3.ini:4: .*nosuch.so" "$WORK/bad3.err")" 1
printf '[core]\nplugin_dir = %s/plugins\n[source dex]\nplugin = dexscreener.so\nfoo = 1\n' "$BUILD" >"$WORK/bad4.ini"
"$TC" -c "$WORK/bad4.ini" --check-config >/dev/null 2>"$WORK/bad4.err"
expect "key unknown to host and plugin: FILE:LINE" "$(grep -c "^$WORK/bad4.ini:5: .*\"foo\"" "$WORK/bad4.err")" 1
"$TC" -c "$WORK/main.ini" --check-config >/dev/null 2>&1
expect "valid config: --check-config exit code" $? 0
printf '[core]\nplugin_dir = %s/plugins\n[source dex]\nplugin = dexscreener.so\n[source dex]\nplugin = jupiter.so\n' "$BUILD" >"$WORK/bad5.ini"
"$TC" -c "$WORK/bad5.ini" --check-config >/dev/null 2>"$WORK/bad5.err"
expect "a source defined twice: exit code" $? 2
expect "a source defined twice: both lines named" "$(grep -c "^$WORK/bad5.ini:5: .*defined again (first at line 3)" "$WORK/bad5.err")" 1
: >"$WORK/not-a-dir"
sed "s|^store = .*|store = sqlite:$WORK/not-a-dir/tokens.db|" "$WORK/main.ini" >"$WORK/bad6.ini"
"$TC" -c "$WORK/bad6.ini" --check-config >/dev/null 2>"$WORK/bad6.err"
expect "--check-config refuses a store that cannot be written" $? 2
expect "the store error names the path" "$(grep -c "not-a-dir is not a writable directory" "$WORK/bad6.err")" 1
printf '[core]\nstore = sqlite:%s/migrate-only.db\n[source j]\nplugin = jupiter.so\napi_key = ${TC_E2E_SURELY_UNSET}\n' "$WORK" >"$WORK/migrate.ini"
"$TC" -c "$WORK/migrate.ini" migrate >/dev/null 2>"$WORK/migrate.err"
expect "migrate needs only [core] (a source's unset \${VAR} is no error)" $? 0
"$TC" -c "$WORK/migrate.ini" --check-config >/dev/null 2>&1
expect "... while --check-config still reports it" $? 2

# ---------------------------------------------------------------------------
echo "# 5. import: bad lines reported by number, the rest imported, duplicates ignored"
{
    sed -n 1,3p "$WORK/tokens.txt"
    echo "not-an-address"
    echo ""
    sed -n 1p "$WORK/tokens.txt"
    echo "0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl"
    sed -n 4p "$WORK/tokens.txt"
} >"$WORK/mixed.txt"
write_config "$WORK/imp.ini" "$WORK/imp.db"
"$TC" -c "$WORK/imp.ini" import - <"$WORK/mixed.txt" >"$WORK/imp.out" 2>"$WORK/imp.err"
expect "import with bad lines: exit code 3" $? 3
expect "bad line 4 reported" "$(grep -c '^<stdin>:4: not a Solana address' "$WORK/imp.err")" 1
expect "bad line 7 reported" "$(grep -c '^<stdin>:7: not a Solana address' "$WORK/imp.err")" 1
expect "valid lines imported once" "$(sqlite3 "$WORK/imp.db" "SELECT count(*) FROM tokens")" 4

echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
