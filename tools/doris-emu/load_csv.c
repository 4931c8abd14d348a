/*
 * load_csv.c - the CSV body parser of a Stream Load (doris-protocol.md §1.6,
 * §1.7): line delimiter and column separator of any length, optional
 * enclose and escape bytes, trim_double_quotes, skipped header lines, \N
 * for NULL, rows split across any chunk boundary.
 *
 * Speed matters here (discard-mode benchmarks ingest GBs): the common case
 * (one-byte separator and delimiter, no enclose) runs a 16-byte SSE2 scan
 * that finds separators and delimiters together, and fields point into the
 * body chunk without copying. Only a record that straddles two chunks is
 * copied, into the carry buffer, and parsed from there.
 */
#include "load_internal.h"

#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Applies the per-field rules (\N, enclose, trim_double_quotes, escape
 * flag), checks the column count and hands the row to load_row. final: the
 * scanner already applied them (flags set, enclose stripped). */
static void csv_row(struct emu_load *l, int nf, const char *line, size_t len, bool final)
{
    struct load_field *f = l->fields;
    const struct csv_opts *o = &l->csv;

    if (l->lines_skipped < o->skip_lines) {
        l->lines_skipped++;
        return;
    }
    if (len == 0)
        return; /* the BE's line reader skips empty lines */
    for (int i = 0; !final && i < nf; i++) {
        const char *p = f[i].p;
        size_t n = f[i].n;

        f[i].flags = 0;
        if (n == 2 && p[0] == '\\' && p[1] == 'N') {
            f[i].flags = FLD_NULL;
            continue;
        }
        if (o->enclose >= 0 && n >= 2 && p[0] == (char)o->enclose && p[n - 1] == (char)o->enclose) {
            f[i].p = p + 1;
            f[i].n = n - 2;
        } else if (o->trim_double_quotes && n >= 2 && p[0] == '"' && p[n - 1] == '"') {
            f[i].p = p + 1;
            f[i].n = n - 2;
        }
        if (o->escape >= 0 && f[i].n && memchr(f[i].p, o->escape, f[i].n))
            f[i].flags |= FLD_ESCAPED;
    }
    if (nf != l->nsrc) {
        struct emu_buf vals;

        emu_buf_init(&vals);
        for (int i = 0; i < nf; i++) {
            if (f[i].flags & FLD_NULL)
                emu_buf_append(&vals, "\\N", 2);
            else
                emu_buf_append(&vals, f[i].p, f[i].n);
            emu_buf_append(&vals, ", ", 2);
        }
        /* Wording (double spaces included) of CsvReader::_line_split_to_values. */
        load_filter(l, line, len,
                    "actual column number in csv file is  %s  schema column number.actual "
                    "number: %d, schema column number: %d; line delimiter: [%.*s], column "
                    "separator: [%.*s], %sresult values:[%s]",
                    nf > l->nsrc ? "more than" : "less than", nf, l->nsrc, (int)o->delim_len,
                    o->delim, (int)o->sep_len, o->sep, "", vals.data ? vals.data : "");
        emu_buf_fini(&vals);
        return;
    }
    load_row(l, f, line, len);
}

/* A field of scan_simple, with csv_row's \N rule applied. */
static inline void set_field(struct load_field *f, const char *p, size_t n)
{
    f->p = p;
    f->n = n;
    f->flags = n == 2 && p[0] == '\\' && p[1] == 'N' ? FLD_NULL : 0;
}

/* add_field for scan_simple: fields and cap are its cached copies of
 * l->fields and l->fields_cap. */
static inline void put_field(struct emu_load *l, struct load_field **fields, size_t *cap,
                             size_t *nf, const char *p, size_t n)
{
    if (*nf >= *cap) {
        load_fields_reserve(l, (int)*nf + 1);
        *fields = l->fields;
        *cap = (size_t)l->fields_cap;
    }
    set_field(&(*fields)[(*nf)++], p, n);
}

static inline void add_field(struct emu_load *l, int *nf, const char *p, size_t n)
{
    if (*nf >= l->fields_cap)
        load_fields_reserve(l, *nf + 1);
    l->fields[*nf].p = p;
    l->fields[*nf].n = n;
    (*nf)++;
}

/*
 * One-byte separator and delimiter, no enclose. Parses every complete row in
 * buf[0..n) (and, at eof, the unterminated last one); returns the bytes
 * consumed.
 */
