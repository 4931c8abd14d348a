/*
 * stream_crash_test.c - the WAL streamer across crashes under a continuing
 * write load, through the built binary, against PostgreSQL and doris-emu.
 *
 * Source (database sc_src): c_main (int key, 20k rows, hostile text),
 * c_comp (composite key), c_toast (a TOASTed text on REPLICA IDENTITY
 * DEFAULT: partial updates), c_log (no key, REPLICA IDENTITY FULL:
 * Duplicate model). One workload thread writes all along (inserts,
 * updates, key changes, deletes, multi-row transactions) and reconnects
 * when PostgreSQL restarts.
 *   1. kill -9 at three points of the streaming phase, each run restarted
 *      with the same --state: (a) just after the stream started, (b) just
 *      after a load was confirmed by Doris, (c) with a load in flight
 *      (doris-emu holds c_main loads 2.5 s); each restart resumes the
 *      stream; the slot never confirms more than the state stored;
 *   2. PostgreSQL restarted (pg_ctl restart -m fast) under the stream: the
 *      streamer logs "reconnecting" and streams again;
 *   3. doris-emu fails 10% of the loads (http5xx, rate 0.1) for a while:
 *      the loads are retried;
 *   4. after the workload stops the slot catches up, SIGTERM exits 0,
 *      verify --full matches, and no Unique table holds a row twice;
 *   5. a schema change after a PostgreSQL restart (ADD COLUMN): the
 *      streamer re-reads the catalog and goes on.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "p2d_error.h"
#include "engine_it.h"
#include "stream_common.h"
#include "testlib.h"

static struct sw_env env;
static char src_conninfo[512], state[300], slot[128];
static PGconn *src;
static int run_no;

#define BIG_EXPR(seed)                                                                             \
    "(SELECT string_agg(md5((" seed ")::text || '/' || i), '') FROM generate_series(1, 300) i)"

static void setup_source(void)
{
    src = it_pg_fresh_db("sc_src", src_conninfo, sizeof(src_conninfo));
    it_pg_ok(src, "CREATE TABLE c_main (id integer PRIMARY KEY, v text, n bigint)");
    it_pg_ok(src, "INSERT INTO c_main SELECT g, CASE g % 5 WHEN 0 THEN E'tab\\there' WHEN 1"
                  " THEN E'nl\\n\\\\N' WHEN 2 THEN 'ü🎉' WHEN 3 THEN NULL ELSE 'x' || g END, g"
                  " FROM generate_series(1, 20000) g");
    it_pg_ok(src, "CREATE TABLE c_comp (a integer, b text, v integer, PRIMARY KEY (b, a))");
    it_pg_ok(src, "INSERT INTO c_comp SELECT g, 'k' || (g % 7) || E'\\t,', g"
                  " FROM generate_series(1, 2000) g");
    it_pg_ok(src, "CREATE TABLE c_toast (id integer PRIMARY KEY, n integer, big text)");
    it_pg_ok(src,
             "INSERT INTO c_toast SELECT g, 0, " BIG_EXPR("g") " FROM generate_series(1, 20) g");
    it_pg_ok(src, "CREATE TABLE c_log (a integer NOT NULL, b text, n integer)");
    it_pg_ok(src, "ALTER TABLE c_log REPLICA IDENTITY FULL");
    it_pg_ok(src, "INSERT INTO c_log SELECT g % 30, 'b' || (g % 4), g % 5 FROM generate_series(1,"
                  " 100) g");
    it_pg_ok(src, "ANALYZE");
}

/* ---- the workload ------------------------------------------------------------------- */

struct load {
    int next_main, next_comp;
};

