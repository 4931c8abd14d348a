/*
 * job.h - one sync job: the flags of `pg2doris sync|precheck|verify` plus an
 * optional JSON job file (--job FILE, docs/job-file.md) turned into one
 * immutable `struct p2d_job`.
 *
 * Parsing is pure apart from reading the job file: the environment the job
 * depends on (PG2DORIS_DEST_PASSWORD, the number of cores) comes in through
 * `struct p2d_job_env`, so tests drive every case. Bad input yields one line
 * per problem (what, where - the flag or the JSON path in the job file - and
 * how to fix it) and P2D_EINVAL; the caller exits with P2D_EXIT_USAGE.
 *
 * Table selection keeps the patterns; resolving them against the real
 * catalog happens later through the pure helpers at the end of this file.
 *
 * Pattern rules (--include, --exclude, job file "include"/"exclude"):
 *   - "schema.table", each part a shell glob (fnmatch: * ? [..]), matched
 *     case-sensitively like PostgreSQL names; a part may be double-quoted to
 *     hold a literal dot or glob character ("my.schema"."t*" globs only t*).
 *   - A bare "table" pattern means that table in any schema ("*.table"): the
 *     destination database flattens schemas anyway, and a same-named table
 *     in two schemas is then caught by the collision check.
 *   - No include pattern at all selects every table of every user schema.
 *     pg_catalog, information_schema, pg_toast* and pg_temp* are never
 *     selected. Exclude wins over include.
 */
#ifndef P2D_JOB_H
#define P2D_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sink/dest.h"

enum p2d_job_cmd {
    P2D_JOB_SYNC,
    P2D_JOB_PRECHECK,
    P2D_JOB_VERIFY, /* also accepts --full */
    P2D_JOB_DROP,   /* --dest optional: drop may find the job in --state instead */
};

/* --mode bits */
enum {
    P2D_MODE_SCHEMA = 1,
    P2D_MODE_FULL = 2,
    P2D_MODE_INCREMENTAL = 4,
};

/* DML kinds synced per table (job file "dml") */
enum {
    P2D_DML_INSERT = 1,
    P2D_DML_UPDATE = 2,
    P2D_DML_DELETE = 4,
    P2D_DML_ALL = 7,
};

enum p2d_body_format { P2D_FORMAT_CSV, P2D_FORMAT_JSON };
enum p2d_compress { P2D_COMPRESS_NONE, P2D_COMPRESS_GZ };
/* How the full load splits a table (engine/snapshot/plan.h): block (ctid)
 * ranges where PostgreSQL has them (14+, heap), or key ranges. */
enum p2d_split_by { P2D_SPLIT_CTID, P2D_SPLIT_KEY };
enum p2d_on_conflict { P2D_CONFLICT_REPORT, P2D_CONFLICT_IGNORE };
enum p2d_on_truncate { P2D_TRUNCATE_APPLY, P2D_TRUNCATE_REFUSE };
enum p2d_name_case { P2D_NAME_KEEP, P2D_NAME_LOWER, P2D_NAME_UPPER };

/* Doris table model chosen for a table; AUTO lets the catalog decide
 * (Unique with a usable key, else Duplicate). */
enum p2d_table_model { P2D_MODEL_AUTO, P2D_MODEL_UNIQUE, P2D_MODEL_DUPLICATE };

struct p2d_job_column_rename {
    char *from; /* source column */
    char *to;   /* Doris column */
};

/* One entry of the job file's "tables" object, keyed by an exact
 * "schema.table" (no globs). Absent settings are 0 / NULL / AUTO. */
struct p2d_job_table {
    char *schema;
    char *table;
    char *dest_name;                       /* "name": Doris table name, NULL = derived */
    char *where;                           /* "where": SQL predicate on the source, NULL = none */
    unsigned dml;                          /* P2D_DML_* bits; P2D_DML_ALL when absent */
    int bucket_count;                      /* 0 = Doris default (AUTO) */
    enum p2d_table_model model;            /* "engine" */
    char **key;                            /* "key": key columns (source names), NULL-terminated */
    char **distribution_key;               /* "distribution_key", NULL-terminated */
    struct p2d_job_column_rename *columns; /* "columns" renames */
    size_t ncolumns;
};

struct p2d_job_pattern {
    char *schema; /* glob, quotes removed */
    char *table;  /* glob, quotes removed */
    char *text;   /* as written, for messages */
};

struct p2d_job_schema_map {
    char *schema;   /* source schema */
    char *database; /* Doris database */
};

