#!/bin/sh
# Runs every cmocka unit test binary under BUILD/tests and sums the results.
set -u
BUILD=${1:-build}
export TC_PLUGIN_DIR="${TC_PLUGIN_DIR:-$BUILD/plugins}"
export TC_BUILD_DIR="$BUILD"
failed=0
total=0
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    total=$((total + 1))
    if ! "$t"; then
        echo "FAILED: $t" >&2
        failed=$((failed + 1))
    fi
done
echo "unit test binaries: $total run, $failed failed"
[ "$total" -gt 0 ] && [ "$failed" -eq 0 ]
