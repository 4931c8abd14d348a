/*
 * gen_wide.c - writes the rows of bench/run's `wide` dataset as PostgreSQL
 * COPY text (tab-separated, \N for NULL) to stdout, deterministically:
 *
 *   gen_wide ROWS [FIRST_ID]        FIRST_ID defaults to 1
 *
 * Columns: id bigint, grp int, created timestamp, title varchar(100),
 * body text, note text (NULL on every fifth row).
 *
 * body is about 1024 to 4096 bytes (uniform), so about two rows in three are
 * above the 2 KB TOAST threshold. It is text-like (pseudo-words of random
 * letters, sentences, a few UTF-8 words, quotes and commas) but has no long
 * repeats, so pglz cannot save the 25% it needs and PostgreSQL stores large
 * values out of line in the TOAST table rather than compressed inline.
 * No tab, newline or backslash appears in any value, so the COPY text is
 * also valid Stream Load CSV for the naive baseline.
 *
 * Row id's content depends only on id (the generator is seeded per row), so
 * a row is the same at every scale factor.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static const char *const utf8_words[] = {"café",   "naïve", "Zürich", "–",
                                         "façade", "€",     "São",    "smörgåsbord"};

/* Writes pseudo-text to out: from len - 12 to len + 14 bytes, NUL-terminated. */
static size_t text(uint64_t *s, char *out, size_t len)
{
    size_t n = 0;
    int capital = 1;

    while (n + 12 < len) {
        uint64_t r = next(s);

        if (r % 97 == 0) {
            const char *w = utf8_words[(r >> 8) % 8];
            size_t wl = strlen(w);

            memcpy(out + n, w, wl);
            n += wl;
        } else {
            int wl = 1 + (int)((r >> 8) % 10);
            uint64_t l = next(s);

            for (int i = 0; i < wl; i++) {
                char c = (char)('a' + ((l >> (8 * (i % 8))) & 0xff) % 26);

                if (i == 0 && capital)
                    c = (char)(c - 'a' + 'A');
                out[n++] = c;
                if (i % 8 == 7)
                    l = next(s);
            }
        }
        capital = 0;
        if (r % 13 == 0) {
            out[n++] = '.';
            capital = 1;
        } else if (r % 17 == 0) {
            out[n++] = ',';
        } else if (r % 61 == 0) {
            out[n++] = '"';
        }
        out[n++] = ' ';
    }
    if (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    return n;
}

int main(int argc, char **argv)
{
    long long rows, first = 1;
    static char buf[1 << 20];
    static char body[4200], title[100];

    if (argc < 2 || (rows = atoll(argv[1])) <= 0) {
        fprintf(stderr, "usage: gen_wide ROWS [FIRST_ID]\n");
        return 2;
    }
    if (argc > 2)
        first = atoll(argv[2]);
    setvbuf(stdout, buf, _IOFBF, sizeof(buf));
    for (long long id = first; id < first + rows; id++) {
        uint64_t s = (uint64_t)id * 0x2545f4914f6cdd1dULL;
        uint64_t r = next(&s);
        size_t blen = 1024 + (size_t)(r % 3073);
        time_t t = (time_t)1577836800 + (time_t)(id * 37); /* 2020-01-01 + 37 s per row */
        struct tm tm;
        char created[32];

        gmtime_r(&t, &tm);
        strftime(created, sizeof(created), "%Y-%m-%d %H:%M:%S", &tm);
        text(&s, title, 20 + (r >> 20) % 30);
        text(&s, body, blen);
        printf("%lld\t%d\t%s\tItem %lld %s\t%s\t", id, (int)((r >> 12) % 1000), created, id, title,
               body);
        if (id % 5 == 0)
            fputs("\\N\n", stdout);
        else
            printf("ok %016llx\n", (unsigned long long)next(&s));
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
