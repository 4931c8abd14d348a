/*
 * ddl_test.c - Doris layouts and CREATE / ALTER texts from hand-built
 * catalog tables and real parsed jobs (flags and job files): golden texts
 * for composite keys, banned key types, the Duplicate model, renames,
 * --name-case, bucket / distribution overrides and quoting; refusals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "p2d_error.h"
#include "schema/catalog.h"
#include "schema/ddl.h"
#include "testlib.h"

#define SRC  "--source host=pg1dbname=app"
#define DEST "--dest http://root@fe1:8030/dw"

static char err[8192];
static char tmpdir[] = "/tmp/ddl_test.XXXXXX";

static struct p2d_job *parse_job(const char *args, const char *file_text)
{
    char *copy, *save = NULL, *tok, *argv[64], path[300];
    int argc = 0;
    struct p2d_job_env env = {.cores = 2};
    struct p2d_job *job = NULL;
    char all[1024];

    if (file_text) {
        static int n;
        FILE *f;

        snprintf(path, sizeof(path), "%s/job%d.json", tmpdir, n++);
        f = fopen(path, "w");
        fputs(file_text, f);
        fclose(f);
        snprintf(all, sizeof(all), "%s --job %s", args, path);
    } else {
        snprintf(all, sizeof(all), "%s", args);
    }
    copy = strdup(all);
    argv[argc++] = "sync";
    for (tok = strtok_r(copy, " ", &save); tok && argc < 63; tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    if (p2d_job_parse(P2D_JOB_SYNC, argc, argv, &env, &job, err, sizeof(err)) != 0)
        fprintf(stderr, "job parse failed: %s\n", err);
    free(copy);
    return job;
}

/* A column: name, type_display, base typname, typmod, not null. */
static struct p2d_column col(const char *name, const char *display, const char *typname,
                             int32_t typmod, bool not_null)
{
    struct p2d_column c = {0};

    c.name = (char *)name;
    c.type_display = (char *)display;
    c.type_name = (char *)typname;
    c.typtype = 'b';
    c.typcategory = 'X';
    c.typmod = typmod;
    c.not_null = not_null;
    return c;
}

static void set_key(struct p2d_table *t, size_t *key, size_t n)
{
    t->key = key;
    t->nkey = n;
    t->key_kind = n ? P2D_KEY_PRIMARY : P2D_KEY_NONE;
}

/* Plans t under job and renders CREATE TABLE; returns the text (static). */
static const char *create_text(const struct p2d_table *t, const struct p2d_job *job,
                               struct p2d_ddl_table **keep)
{
    static char text[8192];
    struct p2d_ddl_table *dt = NULL;
    struct p2d_buf b;
    int rc = p2d_ddl_plan(t, job, NULL, &dt, err, sizeof(err));

    text[0] = '\0';
    T_EQ_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "plan failed: %s\n", err);
        return text;
    }
    p2d_buf_init(&b, 0);
    T_EQ_INT(p2d_ddl_create_table(dt, &b), 0);
    snprintf(text, sizeof(text), "%.*s", (int)b.len, (const char *)b.data);
    p2d_buf_fini(&b);
    if (keep)
        *keep = dt;
    else
        p2d_ddl_table_destroy(dt);
    return text;
}

static void test_composite_pk(void)
{
    struct p2d_job *job = parse_job(SRC " " DEST, NULL);
    struct p2d_column cols[] = {
        col("id", "bigint", "int8", -1, true),
        col("tenant", "character varying(48)", "varchar", 52, true),
        col("amount", "numeric(18,2)", "numeric", ((18 << 16) | 2) + 4, false),
        col("note", "text", "text", -1, false),
        col("qty", "integer", "int4", -1, true),
    };
    size_t key[] = {1, 0}; /* PRIMARY KEY (tenant, id): not the column order */
    struct p2d_table t = {.schema = "public", .name = "orders", .relkind = 'r'};

    t.columns = cols;
    t.ncolumns = 5;
    set_key(&t, key, 2);
    T_EQ_STR(create_text(&t, job, NULL),
             "CREATE TABLE `dw`.`orders` (\n"
             "  `tenant` VARCHAR(192) NOT NULL COMMENT 'character varying(48)',\n"
             "  `id` BIGINT NOT NULL COMMENT 'bigint',\n"
             "  `amount` DECIMAL(18,2) NULL COMMENT 'numeric(18,2)',\n"
             "  `note` STRING NULL COMMENT 'text',\n"
             "  `qty` INT NOT NULL COMMENT 'integer'\n"
             ") ENGINE=OLAP\n"
             "UNIQUE KEY(`tenant`, `id`)\n"
             "COMMENT 'PostgreSQL table public.orders'\n"
             "DISTRIBUTED BY HASH(`tenant`, `id`) BUCKETS AUTO\n"
             "PROPERTIES (\n"
             "  \"enable_unique_key_merge_on_write\" = \"true\",\n"
             "  \"light_schema_change\" = \"true\"\n"
             ")");
    p2d_job_destroy(job);
}

