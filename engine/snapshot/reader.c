/*
 * reader.c - reader threads: one range at a time, COPY text rows decoded,
 * encoded straight into pool batches and pushed to the table's ring (see
 * reader.h for the design, cancel and stop rules).
 *
 * Per range:   take task -> [connect + BEGIN + import S2] -> QPS token ->
 *              COPY ... TO STDOUT -> rows into batches (rows/bytes tokens
 *              per batch, push) -> "COPY n" checked -> end batch.
 * COPY rows:   on a plain socket read by copy_wire (rows in place in its
 *              buffer, large reads, see copy_wire.h), over TLS or GSS
 *              encryption by PQgetCopyData (a malloc'd copy per row).
 * Per row:     CSV rows that need no change are copied into the batch as
 *              they are (p2d_encode_copy_row: no split; on copy_wire the
 *              rows already received behind a row go in one pass,
 *              p2d_encode_copy_rows); the others are split
 *              (p2d_copy_decode) and encoded (p2d_encode_row).
 * Any failure or cancel closes the connection; the next range reconnects.
 */
#include "snapshot/reader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "p2d_error.h"
#include "sink/writer.h"
#include "snapshot/copy_wire.h"

#define ISSUES_MAX    16
#define ISSUE_VAL_MAX 256

struct reader {
    struct p2d_readers *r;
    int id;
    pthread_t thread;
    PGconn *conn; /* owned by this thread; NULL until the first range or after a failure */
    struct p2d_copy_wire *wire; /* reads COPY on plain sockets; NULL until first needed */
    struct p2d_field *fields;
    int fields_cap;
    struct p2d_value_issue issues[ISSUES_MAX];
};

struct p2d_readers {
    struct p2d_reader_config cfg;
    char *conninfo;
    char *snapshot;
    char *app_name;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct p2d_read_task *head, *tail; /* guarded by mu */
    bool closed;                       /* guarded by mu */
    bool stopping;                     /* guarded by mu */
    long long taken;                   /* guarded by mu */
    struct reader *readers;
    int nstarted;
};

static bool flag_set(const bool *flag)
{
    /* relaxed: the flags only ask to stop early; no data travels with them */
    return flag && __atomic_load_n(flag, __ATOMIC_RELAXED);
}

static bool cancelled(const struct reader *rd, const struct p2d_read_task *task)
{
    return flag_set(rd->r->cfg.stop) || flag_set(&task->load->cancel);
}

static void close_session(struct reader *rd)
{
    if (rd->conn) {
        PQfinish(rd->conn);
        rd->conn = NULL;
    }
}

/* Connects and opens the reader's transaction inside the snapshot. */
static int open_session(struct reader *rd, struct p2d_pg_error *err)
{
    struct p2d_readers *r = rd->r;
    struct p2d_buf sql;
    PGconn *conn = NULL;
    int rc;

    rc = p2d_pg_connect(r->conninfo, P2D_PG_SQL, r->app_name, &conn, err);
    if (rc != 0)
        return rc;
    rc = p2d_pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                     "cannot start the reader's transaction", NULL, err);
    if (rc == 0 && r->snapshot) {
        p2d_buf_init(&sql, 0);
        rc = p2d_pg_appendf(&sql, "SET TRANSACTION SNAPSHOT ");
        if (rc == 0)
            rc = p2d_pg_append_literal(conn, &sql, r->snapshot);
        if (rc == 0)
            rc = p2d_pg_exec(conn, (const char *)sql.data, "cannot import the snapshot", NULL, err);
        else
            p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "cannot build the snapshot import: %s",
                             p2d_strerror(rc));
        if (rc != 0 && err->sqlstate[0] && strcmp(err->sqlstate, "22023") == 0)
            snprintf(err->hint, sizeof(err->hint),
                     "the snapshot holder's transaction ended; start the sync again");
        p2d_buf_fini(&sql);
    }
    if (rc != 0) {
        PQfinish(conn);
        return rc;
    }
    rd->conn = conn;
    return 0;
}

