/*
 * typemap.c - PostgreSQL column -> Doris column type and value rule.
 *
 * Base types are looked up by typname in one table; numeric, character,
 * bit and timestamp types read their typmod; enums, ranges, composites and
 * arrays are decided by typtype / typcategory. docs/type-mapping.md explains
 * every row. Doris limits come from docs/doris-protocol.md §7.2.
 */
#include "schema/typemap.h"

#include <stdio.h>
#include <string.h>

#include "p2d_error.h"

#define VARCHAR_MAX 65533u /* Doris VARCHAR(M), M in [1, 65533] bytes */
#define DECIMAL_MAX 38     /* Doris DECIMAL(P,S), P in [1, 38] */

/* Typmod-driven types, handled in code. */
enum special {
    SP_NONE,
    SP_NUMERIC,
    SP_CHAR,      /* bpchar(n), varchar(n) */
    SP_BIT,       /* bit(n), varbit(n) */
    SP_TIMESTAMP, /* timestamp(p), timestamptz(p) */
};

struct base_map {
    const char *typname;
    const char *doris;     /* Doris type */
    const char *key_doris; /* substitute when used as a key; NULL: doris itself */
    enum p2d_value_rule rule;
    uint32_t max_bytes;
    enum special special;
    const char *note;
};

static const struct base_map base_maps[] = {
    {"int2", "SMALLINT", NULL, P2D_VR_INT, 0, SP_NONE, "exact"},
    {"int4", "INT", NULL, P2D_VR_INT, 0, SP_NONE, "exact (serial too)"},
    {"int8", "BIGINT", NULL, P2D_VR_INT, 0, SP_NONE, "exact (bigserial too)"},
    {"oid", "BIGINT", NULL, P2D_VR_INT, 0, SP_NONE, "unsigned 32-bit fits BIGINT"},
    {"xid", "BIGINT", NULL, P2D_VR_INT, 0, SP_NONE, "unsigned 32-bit fits BIGINT"},
    {"cid", "BIGINT", NULL, P2D_VR_INT, 0, SP_NONE, "unsigned 32-bit fits BIGINT"},
    {"xid8", "LARGEINT", NULL, P2D_VR_INT, 0, SP_NONE, "unsigned 64-bit fits LARGEINT"},
    {"float4", "DOUBLE", "VARCHAR(32)", P2D_VR_FLOAT, 0, SP_NONE,
     "REAL -> DOUBLE from the shortest exact text; NaN/Infinity -> NULL, reported"},
    {"float8", "DOUBLE", "VARCHAR(32)", P2D_VR_FLOAT, 0, SP_NONE,
     "shortest exact text; NaN/Infinity -> NULL, reported"},
    {"numeric", NULL, NULL, P2D_VR_DECIMAL, 0, SP_NUMERIC, NULL},
    {"money", "STRING", "VARCHAR(64)", P2D_VR_TEXT, 64, SP_NONE,
     "lc_monetary text, exact (seed: STRING)"},
    {"bool", "BOOLEAN", NULL, P2D_VR_BOOL, 0, SP_NONE, "t/f -> 1/0"},
    {"bpchar", NULL, NULL, P2D_VR_TEXT, 0, SP_CHAR, NULL},
    {"varchar", NULL, NULL, P2D_VR_TEXT, 0, SP_CHAR, NULL},
    {"text", "STRING", "VARCHAR(65533)", P2D_VR_TEXT, 0, SP_NONE, "exact"},
    {"citext", "STRING", "VARCHAR(65533)", P2D_VR_TEXT, 0, SP_NONE, "exact"},
    {"name", "VARCHAR(64)", NULL, P2D_VR_TEXT, 64, SP_NONE, "at most 63 bytes"},
    {"char", "VARCHAR(4)", NULL, P2D_VR_TEXT, 4, SP_NONE,
     "\"char\": one byte, printed as \\ooo when >= 0x80"},
    {"bytea", "STRING", "VARCHAR(65533)", P2D_VR_TEXT, 0, SP_NONE,
     "hex text \\x..., exact (bytea_output=hex)"},
    {"date", "DATE", NULL, P2D_VR_DATE, 0, SP_NONE,
     "infinity, BC and years > 9999 clamped, reported"},
    {"timestamp", NULL, NULL, P2D_VR_TIMESTAMP, 0, SP_TIMESTAMP, NULL},
    {"timestamptz", NULL, NULL, P2D_VR_TIMESTAMPTZ, 0, SP_TIMESTAMP, NULL},
    {"time", "VARCHAR(50)", NULL, P2D_VR_TEXT, 50, SP_NONE, "ISO text, exact"},
    {"timetz", "VARCHAR(50)", NULL, P2D_VR_TEXT, 50, SP_NONE, "ISO text with offset, exact"},
    {"interval", "STRING", "VARCHAR(256)", P2D_VR_TEXT, 0, SP_NONE,
     "IntervalStyle=postgres text, exact"},
    {"json", "JSON", "VARCHAR(65533)", P2D_VR_JSON, 0, SP_NONE,
     "JSON document; whitespace between tokens may change"},
    {"jsonb", "JSON", "VARCHAR(65533)", P2D_VR_JSON, 0, SP_NONE, "JSON document"},
    {"jsonpath", "STRING", "VARCHAR(65533)", P2D_VR_TEXT, 0, SP_NONE, "exact"},
    {"uuid", "VARCHAR(36)", NULL, P2D_VR_TEXT, 36, SP_NONE, "canonical text, exact"},
    {"bit", NULL, NULL, P2D_VR_TEXT, 0, SP_BIT, NULL},
    {"varbit", NULL, NULL, P2D_VR_TEXT, 0, SP_BIT, NULL},
    {"inet", "STRING", "VARCHAR(64)", P2D_VR_TEXT, 0, SP_NONE, "text, exact"},
    {"cidr", "STRING", "VARCHAR(64)", P2D_VR_TEXT, 0, SP_NONE, "text, exact"},
    {"macaddr", "STRING", "VARCHAR(32)", P2D_VR_TEXT, 0, SP_NONE, "text, exact"},
    {"macaddr8", "STRING", "VARCHAR(32)", P2D_VR_TEXT, 0, SP_NONE, "text, exact"},
    {"pg_lsn", "VARCHAR(32)", NULL, P2D_VR_TEXT, 32, SP_NONE, "X/X text, exact"},
    {"tid", "VARCHAR(32)", NULL, P2D_VR_TEXT, 32, SP_NONE, "(block,offset), exact"},
};

