/*
 * catalog.c - reads the source catalog (see catalog.h).
 *
 * Four queries, each over every selected table at once (an OID array
 * literal, so the simple query protocol works): tables, columns (domains
 * resolved to their base type and typmod by a recursive walk over
 * pg_type), unique indexes, and the leaves of partitioned roots
 * (pg_partition_tree on 12+, a recursive pg_inherits walk on 10 and 11).
 * Selection, key choice and name checks happen here in C, so the SQL stays
 * the same for every job.
 */
#include "schema/catalog.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "p2d_error.h"

#define DORIS_TABLE_NAME_MAX  64
#define DORIS_COLUMN_NAME_MAX 256
#define MAX_INDEX_COLUMNS     32 /* INDEX_MAX_KEYS */

/* ---- pure helpers ------------------------------------------------------ */

int p2d_catalog_pick_key(const struct p2d_key_candidate *c, size_t n)
{
    int best = -1;

    for (size_t i = 0; i < n; i++) {
        if (!c[i].usable || !c[i].all_not_null || c[i].ncolumns == 0)
            continue;
        if (c[i].primary)
            return (int)i;
        if (best < 0 || c[i].ncolumns < c[best].ncolumns ||
            (c[i].ncolumns == c[best].ncolumns && strcmp(c[i].index_name, c[best].index_name) < 0))
            best = (int)i;
    }
    return best;
}

int p2d_catalog_parse_int2vector(const char *text, int *out, int max)
{
    int n = 0;
    const char *p = text;

    while (*p) {
        char *end;
        long v;

        if (*p == ' ') {
            p++;
            continue;
        }
        errno = 0;
        v = strtol(p, &end, 10);
        if (end == p || errno != 0 || v < -32768 || v > 32767 || (*end && *end != ' '))
            return -1;
        if (n >= max)
            return -1;
        out[n++] = (int)v;
        p = end;
    }
    return n;
}

bool p2d_catalog_doris_table_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > DORIS_TABLE_NAME_MAX || (s[0] & 0x80) || !isalpha((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x80 || !(isalnum(c) || c == '-' || c == '_'))
            return false;
    }
    return true;
}

bool p2d_catalog_doris_column_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > DORIS_COLUMN_NAME_MAX || strncmp(s, "mv_", 3) == 0 ||
        strncmp(s, "mva_", 4) == 0 || strncmp(s, "__doris_shadow_", 15) == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x80)
            return false;
        if (isalnum(c) || c == '_' || c == '@' || c == ' ' || c == '\t' || c == '<' || c == '>' ||
            c == '/')
            continue;
        if (i > 0 && strchr(".+,-?#$%^&*\":", c))
            continue;
        return false;
    }
    return true;
}

const struct p2d_table *p2d_catalog_find(const struct p2d_catalog *cat, const char *schema,
                                         const char *name)
{
    for (size_t i = 0; i < cat->ntables; i++)
        if (strcmp(cat->tables[i].schema, schema) == 0 && strcmp(cat->tables[i].name, name) == 0)
            return &cat->tables[i];
    return NULL;
}

int p2d_catalog_column_index(const struct p2d_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncolumns; i++)
        if (strcmp(t->columns[i].name, name) == 0)
            return (int)i;
    return -1;
}

void p2d_catalog_pgcol(const struct p2d_column *col, struct p2d_pgcol *out)
{
    memset(out, 0, sizeof(*out));
    out->type_oid = col->type_oid;
    out->type_name = col->type_name;
    out->domain_name = col->domain_name;
    out->typtype = col->typtype;
    out->typcategory = col->typcategory;
    out->typmod = col->typmod;
    out->elem_type_name = col->elem_type_name;
    out->attnotnull = col->not_null;
}

/* ---- destruction ------------------------------------------------------- */