static size_t scan_simple(struct emu_load *l, const char *buf, size_t n, bool eof)
{
    const char sep = l->csv.sep[0], delim = l->csv.delim[0];
    const bool final = l->csv.escape < 0 && !l->csv.trim_double_quotes;
    const char *row = buf, *field = buf;
    struct load_field *fields = l->fields;
    size_t nf = 0, cap = (size_t)l->fields_cap;
    size_t i = 0;

#ifdef __SSE2__
    const __m128i vsep = _mm_set1_epi8(sep), vdelim = _mm_set1_epi8(delim);

    /* 32 bytes per round: the bookkeeping of a round is paid half as often */
    for (; i + 32 <= n; i += 32) {
        const char *blk = buf + i;
        __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)blk);
        __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(blk + 16));
        unsigned md = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v0, vdelim)) |
                      (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v1, vdelim)) << 16;
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v0, vsep)) |
                     (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v1, vsep)) << 16 | md;

        if (m && nf + 32 > cap) { /* room for the round's fields: no check per field */
            load_fields_reserve(l, (int)nf + 32);
            fields = l->fields;
            cap = (size_t)l->fields_cap;
        }
        while (m) {
            unsigned j = (unsigned)__builtin_ctz(m);
            const char *q = blk + j;

            m &= m - 1;
            set_field(&fields[nf++], field, (size_t)(q - field));
            field = q + 1;
            if ((md >> j) & 1) {
                csv_row(l, (int)nf, row, (size_t)(q - row), final);
                nf = 0;
                row = field;
            }
        }
    }
#endif
    for (; i < n; i++) {
        const char *q = buf + i;

        if (*q != sep && *q != delim)
            continue;
        put_field(l, &fields, &cap, &nf, field, (size_t)(q - field));
        field = q + 1;
        if (*q == delim) {
            csv_row(l, (int)nf, row, (size_t)(q - row), final);
            nf = 0;
            row = field;
        }
    }
    if (eof && row < buf + n) {
        put_field(l, &fields, &cap, &nf, field, (size_t)(buf + n - field));
        csv_row(l, (int)nf, row, (size_t)(buf + n - row), final);
        return n;
    }
    return (size_t)(row - buf);
}

/* Index of the enclose byte that closes a quoted field whose text starts at
 * i, or SIZE_MAX when buf[0..n) ends first; the escape byte protects the
 * byte after it (*escaped is set when one is seen). */
static size_t quoted_end(const char *buf, size_t n, size_t i, char enc, int esc, bool *escaped)
{
    while (i < n) {
        const char *q = memchr(buf + i, enc, n - i);
        size_t e;

        if (!q)
            return SIZE_MAX;
        e = (size_t)(q - buf);
        if (esc < 0)
            return e;
        /* an escape byte in buf[i..e) may protect this enclose: walk them */
        for (;;) {
            const char *x = memchr(buf + i, (char)esc, e - i);

            if (!x)
                return e;
            *escaped = true;
            i = (size_t)(x - buf) + 2;
            if (i > e)
                break; /* the escape took the enclose byte (or ran off the end) */
        }
    }
    return SIZE_MAX;
}

/* A finished field of scan_enclose, with csv_row's per-field rules applied:
 * \N is NULL, an enclosed field loses its enclose bytes, escaped tells
 * whether the escape byte occurs in it. f is the field's slot. */
static inline void set_enclosed(struct load_field *f, const char *p, size_t n, char enc,
                                bool escaped)
{
    if (n == 2 && p[0] == '\\' && p[1] == 'N') {
        f->p = p;
        f->n = n;
        f->flags = FLD_NULL;
        return;
    }
    if (n >= 2 && p[0] == enc && p[n - 1] == enc) {
        p++;
        n -= 2;
    }
    f->p = p;
    f->n = n;
    f->flags = escaped ? FLD_ESCAPED : 0;
}

static inline void put_enclosed(struct emu_load *l, int *nf, const char *p, size_t n, char enc,
                                bool escaped)
{
    if (*nf >= l->fields_cap)
        load_fields_reserve(l, *nf + 1);
    set_enclosed(&l->fields[(*nf)++], p, n, enc, escaped);
}

/*
 * One-byte separator and delimiter with enclose, escape different from it:
 * the engine's bodies, where few fields are enclosed. A 16-byte scan finds
 * separators, delimiters, enclose and escape bytes together; an enclose byte
 * at the start of a field skips to its closing one (quoted_end), anywhere
 * else it is data. Same rows as scan_general followed by csv_row's rules.
 */