struct p2d_job {
    enum p2d_job_cmd cmd;
    char *source;            /* libpq conninfo or URI as given (may hold a password) */
    char *dest_url;          /* as given (may hold a password) */
    struct p2d_dest dest;    /* parsed --dest */
    unsigned modes;          /* P2D_MODE_* */
    char *job_file;          /* --job path or NULL */
    char *state_dir;         /* --state */
    int readers;             /* --readers */
    int writers;             /* --writers */
    int64_t rows_per_range;  /* 0 = derive from bytes_per_range */
    int64_t bytes_per_range; /* bytes */
    enum p2d_split_by split_by;
    int64_t bytes_per_load; /* bytes */
    int64_t memory;         /* bytes */
    enum p2d_body_format format;
    enum p2d_compress compress;
    int64_t source_qps;   /* 0 = unlimited */
    int64_t rows_per_sec; /* 0 = unlimited */
    int64_t mb_per_sec;   /* 0 = unlimited */
    enum p2d_on_conflict on_conflict;
    enum p2d_on_truncate on_truncate; /* --on-truncate */
    enum p2d_name_case name_case;
    int log_format; /* enum p2d_log_format */
    int log_level;  /* enum p2d_log_level */
    int batch_timeout_ms;
    int progress_every_s; /* 0: the default (1 s on a TTY, 10 s else) */
    int retry_connect_min;
    int retry_other_min;
    char *metrics_addr; /* HOST:PORT or NULL */
    bool verify_full;   /* verify --full */

    struct p2d_job_pattern *include; /* flags first, then job file */
    size_t ninclude;
    struct p2d_job_pattern *exclude;
    size_t nexclude;
    struct p2d_job_schema_map *databases; /* job file "databases" */
    size_t ndatabases;
    struct p2d_job_table *tables; /* job file "tables" */
    size_t ntables;

    char **warnings; /* accepted but doubtful settings, one line each */
    size_t nwarnings;
};

/* What the job depends on outside argv. */
struct p2d_job_env {
    const char *dest_password; /* PG2DORIS_DEST_PASSWORD or NULL */
    int cores;                 /* online CPUs (>= 1) */
};

/* The environment of this process (getenv, sysconf). */
void p2d_job_env_from_process(struct p2d_job_env *env);

/*
 * Parses argv (argv[0] is the command name, as main passes it) for command
 * cmd, reads the --job file if given, and validates everything. On success
 * returns 0 and sets *out to a new job (free with p2d_job_destroy). On bad
 * input returns P2D_EINVAL and writes every problem found, one per line,
 * into err (NUL-terminated, truncated to errlen); P2D_ENOMEM on allocation
 * failure. No password appears in err.
 */
