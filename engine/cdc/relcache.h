/*
 * relcache.h - what the stream has said about relations and types: per
 * relation OID the namespace, name, replica identity and columns of the last
 * Relation message; per type OID the namespace and name of the last Type
 * message (docs/pg-replication.md §4, §4.1).
 *
 * Applying a Relation reports how it differs from the cached one, so the
 * streamer can tell an ANALYZE / VACUUM re-send (nothing changed) from ADD
 * or DROP COLUMN (ALTER TABLE on Doris) and from what it must only report:
 * a name change at the same position (a rename, or a drop plus an add that
 * looks the same on the wire: not guessed), a type change, a key or replica
 * identity change. Memory is bounded by the limits given at creation;
 * lookups are O(1) (open addressing on the OID). Not thread-safe: one owner
 * (the WAL thread).
 */
#ifndef P2D_RELCACHE_H
#define P2D_RELCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdc/pgoutput.h"

struct p2d_relcache;

/* A cached column; strings owned by the cache. */
struct p2d_relcol {
    char *name;
    uint32_t typoid;
    int32_t typmod;
    bool key;
};

/* A cached relation; valid until the next apply or forget of that relid
 * or the cache's destruction. */
struct p2d_rel {
    uint32_t relid;
    char *nspname;
    char *relname;
    char replident; /* 'd' 'n' 'f' 'i' */
    int ncols;
    struct p2d_relcol *cols;
};

/* p2d_reldiff.flags: a summary of the changes */
#define P2D_RELDIFF_NEW       0x001 /* first Relation for this relid */
#define P2D_RELDIFF_ADDED     0x002 /* columns added */
#define P2D_RELDIFF_DROPPED   0x004 /* columns dropped */
#define P2D_RELDIFF_RENAMED   0x008 /* same position, other name: rename or drop+add, report */
#define P2D_RELDIFF_RETYPED   0x010 /* type OID or typmod of a same-named column changed */
#define P2D_RELDIFF_KEY       0x020 /* key flag of a same-named column changed */
#define P2D_RELDIFF_IDENTITY  0x040 /* replica identity changed */
#define P2D_RELDIFF_RENAMEREL 0x080 /* namespace or relation name changed */
#define P2D_RELDIFF_REORDERED                                                                      \
    0x100 /* same-named columns in another order (dropped and re-added)                            \
           */

enum p2d_relchange_kind {
    P2D_RELCHANGE_ADD,     /* new column at new_pos */
    P2D_RELCHANGE_DROP,    /* old column at old_pos is gone */
    P2D_RELCHANGE_RENAME,  /* old_pos == new_pos, old_name -> new_name */
    P2D_RELCHANGE_RETYPE,  /* old/new type OID and typmod differ */
    P2D_RELCHANGE_KEY,     /* key flag changed */
    P2D_RELCHANGE_REORDER, /* same name, relative order changed */
};

/* One column change; names and types point into the cache and are valid
 * until the next apply. old_* are unset (-1 / NULL / 0) for ADD, new_* for
 * DROP. */
struct p2d_relchange {
    enum p2d_relchange_kind kind;
    int old_pos, new_pos; /* 0-based column positions */
    const char *old_name, *new_name;
    uint32_t old_typoid, new_typoid;
    int32_t old_typmod, new_typmod;
    bool old_key, new_key;
};

/*
 * What one Relation changed. flags == 0: nothing (a re-send). changes[]
 * lists column changes in old-then-new position order and is owned by the
 * cache, valid until the next p2d_relcache_apply. old_replident is the
 * previous replica identity (0 when NEW); old_nspname/old_relname are set
 * when RENAMEREL.
 */
struct p2d_reldiff {
    unsigned flags;
    char old_replident;
    const char *old_nspname, *old_relname;
    int nchanges;
    const struct p2d_relchange *changes;
};

/*
 * Creates a cache for up to max_relations relations and max_types types
 * (each at least 1). Returns NULL when out of memory.
 */
struct p2d_relcache *p2d_relcache_create(int max_relations, int max_types);

/* Frees everything; accepts NULL. */
void p2d_relcache_destroy(struct p2d_relcache *rc);

/*
 * Replaces the definition of m->u.relation.relid with the decoded Relation
 * m (borrowed until return; strings are copied) and fills *diff with what
 * changed since the previous definition. Returns 0, P2D_EINVAL when m is no
 * Relation, P2D_EFULL when the relation is new and max_relations are cached
 * already (hint: raise the limit), or P2D_ENOMEM; on error the cache is
 * unchanged.
 */
int p2d_relcache_apply(struct p2d_relcache *rc, const struct p2d_pgmsg *m, struct p2d_reldiff *diff)
    __attribute__((warn_unused_result));

/* The cached relation, or NULL; valid until it is next applied or forgotten. */
const struct p2d_rel *p2d_relcache_get(const struct p2d_relcache *rc, uint32_t relid);

/* Drops relid from the cache (e.g. its streamed transaction aborted, §4.1
 * caveat 5). Returns true when it was cached. */
bool p2d_relcache_forget(struct p2d_relcache *rc, uint32_t relid);

/* Number of cached relations. */
int p2d_relcache_count(const struct p2d_relcache *rc);

/*
 * Records a decoded Type message (borrowed until return; strings copied).
 * *changed is set when the type was known with another name. Returns 0,
 * P2D_EINVAL, P2D_EFULL (max_types reached) or P2D_ENOMEM.
 */
int p2d_relcache_apply_type(struct p2d_relcache *rc, const struct p2d_pgmsg *m, bool *changed)
    __attribute__((warn_unused_result));

/* Namespace and name of a user type from Type messages; false if unknown.
 * The strings are valid until that type is next applied. */
bool p2d_relcache_get_type(const struct p2d_relcache *rc, uint32_t oid, const char **nspname,
                           const char **typname);

/*
 * Writes a one-line description of diff for rel (after the apply) into
 * out (always NUL-terminated), e.g. `relation "public"."t": column "c"
 * (oid 23) added at position 5; column "d" dropped`. For logs and reports.
 */
void p2d_reldiff_describe(const struct p2d_rel *rel, const struct p2d_reldiff *diff, char *out,
                          size_t outsz);

#endif
