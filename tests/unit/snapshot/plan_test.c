/*
 * plan_test.c - the pure split math of the range planner: cut points are
 * strictly increasing and inside the key span, ranges are contiguous and
 * cover everything (open at both ends), balanced, and degenerate inputs
 * (empty, one row, tiny spans, the whole int64 range) stay sane.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"
#include "p2d_error.h"
#include "snapshot/plan.h"
#include "testlib.h"

/* Range of v under cuts: range i is [cuts[i-1], cuts[i]). */
static size_t range_of(int64_t v, const int64_t *cuts, size_t n)
{
    size_t i = 0;

    while (i < n && v >= cuts[i])
        i++;
    return i;
}

/* Every value of [lo, hi] falls in exactly one range, ranges are visited in
 * order, and range sizes inside [min, max] differ by at most max_diff. */
static void check_int_cover(int64_t min, int64_t max, size_t k, long long max_diff)
{
    int64_t cuts[64];
    long long count[65] = {0};
    size_t n = p2d_plan_split_int(min, max, k, cuts), i, last = 0;
    int64_t v;
    bool ordered = true, inside = true;

    T_CHECK(n < k || (k == 0 && n == 0));
    for (i = 0; i < n; i++) {
        if (cuts[i] <= min || cuts[i] > max)
            inside = false;
        if (i > 0 && cuts[i] <= cuts[i - 1])
            ordered = false;
    }
    T_CHECK(inside);
    T_CHECK(ordered);
    for (v = min - 3; v <= max + 3; v++) {
        size_t r = range_of(v, cuts, n);

        if (r < last)
            ordered = false;
        last = r;
        if (v >= min && v <= max)
            count[r]++;
    }
    T_CHECK(ordered);
    T_EQ_INT(range_of(min - 3, cuts, n), 0);
    T_EQ_INT(range_of(max + 3, cuts, n), n);
    if (n > 0) {
        long long lo = count[0], hi = count[0];

        for (i = 0; i <= n; i++) {
            T_CHECK(count[i] > 0); /* no empty range inside the span */
            if (count[i] < lo)
                lo = count[i];
            if (count[i] > hi)
                hi = count[i];
        }
        T_CHECK(hi - lo <= max_diff);
    }
}

static void test_count(void)
{
    T_EQ_INT(p2d_plan_split_count(0, 1000, 0, 0), 1);  /* empty table */
    T_EQ_INT(p2d_plan_split_count(-1, 1000, 0, 0), 1); /* unknown */
    T_EQ_INT(p2d_plan_split_count(1, 1000, 0, 0), 1);  /* one row */
    T_EQ_INT(p2d_plan_split_count(1000, 1000, 0, 0), 1);
    T_EQ_INT(p2d_plan_split_count(1001, 1000, 0, 0), 2);
    T_EQ_INT(p2d_plan_split_count(10000, 1000, 0, 0), 10);
    T_EQ_INT(p2d_plan_split_count(10000, 1000, 4, 0), 4); /* capped */
    T_EQ_INT(p2d_plan_split_count(INT64_MAX, 1, 100, 0), 100);
    T_EQ_INT(p2d_plan_split_count(P2D_PLAN_DEFAULT_ROWS_PER_RANGE * 3LL, 0, 0, 0), 3);
    /* a multiple of the readers once split at all, still capped */
    T_EQ_INT(p2d_plan_split_count(1000, 1000, 0, 4), 1);
    T_EQ_INT(p2d_plan_split_count(1001, 1000, 0, 4), 4);
    T_EQ_INT(p2d_plan_split_count(5000, 1000, 0, 2), 6);
    T_EQ_INT(p2d_plan_split_count(6000, 1000, 0, 2), 6);
    T_EQ_INT(p2d_plan_split_count(5000, 1000, 0, 1), 5);
    T_EQ_INT(p2d_plan_split_count(5000, 1000, 7, 4), 7);
}

