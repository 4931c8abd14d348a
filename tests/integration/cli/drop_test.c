/*
 * drop_test.c - `pg2doris status` and `pg2doris drop` through the built
 * binary, against PostgreSQL and doris-emu.
 *
 * A job left behind is made by killing `sync --mode schema,full` with
 * SIGKILL once it loads (its slot, publication and state then stay):
 *   1. while the sync runs (throttled): status reads the state without the
 *      lock (text and --json name its pid); drop refuses with exit 7 and
 *      the slot stays;
 *   2. after the kill: status text and --json (and --source: the slot at
 *      the source) show the job; drop refuses (exit 7) while the test
 *      holds the state lock, for a --dest naming another job, and for a
 *      --source naming another database; drop with the sync's flags then
 *      removes slot, publication and state files (and the emptied
 *      directory), and a second drop exits 0 with nothing to drop;
 *   3. drop with --source and --state only: the job is the state's; files
 *      pg2doris does not own stay, and so does the directory;
 *   4. no state, a slot and publication by the job's name: drop with
 *      --dest finds them through the fingerprint and creates no state;
 *   5. usage errors and a missing state directory.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "job/job.h"
#include "p2d_error.h"
#include "engine_it.h"
#include "testlib.h"

#define BIG_ROWS 200000

static char tmpdir[256];
static char src_conninfo[512];
static PGconn *src;
static int run_seq;

/* Runs pg2doris with args; *out gets stdout and stderr (free it). */
static int run(const char *const *args, char **out)
{
    char log[512];
    int rc;

    snprintf(log, sizeof(log), "%s/run%d.log", tmpdir, run_seq++);
    rc = it_run_pg2doris(args, log, NULL, 0, 0);
    *out = it_slurp(log);
    return rc;
}

static void job_id_of(const char *dest, char out[P2D_JOB_FINGERPRINT_LEN])
{
    char *argv[] = {"sync", "--source", src_conninfo, "--dest", (char *)dest, NULL};
    struct p2d_job_env env = {.dest_password = NULL, .cores = 2};
    struct p2d_job *job = NULL;
    char err[1024];

    T_EQ_INT(p2d_job_parse(P2D_JOB_SYNC, 5, argv, &env, &job, err, sizeof(err)), 0);
    T_EQ_INT(p2d_job_fingerprint(job, out), 0);
    p2d_job_destroy(job);
}

/* Slots and publications named p2d_<job_id> at the source. */
static long long slots_of(const char *job_id)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'p2d_%s'", job_id);
    return it_pg_scalar(src, sql);
}

static long long pubs_of(const char *job_id)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_publication WHERE pubname = 'p2d_%s'",
             job_id);
    return it_pg_scalar(src, sql);
}

static bool exists(const char *dir, const char *name)
{
    char path[700];
    struct stat sb;

    snprintf(path, sizeof(path), "%s%s%s", dir, name ? "/" : "", name ? name : "");
    return stat(path, &sb) == 0;
}

/* `status --json` of dir (with --source when source is set), parsed. */
static json_t *status_json(const char *dir, const char *source)
{
    const char *args[] = {"status", "--state", dir, "--json", source ? "--source" : NULL,
                          source,   NULL};
    json_t *o;
    char *out;
    int rc = run(args, &out);

    T_EQ_INT(rc, 0);
    o = json_loads(out, 0, NULL);
    if (!o)
        fprintf(stderr, "status --json printed:\n%s\n", out);
    T_CHECK(json_is_object(o));
    free(out);
    return o;
}

static void setup_source(void)
{
    src = it_pg_fresh_db("cli_src", src_conninfo, sizeof(src_conninfo));
    it_pg_ok(src, "CREATE TABLE t_big (id integer PRIMARY KEY, v text)");
    it_pg_ok(src, "INSERT INTO t_big SELECT g, 'v' || g FROM generate_series(1, 200000) g");
    it_pg_ok(src, "CREATE TABLE t_small (a integer, b text)");
    it_pg_ok(src, "INSERT INTO t_small SELECT g, 'b' || g FROM generate_series(1, 500) g");
    it_pg_ok(src, "ANALYZE");
}

