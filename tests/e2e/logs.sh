#!/usr/bin/env bash
# Logs for machines and systemd's notifications, with the real binary
# against the fake upstream: [core] log_format = json gives one JSON object
# per line (time, level, component, message, fields: every line parses,
# python3 json), the text format stays "level [component] message"; under
# a NOTIFY_SOCKET (a datagram socket this script listens on, as systemd's)
# the daemon sends READY=1 once the store and the plugins are up, STATUS
# lines, WATCHDOG=1 every half WATCHDOG_USEC, STOPPING=1 on SIGTERM; and
# without NOTIFY_SOCKET it runs the same. Bounded: a few seconds each.
# Usage: tests/e2e/logs.sh [BUILD_DIR]
BUILD=${1:-build}
. "$(dirname "$0")/lib.sh"

N=200
echo "# logs: work directory $WORK"
start_fake logs --scale 30 --latency 10-40
"$CHECK" gen $N 17 >"$WORK/tokens.txt"
DB="$WORK/logs.db"
SCHED=$'[scheduler]\nmin_interval = 1s\nmax_interval = 2s\nmax_wait = 8s\nmetrics_interval = 1s\nbatch_delay_ms = 100'
CORE_EXTRA="log_format = json"$'\nshutdown_grace_s = 2\n'"$SCHED" write_config "$WORK/json.ini" "$DB"
"$TC" -c "$WORK/json.ini" import "$WORK/tokens.txt" >/dev/null

# The service manager's side of sd_notify: every datagram, one per line
# of the record (newlines inside a datagram become " | ").
SOCK="$WORK/notify.sock"
python3 - "$SOCK" "$WORK/notify.txt" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
out = open(sys.argv[2], "w", buffering=1)
end = time.time() + 30
while time.time() < end:
    try:
        msg = s.recv(4096).decode()
    except socket.timeout:
        continue
    out.write(msg.replace("\n", " | ") + "\n")
    if "STOPPING=1" in msg:
        break
EOF
FAKE_PIDS+=($!)
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done

NOTIFY_SOCKET="$SOCK" WATCHDOG_USEC=400000 "$TC" -c "$WORK/json.ini" 2>"$WORK/json.log" &
DAEMON=$!
for _ in $(seq 100); do grep -q READY=1 "$WORK/notify.txt" 2>/dev/null && break; sleep 0.05; done
ready_at=$(date +%s.%N)
sleep 3
kill -TERM $DAEMON
wait $DAEMON
expect "json: exit code 0 after SIGTERM" $? 0
sleep 0.3

expect "sd_notify: READY=1 once" "$(grep -c 'READY=1' "$WORK/notify.txt")" 1
expect "sd_notify: READY came with a STATUS line" "$(grep -c 'READY=1 | STATUS=running: 200 tokens, 3 sources' "$WORK/notify.txt")" 1
# 3 s at one ping each 0.2 s: at least 10.
pings=$(grep -c '^WATCHDOG=1$' "$WORK/notify.txt")
expect "sd_notify: watchdog pings every half WATCHDOG_USEC" "$([ "$pings" -ge 10 ] && echo yes || echo "no ($pings)")" yes
expect "sd_notify: STATUS updates with the metrics" "$([ "$(grep -c '^STATUS=.*tokens, .* refreshed' "$WORK/notify.txt")" -ge 2 ] && echo yes)" yes
expect "sd_notify: STOPPING=1 at SIGTERM" "$(grep -c 'STOPPING=1' "$WORK/notify.txt")" 1
# READY came after the store and the plugins: the first log line says so.
expect "sd_notify: READY after 'started'" "$(grep -c '"message":"started: 200 tokens, 3 sources' "$WORK/json.log")" 1

lines=$(wc -l <"$WORK/json.log")
python3 - "$WORK/json.log" >"$WORK/json.check" 2>&1 <<'EOF'
import json, re, sys
n = 0
levels = set()
for i, line in enumerate(open(sys.argv[1]), 1):
    o = json.loads(line)
    assert set(o) == {"time", "level", "component", "message", "fields"}, (i, sorted(o))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["time"]), (i, o["time"])
    assert o["level"] in ("error", "warn", "info", "debug"), (i, o["level"])
    assert isinstance(o["component"], str) and isinstance(o["message"], str) and o["message"], i
    assert isinstance(o["fields"], dict), i
    levels.add(o["level"])
    n += 1
print(n, "lines parsed")
EOF
expect "json: every line of the log is one JSON object with time, level, component, message, fields" $? 0
expect "json: lines parsed = lines written" "$(awk '{print $1}' "$WORK/json.check")" "$lines"
expect "json: the metrics lines are there" "$([ "$(grep -c '"component":"metrics"' "$WORK/json.log")" -ge 4 ] && echo yes)" yes

# Text, without a NOTIFY_SOCKET: the same daemon, the usual lines.
CORE_EXTRA=$'shutdown_grace_s = 2\n'"$SCHED" write_config "$WORK/text.ini" "$DB"
"$TC" -c "$WORK/text.ini" 2>"$WORK/text.log" &
DAEMON=$!
sleep 1.5
kill -TERM $DAEMON
wait $DAEMON
expect "text, no systemd: exit code 0" $? 0
expect "text: 'info [daemon] started:'" "$(grep -c '^info \[daemon\] started: 200 tokens' "$WORK/text.log")" 1
expect "text: no JSON" "$(grep -c '^{' "$WORK/text.log")" 0
# A bad value is refused with its line.
CORE_EXTRA="log_format = yaml" write_config "$WORK/bad.ini" "$DB"
"$TC" -c "$WORK/bad.ini" --check-config >/dev/null 2>"$WORK/bad.out"
expect "log_format = yaml: config error (exit 2)" $? 2
expect "log_format = yaml: the message names the key" "$(grep -c 'log_format: expected text or json, got "yaml"' "$WORK/bad.out")" 1

echo "logs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