/* Copies a COPY field's value, unescaped and cut to fit, into out. */
static uint32_t field_text(const struct p2d_field *f, char *out, size_t outlen)
{
    uint32_t n = f->len < outlen - 1 ? f->len : (uint32_t)(outlen - 1), got = 0;

    if (f->flags & P2D_FIELD_NULL) {
        snprintf(out, outlen, "NULL");
        return 4;
    }
    if (!(f->flags & P2D_FIELD_HAS_BACKSLASH)) {
        memcpy(out, f->p, n);
        out[n] = '\0';
        return n;
    }
    /* never cut an escape in half: drop an odd trailing backslash run */
    {
        uint32_t k = 0;

        while (k < n && f->p[n - 1 - k] == '\\')
            k++;
        if (k % 2 == 1)
            n--;
    }
    if (p2d_copy_unescape(f->p, n, out, &got) != 0)
        got = 0;
    out[got] = '\0';
    return got;
}

static void report_issues(struct reader *rd, struct p2d_read_task *task,
                          const struct p2d_field *fields, int nissues)
{
    const struct p2d_reader_config *cfg = &rd->r->cfg;
    char key[512], val[ISSUE_VAL_MAX + 1];
    size_t klen = 0;

    if (nissues > ISSUES_MAX)
        nissues = ISSUES_MAX;
    key[0] = '\0';
    for (int k = 0; k < task->nkeys && klen < sizeof(key) - 1; k++) {
        char part[160];
        int c = task->key_cols[k];

        if (c < 0 || c >= task->ncols)
            continue;
        field_text(&fields[c], part, sizeof(part));
        klen += (size_t)snprintf(key + klen, sizeof(key) - klen, "%s%s=%s", k ? ", " : "",
                                 task->cols[c].name, part);
        if (klen >= sizeof(key))
            klen = sizeof(key) - 1;
    }
    for (int i = 0; i < nissues; i++) {
        const struct p2d_value_issue *vi = &rd->issues[i];
        struct p2d_read_issue ri = {.table = task->table,
                                    .key = key,
                                    .column = task->cols[vi->column].name,
                                    .rule = vi->rule,
                                    .kind = vi->kind,
                                    .action = vi->action,
                                    .value = val};

        ri.value_len = field_text(&fields[vi->column], val, sizeof(val));
        task->result.issues++;
        if (cfg->issue)
            cfg->issue(task, &ri, cfg->arg);
        else
            P2D_WARN("reader", "table \"%s\" row %s column \"%s\": value \"%s\" (%s) %s",
                     task->table, key, ri.column, val, p2d_typemap_issue_name(ri.kind),
                     p2d_typemap_action_name(ri.action));
    }
}

/* Applies the per-batch throttles, then pushes b. On failure b is back in
 * the pool and the result is P2D_ECANCEL. */
static int push_batch(struct reader *rd, struct p2d_read_task *task, struct p2d_batch *b)
{
    const struct p2d_reader_config *cfg = &rd->r->cfg;
    int64_t rows = b->rows, bytes = (int64_t)b->len;

    /* Tokens are taken even for a cancelled load: the rows were read from
     * the source, and the throttles limit the source. Only stop ends the
     * sleep early. */
    if (p2d_throttle_acquire(cfg->rows, b->rows, cfg->stop) != 0 ||
        p2d_throttle_acquire(cfg->bytes, (int64_t)b->len, cfg->stop) != 0 ||
        p2d_ring_push_mpsc(task->ring, b, b->end ? cfg->stop : &task->load->cancel) != 0) {
        p2d_batch_put(cfg->pool, b);
        return P2D_ECANCEL;
    }
    __atomic_fetch_add(&task->live_rows, rows, __ATOMIC_RELAXED);
    __atomic_fetch_add(&task->live_bytes, bytes, __ATOMIC_RELAXED);
    return 0;
}

/* The batch's memory seen as a buffer that can never grow. */
static struct p2d_buf batch_buf(struct p2d_batch *b)
{
    return (struct p2d_buf){
        .data = (uint8_t *)b->data, .len = b->len, .cap = b->cap, .max = b->cap};
}

/* The current batch, or a new one from the pool (NULL: cancelled). */
static struct p2d_batch *current_batch(struct reader *rd, struct p2d_read_task *task,
                                       struct p2d_batch **curp)
{
    struct p2d_batch *b = *curp;

