/*
 * verify.c - `pg2doris verify` (verify.h): counts, then key-ordered row
 * comparison, or for tables without a key a multiset comparison (its own
 * section below), per selected table.
 *
 * One thread, one PostgreSQL session (a REPEATABLE READ READ ONLY
 * transaction, so counts and pages of one run see one snapshot of the
 * source) and one Doris SQL client. For each page the source gives up to
 * P2D_VERIFY_PAGE_ROWS rows in key order; the destination is asked for the
 * rows whose key lies in the range the page covers (after the previous
 * page's last key, up to this page's last key; open-ended at the ends), in
 * the same order, and the two sorted lists are merged: a key on one side
 * only is a missing or extra row, a key on both sides has its columns
 * compared under the value rules.
 *
 * Sort order must agree on both sides: text-rule keys (text types and the
 * VARCHAR substitutes of float, numeric, JSON keys) sort by their bytes in
 * Doris, so the source sorts them as `col::text COLLATE "C"` (bpchar keeps
 * its padding with `col COLLATE "C"`); numbers, dates and booleans sort
 * naturally on both sides.
 */
#include "verify/verify.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "base/log.h"
#include "p2d_error.h"
#include "schema/catalog.h"
#include "schema/ddl.h"
#include "sink/doris_sql.h"
#include "snapshot/pgconn.h"

#define MOD                "verify"
#define SQL_MAX            (16 * 1024 * 1024)
#define DIGITS_MAX         160 /* significant digits a canonical number may hold */
#define SHOW_MAX           60  /* bytes of a value shown in a report line */
#define P2D_VERIFY_KEY_MAX 32  /* key columns (PostgreSQL INDEX_MAX_KEYS) */

/* ---- canonical values (pure) ---------------------------------------------- */

enum canon_kind { C_NULL, C_NUM, C_TEXT, C_DOUBLE, C_JSON, C_BAD };

/* A value in a form both sides reduce to. C_NUM: sign (-1, 0, 1) and the
 * significant digits d1 d2 ... (no leading or trailing zeros) of
 * 0.d1d2... x 10^exp. C_TEXT: bytes (borrowed, or in buf). */
struct canon {
    enum canon_kind kind;
    int sign;
    long exp;
    char digits[DIGITS_MAX + 1];
    const char *text;
    size_t len;
    char buf[64];
    double d;
    json_t *json; /* owned (C_JSON) */
};

static void canon_fini(struct canon *c)
{
    if (c->kind == C_JSON)
        json_decref(c->json);
    c->kind = C_NULL;
}

/* Parses [+-]digits[.digits][e[+-]digits] (the whole of s[0..n)) into c. */
static bool parse_number(const char *s, size_t n, struct canon *c)
{
    size_t i = 0, nd = 0;
    long point = 0, e = 0;
    bool any = false, neg = false, lead = true;

    c->kind = C_NUM;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    for (; i < n && isdigit((unsigned char)s[i]); i++) {
        any = true;
        if (lead && s[i] == '0')
            continue;
        lead = false;
        if (nd == DIGITS_MAX)
            return false;
        c->digits[nd++] = s[i];
        point++;
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && isdigit((unsigned char)s[i]); i++) {
            any = true;
            if (lead && s[i] == '0') {
                point--;
                continue;
            }
            lead = false;
            if (nd == DIGITS_MAX)
                return false;
            c->digits[nd++] = s[i];
        }
    }
    if (!any)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        bool eneg = false, edig = false;

        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        for (; i < n && isdigit((unsigned char)s[i]); i++) {
            edig = true;
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        }
        if (!edig)
            return false;
        point += eneg ? -e : e;
    }
    if (i != n)
        return false;
    while (nd > 0 && c->digits[nd - 1] == '0')
        nd--;
    c->digits[nd] = '\0';
    c->sign = nd == 0 ? 0 : neg ? -1 : 1;
    c->exp = nd == 0 ? 0 : point;
    return true;
}

/* A JSON number or string as a decimal. real_digits: precision used to
 * print a JSON real (Doris prints DECIMALs up to 15 digits as numbers). */
static bool json_number(const json_t *v, int real_digits, struct canon *c)
{
    char tmp[64];

    if (json_is_integer(v)) {
        snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return parse_number(tmp, strlen(tmp), c);
    }
    if (json_is_real(v)) {
        if (!isfinite(json_real_value(v)))
            return false;
        snprintf(tmp, sizeof(tmp), "%.*g", real_digits, json_real_value(v));
        return parse_number(tmp, strlen(tmp), c);
    }
    if (json_is_string(v))
        return parse_number(json_string_value(v), json_string_length(v), c);
    return false;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return n > 0;
}

/*
 * Date or datetime text into its canonical form in c->buf:
 * "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS[.f]" with trailing fraction zeros
 * removed. from_pg applies the encoder's clamps (infinity, BC, year > 9999)
 * and, for timestamptz, cuts "+00" (any other offset is unreadable).
 */
static bool canon_datetime(enum p2d_value_rule rule, unsigned scale, const char *s, size_t n,
                           bool from_pg, struct canon *c)
{
    bool is_date = rule == P2D_VR_DATE;
    char t[64];
    size_t dash;

    c->kind = C_TEXT;
    c->text = c->buf;
    if (n >= sizeof(t))
        return false;
    memcpy(t, s, n);
    t[n] = '\0';
    if (from_pg) {
        bool bc = false, high = false;

        if (n > 3 && strcmp(t + n - 3, " BC") == 0) {
            bc = true;
            t[n -= 3] = '\0';
        }
        if (rule == P2D_VR_TIMESTAMPTZ && strcmp(t, "infinity") && strcmp(t, "-infinity")) {
            if (n > 6 && strcmp(t + n - 6, "+00:00") == 0)
                t[n -= 6] = '\0';
            else if (n > 3 && strcmp(t + n - 3, "+00") == 0)
                t[n -= 3] = '\0';
            else
                return false;
        }
        dash = strcspn(t, "-");
        if (strcmp(t, "infinity") == 0 || (dash > 4 && dash < n && all_digits(t, dash)))
            high = true;
        if (high || bc || strcmp(t, "-infinity") == 0) {
            if (is_date) {
                snprintf(c->buf, sizeof(c->buf), "%s", high && !bc ? "9999-12-31" : "0000-01-01");
            } else if (high && !bc) {
                snprintf(c->buf, sizeof(c->buf), "9999-12-31 23:59:59%s%.*s", scale ? "." : "",
                         (int)(scale > 9 ? 9 : scale), "999999999");
            } else {
                snprintf(c->buf, sizeof(c->buf), "0000-01-01 00:00:00");
            }
            c->len = strlen(c->buf);
            return true;
        }
    }
    /* shape: YYYY-MM-DD then, for datetimes, [ T]HH:MM:SS[.f] */
    if (n < 10 || !all_digits(t, 4) || t[4] != '-' || !all_digits(t + 5, 2) || t[7] != '-' ||
        !all_digits(t + 8, 2))
        return false;
    if (is_date) {
        if (n != 10)
            return false;
    } else {
        if (n == 10) { /* a bare date in a datetime: midnight */
            memcpy(t + 10, " 00:00:00", 10);
            n = 19;
        }
        if (n < 19 || (t[10] != ' ' && t[10] != 'T') || !all_digits(t + 11, 2) || t[13] != ':' ||
            !all_digits(t + 14, 2) || t[16] != ':' || !all_digits(t + 17, 2))
            return false;
        t[10] = ' ';
        if (n > 19) {
            if (t[19] != '.' || !all_digits(t + 20, n - 20))
                return false;
            while (n > 20 && t[n - 1] == '0')
                n--;
            if (n == 20)
                n = 19;
            t[n] = '\0';
        }
    }
    memcpy(c->buf, t, n);
    c->buf[n] = '\0';
    c->len = n;
    return true;
}

/* The source text under rule, as the encoder writes it. */

/* A JSON document, or NULL. jansson refuses integers beyond int64
 * (12345678901234567890 is valid JSON); such a document is read again with
 * every integer as a double, which both sides do alike. */
static json_t *load_json(const char *s, size_t n)
{
    json_t *j = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

    if (!j)
        j = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
    return j;
}

static bool canon_pg(enum p2d_value_rule rule, unsigned scale, const char *s, struct canon *c)
{
    size_t n;

    memset(c, 0, sizeof(*c));
    if (!s) {
        c->kind = C_NULL;
        return true;
    }
    n = strlen(s);
    switch (rule) {
    case P2D_VR_TEXT:
        c->kind = C_TEXT;
        c->text = s;
        c->len = n;
        return true;
    case P2D_VR_INT:
        return strchr(s, '.') == NULL && strpbrk(s, "eE") == NULL && parse_number(s, n, c);
    case P2D_VR_DECIMAL:
        if (!strcmp(s, "NaN") || !strcmp(s, "Infinity") || !strcmp(s, "-Infinity")) {
            c->kind = C_NULL; /* written as NULL, reported at load time */
            return true;
        }
        return parse_number(s, n, c);
    case P2D_VR_FLOAT: {
        char *end;

        if (!strcmp(s, "NaN") || !strcmp(s, "Infinity") || !strcmp(s, "-Infinity")) {
            c->kind = C_NULL;
            return true;
        }
        c->kind = C_DOUBLE;
        c->d = strtod(s, &end);
        return n > 0 && *end == '\0' && isfinite(c->d);
    }
    case P2D_VR_BOOL:
        c->kind = C_NUM;
        if (strcmp(s, "t") != 0 && strcmp(s, "f") != 0)
            return false;
        return parse_number(s[0] == 't' ? "1" : "0", 1, c);
    case P2D_VR_DATE:
    case P2D_VR_TIMESTAMP:
    case P2D_VR_TIMESTAMPTZ:
        return canon_datetime(rule, scale, s, n, true, c);
    case P2D_VR_JSON:
        c->json = load_json(s, n);
        c->kind = c->json ? C_JSON : C_BAD;
        return c->json != NULL;
    }
    return false;
}

/* The Doris answer's value under rule. */
static bool canon_doris(enum p2d_value_rule rule, unsigned scale, const json_t *v, struct canon *c)
{
    memset(c, 0, sizeof(*c));
    if (!v || json_is_null(v)) {
        c->kind = C_NULL;
        return true;
    }
    switch (rule) {
    case P2D_VR_TEXT:
        if (!json_is_string(v))
            return false;
        c->kind = C_TEXT;
        c->text = json_string_value(v);
        c->len = json_string_length(v);
        return true;
    case P2D_VR_INT:
        return json_number(v, 17, c);
    case P2D_VR_DECIMAL:
        return json_number(v, 15, c);
    case P2D_VR_FLOAT: {
        char *end;

        c->kind = C_DOUBLE;
        if (json_is_number(v)) {
            c->d = json_number_value(v);
            return true;
        }
        if (!json_is_string(v))
            return false;
        c->d = strtod(json_string_value(v), &end);
        return *end == '\0' && json_string_length(v) > 0;
    }
    case P2D_VR_BOOL:
        if (json_is_boolean(v))
            return parse_number(json_is_true(v) ? "1" : "0", 1, c);
        if (json_is_string(v) && strcmp(json_string_value(v), "true") == 0)
            return parse_number("1", 1, c);
        if (json_is_string(v) && strcmp(json_string_value(v), "false") == 0)
            return parse_number("0", 1, c);
        return json_number(v, 17, c) &&
               (c->sign == 0 || (c->sign == 1 && c->exp == 1 && strcmp(c->digits, "1") == 0));
    case P2D_VR_DATE:
    case P2D_VR_TIMESTAMP:
    case P2D_VR_TIMESTAMPTZ:
        if (!json_is_string(v))
            return false;
        return canon_datetime(rule, scale, json_string_value(v), json_string_length(v), false, c);
    case P2D_VR_JSON:
        c->kind = C_JSON;
        if (json_is_string(v)) {
            c->json = load_json(json_string_value(v), json_string_length(v));
            if (!c->json) /* not a document: the string is the JSON value itself */
                c->json = json_incref((json_t *)v);
        } else {
            c->json = json_incref((json_t *)v);
        }
        return c->json != NULL;
    }
    return false;
}

