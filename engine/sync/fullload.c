/*
 * fullload.c - schema sync and parallel full load (fullload.h).
 *
 * DESIGN: the calling thread is the control thread. It alone touches the
 * state store, the source session, the slot and the Doris SQL client. N
 * reader threads (snapshot/reader.h) take range tasks from the readers'
 * queue; one writer thread (sink/writer.h) drains the per-table rings into
 * Stream Loads. The writer's finished() callback only appends the range to
 * an event queue (mutex + condition variable) with a copy of the answer and
 * of the reader's result; the control thread pops events, updates the
 * state (load DONE, range DONE), re-enqueues retries after backoff with the
 * same label, and closes a table's ring once none of its ranges can produce
 * again. Between events it sleeps on the condition variable with a timeout
 * that is the nearest of: a due retry, the next progress line, and 200 ms
 * to notice SIGINT / SIGTERM (the handler only sets a flag). Nobody spins.
 *
 * Ordering that the invariants rest on: a range's label is recorded (SENT,
 * durable) before its task is enqueued, and a range becomes DONE only after
 * its load's outcome was DONE and the load was recorded DONE.
 */
#include "sync/fullload.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "control/state.h"
#include "control/throttle.h"
#include "job/precheck.h"
#include "p2d_error.h"
#include "schema/catalog.h"
#include "schema/ddl.h"
#include "schema/schema_sync.h"
#include "sink/doris_sql.h"
#include "sink/streamload.h"
#include "sink/writer.h"
#include "sync/incremental.h"
#include "snapshot/pgconn.h"
#include "snapshot/copy_wire.h"
#include "snapshot/plan.h"
#include "snapshot/reader.h"
#include "snapshot/slot.h"
#include "xfer/batch.h"
#include "xfer/ring.h"

#define MOD                  "sync"
#define BATCH_BYTES          (256 * 1024)
#define MIN_BATCHES          4 /* per reader */
#define BACKOFF_MAX_S        60
#define TICK_MS              200
#define RANGES_PER_READER    4                    /* a job split by bytes: ranges per reader */
#define MIN_AUTO_RANGE_BYTES (16LL * 1024 * 1024) /* ... but none planned smaller */
#define PLAIN_EVERY_NS       (10 * 1000000000LL)
#define TTY_EVERY_NS         (1000000000LL)
#define SQL_MAX              (64 * 1024 * 1024)

static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t signal_count;

static void on_signal(int sig)
{
    got_signal = sig;
    signal_count++;
}

enum range_state {
    R_IDLE,    /* not handed out in this run (DONE before, or stopped) */
    R_QUEUED,  /* enqueued to the readers, outcome pending */
    R_BACKOFF, /* failed, waiting for its retry time */
    R_DONE,    /* DONE in this run */
    R_FAILED,  /* its table was stopped */
};

struct fl_table {
    int64_t table_id;
    const struct p2d_table *cat; /* borrowed from the catalog */
    struct p2d_ddl_table *ddl;
    struct p2d_encode_col *cols; /* Doris order; names borrowed from ddl */
    int *key_cols;
    int nkeys;
    char *select_list; /* COPY projection in Doris column order */
    struct curl_slist *headers;
    struct p2d_ring *ring;
    char name[300]; /* "schema.table" */
    bool in_plan;
    bool schema_synced;
    int nranges, ndone_before, ndone, inflight, waiting;
    bool stopped, ring_closed;
    int64_t est_rows, rows_before, rows, bytes, issues;
    int64_t live_rows, live_bytes; /* rows, bytes plus ranges in flight (progress) */
    int64_t start_ns, end_ns;
};

struct fl_range {
    struct fl_table *t;
    int64_t range_id;
    enum p2d_range_kind kind;
    enum p2d_range_status status; /* as in the state store */
    enum range_state st;
    int64_t est_rows;
    struct p2d_read_task task;
    struct p2d_load load;
    /* filled by the writer thread under fl->mu, read by the control thread */
    struct p2d_load_answer answer;
    struct p2d_read_result result;
    struct fl_range *next_event;
    int64_t due_ns, first_fail_ns;
    int backoff_s;
};

struct fl {
    const struct p2d_job *job;
    char job_id[P2D_JOB_FINGERPRINT_LEN];
    PGconn *src;
    struct p2d_doris_sql *sql;
    struct p2d_state *st;
    struct p2d_catalog *cat;
    struct p2d_slot *slot;
    bool drop_slot_at_end;
    struct fl_table *tables;
    size_t ntables;
    struct fl_range *ranges;
    size_t nranges;
    struct p2d_state_plan plan;

    struct p2d_batch_pool *pool;
    struct p2d_writer *writer;
    struct p2d_readers *readers;
    struct p2d_throttle *qps, *rows_tb, *bytes_tb;
    pthread_t writer_thread;
    bool writer_started;
    int writer_rc;    /* written by the writer thread before writer_done */
    bool writer_done; /* atomic: release after writer_rc, acquire before reading it */

    pthread_mutex_t mu; /* guards events */
    pthread_cond_t cv;
    struct fl_range *events, **events_tail;
    bool stop; /* atomic: readers and finished() read it */

    bool bad_data, fatal;
    int64_t start_ns, last_progress_ns;
    bool tty;
    size_t tty_lines;
};

/* ---- messages ------------------------------------------------------------ */

/* One line: libpq's multi-line texts are joined with "; ". */
static void log_pg_error(const char *what, const struct p2d_pg_error *e)
{
    char msg[sizeof(e->message)];
    size_t n = 0;

    for (const char *p = e->message; *p && n + 3 < sizeof(msg); p++) {
        if (*p == '\n') {
            while (p[1] == '\t' || p[1] == ' ' || p[1] == '\n')
                p++;
            if (p[1]) {
                msg[n++] = ';';
                msg[n++] = ' ';
            }
        } else {
            msg[n++] = *p;
        }
    }
    msg[n] = '\0';
    if (e->hint[0])
        P2D_ERROR(MOD, "%s: %s; hint: %s", what, msg, e->hint);
    else
        P2D_ERROR(MOD, "%s: %s", what, msg);
}

/* Logs each line of text as one error line. */
static void log_lines(enum p2d_log_level level, const char *text)
{
    while (text && *text) {
        size_t n = strcspn(text, "\n");

        if (n)
            p2d_log(level, MOD, "%.*s", (int)n, text);
        text += n;
        if (*text == '\n')
            text++;
    }
}

static int64_t now_ns(void)
{
    return p2d_monotonic_ns();
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !got_signal)
        ;
}

/* ---- slot cleanup --------------------------------------------------------- */

/* Drops the slot and publication "p2d_<job>" if they exist. A slot still
 * active (the walsender of a killed run has not noticed yet) is waited for
 * up to 10 s. Returns 0 or P2D_ESOURCE (logged). */
static int drop_slot(struct fl *fl)
{
    struct p2d_pg_error e;
    bool slot_dropped = false, pub_dropped = false;
    int rc = 0;

    for (int i = 0; i < 20; i++) {
        struct p2d_slot_status s;
        char name[P2D_SLOT_NAME_MAX];

        if (p2d_slot_name(fl->job_id, name, sizeof(name)) != 0)
            return P2D_EINVAL;
        rc = p2d_slot_status(fl->src, name, &s, &e);
        if (rc == 0 && s.exists && s.active) {
            sleep_ms(500);
            continue;
        }
        break;
    }
    rc = p2d_slot_drop(fl->src, fl->job_id, &slot_dropped, &pub_dropped, &e);
    if (rc != 0) {
        log_pg_error("cannot drop the replication slot", &e);
        return rc;
    }
    if (slot_dropped || pub_dropped)
        P2D_INFO(MOD, "dropped%s%s \"" P2D_SLOT_PREFIX "%s\"", slot_dropped ? " slot" : "",
                 pub_dropped ? (slot_dropped ? " and publication" : " publication") : "",
                 fl->job_id);
    return 0;
}

/* Ends the cut: COMMIT in the holder, close it, and drop the slot when the
 * job has no incremental part. */
static void finish_cut(struct fl *fl)
{
    struct p2d_pg_error e;

    if (fl->slot) {
        if (p2d_slot_release(fl->slot, &e) != 0)
            log_pg_error("cannot end the snapshot holder", &e);
        p2d_slot_destroy(fl->slot);
        fl->slot = NULL;
    }
    if (fl->drop_slot_at_end) {
        (void)drop_slot(fl);
        fl->drop_slot_at_end = false;
    }
}

/* ---- tables: layout, projection, headers ------------------------------------ */

