/*
 * schema_sync.c - creates the Doris databases and tables of a sync (see
 * schema_sync.h).
 *
 * What exists is learnt from information_schema.COLUMNS (doris-protocol.md
 * §6.3), not with one query per table: each query is a round trip through
 * the FE (a JDBC loopback, §6.1) whose cost may grow with the tables Doris
 * holds, so per-table lookups can make a sync of N tables cost N^2 (they
 * did against doris-emu). Per database, one paged query lists the tables and
 * their column counts (keeping only the names this sync plans); then, when a
 * table that exists comes up in catalog order, the columns of it and of the
 * next existing tables are read together (a window of at most WINDOW_TABLES
 * tables and about WINDOW_COLUMNS columns), so memory stays bounded by the
 * window and the catalog, not by what the Doris database holds. A fresh
 * database costs one query; every page is keyed on the last row, so the
 * FE's cap on returned rows (`limit`, 1000 by default, §6.1) only adds pages.
 */
#include "schema/schema_sync.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "p2d_error.h"

#define REASON_MAX     (64 * 1024) /* a per-table report never grows past this */
#define PAGE_ROWS      1000        /* LIMIT of each catalog query: the FE's default cap (§6.1) */
#define WINDOW_TABLES  64          /* existing tables whose columns one query reads */
#define WINDOW_COLUMNS 4096        /* ... and about this many columns (one wide table may exceed) */
#define QUERY_MAX      (256 * 1024) /* a catalog query never grows past this */

const char *p2d_schema_outcome_name(enum p2d_schema_outcome o)
{
    switch (o) {
    case P2D_SCHEMA_CREATED:
        return "created";
    case P2D_SCHEMA_EXISTED:
        return "existed";
    case P2D_SCHEMA_REFUSED:
        return "refused";
    }
    return "unknown";
}

int p2d_schema_exit_code(int rc)
{
    switch (rc) {
    case 0:
        return P2D_EXIT_OK;
    case P2D_EINVAL:
        return P2D_EXIT_PRECHECK;
    case P2D_EDEST:
    case P2D_ERETRY:
        return P2D_EXIT_DEST;
    default:
        return P2D_EXIT_INTERNAL;
    }
}

void p2d_schema_report_destroy(struct p2d_schema_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nresults; i++)
        free(r->results[i].reason);
    free(r->results);
    free(r);
}

static __attribute__((format(printf, 2, 3))) int appendf(struct p2d_buf *b, const char *fmt, ...)
{
    va_list ap;
    int need, rc;

    va_start(ap, fmt);
    need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0)
        return P2D_EINVAL;
    rc = p2d_buf_reserve(b, (size_t)need + 1);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)need;
    return 0;
}

/* Sets a result's outcome and reason (a copy of text; NULL for none). */
static int settle(struct p2d_schema_report *rep, struct p2d_schema_result *res,
                  enum p2d_schema_outcome o, const char *text)
{
    free(res->reason);
    res->reason = NULL;
    if (text) {
        res->reason = strdup(text);
        if (!res->reason)
            return P2D_ENOMEM;
    }
    res->outcome = o;
    (void)rep;
    return 0;
}

/* settle() with a formatted reason. */
static __attribute__((format(printf, 4, 5))) int settlef(struct p2d_schema_report *rep,
                                                         struct p2d_schema_result *res,
                                                         enum p2d_schema_outcome o, const char *fmt,
                                                         ...)
{
    struct p2d_buf b;
    va_list ap;
    int need, rc;

    va_start(ap, fmt);
    need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0)
        return P2D_EINVAL;
    p2d_buf_init(&b, 0);
    rc = p2d_buf_reserve(&b, (size_t)need + 1);
    if (rc == 0) {
        va_start(ap, fmt);
        vsnprintf((char *)b.data, (size_t)need + 1, fmt, ap);
        va_end(ap);
        rc = settle(rep, res, o, (const char *)b.data);
    }
    p2d_buf_fini(&b);
    return rc;
}

/* ---- what exists in Doris ---------------------------------------------- */

struct existing_col {
    char name[P2D_DDL_COLUMN_MAX];
    char type[64]; /* normalised: lower case, MySQL display widths dropped */
    bool nullable;
    bool key;
};

/* Lower case, Doris 1.x/2.x spellings folded (datetimev2 -> datetime,
 * decimalv3 -> decimal, string -> text, int(11) -> int, datetime(0) ->
 * datetime), so the same type compares equal however Doris prints it. */
