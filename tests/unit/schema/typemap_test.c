/*
 * typemap_test.c - the PostgreSQL -> Doris type table, row by row: Doris
 * type, value rule, key substitute, byte limits and nullability, including
 * typmod decoding (numeric with negative scale or scale > precision,
 * varchar(n) caps, timestamp precision) and the typtype / category paths.
 */
#include <stdio.h>

#include "p2d_error.h"
#include "schema/typemap.h"
#include "testlib.h"

/* typmod helpers as PostgreSQL computes them */
#define NUMERIC_TYPMOD(p, s) ((int32_t)((((p) << 16) | ((s)&0x7ff)) + 4))
#define CHAR_TYPMOD(n)       ((int32_t)((n) + 4))

struct map_case {
    const char *name;
    char typtype;
    char category;
    int32_t typmod;
    const char *elem;
    bool notnull;
    bool is_key;
    /* expected */
    const char *type;
    enum p2d_value_rule rule;
    uint32_t max_bytes;
    int scale;
    bool nullable;
    bool substituted;
};

static const struct map_case cases[] = {
    /* name, typtype, cat, typmod, elem, notnull, key -> type, rule, max, scale, null, subst */
    {"int2", 'b', 'N', -1, NULL, false, false, "SMALLINT", P2D_VR_INT, 0, 0, true, false},
    {"int4", 'b', 'N', -1, NULL, true, false, "INT", P2D_VR_INT, 0, 0, false, false},
    {"int4", 'b', 'N', -1, NULL, true, true, "INT", P2D_VR_INT, 0, 0, false, false},
    {"int8", 'b', 'N', -1, NULL, false, true, "BIGINT", P2D_VR_INT, 0, 0, false, false},
    {"oid", 'b', 'N', -1, NULL, false, false, "BIGINT", P2D_VR_INT, 0, 0, true, false},
    {"xid8", 'b', 'U', -1, NULL, false, false, "LARGEINT", P2D_VR_INT, 0, 0, true, false},
    {"float4", 'b', 'N', -1, NULL, false, false, "DOUBLE", P2D_VR_FLOAT, 0, 0, true, false},
    /* NaN may be nulled, so a NOT NULL float column stays nullable in Doris */
    {"float8", 'b', 'N', -1, NULL, true, false, "DOUBLE", P2D_VR_FLOAT, 0, 0, true, false},
    {"float8", 'b', 'N', -1, NULL, true, true, "VARCHAR(32)", P2D_VR_TEXT, 32, 0, false, true},
    {"numeric", 'b', 'N', NUMERIC_TYPMOD(18, 2), NULL, false, false, "DECIMAL(18,2)",
     P2D_VR_DECIMAL, 0, 2, true, false},
    {"numeric", 'b', 'N', NUMERIC_TYPMOD(38, 10), NULL, true, true, "DECIMAL(38,10)",
     P2D_VR_DECIMAL, 0, 10, false, false},
    {"numeric", 'b', 'N', NUMERIC_TYPMOD(15, 0), NULL, false, false, "DECIMAL(15,0)",
     P2D_VR_DECIMAL, 0, 0, true, false},
    {"numeric", 'b', 'N', NUMERIC_TYPMOD(5, -2), NULL, false, false, "DECIMAL(7,0)", P2D_VR_DECIMAL,
     0, 0, true, false},
    {"numeric", 'b', 'N', NUMERIC_TYPMOD(3, 5), NULL, false, false, "DECIMAL(5,5)", P2D_VR_DECIMAL,
     0, 5, true, false},
    {"numeric", 'b', 'N', NUMERIC_TYPMOD(39, 2), NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0,
     true, false},
    {"numeric", 'b', 'N', NUMERIC_TYPMOD(37, -2), NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0,
     true, false},
    {"numeric", 'b', 'N', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"numeric", 'b', 'N', -1, NULL, true, true, "VARCHAR(65533)", P2D_VR_TEXT, 65533, 0, false,
     true},
    {"money", 'b', 'N', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 64, 0, true, false},
    {"bool", 'b', 'B', -1, NULL, false, false, "BOOLEAN", P2D_VR_BOOL, 0, 0, true, false},
    {"bpchar", 'b', 'S', CHAR_TYPMOD(1), NULL, true, false, "VARCHAR(4)", P2D_VR_TEXT, 4, 0, false,
     false},
    {"varchar", 'b', 'S', CHAR_TYPMOD(100), NULL, false, false, "VARCHAR(400)", P2D_VR_TEXT, 400, 0,
     true, false},
    {"varchar", 'b', 'S', CHAR_TYPMOD(16383), NULL, false, true, "VARCHAR(65532)", P2D_VR_TEXT,
     65532, 0, false, false},
    {"varchar", 'b', 'S', CHAR_TYPMOD(16384), NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true,
     false},
    {"varchar", 'b', 'S', CHAR_TYPMOD(16384), NULL, false, true, "VARCHAR(65533)", P2D_VR_TEXT,
     65533, 0, false, true},
    {"varchar", 'b', 'S', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"text", 'b', 'S', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"text", 'b', 'S', -1, NULL, true, true, "VARCHAR(65533)", P2D_VR_TEXT, 65533, 0, false, true},
    {"bytea", 'b', 'U', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"date", 'b', 'D', -1, NULL, false, false, "DATE", P2D_VR_DATE, 0, 0, true, false},
    {"date", 'b', 'D', -1, NULL, true, true, "DATE", P2D_VR_DATE, 0, 0, false, false},
    {"timestamp", 'b', 'D', -1, NULL, false, false, "DATETIME(6)", P2D_VR_TIMESTAMP, 0, 6, true,
     false},
    {"timestamp", 'b', 'D', 0, NULL, false, false, "DATETIME(0)", P2D_VR_TIMESTAMP, 0, 0, true,
     false},
    {"timestamptz", 'b', 'D', 3, NULL, false, false, "DATETIME(3)", P2D_VR_TIMESTAMPTZ, 0, 3, true,
     false},
    {"timestamptz", 'b', 'D', -1, NULL, true, true, "DATETIME(6)", P2D_VR_TIMESTAMPTZ, 0, 6, false,
     false},
    {"time", 'b', 'D', -1, NULL, false, false, "VARCHAR(50)", P2D_VR_TEXT, 50, 0, true, false},
    {"timetz", 'b', 'D', 2, NULL, false, false, "VARCHAR(50)", P2D_VR_TEXT, 50, 0, true, false},
    {"interval", 'b', 'T', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"json", 'b', 'U', -1, NULL, false, false, "JSON", P2D_VR_JSON, 0, 0, true, false},
    {"jsonb", 'b', 'U', -1, NULL, true, false, "JSON", P2D_VR_JSON, 0, 0, false, false},
    {"jsonb", 'b', 'U', -1, NULL, true, true, "VARCHAR(65533)", P2D_VR_TEXT, 65533, 0, false, true},
    {"uuid", 'b', 'U', -1, NULL, false, true, "VARCHAR(36)", P2D_VR_TEXT, 36, 0, false, false},
    {"bit", 'b', 'V', 8, NULL, false, false, "VARCHAR(8)", P2D_VR_TEXT, 8, 0, true, false},
    {"varbit", 'b', 'V', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"inet", 'b', 'I', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"inet", 'b', 'I', -1, NULL, false, true, "VARCHAR(64)", P2D_VR_TEXT, 64, 0, false, true},
    {"point", 'b', 'G', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"tsvector", 'b', 'U', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"xml", 'b', 'U', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"hstore", 'b', 'U', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"mood", 'e', 'E', -1, NULL, false, true, "VARCHAR(256)", P2D_VR_TEXT, 256, 0, false, false},
    {"int4range", 'r', 'R', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"int4multirange", 'm', 'R', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"mytype", 'c', 'C', -1, NULL, false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"_int4", 'b', 'A', -1, "int4", false, false, "STRING", P2D_VR_TEXT, 0, 0, true, false},
    {"_text", 'b', 'A', -1, "text", false, true, "VARCHAR(65533)", P2D_VR_TEXT, 65533, 0, false,
     true},
    {"name", 'b', 'S', -1, NULL, false, true, "VARCHAR(64)", P2D_VR_TEXT, 64, 0, false, false},
};

