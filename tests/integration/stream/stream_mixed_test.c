/*
 * stream_mixed_test.c - `pg2doris sync` (schema, full load, then the WAL
 * stream) under a mixed write workload that starts before the sync and
 * goes on while it moves from the full load into streaming; through the
 * built binary, against PostgreSQL and doris-emu.
 *
 * Source (database sm_src):
 *   t_all          Unique, int key, every type of alltypes_test (NULLs,
 *                  extremes, hostile text, a 1 MB TOASTed text);
 *   t_comp         Unique, composite key (text with hostile bytes, bigint);
 *   t_toast_def    Unique, a 12.8 KB TOASTed text, REPLICA IDENTITY DEFAULT:
 *                  an update that leaves it alone sends it as unchanged
 *                  ('u'), which must become a partial-column update;
 *   t_toast_full   the same on REPLICA IDENTITY FULL: filled from the old row;
 *   t_toast_keychg the same as t_toast_def: a key-changing update that leaves
 *                  the TOAST value alone has it in no message, so the
 *                  engine reads it from the source under the new key (or
 *                  writes nothing there when that row is gone already);
 *   t_keyless      no key, REPLICA IDENTITY FULL: Duplicate model with
 *                  `_is_deleted`, `_version`, `_record_id`;
 *   t_dupk         a primary key, mapped to the Duplicate model by the job
 *                  file.
 * The workload: inserts, updates of every column and of one column (TOAST
 * left alone), key-changing updates, deletes, a delete and an insert of
 * the same key in one transaction, multi-row updates.
 *   1. the sync reaches streaming while the workload runs; after the
 *      workload stops, the slot's confirmed_flush_lsn reaches the source's
 *      current LSN, and SIGTERM exits 0 after flushing;
 *   2. verify --full matches for every table (with the job file; the job
 *      file's tables must be selected, so the second run excludes by flag
 *      only the table of the key-change cases);
 *   3. Doris rows equal source rows (text, integers, NULLs, full TOAST
 *      values); the Duplicate tables give the source state through the
 *      dedupe queries shown below; their extra columns hold sane values.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "p2d_error.h"
#include "engine_it.h"
#include "stream_common.h"
#include "testlib.h"

static struct sw_env env;
static char src_conninfo[512];
static PGconn *src;

/* t_all's columns after the key, as in alltypes_test.c */
#define ALL_COLS                                                                                   \
    "c_small, c_int, c_big, c_serial, c_bigserial, c_num, c_num38, c_num38s, c_numfree, c_num50,"  \
    " c_real, c_double, c_money, c_char, c_varchar, c_text, c_bytea, c_ts, c_ts3, c_tstz,"         \
    " c_date, c_time, c_timetz, c_interval, c_bool, c_point, c_line, c_box, c_circle, c_path,"     \
    " c_polygon, c_inet, c_cidr, c_macaddr, c_tsvector, c_xml, c_json, c_jsonb, c_uuid,"           \
    " c_intarr, c_textarr, c_enum, c_dom, c_bit, c_varbit"

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

/* hostile text values (SQL literals) */
static const char *const HOSTILE[] = {
    "E'tab\\there'", "E'new\\nline\\r'",  "E'back\\\\slash\\\\'",   "'\"quoted\" ''s'''",
    "E'\\\\N'",      "E'ctl\\x01\\x1f'",  "'Grüße 日本 🎉'",         "''",
    "NULL",          "E'\\\\N\\t,\"x\"'", "E'a\\tb\\nc\\\\d\"e'''", "'plain'",
};
#define NHOSTILE ((int)(sizeof(HOSTILE) / sizeof(HOSTILE[0])))

/* a 12.8 KB value PostgreSQL keeps out of line (md5 text barely compresses) */
#define BIG_EXPR(seed)                                                                             \
    "(SELECT string_agg(md5((" seed ")::text || '/' || i), '') FROM generate_series(1, 400) i)"

