/*
 * plan.c - range planning (see plan.h for the strategies).
 *
 * Split points never decide correctness: whatever the statistics, ranges
 * of a leaf are [cut_i, cut_i+1) with open ends, so every row of the leaf
 * falls in exactly one range. Key values travel as typed literals produced
 * by the server itself (quote_literal(v::text) || '::' || type) so no value
 * is re-encoded on the client; the session's pinned settings (UTC, ISO,
 * extra_float_digits=3) make that text round-trip exactly.
 */
#include "snapshot/plan.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "p2d_error.h"

#define SAMPLE_ROWS_MIN      10000
#define SAMPLE_ROWS_PER_CUT  200
#define SAMPLE_ROWS_MAX      200000
#define SKEW_LIMIT           0.2   /* beyond this, fixed integer steps would be uneven */
#define COUNT_IF_BLOCKS_UPTO 12800 /* unanalysed leaf up to 100 MB: count(*) it */
#define ROWS_PER_BLOCK_GUESS 60

const char *p2d_plan_method_name(enum p2d_plan_method m)
{
    switch (m) {
    case P2D_PLAN_M_WHOLE:
        return "whole";
    case P2D_PLAN_M_INT_STEPS:
        return "int_steps";
    case P2D_PLAN_M_HISTOGRAM:
        return "histogram";
    case P2D_PLAN_M_SAMPLE:
        return "sample";
    case P2D_PLAN_M_NTILE:
        return "ntile";
    case P2D_PLAN_M_CTID:
        return "ctid";
    case P2D_PLAN_M_CHANGES:
        return "changes";
    }
    return "unknown";
}

/* ---- pure split math ---------------------------------------------------- */

size_t p2d_plan_split_count(int64_t est_rows, int64_t rows_per_range, size_t max_ranges,
                            size_t multiple)
{
    uint64_t k;

    if (rows_per_range <= 0)
        rows_per_range = P2D_PLAN_DEFAULT_ROWS_PER_RANGE;
    if (est_rows <= 0)
        return 1;
    k = (uint64_t)est_rows / (uint64_t)rows_per_range +
        ((uint64_t)est_rows % (uint64_t)rows_per_range != 0);
    if (k > 1 && multiple > 1 && k % multiple != 0)
        k += multiple - k % multiple;
    if (max_ranges > 0 && k > max_ranges)
        k = max_ranges;
    if (k > SIZE_MAX)
        k = SIZE_MAX;
    return k < 1 ? 1 : (size_t)k;
}

size_t p2d_plan_split_int(int64_t min, int64_t max, size_t nranges, int64_t *cuts)
{
    unsigned __int128 span;
    size_t i, n = 0;

    if (min >= max || nranges <= 1)
        return 0;
    /* Values in [min, max]: up to 2^64, so 128-bit arithmetic. */
    span = (unsigned __int128)((uint64_t)max - (uint64_t)min) + 1;
    if ((unsigned __int128)nranges > span)
        nranges = (size_t)span;
    for (i = 1; i < nranges; i++) {
        uint64_t off = (uint64_t)(span * i / nranges);
        int64_t cut = (int64_t)((uint64_t)min + off);

        if (n > 0 && cut <= cuts[n - 1])
            continue;
        if (cut <= min)
            continue;
        cuts[n++] = cut;
    }
    return n;
}

size_t p2d_plan_split_pick(size_t ncand, size_t nranges, size_t *idx)
{
    size_t buckets, i, n = 0;

    if (ncand < 3 || nranges <= 1)
        return 0;
    buckets = ncand - 1;
    if (nranges > buckets)
        nranges = buckets;
    for (i = 1; i < nranges; i++) {
        /* Nearest bucket boundary to the i-th of nranges quantiles. */
        size_t j = (size_t)(((unsigned __int128)i * buckets * 2 + nranges) / (2 * nranges));

        if (j < 1)
            j = 1;
        if (j > ncand - 2)
            j = ncand - 2;
        if (n > 0 && j <= idx[n - 1])
            continue;
        idx[n++] = j;
    }
    return n;
}

size_t p2d_plan_split_blocks(uint64_t nblocks, size_t nranges, uint64_t *cuts)
{
    size_t i, n = 0;

    if (nblocks < 2 || nranges <= 1)
        return 0;
    if (nranges > nblocks)
        nranges = (size_t)nblocks;
    for (i = 1; i < nranges; i++) {
        uint64_t c = (uint64_t)((unsigned __int128)nblocks * i / nranges);

        if (c == 0 || (n > 0 && c <= cuts[n - 1]))
            continue;
        cuts[n++] = c;
    }
    return n;
}

