/*
 * job.c - flags + job file -> one immutable struct p2d_job (see job.h and
 * docs/job-file.md).
 *
 * Parsing never stops at the first problem: every bad flag and every bad
 * job-file member adds one line to the error text, so a user fixes them all
 * in one round. Allocation failure is remembered and reported as P2D_ENOMEM
 * at the end.
 *
 * Defaults are chosen for a dedicated host with few cores (the product's
 * target has 2, shared with PostgreSQL) and need no tuning; the reasons are
 * next to each constant below.
 */
#include "job/job.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "base/log.h"
#include "base/text.h"
#include "p2d_error.h"

#define KIB ((int64_t)1024)
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

/*
 * Readers: one COPY stream per core. A COPY reader is mostly waiting on
 * the PostgreSQL backend that produces the text, so one per core keeps the
 * source busy without oversubscribing; more than 64 only adds connections.
 */
#define MAX_READERS 64
/*
 * Writers (concurrent Stream Loads): twice the readers, at most 16. A load
 * spends part of its life in the BE's commit and publish, during which its
 * body does not flow; a second load per reader keeps bytes moving meanwhile.
 * Past 16 concurrent loads per job, Doris gains nothing and each load adds
 * a rowset for compaction.
 */
#define DEFAULT_WRITERS_CAP 16
#define MAX_WRITERS         64
/*
 * Bytes per Stream Load: 256 MiB. Alibaba recommends loads of a few hundred
 * MB up to 1 GB: fewer, larger loads mean fewer transactions, versions and
 * compactions (BE max_tablet_version_num is 2000). Bodies are streamed in
 * chunks, so this costs no memory; a failed load re-sends at most this much.
 * The cap is BE streaming_load_max_mb (10240 MB by default).
 */
#define DEFAULT_BYTES_PER_LOAD (256 * MIB)
#define MIN_BYTES_PER_LOAD     (1 * MIB)
#define MAX_BYTES_PER_LOAD     (10 * GIB)
/*
 * Bytes per range: 256 MiB of COPY text. A range is the unit of restart, so
 * a kill -9 re-reads at most readers x 256 MiB; a 10 GB table still splits
 * into 40 ranges, enough to keep every reader busy to the end.
 */
#define DEFAULT_BYTES_PER_RANGE (256 * MIB)
#define MIN_BYTES_PER_RANGE     (1 * MIB)
/*
 * Memory budget for batch buffers: 128 MiB. It keeps the whole process under
 * the 256 MiB peak RSS target at default flags while giving each of 2
 * readers and 4 writers many buffers in flight. Every reader and writer
 * needs a few buffers of its own, hence the floor of 4 MiB per thread.
 */
#define DEFAULT_MEMORY        (128 * MIB)
#define MIN_MEMORY            (16 * MIB)
#define MIN_MEMORY_PER_THREAD (4 * MIB)
/* CDC batch timeout: the product documents 1000-10000 ms, default 5000. */
#define DEFAULT_BATCH_TIMEOUT_MS 5000
#define MIN_BATCH_TIMEOUT_MS     100
#define DOC_MIN_BATCH_TIMEOUT_MS 1000
#define MAX_BATCH_TIMEOUT_MS     10000
/* Retry windows (DESIGN §5): connections 720 min, other failures 10 min. */
#define DEFAULT_RETRY_CONNECT_MIN 720
#define DEFAULT_RETRY_OTHER_MIN   10
#define MAX_RETRY_MIN             (7 * 24 * 60)
#define MAX_BUCKET_COUNT          1024
#define DORIS_NAME_MAX            64
#define DEFAULT_STATE_DIR         P2D_JOB_DEFAULT_STATE_DIR

const char p2d_job_flags_help[] = P2D_JOB_FLAGS_HELP;

/* ---- parse context ------------------------------------------------------- */

struct parse {
    struct p2d_job *job;
    const struct p2d_job_env *env;
    char *err;
    size_t errlen;
    size_t errused;
    int nproblems;
    bool oom;
    const char *cmdname;
};

static void problem(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct parse *p, const char *fmt, ...)
{
    va_list ap;
    int n;

    p->nproblems++;
    if (!p->err || p->errlen == 0 || p->errused + 1 >= p->errlen)
        return;
    if (p->errused > 0)
        p->err[p->errused++] = '\n';
    va_start(ap, fmt);
    n = vsnprintf(p->err + p->errused, p->errlen - p->errused, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    p->errused += (size_t)n;
    if (p->errused >= p->errlen)
        p->errused = p->errlen - 1;
    p->err[p->errused] = '\0';
}

static char *xdup(struct parse *p, const char *s)
{
    char *d = strdup(s);

    if (!d)
        p->oom = true;
    return d;
}

/* Grows *arr (elements of size elem) to hold n+1 items. */
static bool grow(struct parse *p, void *arr, size_t n, size_t elem)
{
    void **a = arr;
    void *na = realloc(*a, (n + 1) * elem);

    if (!na) {
        p->oom = true;
        return false;
    }
    *a = na;
    return true;
}

static void warn(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct parse *p, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    struct p2d_job *job = p->job;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (!grow(p, &job->warnings, job->nwarnings, sizeof(char *)))
        return;
    job->warnings[job->nwarnings] = xdup(p, line);
    if (job->warnings[job->nwarnings])
        job->nwarnings++;
}

/* ---- names and patterns --------------------------------------------------- */

static bool is_glob_char(char c)
{
    return c == '*' || c == '?' || c == '[' || c == ']' || c == '\\';
}

/*
 * Splits "a.b" (parts optionally double-quoted, "" for a quote inside) into
 * malloc'd parts. With as_pattern, glob characters inside quotes are escaped
 * so fnmatch takes them literally. A missing schema part gives *schema NULL.
 * Returns NULL on success or a static description of what is wrong.
 */
static const char *split_qualified(const char *text, bool as_pattern, char **schema, char **table)
{
    size_t n = strlen(text);
    char *part[2];
    size_t len[2] = {0, 0};
    int idx = 0;
    bool quoted_any[2] = {false, false};

    *schema = *table = NULL;
    part[0] = malloc(2 * n + 1);
    part[1] = malloc(2 * n + 1);
    if (!part[0] || !part[1]) {
        free(part[0]);
        free(part[1]);
        return "out of memory";
    }
    for (size_t i = 0; i < n; i++) {
        char c = text[i];

        if (c == '"') {
            quoted_any[idx] = true;
            for (i++;; i++) {
                if (i >= n) {
                    free(part[0]);
                    free(part[1]);
                    return "unterminated double quote";
                }
                if (text[i] == '"') {
                    if (i + 1 < n && text[i + 1] == '"') {
                        i++;
                    } else {
                        break;
                    }
                }
                if (as_pattern && is_glob_char(text[i]))
                    part[idx][len[idx]++] = '\\';
                part[idx][len[idx]++] = text[i];
            }
            continue;
        }
        if (c == '.') {
            if (idx == 1) {
                free(part[0]);
                free(part[1]);
                return "more than one unquoted dot (quote names that contain dots)";
            }
            idx = 1;
            continue;
        }
        part[idx][len[idx]++] = c;
    }
    part[0][len[0]] = '\0';
    part[1][len[1]] = '\0';
    if ((len[0] == 0 && !quoted_any[0]) || (idx == 1 && len[1] == 0 && !quoted_any[1])) {
        free(part[0]);
        free(part[1]);
        return "empty schema or table part";
    }
    if (idx == 0) {
        *table = part[0];
        free(part[1]);
    } else {
        *schema = part[0];
        *table = part[1];
    }
    return NULL;
}

/* Adds pattern text to *arr; what names the flag or JSON path for messages. */
static void add_pattern(struct parse *p, struct p2d_job_pattern **arr, size_t *n, const char *text,
                        const char *what)
{
    char *schema, *table;
    const char *bad = split_qualified(text, true, &schema, &table);

    if (bad) {
        if (strcmp(bad, "out of memory") == 0)
            p->oom = true;
        else
            problem(p,
                    "%s: invalid pattern \"%s\": %s; hint: write schema.table with shell globs, "
                    "e.g. public.orders_*",
                    what, text, bad);
        return;
    }
    if (!schema && !(schema = xdup(p, "*"))) {
        free(table);
        return;
    }
    if (!grow(p, arr, *n, sizeof(**arr))) {
        free(schema);
        free(table);
        return;
    }
    (*arr)[*n].schema = schema;
    (*arr)[*n].table = table;
    (*arr)[*n].text = xdup(p, text);
    (*n)++;
}

/* Doris table and database names: ^[a-zA-Z][a-zA-Z0-9-_]*$, at most 64. */
static bool doris_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > DORIS_NAME_MAX || !isalpha((unsigned char)s[0]) || (s[0] & 0x80))
        return false;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x80 || !(isalnum(c) || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* Doris column names (doris-protocol.md §7.3):
 * ^[_a-zA-Z@0-9\s<>/][.a-zA-Z0-9_+-/><?@#$%^&*"\s,:]{0,255}$, not mv_ / mva_. */
static bool doris_column_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 256 || strncmp(s, "mv_", 3) == 0 || strncmp(s, "mva_", 4) == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x80)
            return false;
        if (isalnum(c) || c == '_' || c == '@' || c == ' ' || c == '\t' || c == '<' || c == '>' ||
            c == '/')
            continue;
        if (i > 0 && strchr(".+,-?#$%^&*\":", c))
            continue;
        return false;
    }
    return true;
}

