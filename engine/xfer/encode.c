/*
 * encode.c - rows to Doris Stream Load CSV / JSON lines.
 *
 * Each field is first evaluated against its column's value rule (struct
 * val: NULL, a bare token, a clean string, an arbitrary string or a JSON
 * document), then written in the body's format.
 *
 * CSV fast path: a COPY TEXT row whose fields need no change is already a
 * valid body line (TAB between fields, \N for NULL, no byte that needs
 * enclosing), so runs of such fields are copied as one block straight from
 * the row. A field that changes (t/f booleans, "+00" offsets, clamped
 * dates) breaks the run; a string holding '"', '\\', TAB, CR or LF after
 * unescaping is written enclosed in '"', with '"' and '\\' preceded by the
 * escape byte '\\' (docs/doris-protocol.md §1.7: inside enclose the escape
 * protects the next byte, TAB and LF are data). A text equal to \N is thus
 * written "\\N", which Doris reads as the two bytes \N, not as NULL.
 *
 * COPY-to-CSV path (p2d_encode_copy_row, the reader's first try): the same
 * whole-row verdict taken straight from the COPY text, without splitting it
 * into fields first. 16-byte blocks give the TABs, and each field is checked
 * against its column (fast_value_ok, shared with csv_fast_span) as its TAB
 * is found; a row whose bytes include a backslash, '"', CR or inner newline
 * is scanned again byte by byte (a whole-field \N is a NULL and passes). A
 * row that passes is copied as one block; any other row goes to
 * p2d_copy_decode + p2d_encode_row, so every output byte is still the
 * per-field path's (tests/unit/xfer/encode_test.c compares them).
 *
 * JSON documents in CSV: Doris unescapes only string columns (§1.7), so a
 * JSON value is written unenclosed. TAB/CR/LF can only be whitespace
 * between JSON tokens (raw control bytes are invalid inside JSON strings),
 * so they become spaces, and a document starting with '"' gets a leading
 * space so it is not taken for an enclosed field. The document is unchanged.
 */
#include "xfer/encode.h"

#include <stdlib.h>
#include <string.h>

#include "p2d_error.h"

struct p2d_encoder {
    enum p2d_encode_format format;
    int ncols;
    int nextra;
    bool delete_sign;
    struct p2d_encode_col *cols;
    /* JSON: "{\"c0\":", ",\"c1\":", ... for columns then extras, then the
     * delete sign key; key_off[i]..key_off[i+1] is key i */
    char *keys;
    uint32_t *key_off;
    struct p2d_buf scratch; /* unescaped values, reused */
    /* CSV and every column's rule can leave a clean field unchanged: a row
     * may take the whole-row fast path (csv_fast_span, p2d_encode_copy_row) */
    bool csv_fast;
    struct fast_col *fast; /* per column: what a value must be to pass unchanged */
};

/* ---- evaluation ---------------------------------------------------------- */

enum val_kind {
    V_NULL,  /* SQL NULL */
    V_TOKEN, /* bare token: a number, or 1 / 0 for BOOLEAN */
    V_PLAIN, /* string with no byte that needs escaping in CSV or JSON */
    V_STR,   /* string of arbitrary bytes */
    V_JSON,  /* JSON document text */
};

struct val {
    enum val_kind kind;
    bool ident;   /* CSV output equals the COPY field bytes (run-able) */
    bool is_bool; /* V_TOKEN from a boolean: JSON true / false */
    const char *p;
    uint32_t n;
};

struct row_ctx {
    struct p2d_encoder *enc;
    struct p2d_buf *out;
    struct p2d_value_issue *issues;
    int issues_max;
    int nissues;
    /* CSV run of unchanged COPY fields, not yet copied */
    const char *run_start;
    const char *run_end;
};

static const char date_max[] = "9999-12-31 23:59:59.999999";
static const char date_min[] = "0000-01-01 00:00:00";

static int add_issue(struct row_ctx *x, int c, const struct p2d_field *f, enum p2d_issue_kind kind,
                     enum p2d_issue_action action)
{
    if (x->nissues < x->issues_max) {
        struct p2d_value_issue *i = &x->issues[x->nissues];

        i->column = c;
        i->rule = x->enc->cols[c].rule;
        i->kind = kind;
        i->action = action;
        i->text = f->p;
        i->len = f->len;
    }
    x->nissues++;
    return action == P2D_ACTION_REJECTED ? P2D_EDATA : 0;
}

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline bool ends_with(const char *p, uint32_t n, const char *suffix, uint32_t sn)
{
    return n >= sn && memcmp(p + n - sn, suffix, sn) == 0;
}

