#!/usr/bin/env bash
# The status page in headless Chromium (Debian's chromium, as root with
# --no-sandbox, a fresh profile, nothing of its own on the network): the
# daemon runs against the fake upstream with its API on 127.0.0.1, every
# source is paused (so the counters hold still), the page at / is loaded
# and left to run its script, and every number cell it rendered (each
# names its series in data-metric) equals that series in /metrics; the
# page shows the plugins' versions from /status.json (no token) and no
# CDN or other host is referenced. A screenshot goes to the work directory
# (UPDATE_SCREENSHOT=1: to docs/status-page.png). Skipped when this build
# has no HTTP server. Bounded: about 20 s.
# Usage: tests/e2e/page.sh [BUILD_DIR]
BUILD=${1:-build}
. "$(dirname "$0")/lib.sh"

need_api_server page python3 chromium

echo "# page: work directory $WORK"
start_fake page --scale 30 --latency 20-60
"$CHECK" gen 1500 29 >"$WORK/tokens.txt"
DB="$WORK/page.db"
export TC_ADMIN_TOKEN=page-e2e-token-0123456789abcdef
H="Authorization: Bearer $TC_ADMIN_TOKEN"
CORE_EXTRA="shutdown_grace_s = 3
[scheduler]
min_interval = 2s
max_interval = 20s
max_wait = 40s
metrics_interval = 2s
batch_delay_ms = 100
max_batch_size = 300
[api]
listen = 127.0.0.1:0" write_config "$WORK/page.ini" "$DB"
"$TC" -c "$WORK/page.ini" import "$WORK/tokens.txt" >/dev/null
start_daemon "$WORK/page.ini" "$WORK/daemon.log"
# Something for the page to show: Helius failing for a while (retries,
# chunks given up, its breaker opening: warnings).
curl -sf -X POST "$URL/_faults?source=helius&error_rate=1" >/dev/null
sleep 4
curl -sf -X POST "$URL/_faults?source=helius&error_rate=0" >/dev/null

browse() { # URL, then Chromium's own options
    local url=$1
    shift
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --disable-extensions \
        --user-data-dir="$WORK/chromium-$RANDOM" --window-size=1280,1500 "$@" "$url" 2>>"$WORK/chromium.log"
}
# The screenshot while it runs (the page rendered twice: rates shown).
browse "$API/" --virtual-time-budget=6000 --screenshot="$WORK/status-page.png" >/dev/null
expect "a screenshot of the running page" "$([ -s "$WORK/status-page.png" ] && echo yes)" yes
if [ "${UPDATE_SCREENSHOT:-0}" = 1 ]; then cp "$WORK/status-page.png" "$(dirname "$0")/../../docs/status-page.png"; fi

# Frozen: pause everything, let the last answers in, then read both.
expect "pause every source" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$H" "$API/api/admin/scheduler/pause")" 200
sleep 1
browse "$API/" --virtual-time-budget=5000 --dump-dom >"$WORK/page.html"
curl -sf "$API/metrics" >"$WORK/metrics.txt"
python3 - "$WORK/page.html" "$WORK/metrics.txt" >"$WORK/compare.out" 2>&1 <<'EOF'
import html.parser, sys
class Cells(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.cells = []; self.cur = None; self.attrs = {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body": self.attrs = a
        if "data-metric" in a: self.cur = [a["data-metric"], ""]
    def handle_data(self, d):
        if self.cur is not None: self.cur[1] += d
    def handle_endtag(self, tag):
        if self.cur is not None: self.cells.append(tuple(self.cur)); self.cur = None
p = Cells(); p.feed(open(sys.argv[1]).read())
m = {}
for line in open(sys.argv[2]):
    if line and line[0] != "#":
        k, v = line.rsplit(" ", 1); m[k] = float(v.replace("+Inf", "inf"))
bad, n = [], 0
for key, text in p.cells:
    if not key.startswith("tokencollector_"):
        continue  # totals computed by the page (first pass), checked below
    want = m.get(key)
    if want is None: bad.append(f"{key}: not in /metrics"); continue
    shown = text.strip()
    if shown == "unlimited": ok = want == float("inf")
    else:
        digits = len(shown.split(".")[1]) if "." in shown else 0
        ok = abs(float(shown) - round(want, digits)) < 10 ** -digits / 2 + 1e-9
    n += 1
    if not ok: bad.append(f"{key}: page {shown}, /metrics {want}")
print(f"{n} cells compared, {len(bad)} differ; updates {p.attrs.get('data-updates')}")
for b in bad: print("  " + b)
sys.exit(1 if bad or n < 30 else 0)
EOF
expect "every number the page rendered equals /metrics ($(head -1 "$WORK/compare.out"))" $? 0
sed -n '2,$p' "$WORK/compare.out" | head -5
done_tokens=$(grep -o 'id="pass-done"[^>]*>[0-9]*' "$WORK/page.html" | grep -o '[0-9]*$')
sum=$(awk '/^tokencollector_scheduler_refreshed_tokens\{/ { s += $2 } END { print s }' "$WORK/metrics.txt")
expect "first pass: the page's count is the tiers' sum in /metrics" "$done_tokens" "$sum"
expect "the page shows it is paused" "$(grep -c 'id="state" class="badge paused">paused<' "$WORK/page.html")" 1
for s in jupiter helius dexscreener; do
    v=$(awk -v k="tokencollector_plugin_info{source=\"$s\"" 'index($0, k) == 1' "$WORK/metrics.txt" | sed 's/.*version="\([^"]*\)".*/\1/')
    expect "the plugins table shows $s's version ($v)" "$(grep -c "<td>$s</td><td>$s</td><td data-version=\"$v\">" "$WORK/page.html")" 1
done
expect "recent warnings are listed" "$(grep -c '<li class="warn">' "$WORK/page.html" | awk '{ print ($1 > 0) ? "yes" : "no" }')" yes
expect "the page loads nothing from another host" "$(curl -sf "$API/" "$API/status.js" "$API/status.css" | grep -cE 'https?://')" 0

kill -TERM $DAEMON
wait $DAEMON
expect "SIGTERM: exit 0" $? 0
echo "page: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
