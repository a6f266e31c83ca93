#!/usr/bin/env bash
# CPU per token of the collector process, end to end (issue 13): user + sys
# of the `--once` process ÷ tokens, against the fake upstream with no limits
# and no latency (its own CPU is not counted), SQLite and PostgreSQL, at
# explicit batch sizes; beside it, the baseline build (default: main) run
# in the same loop, the split by stage (perf), the physical limits of this
# machine (bench/cpu_floor.c: the same rows written by a bare SQLite
# program, the same bodies parsed by cJSON) and peak RSS at 1M tokens.
# Prints a Markdown report (bench/run.sh puts it in RESULTS.md).
#
#   bash bench/cpu.sh [BUILD_DIR]        (make bench-cpu; bench/run.sh calls it)
#
# Environment:
#   CPU_TOKENS=N     tokens per run (default 100000)
#   CPU_RUNS=N       runs per figure, medians reported (default 3)
#   CPU_BATCHES="50 500"  [core] batch_size values measured
#   CPU_BASE=REV     the baseline git revision built into a temp dir (default main; none: skip)
#   CPU_PG=auto|0    the PostgreSQL rows (a throwaway server, tests/pg/pg_harness.sh, fsync off)
#   CPU_PERF=1|0     the split by stage with perf (default 1 when perf works)
#   CPU_1M=1|0       peak RSS at 1,000,000 tokens (SQLite, largest batch; default 1)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "${1:-build}" && pwd)
N=${CPU_TOKENS:-100000}
RUNS=${CPU_RUNS:-3}
read -r -a BATCHES <<<"${CPU_BATCHES:-50 500}"
BASE_REV=${CPU_BASE:-main}
CPU_PG=${CPU_PG:-auto}
CPU_PERF=${CPU_PERF:-1}
CPU_1M=${CPU_1M:-1}
TARGET_US=50

die() { echo "cpu.sh: $*" >&2; exit 1; }
note() { echo "cpu.sh: $*" >&2; }
for f in "$BUILD/tokencollector" "$BUILD/fakeapi" "$BUILD/tools/tc_check"; do
    [ -x "$f" ] || die "missing $f (run: make all)"
done
[ -x /usr/bin/time ] || die "needs /usr/bin/time (Debian package: time)"
for v in $(compgen -e); do
    case "$v" in TC_* | JUPITER_API_KEY | HELIUS_API_KEY | DEXSCREENER_API_KEY) unset "$v" ;; esac
done
export HELIUS_API_KEY=bench

WORK=$(mktemp -d /tmp/tc-cpu.XXXXXX)
FAKE_PID=""
PG_URI=""
cleanup() {
    if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null || true; fi
    if [ -n "$PG_URI" ]; then sh "$ROOT/tests/pg/pg_harness.sh" stop "$PG_URI" >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
T0=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- builds
# label -> build dir; each with the config of its own tree.
declare -A BDIR CONFS
BDIR[new]=$BUILD
CONFS[new]=$ROOT/conf/tokencollector.ini
[ -f "$BUILD/../conf/tokencollector.ini" ] && CONFS[new]=$(cd "$BUILD/.." && pwd)/conf/tokencollector.ini
LABELS=(new)
BASE_DESC="not run (CPU_BASE=none)"
if [ "$BASE_REV" != none ]; then
    if git -C "$ROOT" rev-parse --verify -q "$BASE_REV^{commit}" >/dev/null; then
        mkdir -p "$WORK/base"
        git -C "$ROOT" archive "$BASE_REV" | tar -x -C "$WORK/base"
        echo "== building the baseline $BASE_REV ($(git -C "$ROOT" rev-parse --short "$BASE_REV")) in $WORK/base" >&2
        if make -C "$WORK/base" -j2 build/tokencollector build/plugins/jupiter.so build/plugins/helius.so \
            build/plugins/dexscreener.so >"$WORK/base-build.log" 2>&1; then
            BDIR[base]=$WORK/base/build
            CONFS[base]=$WORK/base/conf/tokencollector.ini
            LABELS=(base new)
            BASE_DESC="$BASE_REV ($(git -C "$ROOT" rev-parse --short "$BASE_REV"))"
        else
            BASE_DESC="not run: $BASE_REV did not build (see its make output)"
            tail -5 "$WORK/base-build.log" >&2
        fi
    else
        BASE_DESC="not run: no revision $BASE_REV"
    fi
fi
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$WORK/cpu_floor" "$ROOT/bench/cpu_floor.c" \
    $(pkg-config --cflags --libs sqlite3 libcurl libcjson) || die "cannot build bench/cpu_floor.c"

# ---------------------------------------------------------------- fake upstream, tokens
rm -f "$WORK/fake.port"
"$BUILD/fakeapi" --port 0 --port-file "$WORK/fake.port" --limit jupiter=10000000/1ms --limit helius=10000000/1ms \
    --limit dexscreener=10000000/1ms 2>"$WORK/fake.log" &
FAKE_PID=$!
for _ in $(seq 200); do [ -s "$WORK/fake.port" ] && break; sleep 0.05; done
[ -s "$WORK/fake.port" ] || die "the fake upstream did not start"
URL="http://127.0.0.1:$(cat "$WORK/fake.port")"
"$BUILD/tools/tc_check" gen "$N" 7 >"$WORK/tokens.txt"

if [ "$CPU_PG" != 0 ]; then
    if PG_URI=$(TC_PG_PORT=${CPU_PG_PORT:-54337} sh "$ROOT/tests/pg/pg_harness.sh" start 2>"$WORK/pg.err"); then
        PG_DIR=$(printf '%s' "$PG_URI" | sed -n 's/.*[?&]host=\([^&]*\).*/\1/p')
        PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -1)
    else
        PG_URI=""
        note "PostgreSQL rows not run: $(tail -1 "$WORK/pg.err")"
    fi