/* JSON equality with numbers compared by value (1 == 1.0), objects by
 * member set, arrays in order. */
static bool json_equiv(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!json_equiv(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *va;

        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach((json_t *)a, k, va)
        {
            json_t *vb = json_object_get(b, k);

            if (!vb || !json_equiv(va, vb))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b) != 0;
}

static int num_cmp(const struct canon *a, const struct canon *b)
{
    int r;

    if (a->sign != b->sign)
        return a->sign < b->sign ? -1 : 1;
    if (a->sign == 0)
        return 0;
    if (a->exp != b->exp)
        r = a->exp < b->exp ? -1 : 1;
    else
        r = strcmp(a->digits, b->digits); /* no trailing zeros: a prefix is smaller */
    if (r != 0)
        r = r < 0 ? -1 : 1;
    return a->sign * r;
}

static int text_cmp(const struct canon *a, const struct canon *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int r = n ? memcmp(a->text, b->text, n) : 0;

    if (r != 0)
        return r < 0 ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

/* Orders two canonical values of one column the way both sides sort: NULL
 * first, numbers and doubles by value, text by its bytes. false when they
 * cannot be ordered (different kinds, unreadable, JSON documents). */
static bool canon_order(const struct canon *a, const struct canon *b, int *cmp)
{
    *cmp = 0;
    if (a->kind == C_NULL || b->kind == C_NULL) {
        *cmp = (a->kind == C_NULL ? 0 : 1) - (b->kind == C_NULL ? 0 : 1);
        return true;
    }
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case C_NUM:
        *cmp = num_cmp(a, b);
        return true;
    case C_TEXT:
        *cmp = text_cmp(a, b);
        return true;
    case C_DOUBLE:
        *cmp = a->d < b->d ? -1 : a->d > b->d ? 1 : 0;
        return true;
    default:
        return false;
    }
}

/* Equal under the value rules. cross: a is the source's value and b the
 * destination's, where NULL may stand for the JSON document null (the
 * document null may land as NULL). */
static bool canon_equal(const struct canon *a, const struct canon *b, bool cross)
{
    int cmp;

    if (cross && a->kind == C_JSON && b->kind == C_NULL)
        return json_is_null(a->json);
    if (a->kind != b->kind)
        return false;
    if (a->kind == C_JSON)
        return json_equiv(a->json, b->json);
    return canon_order(a, b, &cmp) && cmp == 0;
}

bool p2d_verify_value_equal(enum p2d_value_rule rule, unsigned scale, const char *pg_text,
                            const json_t *doris)
{
    struct canon a, b;
    bool eq;

    if (!canon_pg(rule, scale, pg_text, &a)) {
        canon_fini(&a);
        return false; /* the encoder would have rejected the row */
    }
    if (!canon_doris(rule, scale, doris, &b)) {
        canon_fini(&a);
        canon_fini(&b);
        return false;
    }
    eq = canon_equal(&a, &b, true);
    canon_fini(&a);
    canon_fini(&b);
    return eq;
}

int p2d_verify_key_cmp(enum p2d_value_rule rule, unsigned scale, const char *pg_text,
                       const json_t *doris, int *cmp)
{
    struct canon a, b;

    *cmp = 0;
    if (rule == P2D_VR_JSON)
        return P2D_EINVAL;
    if (!canon_pg(rule, scale, pg_text, &a) || !canon_doris(rule, scale, doris, &b))
        return P2D_EINVAL;
    return canon_order(&a, &b, cmp) ? 0 : P2D_EINVAL;
}

/* Appends "e op l" for one sort column, NULL first: gt / ge / lt / le, or
 * eq ("="). l NULL is SQL NULL. */
static int append_one_bound(struct p2d_buf *b, const char *e, const char *l, const char *op)
{
    bool lower = op[0] == '>', upper = op[0] == '<', incl = op[1] == '=' || op[0] == '=';

    if (!l) {
        if (lower)
            return p2d_pg_appendf(b, incl ? "1 = 1" : "%s IS NOT NULL", e);
        if (upper && !incl)
            return p2d_pg_appendf(b, "1 = 0");
        return p2d_pg_appendf(b, "%s IS NULL", e); /* "= NULL", "<= NULL" */
    }
    if (upper)
        return p2d_pg_appendf(b, "(%s IS NULL OR %s %s %s)", e, e, op, l);
    return p2d_pg_appendf(b, "%s %s %s", e, op, l);
}

int p2d_verify_order_bound(struct p2d_buf *b, size_t n, const char *const *expr,
                           const char *const *lit, bool upper, bool strict)
{
    int rc = 0;

    if (n == 0)
        return p2d_pg_appendf(b, "1 = 1");
    for (size_t k = 0; k + 1 < n && rc == 0; k++) {
        rc = p2d_pg_appendf(b, "(");
        if (rc == 0)
            rc = append_one_bound(b, expr[k], lit[k], upper ? "<" : ">");
        if (rc == 0)
            rc = p2d_pg_appendf(b, " OR (");
        if (rc == 0)
            rc = append_one_bound(b, expr[k], lit[k], "=");
        if (rc == 0)
            rc = p2d_pg_appendf(b, " AND ");
    }
    if (rc == 0)
        rc = append_one_bound(b, expr[n - 1], lit[n - 1], upper ? "<=" : strict ? ">" : ">=");
    for (size_t k = 0; k + 1 < n && rc == 0; k++)
        rc = p2d_pg_appendf(b, "))");
    return rc;
}

/* ---- the run ---------------------------------------------------------------- */

struct vt {
    const struct p2d_table *ct;
    struct p2d_ddl_table *dt;
    size_t *cols; /* indexes into dt->columns of the compared (source) columns */
    size_t ncols; /* keyed: the first nkey are the key, in key order; multiset:
                     the first nsort are ordered, the JSON columns follow */
    size_t nkey;
    size_t nsort;
    bool multiset;     /* no key: rows compared as a multiset (Duplicate model) */
    char *pg_select;   /* source column list, Doris order */
    char *pg_order;    /* key sort expressions */
    char *pg_from;     /* "schema"."name" */
    char *dr_select;   /* Doris column list */
    char *dr_order;    /* Doris key columns */
    char dr_from[600]; /* `table` (the session database is the Doris database) */
    const char *filter;
    /* multiset tables (nsort entries each) */
    char **pg_sexpr; /* source sort expressions, under the value rules */
    char **dr_sname; /* quoted Doris names */
    char *pg_msort;  /* "e1 NULLS FIRST, ..." */
    char *dr_msort;  /* "`a`, `b`" */
    char *dr_keys;   /* a Duplicate table with a source key: its quoted key columns */
};

struct tally {
    long long src_rows, dst_rows, compared, ndiff;
    long long nlines; /* differing keys / rows found (ndiff counts row copies) */
    bool whole;       /* every row compared (--full, or a table the sample covers) */
    bool stopped;     /* multiset: a run of rows too long to compare, the rest counted only */
    char *report[P2D_VERIFY_REPORT_KEYS];
    int nreport;
};

struct verify {
    const struct p2d_job *job;
    PGconn *src;
    struct p2d_doris_sql *sql;
    int code; /* P2D_EXIT_SOURCE / _DEST once a side failed */
};

static void log_pg_error(const char *what, const struct p2d_pg_error *e)
{
    char msg[sizeof(e->message)];
    size_t n = 0;

    for (const char *p = e->message; *p && n + 3 < sizeof(msg); p++) {
        if (*p == '\n') {
            while (p[1] == '\t' || p[1] == ' ' || p[1] == '\n')
                p++;
            if (p[1]) {
                msg[n++] = ';';
                msg[n++] = ' ';
            }
        } else {
            msg[n++] = *p;
        }
    }
    msg[n] = '\0';
    if (e->hint[0])
        P2D_ERROR(MOD, "%s: %s; hint: %s", what, msg, e->hint);
    else
        P2D_ERROR(MOD, "%s: %s", what, msg);
}

/* Appends s (n bytes) for a report: at most SHOW_MAX bytes, control bytes
 * and quotes escaped. */
static int append_shown(struct p2d_buf *b, const char *s, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n && i < SHOW_MAX && rc == 0; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '\n')
            rc = p2d_pg_appendf(b, "\\n");
        else if (ch == '\t')
            rc = p2d_pg_appendf(b, "\\t");
        else if (ch == '"' || ch == '\\')
            rc = p2d_pg_appendf(b, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            rc = p2d_pg_appendf(b, "\\x%02x", ch);
        else
            rc = p2d_pg_appendf(b, "%c", ch);
    }
    if (rc == 0 && n > SHOW_MAX)
        rc = p2d_pg_appendf(b, "...");
    return rc;
}

static int append_pg_value(struct p2d_buf *b, const PGresult *r, int row, int col)
{
    int rc;

    if (PQgetisnull(r, row, col))
        return p2d_pg_appendf(b, "NULL");
    rc = p2d_pg_appendf(b, "\"");
    if (rc == 0)
        rc = append_shown(b, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
    return rc ? rc : p2d_pg_appendf(b, "\"");
}

static int append_doris_value(struct p2d_buf *b, const json_t *v)
{
    char *dump;
    int rc;

    if (!v || json_is_null(v))
        return p2d_pg_appendf(b, "NULL");
    if (json_is_string(v)) {
        rc = p2d_pg_appendf(b, "\"");
        if (rc == 0)
            rc = append_shown(b, json_string_value(v), json_string_length(v));
        return rc ? rc : p2d_pg_appendf(b, "\"");
    }
    dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!dump)
        return P2D_ENOMEM;
    rc = append_shown(b, dump, strlen(dump));
    free(dump);
    return rc;
}

/* "(a=1, b="x")" from a source row or a destination row. */
static int append_key(struct p2d_buf *b, const struct vt *t, const PGresult *r, int row,
                      const json_t *drow)
{
    int rc = p2d_pg_appendf(b, "(");

    for (size_t k = 0; k < t->nkey && rc == 0; k++) {
        rc = p2d_pg_appendf(b, "%s%s=", k ? ", " : "", t->dt->columns[t->cols[k]].name);
        if (rc == 0)
            rc = r ? append_pg_value(b, r, row, (int)k)
                   : append_doris_value(b, json_array_get(drow, k));
    }
    return rc ? rc : p2d_pg_appendf(b, ")");
}

/* Counts n differing rows found on one line (a key, or a row of a multiset
 * with its copies); keeps the line when among the first ones. */
static void note_rows(struct tally *ty, struct p2d_buf *line, long long n)
{
    ty->ndiff += n;
    ty->nlines++;
    if (ty->nreport < P2D_VERIFY_REPORT_KEYS && line->data)
        ty->report[ty->nreport++] = strdup((const char *)line->data);
}

/* Counts one differing key; keeps its line when among the first ones. */
static void note_diff(struct tally *ty, struct p2d_buf *line)
{
    note_rows(ty, line, 1);
}

static void free_vt(struct vt *t)
{
    for (size_t k = 0; k < t->nsort; k++) {
        if (t->pg_sexpr)
            free(t->pg_sexpr[k]);
        if (t->dr_sname)
            free(t->dr_sname[k]);
    }
    free(t->pg_sexpr);
    free(t->dr_sname);
    free(t->pg_msort);
    free(t->dr_msort);
    free(t->dr_keys);
    p2d_ddl_table_destroy(t->dt);
    free(t->cols);
    free(t->pg_select);
    free(t->pg_order);
    free(t->pg_from);
    free(t->dr_select);
    free(t->dr_order);
}

/*
 * Appends the source expression that sorts column dc (source column sc) the
 * way Doris sorts the value the encoder writes for it, parenthesized:
 *   - text rule: the type's output text (what the encoder copies) in the
 *     "C" collation, so by its bytes like Doris; format('%s', x) is the
 *     output text of any type (bpchar keeps its padding, "char" its \ooo);
 *   - numbers by value; NaN and ±Infinity, which land as NULL, as NULL;
 *   - dates and times by value, clamped like the encoder (BC and -infinity
 *     to -infinity, after year 9999 to Doris's maximum), so that values
 *     that land equal sort equal and the next column decides on both sides;
 *   - booleans false before true, like 0 before 1.
 * NULL sorts first on both sides: Doris puts NULL first in ascending order,
 * and the source's ORDER BY says NULLS FIRST.
 */
