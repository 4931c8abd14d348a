# bench/scenarios/latency.sh - `bench/run latency`: CDC latency under a
# steady write load, from source commit to visible in the destination,
# measured by reading the destination (sourced by bench/run).
#
# A fresh PostgreSQL database gets the pgbench-like tables of
# bench/lib/cdc.sh and a doris-emu storing rows (SQLite in memory: latency is
# read from the destination). `pg2doris sync --batch-timeout-ms B` (default
# 1000) does the full load and streams. Then, for --seconds S (default 60):
#   load     pgbench -R RATE (default 200 transactions/s in total, 2 clients
#            or one per core) of the cdc.sh mix, with synchronous_commit=on
#            in its sessions (the throwaway cluster runs with it off, which
#            lets a commit wait up to wal_writer_delay, 200 ms, before the
#            walsender may send it); every `update` transaction
#            (80%) is a probe: its history row carries src_us, the
#            transaction's clock_timestamp() in microseconds, taken by its
#            last statement before COMMIT
#   engine   bench/tools/cdc_latency polls doris-emu's SQL over HTTP every
#            --poll-ms (default 50) for history rows above the highest id
#            seen without a gap, and notes when each probe is first seen;
#            latency = the poll's answer time - src_us (an upper bound: the
#            row became visible between the poll before and this answer)
#   floor    in the same run, at the same time, pg_recvlogical on a
#            test_decoding slot of its own, created just before the load,
#            piped into cdc_latency stamp: when each probe's change reaches
#            a logical decoding client (the WAL decode floor, no batching)
#   sampled  every second: the engine's RSS and its own
#            pg2doris_cdc_lag_seconds / _lag_bytes (from --metrics-addr)
# After the load: wait until the engine's slot confirms the last LSN and the
# poller has seen every probe (or a timeout), stop everything (the engine
# with SIGTERM: it must exit 0), then `pg2doris verify --full`.
# Prints count, p50 / p95 / p99 / max / mean per probe, the target (issue 4:
# p99 <= 1500 ms at --batch-timeout-ms 1000), engine CPU over the load
# (seconds and % of one core), RSS, PostgreSQL and doris-emu CPU; writes
# bench/results/latency-TIMESTAMP.{json,tsv,png} (the PNG: histogram and
# CDF of the engine's latencies, with the floor's CDF).

# shellcheck shell=bash

