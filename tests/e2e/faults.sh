#!/usr/bin/env bash
# The fault matrix: the real binary against the fake upstream with injected
# faults (429 storms, 5xx, timeouts, truncated JSON, a source down, faults that
# stop mid-run). In every case, once the faults clear and the owed sources have
# been retried, every token holds the data of every source that knows it,
# nothing is stored twice or lost, and the upstream never saw a request over
# its rate limits (its only 429s are the injected ones).
# Usage: tests/e2e/faults.sh [BUILD_DIR]
BUILD=${1:-build}
. "$(dirname "$0")/lib.sh"

N=1500
SOURCES="jupiter helius dexscreener"
echo "# faults: work directory $WORK"
start_fake faults --scale 30 --latency 1-5
"$CHECK" gen $N 11 >"$WORK/tokens.txt"

fault() { curl -sf -X POST "$URL/_faults?$1" >/dev/null || not_ok "could not set fault $1"; }
# col FILE SOURCE N: field N of SOURCE's row in the summary's first table;
# rcol: the same in the resilience table (its second row for SOURCE).
col() { awk -v s="$2" -v c="$3" '$1 == s && !done[s]++ { print $c }' "$1"; }
rcol() { awk -v s="$2" -v c="$3" '$1 == s && ++seen[s] == 2 { print $c }' "$1"; }
sql() { sqlite3 "$DB" "$1"; }

# new_case NAME: a fresh store with every token imported, a clean upstream.
new_case() {
    CASE=$1
    DB="$WORK/$CASE.db"
    curl -sf -X POST "$URL/_reset" >/dev/null
    fault "source=all&clear=1"
    CORE_EXTRA=$'outstanding_retry_min_s = 1\noutstanding_retry_max_s = 1' TIMEOUT_MS=800 \
        write_config "$WORK/$CASE.ini" "$DB" 100 1000 30 \
        $'breaker_open_s = 1\nbreaker_open_max_s = 2'
    "$TC" -c "$WORK/$CASE.ini" import "$WORK/tokens.txt" >/dev/null || not_ok "$CASE: import"
    echo "# $CASE"
}

# run_once N: one --once pass; its summary goes to $WORK/$CASE.N.out.
run_once() {
    "$TC" -c "$WORK/$CASE.ini" --once --no-progress >"$WORK/$CASE.$1.out" 2>"$WORK/$CASE.$1.err"
    expect "$CASE: pass $1 exit code" $? 0
}

# settle: clear every fault, then run passes until no token owes a source
# (the owed ones come due 1 s after each pass).
settle() {
    fault "source=all&clear=1"
    local pass=2
    while [ "$(sql "SELECT count(*) FROM tokens WHERE outstanding_sources IS NOT NULL")" -gt 0 ] && [ $pass -le 4 ]; do
        sleep 1.1
        run_once $pass
        pass=$((pass + 1))
    done
}

# check_end [INJECTED_429_SOURCES]: the end state every case must reach.
check_end() {
    expect "$CASE: no token pending" "$(sql "SELECT count(*) FROM tokens WHERE status='pending'")" 0
    expect "$CASE: no token owes a source" "$(sql "SELECT count(*) FROM tokens WHERE outstanding_sources IS NOT NULL")" 0
    expect "$CASE: no token failed" "$(sql "SELECT count(*) FROM tokens WHERE status='failed'")" 0
    TC_CHECK_PASSES=5 "$CHECK" verify "$DB" >"$WORK/$CASE.verify" 2>&1
    expect "$CASE: every token holds every source's data (tc_check verify)" $? 0
    tail -1 "$WORK/$CASE.verify"
    expect "$CASE: one token_sources row per token and source at most" \
        "$(sql "SELECT count(*) FROM (SELECT address, source FROM token_sources GROUP BY 1, 2 HAVING count(*) > 1)")" 0
    local s requests=() s429=() retries=()
    for s in $SOURCES; do
        expect_le "$s: most requests in any window" "$(stats ".$s.max_in_window")" "$(stats ".$s.limit")"
        local window429=$(($(stats ".$s.status_429") - $(stats ".$s.faults_injected")))
        case " ${1:-} " in
        *" $s "*) expect_le "$s: no 429 beyond the injected ones" "$window429" 0 ;;
        *) expect "$s: zero 429s" "$(stats ".$s.status_429")" 0 ;;
        esac
        requests+=("$s=$(stats ".$s.requests")")
        s429+=("$s=$(stats ".$s.status_429")")
        local r=0 f
        for f in "$WORK/$CASE".*.out; do r=$((r + $(col "$f" "$s" 5))); done
        retries+=("$s=$r")
    done
    echo "# figures $CASE: requests ${requests[*]}; 429s ${s429[*]}; retries ${retries[*]};" \
        "tokens enriched $(sql "SELECT count(*) FROM tokens WHERE status='enriched'")," \
        "no_data $(sql "SELECT count(*) FROM tokens WHERE status='no_data'"), lost 0"
}

