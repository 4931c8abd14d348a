/*
 * incremental.h - `pg2doris sync` after the full load: the WAL streamer.
 *
 * Streams the job's slot from the stored position (the acked LSN, or the
 * consistent point after a full load), turns committed changes into
 * per-table Stream Loads, and confirms to PostgreSQL only what Doris has
 * confirmed and the state store has recorded (DESIGN §4). Runs until
 * SIGINT / SIGTERM, which flushes what is pending, acknowledges it and
 * returns P2D_EXIT_OK, or until a failure that retries cannot cure.
 */
#ifndef P2D_INCREMENTAL_H
#define P2D_INCREMENTAL_H

#include <signal.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "control/state.h"
#include "job/job.h"
#include "schema/catalog.h"
#include "sink/doris_sql.h"

struct p2d_inc_opts {
    const struct p2d_job *job;
    const char *job_id;
    PGconn *src;                   /* SQL session to the source (catalog re-reads, slot status) */
    struct p2d_doris_sql *sql;     /* ALTER / TRUNCATE on Doris */
    struct p2d_state *st;          /* the job's state, owned by the calling thread */
    const struct p2d_catalog *cat; /* the selected tables */
    const char *slot;
    const char *publication;
    uint64_t consistent_lsn;        /* where the stream starts when nothing was acked yet */
    volatile sig_atomic_t *stop;    /* set by the caller's signal handler */
    volatile sig_atomic_t *signals; /* signals received: a second one ends the final flush */
};

/*
 * Runs the streamer in the calling thread (plus one writer thread) until
 * *stop is set or a failure. Borrows everything in opts until return.
 * Returns a process exit code: OK after a clean stop, SOURCE, DEST, STATE
 * or INTERNAL (the reason has been logged).
 */
int p2d_incremental_run(const struct p2d_inc_opts *opts);

#endif