static int build_table(struct fl *fl, struct fl_table *t, const struct p2d_table *ct)
{
    const struct p2d_job *job = fl->job;
    struct p2d_buf sel, cols_hdr;
    char err[4096], q[600];
    int rc;

    t->cat = ct;
    snprintf(t->name, sizeof(t->name), "%s.%s", ct->schema, ct->name);
    rc = p2d_ddl_plan(ct, job, NULL, &t->ddl, err, sizeof(err));
    if (rc != 0) {
        if (rc == P2D_EINVAL)
            log_lines(P2D_LOG_ERROR, err);
        return rc;
    }
    t->cols = calloc(t->ddl->ncolumns, sizeof(*t->cols));
    t->key_cols = calloc(t->ddl->ncolumns, sizeof(*t->key_cols));
    if (!t->cols || !t->key_cols)
        return P2D_ENOMEM;
    p2d_buf_init(&sel, SQL_MAX);
    p2d_buf_init(&cols_hdr, SQL_MAX);
    for (size_t i = 0; i < t->ddl->ncolumns && rc == 0; i++) {
        const struct p2d_ddl_column *dc = &t->ddl->columns[i];

        p2d_encode_col_from(&t->cols[i], dc->name, &dc->d);
        if (dc->is_key)
            t->key_cols[t->nkeys++] = (int)i;
        if (i > 0)
            rc = p2d_pg_appendf(&sel, ", ");
        if (rc)
            break;
        switch (dc->kind) {
        case P2D_DDL_SOURCE:
            rc = p2d_pg_append_ident(fl->src, &sel, ct->columns[dc->source].name);
            break;
        case P2D_DDL_IS_DELETED:
            rc = p2d_pg_appendf(&sel, "false");
            break;
        case P2D_DDL_VERSION: /* full-load rows sort before every CDC change */
            rc = p2d_pg_appendf(&sel, "0::bigint");
            break;
        case P2D_DDL_RECORD_ID:
            /* unique within a leaf in one snapshot; two leaves of one root
             * may repeat an id, but never for two equal rows (equal rows
             * have equal partition keys, so one leaf), and the change-log
             * queries only merge rows equal in every column */
            rc = p2d_pg_appendf(&sel, "((ctid::text::point)[0]::bigint * 65536 + "
                                      "(ctid::text::point)[1]::bigint)");
            break;
        }
        if (rc)
            break;
        p2d_doris_quote_ident(dc->name, q, sizeof(q));
        rc = p2d_pg_appendf(&cols_hdr, "%s%s", i > 0 ? "," : "columns: ", q);
    }
    if (rc == 0) {
        t->select_list = strdup((const char *)sel.data);
        t->headers = curl_slist_append(NULL, (const char *)cols_hdr.data);
        if (job->format == P2D_FORMAT_JSON) {
            t->headers = curl_slist_append(t->headers, "format: json");
            t->headers = curl_slist_append(t->headers, "read_json_by_line: true");
            t->headers = curl_slist_append(t->headers, "num_as_string: true");
        } else {
            t->headers = curl_slist_append(t->headers, "column_separator: \\t");
            t->headers = curl_slist_append(t->headers, "enclose: \"");
            t->headers = curl_slist_append(t->headers, "escape: \\");
        }
        if (!t->select_list || !t->headers)
            rc = P2D_ENOMEM;
    }
    p2d_buf_fini(&sel);
    p2d_buf_fini(&cols_hdr);
    return rc;
}

static void free_tables(struct fl *fl)
{
    for (size_t i = 0; i < fl->ntables; i++) {
        struct fl_table *t = &fl->tables[i];

        p2d_ddl_table_destroy(t->ddl);
        free(t->cols);
        free(t->key_cols);
        free(t->select_list);
        curl_slist_free_all(t->headers);
        p2d_ring_destroy(t->ring);
    }
    free(fl->tables);
    fl->tables = NULL;
    fl->ntables = 0;
}

/* ---- planning (fresh run) ----------------------------------------------------- */

/*
 * Rows per range of a table. --rows-per-range, when given, is taken as is.
 * Else ranges hold --bytes-per-range of the table's bytes at most, and less
 * when the whole job is small: every reader should get RANGES_PER_READER
 * ranges or more, so that none idles while the last range is read alone
 * (ranges are never planned below MIN_AUTO_RANGE_BYTES for that).
 */
static int64_t rows_per_range_for(const struct p2d_job *job, const struct p2d_table *ct,
                                  int64_t job_bytes)
{
    int64_t per = job->bytes_per_range;
    int readers = job->readers > 0 ? job->readers : 1;

    if (job->rows_per_range > 0)
        return job->rows_per_range;
    if (job_bytes / (readers * RANGES_PER_READER) < per)
        per = job_bytes / (readers * RANGES_PER_READER);
    if (per < MIN_AUTO_RANGE_BYTES)
        per = MIN_AUTO_RANGE_BYTES < job->bytes_per_range ? MIN_AUTO_RANGE_BYTES
                                                          : job->bytes_per_range;
    if (ct->est_rows > 0 && ct->bytes > 0) {
        int64_t row_bytes = ct->bytes / ct->est_rows;

        if (row_bytes < 1)
            row_bytes = 1;
        return per / row_bytes > 0 ? per / row_bytes : 1;
    }
    return 0; /* planner default */
}

/* The layout half of a guard (see struct p2d_state_table): an md5 over the
 * table's leaves and their relfilenodes, which VACUUM FULL, CLUSTER and
 * table rewrites change. conn must hold the table's lock. */
static int table_layout(PGconn *conn, const struct fl_table *t, char *out, size_t outlen)
{
    struct p2d_buf sql, qn;
    struct p2d_pg_error e;
    int rc;

    p2d_buf_init(&sql, 0);
    p2d_buf_init(&qn, 0);
    rc = p2d_pg_append_qualified(conn, &qn, t->cat->schema, t->cat->name);
    /* pg_partition_tree lists nothing for a table that is not partitioned */
    if (rc == 0)
        rc = p2d_pg_appendf(&sql, "WITH t(r) AS (SELECT ");
    if (rc == 0)
        rc = p2d_pg_append_literal(conn, &sql, (const char *)qn.data);
    if (rc == 0)
        rc = p2d_pg_appendf(&sql, "::regclass) SELECT md5(string_agg(c.oid::text || ':' || "
                                  "pg_relation_filenode(c.oid)::text, ',' ORDER BY c.oid)) "
                                  "FROM pg_class c, t WHERE c.relkind = 'r' AND (c.oid = t.r OR "
                                  "c.oid IN (SELECT relid FROM pg_partition_tree(t.r)))");
    if (rc == 0) {
        rc = p2d_pg_query_value(conn, (const char *)sql.data, "cannot read the table's layout", out,
                                outlen, NULL, &e);
        if (rc == 0 && !out[0]) {
            p2d_pg_error_set(&e, P2D_PG_OTHER, NULL, "no heap relation found for \"%s\"", t->name);
            rc = P2D_ESOURCE;
        }
        if (rc != 0)
            log_pg_error("cannot check the table's layout", &e);
    }
    p2d_buf_fini(&qn);
    p2d_buf_fini(&sql);
    return rc;
}

/* The cut snapshot's xmin as a 32-bit xid (the holder is inside it), for
 * the CHANGES ranges of ctid-split tables; none before PostgreSQL 14, where
 * tables are never split by ctid. */
static int cut_snapshot_xmin(PGconn *holder, uint32_t *xid, bool *have)
{
    char v[32];
    struct p2d_pg_error e;
    int rc;

    *have = false;
    if (PQserverVersion(holder) < 140000)
        return 0;
    rc = p2d_pg_query_value(
        holder, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint % 4294967296",
        "cannot read the snapshot's xmin", v, sizeof(v), NULL, &e);
    if (rc != 0) {
        log_pg_error("cannot plan the ranges", &e);
        return rc;
    }
    *xid = (uint32_t)strtoull(v, NULL, 10);
    *have = true;
    return 0;
}

/* Plans every table inside the holder and saves the plan. Each range's
 * COPY statement is what the state keeps as its predicate: a resumed run
 * re-reads exactly the statement the first run planned. */
