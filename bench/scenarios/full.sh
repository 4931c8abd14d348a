# bench/scenarios/full.sh - `bench/run full`: the full load beside its
# baselines, interleaved per repetition (sourced by bench/run).
#
# Per dataset and scale factor: a fresh PostgreSQL database is filled
# (bench/lib/datasets.sh); the baselines' work units are planned (equal-row
# key ranges, one per reader, or one per table for `many`); the COPY text of
# every unit is dumped once to a file (untimed: the sink baseline's input,
# the byte and row counts, and a cache warm-up); two doris-emu --discard are
# started, one for the engine and the naive pipeline, one fresh one for the
# sink baseline only, their tables created by `pg2doris sync --mode schema`.
# Then each repetition runs the four runs below, starting one later in the
# list at each repetition so none is always first:
#   copy    COPY to /dev/null: READERS psql sessions, each running its share
#           of the units' COPY ... TO STDOUT (the source's limit)
#   naive   psql COPY | curl -T - per unit, READERS at a time (the naive
#           pipeline), into the engine's doris-emu
#   sink    curl --parallel --parallel-max READERS -T each dumped file into
#           the sink doris-emu (doris-emu --discard alone: the sink's limit)
#   engine  pg2doris sync --mode schema,full --readers READERS into a new
#           database of the engine's doris-emu, fresh --state
# Every load's answer is checked (Status Success, rows loaded = rows).
# Ratios are engine wall / baseline wall of the same repetition, median
# over repetitions.

# shellcheck shell=bash

BENCH_KINDS=(copy naive sink engine)

full_label() { # full_label KIND READERS
    case $1 in
    copy) echo "COPY to /dev/null, $2 sessions (source)" ;;
    naive) echo "psql COPY | curl -T -, $2 at a time (naive)" ;;
    sink) echo "doris-emu --discard fed from files, $2 at a time (sink)" ;;
    engine) echo "pg2doris sync --readers $2 (engine)" ;;
    esac
}

scenario_full() {
    local datasets=() scales=() ds sc
    if [ -n "$opt_rows" ]; then
        [ -z "$opt_scale$opt_scales" ] || { echo "bench/run: --rows and --scale/--scales exclude each other" >&2; exit 2; }
        [ "${opt_dataset:-lineitem}" = lineitem ] || { echo "bench/run: --rows is for --dataset lineitem only (use --scale)" >&2; exit 2; }
        opt_scale=$(ds_scale_for_rows lineitem "$opt_rows")
    fi
    [ -z "$opt_scale" ] || [ -z "$opt_scales" ] || { echo "bench/run: give --scale or --scales, not both" >&2; exit 2; }
    IFS=, read -r -a datasets <<<"${opt_dataset:-lineitem}"
    [ "${datasets[*]}" != all ] || read -r -a datasets <<<"$BENCH_DATASETS"
    for ds in "${datasets[@]}"; do ds_check "$ds" || exit 2; done
    IFS=, read -r -a scales <<<"${opt_scales:-${opt_scale:-1}}"
    for sc in "${scales[@]}"; do
        awk -v s="$sc" 'BEGIN {exit !(s ~ /^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/ && s + 0 > 0)}' ||
            { echo "bench/run: bad scale factor \"$sc\"" >&2; exit 2; }
    done
    local repeat=${opt_repeat:-3}

    bench_init
    bench_machine_text
    echo "command: $bench_command"
    bench_pg_start
    : >"$H_TMP/meta.jsonl"
    : >"$H_TMP/runs.jsonl"
    local n=0
    for ds in "${datasets[@]}"; do
        for sc in "${scales[@]}"; do
            n=$((n + 1))
            full_case "$ds" "$(awk -v s="$sc" 'BEGIN {printf "%.10g", s}')" "$n" "$repeat"
        done
    done

    full_result "$repeat" >"$H_TMP/result.json"
    echo
    echo "==== results"
    bench_machine_text
    echo "command: $bench_command"
    full_print_summary "$H_TMP/result.json"
    if [ -n "$opt_json" ]; then
        cp "$H_TMP/result.json" "$opt_json"
        echo "wrote $opt_json"
    fi
    if [ -n "$opt_readme" ]; then
        report_render "$H_TMP/result.json" >"$opt_readme"
        echo "wrote $opt_readme (README performance section; bench/run check-readme README.md checks it)"
    fi
    mkdir -p "$here/results"
    cp "$H_TMP/result.json" "$here/results/full-$(date -u +%Y%m%dT%H%M%SZ).json"
}

