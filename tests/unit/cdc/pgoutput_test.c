/*
 * pgoutput_test.c - pgoutput decoding (docs/pg-replication.md §3-§5): every
 * message type in protocol versions 1-4 built byte by byte by the small
 * encoder below, streamed variants carrying an xid, the CopyBoth frames,
 * the standby status update, malformed messages with their explanations,
 * and every truncation point of every valid message (an error, never a
 * crash: run under ASan on exact-size heap copies).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cdc/pgoutput.h"
#include "p2d_error.h"
#include "testlib.h"

/* ---- a tiny pgoutput encoder -------------------------------------------- */

struct enc {
    uint8_t b[4096];
    size_t n;
};

static void e8(struct enc *e, uint8_t v)
{
    e->b[e->n++] = v;
}

static void e16(struct enc *e, uint16_t v)
{
    e8(e, (uint8_t)(v >> 8));
    e8(e, (uint8_t)v);
}

static void e32(struct enc *e, uint32_t v)
{
    e16(e, (uint16_t)(v >> 16));
    e16(e, (uint16_t)v);
}

static void e64(struct enc *e, uint64_t v)
{
    e32(e, (uint32_t)(v >> 32));
    e32(e, (uint32_t)v);
}

static void estr(struct enc *e, const char *s)
{
    size_t k = strlen(s) + 1;

    memcpy(e->b + e->n, s, k);
    e->n += k;
}

static void eval(struct enc *e, char kind, const char *v)
{
    e8(e, (uint8_t)kind);
    if (kind == 't' || kind == 'b') {
        e32(e, (uint32_t)strlen(v));
        memcpy(e->b + e->n, v, strlen(v));
        e->n += strlen(v);
    }
}

/* The optional stream xid after the type byte. */
static void ehead(struct enc *e, char kind, bool in_stream, uint32_t xid)
{
    e->n = 0;
    e8(e, (uint8_t)kind);
    if (in_stream)
        e32(e, xid);
}

/* ---- the messages ---------------------------------------------------------- */

static void m_begin(struct enc *e, bool s)
{
    (void)s;
    ehead(e, 'B', false, 0);
    e64(e, 0x194F2A0);
    e64(e, 0x0002A5B1C2D3E4F5ULL);
    e32(e, 736);
}

static void m_commit(struct enc *e, bool s)
{
    (void)s;
    ehead(e, 'C', false, 0);
    e8(e, 0);
    e64(e, 0x194F2A0);
    e64(e, 0x194F2D8);
    e64(e, 0x0002A5B1C2D3E4F5ULL);
}

static void m_origin(struct enc *e, bool s)
{
    (void)s;
    ehead(e, 'O', false, 0);
    e64(e, 0xABCDEF);
    estr(e, "pg_16400");
}

static void m_relation(struct enc *e, bool s)
{
    ehead(e, 'R', s, 901);
    e32(e, 16385);
    estr(e, "public");
    estr(e, "t");
    e8(e, 'd');
    e16(e, 3);
    e8(e, 1);
    estr(e, "id");
    e32(e, 23);
    e32(e, 0xFFFFFFFF);
    e8(e, 0);
    estr(e, "amount");
    e32(e, 1700);
    e32(e, 786438);
    e8(e, 0);
    estr(e, "note");
    e32(e, 25);
    e32(e, 0xFFFFFFFF);
}

static void m_type(struct enc *e, bool s)
{
    ehead(e, 'Y', s, 901);
    e32(e, 24609);
    estr(e, "public");
    estr(e, "mood");
}

static void m_insert(struct enc *e, bool s)
{
    ehead(e, 'I', s, 902);
    e32(e, 16385);
    e8(e, 'N');
    e16(e, 4);
    eval(e, 't', "42");
    eval(e, 'n', NULL);
    eval(e, 'b', "\x01\x02");
    eval(e, 't', "");
}