static void test_key_substitutes(void)
{
    struct p2d_job *job = parse_job(SRC " " DEST, NULL);
    struct p2d_column cols[] = {
        col("code", "text", "text", -1, true),
        col("ratio", "double precision", "float8", -1, true),
        col("v", "real", "float4", -1, true),
    };
    size_t key[] = {0, 1};
    struct p2d_table t = {.schema = "public", .name = "rates", .relkind = 'r'};

    t.columns = cols;
    t.ncolumns = 3;
    set_key(&t, key, 2);
    /* value column float4 NOT NULL stays nullable: NaN is written as NULL */
    T_EQ_STR(create_text(&t, job, NULL),
             "CREATE TABLE `dw`.`rates` (\n"
             "  `code` VARCHAR(65533) NOT NULL COMMENT 'text (key: Doris bans STRING keys, "
             "exact text as VARCHAR(65533))',\n"
             "  `ratio` VARCHAR(32) NOT NULL COMMENT 'double precision (key: Doris bans DOUBLE "
             "keys, exact text as VARCHAR(32))',\n"
             "  `v` DOUBLE NULL COMMENT 'real'\n"
             ") ENGINE=OLAP\n"
             "UNIQUE KEY(`code`, `ratio`)\n"
             "COMMENT 'PostgreSQL table public.rates'\n"
             "DISTRIBUTED BY HASH(`code`, `ratio`) BUCKETS AUTO\n"
             "PROPERTIES (\n"
             "  \"enable_unique_key_merge_on_write\" = \"true\",\n"
             "  \"light_schema_change\" = \"true\"\n"
             ")");
    p2d_job_destroy(job);
}