double p2d_plan_skew_int(int64_t min, int64_t max, const int64_t *bounds, size_t n)
{
    long double span = (long double)max - (long double)min;
    double worst = 0;
    size_t j;

    if (n < 2 || !(span > 0))
        return 0;
    for (j = 0; j < n; j++) {
        long double at = ((long double)bounds[j] - (long double)min) / span;
        long double even = (long double)j / (long double)(n - 1);
        double d = (double)fabsl(at - even);

        if (d > worst)
            worst = d;
    }
    return worst > 1 ? 1 : worst;
}

static int append_tuple(struct p2d_buf *out, const char *const *v, size_t n)
{
    int rc = 0;
    size_t i;

    if (n == 1)
        return p2d_pg_appendf(out, "%s", v[0]);
    rc = p2d_pg_appendf(out, "(");
    for (i = 0; i < n && rc == 0; i++)
        rc = p2d_pg_appendf(out, "%s%s", i ? ", " : "", v[i]);
    if (rc == 0)
        rc = p2d_pg_appendf(out, ")");
    return rc;
}

int p2d_plan_predicate_key(struct p2d_buf *out, const char *const *cols, size_t ncols,
                           const char *const *lo, const char *const *hi)
{
    int rc = 0;

    p2d_buf_reset(out);
    if (ncols == 0 || (!lo && !hi))
        return p2d_pg_appendf(out, "true");
    if (lo) {
        rc = append_tuple(out, cols, ncols);
        if (rc == 0)
            rc = p2d_pg_appendf(out, " >= ");
        if (rc == 0)
            rc = append_tuple(out, lo, ncols);
    }
    if (rc == 0 && hi) {
        if (lo)
            rc = p2d_pg_appendf(out, " AND ");
        if (rc == 0)
            rc = append_tuple(out, cols, ncols);
        if (rc == 0)
            rc = p2d_pg_appendf(out, " < ");
        if (rc == 0)
            rc = append_tuple(out, hi, ncols);
    }
    /* Implied bounds on the leading column: PostgreSQL misestimates row
     * comparisons and runs the middle ranges as sequential scans of the
     * whole table; with these it scans the key index. */
    if (rc == 0 && ncols > 1 && lo)
        rc = p2d_pg_appendf(out, " AND %s >= %s", cols[0], lo[0]);
    if (rc == 0 && ncols > 1 && hi)
        rc = p2d_pg_appendf(out, " AND %s <= %s", cols[0], hi[0]);
    return rc;
}

int p2d_plan_predicate_ctid(struct p2d_buf *out, bool has_lo, uint64_t lo, bool has_hi, uint64_t hi)
{
    int rc = 0;

    p2d_buf_reset(out);
    if (!has_lo && !has_hi)
        return p2d_pg_appendf(out, "true");
    if (has_lo)
        rc = p2d_pg_appendf(out, "ctid >= '(%" PRIu64 ",0)'", lo);
    if (rc == 0 && has_hi)
        rc = p2d_pg_appendf(out, "%sctid < '(%" PRIu64 ",0)'", has_lo ? " AND " : "", hi);
    return rc;
}

/* ---- the plan ----------------------------------------------------------- */

void p2d_plan_init(struct p2d_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
}

void p2d_plan_fini(struct p2d_plan *plan)
{
    size_t i;

    for (i = 0; i < plan->nranges; i++) {
        free(plan->ranges[i].leaf);
        free(plan->ranges[i].predicate);
        free(plan->ranges[i].copy_sql);
    }
    free(plan->ranges);
    memset(plan, 0, sizeof(*plan));
}

/* What is known about one leaf while planning it. */
struct leaf {
    const struct p2d_plan_opts *o;
    char schema[256];
    char name[256];
    char qname[1100];    /* "schema"."name" */
    char regclass[1200]; /* the qname as a quoted literal, for ::regclass */
    char relkind;
    bool heap;
    bool partition; /* a leaf of a partitioned table, not the table itself */
    int64_t rows;   /* estimate */
    int64_t bytes;  /* pg_table_size */
    uint64_t blocks;
    /* key */
    bool key_ok; /* every key column present and NOT NULL */
    bool key_int;
    char **cols;  /* quoted names */
    char **types; /* format_type(atttypid, NULL) */
    char **colls; /* COLLATE clause target or "" */
};

static void leaf_free(struct leaf *l)
{
    size_t i;

    for (i = 0; l->o && i < l->o->nkeys; i++) {
        if (l->cols)
            free(l->cols[i]);
        if (l->types)
            free(l->types[i]);
        if (l->colls)
            free(l->colls[i]);
    }
    free(l->cols);
    free(l->types);
    free(l->colls);
    l->cols = l->types = l->colls = NULL;
}

static int oom(struct p2d_pg_error *err)
{
    p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "out of memory while planning ranges");
    return P2D_ENOMEM;
}

