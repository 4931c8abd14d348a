/*
 * plan.h - splits each selected table into ranges that reader threads COPY
 * in parallel inside the holder's snapshot (docs/pg-replication.md §7.2,
 * §7.3). A range is a SQL predicate over one leaf relation; the ranges of a
 * leaf are contiguous, cover every row (first and last are open-ended) and
 * never overlap, whatever the statistics say: statistics only decide where
 * the cuts fall.
 *
 * Strategies, per leaf (a partitioned table is planned leaf by leaf):
 *   WHOLE       one range ("true"): small leaf, or nothing better exists;
 *   INT_STEPS   single-column integer key, fairly uniform: min/max and
 *               fixed steps;
 *   HISTOGRAM   single-column key: cut points from pg_stats.histogram_bounds;
 *   SAMPLE      NTILE over a TABLESAMPLE SYSTEM sample of the key;
 *   NTILE       NTILE over the whole key (small tables, or no stats);
 *   CTID        block ranges (PostgreSQL 14+, heap tables), the default there:
 *               a TID range scan reads its blocks in order, where a key range
 *               costs PostgreSQL an index descent and a heap fetch per row
 *               (30% more server CPU on the lineitem bench, perf/README.md).
 *               Key ranges are used before 14, for other access methods, and
 *               with P2D_PLAN_KEY.
 * Key predicates compare with the column's own collation (the split query
 * sorts by the column, never by an explicit other collation); composite keys
 * use row comparison.
 *
 * The split math (p2d_plan_split_*, p2d_plan_predicate_*) is pure.
 * p2d_plan_table runs its queries on a borrowed PGconn that must already be
 * inside the snapshot (the holder, or a reader that imported S2).
 */
#ifndef P2D_PLAN_H
#define P2D_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "snapshot/pgconn.h"

#define P2D_PLAN_DEFAULT_ROWS_PER_RANGE 500000
#define P2D_PLAN_DEFAULT_MAX_RANGES     4096 /* per leaf */

enum p2d_plan_strategy {
    P2D_PLAN_AUTO,  /* ctid ranges when possible (PG14+, heap), else key ranges */
    P2D_PLAN_KEY,   /* key ranges when the key is usable, else as AUTO */
    P2D_PLAN_WHOLE, /* one range per leaf */
};

enum p2d_plan_method {
    P2D_PLAN_M_WHOLE,
    P2D_PLAN_M_INT_STEPS,
    P2D_PLAN_M_HISTOGRAM,
    P2D_PLAN_M_SAMPLE,
    P2D_PLAN_M_NTILE,
    P2D_PLAN_M_CTID,
    /*
     * Not a part of the table: the rows of a leaf split by ctid that were
     * inserted or updated since the first cut (`age(xmin) BETWEEN 1 AND
     * age(X)`, X the cut snapshot's xmin: a superset of what that snapshot
     * could not see).
     * Its est_rows is 0. A resumed run reads the unfinished ctid ranges
     * under a new snapshot; a row updated in the gap may have moved into a
     * block range that is already done, and only this range finds it.
     */
    P2D_PLAN_M_CHANGES,
};

/* Name of a method ("int_steps", ...). */
const char *p2d_plan_method_name(enum p2d_plan_method m);

struct p2d_plan_opts {
    const char *schema; /* the selected table (a partitioned root is fine) */
    const char *table;
    const char *const *key_columns; /* PK or non-null unique key, in key order; NULL: none */
    size_t nkeys;
    const char *select_list; /* projection, already SQL (quoted names); NULL: "*" */
    const char *filter;      /* user WHERE filter as SQL; NULL: none */
    int64_t rows_per_range;  /* <= 0: P2D_PLAN_DEFAULT_ROWS_PER_RANGE */
    size_t max_ranges;       /* per leaf; 0: P2D_PLAN_DEFAULT_MAX_RANGES */
    size_t range_multiple;   /* a leaf split at all gets a multiple of this many
                                ranges (the readers: none idles at the end); 0: any */
    enum p2d_plan_strategy strategy;
    /* Add a P2D_PLAN_M_CHANGES range after each leaf split by ctid, and
     * after every heap leaf of a partitioned table unless split by key, for
     * rows changed since the snapshot whose xmin is changed_since_xid. */
    bool changed_since;
    uint32_t changed_since_xid;
};

