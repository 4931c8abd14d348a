/*
 * precheck.c - the checks of DESIGN §5 before a sync (precheck.h).
 *
 * Source: one SQL session (snapshot/pgconn.h) reads the role, the settings
 * and the slot / wal sender counts in one query, then the catalog of the
 * selection (schema/catalog.h) and the privileges on those tables. Nothing
 * is created at the source. Destination: SQL over the FE's HTTP port
 * (sink/doris_sql.h). SHOW GRANTS is not answered by every FE (doris-emu
 * does not), so privileges are probed with statements that change nothing:
 * CREATE DATABASE IF NOT EXISTS on the target database, and TRUNCATE /
 * ALTER / DROP TABLE IF EXISTS / SELECT on a table name that does not exist
 * there. The FE checks the privilege before it looks for the table, so an
 * "Access denied" answer means the privilege is missing and "unknown table"
 * means it is there.
 */
#include "job/precheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "base/buf.h"
#include "p2d_error.h"
#include "schema/catalog.h"
#include "sink/doris_sql.h"
#include "snapshot/pgconn.h"
#include "snapshot/slot.h"

#define XID_MIN_AGE_S 60.0 /* "long-running": younger ones only delay slot creation */
#define LIST_MAX      8    /* names listed in one finding before "and N more" */
#define PROBE_TABLE   "p2d_precheck_probe_absent"

/* Cloud roles that grant replication without the REPLICATION attribute. */
static const char cloud_roles_sql[] =
    "'rds_replication', 'rds_superuser', 'azure_pg_admin', 'cloudsqlsuperuser', "
    "'alloydbsuperuser', 'pg_replication'";

const char *p2d_precheck_status_name(enum p2d_precheck_status s)
{
    switch (s) {
    case P2D_PRECHECK_PASS:
        return "PASS";
    case P2D_PRECHECK_WARN:
        return "WARN";
    case P2D_PRECHECK_FAIL:
        return "FAIL";
    }
    return "?";
}

/* ---- items ----------------------------------------------------------------- */

