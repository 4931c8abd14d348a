/*
 * alltypes_test.c - every mapped type, NULLs, extreme values and hostile
 * text through `pg2doris sync --mode schema,full`, then `verify --full`,
 * through the built binary against PostgreSQL and doris-emu.
 *
 * Source (database at_src):
 *   t_all   every type of the seed mapping and the documented extras
 *           (docs/type-mapping.md): one row of NULLs in every nullable
 *           column, ordinary values, minimum and maximum extremes,
 *           infinities / BC / year > 9999 / NaN, hostile text (TAB, LF, CR,
 *           backslash, quotes, \N, control bytes 0x01-0x1f, multi-byte
 *           UTF-8, 4-byte emoji), empty strings and a 1 MB TOASTed value;
 *   t_part  range-partitioned, three leaves with rows in each (one Doris
 *           table);
 *   t_nokey no key (Duplicate model);
 *   t_comp  composite key (text, bigint, uuid);
 *   "9lives" a table and columns ("Ünïcode", "with space") Doris refuses
 *           unless mapped; the job file renames them.
 *   1. sync exits 0; the clamped / nulled values are reported with table,
 *      key and column; row counts are right;
 *   2. verify --full exits 0 and says match for every table;
 *   3. spot checks of documented value rules straight from Doris.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "p2d_error.h"
#include "sink/dest.h"
#include "sink/doris_sql.h"
#include "engine_it.h"
#include "testlib.h"

static char tmpdir[256];
static char src_conninfo[512];
static PGconn *src;
static struct p2d_doris_sql *dsql;

/* All types. Columns without NOT NULL get NULL in row 1. */
static const char *const T_ALL =
    "CREATE TABLE t_all (id integer PRIMARY KEY,"
    " c_small smallint, c_int integer, c_big bigint,"
    " c_serial serial, c_bigserial bigserial,"
    " c_num numeric(12,3), c_num38 numeric(38,0), c_num38s numeric(38,10),"
    " c_numfree numeric, c_num50 numeric(50,10),"
    " c_real real, c_double double precision, c_money money,"
    " c_char char(5), c_varchar varchar(20), c_text text, c_bytea bytea,"
    " c_ts timestamp, c_ts3 timestamp(3), c_tstz timestamptz, c_date date,"
    " c_time time, c_timetz timetz, c_interval interval, c_bool boolean,"
    " c_point point, c_line line, c_box box, c_circle circle, c_path path,"
    " c_polygon polygon, c_inet inet, c_cidr cidr, c_macaddr macaddr,"
    " c_tsvector tsvector, c_xml xml, c_json json, c_jsonb jsonb, c_uuid uuid,"
    " c_intarr integer[], c_textarr text[], c_enum mood, c_dom dnum,"
    " c_bit bit(8), c_varbit varbit(16))";