static void test_table(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct map_case *c = &cases[i];
        struct p2d_pgcol col = {
            .type_oid = 1,
            .type_name = c->name,
            .typtype = c->typtype,
            .typcategory = c->category,
            .typmod = c->typmod,
            .elem_type_name = c->elem,
            .attnotnull = c->notnull,
        };
        struct p2d_dcol out;
        int rc = p2d_typemap_map(&col, c->is_key, &out);

        if (rc != 0 || strcmp(out.type, c->type) != 0 || out.rule != c->rule ||
            out.max_bytes != c->max_bytes || out.scale != c->scale || out.nullable != c->nullable ||
            out.key_substituted != c->substituted || !out.note)
            t_fail_at(__FILE__, __LINE__,
                      "case %zu %s(typmod %d, key %d): got rc %d type %s rule %s max %u scale %u "
                      "nullable %d subst %d; want type %s rule %s max %u scale %d nullable %d "
                      "subst %d",
                      i, c->name, (int)c->typmod, c->is_key, rc, out.type,
                      p2d_typemap_rule_name(out.rule), out.max_bytes, out.scale, out.nullable,
                      out.key_substituted, c->type, p2d_typemap_rule_name(c->rule), c->max_bytes,
                      c->scale, c->nullable, c->substituted);
        else
            t_passed++;
    }
}

static void test_domain_and_errors(void)
{
    /* a domain over numeric(10,3): the catalog passes the base and the domain name */
    struct p2d_pgcol dom = {.type_oid = 50000,
                            .type_name = "numeric",
                            .domain_name = "price",
                            .typtype = 'b',
                            .typcategory = 'N',
                            .typmod = NUMERIC_TYPMOD(10, 3)};
    struct p2d_pgcol bad = {.type_name = NULL};
    struct p2d_pgcol empty = {.type_name = ""};
    struct p2d_dcol out;

    T_EQ_INT(p2d_typemap_map(&dom, false, &out), 0);
    T_EQ_STR(out.type, "DECIMAL(10,3)");
    T_EQ_INT(out.rule, P2D_VR_DECIMAL);
    T_EQ_INT(p2d_typemap_map(&bad, false, &out), P2D_EINVAL);
    T_EQ_INT(p2d_typemap_map(&empty, false, &out), P2D_EINVAL);
    T_EQ_INT(p2d_typemap_map(NULL, false, &out), P2D_EINVAL);
}

static void test_names(void)
{
    T_EQ_STR(p2d_typemap_rule_name(P2D_VR_TIMESTAMPTZ), "timestamptz");
    T_EQ_STR(p2d_typemap_rule_name((enum p2d_value_rule)99), "unknown");
    T_HAS_STR(p2d_typemap_issue_name(P2D_ISSUE_BC), "BC");
    T_HAS_STR(p2d_typemap_action_name(P2D_ACTION_REJECTED), "rejected");
    for (int k = P2D_ISSUE_NAN; k <= P2D_ISSUE_BAD_UTF8; k++)
        T_CHECK(strcmp(p2d_typemap_issue_name((enum p2d_issue_kind)k), "unknown issue") != 0);
}

int main(void)
{
    test_table();
    test_domain_and_errors();
    test_names();
    return t_done();
}