static void table_fini(struct p2d_table *t)
{
    for (size_t i = 0; i < t->ncolumns; i++) {
        struct p2d_column *c = &t->columns[i];

        free(c->name);
        free(c->type_display);
        free(c->type_name);
        free(c->domain_name);
        free(c->elem_type_name);
        free(c->default_expr);
    }
    free(t->columns);
    for (size_t i = 0; i < t->npartitions; i++) {
        free(t->partitions[i].schema);
        free(t->partitions[i].name);
    }
    free(t->partitions);
    free(t->schema);
    free(t->name);
    free(t->key_index);
    free(t->key);
    free(t->replident_index);
    free(t->name_problems);
}

void p2d_catalog_destroy(struct p2d_catalog *cat)
{
    if (!cat)
        return;
    for (size_t i = 0; i < cat->ntables; i++)
        table_fini(&cat->tables[i]);
    free(cat->tables);
    free(cat);
}

/* ---- queries ----------------------------------------------------------- */

/* Every regular table and partitioned root outside the system schemas;
 * selection by the job's patterns happens in C. */
static const char q_tables[] =
    "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence, c.relreplident,"
    " c.reltuples::bigint, pg_total_relation_size(c.oid),"
    " (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
    "   WHERE i.indrelid = c.oid AND i.indisreplident LIMIT 1)"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence <> 't'"
    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp_'";

/* Columns with domains resolved: the walk follows typbasetype until a
 * non-domain type; only the innermost domain may carry a typmod
 * (getBaseTypeAndTypmod), so the last level's typtypmod is the one. */
static const char q_columns_head[] =
    "WITH RECURSIVE dom(dom_oid, base_oid, base_typmod, dom_notnull, depth) AS ("
    " SELECT t.oid, t.typbasetype, t.typtypmod, t.typnotnull, 1 FROM pg_type t"
    "  WHERE t.typtype = 'd'"
    " UNION ALL"
    " SELECT d.dom_oid, t.typbasetype, t.typtypmod, d.dom_notnull OR t.typnotnull, d.depth + 1"
    "  FROM dom d JOIN pg_type t ON t.oid = d.base_oid AND t.typtype = 'd'),"
    " dom_final AS (SELECT DISTINCT ON (dom_oid) dom_oid, base_oid, base_typmod, dom_notnull"
    "  FROM dom ORDER BY dom_oid, depth DESC)"
    " SELECT a.attrelid, a.attnum, a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod),"
    " bt.typname, CASE WHEN df.dom_oid IS NULL THEN NULL ELSE ty.typname END,"
    " bt.typtype, bt.typcategory,"
    " CASE WHEN df.dom_oid IS NULL THEN a.atttypmod ELSE df.base_typmod END,"
    " et.typname, a.attnotnull, coalesce(df.dom_notnull, false),"
    " pg_get_expr(ad.adbin, ad.adrelid), a.attstorage, ";
static const char q_columns_generated_12[] = "a.attgenerated <> ''";
static const char q_columns_generated_10[] = "false";
static const char q_columns_mid[] =
    " FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid"
    " LEFT JOIN dom_final df ON df.dom_oid = a.atttypid"
    " JOIN pg_type bt ON bt.oid = coalesce(df.base_oid, a.atttypid)"
    " LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typlen = -1 AND bt.typelem <> 0"
    " LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum"
    " WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attrelid = ANY (";
static const char q_columns_tail[] = ") ORDER BY a.attrelid, a.attnum";

/* Unique indexes; indnkeyatts (11+) leaves INCLUDE columns out. */
static const char q_keys_head_11[] =
    "SELECT i.indrelid, ic.relname, i.indisprimary,"
    " i.indisvalid AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL,"
    " i.indnkeyatts, i.indkey";
static const char q_keys_head_10[] =
    "SELECT i.indrelid, ic.relname, i.indisprimary,"
    " i.indisvalid AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL,"
    " i.indnatts, i.indkey";
static const char q_keys_mid[] = " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
                                 " WHERE i.indisunique AND i.indrelid = ANY (";
static const char q_keys_tail[] = ") ORDER BY i.indrelid";

