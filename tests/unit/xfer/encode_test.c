/*
 * encode_test.c - rows to Stream Load CSV / JSON lines.
 *
 * Table-driven cases per value rule (CSV and JSON output, issues), the
 * untouched fast path of lineitem rows, extras and the delete sign, buffer
 * caps and error rollback, and the round-trip property: hostile values ->
 * PostgreSQL COPY text -> p2d_copy_decode -> CSV -> a reference parser
 * written from docs/doris-protocol.md §1.7 gives back the exact values
 * (JSON lines are checked with jansson the same way). The COPY-to-CSV path
 * (p2d_encode_copy_row) is compared with decode + encode on every row the
 * other tests build, and on rows of every length around the 16-byte blocks.
 */
#include <stdio.h>
#include <stdlib.h>

#include "p2d_error.h"
#include "snapshot/copy_decode.h"
#include "testlib.h"
#include "xfer/encode.h"

#define MAXF 16

/* ---- helpers --------------------------------------------------------------- */

/* PostgreSQL's COPY TEXT output escaping of one value; alt picks octal /
 * hex escapes for some bytes (readers must accept them, §7.4). */
static size_t copy_escape(const char *v, size_t n, char *out, int alt)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        const char *e = NULL;

        switch (c) {
        case '\\':
            e = "\\\\";
            break;
        case '\t':
            e = "\\t";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\f':
            e = "\\f";
            break;
        case '\v':
            e = "\\v";
            break;
        default:
            break;
        }
        if (alt == 1 && (c < 0x20 || c == '\\' || (i % 3 == 0 && c >= 0x80))) {
            o += (size_t)sprintf(out + o, "\\%03o", c);
        } else if (alt == 2 && (c < 0x20 || c == '\\' || c == 'N')) {
            o += (size_t)sprintf(out + o, "\\x%02x", c);
        } else if (e) {
            memcpy(out + o, e, 2);
            o += 2;
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

struct value {
    const char *p;
    size_t n;
    bool null;
};

/* Builds a COPY row from values. Returns its length. */
static size_t copy_row(const struct value *v, int nv, char *out, int alt)
{
    size_t o = 0;

    for (int i = 0; i < nv; i++) {
        if (i)
            out[o++] = '\t';
        if (v[i].null) {
            memcpy(out + o, "\\N", 2);
            o += 2;
        } else {
            o += copy_escape(v[i].p, v[i].n, out + o, alt);
        }
    }
    out[o++] = '\n';
    return o;
}

/*
 * Reference Doris CSV reader (docs/doris-protocol.md §1.7) for
 * column_separator \t, line_delimiter \n, enclose '"', escape '\\':
 * a field starting with '"' runs to the next '"' not protected by the
 * escape byte, and the outer pair is removed; otherwise it runs to TAB or
 * LF. NULL is an unenclosed field of exactly \N. String columns then drop
 * every escape byte and keep the next byte; other columns keep the bytes.
 * Parses one line from p[*pos]; returns the field count or -1.
 */
struct parsed {
    char buf[4096];
    size_t len;
    bool null;
};

static int ref_csv_line(const char *p, size_t n, size_t *pos, const bool *is_string,
                        struct parsed *out, int max)
{
    size_t i = *pos;
    int nf = 0;

    for (;;) {
        size_t start, end;
        bool enclosed = false;
        struct parsed *f;

        if (nf == max)
            return -1;
        f = &out[nf];
        if (i < n && p[i] == '"') {
            enclosed = true;
            start = ++i;
            while (i < n && p[i] != '"') {
                if (p[i] == '\\')
                    i++;
                i++;
            }
            if (i >= n)
                return -1;
            end = i++;
        } else {
            start = i;
            while (i < n && p[i] != '\t' && p[i] != '\n')
                i++;
            end = i;
        }
        if (i >= n || (p[i] != '\t' && p[i] != '\n'))
            return -1; /* garbage after a closing enclose, or no line end */
        f->null = !enclosed && end - start == 2 && p[start] == '\\' && p[start + 1] == 'N';
        if (enclosed && end - start == 2 && p[start] == '\\' && p[start + 1] == 'N')
            return -1; /* "\N": ambiguous in the reference, the encoder must not write it */
        f->len = 0;
        for (size_t k = start; k < end && f->len < sizeof f->buf; k++) {
            if (is_string[nf] && p[k] == '\\' && k + 1 < end)
                k++;
            f->buf[f->len++] = p[k];
        }
        nf++;
        if (p[i++] == '\n')
            break;
    }
    *pos = i;
    return nf;
}

static struct p2d_encoder *make_encoder(enum p2d_encode_format fmt,
                                        const enum p2d_value_rule *rules, int n, uint8_t scale,
                                        bool not_null)
{
    static const char *names[] = {"c0", "c1", "c2",  "c3",  "c4",  "c5",  "c6",  "c7",
                                  "c8", "c9", "c10", "c11", "c12", "c13", "c14", "c15"};
    struct p2d_encode_col cols[MAXF];

    for (int i = 0; i < n; i++) {
        memset(&cols[i], 0, sizeof cols[i]);
        cols[i].name = names[i];
        cols[i].rule = rules[i];
        cols[i].scale = scale;
        cols[i].not_null = not_null;
    }
    return p2d_encoder_create(fmt, cols, n, NULL, 0, false);
}

/*
 * p2d_encode_copy_row against the reference: the row decoded and encoded
 * with the whole-row fast path off. When the COPY path writes, the reference
 * must succeed with no issue and give the same bytes; when it does not,
 * out must be unchanged. *taken counts the rows it wrote (may be NULL).
 */
static void copy_path_check(struct p2d_encoder *enc, const char *row, size_t n,
                            const struct p2d_extra_value *ex, int del, int *failures, int *taken)
{
    struct p2d_field f[64];
    struct p2d_value_issue is[4];
    struct p2d_buf ref, got;
    int nf = 0, ni = 0, rc_ref = -1, rc;
    bool written = true;

    p2d_buf_init(&ref, 0);
    p2d_buf_init(&got, 0);
    T_EQ_INT(p2d_buf_append(&ref, "prefix", 6), 0);
    T_EQ_INT(p2d_buf_append(&got, "prefix", 6), 0);
    if (p2d_copy_decode((const uint8_t *)row, n, f, 64, &nf) == 0) {
        p2d_encoder_set_fast_path(enc, false);
        rc_ref = p2d_encode_row(enc, f, nf, ex, del, &ref, is, 4, &ni);
        p2d_encoder_set_fast_path(enc, true);
    }
    rc = p2d_encode_copy_row(enc, row, n, ex, del, &got, &written);
    if (rc != 0 ||
        (written && (rc_ref != 0 || ni != 0 || ref.len != got.len ||
                     memcmp(ref.data, got.data, ref.len) != 0)) ||
        (!written && got.len != 6)) {
        (*failures)++;
        fprintf(stderr, "COPY path differs: row \"%.*s\" rc %d written %d ref rc %d issues %d\n",
                (int)n, row, rc, written, rc_ref, ni);
    }
    if (written && taken)
        (*taken)++;
    p2d_buf_fini(&ref);
    p2d_buf_fini(&got);
}

/* ---- single values ----------------------------------------------------------- */

struct value_case {
    enum p2d_value_rule rule;
    uint8_t scale;
    bool not_null;
    const char *copy; /* one COPY field, without the newline */
    int rc;
    const char *csv;  /* expected CSV line without '\n' */
    const char *json; /* expected JSON line without '\n' */
    int issue;        /* -1 none, else enum p2d_issue_kind */
    int action;
};

#define NONE -1, -1

static const struct value_case values[] = {
    {P2D_VR_INT, 0, false, "-42", 0, "-42", "{\"c0\":-42}", NONE},
    {P2D_VR_INT, 0, false, "\\N", 0, "\\N", "{\"c0\":null}", NONE},
    {P2D_VR_INT, 0, false, "", P2D_EDATA, NULL, NULL, P2D_ISSUE_BAD_TEXT, P2D_ACTION_REJECTED},
    {P2D_VR_INT, 0, false, "1\\t", P2D_EDATA, NULL, NULL, P2D_ISSUE_BAD_TEXT, P2D_ACTION_REJECTED},
    {P2D_VR_DECIMAL, 2, false, "12345.67", 0, "12345.67", "{\"c0\":12345.67}", NONE},
    {P2D_VR_DECIMAL, 2, false, "NaN", 0, "\\N", "{\"c0\":null}", P2D_ISSUE_NAN, P2D_ACTION_NULLED},
    {P2D_VR_DECIMAL, 2, true, "NaN", P2D_EDATA, NULL, NULL, P2D_ISSUE_NAN, P2D_ACTION_REJECTED},
    {P2D_VR_FLOAT, 0, false, "1e+300", 0, "1e+300", "{\"c0\":1e+300}", NONE},
    {P2D_VR_FLOAT, 0, false, "-0", 0, "-0", "{\"c0\":-0}", NONE},
    {P2D_VR_FLOAT, 0, false, "Infinity", 0, "\\N", "{\"c0\":null}", P2D_ISSUE_NAN,
     P2D_ACTION_NULLED},
    {P2D_VR_FLOAT, 0, false, "-Infinity", 0, "\\N", "{\"c0\":null}", P2D_ISSUE_NAN,
     P2D_ACTION_NULLED},
    {P2D_VR_FLOAT, 0, false, "NaN", 0, "\\N", "{\"c0\":null}", P2D_ISSUE_NAN, P2D_ACTION_NULLED},
    {P2D_VR_BOOL, 0, false, "t", 0, "1", "{\"c0\":true}", NONE},
    {P2D_VR_BOOL, 0, false, "f", 0, "0", "{\"c0\":false}", NONE},
    {P2D_VR_BOOL, 0, false, "yes", P2D_EDATA, NULL, NULL, P2D_ISSUE_BAD_TEXT, P2D_ACTION_REJECTED},
    {P2D_VR_DATE, 0, false, "2024-02-29", 0, "2024-02-29", "{\"c0\":\"2024-02-29\"}", NONE},
    {P2D_VR_DATE, 0, false, "infinity", 0, "9999-12-31", "{\"c0\":\"9999-12-31\"}",
     P2D_ISSUE_INFINITY, P2D_ACTION_CLAMPED},
    {P2D_VR_DATE, 0, false, "-infinity", 0, "0000-01-01", "{\"c0\":\"0000-01-01\"}",
     P2D_ISSUE_INFINITY, P2D_ACTION_CLAMPED},
    {P2D_VR_DATE, 0, false, "0044-03-15 BC", 0, "0000-01-01", "{\"c0\":\"0000-01-01\"}",
     P2D_ISSUE_BC, P2D_ACTION_CLAMPED},
    {P2D_VR_DATE, 0, false, "12345-01-01", 0, "9999-12-31", "{\"c0\":\"9999-12-31\"}",
     P2D_ISSUE_YEAR, P2D_ACTION_CLAMPED},
    {P2D_VR_DATE, 0, false, "01/02/2024", P2D_EDATA, NULL, NULL, P2D_ISSUE_BAD_TEXT,
     P2D_ACTION_REJECTED},
    {P2D_VR_TIMESTAMP, 6, false, "2024-01-01 10:00:00.123456", 0, "2024-01-01 10:00:00.123456",
     "{\"c0\":\"2024-01-01 10:00:00.123456\"}", NONE},
    {P2D_VR_TIMESTAMP, 6, false, "infinity", 0, "9999-12-31 23:59:59.999999",
     "{\"c0\":\"9999-12-31 23:59:59.999999\"}", P2D_ISSUE_INFINITY, P2D_ACTION_CLAMPED},
    {P2D_VR_TIMESTAMP, 3, false, "infinity", 0, "9999-12-31 23:59:59.999",
     "{\"c0\":\"9999-12-31 23:59:59.999\"}", P2D_ISSUE_INFINITY, P2D_ACTION_CLAMPED},
    {P2D_VR_TIMESTAMP, 0, true, "-infinity", 0, "0000-01-01 00:00:00",
     "{\"c0\":\"0000-01-01 00:00:00\"}", P2D_ISSUE_INFINITY, P2D_ACTION_CLAMPED},
    {P2D_VR_TIMESTAMP, 0, false, "10000-01-01 00:00:00", 0, "9999-12-31 23:59:59",
     "{\"c0\":\"9999-12-31 23:59:59\"}", P2D_ISSUE_YEAR, P2D_ACTION_CLAMPED},
    {P2D_VR_TIMESTAMP, 6, false, "0001-01-01 00:00:00 BC", 0, "0000-01-01 00:00:00",
     "{\"c0\":\"0000-01-01 00:00:00\"}", P2D_ISSUE_BC, P2D_ACTION_CLAMPED},
    {P2D_VR_TIMESTAMPTZ, 6, false, "2024-01-01 10:00:00.123456+00", 0, "2024-01-01 10:00:00.123456",
     "{\"c0\":\"2024-01-01 10:00:00.123456\"}", NONE},
    {P2D_VR_TIMESTAMPTZ, 0, false, "2024-01-01 10:00:00+00", 0, "2024-01-01 10:00:00",
     "{\"c0\":\"2024-01-01 10:00:00\"}", NONE},
    {P2D_VR_TIMESTAMPTZ, 6, false, "0044-03-15 10:00:00+00 BC", 0, "0000-01-01 00:00:00",
     "{\"c0\":\"0000-01-01 00:00:00\"}", P2D_ISSUE_BC, P2D_ACTION_CLAMPED},
    {P2D_VR_TIMESTAMPTZ, 6, false, "2024-01-01 10:00:00+05:30", P2D_EDATA, NULL, NULL,
     P2D_ISSUE_BAD_TEXT, P2D_ACTION_REJECTED},
    {P2D_VR_TEXT, 0, false, "", 0, "", "{\"c0\":\"\"}", NONE},
    {P2D_VR_TEXT, 0, false, "\\\\N", 0, "\"\\\\N\"", "{\"c0\":\"\\\\N\"}", NONE},
    {P2D_VR_TEXT, 0, false, "a\\tb", 0, "\"a\tb\"", "{\"c0\":\"a\\tb\"}", NONE},
    {P2D_VR_TEXT, 0, false, "say \"hi\"", 0, "\"say \\\"hi\\\"\"", "{\"c0\":\"say \\\"hi\\\"\"}",
     NONE},
    {P2D_VR_TEXT, 0, false, "\x01\x1f\x7f", 0, "\x01\x1f\x7f", "{\"c0\":\"\\u0001\\u001f\x7f\"}",
     NONE},
    {P2D_VR_TEXT, 0, false, "caf\xc3\xa9 \xf0\x9f\x98\x80", 0, "caf\xc3\xa9 \xf0\x9f\x98\x80",
     "{\"c0\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}", NONE},
    {P2D_VR_TEXT, 0, false, "bad\xff\xc3(", 0, "bad\xff\xc3(",
     "{\"c0\":\"bad\xef\xbf\xbd\xef\xbf\xbd(\"}", P2D_ISSUE_BAD_UTF8, P2D_ACTION_REPLACED},
    {P2D_VR_TEXT, 0, false, "\xed\xa0\x80", 0, "\xed\xa0\x80",
     "{\"c0\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}", P2D_ISSUE_BAD_UTF8, P2D_ACTION_REPLACED},
    {P2D_VR_JSON, 0, false, "{\"a\": [1, \"x\\\\\"y\"]}", 0, "{\"a\": [1, \"x\\\"y\"]}",
     "{\"c0\":{\"a\": [1, \"x\\\"y\"]}}", NONE},
    {P2D_VR_JSON, 0, false, "{\"a\":\\n\\t1}", 0, "{\"a\":  1}", "{\"c0\":{\"a\":  1}}", NONE},
    {P2D_VR_JSON, 0, false, "\"top\"", 0, " \"top\"", "{\"c0\":\"top\"}", NONE},
    {P2D_VR_JSON, 0, false, "", P2D_EDATA, NULL, NULL, P2D_ISSUE_BAD_TEXT, P2D_ACTION_REJECTED},
};

static void test_values(void)
{
    for (int fmt = 0; fmt < 2; fmt++) {
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            const struct value_case *c = &values[i];
            struct p2d_encoder *enc = make_encoder(fmt, &c->rule, 1, c->scale, c->not_null);
            char row[512];
            struct p2d_field f[2];
            struct p2d_value_issue issues[4];
            struct p2d_buf out;
            int nf, ni = -1, rc;
            const char *want = fmt == P2D_ENCODE_CSV ? c->csv : c->json;

            snprintf(row, sizeof row, "%s\n", c->copy);
            if (fmt == P2D_ENCODE_CSV) {
                int failures = 0, taken = 0;

                copy_path_check(enc, row, strlen(row), NULL, 0, &failures, &taken);
                T_EQ_INT(failures, 0);
                /* a value with a CSV issue or a rewrite never takes the COPY path */
                if (taken && ((c->issue >= 0 && c->issue != P2D_ISSUE_BAD_UTF8) || c->rc != 0 ||
                              strcmp(c->csv, c->copy) != 0))
                    t_fail_at(__FILE__, __LINE__, "case %zu (%s) took the COPY path", i, c->copy);
            }
            p2d_buf_init(&out, 0);
            T_EQ_INT(p2d_buf_append(&out, "prefix", 6), 0);
            T_EQ_INT(p2d_copy_decode((const uint8_t *)row, strlen(row), f, 2, &nf), 0);
            rc = p2d_encode_row(enc, f, nf, NULL, 0, &out, issues, 4, &ni);
            if (rc != c->rc)
                t_fail_at(__FILE__, __LINE__, "case %zu fmt %d (%s): rc %d want %d", i, fmt,
                          c->copy, rc, c->rc);
            if (rc == 0) {
                char got[1024];

                T_CHECK(out.len >= 7 && out.data[out.len - 1] == '\n');
                snprintf(got, sizeof got, "%.*s", (int)(out.len - 7), (char *)out.data + 6);
                if (strcmp(got, want) != 0)
                    t_fail_at(__FILE__, __LINE__, "case %zu fmt %d (%s):\n  got  %s\n  want %s", i,
                              fmt, c->copy, got, want);
                else
                    t_passed++;
            } else {
                T_EQ_INT(out.len, 6); /* rolled back */
            }
            /* BAD_UTF8 exists only in JSON */
            if (c->issue == P2D_ISSUE_BAD_UTF8 && fmt == P2D_ENCODE_CSV) {
                T_EQ_INT(ni, 0);
            } else if (c->issue < 0) {
                T_EQ_INT(ni, 0);
            } else if (ni != 1 || issues[0].kind != (enum p2d_issue_kind)c->issue ||
                       issues[0].action != (enum p2d_issue_action)c->action ||
                       issues[0].column != 0 || issues[0].rule != c->rule ||
                       issues[0].len != strlen(c->copy) ||
                       memcmp(issues[0].text, c->copy, issues[0].len) != 0) {
                t_fail_at(__FILE__, __LINE__, "case %zu fmt %d (%s): issues %d kind %d action %d",
                          i, fmt, c->copy, ni, ni > 0 ? (int)issues[0].kind : -1,
                          ni > 0 ? (int)issues[0].action : -1);
            } else {
                t_passed++;
            }
            p2d_buf_fini(&out);
            p2d_encoder_destroy(enc);
        }
    }
}

