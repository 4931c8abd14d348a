# bench/lib/latency.jq - the `latency` scenario's result JSON (jq -n with
# the --arg / --argjson / --rawfile values of bench/scenarios/latency.sh;
# $e and $f are the engine's and the floor's latencies in ms, one a line,
# sorted).
#
# Result (format pg2doris-bench/1, scenario "latency"):
#   settings: rate (asked TPS), seconds, batch_timeout_ms, poll_ms,
#     pgbench_clients, engine_args
#   load: transactions, tps (pgbench's), wall_s, changes (pg_stat_user_tables),
#     probes (history rows written during the load)
#   latency.{engine,floor}: label, count, missing (probes never seen),
#     min_ms, p50_ms, p95_ms, p99_ms, max_ms, mean_ms (nearest-rank
#     percentiles)
#   target: p99_ms (1500), p99_ms_measured, met, ratio (measured / target)
#   ratios: p50_vs_batch_timeout, p99_minus_floor_ms
#   engine: cpu_s over the load, cpu_pct_of_core, rss_max_kib (sampled each
#     second during the load), peak_rss_kib (VmHWM since start, full load
#     included), metric_lag_max_s / metric_lag_max_bytes (its own
#     pg2doris_cdc_lag_* gauges, max of the samples during the load)
#   pg_cpu_s, emu_cpu_s (during the load), drain_s (load end to the slot
#   confirming it), verify, files.{png,tsv}

def r(n): if . == null then null else (. * pow(10; n) | round) / pow(10; n) end;
def pct($p): if length == 0 then null
    else .[([((($p / 100) * length) | ceil) - 1, 0] | max)] end;
def stats($name; $probes):
    (split("\n") | map(select(length > 0) | tonumber)) as $v
    | {label: $name, count: ($v | length), missing: ([$probes - ($v | length), 0] | max),
       min_ms: ($v | first | r(1)), p50_ms: ($v | pct(50) | r(1)), p95_ms: ($v | pct(95) | r(1)),
       p99_ms: ($v | pct(99) | r(1)), max_ms: ($v | last | r(1)),
       mean_ms: (if ($v | length) == 0 then null else ($v | add / length | r(1)) end)};

($e | stats("pg2doris sync -> doris-emu (engine)"; $probes)) as $eng
| ($f | stats("pg_recvlogical test_decoding (floor)"; $probes)) as $flo
| {format: "pg2doris-bench/1", scenario: "latency", command: $command, started: $started, machine: $machine,
   settings: {rate: $rate, seconds: $seconds, batch_timeout_ms: $bt, poll_ms: $poll, pgbench_clients: $clients,
              engine_args: $engine_args, destination: "doris-emu storing rows (SQLite in memory)",
              probe: "history row of every update transaction (80% of the mix) with src_us = clock_timestamp() of its last statement before COMMIT",
              units: "ms = 10^-3 s; engine latency = answer time of the first poll that returned the row - src_us"},
   load: {transactions: $txns, tps: $tps, wall_s: $wall, changes: $changes, probes: $probes},
   latency: {engine: $eng, floor: $flo},
   target: {p99_ms: 1500, p99_ms_measured: $eng.p99_ms,
            met: ($eng.p99_ms != null and $eng.p99_ms <= 1500 and $eng.missing == 0),
            ratio: (if $eng.p99_ms == null then null else $eng.p99_ms / 1500 | r(2) end)},
   ratios: {p50_vs_batch_timeout: (if $eng.p50_ms == null then null else $eng.p50_ms / $bt | r(2) end),
            p99_minus_floor_ms: (if $eng.p99_ms == null or $flo.p99_ms == null then null else $eng.p99_ms - $flo.p99_ms | r(1) end)},
   engine: {cpu_s: $cpu, cpu_pct_of_core: (if $wall > 0 then $cpu / $wall * 100 | r(1) else null end),
            rss_max_kib: $rss, peak_rss_kib: $hwm, metric_lag_max_s: $lag, metric_lag_max_bytes: $lagb},
   pg_cpu_s: $pg, emu_cpu_s: $emu, drain_s: $drain, verify: $verify,
   files: {png: $png, tsv: $tsv}}
