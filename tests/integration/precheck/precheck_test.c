/*
 * precheck_test.c - `pg2doris precheck` and the precheck `sync` runs first,
 * through the built binary, against PostgreSQL and doris-emu.
 *
 *   1. a good setup (--mode schema,full): exit 0, every source and
 *      destination item printed, a table without a key is a WARN;
 *   2. wrong source password, unreachable source port, missing database:
 *      exit 4 with one line, the password never printed;
 *   3. a role without REPLICATION (and without ownership): FAIL, exit 3;
 *   4. wrong destination password: exit 5, one line;
 *   5. a destination user without CREATE (a second doris-emu with a users
 *      file): FAIL, exit 3;
 *   6. a table name Doris rejects: FAIL, exit 3;
 *   7. --on-conflict report with an existing table: FAIL; ignore: WARN;
 *   8. replica identity for incremental sync (the default --mode): NOTHING
 *      and a keyless table without FULL fail, a keyless FULL table passes,
 *      TOAST-able columns without FULL pass with the partial-update note;
 *      --mode schema,full only warns about the missing identity.
 * Every failing case also runs `sync`, which must refuse with the same exit
 * code and leave no replication slot in the source database.
 * wal_level is evaluated by precheck_eval_test (the shared cluster cannot
 * change it).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "emu_common.h"
#include "p2d_error.h"
#include "engine_it.h"
#include "testlib.h"

static char tmpdir[256];
static int state_seq;

static int count_lines(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Runs pg2doris cmd --source src --dest dest [extra] with stdout and stderr
 * into one file; *out gets the text (free it). Returns the exit code. */
