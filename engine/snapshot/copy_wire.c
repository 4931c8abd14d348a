/*
 * copy_wire.c - the COPY OUT sub-protocol read off libpq's socket (see
 * copy_wire.h for the preconditions that keep libpq consistent).
 *
 * The buffer holds [rd, wr): bytes received, not yet parsed. A message is
 * parsed where it lies once all of it is there; a CopyData payload is
 * handed out in place. When a message does not fit behind rd, only its
 * received part (the tail [rd, wr)) moves to the buffer's start; a message
 * larger than the buffer gets a buffer of its own size, given back once a
 * message of the usual size is next. Each recv() asks for all the free
 * space, so a COPY costs about one system call per SO_RCVLOWAT's worth of
 * data rather than one per 8-16 KB.
 */
#include "snapshot/copy_wire.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "base/log.h"
#include "p2d_error.h"
#include "snapshot/copy_decode.h"

#define HEADER_LEN 5 /* type byte + int32 length (which counts itself) */
/* Free space below which a small tail is moved up front before a recv(),
 * so that reads stay large. */
#define RECV_MIN (64 * 1024)
/* Messages that are never long: a longer one means the stream is out of
 * step (libpq's VALID_LONG_MESSAGE_TYPE rule), not that the buffer should
 * grow. */
#define SHORT_MESSAGE_MAX 30000
#define GROW_STEP         (64 * 1024)

#define PROTOCOL_HINT                                                                              \
    "this is a bug in pg2doris or a protocol change in the server; report it with the server's "   \
    "version"

enum wire_state {
    W_IDLE,    /* no COPY: start() next */
    W_SENT,    /* Query sent; CopyOutResponse (or an error) next */
    W_COPYING, /* CopyData until CopyDone */
    W_DONE,    /* CopyDone or CommandComplete seen; ReadyForQuery next */
    W_FAILED,  /* ErrorResponse seen (kept in err); ReadyForQuery next */
};

struct p2d_copy_wire {
    uint8_t *buf;    /* cap bytes + P2D_COPY_WIRE_SLACK zero bytes */
    size_t cap;      /* usable bytes */
    size_t base_cap; /* the start size, shrunk back to */
    size_t rd, wr;   /* [rd, wr): received, not parsed */
    int sock;
    enum wire_state state;
    bool completed;         /* CommandComplete seen */
    bool lowat, lowat_done; /* SO_RCVLOWAT raised; raising was tried */
    long long copied;       /* CopyData bytes of this COPY */
    long long rows;         /* "COPY n", -1 until then */
    const char *close_why;
    struct p2d_pg_error err; /* the ErrorResponse, in state W_FAILED */
};

