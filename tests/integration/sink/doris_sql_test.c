/*
 * doris_sql_test.c - the engine's SQL-over-HTTP client against doris-emu:
 * DDL, result sets, and each failure class (SQL error, auth, transport).
 */
#include <stdio.h>

#include "p2d_error.h"
#include "sink/doris_sql.h"
#include "testlib.h"

static struct p2d_doris_sql *client(const char *userpw, int port)
{
    char url[256], err[256];
    struct p2d_dest d;

    snprintf(url, sizeof(url), "http://%s@127.0.0.1:%d/sqltest", userpw, port);
    T_EQ_INT(p2d_dest_parse(url, NULL, &d, err, sizeof(err)), 0);
    return p2d_doris_sql_create(&d, 10000);
}

int main(void)
{
    int fe = t_env_int("EMU_FE_PORT");
    struct p2d_doris_sql *c = client("root", fe);
    enum p2d_doris_fail fail;
    char err[512];
    json_t *data = NULL, *rows;

    T_EQ_INT(p2d_doris_sql_exec(c, "information_schema", "CREATE DATABASE sqltest", NULL, &fail,
                                err, sizeof(err)),
             0);
    T_EQ_INT(fail, P2D_DORIS_OK);
    T_EQ_INT(p2d_doris_sql_exec(c, "sqltest",
                                "CREATE TABLE `t` (`id` BIGINT NOT NULL, `v` STRING NULL) UNIQUE "
                                "KEY(`id`) DISTRIBUTED BY HASH(`id`) BUCKETS 1",
                                NULL, &fail, err, sizeof(err)),
             0);
    T_EQ_INT(p2d_doris_sql_exec(c, "sqltest",
                                "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.`COLUMNS` "
                                "WHERE TABLE_SCHEMA = 'sqltest' AND TABLE_NAME = 't' ORDER BY "
                                "ORDINAL_POSITION",
                                &data, &fail, err, sizeof(err)),
             0);
    rows = p2d_doris_rows(data);
    T_EQ_INT(json_array_size(rows), 2);
    T_EQ_STR(json_string_value(json_array_get(json_array_get(rows, 0), 0)), "id");
    T_EQ_STR(json_string_value(json_array_get(json_array_get(rows, 1), 0)), "v");
    json_decref(data);

    /* Doris refuses a statement: SQL class, detail kept. */
    T_EQ_INT(
        p2d_doris_sql_exec(c, "sqltest",
                           "CREATE TABLE `bad` (`v` STRING NOT NULL, `x` INT NULL) UNIQUE KEY(`v`) "
                           "DISTRIBUTED BY HASH(`v`) BUCKETS 1",
                           NULL, &fail, err, sizeof(err)),
        P2D_EDEST);
    T_EQ_INT(fail, P2D_DORIS_SQL);
    T_HAS_STR(err, "Doris refused the statement");
    T_HAS_STR(err, "String Type should not be used in key column");
    p2d_doris_sql_destroy(c);

    /* Wrong password: auth class, the password is not in the message. */
    c = client("root:n0tit", fe);
    T_EQ_INT(p2d_doris_sql_exec(c, "sqltest", "SHOW TABLES", NULL, &fail, err, sizeof(err)),
             P2D_EDEST);
    T_EQ_INT(fail, P2D_DORIS_AUTH);
    T_HAS_STR(err, "refused user \"root\"");
    T_CHECK(strstr(err, "n0tit") == NULL);
    p2d_doris_sql_destroy(c);

    /* Nothing listening: transport class, retryable. */
    c = client("root", 1);
    T_EQ_INT(p2d_doris_sql_exec(c, "sqltest", "SHOW TABLES", NULL, &fail, err, sizeof(err)),
             P2D_ERETRY);
    T_EQ_INT(fail, P2D_DORIS_TRANSPORT);
    T_HAS_STR(err, "cannot reach the Doris FE at http://127.0.0.1:1");
    p2d_doris_sql_destroy(c);
    return t_done();
}
