/*
 * sqlparse_test.c - doris-emu sqlparse.c: tokenizer corners, statement
 * parsing, Doris's CREATE / ALTER rules with Doris's texts, privilege
 * needs, identifier rules and the SELECT rewrite.
 */
#include "emu.h"
#include "sqlparse.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse_case {
    const char *sql;
    int kind; /* -1: must fail */
    const char *db, *table;
};

static const struct parse_case parse_cases[] = {
    {"CREATE DATABASE d", EMU_STMT_CREATE_DB, "d", ""},
    {"create schema if not exists `my db`;", EMU_STMT_CREATE_DB, "my db", ""},
    {"DROP DATABASE IF EXISTS d FORCE", EMU_STMT_DROP_DB, "d", ""},
    {"DROP TABLE IF EXISTS a.b FORCE", EMU_STMT_DROP_TABLE, "a", "b"},
    {"TRUNCATE TABLE `x`", EMU_STMT_TRUNCATE, "", "x"},
    {"SHOW DATABASES", EMU_STMT_SHOW_DATABASES, "", ""},
    {"SHOW TABLES FROM d", EMU_STMT_SHOW_TABLES, "d", ""},
    {"show full tables in d", EMU_STMT_SHOW_TABLES, "d", ""},
    {"DESC d.t", EMU_STMT_DESC, "d", "t"},
    {"DESCRIBE t ALL", EMU_STMT_DESC, "", "t"},
    {"SHOW CREATE TABLE `d`.`t`", EMU_STMT_SHOW_CREATE_TABLE, "d", "t"},
    {"SHOW FULL COLUMNS FROM t FROM d", EMU_STMT_SHOW_COLUMNS, "d", "t"},
    {"SHOW COLUMNS IN `d`.`t`", EMU_STMT_SHOW_COLUMNS, "d", "t"},
    {"/* c */ SELECT 1 -- tail", EMU_STMT_SELECT, "", ""},
    {"# c\nselect * from t", EMU_STMT_SELECT, "", ""},
    {"(SELECT 1)", EMU_STMT_SELECT, "", ""},
    {"USE d", EMU_STMT_USE, "d", ""},
    {"SET enable_profile = true", EMU_STMT_SET, "", ""},
    {"ALTER TABLE t ADD COLUMN c INT", EMU_STMT_ALTER_TABLE, "", "t"},
    {"ALTER TABLE d.t DROP COLUMN c", EMU_STMT_ALTER_TABLE, "d", "t"},
    {"ALTER TABLE t MODIFY COLUMN c BIGINT NULL", EMU_STMT_ALTER_TABLE, "", "t"},
    {"CREATE TABLE t (a INT) DISTRIBUTED BY HASH(a) BUCKETS AUTO", EMU_STMT_CREATE_TABLE, "", "t"},
    {"SELECT 'unterminated", -1, "", ""},
    {"SELECT `x", -1, "", ""},
    {"/* open", -1, "", ""},
    {"CREATE DATABASE", -1, "", ""},
    {"ALTER TABLE t RENAME x", -1, "", ""},
    {"INSERT INTO t VALUES (1)", -1, "", ""},
    {"SHOW DATABASES extra", -1, "", ""},
    {"CREATE TABLE t (a INT) ENGINE=mysql", -1, "", ""},
    {"CREATE TABLE t (a INT) DISTRIBUTED BY HASH(a) BUCKETS 0", -1, "", ""},
    {"", -1, "", ""},
};

static void test_parse(void)
{
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct emu_stmt st;
        struct emu_err err = {"", ""};
        int rc = emu_sql_parse(c->sql, &st, &err);

        if (c->kind < 0) {
            if (rc == 0) {
                t_fail_at(__FILE__, __LINE__, "parsed but must fail: %s", c->sql);
                emu_stmt_fini(&st);
            } else {
                T_CHECK(err.msg[0] != '\0');
            }
            continue;
        }
        if (rc != 0) {
            t_fail_at(__FILE__, __LINE__, "did not parse: %s: %s", c->sql, err.msg);
            continue;
        }
        T_EQ_INT(st.kind, c->kind);
        T_EQ_STR(st.db, c->db);
        T_EQ_STR(st.table, c->table);
        emu_stmt_fini(&st);
    }
}

