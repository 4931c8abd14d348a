/*
 * txn_order_test.c - the pgoutput ordering state machine (Appendix A):
 * plain transactions, origin, non-transactional messages, streamed
 * transactions interleaved with plain ones, subtransaction aborts that drop
 * exactly the right items, top-level aborts, commits; and every ordering
 * violation (nested / missing Begin, Commit LSN mismatch, unknown xid,
 * items outside blocks), after which the state is unchanged.
 */
#include <stdio.h>

#include "cdc/txn_order.h"
#include "p2d_error.h"
#include "testlib.h"

static struct p2d_pgmsg m;

static const struct p2d_pgmsg *begin(uint32_t xid, uint64_t final_lsn)
{
    p2d_pgmsg_init(&m, NULL, 0, NULL, 0);
    m.kind = P2D_PGMSG_BEGIN;
    m.u.begin.xid = xid;
    m.u.begin.final_lsn = final_lsn;
    return &m;
}

static const struct p2d_pgmsg *commit(uint64_t commit_lsn)
{
    p2d_pgmsg_init(&m, NULL, 0, NULL, 0);
    m.kind = P2D_PGMSG_COMMIT;
    m.u.commit.commit_lsn = commit_lsn;
    m.u.commit.end_lsn = commit_lsn + 0x38;
    return &m;
}

/* A change of kind k; xid > 0 means it carries a stream xid. */
static const struct p2d_pgmsg *change(enum p2d_pgmsg_kind k, uint32_t xid)
{
    p2d_pgmsg_init(&m, NULL, 0, NULL, 0);
    m.kind = k;
    m.has_xid = xid != 0;
    m.xid = xid;
    if (k == P2D_PGMSG_MESSAGE)
        m.u.message.flags = P2D_MESSAGE_TRANSACTIONAL;
    return &m;
}

static const struct p2d_pgmsg *nontxn_message(void)
{
    change(P2D_PGMSG_MESSAGE, 0);
    m.u.message.flags = 0;
    return &m;
}

static const struct p2d_pgmsg *sstart(uint32_t xid, bool first)
{
    p2d_pgmsg_init(&m, NULL, 0, NULL, 0);
    m.kind = P2D_PGMSG_STREAM_START;
    m.u.stream_start.xid = xid;
    m.u.stream_start.first_segment = first;
    return &m;
}

static const struct p2d_pgmsg *sstop(void)
{
    p2d_pgmsg_init(&m, NULL, 0, NULL, 0);
    m.kind = P2D_PGMSG_STREAM_STOP;
    return &m;
}

static const struct p2d_pgmsg *scommit(uint32_t xid)
{
    p2d_pgmsg_init(&m, NULL, 0, NULL, 0);
    m.kind = P2D_PGMSG_STREAM_COMMIT;
    m.u.stream_commit.xid = xid;
    return &m;
}

static const struct p2d_pgmsg *sabort(uint32_t xid, uint32_t subxid)
{
    p2d_pgmsg_init(&m, NULL, 0, NULL, 0);
    m.kind = P2D_PGMSG_STREAM_ABORT;
    m.u.stream_abort.xid = xid;
    m.u.stream_abort.subxid = subxid;
    return &m;
}

static struct p2d_txn_step st;
static struct p2d_pgerr err;

#define FEED_OK(t, message, want_action)                                                           \
    do {                                                                                           \
        int rc_ = p2d_txn_order_feed((t), (message), &st, &err);                                   \
        if (rc_ != 0)                                                                              \
            t_fail_at(__FILE__, __LINE__, "feed failed: %s", err.msg);                             \
        T_EQ_INT(st.action, want_action);                                                          \
    } while (0)

#define FEED_BAD(t, message, want)                                                                 \
    do {                                                                                           \
        T_EQ_INT(p2d_txn_order_feed((t), (message), &st, &err), P2D_EPROTO);                       \
        T_HAS_STR(err.msg, want);                                                                  \
    } while (0)

