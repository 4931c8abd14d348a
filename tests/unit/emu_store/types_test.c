/*
 * types_test.c - doris-emu types.c: type names, key bans, time zones, and
 * the conversion of every kind, table-driven, including limits, canonical
 * forms and rejections.
 */
#include "emu.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct conv_case {
    const char *type;
    const char *in;
    enum emu_conv want;
    const char *out; /* canonical text / number as text; NULL when not OK */
};

/* Renders a converted value as text for comparison. */
static void render(const struct emu_value *v, char *buf, size_t len)
{
    switch (v->kind) {
    case EMU_V_NULL:
        snprintf(buf, len, "NULL");
        break;
    case EMU_V_INT:
        snprintf(buf, len, "%lld", (long long)v->i);
        break;
    case EMU_V_REAL:
        snprintf(buf, len, "%.9g", v->r);
        break;
    case EMU_V_TEXT:
        snprintf(buf, len, "%.*s", (int)v->n, v->s);
        break;
    }
}

static const struct conv_case cases[] = {
    /* BOOLEAN */
    {"BOOLEAN", "true", EMU_CONV_OK, "1"},
    {"BOOLEAN", "FALSE", EMU_CONV_OK, "0"},
    {"BOOLEAN", "1", EMU_CONV_OK, "1"},
    {"BOOLEAN", " 0 ", EMU_CONV_OK, "0"},
    {"BOOLEAN", "yes", EMU_CONV_BAD, NULL},
    {"BOOLEAN", "2", EMU_CONV_BAD, NULL},
    /* integers */
    {"TINYINT", "127", EMU_CONV_OK, "127"},
    {"TINYINT", "-128", EMU_CONV_OK, "-128"},
    {"TINYINT", "128", EMU_CONV_OVERFLOW, NULL},
    {"TINYINT", "-129", EMU_CONV_OVERFLOW, NULL},
    {"SMALLINT", "32767", EMU_CONV_OK, "32767"},
    {"SMALLINT", "-32769", EMU_CONV_OVERFLOW, NULL},
    {"INT", "+42", EMU_CONV_OK, "42"},
    {"INT", " 7 ", EMU_CONV_OK, "7"},
    {"INT", "2147483647", EMU_CONV_OK, "2147483647"},
    {"INT", "-2147483648", EMU_CONV_OK, "-2147483648"},
    {"INT", "2147483648", EMU_CONV_OVERFLOW, NULL},
    {"INT", "1.5", EMU_CONV_BAD, NULL},
    {"INT", "", EMU_CONV_BAD, NULL},
    {"INT", "-", EMU_CONV_BAD, NULL},
    {"INT", "12a", EMU_CONV_BAD, NULL},
    {"BIGINT", "9223372036854775807", EMU_CONV_OK, "9223372036854775807"},
    {"BIGINT", "-9223372036854775808", EMU_CONV_OK, "-9223372036854775808"},
    {"BIGINT", "9223372036854775808", EMU_CONV_OVERFLOW, NULL},
    {"BIGINT", "99999999999999999999999", EMU_CONV_OVERFLOW, NULL},
    {"BIGINT", "99999999999999999999999x", EMU_CONV_BAD, NULL},
    /* LARGEINT */
    {"LARGEINT", "170141183460469231731687303715884105727", EMU_CONV_OK,
     "170141183460469231731687303715884105727"},
    {"LARGEINT", "-170141183460469231731687303715884105728", EMU_CONV_OK,
     "-170141183460469231731687303715884105728"},
    {"LARGEINT", "170141183460469231731687303715884105728", EMU_CONV_OVERFLOW, NULL},
    {"LARGEINT", "+007", EMU_CONV_OK, "7"},
    {"LARGEINT", "-0", EMU_CONV_OK, "0"},
    {"LARGEINT", "1e5", EMU_CONV_BAD, NULL},
    /* DECIMAL */
    {"DECIMAL(10,2)", "123.456", EMU_CONV_OK, "123.46"},
    {"DECIMAL(10,2)", "123.454", EMU_CONV_OK, "123.45"},
    {"DECIMAL(10,2)", "-123.455", EMU_CONV_OK, "-123.46"},
    {"DECIMAL(10,2)", "5", EMU_CONV_OK, "5.00"},
    {"DECIMAL(10,2)", ".5", EMU_CONV_OK, "0.50"},
    {"DECIMAL(10,2)", "5.", EMU_CONV_OK, "5.00"},
    {"DECIMAL(10,2)", "-0.001", EMU_CONV_OK, "0.00"},
    {"DECIMAL(10,2)", "00012.30", EMU_CONV_OK, "12.30"},
    {"DECIMAL(10,2)", "1.5e2", EMU_CONV_OK, "150.00"},
    {"DECIMAL(10,2)", "1234E-3", EMU_CONV_OK, "1.23"},
    {"DECIMAL(10,2)", "99999999.99", EMU_CONV_OK, "99999999.99"},
    {"DECIMAL(10,2)", "99999999.995", EMU_CONV_OVERFLOW, NULL},
    {"DECIMAL(10,2)", "100000000", EMU_CONV_OVERFLOW, NULL},
    {"DECIMAL(10,2)", "1e9", EMU_CONV_OVERFLOW, NULL},
    {"DECIMAL(10,2)", "abc", EMU_CONV_BAD, NULL},
    {"DECIMAL(10,2)", "1.2.3", EMU_CONV_BAD, NULL},
    {"DECIMAL(10,2)", "e5", EMU_CONV_BAD, NULL},
    {"DECIMAL(5,0)", "99999.5", EMU_CONV_OVERFLOW, NULL},
    {"DECIMAL(5,0)", "12345.4", EMU_CONV_OK, "12345"},
    {"DECIMAL(5,0)", "1234.5", EMU_CONV_OK, "1235"},
    {"DECIMAL(3,3)", "0.9994", EMU_CONV_OK, "0.999"},
    {"DECIMAL(3,3)", "0.9995", EMU_CONV_OVERFLOW, NULL},
    {"DECIMAL(38,0)", "99999999999999999999999999999999999999", EMU_CONV_OK,
     "99999999999999999999999999999999999999"},
    {"DECIMAL(38,0)", "999999999999999999999999999999999999999", EMU_CONV_OVERFLOW, NULL},
    {"DECIMAL", "1.0000000005", EMU_CONV_OK, "1.000000001"},
    /* FLOAT / DOUBLE */
    {"DOUBLE", "1.5", EMU_CONV_OK, "1.5"},
    {"DOUBLE", "-2e-3", EMU_CONV_OK, "-0.002"},
    {"DOUBLE", "NaN", EMU_CONV_OK, "NaN"},
    {"DOUBLE", "Infinity", EMU_CONV_OK, "inf"},
    {"DOUBLE", "-Infinity", EMU_CONV_OK, "-inf"},
    {"DOUBLE", "1e400", EMU_CONV_OVERFLOW, NULL},
    {"DOUBLE", "0x10", EMU_CONV_BAD, NULL},
    {"DOUBLE", "1.5x", EMU_CONV_BAD, NULL},
    {"FLOAT", "3.4e38", EMU_CONV_OK, "3.39999995e+38"},
    {"FLOAT", "3.5e38", EMU_CONV_OVERFLOW, NULL},
    {"FLOAT", "0.1", EMU_CONV_OK, "0.100000001"},
    /* DATE */
    {"DATE", "2024-02-29", EMU_CONV_OK, "2024-02-29"},
    {"DATE", "2023-02-29", EMU_CONV_BAD, NULL},
    {"DATE", "1900-02-29", EMU_CONV_BAD, NULL},
    {"DATE", "2000-02-29", EMU_CONV_OK, "2000-02-29"},
    {"DATE", "20240131", EMU_CONV_OK, "2024-01-31"},
    {"DATE", "2024-1-5", EMU_CONV_OK, "2024-01-05"},
    {"DATE", "2024/01/05", EMU_CONV_OK, "2024-01-05"},
    {"DATE", "2024-01-05 00:00:00", EMU_CONV_OK, "2024-01-05"},
    {"DATE", "2024-01-05 13:14:15", EMU_CONV_OK, "2024-01-05"},
    {"DATE", "0000-01-01", EMU_CONV_OK, "0000-01-01"},
    {"DATE", "9999-12-31", EMU_CONV_OK, "9999-12-31"},
    {"DATE", "2024-13-01", EMU_CONV_BAD, NULL},
    {"DATE", "2024-04-31", EMU_CONV_BAD, NULL},
    {"DATE", "hello", EMU_CONV_BAD, NULL},
    {"DATE", "10000-01-01", EMU_CONV_BAD, NULL},
    /* DATETIME */
    {"DATETIME", "2024-01-02 03:04:05", EMU_CONV_OK, "2024-01-02 03:04:05"},
    {"DATETIME", "2024-01-02T03:04:05", EMU_CONV_OK, "2024-01-02 03:04:05"},
    {"DATETIME", "2024-01-02", EMU_CONV_OK, "2024-01-02 00:00:00"},
    {"DATETIME", "20240102030405", EMU_CONV_OK, "2024-01-02 03:04:05"},
    {"DATETIME", "2024-01-02 03:04", EMU_CONV_OK, "2024-01-02 03:04:00"},
    {"DATETIME", "2024-01-02 03:04:05.6", EMU_CONV_OK, "2024-01-02 03:04:06"},
    {"DATETIME", "2024-01-02 03:04:05.4", EMU_CONV_OK, "2024-01-02 03:04:05"},
    {"DATETIME(3)", "2024-01-02 03:04:05.1234", EMU_CONV_OK, "2024-01-02 03:04:05.123"},
    {"DATETIME(3)", "2024-01-02 03:04:05.1235", EMU_CONV_OK, "2024-01-02 03:04:05.124"},
    {"DATETIME(3)", "2024-01-02 03:04:05", EMU_CONV_OK, "2024-01-02 03:04:05.000"},
    {"DATETIME(6)", "2024-01-02 03:04:05.123456", EMU_CONV_OK, "2024-01-02 03:04:05.123456"},
    {"DATETIME(6)", "2023-12-31 23:59:59.9999995", EMU_CONV_OK, "2024-01-01 00:00:00.000000"},
    {"DATETIME", "9999-12-31 23:59:59", EMU_CONV_OK, "9999-12-31 23:59:59"},
    {"DATETIME", "9999-12-31 23:59:59.7", EMU_CONV_OVERFLOW, NULL},
    {"DATETIME", "2024-01-02 24:00:00", EMU_CONV_BAD, NULL},
    {"DATETIME", "2024-01-02 03:60:00", EMU_CONV_BAD, NULL},
    {"DATETIME", "2024-01-02 03:04:05Z", EMU_CONV_OK, "2024-01-02 03:04:05"},
    {"DATETIME", "2024-01-02 08:04:05+08:00", EMU_CONV_OK, "2024-01-02 00:04:05"},
    {"DATETIME", "2024-01-01 02:00:00+0300", EMU_CONV_OK, "2023-12-31 23:00:00"},
    {"DATETIME", "2024-01-01 02:00:00-05", EMU_CONV_OK, "2024-01-01 07:00:00"},
    {"DATETIME", "2024-01-01 02:00:00+25:00", EMU_CONV_BAD, NULL},
    {"DATETIME", "2024-01-01 02:00:00 garbage", EMU_CONV_BAD, NULL},
    /* CHAR / VARCHAR / STRING */
    {"VARCHAR(5)", "hello", EMU_CONV_OK, "hello"},
    {"VARCHAR(5)", "hello!", EMU_CONV_OVERFLOW, NULL},
    {"VARCHAR(4)", "\xc3\xa9\xc3\xa9", EMU_CONV_OK, "\xc3\xa9\xc3\xa9"},
    {"VARCHAR(3)", "\xc3\xa9\xc3\xa9", EMU_CONV_OVERFLOW, NULL},
    {"CHAR(2)", "ab", EMU_CONV_OK, "ab"},
    {"CHAR(2)", "abc", EMU_CONV_OVERFLOW, NULL},
    {"STRING", "  spaces kept  ", EMU_CONV_OK, "  spaces kept  "},
    {"STRING", "", EMU_CONV_OK, ""},
    /* JSON */
    {"JSON", " { \"a\" : [1, 2.50, -3e2], \"b\":null } ", EMU_CONV_OK,
     "{\"a\":[1,2.50,-3e2],\"b\":null}"},
    {"JSON", "\"x y\"", EMU_CONV_OK, "\"x y\""},
    {"JSON", "12", EMU_CONV_OK, "12"},
    {"JSON", "{\"b\":1,\"a\":2}", EMU_CONV_OK, "{\"b\":1,\"a\":2}"},
    {"JSON", "{\"s\":\"a\\u00e9\\n\"}", EMU_CONV_OK, "{\"s\":\"a\\u00e9\\n\"}"},
    {"JSON", "{a:1}", EMU_CONV_BAD, NULL},
    {"JSON", "[1,]", EMU_CONV_BAD, NULL},
    {"JSON", "01", EMU_CONV_BAD, NULL},
    {"JSON", "{\"a\":1} x", EMU_CONV_BAD, NULL},
    {"JSON", "'a'", EMU_CONV_BAD, NULL},
    {"JSON", "\"\\x\"", EMU_CONV_BAD, NULL},
    {"JSON", "tru", EMU_CONV_BAD, NULL},
    {"JSON", "", EMU_CONV_BAD, NULL},
    /* ARRAY */
    {"ARRAY<INT>", "[1,2,3]", EMU_CONV_OK, "[1, 2, 3]"},
    {"ARRAY<INT>", "[ 1 , null , 3 ]", EMU_CONV_OK, "[1, null, 3]"},
    {"ARRAY<INT>", "[]", EMU_CONV_OK, "[]"},
    {"ARRAY<INT>", "[1,x]", EMU_CONV_BAD, NULL},
    {"ARRAY<TINYINT>", "[1,300]", EMU_CONV_OVERFLOW, NULL},
    {"ARRAY<VARCHAR(10)>", "[\"a\",\"b,c\"]", EMU_CONV_OK, "[\"a\", \"b,c\"]"},
    {"ARRAY<VARCHAR(10)>", "['a', 'it''s']", EMU_CONV_BAD, NULL},
    {"ARRAY<STRING>", "[\"q\\\"x\"]", EMU_CONV_OK, "[\"q\\\"x\"]"},
    {"ARRAY<ARRAY<INT>>", "[[1,2],[3]]", EMU_CONV_OK, "[[1, 2], [3]]"},
    {"ARRAY<DECIMAL(5,2)>", "[1.5, 2]", EMU_CONV_OK, "[1.50, 2.00]"},
    {"ARRAY<DATE>", "[\"2024-01-01\", 20240102]", EMU_CONV_OK, "[\"2024-01-01\", \"2024-01-02\"]"},
    {"ARRAY<INT>", "1,2", EMU_CONV_BAD, NULL},
    {"ARRAY<INT>", "[1,2", EMU_CONV_BAD, NULL},
    /* IPV4 / IPV6 */
    {"IPV4", "192.168.0.1", EMU_CONV_OK, "192.168.0.1"},
    {"IPV4", "010.0.0.1", EMU_CONV_OK, "10.0.0.1"},
    {"IPV4", "256.0.0.1", EMU_CONV_BAD, NULL},
    {"IPV4", "1.2.3", EMU_CONV_BAD, NULL},
    {"IPV4", "1.2.3.4.5", EMU_CONV_BAD, NULL},
    {"IPV6", "2001:0db8:0000:0000:0000:0000:0000:0001", EMU_CONV_OK, "2001:db8::1"},
    {"IPV6", "::1", EMU_CONV_OK, "::1"},
    {"IPV6", "1.2.3.4", EMU_CONV_OK, "::ffff:1.2.3.4"},
    {"IPV6", "2001:db8::g", EMU_CONV_BAD, NULL},
};

