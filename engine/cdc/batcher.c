/*
 * batcher.c - per-table CDC batches (batcher.h).
 *
 * Records live in one arena (a p2d_buf), 8-byte aligned, in arrival order:
 *
 *   struct rec | key bytes | per column: kind byte, then for 't' a 4-byte
 *   length and the value bytes
 *
 * The key bytes are the key columns' values, each as a 4-byte length and
 * the bytes; their 64-bit hash finds the key's live record through an
 * open-addressing map of arena offsets (Unique tables only). A replaced
 * record is marked dead and skipped when sealing; the arena is reset
 * after each seal, so a batch never holds more than it was filled with.
 */
#include "cdc/batcher.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/text.h"
#include "p2d_error.h"
#include "sink/doris_sql.h"

#define ALIGN8(n)   (((n) + 7) & ~(size_t)7)
#define ISSUES_MAX  16
#define KEYTEXT_MAX 256

struct rec {
    uint32_t size; /* whole record, aligned */
    uint8_t op;
    uint8_t dead;
    uint8_t partial; /* some column is 'u' */
    uint8_t pad;
    uint64_t lsn;
    int64_t ts_us;
    uint64_t txn;
    uint64_t hash;
    uint32_t key_len;
    uint32_t vals_len;
};

struct p2d_batcher {
    char *table;
    bool unique;
    enum p2d_encode_format format;
    int ncols;
    struct p2d_batcher_col *cols;
    int *keys; /* layout indexes of the key columns */
    int nkeys;

    struct p2d_buf arena;
    uint64_t *map; /* offset + 1 of the live record of a key; 0 = empty */
    size_t map_cap, map_used;
    int64_t live;
    uint64_t min_txn;

    struct p2d_encoder *full; /* encoder of full rows, made on first seal */
    struct p2d_field *fields; /* ncols scratch */
    struct p2d_pgval *vals;   /* ncols scratch */
};

/* ---- helpers ----------------------------------------------------------------- */

/* FNV-1a, mixed (splitmix64's finalizer) so that the low bits the map
 * indexes with depend on every byte. */
static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = p2d_fnv1a64(P2D_FNV1A64_BASIS, p, n);

    h ^= h >> 29;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 32;
    return h;
}

static struct rec *rec_at(struct p2d_batcher *b, size_t off)
{
    return (struct rec *)(void *)(b->arena.data + off);
}

static const uint8_t *rec_key(const struct rec *r)
{
    return (const uint8_t *)(r + 1);
}

static const uint8_t *rec_vals(const struct rec *r)
{
    return rec_key(r) + r->key_len;
}

/* Unpacks a record's values into b->vals (pointing into the arena). */
static void rec_unpack(struct p2d_batcher *b, const struct rec *r)
{
    const uint8_t *p = rec_vals(r);

    for (int c = 0; c < b->ncols; c++) {
        struct p2d_pgval *v = &b->vals[c];

        v->kind = (char)*p++;
        v->data = NULL;
        v->len = 0;
        if (v->kind == P2D_PGVAL_TEXT) {
            memcpy(&v->len, p, 4);
            p += 4;
            v->data = p;
            p += v->len;
        }
    }
}

/* "k1=5, k2=x" for messages, from the key bytes. */
static void key_text(const struct p2d_batcher *b, const struct rec *r, char *out, size_t outsz)
{
    const uint8_t *p = rec_key(r);
    size_t n = 0;

    out[0] = '\0';
    for (int k = 0; k < b->nkeys && n < outsz; k++) {
        uint32_t len;

        memcpy(&len, p, 4);
        p += 4;
        n += (size_t)snprintf(out + n, outsz - n, "%s%s=%.*s", k ? ", " : "",
                              b->cols[b->keys[k]].enc.name, (int)(len > 64 ? 64 : len),
                              (const char *)p);
        p += len;
    }
}

/* ---- create / destroy ------------------------------------------------------------- */

struct p2d_batcher *p2d_batcher_create(const struct p2d_batcher_layout *l)
{
    struct p2d_batcher *b;