/* ---- the untouched fast path ------------------------------------------------------ */

static void test_lineitem_identity(void)
{
    static const enum p2d_value_rule rules[16] = {
        P2D_VR_INT,     P2D_VR_INT,     P2D_VR_INT,  P2D_VR_INT,  P2D_VR_DECIMAL, P2D_VR_DECIMAL,
        P2D_VR_DECIMAL, P2D_VR_DECIMAL, P2D_VR_TEXT, P2D_VR_TEXT, P2D_VR_DATE,    P2D_VR_DATE,
        P2D_VR_DATE,    P2D_VR_TEXT,    P2D_VR_TEXT, P2D_VR_TEXT};
    const char *row = "1\t155190\t7706\t1\t17.00\t21168.23\t0.04\t0.02\tN\tO\t1996-03-13\t"
                      "1996-02-12\t1996-03-22\tDELIVER IN PERSON        \tTRUCK     \t"
                      "egular courts above the\n";
    const char *with_null = "1\t\\N\t7706\t1\t17.00\t\\N\t0.04\t0.02\tN\tO\t1996-03-13\t"
                            "1996-02-12\t1996-03-22\t\\N\tTRUCK     \t\n";
    struct p2d_encoder *enc = make_encoder(P2D_ENCODE_CSV, rules, 16, 0, false);
    struct p2d_field f[16];
    struct p2d_buf out;
    int nf, ni;

    p2d_buf_init(&out, 0);
    T_EQ_INT(p2d_copy_decode((const uint8_t *)row, strlen(row), f, 16, &nf), 0);
    T_EQ_INT(p2d_encode_row(enc, f, nf, NULL, 0, &out, NULL, 0, &ni), 0);
    T_CHECK(out.len == strlen(row) && memcmp(out.data, row, out.len) == 0);
    out.len = 0;
    T_EQ_INT(p2d_copy_decode((const uint8_t *)with_null, strlen(with_null), f, 16, &nf), 0);
    T_EQ_INT(p2d_encode_row(enc, f, nf, NULL, 0, &out, NULL, 0, &ni), 0);
    T_CHECK(out.len == strlen(with_null) && memcmp(out.data, with_null, out.len) == 0);
    /* field count mismatch */
    T_EQ_INT(p2d_encode_row(enc, f, 15, NULL, 0, &out, NULL, 0, &ni), P2D_EPROTO);
    /* the COPY path writes both rows as they are, without decoding them */
    for (int k = 0; k < 2; k++) {
        const char *r = k ? with_null : row;
        bool written = false;

        out.len = 0;
        T_EQ_INT(p2d_encode_copy_row(enc, r, strlen(r), NULL, 0, &out, &written), 0);
        T_CHECK(written);
        T_CHECK(out.len == strlen(r) && memcmp(out.data, r, out.len) == 0);
    }
    p2d_buf_fini(&out);
    p2d_encoder_destroy(enc);
}

