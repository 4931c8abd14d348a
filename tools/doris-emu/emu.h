/*
 * emu.h - contracts shared by doris-emu's modules.
 *
 * doris-emu stands in for an Apache Doris / SelectDB cluster: an FE HTTP
 * port and a BE HTTP port speaking the protocol of
 * shared/docs/doris-protocol.md, with tables stored in SQLite.
 *
 *   http.c    FE and BE listeners (libmicrohttpd), routing, auth, 307, 2PC,
 *             health / bootstrap / backends / _schema, admin, fault hooks
 *   load.c    one Stream Load: header parsing, streaming body parser (CSV,
 *             JSON, gzip), per-row type checks, answer JSON
 *   types.c   Doris types: parse, format, convert one text value (pure)
 *   sqlparse.c Doris SQL: tokenizer, DDL parser, SELECT rewrite (pure)
 *   store.c   SQLite: catalog, labels and transactions, atomic apply, queries
 *   auth.c    users file, Basic credentials, privileges
 *   fault.c   fault specs and their matching
 *
 * DESIGN (threads): libmicrohttpd runs one thread per connection. Each load
 * parses and converts its body into its own emu_batch without locks; only
 * emu_store_* calls take the store's mutex (SQLite has one writer anyway).
 * Catalog objects handed out by the store are immutable, reference-counted
 * snapshots, so a concurrent ALTER never changes a table under a running load.
 */
#ifndef EMU_H
#define EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

/*
 * A Doris-style error: code is the TStatusCode name ("ANALYSIS_ERROR",
 * "DATA_QUALITY_ERROR", "LABEL_ALREADY_EXISTS", "INTERNAL_ERROR", ...) or an
 * storage-engine code written as "E-235". msg is the text after "[code]".
 * For SQL errors code is the MySQL errCode as text ("1105") and msg the
 * detailMessage.
 */
struct emu_err {
    char code[40];
    char msg[1024];
};