static void test_conversions(void)
{
    struct emu_buf scratch;

    emu_buf_init(&scratch);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct conv_case *c = &cases[i];
        struct emu_type t;
        struct emu_err err;
        struct emu_value v;
        char why[256], got[512];
        enum emu_conv r;

        if (emu_type_parse(c->type, &t, &err) != 0) {
            t_fail_at(__FILE__, __LINE__, "type %s did not parse: %s", c->type, err.msg);
            continue;
        }
        r = emu_value_convert(&t, c->in, strlen(c->in), NULL, &scratch, &v, why, sizeof(why));
        if ((int)r != (int)c->want) {
            t_fail_at(__FILE__, __LINE__, "%s <- '%s': got result %d (%s), want %d", c->type, c->in,
                      (int)r, why, (int)c->want);
        } else if (c->out) {
            render(&v, got, sizeof(got));
            if (strcmp(got, c->out) != 0)
                t_fail_at(__FILE__, __LINE__, "%s <- '%s': got '%s', want '%s'", c->type, c->in,
                          got, c->out);
            else
                t_passed++;
        } else {
            T_CHECK(why[0] != '\0');
        }
        emu_type_fini(&t);
    }
    emu_buf_fini(&scratch);
}

static void test_kinds_and_reasons(void)
{
    struct emu_buf sb;
    struct emu_type t;
    struct emu_err err;
    struct emu_value v;
    char why[128];

    emu_buf_init(&sb);
    T_EQ_INT(emu_type_parse("VARCHAR(3)", &t, &err), 0);
    T_EQ_INT(emu_value_convert(&t, "abcd", 4, NULL, &sb, &v, why, sizeof(why)), EMU_CONV_OVERFLOW);
    T_EQ_STR(why, "the length of input is too long than schema");
    /* zero-copy for strings: points into the input */
    {
        const char *in = "abc";

        T_EQ_INT(emu_value_convert(&t, in, 3, NULL, &sb, &v, why, sizeof(why)), EMU_CONV_OK);
        T_CHECK(v.s == in);
        T_EQ_INT(v.kind, EMU_V_TEXT);
    }
    emu_type_fini(&t);
    T_EQ_INT(emu_type_parse("DOUBLE", &t, &err), 0);
    emu_value_convert(&t, "nan", 3, NULL, &sb, &v, why, sizeof(why));
    T_EQ_INT(v.kind, EMU_V_TEXT);
    emu_value_convert(&t, "2.5", 3, NULL, &sb, &v, why, sizeof(why));
    T_EQ_INT(v.kind, EMU_V_REAL);
    emu_type_fini(&t);
    /* STRING limit is settable */
    T_EQ_INT(emu_type_parse("STRING", &t, &err), 0);
    emu_types_set_string_limit(4);
    T_EQ_INT(emu_value_convert(&t, "abcde", 5, NULL, &sb, &v, why, sizeof(why)), EMU_CONV_OVERFLOW);
    emu_types_set_string_limit(1048576);
    T_EQ_INT(emu_value_convert(&t, "abcde", 5, NULL, &sb, &v, why, sizeof(why)), EMU_CONV_OK);
    emu_type_fini(&t);
    /* input without a terminating NUL is respected */
    T_EQ_INT(emu_type_parse("INT", &t, &err), 0);
    T_EQ_INT(emu_value_convert(&t, "12345", 2, NULL, &sb, &v, why, sizeof(why)), EMU_CONV_OK);
    T_EQ_INT(v.i, 12);
    emu_type_fini(&t);
    emu_buf_fini(&sb);
}