static int append_pg_sort_expr(struct verify *v, struct p2d_buf *b, const struct p2d_ddl_column *dc,
                               const struct p2d_column *sc)
{
    const char *type = NULL, *lo = NULL, *plus = "";
    char hi[64];
    struct p2d_buf id;
    const char *c;
    int rc;

    p2d_buf_init(&id, SQL_MAX);
    rc = p2d_pg_append_ident(v->src, &id, sc->name);
    if (rc != 0) {
        p2d_buf_fini(&id);
        return rc;
    }
    c = (const char *)id.data;
    switch (dc->d.rule) {
    case P2D_VR_TEXT:
        if (strcmp(sc->type_name, "text") == 0 || strcmp(sc->type_name, "varchar") == 0)
            rc = p2d_pg_appendf(b, "((%s)::text COLLATE \"C\")", c);
        else
            rc = p2d_pg_appendf(b, "(format('%%s', %s) COLLATE \"C\")", c);
        break;
    case P2D_VR_INT: /* xid, cid have no order; their text is a number */
        if (strcmp(sc->type_name, "int2") == 0 || strcmp(sc->type_name, "int4") == 0 ||
            strcmp(sc->type_name, "int8") == 0)
            rc = p2d_pg_appendf(b, "(%s)", c);
        else
            rc = p2d_pg_appendf(b, "((%s)::text::numeric)", c);
        break;
    case P2D_VR_DECIMAL:
    case P2D_VR_FLOAT:
        rc = p2d_pg_appendf(b,
                            "(CASE WHEN (%s)::text IN ('NaN', 'Infinity', '-Infinity') THEN NULL "
                            "ELSE %s END)",
                            c, c);
        break;
    case P2D_VR_BOOL:
        rc = p2d_pg_appendf(b, "(%s)", c);
        break;
    case P2D_VR_DATE:
        type = "date";
        lo = "0001-01-01";
        snprintf(hi, sizeof(hi), "9999-12-31");
        break;
    case P2D_VR_TIMESTAMPTZ:
        plus = "+00";
        /* fall through */
    case P2D_VR_TIMESTAMP:
        type = dc->d.rule == P2D_VR_TIMESTAMP ? "timestamp" : "timestamptz";
        lo = dc->d.rule == P2D_VR_TIMESTAMP ? "0001-01-01 00:00:00" : "0001-01-01 00:00:00+00";
        snprintf(hi, sizeof(hi), "9999-12-31 23:59:59%s%.*s%s", dc->d.scale ? "." : "",
                 (int)(dc->d.scale > 9 ? 9 : dc->d.scale), "999999999", plus);
        break;
    case P2D_VR_JSON:
        rc = P2D_EINVAL; /* not ordered */
        break;
    }
    if (rc == 0 && type)
        rc = p2d_pg_appendf(b,
                            "(CASE WHEN (%s)::%s < '%s' THEN '-infinity'::%s WHEN (%s)::%s > '%s' "
                            "THEN '%s'::%s ELSE (%s)::%s END)",
                            c, type, lo, type, c, type, hi, hi, type, c, type);
    p2d_buf_fini(&id);
    return rc;
}

/*
 * The multiset parts of t: sort expressions and names, and for a Duplicate
 * table with a source key the key columns (its source state is the latest
 * change of each key, see dup_count_query).
 */
static int build_multiset(struct verify *v, struct vt *t)
{
    struct p2d_buf b, ms, ds, keys;
    char q[600];
    int rc = 0;

    t->pg_sexpr = calloc(t->nsort + 1, sizeof(*t->pg_sexpr));
    t->dr_sname = calloc(t->nsort + 1, sizeof(*t->dr_sname));
    if (!t->pg_sexpr || !t->dr_sname)
        return P2D_ENOMEM;
    p2d_buf_init(&b, SQL_MAX);
    p2d_buf_init(&ms, SQL_MAX);
    p2d_buf_init(&ds, SQL_MAX);
    p2d_buf_init(&keys, SQL_MAX);
    for (size_t k = 0; k < t->nsort && rc == 0; k++) {
        const struct p2d_ddl_column *dc = &t->dt->columns[t->cols[k]];

        p2d_buf_reset(&b);
        rc = append_pg_sort_expr(v, &b, dc, &t->ct->columns[dc->source]);
        p2d_doris_quote_ident(dc->name, q, sizeof(q));
        if (rc == 0) {
            t->pg_sexpr[k] = strdup((const char *)b.data);
            t->dr_sname[k] = strdup(q);
            if (!t->pg_sexpr[k] || !t->dr_sname[k])
                rc = P2D_ENOMEM;
        }
        if (rc == 0)
            rc = p2d_pg_appendf(&ms, "%s%s NULLS FIRST", k ? ", " : "", t->pg_sexpr[k]);
        if (rc == 0)
            rc = p2d_pg_appendf(&ds, "%s%s", k ? ", " : "", q);
    }
    for (size_t i = 0; i < t->ncols && rc == 0; i++) {
        const struct p2d_ddl_column *dc = &t->dt->columns[t->cols[i]];

        if (t->ct->columns[dc->source].key_position <= 0)
            continue;
        p2d_doris_quote_ident(dc->name, q, sizeof(q));
        rc = p2d_pg_appendf(&keys, "%s%s", keys.len ? ", " : "", q);
    }
    if (rc == 0) {
        t->pg_msort = strdup(ms.data ? (const char *)ms.data : "");
        t->dr_msort = strdup(ds.data ? (const char *)ds.data : "");
        if (keys.len > 0)
            t->dr_keys = strdup((const char *)keys.data);
        if (!t->pg_msort || !t->dr_msort || (keys.len > 0 && !t->dr_keys))
            rc = P2D_ENOMEM;
    }
    p2d_buf_fini(&b);
    p2d_buf_fini(&ms);
    p2d_buf_fini(&ds);
    p2d_buf_fini(&keys);
    return rc;
}

/* Builds the column lists and sort expressions of one table. */
static int build_vt(struct verify *v, struct vt *t, const struct p2d_table *ct)
{
    const struct p2d_job_table *cfg = p2d_job_table_config(v->job, ct->schema, ct->name);
    struct p2d_buf sel, ord, from, dsel, dord;
    char err[4096], q[600];
    int rc;

    t->ct = ct;
    rc = p2d_ddl_plan(ct, v->job, NULL, &t->dt, err, sizeof(err));
    if (rc != 0) {
        if (rc == P2D_EINVAL)
            P2D_ERROR(MOD, "cannot plan the destination of \"%s.%s\": %s", ct->schema, ct->name,
                      err);
        return rc;
    }
    t->filter = cfg ? cfg->where : NULL;
    t->cols = calloc(t->dt->ncolumns, sizeof(*t->cols));
    if (!t->cols)
        return P2D_ENOMEM;
    for (size_t i = 0; i < t->dt->ncolumns; i++) {
        if (t->dt->columns[i].kind != P2D_DDL_SOURCE)
            continue;
        if (t->dt->columns[i].is_key)
            t->nkey++;
        t->cols[t->ncols++] = i;
    }
    if (t->dt->model == P2D_MODEL_DUPLICATE) {
        size_t n = 0;

        /* no key to merge on: the rows are compared as a multiset, ordered
         * by every column Doris can order (JSON cannot be, §7.2): those
         * first, in Doris order, then the JSON columns */
        t->nkey = 0;
        t->multiset = t->ncols > 0;
        for (size_t pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < t->dt->ncolumns; i++) {
                const struct p2d_ddl_column *dc = &t->dt->columns[i];

                if (dc->kind == P2D_DDL_SOURCE && (dc->d.rule == P2D_VR_JSON) == (pass == 1))
                    t->cols[n++] = i;
                if (dc->kind == P2D_DDL_SOURCE && pass == 0 && dc->d.rule != P2D_VR_JSON)
                    t->nsort++;
            }
    }
    if (t->nkey > P2D_VERIFY_KEY_MAX) {
        P2D_ERROR(MOD,
                  "cannot verify \"%s.%s\": its key has %zu columns, at most %d are "
                  "supported; hint: leave the table out with --exclude",
                  ct->schema, ct->name, t->nkey, P2D_VERIFY_KEY_MAX);
        return P2D_EINVAL;
    }
    p2d_doris_quote_ident(t->dt->table, t->dr_from, sizeof(t->dr_from));
    p2d_buf_init(&sel, SQL_MAX);
    p2d_buf_init(&ord, SQL_MAX);
    p2d_buf_init(&from, SQL_MAX);
    p2d_buf_init(&dsel, SQL_MAX);
    p2d_buf_init(&dord, SQL_MAX);
    rc = p2d_pg_append_qualified(v->src, &from, ct->schema, ct->name);
    for (size_t i = 0; i < t->ncols && rc == 0; i++) {
        const struct p2d_ddl_column *dc = &t->dt->columns[t->cols[i]];
        const struct p2d_column *sc = &ct->columns[dc->source];

        rc = p2d_pg_appendf(&sel, "%s", i ? ", " : "");
        if (rc == 0)
            rc = p2d_pg_append_ident(v->src, &sel, sc->name);
        p2d_doris_quote_ident(dc->name, q, sizeof(q));
        if (rc == 0)
            rc = p2d_pg_appendf(&dsel, "%s%s", i ? ", " : "", q);
        if (rc || i >= t->nkey)
            continue;
        rc = p2d_pg_appendf(&dord, "%s%s", i ? ", " : "", q);
        if (rc == 0)
            rc = p2d_pg_appendf(&ord, "%s", i ? ", " : "");
        if (rc == 0 && dc->d.rule == P2D_VR_TEXT && strcmp(sc->type_name, "bpchar") == 0) {
            rc = p2d_pg_append_ident(v->src, &ord, sc->name);
            if (rc == 0)
                rc = p2d_pg_appendf(&ord, " COLLATE \"C\"");
        } else if (rc == 0 && dc->d.rule == P2D_VR_TEXT) {
            rc = p2d_pg_appendf(&ord, "(");
            if (rc == 0)
                rc = p2d_pg_append_ident(v->src, &ord, sc->name);
            if (rc == 0)
                rc = p2d_pg_appendf(&ord, ")::text COLLATE \"C\"");
        } else if (rc == 0) {
            rc = p2d_pg_append_ident(v->src, &ord, sc->name);
        }
    }
    if (rc == 0) {
        t->pg_select = strdup(sel.data ? (const char *)sel.data : "");
        t->pg_order = strdup(ord.data ? (const char *)ord.data : "");
        t->pg_from = strdup((const char *)from.data);
        t->dr_select = strdup(dsel.data ? (const char *)dsel.data : "");
        t->dr_order = strdup(dord.data ? (const char *)dord.data : "");
        if (!t->pg_select || !t->pg_order || !t->pg_from || !t->dr_select || !t->dr_order)
            rc = P2D_ENOMEM;
    }
    p2d_buf_fini(&sel);
    p2d_buf_fini(&ord);
    p2d_buf_fini(&from);
    p2d_buf_fini(&dsel);
    p2d_buf_fini(&dord);
    if (rc == 0 && t->multiset)
        rc = build_multiset(v, t);
    return rc;
}

/* Runs a Doris statement; on failure logs it and sets the exit code. */
static int doris_query(struct verify *v, const struct vt *t, const char *stmt, json_t **rows_out,
                       json_t **data_out)
{
    enum p2d_doris_fail fail = P2D_DORIS_OK;
    char err[1024];
    json_t *data = NULL, *rows;

    if (p2d_doris_sql_exec(v->sql, t->dt->database, stmt, &data, &fail, err, sizeof(err)) != 0) {
        const char *hint = "";

        if (fail == P2D_DORIS_AUTH)
            hint = "; hint: check the user and password in --dest or PG2DORIS_DEST_PASSWORD";
        else if (fail == P2D_DORIS_TRANSPORT)
            hint = "; hint: check the FE host and HTTP port in --dest";
        P2D_ERROR(MOD, "cannot read \"%s\".\"%s\" in the destination: %s%s", t->dt->database,
                  t->dt->table, err, hint);
        v->code = P2D_EXIT_DEST;
        return P2D_EDEST;
    }
    rows = p2d_doris_rows(data);
    if (!rows || !json_is_array(rows)) {
        P2D_ERROR(MOD, "cannot read \"%s\".\"%s\" in the destination: the answer holds no rows",
                  t->dt->database, t->dt->table);
        json_decref(data);
        v->code = P2D_EXIT_DEST;
        return P2D_EPROTO;
    }
    *rows_out = rows;
    *data_out = data;
    return 0;
}