static void test_plain(void)
{
    struct p2d_txn_order *t = p2d_txn_order_create(4, 8);

    FEED_OK(t, begin(736, 0x194F2A0), P2D_TXN_OPEN);
    T_EQ_INT(st.xid, 736);
    p2d_pgmsg_init(&m, NULL, 0, NULL, 0);
    m.kind = P2D_PGMSG_ORIGIN;
    FEED_OK(t, &m, P2D_TXN_APPLY);
    FEED_OK(t, change(P2D_PGMSG_RELATION, 0), P2D_TXN_APPLY);
    FEED_OK(t, change(P2D_PGMSG_TYPE, 0), P2D_TXN_APPLY);
    FEED_OK(t, change(P2D_PGMSG_INSERT, 0), P2D_TXN_APPLY);
    FEED_OK(t, change(P2D_PGMSG_UPDATE, 0), P2D_TXN_APPLY);
    FEED_OK(t, change(P2D_PGMSG_DELETE, 0), P2D_TXN_APPLY);
    FEED_OK(t, change(P2D_PGMSG_TRUNCATE, 0), P2D_TXN_APPLY);
    FEED_OK(t, change(P2D_PGMSG_MESSAGE, 0), P2D_TXN_APPLY);
    T_EQ_INT(st.xid, 736);
    /* errors leave the state as it was */
    m.kind = P2D_PGMSG_ORIGIN;
    FEED_BAD(t, &m, "origin must come right after Begin");
    FEED_BAD(t, begin(737, 1), "a transaction is open");
    FEED_BAD(t, nontxn_message(), "non-transactional message inside xid 736");
    FEED_BAD(t, sstart(900, true), "a Commit must come first");
    FEED_BAD(t, change(P2D_PGMSG_INSERT, 5), "stream xid outside a stream block");
    FEED_BAD(t, commit(0x194F2A1),
             "unexpected pgoutput Commit: commit LSN 0/194F2A1 of xid 736 differs from its Begin's "
             "final LSN 0/194F2A0");
    FEED_OK(t, commit(0x194F2A0), P2D_TXN_COMMIT);
    T_EQ_INT(st.xid, 736);

    /* idle */
    FEED_BAD(t, commit(0x194F2A0), "no transaction is open");
    FEED_BAD(t, change(P2D_PGMSG_INSERT, 0), "a Begin or Stream Start must come first");
    FEED_BAD(t, change(P2D_PGMSG_RELATION, 0), "no transaction is open");
    FEED_BAD(t, change(P2D_PGMSG_MESSAGE, 0), "transactional message but no transaction");
    FEED_BAD(t, sstop(), "no transaction is open");
    FEED_OK(t, nontxn_message(), P2D_TXN_NONTXN);
    FEED_OK(t, begin(738, 5), P2D_TXN_OPEN);
    FEED_OK(t, commit(5), P2D_TXN_COMMIT);
    T_CHECK(!p2d_txn_order_in_stream(t));
    T_EQ_INT(p2d_txn_order_feed(t, NULL, &st, &err), P2D_EINVAL);
    p2d_txn_order_destroy(t);
    p2d_txn_order_destroy(NULL);
}

