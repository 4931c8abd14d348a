/*
 * sqlparse.h - doris-emu's Doris SQL front end (internal to doris-emu):
 * tokenizer, statement parser, CREATE TABLE validation into an emu_table,
 * and the SELECT rewrite that points table references at SQLite views.
 * Pure: no I/O, no globals.
 */
#ifndef EMU_SQLPARSE_H
#define EMU_SQLPARSE_H

#include "emu.h"

enum emu_stmt_kind {
    EMU_STMT_CREATE_DB,
    EMU_STMT_DROP_DB,
    EMU_STMT_CREATE_TABLE,
    EMU_STMT_ALTER_TABLE,
    EMU_STMT_DROP_TABLE,
    EMU_STMT_TRUNCATE,
    EMU_STMT_SHOW_DATABASES,
    EMU_STMT_SHOW_TABLES,
    EMU_STMT_DESC,
    EMU_STMT_SHOW_CREATE_TABLE,
    EMU_STMT_SHOW_COLUMNS, /* SHOW [FULL] COLUMNS FROM t [FROM db] */
    EMU_STMT_SELECT,
    EMU_STMT_USE,
    EMU_STMT_SET, /* SET var = value: accepted, no effect */
};

/* A column definition as written (CREATE TABLE, ALTER TABLE ADD/MODIFY). */
struct emu_coldef {
    char *name;
    struct emu_type type;
    int nullable; /* -1 not said, 0 NOT NULL, 1 NULL */
    bool is_key;  /* KEY keyword */
    bool auto_inc;
    bool has_default;
    char *default_value; /* NULL with has_default = DEFAULT NULL */
    bool default_current_ts;
    char *comment;
    char *after; /* ALTER ... AFTER x */
    bool first;  /* ALTER ... FIRST */
};

enum emu_alter_op {
    EMU_ALTER_ADD,
    EMU_ALTER_DROP,
    EMU_ALTER_MODIFY,
};

/* A table reference inside a SELECT: bytes [start, end) of the text. */
struct emu_tref {
    char db[128];
    char table[256];
    size_t start, end;
    bool has_alias;
};

struct emu_stmt {
    enum emu_stmt_kind kind;
    char db[128];    /* "" = the session database */
    char table[256]; /* CREATE/ALTER/DROP/TRUNCATE/DESC/SHOW CREATE/COLUMNS */
    bool if_exists;
    bool if_not_exists;
    bool force;
    bool full;
    /* CREATE TABLE; ALTER ADD / MODIFY use cols too */
    int ncols;
    struct emu_coldef *cols;
    bool has_keys;
    enum emu_keys_type keys_type;
    int nkeys;
    char **keys;
    char *comment;
    char *partition; /* PARTITION BY ... text as written, or NULL */
    bool has_dist;
    bool dist_random;
    int ndist;
    char **dist;
    int buckets; /* 0 AUTO, -1 not given */
    int nprops;
    char **prop_names;
    char **prop_values;
    /* ALTER */
    enum emu_alter_op alter_op;
    char *drop_col;
    /* SELECT */
    int nrefs;
    struct emu_tref *refs;
};

/* Parses one statement (a trailing ';' is allowed). Returns 0, or -1 with a
 * Doris-style syntax error in err (code "1105"). */
int emu_sql_parse(const char *sql, struct emu_stmt *st, struct emu_err *err);
void emu_stmt_fini(struct emu_stmt *st);

/*
 * Validates a CREATE TABLE with Doris's rules (§5.3, §7) and builds the
 * table it describes (refcount 1; caller owns it). db is the target
 * database (the statement's, or the session's). Returns NULL with err set
 * to Doris's detailMessage on a rule violation.
 */
struct emu_table *emu_sql_build_table(const struct emu_stmt *st, const char *db,
                                      struct emu_err *err);

/*
 * Checks the ALTER TABLE statement against table t and builds the altered
 * table (schema_version + 1). Returns NULL with Doris's text on violation.
 */
struct emu_table *emu_sql_alter_table(const struct emu_stmt *st, const struct emu_table *t,
                                      struct emu_err *err);

/*
 * Rewrites a SELECT for SQLite: each table reference becomes the quoted
 * view name "db.table" (with "AS table" when it had no alias), MySQL string
 * literals become SQLite literals, backticked names become "quoted" names.
 * information_schema table names are upper-cased.
 */
void emu_sql_rewrite_select(const struct emu_stmt *st, const char *sql, const char *session_db,
                            struct emu_buf *out);

/* Doris identifier rules (§7.3): 0, or -1 with Doris's text. */
int emu_sql_check_db_name(const char *name, struct emu_err *err);
int emu_sql_check_table_name(const char *name, struct emu_err *err);
int emu_sql_check_column_name(const char *name, struct emu_err *err);

#endif /* EMU_SQLPARSE_H */