static bool system_schema(const char *schema)
{
    return strcmp(schema, "pg_catalog") == 0 || strcmp(schema, "information_schema") == 0 ||
           strncmp(schema, "pg_toast", 8) == 0 || strncmp(schema, "pg_temp_", 8) == 0;
}

static bool pattern_matches(const struct p2d_job_pattern *pat, const char *schema,
                            const char *table)
{
    return fnmatch(pat->schema, schema, 0) == 0 && fnmatch(pat->table, table, 0) == 0;
}

bool p2d_job_table_selected(const struct p2d_job *job, const char *schema, const char *table)
{
    bool included = job->ninclude == 0;

    if (system_schema(schema))
        return false;
    for (size_t i = 0; i < job->ninclude && !included; i++)
        included = pattern_matches(&job->include[i], schema, table);
    if (!included)
        return false;
    for (size_t i = 0; i < job->nexclude; i++)
        if (pattern_matches(&job->exclude[i], schema, table))
            return false;
    return true;
}

const struct p2d_job_table *p2d_job_table_config(const struct p2d_job *job, const char *schema,
                                                 const char *table)
{
    for (size_t i = 0; i < job->ntables; i++)
        if (strcmp(job->tables[i].schema, schema) == 0 && strcmp(job->tables[i].table, table) == 0)
            return &job->tables[i];
    return NULL;
}

static void apply_case(enum p2d_name_case nc, const char *in, char *out, size_t outlen)
{
    size_t i;

    if (outlen == 0)
        return;
    for (i = 0; in[i] && i + 1 < outlen; i++) {
        unsigned char c = (unsigned char)in[i];

        if (nc == P2D_NAME_LOWER && c < 0x80)
            c = (unsigned char)tolower(c);
        else if (nc == P2D_NAME_UPPER && c < 0x80)
            c = (unsigned char)toupper(c);
        out[i] = (char)c;
    }
    out[i] = '\0';
}

int p2d_job_dest_name(const struct p2d_job *job, const char *schema, const char *table,
                      struct p2d_dest_name *out, char *err, size_t errlen)
{
    const struct p2d_job_table *cfg = p2d_job_table_config(job, schema, table);
    const char *db = job->dest.database;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < job->ndatabases; i++)
        if (strcmp(job->databases[i].schema, schema) == 0)
            db = job->databases[i].database;
    snprintf(out->database, sizeof(out->database), "%s", db);
    if (cfg && cfg->dest_name) {
        snprintf(out->table, sizeof(out->table), "%s", cfg->dest_name);
        out->explicit_name = true;
        return 0; /* validated when the job file was read */
    }
    apply_case(job->name_case, table, out->table, sizeof(out->table));
    if (!doris_name_ok(out->table)) {
        snprintf(
            err, errlen,
            "table \"%s\".\"%s\" would land as Doris table \"%s\", which Doris does not accept "
            "(a letter, then letters, digits, '-' or '_', at most %d characters); hint: map "
            "it in the job file: \"tables\": {\"%s.%s\": {\"name\": \"...\"}}",
            schema, table, out->table, DORIS_NAME_MAX, schema, table);
        return P2D_EINVAL;
    }
    return 0;
}

void p2d_job_dest_column(const struct p2d_job *job, const char *schema, const char *table,
                         const char *column, char *out, size_t outlen)
{
    const struct p2d_job_table *cfg = p2d_job_table_config(job, schema, table);

    if (cfg)
        for (size_t i = 0; i < cfg->ncolumns; i++)
            if (strcmp(cfg->columns[i].from, column) == 0) {
                snprintf(out, outlen, "%s", cfg->columns[i].to);
                return;
            }
    apply_case(job->name_case, column, out, outlen);
}

struct named {
    size_t index;
    struct p2d_dest_name name;
};

static int cmp_named(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int c = strcmp(x->name.database, y->name.database);

    if (c == 0)
        c = strcmp(x->name.table, y->name.table);
    if (c == 0)
        c = x->index < y->index ? -1 : x->index > y->index;
    return c;
}

int p2d_job_check_collisions(const struct p2d_job *job, const struct p2d_job_source_table *tables,
                             size_t ntables, char *err, size_t errlen)
{
    struct parse p = {.err = err, .errlen = errlen};
    struct named *v;

    if (errlen)
        err[0] = '\0';
    if (ntables == 0)
        return 0;
    v = calloc(ntables, sizeof(*v));
    if (!v)
        return P2D_ENOMEM;
    for (size_t i = 0; i < ntables; i++) {
        char line[1024];

        v[i].index = i;
        if (p2d_job_dest_name(job, tables[i].schema, tables[i].table, &v[i].name, line,
                              sizeof(line)) != 0)
            problem(&p, "%s", line);
    }
    qsort(v, ntables, sizeof(*v), cmp_named);
    for (size_t i = 0; i < ntables;) {
        size_t j = i + 1;
        bool all_explicit = v[i].name.explicit_name;

        while (j < ntables && strcmp(v[j].name.database, v[i].name.database) == 0 &&
               strcmp(v[j].name.table, v[i].name.table) == 0) {
            all_explicit = all_explicit && v[j].name.explicit_name;
            j++;
        }
        if (j - i > 1 && !all_explicit) {
            const struct p2d_job_source_table *a = &tables[v[i].index],
                                              *b = &tables[v[i + 1].index];

            problem(&p,
                    "tables \"%s\".\"%s\" and \"%s\".\"%s\"%s both land on Doris table "
                    "\"%s\".\"%s\"; hint: give one of them another \"name\" in the job file's "
                    "\"tables\" object, exclude one, or name all of them explicitly to merge them",
                    a->schema, a->table, b->schema, b->table, j - i > 2 ? " (and others)" : "",
                    v[i].name.database, v[i].name.table);
        }
        i = j;
    }
    free(v);
    return p.nproblems ? P2D_EINVAL : 0;
}