/* NaN / Infinity / -Infinity (numeric and float output) */
static inline bool is_nan_or_inf(const char *p, uint32_t n)
{
    if (n == 0)
        return false;
    if (p[0] == 'N' || p[0] == 'I' || p[0] == 'i' || p[0] == 'n')
        return true;
    return n > 1 && (p[0] == '-' || p[0] == '+') && (p[1] == 'I' || p[1] == 'i');
}

/*
 * Slow path of DATE / TIMESTAMP / TIMESTAMPTZ: infinity, BC, years past
 * 9999 are clamped and reported; anything else that is not the fast shape
 * is rejected as bad text.
 */
static int eval_date_slow(struct row_ctx *x, int c, const struct p2d_field *f, struct val *v)
{
    const struct p2d_encode_col *col = &x->enc->cols[c];
    bool is_date = col->rule == P2D_VR_DATE;
    uint32_t max_len = is_date ? 10 : 19 + (col->scale ? 1u + col->scale : 0u);
    uint32_t min_len = is_date ? 10 : 19;
    const char *p = f->p;
    uint32_t n = f->len;
    enum p2d_issue_kind kind;
    bool to_max;

    if (n == 8 && memcmp(p, "infinity", 8) == 0) {
        kind = P2D_ISSUE_INFINITY;
        to_max = true;
    } else if (n == 9 && memcmp(p, "-infinity", 9) == 0) {
        kind = P2D_ISSUE_INFINITY;
        to_max = false;
    } else if (n > 10 && ends_with(p, n, " BC", 3) && is_digit(p[0])) {
        kind = P2D_ISSUE_BC;
        to_max = false;
    } else if (n > 10 && is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3]) &&
               is_digit(p[4])) {
        kind = P2D_ISSUE_YEAR;
        to_max = true;
    } else {
        return add_issue(x, c, f, P2D_ISSUE_BAD_TEXT, P2D_ACTION_REJECTED);
    }
    v->kind = V_PLAIN;
    v->p = to_max ? date_max : date_min;
    v->n = to_max ? max_len : min_len;
    if (is_date && to_max)
        v->p = "9999-12-31";
    return add_issue(x, c, f, kind, P2D_ACTION_CLAMPED);
}

/* A value the rule turns into NULL: NULL when the column allows it. */
static int eval_nulled(struct row_ctx *x, int c, const struct p2d_field *f,
                       enum p2d_issue_kind kind, struct val *v)
{
    if (x->enc->cols[c].not_null)
        return add_issue(x, c, f, kind, P2D_ACTION_REJECTED);
    v->kind = V_NULL;
    return add_issue(x, c, f, kind, P2D_ACTION_NULLED);
}

/* Unescaped bytes of a COPY field (into scratch when it has escapes). */
static int field_value(struct row_ctx *x, const struct p2d_field *f, const char **p, uint32_t *n)
{
    struct p2d_buf *s = &x->enc->scratch;
    int rc;

    if ((f->flags & P2D_FIELD_RAW) || !(f->flags & P2D_FIELD_HAS_BACKSLASH)) {
        *p = f->p;
        *n = f->len;
        return 0;
    }
    s->len = 0;
    if ((rc = p2d_buf_reserve(s, f->len ? f->len : 1)) != 0)
        return rc == P2D_EFULL ? P2D_ENOMEM : rc;
    if (p2d_copy_unescape(f->p, f->len, (char *)s->data, n) != 0)
        return P2D_EPROTO;
    *p = (const char *)s->data;
    return 0;
}

