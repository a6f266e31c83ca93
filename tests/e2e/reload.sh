#!/usr/bin/env bash
# Live reload and hot swap, with the daemon running against the fake
# upstream (--scale 30, intervals in seconds): a new build of dexscreener.so
# installed over the running one and picked up on SIGHUP without a restart;
# a bad config, a broken build and a restart-only key refused while the old
# config keeps running; a source removed, added back and changed live; a
# limiter changed in place; 50 SIGHUPs in a row. At the end: same PID all
# along, zero 429s, no window exceeded, nothing lost or asked twice.
# Usage: tests/e2e/reload.sh [BUILD_DIR]
BUILD=${1:-build}
. "$(dirname "$0")/lib.sh"

N=400
echo "# reload: work directory $WORK"
start_fake reload --scale 30 --latency 20-80
"$CHECK" gen $N 11 >"$WORK/tokens.txt"
DB="$WORK/reload.db"
# The plugins the daemon runs are copies: the test installs builds over them.
mkdir -p "$WORK/plugins"
cp "$BUILD"/plugins/*.so "$WORK/plugins/"
# market_refresh = all_sources: every refresh asks every source, so the
# upstream's per-source address counts below account for each refresh.
SCHED=$'[scheduler]\nmin_interval = 1s\nmax_interval = 3s\nmax_wait = 8s\nmetrics_interval = 1s\nbatch_delay_ms = 100\nmax_batch_size = 300\ndynamic_intervals = false\nmarket_refresh = all_sources'
# conf VARIANT: the daemon's config file, rewritten in place before a SIGHUP.
conf() {
    CORE_EXTRA="shutdown_grace_s = 5"$'\n'"$SCHED" write_config "$WORK/reload.ini" "$DB" "$@"
    sed -i "s|^plugin_dir = .*|plugin_dir = $WORK/plugins|" "$WORK/reload.ini"
}
conf
"$TC" -c "$WORK/reload.ini" import "$WORK/tokens.txt" >/dev/null
LOG="$WORK/daemon.log"
"$TC" -c "$WORK/reload.ini" 2>"$LOG" &
DAEMON=$!

# wait_log PATTERN COUNT [TIMEOUT_S]: until PATTERN appears COUNT times.
wait_log() {
    local t0=$SECONDS
    while [ "$(grep -c -- "$1" "$LOG")" -lt "$2" ]; do
        [ $((SECONDS - t0)) -ge "${3:-10}" ] && return 1
        sleep 0.02
    done
}
requests() { stats ".$1.requests"; }
hup() { kill -HUP $DAEMON; }
now_ms() { date +%s%3N; }

wait_log 'info \[daemon\] started' 1
sleep 2

echo "# 1. hot swap: a new build of dexscreener.so, installed over the running one"
RSS0=$(ps -o rss= -p $DAEMON | tr -d ' ')
install -m 0644 "$BUILD/test-plugins/dexscreener-next.so" "$WORK/plugins/dexscreener.so"
t0=$(now_ms)
swap_wall=$(date +%s)
hup
wait_log 'source dexscreener: new instance, plugin dexscreener 1.0.0 -> dexscreener 1.0.1-next' 1
expect "the new build was loaded" $? 0
swap_ms=$(($(now_ms) - t0))
dex_at_swap=$(requests dexscreener)
# The first record parsed by the new build, committed: the time to "serving".
for _ in $(seq 250); do
    [ "$(sqlite3 "$DB" "SELECT count(*) FROM token_sources WHERE source = 'dexscreener' AND plugin_version = '1.0.1-next'" 2>/dev/null)" -gt 0 ] && break
    sleep 0.02
done
serve_ms=$(($(now_ms) - t0))
expect "the reason given: a new build" \
    "$(grep -c 'dexscreener 1.0.1-next (a new build of its plugin was installed)' "$LOG")" 1
sleep 1.5
dex_after=$(requests dexscreener)
expect "the new build serves new chunks (requests $dex_at_swap -> $dex_after in 1.5 s)" \
    "$([ "$dex_after" -gt "$dex_at_swap" ] && echo yes)" yes
echo "# SIGHUP to new build applied: $swap_ms ms; to its first record committed: $serve_ms ms"
expect_le "SIGHUP to the new build in place (ms)" "$swap_ms" 2000
expect_le "SIGHUP to the first record the new build parsed, committed (ms)" "$serve_ms" 2000

echo "# 2. refused: a config error, a broken build, a restart-only key"
cp "$WORK/reload.ini" "$WORK/good.ini"
printf 'bogus_key = 1\n' >>"$WORK/reload.ini"
hup
wait_log 'reload refused' 1
expect "a bad config is refused" $? 0
expect "its error names FILE:LINE" "$(grep -c "error \[reload\] $WORK/reload.ini:[0-9]*: \[source dexscreener\] unknown key \"bogus_key\"" "$LOG")" 1
cp "$WORK/good.ini" "$WORK/reload.ini"
cp "$WORK/plugins/dexscreener.so" "$WORK/dex-good.so"
install -m 0644 "$BUILD/test-plugins/abi_future.so" "$WORK/plugins/dexscreener.so"
hup
wait_log 'reload refused' 2
expect "a broken build is refused" $? 0
expect "its error says why" "$(grep -c 'was built for plugin ABI 99.0' "$LOG")" 1
install -m 0644 "$WORK/dex-good.so" "$WORK/plugins/dexscreener.so"
sed -i "s|^store = .*|store = sqlite:$WORK/other.db|" "$WORK/reload.ini"
hup
wait_log 'reload refused' 3
expect "changing the store is refused" $? 0
expect "... with a message that a restart is needed" "$(grep -c 'store cannot change while running: restart' "$LOG")" 1
cp "$WORK/good.ini" "$WORK/reload.ini"
d0=$(requests dexscreener)
sleep 1
expect "the old config kept serving meanwhile" "$([ "$(requests dexscreener)" -gt "$d0" ] && echo yes)" yes
expect "three reloads refused so far" "$(grep -c 'reload refused' "$LOG")" 3

echo "# 3. a source removed, added back, changed"
conf 100 1000 30
awk '/^\[source helius\]/{skip=1; next} /^\[/{skip=0} !skip' "$WORK/reload.ini" >"$WORK/nohelius.ini"
cp "$WORK/nohelius.ini" "$WORK/reload.ini"
hup
wait_log 'source helius removed' 1
expect "helius removed live" $? 0
sleep 0.5
h0=$(requests helius)
sleep 2
expect "nothing more is sent to a removed source" "$(requests helius)" "$h0"
expect "its tokens are not owed to it" \
    "$(sqlite3 "$DB" "SELECT count(*) FROM tokens WHERE outstanding_sources LIKE '%helius%'")" 0
conf 100 1000 30
hup
wait_log 'source helius added' 1
expect "helius added back live" $? 0
sleep 2
expect "an added source is asked at the next refreshes" "$([ "$(requests helius)" -gt "$h0" ] && echo yes)" yes
conf 50 1000 30
hup
wait_log '\[source jupiter\] chunk_size: 100 -> 50' 1
expect "a changed source: the change is logged" $? 0
wait_log 'source jupiter: new instance' 1
expect "... and it got a new instance" $? 0

echo "# 4. a limiter changed in place"
sed -i '/^\[limiter dexscreener\]/,/^\[/ s/^rate = .*/rate = 90\/s/' "$WORK/reload.ini"
hup
wait_log 'limiter dexscreener: 135 -> 90 requests/s' 1
expect "the limiter's rate changed in place" $? 0

