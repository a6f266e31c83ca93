#!/usr/bin/env bash
# End-to-end: GET /api/v3/tokens and /api/v3/tokens/{address} over HTTP from
# `tokencollector serve` ([api] listen) on a SQLite store the real collector
# filled from the fake upstream. Checks against the store itself (sqlite3):
# every token once by cursor and by page, values equal to the stored ones,
# the cap, light, fields, filters, errors, 404/400, ETag/304.
# Usage: tests/e2e/api_tokens.sh [BUILD_DIR]   (exit 77: this build has no server yet)
BUILD=${1:-build}
. "$(dirname "$0")/lib.sh"

if ! "$TC" --help 2>&1 | grep -q serve; then
    echo "# api_tokens.sh: skipped: $TC has no \`serve\` (the HTTP server is not in this build)"
    exit 77
fi
echo "# e2e api_tokens: work directory $WORK"

N=3000
start_fake up --limit jupiter=1000000/1000ms --limit helius=1000000/1000ms --limit dexscreener=1000000/1000ms
"$CHECK" gen $N 11 >"$WORK/tokens.txt"
write_config "$WORK/api.ini" "$WORK/api.db"
sed -i 's/^rate = .*/rate = 100000\/s/' "$WORK/api.ini"
API_PORT=$((30000 + RANDOM % 20000))
printf '[api]\nlisten = 127.0.0.1:%s\n' "$API_PORT" >>"$WORK/api.ini"
"$TC" -c "$WORK/api.ini" import "$WORK/tokens.txt" >/dev/null
"$TC" -c "$WORK/api.ini" --once --no-progress >"$WORK/once.out" 2>&1
expect "--once filled the store" $? 0
db() { sqlite3 "$WORK/api.db" "$1"; }

"$TC" serve -c "$WORK/api.ini" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
FAKE_PIDS+=("$SERVE_PID")
API="http://127.0.0.1:$API_PORT"
for _ in $(seq 100); do curl -sf "$API/health" >/dev/null 2>&1 && break; sleep 0.1; done
get() { curl -s -o "$WORK/body.json" -w '%{http_code}' "$API$1"; }

# ---------------------------------------------------------------------------
echo "# 1. the default page"
expect "GET /api/v3/tokens is 200" "$(get /api/v3/tokens)" 200
expect "100 tokens" "$(jq '.data | length' "$WORK/body.json")" 100
expect "total is every stored token" "$(jq .pagination.total "$WORK/body.json")" "$(db 'SELECT count(*) FROM tokens')"
expect "the largest market cap first" "$(jq -r '.data[0].address' "$WORK/body.json")" \
    "$(db 'SELECT address FROM token_prices WHERE market_cap IS NOT NULL ORDER BY market_cap DESC, address DESC LIMIT 1')"

echo "# 2. every token exactly once, by cursor and by page"
for mode in cursor page; do
    : >"$WORK/seen.$mode"
    cursor=""
    for p in $(seq 1 100); do
        if [ $mode = page ]; then q="page=$p"; else q="${cursor:+cursor=$cursor}"; fi
        get "/api/v3/tokens?limit=700&fields=address&sort=-volume_24h&$q" >/dev/null
        jq -r '.data[].address' "$WORK/body.json" >>"$WORK/seen.$mode"
        [ "$(jq .pagination.has_next "$WORK/body.json")" = true ] || break
        cursor=$(jq -r .pagination.next_cursor "$WORK/body.json")
    done
    expect "$mode walk: $N tokens" "$(wc -l <"$WORK/seen.$mode")" "$N"
    expect "$mode walk: no token twice" "$(sort "$WORK/seen.$mode" | uniq -d | wc -l)" 0
done
expect "cursor and page walks agree" "$(cmp -s "$WORK/seen.cursor" "$WORK/seen.page" && echo same)" same

