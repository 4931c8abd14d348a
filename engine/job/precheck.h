/*
 * precheck.h - the source and destination checks of DESIGN §5, shared by
 * `pg2doris precheck` (prints every item) and `pg2doris sync` (runs them
 * first, quietly unless something warns or fails, and refuses on a fail
 * before any slot or publication exists).
 *
 * Each item ends PASS, WARN or FAIL with a one-line finding and, unless it
 * passed, a hint saying how to fix it. A source or destination that cannot
 * be reached or refuses the credentials is not an item: the run stops with
 * one line and P2D_EXIT_SOURCE / P2D_EXIT_DEST. The evaluation of the
 * simple items is pure (p2d_precheck_eval_*) and unit-tested.
 */
#ifndef P2D_PRECHECK_H
#define P2D_PRECHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "job/job.h"

enum p2d_precheck_status {
    P2D_PRECHECK_PASS,
    P2D_PRECHECK_WARN,
    P2D_PRECHECK_FAIL,
};

struct p2d_precheck_item {
    enum p2d_precheck_status status;
    char item[48];      /* "wal_level", "table keys", ... */
    char finding[1536]; /* one line */
    char hint[1024];    /* one line, "" when nothing to do */
};

struct p2d_precheck_report {
    struct p2d_precheck_item *items;
    size_t nitems, cap;
    int exit_code;    /* enum p2d_exit: OK, PRECHECK, SOURCE, DEST or INTERNAL */
    char fatal[1536]; /* the single line when exit_code is SOURCE, DEST or INTERNAL */
};

struct p2d_precheck_opts {
    /* Report destination tables that already exist per --on-conflict. sync
     * leaves this to its schema step, which knows which tables its own
     * earlier run created (a resumed run finds them). */
    bool check_conflicts;
};

/*
 * Runs every check for job (borrowed until return) and fills rep (zero it
 * first; release with p2d_precheck_report_fini). Connects to the source and
 * the destination itself and closes both before returning. The only
 * destination statement with an effect is CREATE DATABASE IF NOT EXISTS on
 * the target database(s), which sync would run anyway. Returns the exit
 * code, also stored in rep->exit_code: P2D_EXIT_OK when no item failed,
 * P2D_EXIT_PRECHECK on a failed item, P2D_EXIT_SOURCE / P2D_EXIT_DEST (one
 * line in rep->fatal, no items after it) when a side is unreachable or
 * refuses the credentials, P2D_EXIT_INTERNAL on allocation failure.
 */
int p2d_precheck_run(const struct p2d_job *job, const struct p2d_precheck_opts *opts,
                     struct p2d_precheck_report *rep);

void p2d_precheck_report_fini(struct p2d_precheck_report *rep);

/*
 * Prints rep: for exit codes SOURCE / DEST / INTERNAL the fatal line to err;
 * otherwise a table (status, item, finding, hint) and a summary line to out.
 * problems_only prints only WARN and FAIL items (and the summary only when
 * there are some), for sync. No secrets are in rep to print.
 */
void p2d_precheck_print(const struct p2d_precheck_report *rep, FILE *out, FILE *err,
                        bool problems_only);

/* "PASS", "WARN", "FAIL". */
const char *p2d_precheck_status_name(enum p2d_precheck_status s);

/* ---- pure evaluations (unit-tested) ------------------------------------- */

/* wal_level as SHOW wal_level prints it: "logical" passes, anything else
 * fails with the ALTER SYSTEM hint. */
void p2d_precheck_eval_wal_level(const char *value, struct p2d_precheck_item *out);

/* server_version in PQserverVersion form (e.g. 160002): 10 to 17 pass. */
void p2d_precheck_eval_version(int server_version, struct p2d_precheck_item *out);

/* The role's right to create a replication slot: superuser or REPLICATION
 * passes; membership in a cloud provider's replication role (cloud_role,
 * "" when none) warns, since it cannot be verified before trying; else
 * fails. role is the role name, for the hint. */
void p2d_precheck_eval_replication(const char *role, bool superuser, bool replication,
                                   const char *cloud_role, struct p2d_precheck_item *out);

/* A pool of max slots / wal senders of which used are taken and need are
 * required: fails when fewer than need are free, warns when exactly need
 * are free (nothing left for anyone else), else passes. what names it
 * ("replication slots") and setting the GUC ("max_replication_slots"). */
void p2d_precheck_eval_capacity(const char *what, const char *setting, long used, long max,
                                long need, struct p2d_precheck_item *out);

/* Items p2d_precheck_eval_identity may write. */
#define P2D_PRECHECK_IDENTITY_ITEMS 3

struct p2d_catalog;

/*
 * The replica identity items for the selected tables of cat (borrowed),
 * under job's --mode and job file (which decide each table's Doris model).
 * A partitioned table is judged by its leaves, where UPDATE and DELETE run.
 *   "replica identity": tables with no usable identity (NOTHING, or DEFAULT
 *     without a primary key): FAIL with incremental (UPDATE / DELETE fail at
 *     the source once published, or would be lost); without incremental a
 *     WARN (they fail while the full load's publication exists).
 * With incremental also:
 *   "keyless tables": Duplicate-model tables not REPLICA IDENTITY FULL:
 *     FAIL (without a key an UPDATE / DELETE names no row). Such a table is
 *     listed here only, not under "replica identity".
 *   "unchanged TOAST": Unique-model tables with TOAST-able columns and no
 *     REPLICA IDENTITY FULL: PASS, with the note that unchanged TOAST values
 *     are applied as Doris partial-column updates and FULL is the
 *     alternative.
 * Writes the items to out and returns their number (1 or 3). Pure.
 */
size_t p2d_precheck_eval_identity(const struct p2d_job *job, const struct p2d_catalog *cat,
                                  struct p2d_precheck_item out[P2D_PRECHECK_IDENTITY_ITEMS]);

#endif