static void setup_source(void)
{
    PGconn *admin = PQconnectdb(t_env("P2D_PG_CONNINFO"));

    T_EQ_INT(PQstatus(admin), CONNECTION_OK);
    it_pg_ok(admin, "DROP DATABASE IF EXISTS at_src");
    it_pg_ok(admin, "CREATE DATABASE at_src ENCODING 'UTF8' TEMPLATE template0");
    PQfinish(admin);
    snprintf(src_conninfo, sizeof(src_conninfo), "%s dbname=at_src", t_env("P2D_PG_CONNINFO"));
    src = PQconnectdb(src_conninfo);
    T_EQ_INT(PQstatus(src), CONNECTION_OK);
    it_pg_ok(src, "SET client_encoding = 'UTF8'");
    it_pg_ok(src, "CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s \"great\" 🎉')");
    it_pg_ok(src, "CREATE DOMAIN dnum AS numeric(12,2) CHECK (VALUE > -1e9)");
    it_pg_ok(src, T_ALL);
    /* 1: NULLs everywhere (serials take their defaults) */
    it_pg_ok(src, "INSERT INTO t_all (id) VALUES (1)");
    /* 2: ordinary values */
    it_pg_ok(src, "INSERT INTO t_all VALUES (2, 12, 345, 6789, DEFAULT, DEFAULT, 123456789.125, 42,"
                  " 1.5, 3.14159265358979323846264338327950288419716939937510,"
                  " 1234567890123456789012345678901234567890.0123456789, 1.5, 0.1, 12.34,"
                  " 'ab', 'hello', 'world', '\\x00ff10', '2024-02-29 10:11:12.123456',"
                  " '2024-02-29 10:11:12.125', '2024-02-29 10:11:12.5+02', '2024-02-29',"
                  " '10:11:12.5', '10:11:12+05:30', '1 year 2 mons 3 days 04:05:06.7', true,"
                  " '(1,2)', '{1,-1,0}', '(1,1),(0,0)', '<(0,0),1>', '[(0,0),(1,1),(2,0)]',"
                  " '((0,0),(1,1),(1,0))', '192.168.1.1/24', '10.0.0.0/8', '08:00:2b:01:02:03',"
                  " 'a fat cat sat', '<a x=\"1\">t</a>', '{\"a\": [1, 2.5, \"x\"], \"b\": null}',"
                  " '{\"k\": {\"n\": 1e2}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,2,NULL}',"
                  " '{a,\"b c\",NULL}', 'ok', 99.99, B'10101010', B'101')");
    /* 3: minimum extremes */
    it_pg_ok(
        src,
        "INSERT INTO t_all VALUES (3, -32768, -2147483648, -9223372036854775808, -2147483648,"
        " -9223372036854775808, -999999999.999, -99999999999999999999999999999999999999,"
        " -9999999999999999999999999999.9999999999, '-Infinity',"
        " -9999999999999999999999999999999999999999.9999999999, '-Infinity', '-Infinity',"
        " '-92233720368547758.08', '', '', '', '\\x', '-infinity', '4713-01-01 00:00:00 BC',"
        " '-infinity', '4713-01-01 BC', '00:00:00', '00:00:00-15:59', '-178000000 years',"
        " false, '(-1e300,1e-300)', '{0,1,0}', '(0,0),(0,0)', '<(0,0),0>', '((0,0))',"
        " '((0,0))', '::/0', '::/0', '00:00:00:00:00:00', '', '', '[]', '{}',"
        " '00000000-0000-0000-0000-000000000000', '{}', '{}', 'sad', -999999999.99, B'00000000',"
        " B'')");
    /* 4: maximum extremes */
    it_pg_ok(
        src,
        "INSERT INTO t_all VALUES (4, 32767, 2147483647, 9223372036854775807, 2147483647,"
        " 9223372036854775807, 999999999.999, 99999999999999999999999999999999999999,"
        " 9999999999999999999999999999.9999999999, 'Infinity',"
        " 9999999999999999999999999999999999999999.9999999999, 3.4028235e38,"
        " 1.7976931348623157e308, '92233720368547758.07', 'zzzzz',"
        " repeat('é', 20), repeat('🎉', 1000), decode(repeat('ff', 1000), 'hex'),"
        " 'infinity', '9999-12-31 23:59:59.999', 'infinity', '9999-12-31', '24:00:00',"
        " '23:59:59.999999+15:59', '178000000 years', true, '(1e300,-1e-300)', '{1,0,5}',"
        " '(1e10,1e10),(-1e10,-1e10)', '<(1,1),1e10>', '[(0,0),(1,1)]', '((0,0),(9,9),(9,0))',"
        " 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128', '255.255.255.255/32',"
        " 'ff:ff:ff:ff:ff:ff', 'zzz:1A yyy:2B', '<r/>', '[1e308, -1e-308, 12345678901234567890]',"
        " '{\"big\": 123456789012345678901234567890}', 'ffffffff-ffff-ffff-ffff-ffffffffffff',"
        " '{2147483647,-2147483648}', '{\"\\\\\",\"\\\"\"}', 'it''s \"great\" 🎉', 9999999999.99,"
        " B'11111111', B'1111111111111111')");
    /* 5: out of Doris range: NaN, year > 9999, BC, tiny floats */
    it_pg_ok(src, "INSERT INTO t_all (id, c_num, c_num38, c_numfree, c_real, c_double, c_ts, c_ts3,"
                  " c_tstz, c_date, c_dom) VALUES (5, 'NaN', 'NaN', 'NaN', 'NaN', 'NaN',"
                  " '294276-12-31 23:59:59.999999', '0001-01-01 00:00:00 BC',"
                  " '10000-01-01 00:00:00+00', '5874897-12-31', 'NaN')");
    it_pg_ok(src, "INSERT INTO t_all (id, c_real, c_double, c_ts, c_tstz, c_date) VALUES"
                  " (6, 1.4e-45, 4.9e-324, '0001-01-01 00:00:00', '0001-01-01 00:00:00+00',"
                  " '0001-01-01'), (7, -0, -0, '1970-01-01', '1999-12-31 23:59:59.999999+00',"
                  " '2000-02-29')");
    /* 8: hostile text in every text-like column */
    it_pg_ok(src,
             "CREATE TEMP TABLE hostile AS SELECT E'tab\\there new\\nline cr\\rx back\\\\slash"
             " \"dq\" ''sq'' ' || (SELECT string_agg(chr(i), '') FROM generate_series(1, 31) i)"
             " || ' Grüße 日本語 🎉😀 end' AS h");
    it_pg_ok(src,
             "INSERT INTO t_all (id, c_char, c_varchar, c_text, c_money, c_xml, c_json, c_jsonb,"
             " c_textarr, c_tsvector, c_interval) SELECT 8, E'\\t\\n\\\\\"\\r', E'\\\\N',"
             " h, '0', XMLPARSE(CONTENT E'<t>tab\\there \\\\ \\n🎉 ''q'' &quot;</t>'),"
             " json_build_object(h, h, 'n', E'\\\\N', 'x', E'\\t'),"
             " jsonb_build_object('k', h), ARRAY[h, E'\\\\N', NULL, ''],"
             " to_tsvector('simple', 'tab\there ''quoted'' back\\\\slash'), '-1 day +01:00'"
             " FROM hostile");
    /* 9: \N as the whole value, 10: 1 MB TOASTed text */
    it_pg_ok(src, "INSERT INTO t_all (id, c_text, c_varchar, c_json) VALUES"
                  " (9, E'\\\\N', E'\\\\N\\t', '\"\\\\N\"'),"
                  " (10, (SELECT string_agg(md5(i::text) || E'\\t\\\\', '') FROM"
                  " generate_series(1, 29128) i), 'big', '\" starts with a quote\"')");

    /* partitioned: three range leaves with rows in each */
    it_pg_ok(src, "CREATE TABLE t_part (id integer, d date, v text, n numeric(10,2),"
                  " PRIMARY KEY (id, d)) PARTITION BY RANGE (d)");
    it_pg_ok(src, "CREATE TABLE t_part_a PARTITION OF t_part FOR VALUES FROM (MINVALUE)"
                  " TO ('2024-01-01')");
    it_pg_ok(src, "CREATE TABLE t_part_b PARTITION OF t_part FOR VALUES FROM ('2024-01-01')"
                  " TO ('2025-01-01')");
    it_pg_ok(
        src,
        "CREATE TABLE t_part_c PARTITION OF t_part FOR VALUES FROM ('2025-01-01') TO (MAXVALUE)");
    it_pg_ok(src, "INSERT INTO t_part SELECT g, DATE '2023-06-01' + g * 3,"
                  " CASE WHEN g % 4 = 0 THEN NULL ELSE E'v\\t' || g END, g / 8.0"
                  " FROM generate_series(1, 300) g");

    /* no key */
    it_pg_ok(src, "CREATE TABLE t_nokey (msg text, n integer, f double precision, ts timestamptz)");
    it_pg_ok(src, "INSERT INTO t_nokey SELECT CASE g % 3 WHEN 0 THEN NULL WHEN 1 THEN E'a\\nb\\\\'"
                  " ELSE '' END, g, CASE WHEN g % 5 = 0 THEN 'NaN' ELSE g / 3.0 END,"
                  " CASE WHEN g = 7 THEN 'infinity' ELSE now() END FROM generate_series(1, 50) g");

    /* composite key (text, bigint, uuid) with hostile key text */
    it_pg_ok(src, "CREATE TABLE t_comp (k1 text, k2 bigint, k3 uuid, v text,"
                  " PRIMARY KEY (k1, k2, k3))");
    it_pg_ok(src, "INSERT INTO t_comp SELECT CASE g % 4 WHEN 0 THEN E'k\\t' WHEN 1 THEN 'K'"
                  " WHEN 2 THEN 'ü🎉' ELSE E'\\\\N' END || (g % 7), g % 5 - 2,"
                  " md5(g::text)::uuid, 'v' || g FROM generate_series(1, 400) g");

    /* names Doris refuses unless mapped */
    it_pg_ok(src, "CREATE TABLE \"9lives\" (id integer PRIMARY KEY, \"Ünïcode\" text,"
                  " \"with space\" integer)");
    it_pg_ok(src, "INSERT INTO \"9lives\" VALUES (1, 'ä', 1), (2, NULL, NULL), (3, '', -1)");
    it_pg_ok(src, "ANALYZE");
}

