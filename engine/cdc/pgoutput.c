/*
 * pgoutput.c - bounds-checked decoding of pgoutput messages and of the
 * CopyBoth frames around them (docs/pg-replication.md §3.2-3.4, §4).
 *
 * A small reader walks the message: every fixed-size read checks the bytes
 * left first, every string must find its NUL inside the message, every
 * length and count is compared with what remains before it is trusted. The
 * first failure formats an error naming the message, the part being read
 * and the byte offset, and every caller just propagates the return code.
 */
#include "cdc/pgoutput.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "p2d_error.h"

struct reader {
    const uint8_t *p;
    size_t n;
    size_t off;
    const char *what; /* "Update (proto 2)" */
    struct p2d_pgerr *err;
};

static int fail(struct reader *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct reader *r, int code, const char *fmt, ...)
{
    va_list ap;
    char detail[200];

    if (!r->err)
        return code;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    r->err->offset = r->off;
    snprintf(r->err->msg, sizeof r->err->msg, "%s: %s, at byte %zu of %zu", r->what, detail, r->off,
             r->n);
    return code;
}

static size_t left(const struct reader *r)
{
    return r->n - r->off;
}

static int need(struct reader *r, size_t k, const char *field)
{
    if (left(r) < k)
        return fail(r, P2D_EPROTO, "message ends inside %s (%zu bytes needed, %zu left)", field, k,
                    left(r));
    return 0;
}

static int get8(struct reader *r, const char *field, uint8_t *v)
{
    int rc = need(r, 1, field);

    if (rc)
        return rc;
    *v = r->p[r->off++];
    return 0;
}

static int get16(struct reader *r, const char *field, uint16_t *v)
{
    int rc = need(r, 2, field);

    if (rc)
        return rc;
    *v = p2d_be16_get(r->p + r->off);
    r->off += 2;
    return 0;
}

static int get32(struct reader *r, const char *field, uint32_t *v)
{
    int rc = need(r, 4, field);

    if (rc)
        return rc;
    *v = p2d_be32_get(r->p + r->off);
    r->off += 4;
    return 0;
}

static int get64(struct reader *r, const char *field, uint64_t *v)
{
    int rc = need(r, 8, field);

    if (rc)
        return rc;
    *v = p2d_be64_get(r->p + r->off);
    r->off += 8;
    return 0;
}

static int geti64(struct reader *r, const char *field, int64_t *v)
{
    uint64_t u = 0;
    int rc = get64(r, field, &u);

    *v = (int64_t)u; /* two's complement on every target we build for */
    return rc;
}

/* A NUL-terminated string that must end inside the message. */
static int getstr(struct reader *r, const char *field, const char **s)
{
    const uint8_t *nul;

    if (left(r) == 0)
        return fail(r, P2D_EPROTO, "message ends before %s", field);
    nul = memchr(r->p + r->off, 0, left(r));
    if (!nul)
        return fail(r, P2D_EPROTO, "%s is not NUL-terminated inside the message", field);
    *s = (const char *)(r->p + r->off);
    r->off = (size_t)(nul - r->p) + 1;
    return 0;
}

static int end_of_message(struct reader *r)
{
    if (left(r) != 0)
        return fail(r, P2D_EPROTO, "%zu unexpected trailing bytes", left(r));
    return 0;
}

/* TupleData into vals[*used..]; advances *used. */
static int get_tuple(struct reader *r, struct p2d_pgmsg *m, int *used, const char *which,
                     struct p2d_pgtuple *t)
{
    uint16_t ncols;
    int rc;

