/*
 * plan_test.c - range plans against a real PostgreSQL 15, inside the
 * holder's snapshot: for integer, composite, text, uuid keys, a table
 * without a key, a partitioned table, skewed data, empty and one-row
 * tables, the union of the ranges read under S2 equals the table as of the
 * snapshot (row count and a checksum), ranges are open at both ends, and
 * every COPY statement runs and yields exactly its range's rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "p2d_error.h"
#include "snapshot/pgconn.h"
#include "snapshot/plan.h"
#include "snapshot/slot.h"
#include "engine_it.h"
#include "testlib.h"

static PGconn *admin, *reader;

/* Two numbers from one row ("count, checksum"). */
static void two_values(PGconn *c, const char *sql, long long *a, char *b, size_t blen)
{
    struct p2d_pg_error e;
    PGresult *r;

    *a = -1;
    b[0] = '\0';
    if (p2d_pg_exec(c, sql, "test query", &r, &e) != 0) {
        t_fail_at(__FILE__, __LINE__, "%s: %s", sql, e.message);
        return;
    }
    *a = atoll(PQgetvalue(r, 0, 0));
    snprintf(b, blen, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
}

/* Runs a COPY and counts its rows. */
static long long copy_rows(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long long n = 0;
    char *buf;
    int len;

    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        t_fail_at(__FILE__, __LINE__, "%s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    while ((len = PQgetCopyData(c, &buf, 0)) > 0) {
        n++;
        PQfreemem(buf);
    }
    r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        n = -1;
    PQclear(r);
    while ((r = PQgetResult(c)) != NULL)
        PQclear(r);
    return n;
}

struct expect {
    const char *table;
    const char *const *keys;
    size_t nkeys;
    enum p2d_plan_strategy strategy;
    enum p2d_plan_method method; /* of the ranges (every leaf) */
    size_t min_ranges;
    size_t leaves;
    const char *filter;
};

/* Plans one table and checks that the ranges read under S2 add up to it. */
static void check_table(PGconn *holder, const struct expect *x)
{
    struct p2d_plan_opts o = {.schema = "public",
                              .table = x->table,
                              .key_columns = x->keys,
                              .nkeys = x->nkeys,
                              .filter = x->filter,
                              .rows_per_range = 1000,
                              .strategy = x->strategy};
    struct p2d_plan plan;
    struct p2d_pg_error e;
    char sql[8192], want_sum[64], got_sum_s[64];
    long long want_n, got_n = 0, copied = 0, n;
    double got_sum = 0;
    size_t i;
    bool methods_ok = true, open_ends = true, first_of_leaf;
    int rc;

    p2d_plan_init(&plan);
    rc = p2d_plan_table(holder, &o, &plan, &e);
    T_EQ_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", x->table, e.message);
        p2d_plan_fini(&plan);
        return;
    }
    T_EQ_INT(plan.nleaves, x->leaves);
    T_CHECK(plan.nranges >= x->min_ranges);
    if (plan.nranges < x->min_ranges)
        fprintf(stderr, "%s: %zu ranges, want at least %zu\n", x->table, plan.nranges,
                x->min_ranges);
    for (i = 0; i < plan.nranges; i++) {
        const struct p2d_plan_range *r = &plan.ranges[i];
        bool last_of_leaf = i + 1 == plan.nranges || strcmp(plan.ranges[i + 1].leaf, r->leaf);

        first_of_leaf = i == 0 || strcmp(plan.ranges[i - 1].leaf, r->leaf);
        if (r->method != x->method) {
            methods_ok = false;
            fprintf(stderr, "%s: range %zu method %s, want %s (%s)\n", x->table, i,
                    p2d_plan_method_name(r->method), p2d_plan_method_name(x->method), r->predicate);
        }
        /* first of a leaf has no lower bound, last no upper bound */
        if (first_of_leaf && strstr(r->predicate, ">="))
            open_ends = false;
        if (last_of_leaf && strstr(r->predicate, " < "))
            open_ends = false;
        snprintf(sql, sizeof(sql),
                 "SELECT count(*), coalesce(sum(hashtext(t::text)::float8), 0) FROM "
                 "(SELECT * FROM ONLY %s WHERE %s%s%s%s) t",
                 r->leaf, r->predicate, x->filter ? " AND (" : "", x->filter ? x->filter : "",
                 x->filter ? ")" : "");
        two_values(reader, sql, &n, got_sum_s, sizeof(got_sum_s));
        got_n += n;
        got_sum += atof(got_sum_s);
        copied += copy_rows(reader, r->copy_sql);
        if (x->filter && !strstr(r->copy_sql, x->filter))
            open_ends = false;
    }
    T_CHECK(methods_ok);
    T_CHECK(open_ends);
    snprintf(sql, sizeof(sql),
             "SELECT count(*), coalesce(sum(hashtext(t::text)::float8), 0) FROM public.%s t%s%s",
             x->table, x->filter ? " WHERE " : "", x->filter ? x->filter : "");
    two_values(reader, sql, &want_n, want_sum, sizeof(want_sum));
    T_EQ_INT(got_n, want_n);
    T_EQ_INT(copied, want_n);
    T_CHECK(got_sum == atof(want_sum));
    if (got_n != want_n || got_sum != atof(want_sum))
        fprintf(stderr, "%s: union %lld rows sum %.0f, table %lld rows sum %s\n", x->table, got_n,
                got_sum, want_n, want_sum);
    p2d_plan_fini(&plan);
}

