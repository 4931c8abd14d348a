/*
 * verify_value_test.c - p2d_verify_value_equal and p2d_verify_key_cmp,
 * table-driven: each case is a value rule, PostgreSQL's text (or NULL) and
 * a Doris answer value as JSON text, with the expected outcome. Covers
 * integers, decimals in every spelling Doris may use, floats, booleans,
 * dates and datetimes (fractions, clamps, "+00"), text bytes, JSON
 * documents and NULLs. Then p2d_verify_order_bound: the range conditions
 * of the multiset comparison, NULL first, for lower / strict / upper
 * bounds over one to three columns.
 */
#include <stdio.h>

#include "p2d_error.h"
#include "testlib.h"
#include "verify/verify.h"

struct eq_case {
    enum p2d_value_rule rule;
    unsigned scale;
    const char *pg;    /* NULL = SQL NULL */
    const char *doris; /* JSON text of the answer's value */
    bool equal;
};

static const struct eq_case eq_cases[] = {
    /* NULLs */
    {P2D_VR_INT, 0, NULL, "null", true},
    {P2D_VR_INT, 0, NULL, "0", false},
    {P2D_VR_INT, 0, "0", "null", false},
    {P2D_VR_TEXT, 0, NULL, "\"\"", false},
    {P2D_VR_TEXT, 0, "", "null", false},
    {P2D_VR_TEXT, 0, "", "\"\"", true},
    /* integers */
    {P2D_VR_INT, 0, "42", "42", true},
    {P2D_VR_INT, 0, "-42", "-42", true},
    {P2D_VR_INT, 0, "42", "43", false},
    {P2D_VR_INT, 0, "9223372036854775807", "9223372036854775807", true},
    {P2D_VR_INT, 0, "9223372036854775807", "9223372036854775806", false},
    {P2D_VR_INT, 0, "170141183460469231731687303715884105727",
     "\"170141183460469231731687303715884105727\"", true},
    {P2D_VR_INT, 0, "0", "0", true},
    {P2D_VR_INT, 0, "7", "\"7\"", true},
    {P2D_VR_INT, 0, "1.5", "1.5", false}, /* not integer text */
    /* decimals: exact, whatever the spelling */
    {P2D_VR_DECIMAL, 0, "12345.670", "12345.67", true},
    {P2D_VR_DECIMAL, 0, "12345.670", "\"12345.670000\"", true},
    {P2D_VR_DECIMAL, 0, "12345.670", "12345.671", false},
    {P2D_VR_DECIMAL, 0, "0.000", "0", true},
    {P2D_VR_DECIMAL, 0, "-0.5", "-0.5", true},
    {P2D_VR_DECIMAL, 0, "-0.5", "0.5", false},
    {P2D_VR_DECIMAL, 0, "100", "1e2", true},
    {P2D_VR_DECIMAL, 0, "0.0000001", "1e-07", true},
    {P2D_VR_DECIMAL, 0, "123456789012.345", "123456789012.345", true},
    {P2D_VR_DECIMAL, 0, "12345678901234567890.123456789", "\"12345678901234567890.123456789\"",
     true},
    {P2D_VR_DECIMAL, 0, "12345678901234567890.123456789", "\"12345678901234567890.123456788\"",
     false},
    {P2D_VR_DECIMAL, 0, "10", "1", false},
    {P2D_VR_DECIMAL, 0, "NaN", "null", true}, /* written as NULL */
    {P2D_VR_DECIMAL, 0, "Infinity", "null", true},
    {P2D_VR_DECIMAL, 0, "NaN", "0", false},
    {P2D_VR_DECIMAL, 0, "abc", "\"abc\"", false},
    /* floats: shortest text against the double */
    {P2D_VR_FLOAT, 0, "0.1", "0.1", true},
    {P2D_VR_FLOAT, 0, "0.1", "0.10000000000000002", false},
    {P2D_VR_FLOAT, 0, "1e+300", "1e300", true},
    {P2D_VR_FLOAT, 0, "-0", "0", true},
    {P2D_VR_FLOAT, 0, "3", "3", true},
    {P2D_VR_FLOAT, 0, "1.1", "1.1", true}, /* float4 text read as a double */
    {P2D_VR_FLOAT, 0, "NaN", "null", true},
    {P2D_VR_FLOAT, 0, "-Infinity", "null", true},
    {P2D_VR_FLOAT, 0, "NaN", "\"NaN\"", false},
    /* booleans */
    {P2D_VR_BOOL, 0, "t", "true", true},
    {P2D_VR_BOOL, 0, "f", "false", true},
    {P2D_VR_BOOL, 0, "t", "1", true},
    {P2D_VR_BOOL, 0, "f", "0", true},
    {P2D_VR_BOOL, 0, "t", "false", false},
    {P2D_VR_BOOL, 0, "t", "2", false},
    {P2D_VR_BOOL, 0, "true", "true", false}, /* PostgreSQL prints t */
    /* dates */
    {P2D_VR_DATE, 0, "2024-02-29", "\"2024-02-29\"", true},
    {P2D_VR_DATE, 0, "2024-02-29", "\"2024-03-01\"", false},
    {P2D_VR_DATE, 0, "infinity", "\"9999-12-31\"", true},
    {P2D_VR_DATE, 0, "-infinity", "\"0000-01-01\"", true},
    {P2D_VR_DATE, 0, "0044-03-15 BC", "\"0000-01-01\"", true},
    {P2D_VR_DATE, 0, "12000-01-01", "\"9999-12-31\"", true},
    {P2D_VR_DATE, 0, "2024-02-29", "20240229", false},
    /* datetimes: fraction normalized */
    {P2D_VR_TIMESTAMP, 6, "2024-01-01 10:00:00.123", "\"2024-01-01 10:00:00.123000\"", true},
    {P2D_VR_TIMESTAMP, 6, "2024-01-01 10:00:00", "\"2024-01-01 10:00:00.000000\"", true},
    {P2D_VR_TIMESTAMP, 0, "2024-01-01 10:00:00", "\"2024-01-01 10:00:00\"", true},
    {P2D_VR_TIMESTAMP, 6, "2024-01-01 10:00:00.123", "\"2024-01-01 10:00:00.124\"", false},
    {P2D_VR_TIMESTAMP, 6, "2024-01-01 10:00:00", "\"2024-01-01T10:00:00\"", true},
    {P2D_VR_TIMESTAMP, 6, "infinity", "\"9999-12-31 23:59:59.999999\"", true},
    {P2D_VR_TIMESTAMP, 3, "infinity", "\"9999-12-31 23:59:59.999\"", true},
    {P2D_VR_TIMESTAMP, 0, "infinity", "\"9999-12-31 23:59:59\"", true},
    {P2D_VR_TIMESTAMP, 6, "-infinity", "\"0000-01-01 00:00:00\"", true},
    {P2D_VR_TIMESTAMP, 6, "0001-01-01 00:00:00 BC", "\"0000-01-01 00:00:00\"", true},
    {P2D_VR_TIMESTAMPTZ, 6, "2024-01-01 10:00:00.5+00", "\"2024-01-01 10:00:00.500000\"", true},
    {P2D_VR_TIMESTAMPTZ, 6, "2024-01-01 10:00:00+00", "\"2024-01-01 10:00:00\"", true},
    {P2D_VR_TIMESTAMPTZ, 6, "2024-01-01 10:00:00+02", "\"2024-01-01 10:00:00\"", false},
    {P2D_VR_TIMESTAMPTZ, 6, "2024-01-01 10:00:00+02", "\"2024-01-01 08:00:00\"", false},
    {P2D_VR_TIMESTAMPTZ, 6, "infinity", "\"9999-12-31 23:59:59.999999\"", true},
    {P2D_VR_TIMESTAMPTZ, 6, "0001-01-01 00:00:00+00 BC", "\"0000-01-01 00:00:00\"", true},
    /* text: byte-exact */
    {P2D_VR_TEXT, 0, "a\tb\nc\\N\"'", "\"a\\tb\\nc\\\\N\\\"'\"", true},
    {P2D_VR_TEXT, 0, "Grüße 日本 🎉", "\"Grüße 日本 🎉\"", true},
    {P2D_VR_TEXT, 0, "abc ", "\"abc\"", false},
    {P2D_VR_TEXT, 0, "abc", "\"ABC\"", false},
    {P2D_VR_TEXT, 0, "\\N", "null", false},
    {P2D_VR_TEXT, 0, "12", "12", false}, /* a text column answers strings */
    /* JSON: semantic */
    {P2D_VR_JSON, 0, "{\"a\": 1, \"b\": [1, 2]}", "\"{\\\"b\\\":[1,2],\\\"a\\\":1}\"", true},
    {P2D_VR_JSON, 0, "{\"a\": 1}", "\"{\\\"a\\\":2}\"", false},
    {P2D_VR_JSON, 0, "{\"a\": 1.0}", "\"{\\\"a\\\":1}\"", true},
    {P2D_VR_JSON, 0, "[1, 2]", "\"[2,1]\"", false},
    /* integers beyond int64 are valid JSON (jansson refuses them by default) */
    {P2D_VR_JSON, 0, "[1e308, -1e-308, 12345678901234567890]",
     "\"[1e308,-1e-308,12345678901234567890]\"", true},
    {P2D_VR_JSON, 0, "[12345678901234567890]", "\"[22345678901234567890]\"", false},
    {P2D_VR_JSON, 0, "{\"a\": 1}", "{\"a\": 1}", true}, /* an embedded document */
    {P2D_VR_JSON, 0, "\"s\"", "\"s\"", true},           /* a top-level string */
    {P2D_VR_JSON, 0, "null", "null", true},
    {P2D_VR_JSON, 0, "", "\"\"", false},
};