static void setup_source(void)
{
    src = it_pg_fresh_db("sm_src", src_conninfo, sizeof(src_conninfo));
    it_pg_ok(src, "SET client_encoding = 'UTF8'");
    it_pg_ok(src, "CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s \"great\" 🎉')");
    it_pg_ok(src, "CREATE DOMAIN dnum AS numeric(12,2) CHECK (VALUE > -1e9)");
    it_pg_ok(src, T_ALL);
    /* the rows of alltypes_test: NULLs, ordinary, minimum and maximum
     * extremes, out-of-range values, hostile text, \N, 1 MB TOASTed text */
    it_pg_ok(src, "INSERT INTO t_all (id) VALUES (1)");
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
    it_pg_ok(src, "INSERT INTO t_all (id, c_num, c_num38, c_numfree, c_real, c_double, c_ts, c_ts3,"
                  " c_tstz, c_date, c_dom) VALUES (5, 'NaN', 'NaN', 'NaN', 'NaN', 'NaN',"
                  " '294276-12-31 23:59:59.999999', '0001-01-01 00:00:00 BC',"
                  " '10000-01-01 00:00:00+00', '5874897-12-31', 'NaN')");
    it_pg_ok(src, "INSERT INTO t_all (id, c_real, c_double, c_ts, c_tstz, c_date) VALUES"
                  " (6, 1.4e-45, 4.9e-324, '0001-01-01 00:00:00', '0001-01-01 00:00:00+00',"
                  " '0001-01-01'), (7, -0, -0, '1970-01-01', '1999-12-31 23:59:59.999999+00',"
                  " '2000-02-29')");
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
    it_pg_ok(src, "INSERT INTO t_all (id, c_text, c_varchar, c_json) VALUES"
                  " (9, E'\\\\N', E'\\\\N\\t', '\"\\\\N\"'),"
                  " (10, (SELECT string_agg(md5(i::text) || E'\\t\\\\', '') FROM"
                  " generate_series(1, 29128) i), 'big', '\" starts with a quote\"')");
    /* more rows for the full load: copies of 1..9 at 11..59 */
    it_pg_ok(src, "INSERT INTO t_all (id, " ALL_COLS ") SELECT id + 10 * g, " ALL_COLS
                  " FROM t_all, generate_series(1, 5) g WHERE id < 10");

    it_pg_ok(src, "CREATE TABLE t_comp (k1 text, k2 bigint, v text, n integer,"
                  " PRIMARY KEY (k1, k2))");
    it_pg_ok(src, "INSERT INTO t_comp SELECT CASE g % 6 WHEN 0 THEN E'k\\t' WHEN 1 THEN 'K'"
                  " WHEN 2 THEN 'ü🎉' WHEN 3 THEN E'\\\\N' WHEN 4 THEN E'a\\nb' ELSE 'q''\"' END,"
                  " g, CASE WHEN g % 5 = 0 THEN NULL ELSE E'v\\t' || g END, g"
                  " FROM generate_series(1, 200) g");
    it_pg_ok(src, "INSERT INTO t_comp VALUES ('probe', 90000, 'p', 0)");

    it_pg_ok(src, "CREATE TABLE t_toast_def (id integer PRIMARY KEY, n integer, big text)");
    it_pg_ok(src, "INSERT INTO t_toast_def SELECT g, g, " BIG_EXPR(
                      "g") " FROM generate_series(1, 30) g");
    /* rows the workload never touches, for the checks after it */
    it_pg_ok(src, "INSERT INTO t_toast_def SELECT g, g, " BIG_EXPR(
                      "g") " FROM generate_series(9001, 9005) g");
    it_pg_ok(src, "CREATE TABLE t_toast_full (LIKE t_toast_def INCLUDING ALL)");
    it_pg_ok(src, "ALTER TABLE t_toast_full REPLICA IDENTITY FULL");
    it_pg_ok(src, "INSERT INTO t_toast_full SELECT * FROM t_toast_def");
    it_pg_ok(src, "CREATE TABLE t_toast_keychg (LIKE t_toast_def INCLUDING ALL)");
    it_pg_ok(src, "INSERT INTO t_toast_keychg SELECT * FROM t_toast_def WHERE id <= 5");

    it_pg_ok(src, "CREATE TABLE t_keyless (a integer NOT NULL, b text, n integer)");
    it_pg_ok(src, "ALTER TABLE t_keyless REPLICA IDENTITY FULL");
    /* identical rows on purpose (g % 50 repeats) */
    it_pg_ok(src, "INSERT INTO t_keyless SELECT g % 50, CASE g % 4 WHEN 0 THEN NULL"
                  " WHEN 1 THEN E'x\\ty\\\\' ELSE 'b' || (g % 3) END, g % 7"
                  " FROM generate_series(1, 100) g");

    it_pg_ok(src, "CREATE TABLE t_dupk (id integer PRIMARY KEY, v integer NOT NULL, w text)");
    it_pg_ok(src, "ALTER TABLE t_dupk REPLICA IDENTITY FULL");
    it_pg_ok(src,
             "INSERT INTO t_dupk SELECT g, g * 10, E'w\\n' || g FROM generate_series(1, 100) g");
    it_pg_ok(src, "ANALYZE");
}