    if (!l || l->ncols < 1)
        return NULL;
    b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->unique = l->unique;
    b->format = l->format;
    b->ncols = l->ncols;
    b->table = strdup(l->table ? l->table : "?");
    b->cols = calloc((size_t)l->ncols, sizeof(*b->cols));
    b->keys = calloc((size_t)l->ncols, sizeof(*b->keys));
    b->fields = calloc((size_t)l->ncols, sizeof(*b->fields));
    b->vals = calloc((size_t)l->ncols, sizeof(*b->vals));
    if (!b->table || !b->cols || !b->keys || !b->fields || !b->vals)
        goto fail;
    for (int c = 0; c < l->ncols; c++) {
        b->cols[c] = l->cols[c];
        b->cols[c].enc.name = strdup(l->cols[c].enc.name);
        if (!b->cols[c].enc.name)
            goto fail;
        if (l->cols[c].key)
            b->keys[b->nkeys++] = c;
    }
    if (b->unique && b->nkeys == 0)
        goto fail;
    p2d_buf_init(&b->arena, 0);
    b->min_txn = UINT64_MAX;
    return b;
fail:
    p2d_batcher_destroy(b);
    return NULL;
}

void p2d_batcher_destroy(struct p2d_batcher *b)
{
    if (!b)
        return;
    if (b->cols)
        for (int c = 0; c < b->ncols; c++)
            free((char *)b->cols[c].enc.name);
    free(b->cols);
    free(b->keys);
    free(b->fields);
    free(b->vals);
    free(b->map);
    free(b->table);
    p2d_buf_fini(&b->arena);
    p2d_encoder_destroy(b->full);
    free(b);
}

void p2d_cdc_body_free(struct p2d_cdc_body *body)
{
    if (!body)
        return;
    free(body->data);
    free(body->columns);
    body->data = body->columns = NULL;
}

int64_t p2d_batcher_rows(const struct p2d_batcher *b)
{
    return b->live;
}

size_t p2d_batcher_bytes(const struct p2d_batcher *b)
{
    return b->arena.len + b->map_cap * sizeof(uint64_t);
}

uint64_t p2d_batcher_min_txn(const struct p2d_batcher *b)
{
    return b->min_txn;
}

/* ---- the key map ----------------------------------------------------------------- */

static int map_grow(struct p2d_batcher *b)
{
    size_t cap = b->map_cap ? b->map_cap * 2 : 1024;
    uint64_t *m = calloc(cap, sizeof(*m));

    if (!m)
        return P2D_ENOMEM;
    for (size_t i = 0; i < b->map_cap; i++) {
        if (!b->map[i])
            continue;
        size_t j = rec_at(b, b->map[i] - 1)->hash & (cap - 1);

        while (m[j])
            j = (j + 1) & (cap - 1);
        m[j] = b->map[i];
    }
    free(b->map);
    b->map = m;
    b->map_cap = cap;
    return 0;
}

/* The map slot of key (hash h, bytes k[0..n)): its live record's slot, or
 * the empty slot where it would go. */
static size_t map_find(struct p2d_batcher *b, uint64_t h, const uint8_t *k, size_t n)
{
    size_t j = h & (b->map_cap - 1);

    while (b->map[j]) {
        const struct rec *r = rec_at(b, b->map[j] - 1);

        if (r->hash == h && r->key_len == n && memcmp(rec_key(r), k, n) == 0)
            return j;
        j = (j + 1) & (b->map_cap - 1);
    }
    return j;
}

/* ---- add ------------------------------------------------------------------------- */

