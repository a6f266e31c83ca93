#!/usr/bin/env bash
# Cluster-wide limiters (scope = cluster): what sharing one limit through
# PostgreSQL costs. For each of two rates, side by side in one run:
#   - local: one collector, scope = local (the baseline: no database in the path)
#   - cluster: three collectors, each configured with the full rate, scope = cluster
# against the fake upstream enforcing the matching sliding window (10% above
# the rate: 500 ms windows), N = rate x BENCH_CLUSTER_S tokens, one request per
# token; the default cluster_ahead (250 ms) keeps the sliding-window rule of
# docs/postgresql.md: rate x (0.5 s + 1/rate + 25 ms) + 1 <= limit.
# Figures: requests/s against the rate, 429s, the busiest window against the
# upstream's limit, database statements per API request (the limiter row's
# updates counted by PostgreSQL itself, pg_stat_user_tables.n_tup_upd, over
# the requests the upstream served), the reservation round trip and the
# limiter's added wait per request (p50 / p99, the worst collector's summary:
# the wait for a permit while it held none; the wait for the rate itself is
# not added latency: the local limiter has it too).
# Usage: bash bench/cluster.sh [BUILD_DIR]   (BENCH_CLUSTER_S: seconds per run, default 8;
#        BENCH_CLUSTER_RATES: default "100 400"; BENCH_RUNS: runs per figure, 3, 1 with BENCH_QUICK=1)
set -uo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TC=$BUILD/tokencollector
FAKE=$BUILD/fakeapi
CHECK=$BUILD/tools/tc_check
HARNESS=$ROOT/tests/pg/pg_harness.sh
SECS=${BENCH_CLUSTER_S:-8}
RATES=${BENCH_CLUSTER_RATES:-100 400}
WORK=$(mktemp -d /tmp/tc-bench-cluster.XXXXXX)
PG_URI=""
PIDS=()
finish() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "$PG_URI" ] && sh "$HARNESS" stop "$PG_URI" >/dev/null 2>&1
    [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap finish EXIT
for bin in "$TC" "$FAKE" "$CHECK"; do [ -x "$bin" ] || { echo "cluster bench: $bin is missing (make all)" >&2; exit 1; }; done
PG_URI=$(sh "$HARNESS" start 2>"$WORK/harness.err") || { cat "$WORK/harness.err" >&2; exit 1; }
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# one_run NAME SCOPE COLLECTORS RATE: prints "req_per_s 429s busiest limit statements requests rtt50 rtt99 add50 add99"
one_run() {
    local name=$1 scope=$2 k=$3 rate=$4 n=$(($4 * SECS)) limit=$(($4 * 11 / 20)) port uri c t0 t1 pids=()
    "$FAKE" --port 0 --port-file "$WORK/$name.port" --limit "jupiter=$limit/500ms" --latency 2-10 2>/dev/null &
    PIDS+=($!)
    local fake=$!
    for _ in $(seq 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.05; done
    port=$(cat "$WORK/$name.port")
    uri="$PG_URI&options=-csearch_path%3D$name"
    printf '[core]\nstore = %s\nplugin_dir = %s/plugins\nbatch_size = 50\nmax_concurrent_batches = 4\n[limiter jupiter]\nrate = %s/s\nburst = 1\nscope = %s\n[source jupiter]\nplugin = jupiter.so\nlimiter = jupiter\nchunk_size = 1\nconcurrency = 8\nbase_url = http://127.0.0.1:%s\n' \
        "$uri" "$BUILD" "$rate" "$scope" "$port" >"$WORK/$name.ini"
    "$CHECK" gen "$n" 29 >"$WORK/$name.txt"
    "$TC" -c "$WORK/$name.ini" import "$WORK/$name.txt" >/dev/null 2>&1
    local upd0
    upd0=$(q "$PG_URI" "SELECT coalesce(sum(n_tup_upd), 0) FROM pg_stat_user_tables WHERE relname = 'cluster_limiters' AND schemaname = '$name'")
    t0=$(date +%s.%N)
    for c in $(seq "$k"); do
        TC_LOG_LEVEL=warn "$TC" -c "$WORK/$name.ini" --once --no-progress >"$WORK/$name$c.out" 2>"$WORK/$name$c.err" &
        pids+=($!)
        PIDS+=($!)
    done
    # Requests/s over the steady middle (from 1 s in to 1 s before the
    # planned end): start-up and the last batches' tail are not the limiter's.
    sleep 1
    local r0 r1
    r0=$(curl -sf "http://127.0.0.1:$port/_stats" | jq .jupiter.requests)
    t0=$(date +%s.%N)
    sleep $((SECS - 2))
    r1=$(curl -sf "http://127.0.0.1:$port/_stats" | jq .jupiter.requests)
    t1=$(date +%s.%N)
    for p in "${pids[@]}"; do wait "$p"; done
    sleep 1.2 # the server's statistics of the exited sessions
    local st served upd
    st=$(curl -sf "http://127.0.0.1:$port/_stats")
    served=$(echo "$st" | jq .jupiter.requests)
    upd=$(q "$PG_URI" "SELECT coalesce(sum(n_tup_upd), 0) FROM pg_stat_user_tables WHERE relname = 'cluster_limiters' AND schemaname = '$name'")
    kill "$fake" 2>/dev/null
    # The busiest collector's percentiles (the worst of the k).
    local lat
    lat=$(cat "$WORK/$name"*.out | sed -n 's/^cluster limiter.*round trip p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms.*added wait p50 \([0-9.]*\) ms p99 \([0-9.]*\) ms.*/\1 \2 \3 \4/p' |
        awk '{ for (i = 1; i <= 4; i++) if ($i > m[i]) m[i] = $i } END { printf "%.3f %.3f %.3f %.3f", m[1], m[2], m[3], m[4] }')
    awk -v s="$t0" -v e="$t1" -v n="$((r1 - r0))" -v all="$served" -v r429="$(echo "$st" | jq .jupiter.status_429)" \
        -v busy="$(echo "$st" | jq .jupiter.max_in_window)" -v lim="$limit" -v u="$((upd - upd0))" -v lat="$lat" \
        'BEGIN { printf "%.1f %d %d %d %d %d %s\n", n / (e - s), r429, busy, lim, u, all, lat }'
}

RUNS=${BENCH_RUNS:-$([ "${BENCH_QUICK:-0}" = 1 ] && echo 1 || echo 3)}
# med V1 V2 ...: "median (min-max)" (one value: itself)
med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = v[int((NR + 1) / 2)]; if (NR == 1) print m; else printf "%s (%s-%s)\n", m, v[1], v[NR] }'; }
echo "# Cluster limiter benchmark (bench/cluster.sh)"
echo
echo "$SECS s of requests per run (requests/s over its steady middle), median (min-max) over $RUNS runs;"
echo "the cluster runs have 3 collectors, each configured with the full rate; the upstream allows 10% more."
echo
echo "| rate | run | requests/s | of the rate | 429s | busiest 500 ms window / limit | statements per request | round trip p50 / p99 ms | added wait p50 / p99 ms |"
echo "|---|---|---|---|---|---|---|---|---|"
for rate in $RATES; do
    for run in local cluster; do
        if [ $run = local ]; then k=1; else k=3; fi
        rps=() pct=() spr=() r50=() r99=() a50=() a99=() t429=0 busiest=0
        for i in $(seq "$RUNS"); do
            read -r v r429 busy lim upd served x50 x99 y50 y99 <<<"$(one_run "r${rate}_${run}_$i" $run $k "$rate")"
            rps+=("$v")
            pct+=("$(awk -v a="$v" -v b="$rate" 'BEGIN { printf "%.1f", 100 * a / b }')")
            spr+=("$(awk -v u="$upd" -v n="$served" 'BEGIN { printf "%.3f", n ? u / n : 0 }')")
            r50+=("$x50") r99+=("$x99") a50+=("$y50") a99+=("$y99")
            t429=$((t429 + r429))
            [ "$busy" -gt "$busiest" ] && busiest=$busy
        done
        if [ $run = local ]; then
            cost="0 (no database)" lat="-" alat="-"
        else
            cost=$(med "${spr[@]}") lat="$(med "${r50[@]}") / $(med "${r99[@]}")" alat="$(med "${a50[@]}") / $(med "${a99[@]}")"
        fi
        echo "| $rate/s | $run ($k collector$([ $k -gt 1 ] && echo s)) | $(med "${rps[@]}") | $(med "${pct[@]}")% | $t429 | $busiest / $lim | $cost | $lat | $alat |"
    done
done
