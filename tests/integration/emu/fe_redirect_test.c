/*
 * fe_redirect_test.c - the FE side of doris-emu (doris-protocol.md §1.2-1.5,
 * §8): the 307 to the BE, the checks made before it (and that rejections
 * are answered without reading the body or sending 100 Continue), FE and
 * BE authentication failures, discovery endpoints, unknown paths.
 */
#include "emu_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_redirect(void)
{
    struct t_req req = {0};
    struct t_resp r;
    char want[256];

    req.method = "PUT";
    req.url = ec_fe_url("/api/demo/t1/_stream_load");
    req.userpwd = "root:";
    req.headers[0] = "Expect: 100-continue";
    req.headers[1] = "label: l1";
    req.body = "1,a\n";
    req.body_len = 4;
    t_http(&req, &r);
    T_EQ_INT(r.status, 307);
    snprintf(want, sizeof(want), "http://root:@127.0.0.1:%d/api/demo/t1/_stream_load", ec_be_port);
    T_EQ_STR(r.location, want);
    T_HAS_STR(r.headers, "Content-Type: text/html;charset=utf-8");
    t_resp_free(&r);

    /* The query string is kept as sent. */
    req.url = ec_fe_url("/api/demo/t1/_stream_load?x=1&y=b");
    req.userpwd = "root:";
    t_http(&req, &r);
    snprintf(want, sizeof(want), "http://root:@127.0.0.1:%d/api/demo/t1/_stream_load?x=1&y=b",
             ec_be_port);
    T_EQ_STR(r.location, want);
    t_resp_free(&r);
}

/* A rejection with a large Expect body must come back at once, with no 100
 * Continue and without the body being read. */
static void test_reject_without_body(void)
{
    size_t big = 64u << 20;
    char *body = malloc(big);
    struct t_req req = {0};
    struct t_resp r;
    double t0;
    int fd;
    char *answer;
    char head[512];

    memset(body, 'x', big);
    req.method = "PUT";
    req.url = ec_fe_url("/api/demo/t1/_stream_load");
    req.userpwd = "root:";
    req.headers[0] = "Expect: 100-continue";
    req.headers[1] = "group_commit: fast_mode";
    req.body = body;
    req.body_len = big;
    t0 = now_ms();
    t_http(&req, &r);
    T_EQ_INT(r.status, 200);
    T_EQ_STR(t_json_str(r.json, "status"), "FAILED");
    T_EQ_STR(t_json_str(r.json, "msg"),
             "Header `group_commit` can only be `sync_mode`, `async_mode` or `off_mode`.");
    T_CHECK(now_ms() - t0 < 900); /* curl waits 1 s for 100 Continue before sending */
    t_resp_free(&r);

    /* The same over a raw socket: the first bytes back are the final answer. */
    fd = ec_connect(ec_fe_port);
    T_CHECK(fd >= 0);
    snprintf(head, sizeof(head),
             "PUT /api/demo/t1/_stream_load HTTP/1.1\r\nHost: x\r\n"
             "Content-Length: %zu\r\nExpect: 100-continue\r\n\r\n",
             big);
    ec_send_all(fd, head, strlen(head));
    answer = ec_read_response(fd, 3000);
    T_HAS_STR(answer, "HTTP/1.1 200");
    T_CHECK(strstr(answer, "100 Continue") == NULL);
    T_HAS_STR(answer, "\"code\":401");
    free(answer);
    close(fd);

    /* Missing Expect header (authorised): RestBaseResult. */
    memset(&req, 0, sizeof(req));
    req.method = "PUT";
    req.url = ec_fe_url("/api/demo/t1/_stream_load");
    req.userpwd = "root:";
    req.headers[0] = "Expect:"; /* curl: remove the header */
    req.body = "1\n";
    req.body_len = 2;
    t_http(&req, &r);
    T_EQ_INT(r.status, 200);
    T_EQ_STR(r.body, "{\"status\":\"FAILED\",\"msg\":\"There is no 100-continue header\"}");
    t_resp_free(&r);
    free(body);
}