/*
 * emu_fast_convert: a fast path must give exactly what emu_value_convert
 * gives (kind, number, the input text itself); everything else must be
 * left to it. fast says whether the input is canonical enough to take the
 * fast path when 16 bytes are readable at it.
 */
struct fast_case {
    const char *type;
    const char *in;
    bool fast;
};

static const struct fast_case fast_cases[] = {
    /* integers */
    {"INT", "0", true},
    {"INT", "7", true},
    {"INT", "75414", true},
    {"INT", "-5", true},
    {"INT", "-0", true},
    {"INT", "12345678", true},
    {"INT", "123456789", true},
    {"INT", "-123456789", true},
    {"INT", "007", true},
    {"INT", "2147483647", false},
    {"INT", "2147483648", false},
    {"INT", "-2147483648", false},
    {"INT", "+5", false},
    {"INT", " 5", false},
    {"INT", "5 ", false},
    {"INT", "", false},
    {"INT", "-", false},
    {"INT", "--5", false},
    {"INT", "-+5", false},
    {"INT", "1a", false},
    {"INT", "a1", false},
    {"INT", "1234567a", false},
    {"INT", "1234:567", false},
    {"INT", "1/", false},
    {"INT", "12.5", false},
    {"INT", "1e3", false},
    {"INT", "\\N", false},
    {"INT", "\xb5", false},
    {"TINYINT", "99", true},
    {"TINYINT", "-99", true},
    {"TINYINT", "127", false},
    {"TINYINT", "128", false},
    {"TINYINT", "-128", false},
    {"TINYINT", "-129", false},
    {"SMALLINT", "9999", true},
    {"SMALLINT", "32767", false},
    {"SMALLINT", "32768", false},
    {"BIGINT", "123456789012345678", true},
    {"BIGINT", "-123456789012345678", true},
    {"BIGINT", "999999999999999999", true},
    {"BIGINT", "000000000000000001", true},
    {"BIGINT", "12345678901234567x", false},
    {"BIGINT", "9223372036854775807", false},
    {"BIGINT", "-9223372036854775808", false},
    {"BIGINT", "9223372036854775808", false},
    {"BIGINT", "99999999999999999999999", false},
    {"BIGINT", "00000000000000000000000000000001", false},
    /* decimals */
    {"DECIMAL(15,2)", "69822.91", true},
    {"DECIMAL(15,2)", "14.00", true},
    {"DECIMAL(15,2)", "0.09", true},
    {"DECIMAL(15,2)", "0.00", true},
    {"DECIMAL(15,2)", "-1.50", true},
    {"DECIMAL(15,2)", "1234567890123.45", true},
    {"DECIMAL(15,2)", "-1234567890123.45", true},
    {"DECIMAL(15,2)", "12345678901234.56", false},
    {"DECIMAL(15,2)", "-0.00", false},
    {"DECIMAL(15,2)", "-0.50", false},
    {"DECIMAL(15,2)", "00.50", false},
    {"DECIMAL(15,2)", "007.50", false},
    {"DECIMAL(15,2)", "+1.50", false},
    {"DECIMAL(15,2)", " 1.50", false},
    {"DECIMAL(15,2)", "1.50 ", false},
    {"DECIMAL(15,2)", "1.5", false},
    {"DECIMAL(15,2)", "1.505", false},
    {"DECIMAL(15,2)", "1.555", false},
    {"DECIMAL(15,2)", "1", false},
    {"DECIMAL(15,2)", "1.", false},
    {"DECIMAL(15,2)", ".50", false},
    {"DECIMAL(15,2)", "-.50", false},
    {"DECIMAL(15,2)", "1,50", false},
    {"DECIMAL(15,2)", "1.5x", false},
    {"DECIMAL(15,2)", "1x.50", false},
    {"DECIMAL(15,2)", "1e2.00", false},
    {"DECIMAL(15,2)", "1.2e", false},
    {"DECIMAL(15,2)", "1..50", false},
    {"DECIMAL(15,2)", "1.5.0", false},
    {"DECIMAL(15,2)", "-", false},
    {"DECIMAL(15,2)", "", false},
    {"DECIMAL(5,0)", "12345", true},
    {"DECIMAL(5,0)", "-12345", true},
    {"DECIMAL(5,0)", "0", true},
    {"DECIMAL(5,0)", "-0", false},
    {"DECIMAL(5,0)", "00", false},
    {"DECIMAL(5,0)", "123456", false},
    {"DECIMAL(5,0)", "123.", false},
    {"DECIMAL(5,0)", "123.0", false},
    {"DECIMAL(3,3)", "0.999", true},
    {"DECIMAL(3,3)", "-0.999", false},
    {"DECIMAL(3,3)", "1.000", false},
    {"DECIMAL(3,3)", "0.9995", false},
    {"DECIMAL(1,0)", "9", true},
    {"DECIMAL(1,0)", "10", false},
    {"DECIMAL(38,10)", "123456789012345678901.0123456789", true},
    {"DECIMAL(38,10)", "1234567890123456789012.0123456789", false},       /* 33 bytes */
    {"DECIMAL(38,10)", "1234567890123456789012345678.0123456789", false}, /* > 32 bytes */
    {"DECIMAL(38,10)", "12345678901234567890123456789.0123456789", false},
    /* dates */
    {"DATE", "1997-05-22", true},
    {"DATE", "2024-02-29", true},
    {"DATE", "2000-02-29", true},
    {"DATE", "0000-02-29", true},
    {"DATE", "0000-01-01", true},
    {"DATE", "9999-12-31", true},
    {"DATE", "2024-01-31", true},
    {"DATE", "2024-03-31", true},
    {"DATE", "2024-07-31", true},
    {"DATE", "2024-08-31", true},
    {"DATE", "2024-10-31", true},
    {"DATE", "2024-12-31", true},
    {"DATE", "2024-04-30", true},
    {"DATE", "2024-11-30", true},
    {"DATE", "2023-02-28", true},
    {"DATE", "2023-02-29", false},
    {"DATE", "1900-02-29", false},
    {"DATE", "2100-02-29", false},
    {"DATE", "2024-02-30", false},
    {"DATE", "2024-04-31", false},
    {"DATE", "2024-06-31", false},
    {"DATE", "2024-09-31", false},
    {"DATE", "2024-11-31", false},
    {"DATE", "2024-13-01", false},
    {"DATE", "2024-00-10", false},
    {"DATE", "2024-01-00", false},
    {"DATE", "2024-01-32", false},
    {"DATE", "2024/01/05", false},
    {"DATE", "2024-1-05", false},
    {"DATE", "2024-01-5 ", false},
    {"DATE", " 2024-01-05", false},
    {"DATE", "2024-01-05 ", false},
    {"DATE", "2024-0a-05", false},
    {"DATE", "2024-01-0:", false},
    {"DATE", "2024-01-05 00:00:00", false},
    {"DATE", "20240105", false},
    {"DATE", "2024+01-05", false},
    {"DATE", "hello-worl", false},
    {"DATE", "10000-01-01", false},
    /* date-times */
    {"DATETIME", "2024-01-02 03:04:05", true},
    {"DATETIME", "0000-01-01 00:00:00", true},
    {"DATETIME", "9999-12-31 23:59:59", true},
    {"DATETIME", "2024-02-29 23:59:59", true},
    {"DATETIME", "2023-02-29 00:00:00", false},
    {"DATETIME", "2024-01-02 24:00:00", false},
    {"DATETIME", "2024-01-02 03:60:00", false},
    {"DATETIME", "2024-01-02 03:04:60", false},
    {"DATETIME", "2024-01-02T03:04:05", false},
    {"DATETIME", "2024-01-02 03:04:05.5", false},
    {"DATETIME", "2024-01-02 03:04", false},
    {"DATETIME", "2024-01-02", false},
    {"DATETIME", "2024-01-02 03:04:05Z", false},
    {"DATETIME", "2024-01-02 3:04:05", false},
    {"DATETIME(3)", "2024-01-02 03:04:05.123", true},
    {"DATETIME(3)", "2024-01-02 03:04:05.1234", false},
    {"DATETIME(3)", "2024-01-02 03:04:05.12", false},
    {"DATETIME(3)", "2024-01-02 03:04:05", false},
    {"DATETIME(3)", "2024-01-02 03:04:05,123", false},
    {"DATETIME(6)", "2024-01-02 03:04:05.123456", true},
    {"DATETIME(6)", "2024-01-02 03:04:05.12345a", false},
    {"DATETIME(6)", "2024-01-02 03:04:05+123456", false},
    /* strings */
    {"CHAR(1)", "A", true},
    {"CHAR(1)", "AB", false},
    {"VARCHAR(10)", "", true},
    {"VARCHAR(10)", " spaces  ", true},
    {"VARCHAR(10)", "0123456789", true},
    {"VARCHAR(10)", "0123456789x", false},
    {"VARCHAR(4)", "\xc3\xa9\xc3\xa9", true},
    {"STRING", "x", true},
    {"STRING", "", true},
    /* kinds without a fast path */
    {"DOUBLE", "1.5", false},
    {"LARGEINT", "1", false},
    {"BOOLEAN", "1", false},
    {"JSON", "1", false},
    {"ARRAY<INT>", "[1]", false},
};

