/*
 * reader_test.c - reader threads + the writer against PostgreSQL and
 * doris-emu: two tables (one of 200k rows with hostile text, NULLs,
 * numerics, dates, timestamptz, booleans) split into ranges by hand, read
 * by 3 readers inside an exported snapshot through a 16 x 64 KiB pool
 * (rows larger than a batch are spread over several),
 * land row for row equal to the source as of the snapshot (a row committed
 * after the export stays out). A load reset mid-body ends RETRY, the
 * reader stops and reconnects for its next range, and re-reading the range
 * with the same label gives the exact data. A rows/s throttle makes a run
 * last at least as long as the rate demands. The pool is whole after each
 * run.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/throttle.h"
#include "p2d_error.h"
#include "sink/doris_sql.h"
#include "sink/writer.h"
#include "snapshot/pgconn.h"
#include "snapshot/reader.h"
#include "engine_it.h"
#include "testlib.h"

#define POOL_BATCHES 16
#define BATCH_SIZE   (64 * 1024)
#define T1_ROWS      200000
#define T1_RANGES    6
#define T2_ROWS      20000
#define T2_RANGES    2
#define NTASKS       (T1_RANGES + T2_RANGES)

static struct p2d_dest dest;
static struct p2d_doris_sql *dsql;
static struct p2d_batch_pool *pool;
static PGconn *admin;

static const struct p2d_encode_col t1_cols[] = {
    {"id", P2D_VR_INT, 0, 0, true},          {"txt", P2D_VR_TEXT, 0, 0, false},
    {"num", P2D_VR_DECIMAL, 0, 4, false},    {"d", P2D_VR_DATE, 0, 0, false},
    {"ts", P2D_VR_TIMESTAMPTZ, 0, 6, false}, {"b", P2D_VR_BOOL, 0, 0, false},
};
static const struct p2d_encode_col t2_cols[] = {
    {"id", P2D_VR_INT, 0, 0, true},
    {"name", P2D_VR_TEXT, 200, 0, false},
    {"amount", P2D_VR_DECIMAL, 0, 2, false},
};
static const int key0[] = {0};

struct range {
    struct p2d_read_task task;
    struct p2d_load load;
    char sql[256];
    int calls;
    enum p2d_load_outcome outcome;
    char message[1024];
    int reader_rc;
    long long reader_rows;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int issues_seen;

static void finished(struct p2d_load *load, const struct p2d_load_answer *a, void *arg)
{
    struct range *r = load->user;

    (void)arg;
    pthread_mutex_lock(&mu);
    r->calls++;
    r->outcome = a->outcome;
    snprintf(r->message, sizeof(r->message), "%s", a->message);
    /* published by the ring together with the end batch */
    r->reader_rc = r->task.result.rc;
    r->reader_rows = r->task.result.rows;
    pthread_mutex_unlock(&mu);
}

static void on_issue(const struct p2d_read_task *task, const struct p2d_read_issue *is, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    issues_seen++;
    fprintf(stderr, "issue: %s %s %s %.*s\n", task->table, is->key, is->column, (int)is->value_len,
            is->value);
    pthread_mutex_unlock(&mu);
}

static void pg_ok(PGconn *c, const char *sql)
{
    struct p2d_pg_error e;

    if (p2d_pg_exec(c, sql, "test SQL", NULL, &e) != 0) {
        fprintf(stderr, "%s\n  -> %s\n", sql, e.message);
        T_CHECK(!"SQL failed");
    }
}

