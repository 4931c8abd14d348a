/*
 * txn_order.c - the pgoutput ordering state machine (see txn_order.h and
 * docs/pg-replication.md Appendix A).
 *
 * Open streamed transactions live in a small array searched linearly: the
 * server keeps only a few large transactions streaming at once. Their
 * subtransactions are kept in order of first item, which is what makes a
 * subxact abort a truncation (PostgreSQL's worker.c does the same); the
 * lookup of an item's subxid starts at the newest entry, where it almost
 * always is.
 */
#include "cdc/txn_order.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2d_error.h"

struct subxact {
    uint32_t xid;
    uint64_t first_seq;
};

struct stream {
    bool used;
    uint32_t xid;
    uint64_t nitems;
    struct subxact *subs; /* grows by doubling up to max_subxacts */
    int nsubs;
    int subs_cap;
};

enum state { IDLE, IN_TXN, IN_STREAM };

struct p2d_txn_order {
    enum state state;
    /* IN_TXN */
    uint32_t txn_xid;
    uint64_t txn_final_lsn;
    bool txn_has_items; /* a change or origin was seen after Begin */
    /* IN_STREAM */
    struct stream *cur;
    struct stream *streams;
    int max_streams;
    int max_subxacts;
};

static int fail(struct p2d_pgerr *err, const struct p2d_pgmsg *m, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct p2d_pgerr *err, const struct p2d_pgmsg *m, int code, const char *fmt, ...)
{
    va_list ap;
    char detail[200];

    if (!err)
        return code;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    err->offset = 0;
    snprintf(err->msg, sizeof err->msg, "%spgoutput %s: %s",
             code == P2D_EPROTO ? "unexpected " : "", p2d_pgmsg_kind_name(m->kind), detail);
    return code;
}

struct p2d_txn_order *p2d_txn_order_create(int max_streams, int max_subxacts)
{
    struct p2d_txn_order *t;

    if (max_streams < 1 || max_subxacts < 1 || max_streams > 65536 || max_subxacts > (1 << 24))
        return NULL;
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->max_streams = max_streams;
    t->max_subxacts = max_subxacts;
    t->streams = calloc((size_t)max_streams, sizeof *t->streams);
    if (!t->streams) {
        free(t);
        return NULL;
    }
    return t;
}

void p2d_txn_order_destroy(struct p2d_txn_order *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->max_streams; i++)
        free(t->streams[i].subs);
    free(t->streams);
    free(t);
}

void p2d_txn_order_reset(struct p2d_txn_order *t)
{
    for (int i = 0; i < t->max_streams; i++) {
        t->streams[i].used = false;
        t->streams[i].nitems = 0;
        t->streams[i].nsubs = 0;
    }
    t->state = IDLE;
    t->cur = NULL;
    t->txn_has_items = false;
}

bool p2d_txn_order_in_stream(const struct p2d_txn_order *t)
{
    return t->state == IN_STREAM;
}

static struct stream *find_stream(struct p2d_txn_order *t, uint32_t xid)
{
    for (int i = 0; i < t->max_streams; i++)
        if (t->streams[i].used && t->streams[i].xid == xid)
            return &t->streams[i];
    return NULL;
}

static const char *state_name(enum state s)
{
    return s == IDLE     ? "no transaction is open"
           : s == IN_TXN ? "a transaction is open"
                         : "a stream block is open";
}

static bool is_change(enum p2d_pgmsg_kind k)
{
    return k == P2D_PGMSG_RELATION || k == P2D_PGMSG_TYPE || k == P2D_PGMSG_INSERT ||
           k == P2D_PGMSG_UPDATE || k == P2D_PGMSG_DELETE || k == P2D_PGMSG_TRUNCATE ||
           k == P2D_PGMSG_MESSAGE;
}

static int feed_stream_item(struct p2d_txn_order *t, const struct p2d_pgmsg *m,
                            struct p2d_txn_step *step, struct p2d_pgerr *err)
{
    struct stream *s = t->cur;