static void m_update_plain(struct enc *e, bool s)
{
    ehead(e, 'U', s, 902);
    e32(e, 16385);
    e8(e, 'N');
    e16(e, 3);
    eval(e, 't', "1");
    eval(e, 't', "x");
    eval(e, 'u', NULL);
}

static void m_update_key(struct enc *e, bool s)
{
    ehead(e, 'U', s, 902);
    e32(e, 16385);
    e8(e, 'K');
    e16(e, 3);
    eval(e, 't', "5001");
    eval(e, 'n', NULL);
    eval(e, 'n', NULL);
    e8(e, 'N');
    e16(e, 3);
    eval(e, 't', "5002");
    eval(e, 't', "y");
    eval(e, 'u', NULL);
}

static void m_update_old(struct enc *e, bool s)
{
    ehead(e, 'U', s, 902);
    e32(e, 16385);
    e8(e, 'O');
    e16(e, 2);
    eval(e, 't', "7");
    eval(e, 't', "old toast value");
    e8(e, 'N');
    e16(e, 2);
    eval(e, 't', "7");
    eval(e, 'u', NULL);
}

static void m_delete_key(struct enc *e, bool s)
{
    ehead(e, 'D', s, 902);
    e32(e, 16385);
    e8(e, 'K');
    e16(e, 2);
    eval(e, 't', "9");
    eval(e, 'n', NULL);
}

static void m_delete_old(struct enc *e, bool s)
{
    ehead(e, 'D', s, 902);
    e32(e, 16385);
    e8(e, 'O');
    e16(e, 2);
    eval(e, 't', "9");
    eval(e, 't', "row");
}

static void m_truncate(struct enc *e, bool s)
{
    ehead(e, 'T', s, 902);
    e32(e, 2);
    e8(e, 3);
    e32(e, 16385);
    e32(e, 16390);
}

static void m_message(struct enc *e, bool s)
{
    ehead(e, 'M', s, 902);
    e8(e, 1);
    e64(e, 0x1952180);
    estr(e, "pfx");
    e32(e, 5);
    memcpy(e->b + e->n, "he\0lo", 5);
    e->n += 5;
}

static void m_stream_start(struct enc *e, bool s)
{
    (void)s;
    ehead(e, 'S', false, 0);
    e32(e, 901);
    e8(e, 1);
}

static void m_stream_stop(struct enc *e, bool s)
{
    (void)s;
    ehead(e, 'E', false, 0);
}

static void m_stream_commit(struct enc *e, bool s)
{
    (void)s;
    ehead(e, 'c', false, 0);
    e32(e, 901);
    e8(e, 0);
    e64(e, 0x2000000);
    e64(e, 0x2000038);
    e64(e, 12345);
}

static void m_stream_abort(struct enc *e, bool s)
{
    (void)s;
    ehead(e, 'A', false, 0);
    e32(e, 901);
    e32(e, 903);
}

static void m_stream_abort_v4(struct enc *e, bool s)
{
    m_stream_abort(e, s);
    e64(e, 0x3000000);
    e64(e, 777);
}

struct mcase {
    const char *name;
    void (*build)(struct enc *, bool);
    int min_proto;   /* lowest protocol that has it */
    bool streamable; /* may appear inside a stream block (then with an xid) */
};

static const struct mcase cases[] = {
    {"begin", m_begin, 1, false},
    {"commit", m_commit, 1, false},
    {"origin", m_origin, 1, false},
    {"relation", m_relation, 1, true},
    {"type", m_type, 1, true},
    {"insert", m_insert, 1, true},
    {"update", m_update_plain, 1, true},
    {"update K", m_update_key, 1, true},
    {"update O", m_update_old, 1, true},
    {"delete K", m_delete_key, 1, true},
    {"delete O", m_delete_old, 1, true},
    {"truncate", m_truncate, 1, true},
    {"message", m_message, 1, true},
    {"stream start", m_stream_start, 2, false},
    {"stream stop", m_stream_stop, 2, false},
    {"stream commit", m_stream_commit, 2, false},
    {"stream abort", m_stream_abort, 2, false},
    {"stream abort v4", m_stream_abort_v4, 4, false},
};