/* The fields of an ErrorResponse or NoticeResponse (pointers into it). */
struct server_fields {
    const char *severity, *sqlstate, *message, *detail, *hint;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Splits an ErrorResponse / NoticeResponse body (code byte + string, ...,
 * then a zero byte). 0, or -1 when a string or the end is missing. */
static int parse_fields(const uint8_t *p, size_t n, struct server_fields *f)
{
    size_t i = 0;

    memset(f, 0, sizeof(*f));
    while (i < n && p[i] != 0) {
        uint8_t code = p[i++];
        const uint8_t *end = memchr(p + i, 0, n - i);
        const char *s = (const char *)p + i;

        if (!end)
            return -1;
        switch (code) {
        case 'V': /* not localized */
            f->severity = s;
            break;
        case 'S':
            if (!f->severity)
                f->severity = s;
            break;
        case 'C':
            f->sqlstate = s;
            break;
        case 'M':
            f->message = s;
            break;
        case 'D':
            f->detail = s;
            break;
        case 'H':
            f->hint = s;
            break;
        default:
            break;
        }
        i = (size_t)(end - p) + 1;
    }
    return i < n ? 0 : -1;
}

static void copy_error(struct p2d_pg_error *dst, const struct p2d_pg_error *src)
{
    if (dst)
        *dst = *src;
}

/* Ends the COPY with a protocol violation (class P2D_PG_OTHER). */
static int __attribute__((format(printf, 3, 4)))
violation(struct p2d_copy_wire *w, struct p2d_pg_error *err, const char *fmt, ...)
{
    char why[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    w->state = W_IDLE;
    p2d_pg_error_set(err, P2D_PG_OTHER, PROTOCOL_HINT, "COPY failed: %s", why);
    return P2D_ESOURCE;
}

/* Ends the COPY on end of file or a socket error. A server that sent an
 * ErrorResponse first (a FATAL one: shutdown, terminated backend) said why. */
static int lost(struct p2d_copy_wire *w, struct p2d_pg_error *err, const char *why)
{
    bool failed = w->state == W_FAILED;

    w->state = W_IDLE;
    if (failed) {
        w->err.cls = P2D_PG_CONNECT;
        copy_error(err, &w->err);
    } else {
        p2d_pg_error_fill(err, P2D_PG_CONNECT, "COPY failed", why, NULL, NULL, NULL);
    }
    return P2D_ESOURCE;
}

static void set_lowat(struct p2d_copy_wire *w, bool on)
{
    int v = on ? P2D_COPY_WIRE_LOWAT : 1;

    /* best effort: without it the reader only wakes more often */
    if (setsockopt(w->sock, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v) == 0)
        w->lowat = on;
}

/* Moves the tail [rd, wr) to the start of a new buffer of cap bytes. */
static int relocate(struct p2d_copy_wire *w, size_t cap)
{
    size_t tail = w->wr - w->rd;
    uint8_t *b = malloc(cap + P2D_COPY_WIRE_SLACK);

    if (!b)
        return P2D_ENOMEM;
    if (tail > 0)
        memcpy(b, w->buf + w->rd, tail);
    memset(b + cap, 0, P2D_COPY_WIRE_SLACK);
    free(w->buf);
    w->buf = b;
    w->cap = cap;
    w->rd = 0;
    w->wr = tail;
    return 0;
}

/* Makes room for a message of need bytes starting at rd, and for a large
 * read behind it when that is cheap. */
static int make_room(struct p2d_copy_wire *w, size_t need)
{
    size_t tail = w->wr - w->rd;

    if (tail == 0)
        w->rd = w->wr = 0;
    if (need > w->cap)
        return relocate(w, (need + GROW_STEP - 1) / GROW_STEP * GROW_STEP);
    if (w->cap > w->base_cap && need <= w->base_cap)
        return relocate(w, w->base_cap); /* the large message is consumed */
    if (w->rd + need > w->cap || (w->cap - w->wr < RECV_MIN && tail <= RECV_MIN)) {
        memmove(w->buf, w->buf + w->rd, tail);
        w->rd = 0;
        w->wr = tail;
    }
    return 0;
}

/* Receives at least one byte into the free space, waiting when there is
 * none yet (see "Waking" in copy_wire.h). */
static int receive(struct p2d_copy_wire *w, struct p2d_pg_error *err)
{
    for (;;) {
        ssize_t got = recv(w->sock, w->buf + w->wr, w->cap - w->wr, MSG_DONTWAIT);
        struct pollfd pfd = {.fd = w->sock, .events = POLLIN};
        char why[160];

        if (got > 0) {
            w->wr += (size_t)got;
            return 0;
        }
        if (got == 0)
            return lost(w, err, "server closed the connection unexpectedly");
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            snprintf(why, sizeof(why), "cannot read from the server: %s", strerror(errno));
            return lost(w, err, why);
        }
        if (poll(&pfd, 1, w->lowat ? P2D_COPY_WIRE_LOWAT_WAIT_MS : -1) < 0 && errno != EINTR) {
            snprintf(why, sizeof(why), "cannot wait for the server: %s", strerror(errno));
            return lost(w, err, why);
        }
    }
}

/* CopyOutResponse: int8 overall format, int16 columns, int16 format each. */
static int copy_out_response(struct p2d_copy_wire *w, const uint8_t *p, size_t n,
                             struct p2d_pg_error *err)
{
    size_t ncols;
    bool text;

