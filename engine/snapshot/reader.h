/*
 * reader.h - reader threads: COPY one range at a time out of PostgreSQL,
 * inside the exported snapshot, and stream it as Stream Load body batches
 * to the writer (engine/README.md, "The full-load data path").
 *
 * DESIGN: the caller enqueues range tasks into one shared queue (mutex +
 * condition variable); N reader threads take them. Each reader owns one
 * PGconn (pinned session settings, p2d_pg_connect) holding one
 * transaction: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY, then SET
 * TRANSACTION SNAPSHOT '<S2>' (or no import when no snapshot is given: a
 * plain REPEATABLE READ transaction per connection, for tests and for
 * --mode full without CDC). Per range it runs the task's COPY (SELECT ...)
 * TO STDOUT (text), copies each CSV row that needs no change into a batch
 * from the pool as it is (p2d_encode_copy_row), splits (copy_decode) and
 * encodes (encode, CSV or JSON) the other rows into the batch, and pushes
 * full batches, tagged with the task's load, into the task's ring. Every
 * range ends with exactly one end batch, even when empty, failed or
 * cancelled. A range that was not read completely ends with an end batch
 * whose abort flag makes the writer fail the load (RETRY) instead of
 * committing a partial body.
 *
 * Cancel: when the writer gives up on a load it sets load->cancel; the
 * reader stops at the next row, closes its connection (the quickest way to
 * end a COPY: the backend ends with it), and connects again and re-imports
 * the snapshot before its next range. S2 stays importable while the
 * holder's transaction is open (slot.h), so a re-read sees the same data.
 * Any other source failure also closes the connection.
 *
 * Stop: the caller sets *stop, then p2d_writer_abort() (cancels every
 * load the writer knows), p2d_ring_close() on each ring and
 * p2d_batch_pool_shutdown() (so no reader stays blocked on a ring or the
 * pool the stopped writer no longer drains), then p2d_readers_stop() and
 * p2d_readers_join(). Readers notice the flag between rows and while
 * sleeping in the throttles, and return.
 *
 * Completion: the reader does not decide whether a range is done; the
 * writer's finished() callback (the caller's) does. The reader fills
 * task->result before pushing the end batch; the ring publishes it
 * (release on push, acquire on pop), so finished() may read it, except
 * after p2d_writer_abort() (abort finishes loads before their end batch).
 *
 * Memory: bounded by the pool; a reader holds at most one batch at a time.
 * Ownership: a PGconn belongs to its reader thread; tasks, loads, rings,
 * the pool and the throttles are borrowed.
 */
#ifndef P2D_READER_H
#define P2D_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "control/throttle.h"
#include "snapshot/pgconn.h"
#include "xfer/batch.h"
#include "xfer/encode.h"
#include "xfer/ring.h"

struct p2d_load;

/* What happened to one range on the reader's side. */
struct p2d_read_result {
    int rc;                  /* 0: the whole range was read and pushed; else
                                P2D_ESOURCE (err has SQLSTATE; retry the range),
                                P2D_ECANCEL (load cancelled or stop), P2D_EDATA
                                (a rejected value: stop the table), P2D_EPROTO
                                (COPY text or row count wrong), P2D_EFULL (one
                                row larger than a batch), P2D_ENOMEM */
    struct p2d_pg_error err; /* the reason when rc != 0 (message, SQLSTATE, hint) */
    long long rows;          /* rows encoded into batches */
    long long bytes;         /* body bytes encoded */
    long long copy_rows;     /* n of the server's "COPY n" tag (-1: none) */
    long long issues;        /* value issues reported */
    int reader;              /* which reader thread (0-based) read it */
    double seconds;          /* wall time of the range */
};

/* One range: filled by the caller, borrowed by the readers from enqueue
 * until finished() for its load ran. */
struct p2d_read_task {
    const char *table;                 /* for messages and issues: "schema.table" */
    const struct p2d_encode_col *cols; /* destination columns in COPY order */
    int ncols;
    const int *key_cols; /* indexes into cols of the key, for issue reports */
    int nkeys;
    const char *copy_sql;  /* COPY (SELECT ...) TO STDOUT, text format */
    struct p2d_load *load; /* label, db, table, headers; cancel is read */
    struct p2d_ring *ring; /* the table's ring (registered with the writer) */
    void *user;
    struct p2d_read_result result; /* filled by the reader before the end batch */
    /* rows and body bytes pushed so far, added per batch (relaxed atomics)
     * for progress; the owner sets them to 0 before enqueueing the task */
    int64_t live_rows, live_bytes;
    struct p2d_read_task *next; /* queue link (readers' private) */
};

/* A value that did not land exactly, as given to the issue callback. All
 * pointers are borrowed until the callback returns. */
struct p2d_read_issue {
    const char *table;
    const char *key;    /* "id=42" or "a=1, b=x" (unescaped, cut to fit) */
    const char *column; /* destination column name */
    enum p2d_value_rule rule;
    enum p2d_issue_kind kind;
    enum p2d_issue_action action;
    const char *value; /* the original value text (unescaped, cut to 256 bytes) */
    uint32_t value_len;
};

struct p2d_reader_config {
    const char *conninfo; /* copied; never printed */
    const char *snapshot; /* S2 to import (copied); NULL or "": plain REPEATABLE READ */
    const char *app_name; /* NULL: "pg2doris reader" */
    int nreaders;         /* threads, >= 1 */
    struct p2d_batch_pool *pool;
    enum p2d_encode_format format;
    struct p2d_throttle *qps;   /* one unit before each COPY; NULL: none */
    struct p2d_throttle *rows;  /* rows of each batch before it is pushed; NULL: none */
    struct p2d_throttle *bytes; /* bytes of each batch before it is pushed; NULL: none */
    const bool *stop;           /* global stop flag (atomic, relaxed); may be NULL */
    /* Value issues, called from reader threads concurrently: must be
     * thread-safe. NULL: logged as warnings. */
    void (*issue)(const struct p2d_read_task *task, const struct p2d_read_issue *issue, void *arg);
    void *arg;
};

struct p2d_readers;

/* Starts cfg->nreaders threads (cfg copied). They connect lazily, at their
 * first range. *out owned by the caller (p2d_readers_join). */
int p2d_readers_start(const struct p2d_reader_config *cfg, struct p2d_readers **out)
    __attribute__((warn_unused_result));

/* Queues a range (borrowed as described at struct p2d_read_task). Resets
 * task->result. P2D_EINVAL after p2d_readers_close(). Thread-safe. */
int p2d_readers_enqueue(struct p2d_readers *r, struct p2d_read_task *task)
    __attribute__((warn_unused_result));

/* No more tasks: readers finish the queue, then exit. Thread-safe. */
void p2d_readers_close(struct p2d_readers *r);

/* Wakes readers waiting for tasks so they see *cfg.stop; tasks still
 * queued are left untouched (their loads never started). Thread-safe. */
void p2d_readers_stop(struct p2d_readers *r);

/* Waits for every reader to exit and frees r. Accepts NULL. Returns the
 * number of ranges the readers took. */
long long p2d_readers_join(struct p2d_readers *r);

/* Prepares a task's load for a re-read with the same label (after
 * finished() for the previous attempt): clears cancel, counters, result. */
void p2d_read_task_reset(struct p2d_read_task *task);

#endif
