/*
 * precheck_eval_test.c - the pure evaluations of job/precheck.h: wal_level
 * (the shared cluster cannot change it), server versions, replication
 * rights, slot / wal sender capacity, and the replica identity items
 * (identity, keyless tables, unchanged TOAST) per mode, model and leaf.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job/precheck.h"
#include "schema/catalog.h"
#include "testlib.h"

/* A job for --mode mode (NULL: the default, all three) and an optional job
 * file text. */
static struct p2d_job *job_for(const char *mode, const char *job_text)
{
    struct p2d_job_env env = {.dest_password = NULL, .cores = 2};
    char path[] = "/tmp/p2d_precheck_eval.XXXXXX", err[4096];
    char *argv[16] = {"precheck", "--source", "host=pg1 dbname=app", "--dest",
                      "http://root@fe1:8030/dw"};
    struct p2d_job *job = NULL;
    int argc = 5, fd = -1;

    if (mode) {
        argv[argc++] = "--mode";
        argv[argc++] = (char *)mode;
    }
    if (job_text) {
        fd = mkstemp(path);
        T_CHECK(fd >= 0);
        T_EQ_INT(write(fd, job_text, strlen(job_text)), (long long)strlen(job_text));
        close(fd);
        argv[argc++] = "--job";
        argv[argc++] = path;
    }
    if (p2d_job_parse(P2D_JOB_PRECHECK, argc, argv, &env, &job, err, sizeof(err)) != 0)
        fprintf(stderr, "job: %s\n", err);
    T_CHECK(job != NULL);
    if (fd >= 0)
        unlink(path);
    return job;
}

/* A table for the catalog: key_kind, relreplident, TOAST-able columns. */
static struct p2d_table table(const char *name, enum p2d_key_kind key, char replident,
                              bool toastable)
{
    struct p2d_table t;

    memset(&t, 0, sizeof(t));
    t.schema = "public";
    t.name = (char *)name;
    t.relkind = 'r';
    t.persistence = 'p';
    t.key_kind = key;
    t.key_index = key == P2D_KEY_NONE ? NULL : (char *)(key == P2D_KEY_PRIMARY ? "pk" : "uq");
    t.replident = replident;
    t.has_toastable = toastable;
    return t;
}

/* Runs the identity evaluation over tables; returns the item count. */
static size_t eval(const struct p2d_job *job, struct p2d_table *tables, size_t n,
                   struct p2d_precheck_item out[P2D_PRECHECK_IDENTITY_ITEMS])
{
    struct p2d_catalog cat = {.server_version = 150000, .tables = tables, .ntables = n};

    return p2d_precheck_eval_identity(job, &cat, out);
}