/* ---- scalar parsing ------------------------------------------------------- */

int p2d_job_parse_size(const char *s, int64_t *bytes)
{
    char *end;
    unsigned long long v;
    int64_t mult = 1;

    if (!s || !isdigit((unsigned char)s[0]))
        return P2D_EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return P2D_EINVAL;
    if (*end) {
        switch (toupper((unsigned char)*end)) {
        case 'K':
            mult = KIB;
            break;
        case 'M':
            mult = MIB;
            break;
        case 'G':
            mult = GIB;
            break;
        case 'T':
            mult = 1024 * GIB;
            break;
        case 'B':
            mult = 1;
            if (end[1])
                return P2D_EINVAL;
            *bytes = (int64_t)v;
            return v > INT64_MAX ? P2D_EINVAL : 0;
        default:
            return P2D_EINVAL;
        }
        end++;
        if (strcasecmp(end, "") != 0 && strcasecmp(end, "B") != 0 && strcasecmp(end, "iB") != 0)
            return P2D_EINVAL;
    }
    if (v > (unsigned long long)(INT64_MAX / mult))
        return P2D_EINVAL;
    *bytes = (int64_t)v * mult;
    return 0;
}

static bool parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (!s || !*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Formats a byte count as the largest exact binary unit ("256M"). */
static void format_size(int64_t v, char *out, size_t outlen)
{
    static const char units[] = "KMGT";
    int u = -1;

    while (v != 0 && v % 1024 == 0 && u < 3) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(out, outlen, "%" PRId64, v);
    else
        snprintf(out, outlen, "%" PRId64 "%c", v, units[u]);
}

/* ---- flags ---------------------------------------------------------------- */

enum flag_id {
    F_SOURCE,
    F_DEST,
    F_MODE,
    F_INCLUDE,
    F_EXCLUDE,
    F_JOB,
    F_STATE,
    F_READERS,
    F_WRITERS,
    F_ROWS_PER_RANGE,
    F_BYTES_PER_RANGE,
    F_BYTES_PER_LOAD,
    F_SPLIT_BY,
    F_MEMORY,
    F_FORMAT,
    F_COMPRESS,
    F_SOURCE_QPS,
    F_ROWS_PER_SEC,
    F_MB_PER_SEC,
    F_ON_CONFLICT,
    F_NAME_CASE,
    F_LOG_FORMAT,
    F_LOG_LEVEL,
    F_BATCH_TIMEOUT_MS,
    F_PROGRESS_EVERY,
    F_RETRY_CONNECT,
    F_RETRY_OTHER,
    F_METRICS_ADDR,
    F_FULL,
    F_ON_TRUNCATE,
    NFLAGS
};

struct flag {
    const char *name;
    enum flag_id id;
    bool takes_value;
    bool repeatable;
};

static const struct flag flags[] = {
    {"--source", F_SOURCE, true, false},
    {"--dest", F_DEST, true, false},
    {"--mode", F_MODE, true, false},
    {"--include", F_INCLUDE, true, true},
    {"--exclude", F_EXCLUDE, true, true},
    {"--job", F_JOB, true, false},
    {"--state", F_STATE, true, false},
    {"--readers", F_READERS, true, false},
    {"--writers", F_WRITERS, true, false},
    {"--rows-per-range", F_ROWS_PER_RANGE, true, false},
    {"--bytes-per-range", F_BYTES_PER_RANGE, true, false},
    {"--bytes-per-load", F_BYTES_PER_LOAD, true, false},
    {"--split-by", F_SPLIT_BY, true, false},
    {"--memory", F_MEMORY, true, false},
    {"--format", F_FORMAT, true, false},
    {"--compress", F_COMPRESS, true, false},
    {"--source-qps", F_SOURCE_QPS, true, false},
    {"--rows-per-sec", F_ROWS_PER_SEC, true, false},
    {"--mb-per-sec", F_MB_PER_SEC, true, false},
    {"--on-conflict", F_ON_CONFLICT, true, false},
    {"--name-case", F_NAME_CASE, true, false},
    {"--log-format", F_LOG_FORMAT, true, false},
    {"--log-level", F_LOG_LEVEL, true, false},
    {"--batch-timeout-ms", F_BATCH_TIMEOUT_MS, true, false},
    {"--progress-every", F_PROGRESS_EVERY, true, false},
    {"--retry-connect", F_RETRY_CONNECT, true, false},
    {"--retry-other", F_RETRY_OTHER, true, false},
    {"--metrics-addr", F_METRICS_ADDR, true, false},
    {"--full", F_FULL, false, false},
    {"--on-truncate", F_ON_TRUNCATE, true, false},
};

#define NFLAG_ENTRIES (sizeof(flags) / sizeof(flags[0]))

/* Picks one of names[] (index) or reports the flag's allowed values. */
static int pick(struct parse *p, const char *flag, const char *value, const char *const *names,
                int n)
{
    char allowed[128] = "";

    for (int i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0)
            return i;
    for (int i = 0; i < n; i++) {
        strncat(allowed, names[i], sizeof(allowed) - strlen(allowed) - 1);
        if (i + 1 < n)
            strncat(allowed, "|", sizeof(allowed) - strlen(allowed) - 1);
    }
    problem(p, "invalid %s \"%s\": expected %s", flag, value, allowed);
    return -1;
}

static void flag_int(struct parse *p, const char *flag, const char *value, int64_t min, int64_t max,
                     int64_t *out)
{
    if (!parse_int(value, min, max, out))
        problem(p, "invalid %s \"%s\": must be an integer from %" PRId64 " to %" PRId64, flag,
                value, min, max);
}

static void flag_size(struct parse *p, const char *flag, const char *value, int64_t min,
                      int64_t max, int64_t *out)
{
    int64_t v;
    char lo[32], hi[32];

    if (p2d_job_parse_size(value, &v) != 0) {
        problem(p, "invalid %s \"%s\": expected a size such as 512M or 2G (suffixes K, M, G, T)",
                flag, value);
        return;
    }
    format_size(min, lo, sizeof(lo));
    format_size(max, hi, sizeof(hi));
    if (v < min || v > max) {
        problem(p, "invalid %s \"%s\": must be from %s to %s", flag, value, lo, hi);
        return;
    }
    *out = v;
}

static void parse_modes(struct parse *p, const char *value)
{
    static const char *const names[] = {"schema", "full", "incremental"};
    char *copy = xdup(p, value), *save = NULL, *tok;
    unsigned modes = 0;

    if (!copy)
        return;
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int i;

        for (i = 0; i < 3; i++)
            if (strcmp(tok, names[i]) == 0)
                break;
        if (i == 3) {
            problem(p,
                    "invalid --mode \"%s\": unknown mode \"%s\"; hint: use a comma list of "
                    "schema, full, incremental",
                    value, tok);
            free(copy);
            return;
        }
        modes |= 1u << i;
    }
    free(copy);
    if (!modes) {
        problem(p,
                "invalid --mode \"%s\": no mode given; hint: use a comma list of schema, full, "
                "incremental",
                value);
        return;
    }
    p->job->modes = modes;
}