struct cmp_case {
    enum p2d_value_rule rule;
    unsigned scale;
    const char *pg;
    const char *doris;
    int cmp; /* sign; 9 = P2D_EINVAL */
};

static const struct cmp_case cmp_cases[] = {
    {P2D_VR_INT, 0, "9", "10", -1},
    {P2D_VR_INT, 0, "10", "9", 1},
    {P2D_VR_INT, 0, "-10", "-9", -1},
    {P2D_VR_INT, 0, "-1", "0", -1},
    {P2D_VR_INT, 0, "0", "-1", 1},
    {P2D_VR_INT, 0, "5", "5", 0},
    {P2D_VR_DECIMAL, 0, "1.10", "1.1", 0},
    {P2D_VR_DECIMAL, 0, "1.09", "1.1", -1},
    {P2D_VR_DECIMAL, 0, "1.2", "1.11", 1},
    {P2D_VR_DECIMAL, 0, "0.05", "0.5", -1},
    {P2D_VR_DECIMAL, 0, "-0.05", "-0.5", 1},
    {P2D_VR_DECIMAL, 0, "100", "99.999", 1},
    {P2D_VR_TEXT, 0, "k1", "\"k10\"", -1},
    {P2D_VR_TEXT, 0, "k2", "\"k10\"", 1},
    {P2D_VR_TEXT, 0, "a", "\"a\"", 0},
    {P2D_VR_TEXT, 0, "B", "\"a\"", -1}, /* bytes, not a locale */
    {P2D_VR_TEXT, 0, "é", "\"z\"", 1},
    {P2D_VR_DATE, 0, "2024-01-02", "\"2024-01-10\"", -1},
    {P2D_VR_TIMESTAMP, 6, "2024-01-01 10:00:00.05", "\"2024-01-01 10:00:00.500000\"", -1},
    {P2D_VR_TIMESTAMP, 6, "2024-01-01 10:00:00", "\"2024-01-01 10:00:00.000001\"", -1},
    {P2D_VR_TIMESTAMP, 6, "2024-01-01 10:00:00.5", "\"2024-01-01 10:00:00.500000\"", 0},
    {P2D_VR_TIMESTAMPTZ, 6, "2024-01-01 10:00:01+00", "\"2024-01-01 10:00:00.999999\"", 1},
    {P2D_VR_BOOL, 0, "f", "true", -1},
    {P2D_VR_JSON, 0, "1", "1", 9},
    {P2D_VR_INT, 0, "x", "1", 9},
    {P2D_VR_DATE, 0, "2024-01-01", "5", 9},
};

