#!/usr/bin/env bash
# demo.sh: installs what is missing, builds, and runs a real sync demo on
# this machine: a throwaway PostgreSQL 15 cluster and a doris-emu, a full
# load, then live changes, then a verification summary comparing both sides.
#
# One `pg2doris sync` does all three steps: schema sync, full load, then
# incremental sync from the WAL. While it streams, the demo writes inserts,
# updates (one changing a key, one leaving a TOAST value untouched) and
# deletes into the source, waits until the slot has confirmed everything,
# stops the sync with SIGTERM (it flushes, acknowledges and exits 0) and
# compares both sides.
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

echo "== pg2doris sync (schema, full load, then streaming; in the background)"
"$root/build/pg2doris" sync --source "$P2D_PG_CONNINFO" --dest "http://root@127.0.0.1:$EMU_FE_PORT/demo" \
    --state "$H_TMP/state" --include 'shop.*' --batch-timeout-ms 1000 >"$H_TMP/sync.log" 2>&1 &
sync_pid=$!
for _ in $(seq 1 600); do
    grep -q "streaming slot" "$H_TMP/sync.log" && break
    kill -0 $sync_pid 2>/dev/null || { cat "$H_TMP/sync.log"; echo "demo: sync failed" >&2; exit 1; }
    sleep 0.1
done
grep -v " debug " "$H_TMP/sync.log" | sed 's/^/   | /'
echo "   doris tables: $(sql demo "SHOW TABLES" | jq -r '[.data.data[][0]] | join(", ")')"

echo "== live changes in the source while the sync streams"
h_psql <<'SQL'
INSERT INTO shop.orders SELECT g, 1 + g % 20000, 9.99, 'new', 'late order ' || g,
       timestamp '2024-06-01' + g * interval '1 second' FROM generate_series(200001, 201000) g;
UPDATE shop.orders SET status = 'refunded', amount = amount + 1 WHERE id % 400 = 1;
DELETE FROM shop.orders WHERE id % 1000 = 2;
UPDATE shop.customers SET id = 30001 WHERE id = 7;            -- a key change
UPDATE shop.customers SET email = (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g)
 WHERE id = 8;                                                -- a TOASTed (out of line) value
UPDATE shop.customers SET name = 'renamed' WHERE id = 8;      -- TOAST value unchanged in WAL
BEGIN;
DELETE FROM shop.orders WHERE id = 5;
INSERT INTO shop.orders VALUES (5, 1, 1.00, 'again', NULL, now());
COMMIT;
SQL
target=$(h_psql -At -c "SELECT pg_current_wal_insert_lsn()")
echo "   1000 inserts, 500 updates, 200 deletes, a key change, a TOAST update; waiting for $target"
for _ in $(seq 1 600); do
    caught=$(h_psql -At -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'p2d_%' AND confirmed_flush_lsn >= '$target'")
    [ "$caught" = 1 ] && break
    sleep 0.1
done
[ "$caught" = 1 ] || { cat "$H_TMP/sync.log"; echo "demo: the sync did not catch up" >&2; exit 1; }
echo "   the slot confirmed $target: every change is in Doris"
kill -TERM $sync_pid
sync_rc=0
wait $sync_pid || sync_rc=$?
grep -E "cdc: (stopp|streaming:|table|public|shop)" "$H_TMP/sync.log" | sed 's/^/   | /' | tail -8
[ $sync_rc = 0 ] || { echo "demo: sync exited $sync_rc" >&2; exit $sync_rc; }

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
