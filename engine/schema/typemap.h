/*
 * typemap.h - maps a PostgreSQL column to its Doris column type and to the
 * value rule the encoder applies to PostgreSQL's text output of that type.
 * Pure: no I/O, no globals. The full table, with the reasons behind each
 * choice, is docs/type-mapping.md; keep the two in step.
 *
 * Every rule keeps the value exact, except the documented cases listed
 * under enum p2d_issue_kind, which are reported value by value.
 */
#ifndef P2D_TYPEMAP_H
#define P2D_TYPEMAP_H

#include <stdbool.h>
#include <stdint.h>

/* How PostgreSQL's text output becomes the Doris text value. */
enum p2d_value_rule {
    P2D_VR_TEXT,        /* any bytes, copied exactly; a string in JSON */
    P2D_VR_INT,         /* integer text, copied; a JSON number */
    P2D_VR_DECIMAL,     /* numeric into DECIMAL: NaN / ±Infinity -> NULL, reported */
    P2D_VR_FLOAT,       /* float4/8 into DOUBLE: NaN / ±Infinity -> NULL, reported */
    P2D_VR_BOOL,        /* 't' / 'f' -> 1 / 0 (JSON true / false) */
    P2D_VR_DATE,        /* date into DATE: ±infinity, BC, year > 9999 clamped, reported */
    P2D_VR_TIMESTAMP,   /* timestamp into DATETIME(p): as DATE, plus clamps with p digits */
    P2D_VR_TIMESTAMPTZ, /* timestamptz (session TimeZone=UTC) into DATETIME(p): "+00" cut */
    P2D_VR_JSON,        /* json / jsonb into JSON: embedded as JSON, not as a string */
};

/* What happened to a value that could not land exactly. */
enum p2d_issue_kind {
    P2D_ISSUE_NAN,      /* NaN / Infinity where Doris has no such value */
    P2D_ISSUE_INFINITY, /* date/timestamp ±infinity */
    P2D_ISSUE_BC,       /* date/timestamp before year 1 AD */
    P2D_ISSUE_YEAR,     /* date/timestamp after year 9999 */
    P2D_ISSUE_TOO_LONG, /* longer than the Doris VARCHAR(n) it must fit */
    P2D_ISSUE_BAD_TEXT, /* not the text PostgreSQL prints for the type */
    P2D_ISSUE_BAD_UTF8, /* invalid UTF-8 in a JSON body (JSON needs UTF-8) */
};

enum p2d_issue_action {
    P2D_ACTION_CLAMPED,  /* replaced by the nearest Doris value */
    P2D_ACTION_NULLED,   /* written as NULL */
    P2D_ACTION_REPLACED, /* invalid bytes replaced by U+FFFD */
    P2D_ACTION_REJECTED, /* the row was not written (the caller stops the table) */
};

/* A PostgreSQL column as the catalog (or a pgoutput Relation + Type) gives it. */
struct p2d_pgcol {
    uint32_t type_oid;          /* the column's type OID (the domain's, for a domain) */
    const char *type_name;      /* pg_type.typname of the base type: "int4", "numeric" */
    const char *domain_name;    /* the domain's name, NULL when not a domain */
    char typtype;               /* of the base type: 'b' base, 'e' enum, 'r' range,
                                   'm' multirange, 'c' composite ('d' is resolved away) */
    char typcategory;           /* pg_type.typcategory of the base: 'A' array, ... */
    int32_t typmod;             /* atttypmod, -1 for none */
    const char *elem_type_name; /* array element typname, NULL when not an array */
    bool attnotnull;
};

/* The Doris side of one column. Plain value, no pointers. */
struct p2d_dcol {
    char type[24];            /* Doris type text: "DECIMAL(18,2)", "VARCHAR(400)" */
    enum p2d_value_rule rule; /* value rule for the encoder */
    uint32_t max_bytes;       /* value byte limit the encoder checks (0: none) */
    uint8_t scale;            /* fraction digits of DATETIME(p) / DECIMAL(p,s) */
    bool nullable;            /* Doris column NULL: PG nullable, or the rule may null */
    bool key_substituted;     /* is_key and the natural type is banned as a key */
    const char *note;         /* static text: why this mapping (for logs, DDL comments) */
};

/*
 * Maps col to out. is_key asks for the key form: Doris bans FLOAT/DOUBLE,
 * STRING and JSON keys, so those columns get the documented substitute
 * (VARCHAR holding the exact text) and key_substituted is set. Returns 0,
 * or P2D_EINVAL when col has no type name. Never fails for an unknown type:
 * unknown types map to STRING with the exact text. Borrows col until return.
 */
int p2d_typemap_map(const struct p2d_pgcol *col, bool is_key, struct p2d_dcol *out)
    __attribute__((warn_unused_result));

/* Names for logs and reports; never NULL. */
const char *p2d_typemap_rule_name(enum p2d_value_rule rule);
const char *p2d_typemap_issue_name(enum p2d_issue_kind kind);
const char *p2d_typemap_action_name(enum p2d_issue_action action);

#endif