/* A changed field in the middle breaks the run and the rest still lines up. */
static void test_mixed_runs(void)
{
    static const enum p2d_value_rule rules[6] = {P2D_VR_INT,  P2D_VR_BOOL,        P2D_VR_TEXT,
                                                 P2D_VR_TEXT, P2D_VR_TIMESTAMPTZ, P2D_VR_INT};
    const char *row = "7\tt\tplain\tq\"uote\t2024-01-01 00:00:00+00\t\\N\n";
    struct p2d_encoder *enc = make_encoder(P2D_ENCODE_CSV, rules, 6, 0, false);
    struct p2d_field f[6];
    struct p2d_buf out;
    int nf, ni;

    p2d_buf_init(&out, 0);
    T_EQ_INT(p2d_copy_decode((const uint8_t *)row, strlen(row), f, 6, &nf), 0);
    T_EQ_INT(p2d_encode_row(enc, f, nf, NULL, 0, &out, NULL, 0, &ni), 0);
    T_EQ_INT(p2d_buf_append(&out, "", 1), 0);
    T_EQ_STR((char *)out.data, "7\t1\tplain\t\"q\\\"uote\"\t2024-01-01 00:00:00\t\\N\n");
    p2d_buf_fini(&out);
    p2d_encoder_destroy(enc);
}

