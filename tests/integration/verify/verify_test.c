/*
 * verify_test.c - `pg2doris verify` end to end, through the built binary,
 * against PostgreSQL and doris-emu.
 *
 * Source (database vf_src): t_types (composite key (k1 int, k2 text) and
 * columns of many types with NULLs), t_big (30000 rows, more than the
 * sampled ranges cover), t_tkey (key (date, timestamptz, numeric), more
 * than one page), and tables without a key (Duplicate model, compared as
 * multisets of rows): t_nokey (500 rows), t_multi (many types, NULLs, NaN,
 * clamped dates, JSON; rows present twice or more, rows equal but for
 * their JSON; more than a page), t_nokey_big (25000 rows: sampled).
 *   1. `sync --mode schema,full` exits 0;
 *   2. `verify` (sampled) and `verify --full` exit 0 and say match, the
 *      keyless tables with every row compared (t_nokey_big sampled);
 *   3. one value changed in Doris (a modified row through Stream Load) and
 *      one row deleted in PostgreSQL: `verify --full` exits 6 and names
 *      both keys, the column and both values;
 *   4. keyless tables, same row counts, different rows: a value changed in
 *      PostgreSQL (t_nokey); in t_multi a row the source holds twice left
 *      once in Doris (a delete marker) and a row it holds once appended
 *      again, and a JSON value changed among rows that differ only in it:
 *      `verify --full` exits 6 and names each row with both counts;
 *   5. t_nokey_big changed in a sampled range and outside all of them:
 *      sampled verify sees the first, --full both;
 *   6. one row deleted from t_big in PostgreSQL: sampled verify exits 6
 *      with the count mismatch;
 *   7. an unreachable destination exits 5, and no password is printed.
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
#include "engine_it.h"
#include "testlib.h"

static char tmpdir[256];
static char src_conninfo[512];
static PGconn *src;

static void setup_source(void)
{
    src = it_pg_fresh_db("vf_src", src_conninfo, sizeof(src_conninfo));
    it_pg_ok(
        src,
        "CREATE TABLE t_types (k1 integer, k2 text, v integer, b boolean, d date, ts timestamp(3),"
        " tz timestamptz, n numeric(12,3), f double precision, r real, j jsonb,"
        " t text, PRIMARY KEY (k1, k2))");
    /* k2 sorts differently by bytes than by a locale ('B' < 'a'), so the
     * sort order of both sides is exercised */
    it_pg_ok(src,
             "INSERT INTO t_types SELECT g % 400, CASE g % 3 WHEN 0 THEN 'a' || g"
             " WHEN 1 THEN 'B' || g ELSE E'k\\t' || g END, g * 3,"
             " CASE WHEN g % 7 = 0 THEN NULL ELSE g % 2 = 0 END,"
             " DATE '2024-01-01' + g, TIMESTAMP '2024-01-01 10:00:00.125' + g * INTERVAL '1.5 s',"
             " TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 min',"
             " CASE WHEN g % 11 = 0 THEN NULL ELSE g * 1.25 END, g / 3.0, (g / 7.0)::real,"
             " jsonb_build_object('g', g, 'a', jsonb_build_array(g, 'x', 1.5)),"
             " CASE WHEN g % 5 = 0 THEN NULL ELSE E'line\\n\\\\' || g END"
             " FROM generate_series(1, 2000) g");
    it_pg_ok(src, "CREATE TABLE t_big (id bigint PRIMARY KEY, v text)");
    it_pg_ok(src, "INSERT INTO t_big SELECT g, 'v' || g FROM generate_series(1, 30000) g");
    /* date, timestamptz and numeric keys, over more than one page */
    it_pg_ok(src, "CREATE TABLE t_tkey (d date, ts timestamptz(6), n numeric(10,2), x text,"
                  " PRIMARY KEY (d, ts, n))");
    it_pg_ok(src, "INSERT INTO t_tkey SELECT DATE '2024-01-01' + g % 3,"
                  " TIMESTAMPTZ '2024-01-01 00:00:00.5+00' + (g % 700) * INTERVAL '0.000125 s',"
                  " g / 4.0, 'x' || g FROM generate_series(1, 2500) g");
    it_pg_ok(src, "CREATE TABLE t_nokey (msg text, n integer)");
    it_pg_ok(src, "INSERT INTO t_nokey SELECT 'm' || (g % 10), g FROM generate_series(1, 500) g");
    /* no key, values that sort differently in PostgreSQL than they land
     * (NaN and -0, clamped dates and times, bytes vs locale order), NULLs,
     * and JSON, which Doris cannot order */
    {
        /* t in a locale order where it is available ("a" < "B"), so the
         * source must sort it by bytes like Doris */
        bool icu = it_pg_scalar(src, "SELECT count(*) FROM pg_collation"
                                     " WHERE collname = 'und-x-icu'") > 0;
        char sql[400];

        snprintf(sql, sizeof(sql),
                 "CREATE TABLE t_multi (g integer, t text%s, f double precision, d date,"
                 " n numeric(8,2), b boolean, tz timestamptz(3), j jsonb, js json)",
                 icu ? " COLLATE \"und-x-icu\"" : "");
        it_pg_ok(src, sql);
    }
    it_pg_ok(src, "INSERT INTO t_multi SELECT g % 400,"
                  " CASE g % 4 WHEN 0 THEN NULL WHEN 3 THEN E'x\\ty'"
                  " ELSE (ARRAY['a', 'B', 'b', 'A'])[g / 400 + 1] || g % 3 END,"
                  " CASE g % 9 WHEN 0 THEN 'NaN' WHEN 1 THEN NULL WHEN 2 THEN '-0'"
                  " ELSE (g % 5) / 3.0 END,"
                  " CASE g % 11 WHEN 0 THEN 'infinity' WHEN 1 THEN '20000-01-01'"
                  " WHEN 2 THEN '0044-03-15 BC' WHEN 3 THEN '-infinity'"
                  " ELSE DATE '2024-01-01' + g % 13 END,"
                  " CASE g % 13 WHEN 0 THEN 'NaN' WHEN 1 THEN NULL ELSE (g % 17) * 1.25 END,"
                  " CASE g % 3 WHEN 0 THEN NULL ELSE g % 2 = 0 END,"
                  " CASE g % 6 WHEN 0 THEN 'infinity'"
                  " ELSE TIMESTAMPTZ '2024-01-01 00:00:00.5+00' + (g % 5) * INTERVAL '1.25 s' END,"
                  " CASE g % 5 WHEN 0 THEN NULL"
                  " ELSE jsonb_build_object('k', g % 3, 'a', jsonb_build_array(g % 2)) END,"
                  " CASE g % 7 WHEN 0 THEN NULL ELSE json_build_object('z', g % 4, 'y', 'w') END"
                  " FROM generate_series(1, 1500) g");
    /* copies: every tenth row twice, some three times */
    it_pg_ok(src, "INSERT INTO t_multi SELECT * FROM t_multi WHERE g % 10 = 0");
    it_pg_ok(src, "INSERT INTO t_multi SELECT * FROM t_multi WHERE g % 100 = 0");
    /* A twice, B once, C1..C3 equal but for their JSON */
    it_pg_ok(src, "INSERT INTO t_multi VALUES"
                  " (9001, 'dup', 1.5, '2024-05-05', 2.5, true, '2024-01-01 00:00:00+00',"
                  " '{\"k\": 1}', NULL),"
                  " (9001, 'dup', 1.5, '2024-05-05', 2.5, true, '2024-01-01 00:00:00+00',"
                  " '{\"k\": 1}', NULL),"
                  " (9002, 'single', NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
                  " (9003, 'tie', 2, NULL, NULL, NULL, NULL, '{\"k\": 1}', '[1]'),"
                  " (9003, 'tie', 2, NULL, NULL, NULL, NULL, '{\"k\": 2}', '[1]'),"
                  " (9003, 'tie', 2, NULL, NULL, NULL, NULL, '{\"k\": 3}', '[1]')");
    it_pg_ok(src, "CREATE TABLE t_nokey_big (n integer, v text)");
    it_pg_ok(src, "INSERT INTO t_nokey_big SELECT g, 'v' || g FROM generate_series(1, 25000) g");
    /* only JSON: no order Doris can follow, more distinct rows than a page */
    it_pg_ok(src, "CREATE TABLE t_jsononly (j jsonb)");
    it_pg_ok(src, "INSERT INTO t_jsononly SELECT jsonb_build_object('g', g)"
                  " FROM generate_series(1, 1200) g");
    it_pg_ok(src, "ANALYZE");
}