static int plan_and_save(struct fl *fl)
{
    PGconn *holder = p2d_slot_holder(fl->slot);
    struct p2d_state_plan sp = {0};
    struct p2d_plan plan;
    struct p2d_pg_error e;
    size_t *first = calloc(fl->ntables + 1, sizeof(size_t));
    char(*labels)[129] = NULL;
    int rc = 0;

    int64_t job_bytes = 0;
    uint32_t cut_xmin = 0;
    bool have_xmin = false;

    if (!first)
        return P2D_ENOMEM;
    rc = cut_snapshot_xmin(holder, &cut_xmin, &have_xmin);
    if (rc != 0) {
        free(first);
        return rc;
    }
    for (size_t i = 0; i < fl->ntables; i++)
        job_bytes += fl->tables[i].cat->bytes > 0 ? fl->tables[i].cat->bytes : 0;
    p2d_plan_init(&plan);
    for (size_t i = 0; i < fl->ntables && rc == 0; i++) {
        struct fl_table *t = &fl->tables[i];
        const struct p2d_table *ct = t->cat;
        const struct p2d_job_table *cfg = p2d_job_table_config(fl->job, ct->schema, ct->name);
        const char *keys[64];
        struct p2d_plan_opts o = {
            .schema = ct->schema,
            .table = ct->name,
            .select_list = t->select_list,
            .filter = cfg ? cfg->where : NULL,
            .rows_per_range = rows_per_range_for(fl->job, ct, job_bytes),
            .range_multiple = fl->job->rows_per_range > 0
                                  ? 0
                                  : (size_t)(fl->job->readers > 0 ? fl->job->readers : 1),
            /* a Duplicate table gets no CHANGES range: keep its rows in
             * key ranges when it has a key (see engine/README.md) */
            .strategy = fl->job->split_by == P2D_SPLIT_KEY || t->ddl->model == P2D_MODEL_DUPLICATE
                            ? P2D_PLAN_KEY
                            : P2D_PLAN_AUTO,
            /* Duplicate tables would get a second copy of changed rows */
            .changed_since = have_xmin && t->ddl->model != P2D_MODEL_DUPLICATE,
            .changed_since_xid = cut_xmin,
        };

        if (ct->key_kind != P2D_KEY_NONE && ct->nkey <= 64) {
            for (size_t k = 0; k < ct->nkey; k++)
                keys[k] = ct->columns[ct->key[k]].name;
            o.key_columns = keys;
            o.nkeys = ct->nkey;
        }
        first[i] = plan.nranges;
        rc = p2d_plan_table(holder, &o, &plan, &e);
        if (rc != 0)
            log_pg_error("cannot plan the ranges of a table", &e);
    }
    first[fl->ntables] = plan.nranges;
    if (rc != 0)
        goto out;
    sp.tables = calloc(fl->ntables, sizeof(*sp.tables));
    sp.ranges = calloc(plan.nranges ? plan.nranges : 1, sizeof(*sp.ranges));
    labels = calloc(plan.nranges ? plan.nranges : 1, sizeof(*labels));
    if (!sp.tables || !sp.ranges || !labels) {
        rc = P2D_ENOMEM;
        goto out;
    }
    sp.ntables = fl->ntables;
    sp.nranges = plan.nranges;
    for (size_t i = 0; i < fl->ntables; i++) {
        struct fl_table *t = &fl->tables[i];
        struct p2d_state_table *stt = &sp.tables[i];
        size_t nrows_ranges = 0;

        t->table_id = (int64_t)i + 1;
        stt->table_id = t->table_id;
        snprintf(stt->src_schema, sizeof(stt->src_schema), "%s", t->cat->schema);
        snprintf(stt->src_table, sizeof(stt->src_table), "%s", t->cat->name);
        snprintf(stt->dest_db, sizeof(stt->dest_db), "%s", t->ddl->database);
        snprintf(stt->dest_table, sizeof(stt->dest_table), "%s", t->ddl->table);
        stt->model = t->ddl->model == P2D_MODEL_DUPLICATE ? P2D_STATE_DUPLICATE : P2D_STATE_UNIQUE;
        for (size_t r = first[i]; r < first[i + 1]; r++) {
            struct p2d_state_range *sr = &sp.ranges[r];

            sr->table_id = t->table_id;
            sr->range_id = (int64_t)(r - first[i]);
            sr->predicate = plan.ranges[r].copy_sql;
            p2d_streamload_label(fl->job_id, t->ddl->table, sr->range_id, 0, labels[r],
                                 sizeof(labels[r]));
            sr->label_prefix = labels[r];
            sr->kind =
                plan.ranges[r].method == P2D_PLAN_M_CHANGES ? P2D_RANGE_CHANGES : P2D_RANGE_ROWS;
            nrows_ranges += sr->kind == P2D_RANGE_ROWS;
        }
        if (first[i + 1] - first[i] > nrows_ranges) {
            char layout[40];

            if ((rc = table_layout(holder, t, layout, sizeof(layout))) != 0)
                goto out;
            snprintf(stt->guard, sizeof(stt->guard), "%s:%" PRIu32, layout, cut_xmin);
        }
        P2D_INFO(MOD, "planned %zu %s range%s for \"%s\" (about %lld rows)", nrows_ranges,
                 first[i + 1] - first[i] > nrows_ranges ? "ctid" : "key",
                 nrows_ranges == 1 ? "" : "s", t->name, (long long)t->cat->est_rows);
    }
    rc = p2d_state_plan_save(fl->st, &sp);
    if (rc != 0)
        P2D_ERROR(MOD, "cannot save the plan: %s", p2d_state_errmsg(fl->st));
out:
    free(sp.tables);
    free(sp.ranges);
    free(labels);
    free(first);
    p2d_plan_fini(&plan);
    return rc;
}

/* Links the saved plan to the catalog's tables and builds the ranges.
 * Returns the exit code to use on failure, or P2D_EXIT_OK. */
static int load_plan(struct fl *fl)
{
    int rc = p2d_state_plan_load(fl->st, &fl->plan);

    if (rc != 0) {
        P2D_ERROR(MOD, "cannot load the plan: %s", p2d_state_errmsg(fl->st));
        return P2D_EXIT_STATE;
    }
    for (size_t i = 0; i < fl->plan.ntables; i++) {
        const struct p2d_state_table *stt = &fl->plan.tables[i];
        struct fl_table *t = NULL;

        for (size_t k = 0; k < fl->ntables; k++)
            if (strcmp(fl->tables[k].cat->schema, stt->src_schema) == 0 &&
                strcmp(fl->tables[k].cat->name, stt->src_table) == 0)
                t = &fl->tables[k];
        if (!t) {
            P2D_ERROR(MOD,
                      "table \"%s.%s\" of the saved plan is not in the source any more; hint: "
                      "start the job again with a new --state directory",
                      stt->src_schema, stt->src_table);
            return P2D_EXIT_SOURCE;
        }
        t->table_id = stt->table_id;
        t->in_plan = true;
        t->schema_synced = stt->schema_synced;
    }
    for (size_t k = 0; k < fl->ntables; k++)
        if (!fl->tables[k].in_plan)
            P2D_WARN(MOD,
                     "table \"%s\" is selected but not in the saved plan, so this job does not "
                     "load it; hint: sync it with a new --state directory",
                     fl->tables[k].name);
    fl->ranges = calloc(fl->plan.nranges ? fl->plan.nranges : 1, sizeof(*fl->ranges));
    if (!fl->ranges)
        return P2D_EXIT_INTERNAL;
    fl->nranges = fl->plan.nranges;
    for (size_t i = 0; i < fl->plan.nranges; i++) {
        const struct p2d_state_range *sr = &fl->plan.ranges[i];
        struct fl_range *r = &fl->ranges[i];

        for (size_t k = 0; k < fl->ntables; k++)
            if (fl->tables[k].in_plan && fl->tables[k].table_id == sr->table_id)
                r->t = &fl->tables[k];
        if (!r->t)
            return P2D_EXIT_STATE;
        r->range_id = sr->range_id;
        r->kind = sr->kind;
        r->status = sr->status;
        if (p2d_state_range_counted(sr))
            r->t->nranges++;
        if (sr->status == P2D_RANGE_DONE && sr->kind == P2D_RANGE_ROWS) {
            r->t->ndone_before++;
            r->t->rows_before += sr->rows;
        }
        r->task = (struct p2d_read_task){.table = r->t->name,
                                         .cols = r->t->cols,
                                         .ncols = (int)r->t->ddl->ncolumns,
                                         .key_cols = r->t->key_cols,
                                         .nkeys = r->t->nkeys,
                                         .copy_sql = sr->predicate,
                                         .load = &r->load,
                                         .user = r};
        snprintf(r->load.db, sizeof(r->load.db), "%s", r->t->ddl->database);
        snprintf(r->load.table, sizeof(r->load.table), "%s", r->t->ddl->table);
        snprintf(r->load.label, sizeof(r->load.label), "%s", sr->label_prefix);
        r->load.headers = r->t->headers;
        r->load.compress_gz = fl->job->compress == P2D_COMPRESS_GZ;
        r->load.user = r;
    }
    for (size_t k = 0; k < fl->ntables; k++) {
        struct fl_table *t = &fl->tables[k];

        t->est_rows = t->cat->est_rows > 0 ? t->cat->est_rows : 0;
    }
    return P2D_EXIT_OK;
}

/* ---- schema step ------------------------------------------------------------- */

/* Runs schema sync for the tables that need it (all when plan is false,
 * else those of the plan not yet marked synced). A resumed run may find a
 * table its crashed predecessor created before marking it: --on-conflict
 * ignore then keeps it when it matches. Returns an exit code. */
