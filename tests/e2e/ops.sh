#!/usr/bin/env bash
# The operations API over real HTTP: the daemon with [api] on 127.0.0.1
# (port 0, learned from its log) collecting from the fake upstream.
#   1. /metrics passes `promtool check metrics`; a real Prometheus server
#      (Debian's, config in the work directory, scrape interval 1 s, on
#      127.0.0.1) scrapes it, and a value read back through Prometheus's
#      HTTP API equals the fake upstream's own counter
#   2. every admin route without the token (401), with a wrong one (401),
#      with bad input (400 naming it, 404, 409) and good input
#   3. pause stops every request to the fake upstream within a second and
#      resume restarts them; one source paused, the others go on
#   4. reload through the API (intervals to an hour), then refresh now: the
#      token's requests go out within one limiter interval
#   5. `tokencollector status` prints the daemon's tables
# Skipped when this build has no HTTP server ([api] admin_token_file is its
# key). Bounded: about half a minute; every port on 127.0.0.1.
# Usage: tests/e2e/ops.sh [BUILD_DIR]
BUILD=${1:-build}
. "$(dirname "$0")/lib.sh"

need_api_server ops python3 promtool prometheus

echo "# ops: work directory $WORK"
start_fake ops --scale 30 --latency 20-60
N=400
"$CHECK" gen $N 23 >"$WORK/tokens.txt"
DB="$WORK/ops.db"
export TC_ADMIN_TOKEN=ops-e2e-token-0123456789abcdef
H="Authorization: Bearer $TC_ADMIN_TOKEN"
# conf MIN_INTERVAL: the daemon's config (rewritten before the API reload).
conf() {
    CORE_EXTRA="shutdown_grace_s = 3
[scheduler]
min_interval = $1
max_interval = $2
max_wait = $3
metrics_interval = 2s
batch_delay_ms = 50
max_batch_size = 300
dynamic_intervals = false
[api]
listen = 127.0.0.1:0
threads = 4" write_config "$WORK/ops.ini" "$DB"
}
conf 1s 2s 8s
"$TC" -c "$WORK/ops.ini" import "$WORK/tokens.txt" >/dev/null
start_daemon "$WORK/ops.ini" "$WORK/daemon.log"

