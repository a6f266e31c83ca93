#!/usr/bin/env bash
# The configuration tables in README.md and plugins/*/README.md are printed
# by the binary from the config map and the plugins' settings, between
# <!-- config-table --> and <!-- /config-table --> markers.
#   bash tests/doc-tables.sh BUILD          rewrite them (make docs)
#   bash tests/doc-tables.sh BUILD --check  fail when one differs (make check)
set -euo pipefail
BUILD=${1:?usage: doc-tables.sh BUILD [--check]}
MODE=${2:-write}
TC="$BUILD/tokencollector"
stale=0

# replace FILE COMMAND...: the text between the markers becomes COMMAND's output.
replace() {
    local file=$1
    shift
    local table new
    grep -q '<!-- config-table -->' "$file" || { echo "$file: no <!-- config-table --> marker" >&2; exit 1; }
    table=$("$@")
    new=$(TABLE="$table" awk '
        /<!-- config-table -->/ { print; print ENVIRON["TABLE"]; skip = 1; next }
        /<!-- \/config-table -->/ { skip = 0 }
        !skip { print }' "$file")
    if [ "$new" != "$(cat "$file")" ]; then
        if [ "$MODE" = --check ]; then
            echo "$file: configuration table is out of date (run: make docs)" >&2
            stale=1
        else
            printf '%s\n' "$new" >"$file"
            echo "updated $file"
        fi
    fi
}

replace README.md "$TC" --config-help --markdown
for dir in plugins/*/; do
    name=$(basename "$dir")
    [ -f "$BUILD/plugins/$name.so" ] || continue
    replace "${dir%/}/README.md" "$TC" --config-help --markdown --plugin "$BUILD/plugins/$name.so"
done
exit $stale
