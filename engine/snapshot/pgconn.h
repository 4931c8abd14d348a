/*
 * pgconn.h - small helpers over libpq for the snapshot and CDC stages:
 * connecting with pinned session settings, running SQL with errors that
 * keep their SQLSTATE, quoting, LSN text, and classifying failures into
 * exit codes (docs/pg-replication.md §1.1, §7.1).
 *
 * Ownership: a PGconn belongs to one thread; none of these functions keeps
 * a reference to it. Messages never contain passwords: conninfo strings are
 * not echoed, and libpq's own text passes through p2d_log_mask_secrets().
 */
#ifndef P2D_PGCONN_H
#define P2D_PGCONN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "base/buf.h"

/* What kind of failure: decides the retry class and the exit code. */
enum p2d_pg_class {
    P2D_PG_OK = 0,
    P2D_PG_CONNECT,   /* unreachable, refused, connection lost, server shutting down */
    P2D_PG_AUTH,      /* wrong password, no pg_hba entry, unknown role (SQLSTATE 28xxx) */
    P2D_PG_PRIVILEGE, /* permission denied, no REPLICATION attribute (42501) */
    P2D_PG_OTHER,     /* any other server or protocol error */
};

/* A failure, ready to print: "<message>" then "hint: <hint>" if any. */
struct p2d_pg_error {
    enum p2d_pg_class cls;
    char sqlstate[6]; /* five characters, or "" when the server sent none */
    char message[768];
    char hint[384];
};

enum p2d_pg_kind {
    P2D_PG_SQL,         /* normal session: settings applied with SET after connecting */
    P2D_PG_REPLICATION, /* replication=database walsender: settings in options='-c ...' */
};

/* Forgets any previous failure. */
void p2d_pg_error_clear(struct p2d_pg_error *err);

/* Fills err with a failure of our own (no server involved). */
void p2d_pg_error_set(struct p2d_pg_error *err, enum p2d_pg_class cls, const char *hint,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Exit code for a failure: privilege problems are precheck failures
 * (P2D_EXIT_PRECHECK), everything else is P2D_EXIT_SOURCE. */
int p2d_pg_error_exit_code(const struct p2d_pg_error *err);

/* True for failures worth retrying under --retry-connect. */
bool p2d_pg_error_is_connect(const struct p2d_pg_error *err);

/*
 * Opens a connection. conninfo is any libpq keyword/value string or URI
 * (PG* variables and .pgpass apply as in psql); it is borrowed until
 * return. app_name NULL means "pg2doris". The session is pinned to
 * DateStyle=ISO, IntervalStyle=postgres, TimeZone=UTC,
 * extra_float_digits=3, bytea_output=hex, client_encoding=UTF8,
 * lc_monetary=C and zero statement, lock and idle-in-transaction timeouts.
 * On success *out is a new connection owned by the caller (PQfinish it);
 * on failure returns P2D_ESOURCE (or P2D_ENOMEM) with err filled and *out
 * NULL.
 */
int p2d_pg_connect(const char *conninfo, enum p2d_pg_kind kind, const char *app_name, PGconn **out,
                   struct p2d_pg_error *err) __attribute__((warn_unused_result));

/*
 * Reconnects a normal session (PQreset) and pins its settings again, as
 * p2d_pg_connect did: a reset connection starts with the server defaults.
 * 0, or P2D_ESOURCE with err filled.
 */
int p2d_pg_reset(PGconn *conn, struct p2d_pg_error *err);

/*
 * Runs sql with the simple query protocol (the only one a replication
 * connection accepts). On PGRES_TUPLES_OK or PGRES_COMMAND_OK returns 0 and
 * hands the result to the caller through *res (PQclear it), or clears it
 * when res is NULL. On failure returns P2D_ESOURCE with err filled: what
 * names the step ("cannot lock tables"), the server's message, SQLSTATE and
 * hint follow.
 */
int p2d_pg_exec(PGconn *conn, const char *sql, const char *what, PGresult **res,
                struct p2d_pg_error *err) __attribute__((warn_unused_result));

/*
 * Runs sql expecting at most one row and reads its first column into out
 * (outlen bytes, NUL-terminated; P2D_EFULL if it does not fit). *is_null
 * (may be NULL) tells SQL NULL or no row apart from "".
 */
int p2d_pg_query_value(PGconn *conn, const char *sql, const char *what, char *out, size_t outlen,
                       bool *is_null, struct p2d_pg_error *err) __attribute__((warn_unused_result));

/* Fills err from a failed result (borrowed) or, when res is NULL, from the
 * connection's last error. what is the step that failed. */
void p2d_pg_error_from(PGconn *conn, const PGresult *res, const char *what,
                       struct p2d_pg_error *err);

/*
 * Fills err from the fields of a server error, wherever they were read
 * (a PGresult, or an ErrorResponse parsed by snapshot/copy_wire): the
 * message "<what>: <primary>; detail: <detail>", the hint, the SQLSTATE
 * and the class, taken from the SQLSTATE unless cls is not P2D_PG_OK.
 * Any field may be NULL. Borrows the strings until return.
 */
void p2d_pg_error_fill(struct p2d_pg_error *err, enum p2d_pg_class cls, const char *what,
                       const char *primary, const char *detail, const char *hint,
                       const char *sqlstate);

/* Appends printf output to b and keeps b->data NUL-terminated (the NUL is
 * not counted in len). 0, P2D_EFULL or P2D_ENOMEM. */
int p2d_pg_appendf(struct p2d_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)))
__attribute__((warn_unused_result));

/* Appends name quoted as an identifier / text as a literal (PQescapeIdentifier,
 * PQescapeLiteral: correct for the connection's encoding and
 * standard_conforming_strings). 0, P2D_EINVAL (bad encoding), P2D_ENOMEM or
 * P2D_EFULL. */
int p2d_pg_append_ident(PGconn *conn, struct p2d_buf *b, const char *name)
    __attribute__((warn_unused_result));
int p2d_pg_append_literal(PGconn *conn, struct p2d_buf *b, const char *text)
    __attribute__((warn_unused_result));

/* Appends "schema"."name". */
int p2d_pg_append_qualified(PGconn *conn, struct p2d_buf *b, const char *schema, const char *name)
    __attribute__((warn_unused_result));

/* Parses LSN text "X/X" (also the zero-padded "X/0000000X" of PG19) into
 * *lsn. 0 or P2D_EINVAL. */
int p2d_pg_lsn_parse(const char *text, uint64_t *lsn) __attribute__((warn_unused_result));

/* Writes lsn as "X/X" into out (at least 18 bytes). Returns out. */
char *p2d_pg_lsn_format(uint64_t lsn, char *out, size_t outlen);

#endif
