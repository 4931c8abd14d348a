/*
 * copy_wire.h - reads the response to one `COPY ... TO STDOUT` (text)
 * straight off a libpq connection's socket: the reader's own parser of the
 * frontend/backend protocol for the COPY OUT sub-protocol, so that a row
 * costs no malloc, copy or free (PQgetCopyData makes one of each per row)
 * and the socket is read in large recv() calls into one buffer.
 *
 * DESIGN: start() sends the simple Query message itself on PQsocket();
 * next() parses every message the server sends in return, up to and
 * including ReadyForQuery, and hands out each CopyData payload as a slice of
 * its buffer. libpq never sees any of it, so libpq stays consistent only if
 *   - it is idle when start() is called: the last PQexec() ran to
 *     ReadyForQuery, nothing is queued to send, its input buffer is empty,
 *     and the session is inside a transaction (PQTRANS_INTRANS; start()
 *     checks this). A session in a transaction gets no asynchronous
 *     NotificationResponse, so nothing waits unread in libpq's buffer;
 *   - the socket is plain TCP or a Unix socket (no TLS, no GSS encryption:
 *     their bytes are not protocol messages; p2d_copy_wire_usable());
 *   - the caller reads the response to its end: next() returned 0. Then
 *     libpq is idle again, as after a PQexec() of the COPY, and its cached
 *     state (transaction status, parameters) is still true - unless
 *     p2d_copy_wire_must_close() says otherwise;
 *   - after any failure, or when the caller stops early (cancel), the
 *     caller closes the connection (PQfinish): the stream is mid-message
 *     and libpq cannot take over.
 * The server's messages are handled as libpq would: CopyOutResponse (must
 * announce text format), CopyData, CopyDone, CommandComplete ("COPY n"),
 * ErrorResponse (kept; the response is read on to ReadyForQuery and the
 * error returned then), NoticeResponse (logged, at INFO), ParameterStatus
 * and NotificationResponse (libpq's copy of that state would be stale: the
 * session must be closed after the COPY), ReadyForQuery (status must be
 * 'T', in a transaction). Anything else is a protocol violation.
 *
 * Waking: the socket is non-blocking (libpq always sets O_NONBLOCK; the
 * calls here pass MSG_DONTWAIT too). Once a COPY has streamed
 * P2D_COPY_WIRE_LOWAT_AFTER bytes, SO_RCVLOWAT is raised to
 * P2D_COPY_WIRE_LOWAT, so poll() wakes the reader only when that much is
 * waiting, or after P2D_COPY_WIRE_LOWAT_WAIT_MS for the last bytes of a
 * COPY. It is set back to 1 byte at ReadyForQuery, before libpq waits on
 * the socket again. PostgreSQL sends a COPY in 8 KB writes; waking for
 * each took 3000-9000 voluntary context switches per 290 MB on the 2-core
 * lineitem bench, the raised mark about 1000 (perf/README.md). Small
 * COPYs never raise it, so they never wait.
 *
 * Memory: one buffer per handle, P2D_COPY_WIRE_BUF bytes to start with,
 * grown to hold a single larger message (a row of up to about 1 GiB, the
 * server's own limit; P2D_COPY_WIRE_MSG_MAX) and shrunk back once it is
 * consumed. Rows handed out may be read P2D_COPY_WIRE_SLACK bytes past
 * their end (vector loads of 16 or 32 bytes) without leaving the
 * allocation; those bytes are not part of the row, and the row is not
 * NUL-terminated.
 *
 * Ownership: a handle belongs to one thread, like the PGconn it reads,
 * which is borrowed from start() until the COPY ended or the caller closed
 * it.
 */
#ifndef P2D_COPY_WIRE_H
#define P2D_COPY_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "snapshot/pgconn.h"

#define P2D_COPY_WIRE_BUF (2u * 1024 * 1024)
/* the largest message taken: a CopyData of a row of MaxAllocSize (1 GiB - 1),
 * the server's limit, plus its header */
