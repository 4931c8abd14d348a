# bench/lib/common.sh - shared by every scenario of bench/run (sourced).
#
# Servers (on top of tests/harness/lib.sh, one throwaway PostgreSQL 15 per
# run, as many doris-emu as a scenario wants):
#   bench_init                      temp dir, cleanup on exit / Ctrl-C / TERM
#   bench_pg_start                  PostgreSQL (h_pg_start)
#   bench_pg_db NAME                a fresh database NAME; points PGDATABASE and
#                                   P2D_PG_CONNINFO at it
#   bench_pg_db_drop NAME           drops it (back to database postgres)
#   bench_emu_start VAR ARGS...     a doris-emu (ARGS to doris-emu); VAR_PID,
#                                   VAR_FE (FE port) are set
#   bench_emu_stop PID              stops one doris-emu started here
#   bench_schema FE DB              creates the Doris tables for every table of
#                                   the current PostgreSQL database in DB with
#                                   `pg2doris sync --mode schema` (untimed setup)
# Measuring:
#   bench_measure [--emu PID] NAME CMD...
#       runs CMD in its own process group under /usr/bin/time; sets M_WALL
#       (s, from the clock), M_CPU (user+sys s of CMD and its children),
#       M_RSS_KIB (peak RSS of the largest process), M_PG_CPU (CPU s used by
#       PostgreSQL meanwhile: postmaster, its reaped and live children),
#       M_EMU_CPU (CPU s used by doris-emu PID meanwhile, "" without --emu).
#       Returns CMD's exit status. Ctrl-C or TERM stops CMD's process group.
#   bench_cpu_of PID...             user+sys CPU seconds used so far
#   bench_pg_cpu                    the same for PostgreSQL (postmaster, reaped
#                                   and live children)
# Background and long commands (each in its own process group, stopped on
# exit, failure, Ctrl-C and TERM):
#   bench_bg VAR CMD...             starts CMD in the background; VAR = its pid
#                                   (= its process group)
#   bench_bg_stop PID [SIGNAL]      signals its group (default TERM), waits up to
#                                   30 s (then KILL); returns CMD's exit status
#   bench_fg CMD...                 runs CMD and waits for it; an interrupt stops
#                                   its group at once (a foreground command would
#                                   delay the TERM trap until it ends)
# Machine and versions:
#   bench_machine_json              JSON object (cached in $H_TMP/machine.json)
#   bench_machine_text              the same, two lines for humans
# Numbers:
#   median, best (stdin: one number a line)
#   bench_fmt_table                 stdin TSV (first line header) -> aligned
#                                   columns, first column left, others right

# shellcheck shell=bash

BENCH_CHILD=""
BENCH_BG=()

bench_init() {
    . "$root/tests/harness/lib.sh"
    h_init
    trap bench_cleanup EXIT
}

bench_cleanup() {
    local rc=$?
    set +e
    if [ -n "$BENCH_CHILD" ]; then
        kill -TERM -- "-$BENCH_CHILD" 2>/dev/null
        for _ in $(seq 30); do kill -0 -- "-$BENCH_CHILD" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$BENCH_CHILD" 2>/dev/null
        wait "$BENCH_CHILD" 2>/dev/null
    fi
    local p
    for p in "${BENCH_BG[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
    for p in "${BENCH_BG[@]}"; do
        for _ in $(seq 50); do kill -0 -- "-$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$p" 2>/dev/null
    done
    (exit "$rc")
    h_cleanup
}

bench_bg() {
    local var=$1
    shift
    setsid "$@" &
    printf -v "$var" '%s' "$!"
    BENCH_BG+=("$!")
}

bench_bg_stop() {
    local pid=$1 sig=${2:-TERM} rc=0 p keep=()
    kill "-$sig" -- "-$pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || rc=$?
    for p in "${BENCH_BG[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    BENCH_BG=("${keep[@]}")
    return "$rc"
}

bench_fg() {
    local rc=0
    setsid "$@" &
    BENCH_CHILD=$!
    wait "$BENCH_CHILD" || rc=$?
    BENCH_CHILD=""
    return "$rc"
}