/* ---- the workload ------------------------------------------------------------------- */

struct mix {
    int next_all, next_comp, next_toast, next_dupk;
};

static void mix_init(struct sw_ctx *c)
{
    /* templates: the first ten rows as they were (temp: not published) */
    sw_exec(c, "CREATE TEMP TABLE IF NOT EXISTS tpl AS SELECT * FROM t_all WHERE id <= 10");
}

static void step_all(struct sw_ctx *c, struct mix *m)
{
    int op = sw_rand(c, 100), x = 11 + sw_rand(c, m->next_all - 11);
    int k = sw_rand(c, 100) == 0 ? 10 : 1 + sw_rand(c, 9); /* the 1 MB row now and then */

    if (op < 25)
        sw_exec(c,
                "INSERT INTO t_all (id, " ALL_COLS ") SELECT %d, " ALL_COLS
                " FROM tpl WHERE id = %d",
                m->next_all++, k);
    else if (op < 45)
        sw_exec(c,
                "UPDATE t_all SET (" ALL_COLS ") = (SELECT " ALL_COLS
                " FROM tpl WHERE id = %d) WHERE id = %d",
                k, x);
    else if (op < 60) /* one column: a TOASTed c_text stays unchanged */
        sw_exec(c, "UPDATE t_all SET c_small = %d WHERE id = %d", sw_rand(c, 30000), x);
    else if (op < 70)
        sw_exec(c, "DELETE FROM t_all WHERE id = %d", x);
    else if (op < 80) /* key change; rows with an out-of-line c_text: see t_toast_keychg */
        sw_exec(c,
                "UPDATE t_all SET id = %d WHERE id = %d AND coalesce(octet_length(c_text), 0) < "
                "2000",
                m->next_all++, x);
    else if (op < 90) /* delete and insert of one key in one transaction */
        sw_exec(c,
                "BEGIN; DELETE FROM t_all WHERE id = %d; INSERT INTO t_all (id, " ALL_COLS
                ") SELECT %d, " ALL_COLS " FROM tpl WHERE id = %d; COMMIT",
                x, x, k);
    else
        sw_exec(c,
                "UPDATE t_all SET c_int = c_int / 2 + %d, c_text = %s WHERE id BETWEEN %d AND %d",
                sw_rand(c, 1000), HOSTILE[sw_rand(c, NHOSTILE)], x, x + 20);
}

static void step_comp(struct sw_ctx *c, struct mix *m)
{
    static const char *const k1s[] = {"E'k\\t'", "'K'", "'ü🎉'", "E'\\\\N'", "E'a\\nb'", "'q''\"'"};
    int op = sw_rand(c, 100), x = 1 + sw_rand(c, m->next_comp - 1);
    const char *k1 = k1s[sw_rand(c, 6)], *h = HOSTILE[sw_rand(c, NHOSTILE)];

    if (op < 30)
        sw_exec(c, "INSERT INTO t_comp VALUES (%s, %d, %s, %d)", k1, m->next_comp++, h, op);
    else if (op < 55)
        sw_exec(c, "UPDATE t_comp SET v = %s, n = n + 1 WHERE k2 = %d", h, x);
    else if (op < 65) /* the second key column changes */
        sw_exec(c, "UPDATE t_comp SET k2 = %d WHERE k2 = %d", m->next_comp++, x);
    else if (op < 75) /* the first key column changes */
        sw_exec(c, "UPDATE t_comp SET k1 = %s WHERE k2 = %d", k1, x);
    else if (op < 90)
        sw_exec(c, "DELETE FROM t_comp WHERE k2 = %d", x);
    else
        sw_exec(c,
                "BEGIN; DELETE FROM t_comp WHERE k2 = %d; INSERT INTO t_comp VALUES (%s, %d, %s, "
                "-1); COMMIT",
                x, k1, x, h);
}