static const struct base_map *find_base(const char *typname)
{
    for (size_t i = 0; i < sizeof base_maps / sizeof base_maps[0]; i++)
        if (strcmp(base_maps[i].typname, typname) == 0)
            return &base_maps[i];
    return NULL;
}

static void set_type(struct p2d_dcol *out, const char *type)
{
    snprintf(out->type, sizeof out->type, "%s", type);
}

/* STRING value column, or its bounded VARCHAR key substitute. */
static void map_string(struct p2d_dcol *out, bool is_key, enum p2d_value_rule rule,
                       const char *key_type, const char *note)
{
    out->rule = rule;
    out->note = note;
    if (!is_key) {
        set_type(out, rule == P2D_VR_JSON ? "JSON" : "STRING");
        return;
    }
    /* JSON keys are written as their text: a VARCHAR holds the exact bytes */
    set_type(out, key_type ? key_type : "VARCHAR(65533)");
    out->rule = P2D_VR_TEXT;
    out->key_substituted = true;
    out->max_bytes = VARCHAR_MAX;
    if (key_type && strncmp(key_type, "VARCHAR(", 8) == 0) {
        unsigned n = 0;

        if (sscanf(key_type + 8, "%u", &n) == 1 && n > 0)
            out->max_bytes = n;
    }
}