static int grow_ranges(struct p2d_plan *plan, struct p2d_pg_error *err)
{
    struct p2d_plan_range *r;
    size_t cap;

    if (plan->nranges < plan->cap)
        return 0;
    cap = plan->cap ? plan->cap * 2 : 16;
    r = realloc(plan->ranges, cap * sizeof(*r));
    if (!r)
        return oom(err);
    plan->ranges = r;
    plan->cap = cap;
    return 0;
}

/* Appends one range with predicate pred (borrowed). */
static int add_range(struct p2d_plan *plan, const struct leaf *l, const char *pred,
                     int64_t est_rows, enum p2d_plan_method m, struct p2d_pg_error *err)
{
    struct p2d_plan_range *r;
    struct p2d_buf sql;
    int rc = grow_ranges(plan, err);

    if (rc != 0)
        return rc;
    p2d_buf_init(&sql, 1 << 24);
    rc = p2d_pg_appendf(&sql, "COPY (SELECT %s FROM ONLY %s WHERE %s",
                        l->o->select_list ? l->o->select_list : "*", l->qname, pred);
    if (rc == 0 && l->o->filter && *l->o->filter)
        rc = p2d_pg_appendf(&sql, " AND (%s)", l->o->filter);
    if (rc == 0)
        rc = p2d_pg_appendf(&sql, ") TO STDOUT");
    if (rc != 0) {
        p2d_buf_fini(&sql);
        return rc == P2D_ENOMEM ? oom(err) : rc;
    }
    r = &plan->ranges[plan->nranges];
    memset(r, 0, sizeof(*r));
    r->leaf = strdup(l->qname);
    r->predicate = strdup(pred);
    r->copy_sql = (char *)sql.data; /* NUL-terminated by p2d_pg_appendf */
    if (!r->leaf || !r->predicate) {
        free(r->leaf);
        free(r->predicate);
        free(r->copy_sql);
        return oom(err);
    }
    r->est_rows = est_rows < 0 ? 0 : est_rows;
    r->est_bytes =
        l->rows > 0 ? (int64_t)((double)l->bytes * (double)r->est_rows / (double)l->rows) : 0;
    r->method = m;
    plan->nranges++;
    return 0;
}

/* Runs sql, expecting rows. */
static int q(PGconn *conn, const char *sql, const char *what, PGresult **res,
             struct p2d_pg_error *err)
{
    return p2d_pg_exec(conn, sql, what, res, err);
}

/* Reads size, row estimate, kind and access method of the leaf. */
static int leaf_stats(PGconn *conn, struct leaf *l, struct p2d_pg_error *err)
{
    char sql[2048];
    PGresult *res = NULL;
    double reltuples;
    int64_t relsize, blksz;
    int rc;

    snprintf(sql, sizeof(sql),
             "SELECT c.reltuples::float8, pg_relation_size(c.oid), pg_table_size(c.oid), "
             "current_setting('block_size')::int8, c.relkind, %s "
             "FROM pg_class c WHERE c.oid = %s::regclass",
             PQserverVersion(conn) >= 120000
                 ? "coalesce((SELECT amname = 'heap' FROM pg_am WHERE oid = c.relam), false)"
                 : "c.relkind = 'r'",
             l->regclass);
    rc = q(conn, sql, "cannot read the table's size", &res, err);
    if (rc != 0)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "relation %s not found", l->qname);
        return P2D_ESOURCE;
    }
    reltuples = strtod(PQgetvalue(res, 0, 0), NULL);
    relsize = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    l->bytes = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    blksz = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    l->relkind = PQgetvalue(res, 0, 4)[0];
    l->heap = strcmp(PQgetvalue(res, 0, 5), "t") == 0 && l->relkind == 'r';
    PQclear(res);
    l->blocks = blksz > 0 && relsize > 0 ? (uint64_t)relsize / (uint64_t)blksz : 0;
    if (reltuples > 0 || (reltuples == 0 && l->blocks == 0)) {
        l->rows = (int64_t)reltuples;
        return 0;
    }
    /* Never analysed (reltuples -1 on 14+, 0 with pages before). */
    if (l->blocks <= COUNT_IF_BLOCKS_UPTO && l->relkind == 'r') {
        char count[32];
        bool null;

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM ONLY %s", l->qname);
        rc = p2d_pg_query_value(conn, sql, "cannot count rows", count, sizeof(count), &null, err);
        if (rc != 0)
            return rc;
        l->rows = strtoll(count, NULL, 10);
    } else {
        l->rows = (int64_t)(l->blocks * ROWS_PER_BLOCK_GUESS);
    }
    return 0;
}

