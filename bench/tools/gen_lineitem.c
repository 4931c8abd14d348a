/*
 * gen_lineitem.c - writes TPC-H lineitem-shaped rows (16 columns: integers,
 * DECIMAL(15,2), CHAR(1), DATE, VARCHAR) to stdout, deterministically, for
 * benchmarks that must not depend on PostgreSQL.
 *
 *   gen_lineitem ROWS [SEPARATOR]      SEPARATOR defaults to a tab
 *
 * Row i (0-based) has l_orderkey = i / 4 + 1 and l_linenumber = i % 4 + 1, so
 * (l_orderkey, l_linenumber) is a unique key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const instruct[] = {"DELIVER IN PERSON", "COLLECT COD", "NONE",
                                       "TAKE BACK RETURN"};
static const char *const modes[] = {"REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"};
static const char *const words[] = {"furiously", "quickly",  "carefully",  "blithely",
                                    "slyly",     "ironic",   "final",      "pending",
                                    "regular",   "express",  "deposits",   "packages",
                                    "accounts",  "requests", "theodolites"};

static uint64_t next(uint64_t *s)
{
    /* splitmix64: fast, deterministic, good enough for test data */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void date_of(int day, char *out)
{
    /* day 0 = 1992-01-01; months approximated by a 28-day grid keeps dates valid */
    int y = 1992 + day / 336, m = 1 + (day % 336) / 28, d = 1 + day % 28;

    sprintf(out, "%04d-%02d-%02d", y, m, d);
}

int main(int argc, char **argv)
{
    long long rows;
    const char *sep = "\t";
    uint64_t seed = 42;
    static char buf[1 << 20];

    if (argc < 2 || (rows = atoll(argv[1])) <= 0) {
        fprintf(stderr, "usage: gen_lineitem ROWS [SEPARATOR]\n");
        return 2;
    }
    if (argc > 2)
        sep = argv[2];
    setvbuf(stdout, buf, _IOFBF, sizeof(buf));
    for (long long i = 0; i < rows; i++) {
        uint64_t r = next(&seed), r2 = next(&seed);
        long long qty = 1 + (long long)(r % 50);
        long long price = 90000 + (long long)(r2 % 10000000);
        int ship = (int)(r % 2400);
        char d1[16], d2[16], d3[16], comment[64];
        int w1 = (int)(r2 % 15), w2 = (int)((r2 >> 8) % 15), w3 = (int)((r2 >> 16) % 15);

        date_of(ship, d1);
        date_of(ship + 30, d2);
        date_of(ship + 15, d3);
        snprintf(comment, sizeof(comment), "%s %s %s", words[w1], words[w2], words[w3]);
        printf("%lld%s%lld%s%lld%s%lld%s%lld.00%s%lld.%02lld%s0.%02d%s0.%02d%s%c%s%c%s%s%s%s%s%s%s"
               "%s%s%s%s%s\n",
               i / 4 + 1, sep, (long long)(r % 200000) + 1, sep, (long long)(r2 % 10000) + 1, sep,
               i % 4 + 1, sep, qty, sep, price / 100, price % 100, sep, (int)(r % 11), sep,
               (int)(r2 % 9), sep, "RAN"[r % 3], sep, "OF"[r2 % 2], sep, d1, sep, d2, sep, d3, sep,
               instruct[r % 4], sep, modes[r2 % 7], sep, comment);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
