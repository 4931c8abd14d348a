/*
 * types_http_test.c - every Doris type of §7.2 loaded over HTTP (FE 307
 * followed, strict_mode true): range edges, precision, calendars, byte
 * lengths, literals; loaded vs filtered counts and the stored values read
 * back with SQL over HTTP.
 */
#include "emu_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB "typesdb"

static int table_no;

static void check_rows(const char *sql, const char *want)
{
    char *rows = ec_rows(ec_fe_port, DB, sql);

    T_EQ_STR(rows, want);
    free(rows);
}

/* Creates (k INT, v <type>), loads body (tab-separated "k\tvalue" lines) with
 * strict_mode (or not), checks the counts and SELECT k, <expr> ORDER BY k. */
static void type_case_ex(const char *type, bool strict, const char *body, long long loaded,
                         long long filtered, const char *expr, const char *want)
{
    char sql[512], name[32];
    const char *h[] = {strict ? "strict_mode: true" : "strict_mode: false", "max_filter_ratio: 1",
                       NULL};
    struct t_resp r;
    int line = 0;

    for (const char *p = body; *p; p++)
        line += *p == '\n';
    snprintf(name, sizeof(name), "t%d", ++table_no);
    snprintf(sql, sizeof(sql),
             "CREATE TABLE %s (k INT NOT NULL, v %s NULL) DUPLICATE KEY(k) "
             "DISTRIBUTED BY HASH(k) BUCKETS 1",
             name, type);
    ec_sql_ok(DB, sql);
    ec_load_ex(DB, name, h, body, strlen(body), false, &r);
    T_EQ_INT(r.status, 200);
    EC_LOAD_IS(&r, "Success", line, loaded, filtered);
    if (t_json_int(r.json, "NumberLoadedRows") != loaded) {
        struct t_req req = {0};
        struct t_resp e;

        fprintf(stderr, "  type %s: answer %s\n", type, r.body);
        req.url = t_json_str(r.json, "ErrorURL");
        if (req.url) {
            t_http(&req, &e);
            fprintf(stderr, "  errors:\n%s\n", e.body);
            t_resp_free(&e);
        }
    }
    t_resp_free(&r);
    snprintf(sql, sizeof(sql), "SELECT k, %s FROM %s ORDER BY k", expr, name);
    check_rows(sql, want);
}

static void type_case(const char *type, const char *body, long long loaded, long long filtered,
                      const char *expr, const char *want)
{
    type_case_ex(type, true, body, loaded, filtered, expr, want);
}

static void test_integers(void)
{
    type_case("TINYINT", "1\t-128\n2\t127\n3\t128\n4\t-129\n5\t1.0\n6\tabc\n7\t+5\n", 3, 4, "v",
              "1|-128;2|127;7|5");
    type_case("SMALLINT", "1\t-32768\n2\t32767\n3\t32768\n4\t-32769\n", 2, 2, "v",
              "1|-32768;2|32767");
    type_case("INT", "1\t-2147483648\n2\t2147483647\n3\t2147483648\n4\t-2147483649\n5\t1e3\n", 2, 3,
              "v", "1|-2147483648;2|2147483647");
    type_case("BIGINT",
              "1\t-9223372036854775808\n2\t9223372036854775807\n3\t9223372036854775808\n"
              "4\t-9223372036854775809\n5\t0x10\n",
              2, 3, "v", "1|-9223372036854775808;2|9223372036854775807");
    type_case("LARGEINT",
              "1\t-170141183460469231731687303715884105728\n"
              "2\t170141183460469231731687303715884105727\n"
              "3\t170141183460469231731687303715884105728\n"
              "4\t-170141183460469231731687303715884105729\n"
              "5\t00042\n",
              3, 2, "CAST(v AS TEXT)",
              "1|-170141183460469231731687303715884105728;"
              "2|170141183460469231731687303715884105727;5|42");
    /* non-strict: a non-number becomes NULL, an overflow is still filtered */
    type_case_ex("TINYINT", false, "1\tabc\n2\t200\n3\t7\n", 2, 1, "v", "1|NULL;3|7");
}

