/*
 * sql_ddl_test.c - DDL and queries over HTTP (§6.1, §5.3, §7): CREATE /
 * DROP DATABASE, CREATE TABLE rules with Doris's texts, ALTER TABLE ADD /
 * DROP COLUMN, TRUNCATE, SHOW, DESC, SHOW CREATE TABLE, information_schema,
 * SELECT, and both body shapes.
 */
#include "emu_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB "ddldb"

static void check_rows(const char *db, const char *sql, const char *want)
{
    char *rows = ec_rows(ec_fe_port, db, sql);

    T_EQ_STR(rows, want);
    free(rows);
}

/* The statement fails with exactly detailMessage = text (non-streaming shape). */
static void sql_err(const char *db, const char *sql, const char *text)
{
    struct t_resp r;
    char want[1024];
    char *keys;

    ec_sql_as(ec_fe_port, "root:", db, sql, false, &r);
    T_EQ_INT(r.status, 200);
    T_EQ_STR(t_json_str(r.json, "msg"), "Error");
    T_EQ_INT(t_json_int(r.json, "code"), 1);
    snprintf(want, sizeof(want), "Failed to execute sql: errCode = 2, detailMessage = %s", text);
    T_EQ_STR(t_json_str(r.json, "data"), want);
    keys = t_json_keys(r.json);
    T_EQ_STR(keys, "msg,code,data,count");
    free(keys);
    t_resp_free(&r);
}

static void test_databases(void)
{
    ec_sql_ok("information_schema", "CREATE DATABASE " DB);
    ec_sql_ok("information_schema", "CREATE DATABASE d2");
    sql_err("information_schema", "CREATE DATABASE d2",
            "Can't create database 'd2'; database exists");
    ec_sql_ok("information_schema", "CREATE DATABASE IF NOT EXISTS d2");
    check_rows("information_schema", "SHOW DATABASES", "information_schema;d2;ddldb");
    ec_sql_ok("d2", "CREATE TABLE x (a INT) DUPLICATE KEY(a) DISTRIBUTED BY HASH(a) BUCKETS 1");
    ec_sql_ok("information_schema", "DROP DATABASE d2");
    sql_err("information_schema", "DROP DATABASE d2",
            "Can't drop database 'd2'; database doesn't exist");
    ec_sql_ok("information_schema", "DROP DATABASE IF EXISTS d2");
    check_rows("information_schema", "SHOW DATABASES", "information_schema;ddldb");
    check_rows("information_schema",
               "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'd2'", "");
    sql_err("information_schema", "CREATE DATABASE 1db", "Incorrect database name '1db'");
    sql_err("d2", "SELECT 1 FROM x", "Unknown database 'd2'");
}

static void test_create_rules(void)
{
    sql_err(DB,
            "CREATE TABLE bad (a INT, b INT, c INT) UNIQUE KEY(b) "
            "DISTRIBUTED BY HASH(b) BUCKETS 1",
            "Key columns should be a ordered prefix of the schema. KeyColumns[0] (starts from "
            "zero) is b, but corresponding column is a in the previous columns declaration.");
    sql_err(DB,
            "CREATE TABLE bad (a INT, b INT, c INT) DUPLICATE KEY(a, c) "
            "DISTRIBUTED BY HASH(a) BUCKETS 1",
            "Key columns should be a ordered prefix of the schema. KeyColumns[1] (starts from "
            "zero) is c, but corresponding column is b in the previous columns declaration.");
    sql_err(DB, "CREATE TABLE bad (a INT, b INT) UNIQUE KEY(zz) DISTRIBUTED BY HASH(a) BUCKETS 1",
            "Key column[zz] doesn't exist.");
    sql_err(DB,
            "CREATE TABLE bad (f FLOAT, v INT) DUPLICATE KEY(f) DISTRIBUTED BY RANDOM BUCKETS 1",
            "Float or double can not used as a key, use decimal instead.");
    sql_err(DB, "CREATE TABLE bad (d DOUBLE, v INT) UNIQUE KEY(d) DISTRIBUTED BY HASH(d) BUCKETS 1",
            "Float or double can not used as a key, use decimal instead.");
    sql_err(DB, "CREATE TABLE bad (s STRING, v INT) UNIQUE KEY(s) DISTRIBUTED BY HASH(s) BUCKETS 1",
            "String Type should not be used in key column[s].");
    sql_err(DB, "CREATE TABLE bad (a INT, v INT) UNIQUE KEY(a) DISTRIBUTED BY RANDOM BUCKETS 1",
            "Should not be distributed by random when keys type is unique");
    sql_err(DB,
            "CREATE TABLE bad (a INT, b INT, v INT) UNIQUE KEY(a) "
            "DISTRIBUTED BY HASH(b) BUCKETS 1",
            "Distribution column[b] is not key column");
    sql_err(DB, "CREATE TABLE bad (a INT) UNIQUE KEY(a) DISTRIBUTED BY HASH(a) BUCKETS 1",
            "The olap table must have at least one value column when keys type is UNIQUE_KEYS");
    sql_err(DB, "CREATE TABLE bad (a INT, a INT) DUPLICATE KEY(a) DISTRIBUTED BY HASH(a) BUCKETS 1",
            "Duplicate column name 'a'");
    check_rows(DB, "SHOW TABLES", "");
}

