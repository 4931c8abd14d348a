# bench/scenarios/emu.sh - `bench/run emu`: doris-emu itself (sourced by
# bench/run). --discard CSV ingest (MB/s of wall and per CPU second of
# doris-emu, pinned to one core) and rows/s stored into a Unique Key table.
# Later benchmarks measure the engine, so the stand-in must be much faster
# than what it measures.

# shellcheck shell=bash

emu_lineitem_ddl='CREATE TABLE lineitem (
  l_orderkey BIGINT NOT NULL, l_linenumber INT NOT NULL, l_partkey INT NOT NULL,
  l_suppkey INT NOT NULL, l_quantity DECIMAL(15,2), l_extendedprice DECIMAL(15,2),
  l_discount DECIMAL(15,2), l_tax DECIMAL(15,2), l_returnflag CHAR(1), l_linestatus CHAR(1),
  l_shipdate DATE, l_commitdate DATE, l_receiptdate DATE, l_shipinstruct VARCHAR(25),
  l_shipmode VARCHAR(10), l_comment VARCHAR(44))
UNIQUE KEY(l_orderkey, l_linenumber) DISTRIBUTED BY HASH(l_orderkey) BUCKETS 8
PROPERTIES ("replication_num" = "1")'
emu_lineitem_cols='l_orderkey,l_partkey,l_suppkey,l_linenumber,l_quantity,l_extendedprice,l_discount,l_tax,l_returnflag,l_linestatus,l_shipdate,l_commitdate,l_receiptdate,l_shipinstruct,l_shipmode,l_comment'

# emu_stream_load FILE LABEL -> prints the answer; curl runs on CPU 1, straight to the BE
emu_stream_load() {
    taskset -c 1 curl -sS --location-trusted -u root: -H 'Expect: 100-continue' \
        -H "label: $2" -H "columns: $emu_lineitem_cols" -T "$1" \
        "http://127.0.0.1:$EMU_FE_PORT/api/bench/lineitem/_stream_load"
}

scenario_emu() {
    local rows=${opt_rows:-8000000} store_rows=${opt_store_rows:-2000000} repeat=${opt_repeat:-3}
    bench_init
    local file="$H_TMP/lineitem.tsv" small="$H_TMP/lineitem-small.tsv"
    bench_machine_text
    echo "generating $rows lineitem rows..."
    "$P2D_BUILD_DIR/bench/gen_lineitem" "$rows" >"$file"
    "$P2D_BUILD_DIR/bench/gen_lineitem" "$store_rows" >"$small"
    local bytes
    bytes=$(stat -c %s "$file")

    # 1. --discard: parse and validate every row, store nothing.
    local E_PID E_FE
    bench_emu_start E --discard --data :memory: --quiet
    taskset -pc 0 "$E_PID" >/dev/null
    bench_fe_sql "$E_FE" information_schema "CREATE DATABASE bench"
    bench_fe_sql "$E_FE" bench "$emu_lineitem_ddl"
    local wall_rates=() cpu_rates=() i
    for i in $(seq "$repeat"); do
        local c0 c1 t0 t1 ans
        c0=$(bench_cpu_of "$E_PID"); t0=$(date +%s.%N)
        ans=$(emu_stream_load "$file" "discard-$i")
        t1=$(date +%s.%N); c1=$(bench_cpu_of "$E_PID")
        [ "$(jq -r .Status <<<"$ans")" = Success ] || { echo "bench: load failed: $ans" >&2; exit 1; }
        [ "$(jq -r .NumberLoadedRows <<<"$ans")" = "$rows" ] || { echo "bench: row count: $ans" >&2; exit 1; }
        wall_rates+=("$(awk -v b="$bytes" -v a="$t0" -v z="$t1" 'BEGIN {printf "%.1f", b / 1048576 / (z - a)}')")
        cpu_rates+=("$(awk -v b="$bytes" -v a="$c0" -v z="$c1" 'BEGIN {printf "%.1f", b / 1048576 / (z - a)}')")
    done
    bench_emu_stop "$E_PID"

    # 2. stored: rows/s into a Unique Key table in SQLite.
    bench_emu_start E --data "$H_TMP/bench-store.sqlite" --quiet
    taskset -pc 0 "$E_PID" >/dev/null
    bench_fe_sql "$E_FE" information_schema "CREATE DATABASE bench"
    bench_fe_sql "$E_FE" bench "$emu_lineitem_ddl"
    local store_rates=()
    for i in $(seq "$repeat"); do
        local t0 t1 ans
        t0=$(date +%s.%N)
        ans=$(emu_stream_load "$small" "store-$i")
        t1=$(date +%s.%N)
        [ "$(jq -r .Status <<<"$ans")" = Success ] || { echo "bench: load failed: $ans" >&2; exit 1; }
        store_rates+=("$(awk -v r="$store_rows" -v a="$t0" -v z="$t1" 'BEGIN {printf "%.0f", r / (z - a)}')")
    done
    bench_emu_stop "$E_PID"

    local wall_best wall_med cpu_best cpu_med st_best st_med
    wall_best=$(printf '%s\n' "${wall_rates[@]}" | best); wall_med=$(printf '%s\n' "${wall_rates[@]}" | median)
    cpu_best=$(printf '%s\n' "${cpu_rates[@]}" | best); cpu_med=$(printf '%s\n' "${cpu_rates[@]}" | median)
    st_best=$(printf '%s\n' "${store_rates[@]}" | best); st_med=$(printf '%s\n' "${store_rates[@]}" | median)
    echo
    {
        printf '%s\t%s\t%s\t%s\n' "doris-emu ($repeat runs each)" best median target
        printf '%s\t%s\t%s\t%s\n' "discard CSV ingest, MB/s wall ($((bytes / 1048576)) MB)" "$wall_best" "$wall_med" ""
        printf '%s\t%s\t%s\t%s\n' "discard CSV ingest, MB per emu CPU second" "$cpu_best" "$cpu_med" ">= 600"
        printf '%s\t%s\t%s\t%s\n' "stored Unique upsert, rows/s ($store_rows rows)" "$st_best" "$st_med" ">= 200000"
    } | bench_fmt_table
    if [ -n "$opt_json" ]; then
        jq -n --argjson machine "$(bench_machine_json)" --arg command "$bench_command" \
            --argjson bytes "$bytes" --argjson rows "$rows" \
            --argjson wb "$wall_best" --argjson wm "$wall_med" --argjson cb "$cpu_best" --argjson cm "$cpu_med" \
            --argjson sb "$st_best" --argjson sm "$st_med" --argjson sr "$store_rows" \
            '{scenario:"emu", command:$command, machine:$machine, discard:{bytes:$bytes, rows:$rows,
              mb_s_wall_best:$wb, mb_s_wall_median:$wm, mb_per_cpu_s_best:$cb, mb_per_cpu_s_median:$cm},
              stored:{rows:$sr, rows_s_best:$sb, rows_s_median:$sm}}' >"$opt_json"
        echo "wrote $opt_json"
    fi
}
