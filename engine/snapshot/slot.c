/*
 * slot.c - publication, slot, exported snapshot and holder (see slot.h).
 *
 * DESIGN. Three sessions meet here, all owned by the calling thread:
 *   N  a normal session for catalog work: publication, cleanup, and naming
 *      the sessions that block a lock (H cannot: its transaction aborted);
 *   R  the replication session: IDENTIFY_SYSTEM, CREATE_REPLICATION_SLOT,
 *      then nothing (its next command destroys the exported snapshot S);
 *   H  the holder: imports S, takes ACCESS SHARE locks, re-exports S2 and
 *      stays open in that transaction until every reader is done.
 * Order matters: the publication exists before the slot (pgoutput looks it
 * up as of the decoded WAL position, docs/pg-replication.md §6), and H
 * imports S before R is touched again (§1.4).
 */
#include "snapshot/slot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "p2d_error.h"

struct p2d_slot {
    struct p2d_slot_cut cut;
    PGconn *holder;
    PGconn *repl;
    bool holder_open; /* H is inside its snapshot transaction */
};

int p2d_slot_name(const char *job_id, char *out, size_t outlen)
{
    size_t n, i;

    if (!job_id)
        return P2D_EINVAL;
    n = strlen(job_id);
    if (n == 0 || n + strlen(P2D_SLOT_PREFIX) >= P2D_SLOT_NAME_MAX ||
        n + strlen(P2D_SLOT_PREFIX) >= outlen)
        return P2D_EINVAL;
    for (i = 0; i < n; i++) {
        char c = job_id[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return P2D_EINVAL;
    }
    snprintf(out, outlen, "%s%s", P2D_SLOT_PREFIX, job_id);
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends the selected tables as "s"."t", "s"."t2". */
static int append_table_list(PGconn *conn, struct p2d_buf *b, const struct p2d_slot_table *t,
                             size_t n)
{
    int rc = 0;
    size_t i;

    for (i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            rc = p2d_pg_appendf(b, ", ");
        if (rc == 0)
            rc = p2d_pg_append_qualified(conn, b, t[i].schema, t[i].name);
    }
    return rc;
}

/* Appends ARRAY['"s"."t"', ...]::regclass[]: names as literals, so no
 * identifier reaches the SQL unquoted. */
static int append_regclass_array(PGconn *conn, struct p2d_buf *b, const struct p2d_slot_table *t,
                                 size_t n)
{
    struct p2d_buf qn;
    int rc = p2d_pg_appendf(b, "ARRAY[");
    size_t i;

    p2d_buf_init(&qn, 4096);
    for (i = 0; i < n && rc == 0; i++) {
        p2d_buf_reset(&qn);
        rc = p2d_pg_append_qualified(conn, &qn, t[i].schema, t[i].name);
        if (rc == 0 && i > 0)
            rc = p2d_pg_appendf(b, ", ");
        if (rc == 0)
            rc = p2d_pg_append_literal(conn, b, (const char *)qn.data);
    }
    if (rc == 0)
        rc = p2d_pg_appendf(b, "]::regclass[]");
    p2d_buf_fini(&qn);
    return rc;
}

static int buf_error(int rc, struct p2d_pg_error *err)
{
    p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "cannot build a statement: %s", p2d_strerror(rc));
    return rc;
}

/* Creates the publication, or completes an existing one of that name. */
static int ensure_publication(PGconn *conn, const struct p2d_slot_opts *o, const char *pubname,
                              bool *created, struct p2d_pg_error *err)
{
    struct p2d_buf sql;
    PGresult *res = NULL;
    bool viaroot = PQserverVersion(conn) >= 130000;
    int rc;
    size_t i;

    *created = false;
    p2d_buf_init(&sql, 1 << 20);
    rc = p2d_pg_appendf(&sql, "SELECT puballtables FROM pg_publication WHERE pubname = '%s'",
                        pubname);
    if (rc != 0) {
        rc = buf_error(rc, err);
        goto out;
    }
    rc = p2d_pg_exec(conn, (char *)sql.data, "cannot look up the publication", &res, err);
    if (rc != 0)
        goto out;
    if (PQntuples(res) == 0) {
        p2d_buf_reset(&sql);
        rc = p2d_pg_appendf(&sql, "CREATE PUBLICATION \"%s\" FOR TABLE ", pubname);
        if (rc == 0)
            rc = append_table_list(conn, &sql, o->tables, o->ntables);
        if (rc == 0 && viaroot)
            rc = p2d_pg_appendf(&sql, " WITH (publish_via_partition_root = true)");
        if (rc != 0) {
            rc = buf_error(rc, err);
            goto out;
        }
        rc = p2d_pg_exec(conn, (char *)sql.data, "cannot create the publication", NULL, err);
        if (rc != 0) {
            if (err->cls == P2D_PG_PRIVILEGE)
                snprintf(err->hint, sizeof(err->hint),
                         "creating publication \"%s\" needs CREATE on the database and "
                         "ownership of every selected table",
                         pubname);
            goto out;
        }
        *created = true;
        P2D_INFO("slot", "created publication \"%s\" for %zu tables", pubname, o->ntables);
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
        goto out; /* FOR ALL TABLES covers everything */
    for (i = 0; i < o->ntables; i++) {
        PGresult *m = NULL;
        bool member;

        p2d_buf_reset(&sql);
        rc = p2d_pg_appendf(&sql,
                            "SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON "
                            "p.oid = pr.prpubid WHERE p.pubname = '%s' AND pr.prrelid = ",
                            pubname);
        if (rc == 0)
            rc = p2d_pg_appendf(&sql, "ANY (");
        if (rc == 0)
            rc = append_regclass_array(conn, &sql, &o->tables[i], 1);
        if (rc == 0)
            rc = p2d_pg_appendf(&sql, ")");
        if (rc != 0) {
            rc = buf_error(rc, err);
            goto out;
        }
        rc = p2d_pg_exec(conn, (char *)sql.data, "cannot check the publication's tables", &m, err);
        if (rc != 0)
            goto out;
        member = PQntuples(m) > 0;
        PQclear(m);
        if (member)
            continue;
        p2d_buf_reset(&sql);
        rc = p2d_pg_appendf(&sql, "ALTER PUBLICATION \"%s\" ADD TABLE ", pubname);
        if (rc == 0)
            rc = append_table_list(conn, &sql, &o->tables[i], 1);
        if (rc != 0) {
            rc = buf_error(rc, err);
            goto out;
        }
        rc =
            p2d_pg_exec(conn, (char *)sql.data, "cannot add a table to the publication", NULL, err);
        if (rc != 0)
            goto out;
        P2D_INFO("slot", "added \"%s\".\"%s\" to publication \"%s\"", o->tables[i].schema,
                 o->tables[i].name, pubname);
    }
    if (viaroot) {
        p2d_buf_reset(&sql);
        rc = p2d_pg_appendf(
            &sql, "ALTER PUBLICATION \"%s\" SET (publish_via_partition_root = true)", pubname);
        if (rc != 0) {
            rc = buf_error(rc, err);
            goto out;
        }
        rc =
            p2d_pg_exec(conn, (char *)sql.data, "cannot set publish_via_partition_root", NULL, err);
    }
out:
    PQclear(res);
    p2d_buf_fini(&sql);
    return rc;
}

/*
 * After a lock timeout: names the sessions that hold or wait for an ACCESS
 * EXCLUSIVE lock on a selected table or one of its partitions. Appends
 * "pid N (state, since T): query" items to msg. Best effort: a failure to
 * look leaves msg as is.
 */
static void describe_lock_blockers(PGconn *conn, const struct p2d_slot_opts *o, char *msg,
                                   size_t msglen)
{
    struct p2d_buf sql;
    struct p2d_pg_error ignored;
    PGresult *res = NULL;
    size_t len = strlen(msg);
    int rc, i;

    p2d_buf_init(&sql, 1 << 20);
    rc = p2d_pg_appendf(&sql, "WITH RECURSIVE rels(oid) AS (SELECT unnest(");
    if (rc == 0)
        rc = append_regclass_array(conn, &sql, o->tables, o->ntables);
    if (rc == 0)
        rc = p2d_pg_appendf(&sql,
                            ")::oid UNION SELECT i.inhrelid FROM pg_inherits i "
                            "JOIN rels r ON i.inhparent = r.oid) "
                            "SELECT l.pid, l.granted, l.relation::regclass::text, "
                            "coalesce(a.state, '?'), coalesce(a.xact_start::text, '?'), "
                            "left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 100) "
                            "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
                            "WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' "
                            "AND l.pid <> pg_backend_pid() "
                            "AND l.database = (SELECT oid FROM pg_database WHERE datname = "
                            "current_database()) AND l.relation IN (SELECT oid FROM rels) "
                            "ORDER BY l.granted DESC, l.pid LIMIT 5");
    if (rc != 0)
        goto out;
    if (p2d_pg_exec(conn, (char *)sql.data, "cannot look up lock holders", &res, &ignored) != 0) {
        P2D_DEBUG("slot", "%s", ignored.message);
        goto out;
    }
    for (i = 0; i < PQntuples(res) && len + 1 < msglen; i++)
        len += (size_t)snprintf(msg + len, msglen - len,
                                "%s pid %s %s ACCESS EXCLUSIVE on %s (%s, transaction since %s): "
                                "\"%s\"",
                                i ? ";" : "", PQgetvalue(res, i, 0),
                                strcmp(PQgetvalue(res, i, 1), "t") == 0 ? "holds" : "waits for",
                                PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
                                PQgetvalue(res, i, 5));
    if (PQntuples(res) == 0 && len + 1 < msglen)
        snprintf(msg + len, msglen - len, " (the blocking session has finished since)");
out:
    PQclear(res);
    p2d_buf_fini(&sql);
}

/* Rewrites a lock timeout (55P03) into one message naming the blockers. */
static void lock_timeout_error(PGconn *n, const struct p2d_slot_opts *o, const char *what,
                               struct p2d_pg_error *err)
{
    int lock_ms = o->lock_timeout_ms > 0 ? o->lock_timeout_ms : 10000;

    p2d_pg_error_set(err, P2D_PG_OTHER,
                     "wait until those sessions finish (or end them with pg_terminate_backend), "
                     "or raise the lock timeout",
                     "%s: no lock within %d ms; blocked by:", what, lock_ms);
    memcpy(err->sqlstate, "55P03", 6);
    describe_lock_blockers(n, o, err->message, sizeof(err->message));
}

static int identify_system(PGconn *repl, struct p2d_slot_cut *cut, struct p2d_pg_error *err)
{
    PGresult *res;
    int rc = p2d_pg_exec(repl, "IDENTIFY_SYSTEM", "IDENTIFY_SYSTEM failed", &res, err);

    if (rc != 0)
        return rc;
    if (PQntuples(res) != 1 || PQnfields(res) < 3) {
        PQclear(res);
        p2d_pg_error_set(err, P2D_PG_OTHER, NULL,
                         "IDENTIFY_SYSTEM returned %d rows of %d columns, expected 1 of 4",
                         PQntuples(res), PQnfields(res));
        return P2D_EPROTO;
    }
    snprintf(cut->systemid, sizeof(cut->systemid), "%s", PQgetvalue(res, 0, 0));
    cut->timeline = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return 0;
}

static int create_slot(PGconn *repl, struct p2d_slot_cut *cut, struct p2d_pg_error *err)
{
    char sql[160];
    PGresult *res;
    double t0 = now_seconds();
    int rc;

    /* The legacy spelling is accepted by PostgreSQL 10 through 18 (§1.3). */
    snprintf(sql, sizeof(sql), "CREATE_REPLICATION_SLOT \"%s\" LOGICAL pgoutput EXPORT_SNAPSHOT",
             cut->slot_name);
    rc = p2d_pg_exec(repl, sql, "cannot create the replication slot", &res, err);
    cut->create_seconds = now_seconds() - t0;
    if (rc != 0) {
        if (strcmp(err->sqlstate, "42710") == 0)
            snprintf(err->hint, sizeof(err->hint),
                     "slot \"%s\" already exists: another sync of this job is running or an "
                     "earlier one left it; resume that sync, or remove it with pg2doris drop",
                     cut->slot_name);
        else if (strcmp(err->sqlstate, "55000") == 0 && !err->hint[0])
            snprintf(err->hint, sizeof(err->hint),
                     "logical decoding needs wal_level = logical (restart PostgreSQL after "
                     "changing it)");
        else if (strcmp(err->sqlstate, "53400") == 0 && !err->hint[0])
            snprintf(err->hint, sizeof(err->hint),
                     "all replication slots are in use: raise max_replication_slots or drop "
                     "unused slots");
        return rc;
    }
    if (PQntuples(res) != 1 || PQnfields(res) < 3 || PQgetisnull(res, 0, 1) ||
        PQgetisnull(res, 0, 2)) {
        PQclear(res);
        p2d_pg_error_set(err, P2D_PG_OTHER, NULL,
                         "CREATE_REPLICATION_SLOT returned no consistent point or snapshot");
        return P2D_EPROTO;
    }
    if (p2d_pg_lsn_parse(PQgetvalue(res, 0, 1), &cut->consistent_point) != 0 ||
        strlen(PQgetvalue(res, 0, 2)) >= sizeof(cut->slot_snapshot)) {
        p2d_pg_error_set(err, P2D_PG_OTHER, NULL,
                         "CREATE_REPLICATION_SLOT returned an unreadable consistent point or "
                         "snapshot name");
        PQclear(res);
        return P2D_EPROTO;
    }
    snprintf(cut->slot_snapshot, sizeof(cut->slot_snapshot), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    return 0;
}

/* H: import S, lock, re-export. N is used to name blockers on a lock timeout. */
static int open_holder(PGconn *h, PGconn *n, const struct p2d_slot_opts *o,
                       struct p2d_slot_cut *cut, struct p2d_pg_error *err)
{
    struct p2d_buf sql;
    int lock_ms = o->lock_timeout_ms > 0 ? o->lock_timeout_ms : 10000;
    char stmt[160];
    bool null;
    int rc;

    p2d_buf_init(&sql, 1 << 22);
    rc = p2d_pg_exec(h, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                     "cannot start the snapshot holder", NULL, err);
    if (rc != 0)
        goto out;
    if (cut->slot_snapshot[0]) { /* empty: a fresh snapshot (reuse_slot) */
        snprintf(stmt, sizeof(stmt), "SET TRANSACTION SNAPSHOT '%s'", cut->slot_snapshot);
        rc = p2d_pg_exec(h, stmt, "cannot import the slot's snapshot", NULL, err);
        if (rc != 0)
            goto out;
    }
    snprintf(stmt, sizeof(stmt), "SET LOCAL lock_timeout = %d", lock_ms);
    rc = p2d_pg_exec(h, stmt, "cannot set lock_timeout", NULL, err);
    if (rc != 0)
        goto out;
    rc = p2d_pg_appendf(&sql, "LOCK TABLE ");
    if (rc == 0)
        rc = append_table_list(h, &sql, o->tables, o->ntables);
    if (rc == 0)
        rc = p2d_pg_appendf(&sql, " IN ACCESS SHARE MODE");
    if (rc != 0) {
        rc = buf_error(rc, err);
        goto out;
    }
    rc = p2d_pg_exec(h, (char *)sql.data, "cannot lock the selected tables", NULL, err);
    if (rc != 0) {
        if (strcmp(err->sqlstate, "55P03") == 0)
            lock_timeout_error(n, o, "cannot lock the selected tables in ACCESS SHARE mode", err);
        goto out;
    }
    rc = p2d_pg_exec(h, "SET LOCAL lock_timeout = 0", "cannot reset lock_timeout", NULL, err);
    if (rc != 0)
        goto out;
    rc = p2d_pg_query_value(h, "SELECT pg_export_snapshot()", "cannot re-export the snapshot",
                            cut->snapshot, sizeof(cut->snapshot), &null, err);
    if (rc == 0 && null) {
        p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "pg_export_snapshot() returned NULL");
        rc = P2D_EPROTO;
    }
out:
    p2d_buf_fini(&sql);
    return rc;
}

/* Drops what a failed create made; errors are logged, the first failure stays in err. */
static void undo_create(PGconn *n, const struct p2d_slot_cut *cut, bool slot_made)
{
    struct p2d_pg_error e;
    char sql[200];

    if (!n)
        return;
    if (slot_made) {
        snprintf(sql, sizeof(sql), "SELECT pg_drop_replication_slot('%s')", cut->slot_name);
        if (p2d_pg_exec(n, sql, "cannot drop the new slot", NULL, &e) != 0)
            P2D_WARN("slot", "%s; hint: drop it with pg2doris drop", e.message);
    }
    if (cut->created_publication) {
        snprintf(sql, sizeof(sql), "DROP PUBLICATION IF EXISTS \"%s\"", cut->publication);
        if (p2d_pg_exec(n, sql, "cannot drop the new publication", NULL, &e) != 0)
            P2D_WARN("slot", "%s; hint: drop it with pg2doris drop", e.message);
    }
}

int p2d_slot_create(const struct p2d_slot_opts *o, struct p2d_slot **out, struct p2d_pg_error *err)
{
    struct p2d_slot *s = NULL;
    PGconn *n = NULL;
    bool slot_made = false;
    char lsn[24], stmt[64];
    int rc;

    *out = NULL;
    p2d_pg_error_clear(err);
    if (!o || !o->tables || o->ntables == 0) {
        p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "no tables selected for the slot");
        return P2D_EINVAL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "out of memory");
        return P2D_ENOMEM;
    }
    if (p2d_slot_name(o->job_id, s->cut.slot_name, sizeof(s->cut.slot_name)) != 0) {
        p2d_pg_error_set(err, P2D_PG_OTHER, "job ids are 1 to 59 characters of a-z, 0-9 and _",
                         "invalid job id \"%s\" for a slot name", o->job_id ? o->job_id : "");
        rc = P2D_EINVAL;
        goto fail;
    }
    memcpy(s->cut.publication, s->cut.slot_name, sizeof(s->cut.publication));

    rc = p2d_pg_connect(o->conninfo, P2D_PG_SQL, o->app_name, &n, err);
    if (rc != 0)
        goto fail;
    s->cut.server_version = PQserverVersion(n);
    /* CREATE / ALTER PUBLICATION lock the tables too: bounded like the holder. */
    snprintf(stmt, sizeof(stmt), "SET lock_timeout = %d",
             o->lock_timeout_ms > 0 ? o->lock_timeout_ms : 10000);
    rc = p2d_pg_exec(n, stmt, "cannot set lock_timeout", NULL, err);
    if (rc == 0)
        rc = ensure_publication(n, o, s->cut.publication, &s->cut.created_publication, err);
    if (rc != 0) {
        if (strcmp(err->sqlstate, "55P03") == 0)
            lock_timeout_error(n, o, "cannot create or complete the publication", err);
        goto fail;
    }
    rc = p2d_pg_connect(o->conninfo, P2D_PG_SQL, o->app_name, &s->holder, err);
    if (rc != 0)
        goto fail;
    rc = p2d_pg_connect(o->conninfo, P2D_PG_REPLICATION, o->app_name, &s->repl, err);
    if (rc != 0)
        goto fail;
    rc = identify_system(s->repl, &s->cut, err);
    if (rc != 0)
        goto fail;
    /* Also pinned in the startup packet; said again so that no server-side
     * default can interrupt the slot creation (§1.1). */
    rc = p2d_pg_exec(s->repl,
                     "SET statement_timeout = 0; SET lock_timeout = 0; "
                     "SET idle_in_transaction_session_timeout = 0",
                     "cannot set timeouts on the replication connection", NULL, err);
    if (rc != 0)
        goto fail;
    if (o->reuse_slot) {
        char q[200];
        bool null = true;
        char found[8];

        snprintf(q, sizeof(q), "SELECT 1 FROM pg_replication_slots WHERE slot_name = '%s'",
                 s->cut.slot_name);
        rc = p2d_pg_query_value(n, q, "cannot look for the replication slot", found, sizeof(found),
                                &null, err);
        if (rc == 0 && null) {
            p2d_pg_error_set(err, P2D_PG_OTHER,
                             "the slot was dropped while the job was stopped; start the job "
                             "again from scratch (pg2doris drop, then sync)",
                             "replication slot \"%s\" of this job no longer exists",
                             s->cut.slot_name);
            rc = P2D_ESOURCE;
        }
        if (rc != 0)
            goto fail;
        s->cut.consistent_point = o->reuse_lsn;
    } else {
        rc = create_slot(s->repl, &s->cut, err);
        if (rc != 0)
            goto fail;
        slot_made = true;
    }
    if (s->cut.create_seconds > 1.0)
        P2D_WARN("slot",
                 "creating slot \"%s\" took %.1f s waiting for running transactions; hint: "
                 "long write transactions delay slot creation",
                 s->cut.slot_name, s->cut.create_seconds);
    rc = open_holder(s->holder, n, o, &s->cut, err);
    if (rc != 0)
        goto fail;
    s->holder_open = true;
    if (!o->keep_replication) {
        PQfinish(s->repl);
        s->repl = NULL;
    }
    PQfinish(n);
    P2D_INFO("slot", "slot \"%s\" consistent at %s, snapshot %s (holder %s)", s->cut.slot_name,
             p2d_pg_lsn_format(s->cut.consistent_point, lsn, sizeof(lsn)), s->cut.slot_snapshot,
             s->cut.snapshot);
    *out = s;
    return 0;

fail:
    if (s) {
        /* The slot is released by its walsender after creation; close R
         * and H first anyway so nothing holds it. */
        if (s->repl)
            PQfinish(s->repl);
        if (s->holder)
            PQfinish(s->holder);
        s->repl = s->holder = NULL;
        undo_create(n, &s->cut, slot_made);
        free(s);
    }
    if (n)
        PQfinish(n);
    return rc;
}

