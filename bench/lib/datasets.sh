# bench/lib/datasets.sh - the datasets of bench/run, generated inside
# PostgreSQL at a scale factor (no downloads). Sourced; needs h_psql and
# P2D_BUILD_DIR. Scale factor 1 is about 1 GB of COPY text, except `many`.
#
#   lineitem  TPC-H lineitem-shaped: 16 narrow columns (bigint, int,
#             numeric(15,2), char(1), date, varchar), composite primary key;
#             6,000,000 rows per scale factor (~870 MB of COPY text).
#   wide      one table of 1-4 KB text rows (bench/tools/gen_wide.c):
#             id bigint key, grp, created timestamp, title, body text of
#             1024-4096 bytes (uniform; ~67% of rows above the 2 KB TOAST
#             threshold, stored out of line: the text does not compress),
#             note; 400,000 rows per scale factor (~1 GB).
#   many      1000 tables x 1000 rows at scale factor 1 (tables scale with
#             the factor, rows per table stay 1000): id int key, int,
#             numeric(12,2), varchar(40), timestamp; ~56 MB at scale 1.
#   skewed    one table, bigint key with a heavily skewed distribution:
#             90% of rows on the dense keys 1..0.9N, 10% spread with a gap
#             of 891 between keys (so the dense 90% sit in the first 1% of
#             1..max), and one row at key 2^62; lineitem-like narrow
#             columns; 6,000,000 rows per scale factor (~460 MB).
#
# Functions (NAME is one of the above, SCALE a decimal factor):
#   ds_check NAME                 fails for an unknown dataset
#   ds_rows NAME SCALE            rows the dataset will have (tables for many)
#   ds_scale_for_rows NAME ROWS   the scale factor that gives ROWS rows
#   ds_describe NAME SCALE        one line for humans
#   ds_create NAME SCALE          creates and fills the tables in the current
#                                 database, then VACUUM ANALYZE and CHECKPOINT
#   ds_units NAME READERS         the baselines' work units, one a line:
#                                 TABLE <tab> PREDICATE ("true" for a whole
#                                 table); one table: READERS key ranges with
#                                 equal row counts (percentiles of the key);
#                                 many: one unit per table
#   ds_notes NAME                 facts measured after generation (TOAST
#                                 share, key spread), one line

# shellcheck shell=bash

BENCH_DATASETS="lineitem wide many skewed"

ds_check() {
    case " $BENCH_DATASETS " in
    *" $1 "*) return 0 ;;
    *) echo "bench/run: unknown dataset \"$1\" (one of: $BENCH_DATASETS)" >&2; return 1 ;;
    esac
}

ds_per_sf() {
    case $1 in
    lineitem) echo 6000000 ;;
    wide) echo 400000 ;;
    many) echo 1000 ;; # tables
    skewed) echo 6000000 ;;
    esac
}

# ds_scale_for_rows NAME ROWS: the scale factor giving ROWS rows.
ds_scale_for_rows() {
    awk -v n="$(ds_per_sf "$1")" -v r="$2" 'BEGIN {printf "%.12g", r / n}'
}

ds_rows() {
    awk -v n="$(ds_per_sf "$1")" -v s="$2" 'BEGIN {r = int(n * s + 0.5); print (r < 1 ? 1 : r)}'
}

ds_describe() {
    local n
    n=$(ds_rows "$1" "$2")
    case $1 in
    lineitem) echo "lineitem: $n rows of 16 narrow columns (numerics, dates, short text), one table" ;;
    wide) echo "wide: $n rows of 1-4 KB text (TOASTed above 2 KB), one table" ;;
    many) echo "many: $n tables x 1000 rows of 5 small columns" ;;
    skewed) echo "skewed: $n rows, bigint key: 90% dense in 1% of the key range, 10% sparse, one key at 2^62" ;;
    esac
}

