/*
 * state.c - the job's state in SQLite (see state.h for the contract).
 *
 * DESIGN: one connection, owned by the control thread. Every public call
 * that changes something runs BEGIN IMMEDIATE ... COMMIT; with the WAL
 * journal and synchronous=FULL the COMMIT has reached the disk when the call
 * returns, so "recorded before sent" (labels) and "acked after confirmed"
 * (LSN) hold across kill -9 and power loss. Statuses are stored as words
 * (PLANNED, SENT, ...) so that `sqlite3 state.db` reads plainly during an
 * incident. LSNs are uint64 stored bit for bit in SQLite's int64.
 */
#include "control/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h> /* major(), minor(): p2d_state_lock_holder */
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "p2d_error.h"

struct p2d_state {
    sqlite3 *db;
    int lock_fd;
    pthread_t owner;
    char dir[PATH_MAX];
    char err[1024];
    int version; /* of the store's schema; a read-only handle may see an older one */
};

static const char *const range_status_names[] = {"PLANNED", "RUNNING", "DONE"};
static const char *const load_status_names[] = {"SENT", "DONE", "FAILED"};
static const char *const model_names[] = {"unique", "duplicate"};

static const char schema_sql[] =
    "CREATE TABLE schema_version (version INTEGER NOT NULL);"
    "CREATE TABLE job ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " fingerprint TEXT NOT NULL,"
    " canonical TEXT,"
    " created INTEGER NOT NULL,"
    " source_system_id TEXT NOT NULL DEFAULT '',"
    " slot_name TEXT NOT NULL DEFAULT '',"
    " publication_name TEXT NOT NULL DEFAULT '',"
    " snapshot_name TEXT NOT NULL DEFAULT '',"
    " consistent_lsn INTEGER NOT NULL DEFAULT 0,"
    " acked_lsn INTEGER NOT NULL DEFAULT 0,"
    " phase INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE tables ("
    " table_id INTEGER PRIMARY KEY CHECK (table_id > 0),"
    " src_schema TEXT NOT NULL,"
    " src_table TEXT NOT NULL,"
    " dest_db TEXT NOT NULL,"
    " dest_table TEXT NOT NULL,"
    " model TEXT NOT NULL CHECK (model IN ('unique', 'duplicate')),"
    " schema_synced INTEGER NOT NULL DEFAULT 0,"
    " guard TEXT NOT NULL DEFAULT '',"
    " UNIQUE (src_schema, src_table));"
    "CREATE TABLE ranges ("
    " table_id INTEGER NOT NULL REFERENCES tables (table_id),"
    " range_id INTEGER NOT NULL CHECK (range_id >= 0),"
    " predicate TEXT NOT NULL,"
    " label_prefix TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('PLANNED', 'RUNNING', 'DONE')),"
    " rows INTEGER NOT NULL DEFAULT 0,"
    " bytes INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " updated INTEGER NOT NULL,"
    " kind INTEGER NOT NULL DEFAULT 0 CHECK (kind IN (0, 1)),"
    " PRIMARY KEY (table_id, range_id));"
    "CREATE TABLE loads ("
    " label TEXT PRIMARY KEY,"
    " table_id INTEGER NOT NULL REFERENCES tables (table_id),"
    " range_id INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('SENT', 'DONE', 'FAILED')),"
    " attempts INTEGER NOT NULL DEFAULT 1,"
    " txn_id INTEGER,"
    " rows INTEGER,"
    " message TEXT,"
    " sent INTEGER NOT NULL,"
    " finished INTEGER);"
    "CREATE INDEX loads_by_range ON loads (table_id, range_id);"
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

static void seterr(struct p2d_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void seterr(struct p2d_state *st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(st->err, sizeof(st->err), fmt, ap);
    va_end(ap);
}

/* Records SQLite's complaint; constraint violations are the caller's fault
 * (P2D_EINVAL), the rest is the store's (P2D_ESTATE). */
static int sqlerr(struct p2d_state *st, const char *what)
{
    int code = sqlite3_errcode(st->db);

    seterr(st, "state in \"%s\": %s: %s", st->dir, what, sqlite3_errmsg(st->db));
    return (code & 0xff) == SQLITE_CONSTRAINT ? P2D_EINVAL : P2D_ESTATE;
}

static int exec(struct p2d_state *st, const char *sql)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return sqlerr(st, sql);
    return 0;
}

static int begin(struct p2d_state *st)
{
    return exec(st, "BEGIN IMMEDIATE");
}

static int commit(struct p2d_state *st)
{
    return exec(st, "COMMIT");
}

static void rollback(struct p2d_state *st)
{
    if (st->db && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Prepares sql; NULL with the error recorded on failure. */
static sqlite3_stmt *prep(struct p2d_state *st, const char *sql)
{
    sqlite3_stmt *s = NULL;

    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        sqlerr(st, "prepare");
        return NULL;
    }
    return s;
}

/* Steps a statement that returns no rows, then finalizes it. */
static int run(struct p2d_state *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : sqlerr(st, what);

    sqlite3_finalize(s);
    return rc;
}

static bool owned(struct p2d_state *st)
{
    if (pthread_equal(pthread_self(), st->owner))
        return true;
    seterr(st, "state store used from a thread that does not own it; hint: send the control "
               "thread an event instead (this is a bug)");
    return false;
}

#define OWNED(st)                                                                                  \
    do {                                                                                           \
        if (!owned(st))                                                                            \
            return P2D_EINVAL;                                                                     \
        (st)->err[0] = '\0';                                                                       \
    } while (0)

const char *p2d_state_errmsg(const struct p2d_state *st)
{
    return st->err;
}

static int64_t now(void)
{
    return (int64_t)time(NULL);
}

static void copy_col(sqlite3_stmt *s, int col, char *out, size_t outlen)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    snprintf(out, outlen, "%s", t ? (const char *)t : "");
}

static char *dup_col(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    return strdup(t ? (const char *)t : "");
}

/* ---- open / close ---------------------------------------------------------- */

/* mkdir -p with mode 0700 for created levels. */
static int make_dirs(const char *dir)
{
    char path[PATH_MAX];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(path))
        return -1;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] == '/' || path[i] == '\0') {
            char c = path[i];

            path[i] = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST)
                return -1;
            path[i] = c;
        }
    }
    return 0;
}

/* The top-level members of two canonical job texts that differ, as
 * "include, tables" into out ("" when unknown). */
