/*
 * sql_http_test.c - SQL over HTTP (doris-protocol.md §6.1): both body
 * shapes (streaming and X-Doris-Stream: false), request errors, SQL
 * errors, SHOW / DESC / information_schema, plus GET _schema (§6.3) and
 * the light schema change check (§6.2).
 */
#include "emu_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void post_raw(const char *db, const char *body, struct t_resp *r)
{
    struct t_req req = {0};
    char path[256];

    snprintf(path, sizeof(path), "/api/query/default_cluster/%s", db);
    req.method = "POST";
    req.url = ec_fe_url(path);
    req.userpwd = "root:";
    req.headers[0] = "Content-Type: application/json";
    req.body = body;
    req.body_len = strlen(body);
    t_http(&req, r);
}

static void test_shapes(void)
{
    struct t_resp r;
    char *keys;
    json_t *data;

    ec_sql_as(ec_fe_port, "root:", "information_schema", "CREATE DATABASE shop", true, &r);
    T_EQ_INT(r.status, 200);
    keys = t_json_keys(r.json);
    T_EQ_STR(keys, "msg,code,data"); /* streaming DDL: no count */
    free(keys);
    data = json_object_get(r.json, "data");
    T_EQ_STR(t_json_str(data, "type"), "exec_status");
    T_CHECK(json_is_object(json_object_get(data, "status")));
    T_CHECK(json_is_integer(json_object_get(data, "time")));
    t_resp_free(&r);

    ec_sql_as(ec_fe_port, "root:", "shop",
              "CREATE TABLE items (id BIGINT NOT NULL, title VARCHAR(50) NULL) "
              "UNIQUE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2 "
              "PROPERTIES (\"replication_num\" = \"1\")",
              false, &r);
    keys = t_json_keys(r.json);
    T_EQ_STR(keys, "msg,code,data,count");
    free(keys);
    T_EQ_INT(t_json_int(r.json, "code"), 0);
    t_resp_free(&r);

    ec_sql_as(ec_fe_port, "root:", "shop", "SELECT id, title FROM items", true, &r);
    keys = t_json_keys(r.json);
    T_EQ_STR(keys, "data,msg,code"); /* streaming result set: data first */
    free(keys);
    data = json_object_get(r.json, "data");
    T_EQ_STR(t_json_str(data, "type"), "result_set");
    T_EQ_INT(json_array_size(json_object_get(data, "meta")), 2);
    T_EQ_STR(t_json_str(json_array_get(json_object_get(data, "meta"), 0), "name"), "id");
    T_CHECK(json_is_array(json_object_get(data, "data")));
    t_resp_free(&r);

    ec_sql_as(ec_fe_port, "root:", "shop", "SELECT id FROM items", false, &r);
    keys = t_json_keys(r.json);
    T_EQ_STR(keys, "msg,code,data,count");
    free(keys);
    t_resp_free(&r);
}

static void test_errors(void)
{
    struct t_resp r;

    post_raw("shop", "{\"is_sync\": true}", &r);
    T_EQ_STR(r.body, "{\"msg\":\"Bad Request\",\"code\":403,\"data\":\"Missing statement request "
                     "body\",\"count\":0}");
    t_resp_free(&r);

    post_raw("shop", "{\"stmt\": \"SELECT 1\", \"is_sync\": false}", &r);
    T_EQ_STR(t_json_str(r.json, "msg"), "Error");
    T_EQ_INT(t_json_int(r.json, "code"), 1);
    T_EQ_STR(t_json_str(r.json, "data"), "Not support async query execution");
    t_resp_free(&r);

    ec_sql_as(ec_fe_port, "root:", "shop", "SELECT * FROM no_such_table", true, &r);
    T_EQ_STR(t_json_str(r.json, "msg"), "Error");
    T_EQ_INT(t_json_int(r.json, "code"), 1);
    T_HAS_STR(t_json_str(r.json, "data"), "Failed to execute sql: errCode = 2, detailMessage = ");
    T_EQ_INT(t_json_int(r.json, "count"), 0);
    t_resp_free(&r);

    ec_sql_as(ec_fe_port, "root:", "shop", "THIS IS NOT SQL", false, &r);
    T_EQ_INT(t_json_int(r.json, "code"), 1);
    t_resp_free(&r);

    ec_sql_as(ec_fe_port, "root:bad", "shop", "SELECT 1", false, &r);
    T_EQ_INT(t_json_int(r.json, "code"), 401);
    t_resp_free(&r);
}

