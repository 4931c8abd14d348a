/*
 * writer_test.c - the curl-multi writer against doris-emu: loads streamed
 * chunked by concurrent producers through a ring land exactly once; every
 * injected fault ends its load with the right outcome; re-sending a load
 * with the same label after a lost answer does not double it; abort ends
 * hanging loads; the batch pool is whole again afterwards.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "p2d_error.h"
#include "sink/doris_sql.h"
#include "sink/writer.h"
#include "engine_it.h"
#include "testlib.h"

#define POOL_BATCHES 8
#define BATCH_SIZE   4096

static struct p2d_dest dest;
static struct p2d_doris_sql *sql;
static struct p2d_batch_pool *pool;
static struct curl_slist *load_headers;

struct outcome {
    enum p2d_load_outcome outcome;
    char message[1024];
    long long rows_sent;
    long long bytes_sent;
    long long raw_bytes;
    int calls;
};

struct job {
    struct p2d_load load;
    long long first_id;
    long long rows;
    struct outcome out;
};

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void finished(struct p2d_load *load, const struct p2d_load_answer *a, void *arg)
{
    struct job *j = load->user;

    (void)arg;
    pthread_mutex_lock(&out_mu);
    j->out.outcome = a->outcome;
    snprintf(j->out.message, sizeof(j->out.message), "%s", a->message);
    j->out.rows_sent = load->rows_sent;
    j->out.bytes_sent = load->bytes_sent;
    j->out.raw_bytes = load->raw_bytes;
    j->out.calls++;
    pthread_mutex_unlock(&out_mu);
}

struct producer {
    struct p2d_ring *ring;
    struct job *jobs;
    int njobs;
};

/* Streams each job's rows "id\tv-id\n" in small batches, then an end batch. */
static void *produce(void *arg)
{
    struct producer *p = arg;

    for (int j = 0; j < p->njobs; j++) {
        struct job *job = &p->jobs[j];
        struct p2d_batch *b = NULL;

        for (long long i = 0; i < job->rows; i++) {
            char line[64];
            int n = snprintf(line, sizeof(line), "%lld\tv-%lld\n", job->first_id + i,
                             job->first_id + i);

            if (__atomic_load_n(&job->load.cancel, __ATOMIC_RELAXED))
                break; /* the writer gave up on this load: stop reading */
            if (b && b->len + (size_t)n > b->cap) {
                if (p2d_ring_push_mpsc(p->ring, b, NULL) != 0)
                    abort();
                b = NULL;
            }
            if (!b) {
                b = p2d_batch_get(pool, NULL);
                b->load = &job->load;
            }
            memcpy(b->data + b->len, line, (size_t)n);
            b->len += (size_t)n;
            b->rows++;
        }
        if (!b) {
            b = p2d_batch_get(pool, NULL);
            b->load = &job->load;
        }
        b->end = true;
        if (p2d_ring_push_mpsc(p->ring, b, NULL) != 0)
            abort();
    }
    return NULL;
}

static void *run_writer(void *arg)
{
    return (void *)(intptr_t)p2d_writer_run(arg);
}

static void init_job(struct job *j, const char *table, const char *label, long long first,
                     long long rows)
{
    memset(j, 0, sizeof(*j));
    snprintf(j->load.db, sizeof(j->load.db), "wt");
    snprintf(j->load.table, sizeof(j->load.table), "%s", table);
    snprintf(j->load.label, sizeof(j->load.label), "%s", label);
    j->load.headers = load_headers;
    j->load.user = j;
    j->first_id = first;
    j->rows = rows;
}

