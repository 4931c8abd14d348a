/*
 * job_test.c - flags and job files into struct p2d_job: defaults, every
 * flag, bad values with their exact messages, job files good and bad (with
 * JSON paths), selection, destination names, collisions and fingerprints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "job/job.h"
#include "p2d_error.h"
#include "testlib.h"

#define SRC  "--source=postgresql://app:srcsecret@pg1:5432/appdb"
#define DEST "--dest=http://root:destsecret@fe1:8030/dw"

static char tmpdir[] = "/tmp/p2d_job_test.XXXXXX";
static char err[8192];
static char last_file[256]; /* path of the last job file written */

/* Splits args on spaces into argv (argv[0] = "sync") and parses. */
static int parse_env(enum p2d_job_cmd cmd, const char *args, const struct p2d_job_env *env,
                     struct p2d_job **job)
{
    char *copy = strdup(args), *save = NULL, *tok;
    char *argv[64];
    int argc = 0, rc;

    argv[argc++] = "sync";
    for (tok = strtok_r(copy, " ", &save); tok && argc < 63; tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    rc = p2d_job_parse(cmd, argc, argv, env, job, err, sizeof(err));
    free(copy);
    return rc;
}

static int parse(const char *args, struct p2d_job **job)
{
    struct p2d_job_env env = {.dest_password = NULL, .cores = 2};

    return parse_env(P2D_JOB_SYNC, args, &env, job);
}

/* Writes text to a new file in tmpdir and returns its path (static). */
static const char *job_file(const char *text)
{
    static int n;
    FILE *f;

    snprintf(last_file, sizeof(last_file), "%s/job%d.json", tmpdir, n++);
    f = fopen(last_file, "w");
    fputs(text, f);
    fclose(f);
    return last_file;
}

/* Parses SRC DEST --job <file with text> [extra]. */
static int parse_file(const char *text, const char *extra, struct p2d_job **job)
{
    char args[1024];

    snprintf(args, sizeof(args), SRC " " DEST " --job %s %s", job_file(text), extra ? extra : "");
    return parse(args, job);
}

static void test_defaults(void)
{
    struct p2d_job *job;
    struct p2d_job_env env16 = {.cores = 16}, env100 = {.cores = 100};

    T_EQ_INT(parse(SRC " " DEST, &job), 0);
    T_EQ_STR(err, "");
    T_EQ_STR(job->source, "postgresql://app:srcsecret@pg1:5432/appdb");
    T_EQ_STR(job->dest.host, "fe1");
    T_EQ_INT(job->dest.port, 8030);
    T_EQ_STR(job->dest.database, "dw");
    T_EQ_INT(job->modes, P2D_MODE_SCHEMA | P2D_MODE_FULL | P2D_MODE_INCREMENTAL);
    T_EQ_STR(job->state_dir, "pg2doris-state");
    T_CHECK(job->job_file == NULL);
    T_EQ_INT(job->readers, 2);
    T_EQ_INT(job->split_by, P2D_SPLIT_CTID);
    T_EQ_INT(job->writers, 4);
    T_EQ_INT(job->rows_per_range, 0);
    T_EQ_INT(job->bytes_per_range, 256LL << 20);
    T_EQ_INT(job->bytes_per_load, 256LL << 20);
    T_EQ_INT(job->memory, 128LL << 20);
    T_EQ_INT(job->format, P2D_FORMAT_CSV);
    T_EQ_INT(job->compress, P2D_COMPRESS_NONE);
    T_EQ_INT(job->source_qps, 0);
    T_EQ_INT(job->rows_per_sec, 0);
    T_EQ_INT(job->mb_per_sec, 0);
    T_EQ_INT(job->on_conflict, P2D_CONFLICT_REPORT);
    T_EQ_INT(job->name_case, P2D_NAME_KEEP);
    T_EQ_INT(job->log_format, P2D_LOG_TEXT);
    T_EQ_INT(job->log_level, P2D_LOG_INFO);
    T_EQ_INT(job->batch_timeout_ms, 5000);
    T_EQ_INT(job->retry_connect_min, 720);
    T_EQ_INT(job->retry_other_min, 10);
    T_CHECK(job->metrics_addr == NULL);
    T_EQ_INT(job->ninclude, 0);
    T_EQ_INT(job->nexclude, 0);
    T_EQ_INT(job->nwarnings, 0);
    p2d_job_destroy(job);

    T_EQ_INT(parse_env(P2D_JOB_SYNC, SRC " " DEST, &env16, &job), 0);
    T_EQ_INT(job->readers, 16);
    T_EQ_INT(job->writers, 16); /* 2 x readers, capped */
    p2d_job_destroy(job);
    T_EQ_INT(parse_env(P2D_JOB_SYNC, SRC " " DEST, &env100, &job), 0);
    T_EQ_INT(job->readers, 64);
    T_EQ_INT(job->writers, 16);
    T_EQ_INT(job->memory, 320LL << 20); /* default grows: 80 threads x 4M > 128M */
    p2d_job_destroy(job);
    T_CHECK(1);
}

static void test_every_flag(void)
{
    struct p2d_job *job;
    struct p2d_job_env env = {.dest_password = "envpass", .cores = 2};
    const char *args =
        "--source host=pg2 --dest http://loader@fe2:9030/db2 --mode schema,full "
        "--include public.* --include sales.orders_* --exclude public.tmp_* --state /tmp/st "
        "--readers 3 --writers=5 --rows-per-range 100000 --bytes-per-range 64M --split-by key "
        "--bytes-per-load 1G --memory 512MiB --format json --compress gz --source-qps 50 "
        "--rows-per-sec 10000 --mb-per-sec 20 --on-conflict ignore --name-case lower "
        "--log-format json --log-level debug --batch-timeout-ms 2000 --retry-connect 60 "
        "--retry-other 0 --metrics-addr 127.0.0.1:9187";

    T_EQ_INT(parse_env(P2D_JOB_SYNC, args, &env, &job), 0);
    T_EQ_STR(err, "");
    T_EQ_STR(job->source, "host=pg2");
    T_EQ_STR(job->dest.user, "loader");
    T_EQ_STR(job->dest.password, "envpass");
    T_EQ_INT(job->dest.port, 9030);
    T_EQ_INT(job->modes, P2D_MODE_SCHEMA | P2D_MODE_FULL);
    T_EQ_INT(job->ninclude, 2);
    T_EQ_STR(job->include[1].schema, "sales");
    T_EQ_STR(job->include[1].table, "orders_*");
    T_EQ_INT(job->nexclude, 1);
    T_EQ_STR(job->state_dir, "/tmp/st");
    T_EQ_INT(job->readers, 3);
    T_EQ_INT(job->writers, 5);
    T_EQ_INT(job->rows_per_range, 100000);
    T_EQ_INT(job->bytes_per_range, 64LL << 20);
    T_EQ_INT(job->split_by, P2D_SPLIT_KEY);
    T_EQ_INT(job->bytes_per_load, 1LL << 30);
    T_EQ_INT(job->memory, 512LL << 20);
    T_EQ_INT(job->format, P2D_FORMAT_JSON);
    T_EQ_INT(job->compress, P2D_COMPRESS_GZ);
    T_EQ_INT(job->source_qps, 50);
    T_EQ_INT(job->rows_per_sec, 10000);
    T_EQ_INT(job->mb_per_sec, 20);
    T_EQ_INT(job->on_conflict, P2D_CONFLICT_IGNORE);
    T_EQ_INT(job->name_case, P2D_NAME_LOWER);
    T_EQ_INT(job->log_format, P2D_LOG_JSON);
    T_EQ_INT(job->log_level, P2D_LOG_DEBUG);
    T_EQ_INT(job->batch_timeout_ms, 2000);
    T_EQ_INT(job->retry_connect_min, 60);
    T_EQ_INT(job->retry_other_min, 0);
    T_EQ_STR(job->metrics_addr, "127.0.0.1:9187");
    T_EQ_INT(job->nwarnings, 0);
    p2d_job_destroy(job);

    /* --full only for verify */
    T_EQ_INT(parse_env(P2D_JOB_VERIFY, SRC " " DEST " --full", &env, &job), 0);
    T_CHECK(job && job->verify_full);
    p2d_job_destroy(job);
    T_EQ_INT(parse(SRC " " DEST " --full", &job), P2D_EINVAL);
    T_EQ_STR(err, "unknown flag \"--full\"; hint: run \"pg2doris sync --help\" for the flags");

    /* a low batch timeout is accepted with a warning */
    T_EQ_INT(parse(SRC " " DEST " --batch-timeout-ms 200", &job), 0);
    T_EQ_INT(job->batch_timeout_ms, 200);
    T_EQ_INT(job->nwarnings, 1);
    T_HAS_STR(job->warnings[0], "below the documented range 1000-10000");
    p2d_job_destroy(job);

    /* sizes */
    {
        static const struct {
            const char *text;
            long long bytes;
        } sizes[] = {{"0", 0},        {"512", 512},        {"64K", 64 << 10}, {"64kb", 64 << 10},
                     {"3M", 3 << 20}, {"2GiB", 2LL << 30}, {"1T", 1LL << 40}, {"100B", 100}};
        int64_t v;

        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            T_EQ_INT(p2d_job_parse_size(sizes[i].text, &v), 0);
            T_EQ_INT(v, sizes[i].bytes);
        }
        T_EQ_INT(p2d_job_parse_size("", &v), P2D_EINVAL);
        T_EQ_INT(p2d_job_parse_size("-1M", &v), P2D_EINVAL);
        T_EQ_INT(p2d_job_parse_size("1.5G", &v), P2D_EINVAL);
        T_EQ_INT(p2d_job_parse_size("12X", &v), P2D_EINVAL);
        T_EQ_INT(p2d_job_parse_size("1MX", &v), P2D_EINVAL);
        T_EQ_INT(p2d_job_parse_size("99999999999T", &v), P2D_EINVAL);
    }
}