    if ((rc = get16(r, "tuple column count", &ncols)))
        return rc;
    if (ncols > left(r))
        return fail(r, P2D_EPROTO, "%s tuple claims %u columns but only %zu bytes are left", which,
                    ncols, left(r));
    if ((int)ncols > m->vals_cap - *used)
        return fail(r, P2D_EFULL,
                    "%s tuple has %u columns, more than the %d value slots left; hint: give "
                    "the decoder room for 2 x 1600 values",
                    which, ncols, m->vals_cap - *used);
    t->vals = m->vals ? m->vals + *used : NULL; /* no arithmetic on NULL */
    t->ncols = ncols;
    for (uint16_t i = 0; i < ncols; i++) {
        struct p2d_pgval *v = &t->vals[i];
        uint8_t kind;
        uint32_t len;

        if ((rc = get8(r, "tuple column kind", &kind)))
            return rc;
        v->kind = (char)kind;
        v->data = NULL;
        v->len = 0;
        switch (kind) {
        case P2D_PGVAL_NULL:
        case P2D_PGVAL_UNCHANGED:
            break;
        case P2D_PGVAL_TEXT:
        case P2D_PGVAL_BINARY:
            if ((rc = get32(r, "tuple value length", &len)))
                return rc;
            if (len > INT32_MAX)
                return fail(r, P2D_EPROTO, "%s tuple column %u of %u: negative length %d", which,
                            i + 1, ncols, (int32_t)len);
            if (len > left(r))
                return fail(r, P2D_EPROTO,
                            "%s tuple column %u of %u: value length %u exceeds the %zu bytes "
                            "left",
                            which, i + 1, ncols, len, left(r));
            v->data = r->p + r->off;
            v->len = len;
            r->off += len;
            break;
        default:
            r->off--;
            return fail(r, P2D_EPROTO, "%s tuple column %u of %u: unknown value kind 0x%02x", which,
                        i + 1, ncols, kind);
        }
    }
    *used += ncols;
    return 0;
}

static int decode_relation(struct reader *r, struct p2d_pgmsg *m)
{
    uint8_t replident;
    uint16_t ncols;
    int rc;

    if ((rc = get32(r, "relation OID", &m->u.relation.relid)) ||
        (rc = getstr(r, "namespace name", &m->u.relation.nspname)) ||
        (rc = getstr(r, "relation name", &m->u.relation.relname)) ||
        (rc = get8(r, "replica identity", &replident)))
        return rc;
    if (replident != 'd' && replident != 'n' && replident != 'f' && replident != 'i') {
        r->off--;
        return fail(r, P2D_EPROTO, "unknown replica identity 0x%02x (want d, n, f or i)",
                    replident);
    }
    m->u.relation.replident = (char)replident;
    if ((rc = get16(r, "column count", &ncols)))
        return rc;
    /* each column takes at least 1 + 1 + 4 + 4 bytes */
    if ((size_t)ncols * 10 > left(r))
        return fail(r, P2D_EPROTO, "%u columns cannot fit in the %zu bytes left", ncols, left(r));
    if (ncols > m->cols_cap)
        return fail(r, P2D_EFULL,
                    "relation \"%s\" has %u columns, more than the %d column slots given",
                    m->u.relation.relname, ncols, m->cols_cap);
    m->u.relation.ncols = ncols;
    m->u.relation.cols = m->cols;
    for (uint16_t i = 0; i < ncols; i++) {
        struct p2d_pgrelcol *c = &m->cols[i];
        uint32_t typmod;

        if ((rc = get8(r, "column flags", &c->flags)))
            return rc;
        if (c->flags & ~P2D_PGCOL_KEY) {
            r->off--;
            return fail(r, P2D_EPROTO, "column %u: unknown flags 0x%02x", i + 1, c->flags);
        }
        if ((rc = getstr(r, "column name", &c->name)) ||
            (rc = get32(r, "column type OID", &c->typoid)) ||
            (rc = get32(r, "column type modifier", &typmod)))
            return rc;
        c->typmod = (int32_t)typmod;
    }
    return 0;
}

static int decode_change(struct reader *r, struct p2d_pgmsg *m)
{
    int used = 0, rc;
    uint8_t marker;

    m->u.change.old_kind = 0;
    m->u.change.has_new = false;
    m->u.change.old = (struct p2d_pgtuple){NULL, 0};
    m->u.change.newtup = (struct p2d_pgtuple){NULL, 0};
    if ((rc = get32(r, "relation OID", &m->u.change.relid)) ||
        (rc = get8(r, "tuple marker", &marker)))
        return rc;
    if (m->kind != P2D_PGMSG_INSERT && (marker == 'K' || marker == 'O')) {
        m->u.change.old_kind = (char)marker;
        if ((rc = get_tuple(r, m, &used, marker == 'K' ? "old key" : "old row", &m->u.change.old)))
            return rc;
        if (m->kind == P2D_PGMSG_DELETE)
            return 0;
        if ((rc = get8(r, "new tuple marker", &marker)))
            return rc;
    }
    if (m->kind == P2D_PGMSG_DELETE) {
        r->off--;
        return fail(r, P2D_EPROTO, "tuple marker 0x%02x, want 'K' or 'O'", marker);
    }
    if (marker != 'N') {
        r->off--;
        return fail(r, P2D_EPROTO, "tuple marker 0x%02x, want %s", marker,
                    m->kind == P2D_PGMSG_INSERT ? "'N'"
                    : m->u.change.old_kind      ? "'N' after the old tuple"
                                                : "'K', 'O' or 'N'");
    }
    m->u.change.has_new = true;
    return get_tuple(r, m, &used, "new", &m->u.change.newtup);
}