/*
 * CHANGES ranges: planned in the cut's snapshot, one after each leaf split
 * by ctid (none for key ranges), they select, read later outside it, the
 * rows inserted or updated after the cut (main() makes 500 inserts into
 * int_pk, 3000 into nokey, 500 into parted, and updates 5500 rows of
 * skewed), and nothing of what the cut saw.
 */
static void check_changes(PGconn *holder)
{
    static const char *const k_id[] = {"id"};
    struct {
        const char *table;
        const char *const *keys;
        enum p2d_plan_strategy strategy;
        size_t nchanges;   /* CHANGES ranges: one per leaf split by ctid or partition */
        long long changed; /* rows they read after the cut, together */
        int64_t rows_per_range;
    } cases[] = {
        {"int_pk", k_id, P2D_PLAN_AUTO, 1, 500, 1000},
        {"skewed", k_id, P2D_PLAN_AUTO, 1, 5500, 1000},
        {"nokey", NULL, P2D_PLAN_AUTO, 1, 3000, 1000},
        {"int_pk", k_id, P2D_PLAN_KEY, 0, 0, 1000},
        {"int_pk", k_id, P2D_PLAN_AUTO, 0, 0, 1000000}, /* one range: read again whole */
        {"parted", NULL, P2D_PLAN_AUTO, 4, 500, 1000},
        {"parted", NULL, P2D_PLAN_AUTO, 4, 500, 1000000}, /* leaves not split */
    };
    struct p2d_pg_error e;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct p2d_plan_opts o = {.schema = "public",
                                  .table = cases[i].table,
                                  .key_columns = cases[i].keys,
                                  .nkeys = cases[i].keys ? 1 : 0,
                                  .rows_per_range = cases[i].rows_per_range,
                                  .strategy = cases[i].strategy,
                                  .changed_since = true};
        char v[32];
        struct p2d_plan plan;
        size_t nchanges = 0;
        long long changed = 0;

        T_EQ_INT(p2d_pg_query_value(holder,
                                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint "
                                    "% 4294967296",
                                    "xmin", v, sizeof(v), NULL, &e),
                 0);
        o.changed_since_xid = (uint32_t)strtoull(v, NULL, 10);
        p2d_plan_init(&plan);
        T_EQ_INT(p2d_plan_table(holder, &o, &plan, &e), 0);
        for (size_t r = 0; r < plan.nranges; r++) {
            bool last_of_leaf =
                r + 1 == plan.nranges || strcmp(plan.ranges[r + 1].leaf, plan.ranges[r].leaf);

            if (plan.ranges[r].method != P2D_PLAN_M_CHANGES)
                continue;
            nchanges++;
            T_CHECK(last_of_leaf && r > 0 &&
                    (plan.ranges[r - 1].method == P2D_PLAN_M_CTID ||
                     plan.ranges[r - 1].method == P2D_PLAN_M_WHOLE));
            changed += copy_rows(admin, plan.ranges[r].copy_sql); /* outside the snapshot */
        }
        if (nchanges != cases[i].nchanges || changed != cases[i].changed)
            fprintf(stderr, "%s: %zu changes ranges reading %lld rows, want %zu and %lld\n",
                    cases[i].table, nchanges, changed, cases[i].nchanges, cases[i].changed);
        T_EQ_INT(nchanges, cases[i].nchanges);
        T_EQ_INT(changed, cases[i].changed);
        p2d_plan_fini(&plan);
    }
}

