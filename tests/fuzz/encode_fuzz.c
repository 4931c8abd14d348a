/*
 * encode_fuzz.c - fuzz target for p2d_encode_row over decoded COPY rows.
 * Input: byte 0 = format (bit 0) and column count (bits 1-3, 1..8), bytes
 * 1..8 = value rules, the rest = one COPY row. Checks: a failed row leaves
 * the body unchanged; a CSV line has as many fields as columns under the
 * §1.7 reading (enclose '"', escape '\\'); text columns give back their
 * exact unescaped value; a JSON line holds exactly one newline, at its end;
 * the COPY-to-CSV path (p2d_encode_copy_row), when it takes the row, gives
 * the same bytes and the per-field path reported no issue.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2d_error.h"
#include "snapshot/copy_decode.h"
#include "xfer/encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "encode_fuzz: check failed: %s (line %d)\n", #c, __LINE__);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Splits one CSV line per §1.7 and compares TEXT columns with the source. */
static void check_csv(const uint8_t *p, size_t n, const struct p2d_field *fields,
                      const struct p2d_encode_col *cols, int ncols)
{
    size_t i = 0;

    for (int c = 0; c < ncols; c++) {
        size_t start, end;
        int enclosed = 0;

        CHECK(i < n);
        if (p[i] == '"') {
            enclosed = 1;
            start = ++i;
            while (i < n && p[i] != '"')
                i += p[i] == '\\' ? 2 : 1;
            CHECK(i < n);
            end = i++;
        } else {
            start = i;
            while (i < n && p[i] != '\t' && p[i] != '\n')
                i++;
            end = i;
        }
        CHECK(i < n && p[i] == (c == ncols - 1 ? '\n' : '\t'));
        i++;
        if (cols[c].rule == P2D_VR_TEXT) {
            int is_null = !enclosed && end - start == 2 && p[start] == '\\' && p[start + 1] == 'N';
            char *want = malloc(fields[c].len + 1), *got = malloc(end - start + 1);
            uint32_t wlen = 0;
            size_t glen = 0;

            CHECK(want && got);
            CHECK(is_null == ((fields[c].flags & P2D_FIELD_NULL) != 0));
            if (!is_null) {
                CHECK(p2d_copy_unescape(fields[c].p, fields[c].len, want, &wlen) == 0);
                for (size_t k = start; k < end; k++) {
                    if (p[k] == '\\' && k + 1 < end)
                        k++;
                    got[glen++] = (char)p[k];
                }
                CHECK(glen == wlen && memcmp(got, want, wlen) == 0);
            }
            free(want);
            free(got);
        }
    }
    CHECK(i == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *names[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    struct p2d_encode_col cols[8];
    struct p2d_field fields[8];
    struct p2d_value_issue issues[8];
    struct p2d_encoder *enc;
    struct p2d_buf out;
    int format, ncols, nf, ni, rc;

    if (size < 9)
        return 0;
    format = data[0] & 1 ? P2D_ENCODE_JSON : P2D_ENCODE_CSV;
    ncols = 1 + ((data[0] >> 1) & 7);
    for (int c = 0; c < ncols; c++) {
        memset(&cols[c], 0, sizeof cols[c]);
        cols[c].name = names[c];
        cols[c].rule = (enum p2d_value_rule)(data[1 + c] % (P2D_VR_JSON + 1));
        cols[c].scale = (uint8_t)((data[1 + c] >> 4) % 7);
        cols[c].not_null = (data[1 + c] & 0x80) != 0;
        cols[c].max_bytes = (data[1 + c] & 0x40) ? 8 : 0;
    }
    if (p2d_copy_decode(data + 9, size - 9, fields, 8, &nf) != 0)
        return 0;
    enc = p2d_encoder_create(format, cols, ncols, NULL, 0, false);
    CHECK(enc != NULL);
    p2d_buf_init(&out, 1 << 20);
    CHECK(p2d_buf_append(&out, "x", 1) == 0);
    rc = p2d_encode_row(enc, fields, nf, NULL, 0, &out, issues, 8, &ni);
    if (nf != ncols)
        CHECK(rc == P2D_EPROTO);
    if (rc != 0) {
        CHECK(out.len == 1);
        CHECK(rc == P2D_EPROTO || rc == P2D_EDATA);
    } else if (format == P2D_ENCODE_CSV) {
        check_csv(out.data + 1, out.len - 1, fields, cols, ncols);
    } else {
        CHECK(memchr(out.data, '\n', out.len) == out.data + out.len - 1);
        CHECK(out.data[1] == '{' && out.data[out.len - 2] == '}');
    }
    for (int i = 0; i < ni && i < 8; i++)
        CHECK(issues[i].column >= 0 && issues[i].column < ncols);
    if (format == P2D_ENCODE_CSV) {
        /* the reader's COPY-to-CSV path: when it takes a row, its bytes are
         * the per-field path's and that path reported no issue */
        struct p2d_buf fast;
        bool written = false;

        p2d_buf_init(&fast, 1 << 20);
        CHECK(p2d_buf_append(&fast, "x", 1) == 0);
        CHECK(p2d_encode_copy_row(enc, (const char *)data + 9, size - 9, NULL, 0, &fast,
                                  &written) == 0);
        if (written) {
            CHECK(rc == 0 && ni == 0);
            CHECK(fast.len == out.len && memcmp(fast.data, out.data, out.len) == 0);
        } else {
            CHECK(fast.len == 1);
        }
        {
            /* the row twice as CopyData messages, in one run: both rows
             * when the per-row path took it, none otherwise */
            size_t n = size - 9, used = 0, rows = 0;
            uint32_t mlen = (uint32_t)n + 4;
            uint8_t h[5] = {'d', (uint8_t)(mlen >> 24), (uint8_t)(mlen >> 16), (uint8_t)(mlen >> 8),
                            (uint8_t)mlen};
            struct p2d_buf msgs, run;
            enum p2d_copy_run_stop stop;

            p2d_buf_init(&msgs, 0);
            p2d_buf_init(&run, 0);
            for (int k = 0; k < 2; k++)
                CHECK(p2d_buf_append(&msgs, h, 5) == 0 && p2d_buf_append(&msgs, data + 9, n) == 0);
            stop = p2d_encode_copy_rows(enc, msgs.data, msgs.len, &run, &used, &rows);
            if (written) {
                CHECK(stop == P2D_COPY_RUN_END && rows == 2 && used == msgs.len);
                CHECK(run.len == 2 * n && memcmp(run.data, data + 9, n) == 0 &&
                      memcmp(run.data + n, data + 9, n) == 0);
            } else {
                CHECK(stop == P2D_COPY_RUN_ROW && rows == 0 && used == 0 && run.len == 0);
            }
            p2d_buf_fini(&run);
            p2d_buf_fini(&msgs);
        }
        p2d_buf_fini(&fast);
    }
    p2d_buf_fini(&out);
    p2d_encoder_destroy(enc);
    return 0;
}