int p2d_batcher_add(struct p2d_batcher *b, enum p2d_cdc_op op, const struct p2d_pgval *vals,
                    uint64_t lsn, int64_t commit_ts_us, uint64_t txn, char *err, size_t errlen)
{
    uint8_t keybuf[512], *key = keybuf;
    size_t key_len = 0, vals_len = 0, size, off, slot = 0;
    struct rec *r, *old = NULL;
    bool partial = false, heap_key = false;
    int rc = 0;

    /* the key, and what the record will weigh */
    for (int k = 0; k < b->nkeys; k++) {
        const struct p2d_pgval *v = &vals[b->keys[k]];

        if (v->kind != P2D_PGVAL_TEXT) {
            snprintf(err, errlen,
                     "table \"%s\": a %s has %s in key column \"%s\"; hint: a key column must "
                     "never be NULL, and the table's replica identity must include the key",
                     b->table, op == P2D_CDC_DELETE ? "delete" : "change",
                     v->kind == P2D_PGVAL_NULL ? "NULL" : "no value", b->cols[b->keys[k]].enc.name);
            return P2D_EINVAL;
        }
        key_len += 4 + v->len;
    }
    if (key_len > sizeof(keybuf)) {
        key = malloc(key_len);
        if (!key)
            return P2D_ENOMEM;
        heap_key = true;
    }
    key_len = 0;
    for (int k = 0; k < b->nkeys; k++) {
        const struct p2d_pgval *v = &vals[b->keys[k]];

        memcpy(key + key_len, &v->len, 4);
        memcpy(key + key_len + 4, v->data, v->len);
        key_len += 4 + v->len;
    }
    uint64_t h = hash_bytes(key, key_len);

    if (b->unique) {
        if (b->map_used * 2 >= b->map_cap && (rc = map_grow(b)) != 0)
            goto out;
        slot = map_find(b, h, key, key_len);
        if (b->map[slot])
            old = rec_at(b, b->map[slot] - 1);
    }
    if (old && old->op == P2D_CDC_UPSERT)
        rec_unpack(b, old); /* b->vals: the values 'u' can take over */
    for (int c = 0; c < b->ncols; c++) {
        const struct p2d_pgval *v = &vals[c];
        char kind = v->kind;
        uint32_t len = v->len;

        if (op == P2D_CDC_DELETE && b->unique && !b->cols[c].key)
            kind = P2D_PGVAL_NULL; /* a keyed delete needs only the key */
        else if (kind == P2D_PGVAL_UNCHANGED && old && old->op == P2D_CDC_UPSERT) {
            kind = b->vals[c].kind;
            len = b->vals[c].len;
        }
        if (kind == P2D_PGVAL_BINARY) {
            snprintf(err, errlen, "table \"%s\": column \"%s\" came in binary form", b->table,
                     b->cols[c].enc.name);
            rc = P2D_EINVAL;
            goto out;
        }
        if (kind == P2D_PGVAL_UNCHANGED) {
            if (!b->unique || op == P2D_CDC_DELETE) {
                snprintf(err, errlen,
                         "table \"%s\": an update left the TOAST value of column \"%s\" "
                         "unchanged and the stream does not carry it; the Duplicate model cannot "
                         "take a partial update; hint: ALTER TABLE ... REPLICA IDENTITY FULL on "
                         "the source table so the old row fills it",
                         b->table, b->cols[c].enc.name);
                rc = P2D_EINVAL;
                goto out;
            }
            partial = true;
        }
        vals_len += 1 + (kind == P2D_PGVAL_TEXT ? 4 + (size_t)len : 0);
    }
    size = ALIGN8(sizeof(struct rec) + key_len + vals_len);
    if (size > UINT32_MAX) {
        snprintf(err, errlen, "table \"%s\": a row of %zu bytes is larger than 4 GB", b->table,
                 size);
        rc = P2D_EINVAL;
        goto out;
    }
    {
        size_t old_off = old ? (size_t)((uint8_t *)old - b->arena.data) : 0;

        if ((rc = p2d_buf_reserve(&b->arena, size)) != 0) {
            rc = P2D_ENOMEM;
            goto out;
        }
        if (old) { /* the arena may have moved */
            old = rec_at(b, old_off);
            if (old->op == P2D_CDC_UPSERT)
                rec_unpack(b, old);
        }
    }
    off = b->arena.len;
    r = rec_at(b, off);
    memset(r, 0, sizeof(*r));
    r->size = (uint32_t)size;
    r->op = (uint8_t)op;
    r->partial = partial;
    r->lsn = lsn;
    r->ts_us = commit_ts_us;
    r->txn = txn;
    r->hash = h;
    r->key_len = (uint32_t)key_len;
    r->vals_len = (uint32_t)vals_len;
    {
        uint8_t *p = (uint8_t *)(r + 1);

        memcpy(p, key, key_len);
        p += key_len;
        for (int c = 0; c < b->ncols; c++) {
            const struct p2d_pgval *v = &vals[c];
            char kind = v->kind;
            const uint8_t *data = v->data;
            uint32_t len = v->len;

            if (op == P2D_CDC_DELETE && b->unique && !b->cols[c].key) {
                kind = P2D_PGVAL_NULL;
            } else if (kind == P2D_PGVAL_UNCHANGED && old && old->op == P2D_CDC_UPSERT) {
                kind = b->vals[c].kind;
                data = b->vals[c].data;
                len = b->vals[c].len;
            }
            *p++ = (uint8_t)kind;
            if (kind == P2D_PGVAL_TEXT) {
                memcpy(p, &len, 4);
                p += 4;
                if (len)
                    memcpy(p, data, len);
                p += len;
            }
        }
        memset(p, 0, size - (size_t)(p - (uint8_t *)r));
    }
    b->arena.len += size;
    if (old) {
        old->dead = 1;
        b->live--;
    }
    if (b->unique) {
        if (!b->map[slot])
            b->map_used++;
        b->map[slot] = off + 1;
    }
    b->live++;
    if (txn < b->min_txn)
        b->min_txn = txn;
out:
    if (heap_key)
        free(key);
    return rc;
}