#define P2D_COPY_WIRE_MSG_MAX       (((size_t)1 << 30) + 4096)
#define P2D_COPY_WIRE_SLACK         64
#define P2D_COPY_WIRE_LOWAT         (1024 * 1024)
#define P2D_COPY_WIRE_LOWAT_AFTER   (1024 * 1024)
#define P2D_COPY_WIRE_LOWAT_WAIT_MS 5

struct p2d_copy_wire;

/* A handle with a buffer of buf_size bytes (0: P2D_COPY_WIRE_BUF; tests
 * use small ones). NULL when out of memory. */
struct p2d_copy_wire *p2d_copy_wire_create(size_t buf_size);

/* Frees the handle (NULL is fine). Does not touch the connection. */
void p2d_copy_wire_destroy(struct p2d_copy_wire *w);

/* True when conn's socket carries plain protocol messages (no TLS, no GSS
 * encryption), so that this module may read it. */
bool p2d_copy_wire_usable(PGconn *conn);

/*
 * Sends sql, one `COPY ... TO STDOUT` statement in text format, as a simple
 * Query on conn (borrowed until the COPY ends; see the preconditions
 * above). 0, or P2D_EINVAL (conn not idle in a transaction, or not usable)
 * or P2D_ESOURCE (the send failed: class P2D_PG_CONNECT) with err filled;
 * then the caller closes conn.
 */
int p2d_copy_wire_start(struct p2d_copy_wire *w, PGconn *conn, const char *sql,
                        struct p2d_pg_error *err) __attribute__((warn_unused_result));

/*
 * The next row of the COPY. Returns
 *   1: *row and *len are the next CopyData payload (one text row with its
 *      '\n'), inside the handle's buffer: valid until the next call;
 *   0: the COPY ended and ReadyForQuery was read: the connection is idle
 *      in its transaction again; see p2d_copy_wire_rows() and
 *      p2d_copy_wire_must_close();
 *   P2D_ESOURCE: the server's ErrorResponse (message "COPY failed: ...",
 *      SQLSTATE, hint, class as p2d_pg_error_from() gives), a lost
 *      connection (class P2D_PG_CONNECT), a protocol violation or a
 *      message over P2D_COPY_WIRE_MSG_MAX (class P2D_PG_OTHER), or a
 *      transaction status other than 'T' at the end; err is filled;
 *   P2D_ENOMEM: the buffer could not grow for a large message.
 * After anything but 1 there is no next row until the next start(); after
 * an error the caller closes the connection.
 */
int p2d_copy_wire_next(struct p2d_copy_wire *w, const char **row, size_t *len,
                       struct p2d_pg_error *err) __attribute__((warn_unused_result));

/*
 * After next() returned a row: the bytes received behind it and not parsed
 * yet, unchanged ([*bytes, *bytes + return value): whole CopyData messages
 * first, often many, then whatever follows), so that a caller may take a
 * run of rows in one pass (p2d_encode_copy_rows). Valid until the next
 * call on w; 0 when nothing waits.
 */
size_t p2d_copy_wire_following(const struct p2d_copy_wire *w, const uint8_t **bytes);

/* Consumes the first n bytes of p2d_copy_wire_following(): whole CopyData
 * messages, nothing else. */
void p2d_copy_wire_skip(struct p2d_copy_wire *w, size_t n);

/* n of the server's "COPY n" once next() returned 0; -1 before, or when the
 * command tag was something else. */
long long p2d_copy_wire_rows(const struct p2d_copy_wire *w);

/* NULL, or why the session must be closed after this COPY although it
 * ended well (a ParameterStatus, a NotificationResponse, bytes after
 * ReadyForQuery, SO_RCVLOWAT that could not be reset): a static string for
 * the log, valid until the next start(). */
const char *p2d_copy_wire_must_close(const struct p2d_copy_wire *w);

/* The buffer's current size in bytes (for tests: it shrinks back to the
 * start size after a large message). */
size_t p2d_copy_wire_capacity(const struct p2d_copy_wire *w);

#endif