echo "# 5. 50 SIGHUPs in a row, alternating two configs"
applied0=$(grep -c 'info \[reload\] .* applied:' "$LOG")
for i in $(seq 50); do
    if [ $((i % 2)) -eq 0 ]; then conf 100 1000 30; else conf 100 1000 20; fi
    hup
    sleep 0.05
done
sleep 1
applied=$(($(grep -c 'info \[reload\] .* applied:' "$LOG") - applied0))
echo "# storm: $applied reloads applied (SIGHUPs coming during a reload are merged into the next one)"
expect "the storm's reloads were applied" "$([ "$applied" -ge 5 ] && echo yes)" yes
expect "still the same process" "$(kill -0 $DAEMON 2>/dev/null && echo alive)" alive
RSS1=$(ps -o rss= -p $DAEMON | tr -d ' ')
echo "# RSS: $RSS0 KB before the reloads, $RSS1 KB after $((applied + 6)) reloads"
if ldd "$TC" | grep -q libasan; then
    echo "# sanitizer build: RSS holds ASan's quarantine, leaks are LeakSanitizer's to report (checked below)"
else
    expect_le "memory after the reloads within 8 MB of before (KB)" "$((RSS1 - RSS0))" 8192
fi
sleep 2

echo "# 6. the end: nothing lost, nothing asked twice"
kill -TERM $DAEMON
wait $DAEMON
expect "SIGTERM: exit code 0" $? 0
in_flight=$(sed -n 's/.*stopping: \([0-9]*\) tokens in flight.*/\1/p' "$LOG")
refreshes=$(sqlite3 "$DB" "SELECT sum(enrichment_attempts) FROM tokens")
dex_addrs=$(stats '.dexscreener.addresses')
echo "# committed refreshes $refreshes, dexscreener addresses asked $dex_addrs, tokens in flight at stop $in_flight"
expect "no dexscreener chunk lost: every committed refresh was asked" \
    "$([ "$dex_addrs" -ge "$refreshes" ] && echo yes)" yes
expect_le "no dexscreener chunk asked twice (addresses beyond the refreshes)" "$((dex_addrs - refreshes))" "${in_flight:-0}"
expect "no token left claimed" "$(sqlite3 "$DB" "SELECT count(*) FROM tokens WHERE claim_id IS NOT NULL")" 0
expect "no token failed" "$(sqlite3 "$DB" "SELECT count(*) FROM tokens WHERE status = 'failed'")" 0
expect "records fetched after the swap carry the new version, none the old" \
    "$(sqlite3 "$DB" "SELECT count(*) FROM token_sources WHERE source = 'dexscreener' AND fetched_at > $swap_wall + 1 AND plugin_version = '1.0.0'")" 0
expect "every dexscreener record is the new build's by the end" \
    "$(sqlite3 "$DB" "SELECT count(*) FROM token_sources WHERE source = 'dexscreener' AND plugin_version <> '1.0.1-next'")" 0
expect "no sanitizer report" "$(grep -c 'Sanitizer' "$LOG")" 0
expect "one process all along (no restart in the log)" "$(grep -c 'info \[daemon\] started' "$LOG")" 1
for s in jupiter helius dexscreener; do
    expect "$s: zero 429s" "$(stats ".$s.status_429")" 0
    expect_le "$s: most requests in any window" "$(stats ".$s.max_in_window")" "$(stats ".$s.limit")"
done
grep -E 'info \[reload\] (source|limiter)' "$LOG" | head -8 | sed 's/^/# /'

echo "reload: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