static void normalise_type(const char *in, char *out, size_t outlen)
{
    static const struct {
        const char *from, *to;
    } folds[] = {
        {"datetimev2", "datetime"}, {"datev2", "date"}, {"decimalv3", "decimal"},
        {"string", "text"},         {"jsonb", "json"},  {"bool", "boolean"},
    };
    static const char *const ints[] = {"tinyint(", "smallint(", "int(", "bigint(", "largeint("};
    char tmp[64];
    size_t n = 0;

    for (; *in && n + 1 < sizeof(tmp); in++)
        tmp[n++] = (char)tolower((unsigned char)*in);
    tmp[n] = '\0';
    for (size_t i = 0; i < sizeof(folds) / sizeof(folds[0]); i++) {
        size_t fl = strlen(folds[i].from);

        if (strncmp(tmp, folds[i].from, fl) == 0 && (tmp[fl] == '\0' || tmp[fl] == '(')) {
            char rest[64];

            snprintf(rest, sizeof(rest), "%s", tmp + fl);
            snprintf(tmp, sizeof(tmp), "%s%s", folds[i].to, rest);
            break;
        }
    }
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        if (strncmp(tmp, ints[i], strlen(ints[i])) == 0)
            tmp[strlen(ints[i]) - 1] = '\0';
    if (strcmp(tmp, "datetime(0)") == 0)
        tmp[8] = '\0';
    snprintf(out, outlen, "%s", tmp);
}

static int append_literal_str(struct p2d_buf *b, const char *s)
{
    return p2d_ddl_append_literal(b, s);
}

/* A count or position Doris sent as a JSON integer (or, defensively, text). */
static long long json_count(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return -1;
}

/* ---- comparing --------------------------------------------------------- */

static void planned_type(const struct p2d_ddl_column *c, char *out, size_t outlen)
{
    normalise_type(c->d.type, out, outlen);
}

static const struct existing_col *find_existing(const struct existing_col *cols, size_t n,
                                                const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(cols[i].name, name) == 0)
            return &cols[i];
    return NULL;
}

/* Same column names (as a set) and the same key columns in the same order. */
static bool compatible(const struct p2d_ddl_table *dt, const struct existing_col *cols, size_t n)
{
    size_t k = 0;

    if (n != dt->ncolumns)
        return false;
    for (size_t i = 0; i < dt->ncolumns; i++)
        if (!find_existing(cols, n, dt->columns[i].name))
            return false;
    for (size_t i = 0; i < n; i++) {
        if (!cols[i].key)
            continue;
        if (k >= dt->nkey || strcasecmp(cols[i].name, dt->columns[k].name) != 0)
            return false;
        k++;
    }
    return k == dt->nkey;
}

static int describe_col(struct p2d_buf *b, const char *type, bool nullable, bool key)
{
    return appendf(b, "%s %s%s", type, nullable ? "NULL" : "NOT NULL", key ? " key" : "");
}

/* The per-table comparison: one line per column of either side. */
static int conflict_report(struct p2d_buf *b, const struct p2d_ddl_table *dt,
                           const struct existing_col *cols, size_t n, const char *headline,
                           const char *hint)
{
    int rc = appendf(b, "%s\n  %-24s | %-32s | %s\n", headline, "column", "existing in Doris",
                     "pg2doris would create");

    for (size_t i = 0; i < dt->ncolumns && rc == 0; i++) {
        const struct p2d_ddl_column *c = &dt->columns[i];
        const struct existing_col *e = find_existing(cols, n, c->name);
        char want[64], have[80] = "-";
        struct p2d_buf hb = {0};

        planned_type(c, want, sizeof(want));
        if (e) {
            p2d_buf_init(&hb, sizeof(have));
            if (describe_col(&hb, e->type, e->nullable, e->key) == 0)
                snprintf(have, sizeof(have), "%.*s", (int)hb.len, (const char *)hb.data);
            p2d_buf_fini(&hb);
        }
        rc = appendf(b, "  %-24s | %-32s | ", c->name, have);
        if (rc == 0)
            rc = describe_col(b, want, c->d.nullable, c->is_key);
        if (rc == 0)
            rc = appendf(b, "%s\n",
                         e && (strcmp(e->type, want) != 0 || e->key != c->is_key) ? "  <- differs"
                         : !e                                                     ? "  <- missing"
                                                                                  : "");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (p2d_ddl_column_index(dt, cols[i].name) >= 0)
            continue;
        rc = appendf(b, "  %-24s | ", cols[i].name);
        if (rc == 0)
            rc = describe_col(b, cols[i].type, cols[i].nullable, cols[i].key);
        if (rc == 0)
            rc = appendf(b, " | -  <- not in the source\n");
    }
    if (rc == 0)
        rc = appendf(b, "hint: %s", hint);
    return rc;
}