bench_pg_start() {
    h_pg_start || { echo "bench: PostgreSQL did not start" >&2; exit 1; }
    rm -f "$H_TMP/initdb.log" # on a failure later, the logs shown are the useful ones
}

bench_pg_db() {
    PGDATABASE=postgres h_psql -c "CREATE DATABASE $1" >/dev/null
    export PGDATABASE=$1
    export P2D_PG_CONNINFO="host=127.0.0.1 port=$PGPORT user=postgres dbname=$1"
}

bench_pg_db_drop() {
    export PGDATABASE=postgres
    export P2D_PG_CONNINFO="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"
    h_psql -c "DROP DATABASE IF EXISTS $1" >/dev/null
}

bench_emu_start() {
    local var=$1
    shift
    touch "$H_TMP/doris-emu${H_EMU_N:-0}.log" # h_emu_start may read it before doris-emu writes it
    h_emu_start "$@" || { echo "bench: doris-emu did not start" >&2; exit 1; }
    printf -v "${var}_PID" '%s' "$EMU_PID"
    printf -v "${var}_FE" '%s' "$EMU_FE_PORT"
}

bench_emu_stop() {
    local pid=$1 i keep=()
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for i in "${H_PIDS[@]}"; do [ "$i" = "$pid" ] || keep+=("$i"); done
    H_PIDS=("${keep[@]}")
}

bench_schema() {
    local fe=$1 db=$2 log="$H_TMP/schema-$2.out"
    "$P2D_BUILD_DIR/pg2doris" sync --source "$P2D_PG_CONNINFO" --dest "http://root@127.0.0.1:$fe/$db" \
        --mode schema --state "$H_TMP/state-schema-$db" >"$log" 2>&1 ||
        { echo "bench: pg2doris sync --mode schema failed:" >&2; tail -n 20 "$log" >&2; exit 1; }
    rm -rf "$H_TMP/state-schema-$db"
}

# fe_sql PORT DB STMT: one statement through doris-emu's SQL over HTTP.
bench_fe_sql() {
    local ans
    ans=$(curl -sS -u root: -d "$(jq -cn --arg s "$3" '{stmt:$s}')" \
        "http://127.0.0.1:$1/api/query/default_cluster/$2")
    [ "$(jq -r .code <<<"$ans")" = 0 ] || { echo "bench: SQL failed: $ans" >&2; return 1; }
}

bench_cpu_of() {
    local p
    for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done |
        sed 's/^.*) //' | awk -v hz="$(getconf CLK_TCK)" '{s += $12 + $13} END {printf "%.2f", s / hz}'
}

# PostgreSQL's CPU so far: the postmaster with the children it reaped
# (backends that ended), plus its live children.
bench_pg_cpu() {
    local pm
    pm=$(head -1 "$H_PGDATA/postmaster.pid" 2>/dev/null) || { echo 0; return; }
    {
        sed 's/^.*) //' "/proc/$pm/stat" | awk '{print $12 + $13 + $14 + $15}'
        for c in $(pgrep -P "$pm"); do
            sed 's/^.*) //' "/proc/$c/stat" 2>/dev/null | awk '{print $12 + $13}'
        done
    } | awk -v hz="$(getconf CLK_TCK)" '{s += $1} END {printf "%.2f", s / hz}'
}

# Waits (at most 5 s) until every child of the postmaster that was not in
# $1 (a sorted pid list) has ended and been reaped, so that the backends
# of the run just measured count in the postmaster's cutime: a backend
# outlives its client's exit by a little, and its CPU would be lost.
bench_pg_settle() {
    local pm before=$1 extra
    pm=$(head -1 "$H_PGDATA/postmaster.pid" 2>/dev/null) || return 0
    for _ in $(seq 50); do
        extra=$(comm -13 <(echo "$before") <(pgrep -P "$pm" | sort))
        [ -z "$extra" ] && return 0
        sleep 0.1
    done
    echo "bench: PostgreSQL backends still running after the run: $extra" >&2
}