static void doris_ok(const char *db, const char *stmt)
{
    char err[512];
    enum p2d_doris_fail fail;

    if (p2d_doris_sql_exec(dsql, db, stmt, NULL, &fail, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n  -> %s\n", stmt, err);
        T_CHECK(!"Doris SQL failed");
    }
}

static struct curl_slist *headers_for(const char *columns)
{
    char h[256];
    struct curl_slist *l = NULL;

    snprintf(h, sizeof(h), "columns: %s", columns);
    l = curl_slist_append(l, h);
    l = curl_slist_append(l, "column_separator: \\t");
    l = curl_slist_append(l, "enclose: \"");
    l = curl_slist_append(l, "escape: \\");
    return l;
}

static struct curl_slist *t1_headers, *t2_headers;

static void init_range(struct range *r, int table, int i)
{
    long long lo, hi;

    memset(r, 0, sizeof(*r));
    if (table == 1) {
        lo = (long long)i * (T1_ROWS / T1_RANGES);
        hi = (long long)(i + 1) * (T1_ROWS / T1_RANGES);
        if (i == 0)
            snprintf(r->sql, sizeof(r->sql),
                     "COPY (SELECT id, txt, num, d, ts, b FROM t1 WHERE id < %lld) TO STDOUT", hi);
        else if (i == T1_RANGES - 1) /* open above, like the planner's last range */
            snprintf(r->sql, sizeof(r->sql),
                     "COPY (SELECT id, txt, num, d, ts, b FROM t1 WHERE id >= %lld) TO STDOUT", lo);
        else
            snprintf(r->sql, sizeof(r->sql),
                     "COPY (SELECT id, txt, num, d, ts, b FROM t1 WHERE id >= %lld AND id < "
                     "%lld) TO STDOUT",
                     lo, hi);
        r->task = (struct p2d_read_task){
            .table = "public.t1", .cols = t1_cols, .ncols = 6, .key_cols = key0, .nkeys = 1};
        r->load.headers = t1_headers;
    } else {
        lo = (long long)i * (T2_ROWS / T2_RANGES);
        hi = lo + T2_ROWS / T2_RANGES;
        snprintf(r->sql, sizeof(r->sql),
                 "COPY (SELECT id, name, amount FROM t2 WHERE id >= %lld AND id < %lld) TO STDOUT",
                 lo, hi);
        r->task = (struct p2d_read_task){
            .table = "public.t2", .cols = t2_cols, .ncols = 3, .key_cols = key0, .nkeys = 1};
        r->load.headers = t2_headers;
    }
    snprintf(r->load.db, sizeof(r->load.db), "rt");
    snprintf(r->load.table, sizeof(r->load.table), "t%d", table);
    snprintf(r->load.label, sizeof(r->load.label), "rt_t%d_%d", table, i);
    r->load.user = r;
    r->task.copy_sql = r->sql;
    r->task.load = &r->load;
    r->reader_rc = 99;
}

static void *run_writer(void *arg)
{
    return (void *)(intptr_t)p2d_writer_run(arg);
}

struct run_stats {
    double seconds;
    long long rows, bytes;
};

/* Reads ranges[0..n) with nreaders readers and one writer; returns timing. */
static struct run_stats run(struct range *ranges, int n, int nreaders, const char *snapshot,
                            struct p2d_throttle *rows_throttle)
{
    struct p2d_ring *ring1 = p2d_ring_create(8), *ring2 = p2d_ring_create(8);
    struct p2d_writer_config wcfg = {.dest = dest,
                                     .pool = pool,
                                     .max_loads = nreaders,
                                     .answer_timeout_ms = 60000,
                                     .finished = finished};
    struct p2d_writer *w = p2d_writer_create(&wcfg);
    struct p2d_reader_config rcfg = {.conninfo = t_env("P2D_PG_CONNINFO"),
                                     .snapshot = snapshot,
                                     .nreaders = nreaders,
                                     .pool = pool,
                                     .format = P2D_ENCODE_CSV,
                                     .rows = rows_throttle,
                                     .issue = on_issue};
    struct p2d_readers *readers = NULL;
    struct run_stats st = {0};
    pthread_t wt;
    void *wrc;
    int64_t start = p2d_monotonic_ns();

    T_EQ_INT(p2d_writer_add_ring(w, ring1), 0);
    T_EQ_INT(p2d_writer_add_ring(w, ring2), 0);
    pthread_create(&wt, NULL, run_writer, w);
    T_EQ_INT(p2d_readers_start(&rcfg, &readers), 0);
    for (int i = 0; i < n; i++) {
        ranges[i].task.ring = ranges[i].load.table[1] == '1' ? ring1 : ring2;
        T_EQ_INT(p2d_readers_enqueue(readers, &ranges[i].task), 0);
    }
    p2d_readers_close(readers);
    T_EQ_INT(p2d_readers_join(readers), n);
    p2d_ring_close(ring1);
    p2d_ring_close(ring2);
    pthread_join(wt, &wrc);
    T_EQ_INT((intptr_t)wrc, 0);
    st.seconds = (double)(p2d_monotonic_ns() - start) / 1e9;
    for (int i = 0; i < n; i++) {
        st.rows += ranges[i].task.result.rows;
        st.bytes += ranges[i].task.result.bytes;
    }
    T_EQ_INT(p2d_batch_pool_free_count(pool), POOL_BATCHES);
    p2d_writer_destroy(w);
    p2d_ring_destroy(ring1);
    p2d_ring_destroy(ring2);
    return st;
}

/* A Doris JSON value as the text PostgreSQL's query below produces. */
static void doris_text(json_t *v, char *out, size_t outlen)
{
    if (json_is_null(v))
        snprintf(out, outlen, "<NULL>");
    else if (json_is_string(v))
        snprintf(out, outlen, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_true(v))
        snprintf(out, outlen, "1");
    else if (json_is_false(v))
        snprintf(out, outlen, "0");
    else if (json_is_real(v))
        snprintf(out, outlen, "%.17g", json_real_value(v));
    else
        snprintf(out, outlen, "<?>");
}

/* The SQL-over-HTTP answer holds at most 1000 rows (Doris's default limit). */
#define CHUNK 1000

/*
 * Compares Doris table rows with PostgreSQL (through conn, which may sit in
 * the snapshot) in id order, chunk by chunk, every column as text under the
 * value rules: booleans 1/0, timestamptz in UTC without "+00" with 6
 * fraction digits (DATETIME(6)), numerics as numbers (the SQL answer's
 * JSON carries DECIMAL as a number).
 */
static long long compare_table(PGconn *conn, const char *pg_select, const char *doris_select,
                               long long max_id, int ncols)
{
    long long compared = 0, mismatches = 0;

    for (long long lo = 0; lo <= max_id; lo += CHUNK) {
        static char got[1 << 20]; /* rows of t1 reach 200 KB */
        char q[1024], err[512];
        enum p2d_doris_fail fail;
        json_t *data = NULL, *rows;
        PGresult *res;
        size_t nd;
        int np;

        snprintf(q, sizeof(q), "%s WHERE id >= %lld AND id < %lld ORDER BY 0 + id", pg_select, lo,
                 lo + CHUNK);
        res = PQexec(conn, q);
        T_EQ_INT(PQresultStatus(res), PGRES_TUPLES_OK);
        snprintf(q, sizeof(q), "%s WHERE id >= %lld AND id < %lld ORDER BY id", doris_select, lo,
                 lo + CHUNK);
        if (p2d_doris_sql_exec(dsql, "rt", q, &data, &fail, err, sizeof(err)) != 0) {
            fprintf(stderr, "doris query failed: %s\n", err);
            T_CHECK(!"doris query");
            PQclear(res);
            return -1;
        }
        rows = p2d_doris_rows(data);
        nd = json_array_size(rows);
        np = PQntuples(res);
        T_EQ_INT(nd, np);
        for (int i = 0; i < np && (size_t)i < nd; i++) {
            json_t *row = json_array_get(rows, (size_t)i);

            for (int c = 0; c < ncols; c++) {
                const char *want = PQgetisnull(res, i, c) ? "<NULL>" : PQgetvalue(res, i, c);

                json_t *v = json_array_get(row, (size_t)c);
                bool same;

                doris_text(v, got, sizeof(got));
                same = strcmp(got, want) == 0;
                /* the SQL answer carries DECIMAL as a JSON number: compare
                 * it with the nearest double of PostgreSQL's exact text */
                if (!same && json_is_real(v) && !PQgetisnull(res, i, c))
                    same = json_real_value(v) == strtod(want, NULL);
                if (!same && mismatches++ < 10)
                    fprintf(stderr, "row id=%s column %d: doris \"%s\" != pg \"%s\"\n",
                            PQgetvalue(res, i, 0), c, got, want);
            }
            compared++;
        }
        PQclear(res);
        json_decref(data);
    }
    T_EQ_INT(mismatches, 0);
    return compared;
}

static const char *T1_PG_SELECT = "SELECT id::text, txt, num::text, d::text, "
                                  "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), "
                                  "CASE WHEN b THEN '1' WHEN NOT b THEN '0' END FROM t1";
static const char *T1_DORIS_SELECT = "SELECT id, txt, num, d, ts, b FROM t1";
static const char *T2_PG_SELECT = "SELECT id::text, name, amount::text FROM t2";
static const char *T2_DORIS_SELECT = "SELECT id, name, amount FROM t2";

static void setup(void)
{
    char url[128], err[256];
    struct p2d_pg_error e;

    T_EQ_INT(p2d_pg_connect(t_env("P2D_PG_CONNINFO"), P2D_PG_SQL, "reader_test", &admin, &e), 0);
    pg_ok(admin, "CREATE TABLE t1 (id bigint PRIMARY KEY, txt text, num numeric(18,4), d date, "
                 "ts timestamptz, b boolean)");
    /* hostile text: tab, newline, CR, backslashes, quotes, "\N" as text,
     * multi-byte UTF-8, NULL, empty, long, and plain; four rows of 120-200 KB
     * span several 64 KiB batches */
    pg_ok(admin, "INSERT INTO t1 SELECT g, CASE g % 12 "
                 " WHEN 0 THEN E'tab\\there' WHEN 1 THEN E'line1\\nline2\\r\\n' "
                 " WHEN 2 THEN E'back\\\\slash\\\\' WHEN 3 THEN '\"quoted\" and ''single''' "
                 " WHEN 4 THEN '\\N' WHEN 5 THEN 'héllo wörld 世界 🎉' WHEN 6 THEN NULL "
                 " WHEN 7 THEN '' WHEN 8 THEN repeat('long-' || g, CASE WHEN g % 50000 = 8 "
                 "  THEN 20000 ELSE 100 END) "
                 " WHEN 9 THEN E'\"\\t\\\\N\\n,\"' WHEN 10 THEN ' lead and trail ' "
                 " ELSE 'plain ' || g || ' ' || repeat('p', 100) END, "
                 " CASE WHEN g % 17 = 0 THEN NULL ELSE (g * 7919 % 1000000000)::numeric / 10000 "
                 "  * CASE WHEN g % 2 = 0 THEN -1 ELSE 1 END END, "
                 " CASE WHEN g % 19 = 0 THEN NULL ELSE date '1900-01-01' + (g % 60000) END, "
                 " CASE WHEN g % 23 = 0 THEN NULL ELSE timestamptz '2001-02-03 04:05:06.789+08' "
                 "  + g * interval '1 minute 1.000001 second' END, "
                 " CASE g % 3 WHEN 0 THEN true WHEN 1 THEN false ELSE NULL END "
                 "FROM generate_series(0, 199999) g");
    pg_ok(admin, "CREATE TABLE t2 (id int PRIMARY KEY, name varchar(50), amount numeric(10,2))");
    pg_ok(admin, "INSERT INTO t2 SELECT g, 'name-' || g || CASE WHEN g % 5 = 0 THEN E'\\t✓' "
                 "ELSE '' END, (g % 100000)::numeric / 100 FROM generate_series(0, 19999) g");

    snprintf(url, sizeof(url), "http://root@127.0.0.1:%s/rt", t_env("EMU_FE_PORT"));
    T_EQ_INT(p2d_dest_parse(url, NULL, &dest, err, sizeof(err)), 0);
    dsql = p2d_doris_sql_create(&dest, 60000);
    doris_ok("information_schema", "CREATE DATABASE rt");
    doris_ok("rt", "CREATE TABLE t1 (id BIGINT NOT NULL, txt STRING NULL, num DECIMAL(18,4) NULL, "
                   "d DATEV2 NULL, ts DATETIMEV2(6) NULL, b BOOLEAN NULL) UNIQUE KEY(id) "
                   "DISTRIBUTED BY HASH(id) BUCKETS 1");
    doris_ok("rt", "CREATE TABLE t2 (id INT NOT NULL, name VARCHAR(200) NULL, "
                   "amount DECIMAL(10,2) NULL) UNIQUE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1");
    t1_headers = headers_for("id,txt,num,d,ts,b");
    t2_headers = headers_for("id,name,amount");
    pool = p2d_batch_pool_create(POOL_BATCHES, BATCH_SIZE);
}

int main(void)
{
    static struct range ranges[NTASKS], cancel_ranges[2], thr[T2_RANGES];
    struct run_stats st;
    struct p2d_pg_error e;
    PGconn *holder = NULL;
    char snapshot[64];

    setup();

    /* 1. A load reset mid-body: RETRY, the reader stops early; the same
     * reader reconnects for its next range, which lands. */
    it_emu_fault("kind=reset,table=t1,nth=1");
    init_range(&cancel_ranges[0], 1, 0);
    init_range(&cancel_ranges[1], 1, 1);
    run(cancel_ranges, 2, 1, NULL, NULL);
    T_EQ_INT(cancel_ranges[0].calls, 1);
    T_EQ_INT(cancel_ranges[0].outcome, P2D_LOAD_RETRY);
    T_EQ_INT(cancel_ranges[0].reader_rc, P2D_ECANCEL);
    T_CHECK(cancel_ranges[0].reader_rows < T1_ROWS / T1_RANGES); /* stopped early */
    T_EQ_INT(cancel_ranges[1].calls, 1);
    T_EQ_INT(cancel_ranges[1].outcome, P2D_LOAD_DONE);
    T_EQ_INT(cancel_ranges[1].reader_rc, 0);
    it_emu_fault(NULL);

    /* 2. The full run inside an exported snapshot; range 0 re-read with the
     * label of the cancelled attempt, range 1 sent again ("Label Already
     * Exists" + FINISHED = done). A row committed after the export must
     * not appear. */
    T_EQ_INT(p2d_pg_connect(t_env("P2D_PG_CONNINFO"), P2D_PG_SQL, "holder", &holder, &e), 0);
    pg_ok(holder, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    T_EQ_INT(p2d_pg_query_value(holder, "SELECT pg_export_snapshot()", "export", snapshot,
                                sizeof(snapshot), NULL, &e),
             0);
    pg_ok(admin, "INSERT INTO t1 (id, txt) VALUES (900000, 'after the snapshot')");
    for (int i = 0; i < T1_RANGES; i++)
        init_range(&ranges[i], 1, i);
    for (int i = 0; i < T2_RANGES; i++)
        init_range(&ranges[T1_RANGES + i], 2, i);
    st = run(ranges, NTASKS, 3, snapshot, NULL);
    for (int i = 0; i < NTASKS; i++) {
        T_EQ_INT(ranges[i].calls, 1);
        T_EQ_INT(ranges[i].outcome, P2D_LOAD_DONE);
        if (ranges[i].outcome != P2D_LOAD_DONE)
            fprintf(stderr, "load %s: %s\n", ranges[i].load.label, ranges[i].message);
        if (i == 1) {
            /* loaded before under this label: "Label Already Exists" +
             * FINISHED arrives at header time, the writer cancels the
             * load, and the reader may stop early */
            T_CHECK(ranges[i].reader_rc == 0 || ranges[i].reader_rc == P2D_ECANCEL);
            st.rows -= ranges[i].task.result.rows;
            continue;
        }
        T_EQ_INT(ranges[i].reader_rc, 0);
        T_EQ_INT(ranges[i].task.result.copy_rows, ranges[i].task.result.rows);
    }
    T_EQ_INT(st.rows, T1_ROWS + T2_ROWS - T1_ROWS / T1_RANGES);
    T_EQ_INT(issues_seen, 0);
    printf("reader->writer->doris-emu: %lld rows, %.1f MB in %.2f s: %.0f rows/s, %.1f MB/s\n",
           st.rows, (double)st.bytes / 1e6, st.seconds, (double)st.rows / st.seconds,
           (double)st.bytes / 1e6 / st.seconds);
    T_EQ_INT(compare_table(holder, T1_PG_SELECT, T1_DORIS_SELECT, T1_ROWS, 6), T1_ROWS);
    {
        /* the row committed after the export is not in the snapshot */
        char err[256];
        enum p2d_doris_fail fail;
        json_t *data = NULL;

        T_EQ_INT(p2d_doris_sql_exec(dsql, "rt", "SELECT count(*) FROM t1", &data, &fail, err,
                                    sizeof(err)),
                 0);
        T_EQ_INT(json_integer_value(json_array_get(json_array_get(p2d_doris_rows(data), 0), 0)),
                 T1_ROWS);
        json_decref(data);
    }
    T_EQ_INT(compare_table(holder, T2_PG_SELECT, T2_DORIS_SELECT, T2_ROWS, 3), T2_ROWS);
    pg_ok(holder, "COMMIT");
    PQfinish(holder);

    /* 3. A rows/s throttle: 20000 rows at 10000 rows/s with one second of
     * burst cannot take less than one second. */
    {
        struct p2d_throttle *t = p2d_throttle_create("rows/s", 10000);

        for (int i = 0; i < T2_RANGES; i++) {
            init_range(&thr[i], 2, i);
            snprintf(thr[i].load.label, sizeof(thr[i].load.label), "rt_t2_thr_%d", i);
        }
        st = run(thr, T2_RANGES, 2, NULL, t);
        printf("throttled: %lld rows in %.2f s (limit 10000 rows/s)\n", st.rows, st.seconds);
        T_CHECK(st.seconds >= 1.0);
        T_CHECK(p2d_throttle_slept_ns(t) > 0);
        for (int i = 0; i < T2_RANGES; i++)
            T_EQ_INT(thr[i].outcome, P2D_LOAD_DONE);
        p2d_throttle_destroy(t);
    }

    curl_slist_free_all(t1_headers);
    curl_slist_free_all(t2_headers);
    p2d_batch_pool_destroy(pool);
    p2d_doris_sql_destroy(dsql);
    PQfinish(admin);
    return t_done();
}