static int pg_query(struct verify *v, const char *sql, const char *what, PGresult **res)
{
    struct p2d_pg_error e;

    if (p2d_pg_exec(v->src, sql, what, res, &e) != 0) {
        log_pg_error(what, &e);
        v->code = p2d_pg_error_exit_code(&e);
        return P2D_ESOURCE;
    }
    return 0;
}

/* Appends the Doris literal of a source key value (after its value rule). */
static int append_doris_literal(struct p2d_buf *b, const struct p2d_ddl_column *dc,
                                const char *pg_text)
{
    struct canon c;
    int rc;

    if (!canon_pg(dc->d.rule, dc->d.scale, pg_text, &c) || c.kind == C_NULL || c.kind == C_JSON) {
        canon_fini(&c);
        return P2D_EDATA;
    }
    switch (dc->d.rule) {
    case P2D_VR_INT:
    case P2D_VR_DECIMAL:
        return p2d_pg_appendf(b, "%s", pg_text); /* checked above: a plain number */
    case P2D_VR_FLOAT: /* with an exponent: a DOUBLE literal, compared exactly */
        return p2d_pg_appendf(b, "%.17e", c.d);
    case P2D_VR_BOOL:
        return p2d_pg_appendf(b, "%d", c.sign);
    case P2D_VR_TIMESTAMP:
    case P2D_VR_TIMESTAMPTZ: { /* Doris prints p fraction digits: compare in that form */
        char t[96];
        size_t n = c.len;

        memcpy(t, c.buf, n);
        if (dc->d.scale > 0) {
            size_t have = n > 20 && t[19] == '.' ? n - 20 : 0;

            if (have == 0)
                t[n++] = '.';
            for (; have < dc->d.scale && n + 1 < sizeof(t); have++)
                t[n++] = '0';
        }
        t[n] = '\0';
        return p2d_ddl_append_literal(b, t);
    }
    case P2D_VR_DATE:
        return p2d_ddl_append_literal(b, c.buf);
    case P2D_VR_TEXT: {
        char *s = strndup(c.text, c.len);

        if (!s)
            return P2D_ENOMEM;
        rc = p2d_ddl_append_literal(b, s);
        free(s);
        return rc;
    }
    case P2D_VR_JSON:
        break;
    }
    return P2D_EDATA;
}

/* The key of one row as Doris literals, NUL-separated in buf at off[k]. */
struct key_lits {
    struct p2d_buf buf;
    size_t off[P2D_VERIFY_KEY_MAX];
};

/* Appends the Doris literal of a destination key value (from an answer). */
static int append_json_literal(struct p2d_buf *b, const struct p2d_ddl_column *dc, const json_t *v)
{
    if (json_is_integer(v))
        return p2d_pg_appendf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    if (json_is_real(v) && isfinite(json_real_value(v)) && dc->d.rule == P2D_VR_FLOAT)
        return p2d_pg_appendf(b, "%.17e", json_real_value(v)); /* a DOUBLE literal */
    if (json_is_real(v) && isfinite(json_real_value(v)))       /* DECIMAL: at most 15 digits */
        return p2d_pg_appendf(b, "%.*g", dc->d.rule == P2D_VR_DECIMAL ? 15 : 17,
                              json_real_value(v));
    if (json_is_boolean(v))
        return p2d_pg_appendf(b, "%d", json_is_true(v) ? 1 : 0);
    if (json_is_string(v)) {
        char *s = strndup(json_string_value(v), json_string_length(v));
        int rc;

        if (!s)
            return P2D_ENOMEM;
        rc = p2d_ddl_append_literal(b, s);
        free(s);
        return rc;
    }
    return P2D_EDATA;
}

/* Fills kl with the key of source row `row` of r, or of destination row
 * drow when r is NULL. */
static int key_lits_fill(struct key_lits *kl, const struct vt *t, const PGresult *r, int row,
                         const json_t *drow)
{
    int rc = 0;

    p2d_buf_reset(&kl->buf);
    for (size_t k = 0; k < t->nkey && rc == 0; k++) {
        const struct p2d_ddl_column *dc = &t->dt->columns[t->cols[k]];

        kl->off[k] = kl->buf.len;
        rc = r ? append_doris_literal(&kl->buf, dc, PQgetvalue(r, row, (int)k))
               : append_json_literal(&kl->buf, dc, json_array_get(drow, k));
        if (rc == 0)
            rc = p2d_buf_append(&kl->buf, "", 1);
    }
    return rc;
}

/* key_lits_fill for a source row; a key the encoder would have refused
 * cannot be looked up in the destination (logged, internal failure). */
static int source_key(struct verify *v, struct key_lits *kl, const struct vt *t, const PGresult *r,
                      int row)
{
    int rc = key_lits_fill(kl, t, r, row, NULL);

    if (rc == P2D_EDATA) {
        P2D_ERROR(MOD, "cannot compare \"%s\": a source key value has no destination form",
                  t->dt->source);
        v->code = P2D_EXIT_INTERNAL;
    }
    return rc;
}

/*
 * Appends the Doris condition "key OP (kl)" expanded into ORs (row
 * comparison is not in Doris's documented SQL): strict gives >, else >= ;
 * upper gives < / <=.
 */
static int append_doris_bound(struct p2d_buf *b, const struct vt *t, const struct key_lits *kl,
                              bool upper, bool strict)
{
    const char *op = upper ? "<" : ">";
    char q[600];
    int rc = p2d_pg_appendf(b, "(");

    for (size_t k = 0; k < t->nkey && rc == 0; k++) {
        rc = p2d_pg_appendf(b, "%s(", k ? " OR " : "");
        for (size_t j = 0; j <= k && rc == 0; j++) {
            p2d_doris_quote_ident(t->dt->columns[t->cols[j]].name, q, sizeof(q));
            rc = p2d_pg_appendf(b, "%s%s %s%s %s", j ? " AND " : "", q, j < k ? "=" : op,
                                j == k && k + 1 == t->nkey && !strict ? "=" : "",
                                (const char *)kl->buf.data + kl->off[j]);
        }
        if (rc == 0)
            rc = p2d_pg_appendf(b, ")");
    }
    return rc ? rc : p2d_pg_appendf(b, ")");
}

/* Appends the source condition "(sort exprs) > (row's key)". */
static int append_pg_after(struct verify *v, struct p2d_buf *b, const struct vt *t,
                           const PGresult *r, int row)
{
    int rc = p2d_pg_appendf(b, "(%s) > (", t->pg_order);

    for (size_t k = 0; k < t->nkey && rc == 0; k++) {
        rc = p2d_pg_appendf(b, "%s", k ? ", " : "");
        if (rc == 0)
            rc = p2d_pg_append_literal(v->src, b, PQgetvalue(r, row, (int)k));
    }
    return rc ? rc : p2d_pg_appendf(b, ")");
}

/* One page of destination rows: key after `after` (or from `lo`, or from the
 * start), up to `hi` (or to the end), at most P2D_VERIFY_PAGE_ROWS: the FE
 * returns at most 1000 rows per statement unless asked otherwise. */
static int doris_page(struct verify *v, const struct vt *t, const struct key_lits *lo,
                      bool lo_strict, const struct key_lits *hi, json_t **rows, json_t **data)
{
    struct p2d_buf stmt;
    int rc;

    p2d_buf_init(&stmt, SQL_MAX);
    rc = p2d_pg_appendf(&stmt, "SELECT %s FROM %s", t->dr_select, t->dr_from);
    if (rc == 0 && lo) {
        rc = p2d_pg_appendf(&stmt, " WHERE ");
        if (rc == 0)
            rc = append_doris_bound(&stmt, t, lo, false, lo_strict);
    }
    if (rc == 0 && hi) {
        rc = p2d_pg_appendf(&stmt, lo ? " AND " : " WHERE ");
        if (rc == 0)
            rc = append_doris_bound(&stmt, t, hi, true, false);
    }
    if (rc == 0)
        rc = p2d_pg_appendf(&stmt, " ORDER BY %s LIMIT %d", t->dr_order, P2D_VERIFY_PAGE_ROWS);
    if (rc == P2D_EDATA) {
        P2D_ERROR(MOD, "cannot compare \"%s\": a key value of the source has no destination form",
                  t->dt->source);
        v->code = P2D_EXIT_INTERNAL;
    }
    if (rc == 0)
        rc = doris_query(v, t, (const char *)stmt.data, rows, data);
    p2d_buf_fini(&stmt);
    return rc;
}

/*
 * Compares the source rows pr (in key order) with the destination rows in
 * the key range they cover: after lo (exclusive when lo_strict; from the
 * start when lo is NULL) up to pr's last row, or to the end when open_end.
 * The destination side is read in pages too (keyset on its last key).
 * Returns 0 or a negative P2D_E* (side failure, logged).
 */
static int compare_page(struct verify *v, const struct vt *t, const PGresult *pr,
                        const struct key_lits *lo, bool lo_strict, bool open_end, struct tally *ty)
{
    struct key_lits hi, after;
    struct p2d_buf line;
    json_t *data = NULL, *drows = NULL;
    int np = PQntuples(pr), i = 0, rc;
    size_t j = 0, nd = 0;
    bool more = true; /* the destination may hold rows after the ones in drows */

    p2d_buf_init(&hi.buf, SQL_MAX);
    p2d_buf_init(&after.buf, SQL_MAX);
    p2d_buf_init(&line, 64 * 1024);
    rc = open_end || np == 0 ? 0 : key_lits_fill(&hi, t, pr, np - 1, NULL);
    if (rc != 0)
        goto bad_key;
    for (;;) {
        const json_t *drow;
        int c = 0;

        if (j == nd && more) { /* next destination page */
            const struct key_lits *from = lo;
            bool strict = lo_strict;

            if (data) {
                rc = key_lits_fill(&after, t, NULL, 0, json_array_get(drows, nd - 1));
                if (rc != 0)
                    goto bad_key;
                from = &after;
                strict = true;
            }
            json_decref(data);
            data = NULL;
            rc = doris_page(v, t, from, strict, open_end || np == 0 ? NULL : &hi, &drows, &data);
            if (rc != 0)
                goto out;
            nd = json_array_size(drows);
            j = 0;
            more = nd == P2D_VERIFY_PAGE_ROWS;
        }
        if (i == np && j == nd)
            break;
        drow = j < nd ? json_array_get(drows, j) : NULL;
        if (drow && (!json_is_array(drow) || json_array_size(drow) != t->ncols)) {
            P2D_ERROR(MOD,
                      "cannot read \"%s\".\"%s\" in the destination: a row has %zu values, "
                      "expected %zu",
                      t->dt->database, t->dt->table, json_array_size(drow), t->ncols);
            v->code = P2D_EXIT_DEST;
            rc = P2D_EPROTO;
            goto out;
        }
        if (i == np)
            c = 1;
        else if (j == nd)
            c = -1;
        for (size_t k = 0; k < t->nkey && i < np && j < nd && c == 0; k++) {
            const struct p2d_ddl_column *dc = &t->dt->columns[t->cols[k]];
            const char *pv = PQgetisnull(pr, i, (int)k) ? NULL : PQgetvalue(pr, i, (int)k);

            if (p2d_verify_key_cmp(dc->d.rule, dc->d.scale, pv, json_array_get(drow, k), &c) != 0)
                c = 2; /* unreadable: report both and move on */
        }
        p2d_buf_reset(&line);
        if (c < 0 || c == 2) {
            if (p2d_pg_appendf(&line, "key ") == 0 && append_key(&line, t, pr, i, NULL) == 0 &&
                p2d_pg_appendf(&line, ": missing in the destination") == 0)
                note_diff(ty, &line);
            i++;
            if (c != 2)
                continue;
            c = 1;
        }
        if (c > 0) {
            p2d_buf_reset(&line);
            if (p2d_pg_appendf(&line, "key ") == 0 && append_key(&line, t, NULL, 0, drow) == 0 &&
                p2d_pg_appendf(&line, ": not in the source") == 0)
                note_diff(ty, &line);
            j++;
            continue;
        }
        ty->compared++;
        for (size_t k = t->nkey; k < t->ncols; k++) {
            const struct p2d_ddl_column *dc = &t->dt->columns[t->cols[k]];
            const char *pv = PQgetisnull(pr, i, (int)k) ? NULL : PQgetvalue(pr, i, (int)k);
            const json_t *dv = json_array_get(drow, k);

            if (p2d_verify_value_equal(dc->d.rule, dc->d.scale, pv, dv))
                continue;
            if (p2d_pg_appendf(&line, "key ") == 0 && append_key(&line, t, pr, i, NULL) == 0 &&
                p2d_pg_appendf(&line, ": column \"%s\": source ", dc->name) == 0 &&
                append_pg_value(&line, pr, i, (int)k) == 0 &&
                p2d_pg_appendf(&line, ", destination ") == 0 && append_doris_value(&line, dv) == 0)
                note_diff(ty, &line);
            break; /* one line per key: the first differing column */
        }
        i++;
        j++;
    }
    rc = 0;
    goto out;
bad_key:
    P2D_ERROR(MOD, "cannot compare \"%s\": a key value has no destination form", t->dt->source);
    v->code = P2D_EXIT_INTERNAL;
out:
    json_decref(data);
    p2d_buf_fini(&hi.buf);
    p2d_buf_fini(&after.buf);
    p2d_buf_fini(&line);
    return rc;
}

