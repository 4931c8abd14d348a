/*
 * buf.c - growth of p2d_buf. The inline fast paths live in buf.h.
 */
#include "base/buf.h"

#include <stdint.h>
#include <stdlib.h>

#include "p2d_error.h"

void p2d_buf_init(struct p2d_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SIZE_MAX / 2;
}

void p2d_buf_fini(struct p2d_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

int p2d__buf_grow(struct p2d_buf *b, size_t extra)
{
    size_t need, cap;
    uint8_t *data;

    if (extra > b->max || b->len > b->max - extra)
        return P2D_EFULL;
    need = b->len + extra;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 4 ? need : cap * 2;
    if (cap > b->max)
        cap = b->max;
    data = realloc(b->data, cap);
    if (!data)
        return P2D_ENOMEM;
    b->data = data;
    b->cap = cap;
    return 0;
}