/* Looks up every key column in the leaf: type, NOT NULL and collation. */
static int leaf_key(PGconn *conn, struct leaf *l, struct p2d_pg_error *err)
{
    const struct p2d_plan_opts *o = l->o;
    struct p2d_buf sql;
    PGresult *res = NULL;
    size_t i;
    int rc = 0;

    l->key_ok = false;
    l->key_int = false;
    if (!o->key_columns || o->nkeys == 0)
        return 0;
    l->cols = calloc(o->nkeys, sizeof(char *));
    l->types = calloc(o->nkeys, sizeof(char *));
    l->colls = calloc(o->nkeys, sizeof(char *));
    if (!l->cols || !l->types || !l->colls)
        return oom(err);
    p2d_buf_init(&sql, 1 << 20);
    l->key_ok = true;
    for (i = 0; i < o->nkeys && rc == 0; i++) {
        p2d_buf_reset(&sql);
        rc =
            p2d_pg_appendf(&sql, "SELECT a.attnotnull, format_type(a.atttypid, NULL), "
                                 "a.atttypid IN (20, 21, 23), "
                                 "CASE WHEN a.attcollation <> 0 THEN (SELECT format('%%I.%%I', "
                                 "n.nspname, co.collname) FROM pg_collation co JOIN pg_namespace n "
                                 "ON n.oid = co.collnamespace WHERE co.oid = a.attcollation) END "
                                 "FROM pg_attribute a WHERE a.attrelid = ");
        if (rc == 0)
            rc = p2d_pg_appendf(
                &sql, "%s::regclass AND NOT a.attisdropped AND a.attname = ", l->regclass);
        if (rc == 0)
            rc = p2d_pg_append_literal(conn, &sql, o->key_columns[i]);
        if (rc != 0) {
            rc = rc == P2D_ENOMEM ? oom(err) : rc;
            break;
        }
        rc = q(conn, (char *)sql.data, "cannot read the key columns", &res, err);
        if (rc != 0)
            break;
        if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
            /* A missing or nullable column: range predicates would lose NULL keys. */
            P2D_WARN("plan", "key column \"%s\" of %s is %s; not splitting by key",
                     o->key_columns[i], l->qname, PQntuples(res) != 1 ? "missing" : "nullable");
            l->key_ok = false;
            PQclear(res);
            res = NULL;
            continue;
        }
        {
            struct p2d_buf name;

            p2d_buf_init(&name, 4096);
            rc = p2d_pg_append_ident(conn, &name, o->key_columns[i]);
            l->cols[i] = rc == 0 ? (char *)name.data : NULL;
            if (rc != 0)
                p2d_buf_fini(&name);
        }
        l->types[i] = strdup(PQgetvalue(res, 0, 1));
        l->colls[i] = strdup(PQgetisnull(res, 0, 3) ? "" : PQgetvalue(res, 0, 3));
        if (rc != 0 || !l->cols[i] || !l->types[i] || !l->colls[i]) {
            PQclear(res);
            res = NULL;
            rc = oom(err);
            break;
        }
        if (i == 0)
            l->key_int = o->nkeys == 1 && strcmp(PQgetvalue(res, 0, 2), "t") == 0;
        PQclear(res);
        res = NULL;
    }
    p2d_buf_fini(&sql);
    return rc;
}

/* Ranges from cut tuples: cuts[i * ncols + c] is the typed literal of
 * column c at cut i (NULL-free). */
static int emit_key_ranges(struct p2d_plan *plan, const struct leaf *l, char *const *cuts,
                           size_t ncuts, enum p2d_plan_method m, struct p2d_pg_error *err)
{
    size_t ncols = l->o->nkeys, i, nr = ncuts + 1;
    struct p2d_buf pred;
    int rc = 0;

    p2d_buf_init(&pred, 1 << 22);
    for (i = 0; i < nr && rc == 0; i++) {
        const char *const *lo = i > 0 ? (const char *const *)&cuts[(i - 1) * ncols] : NULL;
        const char *const *hi = i < ncuts ? (const char *const *)&cuts[i * ncols] : NULL;

        rc = p2d_plan_predicate_key(&pred, (const char *const *)l->cols, ncols, lo, hi);
        if (rc != 0) {
            rc = oom(err);
            break;
        }
        rc = add_range(plan, l, (char *)pred.data, l->rows / (int64_t)nr, m, err);
    }
    p2d_buf_fini(&pred);
    return rc;
}

static void free_cuts(char **cuts, size_t n)
{
    size_t i;

    for (i = 0; cuts && i < n; i++)
        free(cuts[i]);
    free(cuts);
}

/* Typed literal expression of key column c, evaluated by the server. */
static int append_lit_expr(struct p2d_buf *b, PGconn *conn, const struct leaf *l, size_t c,
                           const char *expr)
{
    int rc = p2d_pg_appendf(b, "quote_literal((%s)::text) || ", expr);

    if (rc == 0)
        rc = p2d_pg_append_literal(conn, b, "::");
    if (rc == 0)
        rc = p2d_pg_appendf(b, " || ");
    if (rc == 0)
        rc = p2d_pg_append_literal(conn, b, l->types[c]);
    return rc;
}

