/*
 * schema_sync_many_test.c - the schema step with more tables and columns
 * than one catalog answer holds (the FE returns at most 1000 rows, §6.1):
 * 1030 small tables and one of 1101 columns. The first run creates them all
 * with no query per table; after Doris changed (two tables dropped, one
 * altered, one added that the source does not have), --on-conflict ignore
 * recreates the dropped ones, refuses the altered one, keeps the rest (the
 * wide one read across pages) and still asks Doris a few dozen times, not
 * once per table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2d_error.h"
#include "schema/schema_sync.h"
#include "source_db.h"
#include "testlib.h"

#define NSMALL 1030
#define NWIDE  1100

static struct p2d_doris_sql *sql;

static void doris_ok(const char *db, const char *stmt)
{
    enum p2d_doris_fail fail;
    char err[1024];

    if (p2d_doris_sql_exec(sql, db, stmt, NULL, &fail, err, sizeof(err)) != 0)
        t_fail_at(__FILE__, __LINE__, "%s: %s", stmt, err);
}

/* Requests doris-emu's FE has served so far. */
static long long emu_requests(void)
{
    char url[200];
    struct t_req req = {.method = "GET", .url = url};
    struct t_resp resp;
    long long n;

    snprintf(url, sizeof(url), "http://127.0.0.1:%s/_emu/stats", t_env("EMU_FE_PORT"));
    t_http(&req, &resp);
    n = t_json_int(resp.json, "requests");
    t_resp_free(&resp);
    return n;
}

static void setup_source(PGconn *conn)
{
    char sqltext[512];
    PGresult *r;

    snprintf(sqltext, sizeof(sqltext),
             "DROP SCHEMA IF EXISTS many CASCADE; CREATE SCHEMA many;"
             "DO $$ DECLARE t int; cols text; BEGIN"
             " FOR t IN 0..%d LOOP EXECUTE format('CREATE TABLE many.%%I (id int PRIMARY KEY,"
             " a int, b text)', 't' || lpad(t::text, 4, '0')); END LOOP;"
             " SELECT string_agg(format('c%%s int', lpad(g::text, 4, '0')), ', ') INTO cols"
             " FROM generate_series(1, %d) g;"
             " EXECUTE 'CREATE TABLE many.wide (id int PRIMARY KEY, ' || cols || ')'; END $$",
             NSMALL - 1, NWIDE);
    r = PQexec(conn, sqltext);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "setup failed: %s", PQerrorMessage(conn));
        exit(1);
    }
    PQclear(r);
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
    PGconn *conn = PQconnectdb(t_env("P2D_PG_CONNINFO"));
    struct p2d_job *job;
    struct p2d_schema_report *rep = NULL;
    struct p2d_catalog *cat = NULL;
    struct p2d_pg_error perr;
    const struct p2d_schema_result *r;
    char err[4096], url[200];
    struct p2d_dest d;
    long long before;
    int rc;

    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect: %s", PQerrorMessage(conn));
        return 1;
    }
    setup_source(conn);
    snprintf(url, sizeof(url), "http://root@127.0.0.1:%s/manytest", t_env("EMU_FE_PORT"));
    T_EQ_INT(p2d_dest_parse(url, NULL, &d, err, sizeof(err)), 0);
    sql = p2d_doris_sql_create(&d, 30000);

    /* first run: all created; one listing query, then only the CREATEs */
    job = source_db_job("manytest", "--include many.*", NULL);
    T_EQ_INT(p2d_catalog_read(conn, job, 0, &cat, &perr), 0);
    before = emu_requests();
    rc = p2d_schema_sync(sql, job, cat, NULL, &rep, err, sizeof(err));
    T_EQ_INT(rc, 0);
    T_EQ_INT(rep ? (long long)rep->ncreated : -1, NSMALL + 1);
    /* CREATE DATABASE, the listing (one empty page), the tables, our stats GET */
    T_EQ_INT(emu_requests() - before, 1 + 1 + NSMALL + 1 + 1);
    p2d_schema_report_destroy(rep);
    rep = NULL;
    p2d_job_destroy(job);

    /* Doris changes behind the sync's back */
    doris_ok("manytest", "DROP TABLE `manytest`.`t0005`");
    doris_ok("manytest", "DROP TABLE `manytest`.`t1029`");
    doris_ok("manytest", "ALTER TABLE `manytest`.`t0700` ADD COLUMN `extra` INT NULL");
    doris_ok("manytest", "CREATE TABLE `manytest`.`aaa_doris_only` (`x` INT) DUPLICATE KEY(`x`)");

    job = source_db_job("manytest", "--include many.* --on-conflict ignore", NULL);
    before = emu_requests();
    rc = p2d_schema_sync(sql, job, cat, NULL, &rep, err, sizeof(err));
    T_EQ_INT(rc, P2D_EINVAL);
    T_EQ_INT(rep ? (long long)rep->ncreated : -1, 2);
    T_EQ_INT(rep ? (long long)rep->nrefused : -1, 1);
    T_EQ_INT(rep ? (long long)rep->nexisted : -1, NSMALL + 1 - 3);
    if ((r = result(rep, "t0005")))
        T_EQ_INT(r->outcome, P2D_SCHEMA_CREATED);
    if ((r = result(rep, "t1029")))
        T_EQ_INT(r->outcome, P2D_SCHEMA_CREATED);
    if ((r = result(rep, "wide"))) {
        T_EQ_INT(r->outcome, P2D_SCHEMA_EXISTED);
        if (r->outcome != P2D_SCHEMA_EXISTED)
            fprintf(stderr, "wide: %.2000s\n", r->reason ? r->reason : "");
    }
    if ((r = result(rep, "t0700"))) {
        T_EQ_INT(r->outcome, P2D_SCHEMA_REFUSED);
        T_HAS_STR(r->reason, "with other column names or another key");
        T_HAS_STR(r->reason, "extra");
        T_HAS_STR(r->reason, "<- not in the source");
    }
    /* listing: 2 pages and an empty one; columns: ~17 windows, the wide one
     * over 2 pages; 2 CREATEs; the stats GET */
    T_CHECK(emu_requests() - before < 40);
    p2d_schema_report_destroy(rep);
    rep = NULL;
    p2d_job_destroy(job);

    /* --on-conflict report: every existing table refused with its comparison */
    job = source_db_job("manytest", "--include many.*", NULL);
    rc = p2d_schema_sync(sql, job, cat, NULL, &rep, err, sizeof(err));
    T_EQ_INT(rc, P2D_EINVAL);
    T_EQ_INT(rep ? (long long)rep->nrefused : -1, NSMALL + 1);
    /* 1101 columns: the comparison is cut at 64 KiB, the table refused all the same */
    if ((r = result(rep, "wide")) && r->reason) {
        T_EQ_INT(r->outcome, P2D_SCHEMA_REFUSED);
        T_HAS_STR(r->reason, "already exists; --on-conflict report leaves existing tables alone");
        T_HAS_STR(r->reason, "(comparison cut at 64 KiB)\nhint: drop the Doris table");
        T_CHECK(!strstr(r->reason, "<- missing"));
    } else {
        T_CHECK(!"wide refused with a reason");
    }
    if ((r = result(rep, "t0001")) && r->reason)
        T_HAS_STR(r->reason, "| int NOT NULL key                 | int NOT NULL key\n");
    p2d_schema_report_destroy(rep);
    p2d_job_destroy(job);
    p2d_catalog_destroy(cat);
    p2d_doris_sql_destroy(sql);
    PQfinish(conn);
    return t_done();
}
