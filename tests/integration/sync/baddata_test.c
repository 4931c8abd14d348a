/*
 * baddata_test.c - a Stream Load that Doris answers with "too many filtered
 * rows" (outcome BAD_DATA), through the built binary, against PostgreSQL
 * and doris-emu.
 *
 * Source (database bd_src): bd_bad (id int key, txt text of 10+ bytes) and
 * bd_good (id int key, v int). The Doris table for bd_bad is created
 * beforehand with txt VARCHAR(3): same column names and key, so
 * `--on-conflict ignore` keeps it, and every row overflows. The run:
 *   exits 5 (P2D_EXIT_DEST); its output names bd_bad, the reason
 *   (FirstErrorMsg) and the ErrorURL; bd_good is loaded in full; no range
 *   of bd_bad is DONE in the state; no slot is left.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "p2d_error.h"
#include "sink/doris_sql.h"
#include "sink/dest.h"
#include "engine_it.h"
#include "testlib.h"

#define BAD_ROWS  2000
#define GOOD_ROWS 5000

static char tmpdir[256];
static char src_conninfo[512];
static PGconn *src;
static struct p2d_doris_sql *dsql;

static void setup_source(void)
{
    src = it_pg_fresh_db("bd_src", src_conninfo, sizeof(src_conninfo));
    it_pg_ok(src, "CREATE TABLE bd_bad (id integer PRIMARY KEY, txt text)");
    it_pg_ok(src, "INSERT INTO bd_bad SELECT g, 'too long ' || g FROM generate_series(1, 2000) g");
    it_pg_ok(src, "CREATE TABLE bd_good (id integer PRIMARY KEY, v integer)");
    it_pg_ok(src, "INSERT INTO bd_good SELECT g, g * 7 FROM generate_series(1, 5000) g");
    it_pg_ok(src, "ANALYZE");
}

/* The line of text that contains needle, into out ("" when none). */
static void line_with(const char *text, const char *needle, char *out, size_t outlen)
{
    const char *p = strstr(text, needle), *b, *e;

    out[0] = '\0';
    if (!p)
        return;
    for (b = p; b > text && b[-1] != '\n'; b--)
        ;
    e = strchr(p, '\n');
    if (!e)
        e = p + strlen(p);
    snprintf(out, outlen, "%.*s", (int)(e - b), b);
}

int main(void)
{
    char dest[256], state[300], log[300], line[4096];
    char *out;
    struct p2d_dest d;
    char err[256];
    int rc, n, ndone;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/p2d_baddata_%d", (int)getpid());
    mkdir(tmpdir, 0755);
    snprintf(state, sizeof(state), "%s/s", tmpdir);
    snprintf(dest, sizeof(dest), "http://root@127.0.0.1:%s/bd_dst", t_env("EMU_FE_PORT"));
    setup_source();
    T_EQ_INT(p2d_dest_parse(dest, NULL, &d, err, sizeof(err)), 0);
    dsql = p2d_doris_sql_create(&d, 60000);
    T_CHECK(dsql != NULL);

    /* the Doris table of bd_bad: same names and key, txt too narrow */
    it_doris_ok(dsql, "information_schema", "CREATE DATABASE IF NOT EXISTS bd_dst");
    it_doris_ok(dsql, "bd_dst",
                "CREATE TABLE bd_bad (id INT NOT NULL, txt VARCHAR(3) NULL)"
                " UNIQUE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1"
                " PROPERTIES (\"replication_num\" = \"1\")");

    {
        const char *args[] = {"sync", "--source",         src_conninfo,  "--dest",
                              dest,   "--mode",           "schema,full", "--state",
                              state,  "--on-conflict",    "ignore",      "--readers",
                              "2",    "--rows-per-range", "1000",        NULL};

        snprintf(log, sizeof(log), "%s/run.log", tmpdir);
        rc = it_run_pg2doris(args, log, NULL, 0, 0);
        out = it_slurp(log);
        fprintf(stderr, "bad data run output:\n%s", out);
        T_EQ_INT(rc, P2D_EXIT_DEST);
        /* one line names the table, the reason and the rejected rows */
        line_with(out, "Doris rejected rows", line, sizeof(line));
        T_HAS_STR(line, "bd_bad");
        T_HAS_STR(line, "too many filtered rows");
        T_HAS_STR(line, "the length of input is too long than schema");
        T_HAS_STR(line, "column_name: txt");
        T_HAS_STR(line, "/api/_load_error_log?file=");
        T_CHECK(strstr(line, "bd_good") == NULL);
        free(out);
    }

    /* the good table is complete, the bad one got nothing */
    T_EQ_INT(it_doris_count(dsql, "bd_dst", "SELECT count(*) FROM bd_good"), GOOD_ROWS);
    T_EQ_INT(it_doris_count(dsql, "bd_dst", "SELECT count(*) FROM bd_good WHERE v = id * 7"),
             GOOD_ROWS);
    T_EQ_INT(it_doris_count(dsql, "bd_dst", "SELECT count(*) FROM bd_bad"), 0);
    n = it_state_ranges(state, "bd_good", NULL, 0, &ndone);
    T_CHECK(n > 0);
    T_EQ_INT(ndone, n);
    n = it_state_ranges(state, "bd_bad", NULL, 0, &ndone);
    T_CHECK(n > 0);
    T_EQ_INT(ndone, 0);
    T_EQ_INT(it_pg_scalar(src, "SELECT count(*) FROM pg_replication_slots"), 0);

    p2d_doris_sql_destroy(dsql);
    PQfinish(src);
    free(t_sh("rm -rf %s", tmpdir));
    return t_done();
}
