/*
 * writer.h - the writer thread: Stream Loads over curl multi, bodies sent
 * chunked while the readers still produce them.
 *
 * DESIGN: readers push filled batches (xfer/batch.h) tagged with their load
 * into rings; the writer pops them, appends them to the load's pending
 * list, and starts the load's transfer on first data (at most max_loads at
 * once). A transfer first asks the FE (Expect: 100-continue, so the FE's
 * 307 arrives before any body byte is read), then PUTs the body chunked to
 * the BE the 307 names. curl's read callback hands out pending bytes and
 * returns batches to the pool; with nothing pending it pauses the transfer,
 * and a new batch unpauses it. The writer sleeps in curl_multi_poll, woken
 * by the rings (curl_multi_wakeup): nobody spins.
 *
 * A load finishes once its transfer has an outcome AND its end batch has
 * been seen; then finished() runs (in the writer thread) and the writer
 * keeps no pointer to it. When a transfer fails before its reader is done,
 * the writer sets load->cancel so the reader can stop early, and drops the
 * rest of the load's batches. Retrying means re-reading the range with the
 * same label (engine/README.md): batches are never kept for a resend.
 * An end batch with abort set (the reader failed or stopped mid-range)
 * fails the load with outcome RETRY instead of ending its body.
 *
 * Deadlock rule: every reader streams one load at a time, so max_loads must
 * be at least the number of readers (the job enforces it).
 */
#ifndef P2D_WRITER_H
#define P2D_WRITER_H

#include <stdbool.h>

#include <curl/curl.h>

#include "sink/dest.h"
#include "sink/streamload.h"
#include "xfer/batch.h"
#include "xfer/ring.h"

struct p2d_xfer;

/* One Stream Load. Owned by the caller; borrowed by the writer from its
 * first batch until finished() returns. */
struct p2d_load {
    char db[128];
    char table[256];
    char label[129];
    const struct curl_slist *headers; /* Stream Load headers of the table, borrowed */
    void *user;
    /* Send the body as one gzip member (header "compress_type: gz"),
     * deflated on the fly as curl takes it. */
    bool compress_gz;
    bool cancel; /* atomic: set by the writer when the load failed early */
    long long rows_sent;
    long long bytes_sent;  /* body bytes on the wire (compressed when compress_gz) */
    long long raw_bytes;   /* body bytes taken from the batches (before compression) */
    struct p2d_xfer *xfer; /* writer-private */
};

struct p2d_writer_config {
    struct p2d_dest dest;
    struct p2d_batch_pool *pool;
    int max_loads;           /* concurrent transfers */
    long connect_timeout_ms; /* default 10 s */
    long answer_timeout_ms;  /* body sent, no answer yet: give up (default 10 min) */
    long stall_timeout_ms;   /* data pending but none taken by the server (default 5 min) */
    /* The load's outcome for this attempt (writer thread). */
    void (*finished)(struct p2d_load *load, const struct p2d_load_answer *answer, void *arg);
    void *arg;
};

struct p2d_writer;

/* Creates a writer (not yet running). NULL on failure. cfg is copied. */
struct p2d_writer *p2d_writer_create(const struct p2d_writer_config *cfg);
void p2d_writer_destroy(struct p2d_writer *w); /* accepts NULL; after run returned */

/* Registers a ring the writer consumes (before run). Sets its wake hook. */
int p2d_writer_add_ring(struct p2d_writer *w, struct p2d_ring *ring)
    __attribute__((warn_unused_result));

/*
 * Runs the writer loop in the calling thread until every registered ring is
 * closed and drained and every load has finished, or p2d_writer_stop(w,
 * true) aborts it (in-flight loads then finish with outcome RETRY and
 * message "aborted"). Returns 0, or a negative P2D_E* on a curl failure.
 */
int p2d_writer_run(struct p2d_writer *w) __attribute__((warn_unused_result));

/* Asks the loop to abort (thread-safe, async-signal-unsafe). */
void p2d_writer_abort(struct p2d_writer *w);

#endif