static void map_numeric(const struct p2d_pgcol *col, bool is_key, struct p2d_dcol *out)
{
    int32_t precision, scale;

    if (col->typmod < 4) {
        map_string(out, is_key, P2D_VR_TEXT, NULL,
                   "numeric without precision: up to 131072 digits and NaN/Infinity, exact "
                   "only as text");
        return;
    }
    precision = ((col->typmod - 4) >> 16) & 0xffff;
    /* PostgreSQL 15+ stores the scale as a signed 11-bit field */
    scale = (((col->typmod - 4) & 0x7ff) ^ 1024) - 1024;
    if (scale < 0) {
        /* numeric(5,-2) holds integers up to p - s digits */
        precision -= scale;
        scale = 0;
    } else if (scale > precision) {
        /* numeric(3,5) holds |x| < 10^(p-s): DECIMAL(s,s) */
        precision = scale;
    }
    if (precision < 1 || precision > DECIMAL_MAX) {
        map_string(out, is_key, P2D_VR_TEXT, NULL,
                   "numeric above 38 digits: Doris DECIMAL stops at 38, exact only as text");
        return;
    }
    snprintf(out->type, sizeof out->type, "DECIMAL(%d,%d)", (int)precision, (int)scale);
    out->rule = P2D_VR_DECIMAL;
    out->scale = (uint8_t)scale;
    out->note = "exact; NaN -> NULL, reported";
}

static void map_char(const struct p2d_pgcol *col, bool is_key, struct p2d_dcol *out)
{
    /* typmod = n + 4; n characters of at most 4 bytes in UTF-8 */
    if (col->typmod >= 5 && (uint32_t)(col->typmod - 4) <= VARCHAR_MAX / 4) {
        uint32_t bytes = (uint32_t)(col->typmod - 4) * 4;

        snprintf(out->type, sizeof out->type, "VARCHAR(%u)", bytes);
        out->rule = P2D_VR_TEXT;
        out->max_bytes = bytes;
        out->note = "n characters -> 4n bytes, exact (char(n) keeps its padding)";
        return;
    }
    map_string(out, is_key, P2D_VR_TEXT, NULL, "no length, or 4n > 65533 bytes: STRING, exact");
}

static void map_bit(const struct p2d_pgcol *col, bool is_key, struct p2d_dcol *out)
{
    if (col->typmod >= 1 && (uint32_t)col->typmod <= VARCHAR_MAX) {
        snprintf(out->type, sizeof out->type, "VARCHAR(%d)", (int)col->typmod);
        out->rule = P2D_VR_TEXT;
        out->max_bytes = (uint32_t)col->typmod;
        out->note = "'0'/'1' text, exact";
        return;
    }
    map_string(out, is_key, P2D_VR_TEXT, NULL, "'0'/'1' text, exact");
}

static void map_timestamp(const struct p2d_pgcol *col, const struct base_map *m,
                          struct p2d_dcol *out)
{
    int p = col->typmod >= 0 && col->typmod <= 6 ? col->typmod : 6;

    snprintf(out->type, sizeof out->type, "DATETIME(%d)", p);
    out->rule = m->rule;
    out->scale = (uint8_t)p;
    out->note = m->rule == P2D_VR_TIMESTAMPTZ
                    ? "UTC wall time (session TimeZone=UTC); infinity, BC, years > 9999 "
                      "clamped, reported"
                    : "infinity, BC and years > 9999 clamped, reported";
}