scenario_latency() {
    local rate=${opt_rate:-200} seconds=${opt_seconds:-60} bt=${opt_batch_timeout:-1000} poll=${opt_poll_ms:-50}
    local clients=$(($(nproc) < 2 ? 2 : $(nproc))) tool="$P2D_BUILD_DIR/bench/cdc_latency"
    [ -x "$tool" ] || { echo "bench/run: missing $tool: build first (tools/build.sh)" >&2; exit 2; }
    local ts out
    ts=$(date -u +%Y%m%dT%H%M%SZ)
    mkdir -p "$here/results"
    out="$here/results/latency-$ts"

    bench_init
    bench_machine_text
    echo "command: $bench_command"
    bench_pg_start
    cdc_scripts "$H_TMP"
    bench_pg_db latency
    cdc_create_tables
    local E_PID E_FE
    bench_emu_start E --data :memory: --quiet
    local dest="http://root@127.0.0.1:$E_FE/latency" dir="$H_TMP"

    # The engine: full load, then streaming.
    local ENG slot mport
    # shellcheck disable=SC2086
    cdc_engine_start ENG "$dest" "$dir/state" "$dir/engine.log" --batch-timeout-ms "$bt" \
        --metrics-addr 127.0.0.1:0 $opt_engine_args || exit 1
    slot=$CDC_SLOT
    mport=$(grep -m1 -oE 'metrics on http://[^ ]+ \(port [0-9]+\)' "$dir/engine.log" | grep -oE '[0-9]+\)$' | tr -d ')')
    echo "engine streaming (slot $slot, --batch-timeout-ms $bt, metrics on port ${mport:-?});" \
        "doris-emu stores rows (SQLite in memory)"

    # The floor: a test_decoding slot of its own, read at the same time.
    h_psql -c "SELECT pg_create_logical_replication_slot('p2d_bench_floor', 'test_decoding')" >/dev/null
    local FLOOR POLL MON
    bench_bg FLOOR bash -c "'$CDC_RECVLOGICAL' -d '$P2D_PG_CONNINFO' -S p2d_bench_floor --start \
        -o include-xids=0 -o skip-empty-xacts=1 -f - 2>'$dir/floor.err' |
        '$tool' stamp 'table public.history: INSERT:' hid src_us >'$dir/floor.tsv' 2>>'$dir/floor.err'"

    # The poller, from the highest id the full load brought.
    local after
    after=$(h_psql -At -c "SELECT max(hid) FROM history")
    bench_bg POLL "$tool" poll "http://127.0.0.1:$E_FE/api/query/default_cluster/latency" history hid src_us \
        "$after" "$poll" >"$dir/seen.tsv" 2>"$dir/poll.err"

    # Every second: engine RSS (KiB) and its own lag metrics.
    cat >"$dir/monitor.sh" <<SH
while kill -0 $ENG 2>/dev/null; do
    rss=\$(awk '/^VmRSS:/ {print \$2}' /proc/$ENG/status 2>/dev/null)
    m=\$(curl -s --max-time 1 "http://127.0.0.1:${mport:-0}/metrics" 2>/dev/null |
        awk '\$1 == "pg2doris_cdc_lag_seconds" {s = \$2} \$1 == "pg2doris_cdc_lag_bytes" {b = \$2} END {print (s == "" ? "-" : s), (b == "" ? "-" : b)}')
    echo "\$(date +%s.%N) \${rss:-0} \$m"
    sleep 1
done
SH
    bench_bg MON bash "$dir/monitor.sh" >"$dir/monitor.txt"

    # The load.
    local t0 t1 c0 p0 m0 changes0
    changes0=$(cdc_changes)
    printf '%-70s' "load: pgbench -R $rate -T $seconds, $clients clients..."
    c0=$(bench_cpu_of "$ENG"); p0=$(bench_pg_cpu); m0=$(bench_cpu_of "$E_PID")
    t0=$(date +%s.%N)
    PGOPTIONS="-c synchronous_commit=on" cdc_pgbench "$H_TMP" "$dir/pgbench.out" -c "$clients" -j "$clients" \
        -R "$rate" -T "$seconds" --random-seed=1 || exit 1
    t1=$(date +%s.%N)
    local c1 p1 m1 end
    c1=$(bench_cpu_of "$ENG"); p1=$(bench_pg_cpu); m1=$(bench_cpu_of "$E_PID")
    end=$(cdc_lsn)
    local txns tps changes probes
    txns=$(awk -F': *' '/number of transactions actually processed/ {split($2, a, "/"); print a[1]}' "$dir/pgbench.out")
    tps=$(awk '/^tps = / {print $3}' "$dir/pgbench.out")
    changes=$(($(cdc_changes) - changes0))
    probes=$(h_psql -At -c "SELECT count(*) FROM history WHERE hid > $after")
    echo "done: $txns transactions ($tps/s), $changes changes, $probes probes"

    # Drain: the slot confirms the end, the poller sees every probe.
    local d0 drain_s seen
    d0=$(date +%s.%N)
    printf '%-70s' "waiting for the engine's slot to confirm $end..."
    if cdc_wait_confirmed "$slot" "$end" 120; then
        drain_s=$(awk -v a="$d0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
        echo "${drain_s} s"
    else
        echo "NOT within 120 s"
        echo "bench: the engine did not confirm $end; last lines of its log:" >&2
        grep -v ' debug ' "$dir/engine.log" | tail -n 20 >&2
        exit 1
    fi
    printf '%-70s' "waiting for the poller to see every probe..."
    for _ in $(seq 300); do
        seen=$(wc -l <"$dir/seen.tsv")
        [ "$seen" -lt "$probes" ] || break
        sleep 0.1
    done
    seen=$(wc -l <"$dir/seen.tsv")
    echo "$seen of $probes"
    # Floor rows: the decoding client saw them long ago; allow a moment.
    for _ in $(seq 50); do [ "$(wc -l <"$dir/floor.tsv")" -lt "$probes" ] || break; sleep 0.1; done

    local rss_max lag_max engine_hwm
    engine_hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$ENG/status")
    bench_bg_stop "$MON" || true
    bench_bg_stop "$POLL" || true
    bench_bg_stop "$FLOOR" || true
    bench_bg_stop "$ENG" TERM || {
        echo "bench: pg2doris sync did not exit 0 on SIGTERM; last lines:" >&2
        grep -v ' debug ' "$dir/engine.log" | tail -n 20 >&2
        exit 1
    }
    h_psql -c "SELECT pg_drop_replication_slot('p2d_bench_floor')" >/dev/null
    rss_max=$(awk -v a="$t0" -v b="$t1" '$1 >= a && $1 <= b && $2 > m {m = $2} END {print m + 0}' "$dir/monitor.txt")
    lag_max=$(awk -v a="$t0" -v b="$t1" '$1 >= a && $1 <= b && $3 != "-" && $3 > m {m = $3} END {print m + 0}' "$dir/monitor.txt")
    local lag_bytes_max
    lag_bytes_max=$(awk -v a="$t0" -v b="$t1" '$1 >= a && $1 <= b && $4 != "-" && $4 > m {m = $4} END {print m + 0}' "$dir/monitor.txt")

    local verify=match
    printf '%-70s' "pg2doris verify --full (every row of both tables)..."
    if "$P2D_BUILD_DIR/pg2doris" verify --source "$P2D_PG_CONNINFO" --dest "$dest" --full \
        --state "$dir/verify-state" >"$dir/verify.out" 2>&1; then
        echo "match"
    else
        verify=mismatch
        echo "MISMATCH"
        tail -n 20 "$dir/verify.out" >&2
    fi
    "$P2D_BUILD_DIR/pg2doris" drop --source "$P2D_PG_CONNINFO" --state "$dir/state" >"$dir/drop.out" 2>&1 || true

    # Latencies (ms), one a line: ID SOURCE_US ASKED_US SEEN_US -> ms.
    awk -F'\t' '{printf "%.3f\n", ($4 - $2) / 1000}' "$dir/seen.tsv" | sort -g >"$dir/engine.ms"
    awk -F'\t' '{printf "%.3f\n", ($4 - $2) / 1000}' "$dir/floor.tsv" | sort -g >"$dir/floor.ms"
    {
        printf 'id\tsource_us\tasked_us\tseen_us\tlatency_ms\n'
        awk -F'\t' -v OFS='\t' '{print $1, $2, $3, $4, sprintf("%.3f", ($4 - $2) / 1000)}' "$dir/seen.tsv"
    } >"$dir/result.tsv"

    local cpu wall pg_cpu emu_cpu
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.2f", b - a}')
    pg_cpu=$(awk -v a="$p0" -v b="$p1" 'BEGIN {printf "%.2f", b - a}')
    emu_cpu=$(awk -v a="$m0" -v b="$m1" 'BEGIN {printf "%.2f", b - a}')
    jq -n --argjson machine "$(bench_machine_json)" --arg command "$bench_command" --arg started "$bench_started" \
        --argjson rate "$rate" --argjson seconds "$seconds" --argjson bt "$bt" --argjson poll "$poll" \
        --argjson clients "$clients" --arg engine_args "$opt_engine_args" \
        --argjson txns "${txns:-0}" --argjson tps "${tps:-0}" --argjson changes "$changes" --argjson probes "$probes" \
        --argjson wall "$wall" --argjson cpu "$cpu" --argjson pg "$pg_cpu" --argjson emu "$emu_cpu" \
        --argjson rss "$rss_max" --argjson hwm "${engine_hwm:-0}" --argjson lag "$lag_max" --argjson lagb "$lag_bytes_max" \
        --argjson drain "$drain_s" --arg verify "$verify" \
        --rawfile e "$dir/engine.ms" --rawfile f "$dir/floor.ms" \
        --arg png "$out.png" --arg tsv "$out.tsv" -f "$here/lib/latency.jq" >"$dir/result.json"

    echo
    echo "==== results"
    bench_machine_text
    echo "command: $bench_command"
    latency_print "$dir/result.json"
    latency_plot "$dir/result.json" "$dir/engine.ms" "$dir/floor.ms" "$dir/result.png"
    # Into bench/results only now, so a failed run leaves no partial files there.
    cp "$dir/result.json" "$out.json"
    cp "$dir/result.tsv" "$out.tsv"
    [ ! -f "$dir/result.png" ] || cp "$dir/result.png" "$out.png"
    if [ -n "$opt_json" ]; then
        cp "$out.json" "$opt_json"
        echo "wrote $opt_json"
    fi
    echo "wrote $out.json, $out.tsv (every probe), $out.png"
    if [ "$verify" != match ]; then
        echo "bench: the destination does not match the source (verify --full above)" >&2
        exit 1
    fi
    if [ "$seen" -lt "$probes" ]; then
        echo "bench: $((probes - seen)) probe row(s) never became visible in doris-emu" >&2
        exit 1
    fi
}

latency_print() { # latency_print RESULT
    jq -r "$BENCH_JQ_DEFS"'
        "load: \(.load.transactions | thousands) transactions in \(.load.wall_s | f(1)) s (\(.load.tps | f(1))/s, asked \(.settings.rate)/s), \(.load.changes | thousands) changes, \(.load.probes | thousands) probes; --batch-timeout-ms \(.settings.batch_timeout_ms), poll every \(.settings.poll_ms) ms",
        (["latency from source commit, ms", "rows", "p50", "p95", "p99", "max", "mean"] | @tsv),
        (.latency | to_entries[] | .value as $v | [$v.label, ($v.count | tostring), ($v.p50_ms | f(0)),
            ($v.p95_ms | f(0)), ($v.p99_ms | f(0)), ($v.max_ms | f(0)), ($v.mean_ms | f(0))] | @tsv)' "$1" | {
        IFS= read -r head
        echo "$head"
        bench_fmt_table
    }
    jq -r "$BENCH_JQ_DEFS"'
        "issue 4 target: p99 <= \(.target.p99_ms) ms at --batch-timeout-ms 1000\(if .settings.batch_timeout_ms != 1000 then " (this run: \(.settings.batch_timeout_ms))" else "" end): \(.target.p99_ms_measured | f(0)) ms, \(if .target.met then "met" else "NOT met" end) (p99 / target \(.target.ratio | f(2)); engine p50 / batch timeout \(.ratios.p50_vs_batch_timeout | f(2)); engine p99 - floor p99 \(.ratios.p99_minus_floor_ms | f(0)) ms)",
        "engine over the load: CPU \(.engine.cpu_s | f(2)) s (\(.engine.cpu_pct_of_core | f(1))% of one core), RSS max \(.engine.rss_max_kib / 1024 | f(0)) MiB (peak since start \(.engine.peak_rss_kib / 1024 | f(0)) MiB); its own lag metric max \(.engine.metric_lag_max_s | f(2)) s / \(.engine.metric_lag_max_bytes | thousands) bytes",
        "meanwhile: PostgreSQL CPU \(.pg_cpu_s | f(2)) s, doris-emu CPU \(.emu_cpu_s | f(2)) s; drain after the load: \(.drain_s | f(2)) s; verify --full: \(.verify)",
        (if .latency.engine.missing > 0 then "MISSING: \(.latency.engine.missing) probe(s) never seen in doris-emu" else empty end)' "$1"
    echo "(engine: the poll answer that first showed the row, minus the row's clock_timestamp(): up to one poll interval"
    echo " plus the query time above the true latency; floor: pg_recvlogical with test_decoding, run at the same time)"
}

