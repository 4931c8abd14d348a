/*
 * stream_bigtxn_test.c - one large transaction through the WAL streamer
 * with a small memory budget, through the built binary, against
 * PostgreSQL and doris-emu.
 *
 * Source (database sb_src): b_big (int key, ~1 KB text per row), empty
 * when the sync starts. While pg2doris streams with --memory 64M, one
 * INSERT ... SELECT writes P2D_BIGTXN_MB (default 150) MB of rows in one
 * transaction. doris-emu holds the first two loads of it for 3 s each, so
 * the stream reads on while nothing drains: the waiting bodies must go to
 * the spill file instead of memory.
 *   1. the slot catches up with the transaction; bodies were spilled (the
 *      Prometheus endpoint's pg2doris_cdc_spilled_bytes, polled while it
 *      runs); pg2doris's peak RSS (VmHWM, read just before stopping it)
 *      stays under the budget (below);
 *   2. SIGTERM exits 0; verify --full matches; rows spot-checked.
 *
 * The bound: --memory (64 MiB) bounds the whole process. The streamer
 * seals a batch at --memory / 8 (8 MiB), spills waiting bodies once the
 * held changes pass --memory / 4 and stops reading at --memory / 2; the
 * body being sealed, one body read back from the spill file, libpq's and
 * libcurl's buffers, SQLite's page cache, jemalloc and the binary with its
 * libraries (~15-20 MiB) fit in the rest. Builds with
 * AddressSanitizer (P2D_SANITIZE) keep freed memory in quarantine and add
 * shadow memory, so there the peak is reported, not asserted.
 */
#include <pthread.h>
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

#define BUDGET_MB 64

static struct sw_env env;
static char src_conninfo[512];
static PGconn *src;

/* Polls the metrics endpoint; keeps the largest values seen. */
struct scrape {
    int port;
    volatile int stop;
    double max_spilled, max_memory;
    int polls;
    pthread_t thread;
};

static double metric(const char *text, const char *name)
{
    char needle[128];
    const char *p;

    snprintf(needle, sizeof(needle), "\n%s ", name);
    p = strstr(text, needle);
    return p ? strtod(p + strlen(needle), NULL) : -1;
}

static void *scrape_main(void *arg)
{
    struct scrape *sc = arg;
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", sc->port);
    while (!__atomic_load_n(&sc->stop, __ATOMIC_SEQ_CST)) {
        struct t_req req = {.method = "GET", .url = url, .timeout_ms = 2000};
        struct t_resp resp;

        t_http(&req, &resp);
        if (resp.status == 200 && resp.body) {
            double sp = metric(resp.body, "pg2doris_cdc_spilled_bytes");
            double mem = metric(resp.body, "pg2doris_cdc_memory_bytes");

            if (sp > sc->max_spilled)
                sc->max_spilled = sp;
            if (mem > sc->max_memory)
                sc->max_memory = mem;
            sc->polls++;
        }
        t_resp_free(&resp);
        usleep(100000);
    }
    return NULL;
}