static void test_auth(void)
{
    struct t_req req = {0};
    struct t_resp r;
    char *keys;

    req.method = "PUT";
    req.url = ec_fe_url("/api/demo/t1/_stream_load");
    req.headers[0] = "Expect: 100-continue";
    req.body = "1\n";
    req.body_len = 2;
    t_http(&req, &r); /* no credentials */
    T_EQ_INT(r.status, 200);
    keys = t_json_keys(r.json);
    T_EQ_STR(keys, "msg,code,data,count");
    free(keys);
    T_EQ_STR(t_json_str(r.json, "msg"), "Unauthorized");
    T_EQ_INT(t_json_int(r.json, "code"), 401);
    T_EQ_INT(t_json_int(r.json, "count"), 0);
    t_resp_free(&r);

    req.userpwd = "root:wrong";
    t_http(&req, &r);
    T_EQ_INT(t_json_int(r.json, "code"), 401);
    T_HAS_STR(t_json_str(r.json, "data"), "Access denied for user 'root");
    t_resp_free(&r);

    req.userpwd = "nobody:x";
    t_http(&req, &r);
    T_EQ_INT(t_json_int(r.json, "code"), 401);
    t_resp_free(&r);

    /* BE without Basic credentials: a Stream Load answer, NOT_AUTHORIZED. */
    memset(&req, 0, sizeof(req));
    req.method = "PUT";
    req.url = ec_be_url("/api/demo/t1/_stream_load");
    req.headers[0] = "Expect: 100-continue";
    req.headers[1] = "label: be_noauth";
    req.body = "1\n";
    req.body_len = 2;
    t_http(&req, &r);
    T_EQ_INT(r.status, 200);
    T_EQ_STR(t_json_str(r.json, "Status"), "Fail");
    T_EQ_STR(t_json_str(r.json, "Message"), "[NOT_AUTHORIZED]no valid Basic authorization");
    T_EQ_STR(t_json_str(r.json, "Label"), "be_noauth");
    T_EQ_INT(t_json_int(r.json, "TxnId"), -1);
    keys = t_json_keys(r.json);
    T_HAS_STR(keys, "TxnId,Label,Comment,TwoPhaseCommit,Status,Message,NumberTotalRows");
    free(keys);
    t_resp_free(&r);

    /* BE with a wrong password. */
    req.userpwd = "root:bad";
    t_http(&req, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Fail");
    T_HAS_STR(t_json_str(r.json, "Message"), "Access denied for user");
    t_resp_free(&r);
}

static void test_2pc_checks(void)
{
    struct t_req req = {0};
    struct t_resp r;
    char want[256];

    req.method = "PUT";
    req.url = ec_fe_url("/api/demo/_stream_load_2pc");
    req.userpwd = "root:";
    t_http(&req, &r);
    T_EQ_STR(r.body, "{\"status\":\"FAILED\",\"msg\":\"No transaction id or label selected.\"}");
    t_resp_free(&r);

    req.headers[0] = "txn_id: 7";
    t_http(&req, &r);
    T_EQ_STR(t_json_str(r.json, "msg"), "No transaction operation('commit' or 'abort') selected.");
    t_resp_free(&r);

    req.headers[1] = "txn_operation: commit";
    t_http(&req, &r);
    T_EQ_INT(r.status, 307);
    snprintf(want, sizeof(want), "http://root:@127.0.0.1:%d/api/demo/_stream_load_2pc", ec_be_port);
    T_EQ_STR(r.location, want);
    t_resp_free(&r);

    req.url = ec_fe_url("/api/demo/t1/_stream_load_2pc");
    req.headers[0] = "label: abc";
    t_http(&req, &r);
    T_EQ_INT(r.status, 307);
    t_resp_free(&r);

    req.userpwd = NULL;
    t_http(&req, &r);
    T_EQ_INT(t_json_int(r.json, "code"), 401);
    t_resp_free(&r);

    /* BE: bad operation and bad txn_id texts. */
    memset(&req, 0, sizeof(req));
    req.method = "PUT";
    req.url = ec_be_url("/api/demo/_stream_load_2pc");
    req.userpwd = "root:";
    req.headers[0] = "txn_id: 12";
    req.headers[1] = "txn_operation: COMMIT";
    t_http(&req, &r);
    T_EQ_STR(t_json_str(r.json, "status"), "INTERNAL_ERROR");
    T_EQ_STR(t_json_str(r.json, "msg"), "transaction operation should be 'commit' or 'abort'");
    t_resp_free(&r);
    req.headers[0] = "txn_id: x1";
    req.headers[1] = "txn_operation: commit";
    t_http(&req, &r);
    T_HAS_STR(t_json_str(r.json, "msg"), "convert txn_id [x1] failed");
    t_resp_free(&r);
}

static void test_discovery(void)
{
    struct t_req req = {0};
    struct t_resp r;
    json_t *data, *be;

    req.url = ec_fe_url("/api/health");
    t_http(&req, &r);
    T_EQ_INT(r.status, 200);
    T_EQ_STR(r.body, "{\"msg\":\"success\",\"code\":0,\"data\":{\"total_backend_num\":1,"
                     "\"online_backend_num\":1},\"count\":0}");
    t_resp_free(&r);

    req.url = ec_fe_url("/api/bootstrap");
    t_http(&req, &r);
    T_EQ_INT(t_json_int(r.json, "code"), 0);
    data = json_object_get(r.json, "data");
    T_CHECK(json_object_get(data, "replayedJournalId") != NULL);
    T_CHECK(json_object_get(data, "queryPort") != NULL);
    T_CHECK(json_is_string(json_object_get(data, "version")));
    t_resp_free(&r);

    req.url = ec_fe_url("/api/backends?is_alive=true");
    t_http(&req, &r);
    T_EQ_INT(t_json_int(r.json, "code"), 401); /* needs a password */
    t_resp_free(&r);
    req.userpwd = "root:";
    t_http(&req, &r);
    be = json_array_get(json_object_get(json_object_get(r.json, "data"), "backends"), 0);
    T_EQ_STR(t_json_str(be, "ip"), "127.0.0.1");
    T_EQ_INT(t_json_int(be, "http_port"), ec_be_port);
    T_CHECK(json_is_true(json_object_get(be, "is_alive")));
    t_resp_free(&r);

    req.userpwd = NULL;
    req.url = ec_be_url("/api/health");
    t_http(&req, &r);
    T_EQ_STR(r.body, "{\"status\": \"OK\",\"msg\": \"To Be Added\"}");
    T_HAS_STR(r.headers, "application/json");
    t_resp_free(&r);

    req.url = ec_fe_url("/api/no/such/thing/here");
    t_http(&req, &r);
    T_EQ_INT(r.status, 404);
    T_EQ_INT(t_json_int(r.json, "status"), 404);
    T_EQ_STR(t_json_str(r.json, "error"), "Not Found");
    t_resp_free(&r);

    req.url = ec_fe_url("/api/demo/t1/_stream_load");
    req.method = "POST";
    t_http(&req, &r);
    T_EQ_INT(r.status, 405);
    t_resp_free(&r);

    req.method = NULL;
    req.url = ec_be_url("/nothing");
    t_http(&req, &r);
    T_EQ_INT(r.status, 404);
    t_resp_free(&r);
}

int main(void)
{
    ec_init();
    test_redirect();
    test_reject_without_body();
    test_auth();
    test_2pc_checks();
    test_discovery();
    return t_done();
}