    if (!m->has_xid)
        return fail(err, m, P2D_EPROTO,
                    "inside the stream block of xid %u the message carries no xid; hint: decode "
                    "with in_stream set",
                    s->xid);
    if (m->kind == P2D_PGMSG_MESSAGE && !(m->u.message.flags & P2D_MESSAGE_TRANSACTIONAL))
        return fail(err, m, P2D_EPROTO, "non-transactional message inside a stream block");
    if (m->xid != s->xid) {
        int i;

        for (i = s->nsubs - 1; i >= 0; i--)
            if (s->subs[i].xid == m->xid)
                break;
        if (i < 0) {
            if (s->nsubs >= t->max_subxacts)
                return fail(err, m, P2D_EFULL,
                            "streamed xid %u has more than %d subtransactions with changes; "
                            "hint: raise the limit",
                            s->xid, t->max_subxacts);
            if (s->nsubs == s->subs_cap) {
                int cap = s->subs_cap ? s->subs_cap * 2 : 16;
                struct subxact *grown;

                if (cap > t->max_subxacts)
                    cap = t->max_subxacts;
                grown = realloc(s->subs, (size_t)cap * sizeof *grown);
                if (!grown)
                    return P2D_ENOMEM;
                s->subs = grown;
                s->subs_cap = cap;
            }
            s->subs[s->nsubs].xid = m->xid;
            s->subs[s->nsubs].first_seq = s->nitems;
            s->nsubs++;
        }
    }
    step->action = P2D_TXN_BUFFER;
    step->xid = s->xid;
    step->subxid = m->xid;
    step->seq = s->nitems++;
    return 0;
}

static int feed_idle(struct p2d_txn_order *t, const struct p2d_pgmsg *m, struct p2d_txn_step *step,
                     struct p2d_pgerr *err)
{
    struct stream *s;

    switch (m->kind) {
    case P2D_PGMSG_BEGIN:
        t->state = IN_TXN;
        t->txn_xid = m->u.begin.xid;
        t->txn_final_lsn = m->u.begin.final_lsn;
        t->txn_has_items = false;
        step->action = P2D_TXN_OPEN;
        step->xid = m->u.begin.xid;
        return 0;
    case P2D_PGMSG_MESSAGE:
        if (m->has_xid || (m->u.message.flags & P2D_MESSAGE_TRANSACTIONAL))
            return fail(err, m, P2D_EPROTO, "transactional message but %s", state_name(t->state));
        step->action = P2D_TXN_NONTXN;
        return 0;
    case P2D_PGMSG_STREAM_START:
        s = find_stream(t, m->u.stream_start.xid);
        if (m->u.stream_start.first_segment && s)
            return fail(err, m, P2D_EPROTO, "first segment of xid %u, which is streaming already",
                        m->u.stream_start.xid);
        if (!m->u.stream_start.first_segment && !s)
            return fail(err, m, P2D_EPROTO,
                        "continuation of xid %u, whose first segment was not seen",
                        m->u.stream_start.xid);
        if (!s) {
            for (int i = 0; i < t->max_streams && !s; i++)
                if (!t->streams[i].used)
                    s = &t->streams[i];
            if (!s)
                return fail(err, m, P2D_EFULL,
                            "more than %d streamed transactions open at once; hint: raise the "
                            "limit",
                            t->max_streams);
            s->used = true;
            s->xid = m->u.stream_start.xid;
            s->nitems = 0;
            s->nsubs = 0;
        }
        t->state = IN_STREAM;
        t->cur = s;
        step->action = P2D_TXN_STREAM_OPEN;
        step->xid = s->xid;
        step->first_segment = m->u.stream_start.first_segment;
        return 0;
    case P2D_PGMSG_STREAM_COMMIT:
        s = find_stream(t, m->u.stream_commit.xid);
        if (!s)
            return fail(err, m, P2D_EPROTO, "xid %u was never streamed", m->u.stream_commit.xid);
        step->action = P2D_TXN_STREAM_COMMIT;
        step->xid = s->xid;
        step->count = s->nitems;
        s->used = false;
        return 0;
    case P2D_PGMSG_STREAM_ABORT:
        s = find_stream(t, m->u.stream_abort.xid);
        if (!s)
            return fail(err, m, P2D_EPROTO, "xid %u was never streamed", m->u.stream_abort.xid);
        step->xid = s->xid;
        step->subxid = m->u.stream_abort.subxid;
        if (m->u.stream_abort.subxid == s->xid) {
            step->action = P2D_TXN_STREAM_ABORT;
            step->from_seq = 0;
            step->count = s->nitems;
            s->used = false;
            return 0;
        }
        step->action = P2D_TXN_DISCARD_SUBXACT;
        step->from_seq = s->nitems;
        step->count = 0;
        for (int i = 0; i < s->nsubs; i++) {
            if (s->subs[i].xid != m->u.stream_abort.subxid)
                continue;
            /* drop its items and those of every subxact after it */
            step->from_seq = s->subs[i].first_seq;
            step->count = s->nitems - s->subs[i].first_seq;
            s->nitems = s->subs[i].first_seq;
            s->nsubs = i;
            break;
        }
        return 0;
    default:
        return fail(err, m, P2D_EPROTO, "%s; hint: a Begin or Stream Start must come first",
                    state_name(t->state));
    }
}

