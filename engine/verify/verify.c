/*
 * verify.c - `pg2doris verify` (verify.h): counts, then key-ordered row
 * comparison, per selected table.
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

bool p2d_verify_value_equal(enum p2d_value_rule rule, unsigned scale, const char *pg_text,
                            const json_t *doris)
{
    struct canon a, b;
    bool eq = false;

    if (!canon_pg(rule, scale, pg_text, &a)) {
        canon_fini(&a);
        return false; /* the encoder would have rejected the row */
    }
    if (!canon_doris(rule, scale, doris, &b)) {
        canon_fini(&a);
        canon_fini(&b);
        return false;
    }
    if (a.kind == C_JSON && b.kind == C_NULL)
        eq = json_is_null(a.json); /* the document null may land as NULL */
    else if (a.kind != b.kind)
        eq = false;
    else if (a.kind == C_NULL)
        eq = true;
    else if (a.kind == C_NUM)
        eq = num_cmp(&a, &b) == 0;
    else if (a.kind == C_TEXT)
        eq = text_cmp(&a, &b) == 0;
    else if (a.kind == C_DOUBLE)
        eq = a.d == b.d;
    else if (a.kind == C_JSON)
        eq = json_equiv(a.json, b.json);
    canon_fini(&a);
    canon_fini(&b);
    return eq;
}

int p2d_verify_key_cmp(enum p2d_value_rule rule, unsigned scale, const char *pg_text,
                       const json_t *doris, int *cmp)
{
    struct canon a, b;
    int rc = 0;

    *cmp = 0;
    if (rule == P2D_VR_JSON)
        return P2D_EINVAL;
    if (!canon_pg(rule, scale, pg_text, &a) || !canon_doris(rule, scale, doris, &b))
        return P2D_EINVAL;
    if (a.kind == C_NULL || b.kind == C_NULL) /* NULLs sort first */
        *cmp = (a.kind == C_NULL ? 0 : 1) - (b.kind == C_NULL ? 0 : 1);
    else if (a.kind != b.kind)
        rc = P2D_EINVAL;
    else if (a.kind == C_NUM)
        *cmp = num_cmp(&a, &b);
    else if (a.kind == C_TEXT)
        *cmp = text_cmp(&a, &b);
    else if (a.kind == C_DOUBLE)
        *cmp = a.d < b.d ? -1 : a.d > b.d ? 1 : 0;
    else
        rc = P2D_EINVAL;
    return rc;
}

/* ---- the run ---------------------------------------------------------------- */

struct vt {
    const struct p2d_table *ct;
    struct p2d_ddl_table *dt;
    size_t *cols; /* indexes into dt->columns of the compared (source) columns */
    size_t ncols; /* the first nkey are the key, in key order */
    size_t nkey;
    char *pg_select;   /* source column list, Doris order */
    char *pg_order;    /* key sort expressions */
    char *pg_from;     /* "schema"."name" */
    char *dr_select;   /* Doris column list */
    char *dr_order;    /* Doris key columns */
    char dr_from[600]; /* `table` (the session database is the Doris database) */
    const char *filter;
};

struct tally {
    long long src_rows, dst_rows, compared, ndiff;
    bool whole; /* every row compared (--full, or a table the sample covers) */
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

/* Counts one differing key; keeps its line when among the first ones. */
static void note_diff(struct tally *ty, struct p2d_buf *line)
{
    ty->ndiff++;
    if (ty->nreport < P2D_VERIFY_REPORT_KEYS && line->data)
        ty->report[ty->nreport++] = strdup((const char *)line->data);
}

static void free_vt(struct vt *t)
{
    p2d_ddl_table_destroy(t->dt);
    free(t->cols);
    free(t->pg_select);
    free(t->pg_order);
    free(t->pg_from);
    free(t->dr_select);
    free(t->dr_order);
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
    if (t->dt->model == P2D_MODEL_DUPLICATE)
        t->nkey = 0;
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
    case P2D_VR_FLOAT:
        return p2d_pg_appendf(b, "%s", pg_text); /* checked above: a plain number */
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
    if (json_is_real(v) && isfinite(json_real_value(v))) /* DECIMAL: at most 15 digits */
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
static void dup_count_query(const struct vt *t, char *q, size_t qsz)
{
    char keys[1024] = "", c[600];
    size_t n = 0;

    if (t->dt->model != P2D_MODEL_DUPLICATE) {
        snprintf(q, qsz, "SELECT count(*) FROM %s", t->dr_from);
        return;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        const struct p2d_ddl_column *dc = &t->dt->columns[t->cols[i]];

        if (t->ct->columns[dc->source].key_position <= 0)
            continue;
        p2d_doris_quote_ident(dc->name, c, sizeof(c));
        n += (size_t)snprintf(keys + n, n < sizeof(keys) ? sizeof(keys) - n : 0, "%s%s",
                              n ? ", " : "", c);
    }
    if (n > 0 && n < sizeof(keys))
        snprintf(q, qsz,
                 "SELECT count(*) FROM (SELECT `_is_deleted` AS d, ROW_NUMBER() OVER "
                 "(PARTITION BY %s ORDER BY `_version` DESC, `_record_id` DESC) AS rn FROM %s) "
                 "AS latest WHERE rn = 1 AND NOT d",
                 keys, t->dr_from);
    else
        snprintf(q, qsz,
                 "SELECT count(*) - 2 * coalesce(sum(CASE WHEN `_is_deleted` THEN 1 ELSE 0 END), "
                 "0) FROM (SELECT DISTINCT * FROM %s) AS log",
                 t->dr_from);
}

static int count_rows(struct verify *v, const struct vt *t, struct tally *ty)
{
    char q[2400];
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
    dup_count_query(t, q, sizeof(q));
    rc = doris_query(v, t, q, &rows, &data);
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
    match = ty->src_rows == ty->dst_rows && ty->ndiff == 0;
    printf("table \"%s\" -> \"%s\".\"%s\": %s, source %lld rows, destination %lld rows",
           t->dt->source, t->dt->database, t->dt->table, match ? "match" : "MISMATCH", ty->src_rows,
           ty->dst_rows);
    if (t->nkey == 0 && t->dt->model == P2D_MODEL_DUPLICATE)
        printf(" (Duplicate model: rows of the source state counted from the change log, rows "
               "not compared)\n");
    else if (t->nkey == 0)
        printf(" (no key: row counts only, rows not compared)\n");
    else
        printf(", %lld rows compared (%s), %lld differing keys\n", ty->compared,
               full || ty->whole ? "all rows" : "sampled", ty->ndiff);
    for (int i = 0; i < ty->nreport; i++)
        printf("  %s\n", ty->report[i]);
    if (ty->ndiff > ty->nreport)
        printf("  ... and %lld more\n", ty->ndiff - ty->nreport);
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