static void test_streams(void)
{
    struct p2d_txn_order *t = p2d_txn_order_create(2, 4);

    T_CHECK(p2d_txn_order_create(0, 1) == NULL);
    FEED_BAD(t, sstart(900, false), "whose first segment was not seen");
    FEED_BAD(t, scommit(900), "xid 900 was never streamed");
    FEED_BAD(t, sabort(900, 900), "xid 900 was never streamed");

    FEED_OK(t, sstart(900, true), P2D_TXN_STREAM_OPEN);
    T_CHECK(st.first_segment);
    T_CHECK(p2d_txn_order_in_stream(t));
    FEED_OK(t, change(P2D_PGMSG_RELATION, 900), P2D_TXN_BUFFER);
    T_EQ_INT(st.seq, 0);
    FEED_OK(t, change(P2D_PGMSG_INSERT, 900), P2D_TXN_BUFFER);
    T_EQ_INT(st.seq, 1);
    FEED_OK(t, change(P2D_PGMSG_INSERT, 901), P2D_TXN_BUFFER); /* subxact 901 */
    T_EQ_INT(st.xid, 900);
    T_EQ_INT(st.subxid, 901);
    T_EQ_INT(st.seq, 2);
    FEED_OK(t, change(P2D_PGMSG_UPDATE, 901), P2D_TXN_BUFFER);
    FEED_BAD(t, change(P2D_PGMSG_INSERT, 0), "carries no xid");
    FEED_BAD(t, nontxn_message(), "no xid");
    FEED_BAD(t, begin(1, 1), "a Stream Stop must come first");
    FEED_BAD(t, sstart(900, false), "stream block is open");
    FEED_BAD(t, scommit(900), "stream block is open");
    FEED_OK(t, sstop(), P2D_TXN_STREAM_CLOSE);
    T_EQ_INT(st.xid, 900);

    /* a plain transaction between the blocks */
    FEED_OK(t, begin(950, 7), P2D_TXN_OPEN);
    FEED_OK(t, change(P2D_PGMSG_INSERT, 0), P2D_TXN_APPLY);
    FEED_OK(t, commit(7), P2D_TXN_COMMIT);

    /* second stream, then back to 900 */
    FEED_OK(t, sstart(910, true), P2D_TXN_STREAM_OPEN);
    FEED_OK(t, change(P2D_PGMSG_INSERT, 910), P2D_TXN_BUFFER);
    T_EQ_INT(st.seq, 0);
    FEED_OK(t, sstop(), P2D_TXN_STREAM_CLOSE);
    T_EQ_INT(p2d_txn_order_feed(t, sstart(920, true), &st, &err), P2D_EFULL);
    T_HAS_STR(err.msg, "pgoutput Stream Start: more than 2 streamed transactions");
    FEED_BAD(t, sstart(900, true), "streaming already");

    FEED_OK(t, sstart(900, false), P2D_TXN_STREAM_OPEN);
    T_CHECK(!st.first_segment);
    FEED_OK(t, change(P2D_PGMSG_INSERT, 902), P2D_TXN_BUFFER); /* subxact 902 */
    T_EQ_INT(st.seq, 4);
    FEED_OK(t, change(P2D_PGMSG_INSERT, 903), P2D_TXN_BUFFER); /* 903, nested in 902 */
    FEED_OK(t, change(P2D_PGMSG_DELETE, 900), P2D_TXN_BUFFER);
    T_EQ_INT(st.seq, 6);
    FEED_OK(t, change(P2D_PGMSG_INSERT, 904), P2D_TXN_BUFFER);
    T_EQ_INT(p2d_txn_order_feed(t, change(P2D_PGMSG_INSERT, 905), &st, &err), P2D_EFULL);
    T_HAS_STR(err.msg, "more than 4 subtransactions");
    FEED_OK(t, sstop(), P2D_TXN_STREAM_CLOSE);

    /* abort of 904: drops its one item (seq 7) */
    FEED_OK(t, sabort(900, 904), P2D_TXN_DISCARD_SUBXACT);
    T_EQ_INT(st.xid, 900);
    T_EQ_INT(st.subxid, 904);
    T_EQ_INT(st.from_seq, 7);
    T_EQ_INT(st.count, 1);
    /* abort of 902: drops from its first item on (seq 4..6: 902, 903, and the
     * top-level delete made after it, as PostgreSQL's subscriber does) */
    FEED_OK(t, sabort(900, 902), P2D_TXN_DISCARD_SUBXACT);
    T_EQ_INT(st.from_seq, 4);
    T_EQ_INT(st.count, 3);
    /* 903 went with it; aborting a subxact without items drops nothing */
    FEED_OK(t, sabort(900, 903), P2D_TXN_DISCARD_SUBXACT);
    T_EQ_INT(st.count, 0);
    T_EQ_INT(st.from_seq, 4);

    FEED_OK(t, sstart(900, false), P2D_TXN_STREAM_OPEN);
    FEED_OK(t, change(P2D_PGMSG_INSERT, 905), P2D_TXN_BUFFER); /* room again */
    T_EQ_INT(st.seq, 4);
    FEED_OK(t, sstop(), P2D_TXN_STREAM_CLOSE);
    FEED_OK(t, scommit(900), P2D_TXN_STREAM_COMMIT);
    T_EQ_INT(st.xid, 900);
    T_EQ_INT(st.count, 5);
    FEED_BAD(t, scommit(900), "never streamed");

    /* top-level abort of 910 drops everything */
    FEED_OK(t, sabort(910, 910), P2D_TXN_STREAM_ABORT);
    T_EQ_INT(st.count, 1);
    FEED_BAD(t, sabort(910, 910), "never streamed");

    /* reset forgets partial streams (reconnect) */
    FEED_OK(t, sstart(930, true), P2D_TXN_STREAM_OPEN);
    p2d_txn_order_reset(t);
    T_CHECK(!p2d_txn_order_in_stream(t));
    FEED_BAD(t, sstart(930, false), "first segment was not seen");
    p2d_txn_order_destroy(t);
}

int main(void)
{
    test_plain();
    test_streams();
    return t_done();
}