/* Leaves of partitioned roots. */
static const char q_leaves_head_12[] =
    "SELECT r.root, c.oid, n.nspname, c.relname, c.relkind, c.relreplident,"
    " c.reltuples::bigint, pg_total_relation_size(c.oid)"
    " FROM unnest(";
static const char q_leaves_tail_12[] =
    ") AS r(root) CROSS JOIN LATERAL pg_partition_tree(r.root::regclass) AS pt"
    " JOIN pg_class c ON c.oid = pt.relid JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE pt.isleaf";
static const char q_leaves_head_10[] = "WITH RECURSIVE tree(root, relid) AS ("
                                       " SELECT r.root, r.root FROM unnest(";
static const char q_leaves_tail_10[] =
    ") AS r(root)"
    " UNION ALL"
    " SELECT t.root, i.inhrelid FROM tree t JOIN pg_inherits i ON i.inhparent = t.relid)"
    " SELECT t.root, c.oid, n.nspname, c.relname, c.relkind, c.relreplident,"
    " c.reltuples::bigint, pg_total_relation_size(c.oid)"
    " FROM tree t JOIN pg_class c ON c.oid = t.relid"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE t.relid <> t.root AND c.relkind NOT IN ('p', 'I')";

/* ---- reading ----------------------------------------------------------- */

struct oid_index {
    uint32_t oid;
    size_t index; /* into cat->tables */
};

struct reader {
    PGconn *conn;
    struct p2d_pg_error *err;
    struct p2d_catalog *cat;
    const struct p2d_job *job;
    struct oid_index *by_oid; /* tables sorted by OID, for matching answer rows */
};

static char *dup_value(const PGresult *r, int row, int col, bool *oom)
{
    char *s;

    if (PQgetisnull(r, row, col))
        return NULL;
    s = strdup(PQgetvalue(r, row, col));
    if (!s)
        *oom = true;
    return s;
}

static uint32_t oid_value(const PGresult *r, int row, int col)
{
    return (uint32_t)strtoul(PQgetvalue(r, row, col), NULL, 10);
}

