/*
 * pgconn.c - libpq helpers (see pgconn.h).
 *
 * Session settings are pinned on every connection so that text values read
 * through COPY and those decoded from pgoutput look the same
 * (docs/pg-replication.md §7.1): a walsender takes them from the startup
 * packet (options='-c ...'), a normal session gets one SET batch right after
 * connecting, which also works behind poolers that refuse startup options.
 */
#include "snapshot/pgconn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "p2d_error.h"

/* The settings every session runs with; name and value each as one token. */
static const struct {
    const char *name;
    const char *value;
} pinned[] = {
    {"DateStyle", "ISO,MDY"},
    {"IntervalStyle", "postgres"},
    {"TimeZone", "UTC"},
    {"extra_float_digits", "3"},
    {"bytea_output", "hex"},
    {"lc_monetary", "C"},
    {"statement_timeout", "0"},
    {"lock_timeout", "0"},
    {"idle_in_transaction_session_timeout", "0"},
};

#define NPINNED (sizeof(pinned) / sizeof(pinned[0]))

void p2d_pg_error_clear(struct p2d_pg_error *err)
{
    if (!err)
        return;
    err->cls = P2D_PG_OK;
    err->sqlstate[0] = '\0';
    err->message[0] = '\0';
    err->hint[0] = '\0';
}

/* Copies text into dst through the secret mask. */
static void copy_masked(char *dst, size_t dstlen, const char *text)
{
    p2d_log_mask_secrets(text ? text : "", dst, dstlen);
}