/*
 * Runs one input through emu_fast_convert and emu_value_convert and checks
 * they agree. The input is copied to the start of a buffer of exactly
 * avail bytes (the rest filled from tail, cycled), so that ASan catches a
 * read beyond avail. Returns whether the fast path took it, or -1 on a
 * mismatch (reported).
 */
static int fast_vs_general(const struct emu_type *t, const char *type, const char *in, size_t n,
                           size_t avail, const char *tail)
{
    struct emu_fast f;
    struct emu_buf sb;
    struct emu_value va, vb;
    char why[256], ga[512], gb[512];
    enum emu_conv ra;
    char *buf = malloc(avail ? avail : 1);
    bool fast;
    int ret;

    memcpy(buf, in, n);
    for (size_t i = n, k = 0; i < avail; i++, k++)
        buf[i] = tail[k % strlen(tail)];
    emu_fast_plan(&f, t);
    memset(&vb, 0xA5, sizeof(vb));
    fast = emu_fast_convert(&f, buf, n, avail, &vb);
    emu_buf_init(&sb);
    ra = emu_value_convert(t, buf, n, NULL, &sb, &va, why, sizeof(why));
    ret = fast;
    if (fast) {
        render(&va, ga, sizeof(ga));
        render(&vb, gb, sizeof(gb));
        if (ra != EMU_CONV_OK || va.kind != vb.kind || strcmp(ga, gb) != 0 ||
            (va.kind == EMU_V_TEXT && (va.s != vb.s || va.n != vb.n)) ||
            (va.kind == EMU_V_INT && (va.i != vb.i || vb.s != NULL || vb.n != 0))) {
            t_fail_at(__FILE__, __LINE__,
                      "%s <- '%.*s' (avail %zu): general %d '%s' (%s), fast '%s'%s", type, (int)n,
                      in, avail, (int)ra, ra == EMU_CONV_OK ? ga : "", why, gb,
                      va.kind == EMU_V_TEXT && va.s != vb.s ? " (not in place)" : "");
            ret = -1;
        }
    }
    emu_buf_fini(&sb);
    free(buf);
    return ret;
}

