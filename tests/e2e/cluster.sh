#!/usr/bin/env bash
# Cluster-wide limiters ([limiter NAME] scope = cluster, docs/postgresql.md):
# collectors configured with the API's FULL rate (not rate / N) share one
# limit through a real PostgreSQL started here, against the fake upstream
# enforcing the API's sliding window. One run, in phases:
#   1. three collectors at once: zero 429s, >= 90% of the rate together
#   2. one killed with SIGKILL: within a few seconds the other two use its
#      share (>= 90% again)
#   3. a fourth started mid-run: still zero 429s
#   4. one 429 injected by the upstream pauses all of them
#   5. the database restarted mid-run: nothing is sent while it is down, the
#      run resumes after
# and over the whole run: the busiest window within the upstream's limit,
# every token written exactly once with the upstream's values (nothing lost
# by the kill or the restart), the collectors' cluster figures.
# Never skipped: without PostgreSQL server binaries this FAILS.
# Usage: tests/e2e/cluster.sh [BUILD_DIR]
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/pg_lib.sh"
T0=$(date +%s)
pg_start "cluster e2e"
now() { date +%s.%N; }
reqs() { stats .jupiter.requests; }
# measure SECONDS: the upstream's requests over that long: SENT, FROM and TO
# (times), GOT (requests/s, integer).
measure() {
    local r0 r1
    r0=$(reqs) FROM=$(now)
    sleep "$1"
    r1=$(reqs) TO=$(now)
    SENT=$((r1 - r0))
    GOT=$(awk -v n="$SENT" -v s="$FROM" -v e="$TO" 'BEGIN { printf "%d", n / (e - s) }')
}
# expect_ge DESCRIPTION ACTUAL MINIMUM
expect_ge() { if [ "$2" -ge "$3" ]; then ok "$1 ($2 >= $3)"; else not_ok "$1: $2 < $3"; fi; }

# The API: at most 110 requests per 500 ms sliding window (220/s). Every
# collector is configured with 200/s (cluster_ahead: its default, 250 ms): a
# request goes at most 1/rate + (burst - 1)/rate + cluster_ahead/10 = 30 ms
# after its moment, so any window holds at most rate x (0.5 s + 30 ms) + burst
# = 107 <= 110 (docs/postgresql.md).
RATE=200
MIN_RATE=$((RATE * 9 / 10))
N=5000
start_fake cluster --limit jupiter=110/500ms --latency 2-10
U=$PG_URI\&options=-csearch_path%3Dcluster
cat >"$WORK/cluster.ini" <<INI
[core]
store = $U
plugin_dir = $BUILD/plugins
batch_size = 50
max_concurrent_batches = 4
lease_seconds = 10
[limiter jupiter]
rate = $RATE/s
burst = 1
scope = cluster
[source jupiter]
plugin = jupiter.so
limiter = jupiter
chunk_size = 1
concurrency = 8
base_url = $URL
INI
"$CHECK" gen $N 23 >"$WORK/tokens.txt"
"$TC" -c "$WORK/cluster.ini" import "$WORK/tokens.txt" >/dev/null 2>&1
expect "import into PostgreSQL: exit code" $? 0

# scope = cluster with SQLite is a config error naming the file and line.
sed "s|^store = .*|store = sqlite:$WORK/x.db|" "$WORK/cluster.ini" >"$WORK/sqlite.ini"
"$TC" -c "$WORK/sqlite.ini" --check-config >"$WORK/sqlite.out" 2>&1
expect "scope = cluster on SQLite: refused" $? 2
expect "... naming file:line of the scope key" \
    "$(grep -c "sqlite.ini:$(grep -n '^scope' "$WORK/sqlite.ini" | cut -d: -f1): \[limiter jupiter\] scope = cluster needs a PostgreSQL store" "$WORK/sqlite.out")" 1