static const char *const k_id[] = {"id"};
static const char *const k_ab[] = {"a", "b"};
static const char *const k_t[] = {"t"};

static void setup(void)
{
    it_pg_ok(admin, "CREATE TABLE int_pk (id bigint PRIMARY KEY, v int)");
    it_pg_ok(admin, "INSERT INTO int_pk SELECT g, g % 7 FROM generate_series(1, 10000) g");
    it_pg_ok(admin, "CREATE TABLE comp_pk (a text, b int, v text, PRIMARY KEY (a, b))");
    it_pg_ok(admin, "INSERT INTO comp_pk SELECT 'k' || (g % 13), g, md5(g::text) "
                    "FROM generate_series(1, 6000) g");
    /* mixed case and accents: C and linguistic orders differ */
    it_pg_ok(admin, "CREATE TABLE text_pk (t text COLLATE \"C\" PRIMARY KEY, v int)");
    it_pg_ok(admin, "INSERT INTO text_pk SELECT CASE g % 3 WHEN 0 THEN upper(md5(g::text)) "
                    "WHEN 1 THEN md5(g::text) ELSE 'é' || md5(g::text) END, g "
                    "FROM generate_series(1, 6000) g");
    it_pg_ok(admin, "CREATE TABLE uuid_pk (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), v int)");
    it_pg_ok(admin, "INSERT INTO uuid_pk (v) SELECT g FROM generate_series(1, 6000) g");
    it_pg_ok(admin, "CREATE TABLE nokey (a int, b text)");
    it_pg_ok(admin, "INSERT INTO nokey SELECT g % 10, repeat('x', g % 50) "
                    "FROM generate_series(1, 8000) g");
    it_pg_ok(admin, "CREATE TABLE parted (id int, r int, v text, PRIMARY KEY (id, r)) "
                    "PARTITION BY RANGE (r)");
    it_pg_ok(admin, "CREATE TABLE parted_a PARTITION OF parted FOR VALUES FROM (0) TO (10)");
    it_pg_ok(admin, "CREATE TABLE parted_b PARTITION OF parted FOR VALUES FROM (10) TO (20) "
                    "PARTITION BY RANGE (r)");
    it_pg_ok(admin, "CREATE TABLE parted_b1 PARTITION OF parted_b FOR VALUES FROM (10) TO (15)");
    it_pg_ok(admin, "CREATE TABLE parted_b2 PARTITION OF parted_b FOR VALUES FROM (15) TO (20)");
    it_pg_ok(admin, "CREATE TABLE parted_d PARTITION OF parted DEFAULT");
    it_pg_ok(admin, "INSERT INTO parted SELECT g, g % 25, md5(g::text) "
                    "FROM generate_series(1, 9000) g");
    /* 90% dense at the bottom, 10% spread up to 10^12 */
    it_pg_ok(admin, "CREATE TABLE skewed (id bigint PRIMARY KEY, v int)");
    it_pg_ok(admin, "INSERT INTO skewed SELECT g, 1 FROM generate_series(1, 9000) g");
    it_pg_ok(admin,
             "INSERT INTO skewed SELECT 1000000000::bigint * g, 2 FROM generate_series(1, 1000) g");
    it_pg_ok(admin, "CREATE TABLE empty_pk (id int PRIMARY KEY)");
    it_pg_ok(admin, "CREATE TABLE one_row (id int PRIMARY KEY)");
    it_pg_ok(admin, "INSERT INTO one_row VALUES (42)");
    it_pg_ok(admin, "ANALYZE");
}