static int decode_body(struct reader *r, int proto, struct p2d_pgmsg *m)
{
    uint8_t flags;
    uint32_t u32;
    int rc;

    switch (m->kind) {
    case P2D_PGMSG_BEGIN:
        return get64(r, "final LSN", &m->u.begin.final_lsn) ||
                       geti64(r, "commit timestamp", &m->u.begin.commit_ts) ||
                       get32(r, "xid", &m->u.begin.xid)
                   ? P2D_EPROTO
                   : 0;
    case P2D_PGMSG_COMMIT:
        if ((rc = get8(r, "flags", &m->u.commit.flags)))
            return rc;
        if (m->u.commit.flags != 0) {
            r->off--;
            return fail(r, P2D_EPROTO, "flags 0x%02x, must be 0", m->u.commit.flags);
        }
        return get64(r, "commit LSN", &m->u.commit.commit_lsn) ||
                       get64(r, "end LSN", &m->u.commit.end_lsn) ||
                       geti64(r, "commit timestamp", &m->u.commit.commit_ts)
                   ? P2D_EPROTO
                   : 0;
    case P2D_PGMSG_ORIGIN:
        return get64(r, "origin LSN", &m->u.origin.lsn) ||
                       getstr(r, "origin name", &m->u.origin.name)
                   ? P2D_EPROTO
                   : 0;
    case P2D_PGMSG_RELATION:
        return decode_relation(r, m);
    case P2D_PGMSG_TYPE:
        return get32(r, "type OID", &m->u.type.oid) ||
                       getstr(r, "namespace name", &m->u.type.nspname) ||
                       getstr(r, "type name", &m->u.type.typname)
                   ? P2D_EPROTO
                   : 0;
    case P2D_PGMSG_INSERT:
    case P2D_PGMSG_UPDATE:
    case P2D_PGMSG_DELETE:
        return decode_change(r, m);
    case P2D_PGMSG_TRUNCATE:
        if ((rc = get32(r, "relation count", &m->u.truncate.nrels)) ||
            (rc = get8(r, "options", &m->u.truncate.flags)))
            return rc;
        if (m->u.truncate.flags & ~(P2D_TRUNCATE_CASCADE | P2D_TRUNCATE_RESTART_IDENTITY)) {
            r->off--;
            return fail(r, P2D_EPROTO, "unknown options 0x%02x", m->u.truncate.flags);
        }
        if (m->u.truncate.nrels == 0 || m->u.truncate.nrels > left(r) / 4)
            return fail(r, P2D_EPROTO, "relation count %u does not match the %zu bytes left",
                        m->u.truncate.nrels, left(r));
        m->u.truncate.relids_be = r->p + r->off;
        r->off += 4 * (size_t)m->u.truncate.nrels;
        return 0;
    case P2D_PGMSG_MESSAGE:
        if ((rc = get8(r, "flags", &m->u.message.flags)))
            return rc;
        if (m->u.message.flags & ~P2D_MESSAGE_TRANSACTIONAL) {
            r->off--;
            return fail(r, P2D_EPROTO, "unknown flags 0x%02x", m->u.message.flags);
        }
        if ((rc = get64(r, "message LSN", &m->u.message.lsn)) ||
            (rc = getstr(r, "prefix", &m->u.message.prefix)) ||
            (rc = get32(r, "content length", &m->u.message.content_len)))
            return rc;
        if (m->u.message.content_len > left(r))
            return fail(r, P2D_EPROTO, "content length %u exceeds the %zu bytes left",
                        m->u.message.content_len, left(r));
        m->u.message.content = r->p + r->off;
        r->off += m->u.message.content_len;
        return 0;
    case P2D_PGMSG_STREAM_START:
        if ((rc = get32(r, "xid", &m->u.stream_start.xid)) ||
            (rc = get8(r, "first segment flag", &flags)))
            return rc;
        if (flags > 1) {
            r->off--;
            return fail(r, P2D_EPROTO, "first segment flag %u, want 0 or 1", flags);
        }
        m->u.stream_start.first_segment = flags == 1;
        return 0;
    case P2D_PGMSG_STREAM_STOP:
        return 0;
    case P2D_PGMSG_STREAM_COMMIT:
        if ((rc = get32(r, "xid", &m->u.stream_commit.xid)) ||
            (rc = get8(r, "flags", &m->u.stream_commit.flags)))
            return rc;
        if (m->u.stream_commit.flags != 0) {
            r->off--;
            return fail(r, P2D_EPROTO, "flags 0x%02x, must be 0", m->u.stream_commit.flags);
        }
        return get64(r, "commit LSN", &m->u.stream_commit.commit_lsn) ||
                       get64(r, "end LSN", &m->u.stream_commit.end_lsn) ||
                       geti64(r, "commit timestamp", &m->u.stream_commit.commit_ts)
                   ? P2D_EPROTO
                   : 0;
    case P2D_PGMSG_STREAM_ABORT:
        if ((rc = get32(r, "xid", &m->u.stream_abort.xid)) ||
            (rc = get32(r, "subtransaction xid", &u32)))
            return rc;
        m->u.stream_abort.subxid = u32;
        m->u.stream_abort.has_abort_info = false;
        m->u.stream_abort.abort_lsn = 0;
        m->u.stream_abort.abort_ts = 0;
        /* proto 4 adds abort LSN and time only with streaming = parallel,
         * which the message itself does not say: the length decides */
        if (proto >= 4 && left(r) > 0) {
            if ((rc = get64(r, "abort LSN", &m->u.stream_abort.abort_lsn)) ||
                (rc = geti64(r, "abort timestamp", &m->u.stream_abort.abort_ts)))
                return rc;
            m->u.stream_abort.has_abort_info = true;
        }
        return 0;
    }
    return P2D_EPROTO; /* not reached: the caller checked the kind */
}

