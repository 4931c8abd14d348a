/*
 * source_db.h - the source database of the schema tests: every type of the
 * seed mapping and the documented extras, NULL-able and NOT NULL columns, a
 * composite key, a unique-index-only table, a table without a key, a
 * partitioned table with nested leaves, and names that need mapping.
 */
#ifndef P2D_TEST_SOURCE_DB_H
#define P2D_TEST_SOURCE_DB_H

#include <libpq-fe.h>

#include "job/job.h"

/* Connects to P2D_PG_CONNINFO and creates the tables (once per database). */
PGconn *source_db_setup(void);

/* Parses "sync --source ... --dest http://root@127.0.0.1:PORT/DB <args>"
 * (space-separated args) with job_json (may be NULL) as the job file. */
struct p2d_job *source_db_job(const char *db, const char *args, const char *job_json);

#endif
