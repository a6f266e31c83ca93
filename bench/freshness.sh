#!/usr/bin/env bash
# Price freshness in the daemon, the new design against the old one in the
# same run: refresh by what a source provides ([scheduler] market_refresh =
# one_source: one market source per price refresh, chosen by spare capacity;
# metadata on its long TTL) against every source on every refresh
# (market_refresh = all_sources). Both daemons run side by side, each against
# its own fake upstream (so neither eats the other's windows), with the
# shipped config (conf/tokencollector.ini: its limiters, chunk sizes and
# [scheduler] intervals) on the 15,371-token seed set, 50 tokens in a contest.
#
# Scaled in time by BENCH_FRESH_SCALE (default 5): the fake's windows and
# latency, the limiter rates (x S) and every [scheduler] duration (/ S) are
# all S times faster, so a run takes (first pass + one max_interval + the
# measured window) / S; every figure below is unscaled (measured x S).
#
# Reports per design: distinct price refreshes per second (token refreshes
# of priced tokens over the window), p50 / p95 / max price age per tier (the
# daemon's own view, /status.json, sampled each scaled second), the store's
# check (the newest price fetch of every priced token, and of the contest
# tokens, at the end of the window; the store counts whole scaled seconds, so
# +- S s), requests and 429s at the upstream.
# Usage: bench/freshness.sh [BUILD_DIR]   BENCH_FRESH_WINDOW_S (unscaled, 300)
# Prints a Markdown section. Needs curl, jq, sqlite3.
set -uo pipefail
BUILD=${1:-build}
S=${BENCH_FRESH_SCALE:-5}
WINDOW=${BENCH_FRESH_WINDOW_S:-300}
N=15371
HOT=50
CONF=conf/tokencollector.ini
DIR=$(mktemp -d /tmp/tc-fresh-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$DIR"' EXIT
calc() { awk "BEGIN { printf \"%.10g\", $* }"; }
fcalc() { local f=$1; shift; awk "BEGIN { printf \"$f\", $* }"; }
# A duration of the shipped [scheduler] (or its default), in seconds.
shipped_s() {
    local v
    v=$(awk -v k="$1" '/^\[/ { sec = $0 } sec == "[scheduler]" && $1 == k { print $3 }' "$CONF")
    [ -n "$v" ] || v=$2
    case $v in
    *ms) calc "${v%ms} / 1000" ;; *min) calc "${v%min} * 60" ;; *m) calc "${v%m} * 60" ;;
    *h) calc "${v%h} * 3600" ;; *s) echo "${v%s}" ;; *) echo "$v" ;;
    esac
}
MIN_I=$(shipped_s min_interval 15)
MAX_I=$(shipped_s max_interval 300)
MAX_W=$(shipped_s max_wait 600)
TTL=$(shipped_s metadata_ttl 21600)
BDELAY_MS=$(shipped_s batch_delay_ms 1000) # a bare number of this key is milliseconds

"$BUILD/tools/tc_check" gen $N 42 >"$DIR/tokens.txt"