# ---------------------------------------------------------------------------
new_case storm429
fault "source=all&rate429=0.25&retry_after=1"
run_once 1
expect "storm429: the collector saw the 429s" "$(grep -c 'HTTP 429 received: 0$' "$WORK/storm429.1.out")" 0
expect "storm429: 429s are not failed attempts (no chunk given up)" \
    "$(awk '$1 ~ /^(jupiter|helius|dexscreener)$/ && !done[$1]++ { s += $11 } END { print s + 0 }' "$WORK/storm429.1.out")" 0
settle
check_end "$SOURCES"

# ---------------------------------------------------------------------------
new_case errors5xx
fault "source=all&error_rate=0.3"
run_once 1
expect "errors5xx: chunks were retried" "$([ "$(col "$WORK/errors5xx.1.out" dexscreener 5)" -gt 0 ] && echo yes)" yes
settle
check_end

# ---------------------------------------------------------------------------
new_case timeouts
fault "source=all&timeout_rate=0.2&hang_ms=3000"
run_once 1
expect "timeouts: transfers timed out and were retried" \
    "$([ "$(col "$WORK/timeouts.1.out" dexscreener 6)" -gt 0 ] && echo yes)" yes
settle
check_end

# ---------------------------------------------------------------------------
new_case truncated
fault "source=all&truncate_rate=0.25&malformed_rate=0.05"
run_once 1
settle
check_end

# ---------------------------------------------------------------------------
new_case dex_down
fault "source=dexscreener&down=1"
run_once 1
expect "dex_down: the breaker opened" "$([ "$(rcol "$WORK/dex_down.1.out" dexscreener 3)" -ge 1 ] 2>/dev/null && echo yes)" yes
dex_sent=$(stats '.dexscreener.requests')
echo "# dex_down pass 1: $dex_sent requests reached the down source ($(((N + 29) / 30)) chunks x 4 attempts without a breaker:" \
    "$((4 * ((N + 29) / 30)))); breaker opened $(rcol "$WORK/dex_down.1.out" dexscreener 3) time(s)"
expect_le "dex_down: the open breaker held requests to the down source well under chunks x attempts" "$dex_sent" 100
expect "dex_down: the other sources still delivered (failed only where they know nothing: dexscreener is owed)" \
    "$(sql "SELECT count(*) FROM tokens t WHERE status='failed' AND EXISTS (SELECT 1 FROM token_sources s WHERE s.address = t.address)")" 0
expect "dex_down: no token is no_data while dexscreener is owed" "$(sql "SELECT count(*) FROM tokens WHERE status='no_data'")" 0
expect "dex_down: every token owes only dexscreener" \
    "$(sql "SELECT count(*) FROM tokens WHERE outstanding_sources = 'dexscreener'")" $N
expect "dex_down: no dexscreener row stored" "$(sql "SELECT count(*) FROM token_sources WHERE source='dexscreener'")" 0
curl -sf -X POST "$URL/_reset" >/dev/null
settle
expect "dex_down: the owed pass asks only dexscreener, in full chunks" \
    "$(stats '.jupiter.requests') $(stats '.helius.requests') $(stats '.dexscreener.requests')" "0 0 $(((N + 29) / 30))"
check_end

# ---------------------------------------------------------------------------
new_case stops_midrun
fault "source=dexscreener&error_rate=1"
fault "source=jupiter&error_rate=1"
(sleep 1.5 && curl -sf -X POST "$URL/_faults?source=all&clear=1" >/dev/null) &
run_once 1
wait $!
settle
check_end

echo "faults: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
