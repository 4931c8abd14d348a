# bench/scenarios/sweep.sh - `bench/run sweep`: the flag sweep (sourced by
# bench/run). The lineitem table (--rows, default 2000000) is generated once,
# then `pg2doris sync --mode schema,full` into doris-emu --discard runs once
# per combination of readers {1,2,4} x writers {readers, 2 x readers} x bytes
# per load {64M, 256M} x body {csv, json, csv+gz} (36 runs; csv+gz is
# --format csv --compress gz), each into a fresh database with a fresh
# --state, beside parallel COPY to /dev/null per readers value (equal-row key
# ranges, bench/lib/datasets.sh). Prints the runs sorted by MB/s of COPY text
# and the best setting; writes bench/results/sweep-TIMESTAMP.{tsv,json,png}
# (the plot: MB/s against readers, one line per writers/format, best over
# bytes per load, with the COPY baseline). --quick: 500000 rows, readers
# {1,2,4} x writers = readers x 64M x {csv, json, csv+gz} (9 runs).

# shellcheck shell=bash

scenario_sweep() {
    local rlist=(1 2 4) wmul=(1 2) blist=(64M 256M) flist=(csv json csv+gz)
    local rows=$opt_rows
    if [ -n "$opt_scale" ]; then
        rows=$(ds_rows lineitem "$opt_scale")
    fi
    if [ -n "$opt_quick" ]; then
        rows=${rows:-500000}
        wmul=(1) blist=(64M)
    else
        rows=${rows:-2000000}
    fi
    local ts out copy_bytes bpr reps=${opt_repeat:-1}
    ts=$(date -u +%Y%m%dT%H%M%SZ)
    mkdir -p "$here/results"
    out="$here/results/sweep-$ts"
    bench_init
    bench_machine_text
    bench_pg_start
    bench_pg_db bench
    local E_PID E_FE
    bench_emu_start E --discard --data :memory: --quiet
    echo "generating $rows lineitem rows in PostgreSQL..."
    ds_create lineitem "$(ds_scale_for_rows lineitem "$rows")"
    copy_bytes=$(h_psql -c "COPY lineitem TO STDOUT" | wc -c)
    # Ranges small enough that the largest reader count has work for every
    # reader (the 256M default would plan a 300 MB table as 2 ranges): four
    # ranges per reader at the most readers, the same plan for every run.
    bpr=$(awk -v b="$copy_bytes" -v r="${rlist[-1]}" 'BEGIN {m = int(b / 1048576 / (4 * r)); print (m < 1 ? 1 : m) "M"}')
    echo "bodies: csv, json, csv+gz (--format csv --compress gz)"
    echo "every run: --bytes-per-range $bpr, fresh destination database, fresh --state;" \
        "$reps run(s) per combination, the fastest kept"

    # Baseline: parallel COPY into /dev/null, per readers value.
    local r w b f n=0 rc
    declare -A base
    for r in "${rlist[@]}"; do
        ds_units lineitem "$r" >"$H_TMP/units"
        cat >"$H_TMP/copy_null.sh" <<SH
while IFS=\$'\t' read -r t p; do
    "$H_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -c "COPY (SELECT * FROM \$t WHERE \$p) TO STDOUT" >/dev/null &
done <"$H_TMP/units"
wait
SH
        bench_measure copy bash "$H_TMP/copy_null.sh"
        base[$r]=$M_WALL
        echo "baseline: parallel COPY to /dev/null, $r readers: ${M_WALL}s"
    done

    printf 'readers\twriters\tbytes_per_load\tformat\twall_s\tcpu_s\tpeak_rss_kib\tmb_s\trows_s\n' >"$H_TMP/sweep.tsv"
    local total=$(( ${#rlist[@]} * ${#wmul[@]} * ${#blist[@]} * ${#flist[@]} ))
    for r in "${rlist[@]}"; do
        for m in "${wmul[@]}"; do
            w=$((r * m))
            for b in "${blist[@]}"; do
                for f in "${flist[@]}"; do
                    n=$((n + 1))
                    printf 'run %2d/%d: readers %d writers %d bytes-per-load %s format %s... ' "$n" "$total" "$r" "$w" "$b" "$f"
                    local k bw="" bc="" brss=""
                    for k in $(seq "$reps"); do
                        rc=0
                        bench_measure --emu "$E_PID" engine "$P2D_BUILD_DIR/pg2doris" sync --source "$P2D_PG_CONNINFO" \
                            --dest "http://root@127.0.0.1:$E_FE/sweep_${n}_$k" --mode schema,full \
                            --state "$H_TMP/state-$n-$k" --readers "$r" --writers "$w" --bytes-per-load "$b" \
                            --bytes-per-range "$bpr" --format "${f%%+*}" \
                            --compress "$([ "${f#*+}" = gz ] && echo gz || echo none)" \
                            >"$H_TMP/engine-$n-$k.out" 2>&1 || rc=$?
                        if [ "$rc" != 0 ]; then
                            echo "failed"
                            echo "bench: pg2doris sync failed (exit $rc):" >&2
                            tail -n 20 "$H_TMP/engine-$n-$k.out" >&2
                            exit 1
                        fi
                        rm -rf "$H_TMP/state-$n-$k"
                        if [ -z "$bw" ] || awk -v a="$M_WALL" -v b="$bw" 'BEGIN {exit !(a < b)}'; then
                            bw=$M_WALL bc=$M_CPU brss=$M_RSS_KIB
                        fi
                    done
                    awk -v r="$r" -v w="$w" -v b="$b" -v f="$f" -v wall="$bw" -v cpu="$bc" \
                        -v rss="$brss" -v cb="$copy_bytes" -v rows="$rows" 'BEGIN {
                        printf "%d\t%d\t%s\t%s\t%.2f\t%.2f\t%d\t%.1f\t%.0f\n", r, w, b, f, wall, cpu, rss,
                            cb / 1048576 / wall, rows / wall }' >>"$H_TMP/sweep.tsv"
                    echo "${bw}s"
                done
            done
        done
    done
    { head -1 "$H_TMP/sweep.tsv"; tail -n +2 "$H_TMP/sweep.tsv" | sort -t$'\t' -k8,8gr; } >"$out.tsv"

    local mb
    mb=$(awk -v b="$copy_bytes" 'BEGIN {printf "%.1f", b / 1048576}')
    echo
    echo "lineitem: $rows rows, $mb MB of COPY text; sorted by MB/s of COPY text"
    printf '%7s %7s %14s %6s %8s %7s %12s %8s %10s %9s\n' \
        readers writers bytes_per_load format wall_s cpu_s peak_RSS_MiB MB/s rows/s vs_COPY
    tail -n +2 "$out.tsv" | while IFS=$'\t' read -r r w b f wall cpu rss mbs rps; do
        awk -v r="$r" -v w="$w" -v b="$b" -v f="$f" -v wall="$wall" -v cpu="$cpu" -v rss="$rss" \
            -v mbs="$mbs" -v rps="$rps" -v bw="${base[$r]}" 'BEGIN {
            printf "%7d %7d %14s %6s %8.2f %7.2f %12.0f %8.1f %10.0f %9.2f\n", r, w, b, f, wall, cpu, rss / 1024, mbs, rps, wall / bw }'
    done
    echo "(vs_COPY: engine wall / parallel COPY to /dev/null wall with the same readers)"
    printf '%-36s' "parallel COPY to /dev/null, MB/s:"
    for r in "${rlist[@]}"; do
        awk -v r="$r" -v w="${base[$r]}" -v b="$copy_bytes" 'BEGIN {printf "  %d readers %.1f", r, b / 1048576 / w}'
    done
    echo
    local best
    best=$(sed -n 2p "$out.tsv")
    IFS=$'\t' read -r r w b f _ _ _ mbs _ <<<"$best"
    echo "best setting on this machine: --readers $r --writers $w --bytes-per-load $b" \
        "--format ${f%%+*} --compress $([ "${f#*+}" = gz ] && echo gz || echo none) ($mbs MB/s)"

    # JSON: the same figures.
    local baselines_json
    baselines_json=$(for r in "${rlist[@]}"; do
        jq -cn --argjson r "$r" --argjson w "${base[$r]}" --argjson b "$copy_bytes" \
            '{readers:$r, wall_s:$w, mb_s:(($b / 1048576 / $w * 10 | round) / 10)}'; done | jq -cs .)
    jq -R -s --argjson machine "$(bench_machine_json)" --arg command "$bench_command" --argjson rows "$rows" --argjson bytes "$copy_bytes" \
        --arg bpr "$bpr" --argjson reps "$reps" --argjson quick "$([ -n "$opt_quick" ] && echo true || echo false)" \
        --argjson baselines "$baselines_json" '
        [split("\n")[1:][] | select(length > 0) | split("\t") |
         {readers:(.[0]|tonumber), writers:(.[1]|tonumber), bytes_per_load:.[2], format:.[3],
          wall_s:(.[4]|tonumber), cpu_s:(.[5]|tonumber), peak_rss_kib:(.[6]|tonumber),
          mb_s:(.[7]|tonumber), rows_s:(.[8]|tonumber)}] as $runs |
        {scenario:"sweep", command:$command, machine:$machine, quick:$quick, runs_per_combination:$reps, rows:$rows, copy_bytes:$bytes,
         bytes_per_range:$bpr, compress:"swept as the csv+gz body",
         copy_to_devnull:$baselines, runs:$runs, best:$runs[0]}' <"$out.tsv" >"$out.json"
    [ -z "$opt_json" ] || cp "$out.json" "$opt_json"

    # Plot: MB/s against readers, one line per writers/format (best over
    # bytes per load), and the COPY baseline.
    local series=() cols plotcmd="" i=2 s
    for m in "${wmul[@]}"; do for f in "${flist[@]}"; do series+=("$m $f"); done; done
    {
        printf 'readers'
        for s in "${series[@]}"; do printf '\t%s' "${s// /_}"; done
        printf '\tcopy\n'
        for r in "${rlist[@]}"; do
            printf '%d' "$r"
            for s in "${series[@]}"; do
                read -r m f <<<"$s"
                awk -F'\t' -v r="$r" -v w="$((r * m))" -v f="$f" \
                    'NR > 1 && $1 == r && $2 == w && $4 == f && $8 > x {x = $8} END {printf "\t%s", x == "" ? "?" : x}' "$out.tsv"
            done
            awk -v w="${base[$r]}" -v b="$copy_bytes" 'BEGIN {printf "\t%.1f\n", b / 1048576 / w}'
        done
    } >"$H_TMP/plot.dat"
    for s in "${series[@]}"; do
        read -r m f <<<"$s"
        cols="writers = $([ "$m" = 1 ] && echo readers || echo "$m x readers"), $f"
        plotcmd+="'$H_TMP/plot.dat' using 1:$i with linespoints lw 2 pt 7 title '$cols', "
        i=$((i + 1))
    done
    plotcmd+="'$H_TMP/plot.dat' using 1:$i with linespoints lw 2 dt 2 pt 4 lc rgb 'black' title 'parallel COPY to /dev/null (source limit)'"
    gnuplot <<GP
set terminal pngcairo size 960,600 font ',10'
set output '$out.png'
set title "pg2doris sync into doris-emu --discard: lineitem $rows rows ($mb MB COPY text), $(nproc) cores\nbest over bytes per load {${blist[*]}}; csv+gz = --format csv --compress gz"
set xlabel 'readers'
set ylabel 'MB/s of COPY text'
set xtics ($(IFS=,; echo "${rlist[*]}"))
set logscale x 2
set xrange [0.8:5]
set yrange [0:*]
set grid
set key below maxrows 3 width 2
set datafile missing '?'
plot $plotcmd
GP
    echo "wrote $out.tsv, $out.json, $out.png"
}
