# bench/lib/cdc.sh - what the CDC scenarios (backlog, latency) share:
# the pgbench-like source tables and workload, the engine's streaming run,
# and counts read from PostgreSQL. Sourced by bench/run; needs
# bench/lib/common.sh (and a started PostgreSQL for most functions).
#
# Tables (narrow rows, like pgbench's):
#   accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(20)),
#            CDC_ACCOUNTS rows (100000; every size of backlog uses the same)
#   history  (hid bigserial PRIMARY KEY, aid int, delta int, mtime timestamp,
#            src_us bigint, filler char(22)), seeded with CDC_ACCOUNTS rows
#            (src_us NULL); src_us is the inserting transaction's
#            clock_timestamp() in microseconds since the epoch, the source
#            time of the latency probes
# Workload (pgbench -f, weights 8:1:1; every client works on its own slice
# of accounts, so clients never wait for each other's rows):
#   update   UPDATE accounts SET abalance = abalance + delta (one random
#            account), then INSERT a history row: 2 changes
#   churn    DELETE one account and INSERT it again in the same transaction
#            (a delete and a re-insert of one key): 2 changes
#   purge    DELETE one history row with a random hid below the largest at
#            the start (0 or 1 change: a row deleted before is not found)
# about 1.9 changes per transaction. Changes are counted exactly from
# pg_stat_user_tables (n_tup_ins + n_tup_upd + n_tup_del), not from the mix.
#
#   cdc_create_tables              creates and fills both tables in the current
#                                  database, VACUUM ANALYZE, CHECKPOINT
#   cdc_scripts DIR                writes update.sql, churn.sql, purge.sql
#   cdc_pgbench DIR OUT ARGS...    pgbench -n on the three scripts (weights
#                                  8:1:1) with -D slice, -D hmax set; ARGS add
#                                  -c/-j/-t/-R/-T/--random-seed; output in OUT
#   cdc_changes                    rows changed in both tables so far (settles
#                                  until the ended sessions' counts are in)
#   cdc_lsn                        pg_current_wal_insert_lsn()
#   cdc_engine_start VAR DEST STATE LOG [FLAGS...]
#                                  `pg2doris sync` in the background
#                                  (bench_bg), waits for "streaming slot";
#                                  VAR = pid, CDC_SLOT = the slot's name
#   cdc_wait_confirmed SLOT LSN TIMEOUT_S
#                                  waits until SLOT's confirmed_flush_lsn >= LSN
#                                  (one session, 10 ms steps); fails on timeout
#   cdc_engine_summary LOG         "CHANGES LOADS ROWS" from the engine's last
#                                  "streaming:" line (counts of that run)
#   cdc_engine_table_changes LOG   the sum of the per-table inserts, updates and
#                                  deletes of the stop summary

# shellcheck shell=bash

CDC_ACCOUNTS=100000
CDC_PGBENCH=${H_PGBIN:-/usr/lib/postgresql/15/bin}/pgbench
CDC_RECVLOGICAL=${H_PGBIN:-/usr/lib/postgresql/15/bin}/pg_recvlogical

cdc_create_tables() {
    h_psql >/dev/null <<SQL
CREATE TABLE accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(20));
INSERT INTO accounts SELECT g, 1 + (g - 1) / 10000, 0, '' FROM generate_series(1, $CDC_ACCOUNTS) g;
CREATE TABLE history (hid bigserial PRIMARY KEY, aid int NOT NULL, delta int NOT NULL,
                      mtime timestamp NOT NULL, src_us bigint, filler char(22));
INSERT INTO history (aid, delta, mtime)
    SELECT g, 0, timestamp '2024-01-01' + g * interval '1 second' FROM generate_series(1, $CDC_ACCOUNTS) g;
SQL
    h_psql -c "VACUUM ANALYZE" >/dev/null
    h_psql -c "CHECKPOINT" >/dev/null
}

