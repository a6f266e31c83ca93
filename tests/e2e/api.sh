#!/usr/bin/env bash
# The HTTP API end to end: the real daemon with [api] on 127.0.0.1 (port 0,
# learned from its log) collecting from the fake upstream into SQLite, and
# `tokencollector serve` alone on the same file.
#   1. /health, the JSON errors (400, 404, 405 with Allow, 413, 414), ETag
#      and 304, gzip (curl --compressed), the OpenAPI document
#   2. the change feed while 2,000 tokens are collected: streams on the
#      daemon and on `serve` receive every change the store committed (its
#      change_seq), a stream cut and resumed with Last-Event-ID misses
#      nothing and gets nothing twice, a client that stops reading is cut
#      off (queue full, nothing taken for 2 s) with the id to resume from
#      while the others keep receiving, and
#      readers hammering the feed never see an error ("database is locked")
#   3. a flood of connections past the per-address limit: the extra ones
#      are closed, the collector keeps committing, the API answers after
#   4. the store failing under `serve`: 503 JSON; SIGTERM: streams told to
#      reconnect, exit 0
# Usage: tests/e2e/api.sh [BUILD_DIR]
BUILD=${1:-build}
. "$(dirname "$0")/lib.sh"

BG=() # the daemon, serve and clients, killed if a test breaks off
api_cleanup() {
    for pid in "${BG[@]}"; do kill -9 "$pid" 2>/dev/null; done
    cleanup
}
trap api_cleanup EXIT

echo "# api e2e: work directory $WORK"
command -v python3 >/dev/null || { echo "not ok - python3 is needed (sh tests/install-deps.sh)"; exit 1; }
start_fake api --scale 30 --latency 5-40
N=3000
FIRST=1000
"$CHECK" gen $N 11 >"$WORK/all.txt"
head -n $FIRST "$WORK/all.txt" >"$WORK/first.txt"
tail -n +$((FIRST + 1)) "$WORK/all.txt" >"$WORK/rest.txt"
DB="$WORK/api.db"
API_KEYS=$'threads = 4\nmax_connections = 200\nper_ip_connections = 30\nconnection_timeout_s = 10\nmax_body_bytes = 1024\nmax_uri_bytes = 2048\ngzip_min_bytes = 512\nsse_buffer_bytes = 32768\nsse_poll_ms = 100\nsse_heartbeat_s = 2\ncors_origin = *'
CORE_EXTRA=$"shutdown_grace_s = 5
[scheduler]
min_interval = 1s
max_interval = 4s
max_wait = 8s
metrics_interval = 2s
batch_delay_ms = 50
max_batch_size = 300
[api]
listen = 127.0.0.1:0
$API_KEYS" write_config "$WORK/api.ini" "$DB"
printf '[core]\nstore = sqlite:%s\n[api]\nlisten = 127.0.0.1:0\n%s\n' "$DB" "$API_KEYS" >"$WORK/serve.ini"
"$TC" -c "$WORK/api.ini" import "$WORK/first.txt" >/dev/null

"$TC" -c "$WORK/api.ini" 2>"$WORK/daemon.log" &
DAEMON=$!
BG+=($DAEMON)
DPORT=$(api_port "$WORK/daemon.log") || { not_ok "the daemon's API did not start"; cat "$WORK/daemon.log"; exit 1; }
API="http://127.0.0.1:$DPORT"
ok "the daemon's API listens on 127.0.0.1:$DPORT (port 0: picked and logged)"
sql() { sqlite3 "$DB" "$1"; }

