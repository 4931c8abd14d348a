/*
 * load_label_test.c - whole Stream Loads through doris-emu (FE 307, then
 * BE), read back with SQL over HTTP; the answer's key order (§2.2); labels
 * (Label Already Exists with FINISHED, RUNNING and PRECOMMITTED, reuse of
 * aborted labels) and two-phase commit by txn_id and by label (§3).
 */
#include "emu_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char success_keys[] =
    "TxnId,Label,Comment,TwoPhaseCommit,Status,Message,NumberTotalRows,NumberLoadedRows,"
    "NumberFilteredRows,NumberUnselectedRows,LoadBytes,LoadTimeMs,BeginTxnTimeMs,"
    "StreamLoadPutTimeMs,ReadDataTimeMs,WriteDataTimeMs,ReceiveDataTimeMs,"
    "CommitAndPublishTimeMs";

static void setup(void)
{
    ec_sql_ok("information_schema", "CREATE DATABASE IF NOT EXISTS demo");
    ec_sql_ok("demo", "CREATE TABLE t (id INT NOT NULL, name VARCHAR(20) NULL) "
                      "UNIQUE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1 "
                      "PROPERTIES (\"replication_num\" = \"1\")");
    ec_sql_ok("demo", "CREATE TABLE j (id BIGINT NOT NULL, doc VARCHAR(100) NULL, "
                      "amount DECIMAL(10,2) NULL) DUPLICATE KEY(id) "
                      "DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
}

static void load_csv(const char *label, const char *body, struct t_resp *r)
{
    char lh[200];
    const char *h[] = {lh, "column_separator: ,", NULL};

    snprintf(lh, sizeof(lh), "label: %s", label);
    ec_load(ec_fe_port, "root:", "demo", "t", h, body, strlen(body), r);
}

static void test_csv_and_json(void)
{
    struct t_resp r;
    char *keys, *rows;
    const char *jh[] = {"label: j1", "format: json", "read_json_by_line: true", NULL};
    const char *json_body = "{\"id\": 1, \"doc\": \"x\", \"amount\": \"12.50\"}\n"
                            "{\"id\": 2, \"doc\": null, \"amount\": 3}\n";

    load_csv("csv1", "1,alpha\n2,beta\n3,\\N\n", &r);
    T_EQ_INT(r.status, 200);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    T_EQ_STR(t_json_str(r.json, "Message"), "OK");
    T_EQ_STR(t_json_str(r.json, "Label"), "csv1");
    T_EQ_STR(t_json_str(r.json, "TwoPhaseCommit"), "false");
    T_EQ_INT(t_json_int(r.json, "NumberTotalRows"), 3);
    T_EQ_INT(t_json_int(r.json, "NumberLoadedRows"), 3);
    T_CHECK(t_json_int(r.json, "TxnId") > 0);
    keys = t_json_keys(r.json);
    T_EQ_STR(keys, success_keys);
    free(keys);
    /* BE style: 4-space pretty JSON with a trailing newline. */
    T_CHECK(strncmp(r.body, "{\n    \"TxnId\": ", 15) == 0);
    T_CHECK(r.body_len > 0 && r.body[r.body_len - 1] == '\n');
    t_resp_free(&r);

    rows = ec_rows(ec_fe_port, "demo", "SELECT id, name FROM t ORDER BY id");
    T_EQ_STR(rows, "1|alpha;2|beta;3|NULL");
    free(rows);

    /* Unique Key upsert through a second load. */
    load_csv("csv2", "2,BETA\n", &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    t_resp_free(&r);
    rows = ec_rows(ec_fe_port, "demo", "SELECT id, name FROM t ORDER BY id");
    T_EQ_STR(rows, "1|alpha;2|BETA;3|NULL");
    free(rows);

    ec_load(ec_fe_port, "root:", "demo", "j", jh, json_body, strlen(json_body), &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    T_EQ_INT(t_json_int(r.json, "NumberLoadedRows"), 2);
    t_resp_free(&r);
    rows = ec_rows(ec_fe_port, "demo", "SELECT id, doc FROM j ORDER BY id");
    T_EQ_STR(rows, "1|x;2|NULL");
    free(rows);
    /* DECIMAL(10,2): compared by value (the JSON rendering is the store's). */
    rows = ec_rows(ec_fe_port, "demo", "SELECT amount FROM j ORDER BY id");
    {
        char *sep = strchr(rows, ';');

        T_CHECK(sep != NULL);
        if (sep) {
            T_CHECK(strtod(rows, NULL) == 12.5);
            T_CHECK(strtod(sep + 1, NULL) == 3.0);
        }
    }
    free(rows);
}

static void test_label_finished(void)
{
    struct t_resp r;
    char *keys;

    load_csv("csv1", "9,again\n", &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Label Already Exists");
    T_EQ_STR(t_json_str(r.json, "ExistingJobStatus"), "FINISHED");
    T_HAS_STR(t_json_str(r.json, "Message"), "Label [csv1] has already been used, relate to txn [");
    keys = t_json_keys(r.json);
    T_HAS_STR(keys, "TwoPhaseCommit,Status,ExistingJobStatus,Message,NumberTotalRows");
    free(keys);
    t_resp_free(&r);
    keys = ec_rows(ec_fe_port, "demo", "SELECT count(*) FROM t WHERE id = 9");
    T_EQ_STR(keys, "0");
    free(keys);
}

/* A load held open with a chunked body keeps its label RUNNING. */
static void test_label_running(void)
{
    int fd = ec_connect(ec_be_port);
    char head[512];
    char *answer;
    struct t_resp r;
    char *rows;

    snprintf(head, sizeof(head),
             "PUT /api/demo/t/_stream_load HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Authorization: Basic %s\r\nlabel: held\r\ncolumn_separator: ,\r\n"
             "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
             ec_basic("root:"));
    T_CHECK(fd >= 0);
    ec_send_all(fd, head, strlen(head));
    answer = ec_read_response(fd, 3000);
    T_HAS_STR(answer, "HTTP/1.1 100 Continue");
    free(answer);
    ec_send_all(fd, "8\r\n20,held\n\r\n", 13);

    load_csv("held", "21,other\n", &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Label Already Exists");
    T_EQ_STR(t_json_str(r.json, "ExistingJobStatus"), "RUNNING");
    t_resp_free(&r);

    ec_send_all(fd, "8\r\n22,held\n\r\n0\r\n\r\n", 18);
    answer = ec_read_response(fd, 5000);
    T_HAS_STR(answer, "HTTP/1.1 200");
    T_HAS_STR(answer, "\"Status\": \"Success\"");
    free(answer);
    close(fd);
    rows = ec_rows(ec_fe_port, "demo", "SELECT id, name FROM t WHERE id >= 20 ORDER BY id");
    T_EQ_STR(rows, "20|held;22|held");
    free(rows);
}

static void two_pc(const char *path, const char *id_header, const char *op, struct t_resp *r)
{
    struct t_req req = {0};
    char oh[64];

    snprintf(oh, sizeof(oh), "txn_operation: %s", op);
    req.method = "PUT";
    req.url = ec_fe_url(path);
    req.userpwd = "root:";
    req.follow = true;
    req.headers[0] = id_header;
    req.headers[1] = oh;
    t_http(&req, r);
}

static void test_two_phase(void)
{
    const char *h2[] = {"label: p1", "column_separator: ,", "two_phase_commit: true", NULL};
    const char *h3[] = {"label: p2", "column_separator: ,", "two_phase_commit: true", NULL};
    const char *h4[] = {"label: p3", "column_separator: ,", "two_phase_commit: true", NULL};
    struct t_resp r;
    long long txn;
    char idh[64], want[128], *rows;

    ec_load(ec_fe_port, "root:", "demo", "t", h2, "30,pre\n", 7, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    T_EQ_STR(t_json_str(r.json, "TwoPhaseCommit"), "true");
    txn = t_json_int(r.json, "TxnId");
    t_resp_free(&r);
    rows = ec_rows(ec_fe_port, "demo", "SELECT count(*) FROM t WHERE id = 30");
    T_EQ_STR(rows, "0"); /* not visible before commit */
    free(rows);

    /* The label is PRECOMMITTED now. */
    ec_load(ec_fe_port, "root:", "demo", "t", h2, "30,pre\n", 7, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Label Already Exists");
    T_EQ_STR(t_json_str(r.json, "ExistingJobStatus"), "PRECOMMITTED");
    t_resp_free(&r);

    snprintf(idh, sizeof(idh), "txn_id: %lld", txn);
    two_pc("/api/demo/_stream_load_2pc", idh, "commit", &r);
    T_EQ_INT(r.status, 200);
    T_EQ_STR(t_json_str(r.json, "status"), "Success");
    snprintf(want, sizeof(want), "transaction [%lld] commit successfully.", txn);
    T_EQ_STR(t_json_str(r.json, "msg"), want);
    t_resp_free(&r);
    rows = ec_rows(ec_fe_port, "demo", "SELECT name FROM t WHERE id = 30");
    T_EQ_STR(rows, "pre");
    free(rows);

    /* Commit again: already committed, not pre-committed. */
    two_pc("/api/demo/_stream_load_2pc", idh, "commit", &r);
    T_CHECK(t_json_str(r.json, "status") && strcmp(t_json_str(r.json, "status"), "Success"));
    T_HAS_STR(t_json_str(r.json, "msg"), "is already");
    t_resp_free(&r);

    /* Abort by label; the aborted label can then be reused. */
    ec_load(ec_fe_port, "root:", "demo", "t", h3, "31,gone\n", 8, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    t_resp_free(&r);
    two_pc("/api/demo/t/_stream_load_2pc", "label: p2", "abort", &r);
    T_EQ_STR(t_json_str(r.json, "status"), "Success");
    T_EQ_STR(t_json_str(r.json, "msg"), "label [p2] abort successfully.");
    t_resp_free(&r);
    rows = ec_rows(ec_fe_port, "demo", "SELECT count(*) FROM t WHERE id = 31");
    T_EQ_STR(rows, "0");
    free(rows);
    load_csv("p2", "31,reused\n", &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    t_resp_free(&r);
    rows = ec_rows(ec_fe_port, "demo", "SELECT name FROM t WHERE id = 31");
    T_EQ_STR(rows, "reused");
    free(rows);

    /* Commit by label, abort by txn_id of another. */
    ec_load(ec_fe_port, "root:", "demo", "t", h4, "32,bylabel\n", 11, &r);
    t_resp_free(&r);
    two_pc("/api/demo/_stream_load_2pc", "label: p3", "commit", &r);
    T_EQ_STR(t_json_str(r.json, "status"), "Success");
    T_EQ_STR(t_json_str(r.json, "msg"), "label [p3] commit successfully.");
    t_resp_free(&r);
    rows = ec_rows(ec_fe_port, "demo", "SELECT name FROM t WHERE id = 32");
    T_EQ_STR(rows, "bylabel");
    free(rows);

    two_pc("/api/demo/_stream_load_2pc", "txn_id: 987654321", "abort", &r);
    T_CHECK(t_json_str(r.json, "status") && strcmp(t_json_str(r.json, "status"), "Success"));
    t_resp_free(&r);
}

static void test_filtered_and_error_log(void)
{
    const char *h[] = {"label: bad1", "column_separator: ,", NULL};
    struct t_resp r, e;
    struct t_req req = {0};
    const char *url;

    ec_load(ec_fe_port, "root:", "demo", "t", h, "40,ok\nnot_a_number,x\n", 21, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Fail");
    T_HAS_STR(t_json_str(r.json, "Message"), "too many filtered rows");
    T_EQ_INT(t_json_int(r.json, "NumberFilteredRows"), 1);
    url = t_json_str(r.json, "ErrorURL");
    T_CHECK(url != NULL);
    if (url) {
        char prefix[128];

        snprintf(prefix, sizeof(prefix),
                 "http://127.0.0.1:%d/api/_load_error_log?file=", ec_be_port);
        T_CHECK(strncmp(url, prefix, strlen(prefix)) == 0);
        req.url = url;
        t_http(&req, &e);
        T_EQ_INT(e.status, 200);
        T_HAS_STR(e.body, "not_a_number");
        t_resp_free(&e);
        /* HEAD over a raw socket (libcurl would wait for the body). */
        {
            int fd = ec_connect(ec_be_port);
            char head[1024];
            char *answer;

            snprintf(head, sizeof(head), "HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n",
                     strstr(url + 7, "/api/"));
            ec_send_all(fd, head, strlen(head));
            answer = ec_read_response(fd, 1000);
            T_HAS_STR(answer, "HTTP/1.1 200");
            free(answer);
            close(fd);
        }
    }
    t_resp_free(&r);
    url = ec_be_url("/api/_load_error_log?file=no_such_file");
    req.method = NULL;
    req.url = url;
    t_http(&req, &e);
    T_EQ_INT(e.status, 404);
    t_resp_free(&e);
}

int main(void)
{
    ec_init();
    setup();
    test_csv_and_json();
    test_label_finished();
    test_label_running();
    test_two_phase();
    test_filtered_and_error_log();
    return t_done();
}
