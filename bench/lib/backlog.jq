# bench/lib/backlog.jq - the `backlog` scenario's result JSON from its raw
# records: {machine, command, started, settings, meta: [per backlog size],
# runs: [one per run and repetition]}. The tables bench/run prints and the
# --json file come from this one result.
#
# Result (format pg2doris-bench/1, scenario "backlog"):
#   cases[]: scale, changes (median over repetitions of the changes counted
#     in PostgreSQL), wal_bytes (median; WAL from the engine's confirmed
#     position to the backlog's end), changes_asked, pgbench_clients,
#     transactions_per_client, setup_s, verify ("match" / "mismatch"),
#     rows_at_end, labels
#     figures.{recvlogical,engine}: repetitions; medians of wall_s, cpu_s,
#       pg_cpu_s, emu_cpu_s, changes_per_s (of each repetition's changes /
#       wall), loads and rows_loaded (engine); wall_s_best; peak_rss_kib
#       (max); each[] (every repetition)
#     ratios.engine_vs_recvlogical: median over repetitions of recvlogical
#       wall / engine wall of the same repetition (= engine changes/s /
#       pg_recvlogical changes/s); ratios.each: every repetition's
#     target_met: ratio >= 0.80 (issue 4)
#     engine_cpu_s_per_million, engine_wall_s_per_million (changes)
#   growth[]: each larger backlog against the smallest: size_ratio,
#     wall_ratio.{recvlogical,engine}, engine_cpu_ratio,
#     engine_{wall,cpu}_per_change_ratio (1.00 = cost grows linearly),
#     engine_marginal_wall_s_per_million and engine_fixed_wall_s (the line
#     through the two engine walls: wall = fixed + marginal x million changes)

def median: sort | if length == 0 then null
    elif length % 2 == 1 then .[(length - 1) / 2]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def r(n): if . == null then null else (. * pow(10; n) | round) / pow(10; n) end;
def div($a; $b): if $a == null or $b == null or $b == 0 then null else $a / $b end;
def kinds: ["recvlogical", "engine"];
def mednull(f): map(f) | map(select(. != null)) | if length == 0 then null else median end;

. as $in
| ($in.meta | map(. as $m
    | ($in.runs | map(select(.scale == $m.scale))) as $rs
    | ($rs | map(select(.kind == "engine")) | map(.changes) | median) as $changes
    | (kinds | map(. as $k | ($rs | map(select(.kind == $k))) as $x
        | {key: $k, value: (if ($x | length) == 0 then null else
            {repetitions: ($x | length),
             wall_s: ($x | map(.wall_s) | median | r(3)),
             wall_s_best: ($x | map(.wall_s) | min),
             changes_per_s: ($x | map(div(.changes; .wall_s)) | median | r(0)),
             cpu_s: ($x | mednull(.cpu_s) | r(2)),
             pg_cpu_s: ($x | mednull(.pg_cpu_s) | r(2)),
             emu_cpu_s: ($x | mednull(.emu_cpu_s) | r(2)),
             peak_rss_kib: ($x | map(.peak_rss_kib) | max),
             loads: ($x | mednull(.loads)),
             rows_loaded: ($x | mednull(.rows_loaded)),
             each: ($x | map(del(.scale, .kind)))}
            end)}) | from_entries) as $fig
    | ([$rs[] | select(.kind == "engine") | . as $e
        | $rs[] | select(.kind == "recvlogical" and .rep == $e.rep) | div(.wall_s; $e.wall_s)]
       | map(select(. != null))) as $each
    | ($each | if length == 0 then null else median | r(2) end) as $ratio
    | $m + {
        changes: $changes,
        wal_bytes: ($rs | map(select(.kind == "engine")) | map(.wal_bytes) | median),
        figures: $fig,
        ratios: {engine_vs_recvlogical: $ratio, each: ($each | map(r(2)))},
        target_met: ($ratio != null and $ratio >= 0.8),
        engine_cpu_s_per_million: (div($fig.engine.cpu_s; $changes / 1e6) | r(2)),
        engine_wall_s_per_million: (div($fig.engine.wall_s; $changes / 1e6) | r(2))
      })) as $cases
| {format: "pg2doris-bench/1", scenario: "backlog", command: $in.command, started: $in.started,
   machine: $in.machine, settings: $in.settings,
   cases: $cases,
   growth: [$cases | sort_by(.scale) | select(length > 1)
     | .[0] as $a | .[1:][] as $b
     | div($b.changes; $a.changes) as $size
     | {from_scale: $a.scale, to_scale: $b.scale,
        size_ratio: ($size | r(2)),
        wall_ratio: (kinds | map({key: ., value: (div($b.figures[.].wall_s; $a.figures[.].wall_s) | r(2))}) | from_entries),
        engine_cpu_ratio: (div($b.figures.engine.cpu_s; $a.figures.engine.cpu_s) | r(2)),
        engine_wall_per_change_ratio: (div(div($b.figures.engine.wall_s; $a.figures.engine.wall_s); $size) | r(2)),
        engine_cpu_per_change_ratio: (div(div($b.figures.engine.cpu_s; $a.figures.engine.cpu_s); $size) | r(2)),
        engine_marginal_wall_s_per_million: (div($b.figures.engine.wall_s - $a.figures.engine.wall_s;
            ($b.changes - $a.changes) / 1e6) | r(2)),
        engine_fixed_wall_s: (div($a.figures.engine.wall_s * $b.changes - $b.figures.engine.wall_s * $a.changes;
            $b.changes - $a.changes) | r(3))}]}