# full_case DATASET SCALE N REPEAT
full_case() {
    local ds=$1 sc=$2 n=$3 repeat=$4 readers=$opt_readers
    local dir="$H_TMP/case$n" t0 t1 gen_s notes rows bytes units tables
    mkdir -p "$dir/dump"
    echo
    echo "==== $(ds_describe "$ds" "$sc") (scale $sc)"
    bench_pg_db "bench_$n"
    t0=$(date +%s.%N)
    ds_create "$ds" "$sc"
    t1=$(date +%s.%N)
    gen_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
    notes=$(ds_notes "$ds")
    echo "generated in ${gen_s} s${notes:+; $notes}"

    # Units: N <tab> TABLE <tab> PREDICATE <tab> COLUMNS (Stream Load columns header).
    h_psql -At -F$'\t' -c "SELECT c.relname, string_agg(a.attname, ',' ORDER BY a.attnum)
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace GROUP BY c.relname" >"$dir/columns.tsv"
    ds_units "$ds" "$readers" | awk -F'\t' -v OFS='\t' 'NR == FNR {cols[$1] = $2; next} {print FNR, $1, $2, cols[$1]}' \
        "$dir/columns.tsv" - >"$dir/units.tsv"
    units=$(wc -l <"$dir/units.tsv")
    tables=$(cut -f2 "$dir/units.tsv" | sort -u | wc -l)
    awk -F'\t' -v d="$dir" -v r="$readers" '{
        w = (NR - 1) % r
        print > (d "/w" w ".units")
        if ($3 == "true") q = "COPY " $2 " TO STDOUT;"; else q = "COPY (SELECT * FROM " $2 " WHERE " $3 ") TO STDOUT;"
        print q > (d "/w" w ".sql")
        print q > (d "/dump.sql")
        print $1 > (d "/dump.names")
    }' "$dir/units.tsv"
    # The dump: one file per unit, in one psql session (\o switches files).
    paste -d'\n' <(sed "s|.*|\\\\o $dir/dump/&.txt|" "$dir/dump.names") "$dir/dump.sql" | h_psql -v ON_ERROR_STOP=1 >/dev/null
    bytes=$(cat "$dir"/dump/*.txt | wc -c)
    rows=$(cat "$dir"/dump/*.txt | wc -l)
    echo "$rows rows in $tables table(s), $(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1e6}') MB of COPY text;" \
        "baselines: $units unit(s) over $readers reader(s)"

    local MAIN_PID MAIN_FE SINK_PID SINK_FE
    bench_emu_start MAIN --discard --data :memory: --quiet
    bench_emu_start SINK --discard --data :memory: --quiet
    bench_schema "$MAIN_FE" naive
    bench_schema "$SINK_FE" sink

    cat >"$dir/copy.sh" <<SH
pids=()
for f in "$dir"/w*.sql; do "$H_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -f "\$f" >/dev/null & pids+=(\$!); done
rc=0
for p in "\${pids[@]}"; do wait "\$p" || rc=1; done
exit \$rc
SH
    cat >"$dir/naive.sh" <<SH
set -o pipefail
out=\$1
worker() {
    while IFS=\$'\t' read -r n t p cols; do
        if [ "\$p" = true ]; then q="COPY \$t TO STDOUT"; else q="COPY (SELECT * FROM \$t WHERE \$p) TO STDOUT"; fi
        "$H_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -c "\$q" |
            curl -sS --location-trusted -u root: -H 'Expect: 100-continue' -H "columns: \$cols" -T - \
                -o "\$out/\$n.json" "http://127.0.0.1:$MAIN_FE/api/naive/\$t/_stream_load" || return 1
    done <"\$1"
}
pids=()
for f in "$dir"/w*.units; do worker "\$f" & pids+=(\$!); done
rc=0
for p in "\${pids[@]}"; do wait "\$p" || rc=1; done
exit \$rc
SH

    local rep j kind ranges="" rc
    for rep in $(seq "$repeat"); do
        for j in 0 1 2 3; do
            kind=${BENCH_KINDS[$(((j + rep - 1) % 4))]}
            printf 'repetition %d/%d: %-58s' "$rep" "$repeat" "$(full_label "$kind" "$readers")..."
            local out="$dir/out-$kind-$rep"
            mkdir -p "$out"
            rc=0
            case $kind in
            copy)
                bench_measure --emu "$MAIN_PID" copy bash "$dir/copy.sh" >"$out/log" 2>&1 || rc=$?
                ;;
            naive)
                bench_measure --emu "$MAIN_PID" naive bash "$dir/naive.sh" "$out" >"$out/log" 2>&1 || rc=$?
                ;;
            sink)
                awk -F'\t' -v d="$dir" -v o="$out" -v fe="$SINK_FE" '{
                    if (NR > 1) print "next"
                    printf "url = \"http://127.0.0.1:%s/api/sink/%s/_stream_load\"\n", fe, $2
                    printf "upload-file = \"%s/dump/%s.txt\"\noutput = \"%s/%s.json\"\n", d, $1, o, $1
                    printf "user = \"root:\"\nlocation-trusted\nsilent\nshow-error\n"
                    printf "header = \"Expect: 100-continue\"\nheader = \"columns: %s\"\n", $4
                }' "$dir/units.tsv" >"$out/sink.cfg"
                bench_measure --emu "$SINK_PID" sink curl --parallel --parallel-max "$readers" \
                    -K "$out/sink.cfg" >"$out/log" 2>&1 || rc=$?
                ;;
            engine)
                # shellcheck disable=SC2086
                bench_measure --emu "$MAIN_PID" engine "$P2D_BUILD_DIR/pg2doris" sync \
                    --source "$P2D_PG_CONNINFO" --dest "http://root@127.0.0.1:$MAIN_FE/engine_$rep" \
                    --mode schema,full --state "$dir/state-$rep" --readers "$readers" $opt_engine_args \
                    >"$out/log" 2>&1 || rc=$?
                ;;
            esac
            if [ "$rc" != 0 ]; then
                echo "failed"
                echo "bench: $kind run failed (exit $rc); last lines of its output:" >&2
                tail -n 20 "$out/log" >&2
                exit 1
            fi
            full_verify "$kind" "$out" "$units" "$rows"
            if [ "$kind" = engine ]; then
                [ -n "$ranges" ] || ranges=$(grep -oE 'planned [0-9]+ (ctid |key )?ranges?' "$out/log" | awk '{s += $2} END {print s + 0}')
                rm -rf "$dir/state-$rep"
            fi
            printf '%8.2f s\n' "$M_WALL"
            jq -cn --arg ds "$ds" --argjson sc "$sc" --arg kind "$kind" --argjson rep "$rep" \
                --argjson wall "$M_WALL" --argjson cpu "$M_CPU" --argjson rss "$M_RSS_KIB" \
                --argjson pg "$M_PG_CPU" --argjson emu "$M_EMU_CPU" \
                '{dataset:$ds, scale:$sc, kind:$kind, rep:$rep, wall_s:$wall, cpu_s:$cpu,
                  peak_rss_kib:$rss, pg_cpu_s:$pg, emu_cpu_s:$emu}' >>"$H_TMP/runs.jsonl"
            rm -f "$out"/*.json
        done
    done
    jq -cn --arg ds "$ds" --argjson sc "$sc" --argjson rows "$rows" --argjson tables "$tables" \
        --argjson bytes "$bytes" --argjson units "$units" --argjson ranges "${ranges:-0}" \
        --argjson gen "$gen_s" --arg notes "$notes" --argjson readers "$readers" \
        --arg lc "$(full_label copy "$readers")" --arg ln "$(full_label naive "$readers")" \
        --arg ls "$(full_label sink "$readers")" --arg le "$(full_label engine "$readers")" \
        '{dataset:$ds, scale:$sc, rows:$rows, tables:$tables, copy_bytes:$bytes, readers:$readers,
          baseline_units:$units, engine_ranges:$ranges, generate_s:$gen, notes:$notes,
          labels:{copy:$lc, naive:$ln, sink:$ls, engine:$le}}' >>"$H_TMP/meta.jsonl"

    bench_emu_stop "$MAIN_PID"
    bench_emu_stop "$SINK_PID"
    bench_pg_db_drop "bench_$n"
    rm -rf "$dir"

    full_result "$repeat" >"$H_TMP/result.json"
    echo
    full_print_case "$H_TMP/result.json" "$ds" "$sc"
}

# full_verify KIND OUTDIR UNITS ROWS: every load answered Success and the
# rows loaded add up (naive, sink); the engine's summary counts every row.
full_verify() {
    local kind=$1 out=$2 units=$3 rows=$4 got
    case $kind in
    naive | sink)
        got=$(jq -rs '"\(map(select(.Status == "Success")) | length) \(map(.NumberLoadedRows // 0) | add)"' "$out"/*.json)
        if [ "$got" != "$units $rows" ]; then
            echo "failed"
            echo "bench: $kind: expected $units Success answers and $rows rows, got \"$got\"; one answer:" >&2
            jq -c 'select(.Status != "Success")' "$out"/*.json | head -3 >&2
            exit 1
        fi
        ;;
    engine)
        got=$(awk '$1 == "total" {print $2}' "$out/log")
        if [ "$got" != "$rows" ]; then
            echo "failed"
            echo "bench: engine: summary says \"$got\" rows, expected $rows; last lines:" >&2
            tail -n 20 "$out/log" >&2
            exit 1
        fi
        ;;
    esac
}

# full_result REPEAT: the result JSON from what was recorded so far.
full_result() {
    jq -n --slurpfile meta "$H_TMP/meta.jsonl" --slurpfile runs "$H_TMP/runs.jsonl" \
        --argjson machine "$(bench_machine_json)" --arg command "$bench_command" --arg started "$bench_started" \
        --argjson readers "$opt_readers" --argjson repeat "$1" --arg engine_args "$opt_engine_args" \
        '{machine:$machine, command:$command, started:$started, meta:$meta, runs:$runs,
          settings:{readers:$readers, repetitions:$repeat, engine_args:$engine_args,
                    order:"interleaved: each repetition runs copy, naive, sink, engine, starting one later each time",
                    units:"MB = 10^6 bytes, GB = 10^9 bytes of COPY text; ratios = engine wall / baseline wall, median of per-repetition ratios"}}' |
        jq -f "$here/lib/summary.jq"
}

full_print_case() { # full_print_case RESULT DATASET SCALE
    jq -r --arg ds "$2" --argjson sc "$3" --argjson kinds "$(printf '%s\n' "${BENCH_KINDS[@]}" | jq -R . | jq -sc .)" "$BENCH_JQ_DEFS"'
        .cases[] | select(.dataset == $ds and .scale == $sc) as $c |
        "\($c.dataset), scale \($c.scale): \($c.rows) rows in \($c.tables) table(s), \($c.copy_bytes / 1e6 | f(1)) MB of COPY text; engine planned \($c.engine_ranges) range(s); medians of \($c.figures.engine.repetitions) repetition(s)",
        (["run", "wall_s", "best_s", "rows/s", "MB/s", "cpu_s", "pg_cpu_s", "emu_cpu_s", "peak_RSS_MiB"] | @tsv),
        ($kinds[] as $k | $c.figures[$k] as $f | [$c.labels[$k], ($f.wall_s | f(2)), ($f.wall_s_best | f(2)),
            ($f.rows_per_s | f(0)), ($f.mb_per_s | f(1)), ($f.cpu_s | f(2)), ($f.pg_cpu_s | f(2)),
            ($f.emu_cpu_s | f(2)), ($f.peak_rss_kib / 1024 | f(0))] | @tsv)' "$1" | {
        IFS= read -r head
        echo "$head"
        bench_fmt_table
    }
    jq -r --arg ds "$2" --argjson sc "$3" "$BENCH_JQ_DEFS"'
        .cases[] | select(.dataset == $ds and .scale == $sc) |
        "engine wall / baseline wall: source (COPY to /dev/null) \(.ratios.engine_vs_copy | f(2)), naive \(.ratios.engine_vs_naive | f(2)), sink (doris-emu alone) \(.ratios.engine_vs_sink | f(2))",
        "engine: \(.engine_cpu_s_per_gb | f(2)) CPU s and \(.engine_wall_s_per_gb | f(2)) wall s per GB of COPY text, peak RSS \(.figures.engine.peak_rss_kib / 1024 | f(0)) MiB"' "$1"
    jq -r --arg ds "$2" --argjson sc "$3" '.cases[] | select(.dataset == $ds and .scale == $sc)
        | select(.engine_ranges < .readers and .tables < .readers)
        | "note: the engine planned \(.engine_ranges) range(s) for \(.readers) readers (--bytes-per-range default 256M), so it read with fewer readers than the baselines; --engine-args \"--bytes-per-range 16M\" plans more"' "$1"
    echo "(cpu_s: the run's own processes (engine; psql and curl for the baselines); pg_cpu_s, emu_cpu_s: the servers meanwhile)"
}

full_print_summary() { # full_print_summary RESULT
    local result=$1
    echo
    echo "engine wall / baseline wall (median of per-repetition ratios; source = COPY to /dev/null, sink = doris-emu alone); engine cost per GB of COPY text:"
    jq -r "$BENCH_JQ_DEFS"'
        (["dataset", "scale", "rows", "MB", "vs_source", "vs_naive", "vs_sink", "engine_MB/s", "cpu_s/GB", "wall_s/GB", "peak_RSS_MiB", "ranges"] | @tsv),
        (.cases[] | [.dataset, (.scale | tostring), (.rows | tostring), (.copy_bytes / 1e6 | f(1)),
            (.ratios.engine_vs_copy | f(2)), (.ratios.engine_vs_naive | f(2)), (.ratios.engine_vs_sink | f(2)),
            (.figures.engine.mb_per_s | f(1)), (.engine_cpu_s_per_gb | f(2)), (.engine_wall_s_per_gb | f(2)),
            (.figures.engine.peak_rss_kib / 1024 | f(0)), (.engine_ranges | tostring)] | @tsv)' "$result" | bench_fmt_table
    if [ "$(jq '.growth | length' "$result")" -gt 0 ]; then
        echo
        echo "growth with size (larger scale / smaller scale; linear growth: wall and CPU ratios = size ratio, per-GB ratios = 1.00):"
        jq -r "$BENCH_JQ_DEFS"'
            (["dataset", "scales", "size_x", "engine_wall_x", "engine_cpu_x", "wall/GB_x", "cpu/GB_x", "source_wall_x", "naive_wall_x", "sink_wall_x", "fixed_s", "marginal_s/GB"] | @tsv),
            (.growth[] | [.dataset, "\(.from_scale) -> \(.to_scale)", (.size_ratio | f(2)),
                (.wall_ratio.engine | f(2)), (.engine_cpu_ratio | f(2)), (.engine_wall_per_gb_ratio | f(2)),
                (.engine_cpu_per_gb_ratio | f(2)), (.wall_ratio.copy | f(2)), (.wall_ratio.naive | f(2)),
                (.wall_ratio.sink | f(2)), (.engine_fixed_wall_s | f(2)), (.engine_marginal_wall_s_per_gb | f(2))] | @tsv)' "$result" | bench_fmt_table
        echo "(fixed_s, marginal_s/GB: the engine wall as a line through the two sizes, fixed + marginal x GB)"
    fi
}