static void parse_metrics_addr(struct parse *p, const char *value)
{
    const char *colon = strrchr(value, ':');
    int64_t port;
    bool host_ok;

    if (value[0] == '[') {
        const char *close = strchr(value, ']');

        host_ok = close && close > value + 1 && close[1] == ':';
        colon = close ? close + 1 : NULL;
    } else {
        host_ok = colon && colon > value && memchr(value, ':', (size_t)(colon - value)) == NULL;
    }
    if (!host_ok || !colon || !parse_int(colon + 1, 0, 65535, &port)) {
        problem(p,
                "invalid --metrics-addr \"%s\": expected HOST:PORT (PORT 0: any free port, "
                "logged at start), e.g. 127.0.0.1:9187 or [::1]:9187",
                value);
        return;
    }
    p->job->metrics_addr = xdup(p, value);
}

/* Source identity for messages: libpq parses the conninfo or URI (no
 * connection is made); a syntax error is reported here. */
static void check_source(struct parse *p, const char *value)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(value, &errmsg);

    if (!opts) {
        size_t n;

        if (!errmsg) {
            p->oom = true;
            return;
        }
        n = strlen(errmsg);
        while (n > 0 && (errmsg[n - 1] == '\n' || errmsg[n - 1] == '.'))
            errmsg[--n] = '\0';
        problem(p,
                "invalid --source: %s; hint: use a libpq connection string (\"host=H dbname=D\") "
                "or URI (postgresql://USER@HOST:PORT/DB)",
                errmsg);
        PQfreemem(errmsg);
        return;
    }
    PQconninfoFree(opts);
}

static void set_defaults(struct p2d_job *job, const struct p2d_job_env *env)
{
    int cores = env->cores > 0 ? env->cores : 1;

    job->modes = P2D_MODE_SCHEMA | P2D_MODE_FULL | P2D_MODE_INCREMENTAL;
    job->readers = cores > MAX_READERS ? MAX_READERS : cores;
    job->writers = 0; /* after readers are known */
    job->rows_per_range = 0;
    job->bytes_per_range = DEFAULT_BYTES_PER_RANGE;
    job->bytes_per_load = DEFAULT_BYTES_PER_LOAD;
    job->memory = DEFAULT_MEMORY;
    job->format = P2D_FORMAT_CSV;
    job->compress = P2D_COMPRESS_NONE;
    job->on_conflict = P2D_CONFLICT_REPORT;
    job->name_case = P2D_NAME_KEEP;
    job->log_format = P2D_LOG_TEXT;
    job->log_level = P2D_LOG_INFO;
    job->batch_timeout_ms = DEFAULT_BATCH_TIMEOUT_MS;
    job->retry_connect_min = DEFAULT_RETRY_CONNECT_MIN;
    job->retry_other_min = DEFAULT_RETRY_OTHER_MIN;
}

static void apply_flag(struct parse *p, const struct flag *f, const char *value)
{
    static const char *const formats[] = {"csv", "json"};
    static const char *const compress[] = {"none", "gz"};
    static const char *const conflicts[] = {"report", "ignore"};
    static const char *const cases[] = {"keep", "lower", "upper"};
    static const char *const splits[] = {"ctid", "key"};
    struct p2d_job *job = p->job;
    int64_t v;
    int i;

    switch (f->id) {
    case F_SOURCE:
        if (!*value)
            problem(p, "invalid --source: empty connection string; hint: use \"host=H dbname=D\" "
                       "or postgresql://USER@HOST:PORT/DB");
        else
            check_source(p, value);
        job->source = xdup(p, value);
        break;
    case F_DEST:
        job->dest_url = xdup(p, value);
        break;
    case F_MODE:
        parse_modes(p, value);
        break;
    case F_INCLUDE:
        add_pattern(p, &job->include, &job->ninclude, value, "--include");
        break;
    case F_EXCLUDE:
        add_pattern(p, &job->exclude, &job->nexclude, value, "--exclude");
        break;
    case F_JOB:
        job->job_file = xdup(p, value);
        break;
    case F_STATE:
        if (!*value)
            problem(p, "invalid --state: empty directory name");
        else
            job->state_dir = xdup(p, value);
        break;
    case F_READERS:
        v = job->readers;
        flag_int(p, f->name, value, 1, MAX_READERS, &v);
        job->readers = (int)v;
        break;
    case F_WRITERS:
        v = 0;
        flag_int(p, f->name, value, 1, MAX_WRITERS, &v);
        job->writers = (int)v;
        break;
    case F_ROWS_PER_RANGE:
        flag_int(p, f->name, value, 0, INT64_MAX, &job->rows_per_range);
        break;
    case F_BYTES_PER_RANGE:
        flag_size(p, f->name, value, MIN_BYTES_PER_RANGE, 1024 * GIB, &job->bytes_per_range);
        break;
    case F_BYTES_PER_LOAD:
        flag_size(p, f->name, value, MIN_BYTES_PER_LOAD, MAX_BYTES_PER_LOAD, &job->bytes_per_load);
        break;
    case F_MEMORY:
        flag_size(p, f->name, value, MIN_MEMORY, 1024 * GIB, &job->memory);
        break;
    case F_SPLIT_BY:
        if ((i = pick(p, f->name, value, splits, 2)) >= 0)
            job->split_by = (enum p2d_split_by)i;
        break;
    case F_FORMAT:
        if ((i = pick(p, f->name, value, formats, 2)) >= 0)
            job->format = (enum p2d_body_format)i;
        break;
    case F_COMPRESS:
        if ((i = pick(p, f->name, value, compress, 2)) >= 0)
            job->compress = (enum p2d_compress)i;
        break;
    case F_SOURCE_QPS:
        flag_int(p, f->name, value, 0, 1000000000, &job->source_qps);
        break;
    case F_ROWS_PER_SEC:
        flag_int(p, f->name, value, 0, INT64_MAX / 2, &job->rows_per_sec);
        break;
    case F_MB_PER_SEC:
        flag_int(p, f->name, value, 0, 1000000000, &job->mb_per_sec);
        break;
    case F_ON_CONFLICT:
        if ((i = pick(p, f->name, value, conflicts, 2)) >= 0)
            job->on_conflict = (enum p2d_on_conflict)i;
        break;
    case F_ON_TRUNCATE: {
        static const char *const truncates[] = {"apply", "refuse"};

        if ((i = pick(p, f->name, value, truncates, 2)) >= 0)
            job->on_truncate = (enum p2d_on_truncate)i;
        break;
    }
    case F_NAME_CASE:
        if ((i = pick(p, f->name, value, cases, 3)) >= 0)
            job->name_case = (enum p2d_name_case)i;
        break;
    case F_LOG_FORMAT:
        if ((i = p2d_log_format_parse(value)) < 0)
            problem(p, "invalid --log-format \"%s\": expected text|json", value);
        else
            job->log_format = i;
        break;
    case F_LOG_LEVEL:
        if ((i = p2d_log_level_parse(value)) < 0)
            problem(p, "invalid --log-level \"%s\": expected debug|info|warn|error", value);
        else
            job->log_level = i;
        break;
    case F_BATCH_TIMEOUT_MS:
        v = job->batch_timeout_ms;
        flag_int(p, f->name, value, MIN_BATCH_TIMEOUT_MS, MAX_BATCH_TIMEOUT_MS, &v);
        job->batch_timeout_ms = (int)v;
        if (v < DOC_MIN_BATCH_TIMEOUT_MS)
            warn(p,
                 "--batch-timeout-ms %d is below the documented range 1000-10000: each table "
                 "may load up to %d times a second, creating many Doris versions",
                 (int)v, (int)(1000 / v));
        break;
    case F_PROGRESS_EVERY:
        v = job->progress_every_s;
        flag_int(p, f->name, value, 1, 3600, &v);
        job->progress_every_s = (int)v;
        break;
    case F_RETRY_CONNECT:
        v = job->retry_connect_min;
        flag_int(p, f->name, value, 0, MAX_RETRY_MIN, &v);
        job->retry_connect_min = (int)v;
        break;
    case F_RETRY_OTHER:
        v = job->retry_other_min;
        flag_int(p, f->name, value, 0, MAX_RETRY_MIN, &v);
        job->retry_other_min = (int)v;
        break;
    case F_METRICS_ADDR:
        parse_metrics_addr(p, value);
        break;
    case F_FULL:
        job->verify_full = true;
        break;
    case NFLAGS:
        break;
    }
}