static int64_t int64_value(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return -1;
    return (int64_t)strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static bool bool_value(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

static char char_value(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? '\0' : PQgetvalue(r, row, col)[0];
}

static int shape_error(struct reader *rd, const PGresult *r, const char *what, int ncols)
{
    p2d_pg_error_set(rd->err, P2D_PG_OTHER, NULL, "%s: the server answered %d columns, expected %d",
                     what, PQnfields(r), ncols);
    return P2D_EPROTO;
}

static int cmp_tables(const void *a, const void *b)
{
    const struct p2d_table *x = a, *y = b;
    int c = strcmp(x->schema, y->schema);

    return c ? c : strcmp(x->name, y->name);
}

static int cmp_partitions(const void *a, const void *b)
{
    const struct p2d_partition *x = a, *y = b;
    int c = strcmp(x->schema, y->schema);

    return c ? c : strcmp(x->name, y->name);
}

static int cmp_by_oid(const void *a, const void *b)
{
    const struct oid_index *x = a, *y = b;

    return x->oid < y->oid ? -1 : x->oid > y->oid;
}

static struct p2d_table *table_by_oid(struct reader *rd, uint32_t oid)
{
    size_t lo = 0, hi = rd->cat->ntables;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t v = rd->by_oid[mid].oid;

        if (v == oid)
            return &rd->cat->tables[rd->by_oid[mid].index];
        if (v < oid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int read_tables(struct reader *rd)
{
    PGresult *r;
    struct p2d_catalog *cat = rd->cat;
    bool oom = false;
    int rc = p2d_pg_exec(rd->conn, q_tables, "cannot list the source tables", &r, rd->err);

    if (rc != 0)
        return rc;
    if (PQnfields(r) != 9) {
        rc = shape_error(rd, r, "cannot list the source tables", 9);
        PQclear(r);
        return rc;
    }
    cat->tables = calloc((size_t)PQntuples(r) + 1, sizeof(*cat->tables));
    if (!cat->tables) {
        PQclear(r);
        return P2D_ENOMEM;
    }
    for (int i = 0; i < PQntuples(r) && !oom; i++) {
        struct p2d_table *t;

        if (!p2d_job_table_selected(rd->job, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2)))
            continue;
        t = &cat->tables[cat->ntables++];
        t->oid = oid_value(r, i, 0);
        t->schema = dup_value(r, i, 1, &oom);
        t->name = dup_value(r, i, 2, &oom);
        t->relkind = char_value(r, i, 3);
        t->persistence = char_value(r, i, 4);
        t->replident = char_value(r, i, 5);
        t->est_rows = int64_value(r, i, 6);
        t->bytes = int64_value(r, i, 7);
        t->replident_index = dup_value(r, i, 8, &oom);
    }
    PQclear(r);
    if (oom)
        return P2D_ENOMEM;
    qsort(cat->tables, cat->ntables, sizeof(*cat->tables), cmp_tables);
    rd->by_oid = calloc(cat->ntables + 1, sizeof(*rd->by_oid));
    if (!rd->by_oid)
        return P2D_ENOMEM;
    for (size_t i = 0; i < cat->ntables; i++) {
        rd->by_oid[i].oid = cat->tables[i].oid;
        rd->by_oid[i].index = i;
    }
    qsort(rd->by_oid, cat->ntables, sizeof(*rd->by_oid), cmp_by_oid);
    return 0;
}

/* '{1,2,3}'::oid[] of the tables (only partitioned roots when roots_only). */
static int append_oid_array(struct p2d_buf *b, const struct p2d_catalog *cat, bool roots_only)
{
    bool first = true;
    int rc = p2d_buf_append(b, "'{", 2);

    for (size_t i = 0; i < cat->ntables && rc == 0; i++) {
        if (roots_only && cat->tables[i].relkind != 'p')
            continue;
        rc = p2d_pg_appendf(b, "%s%" PRIu32, first ? "" : ",", cat->tables[i].oid);
        first = false;
    }
    if (rc == 0)
        rc = p2d_pg_appendf(b, "}'::oid[]");
    return rc;
}

static int build_query(struct p2d_buf *b, const struct p2d_catalog *cat, bool roots_only,
                       const char *const *parts, size_t nparts)
{
    int rc = 0;

    /* the OID array goes between the last two parts */
    p2d_buf_reset(b);
    for (size_t i = 0; i < nparts && rc == 0; i++) {
        rc = p2d_buf_append(b, parts[i], strlen(parts[i]));
        if (rc == 0 && i == nparts - 2)
            rc = append_oid_array(b, cat, roots_only);
    }
    if (rc == 0)
        rc = p2d_buf_append(b, "", 1); /* NUL */
    return rc;
}

static int read_columns(struct reader *rd, struct p2d_buf *b)
{
    const char *parts[] = {q_columns_head,
                           rd->cat->server_version >= 120000 ? q_columns_generated_12
                                                             : q_columns_generated_10,
                           q_columns_mid, q_columns_tail};
    const char *what = "cannot read the columns of the source tables";
    PGresult *r;
    bool oom = false;
    int rc = build_query(b, rd->cat, false, parts, 4);

    if (rc != 0)
        return rc;
    rc = p2d_pg_exec(rd->conn, (const char *)b->data, what, &r, rd->err);
    if (rc != 0)
        return rc;
    if (PQnfields(r) != 16) {
        rc = shape_error(rd, r, what, 16);
        PQclear(r);
        return rc;
    }
    /* rows come grouped by table in attnum order: count first, then fill */
    for (int i = 0; i < PQntuples(r); i++) {
        struct p2d_table *t = table_by_oid(rd, oid_value(r, i, 0));

        if (t)
            t->ncolumns++;
    }
    for (size_t i = 0; i < rd->cat->ntables; i++) {
        struct p2d_table *t = &rd->cat->tables[i];

        t->columns = calloc(t->ncolumns + 1, sizeof(*t->columns));
        if (!t->columns) {
            PQclear(r);
            return P2D_ENOMEM;
        }
        t->ncolumns = 0;
    }
    for (int i = 0; i < PQntuples(r) && !oom; i++) {
        struct p2d_table *t = table_by_oid(rd, oid_value(r, i, 0));
        struct p2d_column *c;

        if (!t)
            continue;
        c = &t->columns[t->ncolumns++];
        c->attnum = atoi(PQgetvalue(r, i, 1));
        c->name = dup_value(r, i, 2, &oom);
        c->type_oid = oid_value(r, i, 3);
        c->type_display = dup_value(r, i, 4, &oom);
        c->type_name = dup_value(r, i, 5, &oom);
        c->domain_name = dup_value(r, i, 6, &oom);
        c->typtype = char_value(r, i, 7);
        c->typcategory = char_value(r, i, 8);
        c->typmod = (int32_t)atoi(PQgetvalue(r, i, 9));
        c->elem_type_name = dup_value(r, i, 10, &oom);
        c->not_null = bool_value(r, i, 11);
        c->domain_not_null = bool_value(r, i, 12);
        c->default_expr = dup_value(r, i, 13, &oom);
        c->toastable = char_value(r, i, 14) != 'p';
        c->generated = bool_value(r, i, 15);
        if (c->toastable && !c->generated)
            t->has_toastable = true;
    }
    PQclear(r);
    return oom ? P2D_ENOMEM : 0;
}

/* Candidates of one table, gathered from the index rows. */
struct candidate_row {
    struct p2d_key_candidate cand;
    int attnums[MAX_INDEX_COLUMNS];
};

static int choose_key(struct p2d_table *t, struct candidate_row *rows, size_t n)
{
    struct p2d_key_candidate cands[64];
    size_t nc = n < 64 ? n : 64;
    int pick;

    for (size_t i = 0; i < nc; i++)
        cands[i] = rows[i].cand;
    pick = p2d_catalog_pick_key(cands, nc);
    if (pick < 0)
        return 0;
    t->key = calloc(rows[pick].cand.ncolumns, sizeof(*t->key));
    t->key_index = strdup(rows[pick].cand.index_name);
    if (!t->key || !t->key_index)
        return P2D_ENOMEM;
    for (size_t k = 0; k < rows[pick].cand.ncolumns; k++) {
        for (size_t c = 0; c < t->ncolumns; c++)
            if (t->columns[c].attnum == rows[pick].attnums[k]) {
                t->key[k] = c;
                t->columns[c].key_position = (int)k + 1;
            }
    }
    t->nkey = rows[pick].cand.ncolumns;
    t->key_kind = rows[pick].cand.primary ? P2D_KEY_PRIMARY : P2D_KEY_UNIQUE;
    return 0;
}

static int read_keys(struct reader *rd, struct p2d_buf *b)
{
    const char *parts[] = {rd->cat->server_version >= 110000 ? q_keys_head_11 : q_keys_head_10,
                           q_keys_mid, q_keys_tail};
    const char *what = "cannot read the unique indexes of the source tables";
    PGresult *r;
    struct candidate_row *rows = NULL;
    int rc = build_query(b, rd->cat, false, parts, 3);

    if (rc != 0)
        return rc;
    rc = p2d_pg_exec(rd->conn, (const char *)b->data, what, &r, rd->err);
    if (rc != 0)
        return rc;
    if (PQnfields(r) != 6) {
        rc = shape_error(rd, r, what, 6);
        PQclear(r);
        return rc;
    }
    rows = calloc(64, sizeof(*rows));
    if (!rows) {
        PQclear(r);
        return P2D_ENOMEM;
    }
    /* rows come grouped by table: gather a table's candidates (at most 64
     * looked at), then choose */
    for (int i = 0; i < PQntuples(r) && rc == 0;) {
        uint32_t oid = oid_value(r, i, 0);
        struct p2d_table *t = table_by_oid(rd, oid);
        size_t n = 0;

        for (; i < PQntuples(r) && oid_value(r, i, 0) == oid; i++) {
            struct candidate_row *row = &rows[n];
            int nkey = atoi(PQgetvalue(r, i, 4));
            int got;

            if (!t || n >= 64)
                continue;
            got =
                p2d_catalog_parse_int2vector(PQgetvalue(r, i, 5), row->attnums, MAX_INDEX_COLUMNS);
            if (got < 0 || nkey < 1 || nkey > got)
                continue;
            row->cand.index_name = PQgetvalue(r, i, 1);
            row->cand.primary = bool_value(r, i, 2);
            row->cand.usable = bool_value(r, i, 3);
            row->cand.ncolumns = (size_t)nkey;
            row->cand.all_not_null = true;
            for (int k = 0; k < nkey; k++) {
                bool found = false;

                for (size_t c = 0; c < t->ncolumns; c++)
                    if (t->columns[c].attnum == row->attnums[k])
                        found = t->columns[c].not_null;
                row->cand.all_not_null = row->cand.all_not_null && found;
            }
            n++;
        }
        if (t)
            rc = choose_key(t, rows, n);
    }
    free(rows);
    PQclear(r);
    return rc;
}

static int read_leaves(struct reader *rd, struct p2d_buf *b)
{
    bool new_api = rd->cat->server_version >= 120000;
    const char *parts[] = {new_api ? q_leaves_head_12 : q_leaves_head_10,
                           new_api ? q_leaves_tail_12 : q_leaves_tail_10};
    const char *what = "cannot list the partitions of the source tables";
    PGresult *r;
    bool any = false, oom = false;
    int rc;

    for (size_t i = 0; i < rd->cat->ntables; i++)
        any = any || rd->cat->tables[i].relkind == 'p';
    if (!any)
        return 0;
    rc = build_query(b, rd->cat, true, parts, 2);
    if (rc != 0)
        return rc;
    rc = p2d_pg_exec(rd->conn, (const char *)b->data, what, &r, rd->err);
    if (rc != 0)
        return rc;
    if (PQnfields(r) != 8) {
        rc = shape_error(rd, r, what, 8);
        PQclear(r);
        return rc;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        struct p2d_table *t = table_by_oid(rd, oid_value(r, i, 0));

        if (t)
            t->npartitions++;
    }
    for (size_t i = 0; i < rd->cat->ntables; i++) {
        struct p2d_table *t = &rd->cat->tables[i];

        if (t->relkind != 'p')
            continue;
        t->partitions = calloc(t->npartitions + 1, sizeof(*t->partitions));
        if (!t->partitions) {
            PQclear(r);
            return P2D_ENOMEM;
        }
        t->npartitions = 0;
        t->est_rows = -1;
        t->bytes = 0;
    }
    for (int i = 0; i < PQntuples(r) && !oom; i++) {
        struct p2d_table *t = table_by_oid(rd, oid_value(r, i, 0));
        struct p2d_partition *p;

        if (!t || !t->partitions)
            continue;
        p = &t->partitions[t->npartitions++];
        p->oid = oid_value(r, i, 1);
        p->schema = dup_value(r, i, 2, &oom);
        p->name = dup_value(r, i, 3, &oom);
        p->relkind = char_value(r, i, 4);
        p->replident = char_value(r, i, 5);
        p->est_rows = int64_value(r, i, 6);
        p->bytes = int64_value(r, i, 7);
        if (p->est_rows >= 0)
            t->est_rows = (t->est_rows < 0 ? 0 : t->est_rows) + p->est_rows;
        if (p->bytes > 0)
            t->bytes += p->bytes;
    }
    PQclear(r);
    if (oom)
        return P2D_ENOMEM;
    for (size_t i = 0; i < rd->cat->ntables; i++) {
        struct p2d_table *t = &rd->cat->tables[i];

        if (t->npartitions > 1)
            qsort(t->partitions, t->npartitions, sizeof(*t->partitions), cmp_partitions);
    }
    return 0;
}

/* One problem line into the table's name_problems. */
static int add_problem(struct p2d_table *t, const char *line)
{
    size_t old = t->name_problems ? strlen(t->name_problems) : 0;
    size_t n = strlen(line);
    char *p = realloc(t->name_problems, old + n + 2);

    if (!p)
        return P2D_ENOMEM;
    if (old)
        p[old++] = '\n';
    memcpy(p + old, line, n + 1);
    t->name_problems = p;
    return 0;
}

static int check_names(const struct p2d_job *job, struct p2d_table *t)
{
    struct p2d_dest_name dn;
    char line[1024];
    int rc = 0;

    if (p2d_job_dest_name(job, t->schema, t->name, &dn, line, sizeof(line)) != 0)
        rc = add_problem(t, line);
    for (size_t i = 0; i < t->ncolumns && rc == 0; i++) {
        char col[300], other[300];

        if (t->columns[i].generated)
            continue;
        p2d_job_dest_column(job, t->schema, t->name, t->columns[i].name, col, sizeof(col));
        if (!p2d_catalog_doris_column_name_ok(col)) {
            snprintf(line, sizeof(line),
                     "column \"%s\" of table \"%s\".\"%s\" would land as Doris column \"%s\", "
                     "which Doris does not accept (ASCII letters, digits and a few signs, at "
                     "most 256 characters, not starting with mv_); hint: rename it in the job "
                     "file: \"tables\": {\"%s.%s\": {\"columns\": {\"%s\": \"...\"}}}",
                     t->columns[i].name, t->schema, t->name, col, t->schema, t->name,
                     t->columns[i].name);
            rc = add_problem(t, line);
            continue;
        }
        for (size_t j = 0; j < i && rc == 0; j++) {
            if (t->columns[j].generated)
                continue;
            p2d_job_dest_column(job, t->schema, t->name, t->columns[j].name, other, sizeof(other));
            if (strcasecmp(col, other) == 0) {
                snprintf(line, sizeof(line),
                         "columns \"%s\" and \"%s\" of table \"%s\".\"%s\" both land as Doris "
                         "column \"%s\" (Doris compares column names without case); hint: "
                         "rename one in the job file's \"columns\" for \"%s.%s\"",
                         t->columns[j].name, t->columns[i].name, t->schema, t->name, col, t->schema,
                         t->name);
                rc = add_problem(t, line);
            }
        }
    }
    return rc;
}

int p2d_catalog_read(PGconn *conn, const struct p2d_job *job, int server_version,
                     struct p2d_catalog **out, struct p2d_pg_error *err)
{
    struct reader rd = {.conn = conn, .err = err, .job = job};
    struct p2d_buf b;
    int rc;

    *out = NULL;
    p2d_pg_error_clear(err);
    rd.cat = calloc(1, sizeof(*rd.cat));
    if (!rd.cat)
        return P2D_ENOMEM;
    rd.cat->server_version = server_version ? server_version : PQserverVersion(conn);
    if (rd.cat->server_version < P2D_CATALOG_MIN_VERSION) {
        p2d_pg_error_set(err, P2D_PG_OTHER,
                         "pg2doris needs PostgreSQL 10 or later (logical replication)",
                         "the source server version %d is not supported", rd.cat->server_version);
        p2d_catalog_destroy(rd.cat);
        return P2D_ESOURCE;
    }
    p2d_buf_init(&b, 0);
    rc = read_tables(&rd);
    if (rc == 0 && rd.cat->ntables > 0)
        rc = read_columns(&rd, &b);
    if (rc == 0 && rd.cat->ntables > 0)
        rc = read_keys(&rd, &b);
    if (rc == 0 && rd.cat->ntables > 0)
        rc = read_leaves(&rd, &b);
    for (size_t i = 0; i < rd.cat->ntables && rc == 0; i++)
        rc = check_names(job, &rd.cat->tables[i]);
    p2d_buf_fini(&b);
    free(rd.by_oid);
    if (rc == P2D_ENOMEM || rc == P2D_EFULL)
        p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "out of memory while reading the catalog");
    if (rc != 0) {
        p2d_catalog_destroy(rd.cat);
        return rc == P2D_EFULL ? P2D_ENOMEM : rc;
    }
    *out = rd.cat;
    return 0;
}