static void test_fast_cases(void)
{
    for (size_t i = 0; i < sizeof(fast_cases) / sizeof(fast_cases[0]); i++) {
        const struct fast_case *c = &fast_cases[i];
        struct emu_type t;
        struct emu_err err;
        size_t n = strlen(c->in);
        int wide, tight;

        if (emu_type_parse(c->type, &t, &err) != 0) {
            t_fail_at(__FILE__, __LINE__, "type %s did not parse: %s", c->type, err.msg);
            continue;
        }
        /* bytes behind the field must not matter: digits, a separator */
        wide = fast_vs_general(&t, c->type, c->in, n, n + 16, "0123456789");
        if (wide >= 0 && fast_vs_general(&t, c->type, c->in, n, n + 16, "\t") != wide)
            t_fail_at(__FILE__, __LINE__, "%s <- '%s': the bytes behind it matter", c->type, c->in);
        /* only the field readable: short ones go to the general path */
        tight = fast_vs_general(&t, c->type, c->in, n, n, "");
        if (wide >= 0 && (wide == 1) != c->fast)
            t_fail_at(__FILE__, __LINE__, "%s <- '%s': fast path %s", c->type, c->in,
                      c->fast ? "not taken" : "taken");
        else if (tight >= 0 && tight && !wide)
            t_fail_at(__FILE__, __LINE__, "%s <- '%s': taken only when tight", c->type, c->in);
        else if (wide >= 0 && tight >= 0)
            t_passed++;
        emu_type_fini(&t);
    }
}

