#!/bin/sh
# A throwaway PostgreSQL server for the tests and the benchmark.
#
#   tests/pg/pg_harness.sh start [DIR]   initdb + pg_ctl start in DIR (default: a new
#                                        mktemp dir), Unix socket only, creates the
#                                        database "tc"; prints the connection URI
#   tests/pg/pg_harness.sh stop DIR|URI  stops that server and removes its directory
#   tests/pg/pg_harness.sh uri DIR       prints the URI of a running harness server
#   tests/pg/pg_harness.sh restart DIR|URI [DOWN_S]
#                                        stops the server (fast: sessions are cut),
#                                        keeps it down DOWN_S seconds (default 0),
#                                        starts it again with the same settings
#
# Exit status 77 means "no PostgreSQL server binaries here" (callers skip).
# As root, the server runs as the `postgres` OS user (PostgreSQL refuses to run
# as root) and DIR is owned by it; as any other user, it runs as that user.
# Environment:
#   PG_BIN        directory holding initdb/pg_ctl (default: /usr/lib/postgresql/15/bin,
#                 then `pg_config --bindir`, then PATH)
#   TC_PG_FSYNC   on|off (default off: a throwaway server need not survive a crash;
#                 set on to benchmark with durable commits)
#   TC_PG_PORT    the port number, i.e. the socket's name (default 5432; no TCP)
set -eu

die() { echo "pg_harness: $*" >&2; exit 1; }

find_bin() {
    for d in ${PG_BIN:-} /usr/lib/postgresql/15/bin; do
        [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null || true)
        [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    fi
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

# Runs a command as the server's OS user, from a directory that user can read.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            (cd "$DIR" && runuser -u postgres -- "$@")
        else
            # su needs one shell string: quote every argument.
            cmd=""
            for a in "$@"; do
                cmd="$cmd '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
            done
            (cd "$DIR" && su postgres -s /bin/sh -c "$cmd")
        fi
    else
        (cd "$DIR" && "$@")
    fi
}

# DIR from "DIR" or from a URI's host= parameter.
dir_of() {
    case "$1" in
    postgres://* | postgresql://*)
        printf '%s\n' "$1" | sed -n 's/.*[?&]host=\([^&]*\).*/\1/p'
        ;;
    *) printf '%s\n' "$1" ;;
    esac
}

uri_of() {
    port=$(cat "$1/port" 2>/dev/null || echo 5432)
    user=$(cat "$1/user" 2>/dev/null || echo postgres)
    echo "postgresql:///tc?host=$1&port=$port&user=$user"
}

cmd=${1:-}
case "$cmd" in
start)
    BIN=$(find_bin) || { echo "pg_harness: no PostgreSQL server binaries (initdb, pg_ctl)" >&2; exit 77; }
    PORT=${TC_PG_PORT:-5432}
    if [ $# -ge 2 ]; then
        DIR=$2
        mkdir -p "$DIR"
    else
        DIR=$(mktemp -d /tmp/tcpg.XXXXXX)
    fi
    DIR=$(cd "$DIR" && pwd)
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' OS user (PostgreSQL refuses root)"
        chown postgres "$DIR"
        chmod 700 "$DIR"
        DBUSER=postgres
    else
        DBUSER=$(id -un)
    fi
    echo "$PORT" >"$DIR/port"
    echo "$DBUSER" >"$DIR/user"
    as_pg "$BIN/initdb" -D "$DIR/data" -U "$DBUSER" --auth=trust -E UTF8 --no-locale --no-sync \
        >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
    FSYNC=${TC_PG_FSYNC:-off}
    # Kept for `restart`.
    echo "-c listen_addresses='' -k '$DIR' -p $PORT -c fsync=$FSYNC -c full_page_writes=$FSYNC \
-c max_connections=60 -c shared_buffers=64MB" >"$DIR/server.opts"
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 -o "$(cat "$DIR/server.opts")" \
        start >/dev/null 2>&1 || { cat "$DIR/server.log" >&2 2>/dev/null; die "pg_ctl start failed"; }
    as_pg "$BIN/psql" -X -q -h "$DIR" -p "$PORT" -U "$DBUSER" -d postgres -c "CREATE DATABASE tc" \
        >/dev/null || die "CREATE DATABASE tc failed"
    uri_of "$DIR"
    ;;
stop)
    [ $# -ge 2 ] || die "usage: $0 stop DIR|URI"
    DIR=$(dir_of "$2")
    [ -n "$DIR" ] && [ -d "$DIR" ] || die "no harness directory in \"$2\""
    [ -f "$DIR/port" ] || die "$DIR is not a pg_harness directory"
    BIN=$(find_bin) || die "no PostgreSQL server binaries"
    if [ -f "$DIR/data/postmaster.pid" ]; then
        as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
            as_pg "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$DIR"
    ;;
restart)
    [ $# -ge 2 ] || die "usage: $0 restart DIR|URI [DOWN_S]"
    DIR=$(dir_of "$2")
    [ -n "$DIR" ] && [ -f "$DIR/port" ] || die "\"$2\" is not a pg_harness directory"
    BIN=$(find_bin) || die "no PostgreSQL server binaries"
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 || die "pg_ctl stop failed"
    sleep "${3:-0}"
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 -o "$(cat "$DIR/server.opts")" \
        start >/dev/null 2>&1 || { tail -20 "$DIR/server.log" >&2; die "pg_ctl start failed"; }
    ;;
uri)
    [ $# -ge 2 ] || die "usage: $0 uri DIR"
    uri_of "$(cd "$2" && pwd)"
    ;;
*)
    echo "usage: $0 start [DIR] | stop DIR|URI | restart DIR|URI [DOWN_S] | uri DIR" >&2
    exit 2
    ;;
esac
