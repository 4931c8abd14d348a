/*
 * copy_decode.c - splitting and unescaping of COPY TEXT rows
 * (docs/pg-replication.md §7.4).
 *
 * The splitter looks at each byte once. With SSE2 it compares 16 bytes at a
 * time against the five bytes that matter (TAB, '\n', '\\', '"', '\r') and
 * walks the resulting bit mask, so a row costs about one vector step per 16
 * bytes plus a few instructions per field. A backslash escapes the byte
 * after it, whatever it is (PostgreSQL's CopyReadAttributesText does the
 * same), so an escaped TAB or newline never splits a field.
 */
#include "snapshot/copy_decode.h"

#include "base/text.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "p2d_error.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* 1 for the bytes the splitter stops at */
static const uint8_t special_byte[256] = {
    ['\t'] = 1, ['\n'] = 1, ['\\'] = 1, ['"'] = 1, ['\r'] = 1,
};

/* Bit i set when p[base + i] is special, for base + i < n. base < n. */
static inline uint32_t block_mask(const uint8_t *p, size_t base, size_t n)
{
#if defined(__SSE2__)
    const __m128i tab = _mm_set1_epi8('\t'), nl = _mm_set1_epi8('\n');
    const __m128i bs = _mm_set1_epi8('\\'), qt = _mm_set1_epi8('"'), cr = _mm_set1_epi8('\r');
    size_t at = base;
    unsigned shift = 0;
    __m128i v, m;

    if (n - base < 16) {
        if (n < 16)
            goto scalar;
        /* load the last 16 bytes of the row and drop those before base */
        at = n - 16;
        shift = (unsigned)(base - at);
    }
    v = _mm_loadu_si128((const __m128i *)(const void *)(p + at));
    m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, tab), _mm_cmpeq_epi8(v, nl)),
                     _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, bs), _mm_cmpeq_epi8(v, qt)),
                                  _mm_cmpeq_epi8(v, cr)));
    return (uint32_t)_mm_movemask_epi8(m) >> shift;
scalar :
#endif
{
    uint32_t mask = 0;
    size_t end = n - base < 16 ? n - base : 16;

    for (size_t i = 0; i < end; i++)
        mask |= (uint32_t)special_byte[p[base + i]] << i;
    return mask;
}
}

int p2d_copy_decode(const uint8_t *p, size_t n, struct p2d_field *fields, int nfields_max,
                    int *nfields)
{
    size_t base = 0, start = 0;
    uint32_t mask;
    uint8_t flags = 0;
    bool skip_first = false;
    int nf = 0;

    *nfields = 0;
    if (n > UINT32_MAX || nfields_max < 1)
        return P2D_EINVAL;
    if (n == 0 || p[n - 1] != '\n')
        return P2D_EPROTO;
    mask = block_mask(p, 0, n);
    for (;;) {
        size_t k;

        while (mask == 0) {
            base += 16;
            if (base >= n)
                return P2D_EPROTO; /* the final '\n' was escaped */
            mask = block_mask(p, base, n);
            if (skip_first) {
                mask &= ~1u;
                skip_first = false;
            }
        }
        k = base + (size_t)__builtin_ctz(mask);
        mask &= mask - 1;
        switch (p[k]) {
        case '\\':
            flags |= P2D_FIELD_HAS_BACKSLASH;
            if (k + 1 >= n - 1)
                return P2D_EPROTO; /* escapes the final '\n' */
            if (k + 1 - base < 16)
                mask &= ~(1u << (k + 1 - base));
            else
                skip_first = true;
            break;
        case '"':
        case '\r':
            flags |= P2D_FIELD_HAS_SPECIAL;
            break;
        default: /* '\t' or '\n' */
            if (nf == nfields_max)
                return P2D_EPROTO;
            fields[nf].p = (const char *)p + start;
            fields[nf].len = (uint32_t)(k - start);
            fields[nf].flags = flags;
            if (flags == P2D_FIELD_HAS_BACKSLASH && k - start == 2 && p[start + 1] == 'N') {
                fields[nf].len = 0;
                fields[nf].flags = P2D_FIELD_NULL;
            }
            nf++;
            if (p[k] == '\n') {
                if (k != n - 1)
                    return P2D_EPROTO;
                *nfields = nf;
                return 0;
            }
            start = k + 1;
            flags = 0;
            break;
        }
    }
}