cdc_scripts() {
    cat >"$1/update.sql" <<'SQL'
\set aid :client_id * :slice + random(1, :slice)
\set delta random(-5000, 5000)
BEGIN;
UPDATE accounts SET abalance = abalance + :delta WHERE aid = :aid;
INSERT INTO history (aid, delta, mtime, src_us)
    VALUES (:aid, :delta, CURRENT_TIMESTAMP, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
END;
SQL
    cat >"$1/churn.sql" <<'SQL'
\set aid :client_id * :slice + random(1, :slice)
BEGIN;
DELETE FROM accounts WHERE aid = :aid;
INSERT INTO accounts (aid, bid, abalance, filler) VALUES (:aid, :client_id + 1, 0, 'reinserted');
END;
SQL
    cat >"$1/purge.sql" <<'SQL'
\set hid random(1, :hmax)
DELETE FROM history WHERE hid = :hid;
SQL
}

# cdc_pgbench DIR OUT ARGS...: ARGS must include -c N (clients).
cdc_pgbench() {
    local dir=$1 out=$2 clients="" hmax a prev=""
    shift 2
    for a in "$@"; do
        [ "$prev" != -c ] || clients=$a
        prev=$a
    done
    hmax=$(h_psql -At -c "SELECT max(hid) FROM history")
    bench_fg "$CDC_PGBENCH" -n -h 127.0.0.1 -p "$PGPORT" -U postgres \
        -D slice=$((CDC_ACCOUNTS / ${clients:?cdc_pgbench needs -c})) -D hmax="$hmax" \
        -f "$dir/update.sql@8" -f "$dir/churn.sql@1" -f "$dir/purge.sql@1" "$@" "$PGDATABASE" >"$out" 2>&1 ||
        { echo "bench: pgbench failed; its output:" >&2; tail -n 20 "$out" >&2; return 1; }
    grep -q 'number of failed transactions: 0 ' "$out" ||
        { echo "bench: pgbench reports failed transactions:" >&2; grep -i fail "$out" >&2; return 1; }
}

cdc_changes() {
    local q="SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables
             WHERE relname IN ('accounts', 'history')" a b
    # Sessions flush their counts as they exit, a moment after pgbench has.
    a=$(h_psql -At -c "$q")
    for _ in $(seq 50); do
        sleep 0.2
        b=$(h_psql -At -c "$q")
        [ "$a" != "$b" ] || break
        a=$b
    done
    echo "$a"
}

cdc_lsn() { h_psql -At -c "SELECT pg_current_wal_insert_lsn()"; }

cdc_engine_start() {
    local var=$1 dest=$2 state=$3 log=$4 pid
    shift 4
    bench_bg pid "$P2D_BUILD_DIR/pg2doris" sync --source "$P2D_PG_CONNINFO" --dest "$dest" \
        --state "$state" "$@" >"$log" 2>&1
    printf -v "$var" '%s' "$pid"
    for _ in $(seq 6000); do
        grep -q 'streaming slot' "$log" && break
        kill -0 "$pid" 2>/dev/null || {
            echo "bench: pg2doris sync ended before streaming; last lines of its log:" >&2
            grep -v ' debug ' "$log" | tail -n 20 >&2
            return 1
        }
        sleep 0.1
    done
    grep -q 'streaming slot' "$log" || { echo "bench: pg2doris sync did not start streaming in 600 s" >&2; return 1; }
    CDC_SLOT=$(grep -m1 -oE 'streaming slot "[^"]+"' "$log" | cut -d'"' -f2)
}

cdc_wait_confirmed() {
    PGOPTIONS="-c statement_timeout=${3}s" h_psql -c "DO \$\$BEGIN
        WHILE NOT EXISTS (SELECT 1 FROM pg_replication_slots
                          WHERE slot_name = '$1' AND confirmed_flush_lsn >= '$2') LOOP
            PERFORM pg_sleep(0.01);
        END LOOP;
    END\$\$" >/dev/null 2>&1
}

cdc_engine_summary() {
    grep ' cdc: streaming: ' "$1" | tail -n 1 |
        sed -E 's/.* ([0-9]+) changes, ([0-9]+) loads \(([0-9]+) rows\).*/\1 \2 \3/'
}

cdc_engine_table_changes() {
    awk '/ cdc: table +inserts +updates +deletes +loads/ {s = 0; on = 1; next}
         on && / cdc: [^ ]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$/ {s += $(NF-3) + $(NF-2) + $(NF-1); next}
         on {on = 0}
         END {print s + 0}' "$1"
}