int p2d_typemap_map(const struct p2d_pgcol *col, bool is_key, struct p2d_dcol *out)
{
    const struct base_map *m;

    memset(out, 0, sizeof *out);
    if (!col || !col->type_name || !col->type_name[0])
        return P2D_EINVAL;

    if (col->typcategory == 'A' || col->elem_type_name) {
        map_string(out, is_key, P2D_VR_TEXT, NULL,
                   "array: PostgreSQL array text ({1,2,NULL}), exact");
    } else if (col->typtype == 'e') {
        set_type(out, "VARCHAR(256)");
        out->rule = P2D_VR_TEXT;
        out->max_bytes = 256;
        out->note = "enum label (at most 63 bytes), exact";
    } else if (col->typtype == 'r' || col->typtype == 'm' || col->typtype == 'c') {
        map_string(out, is_key, P2D_VR_TEXT, NULL,
                   col->typtype == 'c' ? "composite: record text, exact"
                                       : "range: range text, exact");
    } else if ((m = find_base(col->type_name)) == NULL) {
        map_string(out, is_key, P2D_VR_TEXT, NULL,
                   "type without a Doris equivalent (geometric, tsvector, xml, extension "
                   "types): text, exact");
    } else if (m->special == SP_NUMERIC) {
        map_numeric(col, is_key, out);
    } else if (m->special == SP_CHAR) {
        map_char(col, is_key, out);
    } else if (m->special == SP_BIT) {
        map_bit(col, is_key, out);
    } else if (m->special == SP_TIMESTAMP) {
        map_timestamp(col, m, out);
    } else if (is_key && m->key_doris) {
        if (m->rule == P2D_VR_FLOAT) {
            set_type(out, m->key_doris);
            out->rule = P2D_VR_TEXT; /* the exact text; NaN stays "NaN" */
            out->max_bytes = 32;
            out->key_substituted = true;
            out->note = "float key: Doris bans FLOAT/DOUBLE keys; VARCHAR of the exact text";
        } else {
            map_string(out, true, m->rule, m->key_doris, m->note);
        }
    } else {
        set_type(out, m->doris);
        out->rule = m->rule;
        out->max_bytes = m->max_bytes;
        out->note = m->note;
    }

    /* A key is never NULL. A value column may be: PostgreSQL allows it, or
     * the rule writes NULL for NaN (a reported NaN must land, not filter). */
    out->nullable =
        !is_key && (!col->attnotnull || out->rule == P2D_VR_DECIMAL || out->rule == P2D_VR_FLOAT);
    return 0;
}

const char *p2d_typemap_rule_name(enum p2d_value_rule rule)
{
    switch (rule) {
    case P2D_VR_TEXT:
        return "text";
    case P2D_VR_INT:
        return "int";
    case P2D_VR_DECIMAL:
        return "decimal";
    case P2D_VR_FLOAT:
        return "float";
    case P2D_VR_BOOL:
        return "bool";
    case P2D_VR_DATE:
        return "date";
    case P2D_VR_TIMESTAMP:
        return "timestamp";
    case P2D_VR_TIMESTAMPTZ:
        return "timestamptz";
    case P2D_VR_JSON:
        return "json";
    }
    return "unknown";
}

const char *p2d_typemap_issue_name(enum p2d_issue_kind kind)
{
    switch (kind) {
    case P2D_ISSUE_NAN:
        return "NaN or Infinity has no Doris value";
    case P2D_ISSUE_INFINITY:
        return "infinity is outside the Doris date range";
    case P2D_ISSUE_BC:
        return "BC date is before the Doris date range";
    case P2D_ISSUE_YEAR:
        return "year after 9999 is outside the Doris date range";
    case P2D_ISSUE_TOO_LONG:
        return "value is longer than the Doris column";
    case P2D_ISSUE_BAD_TEXT:
        return "value is not the text PostgreSQL prints for its type";
    case P2D_ISSUE_BAD_UTF8:
        return "value is not valid UTF-8 (JSON body)";
    }
    return "unknown issue";
}

const char *p2d_typemap_action_name(enum p2d_issue_action action)
{
    switch (action) {
    case P2D_ACTION_CLAMPED:
        return "clamped";
    case P2D_ACTION_NULLED:
        return "written as NULL";
    case P2D_ACTION_REPLACED:
        return "invalid bytes replaced by U+FFFD";
    case P2D_ACTION_REJECTED:
        return "row rejected";
    }
    return "unknown action";
}