/* Reads rows of ncols typed literals into a new cut array. */
static int collect_cuts(PGresult *res, size_t ncols, char ***cuts_out, size_t *ncuts,
                        struct p2d_pg_error *err)
{
    size_t n = (size_t)PQntuples(res), i, c;
    char **cuts = calloc(n * ncols + 1, sizeof(char *));

    *cuts_out = NULL;
    *ncuts = 0;
    if (!cuts)
        return oom(err);
    for (i = 0; i < n; i++)
        for (c = 0; c < ncols; c++) {
            if (PQgetisnull(res, (int)i, (int)c)) {
                free_cuts(cuts, n * ncols);
                p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "split query returned a NULL key");
                return P2D_EPROTO;
            }
            cuts[i * ncols + c] = strdup(PQgetvalue(res, (int)i, (int)c));
            if (!cuts[i * ncols + c]) {
                free_cuts(cuts, n * ncols);
                return oom(err);
            }
        }
    *cuts_out = cuts;
    *ncuts = n;
    return 0;
}

/* NTILE over the key, on a TABLESAMPLE SYSTEM sample when the leaf is
 * large (block sampling: fast; clumpy, which costs balance, not
 * correctness). */
static int plan_ntile(PGconn *conn, struct p2d_plan *plan, const struct leaf *l, size_t nranges,
                      struct p2d_pg_error *err)
{
    size_t ncols = l->o->nkeys, c, ncuts = 0;
    int64_t target = (int64_t)nranges * SAMPLE_ROWS_PER_CUT;
    double pct = 100;
    enum p2d_plan_method m = P2D_PLAN_M_NTILE;
    struct p2d_buf sql, keys;
    PGresult *res = NULL;
    char **cuts = NULL, bucket[32] = "p2d_bucket";
    size_t attempt = 0;
    int rc = 0;

    if (target < SAMPLE_ROWS_MIN)
        target = SAMPLE_ROWS_MIN;
    if (target > SAMPLE_ROWS_MAX)
        target = SAMPLE_ROWS_MAX;
    if (l->rows > 0)
        pct = 100.0 * (double)target / (double)l->rows;
    if (pct < 50 && l->relkind == 'r') {
        m = P2D_PLAN_M_SAMPLE;
        if (pct < 0.0001)
            pct = 0.0001;
    }
    p2d_buf_init(&sql, 1 << 22);
    p2d_buf_init(&keys, 1 << 20);
    /* The bucket's alias must not be a key column's name. */
    for (c = 0; c < ncols; c++)
        if (strcmp(l->o->key_columns[c], bucket) == 0) {
            snprintf(bucket, sizeof(bucket), "p2d_bucket_%zu", ++attempt);
            c = (size_t)-1; /* start over */
        }
    for (c = 0; c < ncols && rc == 0; c++)
        rc = p2d_pg_appendf(&keys, "%s%s", c ? ", " : "", l->cols[c]);
    if (rc == 0)
        rc = p2d_pg_appendf(&sql, "SELECT ");
    for (c = 0; c < ncols && rc == 0; c++) {
        char expr[1200];

        snprintf(expr, sizeof(expr), "s.%s", l->cols[c]);
        if (c > 0)
            rc = p2d_pg_appendf(&sql, ", ");
        if (rc == 0)
            rc = append_lit_expr(&sql, conn, l, c, expr);
    }
    /* DISTINCT ON (b) ... ORDER BY b, key: the smallest key of each bucket
     * after the first is a cut; the sort uses the columns' own collation. */
    if (rc == 0)
        rc = p2d_pg_appendf(&sql,
                            " FROM (SELECT DISTINCT ON (%s) %s, %s FROM (SELECT %s, ntile(%zu) "
                            "OVER (ORDER BY %s) AS %s FROM ONLY %s",
                            bucket, bucket, (char *)keys.data, (char *)keys.data, nranges,
                            (char *)keys.data, bucket, l->qname);
    if (rc == 0 && m == P2D_PLAN_M_SAMPLE)
        rc = p2d_pg_appendf(&sql, " TABLESAMPLE SYSTEM (%.6f) REPEATABLE (0)", pct);
    if (rc == 0)
        rc = p2d_pg_appendf(&sql, ") t WHERE %s > 1 ORDER BY %s, %s) s ORDER BY s.%s", bucket,
                            bucket, (char *)keys.data, bucket);
    if (rc != 0) {
        rc = rc == P2D_ENOMEM ? oom(err) : rc;
        goto out;
    }
    rc = q(conn, (char *)sql.data, "cannot compute key split points", &res, err);
    if (rc != 0)
        goto out;
    rc = collect_cuts(res, ncols, &cuts, &ncuts, err);
    if (rc != 0)
        goto out;
    rc = emit_key_ranges(plan, l, cuts, ncuts, m, err);
out:
    free_cuts(cuts, ncuts * ncols);
    PQclear(res);
    p2d_buf_fini(&sql);
    p2d_buf_fini(&keys);
    return rc;
}