static void changed_parts(const char *old_text, const char *new_text, char *out, size_t outlen)
{
    json_t *a = old_text ? json_loads(old_text, 0, NULL) : NULL;
    json_t *b = new_text ? json_loads(new_text, 0, NULL) : NULL;
    const char *key;
    json_t *v;
    size_t len = 0;

    out[0] = '\0';
    if (json_is_object(a) && json_is_object(b)) {
        json_object_foreach(a, key, v)
        {
            json_t *w = json_object_get(b, key);

            if (!w || !json_equal(v, w))
                len += (size_t)snprintf(out + len, len < outlen ? outlen - len : 0, "%s%s",
                                        len ? ", " : "", key);
        }
        json_object_foreach(b, key, v)
        {
            if (!json_object_get(a, key))
                len += (size_t)snprintf(out + len, len < outlen ? outlen - len : 0, "%s%s",
                                        len ? ", " : "", key);
        }
    }
    json_decref(a);
    json_decref(b);
}

static int create_schema(struct p2d_state *st, const char *fingerprint, const char *canonical)
{
    sqlite3_stmt *s;
    char sql[64];
    int rc;

    if ((rc = exec(st, schema_sql)) != 0)
        return rc;
    st->version = P2D_STATE_SCHEMA_VERSION;
    snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d)", P2D_STATE_SCHEMA_VERSION);
    if ((rc = exec(st, sql)) != 0)
        return rc;
    if (!(s = prep(st,
                   "INSERT INTO job (id, fingerprint, canonical, created) VALUES (1, ?, ?, ?)")))
        return P2D_ESTATE;
    sqlite3_bind_text(s, 1, fingerprint, -1, SQLITE_STATIC);
    if (canonical)
        sqlite3_bind_text(s, 2, canonical, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now());
    return run(st, s, "create job row");
}

/* Checks version and fingerprint of an existing store. */
static int check_existing(struct p2d_state *st, const char *fingerprint, const char *canonical)
{
    sqlite3_stmt *s;
    int version = 0, rc = 0;
    char old_fp[64] = "";
    char *old_canonical = NULL;

    if (!(s = prep(st, "SELECT version FROM schema_version")))
        return P2D_ESTATE;
    if (sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version > P2D_STATE_SCHEMA_VERSION) {
        seterr(st,
               "state in \"%s\" was written by a newer pg2doris (state version %d, this build "
               "knows %d); hint: run the newer pg2doris",
               st->dir, version, P2D_STATE_SCHEMA_VERSION);
        return P2D_ESTATE;
    }
    if (version < 1) {
        seterr(st, "state in \"%s\" is damaged (no schema version); hint: use another --state DIR",
               st->dir);
        return P2D_ESTATE;
    }
    if (version == 1) {
        /* 1 -> 2: ranges.kind; every range of a version 1 plan reads rows */
        rc = exec(st, "ALTER TABLE ranges ADD COLUMN kind INTEGER NOT NULL DEFAULT 0 "
                      "CHECK (kind IN (0, 1));"
                      "ALTER TABLE tables ADD COLUMN guard TEXT NOT NULL DEFAULT '';"
                      "UPDATE schema_version SET version = 2;");
        if (rc != 0)
            return rc;
        version = 2;
    }
    st->version = version;
    if (!(s = prep(st, "SELECT fingerprint, canonical FROM job WHERE id = 1")))
        return P2D_ESTATE;
    if (sqlite3_step(s) == SQLITE_ROW) {
        copy_col(s, 0, old_fp, sizeof(old_fp));
        if (sqlite3_column_type(s, 1) != SQLITE_NULL)
            old_canonical = dup_col(s, 1);
    }
    sqlite3_finalize(s);
    if (!old_fp[0]) {
        seterr(st, "state in \"%s\" is damaged (no job row); hint: use another --state DIR",
               st->dir);
        rc = P2D_ESTATE;
    } else if (strcmp(old_fp, fingerprint) != 0) {
        char parts[256];

        changed_parts(old_canonical, canonical, parts, sizeof(parts));
        seterr(st,
               "state in \"%s\" belongs to another job (fingerprint %s, this job %s)%s%s; hint: "
               "use another --state DIR, or run \"pg2doris drop\" to forget the old job",
               st->dir, old_fp, fingerprint, parts[0] ? "; changed: " : "", parts);
        rc = P2D_ESTATE;
    }
    free(old_canonical);
    return rc;
}

static int lock_dir(struct p2d_state *st)
{
    char path[PATH_MAX + 16], pid[32];
    ssize_t n;

    snprintf(path, sizeof(path), "%s/state.lock", st->dir);
    st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->lock_fd < 0) {
        seterr(st, "cannot open \"%s\": %s; hint: check the permissions of --state DIR", path,
               strerror(errno));
        return P2D_ESTATE;
    }
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        n = pread(st->lock_fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        seterr(st,
               "state in \"%s\" is in use by another pg2doris process%s%s%s; hint: stop it, or "
               "use another --state DIR",
               st->dir, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
        return P2D_ESTATE;
    }
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(st->lock_fd, 0) != 0 || pwrite(st->lock_fd, pid, (size_t)n, 0) != n) {
        seterr(st, "cannot write \"%s\": %s", path, strerror(errno));
        return P2D_ESTATE;
    }
    return 0;
}

int p2d_state_open(const char *dir, const char *fingerprint, const char *canonical,
                   struct p2d_state **out, bool *created, char *err, size_t errlen)
{
    struct p2d_state *st = calloc(1, sizeof(*st));
    char path[PATH_MAX + 16];
    sqlite3_stmt *s;
    bool exists = false;
    int rc;

    *out = NULL;
    *created = false;
    if (errlen)
        err[0] = '\0';
    if (!st)
        return P2D_ENOMEM;
    st->lock_fd = -1;
    st->owner = pthread_self();
    if (strlen(dir) >= sizeof(st->dir) - 16) {
        snprintf(err, errlen, "--state directory name is too long");
        free(st);
        return P2D_EINVAL;
    }
    snprintf(st->dir, sizeof(st->dir), "%s", dir);
    if (make_dirs(dir) != 0) {
        snprintf(err, errlen, "cannot create state directory \"%s\": %s; hint: check --state", dir,
                 strerror(errno));
        free(st);
        return P2D_ESTATE;
    }
    if ((rc = lock_dir(st)) != 0)
        goto fail;
    snprintf(path, sizeof(path), "%s/state.db", dir);
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = st->db ? sqlerr(st, "open") : P2D_ENOMEM;
        rc = rc == P2D_ENOMEM ? rc : P2D_ESTATE;
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 5000);
    /* WAL: a commit is one append + fsync; FULL: fsync on every commit. */
    if ((rc = exec(st, "PRAGMA journal_mode = WAL")) != 0 ||
        (rc = exec(st, "PRAGMA synchronous = FULL")) != 0 ||
        (rc = exec(st, "PRAGMA foreign_keys = ON")) != 0)
        goto fail_state;
    if ((rc = begin(st)) != 0)
        goto fail_state;
    if (!(s = prep(st, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                       "name = 'schema_version'"))) {
        rc = P2D_ESTATE;
        goto fail_state;
    }
    exists = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    if (exists)
        rc = check_existing(st, fingerprint, canonical);
    else
        rc = create_schema(st, fingerprint, canonical);
    if (rc == 0)
        rc = commit(st);
    if (rc != 0)
        goto fail_state;
    *created = !exists;
    *out = st;
    return 0;