static int eval(struct row_ctx *x, int c, const struct p2d_field *f, struct val *v)
{
    const struct p2d_encode_col *col = &x->enc->cols[c];
    bool copy = !(f->flags & P2D_FIELD_RAW);
    const char *p = f->p;
    uint32_t n = f->len;
    int rc;

    v->ident = false;
    v->is_bool = false;
    v->p = p;
    v->n = n;
    if (f->flags & P2D_FIELD_NULL) {
        v->kind = V_NULL;
        v->ident = copy;
        return 0;
    }
    if (col->rule == P2D_VR_TEXT) {
        v->kind = V_STR;
        if (copy && !(f->flags & (P2D_FIELD_HAS_BACKSLASH | P2D_FIELD_HAS_SPECIAL))) {
            v->ident = true;
            if (col->max_bytes && n > col->max_bytes)
                return add_issue(x, c, f, P2D_ISSUE_TOO_LONG, P2D_ACTION_REJECTED);
            return 0;
        }
        if ((rc = field_value(x, f, &v->p, &v->n)) != 0)
            return rc;
        if (col->max_bytes && v->n > col->max_bytes)
            return add_issue(x, c, f, P2D_ISSUE_TOO_LONG, P2D_ACTION_REJECTED);
        return 0;
    }
    if (col->rule == P2D_VR_JSON) {
        v->kind = V_JSON;
        if ((rc = field_value(x, f, &v->p, &v->n)) != 0)
            return rc;
        if (v->n == 0)
            return add_issue(x, c, f, P2D_ISSUE_BAD_TEXT, P2D_ACTION_REJECTED);
        return 0;
    }
    /* every other rule reads ASCII text without escapes */
    if (n == 0 || (copy && (f->flags & (P2D_FIELD_HAS_BACKSLASH | P2D_FIELD_HAS_SPECIAL))))
        return add_issue(x, c, f, P2D_ISSUE_BAD_TEXT, P2D_ACTION_REJECTED);
    switch (col->rule) {
    case P2D_VR_INT:
        v->kind = V_TOKEN;
        v->ident = copy;
        return 0;
    case P2D_VR_DECIMAL:
    case P2D_VR_FLOAT:
        if (is_nan_or_inf(p, n))
            return eval_nulled(x, c, f, P2D_ISSUE_NAN, v);
        v->kind = V_TOKEN;
        v->ident = copy;
        return 0;
    case P2D_VR_BOOL:
        if (n != 1 || (p[0] != 't' && p[0] != 'f'))
            return add_issue(x, c, f, P2D_ISSUE_BAD_TEXT, P2D_ACTION_REJECTED);
        v->kind = V_TOKEN;
        v->is_bool = true;
        v->p = p[0] == 't' ? "1" : "0";
        v->n = 1;
        return 0;
    case P2D_VR_DATE:
        if (n == 10 && p[4] == '-') {
            v->kind = V_PLAIN;
            v->ident = copy;
            return 0;
        }
        return eval_date_slow(x, c, f, v);
    case P2D_VR_TIMESTAMP:
        if (n >= 19 && p[4] == '-' && is_digit(p[n - 1])) {
            v->kind = V_PLAIN;
            v->ident = copy;
            return 0;
        }
        return eval_date_slow(x, c, f, v);
    case P2D_VR_TIMESTAMPTZ:
        if (n >= 22 && p[4] == '-' && p[n - 3] == '+' && p[n - 2] == '0' && p[n - 1] == '0') {
            v->kind = V_PLAIN;
            v->n = n - 3;
            return 0;
        }
        return eval_date_slow(x, c, f, v);
    case P2D_VR_TEXT:
    case P2D_VR_JSON:
        break;
    }
    return add_issue(x, c, f, P2D_ISSUE_BAD_TEXT, P2D_ACTION_REJECTED);
}

/* ---- writing ------------------------------------------------------------- */

/* Bytes a CSV field cannot hold unenclosed. */
static const uint8_t csv_special[256] = {
    ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, ['"'] = 1, ['\\'] = 1,
};

static int put(struct row_ctx *x, const void *p, size_t n)
{
    return p2d_buf_append(x->out, p, n);
}

static int put_byte(struct row_ctx *x, char c)
{
    struct p2d_buf *b = x->out;

    if (b->len == b->cap) {
        int rc = p2d_buf_reserve(b, 1);

        if (rc != 0)
            return rc;
    }
    b->data[b->len++] = (uint8_t)c;
    return 0;
}

static bool csv_needs_enclose(const char *p, uint32_t n)
{
    uint32_t i = 0, tabs;

    for (; n - i >= 16; i += 16)
        if ((p2d__copy_block16_masks((const uint8_t *)p + i, &tabs) | tabs) != 0)
            return true;
    for (; i < n; i++)
        if (csv_special[(uint8_t)p[i]])
            return true;
    return false;
}

/* Offset of the first '"' or '\\' in p[i..n), or n. */
static inline uint32_t csv_next_escaped(const char *p, uint32_t i, uint32_t n)
{
#if defined(__SSE2__)
    for (; n - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        uint32_t m = (uint32_t)_mm_movemask_epi8(_mm_or_si128(
            _mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));

        if (m)
            return i + (uint32_t)__builtin_ctz(m);
    }
#endif
    for (; i < n; i++)
        if (p[i] == '"' || p[i] == '\\')
            return i;
    return n;
}

/* A string value in CSV: raw when safe, else enclosed and escaped. */
static int csv_put_string(struct row_ctx *x, const char *p, uint32_t n)
{
    uint8_t *o;
    int rc;

    if (!csv_needs_enclose(p, n))
        return put(x, p, n);
    if ((rc = p2d_buf_reserve(x->out, (size_t)n * 2 + 2)) != 0)
        return rc;
    o = x->out->data + x->out->len;
    *o++ = '"';
    for (uint32_t i = 0; i < n;) {
        uint32_t j = csv_next_escaped(p, i, n);

        memcpy(o, p + i, j - i);
        o += j - i;
        if (j == n)
            break;
        *o++ = '\\';
        *o++ = (uint8_t)p[j];
        i = j + 1;
    }
    *o++ = '"';
    x->out->len = (size_t)(o - x->out->data);
    return 0;
}

