/*
 * catalog.h - the source catalog as the rest of the engine needs it: for the
 * job's selection, every table (regular tables and partitioned roots; leaf
 * partitions are listed under their root and never selected on their own),
 * its columns in order with their types resolved through domains, the key
 * the Doris table will use (primary key, else the best NOT NULL unique
 * index), replica identity, size estimates, TOAST-able columns, leaf
 * partitions, and the names Doris would refuse.
 *
 * p2d_catalog_read() runs a handful of catalog queries on one PGconn (owned
 * by the caller's thread, borrowed until return) with the simple query
 * protocol, so the connection may also be one that imported an exported
 * snapshot. Queries are chosen by server version (PostgreSQL 10-17). The
 * rest of this header is pure and unit-tested without a server.
 */
#ifndef P2D_CATALOG_H
#define P2D_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "job/job.h"
#include "schema/typemap.h"
#include "snapshot/pgconn.h"

/* Oldest and newest server versions the queries are written for. */
#define P2D_CATALOG_MIN_VERSION 100000
#define P2D_CATALOG_MAX_VERSION 179999

struct p2d_column {
    char *name;           /* attname */
    int attnum;           /* pg_attribute.attnum (> 0) */
    uint32_t type_oid;    /* atttypid: the domain's OID for a domain column */
    char *type_display;   /* format_type(atttypid, atttypmod): "character varying(20)", or
                             the domain's name; for reports and DDL comments */
    char *type_name;      /* typname of the base type ("int4", "_text" for arrays) */
    char *domain_name;    /* the domain's typname, NULL when not a domain */
    char typtype;         /* of the base type: 'b', 'e', 'r', 'm', 'c', 'p' */
    char typcategory;     /* of the base type: 'A' array, 'N' numeric, ... */
    int32_t typmod;       /* atttypmod, or the domain's base typmod; -1 for none */
    char *elem_type_name; /* array element typname, NULL when not an array */
    bool not_null;        /* attnotnull */
    bool domain_not_null; /* some domain level says NOT NULL (values never NULL) */
    char *default_expr;   /* pg_get_expr of the default, NULL when none */
    bool generated;       /* a generated column (PG 12+): pgoutput before PG 18 does
                             not send it, so the destination leaves it out */
    bool toastable;       /* attstorage other than 'p': values may live out of line */
    int key_position;     /* 1-based position in the chosen key, 0 when not a key column */
};

enum p2d_key_kind {
    P2D_KEY_NONE,    /* no usable key: the Doris table is Duplicate */
    P2D_KEY_PRIMARY, /* the primary key */
    P2D_KEY_UNIQUE,  /* a unique index whose columns are all NOT NULL */
};

struct p2d_partition {
    char *schema;
    char *name;
    uint32_t oid;
    char relkind;     /* 'r', or 'f' for a foreign-table leaf */
    char replident;   /* the leaf's own relreplident */
    int64_t est_rows; /* reltuples, -1 when unknown (never analyzed) */
    int64_t bytes;    /* pg_total_relation_size */
};

struct p2d_table {
    char *schema;
    char *name;
    uint32_t oid;
    char relkind;     /* 'r' table, 'p' partitioned root */
    char persistence; /* 'p' permanent, 'u' unlogged (cannot be published) */

    struct p2d_column *columns; /* attnum order, dropped columns left out */
    size_t ncolumns;

    enum p2d_key_kind key_kind;
    char *key_index; /* name of the index behind the key, NULL for NONE */
    size_t *key;     /* indexes into columns, in index column order */
    size_t nkey;

    char replident;        /* relreplident: 'd' default, 'n' nothing, 'f' full, 'i' index */
    char *replident_index; /* the REPLICA IDENTITY USING INDEX index, or NULL */
    int64_t est_rows;      /* reltuples (sum over leaves for a root), -1 when unknown */
    int64_t bytes;         /* pg_total_relation_size (sum over leaves for a root) */
    bool has_toastable;    /* some column is TOAST-able (unchanged-TOAST in CDC) */

    struct p2d_partition *partitions; /* leaves of a partitioned root, by name */
    size_t npartitions;

    /* Names Doris refuses after mapping (table or columns), one problem per
     * line with its hint; NULL when every name is fine. */
    char *name_problems;
};

struct p2d_catalog {
    int server_version;       /* PQserverVersion form, e.g. 150004 */
    struct p2d_table *tables; /* selected tables, ordered by schema then name */
    size_t ntables;
};

/*
 * Reads the selected tables of job from conn. server_version 0 uses
 * PQserverVersion(conn); tests pass an older version to run the queries
 * written for it (they run unchanged on newer servers). On success *out is
 * a new catalog owned by the caller (p2d_catalog_destroy). Returns
 * P2D_ESOURCE with err filled (server message, SQLSTATE, hint) when a query
 * fails or the server version is not supported, P2D_ENOMEM, or
 * P2D_EPROTO when an answer does not have the expected shape.
 */
int p2d_catalog_read(PGconn *conn, const struct p2d_job *job, int server_version,
                     struct p2d_catalog **out, struct p2d_pg_error *err)
    __attribute__((warn_unused_result));

void p2d_catalog_destroy(struct p2d_catalog *cat); /* accepts NULL */

/* The table schema.name, or NULL (borrowed from cat). */
const struct p2d_table *p2d_catalog_find(const struct p2d_catalog *cat, const char *schema,
                                         const char *name);

/* The column called name, or -1. */
int p2d_catalog_column_index(const struct p2d_table *t, const char *name);

/* The column as typemap wants it (strings borrowed from col). */
void p2d_catalog_pgcol(const struct p2d_column *col, struct p2d_pgcol *out);

/* ---- pure helpers (unit-tested) ---------------------------------------- */

/* A unique index that might serve as the key. */
struct p2d_key_candidate {
    const char *index_name;
    bool primary;
    bool all_not_null; /* every key column is attnotnull */
    bool usable;       /* valid, immediate, not partial, no expressions */
    size_t ncolumns;   /* key columns (INCLUDE columns left out) */
};

/*
 * Picks the key: the primary key if there is a usable one, else the usable
 * unique index whose columns are all NOT NULL with the fewest columns, ties
 * broken by index name (strcmp). Returns its index in c, or -1 when none
 * qualifies (the table goes to the Duplicate model).
 */
int p2d_catalog_pick_key(const struct p2d_key_candidate *c, size_t n);

/* Parses an int2vector's text ("1 3 2") into at most max attnums. Returns
 * the count, or -1 when the text is malformed or holds more than max. */
int p2d_catalog_parse_int2vector(const char *text, int *out, int max);

/* Doris name rules of doris-protocol.md §7.3: table names
 * ^[a-zA-Z][a-zA-Z0-9-_]*$ (at most 64), column names per the column regex
 * (at most 256, not mv_ / mva_ / __doris_shadow_). ASCII only. */
bool p2d_catalog_doris_table_name_ok(const char *name);
bool p2d_catalog_doris_column_name_ok(const char *name);

#endif