ds_create() {
    local n
    n=$(ds_rows "$1" "$2")
    case $1 in
    lineitem)
        h_psql -c "CREATE TABLE lineitem (
          l_orderkey bigint NOT NULL, l_linenumber int NOT NULL, l_partkey int NOT NULL,
          l_suppkey int NOT NULL, l_quantity numeric(15,2), l_extendedprice numeric(15,2),
          l_discount numeric(15,2), l_tax numeric(15,2), l_returnflag char(1), l_linestatus char(1),
          l_shipdate date, l_commitdate date, l_receiptdate date, l_shipinstruct varchar(25),
          l_shipmode varchar(10), l_comment varchar(44), PRIMARY KEY (l_orderkey, l_linenumber))" >/dev/null
        h_psql -c "INSERT INTO lineitem SELECT g / 4 + 1, g % 4 + 1, (g * 7919) % 200000 + 1, (g * 104729) % 10000 + 1,
          (g % 50) + 1, ((g * 31) % 10000000) / 100.0 + 900, (g % 11) / 100.0, (g % 9) / 100.0,
          (ARRAY['R','A','N'])[(g % 3 + 1)::int], (ARRAY['O','F'])[(g % 2 + 1)::int],
          date '1992-01-01' + (g % 2400)::int, date '1992-01-31' + (g % 2400)::int, date '1992-01-16' + (g % 2400)::int,
          (ARRAY['DELIVER IN PERSON','COLLECT COD','NONE','TAKE BACK RETURN'])[(g % 4 + 1)::int],
          (ARRAY['REG AIR','AIR','RAIL','SHIP','TRUCK','MAIL','FOB'])[(g % 7 + 1)::int],
          'carefully final deposits ' || left(md5(g::text), 19)
        FROM generate_series(0::bigint, $n - 1) g" >/dev/null
        ;;
    wide)
        h_psql -c "CREATE TABLE wide (id bigint PRIMARY KEY, grp int NOT NULL, created timestamp NOT NULL,
          title varchar(100) NOT NULL, body text NOT NULL, note text)" >/dev/null
        "$P2D_BUILD_DIR/bench/gen_wide" "$n" | h_psql -c "COPY wide FROM STDIN"
        ;;
    many)
        h_psql -c "DO \$\$
        DECLARE
          t int;
          name text;
        BEGIN
          FOR t IN 1..$n LOOP
            name := 'many_' || lpad(t::text, greatest(4, length(t::text)), '0');
            EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, a int NOT NULL, b numeric(12,2),
              c varchar(40), d timestamp)', name);
            EXECUTE format('INSERT INTO %I SELECT g, (g * 7919 + %s) %% 100000,
              ((g * 31 + %s) %% 1000000) / 100.0, left(md5((g + %s * 1000)::text), 8 + g %% 24),
              timestamp ''2024-01-01'' + (g * 61 + %s) * interval ''1 second''
              FROM generate_series(1, 1000) g', name, t, t, t, t);
            IF t % 50 = 0 THEN COMMIT; END IF;
          END LOOP;
        END \$\$" >/dev/null
        ;;
    skewed)
        local dense=$((n * 9 / 10))
        h_psql -c "CREATE TABLE skewed (id bigint PRIMARY KEY, grp int NOT NULL, qty numeric(15,2),
          price numeric(15,2), shipdate date, flag char(1), comment varchar(44))" >/dev/null
        h_psql -c "INSERT INTO skewed SELECT
          CASE WHEN g < $dense THEN g + 1
               WHEN g < $n - 1 OR $n = 1 THEN $dense + (g - $dense + 1) * 891
               ELSE 4611686018427387904 END,
          (g * 7919) % 100000, (g % 50) + 1, ((g * 31) % 10000000) / 100.0 + 900,
          date '1992-01-01' + (g % 2400)::int, (ARRAY['R','A','N'])[(g % 3 + 1)::int],
          'skewed keys ' || left(md5(g::text), 24)
        FROM generate_series(0::bigint, $n - 1) g" >/dev/null
        ;;
    esac
    h_psql -c "VACUUM ANALYZE" >/dev/null
    h_psql -c "CHECKPOINT" >/dev/null
}

# ds_key_units TABLE KEY READERS: READERS ranges of KEY with equal row counts.
ds_key_units() {
    local t=$1 k=$2 r=$3 bounds
    if [ "$r" -le 1 ]; then
        printf '%s\ttrue\n' "$t"
        return
    fi
    bounds=$(h_psql -At -c "SELECT array_to_string(percentile_disc(
        (SELECT array_agg(i::float8 / $r) FROM generate_series(1, $r - 1) i))
        WITHIN GROUP (ORDER BY $k), ' ') FROM $t")
    awk -v t="$t" -v k="$k" -v b="$bounds" 'BEGIN {
        n = split(b, a, " "); lo = ""
        for (i = 1; i <= n; i++) {
            if (a[i] == lo) continue   # duplicate bound: fewer rows than readers
            printf "%s\t%s\n", t, (lo == "" ? k " < " a[i] : k " >= " lo " AND " k " < " a[i])
            lo = a[i]
        }
        printf "%s\t%s\n", t, (lo == "" ? "true" : k " >= " lo)
    }'
}

ds_units() {
    case $1 in
    lineitem) ds_key_units lineitem l_orderkey "$2" ;;
    wide) ds_key_units wide id "$2" ;;
    skewed) ds_key_units skewed id "$2" ;;
    many)
        h_psql -At -F$'\t' -c "SELECT relname, 'true' FROM pg_class
            WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY relname"
        ;;
    esac
}

ds_notes() {
    case $1 in
    lineitem) echo "" ;;
    wide)
        h_psql -At -c "SELECT format('body > 2 KB in %s%% of rows; %s%% of rows have a value stored out of line (TOAST table %s MB of %s MB)',
              round(100.0 * count(*) FILTER (WHERE octet_length(body) > 2048) / count(*)),
              round(100.0 * (SELECT count(DISTINCT chunk_id) FROM $(h_psql -At -c "SELECT reltoastrelid::regclass FROM pg_class WHERE relname = 'wide'")) / count(*)),
              round(pg_relation_size((SELECT reltoastrelid FROM pg_class WHERE relname = 'wide')) / 1e6),
              round(pg_total_relation_size('wide') / 1e6))
            FROM wide"
        ;;
    many) h_psql -At -c "SELECT format('%s tables', count(*)) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace" ;;
    skewed)
        h_psql -At -c "SELECT format('keys %s..%s; 90%% of rows at keys <= %s (%s%% of the range without the 2^62 row)',
              min(id), max(id), percentile_disc(0.9) WITHIN GROUP (ORDER BY id),
              round(100.0 * percentile_disc(0.9) WITHIN GROUP (ORDER BY id)
                    / nullif(max(id) FILTER (WHERE id < 4611686018427387904), 0), 1))
            FROM skewed"
        ;;
    esac
}
