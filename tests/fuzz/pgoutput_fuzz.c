/*
 * pgoutput_fuzz.c - fuzz target for p2d_pgoutput_decode, p2d_walmsg_decode,
 * and the relcache and txn_order state behind them.
 * Input: byte 0 picks the protocol version (1 + bits 0-1) and, with bit 3
 * clear, whether the rest is one message inside a stream block (bit 2).
 * With bit 3 set, the rest is a sequence of [Int8 length][message] fed in
 * order through decode -> txn_order (which decides in_stream) -> relcache.
 * Checks: every slice lies inside the input, strings end inside it, tuple
 * and column counts fit the storage, refusals carry a message and an
 * offset inside the input; the same bytes as a CopyData frame decode or
 * fail cleanly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/pgoutput.h"
#include "cdc/relcache.h"
#include "cdc/txn_order.h"
#include "p2d_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "pgoutput_fuzz: check failed: %s (line %d)\n", #c, __LINE__);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static struct p2d_pgval vals[64];
static struct p2d_pgrelcol cols[32];

static bool inside(const void *s, size_t len, const uint8_t *p, size_t n)
{
    const uint8_t *b = s;

    return b >= p && b <= p + n && len <= (size_t)(p + n - b);
}

static void check_str(const char *s, const uint8_t *p, size_t n)
{
    CHECK(inside(s, 1, p, n));
    CHECK(memchr(s, 0, (size_t)(p + n - (const uint8_t *)s)) != NULL);
}

static void check_tuple(const struct p2d_pgtuple *t, const uint8_t *p, size_t n)
{
    CHECK(t->vals >= vals && t->vals + t->ncols <= vals + 64);
    for (int i = 0; i < t->ncols; i++) {
        const struct p2d_pgval *v = &t->vals[i];

        if (v->kind == 't' || v->kind == 'b')
            CHECK(inside(v->data, v->len, p, n));
        else
            CHECK((v->kind == 'n' || v->kind == 'u') && v->data == NULL && v->len == 0);
    }
}

/* Decodes one message and checks what came back; returns the decode rc. */
static int one(const uint8_t *p, size_t n, int proto, bool in_stream, struct p2d_pgmsg *m)
{
    struct p2d_pgerr err;
    int rc;

    p2d_pgmsg_init(m, vals, 64, cols, 32);
    rc = p2d_pgoutput_decode(p, n, proto, in_stream, m, &err);
    if (rc != 0) {
        CHECK(rc == P2D_EPROTO || rc == P2D_EFULL || rc == P2D_EINVAL);
        CHECK(err.msg[0] != 0 && err.offset <= n);
        return rc;
    }
    CHECK(m->has_xid == (in_stream && strchr("RYIUDTM", m->kind) != NULL));
    switch (m->kind) {
    case P2D_PGMSG_ORIGIN:
        check_str(m->u.origin.name, p, n);
        break;
    case P2D_PGMSG_RELATION:
        check_str(m->u.relation.nspname, p, n);
        check_str(m->u.relation.relname, p, n);
        CHECK(m->u.relation.ncols <= 32 && m->u.relation.cols == cols);
        for (int i = 0; i < m->u.relation.ncols; i++) {
            check_str(cols[i].name, p, n);
            CHECK((cols[i].flags & ~P2D_PGCOL_KEY) == 0);
        }
        CHECK(strchr("dnfi", m->u.relation.replident) != NULL);
        break;
    case P2D_PGMSG_TYPE:
        check_str(m->u.type.nspname, p, n);
        check_str(m->u.type.typname, p, n);
        break;
    case P2D_PGMSG_INSERT:
    case P2D_PGMSG_UPDATE:
    case P2D_PGMSG_DELETE:
        if (m->u.change.old_kind)
            check_tuple(&m->u.change.old, p, n);
        if (m->u.change.has_new)
            check_tuple(&m->u.change.newtup, p, n);
        CHECK(m->u.change.has_new == (m->kind != P2D_PGMSG_DELETE));
        CHECK((m->kind == P2D_PGMSG_INSERT) ? m->u.change.old_kind == 0
              : m->kind == P2D_PGMSG_DELETE ? m->u.change.old_kind != 0
                                            : true);
        break;
    case P2D_PGMSG_TRUNCATE:
        CHECK(m->u.truncate.nrels > 0);
        CHECK(inside(m->u.truncate.relids_be, 4 * (size_t)m->u.truncate.nrels, p, n));
        break;
    case P2D_PGMSG_MESSAGE:
        check_str(m->u.message.prefix, p, n);
        CHECK(inside(m->u.message.content, m->u.message.content_len, p, n));
        break;
    default:
        CHECK(strchr("BCSEcA", m->kind) != NULL);
        CHECK(proto >= 2 || strchr("SEcA", m->kind) == NULL);
        break;
    }
    return 0;
}

static void sequence(const uint8_t *p, size_t n, int proto)
{
    struct p2d_txn_order *t = p2d_txn_order_create(2, 4);
    struct p2d_relcache *rc = p2d_relcache_create(4, 4);
    struct p2d_pgmsg m;

    CHECK(t && rc);
    while (n > 0) {
        size_t len = p[0];
        struct p2d_txn_step step;
        struct p2d_pgerr err;
        struct p2d_reldiff diff;
        bool changed;
        int r;

        p++;
        n--;
        if (len > n)
            len = n;
        if (one(p, len, proto, p2d_txn_order_in_stream(t), &m) == 0) {
            r = p2d_txn_order_feed(t, &m, &step, &err);
            CHECK(r == 0 || r == P2D_EPROTO || r == P2D_EFULL);
            CHECK(r == 0 || err.msg[0] != 0);
            if (r == 0 && step.action == P2D_TXN_DISCARD_SUBXACT)
                CHECK(step.subxid != step.xid);
            if (m.kind == P2D_PGMSG_RELATION) {
                r = p2d_relcache_apply(rc, &m, &diff);
                CHECK(r == 0 || r == P2D_EFULL);
                if (r == 0) {
                    char text[512];
                    const struct p2d_rel *rel = p2d_relcache_get(rc, m.u.relation.relid);

                    CHECK(rel && rel->ncols == m.u.relation.ncols);
                    p2d_reldiff_describe(rel, &diff, text, sizeof text);
                    CHECK(text[0] != 0);
                }
            } else if (m.kind == P2D_PGMSG_TYPE) {
                r = p2d_relcache_apply_type(rc, &m, &changed);
                CHECK(r == 0 || r == P2D_EFULL);
            }
        }
        p += len;
        n -= len;
    }
    p2d_txn_order_destroy(t);
    p2d_relcache_destroy(rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct p2d_pgmsg m;
    struct p2d_walmsg w;
    struct p2d_pgerr err;
    int proto;

    if (size < 1)
        return 0;
    proto = 1 + (data[0] & 3);
    if (data[0] & 8) {
        sequence(data + 1, size - 1, proto);
        return 0;
    }
    (void)one(data + 1, size - 1, proto, (data[0] & 4) && proto >= 2, &m);
    if (p2d_walmsg_decode(data + 1, size - 1, &w, &err) == 0) {
        CHECK(w.kind == 'w' || w.kind == 'k');
        if (w.kind == 'w')
            CHECK(w.payload_len > 0 && w.payload == data + 1 + 25 &&
                  w.payload_len == size - 1 - 25);
        else
            CHECK(size - 1 == P2D_KEEPALIVE_LEN);
    } else {
        CHECK(err.msg[0] != 0);
    }
    return 0;
}