static void crash_step(struct sw_ctx *c)
{
    struct load *l = c->user;
    int t = sw_rand(c, 100), op = sw_rand(c, 100);
    int x = 1 + sw_rand(c, l->next_main - 60); /* x + 51 is never a key still to come */

    if (t < 45) {
        if (op < 30)
            sw_exec(c, "INSERT INTO c_main VALUES (%d, E'new\\t%d', %d)", l->next_main++, op, x);
        else if (op < 60)
            sw_exec(c, "UPDATE c_main SET n = n + 1, v = E'u\\\\%d' WHERE id = %d", op, x);
        else if (op < 70)
            sw_exec(c, "UPDATE c_main SET id = %d WHERE id = %d", l->next_main++, x);
        else if (op < 85)
            sw_exec(c, "DELETE FROM c_main WHERE id = %d", x);
        else if (op < 95) /* a multi-row transaction */
            sw_exec(c,
                    "BEGIN; UPDATE c_main SET n = n * 2 WHERE id BETWEEN %d AND %d;"
                    " DELETE FROM c_main WHERE id = %d; INSERT INTO c_main VALUES (%d, 'again',"
                    " -1); COMMIT",
                    x, x + 50, x + 51, x + 51);
        else
            sw_exec(c, "UPDATE c_main SET v = NULL WHERE id BETWEEN %d AND %d", x, x + 200);
    } else if (t < 65) {
        int a = 1 + sw_rand(c, l->next_comp - 1);

        if (op < 40)
            sw_exec(c, "INSERT INTO c_comp VALUES (%d, E'n\\t%d', %d)", l->next_comp++, op % 3, op);
        else if (op < 70)
            sw_exec(c, "UPDATE c_comp SET v = v + 1 WHERE a = %d", a);
        else if (op < 80)
            sw_exec(c, "UPDATE c_comp SET a = %d WHERE a = %d", l->next_comp++, a);
        else
            sw_exec(c, "DELETE FROM c_comp WHERE a = %d", a);
    } else if (t < 80) {
        int id = 1 + sw_rand(c, 20);

        if (op < 85) /* the TOAST value stays: a partial update */
            sw_exec(c, "UPDATE c_toast SET n = n + 1 WHERE id = %d", id);
        else
            sw_exec(c, "UPDATE c_toast SET big = " BIG_EXPR("%d") " WHERE id = %d", op, id);
    } else {
        int a = sw_rand(c, 30);

        if (op < 40)
            sw_exec(c, "INSERT INTO c_log VALUES (%d, E'l\\t%d', %d)", a, op, op % 5);
        else if (op < 70)
            sw_exec(c,
                    "UPDATE c_log SET n = n + 1 WHERE ctid = (SELECT ctid FROM c_log WHERE a = %d"
                    " LIMIT 1)",
                    a);
        else
            sw_exec(c,
                    "DELETE FROM c_log WHERE ctid = (SELECT ctid FROM c_log WHERE a = %d LIMIT 1)",
                    a);
    }
}

/* ---- helpers ----------------------------------------------------------------------- */

static pid_t start_run(char *log, size_t loglen)
{
    const char *args[] = {"sync",    "--source",    src_conninfo, "--dest", env.dest,
                          "--state", state,         "--readers",  "2",      "--batch-timeout-ms",
                          "1000",    "--log-level", "debug",      NULL};
    char leaf[32];

    snprintf(leaf, sizeof(leaf), "run%d.log", ++run_no);
    sw_path(&env, leaf, log, loglen);
    return it_start_pg2doris(args, log);
}

/* The acknowledged LSN the state stored, as a number (-1 on error). */
static long long state_acked(void)
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;

    snprintf(path, sizeof(path), "%s/state.db", state);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT acked_lsn FROM job", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* After a kill: the slot confirms nothing the state has not stored. */
static void check_ack_invariant(const char *when)
{
    char q[256];
    long long stored = state_acked(), confirmed;

    snprintf(q, sizeof(q),
             "SELECT (confirmed_flush_lsn - '0/0'::pg_lsn)::bigint FROM pg_replication_slots"
             " WHERE slot_name = '%s'",
             slot);
    confirmed = it_pg_scalar(src, q);
    fprintf(stderr, "%s: state acked %llX, slot confirmed %llX\n", when, stored, confirmed);
    T_CHECK(stored > 0);
    T_CHECK(confirmed > 0 && confirmed <= stored);
}

static void kill9(pid_t pid, const char *when)
{
    T_CHECK(it_pid_alive(pid));
    T_EQ_INT(it_stop_pg2doris(pid, SIGKILL, 30000), 128 + SIGKILL);
    check_ack_invariant(when);
}

/* Waits for the resumed stream of a restarted run. */
static void wait_resumed(pid_t pid, const char *log)
{
    T_CHECK(it_wait_log(pid, log, "the full load of this job is done; resuming the stream", 30000));
    T_CHECK(it_wait_log(pid, log, "cdc: streaming slot", 60000));
}

static void restart_pg(void)
{
    char *out = t_sh("runuser -u postgres -- %s/pg_ctl -D %s -o '-p %s' -m fast -w -t 60"
                     " -l %s/postgres.log restart >/dev/null 2>&1; echo $?",
                     t_env("H_PGBIN"), t_env("H_PGDATA"), t_env("PGPORT"), t_env("H_TMP"));

    T_EQ_STR(out, "0");
    free(out);
    PQreset(src);
    T_EQ_INT(PQstatus(src), CONNECTION_OK);
}