# metric SERIES: its value in /metrics now.
metric() { curl -sf "$API/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
# code METHOD PATH [BODY [TOKEN]]: the status code (TOKEN "-": none sent).
code() {
    local auth=("-H" "$H")
    [ "${4:-}" = "-" ] && auth=()
    [ -n "${4:-}" ] && [ "$4" != "-" ] && auth=("-H" "Authorization: Bearer $4")
    curl -s -o "$WORK/last.json" -w '%{http_code}' -X "$1" "${auth[@]}" ${3:+--data "$3"} "$API$2"
}
errcode() { jq -r '.error.code' "$WORK/last.json"; }
requests() { curl -sf "$URL/_stats" | jq '.jupiter.requests + .helius.requests + .dexscreener.requests'; }

for _ in $(seq 300); do
    c=$(metric tokencollector_tokens_committed_total)
    [ "${c:-0}" -ge $N ] && break
    sleep 0.1
done
expect "first pass committed (tokencollector_tokens_committed_total >= $N)" "$([ "${c:-0}" -ge $N ] && echo yes)" yes

# ---- 1. the format, and a real Prometheus -------------------------------------------
curl -sf "$API/metrics" >"$WORK/metrics.txt"
promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1
expect "promtool check metrics: no problem" $? 0
expect "promtool: no lint message" "$(wc -c <"$WORK/promtool.out")" 0
expect "/metrics: content type" "$(curl -s -o /dev/null -w '%{content_type}' "$API/metrics")" "text/plain; version=0.0.4; charset=utf-8"
expect "/metrics: no address in any label" "$(grep -cE '"[1-9A-HJ-NP-Za-km-z]{32,44}"' "$WORK/metrics.txt")" 0
PPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tokencollector
    static_configs:
      - targets: ["127.0.0.1:$PORT"]
EOF
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
    --web.listen-address="127.0.0.1:$PPORT" 2>"$WORK/prometheus.log" &
BG+=($!)
PROM="http://127.0.0.1:$PPORT"
for _ in $(seq 200); do curl -sf "$PROM/-/ready" >/dev/null && break; sleep 0.1; done
expect "prometheus is ready" "$(curl -s -o /dev/null -w '%{http_code}' "$PROM/-/ready")" 200
# Frozen counters: pause everything, let what is on the wire finish.
expect "pause all (for the comparison)" "$(code POST /api/admin/scheduler/pause)" 200
sleep 0.5
fake_ok=$(curl -sf "$URL/_stats" | jq '.jupiter.ok')
q='tokencollector_source_responses_total{source="jupiter",outcome="ok"}'
prom_ok=""
for _ in $(seq 100); do
    prom_ok=$(curl -sf "$PROM/api/v1/query" --data-urlencode "query=$q" | jq -r '.data.result[0].value[1] // empty')
    [ "$prom_ok" = "$fake_ok" ] && break
    sleep 0.2
done
expect "Prometheus's scraped jupiter ok answers = the fake upstream's count ($fake_ok)" "$prom_ok" "$fake_ok"
up=$(curl -sf "$PROM/api/v1/query" --data-urlencode 'query=up{job="tokencollector"}' | jq -r '.data.result[0].value[1]')
expect "Prometheus: the target is up" "$up" 1
hist=$(curl -sf "$PROM/api/v1/query" --data-urlencode 'query=tokencollector_source_request_duration_seconds_count{source="helius"}' | jq -r '.data.result[0].value[1]')
expect "Prometheus: helius's request histogram count = the fake's helius requests" "$hist" "$(curl -sf "$URL/_stats" | jq '.helius.requests')"

# ---- 3. pause and resume --------------------------------------------------------------
# Still paused: nothing at all for 2 s (what was on the wire finished within
# the 0.5 s above: the fake answers in 20-60 ms).
r1=$(requests)
sleep 2
expect "paused: no request to the fake upstream for 2 s" "$(requests)" "$r1"
expect "paused: /metrics says so" "$(metric tokencollector_scheduler_paused)" 1
expect "resume all" "$(code POST /api/admin/scheduler/resume)" 200
sleep 1.5
expect "resumed: requests go out again within 1.5 s" "$([ "$(requests)" -gt "$r1" ] && echo yes)" yes
# A running daemon, paused: every request stops within a second.
t0=$(date +%s.%N)
expect "pause all while it runs" "$(code POST /api/admin/scheduler/pause)" 200
sleep 1
r2=$(requests)
sleep 2
expect "pause: no request after the first second (over the next 2 s)" "$(requests)" "$r2"
expect "resume all again" "$(code POST /api/admin/scheduler/resume)" 200
# One source paused: it sends nothing, the others go on.
expect "pause dexscreener" "$(code POST /api/admin/scheduler/pause '{"source":"dexscreener"}')" 200
sleep 1
d1=$(curl -sf "$URL/_stats" | jq '.dexscreener.requests')
j1=$(curl -sf "$URL/_stats" | jq '.jupiter.requests')
sleep 2.5
expect "dexscreener paused: no request of its own" "$(curl -sf "$URL/_stats" | jq '.dexscreener.requests')" "$d1"
expect "dexscreener paused: jupiter goes on" "$([ "$(curl -sf "$URL/_stats" | jq '.jupiter.requests')" -gt "$j1" ] && echo yes)" yes
expect "dexscreener paused: its tokens stay owed (outstanding in the store)" \
    "$([ "$(sqlite3 "$DB" "SELECT count(*) FROM tokens WHERE outstanding_sources LIKE '%dexscreener%'")" -gt 0 ] && echo yes)" yes
expect "the status says dexscreener is paused" "$(curl -s -H "$H" "$API/api/admin/scheduler/status" | jq -r '.sources[] | select(.name == "dexscreener") | .state')" paused
expect "resume dexscreener" "$(code POST /api/admin/scheduler/resume '{"source":"dexscreener"}')" 200
sleep 1.5
expect "dexscreener resumed: it sends again" "$([ "$(curl -sf "$URL/_stats" | jq '.dexscreener.requests')" -gt "$d1" ] && echo yes)" yes

# ---- 2. every admin route: no token, a wrong one, bad and good input --------------------
A=$(sed -n 5p "$WORK/tokens.txt")
B=$(sed -n 6p "$WORK/tokens.txt")
UNKNOWN=So11111111111111111111111111111111111111112
while read -r method path; do
    expect "$method $path without a token: 401" "$(code "$method" "$path" "" -)" 401
    expect "$method $path with a wrong token: 401" "$(code "$method" "$path" "" wrong-token)" 401
done <<EOF
GET /api/admin/scheduler/status
POST /api/admin/scheduler/pause
POST /api/admin/scheduler/resume
GET /api/admin/scheduler/recommendations
GET /api/admin/tokens
POST /api/admin/tokens
PUT /api/admin/tokens
PUT /api/admin/tokens/$A
POST /api/admin/tokens/$A/refresh
GET /api/admin/plugins
POST /api/admin/reload
POST /api/admin/plugins/jupiter/reload
EOF
# bad input: METHOD PATH BODY STATUS CODE
while IFS='|' read -r method path body want wcode; do
    got=$(code "$method" "$path" "$body")
    expect "$method $path $body: $want $wcode" "$got $(errcode)" "$want $wcode"
done <<EOF
GET|/api/admin/scheduler/status?x=1||400|bad_parameter
POST|/api/admin/scheduler/pause|{"source":"nope"}|404|unknown_source
POST|/api/admin/scheduler/pause|{"source":1}|400|bad_body
POST|/api/admin/scheduler/resume|{not json|400|bad_json
POST|/api/admin/scheduler/resume||409|conflict
GET|/api/admin/scheduler/recommendations?tier=hot||400|bad_parameter
GET|/api/admin/tokens?limit=0||400|bad_parameter
GET|/api/admin/tokens?sort=colour||400|bad_parameter
POST|/api/admin/tokens|{"addresses":["not-an-address"]}|400|bad_address
POST|/api/admin/tokens|{"addresses":[]}|400|bad_body
PUT|/api/admin/tokens|{"tokens":[{"address":"$A"}]}|400|bad_body
PUT|/api/admin/tokens|{"tokens":[{"address":"$UNKNOWN","priority":1}]}|404|not_found
PUT|/api/admin/tokens/$A|{"priority":-1}|400|bad_body
PUT|/api/admin/tokens/xyz|{"priority":1}|400|bad_address
PUT|/api/admin/tokens/$UNKNOWN|{"priority":1}|404|not_found
POST|/api/admin/tokens/$UNKNOWN/refresh||404|not_found
POST|/api/admin/tokens/$A/refresh|{"x":1}|400|bad_body
GET|/api/admin/plugins?all=1||400|bad_parameter
POST|/api/admin/reload|{"now":1}|400|bad_body
POST|/api/admin/plugins/nope/reload||404|unknown_source
EOF
# good input
expect "GET status: 200" "$(code GET /api/admin/scheduler/status)" 200
expect "status: $N tokens" "$(jq .scheduler.tokens "$WORK/last.json")" $N
expect "GET recommendations: 200" "$(code GET /api/admin/scheduler/recommendations)" 200
expect "recommendations: three tiers" "$(jq '.tiers | length' "$WORK/last.json")" 3
expect "GET tokens?limit=10&sort=address: 200" "$(code GET '/api/admin/tokens?limit=10&sort=address')" 200
expect "tokens: 10 of $N, in address order" "$(jq -r '[(.tokens | length), .pagination.total, ([.tokens[].address] == ([.tokens[].address] | sort))] | join(" ")' "$WORK/last.json")" "10 $N true"
expect "PUT one token" "$(code PUT "/api/admin/tokens/$A" '{"priority":950,"interval_s":30,"in_contest":true}')" 200
expect "PUT: it is hot, pinned" "$(jq -r '.tokens[0] | [.tier, .priority_pinned, .interval_pinned_s] | join(" ")' "$WORK/last.json")" "hot true 30"
expect "PUT: in_contest stored" "$(sqlite3 "$DB" "SELECT in_contest FROM tokens WHERE address = '$A'")" 1
expect "PUT many" "$(code PUT /api/admin/tokens "{\"tokens\":[{\"address\":\"$A\",\"priority\":null,\"in_contest\":false},{\"address\":\"$B\",\"interval_s\":600}]}")" 200
expect "PUT many: both updated" "$(jq .updated "$WORK/last.json")" 2
expect "POST tokens: new ones" "$(code POST /api/admin/tokens "{\"addresses\":[\"$UNKNOWN\",\"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v\",\"$A\"]}")" 201
expect "POST tokens: 2 added, 1 known" "$(jq -r '[.added, .already_known] | join(" ")' "$WORK/last.json")" "2 1"
expect "GET plugins" "$(code GET /api/admin/plugins)" 200
expect "plugins: three, with versions" "$(jq -r '[.plugins[] | select(.version != null and .abi != null)] | length' "$WORK/last.json")" 3
expect "POST plugins/helius/reload" "$(code POST /api/admin/plugins/helius/reload)" 200
expect "plugin reload logged" "$(grep -c 'info \[admin\] plugin reload helius: new instance' "$WORK/daemon.log")" 1

# ---- 4. reload through the API, then refresh now ------------------------------------------
conf 1h 1h 2h
expect "POST reload with longer intervals: 200" "$(code POST /api/admin/reload)" 200
expect "reload: applied, with changes" "$(jq -r '[.applied, (.changes > 0)] | join(" ")' "$WORK/last.json")" "true true"
expect "config_reloads_total{result=applied}" "$(metric 'tokencollector_config_reloads_total{result="applied"}')" 1
sleep 3 # every token done once more at the old intervals, then due in an hour
q1=$(requests)
sleep 1
expect "after the reload nothing is due: quiet" "$(requests)" "$q1"
T=$(sed -n 9p "$WORK/tokens.txt")
attempts0=$(sqlite3 "$DB" "SELECT enrichment_attempts FROM tokens WHERE address = '$T'")
j0=$(curl -sf "$URL/_stats" | jq '.jupiter.requests')
t0=$(date +%s%N)
expect "refresh now: 202" "$(code POST "/api/admin/tokens/$T/refresh")" 202
for _ in $(seq 500); do
    [ "$(curl -sf "$URL/_stats" | jq '.jupiter.requests')" -gt "$j0" ] && break
    sleep 0.005
done
ms=$((($(date +%s%N) - t0) / 1000000))
# Jupiter's limiter is 27/s (37 ms); the loop takes commands within 200 ms;
# the fake answers in 20-60 ms and curl and jq take their share of each poll.
expect_le "refresh now: jupiter asked within a limiter interval of the loop's turn (ms)" "$ms" 400
expect "refresh now: logged" "$(grep -c "info \[admin\] refresh $T" "$WORK/daemon.log")" 1
sleep 0.5
expect "refresh now: the token was committed again" "$(sqlite3 "$DB" "SELECT enrichment_attempts FROM tokens WHERE address = '$T'")" \
    "$((attempts0 + 1))"
conf 1h 1h 2h
echo "[core]" >>"$WORK/ops.ini"
echo "batch_size = many" >>"$WORK/ops.ini"
expect "a broken config: 409 reload_refused" "$(code POST /api/admin/reload) $(errcode)" "409 reload_refused"
expect "reload_refused names the line" "$(jq -r '.error.errors[0]' "$WORK/last.json" | grep -c 'ops.ini:[0-9]*: .*batch_size')" 1

# ---- 5. tokencollector status ----------------------------------------------------------------
"$TC" status "$API" >"$WORK/status.out" 2>&1
expect "tokencollector status: exit 0" $? 0
expect "status: the scheduler line" "$(grep -c "^scheduler: $((N + 2)) tokens" "$WORK/status.out")" 1
expect "status: one row per source" "$(grep -cE '^(jupiter|helius|dexscreener) ' "$WORK/status.out")" 6
TC_ADMIN_TOKEN= "$TC" status "$API" >/dev/null 2>"$WORK/status.err"
expect "status without the token: exit 1" $? 1
expect "status without the token: says 401" "$(grep -c 'HTTP 401' "$WORK/status.err")" 1

kill -TERM $DAEMON
wait $DAEMON
expect "SIGTERM: exit 0" $? 0
for s in jupiter helius dexscreener; do
    expect "$s: zero 429s" "$(stats ".$s.status_429")" 0
done
expect "every admin change was logged" "$([ "$(grep -c 'info \[admin\]' "$WORK/daemon.log")" -ge 12 ] && echo yes)" yes

echo "ops: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