static void test_bad_flags(void)
{
    static const struct {
        const char *args;
        const char *message; /* the whole error text */
    } cases[] = {
        {"", "--source is required; hint: e.g. --source \"host=pg1 dbname=app\" or --source "
             "postgresql://app@pg1/app\n--dest is required; hint: e.g. --dest "
             "http://root@doris-fe:8030/app"},
        {SRC " " DEST " --bogus", "unknown flag \"--bogus\"; hint: run \"pg2doris sync --help\" "
                                  "for the flags"},
        {SRC " " DEST " --bogus=1", "unknown flag \"--bogus\"; hint: run \"pg2doris sync --help\" "
                                    "for the flags"},
        {SRC " " DEST " stray", "unexpected argument \"stray\"; hint: every setting is a --flag, "
                                "run \"pg2doris sync --help\""},
        {SRC " " DEST " --readers", "flag \"--readers\" needs a value"},
        {SRC " " DEST " --readers 2 --readers 3", "flag \"--readers\" given more than once"},
        {SRC " " DEST " --readers 0", "invalid --readers \"0\": must be an integer from 1 to 64"},
        {SRC " " DEST " --readers 2x", "invalid --readers \"2x\": must be an integer from 1 to 64"},
        {SRC " " DEST " --writers 65", "invalid --writers \"65\": must be an integer from 1 to 64"},
        {SRC " " DEST " --rows-per-range -5",
         "invalid --rows-per-range \"-5\": must be an integer from 0 to 9223372036854775807"},
        {SRC " " DEST " --bytes-per-load 11G",
         "invalid --bytes-per-load \"11G\": must be from 1M to 10G"},
        {SRC " " DEST " --bytes-per-range 10K",
         "invalid --bytes-per-range \"10K\": must be from 1M to 1T"},
        {SRC " " DEST " --memory lots", "invalid --memory \"lots\": expected a size such as 512M "
                                        "or 2G (suffixes K, M, G, T)"},
        {SRC " " DEST " --memory 16M --readers 2 --writers 4",
         "--memory 16M is too small for 2 readers and 4 writers; hint: give at least 24M (4M per "
         "thread) or fewer --readers/--writers"},
        {SRC " " DEST " --format xml", "invalid --format \"xml\": expected csv|json"},
        {SRC " " DEST " --compress lz4", "invalid --compress \"lz4\": expected none|gz"},
        {SRC " " DEST " --split-by hash", "invalid --split-by \"hash\": expected ctid|key"},
        {SRC " " DEST " --on-conflict drop", "invalid --on-conflict \"drop\": expected "
                                             "report|ignore"},
        {SRC " " DEST " --name-case snake", "invalid --name-case \"snake\": expected "
                                            "keep|lower|upper"},
        {SRC " " DEST " --log-format xml", "invalid --log-format \"xml\": expected text|json"},
        {SRC " " DEST " --log-level loud", "invalid --log-level \"loud\": expected "
                                           "debug|info|warn|error"},
        {SRC " " DEST " --mode schema,fast", "invalid --mode \"schema,fast\": unknown mode "
                                             "\"fast\"; hint: use a comma list of schema, full, "
                                             "incremental"},
        {SRC " " DEST " --mode ,", "invalid --mode \",\": no mode given; hint: use a comma list "
                                   "of schema, full, incremental"},
        {SRC " " DEST " --batch-timeout-ms 50",
         "invalid --batch-timeout-ms \"50\": must be an integer from 100 to 10000"},
        {SRC " " DEST " --batch-timeout-ms 20000",
         "invalid --batch-timeout-ms \"20000\": must be an integer from 100 to 10000"},
        {SRC " " DEST " --retry-connect -1",
         "invalid --retry-connect \"-1\": must be an integer from 0 to 10080"},
        {SRC " " DEST " --source-qps x",
         "invalid --source-qps \"x\": must be an integer from 0 to 1000000000"},
        {SRC " " DEST " --metrics-addr 9187",
         "invalid --metrics-addr \"9187\": expected HOST:PORT (PORT 0: any free port, logged at "
         "start), e.g. 127.0.0.1:9187 or [::1]:9187"},
        {SRC " " DEST " --metrics-addr host:99999",
         "invalid --metrics-addr \"host:99999\": expected HOST:PORT (PORT 0: any free port, "
         "logged at start), e.g. 127.0.0.1:9187 or [::1]:9187"},
        {SRC " " DEST " --include public.a.b",
         "--include: invalid pattern \"public.a.b\": more than one unquoted dot (quote names "
         "that contain dots); hint: write schema.table with shell globs, e.g. public.orders_*"},
        {SRC " " DEST " --exclude .t", "--exclude: invalid pattern \".t\": empty schema or table "
                                       "part; hint: write schema.table with shell globs, e.g. "
                                       "public.orders_*"},
        {"--source=host='x " DEST,
         "invalid --source: unterminated quoted string in connection info string; hint: use a "
         "libpq connection string (\"host=H dbname=D\") or URI (postgresql://USER@HOST:PORT/DB)"},
        {SRC " --dest=ftp://root:destsecret@fe1/dw",
         "invalid --dest: scheme must be http or https; expected "
         "http[s]://USER[:PASSWORD]@FE_HOST:PORT/DATABASE"},
        {SRC " --dest=http://root:destsecret@fe1/dw",
         "invalid --dest: the FE port is required (Doris FE http_port, often 8030; SelectDB "
         "8080); expected http[s]://USER[:PASSWORD]@FE_HOST:PORT/DATABASE"},
        /* several problems: one line each */
        {SRC " " DEST " --readers 0 --format xml",
         "invalid --readers \"0\": must be an integer from 1 to 64\ninvalid --format \"xml\": "
         "expected csv|json"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct p2d_job *job = (struct p2d_job *)1;

        T_EQ_INT(parse(cases[i].args, &job), P2D_EINVAL);
        T_CHECK(job == NULL);
        T_EQ_STR(err, cases[i].message);
        T_CHECK(strstr(err, "srcsecret") == NULL && strstr(err, "destsecret") == NULL);
    }
}

static void test_patterns(void)
{
    struct p2d_job *job;

    T_EQ_INT(parse(SRC " " DEST, &job), 0);
    T_CHECK(p2d_job_table_selected(job, "public", "orders"));
    T_CHECK(p2d_job_table_selected(job, "sales", "x"));
    T_CHECK(!p2d_job_table_selected(job, "pg_catalog", "pg_class"));
    T_CHECK(!p2d_job_table_selected(job, "information_schema", "tables"));
    T_CHECK(!p2d_job_table_selected(job, "pg_toast", "pg_toast_1"));
    T_CHECK(!p2d_job_table_selected(job, "pg_temp_3", "t"));
    p2d_job_destroy(job);

    T_EQ_INT(parse(SRC " " DEST " --include public.* --include orders --exclude public.tmp_?* "
                       "--include \"odd.schema\".\"t*\"",
                   &job),
             0);
    T_CHECK(p2d_job_table_selected(job, "public", "users"));
    T_CHECK(!p2d_job_table_selected(job, "public", "tmp_x"));
    T_CHECK(p2d_job_table_selected(job, "public", "tmp_"));  /* ?* needs one char */
    T_CHECK(p2d_job_table_selected(job, "sales", "orders")); /* bare = any schema */
    T_CHECK(!p2d_job_table_selected(job, "sales", "orders2"));
    T_CHECK(!p2d_job_table_selected(job, "Public", "users")); /* case-sensitive */
    T_CHECK(p2d_job_table_selected(job, "odd.schema", "t*")); /* quoted: literal */
    T_CHECK(!p2d_job_table_selected(job, "odd.schema", "tx"));
    p2d_job_destroy(job);
}

static const char good_file[] =
    "{\"version\": 1, \"include\": [\"public.*\", \"sales.orders_*\"],"
    " \"exclude\": [\"public.tmp_*\"],"
    " \"databases\": {\"sales\": \"sales_dw\"},"
    " \"tables\": {"
    "  \"public.orders\": {\"name\": \"orders_v2\", \"columns\": {\"desc\": \"description\"},"
    "   \"where\": \"id > 10\", \"dml\": [\"insert\", \"update\"], \"bucket_count\": 16,"
    "   \"engine\": \"unique\", \"key\": [\"id\"], \"distribution_key\": [\"id\"]},"
    "  \"sales.orders_2024\": {\"engine\": \"duplicate\", \"key\": [\"ts\", \"id\"],"
    "   \"distribution_key\": [\"id\"]}}}";

static void test_job_file_good(void)
{
    struct p2d_job *job;
    const struct p2d_job_table *t;
    struct p2d_dest_name dn;
    char col[64];

    T_EQ_INT(parse_file(good_file, NULL, &job), 0);
    T_EQ_STR(err, "");
    if (!job)
        return;
    T_EQ_INT(job->ninclude, 2);
    T_EQ_INT(job->nexclude, 1);
    T_EQ_INT(job->ndatabases, 1);
    T_EQ_INT(job->ntables, 2);
    t = p2d_job_table_config(job, "public", "orders");
    T_CHECK(t != NULL);
    if (t) {
        T_EQ_STR(t->dest_name, "orders_v2");
        T_EQ_STR(t->where, "id > 10");
        T_EQ_INT(t->dml, P2D_DML_INSERT | P2D_DML_UPDATE);
        T_EQ_INT(t->bucket_count, 16);
        T_EQ_INT(t->model, P2D_MODEL_UNIQUE);
        T_EQ_STR(t->key[0], "id");
        T_CHECK(t->key[1] == NULL);
        T_EQ_STR(t->distribution_key[0], "id");
        T_EQ_INT(t->ncolumns, 1);
    }
    t = p2d_job_table_config(job, "sales", "orders_2024");
    T_CHECK(t && t->model == P2D_MODEL_DUPLICATE && t->dml == P2D_DML_ALL);
    T_CHECK(p2d_job_table_config(job, "public", "users") == NULL);

    T_EQ_INT(p2d_job_dest_name(job, "public", "orders", &dn, err, sizeof(err)), 0);
    T_EQ_STR(dn.database, "dw");
    T_EQ_STR(dn.table, "orders_v2");
    T_CHECK(dn.explicit_name);
    T_EQ_INT(p2d_job_dest_name(job, "sales", "orders_2024", &dn, err, sizeof(err)), 0);
    T_EQ_STR(dn.database, "sales_dw");
    T_EQ_STR(dn.table, "orders_2024");
    T_CHECK(!dn.explicit_name);
    p2d_job_dest_column(job, "public", "orders", "desc", col, sizeof(col));
    T_EQ_STR(col, "description");
    p2d_job_dest_column(job, "public", "orders", "Amount", col, sizeof(col));
    T_EQ_STR(col, "Amount");
    p2d_job_destroy(job);

    /* the example of docs/job-file.md parses */
    {
        char path[512], *text, *start, *end;
        FILE *f;
        long n;

        snprintf(path, sizeof(path), "%s/docs/job-file.md", t_env("P2D_SOURCE_DIR"));
        f = fopen(path, "r");
        T_CHECK(f != NULL);
        if (!f)
            return;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        text = calloc(1, (size_t)n + 1);
        T_EQ_INT(fread(text, 1, (size_t)n, f), n);
        fclose(f);
        start = strstr(text, "```json\n");
        T_CHECK(start != NULL);
        if (start) {
            start += 8;
            end = strstr(start, "```");
            *end = '\0';
            T_EQ_INT(parse_file(start, NULL, &job), 0);
            T_EQ_STR(err, "");
            T_CHECK(job && job->ntables == 2);
            p2d_job_destroy(job);
        }
        free(text);
    }
}

static void test_job_file_bad(void)
{
    static const struct {
        const char *json;
        const char *message; /* after 'job file "<path>": ' */
    } cases[] = {
        {"[1]", "$: must be a JSON object; hint: see docs/job-file.md"},
        {"{\"tabels\": {}}",
         "$.tabels: unknown key; hint: allowed keys here are version, include, exclude, "
         "databases, tables"},
        {"{\"version\": 2}", "$.version: must be 1 (the only job file version)"},
        {"{\"include\": \"public.*\"}", "$.include: must be an array of \"schema.table\" patterns"},
        {"{\"include\": [\"public.*\", 7]}",
         "$.include[1]: must be a string such as \"public.orders_*\""},
        {"{\"exclude\": [\"a.b.c\"]}",
         "$.exclude[0]: invalid pattern \"a.b.c\": more than one unquoted dot (quote names that "
         "contain dots); hint: write schema.table with shell globs, e.g. public.orders_*"},
        {"{\"databases\": {\"sales\": \"9dw\"}}",
         "$.databases.sales: must be a Doris database name: a letter, then letters, digits, '-' "
         "or '_', at most 64 characters"},
        {"{\"tables\": {\"orders\": {}}}",
         "$.tables.orders: table keys must be exact \"schema.table\" names (the schema is "
         "missing); hint: e.g. \"public.orders\""},
        {"{\"tables\": {\"public.t\": {\"bucket_count\": 0}}}",
         "$.tables[\"public.t\"].bucket_count: must be an integer from 1 to 1024; hint: leave it "
         "out for Doris's automatic bucket count"},
        {"{\"tables\": {\"public.t\": {\"bucket_count\": \"8\"}}}",
         "$.tables[\"public.t\"].bucket_count: must be an integer from 1 to 1024; hint: leave it "
         "out for Doris's automatic bucket count"},
        {"{\"tables\": {\"public.t\": {\"engine\": \"aggregate\"}}}",
         "$.tables[\"public.t\"].engine: must be \"unique\" or \"duplicate\""},
        {"{\"tables\": {\"public.t\": {\"dml\": [\"insert\", \"merge\"]}}}",
         "$.tables[\"public.t\"].dml[1]: must be \"insert\", \"update\" or \"delete\""},
        {"{\"tables\": {\"public.t\": {\"dml\": []}}}",
         "$.tables[\"public.t\"].dml: must be a non-empty array of \"insert\", \"update\", "
         "\"delete\""},
        {"{\"tables\": {\"public.t\": {\"engine\": \"unique\", \"dml\": [\"delete\"]}}}",
         "$.tables[\"public.t\"].dml: \"insert\" is missing: without inserts no row ever "
         "arrives"},
        {"{\"tables\": {\"public.t\": {\"name\": \"1t\"}}}",
         "$.tables[\"public.t\"].name: must be a Doris table name: a letter, then letters, "
         "digits, '-' or '_', at most 64 characters"},
        {"{\"tables\": {\"public.t\": {\"where\": \"\"}}}",
         "$.tables[\"public.t\"].where: must be a non-empty SQL condition on the source table, "
         "e.g. \"created_at >= '2024-01-01'\""},
        {"{\"tables\": {\"public.t\": {\"key\": [\"a\", \"a\"]}}}",
         "$.tables[\"public.t\"].key[1]: column \"a\" is listed twice"},
        {"{\"tables\": {\"public.t\": {\"key\": [\"a\"], \"distribution_key\": [\"b\"]}}}",
         "$.tables[\"public.t\"].distribution_key: column \"b\" is not in \"key\"; hint: a "
         "Unique Key table is distributed by key columns only"},
        {"{\"tables\": {\"public.t\": {\"columns\": {\"a\": \"x\", \"b\": \"x\"}}}}",
         "$.tables[\"public.t\"].columns.b: columns \"a\" and \"b\" are both renamed to \"x\""},
        {"{\"tables\": {\"public.t\": {\"columns\": {\"a\": \"mv_a\"}}}}",
         "$.tables[\"public.t\"].columns.a: must be a Doris column name (ASCII letters, digits, "
         "'_' and a few symbols, at most 256 characters, not starting with mv_)"},
        {"{\"tables\": {\"public.t\": {\"colour\": 1}}}",
         "$.tables[\"public.t\"].colour: unknown key; hint: allowed keys here are name, columns, "
         "where, dml, bucket_count, engine, key, distribution_key"},
        {"{\"exclude\": [\"public.t\"], \"tables\": {\"public.t\": {}}}",
         "$.tables[\"public.t\"]: table is configured but not selected by the include/exclude "
         "patterns; hint: add it to \"include\" or remove this entry"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct p2d_job *job;
        char want[2048];
        int rc = parse_file(cases[i].json, NULL, &job);

        T_EQ_INT(rc, P2D_EINVAL);
        snprintf(want, sizeof(want), "job file \"%s\": %s", last_file, cases[i].message);
        T_EQ_STR(err, want);
        p2d_job_destroy(job);
    }

    /* syntax errors carry line and column; duplicate keys are refused */
    {
        struct p2d_job *job;

        T_EQ_INT(parse_file("{\n  \"include\": [\"a.b\",]\n}", NULL, &job), P2D_EINVAL);
        T_HAS_STR(err, ": line 2, column ");
        T_HAS_STR(err, "hint: the job file is JSON, see docs/job-file.md");
        T_EQ_INT(parse_file("{\"version\": 1, \"version\": 1}", NULL, &job), P2D_EINVAL);
        T_HAS_STR(err, "duplicate object key");
        T_EQ_INT(parse(SRC " " DEST " --job /nonexistent/job.json", &job), P2D_EINVAL);
        T_HAS_STR(err, "cannot read job file \"/nonexistent/job.json\": ");
        /* problems from flags and file are all reported */
        T_EQ_INT(parse_file("{\"version\": 3}", "--readers 0", &job), P2D_EINVAL);
        T_HAS_STR(err, "invalid --readers \"0\"");
        T_HAS_STR(err, "\n");
        T_HAS_STR(err, "$.version: must be 1");
    }
}

static void test_names_and_collisions(void)
{
    struct p2d_job *job;
    struct p2d_dest_name dn;
    static const struct p2d_job_source_table same[] = {{"public", "orders"}, {"sales", "orders"}};
    static const struct p2d_job_source_table distinct[] = {{"public", "orders"},
                                                           {"public", "Orders"}};

    T_EQ_INT(parse(SRC " " DEST, &job), 0);
    T_EQ_INT(p2d_job_check_collisions(job, same, 2, err, sizeof(err)), P2D_EINVAL);
    T_EQ_STR(err, "tables \"public\".\"orders\" and \"sales\".\"orders\" both land on Doris table "
                  "\"dw\".\"orders\"; hint: give one of them another \"name\" in the job file's "
                  "\"tables\" object, exclude one, or name all of them explicitly to merge them");
    T_EQ_INT(p2d_job_check_collisions(job, distinct, 2, err, sizeof(err)), 0);
    T_EQ_INT(p2d_job_dest_name(job, "public", "Größe", &dn, err, sizeof(err)), P2D_EINVAL);
    T_HAS_STR(err, "hint: map it in the job file: \"tables\": {\"public.Größe\": {\"name\": ");
    T_EQ_INT(p2d_job_dest_name(job, "public", "_t", &dn, err, sizeof(err)), P2D_EINVAL);
    p2d_job_destroy(job);

    /* name case folds derived names, so Orders and orders now collide */
    T_EQ_INT(parse(SRC " " DEST " --name-case lower", &job), 0);
    T_EQ_INT(p2d_job_check_collisions(job, distinct, 2, err, sizeof(err)), P2D_EINVAL);
    T_EQ_INT(p2d_job_dest_name(job, "public", "Orders", &dn, err, sizeof(err)), 0);
    T_EQ_STR(dn.table, "orders");
    p2d_job_destroy(job);
    T_EQ_INT(parse(SRC " " DEST " --name-case upper", &job), 0);
    T_EQ_INT(p2d_job_dest_name(job, "public", "Orders", &dn, err, sizeof(err)), 0);
    T_EQ_STR(dn.table, "ORDERS");
    p2d_job_destroy(job);

    /* a rename resolves the collision; both named explicitly = deliberate merge */
    T_EQ_INT(
        parse_file("{\"tables\": {\"sales.orders\": {\"name\": \"sales_orders\"}}}", NULL, &job),
        0);
    T_EQ_INT(p2d_job_check_collisions(job, same, 2, err, sizeof(err)), 0);
    p2d_job_destroy(job);
    T_EQ_INT(parse_file("{\"tables\": {\"sales.orders\": {\"name\": \"orders\"}}}", NULL, &job), 0);
    T_EQ_INT(p2d_job_check_collisions(job, same, 2, err, sizeof(err)), P2D_EINVAL);
    p2d_job_destroy(job);
    T_EQ_INT(parse_file("{\"tables\": {\"sales.orders\": {\"name\": \"all_orders\"},"
                        " \"public.orders\": {\"name\": \"all_orders\"}}}",
                        NULL, &job),
             0);
    T_EQ_INT(p2d_job_check_collisions(job, same, 2, err, sizeof(err)), 0);
    p2d_job_destroy(job);
}

static void fp_of(const char *args, const char *file, char out[P2D_JOB_FINGERPRINT_LEN])
{
    struct p2d_job *job = NULL;
    int rc = file ? parse_file(file, args, &job) : parse(args, &job);

    T_EQ_INT(rc, 0);
    strcpy(out, "");
    if (job)
        T_EQ_INT(p2d_job_fingerprint(job, out), 0);
    p2d_job_destroy(job);
}

static void test_fingerprint(void)
{
    char base[P2D_JOB_FINGERPRINT_LEN], fp[P2D_JOB_FINGERPRINT_LEN];
    struct p2d_job *job;
    char *canon;

    fp_of(SRC " " DEST " --include public.a --include public.b", NULL, base);
    T_EQ_INT(strlen(base), 16);
    /* same data: flag order, pattern order, tuning, passwords, mode */
    fp_of("--include public.b " DEST " --include public.a " SRC, NULL, fp);
    T_EQ_STR(fp, base);
    fp_of(SRC " " DEST " --include public.a --include public.b --include public.a --readers 1 "
              "--writers 9 --memory 1G --format json --compress gz --mb-per-sec 3 --mode full "
              "--log-level debug --state /x",
          NULL, fp);
    T_EQ_STR(fp, base);
    fp_of("--source=postgresql://app:other@pg1:5432/appdb --dest=http://root@fe1:8030/dw "
          "--include public.a --include public.b",
          NULL, fp);
    T_EQ_STR(fp, base);
    /* stable across runs: a fixed value (FNV-1a 64 of the canonical JSON) */
    T_EQ_INT(parse(SRC " " DEST, &job), 0);
    canon = p2d_job_canonical(job);
    T_EQ_STR(canon,
             "{\"databases\":{},\"dest\":{\"database\":\"dw\",\"host\":\"fe1\",\"port\":8030},"
             "\"exclude\":[],\"include\":[],\"name_case\":\"keep\",\"source\":{\"dbname\":"
             "\"appdb\",\"host\":\"pg1\",\"port\":\"5432\"},\"tables\":{}}");
    T_CHECK(strstr(canon, "srcsecret") == NULL);
    free(canon);
    T_EQ_INT(p2d_job_fingerprint(job, fp), 0);
    T_EQ_STR(fp, "a0a55efcafff3e75");
    p2d_job_destroy(job);

    /* different data */
    static const char *const changes[] = {
        SRC " " DEST " --include public.a",
        SRC " " DEST " --include public.a --include public.b --exclude public.b",
        SRC " " DEST " --include public.a --include public.b --name-case lower",
        SRC " --dest=http://root@fe1:8030/other --include public.a --include public.b",
        SRC " --dest=http://root@fe2:8030/dw --include public.a --include public.b",
        "--source=postgresql://app@pg1:5432/otherdb " DEST " --include public.a --include public.b",
        "--source=postgresql://app@pg2:5432/appdb " DEST " --include public.a --include public.b",
    };
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        fp_of(changes[i], NULL, fp);
        T_CHECK(strcmp(fp, base) != 0);
    }
    fp_of("--include public.a --include public.b",
          "{\"tables\": {\"public.a\": {\"where\": "
          "\"x > 1\"}}}",
          fp);
    T_CHECK(strcmp(fp, base) != 0);
    {
        char w1[P2D_JOB_FINGERPRINT_LEN], w2[P2D_JOB_FINGERPRINT_LEN];

        fp_of("",
              "{\"include\": [\"public.*\"], \"tables\": {\"public.a\": {\"where\": \"x > 1\"}}}",
              w1);
        fp_of("",
              "{\"include\": [\"public.*\"], \"tables\": {\"public.a\": {\"where\": \"x > 2\"}}}",
              w2);
        T_CHECK(strcmp(w1, w2) != 0);
        fp_of("",
              "{\"include\": [\"public.*\"], \"tables\": {\"public.a\": {\"columns\": "
              "{\"c\": \"d\"}}}}",
              w2);
        T_CHECK(strcmp(w1, w2) != 0);
        fp_of("", "{\"include\": [\"public.*\"], \"databases\": {\"public\": \"x\"}}", w2);
        fp_of("", "{\"include\": [\"public.*\"], \"databases\": {\"public\": \"y\"}}", w1);
        T_CHECK(strcmp(w1, w2) != 0);
    }
}

static void test_describe(void)
{
    struct p2d_job *job;
    struct p2d_job_env env = {.dest_password = "envsecret", .cores = 2};
    char text[8192];

    /* a keyword/value conninfo with a password, as one argument */
    {
        char *argv[] = {"sync",
                        "--source",
                        "host=pg1 password=srcsecret dbname=app",
                        "--dest",
                        "http://root@fe1:8030/dw",
                        NULL};

        T_EQ_INT(p2d_job_parse(P2D_JOB_SYNC, 5, argv, &env, &job, err, sizeof(err)), 0);
        if (job) {
            p2d_job_describe(job, text, sizeof(text));
            T_HAS_STR(text, "source: host=pg1 password=**** dbname=app\n");
            T_HAS_STR(text, "dest: http://root:****@fe1:8030/dw\n"); /* password from env */
            T_CHECK(strstr(text, "srcsecret") == NULL && strstr(text, "envsecret") == NULL);
        }
        p2d_job_destroy(job);
    }

    T_EQ_INT(parse_file(good_file, "--include orders", &job), 0);
    if (!job)
        return;
    p2d_job_describe(job, text, sizeof(text));
    T_HAS_STR(text, "source: postgresql://app:****@pg1:5432/appdb\n");
    T_HAS_STR(text, "dest: http://root:****@fe1:8030/dw\n");
    T_HAS_STR(text, "readers: 2, writers: 4\n");
    T_HAS_STR(text, "include: orders public.* sales.orders_*\n");
    T_HAS_STR(text, "table \"public\".\"orders\": name orders_v2, engine unique, dml "
                    "insert,update, buckets 16, key id, distributed by id, column desc -> "
                    "description, where id > 10\n");
    T_HAS_STR(text, "database: schema \"sales\" -> \"sales_dw\"\n");
    T_HAS_STR(text, "fingerprint: ");
    T_CHECK(strstr(text, "srcsecret") == NULL && strstr(text, "destsecret") == NULL);
    /* truncation keeps a terminated string */
    p2d_job_describe(job, text, 10);
    T_EQ_INT(strlen(text), 9);
    p2d_job_destroy(job);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_defaults();
    test_every_flag();
    test_bad_flags();
    test_patterns();
    test_job_file_good();
    test_job_file_bad();
    test_names_and_collisions();
    test_fingerprint();
    test_describe();
    free(t_sh("rm -rf %s", tmpdir));
    return t_done();
}