static void test_duplicate(void)
{
    struct p2d_job *job = parse_job(SRC " " DEST, NULL);
    struct p2d_column cols[] = {
        col("msg", "text", "text", -1, true),
        col("at", "timestamp with time zone", "timestamptz", -1, true),
        col("n", "integer", "int4", -1, false),
    };
    struct p2d_column texts[] = {
        col("a", "text", "text", -1, false),
        col("b", "jsonb", "jsonb", -1, true),
    };
    struct p2d_table t = {.schema = "public", .name = "events", .relkind = 'r'};
    struct p2d_ddl_table *dt = NULL;

    t.columns = cols;
    t.ncolumns = 3;
    /* no key: sorted by the first NOT NULL column Doris accepts as a key,
     * distributed by _record_id, extra columns last */
    T_EQ_STR(create_text(&t, job, &dt),
             "CREATE TABLE `dw`.`events` (\n"
             "  `at` DATETIME(6) NOT NULL COMMENT 'timestamp with time zone',\n"
             "  `msg` STRING NOT NULL COMMENT 'text',\n"
             "  `n` INT NULL COMMENT 'integer',\n"
             "  `_is_deleted` BOOLEAN NOT NULL COMMENT 'pg2doris: row deleted in the source',\n"
             "  `_version` BIGINT NOT NULL COMMENT 'pg2doris: source commit time, seconds',\n"
             "  `_record_id` BIGINT NOT NULL COMMENT 'pg2doris: unique, increasing record id'\n"
             ") ENGINE=OLAP\n"
             "DUPLICATE KEY(`at`)\n"
             "COMMENT 'PostgreSQL table public.events'\n"
             "DISTRIBUTED BY HASH(`_record_id`) BUCKETS AUTO\n"
             "PROPERTIES (\n"
             "  \"light_schema_change\" = \"true\"\n"
             ")");
    if (dt) {
        struct p2d_buf b;
        struct p2d_dcol d = {.type = "VARCHAR(40)", .nullable = true};

        T_EQ_INT(dt->model, P2D_MODEL_DUPLICATE);
        T_EQ_INT(dt->nkey, 1);
        T_EQ_INT(dt->columns[0].source, 1);
        T_EQ_INT(dt->columns[5].kind, P2D_DDL_RECORD_ID);
        p2d_buf_init(&b, 0);
        T_EQ_INT(p2d_ddl_alter_add_column(dt, "extra", &d, "character varying(10)", &b, err,
                                          sizeof(err)),
                 0);
        T_EQ_STR((const char *)b.data,
                 "ALTER TABLE `dw`.`events` ADD COLUMN `extra` VARCHAR(40) NULL COMMENT "
                 "'character varying(10)' AFTER `n`");
        p2d_buf_reset(&b);
        T_EQ_INT(p2d_ddl_alter_add_column(dt, "N", &d, NULL, &b, err, sizeof(err)), P2D_EINVAL);
        T_HAS_STR(err, "a column of that name exists");
        T_EQ_INT(p2d_ddl_alter_drop_column(dt, "n", &b, err, sizeof(err)), 0);
        T_EQ_STR((const char *)b.data, "ALTER TABLE `dw`.`events` DROP COLUMN `n`");
        p2d_buf_reset(&b);
        T_EQ_INT(p2d_ddl_alter_drop_column(dt, "_version", &b, err, sizeof(err)), P2D_EINVAL);
        T_HAS_STR(err, "pg2doris needs it on Duplicate tables");
        T_EQ_INT(p2d_ddl_alter_drop_column(dt, "at", &b, err, sizeof(err)), P2D_EINVAL);
        T_HAS_STR(err, "it is a key column");
        T_EQ_INT(p2d_ddl_alter_drop_column(dt, "nope", &b, err, sizeof(err)), P2D_EINVAL);
        T_HAS_STR(err, "it does not exist");
        p2d_buf_fini(&b);
        p2d_ddl_table_destroy(dt);
    }

    /* nothing Doris accepts as a key: _record_id leads */
    t.columns = texts;
    t.ncolumns = 2;
    T_EQ_STR(create_text(&t, job, NULL),
             "CREATE TABLE `dw`.`events` (\n"
             "  `_record_id` BIGINT NOT NULL COMMENT 'pg2doris: unique, increasing record id',\n"
             "  `a` STRING NULL COMMENT 'text',\n"
             "  `b` JSON NOT NULL COMMENT 'jsonb',\n"
             "  `_is_deleted` BOOLEAN NOT NULL COMMENT 'pg2doris: row deleted in the source',\n"
             "  `_version` BIGINT NOT NULL COMMENT 'pg2doris: source commit time, seconds'\n"
             ") ENGINE=OLAP\n"
             "DUPLICATE KEY(`_record_id`)\n"
             "COMMENT 'PostgreSQL table public.events'\n"
             "DISTRIBUTED BY HASH(`_record_id`) BUCKETS AUTO\n"
             "PROPERTIES (\n"
             "  \"light_schema_change\" = \"true\"\n"
             ")");
    p2d_job_destroy(job);
}