struct bound_case {
    size_t n;
    const char *lit[3]; /* NULL = SQL NULL */
    bool upper, strict;
    const char *want;
};

static const char *const bound_expr[3] = {"`a`", "`b`", "`c`"};

static const struct bound_case bound_cases[] = {
    {0, {NULL}, false, false, "1 = 1"},
    {1, {"1"}, false, false, "`a` >= 1"},
    {1, {"1"}, false, true, "`a` > 1"},
    {1, {"1"}, true, false, "(`a` IS NULL OR `a` <= 1)"},
    /* NULL sorts first: everything is >= NULL, only NULL is <= NULL */
    {1, {NULL}, false, false, "1 = 1"},
    {1, {NULL}, false, true, "`a` IS NOT NULL"},
    {1, {NULL}, true, false, "`a` IS NULL"},
    {2, {"1", "'x'"}, false, true, "(`a` > 1 OR (`a` = 1 AND `b` > 'x'))"},
    {2,
     {"1", "'x'"},
     true,
     false,
     "((`a` IS NULL OR `a` < 1) OR (`a` = 1 AND (`b` IS NULL OR `b` <= 'x')))"},
    {2, {NULL, "'x'"}, false, false, "(`a` IS NOT NULL OR (`a` IS NULL AND `b` >= 'x'))"},
    {2, {NULL, "'x'"}, true, false, "(1 = 0 OR (`a` IS NULL AND (`b` IS NULL OR `b` <= 'x')))"},
    {3,
     {"1", NULL, "2"},
     false,
     true,
     "(`a` > 1 OR (`a` = 1 AND (`b` IS NOT NULL OR (`b` IS NULL AND `c` > 2))))"},
};

