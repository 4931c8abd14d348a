# bench/scenarios/backlog.sh - `bench/run backlog`: CDC backlog catch-up,
# beside pg_recvlogical reading the same backlog, interleaved per repetition
# (sourced by bench/run).
#
# Per backlog size (--rows N changes, default 200000; --scales A,B runs at
# A x N and B x N): a fresh PostgreSQL database gets the pgbench-like tables
# of bench/lib/cdc.sh (accounts 100000 rows, history 100000 rows); a fresh
# doris-emu storing rows (SQLite in memory: the destination is checked at
# the end, and storing is fast enough: see README) receives the full load of
# `pg2doris sync` (default mode, so schema, full load, then streaming), which
# is stopped with SIGTERM once it streams (it flushes, acknowledges and exits
# 0). Then each repetition:
#   1. copies the engine's slot (pg_copy_logical_replication_slot) to
#      p2d_bench_recv: the baseline starts from exactly the engine's
#      confirmed position;
#   2. generates the backlog with pgbench while nothing streams (2 clients or
#      one per core, about N / 1.9 transactions of the cdc.sh mix), counts
#      the changes (pg_stat_user_tables) and takes END =
#      pg_current_wal_insert_lsn();
#   3. runs, first one first at odd repetitions and the other first at even
#      ones:
#        recvlogical  pg_recvlogical --start on p2d_bench_recv (pgoutput,
#                     proto_version 3, the engine's publication) --endpos END
#                     -f /dev/null: WAL decode and transfer alone
#        engine       `pg2doris sync` restarted on the same --state, until the
#                     slot's confirmed_flush_lsn reaches END (one session
#                     polls pg_replication_slots every 10 ms), then SIGTERM
#   4. drops p2d_bench_recv.
# Both walls run from process start. changes/s = changes / wall; the ratio
# is engine changes/s / pg_recvlogical changes/s (= recvlogical wall /
# engine wall) of the same repetition, median over repetitions; issue 4's
# target is >= 0.80. Engine CPU and peak RSS are read from /proc when it has
# caught up (start to caught up); PostgreSQL and doris-emu CPU over the run.
# Checks: the engine's own change count (stop summary) equals the changes
# counted in PostgreSQL at every repetition, and after the last repetition
# `pg2doris verify --full` compares every row.

# shellcheck shell=bash

BACKLOG_KINDS=(recvlogical engine)

backlog_label() { # backlog_label KIND
    case $1 in
    recvlogical) echo "pg_recvlogical (pgoutput) to /dev/null" ;;
    engine) echo "pg2doris sync, restarted (engine)" ;;
    esac
}

scenario_backlog() {
    local base=${opt_rows:-200000} scales=() sc
    [ -z "$opt_scale" ] || [ -z "$opt_scales" ] || { echo "bench/run: give --scale or --scales, not both" >&2; exit 2; }
    IFS=, read -r -a scales <<<"${opt_scales:-${opt_scale:-1}}"
    for sc in "${scales[@]}"; do
        awk -v s="$sc" 'BEGIN {exit !(s ~ /^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/ && s + 0 > 0)}' ||
            { echo "bench/run: bad scale factor \"$sc\"" >&2; exit 2; }
    done
    local repeat=${opt_repeat:-3} bt=${opt_batch_timeout:-1000}
    local clients=$(($(nproc) < 2 ? 2 : $(nproc)))

    bench_init
    bench_machine_text
    echo "command: $bench_command"
    bench_pg_start
    cdc_scripts "$H_TMP"
    : >"$H_TMP/meta.jsonl"
    : >"$H_TMP/runs.jsonl"
    local n=0
    BACKLOG_MISMATCH=0
    for sc in "${scales[@]}"; do
        n=$((n + 1))
        backlog_case "$(awk -v s="$sc" 'BEGIN {printf "%.10g", s}')" "$base" "$n" "$repeat" "$bt" "$clients"
    done

    backlog_result "$repeat" "$bt" "$clients" >"$H_TMP/result.json"
    echo
    echo "==== results"
    bench_machine_text
    echo "command: $bench_command"
    backlog_print_summary "$H_TMP/result.json"
    if [ -n "$opt_json" ]; then
        cp "$H_TMP/result.json" "$opt_json"
        echo "wrote $opt_json"
    fi
    mkdir -p "$here/results"
    cp "$H_TMP/result.json" "$here/results/backlog-$(date -u +%Y%m%dT%H%M%SZ).json"
    if [ "$BACKLOG_MISMATCH" != 0 ]; then
        echo "bench: the destination does not match the source (verify --full above)" >&2
        exit 1
    fi
}