echo "# 3. values equal the store's"
get "/api/v3/tokens?limit=2000&sort=address&fields=name,symbol,supply,prices,socials,websites" >/dev/null
jq -r '.data[] | [.address, (.name // "NULL"), (.symbol // "NULL"), (.supply // "NULL"),
    (.price_usd // "NULL" | tostring), (.market_cap // "NULL" | tostring), (.socials | length), (.websites | length)]
    | @tsv' "$WORK/body.json" >"$WORK/api.tsv"
db ".mode tabs
SELECT t.address, coalesce(t.name, 'NULL'), coalesce(t.symbol, 'NULL'), coalesce(t.supply, 'NULL'),
 coalesce(printf('%!.17g', p.price_usd), 'NULL'), coalesce(printf('%!.17g', p.market_cap), 'NULL'),
 (SELECT count(*) FROM token_socials s WHERE s.address = t.address),
 (SELECT count(*) FROM token_websites w WHERE w.address = t.address)
 FROM tokens t LEFT JOIN token_prices p ON p.address = t.address ORDER BY t.address LIMIT 2000" >"$WORK/db.tsv"
# Numbers compared as doubles (awk), the rest as text.
diffs=$(paste "$WORK/api.tsv" "$WORK/db.tsv" | awk -F'\t' '{
    for (i = 1; i <= 8; i++) { a = $i; b = $(i + 8)
        if (i == 5 || i == 6) { if (a == "NULL" || b == "NULL") { if (a != b) bad++ } else if (a + 0 != b + 0) bad++ }
        else if (a != b) bad++ } } END { print bad + 0 }')
expect "2000 tokens: names, symbols, supplies, prices, market caps and link counts equal the store's" "$diffs" 0
expect "no 0 stands for an unknown market cap" \
    "$(jq '[.data[] | select(.market_cap == 0)] | length' "$WORK/body.json")" \
    "$(db 'SELECT count(*) FROM (SELECT 1 FROM tokens t JOIN token_prices p ON p.address = t.address WHERE p.market_cap = 0 ORDER BY t.address LIMIT 2000)')"

echo "# 4. the cap, light, fields, filters"
get "/api/v3/tokens?limit=5000" >/dev/null
expect "limit=5000 gives 2000" "$(jq '.data | length' "$WORK/body.json")" 2000
expect "and says it was capped" "$(jq .pagination.limit_capped "$WORK/body.json")" true
get "/api/v3/tokens?light=1&limit=10" >/dev/null
expect "light=1 has its six fields" "$(jq -c '[.data[0] | keys[]]' "$WORK/body.json")" \
    '["address","change_24h","market_cap","name","price_usd","symbol"]'
get "/api/v3/tokens?fields=symbol,prices&limit=10" >/dev/null
expect "fields=symbol,prices" "$(jq -c '.data[0] | keys' "$WORK/body.json")" \
    '["address","change_24h","fdv","liquidity_usd","market_cap","price_updated_at","price_usd","symbol","volume_24h"]'
get "/api/v3/tokens?status=no_data&limit=2000" >/dev/null
expect "status=no_data" "$(jq .pagination.total "$WORK/body.json")" "$(db "SELECT count(*) FROM tokens WHERE status = 'no_data'")"
a1=$(db "SELECT address FROM tokens ORDER BY address LIMIT 1")
a2=$(db "SELECT address FROM tokens ORDER BY address DESC LIMIT 1")
get "/api/v3/tokens?addresses=$a1,$a2" >/dev/null
expect "addresses= returns those two" "$(jq -r '[.data[].address] | sort | join(",")' "$WORK/body.json")" "$a1,$a2"
sym=$(db "SELECT symbol FROM tokens WHERE symbol IS NOT NULL ORDER BY address LIMIT 1")
pre=$(printf '%s' "${sym:0:2}" | tr '[:upper:][:lower:]' '[:lower:][:upper:]')
get "/api/v3/tokens?q=$pre&limit=2000" >/dev/null
expect "q= matches symbols and names by prefix, in any case" "$(jq .pagination.total "$WORK/body.json")" \
    "$(db "SELECT count(*) FROM tokens WHERE lower(symbol) LIKE lower('${sym:0:2}') || '%' OR lower(name) LIKE lower('${sym:0:2}') || '%'")"

echo "# 5. errors"
for q in "limit=0" "limit=x" "page=0" "page=2&cursor=abc" "cursor=abc" "fields=bogus" "light=2" "sort=price" \
    "status=done" "addresses=xyz" "q=" "offset=5"; do
    expect "?$q is a 400" "$(get "/api/v3/tokens?$q")" 400
    expect "?$q names its parameter" "$(jq -r '.error.message | split(":")[0]' "$WORK/body.json")" "${q%%=*}"
done
expect "an unknown address is a 404" "$(get /api/v3/tokens/So11111111111111111111111111111111111111199)" 404
expect "a malformed address is a 400" "$(get /api/v3/tokens/not-an-address)" 400

echo "# 6. one token, ETag"
expect "the detail of a stored token is 200" "$(get "/api/v3/tokens/$a1")" 200
expect "it has its refresh state" "$(jq -r '.data.refresh.status' "$WORK/body.json")" "$(db "SELECT status FROM tokens WHERE address = '$a1'")"
etag=$(curl -s -D - -o /dev/null "$API/api/v3/tokens/$a1" | awk 'tolower($1) == "etag:" { print $2 }' | tr -d '\r')
expect "If-None-Match with its ETag is a 304" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$API/api/v3/tokens/$a1")" 304

echo "# api_tokens: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