int main(void)
{
    for (size_t i = 0; i < sizeof(eq_cases) / sizeof(eq_cases[0]); i++) {
        const struct eq_case *c = &eq_cases[i];
        json_error_t jerr;
        json_t *v = json_loads(c->doris, JSON_DECODE_ANY, &jerr);
        bool got;

        if (!v) {
            t_fail_at(__FILE__, __LINE__, "case %zu: bad JSON %s: %s", i, c->doris, jerr.text);
            continue;
        }
        got = p2d_verify_value_equal(c->rule, c->scale, c->pg, v);
        if (got != c->equal)
            t_fail_at(__FILE__, __LINE__, "case %zu: rule %s, pg %s%s%s, doris %s: got %s, want %s",
                      i, p2d_typemap_rule_name(c->rule), c->pg ? "\"" : "", c->pg ? c->pg : "NULL",
                      c->pg ? "\"" : "", c->doris, got ? "equal" : "different",
                      c->equal ? "equal" : "different");
        else
            t_passed++;
        json_decref(v);
    }
    /* a missing answer value (NULL pointer) is NULL */
    T_CHECK(p2d_verify_value_equal(P2D_VR_TEXT, 0, NULL, NULL));
    T_CHECK(!p2d_verify_value_equal(P2D_VR_TEXT, 0, "x", NULL));

    for (size_t i = 0; i < sizeof(cmp_cases) / sizeof(cmp_cases[0]); i++) {
        const struct cmp_case *c = &cmp_cases[i];
        json_t *v = json_loads(c->doris, JSON_DECODE_ANY, NULL);
        int cmp = 0, rc, got;

        T_CHECK(v != NULL);
        rc = p2d_verify_key_cmp(c->rule, c->scale, c->pg, v, &cmp);
        got = rc != 0 ? 9 : cmp < 0 ? -1 : cmp > 0 ? 1 : 0;
        if (rc != 0 && rc != P2D_EINVAL)
            got = 100 + rc;
        if (got != c->cmp)
            t_fail_at(__FILE__, __LINE__,
                      "cmp case %zu: rule %s, pg \"%s\", doris %s: got %d, "
                      "want %d",
                      i, p2d_typemap_rule_name(c->rule), c->pg, c->doris, got, c->cmp);
        else
            t_passed++;
        json_decref(v);
    }

    for (size_t i = 0; i < sizeof(bound_cases) / sizeof(bound_cases[0]); i++) {
        const struct bound_case *c = &bound_cases[i];
        struct p2d_buf b;

        p2d_buf_init(&b, 4096);
        T_EQ_INT(p2d_verify_order_bound(&b, c->n, bound_expr, c->lit, c->upper, c->strict), 0);
        T_EQ_STR(b.data ? (const char *)b.data : "", c->want);
        p2d_buf_fini(&b);
    }
    {
        struct p2d_buf b; /* a buffer cap is reported, not overrun */
        const char *lit[1] = {"'a long literal'"};

        p2d_buf_init(&b, 8);
        T_CHECK(p2d_verify_order_bound(&b, 1, bound_expr, lit, false, false) == P2D_EFULL);
        p2d_buf_fini(&b);
    }
    return t_done();
}
