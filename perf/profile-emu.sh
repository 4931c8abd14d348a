#!/usr/bin/env bash
# perf/profile-emu.sh [ROWS]: profiles doris-emu ingesting lineitem-shaped
# CSV in --discard mode and prints the hottest symbols.
#
# Method: doris-emu runs under `perf record -e cpu-clock -g` from its start
# (`perf record -p` misses libmicrohttpd's per-connection threads), one
# Stream Load of ROWS rows (default 3000000) is sent with curl, then
# doris-emu is stopped and `perf report` prints the top of the profile.
# With --callgrind instead, valgrind counts instructions (repeatable on a
# busy machine) for a smaller load.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${P2D_BUILD_DIR:-$root/build}
mode=perf
[ "${1:-}" = "--callgrind" ] && { mode=callgrind; shift; }
rows=${1:-3000000}
[ "$mode" = callgrind ] && rows=${1:-200000}
out=$root/perf/out
mkdir -p "$out"
. "$root/tests/harness/lib.sh"
h_init

"$build/bench/gen_lineitem" "$rows" >"$H_TMP/li.tsv"
log=$H_TMP/emu.log
case $mode in
perf)
    perf record -e cpu-clock -F 4000 -g -o "$out/emu.perf.data" -- \
        "$build/doris-emu" --fe-port 0 --be-port 0 --discard --quiet >"$log" 2>&1 &
    ;;
callgrind)
    valgrind --tool=callgrind --callgrind-out-file="$out/emu.callgrind" \
        "$build/doris-emu" --fe-port 0 --be-port 0 --discard --quiet >"$log" 2>&1 &
    ;;
esac
pid=$!
for _ in $(seq 300); do grep -q "doris-emu ready" "$log" && break; sleep 0.1; done
fe=$(sed -nE 's/.*doris-emu ready fe_port=([0-9]+).*/\1/p' "$log")
[ -n "$fe" ] || { echo "profile-emu: doris-emu did not start" >&2; cat "$log" >&2; exit 1; }
sql() { curl -sS -u root: -d "$(jq -cn --arg s "$2" '{stmt:$s}')" "http://127.0.0.1:$fe/api/query/default_cluster/$1" >/dev/null; }
sql information_schema "CREATE DATABASE bench"
sql bench "CREATE TABLE lineitem (l_orderkey BIGINT NOT NULL, l_linenumber INT NOT NULL,
  l_partkey INT NOT NULL, l_suppkey INT NOT NULL, l_quantity DECIMAL(15,2), l_extendedprice DECIMAL(15,2),
  l_discount DECIMAL(15,2), l_tax DECIMAL(15,2), l_returnflag CHAR(1), l_linestatus CHAR(1),
  l_shipdate DATE, l_commitdate DATE, l_receiptdate DATE, l_shipinstruct VARCHAR(25),
  l_shipmode VARCHAR(10), l_comment VARCHAR(44)) UNIQUE KEY(l_orderkey, l_linenumber)
  DISTRIBUTED BY HASH(l_orderkey) BUCKETS 8"
cols=l_orderkey,l_partkey,l_suppkey,l_linenumber,l_quantity,l_extendedprice,l_discount,l_tax,l_returnflag,l_linestatus,l_shipdate,l_commitdate,l_receiptdate,l_shipinstruct,l_shipmode,l_comment
curl -sS --location-trusted -u root: -H 'Expect: 100-continue' -H "columns: $cols" \
    -T "$H_TMP/li.tsv" "http://127.0.0.1:$fe/api/bench/lineitem/_stream_load" | jq -c '{Status, NumberLoadedRows, LoadTimeMs}'
kill -TERM "$pid"
wait "$pid" || true
case $mode in
perf) perf report -i "$out/emu.perf.data" --no-children --stdio --sort symbol 2>/dev/null |
    awk '/^ +[0-9.]+%/ && n++ < 20' ;;
callgrind) callgrind_annotate "$out/emu.callgrind" >"$out/emu.callgrind.txt" 2>/dev/null
    sed -n '1,30p' "$out/emu.callgrind.txt" ;;
esac
echo "profile kept in $out"
