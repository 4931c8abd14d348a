/*
 * throttle.h - token buckets for the full-load throttles (source queries
 * per second, rows per second, bytes per second), shared by the reader
 * threads.
 *
 * A bucket holds at most one second of its rate (the burst) and starts
 * full. Taking more tokens than there are puts the bucket in debt: the
 * caller sleeps until the debt is paid back, so the long-run rate is exact
 * even when one acquisition is larger than the burst (a 1 MiB batch against
 * a 100 KB/s limit waits about ten seconds). Waiting threads sleep
 * (clock_nanosleep on CLOCK_MONOTONIC, in slices of at most 100 ms so a
 * stop flag is seen), they never spin. Rate 0 means unlimited: acquire
 * returns at once without taking the lock.
 *
 * The arithmetic (struct p2d_bucket) is pure and takes the time as an
 * argument, so tests drive it with a fake clock.
 */
#ifndef P2D_THROTTLE_H
#define P2D_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

/* ---- pure core ------------------------------------------------------------ */

struct p2d_bucket {
    double rate;     /* tokens per second, > 0 */
    double burst;    /* cap on tokens: one second of rate (at least 1) */
    double tokens;   /* may be negative: debt being paid back */
    int64_t last_ns; /* time of the last refill */
};

/* Prepares a full bucket of rate tokens per second (rate > 0) at now_ns. */
void p2d_bucket_init(struct p2d_bucket *b, double rate, int64_t now_ns);

/*
 * Refills the bucket for the time since the last call, takes amount tokens
 * (amount >= 0) and returns how many nanoseconds the caller must wait for
 * the bucket to be out of debt again (0: none). A clock that goes back is
 * treated as standing still.
 */
int64_t p2d_bucket_take(struct p2d_bucket *b, int64_t amount, int64_t now_ns);

/* ---- shared, thread-safe throttle ----------------------------------------- */

struct p2d_throttle;

/* Creates a throttle of rate units per second; 0 (or less) is unlimited.
 * name ("rows/s", ...) is copied, for log lines. NULL on allocation failure. */
struct p2d_throttle *p2d_throttle_create(const char *name, int64_t rate);

/* Frees the throttle; no thread may be inside acquire. Accepts NULL. */
void p2d_throttle_destroy(struct p2d_throttle *t);

/*
 * Takes amount units, sleeping for exactly as long as the rate requires.
 * t may be NULL (unlimited). cancel (may be NULL) is checked at least every
 * 100 ms while sleeping; when it turns true the call returns P2D_ECANCEL
 * (the units stay taken: they were spent). Returns 0 otherwise.
 * Thread-safe; the lock is held only for the arithmetic, never while
 * sleeping.
 */
int p2d_throttle_acquire(struct p2d_throttle *t, int64_t amount, const bool *cancel);

/* The rate (0: unlimited) and the total nanoseconds callers slept in
 * acquire (relaxed statistics, for progress lines and tests). */
int64_t p2d_throttle_rate(const struct p2d_throttle *t);
int64_t p2d_throttle_slept_ns(const struct p2d_throttle *t);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t p2d_monotonic_ns(void);

#endif