/* Raw (pgoutput-style) values are not COPY-escaped. */
static void test_raw_fields(void)
{
    static const enum p2d_value_rule rules[3] = {P2D_VR_TEXT, P2D_VR_TEXT, P2D_VR_INT};
    struct p2d_field f[3] = {
        {"a\\tb", 4, P2D_FIELD_RAW},
        {"x\ty", 3, P2D_FIELD_RAW},
        {"5", 1, P2D_FIELD_RAW},
    };
    struct p2d_encoder *csv = make_encoder(P2D_ENCODE_CSV, rules, 3, 0, false);
    struct p2d_encoder *json = make_encoder(P2D_ENCODE_JSON, rules, 3, 0, false);
    struct p2d_buf out;
    int ni;

    p2d_buf_init(&out, 0);
    T_EQ_INT(p2d_encode_row(csv, f, 3, NULL, 0, &out, NULL, 0, &ni), 0);
    T_EQ_INT(p2d_encode_row(json, f, 3, NULL, 0, &out, NULL, 0, &ni), 0);
    T_EQ_INT(p2d_buf_append(&out, "", 1), 0);
    T_EQ_STR((char *)out.data, "\"a\\\\tb\"\t\"x\ty\"\t5\n"
                               "{\"c0\":\"a\\\\tb\",\"c1\":\"x\\ty\",\"c2\":5}\n");
    p2d_buf_fini(&out);
    p2d_encoder_destroy(csv);
    p2d_encoder_destroy(json);
}

static void test_extras_and_delete_sign(void)
{
    static const char *extra_names[] = {"_is_deleted", "_version", "_record_id"};
    struct p2d_encode_col cols[2] = {
        {.name = "id", .rule = P2D_VR_INT, .not_null = true},
        {.name = "we\"ird", .rule = P2D_VR_TEXT},
    };
    struct p2d_extra_value extra[3] = {
        {"0", 1, false, true},
        {"123", 3, false, true},
        {"r\t1", 3, false, false},
    };
    struct p2d_encoder *csv = p2d_encoder_create(P2D_ENCODE_CSV, cols, 2, extra_names, 3, true);
    struct p2d_encoder *json = p2d_encoder_create(P2D_ENCODE_JSON, cols, 2, extra_names, 3, true);
    struct p2d_encoder *noextra = p2d_encoder_create(P2D_ENCODE_JSON, cols, 2, NULL, 0, true);
    const char *row = "9\tv\n";
    struct p2d_field f[2];
    struct p2d_buf out;
    int nf, ni;

    T_CHECK(csv && json && noextra);
    p2d_buf_init(&out, 0);
    T_EQ_INT(p2d_copy_decode((const uint8_t *)row, strlen(row), f, 2, &nf), 0);
    T_EQ_INT(p2d_encode_row(csv, f, nf, extra, 1, &out, NULL, 0, &ni), 0);
    extra[2].is_null = true;
    T_EQ_INT(p2d_encode_row(json, f, nf, extra, 0, &out, NULL, 0, &ni), 0);
    T_EQ_INT(p2d_encode_row(noextra, f, nf, NULL, 1, &out, NULL, 0, &ni), 0);
    T_EQ_INT(p2d_encode_row(json, f, nf, NULL, 0, &out, NULL, 0, &ni), P2D_EINVAL);
    T_EQ_INT(p2d_buf_append(&out, "", 1), 0);
    T_EQ_STR((char *)out.data, "9\tv\t0\t123\t\"r\t1\"\t1\n"
                               "{\"id\":9,\"we\\\"ird\":\"v\",\"_is_deleted\":0,\"_version\":123,"
                               "\"_record_id\":null,\"__DORIS_DELETE_SIGN__\":0}\n"
                               "{\"id\":9,\"we\\\"ird\":\"v\",\"__DORIS_DELETE_SIGN__\":1}\n");
    p2d_buf_fini(&out);
    p2d_encoder_destroy(csv);
    p2d_encoder_destroy(json);
    p2d_encoder_destroy(noextra);
    T_CHECK(p2d_encoder_create(P2D_ENCODE_CSV, NULL, 2, NULL, 0, false) == NULL);
    T_CHECK(p2d_encoder_create(P2D_ENCODE_CSV, cols, 2, NULL, 1, false) == NULL);
    p2d_encoder_destroy(NULL);
}

