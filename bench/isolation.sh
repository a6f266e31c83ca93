#!/usr/bin/env bash
# The CPU cost of isolation = process: the same --once pass over N tokens
# (default 6000) with the three bundled plugins in-process, then each in its
# own process, alternating, ROUNDS times (default 3). CPU is user + system
# of the collector and of its plugin processes (the children it waited
# for), per token; the median of each mode and their difference are printed.
# The fake upstream has no latency and limits far above the rates, so the
# pass is bound by the collector's own work.
# Usage: bench/isolation.sh [BUILD_DIR]   (N=..., ROUNDS=...)
set -uo pipefail
BUILD=${1:-build}
N=${N:-6000}
ROUNDS=${ROUNDS:-3}
W=$(mktemp -d /tmp/tc-iso-bench.XXXXXX)
"$BUILD/fakeapi" --port 0 --port-file "$W/port" --limit jupiter=100000/1000ms --limit helius=100000/1000ms \
    --limit dexscreener=100000/1000ms 2>/dev/null &
FAKEPID=$!
trap 'kill $FAKEPID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$W/port")"
"$BUILD/tools/tc_check" gen "$N" 5 >"$W/tokens.txt"

# conf MODE: the config with every source at isolation = MODE.
conf() {
    cat >"$W/$1.ini" <<EOF
[core]
store = sqlite:$W/$1.db
plugin_dir = $BUILD/plugins
batch_size = 1000
[limiter all]
rate = 5000/s
burst = 50
[source jupiter]
plugin = jupiter.so
limiter = all
base_url = $URL
isolation = $1
[source helius]
plugin = helius.so
limiter = all
base_url = $URL
api_key = bench
isolation = $1
[source dexscreener]
plugin = dexscreener.so
limiter = all
base_url = $URL
isolation = $1
EOF
}
conf in-process
conf process

# cpu_us MODE: CPU microseconds of one pass on a fresh store.
cpu_us() {
    rm -f "$W/$1.db"*
    "$BUILD/tokencollector" -c "$W/$1.ini" import "$W/tokens.txt" >/dev/null 2>&1
    python3 - "$BUILD/tokencollector" "$W/$1.ini" <<'EOF'
import resource, subprocess, sys
before = resource.getrusage(resource.RUSAGE_CHILDREN)
subprocess.run([sys.argv[1], "-c", sys.argv[2], "--once", "--no-progress"], stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL, check=True)
after = resource.getrusage(resource.RUSAGE_CHILDREN)
print(int(((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1e6))
EOF
}
: >"$W/in.txt"
: >"$W/iso.txt"
for r in $(seq "$ROUNDS"); do
    cpu_us in-process >>"$W/in.txt"
    cpu_us process >>"$W/iso.txt"
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
a=$(median "$W/in.txt")
b=$(median "$W/iso.txt")
awk -v a="$a" -v b="$b" -v n="$N" -v r="$ROUNDS" 'BEGIN {
    printf "isolation: %d tokens, 3 sources, median of %d passes each\n", n, r
    printf "  in-process        %8.1f us CPU per token\n", a / n
    printf "  isolation=process %8.1f us CPU per token\n", b / n
    printf "  cost of isolation %+8.1f us per token (x%.2f)\n", (b - a) / n, b / a }'