static int run(const char *cmd, const char *source, const char *dest, const char *extra1,
               const char *extra2, char **out)
{
    char bin[512], log[512], state[512];
    const char *argv[16];
    int n = 0, status = 0;
    pid_t pid;

    snprintf(bin, sizeof(bin), "%s/pg2doris", t_env("P2D_BUILD_DIR"));
    snprintf(log, sizeof(log), "%s/out.log", tmpdir);
    snprintf(state, sizeof(state), "%s/state%d", tmpdir, state_seq++);
    argv[n++] = bin;
    argv[n++] = cmd;
    argv[n++] = "--source";
    argv[n++] = source;
    argv[n++] = "--dest";
    argv[n++] = dest;
    argv[n++] = "--state";
    argv[n++] = state;
    if (extra1)
        argv[n++] = extra1;
    if (extra2)
        argv[n++] = extra2;
    argv[n] = NULL;
    pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (fd < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    T_CHECK(pid > 0);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    *out = it_slurp(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static long long slots_in(PGconn *admin, const char *db)
{
    char sql[256];
    PGresult *r;
    long long n = -1;

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_replication_slots WHERE database = '%s'",
             db);
    r = PQexec(admin, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        n = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* precheck then sync with the same arguments: both exit want; sync leaves
 * no slot in db. Returns precheck's output (free it). */
static char *expect_both(PGconn *admin, const char *db, const char *source, const char *dest,
                         const char *e1, const char *e2, int want, const char *what)
{
    char *pre = NULL, *syn = NULL;
    int rc;

    rc = run("precheck", source, dest, e1, e2, &pre);
    if (rc != want)
        fprintf(stderr, "%s: precheck output:\n%s", what, pre);
    T_EQ_INT(rc, want);
    rc = run("sync", source, dest, e1, e2, &syn);
    if (rc != want)
        fprintf(stderr, "%s: sync output:\n%s", what, syn);
    T_EQ_INT(rc, want);
    T_EQ_INT(slots_in(admin, db), 0);
    free(syn);
    return pre;
}

int main(void)
{
    const char *base = t_env("P2D_PG_CONNINFO");
    const char *dest = t_env("P2D_DEST_URL");
    char src[768], cinfo[1024], url[512], users[512], *out;
    PGconn *admin = PQconnectdb(base), *s;
    int fe = 0, be = 0, rc;
    pid_t emu;
    char *td = ec_tmpdir();

    snprintf(tmpdir, sizeof(tmpdir), "%s", td);
    free(td);
    T_EQ_INT(PQstatus(admin), CONNECTION_OK);
    it_pg_ok(admin, "DROP DATABASE IF EXISTS pc_src");
    it_pg_ok(admin, "DROP DATABASE IF EXISTS pc_names");
    it_pg_ok(admin, "CREATE DATABASE pc_src");
    it_pg_ok(admin, "CREATE DATABASE pc_names");
    it_pg_ok(admin, "DROP ROLE IF EXISTS pc_user");
    it_pg_ok(admin, "CREATE ROLE pc_user LOGIN PASSWORD 'pc-right-pw'");
    snprintf(src, sizeof(src), "%s dbname=pc_src", base);
    s = PQconnectdb(src);
    T_EQ_INT(PQstatus(s), CONNECTION_OK);
    it_pg_ok(s, "CREATE TABLE t_key (id integer PRIMARY KEY, v text)");
    it_pg_ok(s, "INSERT INTO t_key SELECT g, 'v' || g FROM generate_series(1, 100) g");
    it_pg_ok(s, "CREATE TABLE t_nokey (a integer, b text)");
    it_pg_ok(s, "INSERT INTO t_nokey VALUES (1, 'x')");
    it_pg_ok(s, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO pc_user");
    PQfinish(s);

    /* 1. good setup (the default --mode adds incremental, which t_nokey
     * without REPLICA IDENTITY FULL fails: case 8) */
    rc = run("precheck", src, dest, "--on-conflict=ignore", "--mode=schema,full", &out);
    if (rc != 0)
        fprintf(stderr, "good setup:\n%s", out);
    T_EQ_INT(rc, P2D_EXIT_OK);
    T_HAS_STR(out, "PASS   source connection");
    T_HAS_STR(out, "PASS   wal_level");
    T_HAS_STR(out, "PASS   replication privilege");
    T_HAS_STR(out, "PASS   table SELECT");
    T_HAS_STR(out, "PASS   destination privileges");
    T_HAS_STR(out, "WARN   table keys");
    T_HAS_STR(out, "\"public.t_nokey\"");
    T_HAS_STR(out, "WARN   replica identity");
    T_HAS_STR(out, "REPLICA IDENTITY FULL");
    T_HAS_STR(out, "0 failed");
    T_CHECK(strstr(out, "FAIL ") == NULL);
    T_CHECK(strstr(out, "keyless tables") == NULL); /* incremental items only */
    free(out);

    /* 2. source unreachable or refusing */
    snprintf(cinfo, sizeof(cinfo), "%s user=pc_user password=pc-wrong-secret", src);
    out = expect_both(admin, "pc_src", cinfo, dest, NULL, NULL, P2D_EXIT_SOURCE, "wrong pw");
    T_EQ_INT(count_lines(out), 1);
    T_HAS_STR(out, "password authentication failed");
    T_CHECK(strstr(out, "pc-wrong-secret") == NULL);
    free(out);
    snprintf(cinfo, sizeof(cinfo), "%s port=1", src);
    out = expect_both(admin, "pc_src", cinfo, dest, NULL, NULL, P2D_EXIT_SOURCE, "bad port");
    T_EQ_INT(count_lines(out), 1);
    T_HAS_STR(out, "hint:");
    free(out);
    snprintf(cinfo, sizeof(cinfo), "%s dbname=pc_missing_db", base);
    rc = run("precheck", cinfo, dest, NULL, NULL, &out);
    T_EQ_INT(rc, P2D_EXIT_SOURCE);
    T_EQ_INT(count_lines(out), 1);
    T_HAS_STR(out, "pc_missing_db");
    free(out);
    rc = run("sync", cinfo, dest, NULL, NULL, &out);
    T_EQ_INT(rc, P2D_EXIT_SOURCE);
    free(out);

    /* 3. a role without REPLICATION that owns nothing */
    snprintf(cinfo, sizeof(cinfo), "%s user=pc_user password=pc-right-pw", src);
    out = expect_both(admin, "pc_src", cinfo, dest, NULL, NULL, P2D_EXIT_PRECHECK, "no repl");
    T_HAS_STR(out, "FAIL   replication privilege");
    T_HAS_STR(out, "ALTER ROLE \"pc_user\" REPLICATION");
    T_HAS_STR(out, "PASS   table SELECT");
    T_CHECK(strstr(out, "pc-right-pw") == NULL);
    free(out);

    /* 4. destination refuses the password */
    snprintf(url, sizeof(url), "http://root:dest-bad-secret@127.0.0.1:%d/demo",
             t_env_int("EMU_FE_PORT"));
    out = expect_both(admin, "pc_src", src, url, NULL, NULL, P2D_EXIT_DEST, "dest pw");
    T_EQ_INT(count_lines(out), 1);
    T_CHECK(strstr(out, "dest-bad-secret") == NULL);
    free(out);

    /* 5. a destination user without CREATE */
    snprintf(users, sizeof(users), "%s/users.txt", tmpdir);
    {
        FILE *f = fopen(users, "w");

        T_CHECK(f != NULL);
        fputs("root::ADMIN\nnocreate:pw:SELECT,LOAD,ALTER,DROP:*\n", f);
        fclose(f);
    }
    {
        const char *args[] = {"--users", users, "--data", ":memory:", NULL};

        emu = ec_spawn_emu(args, &fe, &be);
        T_CHECK(emu > 0);
    }
    snprintf(url, sizeof(url), "http://nocreate:pw@127.0.0.1:%d/pcdb", fe);
    out = expect_both(admin, "pc_src", src, url, NULL, NULL, P2D_EXIT_PRECHECK, "no create");
    T_HAS_STR(out, "FAIL   destination privileges");
    T_HAS_STR(out, "CREATE");
    T_HAS_STR(out, "GRANT CREATE");
    free(out);
    ec_stop_emu(emu, SIGTERM, 5000);

    /* 6. a name Doris refuses */
    snprintf(cinfo, sizeof(cinfo), "%s dbname=pc_names", base);
    s = PQconnectdb(cinfo);
    T_EQ_INT(PQstatus(s), CONNECTION_OK);
    it_pg_ok(s, "CREATE TABLE \"9lives\" (id integer PRIMARY KEY)");
    PQfinish(s);
    out = expect_both(admin, "pc_names", cinfo, dest, NULL, NULL, P2D_EXIT_PRECHECK, "names");
    T_HAS_STR(out, "FAIL   names");
    T_HAS_STR(out, "9lives");
    free(out);

    /* 7. existing destination tables: sync created them in 1? no: make one */
    {
        char *o2 = NULL;

        rc = run("sync", src, dest, "--mode", "schema", &o2);
        if (rc != 0)
            fprintf(stderr, "schema sync:\n%s", o2);
        T_EQ_INT(rc, P2D_EXIT_OK);
        free(o2);
    }
    rc = run("precheck", src, dest, "--mode=schema,full", NULL, &out);
    T_EQ_INT(rc, P2D_EXIT_PRECHECK);
    T_HAS_STR(out, "FAIL   existing tables");
    T_HAS_STR(out, "demo.t_key");
    free(out);
    rc = run("precheck", src, dest, "--on-conflict=ignore", "--mode=schema,full", &out);
    T_EQ_INT(rc, P2D_EXIT_OK);
    T_HAS_STR(out, "WARN   existing tables");
    free(out);

    /* 8. replica identity items for incremental sync */
    it_pg_ok(admin, "DROP DATABASE IF EXISTS pc_ident");
    it_pg_ok(admin, "CREATE DATABASE pc_ident");
    snprintf(cinfo, sizeof(cinfo), "%s dbname=pc_ident", base);
    s = PQconnectdb(cinfo);
    T_EQ_INT(PQstatus(s), CONNECTION_OK);
    it_pg_ok(s, "CREATE TABLE t_toast (id integer PRIMARY KEY, doc text)");
    it_pg_ok(s, "CREATE TABLE t_toast_full (id integer PRIMARY KEY, doc jsonb)");
    it_pg_ok(s, "ALTER TABLE t_toast_full REPLICA IDENTITY FULL");
    it_pg_ok(s, "CREATE TABLE t_plain (id integer PRIMARY KEY, n bigint)");
    it_pg_ok(s, "CREATE TABLE t_nothing (id integer PRIMARY KEY, n integer)");
    it_pg_ok(s, "ALTER TABLE t_nothing REPLICA IDENTITY NOTHING");
    it_pg_ok(s, "CREATE TABLE t_bag (a integer, b text)");
    it_pg_ok(s, "CREATE TABLE t_bag_full (a integer, b text)");
    it_pg_ok(s, "ALTER TABLE t_bag_full REPLICA IDENTITY FULL");
    PQfinish(s);
    snprintf(url, sizeof(url), "http://root@127.0.0.1:%d/pc_ident", t_env_int("EMU_FE_PORT"));
    rc = run("precheck", cinfo, url, NULL, NULL, &out);
    if (rc != P2D_EXIT_PRECHECK)
        fprintf(stderr, "identity:\n%s", out);
    T_EQ_INT(rc, P2D_EXIT_PRECHECK);
    T_HAS_STR(out, "FAIL   replica identity");
    T_HAS_STR(out, "\"public.t_nothing\"");
    T_HAS_STR(out, "ALTER TABLE \"public\".\"t_nothing\" REPLICA IDENTITY DEFAULT");
    T_HAS_STR(out, "FAIL   keyless tables");
    T_HAS_STR(out, "1 table(s) go to the Duplicate model");
    T_HAS_STR(out, "\"public.t_bag\"");
    T_HAS_STR(out, "ALTER TABLE \"public\".\"t_bag\" REPLICA IDENTITY FULL");
    T_HAS_STR(out, "PASS   unchanged TOAST");
    T_HAS_STR(out, "partial-column update");
    T_HAS_STR(out, "\"public.t_toast\"");
    T_CHECK(strstr(out, "t_toast_full") == NULL); /* FULL: no note */
    free(out);
    /* fixed at the source: everything passes */
    s = PQconnectdb(cinfo);
    T_EQ_INT(PQstatus(s), CONNECTION_OK);
    it_pg_ok(s, "ALTER TABLE t_nothing REPLICA IDENTITY DEFAULT");
    it_pg_ok(s, "ALTER TABLE t_bag REPLICA IDENTITY FULL");
    PQfinish(s);
    rc = run("precheck", cinfo, url, NULL, NULL, &out);
    if (rc != P2D_EXIT_OK)
        fprintf(stderr, "identity fixed:\n%s", out);
    T_EQ_INT(rc, P2D_EXIT_OK);
    T_HAS_STR(out, "PASS   replica identity");
    T_HAS_STR(out, "PASS   keyless tables");
    T_HAS_STR(out, "2 table(s) without a key have REPLICA IDENTITY FULL");
    free(out);
    /* without incremental: a missing identity only warns */
    s = PQconnectdb(cinfo);
    T_EQ_INT(PQstatus(s), CONNECTION_OK);
    it_pg_ok(s, "ALTER TABLE t_nothing REPLICA IDENTITY NOTHING");
    PQfinish(s);
    rc = run("precheck", cinfo, url, "--mode=schema,full", NULL, &out);
    T_EQ_INT(rc, P2D_EXIT_OK);
    T_HAS_STR(out, "WARN   replica identity");
    T_HAS_STR(out, "\"public.t_nothing\"");
    T_CHECK(strstr(out, "keyless tables") == NULL);
    T_CHECK(strstr(out, "unchanged TOAST") == NULL);
    free(out);

    PQfinish(admin);
    return t_done();
}
