#!/usr/bin/env bash
# The HTTP API's speed, GET /api/v3/tokens on a store of enriched tokens,
# SQLite and PostgreSQL (bench/README.md, "API"). Not a test: figures depend
# on the machine and on what else runs on it.
#
#   1. handlers: build/bench/api_bench calls the handlers directly (no
#      server): p50/p99 of one caller, calls/s of BENCH_API_THREADS callers
#      with a writer committing new prices beside them, and the floors (the
#      store read alone, an equivalent plain SQL query).
#   2. HTTP: `tokencollector serve` with `[api] listen`, measured by wrk
#      with 16 connections (req/s, p50/p99, non-2xx responses, server RSS),
#      the same writer beside it, and a plain SQL floor (pgbench with 16
#      clients, PostgreSQL). Runs only when the binary has the server
#      (`serve`); wrk is installed on demand (Debian package wrk).
#
# Usage: bench/api.sh [BUILD_DIR]       (bench/run.sh calls it; BENCH_API=0 skips it there)
# Environment:
#   BENCH_API_TOKENS   tokens in the store (default 100000; 20000 with BENCH_QUICK=1)
#   BENCH_API_ITERS    calls per case for p50/p99 (default 200; 50 quick)
#   BENCH_API_THREADS  concurrent callers in part 1 (default 16)
#   BENCH_API_SECONDS  seconds per wrk run (default 10; 4 quick)
#   BENCH_PG=0         SQLite only;  TC_PG_URI: an existing server (its current schema is dropped!)
#   BENCH_API_KEEP=1   keep the work directory (the stores: a refill takes 20-60 s)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-build}" && pwd)
TC=$BUILD/tokencollector
BENCH=$BUILD/bench/api_bench
HARNESS=$HERE/../tests/pg/pg_harness.sh
QUICK=${BENCH_QUICK:-0}
N=${BENCH_API_TOKENS:-$([ "$QUICK" = 1 ] && echo 20000 || echo 100000)}
ITERS=${BENCH_API_ITERS:-$([ "$QUICK" = 1 ] && echo 50 || echo 200)}
THREADS=${BENCH_API_THREADS:-16}
SECS=${BENCH_API_SECONDS:-$([ "$QUICK" = 1 ] && echo 4 || echo 10)}
say() { echo "api.sh: $*" >&2; }

[ -x "$BENCH" ] || { say "$BENCH is missing (make all)"; exit 1; }
WORK=$(mktemp -d /tmp/tc-bench-api.XXXXXX)
PG_STARTED=""
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "$PG_STARTED" ] && sh "$HARNESS" stop "$PG_STARTED" >/dev/null 2>&1
    if [ "${BENCH_API_KEEP:-0}" = 1 ]; then say "work files kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

STORES=("sqlite:$WORK/api.db")
if [ "${BENCH_PG:-auto}" != 0 ]; then
    PG_URI=${TC_PG_URI:-}
    if [ -z "$PG_URI" ] && PG_URI=$(TC_PG_PORT=${BENCH_API_PG_PORT:-54339} sh "$HARNESS" start 2>"$WORK/pg.err"); then
        PG_STARTED=$PG_URI
    fi
    if [ -n "$PG_URI" ]; then STORES+=("$PG_URI"); else say "PostgreSQL rows skipped: $(tail -1 "$WORK/pg.err")"; fi
fi

echo "# API benchmark: $N tokens, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "## Handlers, called directly ($ITERS calls per case; calls/s from $THREADS threads, each with its own store"
echo "## connection, while a writer commits batches of 500 tokens with new prices on another)"
for uri in "${STORES[@]}"; do
    name=$([ "${uri#sqlite:}" != "$uri" ] && echo SQLite || echo PostgreSQL)
    t0=$(date +%s)
    "$BENCH" "$uri" --fill "$N" --iters 1 --case 6 >/dev/null 2>"$WORK/fill.err" ||
        { say "filling the $name store failed: $(tail -3 "$WORK/fill.err")"; continue; }
    # What autovacuum would have done by the time a store that size serves reads.
    [ "$name" = PostgreSQL ] && psql -X -q -d "$uri" -c "VACUUM ANALYZE" >/dev/null 2>&1
    say "$name store ready in $(($(date +%s) - t0)) s"
    echo
    "$BENCH" "$uri" --iters "$ITERS" --threads "$THREADS" --writer 2> >(grep -v '^info ' >&2)
done

# ---------------------------------------------------------------- over HTTP
echo
echo "## Over HTTP (wrk, 16 connections, $SECS s per URL, a writer committing beside the server)"
echo
if ! "$TC" --help 2>&1 | grep -q 'serve'; then
    echo "Not run: this build has no HTTP server yet (\`tokencollector serve\`, the [api] section)."
    exit 0
