/*
 * buf.h - a growable byte buffer with a hard cap, for Stream Load bodies and
 * scratch space. Memory grows geometrically and is reused: resetting keeps
 * the allocation, so steady-state appends do not allocate.
 */
#ifndef P2D_BUF_H
#define P2D_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct p2d_buf {
    uint8_t *data; /* owned; NULL until the first reserve */
    size_t len;    /* bytes in use */
    size_t cap;    /* bytes allocated */
    size_t max;    /* hard cap on len; reserve beyond it fails with P2D_EFULL */
};

/* Prepares an empty buffer that may hold up to max bytes (0: SIZE_MAX / 2).
 * Allocates nothing. */
void p2d_buf_init(struct p2d_buf *b, size_t max);

/* Frees the memory; the buffer is empty and may be reused after init. */
void p2d_buf_fini(struct p2d_buf *b);

/* Forgets the contents, keeps the memory. */
static inline void p2d_buf_reset(struct p2d_buf *b)
{
    b->len = 0;
}

/*
 * Makes room for extra more bytes after len. Returns 0, P2D_EFULL when
 * len + extra would pass max (nothing changes), or P2D_ENOMEM. Pointers into
 * data are invalid after a reserve that grew the buffer.
 */
int p2d__buf_grow(struct p2d_buf *b, size_t extra) __attribute__((warn_unused_result));

static inline __attribute__((warn_unused_result)) int p2d_buf_reserve(struct p2d_buf *b,
                                                                      size_t extra)
{
    if (extra <= b->cap - b->len)
        return 0;
    return p2d__buf_grow(b, extra);
}

/* Appends n bytes copied from p (borrowed until return). 0 or as reserve. */
static inline __attribute__((warn_unused_result)) int p2d_buf_append(struct p2d_buf *b,
                                                                     const void *p, size_t n)
{
    int rc = p2d_buf_reserve(b, n);

    if (rc != 0)
        return rc;
    if (n != 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

#endif