/* SELECT of the source rows: after row `after` of prev (NULL: from the
 * start), at offset, at most P2D_VERIFY_PAGE_ROWS. */
static int pg_page(struct verify *v, const struct vt *t, const PGresult *prev, int after,
                   long long offset, PGresult **out)
{
    struct p2d_buf q;
    int rc;

    p2d_buf_init(&q, SQL_MAX);
    rc = p2d_pg_appendf(&q, "SELECT %s FROM %s", t->pg_select, t->pg_from);
    if (rc == 0 && (t->filter || prev))
        rc = p2d_pg_appendf(&q, " WHERE ");
    if (rc == 0 && t->filter)
        rc = p2d_pg_appendf(&q, "(%s)%s", t->filter, prev ? " AND " : "");
    if (rc == 0 && prev)
        rc = append_pg_after(v, &q, t, prev, after);
    if (rc == 0)
        rc = p2d_pg_appendf(&q, " ORDER BY %s", t->pg_order);
    if (rc == 0 && offset > 0)
        rc = p2d_pg_appendf(&q, " OFFSET %lld", offset);
    if (rc == 0)
        rc = p2d_pg_appendf(&q, " LIMIT %d", P2D_VERIFY_PAGE_ROWS);
    if (rc == 0)
        rc = pg_query(v, (const char *)q.data, "cannot read source rows", out);
    p2d_buf_fini(&q);
    return rc;
}

/* Every row, page by page. */
static int compare_all(struct verify *v, const struct vt *t, struct tally *ty)
{
    PGresult *prev = NULL, *cur = NULL;
    struct key_lits lo;
    int rc = 0;

    p2d_buf_init(&lo.buf, SQL_MAX);
    for (;;) {
        int n;
        bool last;

        rc = pg_page(v, t, prev, prev ? PQntuples(prev) - 1 : 0, 0, &cur);
        if (rc != 0)
            break;
        n = PQntuples(cur);
        last = n < P2D_VERIFY_PAGE_ROWS;
        if (prev)
            rc = source_key(v, &lo, t, prev, PQntuples(prev) - 1);
        if (rc == 0)
            rc = compare_page(v, t, cur, prev ? &lo : NULL, true, last, ty);
        PQclear(prev);
        prev = cur;
        cur = NULL;
        if (rc != 0 || last)
            break;
    }
    PQclear(prev);
    PQclear(cur);
    p2d_buf_fini(&lo.buf);
    return rc;
}

/* Up to P2D_VERIFY_SAMPLE_RANGES ranges spread over the key space; tables
 * that small are compared whole. */
static int compare_sample(struct verify *v, const struct vt *t, struct tally *ty)
{
    const long long page = P2D_VERIFY_PAGE_ROWS, ranges = P2D_VERIFY_SAMPLE_RANGES;
    long long n = ty->src_rows;
    struct key_lits lo;
    int rc = 0;

    if (n <= page * ranges) {
        ty->whole = true;
        return compare_all(v, t, ty);
    }
    p2d_buf_init(&lo.buf, SQL_MAX);
    for (long long s = 0; s < ranges && rc == 0; s++) {
        long long off = s * (n - page) / (ranges - 1);
        PGresult *r = NULL;
        int np;

        rc = pg_page(v, t, NULL, 0, off, &r);
        if (rc != 0)
            break;
        np = PQntuples(r);
        if (np > 0 && off > 0)
            rc = source_key(v, &lo, t, r, 0);
        if (rc == 0 && (np > 0 || off == 0))
            rc = compare_page(v, t, r, off > 0 ? &lo : NULL, false, np < page || s == ranges - 1,
                              ty);
        PQclear(r);
    }
    p2d_buf_fini(&lo.buf);
    return rc;
}

/* ---- multiset comparison (tables without a key) --------------------------- */

/*
 * A Duplicate table has no key to merge on, and its rows need not be
 * unique: it is compared as a multiset. Both sides give their rows in one
 * order, by every column Doris can order (t->nsort, not JSON), under the
 * value rules (append_pg_sort_expr), NULL first. A run is a stretch of rows
 * with equal sort values; the runs of both sides are merged like keys, and
 * two runs with equal sort values are matched row by row in memory
 * (distinct rows with their number of copies, JSON compared semantically).
 *
 * The source streams through a cursor of the run's REPEATABLE READ
 * transaction, MULTI_CHUNK distinct rows at a time (identical rows are one
 * entry with a count), cut where the sort values change. The destination
 * is asked, per chunk, for its source state (dup_count_query: the change
 * log net of delete markers, or the latest change per key) grouped into
 * distinct rows with their copies, in the sort-value range the chunk
 * covers, in pages of P2D_VERIFY_PAGE_ROWS. A full page's last run may go
 * on in the next page, so it is left for the next page, which starts at
 * that run; a page that is one run only cannot go on, nor can a source run
 * of more than RUN_MAX distinct rows (rows that differ only in JSON
 * columns): the comparison stops there and the rest is counted only
 * (ty->stopped, said in the report). Memory is bounded by a chunk, a page
 * and one run, whatever the table size.
 *
 * Without --full, the sample is the keyed path's: up to
 * P2D_VERIFY_SAMPLE_RANGES ranges of P2D_VERIFY_PAGE_ROWS consecutive rows
 * (in the sort order) spread over the table, each widened to whole runs.
 * A table with no orderable column has no ranges: it is compared whole
 * (within the run limit).
 */

#define CURSOR      "p2d_verify_rows"
#define MULTI_CHUNK (P2D_VERIFY_PAGE_ROWS / 2) /* source rows per chunk: a page holds its range */
#define RUN_MAX     (P2D_VERIFY_PAGE_ROWS - 1) /* distinct rows of one run */
#define SHOW_COLS   16                         /* columns shown of a differing row */

/* One row of either side: the source's texts (pg; a NULL entry is SQL
 * NULL) or a destination answer row (drow: a JSON array, copies last). */
struct rowref {
    const char *const *pg;
    const json_t *drow;
};

/* A distinct source row and its number of copies. */
struct entry {
    char **pg; /* ncols texts, owned; NULL = SQL NULL */
    long long copies;
};

/* Source rows in sort order, cut at a run boundary. */
struct chunk {
    struct entry *e;
    size_t n, cap, ncols;
};

/* The source cursor: the current block and row. */
struct pg_stream {
    PGresult *res;
    int row, nrows;
    bool last_block;   /* res is the cursor's last block */
    const char **vals; /* ncols values of the current row (into res) */
};

/* Sort values of one row as SQL literals, for range conditions. */
struct lits {
    struct p2d_buf buf; /* NUL-separated */
    size_t *off;
    bool *null; /* SQL NULL: no literal */
    const char **ptr;
    size_t n;
};

/* State of one table's multiset comparison. */
struct mstate {
    struct pg_stream s;
    struct chunk ck;
    struct lits lo, hi;   /* the sampled range's ends, Doris literals */
    struct lits prev;     /* the previous chunk's last sort values */
    struct lits cur;      /* this chunk's last sort values */
    struct lits start[2]; /* where destination pages start, alternately */
    long long *dleft;     /* per row of a destination run: copies not matched */
    bool *touched;        /* per row of a destination run: matched some copies */
    struct p2d_buf line;
};

static bool cell_canon(const struct vt *t, size_t k, const struct rowref *r, struct canon *c)
{
    const struct p2d_dcol *d = &t->dt->columns[t->cols[k]].d;

    if (r->pg)
        return canon_pg(d->rule, d->scale, r->pg[k], c);
    return canon_doris(d->rule, d->scale, json_array_get(r->drow, k), c);
}

/* Columns [from, to) of a and b are equal under the value rules; a is the
 * source's row when the sides differ. */
static bool rows_equal(const struct vt *t, const struct rowref *a, const struct rowref *b,
                       size_t from, size_t to)
{
    bool cross = (a->pg != NULL) != (b->pg != NULL), eq = true;

    for (size_t k = from; k < to && eq; k++) {
        struct canon ca, cb;
        bool oka = cell_canon(t, k, a, &ca), okb = cell_canon(t, k, b, &cb);

        eq = oka && okb && canon_equal(&ca, &cb, cross);
        canon_fini(&ca);
        canon_fini(&cb);
    }
    return eq;
}

/* Orders a and b by the sort columns; false when a value cannot be read. */
static bool rows_order(const struct vt *t, const struct rowref *a, const struct rowref *b, int *cmp)
{
    bool ok = true;

    *cmp = 0;
    for (size_t k = 0; k < t->nsort && ok && *cmp == 0; k++) {
        struct canon ca, cb;
        bool oka = cell_canon(t, k, a, &ca), okb = cell_canon(t, k, b, &cb);

        ok = oka && okb && canon_order(&ca, &cb, cmp);
        canon_fini(&ca);
        canon_fini(&cb);
    }
    return ok;
}

static struct rowref entry_ref(const struct chunk *ck, size_t i)
{
    return (struct rowref){.pg = (const char *const *)ck->e[i].pg};
}

static struct rowref doris_ref(const json_t *rows, size_t j)
{
    return (struct rowref){.drow = json_array_get(rows, j)};
}

static void chunk_clear(struct chunk *ck)
{
    for (size_t i = 0; i < ck->n; i++) {
        for (size_t k = 0; k < ck->ncols; k++)
            free(ck->e[i].pg[k]);
        free(ck->e[i].pg);
    }
    ck->n = 0;
}

/* Appends a copy of the row vals (borrowed) with one copy. */
static int chunk_push(struct chunk *ck, const char *const *vals)
{
    struct entry *e;

    if (ck->n == ck->cap) {
        size_t cap = ck->cap ? ck->cap * 2 : 64;
        struct entry *ne = realloc(ck->e, cap * sizeof(*ne));

        if (!ne)
            return P2D_ENOMEM;
        ck->e = ne;
        ck->cap = cap;
    }
    e = &ck->e[ck->n];
    e->copies = 1;
    e->pg = calloc(ck->ncols + 1, sizeof(*e->pg));
    if (!e->pg)
        return P2D_ENOMEM;
    for (size_t k = 0; k < ck->ncols; k++) {
        if (!vals[k])
            continue;
        e->pg[k] = strdup(vals[k]);
        if (!e->pg[k]) {
            for (size_t j = 0; j < k; j++)
                free(e->pg[j]);
            free(e->pg);
            return P2D_ENOMEM;
        }
    }
    ck->n++;
    return 0;
}

