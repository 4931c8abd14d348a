/*
 * relcache_test.c - Relation diffs (docs/pg-replication.md §4.1): a re-send
 * is no change, ADD / DROP COLUMN, rename at the same position (reported,
 * not guessed), type and typmod changes, key and replica identity changes,
 * a dropped and re-added column, relation renames; the type cache; bounded
 * memory; and the hash table under many inserts and deletes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cdc/relcache.h"
#include "p2d_error.h"
#include "testlib.h"

static struct p2d_pgrelcol cols[64];
static struct p2d_pgmsg msg;

/* spec: "name:typoid:typmod:key,..." */
static const struct p2d_pgmsg *rel(uint32_t relid, const char *rel_name, char ident,
                                   const char *spec)
{
    static char buf[1024];
    char *save = NULL, *tok;
    int n = 0;

    p2d_pgmsg_init(&msg, NULL, 0, cols, 64);
    msg.kind = P2D_PGMSG_RELATION;
    msg.u.relation.relid = relid;
    msg.u.relation.nspname = "public";
    msg.u.relation.relname = rel_name;
    msg.u.relation.replident = ident;
    snprintf(buf, sizeof buf, "%s", spec);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *name = tok, *p = strchr(tok, ':');
        unsigned oid = 0, key = 0;
        int typmod = -1;

        *p++ = 0;
        sscanf(p, "%u:%d:%u", &oid, &typmod, &key);
        cols[n].name = name;
        cols[n].typoid = oid;
        cols[n].typmod = typmod;
        cols[n].flags = key ? P2D_PGCOL_KEY : 0;
        n++;
    }
    msg.u.relation.ncols = (uint16_t)n;
    msg.u.relation.cols = cols;
    return &msg;
}