/* ---- randomized: fast path against the general path ------------------------- */

static uint64_t rnd_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    uint64_t z = (rnd_state += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static unsigned rndn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static void put_digits(char *o, size_t *len, size_t count)
{
    for (size_t i = 0; i < count; i++)
        o[(*len)++] = (char)('0' + rndn(10));
}

static void put_num(char *o, size_t *len, unsigned v, int width)
{
    *len += (size_t)sprintf(o + *len, "%0*u", width, v);
}

/*
 * A random text for a column of type t: mostly canonical or nearly so
 * (values at the type's limits, leading zeros, signs, invalid days), then
 * randomly damaged (a byte replaced, inserted or dropped). At most 47 bytes.
 */
static size_t gen_value(const struct emu_type *t, char *o)
{
    static const char noise[] = "0123456789-+.: T/eE\\N\tx \x80\xff";
    size_t len = 0;
    unsigned r = rndn(100);

    switch (t->kind) {
    case EMU_TINYINT:
    case EMU_SMALLINT:
    case EMU_INT:
    case EMU_BIGINT: {
        static const char *const edge[] = {"127",
                                           "128",
                                           "-128",
                                           "-129",
                                           "99",
                                           "-99",
                                           "100",
                                           "32767",
                                           "32768",
                                           "-32768",
                                           "-32769",
                                           "9999",
                                           "10000",
                                           "2147483647",
                                           "2147483648",
                                           "-2147483648",
                                           "-2147483649",
                                           "999999999",
                                           "1000000000",
                                           "9223372036854775807",
                                           "9223372036854775808",
                                           "-9223372036854775808",
                                           "-9223372036854775809",
                                           "999999999999999999",
                                           "-999999999999999999",
                                           "1000000000000000000",
                                           "0",
                                           "-0"};

        if (r < 20) {
            len = (size_t)sprintf(o, "%s", edge[rndn(sizeof(edge) / sizeof(edge[0]))]);
            break;
        }
        if (rndn(3) == 0)
            o[len++] = rndn(4) ? '-' : '+';
        if (rndn(6) == 0)
            o[len++] = '0';
        /* mostly as many digits as always fit, sometimes more */
        put_digits(o, &len,
                   rndn(4) ? 1 + rndn(t->kind == EMU_TINYINT    ? 2
                                      : t->kind == EMU_SMALLINT ? 4
                                      : t->kind == EMU_INT      ? 9
                                                                : 18)
                           : rndn(22));
        break;
    }
    case EMU_DECIMAL: {
        int intd = t->precision - t->scale;

        if (rndn(4) == 0)
            o[len++] = rndn(3) ? '-' : '+';
        if (rndn(6) == 0)
            o[len++] = '0';
        if (intd == 0 || rndn(5) == 0)
            o[len++] = '0';
        else
            put_digits(o, &len, rndn(4) ? 1 + rndn((unsigned)intd) : rndn((unsigned)intd + 3));
        if (t->scale > 0 ? rndn(8) != 0 : rndn(8) == 0) {
            o[len++] = '.';
            put_digits(o, &len, rndn(4) ? (size_t)t->scale : rndn((unsigned)t->scale + 3));
        }
        if (rndn(20) == 0)
            len += (size_t)sprintf(o + len, "e%d", (int)rndn(7) - 3);
        break;
    }
    case EMU_DATE:
    case EMU_DATETIME: {
        unsigned y = rndn(4) ? 1900 + rndn(200) : rndn(10000), mo = rndn(15), d = rndn(34);

        if (rndn(3) == 0) {
            mo = 2;
            d = 28 + rndn(3);
            y = rndn(2) ? rndn(100) * 100 : rndn(2500) * 4;
        }
        put_num(o, &len, y, 4);
        o[len++] = rndn(20) ? '-' : '/';
        put_num(o, &len, mo, rndn(20) ? 2 : 1);
        o[len++] = rndn(20) ? '-' : '/';
        put_num(o, &len, d, rndn(20) ? 2 : 1);
        if (t->kind == EMU_DATETIME || rndn(10) == 0) {
            o[len++] = rndn(20) ? ' ' : 'T';
            put_num(o, &len, rndn(26), 2);
            o[len++] = ':';
            put_num(o, &len, rndn(62), 2);
            if (rndn(20)) {
                o[len++] = ':';
                put_num(o, &len, rndn(62), 2);
            }
            if (t->kind == EMU_DATETIME && (t->scale > 0 ? rndn(8) != 0 : rndn(8) == 0)) {
                o[len++] = '.';
                put_digits(o, &len, rndn(4) ? (size_t)t->scale : rndn(9));
            }
            if (rndn(30) == 0)
                len += (size_t)sprintf(o + len, "%s", rndn(2) ? "Z" : "+08:00");
        }
        break;
    }
    default: /* strings */
        len = rndn(t->kind == EMU_STRING ? 40 : (unsigned)t->length + 3);
        for (size_t i = 0; i < len; i++)
            o[i] = noise[rndn(sizeof(noise) - 1)];
        break;
    }
    /* damage */
    for (unsigned k = r < 55 ? 0 : 1 + rndn(2); k > 0 && len > 0; k--) {
        size_t at = rndn((unsigned)len);

        switch (rndn(3)) {
        case 0:
            o[at] = noise[rndn(sizeof(noise) - 1)];
            break;
        case 1:
            memmove(o + at + 1, o + at, len - at);
            o[at] = noise[rndn(sizeof(noise) - 1)];
            len++;
            break;
        default:
            memmove(o + at, o + at + 1, len - at - 1);
            len--;
            break;
        }
    }
    if (len > 47)
        len = 47;
    return len;
}

static void test_fast_random(void)
{
    static const char *const types[] = {
        "TINYINT",        "SMALLINT",     "INT",          "BIGINT",        "DECIMAL(15,2)",
        "DECIMAL(5,0)",   "DECIMAL(3,3)", "DECIMAL(1,0)", "DECIMAL(18,6)", "DECIMAL(27,9)",
        "DECIMAL(38,10)", "DATE",         "DATETIME",     "DATETIME(3)",   "DATETIME(6)",
        "CHAR(1)",        "VARCHAR(10)",  "STRING",
    };
    int rounds = 20000, bad = 0;

    if (getenv("P2D_FAST_ROUNDS"))
        rounds = atoi(getenv("P2D_FAST_ROUNDS"));
    for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
        struct emu_type t;
        struct emu_err err;
        int taken = 0;

        if (emu_type_parse(types[ti], &t, &err) != 0) {
            t_fail_at(__FILE__, __LINE__, "type %s did not parse", types[ti]);
            continue;
        }
        for (int i = 0; i < rounds && bad < 10; i++) {
            char v[64];
            size_t n = gen_value(&t, v);
            int wide = fast_vs_general(&t, types[ti], v, n, n + 16 + rndn(4), "0123456789\t.-");
            int some = fast_vs_general(&t, types[ti], v, n, n + rndn(20), "9\t");
            int tight = fast_vs_general(&t, types[ti], v, n, n, "");

            if (wide < 0 || some < 0 || tight < 0) {
                bad++;
            } else if ((some && !wide) || (tight && !wide)) {
                bad++;
                t_fail_at(__FILE__, __LINE__, "%s <- '%.*s': taken only when short", types[ti],
                          (int)n, v);
            } else if (tight && n < 16 && t.kind != EMU_CHAR && t.kind != EMU_VARCHAR &&
                       t.kind != EMU_STRING) {
                bad++;
                t_fail_at(__FILE__, __LINE__, "%s <- '%.*s': a short field taken tight", types[ti],
                          (int)n, v);
            }
            taken += wide > 0;
        }
        /* the generator must reach the fast paths, not only the general one */
        if (taken < rounds / 10)
            t_fail_at(__FILE__, __LINE__, "%s: only %d of %d random inputs took the fast path",
                      types[ti], taken, rounds);
        emu_type_fini(&t);
    }
    T_EQ_INT(bad, 0);
}