    if (!b) {
        b = p2d_batch_get(rd->r->cfg.pool, &task->load->cancel);
        if (!b)
            return NULL;
        b->load = task->load;
        *curp = b;
    }
    return b;
}

/* A row larger than a whole batch (a large text or JSON value): encodes
 * it into a buffer of its own and spreads its bytes over as many batches of
 * the load as it needs. The batches of a load form one body, so a row may
 * cross a batch boundary; the row is counted in the batch with its end. The
 * current batch (*curp) is empty on entry. */
static int put_big_row(struct reader *rd, struct p2d_read_task *task, struct p2d_encoder *enc,
                       struct p2d_batch **curp, int nfields, int *nissues)
{
    struct p2d_read_result *res = &task->result;
    struct p2d_buf big;
    size_t off = 0;
    int rc;

    p2d_buf_init(&big, 0);
    rc = p2d_encode_row(enc, rd->fields, nfields, NULL, 0, &big, rd->issues, ISSUES_MAX, nissues);
    while (rc == 0 && off < big.len) {
        struct p2d_batch *b = current_batch(rd, task, curp);
        size_t n;

        if (!b) {
            rc = P2D_ECANCEL;
            break;
        }
        n = b->cap - b->len < big.len - off ? b->cap - b->len : big.len - off;
        memcpy(b->data + b->len, big.data + off, n);
        b->len += n;
        off += n;
        if (off == big.len)
            break;
        *curp = NULL;
        rc = push_batch(rd, task, b);
    }
    if (rc == 0) {
        res->bytes += (long long)big.len;
        res->rows++;
        (*curp)->rows++;
        if (*nissues > 0)
            report_issues(rd, task, rd->fields, *nissues);
    }
    p2d_buf_fini(&big);
    return rc;
}

/* The common CSV row (p2d_encode_copy_row): copied from the COPY text into
 * the batch without decoding it. Returns 0 when written, 1 when the row
 * needs the general path (decode + encode), or an error. */
static int put_row_fast(struct reader *rd, struct p2d_read_task *task, struct p2d_encoder *enc,
                        struct p2d_batch **curp, const char *row, size_t n)
{
    struct p2d_read_result *res = &task->result;

    for (;;) {
        struct p2d_batch *b = current_batch(rd, task, curp);
        struct p2d_buf out;
        bool written;
        int rc;

        if (!b)
            return P2D_ECANCEL;
        out = batch_buf(b);
        rc = p2d_encode_copy_row(enc, row, n, NULL, 0, &out, &written);
        if (rc == 0 && !written)
            return 1;
        if (rc == 0) {
            res->bytes += (long long)(out.len - b->len);
            res->rows++;
            b->len = out.len;
            b->rows++;
            return 0;
        }
        if (rc != P2D_EFULL || b->len == 0)
            return 1; /* a row larger than a batch: the general path spreads it */
        *curp = NULL;
        if ((rc = push_batch(rd, task, b)) != 0)
            return rc;
    }
}

/* Decodes one CopyData row and encodes it into the current batch, pushing
 * the batch and taking a new one when the row does not fit: the general
 * path, for rows the COPY-to-CSV path does not take. */
static int put_row_general(struct reader *rd, struct p2d_read_task *task, struct p2d_encoder *enc,
                           struct p2d_batch **curp, const char *row, size_t n)
{
    struct p2d_read_result *res = &task->result;
    int nfields = 0, nissues = 0, rc;