/* Runs jobs split over nproducers threads through one ring and one writer. */
static void run_jobs(struct job *jobs, int njobs, int nproducers, struct p2d_writer **out_w,
                     bool abort_after_ms)
{
    struct p2d_ring *ring = p2d_ring_create(4);
    struct p2d_writer_config cfg = {.dest = dest,
                                    .pool = pool,
                                    .max_loads = nproducers,
                                    .answer_timeout_ms = 20000,
                                    .finished = finished};
    struct p2d_writer *w = p2d_writer_create(&cfg);
    pthread_t wt, pt[8];
    struct producer prod[8];
    void *rc;
    int per = njobs / nproducers;

    T_EQ_INT(p2d_writer_add_ring(w, ring), 0);
    pthread_create(&wt, NULL, run_writer, w);
    for (int i = 0; i < nproducers; i++) {
        prod[i] =
            (struct producer){ring, jobs + i * per, i == nproducers - 1 ? njobs - i * per : per};
        pthread_create(&pt[i], NULL, produce, &prod[i]);
    }
    if (abort_after_ms) {
        usleep(1500 * 1000);
        p2d_writer_abort(w);
    }
    for (int i = 0; i < nproducers; i++)
        pthread_join(pt[i], NULL);
    p2d_ring_close(ring);
    pthread_join(wt, &rc);
    T_EQ_INT((intptr_t)rc, 0);
    /* batches left in the ring after an abort go back to the pool */
    for (struct p2d_batch *b; (b = p2d_ring_trypop_mpsc(ring)) != NULL;)
        p2d_batch_put(pool, b);
    T_EQ_INT(p2d_batch_pool_free_count(pool), POOL_BATCHES);
    p2d_ring_destroy(ring);
    if (out_w)
        *out_w = w;
    else
        p2d_writer_destroy(w);
}

static long long count_rows(const char *table)
{
    char stmt[128], err[512];
    enum p2d_doris_fail fail;
    json_t *data = NULL;
    long long n = -1;

    snprintf(stmt, sizeof(stmt), "SELECT count(*), count(DISTINCT id) FROM %s", table);
    if (p2d_doris_sql_exec(sql, "wt", stmt, &data, &fail, err, sizeof(err)) == 0) {
        json_t *row = json_array_get(p2d_doris_rows(data), 0);

        n = json_integer_value(json_array_get(row, 0));
        T_EQ_INT(json_integer_value(json_array_get(row, 1)), n); /* no id twice */
    } else {
        fprintf(stderr, "count failed: %s\n", err);
    }
    json_decref(data);
    return n;
}

static void exec_sql(const char *db, const char *stmt)
{
    char err[512];
    enum p2d_doris_fail fail;

    T_EQ_INT(p2d_doris_sql_exec(sql, db, stmt, NULL, &fail, err, sizeof(err)), 0);
}

