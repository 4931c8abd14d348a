/*
 * privilege_test.c - doris-emu with a users file (users.txt beside this
 * file): privileges of doris-protocol.md §6.5 checked Doris-style at the
 * FE, the BE and in SQL over HTTP, and the 307 Location's percent-encoded
 * userinfo for a user name and password with special characters.
 */
#include "emu_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sql_denied(const char *userpwd, const char *db, const char *sql, const char *priv,
                       int line)
{
    struct t_resp r;
    char want[256];
    const char *data;

    snprintf(want, sizeof(want),
             "Failed to execute sql: errCode = 2, detailMessage = Access denied; you need (at "
             "least one of) the (%s) privilege(s) for this operation",
             priv);
    ec_sql_as(ec_fe_port, userpwd, db, sql, false, &r);
    data = t_json_str(r.json, "data");
    if (t_json_int(r.json, "code") != 1 || !data || strcmp(data, want) != 0)
        t_fail_at(__FILE__, line, "\"%s\" as %s: got %s, want data \"%s\"", sql, userpwd, r.body,
                  want);
    else
        t_passed++;
    t_resp_free(&r);
}

static void sql_allowed(const char *userpwd, const char *db, const char *sql, int line)
{
    struct t_resp r;

    ec_sql_as(ec_fe_port, userpwd, db, sql, false, &r);
    if (t_json_int(r.json, "code") != 0)
        t_fail_at(__FILE__, line, "\"%s\" as %s: got %s, want code 0", sql, userpwd, r.body);
    else
        t_passed++;
    t_resp_free(&r);
}

static void test_load_privilege(void)
{
    const char *h[] = {"label: pl1", "column_separator: ,", NULL};
    struct t_req req = {0};
    struct t_resp r;

    ec_load(ec_fe_port, "loader:lpw", "demo", "t", h, "1,a\n", 4, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    t_resp_free(&r);

    /* FE: a RestBaseResult, before any redirect. */
    req.method = "PUT";
    req.url = ec_fe_url("/api/demo/t/_stream_load");
    req.userpwd = "reader:rpw";
    req.headers[0] = "Expect: 100-continue";
    req.headers[1] = "label: pl2";
    req.body = "2,b\n";
    req.body_len = 4;
    t_http(&req, &r);
    T_EQ_INT(r.status, 200);
    T_EQ_STR(t_json_str(r.json, "status"), "FAILED");
    T_EQ_STR(t_json_str(r.json, "msg"), "Access denied; you need (at least one of) the "
                                        "Admin_priv,Load_priv privilege(s) for this operation");
    t_resp_free(&r);

    /* loader may load demo.t only. */
    req.userpwd = "loader:lpw";
    req.url = ec_fe_url("/api/demo/t2/_stream_load");
    t_http(&req, &r);
    T_EQ_STR(t_json_str(r.json, "status"), "FAILED");
    t_resp_free(&r);

    /* BE straight away: a Stream Load answer. */
    req.userpwd = "reader:rpw";
    req.url = ec_be_url("/api/demo/t/_stream_load");
    t_http(&req, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Fail");
    T_HAS_STR(t_json_str(r.json, "Message"), "you need (at least one of) the LOAD privilege(s)");
    T_EQ_STR(t_json_str(r.json, "Label"), "pl2");
    t_resp_free(&r);

    req.userpwd = "loader:wrong";
    req.url = ec_fe_url("/api/demo/t/_stream_load");
    t_http(&req, &r);
    T_EQ_INT(t_json_int(r.json, "code"), 401);
    t_resp_free(&r);

    {
        char *rows = ec_rows(ec_fe_port, "demo", "SELECT id FROM t");

        T_EQ_STR(rows, "1");
        free(rows);
    }
}

static void test_location_escaping(void)
{
    struct t_req req = {0};
    struct t_resp r;
    char want[256];

    req.method = "PUT";
    req.url = ec_fe_url("/api/demo/t/_stream_load");
    req.userpwd = "we@ird:p/w d%";
    req.headers[0] = "Expect: 100-continue";
    req.body = "3,c\n";
    req.body_len = 4;
    t_http(&req, &r);
    T_EQ_INT(r.status, 307);
    snprintf(want, sizeof(want),
             "http://we%%40ird:p%%2Fw%%20d%%25@127.0.0.1:%d/api/demo/t/_stream_load", ec_be_port);
    T_EQ_STR(r.location, want);
    t_resp_free(&r);
}

static void test_sql_privileges(void)
{
    sql_allowed("reader:rpw", "demo", "SELECT id FROM t", __LINE__);
    sql_denied("nobody:npw", "demo", "SELECT id FROM t", "SELECT", __LINE__);
    sql_denied("reader:rpw", "demo",
               "CREATE TABLE r1 (id INT NOT NULL) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) "
               "BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")",
               "CREATE", __LINE__);
    sql_allowed("ddl:dpw", "demo",
                "CREATE TABLE d1 (id INT NOT NULL) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) "
                "BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")",
                __LINE__);
    sql_allowed("ddl:dpw", "demo", "ALTER TABLE d1 ADD COLUMN v INT NULL", __LINE__);
    sql_denied("reader:rpw", "demo", "ALTER TABLE d1 ADD COLUMN w INT NULL", "ALTER", __LINE__);
    sql_denied("ddl:dpw", "demo", "DROP TABLE d1", "DROP", __LINE__);
    sql_allowed("dropper:xpw", "demo", "DROP TABLE d1", __LINE__);
    sql_denied("reader:rpw", "information_schema", "CREATE DATABASE other2", "CREATE", __LINE__);
}

static void test_schema_privilege(void)
{
    struct t_req req = {0};
    struct t_resp r;

    req.url = ec_fe_url("/api/demo/t/_schema");
    req.userpwd = "nobody:npw";
    t_http(&req, &r);
    T_EQ_INT(t_json_int(r.json, "code"), 401);
    T_HAS_STR(t_json_str(r.json, "data"), "Select_priv");
    t_resp_free(&r);
    req.userpwd = "reader:rpw";
    t_http(&req, &r);
    T_EQ_INT(t_json_int(r.json, "code"), 0);
    t_resp_free(&r);
}

int main(void)
{
    ec_init();
    ec_sql_ok("information_schema", "CREATE DATABASE demo");
    ec_sql_ok("demo", "CREATE TABLE t (id INT NOT NULL, v VARCHAR(10) NULL) UNIQUE KEY(id) "
                      "DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    ec_sql_ok("demo", "CREATE TABLE t2 (id INT NOT NULL) DUPLICATE KEY(id) "
                      "DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    test_load_privilege();
    test_location_escaping();
    test_sql_privileges();
    test_schema_privilege();
    return t_done();
}