# backlog_case SCALE BASE N REPEAT BATCH_TIMEOUT_MS CLIENTS
backlog_case() {
    local sc=$1 base=$2 n=$3 repeat=$4 bt=$5 clients=$6
    local want dir="$H_TMP/case$n" db="backlog_$n" txns t0 t1 setup_s
    want=$(awk -v b="$base" -v s="$sc" 'BEGIN {r = int(b * s + 0.5); print (r < 1 ? 1 : r)}')
    txns=$(awk -v w="$want" -v c="$clients" 'BEGIN {t = int(w / 1.9 / c + 0.999); print (t < 1 ? 1 : t)}')
    mkdir -p "$dir"
    echo
    echo "==== backlog of about $want changes (scale $sc): $clients pgbench clients x $txns transactions" \
        "of the accounts/history mix; --batch-timeout-ms $bt"
    bench_pg_db "$db"
    cdc_create_tables

    local E_PID E_FE
    bench_emu_start E --data :memory: --quiet
    local dest="http://root@127.0.0.1:$E_FE/$db" state="$dir/state"
    # shellcheck disable=SC2206
    local eflags=(--batch-timeout-ms "$bt" --metrics-addr 127.0.0.1:0 $opt_engine_args)

    # Setup: full load, then the engine streams; stop it there.
    local ENG slot
    t0=$(date +%s.%N)
    cdc_engine_start ENG "$dest" "$state" "$dir/setup.log" "${eflags[@]}" || exit 1
    slot=$CDC_SLOT
    bench_bg_stop "$ENG" TERM || {
        echo "bench: pg2doris sync did not exit 0 on SIGTERM; last lines:" >&2
        grep -v ' debug ' "$dir/setup.log" | tail -n 20 >&2
        exit 1
    }
    t1=$(date +%s.%N)
    setup_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
    echo "setup: full load of $((2 * CDC_ACCOUNTS)) rows and stop in ${setup_s} s; slot $slot, publication $slot;" \
        "doris-emu stores rows (SQLite in memory)"

    # The engine's run: restart, wait for the slot to confirm END, SIGTERM.
    # Writes "CAUGHT_S CPU_S HWM_KIB" (engine, from start to caught up) to OUT/caught.
    cat >"$dir/engine.sh" <<SH
end=\$1 out=\$2 timeout=\$3
t0=\$(date +%s.%N)
"$P2D_BUILD_DIR/pg2doris" sync --source "$P2D_PG_CONNINFO" --dest "$dest" --state "$state" ${eflags[*]} >"\$out/log" 2>&1 &
eng=\$!
PGOPTIONS="-c statement_timeout=\${timeout}s" "$H_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -c "DO \\\$\\\$BEGIN
    WHILE NOT EXISTS (SELECT 1 FROM pg_replication_slots
                      WHERE slot_name = '$slot' AND confirmed_flush_lsn >= '\$end') LOOP
        PERFORM pg_sleep(0.01);
    END LOOP;
END\\\$\\\$" >"\$out/wait.log" 2>&1 &
w=\$!
rc=0
wait -n -p first \$eng \$w || rc=\$?
if [ "\$first" = "\$eng" ]; then
    kill \$w 2>/dev/null
    echo "bench: pg2doris sync exited (status \$rc) before the slot confirmed \$end" >&2
    exit 3
fi
t1=\$(date +%s.%N)
if [ \$rc != 0 ]; then
    echo "bench: the slot did not confirm \$end within \$timeout s (\$(cat "\$out/wait.log"))" >&2
    "$H_PGBIN/psql" -X -At -c "SELECT slot_name, confirmed_flush_lsn, pg_current_wal_lsn() FROM pg_replication_slots" >&2
    kill -TERM \$eng; wait \$eng
    exit 4
fi
cpu=\$(sed 's/^.*) //' /proc/\$eng/stat | awk -v hz=\$(getconf CLK_TCK) '{printf "%.2f", (\$12 + \$13) / hz}')
hwm=\$(awk '/^VmHWM:/ {print \$2}' /proc/\$eng/status)
kill -TERM \$eng
rc=0
wait \$eng || rc=\$?
awk -v a="\$t0" -v b="\$t1" -v c="\$cpu" -v h="\$hwm" 'BEGIN {printf "%.3f %s %s\n", b - a, c, h}' >"\$out/caught"
exit \$rc
SH

    local rep j kind changes c0 end wal rc out timeout
    for rep in $(seq "$repeat"); do
        h_psql -c "SELECT pg_drop_replication_slot('p2d_bench_recv') FROM pg_replication_slots WHERE slot_name = 'p2d_bench_recv'" >/dev/null
        h_psql -c "SELECT pg_copy_logical_replication_slot('$slot', 'p2d_bench_recv')" >/dev/null
        printf 'repetition %d/%d: %-50s' "$rep" "$repeat" "generating the backlog (pgbench)..."
        c0=$(cdc_changes)
        t0=$(date +%s.%N)
        cdc_pgbench "$H_TMP" "$dir/pgbench-$rep.out" -c "$clients" -j "$clients" -t "$txns" --random-seed="$rep" || exit 1
        t1=$(date +%s.%N)
        end=$(cdc_lsn)
        changes=$(($(cdc_changes) - c0))
        wal=$(h_psql -At -c "SELECT pg_wal_lsn_diff('$end', confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = '$slot'")
        awk -v a="$t0" -v b="$t1" -v c="$changes" -v w="$wal" 'BEGIN {printf "%8.2f s: %d changes, %.1f MB of WAL\n", b - a, c, w / 1e6}'
        timeout=$((600 + changes / 500))
        for j in 0 1; do
            kind=${BACKLOG_KINDS[$(((j + rep - 1) % 2))]}
            printf 'repetition %d/%d: %-50s' "$rep" "$repeat" "$(backlog_label "$kind")..."
            out="$dir/out-$kind-$rep"
            mkdir -p "$out"
            rc=0
            case $kind in
            recvlogical)
                bench_measure recvlogical "$CDC_RECVLOGICAL" -d "$P2D_PG_CONNINFO" -S p2d_bench_recv --start \
                    -o proto_version=3 -o publication_names="$slot" --endpos "$end" --no-loop -f /dev/null \
                    >"$out/log" 2>&1 || rc=$?
                ;;
            engine)
                bench_measure --emu "$E_PID" engine bash "$dir/engine.sh" "$end" "$out" "$timeout" \
                    >"$out/wrapper.log" 2>&1 || rc=$?
                ;;
            esac
            if [ "$rc" != 0 ]; then
                echo "failed"
                echo "bench: $kind run failed (exit $rc); last lines of its output:" >&2
                cat "$out/wrapper.log" 2>/dev/null >&2
                grep -v ' debug ' "$out/log" | tail -n 25 >&2
                exit 1
            fi
            local wall cpu rss loads="" rows="" seen=""
            if [ "$kind" = engine ]; then
                read -r wall cpu rss <"$out/caught"
                read -r seen loads rows < <(cdc_engine_summary "$out/log") || true
                local tc
                tc=$(cdc_engine_table_changes "$out/log")
                if [ "$seen" != "$changes" ] || [ "$tc" != "$changes" ]; then
                    echo "failed"
                    echo "bench: the engine counted $seen changes ($tc in its per-table summary)," \
                        "PostgreSQL $changes; last lines of its log:" >&2
                    grep -v ' debug ' "$out/log" | tail -n 12 >&2
                    exit 1
                fi
            else
                wall=$M_WALL cpu=$M_CPU rss=$M_RSS_KIB
            fi
            printf '%8.2f s  %9.0f changes/s\n' "$wall" "$(awk -v c="$changes" -v w="$wall" 'BEGIN {print c / w}')"
            jq -cn --argjson sc "$sc" --arg kind "$kind" --argjson rep "$rep" --argjson changes "$changes" \
                --argjson wal "$wal" --argjson wall "$wall" --argjson cpu "$cpu" --argjson rss "$rss" \
                --argjson pg "$M_PG_CPU" --argjson emu "${M_EMU_CPU:-null}" --argjson run_wall "$M_WALL" \
                --argjson loads "${loads:-null}" --argjson rows "${rows:-null}" \
                '{scale:$sc, kind:$kind, rep:$rep, changes:$changes, wal_bytes:$wal, wall_s:$wall, cpu_s:$cpu,
                  peak_rss_kib:$rss, pg_cpu_s:$pg, emu_cpu_s:$emu, run_wall_s:$run_wall,
                  loads:$loads, rows_loaded:$rows}' >>"$H_TMP/runs.jsonl"
        done
        h_psql -c "SELECT pg_drop_replication_slot('p2d_bench_recv')" >/dev/null
    done

    # Correctness, once per case after the last repetition (the engine has
    # stopped with everything confirmed).
    local verify=match
    printf '%-70s' "pg2doris verify --full (every row of both tables)..."
    if "$P2D_BUILD_DIR/pg2doris" verify --source "$P2D_PG_CONNINFO" --dest "$dest" --full \
        --state "$dir/verify-state" >"$dir/verify.out" 2>&1; then
        echo "match"
    else
        verify=mismatch
        echo "MISMATCH"
        BACKLOG_MISMATCH=1
        tail -n 20 "$dir/verify.out" >&2
    fi
    local accounts history
    accounts=$(h_psql -At -c "SELECT count(*) FROM accounts")
    history=$(h_psql -At -c "SELECT count(*) FROM history")
    jq -cn --argjson sc "$sc" --argjson want "$want" --argjson clients "$clients" --argjson txns "$txns" \
        --argjson setup "$setup_s" --arg verify "$verify" --argjson acc "$accounts" --argjson his "$history" \
        --arg le "$(backlog_label engine)" --arg lr "$(backlog_label recvlogical)" \
        '{scale:$sc, changes_asked:$want, pgbench_clients:$clients, transactions_per_client:$txns,
          setup_s:$setup, verify:$verify, rows_at_end:{accounts:$acc, history:$his},
          labels:{engine:$le, recvlogical:$lr}}' >>"$H_TMP/meta.jsonl"

    "$P2D_BUILD_DIR/pg2doris" drop --source "$P2D_PG_CONNINFO" --state "$state" >"$dir/drop.out" 2>&1 ||
        { echo "bench: pg2doris drop failed:" >&2; tail -n 5 "$dir/drop.out" >&2; exit 1; }
    bench_emu_stop "$E_PID"
    bench_pg_db_drop "$db"
    [ -n "${H_KEEP:-}" ] || rm -rf "$dir"

    backlog_result "$repeat" "$bt" "$clients" >"$H_TMP/result.json"
    echo
    backlog_print_case "$H_TMP/result.json" "$sc"
    [ "$verify" = match ] || BACKLOG_MISMATCH=1
}