    rc = p2d_copy_decode((const uint8_t *)row, n, rd->fields, rd->fields_cap, &nfields);
    if (rc != 0) {
        char why[256];

        p2d_copy_explain((const uint8_t *)row, n, rd->fields_cap, why, sizeof(why));
        p2d_pg_error_set(&res->err, P2D_PG_OTHER,
                         "this is a bug in pg2doris or the server; "
                         "report it with the table's definition",
                         "cannot decode COPY row %lld of table \"%s\": %s", res->rows + 1,
                         task->table, why);
        return P2D_EPROTO;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        struct p2d_batch *b = current_batch(rd, task, curp);
        struct p2d_buf out;

        if (!b)
            return P2D_ECANCEL;
        out = batch_buf(b);
        rc = p2d_encode_row(enc, rd->fields, nfields, NULL, 0, &out, rd->issues, ISSUES_MAX,
                            &nissues);
        if (rc == 0) {
            res->bytes += (long long)(out.len - b->len);
            res->rows++;
            b->len = out.len;
            b->rows++;
            if (nissues > 0)
                report_issues(rd, task, rd->fields, nissues);
            return 0;
        }
        if (rc == P2D_EFULL && b->len > 0) {
            *curp = NULL;
            rc = push_batch(rd, task, b);
            if (rc != 0)
                return rc;
            continue;
        }
        if (rc == P2D_EFULL)
            rc = put_big_row(rd, task, enc, curp, nfields, &nissues);
        if (rc == 0)
            return 0;
        break;
    }
    switch (rc) {
    case P2D_EFULL:
        p2d_pg_error_set(&res->err, P2D_PG_OTHER,
                         "raise the batch size (it must hold the largest row)",
                         "row %lld of table \"%s\" does not fit in one batch of %zu bytes",
                         res->rows + 1, task->table, (*curp)->cap);
        break;
    case P2D_EDATA:
        report_issues(rd, task, rd->fields, nissues);
        p2d_pg_error_set(&res->err, P2D_PG_OTHER,
                         "change the column's mapping in the job file, or fix the value",
                         "row %lld of table \"%s\" has a value Doris cannot hold", res->rows + 1,
                         task->table);
        break;
    case P2D_EPROTO:
        p2d_pg_error_set(&res->err, P2D_PG_OTHER,
                         "the table changed while it was read, or the column list is wrong",
                         "row %lld of table \"%s\" has %d fields, expected %d (or a bad escape)",
                         res->rows + 1, task->table, nfields, task->ncols);
        break;
    default:
        p2d_pg_error_set(&res->err, P2D_PG_OTHER, NULL, "cannot encode a row of table \"%s\": %s",
                         task->table, p2d_strerror(rc));
        break;
    }
    return rc;
}

/* One CopyData row: the COPY-to-CSV path, else the general one. */
static int put_row(struct reader *rd, struct p2d_read_task *task, struct p2d_encoder *enc,
                   struct p2d_batch **curp, const char *row, size_t n)
{
    int rc = put_row_fast(rd, task, enc, curp, row, n);

    return rc <= 0 ? rc : put_row_general(rd, task, enc, curp, row, n);
}

/* P2D_ECANCEL with the reason when the sync stops or the task's load was
 * cancelled (the caller closes the connection: that ends the COPY), else 0. */
static int check_cancel(struct reader *rd, struct p2d_read_task *task)
{
    if (!cancelled(rd, task))
        return 0;
    p2d_pg_error_set(&task->result.err, P2D_PG_OTHER, NULL,
                     flag_set(rd->r->cfg.stop) ? "stopped" : "load \"%s\" cancelled",
                     task->load->label);
    return P2D_ECANCEL;
}

/* One CopyData row: stops on a cancel, else put_row. */
static int take_row(struct reader *rd, struct p2d_read_task *task, struct p2d_encoder *enc,
                    struct p2d_batch **curp, const char *row, size_t n)
{
    int rc = check_cancel(rd, task);

    return rc != 0 ? rc : put_row(rd, task, enc, curp, row, n);
}

/*
 * The rows waiting behind the one take_row just had, in one pass
 * (p2d_encode_copy_rows: no call per row), batch by batch; a row the
 * COPY-to-CSV path refuses goes straight to the general path, and the run
 * goes on after it, until the end of what was received (copy_wire's next()
 * then receives or handles what follows).
 */
static int take_run(struct reader *rd, struct p2d_read_task *task, struct p2d_encoder *enc,
                    struct p2d_batch **curp)
{
    struct p2d_read_result *res = &task->result;