fi
STORES=(sqlite)
[ -n "$PG_URI" ] && STORES+=(pg)

env_for() { # LABEL STORE BATCH
    local b=${BDIR[$1]} uri
    if [ "$2" = sqlite ]; then uri="sqlite:$WORK/$1.db"; else uri=$PG_URI; fi
    printf '%s\n' "TC_CORE_STORE=$uri" "TC_CORE_PLUGIN_DIR=$b/plugins" "TC_CORE_LOG_LEVEL=warn" "TC_CORE_BATCH_SIZE=$3"
    for s in JUPITER HELIUS DEXSCREENER; do echo "TC_SOURCE_${s}_BASE_URL=$URL"; done
    for l in JUPITER HELIUS_DAS DEXSCREENER; do echo "TC_LIMITER_${l}_RATE=1000000/s"; done
}
fresh_store() { # LABEL STORE TOKENS_FILE ENV...
    local label=$1 store=$2 tokens=$3
    shift 3
    if [ "$store" = sqlite ]; then
        rm -f "$WORK/$label.db" "$WORK/$label.db-wal" "$WORK/$label.db-shm"
    else
        "$PSQL" -X -q -h "$PG_DIR" -p "$(cat "$PG_DIR/port")" -U "$(cat "$PG_DIR/user")" -d tc \
            -c "DROP SCHEMA public CASCADE; CREATE SCHEMA public;" >/dev/null 2>&1 || die "cannot reset PostgreSQL"
    fi
    env "$@" "${BDIR[$label]}/tokencollector" -c "${CONFS[$label]}" import "$tokens" >"$WORK/import.out" 2>&1 ||
        { cat "$WORK/import.out" >&2; die "import failed ($label)"; }
    curl -sf -X POST "$URL/_reset" >/dev/null || die "POST /_reset failed"
}
# run_one LABEL STORE BATCH TOKENS_FILE COUNT [PREFIX...]: one --once run;
# prints "us_per_token rss_kb wall_s".
run_one() {
    local label=$1 store=$2 batch=$3 tokens=$4 count=$5
    shift 5
    local e
    mapfile -t e < <(env_for "$label" "$store" "$batch")
    fresh_store "$label" "$store" "$tokens" "${e[@]}"
    env "${e[@]}" "$@" /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "${BDIR[$label]}/tokencollector" \
        -c "${CONFS[$label]}" --once --no-progress >"$WORK/summary" 2>"$WORK/err" ||
        { cat "$WORK/err" >&2; die "tokencollector --once failed ($label $store batch $batch)"; }
    local got
    got=$(awk '/^summary:/ { print $2; exit }' "$WORK/summary")
    [ "${got:-0}" = "$count" ] || die "$label $store batch $batch: processed ${got:-?} of $count tokens"
    grep -q 'failed 0, pending 0' "$WORK/summary" || die "$label $store batch $batch: $(grep '^tokens by' "$WORK/summary")"
    awk -v n="$count" '{ printf "%.2f %d %.2f\n", ($2 + $3) * 1e6 / n, $4, $1 }' "$WORK/time"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "-"; exit } print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'; }