static void test_decimals(void)
{
    type_case("DECIMAL(5,2)",
              "1\t999.99\n2\t-999.99\n3\t1000.00\n4\t1.005\n5\t12.344\n6\t999.995\n7\t-1.005\n"
              "8\t.5\n9\t1e2\n10\t1,5\n",
              7, 3, "CAST(v AS TEXT)", "1|999.99;2|-999.99;4|1.01;5|12.34;7|-1.01;8|0.50;9|100.00");
    type_case("DECIMAL(38,0)",
              "1\t99999999999999999999999999999999999999\n"
              "2\t999999999999999999999999999999999999999\n"
              "3\t-99999999999999999999999999999999999999\n",
              2, 1, "CAST(v AS TEXT)",
              "1|99999999999999999999999999999999999999;"
              "3|-99999999999999999999999999999999999999");
    type_case("DECIMAL(38,10)",
              "1\t1234567890123456789012345678.0123456789\n"
              "2\t12345678901234567890123456789.0\n",
              1, 1, "CAST(v AS TEXT)", "1|1234567890123456789012345678.0123456789");
}

static void test_dates(void)
{
    type_case("DATE",
              "1\t0000-01-01\n2\t9999-12-31\n3\t2024-02-29\n4\t2023-02-29\n5\t10000-01-01\n"
              "6\t2024-13-01\n7\t20240315\n8\t2024/3/5\n9\t1900-02-29\n10\t2000-02-29\n",
              6, 4, "v",
              "1|0000-01-01;2|9999-12-31;3|2024-02-29;7|2024-03-15;8|2024-03-05;10|2000-02-29");
    type_case("DATETIME",
              "1\t0000-01-01 00:00:00\n2\t9999-12-31 23:59:59\n3\t2023-02-29 00:00:00\n"
              "4\t2024-01-01 24:00:00\n5\t2024-01-01\n6\t2024-01-01 12:00:00.5\n"
              "7\t9999-12-31 23:59:59.5\n8\t2024-01-01T01:02:03\n",
              5, 3, "v",
              "1|0000-01-01 00:00:00;2|9999-12-31 23:59:59;5|2024-01-01 00:00:00;"
              "6|2024-01-01 12:00:01;8|2024-01-01 01:02:03");
    type_case("DATETIME(6)",
              "1\t2024-01-01 12:00:00.123456\n2\t2024-01-01 12:00:00.1\n"
              "3\t9999-12-31 23:59:59.999999\n4\t9999-12-31 23:59:59.9999995\n"
              "5\t2024-12-31 23:59:59.9999996\n",
              4, 1, "v",
              "1|2024-01-01 12:00:00.123456;2|2024-01-01 12:00:00.100000;"
              "3|9999-12-31 23:59:59.999999;5|2025-01-01 00:00:00.000000");
    type_case("DATETIME(3)", "1\t2024-01-01 12:00:00.1235\n2\t2024-01-01 12:00:00.1234\n", 2, 0,
              "v", "1|2024-01-01 12:00:00.124;2|2024-01-01 12:00:00.123");
}

