/*
 * txn_order.h - the ordering rules of the pgoutput stream
 * (docs/pg-replication.md Appendix A, §3.5, §4.1): fed every decoded
 * message in arrival order, it checks that the message may come now and
 * says what the caller must do with it.
 *
 *   idle --B--> in_txn --O R Y I U D T M(transactional)--> in_txn --C--> idle
 *   idle --M(non-transactional)--> idle
 *   idle --S(xid)--> in_stream --R Y I U D T M--> in_stream --E--> idle
 *   idle --c(xid) / A(xid, subxid)--> idle   (xid must have been streamed)
 *
 * Streamed transactions: changes of a stream block carry the xid of the
 * (sub)transaction that made them. Each top-level xid keeps a count of its
 * buffered items (seq 0, 1, ...) and, per subtransaction, the seq of its
 * first item. Stream Abort of a subxid discards that subxact's items the
 * way PostgreSQL's own subscriber does (worker.c stream_abort): every item
 * from the subxact's first one on, because later items belong to it or to
 * subxacts nested inside it, which the same abort ends. Nested or missing
 * Begin / Commit / Stream Start / Stop, a Commit whose commit_lsn differs
 * from Begin's final_lsn, or an unknown xid is an error (P2D_EPROTO).
 *
 * Pure (no I/O); memory bounded by the limits given at creation. One owner.
 */
#ifndef P2D_TXN_ORDER_H
#define P2D_TXN_ORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "cdc/pgoutput.h"

struct p2d_txn_order;

enum p2d_txn_action {
    P2D_TXN_OPEN = 1,        /* Begin: start a transaction (xid, final_lsn) */
    P2D_TXN_APPLY,           /* O/R/Y/I/U/D/T/M inside it: apply to the current transaction */
    P2D_TXN_COMMIT,          /* Commit: the current transaction is complete; ack end_lsn later */
    P2D_TXN_NONTXN,          /* non-transactional Message outside any transaction */
    P2D_TXN_STREAM_OPEN,     /* Stream Start: following items belong to xid */
    P2D_TXN_BUFFER,          /* item of streamed xid: buffer it as item seq (subxid made it) */
    P2D_TXN_STREAM_CLOSE,    /* Stream Stop */
    P2D_TXN_STREAM_COMMIT,   /* Stream Commit: items [0, nitems) of xid are committed */
    P2D_TXN_STREAM_ABORT,    /* Stream Abort of the top xid: drop all its items */
    P2D_TXN_DISCARD_SUBXACT, /* Stream Abort of subxid: drop items [from_seq, from_seq + count) */
};

/* What to do with one message. */
struct p2d_txn_step {
    enum p2d_txn_action action;
    uint32_t xid;       /* the transaction: Begin's xid, or the streamed top-level xid */
    uint32_t subxid;    /* BUFFER: the (sub)xid the item carries; DISCARD_SUBXACT: aborted one */
    uint64_t seq;       /* BUFFER: index of the item within its streamed xid */
    uint64_t from_seq;  /* DISCARD_SUBXACT: first dropped item */
    uint64_t count;     /* DISCARD_SUBXACT / STREAM_ABORT: items dropped; STREAM_COMMIT: kept */
    bool first_segment; /* STREAM_OPEN: first block of this xid */
};

/*
 * Creates a tracker for up to max_streams concurrently open streamed
 * transactions, each with up to max_subxacts subtransactions that made
 * changes. Returns NULL on bad limits (< 1) or when out of memory.
 */
struct p2d_txn_order *p2d_txn_order_create(int max_streams, int max_subxacts);

/* Frees it; accepts NULL. */
void p2d_txn_order_destroy(struct p2d_txn_order *t);

/* Back to idle with no streamed transactions, e.g. after a reconnect (the
 * server re-sends partial streamed transactions from their first block). */
void p2d_txn_order_reset(struct p2d_txn_order *t);

/* True between Stream Start and Stop: pass it to p2d_pgoutput_decode. */
bool p2d_txn_order_in_stream(const struct p2d_txn_order *t);

/*
 * Checks that m (borrowed until return) may come now and fills *step.
 * Returns 0; P2D_EPROTO when it breaks the order (err, may be NULL, says
 * what was expected; the state is unchanged, so the caller must reconnect);
 * P2D_EFULL when max_streams or max_subxacts would be passed.
 */
int p2d_txn_order_feed(struct p2d_txn_order *t, const struct p2d_pgmsg *m,
                       struct p2d_txn_step *step, struct p2d_pgerr *err)
    __attribute__((warn_unused_result));

#endif
