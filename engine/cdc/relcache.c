/*
 * relcache.c - relation and type definitions from the stream, and the diff
 * of each Relation message against the cached one (docs/pg-replication.md
 * §4.1).
 *
 * Two open-addressing tables with linear probing map an OID to a heap
 * entry; deletion shifts back the following entries, so there are no
 * tombstones and lookups stay O(1) at load factor <= 1/2. The diff matches
 * columns by name (names are unique within a relation): a new name is an
 * ADD, a vanished name a DROP, except when both sit at the same position,
 * which PostgreSQL cannot tell apart from a rename (the wire has no attnum),
 * so it is reported as RENAME and left to a person. The definition a diff
 * refers to is kept until the next apply, so the diff's old names stay
 * valid while the caller acts on it.
 */
#include "cdc/relcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2d_error.h"

struct type_entry {
    uint32_t oid;
    char *nspname;
    char *typname;
};

/* OID -> pointer; slot empty when ptr == NULL */
struct oid_slot {
    uint32_t oid;
    void *ptr;
};

struct oid_table {
    struct oid_slot *slots;
    size_t mask; /* size - 1, size a power of two */
    int count;
    int max;
};

struct p2d_relcache {
    struct oid_table rels;
    struct oid_table types;
    struct p2d_rel *retired; /* the definition the last diff refers to */
    struct p2d_relchange *changes;
    size_t changes_cap;
};

static size_t hash_oid(uint32_t oid)
{
    /* Fibonacci hashing spreads sequential OIDs */
    return (size_t)((oid * UINT64_C(0x9E3779B97F4A7C15)) >> 32);
}

static int table_init(struct oid_table *t, int max)
{
    size_t size = 4;

    while (size < (size_t)max * 2)
        size <<= 1;
    t->slots = calloc(size, sizeof *t->slots);
    if (!t->slots)
        return P2D_ENOMEM;
    t->mask = size - 1;
    t->count = 0;
    t->max = max;
    return 0;
}

static struct oid_slot *table_find(const struct oid_table *t, uint32_t oid)
{
    for (size_t i = hash_oid(oid) & t->mask;; i = (i + 1) & t->mask) {
        struct oid_slot *s = &t->slots[i];

        if (!s->ptr || s->oid == oid)
            return s; /* the entry, or the empty slot where it would go */
    }
}

static void table_remove(struct oid_table *t, struct oid_slot *s)
{
    size_t i = (size_t)(s - t->slots), j = i;

    t->slots[i].ptr = NULL;
    t->count--;
    /* backward-shift deletion: move later members of the probe run up */
    for (;;) {
        size_t home;

        j = (j + 1) & t->mask;
        if (!t->slots[j].ptr)
            return;
        home = hash_oid(t->slots[j].oid) & t->mask;
        /* move j to i unless home lies cyclically in (i, j] */
        if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j)) {
            t->slots[i] = t->slots[j];
            t->slots[j].ptr = NULL;
            i = j;
        }
    }
}

static void rel_free(struct p2d_rel *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->ncols; i++)
        free(r->cols[i].name);
    free(r->cols);
    free(r->nspname);
    free(r->relname);
    free(r);
}

static void type_free(struct type_entry *t)
{
    if (!t)
        return;
    free(t->nspname);
    free(t->typname);
    free(t);
}

struct p2d_relcache *p2d_relcache_create(int max_relations, int max_types)
{
    struct p2d_relcache *rc;

    if (max_relations < 1 || max_types < 1 || max_relations > (1 << 28) || max_types > (1 << 28))
        return NULL;
    rc = calloc(1, sizeof *rc);
    if (!rc)
        return NULL;
    if (table_init(&rc->rels, max_relations) != 0 || table_init(&rc->types, max_types) != 0) {
        p2d_relcache_destroy(rc);
        return NULL;
    }
    return rc;
}

