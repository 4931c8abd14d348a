/*
 * util.c - small pieces every doris-emu module uses: errors, growable
 * buffers, the compact row encoding of emu_batch, and table references.
 */
#include "emu.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void emu_err_set(struct emu_err *err, const char *code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    snprintf(err->code, sizeof(err->code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

/* ---- buffers ------------------------------------------------------------ */

void emu_buf_init(struct emu_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void emu_buf_fini(struct emu_buf *b)
{
    free(b->data);
    emu_buf_init(b);
}

void emu_buf_reserve(struct emu_buf *b, size_t extra)
{
    size_t want = b->len + extra + 1; /* room for a terminating NUL */
    size_t cap = b->cap ? b->cap : 256;
    char *p;

    if (want <= b->cap)
        return;
    while (cap < want)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p) {
        fprintf(stderr, "doris-emu: out of memory (%zu bytes)\n", cap);
        abort();
    }
    b->data = p;
    b->cap = cap;
}

void emu_buf_append(struct emu_buf *b, const void *p, size_t n)
{
    emu_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void emu_buf_printf(struct emu_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    emu_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- batches ------------------------------------------------------------ */

void emu_batch_init(struct emu_batch *b, struct emu_table *table, const int *col_of_val, int nvals)
{
    memset(b, 0, sizeof(*b));
    b->table = emu_table_ref(table);
    b->nvals = nvals;
    b->col_of_val = malloc(sizeof(int) * (size_t)(nvals > 0 ? nvals : 1));
    if (!b->col_of_val)
        abort();
    if (nvals > 0)
        memcpy(b->col_of_val, col_of_val, sizeof(int) * (size_t)nvals);
    emu_buf_init(&b->rows);
}

void emu_batch_fini(struct emu_batch *b)
{
    if (!b)
        return;
    emu_table_unref(b->table);
    free(b->col_of_val);
    emu_buf_fini(&b->rows);
    memset(b, 0, sizeof(*b));
}

void emu_batch_row_begin(struct emu_batch *b, bool is_delete)
{
    uint8_t flags = is_delete ? 1 : 0;

    emu_buf_append(&b->rows, &flags, 1);
}

void emu_batch_put(struct emu_batch *b, const struct emu_value *v)
{
    uint8_t tag = (uint8_t)v->kind;

    /* n is only meaningful for text: callers may leave it unset otherwise */
    emu_buf_reserve(&b->rows, 1 + 8 + 4 + (v->kind == EMU_V_TEXT ? v->n : 0));
    b->rows.data[b->rows.len++] = (char)tag;
    switch (v->kind) {
    case EMU_V_NULL:
        break;
    case EMU_V_INT:
        memcpy(b->rows.data + b->rows.len, &v->i, 8);
        b->rows.len += 8;
        break;
    case EMU_V_REAL:
        memcpy(b->rows.data + b->rows.len, &v->r, 8);
        b->rows.len += 8;
        break;
    case EMU_V_TEXT: {
        uint32_t n = (uint32_t)v->n;

        memcpy(b->rows.data + b->rows.len, &n, 4);
        b->rows.len += 4;
        if (n)
            memcpy(b->rows.data + b->rows.len, v->s, n);
        b->rows.len += n;
        break;
    }
    }
    b->rows.data[b->rows.len] = '\0';
}

void emu_batch_row_end(struct emu_batch *b)
{
    b->nrows++;
}

static bool read_value(const struct emu_batch *b, size_t *off, struct emu_value *v)
{
    const char *p = b->rows.data;
    size_t end = b->rows.len;

    if (*off >= end)
        return false;
    memset(v, 0, sizeof(*v));
    v->kind = (enum emu_vkind)(uint8_t)p[(*off)++];
    switch (v->kind) {
    case EMU_V_NULL:
        return true;
    case EMU_V_INT:
        if (*off + 8 > end)
            return false;
        memcpy(&v->i, p + *off, 8);
        *off += 8;
        return true;
    case EMU_V_REAL:
        if (*off + 8 > end)
            return false;
        memcpy(&v->r, p + *off, 8);
        *off += 8;
        return true;
    case EMU_V_TEXT: {
        uint32_t n;

        if (*off + 4 > end)
            return false;
        memcpy(&n, p + *off, 4);
        *off += 4;
        if (*off + n > end)
            return false;
        v->s = p + *off;
        v->n = n;
        *off += n;
        return true;
    }
    }
    return false;
}

bool emu_batch_next(struct emu_batch_cursor *c, bool *is_delete, struct emu_value *vals,
                    struct emu_value *seq)
{
    const struct emu_batch *b = c->b;
    struct emu_value ignored;

    if (c->off >= b->rows.len)
        return false;
    *is_delete = (b->rows.data[c->off++] & 1) != 0;
    for (int i = 0; i < b->nvals; i++)
        if (!read_value(b, &c->off, &vals[i]))
            return false;
    if (b->has_seq && !read_value(b, &c->off, seq ? seq : &ignored))
        return false;
    return true;
}

/* ---- tables ------------------------------------------------------------- */

struct emu_table *emu_table_ref(struct emu_table *t)
{
    if (t)
        __atomic_add_fetch(&t->refcount, 1, __ATOMIC_RELAXED);
    return t;
}

void emu_table_unref(struct emu_table *t)
{
    /* acq_rel: the last owner must see every write made by earlier owners
     * before it frees the snapshot. */
    if (!t || __atomic_sub_fetch(&t->refcount, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (int i = 0; i < t->ncols; i++) {
        free(t->cols[i].name);
        emu_type_fini(&t->cols[i].type);
        free(t->cols[i].default_value);
        free(t->cols[i].comment);
    }
    free(t->cols);
    free(t->dist_cols);
    emu_type_fini(&t->seq_type);
    json_decref(t->properties);
    free(t->comment);
    free(t->db);
    free(t->name);
    free(t);
}

int emu_table_column(const struct emu_table *t, const char *name, size_t n)
{
    for (int i = 0; i < t->ncols; i++)
        if (strlen(t->cols[i].name) == n && strncasecmp(t->cols[i].name, name, n) == 0)
            return i;
    return -1;
}
