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

/* Ranges of source table (e.g. "public.t") that read rows (not the
 * CHANGES range of a ctid-split table) in the state under dir:
 * returns their number; done[id] = 1 for DONE ranges with id < max (done
 * may be NULL); *ndone (may be NULL) gets the count of DONE ranges. */
int it_state_ranges(const char *dir, const char *table, unsigned char *done, int max, int *ndone);

/* Adds a doris-emu fault spec, or clears all faults when spec is NULL. */
void it_emu_fault(const char *spec);

/* ==== Long-running syncs (incremental sync, issue 4) ======================
 * `pg2doris sync` with the incremental mode keeps streaming until a signal:
 * these helpers run it in the background, watch its log, wait until the
 * job's slot has caught up with the source, stop it, and run
 * `pg2doris verify --full`. */

#include <sys/types.h>

/* Starts $P2D_BUILD_DIR/pg2doris with args (NULL-terminated) in the
 * background, stdout and stderr into logpath (truncated). Returns its pid,
 * or -1 (a failed assertion) when it cannot be started. */
pid_t it_start_pg2doris(const char *const *args, const char *logpath);

/* Occurrences of text in the file at logpath (0 when unreadable). */
int it_log_count(const char *logpath, const char *text);

/* Waits until logpath holds text at least n times, polling every 50 ms for
 * up to timeout_ms. Stops early when pid (> 0) has exited (it stays a
 * zombie for it_stop_pg2doris). Returns true when found; prints what it
 * waited for and the log's tail otherwise. No assertion. */
bool it_wait_log_n(pid_t pid, const char *logpath, const char *text, int n, int timeout_ms);
#define it_wait_log(pid, logpath, text, timeout_ms)                                                \
    it_wait_log_n((pid), (logpath), (text), 1, (timeout_ms))

/* True while pid runs (not exited, not a zombie). */
bool it_pid_alive(pid_t pid);

/* Sends sig to pid (0: none; just wait), waits up to timeout_ms for it to
 * exit, then SIGKILLs it. Returns the exit code, or 128 + signal. */
int it_stop_pg2doris(pid_t pid, int sig, int timeout_ms);

/* The source's current WAL position as text into out ("" on failure,
 * asserted): pg_current_wal_insert_lsn(), which is past the end of every
 * committed transaction. pg_current_wal_lsn() is the write position: with
 * synchronous_commit = off (the harness's cluster) it can still be before
 * the last commit, and a slot "caught up" with it may miss that commit. */
void it_pg_current_lsn(PGconn *conn, char *out, size_t outlen);

/* The replication slot the job's state under dir records (job.slot_name in
 * state.db) into out. Returns 0, or -1 when there is none yet. */
int it_state_slot(const char *dir, char *out, size_t outlen);

/* Waits up to timeout_ms until slot's confirmed_flush_lsn >= target (a
 * pg_lsn text from it_pg_current_lsn after the workload ended). Stops
 * early when pid (> 0, the streaming pg2doris) has exited. The connection
 * is reset when it broke (PostgreSQL restarted). Returns true when
 * reached; prints the last position seen otherwise. No assertion. */
bool it_wait_slot_flushed(PGconn *conn, const char *slot, const char *target, pid_t pid,
                          int timeout_ms);

/* Runs `pg2doris verify --full --source source --dest dest [extra...]`
 * (extra NULL-terminated, may be NULL) with output into logpath. Returns
 * the exit code; *out (when out is not NULL) gets the output (free it). */
int it_verify_full(const char *source, const char *dest, const char *const *extra,
                   const char *logpath, char **out);

/* VmHWM (peak resident set) of a running process in KiB, or -1. */
long long it_proc_vmhwm_kb(pid_t pid);

/* Compares the rows of pg_sql (source) and doris_sql (Doris database db)
 * value by value as text (it_doris_text forms, booleans as t / f;
 * PostgreSQL NULL is "<NULL>"): both must order their rows the same way. Prints the first
 * differences with label. Returns the number of differing or missing
 * rows (0: equal), or -1 when a query failed; *nrows (may be NULL) gets
 * the source row count. No assertion. */
long long it_compare_rows(PGconn *conn, const char *pg_sql, struct p2d_doris_sql *sql,
                          const char *db, const char *doris_sql, const char *label,
                          long long *nrows);

/* The columns of Doris table db.table (DESC), comma-joined, into out
 * ("<error>" when DESC fails). */
void it_doris_columns(struct p2d_doris_sql *sql, const char *db, const char *table, char *out,
                      size_t outlen);

#endif