static void identity_items(void)
{
    struct p2d_precheck_item out[P2D_PRECHECK_IDENTITY_ITEMS];
    struct p2d_job *inc = job_for(NULL, NULL), *full = job_for("schema,full", NULL);
    struct p2d_job *schema_only = job_for("schema", NULL);
    struct p2d_table t[4];

    /* all good: PK + DEFAULT without TOAST; keyless FULL */
    t[0] = table("a", P2D_KEY_PRIMARY, 'd', false);
    t[1] = table("b", P2D_KEY_NONE, 'f', true);
    T_EQ_INT(eval(inc, t, 2, out), 3);
    T_EQ_STR(out[0].item, "replica identity");
    T_EQ_INT(out[0].status, P2D_PRECHECK_PASS);
    T_EQ_STR(out[1].item, "keyless tables");
    T_EQ_INT(out[1].status, P2D_PRECHECK_PASS);
    T_HAS_STR(out[1].finding, "1 table(s) without a key have REPLICA IDENTITY FULL");
    T_EQ_STR(out[2].item, "unchanged TOAST");
    T_EQ_INT(out[2].status, P2D_PRECHECK_PASS);
    T_CHECK(strstr(out[2].finding, "partial-column") == NULL);
    /* without incremental only the identity item */
    T_EQ_INT(eval(full, t, 2, out), 1);
    T_EQ_INT(out[0].status, P2D_PRECHECK_PASS);

    /* REPLICA IDENTITY NOTHING on a keyed table: FAIL with incremental,
     * WARN for a full load (its publication makes UPDATE / DELETE fail) */
    t[0] = table("nothing", P2D_KEY_PRIMARY, 'n', false);
    T_EQ_INT(eval(inc, t, 1, out), 3);
    T_EQ_INT(out[0].status, P2D_PRECHECK_FAIL);
    T_HAS_STR(out[0].finding, "\"public.nothing\"");
    T_HAS_STR(out[0].finding, "fail at the source");
    T_HAS_STR(out[0].hint, "ALTER TABLE \"public\".\"nothing\" REPLICA IDENTITY DEFAULT");
    T_HAS_STR(out[0].hint, "FULL");
    T_EQ_INT(out[1].status, P2D_PRECHECK_PASS);
    T_HAS_STR(out[1].finding, "no selected table goes to the Duplicate model");
    T_EQ_INT(eval(full, t, 1, out), 1);
    T_EQ_INT(out[0].status, P2D_PRECHECK_WARN);
    T_HAS_STR(out[0].finding, "\"public.nothing\"");

    /* unique NOT NULL index, DEFAULT (no primary key): no identity; the
     * hint names the index */
    t[0] = table("uq_default", P2D_KEY_UNIQUE, 'd', false);
    eval(inc, t, 1, out);
    T_EQ_INT(out[0].status, P2D_PRECHECK_FAIL);
    T_HAS_STR(out[0].hint, "REPLICA IDENTITY USING INDEX \"uq\"");
    t[0] = table("uq_index", P2D_KEY_UNIQUE, 'i', false);
    eval(inc, t, 1, out);
    T_EQ_INT(out[0].status, P2D_PRECHECK_PASS);

    /* keyless (Duplicate) without FULL: FAIL under "keyless tables" only */
    t[0] = table("nk_default", P2D_KEY_NONE, 'd', false);
    t[1] = table("nk_nothing", P2D_KEY_NONE, 'n', false);
    t[2] = table("nk_full", P2D_KEY_NONE, 'f', false);
    T_EQ_INT(eval(inc, t, 3, out), 3);
    T_EQ_INT(out[0].status, P2D_PRECHECK_PASS);
    T_EQ_INT(out[1].status, P2D_PRECHECK_FAIL);
    T_HAS_STR(out[1].finding, "2 table(s)");
    T_HAS_STR(out[1].finding, "\"public.nk_default\", \"public.nk_nothing\"");
    T_CHECK(strstr(out[1].finding, "nk_full") == NULL);
    T_HAS_STR(out[1].hint, "ALTER TABLE \"public\".\"nk_default\" REPLICA IDENTITY FULL");
    /* for a full load the same tables are only an identity warning */
    T_EQ_INT(eval(full, t, 3, out), 1);
    T_EQ_INT(out[0].status, P2D_PRECHECK_WARN);
    T_HAS_STR(out[0].finding, "2 table(s)");

    /* Unique with TOAST-able columns: PASS with the partial-update note;
     * FULL needs no note; Duplicate tables are not listed there */
    t[0] = table("toasty", P2D_KEY_PRIMARY, 'd', true);
    t[1] = table("toasty_full", P2D_KEY_PRIMARY, 'f', true);
    t[2] = table("nk_toast_full", P2D_KEY_NONE, 'f', true);
    T_EQ_INT(eval(inc, t, 3, out), 3);
    T_EQ_INT(out[0].status, P2D_PRECHECK_PASS);
    T_EQ_INT(out[1].status, P2D_PRECHECK_PASS);
    T_EQ_INT(out[2].status, P2D_PRECHECK_PASS);
    T_HAS_STR(out[2].finding, "1 table(s)");
    T_HAS_STR(out[2].finding, "\"public.toasty\"");
    T_HAS_STR(out[2].finding, "partial-column update");
    T_HAS_STR(out[2].finding, "merge-on-write");
    T_HAS_STR(out[2].finding, "read from the source under the new key");
    T_HAS_STR(out[2].finding, "REPLICA IDENTITY FULL avoids both");
    T_CHECK(strstr(out[2].finding, "toasty_full") == NULL);
    T_CHECK(strstr(out[2].finding, "nk_toast") == NULL);
    /* a table without an identity is reported there, not as TOAST */
    t[0] = table("toasty_nothing", P2D_KEY_PRIMARY, 'n', true);
    eval(inc, t, 1, out);
    T_EQ_INT(out[0].status, P2D_PRECHECK_FAIL);
    T_CHECK(strstr(out[2].finding, "toasty_nothing") == NULL);

    /* schema only: the items are computed like a full load's; precheck_run
     * then relaxes them (no publication is made) */
    t[0] = table("nothing", P2D_KEY_PRIMARY, 'n', false);
    T_EQ_INT(eval(schema_only, t, 1, out), 1);
    T_EQ_INT(out[0].status, P2D_PRECHECK_WARN);

    /* partitioned roots are judged by their leaves */
    {
        struct p2d_partition leaves[2];

        memset(leaves, 0, sizeof(leaves));
        leaves[0].schema = "public";
        leaves[0].name = "p_2024";
        leaves[0].relkind = 'r';
        leaves[0].replident = 'f';
        leaves[1] = leaves[0];
        leaves[1].name = "p_2025";
        leaves[1].replident = 'd';
        /* keyless root FULL is not enough: leaf p_2025 is DEFAULT */
        t[0] = table("p", P2D_KEY_NONE, 'f', false);
        t[0].relkind = 'p';
        t[0].partitions = leaves;
        t[0].npartitions = 2;
        eval(inc, t, 1, out);
        T_EQ_INT(out[1].status, P2D_PRECHECK_FAIL);
        T_HAS_STR(out[1].finding, "\"public.p\"");
        T_HAS_STR(out[1].hint, "\"public\".\"p_2025\"");
        /* every leaf FULL: fine whatever the root says */
        leaves[1].replident = 'f';
        t[0].replident = 'd';
        eval(inc, t, 1, out);
        T_EQ_INT(out[0].status, P2D_PRECHECK_PASS);
        T_EQ_INT(out[1].status, P2D_PRECHECK_PASS);
        /* keyed root: a leaf's DEFAULT uses the inherited primary key, its
         * NOTHING does not */
        t[0] = table("pk_p", P2D_KEY_PRIMARY, 'd', false);
        t[0].relkind = 'p';
        t[0].partitions = leaves;
        t[0].npartitions = 2;
        leaves[0].replident = 'd';
        leaves[1].replident = 'n';
        eval(inc, t, 1, out);
        T_EQ_INT(out[0].status, P2D_PRECHECK_FAIL);
        T_HAS_STR(out[0].finding, "\"public.pk_p\"");
        T_HAS_STR(out[0].hint, "\"public\".\"p_2025\"");
        leaves[1].replident = 'd';
        eval(inc, t, 1, out);
        T_EQ_INT(out[0].status, P2D_PRECHECK_PASS);
    }

    /* the job file decides the model: "engine": "duplicate" on a keyed
     * table needs FULL; a "key" on a keyless table makes it Unique, which
     * then needs an identity (DEFAULT without a primary key is none) */
    {
        struct p2d_job *dup = job_for(NULL, "{\"version\": 1, \"tables\": {\"public.keyed\": "
                                            "{\"engine\": \"duplicate\"}}}");
        struct p2d_job *keyed = job_for(NULL, "{\"version\": 1, \"tables\": {\"public.loose\": "
                                              "{\"key\": [\"id\"]}}}");

        t[0] = table("keyed", P2D_KEY_PRIMARY, 'd', false);
        eval(dup, t, 1, out);
        T_EQ_INT(out[1].status, P2D_PRECHECK_FAIL);
        T_HAS_STR(out[1].finding, "\"public.keyed\"");
        t[0] = table("loose", P2D_KEY_NONE, 'd', true);
        eval(keyed, t, 1, out);
        T_EQ_INT(out[1].status, P2D_PRECHECK_PASS);
        T_EQ_INT(out[0].status, P2D_PRECHECK_FAIL);
        T_HAS_STR(out[0].hint, "REPLICA IDENTITY FULL");
        t[0].replident = 'f';
        eval(keyed, t, 1, out);
        T_EQ_INT(out[0].status, P2D_PRECHECK_PASS);
        T_CHECK(strstr(out[2].finding, "loose") == NULL);
        p2d_job_destroy(dup);
        p2d_job_destroy(keyed);
    }
    p2d_job_destroy(inc);
    p2d_job_destroy(full);
    p2d_job_destroy(schema_only);
}

