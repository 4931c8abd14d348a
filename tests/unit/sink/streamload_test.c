/*
 * streamload_test.c - every answer class of doris-protocol.md §2.4 maps to
 * the right outcome; labels are deterministic, valid and distinct.
 */
#include <regex.h>

#include "sink/streamload.h"
#include "testlib.h"

static const struct {
    long http;
    const char *body;
    enum p2d_load_outcome want;
} answers[] = {
    {200,
     "{\"TxnId\":3,\"Label\":\"l\",\"Status\":\"Success\",\"Message\":\"OK\","
     "\"NumberTotalRows\":10,\"NumberLoadedRows\":10,\"NumberFilteredRows\":0}",
     P2D_LOAD_DONE},
    {200,
     "{\"Status\":\"Publish Timeout\",\"Message\":\"[PUBLISH_TIMEOUT]transaction commit "
     "successfully, BUT data will be visible later\"}",
     P2D_LOAD_DONE},
    {200, "{\"TxnId\":-1,\"Status\":\"Label Already Exists\",\"ExistingJobStatus\":\"FINISHED\"}",
     P2D_LOAD_DONE},
    {200, "{\"Status\":\"Label Already Exists\",\"ExistingJobStatus\":\"RUNNING\"}",
     P2D_LOAD_WAIT_RUNNING},
    {200, "{\"Status\":\"Label Already Exists\",\"ExistingJobStatus\":\"\"}",
     P2D_LOAD_WAIT_RUNNING},
    {200, "{\"Status\":\"Label Already Exists\",\"ExistingJobStatus\":\"PRECOMMITTED\"}",
     P2D_LOAD_PRECOMMITTED},
    {200,
     "{\"Status\":\"Fail\",\"Message\":\"[E-235]failed to init rowset builder. version "
     "count: 2001, exceed limit: 2000, tablet: 1\"}",
     P2D_LOAD_RETRY},
    {200, "{\"Status\":\"Fail\",\"Message\":\"[E-238]Too many segments in rowset\"}",
     P2D_LOAD_RETRY},
    {200, "{\"Status\":\"Fail\",\"Message\":\"[MEM_LIMIT_EXCEEDED]memory limit exceeded\"}",
     P2D_LOAD_RETRY},
    {200,
     "{\"Status\":\"Fail\",\"Message\":\"[DATA_QUALITY_ERROR]too many filtered rows\","
     "\"NumberFilteredRows\":2,\"ErrorURL\":\"http://be/api/_load_error_log?file=x\"}",
     P2D_LOAD_BAD_DATA},
    {200, "{\"Status\":\"Fail\",\"Message\":\"[INTERNAL_ERROR]too many filtered rows\"}",
     P2D_LOAD_BAD_DATA},
    {200,
     "{\"Status\":\"Fail\",\"Message\":\"[ANALYSIS_ERROR]load by MERGE or DELETE is only "
     "supported in unique tables.\"}",
     P2D_LOAD_FATAL},
    {200, "{\"Status\":\"Fail\",\"Message\":\"[NOT_AUTHORIZED]no valid Basic authorization\"}",
     P2D_LOAD_FATAL},
    {200, "{\"msg\":\"Unauthorized\",\"code\":401,\"data\":\"Access denied\",\"count\":0}",
     P2D_LOAD_FATAL},
    {200, "{\"status\":\"FAILED\",\"msg\":\"There is no 100-continue header\"}", P2D_LOAD_FATAL},
    {500, "<html>Internal Server Error</html>", P2D_LOAD_RETRY},
    {0, "", P2D_LOAD_RETRY},
    {200, "", P2D_LOAD_RETRY},
    {404, "<html>not found</html>", P2D_LOAD_FATAL},
};

int main(void)
{
    struct p2d_load_answer a;
    char l1[160], l2[160], long_name[300];
    regex_t re;

    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        enum p2d_load_outcome got =
            p2d_streamload_decode(answers[i].http, answers[i].body, strlen(answers[i].body), &a);

        if (got != answers[i].want)
            fprintf(stderr, "answer %zu: got %s want %s (%s)\n", i, p2d_load_outcome_name(got),
                    p2d_load_outcome_name(answers[i].want), a.message);
        T_EQ_INT(got, answers[i].want);
    }
    p2d_streamload_decode(200, answers[0].body, strlen(answers[0].body), &a);
    T_EQ_INT(a.txn_id, 3);
    T_EQ_INT(a.loaded_rows, 10);
    T_EQ_STR(a.status, "Success");
    p2d_streamload_decode(200, answers[9].body, strlen(answers[9].body), &a);
    T_EQ_STR(a.error_url, "http://be/api/_load_error_log?file=x");
    T_EQ_INT(a.filtered_rows, 2);

    T_CHECK(regcomp(&re, "^[-_A-Za-z0-9:]{1,128}$", REG_EXTENDED | REG_NOSUB) == 0);
    p2d_streamload_label("a1b2c3", "orders", 7, 0, l1, sizeof(l1));
    T_EQ_STR(l1, "p2d_a1b2c3_orders_7_0");
    p2d_streamload_label("a1b2c3", "orders", 7, 0, l2, sizeof(l2));
    T_EQ_STR(l1, l2);
    p2d_streamload_label("a1b2c3", "orders", 7, 1, l2, sizeof(l2));
    T_CHECK(strcmp(l1, l2) != 0);
    /* rewritten names stay distinct from their look-alikes */
    p2d_streamload_label("j", "a.b", 1, 1, l1, sizeof(l1));
    p2d_streamload_label("j", "a_b", 1, 1, l2, sizeof(l2));
    T_CHECK(strcmp(l1, l2) != 0);
    T_CHECK(regexec(&re, l1, 0, NULL, 0) == 0);
    memset(long_name, 'x', 250);
    long_name[250] = '\0';
    p2d_streamload_label("job", long_name, 123456789, 987654321, l1, sizeof(l1));
    T_CHECK(strlen(l1) <= 128);
    T_CHECK(regexec(&re, l1, 0, NULL, 0) == 0);
    long_name[249] = 'y';
    p2d_streamload_label("job", long_name, 123456789, 987654321, l2, sizeof(l2));
    T_CHECK(strcmp(l1, l2) != 0);
    p2d_streamload_label("job", "ünïcode", 1, 2, l1, sizeof(l1));
    T_CHECK(regexec(&re, l1, 0, NULL, 0) == 0);
    regfree(&re);
    return t_done();
}
