/*
 * fullload_test.c - `pg2doris sync --mode schema,full` end to end, through
 * the built binary, against PostgreSQL and doris-emu.
 *
 * Source (database fl_src): t_int (int key, 300k rows of hostile text),
 * t_comp (composite key (b, a)), t_nokey (no key: Duplicate model).
 *   1. a fresh run exits 0; counts equal, keyed tables equal row by row,
 *      every range DONE in the state, no slot left;
 *   2. a second run on the same state reads nothing and exits 0;
 *   3. a throttled run killed with SIGKILL 1 s into the load, then rerun: exit 0,
 *      data exact, and the ranges the rerun read are exactly those the
 *      state had not DONE after the kill, plus the rows changed since the
 *      first snapshot: rows updated in the gap move from unfinished block
 *      ranges into free space that t_int's setup left in done range 0,
 *      where only that read finds them;
 *   4. SIGINT mid-run exits 8, keeps unfinished ranges, leaves no slot;
 *   5. destination faults (E-235, reset mid-body, lost answer, 5xx) are
 *      retried with the same label and the data still ends exact;
 *   6. a wrong destination password exits 5 with one error line and leaves
 *      no slot.
 * wal_level cannot be changed in the shared cluster: not tested here.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "p2d_error.h"
#include "sink/doris_sql.h"
#include "sink/dest.h"
#include "engine_it.h"
#include "testlib.h"

#define T_INT_IDS    300000                  /* ids 1..T_INT_IDS */
#define T_INT_ROWS   (T_INT_IDS - 15000 / 3) /* after setup's delete */
#define T_COMP_ROWS  5000
#define T_NOKEY_ROWS 3000
#define CHUNK        1000

static char tmpdir[256];
static char src_conninfo[512];
static PGconn *src;
static struct p2d_doris_sql *dsql;

static void setup_source(void)
{
    src = it_pg_fresh_db("fl_src", src_conninfo, sizeof(src_conninfo));
    it_pg_ok(src, "CREATE TABLE t_int (id integer PRIMARY KEY, txt text, n bigint)");
    /* hostile text: tabs, newlines, CR, backslashes, quotes, \N as text,
     * control bytes, multi-byte UTF-8, empty strings and NULLs */
    it_pg_ok(src, "INSERT INTO t_int SELECT g, CASE g % 9"
                  " WHEN 0 THEN E'tab\\there' || g WHEN 1 THEN E'new\\nline\\r' || g"
                  " WHEN 2 THEN E'back\\\\slash\\\\' || g WHEN 3 THEN '\"quoted\" ''s''' || g"
                  " WHEN 4 THEN E'\\\\N' WHEN 5 THEN E'ctl\\x01\\x1f' || g"
                  " WHEN 6 THEN 'Grüße 日本 🎉' || g WHEN 7 THEN '' ELSE NULL END,"
                  " CASE WHEN g % 5 = 0 THEN NULL ELSE g::bigint * 1000003 END"
                  " FROM generate_series(1, 300000) g");
    /* free space in the first blocks (done first by a resumed run's
     * predecessor): updated rows can move there */
    it_pg_ok(src, "DELETE FROM t_int WHERE id <= 15000 AND id % 3 = 0");
    it_pg_ok(src, "VACUUM t_int");
    it_pg_ok(src, "CREATE TABLE t_comp (a integer, b text, v integer, PRIMARY KEY (b, a))");
    it_pg_ok(src, "INSERT INTO t_comp SELECT g, 'k' || (g % 7) || E'\\t,', g * 3"
                  " FROM generate_series(1, 5000) g");
    it_pg_ok(src, "CREATE TABLE t_nokey (msg text, n integer)");
    it_pg_ok(src,
             "INSERT INTO t_nokey SELECT 'm' || (g % 10), g % 100 FROM generate_series(1, 3000) g");
    it_pg_ok(src, "ANALYZE");
}

/* argv of a full load of the source into dest with state, in 20000-row
 * ranges over 2 readers; slow: throttled to 60000 rows/s, so that a
 * signal lands in the middle. */