/* Reads the leaf's histogram bounds for the single key column as sorted,
 * distinct typed literals (sorted with the column's collation). *n = 0
 * when there are none. */
static int histogram_literals(PGconn *conn, const struct leaf *l, PGresult **out,
                              struct p2d_pg_error *err)
{
    struct p2d_buf sql;
    int rc;

    *out = NULL;
    p2d_buf_init(&sql, 1 << 20);
    rc = p2d_pg_appendf(&sql, "SELECT ");
    if (rc == 0)
        rc = append_lit_expr(&sql, conn, l, 0, "v");
    if (rc == 0)
        rc = p2d_pg_appendf(&sql,
                            ", v::text FROM (SELECT DISTINCT v FROM unnest((SELECT "
                            "histogram_bounds::text::%s[] FROM pg_stats WHERE schemaname = ",
                            l->types[0]);
    if (rc == 0)
        rc = p2d_pg_append_literal(conn, &sql, l->schema);
    if (rc == 0)
        rc = p2d_pg_appendf(&sql, " AND tablename = ");
    if (rc == 0)
        rc = p2d_pg_append_literal(conn, &sql, l->name);
    if (rc == 0)
        rc = p2d_pg_appendf(&sql, " AND attname = ");
    if (rc == 0)
        rc = p2d_pg_append_literal(conn, &sql, l->o->key_columns[0]);
    if (rc == 0)
        rc = p2d_pg_appendf(&sql, " AND NOT inherited LIMIT 1)) AS v) AS h ORDER BY h.v%s%s",
                            l->colls[0][0] ? " COLLATE " : "", l->colls[0]);
    if (rc != 0) {
        p2d_buf_fini(&sql);
        return rc == P2D_ENOMEM ? oom(err) : rc;
    }
    rc = q(conn, (char *)sql.data, "cannot read histogram bounds", out, err);
    p2d_buf_fini(&sql);
    return rc;
}

static int plan_histogram(PGconn *conn, struct p2d_plan *plan, const struct leaf *l, PGresult *hist,
                          size_t nranges, struct p2d_pg_error *err)
{
    size_t ncand = (size_t)PQntuples(hist), n, i;
    size_t *idx = calloc(nranges, sizeof(size_t));
    char **cuts = calloc(nranges, sizeof(char *));
    int rc;

    if (!idx || !cuts) {
        free(idx);
        free(cuts);
        return oom(err);
    }
    n = p2d_plan_split_pick(ncand, nranges, idx);
    for (i = 0; i < n; i++)
        cuts[i] = PQgetvalue(hist, (int)idx[i], 0); /* borrowed from hist */
    rc = emit_key_ranges(plan, l, cuts, n, P2D_PLAN_M_HISTOGRAM, err);
    free(idx);
    free(cuts);
    return rc;
}

static int plan_int_steps(PGconn *conn, struct p2d_plan *plan, const struct leaf *l, int64_t min,
                          int64_t max, size_t nranges, struct p2d_pg_error *err)
{
    int64_t *cuts = calloc(nranges, sizeof(int64_t));
    char **lits = calloc(nranges, sizeof(char *));
    size_t n, i;
    int rc = 0;

    if (!cuts || !lits) {
        free(cuts);
        free(lits);
        return oom(err);
    }
    n = p2d_plan_split_int(min, max, nranges, cuts);
    for (i = 0; i < n && rc == 0; i++) {
        char lit[32];

        snprintf(lit, sizeof(lit), "%" PRId64, cuts[i]);
        lits[i] = strdup(lit);
        if (!lits[i])
            rc = oom(err);
    }
    if (rc == 0)
        rc = emit_key_ranges(plan, l, lits, n, P2D_PLAN_M_INT_STEPS, err);
    free_cuts(lits, n);
    free(cuts);
    return rc;
}

/* A row that a later snapshot finds in another block range, or another
 * partition, than the first cut did: see P2D_PLAN_M_CHANGES. xmin is the
 * raw inserting xid (kept by freezing); age() compares xids in wraparound
 * order, from the reader's next xid, so a visible row's age is at least 1:
 * a raw xmin more than 2^31 old (a long frozen row) has a negative one. */
static int add_changes(struct p2d_plan *plan, const struct leaf *l, struct p2d_pg_error *err)
{
    char pred[96];

    snprintf(pred, sizeof(pred), "age(xmin) BETWEEN 1 AND age('%" PRIu32 "'::xid)",
             l->o->changed_since_xid);
    return add_range(plan, l, pred, 0, P2D_PLAN_M_CHANGES, err);
}

static int plan_ctid(struct p2d_plan *plan, const struct leaf *l, size_t nranges,
                     struct p2d_pg_error *err)
{
    uint64_t *cuts = calloc(nranges, sizeof(uint64_t));
    struct p2d_buf pred;
    size_t n, i;
    int rc = 0;

