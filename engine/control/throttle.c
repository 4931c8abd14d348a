/*
 * throttle.c - token buckets shared by reader threads (see throttle.h).
 *
 * DESIGN: one mutex per throttle guards the bucket arithmetic only. A
 * caller takes its tokens under the lock (possibly driving the bucket into
 * debt), computes the deadline at which the debt it created is paid back,
 * drops the lock and sleeps until that deadline. Later callers see the
 * larger debt and sleep longer, so concurrent readers are served in the
 * order they asked and the sum of their work keeps to the rate.
 */
#include "control/throttle.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p2d_error.h"

#define NS_PER_SEC 1000000000LL
#define SLICE_NS   (100 * 1000000LL) /* longest sleep between cancel checks */

void p2d_bucket_init(struct p2d_bucket *b, double rate, int64_t now_ns)
{
    b->rate = rate;
    b->burst = rate < 1.0 ? 1.0 : rate;
    b->tokens = b->burst;
    b->last_ns = now_ns;
}

int64_t p2d_bucket_take(struct p2d_bucket *b, int64_t amount, int64_t now_ns)
{
    double wait_ns;

    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) * b->rate / (double)NS_PER_SEC;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last_ns = now_ns;
    }
    if (amount > 0)
        b->tokens -= (double)amount;
    if (b->tokens >= 0)
        return 0;
    wait_ns = -b->tokens * (double)NS_PER_SEC / b->rate;
    if (wait_ns > 9.0e18)
        return INT64_MAX;
    return (int64_t)wait_ns + 1; /* round up: never wake before the debt is paid */
}

struct p2d_throttle {
    pthread_mutex_t mu;
    struct p2d_bucket bucket; /* guarded by mu */
    int64_t rate;             /* immutable after create: read without the lock */
    int64_t slept_ns;         /* atomic, relaxed: statistics only */
    char name[32];
};

int64_t p2d_monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

struct p2d_throttle *p2d_throttle_create(const char *name, int64_t rate)
{
    struct p2d_throttle *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t);
        return NULL;
    }
    t->rate = rate > 0 ? rate : 0;
    if (t->rate > 0)
        p2d_bucket_init(&t->bucket, (double)t->rate, p2d_monotonic_ns());
    strncpy(t->name, name ? name : "", sizeof(t->name) - 1);
    return t;
}

void p2d_throttle_destroy(struct p2d_throttle *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* Sleeps until the absolute CLOCK_MONOTONIC time deadline_ns, in slices of
 * at most SLICE_NS, giving up when *cancel turns true. */
static int sleep_until(int64_t deadline_ns, const bool *cancel)
{
    for (;;) {
        int64_t now = p2d_monotonic_ns(), until;
        struct timespec ts;

        if (now >= deadline_ns)
            return 0;
        if (cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED))
            return P2D_ECANCEL;
        until = deadline_ns - now > SLICE_NS ? now + SLICE_NS : deadline_ns;
        ts.tv_sec = (time_t)(until / NS_PER_SEC);
        ts.tv_nsec = (long)(until % NS_PER_SEC);
        /* EINTR just goes round the loop again */
        (void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

int p2d_throttle_acquire(struct p2d_throttle *t, int64_t amount, const bool *cancel)
{
    int64_t now, wait_ns;
    int rc;

    if (!t || t->rate == 0 || amount <= 0)
        return 0; /* unlimited: no lock on the hot path */
    pthread_mutex_lock(&t->mu);
    now = p2d_monotonic_ns();
    wait_ns = p2d_bucket_take(&t->bucket, amount, now);
    pthread_mutex_unlock(&t->mu);
    if (wait_ns == 0)
        return 0;
    rc = sleep_until(wait_ns > INT64_MAX - now ? INT64_MAX : now + wait_ns, cancel);
    __atomic_fetch_add(&t->slept_ns, p2d_monotonic_ns() - now, __ATOMIC_RELAXED);
    return rc;
}

int64_t p2d_throttle_rate(const struct p2d_throttle *t)
{
    return t ? t->rate : 0;
}

int64_t p2d_throttle_slept_ns(const struct p2d_throttle *t)
{
    return t ? __atomic_load_n(&t->slept_ns, __ATOMIC_RELAXED) : 0;
}
