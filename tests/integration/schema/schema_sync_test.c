/*
 * schema_sync_test.c - the schema step against real PostgreSQL and
 * doris-emu: every table is created (doris-emu enforces Doris's CREATE
 * TABLE rules), the columns Doris reports match the mapping, a rerun under
 * --on-conflict report refuses with a comparison, ignore keeps compatible
 * tables and refuses changed ones, and colliding names are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2d_error.h"
#include "schema/schema_sync.h"
#include "source_db.h"
#include "testlib.h"

static struct p2d_doris_sql *sql;

static json_t *query(const char *db, const char *stmt)
{
    enum p2d_doris_fail fail;
    char err[1024];
    json_t *data = NULL;

    if (p2d_doris_sql_exec(sql, db, stmt, &data, &fail, err, sizeof(err)) != 0)
        fprintf(stderr, "doris-emu: %s\n", err);
    return data;
}

/* COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY of one column, "type|nullable|key". */
static char *column_desc(const char *db, const char *table, const char *col)
{
    static char out[200];
    char q[600];
    json_t *data, *row;

    snprintf(q, sizeof(q),
             "SELECT COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.`COLUMNS` "
             "WHERE TABLE_SCHEMA = '%s' AND TABLE_NAME = '%s' AND COLUMN_NAME = '%s'",
             db, table, col);
    data = query("information_schema", q);
    row = json_array_get(p2d_doris_rows(data), 0);
    snprintf(out, sizeof(out), "%s|%s|%s", json_string_value(json_array_get(row, 0)),
             json_string_value(json_array_get(row, 1)), json_string_value(json_array_get(row, 2)));
    json_decref(data);
    return out;
}

static const struct p2d_schema_result *result(const struct p2d_schema_report *rep, const char *name)
{
    for (size_t i = 0; rep && i < rep->nresults; i++)
        if (strcmp(rep->results[i].table->name, name) == 0)
            return &rep->results[i];
    T_CHECK(!"table in report");
    return NULL;
}