start() { # start NAME: a --once collector in the background; its pid in PID_NAME
    "$TC" -c "$WORK/cluster.ini" --once --no-progress >"$WORK/$1.out" 2>"$WORK/$1.err" &
    COLLECTORS+=($!)
    eval "PID_$1=$!"
}

echo "# 1. three collectors, each configured with the full $RATE/s"
start A
start B
start C
sleep 1
measure 3
expect_ge "three collectors together: requests/s (>= 90% of $RATE)" "$GOT" $MIN_RATE
expect_le "... and no more than the rate (+2%)" "$GOT" $((RATE * 102 / 100))
expect "zero 429s" "$(stats .jupiter.status_429)" 0

echo "# 2. one killed with SIGKILL: the other two take its share"
kill -9 "$PID_A"
wait "$PID_A" 2>/dev/null
expect "collector A died of SIGKILL (137)" $? 137
sleep 2
measure 3
expect_ge "two collectors, 2-5 s after the kill: requests/s (>= 90% of $RATE)" "$GOT" $MIN_RATE

echo "# 3. a fourth collector started mid-run"
start D
sleep 1
measure 2
expect_ge "three collectors again: requests/s" "$GOT" $MIN_RATE
expect_le "... no more than the rate (+2%)" "$GOT" $((RATE * 102 / 100))
expect "still zero 429s" "$(stats .jupiter.status_429)" 0

echo "# 4. one 429 (Retry-After: 2) pauses every collector"
curl -sf -X POST "$URL/_faults?source=jupiter&next429=1&retry_after=2" >/dev/null
for _ in $(seq 500); do
    [ "$(stats .jupiter.status_429)" -ge 1 ] && break
    sleep 0.01
done
t429=$(now)
expect "the upstream answered one 429" "$(stats .jupiter.status_429)" 1
# Each collector learns of the pause at its next reservation; what it held
# (at most cluster_ahead = 250 ms of permits) is all it may still send.
sleep 0.4
measure 0.9
in_pause=$(awk -v a="$FROM" -v b="$TO" -v t="$t429" 'BEGIN { printf "%.2f-%.2f", a - t, b - t }')
expect "nothing sent by any collector $in_pause s after the 429" "$SENT" 0
late=$(awk -v a="$FROM" -v b="$TO" -v t="$t429" 'BEGIN { print (a - t < 0.8 && b - t < 1.95) ? "yes" : "no" }')
expect "... a window inside the pause (the test's own timing)" "$late" yes
sleep 1
measure 1
expect_ge "after the pause: requests/s" "$GOT" $MIN_RATE

echo "# 5. the database restarted mid-run (down 2 s)"
done_before=$(q "$U" "SELECT count(*) FROM tokens WHERE status <> 'pending'")
sh "$HARNESS" restart "$PG_URI" 2 >/dev/null 2>&1 &
RESTART=$!
for _ in $(seq 200); do
    q "$U" "SELECT 1" >/dev/null 2>&1 || break
    sleep 0.02
done
tdown=$(now)
sleep 0.5
measure 1.2
expect "nothing sent while the database is down ($(awk -v a="$FROM" -v b="$TO" -v t="$tdown" 'BEGIN { printf "%.1f-%.1f", a - t, b - t }') s after it went)" \
    "$SENT" 0
wait $RESTART
expect "the database is back" "$(q "$U" "SELECT 1")" 1
if [ "$done_before" -lt $N ]; then ok "the restart came mid-run ($done_before of $N written)"; else not_ok "the run ended before the restart"; fi
for c in B C D; do
    eval "pid=\$PID_$c"
    wait "$pid"
    expect "collector $c: exit code" $? 0
done
# A's claims end with its lease (10 s); one more pass takes what is left.
for _ in $(seq 150); do
    [ "$(q "$U" "SELECT count(*) FROM tokens WHERE lease_until > now()")" = 0 ] && break
    sleep 0.1
done
"$TC" -c "$WORK/cluster.ini" --once --no-progress >"$WORK/E.out" 2>"$WORK/E.err"
expect "a last collector after A's leases ended: exit code" $? 0