const struct p2d_slot_cut *p2d_slot_cut(const struct p2d_slot *s)
{
    return &s->cut;
}

PGconn *p2d_slot_holder(struct p2d_slot *s)
{
    return s->holder;
}

PGconn *p2d_slot_take_replication(struct p2d_slot *s)
{
    PGconn *r = s->repl;

    s->repl = NULL;
    return r;
}

int p2d_slot_release(struct p2d_slot *s, struct p2d_pg_error *err)
{
    int rc;

    if (!s->holder_open)
        return 0;
    rc = p2d_pg_exec(s->holder, "COMMIT", "cannot end the snapshot holder", NULL, err);
    s->holder_open = false;
    return rc;
}

void p2d_slot_destroy(struct p2d_slot *s)
{
    if (!s)
        return;
    if (s->holder)
        PQfinish(s->holder);
    if (s->repl)
        PQfinish(s->repl);
    free(s);
}

int p2d_slot_status(PGconn *conn, const char *slot_name, struct p2d_slot_status *st,
                    struct p2d_pg_error *err)
{
    struct p2d_buf sql;
    PGresult *res = NULL;
    int rc;

    memset(st, 0, sizeof(*st));
    p2d_buf_init(&sql, 4096);
    rc = p2d_pg_appendf(&sql,
                        "SELECT active, coalesce(active_pid, 0), plugin = 'pgoutput' AND "
                        "slot_type = 'logical', database IS NOT DISTINCT FROM "
                        "current_database(), %s, coalesce(restart_lsn::text, ''), "
                        "coalesce(confirmed_flush_lsn::text, '') FROM pg_replication_slots "
                        "WHERE slot_name = ",
                        PQserverVersion(conn) >= 130000 ? "coalesce(wal_status, '')" : "''");
    if (rc == 0)
        rc = p2d_pg_append_literal(conn, &sql, slot_name);
    if (rc != 0) {
        rc = buf_error(rc, err);
        goto out;
    }
    rc = p2d_pg_exec(conn, (char *)sql.data, "cannot read pg_replication_slots", &res, err);
    if (rc != 0 || PQntuples(res) == 0)
        goto out;
    st->exists = true;
    st->active = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    st->active_pid = atoi(PQgetvalue(res, 0, 1));
    st->logical_pgoutput = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
    st->same_database = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    snprintf(st->wal_status, sizeof(st->wal_status), "%s", PQgetvalue(res, 0, 4));
    if (*PQgetvalue(res, 0, 5))
        (void)!p2d_pg_lsn_parse(PQgetvalue(res, 0, 5), &st->restart_lsn);
    if (*PQgetvalue(res, 0, 6))
        (void)!p2d_pg_lsn_parse(PQgetvalue(res, 0, 6), &st->confirmed_flush_lsn);
out:
    PQclear(res);
    p2d_buf_fini(&sql);
    return rc;
}

