# Shared by the end-to-end scripts (source it after setting BUILD): the
# binaries, a work directory removed on success, the fake upstream, TAP-like
# ok / not ok lines, and a config writer.
set -uo pipefail
TC="$BUILD/tokencollector"
CHECK="$BUILD/tools/tc_check"
FAKE="$BUILD/fakeapi"
WORK=$(mktemp -d /tmp/tc-e2e.XXXXXX)
FAKE_PIDS=()
passed=0
failed=0

cleanup() {
    for pid in "${FAKE_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    if [ "$failed" -eq 0 ]; then rm -rf "$WORK"; else echo "e2e: work files kept in $WORK" >&2; fi
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }
# expect DESCRIPTION ACTUAL WANTED
expect() { if [ "$2" = "$3" ]; then ok "$1 ($2)"; else not_ok "$1: got '$2', want '$3'"; fi; }
# expect_le DESCRIPTION ACTUAL LIMIT
expect_le() { if [ "$2" -le "$3" ]; then ok "$1 ($2 <= $3)"; else not_ok "$1: $2 > $3"; fi; }

# start_fake NAME ARGS... : starts the fake upstream, sets PORT
start_fake() {
    local name=$1
    shift
    rm -f "$WORK/$name.port"
    "$FAKE" --port 0 --port-file "$WORK/$name.port" "$@" 2>"$WORK/$name.log" &
    FAKE_PIDS+=($!)
    for _ in $(seq 100); do
        [ -s "$WORK/$name.port" ] && break
        sleep 0.05
    done
    PORT=$(cat "$WORK/$name.port")
    URL="http://127.0.0.1:$PORT"
}

stats() { curl -sf "$URL/_stats" | jq -r "$1"; }

# write_config FILE DB [JUP_CHUNK HELIUS_CHUNK DEX_CHUNK [EXTRA_SOURCE_LINES]]
# CORE_EXTRA: more [core] lines. STORE: a store URI instead of sqlite:DB.
# Limiters sit under the fake upstream's limits at --scale 30:
#   jupiter 60 per 2 s, helius 2 per 33 ms, dexscreener 300 per 2 s.
write_config() {
    cat >"$1" <<EOF
[core]
store = ${STORE:-sqlite:$2}
plugin_dir = $BUILD/plugins
batch_size = 50
${CORE_EXTRA:-}
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
chunk_size = ${3:-100}
base_url = $URL
timeout_ms = ${TIMEOUT_MS:-10000}
max_attempts = ${MAX_ATTEMPTS:-4}
${6:-}
[source helius]
plugin = helius.so
limiter = helius
chunk_size = ${4:-1000}
base_url = $URL
api_key = test-key
timeout_ms = ${TIMEOUT_MS:-10000}
max_attempts = ${MAX_ATTEMPTS:-4}
${6:-}
[source dexscreener]
plugin = dexscreener.so
limiter = dexscreener
chunk_size = ${5:-30}
base_url = $URL
timeout_ms = ${TIMEOUT_MS:-10000}
max_attempts = ${MAX_ATTEMPTS:-4}
${6:-}
EOF
}

# expect_minimum_requests N SUMMARY: a --once pass over N tokens at the
# maximum chunk sizes sent ceil(N / chunk) requests per source (by the
# collector's count and the upstream's), no 429, no window exceeded, and
# asked every address exactly once.
expect_minimum_requests() {
    local n=$1 out=$2 s name chunk want
    for s in jupiter:100 helius:1000 dexscreener:30; do
        name=${s%%:*}
        chunk=${s##*:}
        want=$(((n + chunk - 1) / chunk))
        expect "$name requests counted by the collector = ceil($n/$chunk)" "$(summary_requests "$out" "$name")" "$want"
        expect "$name requests served by the fake upstream = ceil($n/$chunk)" "$(stats ".$name.requests")" "$want"
        expect "$name: zero 429s" "$(stats ".$name.status_429")" 0
        expect_le "$name: most requests in any window" "$(stats ".$name.max_in_window")" "$(stats ".$name.limit")"
        expect "$name: every address asked exactly once" "$(stats ".$name.max_requests_per_address")" 1
    done
    expect "summary reports zero 429s" "$(grep -c 'HTTP 429 received: 0$' "$out")" 1
}

summary_requests() { awk -v s="$2" '$1 == s && !done[s]++ { print $3 }' "$1"; }

# api_port LOG: the port an HTTP API logged ("api: listening on
# http://127.0.0.1:PORT"), waiting up to 10 s for the line.
api_port() {
    local p
    for _ in $(seq 200); do
        p=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -1)
        [ -n "$p" ] && { echo "$p"; return 0; }
        sleep 0.05
    done
    return 1
}

# need_api_server NAME TOOLS...: exits 0 (skipped) when this build has no HTTP
# server ([api] admin_token_file is the operations API's key); fails when a
# tool is missing. BG: background pids (the daemon, Prometheus, ...) killed
# on exit.
BG=()
need_api_server() {
    local name=$1 tool
    shift
    if ! "$TC" --config-help 2>/dev/null | grep -c admin_token_file >/dev/null; then
        echo "# $name: skipped: this build has no HTTP server ([api]); the handlers are tested by test_api_ops"
        exit 0
    fi
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "not ok - $tool is needed (sh tests/install-deps.sh)"; exit 1; }
    done
    trap 'for pid in "${BG[@]}"; do kill -9 "$pid" 2>/dev/null; done; cleanup' EXIT
}

# start_daemon CONFIG LOG: the daemon in the background (in BG), DAEMON its
# pid, API the URL its HTTP server logged (PORT its port).
start_daemon() {
    "$TC" -c "$1" 2>"$2" &
    DAEMON=$!
    BG+=($DAEMON)
    local port
    port=$(api_port "$2")
    PORT=$port
    API="http://127.0.0.1:$port"
    expect "the daemon's API is listening" "$([ -n "$port" ] && echo yes)" yes
}