/* Same Doris columns (names, types, nullability, key) in the same order. */
static bool same_layout(const struct p2d_ddl_table *a, const struct p2d_ddl_table *b)
{
    if (a->ncolumns != b->ncolumns || a->nkey != b->nkey || a->model != b->model)
        return false;
    for (size_t i = 0; i < a->ncolumns; i++)
        if (strcasecmp(a->columns[i].name, b->columns[i].name) != 0 ||
            strcmp(a->columns[i].d.type, b->columns[i].d.type) != 0 ||
            a->columns[i].d.nullable != b->columns[i].d.nullable)
            return false;
    return true;
}

/* ---- the step ---------------------------------------------------------- */

/* What Doris holds under one planned table's name. */
struct existing {
    size_t listed;             /* columns the listing counted; 0: no such table */
    bool read;                 /* its columns were read (in some window) */
    struct existing_col *cols; /* what the read found, Doris order; owned */
    size_t ncols, cap;
};

/* A planned Doris table by name, for matching catalog answers. */
struct planned_name {
    const char *database, *table; /* borrowed from the plan */
    size_t index;                 /* catalog index */
};

struct step {
    struct p2d_doris_sql *sql;
    const struct p2d_job *job;
    const struct p2d_catalog *cat;
    struct p2d_schema_report *rep;
    struct p2d_ddl_table **plans; /* per table, NULL when refused before planning */
    size_t *leader;               /* per table: the table whose Doris table it shares */
    struct existing *existing;    /* per table (those that own their Doris table) */
    struct planned_name *names;   /* those tables, sorted by (database, table) */
    size_t nnames;
    char **dbs_done; /* created if missing, and listed */
    size_t ndbs_done;
    bool dest_failed;
    int stop_rc; /* P2D_ERETRY / P2D_EDEST after a failure that stops the step */
    char stop_reason[1024];
};

static int cmp_planned_name(const void *a, const void *b)
{
    const struct planned_name *x = a, *y = b;
    int c = strcmp(x->database, y->database);

    return c ? c : strcmp(x->table, y->table);
}

/* Whether table i creates (or finds) its own Doris table in sync_one. */
static bool owns_doris_table(const struct step *s, size_t i)
{
    return s->plans[i] && s->leader[i] == i && s->rep->results[i].outcome != P2D_SCHEMA_REFUSED;
}

/* Sorts the tables that own their Doris table by name (after collisions). */
static int index_names(struct step *s)
{
    s->names = calloc(s->cat->ntables + 1, sizeof(*s->names));
    if (!s->names)
        return P2D_ENOMEM;
    for (size_t i = 0; i < s->cat->ntables; i++)
        if (owns_doris_table(s, i))
            s->names[s->nnames++] = (struct planned_name){
                .database = s->plans[i]->database, .table = s->plans[i]->table, .index = i};
    qsort(s->names, s->nnames, sizeof(*s->names), cmp_planned_name);
    return 0;
}

/* The catalog index planned as db.table, or -1. Names compare exactly:
 * Doris table names are case-sensitive (§7.3). */
static long planned_index(const struct step *s, const char *db, const char *table)
{
    struct planned_name key = {.database = db, .table = table};
    const struct planned_name *hit =
        bsearch(&key, s->names, s->nnames, sizeof(*s->names), cmp_planned_name);

    return hit ? (long)hit->index : -1;
}

/* Runs one catalog query (q NUL-terminated); *data is a new reference. */
static int catalog_query(struct step *s, const struct p2d_buf *q, json_t **data, char *err,
                         size_t errlen)
{
    enum p2d_doris_fail fail;

    return p2d_doris_sql_exec(s->sql, "information_schema", (const char *)q->data, data, &fail, err,
                              errlen);
}

/*
 * Lists the tables of Doris database db with their column counts, a page
 * of at most PAGE_ROWS names after another until an empty page, and notes
 * the planned ones in s->existing[].listed.
 */
