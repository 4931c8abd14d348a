/*
 * copy_decode_test.c - COPY TEXT row splitting and unescaping: table-driven
 * rows (NULL vs empty vs literal \N, escaped TAB / newline / backslash,
 * quotes and CR flags, fields across 16-byte block boundaries), malformed
 * rows with their explanations, every escape of §7.4, a randomized
 * comparison against a byte-at-a-time reference splitter, and the block
 * masks the encoder's COPY-to-CSV path scans with.
 */
#include <stdio.h>
#include <stdlib.h>

#include "p2d_error.h"
#include "snapshot/copy_decode.h"
#include "testlib.h"

#define MAXF 64

/* Renders fields as "[flags:value]" after unescaping, NULL as "[N]". */
static void render(const struct p2d_field *f, int nf, char *out, size_t outsz)
{
    size_t o = 0;

    out[0] = 0;
    for (int i = 0; i < nf && o < outsz; i++) {
        char val[512];
        uint32_t vlen = 0;

        if (f[i].flags & P2D_FIELD_NULL) {
            o += (size_t)snprintf(out + o, outsz - o, "[N]");
            continue;
        }
        if (f[i].len >= sizeof val || p2d_copy_unescape(f[i].p, f[i].len, val, &vlen) != 0) {
            o += (size_t)snprintf(out + o, outsz - o, "[?]");
            continue;
        }
        val[vlen] = 0;
        o += (size_t)snprintf(out + o, outsz - o, "[%s%s%s]",
                              (f[i].flags & P2D_FIELD_HAS_BACKSLASH) ? "b:" : "",
                              (f[i].flags & P2D_FIELD_HAS_SPECIAL) ? "s:" : "", val);
    }
}

struct row_case {
    const char *row;
    int max;
    int rc;
    const char *want; /* render() of the fields, or the explain substring on error */
};

static const struct row_case rows[] = {
    {"1\tabc\t\\N\n", 3, 0, "[1][abc][N]"},
    {"\n", 3, 0, "[]"},
    {"\t\n", 3, 0, "[][]"},
    {"\\N\n", 1, 0, "[N]"},
    {"\\\\N\n", 1, 0, "[b:\\N]"},
    {"\\Nx\t\\N\n", 2, 0, "[b:Nx][N]"},
    {"a\\tb\\nc\\\\d\n", 1, 0, "[b:a\tb\nc\\d]"},
    {"say \"hi\"\tx\n", 2, 0, "[s:say \"hi\"][x]"},
    {"cr\rhere\n", 1, 0, "[s:cr\rhere]"},
    {"esc\\\ttab\tnext\n", 2, 0, "[b:esc\ttab][next]"},
    {"esc\\\nnl\n", 1, 0, "[b:esc\nnl]"},
    {"0123456789abcde\\\\x\t0123456789abcdef\n", 2, 0, "[b:0123456789abcde\\x][0123456789abcdef]"},
    {"0123456789abcdef0123456789abcde\\\tafter\n", 1, 0,
     "[b:0123456789abcdef0123456789abcde\tafter]"},
    {"a\tb\tc\td\te\tf\tg\th\ti\tj\tk\tl\tm\tn\to\tp\tq\n", 17, 0,
     "[a][b][c][d][e][f][g][h][i][j][k][l][m][n][o][p][q]"},
    {"\xc3\xa9\xe2\x82\xac\t\xf0\x9f\x98\x80\n", 2, 0, "[\xc3\xa9\xe2\x82\xac][\xf0\x9f\x98\x80]"},
    /* malformed */
    {"", 3, P2D_EPROTO, "empty row"},
    {"abc", 3, P2D_EPROTO, "does not end with a newline"},
    {"a\tb\tc\n", 2, P2D_EPROTO, "more than 2 fields"},
    {"a\nb\n", 2, P2D_EPROTO, "newline at byte 1"},
    {"abc\\\n", 2, P2D_EPROTO, "backslash at byte 3"},
    {"0123456789abcdef0123456789abcd\\\n", 2, P2D_EPROTO, "backslash at byte 30"},
    {"x", 0, P2D_EINVAL, "no room"},
};

