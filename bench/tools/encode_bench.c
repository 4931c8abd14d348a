/*
 * encode_bench.c - throughput of the full-load data path on one core:
 * COPY TEXT rows -> p2d_copy_decode -> p2d_encode_row into Stream Load
 * bodies, for lineitem-shaped rows (ints, numeric(15,2), char(1), dates,
 * char(25), char(10), varchar(44)) generated in memory.
 *
 *   encode_bench [ROWS [PASSES]]     defaults: 1000000 rows, 5 passes
 *
 * Method: rows are generated once into one buffer (about 130 bytes each,
 * like PostgreSQL's COPY output for TPC-H lineitem); each pass decodes and
 * encodes every row into a 16 MiB body that is reset when full, as the
 * writer's batch buffers are. The best pass is reported as MB/s of COPY
 * text (1 MB = 10^6 bytes) for decode only, decode + CSV, decode + JSON,
 * and COPY -> CSV: p2d_encode_copy_row straight from the row (the reader's
 * path), falling back to decode + CSV for rows it does not take.
 * Also a hostile variant where every 8th row has a text value needing
 * escapes (quote, tab, backslash) to show the slow path's cost, and one
 * where every 4th row has a NULL comment (\N: the COPY path's exact scan).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p2d_error.h"
#include "snapshot/copy_decode.h"
#include "xfer/encode.h"

#define NCOLS 16

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

enum variant { LINEITEM, HOSTILE, NULLS };

static char *generate(long rows, enum variant variant, size_t *len, size_t **offsets)
{
    static const char *const instruct[] = {"DELIVER IN PERSON        ", "COLLECT COD              ",
                                           "NONE                     ",
                                           "TAKE BACK RETURN         "};
    static const char *const modes[] = {"REG AIR   ", "AIR       ", "RAIL      ", "SHIP      ",
                                        "TRUCK     ", "MAIL      ", "FOB       "};
    static const char *const words[] = {"furiously", "quickly", "carefully", "blithely", "slyly",
                                        "ironic",    "final",   "pending",   "regular",  "express"};
    size_t cap = (size_t)rows * 200 + 1, o = 0;
    char *buf = malloc(cap);
    uint64_t s = 42;

    *offsets = malloc(sizeof **offsets * ((size_t)rows + 1));
    if (!buf || !*offsets)
        exit(1);
    for (long i = 0; i < rows; i++) {
        uint64_t r = next(&s);
        int d = (int)(r % 2500);
        char comment[64];

        snprintf(comment, sizeof comment, "%s %s %s", words[r % 10], words[(r >> 8) % 10],
                 words[(r >> 16) % 10]);
        if (variant == HOSTILE && i % 8 == 0)
            snprintf(comment, sizeof comment, "say \"hi\"\\tand \\\\ more");
        if (variant == NULLS && i % 4 == 0)
            snprintf(comment, sizeof comment, "\\N");
        (*offsets)[i] = o;
        o += (size_t)snprintf(
            buf + o, cap - o,
            "%ld\t%llu\t%llu\t%ld\t%llu.00\t%llu.%02llu\t0.0%llu\t0.0%llu\t%c\t%c\t"
            "%04d-%02d-%02d\t%04d-%02d-%02d\t%04d-%02d-%02d\t%s\t%s\t%s\n",
            i / 4 + 1, (unsigned long long)(r % 200000), (unsigned long long)((r >> 20) % 10000),
            i % 4 + 1, (unsigned long long)(1 + (r >> 5) % 50),
            (unsigned long long)((r >> 9) % 100000), (unsigned long long)((r >> 3) % 100),
            (unsigned long long)((r >> 13) % 10), (unsigned long long)((r >> 17) % 9),
            "NAR"[(r >> 21) % 3], "OF"[(r >> 23) % 2], 1992 + d / 336, 1 + d % 12, 1 + d % 28,
            1992 + (d + 30) / 336, 1 + (d + 1) % 12, 1 + (d + 3) % 28, 1992 + (d + 60) / 336,
            1 + (d + 2) % 12, 1 + (d + 5) % 28, instruct[(r >> 25) % 4], modes[(r >> 27) % 7],
            comment);
    }
    (*offsets)[rows] = o;
    *len = o;
    return buf;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* mode 0: decode only, 1: CSV, 2: JSON, 3: COPY -> CSV. Returns the best
 * pass in seconds. */