int p2d_slot_drop(PGconn *conn, const char *job_id, bool *slot_dropped, bool *pub_dropped,
                  struct p2d_pg_error *err)
{
    char name[P2D_SLOT_NAME_MAX], sql[200], exists[8];
    struct p2d_slot_status st;
    bool null;
    int rc;

    if (slot_dropped)
        *slot_dropped = false;
    if (pub_dropped)
        *pub_dropped = false;
    p2d_pg_error_clear(err);
    if (p2d_slot_name(job_id, name, sizeof(name)) != 0) {
        p2d_pg_error_set(err, P2D_PG_OTHER, "job ids are 1 to 59 characters of a-z, 0-9 and _",
                         "invalid job id \"%s\"", job_id ? job_id : "");
        return P2D_EINVAL;
    }
    rc = p2d_slot_status(conn, name, &st, err);
    if (rc != 0)
        return rc;
    if (st.exists && st.active) {
        char hint[160];

        snprintf(hint, sizeof(hint),
                 "stop the sync using it first, or end that session with "
                 "SELECT pg_terminate_backend(%d)",
                 st.active_pid);
        p2d_pg_error_set(err, P2D_PG_OTHER, hint,
                         "cannot drop replication slot \"%s\": it is active for PID %d", name,
                         st.active_pid);
        return P2D_ESOURCE;
    }
    if (st.exists) {
        snprintf(sql, sizeof(sql), "SELECT pg_drop_replication_slot('%s')", name);
        rc = p2d_pg_exec(conn, sql, "cannot drop the replication slot", NULL, err);
        if (rc != 0)
            return rc;
        if (slot_dropped)
            *slot_dropped = true;
        P2D_INFO("slot", "dropped replication slot \"%s\"", name);
    }
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_publication WHERE pubname = '%s'", name);
    rc = p2d_pg_query_value(conn, sql, "cannot look up the publication", exists, sizeof(exists),
                            &null, err);
    if (rc != 0)
        return rc;
    if (strcmp(exists, "0") != 0) {
        snprintf(sql, sizeof(sql), "DROP PUBLICATION IF EXISTS \"%s\"", name);
        rc = p2d_pg_exec(conn, sql, "cannot drop the publication", NULL, err);
        if (rc != 0)
            return rc;
        if (pub_dropped)
            *pub_dropped = true;
        P2D_INFO("slot", "dropped publication \"%s\"", name);
    }
    return 0;
}