    if (w->state != W_SENT)
        return violation(w, err, "a second CopyOutResponse (more than one statement?)");
    if (n < 3 || n != 3 + 2 * (size_t)(ncols = be16(p + 1)))
        return violation(w, err, "malformed CopyOutResponse of %zu bytes", n);
    text = p[0] == 0;
    for (size_t i = 0; i < ncols; i++)
        text = text && be16(p + 3 + 2 * i) == 0;
    if (!text) {
        w->state = W_IDLE;
        p2d_pg_error_set(err, P2D_PG_OTHER,
                         "the statement must be COPY ... TO STDOUT in text format",
                         "COPY failed: the server sends binary COPY data");
        return P2D_ESOURCE;
    }
    w->state = W_COPYING;
    return 0;
}

/* CommandComplete: the tag, "COPY n" for a COPY. */
static int command_complete(struct p2d_copy_wire *w, const uint8_t *p, size_t n,
                            struct p2d_pg_error *err)
{
    if (n == 0 || p[n - 1] != 0)
        return violation(w, err, "malformed CommandComplete");
    if (w->completed || (w->state != W_COPYING && w->state != W_DONE))
        return violation(w, err, "unexpected CommandComplete \"%.40s\" (not one COPY statement?)",
                         (const char *)p);
    if (strncmp((const char *)p, "COPY ", 5) == 0)
        w->rows = strtoll((const char *)p + 5, NULL, 10);
    w->completed = true;
    w->state = W_DONE;
    return 0;
}

/* ErrorResponse (kept until ReadyForQuery) or NoticeResponse (logged). */
static int error_or_notice(struct p2d_copy_wire *w, uint8_t type, const uint8_t *p, size_t n,
                           struct p2d_pg_error *err)
{
    struct server_fields f;
    bool fatal;

    if (parse_fields(p, n, &f) != 0)
        return violation(w, err, "malformed %s", type == 'E' ? "ErrorResponse" : "NoticeResponse");
    if (type == 'N') {
        P2D_INFO("reader", "PostgreSQL %s during a COPY: %s%s%s",
                 f.severity ? f.severity : "NOTICE", f.message ? f.message : "",
                 f.detail ? "; detail: " : "", f.detail ? f.detail : "");
        return 0;
    }
    if (w->state == W_FAILED)
        return 0; /* the first error is the one to report */
    /* the server ends the session after a FATAL error: libpq would then
     * report the connection lost */
    fatal = f.severity && (strcmp(f.severity, "FATAL") == 0 || strcmp(f.severity, "PANIC") == 0);
    p2d_pg_error_fill(&w->err, fatal ? P2D_PG_CONNECT : P2D_PG_OK, "COPY failed", f.message,
                      f.detail, f.hint, f.sqlstate);
    w->state = W_FAILED;
    return 0;
}

/* ReadyForQuery: the end of the response. 0 when the COPY ended well. */
static int ready_for_query(struct p2d_copy_wire *w, const uint8_t *p, size_t n,
                           struct p2d_pg_error *err)
{
    enum wire_state st = w->state;
    uint8_t status = n == 1 ? p[0] : 0; /* p dies with the buffer if it shrinks below */

