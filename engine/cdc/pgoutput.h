/*
 * pgoutput.h - decoding of the logical replication stream: one pgoutput
 * message (protocol versions 1-4, docs/pg-replication.md §2.3, §4, §5), the
 * CopyBoth frames around it (XLogData 'w', primary keepalive 'k', §3.2-3.3)
 * and the standby status update 'r' we send back (§3.4).
 *
 * Pure: no I/O, no globals, no allocation. Strings, tuple values and other
 * variable parts are slices into the input: they are valid while the input
 * buffer is, and are never copied or NUL-terminated by the decoder (strings
 * of the protocol are NUL-terminated inside the message already).
 */
#ifndef P2D_PGOUTPUT_H
#define P2D_PGOUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- big-endian integers (explicit, never memcpy into host ints) ------- */

static inline uint16_t p2d_be16_get(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t p2d_be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t p2d_be64_get(const uint8_t *p)
{
    return (uint64_t)p2d_be32_get(p) << 32 | p2d_be32_get(p + 4);
}

static inline void p2d_be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void p2d_be64_put(uint8_t *p, uint64_t v)
{
    p2d_be32_put(p, (uint32_t)(v >> 32));
    p2d_be32_put(p + 4, (uint32_t)v);
}

/* ---- errors ------------------------------------------------------------ */

/*
 * Why a decode (or txn_order step) failed: msg says what was being decoded,
 * what was wrong and at which byte offset of the input, e.g.
 * "pgoutput Update (proto 1): tuple column 2 of 3: text length 900 exceeds
 * the 12 bytes left, at byte 27". offset repeats that byte offset.
 */
struct p2d_pgerr {
    size_t offset;
    char msg[256];
};

/* ---- one pgoutput message ---------------------------------------------- */

/* p2d_pgmsg.kind: the message's type byte */
enum p2d_pgmsg_kind {
    P2D_PGMSG_BEGIN = 'B',
    P2D_PGMSG_COMMIT = 'C',
    P2D_PGMSG_ORIGIN = 'O',
    P2D_PGMSG_RELATION = 'R',
    P2D_PGMSG_TYPE = 'Y',
    P2D_PGMSG_INSERT = 'I',
    P2D_PGMSG_UPDATE = 'U',
    P2D_PGMSG_DELETE = 'D',
    P2D_PGMSG_TRUNCATE = 'T',
    P2D_PGMSG_MESSAGE = 'M',
    P2D_PGMSG_STREAM_START = 'S', /* proto >= 2 */
    P2D_PGMSG_STREAM_STOP = 'E',
    P2D_PGMSG_STREAM_COMMIT = 'c',
    P2D_PGMSG_STREAM_ABORT = 'A',
};

/* p2d_pgval.kind: one column of TupleData */
#define P2D_PGVAL_NULL      'n'
#define P2D_PGVAL_UNCHANGED 'u' /* unchanged TOAST value: not sent, never write it as NULL */
#define P2D_PGVAL_TEXT      't' /* type output text, no NUL */
#define P2D_PGVAL_BINARY    'b' /* typsend bytes (binary COPY encoding) */

/* One column value; data/len are set for 't' and 'b' only (NULL/0 else). */
struct p2d_pgval {
    const uint8_t *data;
    uint32_t len;
    char kind;
};

/* TupleData: vals[0..ncols) point into the caller's p2d_pgmsg.vals array. */
struct p2d_pgtuple {
    struct p2d_pgval *vals;
    uint16_t ncols;
};

#define P2D_PGCOL_KEY 0x01 /* Relation column flag: part of the replica identity */

/* One column of a Relation message. */
struct p2d_pgrelcol {
    const char *name;
    uint32_t typoid;
    int32_t typmod; /* -1: none */
    uint8_t flags;  /* P2D_PGCOL_KEY */
};

/* Truncate flags and Message flags */
#define P2D_TRUNCATE_CASCADE          0x01
#define P2D_TRUNCATE_RESTART_IDENTITY 0x02
#define P2D_MESSAGE_TRANSACTIONAL     0x01

/*
 * A decoded message. The caller provides column storage before decoding
 * (p2d_pgmsg_init) and the decoder keeps it: vals (vals_cap entries) holds
 * tuple values (an Update's old tuple first, the new one after it), cols
 * (cols_cap entries) holds Relation columns. PostgreSQL tables have at most
 * 1600 columns, so 3200 vals and 1600 cols never run out.
 */
struct p2d_pgmsg {
    /* caller storage, borrowed for as long as the message is used */
    struct p2d_pgval *vals;
    int vals_cap;
    struct p2d_pgrelcol *cols;
    int cols_cap;

    /* result */
    enum p2d_pgmsg_kind kind;
    bool has_xid; /* R/Y/I/U/D/T/M inside a stream block carry the (sub)xid */
    uint32_t xid; /* that xid; 0 when !has_xid */
    union {
        struct {
            uint64_t final_lsn; /* start of the commit record == Commit.commit_lsn */
            int64_t commit_ts;  /* PostgreSQL epoch microseconds */
            uint32_t xid;
        } begin;
        struct {
            uint8_t flags; /* always 0 (anything else is refused) */
            uint64_t commit_lsn;
            uint64_t end_lsn; /* what to acknowledge (§3.5) */
            int64_t commit_ts;
        } commit;
        struct {
            uint64_t lsn;
            const char *name;
        } origin;
        struct {
            uint32_t relid;
            const char *nspname; /* "" = pg_catalog */
            const char *relname;
            char replident; /* 'd' 'n' 'f' 'i' */
            uint16_t ncols;
            struct p2d_pgrelcol *cols; /* == p2d_pgmsg.cols */
        } relation;
        struct {
            uint32_t oid;
            const char *nspname;
            const char *typname;
        } type;
        /* Insert: newtup only. Update: optional old ('K' key / 'O' full
         * row), then newtup. Delete: old only ('K' or 'O'). */
        struct {
            uint32_t relid;
            char old_kind; /* 0 (no old tuple), 'K' or 'O' */
            bool has_new;
            struct p2d_pgtuple old;
            struct p2d_pgtuple newtup;
        } change;
        struct {
            uint32_t nrels;
            uint8_t flags; /* P2D_TRUNCATE_* */
            /* nrels big-endian Int32 relids, a slice; read with
             * p2d_pgmsg_truncate_relid() */
            const uint8_t *relids_be;
        } truncate;
        struct {
            uint8_t flags; /* P2D_MESSAGE_TRANSACTIONAL */
            uint64_t lsn;
            const char *prefix;
            const uint8_t *content;
            uint32_t content_len;
        } message;
        struct {
            uint32_t xid;
            bool first_segment;
        } stream_start;
        struct {
            uint32_t xid;
            uint8_t flags; /* always 0 */
            uint64_t commit_lsn;
            uint64_t end_lsn;
            int64_t commit_ts;
        } stream_commit;
        struct {
            uint32_t xid;
            uint32_t subxid;     /* == xid: the whole transaction aborts */
            bool has_abort_info; /* proto 4 with streaming = parallel */
            uint64_t abort_lsn;
            int64_t abort_ts;
        } stream_abort;
    } u;
};

/* Prepares m to decode into; borrows vals and cols for as long as m is used. */
void p2d_pgmsg_init(struct p2d_pgmsg *m, struct p2d_pgval *vals, int vals_cap,
                    struct p2d_pgrelcol *cols, int cols_cap);

/* Relation OID i (0 <= i < nrels) of a decoded Truncate. */
static inline uint32_t p2d_pgmsg_truncate_relid(const struct p2d_pgmsg *m, uint32_t i)
{
    return p2d_be32_get(m->u.truncate.relids_be + 4 * (size_t)i);
}

/* "Begin", "Stream Abort", ... for a kind byte; "unknown" otherwise. */
const char *p2d_pgmsg_kind_name(int kind);

/*
 * Decodes one pgoutput message p[0..n): the payload of one XLogData after
 * its 25-byte header. proto_version (1..4) is the one given in
 * START_REPLICATION; in_stream says whether a Stream Start has been seen
 * without its Stream Stop (then R/Y/I/U/D/T/M carry an xid). Every length
 * and count is checked against the bytes left, strings must end inside the
 * message, and trailing bytes are refused.
 *
 * Fills out (keeping its storage fields); slices point into p and are valid
 * while p is. Returns 0; P2D_EPROTO for a malformed, truncated or unknown
 * message (including two-phase messages, which pg2doris never enables);
 * P2D_EFULL when a tuple or Relation has more columns than the caller's
 * storage; P2D_EINVAL for bad arguments. On error err (may be NULL) says
 * why and where, and out's result fields are unspecified.
 */
int p2d_pgoutput_decode(const uint8_t *p, size_t n, int proto_version, bool in_stream,
                        struct p2d_pgmsg *out, struct p2d_pgerr *err)
    __attribute__((warn_unused_result));

/* ---- CopyBoth frames ----------------------------------------------------- */

#define P2D_XLOGDATA_HEADER_LEN 25
#define P2D_KEEPALIVE_LEN       18
#define P2D_STANDBY_STATUS_LEN  34

/* Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL epoch). */
#define P2D_PG_EPOCH_OFFSET_US INT64_C(946684800000000)

/* One server -> client CopyData message of a replication connection. */
struct p2d_walmsg {
    char kind;              /* 'w' XLogData or 'k' primary keepalive */
    uint64_t wal_start;     /* 'w' only: == wal_end for logical walsenders */
    uint64_t wal_end;       /* 'w': LSN of the message (0 for R/Y); 'k': sent up to */
    int64_t send_time;      /* PostgreSQL epoch microseconds */
    bool reply_requested;   /* 'k' only: answer with an 'r' at once */
    const uint8_t *payload; /* 'w' only: the pgoutput message, a slice into p */
    size_t payload_len;
};

/*
 * Decodes one CopyData payload p[0..n) from PQgetCopyData: 'w' (at least 25
 * bytes; the rest is the payload) or 'k' (exactly 18 bytes, reply flag 0 or
 * 1). Returns 0 or P2D_EPROTO (anything else, truncated, or trailing
 * bytes), P2D_EINVAL for bad arguments; err (may be NULL) says why.
 * payload is valid while p is.
 */
int p2d_walmsg_decode(const uint8_t *p, size_t n, struct p2d_walmsg *out, struct p2d_pgerr *err)
    __attribute__((warn_unused_result));

/*
 * Writes the 34-byte standby status update 'r' into out: written, flushed
 * and applied LSNs (only flush moves the slot, §3.4), client_time in
 * PostgreSQL epoch microseconds, and whether the server should answer with
 * a keepalive at once. Returns P2D_STANDBY_STATUS_LEN.
 */
size_t p2d_standby_status_encode(uint8_t out[P2D_STANDBY_STATUS_LEN], uint64_t write_lsn,
                                 uint64_t flush_lsn, uint64_t apply_lsn, int64_t client_time,
                                 bool reply_requested);

/* PostgreSQL epoch microseconds from Unix epoch microseconds. */
static inline int64_t p2d_pg_time_from_unix_us(int64_t unix_us)
{
    return unix_us - P2D_PG_EPOCH_OFFSET_US;
}

#endif
