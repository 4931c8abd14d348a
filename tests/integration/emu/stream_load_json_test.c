/*
 * stream_load_json_test.c - JSON Stream Loads through the FE (307 followed,
 * Expect: 100-continue), read back with SQL over HTTP (§1.6, §1.8):
 * read_json_by_line, strip_outer_array, a single object, NDJSON by default,
 * case-insensitive keys, missing keys, nested values into JSON / STRING,
 * exact number spellings, null into NOT NULL.
 */
#include "emu_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB  "jsondb"
#define ALL "SELECT k, s, dv, nn FROM t ORDER BY k"

static void setup(void)
{
    ec_sql_ok("information_schema", "CREATE DATABASE IF NOT EXISTS " DB);
    ec_sql_ok(DB, "CREATE TABLE t (k INT NOT NULL, s VARCHAR(50) NULL, d DECIMAL(20,6) NULL, "
                  "j JSON NULL, st STRING NULL, dv INT NULL DEFAULT \"42\", "
                  "nn VARCHAR(10) NOT NULL DEFAULT \"dd\", b BOOLEAN NULL) "
                  "DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1");
}

static void load(const char *const *h, const char *body, long long total, long long loaded,
                 long long filtered, const char *status)
{
    struct t_resp r;

    ec_load_ex(DB, "t", h, body, strlen(body), false, &r);
    T_EQ_INT(r.status, 200);
    EC_LOAD_IS(&r, status, total, loaded, filtered);
    if (!t_json_str(r.json, "Status") || strcmp(t_json_str(r.json, "Status"), status))
        fprintf(stderr, "  load answer: %s\n", r.body);
    t_resp_free(&r);
}

static void check_rows(const char *sql, const char *want)
{
    char *rows = ec_rows(ec_fe_port, DB, sql);

    T_EQ_STR(rows, want);
    free(rows);
}

static void reset(void)
{
    ec_sql_ok(DB, "TRUNCATE TABLE t");
}

static void test_shapes(void)
{
    const char *by_line[] = {"format: json", "read_json_by_line: true", NULL};
    const char *strip[] = {"format: json", "strip_outer_array: true", NULL};
    const char *whole[] = {"format: json", "read_json_by_line: false", NULL};
    const char *deflt[] = {"format: json", NULL};
    const char *by_line_ratio[] = {"format: json", "read_json_by_line: true", "max_filter_ratio: 1",
                                   NULL};
    const char *strip_ratio[] = {"format: json", "strip_outer_array: true", "max_filter_ratio: 1",
                                 NULL};

    reset();
    load(by_line, "{\"k\": 1, \"s\": \"a\"}\n{\"k\": 2, \"s\": \"b\"}\n", 2, 2, 0, "Success");
    check_rows(ALL, "1|a|42|dd;2|b|42|dd");

    reset();
    load(strip, "[{\"k\": 3, \"s\": \"c\"},\n {\"k\": 4, \"s\": \"d\"}]", 2, 2, 0, "Success");
    check_rows(ALL, "3|c|42|dd;4|d|42|dd");

    /* a single object, pretty-printed over several lines */
    reset();
    load(whole, "{\n  \"k\": 5,\n  \"s\": \"e\"\n}\n", 1, 1, 0, "Success");
    check_rows(ALL, "5|e|42|dd");

    /* neither flag: NDJSON (newest BE) */
    reset();
    load(deflt, "{\"k\": 6, \"s\": \"f\"}\n{\"k\": 7, \"s\": \"g\"}\n", 2, 2, 0, "Success");
    check_rows(ALL, "6|f|42|dd;7|g|42|dd");

    /* an array without strip_outer_array is filtered; an object with it too */
    reset();
    load(by_line_ratio, "[{\"k\": 8}]\n{\"k\": 9}\n", 2, 1, 1, "Success");
    check_rows("SELECT k FROM t", "9");
    reset();
    load(strip_ratio, "[{\"k\": 10}, 5]", 2, 1, 1, "Success");
    check_rows("SELECT k FROM t", "10");
    reset();
    load(strip, "{\"k\": 11}", 1, 0, 1, "Fail");
    check_rows("SELECT count(*) FROM t", "0");
}

static void test_keys(void)
{
    const char *h[] = {"format: json", NULL};

    reset();
    /* keys match case-insensitively; missing keys give NULL or the default */
    load(h, "{\"K\": 1, \"S\": \"upper\", \"DV\": 5, \"nN\": \"x\"}\n{\"k\": 2}\n", 2, 2, 0,
         "Success");
    check_rows(ALL, "1|upper|5|x;2|NULL|42|dd");
    check_rows("SELECT d, j, st, b FROM t WHERE k = 2", "NULL|NULL|NULL|NULL");
    /* unknown keys are ignored; JSON booleans are 1/0 */
    reset();
    load(h, "{\"k\": 3, \"zzz\": 1, \"b\": true}\n{\"k\": 4, \"b\": false}\n", 2, 2, 0, "Success");
    check_rows("SELECT k, b FROM t ORDER BY k", "3|true;4|false");
}