fail_state:
    rc = P2D_ESTATE;
fail:
    rollback(st);
    snprintf(err, errlen, "%s", st->err);
    p2d_state_close(st);
    return rc;
}

void p2d_state_close(struct p2d_state *st)
{
    if (!st)
        return;
    if (st->db)
        sqlite3_close(st->db);
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* drops the flock */
    free(st);
}

/* ---- job row --------------------------------------------------------------- */

int p2d_state_job_get(struct p2d_state *st, struct p2d_state_job *out)
{
    sqlite3_stmt *s;
    int rc = 0;

    OWNED(st);
    memset(out, 0, sizeof(*out));
    if (!(s = prep(st, "SELECT fingerprint, created, source_system_id, slot_name, "
                       "publication_name, snapshot_name, consistent_lsn, acked_lsn, phase "
                       "FROM job WHERE id = 1")))
        return P2D_ESTATE;
    if (sqlite3_step(s) == SQLITE_ROW) {
        copy_col(s, 0, out->fingerprint, sizeof(out->fingerprint));
        out->created = sqlite3_column_int64(s, 1);
        copy_col(s, 2, out->source_system_id, sizeof(out->source_system_id));
        copy_col(s, 3, out->slot_name, sizeof(out->slot_name));
        copy_col(s, 4, out->publication_name, sizeof(out->publication_name));
        copy_col(s, 5, out->snapshot_name, sizeof(out->snapshot_name));
        out->consistent_lsn = (uint64_t)sqlite3_column_int64(s, 6);
        out->acked_lsn = (uint64_t)sqlite3_column_int64(s, 7);
        out->phase = (enum p2d_state_phase)sqlite3_column_int(s, 8);
    } else {
        rc = sqlerr(st, "read job row");
    }
    sqlite3_finalize(s);
    return rc;
}

/* Runs "UPDATE job SET <column> = ? WHERE id = 1" in a transaction. */
static int set_job_text(struct p2d_state *st, const char *sql, const char *value)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = begin(st)) != 0)
        return rc;
    if (!(s = prep(st, sql))) {
        rollback(st);
        return P2D_ESTATE;
    }
    sqlite3_bind_text(s, 1, value, -1, SQLITE_STATIC);
    if ((rc = run(st, s, sql)) == 0 && (rc = commit(st)) == 0)
        return 0;
    rollback(st);
    return rc;
}

int p2d_state_set_source_system_id(struct p2d_state *st, const char *system_id)
{
    struct p2d_state_job job;
    int rc;

    if ((rc = p2d_state_job_get(st, &job)) != 0)
        return rc;
    if (job.source_system_id[0] && strcmp(job.source_system_id, system_id) != 0) {
        seterr(st,
               "state in \"%s\" was made for the PostgreSQL cluster with system identifier %s, "
               "but the source is %s; hint: check --source, or use another --state DIR",
               st->dir, job.source_system_id, system_id);
        return P2D_ESTATE;
    }
    if (job.source_system_id[0])
        return 0;
    return set_job_text(st, "UPDATE job SET source_system_id = ? WHERE id = 1", system_id);
}

int p2d_state_set_slot(struct p2d_state *st, const char *slot, const char *publication,
                       uint64_t consistent_lsn)
{
    struct p2d_state_job job;
    sqlite3_stmt *s;
    int rc;

    if ((rc = p2d_state_job_get(st, &job)) != 0)
        return rc;
    if (job.slot_name[0]) {
        if (strcmp(job.slot_name, slot) == 0 && strcmp(job.publication_name, publication) == 0 &&
            job.consistent_lsn == consistent_lsn)
            return 0;
        seterr(st,
               "state in \"%s\" already records slot \"%s\" (publication \"%s\", consistent point "
               "%X/%X); refusing to replace it with slot \"%s\"; hint: run \"pg2doris drop\" to "
               "start over",
               st->dir, job.slot_name, job.publication_name, (unsigned)(job.consistent_lsn >> 32),
               (unsigned)job.consistent_lsn, slot);
        return P2D_ESTATE;
    }
    if ((rc = begin(st)) != 0)
        return rc;
    if (!(s = prep(st, "UPDATE job SET slot_name = ?, publication_name = ?, consistent_lsn = ? "
                       "WHERE id = 1"))) {
        rollback(st);
        return P2D_ESTATE;
    }
    sqlite3_bind_text(s, 1, slot, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, publication, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)consistent_lsn);
    if ((rc = run(st, s, "record slot")) == 0 && (rc = commit(st)) == 0)
        return 0;
    rollback(st);
    return rc;
}

int p2d_state_set_snapshot(struct p2d_state *st, const char *snapshot_name)
{
    OWNED(st);
    return set_job_text(st, "UPDATE job SET snapshot_name = ? WHERE id = 1", snapshot_name);
}

int p2d_state_set_phase(struct p2d_state *st, enum p2d_state_phase phase)
{
    struct p2d_state_job job;
    sqlite3_stmt *s;
    int rc;

    if ((rc = p2d_state_job_get(st, &job)) != 0)
        return rc;
    if (phase < P2D_PHASE_NEW || phase > P2D_PHASE_DONE) {
        seterr(st, "unknown job phase %d", (int)phase);
        return P2D_EINVAL;
    }
    if (phase == job.phase)
        return 0;
    if (phase < job.phase) {
        seterr(st, "job phase cannot go back from %d to %d", (int)job.phase, (int)phase);
        return P2D_EINVAL;
    }
    if ((rc = begin(st)) != 0)
        return rc;
    if (!(s = prep(st, "UPDATE job SET phase = ? WHERE id = 1"))) {
        rollback(st);
        return P2D_ESTATE;
    }
    sqlite3_bind_int(s, 1, (int)phase);
    if ((rc = run(st, s, "set phase")) == 0 && (rc = commit(st)) == 0)
        return 0;
    rollback(st);
    return rc;
}

/* ---- plan ------------------------------------------------------------------ */

static int count_rows(struct p2d_state *st, const char *sql, int64_t *n)
{
    sqlite3_stmt *s = prep(st, sql);
    int rc = 0;

    if (!s)
        return P2D_ESTATE;
    if (sqlite3_step(s) == SQLITE_ROW)
        *n = sqlite3_column_int64(s, 0);
    else
        rc = sqlerr(st, sql);
    sqlite3_finalize(s);
    return rc;
}

int p2d_state_plan_exists(struct p2d_state *st, bool *saved)
{
    int64_t n = 0;
    int rc;

    OWNED(st);
    rc = count_rows(st, "SELECT count(*) FROM tables", &n);
    *saved = n > 0;
    return rc;
}