/* Runs verify with extra args; returns the exit code and *out the output. */
static int verify(const char *dest, const char *extra, const char *include, char **out)
{
    char log[400];
    const char *args[16] = {"verify", "--source", src_conninfo, "--dest", dest};
    int n = 5, rc;

    if (extra)
        args[n++] = extra;
    if (include) {
        args[n++] = "--include";
        args[n++] = include;
    }
    args[n] = NULL;
    snprintf(log, sizeof(log), "%s/verify.log", tmpdir);
    rc = it_run_pg2doris(args, log, NULL, 0, 0);
    *out = it_slurp(log);
    fprintf(stderr, "--- verify %s (exit %d)\n%s", extra ? extra : "", rc, *out);
    return rc;
}

/* Loads CSV rows into dst.table through the FE (307 followed); partial:
 * a partial-column update (Unique tables). */
static void stream_load_rows(const char *table, const char *columns, const char *rows, bool partial)
{
    char url[256], cols[256], label[128];
    struct t_req req = {.method = "PUT", .userpwd = "root:", .follow = true};
    struct t_resp resp;

    snprintf(url, sizeof(url), "http://127.0.0.1:%s/api/dst/%s/_stream_load", t_env("EMU_FE_PORT"),
             table);
    snprintf(cols, sizeof(cols), "columns: %s", columns);
    snprintf(label, sizeof(label), "label: verify_test_%d_%s", (int)getpid(), table);
    req.url = url;
    req.headers[0] = "Expect: 100-continue";
    req.headers[1] = cols;
    req.headers[2] = label;
    req.headers[3] = "column_separator: \\t";
    req.headers[4] = partial ? "partial_columns: true" : NULL;
    req.body = rows;
    req.body_len = strlen(rows);
    t_http(&req, &resp);
    T_EQ_INT(resp.status, 200);
    T_HAS_STR(resp.body, "\"Success\"");
    if (!resp.body || !strstr(resp.body, "\"Success\""))
        fprintf(stderr, "stream load: %s\n", resp.body ? resp.body : resp.curl_error);
    t_resp_free(&resp);
}