/* A JSON document with TAB/CR/LF turned into spaces; lead_space for CSV. */
static int put_json_doc(struct row_ctx *x, const char *p, uint32_t n, bool csv)
{
    bool lead = csv && n > 0 && p[0] == '"';
    uint8_t *o;
    int rc;

    if ((rc = p2d_buf_reserve(x->out, (size_t)n + 1)) != 0)
        return rc;
    o = x->out->data + x->out->len;
    if (lead)
        *o++ = ' ';
    for (uint32_t i = 0; i < n; i++) {
        char ch = p[i];

        *o++ = (uint8_t)(ch == '\t' || ch == '\n' || ch == '\r' ? ' ' : ch);
    }
    x->out->len = (size_t)(o - x->out->data);
    return 0;
}

static void csv_flush_run(struct row_ctx *x, int *rc)
{
    if (x->run_start) {
        if (*rc == 0)
            *rc = put(x, x->run_start, (size_t)(x->run_end - x->run_start));
        x->run_start = NULL;
    }
}

static int csv_field(struct row_ctx *x, int c, const struct p2d_field *f, const struct val *v)
{
    int rc = 0;

    if (v->ident) {
        const char *end = f->p + ((f->flags & P2D_FIELD_NULL) ? 2 : f->len);

        if (x->run_start && f->p == x->run_end + 1) {
            x->run_end = end;
            return 0;
        }
        csv_flush_run(x, &rc);
        if (rc == 0 && c > 0)
            rc = put_byte(x, '\t');
        x->run_start = f->p;
        x->run_end = end;
        return rc;
    }
    csv_flush_run(x, &rc);
    if (rc == 0 && c > 0)
        rc = put_byte(x, '\t');
    if (rc != 0)
        return rc;
    switch (v->kind) {
    case V_NULL:
        return put(x, "\\N", 2);
    case V_TOKEN:
    case V_PLAIN:
        return put(x, v->p, v->n);
    case V_STR:
        return csv_put_string(x, v->p, v->n);
    case V_JSON:
        return put_json_doc(x, v->p, v->n, true);
    }
    return P2D_EINVAL;
}

