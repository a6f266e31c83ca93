#!/usr/bin/env bash
# The plugin SDK out of the tree: CONTRIBUTING.md section 4's command blocks,
# extracted and run as written (make install into a temporary HOME, the
# template copied out of the tree, built with nothing but the installed
# prefix through pkg-config, unit-tested against the installed test kit, run
# in the installed binary against the fake upstream, make uninstall); then a
# DESTDIR install's layout, rendered paths, man pages, kept config and
# uninstall. Only 127.0.0.1; each step under a timeout.
# Usage: tests/e2e/sdk.sh [BUILD_DIR]   (from the repository root)
BUILD=${1:-build}
. "$(dirname "$0")/lib.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO" || exit 1
SOL=So11111111111111111111111111111111111111112
USDC=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v
# A make run from here must not join the caller's jobserver, nor a TC_* override reach a config.
unset MAKEFLAGS MFLAGS MAKELEVEL TC_PLUGIN_DIR $(compgen -e | grep '^TC_')

echo "# sdk: work directory $WORK"

# ---------------------------------------------------------------------------
echo "# 1. CONTRIBUTING.md section 4, as written"
# Each block after a "<!-- sdk-test in=DIR -->" line becomes a step run in
# DIR (checkout: this repository; ~/x: under the temporary HOME).
awk '
    BEGIN { marked = -1 }
    /^<!-- sdk-test in=[^ ]+ -->$/ { dir = $3; sub(/^in=/, "", dir); marked = NR; next }
    marked == NR - 1 && /^```sh$/ { print "step " ++n " \"" dir "\""; inside = 1; next }
    marked == NR - 1 { print "echo \"CONTRIBUTING.md:" NR ": a marked block must start on the next line\"; exit 2"; next }
    inside && /^```$/ { inside = 0; next }
    inside { print }
' CONTRIBUTING.md >"$WORK/steps.sh"
cat >"$WORK/walk.sh" <<'EOF'
set -euo pipefail
step() {
    echo "### step $1 in $2"
    case $2 in
    checkout) cd "$CHECKOUT" ;;
    "~/"*) cd "$HOME/${2#"~/"}" ;;
    *) echo "unknown directory $2" >&2; exit 2 ;;
    esac
}
set -x
EOF
cat "$WORK/steps.sh" >>"$WORK/walk.sh"
expect "CONTRIBUTING.md has the walk-through's marked blocks" "$(grep -c '^step ' "$WORK/steps.sh")" 7
for cmd in 'make install' 'cp -r plugins/template' 'pkg-config --cflags tokencollector' 'testkit_libs' \
    './test_acme' '--check-config' '--once' 'make uninstall'; do
    expect "the walk-through runs: $cmd" "$(grep -cF -- "$cmd" "$WORK/steps.sh" | sed 's/^[1-9][0-9]*$/yes/')" yes
done

start_fake sdk
mkdir -p "$WORK/home"
T0=$(date +%s)
env HOME="$WORK/home" CHECKOUT="$REPO" BUILD="$BUILD" ACME_URL="$URL" timeout 300 bash "$WORK/walk.sh" \
    >"$WORK/walk.log" 2>&1
expect "every command of the walk-through succeeds (log: walk.log)" $? 0
echo "# walk-through: $(($(date +%s) - T0)) s"
ACME="$WORK/home/acme"
expect "the installed config finds the installed plugins" \
    "$(grep -c "^$WORK/home/tc/etc/tokencollector/tokencollector.ini: OK$" "$WORK/walk.log")" 1
expect "the out-of-tree plugin exports tc_source_entry and nothing else" \
    "$(nm -D --defined-only "$ACME/acme.so" 2>/dev/null | awk '{ print $NF }' | tr '\n' ' ')" "tc_source_entry "
expect "its unit test on the installed kit passed" \
    "$(grep -cE '^test_acme: [1-9][0-9]* checks passed, 0 failed$' "$WORK/walk.log")" 1
expect "the installed binary loaded the out-of-tree plugin" \
    "$(grep -cE '^source acme +plugin acme 1\.0\.0 \(ABI [0-9]+\.[0-9]+\), chunk 50 of max 50$' "$WORK/walk.log")" 1
expect "--check-config accepted its config" "$(grep -c '^acme.ini: OK$' "$WORK/walk.log")" 1
FAKE_JSON=$(curl -sf "$URL/prices?ids=$SOL,$USDC")
PRICED=$(jq '[.[] | select(.price != null)] | length' <<<"$FAKE_JSON")
expect "the fake upstream prices both tokens" "$PRICED" 2
expect "both tokens enriched" "$(sqlite3 "$ACME/acme.db" "SELECT count(*) FROM tokens WHERE status='enriched'")" 2
expect "the acme source answered for both" \
    "$(sqlite3 "$ACME/acme.db" "SELECT count(*) FROM token_sources WHERE source='acme'")" 2
expect "every stored price is the one the fake upstream served" \
    "$(sqlite3 "$ACME/acme.db" "SELECT count(*) FROM token_prices p JOIN json_each('$FAKE_JSON') j
        ON j.key = p.address WHERE p.price_usd = json_extract(j.value, '\$.price')")" "$PRICED"
expect "the walk-through installed into ~/tc" "$([ -d "$WORK/home/tc/bin" ] && echo yes)" yes
expect "make uninstall left no file in the prefix" "$(find "$WORK/home/tc" -type f 2>/dev/null | wc -l)" 0
expect "nor a directory of its own" "$(find "$WORK/home/tc" -name '*tokencollector*' 2>/dev/null | wc -l)" 0

