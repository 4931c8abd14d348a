/*
 * load.c - one Stream Load as the BE runs it (doris-protocol.md §1.4-§1.8,
 * §2, §4, §5): header validation in the BE's order with its error texts,
 * the label's transaction, body framing and size limits, gzip, the row
 * sink shared by the CSV and JSON parsers (where, delete, mapping, type
 * conversion, strict mode, filtered rows and their error log), the filter
 * ratio, the atomic apply, injected storage faults, and the answer JSON.
 *
 * DESIGN: a load belongs to the one libmicrohttpd connection thread that
 * feeds it; nothing here is shared, and only emu_store_* calls lock.
 */
#include "load_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define GZ_OUT_SIZE (256 * 1024)

int64_t load_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t ms(int64_t ns)
{
    return ns / 1000000;
}

int load_fail(struct emu_load *l, const char *code, const char *fmt, ...)
{
    va_list ap;

    if (l->failed)
        return -1;
    l->failed = true;
    snprintf(l->err.code, sizeof(l->err.code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(l->err.msg, sizeof(l->err.msg), fmt, ap);
    va_end(ap);
    return -1;
}

/* An FE-side (planner / txn) error: the FE's AnalysisException wording. */
#define fe_fail(l, ...) fe_fail_(l, __VA_ARGS__)
static int fe_fail_(struct emu_load *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fe_fail_(struct emu_load *l, const char *fmt, ...)
{
    char msg[900];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return load_fail(l, "ANALYSIS_ERROR", "errCode = 2, detailMessage = %s", msg);
}

void load_fields_reserve(struct emu_load *l, int n)
{
    int cap = l->fields_cap ? l->fields_cap : 32;
    struct load_field *f;

    if (n <= l->fields_cap)
        return;
    while (cap < n)
        cap *= 2;
    f = realloc(l->fields, sizeof(*f) * (size_t)cap);
    if (!f)
        abort();
    l->fields = f;
    l->fields_cap = cap;
}

/* ---- error log ----------------------------------------------------------- */

static void note_error(struct emu_load *l, const char *line, size_t len, const char *reason)
{
    if (!l->first_error[0])
        snprintf(l->first_error, sizeof(l->first_error), "Reason: %s. src line [%.*s]; ", reason,
                 (int)(len > 512 ? 512 : len), line);
    if (l->filtered <= LOAD_MAX_ERROR_LOG) {
        emu_buf_printf(&l->errlog, "Reason: %s. src line [%.*s]; \n", reason, (int)len, line);
    } else if (l->filtered == LOAD_MAX_ERROR_LOG + 1) {
        emu_buf_printf(&l->errlog, "TOO MUCH ERROR! already reach %d. show no more next error.\n",
                       LOAD_MAX_ERROR_LOG);
    }
}

void load_filter(struct emu_load *l, const char *line, size_t line_len, const char *fmt, ...)
{
    char reason[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    l->total++;
    l->filtered++;
    note_error(l, line, line_len, reason);
}

/* Filtered after load_row already counted the row in total. */
static void filter_counted(struct emu_load *l, const char *line, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void filter_counted(struct emu_load *l, const char *line, size_t len, const char *fmt, ...)
{
    char reason[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    l->filtered++;
    note_error(l, line, len, reason);
}

/* ---- predicates (where / delete) ----------------------------------------- */

static bool parse_number(const char *p, size_t n, double *out)
{
    char tmp[128], *end;

    if (n == 0 || n >= sizeof(tmp))
        return false;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    errno = 0;
    *out = strtod(tmp, &end);
    while (*end == ' ')
        end++;
    return *end == '\0' && errno == 0;
}

static bool pred_eval(const struct load_pred *pr, const struct load_field *f)
{
    const struct load_field *v = &f[pr->src];
    int cmp;

    if (pr->op == PRED_IS_NULL)
        return (v->flags & FLD_NULL) != 0;
    if (pr->op == PRED_IS_NOT_NULL)
        return (v->flags & FLD_NULL) == 0;
    if (v->flags & FLD_NULL)
        return false;
    if (pr->literal_is_number) {
        double a, b;

        if (parse_number(v->p, v->n, &a) && parse_number(pr->literal, strlen(pr->literal), &b)) {
            cmp = a < b ? -1 : a > b ? 1 : 0;
            goto decide;
        }
    }
    {
        size_t ln = strlen(pr->literal), m = v->n < ln ? v->n : ln;

        cmp = memcmp(v->p, pr->literal, m);
        if (cmp == 0)
            cmp = v->n < ln ? -1 : v->n > ln ? 1 : 0;
    }
decide:
    switch (pr->op) {
    case PRED_EQ:
        return cmp == 0;
    case PRED_NE:
        return cmp != 0;
    case PRED_LT:
        return cmp < 0;
    case PRED_LE:
        return cmp <= 0;
    case PRED_GT:
        return cmp > 0;
    case PRED_GE:
        return cmp >= 0;
    default:
        return false;
    }
}

/* ---- the row sink --------------------------------------------------------- */

static bool is_string_kind(enum emu_kind k)
{
    return k == EMU_CHAR || k == EMU_VARCHAR || k == EMU_STRING;
}

/* Drops every escape byte and keeps the byte after it (string serde). */
static void unescape_field(int esc, const char *p, size_t n, struct emu_buf *out)
{
    out->len = 0;
    emu_buf_reserve(out, n);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == (char)esc && i + 1 < n)
            i++;
        out->data[out->len++] = p[i];
    }
}

static bool parse_delete_sign(const struct load_field *f, bool *del)
{
    const char *p = f->p, *e = f->p + f->n;
    long v = 0;
    bool digits = false, neg = false;

    if (f->flags & FLD_NULL) {
        *del = false;
        return true;
    }
    while (p < e && *p == ' ')
        p++;
    if (p < e && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    while (p < e && *p >= '0' && *p <= '9' && v < 1000) {
        v = v * 10 + (*p++ - '0');
        digits = true;
    }
    while (p < e && *p == ' ')
        p++;
    if (!digits || p != e)
        return false;
    *del = (neg ? -v : v) != 0;
    return true;
}

/*
 * Runs the fast path of the values fast[0..nfast), all of kind `kind`, and
 * marks those it did not take in `general` (bits of the values left to the
 * general converters). Inlined with constant arguments, so
 * each kind gets its own loop without dispatch:
 *   in_line: the fields lie inside the line (CSV), so the bytes up to its
 *            end are readable; otherwise (JSON values may be unescaped into
 *            scratch) only the field's own.
 *   values:  write the converted values; a load that stores nothing (and
 *            so never reads them: the sequence value too is for the batch)
 *            only needs the checks.
 */
static inline __attribute__((always_inline)) void
run_fast(enum emu_fast_kind kind, bool in_line, bool values, const struct load_fast *fast,
         int nfast, const struct load_field *fields, const char *line_end, uint64_t *general)
{
    for (const struct load_fast *c = fast, *e = fast + nfast; c < e; c++) {
        const struct load_field *f =
            (const struct load_field *)(const void *)((const char *)fields + c->field_off);
        const char *p = f->p;
        size_t n = f->n, avail = in_line ? (size_t)(line_end - p) : n;

        if (f->flags != 0 || !emu_fast_check(kind, &c->fast, p, n, avail))
            general[c->word] |= c->bit;
        else if (values)
            emu_fast_value(kind, p, n, c->out);
    }
}

/*
 * The fast paths of a row's values (emu_fast_convert, one loop per kind);
 * sets l->val_general to the values left to the general path.
 */
static void convert_fast(const struct emu_load *l, const struct load_field *fields,
                         const char *line, size_t line_len)
{
    if (l->val_words == 1)
        l->val_general[0] = l->val_slow[0];
    else
        memcpy(l->val_general, l->val_slow, sizeof(uint64_t) * (size_t)l->val_words);
#define RUN(kind, in_line, values)                                                                 \
    run_fast(kind, in_line, values, l->fast + l->fast_end[kind - 1],                               \
             l->fast_end[kind] - l->fast_end[kind - 1], fields, line + line_len, l->val_general)
#define RUN_ALL(in_line, values)                                                                   \
    do {                                                                                           \
        RUN(EMU_FAST_INT, in_line, values);                                                        \
        RUN(EMU_FAST_DECIMAL, in_line, values);                                                    \
        RUN(EMU_FAST_DATE, in_line, values);                                                       \
        RUN(EMU_FAST_DATETIME, in_line, values);                                                   \
        RUN(EMU_FAST_TEXT, in_line, values);                                                       \
    } while (0)
    /* a CSV field with flags 0 lies in the line (an enclosed one without
     * its enclose bytes) */
    if (l->format == LOAD_CSV && l->discard)
        RUN_ALL(true, false);
    else if (l->format == LOAD_CSV)
        RUN_ALL(true, true);
    else
        RUN_ALL(false, !l->discard);
#undef RUN_ALL
#undef RUN
}

/* The next value left to the general path (the lowest index first), taken
 * off l->val_general; l->nvals when none is left. */
static inline int general_take(struct emu_load *l)
{
    for (int w = 0; w < l->val_words; w++) {
        uint64_t bits = l->val_general[w];

        if (bits) {
            l->val_general[w] = bits & (bits - 1);
            return w * 64 + __builtin_ctzll(bits);
        }
    }
    return l->nvals;
}

void load_row(struct emu_load *l, const struct load_field *fields, const char *line,
              size_t line_len)
{
    struct emu_value seq = {.kind = EMU_V_NULL};
    bool del = l->merge == LOAD_DELETE;
    char why[256];
    /* Copies of l's members: the compiler cannot keep those in registers
     * across the calls of the general path. */
    struct load_val *const vals = l->vals;
    struct emu_value *const row = l->row;
    const struct emu_tz *const tz = &l->tz;

    l->total++;
    if (l->where.set && !pred_eval(&l->where, fields)) {
        l->unselected++;
        return;
    }
    if (l->merge == LOAD_MERGE && pred_eval(&l->del, fields))
        del = true;
    if (l->del_src >= 0) {
        int s = l->del_src;

        if (!parse_delete_sign(&fields[s], &del)) {
            filter_counted(l, line, line_len,
                           "column(__DORIS_DELETE_SIGN__) value is incorrect while strict mode is "
                           "%s, src value is %.*s",
                           l->strict ? "true" : "false", (int)fields[s].n, fields[s].p);
            return;
        }
    }
    /* The fast paths first (they have no side effects, so their order does
     * not matter), then every other value in order: the first of those that
     * fails filters the row. */
    convert_fast(l, fields, line, line_len);
    for (int v; (v = general_take(l)) < l->nvals;) {
        struct load_val *lv = &vals[v];
        struct emu_value *out = &row[v];
        const struct load_field *f;
        const char *p;
        size_t n;
        enum emu_conv rc;

        if (lv->src < 0) {
            *out = lv->deflt;
            continue;
        }
        f = &fields[lv->src];
        if (f->flags & FLD_NULL) {
            if ((f->flags & FLD_MISSING) && lv->deflt_ok) {
                *out = lv->deflt;
                continue;
            }
            if (!lv->nullable) {
                if (f->flags & FLD_MISSING)
                    filter_counted(l, line, line_len,
                                   "The column `%s` is not nullable, but it's not found in "
                                   "jsondata.",
                                   l->table->cols[lv->col].name);
                else if (l->format == LOAD_JSON) /* §1.8: explicit JSON null */
                    filter_counted(l, line, line_len,
                                   "Json value is null, but the column `%s` is not nullable.",
                                   l->table->cols[lv->col].name);
                else
                    filter_counted(l, line, line_len,
                                   "column(%s) values is null while columns is not nullable",
                                   l->table->cols[lv->col].name);
                return;
            }
            out->kind = EMU_V_NULL;
            continue;
        }
        p = f->p;
        n = f->n;
        if ((f->flags & FLD_ESCAPED) && lv->unescape) {
            unescape_field(l->csv.escape, p, n, &lv->unesc);
            p = lv->unesc.data;
            n = lv->unesc.len;
        }
        rc = emu_value_convert(lv->type, p, n, tz, &lv->scratch, out, why, sizeof(why));
        if (rc == EMU_CONV_OK)
            continue;
        if (rc == EMU_CONV_BAD && !l->strict && lv->nullable) {
            out->kind = EMU_V_NULL;
            continue;
        }
        if (rc == EMU_CONV_BAD && l->strict)
            filter_counted(l, line, line_len,
                           "column(%s) value is incorrect while strict mode is true, src value is "
                           "%.*s",
                           l->table->cols[lv->col].name, (int)(n > 256 ? 256 : n), p);
        else if (rc == EMU_CONV_BAD)
            filter_counted(l, line, line_len,
                           "column(%s) values is null while columns is not nullable",
                           l->table->cols[lv->col].name);
        else
            filter_counted(l, line, line_len, "%s; column_name: %s, src value is %.*s",
                           why[0] ? why : "value is out of range", l->table->cols[lv->col].name,
                           (int)(n > 256 ? 256 : n), p);
        return;
    }
    if (l->seq_src >= 0) {
        const struct load_field *f = &fields[l->seq_src];

        if (!(f->flags & FLD_NULL)) {
            enum emu_conv rc = emu_value_convert(l->seq_type, f->p, f->n, &l->tz, &l->seq_scratch,
                                                 &seq, why, sizeof(why));

            if (rc != EMU_CONV_OK) {
                if (rc == EMU_CONV_OVERFLOW || l->strict) {
                    filter_counted(l, line, line_len,
                                   "column(__DORIS_SEQUENCE_COL__) value is incorrect while strict "
                                   "mode is %s, src value is %.*s",
                                   l->strict ? "true" : "false", (int)f->n, f->p);
                    return;
                }
                seq.kind = EMU_V_NULL;
            }
        }
    } else if (l->seq_val >= 0) {
        seq = l->row[l->seq_val];
    }
    l->loaded++;
    if (l->discard)
        return;
    emu_batch_row_begin(&l->batch, del);
    for (int v = 0; v < l->nvals; v++)
        emu_batch_put(&l->batch, &l->row[v]);
    if (l->batch.has_seq)
        emu_batch_put(&l->batch, &seq);
    emu_batch_row_end(&l->batch);
}

/* ---- headers ---------------------------------------------------------------- */

struct hdrs {
    emu_header_fn fn;
    void *req;
};

/* A header's value, or NULL when absent or empty (the BE tests .empty()). */
static const char *hdr(const struct hdrs *h, const char *name)
{
    const char *v = h->fn(h->req, name);

    return v && *v ? v : NULL;
}

static bool hdr_true(const struct hdrs *h, const char *name)
{
    const char *v = hdr(h, name);

    return v && strcasecmp(v, "true") == 0;
}

static int hexdigit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * FE Separator.convertSeparator: "\x"-prefixed hex (pairs of hex digits,
 * and a further "\x" before any pair is also accepted), otherwise the
 * escapes \\ \' \" \r \t \n are unescaped and the rest kept.
 */
static int convert_separator(struct emu_load *l, const char *what, const char *in, char *out,
                             size_t cap, size_t *outlen)
{
    size_t n = 0;

    if ((in[0] == '\\') && (in[1] == 'x' || in[1] == 'X')) {
        const char *p = in + 2;

        while (*p) {
            int hi, lo;

            if (p[0] == '\\' && (p[1] == 'x' || p[1] == 'X')) {
                p += 2;
                continue;
            }
            hi = hexdigit((unsigned char)p[0]);
            lo = hi < 0 ? -1 : hexdigit((unsigned char)p[1]);
            if (hi < 0 || lo < 0 || n >= cap)
                return fe_fail(l, "Invalid %s: %s, hex format should be \\xHH", what, in);
            out[n++] = (char)(hi * 16 + lo);
            p += 2;
        }
    } else {
        for (const char *p = in; *p; p++) {
            char c = *p;

            if (c == '\\' && p[1]) {
                switch (p[1]) {
                case '\\':
                case '\'':
                case '"':
                    c = p[1];
                    p++;
                    break;
                case 'r':
                    c = '\r';
                    p++;
                    break;
                case 't':
                    c = '\t';
                    p++;
                    break;
                case 'n':
                    c = '\n';
                    p++;
                    break;
                default:
                    break;
                }
            }
            if (n >= cap)
                return fe_fail(l, "%s is too long: %s", what, in);
            out[n++] = c;
        }
    }
    if (n == 0)
        return fe_fail(l, "%s is empty", what);
    *outlen = n;
    return 0;
}

/* Splits a comma list honouring backticks. Returns a NULL-terminated array of
 * trimmed, unquoted, malloc'd items; *had_expr is set when an item holds '='. */
static char **split_names(const char *s, int *count, bool *had_expr)
{
    char **items = NULL;
    int n = 0;
    const char *p = s;

    *had_expr = false;
    for (;;) {
        struct emu_buf b;
        bool quoted = false;

        emu_buf_init(&b);
        emu_buf_append(&b, "", 0);
        while (*p == ' ' || *p == '\t')
            p++;
        for (; *p && (quoted || *p != ','); p++) {
            if (*p == '`') {
                if (quoted && p[1] == '`') {
                    emu_buf_append(&b, "`", 1);
                    p++;
                    continue;
                }
                quoted = !quoted;
                continue;
            }
            if (!quoted && *p == '=')
                *had_expr = true;
            if (!quoted && *p == '(')
                *had_expr = true;
            emu_buf_append(&b, p, 1);
        }
        while (b.len && (b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\t'))
            b.data[--b.len] = '\0';
        items = realloc(items, sizeof(char *) * (size_t)(n + 2));
        if (!items)
            abort();
        items[n++] = b.data;
        if (*p != ',')
            break;
        p++;
    }
    items[n] = NULL;
    *count = n;
    return items;
}

static void free_names(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static int find_src(const struct emu_load *l, const char *name)
{
    for (int i = 0; i < l->nsrc; i++)
        if (strcasecmp(l->srcs[i].name, name) == 0)
            return i;
    return -1;
}

static bool is_hidden_name(const char *name)
{
    return strncasecmp(name, "__DORIS_", 8) == 0;
}

static void add_src(struct emu_load *l, const char *name)
{
    struct load_src *s;
    int col;

    l->srcs = realloc(l->srcs, sizeof(*l->srcs) * (size_t)(l->nsrc + 1));
    if (!l->srcs)
        abort();
    s = &l->srcs[l->nsrc++];
    s->name = strdup(name);
    s->role = SRC_IGNORED;
    s->val = -1;
    if (!s->name)
        abort();
    if (strcasecmp(name, "__DORIS_DELETE_SIGN__") == 0) {
        if (l->table->keys_type == EMU_UNIQUE_KEYS)
            s->role = SRC_DELETE_SIGN;
        return;
    }
    if (strcasecmp(name, "__DORIS_SEQUENCE_COL__") == 0) {
        if (l->table->has_seq_type || l->table->seq_col >= 0)
            s->role = SRC_SEQUENCE;
        return;
    }
    col = emu_table_column(l->table, name, strlen(name));
    if (col >= 0 && !is_hidden_name(l->table->cols[col].name))
        s->role = SRC_VALUE;
}

/* `col op literal`, `col is [not] null`. */
static int parse_pred(struct emu_load *l, const char *what, const char *text, struct load_pred *pr)
{
    const char *p = text, *ns, *ne;
    char name[256];
    static const struct {
        const char *s;
        enum pred_op op;
    } ops[] = {{"!=", PRED_NE}, {"<>", PRED_NE}, {"<=", PRED_LE}, {">=", PRED_GE},
               {"=", PRED_EQ},  {"<", PRED_LT},  {">", PRED_GT}};
    bool found = false;

    while (*p == ' ')
        p++;
    if (*p == '`') {
        ns = ++p;
        while (*p && *p != '`')
            p++;
        ne = p;
        if (*p)
            p++;
    } else {
        ns = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '_'))
            p++;
        ne = p;
    }
    if (ne == ns || (size_t)(ne - ns) >= sizeof(name))
        goto unsupported;
    memcpy(name, ns, (size_t)(ne - ns));
    name[ne - ns] = '\0';
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "is not null", 11) == 0 || strncasecmp(p, "is null", 7) == 0) {
        pr->op = strncasecmp(p, "is not null", 11) == 0 ? PRED_IS_NOT_NULL : PRED_IS_NULL;
        p += pr->op == PRED_IS_NULL ? 7 : 11;
        pr->literal = strdup("");
    } else {
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
            size_t n = strlen(ops[i].s);

            if (strncmp(p, ops[i].s, n) == 0) {
                pr->op = ops[i].op;
                p += n;
                found = true;
                break;
            }
        }
        if (!found)
            goto unsupported;
        while (*p == ' ')
            p++;
        if (*p == '\'' || *p == '"') {
            char q = *p++;
            const char *s = p;

            while (*p && *p != q)
                p++;
            if (!*p)
                goto unsupported;
            pr->literal = strndup(s, (size_t)(p - s));
            p++;
        } else {
            const char *s = p;
            double d;

            while (*p && *p != ' ')
                p++;
            if (p == s)
                goto unsupported;
            pr->literal = strndup(s, (size_t)(p - s));
            pr->literal_is_number = parse_number(s, (size_t)(p - s), &d);
        }
    }
    while (*p == ' ')
        p++;
    if (*p)
        goto unsupported;
    if (!pr->literal)
        abort();
    pr->src = find_src(l, name);
    if (pr->src < 0)
        return fe_fail(l, "unknown reference column in %s clause, column=%s", what, name);
    pr->set = true;
    return 0;
unsupported:
    free(pr->literal);
    pr->literal = NULL;
    return load_fail(l, "NOT_IMPLEMENTED_ERROR",
                     "doris-emu supports only `<column> <op> <literal>` (op: = != <> < <= > >=, "
                     "or IS [NOT] NULL) in %s, got: %s",
                     what, text);
}

static void format_now(char *out, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Sets up vals[v] for table column col fed by source src (or -1). */
static int setup_val(struct emu_load *l, int v, int col, int src)
{
    struct load_val *lv = &l->vals[v];
    const struct emu_column *c = &l->table->cols[col];
    char why[256];

    lv->col = col;
    lv->src = src;
    lv->type = &c->type;
    lv->nullable = c->nullable;
    lv->unescape = l->csv.escape >= 0 && is_string_kind(c->type.kind);
    emu_buf_init(&lv->scratch);
    emu_buf_init(&lv->unesc);
    emu_buf_init(&lv->deflt_buf);
    lv->deflt.kind = EMU_V_NULL;
    lv->deflt_ok = false;
    if (c->default_value) {
        const char *d = c->default_value;
        char now[32];

        if (strncasecmp(d, "CURRENT_TIMESTAMP", 17) == 0 || strcasecmp(d, "now()") == 0) {
            format_now(now, sizeof(now));
            d = now;
        }
        emu_buf_append(&lv->deflt_buf, d, strlen(d));
        if (emu_value_convert(&c->type, lv->deflt_buf.data, lv->deflt_buf.len, &l->tz, &lv->scratch,
                              &lv->deflt, why, sizeof(why)) != EMU_CONV_OK)
            return fe_fail(l, "Invalid default value for '%s': %s", c->name, why);
        /* Keep the converted text out of the per-row scratch. */
        if (lv->deflt.kind == EMU_V_TEXT) {
            struct emu_buf keep;

            emu_buf_init(&keep);
            emu_buf_append(&keep, lv->deflt.s, lv->deflt.n);
            emu_buf_fini(&lv->deflt_buf);
            lv->deflt_buf = keep;
            lv->deflt.s = keep.data;
        }
        lv->deflt_ok = true;
    } else if (src < 0 && !c->nullable && !l->partial) {
        return fe_fail(l, "Column has no default value. column: %s", c->name);
    }
    return 0;
}

/* Groups the values with a fast path by kind for load_row (counting sort,
 * value order kept within a kind) and sizes the per-row value bitmaps. */
static void plan_fast(struct emu_load *l)
{
    int n[EMU_FAST_TEXT + 1] = {0}, at[EMU_FAST_TEXT + 1];
    struct emu_fast *plan = calloc((size_t)l->nvals + 1, sizeof(*plan));

    l->val_words = (l->nvals + 63) / 64;
    l->val_slow = calloc((size_t)l->val_words + 1, sizeof(uint64_t));
    l->val_general = calloc((size_t)l->val_words + 1, sizeof(uint64_t));
    l->fast = calloc((size_t)l->nvals + 1, sizeof(*l->fast));
    if (!plan || !l->val_slow || !l->val_general || !l->fast)
        abort();
    for (int v = 0; v < l->nvals; v++) {
        emu_fast_plan(&plan[v], l->vals[v].type);
        if (l->vals[v].src < 0) /* the default */
            plan[v].kind = EMU_FAST_NONE;
        if (plan[v].kind == EMU_FAST_NONE)
            l->val_slow[v / 64] |= UINT64_C(1) << (v % 64);
        n[plan[v].kind]++;
    }
    l->fast_end[0] = 0;
    for (int k = 1; k <= EMU_FAST_TEXT; k++) {
        at[k] = l->fast_end[k - 1];
        l->fast_end[k] = at[k] + n[k];
    }
    for (int v = 0; v < l->nvals; v++) {
        struct load_fast *c;

        if (plan[v].kind == EMU_FAST_NONE)
            continue;
        c = &l->fast[at[plan[v].kind]++];
        c->fast = plan[v];
        c->field_off = (size_t)l->vals[v].src * sizeof(struct load_field);
        c->word = v / 64;
        c->bit = UINT64_C(1) << (v % 64);
        c->out = &l->row[v];
    }
    free(plan);
}

/* Builds sources, values and the sequence mapping; the FE planner's checks. */
static int plan_columns(struct emu_load *l, const struct hdrs *h)
{
    const struct emu_table *t = l->table;
    const char *columns = hdr(h, "columns"), *hidden = hdr(h, "hidden_columns");
    const char *seq_hdr = hdr(h, "function_column.sequence_col");
    bool had_expr;
    int n;

    if (columns) {
        char **names = split_names(columns, &n, &had_expr);

        if (had_expr) {
            free_names(names);
            return load_fail(l, "NOT_IMPLEMENTED_ERROR",
                             "doris-emu does not support column expressions in the `columns` "
                             "header (%s); list plain column names",
                             columns);
        }
        for (int i = 0; i < n; i++) {
            if (!names[i][0]) {
                free_names(names);
                return fe_fail(l, "Column name is empty in columns: %s", columns);
            }
            if (find_src(l, names[i]) >= 0) {
                int rc = fe_fail(l, "Duplicate column: %s", names[i]);

                free_names(names);
                return rc;
            }
            add_src(l, names[i]);
        }
        free_names(names);
    } else {
        for (int c = 0; c < t->ncols; c++)
            if (!is_hidden_name(t->cols[c].name))
                add_src(l, t->cols[c].name);
        if (hidden) {
            char **names = split_names(hidden, &n, &had_expr);

            for (int i = 0; i < n; i++)
                if (names[i][0] && find_src(l, names[i]) < 0)
                    add_src(l, names[i]);
            free_names(names);
        }
    }

    /* values: every table column (full rows), or the listed ones (partial) */
    l->vals = calloc((size_t)t->ncols + 1, sizeof(*l->vals));
    l->row = calloc((size_t)t->ncols + 1, sizeof(*l->row));
    if (!l->vals || !l->row)
        abort();
    l->nvals = 0;
    for (int c = 0; c < t->ncols; c++) {
        int src = -1;

        if (is_hidden_name(t->cols[c].name))
            continue;
        for (int s = 0; s < l->nsrc; s++)
            if (l->srcs[s].role == SRC_VALUE &&
                emu_table_column(t, l->srcs[s].name, strlen(l->srcs[s].name)) == c)
                src = s;
        if (l->partial && src < 0) {
            if (t->cols[c].is_key)
                return fe_fail(l, "Partial update should include all key columns, missing: %s",
                               t->cols[c].name);
            continue;
        }
        if (src >= 0)
            l->srcs[src].val = l->nvals;
        if (setup_val(l, l->nvals++, c, src) < 0)
            return -1;
    }

    plan_fast(l);

    l->del_src = -1;
    for (int s = 0; s < l->nsrc; s++)
        if (l->srcs[s].role == SRC_DELETE_SIGN)
            l->del_src = s;

    /* sequence */
    l->seq_src = -1;
    l->seq_val = -1;
    for (int s = 0; s < l->nsrc; s++)
        if (l->srcs[s].role == SRC_SEQUENCE)
            l->seq_src = s;
    if (t->has_seq_type) {
        l->seq_type = &t->seq_type;
        if (seq_hdr) {
            l->seq_src = find_src(l, seq_hdr);
            if (l->seq_src < 0)
                return fe_fail(l,
                               "unknown reference column, column=__DORIS_SEQUENCE_COL__, "
                               "reference=%s",
                               seq_hdr);
        }
        if (l->seq_src < 0 && !l->partial && l->merge != LOAD_DELETE)
            return fe_fail(l, "Table %s has sequence column, need to specify the sequence column",
                           t->name);
    } else if (t->seq_col >= 0) {
        l->seq_type = &t->cols[t->seq_col].type;
        for (int v = 0; v < l->nvals; v++)
            if (l->vals[v].col == t->seq_col)
                l->seq_val = v;
        if (l->seq_src >= 0 && l->seq_val >= 0)
            l->seq_src = -1; /* the mapped column carries it */
    } else if (seq_hdr) {
        return fe_fail(l, "There is no sequence column in the table %s", t->name);
    }
    emu_buf_init(&l->seq_scratch);
    return 0;
}

/* ---- answers ------------------------------------------------------------------ */

/* A JSON string from arbitrary bytes (invalid UTF-8 bytes become '?'). */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    char *copy;

    if (j)
        return j;
    copy = strdup(s);
    if (!copy)
        abort();
    for (unsigned char *p = (unsigned char *)copy; *p; p++) {
        if (*p < 0x80)
            continue;
        size_t need = *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : *p >= 0xC0 ? 1 : 0;
        size_t k = 0;

        while (k < need && (p[k + 1] & 0xC0) == 0x80)
            k++;
        if (need == 0 || k < need || *p > 0xF4) {
            *p = '?';
            continue;
        }
        p += need;
    }
    j = json_string(copy);
    if (!j) {
        for (unsigned char *p = (unsigned char *)copy; *p; p++)
            if (*p >= 0x80)
                *p = '?';
        j = json_string(copy);
    }
    free(copy);
    return j;
}

static void set(json_t *o, const char *k, json_t *v)
{
    json_object_set_new(o, k, v);
}

/*
 * The answer in StreamLoadContext::to_json order. status is "Success",
 * "Publish Timeout", "Label Already Exists" or "Fail"; message is "OK" or
 * "[CODE]msg".
 */
static json_t *answer(struct emu_load *l, const char *status, const char *existing,
                      const char *message, const char *error_url)
{
    json_t *o = json_object();
    int64_t now = load_now_ns();
    int64_t recv_ns = l->t_last_byte ? l->t_last_byte - l->t_start : 0;

    set(o, "TxnId", json_integer(l->txn_id));
    set(o, "Label", jstr(l->label));
    set(o, "Comment", jstr(l->comment));
    if (l->group_commit) {
        set(o, "GroupCommit", json_true());
        set(o, "GroupCommitMode", json_string(l->group_commit_mode));
        set(o, "LoadId", json_string(l->load_id));
    } else {
        set(o, "TwoPhaseCommit", json_string(l->two_phase ? "true" : "false"));
    }
    set(o, "Status", json_string(status));
    if (existing)
        set(o, "ExistingJobStatus", json_string(existing));
    set(o, "Message", jstr(message));
    set(o, "NumberTotalRows", json_integer(l->total));
    set(o, "NumberLoadedRows", json_integer(l->loaded));
    set(o, "NumberFilteredRows", json_integer(l->filtered));
    set(o, "NumberUnselectedRows", json_integer(l->unselected));
    set(o, "LoadBytes", json_integer((json_int_t)l->received));
    set(o, "LoadTimeMs", json_integer(ms(now - l->t_start)));
    if (!l->group_commit)
        set(o, "BeginTxnTimeMs", json_integer(ms(l->t_begin_txn_ns)));
    set(o, "StreamLoadPutTimeMs", json_integer(ms(l->t_put_ns)));
    set(o, "ReadDataTimeMs", json_integer(ms(l->t_read_ns)));
    set(o, "WriteDataTimeMs", json_integer(ms(l->t_last_byte ? now - l->t_last_byte : 0)));
    set(o, "ReceiveDataTimeMs", json_integer(ms(recv_ns)));
    if (!l->group_commit)
        set(o, "CommitAndPublishTimeMs", json_integer(ms(l->t_commit_ns)));
    if (error_url && *error_url)
        set(o, "ErrorURL", jstr(error_url));
    if (l->filtered > 0 && l->first_error[0])
        set(o, "FirstErrorMsg", jstr(l->first_error));
    return o;
}

static json_t *fail_answer(struct emu_load *l, const char *error_url)
{
    char msg[1200];

    snprintf(msg, sizeof(msg), "[%s]%s", l->err.code, l->err.msg);
    return answer(l, "Fail", NULL, msg, error_url);
}

char *emu_answer_text(const json_t *a)
{
    char *s = json_dumps(a, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    size_t n;
    char *out;

    if (!s)
        return NULL;
    n = strlen(s);
    out = malloc(n + 2);
    if (!out)
        abort();
    memcpy(out, s, n);
    out[n] = '\n';
    out[n + 1] = '\0';
    free(s);
    return out;
}

/* ---- lifecycle ---------------------------------------------------------------- */

static void random_hex(char *out, size_t nbytes)
{
    unsigned char b[32];

    if (nbytes > sizeof(b))
        nbytes = sizeof(b);
    if (getrandom(b, nbytes, 0) != (ssize_t)nbytes) {
        uint64_t x = (uint64_t)load_now_ns() ^ (uint64_t)(uintptr_t)out;

        for (size_t i = 0; i < nbytes; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            b[i] = (unsigned char)(x >> 56);
        }
    }
    for (size_t i = 0; i < nbytes; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void make_uuid(char *out)
{
    char h[33];

    random_hex(h, 16);
    h[12] = '4';
    h[16] = "89ab"[hexdigit((unsigned char)h[16]) & 3];
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static bool label_ok(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > 128)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != ':')
            return false;
    return true;
}

static void load_free(struct emu_load *l)
{
    if (!l)
        return;
    if (l->z_ready)
        inflateEnd(&l->zs);
    free(l->zout);
    for (int s = 0; s < l->nsrc; s++)
        free(l->srcs[s].name);
    free(l->srcs);
    for (int v = 0; v < l->nvals; v++) {
        emu_buf_fini(&l->vals[v].scratch);
        emu_buf_fini(&l->vals[v].unesc);
        emu_buf_fini(&l->vals[v].deflt_buf);
    }
    free(l->vals);
    free(l->row);
    free(l->fast);
    free(l->val_slow);
    free(l->val_general);
    emu_buf_fini(&l->seq_scratch);
    free(l->where.literal);
    free(l->del.literal);
    for (int i = 0; i < l->json.npaths; i++)
        free(l->json.paths[i]);
    free(l->json.paths);
    free(l->json.root);
    if (l->batch.table)
        emu_batch_fini(&l->batch);
    emu_buf_fini(&l->errlog);
    emu_buf_fini(&l->carry);
    emu_buf_fini(&l->unesc);
    free(l->fields);
    emu_table_unref(l->table);
    free(l);
}

static void abort_txn(struct emu_load *l, const char *reason)
{
    if (l->txn_open) {
        emu_store_txn_abort(l->store, l->txn_id, reason);
        l->txn_open = false;
    }
}

/* Header checks of StreamLoadAction::_process_put (after the txn began). */
static int check_put_headers(struct emu_load *l, const struct hdrs *h)
{
    const char *v;

    if ((v = hdr(h, "column_separator")) &&
        convert_separator(l, "column separator", v, l->csv.sep, sizeof(l->csv.sep),
                          &l->csv.sep_len) < 0)
        return -1;
    if ((v = hdr(h, "line_delimiter")) &&
        convert_separator(l, "line delimiter", v, l->csv.delim, sizeof(l->csv.delim),
                          &l->csv.delim_len) < 0)
        return -1;
    if ((v = hdr(h, "enclose"))) {
        if (strlen(v) != 1)
            return load_fail(l, "INVALID_ARGUMENT", "enclose must be single-char, actually is %s",
                             v);
        l->csv.enclose = (unsigned char)v[0];
    }
    if ((v = hdr(h, "escape"))) {
        if (strlen(v) != 1)
            return load_fail(l, "INVALID_ARGUMENT", "escape must be single-char, actually is %s",
                             v);
        l->csv.escape = (unsigned char)v[0];
    }
    if (hdr(h, "partitions") && hdr(h, "temporary_partitions"))
        return load_fail(l, "INVALID_ARGUMENT",
                         "Can not specify both partitions and temporary partitions");
    if ((v = hdr(h, "strict_mode"))) {
        if (strcasecmp(v, "true") == 0)
            l->strict = true;
        else if (strcasecmp(v, "false") != 0)
            return load_fail(l, "INVALID_ARGUMENT",
                             "Invalid strict mode format. Must be bool type");
    }
    v = hdr(h, "timezone");
    if (!v)
        v = hdr(h, "time_zone");
    if (v) {
        struct emu_err e;

        if (emu_tz_parse(v, &l->tz, &e) < 0)
            return fe_fail(l, "%s", e.msg);
    }
    if ((v = hdr(h, "exec_mem_limit"))) {
        char *end;

        errno = 0;
        (void)strtoll(v, &end, 10);
        if (end == v)
            return load_fail(l, "INVALID_ARGUMENT", "Invalid mem limit format, stoll");
    }
    if (l->format == LOAD_JSON) {
        if ((v = hdr(h, "jsonpaths"))) {
            json_error_t je;
            json_t *arr = json_loads(v, 0, &je);
            size_t i;
            json_t *it;

            if (!arr || !json_is_array(arr)) {
                json_decref(arr);
                return fe_fail(l, "Invalid jsonpaths: %s", v);
            }
            l->json.paths = calloc(json_array_size(arr) + 1, sizeof(char *));
            if (!l->json.paths)
                abort();
            json_array_foreach(arr, i, it)
            {
                char *c = json_is_string(it) ? json_path_compile(json_string_value(it)) : NULL;

                if (!c) {
                    json_decref(arr);
                    return load_fail(l, "NOT_IMPLEMENTED_ERROR",
                                     "doris-emu supports only jsonpaths of the form $.a.b, got: %s",
                                     v);
                }
                l->json.paths[l->json.npaths++] = c;
            }
            json_decref(arr);
        }
        if ((v = hdr(h, "json_root")) && !(l->json.root = json_path_compile(v)))
            return load_fail(l, "NOT_IMPLEMENTED_ERROR",
                             "doris-emu supports only json_root of the form $.a.b, got: %s", v);
        l->json.strip_outer_array = hdr_true(h, "strip_outer_array");
        l->json.by_line = hdr_true(h, "read_json_by_line");
        if (!hdr(h, "read_json_by_line") && !hdr(h, "strip_outer_array")) {
            l->json.by_line = true;
            l->json.strip_outer_array = false;
        }
        l->json.num_as_string = hdr_true(h, "num_as_string");
    }
    if ((v = hdr(h, "send_batch_parallelism")) || (v = hdr(h, "load_stream_per_node"))) {
        char *end;

        (void)strtol(v, &end, 10);
        if (end == v || *end)
            return load_fail(l, "INVALID_ARGUMENT", "Invalid argument: %s", v);
    }
    if ((v = hdr(h, "merge_type"))) {
        bool has_del = hdr(h, "delete") != NULL;

        if (strcasecmp(v, "APPEND") == 0)
            l->merge = LOAD_APPEND;
        else if (strcasecmp(v, "DELETE") == 0)
            l->merge = LOAD_DELETE;
        else if (strcasecmp(v, "MERGE") == 0)
            l->merge = LOAD_MERGE;
        else
            return load_fail(l, "INVALID_ARGUMENT", "Invalid merge type %s", v);
        if (l->merge == LOAD_MERGE && !has_del)
            return load_fail(l, "INVALID_ARGUMENT",
                             "Excepted DELETE ON clause when merge type is MERGE.");
        if (l->merge != LOAD_MERGE && has_del)
            return load_fail(l, "INVALID_ARGUMENT",
                             "Not support DELETE ON clause when merge type is not MERGE.");
    }
    if ((v = hdr(h, "max_filter_ratio")))
        l->max_filter_ratio = strtod(v, NULL);
    l->csv.trim_double_quotes = hdr_true(h, "trim_double_quotes");
    if ((v = hdr(h, "skip_lines"))) {
        char *end;
        long n;

        errno = 0;
        n = strtol(v, &end, 10);
        if (end == v || *end || errno)
            return load_fail(l, "INVALID_ARGUMENT", "Invalid skip_lines format: %s", v);
        if (n < 0)
            return load_fail(l, "INVALID_ARGUMENT", "Invalid 'skip_lines': %ld", n);
        if (l->csv.skip_lines == 0) /* csv_with_names* ignores skip_lines */
            l->csv.skip_lines = n;
    }
    if ((v = hdr(h, "unique_key_update_mode"))) {
        if (strcasecmp(v, "UPSERT") == 0) {
            l->partial = false;
        } else if (strcasecmp(v, "UPDATE_FIXED_COLUMNS") == 0) {
            l->partial = true;
        } else if (strcasecmp(v, "UPDATE_FLEXIBLE_COLUMNS") == 0) {
            static const char *const banned[][2] = {
                {"columns", "'columns'"},
                {"jsonpaths", "'jsonpaths'"},
                {"hidden_columns", "'hidden_columns'"},
                {"function_column.sequence_col", "'function_column.sequence_col'"},
                {"merge_type", "'merge_type'"},
                {"where", "'where'"},
            };

            if (l->format != LOAD_JSON)
                return load_fail(l, "INVALID_ARGUMENT",
                                 "flexible partial update only support json format as input "
                                 "file currently");
            if (hdr_true(h, "fuzzy_parse"))
                return load_fail(l, "INVALID_ARGUMENT",
                                 "Don't support flexible partial update when 'fuzzy_parse' is "
                                 "enabled");
            for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
                if (hdr(h, banned[i][0]))
                    return load_fail(l, "INVALID_ARGUMENT",
                                     "Don't support flexible partial update when %s is specified",
                                     banned[i][1]);
            return load_fail(l, "NOT_IMPLEMENTED_ERROR",
                             "doris-emu does not implement unique_key_update_mode "
                             "UPDATE_FLEXIBLE_COLUMNS; use UPDATE_FIXED_COLUMNS");
        } else {
            return load_fail(l, "INVALID_ARGUMENT",
                             "Invalid unique_key_partial_mode %s, must be one of 'UPSERT', "
                             "'UPDATE_FIXED_COLUMNS' or 'UPDATE_FLEXIBLE_COLUMNS'",
                             v);
        }
    } else if (hdr_true(h, "partial_columns")) {
        l->partial = true;
    }
    if ((v = hdr(h, "partial_update_new_key_behavior"))) {
        if (strcasecmp(v, "ERROR") == 0) {
            l->batch.new_key_error = true;
        } else if (strcasecmp(v, "APPEND") != 0) {
            char up[128];
            size_t i;

            for (i = 0; v[i] && i + 1 < sizeof(up); i++)
                up[i] = (char)toupper((unsigned char)v[i]);
            up[i] = '\0';
            return load_fail(l, "INVALID_ARGUMENT",
                             "Invalid partial_update_new_key_behavior %s, must be one of "
                             "{'APPEND', 'ERROR'}",
                             up);
        }
    }
    return 0;
}

/* The FE planner's checks (streamLoadPut) and the column plan. */
static int plan(struct emu_load *l, const struct hdrs *h)
{
    const struct emu_table *t = l->table;
    const char *v;

    if (l->merge != LOAD_APPEND && t->keys_type != EMU_UNIQUE_KEYS)
        return fe_fail(l, "load by MERGE or DELETE is only supported in unique tables.");
    if (l->partial && (t->keys_type != EMU_UNIQUE_KEYS || !t->merge_on_write))
        return fe_fail(l, "load by PARTIAL_COLUMNS is only supported in unique table MoW");
    if (plan_columns(l, h) < 0)
        return -1;
    if ((v = hdr(h, "where")) && parse_pred(l, "where", v, &l->where) < 0)
        return -1;
    if (l->merge == LOAD_MERGE && parse_pred(l, "DELETE ON", hdr(h, "delete"), &l->del) < 0)
        return -1;
    return 0;
}

struct emu_load *emu_load_begin(const struct emu_load_env *env, const char *db, const char *table,
                                emu_header_fn header, void *req, json_t **answer_out)
{
    struct hdrs h = {header, req};
    struct emu_load *l = calloc(1, sizeof(*l));
    const char *v, *cl, *te, *gc;
    struct emu_err e;
    int64_t t0;
    int rc;
    bool new_key_error;

    if (!l)
        abort();
    *answer_out = NULL;
    l->t_start = load_now_ns();
    l->env = *env;
    l->store = env->store;
    l->discard = emu_store_discard(env->store);
    l->txn_id = -1;
    l->content_length = -1;
    snprintf(l->db, sizeof(l->db), "%s", db);
    l->csv.sep[0] = '\t';
    l->csv.sep_len = 1;
    l->csv.delim[0] = '\n';
    l->csv.delim_len = 1;
    l->csv.enclose = -1;
    l->csv.escape = -1;
    l->seq_src = l->seq_val = l->del_src = -1;
    snprintf(l->tz.name, sizeof(l->tz.name), "UTC");
    emu_buf_init(&l->errlog);
    emu_buf_init(&l->carry);
    emu_buf_init(&l->unesc);
    emu_buf_init(&l->seq_scratch);

    /* on_header: label, 2PC, group commit */
    if ((v = hdr(&h, "label")))
        snprintf(l->label, sizeof(l->label), "%s", v);
    l->two_phase = (v = h.fn(h.req, "two_phase_commit")) && strcmp(v, "true") == 0;
    cl = hdr(&h, "Content-Length");
    te = hdr(&h, "Transfer-Encoding");
    l->chunked = te && strstr(te, "chunked");
    if ((v = hdr(&h, "comment")))
        snprintf(l->comment, sizeof(l->comment), "%s", v);
    gc = hdr(&h, "group_commit");
    if (gc && strcasecmp(gc, "sync_mode") != 0 && strcasecmp(gc, "async_mode") != 0 &&
        strcasecmp(gc, "off_mode") != 0) {
        load_fail(&*l, "INVALID_ARGUMENT",
                  "group_commit can only be [async_mode, sync_mode, off_mode]");
    } else if (gc && strcasecmp(gc, "off_mode") != 0 &&
               !(cl && strtoll(cl, NULL, 10) == 0 && !l->chunked)) {
        bool off = hdr_true(&h, "partial_columns") || hdr(&h, "partitions") ||
                   hdr(&h, "temporary_partitions") || l->two_phase;

        if ((v = hdr(&h, "unique_key_update_mode")) &&
            (strcasecmp(v, "UPDATE_FIXED_COLUMNS") == 0 ||
             strcasecmp(v, "UPDATE_FLEXIBLE_COLUMNS") == 0))
            off = true;
        if (l->chunked)
            l->label[0] = '\0';
        if (!off) {
            if (l->label[0]) {
                load_fail(l, "INVALID_ARGUMENT",
                          "label and group_commit can't be set at the same time");
            } else {
                char hi[17], lo[17];

                random_hex(hi, 8);
                random_hex(lo, 8);
                l->group_commit = true;
                snprintf(l->group_commit_mode, sizeof(l->group_commit_mode), "%s",
                         strcasecmp(gc, "async_mode") == 0 ? "async_mode" : "sync_mode");
                snprintf(l->load_id, sizeof(l->load_id), "%s-%s", hi, lo);
                snprintf(l->label, sizeof(l->label), "group_commit_%s_%s", hi, lo);
            }
        }
    }
    if (!l->group_commit && !l->label[0])
        make_uuid(l->label);
    if (l->failed)
        goto fail;

    /* _on_header: format, sizes, framing, timeout */
    v = hdr(&h, "format");
    if (!v || strcasecmp(v, "csv") == 0) {
        l->format = LOAD_CSV;
    } else if (strcasecmp(v, "csv_with_names") == 0) {
        l->format = LOAD_CSV;
        l->csv.skip_lines = 1;
    } else if (strcasecmp(v, "csv_with_names_and_types") == 0) {
        l->format = LOAD_CSV;
        l->csv.skip_lines = 2;
    } else if (strcasecmp(v, "json") == 0) {
        l->format = LOAD_JSON;
    } else if (strcasecmp(v, "parquet") == 0 || strcasecmp(v, "orc") == 0 ||
               strcasecmp(v, "arrow") == 0) {
        load_fail(l, "NOT_IMPLEMENTED_ERROR",
                  "doris-emu does not support format=%s; use csv or json", v);
        goto fail;
    } else {
        load_fail(l, "E-1101", "unknown data format, format=%s", v);
        goto fail;
    }
    if ((v = hdr(&h, "compress_type")) && strcasecmp(v, "plain") != 0) {
        static const char *const other[] = {"bz2", "lz4",  "lz4frame", "lz4_block",
                                            "lzo", "lzop", "deflate",  "snappy_block"};
        bool known = false;

        if (strcasecmp(v, "gz") == 0) {
            l->gzip = true;
        } else {
            for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
                known = known || strcasecmp(v, other[i]) == 0;
            if (known)
                load_fail(l, "NOT_IMPLEMENTED_ERROR",
                          "doris-emu does not support compress_type=%s; use gz or plain", v);
            else
                load_fail(l, "E-1101", "unknown data format, format=%s",
                          (v = hdr(&h, "format")) ? v : "");
            goto fail;
        }
    }
    {
        uint64_t csv_max = (uint64_t)env->max_body_mb * 1024 * 1024;
        uint64_t json_max = (uint64_t)env->json_max_mb * 1024 * 1024;
        bool by_line = hdr_true(&h, "read_json_by_line");

        l->body_limit = csv_max;
        if (cl) {
            char *end;
            long long n;

            errno = 0;
            n = strtoll(cl, &end, 10);
            if (end == cl || *end || errno || n < 0) {
                load_fail(l, "INVALID_ARGUMENT", "invalid HTTP header CONTENT_LENGTH=%s: stol", cl);
                goto fail;
            }
            l->content_length = n;
            if (l->format == LOAD_JSON && (uint64_t)n > json_max && !by_line) {
                load_fail(l, "E-217",
                          "json body size %lld exceed BE's conf `streaming_load_json_max_mb` "
                          "%llu. increase it if you are sure this load is reasonable",
                          n, (unsigned long long)json_max);
                goto fail;
            } else if ((uint64_t)n > csv_max) {
                load_fail(l, "E-217",
                          "body size %lld exceed BE's conf `streaming_load_max_mb` %llu. increase "
                          "it if you are sure this load is reasonable",
                          n, (unsigned long long)csv_max);
                goto fail;
            }
        }
        if (l->format == LOAD_JSON && !by_line && hdr_true(&h, "strip_outer_array"))
            l->body_limit = json_max;
        else if (l->format == LOAD_JSON && !by_line && hdr(&h, "read_json_by_line"))
            l->body_limit = json_max;
    }
    if (!cl && !l->chunked) {
        load_fail(l, "INVALID_ARGUMENT",
                  "content_length is empty and transfer-encoding!=chunked, please set "
                  "content_length or transfer-encoding=chunked");
        goto fail;
    }
    if (cl && l->chunked) {
        load_fail(l, "INVALID_ARGUMENT",
                  "please do not set both content_length and "
                  "transfer-encoding");
        goto fail;
    }
    if ((v = hdr(&h, "timeout"))) {
        char *end;
        long n;

        errno = 0;
        n = strtol(v, &end, 10);
        if (end == v || *end || errno || n > 2147483647L || n < -2147483647L) {
            load_fail(l, "INVALID_ARGUMENT", "Invalid timeout format: %s", v);
            goto fail;
        }
    }

    /* begin_txn (FE): label format, table, label uniqueness */
    if (!label_ok(l->label)) {
        fe_fail(l, "Label format error. regex: ^[-_A-Za-z0-9:]{1,128}$, label: %s", l->label);
        goto fail;
    }
    l->table = emu_store_table(l->store, db, table, &e);
    if (!l->table) {
        fe_fail(l, "%s", e.msg);
        goto fail;
    }
    t0 = load_now_ns();
    {
        enum emu_txn_state existing = EMU_TXN_PREPARE;
        int64_t txn = -1;

        rc = emu_store_txn_begin(l->store, db, l->label, table, &txn, &existing);
        l->t_begin_txn_ns = load_now_ns() - t0;
        if (rc == 1) {
            const char *js = existing == EMU_TXN_PRECOMMITTED ? "PRECOMMITTED"
                             : existing == EMU_TXN_VISIBLE    ? "FINISHED"
                                                              : "RUNNING";
            char msg[512];

            snprintf(msg, sizeof(msg),
                     "[LABEL_ALREADY_EXISTS]errCode = 2, detailMessage = Label [%s] has already "
                     "been used, relate to txn [%lld]",
                     l->label, (long long)txn);
            *answer_out = answer(l, "Label Already Exists", js, msg, NULL);
            load_free(l);
            return NULL;
        }
        if (rc != 0) {
            fe_fail(l, "failed to begin transaction for label %s", l->label);
            goto fail;
        }
        l->txn_id = txn;
        l->txn_open = true;
    }

    /* _process_put and the FE plan */
    t0 = load_now_ns();
    if (check_put_headers(l, &h) < 0 || plan(l, &h) < 0) {
        l->t_put_ns = load_now_ns() - t0;
        goto fail;
    }
    new_key_error = l->batch.new_key_error; /* set by check_put_headers; init clears it */
    emu_batch_init(&l->batch, l->table, NULL, 0);
    l->batch.new_key_error = new_key_error;
    free(l->batch.col_of_val);
    l->batch.col_of_val = malloc(sizeof(int) * (size_t)(l->nvals ? l->nvals : 1));
    if (!l->batch.col_of_val)
        abort();
    for (int i = 0; i < l->nvals; i++)
        l->batch.col_of_val[i] = l->vals[i].col;
    l->batch.nvals = l->nvals;
    l->batch.partial = l->partial;
    l->batch.strict = l->strict;
    l->batch.has_seq = l->table->has_seq_type; /* mapped sequence columns travel as values */
    if (l->gzip) {
        memset(&l->zs, 0, sizeof(l->zs));
        if (inflateInit2(&l->zs, 15 + 16) != Z_OK) {
            load_fail(l, "INTERNAL_ERROR", "failed to init inflate");
            goto fail;
        }
        l->z_ready = true;
        l->zout = malloc(GZ_OUT_SIZE);
        if (!l->zout)
            abort();
    }
    l->t_put_ns = load_now_ns() - t0;
    return l;

fail:
    abort_txn(l, l->err.msg);
    *answer_out = fail_answer(l, NULL);
    load_free(l);
    return NULL;
}

static void parse(struct emu_load *l, const char *p, size_t n)
{
    if (l->format == LOAD_CSV)
        csv_feed(l, p, n);
    else
        json_feed(l, p, n);
}

/* Inflates p..n (gzip members back to back) into the parser. */
static int inflate_feed(struct emu_load *l, const char *p, size_t n)
{
    l->zs.next_in = (Bytef *)(uintptr_t)p;
    l->zs.avail_in = (uInt)n;
    while (l->zs.avail_in > 0) {
        int zr;

        if (l->z_end) {
            /* another gzip member follows */
            if (inflateReset(&l->zs) != Z_OK)
                return load_fail(l, "INTERNAL_ERROR", "failed to decompress gzip body");
            l->z_end = false;
        }
        l->zs.next_out = (Bytef *)l->zout;
        l->zs.avail_out = GZ_OUT_SIZE;
        zr = inflate(&l->zs, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
            return load_fail(l, "INTERNAL_ERROR", "failed to decompress gzip body: %s",
                             l->zs.msg ? l->zs.msg : "invalid data");
        if (GZ_OUT_SIZE - l->zs.avail_out > 0)
            parse(l, l->zout, GZ_OUT_SIZE - l->zs.avail_out);
        if (zr == Z_STREAM_END)
            l->z_end = true;
        else if (zr == Z_BUF_ERROR && l->zs.avail_out == GZ_OUT_SIZE)
            break;
    }
    return 0;
}

int emu_load_feed(struct emu_load *l, const char *p, size_t n)
{
    int64_t t0;

    if (l->failed)
        return -1;
    t0 = load_now_ns();
    if (!l->t_first_byte)
        l->t_first_byte = t0;
    l->received += n;
    if (l->content_length < 0 && l->received > l->body_limit)
        return load_fail(l, "E-217",
                         "body size %llu exceed BE's conf `%s` %llu. increase it if you are sure "
                         "this load is reasonable",
                         (unsigned long long)l->received,
                         l->body_limit == (uint64_t)l->env.max_body_mb * 1024 * 1024
                             ? "streaming_load_max_mb"
                             : "streaming_load_json_max_mb",
                         (unsigned long long)l->body_limit);
    if (l->gzip)
        inflate_feed(l, p, n);
    else
        parse(l, p, n);
    l->t_last_byte = load_now_ns();
    l->t_read_ns += l->t_last_byte - t0;
    return l->failed ? -1 : 0;
}

json_t *emu_load_finish(struct emu_load *l, const struct emu_fault_hit *fault)
{
    enum emu_fault_kind fk = fault ? fault->kind : EMU_FAULT_NONE;
    char *token = NULL, url[512] = "";
    struct emu_err e;
    json_t *a;
    int64_t t0;

    if (!l->t_last_byte)
        l->t_last_byte = load_now_ns();
    if (!l->failed && !l->chunked && l->content_length >= 0 &&
        l->received != (uint64_t)l->content_length)
        load_fail(l, "NETWORK_ERROR",
                  "receive body don't equal with body bytes, body_bytes=%lld, receive_bytes=%llu",
                  (long long)l->content_length, (unsigned long long)l->received);
    if (!l->failed && l->gzip && l->received > 0 && (!l->z_end || l->zs.avail_in))
        load_fail(l, "INTERNAL_ERROR", "failed to decompress gzip body: unexpected end of data");
    if (!l->failed) {
        t0 = load_now_ns();
        if (l->format == LOAD_CSV)
            csv_finish(l);
        else
            json_finish(l);
        l->t_read_ns += load_now_ns() - t0;
    }
    if (l->filtered > 0) {
        token =
            emu_store_error_log_put(l->store, l->errlog.data ? l->errlog.data : "", l->errlog.len);
        if (token)
            snprintf(url, sizeof(url), "http://%s:%d/api/_load_error_log?file=%s", l->env.be_host,
                     l->env.be_port, token);
        free(token);
    }
    if (!l->failed && l->total - l->unselected > 0 &&
        (double)l->filtered / (double)(l->total - l->unselected) > l->max_filter_ratio)
        load_fail(l, "DATA_QUALITY_ERROR", "too many filtered rows");
    if (!l->failed && fk == EMU_FAULT_E235)
        load_fail(l, "E-235",
                  "failed to init rowset builder. version count: 2001, exceed limit: 2000, "
                  "tablet: %lld",
                  (long long)(l->table->table_id * 1000 + 10001));
    if (!l->failed && fk == EMU_FAULT_MEM_LIMIT)
        load_fail(l, "MEM_LIMIT_EXCEEDED",
                  "PreCatch error code:11, [E11] Allocator sys memory check failed: Cannot alloc:"
                  "67108864, consuming tracker:<Load#Id=%s>, exec node:<OlapTableSink>, process "
                  "memory used 14.52 GB exceed limit 14.40 GB, txn_id=%lld",
                  l->load_id[0] ? l->load_id : l->label, (long long)l->txn_id);
    if (!l->failed) {
        t0 = load_now_ns();
        if (emu_store_txn_finish(l->store, l->txn_id, l->discard ? NULL : &l->batch, l->two_phase,
                                 &e) < 0)
            load_fail(l, e.code[0] ? e.code : "INTERNAL_ERROR", "%s", e.msg);
        l->txn_open = false; /* finished or aborted by the store */
        l->t_commit_ns = load_now_ns() - t0;
    }
    if (l->failed) {
        abort_txn(l, l->err.msg);
        a = fail_answer(l, url);
    } else if (fk == EMU_FAULT_PUBLISH_TIMEOUT) {
        a = answer(l, "Publish Timeout", NULL,
                   "[PUBLISH_TIMEOUT]transaction commit successfully, BUT data will be visible "
                   "later",
                   url);
    } else {
        a = answer(l, "Success", NULL, "OK", url);
    }
    load_free(l);
    return a;
}

void emu_load_abandon(struct emu_load *l)
{
    if (!l)
        return;
    abort_txn(l, "sender is gone");
    load_free(l);
}