static void test_nested_and_numbers(void)
{
    const char *h[] = {"format: json", NULL};

    reset();
    load(h,
         "{\"k\": 1, \"j\": {\"a\": [1, 2.50, {\"b\": null}], \"c\": \"x\\u00e9\"}, "
         "\"st\": [1, \"two\", {\"t\": true}]}\n"
         "{\"k\": 2, \"j\": [ ], \"st\": {\"n\": -0.0}}\n"
         "{\"k\": 3, \"j\": 1.10E+2, \"st\": \"plain\"}\n"
         "{\"k\": 4, \"j\": \"{\\\"q\\\": 1}\", \"st\": 12.30}\n",
         4, 4, 0, "Success");
    check_rows("SELECT k, j, st FROM t ORDER BY k",
               "1|{\"a\":[1,2.50,{\"b\":null}],\"c\":\"x\\u00e9\"}|[1,\"two\",{\"t\":true}];"
               "2|[]|{\"n\":-0.0};"
               "3|1.10E+2|plain;"
               "4|{\"q\":1}|12.30");

    /* a JSON string holding JSON text is parsed into the JSON column; one that is not JSON
     * is BAD (NULL when not strict, filtered when strict) */
    reset();
    load(h, "{\"k\": 5, \"j\": \"str\"}\n", 1, 1, 0, "Success");
    check_rows("SELECT k, j FROM t", "5|NULL");
    {
        const char *strict[] = {"format: json", "strict_mode: true", "max_filter_ratio: 1", NULL};

        load(strict, "{\"k\": 6, \"j\": \"str\"}\n{\"k\": 7, \"j\": \"[1]\"}\n", 2, 1, 1,
             "Success");
        check_rows("SELECT k, j FROM t ORDER BY k", "5|NULL;7|[1]");
    }

    /* DECIMAL(20,6) from exact spellings (also quoted) */
    reset();
    load(h,
         "{\"k\": 1, \"d\": 12345678901234.123456}\n"
         "{\"k\": 2, \"d\": 0.1}\n"
         "{\"k\": 3, \"d\": \"-7.25\"}\n"
         "{\"k\": 4, \"d\": 1e3}\n"
         "{\"k\": 5, \"d\": 99999999999999.9999994}\n",
         5, 5, 0, "Success");
    check_rows("SELECT k, CAST(d AS TEXT) FROM t ORDER BY k",
               "1|12345678901234.123456;2|0.100000;3|-7.250000;4|1000.000000;"
               "5|99999999999999.999999");
}

static void test_null_not_null(void)
{
    const char *h[] = {"format: json", "max_filter_ratio: 1", NULL};
    const char *strict0[] = {"format: json", NULL};

    reset();
    load(h, "{\"k\": 1, \"nn\": null}\n{\"k\": null}\n{\"k\": 3, \"nn\": \"ok\"}\n", 3, 1, 2,
         "Success");
    check_rows(ALL, "3|NULL|42|ok");
    /* ratio 0: the whole load fails, nothing stored */
    reset();
    load(strict0, "{\"k\": 4}\n{\"k\": 5, \"nn\": null}\n", 2, 1, 1, "Fail");
    check_rows("SELECT count(*) FROM t", "0");
}

static void test_error_reasons(void)
{
    const char *h[] = {"format: json", "max_filter_ratio: 1", NULL};
    struct t_resp r, e;
    struct t_req req = {0};
    const char *body = "{\"k\": 1, \"nn\": null}\n{\"k\": 2\n";

    ec_load_ex(DB, "t", h, body, strlen(body), false, &r);
    EC_LOAD_IS(&r, "Success", 2, 0, 2);
    req.url = t_json_str(r.json, "ErrorURL");
    T_CHECK(req.url != NULL);
    if (req.url) {
        t_http(&req, &e);
        T_EQ_INT(e.status, 200);
        T_HAS_STR(e.body, "Json value is null, but the column `nn` is not nullable.");
        T_HAS_STR(e.body, "Parse json data for JsonDoc failed.");
        t_resp_free(&e);
    }
    t_resp_free(&r);
}

int main(void)
{
    ec_init();
    setup();
    test_shapes();
    test_keys();
    test_nested_and_numbers();
    test_null_not_null();
    test_error_reasons();
    return t_done();
}
