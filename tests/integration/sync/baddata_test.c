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
#include "testlib.h"

#define BAD_ROWS  2000
#define GOOD_ROWS 5000

static char tmpdir[256];
static char src_conninfo[512];
static PGconn *src;
static struct p2d_doris_sql *dsql;

static void pg_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s\n  -> %s\n", sql, PQerrorMessage(c));
        T_CHECK(!"SQL failed");
    }
    PQclear(r);
}

static long long pg_count(const char *sql)
{
    PGresult *r = PQexec(src, sql);
    long long n = -1;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        n = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

static void setup_source(void)
{
    PGconn *admin = PQconnectdb(t_env("P2D_PG_CONNINFO"));

    T_EQ_INT(PQstatus(admin), CONNECTION_OK);
    pg_ok(admin, "DROP DATABASE IF EXISTS bd_src");
    pg_ok(admin, "CREATE DATABASE bd_src");
    PQfinish(admin);
    snprintf(src_conninfo, sizeof(src_conninfo), "%s dbname=bd_src", t_env("P2D_PG_CONNINFO"));
    src = PQconnectdb(src_conninfo);
    T_EQ_INT(PQstatus(src), CONNECTION_OK);
    pg_ok(src, "CREATE TABLE bd_bad (id integer PRIMARY KEY, txt text)");
    pg_ok(src, "INSERT INTO bd_bad SELECT g, 'too long ' || g FROM generate_series(1, 2000) g");
    pg_ok(src, "CREATE TABLE bd_good (id integer PRIMARY KEY, v integer)");
    pg_ok(src, "INSERT INTO bd_good SELECT g, g * 7 FROM generate_series(1, 5000) g");
    pg_ok(src, "ANALYZE");
}

static void doris_ok(const char *db, const char *stmt)
{
    char err[512];
    enum p2d_doris_fail fail;
    json_t *data = NULL;

    if (p2d_doris_sql_exec(dsql, db, stmt, &data, &fail, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n  -> %s\n", stmt, err);
        T_CHECK(!"doris SQL failed");
    }
    json_decref(data);
}

static int run_sync(const char *const *args, const char *logpath)
{
    char bin[512];
    char *argv[64];
    int n = 0, status = 0;
    pid_t pid;

    snprintf(bin, sizeof(bin), "%s/pg2doris", t_env("P2D_BUILD_DIR"));
    argv[n++] = bin;
    for (int i = 0; args[i] && n < 63; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    pid = fork();
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (fd < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(bin, argv);
        _exit(127);
    }
    T_CHECK(pid > 0);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;

    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s = calloc((size_t)n + 1, 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n)
        s[0] = '\0';
    fclose(f);
    return s;
}

/* Ranges of table in the state; *ndone gets how many are DONE. */
static int state_ranges(const char *dir, const char *table, int *ndone)
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = 0;

    *ndone = 0;
    snprintf(path, sizeof(path), "%s/state.db", dir);
    T_EQ_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    T_EQ_INT(sqlite3_prepare_v2(db,
                                "SELECT r.status FROM ranges r JOIN tables t"
                                " USING (table_id) WHERE t.src_table = ?1",
                                -1, &st, NULL),
             SQLITE_OK);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        *ndone += strcmp((const char *)sqlite3_column_text(st, 0), "DONE") == 0;
        n++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static long long doris_count(const char *db, const char *stmt)
{
    char err[512];
    enum p2d_doris_fail fail;
    json_t *data = NULL, *rows;
    long long n = -1;

    if (p2d_doris_sql_exec(dsql, db, stmt, &data, &fail, err, sizeof(err)) != 0) {
        fprintf(stderr, "doris: %s\n", err);
        return -1;
    }
    rows = p2d_doris_rows(data);
    if (json_array_size(rows) == 1) {
        json_t *v = json_array_get(json_array_get(rows, 0), 0);

        n = json_is_integer(v) ? json_integer_value(v) : atoll(json_string_value(v));
    }
    json_decref(data);
    return n;
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
    doris_ok("information_schema", "CREATE DATABASE IF NOT EXISTS bd_dst");
    doris_ok("bd_dst", "CREATE TABLE bd_bad (id INT NOT NULL, txt VARCHAR(3) NULL)"
                       " UNIQUE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1"
                       " PROPERTIES (\"replication_num\" = \"1\")");

    {
        const char *args[] = {"sync", "--source",         src_conninfo,  "--dest",
                              dest,   "--mode",           "schema,full", "--state",
                              state,  "--on-conflict",    "ignore",      "--readers",
                              "2",    "--rows-per-range", "1000",        NULL};

        snprintf(log, sizeof(log), "%s/run.log", tmpdir);
        rc = run_sync(args, log);
        out = slurp(log);
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
    T_EQ_INT(doris_count("bd_dst", "SELECT count(*) FROM bd_good"), GOOD_ROWS);
    T_EQ_INT(doris_count("bd_dst", "SELECT count(*) FROM bd_good WHERE v = id * 7"), GOOD_ROWS);
    T_EQ_INT(doris_count("bd_dst", "SELECT count(*) FROM bd_bad"), 0);
    n = state_ranges(state, "bd_good", &ndone);
    T_CHECK(n > 0);
    T_EQ_INT(ndone, n);
    n = state_ranges(state, "bd_bad", &ndone);
    T_CHECK(n > 0);
    T_EQ_INT(ndone, 0);
    T_EQ_INT(pg_count("SELECT count(*) FROM pg_replication_slots"), 0);

    p2d_doris_sql_destroy(dsql);
    PQfinish(src);
    free(t_sh("rm -rf %s", tmpdir));
    return t_done();
}
