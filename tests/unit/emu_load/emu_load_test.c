/*
 * emu_load_test.c - doris-emu's Stream Load (load.c) driven directly:
 * headers from a table, body in chunks (every split point of small bodies),
 * against a real ":memory:" store. Checks answers (keys in order, texts),
 * stored rows, filtered rows and their error log, atomicity and faults.
 */
#include "emu.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

static struct emu_store *store;
static struct emu_load_env env;

/* ---- headers -------------------------------------------------------------- */

struct hdr {
    const char *name;
    const char *value;
};

struct req {
    struct hdr h[32];
    int n;
    char clen[32];
};

static const char *header_fn(void *p, const char *name)
{
    struct req *r = p;

    for (int i = 0; i < r->n; i++)
        if (strcasecmp(r->h[i].name, name) == 0)
            return r->h[i].value;
    return NULL;
}

/* hdrs: "name: value" strings, NULL-terminated; Content-Length added unless
 * a Transfer-Encoding / Content-Length header is given or body_len < 0. */
static void req_init(struct req *r, const char *const *hdrs, long body_len)
{
    bool framing = false;

    r->n = 0;
    for (; hdrs && *hdrs; hdrs++) {
        static char store_[64][256];
        const char *colon = strchr(*hdrs, ':');
        char *name = store_[r->n * 2 % 64];
        char *value = store_[(r->n * 2 + 1) % 64];

        snprintf(name, 256, "%.*s", (int)(colon - *hdrs), *hdrs);
        snprintf(value, 256, "%s", colon[1] == ' ' ? colon + 2 : colon + 1);
        if (!strcasecmp(name, "Transfer-Encoding") || !strcasecmp(name, "Content-Length"))
            framing = true;
        r->h[r->n].name = name;
        r->h[r->n++].value = value;
    }
    if (!framing && body_len >= 0) {
        snprintf(r->clen, sizeof(r->clen), "%ld", body_len);
        r->h[r->n].name = "Content-Length";
        r->h[r->n++].value = r->clen;
    }
}

/* Runs one load; body fed in pieces split at the given offsets (0 = none). */
static json_t *run_split(const char *table, const char *const *hdrs, const char *body, size_t n,
                         size_t split1, size_t split2, const struct emu_fault_hit *fault)
{
    struct req r;
    json_t *a = NULL;
    struct emu_load *l;
    size_t cuts[4] = {0, split1, split2, n};

    req_init(&r, hdrs, (long)n);
    l = emu_load_begin(&env, "db", table, header_fn, &r, &a);
    if (!l)
        return a;
    for (int i = 0; i < 3; i++) {
        size_t from = cuts[i] > n ? n : cuts[i], to = cuts[i + 1] > n ? n : cuts[i + 1];

        if (to < from)
            to = from;
        if (to > from)
            emu_load_feed(l, body + from, to - from);
    }
    return emu_load_finish(l, fault);
}

static json_t *run(const char *table, const char *const *hdrs, const char *body)
{
    return run_split(table, hdrs, body, strlen(body), 0, 0, NULL);
}

static const char *status(json_t *a)
{
    return t_json_str(a, "Status");
}

static const char *message(json_t *a)
{
    return t_json_str(a, "Message");
}

/* ---- store helpers ---------------------------------------------------------- */

static void sql(const char *text)
{
    struct emu_err err;
    json_t *res = NULL;

    if (emu_store_exec_sql(store, "db", text, 1000, &res, &err) != 0)
        t_fail_at(__FILE__, __LINE__, "sql failed: %s: %s", text, err.msg);
    json_decref(res);
}

/* Rows of a query as "a|b;c|d" (NULL for null). Returned buffer is static. */
static const char *rows(const char *query)
{
    static char out[8192];
    struct emu_err err;
    json_t *res = NULL, *data, *row, *v;
    size_t i, j;
    size_t len = 0;

    out[0] = '\0';
    if (emu_store_exec_sql(store, "db", query, 1000, &res, &err) != 0) {
        snprintf(out, sizeof(out), "ERROR %s", err.msg);
        return out;
    }
    data = json_object_get(res, "data");
    json_array_foreach(data, i, row)
    {
        if (i)
            len += (size_t)snprintf(out + len, sizeof(out) - len, ";");
        json_array_foreach(row, j, v)
        {
            if (j)
                len += (size_t)snprintf(out + len, sizeof(out) - len, "|");
            if (json_is_null(v))
                len += (size_t)snprintf(out + len, sizeof(out) - len, "NULL");
            else if (json_is_string(v))
                len += (size_t)snprintf(out + len, sizeof(out) - len, "%s", json_string_value(v));
            else if (json_is_boolean(v))
                len += (size_t)snprintf(out + len, sizeof(out) - len, "%d", json_is_true(v));
            else if (json_is_integer(v))
                len += (size_t)snprintf(out + len, sizeof(out) - len, "%lld",
                                        (long long)json_integer_value(v));
            else
                len += (size_t)snprintf(out + len, sizeof(out) - len, "%g", json_number_value(v));
            if (len >= sizeof(out))
                return out;
        }
    }
    json_decref(res);
    return out;
}

