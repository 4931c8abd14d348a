#!/usr/bin/env bash
# perf/profile-fullload.sh [--callgrind] [--dataset D] [--scale SF] [ROWS] [READERS]
# Profiles the engine's full load (`pg2doris sync --mode schema,full`) of a
# bench/run dataset (bench/lib/datasets.sh, the same generator as
# `bench/run full`; default lineitem) into doris-emu --discard, and prints
# the hottest symbols.
#
# Method: a throwaway PostgreSQL + doris-emu (tests/harness/lib.sh); the
# dataset is generated in PostgreSQL, at ROWS rows for lineitem (default
# 2000000, 200000 with --callgrind) or at --scale SF; then the engine runs
# with READERS readers (default: cores)
#   - under `perf record -e cpu-clock -F 2000 -g` (default): the profile is
#     kept in perf/out/engine.perf.data, the top symbols and the top shared
#     objects in perf/out/engine.top.txt, folded stacks (one line per stack,
#     the input of any flame graph renderer) in perf/out/engine.folded;
#   - under valgrind --tool=callgrind with --callgrind: instruction counts,
#     repeatable on a busy machine; perf/out/engine.callgrind and
#     perf/out/engine.callgrind.txt (callgrind_annotate).
# The engine's log goes to perf/out/engine.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${P2D_BUILD_DIR:-$root/build}
export P2D_BUILD_DIR=$build
mode=perf dataset=lineitem scale="" pos=()
while [ $# -gt 0 ]; do
    case "$1" in
    --callgrind) mode=callgrind ;;
    --dataset) dataset=$2; shift ;;
    --scale) scale=$2; shift ;;
    -*) echo "profile-fullload: unknown flag \"$1\"" >&2; exit 2 ;;
    *) pos+=("$1") ;;
    esac
    shift
done
rows=${pos[0]:-}
readers=${pos[1]:-$(nproc)}
out=$root/perf/out
mkdir -p "$out"
. "$root/tests/harness/lib.sh"
. "$root/bench/lib/datasets.sh"
ds_check "$dataset"
if [ -z "$scale" ]; then
    [ -n "$rows" ] || rows=$([ "$mode" = callgrind ] && echo 200000 || echo 2000000)
    [ "$dataset" = lineitem ] || { echo "profile-fullload: ROWS is for lineitem; use --scale" >&2; exit 2; }
    scale=$(ds_scale_for_rows lineitem "$rows")
fi
h_init
h_pg_start
h_emu_start --discard --data :memory: --quiet

echo "generating $(ds_describe "$dataset" "$scale")..."
ds_create "$dataset" "$scale"

# shellcheck disable=SC2054 # "schema,full" is one argument
sync=("$build/pg2doris" sync --source "$P2D_PG_CONNINFO"
    --dest "http://root@127.0.0.1:$EMU_FE_PORT/bench" --mode schema,full
    --state "$H_TMP/state" --readers "$readers")
case $mode in
perf)
    perf record -e cpu-clock -F 2000 -g -o "$out/engine.perf.data" -- "${sync[@]}" >"$out/engine.log" 2>&1 ||
        { echo "profile-fullload: pg2doris sync failed:" >&2; tail -n 20 "$out/engine.log" >&2; exit 1; }
    {
        echo "== top symbols (self, cpu-clock)"
        perf report -i "$out/engine.perf.data" --no-children --stdio --sort symbol 2>/dev/null |
            awk '/^ +[0-9.]+%/ && n++ < 25'
        echo "== by shared object"
        perf report -i "$out/engine.perf.data" --no-children --stdio --sort dso 2>/dev/null |
            awk '/^ +[0-9.]+%/ && n++ < 10'
    } | tee "$out/engine.top.txt"
    # Folded stacks: "frame;frame;...;leaf COUNT", root first.
    perf script -i "$out/engine.perf.data" -F comm,ip,sym 2>/dev/null | awk '
        function flush() { if (n) { s = comm; for (i = n; i >= 1; i--) s = s ";" f[i]; c[s]++ } n = 0 }
        /^[^ \t]/ { flush(); comm = $1; next }
        /^[ \t]+[0-9a-f]+ / { f[++n] = $2; next }
        /^$/ { flush() }
        END { flush(); for (s in c) print s, c[s] }' | sort >"$out/engine.folded"
    echo "profile kept in $out: engine.perf.data (perf report -i $out/engine.perf.data --no-children --sort dso,symbol), engine.top.txt, engine.folded"
    ;;
callgrind)
    valgrind --tool=callgrind --callgrind-out-file="$out/engine.callgrind" -- "${sync[@]}" >"$out/engine.log" 2>&1 ||
        { echo "profile-fullload: pg2doris sync failed under valgrind:" >&2; tail -n 20 "$out/engine.log" >&2; exit 1; }
    callgrind_annotate "$out/engine.callgrind" >"$out/engine.callgrind.txt" 2>/dev/null
    sed -n '1,45p' "$out/engine.callgrind.txt"
    echo "profile kept in $out: engine.callgrind (callgrind_annotate --inclusive=yes $out/engine.callgrind), engine.callgrind.txt"
    ;;
esac