static struct p2d_pgval vals[64];
static struct p2d_pgrelcol cols[16];

/* Decodes an exact-size heap copy, so ASan sees any overread. */
static int decode(const uint8_t *p, size_t n, int proto, bool in_stream, struct p2d_pgmsg *m,
                  struct p2d_pgerr *err)
{
    uint8_t *copy = malloc(n ? n : 1);
    int rc;

    memcpy(copy, p, n);
    p2d_pgmsg_init(m, vals, 64, cols, 16);
    rc = p2d_pgoutput_decode(copy, n, proto, in_stream, m, err);
    free(copy);
    return rc;
}

static bool val_is(const struct p2d_pgval *v, char kind, const char *text)
{
    if (v->kind != kind)
        return false;
    if (!text)
        return v->data == NULL && v->len == 0;
    return v->len == strlen(text) && memcmp(v->data, text, v->len) == 0;
}

/* Values: decode while the input is alive (slices point into it). */
static void test_values(void)
{
    struct enc e;
    struct p2d_pgmsg m;
    struct p2d_pgerr err;

    for (int proto = 1; proto <= 4; proto++) {
        m_begin(&e, false);
        p2d_pgmsg_init(&m, vals, 64, cols, 16);
        T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, proto, false, &m, &err), 0);
        T_EQ_INT(m.kind, P2D_PGMSG_BEGIN);
        T_EQ_INT(m.u.begin.final_lsn, 0x194F2A0);
        T_EQ_INT(m.u.begin.commit_ts, 0x0002A5B1C2D3E4F5LL);
        T_EQ_INT(m.u.begin.xid, 736);
        T_CHECK(!m.has_xid);
    }

    m_commit(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 1, false, &m, &err), 0);
    T_EQ_INT(m.u.commit.commit_lsn, 0x194F2A0);
    T_EQ_INT(m.u.commit.end_lsn, 0x194F2D8);
    T_EQ_INT(m.u.commit.flags, 0);

    m_origin(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 1, false, &m, &err), 0);
    T_EQ_INT(m.u.origin.lsn, 0xABCDEF);
    T_EQ_STR(m.u.origin.name, "pg_16400");

    for (int s = 0; s <= 1; s++) {
        int proto = s ? 2 : 1;

        m_relation(&e, s);
        T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, proto, s, &m, &err), 0);
        T_EQ_INT(m.kind, P2D_PGMSG_RELATION);
        T_EQ_INT(m.has_xid, s);
        T_EQ_INT(m.xid, s ? 901 : 0);
        T_EQ_INT(m.u.relation.relid, 16385);
        T_EQ_STR(m.u.relation.nspname, "public");
        T_EQ_STR(m.u.relation.relname, "t");
        T_EQ_INT(m.u.relation.replident, 'd');
        T_EQ_INT(m.u.relation.ncols, 3);
        T_EQ_STR(m.u.relation.cols[0].name, "id");
        T_EQ_INT(m.u.relation.cols[0].flags, P2D_PGCOL_KEY);
        T_EQ_INT(m.u.relation.cols[0].typmod, -1);
        T_EQ_STR(m.u.relation.cols[1].name, "amount");
        T_EQ_INT(m.u.relation.cols[1].typoid, 1700);
        T_EQ_INT(m.u.relation.cols[1].typmod, 786438);
        T_EQ_INT(m.u.relation.cols[2].flags, 0);
    }

    m_type(&e, true);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 3, true, &m, &err), 0);
    T_EQ_INT(m.u.type.oid, 24609);
    T_EQ_STR(m.u.type.nspname, "public");
    T_EQ_STR(m.u.type.typname, "mood");
    T_EQ_INT(m.xid, 901);

    m_insert(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 1, false, &m, &err), 0);
    T_EQ_INT(m.kind, P2D_PGMSG_INSERT);
    T_EQ_INT(m.u.change.relid, 16385);
    T_EQ_INT(m.u.change.old_kind, 0);
    T_CHECK(m.u.change.has_new);
    T_EQ_INT(m.u.change.newtup.ncols, 4);
    T_CHECK(val_is(&m.u.change.newtup.vals[0], 't', "42"));
    T_CHECK(val_is(&m.u.change.newtup.vals[1], 'n', NULL));
    T_CHECK(val_is(&m.u.change.newtup.vals[2], 'b', "\x01\x02"));
    T_CHECK(val_is(&m.u.change.newtup.vals[3], 't', ""));
    T_CHECK(m.u.change.newtup.vals[0].data == e.b + 13); /* a slice, not a copy */

    m_update_plain(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 1, false, &m, &err), 0);
    T_EQ_INT(m.u.change.old_kind, 0);
    T_EQ_INT(m.u.change.newtup.ncols, 3);
    T_CHECK(val_is(&m.u.change.newtup.vals[2], 'u', NULL));

    m_update_key(&e, true);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 2, true, &m, &err), 0);
    T_EQ_INT(m.xid, 902);
    T_EQ_INT(m.u.change.old_kind, 'K');
    T_EQ_INT(m.u.change.old.ncols, 3);
    T_CHECK(val_is(&m.u.change.old.vals[0], 't', "5001"));
    T_CHECK(val_is(&m.u.change.old.vals[1], 'n', NULL));
    T_EQ_INT(m.u.change.newtup.ncols, 3);
    T_CHECK(val_is(&m.u.change.newtup.vals[0], 't', "5002"));
    T_CHECK(val_is(&m.u.change.newtup.vals[2], 'u', NULL));
    T_CHECK(m.u.change.newtup.vals == m.u.change.old.vals + 3);

    m_update_old(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 1, false, &m, &err), 0);
    T_EQ_INT(m.u.change.old_kind, 'O');
    T_CHECK(val_is(&m.u.change.old.vals[1], 't', "old toast value"));
    T_CHECK(val_is(&m.u.change.newtup.vals[1], 'u', NULL));

    m_delete_key(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 1, false, &m, &err), 0);
    T_EQ_INT(m.kind, P2D_PGMSG_DELETE);
    T_EQ_INT(m.u.change.old_kind, 'K');
    T_CHECK(!m.u.change.has_new);
    T_CHECK(val_is(&m.u.change.old.vals[0], 't', "9"));

    m_delete_old(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 1, false, &m, &err), 0);
    T_EQ_INT(m.u.change.old_kind, 'O');
    T_CHECK(val_is(&m.u.change.old.vals[1], 't', "row"));

    m_truncate(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 1, false, &m, &err), 0);
    T_EQ_INT(m.u.truncate.nrels, 2);
    T_EQ_INT(m.u.truncate.flags, P2D_TRUNCATE_CASCADE | P2D_TRUNCATE_RESTART_IDENTITY);
    T_EQ_INT(p2d_pgmsg_truncate_relid(&m, 0), 16385);
    T_EQ_INT(p2d_pgmsg_truncate_relid(&m, 1), 16390);

    m_message(&e, true);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 2, true, &m, &err), 0);
    T_EQ_INT(m.u.message.flags, P2D_MESSAGE_TRANSACTIONAL);
    T_EQ_INT(m.u.message.lsn, 0x1952180);
    T_EQ_STR(m.u.message.prefix, "pfx");
    T_EQ_INT(m.u.message.content_len, 5);
    T_CHECK(memcmp(m.u.message.content, "he\0lo", 5) == 0);

    m_stream_start(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 2, false, &m, &err), 0);
    T_EQ_INT(m.u.stream_start.xid, 901);
    T_CHECK(m.u.stream_start.first_segment);

    m_stream_stop(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 2, true, &m, &err), 0);
    T_EQ_INT(m.kind, P2D_PGMSG_STREAM_STOP);

    m_stream_commit(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 3, false, &m, &err), 0);
    T_EQ_INT(m.u.stream_commit.xid, 901);
    T_EQ_INT(m.u.stream_commit.commit_lsn, 0x2000000);
    T_EQ_INT(m.u.stream_commit.end_lsn, 0x2000038);
    T_EQ_INT(m.u.stream_commit.commit_ts, 12345);

    for (int proto = 2; proto <= 4; proto++) {
        m_stream_abort(&e, false);
        T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, proto, false, &m, &err), 0);
        T_EQ_INT(m.u.stream_abort.xid, 901);
        T_EQ_INT(m.u.stream_abort.subxid, 903);
        T_CHECK(!m.u.stream_abort.has_abort_info);
    }
    m_stream_abort_v4(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 4, false, &m, &err), 0);
    T_CHECK(m.u.stream_abort.has_abort_info);
    T_EQ_INT(m.u.stream_abort.abort_lsn, 0x3000000);
    T_EQ_INT(m.u.stream_abort.abort_ts, 777);
    /* abort info is a v4 addition: on v2/v3 those bytes are trailing junk */
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 3, false, &m, &err), P2D_EPROTO);
    T_HAS_STR(err.msg, "trailing");
}