struct p2d_plan_range {
    char *leaf;      /* quoted "schema"."name" of the relation read */
    char *predicate; /* SQL boolean over the leaf's columns */
    char *copy_sql;  /* COPY (SELECT <cols> FROM ONLY <leaf> WHERE <pred> [AND (<filter>)]) TO
                        STDOUT */
    int64_t est_rows;
    int64_t est_bytes;
    enum p2d_plan_method method;
};

/* The ranges of one or more tables, in planning order; owns every string. */
struct p2d_plan {
    struct p2d_plan_range *ranges;
    size_t nranges;
    size_t cap;
    size_t nleaves;
};

void p2d_plan_init(struct p2d_plan *plan);
void p2d_plan_fini(struct p2d_plan *plan);

/*
 * Plans opts' table and appends its ranges to plan. conn is borrowed and
 * must be in the snapshot's transaction. On failure returns a negative
 * P2D_E* with err filled; ranges appended before the failure stay.
 */
int p2d_plan_table(PGconn *conn, const struct p2d_plan_opts *opts, struct p2d_plan *plan,
                   struct p2d_pg_error *err) __attribute__((warn_unused_result));

/* ---- pure split math ---------------------------------------------------- */

/* How many ranges for est_rows rows: ceil(est_rows / rows_per_range),
 * rounded up to a multiple of `multiple` when above 1 (0 or 1: no
 * rounding), between 1 and max_ranges (0: no cap). */
size_t p2d_plan_split_count(int64_t est_rows, int64_t rows_per_range, size_t max_ranges,
                            size_t multiple);

/*
 * Cut points for nranges ranges over the integer key span [min, max]:
 * writes up to nranges - 1 strictly increasing points into cuts, each in
 * (min, max], and returns how many. Range i is [cut[i-1], cut[i]), the
 * first open below and the last open above. Fewer ranges when the span has
 * fewer values than nranges; none when min >= max or nranges <= 1.
 */
size_t p2d_plan_split_int(int64_t min, int64_t max, size_t nranges, int64_t *cuts);

/*
 * Chooses cut points among ncand sorted, distinct quantile bounds
 * (pg_stats histogram: ncand bounds delimit ncand - 1 equally populated
 * buckets) for nranges ranges: writes strictly increasing indexes in
 * [1, ncand - 2] into idx and returns how many (at most nranges - 1).
 */
size_t p2d_plan_split_pick(size_t ncand, size_t nranges, size_t *idx);

/*
 * Block cut points for nranges ranges over nblocks blocks: strictly
 * increasing block numbers in [1, nblocks - 1], at most nranges - 1.
 * Range i is blocks [cut[i-1], cut[i]); the last is open above.
 */
size_t p2d_plan_split_blocks(uint64_t nblocks, size_t nranges, uint64_t *cuts);

/*
 * How far an integer key's histogram bounds (sorted, n >= 2) are from an
 * even spread over [min, max]: the largest gap, as a fraction of the
 * whole, between where bound j lies and where an even spread would put it
 * (j / (n - 1)). 0 for perfectly even data, near 1 for extreme skew.
 */
double p2d_plan_skew_int(int64_t min, int64_t max, const int64_t *bounds, size_t n);

/*
 * Writes the predicate of one key range into out (replacing its content,
 * NUL-terminated): cols are quoted column names, lo / hi the typed
 * literals of the range's bounds (ncols each) or NULL when open. Both open
 * gives "true"; one column gives "c >= lo AND c < hi"; several give
 * "(a, b) >= (la, lb) AND (a, b) < (ha, hb) AND a >= la AND a <= ha" (the
 * last two are implied; they let the planner use the key index).
 */
int p2d_plan_predicate_key(struct p2d_buf *out, const char *const *cols, size_t ncols,
                           const char *const *lo, const char *const *hi)
    __attribute__((warn_unused_result));

/* The same for ctid block ranges: "ctid >= '(lo,0)' AND ctid < '(hi,0)'". */
int p2d_plan_predicate_ctid(struct p2d_buf *out, bool has_lo, uint64_t lo, bool has_hi, uint64_t hi)
    __attribute__((warn_unused_result));

#endif
