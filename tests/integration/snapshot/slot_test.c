/*
 * slot_test.c - the consistent cut against a real PostgreSQL 15: slot and
 * exported snapshot, the holder's re-export hides rows committed after the
 * consistent point, the slot sits at that point, the holder's locks stop
 * TRUNCATE, a lock conflict names the blocker and leaves no slot behind,
 * drop removes slot and publication, and the precheck sees XID holders.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "p2d_error.h"
#include "snapshot/pgconn.h"
#include "snapshot/slot.h"
#include "engine_it.h"
#include "testlib.h"

static PGconn *admin;

static long long value_ll(PGconn *c, const char *sql)
{
    struct p2d_pg_error e;
    char v[64];
    bool null;

    if (p2d_pg_query_value(c, sql, "test query", v, sizeof(v), &null, &e) != 0) {
        t_fail_at(__FILE__, __LINE__, "%s: %s", sql, e.message);
        return -1;
    }
    return null ? -1 : atoll(v);
}

static PGconn *connect_sql(void)
{
    struct p2d_pg_error e;
    PGconn *c = NULL;

    if (p2d_pg_connect(t_env("P2D_PG_CONNINFO"), P2D_PG_SQL, "slot_test", &c, &e) != 0)
        t_fail_at(__FILE__, __LINE__, "connect: %s", e.message);
    return c;
}

static void test_lsn(void)
{
    uint64_t lsn = 0;
    char out[24];

    T_EQ_INT(p2d_pg_lsn_parse("0/194F188", &lsn), 0);
    T_CHECK(lsn == 0x194F188ull);
    T_EQ_INT(p2d_pg_lsn_parse("16/0194F188", &lsn), 0);
    T_CHECK(lsn == ((0x16ull << 32) | 0x194F188ull));
    T_EQ_STR(p2d_pg_lsn_format(lsn, out, sizeof(out)), "16/194F188");
    T_EQ_INT(p2d_pg_lsn_parse("0194F188", &lsn), P2D_EINVAL);
    T_EQ_INT(p2d_pg_lsn_parse("1/", &lsn), P2D_EINVAL);
    T_EQ_INT(p2d_pg_lsn_parse("100000000/0", &lsn), P2D_EINVAL);
    T_EQ_INT(p2d_pg_lsn_parse("1/2x", &lsn), P2D_EINVAL);
}

static void test_connect_errors(void)
{
    struct p2d_pg_error e;
    PGconn *c = NULL;
    char ci[512];
    int rc;

    /* unreachable: a closed port; the password must not show */
    rc = p2d_pg_connect("host=127.0.0.1 port=1 user=x password=sekrit123 connect_timeout=3",
                        P2D_PG_SQL, NULL, &c, &e);
    T_EQ_INT(rc, P2D_ESOURCE);
    T_CHECK(c == NULL);
    T_EQ_INT(e.cls, P2D_PG_CONNECT);
    T_EQ_INT(p2d_pg_error_exit_code(&e), P2D_EXIT_SOURCE);
    T_CHECK(strstr(e.message, "sekrit123") == NULL);
    T_HAS_STR(e.message, "cannot connect to PostgreSQL");
    T_CHECK(e.hint[0] != '\0');

    /* a connection string libpq cannot parse: nothing of it is echoed */
    rc = p2d_pg_connect("host=127.0.0.1 password='sekrit123", P2D_PG_SQL, NULL, &c, &e);
    T_EQ_INT(rc, P2D_ESOURCE);
    T_CHECK(strstr(e.message, "sekrit123") == NULL);
    T_HAS_STR(e.message, "invalid source connection string");

    it_pg_ok(admin, "DROP ROLE IF EXISTS p2d_norepl");
    it_pg_ok(admin, "CREATE ROLE p2d_norepl LOGIN PASSWORD 'pw1'");

    /* wrong password: an authentication failure, and the password stays secret */
    snprintf(ci, sizeof(ci), "%s user=p2d_norepl password=wrongsekrit", t_env("P2D_PG_CONNINFO"));
    rc = p2d_pg_connect(ci, P2D_PG_SQL, NULL, &c, &e);
    T_EQ_INT(rc, P2D_ESOURCE);
    T_EQ_INT(e.cls, P2D_PG_AUTH);
    T_CHECK(strstr(e.message, "wrongsekrit") == NULL);
    T_HAS_STR(e.hint, "pg_hba.conf");

    /* unknown role */
    snprintf(ci, sizeof(ci), "%s user=no_such_role", t_env("P2D_PG_CONNINFO"));
    rc = p2d_pg_connect(ci, P2D_PG_SQL, NULL, &c, &e);
    T_EQ_INT(rc, P2D_ESOURCE);
    T_EQ_INT(e.cls, P2D_PG_AUTH);
    T_EQ_INT(p2d_pg_error_exit_code(&e), P2D_EXIT_SOURCE);

    /* missing database */
    snprintf(ci, sizeof(ci), "%s dbname=no_such_db", t_env("P2D_PG_CONNINFO"));
    rc = p2d_pg_connect(ci, P2D_PG_SQL, NULL, &c, &e);
    T_EQ_INT(rc, P2D_ESOURCE);
    T_EQ_INT(e.cls, P2D_PG_OTHER);
    T_HAS_STR(e.message, "no_such_db");

    /* a role without REPLICATION opening a walsender: a privilege (precheck) failure */
    snprintf(ci, sizeof(ci), "%s user=p2d_norepl password=pw1", t_env("P2D_PG_CONNINFO"));
    rc = p2d_pg_connect(ci, P2D_PG_REPLICATION, NULL, &c, &e);
    T_EQ_INT(rc, P2D_ESOURCE);
    T_EQ_INT(e.cls, P2D_PG_PRIVILEGE);
    T_EQ_INT(p2d_pg_error_exit_code(&e), P2D_EXIT_PRECHECK);
    if (e.cls != P2D_PG_PRIVILEGE)
        fprintf(stderr, "got: %s\n", e.message);

    /* pinned session settings, and SQL errors keep their SQLSTATE */
    c = connect_sql();
    if (c) {
        char v[64];
        bool null;

        T_EQ_INT(p2d_pg_query_value(c, "SHOW TimeZone", "q", v, sizeof(v), &null, &e), 0);
        T_EQ_STR(v, "UTC");
        T_EQ_INT(p2d_pg_query_value(c, "SHOW DateStyle", "q", v, sizeof(v), &null, &e), 0);
        T_EQ_STR(v, "ISO, MDY");
        T_EQ_INT(p2d_pg_query_value(c, "SHOW extra_float_digits", "q", v, sizeof(v), &null, &e), 0);
        T_EQ_STR(v, "3");
        T_EQ_INT(p2d_pg_query_value(c, "SHOW application_name", "q", v, sizeof(v), &null, &e), 0);
        T_EQ_STR(v, "slot_test");
        T_EQ_INT(p2d_pg_exec(c, "SELECT * FROM no_such_table", "cannot read", NULL, &e),
                 P2D_ESOURCE);
        T_EQ_STR(e.sqlstate, "42P01");
        T_HAS_STR(e.message, "cannot read: relation \"no_such_table\" does not exist");
        T_EQ_INT(e.cls, P2D_PG_OTHER);
        PQfinish(c);
    }
}

