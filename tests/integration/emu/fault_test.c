/*
 * fault_test.c - every fault kind of doris-emu, added through the admin
 * endpoint POST /_emu/faults: what the client sees, and what is left in the
 * table afterwards (failed, reset and hung loads leave nothing; lost_answer
 * and publish_timeout leave the rows and a FINISHED label). Also the
 * nth / count matching and /_emu/stats.
 */
#include "emu_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void admin(const char *method, const char *path, const char *body, struct t_resp *r)
{
    struct t_req req = {0};

    req.method = method;
    req.url = ec_fe_url(path);
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    t_http(&req, r);
}

static void add_fault(const char *spec)
{
    struct t_resp r;

    admin("DELETE", "/_emu/faults", NULL, &r);
    T_EQ_INT(r.status, 200);
    t_resp_free(&r);
    admin("POST", "/_emu/faults", spec, &r);
    T_EQ_INT(r.status, 200);
    T_EQ_STR(t_json_str(json_array_get(json_object_get(r.json, "faults"), 0), "spec"), spec);
    t_resp_free(&r);
}

static void load(const char *label, const char *body, long timeout_ms, struct t_resp *r)
{
    char path[128], lh[128];
    struct t_req req = {0};

    snprintf(path, sizeof(path), "/api/demo/f/_stream_load");
    snprintf(lh, sizeof(lh), "label: %s", label);
    req.method = "PUT";
    req.url = ec_fe_url(path);
    req.userpwd = "root:";
    req.follow = true;
    req.headers[0] = "Expect: 100-continue";
    req.headers[1] = lh;
    req.headers[2] = "column_separator: ,";
    req.body = body;
    req.body_len = strlen(body);
    req.timeout_ms = timeout_ms;
    t_http(&req, r);
}

static char *count_rows(void)
{
    return ec_rows(ec_fe_port, "demo", "SELECT count(*) FROM f");
}

static void expect_count(const char *want, int line)
{
    char *got = count_rows();

    if (strcmp(got, want) != 0)
        t_fail_at(__FILE__, line, "row count: got %s, want %s", got, want);
    else
        t_passed++;
    free(got);
}

static void test_bad_specs(void)
{
    struct t_resp r;

    admin("POST", "/_emu/faults", "kind=explode", &r);
    T_EQ_INT(r.status, 400);
    T_HAS_STR(t_json_str(r.json, "error"), "unknown fault kind");
    t_resp_free(&r);
    admin("POST", "/_emu/faults", "kind=slow,ms=abc", &r);
    T_EQ_INT(r.status, 400);
    t_resp_free(&r);
}

static void test_http5xx(void)
{
    struct t_resp r;

    add_fault("kind=http5xx,status=503,db=demo,table=f");
    load("h1", "1,a\n", 0, &r);
    T_EQ_INT(r.status, 503);
    t_resp_free(&r);
    expect_count("0", __LINE__);
    load("h1", "1,a\n", 0, &r); /* the label was never used */
    T_EQ_INT(r.status, 503);
    t_resp_free(&r);
}

