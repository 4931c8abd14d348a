/*
 * stream_load_csv_test.c - CSV Stream Loads through the FE (307 followed,
 * Expect: 100-continue), read back with SQL over HTTP: separators and line
 * delimiters (\xHH, multi-byte, multi-char), enclose, escape (§1.7),
 * trim_double_quotes, skip_lines, csv_with_names, columns, hidden_columns,
 * compress_type gz, body framing (§1.4) and Expect handling.
 */
#include "emu_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define DB "csvdb"

static void setup(void)
{
    ec_sql_ok("information_schema", "CREATE DATABASE IF NOT EXISTS " DB);
    ec_sql_ok(DB, "CREATE TABLE t (k INT NOT NULL, s VARCHAR(100) NULL, n INT NULL) "
                  "DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1");
    ec_sql_ok(DB, "CREATE TABLE u (k INT NOT NULL, v VARCHAR(20) NULL) "
                  "UNIQUE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1");
    ec_sql_ok(DB, "CREATE TABLE w (`the key` INT NOT NULL, `my col` VARCHAR(20) NULL, "
                  "`x` INT NULL, `y` VARCHAR(10) NULL) "
                  "DUPLICATE KEY(`the key`) DISTRIBUTED BY HASH(`the key`) BUCKETS 1");
}

static void truncate_t(void)
{
    ec_sql_ok(DB, "TRUNCATE TABLE t");
}

/* Loads into t and checks every row was loaded. */
static void load_t(const char *const *h, const char *body, size_t len, long long rows)
{
    struct t_resp r;

    ec_load_ex(DB, "t", h, body, len, false, &r);
    T_EQ_INT(r.status, 200);
    EC_LOAD_IS(&r, "Success", rows, rows, 0);
    if (strcmp(t_json_str(r.json, "Status") ? t_json_str(r.json, "Status") : "", "Success"))
        fprintf(stderr, "  load answer: %s\n", r.body);
    t_resp_free(&r);
}

static void check_rows(const char *sql, const char *want)
{
    char *rows = ec_rows(ec_fe_port, DB, sql);

    T_EQ_STR(rows, want);
    free(rows);
}

#define ALL "SELECT k, s, n FROM t ORDER BY k"

static void test_separators(void)
{
    const char *h1[] = {"column_separator: \\x01", "line_delimiter: \\x02", NULL};
    const char b1[] = "1\x01"
                      "a b\x01"
                      "10\x02"
                      "2\x01"
                      "c,d\x01"
                      "20\x02";
    const char *h2[] = {"column_separator: \\x01\\x02", NULL};
    const char b2[] = "3\x01\x02x\x01y\x01\x02"
                      "30\n";
    const char *h3[] = {"column_separator: \\x0102", NULL};
    const char b3[] = "4\x01\x02z\x01\x02"
                      "40\n";
    const char *h4[] = {"column_separator: ||", "line_delimiter: \\r\\n", NULL};
    const char b4[] = "5||p,q|r||50\r\n6||\\N||60\r\n";
    const char *h5[] = {"column_separator: ,", NULL};
    const char b5[] = "7,tail\r,70\n";

    truncate_t();
    load_t(h1, b1, sizeof(b1) - 1, 2);
    check_rows(ALL, "1|a b|10;2|c,d|20");
    truncate_t();
    load_t(h2, b2, sizeof(b2) - 1, 1);
    /* a single \x01 inside a field is data when the separator is \x01\x02 */
    check_rows(ALL, "3|x\x01y|30");
    truncate_t();
    load_t(h3, b3, sizeof(b3) - 1, 1);
    check_rows(ALL, "4|z|40");
    truncate_t();
    load_t(h4, b4, sizeof(b4) - 1, 2);
    check_rows(ALL, "5|p,q|r|50;6|NULL|60");
    check_rows("SELECT length(s) FROM t WHERE k = 5", "5");
    /* with the default \n delimiter a \r stays in the data */
    truncate_t();
    load_t(h5, b5, sizeof(b5) - 1, 1);
    check_rows("SELECT length(s), s = 'tail' || char(13) FROM t", "5|1");
}

