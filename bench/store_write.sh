#!/usr/bin/env bash
# Store write throughput, SQLite and PostgreSQL, at batch sizes 50, 500 and
# 5,000: committed token rows per second, median of 3 runs (each token row
# comes with its token_prices row, 2 token_socials, 1 token_websites and 2
# token_sources rows, all in the same transaction). Not a timed test.
#
#   bench/store_write.sh [BUILD_DIR]        (make bench-store; bench/run.sh calls it)
#
# Environment: TC_BENCH_TOKENS (tokens per run, default 20000); TC_PG_URI to
# use an existing server (its current schema is dropped and recreated!)
# instead of a throwaway one; TC_PG_FSYNC=on for durable commits on the
# throwaway server (default off, like the tests); TC_BENCH_BATCHES, e.g. 500.
set -uo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN="$BUILD/bench/store_write_bench"
HARNESS="$HERE/../tests/pg/pg_harness.sh"
N=${TC_BENCH_TOKENS:-20000}

[ -x "$BIN" ] || { echo "store_write.sh: $BIN is missing (make $BIN)" >&2; exit 1; }
STARTED=""
if [ -z "${TC_PG_URI:-}" ]; then
    if ! TC_PG_URI=$(sh "$HARNESS" start); then
        echo "store_write.sh: could not start a PostgreSQL server (install postgresql: sh tests/install-deps.sh)" >&2
        exit 1
    fi
    STARTED=$TC_PG_URI
    trap 'sh "$HARNESS" stop "$STARTED" >/dev/null 2>&1' EXIT
fi
export TC_PG_URI
echo "# store write benchmark: $(nproc) CPUs, $(psql -X -tA -d "$TC_PG_URI" -c 'SHOW server_version' 2>/dev/null |
    sed 's/^/PostgreSQL /'), SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1)," \
    "PostgreSQL fsync $(psql -X -tA -d "$TC_PG_URI" -c 'SHOW fsync' 2>/dev/null)," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" "$N" 2> >(grep -v '^info ' >&2)
