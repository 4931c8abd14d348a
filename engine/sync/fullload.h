/*
 * fullload.h - `pg2doris sync --mode schema,full`: the first half of a
 * sync, from a validated job to Doris tables holding the source's rows.
 *
 * Steps: connect to the source and the destination (clear failures with
 * their exit codes), open the state (--state DIR), read the catalog, make
 * the consistent cut (publication + slot + holder, snapshot/slot.h), plan
 * every table's ranges inside the holder and persist them, create the
 * destination tables (schema/schema_sync.h), then read every unfinished
 * range with the reader threads and load it with the writer thread, one
 * Stream Load and one recorded label per range. The calling thread is the
 * control thread: it owns the state, hands ranges to the readers, receives
 * the writer's outcomes through a mutex + condition variable queue, retries
 * with backoff, prints progress and the summary.
 *
 * Resume (engine/README.md, "Resume after a crash"): a state with a saved
 * plan keeps its DONE ranges; every other range is read again under a NEW
 * snapshot from a new cut. Without incremental in --mode the slot and the
 * publication are dropped when the run ends (success, failure or signal).
 */
#ifndef P2D_FULLLOAD_H
#define P2D_FULLLOAD_H

#include "job/job.h"

/*
 * Runs the schema and / or full-load steps of job (P2D_MODE_SCHEMA,
 * P2D_MODE_FULL; P2D_MODE_INCREMENTAL must be clear: the caller refuses
 * it). Installs SIGINT / SIGTERM handlers for the run. Borrows job until
 * return. Returns a process exit code (enum p2d_exit): OK, PRECHECK,
 * SOURCE, DEST, STATE, INTERRUPT or INTERNAL; the reason has been logged.
 */
int p2d_fullload_run(const struct p2d_job *job);

#endif