void p2d_relcache_destroy(struct p2d_relcache *rc)
{
    if (!rc)
        return;
    if (rc->rels.slots)
        for (size_t i = 0; i <= rc->rels.mask; i++)
            rel_free(rc->rels.slots[i].ptr);
    if (rc->types.slots)
        for (size_t i = 0; i <= rc->types.mask; i++)
            type_free(rc->types.slots[i].ptr);
    free(rc->rels.slots);
    free(rc->types.slots);
    rel_free(rc->retired);
    free(rc->changes);
    free(rc);
}

/* A copy of the decoded Relation, or NULL when out of memory. */
static struct p2d_rel *rel_from_msg(const struct p2d_pgmsg *m)
{
    struct p2d_rel *r = calloc(1, sizeof *r);
    int n = m->u.relation.ncols;

    if (!r)
        return NULL;
    r->relid = m->u.relation.relid;
    r->replident = m->u.relation.replident;
    r->nspname = strdup(m->u.relation.nspname);
    r->relname = strdup(m->u.relation.relname);
    r->cols = calloc(n ? (size_t)n : 1, sizeof *r->cols);
    if (!r->nspname || !r->relname || !r->cols)
        goto fail;
    for (int i = 0; i < n; i++) {
        const struct p2d_pgrelcol *c = &m->u.relation.cols[i];

        r->cols[i].name = strdup(c->name);
        if (!r->cols[i].name)
            goto fail;
        r->ncols = i + 1;
        r->cols[i].typoid = c->typoid;
        r->cols[i].typmod = c->typmod;
        r->cols[i].key = (c->flags & P2D_PGCOL_KEY) != 0;
    }
    return r;
fail:
    rel_free(r);
    return NULL;
}

static int find_col(const struct p2d_rel *r, const char *name)
{
    for (int i = 0; i < r->ncols; i++)
        if (strcmp(r->cols[i].name, name) == 0)
            return i;
    return -1;
}

static struct p2d_relchange *add_change(struct p2d_relcache *rc, struct p2d_reldiff *d,
                                        enum p2d_relchange_kind kind, const struct p2d_rel *o,
                                        int oi, const struct p2d_rel *nw, int ni)
{
    struct p2d_relchange *c = &rc->changes[d->nchanges++];

    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->old_pos = oi;
    c->new_pos = ni;
    c->old_typmod = c->new_typmod = -1;
    if (oi >= 0) {
        c->old_name = o->cols[oi].name;
        c->old_typoid = o->cols[oi].typoid;
        c->old_typmod = o->cols[oi].typmod;
        c->old_key = o->cols[oi].key;
    }
    if (ni >= 0) {
        c->new_name = nw->cols[ni].name;
        c->new_typoid = nw->cols[ni].typoid;
        c->new_typmod = nw->cols[ni].typmod;
        c->new_key = nw->cols[ni].key;
    }
    return c;
}

/* Fills d with the differences between o and nw; rc->changes has room. */
static void diff_rels(struct p2d_relcache *rc, const struct p2d_rel *o, const struct p2d_rel *nw,
                      struct p2d_reldiff *d)
{
    int last_old = -1;