static void step_toast(struct sw_ctx *c, struct mix *m, const char *t, bool keychange)
{
    int op = sw_rand(c, 100), x = 1 + sw_rand(c, m->next_toast - 1);

    if (op < 55) /* TOAST value left alone: sent as unchanged */
        sw_exec(c, "UPDATE %s SET n = n + 1 WHERE id = %d", t, x);
    else if (op < 65)
        sw_exec(c, "UPDATE %s SET big = " BIG_EXPR("%d") " WHERE id = %d", t, op, x);
    else if (op < 80)
        sw_exec(c, "INSERT INTO %s VALUES (%d, 0, " BIG_EXPR("%d") ")", t, m->next_toast++, x);
    else if (op < 90)
        sw_exec(c, "DELETE FROM %s WHERE id = %d", t, x);
    else if (keychange)
        sw_exec(c, "UPDATE %s SET id = %d WHERE id = %d", t, m->next_toast++, x);
    else
        sw_exec(c, "UPDATE %s SET n = n - 1 WHERE id BETWEEN %d AND %d", t, x, x + 5);
}

static void step_keyless(struct sw_ctx *c)
{
    int op = sw_rand(c, 100), a = sw_rand(c, 50);
    const char *h = HOSTILE[sw_rand(c, NHOSTILE)];

    if (op < 35)
        sw_exec(c, "INSERT INTO t_keyless VALUES (%d, %s, %d)", a, h, sw_rand(c, 7));
    else if (op < 55) /* one of possibly identical rows */
        sw_exec(c,
                "UPDATE t_keyless SET n = n + 1 WHERE ctid = (SELECT ctid FROM t_keyless WHERE a "
                "= %d LIMIT 1)",
                a);
    else if (op < 65)
        sw_exec(c, "UPDATE t_keyless SET b = %s WHERE a = %d", h, a);
    else if (op < 85)
        sw_exec(c,
                "DELETE FROM t_keyless WHERE ctid = (SELECT ctid FROM t_keyless WHERE a = %d "
                "LIMIT 1)",
                a);
    else
        sw_exec(c,
                "BEGIN; DELETE FROM t_keyless WHERE a = %d; INSERT INTO t_keyless VALUES (%d, %s, "
                "0), (%d, %s, 0); COMMIT",
                a, a, h, a, h);
}

static void step_dupk(struct sw_ctx *c, struct mix *m)
{
    int op = sw_rand(c, 100), x = 1 + sw_rand(c, m->next_dupk - 1);
    const char *h = HOSTILE[sw_rand(c, NHOSTILE)];

    if (op < 30)
        sw_exec(c, "INSERT INTO t_dupk VALUES (%d, %d, %s)", m->next_dupk++, op, h);
    else if (op < 60)
        sw_exec(c, "UPDATE t_dupk SET v = v + 1, w = %s WHERE id = %d", h, x);
    else if (op < 70)
        sw_exec(c, "UPDATE t_dupk SET id = %d WHERE id = %d", m->next_dupk++, x);
    else if (op < 85)
        sw_exec(c, "DELETE FROM t_dupk WHERE id = %d", x);
    else
        sw_exec(c,
                "BEGIN; DELETE FROM t_dupk WHERE id = %d; INSERT INTO t_dupk VALUES (%d, -%d, %s);"
                " COMMIT",
                x, x, op, h);
}

static void mix_step(struct sw_ctx *c)
{
    struct mix *m = c->user;
    int t = sw_rand(c, 100);

    if (t < 30)
        step_all(c, m);
    else if (t < 50)
        step_comp(c, m);
    else if (t < 60)
        step_toast(c, m, "t_toast_def", false);
    else if (t < 70)
        step_toast(c, m, "t_toast_full", true);
    else if (t < 85)
        step_keyless(c);
    else
        step_dupk(c, m);
}

/* ---- checks ----------------------------------------------------------------------- */

static void same_rows(const char *pg_sql, const char *doris_sql, const char *label)
{
    long long n = 0, bad = it_compare_rows(src, pg_sql, env.dsql, env.db, doris_sql, label, &n);

    fprintf(stderr, "%s: %lld source rows, %lld differ\n", label, n, bad);
    T_EQ_INT(bad, 0);
}