static void test_enclose(void)
{
    const char *h[] = {"column_separator: ,", "enclose: \"", NULL};
    const char b[] = "1,\"a,b\nc\",10\n2,\"plain\",20\n3,\"\",30\n";
    const char *bad[] = {"column_separator: ,", "enclose: ab", NULL};
    struct t_resp r;

    truncate_t();
    load_t(h, b, sizeof(b) - 1, 3);
    check_rows(ALL, "1|a,b\nc|10;2|plain|20;3||30");

    ec_load_ex(DB, "t", bad, "1,x,1\n", 6, false, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Fail");
    T_EQ_STR(t_json_str(r.json, "Message"),
             "[INVALID_ARGUMENT]enclose must be single-char, actually is ab");
    t_resp_free(&r);
}

static void test_escape(void)
{
    const char *plain[] = {"column_separator: ,", NULL};
    /* bytes: a \ t b \ \ x   and   \ \ N */
    const char b1[] = "1,a\\tb\\\\x,10\n2,\\\\N,20\n3,\\N,30\n";
    const char *esc[] = {"column_separator: ,", "enclose: \"", "escape: \\", NULL};
    /* 1: \\ -> \   2: \" inside enclose -> "   3: \N NULL   4: \\N literal   5: \n -> n
     * 6: an escaped separator inside enclose */
    const char b2[] = "1,a\\\\b,10\n"
                      "2,\"say \\\"hi\\\"\",20\n"
                      "3,\\N,30\n"
                      "4,\\\\N,40\n"
                      "5,x\\ny,50\n"
                      "6,\"p\\,q\",60\n";

    truncate_t();
    load_t(plain, b1, sizeof(b1) - 1, 3);
    /* no unescaping without escape: bytes kept as sent, \N alone is NULL */
    check_rows(ALL, "1|a\\tb\\\\x|10;2|\\\\N|20;3|NULL|30");
    check_rows("SELECT length(s) FROM t WHERE k = 1", "7");

    truncate_t();
    load_t(esc, b2, sizeof(b2) - 1, 6);
    check_rows(ALL, "1|a\\b|10;2|say \"hi\"|20;3|NULL|30;4|\\N|40;5|xny|50;6|p,q|60");
    check_rows("SELECT count(*) FROM t WHERE s IS NULL", "1");
}

static void test_trim_quotes_skip_names(void)
{
    const char *trim[] = {"column_separator: ,", "trim_double_quotes: true", NULL};
    const char *notrim[] = {"column_separator: ,", NULL};
    const char b[] = "1,\"abc\",10\n";
    const char *skip[] = {"column_separator: ,", "skip_lines: 2", NULL};
    const char bs[] = "k,s,n\nsecond header\n1,one,10\n2,two,20\n";
    const char *names[] = {"column_separator: ,", "format: csv_with_names", NULL};
    const char bn[] = "k,s,n\n1,one,10\n2,two,20\n";
    /* skip_lines is ignored for csv_with_names: only the name line goes */
    const char *names_skip[] = {"column_separator: ,", "format: csv_with_names", "skip_lines: 2",
                                NULL};
    const char *types[] = {"column_separator: ,", "format: csv_with_names_and_types", NULL};
    const char bt[] = "k,s,n\nint,varchar,int\n3,three,30\n";

    truncate_t();
    load_t(trim, b, sizeof(b) - 1, 1);
    check_rows(ALL, "1|abc|10");
    truncate_t();
    load_t(notrim, b, sizeof(b) - 1, 1);
    check_rows(ALL, "1|\"abc\"|10");

    truncate_t();
    load_t(skip, bs, sizeof(bs) - 1, 2);
    check_rows(ALL, "1|one|10;2|two|20");
    truncate_t();
    load_t(names, bn, sizeof(bn) - 1, 2);
    check_rows(ALL, "1|one|10;2|two|20");
    truncate_t();
    load_t(names_skip, bn, sizeof(bn) - 1, 2);
    check_rows(ALL, "1|one|10;2|two|20");
    truncate_t();
    load_t(types, bt, sizeof(bt) - 1, 1);
    check_rows(ALL, "3|three|30");
}

static void test_columns(void)
{
    struct t_resp r;
    const char *h1[] = {"column_separator: ,", "columns: `n`,`k`", NULL};
    const char *h2[] = {"column_separator: ,", "columns: `y`, `the key`, `my col`", NULL};
    const char *h3[] = {"column_separator: ,", "columns: k,skipme,n", NULL};

    truncate_t();
    load_t(h1, "70,7\n80,8\n", 10, 2);
    check_rows(ALL, "7|NULL|70;8|NULL|80");

    ec_load_ex(DB, "w", h2, "yy,1,hello world\n", 17, false, &r);
    EC_LOAD_IS(&r, "Success", 1, 1, 0);
    t_resp_free(&r);
    check_rows("SELECT `the key`, `my col`, x, y FROM w", "1|hello world|NULL|yy");

    /* a name that is not a table column is a source-only (skipped) field */
    truncate_t();
    load_t(h3, "9,ignored,90\n", 13, 1);
    check_rows(ALL, "9|NULL|90");
}

static void test_hidden_columns(void)
{
    struct t_resp r;
    const char *h[] = {"column_separator: ,", "hidden_columns: __DORIS_DELETE_SIGN__", NULL};

    ec_load_ex(DB, "u", h, "1,a,0\n2,b,0\n3,c,0\n", 18, false, &r);
    EC_LOAD_IS(&r, "Success", 3, 3, 0);
    t_resp_free(&r);
    check_rows("SELECT k, v FROM u ORDER BY k", "1|a;2|b;3|c");
    ec_load_ex(DB, "u", h, "1,a,1\n3,zz,0\n", 13, false, &r);
    EC_LOAD_IS(&r, "Success", 2, 2, 0);
    t_resp_free(&r);
    check_rows("SELECT k, v FROM u ORDER BY k", "2|b;3|zz");
}

static char *gzip_buf(const char *in, size_t n, size_t *out_len)
{
    z_stream z;
    size_t cap = compressBound((uLong)n) + 64;
    char *out = malloc(cap);

    memset(&z, 0, sizeof(z));
    deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

static void test_gzip(void)
{
    const char *h[] = {"column_separator: ,", "compress_type: gz", NULL};
    const char *hp[] = {"column_separator: ,", NULL};
    char *plain = NULL, *gz;
    size_t plen = 0, glen;
    FILE *f = open_memstream(&plain, &plen);
    struct t_resp r;

    for (int i = 0; i < 5000; i++)
        fprintf(f, "%d,row %d,%d\n", i, i, i * 2);
    fclose(f);
    gz = gzip_buf(plain, plen, &glen);
    T_CHECK(glen < plen);

    for (int chunked = 0; chunked <= 1; chunked++) {
        truncate_t();
        ec_load_ex(DB, "t", h, gz, glen, chunked, &r);
        EC_LOAD_IS(&r, "Success", 5000, 5000, 0);
        T_EQ_INT(t_json_int(r.json, "LoadBytes"), (long long)glen);
        t_resp_free(&r);
        check_rows("SELECT count(*), sum(n), min(s), max(k) FROM t", "5000|24995000|row 0|4999");
        check_rows("SELECT s, n FROM t WHERE k = 1234", "row 1234|2468");
    }
    /* a gzip body without compress_type is loaded as its raw bytes: it is not CSV */
    truncate_t();
    ec_load_ex(DB, "t", hp, gz, glen, false, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Fail");
    t_resp_free(&r);
    /* a truncated gzip stream fails */
    ec_load_ex(DB, "t", h, gz, glen / 2, false, &r);
    T_EQ_STR(t_json_str(r.json, "Status"), "Fail");
    T_HAS_STR(t_json_str(r.json, "Message"), "[INTERNAL_ERROR]failed to decompress gzip body");
    t_resp_free(&r);
    check_rows("SELECT count(*) FROM t", "0");
    free(gz);
    free(plain);
}

/* A raw request to the BE; returns the whole answer. */
static char *raw_be(const char *head, const char *body, size_t blen)
{
    int fd = ec_connect(ec_be_port);
    char *a;

    ec_send_all(fd, head, strlen(head));
    if (body)
        ec_send_all(fd, body, blen);
    a = ec_read_response(fd, 5000);
    close(fd);
    return a;
}

static json_t *answer_json(const char *a)
{
    const char *b = a ? strstr(a, "\r\n\r\n") : NULL;

    return b ? json_loads(b + 4, 0, NULL) : NULL;
}

static void test_framing(void)
{
    char head[1024];
    char *a;
    json_t *j;
    struct t_resp r;
    const char *h[] = {"column_separator: ,", NULL};

    /* Content-Length and chunked through libcurl both work */
    truncate_t();
    ec_load_ex(DB, "t", h, "1,cl,1\n", 7, false, &r);
    EC_LOAD_IS(&r, "Success", 1, 1, 0);
    t_resp_free(&r);
    ec_load_ex(DB, "t", h, "2,ch,2\n", 7, true, &r);
    EC_LOAD_IS(&r, "Success", 1, 1, 0);
    t_resp_free(&r);
    check_rows(ALL, "1|cl|1;2|ch|2");

    /* neither */
    snprintf(head, sizeof(head),
             "PUT /api/" DB "/t/_stream_load HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n"
             "label: frame_neither\r\ncolumn_separator: ,\r\n\r\n",
             ec_basic("root:"));
    a = raw_be(head, NULL, 0);
    T_HAS_STR(a, "HTTP/1.1 200");
    j = answer_json(a);
    T_EQ_STR(t_json_str(j, "Status"), "Fail");
    T_EQ_STR(t_json_str(j, "Message"),
             "[INVALID_ARGUMENT]content_length is empty and transfer-encoding!=chunked, please "
             "set content_length or transfer-encoding=chunked");
    json_decref(j);
    free(a);

    /* both */
    snprintf(head, sizeof(head),
             "PUT /api/" DB "/t/_stream_load HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n"
             "label: frame_both\r\ncolumn_separator: ,\r\nContent-Length: 7\r\n"
             "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
             ec_basic("root:"));
    a = raw_be(head, NULL, 0);
    T_HAS_STR(a, "HTTP/1.1 200");
    T_CHECK(strstr(a, "100 Continue") == NULL);
    j = answer_json(a);
    T_EQ_STR(t_json_str(j, "Status"), "Fail");
    T_EQ_STR(t_json_str(j, "Message"),
             "[INVALID_ARGUMENT]please do not set both content_length and transfer-encoding");
    json_decref(j);
    free(a);
    check_rows(ALL, "1|cl|1;2|ch|2");
}

/* A rejected load answers on the header pass: no 100 Continue, body never read. */
static void test_expect(void)
{
    char head[1024];
    char *a;
    json_t *j;
    int fd;
    const size_t big = 64u << 20; /* 64 MB announced, never sent */

    snprintf(head, sizeof(head),
             "PUT /api/" DB "/t/_stream_load HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n"
             "label: expect_bad\r\nstrict_mode: maybe\r\nContent-Length: %zu\r\n"
             "Expect: 100-continue\r\n\r\n",
             ec_basic("root:"), big);
    fd = ec_connect(ec_be_port);
    ec_send_all(fd, head, strlen(head));
    a = ec_read_response(fd, 5000);
    close(fd);
    T_CHECK(strncmp(a, "HTTP/1.1 200", 12) == 0);
    T_CHECK(strstr(a, "100 Continue") == NULL);
    j = answer_json(a);
    T_EQ_STR(t_json_str(j, "Status"), "Fail");
    T_EQ_STR(t_json_str(j, "Message"),
             "[INVALID_ARGUMENT]Invalid strict mode format. Must be bool type");
    T_EQ_INT(t_json_int(j, "LoadBytes"), 0);
    json_decref(j);
    free(a);

    /* an acceptable load gets 100 Continue first, then the answer after the body */
    snprintf(head, sizeof(head),
             "PUT /api/" DB "/t/_stream_load HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n"
             "label: expect_good\r\ncolumn_separator: ,\r\nContent-Length: 8\r\n"
             "Expect: 100-continue\r\n\r\n",
             ec_basic("root:"));
    fd = ec_connect(ec_be_port);
    ec_send_all(fd, head, strlen(head));
    a = ec_read_response(fd, 5000);
    T_HAS_STR(a, "HTTP/1.1 100 Continue");
    free(a);
    ec_send_all(fd, "77,ex,7\n", 8);
    a = ec_read_response(fd, 5000);
    close(fd);
    j = answer_json(a);
    T_EQ_STR(t_json_str(j, "Status"), "Success");
    T_EQ_INT(t_json_int(j, "NumberLoadedRows"), 1);
    T_EQ_INT(t_json_int(j, "LoadBytes"), 8);
    json_decref(j);
    free(a);
    check_rows("SELECT s, n FROM t WHERE k = 77", "ex|7");
}

int main(void)
{
    ec_init();
    setup();
    test_separators();
    test_enclose();
    test_escape();
    test_trim_quotes_skip_names();
    test_columns();
    test_hidden_columns();
    test_gzip();
    test_framing();
    test_expect();
    return t_done();
}
