/*
 * wal.c - the replication connection of the WAL streamer (wal.h).
 *
 * The read loop follows docs/pg-replication.md §3.1: PQgetCopyData in async
 * mode; with nothing buffered, poll() on the socket (and the caller's
 * eventfd) up to the caller's deadline, then PQconsumeInput. Nothing spins.
 */
#include "cdc/wal.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cdc/pgoutput.h"
#include "p2d_error.h"

struct p2d_wal {
    PGconn *conn;
    int proto;
    int server_version;
    char *buf; /* last message from PQgetCopyData, freed on the next call */
    bool copy_done;
};

static int proto_for(int server_version)
{
    if (server_version >= 160000)
        return 4;
    if (server_version >= 150000)
        return 3;
    if (server_version >= 140000)
        return 2;
    return 1;
}

int p2d_wal_start(const struct p2d_wal_opts *opts, struct p2d_wal **out, struct p2d_pg_error *err)
{
    struct p2d_wal *w;
    struct p2d_buf q;
    PGresult *r;
    char lsn[32];
    int rc;

    *out = NULL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return P2D_ENOMEM;
    rc = p2d_pg_connect(opts->conninfo, P2D_PG_REPLICATION, "pg2doris-wal", &w->conn, err);
    if (rc != 0) {
        free(w);
        return rc;
    }
    w->server_version = PQserverVersion(w->conn);
    w->proto = proto_for(w->server_version);
    p2d_buf_init(&q, 4096);
    rc = p2d_pg_appendf(&q, "START_REPLICATION SLOT ");
    if (rc == 0)
        rc = p2d_pg_append_ident(w->conn, &q, opts->slot);
    if (rc == 0)
        rc = p2d_pg_appendf(
            &q, " LOGICAL %s (proto_version '%d', publication_names '\"%s\"'%s)",
            p2d_pg_lsn_format(opts->start_lsn, lsn, sizeof(lsn)), w->proto, opts->publication,
            opts->messages && w->server_version >= 140000 ? ", messages 'true'" : "");
    if (rc != 0) {
        p2d_buf_fini(&q);
        p2d_wal_close(w);
        return rc == P2D_ENOMEM ? P2D_ENOMEM : P2D_EINVAL;
    }
    r = PQexec(w->conn, (const char *)q.data);
    p2d_buf_fini(&q);
    if (PQresultStatus(r) != PGRES_COPY_BOTH) {
        p2d_pg_error_from(w->conn, r, "cannot start streaming from the slot", err);
        PQclear(r);
        p2d_wal_close(w);
        return P2D_ESOURCE;
    }
    PQclear(r);
    if (PQsetnonblocking(w->conn, 1) != 0) {
        p2d_pg_error_from(w->conn, NULL, "cannot make the replication connection non-blocking",
                          err);
        p2d_wal_close(w);
        return P2D_ESOURCE;
    }
    *out = w;
    return 0;
}

int p2d_wal_proto(const struct p2d_wal *w)
{
    return w->proto;
}

int p2d_wal_server_version(const struct p2d_wal *w)
{
    return w->server_version;
}

/* The stream ended (-1) or broke (-2): collect the server's reason. */
static int stream_ended(struct p2d_wal *w, struct p2d_pg_error *err)
{
    PGresult *r;
    bool reported = false;

    w->copy_done = true;
    while ((r = PQgetResult(w->conn)) != NULL) {
        if (!reported && PQresultStatus(r) != PGRES_COMMAND_OK &&
            PQresultStatus(r) != PGRES_COPY_OUT) {
            p2d_pg_error_from(w->conn, r, "the replication stream stopped", err);
            reported = true;
        }
        PQclear(r);
        if (PQstatus(w->conn) == CONNECTION_BAD)
            break;
    }
    if (!reported) {
        p2d_pg_error_from(w->conn, NULL, "the replication stream stopped", err);
        if (!err->message[0] || PQstatus(w->conn) == CONNECTION_BAD)
            err->cls = P2D_PG_CONNECT;
    }
    if (err->cls == P2D_PG_OTHER && PQstatus(w->conn) == CONNECTION_BAD)
        err->cls = P2D_PG_CONNECT;
    return P2D_ESOURCE;
}

int p2d_wal_next(struct p2d_wal *w, int timeout_ms, int wake_fd, const uint8_t **msg, size_t *len,
                 struct p2d_pg_error *err)
{
    if (w->buf) {
        PQfreemem(w->buf);
        w->buf = NULL;
    }
    for (int round = 0;; round++) {
        int n = PQgetCopyData(w->conn, &w->buf, 1);
        struct pollfd pfd[2];
        int nfds = 1, prc;

        if (n > 0) {
            *msg = (const uint8_t *)w->buf;
            *len = (size_t)n;
            return 1;
        }
        if (n < 0) {
            w->buf = NULL;
            return stream_ended(w, err);
        }
        if (round > 0)
            return 0; /* woken, or the deadline passed */
        /* flush any feedback still queued in libpq's output buffer */
        if (PQflush(w->conn) < 0)
            return stream_ended(w, err);
        pfd[0].fd = PQsocket(w->conn);
        pfd[0].events = POLLIN;
        if (wake_fd >= 0) {
            pfd[1].fd = wake_fd;
            pfd[1].events = POLLIN;
            nfds = 2;
        }
        prc = poll(pfd, (nfds_t)nfds, timeout_ms);
        if (prc < 0 && errno != EINTR) {
            p2d_pg_error_set(err, P2D_PG_CONNECT, NULL,
                             "cannot wait for the replication stream: %s", strerror(errno));
            return P2D_ESOURCE;
        }
        if (prc > 0 && (pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) &&
            PQconsumeInput(w->conn) == 0)
            return stream_ended(w, err);
    }
}

int p2d_wal_feedback(struct p2d_wal *w, uint64_t received, uint64_t flushed, bool reply_requested,
                     struct p2d_pg_error *err)
{
    uint8_t m[P2D_STANDBY_STATUS_LEN];
    struct timespec ts;
    int64_t now_us;

    clock_gettime(CLOCK_REALTIME, &ts);
    now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    p2d_standby_status_encode(m, received, flushed, flushed, p2d_pg_time_from_unix_us(now_us),
                              reply_requested);
    if (PQputCopyData(w->conn, (const char *)m, (int)sizeof(m)) != 1 || PQflush(w->conn) < 0) {
        p2d_pg_error_from(w->conn, NULL, "cannot send a status update to the source", err);
        err->cls = P2D_PG_CONNECT;
        return P2D_ESOURCE;
    }
    return 0;
}

void p2d_wal_close(struct p2d_wal *w)
{
    if (!w)
        return;
    if (w->buf)
        PQfreemem(w->buf);
    if (w->conn && !w->copy_done && PQstatus(w->conn) == CONNECTION_OK) {
        /* end the COPY and drain what the server still sends, briefly */
        if (PQsetnonblocking(w->conn, 0) == 0 && PQputCopyEnd(w->conn, NULL) == 1) {
            char *b = NULL;
            int n;

            while ((n = PQgetCopyData(w->conn, &b, 0)) > 0)
                PQfreemem(b);
            PGresult *r;
            while ((r = PQgetResult(w->conn)) != NULL)
                PQclear(r);
        }
    }
    if (w->conn)
        PQfinish(w->conn);
    free(w);
}
