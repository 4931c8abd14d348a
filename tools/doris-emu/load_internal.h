/*
 * load_internal.h - what load.c, load_csv.c and load_json.c share: the
 * state of one Stream Load and the row sink the two body parsers feed.
 *
 * Data flow: emu_load_feed -> (gzip inflate) -> csv_feed / json_feed ->
 * load_row (where / delete / mapping / emu_fast_convert for canonical
 * values, else emu_value_convert) -> emu_batch.
 * Each parser hands load_row one row as an array of source fields indexed
 * like the load's source columns (the `columns` header, or the table's
 * columns followed by `hidden_columns`). Field bytes point into the body
 * chunk or the parser's carry buffer and are valid until load_row returns.
 */
#ifndef EMU_LOAD_INTERNAL_H
#define EMU_LOAD_INTERNAL_H

#include "emu.h"

#include <zlib.h>

/* Rows whose reasons are written to the error log, as the BE's MAX_ERROR_NUM. */
#define LOAD_MAX_ERROR_LOG 50

enum load_format {
    LOAD_CSV,
    LOAD_JSON,
};

enum load_merge {
    LOAD_APPEND,
    LOAD_DELETE,
    LOAD_MERGE,
};

/* One source field of a row. */
enum {
    FLD_NULL = 1,    /* SQL NULL (CSV \N, JSON null or missing key) */
    FLD_ESCAPED = 2, /* CSV: contains the escape byte; unescape for string columns */
    FLD_MISSING = 4, /* JSON: key absent (the column default applies) */
};

struct load_field {
    const char *p;
    size_t n;
    unsigned flags;
};

/* A `where` / `delete` predicate: <source column> <op> <literal>. */
enum pred_op {
    PRED_EQ,
    PRED_NE,
    PRED_LT,
    PRED_LE,
    PRED_GT,
    PRED_GE,
    PRED_IS_NULL,
    PRED_IS_NOT_NULL,
};

struct load_pred {
    bool set;
    int src; /* source column index */
    enum pred_op op;
    char *literal; /* owned */
    bool literal_is_number;
};

/* What a source column feeds. */
enum src_role {
    SRC_IGNORED,     /* name not in the table: only usable in where / delete */
    SRC_VALUE,       /* a table column: value index in val_of_src */
    SRC_DELETE_SIGN, /* __DORIS_DELETE_SIGN__ */
    SRC_SEQUENCE,    /* __DORIS_SEQUENCE_COL__ */
};

struct load_src {
    char *name; /* owned, as written (without backticks) */
    enum src_role role;
    int val; /* SRC_VALUE: index into the batch values */
};

/* One value of a batch row: a table column and where it comes from. */
struct load_val {
    int col; /* table column index */
    int src; /* source column index, or -1: default */
    const struct emu_type *type;
    bool nullable;
    bool unescape;          /* escape set and column is CHAR/VARCHAR/STRING */
    struct emu_value deflt; /* converted default (when src < 0) */
    bool deflt_ok;
    struct emu_buf deflt_buf; /* backing text of deflt */
    struct emu_buf scratch;   /* conversion scratch, reused every row */
    struct emu_buf unesc;     /* unescaped field text, reused every row */
};

/* A value with a fast path (emu_fast_convert): load_row runs these grouped
 * by kind, one tight loop per kind, before the general path. */
struct load_fast {
    struct emu_fast fast;
    size_t field_off; /* byte offset of the source field in the fields array */
    int word;         /* general[word] |= bit when the fast path did not take it */
    uint64_t bit;
    struct emu_value *out; /* the value's slot in emu_load.row */
};

struct csv_opts {
    char sep[64];
    size_t sep_len;
    char delim[64];
    size_t delim_len;
    int enclose; /* byte, or -1 */
    int escape;  /* byte, or -1 */
    bool trim_double_quotes;
    long skip_lines; /* header lines to skip (skip_lines or csv_with_names*) */
};