static int list_existing(struct step *s, const char *db, char *err, size_t errlen)
{
    struct p2d_buf q;
    char *last = NULL;
    int rc = 0;

    p2d_buf_init(&q, QUERY_MAX);
    for (;;) {
        json_t *data = NULL, *rows;
        const char *page_last = NULL;

        q.len = 0;
        rc = appendf(&q, "SELECT TABLE_NAME, COUNT(*) FROM information_schema.`COLUMNS` WHERE "
                         "TABLE_SCHEMA = ");
        if (rc == 0)
            rc = append_literal_str(&q, db);
        if (rc == 0 && last) {
            rc = appendf(&q, " AND TABLE_NAME > ");
            if (rc == 0)
                rc = append_literal_str(&q, last);
        }
        if (rc == 0)
            rc = appendf(&q, " GROUP BY TABLE_NAME ORDER BY TABLE_NAME LIMIT %d", PAGE_ROWS);
        if (rc == 0)
            rc = p2d_buf_append(&q, "", 1);
        if (rc != 0) {
            snprintf(err, errlen, "cannot build the catalog query for Doris database \"%s\"", db);
            rc = rc == P2D_EFULL ? P2D_EINVAL : rc;
            break;
        }
        rc = catalog_query(s, &q, &data, err, errlen);
        if (rc != 0)
            break;
        rows = p2d_doris_rows(data);
        for (size_t r = 0; rows && r < json_array_size(rows); r++) {
            json_t *row = json_array_get(rows, r);
            const char *name = json_string_value(json_array_get(row, 0));
            long long n = json_count(json_array_get(row, 1));
            long i;

            if (!name)
                continue;
            if ((page_last || last) && strcmp(name, page_last ? page_last : last) <= 0) {
                snprintf(err, errlen,
                         "Doris listed the tables of \"%s\" out of order (\"%s\" after \"%s\")", db,
                         name, page_last ? page_last : last);
                rc = P2D_EDEST;
                break;
            }
            page_last = name;
            i = planned_index(s, db, name);
            if (i >= 0 && n > 0)
                s->existing[i].listed = (size_t)n;
        }
        if (rc == 0 && page_last) {
            free(last);
            last = strdup(page_last);
            if (!last)
                rc = P2D_ENOMEM;
        }
        json_decref(data);
        if (rc != 0 || !page_last)
            break;
    }
    free(last);
    p2d_buf_fini(&q);
    return rc;
}

/* Appends one COLUMNS row (TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME,
 * COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY) to e. */