int main(void)
{
    static const struct p2d_slot_table tables[] = {
        {"public", "int_pk"},  {"public", "comp_pk"},  {"public", "text_pk"},
        {"public", "uuid_pk"}, {"public", "nokey"},    {"public", "parted"},
        {"public", "skewed"},  {"public", "empty_pk"}, {"public", "one_row"}};
    static const struct expect cases[] = {
        {"int_pk", k_id, 1, P2D_PLAN_KEY, P2D_PLAN_M_INT_STEPS, 10, 1, NULL},
        {"int_pk", k_id, 1, P2D_PLAN_AUTO, P2D_PLAN_M_CTID, 5, 1, NULL},
        {"int_pk", k_id, 1, P2D_PLAN_KEY, P2D_PLAN_M_INT_STEPS, 10, 1, "v % 2 = 0"},
        {"comp_pk", k_ab, 2, P2D_PLAN_KEY, P2D_PLAN_M_NTILE, 5, 1, NULL},
        {"text_pk", k_t, 1, P2D_PLAN_KEY, P2D_PLAN_M_HISTOGRAM, 5, 1, NULL},
        {"uuid_pk", k_id, 1, P2D_PLAN_KEY, P2D_PLAN_M_HISTOGRAM, 5, 1, NULL},
        {"uuid_pk", k_id, 1, P2D_PLAN_AUTO, P2D_PLAN_M_CTID, 3, 1, NULL},
        {"nokey", NULL, 0, P2D_PLAN_AUTO, P2D_PLAN_M_CTID, 3, 1, NULL},
        {"nokey", NULL, 0, P2D_PLAN_KEY, P2D_PLAN_M_CTID, 3, 1, NULL},
        {"parted", k_ab, 0, P2D_PLAN_WHOLE, P2D_PLAN_M_WHOLE, 4, 4, NULL},
        {"skewed", k_id, 1, P2D_PLAN_AUTO, P2D_PLAN_M_CTID, 3, 1, NULL},
        {"skewed", k_id, 1, P2D_PLAN_KEY, P2D_PLAN_M_NTILE, 8, 1, NULL},
        {"empty_pk", k_id, 1, P2D_PLAN_KEY, P2D_PLAN_M_WHOLE, 1, 1, NULL},
        {"one_row", k_id, 1, P2D_PLAN_KEY, P2D_PLAN_M_WHOLE, 1, 1, NULL},
    };
    static const char *const k_id_r[] = {"id", "r"};
    struct p2d_slot_opts so = {
        .tables = tables, .ntables = sizeof(tables) / sizeof(tables[0]), .job_id = "planjob"};
    struct p2d_pg_error e;
    struct p2d_slot *s = NULL;
    char sql[256];
    size_t i;
    bool sd, pd;

    so.conninfo = t_env("P2D_PG_CONNINFO");
    if (p2d_pg_connect(so.conninfo, P2D_PG_SQL, "plan_test", &admin, &e) != 0 ||
        p2d_pg_connect(so.conninfo, P2D_PG_SQL, "plan_test", &reader, &e) != 0) {
        t_fail_at(__FILE__, __LINE__, "connect: %s", e.message);
        return t_done();
    }
    setup();
    if (p2d_slot_create(&so, &s, &e) != 0) {
        t_fail_at(__FILE__, __LINE__, "slot: %s (hint: %s)", e.message, e.hint);
        return t_done();
    }
    /* Changes after the cut must not show in any range. */
    it_pg_ok(admin, "INSERT INTO int_pk SELECT g, 1 FROM generate_series(20001, 20500) g");
    it_pg_ok(admin, "DELETE FROM int_pk WHERE id <= 300");
    it_pg_ok(admin, "INSERT INTO nokey SELECT 1, 'late' FROM generate_series(1, 3000)");
    it_pg_ok(admin,
             "INSERT INTO parted SELECT g, g % 25, 'late' FROM generate_series(9001, 9500) g");
    it_pg_ok(admin, "UPDATE skewed SET v = 3 WHERE id % 2 = 0");

    it_pg_ok(reader, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT '%s'", p2d_slot_cut(s)->snapshot);
    it_pg_ok(reader, sql);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_table(p2d_slot_holder(s), &cases[i]);
    {
        /* the partitioned table by key, leaf by leaf */
        struct expect px = {"parted", k_id_r, 2, P2D_PLAN_KEY, P2D_PLAN_M_NTILE, 8, 4, NULL};
        struct expect pc = {"parted", NULL, 0, P2D_PLAN_AUTO, P2D_PLAN_M_CTID, 4, 4, NULL};

        check_table(p2d_slot_holder(s), &px);
        check_table(p2d_slot_holder(s), &pc);
    }
    {
        /* a missing key column is not trusted: falls back to ctid */
        static const char *const bad[] = {"no_such_column"};
        struct expect bx = {"int_pk", bad, 1, P2D_PLAN_KEY, P2D_PLAN_M_CTID, 3, 1, NULL};

        check_table(p2d_slot_holder(s), &bx);
    }
    check_changes(p2d_slot_holder(s));
    it_pg_ok(reader, "COMMIT");
    T_EQ_INT(p2d_slot_release(s, &e), 0);
    p2d_slot_destroy(s);
    T_EQ_INT(p2d_slot_drop(admin, "planjob", &sd, &pd, &e), 0);
    T_CHECK(sd && pd);
    PQfinish(reader);
    PQfinish(admin);
    return t_done();
}