# start DESIGN: its fake upstream, store and daemon; sets nothing global.
start() {
    local d=$1 port
    "$BUILD/fakeapi" --port 0 --port-file "$DIR/$d.fport" --scale "$S" \
        --latency "$(fcalc %.0f "50 / $S")-$(fcalc %.0f "300 / $S")" --drift "300/$(fcalc %.0f "20000 / $S")" \
        2>"$DIR/$d.fake.log" &
    PIDS+=($!)
    for _ in $(seq 100); do [ -s "$DIR/$d.fport" ] && break; sleep 0.05; done
    port=$(cat "$DIR/$d.fport")
    echo "http://127.0.0.1:$port" >"$DIR/$d.url"
    sed -e "s#^store = .*#store = sqlite:$DIR/$d.db#" -e "s#^plugin_dir = .*#plugin_dir = $BUILD/plugins#" \
        -e "s#^base_url = .*#base_url = http://127.0.0.1:$port#" -e "s#^listen = .*#listen = 127.0.0.1:0#" \
        -e "s#^api_key = \${HELIUS_API_KEY:-}.*#api_key = bench#" -e 's#^log_level = .*#log_level = warn#' \
        "$CONF" >"$DIR/$d.ini"
    # Every limiter S times faster (the shipped rate x S).
    awk -v s="$S" '/^\[limiter/ { lim = 1 } /^\[source/ { lim = 0 }
        lim && $1 == "rate" { split($3, p, "/"); d = p[2] == "min" ? 60 : p[2] == "h" ? 3600 : 1
                              printf "rate = %.10g/s\n", p[1] / d * s; next } { print }' "$DIR/$d.ini" >"$DIR/$d.tmp"
    mv "$DIR/$d.tmp" "$DIR/$d.ini"
    # Every [scheduler] duration S times shorter (a section of its own wins
    # over the shipped one: the shipped keys are rewritten in place).
    sed -i '/^\[scheduler\]/,/^\[/{/^\(min_interval\|max_interval\|max_wait\|metadata_ttl\|batch_delay_ms\|metrics_interval\|market_refresh\|max_batch_size\) *=/d}' "$DIR/$d.ini"
    grep -q '^\[scheduler\]' "$DIR/$d.ini" || printf '\n[scheduler]\n' >>"$DIR/$d.ini"
    sed -i "/^\[scheduler\]/a min_interval = $(calc "$MIN_I / $S")s\nmax_interval = $(calc "$MAX_I / $S")s\nmax_wait = $(calc "$MAX_W / $S")s\nmetadata_ttl = $(calc "$TTL / $S")s\nbatch_delay_ms = $(calc "$BDELAY_MS / $S")ms\nmetrics_interval = $(calc "60 / $S")s\nmarket_refresh = $d${BENCH_FRESH_BATCH:+\nmax_batch_size = $BENCH_FRESH_BATCH}" "$DIR/$d.ini"
    "$BUILD/tokencollector" -c "$DIR/$d.ini" import "$DIR/tokens.txt" >/dev/null
    sqlite3 "$DIR/$d.db" "UPDATE tokens SET in_contest = 1 WHERE address IN (SELECT address FROM tokens ORDER BY address LIMIT $HOT)"
    "$BUILD/tokencollector" -c "$DIR/$d.ini" --log-level info 2>"$DIR/$d.log" &
    echo $! >"$DIR/$d.pid"
    PIDS+=($!)
}
api_url() {
    local p
    p=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$DIR/$1.log" | head -1)
    echo "http://127.0.0.1:$p"
}
# store_ages DESIGN: "largest price age of a priced token, priced tokens older than 90 s, contest
# tokens older than 15 s" now, from each token's newest price fetch (unscaled; the store counts
# whole scaled seconds, so +- S s; the thresholds allow that).
store_ages() {
    sqlite3 -separator ' ' "$DIR/$1.db" "SELECT coalesce(max(a), 0), coalesce(sum(a > 90 + $S), 0), coalesce(sum(c AND a > 15 + $S), 0)
        FROM (SELECT t.in_contest AS c, ($(date +%s) - (SELECT max(fetched_at) FROM token_sources s WHERE s.address = t.address
              AND instr(s.data, '\"price_usd\":') > 0)) * $S AS a FROM tokens t JOIN token_prices USING (address))"
}
priced_refreshes() { sqlite3 "$DIR/$1.db" "SELECT coalesce(sum(enrichment_attempts), 0) FROM tokens JOIN token_prices USING (address)"; }

DESIGNS=(one_source all_sources)
for d in "${DESIGNS[@]}"; do start "$d"; done
for _ in $(seq 200); do
    ok=1
    for d in "${DESIGNS[@]}"; do grep -q 'listening on' "$DIR/$d.log" || ok=0; done
    [ $ok = 1 ] && break
    sleep 0.05
