# Shared by the end-to-end scripts on PostgreSQL (source it after lib.sh, with
# HERE set): a throwaway server (tests/pg/pg_harness.sh) for the script,
# stopped on exit with the processes in COLLECTORS; q runs one query.
# Never skipped: without PostgreSQL server binaries pg_start FAILS.
HARNESS="$HERE/../pg/pg_harness.sh"
PGCOPY="$BUILD/tools/tc_pgcopy"
PG_URI=""
COLLECTORS=() # collectors running in the background, stopped if a test breaks off
pg_cleanup() {
    for pid in "${COLLECTORS[@]}"; do kill -9 "$pid" 2>/dev/null; done
    [ -n "$PG_URI" ] && sh "$HARNESS" stop "$PG_URI" >/dev/null 2>&1
    cleanup
}
trap pg_cleanup EXIT

# pg_start NAME: the binaries checked, the server started (PG_URI), or exit 1.
pg_start() {
    echo "# $1: work directory $WORK"
    for bin in "$TC" "$CHECK" "$PGCOPY" "$FAKE"; do
        [ -x "$bin" ] || { echo "not ok - $bin is missing (make all)"; exit 1; }
    done
    PG_URI=$(sh "$HARNESS" start 2>"$WORK/harness.err")
    local rc=$?
    if [ $rc -ne 0 ]; then
        cat "$WORK/harness.err" >&2
        if [ $rc -eq 77 ]; then
            echo "not ok - no PostgreSQL server binaries: install postgresql (sh tests/install-deps.sh); these tests are never skipped"
        else
            echo "not ok - the PostgreSQL test server did not start"
        fi
        failed=1
        exit 1
    fi
    echo "# postgresql: $PG_URI"
}

# q URI SQL: one value.
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