/* ---- job file ------------------------------------------------------------- */

/* JSON path of member key under parent ("$.tables" + "public.t"). */
static void member_path(char *out, size_t outlen, const char *parent, const char *key)
{
    bool plain = isalpha((unsigned char)key[0]) || key[0] == '_';

    for (const char *k = key; plain && *k; k++)
        plain = isalnum((unsigned char)*k) || *k == '_';
    if (plain)
        snprintf(out, outlen, "%s.%s", parent, key);
    else
        snprintf(out, outlen, "%s[\"%s\"]", parent, key);
}

#define FILE_PROBLEM(p, path, ...) file_problem(p, path, __VA_ARGS__)

static void file_problem(struct parse *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void file_problem(struct parse *p, const char *path, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    problem(p, "job file \"%s\": %s: %s", p->job->job_file, path, msg);
}

static void unknown_key(struct parse *p, const char *parent, const char *key, const char *allowed)
{
    char path[512];

    member_path(path, sizeof(path), parent, key);
    FILE_PROBLEM(p, path, "unknown key; hint: allowed keys here are %s", allowed);
}

static void file_patterns(struct parse *p, json_t *arr, const char *path,
                          struct p2d_job_pattern **out, size_t *n)
{
    size_t i;
    json_t *v;

    if (!json_is_array(arr)) {
        FILE_PROBLEM(p, path, "must be an array of \"schema.table\" patterns");
        return;
    }
    json_array_foreach(arr, i, v)
    {
        char where[600];

        snprintf(where, sizeof(where), "job file \"%s\": %s[%zu]", p->job->job_file, path, i);
        if (!json_is_string(v)) {
            problem(p, "%s: must be a string such as \"public.orders_*\"", where);
            continue;
        }
        add_pattern(p, out, n, json_string_value(v), where);
    }
}

/* An array of distinct non-empty strings -> NULL-terminated malloc'd list. */
static char **file_names(struct parse *p, json_t *arr, const char *path)
{
    size_t i, n, used = 0;
    json_t *v;
    char **out;

    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        FILE_PROBLEM(p, path, "must be a non-empty array of column names");
        return NULL;
    }
    n = json_array_size(arr);
    out = calloc(n + 1, sizeof(char *));
    if (!out) {
        p->oom = true;
        return NULL;
    }
    json_array_foreach(arr, i, v)
    {
        char elem[600];

        snprintf(elem, sizeof(elem), "%s[%zu]", path, i);
        if (!json_is_string(v) || json_string_length(v) == 0) {
            FILE_PROBLEM(p, elem, "must be a non-empty string (a source column name)");
            continue;
        }
        for (size_t k = 0; k < used; k++)
            if (strcmp(out[k], json_string_value(v)) == 0)
                FILE_PROBLEM(p, elem, "column \"%s\" is listed twice", json_string_value(v));
        if ((out[used] = xdup(p, json_string_value(v))) != NULL)
            used++;
    }
    return out;
}

static void file_table(struct parse *p, const char *key, json_t *obj, const char *path)
{
    static const char allowed[] =
        "name, columns, where, dml, bucket_count, engine, key, distribution_key";
    struct p2d_job *job = p->job;
    struct p2d_job_table *t;
    const char *k;
    json_t *v;
    char *schema, *table;
    const char *bad = split_qualified(key, false, &schema, &table);

    if (bad || !schema) {
        if (bad && strcmp(bad, "out of memory") == 0) {
            p->oom = true;
            return;
        }
        FILE_PROBLEM(p, path,
                     "table keys must be exact \"schema.table\" names (%s); hint: e.g. "
                     "\"public.orders\"",
                     bad ? bad : "the schema is missing");
        free(schema);
        free(table);
        return;
    }
    if (!json_is_object(obj)) {
        FILE_PROBLEM(p, path, "must be an object with any of %s", allowed);
        free(schema);
        free(table);
        return;
    }
    if (!grow(p, &job->tables, job->ntables, sizeof(*job->tables))) {
        free(schema);
        free(table);
        return;
    }
    t = &job->tables[job->ntables++];
    memset(t, 0, sizeof(*t));
    t->schema = schema;
    t->table = table;
    t->dml = P2D_DML_ALL;
    json_object_foreach(obj, k, v)
    {
        char sub[600];

        member_path(sub, sizeof(sub), path, k);
        if (strcmp(k, "name") == 0) {
            if (!json_is_string(v) || !doris_name_ok(json_string_value(v)))
                FILE_PROBLEM(p, sub,
                             "must be a Doris table name: a letter, then letters, digits, '-' "
                             "or '_', at most %d characters",
                             DORIS_NAME_MAX);
            else
                t->dest_name = xdup(p, json_string_value(v));
        } else if (strcmp(k, "where") == 0) {
            if (!json_is_string(v) || json_string_length(v) == 0)
                FILE_PROBLEM(p, sub,
                             "must be a non-empty SQL condition on the source table, e.g. "
                             "\"created_at >= '2024-01-01'\"");
            else
                t->where = xdup(p, json_string_value(v));
        } else if (strcmp(k, "dml") == 0) {
            size_t i;
            json_t *e;

            t->dml = 0;
            if (!json_is_array(v) || json_array_size(v) == 0) {
                FILE_PROBLEM(p, sub,
                             "must be a non-empty array of \"insert\", \"update\", "
                             "\"delete\"");
                continue;
            }
            json_array_foreach(v, i, e)
            {
                static const char *const kinds[] = {"insert", "update", "delete"};
                const char *s = json_is_string(e) ? json_string_value(e) : "";
                char elem[640];
                int kind;

                snprintf(elem, sizeof(elem), "%s[%zu]", sub, i);
                for (kind = 0; kind < 3; kind++)
                    if (strcmp(s, kinds[kind]) == 0)
                        break;
                if (kind == 3)
                    FILE_PROBLEM(p, elem, "must be \"insert\", \"update\" or \"delete\"");
                else
                    t->dml |= 1u << kind;
            }
        } else if (strcmp(k, "bucket_count") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                json_integer_value(v) > MAX_BUCKET_COUNT)
                FILE_PROBLEM(p, sub,
                             "must be an integer from 1 to %d; hint: leave it out for Doris's "
                             "automatic bucket count",
                             MAX_BUCKET_COUNT);
            else
                t->bucket_count = (int)json_integer_value(v);
        } else if (strcmp(k, "engine") == 0) {
            const char *s = json_is_string(v) ? json_string_value(v) : "";

            if (strcmp(s, "unique") == 0)
                t->model = P2D_MODEL_UNIQUE;
            else if (strcmp(s, "duplicate") == 0)
                t->model = P2D_MODEL_DUPLICATE;
            else
                FILE_PROBLEM(p, sub, "must be \"unique\" or \"duplicate\"");
        } else if (strcmp(k, "key") == 0) {
            t->key = file_names(p, v, sub);
        } else if (strcmp(k, "distribution_key") == 0) {
            t->distribution_key = file_names(p, v, sub);
        } else if (strcmp(k, "columns") == 0) {
            const char *from;
            json_t *to;

            if (!json_is_object(v)) {
                FILE_PROBLEM(p, sub, "must be an object of source column -> Doris column names");
                continue;
            }
            json_object_foreach(v, from, to)
            {
                char elem[700];

                member_path(elem, sizeof(elem), sub, from);
                if (!json_is_string(to) || !doris_column_ok(json_string_value(to))) {
                    FILE_PROBLEM(p, elem,
                                 "must be a Doris column name (ASCII letters, digits, '_' and a "
                                 "few symbols, at most 256 characters, not starting with mv_)");
                    continue;
                }
                for (size_t c = 0; c < t->ncolumns; c++)
                    if (strcmp(t->columns[c].to, json_string_value(to)) == 0)
                        FILE_PROBLEM(p, elem,
                                     "columns \"%s\" and \"%s\" are both renamed to \"%s\"",
                                     t->columns[c].from, from, json_string_value(to));
                if (!grow(p, &t->columns, t->ncolumns, sizeof(*t->columns)))
                    continue;
                t->columns[t->ncolumns].from = xdup(p, from);
                t->columns[t->ncolumns].to = xdup(p, json_string_value(to));
                if (t->columns[t->ncolumns].from && t->columns[t->ncolumns].to)
                    t->ncolumns++;
                else {
                    free(t->columns[t->ncolumns].from);
                    free(t->columns[t->ncolumns].to);
                }
            }
        } else {
            unknown_key(p, path, k, allowed);
        }
    }
    /* Doris: the distribution columns of a Unique Key table must be key columns. */
    if (t->key && t->distribution_key && t->model != P2D_MODEL_DUPLICATE) {
        for (char **d = t->distribution_key; *d; d++) {
            bool found = false;

            for (char **kk = t->key; *kk && !found; kk++)
                found = strcmp(*kk, *d) == 0;
            if (!found) {
                char sub[600];

                member_path(sub, sizeof(sub), path, "distribution_key");
                FILE_PROBLEM(p, sub,
                             "column \"%s\" is not in \"key\"; hint: a Unique Key table is "
                             "distributed by key columns only",
                             *d);
            }
        }
    }
    if (t->model == P2D_MODEL_UNIQUE && t->dml != P2D_DML_ALL && !(t->dml & P2D_DML_INSERT)) {
        char sub[600];

        member_path(sub, sizeof(sub), path, "dml");
        FILE_PROBLEM(p, sub, "\"insert\" is missing: without inserts no row ever arrives");
    }
}