static char *error_log(json_t *a)
{
    const char *url = t_json_str(a, "ErrorURL");
    const char *tok = url ? strstr(url, "file=") : NULL;
    size_t n;

    return tok ? emu_store_error_log_get(store, tok + 5, &n) : NULL;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_answer_shape(void)
{
    const char *h[] = {"label: shape1", "column_separator: ,", "comment: hello", NULL};
    json_t *a = run("t1", h, "1,a\n2,b\n");
    char *keys = t_json_keys(a), *text = emu_answer_text(a);

    T_EQ_STR(status(a), "Success");
    T_EQ_STR(message(a), "OK");
    T_EQ_STR(keys, "TxnId,Label,Comment,TwoPhaseCommit,Status,Message,NumberTotalRows,"
                   "NumberLoadedRows,NumberFilteredRows,NumberUnselectedRows,LoadBytes,"
                   "LoadTimeMs,BeginTxnTimeMs,StreamLoadPutTimeMs,ReadDataTimeMs,"
                   "WriteDataTimeMs,ReceiveDataTimeMs,CommitAndPublishTimeMs");
    T_EQ_STR(t_json_str(a, "Comment"), "hello");
    T_EQ_STR(t_json_str(a, "TwoPhaseCommit"), "false");
    T_EQ_INT(t_json_int(a, "NumberLoadedRows"), 2);
    T_EQ_INT(t_json_int(a, "LoadBytes"), 8);
    T_CHECK(t_json_int(a, "TxnId") > 0);
    T_CHECK(text && strncmp(text, "{\n    \"TxnId\": ", 15) == 0);
    T_CHECK(text && text[strlen(text) - 1] == '\n' && text[strlen(text) - 2] == '}');
    T_EQ_STR(rows("SELECT k, v FROM t1 ORDER BY k"), "1|a;2|b");
    free(keys);
    free(text);
    json_decref(a);

    /* no label: a UUID */
    const char *h2[] = {"column_separator: ,", NULL};
    a = run("t1", h2, "3,c\n");
    T_EQ_INT(strlen(t_json_str(a, "Label")), 36);
    T_EQ_STR(status(a), "Success");
    json_decref(a);
}

static void test_framing(void)
{
    struct req r;
    json_t *a = NULL;
    const char *none[] = {"label: f1", NULL};
    const char *both[] = {"label: f2", "Content-Length: 4", "Transfer-Encoding: chunked", NULL};
    const char *chunked[] = {"label: f3", "Transfer-Encoding: chunked", "column_separator: ,",
                             NULL};
    struct emu_load *l;

    req_init(&r, none, -1);
    T_CHECK(emu_load_begin(&env, "db", "t1", header_fn, &r, &a) == NULL);
    T_EQ_STR(message(a),
             "[INVALID_ARGUMENT]content_length is empty and transfer-encoding!=chunked, "
             "please set content_length or transfer-encoding=chunked");
    T_EQ_STR(status(a), "Fail");
    json_decref(a);
    req_init(&r, both, -1);
    T_CHECK(emu_load_begin(&env, "db", "t1", header_fn, &r, &a) == NULL);
    T_EQ_STR(message(a),
             "[INVALID_ARGUMENT]please do not set both content_length and transfer-encoding");
    json_decref(a);

    /* chunked body: no length check */
    req_init(&r, chunked, -1);
    l = emu_load_begin(&env, "db", "t1", header_fn, &r, &a);
    T_CHECK(l != NULL);
    if (l) {
        emu_load_feed(l, "10,x\n", 5);
        a = emu_load_finish(l, NULL);
        T_EQ_STR(status(a), "Success");
        json_decref(a);
    }

    /* fewer bytes than Content-Length */
    const char *short_[] = {"label: f4", "Content-Length: 100", "column_separator: ,", NULL};
    req_init(&r, short_, -1);
    l = emu_load_begin(&env, "db", "t1", header_fn, &r, &a);
    T_CHECK(l != NULL);
    if (l) {
        emu_load_feed(l, "11,y\n", 5);
        a = emu_load_finish(l, NULL);
        T_HAS_STR(message(a), "[NETWORK_ERROR]receive body don't equal with body bytes");
        json_decref(a);
    }
    T_EQ_STR(rows("SELECT k FROM t1 WHERE k = 11"), "");

    /* body size limit */
    struct emu_load_env small = env;
    small.max_body_mb = 1;
    const char *big[] = {"label: f5", "Content-Length: 2097152", NULL};
    req_init(&r, big, -1);
    T_CHECK(emu_load_begin(&small, "db", "t1", header_fn, &r, &a) == NULL);
    T_EQ_STR(message(a), "[E-217]body size 2097152 exceed BE's conf `streaming_load_max_mb` "
                         "1048576. increase it if you are sure this load is reasonable");
    json_decref(a);
    const char *bigjson[] = {"label: f6", "Content-Length: 2097152", "format: json",
                             "strip_outer_array: true", NULL};
    small.json_max_mb = 1;
    small.max_body_mb = 10;
    req_init(&r, bigjson, -1);
    T_CHECK(emu_load_begin(&small, "db", "t1", header_fn, &r, &a) == NULL);
    T_HAS_STR(message(a), "[E-217]json body size 2097152 exceed BE's conf "
                          "`streaming_load_json_max_mb` 1048576");
    json_decref(a);
}

static void test_labels(void)
{
    const char *h[] = {"label: bad.label", NULL};
    json_t *a = run("t1", h, "");

    T_EQ_STR(message(a), "[ANALYSIS_ERROR]errCode = 2, detailMessage = Label format error. regex: "
                         "^[-_A-Za-z0-9:]{1,128}$, label: bad.label");
    T_EQ_INT(t_json_int(a, "TxnId"), -1);
    json_decref(a);

    const char *ok[] = {"label: dup1", "column_separator: ,", NULL};
    a = run("t1", ok, "20,a\n");
    long long txn = t_json_int(a, "TxnId");
    T_EQ_STR(status(a), "Success");
    json_decref(a);
    a = run("t1", ok, "21,a\n");
    char want[256];
    snprintf(want, sizeof(want),
             "[LABEL_ALREADY_EXISTS]errCode = 2, detailMessage = Label [dup1] has already been "
             "used, relate to txn [%lld]",
             txn);
    T_EQ_STR(status(a), "Label Already Exists");
    T_EQ_STR(t_json_str(a, "ExistingJobStatus"), "FINISHED");
    T_EQ_STR(message(a), want);
    char *keys = t_json_keys(a);
    T_HAS_STR(keys, "TwoPhaseCommit,Status,ExistingJobStatus,Message,NumberTotalRows");
    free(keys);
    json_decref(a);
    T_EQ_STR(rows("SELECT k FROM t1 WHERE k = 21"), "");

    /* RUNNING: a load still in flight */
    struct req r;
    const char *run1[] = {"label: inflight", NULL};
    struct emu_load *l;
    req_init(&r, run1, 0);
    l = emu_load_begin(&env, "db", "t1", header_fn, &r, &a);
    T_CHECK(l != NULL);
    a = run("t1", run1, "");
    T_EQ_STR(t_json_str(a, "ExistingJobStatus"), "RUNNING");
    json_decref(a);
    emu_load_abandon(l); /* aborted: the label is free again */
    a = run("t1", run1, "");
    T_EQ_STR(status(a), "Success");
    json_decref(a);

    /* PRECOMMITTED */
    const char *pc[] = {"label: pc1", "two_phase_commit: true", "column_separator: ,", NULL};
    a = run("t1", pc, "30,p\n");
    T_EQ_STR(t_json_str(a, "TwoPhaseCommit"), "true");
    T_EQ_STR(status(a), "Success");
    json_decref(a);
    T_EQ_STR(rows("SELECT k FROM t1 WHERE k = 30"), "");
    a = run("t1", pc, "30,p\n");
    T_EQ_STR(t_json_str(a, "ExistingJobStatus"), "PRECOMMITTED");
    json_decref(a);

    /* two_phase_commit is exactly "true" */
    const char *pc2[] = {"label: pc2", "two_phase_commit: TRUE", "column_separator: ,", NULL};
    a = run("t1", pc2, "31,p\n");
    T_EQ_STR(t_json_str(a, "TwoPhaseCommit"), "false");
    json_decref(a);
}

static void test_group_commit(void)
{
    const char *bad[] = {"group_commit: fast", NULL};
    const char *lab[] = {"group_commit: sync_mode", "label: x1", NULL};
    const char *ok[] = {"group_commit: async_mode", "column_separator: ,", NULL};
    json_t *a = run("t1", bad, "1,a\n");

    T_EQ_STR(message(a),
             "[INVALID_ARGUMENT]group_commit can only be [async_mode, sync_mode, off_mode]");
    json_decref(a);
    a = run("t1", lab, "1,a\n");
    T_EQ_STR(message(a), "[INVALID_ARGUMENT]label and group_commit can't be set at the same time");
    json_decref(a);
    a = run("t1", ok, "40,g\n");
    char *keys = t_json_keys(a);
    T_EQ_STR(keys, "TxnId,Label,Comment,GroupCommit,GroupCommitMode,LoadId,Status,Message,"
                   "NumberTotalRows,NumberLoadedRows,NumberFilteredRows,NumberUnselectedRows,"
                   "LoadBytes,LoadTimeMs,StreamLoadPutTimeMs,ReadDataTimeMs,WriteDataTimeMs,"
                   "ReceiveDataTimeMs");
    T_CHECK(json_is_true(json_object_get(a, "GroupCommit")));
    T_EQ_STR(t_json_str(a, "GroupCommitMode"), "async_mode");
    T_HAS_STR(t_json_str(a, "Label"), "group_commit_");
    T_EQ_STR(status(a), "Success");
    free(keys);
    json_decref(a);
    T_EQ_STR(rows("SELECT v FROM t1 WHERE k = 40"), "g");
}

static void test_formats(void)
{
    const char *unk[] = {"format: xml", NULL};
    const char *bz[] = {"compress_type: bz2", NULL};
    json_t *a = run("t1", unk, "");

    T_EQ_STR(message(a), "[E-1101]unknown data format, format=xml");
    json_decref(a);
    a = run("t1", bz, "");
    T_HAS_STR(message(a), "compress_type=bz2");
    T_EQ_STR(status(a), "Fail");
    json_decref(a);

    /* gzip, two members back to back, fed at every split point */
    unsigned char gz[512];
    size_t gzn = 0;
    const char *parts[] = {"50,gz1\n51,g", "z2\n52,gz3\n"};
    for (int i = 0; i < 2; i++) {
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = (Bytef *)(uintptr_t)parts[i];
        zs.avail_in = (uInt)strlen(parts[i]);
        zs.next_out = gz + gzn;
        zs.avail_out = (uInt)(sizeof(gz) - gzn);
        deflate(&zs, Z_FINISH);
        gzn = sizeof(gz) - zs.avail_out;
        deflateEnd(&zs);
    }
    int bad = 0;
    for (size_t s = 0; s <= gzn; s++) {
        char label[32];
        char lh[48];
        snprintf(label, sizeof(label), "gz%zu", s);
        snprintf(lh, sizeof(lh), "label: %s", label);
        const char *h[] = {lh, "compress_type: GZ", "column_separator: ,", NULL};
        a = run_split("t2", h, (const char *)gz, gzn, s, s, NULL);
        if (!status(a) || strcmp(status(a), "Success") || t_json_int(a, "NumberLoadedRows") != 3)
            bad++;
        if (s == 0)
            T_EQ_INT(t_json_int(a, "LoadBytes"), (long long)gzn);
        json_decref(a);
    }
    T_EQ_INT(bad, 0);
    T_EQ_STR(rows("SELECT DISTINCT k, v FROM t2 WHERE k >= 50 ORDER BY k"), "50|gz1;51|gz2;52|gz3");

    /* truncated gzip */
    const char *h[] = {"label: gzbad", "compress_type: gz", "column_separator: ,", NULL};
    a = run_split("t2", h, (const char *)gz, gzn / 2, 0, 0, NULL);
    T_EQ_STR(status(a), "Fail");
    T_HAS_STR(message(a), "gzip");
    json_decref(a);
}

/* Every split point (two cuts) of a body must give the same rows. */
static void check_splits(const char *table, const char *const *extra, const char *body,
                         const char *query, const char *want, long long loaded)
{
    size_t n = strlen(body);
    int bad = 0;
    static int seq;

    for (size_t a1 = 0; a1 <= n; a1++) {
        for (size_t a2 = a1; a2 <= n; a2 += (n > 40 ? 7 : 1)) {
            const char *h[16];
            char lh[64];
            int k = 0;
            json_t *a;

            snprintf(lh, sizeof(lh), "label: split%d", ++seq);
            h[k++] = lh;
            for (int i = 0; extra[i]; i++)
                h[k++] = extra[i];
            h[k] = NULL;
            char trunc[64];

            snprintf(trunc, sizeof(trunc), "TRUNCATE TABLE %s", table);
            sql(trunc);
            a = run_split(table, h, body, n, a1, a2, NULL);
            if (t_json_int(a, "NumberLoadedRows") != loaded || strcmp(rows(query), want) != 0) {
                if (bad++ < 3)
                    t_fail_at(__FILE__, __LINE__, "split %zu/%zu: loaded %lld rows %s", a1, a2,
                              t_json_int(a, "NumberLoadedRows"), rows(query));
            }
            json_decref(a);
        }
    }
    T_EQ_INT(bad, 0);
}

/*
 * Random texts from an alphabet of the bytes that matter (TAB, LF, '"',
 * '\\', "\\N" pieces), written the way the engine writes them (enclosed and
 * escaped when needed, \N for NULL), loaded at random split points: every
 * value must come back as it was.
 */
static void test_csv_random(void)
{
    static const char alpha[] = "ab \t\n\"\\N,x";
    const char *hdr[] = {NULL, "column_separator: \\x09", "enclose: \"", "escape: \\", NULL};
    unsigned seed = 12345;
    int bad = 0;

    for (int round = 0; round < 40; round++) {
        struct emu_buf body, want;
        char lh[64];
        json_t *a;
        int nrows = 1 + (int)(rand_r(&seed) % 40);

        emu_buf_init(&body);
        emu_buf_init(&want);
        for (int k = 0; k < nrows; k++) {
            char v[32], num[32];
            int n = (int)(rand_r(&seed) % 24);
            bool null = rand_r(&seed) % 8 == 0, enclose = false;

            for (int i = 0; i < n; i++)
                v[i] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
            v[n] = '\0';
            if (rand_r(&seed) % 8 == 0)
                snprintf(v, sizeof(v), "\\N"); /* the text \N, not NULL */
            n = (int)strlen(v);
            snprintf(num, sizeof(num), "%d\t", k);
            emu_buf_append(&body, num, strlen(num));
            for (int i = 0; i < n; i++)
                enclose |= v[i] == '\t' || v[i] == '\n' || v[i] == '"' || v[i] == '\\';
            if (null) {
                emu_buf_append(&body, "\\N", 2);
            } else if (!enclose) {
                emu_buf_append(&body, v, (size_t)n);
            } else {
                emu_buf_append(&body, "\"", 1);
                for (int i = 0; i < n; i++) {
                    if (v[i] == '"' || v[i] == '\\')
                        emu_buf_append(&body, "\\", 1);
                    emu_buf_append(&body, &v[i], 1);
                }
                emu_buf_append(&body, "\"", 1);
            }
            emu_buf_append(&body, "\n", 1);
            snprintf(num, sizeof(num), "%s%d|", k ? ";" : "", k);
            emu_buf_append(&want, num, strlen(num));
            if (null)
                emu_buf_append(&want, "NULL", 4);
            else
                emu_buf_append(&want, v, (size_t)n);
        }
        emu_buf_append(&want, "", 1);
        snprintf(lh, sizeof(lh), "label: random%d", round);
        hdr[0] = lh;
        sql("TRUNCATE TABLE t2");
        {
            size_t c1 = rand_r(&seed) % (body.len + 1), c2 = rand_r(&seed) % (body.len + 1);

            a = run_split("t2", hdr, body.data, body.len, c1 < c2 ? c1 : c2, c1 < c2 ? c2 : c1,
                          NULL);
        }
        if (t_json_int(a, "NumberLoadedRows") != nrows ||
            strcmp(rows("SELECT k, v FROM t2 ORDER BY k"), want.data) != 0) {
            if (bad++ < 3)
                t_fail_at(__FILE__, __LINE__, "round %d: loaded %lld of %d rows: %s", round,
                          t_json_int(a, "NumberLoadedRows"), nrows, json_dumps(a, 0));
        }
        json_decref(a);
        emu_buf_fini(&body);
        emu_buf_fini(&want);
    }
    T_EQ_INT(bad, 0);
}

static void test_csv(void)
{
    /* multi-byte separator and delimiter, \N, empty string */
    const char *h1[] = {"column_separator: \\x01\\x02", "line_delimiter: \\x03\\x04", NULL};
    check_splits("t2", h1,
                 "1\x01\x02"
                 "a b\x03\x04"
                 "2\x01\x02\\N\x03\x04"
                 "3\x01\x02\x03\x04",
                 "SELECT k, v FROM t2 ORDER BY k", "1|a b;2|NULL;3|", 3);

    /* enclose: separators and newlines inside quotes; escape protects the quote */
    const char *h2[] = {"column_separator: ,", "enclose: \"", "escape: \\", NULL};
    check_splits("t2", h2, "1,\"x,y\"\n2,\"l1\nl2\"\n3,\"q\\\"q\"\n4,\\N\n",
                 "SELECT k, v FROM t2 ORDER BY k", "1|x,y;2|l1\nl2;3|q\"q;4|NULL", 4);

    /* the engine's shape: TAB, enclose and escape, rows longer than the
     * scanner's 16-byte blocks, an enclose byte inside a field is data */
    const char *h2b[] = {"column_separator: \\x09", "enclose: \"", "escape: \\", NULL};
    check_splits("t2", h2b,
                 "1\tplain text value longer than sixteen bytes\n"
                 "2\t\"a\\\"b\tc, a tab and a \\\\ backslash\"\n"
                 "3\tmid\"quote is data\n"
                 "4\t\"multi\nline\"\n"
                 "5\t\\N\n"
                 "6\t\"\\\\N\"\n"
                 "7\t\"\"\n",
                 "SELECT k, v FROM t2 ORDER BY k",
                 "1|plain text value longer than sixteen bytes;2|a\"b\tc, a tab and a \\ "
                 "backslash;3|mid\"quote is data;4|multi\nline;5|NULL;6|\\N;7|",
                 7);

    /* no escape: backslashes stay */
    const char *h3[] = {"column_separator: ,", NULL};
    check_splits("t2", h3, "1,a\\tb\n2,\\\\N\n", "SELECT k, v FROM t2 ORDER BY k",
                 "1|a\\tb;2|\\\\N", 2);

    /* escape without enclose: dropped, next byte kept; \N still NULL */
    const char *h4[] = {"column_separator: ,", "escape: \\", NULL};
    check_splits("t2", h4, "1,a\\\\b\n2,\\N\n3,\\\\N\n4,x\\ny\n", "SELECT k, v FROM t2 ORDER BY k",
                 "1|a\\b;2|NULL;3|\\N;4|xny", 4);

    /* trim_double_quotes, skip_lines, \r\n, multi-char separator */
    const char *h5[] = {"column_separator: ||", "line_delimiter: \\r\\n",
                        "trim_double_quotes: true", "skip_lines: 1", NULL};
    check_splits("t2", h5, "k||v\r\n1||\"q\"\r\n2||\"\r\n", "SELECT k, v FROM t2 ORDER BY k",
                 "1|q;2|\"", 2);

    /* csv_with_names ignores skip_lines; header line skipped */
    const char *h6[] = {"format: csv_with_names", "column_separator: ,", "skip_lines: 5", NULL};
    check_splits("t2", h6, "k,v\n7,z\n", "SELECT k, v FROM t2", "7|z", 1);
    const char *h7[] = {"format: csv_with_names_and_types", "column_separator: ,", NULL};
    check_splits("t2", h7, "k,v\nint,string\n8,z\n", "SELECT k, v FROM t2", "8|z", 1);

    /* bad separators */
    const char *bad[] = {"label: sepbad", "column_separator: \\xZZ", NULL};
    json_t *a = run("t2", bad, "");
    T_EQ_STR(status(a), "Fail");
    T_HAS_STR(message(a), "hex");
    T_CHECK(t_json_int(a, "TxnId") > 0); /* checked after the txn began, as the BE does */
    json_decref(a);
    a = run("t2", bad, ""); /* the aborted label can be reused */
    T_EQ_STR(status(a), "Fail");
    T_CHECK(strstr(message(a), "LABEL_ALREADY") == NULL);
    json_decref(a);
    const char *enc[] = {"enclose: ab", NULL};
    a = run("t2", enc, "");
    T_EQ_STR(message(a), "[INVALID_ARGUMENT]enclose must be single-char, actually is ab");
    json_decref(a);
    const char *esc[] = {"escape: ab", NULL};
    a = run("t2", esc, "");
    T_EQ_STR(message(a), "[INVALID_ARGUMENT]escape must be single-char, actually is ab");
    json_decref(a);
}

static void test_filtered(void)
{
    sql("TRUNCATE TABLE t2");
    const char *h[] = {"label: filt1", "column_separator: ,", NULL};
    json_t *a = run("t2", h, "1,a\n2\n3,c,d\n");
    char *log;

    T_EQ_STR(status(a), "Fail");
    T_EQ_STR(message(a), "[DATA_QUALITY_ERROR]too many filtered rows");
    T_EQ_INT(t_json_int(a, "NumberTotalRows"), 3);
    T_EQ_INT(t_json_int(a, "NumberFilteredRows"), 2);
    T_EQ_INT(t_json_int(a, "NumberLoadedRows"), 1);
    T_HAS_STR(t_json_str(a, "ErrorURL"), "http://127.0.0.1:8040/api/_load_error_log?file=");
    T_HAS_STR(t_json_str(a, "FirstErrorMsg"),
              "Reason: actual column number in csv file is  less than  schema column "
              "number.actual number: 1, schema column number: 2;");
    char *keys = t_json_keys(a);
    T_HAS_STR(keys, "CommitAndPublishTimeMs,ErrorURL,FirstErrorMsg");
    free(keys);
    log = error_log(a);
    T_HAS_STR(log, "src line [2]; ");
    T_HAS_STR(log, "more than  schema column number.actual number: 3, schema column number: 2;");
    T_HAS_STR(log, "result values:[3, c, d, ]");
    free(log);
    json_decref(a);
    T_EQ_STR(rows("SELECT k FROM t2"), ""); /* atomic: nothing applied */

    const char *h2[] = {"label: filt2", "column_separator: ,", "max_filter_ratio: 0.7", NULL};
    a = run("t2", h2, "1,a\n2\n3,c,d\n");
    T_EQ_STR(status(a), "Success");
    T_CHECK(t_json_str(a, "ErrorURL") != NULL);
    json_decref(a);
    T_EQ_STR(rows("SELECT k, v FROM t2"), "1|a");
}

static void test_strict(void)
{
    const char *bad[] = {"label: st0", "strict_mode: yes", NULL};
    json_t *a = run("t3", bad, "");

    T_EQ_STR(message(a), "[INVALID_ARGUMENT]Invalid strict mode format. Must be bool type");
    json_decref(a);

    /* non-strict: a bad int becomes NULL; NULL into NOT NULL is filtered */
    const char *ns[] = {"label: st1", "column_separator: ,", "max_filter_ratio: 1", NULL};
    a = run("t3", ns, "1,abc,x\n2,5,\\N\n3,7,y\n");
    T_EQ_INT(t_json_int(a, "NumberLoadedRows"), 2);
    T_EQ_INT(t_json_int(a, "NumberFilteredRows"), 1);
    char *log = error_log(a);
    T_HAS_STR(log, "column(s) values is null while columns is not nullable");
    free(log);
    json_decref(a);
    T_EQ_STR(rows("SELECT k, n, s FROM t3 ORDER BY k"), "1|NULL|x;3|7|y");

    const char *st[] = {"label: st2", "column_separator: ,", "strict_mode: TRUE",
                        "max_filter_ratio: 1", NULL};
    a = run("t3", st, "4,abc,x\n5,8,z\n");
    T_EQ_INT(t_json_int(a, "NumberFilteredRows"), 1);
    log = error_log(a);
    T_HAS_STR(log, "column(n) value is incorrect while strict mode is true, src value is abc");
    free(log);
    json_decref(a);
    T_EQ_STR(rows("SELECT k FROM t3 WHERE k >= 4"), "5");

    /* overflow is filtered even when not strict */
    const char *of[] = {"label: st3", "column_separator: ,", "max_filter_ratio: 1", NULL};
    a = run("t3", of, "6,1,toolongvalue\n");
    T_EQ_INT(t_json_int(a, "NumberFilteredRows"), 1);
    json_decref(a);
}

static void test_json(void)
{
    sql("TRUNCATE TABLE t4");
    /* NDJSON by default; keys case-insensitive; missing -> NULL; bool -> 1;
     * nested -> JSON text; numbers keep their spelling */
    const char *h[] = {"format: json", NULL};
    check_splits("t4", h,
                 "{\"K\": 1, \"s\": \"a\\u00e9\\n\", \"d\": 0.1000000000000000055}\n"
                 "{\"k\": 2, \"s\": {\"x\": [1, 2]}, \"b\": true}\n\n"
                 "{\"k\": 3, \"s\": null}",
                 "SELECT k, s, d, b FROM t4 ORDER BY k",
                 "1|a\xc3\xa9\n|0.1000000000000000055|NULL;2|{\"x\":[1,2]}|NULL|1;3|NULL|NULL|NULL",
                 3);

    const char *arr[] = {"label: j1", "format: json", "strip_outer_array: true", NULL};
    json_t *a = run("t4", arr, "[{\"k\": 10, \"s\": \"x\"}, {\"k\": 11}]");
    T_EQ_STR(status(a), "Success");
    T_EQ_INT(t_json_int(a, "NumberLoadedRows"), 2);
    json_decref(a);

    /* array without strip_outer_array: filtered with Doris's text */
    const char *noarr[] = {"label: j2", "format: json", "read_json_by_line: true",
                           "max_filter_ratio: 1", NULL};
    a = run("t4", noarr, "[{\"k\": 12}]\n{\"k\": 13}\nnot json\n");
    T_EQ_INT(t_json_int(a, "NumberLoadedRows"), 1);
    T_EQ_INT(t_json_int(a, "NumberFilteredRows"), 2);
    char *log = error_log(a);
    T_HAS_STR(log, "JSON data is array-object, `strip_outer_array` must be TRUE.");
    free(log);
    json_decref(a);

    /* jsonpaths + json_root */
    const char *jp[] = {
        "label: j3",     "format: json",      "jsonpaths: [\"$.id\", \"$.in.name\"]",
        "columns: k, s", "json_root: $.data", NULL};
    a = run("t4", jp, "{\"data\": {\"id\": 20, \"in\": {\"name\": \"deep\"}}}\n");
    T_EQ_STR(status(a), "Success");
    json_decref(a);
    T_EQ_STR(rows("SELECT s FROM t4 WHERE k = 20"), "deep");

    /* a single object with strip_outer_array false */
    const char *one[] = {"label: j4", "format: json", "read_json_by_line: false", NULL};
    a = run("t4", one, "{\"k\": 21,\n \"s\": \"one\"}");
    T_EQ_INT(t_json_int(a, "NumberLoadedRows"), 1);
    json_decref(a);
}

static void test_columns(void)
{
    sql("TRUNCATE TABLE t2");
    /* backticks, a skipped field, reordered columns */
    const char *h[] = {"label: c1", "column_separator: ,", "columns: `v`, skipme, `k`", NULL};
    json_t *a = run("t2", h, "a,zzz,1\nb,yyy,2\n");

    T_EQ_STR(status(a), "Success");
    json_decref(a);
    T_EQ_STR(rows("SELECT k, v FROM t2 ORDER BY k"), "1|a;2|b");

    const char *ex[] = {"label: c2", "columns: k, v=upper(x)", NULL};
    a = run("t2", ex, "");
    T_HAS_STR(message(a), "column expressions");
    json_decref(a);

    /* NOT NULL column without default left out */
    const char *nn[] = {"label: c3", "columns: k", NULL};
    a = run("t3", nn, "");
    T_EQ_STR(message(a), "[ANALYSIS_ERROR]errCode = 2, detailMessage = Column has no default "
                         "value. column: s");
    json_decref(a);

    /* where: unselected rows */
    const char *w[] = {"label: c4", "column_separator: ,", "where: k > 5", NULL};
    a = run("t2", w, "5,x\n6,y\n7,z\n");
    T_EQ_INT(t_json_int(a, "NumberUnselectedRows"), 1);
    T_EQ_INT(t_json_int(a, "NumberLoadedRows"), 2);
    json_decref(a);
}

static void test_unique(void)
{
    const char *h[] = {"label: u1", "column_separator: ,", NULL};
    json_t *a = run("u1", h, "1,a\n2,b\n3,c\n");

    T_EQ_STR(status(a), "Success");
    json_decref(a);

    /* delete sign column */
    const char *ds[] = {"label: u2", "column_separator: ,", "columns: k, v, __DORIS_DELETE_SIGN__",
                        NULL};
    a = run("u1", ds, "1,a,1\n2,bb,0\n");
    T_EQ_STR(status(a), "Success");
    json_decref(a);
    T_EQ_STR(rows("SELECT k, v FROM u1 ORDER BY k"), "2|bb;3|c");

    /* hidden_columns without columns */
    const char *hc[] = {"label: u3", "column_separator: ,", "hidden_columns: __DORIS_DELETE_SIGN__",
                        NULL};
    a = run("u1", hc, "3,c,1\n4,d,0\n");
    T_EQ_STR(status(a), "Success");
    json_decref(a);
    T_EQ_STR(rows("SELECT k, v FROM u1 ORDER BY k"), "2|bb;4|d");

    /* MERGE with a delete condition over a source-only column */
    const char *mg[] = {"label: u4",         "column_separator: ,", "columns: k, v, op",
                        "merge_type: merge", "delete: op=1",        NULL};
    a = run("u1", mg, "2,x,1\n5,e,0\n");
    T_EQ_STR(status(a), "Success");
    json_decref(a);
    T_EQ_STR(rows("SELECT k, v FROM u1 ORDER BY k"), "4|d;5|e");

    const char *md[] = {"label: u5", "column_separator: ,", "merge_type: DELETE", NULL};
    a = run("u1", md, "4,d\n");
    json_decref(a);
    T_EQ_STR(rows("SELECT k, v FROM u1 ORDER BY k"), "5|e");

    const char *mx[] = {"label: u6", "merge_type: MERGE", NULL};
    a = run("u1", mx, "");
    T_EQ_STR(message(a), "[INVALID_ARGUMENT]Excepted DELETE ON clause when merge type is MERGE.");
    json_decref(a);
    const char *mx2[] = {"label: u7", "delete: k=1", NULL};
    a = run("u1", mx2, "");
    T_EQ_STR(status(a), "Success"); /* delete without merge_type is ignored by the BE */
    json_decref(a);
    const char *mx3[] = {"label: u8", "merge_type: APPEND", "delete: k=1", NULL};
    a = run("u1", mx3, "");
    T_EQ_STR(message(a),
             "[INVALID_ARGUMENT]Not support DELETE ON clause when merge type is not MERGE.");
    json_decref(a);
    const char *mx4[] = {"label: u9", "merge_type: upsert", NULL};
    a = run("u1", mx4, "");
    T_EQ_STR(message(a), "[INVALID_ARGUMENT]Invalid merge type upsert");
    json_decref(a);
    const char *dup[] = {"label: u10", "merge_type: DELETE", NULL};
    a = run("t2", dup, "");
    T_EQ_STR(message(a), "[ANALYSIS_ERROR]errCode = 2, detailMessage = load by MERGE or DELETE is "
                         "only supported in unique tables.");
    json_decref(a);

    /* sequence_type table needs function_column.sequence_col */
    const char *sq[] = {"label: u11", "column_separator: ,", NULL};
    a = run("u2", sq, "1,a,5\n");
    T_EQ_STR(message(a), "[ANALYSIS_ERROR]errCode = 2, detailMessage = Table u2 has sequence "
                         "column, need to specify the sequence column");
    json_decref(a);
    const char *sq2[] = {"label: u12", "column_separator: ,", "function_column.sequence_col: ver",
                         NULL};
    a = run("u2", sq2, "1,a,5\n1,b,3\n");
    T_EQ_STR(status(a), "Success");
    json_decref(a);
    T_EQ_STR(rows("SELECT k, v FROM u2"), "1|a");

    /* partial update */
    const char *pu[] = {"label: u13", "column_separator: ,", "partial_columns: true",
                        "columns: k, v", NULL};
    a = run("t2", pu, "");
    T_EQ_STR(message(a), "[ANALYSIS_ERROR]errCode = 2, detailMessage = load by PARTIAL_COLUMNS is "
                         "only supported in unique table MoW");
    json_decref(a);
    const char *pu2[] = {"label: u14", "column_separator: ,",
                         "unique_key_update_mode: "
                         "update_fixed_columns",
                         "columns: k, w", NULL};
    const char *pu1[] = {"label: u13b", "column_separator: ,", NULL};
    a = run("u3", pu1, "1,keep,1\n");
    T_EQ_STR(status(a), "Success");
    json_decref(a);
    a = run("u3", pu2, "1,9\n");
    T_EQ_STR(status(a), "Success");
    json_decref(a);
    T_EQ_STR(rows("SELECT k, v, w FROM u3"), "1|keep|9");
    const char *pu3[] = {"label: u15", "unique_key_update_mode: sometimes", NULL};
    a = run("u3", pu3, "");
    T_EQ_STR(message(a), "[INVALID_ARGUMENT]Invalid unique_key_partial_mode sometimes, must be one "
                         "of 'UPSERT', 'UPDATE_FIXED_COLUMNS' or 'UPDATE_FLEXIBLE_COLUMNS'");
    json_decref(a);
    const char *pu4[] = {"label: u16", "partial_update_new_key_behavior: maybe", NULL};
    a = run("u3", pu4, "");
    T_EQ_STR(message(a), "[INVALID_ARGUMENT]Invalid partial_update_new_key_behavior MAYBE, must "
                         "be one of {'APPEND', 'ERROR'}");
    json_decref(a);
}

static void test_faults(void)
{
    struct emu_fault_hit e235 = {.kind = EMU_FAULT_E235};
    struct emu_fault_hit mem = {.kind = EMU_FAULT_MEM_LIMIT};
    struct emu_fault_hit pub = {.kind = EMU_FAULT_PUBLISH_TIMEOUT};
    const char *h1[] = {"label: fa1", "column_separator: ,", NULL};
    const char *h2[] = {"label: fa2", "column_separator: ,", NULL};
    const char *h3[] = {"label: fa3", "column_separator: ,", NULL};
    json_t *a;

    sql("TRUNCATE TABLE t2");
    a = run_split("t2", h1, "1,a\n", 4, 0, 0, &e235);
    T_EQ_STR(status(a), "Fail");
    T_HAS_STR(message(a), "[E-235]failed to init rowset builder. version count: 2001, exceed "
                          "limit: 2000, tablet: ");
    json_decref(a);
    a = run_split("t2", h2, "2,b\n", 4, 0, 0, &mem);
    T_HAS_STR(message(a), "[MEM_LIMIT_EXCEEDED]");
    json_decref(a);
    T_EQ_STR(rows("SELECT k FROM t2"), "");
    a = run_split("t2", h3, "3,c\n", 4, 0, 0, &pub);
    T_EQ_STR(status(a), "Publish Timeout");
    T_EQ_STR(message(a),
             "[PUBLISH_TIMEOUT]transaction commit successfully, BUT data will be visible later");
    json_decref(a);
    T_EQ_STR(rows("SELECT k FROM t2"), "3");
    a = run_split("t2", h1, "1,a\n", 4, 0, 0, NULL); /* the failed label is reusable */
    T_EQ_STR(status(a), "Success");
    json_decref(a);
}

static void test_discard(void)
{
    struct emu_err err;
    struct emu_store *d = emu_store_open(":memory:", true, &err);
    struct emu_load_env denv = env;
    json_t *res = NULL, *a = NULL;
    struct req r;
    const char *h[] = {"label: d1", "column_separator: ,", NULL};
    struct emu_load *l;

    T_CHECK(d != NULL);
    if (!d)
        return;
    emu_store_exec_sql(d, "", "CREATE DATABASE db", 10, &res, &err);
    json_decref(res);
    res = NULL;
    emu_store_exec_sql(d, "db",
                       "CREATE TABLE t (k INT, v VARCHAR(10)) DUPLICATE KEY(k) DISTRIBUTED BY "
                       "HASH(k) BUCKETS 1",
                       10, &res, &err);
    json_decref(res);
    denv.store = d;
    req_init(&r, h, 13);
    l = emu_load_begin(&denv, "db", "t", header_fn, &r, &a);
    T_CHECK(l != NULL);
    if (l) {
        emu_load_feed(l, "1,a\n2,b\n3,c\n4", 13);
        a = emu_load_finish(l, NULL);
        T_EQ_INT(t_json_int(a, "NumberLoadedRows"), 3);
        T_EQ_INT(t_json_int(a, "NumberFilteredRows"), 1);
        T_EQ_STR(status(a), "Fail");
        json_decref(a);
    }
    const char *h2[] = {"label: d2", "column_separator: ,", NULL};
    req_init(&r, h2, 12);
    l = emu_load_begin(&denv, "db", "t", header_fn, &r, &a);
    T_CHECK(l != NULL);
    if (l) {
        emu_load_feed(l, "1,a\n2,b\n3,c\n", 12);
        a = emu_load_finish(l, NULL);
        T_EQ_INT(t_json_int(a, "NumberLoadedRows"), 3);
        T_EQ_STR(status(a), "Success");
        json_decref(a);
    }
    res = NULL;
    T_CHECK(emu_store_exec_sql(d, "db", "SELECT count(*) FROM t", 10, &res, &err) == 0);
    T_EQ_INT(json_integer_value(json_array_get(json_array_get(json_object_get(res, "data"), 0), 0)),
             0);
    json_decref(res);
    emu_store_close(d);
}

/* ---- fast paths against the general path, through whole loads ----------------- */

/*
 * Random rows of near-canonical and broken values for every kind with a
 * fast path are loaded as plain CSV, CSV with enclose (some fields
 * enclosed), and NDJSON, strict and not. The expected rows come from
 * emu_value_convert alone with load_row's rules (NULL, BAD -> NULL when not
 * strict and nullable, else filtered; OVERFLOW filtered); a discard load of
 * the same body must count the same.
 */
static const char *const fz_types[] = {
    "TINYINT",      "SMALLINT",     "INT",    "BIGINT",   "DECIMAL(15,2)",
    "DECIMAL(5,0)", "DECIMAL(3,3)", "DATE",   "DATETIME", "DATETIME(3)",
    "CHAR(2)",      "VARCHAR(6)",   "STRING", "INT",      "DATE",
};
#define FZ_COLS     ((int)(sizeof(fz_types) / sizeof(fz_types[0])))
#define FZ_NOT_NULL 13 /* columns from here on are NOT NULL */

static uint64_t fz_state = 42;

static unsigned fz_rnd(unsigned n)
{
    uint64_t z = (fz_state += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (unsigned)((z ^ (z >> 31)) % n);
}

/* A value for a column of the given type: canonical, an edge case, or
 * damaged. ASCII only (rows are read back as JSON), never a tab, newline,
 * quote or backslash (the CSV bodies carry them unescaped); "\N" only as
 * NULL. */
static void fz_value(const char *type, char *o, size_t cap)
{
    /* edge cases, '|'-separated */
    static const char edges[] =
        "0|-0|007|+5| 5|5 ||-|127|128|-128|-129|32767|32768|2147483647|"
        "2147483648|-2147483648|-2147483649|9223372036854775807|"
        "9223372036854775808|-9223372036854775809|1.5|1.505|1.555|-0.00|00.50|"
        ".5|1e2|0.9995|99999|100000|2024-02-29|2023-02-29|1900-02-29|"
        "0000-01-01|9999-12-31|2024-13-01|2024-04-31|2024/01/05|20240105|"
        "2024-01-05 23:59:59|2024-01-05 24:00:00|2024-01-05T01:02:03|"
        "2024-01-05 01:02:03.4567|9999-12-31 23:59:59.9999|"
        "2024-01-05 01:02:03Z|abc|xyzzy!!|ab|12345678901234567890|1 2";
    static const char noise[] = "0123456789-+.: /eExN";
    char v[64];
    size_t len;

    if (fz_rnd(8) == 0) {
        const char *e = edges;
        int k = (int)fz_rnd(52);

        while (k-- > 0 && strchr(e, '|'))
            e = strchr(e, '|') + 1;
        snprintf(v, sizeof(v), "%.*s", (int)strcspn(e, "|"), e);
    } else if (!strcmp(type, "BIGINT")) {
        snprintf(v, sizeof(v), "%s%u%09u", fz_rnd(4) ? "" : "-", fz_rnd(1000000000),
                 fz_rnd(1000000000));
    } else if (strstr(type, "INT")) {
        snprintf(v, sizeof(v), "%s%u", fz_rnd(4) ? "" : "-",
                 fz_rnd(type[0] == 'T'   ? 100
                        : type[0] == 'S' ? 10000
                                         : 1000000000));
    } else if (!strcmp(type, "DECIMAL(15,2)")) {
        snprintf(v, sizeof(v), "%s%u.%02u", fz_rnd(4) ? "" : "-", fz_rnd(100000), fz_rnd(100));
    } else if (!strcmp(type, "DECIMAL(5,0)")) {
        snprintf(v, sizeof(v), "%s%u", fz_rnd(4) ? "" : "-", fz_rnd(100000));
    } else if (!strcmp(type, "DECIMAL(3,3)")) {
        snprintf(v, sizeof(v), "0.%03u", fz_rnd(1000));
    } else if (!strncmp(type, "DATE", 4)) {
        int n =
            snprintf(v, sizeof(v), "%04u-%02u-%02u", fz_rnd(10000), 1 + fz_rnd(12), 1 + fz_rnd(31));

        if (!strcmp(type, "DATETIME"))
            snprintf(v + n, sizeof(v) - (size_t)n, " %02u:%02u:%02u", fz_rnd(24), fz_rnd(60),
                     fz_rnd(60));
        else if (!strcmp(type, "DATETIME(3)"))
            snprintf(v + n, sizeof(v) - (size_t)n, " %02u:%02u:%02u.%03u", fz_rnd(24), fz_rnd(60),
                     fz_rnd(60), fz_rnd(1000));
    } else {
        len = fz_rnd(!strcmp(type, "CHAR(2)") ? 3 : !strcmp(type, "VARCHAR(6)") ? 7 : 12);
        for (size_t i = 0; i < len; i++)
            v[i] = noise[fz_rnd(sizeof(noise) - 1)];
        v[len] = '\0';
    }
    len = strlen(v);
    if (fz_rnd(10) == 0 && len) { /* damage one byte */
        v[fz_rnd((unsigned)len)] = noise[fz_rnd(sizeof(noise) - 1)];
    }
    if (!strcmp(v, "\\N"))
        v[0] = 'x';
    snprintf(o, cap, "%s", v);
}

/* What load_row makes of one row: appends its values to out, each behind
 * a '|' and rendered as fz_rows renders them; false when it is filtered. */
static bool fz_expect(const char *const *vals, const bool *null, bool strict, struct emu_buf *out)
{
    struct emu_buf sb;
    bool ok = true;

    emu_buf_init(&sb);
    for (int c = 0; c < FZ_COLS && ok; c++) {
        struct emu_type t;
        struct emu_err err;
        struct emu_value v;
        char why[256], txt[128];
        enum emu_conv r;

        emu_type_parse(fz_types[c], &t, &err);
        if (null[c]) {
            ok = c < FZ_NOT_NULL;
            emu_buf_append(out, "|NULL", 5);
            emu_type_fini(&t);
            continue;
        }
        r = emu_value_convert(&t, vals[c], strlen(vals[c]), NULL, &sb, &v, why, sizeof(why));
        emu_type_fini(&t);
        if (r == EMU_CONV_BAD && !strict && c < FZ_NOT_NULL) {
            emu_buf_append(out, "|NULL", 5);
        } else if (r != EMU_CONV_OK) {
            ok = false;
        } else if (v.kind == EMU_V_INT) {
            snprintf(txt, sizeof(txt), "|%lld", (long long)v.i);
            emu_buf_append(out, txt, strlen(txt));
        } else if (!strncmp(fz_types[c], "DECIMAL", 7)) {
            /* the store answers DECIMAL values as JSON numbers */
            snprintf(txt, sizeof(txt), "%.*s", (int)v.n, v.s);
            snprintf(txt, sizeof(txt), "|%.17g", strtod(txt, NULL));
            emu_buf_append(out, txt, strlen(txt));
        } else {
            emu_buf_append(out, "|", 1);
            emu_buf_append(out, v.s, v.n);
        }
    }
    emu_buf_fini(&sb);
    return ok;
}

/* All rows of fz as "k|v|v...;" (values as fz_expect renders them). */
static void fz_rows(struct emu_buf *out)
{
    struct emu_err err;
    json_t *res = NULL, *data, *row, *v;
    size_t i, j;

    if (emu_store_exec_sql(store, "db", "SELECT * FROM fz ORDER BY k", 100000, &res, &err) != 0) {
        emu_buf_printf(out, "ERROR %s", err.msg);
        return;
    }
    data = json_object_get(res, "data");
    json_array_foreach(data, i, row)
    {
        json_array_foreach(row, j, v)
        {
            if (j)
                emu_buf_append(out, "|", 1);
            if (json_is_null(v))
                emu_buf_append(out, "NULL", 4);
            else if (json_is_string(v))
                emu_buf_append(out, json_string_value(v), strlen(json_string_value(v)));
            else if (json_is_integer(v))
                emu_buf_printf(out, "%lld", (long long)json_integer_value(v));
            else
                emu_buf_printf(out, "%.17g", json_number_value(v));
        }
        emu_buf_append(out, ";", 1);
    }
    json_decref(res);
}

/* Appends s as a JSON string; some digits as \u escapes, so that the
 * parser unescapes those values into its scratch, outside the line. */
static void fz_json_str(struct emu_buf *b, const char *s)
{
    bool escape = fz_rnd(8) == 0;

    emu_buf_append(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            emu_buf_append(b, "\\", 1);
        if (escape && *s >= '0' && *s <= '9')
            emu_buf_printf(b, "\\u%04x", (unsigned)*s);
        else
            emu_buf_append(b, s, 1);
    }
    emu_buf_append(b, "\"", 1);
}

static void test_fast_paths_random(void)
{
    struct emu_err err;
    struct emu_store *d = emu_store_open(":memory:", true, &err);
    struct emu_load_env denv = env;
    int bad = 0;

    T_CHECK(d != NULL);
    if (!d)
        return;
    {
        struct emu_buf ddl;
        json_t *res = NULL;

        emu_buf_init(&ddl);
        emu_buf_printf(&ddl, "CREATE TABLE fz (k INT");
        for (int c = 0; c < FZ_COLS; c++)
            emu_buf_printf(&ddl, ", c%d %s %s", c, fz_types[c],
                           c < FZ_NOT_NULL ? "NULL" : "NOT NULL");
        emu_buf_printf(&ddl, ") DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1");
        sql(ddl.data);
        emu_store_exec_sql(d, "", "CREATE DATABASE db", 10, &res, &err);
        json_decref(res);
        res = NULL;
        emu_store_exec_sql(d, "db", ddl.data, 10, &res, &err);
        json_decref(res);
        emu_buf_fini(&ddl);
    }
    denv.store = d;
    for (int round = 0; round < 60 && bad < 3; round++) {
        int format = round % 3; /* 0 plain CSV, 1 CSV with enclose, 2 NDJSON */
        bool strict = round % 2;
        int nrows = 1 + (int)fz_rnd(30), want_loaded = 0;
        struct emu_buf body, want, got;
        char lh[64], dl[64];
        const char *h[8] = {lh, "max_filter_ratio: 1", strict ? "strict_mode: true" : NULL};
        const char *dh[8] = {dl, "max_filter_ratio: 1", strict ? "strict_mode: true" : NULL};
        json_t *a, *da;
        struct req r;
        struct emu_load *l;

        snprintf(lh, sizeof(lh), "label: fz%d", round);
        snprintf(dl, sizeof(dl), "label: fzd%d", round);
        for (int k = 2 + !!strict, i = 0; i < 3; i++) {
            const char *extra[3][3] = {
                {NULL}, {"enclose: \"", "escape: \\", NULL}, {"format: json", NULL}};

            if (i < 3 && extra[format][i])
                h[k] = dh[k] = extra[format][i], k++;
            h[k] = dh[k] = NULL;
        }
        emu_buf_init(&body);
        emu_buf_init(&want);
        emu_buf_init(&got);
        for (int k = 0; k < nrows; k++) {
            char vals[FZ_COLS][64];
            const char *vp[FZ_COLS];
            bool null[FZ_COLS];
            struct emu_buf line;

            emu_buf_init(&line);
            emu_buf_printf(&line, "%d", k);
            for (int c = 0; c < FZ_COLS; c++) {
                fz_value(fz_types[c], vals[c], sizeof(vals[c]));
                vp[c] = vals[c];
                null[c] = fz_rnd(16) == 0;
            }
            if (fz_expect(vp, null, strict, &line)) {
                emu_buf_append(&want, line.data, line.len);
                emu_buf_append(&want, ";", 1);
                want_loaded++;
            }
            emu_buf_fini(&line);
            if (format == 2) {
                emu_buf_printf(&body, "{\"k\": %d", k);
                for (int c = 0; c < FZ_COLS; c++) {
                    emu_buf_printf(&body, ", \"c%d\": ", c);
                    if (null[c])
                        emu_buf_append(&body, "null", 4);
                    else
                        fz_json_str(&body, vals[c]);
                }
                emu_buf_append(&body, "}\n", 2);
                continue;
            }
            emu_buf_printf(&body, "%d", k);
            for (int c = 0; c < FZ_COLS; c++) {
                if (null[c])
                    emu_buf_printf(&body, "\t\\N");
                else if (format == 1 && fz_rnd(3) == 0)
                    emu_buf_printf(&body, "\t\"%s\"", vals[c]);
                else
                    emu_buf_printf(&body, "\t%s", vals[c]);
            }
            emu_buf_append(&body, "\n", 1);
        }
        emu_buf_append(&want, "", 1);
        sql("TRUNCATE TABLE fz");
        {
            size_t c1 = fz_rnd((unsigned)body.len + 1), c2 = fz_rnd((unsigned)body.len + 1);

            a = run_split("fz", h, body.data, body.len, c1 < c2 ? c1 : c2, c1 < c2 ? c2 : c1, NULL);
        }
        fz_rows(&got);
        emu_buf_append(&got, "", 1);
        req_init(&r, dh, (long)body.len);
        l = emu_load_begin(&denv, "db", "fz", header_fn, &r, &da);
        if (l) {
            emu_load_feed(l, body.data, body.len);
            da = emu_load_finish(l, NULL);
        }
        if (t_json_int(a, "NumberLoadedRows") != want_loaded ||
            t_json_int(a, "NumberFilteredRows") != nrows - want_loaded ||
            strcmp(got.data, want.data) != 0 || t_json_int(da, "NumberLoadedRows") != want_loaded ||
            t_json_int(da, "NumberFilteredRows") != nrows - want_loaded) {
            bad++;
            t_fail_at(__FILE__, __LINE__,
                      "round %d (format %d, strict %d): loaded %lld (discard %lld) of %d, want "
                      "%d\n  got  %s\n  want %s",
                      round, format, strict, t_json_int(a, "NumberLoadedRows"),
                      t_json_int(da, "NumberLoadedRows"), nrows, want_loaded, got.data, want.data);
        }
        json_decref(a);
        json_decref(da);
        emu_buf_fini(&body);
        emu_buf_fini(&want);
        emu_buf_fini(&got);
    }
    T_EQ_INT(bad, 0);
    emu_store_close(d);
}

int main(void)
{
    struct emu_err err;

    store = emu_store_open(":memory:", false, &err);
    if (!store) {
        fprintf(stderr, "store: %s\n", err.msg);
        return 1;
    }
    env.store = store;
    env.be_host = "127.0.0.1";
    env.be_port = 8040;
    env.max_body_mb = 10240;
    env.json_max_mb = 100;
    {
        json_t *res = NULL;
        emu_store_exec_sql(store, "", "CREATE DATABASE db", 10, &res, &err);
        json_decref(res);
    }
    sql("CREATE TABLE t1 (k INT, v VARCHAR(20)) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) "
        "BUCKETS 1");
    sql("CREATE TABLE t2 (k INT, v STRING) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1");
    sql("CREATE TABLE t3 (k INT, n INT NULL, s VARCHAR(5) NOT NULL) DUPLICATE KEY(k) "
        "DISTRIBUTED BY HASH(k) BUCKETS 1");
    sql("CREATE TABLE t4 (k INT, s STRING, d DECIMAL(38,19), b BOOLEAN) DUPLICATE KEY(k) "
        "DISTRIBUTED BY HASH(k) BUCKETS 1");
    sql("CREATE TABLE u1 (k INT, v VARCHAR(10)) UNIQUE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 "
        "PROPERTIES (\"enable_unique_key_merge_on_write\" = \"true\")");
    sql("CREATE TABLE u2 (k INT, v VARCHAR(10), ver INT) UNIQUE KEY(k) DISTRIBUTED BY HASH(k) "
        "BUCKETS 1 PROPERTIES (\"function_column.sequence_type\" = \"int\")");
    sql("CREATE TABLE u3 (k INT, v VARCHAR(10), w INT) UNIQUE KEY(k) DISTRIBUTED BY HASH(k) "
        "BUCKETS 1 PROPERTIES (\"enable_unique_key_merge_on_write\" = \"true\")");

    test_answer_shape();
    test_framing();
    test_labels();
    test_group_commit();
    test_formats();
    test_csv();
    test_csv_random();
    test_filtered();
    test_strict();
    test_json();
    test_columns();
    test_unique();
    test_faults();
    test_discard();
    test_fast_paths_random();
    emu_store_close(store);
    return t_done();
}
