# bench/lib/summary.jq - the `full` scenario's result JSON from its raw
# records: {machine, command, started, settings, meta: [per dataset and
# scale], runs: [one per run and repetition]}. Every table bench/run prints,
# the --json file and the README section come from this one result.
#
# Result (format pg2doris-bench/1):
#   cases[]: dataset, scale, rows, tables, copy_bytes, readers, notes, ...
#     figures.{copy,naive,sink,engine}: medians over repetitions of wall_s,
#       cpu_s, pg_cpu_s, emu_cpu_s; wall_s_best; rows_per_s and mb_per_s from
#       the median wall; peak_rss_kib (max); each[] (every repetition)
#     ratios.engine_vs_{copy,naive,sink}: median over repetitions of
#       engine wall / baseline wall of the same repetition
#     engine_cpu_s_per_gb, engine_wall_s_per_gb
#   growth[]: per dataset run at several scales, each larger scale against
#     the smallest: size_ratio, wall_ratio.{kind}, engine_cpu_ratio,
#     engine_{wall,cpu}_per_gb_ratio (1.00 = cost grows linearly with size),
#     engine_marginal_wall_s_per_gb and engine_fixed_wall_s (the line
#     through the two engine walls: wall = fixed + marginal x GB)

def median: sort | if length == 0 then null
    elif length % 2 == 1 then .[(length - 1) / 2]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def r(n): if . == null then null else (. * pow(10; n) | round) / pow(10; n) end;
def div($a; $b): if $a == null or $b == null or $b == 0 then null else $a / $b end;
def kinds: ["copy", "naive", "sink", "engine"];

. as $in
| ($in.meta | map(. as $m
    | ($in.runs | map(select(.dataset == $m.dataset and .scale == $m.scale))) as $rs
    | (kinds | map(. as $k | ($rs | map(select(.kind == $k))) as $x
        | {key: $k, value: (if ($x | length) == 0 then null else
            ($x | map(.wall_s) | median) as $w
            | {repetitions: ($x | length),
               wall_s: ($w | r(3)),
               wall_s_best: ($x | map(.wall_s) | min),
               rows_per_s: (div($m.rows; $w) | r(0)),
               mb_per_s: (div($m.copy_bytes / 1e6; $w) | r(1)),
               cpu_s: ($x | map(.cpu_s) | median | r(2)),
               pg_cpu_s: ($x | map(.pg_cpu_s) | median | r(2)),
               emu_cpu_s: ($x | map(.emu_cpu_s) | median | r(2)),
               peak_rss_kib: ($x | map(.peak_rss_kib) | max),
               each: ($x | map(del(.dataset, .scale, .kind)))}
            end)}) | from_entries) as $fig
    | $m + {
        figures: $fig,
        ratios: (["copy", "naive", "sink"] | map(. as $b | {key: "engine_vs_\($b)", value:
            ([$rs[] | select(.kind == "engine") | . as $e
              | $rs[] | select(.kind == $b and .rep == $e.rep) | div($e.wall_s; .wall_s)]
             | map(select(. != null)) | median | r(2))}) | from_entries),
        engine_cpu_s_per_gb: (div($fig.engine.cpu_s; $m.copy_bytes / 1e9) | r(2)),
        engine_wall_s_per_gb: (div($fig.engine.wall_s; $m.copy_bytes / 1e9) | r(2))
      })) as $cases
| {format: "pg2doris-bench/1", scenario: "full", command: $in.command, started: $in.started,
   machine: $in.machine, settings: $in.settings,
   cases: $cases,
   growth: [$cases | group_by(.dataset)[] | sort_by(.scale) | select(length > 1)
     | .[0] as $a | .[1:][] as $b
     | div($b.copy_bytes; $a.copy_bytes) as $size
     | {dataset: $a.dataset, from_scale: $a.scale, to_scale: $b.scale,
        size_ratio: ($size | r(2)),
        wall_ratio: (kinds | map({key: ., value: (div($b.figures[.].wall_s; $a.figures[.].wall_s) | r(2))}) | from_entries),
        engine_cpu_ratio: (div($b.figures.engine.cpu_s; $a.figures.engine.cpu_s) | r(2)),
        engine_wall_per_gb_ratio: (div(div($b.figures.engine.wall_s; $a.figures.engine.wall_s); $size) | r(2)),
        engine_cpu_per_gb_ratio: (div(div($b.figures.engine.cpu_s; $a.figures.engine.cpu_s); $size) | r(2)),
        engine_marginal_wall_s_per_gb: (div($b.figures.engine.wall_s - $a.figures.engine.wall_s;
            ($b.copy_bytes - $a.copy_bytes) / 1e9) | r(2)),
        engine_fixed_wall_s: (div($a.figures.engine.wall_s * $b.copy_bytes - $b.figures.engine.wall_s * $a.copy_bytes;
            $b.copy_bytes - $a.copy_bytes) | r(3))}]}