void emu_err_set(struct emu_err *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------------ */
/* Growable byte buffer                                                      */

struct emu_buf {
    char *data;
    size_t len;
    size_t cap;
};

void emu_buf_init(struct emu_buf *b);
void emu_buf_fini(struct emu_buf *b);
void emu_buf_reserve(struct emu_buf *b, size_t extra); /* aborts on OOM */
void emu_buf_append(struct emu_buf *b, const void *p, size_t n);
void emu_buf_printf(struct emu_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------ */
/* Doris types (types.c, pure)                                               */

enum emu_kind {
    EMU_BOOLEAN,
    EMU_TINYINT,
    EMU_SMALLINT,
    EMU_INT,
    EMU_BIGINT,
    EMU_LARGEINT,
    EMU_FLOAT,
    EMU_DOUBLE,
    EMU_DECIMAL, /* precision 1..38, scale 0..precision */
    EMU_DATE,
    EMU_DATETIME, /* precision in 'scale', 0..6 */
    EMU_CHAR,     /* length in bytes 1..255 */
    EMU_VARCHAR,  /* length in bytes 1..65533 */
    EMU_STRING,
    EMU_JSON,
    EMU_ARRAY, /* element type in 'elem' */
    EMU_IPV4,
    EMU_IPV6,
};

struct emu_type {
    enum emu_kind kind;
    int length;            /* CHAR / VARCHAR byte length */
    int precision;         /* DECIMAL */
    int scale;             /* DECIMAL scale, DATETIME fractional digits */
    struct emu_type *elem; /* ARRAY element, owned */
};

/*
 * Parses a Doris type as written in CREATE TABLE ("DECIMAL(18,2)",
 * "varchar(20)", "DATETIMEV2(6)", "ARRAY<INT>", "DECIMALV3(9,2)", "TEXT",
 * "JSONB", ...). Applies Doris's defaults and limits (VARCHAR without length
 * is 65533, DECIMAL without arguments is DECIMAL(38,9), ...). On error
 * returns -1 with a Doris-style message in err (code "1105").
 */
int emu_type_parse(const char *text, struct emu_type *out, struct emu_err *err);
void emu_type_fini(struct emu_type *t); /* frees elem chain */
int emu_type_copy(struct emu_type *dst, const struct emu_type *src);

/* Canonical spelling as DESC / SHOW CREATE TABLE print it ("decimal(18,2)"
 * for DESC is lower case: lower selects that form). */
void emu_type_format(const struct emu_type *t, bool lower, struct emu_buf *out);

/* Doris rules for keys and distribution (§5.3): NULL when allowed, else the
 * detailMessage Doris gives (column name substituted). */
const char *emu_type_key_ban(const struct emu_type *t);

/* A converted value, as stored. Text points into caller-provided scratch or
 * into the input and is valid until the next conversion into that scratch. */
enum emu_vkind {
    EMU_V_NULL,
    EMU_V_INT,  /* BOOLEAN, TINYINT .. BIGINT */
    EMU_V_REAL, /* FLOAT, DOUBLE */
    EMU_V_TEXT, /* everything else, in canonical text form */
};

struct emu_value {
    enum emu_vkind kind;
    int64_t i;
    double r;
    const char *s;
    size_t n;
};

/*
 * A load's time zone (header `timezone`, else `time_zone`, else UTC): used
 * to convert DATETIME input that carries an offset or zone suffix
 * ("2024-01-01 08:00:00+08:00") into the load's local time, as Doris does.
 * Accepts "UTC", "+HH:MM" / "-HH:MM" and IANA names from /usr/share/zoneinfo.
 */
struct emu_tz {
    bool named;     /* IANA name (offset depends on the instant) */
    int offset_sec; /* fixed offset when !named */
    char name[64];
};

int emu_tz_parse(const char *text, struct emu_tz *tz, struct emu_err *err);

enum emu_conv {
    EMU_CONV_OK = 0,
    EMU_CONV_BAD = 1, /* not a value of the type: NULL in non-strict mode, filtered in strict */
    EMU_CONV_OVERFLOW = 2, /* a value of the type but out of range / too long: always filtered */
};

/*
 * Converts the text form of one value (a CSV field, or a JSON scalar's text)
 * into its stored form. tz may be NULL (UTC). Never called for NULL. scratch receives canonical
 * text when it differs from the input (decimals, dates, JSON, ...). On
 * failure returns EMU_CONV_BAD or EMU_CONV_OVERFLOW and writes a short
 * reason ("the length of input is too long than schema", ...) into why.
 * Must be fast: it runs once per field of every loaded row.
 */
enum emu_conv emu_value_convert(const struct emu_type *t, const char *p, size_t n,
                                const struct emu_tz *tz, struct emu_buf *scratch,
                                struct emu_value *out, char *why, size_t whylen);

/*
 * Fast conversion of canonical text. Most loaded fields are already in their
 * column's canonical form (PostgreSQL's COPY output is): emu_fast_convert
 * recognises that case and gives exactly what emu_value_convert gives for it
 * (kind, value, text in place); for anything else (spaces, '+', leading
 * zeros, rounding, other spellings, errors) it returns false and the caller
 * goes on with emu_value_convert. It is inline because the row loop of a
 * load runs it for every field.
 */
enum emu_fast_kind {
    EMU_FAST_NONE,     /* no fast path: always emu_value_convert */
    EMU_FAST_INT,      /* TINYINT..BIGINT: [-]digits, fewer than could overflow */
    EMU_FAST_DECIMAL,  /* [-]digits[.digits]: no leading zero, exactly scale fraction digits */
    EMU_FAST_DATE,     /* YYYY-MM-DD naming a real day */
    EMU_FAST_DATETIME, /* YYYY-MM-DD HH:MM:SS[.digits]: exactly scale fraction digits */
    EMU_FAST_TEXT,     /* CHAR / VARCHAR / STRING within the byte limit (the last kind) */
};

struct emu_fast {
    enum emu_fast_kind kind;
    unsigned digits; /* INT: digit count that always fits; DECIMAL: precision - scale */
    unsigned scale;  /* DECIMAL, DATETIME */
    unsigned frac;   /* DECIMAL: bytes of the point and fraction (0 at scale 0) */
    unsigned seps;   /* DATETIME: bit i set for each separator byte i */
    size_t len;      /* TEXT: byte limit (STRING: the limit when planned); DATETIME: length */
};

/* Plans the fast path for values of type t (kind NONE when there is none). */
void emu_fast_plan(struct emu_fast *f, const struct emu_type *t);

/* Bit i set when p[i] is not '0'..'9', for i < 16; p[0..16) is read. */
static inline unsigned emu_nondigits16_scalar(const char *p)
{
    unsigned m = 0;

    for (int i = 0; i < 16; i++)
        m |= (unsigned)((unsigned)((unsigned char)p[i] - '0') > 9) << i;
    return m;
}

static inline unsigned emu_nondigits16(const char *p)
{
#ifdef __SSE2__
    /* adding 0x50 maps '0'..'9', and only them, onto -128..-119 */
    __m128i v =
        _mm_add_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), _mm_set1_epi8(0x50));

    return (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(v, _mm_set1_epi8(-119)));
#else
    return emu_nondigits16_scalar(p);
#endif
}