static void item_set(struct p2d_precheck_item *it, enum p2d_precheck_status status,
                     const char *name, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void item_set(struct p2d_precheck_item *it, enum p2d_precheck_status status,
                     const char *name, const char *hint, const char *fmt, ...)
{
    va_list ap;

    memset(it, 0, sizeof(*it));
    it->status = status;
    snprintf(it->item, sizeof(it->item), "%s", name);
    snprintf(it->hint, sizeof(it->hint), "%s", hint ? hint : "");
    va_start(ap, fmt);
    vsnprintf(it->finding, sizeof(it->finding), fmt, ap);
    va_end(ap);
}

/* Appends a slot for one more item; NULL on allocation failure. */
static struct p2d_precheck_item *item_new(struct p2d_precheck_report *rep)
{
    if (rep->nitems == rep->cap) {
        size_t cap = rep->cap ? rep->cap * 2 : 16;
        struct p2d_precheck_item *p = realloc(rep->items, cap * sizeof(*p));

        if (!p)
            return NULL;
        rep->items = p;
        rep->cap = cap;
    }
    return &rep->items[rep->nitems++];
}

/* Adds a finished item (copied). Returns 0 or P2D_ENOMEM. */
static int item_add(struct p2d_precheck_report *rep, const struct p2d_precheck_item *it)
{
    struct p2d_precheck_item *slot = item_new(rep);

    if (!slot)
        return P2D_ENOMEM;
    *slot = *it;
    return 0;
}

/* A short list of names for a finding: "a, b, c and 4 more". */
struct name_list {
    char text[1024];
    size_t n;
};

static void list_add(struct name_list *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void list_add(struct name_list *l, const char *fmt, ...)
{
    va_list ap;
    size_t len = strlen(l->text);

    if (l->n++ >= LIST_MAX || len + 8 >= sizeof(l->text))
        return;
    if (l->n > 1)
        len += (size_t)snprintf(l->text + len, sizeof(l->text) - len, ", ");
    va_start(ap, fmt);
    vsnprintf(l->text + len, sizeof(l->text) - len, fmt, ap);
    va_end(ap);
}

/* "a, b and 3 more" into out. */
static const char *list_text(const struct name_list *l, char *out, size_t outlen)
{
    if (l->n > LIST_MAX)
        snprintf(out, outlen, "%s and %zu more", l->text, l->n - LIST_MAX);
    else
        snprintf(out, outlen, "%s", l->text);
    return out;
}

/* Copies text into out as one line: newlines (and the indentation after
 * them) become "; ". */
static void one_line(const char *text, char *out, size_t outlen)
{
    size_t n = 0;

    if (!outlen)
        return;
    for (const char *p = text; *p && n + 3 < outlen; p++) {
        if (*p == '\n') {
            while (p[1] == '\t' || p[1] == ' ' || p[1] == '\n')
                p++;
            if (p[1]) {
                out[n++] = ';';
                out[n++] = ' ';
            }
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

/* ---- pure evaluations ------------------------------------------------------------- */

void p2d_precheck_eval_wal_level(const char *value, struct p2d_precheck_item *out)
{
    if (value && strcmp(value, "logical") == 0)
        item_set(out, P2D_PRECHECK_PASS, "wal_level", NULL, "wal_level is \"logical\"");
    else
        item_set(out, P2D_PRECHECK_FAIL, "wal_level",
                 "run ALTER SYSTEM SET wal_level = logical as a superuser and restart PostgreSQL",
                 "wal_level is \"%s\"; logical decoding needs \"logical\"",
                 value ? value : "(unknown)");
}

void p2d_precheck_eval_version(int server_version, struct p2d_precheck_item *out)
{
    int major = server_version / 10000;

    if (server_version >= P2D_CATALOG_MIN_VERSION && server_version <= P2D_CATALOG_MAX_VERSION)
        item_set(out, P2D_PRECHECK_PASS, "server version", NULL, "PostgreSQL %d is supported",
                 major);
    else
        item_set(out, P2D_PRECHECK_FAIL, "server version",
                 "use a source running PostgreSQL 10 to 17",
                 "PostgreSQL %d (server_version_num %d) is not supported", major, server_version);
}

void p2d_precheck_eval_replication(const char *role, bool superuser, bool replication,
                                   const char *cloud_role, struct p2d_precheck_item *out)
{
    char hint[512];

    if (superuser)
        item_set(out, P2D_PRECHECK_PASS, "replication privilege", NULL,
                 "role \"%s\" is a superuser", role);
    else if (replication)
        item_set(out, P2D_PRECHECK_PASS, "replication privilege", NULL,
                 "role \"%s\" has the REPLICATION attribute", role);
    else if (cloud_role && cloud_role[0])
        item_set(out, P2D_PRECHECK_WARN, "replication privilege",
                 "if slot creation is refused, grant the provider's replication role or "
                 "REPLICATION to the role",
                 "role \"%s\" has no REPLICATION attribute but is a member of \"%s\", which "
                 "usually allows replication",
                 role, cloud_role);
    else {
        snprintf(hint, sizeof(hint), "run ALTER ROLE \"%s\" REPLICATION as a superuser", role);
        item_set(out, P2D_PRECHECK_FAIL, "replication privilege", hint,
                 "role \"%s\" has neither the REPLICATION attribute nor superuser, so it cannot "
                 "create a replication slot",
                 role);
    }
}

void p2d_precheck_eval_capacity(const char *what, const char *setting, long used, long max,
                                long need, struct p2d_precheck_item *out)
{
    long left = max - used;
    char hint[256];

    snprintf(hint, sizeof(hint), "raise %s (needs a restart) or free some: a sync needs %ld",
             setting, need);
    if (left < need)
        item_set(out, P2D_PRECHECK_FAIL, what, hint, "%ld of %s = %ld in use, %ld free", used,
                 setting, max, left < 0 ? 0 : left);
    else if (left == need)
        item_set(out, P2D_PRECHECK_WARN, what, hint,
                 "%ld of %s = %ld in use: the sync takes the last free one", used, setting, max);
    else
        item_set(out, P2D_PRECHECK_PASS, what, NULL, "%ld of %s = %ld in use, %ld free", used,
                 setting, max, left);
}

/* ---- replica identity (pure) ------------------------------------------------------ */

/* The Doris model t gets: the job file's "engine", else Unique with a key
 * (the catalog's or the job file's "key"), else Duplicate; as schema/ddl.c
 * decides it. */
static enum p2d_table_model table_model(const struct p2d_job *job, const struct p2d_table *t)
{
    const struct p2d_job_table *cfg = p2d_job_table_config(job, t->schema, t->name);

    if (cfg && cfg->model != P2D_MODEL_AUTO)
        return cfg->model;
    return t->key_kind != P2D_KEY_NONE || (cfg && cfg->key) ? P2D_MODEL_UNIQUE
                                                            : P2D_MODEL_DUPLICATE;
}

/* What the replica identity of a table gives the publisher. A partitioned
 * root has no rows: UPDATE and DELETE run on its leaves, and each leaf's
 * own identity counts (ALTER TABLE ... REPLICA IDENTITY does not recurse).
 * A leaf's DEFAULT uses the primary key the leaves inherit from the root. */
struct ident_eval {
    bool usable;   /* UPDATE / DELETE can be published */
    bool full;     /* the whole old row is sent */
    char bad[300]; /* "schema"."name" of the first relation that is not FULL, for the hint */
};

static bool ident_usable(char ri, const struct p2d_table *t)
{
    return ri == 'f' || ri == 'i' || (ri == 'd' && t->key_kind == P2D_KEY_PRIMARY);
}

static void ident_note(struct ident_eval *ev, const char *schema, const char *name, char ri,
                       const struct p2d_table *t)
{
    bool usable = ident_usable(ri, t);

    if (ri == 'f')
        return;
    /* name an unusable relation in the hint rather than one only not FULL */
    if (!ev->bad[0] || (!usable && ev->usable)) {
        snprintf(ev->bad, sizeof(ev->bad), "\"%s\".\"%s\"", schema, name);
    }
    ev->full = false;
    ev->usable = ev->usable && usable;
}

static void ident_eval(const struct p2d_table *t, struct ident_eval *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->usable = ev->full = true;
    if (t->relkind == 'p' && t->npartitions > 0) {
        for (size_t k = 0; k < t->npartitions; k++)
            ident_note(ev, t->partitions[k].schema, t->partitions[k].name,
                       t->partitions[k].replident, t);
    } else {
        ident_note(ev, t->schema, t->name, t->replident, t);
    }
}

/* The fix for the first table of a list, as an ALTER TABLE hint. */
static void ident_hint(const struct p2d_table *t, const struct ident_eval *ev, bool keyless,
                       char *out, size_t outlen)
{
    if (keyless)
        snprintf(out, outlen,
                 "ALTER TABLE %s REPLICA IDENTITY FULL (and the others), or give the table a "
                 "primary key",
                 ev->bad);
    else if (t->key_kind == P2D_KEY_PRIMARY)
        snprintf(out, outlen,
                 "ALTER TABLE %s REPLICA IDENTITY DEFAULT (it has a primary key) or FULL (and "
                 "the others)",
                 ev->bad);
    else if (t->key_kind == P2D_KEY_UNIQUE && t->relkind != 'p')
        snprintf(out, outlen,
                 "ALTER TABLE %s REPLICA IDENTITY USING INDEX \"%s\", or FULL (and the others)",
                 ev->bad, t->key_index);
    else
        snprintf(out, outlen, "ALTER TABLE %s REPLICA IDENTITY FULL (and the others)", ev->bad);
}

size_t p2d_precheck_eval_identity(const struct p2d_job *job, const struct p2d_catalog *cat,
                                  struct p2d_precheck_item out[P2D_PRECHECK_IDENTITY_ITEMS])
{
    struct name_list no_ident = {0}, keyless = {0}, toast = {0};
    bool incremental = (job->modes & P2D_MODE_INCREMENTAL) != 0;
    const struct p2d_table *first_ident = NULL, *first_keyless = NULL;
    struct ident_eval ev_ident = {0}, ev_keyless = {0};
    size_t nduplicate = 0;
    char list[1200], hint[1024];

    for (size_t i = 0; i < cat->ntables; i++) {
        const struct p2d_table *t = &cat->tables[i];
        bool duplicate = table_model(job, t) == P2D_MODEL_DUPLICATE;
        struct ident_eval ev;

        ident_eval(t, &ev);
        nduplicate += duplicate;
        if (incremental && duplicate && !ev.full) {
            /* no key: UPDATE / DELETE carry no usable key unless the whole
             * old row is sent */
            if (!first_keyless) {
                first_keyless = t;
                ev_keyless = ev;
            }
            list_add(&keyless, "\"%s.%s\"", t->schema, t->name);
        } else if (!ev.usable) {
            if (!first_ident) {
                first_ident = t;
                ev_ident = ev;
            }
            list_add(&no_ident, "\"%s.%s\"", t->schema, t->name);
        } else if (incremental && !duplicate && t->has_toastable && !ev.full) {
            list_add(&toast, "\"%s.%s\"", t->schema, t->name);
        }
    }

    if (first_ident) {
        ident_hint(first_ident, &ev_ident, false, hint, sizeof(hint));
        if (incremental)
            item_set(&out[0], P2D_PRECHECK_FAIL, "replica identity", hint,
                     "%zu table(s) have no usable replica identity (NOTHING, or DEFAULT without "
                     "a primary key): UPDATE and DELETE on them fail at the source once they are "
                     "published, so incremental sync cannot follow them: %s",
                     no_ident.n, list_text(&no_ident, list, sizeof(list)));
        else
            item_set(&out[0], P2D_PRECHECK_WARN, "replica identity", hint,
                     "%zu table(s) have no replica identity: while the publication exists, "
                     "UPDATE and DELETE on them fail at the source: %s",
                     no_ident.n, list_text(&no_ident, list, sizeof(list)));
    } else {
        item_set(&out[0], P2D_PRECHECK_PASS, "replica identity", NULL,
                 "every selected table has a usable replica identity");
    }
    if (!incremental)
        return 1;

    if (first_keyless) {
        ident_hint(first_keyless, &ev_keyless, true, hint, sizeof(hint));
        item_set(&out[1], P2D_PRECHECK_FAIL, "keyless tables", hint,
                 "%zu table(s) go to the Duplicate model (no key) without REPLICA IDENTITY FULL: "
                 "without a key an UPDATE or DELETE names no row unless the whole old row is "
                 "published: %s",
                 keyless.n, list_text(&keyless, list, sizeof(list)));
    } else if (nduplicate) {
        item_set(&out[1], P2D_PRECHECK_PASS, "keyless tables", NULL,
                 "%zu table(s) without a key have REPLICA IDENTITY FULL", nduplicate);
    } else {
        item_set(&out[1], P2D_PRECHECK_PASS, "keyless tables", NULL,
                 "no selected table goes to the Duplicate model");
    }

    if (toast.n)
        item_set(&out[2], P2D_PRECHECK_PASS, "unchanged TOAST", NULL,
                 "%zu table(s) have TOAST-able columns without REPLICA IDENTITY FULL: an UPDATE "
                 "that leaves such a value unchanged does not carry it, so that change is "
                 "applied as a Doris partial-column update (merge-on-write); when the UPDATE "
                 "also changes the key, the value is read from the source under the new key "
                 "(one query per such change); REPLICA IDENTITY FULL avoids both (whole rows, "
                 "more WAL): %s",
                 toast.n, list_text(&toast, list, sizeof(list)));
    else
        item_set(&out[2], P2D_PRECHECK_PASS, "unchanged TOAST", NULL,
                 "every UPDATE carries whole rows (no TOAST-able column without REPLICA "
                 "IDENTITY FULL)");
    return 3;
}

/* ---- source ---------------------------------------------------------------------- */

static int source_fatal(struct p2d_precheck_report *rep, const struct p2d_pg_error *e)
{
    char msg[sizeof(e->message)];
    const char *hint = e->hint;

    one_line(e->message, msg, sizeof(msg));
    if (!hint[0]) {
        if (e->cls == P2D_PG_AUTH)
            hint = "check the user and password in --source, PGPASSWORD or ~/.pgpass, and "
                   "pg_hba.conf";
        else if (e->cls == P2D_PG_CONNECT)
            hint = "check the host and port in --source and that PostgreSQL is running";
        else if (strcmp(e->sqlstate, "3D000") == 0 || strstr(msg, "does not exist"))
            hint = "check dbname in --source";
        else
            hint = "check --source";
    }
    snprintf(rep->fatal, sizeof(rep->fatal), "cannot connect to the source: %s; hint: %s", msg,
             hint);
    return P2D_EXIT_SOURCE;
}

/* A query failed after connecting: recorded as a failed item. */
static int source_query_failed(struct p2d_precheck_report *rep, const char *name,
                               const struct p2d_pg_error *e)
{
    struct p2d_precheck_item it;
    char msg[sizeof(e->message)];

    one_line(e->message, msg, sizeof(msg));
    item_set(&it, P2D_PRECHECK_FAIL, name, e->hint[0] ? e->hint : "check the source's logs", "%s",
             msg);
    return item_add(rep, &it);
}

static bool pg_bool(const PGresult *r, int col)
{
    return PQgetvalue(r, 0, col)[0] == 't';
}

/* Role, settings and capacity items. Sets *role_super for later items. */
static int check_role(PGconn *conn, const struct p2d_job *job, struct p2d_precheck_report *rep,
                      bool *role_super, bool *can_create)
{
    char job_id[P2D_JOB_FINGERPRINT_LEN], slot_name[P2D_SLOT_NAME_MAX];
    struct p2d_pg_error e;
    struct p2d_precheck_item it;
    struct p2d_buf q;
    PGresult *r = NULL;
    int rc;

    if ((rc = p2d_job_fingerprint(job, job_id)) != 0 ||
        (rc = p2d_slot_name(job_id, slot_name, sizeof(slot_name))) != 0)
        return rc;
    p2d_buf_init(&q, 64 * 1024);
    /* our own leftover slot is dropped by sync before it makes a new one */
    rc = p2d_pg_appendf(&q,
                        "SELECT current_user, r.rolsuper, r.rolreplication,"
                        " coalesce((SELECT string_agg(g.rolname, ',') FROM pg_roles g"
                        "  WHERE g.rolname IN (%s) AND pg_has_role(current_user, g.oid, "
                        "'MEMBER')), ''),"
                        " has_database_privilege(current_database(), 'CREATE'),"
                        " current_setting('wal_level'),"
                        " current_setting('max_replication_slots')::int8,"
                        " (SELECT count(*) FROM pg_replication_slots WHERE slot_name <> ",
                        cloud_roles_sql);
    if (rc == 0)
        rc = p2d_pg_append_literal(conn, &q, slot_name);
    if (rc == 0)
        rc = p2d_pg_appendf(&q, "),"
                                " current_setting('max_wal_senders')::int8,"
                                " (SELECT count(*) FROM pg_stat_activity"
                                "  WHERE backend_type = 'walsender'),"
                                " current_database()"
                                " FROM pg_roles r WHERE r.rolname = current_user");
    if (rc != 0) {
        p2d_buf_fini(&q);
        return rc;
    }
    rc = p2d_pg_exec(conn, (const char *)q.data, "cannot read the role and settings", &r, &e);
    p2d_buf_fini(&q);
    if (rc != 0)
        return source_query_failed(rep, "role and settings", &e);
    if (PQntuples(r) != 1) {
        PQclear(r);
        item_set(&it, P2D_PRECHECK_FAIL, "role and settings", "check --source",
                 "the current role is not in pg_roles");
        return item_add(rep, &it);
    }
    *role_super = pg_bool(r, 1);
    *can_create = pg_bool(r, 4);
    p2d_precheck_eval_wal_level(PQgetvalue(r, 0, 5), &it);
    rc = item_add(rep, &it);
    p2d_precheck_eval_replication(PQgetvalue(r, 0, 0), pg_bool(r, 1), pg_bool(r, 2),
                                  PQgetvalue(r, 0, 3), &it);
    if (rc == 0)
        rc = item_add(rep, &it);
    p2d_precheck_eval_capacity("replication slots", "max_replication_slots",
                               atol(PQgetvalue(r, 0, 7)), atol(PQgetvalue(r, 0, 6)), 1, &it);
    if (rc == 0)
        rc = item_add(rep, &it);
    /* the slot is created over one replication connection */
    p2d_precheck_eval_capacity("wal senders", "max_wal_senders", atol(PQgetvalue(r, 0, 9)),
                               atol(PQgetvalue(r, 0, 8)), 1, &it);
    if (rc == 0)
        rc = item_add(rep, &it);
    PQclear(r);
    return rc;
}

/* Per selected table (and leaf): SELECT privilege and ownership. */
static int check_table_rights(PGconn *conn, const struct p2d_catalog *cat, bool role_super,
                              bool can_create, struct p2d_precheck_report *rep)
{
    struct name_list no_select = {0}, not_owned = {0};
    struct p2d_precheck_item it;
    struct p2d_pg_error e;
    struct p2d_buf q;
    PGresult *r = NULL;
    char list[1200], hint[1024], first[300] = "";
    int rc;

    p2d_buf_init(&q, 64 * 1024 * 1024);
    rc = p2d_pg_appendf(&q, "SELECT n.nspname, c.relname, has_table_privilege(c.oid, 'SELECT'),"
                            " pg_has_role(c.relowner, 'USAGE'), c.relispartition"
                            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                            " WHERE c.oid = ANY ('{0");
    for (size_t i = 0; i < cat->ntables && rc == 0; i++) {
        rc = p2d_pg_appendf(&q, ",%u", cat->tables[i].oid);
        for (size_t k = 0; k < cat->tables[i].npartitions && rc == 0; k++)
            rc = p2d_pg_appendf(&q, ",%u", cat->tables[i].partitions[k].oid);
    }
    if (rc == 0)
        rc = p2d_pg_appendf(&q, "}'::oid[]) ORDER BY 1, 2");
    if (rc != 0) {
        p2d_buf_fini(&q);
        return rc;
    }
    rc = p2d_pg_exec(conn, (const char *)q.data, "cannot read table privileges", &r, &e);
    p2d_buf_fini(&q);
    if (rc != 0)
        return source_query_failed(rep, "table privileges", &e);
    for (int i = 0; i < PQntuples(r); i++) {
        const char *schema = PQgetvalue(r, i, 0), *name = PQgetvalue(r, i, 1);

        if (PQgetvalue(r, i, 2)[0] != 't') {
            if (!first[0])
                snprintf(first, sizeof(first), "\"%s\".\"%s\"", schema, name);
            list_add(&no_select, "\"%s.%s\"", schema, name);
        }
        /* the publication lists roots and plain tables, never leaves */
        if (PQgetvalue(r, i, 3)[0] != 't' && PQgetvalue(r, i, 4)[0] != 't')
            list_add(&not_owned, "\"%s.%s\"", schema, name);
    }
    PQclear(r);

    if (no_select.n) {
        snprintf(hint, sizeof(hint),
                 "GRANT SELECT ON %s (and the others) TO the role, or GRANT SELECT ON ALL "
                 "TABLES IN SCHEMA ... TO it",
                 first);
        item_set(&it, P2D_PRECHECK_FAIL, "table SELECT", hint,
                 "no SELECT privilege on %zu table(s): %s", no_select.n,
                 list_text(&no_select, list, sizeof(list)));
    } else {
        item_set(&it, P2D_PRECHECK_PASS, "table SELECT", NULL,
                 "SELECT granted on every selected table and leaf");
    }
    if ((rc = item_add(rep, &it)) != 0)
        return rc;

    /* CREATE PUBLICATION ... FOR TABLE: CREATE on the database and
     * ownership of every listed table (superusers bypass both) */
    if (role_super)
        item_set(&it, P2D_PRECHECK_PASS, "publication rights", NULL,
                 "a superuser may create the publication");
    else if (!can_create)
        item_set(&it, P2D_PRECHECK_FAIL, "publication rights",
                 "GRANT CREATE ON DATABASE <source database> TO the role",
                 "the role has no CREATE privilege on the database, needed to create the "
                 "publication");
    else if (not_owned.n)
        item_set(&it, P2D_PRECHECK_FAIL, "publication rights",
                 "run the sync as the tables' owner (or a member of the owning role) or a "
                 "superuser, or ALTER TABLE ... OWNER TO the role",
                 "the role does not own %zu table(s) the publication must list: %s", not_owned.n,
                 list_text(&not_owned, list, sizeof(list)));
    else
        item_set(&it, P2D_PRECHECK_PASS, "publication rights", NULL,
                 "CREATE on the database and ownership of every selected table");
    return item_add(rep, &it);
}

/* Keys, replica identity, names, partitions, persistence. */
static int check_tables(const struct p2d_job *job, const struct p2d_catalog *cat,
                        struct p2d_precheck_report *rep)
{
    struct name_list nokey = {0}, names = {0}, unlogged = {0};
    struct p2d_precheck_item it, ident[P2D_PRECHECK_IDENTITY_ITEMS];
    struct p2d_job_source_table *st;
    char list[1200], names_text[1536] = "";
    size_t roots = 0, leaves = 0, nident;
    int rc;

    for (size_t i = 0; i < cat->ntables; i++) {
        const struct p2d_table *t = &cat->tables[i];
        const struct p2d_job_table *cfg = p2d_job_table_config(job, t->schema, t->name);
        bool chosen = cfg && (cfg->key || cfg->model == P2D_MODEL_DUPLICATE);

        if (t->key_kind == P2D_KEY_NONE && !chosen)
            list_add(&nokey, "\"%s.%s\"", t->schema, t->name);
        if (t->name_problems) {
            size_t len = strlen(names_text);

            list_add(&names, "\"%s.%s\"", t->schema, t->name);
            if (len + 4 < sizeof(names_text)) {
                if (len)
                    len += (size_t)snprintf(names_text + len, sizeof(names_text) - len, "; ");
                one_line(t->name_problems, names_text + len, sizeof(names_text) - len);
            }
        }
        if (t->relkind == 'p') {
            roots++;
            leaves += t->npartitions;
        }
        if (t->persistence == 'u')
            list_add(&unlogged, "\"%s.%s\"", t->schema, t->name);
    }

    if (nokey.n)
        item_set(&it, P2D_PRECHECK_WARN, "table keys",
                 "add a PRIMARY KEY (or a unique index on NOT NULL columns), or set \"key\" for "
                 "the table in the job file, to get a Unique table",
                 "%zu table(s) without a primary key or NOT NULL unique index go to the Duplicate "
                 "model: %s",
                 nokey.n, list_text(&nokey, list, sizeof(list)));
    else
        item_set(&it, P2D_PRECHECK_PASS, "table keys", NULL,
                 "every selected table has a primary key or NOT NULL unique index");
    if ((rc = item_add(rep, &it)) != 0)
        return rc;

    nident = p2d_precheck_eval_identity(job, cat, ident);
    for (size_t i = 0; i < nident; i++)
        if ((rc = item_add(rep, &ident[i])) != 0)
            return rc;

    if (names.n)
        item_set(&it, P2D_PRECHECK_FAIL, "names", "map them in the job file (docs/job-file.md)",
                 "Doris refuses names of %zu table(s): %s", names.n, names_text);
    else
        item_set(&it, P2D_PRECHECK_PASS, "names", NULL, "Doris accepts every destination name");
    if ((rc = item_add(rep, &it)) != 0)
        return rc;

    /* two source tables landing on one Doris table */
    st = calloc(cat->ntables ? cat->ntables : 1, sizeof(*st));
    if (!st)
        return P2D_ENOMEM;
    for (size_t i = 0; i < cat->ntables; i++) {
        st[i].schema = cat->tables[i].schema;
        st[i].table = cat->tables[i].name;
    }
    {
        char err[4096];

        rc = p2d_job_check_collisions(job, st, cat->ntables, err, sizeof(err));
        free(st);
        if (rc == P2D_ENOMEM)
            return rc;
        if (rc != 0 && !names.n) {
            char line[1536];

            one_line(err, line, sizeof(line));
            item_set(&it, P2D_PRECHECK_FAIL, "destination names",
                     "map the tables to distinct names in the job file", "%s", line);
            if ((rc = item_add(rep, &it)) != 0)
                return rc;
        }
    }

    if (roots)
        item_set(&it, P2D_PRECHECK_PASS, "partitioned tables", NULL,
                 "%zu partitioned table(s) are synced through their roots (%zu leaves read)", roots,
                 leaves);
    else
        item_set(&it, P2D_PRECHECK_PASS, "partitioned tables", NULL,
                 "no partitioned tables selected");
    if ((rc = item_add(rep, &it)) != 0)
        return rc;

    if (unlogged.n) {
        item_set(&it, P2D_PRECHECK_FAIL, "unlogged tables",
                 "ALTER TABLE ... SET LOGGED, or --exclude them",
                 "unlogged tables cannot be published: %s",
                 list_text(&unlogged, list, sizeof(list)));
        if ((rc = item_add(rep, &it)) != 0)
            return rc;
    }
    return 0;
}

static int check_xid_holders(PGconn *conn, struct p2d_precheck_report *rep)
{
    struct p2d_precheck_item it;
    struct p2d_pg_error e;
    enum p2d_check_result verdict = P2D_CHECK_PASS;
    char msg[1024] = "";
    size_t total = 0;
    int rc;

    rc = p2d_slot_check_xid_holders(conn, XID_MIN_AGE_S, NULL, 0, &total, &verdict, msg,
                                    sizeof(msg), &e);
    if (rc == P2D_ENOMEM)
        return rc;
    if (rc != 0)
        return source_query_failed(rep, "long transactions", &e);
    if (verdict == P2D_CHECK_PASS) {
        item_set(&it, P2D_PRECHECK_PASS, "long transactions", NULL,
                 "no transaction holding an XID for %.0f s or more", XID_MIN_AGE_S);
    } else {
        char line[1024], *h = strstr(msg, "; hint: ");
        const char *hint = "end them (COMMIT, ROLLBACK PREPARED or pg_terminate_backend) "
                           "before the sync";

        one_line(msg, line, sizeof(line));
        h = strstr(line, "; hint: ");
        if (h) {
            *h = '\0';
            hint = h + 8;
        }
        item_set(&it, verdict == P2D_CHECK_FAIL ? P2D_PRECHECK_FAIL : P2D_PRECHECK_WARN,
                 "long transactions", hint, "%s", line);
    }
    return item_add(rep, &it);
}

/* Sets *catp to the selection's catalog when it could be read (the caller
 * destroys it). */
static int check_source(const struct p2d_job *job, struct p2d_precheck_report *rep,
                        struct p2d_catalog **catp)
{
    struct p2d_precheck_item it;
    struct p2d_pg_error e;
    struct p2d_catalog *cat = NULL;
    PGconn *conn = NULL;
    bool role_super = false, can_create = false;
    int version, rc;

    if (p2d_pg_connect(job->source, P2D_PG_SQL, "pg2doris precheck", &conn, &e) != 0) {
        if (conn)
            PQfinish(conn);
        return source_fatal(rep, &e);
    }
    item_set(&it, P2D_PRECHECK_PASS, "source connection", NULL,
             "connected to database \"%s\" as \"%s\"", PQdb(conn), PQuser(conn));
    if ((rc = item_add(rep, &it)) != 0)
        goto out;
    version = PQserverVersion(conn);
    p2d_precheck_eval_version(version, &it);
    if ((rc = item_add(rep, &it)) != 0 || it.status == P2D_PRECHECK_FAIL)
        goto out; /* the catalog queries are written for 10-17 only */
    if ((rc = check_role(conn, job, rep, &role_super, &can_create)) != 0)
        goto out;
    if (p2d_catalog_read(conn, job, 0, &cat, &e) != 0) {
        rc = source_query_failed(rep, "source catalog", &e);
        goto out;
    }
    if (cat->ntables == 0) {
        item_set(&it, P2D_PRECHECK_FAIL, "selection", "check --include, --exclude and the job file",
                 "no table of the source matches the selection");
        rc = item_add(rep, &it);
        goto out;
    }
    item_set(&it, P2D_PRECHECK_PASS, "selection", NULL, "%zu table(s) selected", cat->ntables);
    if ((rc = item_add(rep, &it)) != 0)
        goto out;
    if ((rc = check_table_rights(conn, cat, role_super, can_create, rep)) != 0)
        goto out;
    if ((rc = check_tables(job, cat, rep)) != 0)
        goto out;
    rc = check_xid_holders(conn, rep);
out:
    *catp = cat;
    PQfinish(conn);
    return rc == P2D_ENOMEM ? P2D_EXIT_INTERNAL : P2D_EXIT_OK;
}

/* ---- destination ------------------------------------------------------------------- */

/* True when err is Doris's "Access denied" for a missing privilege. */
static bool access_denied(enum p2d_doris_fail fail, const char *err)
{
    return fail == P2D_DORIS_SQL && strstr(err, "Access denied") != NULL;
}

/* Names of the destination databases of the job (--dest's and the job
 * file's "databases" map), distinct, borrowed from job. */
static size_t dest_databases(const struct p2d_job *job, const char **out, size_t cap)
{
    size_t n = 0;

    out[n++] = job->dest.database;
    for (size_t i = 0; i < job->ndatabases && n < cap; i++) {
        bool seen = false;

        for (size_t k = 0; k < n; k++)
            seen = seen || strcmp(out[k], job->databases[i].database) == 0;
        if (!seen)
            out[n++] = job->databases[i].database;
    }
    return n;
}

/* The tables of db (SHOW TABLES), as a new JSON array of rows, or NULL when
 * the database does not exist or cannot be listed. */
static json_t *dest_tables(struct p2d_doris_sql *c, const char *db)
{
    enum p2d_doris_fail fail;
    json_t *data = NULL, *rows;
    char q[300], stmt[400], err[512];

    p2d_doris_quote_ident(db, q, sizeof(q));
    snprintf(stmt, sizeof(stmt), "SHOW TABLES FROM %s", q);
    if (p2d_doris_sql_exec(c, "information_schema", stmt, &data, &fail, err, sizeof(err)) != 0)
        return NULL;
    rows = p2d_doris_rows(data);
    if (rows)
        json_incref(rows);
    json_decref(data);
    return rows;
}

static bool rows_have(json_t *rows, const char *name)
{
    size_t i;
    json_t *row;

    json_array_foreach(rows, i, row)
    {
        const char *s = json_string_value(json_array_get(row, 0));

        if (s && strcmp(s, name) == 0)
            return true;
    }
    return false;
}

/* Privileges on db: CREATE through CREATE DATABASE IF NOT EXISTS, the rest
 * through statements on PROBE_TABLE, which does not exist. */
static int check_dest_privileges(struct p2d_doris_sql *c, const struct p2d_job *job, const char *db,
                                 struct p2d_precheck_report *rep)
{
    static const struct {
        const char *priv;
        const char *before, *after; /* around `db`.`probe` */
    } probes[] = {
        {"SELECT", "SELECT * FROM ", " LIMIT 0"},
        {"LOAD", "TRUNCATE TABLE ", ""},
        {"ALTER", "ALTER TABLE ", " ADD COLUMN p2d_probe INT"},
        {"DROP", "DROP TABLE IF EXISTS ", ""},
    };
    struct p2d_precheck_item it;
    struct name_list missing = {0};
    enum p2d_doris_fail fail = P2D_DORIS_OK;
    char qdb[300], qt[300], target[700], stmt[900], err[1024], list[1200], hint[1024];
    char other[1024] = "";
    json_t *rows;
    bool unsure = false;

    p2d_doris_quote_ident(db, qdb, sizeof(qdb));
    snprintf(stmt, sizeof(stmt), "CREATE DATABASE IF NOT EXISTS %s", qdb);
    if (p2d_doris_sql_exec(c, "information_schema", stmt, NULL, &fail, err, sizeof(err)) != 0) {
        if (access_denied(fail, err))
            list_add(&missing, "CREATE");
        else
            snprintf(other, sizeof(other), "CREATE DATABASE failed: %.900s", err);
    }
    rows = dest_tables(c, db);
    if (!rows || rows_have(rows, PROBE_TABLE)) {
        unsure = true; /* no database to probe in, or the probe name is taken */
    } else {
        p2d_doris_quote_ident(PROBE_TABLE, qt, sizeof(qt));
        snprintf(target, sizeof(target), "%s.%s", qdb, qt);
        for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
            snprintf(stmt, sizeof(stmt), "%s%s%s", probes[i].before, target, probes[i].after);
            fail = P2D_DORIS_OK;
            if (p2d_doris_sql_exec(c, db, stmt, NULL, &fail, err, sizeof(err)) != 0 &&
                access_denied(fail, err))
                list_add(&missing, "%s", probes[i].priv);
        }
    }
    json_decref(rows);

    if (missing.n) {
        snprintf(hint, sizeof(hint),
                 "as an admin: GRANT %.300s ON %.300s.* TO '%.128s' (Doris _PRIV names)",
                 list_text(&missing, list, sizeof(list)), qdb, job->dest.user);
        item_set(&it, P2D_PRECHECK_FAIL, "destination privileges", hint,
                 "user \"%s\" lacks %s on database %s", job->dest.user,
                 list_text(&missing, list, sizeof(list)), qdb);
    } else if (other[0]) {
        item_set(&it, P2D_PRECHECK_FAIL, "destination privileges",
                 "create the database as an admin or fix the name in --dest", "%s", other);
    } else if (unsure) {
        item_set(&it, P2D_PRECHECK_WARN, "destination privileges",
                 "make sure the user has LOAD, ALTER, CREATE, DROP and SELECT on the database",
                 "CREATE on database %s granted; LOAD, ALTER, DROP and SELECT could not be probed",
                 qdb);
    } else {
        item_set(&it, P2D_PRECHECK_PASS, "destination privileges", NULL,
                 "user \"%s\" has CREATE, SELECT, LOAD, ALTER and DROP on database %s",
                 job->dest.user, qdb);
    }
    return item_add(rep, &it);
}

/* Selected tables whose destination table already exists. */
static int check_conflicts(struct p2d_doris_sql *c, const struct p2d_job *job,
                           const struct p2d_catalog *cat, struct p2d_precheck_report *rep)
{
    struct name_list found = {0};
    struct p2d_precheck_item it;
    char list[1200];

    for (size_t i = 0; i < cat->ntables; i++) {
        struct p2d_dest_name dn;
        char err[512];
        json_t *rows;

        if (p2d_job_dest_name(job, cat->tables[i].schema, cat->tables[i].name, &dn, err,
                              sizeof(err)) != 0)
            continue; /* reported by the names item */
        rows = dest_tables(c, dn.database);
        if (rows && rows_have(rows, dn.table))
            list_add(&found, "%s.%s", dn.database, dn.table);
        json_decref(rows);
    }
    if (!found.n)
        item_set(&it, P2D_PRECHECK_PASS, "existing tables", NULL,
                 "no destination table exists yet");
    else if (job->on_conflict == P2D_CONFLICT_REPORT)
        item_set(&it, P2D_PRECHECK_FAIL, "existing tables",
                 "drop them, map the tables to other names, or pass --on-conflict ignore to "
                 "keep tables whose layout matches",
                 "%zu destination table(s) already exist: %s", found.n,
                 list_text(&found, list, sizeof(list)));
    else
        item_set(&it, P2D_PRECHECK_WARN, "existing tables",
                 "with --on-conflict ignore a table is kept when its layout matches and refused "
                 "otherwise; its rows are not removed",
                 "%zu destination table(s) already exist: %s", found.n,
                 list_text(&found, list, sizeof(list)));
    return item_add(rep, &it);
}

static int check_dest(const struct p2d_job *job, const struct p2d_precheck_opts *opts,
                      const struct p2d_catalog *cat, struct p2d_precheck_report *rep)
{
    struct p2d_doris_sql *c = p2d_doris_sql_create(&job->dest, 30000);
    struct p2d_precheck_item it;
    enum p2d_doris_fail fail = P2D_DORIS_OK;
    const char *dbs[64];
    char err[1024];
    size_t ndbs;
    int rc = 0;

    if (!c)
        return P2D_EXIT_INTERNAL;
    if (p2d_doris_sql_exec(c, "information_schema", "SHOW DATABASES", NULL, &fail, err,
                           sizeof(err)) != 0) {
        const char *hint = "";

        if (!strstr(err, "hint:") && fail == P2D_DORIS_AUTH)
            hint = "; hint: check the user and password in --dest or PG2DORIS_DEST_PASSWORD";
        else if (!strstr(err, "hint:") && fail == P2D_DORIS_TRANSPORT)
            hint = "; hint: check the FE host and HTTP port in --dest";
        snprintf(rep->fatal, sizeof(rep->fatal), "cannot use the destination: %s%s", err, hint);
        p2d_doris_sql_destroy(c);
        return P2D_EXIT_DEST;
    }
    item_set(&it, P2D_PRECHECK_PASS, "destination connection", NULL,
             "FE %s:%d answers and accepts user \"%s\"", job->dest.host, job->dest.port,
             job->dest.user);
    rc = item_add(rep, &it);
    ndbs = dest_databases(job, dbs, sizeof(dbs) / sizeof(dbs[0]));
    for (size_t i = 0; i < ndbs && rc == 0; i++)
        rc = check_dest_privileges(c, job, dbs[i], rep);
    if (rc == 0 && opts->check_conflicts && cat) /* names come from the source catalog */
        rc = check_conflicts(c, job, cat, rep);
    p2d_doris_sql_destroy(c);
    return rc == 0 ? P2D_EXIT_OK : P2D_EXIT_INTERNAL;
}

/* ---- the run ------------------------------------------------------------------------ */

/* --mode schema makes no slot and no publication: their items only inform. */
static void relax_slot_items(struct p2d_precheck_report *rep)
{
    static const char *const slot_items[] = {
        "wal_level",        "replication privilege", "replication slots",
        "wal senders",      "publication rights",    "long transactions",
        "replica identity", "keyless tables",        "unchanged TOAST"};

    for (size_t i = 0; i < rep->nitems; i++) {
        struct p2d_precheck_item *it = &rep->items[i];

        for (size_t k = 0; k < sizeof(slot_items) / sizeof(slot_items[0]); k++) {
            if (strcmp(it->item, slot_items[k]) == 0 && it->status != P2D_PRECHECK_PASS) {
                char finding[sizeof(it->finding)];

                snprintf(finding, sizeof(finding), "not needed for --mode schema: %.1490s",
                         it->finding);
                memcpy(it->finding, finding, sizeof(finding));
                it->status = P2D_PRECHECK_PASS;
            }
        }
    }
}

int p2d_precheck_run(const struct p2d_job *job, const struct p2d_precheck_opts *opts,
                     struct p2d_precheck_report *rep)
{
    struct p2d_catalog *cat = NULL;
    int code = check_source(job, rep, &cat);

    if (code == P2D_EXIT_OK)
        code = check_dest(job, opts, cat, rep);
    p2d_catalog_destroy(cat);
    if (!(job->modes & (P2D_MODE_FULL | P2D_MODE_INCREMENTAL)))
        relax_slot_items(rep);
    if (code == P2D_EXIT_OK) {
        for (size_t i = 0; i < rep->nitems; i++)
            if (rep->items[i].status == P2D_PRECHECK_FAIL)
                code = P2D_EXIT_PRECHECK;
    }
    if (code == P2D_EXIT_INTERNAL && !rep->fatal[0])
        snprintf(rep->fatal, sizeof(rep->fatal), "precheck: out of memory");
    rep->exit_code = code;
    return code;
}

void p2d_precheck_report_fini(struct p2d_precheck_report *rep)
{
    if (!rep)
        return;
    free(rep->items);
    memset(rep, 0, sizeof(*rep));
}

void p2d_precheck_print(const struct p2d_precheck_report *rep, FILE *out, FILE *err,
                        bool problems_only)
{
    size_t counts[3] = {0, 0, 0};
    int width = 4;

    if (rep->exit_code != P2D_EXIT_OK && rep->exit_code != P2D_EXIT_PRECHECK) {
        fprintf(err, "pg2doris: %s\n", rep->fatal);
        return;
    }
    for (size_t i = 0; i < rep->nitems; i++) {
        int w = (int)strlen(rep->items[i].item);

        counts[rep->items[i].status]++;
        if (w > width)
            width = w;
    }
    if (problems_only && counts[P2D_PRECHECK_WARN] + counts[P2D_PRECHECK_FAIL] == 0)
        return;
    fprintf(out, "%-6s %-*s  %s\n", "STATUS", width, "ITEM", "FINDING / HINT");
    for (size_t i = 0; i < rep->nitems; i++) {
        const struct p2d_precheck_item *it = &rep->items[i];

        if (problems_only && it->status == P2D_PRECHECK_PASS)
            continue;
        fprintf(out, "%-6s %-*s  %s\n", p2d_precheck_status_name(it->status), width, it->item,
                it->finding);
        if (it->hint[0] && it->status != P2D_PRECHECK_PASS)
            fprintf(out, "%-6s %-*s  hint: %s\n", "", width, "", it->hint);
    }
    fprintf(out, "precheck: %zu passed, %zu warning%s, %zu failed\n", counts[P2D_PRECHECK_PASS],
            counts[P2D_PRECHECK_WARN], counts[P2D_PRECHECK_WARN] == 1 ? "" : "s",
            counts[P2D_PRECHECK_FAIL]);
}