bench_measure() {
    local emu=""
    if [ "$1" = --emu ]; then emu=$2; shift 2; fi
    local name=$1
    shift
    local tf="$H_TMP/time.$name" rc=0 t0 t1 p0 p1 e0="" e1="" u s kids
    kids=$(pgrep -P "$(head -1 "$H_PGDATA/postmaster.pid")" | sort)
    p0=$(bench_pg_cpu)
    [ -z "$emu" ] || e0=$(bench_cpu_of "$emu")
    t0=$(date +%s.%N)
    setsid /usr/bin/time -f '%U %S %M' -o "$tf" "$@" &
    BENCH_CHILD=$!
    wait "$BENCH_CHILD" || rc=$?
    BENCH_CHILD=""
    t1=$(date +%s.%N)
    bench_pg_settle "$kids"
    p1=$(bench_pg_cpu)
    [ -z "$emu" ] || e1=$(bench_cpu_of "$emu")
    # time writes "Command exited with non-zero status N" first on failure.
    read -r u s M_RSS_KIB < <(tail -n 1 "$tf")
    M_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    M_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", u + s}')
    M_PG_CPU=$(awk -v a="$p0" -v b="$p1" 'BEGIN {printf "%.2f", b - a}')
    M_EMU_CPU=""
    [ -z "$emu" ] || M_EMU_CPU=$(awk -v a="$e0" -v b="$e1" 'BEGIN {printf "%.2f", b - a}')
    return "$rc"
}

bench_git_sha() {
    local sha dirty
    sha=$(git -C "$root" --no-optional-locks rev-parse --short=12 HEAD 2>/dev/null) || { echo unknown; return; }
    dirty=$(git -C "$root" --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null | head -1)
    echo "$sha${dirty:+ (uncommitted changes)}"
}

bench_machine_json() {
    local f="$H_TMP/machine.json"
    if [ ! -s "$f" ]; then
        local os=unknown
        [ -r /etc/os-release ] && os=$(. /etc/os-release && echo "${PRETTY_NAME:-$NAME}")
        jq -n \
            --arg model "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" \
            --argjson cores "$(nproc)" \
            --argjson mem "$(awk '/MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)" \
            --arg kernel "$(uname -sr)" --arg os "$os" \
            --arg pg "$("$H_PGBIN/postgres" --version | sed 's/^postgres (PostgreSQL) //')" \
            --arg curl "$(curl --version | head -1 | cut -d' ' -f2)" \
            --arg p2d "$("$P2D_BUILD_DIR/pg2doris" --version | cut -d' ' -f2-)" \
            --arg sha "$(bench_git_sha)" \
            '{cpu_model:$model, cores:$cores, memory_gib:$mem, kernel:$kernel, os:$os,
              postgresql:$pg, curl:$curl, pg2doris:$p2d, git_sha:$sha}' >"$f"
    fi
    cat "$f"
}

bench_machine_text() {
    bench_machine_json | jq -r '
        "machine: \(.cores) cores, \(.cpu_model), \(.memory_gib) GiB; \(.os); \(.kernel)",
        "versions: PostgreSQL \(.postgresql); curl \(.curl); pg2doris \(.pg2doris), tree \(.git_sha)"'
}

# jq definitions for printing: f(n) formats a number with n decimals ("-"
# for null), thousands groups digits.
BENCH_JQ_DEFS='
def f(n): if . == null then "-" else
    (. * pow(10; n) | round) as $i | ($i | fabs | tostring) as $s
    | (if n == 0 then $s else
        ("0" * ([n + 1 - ($s | length), 0] | max) // "") + $s
        | .[0:length - n] + "." + .[length - n:] end)
    | (if $i < 0 then "-" + . else . end) end;
def thousands: tostring | if length > 3 then (.[0:length - 3] | thousands) + "," + .[length - 3:] else . end;
'

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
best() { sort -g | tail -1; }

bench_fmt_table() {
    awk -F'\t' '
        { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
          if (NF > nf) nf = NF }
        END {
            for (r = 1; r <= NR; r++) {
                line = ""
                for (i = 1; i <= nf; i++)
                    line = line (i == 1 ? sprintf("%-" w[i] "s", c[r, i]) : sprintf("  %" w[i] "s", c[r, i]))
                print line
            }
        }'
}
