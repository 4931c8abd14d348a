/*
 * doris_sql.h - SQL over the Doris FE's HTTP port
 * (POST /api/query/default_cluster/{db}, doris-protocol.md §6.1), for
 * schema sync, prechecks and verification. One client belongs to one
 * thread (it owns a curl easy handle and its connection).
 */
#ifndef P2D_DORIS_SQL_H
#define P2D_DORIS_SQL_H

#include <stddef.h>

#include <jansson.h>

#include "sink/dest.h"

/* Why a statement failed: decides retry and exit code. */
enum p2d_doris_fail {
    P2D_DORIS_OK = 0,
    P2D_DORIS_TRANSPORT, /* no answer: connection refused, timeout, reset (retryable) */
    P2D_DORIS_AUTH,      /* wrong user or password (code 401) */
    P2D_DORIS_SQL,       /* Doris refused the statement (code 1; errCode/detailMessage kept) */
    P2D_DORIS_PROTOCOL,  /* an answer that is not the documented JSON */
};

struct p2d_doris_sql;

/* Creates a client for dest (copied). timeout_ms bounds each statement.
 * Returns NULL on allocation failure. */
struct p2d_doris_sql *p2d_doris_sql_create(const struct p2d_dest *dest, long timeout_ms);
void p2d_doris_sql_destroy(struct p2d_doris_sql *c); /* accepts NULL */

/*
 * Runs stmt with db as the session database ("information_schema" for
 * statements that need none). On success returns 0 and, if data is not
 * NULL, sets *data to a new reference to the answer's "data" object
 * ({"type":"result_set","meta":[..],"data":[[..]]} or exec_status). On
 * failure returns P2D_EDEST (or P2D_ERETRY for transport failures), sets
 * *fail, and writes one clear line into err (no secrets).
 */
int p2d_doris_sql_exec(struct p2d_doris_sql *c, const char *db, const char *stmt, json_t **data,
                       enum p2d_doris_fail *fail, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Rows of a result_set "data" object (borrowed), or NULL. */
json_t *p2d_doris_rows(json_t *data);

/* Writes name as a Doris identifier: backticks, inner backticks doubled. */
void p2d_doris_quote_ident(const char *name, char *out, size_t outlen);

#endif