static void test_show_desc(void)
{
    char *rows;
    struct t_resp r;

    rows = ec_rows(ec_fe_port, "information_schema", "SHOW DATABASES");
    T_HAS_STR(rows, "shop");
    free(rows);
    rows = ec_rows(ec_fe_port, "shop", "SHOW TABLES");
    T_EQ_STR(rows, "items");
    free(rows);
    ec_sql_as(ec_fe_port, "root:", "shop", "DESC items", false, &r);
    T_EQ_INT(t_json_int(r.json, "code"), 0);
    T_EQ_INT(json_array_size(json_object_get(json_object_get(r.json, "data"), "data")), 2);
    t_resp_free(&r);
    rows = ec_rows(ec_fe_port, "information_schema",
                   "SELECT COLUMN_NAME FROM information_schema.`COLUMNS` WHERE "
                   "TABLE_SCHEMA='shop' AND TABLE_NAME='items' AND COLUMN_NAME='title'");
    T_EQ_STR(rows, "title");
    free(rows);
    rows = ec_rows(ec_fe_port, "information_schema",
                   "SELECT COLUMN_NAME FROM information_schema.`COLUMNS` WHERE "
                   "TABLE_SCHEMA='shop' AND TABLE_NAME='items' AND COLUMN_NAME='nope'");
    T_EQ_STR(rows, "");
    free(rows);
}

static void lsc(const char *table, const char *body, struct t_resp *r)
{
    struct t_req req = {0};
    char path[256];

    snprintf(path, sizeof(path), "/api/enable_light_schema_change/shop/%s", table);
    req.method = "GET";
    req.url = ec_fe_url(path);
    req.userpwd = "root:";
    req.headers[0] = "Content-Type: application/json";
    req.body = body;
    req.body_len = strlen(body);
    t_http(&req, r);
}

static void test_schema_endpoints(void)
{
    struct t_req req = {0};
    struct t_resp r;
    json_t *data, *props;

    req.url = ec_fe_url("/api/shop/items/_schema");
    req.userpwd = "root:";
    t_http(&req, &r);
    T_EQ_INT(t_json_int(r.json, "code"), 0);
    data = json_object_get(r.json, "data");
    T_EQ_STR(t_json_str(data, "keysType"), "UNIQUE_KEYS");
    props = json_object_get(data, "properties");
    T_EQ_INT(json_array_size(props), 2);
    T_EQ_STR(t_json_str(json_array_get(props, 0), "name"), "id");
    t_resp_free(&r);

    req.url = ec_fe_url("/api/shop/nope/_schema");
    t_http(&req, &r);
    T_EQ_INT(t_json_int(r.json, "code"), 1);
    t_resp_free(&r);

    lsc("items", "{\"isDropColumn\": false, \"columnName\": \"extra\"}", &r);
    T_EQ_STR(t_json_str(r.json, "msg"), "success");
    T_EQ_INT(t_json_int(r.json, "code"), 0);
    t_resp_free(&r);
    lsc("items", "{\"isDropColumn\": true, \"columnName\": \"id\"}", &r);
    T_EQ_INT(t_json_int(r.json, "code"), 1);
    T_EQ_STR(t_json_str(r.json, "data"),
             "Column id is primary key in materializedIndex that can't do the light schema "
             "change");
    t_resp_free(&r);
    lsc("items", "{\"isDropColumn\": true, \"columnName\": \"title\"}", &r);
    T_EQ_INT(t_json_int(r.json, "code"), 0);
    t_resp_free(&r);

    ec_sql_ok("shop", "CREATE TABLE heavy (id BIGINT NOT NULL, v INT NULL) DUPLICATE KEY(id) "
                      "DISTRIBUTED BY HASH(id) BUCKETS 1 "
                      "PROPERTIES (\"replication_num\" = \"1\", \"light_schema_change\" = "
                      "\"false\")");
    lsc("heavy", "{\"isDropColumn\": false, \"columnName\": \"w\"}", &r);
    T_EQ_INT(t_json_int(r.json, "code"), 1);
    T_EQ_STR(t_json_str(r.json, "data"), "table heavy disable light schema change");
    t_resp_free(&r);

    /* ALTER through SQL, then the idempotency lookup sees the column. */
    ec_sql_ok("shop", "ALTER TABLE `shop`.`items` ADD COLUMN `extra` INT NULL");
    data = NULL;
    {
        char *rows = ec_rows(ec_fe_port, "information_schema",
                             "SELECT COLUMN_NAME FROM information_schema.`COLUMNS` WHERE "
                             "TABLE_SCHEMA='shop' AND TABLE_NAME='items' AND "
                             "COLUMN_NAME='extra'");

        T_EQ_STR(rows, "extra");
        free(rows);
    }
}

int main(void)
{
    ec_init();
    test_shapes();
    test_errors();
    test_show_desc();
    test_schema_endpoints();
    return t_done();
}