fi
if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        say "installing wrk (Debian package)"
        { apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }; } >/dev/null 2>&1
    fi
    command -v wrk >/dev/null 2>&1 || { echo "Not run: wrk is not installed (apt-get install wrk)."; exit 0; }
fi

# ms of a wrk figure ("1.23ms", "850.00us", "1.02s")
to_ms() { awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /[0-9]s$/ && $1 !~ /ms$/) v *= 1000; printf "%.2f", v }'; }
# wrk_row LABEL URL
wrk_row() {
    wrk -t2 -c16 -d"${SECS}s" --latency "$2" >"$WORK/wrk.out" 2>&1
    local p50 p99 rps bad
    p50=$(awk '$1 == "50%" { print $2 }' "$WORK/wrk.out" | to_ms)
    p99=$(awk '$1 == "99%" { print $2 }' "$WORK/wrk.out" | to_ms)
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$WORK/wrk.out")
    bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF } /Socket errors:/ { print "socket errors: " $0 }' "$WORK/wrk.out")
    echo "| $1 | ${rps:-?} | ${p50:-?} | ${p99:-?} | ${bad:-0} |"
}

for uri in "${STORES[@]}"; do
    name=$([ "${uri#sqlite:}" != "$uri" ] && echo SQLite || echo PostgreSQL)
    port=$((20000 + RANDOM % 20000))
    cat >"$WORK/api.ini" <<EOF
[core]
store = $uri
plugin_dir = $BUILD/plugins
log_level = warn

[api]
listen = 127.0.0.1:$port
EOF
    "$TC" serve -c "$WORK/api.ini" >"$WORK/serve.log" 2>&1 &
    SERVER_PID=$!
    base="http://127.0.0.1:$port"
    for _ in $(seq 100); do curl -sf "$base/health" >/dev/null 2>&1 && break; sleep 0.1; done
    if ! curl -sf "$base/health" >/dev/null 2>&1; then
        echo "$name: the server did not come up (serve.log: $(tail -2 "$WORK/serve.log" | tr '\n' ' '))"
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        SERVER_PID=""
        continue
    fi
    plim=$((N / 100))
    cursor=$(curl -sf "$base/api/v3/tokens?limit=$plim&fields=address&page=49" | jq -r .pagination.next_cursor)
    alone=$("$BENCH" "$uri" --write-for "$SECS" 2>/dev/null)
    "$BENCH" "$uri" --write-for $((SECS * 6 + 5)) >"$WORK/writer.out" 2>/dev/null &
    writer=$!
    echo "### $name ($N tokens)"
    echo
    echo "| URL | req/s | p50 ms | p99 ms | non-2xx |"
    echo "|---|---|---|---|---|"
    wrk_row "limit=2000, every field" "$base/api/v3/tokens?limit=2000&fields=status,name,symbol,decimals,image_url,description,supply,prices,last_price_change_at,created_at,updated_at,socials,websites,sources"
    wrk_row "limit=2000 (default fields)" "$base/api/v3/tokens?limit=2000"
    wrk_row "light=1&limit=2000" "$base/api/v3/tokens?light=1&limit=2000"
    wrk_row "limit=$plim, page 1" "$base/api/v3/tokens?limit=$plim"
    wrk_row "limit=$plim, page 50 by cursor" "$base/api/v3/tokens?limit=$plim&cursor=$cursor"
    wrk_row "/health" "$base/health"
    wait "$writer"
    rss=$(awk '/^VmHWM:/ { printf "%.1f MB", $2 / 1024 }' "/proc/$SERVER_PID/status" 2>/dev/null)
    echo
    echo "Server peak RSS: ${rss:-?} (SQLite's memory-mapped file pages count in it). Writer: $alone tokens/s alone," \
        "$(cat "$WORK/writer.out") tokens/s during the wrk runs."
    if [ "$name" = PostgreSQL ] && command -v pgbench >/dev/null 2>&1; then
        cat >"$WORK/plain.sql" <<'EOF'
SELECT t.address, t.status, t.name, t.symbol, t.decimals, t.image_url, t.description, t.supply, p.price_usd, p.market_cap, p.fdv, p.liquidity_usd, p.volume_24h, p.change_24h, p.updated_at, t.last_price_change, t.created_at, t.last_refresh_success FROM token_prices p JOIN tokens t ON t.address = p.address ORDER BY p.market_cap DESC, p.address DESC LIMIT 2000;
EOF
        pgbench -n -f "$WORK/plain.sql" -c 16 -j 2 -T "$SECS" "$uri" >"$WORK/pgbench.out" 2>&1
        echo "Plain SQL floor (pgbench, 16 clients, the page's tokens and prices, no links): $(awk '/^latency average/ { print $4 " ms average" } /^tps/ { printf ", %.0f queries/s", $3 }' "$WORK/pgbench.out" | tr -d '\n')."
    fi
    echo
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
done