/* ---- seal -------------------------------------------------------------------------- */

/* A neutral value of a NOT NULL column for a delete row (never stored). */
static const char *filler(enum p2d_value_rule rule)
{
    switch (rule) {
    case P2D_VR_INT:
    case P2D_VR_DECIMAL:
    case P2D_VR_FLOAT:
        return "0";
    case P2D_VR_BOOL:
        return "f";
    case P2D_VR_DATE:
        return "1970-01-01";
    case P2D_VR_TIMESTAMP:
        return "1970-01-01 00:00:00";
    case P2D_VR_TIMESTAMPTZ:
        return "1970-01-01 00:00:00+00";
    case P2D_VR_JSON:
        return "null";
    case P2D_VR_TEXT:
        break;
    }
    return "";
}

struct sealer {
    struct p2d_batcher *b;
    p2d_batcher_issue_fn issue;
    void *arg;
    char *err;
    size_t errlen;
};

/* Appends the "columns: ..." line for the columns in mask (NULL: all). */
static char *columns_header(const struct p2d_batcher *b, const uint8_t *mask)
{
    struct p2d_buf h;
    char q[600];
    bool first = true;
    int rc = 0;

    p2d_buf_init(&h, 0);
    rc = p2d_buf_append(&h, "columns: ", 9);
    for (int c = 0; c < b->ncols && rc == 0; c++) {
        if (mask && !mask[c])
            continue;
        p2d_doris_quote_ident(b->cols[c].enc.name, q, sizeof(q));
        if (!first)
            rc = p2d_buf_append(&h, ",", 1);
        if (rc == 0)
            rc = p2d_buf_append(&h, q, strlen(q));
        first = false;
    }
    if (rc == 0 && !mask) {
        const char *tail = b->unique ? ",__DORIS_DELETE_SIGN__"
                                     : ",`_is_deleted`,`_version`,"
                                       "`_record_id`";
        rc = p2d_buf_append(&h, tail, strlen(tail));
    }
    if (rc == 0)
        rc = p2d_buf_append(&h, "", 1);
    if (rc != 0) {
        p2d_buf_fini(&h);
        return NULL;
    }
    return (char *)h.data;
}