int p2d_state_plan_save(struct p2d_state *st, const struct p2d_state_plan *plan)
{
    sqlite3_stmt *s = NULL;
    int64_t existing = 0;
    int rc;

    OWNED(st);
    if ((rc = begin(st)) != 0)
        return rc;
    if ((rc = count_rows(st, "SELECT count(*) FROM tables", &existing)) != 0)
        goto fail;
    if (existing > 0) {
        seterr(st,
               "state in \"%s\" already holds a plan of %" PRId64 " tables; a plan is saved "
               "once per job",
               st->dir, existing);
        rc = P2D_EINVAL;
        goto fail;
    }
    if (!(s = prep(st, "INSERT INTO tables (table_id, src_schema, src_table, dest_db, dest_table, "
                       "model, schema_synced, guard) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"))) {
        rc = P2D_ESTATE;
        goto fail;
    }
    for (size_t i = 0; i < plan->ntables; i++) {
        const struct p2d_state_table *t = &plan->tables[i];

        if (t->model != P2D_STATE_UNIQUE && t->model != P2D_STATE_DUPLICATE) {
            seterr(st, "table \"%s\".\"%s\": unknown model %d", t->src_schema, t->src_table,
                   (int)t->model);
            rc = P2D_EINVAL;
            goto fail;
        }
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, t->table_id);
        sqlite3_bind_text(s, 2, t->src_schema, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, t->src_table, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, t->dest_db, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, t->dest_table, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, model_names[t->model], -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 7, t->schema_synced);
        sqlite3_bind_text(s, 8, t->guard, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE) {
            rc = sqlerr(st, "save plan table");
            goto fail;
        }
    }
    sqlite3_finalize(s);
    if (!(s = prep(st, "INSERT INTO ranges (table_id, range_id, predicate, label_prefix, status, "
                       "updated, kind) VALUES (?, ?, ?, ?, ?, ?, ?)"))) {
        rc = P2D_ESTATE;
        goto fail;
    }
    for (size_t i = 0; i < plan->nranges; i++) {
        const struct p2d_state_range *r = &plan->ranges[i];

        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, r->table_id);
        sqlite3_bind_int64(s, 2, r->range_id);
        sqlite3_bind_text(s, 3, r->predicate ? r->predicate : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, r->label_prefix ? r->label_prefix : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(
            s, 5,
            range_status_names[r->kind == P2D_RANGE_CHANGES ? P2D_RANGE_DONE : P2D_RANGE_PLANNED],
            -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 6, now());
        sqlite3_bind_int(s, 7, r->kind == P2D_RANGE_CHANGES);
        if (sqlite3_step(s) != SQLITE_DONE) {
            rc = sqlerr(st, "save plan range");
            goto fail;
        }
    }
    sqlite3_finalize(s);
    s = NULL;
    if ((rc = commit(st)) == 0)
        return 0;
fail:
    sqlite3_finalize(s);
    rollback(st);
    return rc;
}

/* Reads the ranges `tail` selects ("FROM ranges ...") into a new array. */
#define RANGE_COLUMNS "table_id, range_id, predicate, label_prefix, status, rows, bytes, attempts"
/* ranges.kind, or what a version 1 store means by its absence */
#define RANGE_KIND(st) ((st)->version >= 2 ? ", kind" : ", 0")

static int read_ranges(struct p2d_state *st, const char *tail, struct p2d_state_range **out,
                       size_t *n)
{
    char sql[512];
    sqlite3_stmt *s;
    struct p2d_state_range *v = NULL;
    size_t count = 0;
    int step;

    *out = NULL;
    *n = 0;
    snprintf(sql, sizeof(sql), "SELECT " RANGE_COLUMNS "%s %s", RANGE_KIND(st), tail);
    if (!(s = prep(st, sql)))
        return P2D_ESTATE;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct p2d_state_range *nv = realloc(v, (count + 1) * sizeof(*v)), *r;
        const char *status;

        if (!nv)
            goto oom;
        v = nv;
        r = &v[count];
        memset(r, 0, sizeof(*r));
        r->table_id = sqlite3_column_int64(s, 0);
        r->range_id = sqlite3_column_int64(s, 1);
        r->predicate = dup_col(s, 2);
        r->label_prefix = dup_col(s, 3);
        count++;
        if (!r->predicate || !r->label_prefix)
            goto oom;
        status = (const char *)sqlite3_column_text(s, 4);
        for (int k = 0; k < 3; k++)
            if (status && strcmp(status, range_status_names[k]) == 0)
                r->status = (enum p2d_range_status)k;
        r->rows = sqlite3_column_int64(s, 5);
        r->bytes = sqlite3_column_int64(s, 6);
        r->attempts = sqlite3_column_int(s, 7);
        r->kind = sqlite3_column_int(s, 8) == 1 ? P2D_RANGE_CHANGES : P2D_RANGE_ROWS;
    }
    if (step != SQLITE_DONE) {
        int rc = sqlerr(st, "read ranges");

        sqlite3_finalize(s);
        p2d_state_ranges_free(v, count);
        return rc;
    }
    sqlite3_finalize(s);
    *out = v;
    *n = count;
    return 0;
oom:
    sqlite3_finalize(s);
    p2d_state_ranges_free(v, count);
    seterr(st, "out of memory reading ranges");
    return P2D_ENOMEM;
}

void p2d_state_ranges_free(struct p2d_state_range *ranges, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ranges[i].predicate);
        free(ranges[i].label_prefix);
    }
    free(ranges);
}

int p2d_state_plan_load(struct p2d_state *st, struct p2d_state_plan *plan)
{
    sqlite3_stmt *s;
    int step, rc;

    OWNED(st);
    memset(plan, 0, sizeof(*plan));
    if (!(s = prep(st, st->version >= 2 ? "SELECT table_id, src_schema, src_table, dest_db, "
                                          "dest_table, model, schema_synced, guard FROM tables "
                                          "ORDER BY table_id"
                                        : "SELECT table_id, src_schema, src_table, dest_db, "
                                          "dest_table, model, schema_synced, '' FROM tables "
                                          "ORDER BY table_id")))
        return P2D_ESTATE;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct p2d_state_table *nv =
            realloc(plan->tables, (plan->ntables + 1) * sizeof(*plan->tables));
        struct p2d_state_table *t;
        const char *model;

        if (!nv) {
            sqlite3_finalize(s);
            p2d_state_plan_free(plan);
            seterr(st, "out of memory reading the plan");
            return P2D_ENOMEM;
        }
        plan->tables = nv;
        t = &plan->tables[plan->ntables++];
        memset(t, 0, sizeof(*t));
        t->table_id = sqlite3_column_int64(s, 0);
        copy_col(s, 1, t->src_schema, sizeof(t->src_schema));
        copy_col(s, 2, t->src_table, sizeof(t->src_table));
        copy_col(s, 3, t->dest_db, sizeof(t->dest_db));
        copy_col(s, 4, t->dest_table, sizeof(t->dest_table));
        model = (const char *)sqlite3_column_text(s, 5);
        t->model =
            model && strcmp(model, "duplicate") == 0 ? P2D_STATE_DUPLICATE : P2D_STATE_UNIQUE;
        t->schema_synced = sqlite3_column_int(s, 6) != 0;
        copy_col(s, 7, t->guard, sizeof(t->guard));
    }
    if (step != SQLITE_DONE) {
        rc = sqlerr(st, "read plan tables");
        sqlite3_finalize(s);
        p2d_state_plan_free(plan);
        return rc;
    }
    sqlite3_finalize(s);
    rc = read_ranges(st, "FROM ranges ORDER BY table_id, range_id", &plan->ranges, &plan->nranges);
    if (rc != 0)
        p2d_state_plan_free(plan);
    return rc;
}