/* A valid message cut anywhere, or with a byte appended, is an error. */
static void test_truncations(void)
{
    int checked = 0;

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int proto = cases[c].min_proto; proto <= 4; proto++) {
            for (int s = 0; s <= (cases[c].streamable && proto >= 2); s++) {
                struct enc e;
                struct p2d_pgmsg m;
                struct p2d_pgerr err;
                int rc;

                cases[c].build(&e, s);
                rc = decode(e.b, e.n, proto, s, &m, &err);
                if (rc != 0)
                    t_fail_at(__FILE__, __LINE__, "%s proto %d stream %d: %s", cases[c].name, proto,
                              s, err.msg);
                for (size_t cut = 0; cut < e.n; cut++) {
                    /* a v4 Stream Abort cut right after the subxid is the
                     * shorter valid form, not an error */
                    if (cases[c].build == m_stream_abort_v4 && cut == 9)
                        continue;
                    err.msg[0] = 0;
                    rc = decode(e.b, cut, proto, s, &m, &err);
                    if (rc != P2D_EPROTO || err.msg[0] == 0 || err.offset > cut)
                        t_fail_at(__FILE__, __LINE__, "%s proto %d cut at %zu: rc %d, \"%s\"",
                                  cases[c].name, proto, cut, rc, err.msg);
                    else
                        t_passed++;
                    checked++;
                }
                e.b[e.n++] = 0;
                T_EQ_INT(decode(e.b, e.n, proto, s, &m, &err), P2D_EPROTO);
                /* on v4 a Stream Abort's extra bytes are read as abort info */
                if (!(proto == 4 && cases[c].build == m_stream_abort))
                    T_HAS_STR(err.msg, "trailing");
                else
                    T_HAS_STR(err.msg, "abort LSN");
            }
        }
    }
    printf("truncation points checked: %d\n", checked);
    T_CHECK(checked > 1000);
}