latency_plot() { # latency_plot RESULT ENGINE_MS FLOOR_MS PNG
    local res=$1 e=$2 f=$3 png=$4 n nf title bin xmax
    n=$(wc -l <"$e")
    nf=$(wc -l <"$f")
    [ "$n" -gt 0 ] || { echo "bench: no latencies to plot" >&2; return 0; }
    title=$(jq -r "$BENCH_JQ_DEFS"'"pg2doris sync into doris-emu: commit to visible, \(.load.tps | f(0)) TPS pgbench-like load, --batch-timeout-ms \(.settings.batch_timeout_ms), \(.machine.cores) cores\\np50 \(.latency.engine.p50_ms | f(0)) ms, p95 \(.latency.engine.p95_ms | f(0)) ms, p99 \(.latency.engine.p99_ms | f(0)) ms, max \(.latency.engine.max_ms | f(0)) ms (\(.latency.engine.count) rows); target p99 <= 1500 ms"' "$res")
    bin=$(awk -v m="$(tail -1 "$e")" 'BEGIN {b = m / 40; s = 1; while (s * 10 < b) s *= 10; print (b > 5 * s ? 5 * s : (b > 2 * s ? 2 * s : s))}')
    xmax=$(awk -v m="$(tail -1 "$e")" 'BEGIN {x = m * 1.05; print (x < 1600 ? 1600 : x)}')
    awk -v n="$n" '{print $1, NR / n}' "$e" >"$H_TMP/engine.cdf"
    awk -v n="$nf" '{print $1, NR / n}' "$f" >"$H_TMP/floor.cdf"
    gnuplot <<GP
set terminal pngcairo size 960,600 font ',10' noenhanced
set output '$png'
set title "$title"
set xlabel 'latency, ms (source clock_timestamp() to visible)'
set ylabel 'rows per bin ($bin ms)'
set y2label 'cumulative fraction'
set y2range [0:1]
set y2tics 0.1
set ytics nomirror
set yrange [0:*]
set xrange [0:$xmax]
set grid y2tics xtics
set key below height 1
set bmargin 6
set style fill solid 0.5 border -1
bin(x) = $bin * floor(x / $bin) + $bin / 2.0
set arrow from 1500, graph 0 to 1500, graph 1 nohead dt 3 lw 2 lc rgb 'red'
set label 'target p99 1500 ms' at 1500, graph 0.97 right offset -0.5,0 tc rgb 'red'
plot '$e' using (bin(\$1)):(1.0) smooth frequency with boxes lc rgb '#4477aa' title 'engine: rows per bin', \\
     '$H_TMP/engine.cdf' using 1:2 axes x1y2 with lines lw 2 lc rgb '#223355' title 'engine: CDF', \\
     '$H_TMP/floor.cdf' using 1:2 axes x1y2 with lines lw 2 dt 2 lc rgb '#aa3377' title 'pg_recvlogical (floor): CDF'
GP
}