# backlog_result REPEAT BATCH_TIMEOUT_MS CLIENTS: the result JSON so far.
backlog_result() {
    jq -n --slurpfile meta "$H_TMP/meta.jsonl" --slurpfile runs "$H_TMP/runs.jsonl" \
        --argjson machine "$(bench_machine_json)" --arg command "$bench_command" --arg started "$bench_started" \
        --argjson repeat "$1" --argjson bt "$2" --argjson clients "$3" --arg engine_args "$opt_engine_args" \
        '{machine:$machine, command:$command, started:$started, meta:$meta, runs:$runs,
          settings:{repetitions:$repeat, batch_timeout_ms:$bt, pgbench_clients:$clients, engine_args:$engine_args,
                    destination:"doris-emu storing rows (SQLite in memory)",
                    order:"interleaved: recvlogical first at odd repetitions, engine first at even ones",
                    units:"changes = rows inserted, updated or deleted (pg_stat_user_tables); MB = 10^6 bytes; ratio = engine changes/s / pg_recvlogical changes/s, median of per-repetition ratios"}}' |
        jq -f "$here/lib/backlog.jq"
}

backlog_print_case() { # backlog_print_case RESULT SCALE
    jq -r --argjson sc "$2" "$BENCH_JQ_DEFS"'
        .cases[] | select(.scale == $sc) as $c |
        "backlog, scale \($c.scale): \($c.changes | thousands) changes (median), \($c.wal_bytes / 1e6 | f(1)) MB of WAL; medians of \($c.figures.engine.repetitions) repetition(s)",
        (["run", "wall_s", "best_s", "changes/s", "cpu_s", "pg_cpu_s", "emu_cpu_s", "peak_RSS_MiB"] | @tsv),
        (["recvlogical", "engine"][] as $k | $c.figures[$k] as $f | [$c.labels[$k], ($f.wall_s | f(2)),
            ($f.wall_s_best | f(2)), ($f.changes_per_s | f(0)), ($f.cpu_s | f(2)), ($f.pg_cpu_s | f(2)),
            ($f.emu_cpu_s | f(2)), ($f.peak_rss_kib / 1024 | f(0))] | @tsv)' "$1" | {
        IFS= read -r head
        echo "$head"
        bench_fmt_table
    }
    jq -r --argjson sc "$2" "$BENCH_JQ_DEFS"'
        .cases[] | select(.scale == $sc) |
        "engine changes/s / pg_recvlogical changes/s: \(.ratios.engine_vs_recvlogical | f(2)) (each repetition: \(.ratios.each | map(f(2)) | join(", ")); issue 4 target >= 0.80: \(if .target_met then "met" else "NOT met" end))",
        "engine: \(.engine_cpu_s_per_million | f(2)) CPU s per million changes, \(.figures.engine.loads // "-") loads of \(.figures.engine.rows_loaded // "-" | tostring) rows (median), verify --full: \(.verify)"' "$1"
    echo "(walls from process start; engine: until the slot confirmed the backlog's end, CPU and peak RSS at that point;"
    echo " cpu_s of pg_recvlogical is its own process: the decoding runs in PostgreSQL's walsender, in pg_cpu_s)"
}