echo "# the whole run"
expect "429s: only the injected one" "$(stats .jupiter.status_429)" 1
expect_le "the busiest 500 ms window, every collector together" "$(stats .jupiter.max_in_window)" \
    "$(stats .jupiter.limit)"
expect "no token left pending" "$(q "$U" "SELECT count(*) FROM tokens WHERE status = 'pending'")" 0
expect "every token written exactly once (enrichment_attempts = 1): nothing lost, nothing twice" \
    "$(q "$U" "SELECT count(*) FROM tokens WHERE enrichment_attempts = 1")" $N
"$PGCOPY" "$U" "$WORK/cluster.db" >"$WORK/copy.out" 2>&1 && "$CHECK" verify "$WORK/cluster.db" jupiter >"$WORK/verify.out" 2>&1
expect "every stored value equals the upstream's" $? 0
tail -1 "$WORK/verify.out"
taken=$(q "$U" "SELECT taken FROM cluster_limiters WHERE name = 'jupiter'")
served=$(stats .jupiter.requests)
expect_le "requests served <= permits the database granted" "$served" "$taken"
all_res=0 all_used=0
for c in B C D; do
    line=$(grep '^cluster limiter jupiter:' "$WORK/$c.out")
    echo "# $c: $line"
    g=$(echo "$line" | sed -n 's/.*granted \([0-9]*\) of \([0-9]*\).*/\1/p')
    res=$(echo "$line" | sed -n 's/.*reservations \([0-9]*\) .*/\1/p')
    used=$(echo "$line" | sed -n 's/.*used \([0-9]*\),.*/\1/p')
    expect_ge "collector $c took a share of the limit (permits granted)" "${g:-0}" 100
    all_res=$((all_res + ${res:-999999})) all_used=$((all_used + ${used:-0}))
done
# Reservations adapt: far fewer statements than requests at full speed.
expect_le "the three collectors: statements per 4 requests sent" "$((all_res * 4))" "$all_used"
echo "# /metrics of a daemon on the cluster limiter: its share and the round trips"
printf '[api]\nlisten = 127.0.0.1:0\n' | cat "$WORK/cluster.ini" - >"$WORK/daemon.ini"
start_daemon "$WORK/daemon.ini" "$WORK/daemon.log"
COLLECTORS+=($DAEMON)
metric() { awk -v m="tokencollector_$1{limiter=\"jupiter\"}" '$1 == m { print $2 }' "$WORK/metrics.txt"; }
# It refreshes the stored tokens at once (they are due): until it has sent 200 requests.
for _ in $(seq 200); do
    curl -sf "$API/metrics" >"$WORK/metrics.txt"
    [ "$(metric cluster_limiter_permits_used_total)" -ge 200 ] 2>/dev/null && break
    sleep 0.05
done
expect "/metrics: the daemon's share of limiter jupiter (alone on it)" "$(metric cluster_limiter_share_ratio)" 1
expect_ge "/metrics: permits it used" "$(metric cluster_limiter_permits_used_total)" 200
expect_ge "/metrics: permits granted to it (>= used)" "$(metric cluster_limiter_permits_granted_total)" \
    "$(metric cluster_limiter_permits_used_total)"
expect_ge "/metrics: reservation round trips" "$(metric cluster_limiter_round_trips_total)" 1
expect "/metrics: the round trips' histogram counts them" "$(metric cluster_limiter_round_trip_seconds_count)" \
    "$(metric cluster_limiter_round_trips_total)"
expect "/metrics: its database connection is up" "$(metric cluster_limiter_connected)" 1
if command -v promtool >/dev/null; then
    promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1
    expect "promtool check metrics" $? 0
fi
kill -TERM "$DAEMON"
wait "$DAEMON"
expect "daemon SIGTERM: exit 0" $? 0

echo "cluster e2e: $passed passed, $failed failed ($(($(date +%s) - T0)) s)"
[ "$failed" -eq 0 ]