int main(void)
{
    char dest1[256], dest2[256], dest3[256], state1[300], state2[300], state3[300], log[300];
    char job1[P2D_JOB_FINGERPRINT_LEN], job2[P2D_JOB_FINGERPRINT_LEN];
    char job3[P2D_JOB_FINGERPRINT_LEN], text[512], other_db[600];
    char *out;
    int rc;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/p2d_drop_%d", (int)getpid());
    mkdir(tmpdir, 0755);
    snprintf(state1, sizeof(state1), "%s/s1", tmpdir);
    snprintf(state2, sizeof(state2), "%s/s2", tmpdir);
    snprintf(state3, sizeof(state3), "%s/s3", tmpdir);
    snprintf(dest1, sizeof(dest1), "http://root@127.0.0.1:%s/cli_dst1", t_env("EMU_FE_PORT"));
    snprintf(dest2, sizeof(dest2), "http://root@127.0.0.1:%s/cli_dst2", t_env("EMU_FE_PORT"));
    snprintf(dest3, sizeof(dest3), "http://root@127.0.0.1:%s/cli_dst3", t_env("EMU_FE_PORT"));
    setup_source();
    snprintf(other_db, sizeof(other_db), "%s dbname=postgres", t_env("P2D_PG_CONNINFO"));
    job_id_of(dest1, job1);
    job_id_of(dest2, job2);
    job_id_of(dest3, job3);
    T_CHECK(strcmp(job1, job2) != 0);

    /* 1. a sync running (throttled to about 10 s) */
    {
        const char *sync[] = {"sync",  "--source",       src_conninfo,  "--dest",
                              dest1,   "--mode",         "schema,full", "--state",
                              state1,  "--readers",      "2",           "--rows-per-range",
                              "10000", "--rows-per-sec", "20000",       NULL};
        const char *status[] = {"status", "--state", state1, NULL};
        const char *drop[] = {"drop", "--source", src_conninfo, "--dest",
                              dest1,  "--state",  state1,       NULL};
        pid_t pid;
        json_t *o;

        snprintf(log, sizeof(log), "%s/sync1.log", tmpdir);
        pid = it_start_pg2doris(sync, log);
        T_CHECK(it_wait_log(pid, log, "reading range", 120000));

        rc = run(status, &out);
        T_EQ_INT(rc, 0);
        T_HAS_STR(out, job1);
        snprintf(text, sizeof(text), "in use by pg2doris pid %d", (int)pid);
        T_HAS_STR(out, text);
        T_HAS_STR(out, "phase              full");
        free(out);
        o = status_json(state1, NULL);
        T_CHECK(json_is_true(json_object_get(o, "running")));
        T_EQ_INT(t_json_int(o, "pid"), pid);
        json_decref(o);

        rc = run(drop, &out);
        T_EQ_INT(rc, P2D_EXIT_STATE);
        snprintf(text, sizeof(text), "in use by another pg2doris process (pid %d)", (int)pid);
        T_HAS_STR(out, text);
        free(out);
        T_EQ_INT(slots_of(job1), 1);

        T_EQ_INT(it_stop_pg2doris(pid, SIGKILL, 10000), 128 + SIGKILL);
        out = it_slurp(log);
        T_CHECK(strstr(out, "sync finished") == NULL); /* killed during the load */
        free(out);
    }

    /* 2. the killed job: status, refusals, drop, drop again */
    {
        const char *status[] = {"status", "--state", state1, "--source", src_conninfo, NULL};
        const char *drop[] = {"drop", "--source", src_conninfo, "--dest",
                              dest1,  "--state",  state1,       NULL};
        const char *drop_other_dest[] = {"drop", "--source", src_conninfo, "--dest",
                                         dest2,  "--state",  state1,       NULL};
        const char *drop_other_db[] = {"drop", "--source", other_db, "--state", state1, NULL};
        char slot[64], lock[400];
        json_t *o, *ranges, *tables, *source;
        int ndone = 0, n, fd;

        snprintf(slot, sizeof(slot), "p2d_%s", job1);
        T_EQ_INT(slots_of(job1), 1);
        T_EQ_INT(pubs_of(job1), 1);

        rc = run(status, &out);
        if (rc != 0)
            fprintf(stderr, "%s", out);
        T_EQ_INT(rc, 0);
        T_HAS_STR(out, "no pg2doris is running on it");
        snprintf(text, sizeof(text), "slot               %s", slot);
        T_HAS_STR(out, text);
        snprintf(text, sizeof(text), "publication        %s", slot);
        T_HAS_STR(out, text);
        T_HAS_STR(out, "consistent point   0/");
        T_HAS_STR(out, "acked LSN          0/0");
        T_HAS_STR(out, "public.t_big -> cli_dst1.t_big (unique)");
        T_HAS_STR(out, "public.t_small -> cli_dst1.t_small (duplicate)");
        T_HAS_STR(out, "loads in doubt");
        T_HAS_STR(out, "slot at source     exists");
        T_HAS_STR(out, "bytes behind");
        T_HAS_STR(out, "hint: no pg2doris runs this job now");
        free(out);

        o = status_json(state1, src_conninfo);
        T_EQ_STR(t_json_str(o, "job"), job1);
        T_EQ_STR(t_json_str(o, "state_dir"), state1);
        T_CHECK(json_is_false(json_object_get(o, "running")));
        T_CHECK(json_is_null(json_object_get(o, "pid")));
        T_EQ_STR(t_json_str(o, "phase"), "full");
        T_EQ_STR(t_json_str(o, "slot"), slot);
        T_EQ_STR(t_json_str(o, "publication"), slot);
        T_CHECK(t_json_str(o, "consistent_lsn") && strcmp(t_json_str(o, "consistent_lsn"), "0/0"));
        T_EQ_STR(t_json_str(o, "acked_lsn"), "0/0");
        T_CHECK(t_json_str(o, "created") != NULL);
        ranges = json_object_get(o, "ranges");
        n = it_state_ranges(state1, "t_big", NULL, 0, &ndone);
        T_CHECK(n >= 20);
        T_CHECK(ndone < n);
        T_EQ_INT(t_json_int(ranges, "total"),
                 n + it_state_ranges(state1, "t_small", NULL, 0, NULL));
        T_EQ_INT(t_json_int(ranges, "planned") + t_json_int(ranges, "running") +
                     t_json_int(ranges, "done"),
                 t_json_int(ranges, "total"));
        tables = json_object_get(o, "tables");
        T_EQ_INT(json_array_size(tables), 2);
        for (size_t i = 0; i < json_array_size(tables); i++) {
            json_t *t = json_array_get(tables, i);

            if (strcmp(t_json_str(t, "source"), "public.t_big") == 0)
                T_EQ_INT(t_json_int(json_object_get(t, "ranges"), "done"), ndone);
        }
        T_EQ_INT(t_json_int(o, "loads_in_doubt"),
                 json_array_size(json_object_get(o, "loads_in_doubt_labels")));
        T_CHECK(json_is_object(json_object_get(o, "counters")));
        source = json_object_get(o, "source");
        T_CHECK(json_is_true(json_object_get(source, "slot_exists")));
        T_CHECK(t_json_int(source, "lag_bytes") >= 0);
        json_decref(o);

        /* the test holds the lock: drop refuses, status still reads */
        snprintf(lock, sizeof(lock), "%s/state.lock", state1);
        fd = open(lock, O_RDWR);
        T_CHECK(fd >= 0);
        T_EQ_INT(flock(fd, LOCK_EX | LOCK_NB), 0);
        rc = run(drop, &out);
        T_EQ_INT(rc, P2D_EXIT_STATE);
        snprintf(text, sizeof(text), "in use by another pg2doris process (pid %d)", (int)getpid());
        T_HAS_STR(out, text);
        T_HAS_STR(out, "hint: stop that pg2doris first");
        free(out);
        o = status_json(state1, NULL);
        T_EQ_INT(t_json_int(o, "pid"), getpid());
        json_decref(o);
        close(fd);
        T_EQ_INT(slots_of(job1), 1);

        /* flags naming another job, or another source database */
        rc = run(drop_other_dest, &out);
        T_EQ_INT(rc, P2D_EXIT_STATE);
        T_HAS_STR(out, "belongs to job");
        T_HAS_STR(out, job2);
        free(out);
        rc = run(drop_other_db, &out);
        T_EQ_INT(rc, P2D_EXIT_STATE);
        T_HAS_STR(out, "was made for source");
        free(out);
        T_EQ_INT(slots_of(job1), 1);
        T_CHECK(exists(state1, "state.db"));

        /* drop with the sync's flags (the walsender of the killed run may
         * still be active: drop waits for it) */
        rc = run(drop, &out);
        if (rc != 0)
            fprintf(stderr, "%s", out);
        T_EQ_INT(rc, 0);
        snprintf(text, sizeof(text), "dropped slot \"%s\", publication \"%s\", state in \"%s\"",
                 slot, slot, state1);
        T_HAS_STR(out, text);
        T_HAS_STR(out, "destination tables are kept");
        free(out);
        T_EQ_INT(slots_of(job1), 0);
        T_EQ_INT(pubs_of(job1), 0);
        T_CHECK(!exists(state1, NULL)); /* only pg2doris's files were there */

        rc = run(drop, &out);
        T_EQ_INT(rc, 0);
        T_HAS_STR(out, "nothing to drop");
        free(out);
        T_CHECK(!exists(state1, NULL));
    }

    /* 3. drop with --source and --state only; a foreign file stays */
    {
        const char *sync[] = {"sync",  "--source",       src_conninfo,  "--dest",
                              dest2,   "--mode",         "schema,full", "--state",
                              state2,  "--readers",      "2",           "--rows-per-range",
                              "10000", "--rows-per-sec", "20000",       NULL};
        const char *drop[] = {"drop", "--source", src_conninfo, "--state", state2, NULL};
        static const char *const owned[] = {"state.db", "state.db-wal", "state.db-shm",
                                            "state.lock"};
        char notes[400];
        FILE *f;

        snprintf(log, sizeof(log), "%s/sync2.log", tmpdir);
        rc = it_run_pg2doris(sync, log, "reading range", 300, SIGKILL);
        T_EQ_INT(rc, 128 + SIGKILL);
        T_EQ_INT(slots_of(job2), 1);
        snprintf(notes, sizeof(notes), "%s/notes.txt", state2);
        f = fopen(notes, "w");
        T_CHECK(f != NULL);
        if (f) {
            fputs("kept\n", f);
            fclose(f);
        }
        rc = run(drop, &out);
        if (rc != 0)
            fprintf(stderr, "%s", out);
        T_EQ_INT(rc, 0);
        snprintf(text, sizeof(text), "job %s: dropped slot", job2);
        T_HAS_STR(out, text);
        T_CHECK(strstr(out, "directory removed") == NULL);
        free(out);
        T_EQ_INT(slots_of(job2), 0);
        T_EQ_INT(pubs_of(job2), 0);
        for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
            T_CHECK(!exists(state2, owned[i]));
        T_CHECK(exists(state2, "notes.txt"));

        rc = run(drop, &out);
        T_EQ_INT(rc, 0);
        T_HAS_STR(out, "nothing to drop");
        T_HAS_STR(out, "--dest");
        free(out);
        T_CHECK(exists(state2, "notes.txt"));
        T_CHECK(!exists(state2, "state.lock"));
    }

    /* 4. no state: the slot and publication are found by the fingerprint */
    {
        const char *drop[] = {"drop", "--source", src_conninfo, "--dest",
                              dest3,  "--state",  state3,       NULL};
        char sql[256];

        snprintf(sql, sizeof(sql), "CREATE PUBLICATION p2d_%s FOR TABLE t_big", job3);
        it_pg_ok(src, sql);
        snprintf(sql, sizeof(sql),
                 "SELECT pg_create_logical_replication_slot('p2d_%s', 'pgoutput')", job3);
        it_pg_ok(src, sql);
        rc = run(drop, &out);
        if (rc != 0)
            fprintf(stderr, "%s", out);
        T_EQ_INT(rc, 0);
        snprintf(text, sizeof(text), "dropped slot \"p2d_%s\", publication \"p2d_%s\"", job3, job3);
        T_HAS_STR(out, text);
        T_CHECK(strstr(out, "state in") == NULL);
        free(out);
        T_EQ_INT(slots_of(job3), 0);
        T_EQ_INT(pubs_of(job3), 0);
        T_CHECK(!exists(state3, NULL)); /* nothing created */
    }

    /* 5. usage and missing state */
    {
        const char *no_source[] = {"drop", "--state", state3, NULL};
        const char *bad_flag[] = {"status", "--state", state3, "--frobnicate", NULL};
        const char *missing[] = {"status", "--state", state3, NULL};

        rc = run(no_source, &out);
        T_EQ_INT(rc, P2D_EXIT_USAGE);
        T_HAS_STR(out, "--source is required");
        free(out);
        rc = run(bad_flag, &out);
        T_EQ_INT(rc, P2D_EXIT_USAGE);
        T_HAS_STR(out, "--frobnicate");
        free(out);
        rc = run(missing, &out);
        T_EQ_INT(rc, P2D_EXIT_STATE);
        T_HAS_STR(out, "no pg2doris state");
        free(out);
        T_CHECK(!exists(state3, NULL));
    }

    T_EQ_INT(it_slots_left(src), 0);
    PQfinish(src);
    free(t_sh("rm -rf %s", tmpdir));
    return t_done();
}