static void test_renames_and_overrides(void)
{
    struct p2d_job *job = parse_job(
        SRC " " DEST,
        "{\"tables\": {\"sales.orders\": {\"name\": \"orders_v2\", \"columns\": {\"desc\": "
        "\"description\", \"Größe\": \"size\"}, \"bucket_count\": 16, \"key\": [\"id\", "
        "\"region\"], \"distribution_key\": [\"id\"]}, \"sales.log\": {\"engine\": "
        "\"duplicate\", \"key\": [\"ts\"], \"distribution_key\": [\"host\"], \"bucket_count\": "
        "4}}}");
    struct p2d_column cols[] = {
        col("desc", "text", "text", -1, false),
        col("region", "character(2)", "bpchar", 6, true),
        col("Größe", "integer", "int4", -1, false),
        col("id", "bigint", "int8", -1, true),
    };
    struct p2d_column logcols[] = {
        col("host", "text", "text", -1, false),
        col("ts", "timestamp without time zone", "timestamp", 3, true),
    };
    size_t pk[] = {3};
    struct p2d_table t = {.schema = "sales", .name = "orders", .relkind = 'r'};
    struct p2d_table l = {.schema = "sales", .name = "log", .relkind = 'r'};

    T_CHECK(job != NULL);
    if (!job)
        return;
    t.columns = cols;
    t.ncolumns = 4;
    set_key(&t, pk, 1); /* the job's key wins over the primary key */
    T_EQ_STR(create_text(&t, job, NULL), "CREATE TABLE `dw`.`orders_v2` (\n"
                                         "  `id` BIGINT NOT NULL COMMENT 'bigint',\n"
                                         "  `region` VARCHAR(8) NOT NULL COMMENT 'character(2)',\n"
                                         "  `description` STRING NULL COMMENT 'text',\n"
                                         "  `size` INT NULL COMMENT 'integer'\n"
                                         ") ENGINE=OLAP\n"
                                         "UNIQUE KEY(`id`, `region`)\n"
                                         "COMMENT 'PostgreSQL table sales.orders'\n"
                                         "DISTRIBUTED BY HASH(`id`) BUCKETS 16\n"
                                         "PROPERTIES (\n"
                                         "  \"enable_unique_key_merge_on_write\" = \"true\",\n"
                                         "  \"light_schema_change\" = \"true\"\n"
                                         ")");
    l.columns = logcols;
    l.ncolumns = 2;
    /* Duplicate: any column may be the distribution column */
    T_EQ_STR(create_text(&l, job, NULL),
             "CREATE TABLE `dw`.`log` (\n"
             "  `ts` DATETIME(3) NOT NULL COMMENT 'timestamp without time zone',\n"
             "  `host` STRING NULL COMMENT 'text',\n"
             "  `_is_deleted` BOOLEAN NOT NULL COMMENT 'pg2doris: row deleted in the source',\n"
             "  `_version` BIGINT NOT NULL COMMENT 'pg2doris: source commit time, seconds',\n"
             "  `_record_id` BIGINT NOT NULL COMMENT 'pg2doris: unique, increasing record id'\n"
             ") ENGINE=OLAP\n"
             "DUPLICATE KEY(`ts`)\n"
             "COMMENT 'PostgreSQL table sales.log'\n"
             "DISTRIBUTED BY HASH(`host`) BUCKETS 4\n"
             "PROPERTIES (\n"
             "  \"light_schema_change\" = \"true\"\n"
             ")");
    p2d_job_destroy(job);

    /* a Unique table distributed by a value column is refused */
    job = parse_job(SRC " " DEST,
                    "{\"tables\": {\"sales.orders\": {\"distribution_key\": [\"desc\"]}}}");
    if (job) {
        struct p2d_ddl_table *dt = NULL;

        T_EQ_INT(p2d_ddl_plan(&t, job, NULL, &dt, err, sizeof(err)), P2D_EINVAL);
        T_HAS_STR(err, "names column \"desc\", which is not a key column");
        T_CHECK(dt == NULL);
        p2d_job_destroy(job);
    }
}

static void test_name_case_and_quoting(void)
{
    struct p2d_job *job = parse_job(SRC " " DEST " --name-case lower", NULL);
    struct p2d_column cols[] = {
        col("OrderID", "integer", "int4", -1, true),
        col("Select", "text", "text", -1, false),
        col("my col`x", "date", "date", -1, false),
    };
    size_t pk[] = {0};
    struct p2d_table t = {.schema = "Sales", .name = "Order-Items", .relkind = 'r'};
    struct p2d_ddl_options opts = {.replication_num = 1};
    struct p2d_ddl_table *dt = NULL;
    struct p2d_buf b;

    t.columns = cols;
    t.ncolumns = 3;
    set_key(&t, pk, 1);
    /* backtick in a column name: not a Doris column name, refused with a hint */
    T_EQ_INT(p2d_ddl_plan(&t, job, NULL, &dt, err, sizeof(err)), P2D_EINVAL);
    T_HAS_STR(err, "column \"my col`x\" of table \"Sales\".\"Order-Items\" would land as Doris "
                   "column \"my col`x\"");
    T_HAS_STR(err, "hint: rename it in the job file");
    cols[2].name = "My Col";
    T_EQ_INT(p2d_ddl_plan(&t, job, &opts, &dt, err, sizeof(err)), 0);
    p2d_buf_init(&b, 0);
    if (dt)
        T_EQ_INT(p2d_ddl_create_table(dt, &b), 0);
    T_EQ_STR(b.data ? (const char *)b.data : "",
             "CREATE TABLE `dw`.`order-items` (\n"
             "  `orderid` INT NOT NULL COMMENT 'integer',\n"
             "  `select` STRING NULL COMMENT 'text',\n"
             "  `my col` DATE NULL COMMENT 'date'\n"
             ") ENGINE=OLAP\n"
             "UNIQUE KEY(`orderid`)\n"
             "COMMENT 'PostgreSQL table Sales.Order-Items'\n"
             "DISTRIBUTED BY HASH(`orderid`) BUCKETS AUTO\n"
             "PROPERTIES (\n"
             "  \"replication_num\" = \"1\",\n"
             "  \"enable_unique_key_merge_on_write\" = \"true\",\n"
             "  \"light_schema_change\" = \"true\"\n"
             ")");
    p2d_buf_fini(&b);
    p2d_ddl_table_destroy(dt);
    p2d_job_destroy(job);

    job = parse_job(SRC " " DEST " --name-case upper", NULL);
    t.name = "o'brien";
    /* upper-casing "o'brien" keeps the quote: not a Doris table name */
    T_EQ_INT(p2d_ddl_plan(&t, job, NULL, &dt, err, sizeof(err)), P2D_EINVAL);
    T_HAS_STR(err, "would land as Doris table \"O'BRIEN\"");
    t.name = "items";
    T_EQ_INT(p2d_ddl_plan(&t, job, NULL, &dt, err, sizeof(err)), 0);
    if (dt) {
        T_EQ_STR(dt->table, "ITEMS");
        T_EQ_STR(dt->columns[0].name, "ORDERID");
        T_EQ_INT(p2d_ddl_column_index(dt, "my col"), 2);
    }
    p2d_ddl_table_destroy(dt);
    p2d_job_destroy(job);
}

