/*
 * stream_load_model_test.c - data-model semantics of Stream Loads (§5) through
 * the FE (307 followed), read back with SQL over HTTP: Unique upsert and
 * delete sign, merge_type, Duplicate append, sequence columns, partial
 * updates, atomicity, strict_mode, max_filter_ratio with the ErrorURL,
 * timezone, two-phase commit visibility.
 */
#include "emu_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB  "modeldb"
#define CSV "column_separator: ,"

static void setup(void)
{
    ec_sql_ok("information_schema", "CREATE DATABASE IF NOT EXISTS " DB);
    ec_sql_ok(DB, "CREATE TABLE u (k INT NOT NULL, a VARCHAR(20) NULL, b INT NULL) "
                  "UNIQUE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1");
    ec_sql_ok(DB, "CREATE TABLE d (k INT NOT NULL, v VARCHAR(20) NULL) "
                  "DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1");
    ec_sql_ok(DB, "CREATE TABLE sq (k INT NOT NULL, v VARCHAR(20) NULL, ver BIGINT NULL) "
                  "UNIQUE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 "
                  "PROPERTIES (\"function_column.sequence_col\" = \"ver\")");
    ec_sql_ok(DB, "CREATE TABLE st (k INT NOT NULL, v VARCHAR(20) NULL, ver BIGINT NULL) "
                  "UNIQUE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 "
                  "PROPERTIES (\"function_column.sequence_type\" = \"bigint\")");
    ec_sql_ok(DB, "CREATE TABLE p (k INT NOT NULL, a VARCHAR(20) NULL, b INT NULL, "
                  "c INT NULL DEFAULT \"5\") UNIQUE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1");
    ec_sql_ok(DB, "CREATE TABLE pn (k INT NOT NULL, a VARCHAR(20) NOT NULL, b INT NULL) "
                  "UNIQUE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1");
    ec_sql_ok(DB, "CREATE TABLE mor (k INT NOT NULL, a VARCHAR(20) NULL) "
                  "UNIQUE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 "
                  "PROPERTIES (\"enable_unique_key_merge_on_write\" = \"false\")");
    ec_sql_ok(DB, "CREATE TABLE n (k INT NOT NULL, n INT NULL, m INT NOT NULL) "
                  "DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1");
    ec_sql_ok(DB, "CREATE TABLE tz (k INT NOT NULL, dt DATETIME NULL, dt3 DATETIME(3) NULL) "
                  "DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1");
}

/* Loads body into table; the answer stays in *r for the caller to free. */
static void load(const char *table, const char *const *h, const char *body, struct t_resp *r)
{
    ec_load_ex(DB, table, h, body, strlen(body), false, r);
    T_EQ_INT(r->status, 200);
}

static void load_ok(const char *table, const char *const *h, const char *body, long long rows)
{
    struct t_resp r;

    load(table, h, body, &r);
    EC_LOAD_IS(&r, "Success", rows, rows, 0);
    if (!t_json_str(r.json, "Status") || strcmp(t_json_str(r.json, "Status"), "Success"))
        fprintf(stderr, "  load answer: %s\n", r.body);
    t_resp_free(&r);
}

