/*
 * batch.c - the bounded batch pool (see batch.h).
 */
#include "xfer/batch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct p2d_batch_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct p2d_batch *free_list;
    unsigned free_count;
    unsigned count;
    size_t size;
    bool shut;
    struct p2d_batch *all; /* array of count batches */
    char *arena;           /* count * size bytes */
};

struct p2d_batch_pool *p2d_batch_pool_create(unsigned count, size_t size)
{
    struct p2d_batch_pool *p = calloc(1, sizeof(*p));

    if (!p || count == 0 || size == 0)
        goto fail;
    p->all = calloc(count, sizeof(*p->all));
    p->arena = malloc((size_t)count * size);
    if (!p->all || !p->arena)
        goto fail;
    pthread_mutex_init(&p->mu, NULL);
    {
        pthread_condattr_t attr;

        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&p->cv, &attr);
        pthread_condattr_destroy(&attr);
    }
    p->count = count;
    p->size = size;
    for (unsigned i = 0; i < count; i++) {
        struct p2d_batch *b = &p->all[i];

        b->data = p->arena + (size_t)i * size;
        b->cap = size;
        b->next = p->free_list;
        p->free_list = b;
    }
    p->free_count = count;
    return p;
fail:
    if (p) {
        free(p->all);
        free(p->arena);
        free(p);
    }
    return NULL;
}

void p2d_batch_pool_destroy(struct p2d_batch_pool *p)
{
    if (!p)
        return;
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->all);
    free(p->arena);
    free(p);
}

struct p2d_batch *p2d_batch_get(struct p2d_batch_pool *p, const bool *cancel)
{
    struct p2d_batch *b = NULL;

    pthread_mutex_lock(&p->mu);
    while (!p->free_list && !p->shut && !(cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED))) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    if (p->free_list && !p->shut && !(cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED))) {
        b = p->free_list;
        p->free_list = b->next;
        p->free_count--;
    }
    pthread_mutex_unlock(&p->mu);
    if (b) {
        b->next = NULL;
        b->load = NULL;
        b->len = 0;
        b->sent = 0;
        b->rows = 0;
        b->end = false;
        b->abort = false;
    }
    return b;
}

void p2d_batch_put(struct p2d_batch_pool *p, struct p2d_batch *b)
{
    pthread_mutex_lock(&p->mu);
    b->next = p->free_list;
    p->free_list = b;
    p->free_count++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void p2d_batch_pool_shutdown(struct p2d_batch_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->shut = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

unsigned p2d_batch_pool_free_count(struct p2d_batch_pool *p)
{
    unsigned n;

    pthread_mutex_lock(&p->mu);
    n = p->free_count;
    pthread_mutex_unlock(&p->mu);
    return n;
}

size_t p2d_batch_pool_bytes(const struct p2d_batch_pool *p)
{
    return (size_t)p->count * p->size;
}