done
# Wait for the first pass (every source asked for every token: the same for both).
T0=$(date +%s.%N)
declare -A FIRST
deadline=$((SECONDS + 2 * N / 40 / S + 120))
while [ $SECONDS -lt $deadline ]; do
    left=0
    for d in "${DESIGNS[@]}"; do
        [ -n "${FIRST[$d]:-}" ] && continue
        j=$(curl -sf "$(api_url "$d")/status.json") || { left=1; continue; }
        if [ "$(echo "$j" | jq '.first_pass.refreshed >= .first_pass.tokens')" = true ]; then
            FIRST[$d]=$(calc "($(date +%s.%N) - $T0) * $S")
        else left=1; fi
    done
    [ $left = 0 ] && break
    sleep 0.5
done
# One max_interval of warm-up, then the window.
sleep "$(calc "$MAX_I / $S")"
declare -A R0
for d in "${DESIGNS[@]}"; do R0[$d]=$(priced_refreshes "$d"); : >"$DIR/$d.ages"; : >"$DIR/$d.store"; done
W_S=$(calc "$WINDOW / $S")
t_start=$(date +%s.%N)
while [ "$(calc "$(date +%s.%N) - $t_start < $W_S")" = 1 ]; do
    for d in "${DESIGNS[@]}"; do
        curl -sf "$(api_url "$d")/status.json" |
            jq -r '.tiers[] | select(.tokens > 0) | [.tier, .price_age_s.p50, .price_age_s.p95, .price_age_s.max, .tokens] | @tsv' \
                >>"$DIR/$d.ages"
        store_ages "$d" >>"$DIR/$d.store"
    done
    sleep 1
done
elapsed=$(calc "($(date +%s.%N) - $t_start) * $S")
for d in "${DESIGNS[@]}"; do
    now=$(date +%s)
    R1=$(priced_refreshes "$d")
    rps=$(calc "($R1 - ${R0[$d]}) / $elapsed")
    # The store's view over the window: the largest price age seen, and the
    # most priced (contest) tokens over their target in any sample.
    read -r max_age old_all old_hot < <(awk '{ if ($1 > a) a = $1; if ($2 > b) b = $2; if ($3 > c) c = $3 } END { print a + 0, b + 0, c + 0 }' "$DIR/$d.store")
    priced=$(sqlite3 "$DIR/$d.db" "SELECT count(*) FROM token_prices")
    stats=$(curl -sf "$(cat "$DIR/$d.url")/_stats")
    echo -e "$d\t$rps\t$old_all\t$old_hot\t$priced\t${FIRST[$d]:-never}\t$max_age" >"$DIR/$d.sum"
    for s in jupiter helius dexscreener; do
        echo -e "$s\t$(echo "$stats" | jq ".$s.requests")\t$(echo "$stats" | jq ".$s.addresses")\t$(echo "$stats" | jq ".$s.status_429")\t$(echo "$stats" | jq ".$s.max_in_window")\t$(echo "$stats" | jq ".$s.limit")"
    done >"$DIR/$d.up"
    kill -TERM "$(cat "$DIR/$d.pid")"
done
wait "$(cat "$DIR/one_source.pid")" "$(cat "$DIR/all_sources.pid")" 2>/dev/null