void p2d_state_plan_free(struct p2d_state_plan *plan)
{
    free(plan->tables);
    p2d_state_ranges_free(plan->ranges, plan->nranges);
    memset(plan, 0, sizeof(*plan));
}

int p2d_state_table_set_schema_synced(struct p2d_state *st, int64_t table_id)
{
    sqlite3_stmt *s;
    int rc;

    OWNED(st);
    if ((rc = begin(st)) != 0)
        return rc;
    if (!(s = prep(st, "UPDATE tables SET schema_synced = 1 WHERE table_id = ?"))) {
        rollback(st);
        return P2D_ESTATE;
    }
    sqlite3_bind_int64(s, 1, table_id);
    if ((rc = run(st, s, "mark schema synced")) == 0) {
        if (sqlite3_changes(st->db) == 0) {
            seterr(st, "table %" PRId64 " is not in the plan", table_id);
            rc = P2D_EINVAL;
        } else if ((rc = commit(st)) == 0) {
            return 0;
        }
    }
    rollback(st);
    return rc;
}

int p2d_state_range_set(struct p2d_state *st, int64_t table_id, int64_t range_id,
                        enum p2d_range_status to, int64_t rows, int64_t bytes)
{
    sqlite3_stmt *s;
    enum p2d_range_status from = P2D_RANGE_PLANNED;
    const char *status;
    bool found = false, allowed;
    int64_t open_loads = 0;
    int rc;

    OWNED(st);
    if (to < P2D_RANGE_PLANNED || to > P2D_RANGE_DONE) {
        seterr(st, "unknown range status %d", (int)to);
        return P2D_EINVAL;
    }
    if ((rc = begin(st)) != 0)
        return rc;
    if (!(s = prep(st, "SELECT status FROM ranges WHERE table_id = ? AND range_id = ?"))) {
        rc = P2D_ESTATE;
        goto fail;
    }
    sqlite3_bind_int64(s, 1, table_id);
    sqlite3_bind_int64(s, 2, range_id);
    if (sqlite3_step(s) == SQLITE_ROW) {
        found = true;
        status = (const char *)sqlite3_column_text(s, 0);
        for (int k = 0; k < 3; k++)
            if (status && strcmp(status, range_status_names[k]) == 0)
                from = (enum p2d_range_status)k;
    }
    sqlite3_finalize(s);
    if (!found) {
        seterr(st, "range %" PRId64 " of table %" PRId64 " is not in the plan", range_id, table_id);
        rc = P2D_EINVAL;
        goto fail;
    }
    allowed = (from == P2D_RANGE_PLANNED && to == P2D_RANGE_RUNNING) ||
              (from == P2D_RANGE_RUNNING && to == P2D_RANGE_PLANNED) ||
              (from == P2D_RANGE_RUNNING && to == P2D_RANGE_DONE);
    if (!allowed) {
        seterr(st, "range %" PRId64 " of table %" PRId64 " cannot go from %s to %s", range_id,
               table_id, range_status_names[from], range_status_names[to]);
        rc = P2D_EINVAL;
        goto fail;
    }
    if (to == P2D_RANGE_DONE) {
        if (!(s = prep(st, "SELECT count(*) FROM loads WHERE table_id = ? AND range_id = ? AND "
                           "status <> 'DONE'"))) {
            rc = P2D_ESTATE;
            goto fail;
        }
        sqlite3_bind_int64(s, 1, table_id);
        sqlite3_bind_int64(s, 2, range_id);
        if (sqlite3_step(s) == SQLITE_ROW)
            open_loads = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        if (open_loads > 0) {
            seterr(st,
                   "range %" PRId64 " of table %" PRId64 " cannot be DONE: %" PRId64
                   " of its loads are not confirmed by Doris",
                   range_id, table_id, open_loads);
            rc = P2D_EINVAL;
            goto fail;
        }
    }
    if (!(s = prep(st, "UPDATE ranges SET status = ?, attempts = attempts + ?, "
                       "rows = CASE WHEN ? THEN ? ELSE rows END, "
                       "bytes = CASE WHEN ? THEN ? ELSE bytes END, updated = ? "
                       "WHERE table_id = ? AND range_id = ?"))) {
        rc = P2D_ESTATE;
        goto fail;
    }
    sqlite3_bind_text(s, 1, range_status_names[to], -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, to == P2D_RANGE_RUNNING);
    sqlite3_bind_int(s, 3, to == P2D_RANGE_DONE);
    sqlite3_bind_int64(s, 4, rows);
    sqlite3_bind_int(s, 5, to == P2D_RANGE_DONE);
    sqlite3_bind_int64(s, 6, bytes);
    sqlite3_bind_int64(s, 7, now());
    sqlite3_bind_int64(s, 8, table_id);
    sqlite3_bind_int64(s, 9, range_id);
    if ((rc = run(st, s, "set range status")) == 0 && (rc = commit(st)) == 0)
        return 0;
fail:
    rollback(st);
    return rc;
}

int p2d_state_range_reopen(struct p2d_state *st, int64_t table_id, int64_t range_id,
                           const char *label_prefix)
{
    sqlite3_stmt *s;
    int rc;

    OWNED(st);
    if ((rc = begin(st)) != 0)
        return rc;
    if (!(s = prep(st, "UPDATE ranges SET status = 'PLANNED', label_prefix = ?, rows = 0, "
                       "bytes = 0, updated = ? WHERE table_id = ? AND range_id = ?"))) {
        rc = P2D_ESTATE;
        goto fail;
    }
    sqlite3_bind_text(s, 1, label_prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now());
    sqlite3_bind_int64(s, 3, table_id);
    sqlite3_bind_int64(s, 4, range_id);
    if ((rc = run(st, s, "reopen range")) != 0)
        goto fail;
    if (sqlite3_changes(st->db) != 1) {
        seterr(st, "range %" PRId64 " of table %" PRId64 " is not in the plan", range_id, table_id);
        rc = P2D_EINVAL;
        goto fail;
    }
    /* the old labels' loads are superseded: a DONE needs only the new one */
    if (!(s = prep(st, "DELETE FROM loads WHERE table_id = ? AND range_id = ? AND "
                       "status <> 'DONE'"))) {
        rc = P2D_ESTATE;
        goto fail;
    }
    sqlite3_bind_int64(s, 1, table_id);
    sqlite3_bind_int64(s, 2, range_id);
    if ((rc = run(st, s, "forget superseded loads")) == 0 && (rc = commit(st)) == 0)
        return 0;
fail:
    rollback(st);
    return rc;
}