static void test_xid_holders(void)
{
    struct p2d_pg_error e;
    struct p2d_xid_holder h[4];
    enum p2d_check_result verdict;
    size_t total = 99;
    char msg[1024];
    PGconn *writer = connect_sql();
    int rc;

    rc = p2d_slot_check_xid_holders(admin, 0, h, 4, &total, &verdict, msg, sizeof(msg), &e);
    T_EQ_INT(rc, 0);
    T_EQ_INT(total, 0);
    T_EQ_INT(verdict, P2D_CHECK_PASS);
    if (!writer)
        return;
    it_pg_ok(writer, "BEGIN");
    it_pg_ok(writer, "INSERT INTO t1 VALUES (100000, 0)"); /* takes an XID, stays open */
    usleep(200 * 1000);
    rc = p2d_slot_check_xid_holders(admin, 0.1, h, 4, &total, &verdict, msg, sizeof(msg), &e);
    T_EQ_INT(rc, 0);
    T_EQ_INT(total, 1);
    T_EQ_INT(h[0].pid, PQbackendPID(writer));
    T_CHECK(h[0].idle_in_transaction);
    T_CHECK(!h[0].prepared);
    T_CHECK(h[0].age_seconds >= 0.1);
    T_HAS_STR(h[0].query, "INSERT INTO t1");
    T_CHECK(h[0].xact_start[0] != '\0');
    T_EQ_INT(verdict, P2D_CHECK_FAIL); /* idle in transaction: may never end */
    T_HAS_STR(msg, "INSERT INTO t1");
    T_HAS_STR(msg, "hint:");
    /* a higher age bound hides it */
    rc = p2d_slot_check_xid_holders(admin, 3600, NULL, 0, &total, &verdict, msg, sizeof(msg), &e);
    T_EQ_INT(total, 0);
    it_pg_ok(writer, "ROLLBACK");
    PQfinish(writer);
}