void p2d_copy_explain(const uint8_t *p, size_t n, int nfields_max, char *msg, size_t msgsz)
{
    int nf = 1;

    if (msgsz == 0)
        return;
    if (n > UINT32_MAX) {
        snprintf(msg, msgsz, "row of %zu bytes is longer than 4 GiB", n);
        return;
    }
    if (nfields_max < 1) {
        snprintf(msg, msgsz, "no room for fields (nfields_max %d)", nfields_max);
        return;
    }
    if (n == 0) {
        snprintf(msg, msgsz, "empty row: a COPY row ends with a newline");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        switch (p[i]) {
        case '\\':
            if (i + 1 >= n - 1) {
                snprintf(msg, msgsz,
                         "row does not end with a newline (the backslash at byte %zu escapes "
                         "the last byte)",
                         i);
                return;
            }
            i++;
            break;
        case '\t':
            if (nf == nfields_max) {
                snprintf(msg, msgsz, "row has more than %d fields (extra TAB at byte %zu)",
                         nfields_max, i);
                return;
            }
            nf++;
            break;
        case '\n':
            if (i != n - 1) {
                snprintf(msg, msgsz,
                         "newline at byte %zu before the end of the row (%zu bytes): one "
                         "CopyData message must hold exactly one row",
                         i, n);
                return;
            }
            snprintf(msg, msgsz, "row is well formed (%d fields)", nf);
            return;
        default:
            break;
        }
    }
    snprintf(msg, msgsz, "row does not end with a newline (last byte 0x%02x)", p[n - 1]);
}

static inline int octal_digit(char c)
{
    return c >= '0' && c <= '7' ? c - '0' : -1;
}

/*
 * Decodes the escape starting at src[i] == '\\'. Stores the byte in *out and
 * returns the index after the escape, or 0 for a trailing backslash.
 */
static inline uint32_t unescape_one(const char *src, uint32_t i, uint32_t len, char *out)
{
    char c;
    int d;

    if (i + 1 >= len)
        return 0;
    c = src[i + 1];
    i += 2;
    switch (c) {
    case 'b':
        *out = '\b';
        return i;
    case 'f':
        *out = '\f';
        return i;
    case 'n':
        *out = '\n';
        return i;
    case 'r':
        *out = '\r';
        return i;
    case 't':
        *out = '\t';
        return i;
    case 'v':
        *out = '\v';
        return i;
    case 'x':
        /* \x + 1-2 hex digits; \x without one is a plain 'x' (as PostgreSQL) */
        if (i < len && (d = p2d_hex_digit(src[i])) >= 0) {
            unsigned v = (unsigned)d;

            i++;
            if (i < len && (d = p2d_hex_digit(src[i])) >= 0) {
                v = v << 4 | (unsigned)d;
                i++;
            }
            *out = (char)v;
            return i;
        }
        *out = 'x';
        return i;
    default:
        if ((d = octal_digit(c)) >= 0) {
            unsigned v = (unsigned)d;

            for (int k = 0; k < 2 && i < len && (d = octal_digit(src[i])) >= 0; k++, i++)
                v = v << 3 | (unsigned)d;
            *out = (char)(v & 0377);
            return i;
        }
        *out = c;
        return i;
    }
}

int p2d_copy_unescape(const char *src, uint32_t len, char *dst, uint32_t *outlen)
{
    uint32_t i = 0, o = 0;

    while (i < len) {
        const char *bs = memchr(src + i, '\\', len - i);
        uint32_t run = bs ? (uint32_t)(bs - (src + i)) : len - i;

        if (run) {
            if (dst + o != src + i)
                memmove(dst + o, src + i, run);
            o += run;
            i += run;
        }
        if (!bs)
            break;
        i = unescape_one(src, i, len, &dst[o]);
        if (i == 0) {
            *outlen = o;
            return P2D_EPROTO;
        }
        o++;
    }
    *outlen = o;
    return 0;
}

int64_t p2d_copy_unescaped_len(const char *src, uint32_t len)
{
    uint32_t i = 0;
    int64_t o = 0;
    char dummy;

    while (i < len) {
        if (src[i] != '\\') {
            i++;
            o++;
            continue;
        }
        i = unescape_one(src, i, len, &dummy);
        if (i == 0)
            return -1;
        o++;
    }
    return o;
}