/* Encodes record r with enc into out; mask selects the columns (NULL: all). */
static int encode_rec(struct sealer *s, struct p2d_encoder *enc, const struct rec *r,
                      const uint8_t *mask, struct p2d_buf *out)
{
    struct p2d_batcher *b = s->b;
    struct p2d_value_issue issues[ISSUES_MAX];
    struct p2d_extra_value extra[3];
    char version[24], record_id[24];
    int nf = 0, nissues = 0, nextra = 0, rc;
    int colmap[1600];

    rec_unpack(b, r);
    for (int c = 0; c < b->ncols; c++) {
        const struct p2d_pgval *v = &b->vals[c];
        struct p2d_field *f = &b->fields[nf];

        if (mask && !mask[c])
            continue;
        colmap[nf] = c;
        nf++;
        f->flags = P2D_FIELD_RAW;
        if (v->kind == P2D_PGVAL_TEXT) {
            f->p = (const char *)v->data;
            f->len = v->len;
        } else if (r->op == P2D_CDC_DELETE && b->unique && b->cols[c].enc.not_null) {
            f->p = filler(b->cols[c].enc.rule);
            f->len = (uint32_t)strlen(f->p);
        } else {
            f->p = "";
            f->len = 0;
            f->flags |= P2D_FIELD_NULL;
        }
    }
    if (!b->unique) {
        bool json = b->format == P2D_ENCODE_JSON;
        bool del = r->op == P2D_CDC_DELETE;

        extra[0] =
            (struct p2d_extra_value){.text = json ? (del ? "true" : "false") : (del ? "1" : "0"),
                                     .len = json ? (del ? 4u : 5u) : 1u,
                                     .is_number = true};
        snprintf(version, sizeof(version), "%" PRId64, r->ts_us / 1000000);
        snprintf(record_id, sizeof(record_id), "%" PRIu64, r->lsn);
        extra[1] = (struct p2d_extra_value){
            .text = version, .len = (uint32_t)strlen(version), .is_number = true};
        extra[2] = (struct p2d_extra_value){
            .text = record_id, .len = (uint32_t)strlen(record_id), .is_number = true};
        nextra = 3;
    }
    (void)nextra;
    rc = p2d_encode_row(enc, b->fields, nf, b->unique ? NULL : extra,
                        r->op == P2D_CDC_DELETE ? 1 : 0, out, issues, ISSUES_MAX, &nissues);
    if (rc == 0 || rc == P2D_EDATA) {
        char key[KEYTEXT_MAX];
        int n = nissues < ISSUES_MAX ? nissues : ISSUES_MAX;

        key_text(b, r, key, sizeof(key));
        for (int i = 0; i < n; i++) {
            const char *col = b->cols[colmap[issues[i].column]].enc.name;

            if (issues[i].action == P2D_ACTION_REJECTED) {
                snprintf(s->err, s->errlen,
                         "table \"%s\", key (%s), column \"%s\": %s value cannot land in Doris "
                         "(%s); the sync stops here; hint: fix the value in the source or map "
                         "the column to a wider type",
                         b->table, key, col, p2d_typemap_issue_name(issues[i].kind),
                         p2d_typemap_rule_name(issues[i].rule));
                return P2D_EDATA;
            }
            if (s->issue)
                s->issue(s->arg, &issues[i], col, key);
        }
        if (rc == P2D_EDATA) {
            snprintf(s->err, s->errlen, "table \"%s\", key (%s): the row cannot land in Doris",
                     b->table, key);
            return rc;
        }
    } else if (rc == P2D_EPROTO) {
        snprintf(s->err, s->errlen, "table \"%s\": the change does not match the table's columns",
                 b->table);
    }
    return rc;
}

static void body_track(struct p2d_cdc_body *body, const struct rec *r)
{
    if (body->rows == 0 || r->lsn < body->first_lsn)
        body->first_lsn = r->lsn;
    if (r->lsn > body->last_lsn)
        body->last_lsn = r->lsn;
    if (body->rows == 0 || r->txn < body->min_txn)
        body->min_txn = r->txn;
    body->rows++;
    if (r->op == P2D_CDC_DELETE)
        body->deletes++;
}

/* The present-column mask of a partial record into mask[ncols]. */
static void rec_mask(struct p2d_batcher *b, const struct rec *r, uint8_t *mask)
{
    rec_unpack(b, r);
    for (int c = 0; c < b->ncols; c++)
        mask[c] = b->vals[c].kind != P2D_PGVAL_UNCHANGED;
}

static int finish_body(struct p2d_cdc_body *body, struct p2d_buf *data)
{
    if (data->len == 0) {
        p2d_buf_fini(data);
        body->data = NULL;
        return 0;
    }
    body->data = (char *)data->data;
    body->len = data->len;
    data->data = NULL;
    return 0;
}

