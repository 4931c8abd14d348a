/*
 * catalog_test.c - the catalog of a real PostgreSQL 15 database: tables in
 * order, columns with domains and arrays resolved, keys (primary, composite,
 * unique-index-only, none), replica identity, partitions with nested leaves,
 * names that need mapping; the PG 10 / 11 queries give the same answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2d_error.h"
#include "schema/catalog.h"
#include "source_db.h"
#include "testlib.h"

static const struct p2d_column *column(const struct p2d_table *t, const char *name)
{
    int i = t ? p2d_catalog_column_index(t, name) : -1;

    T_CHECK(i >= 0);
    return i >= 0 ? &t->columns[i] : NULL;
}

static void check_catalog(const struct p2d_catalog *cat)
{
    const struct p2d_table *t;
    const struct p2d_column *c;
    static const char *const order[] = {"Größe", "all_types", "comp", "nokey", "parted", "uniq"};

    T_EQ_INT(cat->ntables, 6);
    for (size_t i = 0; i < 6 && i < cat->ntables; i++) {
        T_EQ_STR(cat->tables[i].schema, "app");
        T_EQ_STR(cat->tables[i].name, order[i]);
    }

    t = p2d_catalog_find(cat, "app", "all_types");
    T_CHECK(t != NULL);
    if (!t)
        return;
    T_EQ_INT(t->ncolumns, 33);
    T_EQ_INT(t->key_kind, P2D_KEY_PRIMARY);
    T_EQ_INT(t->nkey, 1);
    T_EQ_STR(t->columns[t->key[0]].name, "id");
    T_EQ_INT(t->columns[0].key_position, 1);
    T_EQ_STR(t->key_index, "all_types_pkey");
    T_EQ_INT(t->replident, 'd');
    T_CHECK(t->has_toastable);
    T_EQ_INT(t->relkind, 'r');
    T_CHECK(t->name_problems == NULL);
    if ((c = column(t, "id"))) {
        T_EQ_STR(c->type_name, "int8");
        T_HAS_STR(c->default_expr, "nextval(");
        T_CHECK(c->not_null);
        T_EQ_INT(c->attnum, 1);
    }
    if ((c = column(t, "vc"))) {
        T_EQ_STR(c->type_display, "character varying(20)");
        T_EQ_INT(c->typmod, 24);
        T_CHECK(c->not_null);
        T_CHECK(c->toastable);
    }
    if ((c = column(t, "t")))
        T_CHECK(!c->not_null);
    if ((c = column(t, "pr"))) {
        T_EQ_STR(c->domain_name, "price");
        T_EQ_STR(c->type_name, "numeric");
        T_EQ_INT(c->typmod, ((10 << 16) | 2) + 4);
        T_CHECK(c->domain_not_null);
        T_CHECK(!c->not_null);
        T_EQ_STR(c->type_display, "price");
    }
    if ((c = column(t, "arr"))) {
        T_EQ_INT(c->typcategory, 'A');
        T_EQ_STR(c->elem_type_name, "int4");
        T_EQ_STR(c->type_name, "_int4");
    }
    if ((c = column(t, "en"))) {
        T_EQ_INT(c->typtype, 'e');
        T_CHECK(c->domain_name == NULL);
    }
    if ((c = column(t, "ts")))
        T_EQ_INT(c->typmod, 3);
    if ((c = column(t, "i"))) {
        T_CHECK(!c->toastable);
        T_CHECK(c->elem_type_name == NULL);
    }

    t = p2d_catalog_find(cat, "app", "comp");
    if (t) {
        T_EQ_INT(t->nkey, 2);
        T_EQ_STR(t->columns[t->key[0]].name, "b");
        T_EQ_STR(t->columns[t->key[1]].name, "a");
        T_EQ_INT(t->columns[1].key_position, 1);
    }
    t = p2d_catalog_find(cat, "app", "uniq");
    if (t) {
        /* uniq_w has fewer columns but a NULL-able one; uniq_part is partial */
        T_EQ_INT(t->key_kind, P2D_KEY_UNIQUE);
        T_EQ_STR(t->key_index, "uniq_xy");
        T_EQ_INT(t->nkey, 2);
        T_EQ_INT(t->replident, 'i');
        T_EQ_STR(t->replident_index, "uniq_xy");
    }
    t = p2d_catalog_find(cat, "app", "nokey");
    if (t) {
        T_EQ_INT(t->key_kind, P2D_KEY_NONE);
        T_EQ_INT(t->nkey, 0);
        T_CHECK(t->key_index == NULL);
        T_EQ_INT(t->npartitions, 0);
    }
    t = p2d_catalog_find(cat, "app", "parted");
    if (t) {
        T_EQ_INT(t->relkind, 'p');
        T_EQ_INT(t->key_kind, P2D_KEY_PRIMARY);
        T_EQ_INT(t->npartitions, 2);
        if (t->npartitions == 2) {
            T_EQ_STR(t->partitions[0].name, "parted_2024");
            T_EQ_STR(t->partitions[1].name, "parted_2025_h1");
            T_EQ_INT(t->partitions[0].est_rows, 100);
            T_CHECK(t->partitions[0].bytes > 0);
        }
        T_EQ_INT(t->est_rows, 100);
        T_CHECK(t->bytes > 0);
    }
    t = p2d_catalog_find(cat, "app", "Größe");
    if (t) {
        T_CHECK(t->name_problems != NULL);
        T_HAS_STR(t->name_problems, "would land as Doris table \"Größe\"");
        T_HAS_STR(t->name_problems, "\"tables\": {\"app.Größe\": {\"name\": \"...\"}}");
    }
    T_CHECK(p2d_catalog_find(cat, "app", "parted_2024") == NULL);
    T_CHECK(p2d_catalog_find(cat, "other", "comp") == NULL);
}

int main(void)
{
    PGconn *conn = source_db_setup();
    struct p2d_job *job = source_db_job("dw", "--include app.*", NULL);
    struct p2d_catalog *cat = NULL;
    struct p2d_pg_error err;
    static const int versions[] = {0, 110000, 100000};

    for (size_t v = 0; v < 3; v++) {
        int rc = p2d_catalog_read(conn, job, versions[v], &cat, &err);

        T_EQ_INT(rc, 0);
        if (rc != 0) {
            fprintf(stderr, "catalog read (version %d) failed: %s\n", versions[v], err.message);
            continue;
        }
        check_catalog(cat);
        p2d_catalog_destroy(cat);
    }

    /* exclude wins; a bare pattern means any schema */
    p2d_job_destroy(job);
    job = source_db_job("dw", "--include comp --exclude app.*", NULL);
    T_EQ_INT(p2d_catalog_read(conn, job, 0, &cat, &err), 0);
    if (cat) {
        T_EQ_INT(cat->ntables, 1);
        if (cat->ntables == 1)
            T_EQ_STR(cat->tables[0].schema, "other");
        p2d_catalog_destroy(cat);
    }

    /* too old a server */
    T_EQ_INT(p2d_catalog_read(conn, job, 90600, &cat, &err), P2D_ESOURCE);
    T_CHECK(cat == NULL);
    T_HAS_STR(err.message, "the source server version 90600 is not supported");
    p2d_job_destroy(job);
    PQfinish(conn);
    return t_done();
}