#define LOAD_ARGS 16
static void load_args(const char **argv, const char *dest, const char *state, bool slow)
{
    const char *args[LOAD_ARGS] = {"sync",        "--mode",
                                   "schema,full", "--source",
                                   src_conninfo,  "--dest",
                                   dest,          "--state",
                                   state,         "--readers",
                                   "2",           "--rows-per-range",
                                   "20000",       slow ? "--rows-per-sec" : NULL,
                                   "60000",       NULL};

    memcpy(argv, args, sizeof(args));
}

static int count_lines_with(const char *text, const char *needle)
{
    int n = 0;

    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Range ids of table read by a run, from its log, as a bitmap. */
static void ranges_read(const char *log, const char *table, unsigned char *seen, int max)
{
    /* an unfinished range is either read again or, when Doris confirmed its
     * label before the crash and only the range's status was lost, marked
     * done without reading */
    static const char *needles[] = {"reading range ", " range "};

    for (size_t k = 0; k < sizeof(needles) / sizeof(needles[0]); k++) {
        const char *needle = needles[k];

        for (const char *p = log; (p = strstr(p, needle)); p += strlen(needle)) {
            const char *tail = p + strlen(needle);
            long long id;
            char name[128];
            int end = 0;

            if (sscanf(tail, "%lld of \"%127[^\"]\"%n", &id, name, &end) != 2 ||
                strcmp(name, table) != 0 || id < 0 || id >= max)
                continue;
            if (k == 0 || strncmp(tail + end, " was loaded before", 18) == 0)
                seen[id]++;
        }
    }
}

/* Compares cols of table row by row in chunks of `chunk_col`, ordered by
 * order. Returns rows compared. */
static long long compare(const char *db, const char *table, const char *cols, const char *chunk_col,
                         const char *order, long long max, int ncols)
{
    long long compared = 0, bad = 0;

    for (long long lo = 0; lo <= max; lo += CHUNK) {
        char q[512], err[512], got[4096];
        enum p2d_doris_fail fail;
        json_t *data = NULL, *rows;
        PGresult *res;
        size_t nd;
        int np;

        snprintf(q, sizeof(q), "SELECT %s FROM %s WHERE %s >= %lld AND %s < %lld ORDER BY %s", cols,
                 table, chunk_col, lo, chunk_col, lo + CHUNK, order);
        res = PQexec(src, q);
        T_EQ_INT(PQresultStatus(res), PGRES_TUPLES_OK);
        if (p2d_doris_sql_exec(dsql, db, q, &data, &fail, err, sizeof(err)) != 0) {
            fprintf(stderr, "doris query failed: %s\n", err);
            T_CHECK(!"doris query");
            PQclear(res);
            return -1;
        }
        rows = p2d_doris_rows(data);
        nd = json_array_size(rows);
        np = PQntuples(res);
        T_EQ_INT(nd, np);
        if (nd != (size_t)np && bad++ > 10) { /* one report is enough */
            PQclear(res);
            json_decref(data);
            break;
        }
        for (int i = 0; i < np && (size_t)i < nd; i++) {
            for (int c = 0; c < ncols; c++) {
                const char *want = PQgetisnull(res, i, c) ? "<NULL>" : PQgetvalue(res, i, c);

                it_doris_text(json_array_get(json_array_get(rows, (size_t)i), (size_t)c), got,
                              sizeof(got));
                if (strcmp(got, want) != 0 && bad++ < 10)
                    fprintf(stderr, "%s row %d of chunk %lld col %d: doris \"%s\" != pg \"%s\"\n",
                            table, i, lo, c, got, want);
            }
            compared++;
        }
        PQclear(res);
        json_decref(data);
    }
    T_EQ_INT(bad, 0);
    return compared;
}

static void check_data(const char *db)
{
    T_EQ_INT(it_doris_count(dsql, db, "SELECT count(*) FROM t_int"), T_INT_ROWS);
    T_EQ_INT(it_doris_count(dsql, db, "SELECT count(*) FROM t_comp"), T_COMP_ROWS);
    T_EQ_INT(it_doris_count(dsql, db, "SELECT count(*) FROM t_nokey"), T_NOKEY_ROWS);
    T_EQ_INT(compare(db, "t_int", "id, txt, n", "id", "id", T_INT_IDS, 3), T_INT_ROWS);
    T_EQ_INT(compare(db, "t_comp", "a, b, v", "a", "a, b", T_COMP_ROWS, 3), T_COMP_ROWS);
}

static void all_done(const char *dir)
{
    unsigned char done[4096] = {0};
    const char *tables[] = {"t_int", "t_comp", "t_nokey"};

    for (int k = 0; k < 3; k++) {
        int n = it_state_ranges(dir, tables[k], done, 4096, NULL), ndone = 0;

        for (int i = 0; i < n; i++)
            ndone += done[i];
        T_CHECK(n > 0);
        T_EQ_INT(ndone, n);
    }
}

int main(void)
{
    char dest[256], dest2[256], dest2b[256], dest4[256], dest5[256], dest7[256], destbad[256];
    char state1[300], state2[300], state2b[300], state3[300], state4[300], state5[300];
    char state7[300], log[300];
    char *out;
    struct p2d_dest d;
    char err[256];
    int rc;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/p2d_fullload_%d", (int)getpid());
    mkdir(tmpdir, 0755);
    snprintf(state1, sizeof(state1), "%s/s1", tmpdir);
    snprintf(state2, sizeof(state2), "%s/s2", tmpdir);
    snprintf(state2b, sizeof(state2b), "%s/s2b", tmpdir);
    snprintf(state3, sizeof(state3), "%s/s3", tmpdir);
    snprintf(state4, sizeof(state4), "%s/s4", tmpdir);
    snprintf(state5, sizeof(state5), "%s/s5", tmpdir);
    snprintf(state7, sizeof(state7), "%s/s7", tmpdir);
    snprintf(dest7, sizeof(dest7), "http://root@127.0.0.1:%s/dst7", t_env("EMU_FE_PORT"));
    snprintf(dest5, sizeof(dest5), "http://root@127.0.0.1:%s/dst5", t_env("EMU_FE_PORT"));
    snprintf(dest4, sizeof(dest4), "http://root@127.0.0.1:%s/dst4", t_env("EMU_FE_PORT"));
    snprintf(dest, sizeof(dest), "http://root@127.0.0.1:%s/dst", t_env("EMU_FE_PORT"));
    snprintf(dest2, sizeof(dest2), "http://root@127.0.0.1:%s/dst2", t_env("EMU_FE_PORT"));
    snprintf(dest2b, sizeof(dest2b), "http://root@127.0.0.1:%s/dst2b", t_env("EMU_FE_PORT"));
    snprintf(destbad, sizeof(destbad), "http://root:Sekr1tPw@127.0.0.1:%s/dst3",
             t_env("EMU_FE_PORT"));
    setup_source();
    T_EQ_INT(p2d_dest_parse(dest, NULL, &d, err, sizeof(err)), 0);
    dsql = p2d_doris_sql_create(&d, 60000);
    T_CHECK(dsql != NULL);

    /* 1. a fresh run */
    {
        const char *args[] = {"sync",   "--source",         src_conninfo, "--dest", dest,
                              "--mode", "schema,full",      "--state",    state1,   "--readers",
                              "2",      "--rows-per-range", "40000",      NULL};
        struct timespec t0, t1;
        double s;

        snprintf(log, sizeof(log), "%s/run1.log", tmpdir);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = it_run_pg2doris(args, log, NULL, 0, 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        out = it_slurp(log);
        if (rc != 0)
            fprintf(stderr, "%s\n", out);
        T_EQ_INT(rc, 0);
        fprintf(stderr, "run 1: %d rows in %.2f s: %.0f rows/s (whole command)\n",
                T_INT_ROWS + T_COMP_ROWS + T_NOKEY_ROWS, s,
                (T_INT_ROWS + T_COMP_ROWS + T_NOKEY_ROWS) / s);
        T_HAS_STR(out, "t_int");
        T_CHECK(count_lines_with(out, "reading range ") >= 8); /* 300k / 40k + others */
        free(out);
        check_data("dst");
        all_done(state1);
        T_EQ_INT(it_slots_left(src), 0);
    }

    /* 2. the same state again: nothing to do */
    {
        const char *args[] = {"sync",   "--source",         src_conninfo, "--dest", dest,
                              "--mode", "schema,full",      "--state",    state1,   "--readers",
                              "2",      "--rows-per-range", "40000",      NULL};

        snprintf(log, sizeof(log), "%s/run2.log", tmpdir);
        rc = it_run_pg2doris(args, log, NULL, 0, 0);
        out = it_slurp(log);
        T_EQ_INT(rc, 0);
        T_HAS_STR(out, "nothing to do");
        T_EQ_INT(count_lines_with(out, "reading range "), 0);
        free(out);
        T_EQ_INT(it_slots_left(src), 0);
    }

    /* 3. kill -9 in the middle, then rerun */
    {
        const char *slow[LOAD_ARGS], *fast[LOAD_ARGS];
        unsigned char done[4096] = {0}, seen[4096] = {0};
        int n, ndone = 0, wrong = 0;

        load_args(slow, dest2, state2, true);
        load_args(fast, dest2, state2, false);

        snprintf(log, sizeof(log), "%s/run3a.log", tmpdir);
        rc = it_run_pg2doris(slow, log, "reading range", 1000, SIGKILL);
        T_EQ_INT(rc, 128 + SIGKILL);
        n = it_state_ranges(state2, "t_int", done, 4096, NULL);
        for (int i = 0; i < n; i++)
            ndone += done[i];
        fprintf(stderr, "after kill: %d of %d t_int ranges done\n", ndone, n);
        T_CHECK(n >= 10);
        T_CHECK(ndone < n); /* the kill came before the end */
        {
            /* rows of the last range, updated: moved into range 0's blocks */
            PGresult *res;
            long long moved;

            it_pg_ok(src, "UPDATE t_int SET n = -n, txt = 'moved ' || id WHERE id > 295000");
            res = PQexec(src, "SELECT count(*) FROM t_int WHERE id > 295000 AND "
                              "ctid < (SELECT ctid FROM t_int WHERE id = 15001)");
            moved = atoll(PQgetvalue(res, 0, 0));
            PQclear(res);
            fprintf(stderr, "after kill: range 0 %s, %lld updated rows moved into its blocks\n",
                    done[0] ? "done" : "not done", moved);
            T_CHECK(moved > 0);
            T_CHECK(done[0]); /* else range 0 reads them anyway: nothing shown */
        }
        /* killed again while resuming, with the CHANGES range's load sent:
         * the next run must not be stuck on that superseded label */
        snprintf(log, sizeof(log), "%s/run3a2.log", tmpdir);
        rc = it_run_pg2doris(slow, log, "reading range", 700, SIGKILL);
        T_EQ_INT(rc, 128 + SIGKILL);
        out = it_slurp(log);
        T_HAS_STR(out, "reading the rows of \"public.t_int\" changed since the first snapshot");
        free(out);
        memset(done, 0, sizeof(done));
        n = it_state_ranges(state2, "t_int", done, 4096, NULL);
        ndone = 0;
        for (int i = 0; i < n; i++)
            ndone += done[i];
        fprintf(stderr, "after the second kill: %d of %d t_int ranges done\n", ndone, n);
        T_CHECK(ndone < n);
        snprintf(log, sizeof(log), "%s/run3b.log", tmpdir);
        rc = it_run_pg2doris(fast, log, NULL, 0, 0);
        out = it_slurp(log);
        if (rc != 0)
            fprintf(stderr, "%s\n", out);
        T_EQ_INT(rc, 0);
        T_HAS_STR(out, "resuming");
        T_HAS_STR(out, "re-reading \"public.t_int\" ranges ");
        T_HAS_STR(out, "reading the rows of \"public.t_int\" changed since the first snapshot");
        ranges_read(out, "public.t_int", seen, 4096);
        for (int i = 0; i < n; i++)
            if ((seen[i] > 0) == (done[i] != 0)) {
                wrong++; /* a DONE range re-read, or an unfinished one skipped */
                fprintf(stderr, "t_int range %d: %s before the rerun, read %d times\n", i,
                        done[i] ? "DONE" : "not done", seen[i]);
            }
        if (wrong)
            fprintf(stderr, "%s\n", out);
        T_EQ_INT(wrong, 0);
        free(out);
        check_data("dst2");
        all_done(state2);
        T_EQ_INT(it_slots_left(src), 0);
    }

    /* 3b. killed, then VACUUM FULL moves rows between block ranges with
     * their old xmin: the rerun sees the rewrite and reads all of t_int */
    {
        const char *slow[LOAD_ARGS], *fast[LOAD_ARGS];

        load_args(slow, dest2b, state2b, true);
        load_args(fast, dest2b, state2b, false);
        snprintf(log, sizeof(log), "%s/run3c.log", tmpdir);
        rc = it_run_pg2doris(slow, log, "reading range", 1000, SIGKILL);
        T_EQ_INT(rc, 128 + SIGKILL);
        /* new versions of the first 20000 rows at the end; the rewrite then
         * closes the gap they leave: every later row moves down about a
         * range's worth of blocks, keeping its xmin */
        it_pg_ok(src, "UPDATE t_int SET n = n WHERE id <= 20000");
        it_pg_ok(src, "VACUUM FULL t_int");
        snprintf(log, sizeof(log), "%s/run3d.log", tmpdir);
        rc = it_run_pg2doris(fast, log, NULL, 0, 0);
        out = it_slurp(log);
        if (rc != 0)
            fprintf(stderr, "%s\n", out);
        T_EQ_INT(rc, 0);
        T_HAS_STR(out, "\"public.t_int\" was rewritten since the first snapshot");
        free(out);
        check_data("dst2b");
        all_done(state2b);
        T_EQ_INT(it_slots_left(src), 0);
    }

    /* 4. SIGINT: stops, keeps the state, exits 8, leaves no slot */
    {
        const char *slow[LOAD_ARGS];
        unsigned char done[4096] = {0};
        int n, ndone = 0;

        load_args(slow, dest4, state4, true);

        snprintf(log, sizeof(log), "%s/run4.log", tmpdir);
        rc = it_run_pg2doris(slow, log, "reading range", 500, SIGINT);
        out = it_slurp(log);
        T_EQ_INT(rc, P2D_EXIT_INTERRUPT);
        T_HAS_STR(out, "stopping on signal");
        free(out);
        n = it_state_ranges(state4, "t_int", done, 4096, NULL);
        for (int i = 0; i < n; i++)
            ndone += done[i];
        T_CHECK(n > 0);
        T_CHECK(ndone < n);
        T_EQ_INT(it_slots_left(src), 0);
    }

    /* 5. destination faults: E-235, a reset mid-body, a lost answer (Label
     * Already Exists on the retry) and a 5xx; the run still ends exact */
    {
        const char *args[] = {
            "sync",    "--mode", "schema,full", "--source", src_conninfo,       "--dest", dest5,
            "--state", state5,   "--readers",   "2",        "--rows-per-range", "40000",  NULL};

        it_emu_fault("kind=e235,table=t_int,nth=2");
        it_emu_fault("kind=reset,table=t_comp,nth=1,after=2000");
        it_emu_fault("kind=lost_answer,table=t_int,nth=4");
        it_emu_fault("kind=http5xx,table=t_nokey,nth=1");
        snprintf(log, sizeof(log), "%s/run5f.log", tmpdir);
        rc = it_run_pg2doris(args, log, NULL, 0, 0);
        it_emu_fault(NULL);
        out = it_slurp(log);
        if (rc != 0)
            fprintf(stderr, "%s\n", out);
        T_EQ_INT(rc, 0);
        T_CHECK(count_lines_with(out, "retrying in") >= 3);
        free(out);
        check_data("dst5");
        all_done(state5);
        T_EQ_INT(it_slots_left(src), 0);
    }

    /* 6. wrong destination password */
    {
        const char *args[] = {"sync",   "--mode", "schema,full", "--source", src_conninfo,
                              "--dest", destbad,  "--state",     state3,     NULL};

        snprintf(log, sizeof(log), "%s/run5.log", tmpdir);
        rc = it_run_pg2doris(args, log, NULL, 0, 0);
        out = it_slurp(log);
        T_EQ_INT(rc, P2D_EXIT_DEST);
        T_EQ_INT(count_lines_with(out, "\n"), 1); /* one clear line */
        T_HAS_STR(out, "destination");
        T_CHECK(strstr(out, "Sekr1tPw") == NULL); /* the password is never printed */
        fprintf(stderr, "wrong password output:\n%s", out);
        free(out);
        T_EQ_INT(it_slots_left(src), 0);
    }

    /* 7. --compress gz (gzip bodies, compress_type: gz), with a reset
     * mid-body: the run ends exact */
    {
        const char *args[] = {"sync",       "--mode",           "schema,full", "--source",
                              src_conninfo, "--dest",           dest7,         "--state",
                              state7,       "--readers",        "2",           "--compress",
                              "gz",         "--rows-per-range", "40000",       NULL};
        struct timespec t0, t1;

        it_emu_fault("kind=reset,table=t_int,nth=2,after=2000");
        snprintf(log, sizeof(log), "%s/run7.log", tmpdir);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = it_run_pg2doris(args, log, NULL, 0, 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        it_emu_fault(NULL);
        out = it_slurp(log);
        if (rc != 0)
            fprintf(stderr, "%s\n", out);
        T_EQ_INT(rc, 0);
        T_CHECK(strstr(out, "--compress is not applied") == NULL);
        T_CHECK(count_lines_with(out, "retrying in") >= 1);
        fprintf(stderr, "run 7 (--compress gz, one reset): %.2f s\n",
                (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        free(out);
        check_data("dst7");
        all_done(state7);
        T_EQ_INT(it_slots_left(src), 0);
    }

    /* 8. progress counts rows of ranges still being read: one range of
     * 300k rows (~40 batches) at 100k rows/s, a progress line every second */
    {
        char dest8[256], state8[300];
        const char *args[] = {"sync",
                              "--mode",
                              "schema,full",
                              "--source",
                              src_conninfo,
                              "--dest",
                              dest8,
                              "--state",
                              state8,
                              "--include",
                              "public.t_int",
                              "--rows-per-range",
                              "1000000",
                              "--rows-per-sec",
                              "100000",
                              "--progress-every",
                              "1",
                              NULL};
        const char *p;
        long long seen = 0;

        snprintf(dest8, sizeof(dest8), "http://root@127.0.0.1:%s/dst8", t_env("EMU_FE_PORT"));
        snprintf(state8, sizeof(state8), "%s/s8", tmpdir);
        snprintf(log, sizeof(log), "%s/run8.log", tmpdir);
        rc = it_run_pg2doris(args, log, NULL, 0, 0);
        out = it_slurp(log);
        if (rc != 0)
            fprintf(stderr, "%s\n", out);
        T_EQ_INT(rc, 0);
        for (p = out; (p = strstr(p, "progress: ")); p++) {
            long long rows;
            int done, ranges;

            if (sscanf(p, "progress: %lld rows (%*f MB) in %*f s, %*f rows/s, %d of %d ranges",
                       &rows, &done, &ranges) == 3 &&
                done == 0 && ranges == 1 && rows > 0 && (seen == 0 || rows < seen))
                seen = rows; /* rows counted while the only range is still read */
        }
        if (seen == 0 || seen >= T_INT_ROWS)
            fprintf(stderr, "%s\n", out);
        T_CHECK(seen > 0 && seen < T_INT_ROWS); /* the first such line: part of the range */
        free(out);
        T_EQ_INT(it_slots_left(src), 0);
    }

    p2d_doris_sql_destroy(dsql);
    PQfinish(src);
    free(t_sh("rm -rf %s", tmpdir));
    return t_done();
}