const char *p2d_pgmsg_kind_name(int kind)
{
    switch (kind) {
    case 'B':
        return "Begin";
    case 'C':
        return "Commit";
    case 'O':
        return "Origin";
    case 'R':
        return "Relation";
    case 'Y':
        return "Type";
    case 'I':
        return "Insert";
    case 'U':
        return "Update";
    case 'D':
        return "Delete";
    case 'T':
        return "Truncate";
    case 'M':
        return "Message";
    case 'S':
        return "Stream Start";
    case 'E':
        return "Stream Stop";
    case 'c':
        return "Stream Commit";
    case 'A':
        return "Stream Abort";
    case 'b':
        return "Begin Prepare";
    case 'P':
        return "Prepare";
    case 'K':
        return "Commit Prepared";
    case 'r':
        return "Rollback Prepared";
    case 'p':
        return "Stream Prepare";
    }
    return "unknown";
}

void p2d_pgmsg_init(struct p2d_pgmsg *m, struct p2d_pgval *vals, int vals_cap,
                    struct p2d_pgrelcol *cols, int cols_cap)
{
    memset(m, 0, sizeof *m);
    m->vals = vals;
    m->vals_cap = vals && vals_cap > 0 ? vals_cap : 0;
    m->cols = cols;
    m->cols_cap = cols && cols_cap > 0 ? cols_cap : 0;
}

int p2d_pgoutput_decode(const uint8_t *p, size_t n, int proto_version, bool in_stream,
                        struct p2d_pgmsg *out, struct p2d_pgerr *err)
{
    char what[64];
    struct reader r = {.p = p, .n = n, .off = 0, .what = what, .err = err};
    uint8_t kind;
    int rc;

