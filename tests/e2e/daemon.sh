#!/usr/bin/env bash
# The daemon, accelerated: intervals in seconds instead of minutes, against
# the fake upstream at --scale 30. Checks that hot tokens are refreshed far
# more often than cold ones, that tokens imported while it runs are picked up,
# that SIGTERM in the middle of batches exits 0 within the grace period with
# nothing half-written or left claimed, and that no rate limit is exceeded.
# Usage: tests/e2e/daemon.sh [BUILD_DIR]
BUILD=${1:-build}
. "$(dirname "$0")/lib.sh"

N=600
LATE=100
LAST=60
HOT=60
echo "# daemon: work directory $WORK"
start_fake daemon --scale 30 --latency 100-300
"$CHECK" gen $((N + LATE + LAST)) 5 >"$WORK/all.txt"
head -n $N "$WORK/all.txt" >"$WORK/first.txt"
sed -n "$((N + 1)),$((N + LATE))p" "$WORK/all.txt" >"$WORK/late.txt"
tail -n $LAST "$WORK/all.txt" >"$WORK/last.txt"
DB="$WORK/daemon.db"
CORE_EXTRA=$'shutdown_grace_s = 5\n[scheduler]\nmin_interval = 1s\nmax_interval = 8s\nmax_wait = 16s\nmetrics_interval = 2s\nbatch_delay_ms = 100\nmax_batch_size = 300\ndynamic_intervals = false' \
    write_config "$WORK/daemon.ini" "$DB"
"$TC" -c "$WORK/daemon.ini" import "$WORK/first.txt" >/dev/null
# Contest tokens are the hot tier, whatever their market data.
sqlite3 "$DB" "UPDATE tokens SET in_contest = 1 WHERE address IN (SELECT address FROM tokens ORDER BY address LIMIT $HOT)"

"$TC" -c "$WORK/daemon.ini" 2>"$WORK/daemon.log" &
DAEMON=$!
sleep 3
"$TC" -c "$WORK/daemon.ini" import "$WORK/late.txt" >/dev/null
expect "import while the daemon runs" $? 0
sleep 8
# Stop while a batch is on the wire: import more tokens, and send SIGTERM as
# soon as the daemon has scheduled them (the upstream takes 100-300 ms).
"$TC" -c "$WORK/daemon.ini" import "$WORK/last.txt" >/dev/null
for _ in $(seq 500); do
    [ "$(grep -c 'new tokens scheduled' "$WORK/daemon.log")" -ge 3 ] && break
    sleep 0.02
done
kill -TERM $DAEMON
started_stop=$(date +%s.%N)
wait $DAEMON
expect "SIGTERM: exit code 0" $? 0
stop_s=$(awk -v a="$started_stop" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", b - a }')
expect_le "SIGTERM: stopped within the grace period (s)" "$stop_s" 5
expect "SIGTERM: it said it was stopping" "$(grep -c 'info \[daemon\] stopping:' "$WORK/daemon.log")" 1

sql() { sqlite3 "$DB" "$1"; }
in_flight=$(sed -n 's/.*stopping: \([0-9]*\) tokens in flight.*/\1/p' "$WORK/daemon.log")
expect "SIGTERM came while tokens were in flight" "$([ "${in_flight:-0}" -gt 0 ] && echo yes)" yes
expect "no token left claimed" "$(sql "SELECT count(*) FROM tokens WHERE claim_id IS NOT NULL OR lease_until > 0")" 0
expect "every token refreshed, the late imports too" \
    "$(sql "SELECT count(*) FROM tokens WHERE status = 'pending' AND address NOT IN ($(sed "s/.*/'&'/" "$WORK/last.txt" | paste -sd,))")" 0
expect "tokens of unfinished batches were given back untouched (pending, no data)" \
    "$(sql "SELECT count(*) FROM tokens t WHERE status = 'pending' AND (enrichment_attempts > 0 OR EXISTS (SELECT 1 FROM token_sources s WHERE s.address = t.address))")" 0
# A restart finishes what was given back: nothing lost.
"$TC" -c "$WORK/daemon.ini" --once --no-progress >"$WORK/after.out" 2>&1
expect "after a restart nothing is pending" "$(sql "SELECT count(*) FROM tokens WHERE status = 'pending'")" 0
TC_CHECK_PASSES=1000 "$CHECK" verify "$DB" >"$WORK/verify.out" 2>&1
expect "every stored value equals the upstream's: nothing half-written (tc_check verify)" $? 0
tail -1 "$WORK/verify.out"
grep 'info \[daemon\] stopping:' "$WORK/daemon.log" | sed 's/^/# /'
# Refreshes after the first one (that one is the initial pass, for all alike).
hot=$(sql "SELECT avg(enrichment_attempts) - 1 FROM tokens WHERE in_contest = 1")
cold=$(sql "SELECT avg(enrichment_attempts) - 1 FROM tokens WHERE in_contest = 0 AND refresh_interval_seconds >= 8")
ncold=$(sql "SELECT count(*) FROM tokens WHERE in_contest = 0 AND refresh_interval_seconds >= 8")
echo "# refreshes per token after the first: hot $hot, cold $cold ($ncold cold tokens)"
expect "hot tokens refreshed at least 4x as often as cold ones" \
    "$(awk -v h="$hot" -v c="$cold" 'BEGIN { print (c > 0 && h >= 4 * c) ? "yes" : "no" }')" yes
expect "the metrics lines name every source and the total" \
    "$(grep -cE 'info \[metrics\] \[(jupiter|helius|dexscreener|all)\] ' "$WORK/daemon.log" | awk '{ print ($1 >= 8) ? "yes" : "no" }')" yes
for s in jupiter helius dexscreener; do
    expect "$s: zero 429s" "$(stats ".$s.status_429")" 0
    expect_le "$s: most requests in any window" "$(stats ".$s.max_in_window")" "$(stats ".$s.limit")"
done

echo "daemon: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