int p2d_slot_check_xid_holders(PGconn *conn, double min_age_seconds, struct p2d_xid_holder *out,
                               size_t cap, size_t *total, enum p2d_check_result *verdict, char *msg,
                               size_t msglen, struct p2d_pg_error *err)
{
    char sql[2048];
    PGresult *res = NULL;
    size_t i, n, len = 0;
    bool fail = false;
    int rc;

    *total = 0;
    *verdict = P2D_CHECK_PASS;
    if (msglen)
        msg[0] = '\0';
    /*
     * pg_locks shows every XID holder (its ExclusiveLock on its own
     * transactionid) to any role; pg_stat_activity adds detail where the role
     * may see it. Prepared transactions hold their XID with no session.
     */
    snprintf(sql, sizeof(sql),
             "SELECT * FROM ("
             " SELECT l.pid, false AS prepared,"
             "  coalesce(a.state LIKE 'idle in transaction%%', false),"
             "  coalesce(extract(epoch FROM clock_timestamp() - a.xact_start), -1)::float8 AS age,"
             "  coalesce(a.datname, ''), coalesce(a.usename, ''), coalesce(a.xact_start::text, "
             "  ''), left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 150)"
             " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
             " WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted"
             "  AND l.pid IS NOT NULL AND l.pid <> pg_backend_pid()"
             " UNION ALL"
             " SELECT 0, true, false,"
             "  extract(epoch FROM clock_timestamp() - prepared)::float8, database, "
             "  owner::text, prepared::text, left('prepared transaction ' || quote_literal(gid), "
             "  150)"
             " FROM pg_prepared_xacts) h"
             " WHERE h.age < 0 OR h.age >= %.3f ORDER BY h.age DESC",
             min_age_seconds);
    rc = p2d_pg_exec(conn, sql, "cannot look for long transactions", &res, err);
    if (rc != 0)
        return rc;
    n = (size_t)PQntuples(res);
    *total = n;
    for (i = 0; i < n; i++) {
        bool prepared = strcmp(PQgetvalue(res, (int)i, 1), "t") == 0;
        bool idle = strcmp(PQgetvalue(res, (int)i, 2), "t") == 0;

        if (prepared || idle)
            fail = true;
        if (i < cap && out) {
            struct p2d_xid_holder *h = &out[i];

            h->pid = atoi(PQgetvalue(res, (int)i, 0));
            h->prepared = prepared;
            h->idle_in_transaction = idle;
            h->age_seconds = strtod(PQgetvalue(res, (int)i, 3), NULL);
            snprintf(h->datname, sizeof(h->datname), "%s", PQgetvalue(res, (int)i, 4));
            snprintf(h->usename, sizeof(h->usename), "%s", PQgetvalue(res, (int)i, 5));
            snprintf(h->xact_start, sizeof(h->xact_start), "%s", PQgetvalue(res, (int)i, 6));
            snprintf(h->query, sizeof(h->query), "%s", PQgetvalue(res, (int)i, 7));
        }
        if (i < 3 && len + 1 < msglen)
            len += (size_t)snprintf(
                msg + len, msglen - len, "%s%s %s (database \"%s\", since %s): \"%s\"",
                i ? "; " : "", prepared ? "prepared transaction" : "pid",
                prepared ? "" : PQgetvalue(res, (int)i, 0), PQgetvalue(res, (int)i, 4),
                PQgetvalue(res, (int)i, 6), PQgetvalue(res, (int)i, 7));
    }
    if (n == 0) {
        if (msglen)
            snprintf(msg, msglen, "no transactions hold an XID that would delay slot creation");
    } else {
        *verdict = fail ? P2D_CHECK_FAIL : P2D_CHECK_WARN;
        if (n > 3 && len + 1 < msglen)
            len += (size_t)snprintf(msg + len, msglen - len, "; and %zu more", n - 3);
        if (len + 1 < msglen)
            snprintf(msg + len, msglen - len,
                     "; hint: slot creation waits until these transactions end%s",
                     fail ? " (idle or prepared ones may never end: commit, roll back or "
                            "terminate them)"
                          : "");
    }
    PQclear(res);
    return 0;
}