static void test_create_details(void)
{
    struct emu_stmt st;
    struct emu_err err;
    const char *sql = "CREATE TABLE IF NOT EXISTS `d`.`t``x` (\n"
                      "  `id` BIGINT NOT NULL AUTO_INCREMENT COMMENT 'it''s \\'id\\'',\n"
                      "  k2 VARCHAR(10) KEY NOT NULL,\n"
                      "  v DECIMAL(18, 2) NULL DEFAULT \"1.5\" COMMENT \"amount\",\n"
                      "  n INT DEFAULT -3,\n"
                      "  ts DATETIME(6) DEFAULT CURRENT_TIMESTAMP,\n"
                      "  tags ARRAY<ARRAY<VARCHAR(3)>> NULL,\n"
                      "  INDEX idx_v (v) USING INVERTED COMMENT 'x'\n"
                      ") ENGINE=OLAP\n"
                      "UNIQUE KEY(`id`, k2)\n"
                      "COMMENT 'tbl'\n"
                      "PARTITION BY RANGE(`id`) (PARTITION p1 VALUES LESS THAN (\"100\"))\n"
                      "DISTRIBUTED BY HASH(`id`) BUCKETS 16\n"
                      "PROPERTIES (\"replication_allocation\" = \"tag.location.default: 1\",\n"
                      "  'function_column.sequence_col' = 'n');";

    if (emu_sql_parse(sql, &st, &err) != 0) {
        t_fail_at(__FILE__, __LINE__, "parse failed: %s", err.msg);
        return;
    }
    T_EQ_STR(st.table, "t`x");
    T_EQ_INT(st.if_not_exists, 1);
    T_EQ_INT(st.ncols, 6);
    T_EQ_STR(st.cols[0].comment, "it's 'id'");
    T_EQ_INT(st.cols[0].auto_inc, 1);
    T_EQ_INT(st.cols[1].is_key, 1);
    T_EQ_STR(st.cols[2].default_value, "1.5");
    T_EQ_STR(st.cols[3].default_value, "-3");
    T_EQ_INT(st.cols[4].default_current_ts, 1);
    T_EQ_INT(st.cols[5].type.kind, EMU_ARRAY);
    T_EQ_INT(st.keys_type, EMU_UNIQUE_KEYS);
    T_EQ_INT(st.nkeys, 2);
    T_EQ_STR(st.comment, "tbl");
    T_HAS_STR(st.partition, "PARTITION BY RANGE(`id`) (PARTITION p1");
    T_EQ_INT(st.ndist, 1);
    T_EQ_INT(st.buckets, 16);
    T_EQ_INT(st.nprops, 2);
    T_EQ_STR(st.prop_names[1], "function_column.sequence_col");
    {
        struct emu_table *t = emu_sql_build_table(&st, "d", &err);

        T_CHECK(t == NULL); /* "t`x" is not a valid table name */
        T_HAS_STR(err.msg, "Incorrect table name 't`x'");
    }
    snprintf(st.table, sizeof(st.table), "tx");
    {
        struct emu_table *t = emu_sql_build_table(&st, "d", &err);

        T_CHECK(t != NULL);
        if (t) {
            T_EQ_INT(t->nkeys, 2);
            T_EQ_INT(t->seq_col, 3);
            T_EQ_INT(t->cols[0].nullable, 0);
            T_EQ_INT(t->cols[2].nullable, 1);
            T_EQ_INT(t->cols[3].nullable, 1); /* value column, NULL not said */
            T_EQ_INT(t->merge_on_write, 1);
            T_EQ_INT(t->buckets, 16);
            T_EQ_STR(json_string_value(json_object_get(t->properties, "replication_allocation")),
                     "tag.location.default: 1");
            emu_table_unref(t);
        }
    }
    emu_stmt_fini(&st);
}

struct rule_case {
    const char *sql;
    const char *msg; /* NULL: accepted */
};