static void test_diffs(void)
{
    struct p2d_relcache *rc = p2d_relcache_create(8, 8);
    struct p2d_reldiff d;
    const struct p2d_rel *r;
    char text[512];

    T_CHECK(rc != NULL);
    T_EQ_INT(p2d_relcache_apply(rc, rel(100, "t", 'd', "id:23:-1:1,a:25:-1:0,b:1700:786438:0"), &d),
             0);
    T_EQ_INT(d.flags, P2D_RELDIFF_NEW);
    r = p2d_relcache_get(rc, 100);
    T_CHECK(r != NULL);
    T_EQ_INT(r->ncols, 3);
    T_EQ_STR(r->cols[2].name, "b");
    T_EQ_INT(r->cols[2].typmod, 786438);
    T_CHECK(r->cols[0].key && !r->cols[1].key);
    T_EQ_STR(r->relname, "t");

    /* ANALYZE / VACUUM re-send: identical */
    T_EQ_INT(p2d_relcache_apply(rc, rel(100, "t", 'd', "id:23:-1:1,a:25:-1:0,b:1700:786438:0"), &d),
             0);
    T_EQ_INT(d.flags, 0);
    T_EQ_INT(d.nchanges, 0);
    p2d_reldiff_describe(p2d_relcache_get(rc, 100), &d, text, sizeof text);
    T_HAS_STR(text, "unchanged");

    /* ADD COLUMN */
    T_EQ_INT(p2d_relcache_apply(
                 rc, rel(100, "t", 'd', "id:23:-1:1,a:25:-1:0,b:1700:786438:0,c:20:-1:0"), &d),
             0);
    T_EQ_INT(d.flags, P2D_RELDIFF_ADDED);
    T_EQ_INT(d.nchanges, 1);
    T_EQ_INT(d.changes[0].kind, P2D_RELCHANGE_ADD);
    T_EQ_STR(d.changes[0].new_name, "c");
    T_EQ_INT(d.changes[0].new_typoid, 20);
    T_EQ_INT(d.changes[0].new_pos, 3);
    p2d_reldiff_describe(p2d_relcache_get(rc, 100), &d, text, sizeof text);
    T_HAS_STR(text, "column \"c\" (type oid 20, typmod -1) added at position 4");

    /* DROP COLUMN in the middle */
    T_EQ_INT(p2d_relcache_apply(rc, rel(100, "t", 'd', "id:23:-1:1,b:1700:786438:0,c:20:-1:0"), &d),
             0);
    T_EQ_INT(d.flags, P2D_RELDIFF_DROPPED);
    T_EQ_INT(d.nchanges, 1);
    T_EQ_INT(d.changes[0].kind, P2D_RELCHANGE_DROP);
    T_EQ_STR(d.changes[0].old_name, "a"); /* old names stay valid after the apply */
    T_EQ_INT(d.changes[0].old_pos, 1);

    /* rename at the same position: reported, not guessed */
    T_EQ_INT(p2d_relcache_apply(rc, rel(100, "t", 'd', "id:23:-1:1,b:1700:786438:0,d:20:-1:0"), &d),
             0);
    T_EQ_INT(d.flags, P2D_RELDIFF_RENAMED);
    T_EQ_INT(d.nchanges, 1);
    T_EQ_INT(d.changes[0].kind, P2D_RELCHANGE_RENAME);
    T_EQ_STR(d.changes[0].old_name, "c");
    T_EQ_STR(d.changes[0].new_name, "d");
    p2d_reldiff_describe(p2d_relcache_get(rc, 100), &d, text, sizeof text);
    T_HAS_STR(text, "column 3 changed name from \"c\" to \"d\"");

    /* type and typmod change, plus an add and a drop together */
    T_EQ_INT(
        p2d_relcache_apply(rc, rel(100, "t", 'd', "id:23:-1:1,b:1700:1310726:0,e:16:-1:0"), &d), 0);
    T_EQ_INT(d.flags, P2D_RELDIFF_RETYPED | P2D_RELDIFF_RENAMED);
    p2d_reldiff_describe(p2d_relcache_get(rc, 100), &d, text, sizeof text);
    T_HAS_STR(text, "column \"b\" changed type from oid 1700 typmod 786438 to oid 1700 typmod "
                    "1310726");
    T_EQ_INT(
        p2d_relcache_apply(rc, rel(100, "t", 'd', "id:23:-1:1,e:16:-1:0,f:25:-1:0,g:25:-1:0"), &d),
        0);
    T_EQ_INT(d.flags, P2D_RELDIFF_DROPPED | P2D_RELDIFF_ADDED);
    T_EQ_INT(d.nchanges, 3);
    T_EQ_INT(d.changes[0].kind, P2D_RELCHANGE_DROP);
    T_EQ_STR(d.changes[0].old_name, "b");
    T_EQ_INT(d.changes[1].kind, P2D_RELCHANGE_ADD);
    T_EQ_STR(d.changes[1].new_name, "f");
    T_EQ_INT(d.changes[2].kind, P2D_RELCHANGE_ADD);
    T_EQ_STR(d.changes[2].new_name, "g");

    /* REPLICA IDENTITY FULL: every column becomes a key column */
    T_EQ_INT(
        p2d_relcache_apply(rc, rel(100, "t", 'f', "id:23:-1:1,e:16:-1:1,f:25:-1:1,g:25:-1:1"), &d),
        0);
    T_EQ_INT(d.flags, P2D_RELDIFF_IDENTITY | P2D_RELDIFF_KEY);
    T_EQ_INT(d.old_replident, 'd');
    T_EQ_INT(d.nchanges, 3);
    T_EQ_INT(d.changes[0].kind, P2D_RELCHANGE_KEY);
    T_CHECK(!d.changes[0].old_key && d.changes[0].new_key);
    p2d_reldiff_describe(p2d_relcache_get(rc, 100), &d, text, sizeof text);
    T_HAS_STR(text, "replica identity changed from 'd' to 'f'");

    /* drop e, re-add it: it moves to the end */
    T_EQ_INT(
        p2d_relcache_apply(rc, rel(100, "t", 'f', "id:23:-1:1,f:25:-1:1,g:25:-1:1,e:16:-1:1"), &d),
        0);
    T_EQ_INT(d.flags, P2D_RELDIFF_REORDERED);
    T_EQ_INT(d.changes[0].kind, P2D_RELCHANGE_REORDER);
    T_EQ_STR(d.changes[0].new_name, "e");

    /* relation renamed */
    T_EQ_INT(
        p2d_relcache_apply(rc, rel(100, "t2", 'f', "id:23:-1:1,f:25:-1:1,g:25:-1:1,e:16:-1:1"), &d),
        0);
    T_EQ_INT(d.flags, P2D_RELDIFF_RENAMEREL);
    T_EQ_STR(d.old_relname, "t");
    T_EQ_STR(p2d_relcache_get(rc, 100)->relname, "t2");

    /* not a Relation */
    msg.kind = P2D_PGMSG_INSERT;
    T_EQ_INT(p2d_relcache_apply(rc, &msg, &d), P2D_EINVAL);
    T_EQ_INT(p2d_relcache_count(rc), 1);
    T_CHECK(p2d_relcache_forget(rc, 100));
    T_CHECK(!p2d_relcache_forget(rc, 100));
    T_CHECK(p2d_relcache_get(rc, 100) == NULL);
    p2d_relcache_destroy(rc);
    p2d_relcache_destroy(NULL);
}