    if (!cuts)
        return oom(err);
    n = p2d_plan_split_blocks(l->blocks, nranges, cuts);
    p2d_buf_init(&pred, 4096);
    for (i = 0; i <= n && rc == 0; i++) {
        uint64_t lo = i > 0 ? cuts[i - 1] : 0, hi = i < n ? cuts[i] : l->blocks;
        int64_t est = l->blocks ? (int64_t)((double)l->rows * (double)(hi - lo) / (double)l->blocks)
                                : l->rows;

        /* First range open below (ctid >= (0,0) is everything anyway), last
         * open above: rows on blocks added since the size was read are
         * invisible to the snapshot, but the open end costs nothing. */
        rc = p2d_plan_predicate_ctid(&pred, i > 0, lo, i < n, hi);
        if (rc != 0) {
            rc = oom(err);
            break;
        }
        rc =
            add_range(plan, l, (char *)pred.data, est, n ? P2D_PLAN_M_CTID : P2D_PLAN_M_WHOLE, err);
    }
    if (rc == 0 && (n > 0 || l->partition) && l->o->changed_since)
        rc = add_changes(plan, l, err);
    p2d_buf_fini(&pred);
    free(cuts);
    return rc;
}

/* Reads min and max of the integer key; *empty when the leaf has no rows. */
static int int_min_max(PGconn *conn, const struct leaf *l, int64_t *min, int64_t *max, bool *empty,
                       struct p2d_pg_error *err)
{
    char sql[2600];
    PGresult *res;
    int rc;

    snprintf(sql, sizeof(sql), "SELECT min(%s)::int8, max(%s)::int8 FROM ONLY %s", l->cols[0],
             l->cols[0], l->qname);
    rc = q(conn, sql, "cannot read the key's range", &res, err);
    if (rc != 0)
        return rc;
    *empty = PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1);
    if (!*empty) {
        *min = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *max = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return 0;
}

/* Integer histogram bounds of the key into a new array; *n 0 when none. */
static int int_histogram(PGresult *hist, int64_t **out, size_t *n, struct p2d_pg_error *err)
{
    size_t m = (size_t)PQntuples(hist), i;

    *out = NULL;
    *n = 0;
    if (m == 0)
        return 0;
    *out = calloc(m, sizeof(int64_t));
    if (!*out)
        return oom(err);
    for (i = 0; i < m; i++)
        (*out)[i] = strtoll(PQgetvalue(hist, (int)i, 1), NULL, 10);
    *n = m;
    return 0;
}

static int plan_leaf(PGconn *conn, struct p2d_plan *plan, struct leaf *l, struct p2d_pg_error *err)
{
    const struct p2d_plan_opts *o = l->o;
    size_t nranges;
    bool ctid_ok;
    PGresult *hist = NULL;
    int rc;

    rc = leaf_stats(conn, l, err);
    if (rc == 0)
        rc = leaf_key(conn, l, err);
    if (rc != 0)
        return rc;
    nranges = p2d_plan_split_count(l->rows, o->rows_per_range,
                                   o->max_ranges ? o->max_ranges : P2D_PLAN_DEFAULT_MAX_RANGES,
                                   o->range_multiple);
    ctid_ok = PQserverVersion(conn) >= 140000 && l->heap;
    if (nranges <= 1 || o->strategy == P2D_PLAN_WHOLE) {
        rc = add_range(plan, l, "true", l->rows, P2D_PLAN_M_WHOLE, err);
        /* an UPDATE of the partition key moves a row into another leaf,
         * which may be done: each heap leaf of a partitioned table gets
         * its CHANGES range (the table has one resume check for all) */
        if (rc == 0 && l->partition && ctid_ok && o->changed_since && o->strategy != P2D_PLAN_KEY)
            rc = add_changes(plan, l, err);
        return rc;
    }
    if (ctid_ok && (o->strategy != P2D_PLAN_KEY || !l->key_ok))
        return plan_ctid(plan, l, nranges, err);
    if (!l->key_ok) /* before 14 a ctid range reads the whole table (§7.3): one reader */
        return add_range(plan, l, "true", l->rows, P2D_PLAN_M_WHOLE, err);

    if (o->nkeys == 1) {
        rc = histogram_literals(conn, l, &hist, err);
        if (rc != 0)
            return rc;
    }
    if (l->key_int) {
        int64_t min = 0, max = 0, *bounds = NULL;
        size_t nb = 0;
        bool empty;
        double skew = 0;

        rc = int_min_max(conn, l, &min, &max, &empty, err);
        if (rc == 0 && empty)
            rc = add_range(plan, l, "true", 0, P2D_PLAN_M_WHOLE, err);
        if (rc != 0 || empty)
            goto out;
        rc = int_histogram(hist, &bounds, &nb, err);
        if (rc != 0)
            goto out;
        if (nb >= 2) {
            skew = p2d_plan_skew_int(min, max, bounds, nb);
        } else if (l->rows > 0 && (double)max - (double)min + 1 > 4.0 * (double)l->rows) {
            skew = 1; /* no histogram and a sparse key: do not trust even steps */
        }
        free(bounds);
        if (skew <= SKEW_LIMIT) {
            rc = plan_int_steps(conn, plan, l, min, max, nranges, err);
            goto out;
        }
        P2D_DEBUG("plan", "%s: key skew %.2f, not using even steps", l->qname, skew);
    }
    if (hist && PQntuples(hist) >= 3 && !l->key_int)
        rc = plan_histogram(conn, plan, l, hist, nranges, err);
    else
        rc = plan_ntile(conn, plan, l, nranges, err);
out:
    PQclear(hist);
    return rc;
}