static int lits_init(struct lits *l, size_t n)
{
    memset(l, 0, sizeof(*l));
    p2d_buf_init(&l->buf, SQL_MAX);
    l->n = n;
    l->off = calloc(n + 1, sizeof(*l->off));
    l->null = calloc(n + 1, sizeof(*l->null));
    l->ptr = calloc(n + 1, sizeof(*l->ptr));
    return l->off && l->null && l->ptr ? 0 : P2D_ENOMEM;
}

static void lits_fini(struct lits *l)
{
    p2d_buf_fini(&l->buf);
    free(l->off);
    free(l->null);
    free(l->ptr);
}

/* The literals, NULL for SQL NULL; valid until l changes. */
static const char *const *lits_ptrs(struct lits *l)
{
    for (size_t k = 0; k < l->n; k++)
        l->ptr[k] = l->null[k] ? NULL : (const char *)l->buf.data + l->off[k];
    return l->ptr;
}

static bool lits_same(const struct lits *a, const struct lits *b)
{
    return a->buf.len == b->buf.len &&
           (a->buf.len == 0 || !memcmp(a->buf.data, b->buf.data, a->buf.len)) &&
           !memcmp(a->null, b->null, a->n * sizeof(*a->null));
}

/* Doris literals of the sort values of a source row (texts of the values
 * or of their sort expressions: both read the same under the value rule)
 * or of a destination row. */
static int lits_for_doris(struct lits *l, const struct vt *t, const struct rowref *r)
{
    int rc = 0;

    p2d_buf_reset(&l->buf);
    for (size_t k = 0; k < t->nsort && rc == 0; k++) {
        const struct p2d_ddl_column *dc = &t->dt->columns[t->cols[k]];
        struct canon c;

        l->off[k] = l->buf.len;
        if (r->pg) {
            if (!canon_pg(dc->d.rule, dc->d.scale, r->pg[k], &c))
                rc = P2D_EDATA;
            l->null[k] = rc == 0 && c.kind == C_NULL;
            canon_fini(&c);
            if (rc == 0 && !l->null[k])
                rc = append_doris_literal(&l->buf, dc, r->pg[k]);
        } else {
            const json_t *dv = json_array_get(r->drow, k);

            l->null[k] = !dv || json_is_null(dv);
            if (!l->null[k])
                rc = append_json_literal(&l->buf, dc, dv);
        }
        if (rc == 0)
            rc = p2d_buf_append(&l->buf, "", 1);
    }
    return rc;
}

/* PostgreSQL literals of row `row` of r, columns col0.. (sort expression
 * values from the range query). */
static int lits_for_pg(struct verify *v, struct lits *l, const struct vt *t, const PGresult *r,
                       int row, int col0)
{
    int rc = 0;

    p2d_buf_reset(&l->buf);
    for (size_t k = 0; k < t->nsort && rc == 0; k++) {
        l->off[k] = l->buf.len;
        l->null[k] = PQgetisnull(r, row, col0 + (int)k);
        if (!l->null[k])
            rc = p2d_pg_append_literal(v->src, &l->buf, PQgetvalue(r, row, col0 + (int)k));
        if (rc == 0)
            rc = p2d_buf_append(&l->buf, "", 1);
    }
    return rc;
}

/* Appends a source value for a report: NULL, or the quoted text. */
static int append_pg_text(struct p2d_buf *b, const char *s)
{
    int rc;

    if (!s)
        return p2d_pg_appendf(b, "NULL");
    rc = p2d_pg_appendf(b, "\"");
    if (rc == 0)
        rc = append_shown(b, s, strlen(s));
    return rc ? rc : p2d_pg_appendf(b, "\"");
}

/* "(a=1, b="x", ...)" from either side, at most SHOW_COLS columns. */
static int append_row(struct p2d_buf *b, const struct vt *t, const struct rowref *r)
{
    int rc = p2d_pg_appendf(b, "(");

    for (size_t k = 0; k < t->ncols && k < SHOW_COLS && rc == 0; k++) {
        rc = p2d_pg_appendf(b, "%s%s=", k ? ", " : "", t->dt->columns[t->cols[k]].name);
        if (rc == 0)
            rc = r->pg ? append_pg_text(b, r->pg[k])
                       : append_doris_value(b, json_array_get(r->drow, k));
    }
    if (rc == 0 && t->ncols > SHOW_COLS)
        rc = p2d_pg_appendf(b, ", ...");
    return rc ? rc : p2d_pg_appendf(b, ")");
}

/* Counts a row whose copies differ: src in the source, dst in the
 * destination. */
static void note_row(struct mstate *m, const struct vt *t, struct tally *ty, const struct rowref *r,
                     long long src, long long dst)
{
    struct p2d_buf *line = &m->line;
    int rc;

    p2d_buf_reset(line);
    rc = p2d_pg_appendf(line, "row ");
    if (rc == 0)
        rc = append_row(line, t, r);
    if (rc == 0 && src == 1 && dst == 0)
        rc = p2d_pg_appendf(line, ": missing in the destination");
    else if (rc == 0 && src == 0 && dst == 1)
        rc = p2d_pg_appendf(line, ": not in the source");
    else if (rc == 0)
        rc = p2d_pg_appendf(line, ": %lld in the source, %lld in the destination", src, dst);
    if (rc != 0) {
        p2d_buf_reset(line);
        if (p2d_pg_appendf(line, "row (too long to show): copies differ") != 0)
            line->len = 0;
    }
    note_rows(ty, line, src > dst ? src - dst : dst - src);
}

/* The copies of a destination row (its last value). */
static bool row_copies(const json_t *drow, size_t ncols, long long *copies)
{
    const json_t *c = json_array_get(drow, ncols);
    char *end;

    if (json_is_integer(c)) {
        *copies = (long long)json_integer_value(c);
    } else if (json_is_string(c)) {
        *copies = strtoll(json_string_value(c), &end, 10);
        if (*end != '\0' || end == json_string_value(c))
            return false;
    } else {
        return false;
    }
    return *copies > 0;
}

/*
 * Matches the source run ck[i, iend) with the destination run rows[j, jend)
 * (equal sort values): each source row takes its copies from equal
 * destination rows; what is left on either side is a difference.
 */
static void match_runs(struct mstate *m, const struct vt *t, const struct chunk *ck, size_t i,
                       size_t iend, const json_t *rows, size_t j, size_t jend, struct tally *ty)
{
    for (size_t d = j; d < jend; d++) {
        if (!row_copies(json_array_get(rows, d), t->ncols, &m->dleft[d - j]))
            m->dleft[d - j] = 0; /* checked when the page was read */
        m->touched[d - j] = false;
    }
    for (size_t p = i; p < iend; p++) {
        struct rowref pr = entry_ref(ck, p);
        long long need = ck->e[p].copies, took = 0;

        ty->compared += need;
        for (size_t d = j; d < jend && took < need; d++) {
            struct rowref dr = doris_ref(rows, d);
            long long take;

            if (m->dleft[d - j] == 0 || !rows_equal(t, &pr, &dr, 0, t->ncols))
                continue;
            take = need - took < m->dleft[d - j] ? need - took : m->dleft[d - j];
            took += take;
            m->dleft[d - j] -= take;
            m->touched[d - j] = true;
        }
        if (took < need)
            note_row(m, t, ty, &pr, need, took);
    }
    for (size_t d = j; d < jend; d++) {
        struct rowref dr = doris_ref(rows, d);
        long long all;

        if (m->dleft[d - j] == 0)
            continue;
        if (!row_copies(dr.drow, t->ncols, &all))
            all = m->dleft[d - j];
        note_row(m, t, ty, &dr, m->touched[d - j] ? all - m->dleft[d - j] : 0, all);
    }
}

/* Reports the source run ck[i, iend) as missing in the destination. */
static void source_run_missing(struct mstate *m, const struct vt *t, const struct chunk *ck,
                               size_t i, size_t iend, struct tally *ty)
{
    for (size_t p = i; p < iend; p++) {
        struct rowref pr = entry_ref(ck, p);

        ty->compared += ck->e[p].copies;
        note_row(m, t, ty, &pr, ck->e[p].copies, 0);
    }
}

/* Reports the destination run rows[j, jend) as not in the source. */
static void dest_run_extra(struct mstate *m, const struct vt *t, const json_t *rows, size_t j,
                           size_t jend, struct tally *ty)
{
    for (size_t d = j; d < jend; d++) {
        struct rowref dr = doris_ref(rows, d);
        long long all;

        if (!row_copies(dr.drow, t->ncols, &all))
            all = 1;
        note_row(m, t, ty, &dr, 0, all);
    }
}

/* The end of the source run that starts at ck[i]. */
static size_t chunk_run_end(const struct vt *t, const struct chunk *ck, size_t i)
{
    struct rowref a = entry_ref(ck, i);
    size_t e = i + 1;

    for (; e < ck->n; e++) {
        struct rowref b = entry_ref(ck, e);

        if (!rows_equal(t, &a, &b, 0, t->nsort))
            break;
    }
    return e;
}

/*
 * One page of the destination's source state: distinct rows with their
 * copies (last), sort values from lo (NULL: the start; strict: after it) up
 * to hi (NULL: the end, else inclusive), in sort order, at most
 * P2D_VERIFY_PAGE_ROWS. The state of a Duplicate table without a key is
 * its change log net of delete markers, DISTINCT first (a replay after a
 * crash appends identical copies); with a key, the latest change of each
 * key unless it is a delete (dup_count_query). Range conditions go on the
 * log rows for the former (the same rows pass before and after DISTINCT),
 * after the latest change is chosen for the latter.
 */
static int doris_mpage(struct verify *v, const struct vt *t, struct lits *lo, bool lo_strict,
                       struct lits *hi, json_t **rows, json_t **data)
{
    static const char net[] = "SUM(CASE WHEN `_is_deleted` THEN -1 ELSE 1 END)";
    const char *const *names = (const char *const *)t->dr_sname;
    struct p2d_buf q;
    int rc;

    p2d_buf_init(&q, SQL_MAX);
    rc = p2d_pg_appendf(&q, "SELECT %s, %s FROM ", t->dr_select, t->dr_keys ? "count(*)" : net);
    if (rc == 0 && t->dr_keys)
        rc = p2d_pg_appendf(&q,
                            "(SELECT %s, `_is_deleted`, ROW_NUMBER() OVER (PARTITION BY %s ORDER "
                            "BY `_version` DESC, `_record_id` DESC) AS `_p2d_rn` FROM %s) AS "
                            "`latest` WHERE `_p2d_rn` = 1 AND NOT `_is_deleted`%s",
                            t->dr_select, t->dr_keys, t->dr_from, lo || hi ? " AND " : "");
    else if (rc == 0)
        rc = p2d_pg_appendf(&q, "(SELECT DISTINCT * FROM %s%s", t->dr_from,
                            lo || hi ? " WHERE " : "");
    if (rc == 0 && lo)
        rc = p2d_verify_order_bound(&q, t->nsort, names, lits_ptrs(lo), false, lo_strict);
    if (rc == 0 && lo && hi)
        rc = p2d_pg_appendf(&q, " AND ");
    if (rc == 0 && hi)
        rc = p2d_verify_order_bound(&q, t->nsort, names, lits_ptrs(hi), true, false);
    if (rc == 0 && !t->dr_keys)
        rc = p2d_pg_appendf(&q, ") AS `log`");
    if (rc == 0)
        rc = p2d_pg_appendf(&q, " GROUP BY %s", t->dr_select);
    if (rc == 0 && !t->dr_keys)
        rc = p2d_pg_appendf(&q, " HAVING %s > 0", net);
    if (rc == 0 && t->nsort > 0)
        rc = p2d_pg_appendf(&q, " ORDER BY %s", t->dr_msort);
    if (rc == 0)
        rc = p2d_pg_appendf(&q, " LIMIT %d", P2D_VERIFY_PAGE_ROWS);
    if (rc != 0) {
        P2D_ERROR(MOD, "cannot compare \"%s\": a query for its rows cannot be built (%s)",
                  t->dt->source, p2d_strerror(rc));
        v->code = P2D_EXIT_INTERNAL;
    } else {
        rc = doris_query(v, t, (const char *)q.data, rows, data);
    }
    p2d_buf_fini(&q);
    if (rc == 0) {
        for (size_t j = 0; j < json_array_size(*rows); j++) {
            const json_t *r = json_array_get(*rows, j);
            long long copies;

            if (json_is_array(r) && json_array_size(r) == t->ncols + 1 &&
                row_copies(r, t->ncols, &copies))
                continue;
            P2D_ERROR(MOD,
                      "cannot read \"%s\".\"%s\" in the destination: a row is not %zu values "
                      "and a positive count",
                      t->dt->database, t->dt->table, t->ncols);
            v->code = P2D_EXIT_DEST;
            json_decref(*data);
            *data = NULL;
            return P2D_EPROTO;
        }
    }
    return rc;
}