static const struct rule_case rules[] = {
    {"CREATE TABLE t (a INT, b INT) UNIQUE KEY(a) DISTRIBUTED BY HASH(a)", NULL},
    {"CREATE TABLE t (a INT, b INT) UNIQUE KEY(a)", NULL}, /* default distribution */
    {"CREATE TABLE t (a INT, b INT) DUPLICATE KEY(a) DISTRIBUTED BY RANDOM BUCKETS 3", NULL},
    {"CREATE TABLE t (b INT, a FLOAT) DUPLICATE KEY(b) DISTRIBUTED BY RANDOM", NULL},
    {"CREATE TABLE t (a INT, b INT) UNIQUE KEY(a, b)",
     "The olap table must have at least one value column when keys type is UNIQUE_KEYS"},
    {"CREATE TABLE t (a INT, b INT) UNIQUE KEY(b)",
     "Key columns should be a ordered prefix of the schema. KeyColumns[0] (starts from zero) is "
     "b, but corresponding column is a in the previous columns declaration."},
    {"CREATE TABLE t (a INT, b INT, c INT) UNIQUE KEY(a, c)",
     "Key columns should be a ordered prefix of the schema. KeyColumns[1] (starts from zero) is "
     "c, but corresponding column is b in the previous columns declaration."},
    {"CREATE TABLE t (a INT, b INT) UNIQUE KEY(x)", "Key column[x] doesn't exist."},
    {"CREATE TABLE t (a FLOAT, b INT) DUPLICATE KEY(a)",
     "Float or double can not used as a key, use decimal instead."},
    {"CREATE TABLE t (a STRING, b INT) DUPLICATE KEY(a)",
     "String Type should not be used in key column[a]."},
    {"CREATE TABLE t (a JSON, b INT) DUPLICATE KEY(a)",
     "JSONB type should not be used in key column[a]."},
    {"CREATE TABLE t (a ARRAY<INT>, b INT) DUPLICATE KEY(a)",
     "Array can only be used in the non-key column of the duplicate table at present."},
    {"CREATE TABLE t (a INT, b INT) UNIQUE KEY(a) DISTRIBUTED BY RANDOM",
     "Should not be distributed by random when keys type is unique"},
    {"CREATE TABLE t (a INT, b INT) UNIQUE KEY(a) DISTRIBUTED BY HASH(b)",
     "Distribution column[b] is not key column"},
    {"CREATE TABLE t (a INT, b INT) DUPLICATE KEY(a) DISTRIBUTED BY HASH(z)",
     "Distribution column(z) doesn't exist."},
    {"CREATE TABLE t (a INT, b DOUBLE) DUPLICATE KEY(a) DISTRIBUTED BY HASH(b)",
     "Floating point type column can not be distribution column"},
    {"CREATE TABLE t (a INT, a INT)", "Duplicate column name 'a'"},
    {"CREATE TABLE t (a INT, b INT) AGGREGATE KEY(a)",
     "doris-emu does not support the AGGREGATE KEY model"},
    {"CREATE TABLE t (a INT, b INT) DUPLICATE KEY(a) PROPERTIES "
     "('function_column.sequence_col'='b')",
     "sequence column only support UNIQUE_KEYS"},
    {"CREATE TABLE t (a INT, b INT) UNIQUE KEY(a) PROPERTIES "
     "('function_column.sequence_type'='varchar(3)')",
     "Sequence type only support integer types and date types"},
    {"CREATE TABLE t (a INT, b INT) UNIQUE KEY(a) PROPERTIES "
     "('function_column.sequence_type'='bigint')",
     NULL},
    {"CREATE TABLE t (a INT, b INT) UNIQUE KEY(a) PROPERTIES "
     "('replication_allocation'='tag.location.default: 2')",
     "Failed to find enough backend, please check the replication num,replication tag and storage "
     "medium and avail capacity of backends or maybe all be on decommission state.\nCreate failed "
     "replications:\nreplication tag: {\"location\" : \"default\"}, replication num: 2, storage "
     "medium: HDD"},
    {"CREATE TABLE t (a INT, b INT DEFAULT 'x')",
     "Invalid default value for 'b': 'x' is not a valid integer"},
    {"CREATE TABLE t (a INT, b INT DEFAULT CURRENT_TIMESTAMP)",
     "Types other than DATETIME and DATETIMEV2 cannot use current_timestamp as the default value"},
    {"CREATE TABLE t (a INT, `mv_x` INT)",
     "Incorrect column name 'mv_x'. Column regex is "
     "'^[_a-zA-Z@0-9\\s<>/][.a-zA-Z0-9_+-/><?@#$%^&*\"\\s,:]{0,255}$'"},
    {"CREATE TABLE t (a INT, b INT) UNIQUE KEY(a) PROPERTIES ('light_schema_change'='maybe')",
     "Property light_schema_change should be set to true or false"},
    {"CREATE TABLE t (a BIGINT NULL AUTO_INCREMENT, b INT)",
     "the auto increment column should be BIGINT NOT NULL type"},
};