static void test_int(void)
{
    int64_t cuts[8];
    size_t n;

    /* even split of 1..1000 into 4 */
    n = p2d_plan_split_int(1, 1000, 4, cuts);
    T_EQ_INT(n, 3);
    T_EQ_INT(cuts[0], 251);
    T_EQ_INT(cuts[1], 501);
    T_EQ_INT(cuts[2], 751);

    /* one row, empty span, one range */
    T_EQ_INT(p2d_plan_split_int(7, 7, 4, cuts), 0);
    T_EQ_INT(p2d_plan_split_int(9, 7, 4, cuts), 0);
    T_EQ_INT(p2d_plan_split_int(1, 1000, 1, cuts), 0);
    T_EQ_INT(p2d_plan_split_int(1, 1000, 0, cuts), 0);

    /* tiny span: at most one range per value */
    n = p2d_plan_split_int(0, 2, 8, cuts);
    T_EQ_INT(n, 2);
    T_EQ_INT(cuts[0], 1);
    T_EQ_INT(cuts[1], 2);
    n = p2d_plan_split_int(5, 6, 8, cuts);
    T_EQ_INT(n, 1);
    T_EQ_INT(cuts[0], 6);

    /* negatives */
    n = p2d_plan_split_int(-100, 99, 2, cuts);
    T_EQ_INT(n, 1);
    T_EQ_INT(cuts[0], 0);

    /* the whole int64 range, no overflow */
    n = p2d_plan_split_int(INT64_MIN, INT64_MAX, 4, cuts);
    T_EQ_INT(n, 3);
    T_CHECK(cuts[0] == INT64_MIN / 2);
    T_CHECK(cuts[1] == 0);
    T_CHECK(cuts[2] == INT64_MAX / 2 + 1);
    n = p2d_plan_split_int(INT64_MAX - 2, INT64_MAX, 8, cuts);
    T_EQ_INT(n, 2);
    T_CHECK(cuts[1] == INT64_MAX);

    check_int_cover(1, 1000, 4, 1);
    check_int_cover(1, 1003, 7, 1);
    check_int_cover(-50, 50, 10, 1);
    check_int_cover(0, 5, 16, 0);
    check_int_cover(3, 3, 4, 0);
    check_int_cover(1, 2, 2, 0);
}

static void test_int_random(void)
{
    unsigned seed = 12345;
    int iter;
    bool ok = true;

    for (iter = 0; iter < 2000 && ok; iter++) {
        int64_t cuts[64], min, max;
        size_t k, n, i;

        seed = seed * 1103515245u + 12345u;
        min = (int64_t)(seed % 2001) - 1000;
        seed = seed * 1103515245u + 12345u;
        max = min + (int64_t)(seed % 5000);
        seed = seed * 1103515245u + 12345u;
        k = seed % 64;
        n = p2d_plan_split_int(min, max, k, cuts);
        if (n + 1 > (k ? k : 1) || (max > min && k > 1 && n == 0))
            ok = false;
        for (i = 0; i < n; i++)
            if (cuts[i] <= min || cuts[i] > max || (i && cuts[i] <= cuts[i - 1]))
                ok = false;
        /* balance: the widest range is at most one value wider than the narrowest */
        if (n > 0) {
            int64_t w0 = cuts[0] - min, wl = max + 1 - cuts[n - 1], lo = w0, hi = w0;

            for (i = 1; i < n; i++) {
                int64_t w = cuts[i] - cuts[i - 1];

                lo = w < lo ? w : lo;
                hi = w > hi ? w : hi;
            }
            lo = wl < lo ? wl : lo;
            hi = wl > hi ? wl : hi;
            if (hi - lo > 1)
                ok = false;
        }
        if (!ok)
            fprintf(stderr, "failed at min %lld max %lld k %zu n %zu\n", (long long)min,
                    (long long)max, k, n);
    }
    T_CHECK(ok);
}

static void test_pick(void)
{
    size_t idx[200], n, i;
    bool ok = true;

    n = p2d_plan_split_pick(101, 4, idx);
    T_EQ_INT(n, 3);
    T_EQ_INT(idx[0], 25);
    T_EQ_INT(idx[1], 50);
    T_EQ_INT(idx[2], 75);
    /* too few bounds for a cut */
    T_EQ_INT(p2d_plan_split_pick(0, 4, idx), 0);
    T_EQ_INT(p2d_plan_split_pick(2, 4, idx), 0);
    T_EQ_INT(p2d_plan_split_pick(101, 1, idx), 0);
    /* more ranges than buckets: one per interior bound */
    n = p2d_plan_split_pick(5, 10, idx);
    T_EQ_INT(n, 3);
    T_EQ_INT(idx[0], 1);
    T_EQ_INT(idx[1], 2);
    T_EQ_INT(idx[2], 3);
    /* never the first or last bound (stale stats), always increasing */
    for (size_t c = 3; c < 120 && ok; c++)
        for (size_t k = 2; k < 150 && ok; k += 7) {
            n = p2d_plan_split_pick(c, k, idx);
            if (n == 0 || n > k - 1)
                ok = false;
            for (i = 0; i < n; i++)
                if (idx[i] < 1 || idx[i] > c - 2 || (i && idx[i] <= idx[i - 1]))
                    ok = false;
        }
    T_CHECK(ok);
}