static void test_strings(void)
{
    struct t_resp r, e;
    struct t_req req = {0};
    const char *h[] = {"strict_mode: true", "max_filter_ratio: 1", NULL};

    /* é = 2 bytes, € = 3 bytes: the limit counts bytes */
    type_case("VARCHAR(6)",
              "1\t\xc3\xa9\xc3\xa9\xc3\xa9\n2\t\xc3\xa9\xc3\xa9\xc3\xa9"
              "a\n3\tabcdef\n"
              "4\tabcdefg\n5\t\xe2\x82\xac\xe2\x82\xac\n6\t\xe2\x82\xac\xe2\x82\xac"
              "a\n7\t\n",
              4, 3, "v", "1|\xc3\xa9\xc3\xa9\xc3\xa9;3|abcdef;5|\xe2\x82\xac\xe2\x82\xac;7|");
    /* the reason in the error log */
    ec_sql_ok(DB, "CREATE TABLE vc (k INT NOT NULL, v VARCHAR(2) NULL) DUPLICATE KEY(k) "
                  "DISTRIBUTED BY HASH(k) BUCKETS 1");
    ec_load_ex(DB, "vc", h, "1\tabc\n", 6, false, &r);
    EC_LOAD_IS(&r, "Success", 1, 0, 1);
    req.url = t_json_str(r.json, "ErrorURL");
    T_CHECK(req.url != NULL);
    if (req.url) {
        t_http(&req, &e);
        T_HAS_STR(e.body, "the length of input is too long than schema");
        T_HAS_STR(e.body, "src line [1\tabc]");
        t_resp_free(&e);
    }
    t_resp_free(&r);

    type_case("CHAR(3)",
              "1\tabc\n2\tabcd\n3\tab\n4\t\xc3\xa9"
              "a\n5\t\xc3\xa9\xc3\xa9\n",
              3, 2, "v",
              "1|abc;3|ab;4|\xc3\xa9"
              "a");
    type_case("STRING", "1\t\n2\t\\N\n3\tany \xe2\x82\xac text, with \"quotes\"\n", 3, 0,
              "v IS NULL, v", "1|0|;2|1|NULL;3|0|any \xe2\x82\xac text, with \"quotes\"");
}

static void test_other(void)
{
    type_case("BOOLEAN", "1\ttrue\n2\tFALSE\n3\t1\n4\t0\n5\tyes\n6\t2\n", 4, 2, "v",
              "1|true;2|false;3|true;4|false");
    type_case("DOUBLE", "1\t1.5\n2\t-2.25e3\n3\tabc\n4\t1e400\n", 2, 2, "v", "1|1.5;2|-2250.0");
    type_case("JSON",
              "1\t{\"a\": 1, \"b\": [true, null]}\n2\t[1, 2]\n3\t\"s\"\n4\t123\n5\t{bad\n"
              "6\t{\"a\":1}x\n7\tnull\n",
              5, 2, "v", "1|{\"a\":1,\"b\":[true,null]};2|[1,2];3|\"s\";4|123;7|null");
    type_case("ARRAY<INT>",
              "1\t[1,2,3]\n2\t[]\n3\t[1,null]\n4\t[1,\"x\"]\n5\t[1,2\n6\t[2147483648]\n", 3, 3, "v",
              "1|[1, 2, 3];2|[];3|[1, null]");
    type_case("ARRAY<VARCHAR(3)>", "1\t[\"a\",\"b\"]\n2\t['c', \"d,e\"]\n3\t[\"abcd\"]\n", 2, 1,
              "v", "1|[\"a\", \"b\"];2|[\"c\", \"d,e\"]");
    type_case("IPV4",
              "1\t192.168.0.1\n2\t0.0.0.0\n3\t255.255.255.255\n4\t256.1.1.1\n5\t1.2.3\n"
              "6\t010.001.002.003\n",
              4, 2, "v", "1|192.168.0.1;2|0.0.0.0;3|255.255.255.255;6|10.1.2.3");
    type_case("IPV6",
              "1\t2001:0db8:0000:0000:0000:0000:0000:0001\n2\t::\n3\t1.2.3.4\n4\tgggg::\n"
              "5\t1::2::3\n6\tFE80::1\n",
              4, 2, "v", "1|2001:db8::1;2|::;3|::ffff:1.2.3.4;6|fe80::1");
    /* §7.2: invalid IP input becomes NULL when not strict */
    type_case_ex("IPV4", false, "1\tnope\n2\t1.1.1.1\n", 2, 0, "v", "1|NULL;2|1.1.1.1");
}

int main(void)
{
    ec_init();
    ec_sql_ok("information_schema", "CREATE DATABASE IF NOT EXISTS " DB);
    test_integers();
    test_decimals();
    test_dates();
    test_strings();
    test_other();
    return t_done();
}