static int schema_step(struct fl *fl, bool from_plan)
{
    struct p2d_catalog sub = *fl->cat;
    struct p2d_job job = *fl->job;
    struct p2d_schema_report *rep = NULL;
    char err[4096];
    int rc, code;

    sub.tables = calloc(fl->ntables ? fl->ntables : 1, sizeof(*sub.tables));
    if (!sub.tables)
        return P2D_EXIT_INTERNAL;
    sub.ntables = 0;
    for (size_t i = 0; i < fl->ntables; i++)
        if (!from_plan || (fl->tables[i].in_plan && !fl->tables[i].schema_synced))
            sub.tables[sub.ntables++] = *fl->tables[i].cat;
    if (sub.ntables == 0) {
        free(sub.tables);
        return P2D_EXIT_OK;
    }
    if (from_plan)
        job.on_conflict = P2D_CONFLICT_IGNORE;
    rc = p2d_schema_sync(fl->sql, &job, &sub, NULL, &rep, err, sizeof(err));
    code = p2d_schema_exit_code(rc);
    if (rep) {
        for (size_t i = 0; i < rep->nresults; i++) {
            const struct p2d_schema_result *res = &rep->results[i];

            if (res->outcome == P2D_SCHEMA_REFUSED) {
                P2D_ERROR(MOD, "table \"%s.%s\" refused:", res->table->schema, res->table->name);
                log_lines(P2D_LOG_ERROR, res->reason);
                continue;
            }
            P2D_INFO(MOD, "table \"%s.%s\" -> %s.%s: %s", res->table->schema, res->table->name,
                     res->database, res->name, p2d_schema_outcome_name(res->outcome));
            if (from_plan || fl->st) {
                for (size_t k = 0; k < fl->ntables; k++) {
                    struct fl_table *t = &fl->tables[k];

                    if (t->in_plan && strcmp(t->cat->schema, res->table->schema) == 0 &&
                        strcmp(t->cat->name, res->table->name) == 0 && fl->st) {
                        if (p2d_state_table_set_schema_synced(fl->st, t->table_id) != 0) {
                            P2D_ERROR(MOD, "%s", p2d_state_errmsg(fl->st));
                            code = P2D_EXIT_STATE;
                        }
                        t->schema_synced = true;
                    }
                }
            }
        }
    }
    if (rc != 0 && err[0])
        log_lines(P2D_LOG_ERROR, err);
    p2d_schema_report_destroy(rep);
    free(sub.tables);
    return rc == P2D_ENOMEM ? P2D_EXIT_INTERNAL : code;
}

/* ---- the load pipeline ----------------------------------------------------------- */

static void on_finished(struct p2d_load *load, const struct p2d_load_answer *a, void *arg)
{
    struct fl *fl = arg;
    struct fl_range *r = load->user;

    pthread_mutex_lock(&fl->mu);
    r->answer = *a;
    /* the ring published the reader's result with the end batch; after an
     * abort (stop) the result may still be written, so it is not read */
    if (!__atomic_load_n(&fl->stop, __ATOMIC_ACQUIRE))
        r->result = r->task.result;
    else
        r->result.rc = P2D_ECANCEL;
    r->next_event = NULL;
    *fl->events_tail = r;
    fl->events_tail = &r->next_event;
    pthread_cond_signal(&fl->cv);
    pthread_mutex_unlock(&fl->mu);
}

static void *writer_main(void *arg)
{
    struct fl *fl = arg;

    fl->writer_rc = p2d_writer_run(fl->writer);
    __atomic_store_n(&fl->writer_done, true, __ATOMIC_RELEASE);
    /* wake the control thread: the writer ended (maybe on a curl failure) */
    pthread_mutex_lock(&fl->mu);
    pthread_cond_signal(&fl->cv);
    pthread_mutex_unlock(&fl->mu);
    return NULL;
}

/* Records the label, marks the range RUNNING and hands it to the readers. */
static int start_range(struct fl *fl, struct fl_range *r)
{
    struct fl_table *t = r->t;
    bool already_done = false;
    int rc;

    rc = p2d_state_load_record(fl->st, r->load.label, t->table_id, r->range_id, &already_done);
    if (rc == 0 && r->status == P2D_RANGE_RUNNING && r->st == R_IDLE) {
        /* left RUNNING by an interrupted run: give it back first */
        rc = p2d_state_range_set(fl->st, t->table_id, r->range_id, P2D_RANGE_PLANNED, 0, 0);
        if (rc == 0)
            r->status = P2D_RANGE_PLANNED;
    }
    if (rc == 0 && r->status == P2D_RANGE_PLANNED) {
        rc = p2d_state_range_set(fl->st, t->table_id, r->range_id, P2D_RANGE_RUNNING, 0, 0);
        if (rc == 0)
            r->status = P2D_RANGE_RUNNING;
    }
    if (rc != 0) {
        P2D_ERROR(MOD, "%s", p2d_state_errmsg(fl->st));
        return rc;
    }
    if (!t->start_ns)
        t->start_ns = now_ns();
    if (already_done) {
        /* Doris confirmed this label before a crash; only the range's
         * status was not written yet */
        P2D_INFO(MOD, "range %lld of \"%s\" was loaded before (label %s)", (long long)r->range_id,
                 t->name, r->load.label);
        rc = p2d_state_range_set(fl->st, t->table_id, r->range_id, P2D_RANGE_DONE, 0, 0);
        if (rc != 0) {
            P2D_ERROR(MOD, "%s", p2d_state_errmsg(fl->st));
            return rc;
        }
        r->status = P2D_RANGE_DONE;
        r->st = R_DONE;
        t->ndone++;
        t->end_ns = now_ns();
        return 0;
    }
    /* on a TTY the progress lines show it; the resume line lists re-reads */
    if (r->kind == P2D_RANGE_CHANGES)
        P2D_INFO(MOD, "reading the rows of \"%s\" changed since the first snapshot (label %s)",
                 t->name, r->load.label);
    else
        p2d_log(fl->tty ? P2D_LOG_DEBUG : P2D_LOG_INFO, MOD,
                "reading range %lld of \"%s\" (label %s)", (long long)r->range_id, t->name,
                r->load.label);
    r->st = R_QUEUED;
    t->inflight++;
    r->task.live_rows = r->task.live_bytes = 0;
    rc = p2d_readers_enqueue(fl->readers, &r->task);
    if (rc != 0) {
        t->inflight--;
        r->st = R_IDLE;
    }
    return rc;
}

/* Stops a table after bad data: no retries, queued ranges cancelled. */
static void stop_table(struct fl *fl, struct fl_table *t)
{
    t->stopped = true;
    fl->bad_data = true;
    for (size_t i = 0; i < fl->nranges; i++) {
        struct fl_range *r = &fl->ranges[i];

        if (r->t != t)
            continue;
        if (r->st == R_QUEUED) /* atomic like the writer's own store */
            __atomic_store_n(&r->load.cancel, true, __ATOMIC_RELEASE);
        if (r->st == R_BACKOFF) {
            t->waiting--;
            r->st = R_FAILED;
        }
    }
}

static bool reader_data_error(int rc)
{
    return rc == P2D_EDATA || rc == P2D_EPROTO || rc == P2D_EFULL;
}

static void handle_outcome(struct fl *fl, struct fl_range *r)
{
    struct fl_table *t = r->t;
    const struct p2d_load_answer *a = &r->answer;
    const struct p2d_read_result *res = &r->result;
    int64_t now = now_ns();

    t->inflight--;
    if (__atomic_load_n(&fl->stop, __ATOMIC_RELAXED) || fl->fatal) {
        r->st = R_IDLE; /* stays RUNNING in the state: unfinished */
        return;
    }
    if (t->stopped) {
        r->st = R_FAILED;
        return;
    }
    switch (a->outcome) {
    case P2D_LOAD_DONE:
        if (p2d_state_load_finish(fl->st, r->load.label, P2D_LOAD_STATUS_DONE, a->txn_id,
                                  a->loaded_rows ? a->loaded_rows : res->rows, NULL) != 0 ||
            p2d_state_range_set(fl->st, t->table_id, r->range_id, P2D_RANGE_DONE, res->rows,
                                res->bytes) != 0) {
            P2D_ERROR(MOD, "%s", p2d_state_errmsg(fl->st));
            fl->fatal = true;
            return;
        }
        r->status = P2D_RANGE_DONE;
        r->st = R_DONE;
        t->ndone++;
        t->rows += res->rows;
        t->bytes += res->bytes;
        t->issues += res->issues;
        t->end_ns = now;
        P2D_DEBUG(MOD, "range %lld of \"%s\" done: %lld rows in %.2f s (%s)",
                  (long long)r->range_id, t->name, res->rows, res->seconds, a->status);
        return;
    case P2D_LOAD_BAD_DATA:
        P2D_ERROR(MOD,
                  "Doris rejected rows of \"%s\" range %lld (label %s): %s; first error: %s; "
                  "rejected rows: %s; hint: the table is stopped, fix the data or the mapping "
                  "and run sync again",
                  t->name, (long long)r->range_id, r->load.label, a->message,
                  a->first_error[0] ? a->first_error : "(none)",
                  a->error_url[0] ? a->error_url : "(no ErrorURL)");
        if (p2d_state_load_finish(fl->st, r->load.label, P2D_LOAD_STATUS_FAILED, 0, 0,
                                  a->message) != 0)
            P2D_ERROR(MOD, "%s", p2d_state_errmsg(fl->st));
        r->st = R_FAILED;
        stop_table(fl, t);
        return;
    case P2D_LOAD_FATAL:
    case P2D_LOAD_PRECOMMITTED:
        P2D_ERROR(MOD, "loading \"%s\" range %lld failed (%s): %s", t->name, (long long)r->range_id,
                  p2d_load_outcome_name(a->outcome), a->message);
        r->st = R_FAILED;
        fl->fatal = true;
        return;
    case P2D_LOAD_RETRY:
    case P2D_LOAD_WAIT_RUNNING:
        break;
    }
    if (reader_data_error(res->rc)) {
        P2D_ERROR(MOD, "reading \"%s\" range %lld failed: %s; hint: the table is stopped", t->name,
                  (long long)r->range_id,
                  res->err.message[0] ? res->err.message : p2d_strerror(res->rc));
        r->st = R_FAILED;
        stop_table(fl, t);
        return;
    }
    if (!r->first_fail_ns)
        r->first_fail_ns = now;
    if (now - r->first_fail_ns > (int64_t)fl->job->retry_other_min * 60 * 1000000000LL) {
        P2D_ERROR(MOD,
                  "giving up on \"%s\" range %lld after %d minutes of retries: %s; hint: raise "
                  "--retry-other or fix the cause, then run sync again",
                  t->name, (long long)r->range_id, fl->job->retry_other_min,
                  res->rc && res->rc != P2D_ECANCEL ? res->err.message : a->message);
        r->st = R_FAILED;
        fl->fatal = true;
        return;
    }
    r->backoff_s =
        r->backoff_s ? (r->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : r->backoff_s * 2) : 1;
    r->due_ns = now + (int64_t)r->backoff_s * 1000000000LL;
    r->st = R_BACKOFF;
    t->waiting++;
    P2D_WARN(MOD, "loading \"%s\" range %lld failed (%s: %s); retrying in %d s with label %s",
             t->name, (long long)r->range_id, p2d_load_outcome_name(a->outcome),
             res->rc && res->rc != P2D_ECANCEL && res->err.message[0] ? res->err.message
                                                                      : a->message,
             r->backoff_s, r->load.label);
}

