/*
 * state.h - a job's durable state: SQLite in DIR/state.db (--state DIR).
 *
 * What it holds: the job row (fingerprint, source system id, slot,
 * publication, exported snapshot, consistent point, acked LSN, phase), the
 * tables and their planned ranges with status, every Stream Load label
 * (recorded before the load is sent, DESIGN §4 invariant 2), and progress
 * counters.
 *
 * THREADS: one owner. The control thread opens the store and makes every
 * call; other threads (readers, writer, WAL) send it events instead of
 * touching the store. Each call checks that it runs on the opening thread
 * and fails with P2D_EINVAL otherwise.
 *
 * DURABILITY: WAL journal, synchronous=FULL; every state change is one
 * transaction that is on disk when the call returns. After kill -9 the
 * store reopens as of the last returned call; ranges left RUNNING are the
 * unfinished ones (p2d_state_unfinished_ranges) and loads left SENT are in
 * doubt (p2d_state_loads_in_doubt): their labels must be asked of Doris
 * before anything is re-sent.
 *
 * A lock file (DIR/state.lock, flock) keeps a second pg2doris process off a
 * state directory in use; the kernel drops it when the owner dies.
 *
 * Errors: functions return 0 or a negative P2D_E*; the message (lower case,
 * with a hint where one helps) is in p2d_state_errmsg().
 */
#ifndef P2D_STATE_H
#define P2D_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct p2d_state;

/* The version of the store's schema this build writes. */
#define P2D_STATE_SCHEMA_VERSION 2 /* 2: ranges.kind */

enum p2d_state_phase {
    P2D_PHASE_NEW = 0,     /* created, nothing done at the source yet */
    P2D_PHASE_SCHEMA,      /* slot made, creating destination tables */
    P2D_PHASE_FULL,        /* full load running */
    P2D_PHASE_INCREMENTAL, /* streaming from the WAL */
    P2D_PHASE_DONE,        /* finished (schema / full only jobs) */
};

enum p2d_range_status {
    P2D_RANGE_PLANNED = 0,
    P2D_RANGE_RUNNING,
    P2D_RANGE_DONE,
};

/*
 * What a range reads. ROWS: a part of the table under the cut's snapshot.
 * CHANGES: the rows of a ctid-planned table changed since the first cut
 * (see engine/README.md, "Resume after a crash"): saved DONE, since the
 * first cut needs none, and reopened by a resumed run that reads ROWS
 * ranges of the table again under a new snapshot.
 */
enum p2d_range_kind {
    P2D_RANGE_ROWS = 0,
    P2D_RANGE_CHANGES,
};

enum p2d_load_status {
    P2D_LOAD_STATUS_SENT = 0, /* recorded; may or may not have reached Doris */
    P2D_LOAD_STATUS_DONE,     /* Doris confirmed (Success, or label exists and finished) */
    P2D_LOAD_STATUS_FAILED,   /* Doris refused the data; the label may be reused */
};

enum p2d_state_model { P2D_STATE_UNIQUE = 0, P2D_STATE_DUPLICATE };

struct p2d_state_table {
    int64_t table_id; /* chosen by the planner, > 0, unique in the plan */
    char src_schema[128];
    char src_table[128];
    char dest_db[128];
    char dest_table[256];
    enum p2d_state_model model;
    bool schema_synced;
    /* ctid-split tables: "<md5 of the leaves' oid:relfilenode>:<cut xmin>",
     * what a resumed run checks before it trusts the done block ranges
     * (see engine/README.md, "Resume after a crash"); "" otherwise */
    char guard[64];
};

struct p2d_state_range {
    int64_t table_id;
    int64_t range_id;   /* unique within the table, >= 0 */
    char *predicate;    /* SQL condition selecting the range ("" = whole table) */
    char *label_prefix; /* loads of this range use labels starting with it */
    enum p2d_range_status status;
    int64_t rows;             /* rows loaded (set when DONE) */
    int64_t bytes;            /* bytes loaded (set when DONE) */
    int attempts;             /* times it went PLANNED -> RUNNING */
    enum p2d_range_kind kind; /* saved PLANNED when ROWS, DONE when CHANGES */
};