struct bad {
    const char *name;
    const char *hex; /* the message */
    int proto;
    bool in_stream;
    int want_rc;
    const char *want_msg;
};

static const struct bad bads[] = {
    {"empty", "", 1, false, P2D_EPROTO, "empty message"},
    {"unknown type", "7a", 1, false, P2D_EPROTO, "unknown message type 0x7a"},
    {"two-phase", "62", 3, false, P2D_EPROTO, "two_phase"},
    {"stream on v1", "45", 1, false, P2D_EPROTO, "protocol version 2"},
    {"stream flag on v1", "45", 1, true, P2D_EINVAL, "version 2"},
    {"bad proto", "45", 5, false, P2D_EINVAL, "unsupported protocol"},
    {"commit flags", "4301", 1, false, P2D_EPROTO, "flags 0x01, must be 0"},
    {"begin inside stream", "42", 2, true, P2D_EPROTO, "not allowed inside a stream block"},
    {"bad replident", "520000400174007400780000", 1, false, P2D_EPROTO, "replica identity 0x78"},
    {"relation name no NUL", "5200004001707562", 1, false, P2D_EPROTO, "not NUL-terminated"},
    {"relation too many cols", "52000040010074006400ff", 1, false, P2D_EPROTO, "cannot fit"},
    {"relation col flags", "52000040010074006400010200610000001700000000", 1, false, P2D_EPROTO,
     "unknown flags 0x02"},
    {"tuple kind", "49000040014e000178", 1, false, P2D_EPROTO, "unknown value kind 0x78"},
    {"tuple len", "49000040014e00017400000009616263", 1, false, P2D_EPROTO,
     "value length 9 exceeds the 3 bytes left"},
    {"tuple negative len", "49000040014e000174ffffffff", 1, false, P2D_EPROTO, "negative length"},
    {"tuple ncols", "49000040014e0005", 1, false, P2D_EPROTO, "claims 5 columns"},
    {"insert marker", "49000040014b00016e", 1, false, P2D_EPROTO, "want 'N'"},
    {"update marker", "5500004001580001", 1, false, P2D_EPROTO, "want 'K', 'O' or 'N'"},
    {"update after K", "55000040014b00016e4b00016e", 1, false, P2D_EPROTO,
     "'N' after the old tuple"},
    {"delete marker", "44000040014e00016e", 1, false, P2D_EPROTO, "want 'K' or 'O'"},
    {"truncate zero", "540000000000", 1, false, P2D_EPROTO, "relation count 0"},
    {"truncate count", "54000000030000004001", 1, false, P2D_EPROTO, "relation count 3"},
    {"truncate flags", "54000000010400004001", 1, false, P2D_EPROTO, "unknown options 0x04"},
    {"message flags", "4d02", 1, false, P2D_EPROTO, "unknown flags 0x02"},
    {"message len", "4d0000000000000000017000000000ff6162", 1, false, P2D_EPROTO,
     "content length 255 exceeds the 2 bytes left"},
    {"stream start flag", "530000038502", 2, false, P2D_EPROTO, "first segment flag 2"},
    {"stream commit flags", "630000038501", 2, false, P2D_EPROTO, "must be 0"},
    {"stream abort short info", "41000003850000038700000000", 4, false, P2D_EPROTO, "abort LSN"},
};

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;

    for (; h[0] && h[1]; h += 2) {
        unsigned v;

        sscanf(h, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void test_bad(void)
{
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        uint8_t b[256];
        size_t n = unhex(bads[i].hex, b);
        struct p2d_pgmsg m;
        struct p2d_pgerr err;
        int rc = decode(b, n, bads[i].proto, bads[i].in_stream, &m, &err);

        if (rc != bads[i].want_rc || !strstr(err.msg, bads[i].want_msg))
            t_fail_at(__FILE__, __LINE__, "%s: rc %d (want %d), \"%s\" (want \"%s\")", bads[i].name,
                      rc, bads[i].want_rc, err.msg, bads[i].want_msg);
        else
            t_passed++;
    }
}

static void test_capacity(void)
{
    struct enc e;
    struct p2d_pgmsg m;
    struct p2d_pgerr err;
    struct p2d_pgval few[4];
    struct p2d_pgrelcol fewcols[2];

    /* Update K(3) + N(3) needs 6 value slots */
    m_update_key(&e, false);
    p2d_pgmsg_init(&m, few, 4, fewcols, 2);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 1, false, &m, &err), P2D_EFULL);
    T_HAS_STR(err.msg, "new tuple has 3 columns, more than the 1 value slots left");
    m_relation(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 1, false, &m, &err), P2D_EFULL);
    T_HAS_STR(err.msg, "relation \"t\" has 3 columns, more than the 2 column slots");
    p2d_pgmsg_init(&m, NULL, 0, NULL, 0);
    m_insert(&e, false);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 1, false, &m, &err), P2D_EFULL);
    /* the error names the message, the problem and the offset */
    T_HAS_STR(err.msg, "pgoutput Insert (proto 1)");
    T_HAS_STR(err.msg, "at byte 8 of");
    T_EQ_INT(err.offset, 8);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 1, false, NULL, &err), P2D_EINVAL);
    T_EQ_INT(p2d_pgoutput_decode(e.b, e.n, 1, false, &m, NULL), P2D_EFULL); /* err optional */
}