backlog_print_summary() { # backlog_print_summary RESULT
    local result=$1
    echo
    echo "backlog catch-up: engine changes/s / pg_recvlogical changes/s (median of per-repetition ratios; target >= 0.80):"
    jq -r "$BENCH_JQ_DEFS"'
        (["scale", "changes", "WAL_MB", "recvlogical_ch/s", "engine_ch/s", "ratio", "target", "engine_cpu_s", "cpu_s/Mch", "peak_RSS_MiB", "verify"] | @tsv),
        (.cases[] | [(.scale | tostring), (.changes | tostring), (.wal_bytes / 1e6 | f(1)),
            (.figures.recvlogical.changes_per_s | f(0)), (.figures.engine.changes_per_s | f(0)),
            (.ratios.engine_vs_recvlogical | f(2)), (if .target_met then "met" else "NOT met" end),
            (.figures.engine.cpu_s | f(2)), (.engine_cpu_s_per_million | f(2)),
            (.figures.engine.peak_rss_kib / 1024 | f(0)), .verify] | @tsv)' "$result" | bench_fmt_table
    if [ "$(jq '.growth | length' "$result")" -gt 0 ]; then
        echo
        echo "growth with size (larger / smaller backlog; linear: wall and CPU ratios = size ratio, per-change ratios = 1.00):"
        jq -r "$BENCH_JQ_DEFS"'
            (["scales", "size_x", "engine_wall_x", "engine_cpu_x", "wall/change_x", "cpu/change_x", "recvlogical_wall_x", "fixed_s", "marginal_s/Mch"] | @tsv),
            (.growth[] | ["\(.from_scale) -> \(.to_scale)", (.size_ratio | f(2)), (.wall_ratio.engine | f(2)),
                (.engine_cpu_ratio | f(2)), (.engine_wall_per_change_ratio | f(2)), (.engine_cpu_per_change_ratio | f(2)),
                (.wall_ratio.recvlogical | f(2)), (.engine_fixed_wall_s | f(2)), (.engine_marginal_wall_s_per_million | f(2))] | @tsv)' "$result" | bench_fmt_table
        echo "(fixed_s, marginal_s/Mch: the engine wall as a line through the two sizes, fixed + marginal x million changes)"
    fi
}