/*
 * Compares the chunk ck with the destination's rows whose sort values lie
 * from lo (NULL: the start; strict: after it) up to hi (NULL: the end,
 * else inclusive). Sets ty->stopped when a destination run fills a page.
 */
static int compare_chunk(struct verify *v, const struct vt *t, struct mstate *m,
                         const struct chunk *ck, struct lits *lo, bool lo_strict, struct lits *hi,
                         struct tally *ty)
{
    json_t *data = NULL, *rows = NULL;
    struct lits *from = lo;
    bool strict = lo_strict;
    size_t i = 0;
    int rc = 0;

    for (;;) {
        size_t nd, usable, j = 0;
        bool full;

        json_decref(data);
        data = NULL;
        rc = doris_mpage(v, t, from, strict, hi, &rows, &data);
        if (rc != 0)
            break;
        nd = json_array_size(rows);
        full = nd == P2D_VERIFY_PAGE_ROWS;
        usable = nd;
        if (full) { /* the last run may go on in the next page */
            struct rowref last = doris_ref(rows, nd - 1);

            for (usable = nd - 1; usable > 0; usable--) {
                struct rowref r = doris_ref(rows, usable - 1);

                if (!rows_equal(t, &r, &last, 0, t->nsort))
                    break;
            }
            if (usable == 0) {
                ty->stopped = true;
                break;
            }
        }
        while (j < usable) {
            struct rowref dr = doris_ref(rows, j);
            size_t jend = j + 1, iend = i;
            int c = 1;

            for (; jend < usable; jend++) {
                struct rowref r = doris_ref(rows, jend);

                if (!rows_equal(t, &dr, &r, 0, t->nsort))
                    break;
            }
            while (i < ck->n) { /* source runs before this one are missing */
                struct rowref pr = entry_ref(ck, i);

                iend = chunk_run_end(t, ck, i);
                if (!rows_order(t, &pr, &dr, &c))
                    c = 2; /* unreadable: report both and move on */
                if (c >= 0)
                    break;
                source_run_missing(m, t, ck, i, iend, ty);
                i = iend;
                c = 1;
            }
            if (i < ck->n && c == 0) {
                match_runs(m, t, ck, i, iend, rows, j, jend, ty);
                i = iend;
            } else {
                if (i < ck->n && c == 2) {
                    source_run_missing(m, t, ck, i, iend, ty);
                    i = iend;
                }
                dest_run_extra(m, t, rows, j, jend, ty);
            }
            j = jend;
        }
        if (!full)
            break;
        {
            struct lits *next = from == &m->start[0] ? &m->start[1] : &m->start[0];
            struct rowref r = doris_ref(rows, usable);

            rc = lits_for_doris(next, t, &r);
            if (rc != 0) {
                P2D_ERROR(MOD, "cannot compare \"%s\": a destination value has no literal form",
                          t->dt->source);
                v->code = P2D_EXIT_INTERNAL;
                break;
            }
            if (from && !strict && lits_same(from, next)) { /* no progress: stop, never loop */
                ty->stopped = true;
                break;
            }
            from = next;
            strict = false;
        }
    }
    if (rc == 0 && !ty->stopped)
        while (i < ck->n) { /* the destination has nothing more in the range */
            size_t iend = chunk_run_end(t, ck, i);

            source_run_missing(m, t, ck, i, iend, ty);
            i = iend;
        }
    json_decref(data);
    return rc;
}

/* Makes the cursor's next row current (s->vals); *have false at the end. */
static int pgs_peek(struct verify *v, const struct vt *t, struct pg_stream *s, bool *have)
{
    *have = false;
    if (!s->res || s->row >= s->nrows) {
        char q[128];
        int rc;

        if (s->res && s->last_block)
            return 0;
        PQclear(s->res);
        s->res = NULL;
        snprintf(q, sizeof(q), "FETCH FORWARD %d FROM " CURSOR, P2D_VERIFY_PAGE_ROWS);
        rc = pg_query(v, q, "cannot read source rows", &s->res);
        if (rc != 0)
            return rc;
        s->nrows = PQntuples(s->res);
        s->row = 0;
        s->last_block = s->nrows < P2D_VERIFY_PAGE_ROWS;
        if (s->nrows == 0)
            return 0;
    }
    for (size_t k = 0; k < t->ncols; k++)
        s->vals[k] =
            PQgetisnull(s->res, s->row, (int)k) ? NULL : PQgetvalue(s->res, s->row, (int)k);
    *have = true;
    return 0;
}

/*
 * Reads the next chunk of source rows into ck: MULTI_CHUNK distinct rows
 * (fewer at the end), then the rest of the last run, so that a chunk ends
 * where the sort values change. Identical rows are one entry with their
 * count. *end: no source row follows. Sets ty->stopped when a run has more
 * than RUN_MAX distinct rows.
 */
static int read_chunk(struct verify *v, const struct vt *t, struct pg_stream *s, struct chunk *ck,
                      bool *end, struct tally *ty)
{
    size_t run = 0; /* first entry of the last run */

    chunk_clear(ck);
    *end = false;
    for (;;) {
        struct rowref r = {.pg = s->vals};
        bool have, found = false;
        int rc = pgs_peek(v, t, s, &have);

        if (rc != 0)
            return rc;
        if (!have) {
            *end = true;
            return 0;
        }
        if (ck->n > 0) {
            struct rowref last = entry_ref(ck, ck->n - 1);

            if (!rows_equal(t, &last, &r, 0, t->nsort)) {
                if (ck->n >= MULTI_CHUNK)
                    return 0;
                run = ck->n;
            } else {
                for (size_t i = ck->n; i-- > run && !found;) {
                    struct rowref e = entry_ref(ck, i);

                    if (rows_equal(t, &e, &r, t->nsort, t->ncols)) {
                        ck->e[i].copies++;
                        found = true;
                    }
                }
                if (!found && ck->n - run >= RUN_MAX) {
                    ty->stopped = true;
                    return 0;
                }
            }
        }
        if (!found) {
            rc = chunk_push(ck, s->vals);
            if (rc != 0)
                return rc;
        }
        s->row++;
    }
}

/*
 * Compares the source rows from row lo_row up to row hi_row of bounds (the
 * sort values, from column 1; NULL bounds: every row) with the
 * destination's.
 */
static int multiset_range(struct verify *v, const struct vt *t, struct mstate *m,
                          const PGresult *bounds, int lo_row, int hi_row, struct tally *ty)
{
    const char *const *exprs = (const char *const *)t->pg_sexpr;
    struct p2d_buf q;
    PGresult *r = NULL;
    bool end = false, first = true;
    int rc;

    p2d_buf_init(&q, SQL_MAX);
    rc = p2d_pg_appendf(&q, "DECLARE " CURSOR " NO SCROLL CURSOR FOR SELECT %s FROM %s",
                        t->pg_select, t->pg_from);
    if (rc == 0 && (t->filter || bounds))
        rc = p2d_pg_appendf(&q, " WHERE ");
    if (rc == 0 && t->filter)
        rc = p2d_pg_appendf(&q, "(%s)%s", t->filter, bounds ? " AND " : "");
    if (rc == 0 && bounds) {
        struct lits *pl = &m->start[0]; /* scratch until the chunks start */

        rc = lits_for_pg(v, pl, t, bounds, lo_row, 1);
        if (rc == 0)
            rc = p2d_verify_order_bound(&q, t->nsort, exprs, lits_ptrs(pl), false, false);
        if (rc == 0)
            rc = lits_for_pg(v, pl, t, bounds, hi_row, 1);
        if (rc == 0)
            rc = p2d_pg_appendf(&q, " AND ");
        if (rc == 0)
            rc = p2d_verify_order_bound(&q, t->nsort, exprs, lits_ptrs(pl), true, false);
    }
    if (rc == 0 && t->nsort > 0)
        rc = p2d_pg_appendf(&q, " ORDER BY %s", t->pg_msort);
    /* the ends as Doris literals: the sort expressions' values read like
     * the values themselves under the value rules */
    for (int end_row = 0; end_row < 2 && rc == 0 && bounds; end_row++) {
        int row = end_row ? hi_row : lo_row;
        struct rowref e = {.pg = m->s.vals};

        for (size_t k = 0; k < t->nsort; k++)
            m->s.vals[k] =
                PQgetisnull(bounds, row, (int)k + 1) ? NULL : PQgetvalue(bounds, row, (int)k + 1);
        rc = lits_for_doris(end_row ? &m->hi : &m->lo, t, &e);
    }
    if (rc != 0) {
        P2D_ERROR(MOD, "cannot compare \"%s\": a range of its rows cannot be written (%s)",
                  t->dt->source, p2d_strerror(rc));
        v->code = P2D_EXIT_INTERNAL;
        p2d_buf_fini(&q);
        return rc;
    }
    rc = pg_query(v, (const char *)q.data, "cannot read source rows", &r);
    PQclear(r);
    p2d_buf_fini(&q);
    if (rc != 0)
        return rc;
    m->s.res = NULL;
    m->s.row = m->s.nrows = 0;
    m->s.last_block = false;
    while (rc == 0 && !end && !ty->stopped) {
        struct lits *hi = NULL, swap;

        rc = read_chunk(v, t, &m->s, &m->ck, &end, ty);
        if (rc != 0 || ty->stopped)
            break;
        if (!end) {
            struct rowref last = entry_ref(&m->ck, m->ck.n - 1);

            rc = lits_for_doris(&m->cur, t, &last);
            if (rc != 0) {
                P2D_ERROR(MOD, "cannot compare \"%s\": a source value has no destination form",
                          t->dt->source);
                v->code = P2D_EXIT_INTERNAL;
                break;
            }
            hi = &m->cur;
        } else if (bounds) {
            hi = &m->hi;
        }
        rc = compare_chunk(v, t, m, &m->ck, first ? (bounds ? &m->lo : NULL) : &m->prev, !first, hi,
                           ty);
        first = false;
        swap = m->prev; /* this chunk's end starts the next one */
        m->prev = m->cur;
        m->cur = swap;
    }
    PQclear(m->s.res);
    m->s.res = NULL;
    chunk_clear(&m->ck);
    if (rc == 0)
        rc = pg_query(v, "CLOSE " CURSOR, "cannot close the source cursor", &r);
    if (rc == 0)
        PQclear(r);
    return rc;
}

/*
 * The sampled ranges: the sort values of rows off+1 and off+page (in the
 * sort order, 1-based) for each range, from one window query; then each
 * range compared. A table the sample would cover, or one without an
 * orderable column, is compared whole.
 */