static void test_rules(void)
{
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        struct emu_stmt st;
        struct emu_err err = {"", ""};
        struct emu_table *t;

        if (emu_sql_parse(rules[i].sql, &st, &err) != 0) {
            t_fail_at(__FILE__, __LINE__, "did not parse: %s: %s", rules[i].sql, err.msg);
            continue;
        }
        t = emu_sql_build_table(&st, "d", &err);
        if (rules[i].msg) {
            if (t)
                t_fail_at(__FILE__, __LINE__, "accepted, want \"%s\": %s", rules[i].msg,
                          rules[i].sql);
            else
                T_EQ_STR(err.msg, rules[i].msg);
        } else if (!t) {
            t_fail_at(__FILE__, __LINE__, "rejected (%s): %s", err.msg, rules[i].sql);
        } else {
            t_passed++;
        }
        emu_table_unref(t);
        emu_stmt_fini(&st);
    }
}

static void test_default_keys(void)
{
    static const struct {
        const char *sql;
        int nkeys;
        int ndist;
    } cases[] = {
        {"CREATE TABLE t (a INT, b BIGINT, c INT, d INT)", 3, 0},
        {"CREATE TABLE t (a VARCHAR(10), b INT)", 1, 0},
        {"CREATE TABLE t (a BIGINT, b VARCHAR(100), c INT)", 2, 0},
        {"CREATE TABLE t (a DOUBLE, b INT)", 0, 0},
        {"CREATE TABLE t (a INT, b INT) UNIQUE KEY(a)", 1, 1},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct emu_stmt st;
        struct emu_err err;
        struct emu_table *t;

        T_EQ_INT(emu_sql_parse(cases[i].sql, &st, &err), 0);
        t = emu_sql_build_table(&st, "d", &err);
        T_CHECK(t != NULL);
        if (t) {
            T_EQ_INT(t->nkeys, cases[i].nkeys);
            T_EQ_INT(t->ndist, cases[i].ndist);
        }
        emu_table_unref(t);
        emu_stmt_fini(&st);
    }
}

struct alter_case {
    const char *sql;
    const char *msg;    /* NULL: accepted */
    const char *layout; /* column names, key columns marked '*', after success */
};

static const struct alter_case alters[] = {
    {"ALTER TABLE t ADD COLUMN x INT", NULL, "*k,v,seq,x"},
    {"ALTER TABLE t ADD COLUMN x INT FIRST",
     "Invalid column order. value should be after key. index[t]", NULL},
    {"ALTER TABLE t ADD COLUMN x INT AFTER v", NULL, "*k,v,x,seq"},
    {"ALTER TABLE t ADD COLUMN x INT AFTER zz", "Column[zz] does not exist", NULL},
    {"ALTER TABLE t ADD COLUMN (x INT, y VARCHAR(3) DEFAULT 'a')", NULL, "*k,v,seq,x,y"},
    {"ALTER TABLE t ADD COLUMN v INT", "Can not add column which already exists in base table: v",
     NULL},
    {"ALTER TABLE t ADD COLUMN x INT NOT NULL",
     "Can not add column which is not nullable and has no default value: x", NULL},
    {"ALTER TABLE t ADD COLUMN x INT NOT NULL DEFAULT '0'", NULL, "*k,v,seq,x"},
    {"ALTER TABLE t ADD COLUMN x INT KEY",
     "Can not add key column x to a merge-on-write Unique table", NULL},
    {"ALTER TABLE t DROP COLUMN v", NULL, "*k,seq"},
    {"ALTER TABLE t DROP COLUMN k", "Can not drop key column in Unique data model table", NULL},
    {"ALTER TABLE t DROP COLUMN seq",
     "Can not drop sequence mapping column[seq] in Unique data model table[t]", NULL},
    {"ALTER TABLE t DROP COLUMN q", "Column does not exists: q", NULL},
    {"ALTER TABLE t MODIFY COLUMN v VARCHAR(20)", NULL, "*k,v,seq"},
    {"ALTER TABLE t MODIFY COLUMN v VARCHAR(5)", "Can not change VARCHAR(10) to VARCHAR(5)", NULL},
    {"ALTER TABLE t MODIFY COLUMN v STRING", NULL, "*k,v,seq"},
    {"ALTER TABLE t MODIFY COLUMN k BIGINT", "Can not modify distribution column[k]. index[t]",
     NULL},
    {"ALTER TABLE t MODIFY COLUMN seq DATETIME", "Can not alter sequence column[seq]", NULL},
    {"ALTER TABLE t MODIFY COLUMN v VARCHAR(20) NOT NULL",
     "Can not change from nullable to non-nullable", NULL},
};