/* The verify line of table (e.g. "public.t_all") says match. */
int main(void)
{
    char state[300], log[300], job[300], vlog[300], slot[128], target[64];
    struct mix m = {.next_all = 100, .next_comp = 201, .next_toast = 31, .next_dupk = 101};
    struct sw_workload w = {.init = mix_init, .step = mix_step, .pause_us = 2000, .seed = 4};
    double t0, t_stream, t_caught;
    time_t epoch0 = time(NULL), epoch1;
    pid_t pid;
    char *out;
    int rc;
    FILE *f;

    sw_env_init(&env, "stream_mixed", "sm_dst");
    sw_path(&env, "state", state, sizeof(state));
    sw_path(&env, "sync.log", log, sizeof(log));
    sw_path(&env, "job.json", job, sizeof(job));
    f = fopen(job, "w");
    T_CHECK(f != NULL);
    fputs("{\"version\": 1, \"tables\": {\"public.t_dupk\": {\"engine\": \"duplicate\"}}}\n", f);
    fclose(f);
    setup_source();

    /* 1. the workload starts first; the sync goes from the full load into
     * streaming under it */
    w.conninfo = src_conninfo;
    w.user = &m;
    sw_start(&w);
    usleep(700000);
    t0 = sw_now();
    {
        const char *args[] = {"sync",   "--source",    src_conninfo, "--dest",
                              env.dest, "--state",     state,        "--job",
                              job,      "--readers",   "2",          "--batch-timeout-ms",
                              "1000",   "--log-level", "debug",      NULL};

        pid = it_start_pg2doris(args, log);
    }
    T_CHECK(it_wait_log(pid, log, "cdc: streaming slot", 60000));
    t_stream = sw_now();
    sleep(4); /* streaming under the workload */
    sw_stop(&w);
    T_EQ_INT(w.ctx.errors, 0);
    T_CHECK(w.ctx.txns > 200);

    /* explicit cases on top, while streaming */
    /* TOAST left alone on REPLICA IDENTITY DEFAULT (partial update) and FULL */
    it_pg_ok(src, "UPDATE t_toast_def SET n = n + 1000 WHERE id IN (9001, 9002, 9003)");
    it_pg_ok(src, "UPDATE t_toast_full SET n = n + 1000 WHERE id IN (9001, 9002, 9003)");
    /* a key change leaving the TOAST value alone: FULL fills it from the
     * old row; DEFAULT has only the old key */
    it_pg_ok(src, "UPDATE t_toast_full SET id = 5001 WHERE id = 9004");
    it_pg_ok(src, "UPDATE t_toast_keychg SET n = n + 1 WHERE id = 2");
    /* the same on DEFAULT: the value comes from the source; a row deleted
     * right after its key change is written nowhere; a later change of the
     * TOAST value wins */
    it_pg_ok(src, "UPDATE t_toast_keychg SET id = 5001 WHERE id = 1");
    it_pg_ok(src, "BEGIN; UPDATE t_toast_keychg SET id = 5003 WHERE id = 3;"
                  " DELETE FROM t_toast_keychg WHERE id = 5003; COMMIT");
    it_pg_ok(src, "UPDATE t_toast_keychg SET id = 5004 WHERE id = 4");
    it_pg_ok(src, "UPDATE t_toast_keychg SET big = 'short now' WHERE id = 5004");
    /* delete and insert of one key in one transaction, NULLs, \N as text */
    it_pg_ok(src, "BEGIN; DELETE FROM t_all WHERE id = 3;"
                  " INSERT INTO t_all (id, c_int, c_text) VALUES (3, 42, E'again\\t\\\\N\\n');"
                  " COMMIT");
    it_pg_ok(src, "UPDATE t_all SET c_text = NULL, c_varchar = E'\\\\N' WHERE id = 2");
    it_pg_ok(src, "UPDATE t_comp SET k1 = E'new\\tkey\\\\' WHERE k2 = 90000");
    it_pg_current_lsn(src, target, sizeof(target));
    T_EQ_INT(it_state_slot(state, slot, sizeof(slot)), 0);
    T_CHECK(it_wait_slot_flushed(src, slot, target, pid, 90000));
    /* the same key change (FULL) with another change of the table in its batch */
    it_pg_ok(src, "BEGIN; UPDATE t_toast_full SET id = 5003 WHERE id = 9005;"
                  " UPDATE t_toast_full SET n = n + 1 WHERE id = 9002; COMMIT");
    it_pg_current_lsn(src, target, sizeof(target));
    T_CHECK(it_wait_slot_flushed(src, slot, target, pid, 90000));
    t_caught = sw_now();
    epoch1 = time(NULL);
    T_CHECK(it_pid_alive(pid));
    rc = it_stop_pg2doris(pid, SIGTERM, 60000);
    out = it_slurp(log);
    if (rc != 0)
        fprintf(stderr, "--- sync log (end)\n%s\n",
                strlen(out) > 4000 ? out + strlen(out) - 4000 : out);
    T_EQ_INT(rc, 0);
    T_CHECK(strstr(out, "cdc: stopping: flushing pending changes") != NULL);
    T_HAS_STR(out, "it is read from the source under the new key");
    T_CHECK(strstr(out, "cdc: stopped at") != NULL);
    T_CHECK(strstr(out, " error ") == NULL);
    free(out);
    fprintf(stderr, "streaming began %.1f s after the start; caught up %.1f s after it\n",
            t_stream - t0, t_caught - t_stream);

    /* 2. verify --full: every table (the job file maps t_dupk), then all but
     * t_toast_keychg */
    {
        const char *extra[] = {"--job", job, NULL};

        sw_path(&env, "verify_all.log", vlog, sizeof(vlog));
        rc = it_verify_full(src_conninfo, env.dest, extra, vlog, &out);
        fprintf(stderr, "--- verify --full, all tables (exit %d)\n%s", rc, out);
        /* (verify counts a Duplicate table's source state from its change
         * log; rows are not compared there, the dedupe queries below do
         * that.) */
        T_EQ_INT(rc, P2D_EXIT_OK);
        sw_verify_line_match(out, "public.t_all");
        sw_verify_line_match(out, "public.t_comp");
        sw_verify_line_match(out, "public.t_toast_def");
        sw_verify_line_match(out, "public.t_toast_full");
        sw_verify_line_match(out, "public.t_toast_keychg");
        sw_verify_line_match(out, "public.t_keyless");
        sw_verify_line_match(out, "public.t_dupk");
        free(out);
    }
    {
        const char *extra[] = {"--job", job, "--exclude", "public.t_toast_keychg", NULL};

        sw_path(&env, "verify_others.log", vlog, sizeof(vlog));
        rc = it_verify_full(src_conninfo, env.dest, extra, vlog, &out);
        fprintf(stderr, "--- verify --full without t_toast_keychg (exit %d)\n%s", rc, out);
        T_EQ_INT(rc, P2D_EXIT_OK);
        T_HAS_STR(out, "6 match, 0 mismatch");
        free(out);
    }

    /* 3. values straight from Doris */
    same_rows("SELECT id, c_int, c_big, c_text, c_varchar FROM t_all ORDER BY id",
              "SELECT id, c_int, c_big, c_text, c_varchar FROM t_all ORDER BY id", "t_all");
    sw_expect_doris(&env, "SELECT c_text FROM t_all WHERE id = 3", "again\t\\N\n");
    sw_expect_doris(&env, "SELECT c_big FROM t_all WHERE id = 3", "<NULL>");
    sw_expect_doris(&env, "SELECT c_text FROM t_all WHERE id = 2", "<NULL>");
    sw_expect_doris(&env, "SELECT c_varchar FROM t_all WHERE id = 2", "\\N");
    same_rows("SELECT k1, k2, v, n FROM t_comp ORDER BY k2",
              "SELECT k1, k2, v, n FROM t_comp ORDER BY k2", "t_comp");
    sw_expect_doris(&env, "SELECT k1 FROM t_comp WHERE k2 = 90000", "new\tkey\\");
    /* the TOAST values are the full originals, not NULL, not empty */
    same_rows("SELECT id, n, big FROM t_toast_def ORDER BY id",
              "SELECT id, n, big FROM t_toast_def ORDER BY id", "t_toast_def");
    same_rows("SELECT id, n, big FROM t_toast_full ORDER BY id",
              "SELECT id, n, big FROM t_toast_full ORDER BY id", "t_toast_full");
    T_EQ_INT(
        it_doris_count(env.dsql, env.db, "SELECT length(big) FROM t_toast_def WHERE id = 9001"),
        12800);
    T_EQ_INT(
        it_doris_count(env.dsql, env.db, "SELECT length(big) FROM t_toast_full WHERE id = 9001"),
        12800);
    T_EQ_INT(
        it_doris_count(env.dsql, env.db, "SELECT length(big) FROM t_toast_full WHERE id = 5001"),
        12800);
    T_EQ_INT(it_doris_count(env.dsql, env.db, "SELECT n FROM t_toast_def WHERE id = 9001"), 10001);
    T_EQ_INT(
        it_doris_count(env.dsql, env.db, "SELECT length(big) FROM t_toast_keychg WHERE id = 2"),
        12800);
    same_rows("SELECT id, n, big FROM t_toast_keychg ORDER BY id",
              "SELECT id, n, big FROM t_toast_keychg ORDER BY id", "t_toast_keychg");
    T_EQ_INT(
        it_doris_count(env.dsql, env.db, "SELECT length(big) FROM t_toast_keychg WHERE id = 5001"),
        12800);
    T_EQ_INT(it_doris_count(env.dsql, env.db,
                            "SELECT count(*) FROM t_toast_keychg WHERE id IN (1, 3, 4, 5003)"),
             0);
    sw_expect_doris(&env, "SELECT big FROM t_toast_keychg WHERE id = 5004", "short now");
    T_EQ_INT(it_doris_count(env.dsql, env.db, "SELECT count(*) FROM t_toast_full WHERE id = 5003"),
             1);
    T_EQ_INT(
        it_doris_count(env.dsql, env.db, "SELECT length(big) FROM t_toast_full WHERE id = 5003"),
        12800);

    /* Duplicate model, no key: every change is a row; the source state is
     * the tuples whose inserts outnumber their deletes. */
    same_rows("SELECT a, b, n, count(*) FROM t_keyless GROUP BY a, b, n"
              " ORDER BY a, n, b IS NULL, b",
              "SELECT a, b, n, SUM(CASE WHEN _is_deleted THEN -1 ELSE 1 END) AS cnt"
              " FROM t_keyless GROUP BY a, b, n"
              " HAVING SUM(CASE WHEN _is_deleted THEN -1 ELSE 1 END) > 0"
              " ORDER BY a, n, b IS NULL, b",
              "t_keyless dedupe");
    /* the full load's rows: _version 0, never delete markers */
    T_CHECK(it_doris_count(env.dsql, env.db, "SELECT count(*) FROM t_keyless WHERE _version = 0") >=
            100);
    T_EQ_INT(it_doris_count(env.dsql, env.db,
                            "SELECT count(*) FROM t_keyless WHERE _version = 0 AND _is_deleted"),
             0);
    T_CHECK(it_doris_count(env.dsql, env.db,
                           "SELECT count(*) FROM t_keyless WHERE _is_deleted AND _version > 0") >
            0);
    {
        char q[256];

        snprintf(q, sizeof(q),
                 "SELECT count(*) FROM t_keyless WHERE _version > 0 AND (_version < %lld OR"
                 " _version > %lld)",
                 (long long)epoch0 - 5, (long long)epoch1 + 5);
        T_EQ_INT(it_doris_count(env.dsql, env.db, q), 0); /* commit times, in seconds */
    }
    T_EQ_INT(it_doris_count(env.dsql, env.db,
                            "SELECT count(*) FROM t_keyless WHERE _version > 0 AND"
                            " _record_id <= 0"),
             0);
    T_EQ_INT(it_doris_count(env.dsql, env.db,
                            "SELECT count(*) FROM (SELECT _record_id, _is_deleted FROM t_keyless"
                            " WHERE _version > 0 GROUP BY _record_id, _is_deleted"
                            " HAVING count(*) > 1) x"),
             0); /* one row per change */

    /* Duplicate model by the job file, with a key: the latest row of each
     * key by (_version, _record_id), unless it is a delete. */
    same_rows("SELECT id, v, w FROM t_dupk ORDER BY id",
              "SELECT id, v, w FROM (SELECT id, v, w, _is_deleted, ROW_NUMBER() OVER"
              " (PARTITION BY id ORDER BY _version DESC, _record_id DESC) AS rn FROM t_dupk) x"
              " WHERE rn = 1 AND NOT _is_deleted ORDER BY id",
              "t_dupk dedupe");
    {
        char cols[512];

        it_doris_columns(env.dsql, env.db, "t_dupk", cols, sizeof(cols));
        T_EQ_STR(cols, "id,v,w,_is_deleted,_version,_record_id");
        it_doris_columns(env.dsql, env.db, "t_keyless", cols, sizeof(cols));
        T_EQ_STR(cols, "a,b,n,_is_deleted,_version,_record_id");
    }
    T_CHECK(it_doris_count(env.dsql, env.db,
                           "SELECT count(*) FROM t_dupk WHERE _is_deleted AND _version > 0") > 0);

    PQfinish(src);
    sw_env_fini(&env);
    return t_done();
}
