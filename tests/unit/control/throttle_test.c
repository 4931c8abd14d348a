/*
 * throttle_test.c - token buckets: the pure arithmetic against a fake
 * clock (burst, debt, refill cap, clock going back), then the shared
 * throttle on the real clock: unlimited never waits, and four threads
 * sharing one limit keep the long-run rate within 10%, and a cancel flag
 * ends a long wait early.
 */
#include <pthread.h>
#include <stdio.h>

#include "control/throttle.h"
#include "p2d_error.h"
#include "testlib.h"

#define MS 1000000LL
#define S  1000000000LL

static void test_bucket_fake_clock(void)
{
    struct p2d_bucket b;
    int64_t now = 5 * S;

    /* 100 tokens/s: the bucket starts with one second (100) of burst */
    p2d_bucket_init(&b, 100.0, now);
    T_EQ_INT(p2d_bucket_take(&b, 60, now), 0);
    T_EQ_INT(p2d_bucket_take(&b, 40, now), 0);
    /* empty: one more token costs 10 ms */
    T_EQ_INT(p2d_bucket_take(&b, 1, now), 10 * MS + 1);
    /* debt accumulates: another 9 tokens -> 100 ms in total from now */
    T_EQ_INT(p2d_bucket_take(&b, 9, now), 100 * MS + 1);
    /* after the 100 ms the debt is paid: the bucket holds 0, waits 0 */
    now += 100 * MS;
    T_EQ_INT(p2d_bucket_take(&b, 0, now), 0);
    /* a take larger than the burst: 250 tokens = 2.5 s of debt */
    T_EQ_INT(p2d_bucket_take(&b, 250, now), 2500 * MS + 1);
    now += 2500 * MS;
    T_EQ_INT(p2d_bucket_take(&b, 0, now), 0);
    /* a long idle time refills at most one second of burst */
    now += 3600 * S;
    T_EQ_INT(p2d_bucket_take(&b, 100, now), 0);
    T_EQ_INT(p2d_bucket_take(&b, 50, now), 500 * MS + 1);
    /* a clock going back counts as standing still (no refill, no crash) */
    T_EQ_INT(p2d_bucket_take(&b, 0, now - 10 * S), 500 * MS + 1);
    T_CHECK(b.last_ns == now);

    /* a rate below 1/s still allows a burst of one unit */
    p2d_bucket_init(&b, 0.5, 0);
    T_EQ_INT(p2d_bucket_take(&b, 1, 0), 0);
    T_EQ_INT(p2d_bucket_take(&b, 1, 0), 2 * S + 1);

    /* long-run: 1000 takes of 7 at 1000/s on a fake clock that sleeps
     * exactly as told: the total equals (7000 - burst) / rate */
    p2d_bucket_init(&b, 1000.0, 0);
    now = 0;
    for (int i = 0; i < 1000; i++)
        now += p2d_bucket_take(&b, 7, now);
    T_CHECK(now >= 6000 * MS && now <= 6000 * MS + 1000 * 2);
}

struct worker {
    struct p2d_throttle *t;
    int64_t deadline_ns;
    long long taken;
    int failures; /* acquire results other than 0 (testlib counters are not thread-safe) */
};

static void *take_until(void *arg)
{
    struct worker *w = arg;

    while (p2d_monotonic_ns() < w->deadline_ns) {
        if (p2d_throttle_acquire(w->t, 50, NULL) != 0)
            w->failures++;
        w->taken += 50;
    }
    return NULL;
}

static void test_real_clock_rate(void)
{
    /* 20000 units/s shared by 4 threads for 1.2 s: expect burst + 1.2 s of
     * rate = 20000 + 24000 units, within 10% */
    struct p2d_throttle *t = p2d_throttle_create("rows/s", 20000);
    struct worker w[4];
    pthread_t th[4];
    int64_t start = p2d_monotonic_ns(), elapsed;
    long long total = 0;
    double want;

    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){t, start + 1200 * MS, 0, 0};
        pthread_create(&th[i], NULL, take_until, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += w[i].taken;
        T_EQ_INT(w[i].failures, 0);
    }
    elapsed = p2d_monotonic_ns() - start;
    want = 20000.0 + 20000.0 * (double)elapsed / (double)S;
    printf("throttle: %lld units in %.3f s (want %.0f)\n", total, (double)elapsed / S, want);
    T_CHECK((double)total >= want * 0.9 && (double)total <= want * 1.1);
    T_CHECK(p2d_throttle_slept_ns(t) > 0);
    p2d_throttle_destroy(t);
}

static void test_unlimited_and_cancel(void)
{
    struct p2d_throttle *t = p2d_throttle_create("MB/s", 0);
    bool cancel = false;
    int64_t start = p2d_monotonic_ns();

    /* unlimited: a huge amount returns at once */
    T_EQ_INT(p2d_throttle_acquire(t, INT64_MAX / 2, NULL), 0);
    T_EQ_INT(p2d_throttle_acquire(NULL, 1, NULL), 0);
    T_EQ_INT(p2d_throttle_rate(t), 0);
    T_CHECK(p2d_monotonic_ns() - start < 50 * MS);
    p2d_throttle_destroy(t);

    /* 10/s, 1010 units: a 100 s wait, ended by the cancel flag */
    t = p2d_throttle_create("q/s", 10);
    cancel = true;
    start = p2d_monotonic_ns();
    T_EQ_INT(p2d_throttle_acquire(t, 1010, &cancel), P2D_ECANCEL);
    T_CHECK(p2d_monotonic_ns() - start < 150 * MS);
    p2d_throttle_destroy(t);
    p2d_throttle_destroy(NULL);
}

int main(void)
{
    test_bucket_fake_clock();
    test_unlimited_and_cancel();
    test_real_clock_rate();
    return t_done();
}