/* Drops trailing newlines and spaces libpq leaves in its messages. */
static void chomp(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

void p2d_pg_error_set(struct p2d_pg_error *err, enum p2d_pg_class cls, const char *hint,
                      const char *fmt, ...)
{
    char tmp[sizeof(err->message)];
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    err->cls = cls;
    err->sqlstate[0] = '\0';
    copy_masked(err->message, sizeof(err->message), tmp);
    copy_masked(err->hint, sizeof(err->hint), hint);
}

int p2d_pg_error_exit_code(const struct p2d_pg_error *err)
{
    if (err && err->cls == P2D_PG_PRIVILEGE)
        return P2D_EXIT_PRECHECK;
    return P2D_EXIT_SOURCE;
}

bool p2d_pg_error_is_connect(const struct p2d_pg_error *err)
{
    return err && err->cls == P2D_PG_CONNECT;
}

static enum p2d_pg_class class_of_sqlstate(const char *st)
{
    if (!st || strlen(st) != 5)
        return P2D_PG_OTHER;
    if (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
        strcmp(st, "57P03") == 0)
        return P2D_PG_CONNECT;
    if (strncmp(st, "28", 2) == 0)
        return P2D_PG_AUTH;
    if (strcmp(st, "42501") == 0)
        return P2D_PG_PRIVILEGE;
    return P2D_PG_OTHER;
}

void p2d_pg_error_fill(struct p2d_pg_error *err, enum p2d_pg_class cls, const char *what,
                       const char *primary, const char *detail, const char *hint,
                       const char *sqlstate)
{
    char tmp[sizeof(err->message)];

    if (!err)
        return;
    p2d_pg_error_clear(err);
    if (!primary || !*primary)
        primary = "unknown error";
    if (detail && *detail)
        snprintf(tmp, sizeof(tmp), "%s: %s; detail: %s", what, primary, detail);
    else
        snprintf(tmp, sizeof(tmp), "%s: %s", what, primary);
    chomp(tmp);
    copy_masked(err->message, sizeof(err->message), tmp);
    copy_masked(err->hint, sizeof(err->hint), hint);
    if (sqlstate && strlen(sqlstate) == 5)
        memcpy(err->sqlstate, sqlstate, 6);
    err->cls = cls != P2D_PG_OK ? cls : class_of_sqlstate(sqlstate);
    if (err->cls == P2D_PG_CONNECT && !err->hint[0])
        snprintf(err->hint, sizeof(err->hint),
                 "the connection to PostgreSQL was lost; it is retried under --retry-connect");
    if (err->cls == P2D_PG_PRIVILEGE && !err->hint[0])
        snprintf(err->hint, sizeof(err->hint),
                 "grant the missing privilege to the source role, or run as the table owner");
}

void p2d_pg_error_from(PGconn *conn, const PGresult *res, const char *what,
                       struct p2d_pg_error *err)
{
    const char *primary = NULL, *detail = NULL, *hint = NULL, *st = NULL;
    char connmsg[512];

    if (res) {
        primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
        st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    }
    if (!primary || !*primary) {
        snprintf(connmsg, sizeof(connmsg), "%s", conn ? PQerrorMessage(conn) : "no connection");
        chomp(connmsg);
        if (!connmsg[0] && res)
            snprintf(connmsg, sizeof(connmsg), "unexpected result %s",
                     PQresStatus(PQresultStatus(res)));
        primary = connmsg;
    }
    p2d_pg_error_fill(err, conn && PQstatus(conn) == CONNECTION_BAD ? P2D_PG_CONNECT : P2D_PG_OK,
                      what, primary, detail, hint, st);
}

/*
 * libpq gives no SQLSTATE for a failed connection attempt, so its text is
 * classified. Server messages are matched in English: with another
 * lc_messages a failure falls back to P2D_PG_CONNECT.
 */
static void classify_connect_failure(const char *msg, struct p2d_pg_error *err)
{
    static const char *const auth[] = {"password authentication failed",
                                       "authentication failed",
                                       "no password supplied",
                                       "password is required",
                                       "no pg_hba.conf entry",
                                       "is not permitted to log in",
                                       "SCRAM"};
    static const char *const priv[] = {
        "must be superuser or replication role", "permission denied to start WAL sender",
        "permission denied for database", "must have the REPLICATION attribute",
        "must have CONNECT privilege"};
    size_t i;

    if (strstr(msg, "role \"") && strstr(msg, "does not exist")) {
        err->cls = P2D_PG_AUTH;
        snprintf(err->hint, sizeof(err->hint),
                 "check the user name in the source connection string (or PGUSER)");
        return;
    }
    for (i = 0; i < sizeof(auth) / sizeof(auth[0]); i++) {
        if (strstr(msg, auth[i])) {
            err->cls = P2D_PG_AUTH;
            snprintf(err->hint, sizeof(err->hint),
                     "check the user and password (PGPASSWORD, .pgpass) and pg_hba.conf; a "
                     "logical replication connection matches pg_hba.conf lines for its "
                     "database, not the \"replication\" keyword");
            return;
        }
    }
    for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
        if (strstr(msg, priv[i])) {
            err->cls = P2D_PG_PRIVILEGE;
            snprintf(err->hint, sizeof(err->hint),
                     "the source role needs LOGIN and REPLICATION (ALTER ROLE ... REPLICATION) "
                     "and CONNECT on the database");
            return;
        }
    }
    if (strstr(msg, "database \"") && strstr(msg, "does not exist")) {
        err->cls = P2D_PG_OTHER;
        snprintf(err->hint, sizeof(err->hint),
                 "check dbname in the source connection string (or PGDATABASE)");
        return;
    }
    err->cls = P2D_PG_CONNECT;
    snprintf(err->hint, sizeof(err->hint),
             "check host and port, that PostgreSQL is running and accepts TCP connections "
             "(listen_addresses, firewall)");
}

/* Removes "quoted" parts of a conninfo parse error: they may echo a password. */
static void redact_quoted(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    bool inq = false;

    if (strncmp(in, "invalid connection option", 25) == 0) {
        snprintf(out, outlen, "%s", in); /* quotes the keyword only */
        return;
    }
    for (; *in && o + 4 < outlen; in++) {
        if (*in == '"') {
            if (!inq) {
                memcpy(out + o, "\"...", 4);
                o += 4;
            } else {
                out[o++] = '"';
            }
            inq = !inq;
            continue;
        }
        if (!inq)
            out[o++] = *in;
    }
    out[o] = '\0';
}

static bool overridden_keyword(const char *kw, enum p2d_pg_kind kind)
{
    return strcmp(kw, "application_name") == 0 || strcmp(kw, "replication") == 0 ||
           strcmp(kw, "client_encoding") == 0 || strcmp(kw, "options") == 0;
}