static void test_limits(void)
{
    struct p2d_encode_col col = {.name = "v", .rule = P2D_VR_TEXT, .max_bytes = 4};
    struct p2d_encoder *enc = p2d_encoder_create(P2D_ENCODE_CSV, &col, 1, NULL, 0, false);
    struct p2d_field f[1];
    struct p2d_value_issue iss[1];
    struct p2d_buf out;
    int nf, ni;

    p2d_buf_init(&out, 16);
    /* escaped text longer than 4 bytes whose value fits */
    T_EQ_INT(p2d_copy_decode((const uint8_t *)"\\\\\\\\\\\\\\\\\n", 9, f, 1, &nf), 0);
    T_EQ_INT(p2d_encode_row(enc, f, nf, NULL, 0, &out, iss, 1, &ni), 0);
    T_EQ_INT(out.len, 11); /* "\\\\\\\\" enclosed + \n */
    T_EQ_INT(p2d_copy_decode((const uint8_t *)"abcde\n", 6, f, 1, &nf), 0);
    T_EQ_INT(p2d_encode_row(enc, f, nf, NULL, 0, &out, iss, 1, &ni), P2D_EDATA);
    T_EQ_INT(ni, 1);
    T_EQ_INT(iss[0].kind, P2D_ISSUE_TOO_LONG);
    T_EQ_INT(out.len, 11);
    /* the cap: 11 + 5 = 16 fits, the next row does not and leaves out unchanged */
    T_EQ_INT(p2d_copy_decode((const uint8_t *)"abcd\n", 5, f, 1, &nf), 0);
    T_EQ_INT(p2d_encode_row(enc, f, nf, NULL, 0, &out, iss, 1, &ni), 0);
    T_EQ_INT(out.len, 16);
    T_EQ_INT(p2d_encode_row(enc, f, nf, NULL, 0, &out, iss, 1, &ni), P2D_EFULL);
    T_EQ_INT(out.len, 16);
    /* bad escape in a text field: the decoder passes it, the encoder refuses */
    {
        struct p2d_field bad = {"ab\\", 3, P2D_FIELD_HAS_BACKSLASH};

        out.len = 0;
        T_EQ_INT(p2d_encode_row(enc, &bad, 1, NULL, 0, &out, iss, 1, &ni), P2D_EPROTO);
        T_EQ_INT(out.len, 0);
    }
    /* more issues than room: counted, not stored past issues_max */
    p2d_buf_fini(&out);
    p2d_encoder_destroy(enc);
    {
        static const enum p2d_value_rule rules[3] = {P2D_VR_DATE, P2D_VR_DATE, P2D_VR_DATE};
        struct p2d_encoder *e3 = make_encoder(P2D_ENCODE_CSV, rules, 3, 0, false);
        struct p2d_field f3[3];

        p2d_buf_init(&out, 0);
        T_EQ_INT(p2d_copy_decode((const uint8_t *)"infinity\tinfinity\tinfinity\n", 27, f3, 3, &nf),
                 0);
        T_EQ_INT(p2d_encode_row(e3, f3, nf, NULL, 0, &out, iss, 1, &ni), 0);
        T_EQ_INT(ni, 3);
        T_EQ_INT(iss[0].column, 0);
        p2d_buf_fini(&out);
        p2d_encoder_destroy(e3);
    }
}

/* ---- round trip ------------------------------------------------------------------ */

static const char *const hostile[] = {
    "",
    "\\N",
    "\\",
    "\"",
    "\"\"",
    "a\tb",
    "a\nb",
    "\r\n",
    "\r",
    "x\\N",
    "N",
    "\\\\N",
    "\t",
    "\n",
    "\\t",
    "a\"b\tc\\d\ne",
    "  sp  ",
    "\x01\x02\x1f",
    "\x7f",
    "\xc3\xa9\xe2\x82\xac",
    "\xf0\x9f\x98\x80z",
    "\"quoted\"",
    "trailing\\",
    "\b\f\v",
    "NULL",
    "\\.",
    ".",
};

static void check_round_trip(const struct value *v, int nv, int alt, int *failures)
{
    static const bool is_string[3] = {true, true, true};
    static const enum p2d_value_rule rules[3] = {P2D_VR_TEXT, P2D_VR_TEXT, P2D_VR_TEXT};
    struct p2d_encoder *csv = make_encoder(P2D_ENCODE_CSV, rules, nv, 0, false);
    struct p2d_encoder *json = make_encoder(P2D_ENCODE_JSON, rules, nv, 0, false);
    char row[8192];
    size_t n = copy_row(v, nv, row, alt), pos = 0;
    struct p2d_field f[3];
    struct parsed *parsed = malloc(sizeof(struct parsed) * 3);
    struct p2d_value_issue iss[3];
    struct p2d_buf out;
    int nf, ni;
    bool bad_utf8 = false;

    copy_path_check(csv, row, n, NULL, 0, failures, NULL);
    p2d_buf_init(&out, 0);
    if (p2d_copy_decode((const uint8_t *)row, n, f, 3, &nf) != 0 ||
        p2d_encode_row(csv, f, nf, NULL, 0, &out, iss, 3, &ni) != 0 || ni != 0 ||
        ref_csv_line((char *)out.data, out.len, &pos, is_string, parsed, 3) != nv ||
        pos != out.len) {
        (*failures)++;
        goto done;
    }
    for (int i = 0; i < nv; i++)
        if (parsed[i].null != v[i].null ||
            (!v[i].null && (parsed[i].len != v[i].n || memcmp(parsed[i].buf, v[i].p, v[i].n))))
            (*failures)++;

    /* JSON: jansson gives back every value that is valid UTF-8 */
    out.len = 0;
    if (p2d_encode_row(json, f, nf, NULL, 0, &out, iss, 3, &ni) != 0) {
        (*failures)++;
        goto done;
    }
    for (int i = 0; i < ni && i < 3; i++)
        bad_utf8 |= iss[i].kind == P2D_ISSUE_BAD_UTF8;
    if (memchr(out.data, '\n', out.len) != out.data + out.len - 1) {
        (*failures)++; /* a raw newline inside a JSON line */
        goto done;
    }
    {
        json_error_t err;
        json_t *obj = json_loadb((char *)out.data, out.len, JSON_ALLOW_NUL, &err);

        if (!obj) {
            (*failures)++;
            goto done;
        }
        for (int i = 0; i < nv; i++) {
            char key[16];
            json_t *jv;

            snprintf(key, sizeof key, "c%d", i);
            jv = json_object_get(obj, key);
            if (v[i].null) {
                if (!json_is_null(jv))
                    (*failures)++;
            } else if (!json_is_string(jv)) {
                (*failures)++;
            } else if (!bad_utf8 && (json_string_length(jv) != v[i].n ||
                                     memcmp(json_string_value(jv), v[i].p, v[i].n) != 0)) {
                (*failures)++;
            }
        }
        json_decref(obj);
    }
done:
    free(parsed);
    p2d_buf_fini(&out);
    p2d_encoder_destroy(csv);
    p2d_encoder_destroy(json);
}

static void test_round_trip_hostile(void)
{
    size_t nh = sizeof hostile / sizeof hostile[0];
    int failures = 0, rows = 0;

    for (int alt = 0; alt < 3; alt++)
        for (size_t i = 0; i < nh; i++)
            for (size_t j = 0; j < nh; j++) {
                struct value v[3] = {
                    {hostile[i], strlen(hostile[i]), false},
                    {hostile[j], strlen(hostile[j]), (i + j) % 7 == 0},
                    {hostile[(i * j) % nh], strlen(hostile[(i * j) % nh]), false},
                };

                check_round_trip(v, 3, alt, &failures);
                rows++;
            }
    T_EQ_INT(failures, 0);
    T_CHECK(rows > 2000);
}

static void test_round_trip_random(void)
{
    uint64_t s = 99;
    int failures = 0;

    for (int iter = 0; iter < 20000; iter++) {
        char bufs[3][64];
        struct value v[3];

        for (int k = 0; k < 3; k++) {
            size_t n;

            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            n = (size_t)(s >> 33) % sizeof bufs[k];
            for (size_t i = 0; i < n; i++) {
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                /* half of the bytes from the hostile set, half anything */
                bufs[k][i] = (s >> 40) & 1 ? "\\\t\n\r\"N\x01"[(s >> 41) % 7] : (char)(s >> 48);
            }
            v[k].p = bufs[k];
            v[k].n = n;
            v[k].null = ((s >> 20) & 15) == 0;
        }
        check_round_trip(v, 3, iter % 3, &failures);
    }
    T_EQ_INT(failures, 0);
}