int p2d_state_unfinished_ranges(struct p2d_state *st, struct p2d_state_range **ranges, size_t *n)
{
    OWNED(st);
    return read_ranges(st, "FROM ranges WHERE status = 'RUNNING' ORDER BY table_id, range_id",
                       ranges, n);
}

int p2d_state_range_counts(struct p2d_state *st, int64_t counts[3])
{
    sqlite3_stmt *s;
    int step;

    OWNED(st);
    counts[0] = counts[1] = counts[2] = 0;
    /* a CHANGES range left DONE has nothing to read (see state.h) */
    if (!(s = prep(st, st->version >= 2 ? "SELECT status, count(*) FROM ranges WHERE NOT "
                                          "(kind = 1 AND status = 'DONE') GROUP BY status"
                                        : "SELECT status, count(*) FROM ranges GROUP BY status")))
        return P2D_ESTATE;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(s, 0);

        for (int k = 0; k < 3; k++)
            if (status && strcmp(status, range_status_names[k]) == 0)
                counts[k] = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    return step == SQLITE_DONE ? 0 : sqlerr(st, "count ranges");
}

/* ---- loads ----------------------------------------------------------------- */

/* Doris labels: ^[-_A-Za-z0-9:]{1,128}$ (doris-protocol.md §7.3). */
static bool label_ok(const char *label)
{
    size_t n = strlen(label);

    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = label[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == ':'))
            return false;
    }
    return true;
}

/* Reads a load's table, range and status; *found false if unknown. */
static int load_get(struct p2d_state *st, const char *label, bool *found, int64_t *table_id,
                    int64_t *range_id, enum p2d_load_status *status)
{
    sqlite3_stmt *s = prep(st, "SELECT table_id, range_id, status FROM loads WHERE label = ?");
    int step;

    *found = false;
    if (!s)
        return P2D_ESTATE;
    sqlite3_bind_text(s, 1, label, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(s, 2);

        *found = true;
        *table_id = sqlite3_column_int64(s, 0);
        *range_id = sqlite3_column_int64(s, 1);
        *status = P2D_LOAD_STATUS_SENT;
        for (int k = 0; k < 3; k++)
            if (text && strcmp(text, load_status_names[k]) == 0)
                *status = (enum p2d_load_status)k;
    }
    sqlite3_finalize(s);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : sqlerr(st, "read load");
}

int p2d_state_load_record(struct p2d_state *st, const char *label, int64_t table_id,
                          int64_t range_id, bool *already_done)
{
    sqlite3_stmt *s;
    bool found;
    int64_t old_table = 0, old_range = 0;
    enum p2d_load_status status = P2D_LOAD_STATUS_SENT;
    int rc;

    OWNED(st);
    *already_done = false;
    if (!label_ok(label)) {
        seterr(st, "invalid load label \"%s\": Doris accepts 1 to 128 of A-Z a-z 0-9 - _ :", label);
        return P2D_EINVAL;
    }
    if ((rc = begin(st)) != 0)
        return rc;
    if ((rc = load_get(st, label, &found, &old_table, &old_range, &status)) != 0)
        goto fail;
    if (found && (old_table != table_id || old_range != range_id)) {
        seterr(st,
               "label \"%s\" is already recorded for range %" PRId64 " of table %" PRId64
               ", not range %" PRId64 " of table %" PRId64 " (this is a bug: labels are "
               "deterministic per load)",
               label, old_range, old_table, range_id, table_id);
        rc = P2D_EINVAL;
        goto fail;
    }
    if (found && status == P2D_LOAD_STATUS_DONE) {
        *already_done = true;
        rollback(st);
        return 0;
    }
    if (found)
        s = prep(st, "UPDATE loads SET status = 'SENT', attempts = attempts + 1, message = NULL, "
                     "finished = NULL, sent = ?1 WHERE label = ?2");
    else
        s = prep(st, "INSERT INTO loads (sent, label, table_id, range_id, status) "
                     "VALUES (?1, ?2, ?3, ?4, 'SENT')");
    if (!s) {
        rc = P2D_ESTATE;
        goto fail;
    }
    sqlite3_bind_int64(s, 1, now());
    sqlite3_bind_text(s, 2, label, -1, SQLITE_STATIC);
    if (!found) {
        sqlite3_bind_int64(s, 3, table_id);
        sqlite3_bind_int64(s, 4, range_id);
    }
    if ((rc = run(st, s, "record load")) == 0 && (rc = commit(st)) == 0)
        return 0;
fail:
    rollback(st);
    return rc;
}

int p2d_state_load_finish(struct p2d_state *st, const char *label, enum p2d_load_status to,
                          int64_t txn_id, int64_t rows, const char *message)
{
    sqlite3_stmt *s;
    bool found;
    int64_t table_id = 0, range_id = 0;
    enum p2d_load_status from = P2D_LOAD_STATUS_SENT;
    int rc;

    OWNED(st);
    if (to != P2D_LOAD_STATUS_DONE && to != P2D_LOAD_STATUS_FAILED) {
        seterr(st, "a load finishes as DONE or FAILED, not %s",
               to == P2D_LOAD_STATUS_SENT ? "SENT" : "an unknown status");
        return P2D_EINVAL;
    }
    if ((rc = begin(st)) != 0)
        return rc;
    if ((rc = load_get(st, label, &found, &table_id, &range_id, &from)) != 0)
        goto fail;
    if (!found) {
        seterr(st, "label \"%s\" was never recorded; loads are recorded before they are sent",
               label);
        rc = P2D_EINVAL;
        goto fail;
    }
    if (from != P2D_LOAD_STATUS_SENT) {
        seterr(st, "load \"%s\" cannot go from %s to %s", label, load_status_names[from],
               load_status_names[to]);
        rc = P2D_EINVAL;
        goto fail;
    }
    if (!(s = prep(st, "UPDATE loads SET status = ?, txn_id = ?, rows = ?, message = ?, "
                       "finished = ? WHERE label = ?"))) {
        rc = P2D_ESTATE;
        goto fail;
    }
    sqlite3_bind_text(s, 1, load_status_names[to], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, txn_id);
    sqlite3_bind_int64(s, 3, rows);
    if (message)
        sqlite3_bind_text(s, 4, message, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, now());
    sqlite3_bind_text(s, 6, label, -1, SQLITE_STATIC);
    if ((rc = run(st, s, "finish load")) == 0 && (rc = commit(st)) == 0)
        return 0;
fail:
    rollback(st);
    return rc;
}