/* The SSE2 digit scan against its portable twin, on every byte value. */
static void test_nondigits(void)
{
    char b[16];
    int bad = 0;

    for (int v = 0; v < 256; v++) {
        for (int at = 0; at < 16; at++) {
            memset(b, '5', sizeof(b));
            b[at] = (char)v;
            if (emu_nondigits16(b) != emu_nondigits16_scalar(b))
                bad++;
            if ((emu_nondigits16_scalar(b) != 0) != (v < '0' || v > '9'))
                bad++;
        }
    }
    for (int i = 0; i < 100000; i++) {
        for (int k = 0; k < 16; k++)
            b[k] = (char)(rndn(3) ? '0' + rndn(10) : rndn(256));
        if (emu_nondigits16(b) != emu_nondigits16_scalar(b))
            bad++;
    }
    T_EQ_INT(bad, 0);
}

struct type_case {
    const char *in;
    const char *lower; /* NULL: parse error expected, err in lower-case of msg */
    const char *err;
};

static const struct type_case type_cases[] = {
    {"int", "int", NULL},
    {"INTEGER", "int", NULL},
    {"varchar(20)", "varchar(20)", NULL},
    {"VARCHAR", "varchar(65533)", NULL},
    {"DECIMAL", "decimal(38,9)", NULL},
    {"DECIMAL(10)", "decimal(10,0)", NULL},
    {"decimalv3(18, 2)", "decimal(18,2)", NULL},
    {"DATETIMEV2(6)", "datetime(6)", NULL},
    {"DATETIME", "datetime", NULL},
    {"DATEV2", "date", NULL},
    {"TEXT", "text", NULL},
    {"STRING", "text", NULL},
    {"JSONB", "json", NULL},
    {"ARRAY<INT>", "array<int>", NULL},
    {"array<array<varchar(3)>>", "array<array<varchar(3)>>", NULL},
    {"BOOL", "boolean", NULL},
    {"LARGEINT", "largeint", NULL},
    {"IPV6", "ipv6", NULL},
    {"DECIMAL(39,2)", NULL,
     "Precision of decimal must between 1 and 38. Precision was set to: 39."},
    {"DECIMAL(5,6)", NULL, "Scale of decimal must between 0 and precision. Scale was set to: 6."},
    {"VARCHAR(65534)", NULL, "Varchar size must between 1 and 65533. Size was set to: 65534."},
    {"CHAR(256)", NULL, "Char size must between 1 and 255. Size was set to: 256."},
    {"DATETIME(7)", NULL, "Scale of Datetime/Time must between 0 and 6. Scale was set to: 7."},
    {"FOO", NULL, "Unknown type 'FOO'"},
    {"INT(", NULL, "Unknown type 'INT('"},
    {"ARRAY<INT", NULL, "Unknown type 'ARRAY<INT'"},
};

