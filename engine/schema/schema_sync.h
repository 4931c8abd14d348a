/*
 * schema_sync.h - the schema step of `pg2doris sync --mode schema`: the
 * destination databases and tables for the catalog's tables, with
 * --on-conflict deciding about tables that already exist.
 *
 * Runs on the caller's thread with the caller's Doris SQL client (borrowed
 * until return). Per table, in catalog order:
 *   - refused when its name cannot be mapped, when it collides with another
 *     selected table (unless the job file names all of them to that table
 *     on purpose; then their columns must agree), or when its layout cannot
 *     be planned (p2d_ddl_plan);
 *   - created when the Doris table does not exist;
 *   - when it exists: refused under --on-conflict report, with a column by
 *     column comparison of what exists and what would be created; kept under
 *     ignore when the column names and the key agree, refused otherwise.
 */
#ifndef P2D_SCHEMA_SYNC_H
#define P2D_SCHEMA_SYNC_H

#include <stddef.h>

#include "job/job.h"
#include "schema/catalog.h"
#include "schema/ddl.h"
#include "sink/doris_sql.h"

enum p2d_schema_outcome {
    P2D_SCHEMA_CREATED, /* created by this run */
    P2D_SCHEMA_EXISTED, /* already there and kept (--on-conflict ignore, or a merge) */
    P2D_SCHEMA_REFUSED, /* not created: reason says why and what to do */
};

struct p2d_schema_result {
    const struct p2d_table *table; /* borrowed from the catalog */
    char database[128];            /* Doris database ("" when the name could not be mapped) */
    char name[256];                /* Doris table */
    enum p2d_schema_outcome outcome;
    char *reason; /* owned; NULL for CREATED; for EXISTED a note, for REFUSED the report */
};

struct p2d_schema_report {
    struct p2d_schema_result *results; /* one per catalog table, catalog order */
    size_t nresults;
    size_t ncreated, nexisted, nrefused;
};

/*
 * Runs the schema step for every table of cat. On return *out (always set
 * when the return is not P2D_ENOMEM) holds one result per table, owned by
 * the caller (p2d_schema_report_destroy); it borrows cat, which must
 * outlive it. Returns 0 when no table was refused; P2D_EINVAL when some
 * were (a precheck failure: P2D_EXIT_PRECHECK; the reasons are in the
 * report and a summary line in err); P2D_EDEST or P2D_ERETRY when Doris
 * failed or could not be reached (err says which statement; the report
 * holds the tables done so far, the rest refused with that reason);
 * P2D_ENOMEM. opts may be NULL.
 */
int p2d_schema_sync(struct p2d_doris_sql *sql, const struct p2d_job *job,
                    const struct p2d_catalog *cat, const struct p2d_ddl_options *opts,
                    struct p2d_schema_report **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

void p2d_schema_report_destroy(struct p2d_schema_report *r); /* accepts NULL */

/* "created" / "existed" / "refused". */
const char *p2d_schema_outcome_name(enum p2d_schema_outcome o);

/* The exit code for a p2d_schema_sync() return value. */
int p2d_schema_exit_code(int rc);

#endif
