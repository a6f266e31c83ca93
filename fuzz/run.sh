#!/usr/bin/env bash
# make fuzz-ci: every harness for SECONDS on a scratch copy of its seeds
# (fuzz/corpus/NAME; new inputs go to the scratch copy, never into the tree),
# two at a time. Fails on any crash, leak (LeakSanitizer) or undefined
# behaviour (UBSan, fatal); the input that caused it is kept and named.
# Prints the executions of each run and their total.
# Usage: fuzz/run.sh BUILD_DIR SECONDS
set -uo pipefail
B=${1:-build-fuzz}
S=${2:-20}
cd "$(dirname "$0")/.."
W=$(mktemp -d /tmp/tc-fuzz.XXXXXX)
names=(plugin_helius plugin_jupiter plugin_dexscreener config import api)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_one() {
    local n=$1
    mkdir -p "$W/$n/corpus" "$W/$n/crash"
    "$B/fuzz/$n" -max_total_time="$S" -print_final_stats=1 -rss_limit_mb=1024 -timeout=10 -max_len=65536 \
        -artifact_prefix="$W/$n/crash/" "$W/$n/corpus" "fuzz/corpus/$n" >"$W/$n.log" 2>&1
    echo $? >"$W/$n.rc"
}
for ((i = 0; i < ${#names[@]}; i += 2)); do
    run_one "${names[i]}" &
    [ -n "${names[i + 1]:-}" ] && run_one "${names[i + 1]}" &
    wait
done
failed=0 total=0
for n in "${names[@]}"; do
    execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$W/$n.log")
    total=$((total + ${execs:-0}))
    if [ "$(cat "$W/$n.rc")" != 0 ]; then
        failed=1
        echo "not ok - fuzz $n: exit $(cat "$W/$n.rc") after ${execs:-?} executions; log and input in $W/$n*"
        grep -m5 -E 'ERROR|runtime error|SUMMARY' "$W/$n.log"
    else
        echo "ok - fuzz $n: ${execs:-0} executions in ${S} s, no crash, leak or undefined behaviour"
    fi
done
echo "fuzz: $total executions in total"
[ "$failed" -eq 0 ] && rm -rf "$W"
exit $failed