static void test_rows(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row_case *c = &rows[i];
        struct p2d_field f[MAXF];
        int nf = -1;
        size_t n = strlen(c->row);
        /* exact-size heap copy so ASan catches any read past the row */
        uint8_t *buf = malloc(n ? n : 1);
        char got[2048];
        int rc;

        memcpy(buf, c->row, n);
        rc = p2d_copy_decode(buf, n, f, c->max, &nf);
        if (rc != c->rc) {
            t_fail_at(__FILE__, __LINE__, "row %zu: rc %d, want %d", i, rc, c->rc);
        } else if (rc == 0) {
            render(f, nf, got, sizeof got);
            T_EQ_STR(got, c->want);
        } else {
            p2d_copy_explain(buf, n, c->max, got, sizeof got);
            T_HAS_STR(got, c->want);
        }
        free(buf);
    }
}

static void test_null_slice(void)
{
    const char *row = "a\t\\N\n";
    struct p2d_field f[2];
    int nf;

    T_EQ_INT(p2d_copy_decode((const uint8_t *)row, strlen(row), f, 2, &nf), 0);
    T_EQ_INT(nf, 2);
    T_CHECK(f[1].p == row + 2); /* points at the raw \N */
    T_EQ_INT(f[1].len, 0);
    T_EQ_INT(f[1].flags, P2D_FIELD_NULL);
}

struct esc_case {
    const char *in;
    const char *out;
    uint32_t out_len;
    int rc;
};

static const struct esc_case escapes[] = {
    {"plain", "plain", 5, 0},
    {"\\\\", "\\", 1, 0},
    {"\\t\\n\\r\\b\\f\\v", "\t\n\r\b\f\v", 6, 0},
    {"\\101\\60x", "A0x", 3, 0},
    {"\\0", "\0", 1, 0},
    {"\\1234", "S4", 2, 0},
    {"\\777", "\xff", 1, 0},
    {"\\x41\\x4g\\xZ", "A\x04gxZ", 5, 0},
    {"\\xff1",
     "\xff"
     "1",
     2, 0},
    {"\\N\\q\\\"", "Nq\"", 3, 0},
    {"\\8", "8", 1, 0},
    {"end\\", "end", 3, P2D_EPROTO},
    {"", "", 0, 0},
};

static void test_unescape(void)
{
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        const struct esc_case *c = &escapes[i];
        uint32_t len = (uint32_t)strlen(c->in), outlen = 99;
        char dst[64], inplace[64];
        int rc = p2d_copy_unescape(c->in, len, dst, &outlen);

        T_EQ_INT(rc, c->rc);
        T_EQ_INT(p2d_copy_unescaped_len(c->in, len), c->rc ? -1 : (int64_t)c->out_len);
        if (rc == 0) {
            T_EQ_INT(outlen, c->out_len);
            T_CHECK(memcmp(dst, c->out, c->out_len) == 0);
            /* in place gives the same */
            memcpy(inplace, c->in, len);
            T_EQ_INT(p2d_copy_unescape(inplace, len, inplace, &outlen), 0);
            T_CHECK(outlen == c->out_len && memcmp(inplace, c->out, c->out_len) == 0);
        }
    }
}