    if (o->replident != nw->replident)
        d->flags |= P2D_RELDIFF_IDENTITY;
    if (strcmp(o->nspname, nw->nspname) != 0 || strcmp(o->relname, nw->relname) != 0) {
        d->flags |= P2D_RELDIFF_RENAMEREL;
        d->old_nspname = o->nspname;
        d->old_relname = o->relname;
    }
    /* old columns whose name vanished: DROP, or RENAME when a new name sits
     * at the same position */
    for (int i = 0; i < o->ncols; i++) {
        if (find_col(nw, o->cols[i].name) >= 0)
            continue;
        if (i < nw->ncols && find_col(o, nw->cols[i].name) < 0) {
            struct p2d_relchange *c = add_change(rc, d, P2D_RELCHANGE_RENAME, o, i, nw, i);

            d->flags |= P2D_RELDIFF_RENAMED;
            if (c->old_typoid != c->new_typoid || c->old_typmod != c->new_typmod)
                d->flags |= P2D_RELDIFF_RETYPED;
            if (c->old_key != c->new_key)
                d->flags |= P2D_RELDIFF_KEY;
        } else {
            add_change(rc, d, P2D_RELCHANGE_DROP, o, i, nw, -1);
            d->flags |= P2D_RELDIFF_DROPPED;
        }
    }
    for (int j = 0; j < nw->ncols; j++) {
        int i = find_col(o, nw->cols[j].name);

        if (i < 0) {
            if (j < o->ncols && find_col(nw, o->cols[j].name) < 0)
                continue; /* reported as RENAME above */
            add_change(rc, d, P2D_RELCHANGE_ADD, o, -1, nw, j);
            d->flags |= P2D_RELDIFF_ADDED;
            continue;
        }
        if (i < last_old) {
            add_change(rc, d, P2D_RELCHANGE_REORDER, o, i, nw, j);
            d->flags |= P2D_RELDIFF_REORDERED;
        } else {
            last_old = i;
        }
        if (o->cols[i].typoid != nw->cols[j].typoid || o->cols[i].typmod != nw->cols[j].typmod) {
            add_change(rc, d, P2D_RELCHANGE_RETYPE, o, i, nw, j);
            d->flags |= P2D_RELDIFF_RETYPED;
        }
        if (o->cols[i].key != nw->cols[j].key) {
            add_change(rc, d, P2D_RELCHANGE_KEY, o, i, nw, j);
            d->flags |= P2D_RELDIFF_KEY;
        }
    }
}

int p2d_relcache_apply(struct p2d_relcache *rc, const struct p2d_pgmsg *m, struct p2d_reldiff *diff)
{
    struct oid_slot *s;
    struct p2d_rel *nw, *o;
    size_t need;

    if (!rc || !m || !diff || m->kind != P2D_PGMSG_RELATION)
        return P2D_EINVAL;
    memset(diff, 0, sizeof *diff);
    s = table_find(&rc->rels, m->u.relation.relid);
    o = s->ptr;
    if (!o && rc->rels.count >= rc->rels.max)
        return P2D_EFULL;
    /* each column yields at most a drop or rename, and add, reorder,
     * retype and key changes */
    need = (size_t)(o ? o->ncols : 0) + 4 * (size_t)m->u.relation.ncols + 1;
    if (need > rc->changes_cap) {
        struct p2d_relchange *c = realloc(rc->changes, need * sizeof *c);

        if (!c)
            return P2D_ENOMEM;
        rc->changes = c;
        rc->changes_cap = need;
    }
    nw = rel_from_msg(m);
    if (!nw)
        return P2D_ENOMEM;
    rel_free(rc->retired);
    rc->retired = NULL;
    if (!o) {
        diff->flags = P2D_RELDIFF_NEW;
        s->oid = nw->relid;
        s->ptr = nw;
        rc->rels.count++;
    } else {
        diff->old_replident = o->replident;
        diff_rels(rc, o, nw, diff);
        s->ptr = nw;
        rc->retired = o;
    }
    diff->changes = rc->changes;
    return 0;
}

const struct p2d_rel *p2d_relcache_get(const struct p2d_relcache *rc, uint32_t relid)
{
    return table_find(&rc->rels, relid)->ptr;
}

bool p2d_relcache_forget(struct p2d_relcache *rc, uint32_t relid)
{
    struct oid_slot *s = table_find(&rc->rels, relid);

    if (!s->ptr)
        return false;
    rel_free(s->ptr);
    table_remove(&rc->rels, s);
    return true;
}

int p2d_relcache_count(const struct p2d_relcache *rc)
{
    return rc->rels.count;
}