/* The SET batch of a normal session (see p2d_pg_connect). */
static int pin_session(PGconn *conn, struct p2d_pg_error *err)
{
    char sets[1024];
    size_t len = 0;

    for (size_t i = 0; i < NPINNED && len < sizeof(sets); i++)
        len += (size_t)snprintf(sets + len, sizeof(sets) - len, "SET %s = '%s'; ", pinned[i].name,
                                pinned[i].value);
    return p2d_pg_exec(conn, sets, "cannot apply session settings", NULL, err);
}

int p2d_pg_reset(PGconn *conn, struct p2d_pg_error *err)
{
    PQreset(conn);
    if (PQstatus(conn) != CONNECTION_OK) {
        p2d_pg_error_from(conn, NULL, "cannot reconnect to PostgreSQL", err);
        return P2D_ESOURCE;
    }
    return pin_session(conn, err);
}

int p2d_pg_connect(const char *conninfo, enum p2d_pg_kind kind, const char *app_name, PGconn **out,
                   struct p2d_pg_error *err)
{
    PQconninfoOption *opts = NULL, *o;
    const char **keys = NULL, **vals = NULL;
    char *parse_err = NULL;
    char options[1024], user_options[512] = "";
    size_t n = 0, cap, i;
    bool has_timeout = false;
    PGconn *conn = NULL;
    int rc = P2D_ESOURCE;

    *out = NULL;
    p2d_pg_error_clear(err);
    opts = PQconninfoParse(conninfo ? conninfo : "", &parse_err);
    if (!opts) {
        char red[512];

        redact_quoted(parse_err ? parse_err : "out of memory", red, sizeof(red));
        chomp(red);
        p2d_pg_error_set(err, P2D_PG_OTHER,
                         "check the syntax of the source connection string (keyword=value "
                         "pairs or a postgresql:// URI); it is not shown because it may hold "
                         "a password",
                         "invalid source connection string: %s", red);
        PQfreemem(parse_err);
        return parse_err ? P2D_ESOURCE : P2D_ENOMEM;
    }
    for (cap = 0, o = opts; o->keyword; o++)
        cap++;
    cap += 6;
    keys = calloc(cap, sizeof(*keys));
    vals = calloc(cap, sizeof(*vals));
    if (!keys || !vals) {
        rc = P2D_ENOMEM;
        p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "out of memory while connecting");
        goto fail;
    }
    for (o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, "options") == 0) {
            snprintf(user_options, sizeof(user_options), "%s", o->val);
            continue;
        }
        if (overridden_keyword(o->keyword, kind))
            continue;
        if (strcmp(o->keyword, "connect_timeout") == 0)
            has_timeout = true;
        keys[n] = o->keyword;
        vals[n++] = o->val;
    }
    keys[n] = "application_name";
    vals[n++] = app_name ? app_name : "pg2doris";
    keys[n] = "client_encoding";
    vals[n++] = "UTF8";
    if (!has_timeout) {
        keys[n] = "connect_timeout";
        vals[n++] = "30";
    }
    if (kind == P2D_PG_REPLICATION) {
        /* The user's options first so that ours, later, win. */
        size_t len = (size_t)snprintf(options, sizeof(options), "%s", user_options);

        for (i = 0; i < NPINNED && len < sizeof(options); i++)
            len += (size_t)snprintf(options + len, sizeof(options) - len, "%s-c %s=%s",
                                    len ? " " : "", pinned[i].name, pinned[i].value);
        keys[n] = "options";
        vals[n++] = options;
        keys[n] = "replication";
        vals[n++] = "database";
    } else if (user_options[0]) {
        keys[n] = "options";
        vals[n++] = user_options;
    }
    keys[n] = NULL;
    vals[n] = NULL;

    conn = PQconnectdbParams(keys, vals, 0);
    if (!conn) {
        rc = P2D_ENOMEM;
        p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "out of memory while connecting");
        goto fail;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        char msg[512], full[sizeof(err->message)];

        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
        chomp(msg);
        snprintf(full, sizeof(full), "cannot connect to PostgreSQL: %s", msg);
        copy_masked(err->message, sizeof(err->message), full);
        classify_connect_failure(msg, err);
        goto fail;
    }
    if (kind == P2D_PG_SQL && (rc = pin_session(conn, err)) != 0)
        goto fail;
    PQconninfoFree(opts);
    free(keys);
    free(vals);
    *out = conn;
    return 0;

