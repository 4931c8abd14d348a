/*
 * ddl.h - the Doris table a source table becomes, and its DDL text
 * (doris-protocol.md §7). Pure: no I/O, no globals.
 *
 * p2d_ddl_plan() decides the layout once: Doris names (job renames and
 * --name-case), model, key columns first in key order (Doris wants an
 * ordered leading prefix, §5.3), types through typemap (banned key types
 * get typemap's substitutes), nullability, distribution and buckets. The
 * layout is what the schema step creates and what the encoder follows;
 * the CREATE / ALTER texts are rendered from it.
 *
 * Decisions (docs/type-mapping.md has the type side):
 *   - Unique model when the table has a usable key (or the job names key
 *     columns), Duplicate otherwise or when the job says "duplicate".
 *     Duplicate tables end with `_is_deleted` BOOLEAN, `_version` BIGINT
 *     (commit time, seconds) and `_record_id` BIGINT (unique, increasing),
 *     all NOT NULL: the loader always supplies them.
 *   - A Duplicate table without any key sorts by its first column whose
 *     type Doris accepts as a key (moved to the front), else by
 *     `_record_id` (then first); it is distributed by HASH(`_record_id`),
 *     which spreads rows evenly whatever the data.
 *   - Generated columns are left out: pgoutput before PostgreSQL 18 does
 *     not send them, so the destination could not keep them current.
 *   - Source defaults are not copied: every load sends every column, so a
 *     Doris default would never apply, and PostgreSQL default expressions
 *     (nextval(), now(), functions) have no Doris equivalent; copying them
 *     would only make the two sides look alike when they do not behave so.
 *   - Plain CREATE TABLE, not IF NOT EXISTS: a table created by someone
 *     else between the check and the statement must fail loudly.
 */
#ifndef P2D_DDL_H
#define P2D_DDL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "job/job.h"
#include "schema/catalog.h"
#include "schema/typemap.h"

#define P2D_DDL_COLUMN_MAX 257 /* Doris column names: at most 256 bytes + NUL */

enum p2d_ddl_col_kind {
    P2D_DDL_SOURCE,     /* a source column */
    P2D_DDL_IS_DELETED, /* `_is_deleted` (Duplicate) */
    P2D_DDL_VERSION,    /* `_version` (Duplicate) */
    P2D_DDL_RECORD_ID,  /* `_record_id` (Duplicate) */
};

struct p2d_ddl_column {
    char name[P2D_DDL_COLUMN_MAX]; /* Doris name */
    enum p2d_ddl_col_kind kind;
    int source;        /* index into p2d_table.columns, -1 for the extra columns */
    bool is_key;       /* in the Doris key (the first nkey columns) */
    struct p2d_dcol d; /* Doris type, value rule, nullability */
    char comment[160]; /* source type (and key substitute), for COMMENT '...' */
};

struct p2d_ddl_table {
    char database[128];
    char table[256];
    char source[300];               /* "schema.table", for the table comment and messages */
    enum p2d_table_model model;     /* UNIQUE or DUPLICATE, never AUTO */
    struct p2d_ddl_column *columns; /* Doris order: key columns first */
    size_t ncolumns;
    size_t nkey;
    size_t distribution[32]; /* indexes into columns */
    size_t ndistribution;
    int bucket_count;    /* 0 = BUCKETS AUTO */
    int replication_num; /* 0 = not set (Doris default) */
};

/* Settings that do not come from the job (yet). */
struct p2d_ddl_options {
    int replication_num; /* 0: leave replication to Doris */
};

/*
 * Plans the Doris table for t with job's renames, --name-case and the
 * table's settings in the job file (engine, key, distribution_key,
 * bucket_count); opts may be NULL. On success *out is a new layout owned by
 * the caller (p2d_ddl_table_destroy). On a table that cannot be created as
 * asked returns P2D_EINVAL with one line per problem in err (what, why and
 * a hint); P2D_ENOMEM. Borrows t and job until return.
 */
int p2d_ddl_plan(const struct p2d_table *t, const struct p2d_job *job,
                 const struct p2d_ddl_options *opts, struct p2d_ddl_table **out, char *err,
                 size_t errlen) __attribute__((warn_unused_result));

void p2d_ddl_table_destroy(struct p2d_ddl_table *dt); /* accepts NULL */

/* The column called name (case-insensitive, as Doris compares), or -1. */
int p2d_ddl_column_index(const struct p2d_ddl_table *dt, const char *name);

/* Appends the CREATE TABLE statement (no trailing semicolon) to out and
 * keeps out NUL-terminated. 0, P2D_EFULL or P2D_ENOMEM. */
int p2d_ddl_create_table(const struct p2d_ddl_table *dt, struct p2d_buf *out)
    __attribute__((warn_unused_result));

/*
 * Appends `ALTER TABLE db.t ADD COLUMN name TYPE NULL COMMENT '...'` for a
 * column added in the source (CDC DDL). The column is always nullable:
 * existing rows have no value for it. On Duplicate tables it goes before
 * the extra columns (AFTER the last source column). source_type is the
 * source type text for the comment (may be NULL). Returns P2D_EINVAL with
 * err when the name is taken or Doris would refuse it; P2D_EFULL,
 * P2D_ENOMEM.
 */
int p2d_ddl_alter_add_column(const struct p2d_ddl_table *dt, const char *name,
                             const struct p2d_dcol *d, const char *source_type, struct p2d_buf *out,
                             char *err, size_t errlen) __attribute__((warn_unused_result));

/* Appends `ALTER TABLE db.t DROP COLUMN name`. Refuses (P2D_EINVAL, err)
 * unknown columns, key columns, distribution columns and the extra columns,
 * which Doris would refuse or the loader needs. */
int p2d_ddl_alter_drop_column(const struct p2d_ddl_table *dt, const char *name, struct p2d_buf *out,
                              char *err, size_t errlen) __attribute__((warn_unused_result));

/* Appends text as a Doris string literal in single quotes (\ and ' escaped). */
int p2d_ddl_append_literal(struct p2d_buf *out, const char *text)
    __attribute__((warn_unused_result));

/* Names of the model for messages: "unique" / "duplicate". */
const char *p2d_ddl_model_name(enum p2d_table_model model);

#endif