static void test_reset(void)
{
    struct t_resp r;
    size_t n = 4u << 20;
    char *big = malloc(n + 1);

    for (size_t i = 0; i + 6 <= n; i += 6)
        memcpy(big + i, "7,bbb\n", 6);
    big[n - n % 6] = '\0';
    add_fault("kind=reset,after=1000");
    load("r1", big, 0, &r);
    T_EQ_INT(r.status, 0);
    T_CHECK(r.curl_code != 0);
    t_resp_free(&r);
    expect_count("0", __LINE__);
    free(big);

    /* The label of a reset load is free again. */
    add_fault("kind=reset,table=other");
    load("r1", "2,b\n", 0, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    t_resp_free(&r);
    expect_count("1", __LINE__);
}

static void test_slow(void)
{
    struct t_resp r;
    double t0;

    add_fault("kind=slow,ms=600");
    t0 = now_ms();
    load("s1", "3,c\n", 0, &r);
    T_CHECK(now_ms() - t0 >= 600);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    t_resp_free(&r);
    expect_count("2", __LINE__);
}

static void test_hang(void)
{
    struct t_resp r;
    double t0;

    add_fault("kind=hang,count=1");
    t0 = now_ms();
    load("g1", "4,d\n", 800, &r);
    T_EQ_INT(r.status, 0);
    T_CHECK(now_ms() - t0 < 5000);
    t_resp_free(&r);
    expect_count("2", __LINE__);
    /* The hung load was abandoned: its label is reusable. */
    load("g1", "4,d\n", 0, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    t_resp_free(&r);
    expect_count("3", __LINE__);

    /* hang with ms: the connection is closed after ms. */
    add_fault("kind=hang,ms=300");
    t0 = now_ms();
    load("g2", "5,e\n", 5000, &r);
    T_EQ_INT(r.status, 0);
    T_CHECK(now_ms() - t0 < 4000);
    t_resp_free(&r);
    expect_count("3", __LINE__);
}

static void test_storage_faults(void)
{
    struct t_resp r;

    add_fault("kind=e235");
    load("e1", "6,f\n", 0, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Fail");
    T_HAS_STR(t_json_str(r.json, "Message"), "[E-235]");
    t_resp_free(&r);
    expect_count("3", __LINE__);

    add_fault("kind=mem_limit");
    load("m1", "6,f\n", 0, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Fail");
    T_HAS_STR(t_json_str(r.json, "Message"), "[MEM_LIMIT_EXCEEDED]");
    t_resp_free(&r);
    expect_count("3", __LINE__);

    add_fault("kind=publish_timeout");
    load("p1", "6,f\n", 0, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Publish Timeout");
    T_HAS_STR(t_json_str(r.json, "Message"), "PUBLISH_TIMEOUT");
    t_resp_free(&r);
    expect_count("4", __LINE__);
}

static void test_lost_answer(void)
{
    struct t_resp r;

    add_fault("kind=lost_answer,count=1");
    load("la1", "8,h\n", 0, &r);
    T_EQ_INT(r.status, 0);
    T_CHECK(r.curl_code != 0);
    t_resp_free(&r);
    expect_count("5", __LINE__);
    load("la1", "8,h\n", 0, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Label Already Exists");
    T_EQ_STR(t_json_str(r.json, "ExistingJobStatus"), "FINISHED");
    t_resp_free(&r);
}

static void test_nth_and_fe_down(void)
{
    struct t_resp r;
    struct t_req req = {0};

    add_fault("kind=e235,nth=2");
    load("n1", "10,a\n", 0, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    t_resp_free(&r);
    load("n2", "11,a\n", 0, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Fail");
    t_resp_free(&r);
    load("n3", "12,a\n", 0, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Success");
    t_resp_free(&r);
    admin("GET", "/_emu/faults", NULL, &r);
    T_EQ_INT(t_json_int(json_array_get(json_object_get(r.json, "faults"), 0), "matched"), 3);
    T_EQ_INT(t_json_int(json_array_get(json_object_get(r.json, "faults"), 0), "fired"), 1);
    t_resp_free(&r);

    add_fault("kind=fe_down,count=2");
    req.url = ec_fe_url("/api/health");
    t_http(&req, &r);
    T_EQ_INT(r.status, 0);
    T_CHECK(r.curl_code != 0);
    t_resp_free(&r);
    load("fd1", "13,a\n", 0, &r);
    T_EQ_INT(r.status, 0);
    t_resp_free(&r);
    t_http(&req, &r); /* count reached: the FE answers again */
    T_EQ_INT(r.status, 200);
    t_resp_free(&r);

    admin("DELETE", "/_emu/faults", NULL, &r);
    T_EQ_INT(json_array_size(json_object_get(r.json, "faults")), 0);
    t_resp_free(&r);
}

static void test_stats(void)
{
    struct t_resp r;

    admin("GET", "/_emu/stats", NULL, &r);
    T_EQ_INT(r.status, 200);
    T_CHECK(t_json_int(r.json, "loads_ok") >= 6);
    T_CHECK(t_json_int(r.json, "loads_failed") >= 5);
    T_CHECK(t_json_int(r.json, "rows_loaded") >= 6);
    T_CHECK(t_json_int(r.json, "bytes_received") > 1000);
    t_resp_free(&r);
}

int main(void)
{
    ec_init();
    ec_sql_ok("information_schema", "CREATE DATABASE demo");
    ec_sql_ok("demo", "CREATE TABLE f (id INT NOT NULL, v VARCHAR(10) NULL) DUPLICATE KEY(id) "
                      "DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    test_bad_specs();
    test_http5xx();
    test_reset();
    test_slow();
    test_hang();
    test_storage_faults();
    test_lost_answer();
    test_nth_and_fe_down();
    test_stats();
    return t_done();
}