static void test_frames(void)
{
    uint8_t b[64];
    struct p2d_walmsg w;
    struct p2d_pgerr err;
    struct enc e;

    e.n = 0;
    e8(&e, 'w');
    e64(&e, 0x194F2A0);
    e64(&e, 0x194F2A0);
    e64(&e, 1000);
    e8(&e, 'E');
    T_EQ_INT(p2d_walmsg_decode(e.b, e.n, &w, &err), 0);
    T_EQ_INT(w.kind, 'w');
    T_EQ_INT(w.wal_start, 0x194F2A0);
    T_EQ_INT(w.wal_end, 0x194F2A0);
    T_EQ_INT(w.send_time, 1000);
    T_EQ_INT(w.payload_len, 1);
    T_CHECK(w.payload == e.b + 25);
    for (size_t cut = 0; cut < e.n; cut++)
        T_EQ_INT(p2d_walmsg_decode(e.b, cut, &w, &err), P2D_EPROTO);

    e.n = 0;
    e8(&e, 'k');
    e64(&e, 0xC7633E8);
    e64(&e, (uint64_t)-5);
    e8(&e, 1);
    T_EQ_INT(e.n, P2D_KEEPALIVE_LEN);
    T_EQ_INT(p2d_walmsg_decode(e.b, e.n, &w, &err), 0);
    T_EQ_INT(w.kind, 'k');
    T_EQ_INT(w.wal_end, 0xC7633E8);
    T_EQ_INT(w.send_time, -5);
    T_CHECK(w.reply_requested);
    for (size_t cut = 0; cut < e.n; cut++)
        T_EQ_INT(p2d_walmsg_decode(e.b, cut, &w, &err), P2D_EPROTO);
    e.b[17] = 2;
    T_EQ_INT(p2d_walmsg_decode(e.b, e.n, &w, &err), P2D_EPROTO);
    T_HAS_STR(err.msg, "primary keepalive: reply-requested flag 2");
    e.b[17] = 0;
    e8(&e, 0);
    T_EQ_INT(p2d_walmsg_decode(e.b, e.n, &w, &err), P2D_EPROTO);
    T_HAS_STR(err.msg, "trailing");
    b[0] = 'h';
    T_EQ_INT(p2d_walmsg_decode(b, 1, &w, &err), P2D_EPROTO);
    T_HAS_STR(err.msg, "unknown message type 0x68");

    /* 'r': 34 bytes, big-endian, PostgreSQL epoch */
    T_EQ_INT(p2d_standby_status_encode(b, 0x0102030405060708ULL, 0x194F628, 0,
                                       p2d_pg_time_from_unix_us(INT64_C(946684800000001)), true),
             34);
    T_EQ_INT(b[0], 'r');
    T_EQ_INT(p2d_be64_get(b + 1), 0x0102030405060708ULL);
    T_EQ_INT(b[1], 1);
    T_EQ_INT(b[8], 8);
    T_EQ_INT(p2d_be64_get(b + 9), 0x194F628);
    T_EQ_INT(p2d_be64_get(b + 17), 0);
    T_EQ_INT(p2d_be64_get(b + 25), 1);
    T_EQ_INT(b[33], 1);
    p2d_standby_status_encode(b, 1, 2, 3, -1, false);
    T_EQ_INT(b[33], 0);
    T_EQ_INT((int64_t)p2d_be64_get(b + 25), -1);
}

int main(void)
{
    test_values();
    test_truncations();
    test_bad();
    test_capacity();
    test_frames();
    return t_done();
}
