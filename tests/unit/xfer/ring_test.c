/*
 * ring_test.c - stress and edge cases of the MPSC ring: ordering per
 * producer, nothing lost or doubled under contention on a tiny ring,
 * cancellation of a blocked producer, close waking a sleeping consumer.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "p2d_error.h"
#include "testlib.h"
#include "xfer/ring.h"

#define PRODUCERS 4

struct producer {
    struct p2d_ring *ring;
    uintptr_t id;
    long long count;
    int failures;
};

static void *produce(void *arg)
{
    struct producer *p = arg;

    for (uintptr_t seq = 0; seq < (uintptr_t)p->count; seq++) {
        /* +1 keeps the pointer non-NULL */
        void *item = (void *)((p->id << 32 | seq) + 1);

        if (p2d_ring_push_mpsc(p->ring, item, NULL) != 0)
            p->failures++;
    }
    return NULL;
}

static double seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A tiny ring switches threads on nearly every item: fewer items keep it quick. */
static void test_stress(unsigned capacity, long long per_producer)
{
    struct p2d_ring *ring = p2d_ring_create(capacity);
    struct producer prod[PRODUCERS];
    pthread_t th[PRODUCERS];
    long long next[PRODUCERS] = {0};
    long long got = 0, out_of_order = 0;

    T_CHECK(ring != NULL);
    for (int i = 0; i < PRODUCERS; i++) {
        prod[i] = (struct producer){ring, (uintptr_t)i, per_producer, 0};
        pthread_create(&th[i], NULL, produce, &prod[i]);
    }
    while (got < PRODUCERS * per_producer) {
        void *item = p2d_ring_pop_mpsc(ring, 5000);
        uintptr_t v;
        unsigned id;
        long long seq;

        if (!item)
            break;
        v = (uintptr_t)item - 1;
        id = (unsigned)(v >> 32);
        seq = (long long)(v & 0xffffffffu);
        if (id >= PRODUCERS || seq != next[id])
            out_of_order++;
        else
            next[id]++;
        got++;
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(th[i], NULL);
        T_EQ_INT(prod[i].failures, 0);
        T_EQ_INT(next[i], per_producer);
    }
    T_EQ_INT(got, PRODUCERS * per_producer);
    T_EQ_INT(out_of_order, 0);
    T_CHECK(p2d_ring_trypop_mpsc(ring) == NULL);
    p2d_ring_close(ring);
    T_CHECK(p2d_ring_drained(ring));
    p2d_ring_destroy(ring);
}

struct blocked {
    struct p2d_ring *ring;
    bool cancel;
    int rc;
    double took;
};

static void *push_blocked(void *arg)
{
    struct blocked *b = arg;
    double t0 = seconds();

    b->rc = p2d_ring_push_mpsc(b->ring, (void *)0x2, &b->cancel);
    b->took = seconds() - t0;
    return NULL;
}

static void test_cancel_blocked_producer(void)
{
    struct p2d_ring *ring = p2d_ring_create(1);
    struct blocked b = {ring, false, 99, 0};
    pthread_t th;

    T_EQ_INT(p2d_ring_push_mpsc(ring, (void *)0x1, NULL), 0);
    T_EQ_INT(p2d_ring_count(ring), 1);
    pthread_create(&th, NULL, push_blocked, &b);
    usleep(150000);
    T_EQ_INT(b.rc, 99); /* still blocked: the ring is full */
    __atomic_store_n(&b.cancel, true, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
    T_EQ_INT(b.rc, P2D_ECANCEL);
    T_CHECK(b.took < 1.0);
    T_CHECK(p2d_ring_trypop_mpsc(ring) == (void *)0x1);
    T_CHECK(p2d_ring_trypop_mpsc(ring) == NULL);
    p2d_ring_destroy(ring);
}

static void test_unblock_by_pop(void)
{
    struct p2d_ring *ring = p2d_ring_create(1);
    struct blocked b = {ring, false, 99, 0};
    pthread_t th;

    T_EQ_INT(p2d_ring_push_mpsc(ring, (void *)0x1, NULL), 0);
    pthread_create(&th, NULL, push_blocked, &b);
    usleep(50000);
    T_CHECK(p2d_ring_trypop_mpsc(ring) == (void *)0x1);
    pthread_join(th, NULL);
    T_EQ_INT(b.rc, 0);
    T_CHECK(p2d_ring_trypop_mpsc(ring) == (void *)0x2);
    p2d_ring_destroy(ring);
}

static void *close_later(void *arg)
{
    usleep(100000);
    p2d_ring_close(arg);
    return NULL;
}

static int wakes;

static void count_wake(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&wakes, 1, __ATOMIC_RELAXED);
}

static void test_close_wakes_consumer(void)
{
    struct p2d_ring *ring = p2d_ring_create(8);
    pthread_t th;
    double t0 = seconds();

    p2d_ring_set_wake(ring, count_wake, NULL);
    T_EQ_INT(p2d_ring_push_mpsc(ring, (void *)0x5, NULL), 0);
    T_EQ_INT(wakes, 1);
    pthread_create(&th, NULL, close_later, ring);
    T_CHECK(p2d_ring_pop_mpsc(ring, -1) == (void *)0x5);
    T_CHECK(p2d_ring_pop_mpsc(ring, -1) == NULL); /* sleeps until closed */
    T_CHECK(seconds() - t0 >= 0.09);
    pthread_join(th, NULL);
    T_EQ_INT(wakes, 2);
    T_CHECK(p2d_ring_drained(ring));
    T_EQ_INT(p2d_ring_push_mpsc(ring, (void *)0x6, NULL), P2D_ECANCEL);
    p2d_ring_destroy(ring);
}

static void test_pop_timeout(void)
{
    struct p2d_ring *ring = p2d_ring_create(8);
    double t0 = seconds();

    T_CHECK(p2d_ring_pop_mpsc(ring, 120) == NULL);
    T_CHECK(seconds() - t0 >= 0.11);
    T_CHECK(!p2d_ring_drained(ring));
    p2d_ring_destroy(ring);
}

int main(void)
{
    test_stress(1, 5000);
    test_stress(3, 20000);
    test_stress(1024, 500000);
    test_cancel_blocked_producer();
    test_unblock_by_pop();
    test_close_wakes_consumer();
    test_pop_timeout();
    return t_done();
}