/* Byte-at-a-time reference splitter. Returns 0 or -1. */
static int ref_split(const uint8_t *p, size_t n, size_t *starts, size_t *lens, uint8_t *flags,
                     int max, int *nf)
{
    size_t start = 0;
    uint8_t fl = 0;

    *nf = 0;
    if (n == 0 || p[n - 1] != '\n')
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\') {
            if (i + 1 >= n - 1)
                return -1;
            fl |= P2D_FIELD_HAS_BACKSLASH;
            i++;
        } else if (p[i] == '"' || p[i] == '\r') {
            fl |= P2D_FIELD_HAS_SPECIAL;
        } else if (p[i] == '\t' || p[i] == '\n') {
            if (*nf == max)
                return -1;
            starts[*nf] = start;
            lens[*nf] = i - start;
            flags[*nf] = fl;
            if (fl == P2D_FIELD_HAS_BACKSLASH && i - start == 2 && p[start + 1] == 'N') {
                lens[*nf] = 0;
                flags[*nf] = P2D_FIELD_NULL;
            }
            (*nf)++;
            if (p[i] == '\n')
                return i == n - 1 ? 0 : -1;
            start = i + 1;
            fl = 0;
        }
    }
    return -1;
}

static void test_random_vs_reference(void)
{
    static const char alphabet[] = "ab\t\t\\\\N\"\r\n01";
    uint64_t seed = 12345;
    int mismatches = 0;

    for (int iter = 0; iter < 200000; iter++) {
        uint8_t buf[80];
        size_t n;
        struct p2d_field f[MAXF];
        size_t starts[MAXF], lens[MAXF];
        uint8_t flags[MAXF];
        int nf = 0, rnf = 0, rc, rrc;

        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        n = (size_t)(seed >> 33) % sizeof buf;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[i] = (uint8_t)alphabet[(seed >> 33) % (sizeof alphabet - 1)];
        }
        if (n > 0 && (iter & 1))
            buf[n - 1] = '\n';
        rc = p2d_copy_decode(buf, n, f, 8, &nf);
        rrc = ref_split(buf, n, starts, lens, flags, 8, &rnf);
        if ((rc == 0) != (rrc == 0)) {
            mismatches++;
            continue;
        }
        if (rc != 0)
            continue;
        if (nf != rnf) {
            mismatches++;
            continue;
        }
        for (int i = 0; i < nf; i++)
            if (f[i].p != (const char *)buf + starts[i] || f[i].len != lens[i] ||
                f[i].flags != flags[i])
                mismatches++;
    }
    T_EQ_INT(mismatches, 0);
}

/* The block masks for scanners (p2d__copy_block_masks) against a byte loop:
 * every row length from 1 to 80, every block start, bytes drawn mostly from
 * the special ones. Each row sits at the end of its own allocation, so a
 * read past it shows under the sanitizers. */
static void test_block_masks(void)
{
    static const char pick[] = "\t\n\\\"\rxN";
    uint64_t s = 5;
    int mismatches = 0, blocks = 0;

    for (size_t n = 1; n <= 80; n++)
        for (int iter = 0; iter < 50; iter++) {
            uint8_t *row = malloc(n);

            for (size_t i = 0; i < n; i++) {
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                row[i] = (s >> 60) < 12 ? (uint8_t)pick[(s >> 33) % 7] : (uint8_t)(s >> 40);
            }
            for (size_t base = 0; base < n; base += 1 + (s >> 62)) {
                uint32_t tabs = 0, other, want_tabs = 0, want_other = 0;

                for (size_t i = 0; i < 16 && base + i < n; i++) {
                    uint8_t c = row[base + i];

                    want_tabs |= (uint32_t)(c == '\t') << i;
                    want_other |= (uint32_t)(c == '\\' || c == '"' || c == '\r' || c == '\n') << i;
                }
                other = p2d__copy_block_masks(row, base, n, &tabs);
                if (tabs != want_tabs || other != want_other)
                    mismatches++;
                if (n - base >= 16) {
                    other = p2d__copy_block16_masks(row + base, &tabs);
                    if (tabs != want_tabs || other != want_other)
                        mismatches++;
                }
                blocks++;
            }
            free(row);
        }
    T_EQ_INT(mismatches, 0);
    T_CHECK(blocks > 50000);
}

int main(void)
{
    test_rows();
    test_null_slice();
    test_unescape();
    test_random_vs_reference();
    test_block_masks();
    return t_done();
}