    if (n != 1)
        return violation(w, err, "malformed ReadyForQuery");
    w->state = W_IDLE;
    if (w->lowat)
        set_lowat(w, false);
    if (w->lowat)
        w->close_why = "SO_RCVLOWAT could not be reset for libpq";
    if (w->rd != w->wr)
        w->close_why = "the server sent more after ReadyForQuery";
    else if (w->cap > w->base_cap)
        (void)relocate(w, w->base_cap); /* give a large message's memory back (best effort) */
    if (st == W_FAILED) {
        copy_error(err, &w->err);
        return P2D_ESOURCE;
    }
    if (!w->completed)
        return violation(w, err, "the response ended without CommandComplete");
    if (status != 'T') {
        p2d_pg_error_set(err, P2D_PG_OTHER, PROTOCOL_HINT,
                         "COPY failed: the session is no longer in its transaction (status "
                         "'%c' at ReadyForQuery)",
                         status >= 0x20 && status < 0x7f ? status : '?');
        return P2D_ESOURCE;
    }
    return 0;
}

/* Any message but a CopyData in the COPY: 0 to go on, 1 at the end,
 * or an error. */
static int handle(struct p2d_copy_wire *w, uint8_t type, const uint8_t *p, size_t n,
                  struct p2d_pg_error *err)
{
    switch (type) {
    case 'H':
        return copy_out_response(w, p, n, err);
    case 'c':
        if (w->state != W_COPYING)
            return violation(w, err, "CopyDone outside a COPY");
        w->state = W_DONE;
        return 0;
    case 'C':
        return command_complete(w, p, n, err);
    case 'E':
    case 'N':
        return error_or_notice(w, type, p, n, err);
    case 'S':
        P2D_DEBUG("reader", "parameter \"%.*s\" changed during a COPY; the session will be closed",
                  (int)strnlen((const char *)p, n), (const char *)p);
        w->close_why = "the server reported a parameter change (ParameterStatus) during the COPY";
        return 0;
    case 'A':
        w->close_why = "a notification (NotificationResponse) arrived during the COPY";
        return 0;
    case 'Z': {
        int rc = ready_for_query(w, p, n, err);

        return rc == 0 ? 1 : rc;
    }
    case 'd':
        return violation(w, err, "CopyData outside a COPY");
    default:
        return violation(w, err, "unexpected message type 0x%02x", type);
    }
}

/* Consumes n bytes of CopyData messages at rd; raises SO_RCVLOWAT once
 * the COPY has streamed P2D_COPY_WIRE_LOWAT_AFTER (headers counted: the
 * mark is a rough one). */
static inline void consume_copy_data(struct p2d_copy_wire *w, size_t n)
{
    w->rd += n;
    w->copied += (long long)n;
    if (__builtin_expect(!w->lowat_done && w->copied >= P2D_COPY_WIRE_LOWAT_AFTER, 0)) {
        w->lowat_done = true;
        set_lowat(w, true);
    }
}

/* Hands out the CopyData of n payload bytes at rd. */
static inline void take_copy_data(struct p2d_copy_wire *w, size_t n, const char **row, size_t *len)
{
    *row = (const char *)w->buf + w->rd + HEADER_LEN;
    *len = n;
    consume_copy_data(w, HEADER_LEN + n);
}

/* p2d_copy_wire_next() when no whole CopyData is waiting: receives, and
 * handles the other messages. Not inlined, so that the per-row path stays
 * a few instructions without a stack frame. */
static int __attribute__((noinline))
next_slow(struct p2d_copy_wire *w, const char **row, size_t *len, struct p2d_pg_error *err)
{
    if (w->state == W_IDLE) {
        p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "COPY failed: no COPY is running");
        return P2D_EINVAL;
    }
    for (;;) {
        size_t avail = w->wr - w->rd, need = HEADER_LEN;
        int rc;

        if (avail >= HEADER_LEN) {
            const uint8_t *m = w->buf + w->rd;
            uint8_t type = m[0];
            uint32_t mlen = be32(m + 1);

            need = 1 + (size_t)mlen;
            if (avail >= need && mlen >= 4) {
                if (type == 'd' && w->state == W_COPYING) {
                    take_copy_data(w, mlen - 4, row, len);
                    return 1;
                }
                w->rd += need;
                rc = handle(w, type, m + HEADER_LEN, mlen - 4, err);
                if (rc != 0)
                    return rc == 1 ? 0 : rc;
                continue;
            }
            if (mlen < 4)
                return violation(w, err, "message type 0x%02x with invalid length %" PRId32, type,
                                 (int32_t)mlen);
            if (need > P2D_COPY_WIRE_MSG_MAX || (mlen > SHORT_MESSAGE_MAX && type != 'd' &&
                                                 type != 'E' && type != 'N' && type != 'A'))
                return violation(w, err, "message type 0x%02x of %" PRIu32 " bytes is too long",
                                 type, mlen);
        }
        if (make_room(w, need) != 0) {
            w->state = W_IDLE;
            p2d_pg_error_set(err, P2D_PG_OTHER, NULL,
                             "COPY failed: out of memory for a message of %zu bytes", need);
            return P2D_ENOMEM;
        }
        if ((rc = receive(w, err)) != 0)
            return rc;
    }
}

int p2d_copy_wire_next(struct p2d_copy_wire *w, const char **row, size_t *len,
                       struct p2d_pg_error *err)
{
    /* the common case: a whole CopyData waits in the buffer */
    if (w->state == W_COPYING) {
        int64_t n = p2d_copy_data_len(w->buf + w->rd, w->wr - w->rd);

        if (n >= 0) {
            take_copy_data(w, (size_t)n, row, len);
            return 1;
        }
    }
    return next_slow(w, row, len, err);
}

size_t p2d_copy_wire_following(const struct p2d_copy_wire *w, const uint8_t **bytes)
{
    *bytes = w->buf + w->rd;
    return w->state == W_COPYING ? w->wr - w->rd : 0;
}

void p2d_copy_wire_skip(struct p2d_copy_wire *w, size_t n)
{
    consume_copy_data(w, n);
}