static int multiset_sample(struct verify *v, const struct vt *t, struct mstate *m, struct tally *ty)
{
    const long long page = P2D_VERIFY_PAGE_ROWS, ranges = P2D_VERIFY_SAMPLE_RANGES;
    long long n = ty->src_rows, want[2 * P2D_VERIFY_SAMPLE_RANGES];
    struct p2d_buf q;
    PGresult *r = NULL;
    int rc, nb;

    if (n <= page * ranges || t->nsort == 0) {
        ty->whole = true;
        return multiset_range(v, t, m, NULL, 0, 0, ty);
    }
    p2d_buf_init(&q, SQL_MAX);
    rc = p2d_pg_appendf(&q, "SELECT * FROM (SELECT row_number() OVER (ORDER BY %s) AS p2d_rn",
                        t->pg_msort);
    for (size_t k = 0; k < t->nsort && rc == 0; k++)
        rc = p2d_pg_appendf(&q, ", %s AS p2d_s%zu", t->pg_sexpr[k], k);
    if (rc == 0)
        rc = p2d_pg_appendf(&q, " FROM %s", t->pg_from);
    if (rc == 0 && t->filter)
        rc = p2d_pg_appendf(&q, " WHERE (%s)", t->filter);
    if (rc == 0)
        rc = p2d_pg_appendf(&q, ") AS p2d_x WHERE p2d_rn IN (");
    for (long long s = 0; s < ranges && rc == 0; s++) {
        long long off = s * (n - page) / (ranges - 1);

        want[2 * s] = off + 1;
        want[2 * s + 1] = off + page;
        rc = p2d_pg_appendf(&q, "%s%lld, %lld", s ? ", " : "", off + 1, off + page);
    }
    if (rc == 0)
        rc = p2d_pg_appendf(&q, ") ORDER BY p2d_rn");
    if (rc == 0)
        rc = pg_query(v, (const char *)q.data, "cannot sample source rows", &r);
    p2d_buf_fini(&q);
    if (rc != 0)
        return rc;
    nb = PQntuples(r);
    for (long long s = 0; s < ranges && rc == 0 && !ty->stopped; s++) {
        int lo = -1, hi = -1;

        for (int i = 0; i < nb; i++) {
            long long rn = atoll(PQgetvalue(r, i, 0));

            if (rn == want[2 * s])
                lo = i;
            if (rn == want[2 * s + 1])
                hi = i;
        }
        if (lo >= 0 && hi >= 0)
            rc = multiset_range(v, t, m, r, lo, hi, ty);
    }
    PQclear(r);
    return rc;
}

/* Compares a table without a key: every row (full) or the sample. */
static int compare_multiset(struct verify *v, const struct vt *t, bool full, struct tally *ty)
{
    struct mstate m;
    int rc;

    memset(&m, 0, sizeof(m));
    m.ck.ncols = t->ncols;
    p2d_buf_init(&m.line, 64 * 1024);
    m.s.vals = calloc(t->ncols + 1, sizeof(*m.s.vals));
    m.dleft = calloc(P2D_VERIFY_PAGE_ROWS, sizeof(*m.dleft));
    m.touched = calloc(P2D_VERIFY_PAGE_ROWS, sizeof(*m.touched));
    rc = m.s.vals && m.dleft && m.touched ? 0 : P2D_ENOMEM;
    if (rc == 0)
        rc = lits_init(&m.lo, t->nsort);
    if (rc == 0)
        rc = lits_init(&m.hi, t->nsort);
    if (rc == 0)
        rc = lits_init(&m.prev, t->nsort);
    if (rc == 0)
        rc = lits_init(&m.cur, t->nsort);
    if (rc == 0)
        rc = lits_init(&m.start[0], t->nsort);
    if (rc == 0)
        rc = lits_init(&m.start[1], t->nsort);
    if (rc == 0)
        rc = full ? multiset_range(v, t, &m, NULL, 0, 0, ty) : multiset_sample(v, t, &m, ty);
    if (rc != 0 && v->code == P2D_EXIT_OK) { /* the cursor may be left open: stop the run */
        P2D_ERROR(MOD, "cannot compare \"%s\": %s", t->dt->source, p2d_strerror(rc));
        v->code = P2D_EXIT_INTERNAL;
    }
    lits_fini(&m.lo);
    lits_fini(&m.hi);
    lits_fini(&m.prev);
    lits_fini(&m.cur);
    lits_fini(&m.start[0]);
    lits_fini(&m.start[1]);
    chunk_clear(&m.ck);
    free(m.ck.e);
    free(m.s.vals);
    free(m.dleft);
    free(m.touched);
    p2d_buf_fini(&m.line);
    return rc;
}

/*
 * The Doris count that stands for the source's rows. A Unique table holds
 * the rows. A Duplicate table holds the full load plus the change log of
 * the stream (_is_deleted, _version, _record_id, see cdc/batcher.h), so
 * its source state is: with a source key, the keys whose latest row (by
 * _version, then _record_id) is not a delete marker; without one, every
 * distinct change row minus twice the delete markers (a marker carries the
 * old row and cancels one copy of it; an update is a marker plus the new
 * row; DISTINCT drops the copies a replay after a crash appends again,
 * which are identical down to _record_id).
 */
static int dup_count_query(const struct vt *t, struct p2d_buf *q)
{
    if (t->dt->model != P2D_MODEL_DUPLICATE)
        return p2d_pg_appendf(q, "SELECT count(*) FROM %s", t->dr_from);
    if (t->dr_keys)
        return p2d_pg_appendf(q,
                              "SELECT count(*) FROM (SELECT `_is_deleted` AS d, ROW_NUMBER() OVER "
                              "(PARTITION BY %s ORDER BY `_version` DESC, `_record_id` DESC) AS rn "
                              "FROM %s) AS latest WHERE rn = 1 AND NOT d",
                              t->dr_keys, t->dr_from);
    return p2d_pg_appendf(q,
                          "SELECT count(*) - 2 * coalesce(sum(CASE WHEN `_is_deleted` THEN 1 ELSE "
                          "0 END), 0) FROM (SELECT DISTINCT * FROM %s) AS log",
                          t->dr_from);
}

static int count_rows(struct verify *v, const struct vt *t, struct tally *ty)
{
    json_t *data = NULL, *rows = NULL, *cell;
    PGresult *r = NULL;
    struct p2d_buf b;
    int rc;

    p2d_buf_init(&b, SQL_MAX);
    rc = p2d_pg_appendf(&b, "SELECT count(*) FROM %s", t->pg_from);
    if (rc == 0 && t->filter)
        rc = p2d_pg_appendf(&b, " WHERE (%s)", t->filter);
    if (rc == 0)
        rc = pg_query(v, (const char *)b.data, "cannot count source rows", &r);
    p2d_buf_fini(&b);
    if (rc != 0)
        return rc;
    ty->src_rows = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    p2d_buf_init(&b, SQL_MAX);
    rc = dup_count_query(t, &b);
    if (rc == 0)
        rc = doris_query(v, t, (const char *)b.data, &rows, &data);
    p2d_buf_fini(&b);
    if (rc != 0)
        return rc;
    cell = json_array_get(json_array_get(rows, 0), 0);
    if (json_is_integer(cell)) {
        ty->dst_rows = (long long)json_integer_value(cell);
    } else if (json_is_string(cell)) {
        ty->dst_rows = atoll(json_string_value(cell));
    } else {
        P2D_ERROR(MOD, "cannot count \"%s\".\"%s\" in the destination: unexpected answer",
                  t->dt->database, t->dt->table);
        v->code = P2D_EXIT_DEST;
        rc = P2D_EPROTO;
    }
    json_decref(data);
    return rc;
}

/* Verifies one table and prints its lines. Returns true on a match. */
static bool verify_table(struct verify *v, const struct vt *t, bool full, struct tally *ty)
{
    bool match;

    if (count_rows(v, t, ty) != 0)
        return false;
    if (t->nkey > 0 && (full ? compare_all(v, t, ty) : compare_sample(v, t, ty)) != 0)
        return false;
    if (t->nkey == 0 && t->multiset && compare_multiset(v, t, full, ty) != 0)
        return false;
    match = ty->src_rows == ty->dst_rows && ty->ndiff == 0;
    printf("table \"%s\" -> \"%s\".\"%s\": %s, source %lld rows, destination %lld rows",
           t->dt->source, t->dt->database, t->dt->table, match ? "match" : "MISMATCH", ty->src_rows,
           ty->dst_rows);
    if (t->nkey == 0 && t->multiset)
        printf(", %lld rows compared (%s), %lld differing rows (%s)\n", ty->compared,
               ty->stopped         ? "stopped early"
               : full || ty->whole ? "all rows"
                                   : "sampled",
               ty->ndiff,
               t->dr_keys ? "Duplicate model: compared as a multiset, the latest change of each key"
                          : "no key: compared as a multiset, the change log net of delete markers");
    else if (t->nkey == 0)
        printf(" (no key: row counts only, rows not compared)\n");
    else
        printf(", %lld rows compared (%s), %lld differing keys\n", ty->compared,
               full || ty->whole ? "all rows" : "sampled", ty->ndiff);
    if (ty->stopped)
        printf("  stopped: more than %d distinct rows share their sort values (every column but "
               "JSON ones, which Doris cannot order), so the rows from there on are counted only\n",
               RUN_MAX);
    for (int i = 0; i < ty->nreport; i++)
        printf("  %s\n", ty->report[i]);
    if (ty->nlines > ty->nreport)
        printf("  ... and %lld more\n", ty->nlines - ty->nreport);
    fflush(stdout);
    return match;
}

int p2d_verify_run(const struct p2d_job *job, bool full)
{
    struct verify v = {.job = job, .code = P2D_EXIT_OK};
    struct p2d_catalog *cat = NULL;
    struct p2d_pg_error e;
    size_t nmatch = 0, nmismatch = 0, ndone = 0;
    int code = P2D_EXIT_INTERNAL;
    struct vt *tables = NULL;

    p2d_log_setup((enum p2d_log_level)job->log_level, (enum p2d_log_format)job->log_format, -1);
    if (p2d_pg_connect(job->source, P2D_PG_SQL, NULL, &v.src, &e) != 0) {
        log_pg_error("cannot connect to the source", &e);
        return p2d_pg_error_exit_code(&e);
    }
    if (p2d_pg_exec(v.src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                    "cannot start a read-only transaction", NULL, &e) != 0) {
        log_pg_error("cannot start a read-only transaction", &e);
        code = p2d_pg_error_exit_code(&e);
        goto out;
    }
    v.sql = p2d_doris_sql_create(&job->dest, 60000);
    if (!v.sql)
        goto out;
    if (p2d_catalog_read(v.src, job, 0, &cat, &e) != 0) {
        log_pg_error("cannot read the source catalog", &e);
        code = P2D_EXIT_SOURCE;
        goto out;
    }
    if (cat->ntables == 0) {
        P2D_ERROR(MOD, "no table of the source matches the selection; hint: check --include, "
                       "--exclude and the job file");
        code = P2D_EXIT_PRECHECK;
        goto out;
    }
    tables = calloc(cat->ntables, sizeof(*tables));
    if (!tables)
        goto out;
    for (size_t i = 0; i < cat->ntables; i++) {
        int rc = build_vt(&v, &tables[i], &cat->tables[i]);

        if (rc != 0) {
            code = rc == P2D_EINVAL ? P2D_EXIT_PRECHECK : P2D_EXIT_INTERNAL;
            goto out;
        }
    }
    for (size_t i = 0; i < cat->ntables && v.code == P2D_EXIT_OK; i++) {
        struct tally ty = {0};
        bool match = verify_table(&v, &tables[i], full, &ty);

        for (int k = 0; k < ty.nreport; k++)
            free(ty.report[k]);
        if (v.code != P2D_EXIT_OK)
            break;
        ndone++;
        if (match)
            nmatch++;
        else
            nmismatch++;
    }
    printf("summary: %zu of %zu tables verified (%s): %zu match, %zu mismatch\n", ndone,
           cat->ntables, full ? "all rows" : "sampled rows", nmatch, nmismatch);
    fflush(stdout);
    code = v.code != P2D_EXIT_OK ? v.code : nmismatch ? P2D_EXIT_MISMATCH : P2D_EXIT_OK;
out:
    if (tables)
        for (size_t i = 0; i < cat->ntables; i++)
            free_vt(&tables[i]);
    free(tables);
    p2d_catalog_destroy(cat);
    p2d_doris_sql_destroy(v.sql);
    if (v.src)
        PQfinish(v.src);
    return code;
}