static struct p2d_slot_table t1_only[] = {{"public", "t1"}};

static void test_cut(void)
{
    struct p2d_slot_opts o = {.conninfo = t_env("P2D_PG_CONNINFO"),
                              .job_id = "cutjob",
                              .tables = t1_only,
                              .ntables = 1,
                              .lock_timeout_ms = 2000};
    struct p2d_pg_error e;
    struct p2d_slot *s = NULL, *s2 = NULL;
    const struct p2d_slot_cut *cut;
    struct p2d_slot_status st;
    PGconn *reader, *truncer, *repl;
    char sql[256];
    bool sd, pd;
    int rc;

    rc = p2d_slot_create(&o, &s, &e);
    T_EQ_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "create: %s (%s) hint: %s\n", e.message, e.sqlstate, e.hint);
        return;
    }
    cut = p2d_slot_cut(s);
    T_EQ_STR(cut->slot_name, "p2d_cutjob");
    T_EQ_STR(cut->publication, "p2d_cutjob");
    T_CHECK(cut->consistent_point != 0);
    T_CHECK(cut->slot_snapshot[0] != '\0');
    T_CHECK(cut->snapshot[0] != '\0');
    T_CHECK(strcmp(cut->snapshot, cut->slot_snapshot) != 0);
    T_CHECK(cut->systemid[0] != '\0');
    T_EQ_INT(cut->timeline, 1);
    T_CHECK(cut->created_publication);
    T_CHECK(p2d_slot_take_replication(s) == NULL); /* not kept */

    /* a row committed after C: invisible through S2 */
    it_pg_ok(admin, "INSERT INTO t1 VALUES (5000, 1)");
    reader = connect_sql();
    it_pg_ok(reader, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT '%s'", cut->snapshot);
    it_pg_ok(reader, sql);
    T_EQ_INT(value_ll(reader, "SELECT count(*) FROM t1"), 100);
    T_EQ_INT(value_ll(reader, "SELECT count(*) FROM t1 WHERE id = 5000"), 0);
    it_pg_ok(reader, "COMMIT");
    T_EQ_INT(value_ll(admin, "SELECT count(*) FROM t1"), 101);

    /* the slot sits at C */
    rc = p2d_slot_status(admin, "p2d_cutjob", &st, &e);
    T_EQ_INT(rc, 0);
    T_CHECK(st.exists);
    T_CHECK(!st.active);
    T_CHECK(st.logical_pgoutput);
    T_CHECK(st.same_database);
    T_CHECK(st.confirmed_flush_lsn == cut->consistent_point);
    T_CHECK(st.restart_lsn != 0 && st.restart_lsn <= cut->consistent_point);
    T_EQ_STR(st.wal_status, "reserved");
    T_EQ_INT(value_ll(admin, "SELECT count(*) FROM pg_publication WHERE pubname = 'p2d_cutjob' "
                             "AND pubviaroot"),
             1);
    T_EQ_INT(value_ll(admin, "SELECT count(*) FROM pg_publication_tables WHERE pubname = "
                             "'p2d_cutjob' AND tablename = 't1'"),
             1);

    /* the holder's ACCESS SHARE lock stops TRUNCATE */
    truncer = connect_sql();
    it_pg_ok(truncer, "SET lock_timeout = '300ms'");
    rc = p2d_pg_exec(truncer, "TRUNCATE t1", "truncate", NULL, &e);
    T_EQ_INT(rc, P2D_ESOURCE);
    T_EQ_STR(e.sqlstate, "55P03");

    /* the same job again: the slot exists, a clear error, nothing dropped */
    rc = p2d_slot_create(&o, &s2, &e);
    T_EQ_INT(rc, P2D_ESOURCE);
    T_EQ_STR(e.sqlstate, "42710");
    T_HAS_STR(e.hint, "pg2doris drop");
    rc = p2d_slot_status(admin, "p2d_cutjob", &st, &e);
    T_CHECK(st.exists);

    /* released: TRUNCATE goes through */
    T_EQ_INT(p2d_slot_release(s, &e), 0);
    rc = p2d_pg_exec(truncer, "BEGIN; TRUNCATE t1; ROLLBACK", "truncate", NULL, &e);
    T_EQ_INT(rc, 0);
    PQfinish(truncer);
    PQfinish(reader);
    p2d_slot_destroy(s);

    /* drop removes both; a second drop finds nothing */
    rc = p2d_slot_drop(admin, "cutjob", &sd, &pd, &e);
    T_EQ_INT(rc, 0);
    T_CHECK(sd);
    T_CHECK(pd);
    rc = p2d_slot_status(admin, "p2d_cutjob", &st, &e);
    T_CHECK(!st.exists);
    T_EQ_INT(value_ll(admin, "SELECT count(*) FROM pg_publication WHERE pubname = 'p2d_cutjob'"),
             0);
    rc = p2d_slot_drop(admin, "cutjob", &sd, &pd, &e);
    T_EQ_INT(rc, 0);
    T_CHECK(!sd);
    T_CHECK(!pd);

    /* keep_replication hands over a live walsender connection */
    o.keep_replication = true;
    o.job_id = "keepjob";
    rc = p2d_slot_create(&o, &s, &e);
    T_EQ_INT(rc, 0);
    if (rc == 0) {
        repl = p2d_slot_take_replication(s);
        T_CHECK(repl != NULL);
        if (repl) {
            PGresult *r = PQexec(repl, "IDENTIFY_SYSTEM");

            T_EQ_INT(PQresultStatus(r), PGRES_TUPLES_OK);
            PQclear(r);
            PQfinish(repl);
        }
        p2d_slot_destroy(s);
        T_EQ_INT(p2d_slot_drop(admin, "keepjob", &sd, &pd, &e), 0);
        T_CHECK(sd && pd);
    }
}