int p2d_txn_order_feed(struct p2d_txn_order *t, const struct p2d_pgmsg *m,
                       struct p2d_txn_step *step, struct p2d_pgerr *err)
{
    if (err) {
        err->offset = 0;
        err->msg[0] = 0;
    }
    if (!t || !m || !step)
        return P2D_EINVAL;
    memset(step, 0, sizeof *step);
    switch (t->state) {
    case IDLE:
        return feed_idle(t, m, step, err);
    case IN_TXN:
        if (m->has_xid)
            return fail(err, m, P2D_EPROTO, "carries a stream xid outside a stream block");
        if (m->kind == P2D_PGMSG_COMMIT) {
            if (m->u.commit.commit_lsn != t->txn_final_lsn)
                return fail(err, m, P2D_EPROTO,
                            "commit LSN %X/%X of xid %u differs from its Begin's final LSN %X/%X",
                            (unsigned)(m->u.commit.commit_lsn >> 32),
                            (unsigned)m->u.commit.commit_lsn, t->txn_xid,
                            (unsigned)(t->txn_final_lsn >> 32), (unsigned)t->txn_final_lsn);
            t->state = IDLE;
            step->action = P2D_TXN_COMMIT;
            step->xid = t->txn_xid;
            return 0;
        }
        if (m->kind == P2D_PGMSG_ORIGIN) {
            if (t->txn_has_items)
                return fail(err, m, P2D_EPROTO, "origin must come right after Begin (xid %u)",
                            t->txn_xid);
        } else if (!is_change(m->kind)) {
            return fail(err, m, P2D_EPROTO, "%s (xid %u); hint: a Commit must come first",
                        state_name(t->state), t->txn_xid);
        } else if (m->kind == P2D_PGMSG_MESSAGE &&
                   !(m->u.message.flags & P2D_MESSAGE_TRANSACTIONAL)) {
            return fail(err, m, P2D_EPROTO, "non-transactional message inside xid %u", t->txn_xid);
        }
        t->txn_has_items = true;
        step->action = P2D_TXN_APPLY;
        step->xid = t->txn_xid;
        return 0;
    case IN_STREAM:
        if (m->kind == P2D_PGMSG_STREAM_STOP) {
            step->action = P2D_TXN_STREAM_CLOSE;
            step->xid = t->cur->xid;
            t->state = IDLE;
            t->cur = NULL;
            return 0;
        }
        if (!is_change(m->kind))
            return fail(err, m, P2D_EPROTO, "%s (xid %u); hint: a Stream Stop must come first",
                        state_name(t->state), t->cur->xid);
        return feed_stream_item(t, m, step, err);
    }
    return P2D_EINVAL;
}