# ---------------------------------------------------------------- the runs
# Baseline and new build alternate within each round, so a busy machine
# hits both alike.
echo "== CPU per token: $N tokens, $RUNS run(s), batches ${BATCHES[*]}, stores ${STORES[*]}, builds ${LABELS[*]}" >&2
for store in "${STORES[@]}"; do
    for batch in "${BATCHES[@]}"; do
        for run in $(seq "$RUNS"); do
            for label in "${LABELS[@]}"; do
                read -r us rss wall < <(run_one "$label" "$store" "$batch" "$WORK/tokens.txt" "$N")
                echo "$us $rss $wall" >>"$WORK/r.$store.$batch.$label"
                echo "   $store batch $batch $label run $run: $us us/token, RSS $((rss / 1024)) MB, wall $wall s" >&2
            done
        done
    done
done

# ---------------------------------------------------------------- split by stage (perf)
PERF_OK=0
if [ "$CPU_PERF" = 1 ] && command -v perf >/dev/null 2>&1 && perf record -q -o "$WORK/probe.data" true 2>/dev/null; then
    PERF_OK=1
fi
SPLIT_BATCH=${BATCHES[${#BATCHES[@]} - 1]}
if [ "$PERF_OK" = 1 ]; then
    for store in "${STORES[@]}"; do
        for label in "${LABELS[@]}"; do
            echo "   perf: $store batch $SPLIT_BATCH $label" >&2
            # Full DWARF stacks (64 KB): shorter ones lose the frames that name the stage.
            run_one "$label" "$store" "$SPLIT_BATCH" "$WORK/tokens.txt" "$N" \
                perf record -q -F 49 --call-graph dwarf,65528 -o "$WORK/perf.data" >/dev/null
            perf script -i "$WORK/perf.data" 2>/dev/null |
                awk -v prog=tokencollector -f "$ROOT/bench/perf_split.awk" >"$WORK/split.$store.$label"
            rm -f "$WORK/perf.data"
        done
    done
fi

# ---------------------------------------------------------------- physical limits
echo "   physical limits: SQLite writes of the same rows, cJSON parse of the same bodies" >&2
for batch in "${BATCHES[@]}"; do
    for run in $(seq "$RUNS"); do
        # The rows the new build stored at this batch size, written again by a bare program.
        run_one new sqlite "$batch" "$WORK/tokens.txt" "$N" >/dev/null
        mapfile -t e < <(env_for new sqlite "$batch")
        rm -f "$WORK/floor.db"*
        env "${e[@]}" TC_CORE_STORE="sqlite:$WORK/floor.db" "$BUILD/tokencollector" -c "${CONFS[new]}" \
            import "$WORK/tokens.txt" >/dev/null 2>&1 || die "import for the floor failed"
        "$WORK/cpu_floor" sqlite "$WORK/new.db" "$WORK/floor.db" "$batch" >"$WORK/floor.out"
        awk '$1 == "us_per_token" { print $2 }' "$WORK/floor.out" >>"$WORK/f.sqlite.$batch"
        awk '$1 == "rows_per_token" { print $2 }' "$WORK/floor.out" >"$WORK/f.rows"
    done
done
for run in $(seq "$RUNS"); do
    "$WORK/cpu_floor" json "$URL" "$WORK/tokens.txt" >"$WORK/json.out"
    awk '$1 == "us_per_token" { print $2 }' "$WORK/json.out" >>"$WORK/f.json"
done
KB_TOKEN=$(awk '$1 == "kb_per_token" { print $2 }' "$WORK/json.out")

# ---------------------------------------------------------------- 1M tokens: peak RSS
RSS1M=""
if [ "$CPU_1M" = 1 ]; then
    echo "   1,000,000 tokens (SQLite, batch $SPLIT_BATCH): peak RSS" >&2
    "$BUILD/tools/tc_check" gen 1000000 11 >"$WORK/tokens1m.txt"
    read -r us1m rss1m wall1m < <(run_one new sqlite "$SPLIT_BATCH" "$WORK/tokens1m.txt" 1000000)
    RSS1M="$(awk -v r="$rss1m" 'BEGIN { printf "%.1f", r / 1024 }') MB ($us1m µs/token, wall $wall1m s)"
    rm -f "$WORK/tokens1m.txt" "$WORK/new.db"*
fi

# ---------------------------------------------------------------- report
cell() { # FILE COLUMN: "median (min–max)"
    [ -s "$1" ] || { echo "-"; return; }
    local m r
    m=$(cut -d' ' -f"$2" "$1" | median)
    r=$(cut -d' ' -f"$2" "$1" | range)
    if [ "$RUNS" -gt 1 ]; then echo "$m ($r)"; else echo "$m"; fi
}
med_of() { cut -d' ' -f"$2" "$1" | median; }
store_name() { [ "$1" = sqlite ] && echo SQLite || echo "PostgreSQL (fsync off)"; }
echo "## CPU per token (bench/cpu.sh)"
echo
echo "The collector process alone: (user + sys) ÷ tokens of one \`--once\` run over $N fresh tokens, the fake upstream"
echo "without limits or latency (its CPU not counted), the shipped config with its limiters opened and"
echo "\`[core] batch_size\` as given. Baseline: $BASE_DESC, built and run in the same loop, alternating with this"
echo "build. Median (min–max) of $RUNS run(s); load average $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "(other work on the machine inflates every figure alike)."
echo
echo "| store | batch | baseline µs/token | this build µs/token | ratio | peak RSS (this build) | ≤ $TARGET_US µs |"
echo "|---|---|---|---|---|---|---|"
for store in "${STORES[@]}"; do
    for batch in "${BATCHES[@]}"; do
        f_new=$WORK/r.$store.$batch.new
        f_base=$WORK/r.$store.$batch.base
        mn=$(med_of "$f_new" 1)
        ratio="-"
        [ -s "$f_base" ] && ratio=$(awk -v a="$(med_of "$f_base" 1)" -v b="$mn" 'BEGIN { printf "%.2fx", a / b }')
        met=$(awk -v m="$mn" -v t=$TARGET_US 'BEGIN { print (m <= t) ? "met" : "MISSED" }')
        echo "| $(store_name "$store") | $batch | $(cell "$f_base" 1) | $(cell "$f_new" 1) | $ratio |" \
            "$(awk -v r="$(med_of "$f_new" 2)" 'BEGIN { printf "%.1f MB", r / 1024 }') | $met |"
    done
done
echo
echo "Physical limits on this machine, same data (bench/cpu_floor.c; only the work itself is timed):"
echo
echo "| what | µs/token |"
echo "|---|---|"
for batch in "${BATCHES[@]}"; do
    echo "| SQLite: the same rows ($(cat "$WORK/f.rows") a token) written by a bare program with prepared statements, batch $batch | $(median <"$WORK/f.sqlite.$batch") ($(range <"$WORK/f.sqlite.$batch")) |"
done
echo "| cJSON: parse + delete of the same response bodies ($KB_TOKEN KB a token) | $(median <"$WORK/f.json") ($(range <"$WORK/f.json")) |"
echo
if [ "$PERF_OK" = 1 ]; then
    echo "Where it goes, by stage (one extra run per build under \`perf record --call-graph dwarf\`, batch $SPLIT_BATCH;"
    echo "bench/perf_split.awk charges each sample to the innermost stage on its stack; µs = share × the median above):"
    echo
    hdr="| stage |"
    sep="|---|"
    for store in "${STORES[@]}"; do
        for label in "${LABELS[@]}"; do
            hdr="$hdr $(store_name "$store" | cut -d' ' -f1) $label |"
            sep="$sep---|"
        done
    done
    echo "$hdr"
    echo "$sep"
    for stage in parse merge store claim http cleanup setup other; do
        row="| $stage |"
        for store in "${STORES[@]}"; do
            for label in "${LABELS[@]}"; do
                us=$(med_of "$WORK/r.$store.$SPLIT_BATCH.$label" 1)
                row="$row $(awk -v s="$stage" -v us="$us" '$1 == s { printf "%.0f%% · %.1f µs", $3 * 100, $3 * us }' \
                    "$WORK/split.$store.$label") |"
            done
        done
        echo "$row"
    done
    echo
fi
if [ -n "$RSS1M" ]; then
    echo "Peak RSS at 1,000,000 tokens (SQLite, batch $SPLIT_BATCH, this build): $RSS1M; target ≤ 64 MB:" \
        "$(awk -v r="${RSS1M%% MB*}" 'BEGIN { print (r <= 64) ? "met" : "MISSED" }')."
else
    echo "Peak RSS at 1,000,000 tokens: not measured (CPU_1M=0)."
fi
echo
echo "($(($(date +%s) - T0)) s)"