int main(void)
{
    PGconn *conn = source_db_setup();
    static const char mapping[] = "{\"tables\": {\"app.Größe\": {\"name\": \"groesse\", "
                                  "\"columns\": {\"Wert\": \"wert\"}}}}";
    struct p2d_job *job = source_db_job("synctest", "--include app.*", mapping);
    struct p2d_schema_report *rep = NULL;
    struct p2d_catalog *cat = NULL;
    struct p2d_pg_error perr;
    const struct p2d_schema_result *r;
    char err[4096];
    int rc;
    struct p2d_dest d;
    char url[200];

    snprintf(url, sizeof(url), "http://root@127.0.0.1:%s/synctest", t_env("EMU_FE_PORT"));
    T_EQ_INT(p2d_dest_parse(url, NULL, &d, err, sizeof(err)), 0);
    sql = p2d_doris_sql_create(&d, 10000);

    /* first run: everything created */
    T_EQ_INT(p2d_catalog_read(conn, job, 0, &cat, &perr), 0);
    rc = p2d_schema_sync(sql, job, cat, NULL, &rep, err, sizeof(err));
    T_EQ_INT(rc, 0);
    T_EQ_INT(p2d_schema_exit_code(rc), P2D_EXIT_OK);
    if (!rep) {
        fprintf(stderr, "no report: %s\n", err);
        return t_done();
    }
    T_EQ_INT(rep->ncreated, 6);
    for (size_t i = 0; i < rep->nresults; i++)
        if (rep->results[i].outcome != P2D_SCHEMA_CREATED)
            fprintf(stderr, "%s: %s\n", rep->results[i].table->name, rep->results[i].reason);
    if ((r = result(rep, "Größe")))
        T_EQ_STR(r->name, "groesse");

    /* what Doris holds */
    T_EQ_STR(column_desc("synctest", "all_types", "id"), "bigint|NO|UNI");
    T_EQ_STR(column_desc("synctest", "all_types", "s"), "smallint|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "i"), "int|NO|");
    T_EQ_STR(column_desc("synctest", "all_types", "ser"), "int|NO|");
    T_EQ_STR(column_desc("synctest", "all_types", "d"), "decimal(12,3)|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "dn"), "text|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "r"), "double|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "dp"), "double|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "m"), "text|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "c"), "varchar(20)|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "vc"), "varchar(80)|NO|");
    T_EQ_STR(column_desc("synctest", "all_types", "by"), "text|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "ts"), "datetime(3)|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "tstz"), "datetime(6)|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "dt"), "date|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "tm"), "varchar(50)|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "tmtz"), "varchar(50)|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "iv"), "text|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "bo"), "boolean|NO|");
    T_EQ_STR(column_desc("synctest", "all_types", "ip"), "text|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "j"), "json|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "jb"), "json|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "u"), "varchar(36)|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "arr"), "text|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "en"), "varchar(256)|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "pr"), "decimal(10,2)|YES|");
    T_EQ_STR(column_desc("synctest", "all_types", "bits"), "varchar(3)|YES|");
    T_EQ_STR(column_desc("synctest", "comp", "b"), "varchar(65533)|NO|UNI");
    T_EQ_STR(column_desc("synctest", "nokey", "_record_id"), "bigint|NO|DUP");
    T_EQ_STR(column_desc("synctest", "nokey", "msg"), "text|YES|");
    T_EQ_STR(column_desc("synctest", "uniq", "y"), "int|NO|UNI");
    T_EQ_STR(column_desc("synctest", "parted", "at"), "date|NO|UNI");
    T_EQ_STR(column_desc("synctest", "groesse", "wert"), "text|YES|");
    p2d_schema_report_destroy(rep);
    rep = NULL;

    /* rerun, --on-conflict report (default): every table refused with a comparison */
    rc = p2d_schema_sync(sql, job, cat, NULL, &rep, err, sizeof(err));
    T_EQ_INT(rc, P2D_EINVAL);
    T_EQ_INT(p2d_schema_exit_code(rc), P2D_EXIT_PRECHECK);
    T_HAS_STR(err, "6 of 6 tables refused");
    T_EQ_INT(rep ? rep->nrefused : 0, 6);
    if ((r = result(rep, "comp"))) {
        T_EQ_INT(r->outcome, P2D_SCHEMA_REFUSED);
        T_HAS_STR(r->reason, "Doris table \"synctest\".\"comp\" for \"app\".\"comp\" already "
                             "exists; --on-conflict report leaves existing tables alone");
        T_HAS_STR(r->reason, "varchar(65533) NOT NULL key");
        T_HAS_STR(r->reason, "hint: drop the Doris table");
    }
    p2d_schema_report_destroy(rep);
    rep = NULL;
    p2d_job_destroy(job);

    /* ignore: kept, except a table whose columns changed in Doris */
    {
        json_t *done =
            query("synctest", "ALTER TABLE `synctest`.`uniq` ADD COLUMN `extra` INT NULL");

        T_CHECK(done != NULL);
        json_decref(done);
    }
    job = source_db_job("synctest", "--include app.* --on-conflict ignore", mapping);
    rc = p2d_schema_sync(sql, job, cat, NULL, &rep, err, sizeof(err));
    T_EQ_INT(rc, P2D_EINVAL);
    T_EQ_INT(rep ? rep->nexisted : 0, 5);
    T_EQ_INT(rep ? rep->nrefused : 0, 1);
    if ((r = result(rep, "uniq"))) {
        T_EQ_INT(r->outcome, P2D_SCHEMA_REFUSED);
        T_HAS_STR(r->reason, "with other column names or another key");
        T_HAS_STR(r->reason, "extra");
        T_HAS_STR(r->reason, "<- not in the source");
    }
    if ((r = result(rep, "nokey")))
        T_EQ_INT(r->outcome, P2D_SCHEMA_EXISTED);
    p2d_schema_report_destroy(rep);
    rep = NULL;
    p2d_catalog_destroy(cat);
    cat = NULL;
    p2d_job_destroy(job);

    /* two schemas, one Doris name: refused, nothing created */
    job = source_db_job("colltest", "--include *.comp", NULL);
    T_EQ_INT(p2d_catalog_read(conn, job, 0, &cat, &perr), 0);
    rc = p2d_schema_sync(sql, job, cat, NULL, &rep, err, sizeof(err));
    T_EQ_INT(rc, P2D_EINVAL);
    T_EQ_INT(rep ? rep->nrefused : 0, 2);
    for (size_t i = 0; rep && i < rep->nresults; i++)
        T_HAS_STR(rep->results[i].reason, "tables \"app\".\"comp\" and \"other\".\"comp\" both "
                                          "land on Doris table \"colltest\".\"comp\"");
    T_EQ_STR(column_desc("colltest", "comp", "a"), "(null)|(null)|(null)");
    p2d_schema_report_destroy(rep);
    rep = NULL;
    p2d_catalog_destroy(cat);
    cat = NULL;
    p2d_job_destroy(job);

    /* mapped explicitly to one name with the same columns: merged on purpose */
    job = source_db_job("mergetest", "--include *.comp",
                        "{\"tables\": {\"app.comp\": {\"name\": \"comp_all\"}, \"other.comp\": "
                        "{\"name\": \"comp_all\"}}}");
    T_EQ_INT(p2d_catalog_read(conn, job, 0, &cat, &perr), 0);
    rc = p2d_schema_sync(sql, job, cat, NULL, &rep, err, sizeof(err));
    /* app.comp (b text, a int) and other.comp (a int) differ: the second is refused */
    T_EQ_INT(rc, P2D_EINVAL);
    if ((r = result(rep, "comp")) && rep->nresults == 2) {
        T_EQ_INT(rep->results[0].outcome, P2D_SCHEMA_CREATED);
        T_EQ_INT(rep->results[1].outcome, P2D_SCHEMA_REFUSED);
        T_HAS_STR(rep->results[1].reason, "but their columns differ");
    }
    p2d_schema_report_destroy(rep);
    p2d_catalog_destroy(cat);
    p2d_job_destroy(job);
    p2d_doris_sql_destroy(sql);
    PQfinish(conn);
    return t_done();
}