static void read_job_file(struct parse *p)
{
    static const char allowed[] = "version, include, exclude, databases, tables";
    struct p2d_job *job = p->job;
    json_error_t jerr;
    json_t *root, *v;
    const char *k;

    root = json_load_file(job->job_file, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (jerr.line < 1)
            problem(p, "cannot read job file \"%s\": %s", job->job_file, jerr.text);
        else
            problem(p,
                    "job file \"%s\": line %d, column %d: %s; hint: the job file is JSON, see "
                    "docs/job-file.md",
                    job->job_file, jerr.line, jerr.column, jerr.text);
        return;
    }
    if (!json_is_object(root)) {
        FILE_PROBLEM(p, "$", "must be a JSON object; hint: see docs/job-file.md");
        json_decref(root);
        return;
    }
    json_object_foreach(root, k, v)
    {
        char path[600];

        member_path(path, sizeof(path), "$", k);
        if (strcmp(k, "version") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) != 1)
                FILE_PROBLEM(p, path, "must be 1 (the only job file version)");
        } else if (strcmp(k, "include") == 0) {
            file_patterns(p, v, path, &job->include, &job->ninclude);
        } else if (strcmp(k, "exclude") == 0) {
            file_patterns(p, v, path, &job->exclude, &job->nexclude);
        } else if (strcmp(k, "databases") == 0) {
            const char *schema;
            json_t *db;

            if (!json_is_object(v)) {
                FILE_PROBLEM(p, path, "must be an object of source schema -> Doris database");
                continue;
            }
            json_object_foreach(v, schema, db)
            {
                char sub[700];

                member_path(sub, sizeof(sub), path, schema);
                if (!json_is_string(db) || !doris_name_ok(json_string_value(db))) {
                    FILE_PROBLEM(p, sub,
                                 "must be a Doris database name: a letter, then letters, digits, "
                                 "'-' or '_', at most %d characters",
                                 DORIS_NAME_MAX);
                    continue;
                }
                if (!grow(p, &job->databases, job->ndatabases, sizeof(*job->databases)))
                    continue;
                job->databases[job->ndatabases].schema = xdup(p, schema);
                job->databases[job->ndatabases].database = xdup(p, json_string_value(db));
                job->ndatabases++;
            }
        } else if (strcmp(k, "tables") == 0) {
            const char *name;
            json_t *t;

            if (!json_is_object(v)) {
                FILE_PROBLEM(p, path, "must be an object keyed by \"schema.table\"");
                continue;
            }
            json_object_foreach(v, name, t)
            {
                char sub[700];

                member_path(sub, sizeof(sub), path, name);
                file_table(p, name, t, sub);
            }
        } else {
            unknown_key(p, "$", k, allowed);
        }
    }
    json_decref(root);
}

/* ---- parse ---------------------------------------------------------------- */

static const char *cmd_name(enum p2d_job_cmd cmd)
{
    switch (cmd) {
    case P2D_JOB_SYNC:
        return "sync";
    case P2D_JOB_PRECHECK:
        return "precheck";
    case P2D_JOB_VERIFY:
        return "verify";
    case P2D_JOB_DROP:
        return "drop";
    }
    return "sync";
}

void p2d_job_env_from_process(struct p2d_job_env *env)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    env->dest_password = getenv("PG2DORIS_DEST_PASSWORD");
    env->cores = n > 0 ? (int)n : 1;
}

int p2d_job_parse(enum p2d_job_cmd cmd, int argc, char **argv, const struct p2d_job_env *env,
                  struct p2d_job **out, char *err, size_t errlen)
{
    struct p2d_job *job = calloc(1, sizeof(*job));
    struct parse p = {.job = job, .env = env, .err = err, .errlen = errlen};
    bool seen[NFLAGS] = {false};
    bool writers_given = false;

    *out = NULL;
    if (errlen)
        err[0] = '\0';
    if (!job)
        return P2D_ENOMEM;
    job->cmd = cmd;
    p.cmdname = cmd_name(cmd);
    set_defaults(job, env);

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = NULL, *eq;
        const struct flag *f = NULL;
        size_t namelen;