/* JSON documents survive CSV (unenclosed) and JSON lines, as JSON values. */
static void test_json_documents(void)
{
    static const char *const docs[] = {
        "{\"a\": 1}",
        "[1, \"two\", null]",
        "\"top\\\"level\\\\\"",
        "{\"k\":\n\t\"v\\tw\"\r}",
        "42",
        "true",
        "{\"\\\\N\": \"\\u0000\"}",
        "{\"uni\": \"\xc3\xa9\"}",
    };
    static const enum p2d_value_rule rules[2] = {P2D_VR_JSON, P2D_VR_INT};
    static const bool is_string[2] = {false, false};
    struct p2d_encoder *csv = make_encoder(P2D_ENCODE_CSV, rules, 2, 0, false);
    struct p2d_encoder *json = make_encoder(P2D_ENCODE_JSON, rules, 2, 0, false);

    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        struct value v[2] = {{docs[i], strlen(docs[i]), false}, {"1", 1, false}};
        char row[512];
        size_t n = copy_row(v, 2, row, 0), pos = 0;
        struct p2d_field f[2];
        struct parsed parsed[2];
        struct p2d_buf out;
        json_error_t err;
        json_t *want = json_loadb(docs[i], strlen(docs[i]), JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        json_t *got, *line;
        int nf, ni;

        p2d_buf_init(&out, 0);
        T_CHECK(want != NULL);
        T_EQ_INT(p2d_copy_decode((const uint8_t *)row, n, f, 2, &nf), 0);
        T_EQ_INT(p2d_encode_row(csv, f, nf, NULL, 0, &out, NULL, 0, &ni), 0);
        T_EQ_INT(ref_csv_line((char *)out.data, out.len, &pos, is_string, parsed, 2), 2);
        got = json_loadb(parsed[0].buf, parsed[0].len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        T_CHECK(got && json_equal(got, want));
        json_decref(got);
        out.len = 0;
        T_EQ_INT(p2d_encode_row(json, f, nf, NULL, 0, &out, NULL, 0, &ni), 0);
        T_CHECK(memchr(out.data, '\n', out.len) == out.data + out.len - 1);
        line = json_loadb((char *)out.data, out.len, JSON_ALLOW_NUL, &err);
        T_CHECK(line && json_equal(json_object_get(line, "c0"), want));
        json_decref(line);
        json_decref(want);
        p2d_buf_fini(&out);
    }
    p2d_encoder_destroy(csv);
    p2d_encoder_destroy(json);
}

/* ---- the whole-row CSV fast path matches the per-field path ------------------ */

struct fast_col_case {
    enum p2d_value_rule rule;
    uint32_t max_bytes;
    bool not_null;
    const char *const *vals; /* COPY text of candidate fields, NULL-terminated */
};

static const char *const fast_ints[] = {"1", "-42", "", "\\N", "1\\t", "9\"", "7\r", NULL};
static const char *const fast_decs[] = {"17.00", "NaN",  "-Infinity", "Infinity", "",
                                        "\\N",   "0.04", "+Inf",      NULL};
static const char *const fast_texts[] = {
    "N", "", "\\N", "abcdef", "a\\tb", "q\"t", "\\\\N", "DELIVER IN PERSON        ", "r\r", NULL};
static const char *const fast_dates[] = {"1996-03-13",    "infinity", "-infinity", "12345-01-01",
                                         "0044-03-15 BC", "19960313", "\\N",       "",
                                         "1996/03/13",    NULL};
static const char *const fast_stamps[] = {"2024-01-01 00:00:00",
                                          "2024-01-01 00:00:00.123456",
                                          "infinity",
                                          "2024-01-01 00:00:0x",
                                          "\\N",
                                          "12024-01-01 00:00:00",
                                          "2024-01-01",
                                          NULL};
static const char *const fast_bools[] = {"t", "f", "\\N", "x", NULL};
static const char *const fast_tz[] = {"2024-01-01 00:00:00+00", "\\N", "infinity", NULL};

/* encodes one COPY row with the fast path on and off; everything must match */
static void fast_compare(struct p2d_encoder *enc, const char *row, const struct p2d_extra_value *ex,
                         int del, int *failures)
{
    struct p2d_field f[MAXF];
    struct p2d_value_issue is[2][4];
    struct p2d_buf out[2];
    int nf, rc[2], ni[2];

    copy_path_check(enc, row, strlen(row), ex, del, failures, NULL);
    if (p2d_copy_decode((const uint8_t *)row, strlen(row), f, MAXF, &nf) != 0)
        return;
    for (int k = 0; k < 2; k++) {
        p2d_buf_init(&out[k], 0);
        T_EQ_INT(p2d_buf_append(&out[k], "prefix", 6), 0);
        p2d_encoder_set_fast_path(enc, k == 0);
        rc[k] = p2d_encode_row(enc, f, nf, ex, del, &out[k], is[k], 4, &ni[k]);
    }
    p2d_encoder_set_fast_path(enc, true);
    if (rc[0] != rc[1] || ni[0] != ni[1] || out[0].len != out[1].len ||
        memcmp(out[0].data, out[1].data, out[0].len) != 0) {
        (*failures)++;
        fprintf(stderr, "fast path differs: row \"%s\" rc %d/%d issues %d/%d\n", row, rc[0], rc[1],
                ni[0], ni[1]);
    } else {
        for (int i = 0; i < ni[0] && i < 4; i++)
            if (is[0][i].column != is[1][i].column || is[0][i].rule != is[1][i].rule ||
                is[0][i].kind != is[1][i].kind || is[0][i].action != is[1][i].action ||
                is[0][i].text != is[1][i].text || is[0][i].len != is[1][i].len) {
                (*failures)++;
                fprintf(stderr, "fast path issue %d differs: row \"%s\"\n", i, row);
            }
    }
    p2d_buf_fini(&out[0]);
    p2d_buf_fini(&out[1]);
}

static void test_fast_path_matches(void)
{
    static const struct fast_col_case tables[][5] = {
        /* every rule the fast path takes */
        {{P2D_VR_INT, 0, false, fast_ints},
         {P2D_VR_DECIMAL, 0, true, fast_decs},
         {P2D_VR_TEXT, 6, false, fast_texts},
         {P2D_VR_DATE, 0, false, fast_dates},
         {P2D_VR_TIMESTAMP, 0, true, fast_stamps}},
        {{P2D_VR_FLOAT, 0, false, fast_decs},
         {P2D_VR_TEXT, 0, true, fast_texts},
         {P2D_VR_INT, 0, true, fast_ints},
         {P2D_VR_TEXT, 1, false, fast_texts},
         {P2D_VR_DATE, 0, true, fast_dates}},
        /* a column the fast path never takes turns it off */
        {{P2D_VR_INT, 0, false, fast_ints},
         {P2D_VR_BOOL, 0, false, fast_bools},
         {P2D_VR_TEXT, 0, false, fast_texts},
         {P2D_VR_TIMESTAMPTZ, 0, false, fast_tz},
         {P2D_VR_DECIMAL, 0, false, fast_decs}},
    };
    static const char *const extra_names[] = {"_version", "_note"};
    const struct p2d_extra_value extras[2] = {{"7", 1, false, true}, {"a\tb", 3, false, false}};
    uint64_t s = 7;
    int failures = 0, rows = 0;

    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        struct p2d_encode_col cols[5];
        struct p2d_encoder *enc[3];

        for (int c = 0; c < 5; c++) {
            memset(&cols[c], 0, sizeof cols[c]);
            cols[c].name = "c";
            cols[c].rule = tables[t][c].rule;
            cols[c].max_bytes = tables[t][c].max_bytes;
            cols[c].not_null = tables[t][c].not_null;
        }
        enc[0] = p2d_encoder_create(P2D_ENCODE_CSV, cols, 5, NULL, 0, false);
        enc[1] = p2d_encoder_create(P2D_ENCODE_CSV, cols, 5, extra_names, 2, true);
        enc[2] = p2d_encoder_create(P2D_ENCODE_CSV, cols, 1, extra_names, 1, false);
        T_CHECK(enc[0] && enc[1] && enc[2]);
        for (int iter = 0; iter < 4000; iter++) {
            char row[512];
            size_t n = 0;

            for (int c = 0; c < 5; c++) {
                const char *const *vals = tables[t][c].vals;
                size_t nv = 0, pick;

                while (vals[nv])
                    nv++;
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                /* mostly clean values: the first of each list, like real rows */
                pick = (s >> 60) < 8 ? 0 : (size_t)(s >> 33) % nv;
                n += (size_t)snprintf(row + n, sizeof row - n, "%s%s", c ? "\t" : "", vals[pick]);
            }
            row[n++] = '\n';
            row[n] = '\0';
            fast_compare(enc[0], row, NULL, 0, &failures);
            fast_compare(enc[1], row, extras, iter & 1, &failures);
            /* one column: the first field of the row alone */
            {
                char one[512];
                size_t k = strcspn(row, "\t\n");

                memcpy(one, row, k);
                one[k] = '\n';
                one[k + 1] = '\0';
                fast_compare(enc[2], one, extras, 0, &failures);
            }
            rows++;
        }
        for (int k = 0; k < 3; k++)
            p2d_encoder_destroy(enc[k]);
    }
    T_EQ_INT(failures, 0);
    T_CHECK(rows == 12000);
}