int main(void)
{
    struct p2d_precheck_item it;

    p2d_precheck_eval_wal_level("logical", &it);
    T_EQ_INT(it.status, P2D_PRECHECK_PASS);
    T_EQ_STR(it.item, "wal_level");
    static const char *const bad[] = {"replica", "minimal", "", "Logical"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p2d_precheck_eval_wal_level(bad[i], &it);
        T_EQ_INT(it.status, P2D_PRECHECK_FAIL);
        T_HAS_STR(it.hint, "ALTER SYSTEM SET wal_level = logical");
        T_HAS_STR(it.hint, "restart");
    }
    p2d_precheck_eval_wal_level("replica", &it);
    T_HAS_STR(it.finding, "\"replica\"");
    p2d_precheck_eval_wal_level(NULL, &it);
    T_EQ_INT(it.status, P2D_PRECHECK_FAIL);

    static const struct {
        int version;
        enum p2d_precheck_status want;
    } versions[] = {{90624, P2D_PRECHECK_FAIL},
                    {100000, P2D_PRECHECK_PASS},
                    {130011, P2D_PRECHECK_PASS},
                    {170002, P2D_PRECHECK_PASS},
                    {180000, P2D_PRECHECK_FAIL}};
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        p2d_precheck_eval_version(versions[i].version, &it);
        T_EQ_INT(it.status, versions[i].want);
    }

    p2d_precheck_eval_replication("u", true, false, "", &it);
    T_EQ_INT(it.status, P2D_PRECHECK_PASS);
    p2d_precheck_eval_replication("u", false, true, "", &it);
    T_EQ_INT(it.status, P2D_PRECHECK_PASS);
    p2d_precheck_eval_replication("u", false, false, "rds_replication", &it);
    T_EQ_INT(it.status, P2D_PRECHECK_WARN);
    T_HAS_STR(it.finding, "rds_replication");
    p2d_precheck_eval_replication("app", false, false, "", &it);
    T_EQ_INT(it.status, P2D_PRECHECK_FAIL);
    T_HAS_STR(it.hint, "ALTER ROLE \"app\" REPLICATION");

    p2d_precheck_eval_capacity("replication slots", "max_replication_slots", 3, 10, 1, &it);
    T_EQ_INT(it.status, P2D_PRECHECK_PASS);
    T_HAS_STR(it.finding, "7 free");
    p2d_precheck_eval_capacity("replication slots", "max_replication_slots", 9, 10, 1, &it);
    T_EQ_INT(it.status, P2D_PRECHECK_WARN);
    p2d_precheck_eval_capacity("wal senders", "max_wal_senders", 10, 10, 1, &it);
    T_EQ_INT(it.status, P2D_PRECHECK_FAIL);
    T_HAS_STR(it.hint, "max_wal_senders");
    p2d_precheck_eval_capacity("wal senders", "max_wal_senders", 12, 10, 1, &it);
    T_EQ_INT(it.status, P2D_PRECHECK_FAIL);
    T_HAS_STR(it.finding, "0 free");
    T_EQ_STR(p2d_precheck_status_name(P2D_PRECHECK_WARN), "WARN");

    identity_items();
    return t_done();
}