# ---------------------------------------------------------------------------
echo "# 1. HTTP behaviour"
# get URL [CURL_ARGS...]: the status; headers in $WORK/h, body in $WORK/b.
get() {
    local url=$1
    shift
    : >"$WORK/b" # curl leaves the file alone when there is no body
    curl -s -o "$WORK/b" -D "$WORK/h" -w '%{http_code}' "$@" "$url"
}
header() { tr -d '\r' <"$WORK/h" | awk -v k="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1) == k { print $2 }'; }
code() { jq -r .error.code "$WORK/b" 2>/dev/null; }
expect "/health: 200" "$(get "$API/health")" 200
expect "/health: JSON with the store's state" "$(jq -r '.status + " " + .store.backend + " " + (.store.reachable | tostring)' "$WORK/b")" "ok sqlite true"
expect "unknown path: 404" "$(get "$API/api/v3/nothing")" 404
expect "404: JSON error code" "$(code)" not_found
expect "wrong method: 405" "$(get "$API/api/v3/tokens/changes" -X DELETE)" 405
expect "405: JSON error code" "$(code)" method_not_allowed
expect "405: Allow header" "$(header Allow)" "GET, HEAD"
head -c 4000 /dev/zero | tr '\0' x >"$WORK/big.body"
expect "body over max_body_bytes: 413" "$(get "$API/health" -X POST --data-binary @"$WORK/big.body")" 413
expect "413: JSON error code" "$(code)" body_too_large
expect "target over max_uri_bytes: 414" "$(get "$API/health?x=$(head -c 3000 "$WORK/big.body")")" 414
expect "414: JSON error code" "$(code)" uri_too_long
expect "unknown parameter: 400" "$(get "$API/api/v3/tokens/changes?sincee=1")" 400
expect "400: names the parameter" "$(jq -r .error.message "$WORK/b" | grep -c '^sincee: unknown parameter')" 1
expect "OpenAPI document: 200" "$(get "$API/api/v3/openapi.json")" 200
expect "the document served is docs/openapi.json" "$(cmp -s "$WORK/b" docs/openapi.json && echo same)" same
ETAG=$(header ETag)
expect "an ETag" "$(echo "$ETAG" | grep -c '^"[0-9a-f]\{16\}"$')" 1
expect "If-None-Match: 304" "$(get "$API/api/v3/openapi.json" -H "If-None-Match: $ETAG")" 304
expect "304: no body" "$(wc -c <"$WORK/b")" 0
expect "gzip (curl --compressed): 200" "$(get "$API/api/v3/openapi.json" --compressed)" 200
expect "gzip: Content-Encoding" "$(header Content-Encoding)" gzip
expect "gzip: decoded, the same document" "$(cmp -s "$WORK/b" docs/openapi.json && echo same)" same
expect "gzip: its own ETag" "$(header ETag)" "${ETAG%\"}-gz\""
expect "CORS header" "$(get "$API/health" >/dev/null; header Access-Control-Allow-Origin)" "*"

# ---------------------------------------------------------------------------
echo "# 2. the change feed during collection"
"$TC" -c "$WORK/serve.ini" serve 2>"$WORK/serve.log" &
SERVE=$!
BG+=($SERVE)
SPORT=$(api_port "$WORK/serve.log") || { not_ok "serve did not start"; cat "$WORK/serve.log"; exit 1; }
SAPI="http://127.0.0.1:$SPORT"
expect "serve alone: /health 200" "$(get "$SAPI/health")" 200
# Wait for the first import to be collected, then remember the head.
for _ in $(seq 400); do [ "$(sql "SELECT count(*) FROM tokens WHERE status = 'pending'")" = 0 ] && break; sleep 0.05; done
S0=$(sql "SELECT seq FROM change_counter")
expect "the first $FIRST tokens have their places in the feed" "$(sql "SELECT count(*) FROM tokens WHERE change_seq > 0")" $FIRST

stream() { # stream URL OUT [CURL_ARGS...]: a stream in the background (pid in $!)
    local url=$1 out=$2
    shift 2
    curl -sN --max-time 120 -H 'Accept: text/event-stream' "$@" "$url" >"$out" 2>/dev/null &
}
stream "$API/api/v3/tokens/changes?since=$S0" "$WORK/A.sse"
A=$!
stream "$API/api/v3/tokens/changes?since=$S0" "$WORK/B1.sse"
B1=$!
disown $B1 # killed below: no job report
stream "$SAPI/api/v3/tokens/changes?since=$S0" "$WORK/C.sse"
C=$!
BG+=($A $B1 $C)
# A client that never reads (until told): HTTP/1.0, a small receive buffer.
cat >"$WORK/slow.py" <<'EOF'
import os, socket, sys, time
port, out, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
s.sendall(b"GET /api/v3/tokens/changes HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n")
for _ in range(1200):  # at most 60 s
    if os.path.exists(go):
        break
    time.sleep(0.05)
s.settimeout(10)
data = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
except socket.timeout:
    data += b"\n<timeout>\n"
open(out, "wb").write(data)
EOF
python3 "$WORK/slow.py" "$DPORT" "$WORK/slow.raw" "$WORK/slow.go" &
SLOW=$!
BG+=($SLOW)
# Readers hammering the feed and the health page on both servers meanwhile.
cat >"$WORK/hammer.sh" <<'EOF'
while [ ! -e "$2" ]; do
    for url in "$1/api/v3/tokens/changes?since=0&limit=1000" "$1/health"; do
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 "$url"
    done
done
EOF
bash "$WORK/hammer.sh" "$API" "$WORK/hammer.stop" >"$WORK/hammer.daemon" &
H1=$!
bash "$WORK/hammer.sh" "$SAPI" "$WORK/hammer.stop" >"$WORK/hammer.serve" &
H2=$!
BG+=($H1 $H2)
sleep 0.5
"$TC" -c "$WORK/api.ini" import "$WORK/rest.txt" >/dev/null
expect "import while the daemon and the API run" $? 0
# The slow client reads once it is cut off (before its idle connection
# would time out).
(for _ in $(seq 1200); do grep -q 'cut off, reading too slowly' "$WORK/daemon.log" && break; sleep 0.05; done
    touch "$WORK/slow.go") &
# Cut B1 off in the middle of the collection, then resume it.
for _ in $(seq 400); do [ "$(grep -c '^id: ' "$WORK/B1.sse")" -ge 300 ] && break; sleep 0.02; done
kill -KILL $B1 2>/dev/null
for _ in $(seq 100); do kill -0 $B1 2>/dev/null || break; sleep 0.02; done
# The last event B1 got whole (an id line followed by its data and the blank line).
L=$(python3 - "$WORK/B1.sse" <<'EOF'
import sys
last = None
for ev in open(sys.argv[1]).read().split("\n\n")[:-1]:
    for line in ev.split("\n"):
        if line.startswith("id: "):
            last = line[4:]
print(last or "")
EOF
)
expect "the first stream got events before it was cut" "$([ -n "$L" ] && [ "$L" -gt "$S0" ] && echo yes)" yes
stream "$API/api/v3/tokens/changes" "$WORK/B2.sse" -H "Last-Event-ID: $L"
B2=$!
BG+=($B2)
for _ in $(seq 1200); do [ "$(sql "SELECT count(*) FROM tokens WHERE status = 'pending'")" = 0 ] && break; sleep 0.05; done
expect "every token collected" "$(sql "SELECT count(*) FROM tokens WHERE status = 'pending'")" 0
# Quiet: every source down, so refreshes fail and change nothing stored.
for s in jupiter helius dexscreener; do curl -sf -X POST "$URL/_faults?source=$s&down=1" >/dev/null; done
sleep 1.5
HEAD=$(sql "SELECT seq FROM change_counter")
sleep 1
expect "the feed is quiet while every source is down" "$(sql "SELECT seq FROM change_counter")" "$HEAD"
touch "$WORK/hammer.stop"
for f in A B2 C; do
    for _ in $(seq 200); do grep -q "^id: $HEAD\$" "$WORK/$f.sse" && break; sleep 0.05; done
done
sql "SELECT address || ' ' || change_seq FROM tokens WHERE change_seq > $S0 ORDER BY change_seq" >"$WORK/store.changes"
echo "# $(wc -l <"$WORK/store.changes") tokens changed after $S0, head $HEAD; B1 cut at $L"
CHECK_SSE="$(dirname "$0")/sse_check.py"
read -r n uniq missing bad <<<"$(python3 "$CHECK_SSE" "$WORK/store.changes" "$WORK/A.sse")"
expect "stream A (daemon): every committed change, with its change_seq" "$missing" 0
expect "stream A: no id twice, ids rising, data matches id" "$((n - uniq + bad))" 0
read -r n uniq missing bad <<<"$(python3 "$CHECK_SSE" "$WORK/store.changes" "$WORK/C.sse")"
expect "stream C (serve alone, same file): every committed change" "$missing" 0
expect "stream C: no id twice, ids rising" "$((n - uniq + bad))" 0
read -r n uniq missing bad <<<"$(python3 "$CHECK_SSE" "$WORK/store.changes" "$WORK/B1.sse" "$WORK/B2.sse")"
expect "B1 then B2 (Last-Event-ID $L): nothing missed" "$missing" 0
expect "B1 then B2: nothing twice" "$((n - uniq))" 0
expect "B2 starts after $L" "$(grep -m1 '^id: ' "$WORK/B2.sse" | awk -v l="$L" '{ print ($2 > l) ? "yes" : "no" }')" yes
wait $SLOW
SLOW_RESUME=$(grep -a -o '"resume_from":[0-9]*' "$WORK/slow.raw" | head -1 | cut -d: -f2)
expect "the client that never read was cut off with an id to resume from" "$([ -n "$SLOW_RESUME" ] && echo yes)" yes
expect "its last event is the cut-off, with that id" "$(tr -d '\r' <"$WORK/slow.raw" | grep -a -B1 '^event: cutoff' | head -1)" "id: $SLOW_RESUME"
expect "the server then closed its connection" "$(grep -a -c '<timeout>' "$WORK/slow.raw")" 0
get "$API/health" >/dev/null
expect "/health counts the cut-off" "$(jq -r '.feed.cut_off >= 1' "$WORK/b")" true
expect "the cut-off was logged" "$(grep -c 'change feed: 127.0.0.1:[0-9]* cut off, reading too slowly' "$WORK/daemon.log")" 1
wait $H1 $H2
expect "readers during collection (daemon): every answer 200" "$(sort -u "$WORK/hammer.daemon" | tr '\n' ' ')" "200 "
expect "readers during collection (serve): every answer 200" "$(sort -u "$WORK/hammer.serve" | tr '\n' ' ')" "200 "
echo "# $(wc -l <"$WORK/hammer.daemon") + $(wc -l <"$WORK/hammer.serve") reads during collection"
expect "no \"database is locked\" anywhere" "$(cat "$WORK/daemon.log" "$WORK/serve.log" | grep -ci 'locked')" 0

# ---------------------------------------------------------------------------
echo "# 3. a flood of connections"
for s in jupiter helius dexscreener; do curl -sf -X POST "$URL/_faults?source=$s&down=0" >/dev/null; done
cat >"$WORK/flood.py" <<'EOF'
import socket, sys, time
port, n, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
socks = []
for _ in range(n):
    s = socket.socket()
    s.connect(("127.0.0.1", port))
    socks.append(s)
time.sleep(0.5)
open_ = 0
for s in socks:  # closed by the server: readable, and reads b""
    s.setblocking(False)
    try:
        open_ += s.recv(1) != b""
    except BlockingIOError:
        open_ += 1
    except OSError:
        pass
print(open_, flush=True)
time.sleep(hold)
EOF
get "$API/health" >/dev/null
HELD=$((30 - $(jq -r .feed.streams "$WORK/b"))) # the open streams count against the address too
A0=$(sql "SELECT sum(enrichment_attempts) FROM tokens")
python3 "$WORK/flood.py" "$DPORT" 80 3 >"$WORK/flood.out" &
FLOOD=$!
sleep 1
expect "during the flood the API takes no more from this address" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$API/health")" 000
wait $FLOOD
expect "80 connections from one address: per_ip_connections (30, streams included) kept open" "$(cat "$WORK/flood.out")" $HELD
A1=$(sql "SELECT sum(enrichment_attempts) FROM tokens")
expect "the collector kept committing during the flood" "$([ "$A1" -gt "$A0" ] && echo yes)" yes
sleep 0.3
expect "after the flood: /health 200" "$(get "$API/health")" 200
expect "the daemon is still running" "$(kill -0 $DAEMON 2>/dev/null && echo yes)" yes

# ---------------------------------------------------------------------------
echo "# 4. stopping; the store failing"
kill -TERM $DAEMON
wait $DAEMON
expect "daemon SIGTERM: exit 0" $? 0
wait $A 2>/dev/null
expect "stream A was told the server stops" "$(grep -c '^: the server is stopping' "$WORK/A.sse")" 1
expect "serve still answers after the collector stopped" "$(get "$SAPI/api/v3/tokens/changes?since=$((HEAD - 5))")" 200
expect "serve: the last changes" "$(jq -r '.data | length' "$WORK/b")" 5
sql "ALTER TABLE change_counter RENAME TO change_counter_away"
expect "the store failing: /health 503" "$(get "$SAPI/health")" 503
expect "503: JSON error code" "$(code)" store_unavailable
expect "503: no SQL in the answer" "$(grep -ci 'change_counter\|select\|sqlite' "$WORK/b")" 0
sql "ALTER TABLE change_counter_away RENAME TO change_counter"
expect "the store back: /health 200" "$(get "$SAPI/health")" 200
kill -TERM $SERVE
wait $SERVE
expect "serve SIGTERM: exit 0" $? 0
wait $C $B2 2>/dev/null

echo "api: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