static size_t scan_enclose(struct emu_load *l, const char *buf, size_t n, bool eof)
{
    const char sep = l->csv.sep[0], delim = l->csv.delim[0], enc = (char)l->csv.enclose;
    const int esc = l->csv.escape;
    const bool final = !l->csv.trim_double_quotes;
    size_t row = 0, field = 0, i = 0;
    bool escaped = false;
    int nf = 0;

#define END_FIELD(at)                                                                              \
    do {                                                                                           \
        if (final)                                                                                 \
            put_enclosed(l, &nf, buf + field, (at)-field, enc, escaped);                           \
        else                                                                                       \
            add_field(l, &nf, buf + field, (at)-field);                                            \
        escaped = false;                                                                           \
    } while (0)

#ifdef __SSE2__
    const char escb = esc >= 0 ? (char)esc : enc; /* no escape: enclose stands in */
    const __m128i vsep = _mm_set1_epi8(sep), vdelim = _mm_set1_epi8(delim),
                  venc = _mm_set1_epi8(enc), vesc = _mm_set1_epi8(escb);

    /*
     * 32 bytes per round. m: every byte that matters; mq: enclose and
     * escape bytes (rare: they take the byte-wise rules); md: delimiters.
     * The fields array has room for the round's fields before it starts.
     */
    while (i + 32 <= n) {
        const char *blk = buf + i;
        __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)blk);
        __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(blk + 16));
        __m128i d0 = _mm_cmpeq_epi8(v0, vdelim), d1 = _mm_cmpeq_epi8(v1, vdelim);
        __m128i q0 = _mm_or_si128(_mm_cmpeq_epi8(v0, venc), _mm_cmpeq_epi8(v0, vesc));
        __m128i q1 = _mm_or_si128(_mm_cmpeq_epi8(v1, venc), _mm_cmpeq_epi8(v1, vesc));
        unsigned md = (unsigned)_mm_movemask_epi8(d0) | (unsigned)_mm_movemask_epi8(d1) << 16;
        unsigned mq = (unsigned)_mm_movemask_epi8(q0) | (unsigned)_mm_movemask_epi8(q1) << 16;
        unsigned m = (unsigned)_mm_movemask_epi8(
                         _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v0, vsep), d0), q0)) |
                     (unsigned)_mm_movemask_epi8(
                         _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v1, vsep), d1), q1))
                         << 16;
        size_t base = i;

        i += 32;
        if (m && nf + 32 > l->fields_cap)
            load_fields_reserve(l, nf + 32);
        while (m) {
            unsigned b = (unsigned)__builtin_ctz(m);
            size_t j = base + b;

            m &= m - 1;
            if ((mq >> b) & 1) {
                char c = buf[j];

                if (c == enc) {
                    size_t e;

                    if (j != field)
                        continue;
                    e = quoted_end(buf, n, j + 1, enc, esc, &escaped);
                    if (e == SIZE_MAX)
                        goto partial;
                    i = e + 1; /* go on scanning behind the closing enclose */
                    break;
                }
                if (c != sep && c != delim) {
                    escaped = true;
                    continue;
                }
            }
            if (final)
                set_enclosed(&l->fields[nf++], buf + field, j - field, enc, escaped);
            else
                add_field(l, &nf, buf + field, j - field);
            escaped = false;
            field = j + 1;
            if ((md >> b) & 1) {
                csv_row(l, nf, buf + row, j - row, final);
                nf = 0;
                row = field;
            }
        }
    }
#endif
    while (i < n) {
        char c = buf[i];

        if (c == enc && i == field) {
            size_t e = quoted_end(buf, n, i + 1, enc, esc, &escaped);

            if (e == SIZE_MAX)
                goto partial;
            i = e + 1;
            continue;
        }
        if (c == sep || c == delim) {
            END_FIELD(i);
            field = i + 1;
            if (c == delim) {
                csv_row(l, nf, buf + row, i - row, final);
                nf = 0;
                row = field;
            }
        } else if (esc >= 0 && c == (char)esc) {
            escaped = true;
        }
        i++;
    }
partial:
    if (eof && row < n) {
        if (esc >= 0 && !escaped && memchr(buf + field, (char)esc, n - field))
            escaped = true; /* an unterminated enclosed field was not walked */
        END_FIELD(n);
        csv_row(l, nf, buf + row, n - row, final);
        return n;
    }
    return row;
#undef END_FIELD
}

static inline bool match_at(const char *buf, size_t n, size_t i, const char *s, size_t len)
{
    return i + len <= n && memcmp(buf + i, s, len) == 0;
}

/* Any separator / delimiter, optional enclose (and escape inside it). */
static size_t scan_general(struct emu_load *l, const char *buf, size_t n, bool eof)
{
    const struct csv_opts *o = &l->csv;
    size_t row = 0, field = 0, i = 0;
    bool quoted = false;
    int nf = 0;

    while (i < n) {
        char c = buf[i];

        if (quoted) {
            if (o->escape >= 0 && c == (char)o->escape) {
                i += 2;
                continue;
            }
            if (c == (char)o->enclose)
                quoted = false;
            i++;
            continue;
        }
        if (o->enclose >= 0 && c == (char)o->enclose && i == field) {
            quoted = true;
            i++;
            continue;
        }
        if (c == o->sep[0] && match_at(buf, n, i, o->sep, o->sep_len)) {
            add_field(l, &nf, buf + field, i - field);
            i += o->sep_len;
            field = i;
            continue;
        }
        if (c == o->delim[0] && match_at(buf, n, i, o->delim, o->delim_len)) {
            add_field(l, &nf, buf + field, i - field);
            csv_row(l, nf, buf + row, i - row, false);
            nf = 0;
            i += o->delim_len;
            row = field = i;
            continue;
        }
        i++;
    }
    if (eof && row < n) {
        add_field(l, &nf, buf + field, n - field);
        csv_row(l, nf, buf + row, n - row, false);
        return n;
    }
    return row;
}