/* Bit i set when p[i] is not a digit, for i < n, 1 <= n <= 32; p[0..16) is
 * read when n < 16, p[0..n) otherwise. */
static inline uint32_t emu_nondigits(const char *p, size_t n)
{
    uint32_t m = emu_nondigits16(p);

    if (n >= 16)
        return m | (uint32_t)emu_nondigits16(p + n - 16) << (n - 16);
    return m & ((UINT32_C(1) << n) - 1);
}

/* The value of the eight digit bytes p[0..8) (Lemire's eight-digit parse)
 * when keep is 8; with keep < 8 only the first keep of them (the others
 * need not be digits). */
static inline uint64_t emu_digits8(const char *p, size_t keep)
{
    uint64_t x;

    memcpy(&x, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    /* p[0] is the low byte: shifting p[keep..8) out leaves leading zeros;
     * a borrow from a non-digit byte only runs into bytes shifted out */
    x = (x - UINT64_C(0x3030303030303030)) << (8 * (8 - keep));
    x = x * 10 + (x >> 8);
    x = ((x & UINT64_C(0x000000FF000000FF)) * (100 + (UINT64_C(1000000) << 32)) +
         ((x >> 16) & UINT64_C(0x000000FF000000FF)) * (1 + (UINT64_C(10000) << 32))) >>
        32;
    return x & 0xFFFFFFFF;
}

/* The value of nd (1..18) digits at p, p[0..max(nd, 8)) readable. */
static inline uint64_t emu_digits(const char *p, size_t nd)
{
    size_t first = ((nd - 1) & 7) + 1; /* a leading group of 1..8, then groups of 8 */
    uint64_t v = emu_digits8(p, first);

    for (p += first, nd -= first; nd; p += 8, nd -= 8)
        v = v * 100000000 + emu_digits8(p, 8);
    return v;
}

/*
 * The kinds' checks: true when p[0..n) is canonical for the column (see
 * above), so that the value is the input text itself, or for INT the
 * number emu_fast_int_value reads. avail >= n bytes are readable at p;
 * short fields need 16 (they are loaded 16 bytes at once), else the check
 * says no and the general path decides.
 */
static inline bool emu_fast_text_ok(const struct emu_fast *f, size_t n)
{
    return n <= f->len;
}

static inline bool emu_fast_int_ok(const struct emu_fast *f, const char *p, size_t n, size_t avail)
{
    size_t neg;

    if (n < 16 ? avail < 16 || n == 0 : n > 32)
        return false;
    neg = p[0] == '-';
    /* empty after the sign, maybe out of range, or not digits */
    return n - neg - 1 < f->digits && emu_nondigits(p, n) == neg;
}

/* The value of p[0..n) that emu_fast_int_ok accepted. */
static inline int64_t emu_fast_int_value(const char *p, size_t n)
{
    size_t neg = p[0] == '-', nd = n - neg;
    uint64_t v = nd <= 8 ? emu_digits8(p + neg, nd) : emu_digits(p + neg, nd);

    return neg ? (int64_t)(0 - v) : (int64_t)v;
}

static inline bool emu_fast_decimal_ok(const struct emu_fast *f, const char *p, size_t n,
                                       size_t avail)
{
    size_t neg, nint;

    if (n < 16 ? avail < 16 || n == 0 : n > 32)
        return false;
    neg = p[0] == '-';
    if (n - neg <= f->frac)
        return false; /* no integer digit: "-", ".50" */
    nint = n - neg - f->frac;
    if (p[neg] == '0' ? nint > 1 || neg : nint > f->digits)
        return false; /* leading zeros, "-0.xx" (may be "0.00"), too many digits */
    /* the only non-digits: the sign and the point (behind nint digits) */
    return emu_nondigits(p, n) == (neg | (f->scale ? UINT32_C(1) << (neg + nint) : 0)) &&
           (f->scale == 0 || p[neg + nint] == '.');
}

/* q[0..10) is YYYY-MM-DD naming a real day (years 0000..9999); nondig is
 * emu_nondigits(q, n) for n >= 10. */
static inline bool emu_fast_ymd(const char *q, uint32_t nondig)
{
    unsigned mo, d, y;

    if ((nondig & 0x3FF) != (1u << 4 | 1u << 7) || q[4] != '-' || q[7] != '-')
        return false;
    mo = (unsigned)(q[5] - '0') * 10 + (unsigned)(q[6] - '0');
    d = (unsigned)(q[8] - '0') * 10 + (unsigned)(q[9] - '0');
    if (mo - 1 > 11 || d - 1 > 30) /* unsigned: 0 wraps */
        return false;
    if (d <= 28)
        return true;
    if (mo != 2)
        return d <= 30 + ((mo ^ (mo >> 3)) & 1); /* 31 days: odd months to July, even from August */
    y = (unsigned)(q[0] - '0') * 1000 + (unsigned)(q[1] - '0') * 100 + (unsigned)(q[2] - '0') * 10 +
        (unsigned)(q[3] - '0');
    return d == 29 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static inline bool emu_fast_date_ok(const char *p, size_t n, size_t avail)
{
    return n == 10 && avail >= 16 && emu_fast_ymd(p, emu_nondigits(p, 10));
}

static inline bool emu_fast_datetime_ok(const struct emu_fast *f, const char *p, size_t n)
{
    /* n >= 19: the loads stay inside the field */
    return n == f->len && emu_nondigits(p, n) == f->seps && emu_fast_ymd(p, f->seps) &&
           p[10] == ' ' && p[13] == ':' && p[16] == ':' && (f->scale == 0 || p[19] == '.') &&
           (p[11] - '0') * 10 + (p[12] - '0') <= 23 && p[14] <= '5' && p[17] <= '5';
}

/*
 * Is p[0..n) canonical for a column of kind `kind` planned as f? avail >= n
 * bytes are readable at p. kind is f->kind; a caller that knows it passes
 * a constant and gets the one check inlined, without dispatch.
 */
static inline bool emu_fast_check(enum emu_fast_kind kind, const struct emu_fast *f, const char *p,
                                  size_t n, size_t avail)
{
    switch (kind) {
    case EMU_FAST_TEXT:
        return emu_fast_text_ok(f, n);
    case EMU_FAST_INT:
        return emu_fast_int_ok(f, p, n, avail);
    case EMU_FAST_DECIMAL:
        return emu_fast_decimal_ok(f, p, n, avail);
    case EMU_FAST_DATE:
        return emu_fast_date_ok(p, n, avail);
    case EMU_FAST_DATETIME:
        return emu_fast_datetime_ok(f, p, n);
    case EMU_FAST_NONE:
        break;
    }
    return false;
}

/* The value of p[0..n), which emu_fast_check accepted for kind. */
static inline void emu_fast_value(enum emu_fast_kind kind, const char *p, size_t n,
                                  struct emu_value *out)
{
    if (kind == EMU_FAST_INT) {
        out->kind = EMU_V_INT;
        out->i = emu_fast_int_value(p, n);
        out->s = NULL;
        out->n = 0;
    } else {
        out->kind = EMU_V_TEXT; /* already canonical: the input itself */
        out->s = p;
        out->n = n;
    }
}

/*
 * Converts p[0..n) if it is canonical: true with out set exactly as
 * emu_value_convert would set it; false leaves out alone (the caller goes
 * on with emu_value_convert). avail >= n bytes are readable at p. Never
 * writes why or scratch.
 */
static inline bool emu_fast_convert(const struct emu_fast *f, const char *p, size_t n, size_t avail,
                                    struct emu_value *out)
{
    if (!emu_fast_check(f->kind, f, p, n, avail))
        return false;
    emu_fast_value(f->kind, p, n, out);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Catalog (owned by store.c, immutable snapshots)                           */

enum emu_keys_type {
    EMU_DUP_KEYS,
    EMU_UNIQUE_KEYS,
    EMU_AGG_KEYS,
};

struct emu_column {
    char *name;
    struct emu_type type;
    bool nullable;
    bool is_key;
    char *default_value; /* NULL: no default; text otherwise */
    char *comment;
};

struct emu_table {
    int refcount; /* atomic; use emu_table_ref / emu_table_unref */
    int64_t table_id;
    char *db;
    char *name;
    enum emu_keys_type keys_type;
    int ncols;
    int nkeys; /* the first nkeys columns are the key, in order */
    struct emu_column *cols;
    int ndist;
    int *dist_cols; /* DISTRIBUTED BY HASH columns (indexes), ndist == 0 for RANDOM */
    int buckets;    /* 0 = AUTO */
    bool merge_on_write;
    bool light_schema_change;
    int seq_col;       /* index of function_column.sequence_col, or -1 */
    bool has_seq_type; /* function_column.sequence_type: hidden __DORIS_SEQUENCE_COL__ */
    struct emu_type seq_type;
    json_t *properties; /* object name -> string, as given (plus defaults) */
    char *comment;
    int64_t schema_version; /* bumps on every ALTER */
};

struct emu_table *emu_table_ref(struct emu_table *t);
void emu_table_unref(struct emu_table *t);
/* Index of the column named name (case-insensitive), or -1. */
int emu_table_column(const struct emu_table *t, const char *name, size_t n);

/* ------------------------------------------------------------------------ */
/* A parsed load, ready to apply (built by load.c, applied by store.c)      */

/*
 * Rows are kept in one compact byte buffer, row after row:
 *
 *   u8 flags            bit0 delete (from __DORIS_DELETE_SIGN__ / merge_type)
 *   then for each of nvals values:   u8 tag, payload
 *   then, if has_seq, one more value: the sequence value
 *
 * tags: EMU_V_NULL (no payload), EMU_V_INT (int64, little endian, 8 bytes),
 * EMU_V_REAL (double, 8 bytes), EMU_V_TEXT (u32 length + bytes).
 * emu_batch_put_* append; emu_batch_cursor reads back.
 */
struct emu_batch {
    struct emu_table *table; /* reference held */
    int nvals;               /* values per row */
    int *col_of_val;         /* table column index of each value */
    bool partial;            /* partial column update (UPDATE_FIXED_COLUMNS) */
    bool new_key_error;      /* partial_update_new_key_behavior: ERROR */
    bool strict;             /* strict mode: partial update may not add keys */
    bool has_seq;            /* rows carry a sequence value */
    int64_t nrows;
    struct emu_buf rows;
};

void emu_batch_init(struct emu_batch *b, struct emu_table *table, const int *col_of_val, int nvals);
void emu_batch_fini(struct emu_batch *b);
void emu_batch_row_begin(struct emu_batch *b, bool is_delete);
void emu_batch_put(struct emu_batch *b, const struct emu_value *v);
void emu_batch_row_end(struct emu_batch *b);

struct emu_batch_cursor {
    const struct emu_batch *b;
    size_t off;
};

/* Reads the next row: *is_delete, vals[0..nvals) and *seq (if has_seq).
 * Returns false at the end. Text values point into the batch. */
bool emu_batch_next(struct emu_batch_cursor *c, bool *is_delete, struct emu_value *vals,
                    struct emu_value *seq);

/* ------------------------------------------------------------------------ */
/* Store (store.c): SQLite catalog, labels, transactions, apply, queries   */

struct emu_store;

enum emu_txn_state {
    EMU_TXN_PREPARE,      /* begun, body not yet applied: ExistingJobStatus RUNNING */
    EMU_TXN_PRECOMMITTED, /* 2PC precommit: PRECOMMITTED */
    EMU_TXN_VISIBLE,      /* FINISHED */
    EMU_TXN_ABORTED,      /* label reusable */
};

/*
 * Opens the store. path is a file name or ":memory:". With discard set,
 * loads are parsed and validated but never stored (catalog and labels are
 * still kept). Returns NULL with err filled on failure.
 */
struct emu_store *emu_store_open(const char *path, bool discard, struct emu_err *err);
void emu_store_close(struct emu_store *s);
bool emu_store_discard(const struct emu_store *s);

/* Looks up db.table. Returns a new reference or NULL (err: "1105"/"Unknown
 * table ..." or "unknown database"). */
struct emu_table *emu_store_table(struct emu_store *s, const char *db, const char *table,
                                  struct emu_err *err);
bool emu_store_db_exists(struct emu_store *s, const char *db);

/*
 * Begins a load transaction for label in db. On success returns 0 and sets
 * *txn_id. If the label is in use (state PREPARE, PRECOMMITTED or VISIBLE)
 * returns 1 with *txn_id the existing transaction and *existing its state;
 * aborted labels are reused. The label row is persisted before returning.
 */
int emu_store_txn_begin(struct emu_store *s, const char *db, const char *label, const char *table,
                        int64_t *txn_id, enum emu_txn_state *existing);

/*
 * Finishes a load: applies batch atomically (all rows or none) and marks the
 * transaction VISIBLE, or with two_phase keeps the batch staged and marks it
 * PRECOMMITTED. batch may be NULL (empty load). On failure the transaction is
 * ABORTED, nothing is applied, and -1 returns with err.
 */
int emu_store_txn_finish(struct emu_store *s, int64_t txn_id, struct emu_batch *batch,
                         bool two_phase, struct emu_err *err);

/* Aborts a PREPARE transaction (load failed before finish). */
void emu_store_txn_abort(struct emu_store *s, int64_t txn_id, const char *reason);

/*
 * 2PC commit / abort by txn_id (>= 0) or label (txn_id < 0). commit applies
 * the staged batch. Returns 0 with msg "transaction [N] commit successfully."
 * style text, or -1 with err (code INTERNAL_ERROR / ANALYSIS_ERROR) and the
 * Doris wording for "already committed" / "not found" / "aborted".
 */
int emu_store_txn_2pc(struct emu_store *s, const char *db, int64_t txn_id, const char *label,
                      bool commit, char *msg, size_t msglen, struct emu_err *err);

/* Saves rejected rows of a load for the ErrorURL; returns the file token
 * used in /api/_load_error_log?file=<token>. get returns a malloc'd copy. */
char *emu_store_error_log_put(struct emu_store *s, const char *text, size_t len);
char *emu_store_error_log_get(struct emu_store *s, const char *token, size_t *len);

/*
 * Runs one SQL statement (SQL over HTTP, §6.1) with db as the session
 * database (may be empty or "information_schema"). The caller has already
 * checked privileges through emu_sql_required_privs. On success returns 0
 * and *result is either
 *   {"type":"exec_status","status":{},"time":N}
 * or {"type":"result_set","meta":[{"name":..,"type":..}],"data":[[..]],"time":N}
 * with at most limit rows. On error returns -1 with err (code "1105" etc.).
 */
int emu_store_exec_sql(struct emu_store *s, const char *db, const char *sql, long limit,
                       json_t **result, struct emu_err *err);

/* The JSON of GET /api/{db}/{table}/_schema "data" member (§6.3). */
json_t *emu_store_table_schema_json(const struct emu_table *t);

/* ------------------------------------------------------------------------ */
/* SQL classification (sqlparse.c, pure)                                     */

enum emu_priv {
    EMU_PRIV_SELECT = 1 << 0,
    EMU_PRIV_LOAD = 1 << 1,
    EMU_PRIV_ALTER = 1 << 2,
    EMU_PRIV_CREATE = 1 << 3,
    EMU_PRIV_DROP = 1 << 4,
    EMU_PRIV_ADMIN = 1 << 5,
};

/* One privilege need of a statement: priv on db[.table] (table may be ""). */
struct emu_priv_need {
    unsigned priv;
    char db[128];
    char table[256];
};

/*
 * Lists what a statement needs (CREATE TABLE: CREATE on db.t; SELECT: SELECT
 * on every table read; SHOW DATABASES: nothing; ...). Fills up to max needs
 * and returns their count, or -1 with err for text that does not parse.
 */
int emu_sql_required_privs(const char *sql, const char *session_db, struct emu_priv_need *needs,
                           int max, struct emu_err *err);

/* ------------------------------------------------------------------------ */
/* Users and privileges (auth.c)                                             */

struct emu_auth;

/*
 * Loads users. path NULL gives the default: user "root" with an empty
 * password and ADMIN. File format, one user per line ('#' comments):
 *   name:password:PRIV[,PRIV...][:db[.table]]
 * where PRIV is SELECT, LOAD, ALTER, CREATE, DROP, ADMIN or ALL, and the
 * scope (default '*') may use '*' globs. A user may appear on several lines.
 */
struct emu_auth *emu_auth_load(const char *path, struct emu_err *err);
void emu_auth_free(struct emu_auth *a);

/* Checks user:password. Returns true if they match. */
bool emu_auth_login(const struct emu_auth *a, const char *user, const char *password);

/* Does user hold priv (or ADMIN) on db.table (table may be "")? */
bool emu_auth_has(const struct emu_auth *a, const char *user, unsigned priv, const char *db,
                  const char *table);

/* ------------------------------------------------------------------------ */
/* Faults (fault.c)                                                          */

enum emu_fault_kind {
    EMU_FAULT_NONE = 0,
    EMU_FAULT_HTTP5XX,         /* BE answers HTTP 500 (status=) before reading the body */
    EMU_FAULT_RESET,           /* connection closed mid-body, nothing applied */
    EMU_FAULT_SLOW,            /* answer delayed by ms= (load still applied) */
    EMU_FAULT_HANG,            /* answer never sent until the client gives up; nothing applied */
    EMU_FAULT_E235,            /* Status Fail, [E-235] too many versions, nothing applied */
    EMU_FAULT_PUBLISH_TIMEOUT, /* applied, Status "Publish Timeout" */
    EMU_FAULT_MEM_LIMIT,       /* Status Fail, [MEM_LIMIT_EXCEEDED], nothing applied */
    EMU_FAULT_LOST_ANSWER,     /* applied and committed, then connection closed without answer */
    EMU_FAULT_FE_DOWN,         /* FE closes the connection without answering */
};

/*
 * A fault spec is comma-separated key=value pairs:
 *   kind=http5xx|reset|slow|hang|e235|publish_timeout|mem_limit|lost_answer|fe_down
 *   db=NAME table=NAME   only loads into that db / table (default any)
 *   nth=N                fire on the Nth matching request only (1-based)
 *   every=N              fire on every Nth matching request
 *   rate=P               fire with probability P (0..1), seeded by --seed
 *   count=N              fire at most N times (default: unlimited, 1 with nth)
 *   ms=N                 delay for slow (default 2000) and hang (default: forever)
 *   status=N             HTTP status for http5xx (default 500)
 *   after=N              for reset: close after N body bytes (default: half of the first chunk)
 * Several specs may be active; the first that fires wins.
 */
struct emu_faults;

struct emu_fault_hit {
    enum emu_fault_kind kind;
    int ms;
    int status;
    long after_bytes;
};

struct emu_faults *emu_faults_create(uint64_t seed);
void emu_faults_free(struct emu_faults *f);
int emu_faults_add(struct emu_faults *f, const char *spec, struct emu_err *err);
void emu_faults_clear(struct emu_faults *f);
/* Decides whether a fault fires for this request. fe selects FE-side kinds
 * (fe_down) or BE-side load kinds. Thread-safe. */
bool emu_faults_match(struct emu_faults *f, bool fe, const char *db, const char *table,
                      struct emu_fault_hit *hit);
/* {"faults":[{"spec":..,"matched":N,"fired":N}, ...]} */
json_t *emu_faults_json(struct emu_faults *f);

/* ------------------------------------------------------------------------ */
/* One Stream Load (load.c)                                                  */

struct emu_load;

/* Request header lookup (case-insensitive name); NULL when absent. */
typedef const char *(*emu_header_fn)(void *req, const char *name);

struct emu_load_env {
    struct emu_store *store;
    const char *be_host; /* for ErrorURL: http://be_host:be_port/api/_load_error_log?file=.. */
    int be_port;
    long max_body_mb; /* streaming_load_max_mb (default 10240) */
    long json_max_mb; /* streaming_load_json_max_mb (default 100) */
};

/*
 * Starts a Stream Load into db.table from the request headers: validates
 * every header of doris-protocol.md §1.6 (format, separators, enclose,
 * escape, columns, hidden_columns, merge_type, delete, sequence column,
 * partial update, strict_mode, max_filter_ratio, timezone, compress_type,
 * two_phase_commit, group_commit, Content-Length vs chunked) and begins the
 * label's transaction. On success returns the load; http.c then lets the
 * body flow (100 Continue). On any failure returns NULL and sets *answer to
 * the complete answer object (Status "Fail" or "Label Already Exists", keys
 * in §2.2 order) so that the body is never read. env is copied (borrowed
 * until return; its store and be_host must outlive the load).
 */
struct emu_load *emu_load_begin(const struct emu_load_env *env, const char *db, const char *table,
                                emu_header_fn header, void *req, json_t **answer);

/* Feeds body bytes as they arrive (any split). Returns 0, or -1 once the
 * load has failed (the error is kept for the answer; further bytes are
 * discarded cheaply). */
int emu_load_feed(struct emu_load *l, const char *p, size_t n);

/*
 * Ends the body: checks Content-Length, parses the tail, applies the
 * filter ratio, applies the batch through emu_store_txn_finish (atomic), and
 * returns the answer object. fault (may be NULL or kind NONE) injects the
 * storage-side faults: E235 and MEM_LIMIT fail without applying,
 * PUBLISH_TIMEOUT applies and answers "Publish Timeout". The load is freed.
 */
json_t *emu_load_finish(struct emu_load *l, const struct emu_fault_hit *fault);

/* Abandons a load whose connection went away: aborts its transaction. */
void emu_load_abandon(struct emu_load *l);

/* Renders an answer the way the BE does: 4-space pretty JSON, keys in
 * insertion order, trailing newline. Returns malloc'd text. */
char *emu_answer_text(const json_t *answer);

/* ------------------------------------------------------------------------ */
/* Additions by types.c / store.c (appended; see README-store.md)           */

/* STRING and JSON byte limit for emu_value_convert (default 1048576, BE
 * string_type_length_soft_limit_bytes). Set once at startup. */
void emu_types_set_string_limit(size_t bytes);
/* Lower-case Doris name of a kind ("int", "varchar", "text", ...). */
const char *emu_type_kind_name(enum emu_kind k);
/* Validates one JSON text strictly (RFC 8259) and appends it to out with
 * insignificant whitespace removed; false (out may hold partial text) if
 * invalid. */
bool emu_json_minify(const char *p, size_t n, struct emu_buf *out);

/* Number of label transactions currently known (tests, admin). */
int64_t emu_store_txn_count(struct emu_store *s);
/* State of a transaction by id; -1 if unknown. */
int emu_store_txn_state(struct emu_store *s, int64_t txn_id);

#endif /* EMU_H */