static void test_refusals(void)
{
    struct p2d_job *job =
        parse_job(SRC " " DEST, "{\"tables\": {\"public.t\": {\"engine\": "
                                "\"unique\"}, \"public.u\": {\"key\": [\"n\"]}}}");
    struct p2d_column cols[] = {
        col("n", "integer", "int4", -1, false),
        col("_version", "bigint", "int8", -1, false),
    };
    struct p2d_table t = {.schema = "public", .name = "t", .relkind = 'r'};
    struct p2d_ddl_table *dt = NULL;

    t.columns = cols;
    t.ncolumns = 2;
    T_EQ_INT(p2d_ddl_plan(&t, job, NULL, &dt, err, sizeof(err)), P2D_EINVAL);
    T_HAS_STR(err, "has no primary key and no unique index on NOT NULL columns");
    t.name = "u";
    T_EQ_INT(p2d_ddl_plan(&t, job, NULL, &dt, err, sizeof(err)), P2D_EINVAL);
    T_HAS_STR(err, "key column \"n\" of table \"public\".\"u\" allows NULL");
    t.name = "v"; /* Duplicate: the source's _version clashes with the extra column */
    T_EQ_INT(p2d_ddl_plan(&t, job, NULL, &dt, err, sizeof(err)), P2D_EINVAL);
    T_HAS_STR(err, "two Doris columns named \"_version\" (pg2doris adds it to Duplicate tables)");
    T_CHECK(dt == NULL);
    p2d_job_destroy(job);
}

static void test_catalog_helpers(void)
{
    struct p2d_key_candidate c[] = {
        {.index_name = "u_b", .usable = true, .all_not_null = true, .ncolumns = 2},
        {.index_name = "u_a", .usable = true, .all_not_null = true, .ncolumns = 2},
        {.index_name = "u_null", .usable = true, .all_not_null = false, .ncolumns = 1},
        {.index_name = "u_partial", .usable = false, .all_not_null = true, .ncolumns = 1},
        {.index_name = "pk", .primary = true, .usable = true, .all_not_null = true, .ncolumns = 3},
    };
    int v[4];

    T_EQ_INT(p2d_catalog_pick_key(c, 5), 4);
    T_EQ_INT(p2d_catalog_pick_key(c, 4), 1); /* fewest columns, then name */
    T_EQ_INT(p2d_catalog_pick_key(c + 2, 2), -1);
    T_EQ_INT(p2d_catalog_parse_int2vector("1 3 2", v, 4), 3);
    T_EQ_INT(v[1], 3);
    T_EQ_INT(p2d_catalog_parse_int2vector("", v, 4), 0);
    T_EQ_INT(p2d_catalog_parse_int2vector("1 x", v, 4), -1);
    T_EQ_INT(p2d_catalog_parse_int2vector("1 2 3 4 5", v, 4), -1);
    T_CHECK(p2d_catalog_doris_table_name_ok("Orders_2-x"));
    T_CHECK(!p2d_catalog_doris_table_name_ok("2orders"));
    T_CHECK(!p2d_catalog_doris_table_name_ok("_orders"));
    T_CHECK(!p2d_catalog_doris_table_name_ok("größe"));
    T_CHECK(p2d_catalog_doris_column_name_ok("_is_deleted"));
    T_CHECK(p2d_catalog_doris_column_name_ok("my col"));
    T_CHECK(!p2d_catalog_doris_column_name_ok("mv_x"));
    T_CHECK(!p2d_catalog_doris_column_name_ok("größe"));
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_composite_pk();
    test_key_substitutes();
    test_duplicate();
    test_renames_and_overrides();
    test_name_case_and_quoting();
    test_refusals();
    test_catalog_helpers();
    free(t_sh("rm -rf %s", tmpdir));
    return t_done();
}