static void load_fail(const char *table, const char *const *h, const char *body,
                      const char *message)
{
    struct t_resp r;

    load(table, h, body, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Fail");
    T_EQ_STR(t_json_str(r.json, "Message"), message);
    t_resp_free(&r);
}

static void check_rows(const char *sql, const char *want)
{
    char *rows = ec_rows(ec_fe_port, DB, sql);

    T_EQ_STR(rows, want);
    free(rows);
}

static void test_unique(void)
{
    const char *h[] = {CSV, NULL};
    const char *hs[] = {CSV, "columns: k,a,b,__DORIS_DELETE_SIGN__", NULL};
    const char *sub[] = {CSV, "columns: k,a", NULL};

    load_ok("u", h, "1,a1,10\n2,a2,20\n3,a3,30\n", 3);
    /* whole-row replace: b not in the load becomes NULL */
    load_ok("u", sub, "2,A2\n", 1);
    load_ok("u", h, "3,A3,33\n4,a4,40\n", 2);
    check_rows("SELECT k, a, b FROM u ORDER BY k", "1|a1|10;2|A2|NULL;3|A3|33;4|a4|40");
    /* delete sign in columns; deleting a missing key is a no-op */
    load_ok("u", hs, "1,x,0,1\n4,new4,44,0\n99,x,0,1\n", 3);
    check_rows("SELECT k, a, b FROM u ORDER BY k", "2|A2|NULL;3|A3|33;4|new4|44");
    check_rows("SELECT count(*) FROM u", "3");
    /* a deleted key can come back */
    load_ok("u", h, "1,back,1\n", 1);
    check_rows("SELECT k, a, b FROM u ORDER BY k", "1|back|1;2|A2|NULL;3|A3|33;4|new4|44");
}

static void test_merge_type(void)
{
    const char *app[] = {CSV, "merge_type: append", NULL};
    const char *del[] = {CSV, "merge_type: DELETE", NULL};
    const char *mrg[] = {CSV, "merge_type: MERGE", "columns: k,a,b,op", "delete: op=1", NULL};
    const char *mrg_nodel[] = {CSV, "merge_type: MERGE", NULL};
    const char *del_nomerge[] = {CSV, "merge_type: APPEND", "delete: k=1", NULL};
    const char *bad[] = {CSV, "merge_type: UPSERT", NULL};

    ec_sql_ok(DB, "TRUNCATE TABLE u");
    load_ok("u", app, "1,a,1\n2,b,2\n3,c,3\n4,d,4\n", 4);
    load_ok("u", del, "2,ignored,0\n", 1);
    check_rows("SELECT k FROM u ORDER BY k", "1;3;4");
    load_ok("u", mrg, "1,x,0,1\n3,C,33,0\n5,e,5,0\n4,y,0,1\n", 4);
    check_rows("SELECT k, a, b FROM u ORDER BY k", "3|C|33;5|e|5");
    load_fail("u", mrg_nodel, "1,a,1\n",
              "[INVALID_ARGUMENT]Excepted DELETE ON clause when merge type is MERGE.");
    load_fail("u", del_nomerge, "1,a,1\n",
              "[INVALID_ARGUMENT]Not support DELETE ON clause when merge type is not MERGE.");
    load_fail("u", bad, "1,a,1\n", "[INVALID_ARGUMENT]Invalid merge type UPSERT");
    /* MERGE / DELETE on a Duplicate table */
    load_fail("d", del, "1,a\n",
              "[ANALYSIS_ERROR]errCode = 2, detailMessage = load by MERGE or DELETE is only "
              "supported in unique tables.");
    load_fail("d", mrg, "1,a,0,1\n",
              "[ANALYSIS_ERROR]errCode = 2, detailMessage = load by MERGE or DELETE is only "
              "supported in unique tables.");
    check_rows("SELECT count(*) FROM d", "0");
    check_rows("SELECT k, a, b FROM u ORDER BY k", "3|C|33;5|e|5");
}

static void test_duplicate(void)
{
    const char *h[] = {CSV, NULL};

    load_ok("d", h, "1,a\n1,a\n2,b\n", 3);
    load_ok("d", h, "1,a\n", 1);
    check_rows("SELECT k, v, count(*) FROM d GROUP BY k, v ORDER BY k", "1|a|3;2|b|1");
    check_rows("SELECT count(*) FROM d", "4");
}

static void test_sequence(void)
{
    const char *h[] = {CSV, NULL};
    const char *hs[] = {CSV, "columns: k,v,ver,__DORIS_DELETE_SIGN__", NULL};
    const char *ts[] = {CSV, "function_column.sequence_col: ver", NULL};
    const char *ts_del[] = {CSV, "function_column.sequence_col: ver",
                            "columns: k,v,ver,__DORIS_DELETE_SIGN__", NULL};

    /* mapped sequence_col (no header needed) */
    load_ok("sq", h, "1,v10,10\n2,v20,20\n", 2);
    load_ok("sq", h, "1,old,5\n2,new,30\n", 2); /* smaller loses, larger wins */
    check_rows("SELECT k, v, ver FROM sq ORDER BY k", "1|v10|10;2|new|30");
    load_ok("sq", h, "1,tie,10\n", 1); /* tie: the later load wins */
    check_rows("SELECT k, v, ver FROM sq ORDER BY k", "1|tie|10;2|new|30");
    /* within one batch: the larger sequence wins regardless of order */
    load_ok("sq", h, "3,c50,50\n3,c40,40\n", 2);
    check_rows("SELECT v, ver FROM sq WHERE k = 3", "c50|50");
    /* deletes obey the sequence: an older delete is ignored, a newer one applies */
    load_ok("sq", hs, "1,x,9,1\n2,x,31,1\n", 2);
    check_rows("SELECT k, v, ver FROM sq ORDER BY k", "1|tie|10;3|c50|50");
    /* ... and an older upsert after that delete cannot bring the row back */
    load_ok("sq", h, "2,stale,25\n", 1);
    check_rows("SELECT k, v, ver FROM sq ORDER BY k", "1|tie|10;3|c50|50");
    load_ok("sq", h, "2,fresh,32\n", 1);
    check_rows("SELECT k, v, ver FROM sq ORDER BY k", "1|tie|10;2|fresh|32;3|c50|50");

    /* sequence_type table: the header is required */
    load_fail("st", h, "1,a,1\n",
              "[ANALYSIS_ERROR]errCode = 2, detailMessage = Table st has sequence column, need "
              "to specify the sequence column");
    check_rows("SELECT count(*) FROM st", "0");
    load_ok("st", ts, "1,a,5\n2,b,5\n", 2);
    load_ok("st", ts, "1,older,4\n2,newer,6\n", 2);
    check_rows("SELECT k, v, ver FROM st ORDER BY k", "1|a|5;2|newer|6");
    load_ok("st", ts_del, "1,x,3,1\n2,x,6,1\n", 2);
    check_rows("SELECT k, v, ver FROM st ORDER BY k", "1|a|5");
}

static void test_partial(void)
{
    const char *full[] = {CSV, NULL};
    const char *pc[] = {CSV, "partial_columns: true", "columns: k,b", NULL};
    const char *fixed[] = {CSV, "unique_key_update_mode: update_fixed_columns", "columns: a,k",
                           NULL};
    const char *err[] = {CSV, "partial_columns: true", "columns: k,b",
                         "partial_update_new_key_behavior: ERROR", NULL};
    const char *strict[] = {CSV, "partial_columns: true", "columns: k,b", "strict_mode: true",
                            NULL};
    const char *nokey[] = {CSV, "partial_columns: true", "columns: b", NULL};

    load_ok("p", full, "1,a1,10,100\n2,a2,20,200\n", 2);
    /* unlisted columns keep their values; a new key is appended with defaults / NULL */
    load_ok("p", pc, "1,11\n3,33\n", 2);
    check_rows("SELECT k, a, b, c FROM p ORDER BY k", "1|a1|11|100;2|a2|20|200;3|NULL|33|5");
    load_ok("p", fixed, "A2,2\n", 1);
    check_rows("SELECT k, a, b, c FROM p ORDER BY k", "1|a1|11|100;2|A2|20|200;3|NULL|33|5");
    /* new key with partial_update_new_key_behavior ERROR: whole load refused */
    load_fail("p", err, "1,12\n4,44\n",
              "[E-7003]Can't append new rows in partial update when "
              "partial_update_new_key_behavior is ERROR. Row with key=[4] is not in table.");
    load_ok("p", err, "1,12\n", 1);
    /* strict mode: a new key is refused */
    load_fail("p", strict, "5,55\n",
              "[INTERNAL_ERROR]too many filtered rows: can't insert new row with key=[5] in "
              "strict mode partial update");
    check_rows("SELECT k, a, b, c FROM p ORDER BY k", "1|a1|12|100;2|A2|20|200;3|NULL|33|5");
    /* a new key where an unlisted column is NOT NULL without default */
    load_ok("pn", full, "1,a,1\n", 1);
    load_ok("pn", pc, "1,2\n", 1);
    load_fail("pn", pc, "2,2\n",
              "[INTERNAL_ERROR]the unmentioned column `a` should have default value or be "
              "nullable for newly inserted rows in non-strict mode partial update");
    check_rows("SELECT k, a, b FROM pn ORDER BY k", "1|a|2");
    /* keys required; MoW only; Duplicate refused */
    load_fail("p", nokey, "1\n",
              "[ANALYSIS_ERROR]errCode = 2, detailMessage = Partial update should include all "
              "key columns, missing: k");
    load_fail("mor", pc, "1,1\n",
              "[ANALYSIS_ERROR]errCode = 2, detailMessage = load by PARTIAL_COLUMNS is only "
              "supported in unique table MoW");
    load_fail("d", pc, "1,1\n",
              "[ANALYSIS_ERROR]errCode = 2, detailMessage = load by PARTIAL_COLUMNS is only "
              "supported in unique table MoW");
}

static void test_filtering(void)
{
    const char *strict[] = {CSV, "strict_mode: true", "max_filter_ratio: 0.5", NULL};
    const char *loose[] = {CSV, "strict_mode: false", "max_filter_ratio: 0.5", NULL};
    const char *zero[] = {CSV, NULL};
    struct t_resp r, e;
    struct t_req req = {0};

    /* atomic: one bad row of three with ratio 0 stores nothing */
    load("n", zero, "1,1,1\n2,2,abc\n3,3,3\n", &r);
    EC_LOAD_IS(&r, "Fail", 3, 2, 1);
    T_EQ_STR(t_json_str(r.json, "Message"), "[DATA_QUALITY_ERROR]too many filtered rows");
    T_CHECK(t_json_str(r.json, "ErrorURL") != NULL);
    t_resp_free(&r);
    check_rows("SELECT count(*) FROM n", "0");
    /* non-strict: the bad integer becomes NULL (nullable n) or filters (NOT NULL m) */
    load("n", loose, "1,1,1\n2,abc,2\n3,3,xyz\n4,4,4\n", &r);
    EC_LOAD_IS(&r, "Success", 4, 3, 1);
    T_CHECK(t_json_str(r.json, "ErrorURL") != NULL);
    t_resp_free(&r);
    check_rows("SELECT k, n, m FROM n ORDER BY k", "1|1|1;2|NULL|2;4|4|4");
    ec_sql_ok(DB, "TRUNCATE TABLE n");
    /* strict: both are filtered; 2 of 4 = 0.5 passes */
    load("n", strict, "1,1,1\n2,abc,2\n3,3,xyz\n4,4,4\n", &r);
    EC_LOAD_IS(&r, "Success", 4, 2, 2);
    req.url = t_json_str(r.json, "ErrorURL");
    T_CHECK(req.url != NULL);
    if (req.url) {
        t_http(&req, &e);
        T_EQ_INT(e.status, 200);
        T_EQ_STR(e.body, "Reason: column(n) value is incorrect while strict mode is true, src "
                         "value is abc. src line [2,abc,2]; \n"
                         "Reason: column(m) value is incorrect while strict mode is true, src "
                         "value is xyz. src line [3,3,xyz]; \n");
        t_resp_free(&e);
    }
    T_HAS_STR(t_json_str(r.json, "FirstErrorMsg"), "column(n) value is incorrect");
    t_resp_free(&r);
    check_rows("SELECT k, n, m FROM n ORDER BY k", "1|1|1;4|4|4");
    /* 3 of 5 > 0.5 fails and stores nothing */
    load("n", strict, "5,5,5\n6,x,6\n7,y,7\n8,z,8\n9,9,9\n", &r);
    EC_LOAD_IS(&r, "Fail", 5, 2, 3);
    t_resp_free(&r);
    check_rows("SELECT k FROM n ORDER BY k", "1;4");
}

static void test_timezone(void)
{
    const char *utc[] = {CSV, "timezone: UTC", NULL};
    const char *sh[] = {CSV, "timezone: Asia/Shanghai", NULL};
    const char *both[] = {CSV, "time_zone: UTC", "timezone: Asia/Shanghai", NULL};
    const char *alias[] = {CSV, "time_zone: America/New_York", NULL};
    const char *bad[] = {CSV, "timezone: Mars/Olympus", NULL};

    load_ok("tz", utc, "1,2024-01-01 08:00:00+08:00,2024-01-01 08:00:00.5+08:00\n", 1);
    load_ok("tz", sh, "2,2024-01-01 08:00:00+08:00,2024-01-01 00:00:00.25Z\n", 1);
    load_ok("tz", sh, "3,2024-06-30 12:34:56,2024-06-30 12:34:56.123\n", 1); /* no offset */
    load_ok("tz", both, "4,2024-01-01 00:00:00Z,\\N\n", 1);
    load_ok("tz", alias, "5,2024-07-01 12:00:00Z,\\N\n", 1);
    check_rows("SELECT k, dt, dt3 FROM tz ORDER BY k",
               "1|2024-01-01 00:00:00|2024-01-01 00:00:00.500;"
               "2|2024-01-01 08:00:00|2024-01-01 08:00:00.250;"
               "3|2024-06-30 12:34:56|2024-06-30 12:34:56.123;"
               "4|2024-01-01 08:00:00|NULL;"
               "5|2024-07-01 08:00:00|NULL");
    load_fail("tz", bad, "6,2024-01-01 00:00:00,\\N\n",
              "[ANALYSIS_ERROR]errCode = 2, detailMessage = Unknown or incorrect time zone: "
              "'Mars/Olympus'");
}

static void two_pc(const char *txn_hdr, const char *op, struct t_resp *r)
{
    struct t_req req = {0};
    char oph[64];

    snprintf(oph, sizeof(oph), "txn_operation: %s", op);
    req.method = "PUT";
    req.url = ec_fe_url("/api/" DB "/_stream_load_2pc");
    req.userpwd = "root:";
    req.follow = true;
    req.headers[0] = txn_hdr;
    req.headers[1] = oph;
    req.headers[2] = "Expect: 100-continue";
    req.body = "";
    req.body_len = 0;
    t_http(&req, r);
}

static void test_two_phase(void)
{
    const char *h[] = {CSV, "two_phase_commit: true", "label: tpc1", NULL};
    const char *h2[] = {CSV, "two_phase_commit: true", "label: tpc2", NULL};
    struct t_resp r;
    long long txn;
    char th[64], msg[128];

    ec_sql_ok(DB, "TRUNCATE TABLE d");
    load("d", h, "10,x\n11,y\n", &r);
    EC_LOAD_IS(&r, "Success", 2, 2, 0);
    T_EQ_STR(t_json_str(r.json, "TwoPhaseCommit"), "true");
    txn = t_json_int(r.json, "TxnId");
    t_resp_free(&r);
    check_rows("SELECT count(*) FROM d", "0");
    snprintf(th, sizeof(th), "txn_id: %lld", txn);
    two_pc(th, "commit", &r);
    T_EQ_INT(r.status, 200);
    T_EQ_STR(t_json_str(r.json, "status"), "Success");
    snprintf(msg, sizeof(msg), "transaction [%lld] commit successfully.", txn);
    T_EQ_STR(t_json_str(r.json, "msg"), msg);
    t_resp_free(&r);
    check_rows("SELECT k, v FROM d ORDER BY k", "10|x;11|y");

    load("d", h2, "12,z\n", &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    t_resp_free(&r);
    check_rows("SELECT count(*) FROM d", "2");
    two_pc("label: tpc2", "abort", &r);
    T_EQ_STR(t_json_str(r.json, "status"), "Success");
    T_EQ_STR(t_json_str(r.json, "msg"), "label [tpc2] abort successfully.");
    t_resp_free(&r);
    check_rows("SELECT k, v FROM d ORDER BY k", "10|x;11|y");
}

int main(void)
{
    ec_init();
    setup();
    test_unique();
    test_merge_type();
    test_duplicate();
    test_sequence();
    test_partial();
    test_filtering();
    test_timezone();
    test_two_phase();
    return t_done();
}