static void test_alter(void)
{
    struct emu_stmt cst;
    struct emu_err err;
    struct emu_table *base;

    T_EQ_INT(emu_sql_parse("CREATE TABLE t (k INT, v VARCHAR(10), seq BIGINT) UNIQUE KEY(k) "
                           "PROPERTIES ('function_column.sequence_col'='seq')",
                           &cst, &err),
             0);
    base = emu_sql_build_table(&cst, "d", &err);
    emu_stmt_fini(&cst);
    T_CHECK(base != NULL);
    if (!base)
        return;
    for (size_t i = 0; i < sizeof(alters) / sizeof(alters[0]); i++) {
        struct emu_stmt st;
        struct emu_table *t;

        err.msg[0] = '\0';
        if (emu_sql_parse(alters[i].sql, &st, &err) != 0) {
            t_fail_at(__FILE__, __LINE__, "did not parse: %s: %s", alters[i].sql, err.msg);
            continue;
        }
        t = emu_sql_alter_table(&st, base, &err);
        if (alters[i].msg) {
            if (t)
                t_fail_at(__FILE__, __LINE__, "accepted, want \"%s\": %s", alters[i].msg,
                          alters[i].sql);
            else
                T_EQ_STR(err.msg, alters[i].msg);
        } else if (!t) {
            t_fail_at(__FILE__, __LINE__, "rejected (%s): %s", err.msg, alters[i].sql);
        } else {
            char layout[256] = "";

            for (int c = 0; c < t->ncols; c++) {
                strcat(layout, c ? "," : "");
                strcat(layout, t->cols[c].is_key ? "*" : "");
                strcat(layout, t->cols[c].name);
            }
            T_EQ_STR(layout, alters[i].layout);
            T_EQ_INT(t->schema_version, base->schema_version + 1);
            if (t->seq_col >= 0)
                T_EQ_STR(t->cols[t->seq_col].name, "seq");
        }
        emu_table_unref(t);
        emu_stmt_fini(&st);
    }
    emu_table_unref(base);
}

static void test_privs(void)
{
    struct emu_priv_need needs[8];
    struct emu_err err;
    int n;

    n = emu_sql_required_privs("CREATE TABLE t (a INT)", "db", needs, 8, &err);
    T_EQ_INT(n, 1);
    T_EQ_INT(needs[0].priv, EMU_PRIV_CREATE);
    T_EQ_STR(needs[0].db, "db");
    T_EQ_STR(needs[0].table, "t");
    n = emu_sql_required_privs("ALTER TABLE x.t DROP COLUMN c", "db", needs, 8, &err);
    T_EQ_INT(n, 1);
    T_EQ_INT(needs[0].priv, EMU_PRIV_ALTER);
    T_EQ_STR(needs[0].db, "x");
    n = emu_sql_required_privs("DROP DATABASE x", "", needs, 8, &err);
    T_EQ_INT(needs[0].priv, EMU_PRIV_DROP);
    T_EQ_STR(needs[0].table, "");
    n = emu_sql_required_privs("CREATE DATABASE IF NOT EXISTS x", "", needs, 8, &err);
    T_EQ_INT(needs[0].priv, EMU_PRIV_CREATE);
    n = emu_sql_required_privs("TRUNCATE TABLE t", "db", needs, 8, &err);
    T_EQ_INT(needs[0].priv, EMU_PRIV_LOAD);
    n = emu_sql_required_privs("SHOW DATABASES", "", needs, 8, &err);
    T_EQ_INT(n, 0);
    n = emu_sql_required_privs(
        "SELECT a.x, b.y FROM t1 a JOIN o.t2 b ON a.id = b.id, t3 WHERE a.x IN (SELECT z FROM "
        "t4) AND EXISTS (SELECT 1 FROM information_schema.COLUMNS)",
        "db", needs, 8, &err);
    T_EQ_INT(n, 4);
    if (n == 4) {
        T_EQ_STR(needs[0].table, "t1");
        T_EQ_STR(needs[1].db, "o");
        T_EQ_STR(needs[1].table, "t2");
        T_EQ_STR(needs[2].table, "t3");
        T_EQ_STR(needs[3].table, "t4");
        T_EQ_INT(needs[3].priv, EMU_PRIV_SELECT);
    }
    T_EQ_INT(emu_sql_required_privs("GRANT ALL ON *.* TO x", "", needs, 8, &err), -1);
    T_HAS_STR(err.msg, "mismatched input 'GRANT'");
}

