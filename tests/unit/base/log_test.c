/*
 * log_test.c - secrets are masked in every form a user may write them, and
 * JSON lines are valid JSON with the message intact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"
#include "testlib.h"

static const struct {
    const char *in;
    const char *want;
} cases[] = {
    {"host=db port=5432 password=s3cret user=app", "host=db port=5432 password=**** user=app"},
    {"password = 's3 cr\\'et' dbname=x", "password = **** dbname=x"},
    {"PASSWORD=abc", "PASSWORD=****"},
    {"postgres://app:s3cret@db:5432/x", "postgres://app:****@db:5432/x"},
    {"postgresql://app:p%40ss@db/x?sslmode=require", "postgresql://app:****@db/x?sslmode=require"},
    {"http://root:pw@fe:8030/demo", "http://root:****@fe:8030/demo"},
    {"https://u:a@b@fe:8030/demo", "https://u:****@fe:8030/demo"},
    {"http://root@fe:8030/demo", "http://root@fe:8030/demo"},
    {"PG2DORIS_DEST_PASSWORD=xyz rest", "PG2DORIS_DEST_PASSWORD=**** rest"},
    {"PGPASSWORD=xyz", "PGPASSWORD=****"},
    {"mypassword=notasecretkeyword", "mypassword=notasecretkeyword"},
    {"no secrets here: ratio 1:2", "no secrets here: ratio 1:2"},
    {"", ""},
};

int main(void)
{
    char out[256];
    char path[] = "/tmp/p2d-log-test.XXXXXX";
    int fd = mkstemp(path);
    char buf[4096];
    ssize_t n;
    json_t *j;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        T_EQ_STR(p2d_log_mask_secrets(cases[i].in, out, sizeof(out)), cases[i].want);
    /* truncation keeps the string terminated */
    T_EQ_STR(p2d_log_mask_secrets("password=abcdef", out, 8), "passwor");

    T_EQ_INT(p2d_log_level_parse("WARN"), P2D_LOG_WARN);
    T_EQ_INT(p2d_log_level_parse("loud"), -1);
    T_EQ_INT(p2d_log_format_parse("json"), P2D_LOG_JSON);

    p2d_log_setup(P2D_LOG_INFO, P2D_LOG_JSON, fd);
    P2D_DEBUG("test", "hidden %d", 1);
    P2D_INFO("reader", "connecting to \"host=x password=pw\"\tnow");
    lseek(fd, 0, SEEK_SET);
    n = read(fd, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    j = json_loads(buf, 0, NULL);
    T_CHECK(j != NULL);
    T_EQ_STR(t_json_str(j, "level"), "info");
    T_EQ_STR(t_json_str(j, "module"), "reader");
    /* an unquoted value runs to the next space: the quote goes with it (safer) */
    T_EQ_STR(t_json_str(j, "msg"), "connecting to \"host=x password=****\tnow");
    T_CHECK(strstr(buf, "hidden") == NULL);
    T_CHECK(strstr(buf, "pw\"") == NULL);
    json_decref(j);
    close(fd);
    unlink(path);
    return t_done();
}
