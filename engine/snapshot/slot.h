/*
 * slot.h - the consistent cut of a sync (docs/pg-replication.md §1, §6,
 * §7.1, §9.1): a publication for the selected tables, a logical slot with
 * an exported snapshot, and a holder session that imports the snapshot,
 * locks the tables against TRUNCATE and rewrites, and re-exports it (S2)
 * for the readers. Rows committed before the consistent point C are in S2;
 * the slot streams everything committed at or after C.
 *
 * Names: slot and publication are both "p2d_<jobid>".
 *
 * Ownership: a struct p2d_slot and the PGconns inside it belong to the
 * thread that created it (the control thread); readers get only the
 * snapshot name S2.
 */
#ifndef P2D_SLOT_H
#define P2D_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "snapshot/pgconn.h"

#define P2D_SLOT_PREFIX   "p2d_"
#define P2D_SLOT_NAME_MAX 64 /* NAMEDATALEN: 63 bytes and the NUL */

/* One selected table (the root of a partitioned table, never a leaf). */
struct p2d_slot_table {
    const char *schema;
    const char *name;
};

struct p2d_slot_opts {
    const char *conninfo; /* libpq conninfo or URI; never printed */
    const char *job_id;   /* [a-z0-9_], at most 59 bytes: names are "p2d_<job_id>" */
    const struct p2d_slot_table *tables;
    size_t ntables;        /* at least 1 */
    int lock_timeout_ms;   /* wait for ACCESS SHARE locks; 0 means 10000 */
    const char *app_name;  /* NULL: "pg2doris" */
    bool keep_replication; /* keep the replication connection for START_REPLICATION */
    /* Resume of a job that streams: the slot exists already (it must, or
     * the cut fails) and keeps its consistent point reuse_lsn; the holder
     * takes a fresh snapshot instead of the slot's. Rows read under it may
     * be newer than reuse_lsn; the stream from reuse_lsn replays those
     * changes over them, which converges on keyed (Unique) tables. */
    bool reuse_slot;
    uint64_t reuse_lsn;
};

/* What the cut is; store it with the job state. */
struct p2d_slot_cut {
    char slot_name[P2D_SLOT_NAME_MAX];
    char publication[P2D_SLOT_NAME_MAX];
    char systemid[32];
    uint32_t timeline;
    int server_version;        /* PQserverVersion(), e.g. 150018 */
    uint64_t consistent_point; /* C */
    char slot_snapshot[64];    /* S, dead once the replication connection runs anything */
    char snapshot[64];         /* S2, exported by the holder: what readers import */
    bool created_publication;  /* this call created the publication */
    double create_seconds;     /* time CREATE_REPLICATION_SLOT took (§1.6) */
};

struct p2d_slot;

/* Builds the "p2d_<job_id>" name into out (P2D_SLOT_NAME_MAX bytes).
 * P2D_EINVAL when job_id is empty, too long or not [a-z0-9_]. Pure. */
int p2d_slot_name(const char *job_id, char *out, size_t outlen) __attribute__((warn_unused_result));

/*
 * Makes the cut: creates the publication if missing (adding missing tables
 * to an existing one), creates the slot with an exported snapshot, opens
 * the holder (REPEATABLE READ READ ONLY, SET TRANSACTION SNAPSHOT, LOCK
 * TABLE ... IN ACCESS SHARE MODE, pg_export_snapshot()). A lock that cannot
 * be had within lock_timeout_ms fails with the blocking sessions named.
 * When anything fails after the slot exists, the slot (and a publication
 * this call created) are dropped again: a failed cut leaves nothing behind.
 * On success *out is owned by the caller (p2d_slot_destroy).
 */
int p2d_slot_create(const struct p2d_slot_opts *opts, struct p2d_slot **out,
                    struct p2d_pg_error *err) __attribute__((warn_unused_result));

/* The cut; valid until p2d_slot_destroy. */
const struct p2d_slot_cut *p2d_slot_cut(const struct p2d_slot *s);

/* The holder session, borrowed: plan inside it (it runs in the snapshot).
 * Never COMMIT it directly; use p2d_slot_release. */
PGconn *p2d_slot_holder(struct p2d_slot *s);

/* Hands the replication connection to the caller (NULL unless
 * keep_replication); the slot object forgets it. */
PGconn *p2d_slot_take_replication(struct p2d_slot *s);

/* Ends the holder's transaction (COMMIT) after every reader finished: the
 * locks go, S2 cannot be imported any more. */
int p2d_slot_release(struct p2d_slot *s, struct p2d_pg_error *err)
    __attribute__((warn_unused_result));

/* Closes the connections still owned (the slot itself stays). Accepts NULL. */
void p2d_slot_destroy(struct p2d_slot *s);

/*
 * Drops the slot "p2d_<job_id>" and the publication of the same name, each
 * if it exists, through conn (a normal session, borrowed). An active slot
 * is not dropped: P2D_ESOURCE with the walsender's pid in the message.
 * *slot_dropped / *pub_dropped (may be NULL) say what existed.
 */
int p2d_slot_drop(PGconn *conn, const char *job_id, bool *slot_dropped, bool *pub_dropped,
                  struct p2d_pg_error *err) __attribute__((warn_unused_result));

struct p2d_slot_status {
    bool exists;
    bool active;
    int active_pid;
    bool logical_pgoutput; /* plugin is pgoutput */
    bool same_database;    /* the slot's database is conn's */
    char wal_status[16];   /* reserved | extended | unreserved | lost | "" before PG13 */
    uint64_t restart_lsn;  /* 0 when NULL */
    uint64_t confirmed_flush_lsn;
};

/* Reads pg_replication_slots for slot_name through conn (borrowed). */
int p2d_slot_status(PGconn *conn, const char *slot_name, struct p2d_slot_status *st,
                    struct p2d_pg_error *err) __attribute__((warn_unused_result));

/* A session whose transaction holds an XID (slot creation waits for it,
 * §1.6), or a prepared transaction (pid 0; it waits forever). */
struct p2d_xid_holder {
    int pid;
    bool prepared;
    bool idle_in_transaction;
    double age_seconds; /* since xact_start (prepared: since PREPARE) */
    char datname[64];
    char usename[64];
    char xact_start[40];
    char query[160]; /* leading part of the last query, or the gid */
};

enum p2d_check_result {
    P2D_CHECK_PASS,
    P2D_CHECK_WARN,
    P2D_CHECK_FAIL,
};

/*
 * Precheck item "no long transactions that would block slot creation".
 * Lists up to cap holders (oldest first) older than min_age_seconds into
 * out (may be NULL with cap 0), *total = how many there are. The verdict:
 * FAIL for prepared transactions and sessions idle in transaction, WARN
 * for running ones (slot creation waits for them), PASS when none. msg
 * gets one line naming them (pid, xact_start, query) with a hint.
 * conn is borrowed. Returns 0 or a negative error (err filled).
 */
int p2d_slot_check_xid_holders(PGconn *conn, double min_age_seconds, struct p2d_xid_holder *out,
                               size_t cap, size_t *total, enum p2d_check_result *verdict, char *msg,
                               size_t msglen, struct p2d_pg_error *err)
    __attribute__((warn_unused_result));

#endif
