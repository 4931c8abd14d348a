/*
 * wal.h - the replication connection of the WAL streamer
 * (docs/pg-replication.md §2, §3): START_REPLICATION with pgoutput, the
 * CopyBoth read loop, and standby status updates.
 *
 * One owner (the streamer's thread). The connection is a replication=database
 * walsender session with the engine's pinned settings (snapshot/pgconn.h),
 * so text values from the stream are spelled exactly as the full load's
 * COPY spelled them.
 */
#ifndef P2D_WAL_H
#define P2D_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot/pgconn.h"

struct p2d_wal;

struct p2d_wal_opts {
    const char *conninfo;    /* borrowed until return; never printed */
    const char *slot;        /* "p2d_<job>" */
    const char *publication; /* "p2d_<job>" */
    uint64_t start_lsn;      /* resume point: the acked LSN, or the consistent point */
    bool messages;           /* ask for pg_logical_emit_message 'M' (PG 14+) */
};

/*
 * Connects and starts streaming. The protocol version follows the server:
 * 1 for PostgreSQL 10-13, 2 for 14, 3 for 15, 4 for 16 and later (never
 * streaming or two_phase: transactions arrive whole, after their commit).
 * On success *out owns the connection. On failure returns P2D_ESOURCE
 * with err filled (err->cls tells a connection failure, worth retrying,
 * from a refusal) or P2D_ENOMEM.
 */
int p2d_wal_start(const struct p2d_wal_opts *opts, struct p2d_wal **out, struct p2d_pg_error *err)
    __attribute__((warn_unused_result));

/* The pgoutput protocol version asked for (1..4). */
int p2d_wal_proto(const struct p2d_wal *w);

/* PQserverVersion() of the source. */
int p2d_wal_server_version(const struct p2d_wal *w);

/*
 * Waits up to timeout_ms (-1: no limit) for the next CopyData message,
 * also waking when wake_fd (an eventfd, -1 for none) becomes readable.
 * Returns 1 with *msg / *len set (valid until the next call), 0 when the
 * wait ended without a message (timeout or wake_fd), or P2D_ESOURCE when
 * the stream ended or broke (err says why).
 */
int p2d_wal_next(struct p2d_wal *w, int timeout_ms, int wake_fd, const uint8_t **msg, size_t *len,
                 struct p2d_pg_error *err) __attribute__((warn_unused_result));

/*
 * Sends a standby status update: write = received, flush = what is safe
 * to confirm (only flush moves the slot), apply = flush. Returns 0 or
 * P2D_ESOURCE.
 */
int p2d_wal_feedback(struct p2d_wal *w, uint64_t received, uint64_t flushed, bool reply_requested,
                     struct p2d_pg_error *err) __attribute__((warn_unused_result));

/* Ends the COPY politely when the connection is healthy, then closes it.
 * Accepts NULL. */
void p2d_wal_close(struct p2d_wal *w);

#endif