static void test_lock_conflict(void)
{
    struct p2d_slot_opts o = {.conninfo = t_env("P2D_PG_CONNINFO"),
                              .job_id = "lockjob",
                              .tables = t1_only,
                              .ntables = 1,
                              .lock_timeout_ms = 300};
    struct p2d_pg_error e;
    struct p2d_slot *s = NULL;
    struct p2d_slot_status st;
    PGconn *blocker = connect_sql();
    char pid[32];
    int rc;

    if (!blocker)
        return;
    it_pg_ok(blocker, "BEGIN");
    it_pg_ok(blocker, "LOCK TABLE t1 IN ACCESS EXCLUSIVE MODE");
    rc = p2d_slot_create(&o, &s, &e);
    T_EQ_INT(rc, P2D_ESOURCE);
    T_CHECK(s == NULL);
    T_EQ_STR(e.sqlstate, "55P03");
    T_HAS_STR(e.message, "cannot create or complete the publication: no lock within 300 ms; "
                         "blocked by:");
    snprintf(pid, sizeof(pid), "pid %d holds", PQbackendPID(blocker));
    T_HAS_STR(e.message, pid);
    T_HAS_STR(e.message, "LOCK TABLE t1 IN ACCESS EXCLUSIVE MODE");
    T_HAS_STR(e.hint, "pg_terminate_backend");
    /* nothing left behind */
    rc = p2d_slot_status(admin, "p2d_lockjob", &st, &e);
    T_EQ_INT(rc, 0);
    T_CHECK(!st.exists);
    T_EQ_INT(value_ll(admin, "SELECT count(*) FROM pg_publication WHERE pubname = 'p2d_lockjob'"),
             0);

    /*
     * The holder's own LOCK TABLE timing out cannot be staged here: the only
     * mode that conflicts with ACCESS SHARE is ACCESS EXCLUSIVE, whose holder
     * gets an XID (it is WAL-logged for standbys), so slot creation waits
     * for it before the holder ever runs. The same lock_timeout_error()
     * reports both cases.
     */
    it_pg_ok(blocker, "ROLLBACK");
    PQfinish(blocker);

    /* an invalid job id is refused before touching the server */
    o.job_id = "Bad-Id";
    rc = p2d_slot_create(&o, &s, &e);
    T_EQ_INT(rc, P2D_EINVAL);
    T_HAS_STR(e.message, "invalid job id");
}

int main(void)
{
    test_lsn();
    admin = connect_sql();
    if (!admin)
        return t_done();
    it_pg_ok(admin, "DROP TABLE IF EXISTS t1");
    it_pg_ok(admin, "CREATE TABLE t1 (id int PRIMARY KEY, v int)");
    it_pg_ok(admin, "INSERT INTO t1 SELECT g, g * 2 FROM generate_series(1, 100) g");
    test_connect_errors();
    test_xid_holders();
    test_cut();
    test_lock_conflict();
    T_EQ_INT(value_ll(admin, "SELECT count(*) FROM pg_replication_slots"), 0);
    PQfinish(admin);
    return t_done();
}
