/*
 * engine_it.h - helpers for integration tests that drive the pg2doris
 * binary against the harness's PostgreSQL and doris-emu: run the binary
 * (optionally signalling it once its load is under way), read its log,
 * query both sides, read the job's state, inject doris-emu faults.
 * Failures count through testlib's assertions.
 */
#ifndef P2D_ENGINE_IT_H
#define P2D_ENGINE_IT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "sink/doris_sql.h"

/* Runs sql, asserting it succeeds (the error is printed when not). */
#define it_pg_ok(conn, sql) it_pg_ok_at((conn), (sql), __FILE__, __LINE__)
void it_pg_ok_at(PGconn *conn, const char *sql, const char *file, int line);

/* First column of the single row of sql as an integer, or -1. */
long long it_pg_scalar(PGconn *conn, const char *sql);

/* Drops and creates database db on the harness cluster and connects to it;
 * conninfo receives the connection string (for --source). */
PGconn *it_pg_fresh_db(const char *db, char *conninfo, size_t len);

/* Replication slots of pg2doris jobs that still exist. */
long long it_slots_left(PGconn *conn);

/*
 * Runs $P2D_BUILD_DIR/pg2doris with args (NULL-terminated), stdout and
 * stderr into logpath. With wait_text set, sends sig after_ms after the log
 * first contains wait_text (polled for up to 120 s: a fixed delay from the
 * start would race with setup on a loaded machine). Returns the exit code,
 * or 128 + signal.
 */
int it_run_pg2doris(const char *const *args, const char *logpath, const char *wait_text,
                    int after_ms, int sig);

/* Whole file as a NUL-terminated string (malloc'd; "" if unreadable). */
char *it_slurp(const char *path);

/* One Doris result value as text: integers and strings as they are,
 * "<NULL>", or "<other>" for other JSON kinds. */
void it_doris_text(const json_t *v, char *out, size_t outlen);

/* The first column of the single row of q in Doris database db, as text:
 * integers and strings as they are, "<NULL>", "<N rows>" or "<error>". */
void it_doris_value(struct p2d_doris_sql *sql, const char *db, const char *q, char *out,
                    size_t outlen);

/* The same, as an integer (count(*) and such); -1 on error. */
long long it_doris_count(struct p2d_doris_sql *sql, const char *db, const char *q);

/* Runs a statement in Doris, asserting success. */
void it_doris_ok(struct p2d_doris_sql *sql, const char *db, const char *stmt);

/* Ranges of source table (e.g. "public.t") in the state under dir:
 * returns their number; done[id] = 1 for DONE ranges with id < max (done
 * may be NULL); *ndone (may be NULL) gets the count of DONE ranges. */
int it_state_ranges(const char *dir, const char *table, unsigned char *done, int max, int *ndone);

/* Adds a doris-emu fault spec, or clears all faults when spec is NULL. */
void it_emu_fault(const char *spec);

#endif
