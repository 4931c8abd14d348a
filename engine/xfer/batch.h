/*
 * batch.h - fixed-size body batches from a bounded pool.
 *
 * The pool is the engine's memory budget for data in flight: readers take a
 * batch, fill it with encoded rows, and push it towards the writer; the
 * writer returns it once curl has sent its bytes. Taking from an empty pool
 * sleeps (condition variable), so a slow destination slows the readers
 * instead of growing memory. Thread-safe.
 */
#ifndef P2D_BATCH_H
#define P2D_BATCH_H

#include <stdbool.h>
#include <stddef.h>

struct p2d_load;

struct p2d_batch {
    struct p2d_batch *next; /* writer's pending list link */
    struct p2d_load *load;  /* which load (range) these bytes belong to */
    char *data;
    size_t len;     /* bytes filled */
    size_t cap;     /* fixed at pool creation */
    size_t sent;    /* bytes already handed to curl (writer only) */
    long long rows; /* rows encoded in this batch */
    bool end;       /* last batch of its load (may be empty) */
    bool abort;     /* with end: the producer could not produce the whole load
                       (source error, cancel, stop); the writer must fail the
                       load (outcome RETRY) instead of ending its body, so a
                       partial range is never committed under its label */
    bool foreign;   /* not from the pool: the producer owns it and keeps it
                       after the writer has sent it (a CDC body kept for a
                       resend); the writer never puts it into the pool */
};

struct p2d_batch_pool;

/* Creates count batches of size bytes each. NULL on allocation failure. */
struct p2d_batch_pool *p2d_batch_pool_create(unsigned count, size_t size);
/* Frees the pool and its batches; every batch must have been returned. */
void p2d_batch_pool_destroy(struct p2d_batch_pool *pool);

/* Takes an empty batch, sleeping while none is free. Returns NULL if
 * *cancel became true (checked at least every 100 ms) or the pool is shut. */
struct p2d_batch *p2d_batch_get(struct p2d_batch_pool *pool, const bool *cancel);
/* Returns a batch (any state) to the pool and wakes one waiter. */
void p2d_batch_put(struct p2d_batch_pool *pool, struct p2d_batch *b);
/* Wakes every waiter for good: later gets return NULL. */
void p2d_batch_pool_shutdown(struct p2d_batch_pool *pool);

unsigned p2d_batch_pool_free_count(struct p2d_batch_pool *pool);
size_t p2d_batch_pool_bytes(const struct p2d_batch_pool *pool);

#endif