# ---------------------------------------------------------------------------
echo "# 2. make install DESTDIR=... PREFIX=/usr: layout, paths, man pages"
STAGE="$WORK/stage"
run_make() { timeout 120 make --no-print-directory BUILD="$BUILD" DESTDIR="$STAGE" PREFIX=/usr "$@" >>"$WORK/stage.log" 2>&1; }
run_make install
expect "make install DESTDIR exit code" $? 0
{
    printf '%s\n' /usr/bin/tokencollector /usr/lib/libtokencollector-testkit.a /usr/lib/pkgconfig/tokencollector.pc \
        /usr/share/man/man8/tokencollector.8 /usr/share/man/man5/tokencollector.ini.5 \
        /usr/etc/tokencollector/tokencollector.ini /usr/lib/systemd/system/tokencollector.service \
        /usr/include/tokencollector/plugin.h /usr/include/tokencollector/sdk.h /usr/include/tokencollector/testkit.h
    for h in include/tokencollector/sdk/*.h; do echo "/usr/include/tokencollector/sdk/${h##*/}"; done
    for d in plugins/*/; do d=${d%/}; echo "/usr/lib/tokencollector/plugins/${d##*/}.so"; done
} | sort >"$WORK/layout.want"
find "$STAGE" -type f | sed "s|^$STAGE||" | sort >"$WORK/layout.got"
expect "installed exactly the expected files (diff layout.want layout.got)" \
    "$(diff "$WORK/layout.want" "$WORK/layout.got" >/dev/null && echo same)" same

pc() { PKG_CONFIG_PATH="$STAGE/usr/lib/pkgconfig" pkg-config "$@" tokencollector; }
expect "pkg-config: plugindir" "$(pc --variable=plugindir)" /usr/lib/tokencollector/plugins
expect "pkg-config: includedir" "$(pc --variable=includedir)" /usr/include
expect "pkg-config: the test kit" "$(pc --variable=testkit_libs)" "-L/usr/lib -ltokencollector-testkit -ldl"
expect "pkg-config: version" "$(pc --modversion)" "$("$TC" --version | awk '{ print $2 }')"
INI="$STAGE/usr/etc/tokencollector/tokencollector.ini"
expect "installed config: plugin_dir is the installed plugin directory" \
    "$(grep '^plugin_dir' "$INI")" "plugin_dir = /usr/lib/tokencollector/plugins"
expect "installed config: nothing else changed" \
    "$(diff <(grep -v '^plugin_dir' conf/tokencollector.ini) <(grep -v '^plugin_dir' "$INI") >/dev/null && echo same)" same
UNIT="$STAGE/usr/lib/systemd/system/tokencollector.service"
expect "unit: ExecStart has the installed paths" "$(grep '^ExecStart=' "$UNIT")" \
    "ExecStart=/usr/bin/tokencollector -c /usr/etc/tokencollector/tokencollector.ini"
expect "unit: ExecReload sends SIGHUP" "$(grep '^ExecReload=' "$UNIT")" 'ExecReload=/bin/kill -HUP $MAINPID'
expect "unit: EnvironmentFile" "$(grep '^EnvironmentFile=' "$UNIT")" \
    "EnvironmentFile=-/usr/etc/tokencollector/tokencollector.env"
expect "unit: no /usr/local path left" "$(grep -c /usr/local "$UNIT")" 0

MAN5="$STAGE/usr/share/man/man5/tokencollector.ini.5"
MAN8="$STAGE/usr/share/man/man8/tokencollector.8"
for page in "$MAN8" "$MAN5"; do
    expect "${page##*/}: groff -ww has no warning" "$(groff -k -man -ww -Tutf8 -z "$page" 2>&1 | wc -l)" 0
    expect "${page##*/}: man -l renders it" "$(MANWIDTH=80 man -l "$page" 2>/dev/null | grep -c '^NAME$')" 1
done
render() { groff -k -man -Tutf8 -rLL=250n -rHY=0 -P-cbu "$1" 2>/dev/null; }
"$TC" --config-help --markdown | awk -F'|' 'NR > 2 { gsub(/[ `]/, "", $3); print $3 }' | sort -u >"$WORK/keys"
missing=0
while read -r key; do render "$MAN5" | grep -qw -- "$key" || { echo "# not in tokencollector.ini(5): $key"; missing=$((missing + 1)); }; done <"$WORK/keys"
expect "tokencollector.ini(5) lists every key of --config-help ($(wc -l <"$WORK/keys") keys)" "$missing" 0
expect "its key list has one entry per row of --config-help --markdown" \
    "$(awk '/config-keys: begin/ { f = 1 } /config-keys: end/ { f = 0 } f && /^\.TP$/' "$MAN5" | wc -l)" \
    "$("$TC" --config-help --markdown | awk 'NR > 2' | wc -l)"
missing=0
for opt in $("$TC" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u) import migrate; do
    render "$MAN8" | grep -qF -- "$opt" || { echo "# not in tokencollector(8): $opt"; missing=$((missing + 1)); }
done
expect "tokencollector(8) documents every option and command of --help" "$missing" 0

echo "# 3. an existing config is kept by install, a changed one by uninstall"
echo "; changed by hand" >>"$INI"
run_make install
expect "make install again: exit code" $? 0
expect "the changed config was not overwritten" "$(grep -c '^; changed by hand$' "$INI")" 1
run_make uninstall
expect "make uninstall: exit code" $? 0
expect "only the changed config is left" "$(find "$STAGE" -type f | sed "s|^$STAGE||")" /usr/etc/tokencollector/tokencollector.ini
rm -f "$INI"
run_make uninstall
expect "make uninstall with nothing installed: exit code" $? 0
expect "no file left in DESTDIR" "$(find "$STAGE" -type f | wc -l)" 0
expect "no tokencollector directory left in DESTDIR" "$(find "$STAGE" -name '*tokencollector*' | wc -l)" 0

echo "# sdk: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
