/*
 * stream_ddl_test.c - schema changes and TRUNCATE under the WAL streamer,
 * through the built binary, against PostgreSQL and doris-emu.
 *
 * Source (database sd_src): d_uni (Unique), d_dup (no key, REPLICA
 * IDENTITY FULL: Duplicate), d_trunc (Unique), d_def (Unique). A workload
 * thread keeps inserting and updating d_uni (columns id and a only) and
 * d_dup while the schema changes under it.
 *   1. VACUUM ANALYZE re-sends d_uni's Relation: not a schema change;
 *   2. ALTER TABLE d_uni ADD COLUMN c, values written after: Doris gets
 *      the column (DESC) before the first row of the new shape;
 *   3. ALTER TABLE d_uni DROP COLUMN b, rows written after: Doris drops it;
 *   4. ALTER TABLE d_dup ADD COLUMN z on the Duplicate table: the column
 *      lands among the source columns, the change log columns stay last;
 *   5. ALTER TABLE d_def ADD COLUMN w integer DEFAULT 7: the existing rows
 *      read 7 in PostgreSQL without any change in the WAL;
 *   6. TRUNCATE d_trunc empties the Doris table, rows inserted after
 *      arrive;
 *   7. SIGTERM exits 0; verify --full matches, including the new columns;
 *   8. a column rename stops the stream with a clear message.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "p2d_error.h"
#include "engine_it.h"
#include "stream_common.h"
#include "testlib.h"

static struct sw_env env;
static char src_conninfo[512], state[300], slot[128];
static PGconn *src;
static pid_t pid;

static void setup_source(void)
{
    src = it_pg_fresh_db("sd_src", src_conninfo, sizeof(src_conninfo));
    it_pg_ok(src, "CREATE TABLE d_uni (id integer PRIMARY KEY, a text, b integer)");
    it_pg_ok(src, "INSERT INTO d_uni SELECT g, E'a\\t' || g, g FROM generate_series(1, 300) g");
    it_pg_ok(src, "CREATE TABLE d_dup (x integer NOT NULL, y text)");
    it_pg_ok(src, "ALTER TABLE d_dup REPLICA IDENTITY FULL");
    it_pg_ok(src, "INSERT INTO d_dup SELECT g, 'y' || g FROM generate_series(1, 50) g");
    it_pg_ok(src, "CREATE TABLE d_trunc (id integer PRIMARY KEY, v text)");
    it_pg_ok(src, "INSERT INTO d_trunc SELECT g, 'old' || g FROM generate_series(1, 100) g");
    it_pg_ok(src, "CREATE TABLE d_def (id integer PRIMARY KEY, v integer)");
    it_pg_ok(src, "INSERT INTO d_def SELECT g, g FROM generate_series(1, 20) g");
    it_pg_ok(src, "ANALYZE");
}

struct ddl_load {
    int next_id, next_x;
};

static void ddl_step(struct sw_ctx *c)
{
    struct ddl_load *l = c->user;
    int op = sw_rand(c, 100), x = 1 + sw_rand(c, l->next_id - 1);

    if (op < 30)
        sw_exec(c, "INSERT INTO d_uni (id, a) VALUES (%d, E'w\\\\%d')", l->next_id++, op);
    else if (op < 60)
        sw_exec(c, "UPDATE d_uni SET a = a || '.' WHERE id = %d", x);
    else if (op < 70)
        sw_exec(c, "DELETE FROM d_uni WHERE id = %d", x);
    else if (op < 90)
        sw_exec(c, "INSERT INTO d_dup (x, y) VALUES (%d, 'w%d')", l->next_x++, op);
    else
        sw_exec(c, "UPDATE d_dup SET y = y || '+' WHERE x = %d", 1 + sw_rand(c, 50));
}

/* Waits until the stream has applied everything committed so far. */
static void caught_up(const char *when)
{
    char target[64];

    it_pg_current_lsn(src, target, sizeof(target));
    if (!it_wait_slot_flushed(src, slot, target, pid, 60000))
        fprintf(stderr, "not caught up: %s\n", when);
    T_CHECK(it_pid_alive(pid));
}

/* Whether the next phase can run: pg2doris still streams. */
static bool phase(const char *name)
{
    if (it_pid_alive(pid))
        return true;
    fprintf(stderr, "phase \"%s\" not run: pg2doris exited\n", name);
    T_CHECK(!"phase skipped: pg2doris exited");
    return false;
}

static void expect_columns(const char *table, const char *want)
{
    char cols[512];

    it_doris_columns(env.dsql, env.db, table, cols, sizeof(cols));
    if (strcmp(cols, want) != 0)
        fprintf(stderr, "DESC %s: got \"%s\", want \"%s\"\n", table, cols, want);
    T_EQ_STR(cols, want);
}