static int add_existing_col(struct existing *e, json_t *row)
{
    const char *name = json_string_value(json_array_get(row, 2));
    const char *type = json_string_value(json_array_get(row, 3));
    const char *nullable = json_string_value(json_array_get(row, 4));
    const char *key = json_string_value(json_array_get(row, 5));
    struct existing_col *c;

    if (!name)
        return 0;
    if (e->ncols == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : e->listed + 1;
        struct existing_col *grown = realloc(e->cols, cap * sizeof(*grown));

        if (!grown)
            return P2D_ENOMEM;
        e->cols = grown;
        e->cap = cap;
    }
    c = &e->cols[e->ncols++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    normalise_type(type ? type : "", c->type, sizeof(c->type));
    c->nullable = nullable && strcasecmp(nullable, "YES") == 0;
    c->key = key && key[0] != '\0';
    return 0;
}

/* The window query: the columns of the window's tables, after
 * (after_table, after_pos) when after_table is not NULL. */
static int window_query(struct p2d_buf *q, const struct step *s, const char *db, const size_t *win,
                        size_t nwin, const char *after_table, long long after_pos)
{
    int rc;

    q->len = 0;
    rc = appendf(q, "SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, "
                    "COLUMN_KEY FROM information_schema.`COLUMNS` WHERE TABLE_SCHEMA = ");
    if (rc == 0)
        rc = append_literal_str(q, db);
    if (rc == 0)
        rc = appendf(q, " AND TABLE_NAME IN (");
    for (size_t k = 0; k < nwin && rc == 0; k++) {
        rc = appendf(q, "%s", k ? ", " : "");
        if (rc == 0)
            rc = append_literal_str(q, s->plans[win[k]]->table);
    }
    if (rc == 0)
        rc = appendf(q, ")");
    if (rc == 0 && after_table) {
        rc = appendf(q, " AND (TABLE_NAME > ");
        if (rc == 0)
            rc = append_literal_str(q, after_table);
        if (rc == 0)
            rc = appendf(q, " OR (TABLE_NAME = ");
        if (rc == 0)
            rc = append_literal_str(q, after_table);
        if (rc == 0)
            rc = appendf(q, " AND ORDINAL_POSITION > %lld))", after_pos);
    }
    if (rc == 0)
        rc = appendf(q, " ORDER BY TABLE_NAME, ORDINAL_POSITION LIMIT %d", PAGE_ROWS);
    if (rc == 0)
        rc = p2d_buf_append(q, "", 1);
    return rc == P2D_EFULL ? P2D_EINVAL : rc;
}

/*
 * Reads the columns of table first (listed, not read yet) and of the next
 * listed tables of its database in catalog order: at most WINDOW_TABLES
 * tables, and no more than WINDOW_COLUMNS listed columns unless the first
 * alone has more. Each page follows the last row received; the read ends
 * on an empty page, or on a short one once the listed columns arrived.
 */
static int read_window(struct step *s, size_t first, char *err, size_t errlen)
{
    const char *db = s->plans[first]->database;
    size_t win[WINDOW_TABLES], nwin = 0, expected = 0, received = 0;
    char last_table[sizeof(s->plans[first]->table)] = "";
    long long last_pos = 0;
    struct p2d_buf q;
    int rc = 0;

    for (size_t j = first; j < s->cat->ntables && nwin < WINDOW_TABLES; j++) {
        struct existing *e = &s->existing[j];

        if (!owns_doris_table(s, j) || e->listed == 0 || e->read ||
            strcmp(s->plans[j]->database, db) != 0)
            continue;
        if (nwin > 0 && expected + e->listed > WINDOW_COLUMNS)
            break;
        e->read = true;
        win[nwin++] = j;
        expected += e->listed;
    }
    p2d_buf_init(&q, QUERY_MAX);
    for (;;) {
        json_t *data = NULL, *rows;
        size_t nrows;

        rc = window_query(&q, s, db, win, nwin, last_table[0] ? last_table : NULL, last_pos);
        if (rc != 0)
            snprintf(err, errlen, "cannot build the catalog query for Doris database \"%s\"", db);
        else
            rc = catalog_query(s, &q, &data, err, errlen);
        if (rc != 0)
            break;
        rows = p2d_doris_rows(data);
        nrows = rows ? json_array_size(rows) : 0;
        for (size_t r = 0; r < nrows && rc == 0; r++) {
            json_t *row = json_array_get(rows, r);
            const char *table = json_string_value(json_array_get(row, 0));
            long long pos = json_count(json_array_get(row, 1));
            int order = table ? strcmp(table, last_table) : -1;
            long i;

            if (!table || (last_table[0] && (order < 0 || (order == 0 && pos <= last_pos)))) {
                snprintf(err, errlen,
                         "Doris listed the columns of \"%s\" out of order (\"%s\" column %lld)", db,
                         table ? table : "?", pos);
                rc = P2D_EDEST;
                break;
            }
            snprintf(last_table, sizeof(last_table), "%s", table);
            last_pos = pos;
            received++;
            i = planned_index(s, db, table);
            if (i >= 0 && s->existing[i].read)
                rc = add_existing_col(&s->existing[i], row);
        }
        json_decref(data);
        if (rc != 0 || nrows == 0 || (nrows < PAGE_ROWS && received >= expected))
            break;
    }
    p2d_buf_fini(&q);
    return rc;
}

/* Creates database db if missing and lists its tables, once per db. */
static int ensure_database(struct step *s, const char *db, char *err, size_t errlen)
{
    char q[400], ident[300];
    enum p2d_doris_fail fail;
    char **grown;
    int rc;

    for (size_t i = 0; i < s->ndbs_done; i++)
        if (strcmp(s->dbs_done[i], db) == 0)
            return 0;
    p2d_doris_quote_ident(db, ident, sizeof(ident));
    snprintf(q, sizeof(q), "CREATE DATABASE IF NOT EXISTS %s", ident);
    rc = p2d_doris_sql_exec(s->sql, "information_schema", q, NULL, &fail, err, errlen);
    if (rc == 0)
        rc = list_existing(s, db, err, errlen);
    if (rc != 0)
        return rc;
    grown = realloc(s->dbs_done, (s->ndbs_done + 1) * sizeof(*grown));
    if (!grown)
        return P2D_ENOMEM;
    s->dbs_done = grown;
    s->dbs_done[s->ndbs_done] = strdup(db);
    if (!s->dbs_done[s->ndbs_done])
        return P2D_ENOMEM;
    s->ndbs_done++;
    return 0;
}

static int sync_one(struct step *s, size_t i)
{
    struct p2d_schema_result *res = &s->rep->results[i];
    const struct p2d_ddl_table *dt = s->plans[i];
    struct existing *ex = &s->existing[i];
    struct existing_col *cols;
    size_t ncols;
    struct p2d_buf b;
    char derr[1024], headline[800];
    enum p2d_doris_fail fail;
    int rc;

    if (s->stop_rc != 0)
        return settle(s->rep, res, P2D_SCHEMA_REFUSED, s->stop_reason);
    rc = ensure_database(s, dt->database, derr, sizeof(derr));
    if (rc == 0 && ex->listed > 0 && !ex->read)
        rc = read_window(s, i, derr, sizeof(derr));
    /* ncols == 0: no such table (or it went away since the listing) */
    cols = ex->cols;
    ncols = ex->ncols;
    ex->cols = NULL;
    ex->ncols = ex->cap = 0;
    if (rc == P2D_ENOMEM) {
        free(cols);
        return rc;
    }
    if (rc != 0) {
        free(cols);
        s->stop_rc = rc == P2D_ERETRY ? P2D_ERETRY : P2D_EDEST;
        snprintf(s->stop_reason, sizeof(s->stop_reason), "%s", derr);
        return settle(s->rep, res, P2D_SCHEMA_REFUSED, derr);
    }
    p2d_buf_init(&b, REASON_MAX);
    if (ncols > 0) {
        bool ok = compatible(dt, cols, ncols);

        snprintf(headline, sizeof(headline),
                 "Doris table \"%s\".\"%s\" for \"%s\".\"%s\" already exists%s", dt->database,
                 dt->table, res->table->schema, res->table->name,
                 s->job->on_conflict == P2D_CONFLICT_REPORT
                     ? "; --on-conflict report leaves existing tables alone"
                 : ok ? ""
                      : " with other column names or another key");
        if (s->job->on_conflict == P2D_CONFLICT_IGNORE && ok) {
            rc =
                settle(s->rep, res, P2D_SCHEMA_EXISTED,
                       "kept the existing table (--on-conflict ignore): same column names and key");
        } else {
            const char *hint = s->job->on_conflict == P2D_CONFLICT_REPORT
                                   ? "drop the Doris table, map the source table to another "
                                     "\"name\" in the job file, or pass --on-conflict ignore "
                                     "to load into it (its column names and key must match)"
                                   : "drop the Doris table or map the source table to another "
                                     "\"name\" in the job file";

            rc = conflict_report(&b, dt, cols, ncols, headline, hint);
            if (rc == 0)
                rc = p2d_buf_append(&b, "", 1);
            if (rc == 0)
                rc = settle(s->rep, res, P2D_SCHEMA_REFUSED, (const char *)b.data);
            else if (rc == P2D_EFULL) /* a very wide table: refused all the same, report cut */
                rc = settlef(s->rep, res, P2D_SCHEMA_REFUSED,
                             "%.*s  ... (comparison cut at %d KiB)\nhint: %s", (int)b.len,
                             b.data ? (const char *)b.data : "", REASON_MAX / 1024, hint);
        }
    } else {
        rc = p2d_ddl_create_table(dt, &b);
        if (rc == 0)
            rc = p2d_buf_append(&b, "", 1);
        if (rc == 0) {
            rc = p2d_doris_sql_exec(s->sql, dt->database, (const char *)b.data, NULL, &fail, derr,
                                    sizeof(derr));
            if (rc == 0) {
                P2D_INFO("schema", "created Doris table \"%s\".\"%s\" for \"%s\".\"%s\"",
                         dt->database, dt->table, res->table->schema, res->table->name);
                rc = settle(s->rep, res, P2D_SCHEMA_CREATED, NULL);
            } else if (rc == P2D_ERETRY) {
                s->stop_rc = rc;
                snprintf(s->stop_reason, sizeof(s->stop_reason), "%s", derr);
                rc = settle(s->rep, res, P2D_SCHEMA_REFUSED, derr);
            } else {
                s->dest_failed = true;
                rc = settlef(s->rep, res, P2D_SCHEMA_REFUSED,
                             "cannot create Doris table \"%s\".\"%s\" for \"%s\".\"%s\": %s",
                             dt->database, dt->table, res->table->schema, res->table->name, derr);
            }
        }
    }
    p2d_buf_fini(&b);
    free(cols);
    return rc == P2D_EFULL ? 0 : rc;
}

struct named_idx {
    size_t index;
    const struct p2d_schema_result *res;
};

static int cmp_named_idx(const void *a, const void *b)
{
    const struct named_idx *x = a, *y = b;
    int c = strcmp(x->res->database, y->res->database);

    if (c == 0)
        c = strcmp(x->res->name, y->res->name);
    if (c == 0)
        c = x->index < y->index ? -1 : x->index > y->index;
    return c;
}

/* Marks colliding tables refused; explicit merges get a leader. */
static int check_collisions(struct step *s, const bool *named, char *err, size_t errlen)
{
    size_t n = s->cat->ntables;
    struct named_idx *v = calloc(n + 1, sizeof(*v));
    struct p2d_job_source_table *src = calloc(n + 1, sizeof(*src));
    size_t nv = 0;
    int rc = 0;

    if (!v || !src) {
        free(v);
        free(src);
        return P2D_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        s->leader[i] = i;
        if (!named[i])
            continue;
        v[nv].index = i;
        v[nv].res = &s->rep->results[i];
        src[nv].schema = s->cat->tables[i].schema;
        src[nv].table = s->cat->tables[i].name;
        nv++;
    }
    /* the job helper's text is the summary; per-table reasons follow */
    if (p2d_job_check_collisions(s->job, src, nv, err, errlen) == P2D_ENOMEM)
        rc = P2D_ENOMEM;
    qsort(v, nv, sizeof(*v), cmp_named_idx);
    for (size_t i = 0; i < nv && rc == 0;) {
        size_t j = i + 1;
        bool all_explicit = true;
        struct p2d_dest_name dn;
        char line[64];

        while (j < nv && strcmp(v[j].res->database, v[i].res->database) == 0 &&
               strcmp(v[j].res->name, v[i].res->name) == 0)
            j++;
        for (size_t k = i; k < j; k++) {
            const struct p2d_table *t = &s->cat->tables[v[k].index];

            if (p2d_job_dest_name(s->job, t->schema, t->name, &dn, line, sizeof(line)) != 0 ||
                !dn.explicit_name)
                all_explicit = false;
        }
        for (size_t k = i + 1; k < j && rc == 0; k++) {
            const struct p2d_table *first = &s->cat->tables[v[i].index];
            const struct p2d_table *t = &s->cat->tables[v[k].index];
            if (all_explicit) {
                s->leader[v[k].index] = v[i].index;
                continue;
            }
            rc = settlef(s->rep, &s->rep->results[v[k].index], P2D_SCHEMA_REFUSED,
                         "tables \"%s\".\"%s\" and \"%s\".\"%s\" both land on Doris table "
                         "\"%s\".\"%s\"; hint: give one of them another \"name\" in the job file's "
                         "\"tables\" object, exclude one, or name all of them explicitly to merge "
                         "them",
                         first->schema, first->name, t->schema, t->name, v[i].res->database,
                         v[i].res->name);
            if (rc == 0 && k == i + 1)
                rc = settle(s->rep, &s->rep->results[v[i].index], P2D_SCHEMA_REFUSED,
                            s->rep->results[v[k].index].reason);
        }
        i = j;
    }
    free(v);
    free(src);
    return rc;
}

int p2d_schema_sync(struct p2d_doris_sql *sql, const struct p2d_job *job,
                    const struct p2d_catalog *cat, const struct p2d_ddl_options *opts,
                    struct p2d_schema_report **out, char *err, size_t errlen)
{
    struct step s = {.sql = sql, .job = job, .cat = cat};
    bool *named = NULL;
    char cerr[4096];
    int rc = 0;

    *out = NULL;
    if (errlen)
        err[0] = '\0';
    s.rep = calloc(1, sizeof(*s.rep));
    if (!s.rep)
        return P2D_ENOMEM;
    s.rep->results = calloc(cat->ntables + 1, sizeof(*s.rep->results));
    s.plans = calloc(cat->ntables + 1, sizeof(*s.plans));
    s.leader = calloc(cat->ntables + 1, sizeof(*s.leader));
    s.existing = calloc(cat->ntables + 1, sizeof(*s.existing));
    named = calloc(cat->ntables + 1, sizeof(*named));
    if (!s.rep->results || !s.plans || !s.leader || !s.existing || !named) {
        rc = P2D_ENOMEM;
        goto fail;
    }
    s.rep->nresults = cat->ntables;

    /* names and layouts */
    for (size_t i = 0; i < cat->ntables && rc == 0; i++) {
        const struct p2d_table *t = &cat->tables[i];
        struct p2d_schema_result *res = &s.rep->results[i];
        struct p2d_dest_name dn;
        char line[4096];

        res->table = t;
        res->outcome = P2D_SCHEMA_CREATED;
        if (p2d_job_dest_name(job, t->schema, t->name, &dn, line, sizeof(line)) != 0) {
            rc = settle(s.rep, res, P2D_SCHEMA_REFUSED, line);
            continue;
        }
        snprintf(res->database, sizeof(res->database), "%s", dn.database);
        snprintf(res->name, sizeof(res->name), "%s", dn.table);
        named[i] = true;
        rc = p2d_ddl_plan(t, job, opts, &s.plans[i], line, sizeof(line));
        if (rc == P2D_EINVAL)
            rc = settle(s.rep, res, P2D_SCHEMA_REFUSED, line);
    }
    if (rc == 0)
        rc = check_collisions(&s, named, cerr, sizeof(cerr));
    if (rc == 0)
        rc = index_names(&s);

    /* create, in catalog order; merged tables follow their leader */
    for (size_t i = 0; i < cat->ntables && rc == 0; i++) {
        struct p2d_schema_result *res = &s.rep->results[i];
        size_t l = s.leader[i];

        if (res->outcome == P2D_SCHEMA_REFUSED || !s.plans[i])
            continue;
        if (l == i) {
            rc = sync_one(&s, i);
            continue;
        }
        if (s.rep->results[l].outcome == P2D_SCHEMA_REFUSED || !s.plans[l]) {
            rc = settlef(s.rep, res, P2D_SCHEMA_REFUSED,
                         "merged into Doris table \"%s\".\"%s\" with \"%s\".\"%s\", which was "
                         "refused",
                         res->database, res->name, cat->tables[l].schema, cat->tables[l].name);
        } else if (!same_layout(s.plans[l], s.plans[i])) {
            rc = settlef(s.rep, res, P2D_SCHEMA_REFUSED,
                         "\"%s\".\"%s\" and \"%s\".\"%s\" are both named Doris table \"%s\".\"%s\" "
                         "in the job file, but their columns differ (names, types or key); hint: "
                         "give them different \"name\"s or make their columns agree",
                         cat->tables[l].schema, cat->tables[l].name, res->table->schema,
                         res->table->name, res->database, res->name);
        } else {
            rc = settlef(s.rep, res, P2D_SCHEMA_EXISTED,
                         "merged into Doris table \"%s\".\"%s\" with \"%s\".\"%s\"", res->database,
                         res->name, cat->tables[l].schema, cat->tables[l].name);
        }
    }
    if (rc != 0)
        goto fail;

    for (size_t i = 0; i < cat->ntables; i++) {
        enum p2d_schema_outcome o = s.rep->results[i].outcome;

        s.rep->ncreated += o == P2D_SCHEMA_CREATED;
        s.rep->nexisted += o == P2D_SCHEMA_EXISTED;
        s.rep->nrefused += o == P2D_SCHEMA_REFUSED;
    }
    if (s.stop_rc != 0) {
        rc = s.stop_rc;
        snprintf(err, errlen, "schema sync stopped: %s", s.stop_reason);
    } else if (s.dest_failed) {
        rc = P2D_EDEST;
        snprintf(err, errlen,
                 "Doris refused to create %zu of %zu tables; the report lists each with "
                 "Doris's message",
                 s.rep->nrefused, s.rep->nresults);
    } else if (s.rep->nrefused > 0) {
        rc = P2D_EINVAL;
        snprintf(err, errlen, "%zu of %zu tables refused by schema sync; the report says why",
                 s.rep->nrefused, s.rep->nresults);
    }
    *out = s.rep;
    s.rep = NULL;
fail:
    for (size_t i = 0; s.plans && i < cat->ntables; i++)
        p2d_ddl_table_destroy(s.plans[i]);
    for (size_t i = 0; s.existing && i < cat->ntables; i++)
        free(s.existing[i].cols);
    free(s.existing);
    free(s.names);
    for (size_t i = 0; i < s.ndbs_done; i++)
        free(s.dbs_done[i]);
    free(s.dbs_done);
    free(s.plans);
    free(s.leader);
    free(named);
    p2d_schema_report_destroy(s.rep);
    return rc;
}