# tier_row DESIGN TIER: "p50 p95 max tokens" (medians of the samples' p50 / p95, the largest max), unscaled.
tier_row() {
    awk -F'\t' -v t="$2" -v s="$S" '$1 == t { n++; a[n] = $2; b[n] = $3; if ($4 > m) m = $4; k = $5 }
        function med(v, n,   i, j, x) { for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j > 0 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
                                       return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
        END { if (!n) { print "- - - 0"; exit } printf "%.1f %.1f %.1f %d\n", med(a, n) * s, med(b, n) * s, m * s, k }' "$DIR/$1.ages"
}
echo "# Price freshness: refresh by what a source provides vs every source every time"
echo
echo "Date $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?), $(nproc) cores; \`bash bench/freshness.sh\`."
echo
echo "Both daemons side by side in one run, each with its own fake upstream at the published free-tier windows,"
echo "the shipped config ($CONF: limiters, chunk sizes, [scheduler]); $N tokens, $HOT in a contest, 30% of prices moving"
echo "every 20 s. **Scaled ${S}x** in time (windows, latency, limiter rates, every [scheduler] duration); figures are"
echo "unscaled. Window: $(fcalc %.0f "$elapsed") s after the first pass and one max_interval ($(fcalc %.0f "$MAX_I") s)."
echo
echo "The store columns are sampled every scaled second of the window: the oldest newest-price-fetch of a priced token,"
echo "and the most priced tokens older than 90 s (contest tokens older than 15 s) in any sample (whole scaled seconds: ±$S s)."
echo
echo "| design | first pass | distinct price refreshes/s | priced tokens | oldest price (store) | priced tokens older than 90 s | contest tokens older than 15 s |"
echo "|---|---|---|---|---|---|---|"
for d in "${DESIGNS[@]}"; do
    IFS=$'\t' read -r _ rps oa oh pr fp ma <"$DIR/$d.sum"
    echo "| \`market_refresh = $d\` | $(fcalc %.0f "${fp/never/0}") s | $(fcalc %.1f "$rps") | $pr | $ma s | $oa | $oh |"
done
r1=$(cut -f2 "$DIR/one_source.sum"); r2=$(cut -f2 "$DIR/all_sources.sum")
echo
echo "Ratio of distinct price refreshes/s, new / old: **$(fcalc %.2f "$r1 / $r2")x**."
echo
echo "Price age per tier (the daemon's /status.json each scaled second: the medians of its p50 and p95, the largest max;"
echo "the tiers are the scheduler's, by score: a token that moves up keeps its age, so a tier's max is not its interval):"
echo
echo "| design | tier | tokens | p50 | p95 | max | target |"
echo "|---|---|---|---|---|---|---|"
for d in "${DESIGNS[@]}"; do
    for t in hot warm cold; do
        read -r p50 p95 mx k < <(tier_row "$d" "$t")
        [ "$k" = 0 ] && continue
        tgt=$([ $t = hot ] && echo "15 s (contest)" || echo "90 s")
        echo "| $d | $t | $k | $p50 s | $p95 s | $mx s | $tgt |"
    done
done
echo
echo "Upstream counters over the whole run (first pass included):"
echo
echo "| design | source | requests | addresses asked | 429s | most in any window | limit |"
echo "|---|---|---|---|---|---|---|"
for d in "${DESIGNS[@]}"; do
    while IFS=$'\t' read -r s rq ad t4 mw lim; do echo "| $d | $s | $rq | $ad | $t4 | $mw | $lim |"; done <"$DIR/$d.up"
done
echo
# The shipped free-tier figures, for the new design (the store's view over the window).
IFS=$'\t' read -r _ _ oa oh _ _ ma <"$DIR/one_source.sum"
z=$(awk -F'\t' '{ s += $4 } END { print s + 0 }' "$DIR/one_source.up")
met() { [ "$1" = 1 ] && echo met || echo MISSED; }
echo "| shipped free-tier target (new design) | measured over the window (store, ±$S s) | |"
echo "|---|---|---|"
echo "| every priced token's price at most 90 s old | oldest $ma s; at most $oa tokens over 90 s | $(met "$([ "$oa" = 0 ] && echo 1)") |"
echo "| contest tokens' price at most 15 s old | at most $oh contest tokens over 15 s | $(met "$([ "$oh" = 0 ] && echo 1)") |"
echo "| zero 429s | $z | $(met "$([ "$z" = 0 ] && echo 1)") |"