    if (err) {
        err->offset = 0;
        err->msg[0] = 0;
    }
    snprintf(what, sizeof what, "pgoutput message (proto %d)", proto_version);
    if (!out || (!p && n > 0))
        return fail(&r, P2D_EINVAL, "no input or no output given");
    if (proto_version < 1 || proto_version > 4)
        return fail(&r, P2D_EINVAL, "unsupported protocol version, want 1 to 4");
    if (in_stream && proto_version < 2)
        return fail(&r, P2D_EINVAL, "stream blocks need protocol version 2 or higher");
    if (n == 0)
        return fail(&r, P2D_EPROTO, "empty message");
    kind = p[0];
    snprintf(what, sizeof what, "pgoutput %s (proto %d)", p2d_pgmsg_kind_name(kind), proto_version);
    switch (kind) {
    case 'B':
    case 'C':
    case 'O':
    case 'R':
    case 'Y':
    case 'I':
    case 'U':
    case 'D':
    case 'T':
    case 'M':
        break;
    case 'S':
    case 'E':
    case 'c':
    case 'A':
        if (proto_version < 2)
            return fail(&r, P2D_EPROTO,
                        "streamed transactions need protocol version 2; hint: the server "
                        "sent a message the requested protocol does not have");
        break;
    case 'b':
    case 'P':
    case 'K':
    case 'r':
    case 'p':
        return fail(&r, P2D_EPROTO,
                    "two-phase commit messages are not supported; hint: do not pass "
                    "two_phase to START_REPLICATION");
    default:
        snprintf(what, sizeof what, "pgoutput message (proto %d)", proto_version);
        return fail(&r, P2D_EPROTO, "unknown message type 0x%02x", kind);
    }
    out->kind = (enum p2d_pgmsg_kind)kind;
    out->has_xid = false;
    out->xid = 0;
    r.off = 1;
    if (in_stream) {
        switch (kind) {
        case 'B':
        case 'C':
        case 'O':
            /* Non-streamed transactions never interleave with a stream block. */
            return fail(&r, P2D_EPROTO, "message not allowed inside a stream block");
        case 'R':
        case 'Y':
        case 'I':
        case 'U':
        case 'D':
        case 'T':
        case 'M':
            if ((rc = get32(&r, "streamed xid", &out->xid)))
                return rc;
            out->has_xid = true;
            break;
        }
    }
    if ((rc = decode_body(&r, proto_version, out)))
        return rc;
    return end_of_message(&r);
}

/* ---- CopyBoth frames ----------------------------------------------------- */

int p2d_walmsg_decode(const uint8_t *p, size_t n, struct p2d_walmsg *out, struct p2d_pgerr *err)
{
    struct reader r = {.p = p, .n = n, .off = 0, .what = "replication message", .err = err};
    uint8_t reply;

    if (err) {
        err->offset = 0;
        err->msg[0] = 0;
    }
    if (!out || (!p && n > 0))
        return fail(&r, P2D_EINVAL, "no input or no output given");
    memset(out, 0, sizeof *out);
    if (n == 0)
        return fail(&r, P2D_EPROTO, "empty CopyData message");
    out->kind = (char)p[0];
    r.off = 1;
    switch (p[0]) {
    case 'w':
        r.what = "XLogData";
        if (get64(&r, "WAL start", &out->wal_start) || get64(&r, "WAL end", &out->wal_end) ||
            geti64(&r, "send time", &out->send_time))
            return P2D_EPROTO;
        out->payload = p + r.off;
        out->payload_len = n - r.off;
        if (out->payload_len == 0)
            return fail(&r, P2D_EPROTO, "no pgoutput message after the header");
        return 0;
    case 'k':
        r.what = "primary keepalive";
        if (get64(&r, "WAL end", &out->wal_end) || geti64(&r, "send time", &out->send_time) ||
            get8(&r, "reply-requested flag", &reply))
            return P2D_EPROTO;
        if (reply > 1) {
            r.off--;
            return fail(&r, P2D_EPROTO, "reply-requested flag %u, want 0 or 1", reply);
        }
        out->reply_requested = reply == 1;
        return end_of_message(&r);
    }
    r.off = 0;
    return fail(&r, P2D_EPROTO, "unknown message type 0x%02x, want 'w' or 'k'", p[0]);
}

size_t p2d_standby_status_encode(uint8_t out[P2D_STANDBY_STATUS_LEN], uint64_t write_lsn,
                                 uint64_t flush_lsn, uint64_t apply_lsn, int64_t client_time,
                                 bool reply_requested)
{
    out[0] = 'r';
    p2d_be64_put(out + 1, write_lsn);
    p2d_be64_put(out + 9, flush_lsn);
    p2d_be64_put(out + 17, apply_lsn);
    p2d_be64_put(out + 25, (uint64_t)client_time);
    out[33] = reply_requested ? 1 : 0;
    return P2D_STANDBY_STATUS_LEN;
}