int p2d_state_load_status(struct p2d_state *st, const char *label, enum p2d_load_status *status)
{
    bool found;
    int64_t table_id, range_id;
    int rc;

    OWNED(st);
    if ((rc = load_get(st, label, &found, &table_id, &range_id, status)) != 0)
        return rc;
    if (!found) {
        seterr(st, "label \"%s\" is not recorded", label);
        return P2D_EINVAL;
    }
    return 0;
}

int p2d_state_loads_forget_done(struct p2d_state *st, int64_t range_id, int64_t *removed)
{
    sqlite3_stmt *s;
    int rc;

    OWNED(st);
    if (!(s = prep(st, "DELETE FROM loads WHERE range_id = ? AND status = 'DONE'")))
        return P2D_ESTATE;
    sqlite3_bind_int64(s, 1, range_id);
    rc = run(st, s, "forget finished loads");
    if (rc == 0 && removed)
        *removed = sqlite3_changes(st->db);
    return rc;
}

int p2d_state_loads_in_doubt(struct p2d_state *st, char ***labels, size_t *n)
{
    sqlite3_stmt *s;
    char **v = NULL;
    size_t count = 0;
    int step;

    OWNED(st);
    *labels = NULL;
    *n = 0;
    if (!(s = prep(st, "SELECT label FROM loads WHERE status = 'SENT' ORDER BY label")))
        return P2D_ESTATE;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        char **nv = realloc(v, (count + 1) * sizeof(*v));

        if (!nv || !(nv[count] = dup_col(s, 0))) {
            if (nv)
                v = nv;
            sqlite3_finalize(s);
            p2d_state_labels_free(v, count);
            seterr(st, "out of memory reading labels");
            return P2D_ENOMEM;
        }
        v = nv;
        count++;
    }
    sqlite3_finalize(s);
    if (step != SQLITE_DONE) {
        p2d_state_labels_free(v, count);
        return sqlerr(st, "read labels");
    }
    *labels = v;
    *n = count;
    return 0;
}

void p2d_state_labels_free(char **labels, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(labels[i]);
    free(labels);
}

/* ---- LSN and counters ------------------------------------------------------- */

int p2d_state_lsn_get(struct p2d_state *st, uint64_t *lsn)
{
    struct p2d_state_job job;
    int rc = p2d_state_job_get(st, &job);

    *lsn = rc == 0 ? job.acked_lsn : 0;
    return rc;
}

int p2d_state_lsn_set(struct p2d_state *st, uint64_t lsn)
{
    sqlite3_stmt *s;
    uint64_t cur = 0;
    int rc;

    OWNED(st);
    if ((rc = begin(st)) != 0)
        return rc;
    if (!(s = prep(st, "SELECT acked_lsn FROM job WHERE id = 1"))) {
        rc = P2D_ESTATE;
        goto fail;
    }
    if (sqlite3_step(s) == SQLITE_ROW)
        cur = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (lsn < cur) {
        seterr(st,
               "acked LSN cannot move back from %X/%X to %X/%X (this is a bug: the flush position "
               "only moves forward)",
               (unsigned)(cur >> 32), (unsigned)cur, (unsigned)(lsn >> 32), (unsigned)lsn);
        rc = P2D_EINVAL;
        goto fail;
    }
    if (lsn == cur) {
        rollback(st);
        return 0;
    }
    if (!(s = prep(st, "UPDATE job SET acked_lsn = ? WHERE id = 1"))) {
        rc = P2D_ESTATE;
        goto fail;
    }
    sqlite3_bind_int64(s, 1, (int64_t)lsn);
    if ((rc = run(st, s, "set acked LSN")) == 0 && (rc = commit(st)) == 0)
        return 0;
fail:
    rollback(st);
    return rc;
}

int p2d_state_counter_add(struct p2d_state *st, const char *name, int64_t delta)
{
    sqlite3_stmt *s;
    int rc;

    OWNED(st);
    if ((rc = begin(st)) != 0)
        return rc;
    if (!(s = prep(st, "INSERT INTO counters (name, value) VALUES (?, ?) "
                       "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value"))) {
        rollback(st);
        return P2D_ESTATE;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, delta);
    if ((rc = run(st, s, "add counter")) == 0 && (rc = commit(st)) == 0)
        return 0;
    rollback(st);
    return rc;
}

int p2d_state_counter_get(struct p2d_state *st, const char *name, int64_t *value)
{
    sqlite3_stmt *s;
    int step;

    OWNED(st);
    *value = 0;
    if (!(s = prep(st, "SELECT value FROM counters WHERE name = ?")))
        return P2D_ESTATE;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        *value = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : sqlerr(st, "read counter");
}

/* ---- administration: `pg2doris status` and `pg2doris drop` ------------------ */

/* The store's schema version, or a refusal when newer than this build. */
static int admin_check_version(struct p2d_state *st)
{
    sqlite3_stmt *s;
    int version = 0, step;

    if (!(s = prep(st, "SELECT version FROM schema_version")))
        return P2D_ESTATE;
    step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        (void)sqlerr(st, "read schema version");
        return P2D_ESTATE;
    }
    if (version > P2D_STATE_SCHEMA_VERSION) {
        seterr(st,
               "state in \"%s\" was written by a newer pg2doris (state version %d, this build "
               "knows %d); hint: run the newer pg2doris",
               st->dir, version, P2D_STATE_SCHEMA_VERSION);
        return P2D_ESTATE;
    }
    if (version < 1) {
        seterr(st, "state in \"%s\" is damaged (no schema version)", st->dir);
        return P2D_ESTATE;
    }
    st->version = version;
    return 0;
}

/* A new handle for dir without a database or lock; NULL with err filled. */
static struct p2d_state *admin_new(const char *dir, char *err, size_t errlen)
{
    struct p2d_state *st;

    if (strlen(dir) >= sizeof(st->dir) - 16) {
        snprintf(err, errlen, "--state directory name is too long");
        return NULL;
    }
    st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->lock_fd = -1;
    st->owner = pthread_self();
    snprintf(st->dir, sizeof(st->dir), "%s", dir);
    return st;
}

/* Opens DIR/state.db with flags (never SQLITE_OPEN_CREATE) and checks its
 * version. */
static int admin_open_db(struct p2d_state *st, int flags)
{
    char path[PATH_MAX + 16];

    snprintf(path, sizeof(path), "%s/state.db", st->dir);
    if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        if (!st->db)
            return P2D_ENOMEM;
        sqlerr(st, "open");
        return P2D_ESTATE;
    }
    sqlite3_busy_timeout(st->db, 5000);
    return admin_check_version(st);
}

