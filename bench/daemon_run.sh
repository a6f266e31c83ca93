#!/usr/bin/env bash
# The daemon for real time against the fake upstream at the published
# (unscaled) limits, with the shipped limiters: 15,371 tokens, 50 of them in a
# contest, 30% of prices moving every 20 s. Reports per tier the achieved
# refresh interval against its target, the scheduling lag, requests and 429s.
# Usage: bench/daemon_run.sh [BUILD_DIR] [MINUTES]   (default build, 10)
# Writes bench/daemon-results.md. Not part of `make check`: it takes MINUTES.
set -euo pipefail
BUILD=${1:-build}
MINUTES=${2:-10}
N=15371
HOT=50
DIR=$(mktemp -d /tmp/tc-daemon-run.XXXXXX)
OUT=bench/daemon-results.md
"$BUILD/fakeapi" --port 0 --port-file "$DIR/port" --latency 50-300 --drift 300/20000 2>"$DIR/fake.log" &
FAKE=$!
trap 'kill $FAKE 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$DIR/port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$DIR/port")"

# The shipped config with the fake upstream as every base_url.
sed -e "s#^store = .*#store = sqlite:$DIR/tokens.db#" \
    -e "s#^plugin_dir = .*#plugin_dir = $BUILD/plugins#" \
    -e "s#^base_url = .*#base_url = $URL#" \
    -e "s#^listen = .*#listen = 127.0.0.1:0#" \
    -e "s#^api_key = \${HELIUS_API_KEY:-}.*#api_key = bench#" \
    conf/tokencollector.ini >"$DIR/run.ini"
printf '[scheduler]\nmetrics_interval = 60s\n' >>"$DIR/run.ini"

"$BUILD/tools/tc_check" gen $N 42 >"$DIR/tokens.txt"
"$BUILD/tokencollector" -c "$DIR/run.ini" import "$DIR/tokens.txt" >/dev/null
sqlite3 "$DIR/tokens.db" "UPDATE tokens SET in_contest = 1 WHERE address IN (SELECT address FROM tokens ORDER BY address LIMIT $HOT)"

echo "daemon: $N tokens, $MINUTES min against $URL (logs: $DIR/daemon.log)"
"$BUILD/tokencollector" -c "$DIR/run.ini" 2>"$DIR/daemon.log" &
D=$!
sleep $((MINUTES * 60))
kill -TERM $D
wait $D
rc=$?
stats=$(curl -sf "$URL/_stats")

sql() { sqlite3 "$DIR/tokens.db" "$1"; }
{
    echo "# Daemon run: $MINUTES minutes, $N tokens, real-time published limits"
    echo
    echo "Date $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)," \
        "$(nproc) cores. Fake upstream: latency 50-300 ms, 30% of prices move every 20 s, sliding" \
        "windows at the published values. Limiters as in conf/tokencollector.ini:" \
        "$(awk '/^\[limiter/ { name = $2 } /^rate/ && name { printf "%s %s; ", name, $3 }' conf/tokencollector.ini | tr -d ']')" \
        "$HOT tokens flagged in_contest. Exit code $rc."
    echo
    echo "Capacity (tokens/s the limits allow, the slowest source's rate x chunk) and demand are in the"
    echo "metrics lines; the scheduler plans 90% of the capacity and stretches the lower tiers (up to"
    echo "max_wait) so the top one keeps its interval."
    echo
    echo "## Last metrics lines"
    echo '```'
    grep -E 'info \[metrics\]' "$DIR/daemon.log" | tail -9
    echo '```'
    echo
    echo "## Upstream (fake) counters"
    echo
    echo "| source | requests | 429s | most in any window | limit |"
    echo "|---|---|---|---|---|"
    for s in jupiter helius dexscreener; do
        echo "| $s | $(echo "$stats" | jq ".$s.requests") | $(echo "$stats" | jq ".$s.status_429") |" \
            "$(echo "$stats" | jq ".$s.max_in_window") | $(echo "$stats" | jq ".$s.limit") per $(echo "$stats" | jq ".$s.window_ms") ms |"
    done
    echo
    echo "## Store"
    echo
    echo "- tokens by status: $(sql "SELECT group_concat(status || ' ' || n, ', ') FROM (SELECT status, count(*) n FROM tokens GROUP BY 1)")"
    echo "- refreshes of contest tokens (mean): $(sql "SELECT round(avg(enrichment_attempts), 1) FROM tokens WHERE in_contest = 1")"
    echo "- refreshes of the others (mean): $(sql "SELECT round(avg(enrichment_attempts), 2) FROM tokens WHERE in_contest = 0")"
    echo "- tokens never refreshed: $(sql "SELECT count(*) FROM tokens WHERE enrichment_attempts = 0")"
} >"$OUT"
cat "$OUT"
