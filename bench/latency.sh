#!/usr/bin/env bash
# Latency against the limiter (issue 13): the 15,371-token --once run with
# DexScreener as the only limited source (45 requests/s, burst 5 as shipped;
# the fake upstream enforces 50 per 1000 ms, rate x window + burst) and a
# fixed upstream latency of 100 ms and 400 ms, with the DEFAULT config (the
# in-flight limit sized by rate x p90 latency) side by side with the old fixed
# `concurrency = 4`, in the same run of this script. Prints a Markdown section.
#
# efficiency = floor / wall, floor = (requests - burst) / rate: the time the
# limiter needs to let the 513 DexScreener requests through. The wall time is
# the whole --once process (start-up and the last answer's latency included).
#
# Usage: bash bench/latency.sh [BUILD_DIR]
# Environment: BENCH_RUNS (default 3, 1 with BENCH_QUICK=1) runs of each default row;
# the concurrency = 4 rows run once (at 400 ms one run takes about a minute).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "${1:-build}" && pwd)
CONF=$ROOT/conf/tokencollector.ini
TC=$BUILD/tokencollector
FAKE=$BUILD/fakeapi
GEN=$BUILD/tools/tc_check
if [ "${BENCH_QUICK:-0}" = 1 ]; then RUNS=${BENCH_RUNS:-1}; else RUNS=${BENCH_RUNS:-3}; fi
N=15371
RATE=45
BURST=5
CHUNK=30
LATENCIES=(100 400)

for f in "$TC" "$FAKE" "$GEN"; do [ -x "$f" ] || { echo "latency.sh: missing $f (run: make all)" >&2; exit 1; }; done
for v in $(compgen -e); do case "$v" in TC_* | *_API_KEY) unset "$v" ;; esac; done