static void test_types_and_limits(void)
{
    struct p2d_relcache *rc = p2d_relcache_create(2, 1);
    struct p2d_pgmsg m;
    struct p2d_reldiff d;
    const char *nsp = NULL, *name = NULL;
    bool changed = true;

    T_CHECK(p2d_relcache_create(0, 1) == NULL);
    p2d_pgmsg_init(&m, NULL, 0, NULL, 0);
    m.kind = P2D_PGMSG_TYPE;
    m.u.type.oid = 24609;
    m.u.type.nspname = "public";
    m.u.type.typname = "mood";
    T_EQ_INT(p2d_relcache_apply_type(rc, &m, &changed), 0);
    T_CHECK(!changed);
    T_CHECK(p2d_relcache_get_type(rc, 24609, &nsp, &name));
    T_EQ_STR(nsp, "public");
    T_EQ_STR(name, "mood");
    T_EQ_INT(p2d_relcache_apply_type(rc, &m, &changed), 0);
    T_CHECK(!changed);
    m.u.type.typname = "feeling";
    T_EQ_INT(p2d_relcache_apply_type(rc, &m, &changed), 0);
    T_CHECK(changed);
    T_CHECK(p2d_relcache_get_type(rc, 24609, NULL, &name));
    T_EQ_STR(name, "feeling");
    m.u.type.oid = 24610;
    T_EQ_INT(p2d_relcache_apply_type(rc, &m, &changed), P2D_EFULL);
    T_CHECK(!p2d_relcache_get_type(rc, 24610, NULL, NULL));

    T_EQ_INT(p2d_relcache_apply(rc, rel(1, "a", 'd', "id:23:-1:1"), &d), 0);
    T_EQ_INT(p2d_relcache_apply(rc, rel(2, "b", 'd', "id:23:-1:1"), &d), 0);
    T_EQ_INT(p2d_relcache_apply(rc, rel(3, "c", 'd', "id:23:-1:1"), &d), P2D_EFULL);
    T_EQ_INT(p2d_relcache_apply(rc, rel(2, "b", 'd', "id:23:-1:1,x:25:-1:0"), &d), 0);
    T_EQ_INT(d.flags, P2D_RELDIFF_ADDED);
    T_EQ_INT(p2d_relcache_apply(rc, rel(4, "e", 'n', ""), &d), P2D_EFULL);
    T_CHECK(p2d_relcache_forget(rc, 1));
    T_EQ_INT(p2d_relcache_apply(rc, rel(4, "e", 'n', ""), &d), 0);
    T_EQ_INT(p2d_relcache_get(rc, 4)->ncols, 0);
    p2d_relcache_destroy(rc);
}

/* The hash table against a plain array under random inserts and forgets. */
static void test_hash_churn(void)
{
    enum { N = 5000, MAXREL = 3000 };
    struct p2d_relcache *rc = p2d_relcache_create(MAXREL, 1);
    static bool present[N];
    uint64_t x = 88172645463325252ULL;
    int count = 0, bad = 0;
    struct p2d_reldiff d;

    for (int step = 0; step < 200000; step++) {
        uint32_t relid;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* clustered OIDs: many share probe runs */
        relid = (uint32_t)(x % N) * 16;
        if ((x >> 40) % 3 == 0) {
            if (p2d_relcache_forget(rc, relid) != present[relid / 16])
                bad++;
            if (present[relid / 16])
                count--;
            present[relid / 16] = false;
        } else {
            int rc_ = p2d_relcache_apply(rc, rel(relid, "r", 'd', "id:23:-1:1"), &d);

            if (present[relid / 16]) {
                if (rc_ != 0 || d.flags != 0)
                    bad++;
            } else if (count >= MAXREL) {
                if (rc_ != P2D_EFULL)
                    bad++;
            } else {
                if (rc_ != 0 || d.flags != P2D_RELDIFF_NEW)
                    bad++;
                present[relid / 16] = true;
                count++;
            }
        }
    }
    for (uint32_t i = 0; i < N; i++)
        if ((p2d_relcache_get(rc, i * 16) != NULL) != present[i])
            bad++;
    T_EQ_INT(bad, 0);
    T_EQ_INT(p2d_relcache_count(rc), count);
    p2d_relcache_destroy(rc);
}

int main(void)
{
    test_diffs();
    test_types_and_limits();
    test_hash_churn();
    return t_done();
}
