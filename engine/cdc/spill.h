/*
 * spill.h - the WAL streamer's disk overflow: a FIFO of byte blobs (sealed
 * Stream Load bodies, from empty to hundreds of MiB) kept in one unlinked
 * temporary file while the in-memory budget is full, and read back in the
 * order they were pushed.
 *
 * I/O goes through a small io_uring queue (1 MiB requests, several in
 * flight); where the kernel refuses io_uring the same work is done with
 * pwrite / pread. Nothing is fsynced: the file has no name and dies with
 * the process, so durability would buy nothing. The file's space is given
 * back as the FIFO drains: truncated to zero whenever it becomes empty, and
 * a consumed prefix of more than 64 MiB (and more than half the file) is
 * punched out while data behind it is still waiting.
 *
 * One owner thread: the handle has no locks, and every call, the counters
 * included, must come from the thread that owns it. Nothing here logs;
 * failures leave a message for p2d_spill_errmsg().
 */
#ifndef P2D_SPILL_H
#define P2D_SPILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct p2d_spill;

/*
 * Creates an empty spill FIFO backed by an unlinked temporary file in dir
 * (borrowed until return): O_TMPFILE, or mkstemp + unlink where the file
 * system lacks it. On success *out is the FIFO, owned by the calling
 * thread. Otherwise *out is NULL, err (may be NULL; NUL-terminated,
 * truncated to errlen) names dir and the system's reason, and the result is
 * P2D_EIO (no file), P2D_ENOMEM or P2D_EINVAL (dir NULL, empty or too long).
 */
int p2d_spill_create(const char *dir, struct p2d_spill **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Closes the file (its space is freed by the kernel) and frees the FIFO.
 * Blobs still inside are lost. Accepts NULL. */
void p2d_spill_destroy(struct p2d_spill *s);

/*
 * Appends one blob of len bytes copied from data (borrowed until return; may
 * be NULL when len is 0) with the caller's tag. Synchronous: the bytes are
 * in the file (the page cache) when it returns, so data may be reused at
 * once. Returns 0; P2D_EIO when the file cannot take them (ENOSPC, EIO,
 * file size limit: p2d_spill_errmsg() names the directory, the errno text
 * and what to do); P2D_ENOMEM when the index cannot grow; P2D_EINVAL when
 * data is NULL with len > 0. On failure the FIFO is as before and a partly
 * written tail is truncated away.
 */
int p2d_spill_push(struct p2d_spill *s, const void *data, size_t len, uint64_t tag)
    __attribute__((warn_unused_result));

/* Length and tag of the oldest blob and true; false with *len and *tag
 * set to 0 when the FIFO is empty. len and tag may be NULL. */
bool p2d_spill_peek(struct p2d_spill *s, size_t *len, uint64_t *tag);

/*
 * Reads the oldest blob into dst (cap bytes; may be NULL when the blob is
 * empty) and removes it; *len and *tag (may be NULL) receive its length and
 * tag. Returns 0; P2D_EINVAL when the FIFO is empty or cap is smaller than
 * the blob (nothing changes: peek first); P2D_EIO when the read fails (the
 * blob stays first, dst holds garbage, p2d_spill_errmsg() says why).
 */
int p2d_spill_pop(struct p2d_spill *s, void *dst, size_t cap, size_t *len, uint64_t *tag)
    __attribute__((warn_unused_result));

/* Blobs currently spilled. */
size_t p2d_spill_count(const struct p2d_spill *s);

/* Bytes currently spilled (sum of the lengths of the blobs inside). */
uint64_t p2d_spill_bytes(const struct p2d_spill *s);

/* Bytes ever pushed successfully, for metrics. */
uint64_t p2d_spill_total_written(const struct p2d_spill *s);

/* True when I/O goes through io_uring, false on the pwrite / pread
 * fallback (the kernel refused io_uring, or the ring failed later). */
bool p2d_spill_uses_uring(const struct p2d_spill *s);

/*
 * The file's apparent size (*size, end of the furthest blob written since
 * the last reclaim) and the disk space it holds (*allocated, from st_blocks;
 * smaller than size once a prefix is punched out). Either may be NULL.
 * Returns 0 or P2D_EIO when fstat fails. For metrics and tests.
 */
int p2d_spill_disk_usage(const struct p2d_spill *s, uint64_t *size, uint64_t *allocated)
    __attribute__((warn_unused_result));

/* Message of the last failed call; "" when none. Valid until the next call. */
const char *p2d_spill_errmsg(const struct p2d_spill *s);

/* ---- for tests ---------------------------------------------------------- */

enum {
    P2D__SPILL_NO_URING = 1,   /* use pwrite / pread even where io_uring works */
    P2D__SPILL_NO_TMPFILE = 2, /* use mkstemp + unlink even where O_TMPFILE works */
};

/* p2d_spill_create with the P2D__SPILL_* flags above. */
int p2d__spill_create_flags(const char *dir, int flags, struct p2d_spill **out, char *err,
                            size_t errlen) __attribute__((warn_unused_result));

#endif