        if (strncmp(arg, "--", 2) != 0) {
            problem(&p,
                    "unexpected argument \"%s\"; hint: every setting is a --flag, run "
                    "\"pg2doris %s --help\"",
                    arg, p.cmdname);
            continue;
        }
        eq = strchr(arg, '=');
        namelen = eq ? (size_t)(eq - arg) : strlen(arg);
        for (size_t k = 0; k < NFLAG_ENTRIES; k++)
            if (strlen(flags[k].name) == namelen && strncmp(flags[k].name, arg, namelen) == 0)
                f = &flags[k];
        if (f && f->id == F_FULL && cmd != P2D_JOB_VERIFY)
            f = NULL;
        if (!f) {
            problem(&p, "unknown flag \"%.*s\"; hint: run \"pg2doris %s --help\" for the flags",
                    (int)namelen, arg, p.cmdname);
            continue;
        }
        if (f->takes_value) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else {
                problem(&p, "flag \"%s\" needs a value", f->name);
                continue;
            }
        } else if (eq) {
            problem(&p, "flag \"%s\" takes no value", f->name);
            continue;
        }
        if (seen[f->id] && !f->repeatable) {
            problem(&p, "flag \"%s\" given more than once", f->name);
            continue;
        }
        seen[f->id] = true;
        if (f->id == F_WRITERS)
            writers_given = true;
        apply_flag(&p, f, value);
    }

    if (!seen[F_SOURCE])
        problem(&p, "--source is required; hint: e.g. --source \"host=pg1 dbname=app\" or "
                    "--source postgresql://app@pg1/app");
    if (!seen[F_DEST] && cmd != P2D_JOB_DROP)
        problem(&p, "--dest is required; hint: e.g. --dest http://root@doris-fe:8030/app");
    if (job->dest_url) {
        char derr[512];

        if (p2d_dest_parse(job->dest_url, env->dest_password, &job->dest, derr,
                           (int)sizeof(derr)) != 0)
            problem(&p, "%s", derr);
    }
    if (!job->state_dir)
        job->state_dir = xdup(&p, DEFAULT_STATE_DIR);
    if (!writers_given) {
        job->writers = 2 * job->readers;
        if (job->writers > DEFAULT_WRITERS_CAP)
            job->writers = DEFAULT_WRITERS_CAP;
    }
    /* Many cores: the default budget grows with the threads instead of failing. */
    if (!seen[F_MEMORY] && job->memory < MIN_MEMORY_PER_THREAD * (job->readers + job->writers))
        job->memory = MIN_MEMORY_PER_THREAD * (job->readers + job->writers);
    if (job->memory < MIN_MEMORY_PER_THREAD * (job->readers + job->writers)) {
        char have[32], need[32];

        format_size(job->memory, have, sizeof(have));
        format_size(MIN_MEMORY_PER_THREAD * (job->readers + job->writers), need, sizeof(need));
        problem(&p,
                "--memory %s is too small for %d readers and %d writers; hint: give at least "
                "%s (4M per thread) or fewer --readers/--writers",
                have, job->readers, job->writers, need);
    }
    if (job->job_file)
        read_job_file(&p);
    /* A configured table must also be selected, or its settings silently do nothing. */
    for (size_t i = 0; i < job->ntables; i++) {
        const struct p2d_job_table *t = &job->tables[i];

        if (!p2d_job_table_selected(job, t->schema, t->table)) {
            char path[600], key[520];

            snprintf(key, sizeof(key), "%s.%s", t->schema, t->table);
            member_path(path, sizeof(path), "$.tables", key);
            FILE_PROBLEM(&p, path,
                         "table is configured but not selected by the include/exclude patterns; "
                         "hint: add it to \"include\" or remove this entry");
        }
    }

    if (p.oom) {
        p2d_job_destroy(job);
        return P2D_ENOMEM;
    }
    if (p.nproblems) {
        p2d_job_destroy(job);
        return P2D_EINVAL;
    }
    *out = job;
    return 0;
}

static void free_list(char **l)
{
    if (!l)
        return;
    for (char **s = l; *s; s++)
        free(*s);
    free(l);
}

static void free_patterns(struct p2d_job_pattern *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].schema);
        free(v[i].table);
        free(v[i].text);
    }
    free(v);
}

void p2d_job_destroy(struct p2d_job *job)
{
    if (!job)
        return;
    free(job->source);
    free(job->dest_url);
    free(job->job_file);
    free(job->state_dir);
    free(job->metrics_addr);
    free_patterns(job->include, job->ninclude);
    free_patterns(job->exclude, job->nexclude);
    for (size_t i = 0; i < job->ndatabases; i++) {
        free(job->databases[i].schema);
        free(job->databases[i].database);
    }
    free(job->databases);
    for (size_t i = 0; i < job->ntables; i++) {
        struct p2d_job_table *t = &job->tables[i];

        free(t->schema);
        free(t->table);
        free(t->dest_name);
        free(t->where);
        free_list(t->key);
        free_list(t->distribution_key);
        for (size_t c = 0; c < t->ncolumns; c++) {
            free(t->columns[c].from);
            free(t->columns[c].to);
        }
        free(t->columns);
    }
    free(job->tables);
    for (size_t i = 0; i < job->nwarnings; i++)
        free(job->warnings[i]);
    free(job->warnings);
    free(job);
}

/* ---- canonical form and fingerprint --------------------------------------- */

static const char *const name_case_names[] = {"keep", "lower", "upper"};
static const char *const model_names[] = {"auto", "unique", "duplicate"};

static int cmp_pattern(const void *a, const void *b)
{
    const struct p2d_job_pattern *const *x = a, *const *y = b;
    int c = strcmp((*x)->schema, (*y)->schema);

    return c ? c : strcmp((*x)->table, (*y)->table);
}

/* Patterns as a sorted array of [schema, table] pairs (a set: order and
 * duplicates do not matter). */
static json_t *patterns_json(const struct p2d_job_pattern *v, size_t n)
{
    const struct p2d_job_pattern **sorted = calloc(n ? n : 1, sizeof(*sorted));
    json_t *arr = json_array();

    if (!sorted || !arr) {
        free(sorted);
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = &v[i];
    qsort(sorted, n, sizeof(*sorted), cmp_pattern);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && cmp_pattern(&sorted[i - 1], &sorted[i]) == 0)
            continue;
        json_array_append_new(arr, json_pack("[ss]", sorted[i]->schema, sorted[i]->table));
    }
    free(sorted);
    return arr;
}

static json_t *names_json(char **l)
{
    json_t *arr = json_array();

    for (char **s = l; s && *s; s++)
        json_array_append_new(arr, json_string(*s));
    return arr;
}

static const char *conninfo_value(PQconninfoOption *opts, const char *key)
{
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, key) == 0 && o->val)
            return o->val;
    return "";
}