WORK=$(mktemp -d /tmp/tc-latency.XXXXXX)
FAKE_PID=""
cleanup() {
    if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

start_fake() { # LATENCY_MS
    if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null || true; fi
    rm -f "$WORK/port"
    "$FAKE" --port 0 --port-file "$WORK/port" --latency "$1" --limit "dexscreener=$((RATE + BURST))/1000ms" \
        --limit jupiter=10000000/1ms --limit helius=10000000/1ms 2>>"$WORK/fake.log" &
    FAKE_PID=$!
    for _ in $(seq 200); do [ -s "$WORK/port" ] && break; sleep 0.05; done
    [ -s "$WORK/port" ] || { echo "latency.sh: the fake upstream did not start" >&2; exit 1; }
    URL=http://127.0.0.1:$(cat "$WORK/port")
}

"$GEN" gen $N 42 >"$WORK/seed.txt"
REQ=$(((N + CHUNK - 1) / CHUNK))
FLOOR=$(awk -v r=$REQ -v b=$BURST -v k=$RATE 'BEGIN { printf "%.4f", (r - b) / k }')

# one_run LABEL ENV...: one --once run; appends "wall 429s dex_requests max_in_window tokens" to $WORK/LABEL.tsv
one_run() {
    local label=$1
    shift
    local env=("TC_CORE_STORE=sqlite:$WORK/db" "TC_CORE_PLUGIN_DIR=$BUILD/plugins" "TC_CORE_LOG_LEVEL=warn"
        "HELIUS_API_KEY=bench" "TC_SOURCE_JUPITER_BASE_URL=$URL" "TC_SOURCE_HELIUS_BASE_URL=$URL"
        "TC_SOURCE_DEXSCREENER_BASE_URL=$URL" "TC_LIMITER_JUPITER_RATE=1000000/s"
        "TC_LIMITER_HELIUS_DAS_RATE=1000000/s" "TC_LIMITER_DEXSCREENER_RATE=$RATE/s"
        "TC_LIMITER_DEXSCREENER_BURST=$BURST" "$@")
    rm -f "$WORK"/db*
    env "${env[@]}" "$TC" -c "$CONF" import "$WORK/seed.txt" >/dev/null 2>&1
    curl -sf -X POST "$URL/_reset" >/dev/null
    env "${env[@]}" /usr/bin/time -f '%e' -o "$WORK/time" "$TC" -c "$CONF" --once --no-progress \
        >"$WORK/summary" 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
    local st
    st=$(curl -sf "$URL/_stats")
    printf '%s\t%s\t%s\t%s\t%s\n' "$(cat "$WORK/time")" \
        "$(echo "$st" | jq '[.jupiter.status_429, .helius.status_429, .dexscreener.status_429] | add')" \
        "$(echo "$st" | jq .dexscreener.requests)" "$(echo "$st" | jq .dexscreener.max_in_window)" \
        "$(awk '/^summary:/ { print $2; exit }' "$WORK/summary")" >>"$WORK/$label.tsv"
}

# median of column C of FILE
med() { cut -f"$2" "$1" | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { cut -f"$2" "$1" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (lo == hi) print ""; else printf " (%s–%s)", lo, hi }'; }

FOUR=()
for s in JUPITER HELIUS DEXSCREENER; do FOUR+=("TC_SOURCE_${s}_CONCURRENCY=4"); done
for lat in "${LATENCIES[@]}"; do
    start_fake "$lat"
    : >"$WORK/def$lat.tsv"
    : >"$WORK/four$lat.tsv"
    # Interleaved, so both configurations see the same machine.
    for run in $(seq "$RUNS"); do
        one_run "def$lat"
        [ "$run" = 1 ] && one_run "four$lat" "${FOUR[@]}"
        echo "latency.sh: $lat ms run $run: default $(tail -1 "$WORK/def$lat.tsv" | cut -f1) s$([ "$run" = 1 ] && echo ", concurrency = 4 $(tail -1 "$WORK/four$lat.tsv" | cut -f1) s")" >&2
    done
done

echo "## Latency against the limiter: $N tokens, DexScreener $RATE requests/s"
echo
echo "\`--once\` with conf/tokencollector.ini, Jupiter and Helius unlimited, DexScreener's limiter at $RATE/s burst $BURST"
echo "(the fake upstream allows $((RATE + BURST)) per 1000 ms) and a fixed upstream latency. Floor = ($REQ requests − $BURST) ÷ $RATE/s"
echo "= $(printf %.2f "$FLOOR") s; efficiency = floor ÷ wall (the whole process: start-up and the last answer's latency count)."
echo "*default*: the shipped defaults (in flight sized by rate × p90 latency, at most \`concurrency\` = 64), median of $RUNS"
echo "run(s); *concurrency = 4*: the old fixed default (one run)."
echo
echo "| latency | config | wall | efficiency | DexScreener requests | 429s | most requests in 1 s (limit $((RATE + BURST))) | tokens stored |"
echo "|---|---|---|---|---|---|---|---|"
for lat in "${LATENCIES[@]}"; do
    for cfg in def four; do
        f=$WORK/$cfg$lat.tsv
        w=$(med "$f" 1)
        name=$([ $cfg = def ] && echo "**default**" || echo "concurrency = 4")
        eff=$(awk -v f="$FLOOR" -v w="$w" 'BEGIN { printf "%.3f", f / w }')
        [ $cfg = def ] && eff="**$eff**"
        echo "| $lat ms | $name | $(printf %.2f "$w") s$(range "$f" 1) | $eff | $(med "$f" 3) | $(med "$f" 2)$(range "$f" 2) | $(med "$f" 4) | $(med "$f" 5) |"
    done
done
echo
for lat in "${LATENCIES[@]}"; do
    w=$(med "$WORK/def$lat.tsv" 1)
    echo "- target: efficiency ≥ 0.95 with defaults at $lat ms: $(awk -v f="$FLOOR" -v w="$w" 'BEGIN { printf "%.3f, %s", f / w, (f / w >= 0.95) ? "met" : "MISSED" }')" \
        "(the last answer alone costs $lat ms: at most $(awk -v f="$FLOOR" -v l="$lat" 'BEGIN { printf "%.3f", f / (f + l / 1000) }') even with no start-up)"
done