/* Fills the names of a leaf from its schema and name. */
static int leaf_names(PGconn *conn, struct leaf *l, const char *schema, const char *name,
                      struct p2d_pg_error *err)
{
    struct p2d_buf b;
    int rc;

    snprintf(l->schema, sizeof(l->schema), "%s", schema);
    snprintf(l->name, sizeof(l->name), "%s", name);
    p2d_buf_init(&b, sizeof(l->regclass) - 1);
    rc = p2d_pg_append_qualified(conn, &b, schema, name);
    if (rc == 0 && b.len < sizeof(l->qname)) {
        memcpy(l->qname, b.data, b.len + 1);
        p2d_buf_reset(&b);
        rc = p2d_pg_append_literal(conn, &b, l->qname);
        if (rc == 0)
            memcpy(l->regclass, b.data, b.len + 1);
    } else if (rc == 0) {
        rc = P2D_EFULL;
    }
    p2d_buf_fini(&b);
    if (rc != 0)
        p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "cannot quote the name of \"%s\".\"%s\": %s",
                         schema, name, p2d_strerror(rc));
    return rc;
}

int p2d_plan_table(PGconn *conn, const struct p2d_plan_opts *o, struct p2d_plan *plan,
                   struct p2d_pg_error *err)
{
    struct leaf root;
    char sql[3000];
    PGresult *res = NULL;
    int rc, i;

    p2d_pg_error_clear(err);
    memset(&root, 0, sizeof(root));
    root.o = o;
    rc = leaf_names(conn, &root, o->schema, o->table, err);
    if (rc != 0)
        return rc;
    /* Leaves of a partitioned table (at any depth), or the table itself. */
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE t(oid) AS (SELECT %s::regclass::oid UNION ALL "
             "SELECT i.inhrelid FROM pg_inherits i JOIN t ON i.inhparent = t.oid "
             "JOIN pg_class p ON p.oid = t.oid WHERE p.relkind = 'p') "
             "SELECT n.nspname, c.relname FROM t JOIN pg_class c ON c.oid = t.oid "
             "JOIN pg_namespace n ON n.oid = c.relnamespace "
             "WHERE c.relkind NOT IN ('p', 'I') ORDER BY 1, 2",
             root.regclass);
    /* A failed query must not abort the holder's transaction: S2 would go
     * with it. Planning runs in a savepoint. */
    rc = p2d_pg_exec(conn, "SAVEPOINT p2d_plan", "cannot plan ranges", NULL, err);
    if (rc != 0)
        return rc;
    rc = q(conn, sql, "cannot list the table's partitions", &res, err);
    if (rc != 0)
        goto out;
    for (i = 0; i < PQntuples(res) && rc == 0; i++) {
        struct leaf l;
        size_t before = plan->nranges;

        memset(&l, 0, sizeof(l));
        l.o = o;
        rc = leaf_names(conn, &l, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), err);
        l.partition = rc == 0 && strcmp(l.qname, root.qname) != 0;
        if (rc == 0)
            rc = plan_leaf(conn, plan, &l, err);
        if (rc == 0) {
            plan->nleaves++;
            P2D_DEBUG("plan", "%s: %zu ranges (%s), about %" PRId64 " rows", l.qname,
                      plan->nranges - before,
                      plan->nranges > before ? p2d_plan_method_name(plan->ranges[before].method)
                                             : "none",
                      l.rows);
        }
        leaf_free(&l);
    }
out:
    PQclear(res);
    if (rc != 0) {
        struct p2d_pg_error ignored;

        if (p2d_pg_exec(conn, "ROLLBACK TO SAVEPOINT p2d_plan; RELEASE SAVEPOINT p2d_plan",
                        "cannot roll back the planning savepoint", NULL, &ignored) != 0)
            P2D_WARN("plan", "%s", ignored.message);
        return rc;
    }
    return p2d_pg_exec(conn, "RELEASE SAVEPOINT p2d_plan", "cannot plan ranges", NULL, err);
}