int p2d_relcache_apply_type(struct p2d_relcache *rc, const struct p2d_pgmsg *m, bool *changed)
{
    struct oid_slot *s;
    struct type_entry *t;
    char *nsp, *name;

    if (!rc || !m || m->kind != P2D_PGMSG_TYPE)
        return P2D_EINVAL;
    if (changed)
        *changed = false;
    s = table_find(&rc->types, m->u.type.oid);
    t = s->ptr;
    if (t && strcmp(t->nspname, m->u.type.nspname) == 0 &&
        strcmp(t->typname, m->u.type.typname) == 0)
        return 0;
    if (!t && rc->types.count >= rc->types.max)
        return P2D_EFULL;
    nsp = strdup(m->u.type.nspname);
    name = strdup(m->u.type.typname);
    if (!nsp || !name) {
        free(nsp);
        free(name);
        return P2D_ENOMEM;
    }
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t) {
            free(nsp);
            free(name);
            return P2D_ENOMEM;
        }
        t->oid = m->u.type.oid;
        s->oid = t->oid;
        s->ptr = t;
        rc->types.count++;
    } else {
        free(t->nspname);
        free(t->typname);
        if (changed)
            *changed = true;
    }
    t->nspname = nsp;
    t->typname = name;
    return 0;
}

bool p2d_relcache_get_type(const struct p2d_relcache *rc, uint32_t oid, const char **nspname,
                           const char **typname)
{
    const struct type_entry *t = table_find(&rc->types, oid)->ptr;

    if (!t)
        return false;
    if (nspname)
        *nspname = t->nspname;
    if (typname)
        *typname = t->typname;
    return true;
}

void p2d_reldiff_describe(const struct p2d_rel *rel, const struct p2d_reldiff *diff, char *out,
                          size_t outsz)
{
    size_t o = 0;

#define PUT(...)                                                                                   \
    do {                                                                                           \
        if (o < outsz) {                                                                           \
            int k_ = snprintf(out + o, outsz - o, __VA_ARGS__);                                    \
            if (k_ > 0)                                                                            \
                o += (size_t)k_;                                                                   \
        }                                                                                          \
    } while (0)

    if (outsz == 0)
        return;
    out[0] = 0;
    PUT("relation \"%s\".\"%s\" (oid %u):", rel->nspname, rel->relname, rel->relid);
    if (diff->flags == 0)
        PUT(" unchanged");
    if (diff->flags & P2D_RELDIFF_NEW)
        PUT(" new, %d columns", rel->ncols);
    if (diff->flags & P2D_RELDIFF_RENAMEREL)
        PUT(" renamed from \"%s\".\"%s\";", diff->old_nspname, diff->old_relname);
    if (diff->flags & P2D_RELDIFF_IDENTITY)
        PUT(" replica identity changed from '%c' to '%c';", diff->old_replident, rel->replident);
    for (int i = 0; i < diff->nchanges; i++) {
        const struct p2d_relchange *c = &diff->changes[i];

        switch (c->kind) {
        case P2D_RELCHANGE_ADD:
            PUT(" column \"%s\" (type oid %u, typmod %d) added at position %d;", c->new_name,
                c->new_typoid, c->new_typmod, c->new_pos + 1);
            break;
        case P2D_RELCHANGE_DROP:
            PUT(" column \"%s\" dropped;", c->old_name);
            break;
        case P2D_RELCHANGE_RENAME:
            PUT(" column %d changed name from \"%s\" to \"%s\" (a rename, or a drop and an add: "
                "not guessed);",
                c->new_pos + 1, c->old_name, c->new_name);
            break;
        case P2D_RELCHANGE_RETYPE:
            PUT(" column \"%s\" changed type from oid %u typmod %d to oid %u typmod %d;",
                c->new_name, c->old_typoid, c->old_typmod, c->new_typoid, c->new_typmod);
            break;
        case P2D_RELCHANGE_KEY:
            PUT(" column \"%s\" %s the replica identity;", c->new_name,
                c->new_key ? "joined" : "left");
            break;
        case P2D_RELCHANGE_REORDER:
            PUT(" column \"%s\" moved from position %d to %d (dropped and re-added?);", c->new_name,
                c->old_pos + 1, c->new_pos + 1);
            break;
        }
    }
    if (o > 0 && o < outsz && out[o - 1] == ';')
        out[o - 1] = 0;
#undef PUT
}