int main(void)
{
    char url[128], err[256];
    struct job jobs[12], one;

    snprintf(url, sizeof(url), "http://root@127.0.0.1:%s/wt", t_env("EMU_FE_PORT"));
    T_EQ_INT(p2d_dest_parse(url, NULL, &dest, err, sizeof(err)), 0);
    sql = p2d_doris_sql_create(&dest, 10000);
    pool = p2d_batch_pool_create(POOL_BATCHES, BATCH_SIZE);
    load_headers = curl_slist_append(NULL, "columns: id,v");
    exec_sql("information_schema", "CREATE DATABASE wt");
    /* Duplicate Key: a load applied twice would show twice. */
    exec_sql("wt", "CREATE TABLE t (id BIGINT NOT NULL, v STRING NULL) DUPLICATE KEY(id) "
                   "DISTRIBUTED BY HASH(id) BUCKETS 1");

    /* 12 loads, 3 producers, chunked bodies far larger than the pool. */
    for (int i = 0; i < 12; i++) {
        char label[64];

        snprintf(label, sizeof(label), "wt-main-%d", i);
        init_job(&jobs[i], "t", label, i * 10000LL, 5000 + i * 300);
    }
    run_jobs(jobs, 12, 3, NULL, false);
    {
        long long want = 0;

        for (int i = 0; i < 12; i++) {
            T_EQ_INT(jobs[i].out.calls, 1);
            T_EQ_INT(jobs[i].out.outcome, P2D_LOAD_DONE);
            T_EQ_INT(jobs[i].out.rows_sent, jobs[i].rows);
            want += jobs[i].rows;
        }
        T_EQ_INT(count_rows("t"), want);
    }

    /* One producer, one load at a time (max_loads 1), small loads that are
     * all in the ring before the first is answered: each queued load must
     * start as soon as the previous one is answered, not when
     * curl_multi_poll times out (1 s) for lack of another ring push. */
    exec_sql("wt", "TRUNCATE TABLE t");
    {
        struct timespec t0, t1;
        double ms;

        /* 10 loads through one slot: before the fix each waited for the
         * writer's 1 s poll timeout (about 9 s in all); the bound leaves a
         * wide margin for a loaded sanitizer build. */
        for (int i = 0; i < 10; i++) {
            char label[64];

            snprintf(label, sizeof(label), "wt-queued-%d", i);
            init_job(&jobs[i], "t", label, i * 1000LL, 50);
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        run_jobs(jobs, 10, 1, NULL, false);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        for (int i = 0; i < 10; i++)
            T_EQ_INT(jobs[i].out.outcome, P2D_LOAD_DONE);
        T_EQ_INT(count_rows("t"), 500);
        fprintf(stderr, "10 queued loads, max_loads 1: %.0f ms\n", ms);
        T_CHECK(ms < 4000);
    }

    /* A load whose connection is reset mid-body: RETRY, nothing stored;
     * re-read with the same label: done. */
    exec_sql("wt", "TRUNCATE TABLE t");
    it_emu_fault("kind=reset,table=t,nth=1,after=3000");
    init_job(&one, "t", "wt-reset", 0, 20000);
    run_jobs(&one, 1, 1, NULL, false);
    T_EQ_INT(one.out.outcome, P2D_LOAD_RETRY);
    T_EQ_INT(count_rows("t"), 0);
    init_job(&one, "t", "wt-reset", 0, 20000);
    run_jobs(&one, 1, 1, NULL, false);
    T_EQ_INT(one.out.outcome, P2D_LOAD_DONE);
    if (one.out.outcome != P2D_LOAD_DONE)
        fprintf(stderr, "resend after reset: %s\n", one.out.message);
    T_EQ_INT(count_rows("t"), 20000);

    /* compress_gz: every body is one gzip member (compress_type: gz); the
     * rows land exactly, and fewer bytes go on the wire than were read. */
    it_emu_fault(NULL);
    exec_sql("wt", "TRUNCATE TABLE t");
    {
        long long want = 0, raw = 0, wire = 0;
        struct timespec t0, t1;

        for (int i = 0; i < 6; i++) {
            char label[64];

            snprintf(label, sizeof(label), "wt-gz-%d", i);
            init_job(&jobs[i], "t", label, i * 100000LL, 20000 + i * 7);
            jobs[i].load.compress_gz = true;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        run_jobs(jobs, 6, 2, NULL, false);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        for (int i = 0; i < 6; i++) {
            T_EQ_INT(jobs[i].out.calls, 1);
            T_EQ_INT(jobs[i].out.outcome, P2D_LOAD_DONE);
            T_EQ_INT(jobs[i].out.rows_sent, jobs[i].rows);
            T_CHECK(jobs[i].out.bytes_sent > 0);
            T_CHECK(jobs[i].out.bytes_sent < jobs[i].out.raw_bytes);
            want += jobs[i].rows;
            raw += jobs[i].out.raw_bytes;
            wire += jobs[i].out.bytes_sent;
        }
        T_EQ_INT(count_rows("t"), want);
        fprintf(stderr, "gz: %lld rows, %lld raw bytes -> %lld on the wire (%.1f%%), %.0f ms\n",
                want, raw, wire, 100.0 * (double)wire / (double)raw,
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    }
    /* the same rows uncompressed: wire bytes == raw bytes */
    exec_sql("wt", "TRUNCATE TABLE t");
    init_job(&one, "t", "wt-plain", 0, 20000);
    run_jobs(&one, 1, 1, NULL, false);
    T_EQ_INT(one.out.outcome, P2D_LOAD_DONE);
    T_EQ_INT(one.out.bytes_sent, one.out.raw_bytes);
    T_EQ_INT(count_rows("t"), 20000);

    /* gz and a reset mid-body: RETRY, nothing stored; the resend with the
     * same label is done, exactly once. */
    exec_sql("wt", "TRUNCATE TABLE t");
    it_emu_fault("kind=reset,table=t,nth=1,after=3000");
    init_job(&one, "t", "wt-gz-reset", 0, 20000);
    one.load.compress_gz = true;
    run_jobs(&one, 1, 1, NULL, false);
    T_EQ_INT(one.out.outcome, P2D_LOAD_RETRY);
    T_EQ_INT(count_rows("t"), 0);
    init_job(&one, "t", "wt-gz-reset", 0, 20000);
    one.load.compress_gz = true;
    run_jobs(&one, 1, 1, NULL, false);
    T_EQ_INT(one.out.outcome, P2D_LOAD_DONE);
    T_EQ_INT(count_rows("t"), 20000);
    it_emu_fault(NULL);

    /* The answer is lost after the commit: RETRY; the resend with the same
     * label is "Label Already Exists" / FINISHED: done, not doubled. */
    it_emu_fault(NULL);
    exec_sql("wt", "TRUNCATE TABLE t");
    it_emu_fault("kind=lost_answer,table=t,nth=1");
    init_job(&one, "t", "wt-lost", 0, 3000);
    run_jobs(&one, 1, 1, NULL, false);
    T_EQ_INT(one.out.outcome, P2D_LOAD_RETRY);
    init_job(&one, "t", "wt-lost", 0, 3000);
    run_jobs(&one, 1, 1, NULL, false);
    T_EQ_INT(one.out.outcome, P2D_LOAD_DONE);
    T_EQ_INT(count_rows("t"), 3000);

    /* Storage-side and HTTP failures are retryable; nothing stored. */
    it_emu_fault(NULL);
    exec_sql("wt", "TRUNCATE TABLE t");
    it_emu_fault("kind=e235,table=t,nth=1");
    init_job(&one, "t", "wt-e235", 0, 100);
    run_jobs(&one, 1, 1, NULL, false);
    T_EQ_INT(one.out.outcome, P2D_LOAD_RETRY);
    T_HAS_STR(one.out.message, "[E-235]");
    it_emu_fault(NULL);
    it_emu_fault("kind=http5xx,table=t,nth=1");
    init_job(&one, "t", "wt-5xx", 0, 100);
    run_jobs(&one, 1, 1, NULL, false);
    T_EQ_INT(one.out.outcome, P2D_LOAD_RETRY);
    T_EQ_INT(count_rows("t"), 0);

    /* Bad data: the table is stopped with the ErrorURL. */
    it_emu_fault(NULL);
    exec_sql("wt", "CREATE TABLE n (id BIGINT NOT NULL, v INT NULL) DUPLICATE KEY(id) "
                   "DISTRIBUTED BY HASH(id) BUCKETS 1");
    {
        struct curl_slist *strict = curl_slist_append(NULL, "columns: id,v");

        strict = curl_slist_append(strict, "strict_mode: true");
        init_job(&one, "n", "wt-bad", 0, 10); /* "v-0" is not an INT */
        one.load.headers = strict;
        run_jobs(&one, 1, 1, NULL, false);
        T_EQ_INT(one.out.outcome, P2D_LOAD_BAD_DATA);
        curl_slist_free_all(strict);
    }

    /* A hanging destination: abort ends the load with "aborted". */
    it_emu_fault("kind=hang,table=t,nth=1");
    init_job(&one, "t", "wt-hang", 0, 100);
    run_jobs(&one, 1, 1, NULL, true);
    T_EQ_INT(one.out.calls, 1);
    T_EQ_INT(one.out.outcome, P2D_LOAD_RETRY);
    T_HAS_STR(one.out.message, "aborted");
    it_emu_fault(NULL);

    curl_slist_free_all(load_headers);
    p2d_batch_pool_destroy(pool);
    p2d_doris_sql_destroy(sql);
    return t_done();
}