static void no_doubles(const char *table, const char *key)
{
    char q[256];
    long long pg, doris;

    snprintf(q, sizeof(q), "SELECT count(*) FROM %s", table);
    pg = it_pg_scalar(src, q);
    doris = it_doris_count(env.dsql, env.db, q);
    if (pg != doris)
        fprintf(stderr, "%s: %lld rows in the source, %lld in Doris\n", table, pg, doris);
    T_EQ_INT(doris, pg);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM (SELECT %s FROM %s GROUP BY %s HAVING count(*) > 1) x", key,
             table, key);
    T_EQ_INT(it_doris_count(env.dsql, env.db, q), 0);
}

int main(void)
{
    struct load l = {.next_main = 20001, .next_comp = 2001};
    struct sw_workload w = {.step = crash_step, .pause_us = 3000, .seed = 7};
    char log[300], vlog[300], target[64];
    double t0 = sw_now(), t;
    pid_t pid;
    char *out;
    int rc;

    sw_env_init(&env, "stream_crash", "sc_dst");
    sw_path(&env, "state", state, sizeof(state));
    setup_source();
    w.conninfo = src_conninfo;
    w.user = &l;
    sw_start(&w);

    /* 1a. kill -9 just after the stream started */
    pid = start_run(log, sizeof(log));
    T_CHECK(it_wait_log(pid, log, "cdc: streaming slot", 60000));
    T_EQ_INT(it_state_slot(state, slot, sizeof(slot)), 0);
    usleep(300000);
    kill9(pid, "kill 1 (stream just started)");

    /* 1b. kill -9 right after Doris confirmed a load of the stream */
    pid = start_run(log, sizeof(log));
    wait_resumed(pid, log);
    T_CHECK(it_wait_log(pid, log, "\": Success, ", 30000));
    kill9(pid, "kill 2 (a load just confirmed)");

    /* 1c. kill -9 with a load in flight: doris-emu holds c_main loads */
    it_emu_fault("kind=slow,ms=2500,table=c_main");
    pid = start_run(log, sizeof(log));
    wait_resumed(pid, log);
    usleep(1800000);
    kill9(pid, "kill 3 (a load in flight)");
    it_emu_fault(NULL);
    sleep(1); /* the held load finishes in doris-emu */

    /* 2. PostgreSQL restarted under the stream */
    pid = start_run(log, sizeof(log));
    wait_resumed(pid, log);
    sleep(1);
    t = sw_now();
    restart_pg();
    T_CHECK(it_wait_log(pid, log, "; reconnecting", 30000));
    T_CHECK(it_wait_log_n(pid, log, "cdc: streaming slot", 2, 60000));
    fprintf(stderr, "PostgreSQL restart: streaming again %.1f s after the restart began\n",
            sw_now() - t);
    sleep(1);

    /* 3. 10% of the loads fail: for 6 s, and on until two loads were retried */
    {
        int before = it_log_count(log, "retrying in");

        it_emu_fault("kind=http5xx,rate=0.1");
        sleep(6);
        T_CHECK(it_wait_log_n(pid, log, "retrying in", before + 2, 60000));
        it_emu_fault(NULL);
    }

    /* 4. the workload stops; the stream catches up and stops cleanly */
    sw_stop(&w);
    T_EQ_INT(w.ctx.errors, 0);
    T_CHECK(w.ctx.reconnects > 0);
    it_pg_current_lsn(src, target, sizeof(target));
    T_CHECK(it_wait_slot_flushed(src, slot, target, pid, 90000));
    fprintf(stderr, "retried loads during the 10%% failures: %d\n",
            it_log_count(log, "retrying in"));
    rc = it_stop_pg2doris(pid, SIGTERM, 60000);
    T_EQ_INT(rc, 0);
    {
        const char *extra[] = {"--exclude", "public.c_log", NULL};

        sw_path(&env, "verify1.log", vlog, sizeof(vlog));
        rc = it_verify_full(src_conninfo, env.dest, NULL, vlog, &out);
        fprintf(stderr, "--- verify --full (exit %d)\n%s", rc, out);
        /* c_log may hold identical copies of changes appended again after
         * the kills (see below): verify counts it without them */
        T_EQ_INT(rc, P2D_EXIT_OK);
        sw_verify_line_match(out, "public.c_main");
        sw_verify_line_match(out, "public.c_comp");
        sw_verify_line_match(out, "public.c_toast");
        sw_verify_line_match(out, "public.c_log");
        free(out);
        sw_path(&env, "verify1u.log", vlog, sizeof(vlog));
        rc = it_verify_full(src_conninfo, env.dest, extra, vlog, &out);
        T_EQ_INT(rc, P2D_EXIT_OK);
        T_HAS_STR(out, "3 match, 0 mismatch");
        free(out);
    }
    no_doubles("c_main", "id");
    no_doubles("c_comp", "a, b");
    no_doubles("c_toast", "id");
    T_EQ_INT(it_compare_rows(src, "SELECT id, n, big FROM c_toast ORDER BY id", env.dsql, env.db,
                             "SELECT id, n, big FROM c_toast ORDER BY id", "c_toast", NULL),
             0);
    /* the keyless table: the source state through the dedupe query; a
     * change replayed after a crash shows up as a second row with the same
     * (_record_id, _is_deleted) */
    {
        long long replayed = it_doris_count(
            env.dsql, env.db,
            "SELECT count(*) FROM (SELECT _record_id, _is_deleted FROM c_log WHERE _version > 0"
            " GROUP BY _record_id, _is_deleted HAVING count(*) > 1) x");

        long long differing = it_doris_count(
            env.dsql, env.db,
            "SELECT count(*) FROM (SELECT _record_id, _is_deleted FROM (SELECT DISTINCT * FROM"
            " c_log) d WHERE _version > 0 GROUP BY _record_id, _is_deleted HAVING count(*) > 1)"
            " x");

        /* After a kill -9 the stream resumes at the acknowledged LSN and may
         * cut its batches elsewhere, so a Duplicate table can get changes
         * appended again under another label. Those copies are identical,
         * down to _record_id: DISTINCT removes them, and the dedupe below
         * (and verify's count) give the source state. */
        fprintf(stderr, "c_log: %lld change rows appear more than once (identical copies)\n",
                replayed);
        T_EQ_INT(differing, 0);
        T_EQ_INT(it_compare_rows(
                     src, "SELECT a, b, n, count(*) FROM c_log GROUP BY a, b, n ORDER BY a, n, b",
                     env.dsql, env.db,
                     "SELECT a, b, n, SUM(CASE WHEN _is_deleted THEN -1 ELSE 1 END) AS c FROM"
                     " (SELECT DISTINCT a, b, n, _is_deleted, _version, _record_id FROM c_log) x"
                     " GROUP BY a, b, n HAVING SUM(CASE WHEN _is_deleted THEN -1 ELSE 1 END) > 0"
                     " ORDER BY a, n, b",
                     "c_log dedupe", NULL),
                 0);
    }

    /* 5. a schema change after a PostgreSQL restart */
    pid = start_run(log, sizeof(log));
    wait_resumed(pid, log);
    restart_pg();
    T_CHECK(it_wait_log(pid, log, "; reconnecting", 30000));
    T_CHECK(it_wait_log_n(pid, log, "cdc: streaming slot", 2, 60000));
    it_pg_ok(src, "ALTER TABLE c_main ADD COLUMN extra integer");
    it_pg_ok(src, "UPDATE c_main SET extra = id WHERE id <= 100");
    it_pg_current_lsn(src, target, sizeof(target));
    /* The streamer re-reads the source catalog for the new column through
     * its SQL session, which died with the restart: it must make a new one
     * and go on. */
    T_CHECK(it_wait_slot_flushed(src, slot, target, pid, 60000));
    T_CHECK(it_pid_alive(pid));
    rc = it_stop_pg2doris(pid, SIGTERM, 60000);
    out = it_slurp(log);
    if (rc != 0)
        fprintf(stderr, "--- run %d (exit %d), last lines\n%s\n", run_no, rc,
                strlen(out) > 3000 ? out + strlen(out) - 3000 : out);
    T_EQ_INT(rc, 0);
    free(out);
    {
        char cols[256];

        it_doris_columns(env.dsql, env.db, "c_main", cols, sizeof(cols));
        T_EQ_STR(cols, "id,v,n,extra");
        T_EQ_INT(it_doris_count(env.dsql, env.db, "SELECT count(extra) FROM c_main"),
                 it_pg_scalar(src, "SELECT count(extra) FROM c_main"));
        T_CHECK(it_pg_scalar(src, "SELECT count(extra) FROM c_main") > 50);
    }
    fprintf(stderr, "total %.1f s\n", sw_now() - t0);
    PQfinish(src);
    sw_env_fini(&env);
    return t_done();
}