    for (;;) {
        const uint8_t *msgs;
        size_t len = p2d_copy_wire_following(rd->wire, &msgs), used, rows, n;
        enum p2d_copy_run_stop stop;
        struct p2d_batch *b;
        struct p2d_buf out;
        const char *row;
        int rc;

        if (len == 0)
            return 0;
        if ((rc = check_cancel(rd, task)) != 0)
            return rc;
        if (!(b = current_batch(rd, task, curp)))
            return P2D_ECANCEL;
        out = batch_buf(b);
        stop = p2d_encode_copy_rows(enc, msgs, len, &out, &used, &rows);
        res->bytes += (long long)(out.len - b->len);
        res->rows += (long long)rows;
        b->len = out.len;
        b->rows += (long long)rows;
        p2d_copy_wire_skip(rd->wire, used);
        if (stop == P2D_COPY_RUN_END)
            return 0; /* next() receives or handles what follows */
        if (stop == P2D_COPY_RUN_FULL && b->len > 0) {
            *curp = NULL;
            if ((rc = push_batch(rd, task, b)) != 0)
                return rc;
            continue;
        }
        /* A whole CopyData waits that the COPY-to-CSV path refused (or that
         * is larger than a batch): next() hands it out, and it goes to the
         * general path without being scanned a second time. */
        if ((rc = p2d_copy_wire_next(rd->wire, &row, &n, &res->err)) != 1)
            return rc < 0 ? rc : P2D_EPROTO;
        if ((rc = put_row_general(rd, task, enc, curp, row, n)) != 0)
            return rc;
    }
}

/* The COPY on a plain socket, parsed by copy_wire: rows straight from its
 * buffer, no libpq call per row, and runs of rows in one pass. */
static int copy_rows_wire(struct reader *rd, struct p2d_read_task *task, struct p2d_encoder *enc,
                          struct p2d_batch **curp)
{
    struct p2d_read_result *res = &task->result;
    const char *row, *why;
    size_t n;
    int rc;

    if (!rd->wire && !(rd->wire = p2d_copy_wire_create(0)))
        return P2D_ENOMEM;
    rc = p2d_copy_wire_start(rd->wire, rd->conn, task->copy_sql, &res->err);
    if (rc != 0)
        return rc;
    while ((rc = p2d_copy_wire_next(rd->wire, &row, &n, &res->err)) == 1) {
        rc = take_row(rd, task, enc, curp, row, n);
        if (rc == 0)
            rc = take_run(rd, task, enc, curp);
        if (rc != 0)
            return rc;
    }
    if (rc != 0)
        return rc;
    res->copy_rows = p2d_copy_wire_rows(rd->wire);
    if ((why = p2d_copy_wire_must_close(rd->wire)) != NULL) {
        P2D_DEBUG("reader", "reader %d closes its session: %s", rd->id, why);
        close_session(rd); /* the next range reconnects */
    }
    return 0;
}

/* The COPY through libpq, for TLS and GSS connections (whose bytes only
 * libpq can decrypt). */
static int copy_rows_libpq(struct reader *rd, struct p2d_read_task *task, struct p2d_encoder *enc,
                           struct p2d_batch **curp)
{
    struct p2d_read_result *res = &task->result;
    PGresult *pr;
    char *row = NULL;
    int n, rc;

    if (!PQsendQuery(rd->conn, task->copy_sql)) {
        p2d_pg_error_from(rd->conn, NULL, "cannot send the COPY", &res->err);
        return P2D_ESOURCE;
    }
    pr = PQgetResult(rd->conn);
    if (PQresultStatus(pr) != PGRES_COPY_OUT) {
        p2d_pg_error_from(rd->conn, pr, "COPY failed", &res->err);
        PQclear(pr);
        return P2D_ESOURCE;
    }
    PQclear(pr);
    while ((n = PQgetCopyData(rd->conn, &row, 0)) > 0) {
        rc = take_row(rd, task, enc, curp, row, (size_t)n);
        PQfreemem(row);
        if (rc != 0)
            return rc;
    }
    if (n == -2) {
        p2d_pg_error_from(rd->conn, NULL, "COPY failed", &res->err);
        return P2D_ESOURCE;
    }
    /* n == -1: the COPY ended; the server's verdict and row count follow */
    pr = PQgetResult(rd->conn);
    if (PQresultStatus(pr) != PGRES_COMMAND_OK) {
        p2d_pg_error_from(rd->conn, pr, "COPY failed", &res->err);
        PQclear(pr);
        return P2D_ESOURCE;
    }
    res->copy_rows = strtoll(PQcmdTuples(pr), NULL, 10);
    PQclear(pr);
    while ((pr = PQgetResult(rd->conn)) != NULL)
        PQclear(pr);
    return 0;
}