struct p2d_state_plan {
    struct p2d_state_table *tables;
    size_t ntables;
    struct p2d_state_range *ranges; /* ordered by table_id, range_id when loaded */
    size_t nranges;
};

struct p2d_state_job {
    char fingerprint[64];
    int64_t created;           /* unix seconds */
    char source_system_id[32]; /* "" until set */
    char slot_name[64];        /* "" until set */
    char publication_name[64];
    char snapshot_name[64];
    uint64_t consistent_lsn; /* 0 until set */
    uint64_t acked_lsn;
    enum p2d_state_phase phase;
};

/*
 * Opens DIR/state.db, creating DIR and the store if missing (*created then
 * true). fingerprint is p2d_job_fingerprint(); canonical (may be NULL) is
 * p2d_job_canonical() and is kept so that a later mismatch can name the
 * parts of the job that changed. A store made for another fingerprint is
 * refused with P2D_ESTATE and an explanation in err; a store from a newer
 * pg2doris, a locked directory, or an unusable file also gives P2D_ESTATE.
 * On success *out is the store (close with p2d_state_close), owned by the
 * calling thread.
 */
int p2d_state_open(const char *dir, const char *fingerprint, const char *canonical,
                   struct p2d_state **out, bool *created, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Closes the store and releases the directory lock. Accepts NULL. */
void p2d_state_close(struct p2d_state *st);

/* Message of the last failed call; valid until the next call. */
const char *p2d_state_errmsg(const struct p2d_state *st);

/* ---- job row ----------------------------------------------------------- */

int p2d_state_job_get(struct p2d_state *st, struct p2d_state_job *out)
    __attribute__((warn_unused_result));

/* Records the source's system identifier; refuses (P2D_ESTATE) a different
 * one than recorded before: the state belongs to another cluster. */
int p2d_state_set_source_system_id(struct p2d_state *st, const char *system_id)
    __attribute__((warn_unused_result));

/* Records slot, publication and consistent point once; the same values
 * again are accepted, different ones refused (P2D_ESTATE). */
int p2d_state_set_slot(struct p2d_state *st, const char *slot, const char *publication,
                       uint64_t consistent_lsn) __attribute__((warn_unused_result));

/* Records the exported snapshot name (replaced on each run: a snapshot
 * lives only as long as its holder connection). */
int p2d_state_set_snapshot(struct p2d_state *st, const char *snapshot_name)
    __attribute__((warn_unused_result));

/* Moves the phase forward; the same phase is a no-op, going back is refused
 * (P2D_EINVAL). */
int p2d_state_set_phase(struct p2d_state *st, enum p2d_state_phase phase)
    __attribute__((warn_unused_result));

/* ---- plan ---------------------------------------------------------------- */

/*
 * Saves tables and ranges in one transaction; every range starts PLANNED
 * with 0 attempts whatever plan says. Refused (P2D_EINVAL) if a plan is
 * already saved, if a range names a table not in the plan, or on duplicate
 * ids. plan is borrowed until return.
 */
int p2d_state_plan_save(struct p2d_state *st, const struct p2d_state_plan *plan)
    __attribute__((warn_unused_result));

/* True in *saved if a plan exists. */
int p2d_state_plan_exists(struct p2d_state *st, bool *saved) __attribute__((warn_unused_result));

/* Loads the saved plan (empty if none) into *plan, which the caller frees
 * with p2d_state_plan_free. */
int p2d_state_plan_load(struct p2d_state *st, struct p2d_state_plan *plan)
    __attribute__((warn_unused_result));
void p2d_state_plan_free(struct p2d_state_plan *plan);

int p2d_state_table_set_schema_synced(struct p2d_state *st, int64_t table_id)
    __attribute__((warn_unused_result));

/*
 * The one way a range changes status. Allowed transitions:
 *   PLANNED -> RUNNING  (a reader took it; attempts + 1)
 *   RUNNING -> PLANNED  (given back after a failure or a crash)
 *   RUNNING -> DONE     (rows and bytes recorded; every load recorded for the
 *                        range must be DONE)
 * Anything else, an unknown range, or a DONE with loads not DONE is refused
 * with P2D_EINVAL and a message naming both states.
 */
int p2d_state_range_set(struct p2d_state *st, int64_t table_id, int64_t range_id,
                        enum p2d_range_status to, int64_t rows, int64_t bytes)
    __attribute__((warn_unused_result));

/*
 * Gives a range a new label prefix and sets it PLANNED, whatever its
 * status: a resumed run must read it under its own snapshot (a CHANGES
 * range; any range of a table rewritten since the first cut), and a label
 * Doris may have committed under an older one cannot be reused. Rows and
 * bytes go back to 0; the range's loads not DONE (older labels, never to be
 * confirmed now) are forgotten, so that the new label alone decides its
 * DONE. P2D_EINVAL for an unknown range.
 */
int p2d_state_range_reopen(struct p2d_state *st, int64_t table_id, int64_t range_id,
                           const char *label_prefix) __attribute__((warn_unused_result));

/* Ranges left RUNNING (interrupted); same ownership as plan_load. */
int p2d_state_unfinished_ranges(struct p2d_state *st, struct p2d_state_range **ranges, size_t *n)
    __attribute__((warn_unused_result));
void p2d_state_ranges_free(struct p2d_state_range *ranges, size_t n);

/* Whether a range counts in progress and status: every range but a
 * CHANGES range left DONE (it has nothing to read; a reopened one counts).
 * p2d_state_range_counts applies the same rule. */
static inline bool p2d_state_range_counted(const struct p2d_state_range *r)
{
    return !(r->kind == P2D_RANGE_CHANGES && r->status == P2D_RANGE_DONE);
}

/* Counts of ranges per status, over the whole plan, of the ranges
 * p2d_state_range_counted counts. */
int p2d_state_range_counts(struct p2d_state *st, int64_t counts[3])
    __attribute__((warn_unused_result));

/* ---- loads (labels) -------------------------------------------------------- */

/*
 * Records label as SENT for table_id / range_id (range_id -1: not a range,
 * e.g. a CDC batch) and makes it durable; call BEFORE sending the load.
 * A label already SENT (a retry) or FAILED (a resend after a data fix) is
 * set SENT again with its attempt count raised; a label already DONE is not
 * touched and *already_done says so: the load must not be sent again. A
 * label recorded for another table or range is refused (P2D_EINVAL).
 */
int p2d_state_load_record(struct p2d_state *st, const char *label, int64_t table_id,
                          int64_t range_id, bool *already_done) __attribute__((warn_unused_result));

/* SENT -> DONE (txn_id, rows from Doris's answer) or SENT -> FAILED
 * (message kept, may be NULL). Anything else is refused (P2D_EINVAL). */
int p2d_state_load_finish(struct p2d_state *st, const char *label, enum p2d_load_status status,
                          int64_t txn_id, int64_t rows, const char *message)
    __attribute__((warn_unused_result));

/* Status of label into *status; P2D_EINVAL if unknown. */
int p2d_state_load_status(struct p2d_state *st, const char *label, enum p2d_load_status *status)
    __attribute__((warn_unused_result));

/* Deletes the DONE loads of range_id (-1: the stream's loads) and says how
 * many went in *removed (may be NULL). For labels nothing can replay any
 * more: the streamer calls it when every load is confirmed and acked. */
int p2d_state_loads_forget_done(struct p2d_state *st, int64_t range_id, int64_t *removed)
    __attribute__((warn_unused_result));

/* Labels left SENT: malloc'd array of malloc'd strings, free with
 * p2d_state_labels_free. */
int p2d_state_loads_in_doubt(struct p2d_state *st, char ***labels, size_t *n)
    __attribute__((warn_unused_result));
void p2d_state_labels_free(char **labels, size_t n);

/* ---- acked LSN and counters ------------------------------------------------- */

int p2d_state_lsn_get(struct p2d_state *st, uint64_t *lsn) __attribute__((warn_unused_result));

/* Moves the acked LSN forward (equal is a no-op). A smaller LSN is refused
 * with P2D_EINVAL: the flush position never goes back. */
int p2d_state_lsn_set(struct p2d_state *st, uint64_t lsn) __attribute__((warn_unused_result));

/* Adds delta to the named progress counter (created at 0). */
int p2d_state_counter_add(struct p2d_state *st, const char *name, int64_t delta)
    __attribute__((warn_unused_result));
int p2d_state_counter_get(struct p2d_state *st, const char *name, int64_t *value)
    __attribute__((warn_unused_result));

/* ---- administration: `pg2doris status` and `pg2doris drop` ------------------
 * Opening a store without knowing its job (status reads any store; drop
 * may be given only --source and --state), reading the lock's holder
 * without taking the lock, and removing the files the store owns.
 */

/*
 * Opens the existing DIR/state.db for reading only, without the directory
 * lock and without checking the fingerprint, so it works while a sync holds
 * the lock and writes. Creates nothing but SQLite's -wal / -shm companions
 * when they are missing. P2D_ESTATE (message in err) when DIR holds no
 * store, when it is unusable, or when a newer pg2doris wrote it. Calls that
 * write fail on such a store. Close with p2d_state_close.
 */
int p2d_state_open_readonly(const char *dir, struct p2d_state **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * For drop: takes the directory lock and opens DIR/state.db if it exists,
 * without checking the fingerprint. When DIR does not exist, *out is NULL,
 * *found false and nothing is created. Otherwise *out holds the lock (the
 * lock file is created if missing) and *found tells whether a store exists;
 * only then may the reading calls be used. A lock held by another process,
 * an unusable store or one from a newer pg2doris give P2D_ESTATE with err
 * filled. Release with p2d_state_forget or p2d_state_close.
 */
int p2d_state_open_for_drop(const char *dir, struct p2d_state **out, bool *found, char *err,
                            size_t errlen) __attribute__((warn_unused_result));

/*
 * Closes st (from p2d_state_open_for_drop) and removes the files the store
 * owns, while still holding the lock: state.db and its -wal, -shm and
 * -journal companions, then state.lock; then DIR itself if that left it
 * empty. Other files in DIR are never touched. *nremoved counts the files
 * removed, *dir_removed says whether DIR went too. st is freed whatever the
 * result. Returns 0, or P2D_ESTATE with err naming the file that could not
 * be removed.
 */
int p2d_state_forget(struct p2d_state *st, int *nremoved, bool *dir_removed, char *err,
                     size_t errlen) __attribute__((warn_unused_result));

/*
 * The process holding the lock of DIR, found in /proc/locks without taking
 * the lock: *pid > 0 when one holds it, 0 when none does. Returns 0, or
 * P2D_EIO when that cannot be told (no /proc/locks: not Linux); *pid is
 * then 0.
 */
int p2d_state_lock_holder(const char *dir, long *pid) __attribute__((warn_unused_result));

/* The canonical job text stored at creation (p2d_job_canonical) into *out,
 * malloc'd, or NULL when the store has none. */
int p2d_state_job_canonical(struct p2d_state *st, char **out) __attribute__((warn_unused_result));

struct p2d_state_counter {
    char *name;
    int64_t value;
};

/* Every progress counter, ordered by name: *out is a malloc'd array (NULL
 * when there are none); free it with p2d_state_counters_free. */
int p2d_state_counters_list(struct p2d_state *st, struct p2d_state_counter **out, size_t *n)
    __attribute__((warn_unused_result));
void p2d_state_counters_free(struct p2d_state_counter *c, size_t n);

#endif