static void test_blocks(void)
{
    uint64_t cuts[16];
    size_t n;

    T_EQ_INT(p2d_plan_split_blocks(0, 4, cuts), 0); /* empty heap */
    T_EQ_INT(p2d_plan_split_blocks(1, 4, cuts), 0); /* one block */
    n = p2d_plan_split_blocks(100, 4, cuts);
    T_EQ_INT(n, 3);
    T_EQ_INT(cuts[0], 25);
    T_EQ_INT(cuts[1], 50);
    T_EQ_INT(cuts[2], 75);
    n = p2d_plan_split_blocks(3, 10, cuts);
    T_EQ_INT(n, 2);
    T_EQ_INT(cuts[0], 1);
    T_EQ_INT(cuts[1], 2);
    n = p2d_plan_split_blocks(UINT32_MAX - 1ULL, 2, cuts);
    T_EQ_INT(n, 1);
    T_CHECK(cuts[0] == (UINT32_MAX - 1ULL) / 2);
}

static void test_skew(void)
{
    int64_t even[11], skewed[11], i;

    for (i = 0; i <= 10; i++)
        even[i] = 1 + i * 100;
    T_CHECK(p2d_plan_skew_int(1, 1001, even, 11) < 0.01);
    /* 99% of the rows in 1..1000, a few up to 10^9: quantiles crowd near min */
    for (i = 0; i < 10; i++)
        skewed[i] = 1 + i * 100;
    skewed[10] = 1000000000;
    T_CHECK(p2d_plan_skew_int(1, 1000000000, skewed, 11) > 0.8);
    /* stale stats: bounds outside [min, max] do not break it */
    T_CHECK(p2d_plan_skew_int(500, 600, even, 11) <= 1.0);
    T_CHECK(p2d_plan_skew_int(5, 5, even, 11) == 0);
    T_CHECK(p2d_plan_skew_int(1, 1001, even, 1) == 0);
}

static void test_predicates(void)
{
    struct p2d_buf b;
    const char *one[] = {"\"id\""};
    const char *two[] = {"\"a\"", "\"b\""};
    const char *lo1[] = {"10"}, *hi1[] = {"20"};
    const char *lo2[] = {"'x'::text", "1"}, *hi2[] = {"'y'::text", "-2"};

    p2d_buf_init(&b, 4096);
    T_EQ_INT(p2d_plan_predicate_key(&b, one, 1, NULL, NULL), 0);
    T_EQ_STR((char *)b.data, "true");
    T_EQ_INT(p2d_plan_predicate_key(&b, one, 1, NULL, hi1), 0);
    T_EQ_STR((char *)b.data, "\"id\" < 20");
    T_EQ_INT(p2d_plan_predicate_key(&b, one, 1, lo1, hi1), 0);
    T_EQ_STR((char *)b.data, "\"id\" >= 10 AND \"id\" < 20");
    T_EQ_INT(p2d_plan_predicate_key(&b, one, 1, lo1, NULL), 0);
    T_EQ_STR((char *)b.data, "\"id\" >= 10");
    T_EQ_INT(p2d_plan_predicate_key(&b, two, 2, lo2, hi2), 0);
    T_EQ_STR((char *)b.data,
             "(\"a\", \"b\") >= ('x'::text, 1) AND (\"a\", \"b\") < ('y'::text, -2) AND "
             "\"a\" >= 'x'::text AND \"a\" <= 'y'::text");
    T_EQ_INT(p2d_plan_predicate_key(&b, two, 2, NULL, hi2), 0);
    T_EQ_STR((char *)b.data, "(\"a\", \"b\") < ('y'::text, -2) AND \"a\" <= 'y'::text");

    T_EQ_INT(p2d_plan_predicate_ctid(&b, false, 0, false, 0), 0);
    T_EQ_STR((char *)b.data, "true");
    T_EQ_INT(p2d_plan_predicate_ctid(&b, false, 0, true, 25), 0);
    T_EQ_STR((char *)b.data, "ctid < '(25,0)'");
    T_EQ_INT(p2d_plan_predicate_ctid(&b, true, 25, true, 50), 0);
    T_EQ_STR((char *)b.data, "ctid >= '(25,0)' AND ctid < '(50,0)'");
    T_EQ_INT(p2d_plan_predicate_ctid(&b, true, 4294967294ULL, false, 0), 0);
    T_EQ_STR((char *)b.data, "ctid >= '(4294967294,0)'");

    /* a cap that is too small is reported, not overrun */
    p2d_buf_fini(&b);
    p2d_buf_init(&b, 8);
    T_EQ_INT(p2d_plan_predicate_key(&b, two, 2, lo2, hi2), P2D_EFULL);
    p2d_buf_fini(&b);
}

int main(void)
{
    test_count();
    test_int();
    test_int_random();
    test_pick();
    test_blocks();
    test_skew();
    test_predicates();
    T_EQ_STR(p2d_plan_method_name(P2D_PLAN_M_CTID), "ctid");
    return t_done();
}