/* Runs the task's COPY and streams its rows; the current batch (if any) is
 * left in *curp for the end batch. */
static int copy_range(struct reader *rd, struct p2d_read_task *task, struct p2d_encoder *enc,
                      struct p2d_batch **curp)
{
    const struct p2d_reader_config *cfg = &rd->r->cfg;
    struct p2d_read_result *res = &task->result;
    int rc;

    if (!rd->conn) {
        rc = open_session(rd, &res->err);
        if (rc != 0)
            return rc;
    }
    if (p2d_throttle_acquire(cfg->qps, 1, cfg->stop) != 0)
        return P2D_ECANCEL;
    if (p2d_copy_wire_usable(rd->conn))
        rc = copy_rows_wire(rd, task, enc, curp);
    else
        rc = copy_rows_libpq(rd, task, enc, curp);
    if (rc != 0)
        return rc;
    if (res->copy_rows != res->rows) {
        p2d_pg_error_set(&res->err, P2D_PG_OTHER, "this is a bug in pg2doris; report it",
                         "COPY of table \"%s\" reported %lld rows but %lld were decoded",
                         task->table, res->copy_rows, res->rows);
        return P2D_EPROTO;
    }
    return 0;
}

static void read_range(struct reader *rd, struct p2d_read_task *task)
{
    const struct p2d_reader_config *cfg = &rd->r->cfg;
    struct p2d_read_result *res = &task->result;
    struct p2d_encoder *enc = NULL;
    struct p2d_batch *cur = NULL;
    int64_t start = p2d_monotonic_ns();
    int rc;

    if (rd->fields_cap < task->ncols + 1) {
        struct p2d_field *f = realloc(rd->fields, sizeof(*f) * (size_t)(task->ncols + 1));

        if (!f) {
            rc = P2D_ENOMEM;
            goto end;
        }
        rd->fields = f;
        rd->fields_cap = task->ncols + 1; /* one more than needed: too many fields show */
    }
    enc = p2d_encoder_create(cfg->format, task->cols, task->ncols, NULL, 0, false);
    if (!enc) {
        rc = P2D_ENOMEM;
        goto end;
    }
    if (cancelled(rd, task)) {
        rc = P2D_ECANCEL;
        goto end;
    }
    rc = copy_range(rd, task, enc, &cur);
    if (rc != 0)
        close_session(rd); /* a failed or cancelled COPY leaves no usable transaction */
end:
    if (rc == P2D_ENOMEM)
        p2d_pg_error_set(&res->err, P2D_PG_OTHER, NULL, "out of memory reading table \"%s\"",
                         task->table);
    if (rc == P2D_ECANCEL && !res->err.message[0])
        p2d_pg_error_set(&res->err, P2D_PG_OTHER, NULL, "load \"%s\" cancelled", task->load->label);
    res->rc = rc;
    res->seconds = (double)(p2d_monotonic_ns() - start) / 1e9;
    if (rc != 0 && rc != P2D_ECANCEL)
        P2D_WARN("reader", "range of table \"%s\" (load \"%s\") failed%s%s: %s%s%s", task->table,
                 task->load->label, res->err.sqlstate[0] ? ", SQLSTATE " : "", res->err.sqlstate,
                 res->err.message, res->err.hint[0] ? "; hint: " : "", res->err.hint);
    p2d_encoder_destroy(enc);
    /* The end batch: the current one, or a new one (sleeping while the pool
     * is empty: the writer frees batches as it sends or drops them). */
    if (!cur) {
        cur = p2d_batch_get(cfg->pool, cfg->stop);
        if (!cur)
            return; /* stop with the pool shut: the writer was aborted */
        cur->load = task->load;
    }
    cur->end = true;
    if (rc != 0) {
        cur->abort = true;
        cur->len = 0;
        cur->rows = 0;
    }
    /* The ring's release on push publishes task->result to the writer
     * thread, which reads it in finished() after popping this batch. */
    (void)push_batch(rd, task, cur);
}

static struct p2d_read_task *take_task(struct p2d_readers *r)
{
    struct p2d_read_task *t = NULL;

