/*
 * ring.h - bounded hand-off of pointers from many producers (reader
 * threads) to one consumer (the writer thread). The only user of ck_ring.
 *
 * Nobody spins: a producer facing a full ring sleeps on a futex until the
 * consumer takes an item; a consumer facing an empty ring either sleeps in
 * p2d_ring_pop_mpsc() or, when it waits elsewhere (the writer sleeps in
 * curl_multi_poll), is woken through the wake hook set by
 * p2d_ring_set_wake(). Items are opaque pointers; the ring owns none.
 */
#ifndef P2D_RING_H
#define P2D_RING_H

#include <stdbool.h>

struct p2d_ring;

/* Creates a ring holding up to capacity items (rounded up to a power of two
 * minus one, at least 1). Returns NULL on allocation failure. */
struct p2d_ring *p2d_ring_create(unsigned capacity);

/* Destroys the ring; items still inside are not touched. Accepts NULL. */
void p2d_ring_destroy(struct p2d_ring *ring);

/* Sets a function called (from producer threads) after an item is pushed or
 * the ring is closed, so a consumer sleeping outside the ring can wake up.
 * Set before producers start. */
void p2d_ring_set_wake(struct p2d_ring *ring, void (*wake)(void *arg), void *arg);

/*
 * Pushes item (not NULL), sleeping while the ring is full. Returns 0, or
 * P2D_ECANCEL if *cancel became true (checked at least every 100 ms while
 * blocked) or the ring was closed; the item was not pushed then.
 */
int p2d_ring_push_mpsc(struct p2d_ring *ring, void *item, const bool *cancel)
    __attribute__((warn_unused_result));

/* Takes the oldest item or returns NULL at once when empty. Consumer only. */
void *p2d_ring_trypop_mpsc(struct p2d_ring *ring);

/* Takes the oldest item, sleeping up to timeout_ms (-1: no limit) while the
 * ring is empty and open. NULL on timeout or when closed and drained. */
void *p2d_ring_pop_mpsc(struct p2d_ring *ring, int timeout_ms);

/* Marks the end of input, once every producer has returned from its last
 * push: the consumer drains what is left and then sees NULL. A producer
 * still blocked in a push gives up with P2D_ECANCEL (shutdown path). */
void p2d_ring_close(struct p2d_ring *ring);

/* True once closed and empty. Consumer only. */
bool p2d_ring_drained(struct p2d_ring *ring);

/* Items currently queued (a snapshot; for progress and tests). */
unsigned p2d_ring_count(struct p2d_ring *ring);

#endif