/* Fields that are not back to back in one row (built by hand) are written
 * one by one with TABs between them, on either path. */
static void test_fast_path_scattered(void)
{
    static const enum p2d_value_rule rules[3] = {P2D_VR_INT, P2D_VR_TEXT, P2D_VR_DATE};
    struct p2d_encoder *enc = make_encoder(P2D_ENCODE_CSV, rules, 3, 0, false);
    const char *buf = "12__xy__2024-02-29";
    struct p2d_field f[3] = {{buf, 2, 0}, {buf + 4, 2, 0}, {buf + 8, 10, 0}};
    struct p2d_buf out;
    int ni;

    p2d_buf_init(&out, 0);
    for (int fast = 0; fast < 2; fast++) {
        out.len = 0;
        p2d_encoder_set_fast_path(enc, fast);
        T_EQ_INT(p2d_encode_row(enc, f, 3, NULL, 0, &out, NULL, 0, &ni), 0);
        T_EQ_INT(p2d_buf_append(&out, "", 1), 0);
        T_EQ_STR((char *)out.data, "12\txy\t2024-02-29\n");
    }
    p2d_buf_fini(&out);
    p2d_encoder_destroy(enc);
}

/*
 * The COPY path's block scan: rows of every length from 0 to ~100 bytes, so
 * TABs, specials and the row end fall at every position of a 16-byte block
 * (and rows shorter than a block take the scalar masks), with clean and
 * failing values, \N, escapes, quotes, CR, inner newlines and wrong field
 * counts. Whatever the row, the COPY path agrees with the reference.
 */
/* Appends row[0..n) to msgs as a CopyData message ('d', int32 length). */
static void put_message(struct p2d_buf *msgs, const char *row, size_t n)
{
    uint32_t len = (uint32_t)n + 4;
    uint8_t h[5] = {'d', (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                    (uint8_t)len};

    T_EQ_INT(p2d_buf_append(msgs, h, 5), 0);
    T_EQ_INT(p2d_buf_append(msgs, row, n), 0);
}

/*
 * p2d_encode_copy_rows over the messages msgs[0..len) against one
 * p2d_encode_copy_row per message: the same bytes, the same rows, and it
 * stops at the first row the per-row call does not take (which the test
 * then steps over, as the reader's general path would), at a full out
 * (outmax > 0: out may hold that much) or at the end.
 */
static void check_run(struct p2d_encoder *enc, const uint8_t *msgs, size_t len, size_t outmax,
                      int *failures)
{
    size_t pos = 0;

    while (pos < len) {
        struct p2d_buf got, ref;
        size_t used, rows, at = pos, nref = 0;
        enum p2d_copy_run_stop stop, want = P2D_COPY_RUN_END;
        int64_t m;

        p2d_buf_init(&got, outmax);
        p2d_buf_init(&ref, outmax);
        stop = p2d_encode_copy_rows(enc, msgs + pos, len - pos, &got, &used, &rows);
        while ((m = p2d_copy_data_len(msgs + at, len - at)) >= 0) {
            bool written = false;
            int rc = p2d_encode_copy_row(enc, (const char *)msgs + at + 5, (size_t)m, NULL, 0, &ref,
                                         &written);

            if (rc == P2D_EFULL) {
                want = P2D_COPY_RUN_FULL;
                break;
            }
            if (rc != 0 || !written) {
                want = P2D_COPY_RUN_ROW;
                break;
            }
            at += 5 + (size_t)m;
            nref++;
        }
        if (stop != want || used != at - pos || rows != nref || got.len != ref.len ||
            (ref.len > 0 && memcmp(got.data, ref.data, ref.len) != 0)) {
            (*failures)++;
            fprintf(stderr, "run at %zu: stop %d want %d, used %zu want %zu, rows %zu want %zu\n",
                    pos, (int)stop, (int)want, used, at - pos, rows, nref);
        }
        p2d_buf_fini(&got);
        p2d_buf_fini(&ref);
        if (want == P2D_COPY_RUN_END)
            break;
        if (want == P2D_COPY_RUN_FULL && used == 0)
            break; /* the row does not fit even alone */
        pos = at;
        if (want == P2D_COPY_RUN_ROW) /* the general path takes that row */
            pos += 5 + (size_t)p2d_copy_data_len(msgs + at, len - at);
    }
}

static void test_copy_path_blocks(void)
{
    static const struct {
        enum p2d_value_rule rule;
        uint32_t max_bytes;
    } shapes[][4] = {
        {{P2D_VR_INT, 0}, {P2D_VR_TEXT, 8}, {P2D_VR_DATE, 0}, {P2D_VR_DECIMAL, 0}},
        {{P2D_VR_TEXT, 0}, {P2D_VR_TIMESTAMP, 0}, {P2D_VR_FLOAT, 0}, {P2D_VR_TEXT, 3}},
        {{P2D_VR_TEXT, 0}, {P2D_VR_TEXT, 0}, {P2D_VR_TEXT, 0}, {P2D_VR_TEXT, 0}},
    };
    /* field values; the first 10 (up to the date) are drawn most often */
    static const char *const pieces[] = {
        "7",
        "-12",
        "0.5",
        "NaN",
        "Infinity",
        "-Inf",
        "",
        "\\N",
        "\\N",
        "1996-03-13",
        "abc",
        "abcdefghijk",
        "a\\tb",
        "q\"",
        "r\r",
        "\t",
        "\n",
        "x\\",
        "2024-01-01 00:00:00",
        "2024-01-01 00:00:00.5",
        "1996/03/13",
        "+Inf",
    };
    const struct p2d_extra_value extras[1] = {{"x\ty", 3, false, false}};
    static const char *const extra_names[] = {"_e"};
    size_t npieces = sizeof pieces / sizeof pieces[0];
    uint64_t s = 12345;
    int failures = 0, taken = 0, rows = 0;

    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        struct p2d_encode_col cols[4];
        struct p2d_encoder *enc[2];
        struct p2d_buf msgs;

        for (int c = 0; c < 4; c++) {
            memset(&cols[c], 0, sizeof cols[c]);
            cols[c].name = "c";
            cols[c].rule = shapes[t][c].rule;
            cols[c].max_bytes = shapes[t][c].max_bytes;
        }
        enc[0] = p2d_encoder_create(P2D_ENCODE_CSV, cols, 4, NULL, 0, false);
        enc[1] = p2d_encoder_create(P2D_ENCODE_CSV, cols, 4, extra_names, 1, true);
        T_CHECK(enc[0] && enc[1]);
        p2d_buf_init(&msgs, 0);
        for (int iter = 0; iter < 6000; iter++) {
            char row[512];
            size_t n = 0;
            int nf;

            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            /* mostly 4 fields; sometimes 3 or 5 */
            nf = (s >> 59) == 0 ? 3 : (s >> 59) == 1 ? 5 : 4;
            for (int c = 0; c < nf; c++) {
                size_t pick, pad;

                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                pick = (s >> 61) < 4 ? (size_t)(s >> 33) % 10 : (size_t)(s >> 33) % npieces;
                pad = (s >> 20) % 4 == 0 ? (size_t)(s >> 24) % 40 : 0;
                if (c)
                    row[n++] = '\t';
                if (shapes[t][c < 4 ? c : 3].rule == P2D_VR_TEXT && pad) {
                    memset(row + n, 'p', pad); /* text of any length */
                    n += pad;
                }
                n += (size_t)snprintf(row + n, sizeof row - n, "%s", pieces[pick]);
            }
            row[n++] = '\n';
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            if ((s >> 58) == 0 && n > 1)
                n--; /* no final newline */
            else if ((s >> 58) == 1 && n > 2)
                row[(s >> 20) % (n - 1)] = '\n'; /* a newline inside */
            copy_path_check(enc[0], row, n, NULL, 0, &failures, &taken);
            copy_path_check(enc[1], row, n, extras, iter & 1, &failures, NULL);
            put_message(&msgs, row, n);
            rows++;
        }
        /* the same rows as runs of CopyData messages, whole and cut short,
         * into an out without limit and into small ones */
        check_run(enc[0], msgs.data, msgs.len, 0, &failures);
        check_run(enc[0], msgs.data, msgs.len - 3, 0, &failures);
        check_run(enc[0], msgs.data, msgs.len, 700, &failures);
        check_run(enc[0], msgs.data, msgs.len, 64, &failures);
        check_run(enc[1], msgs.data, msgs.len, 0, &failures); /* extras: never a run */
        {
            /* a message of another type ends a run: one row, then END */
            struct p2d_buf two;
            struct p2d_buf out;
            size_t used = 9, nrows = 9;

            p2d_buf_init(&two, 0);
            p2d_buf_init(&out, 0);
            put_message(&two, "1\tab\t1996-03-13\t7\n", 18);
            T_EQ_INT(p2d_buf_append(&two, "c\0\0\0\4", 5), 0);
            put_message(&two, "2\tab\t1996-03-13\t7\n", 18);
            T_EQ_INT(p2d_encode_copy_rows(enc[0], two.data, two.len, &out, &used, &nrows),
                     t == 1 ? P2D_COPY_RUN_ROW : P2D_COPY_RUN_END);
            T_EQ_INT(used, t == 1 ? 0 : 23); /* shape 1: "ab" is no timestamp */
            T_EQ_INT(nrows, t == 1 ? 0 : 1);
            p2d_buf_fini(&out);
            p2d_buf_fini(&two);
        }
        p2d_buf_fini(&msgs);
        p2d_encoder_destroy(enc[0]);
        p2d_encoder_destroy(enc[1]);
    }
    T_EQ_INT(failures, 0);
    T_CHECK(rows == 18000);
    T_CHECK(taken > 2000); /* the clean rows do take it */
}