struct json_opts {
    bool by_line;
    bool strip_outer_array;
    bool num_as_string;
    char **paths; /* jsonpaths as key lists: "$.a.b" -> "a\0b\0\0" (owned) */
    int npaths;
    char *root; /* json_root key list, same encoding, or NULL */
};

struct emu_load {
    struct emu_load_env env; /* a copy: the caller's may not outlive emu_load_begin */
    struct emu_store *store;
    struct emu_table *table;
    bool discard;
    char db[256];
    char label[160];
    char comment[1024];
    int64_t txn_id; /* -1 until begun */
    bool txn_open;  /* begun and neither finished nor aborted */
    bool two_phase;
    bool group_commit;
    char group_commit_mode[16];
    char load_id[40];

    /* body framing */
    bool chunked;
    int64_t content_length; /* -1 when chunked */
    uint64_t received;      /* body bytes as received (LoadBytes) */
    uint64_t body_limit;    /* bytes */

    /* decompression */
    bool gzip;
    bool z_ready;
    bool z_end; /* last member ended exactly at the input end */
    z_stream zs;
    char *zout;

    enum load_format format;
    struct csv_opts csv;
    struct json_opts json;

    /* mapping */
    int nsrc;
    struct load_src *srcs;
    int nvals;
    struct load_val *vals;
    int del_src; /* source column of __DORIS_DELETE_SIGN__, or -1 */
    int seq_src; /* source column giving the sequence value, or -1 */
    int seq_val; /* value index giving the sequence (mapped seq col), or -1 */
    const struct emu_type *seq_type;
    struct emu_buf seq_scratch;
    struct load_fast *fast;          /* values with a fast path, grouped by kind */
    int fast_end[EMU_FAST_TEXT + 1]; /* kind k: fast[fast_end[k - 1] .. fast_end[k]) */
    int val_words;                   /* uint64_t words of a bit per value */
    uint64_t *val_slow;              /* bit set for each value without a fast path */
    uint64_t *val_general;           /* per row: values left to the general path */
    struct load_pred where;
    struct load_pred del;
    enum load_merge merge;
    bool strict;
    double max_filter_ratio;
    bool partial;
    struct emu_tz tz;

    /* results */
    struct emu_batch batch;
    struct emu_value *row; /* nvals converted values of the current row */
    int64_t total, loaded, filtered, unselected;
    struct emu_buf errlog;
    char first_error[1024];

    /* parser state */
    struct emu_buf carry; /* bytes of an unfinished record */
    size_t carry_scanned; /* carry has no record end before this offset */
    long lines_skipped;
    struct load_field *fields;
    int fields_cap;
    struct emu_buf unesc;    /* CSV unescape scratch */
    bool json_array_started; /* strip_outer_array in by_line = false mode */

    /* failure */
    bool failed;
    struct emu_err err;

    /* timing (monotonic ns) */
    int64_t t_start, t_begin_txn_ns, t_put_ns, t_read_ns, t_first_byte, t_last_byte, t_commit_ns;
};

/* Marks the load failed (first failure wins). Returns -1. */
int load_fail(struct emu_load *l, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Counts one row (total) and either filters it with reason, skips it by
 * `where`, or converts and appends it. fields has nsrc entries. line is the
 * row's source text for the error log. */
void load_row(struct emu_load *l, const struct load_field *fields, const char *line,
              size_t line_len);

/* Counts one row as filtered with a reason (CSV column count, JSON shape). */
void load_filter(struct emu_load *l, const char *line, size_t line_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Ensures l->fields holds at least n entries. */
void load_fields_reserve(struct emu_load *l, int n);

int64_t load_now_ns(void);

/* Parsers: feed decompressed body bytes; finish at the end of the body. */
void csv_feed(struct emu_load *l, const char *p, size_t n);
void csv_finish(struct emu_load *l);
void json_feed(struct emu_load *l, const char *p, size_t n);
void json_finish(struct emu_load *l);

/* Parses one jsonpath ("$.a.b", "$.a", "$") into the key-list encoding. Returns
 * NULL for paths the emulator does not support (wildcards, indexes). */
char *json_path_compile(const char *path);

#endif /* EMU_LOAD_INTERNAL_H */
