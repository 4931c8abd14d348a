/*
 * copy_decode_fuzz.c - fuzz target for p2d_copy_decode / unescape.
 * Input: byte 0 picks nfields_max (1..64), the rest is one COPY row.
 * Checks: fields lie inside the row, in order, separated by one TAB; flags
 * match the field bytes; unescape agrees with unescaped_len and never
 * writes past the field length; refusals have an explanation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/copy_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "copy_decode_fuzz: check failed: %s (line %d)\n", #c, __LINE__);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct p2d_field fields[64];
    int max, nf = -1, rc;
    const uint8_t *row;
    size_t n;

    if (size < 1)
        return 0;
    max = 1 + data[0] % 64;
    row = data + 1;
    n = size - 1;
    rc = p2d_copy_decode(row, n, fields, max, &nf);
    if (rc != 0) {
        char msg[256];

        CHECK(nf == 0);
        p2d_copy_explain(row, n, max, msg, sizeof msg);
        CHECK(msg[0] != 0);
        return 0;
    }
    CHECK(nf >= 1 && nf <= max);
    for (int i = 0; i < nf; i++) {
        const struct p2d_field *f = &fields[i];
        size_t off = (size_t)((const uint8_t *)f->p - row);
        size_t raw = (f->flags & P2D_FIELD_NULL) ? 2 : f->len;
        char *dst;
        uint32_t outlen = 0;

        CHECK(off + raw < n);
        CHECK(row[off + raw] == (i == nf - 1 ? '\n' : '\t'));
        if (i > 0) {
            size_t prev = (size_t)((const uint8_t *)fields[i - 1].p - row);
            size_t prev_raw = (fields[i - 1].flags & P2D_FIELD_NULL) ? 2 : fields[i - 1].len;

            CHECK(prev + prev_raw + 1 == off);
        }
        if (f->flags & P2D_FIELD_NULL) {
            CHECK(f->len == 0 && f->p[0] == '\\' && f->p[1] == 'N');
            continue;
        }
        CHECK(((f->flags & P2D_FIELD_HAS_BACKSLASH) != 0) == (memchr(f->p, '\\', f->len) != NULL));
        /* an escaped '"' or CR does not count: the backslash flag covers it */
        if (f->flags & P2D_FIELD_HAS_SPECIAL)
            CHECK(memchr(f->p, '"', f->len) != NULL || memchr(f->p, '\r', f->len) != NULL);
        else if (!(f->flags & P2D_FIELD_HAS_BACKSLASH))
            CHECK(memchr(f->p, '"', f->len) == NULL && memchr(f->p, '\r', f->len) == NULL);
        dst = malloc(f->len ? f->len : 1);
        CHECK(dst != NULL);
        rc = p2d_copy_unescape(f->p, f->len, dst, &outlen);
        /* a field from a decoded row never ends in a lone backslash */
        CHECK(rc == 0 && outlen <= f->len);
        CHECK(p2d_copy_unescaped_len(f->p, f->len) == (int64_t)outlen);
        free(dst);
    }
    return 0;
}
