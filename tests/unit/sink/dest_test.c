/*
 * dest_test.c - --dest URL parsing: accepted forms, password sources,
 * and one clear message (without the password) for each bad form.
 */
#include "p2d_error.h"
#include "sink/dest.h"
#include "sink/doris_sql.h"
#include "testlib.h"

static void ok(const char *url, const char *env, const char *user, const char *pw, const char *host,
               int port, const char *db, const char *base)
{
    struct p2d_dest d;
    char err[256] = "";

    T_EQ_INT(p2d_dest_parse(url, env, &d, err, sizeof(err)), 0);
    T_EQ_STR(err, "");
    T_EQ_STR(d.user, user);
    T_EQ_STR(d.password, pw);
    T_EQ_STR(d.host, host);
    T_EQ_INT(d.port, port);
    T_EQ_STR(d.database, db);
    T_EQ_STR(d.base_url, base);
}

static void bad(const char *url, const char *want)
{
    struct p2d_dest d;
    char err[256] = "";

    T_EQ_INT(p2d_dest_parse(url, NULL, &d, err, sizeof(err)), P2D_EINVAL);
    T_HAS_STR(err, want);
    T_CHECK(strstr(err, "s3cret") == NULL);
}

int main(void)
{
    char out[64];
    struct p2d_dest d;
    char err[256];

    ok("http://root@127.0.0.1:8030/demo", NULL, "root", "", "127.0.0.1", 8030, "demo",
       "http://127.0.0.1:8030");
    ok("http://root:s3cret@fe.example:8030/demo", NULL, "root", "s3cret", "fe.example", 8030,
       "demo", "http://fe.example:8030");
    ok("https://a%40b:p%3Aw%40x@fe:8080/d_1-x", NULL, "a@b", "p:w@x", "fe", 8080, "d_1-x",
       "https://fe:8080");
    ok("http://u@fe:1/db", "fromenv", "u", "fromenv", "fe", 1, "db", "http://fe:1");
    ok("http://u:url@fe:1/db", "fromenv", "u", "url", "fe", 1, "db", "http://fe:1");
    ok("http://u@[::1]:8030/db", NULL, "u", "", "[::1]", 8030, "db", "http://[::1]:8030");
    ok("http://u:p@ss@fe:9/db", NULL, "u", "p@ss", "fe", 9, "db", "http://fe:9");

    bad("mysql://root@fe:9030/demo", "scheme must be http or https");
    bad("http://fe:8030/demo", "no user name");
    bad("http://root:s3cret@fe/demo", "the FE port is required");
    bad("http://root:s3cret@fe:80x/demo", "bad port");
    bad("http://root:s3cret@fe:70000/demo", "bad port");
    bad("http://root:s3cret@fe:8030", "database name is missing");
    bad("http://root:s3cret@fe:8030/", "database name is missing");
    bad("http://root:s3cret@fe:8030/a/b", "just the database name");
    bad("http://root:s3cret@fe:8030/1db", "must start with a letter");
    bad("http://root:s3cret@fe:8030/my.db", "characters Doris does not accept");
    bad("http://root:s3%zzcret@fe:8030/db", "percent-encoding");

    T_EQ_INT(p2d_dest_parse("http://root:s3cret@fe:8030/demo", NULL, &d, err, sizeof(err)), 0);
    p2d_dest_describe(&d, out, sizeof(out));
    T_EQ_STR(out, "http://root:****@fe:8030/demo");

    p2d_doris_quote_ident("plain", out, sizeof(out));
    T_EQ_STR(out, "`plain`");
    p2d_doris_quote_ident("we`ird", out, sizeof(out));
    T_EQ_STR(out, "`we``ird`");
    return t_done();
}