int main(void)
{
    const char *mb_env = getenv("P2D_BIGTXN_MB");
    int mb = mb_env && atoi(mb_env) > 0 ? atoi(mb_env) : 150;
    long long rows = (long long)mb * 1024; /* ~1 KB per row */
    char state[300], log[300], vlog[300], slot[128], target[64], before[64], budget[32], sql[512];
    double t_start, t_commit, t_caught;
    long long hwm_kb, wal_bytes;
    struct scrape sc = {0};
    pid_t pid;
    char *out;
    int rc;

    sw_env_init(&env, "stream_bigtxn", "sb_dst");
    sw_path(&env, "state", state, sizeof(state));
    sw_path(&env, "sync.log", log, sizeof(log));
    src = it_pg_fresh_db("sb_src", src_conninfo, sizeof(src_conninfo));
    it_pg_ok(src, "CREATE TABLE b_big (id integer PRIMARY KEY, pad text)");
    snprintf(budget, sizeof(budget), "%dM", BUDGET_MB);
    {
        const char *args[] = {"sync",        "--source",
                              src_conninfo,  "--dest",
                              env.dest,      "--state",
                              state,         "--memory",
                              budget,        "--batch-timeout-ms",
                              "1000",        "--metrics-addr",
                              "127.0.0.1:0", NULL};

        pid = it_start_pg2doris(args, log);
    }
    T_CHECK(it_wait_log(pid, log, "cdc: streaming slot", 60000));
    T_EQ_INT(it_state_slot(state, slot, sizeof(slot)), 0);
    {
        char *text = it_slurp(log), *p = strstr(text, "metrics on ");

        p = p ? strstr(p, "(port ") : NULL;
        sc.port = p ? atoi(p + 6) : 0;
        free(text);
        T_CHECK(sc.port > 0);
        T_EQ_INT(pthread_create(&sc.thread, NULL, scrape_main, &sc), 0);
    }
    /* the first two loads of the transaction wait 3 s each in doris-emu */
    it_emu_fault("kind=slow,ms=3000,table=b_big,count=2");

    /* one transaction of mb MB: 32 md5 texts per row (1024 bytes) */
    it_pg_current_lsn(src, before, sizeof(before));
    t_start = sw_now();
    snprintf(sql, sizeof(sql),
             "INSERT INTO b_big SELECT g, g || ':' || repeat(md5(g::text), 32)"
             " FROM generate_series(1, %lld) g",
             rows);
    it_pg_ok(src, sql);
    t_commit = sw_now();
    it_pg_current_lsn(src, target, sizeof(target));
    snprintf(sql, sizeof(sql), "SELECT pg_wal_lsn_diff('%s', '%s')::bigint", target, before);
    wal_bytes = it_pg_scalar(src, sql);
    T_CHECK(it_wait_slot_flushed(src, slot, target, pid, 600000));
    t_caught = sw_now();
    hwm_kb = it_proc_vmhwm_kb(pid);
    __atomic_store_n(&sc.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(sc.thread, NULL);
    it_emu_fault(NULL);
    fprintf(stderr,
            "metrics (%d polls): at most %.1f MiB of changes in memory, at most %.1f KiB in the"
            " spill file\n",
            sc.polls, sc.max_memory / 1048576.0, sc.max_spilled / 1024.0);
    T_CHECK(sc.max_spilled > 0);
    /* held change bytes: half the budget, plus at most one open batch
     * (--memory / 8) that fills before the stream pauses */
    T_CHECK(sc.max_memory <= (double)BUDGET_MB * 1048576.0 * (0.5 + 1.0 / 8));
    fprintf(stderr,
            "%d MB transaction (%lld rows, %lld bytes of WAL): committed in %.1f s, in Doris and"
            " acknowledged %.1f s after the commit; pg2doris peak RSS (VmHWM) %.1f MiB with"
            " --memory %s\n",
            mb, rows, wal_bytes, t_commit - t_start, t_caught - t_commit, hwm_kb / 1024.0, budget);
    T_CHECK(hwm_kb > 0);
#if defined(P2D_SANITIZE)
    fprintf(stderr, "sanitizer build: the peak RSS is not held to the budget (%d MiB)\n",
            BUDGET_MB);
#else
    if (hwm_kb > (long long)BUDGET_MB * 1024)
        fprintf(stderr, "peak RSS %.1f MiB is over the %d MiB budget\n", hwm_kb / 1024.0,
                BUDGET_MB);
    T_CHECK(hwm_kb <= (long long)BUDGET_MB * 1024);
#endif
    T_CHECK(it_pid_alive(pid));
    rc = it_stop_pg2doris(pid, SIGTERM, 120000);
    T_EQ_INT(rc, 0);
    out = it_slurp(log);
    {
        char line[1024];

        fprintf(stderr, "last progress: %s\n",
                sw_line_with(strstr(out, "cdc: stopped at") ? strstr(out, "cdc: stopped at") : out,
                             "cdc: streaming: acked", line, sizeof(line)));
    }
    T_CHECK(strstr(out, " error ") == NULL);
    free(out);

    T_EQ_INT(it_doris_count(env.dsql, env.db, "SELECT count(*) FROM b_big"), rows);
    snprintf(sql, sizeof(sql), "SELECT pad FROM b_big WHERE id = %lld", rows);
    T_EQ_INT(it_compare_rows(src, sql, env.dsql, env.db, sql, "last row", NULL), 0);
    T_EQ_INT(it_compare_rows(
                 src, "SELECT id, pad FROM b_big WHERE id % 9973 = 1 ORDER BY id", env.dsql, env.db,
                 "SELECT id, pad FROM b_big WHERE id % 9973 = 1 ORDER BY id", "sample", NULL),
             0);
    sw_path(&env, "verify.log", vlog, sizeof(vlog));
    t_start = sw_now();
    rc = it_verify_full(src_conninfo, env.dest, NULL, vlog, &out);
    fprintf(stderr, "--- verify --full (exit %d, %.1f s)\n%s", rc, sw_now() - t_start, out);
    T_EQ_INT(rc, P2D_EXIT_OK);
    T_CHECK(strstr(out, "1 match, 0 mismatch") != NULL);
    free(out);
    PQfinish(src);
    sw_env_fini(&env);
    return t_done();
}
