/*
 * verify_test.c - `pg2doris verify` end to end, through the built binary,
 * against PostgreSQL and doris-emu.
 *
 * Source (database vf_src): t_types (composite key (k1 int, k2 text) and
 * columns of many types with NULLs), t_big (30000 rows, more than the
 * sampled ranges cover), t_tkey (key (date, timestamptz, numeric), more
 * than one page), t_nokey (no key: Duplicate model).
 *   1. `sync --mode schema,full` exits 0;
 *   2. `verify` (sampled) and `verify --full` exit 0 and say match; the
 *      no-key table says only counts are compared;
 *   3. one value changed in Doris (a modified row through Stream Load) and
 *      one row deleted in PostgreSQL: `verify --full` exits 6 and names
 *      both keys, the column and both values;
 *   4. one row deleted from t_big in PostgreSQL: sampled verify exits 6
 *      with the count mismatch;
 *   5. an unreachable destination exits 5, and no password is printed.
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

/* Loads one CSV row into dst.table through the FE (307 followed). */
static void stream_load(const char *table, const char *columns, const char *row)
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
    req.headers[4] = "partial_columns: true";
    req.body = row;
    req.body_len = strlen(row);
    t_http(&req, &resp);
    T_EQ_INT(resp.status, 200);
    T_HAS_STR(resp.body, "\"Success\"");
    if (!resp.body || !strstr(resp.body, "\"Success\""))
        fprintf(stderr, "stream load: %s\n", resp.body ? resp.body : resp.curl_error);
    t_resp_free(&resp);
}

int main(void)
{
    char dest[256], destbad[256], state[300], log[300];
    char *out;
    int rc;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/p2d_verify_%d", (int)getpid());
    mkdir(tmpdir, 0755);
    snprintf(state, sizeof(state), "%s/state", tmpdir);
    snprintf(dest, sizeof(dest), "http://root@127.0.0.1:%s/dst", t_env("EMU_FE_PORT"));
    snprintf(destbad, sizeof(destbad), "http://root:Sekr1tPw@127.0.0.1:1/dst");
    setup_source();

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
    T_HAS_STR(out, "rows of the source state counted from the change log");
    T_HAS_STR(out, "\"public.t_tkey\" -> \"dst\".\"t_tkey\": match, source 2500 rows, "
                   "destination 2500 rows, 2500 rows compared");
    T_HAS_STR(out, "4 match, 0 mismatch");
    free(out);
    rc = verify(dest, "--full", NULL, &out);
    T_EQ_INT(rc, P2D_EXIT_OK);
    T_HAS_STR(out, "30000 rows compared (all rows)");
    T_HAS_STR(out, "4 match, 0 mismatch");
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
    T_HAS_STR(out, "3 match, 1 mismatch");
    free(out);

    /* 4. sampled verify sees a count mismatch on the big table */
    it_pg_ok(src, "DELETE FROM t_big WHERE id = 12345");
    rc = verify(dest, NULL, "t_big", &out);
    T_EQ_INT(rc, P2D_EXIT_MISMATCH);
    T_HAS_STR(out, "\"public.t_big\" -> \"dst\".\"t_big\": MISMATCH, source 29999 rows, "
                   "destination 30000 rows");
    free(out);

    /* 5. destination unreachable: exit 5, no password */
    rc = verify(destbad, NULL, NULL, &out);
    T_EQ_INT(rc, P2D_EXIT_DEST);
    T_CHECK(strstr(out, "Sekr1tPw") == NULL);
    free(out);

    PQfinish(src);
    free(t_sh("rm -rf %s", tmpdir));
    return t_done();
}