int p2d_job_parse(enum p2d_job_cmd cmd, int argc, char **argv, const struct p2d_job_env *env,
                  struct p2d_job **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

void p2d_job_destroy(struct p2d_job *job); /* accepts NULL */

#define P2D_JOB_DEFAULT_STATE_DIR "pg2doris-state"

/* Help text of the flags, as a literal so commands can append their own. */
#define P2D_JOB_FLAGS_HELP                                                                         \
    "required:\n"                                                                                  \
    "  --source CONNINFO       PostgreSQL: libpq keyword/value string or URI; PG* variables\n"     \
    "                          and ~/.pgpass apply as in psql\n"                                   \
    "  --dest URL              Doris FE: http[s]://USER[:PASSWORD]@FE_HOST:PORT/DATABASE\n"        \
    "                          (password also from PG2DORIS_DEST_PASSWORD)\n"                      \
    "what to sync:\n"                                                                              \
    "  --mode LIST             any of schema,full,incremental (default: all three)\n"              \
    "  --include PATTERN       schema.table with shell globs; a bare table means any schema;\n"    \
    "                          repeatable (default: every table of every user schema)\n"           \
    "  --exclude PATTERN       same form; wins over --include; repeatable\n"                       \
    "  --job FILE              JSON job file: selection, renames, filters, models\n"               \
    "                          (docs/job-file.md)\n"                                               \
    "  --state DIR             job state (SQLite) for resuming (default: "                         \
    "./" P2D_JOB_DEFAULT_STATE_DIR ")\n"                                                           \
    "  --on-conflict POLICY    report|ignore existing destination tables (default: report)\n"      \
    "  --name-case POLICY      keep|lower|upper for derived Doris names (default: keep)\n"         \
    "tuning (defaults need no change):\n"                                                          \
    "  --readers N             COPY reader threads (default: number of cores)\n"                   \
    "  --writers N             concurrent Stream Loads (default: 2 x readers, at most 16)\n"       \
    "  --rows-per-range N      rows per planned range (default: 0, plan by bytes)\n"               \
    "  --bytes-per-range SIZE  table bytes per planned range, at most (default: 256M; a\n"         \
    "                          small job gets smaller ranges, 4 per reader, 16M or more)\n"        \
    "  --split-by ctid|key     split tables by block ranges or key ranges (default: ctid;\n"       \
    "                          key ranges before PostgreSQL 14 and for other table kinds)\n"       \
    "  --bytes-per-load SIZE   body bytes per Stream Load (default: 256M, at most 10G)\n"          \
    "  --memory SIZE           buffer memory budget (default: 128M)\n"                             \
    "  --format csv|json       Stream Load body format (default: csv)\n"                           \
    "  --compress none|gz      Stream Load body compression (default: none)\n"                     \
    "  --source-qps N          full load: queries per second to the source (0: unlimited)\n"       \
    "  --rows-per-sec N        rows per second, full load and streaming (0: unlimited)\n"          \
    "  --mb-per-sec N          MB per second, full load and streaming (0: unlimited)\n"            \
    "  --on-truncate POLICY    apply|refuse a source TRUNCATE while streaming (default: apply)\n"  \
    "  --batch-timeout-ms N    incremental: at most one load per table per N ms\n"                 \
    "                          (default 5000, documented range 1000-10000)\n"                      \
    "  --retry-connect MIN     keep retrying connection failures for MIN minutes (720)\n"          \
    "  --retry-other MIN       keep retrying other transient failures for MIN minutes (10)\n"      \
    "observability:\n"                                                                             \
    "  --log-format text|json  log lines as text or JSON (default: text)\n"                        \
    "  --log-level LEVEL       debug|info|warn|error (default: info)\n"                            \
    "  --metrics-addr H:P      serve metrics on HOST:PORT (default: off)\n"                        \
    "  --progress-every S      progress every S seconds (default: 1 on a TTY, 10 else)\n"          \
    "sizes take K, M, G or T suffixes (binary units).\n"

/* P2D_JOB_FLAGS_HELP as an array. */
extern const char p2d_job_flags_help[];

/*
 * The canonical JSON (compact, sorted keys) of what determines the data in
 * Doris: source identity (host, port, dbname from the conninfo; never user
 * or password), destination host, port and database, the pattern sets
 * (sorted), schema-to-database map, per-table settings and --name-case.
 * Tuning (readers, sizes, throttles, format, retries, log) and --mode are
 * left out: changing them must not orphan a half-done job. Returns a
 * malloc'd string the caller frees, or NULL on allocation failure.
 */
char *p2d_job_canonical(const struct p2d_job *job);

#define P2D_JOB_FINGERPRINT_LEN 17 /* 16 hex digits + NUL */

/* 64-bit FNV-1a of p2d_job_canonical() as 16 lower-case hex digits into out.
 * Stable across runs, hosts and flag order. Returns 0 or P2D_ENOMEM. */
int p2d_job_fingerprint(const struct p2d_job *job, char out[P2D_JOB_FINGERPRINT_LEN])
    __attribute__((warn_unused_result));

/* Multi-line "key: value" description for logs and --dry-run; passwords
 * masked. Always NUL-terminates out. */
void p2d_job_describe(const struct p2d_job *job, char *out, size_t outlen);

/* ---- pure selection and naming helpers ---------------------------------- */

/* True if the source table schema.table is selected by the job's patterns. */
bool p2d_job_table_selected(const struct p2d_job *job, const char *schema, const char *table);

/* The job file's settings for schema.table, or NULL (borrowed from job). */
const struct p2d_job_table *p2d_job_table_config(const struct p2d_job *job, const char *schema,
                                                 const char *table);

struct p2d_dest_name {
    char database[128];
    char table[256];
    bool explicit_name; /* true when the job file's "name" set the table name */
};

/*
 * Where schema.table lands in Doris: the database from the job file's
 * "databases" map (else --dest's), and the table from "tables"."name"
 * (used verbatim) or else the source name with --name-case applied.
 * Returns 0, or P2D_EINVAL with err saying the derived name is not a valid
 * Doris table name and how to map it in the job file.
 */
int p2d_job_dest_name(const struct p2d_job *job, const char *schema, const char *table,
                      struct p2d_dest_name *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The Doris name of a column: the job file's rename, else --name-case
 * applied. Always NUL-terminates out. */
void p2d_job_dest_column(const struct p2d_job *job, const char *schema, const char *table,
                         const char *column, char *out, size_t outlen);

struct p2d_job_source_table {
    const char *schema;
    const char *table;
};

/*
 * Refuses two selected tables that land on the same Doris table, unless the
 * job file maps every one of them to that name explicitly ("name"), which
 * merges them on purpose. tables are the selected source tables (borrowed).
 * Returns 0, P2D_EINVAL with one line per collision (or per invalid name)
 * in err, or P2D_ENOMEM.
 */
int p2d_job_check_collisions(const struct p2d_job *job, const struct p2d_job_source_table *tables,
                             size_t ntables, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parses a size "123", "64K", "256M", "1G", "2T" (also KB/KiB..., case-
 * insensitive, binary units) into *bytes. Returns 0 or P2D_EINVAL. */
int p2d_job_parse_size(const char *s, int64_t *bytes) __attribute__((warn_unused_result));

#endif