static double run(const char *rows, const size_t *off, long nrows, int mode, int passes,
                  size_t *out_bytes)
{
    static const enum p2d_value_rule rules[NCOLS] = {
        P2D_VR_INT,     P2D_VR_INT,     P2D_VR_INT,  P2D_VR_INT,  P2D_VR_DECIMAL, P2D_VR_DECIMAL,
        P2D_VR_DECIMAL, P2D_VR_DECIMAL, P2D_VR_TEXT, P2D_VR_TEXT, P2D_VR_DATE,    P2D_VR_DATE,
        P2D_VR_DATE,    P2D_VR_TEXT,    P2D_VR_TEXT, P2D_VR_TEXT};
    static const char *const names[NCOLS] = {
        "l_orderkey",    "l_partkey",       "l_suppkey",  "l_linenumber",
        "l_quantity",    "l_extendedprice", "l_discount", "l_tax",
        "l_returnflag",  "l_linestatus",    "l_shipdate", "l_commitdate",
        "l_receiptdate", "l_shipinstruct",  "l_shipmode", "l_comment"};
    struct p2d_encode_col cols[NCOLS];
    struct p2d_encoder *enc;
    struct p2d_field f[NCOLS];
    struct p2d_value_issue iss[NCOLS];
    struct p2d_buf out;
    double best = 1e9;
    volatile size_t sink = 0;

    for (int i = 0; i < NCOLS; i++)
        cols[i] = (struct p2d_encode_col){.name = names[i], .rule = rules[i], .not_null = true};
    enc = p2d_encoder_create(mode == 2 ? P2D_ENCODE_JSON : P2D_ENCODE_CSV, cols, NCOLS, NULL, 0,
                             false);
    p2d_buf_init(&out, 0);
    if (!enc || p2d_buf_reserve(&out, 16u << 20) != 0)
        exit(1);
    for (int pass = 0; pass < passes; pass++) {
        double t0 = now(), t;
        size_t total = 0;

        for (long i = 0; i < nrows; i++) {
            bool written = false;
            int nf, ni, rc;

            if (mode == 3) {
                if (out.len > (16u << 20) - 4096) {
                    total += out.len;
                    p2d_buf_reset(&out);
                }
                rc = p2d_encode_copy_row(enc, rows + off[i], off[i + 1] - off[i], NULL, 0, &out,
                                         &written);
                if (rc != 0) {
                    fprintf(stderr, "encode failed at row %ld: %s\n", i, p2d_strerror(rc));
                    exit(1);
                }
                if (written)
                    continue;
            }
            rc =
                p2d_copy_decode((const uint8_t *)rows + off[i], off[i + 1] - off[i], f, NCOLS, &nf);
            if (rc != 0) {
                fprintf(stderr, "decode failed at row %ld: %s\n", i, p2d_strerror(rc));
                exit(1);
            }
            if (mode == 0) {
                sink += (size_t)f[nf - 1].len;
                continue;
            }
            if (out.len > (16u << 20) - 4096) {
                total += out.len;
                p2d_buf_reset(&out);
            }
            rc = p2d_encode_row(enc, f, nf, NULL, 0, &out, iss, NCOLS, &ni);
            if (rc != 0) {
                fprintf(stderr, "encode failed at row %ld: %s\n", i, p2d_strerror(rc));
                exit(1);
            }
        }
        total += out.len;
        p2d_buf_reset(&out);
        t = now() - t0;
        if (t < best)
            best = t;
        *out_bytes = total;
    }
    p2d_buf_fini(&out);
    p2d_encoder_destroy(enc);
    return best;
}

int main(int argc, char **argv)
{
    long nrows = argc > 1 ? atol(argv[1]) : 1000000;
    int passes = argc > 2 ? atoi(argv[2]) : 5;
    static const char *const mode_names[] = {"decode only", "decode + CSV", "decode + JSON",
                                             "COPY -> CSV"};
    static const char *const variant_names[] = {"lineitem", "hostile (1 in 8 escaped)",
                                                "nulls (1 in 4 with a NULL)"};

    if (nrows <= 0 || passes <= 0) {
        fprintf(stderr, "usage: encode_bench [ROWS [PASSES]]\n");
        return 2;
    }
    for (int variant = LINEITEM; variant <= NULLS; variant++) {
        size_t len, *off, out_bytes = 0;
        char *rows = generate(nrows, (enum variant)variant, &len, &off);

        printf("%s rows: %ld, COPY text %.1f MB (%.1f bytes/row)\n", variant_names[variant], nrows,
               (double)len / 1e6, (double)len / (double)nrows);
        for (int mode = 0; mode < 4; mode++) {
            double t = run(rows, off, nrows, mode, passes, &out_bytes);

            printf("  %-14s %8.0f MB/s  %6.1f Mrows/s  body %.1f MB\n", mode_names[mode],
                   (double)len / 1e6 / t, (double)nrows / 1e6 / t, (double)out_bytes / 1e6);
        }
        free(rows);
        free(off);
    }
    return 0;
}