/* Closes the rings of settled tables. True when every table is settled. */
static bool settle_tables(struct fl *fl)
{
    bool all = true;

    for (size_t i = 0; i < fl->ntables; i++) {
        struct fl_table *t = &fl->tables[i];

        if (!t->ring || t->ring_closed)
            continue;
        if (t->inflight == 0 && t->waiting == 0 &&
            (t->stopped || t->ndone_before + t->ndone == t->nranges)) {
            p2d_ring_close(t->ring);
            t->ring_closed = true;
        } else {
            all = false;
        }
    }
    return all;
}

static void fmt_eta(double s, char *out, size_t n)
{
    if (s < 0 || s > 1e7)
        snprintf(out, n, "--:--");
    else if (s >= 3600)
        snprintf(out, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else
        snprintf(out, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

/* Each table's rows and bytes read so far: its finished ranges' counts
 * plus what the readers pushed of its ranges in flight. */
static void live_progress(struct fl *fl)
{
    for (size_t i = 0; i < fl->ntables; i++) {
        fl->tables[i].live_rows = fl->tables[i].rows;
        fl->tables[i].live_bytes = fl->tables[i].bytes;
    }
    for (size_t i = 0; i < fl->nranges; i++) {
        struct fl_range *r = &fl->ranges[i];

        if (r->st != R_QUEUED)
            continue;
        r->t->live_rows += __atomic_load_n(&r->task.live_rows, __ATOMIC_RELAXED);
        r->t->live_bytes += __atomic_load_n(&r->task.live_bytes, __ATOMIC_RELAXED);
    }
}

/* Progress: refreshed lines on a TTY, a plain log line every 10 s else. */
static void progress(struct fl *fl, bool force)
{
    int64_t now = now_ns();
    int64_t every = fl->job->progress_every_s > 0 ? fl->job->progress_every_s * 1000000000LL
                    : fl->tty                     ? TTY_EVERY_NS
                                                  : PLAIN_EVERY_NS;
    double el = (double)(now - fl->start_ns) / 1e9;
    int64_t rows = 0, before = 0, bytes = 0, est = 0;
    int ranges = 0, done = 0;
    char eta[32];

    if (!force && now - fl->last_progress_ns < every)
        return;
    fl->last_progress_ns = now;
    live_progress(fl);
    for (size_t i = 0; i < fl->ntables; i++) {
        const struct fl_table *t = &fl->tables[i];

        rows += t->live_rows;
        before += t->rows_before;
        bytes += t->live_bytes;
        est += t->est_rows;
        ranges += t->nranges;
        done += t->ndone + t->ndone_before;
    }
    if (el <= 0)
        el = 1e-9;
    fmt_eta(rows > 0 ? (double)(est - rows - before) / ((double)rows / el) : -1, eta, sizeof(eta));
    if (!fl->tty) {
        P2D_INFO(MOD,
                 "progress: %lld rows (%.1f MB) in %.0f s, %.0f rows/s, %d of %d ranges done, "
                 "ETA %s",
                 (long long)rows, (double)bytes / 1048576.0, el, (double)rows / el, done, ranges,
                 eta);
        return;
    }
    if (fl->tty_lines)
        fprintf(stderr, "\033[%zuF", fl->tty_lines);
    for (size_t i = 0; i < fl->ntables; i++) {
        const struct fl_table *t = &fl->tables[i];
        double tel =
            t->start_ns
                ? (double)((t->end_ns && t->ndone + t->ndone_before == t->nranges ? t->end_ns
                                                                                  : now) -
                           t->start_ns) /
                      1e9
                : 0;
        char teta[32];

        fmt_eta(t->live_rows > 0 && tel > 0
                    ? (double)(t->est_rows - t->live_rows - t->rows_before) /
                          ((double)t->live_rows / tel)
                    : -1,
                teta, sizeof(teta));
        fprintf(
            stderr, "\033[K%-32.32s %3d/%-3d ranges %12lld rows %9.1f MB %10.0f rows/s ETA %s\n",
            t->name, t->ndone + t->ndone_before, t->nranges, (long long)t->live_rows,
            (double)t->live_bytes / 1048576.0, tel > 0 ? (double)t->live_rows / tel : 0.0, teta);
    }
    fprintf(stderr, "\033[K%-32s %3d/%-3d ranges %12lld rows %9.1f MB %10.0f rows/s ETA %s\n",
            "total", done, ranges, (long long)rows, (double)bytes / 1048576.0, (double)rows / el,
            eta);
    fl->tty_lines = fl->ntables + 1;
}

static void summary(struct fl *fl)
{
    int64_t rows = 0, bytes = 0;
    double el = (double)(now_ns() - fl->start_ns) / 1e9;

    printf("%-32s %12s %10s %9s %12s %9s\n", "table", "rows", "MB", "seconds", "rows/s", "MB/s");
    for (size_t i = 0; i < fl->ntables; i++) {
        const struct fl_table *t = &fl->tables[i];
        double s = t->start_ns && t->end_ns ? (double)(t->end_ns - t->start_ns) / 1e9 : 0;
        double mb = (double)t->bytes / 1048576.0;

        if (!t->in_plan)
            continue;
        rows += t->rows;
        bytes += t->bytes;
        printf("%-32.32s %12lld %10.1f %9.2f %12.0f %9.1f%s\n", t->name, (long long)t->rows, mb, s,
               s > 0 ? (double)t->rows / s : 0.0, s > 0 ? mb / s : 0.0,
               t->stopped ? "  (stopped)" : "");
    }
    printf("%-32s %12lld %10.1f %9.2f %12.0f %9.1f\n", "total", (long long)rows,
           (double)bytes / 1048576.0, el, el > 0 ? (double)rows / el : 0.0,
           el > 0 ? (double)bytes / 1048576.0 / el : 0.0);
    fflush(stdout);
}

/* Stops everything in the order reader.h documents. */
static void stop_pipeline(struct fl *fl)
{
    __atomic_store_n(&fl->stop, true, __ATOMIC_RELEASE);
    if (fl->writer)
        p2d_writer_abort(fl->writer);
    for (size_t i = 0; i < fl->ntables; i++)
        if (fl->tables[i].ring && !fl->tables[i].ring_closed) {
            p2d_ring_close(fl->tables[i].ring);
            fl->tables[i].ring_closed = true;
        }
    if (fl->pool)
        p2d_batch_pool_shutdown(fl->pool);
    if (fl->readers)
        p2d_readers_stop(fl->readers);
}

/* The load itself: returns an exit code. */
static int run_load(struct fl *fl, const char *snapshot)
{
    const struct p2d_job *job = fl->job;
    int nreaders = job->readers > 0 ? job->readers : 1;
    /* --memory holds the readers' COPY buffers too (snapshot/copy_wire) */
    int64_t wire = (int64_t)nreaders * P2D_COPY_WIRE_BUF;
    int64_t nbatches = (job->memory > wire ? job->memory - wire : 0) / BATCH_BYTES;
    struct p2d_writer_config wcfg = {0};
    struct p2d_reader_config rcfg = {0};
    size_t ranges_left = 0;
    int code = P2D_EXIT_OK, rc;

    for (size_t i = 0; i < fl->nranges; i++)
        if (fl->ranges[i].status != P2D_RANGE_DONE)
            ranges_left++;
    if (ranges_left == 0)
        return P2D_EXIT_OK;
    if (nbatches < (int64_t)MIN_BATCHES * nreaders)
        nbatches = (int64_t)MIN_BATCHES * nreaders;
    if (nbatches > 65536)
        nbatches = 65536;
    fl->pool = p2d_batch_pool_create((unsigned)nbatches, BATCH_BYTES);
    if (!fl->pool)
        return P2D_EXIT_INTERNAL;
    wcfg.dest = job->dest;
    wcfg.pool = fl->pool;
    wcfg.max_loads = job->writers > nreaders ? job->writers : nreaders;
    wcfg.finished = on_finished;
    wcfg.arg = fl;
    fl->writer = p2d_writer_create(&wcfg);
    if (!fl->writer)
        return P2D_EXIT_INTERNAL;
    for (size_t i = 0; i < fl->ntables; i++) {
        struct fl_table *t = &fl->tables[i];

        if (!t->in_plan || t->ndone_before == t->nranges)
            continue;
        t->ring = p2d_ring_create((unsigned)nbatches);
        if (!t->ring || p2d_writer_add_ring(fl->writer, t->ring) != 0)
            return P2D_EXIT_INTERNAL;
    }
    for (size_t i = 0; i < fl->nranges; i++)
        fl->ranges[i].task.ring = fl->ranges[i].t->ring;
    fl->qps = p2d_throttle_create("source qps", job->source_qps);
    fl->rows_tb = p2d_throttle_create("rows/s", job->rows_per_sec);
    fl->bytes_tb = p2d_throttle_create("MB/s", job->mb_per_sec * 1048576);
    if (!fl->qps || !fl->rows_tb || !fl->bytes_tb)
        return P2D_EXIT_INTERNAL;
    if (pthread_create(&fl->writer_thread, NULL, writer_main, fl) != 0)
        return P2D_EXIT_INTERNAL;
    fl->writer_started = true;
    rcfg.conninfo = job->source;
    rcfg.snapshot = snapshot;
    rcfg.nreaders = nreaders;
    rcfg.pool = fl->pool;
    rcfg.format = job->format == P2D_FORMAT_JSON ? P2D_ENCODE_JSON : P2D_ENCODE_CSV;
    rcfg.qps = fl->qps;
    rcfg.rows = fl->rows_tb;
    rcfg.bytes = fl->bytes_tb;
    rcfg.stop = &fl->stop;
    if (p2d_readers_start(&rcfg, &fl->readers) != 0) {
        stop_pipeline(fl);
        pthread_join(fl->writer_thread, NULL);
        fl->writer_started = false;
        return P2D_EXIT_INTERNAL;
    }
    P2D_INFO(MOD, "loading %zu range%s with %d readers, %d concurrent loads, %lld x %d KiB buffers",
             ranges_left, ranges_left == 1 ? "" : "s", nreaders, wcfg.max_loads,
             (long long)nbatches, BATCH_BYTES / 1024);
    fl->start_ns = fl->last_progress_ns = now_ns();
    for (size_t i = 0; i < fl->nranges; i++) {
        struct fl_range *r = &fl->ranges[i];

        if (r->status == P2D_RANGE_DONE)
            continue;
        if (start_range(fl, r) != 0) {
            fl->fatal = true;
            break;
        }
    }

    for (;;) {
        struct fl_range *ev;
        int64_t now, wake;
        struct timespec ts;

        if (settle_tables(fl) || fl->fatal || got_signal)
            break;
        now = now_ns();
        wake = now + TICK_MS * 1000000LL;
        for (size_t i = 0; i < fl->nranges; i++)
            if (fl->ranges[i].st == R_BACKOFF && fl->ranges[i].due_ns < wake)
                wake = fl->ranges[i].due_ns;
        pthread_mutex_lock(&fl->mu);
        if (!fl->events && wake > now) {
            ts.tv_sec = (time_t)(wake / 1000000000LL);
            ts.tv_nsec = (long)(wake % 1000000000LL);
            pthread_cond_timedwait(&fl->cv, &fl->mu, &ts);
        }
        ev = fl->events;
        fl->events = NULL;
        fl->events_tail = &fl->events;
        pthread_mutex_unlock(&fl->mu);
        while (ev) {
            struct fl_range *next = ev->next_event;

            handle_outcome(fl, ev);
            ev = next;
        }
        now = now_ns();
        for (size_t i = 0; i < fl->nranges && !fl->fatal; i++) {
            struct fl_range *r = &fl->ranges[i];

            if (r->st != R_BACKOFF || r->due_ns > now)
                continue;
            r->t->waiting--;
            r->st = R_IDLE;
            p2d_read_task_reset(&r->task);
            if (start_range(fl, r) != 0)
                fl->fatal = true;
        }
        progress(fl, false);
        if (__atomic_load_n(&fl->writer_done, __ATOMIC_ACQUIRE)) {
            /* rings still open: it can only have ended on a failure */
            P2D_ERROR(MOD, "the writer stopped: %s", p2d_strerror(fl->writer_rc));
            fl->fatal = true;
        }
    }

    if (got_signal || fl->fatal) {
        if (got_signal)
            P2D_WARN(MOD, "stopping on signal %d; ranges not done stay unfinished in the state",
                     (int)got_signal);
        stop_pipeline(fl);
        code = got_signal ? P2D_EXIT_INTERRUPT : P2D_EXIT_DEST;
    } else {
        p2d_readers_close(fl->readers);
    }
    (void)p2d_readers_join(fl->readers);
    fl->readers = NULL;
    pthread_join(fl->writer_thread, NULL);
    fl->writer_started = false;
    rc = fl->writer_rc;
    if (rc != 0 && code == P2D_EXIT_OK) {
        P2D_ERROR(MOD, "the writer failed: %s", p2d_strerror(rc));
        code = P2D_EXIT_DEST;
    }
    /* outcomes that arrived while stopping: nothing more to record */
    pthread_mutex_lock(&fl->mu);
    fl->events = NULL;
    fl->events_tail = &fl->events;
    pthread_mutex_unlock(&fl->mu);
    if (fl->tty && !got_signal)
        progress(fl, true);
    if (code == P2D_EXIT_OK && fl->bad_data)
        code = P2D_EXIT_DEST;
    return code;
}

static void free_pipeline(struct fl *fl)
{
    p2d_writer_destroy(fl->writer);
    fl->writer = NULL;
    if (fl->pool &&
        p2d_batch_pool_free_count(fl->pool) * (size_t)BATCH_BYTES == p2d_batch_pool_bytes(fl->pool))
        p2d_batch_pool_destroy(fl->pool);
    else if (fl->pool)
        P2D_WARN(MOD, "buffers still out at exit; not freed");
    fl->pool = NULL;
    p2d_throttle_destroy(fl->qps);
    p2d_throttle_destroy(fl->rows_tb);
    p2d_throttle_destroy(fl->bytes_tb);
    fl->qps = fl->rows_tb = fl->bytes_tb = NULL;
}

/* ---- the run ------------------------------------------------------------------- */

/* The checks of job/precheck.h, before anything exists at either side:
 * quiet when all pass, the WARN / FAIL items on stderr otherwise, one line
 * when a side is unreachable. Conflicting destination tables are left to
 * the schema step, which knows the tables an earlier run of this job made. */
static int run_precheck(const struct p2d_job *job)
{
    struct p2d_precheck_report rep = {0};
    struct p2d_precheck_opts opts = {.check_conflicts = false};
    int code = p2d_precheck_run(job, &opts, &rep);

    if (code == P2D_EXIT_OK || code == P2D_EXIT_PRECHECK)
        p2d_precheck_print(&rep, stderr, stderr, true);
    else
        P2D_ERROR(MOD, "%s", rep.fatal);
    if (code == P2D_EXIT_PRECHECK)
        P2D_ERROR(MOD, "precheck failed: nothing was created; hint: fix the FAIL items above "
                       "(pg2doris precheck lists every item)");
    p2d_precheck_report_fini(&rep);
    return code;
}

static int check_dest(struct fl *fl)
{
    enum p2d_doris_fail fail = P2D_DORIS_OK;
    char err[1024];

    fl->sql = p2d_doris_sql_create(&fl->job->dest, 60000);
    if (!fl->sql)
        return P2D_EXIT_INTERNAL;
    if (p2d_doris_sql_exec(fl->sql, "information_schema", "SHOW DATABASES", NULL, &fail, err,
                           sizeof(err)) != 0) {
        const char *hint = "";

        if (!strstr(err, "hint:") && fail == P2D_DORIS_AUTH)
            hint = "; hint: check the user and password in --dest or PG2DORIS_DEST_PASSWORD";
        else if (!strstr(err, "hint:") && fail == P2D_DORIS_TRANSPORT)
            hint = "; hint: check the FE host and HTTP port in --dest";
        P2D_ERROR(MOD, "cannot use the destination: %s%s", err, hint);
        return P2D_EXIT_DEST;
    }
    return P2D_EXIT_OK;
}

/* Logs, per table, the ids of the ranges a resumed run reads again, as
 * runs ("3-7, 9"). */
static void log_rereads(struct fl *fl)
{
    for (size_t k = 0; k < fl->ntables; k++) {
        const struct fl_table *t = &fl->tables[k];
        char list[1024];
        size_t n = 0;
        int64_t lo = -1, prev = -2;

        list[0] = '\0';
        for (size_t i = 0; i <= fl->nranges; i++) {
            const struct fl_range *r = i < fl->nranges ? &fl->ranges[i] : NULL;
            bool take = r && r->t == t && r->status != P2D_RANGE_DONE;

            if (take && r->range_id == prev + 1) {
                prev = r->range_id;
                continue;
            }
            if (lo >= 0 && n < sizeof(list))
                n += (size_t)snprintf(list + n, sizeof(list) - n,
                                      lo == prev ? "%s%lld" : "%s%lld-%lld", n ? ", " : "",
                                      (long long)lo, (long long)prev);
            lo = take ? r->range_id : -1;
            prev = take ? r->range_id : -2;
        }
        if (list[0])
            P2D_INFO(MOD, "re-reading \"%s\" ranges %s", t->name, list);
    }
}

/* Sets range i PLANNED under a new label (a label per read: attempts
 * counts the reads so far), keeping the table's counters as load_plan set
 * them up. */
static int reopen_range(struct fl *fl, size_t i)
{
    struct fl_range *r = &fl->ranges[i];
    const struct p2d_state_range *sr = &fl->plan.ranges[i];

    p2d_streamload_label(fl->job_id, r->t->ddl->table, r->range_id, sr->attempts + 1, r->load.label,
                         sizeof(r->load.label));
    if (p2d_state_range_reopen(fl->st, r->t->table_id, r->range_id, r->load.label) != 0) {
        P2D_ERROR(MOD, "%s", p2d_state_errmsg(fl->st));
        return P2D_EXIT_STATE;
    }
    if (r->status == P2D_RANGE_DONE && r->kind == P2D_RANGE_CHANGES) {
        r->t->nranges++; /* not counted while DONE (load_plan) */
    } else if (r->status == P2D_RANGE_DONE) {
        r->t->ndone_before--;
        r->t->rows_before -= sr->rows;
    }
    r->status = P2D_RANGE_PLANNED;
    return P2D_EXIT_OK;
}

/*
 * A resumed run reads the unfinished ranges under a new snapshot (conn,
 * the holder, is in it and holds the tables' locks). For a table split by
 * ctid that is not enough:
 *   - a row updated in the gap may have moved from an unfinished block
 *     range into a done one, where neither snapshot's read finds it: the
 *     table's CHANGES range (rows inserted or updated since the first cut)
 *     is read again with them, under a new label;
 *   - after a rewrite (VACUUM FULL, CLUSTER, ALTER TABLE ... TYPE) the
 *     blocks hold other rows with their old xmin, and after 2^30 xids the
 *     CHANGES range's age() test is near wrapping: every range of the
 *     table is read again.
 * The rows read again upsert over what the done ranges loaded.
 */
static int reopen_for_resume(struct fl *fl, PGconn *conn)
{
    for (size_t k = 0; k < fl->plan.ntables; k++) {
        const struct p2d_state_table *stt = &fl->plan.tables[k];
        const char *colon = strrchr(stt->guard, ':');
        char layout[64], age[32], sql[96];
        struct fl_table *t = NULL;
        bool unfinished = false, whole;
        struct p2d_pg_error e;
        int code;

        for (size_t i = 0; i < fl->nranges; i++)
            if (fl->ranges[i].t->table_id == stt->table_id) {
                t = fl->ranges[i].t;
                unfinished = unfinished || (fl->ranges[i].kind == P2D_RANGE_ROWS &&
                                            fl->ranges[i].status != P2D_RANGE_DONE);
            }
        if (!t || !unfinished || !colon)
            continue;
        snprintf(sql, sizeof(sql), "SELECT age('%s'::xid)", colon + 1);
        if (table_layout(conn, t, layout, sizeof(layout)) != 0)
            return P2D_EXIT_SOURCE;
        if (p2d_pg_query_value(conn, sql, "cannot read the cut's age", age, sizeof(age), NULL,
                               &e) != 0) {
            log_pg_error("cannot check the table's layout", &e);
            return p2d_pg_error_exit_code(&e);
        }
        whole = strncmp(stt->guard, layout, (size_t)(colon - stt->guard)) != 0 ||
                strlen(layout) != (size_t)(colon - stt->guard);
        if (whole)
            P2D_WARN(MOD,
                     "\"%s\" was rewritten since the first snapshot (VACUUM FULL, CLUSTER or "
                     "ALTER TABLE): its block ranges hold other rows now, so all of it is read "
                     "again",
                     t->name);
        else if (strtoll(age, NULL, 10) < 0 || strtoll(age, NULL, 10) > (1LL << 30)) {
            whole = true;
            P2D_WARN(MOD,
                     "%s transactions ran since the first snapshot of \"%s\": too many to find "
                     "its changed rows by xmin, so all of it is read again",
                     age, t->name);
        }
        for (size_t i = 0; i < fl->nranges; i++) {
            struct fl_range *r = &fl->ranges[i];

            if (r->t != t || (!whole && r->kind != P2D_RANGE_CHANGES))
                continue;
            if ((code = reopen_range(fl, i)) != P2D_EXIT_OK)
                return code;
            if (r->kind == P2D_RANGE_CHANGES)
                P2D_INFO(MOD,
                         "re-reading rows of \"%s\" changed since the first snapshot (range %lld)",
                         t->name, (long long)r->range_id);
        }
    }
    return P2D_EXIT_OK;
}

/* Everything after the catalog, with the state open. */
static int run_full(struct fl *fl)
{
    const struct p2d_job *job = fl->job;
    struct p2d_slot_opts so = {0};
    struct p2d_slot_table *st = NULL;
    struct p2d_pg_error e;
    const struct p2d_slot_cut *cut;
    struct p2d_state_job sj;
    bool saved = false;
    int64_t counts[3] = {0};
    int code;

    if (p2d_state_plan_exists(fl->st, &saved) != 0 || p2d_state_job_get(fl->st, &sj) != 0) {
        P2D_ERROR(MOD, "%s", p2d_state_errmsg(fl->st));
        return P2D_EXIT_STATE;
    }
    if (saved) {
        size_t unsynced = 0;

        code = load_plan(fl);
        if (code != P2D_EXIT_OK)
            return code;
        if (p2d_state_range_counts(fl->st, counts) != 0) {
            P2D_ERROR(MOD, "%s", p2d_state_errmsg(fl->st));
            return P2D_EXIT_STATE;
        }
        for (size_t i = 0; i < fl->ntables; i++)
            if (fl->tables[i].in_plan && !fl->tables[i].schema_synced)
                unsynced++;
        if (counts[P2D_RANGE_PLANNED] + counts[P2D_RANGE_RUNNING] == 0 &&
            (unsynced == 0 || !(job->modes & P2D_MODE_SCHEMA))) {
            P2D_INFO(MOD, "nothing to do: all %lld ranges of the saved plan are done",
                     (long long)counts[P2D_RANGE_DONE]);
            if (job->modes & P2D_MODE_INCREMENTAL)
                return P2D_EXIT_OK; /* the stream goes on from the stored position */
            (void)drop_slot(fl);
            if (p2d_state_set_phase(fl->st, P2D_PHASE_DONE) != 0)
                P2D_WARN(MOD, "%s", p2d_state_errmsg(fl->st));
            return P2D_EXIT_OK;
        }
        P2D_INFO(MOD,
                 "resuming: %lld of %lld ranges are done and kept; %lld unfinished ranges are "
                 "read again under a new snapshot",
                 (long long)counts[P2D_RANGE_DONE], (long long)(counts[0] + counts[1] + counts[2]),
                 (long long)(counts[P2D_RANGE_PLANNED] + counts[P2D_RANGE_RUNNING]));
        log_rereads(fl);
    }
    /* A slot left by a killed run holds a snapshot nobody can import any
     * more. Without incremental: drop it and make a new cut. With it, the
     * slot's consistent point is where the stream of the rows already
     * loaded starts, so it stays; the unfinished ranges are read under a
     * fresh snapshot and the stream replays newer changes over them. */
    bool reuse =
        saved && (job->modes & P2D_MODE_INCREMENTAL) && sj.slot_name[0] && sj.consistent_lsn != 0;
    if (!reuse && drop_slot(fl) != 0)
        return P2D_EXIT_SOURCE;
    st = calloc(fl->ntables, sizeof(*st));
    if (!st)
        return P2D_EXIT_INTERNAL;
    for (size_t i = 0; i < fl->ntables; i++) {
        st[i].schema = fl->tables[i].cat->schema;
        st[i].name = fl->tables[i].cat->name;
    }
    so.conninfo = job->source;
    so.job_id = fl->job_id;
    so.tables = st;
    so.ntables = fl->ntables;
    so.reuse_slot = reuse;
    so.reuse_lsn = sj.consistent_lsn;
    if (reuse)
        P2D_INFO(MOD, "keeping slot \"%s\": the stream resumes from its consistent point",
                 sj.slot_name);
    if (p2d_slot_create(&so, &fl->slot, &e) != 0) {
        free(st);
        log_pg_error("cannot create the replication slot and snapshot", &e);
        return p2d_pg_error_exit_code(&e);
    }
    free(st);
    /* without incremental nothing streams from it */
    fl->drop_slot_at_end = !(job->modes & P2D_MODE_INCREMENTAL);
    cut = p2d_slot_cut(fl->slot);
    {
        char lsn[32];

        P2D_INFO(MOD, "slot \"%s\" created at %s, snapshot %s", cut->slot_name,
                 p2d_pg_lsn_format(cut->consistent_point, lsn, sizeof(lsn)), cut->snapshot);
    }
    if (p2d_state_set_source_system_id(fl->st, cut->systemid) != 0 ||
        (sj.slot_name[0] == '\0' && p2d_state_set_slot(fl->st, cut->slot_name, cut->publication,
                                                       cut->consistent_point) != 0) ||
        p2d_state_set_snapshot(fl->st, cut->snapshot) != 0 ||
        (sj.phase < P2D_PHASE_SCHEMA && p2d_state_set_phase(fl->st, P2D_PHASE_SCHEMA) != 0)) {
        P2D_ERROR(MOD, "%s", p2d_state_errmsg(fl->st));
        return P2D_EXIT_STATE;
    }
    if (!saved) {
        int rc = plan_and_save(fl);

        if (rc != 0)
            return rc == P2D_ESOURCE  ? P2D_EXIT_SOURCE
                   : rc == P2D_ENOMEM ? P2D_EXIT_INTERNAL
                                      : P2D_EXIT_STATE;
        code = load_plan(fl);
        if (code != P2D_EXIT_OK)
            return code;
    }
    if (saved) {
        code = reopen_for_resume(fl, p2d_slot_holder(fl->slot));
        if (code != P2D_EXIT_OK)
            return code;
    }
    if (job->modes & P2D_MODE_SCHEMA) {
        code = schema_step(fl, true);
        if (code != P2D_EXIT_OK)
            return code;
    }
    if (sj.phase < P2D_PHASE_FULL && p2d_state_set_phase(fl->st, P2D_PHASE_FULL) != 0) {
        P2D_ERROR(MOD, "%s", p2d_state_errmsg(fl->st));
        return P2D_EXIT_STATE;
    }
    if (job->modes & P2D_MODE_FULL)
        code = run_load(fl, cut->snapshot);
    free_pipeline(fl);
    finish_cut(fl);
    if (code == P2D_EXIT_OK) {
        enum p2d_state_phase next =
            (job->modes & P2D_MODE_INCREMENTAL) ? P2D_PHASE_INCREMENTAL : P2D_PHASE_DONE;

        if (p2d_state_set_phase(fl->st, next) != 0)
            P2D_WARN(MOD, "%s", p2d_state_errmsg(fl->st));
    }
    if (job->modes & P2D_MODE_FULL)
        summary(fl);
    return code;
}

/* The full load (unless the state says it is done), then the stream. */
static int run_stream_job(struct fl *fl)
{
    const struct p2d_job *job = fl->job;
    struct p2d_state_job sj;
    struct p2d_inc_opts io = {0};
    char slot[P2D_SLOT_NAME_MAX];
    int code;

    if (p2d_state_job_get(fl->st, &sj) != 0) {
        P2D_ERROR(MOD, "%s", p2d_state_errmsg(fl->st));
        return P2D_EXIT_STATE;
    }
    if (sj.phase < P2D_PHASE_INCREMENTAL || !(job->modes & P2D_MODE_INCREMENTAL)) {
        code = run_full(fl);
        if (code != P2D_EXIT_OK || !(job->modes & P2D_MODE_INCREMENTAL))
            return code;
        if (got_signal)
            return P2D_EXIT_INTERRUPT;
        if (p2d_state_job_get(fl->st, &sj) != 0) {
            P2D_ERROR(MOD, "%s", p2d_state_errmsg(fl->st));
            return P2D_EXIT_STATE;
        }
    } else {
        P2D_INFO(MOD, "the full load of this job is done; resuming the stream");
    }
    if (p2d_slot_name(fl->job_id, slot, sizeof(slot)) != 0)
        return P2D_EXIT_INTERNAL;
    io.job = job;
    io.job_id = fl->job_id;
    io.src = fl->src;
    io.sql = fl->sql;
    io.st = fl->st;
    io.cat = fl->cat;
    io.slot = sj.slot_name[0] ? sj.slot_name : slot;
    io.publication = sj.publication_name[0] ? sj.publication_name : slot;
    io.consistent_lsn = sj.consistent_lsn;
    io.stop = &got_signal;
    io.signals = &signal_count;
    return p2d_incremental_run(&io);
}

int p2d_fullload_run(const struct p2d_job *job)
{
    struct fl fl = {.job = job};
    struct p2d_pg_error e;
    struct sigaction sa = {0}, old_int, old_term;
    pthread_condattr_t ca;
    char *canonical = NULL;
    char err[4096];
    bool created = false;
    int code = P2D_EXIT_INTERNAL;

    p2d_log_setup((enum p2d_log_level)job->log_level, (enum p2d_log_format)job->log_format, -1);
    pthread_mutex_init(&fl.mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&fl.cv, &ca);
    pthread_condattr_destroy(&ca);
    fl.events_tail = &fl.events;
    fl.tty = isatty(STDERR_FILENO) == 1;
    got_signal = 0;
    signal_count = 0;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    if (p2d_job_fingerprint(job, fl.job_id) != 0 || !(canonical = p2d_job_canonical(job)))
        goto out;
    if ((code = run_precheck(job)) != P2D_EXIT_OK)
        goto out;
    code = P2D_EXIT_INTERNAL;
    if (p2d_pg_connect(job->source, P2D_PG_SQL, NULL, &fl.src, &e) != 0) {
        log_pg_error("cannot connect to the source", &e);
        code = p2d_pg_error_exit_code(&e);
        goto out;
    }
    if ((code = check_dest(&fl)) != P2D_EXIT_OK)
        goto out;
    if (job->modes & (P2D_MODE_FULL | P2D_MODE_INCREMENTAL)) {
        int rc = p2d_state_open(job->state_dir, fl.job_id, canonical, &fl.st, &created, err,
                                sizeof(err));

        if (rc != 0) {
            log_lines(P2D_LOG_ERROR, err);
            code = P2D_EXIT_STATE;
            goto out;
        }
        P2D_INFO(MOD, "job %s, state in \"%s\"%s", fl.job_id, job->state_dir,
                 created ? " (new)" : "");
    }
    if (p2d_catalog_read(fl.src, job, 0, &fl.cat, &e) != 0) {
        log_pg_error("cannot read the source catalog", &e);
        code = P2D_EXIT_SOURCE;
        goto out;
    }
    if (fl.cat->ntables == 0) {
        P2D_ERROR(MOD, "no table of the source matches the selection; hint: check --include, "
                       "--exclude and the job file");
        code = P2D_EXIT_PRECHECK;
        goto out;
    }
    fl.tables = calloc(fl.cat->ntables, sizeof(*fl.tables));
    if (!fl.tables)
        goto out;
    fl.ntables = fl.cat->ntables;
    for (size_t i = 0; i < fl.ntables; i++) {
        int rc = build_table(&fl, &fl.tables[i], &fl.cat->tables[i]);

        if (rc != 0) {
            code = rc == P2D_EINVAL ? P2D_EXIT_PRECHECK : P2D_EXIT_INTERNAL;
            goto out;
        }
    }
    if (!(job->modes & (P2D_MODE_FULL | P2D_MODE_INCREMENTAL))) {
        code = schema_step(&fl, false);
        goto out;
    }
    code = run_stream_job(&fl);
out:
    if (fl.writer_started) { /* an early exit with threads running */
        stop_pipeline(&fl);
        (void)p2d_readers_join(fl.readers);
        pthread_join(fl.writer_thread, NULL);
    }
    if (fl.slot || fl.drop_slot_at_end) {
        if (fl.pool || fl.writer)
            free_pipeline(&fl);
        finish_cut(&fl);
    }
    free(fl.ranges);
    p2d_state_plan_free(&fl.plan);
    free_tables(&fl);
    p2d_catalog_destroy(fl.cat);
    p2d_doris_sql_destroy(fl.sql);
    if (fl.src)
        PQfinish(fl.src);
    p2d_state_close(fl.st);
    free(canonical);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    pthread_cond_destroy(&fl.cv);
    pthread_mutex_destroy(&fl.mu);
    if (code == P2D_EXIT_OK)
        P2D_INFO(MOD, "sync finished");
    return code;
}