static void rewrite_case(const char *sql, const char *db, const char *want)
{
    struct emu_stmt st;
    struct emu_err err;
    struct emu_buf out;

    if (emu_sql_parse(sql, &st, &err) != 0) {
        t_fail_at(__FILE__, __LINE__, "did not parse: %s: %s", sql, err.msg);
        return;
    }
    emu_buf_init(&out);
    emu_sql_rewrite_select(&st, sql, db, &out);
    T_EQ_STR(out.data, want);
    emu_buf_fini(&out);
    emu_stmt_fini(&st);
}

static void test_rewrite(void)
{
    rewrite_case("SELECT * FROM t", "d", "SELECT * FROM \"d.t\" AS \"t\"");
    rewrite_case("SELECT `a` FROM `x`.`t` tt WHERE b = \"it's\"", "d",
                 "SELECT \"a\" FROM \"x.t\" tt WHERE b = 'it''s'");
    rewrite_case("select c from information_schema.`columns` where x='a\\'b'", "",
                 "select c from \"information_schema.COLUMNS\" AS \"columns\" where x='a''b'");
    rewrite_case("SELECT 1 FROM a, b AS bb LEFT JOIN c ON a.x = c.x ORDER BY 1 LIMIT 5", "d",
                 "SELECT 1 FROM \"d.a\" AS \"a\", \"d.b\" AS bb LEFT JOIN \"d.c\" AS \"c\" ON "
                 "a.x = c.x ORDER BY 1 LIMIT 5");
    rewrite_case("SELECT (SELECT max(v) FROM t2) FROM t1", "d",
                 "SELECT (SELECT max(v) FROM \"d.t2\" AS \"t2\") FROM \"d.t1\" AS \"t1\"");
    rewrite_case("SELECT x FROM (SELECT 1 AS x) s", "d", "SELECT x FROM (SELECT 1 AS x) s");
}

static void test_identifiers(void)
{
    struct emu_err err;

    T_EQ_INT(emu_sql_check_db_name("abc_1-x", &err), 0);
    T_EQ_INT(emu_sql_check_db_name("_abc", &err), -1);
    T_EQ_INT(emu_sql_check_db_name("a.b", &err), -1);
    T_EQ_INT(emu_sql_check_db_name(
                 "a23456789012345678901234567890123456789012345678901234567890123", &err),
             0);
    T_EQ_INT(emu_sql_check_db_name(
                 "a234567890123456789012345678901234567890123456789012345678901234x", &err),
             -1);
    T_EQ_INT(emu_sql_check_table_name("T1", &err), 0);
    T_EQ_INT(emu_sql_check_table_name("1t", &err), -1);
    T_EQ_INT(emu_sql_check_column_name("_col", &err), 0);
    T_EQ_INT(emu_sql_check_column_name("col name", &err), 0);
    T_EQ_INT(emu_sql_check_column_name("c!", &err), -1);
    T_EQ_INT(emu_sql_check_column_name("__doris_shadow_c", &err), -1);
}

int main(void)
{
    test_parse();
    test_create_details();
    test_rules();
    test_default_keys();
    test_alter();
    test_privs();
    test_rewrite();
    test_identifiers();
    return t_done();
}