int main(void)
{
    struct ddl_load l = {.next_id = 1001, .next_x = 1001};
    struct sw_workload w = {.step = ddl_step, .pause_us = 5000, .seed = 11};
    char log[300], log2[300], vlog[300];
    double t0 = sw_now();
    char *out;
    int rc;

    sw_env_init(&env, "stream_ddl", "sd_dst");
    sw_path(&env, "state", state, sizeof(state));
    sw_path(&env, "sync.log", log, sizeof(log));
    setup_source();
    w.conninfo = src_conninfo;
    w.user = &l;
    sw_start(&w);
    {
        const char *args[] = {
            "sync",    "--source",    src_conninfo, "--dest", env.dest,
            "--state", state,         "--readers",  "2",      "--batch-timeout-ms",
            "1000",    "--log-level", "debug",      NULL};

        pid = it_start_pg2doris(args, log);
    }
    T_CHECK(it_wait_log(pid, log, "cdc: streaming slot", 60000));
    T_EQ_INT(it_state_slot(state, slot, sizeof(slot)), 0);
    sleep(1);

    /* 1. a Relation re-sent after ANALYZE is no schema change */
    it_pg_ok(src, "VACUUM ANALYZE d_uni");
    it_pg_ok(src, "UPDATE d_uni SET a = 'after analyze' WHERE id = 1");
    caught_up("after ANALYZE");
    T_EQ_INT(it_log_count(log, "schema change"), 0);
    T_EQ_INT(it_log_count(log, "ALTER TABLE"), 0);

    /* 2. TRUNCATE empties the Doris table; later rows arrive */
    if (phase("TRUNCATE")) {
        it_pg_ok(src, "TRUNCATE d_trunc");
        caught_up("after TRUNCATE");
        T_EQ_INT(it_doris_count(env.dsql, env.db, "SELECT count(*) FROM d_trunc"), 0);
        T_EQ_INT(it_log_count(log, "source table \"public.d_trunc\" was truncated"), 1);
        it_pg_ok(src, "INSERT INTO d_trunc SELECT g, E'new\\n' || g FROM generate_series(1, 5) g");
        caught_up("after the inserts after TRUNCATE");
        T_EQ_INT(it_doris_count(env.dsql, env.db, "SELECT count(*) FROM d_trunc"), 5);
        sw_expect_doris(&env, "SELECT v FROM d_trunc WHERE id = 5", "new\n5");
    }

    /* 3. DROP COLUMN, rows after */
    if (phase("DROP COLUMN")) {
        it_pg_ok(src, "ALTER TABLE d_uni DROP COLUMN b");
        it_pg_ok(src, "UPDATE d_uni SET a = a || '!' WHERE id % 5 = 0 AND id <= 300");
        it_pg_ok(src, "INSERT INTO d_uni (id, a) VALUES (100002, 'after drop')");
        caught_up("after DROP COLUMN");
        expect_columns("d_uni", "id,a");
        sw_expect_doris(&env, "SELECT a FROM d_uni WHERE id = 100002", "after drop");
    }

    /* 4. ADD COLUMN, values after */
    if (phase("ADD COLUMN")) {
        it_pg_ok(src, "ALTER TABLE d_uni ADD COLUMN c text");
        it_pg_ok(src, "UPDATE d_uni SET c = 'c' || id WHERE id % 3 = 0 AND id <= 300");
        it_pg_ok(src, "INSERT INTO d_uni (id, a, c) VALUES (100001, 'n', E'c\\tnew\\\\')");
        /* Expected: the column is added in Doris and the stream goes on.
         * The streamer re-plans the table from the source catalog (which
         * has "c" already) and then asks that plan to add "c": "cannot add
         * column \"c\" to Doris table ...: a column of that name exists",
         * exit 4. */
        caught_up("after ADD COLUMN");
        expect_columns("d_uni", "id,a,c");
        sw_expect_doris(&env, "SELECT c FROM d_uni WHERE id = 100001", "c\tnew\\");
        sw_expect_doris(&env, "SELECT c FROM d_uni WHERE id = 3", "c3");
        sw_expect_doris(&env, "SELECT c FROM d_uni WHERE id = 4", "<NULL>");
    }

    /* 5. ADD COLUMN on the Duplicate table */
    if (phase("ADD COLUMN on the Duplicate table")) {
        it_pg_ok(src, "ALTER TABLE d_dup ADD COLUMN z integer");
        it_pg_ok(src, "INSERT INTO d_dup VALUES (100000, 'z', 7)");
        it_pg_ok(src, "UPDATE d_dup SET z = x WHERE x <= 10");
        caught_up("after ADD COLUMN on the Duplicate table");
        expect_columns("d_dup", "x,y,z,_is_deleted,_version,_record_id");
        sw_expect_doris(&env, "SELECT z FROM d_dup WHERE x = 100000", "7");
    }

    /* 6. ADD COLUMN with a default: the existing rows have it in the
     * source without any row in the WAL */
    if (phase("ADD COLUMN ... DEFAULT")) {
        it_pg_ok(src, "ALTER TABLE d_def ADD COLUMN w integer DEFAULT 7");
        it_pg_ok(src, "UPDATE d_def SET v = -1 WHERE id = 1");
        caught_up("after ADD COLUMN ... DEFAULT");
        expect_columns("d_def", "id,v,w");
        sw_expect_doris(&env, "SELECT w FROM d_def WHERE id = 1", "7");
        /* Expected: 7, the source's value for a row untouched since */
        sw_expect_doris(&env, "SELECT w FROM d_def WHERE id = 2", "7");
    }

    /* 7. stop, verify */
    sw_stop(&w);
    T_EQ_INT(w.ctx.errors, 0);
    caught_up("after the workload");
    rc = it_stop_pg2doris(pid, SIGTERM, 60000);
    T_EQ_INT(rc, 0);
    out = it_slurp(log);
    if (rc != 0)
        fprintf(stderr, "--- sync exit %d, first error:\n%s\n", rc,
                sw_line_with(out, " error ", vlog, sizeof(vlog)));
    free(out);
    out = it_slurp(log);
    T_EQ_INT(it_log_count(log, "table \"public.d_uni\" now streams"), 2); /* DROP, ADD */
    T_CHECK(strstr(out, "ALTER TABLE `sd_dst`.`d_uni` DROP COLUMN `b`") != NULL);
    T_CHECK(strstr(out, "ALTER TABLE `sd_dst`.`d_uni` ADD COLUMN `c`") != NULL);
    T_CHECK(strstr(out, "ALTER TABLE `sd_dst`.`d_dup` ADD COLUMN `z`") != NULL);
    free(out);
    sw_path(&env, "verify.log", vlog, sizeof(vlog));
    rc = it_verify_full(src_conninfo, env.dest, NULL, vlog, &out);
    fprintf(stderr, "--- verify --full (exit %d)\n%s", rc, out);
    /* Expected: exit 0 (d_def: see 5) */
    T_EQ_INT(rc, P2D_EXIT_OK);
    sw_verify_line_match(out, "public.d_uni");
    sw_verify_line_match(out, "public.d_dup");
    sw_verify_line_match(out, "public.d_trunc");
    sw_verify_line_match(out, "public.d_def");
    free(out);
    {
        const char *extra[] = {"--exclude", "public.d_def", NULL};

        sw_path(&env, "verify2.log", vlog, sizeof(vlog));
        rc = it_verify_full(src_conninfo, env.dest, extra, vlog, &out);
        T_EQ_INT(rc, P2D_EXIT_OK);
        T_HAS_STR(out, "3 match, 0 mismatch");
        free(out);
    }
    T_EQ_INT(it_compare_rows(src, "SELECT id, a, c FROM d_uni ORDER BY id", env.dsql, env.db,
                             "SELECT id, a, c FROM d_uni ORDER BY id", "d_uni", NULL),
             0);
    T_EQ_INT(it_compare_rows(src, "SELECT x, y, z, count(*) FROM d_dup GROUP BY x, y, z ORDER BY x",
                             env.dsql, env.db,
                             "SELECT x, y, z, SUM(CASE WHEN _is_deleted THEN -1 ELSE 1 END) FROM"
                             " d_dup GROUP BY x, y, z"
                             " HAVING SUM(CASE WHEN _is_deleted THEN -1 ELSE 1 END) > 0 ORDER BY x",
                             "d_dup dedupe", NULL),
             0);

    /* 8. a rename is reported, not guessed (a job of its own: d_ren only) */
    /* v keeps its place between id and w: a rename, not a drop and an add */
    it_pg_ok(src, "CREATE TABLE d_ren (id integer PRIMARY KEY, v text, w integer)");
    it_pg_ok(src, "INSERT INTO d_ren VALUES (1, 'one', 1), (2, 'two', 2)");
    sw_path(&env, "sync_ren.log", log2, sizeof(log2));
    sw_path(&env, "state_ren", vlog, sizeof(vlog));
    {
        char dest2[300];
        const char *args[] = {"sync",    "--source", src_conninfo, "--dest",       dest2,
                              "--state", vlog,       "--include",  "public.d_ren", NULL};

        snprintf(dest2, sizeof(dest2), "http://root@127.0.0.1:%s/sd_ren", t_env("EMU_FE_PORT"));
        pid = it_start_pg2doris(args, log2);
    }
    T_CHECK(it_wait_log(pid, log2, "cdc: streaming slot", 60000));
    it_pg_ok(src, "UPDATE d_ren SET w = 3 WHERE id = 2"); /* the stream sees the old shape */
    it_pg_ok(src, "ALTER TABLE d_ren RENAME COLUMN v TO v2");
    it_pg_ok(src, "UPDATE d_ren SET v2 = 'renamed' WHERE id = 1");
    /* Expected: the rename is named as such and the sync stops (exit 4) */
    T_CHECK(it_wait_log(pid, log2, "cannot be applied automatically", 30000));
    rc = it_stop_pg2doris(pid, 0, 30000);
    T_EQ_INT(rc, P2D_EXIT_SOURCE);
    out = it_slurp(log2);
    T_CHECK(strstr(out, "rename") != NULL);
    fprintf(stderr, "rename: %s\n",
            sw_line_with(out, "cannot be applied automatically", vlog, sizeof(vlog)));
    free(out);
    fprintf(stderr, "total %.1f s\n", sw_now() - t0);
    PQfinish(src);
    sw_env_fini(&env);
    return t_done();
}