int p2d_state_open_readonly(const char *dir, struct p2d_state **out, char *err, size_t errlen)
{
    struct p2d_state *st;
    char path[PATH_MAX + 16];
    struct stat sb;
    int rc;

    *out = NULL;
    if (errlen)
        err[0] = '\0';
    if (!(st = admin_new(dir, err, errlen)))
        return P2D_ESTATE;
    snprintf(path, sizeof(path), "%s/state.db", dir);
    if (stat(path, &sb) != 0) {
        snprintf(err, errlen,
                 "no pg2doris state in \"%s\" (%s); hint: give the --state DIR the sync used", dir,
                 errno == ENOENT ? "no state.db" : strerror(errno));
        free(st);
        return P2D_ESTATE;
    }
    if ((rc = admin_open_db(st, SQLITE_OPEN_READONLY)) != 0 ||
        (rc = exec(st, "PRAGMA query_only = 1")) != 0) {
        snprintf(err, errlen, "%s", st->err[0] ? st->err : "out of memory");
        p2d_state_close(st);
        return rc == P2D_ENOMEM ? rc : P2D_ESTATE;
    }
    *out = st;
    return 0;
}

int p2d_state_open_for_drop(const char *dir, struct p2d_state **out, bool *found, char *err,
                            size_t errlen)
{
    struct p2d_state *st;
    char path[PATH_MAX + 16];
    struct stat sb;
    int rc;

    *out = NULL;
    *found = false;
    if (errlen)
        err[0] = '\0';
    if (stat(dir, &sb) != 0 && errno == ENOENT)
        return 0;
    if (!(st = admin_new(dir, err, errlen)))
        return P2D_ESTATE;
    if ((rc = lock_dir(st)) != 0) {
        long holder = 0;

        /* lock_dir names the pid written in the lock file and a hint for a
         * sync; name the process holding the lock now and what drop needs */
        if (strstr(st->err, "in use by")) {
            char pid[40] = "";

            if (p2d_state_lock_holder(dir, &holder) == 0 && holder > 0)
                snprintf(pid, sizeof(pid), " (pid %ld)", holder);
            snprintf(err, errlen,
                     "state in \"%s\" is in use by another pg2doris process%s; hint: stop that "
                     "pg2doris first: drop removes the slot and the state it is using",
                     dir, pid);
        } else {
            snprintf(err, errlen, "%s", st->err);
        }
        p2d_state_close(st);
        return rc;
    }
    snprintf(path, sizeof(path), "%s/state.db", dir);
    if (stat(path, &sb) == 0) {
        if ((rc = admin_open_db(st, SQLITE_OPEN_READWRITE)) != 0) {
            snprintf(err, errlen, "%s", st->err[0] ? st->err : "out of memory");
            p2d_state_close(st);
            return rc == P2D_ENOMEM ? rc : P2D_ESTATE;
        }
        *found = true;
    }
    *out = st;
    return 0;
}

int p2d_state_forget(struct p2d_state *st, int *nremoved, bool *dir_removed, char *err,
                     size_t errlen)
{
    static const char *const owned_files[] = {"state.db", "state.db-wal", "state.db-shm",
                                              "state.db-journal", "state.lock"};
    char path[PATH_MAX + 32];
    int rc = 0;

    *nremoved = 0;
    *dir_removed = false;
    if (errlen)
        err[0] = '\0';
    if (!st)
        return 0;
    if (st->db) {
        sqlite3_close(st->db); /* the last connection checkpoints and removes -wal / -shm */
        st->db = NULL;
    }
    /* the lock file goes last: until then a starting sync is refused */
    for (size_t i = 0; i < sizeof(owned_files) / sizeof(owned_files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", st->dir, owned_files[i]);
        if (unlink(path) == 0) {
            (*nremoved)++;
        } else if (errno != ENOENT && rc == 0) {
            snprintf(err, errlen, "cannot remove \"%s\": %s; hint: check the permissions of %s",
                     path, strerror(errno), st->dir);
            rc = P2D_ESTATE;
        }
    }
    if (rc == 0 && rmdir(st->dir) == 0)
        *dir_removed = true; /* ENOTEMPTY: other files live there, keep it */
    p2d_state_close(st);
    return rc;
}

int p2d_state_lock_holder(const char *dir, long *pid)
{
    char path[PATH_MAX + 16], line[256];
    struct stat sb;
    FILE *f;

    *pid = 0;
    snprintf(path, sizeof(path), "%s/state.lock", dir);
    if (stat(path, &sb) != 0)
        return 0; /* no lock file: nobody can hold it */
    if (!(f = fopen("/proc/locks", "r")))
        return P2D_EIO;
    /* "1: FLOCK  ADVISORY  WRITE 4711 fe:00:10994283 0 EOF"; waiters carry
     * "->" after the number and are skipped */
    while (fgets(line, sizeof(line), f)) {
        char kind[16], mode[16], rw[16];
        unsigned maj, min;
        unsigned long long ino;
        long holder;

        if (sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%llu", kind, mode, rw, &holder, &maj, &min,
                   &ino) != 7)
            continue;
        if (strcmp(kind, "FLOCK") == 0 && ino == (unsigned long long)sb.st_ino &&
            maj == major(sb.st_dev) && min == minor(sb.st_dev)) {
            *pid = holder;
            break;
        }
    }
    fclose(f);
    return 0;
}

int p2d_state_job_canonical(struct p2d_state *st, char **out)
{
    sqlite3_stmt *s;
    int step;

    OWNED(st);
    *out = NULL;
    if (!(s = prep(st, "SELECT canonical FROM job WHERE id = 1")))
        return P2D_ESTATE;
    step = sqlite3_step(s);
    if (step == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL && !(*out = dup_col(s, 0))) {
        sqlite3_finalize(s);
        seterr(st, "out of memory");
        return P2D_ENOMEM;
    }
    sqlite3_finalize(s);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : sqlerr(st, "read job row");
}

int p2d_state_counters_list(struct p2d_state *st, struct p2d_state_counter **out, size_t *n)
{
    struct p2d_state_counter *v = NULL;
    sqlite3_stmt *s;
    size_t count = 0;
    int step;

    OWNED(st);
    *out = NULL;
    *n = 0;
    if (!(s = prep(st, "SELECT name, value FROM counters ORDER BY name")))
        return P2D_ESTATE;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct p2d_state_counter *nv = realloc(v, (count + 1) * sizeof(*v));

        if (nv)
            v = nv;
        if (!nv || !(v[count].name = dup_col(s, 0))) {
            sqlite3_finalize(s);
            p2d_state_counters_free(v, count);
            seterr(st, "out of memory reading counters");
            return P2D_ENOMEM;
        }
        v[count++].value = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    if (step != SQLITE_DONE) {
        p2d_state_counters_free(v, count);
        return sqlerr(st, "read counters");
    }
    *out = v;
    *n = count;
    return 0;
}

void p2d_state_counters_free(struct p2d_state_counter *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(c[i].name);
    free(c);
}
