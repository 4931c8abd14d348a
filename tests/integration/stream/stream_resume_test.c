/*
 * stream_resume_test.c - kill -9 in the middle of the full load of a job
 * that streams, with writes before and after the kill.
 *
 * The rerun keeps the slot (its consistent point is where the stream of
 * the ranges already loaded starts), reads only the unfinished ranges,
 * under a fresh snapshot, and then streams from the consistent point: the
 * changes committed after it are replayed over every range, old and
 * re-read, and keyed upserts and deletes make that converge. Checked:
 * the resume keeps the slot and re-reads only unfinished ranges, SIGTERM
 * exits 0, verify --full matches, and the rows written at each stage are
 * in Doris.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "engine_it.h"
#include "p2d_error.h"
#include "stream_common.h"
#include "testlib.h"

int main(void)
{
    struct sw_env env;
    char src_conninfo[512], state[600], log[600], vlog[600], slot[128], target[64];
    PGconn *src;
    char *out;
    pid_t pid;
    int rc, ndone = 0, nranges;

    src = it_pg_fresh_db("sr_src", src_conninfo, sizeof(src_conninfo));
    sw_env_init(&env, "stream_resume", "sr_dst");
    sw_path(&env, "state", state, sizeof(state));
    it_pg_ok(src, "CREATE TABLE r (id integer PRIMARY KEY, v text NOT NULL)");
    it_pg_ok(src, "INSERT INTO r SELECT g, 'v' || g FROM generate_series(1, 200000) g");

    /* 1. a throttled full load, killed after some ranges are done; writes
     * land in ranges done and not done while it runs */
    {
        const char *args[] = {"sync",       "--source",
                              src_conninfo, "--dest",
                              env.dest,     "--state",
                              state,        "--readers",
                              "2",          "--rows-per-range",
                              "20000",      "--rows-per-sec",
                              "40000",      "--batch-timeout-ms",
                              "1000",       NULL};

        sw_path(&env, "run1.log", log, sizeof(log));
        pid = it_start_pg2doris(args, log);
        /* the plan is in the state once the load starts */
        T_CHECK(it_wait_log(pid, log, "sync: loading ", 60000));
        for (int i = 0; i < 1200 && ndone < 3 && it_pid_alive(pid); i++) {
            usleep(50000);
            (void)it_state_ranges(state, "r", NULL, 0, &ndone);
        }
        T_CHECK(ndone >= 3);
        it_pg_ok(src, "UPDATE r SET v = 'during' WHERE id % 1000 = 0");
        it_pg_ok(src, "DELETE FROM r WHERE id % 777 = 0");
        it_pg_ok(src, "INSERT INTO r SELECT g, 'new' FROM generate_series(200001, 201000) g");
        rc = it_stop_pg2doris(pid, SIGKILL, 10000);
        T_EQ_INT(rc, 128 + SIGKILL);
    }
    nranges = it_state_ranges(state, "r", NULL, 0, &ndone);
    T_CHECK(ndone >= 3);
    T_CHECK(ndone < nranges);
    T_EQ_INT(it_state_slot(state, slot, sizeof(slot)), 0);
    it_pg_ok(src, "UPDATE r SET v = 'after-kill' WHERE id % 1500 = 0");
    it_pg_ok(src, "INSERT INTO r SELECT g, 'new2' FROM generate_series(201001, 202000) g");

    /* 2. the rerun: keeps the slot, re-reads the unfinished ranges, streams */
    {
        const char *args[] = {"sync",    "--source", src_conninfo,         "--dest", env.dest,
                              "--state", state,      "--batch-timeout-ms", "1000",   NULL};

        sw_path(&env, "run2.log", log, sizeof(log));
        pid = it_start_pg2doris(args, log);
        T_CHECK(it_wait_log(pid, log, "cdc: streaming slot", 120000));
        it_pg_ok(src, "UPDATE r SET v = 'streaming' WHERE id % 2000 = 1");
        it_pg_current_lsn(src, target, sizeof(target));
        T_CHECK(it_wait_slot_flushed(src, slot, target, pid, 90000));
        rc = it_stop_pg2doris(pid, SIGTERM, 60000);
        T_EQ_INT(rc, 0);
        out = it_slurp(log);
        T_HAS_STR(out, "keeping slot");
        T_HAS_STR(out, "unfinished ranges are read again under a new snapshot");
        free(out);
    }
    nranges = it_state_ranges(state, "r", NULL, 0, &ndone);
    T_EQ_INT(ndone, nranges);

    /* 3. the destination is the source */
    sw_path(&env, "verify.log", vlog, sizeof(vlog));
    rc = it_verify_full(src_conninfo, env.dest, NULL, vlog, &out);
    fprintf(stderr, "--- verify --full (exit %d)\n%s", rc, out);
    T_EQ_INT(rc, P2D_EXIT_OK);
    T_HAS_STR(out, "1 match, 0 mismatch");
    free(out);
    T_EQ_INT(it_doris_count(env.dsql, env.db, "SELECT count(*) FROM r WHERE v = 'during'"),
             it_pg_scalar(src, "SELECT count(*) FROM r WHERE v = 'during'"));
    T_EQ_INT(it_doris_count(env.dsql, env.db, "SELECT count(*) FROM r WHERE v = 'streaming'"),
             it_pg_scalar(src, "SELECT count(*) FROM r WHERE v = 'streaming'"));
    T_EQ_INT(it_doris_count(env.dsql, env.db, "SELECT count(*) FROM r WHERE id > 200000"), 2000);

    PQfinish(src);
    sw_env_fini(&env);
    return t_done();
}
