#!/usr/bin/env bash
# perf/profile-fullload.sh [ROWS] [READERS]: profiles the engine's full load
# (`pg2doris sync --mode schema,full`) of a lineitem-shaped table (the same
# generator as bench/run full) into doris-emu --discard, and prints the
# hottest symbols.
#
# Method: a throwaway PostgreSQL + doris-emu (tests/harness/lib.sh), ROWS
# rows (default 2000000) generated in PostgreSQL, then the engine runs under
# `perf record -e cpu-clock -F 2000 -g` with READERS readers (default:
# cores). The profile is kept in perf/out/engine.perf.data; the engine's log
# in perf/out/engine.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${P2D_BUILD_DIR:-$root/build}
export P2D_BUILD_DIR=$build
rows=${1:-2000000}
readers=${2:-$(nproc)}
out=$root/perf/out
mkdir -p "$out"
. "$root/tests/harness/lib.sh"
h_init
h_pg_start
h_emu_start --discard --data :memory: --quiet

h_psql -c "CREATE TABLE lineitem (
  l_orderkey bigint NOT NULL, l_linenumber int NOT NULL, l_partkey int NOT NULL,
  l_suppkey int NOT NULL, l_quantity numeric(15,2), l_extendedprice numeric(15,2),
  l_discount numeric(15,2), l_tax numeric(15,2), l_returnflag char(1), l_linestatus char(1),
  l_shipdate date, l_commitdate date, l_receiptdate date, l_shipinstruct varchar(25),
  l_shipmode varchar(10), l_comment varchar(44), PRIMARY KEY (l_orderkey, l_linenumber));
INSERT INTO lineitem SELECT g / 4 + 1, g % 4 + 1, (g * 7919) % 200000 + 1, (g * 104729) % 10000 + 1,
  (g % 50) + 1, ((g * 31) % 10000000) / 100.0 + 900, (g % 11) / 100.0, (g % 9) / 100.0,
  (ARRAY['R','A','N'])[(g % 3 + 1)::int], (ARRAY['O','F'])[(g % 2 + 1)::int],
  date '1992-01-01' + (g % 2400)::int, date '1992-01-31' + (g % 2400)::int, date '1992-01-16' + (g % 2400)::int,
  (ARRAY['DELIVER IN PERSON','COLLECT COD','NONE','TAKE BACK RETURN'])[(g % 4 + 1)::int],
  (ARRAY['REG AIR','AIR','RAIL','SHIP','TRUCK','MAIL','FOB'])[(g % 7 + 1)::int],
  'carefully final deposits ' || left(md5(g::text), 19)
FROM generate_series(0::bigint, $rows - 1) g" >/dev/null
h_psql -c "VACUUM ANALYZE lineitem" >/dev/null

perf record -e cpu-clock -F 2000 -g -o "$out/engine.perf.data" -- \
    "$build/pg2doris" sync --source "$P2D_PG_CONNINFO" \
    --dest "http://root@127.0.0.1:$EMU_FE_PORT/bench" --mode schema,full \
    --state "$H_TMP/state" --readers "$readers" >"$out/engine.log" 2>&1 ||
    { echo "profile-fullload: pg2doris sync failed:" >&2; tail -n 20 "$out/engine.log" >&2; exit 1; }
perf report -i "$out/engine.perf.data" --no-children --stdio --sort symbol 2>/dev/null |
    awk '/^ +[0-9.]+%/ && n++ < 25'
echo "profile kept in $out (perf report -i $out/engine.perf.data --no-children --sort dso,symbol)"
