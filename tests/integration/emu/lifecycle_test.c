/*
 * lifecycle_test.c - doris-emu as a process: bad flags exit 2 with one
 * message, SIGTERM exits 0 (also while a handler hangs on purpose), and a
 * restart on the same --data file keeps tables, rows and labels. Starts its
 * own doris-emu instances from $P2D_BUILD_DIR.
 */
#include "emu_common.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sql_on(int fe, const char *db, const char *sql)
{
    struct t_resp r;

    ec_sql_as(fe, "root:", db, sql, false, &r);
    if (t_json_int(r.json, "code") != 0)
        t_fail_at(__FILE__, __LINE__, "\"%s\": %s", sql, r.body);
    else
        t_passed++;
    t_resp_free(&r);
}

static void test_bad_flags(void)
{
    char *out = t_sh("%s/doris-emu --fe-port 0 --be-port 0 --bogus 2>&1; echo rc=$?",
                     t_env("P2D_BUILD_DIR"));

    T_HAS_STR(out, "unknown option \"--bogus\"");
    T_HAS_STR(out, "rc=2");
    free(out);
    out = t_sh("%s/doris-emu --fe-port x --be-port 0 2>&1; echo rc=$?", t_env("P2D_BUILD_DIR"));
    T_HAS_STR(out, "--fe-port");
    T_HAS_STR(out, "rc=2");
    free(out);
    out = t_sh("%s/doris-emu --fe-port 0 --be-port 0 --fault kind=nope 2>&1; echo rc=$?",
               t_env("P2D_BUILD_DIR"));
    T_HAS_STR(out, "unknown fault kind");
    T_HAS_STR(out, "rc=2");
    free(out);
    out = t_sh("%s/doris-emu --be-port 0 2>&1; echo rc=$?", t_env("P2D_BUILD_DIR"));
    T_HAS_STR(out, "rc=2");
    free(out);
}

struct hung_client {
    int fe;
    struct t_resp resp;
};

static void *hung_load(void *arg)
{
    struct hung_client *c = arg;
    const char *h[] = {"label: hung", "column_separator: ,", NULL};

    ec_load(c->fe, "root:", "demo", "t", h, "1,a\n", 4, &c->resp);
    return NULL;
}

static void test_persistence_and_sigterm(void)
{
    char *dir = ec_tmpdir();
    char data[512];
    const char *args[] = {"--data", data, NULL};
    const char *hang_args[] = {"--data", data, "--fault", "kind=hang", NULL};
    const char *h[] = {"label: keep1", "column_separator: ,", NULL};
    int fe, be, rc;
    pid_t pid;
    struct t_resp r;
    char *rows;
    struct hung_client client;
    pthread_t th;
    struct timespec t0, t1;

    snprintf(data, sizeof(data), "%s/emu.sqlite", dir);
    pid = ec_spawn_emu(args, &fe, &be);
    T_CHECK(pid > 0);
    if (pid <= 0)
        return;
    sql_on(fe, "information_schema", "CREATE DATABASE demo");
    sql_on(fe, "demo",
           "CREATE TABLE t (id INT NOT NULL, v VARCHAR(10) NULL) UNIQUE KEY(id) "
           "DISTRIBUTED BY HASH(id) BUCKETS 1 "
           "PROPERTIES (\"replication_num\" = \"1\")");
    ec_load(fe, "root:", "demo", "t", h, "1,kept\n2,too\n", 13, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    t_resp_free(&r);
    rc = ec_stop_emu(pid, SIGTERM, 5000);
    T_EQ_INT(rc, 0);

    /* Restart on the same file: rows and labels survive. */
    pid = ec_spawn_emu(args, &fe, &be);
    T_CHECK(pid > 0);
    if (pid <= 0)
        return;
    rows = ec_rows(fe, "demo", "SELECT id, v FROM t ORDER BY id");
    T_EQ_STR(rows, "1|kept;2|too");
    free(rows);
    ec_load(fe, "root:", "demo", "t", h, "3,dup\n", 6, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Label Already Exists");
    T_EQ_STR(t_json_str(r.json, "ExistingJobStatus"), "FINISHED");
    t_resp_free(&r);
    rc = ec_stop_emu(pid, SIGINT, 5000);
    T_EQ_INT(rc, 0);

    /* SIGTERM while a load hangs (fault): the handler is woken, exit 0. */
    pid = ec_spawn_emu(hang_args, &fe, &be);
    T_CHECK(pid > 0);
    if (pid <= 0)
        return;
    client.fe = fe;
    pthread_create(&th, NULL, hung_load, &client);
    usleep(500 * 1000);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = ec_stop_emu(pid, SIGTERM, 5000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    T_EQ_INT(rc, 0);
    T_CHECK(t1.tv_sec - t0.tv_sec < 4);
    pthread_join(th, NULL);
    T_EQ_INT(client.resp.status, 0); /* never answered */
    t_resp_free(&client.resp);

    /* The hung load left nothing behind. */
    pid = ec_spawn_emu(args, &fe, &be);
    T_CHECK(pid > 0);
    if (pid > 0) {
        rows = ec_rows(fe, "demo", "SELECT count(*) FROM t");
        T_EQ_STR(rows, "2");
        free(rows);
        T_EQ_INT(ec_stop_emu(pid, SIGTERM, 5000), 0);
    }
    free(t_sh("rm -rf '%s'", dir));
    free(dir);
}

int main(void)
{
    test_bad_flags();
    test_persistence_and_sigterm();
    return t_done();
}