bool p2d_copy_wire_usable(PGconn *conn)
{
    return conn && PQsocket(conn) >= 0 && !PQsslInUse(conn) && !PQgssEncInUse(conn);
}

/* Writes the Query message: 'Q', int32 length, the statement and its NUL. */
static int send_query(struct p2d_copy_wire *w, const char *sql, size_t sqllen,
                      struct p2d_pg_error *err)
{
    uint32_t mlen = (uint32_t)(4 + sqllen + 1);
    uint8_t hdr[HEADER_LEN] = {'Q', (uint8_t)(mlen >> 24), (uint8_t)(mlen >> 16),
                               (uint8_t)(mlen >> 8), (uint8_t)mlen};
    struct iovec iov[2] = {{.iov_base = hdr, .iov_len = sizeof(hdr)},
                           {.iov_base = (void *)sql, .iov_len = sqllen + 1}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};

    while (msg.msg_iovlen > 0) {
        ssize_t sent = sendmsg(w->sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        struct pollfd pfd = {.fd = w->sock, .events = POLLOUT};
        char why[160];

        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
                snprintf(why, sizeof(why), "cannot wait for the server: %s", strerror(errno));
                p2d_pg_error_fill(err, P2D_PG_CONNECT, "cannot send the COPY", why, NULL, NULL,
                                  NULL);
                return P2D_ESOURCE;
            }
            continue;
        }
        if (sent < 0) {
            p2d_pg_error_fill(err, P2D_PG_CONNECT, "cannot send the COPY", strerror(errno), NULL,
                              NULL, NULL);
            return P2D_ESOURCE;
        }
        while (msg.msg_iovlen > 0 && (size_t)sent >= msg.msg_iov[0].iov_len) {
            sent -= (ssize_t)msg.msg_iov[0].iov_len;
            msg.msg_iov++;
            msg.msg_iovlen--;
        }
        if (msg.msg_iovlen > 0) {
            msg.msg_iov[0].iov_base = (uint8_t *)msg.msg_iov[0].iov_base + sent;
            msg.msg_iov[0].iov_len -= (size_t)sent;
        }
    }
    return 0;
}

int p2d_copy_wire_start(struct p2d_copy_wire *w, PGconn *conn, const char *sql,
                        struct p2d_pg_error *err)
{
    size_t sqllen = strlen(sql);

    w->sock = conn ? PQsocket(conn) : -1;
    w->state = W_IDLE;
    w->completed = false;
    w->lowat = w->lowat_done = false;
    w->copied = 0;
    w->rows = -1;
    w->close_why = NULL;
    w->rd = w->wr = 0;
    p2d_pg_error_clear(&w->err);
    if (w->cap > w->base_cap)
        (void)relocate(w, w->base_cap); /* best effort, as at ReadyForQuery */
    if (!p2d_copy_wire_usable(conn) || PQtransactionStatus(conn) != PQTRANS_INTRANS ||
        sqllen > INT32_MAX - 5) {
        p2d_pg_error_set(err, P2D_PG_OTHER, "this is a bug in pg2doris; report it",
                         "cannot send the COPY: the connection is not a plain, idle session "
                         "inside a transaction");
        return P2D_EINVAL;
    }
    if (send_query(w, sql, sqllen, err) != 0)
        return P2D_ESOURCE;
    w->state = W_SENT;
    return 0;
}

struct p2d_copy_wire *p2d_copy_wire_create(size_t buf_size)
{
    struct p2d_copy_wire *w = calloc(1, sizeof(*w));

    if (!w)
        return NULL;
    w->base_cap = buf_size ? buf_size : P2D_COPY_WIRE_BUF;
    if (w->base_cap < HEADER_LEN)
        w->base_cap = HEADER_LEN;
    if (relocate(w, w->base_cap) != 0) {
        free(w);
        return NULL;
    }
    w->sock = -1;
    w->rows = -1;
    return w;
}

void p2d_copy_wire_destroy(struct p2d_copy_wire *w)
{
    if (!w)
        return;
    free(w->buf);
    free(w);
}

long long p2d_copy_wire_rows(const struct p2d_copy_wire *w)
{
    return w->state == W_IDLE && w->completed ? w->rows : -1;
}

const char *p2d_copy_wire_must_close(const struct p2d_copy_wire *w)
{
    return w->close_why;
}

size_t p2d_copy_wire_capacity(const struct p2d_copy_wire *w)
{
    return w->cap;
}