    pthread_mutex_lock(&r->mu);
    while (!r->head && !r->closed && !r->stopping && !flag_set(r->cfg.stop))
        pthread_cond_wait(&r->cv, &r->mu);
    if (r->head && !r->stopping && !flag_set(r->cfg.stop)) {
        t = r->head;
        r->head = t->next;
        if (!r->head)
            r->tail = NULL;
        t->next = NULL;
        r->taken++;
    }
    pthread_mutex_unlock(&r->mu);
    return t;
}

static void *reader_main(void *arg)
{
    struct reader *rd = arg;
    struct p2d_read_task *task;

    while ((task = take_task(rd->r)) != NULL) {
        task->result.reader = rd->id;
        read_range(rd, task);
    }
    if (rd->conn) {
        /* read only: COMMIT and ROLLBACK are the same; errors do not matter */
        PQclear(PQexec(rd->conn, "COMMIT"));
        close_session(rd);
    }
    p2d_copy_wire_destroy(rd->wire);
    rd->wire = NULL;
    free(rd->fields);
    rd->fields = NULL;
    return NULL;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

long long p2d_readers_join(struct p2d_readers *r)
{
    long long taken;

    if (!r)
        return 0;
    for (int i = 0; i < r->nstarted; i++)
        pthread_join(r->readers[i].thread, NULL);
    taken = r->taken;
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->readers);
    free(r->conninfo);
    free(r->snapshot);
    free(r->app_name);
    free(r);
    return taken;
}

int p2d_readers_start(const struct p2d_reader_config *cfg, struct p2d_readers **out)
{
    struct p2d_readers *r;

    *out = NULL;
    if (!cfg->conninfo || cfg->nreaders < 1 || !cfg->pool)
        return P2D_EINVAL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return P2D_ENOMEM;
    r->cfg = *cfg;
    r->conninfo = strdup(cfg->conninfo);
    r->snapshot = dup_or_null(cfg->snapshot);
    r->app_name = strdup(cfg->app_name ? cfg->app_name : "pg2doris reader");
    r->readers = calloc((size_t)cfg->nreaders, sizeof(*r->readers));
    r->cfg.conninfo = NULL; /* the copies above are used; never the caller's */
    r->cfg.snapshot = NULL;
    r->cfg.app_name = NULL;
    if (!r->conninfo || !r->app_name || !r->readers ||
        (cfg->snapshot && *cfg->snapshot && !r->snapshot)) {
        free(r->conninfo);
        free(r->snapshot);
        free(r->app_name);
        free(r->readers);
        free(r);
        return P2D_ENOMEM;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    for (int i = 0; i < cfg->nreaders; i++) {
        struct reader *rd = &r->readers[i];

        rd->r = r;
        rd->id = i;
        if (pthread_create(&rd->thread, NULL, reader_main, rd) != 0) {
            P2D_ERROR("reader", "cannot start reader thread %d of %d", i + 1, cfg->nreaders);
            p2d_readers_stop(r);
            p2d_readers_join(r);
            return P2D_ENOMEM;
        }
        r->nstarted++;
    }
    *out = r;
    return 0;
}

int p2d_readers_enqueue(struct p2d_readers *r, struct p2d_read_task *task)
{
    int rc = 0;

    memset(&task->result, 0, sizeof(task->result));
    task->result.copy_rows = -1;
    task->result.reader = -1;
    task->next = NULL;
    pthread_mutex_lock(&r->mu);
    if (r->closed || r->stopping) {
        rc = P2D_EINVAL;
    } else {
        if (r->tail)
            r->tail->next = task;
        else
            r->head = task;
        r->tail = task;
        pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void p2d_readers_close(struct p2d_readers *r)
{
    pthread_mutex_lock(&r->mu);
    r->closed = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void p2d_readers_stop(struct p2d_readers *r)
{
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void p2d_read_task_reset(struct p2d_read_task *task)
{
    struct p2d_load *load = task->load;

    /* called between attempts, when no thread uses the load */
    __atomic_store_n(&load->cancel, false, __ATOMIC_RELAXED);
    load->rows_sent = 0;
    load->bytes_sent = 0;
    load->raw_bytes = 0;
    load->xfer = NULL;
    memset(&task->result, 0, sizeof(task->result));
    task->result.copy_rows = -1;
    task->result.reader = -1;
}