/* Rows the COPY path must leave alone, the encoders it must not run for,
 * and a full buffer. */
static void test_copy_path_edges(void)
{
    static const enum p2d_value_rule two_int[2] = {P2D_VR_INT, P2D_VR_INT};
    static const enum p2d_value_rule with_bool[2] = {P2D_VR_INT, P2D_VR_BOOL};
    static const char *const refused[] = {
        "1\t2",      /* no final newline */
        "1\n2\n",    /* a newline inside */
        "1\t2\t3\n", /* too many fields */
        "1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\t13\t14\t15\t16\t17\t18\n",
        "1\n",     /* too few */
        "1\t\\\n", /* a backslash escaping the newline */
        "\\N\t\\Nx\n",
        "\\N\t\\\n",
        "1\t2\r\n",
        "",
    };
    struct p2d_encoder *enc = make_encoder(P2D_ENCODE_CSV, two_int, 2, 0, false);
    struct p2d_encoder *json = make_encoder(P2D_ENCODE_JSON, two_int, 2, 0, false);
    struct p2d_encoder *b = make_encoder(P2D_ENCODE_CSV, with_bool, 2, 0, false);
    struct p2d_buf out;
    bool written;

    p2d_buf_init(&out, 8);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        written = true;
        T_EQ_INT(p2d_encode_copy_row(enc, refused[i], strlen(refused[i]), NULL, 0, &out, &written),
                 0);
        T_CHECK(!written);
    }
    T_EQ_INT(out.len, 0);
    /* NULLs pass as they are */
    T_EQ_INT(p2d_encode_copy_row(enc, "\\N\t\\N\n", 6, NULL, 0, &out, &written), 0);
    T_CHECK(written && out.len == 6 && memcmp(out.data, "\\N\t\\N\n", 6) == 0);
    /* JSON, a rewritten column, the fast path off: never */
    T_EQ_INT(p2d_encode_copy_row(json, "1\t2\n", 4, NULL, 0, &out, &written), 0);
    T_CHECK(!written);
    T_EQ_INT(p2d_encode_copy_row(b, "1\tt\n", 4, NULL, 0, &out, &written), 0);
    T_CHECK(!written);
    p2d_encoder_set_fast_path(enc, false);
    T_EQ_INT(p2d_encode_copy_row(enc, "1\t2\n", 4, NULL, 0, &out, &written), 0);
    T_CHECK(!written);
    p2d_encoder_set_fast_path(enc, true);
    T_EQ_INT(out.len, 6);
    /* the cap: 6 + 4 > 8 leaves out unchanged */
    T_EQ_INT(p2d_encode_copy_row(enc, "1\t2\n", 4, NULL, 0, &out, &written), P2D_EFULL);
    T_CHECK(!written);
    T_EQ_INT(out.len, 6);
    p2d_buf_fini(&out);
    p2d_encoder_destroy(enc);
    p2d_encoder_destroy(json);
    p2d_encoder_destroy(b);
}

int main(void)
{
    test_values();
    test_lineitem_identity();
    test_mixed_runs();
    test_raw_fields();
    test_extras_and_delete_sign();
    test_limits();
    test_round_trip_hostile();
    test_round_trip_random();
    test_json_documents();
    test_fast_path_matches();
    test_fast_path_scattered();
    test_copy_path_blocks();
    test_copy_path_edges();
    return t_done();
}