static void load(const char *table, const char *body)
{
    const char *h[] = {"column_separator: ,", NULL};
    struct t_resp r;

    ec_load_ex(DB, table, h, body, strlen(body), false, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    t_resp_free(&r);
}

static void test_tables_alter(void)
{
    ec_sql_ok(DB, "CREATE TABLE t (id BIGINT NOT NULL, name VARCHAR(20) NULL, "
                  "amount DECIMAL(10,2) NULL COMMENT 'money') UNIQUE KEY(id) "
                  "DISTRIBUTED BY HASH(id) BUCKETS 2");
    ec_sql_ok(DB, "CREATE TABLE `a-dup` (k INT NOT NULL, v VARCHAR(10) NULL) "
                  "DUPLICATE KEY(k) DISTRIBUTED BY RANDOM BUCKETS 1");
    sql_err(DB,
            "CREATE TABLE t (id BIGINT NOT NULL, v INT) UNIQUE KEY(id) "
            "DISTRIBUTED BY HASH(id) BUCKETS 1",
            "Table 't' already exists");
    ec_sql_ok(DB, "CREATE TABLE IF NOT EXISTS t (id BIGINT NOT NULL, v INT) UNIQUE KEY(id) "
                  "DISTRIBUTED BY HASH(id) BUCKETS 1");
    check_rows(DB, "SHOW TABLES", "a-dup;t");

    load("t", "1,one,1.50\n2,two,2.25\n3,three,\\N\n");
    /* ADD COLUMN: existing rows get the default */
    ec_sql_ok(DB, "ALTER TABLE t ADD COLUMN c INT NULL DEFAULT \"7\"");
    check_rows(DB, "SELECT id, name, c FROM t ORDER BY id", "1|one|7;2|two|7;3|three|7");
    ec_sql_ok(DB, "ALTER TABLE t ADD COLUMN z VARCHAR(5) NULL AFTER id");
    check_rows(DB, "SELECT * FROM t WHERE id = 1", "1|NULL|one|1.5|7");
    sql_err(DB, "ALTER TABLE t ADD COLUMN c INT NULL",
            "Can not add column which already exists in base table: c");
    /* DROP COLUMN */
    ec_sql_ok(DB, "ALTER TABLE t DROP COLUMN z");
    ec_sql_ok(DB, "ALTER TABLE t DROP COLUMN name");
    check_rows(DB, "SELECT * FROM t ORDER BY id", "1|1.5|7;2|2.25|7;3|NULL|7");
    sql_err(DB, "ALTER TABLE t DROP COLUMN id",
            "Can not drop key column in Unique data model table");
    sql_err(DB, "ALTER TABLE t DROP COLUMN zz", "Column does not exists: zz");
    /* a load after the ALTER uses the new schema */
    load("t", "4,4.00,40\n");
    check_rows(DB, "SELECT id, CAST(amount AS TEXT), c FROM t ORDER BY id",
               "1|1.50|7;2|2.25|7;3|NULL|7;4|4.00|40");
    /* a Duplicate table drops a value column; duplicates stay */
    load("a-dup", "1,x\n1,x\n");
    ec_sql_ok(DB, "ALTER TABLE `a-dup` DROP COLUMN v");
    check_rows(DB, "SELECT * FROM `a-dup`", "1;1");
}

static void test_show_desc(void)
{
    check_rows(DB, "DESC t",
               "id|bigint|No|true|NULL|;amount|decimal(10,2)|Yes|false|NULL|REPLACE;"
               "c|int|Yes|false|7|REPLACE");
    check_rows(DB, "DESC `a-dup`", "k|int|No|true|NULL|");
    check_rows(DB, "SHOW CREATE TABLE `a-dup`",
               "a-dup|CREATE TABLE `a-dup` (\n"
               "  `k` int NOT NULL\n"
               ") ENGINE=OLAP\n"
               "DUPLICATE KEY(`k`)\n"
               "COMMENT 'OLAP'\n"
               "DISTRIBUTED BY RANDOM BUCKETS 1\n"
               "PROPERTIES (\n"
               "\"replication_allocation\" = \"tag.location.default: 1\",\n"
               "\"min_load_replica_num\" = \"-1\",\n"
               "\"is_being_synced\" = \"false\",\n"
               "\"storage_medium\" = \"hdd\",\n"
               "\"storage_format\" = \"V2\",\n"
               "\"inverted_index_storage_format\" = \"V1\",\n"
               "\"light_schema_change\" = \"true\",\n"
               "\"disable_auto_compaction\" = \"false\",\n"
               "\"enable_single_replica_compaction\" = \"false\",\n"
               "\"group_commit_interval_ms\" = \"10000\",\n"
               "\"group_commit_data_bytes\" = \"134217728\"\n"
               ");");
    check_rows(DB,
               "SELECT COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, "
               "COLUMN_KEY, COLUMN_DEFAULT, COLUMN_COMMENT FROM information_schema.COLUMNS "
               "WHERE TABLE_SCHEMA = 'ddldb' AND TABLE_NAME = 't' ORDER BY ORDINAL_POSITION",
               "id|1|bigint|bigint|NO|UNI|NULL|;amount|2|decimal|decimal(10,2)|YES||NULL|money;"
               "c|3|int|int|YES||7|");
    check_rows(DB,
               "SELECT TABLE_NAME, TABLE_TYPE, TABLE_ROWS FROM information_schema.TABLES "
               "WHERE TABLE_SCHEMA = 'ddldb' ORDER BY TABLE_NAME",
               "a-dup|BASE TABLE|2;t|BASE TABLE|4");
    sql_err(DB, "DESC nosuch", "Unknown table 'nosuch'");
}

static void test_select_truncate(void)
{
    check_rows(DB, "SELECT count(*) FROM t", "4");
    check_rows(DB, "SELECT id FROM t WHERE amount > 2 ORDER BY amount DESC", "4;2");
    check_rows(DB, "SELECT id FROM t ORDER BY id DESC LIMIT 2", "4;3");
    check_rows(DB, "SELECT id FROM t ORDER BY id LIMIT 1, 2", "2;3");
    check_rows(DB, "SELECT count(*), sum(c) FROM t WHERE amount IS NULL", "1|7");
    /* expressions carry their value's kind: a DECIMAL aggregate is its canonical text */
    check_rows(DB, "SELECT max(amount), min(amount) FROM t", "4.00|1.50");
    sql_err(DB, "SELECT nope FROM t", "Unknown column 'nope' in 'table list'");
    sql_err(DB, "SELECT 1 FROM nosuch", "Table [nosuch] does not exist in database [ddldb].");
    ec_sql_ok(DB, "TRUNCATE TABLE t");
    check_rows(DB, "SELECT count(*) FROM t", "0");
    check_rows(DB, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_NAME = 't'", "0");
    /* the table still takes loads */
    load("t", "9,9.99,9\n");
    check_rows(DB, "SELECT id, c FROM t", "9|9");
    ec_sql_ok(DB, "DROP TABLE t");
    sql_err(DB, "DROP TABLE t", "Unknown table 't'");
    ec_sql_ok(DB, "DROP TABLE IF EXISTS t");
    check_rows(DB, "SHOW TABLES", "a-dup");
}

static void test_shapes(void)
{
    struct t_resp r;
    char *keys;
    json_t *data, *meta;

    ec_sql_ok(DB, "CREATE TABLE s (k INT NOT NULL, v VARCHAR(5) NULL) DUPLICATE KEY(k) "
                  "DISTRIBUTED BY HASH(k) BUCKETS 1");
    load("s", "2,b\n1,a\n");
    /* streaming result set */
    ec_sql_as(ec_fe_port, "root:", DB, "SELECT k, v FROM s ORDER BY k", true, &r);
    keys = t_json_keys(r.json);
    T_EQ_STR(keys, "data,msg,code");
    free(keys);
    data = json_object_get(r.json, "data");
    keys = t_json_keys(data);
    T_EQ_STR(keys, "type,meta,data,time");
    free(keys);
    meta = json_object_get(data, "meta");
    T_EQ_STR(t_json_str(json_array_get(meta, 0), "type"), "INT");
    T_EQ_STR(t_json_str(json_array_get(meta, 1), "name"), "v");
    T_EQ_STR(t_json_str(json_array_get(meta, 1), "type"), "VARCHAR");
    {
        char *d = json_dumps(json_object_get(data, "data"), JSON_COMPACT);

        T_EQ_STR(d, "[[1,\"a\"],[2,\"b\"]]");
        free(d);
    }
    T_EQ_STR(t_json_str(r.json, "msg"), "success");
    t_resp_free(&r);
    /* non-streaming result set */
    ec_sql_as(ec_fe_port, "root:", DB, "SELECT k, v FROM s ORDER BY k", false, &r);
    keys = t_json_keys(r.json);
    T_EQ_STR(keys, "msg,code,data,count");
    free(keys);
    T_EQ_INT(t_json_int(r.json, "count"), 0);
    data = json_object_get(r.json, "data");
    T_EQ_STR(t_json_str(data, "type"), "result_set");
    {
        char *d = json_dumps(json_object_get(data, "data"), JSON_COMPACT);

        T_EQ_STR(d, "[[1,\"a\"],[2,\"b\"]]");
        free(d);
    }
    t_resp_free(&r);
    /* DDL in both shapes */
    ec_sql_as(ec_fe_port, "root:", DB, "TRUNCATE TABLE s", true, &r);
    keys = t_json_keys(r.json);
    T_EQ_STR(keys, "msg,code,data");
    free(keys);
    T_EQ_STR(t_json_str(json_object_get(r.json, "data"), "type"), "exec_status");
    t_resp_free(&r);
    ec_sql_as(ec_fe_port, "root:", DB, "TRUNCATE TABLE s", false, &r);
    keys = t_json_keys(r.json);
    T_EQ_STR(keys, "msg,code,data,count");
    free(keys);
    T_EQ_STR(t_json_str(json_object_get(r.json, "data"), "type"), "exec_status");
    t_resp_free(&r);
    /* an error answers the same shape either way */
    ec_sql_as(ec_fe_port, "root:", DB, "SELECT * FROM nosuch", true, &r);
    keys = t_json_keys(r.json);
    T_EQ_STR(keys, "msg,code,data,count");
    free(keys);
    T_EQ_INT(t_json_int(r.json, "code"), 1);
    t_resp_free(&r);
}

int main(void)
{
    ec_init();
    test_databases();
    test_create_rules();
    test_tables_alter();
    test_show_desc();
    test_select_truncate();
    test_shapes();
    return t_done();
}