static void expect_doris(const char *q, const char *want)
{
    char got[512];

    it_doris_value(dsql, "dst", q, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", q, got, want);
    T_EQ_STR(got, want);
}

int main(void)
{
    char dest[256], state[300], log[300], job[300], err[256];
    struct p2d_dest d;
    char *out;
    int rc;
    FILE *f;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/p2d_alltypes_%d", (int)getpid());
    mkdir(tmpdir, 0755);
    snprintf(state, sizeof(state), "%s/state", tmpdir);
    snprintf(job, sizeof(job), "%s/job.json", tmpdir);
    snprintf(dest, sizeof(dest), "http://root@127.0.0.1:%s/dst", t_env("EMU_FE_PORT"));
    f = fopen(job, "w");
    T_CHECK(f != NULL);
    fputs("{\"version\": 1, \"tables\": {\"public.9lives\": {\"name\": \"nine_lives\","
          " \"columns\": {\"Ünïcode\": \"unicode_col\", \"with space\": \"with_space\"}}}}\n",
          f);
    fclose(f);
    setup_source();
    T_EQ_INT(p2d_dest_parse(dest, NULL, &d, err, sizeof(err)), 0);
    dsql = p2d_doris_sql_create(&d, 60000);
    T_CHECK(dsql != NULL);

    /* 1. sync */
    {
        const char *args[] = {"sync", "--source", src_conninfo,  "--dest",  dest,  "--job",
                              job,    "--mode",   "schema,full", "--state", state, NULL};

        snprintf(log, sizeof(log), "%s/sync.log", tmpdir);
        rc = it_run_pg2doris(args, log, NULL, 0, 0);
        out = it_slurp(log);
        fprintf(stderr, "--- sync (exit %d)\n%s", rc, out);
        T_EQ_INT(rc, 0);
        /* reports name table, key and column */
        T_HAS_STR(out, "table \"public.t_all\" row id=3 column \"c_ts\": value \"-infinity\"");
        T_HAS_STR(out, "table \"public.t_all\" row id=4 column \"c_tstz\": value \"infinity\"");
        T_HAS_STR(out, "table \"public.t_all\" row id=3 column \"c_ts3\": value \"4713-01-01 "
                       "00:00:00 BC\"");
        T_HAS_STR(out, "table \"public.t_all\" row id=5 column \"c_ts\": value \"294276-12-31");
        T_HAS_STR(out, "table \"public.t_all\" row id=5 column \"c_double\": value \"NaN\"");
        T_HAS_STR(out, "table \"public.t_all\" row id=5 column \"c_dom\": value \"NaN\"");
        T_HAS_STR(out, "table \"public.t_all\" row id=3 column \"c_real\": value \"-Infinity\"");
        T_HAS_STR(out, "clamped");
        T_HAS_STR(out, "written as NULL");
        T_HAS_STR(out, "table \"public.t_nokey\"");
        free(out);
    }

    /* 2. verify --full: every table matches */
    {
        const char *args[] = {"verify", "--source", src_conninfo, "--dest", dest,
                              "--job",  job,        "--full",     NULL};

        snprintf(log, sizeof(log), "%s/verify.log", tmpdir);
        rc = it_run_pg2doris(args, log, NULL, 0, 0);
        out = it_slurp(log);
        fprintf(stderr, "--- verify --full (exit %d)\n%s", rc, out);
        T_EQ_INT(rc, P2D_EXIT_OK);
        T_HAS_STR(out, "\"public.t_all\" -> \"dst\".\"t_all\": match, source 10 rows, "
                       "destination 10 rows, 10 rows compared (all rows)");
        T_HAS_STR(out, "\"public.t_part\" -> \"dst\".\"t_part\": match, source 300 rows, "
                       "destination 300 rows, 300 rows compared (all rows)");
        T_HAS_STR(out, "\"public.t_comp\" -> \"dst\".\"t_comp\": match, source 400 rows");
        T_HAS_STR(out, "\"public.t_nokey\" -> \"dst\".\"t_nokey\": match, source 50 rows");
        T_HAS_STR(out, "\"public.9lives\" -> \"dst\".\"nine_lives\": match, source 3 rows");
        T_HAS_STR(out, "5 match, 0 mismatch");
        T_CHECK(strstr(out, "t_part_a") == NULL); /* leaves are not tables of their own */
        free(out);
    }

    /* 3. documented value rules, read back from Doris */
    expect_doris("SELECT c_ts FROM t_all WHERE id = 3", "0000-01-01 00:00:00.000000");
    expect_doris("SELECT c_date FROM t_all WHERE id = 4", "9999-12-31");
    expect_doris("SELECT c_text FROM t_all WHERE id = 9", "\\N");
    expect_doris("SELECT c_varchar FROM t_all WHERE id = 8", "\\N");
    expect_doris("SELECT c_numfree FROM t_all WHERE id = 4", "Infinity");
    expect_doris("SELECT c_double FROM t_all WHERE id = 5", "<NULL>");
    expect_doris("SELECT unicode_col FROM nine_lives WHERE id = 1", "ä");
    expect_doris("SELECT count(*) FROM t_part", "300");

    p2d_doris_sql_destroy(dsql);
    PQfinish(src);
    if (t_failed == 0)
        free(t_sh("rm -rf %s", tmpdir));
    return t_done();
}
