#!/usr/bin/env bash
# The soak: the daemon for SOAK_SECONDS (default 1800) against the fake
# upstream while the fault matrix cycles (a new fault every 60 s: clean, 5xx,
# hangs, 429 storms, truncated and malformed bodies, a source down, hostile
# strings, echoed keys, slow HTTP/1.1 answers), with one source in
# isolation = process. Every 30 s it samples the daemon's RSS, its open file
# descriptors (and those of the plugin's process), and the database's size
# (with its WAL); at the end it prints first, last and max of each, so a leak
# shows as growth. Not part of CI (bench/README.md, "Soak").
# Usage: bench/soak.sh [BUILD_DIR]   (SOAK_SECONDS=60 for a short try)
set -uo pipefail
BUILD=${1:-build}
SECS=${SOAK_SECONDS:-1800}
W=$(mktemp -d /tmp/tc-soak.XXXXXX)
DAEMON=
trap 'kill $DAEMON $FAKEPID 2>/dev/null; wait 2>/dev/null' EXIT
"$BUILD/fakeapi" --port 0 --port-file "$W/port" --scale 30 --latency 1-20 2>"$W/fake.log" &
FAKEPID=$!
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$W/port")"
"$BUILD/tools/tc_check" gen 3000 77 >"$W/tokens.txt"
DB="$W/soak.db"
cat >"$W/soak.ini" <<EOF
[core]
store = sqlite:$DB
plugin_dir = $BUILD/plugins
lease_seconds = 60
outstanding_retry_min_s = 5
outstanding_retry_max_s = 20
[scheduler]
min_interval = 10s
max_interval = 60s
max_wait = 120s
dynamic_intervals = false
metrics_interval = 30s
[limiter jupiter]
rate = 27/s
burst = 4
[limiter helius]
rate = 27/s
burst = 1
[limiter dexscreener]
rate = 135/s
burst = 5
[source jupiter]
plugin = jupiter.so
limiter = jupiter
base_url = $URL
timeout_ms = 3000
[source helius]
plugin = helius.so
limiter = helius
base_url = $URL
api_key = soak-secret-key-123
timeout_ms = 3000
isolation = process
[source dexscreener]
plugin = dexscreener.so
limiter = dexscreener
base_url = $URL
timeout_ms = 3000
EOF
"$BUILD/tokencollector" -c "$W/soak.ini" import "$W/tokens.txt" >/dev/null 2>&1
"$BUILD/tokencollector" -c "$W/soak.ini" 2>"$W/daemon.log" &
DAEMON=$!
faults=("source=all&clear=1" "source=all&error_rate=0.2" "source=all&timeout_rate=0.05&hang_ms=4000"
    "source=all&rate429=0.2" "source=all&truncate_rate=0.1&malformed_rate=0.1" "source=jupiter&down=1"
    "source=all&hostile=1" "source=helius&error_rate=0.5&echo=1" "source=all&slow_ms=800")
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
echo "t_s rss_kb fds child_fds db_kb fault" >"$W/samples.txt"
start=$(date +%s)
next_fault=0 fi=0 fault=clean last_sample=-30
while :; do
    now=$(($(date +%s) - start))
    [ "$now" -ge "$SECS" ] && break
    kill -0 $DAEMON 2>/dev/null || { echo "soak: the daemon died at ${now} s" >&2; tail -5 "$W/daemon.log" >&2; exit 1; }
    if [ "$now" -ge $next_fault ]; then
        fault=${faults[fi % ${#faults[@]}]}
        curl -sf -X POST "$URL/_faults?source=all&clear=1" >/dev/null
        curl -sf -X POST "$URL/_faults?$fault" >/dev/null
        fi=$((fi + 1))
        next_fault=$((next_fault + 60))
    fi
    if [ $((now - last_sample)) -ge 30 ]; then
        last_sample=$now
        rss=$(awk '/VmRSS/ { print $2 }' "/proc/$DAEMON/status")
        child=$(pgrep -P $DAEMON | head -1)
        dbkb=$(du -ck "$DB" "$DB-wal" 2>/dev/null | tail -1 | cut -f1)
        echo "$now $rss $(fd_count $DAEMON) $([ -n "$child" ] && fd_count "$child" || echo 0) $dbkb $fault" >>"$W/samples.txt"
    fi
    sleep 1
done
kill -TERM $DAEMON
wait $DAEMON
rc=$?
DAEMON=
column -t "$W/samples.txt"
awk 'NR > 1 { n++; if (n == 1) { r0 = $2; f0 = $3; d0 = $5 } r = $2; f = $3; d = $5;
     if ($2 > rm) rm = $2; if ($3 > fm) fm = $3; if ($5 > dm) dm = $5 }
     END { printf "soak: %d samples; RSS first %d kB, last %d kB, max %d kB; fds first %d, last %d, max %d; db first %d kB, last %d kB, max %d kB\n", n, r0, r, rm, f0, f, fm, d0, d, dm }' "$W/samples.txt"
echo "soak: daemon exit $rc after SIGTERM; $(sqlite3 "$DB" "SELECT count(*) FROM tokens WHERE status != 'pending'") of 3000 tokens refreshed; the key in the log: $(grep -c soak-secret-key-123 "$W/daemon.log") times; plugin process restarts: $(grep -c "process started again" "$W/daemon.log")"
echo "soak: files in $W"