/* Length of the valid UTF-8 sequence at p[0..n) (p[0] >= 0x80), or 0. */
static uint32_t utf8_seq(const uint8_t *p, uint32_t n)
{
    uint8_t b = p[0];
    uint32_t len;
    uint8_t lo = 0x80, hi = 0xbf;

    if (b >= 0xc2 && b <= 0xdf)
        len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
        len = 3;
        if (b == 0xe0)
            lo = 0xa0;
        else if (b == 0xed)
            hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4;
        if (b == 0xf0)
            lo = 0x90;
        else if (b == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (uint32_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

/*
 * A JSON string. Control bytes become \uXXXX (or \n, \t, ...), '"' and '\\'
 * are escaped, valid UTF-8 passes through. An invalid byte becomes U+FFFD:
 * a JSON body must be UTF-8, and one bad byte must not break the whole
 * line; *bad_utf8 tells the caller to report it.
 */
static int json_put_string(struct row_ctx *x, const char *s, uint32_t n, bool *bad_utf8)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)s;
    uint8_t *o;
    int rc;

    if ((rc = p2d_buf_reserve(x->out, (size_t)n * 6 + 2)) != 0)
        return rc;
    o = x->out->data + x->out->len;
    *o++ = '"';
    for (uint32_t i = 0; i < n;) {
        uint8_t b = p[i];

        if (b >= 0x20 && b < 0x80 && b != '"' && b != '\\') {
            *o++ = b;
            i++;
        } else if (b < 0x80) {
            *o++ = '\\';
            switch (b) {
            case '"':
            case '\\':
                *o++ = b;
                break;
            case '\n':
                *o++ = 'n';
                break;
            case '\t':
                *o++ = 't';
                break;
            case '\r':
                *o++ = 'r';
                break;
            case '\b':
                *o++ = 'b';
                break;
            case '\f':
                *o++ = 'f';
                break;
            default:
                memcpy(o, "u00", 3);
                o += 3;
                *o++ = (uint8_t)hex[b >> 4];
                *o++ = (uint8_t)hex[b & 15];
                break;
            }
            i++;
        } else {
            uint32_t len = utf8_seq(p + i, n - i);

            if (len) {
                memcpy(o, p + i, len);
                o += len;
                i += len;
            } else {
                memcpy(o, "\xef\xbf\xbd", 3);
                o += 3;
                i++;
                *bad_utf8 = true;
            }
        }
    }
    *o++ = '"';
    x->out->len = (size_t)(o - x->out->data);
    return 0;
}

static int json_field(struct row_ctx *x, int c, const struct p2d_field *f, const struct val *v)
{
    bool bad = false;
    int rc;

    switch (v->kind) {
    case V_NULL:
        return put(x, "null", 4);
    case V_TOKEN:
        if (v->is_bool)
            return v->p[0] == '1' ? put(x, "true", 4) : put(x, "false", 5);
        return put(x, v->p, v->n);
    case V_PLAIN:
        if ((rc = put_byte(x, '"')) != 0 || (rc = put(x, v->p, v->n)) != 0)
            return rc;
        return put_byte(x, '"');
    case V_STR:
        if ((rc = json_put_string(x, v->p, v->n, &bad)) != 0)
            return rc;
        if (bad)
            return add_issue(x, c, f, P2D_ISSUE_BAD_UTF8, P2D_ACTION_REPLACED);
        return 0;
    case V_JSON:
        return put_json_doc(x, v->p, v->n, false);
    }
    return P2D_EINVAL;
}

static int put_extra(struct row_ctx *x, const struct p2d_extra_value *e)
{
    bool bad = false;

    if (e->is_null)
        return x->enc->format == P2D_ENCODE_CSV ? put(x, "\\N", 2) : put(x, "null", 4);
    if (x->enc->format == P2D_ENCODE_CSV)
        return csv_put_string(x, e->text, e->len);
    if (e->is_number)
        return put(x, e->text, e->len);
    return json_put_string(x, e->text, e->len, &bad);
}

/* What a clean value (no escape, '"' or CR in its COPY text) of a column
 * must be for its rule to pass it unchanged, with no issue: a length in
 * [min_len, max_len] and the check. */
enum fast_check {
    FC_LEN,       /* TEXT (max_len: its byte limit), INT (not empty) */
    FC_NUMBER,    /* DECIMAL, FLOAT: not empty, not NaN / Infinity */
    FC_DATE,      /* YYYY-MM-DD */
    FC_TIMESTAMP, /* YYYY-MM-DD HH:MM:SS[.f] */
    FC_NEVER,     /* BOOL, TIMESTAMPTZ, JSON: always rewritten */
};

struct fast_col {
    uint32_t min_len;
    uint32_t span; /* max_len - min_len */
    enum fast_check check;
};

static struct fast_col fast_col_len(uint32_t min_len, uint32_t max_len, enum fast_check check)
{
    return (struct fast_col){min_len, max_len - min_len, check};
}

static struct fast_col fast_col_of(const struct p2d_encode_col *col)
{
    switch (col->rule) {
    case P2D_VR_TEXT:
        return fast_col_len(0, col->max_bytes ? col->max_bytes : UINT32_MAX, FC_LEN);
    case P2D_VR_INT:
        return fast_col_len(1, UINT32_MAX, FC_LEN);
    case P2D_VR_DECIMAL:
    case P2D_VR_FLOAT:
        return fast_col_len(1, UINT32_MAX, FC_NUMBER);
    case P2D_VR_DATE:
        return fast_col_len(10, 10, FC_DATE);
    case P2D_VR_TIMESTAMP:
        return fast_col_len(19, UINT32_MAX, FC_TIMESTAMP);
    case P2D_VR_BOOL:
    case P2D_VR_TIMESTAMPTZ:
    case P2D_VR_JSON:
        break;
    }
    return fast_col_len(0, 0, FC_NEVER);
}

/* The clean value p[0..n) passes column fc's rule unchanged (the same
 * verdict as eval() with no issue and an identical CSV field). Tests in
 * the order of how often they decide: most fields only need their length. */
static inline bool fast_value_ok(const struct fast_col *fc, const char *p, uint32_t n)
{
    if (n - fc->min_len > fc->span) /* unsigned: n outside [min_len, max_len] */
        return false;
    if (__builtin_expect(fc->check == FC_LEN, 1))
        return true;
    if (fc->check == FC_NUMBER) /* a digit first is a number; else NaN, Infinity? */
        return (unsigned)(p[0] - '0') < 10 || !is_nan_or_inf(p, n);
    if (fc->check == FC_DATE)
        return p[4] == '-';
    if (fc->check == FC_TIMESTAMP)
        return p[4] == '-' && is_digit(p[n - 1]);
    return false; /* FC_NEVER */
}

/*
 * CSV whole-row fast path. When every field is one the per-field path would
 * copy unchanged (NULL, or no escape / '"' / CR and a value its rule passes
 * with no issue) and the fields lie back to back in one COPY row, the
 * per-field path writes exactly the bytes from the first field's start to
 * the last field's end as one run. Sets *start / *end to that span and
 * returns true; returns false (nothing written) for any other row, which
 * then takes the per-field path and gets its issues from there.
 */
static bool csv_fast_span(const struct p2d_encoder *enc, const struct p2d_field *fields,
                          const char **start, const char **end)
{
    const char *prev_end = NULL;

    for (int c = 0; c < enc->ncols; c++) {
        const struct p2d_field *f = &fields[c];
        const char *p = f->p;
        uint32_t n = f->len;

        if (c > 0 && p != prev_end + 1)
            return false;
        if (f->flags == P2D_FIELD_NULL) {
            prev_end = p + 2;
            continue;
        }
        if (f->flags != 0 || !fast_value_ok(&enc->fast[c], p, n))
            return false;
        prev_end = p + n;
    }
    *start = fields[0].p;
    *end = prev_end;
    return true;
}

/* After the columns: extra values, the delete sign, '}' (JSON), '\n'. */
static int put_row_tail(struct row_ctx *x, const struct p2d_extra_value *extra, int delete_sign)
{
    struct p2d_encoder *enc = x->enc;
    bool csv = enc->format == P2D_ENCODE_CSV;
    int rc = 0;

    for (int i = 0; rc == 0 && i < enc->nextra + (enc->delete_sign ? 1 : 0); i++) {
        int k = enc->ncols + i;

        if (csv)
            rc = k > 0 ? put_byte(x, '\t') : 0;
        else
            rc = put(x, enc->keys + enc->key_off[k], enc->key_off[k + 1] - enc->key_off[k]);
        if (rc != 0)
            break;
        if (i < enc->nextra)
            rc = put_extra(x, &extra[i]);
        else
            rc = put_byte(x, delete_sign ? '1' : '0');
    }
    if (rc == 0 && !csv)
        rc = enc->ncols + enc->nextra + (enc->delete_sign ? 1 : 0) == 0 ? put(x, "{}", 2)
                                                                        : put_byte(x, '}');
    if (rc == 0)
        rc = put_byte(x, '\n');
    return rc;
}

static int encode_row(struct row_ctx *x, const struct p2d_field *fields,
                      const struct p2d_extra_value *extra, int delete_sign)
{
    struct p2d_encoder *enc = x->enc;
    bool csv = enc->format == P2D_ENCODE_CSV;
    const char *span_start, *span_end;
    int rc = 0;

    if (enc->csv_fast && csv_fast_span(enc, fields, &span_start, &span_end)) {
        if ((rc = put(x, span_start, (size_t)(span_end - span_start))) != 0)
            return rc;
        return put_row_tail(x, extra, delete_sign);
    }
    for (int c = 0; c < enc->ncols; c++) {
        struct val v;

        if ((rc = eval(x, c, &fields[c], &v)) != 0)
            return rc;
        if (csv) {
            rc = csv_field(x, c, &fields[c], &v);
        } else if ((rc = put(x, enc->keys + enc->key_off[c],
                             enc->key_off[c + 1] - enc->key_off[c])) == 0) {
            rc = json_field(x, c, &fields[c], &v);
        }
        if (rc != 0)
            return rc;
    }
    csv_flush_run(x, &rc);
    if (rc != 0)
        return rc;
    return put_row_tail(x, extra, delete_sign);
}

int p2d_encode_row(struct p2d_encoder *enc, const struct p2d_field *fields, int nfields,
                   const struct p2d_extra_value *extra, int delete_sign, struct p2d_buf *out,
                   struct p2d_value_issue *issues, int issues_max, int *nissues)
{
    struct row_ctx x = {
        .enc = enc,
        .out = out,
        .issues = issues,
        .issues_max = issues ? issues_max : 0,
    };
    size_t row_start = out->len;
    int rc;

    *nissues = 0;
    if (nfields != enc->ncols)
        return P2D_EPROTO;
    if (enc->nextra > 0 && !extra)
        return P2D_EINVAL;
    rc = encode_row(&x, fields, extra, delete_sign);
    *nissues = x.nissues;
    if (rc != 0)
        out->len = row_start;
    return rc;
}

/*
 * The exact scan of p2d_encode_copy_row, for rows whose fields hold a
 * backslash, '"', CR or newline: every special byte in order, as the
 * splitter sees them. A field that is exactly \N is NULL (passes); any
 * other backslash, a '"' or CR, or a newline before the end fails the row.
 */
__attribute__((noinline)) static bool copy_row_exact(const struct p2d_encoder *enc,
                                                     const uint8_t *p, size_t n)
{
    size_t base = 0, start = 0;
    uint32_t tabs, mask = p2d__copy_block_masks(p, 0, n, &tabs) | tabs;
    bool null = false;
    int c = 0;

    for (;;) {
        size_t k;

        while (mask == 0) {
            base += 16;
            if (base >= n)
                return false; /* unreachable: p[n - 1] is a newline */
            mask = p2d__copy_block_masks(p, base, n, &tabs) | tabs;
        }
        k = base + (size_t)__builtin_ctz(mask);
        mask &= mask - 1;
        if (p[k] == '\\') {
            /* p[n - 1] is '\n', so p[k + 1] exists, and p[k + 2] when p[k + 1] is 'N' */
            if (k != start || p[k + 1] != 'N' || (p[k + 2] != '\t' && p[k + 2] != '\n'))
                return false;
            null = true; /* 'N' is no special byte: there is no bit to clear */
            continue;
        }
        if (p[k] == '"' || p[k] == '\r' || c == enc->ncols)
            return false;
        if (!null && !fast_value_ok(&enc->fast[c], (const char *)p + start, (uint32_t)(k - start)))
            return false;
        c++;
        if (p[k] == '\n')
            return k == n - 1 && c == enc->ncols;
        start = k + 1;
        null = false;
    }
}

/* One block's TABs: each ends field *c, checked at once. false: a field
 * fails, or there are more fields than columns. */
static inline bool copy_block_fields(const struct fast_col *fast, int last, const uint8_t *p,
                                     size_t base, uint32_t tabs, int *c, size_t *start)
{
    while (tabs) {
        size_t k = base + (size_t)__builtin_ctz(tabs);

        tabs &= tabs - 1;
        if (*c == last ||
            !fast_value_ok(&fast[*c], (const char *)p + *start, (uint32_t)(k - *start)))
            return false;
        (*c)++;
        *start = k + 1;
    }
    return true;
}

/*
 * The common row of p2d_encode_copy_row, m bytes without its newline: 1
 * when it is one the whole-row fast path copies, 0 when it is not, -1 when
 * a byte other than TAB ('\\', '"', CR, LF) needs the exact scan. One
 * pass over 16-byte blocks: the block's TABs end fields, each checked
 * against its column at once.
 */
static int copy_row_clean(const struct p2d_encoder *enc, const uint8_t *p, size_t m)
{
    const struct fast_col *fast = enc->fast;
    int last = enc->ncols - 1, c = 0;
    size_t base = 0, start = 0;
    uint32_t tabs;

    for (; m - base >= 16; base += 16) {
        if (p2d__copy_block16_masks(p + base, &tabs) != 0)
            return -1;
        if (!copy_block_fields(fast, last, p, base, tabs, &c, &start))
            return 0;
    }
    if (base < m) {
        if (p2d__copy_block_masks(p, base, m, &tabs) != 0)
            return -1;
        if (!copy_block_fields(fast, last, p, base, tabs, &c, &start))
            return 0;
    }
    return c == last && fast_value_ok(&fast[last], (const char *)p + start, (uint32_t)(m - start));
}

/*
 * The COPY-to-CSV path's verdict on one row (n bytes, '\n' last):
 * copy_row_clean, and for a row with a backslash, '"', CR or inner newline
 * copy_row_exact. A row that passes is its own body line.
 */
static inline bool copy_row_taken(const struct p2d_encoder *enc, const uint8_t *p, size_t n)
{
    int clean;

    if (n == 0 || n > UINT32_MAX || p[n - 1] != '\n')
        return false;
    clean = copy_row_clean(enc, p, n - 1); /* the fields: the row without its newline */
    return clean > 0 || (clean < 0 && copy_row_exact(enc, p, n));
}

/* A row copy_row_taken passes is copied as one block. */
int p2d_encode_copy_row(struct p2d_encoder *enc, const char *row, size_t n,
                        const struct p2d_extra_value *extra, int delete_sign, struct p2d_buf *out,
                        bool *written)
{
    size_t row_start = out->len;
    int rc;

    *written = false;
    if (!enc->csv_fast || (enc->nextra > 0 && !extra) ||
        !copy_row_taken(enc, (const uint8_t *)row, n))
        return 0;
    if (enc->nextra == 0 && !enc->delete_sign) {
        if ((rc = p2d_buf_append(out, row, n)) != 0)
            return rc;
    } else {
        struct row_ctx x = {.enc = enc, .out = out};

        if ((rc = put(&x, row, n - 1)) != 0 || (rc = put_row_tail(&x, extra, delete_sign)) != 0) {
            out->len = row_start;
            return rc;
        }
    }
    *written = true;
    return 0;
}

enum p2d_copy_run_stop p2d_encode_copy_rows(struct p2d_encoder *enc, const uint8_t *msgs,
                                            size_t len, struct p2d_buf *out, size_t *used,
                                            size_t *rows)
{
    bool runs = enc->csv_fast && enc->nextra == 0 && !enc->delete_sign;
    size_t at = 0, n = 0;
    int64_t m;

    *used = 0;
    *rows = 0;
    while ((m = p2d_copy_data_len(msgs + at, len - at)) >= 0) {
        const uint8_t *p = msgs + at + 5;

        if (!runs || !copy_row_taken(enc, p, (size_t)m))
            break;
        if (p2d_buf_reserve(out, (size_t)m) != 0) {
            *used = at;
            *rows = n;
            return P2D_COPY_RUN_FULL;
        }
        memcpy(out->data + out->len, p, (size_t)m);
        out->len += (size_t)m;
        at += 5 + (size_t)m;
        n++;
    }
    *used = at;
    *rows = n;
    return m >= 0 ? P2D_COPY_RUN_ROW : P2D_COPY_RUN_END;
}

/* ---- setup --------------------------------------------------------------- */

void p2d_encode_col_from(struct p2d_encode_col *col, const char *name, const struct p2d_dcol *dcol)
{
    col->name = name;
    col->rule = dcol->rule;
    col->max_bytes = dcol->max_bytes;
    col->scale = dcol->scale;
    col->not_null = !dcol->nullable;
}

/* Appends the JSON key prefix for name to b. */
static int add_key(struct p2d_encoder *enc, struct p2d_buf *b, int i, const char *name)
{
    struct row_ctx x = {.enc = enc, .out = b};
    bool bad = false;
    int rc;

    if ((rc = put_byte(&x, i == 0 ? '{' : ',')) != 0 ||
        (rc = json_put_string(&x, name, (uint32_t)strlen(name), &bad)) != 0 ||
        (rc = put_byte(&x, ':')) != 0)
        return rc;
    return bad ? P2D_EINVAL : 0;
}

struct p2d_encoder *p2d_encoder_create(enum p2d_encode_format format,
                                       const struct p2d_encode_col *cols, int ncols,
                                       const char *const *extra_names, int nextra, bool delete_sign)
{
    struct p2d_encoder *enc;
    struct p2d_buf keys;
    int nkeys = ncols + nextra + (delete_sign ? 1 : 0);

    if (ncols < 0 || nextra < 0 || (ncols > 0 && !cols) || (nextra > 0 && !extra_names) ||
        ncols > 100000 || nextra > 1000)
        return NULL;
    enc = calloc(1, sizeof *enc);
    if (!enc)
        return NULL;
    enc->format = format;
    enc->ncols = ncols;
    enc->nextra = nextra;
    enc->delete_sign = delete_sign;
    p2d_buf_init(&enc->scratch, 0);
    p2d_buf_init(&keys, 0);
    enc->cols = calloc((size_t)ncols + 1, sizeof *enc->cols);
    enc->key_off = calloc((size_t)nkeys + 1, sizeof *enc->key_off);
    enc->fast = calloc((size_t)ncols + 1, sizeof *enc->fast);
    if (!enc->cols || !enc->key_off || !enc->fast)
        goto fail;
    /* names are only needed as JSON keys, which are built here */
    for (int i = 0; i < ncols; i++) {
        enc->cols[i] = cols[i];
        enc->cols[i].name = NULL;
    }
    p2d_encoder_set_fast_path(enc, true);
    for (int i = 0; i < nkeys; i++) {
        const char *name = i < ncols            ? cols[i].name
                           : i < ncols + nextra ? extra_names[i - ncols]
                                                : "__DORIS_DELETE_SIGN__";

        if (!name || add_key(enc, &keys, i, name) != 0 || keys.len > UINT32_MAX)
            goto fail;
        enc->key_off[i + 1] = (uint32_t)keys.len;
    }
    if (p2d_buf_append(&keys, "", 1) != 0)
        goto fail;
    enc->keys = (char *)keys.data;
    return enc;
fail:
    p2d_buf_fini(&keys);
    p2d_encoder_destroy(enc);
    return NULL;
}

void p2d_encoder_set_fast_path(struct p2d_encoder *enc, bool on)
{
    if (!on) {
        enc->csv_fast = false;
        return;
    }
    enc->csv_fast = enc->format == P2D_ENCODE_CSV && enc->ncols > 0;
    /* BOOL, TIMESTAMPTZ and JSON values are always rewritten */
    for (int i = 0; i < enc->ncols; i++) {
        enc->fast[i] = fast_col_of(&enc->cols[i]);
        if (enc->fast[i].check == FC_NEVER)
            enc->csv_fast = false;
    }
}

void p2d_encoder_destroy(struct p2d_encoder *enc)
{
    if (!enc)
        return;
    p2d_buf_fini(&enc->scratch);
    free(enc->keys);
    free(enc->key_off);
    free(enc->fast);
    free(enc->cols);
    free(enc);
}