fail:
    if (conn)
        PQfinish(conn);
    free(keys);
    free(vals);
    PQconninfoFree(opts);
    return rc;
}

int p2d_pg_exec(PGconn *conn, const char *sql, const char *what, PGresult **res,
                struct p2d_pg_error *err)
{
    PGresult *r;
    ExecStatusType st;

    if (res)
        *res = NULL;
    r = PQexec(conn, sql);
    st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        p2d_pg_error_from(conn, r, what, err);
        PQclear(r);
        return P2D_ESOURCE;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return 0;
}

int p2d_pg_query_value(PGconn *conn, const char *sql, const char *what, char *out, size_t outlen,
                       bool *is_null, struct p2d_pg_error *err)
{
    PGresult *r;
    int rc = p2d_pg_exec(conn, sql, what, &r, err);
    bool null = true;

    if (rc != 0)
        return rc;
    if (outlen)
        out[0] = '\0';
    if (PQntuples(r) > 0 && PQnfields(r) > 0 && !PQgetisnull(r, 0, 0)) {
        const char *v = PQgetvalue(r, 0, 0);

        null = false;
        if (strlen(v) >= outlen) {
            PQclear(r);
            p2d_pg_error_set(err, P2D_PG_OTHER, NULL, "%s: value longer than %zu bytes", what,
                             outlen);
            return P2D_EFULL;
        }
        memcpy(out, v, strlen(v) + 1);
    }
    if (is_null)
        *is_null = null;
    PQclear(r);
    return 0;
}

static int terminate(struct p2d_buf *b)
{
    int rc = p2d_buf_reserve(b, 1);

    if (rc == 0)
        b->data[b->len] = '\0';
    return rc;
}

int p2d_pg_appendf(struct p2d_buf *b, const char *fmt, ...)
{
    va_list ap;
    int need, rc;

    va_start(ap, fmt);
    need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0)
        return P2D_EINVAL;
    rc = p2d_buf_reserve(b, (size_t)need + 1);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)need;
    return 0;
}

static int append_escaped(PGconn *conn, struct p2d_buf *b, const char *s, bool ident)
{
    char *q = ident ? PQescapeIdentifier(conn, s, strlen(s)) : PQescapeLiteral(conn, s, strlen(s));
    int rc;

    if (!q)
        return PQstatus(conn) == CONNECTION_OK ? P2D_EINVAL : P2D_ENOMEM;
    rc = p2d_buf_append(b, q, strlen(q));
    PQfreemem(q);
    return rc ? rc : terminate(b);
}

int p2d_pg_append_ident(PGconn *conn, struct p2d_buf *b, const char *name)
{
    return append_escaped(conn, b, name, true);
}

int p2d_pg_append_literal(PGconn *conn, struct p2d_buf *b, const char *text)
{
    return append_escaped(conn, b, text, false);
}

int p2d_pg_append_qualified(PGconn *conn, struct p2d_buf *b, const char *schema, const char *name)
{
    int rc = p2d_pg_append_ident(conn, b, schema);

    if (rc == 0)
        rc = p2d_pg_appendf(b, ".");
    if (rc == 0)
        rc = p2d_pg_append_ident(conn, b, name);
    return rc;
}

int p2d_pg_lsn_parse(const char *text, uint64_t *lsn)
{
    unsigned long long hi, lo;
    char *end;

    if (!text || !*text)
        return P2D_EINVAL;
    hi = strtoull(text, &end, 16);
    if (end == text || *end != '/' || hi > 0xFFFFFFFFull || text[0] == '-')
        return P2D_EINVAL;
    text = end + 1;
    if (!*text || *text == '-' || *text == '+')
        return P2D_EINVAL;
    lo = strtoull(text, &end, 16);
    if (end == text || *end != '\0' || lo > 0xFFFFFFFFull)
        return P2D_EINVAL;
    *lsn = ((uint64_t)hi << 32) | (uint64_t)lo;
    return 0;
}

char *p2d_pg_lsn_format(uint64_t lsn, char *out, size_t outlen)
{
    snprintf(out, outlen, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
    return out;
}