static void stream_load(const char *table, const char *columns, const char *row)
{
    stream_load_rows(table, columns, row, true);
}

int main(void)
{
    char dest[256], destbad[256], state[300], log[300], want[512];
    long long nmulti;
    char *out;
    int rc;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/p2d_verify_%d", (int)getpid());
    mkdir(tmpdir, 0755);
    snprintf(state, sizeof(state), "%s/state", tmpdir);
    snprintf(dest, sizeof(dest), "http://root@127.0.0.1:%s/dst", t_env("EMU_FE_PORT"));
    snprintf(destbad, sizeof(destbad), "http://root:Sekr1tPw@127.0.0.1:1/dst");
    setup_source();
    nmulti = it_pg_scalar(src, "SELECT count(*) FROM t_multi");

    /* 1. sync */
    {
        const char *args[] = {"sync",   "--source",    src_conninfo, "--dest", dest,
                              "--mode", "schema,full", "--state",    state,    NULL};

        snprintf(log, sizeof(log), "%s/sync.log", tmpdir);
        rc = it_run_pg2doris(args, log, NULL, 0, 0);
        out = it_slurp(log);
        if (rc != 0)
            fprintf(stderr, "%s\n", out);
        T_EQ_INT(rc, 0);
        free(out);
    }

    /* 2. everything matches, sampled and full */
    rc = verify(dest, NULL, NULL, &out);
    T_EQ_INT(rc, P2D_EXIT_OK);
    T_HAS_STR(out, "\"public.t_types\" -> \"dst\".\"t_types\": match, source 2000 rows, "
                   "destination 2000 rows, 2000 rows compared (all rows)");
    T_HAS_STR(out, "\"public.t_big\" -> \"dst\".\"t_big\": match, source 30000 rows");
    T_HAS_STR(out, "10000 rows compared (sampled)");
    T_HAS_STR(out, "\"public.t_tkey\" -> \"dst\".\"t_tkey\": match, source 2500 rows, "
                   "destination 2500 rows, 2500 rows compared");
    /* keyless: compared row by row as multisets */
    T_HAS_STR(out, "\"public.t_nokey\" -> \"dst\".\"t_nokey\": match, source 500 rows, "
                   "destination 500 rows, 500 rows compared (all rows), 0 differing rows (no key: "
                   "compared as a multiset, the change log net of delete markers)");
    snprintf(want, sizeof(want),
             "\"public.t_multi\" -> \"dst\".\"t_multi\": match, source %lld rows, destination "
             "%lld rows, %lld rows compared (all rows), 0 differing rows",
             nmulti, nmulti, nmulti);
    T_HAS_STR(out, want);
    T_HAS_STR(out, "\"public.t_nokey_big\" -> \"dst\".\"t_nokey_big\": match, source 25000 "
                   "rows, destination 25000 rows, 10000 rows compared (sampled), 0 differing rows");
    /* JSON only: compared until a run of equal sort values (all rows here)
     * outgrows a page, then counted only, and the report says so */
    T_HAS_STR(out, "\"public.t_jsononly\" -> \"dst\".\"t_jsononly\": match, source 1200 rows, "
                   "destination 1200 rows, 0 rows compared (stopped early)");
    T_HAS_STR(out, "  stopped: more than 999 distinct rows share their sort values");
    T_HAS_STR(out, "7 match, 0 mismatch");
    free(out);
    rc = verify(dest, "--full", NULL, &out);
    T_EQ_INT(rc, P2D_EXIT_OK);
    T_HAS_STR(out, "30000 rows compared (all rows)");
    T_HAS_STR(out, want);
    T_HAS_STR(out,
              "\"public.t_nokey_big\" -> \"dst\".\"t_nokey_big\": match, source 25000 "
              "rows, destination 25000 rows, 25000 rows compared (all rows), 0 differing rows");
    T_HAS_STR(out, "7 match, 0 mismatch");
    free(out);

    /* 3. a changed value in Doris, a deleted row in PostgreSQL */
    stream_load("t_types", "k1,k2,v", "21\ta21\t999\n");
    it_pg_ok(src, "DELETE FROM t_types WHERE k1 = 11 AND k2 = 'B811'");
    rc = verify(dest, "--full", NULL, &out);
    T_EQ_INT(rc, P2D_EXIT_MISMATCH);
    T_HAS_STR(out, "\"public.t_types\" -> \"dst\".\"t_types\": MISMATCH, source 1999 rows, "
                   "destination 2000 rows");
    T_HAS_STR(out, "key (k1=\"21\", k2=\"a21\"): column \"v\": source \"63\", destination 999");
    T_HAS_STR(out, "key (k1=11, k2=\"B811\"): not in the source");
    T_HAS_STR(out, "2 differing keys");
    T_HAS_STR(out, "6 match, 1 mismatch");
    free(out);

    /* 4. keyless tables with the same counts and different rows */
    it_pg_ok(src, "UPDATE t_nokey SET n = 100000 WHERE n = 3");
    /* t_multi: a delete marker for one of the two copies of A, a second
     * copy of B (the engine's change-log form), so the counts still agree;
     * and one of three rows that differ only in their JSON changed */
    stream_load_rows("t_multi", "g,t,f,d,n,b,tz,j,js,_is_deleted,_version,_record_id",
                     "9001\tdup\t1.5\t2024-05-05\t2.50\t1\t2024-01-01 00:00:00\t{\"k\": 1}\t\\N"
                     "\t1\t1\t900000001\n"
                     "9002\tsingle\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t0\t1\t900000002\n",
                     false);
    it_pg_ok(src, "UPDATE t_multi SET j = '{\"k\": 4}' WHERE g = 9003 AND j = '{\"k\": 2}'");
    rc = verify(dest, "--full", NULL, &out);
    T_EQ_INT(rc, P2D_EXIT_MISMATCH);
    T_HAS_STR(out, "\"public.t_nokey\" -> \"dst\".\"t_nokey\": MISMATCH, source 500 rows, "
                   "destination 500 rows, 500 rows compared (all rows), 2 differing rows");
    T_HAS_STR(out, "  row (msg=\"m3\", n=3): not in the source\n");
    T_HAS_STR(out, "  row (msg=\"m3\", n=\"100000\"): missing in the destination\n");
    snprintf(want, sizeof(want),
             "\"public.t_multi\" -> \"dst\".\"t_multi\": MISMATCH, source %lld rows, "
             "destination %lld rows, %lld rows compared (all rows), 4 differing rows",
             nmulti, nmulti, nmulti);
    T_HAS_STR(out, want);
    T_HAS_STR(out, "  row (g=\"9001\", t=\"dup\", f=\"1.5\", d=\"2024-05-05\", n=\"2.50\", "
                   "b=\"t\", tz=\"2024-01-01 00:00:00+00\", j=\"{\\\"k\\\": 1}\", js=NULL): 2 in "
                   "the source, 1 in the destination\n");
    T_HAS_STR(out, "  row (g=9002, t=\"single\", f=NULL, d=NULL, n=NULL, b=NULL, tz=NULL, j=NULL, "
                   "js=NULL): 1 in the source, 2 in the destination\n");
    T_HAS_STR(out, "j=\"{\\\"k\\\": 4}\", js=\"[1]\"): missing in the destination\n");
    T_HAS_STR(out, "\"k\\\":2}\", js=\"[1]\"): not in the source\n");
    T_HAS_STR(out, "4 match, 3 mismatch"); /* t_types still differs */
    free(out);
    /* sampled: both tables are small enough to be compared whole */
    rc = verify(dest, NULL, "t_multi", &out);
    T_EQ_INT(rc, P2D_EXIT_MISMATCH);
    T_HAS_STR(out, "(all rows), 4 differing rows");
    free(out);

    /* 5. t_nokey_big: rows 1 and 3000 lie in sampled ranges, 2000 in none */
    it_pg_ok(src, "UPDATE t_nokey_big SET v = 'changed' WHERE n IN (1, 2000, 3000)");
    rc = verify(dest, NULL, "t_nokey_big", &out);
    T_EQ_INT(rc, P2D_EXIT_MISMATCH);
    T_HAS_STR(out, "\"public.t_nokey_big\" -> \"dst\".\"t_nokey_big\": MISMATCH, source 25000 "
                   "rows, destination 25000 rows, 10000 rows compared (sampled), 4 differing rows");
    T_HAS_STR(out, "  row (n=1, v=\"v1\"): not in the source\n");
    T_HAS_STR(out, "  row (n=\"3000\", v=\"changed\"): missing in the destination\n");
    T_CHECK(strstr(out, "v2000") == NULL);
    free(out);
    rc = verify(dest, "--full", "t_nokey_big", &out);
    T_EQ_INT(rc, P2D_EXIT_MISMATCH);
    T_HAS_STR(out, "25000 rows compared (all rows), 6 differing rows");
    T_HAS_STR(out, "  row (n=2000, v=\"v2000\"): not in the source\n");
    free(out);
    /* 1500 destination rows in the range of one source chunk: the
     * destination is read in several pages, none lost or read twice */
    it_pg_ok(src, "DELETE FROM t_nokey_big WHERE n BETWEEN 5001 AND 6500");
    rc = verify(dest, "--full", "t_nokey_big", &out);
    T_EQ_INT(rc, P2D_EXIT_MISMATCH);
    T_HAS_STR(out, "MISMATCH, source 23500 rows, destination 25000 rows, 23500 rows compared (all "
                   "rows), 1506 differing rows");
    free(out);

    /* 6. sampled verify sees a count mismatch on the big table */
    it_pg_ok(src, "DELETE FROM t_big WHERE id = 12345");
    rc = verify(dest, NULL, "t_big", &out);
    T_EQ_INT(rc, P2D_EXIT_MISMATCH);
    T_HAS_STR(out, "\"public.t_big\" -> \"dst\".\"t_big\": MISMATCH, source 29999 rows, "
                   "destination 30000 rows");
    free(out);

    /* 7. destination unreachable: exit 5, no password */
    rc = verify(destbad, NULL, NULL, &out);
    T_EQ_INT(rc, P2D_EXIT_DEST);
    T_CHECK(strstr(out, "Sekr1tPw") == NULL);
    free(out);

    PQfinish(src);
    free(t_sh("rm -rf %s", tmpdir));
    return t_done();
}
