/*
 * schema_sync.c - creates the Doris databases and tables of a sync (see
 * schema_sync.h). Existing tables are read from information_schema.COLUMNS
 * one table at a time, so memory stays bounded by the widest table.
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

#define REASON_MAX (64 * 1024) /* a per-table report never grows past this */

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

/* Reads the columns of db.table; *n = 0 when the table does not exist. */
static int read_existing(struct p2d_doris_sql *sql, const char *db, const char *table,
                         struct existing_col **cols, size_t *n, char *err, size_t errlen)
{
    struct p2d_buf q;
    enum p2d_doris_fail fail;
    json_t *data = NULL, *rows;
    int rc;

    *cols = NULL;
    *n = 0;
    p2d_buf_init(&q, 4096);
    rc = appendf(&q, "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM "
                     "information_schema.`COLUMNS` WHERE TABLE_SCHEMA = ");
    if (rc == 0)
        rc = append_literal_str(&q, db);
    if (rc == 0)
        rc = appendf(&q, " AND TABLE_NAME = ");
    if (rc == 0)
        rc = append_literal_str(&q, table);
    if (rc == 0)
        rc = appendf(&q, " ORDER BY ORDINAL_POSITION");
    if (rc != 0) {
        p2d_buf_fini(&q);
        return rc == P2D_EFULL ? P2D_EINVAL : rc;
    }
    rc = p2d_doris_sql_exec(sql, "information_schema", (const char *)q.data, &data, &fail, err,
                            errlen);
    p2d_buf_fini(&q);
    if (rc != 0)
        return rc;
    rows = p2d_doris_rows(data);
    if (rows && json_array_size(rows) > 0) {
        *cols = calloc(json_array_size(rows), sizeof(**cols));
        if (!*cols) {
            json_decref(data);
            return P2D_ENOMEM;
        }
    }
    for (size_t i = 0; rows && i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        const char *name = json_string_value(json_array_get(row, 0));
        const char *type = json_string_value(json_array_get(row, 1));
        const char *nullable = json_string_value(json_array_get(row, 2));
        const char *key = json_string_value(json_array_get(row, 3));
        struct existing_col *c = &(*cols)[*n];

        if (!name)
            continue;
        snprintf(c->name, sizeof(c->name), "%s", name);
        normalise_type(type ? type : "", c->type, sizeof(c->type));
        c->nullable = nullable && strcasecmp(nullable, "YES") == 0;
        c->key = key && key[0] != '\0';
        (*n)++;
    }
    json_decref(data);
    return 0;
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

struct step {
    struct p2d_doris_sql *sql;
    const struct p2d_job *job;
    const struct p2d_catalog *cat;
    struct p2d_schema_report *rep;
    struct p2d_ddl_table **plans; /* per table, NULL when refused before planning */
    size_t *leader;               /* per table: the table whose Doris table it shares */
    char **dbs_done;
    size_t ndbs_done;
    bool dest_failed;
    int stop_rc; /* P2D_ERETRY / P2D_EDEST after a failure that stops the step */
    char stop_reason[1024];
};

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
    struct existing_col *cols = NULL;
    size_t ncols = 0;
    struct p2d_buf b;
    char derr[1024], headline[800];
    enum p2d_doris_fail fail;
    int rc;

    if (s->stop_rc != 0)
        return settle(s->rep, res, P2D_SCHEMA_REFUSED, s->stop_reason);
    rc = ensure_database(s, dt->database, derr, sizeof(derr));
    if (rc == 0)
        rc = read_existing(s->sql, dt->database, dt->table, &cols, &ncols, derr, sizeof(derr));
    if (rc == P2D_ENOMEM)
        return rc;
    if (rc != 0) {
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
            rc = conflict_report(&b, dt, cols, ncols, headline,
                                 s->job->on_conflict == P2D_CONFLICT_REPORT
                                     ? "drop the Doris table, map the source table to another "
                                       "\"name\" in the job file, or pass --on-conflict ignore "
                                       "to load into it (its column names and key must match)"
                                     : "drop the Doris table or map the source table to another "
                                       "\"name\" in the job file");
            if (rc == 0)
                rc = p2d_buf_append(&b, "", 1);
            if (rc == 0)
                rc = settle(s->rep, res, P2D_SCHEMA_REFUSED, (const char *)b.data);
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
    named = calloc(cat->ntables + 1, sizeof(*named));
    if (!s.rep->results || !s.plans || !s.leader || !named) {
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
    for (size_t i = 0; i < s.ndbs_done; i++)
        free(s.dbs_done[i]);
    free(s.dbs_done);
    free(s.plans);
    free(s.leader);
    free(named);
    p2d_schema_report_destroy(s.rep);
    return rc;
}
