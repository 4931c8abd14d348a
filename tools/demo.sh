#!/usr/bin/env bash
# demo.sh: installs what is missing, builds, and runs a real sync demo on
# this machine: a throwaway PostgreSQL 15 cluster and a doris-emu, a full
# load, then live changes, then a verification summary comparing both sides.
#
# The schema sync and the full load are `pg2doris sync --mode schema,full`.
# The live changes are applied with psql COPY | curl Stream Loads (the same
# protocol the engine speaks) until incremental sync from the WAL ships
# (issue 4); then this demo streams them through the engine as well.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash tools/install-deps.sh
bash tools/build.sh build >/dev/null
export P2D_BUILD_DIR=$root/build
. tests/harness/lib.sh
h_init
echo "== starting PostgreSQL 15 and doris-emu"
h_pg_start
h_emu_start
echo "   postgres on 127.0.0.1:$PGPORT, doris-emu FE :$EMU_FE_PORT BE :$EMU_BE_PORT"

fe="http://127.0.0.1:$EMU_FE_PORT"
sql() { # sql DB STATEMENT -> JSON answer; fails on code != 0
    local body ans
    body=$(jq -cn --arg s "$2" '{stmt: $s}')
    ans=$(curl -sS -u root: -H 'Content-Type: application/json' -d "$body" "$fe/api/query/default_cluster/$1")
    if [ "$(jq -r .code <<<"$ans")" != 0 ]; then echo "demo: SQL failed: $2: $ans" >&2; return 1; fi
    echo "$ans"
}
load() { # load TABLE [extra curl args...] < csv
    local t=$1 ans
    shift
    ans=$(curl -sS --location-trusted -u root: -H 'Expect: 100-continue' -H 'format: csv' \
        -H 'column_separator: ,' -H 'enclose: "' -H 'escape: \' -H 'strict_mode: true' \
        -H "label: demo-$t-$(date +%s%N)" "$@" -T - "$fe/api/demo/$t/_stream_load")
    if [ "$(jq -r .Status <<<"$ans")" != Success ]; then echo "demo: load failed: $ans" >&2; return 1; fi
    echo "   $t: $(jq -r .NumberLoadedRows <<<"$ans") rows in $(jq -r .LoadTimeMs <<<"$ans") ms"
}
copy_out() { h_psql -c "COPY ($1) TO STDOUT WITH (FORMAT csv, NULL '\\N', ESCAPE '\\')"; }

echo "== source: schema shop with customers and orders"
h_psql <<'SQL'
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL, email text, created_at timestamp);
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2),
                          status varchar(16), note text, ordered_at timestamp);
INSERT INTO shop.customers SELECT g, 'customer ' || g, 'c' || g || '@example.com',
       timestamp '2024-01-01' + g * interval '1 minute' FROM generate_series(1, 20000) g;
INSERT INTO shop.orders SELECT g, 1 + g % 20000, (g % 100000) / 100.0,
       (ARRAY['new','paid','shipped'])[1 + g % 3],
       CASE WHEN g % 7 = 0 THEN NULL ELSE 'note, "quoted" ' || g END,
       timestamp '2024-01-01' + g * interval '1 second' FROM generate_series(1, 200000) g;
SQL

echo "== pg2doris sync --mode schema,full (creates database demo and its tables, loads them)"
"$root/build/pg2doris" sync --source "$P2D_PG_CONNINFO" --dest "http://root@127.0.0.1:$EMU_FE_PORT/demo" \
    --mode schema,full --state "$H_TMP/state" --include 'shop.*'
echo "   doris tables: $(sql demo "SHOW TABLES" | jq -r '[.data.data[][0]] | join(", ")')"

echo "== live changes in the source: 1000 inserts, 500 updates, 200 deletes"
# Doris deletes are full rows (NOT NULL value columns need values): keep the
# before-images of the rows about to be deleted, as a CDC stream would carry.
copy_out "SELECT * FROM shop.orders WHERE id % 1000 = 2" >"$H_TMP/deleted.csv"
h_psql <<'SQL'
INSERT INTO shop.orders SELECT g, 1 + g % 20000, 9.99, 'new', 'late order ' || g,
       timestamp '2024-06-01' + g * interval '1 second' FROM generate_series(200001, 201000) g;
UPDATE shop.orders SET status = 'refunded', amount = amount + 1 WHERE id % 400 = 1;
DELETE FROM shop.orders WHERE id % 1000 = 2;
SQL
echo "== applying the changes (upserts, then keyed deletes)"
copy_out "SELECT * FROM shop.orders WHERE id > 200000 OR id % 400 = 1" | load orders
load orders -H 'merge_type: DELETE' <"$H_TMP/deleted.csv"

echo "== verification"
status=0
printf '   %-10s %12s %12s %18s %18s  %s\n' table pg_rows doris_rows pg_sum doris_sum result
for t in customers orders; do
    case $t in
    customers) expr="sum(id)" ;;
    orders) expr="sum(amount)" ;;
    esac
    pg=$(h_psql -At -F' ' -c "SELECT count(*), $expr FROM shop.$t")
    dr=$(sql demo "SELECT count(*), $expr FROM $t" | jq -r '.data.data[0] | map(tostring) | join(" ")')
    read -r pc ps <<<"$pg"
    read -r dc ds <<<"$dr"
    ok=match
    if [ "$pc" != "$dc" ] || [ "$ps" != "$ds" ]; then ok=MISMATCH; status=6; fi
    printf '   %-10s %12s %12s %18s %18s  %s\n' "$t" "$pc" "$dc" "$ps" "$ds" "$ok"
done
echo "== pg2doris verify --full (every row, key by key, type-aware)"
"$root/build/pg2doris" verify --source "$P2D_PG_CONNINFO" --dest "http://root@127.0.0.1:$EMU_FE_PORT/demo" \
    --include 'shop.*' --full || status=$?
if [ $status = 0 ]; then echo "== demo finished: destination matches source"; else echo "== demo finished: MISMATCH"; fi
exit $status