int p2d_batcher_seal(struct p2d_batcher *b, struct p2d_cdc_body **bodies, int *nbodies,
                     p2d_batcher_issue_fn issue, void *arg, char *err, size_t errlen)
{
    struct sealer s = {.b = b, .issue = issue, .arg = arg, .err = err, .errlen = errlen};
    struct p2d_cdc_body *out = NULL;
    int nout = 0, cap = 0, rc = 0;
    size_t *partials = NULL, npartial = 0;
    uint8_t *mask = NULL, *mask2 = NULL;
    struct p2d_buf data;

    *bodies = NULL;
    *nbodies = 0;
    if (b->live == 0)
        goto reset;
    if (!b->full) {
        static const char *const extra_names[3] = {"_is_deleted", "_version", "_record_id"};
        struct p2d_encode_col *cols = calloc((size_t)b->ncols, sizeof(*cols));

        if (!cols)
            return P2D_ENOMEM;
        for (int c = 0; c < b->ncols; c++)
            cols[c] = b->cols[c].enc;
        b->full = p2d_encoder_create(b->format, cols, b->ncols, b->unique ? NULL : extra_names,
                                     b->unique ? 0 : 3, b->unique);
        free(cols);
        if (!b->full)
            return P2D_ENOMEM;
    }
    partials = malloc((size_t)b->live * sizeof(*partials));
    mask = malloc((size_t)b->ncols);
    mask2 = malloc((size_t)b->ncols);
    cap = 4;
    out = calloc((size_t)cap, sizeof(*out));
    if (!partials || !mask || !mask2 || !out) {
        rc = P2D_ENOMEM;
        goto fail;
    }
    /* full rows: upserts with every value, deletes */
    p2d_buf_init(&data, 0);
    for (size_t off = 0; off < b->arena.len;) {
        const struct rec *r = rec_at(b, off);

        if (!r->dead) {
            if (r->partial) {
                partials[npartial++] = off;
            } else {
                if ((rc = encode_rec(&s, b->full, r, NULL, &data)) != 0) {
                    p2d_buf_fini(&data);
                    goto fail;
                }
                body_track(&out[0], r);
            }
        }
        off += r->size;
    }
    if (out[0].rows > 0) {
        out[0].columns = columns_header(b, NULL);
        finish_body(&out[0], &data);
        if (!out[0].columns) {
            rc = P2D_ENOMEM;
            goto fail;
        }
        nout = 1;
    } else {
        p2d_buf_fini(&data);
        memset(&out[0], 0, sizeof(out[0]));
    }
    /* partial rows, one body per set of present columns */
    while (npartial > 0) {
        struct p2d_encode_col *cols = calloc((size_t)b->ncols, sizeof(*cols));
        struct p2d_encoder *enc;
        struct p2d_cdc_body *body;
        size_t keep = 0;
        int ncols = 0;

        if (!cols) {
            rc = P2D_ENOMEM;
            goto fail;
        }
        rec_mask(b, rec_at(b, partials[0]), mask);
        for (int c = 0; c < b->ncols; c++)
            if (mask[c])
                cols[ncols++] = b->cols[c].enc;
        enc = p2d_encoder_create(b->format, cols, ncols, NULL, 0, false);
        free(cols);
        if (!enc) {
            rc = P2D_ENOMEM;
            goto fail;
        }
        if (nout == cap) {
            struct p2d_cdc_body *grown = realloc(out, (size_t)cap * 2 * sizeof(*out));

            if (!grown) {
                p2d_encoder_destroy(enc);
                rc = P2D_ENOMEM;
                goto fail;
            }
            out = grown;
            memset(out + cap, 0, (size_t)cap * sizeof(*out));
            cap *= 2;
        }
        body = &out[nout];
        memset(body, 0, sizeof(*body));
        body->partial = true;
        p2d_buf_init(&data, 0);
        for (size_t i = 0; i < npartial; i++) {
            const struct rec *r = rec_at(b, partials[i]);

            rec_mask(b, r, mask2);
            if (memcmp(mask, mask2, (size_t)b->ncols) != 0) {
                partials[keep++] = partials[i];
                continue;
            }
            if ((rc = encode_rec(&s, enc, r, mask, &data)) != 0) {
                p2d_encoder_destroy(enc);
                p2d_buf_fini(&data);
                nout++;
                goto fail;
            }
            body_track(body, r);
        }
        p2d_encoder_destroy(enc);
        npartial = keep;
        body->columns = columns_header(b, mask);
        finish_body(body, &data);
        nout++;
        if (!body->columns) {
            rc = P2D_ENOMEM;
            goto fail;
        }
    }
    free(partials);
    free(mask);
    free(mask2);
    *bodies = out;
    *nbodies = nout;
reset:
    b->arena.len = 0;
    if (b->map)
        memset(b->map, 0, b->map_cap * sizeof(*b->map));
    b->map_used = 0;
    b->live = 0;
    b->min_txn = UINT64_MAX;
    if (b->arena.cap > ((size_t)64 << 20)) { /* give a huge batch's memory back */
        p2d_buf_fini(&b->arena);
        p2d_buf_init(&b->arena, 0);
    }
    return 0;
fail:
    for (int i = 0; i < nout; i++)
        p2d_cdc_body_free(&out[i]);
    free(out);
    free(partials);
    free(mask);
    free(mask2);
    return rc;
}
