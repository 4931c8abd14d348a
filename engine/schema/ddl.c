/*
 * ddl.c - the Doris layout of a source table and its CREATE / ALTER text
 * (see ddl.h for the decisions).
 */
#include "schema/ddl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "p2d_error.h"
#include "sink/doris_sql.h"

/* Problems found while planning, one per line, into the caller's err. */
struct problems {
    char *err;
    size_t errlen;
    size_t used;
    int n;
};

static void problem(struct problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct problems *p, const char *fmt, ...)
{
    va_list ap;
    int w;

    p->n++;
    if (!p->err || p->errlen == 0 || p->used + 1 >= p->errlen)
        return;
    if (p->used > 0)
        p->err[p->used++] = '\n';
    va_start(ap, fmt);
    w = vsnprintf(p->err + p->used, p->errlen - p->used, fmt, ap);
    va_end(ap);
    if (w > 0)
        p->used += (size_t)w < p->errlen - p->used ? (size_t)w : p->errlen - p->used - 1;
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

/* Appends name in backticks; keeps the buffer NUL-terminated. */
static int append_ident(struct p2d_buf *b, const char *name)
{
    char q[2 * P2D_DDL_COLUMN_MAX + 4];

    p2d_doris_quote_ident(name, q, sizeof(q));
    return appendf(b, "%s", q);
}

int p2d_ddl_append_literal(struct p2d_buf *out, const char *text)
{
    int rc = appendf(out, "'");

    for (const char *p = text; *p && rc == 0; p++) {
        if (*p == '\\' || *p == '\'')
            rc = appendf(out, "\\%c", *p);
        else
            rc = appendf(out, "%c", *p);
    }
    if (rc == 0)
        rc = appendf(out, "'");
    return rc;
}

const char *p2d_ddl_model_name(enum p2d_table_model model)
{
    return model == P2D_MODEL_DUPLICATE ? "duplicate"
           : model == P2D_MODEL_UNIQUE  ? "unique"
                                        : "auto";
}

void p2d_ddl_table_destroy(struct p2d_ddl_table *dt)
{
    if (!dt)
        return;
    free(dt->columns);
    free(dt);
}

int p2d_ddl_column_index(const struct p2d_ddl_table *dt, const char *name)
{
    for (size_t i = 0; i < dt->ncolumns; i++)
        if (strcasecmp(dt->columns[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- planning ---------------------------------------------------------- */

static const struct {
    const char *name;
    enum p2d_ddl_col_kind kind;
    const char *type;
    const char *comment;
} extras[] = {
    {"_is_deleted", P2D_DDL_IS_DELETED, "BOOLEAN", "pg2doris: row deleted in the source"},
    {"_version", P2D_DDL_VERSION, "BIGINT", "pg2doris: source commit time, seconds"},
    {"_record_id", P2D_DDL_RECORD_ID, "BIGINT", "pg2doris: unique, increasing record id"},
};

#define NEXTRAS (sizeof(extras) / sizeof(extras[0]))

static void set_extra(struct p2d_ddl_column *c, size_t e)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", extras[e].name);
    c->kind = extras[e].kind;
    c->source = -1;
    snprintf(c->d.type, sizeof(c->d.type), "%s", extras[e].type);
    c->d.rule = extras[e].kind == P2D_DDL_IS_DELETED ? P2D_VR_BOOL : P2D_VR_INT;
    c->d.nullable = false;
    c->d.note = extras[e].comment;
    snprintf(c->comment, sizeof(c->comment), "%s", extras[e].comment);
}

/* Maps source column ci of t into c. */
static int set_source(struct p2d_ddl_column *c, const struct p2d_table *t, size_t ci, bool is_key,
                      const struct p2d_job *job, struct problems *p)
{
    const struct p2d_column *col = &t->columns[ci];
    struct p2d_pgcol pg;

    memset(c, 0, sizeof(*c));
    c->kind = P2D_DDL_SOURCE;
    c->source = (int)ci;
    c->is_key = is_key;
    p2d_job_dest_column(job, t->schema, t->name, col->name, c->name, sizeof(c->name));
    if (!p2d_catalog_doris_column_name_ok(c->name))
        problem(p,
                "column \"%s\" of table \"%s\".\"%s\" would land as Doris column \"%s\", which "
                "Doris does not accept; hint: rename it in the job file: \"tables\": "
                "{\"%s.%s\": {\"columns\": {\"%s\": \"...\"}}}",
                col->name, t->schema, t->name, c->name, t->schema, t->name, col->name);
    p2d_catalog_pgcol(col, &pg);
    if (p2d_typemap_map(&pg, is_key, &c->d) != 0) {
        problem(p, "column \"%s\" of table \"%s\".\"%s\" has no type name in the catalog",
                col->name, t->schema, t->name);
        return 0;
    }
    if (c->d.key_substituted) {
        struct p2d_dcol natural;

        if (p2d_typemap_map(&pg, false, &natural) == 0)
            snprintf(c->comment, sizeof(c->comment),
                     "%s (key: Doris bans %s keys, exact text as %s)", col->type_display,
                     natural.type, c->d.type);
    } else {
        snprintf(c->comment, sizeof(c->comment), "%s", col->type_display);
    }
    return 0;
}

/* Source column index of a job-file name, or -1 with a problem. */
static int resolve_name(const struct p2d_table *t, const char *name, const char *setting,
                        struct problems *p)
{
    int ci = p2d_catalog_column_index(t, name);

    if (ci < 0 || t->columns[ci].generated) {
        problem(p,
                "the job file's \"%s\" for \"%s.%s\" names column \"%s\", which the table "
                "does not have%s; hint: use source column names",
                setting, t->schema, t->name, name,
                ci >= 0 ? " as a stored column (it is generated)" : "");
        return -1;
    }
    return ci;
}

/* The first NOT NULL column whose natural type Doris accepts as a key. */
static int first_sortable(const struct p2d_table *t)
{
    for (size_t i = 0; i < t->ncolumns; i++) {
        struct p2d_pgcol pg;
        struct p2d_dcol d;

        if (t->columns[i].generated || !t->columns[i].not_null)
            continue;
        p2d_catalog_pgcol(&t->columns[i], &pg);
        if (p2d_typemap_map(&pg, true, &d) == 0 && !d.key_substituted)
            return (int)i;
    }
    return -1;
}

int p2d_ddl_plan(const struct p2d_table *t, const struct p2d_job *job,
                 const struct p2d_ddl_options *opts, struct p2d_ddl_table **out, char *err,
                 size_t errlen)
{
    const struct p2d_job_table *cfg = p2d_job_table_config(job, t->schema, t->name);
    struct problems p = {.err = err, .errlen = errlen};
    struct p2d_ddl_table *dt;
    struct p2d_dest_name dn;
    int key_src[64];
    size_t nkey_src = 0;
    bool real_key, record_id_key = false;
    char line[1024];

    *out = NULL;
    if (errlen)
        err[0] = '\0';
    dt = calloc(1, sizeof(*dt));
    if (!dt)
        return P2D_ENOMEM;
    dt->columns = calloc(t->ncolumns + NEXTRAS + 1, sizeof(*dt->columns));
    if (!dt->columns) {
        free(dt);
        return P2D_ENOMEM;
    }
    snprintf(dt->source, sizeof(dt->source), "%s.%s", t->schema, t->name);
    if (p2d_job_dest_name(job, t->schema, t->name, &dn, line, sizeof(line)) != 0)
        problem(&p, "%s", line);
    snprintf(dt->database, sizeof(dt->database), "%s", dn.database);
    snprintf(dt->table, sizeof(dt->table), "%s", dn.table);
    dt->bucket_count = cfg ? cfg->bucket_count : 0;
    dt->replication_num = opts ? opts->replication_num : 0;

    /* the key: the job file's, else the catalog's */
    if (cfg && cfg->key) {
        for (size_t i = 0; cfg->key[i]; i++) {
            int ci = resolve_name(t, cfg->key[i], "key", &p);

            if (ci < 0)
                continue;
            for (size_t j = 0; j < nkey_src; j++)
                if (key_src[j] == ci) {
                    problem(&p, "the job file's \"key\" for \"%s.%s\" names column \"%s\" twice",
                            t->schema, t->name, cfg->key[i]);
                    ci = -1;
                }
            if (ci >= 0 && nkey_src < 64)
                key_src[nkey_src++] = ci;
        }
    } else {
        for (size_t i = 0; i < t->nkey && i < 64; i++)
            key_src[nkey_src++] = (int)t->key[i];
    }
    real_key = nkey_src > 0;
    dt->model = cfg && cfg->model != P2D_MODEL_AUTO ? cfg->model
                : real_key || (cfg && cfg->key)     ? P2D_MODEL_UNIQUE
                                                    : P2D_MODEL_DUPLICATE;
    if (dt->model == P2D_MODEL_UNIQUE && !real_key && !(cfg && cfg->key))
        problem(&p,
                "table \"%s\".\"%s\" has no primary key and no unique index on NOT NULL "
                "columns, so it cannot be a Doris Unique table; hint: set \"key\" for "
                "\"%s.%s\" in the job file, or \"engine\": \"duplicate\"",
                t->schema, t->name, t->schema, t->name);
    if (dt->model == P2D_MODEL_UNIQUE)
        for (size_t i = 0; i < nkey_src; i++)
            if (!t->columns[key_src[i]].not_null && !t->columns[key_src[i]].domain_not_null)
                problem(&p,
                        "key column \"%s\" of table \"%s\".\"%s\" allows NULL in PostgreSQL, "
                        "but a Doris Unique key cannot hold NULL; hint: choose NOT NULL key "
                        "columns in the job file, or \"engine\": \"duplicate\"",
                        t->columns[key_src[i]].name, t->schema, t->name);
    if (dt->model == P2D_MODEL_DUPLICATE && nkey_src == 0) {
        int ci = first_sortable(t);

        if (ci >= 0)
            key_src[nkey_src++] = ci;
        else
            record_id_key = true;
    }

    /* columns: key first, in key order, then the rest in attnum order */
    if (record_id_key) {
        set_extra(&dt->columns[dt->ncolumns], 2);
        dt->columns[dt->ncolumns++].is_key = true;
    }
    for (size_t i = 0; i < nkey_src; i++) {
        struct p2d_ddl_column *c = &dt->columns[dt->ncolumns++];

        set_source(c, t, (size_t)key_src[i], true, job, &p);
        if (dt->model == P2D_MODEL_DUPLICATE)
            c->d.nullable = !t->columns[key_src[i]].not_null;
    }
    dt->nkey = dt->ncolumns;
    for (size_t ci = 0; ci < t->ncolumns; ci++) {
        bool in_key = false;

        for (size_t k = 0; k < nkey_src; k++)
            in_key = in_key || key_src[k] == (int)ci;
        if (in_key || t->columns[ci].generated)
            continue;
        set_source(&dt->columns[dt->ncolumns++], t, ci, false, job, &p);
    }
    if (dt->model == P2D_MODEL_UNIQUE && dt->ncolumns == dt->nkey)
        problem(&p,
                "table \"%s\".\"%s\" has only key columns, and a Doris Unique table needs at "
                "least one value column; hint: set \"engine\": \"duplicate\" for \"%s.%s\" in "
                "the job file",
                t->schema, t->name, t->schema, t->name);
    if (dt->model == P2D_MODEL_DUPLICATE)
        for (size_t e = 0; e < NEXTRAS; e++)
            if (!(record_id_key && extras[e].kind == P2D_DDL_RECORD_ID))
                set_extra(&dt->columns[dt->ncolumns++], e);

    /* two columns on one Doris name (Doris compares without case) */
    for (size_t i = 1; i < dt->ncolumns; i++)
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(dt->columns[i].name, dt->columns[j].name) == 0)
                problem(&p,
                        "table \"%s\".\"%s\" would have two Doris columns named \"%s\"%s; hint: "
                        "rename one in the job file's \"columns\" for \"%s.%s\"",
                        t->schema, t->name, dt->columns[i].name,
                        dt->columns[i].kind != P2D_DDL_SOURCE
                            ? " (pg2doris adds it to Duplicate tables)"
                            : "",
                        t->schema, t->name);

    /* distribution: the job file's, else the key, else `_record_id` */
    if (cfg && cfg->distribution_key) {
        for (size_t i = 0; cfg->distribution_key[i]; i++) {
            int ci = resolve_name(t, cfg->distribution_key[i], "distribution_key", &p);

            for (size_t k = 0; ci >= 0 && k < dt->ncolumns; k++) {
                const struct p2d_ddl_column *c = &dt->columns[k];

                if (c->source != ci)
                    continue;
                if (dt->model == P2D_MODEL_UNIQUE && !c->is_key)
                    problem(&p,
                            "the job file's \"distribution_key\" for \"%s.%s\" names column "
                            "\"%s\", which is not a key column; Doris distributes Unique "
                            "tables by key columns only; hint: use key columns",
                            t->schema, t->name, cfg->distribution_key[i]);
                else if (c->d.rule == P2D_VR_FLOAT && !c->d.key_substituted)
                    problem(&p,
                            "the job file's \"distribution_key\" for \"%s.%s\" names the "
                            "floating-point column \"%s\", which Doris cannot distribute by; "
                            "hint: choose another column",
                            t->schema, t->name, cfg->distribution_key[i]);
                else if (dt->ndistribution < 32)
                    dt->distribution[dt->ndistribution++] = k;
            }
        }
    } else if (real_key || (cfg && cfg->key)) {
        for (size_t k = 0; k < dt->nkey && k < 32; k++)
            dt->distribution[dt->ndistribution++] = k;
    } else {
        for (size_t k = 0; k < dt->ncolumns; k++)
            if (dt->columns[k].kind == P2D_DDL_RECORD_ID)
                dt->distribution[dt->ndistribution++] = k;
    }
    if (p.n == 0 && dt->ndistribution == 0)
        problem(&p, "table \"%s\".\"%s\" has no column to distribute by", t->schema, t->name);

    if (p.n > 0) {
        p2d_ddl_table_destroy(dt);
        return P2D_EINVAL;
    }
    *out = dt;
    return 0;
}

/* ---- rendering --------------------------------------------------------- */

static int append_table_name(struct p2d_buf *b, const struct p2d_ddl_table *dt)
{
    int rc = append_ident(b, dt->database);

    if (rc == 0)
        rc = appendf(b, ".");
    if (rc == 0)
        rc = append_ident(b, dt->table);
    return rc;
}

static int append_column_def(struct p2d_buf *b, const struct p2d_ddl_column *c, bool force_null)
{
    int rc = append_ident(b, c->name);

    if (rc == 0)
        rc = appendf(b, " %s %s COMMENT ", c->d.type,
                     force_null || c->d.nullable ? "NULL" : "NOT NULL");
    if (rc == 0)
        rc = p2d_ddl_append_literal(b, c->comment);
    return rc;
}

static int append_list(struct p2d_buf *b, const struct p2d_ddl_table *dt, const size_t *idx,
                       size_t n)
{
    int rc = appendf(b, "(");

    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            rc = appendf(b, ", ");
        if (rc == 0)
            rc = append_ident(b, dt->columns[idx[i]].name);
    }
    if (rc == 0)
        rc = appendf(b, ")");
    return rc;
}

int p2d_ddl_create_table(const struct p2d_ddl_table *dt, struct p2d_buf *out)
{
    size_t keys[64];
    char comment[400];
    int rc = appendf(out, "CREATE TABLE ");

    if (rc == 0)
        rc = append_table_name(out, dt);
    if (rc == 0)
        rc = appendf(out, " (\n");
    for (size_t i = 0; i < dt->ncolumns && rc == 0; i++) {
        rc = appendf(out, "  ");
        if (rc == 0)
            rc = append_column_def(out, &dt->columns[i], false);
        if (rc == 0)
            rc = appendf(out, "%s\n", i + 1 < dt->ncolumns ? "," : "");
    }
    if (rc == 0)
        rc = appendf(out, ") ENGINE=OLAP\n%s KEY",
                     dt->model == P2D_MODEL_UNIQUE ? "UNIQUE" : "DUPLICATE");
    for (size_t i = 0; i < dt->nkey && i < 64; i++)
        keys[i] = i;
    if (rc == 0)
        rc = append_list(out, dt, keys, dt->nkey < 64 ? dt->nkey : 64);
    snprintf(comment, sizeof(comment), "PostgreSQL table %s", dt->source);
    if (rc == 0)
        rc = appendf(out, "\nCOMMENT ");
    if (rc == 0)
        rc = p2d_ddl_append_literal(out, comment);
    if (rc == 0)
        rc = appendf(out, "\nDISTRIBUTED BY HASH");
    if (rc == 0)
        rc = append_list(out, dt, dt->distribution, dt->ndistribution);
    if (rc == 0 && dt->bucket_count > 0)
        rc = appendf(out, " BUCKETS %d\nPROPERTIES (\n", dt->bucket_count);
    else if (rc == 0)
        rc = appendf(out, " BUCKETS AUTO\nPROPERTIES (\n");
    if (rc == 0 && dt->replication_num > 0)
        rc = appendf(out, "  \"replication_num\" = \"%d\",\n", dt->replication_num);
    if (rc == 0 && dt->model == P2D_MODEL_UNIQUE)
        rc = appendf(out, "  \"enable_unique_key_merge_on_write\" = \"true\",\n");
    if (rc == 0)
        rc = appendf(out, "  \"light_schema_change\" = \"true\"\n)");
    return rc;
}

int p2d_ddl_alter_add_column(const struct p2d_ddl_table *dt, const char *name,
                             const struct p2d_dcol *d, const char *source_type, struct p2d_buf *out,
                             char *err, size_t errlen)
{
    struct p2d_ddl_column c;
    int last_source = -1;
    int rc;

    if (errlen)
        err[0] = '\0';
    if (!p2d_catalog_doris_column_name_ok(name)) {
        snprintf(err, errlen,
                 "cannot add column \"%s\" to Doris table \"%s\".\"%s\": Doris does not accept "
                 "the name; hint: map it in the job file's \"columns\" for \"%s\"",
                 name, dt->database, dt->table, dt->source);
        return P2D_EINVAL;
    }
    if (p2d_ddl_column_index(dt, name) >= 0) {
        snprintf(err, errlen,
                 "cannot add column \"%s\" to Doris table \"%s\".\"%s\": a column of that name "
                 "exists; hint: rename the new column in the job file's \"columns\" for \"%s\"",
                 name, dt->database, dt->table, dt->source);
        return P2D_EINVAL;
    }
    memset(&c, 0, sizeof(c));
    snprintf(c.name, sizeof(c.name), "%s", name);
    c.d = *d;
    snprintf(c.comment, sizeof(c.comment), "%s", source_type ? source_type : "");
    for (size_t i = 0; i < dt->ncolumns; i++)
        if (dt->columns[i].kind == P2D_DDL_SOURCE)
            last_source = (int)i;
    rc = appendf(out, "ALTER TABLE ");
    if (rc == 0)
        rc = append_table_name(out, dt);
    if (rc == 0)
        rc = appendf(out, " ADD COLUMN ");
    if (rc == 0)
        rc = append_column_def(out, &c, true);
    if (rc == 0 && dt->model == P2D_MODEL_DUPLICATE && last_source >= 0 &&
        (size_t)last_source + 1 < dt->ncolumns) {
        rc = appendf(out, " AFTER ");
        if (rc == 0)
            rc = append_ident(out, dt->columns[last_source].name);
    }
    return rc;
}

int p2d_ddl_alter_drop_column(const struct p2d_ddl_table *dt, const char *name, struct p2d_buf *out,
                              char *err, size_t errlen)
{
    int ci = p2d_ddl_column_index(dt, name);
    const char *why = NULL;
    int rc;

    if (errlen)
        err[0] = '\0';
    if (ci < 0)
        why = "it does not exist";
    else if (dt->columns[ci].kind != P2D_DDL_SOURCE)
        why = "pg2doris needs it on Duplicate tables";
    else if (dt->columns[ci].is_key)
        why = "it is a key column";
    for (size_t i = 0; ci >= 0 && !why && i < dt->ndistribution; i++)
        if (dt->distribution[i] == (size_t)ci)
            why = "the table is distributed by it";
    if (why) {
        snprintf(err, errlen,
                 "cannot drop column \"%s\" of Doris table \"%s\".\"%s\": %s; hint: recreate "
                 "the table (pg2doris drop, then sync again)",
                 name, dt->database, dt->table, why);
        return P2D_EINVAL;
    }
    rc = appendf(out, "ALTER TABLE ");
    if (rc == 0)
        rc = append_table_name(out, dt);
    if (rc == 0)
        rc = appendf(out, " DROP COLUMN ");
    if (rc == 0)
        rc = append_ident(out, dt->columns[ci].name);
    return rc;
}