static void test_type_names(void)
{
    for (size_t i = 0; i < sizeof(type_cases) / sizeof(type_cases[0]); i++) {
        const struct type_case *c = &type_cases[i];
        struct emu_type t, copy;
        struct emu_err err = {"", ""};
        int rc = emu_type_parse(c->in, &t, &err);

        if (c->lower) {
            struct emu_buf b, b2;

            T_EQ_INT(rc, 0);
            if (rc != 0)
                continue;
            emu_buf_init(&b);
            emu_buf_init(&b2);
            emu_type_format(&t, true, &b);
            T_EQ_STR(b.data, c->lower);
            /* upper form parses back to the same type */
            emu_type_format(&t, false, &b2);
            T_EQ_INT(emu_type_parse(b2.data, &copy, &err), 0);
            b.len = 0;
            emu_type_format(&copy, true, &b);
            T_EQ_STR(b.data, c->lower);
            emu_type_fini(&copy);
            T_EQ_INT(emu_type_copy(&copy, &t), 0);
            emu_type_fini(&copy);
            emu_type_fini(&t);
            emu_buf_fini(&b);
            emu_buf_fini(&b2);
        } else {
            T_EQ_INT(rc, -1);
            T_EQ_STR(err.msg, c->err);
        }
    }
}

static void test_key_bans(void)
{
    static const struct {
        const char *type;
        const char *ban;
    } bans[] = {
        {"INT", NULL},
        {"VARCHAR(10)", NULL},
        {"DATETIME", NULL},
        {"DECIMAL(10,2)", NULL},
        {"FLOAT", "Float or double can not used as a key, use decimal instead."},
        {"DOUBLE", "Float or double can not used as a key, use decimal instead."},
        {"STRING", "String Type should not be used in key column[%s]."},
        {"JSON", "JSONB type should not be used in key column[%s]."},
        {"ARRAY<INT>",
         "Array can only be used in the non-key column of the duplicate table at present."},
    };

    for (size_t i = 0; i < sizeof(bans) / sizeof(bans[0]); i++) {
        struct emu_type t;
        struct emu_err err;
        const char *got;

        T_EQ_INT(emu_type_parse(bans[i].type, &t, &err), 0);
        got = emu_type_key_ban(&t);
        if (bans[i].ban)
            T_EQ_STR(got, bans[i].ban);
        else
            T_CHECK(got == NULL);
        emu_type_fini(&t);
    }
}

static void conv_dt_tz(const char *tzname, const char *in, const char *want)
{
    struct emu_tz tz;
    struct emu_err err;
    struct emu_type t;
    struct emu_buf sb;
    struct emu_value v;
    char why[128];

    emu_buf_init(&sb);
    T_EQ_INT(emu_tz_parse(tzname, &tz, &err), 0);
    T_EQ_INT(emu_type_parse("DATETIME", &t, &err), 0);
    T_EQ_INT(emu_value_convert(&t, in, strlen(in), &tz, &sb, &v, why, sizeof(why)), EMU_CONV_OK);
    if (v.kind == EMU_V_TEXT)
        T_EQ_STR(sb.data + (v.s - sb.data), want);
    emu_buf_fini(&sb);
}

static void test_time_zones(void)
{
    struct emu_tz tz;
    struct emu_err err;

    T_EQ_INT(emu_tz_parse("UTC", &tz, &err), 0);
    T_EQ_INT(tz.named, 0);
    T_EQ_INT(emu_tz_parse("+08:00", &tz, &err), 0);
    T_EQ_INT(tz.offset_sec, 8 * 3600);
    T_EQ_INT(emu_tz_parse("-05:30", &tz, &err), 0);
    T_EQ_INT(tz.offset_sec, -(5 * 3600 + 30 * 60));
    T_EQ_INT(emu_tz_parse("Asia/Shanghai", &tz, &err), 0);
    T_EQ_INT(tz.named, 1);
    T_EQ_INT(emu_tz_parse("CST", &tz, &err), 0);
    T_EQ_STR(tz.name, "Asia/Shanghai");
    T_EQ_INT(emu_tz_parse("Mars/Olympus", &tz, &err), -1);
    T_HAS_STR(err.msg, "Mars/Olympus");
    T_EQ_INT(emu_tz_parse("../../etc/passwd", &tz, &err), -1);

    /* values without a zone are never shifted */
    conv_dt_tz("Asia/Shanghai", "2024-01-02 03:04:05", "2024-01-02 03:04:05");
    /* with a zone: converted into the load's zone */
    conv_dt_tz("+08:00", "2024-01-02 00:00:00Z", "2024-01-02 08:00:00");
    conv_dt_tz("Asia/Shanghai", "2024-01-02 00:00:00Z", "2024-01-02 08:00:00");
    conv_dt_tz("Asia/Shanghai", "2024-01-01 20:00:00-05:00", "2024-01-02 09:00:00");
    /* DST: New York is UTC-5 in January, UTC-4 in July */
    conv_dt_tz("America/New_York", "2024-01-15 12:00:00Z", "2024-01-15 07:00:00");
    conv_dt_tz("America/New_York", "2024-07-15 12:00:00Z", "2024-07-15 08:00:00");
    /* transition instant: 2024-03-10 07:00 UTC = 03:00 EDT */
    conv_dt_tz("America/New_York", "2024-03-10 06:59:59Z", "2024-03-10 01:59:59");
    conv_dt_tz("America/New_York", "2024-03-10 07:00:00Z", "2024-03-10 03:00:00");
    conv_dt_tz("-03:00", "2024-01-01 01:00:00+00:00", "2023-12-31 22:00:00");
}

static void test_json_minify(void)
{
    struct emu_buf b;

    emu_buf_init(&b);
    T_CHECK(
        emu_json_minify("[ 1 , { \"a b\" : true } ]", strlen("[ 1 , { \"a b\" : true } ]"), &b));
    T_EQ_STR(b.data, "[1,{\"a b\":true}]");
    b.len = 0;
    T_CHECK(!emu_json_minify("[1 2]", 5, &b));
    b.len = 0;
    T_CHECK(!emu_json_minify("\"a\tb\"", 5, &b)); /* raw control char */
    b.len = 0;
    T_CHECK(!emu_json_minify("-", 1, &b));
    b.len = 0;
    T_CHECK(!emu_json_minify("1.", 2, &b));
    emu_buf_fini(&b);
}

int main(void)
{
    test_conversions();
    test_kinds_and_reasons();
    test_fast_cases();
    test_fast_random();
    test_nondigits();
    test_type_names();
    test_key_bans();
    test_time_zones();
    test_json_minify();
    return t_done();
}