char *p2d_job_canonical(const struct p2d_job *job)
{
    json_t *root = json_object(), *tables = json_object(), *dbs = json_object();
    PQconninfoOption *opts = job->source ? PQconninfoParse(job->source, NULL) : NULL;
    const char *host = conninfo_value(opts, "host");
    char *text = NULL;

    if (!root || !tables || !dbs)
        goto fail;
    if (!*host)
        host = conninfo_value(opts, "hostaddr");
    json_object_set_new(root, "source",
                        json_pack("{ssssss}", "host", host, "port", conninfo_value(opts, "port"),
                                  "dbname", conninfo_value(opts, "dbname")));
    json_object_set_new(root, "dest",
                        json_pack("{sssiss}", "host", job->dest.host, "port", job->dest.port,
                                  "database", job->dest.database));
    json_object_set_new(root, "include", patterns_json(job->include, job->ninclude));
    json_object_set_new(root, "exclude", patterns_json(job->exclude, job->nexclude));
    json_object_set_new(root, "name_case", json_string(name_case_names[job->name_case]));
    for (size_t i = 0; i < job->ndatabases; i++)
        json_object_set_new(dbs, job->databases[i].schema, json_string(job->databases[i].database));
    json_object_set(root, "databases", dbs);
    for (size_t i = 0; i < job->ntables; i++) {
        const struct p2d_job_table *t = &job->tables[i];
        json_t *cols = json_object(), *o;
        char *key;

        for (size_t c = 0; c < t->ncolumns; c++)
            json_object_set_new(cols, t->columns[c].from, json_string(t->columns[c].to));
        o = json_pack("{s:[ss],s:s?,s:s?,s:i,s:i,s:s,s:o,s:o,s:o}", "table", t->schema, t->table,
                      "name", t->dest_name, "where", t->where, "dml", (int)t->dml, "bucket_count",
                      t->bucket_count, "engine", model_names[t->model], "key", names_json(t->key),
                      "distribution_key", names_json(t->distribution_key), "columns", cols);
        if (!o)
            goto fail;
        /* length-prefixed key: unambiguous even for names holding dots */
        if (asprintf(&key, "%zu:%s%zu:%s", strlen(t->schema), t->schema, strlen(t->table),
                     t->table) < 0) {
            json_decref(o);
            goto fail;
        }
        json_object_set_new(tables, key, o);
        free(key);
    }
    json_object_set(root, "tables", tables);
    text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
fail:
    json_decref(dbs);
    json_decref(tables);
    json_decref(root);
    PQconninfoFree(opts);
    return text;
}

int p2d_job_fingerprint(const struct p2d_job *job, char out[P2D_JOB_FINGERPRINT_LEN])
{
    char *text = p2d_job_canonical(job);
    uint64_t h;

    if (!text)
        return P2D_ENOMEM;
    h = p2d_fnv1a64(P2D_FNV1A64_BASIS, text, strlen(text));
    free(text);
    snprintf(out, P2D_JOB_FINGERPRINT_LEN, "%016" PRIx64, h);
    return 0;
}

/* ---- describe ------------------------------------------------------------- */

struct out {
    char *buf;
    size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->len + 1 >= o->cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
    if (o->len >= o->cap)
        o->len = o->cap - 1;
}

/* Joins the names of the set bits of v ("schema,full"). */
static void bit_list(unsigned v, const char *const *names, int n, char *out, size_t outlen)
{
    size_t len = 0;

    out[0] = '\0';
    for (int i = 0; i < n; i++)
        if (v & (1u << i))
            len += (size_t)snprintf(out + len, outlen - len, "%s%s", len ? "," : "", names[i]);
}

static void mode_list(unsigned modes, char *out, size_t outlen)
{
    static const char *const names[] = {"schema", "full", "incremental"};

    bit_list(modes, names, 3, out, outlen);
}

static void dml_list(unsigned dml, char *out, size_t outlen)
{
    static const char *const names[] = {"insert", "update", "delete"};

    bit_list(dml, names, 3, out, outlen);
}

static void put_limit(struct out *o, const char *what, int64_t v, const char *unit)
{
    if (v == 0)
        put(o, "%s unlimited", what);
    else
        put(o, "%s %" PRId64 "%s", what, v, unit);
}

void p2d_job_describe(const struct p2d_job *job, char *buf, size_t buflen)
{
    static const char *const formats[] = {"csv", "json"};
    static const char *const compress[] = {"none", "gz"};
    static const char *const conflicts[] = {"report", "ignore"};
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    struct out o = {buf, 0, buflen};
    char masked[2048], dest[1024], a[40], b[32], fp[P2D_JOB_FINGERPRINT_LEN];

    if (buflen == 0)
        return;
    buf[0] = '\0';
    p2d_log_mask_secrets(job->source ? job->source : "", masked, sizeof(masked));
    p2d_dest_describe(&job->dest, dest, (int)sizeof(dest));
    put(&o, "command: %s\n", cmd_name(job->cmd));
    put(&o, "source: %s\n", masked);
    put(&o, "dest: %s\n", dest);
    mode_list(job->modes, a, sizeof(a));
    put(&o, "modes: %s\n", a);
    put(&o, "state: %s\n", job->state_dir);
    if (job->job_file)
        put(&o, "job file: %s\n", job->job_file);
    put(&o, "readers: %d, writers: %d\n", job->readers, job->writers);
    format_size(job->bytes_per_range, a, sizeof(a));
    if (job->rows_per_range)
        put(&o, "range: %" PRId64 " rows or %s, split by %s\n", job->rows_per_range, a,
            job->split_by == P2D_SPLIT_KEY ? "key" : "ctid");
    else
        put(&o, "range: %s, split by %s\n", a, job->split_by == P2D_SPLIT_KEY ? "key" : "ctid");
    format_size(job->bytes_per_load, a, sizeof(a));
    format_size(job->memory, b, sizeof(b));
    put(&o, "load: %s, memory: %s, format: %s, compress: %s\n", a, b, formats[job->format],
        compress[job->compress]);
    put(&o, "throttles: ");
    put_limit(&o, "source qps", job->source_qps, "");
    put_limit(&o, ", rows/s", job->rows_per_sec, "");
    put_limit(&o, ", MB/s", job->mb_per_sec, "");
    put(&o, "\n");
    put(&o, "on conflict: %s, name case: %s\n", conflicts[job->on_conflict],
        name_case_names[job->name_case]);
    put(&o, "batch timeout: %d ms, retry connect: %d min, retry other: %d min\n",
        job->batch_timeout_ms, job->retry_connect_min, job->retry_other_min);
    put(&o, "log: %s, %s\n", job->log_format == P2D_LOG_JSON ? "json" : "text",
        levels[job->log_level]);
    put(&o, "metrics: %s\n", job->metrics_addr ? job->metrics_addr : "off");
    if (job->cmd == P2D_JOB_VERIFY)
        put(&o, "verify: %s\n", job->verify_full ? "all rows" : "counts and sampled rows");
    put(&o, "include:");
    if (!job->ninclude)
        put(&o, " every table of every user schema");
    for (size_t i = 0; i < job->ninclude; i++)
        put(&o, " %s", job->include[i].text);
    put(&o, "\nexclude:");
    if (!job->nexclude)
        put(&o, " none");
    for (size_t i = 0; i < job->nexclude; i++)
        put(&o, " %s", job->exclude[i].text);
    put(&o, "\n");
    for (size_t i = 0; i < job->ndatabases; i++)
        put(&o, "database: schema \"%s\" -> \"%s\"\n", job->databases[i].schema,
            job->databases[i].database);
    for (size_t i = 0; i < job->ntables; i++) {
        const struct p2d_job_table *t = &job->tables[i];

        put(&o, "table \"%s\".\"%s\":", t->schema, t->table);
        if (t->dest_name)
            put(&o, " name %s,", t->dest_name);
        put(&o, " engine %s,", model_names[t->model]);
        dml_list(t->dml, a, sizeof(a));
        put(&o, " dml %s", a);
        if (t->bucket_count)
            put(&o, ", buckets %d", t->bucket_count);
        if (t->key) {
            put(&o, ", key");
            for (char **k = t->key; *k; k++)
                put(&o, " %s", *k);
        }
        if (t->distribution_key) {
            put(&o, ", distributed by");
            for (char **k = t->distribution_key; *k; k++)
                put(&o, " %s", *k);
        }
        for (size_t c = 0; c < t->ncolumns; c++)
            put(&o, ", column %s -> %s", t->columns[c].from, t->columns[c].to);
        if (t->where)
            put(&o, ", where %s", t->where);
        put(&o, "\n");
    }
    if (p2d_job_fingerprint(job, fp) == 0)
        put(&o, "fingerprint: %s\n", fp);
}