static bool is_simple(const struct emu_load *l)
{
    return l->csv.enclose < 0 && l->csv.sep_len == 1 && l->csv.delim_len == 1;
}

/* One-byte separator and delimiter, with enclose. */
static bool is_enclose1(const struct emu_load *l)
{
    return l->csv.enclose >= 0 && l->csv.enclose != l->csv.escape && l->csv.sep_len == 1 &&
           l->csv.delim_len == 1;
}

static size_t scan(struct emu_load *l, const char *buf, size_t n, bool eof)
{
    if (is_simple(l))
        return scan_simple(l, buf, n, eof);
    if (is_enclose1(l))
        return scan_enclose(l, buf, n, eof);
    return scan_general(l, buf, n, eof);
}

/* Offset of the first delimiter in carry at or after from, or SIZE_MAX. */
static size_t find_delim(const struct emu_load *l, size_t from)
{
    const char *d = l->csv.delim;
    size_t dl = l->csv.delim_len;
    const char *p = l->carry.data + from, *end = l->carry.data + l->carry.len;

    while (p < end) {
        const char *q = memchr(p, d[0], (size_t)(end - p));

        if (!q)
            break;
        if ((size_t)(end - q) >= dl && memcmp(q, d, dl) == 0)
            return (size_t)(q - l->carry.data);
        p = q + 1;
    }
    return SIZE_MAX;
}

static void keep_tail(struct emu_load *l, size_t used)
{
    size_t rest = l->carry.len - used;
    size_t dl = l->csv.delim_len;

    if (used && rest)
        memmove(l->carry.data, l->carry.data + used, rest);
    l->carry.len = rest;
    /* No record end lies wholly inside the kept bytes, except possibly a
     * delimiter whose first bytes are its last dl-1 bytes. */
    l->carry_scanned = rest >= dl ? rest - (dl - 1) : 0;
}

void csv_feed(struct emu_load *l, const char *p, size_t n)
{
    size_t used;

    if (l->carry.len && is_simple(l)) {
        /*
         * Without enclose every one-byte delimiter ends a record: finish the
         * carried record with this chunk's bytes up to its first delimiter
         * and parse the rest in place, instead of copying the whole chunk.
         */
        const char *q = memchr(p, l->csv.delim[0], n);

        if (!q) {
            emu_buf_append(&l->carry, p, n);
            keep_tail(l, 0);
            return;
        }
        emu_buf_append(&l->carry, p, (size_t)(q + 1 - p));
        used = scan(l, l->carry.data, l->carry.len, false);
        keep_tail(l, used);
        n -= (size_t)(q + 1 - p);
        p = q + 1; /* the carry is empty now: it ended with a delimiter */
    } else if (l->carry.len && is_enclose1(l)) {
        /*
         * The same try with enclose: the first delimiter ends the carried
         * record unless it lies inside an enclosed field; then the record
         * goes on as below.
         */
        const char *q = memchr(p, l->csv.delim[0], n);

        if (q) {
            emu_buf_append(&l->carry, p, (size_t)(q + 1 - p));
            used = scan(l, l->carry.data, l->carry.len, false);
            keep_tail(l, used);
            n -= (size_t)(q + 1 - p);
            p = q + 1;
        }
    }
    if (l->carry.len == 0) {
        used = scan(l, p, n, false);
        if (used < n) {
            emu_buf_append(&l->carry, p + used, n - used);
            keep_tail(l, 0);
        }
        return;
    }
    /*
     * A record started in an earlier chunk. Copy this chunk behind it; a
     * chunk without any delimiter cannot complete a record, so it is only
     * appended (a huge field is not rescanned for every chunk).
     */
    emu_buf_append(&l->carry, p, n);
    if (find_delim(l, l->carry_scanned) == SIZE_MAX) {
        keep_tail(l, 0);
        return;
    }
    used = scan(l, l->carry.data, l->carry.len, false);
    keep_tail(l, used);
}

void csv_finish(struct emu_load *l)
{
    if (l->carry.len)
        scan(l, l->carry.data, l->carry.len, true);
    l->carry.len = 0;
}
