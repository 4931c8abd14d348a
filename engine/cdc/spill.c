/*
 * spill.c - the disk overflow FIFO of the WAL streamer (see spill.h).
 *
 * Layout: blobs are appended back to back at increasing file offsets; the
 * index (offset, length, tag per blob) is an array in memory used as a
 * queue, compacted or doubled when its tail reaches the end. The file is
 * truncated to zero each time the queue empties; while it is not empty, the
 * consumed prefix is punched out once it passes 64 MiB and half the file,
 * so the disk holds little more than the blobs still waiting.
 *
 * I/O: one push or pop is one positioned transfer, cut into 1 MiB requests
 * of which up to eight are in flight on a private io_uring. A request that
 * completes short is resubmitted for its remainder; -EINTR / -EAGAIN
 * resubmit it whole (a bounded number of times without progress). The call
 * returns only when every request it queued has completed, so the caller's
 * buffer is never touched afterwards. If the ring itself fails (it cannot
 * submit, or is never available), the transfer is redone with pwrite /
 * pread and the FIFO stays on them.
 *
 * DESIGN: one owner thread, no locks and no atomics; the ring is private to
 * the handle, so completions are only ever reaped by the thread that
 * submitted them. No O_DIRECT: a spilled body is usually read back soon,
 * and the page cache gives back the memory under pressure by itself.
 */
#include "cdc/spill.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p2d_error.h"

#define SPILL_QUEUE_DEPTH 8u
#define SPILL_CHUNK       ((size_t)1 << 20)
#define SPILL_PUNCH_MIN   ((uint64_t)64 << 20)
#define SPILL_PUNCH_ALIGN ((uint64_t)4096)
#define SPILL_MAX_RETRIES 100 /* -EINTR / -EAGAIN in a row on one request before giving up */
#define SPILL_INDEX_MIN   16
#define SPILL_EOF         (-1) /* from the I/O helpers: a read found the end of the file */
#define SPILL_RING_BROKEN (-2) /* from ring_io: the ring failed; redo the transfer without it */

struct spill_blob {
    uint64_t off; /* where the blob starts in the file */
    uint64_t len;
    uint64_t tag; /* the caller's */
};

struct p2d_spill {
    int fd;
    bool uring; /* ring is initialised and used */
    struct io_uring ring;
    bool punch_unsupported; /* fallocate said EOPNOTSUPP once; stop asking */

    struct spill_blob *blobs; /* blobs[head .. head + count) is the FIFO, oldest first */
    size_t head;
    size_t count;
    size_t cap;

    uint64_t end;     /* offset after the newest blob: where the next push writes */
    uint64_t punched; /* [0, punched) of the file has been punched out */
    uint64_t bytes;   /* sum of the lengths of the blobs inside */
    uint64_t total_written;

    char dir[PATH_MAX]; /* where the file lives, for messages */
    char errmsg[PATH_MAX + 256];
};

static int seterr(struct p2d_spill *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int seterr(struct p2d_spill *s, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* ---- I/O ---------------------------------------------------------------- */

/*
 * pwrite / pread all of buf[0, len) at off. Returns 0, an errno value, or
 * SPILL_EOF when a read reaches the end of the file first.
 */
static int sync_io(int fd, bool writing, uint8_t *buf, size_t len, uint64_t off)
{
    int retries = 0;

    while (len > 0) {
        size_t n = min_size(len, SPILL_CHUNK);
        ssize_t r = writing ? pwrite(fd, buf, n, (off_t)off) : pread(fd, buf, n, (off_t)off);

        if (r < 0) {
            if ((errno == EINTR || errno == EAGAIN) && ++retries <= SPILL_MAX_RETRIES)
                continue;
            return errno;
        }
        if (r == 0)
            return writing ? EIO : SPILL_EOF;
        retries = 0;
        buf += r;
        len -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* One request of a ring transfer. */
struct chunk {
    uint8_t *buf;
    size_t left;
    uint64_t off;
    int retries; /* -EINTR / -EAGAIN since the last progress */
    bool busy;   /* queued (submitted or not) and not yet completed */
};

static bool queue_chunk(struct io_uring *ring, bool writing, int fd, struct chunk *c, unsigned slot)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

    /* Never more requests out than queue entries, so a slot is free; a
     * NULL here would be a ring in a state we do not understand. */
    if (!sqe)
        return false;
    if (writing)
        io_uring_prep_write(sqe, fd, c->buf, (unsigned)c->left, c->off);
    else
        io_uring_prep_read(sqe, fd, c->buf, (unsigned)c->left, c->off);
    io_uring_sqe_set_data64(sqe, slot);
    return true;
}

/* Requests the kernel holds: queued ones minus those still in the SQ. */
static unsigned kernel_side(struct io_uring *ring, unsigned queued)
{
    unsigned unsubmitted = io_uring_sq_ready(ring);

    return queued > unsubmitted ? queued - unsubmitted : 0;
}

/*
 * Reaps the completions of the requests the kernel holds, ignoring their
 * results, then closes the ring. After this no request refers to the
 * caller's buffer any more.
 */
static void ring_abandon(struct p2d_spill *s, unsigned queued)
{
    unsigned pending = kernel_side(&s->ring, queued);

    while (pending > 0) {
        struct io_uring_cqe *cqe;
        int rc = io_uring_wait_cqe(&s->ring, &cqe);

        if (rc == -EINTR)
            continue;
        if (rc < 0)
            break;
        io_uring_cqe_seen(&s->ring, cqe);
        pending--;
    }
    io_uring_queue_exit(&s->ring);
    s->uring = false;
}

/*
 * Writes or reads all of buf[0, len) at off through the ring. Returns 0, an
 * errno value (the first failure; every queued request has completed
 * anyway), SPILL_EOF, or SPILL_RING_BROKEN when the ring could not go on
 * (it is closed then, and s->uring false).
 */
static int ring_io(struct p2d_spill *s, bool writing, uint8_t *buf, size_t len, uint64_t off)
{
    struct chunk chunks[SPILL_QUEUE_DEPTH];
    size_t handed = 0;   /* bytes of buf given to requests so far */
    unsigned queued = 0; /* busy chunks */
    int first_err = 0;

    memset(chunks, 0, sizeof chunks);
    while (handed < len || queued > 0) {
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        int rc;

        for (unsigned i = 0; i < SPILL_QUEUE_DEPTH && handed < len && first_err == 0; i++) {
            if (chunks[i].busy)
                continue;
            chunks[i] = (struct chunk){.buf = buf + handed,
                                       .left = min_size(len - handed, SPILL_CHUNK),
                                       .off = off + handed,
                                       .busy = true};
            if (!queue_chunk(&s->ring, writing, s->fd, &chunks[i], i)) {
                chunks[i].busy = false;
                ring_abandon(s, queued);
                return SPILL_RING_BROKEN;
            }
            handed += chunks[i].left;
            queued++;
        }
        if (queued == 0)
            break; /* a failure stopped new requests and the old ones are done */

        do
            rc = io_uring_submit(&s->ring);
        while (rc == -EINTR);
        /* -EAGAIN / -EBUSY clear once completions are reaped, if any are due;
         * anything else, or nothing to wait for, means the ring is unusable. */
        if ((rc < 0 && rc != -EAGAIN && rc != -EBUSY) || kernel_side(&s->ring, queued) == 0) {
            ring_abandon(s, queued);
            return SPILL_RING_BROKEN;
        }

        do
            rc = io_uring_wait_cqe(&s->ring, &cqe);
        while (rc == -EINTR);
        if (rc < 0) {
            ring_abandon(s, queued);
            return SPILL_RING_BROKEN;
        }

        io_uring_for_each_cqe(&s->ring, head, cqe)
        {
            uint64_t slot = io_uring_cqe_get_data64(cqe);
            struct chunk *c = &chunks[slot < SPILL_QUEUE_DEPTH ? slot : 0];
            int res = cqe->res;

            seen++;
            c->busy = false;
            queued--;
            if (res == -EINTR || res == -EAGAIN) {
                if (++c->retries > SPILL_MAX_RETRIES) {
                    if (first_err == 0)
                        first_err = -res;
                    continue;
                }
            } else if (res < 0) {
                if (first_err == 0)
                    first_err = -res;
                continue;
            } else if (res == 0) {
                if (first_err == 0)
                    first_err = writing ? EIO : SPILL_EOF;
                continue;
            } else {
                c->retries = 0;
                c->buf += res;
                c->left -= (size_t)res;
                c->off += (uint64_t)res;
            }
            if (c->left == 0 || first_err != 0)
                continue;
            /* short transfer or interrupted: the remainder goes again */
            if (!queue_chunk(&s->ring, writing, s->fd, c, (unsigned)(c - chunks))) {
                io_uring_cq_advance(&s->ring, seen);
                ring_abandon(s, queued);
                return SPILL_RING_BROKEN;
            }
            c->busy = true;
            queued++;
        }
        io_uring_cq_advance(&s->ring, seen);
    }
    return first_err;
}

/* A whole transfer, through the ring when there is one. 0, errno or SPILL_EOF. */
static int transfer(struct p2d_spill *s, bool writing, uint8_t *buf, size_t len, uint64_t off)
{
    if (s->uring) {
        int rc = ring_io(s, writing, buf, len, off);

        if (rc != SPILL_RING_BROKEN)
            return rc;
        /* positioned I/O: redoing the parts already done is harmless */
    }
    return sync_io(s->fd, writing, buf, len, off);
}

/* ---- space -------------------------------------------------------------- */

/* Cuts the file to size. A failure only keeps space in use a little
 * longer, so it is not reported. */
static void truncate_best_effort(int fd, uint64_t size)
{
    if (ftruncate(fd, (off_t)size) != 0)
        errno = 0;
}

/* Called after a pop: gives back the space in front of the oldest blob. */
static void reclaim(struct p2d_spill *s)
{
    uint64_t live, from, to;

    if (s->count == 0) {
        /* if truncation fails, the old bytes are simply overwritten */
        truncate_best_effort(s->fd, 0);
        s->head = 0;
        s->end = 0;
        s->punched = 0;
        return;
    }
    if (s->punch_unsupported)
        return;
    live = s->blobs[s->head].off;
    from = s->punched;
    to = live & ~(SPILL_PUNCH_ALIGN - 1); /* whole blocks: no zeroing of a partial one */
    if (to <= from || to - from < SPILL_PUNCH_MIN || live <= s->end / 2)
        return;
    if (fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)from,
                  (off_t)(to - from)) == 0)
        s->punched = to;
    else if (errno == EOPNOTSUPP)
        s->punch_unsupported = true;
    /* other failures: the space stays until the FIFO empties; retried later */
}

/* ---- the FIFO ----------------------------------------------------------- */

static int open_file(struct p2d_spill *s, const char *dir, int flags)
{
    char path[PATH_MAX];
    int e;

    if (!(flags & P2D__SPILL_NO_TMPFILE)) {
        s->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (s->fd >= 0)
            return 0;
        /* a missing or unusable directory fails the same way below */
    }
    if ((size_t)snprintf(path, sizeof path, "%s/p2d-spill-XXXXXX", dir) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    s->fd = mkostemp(path, O_CLOEXEC);
    if (s->fd < 0)
        return -1;
    if (unlink(path) != 0) {
        e = errno;
        close(s->fd);
        s->fd = -1;
        errno = e;
        return -1;
    }
    return 0;
}

int p2d__spill_create_flags(const char *dir, int flags, struct p2d_spill **out, char *err,
                            size_t errlen)
{
    struct p2d_spill *s;
    int rc;

    *out = NULL;
    if (err && errlen > 0)
        err[0] = '\0';
    if (!dir || !dir[0]) {
        if (err)
            snprintf(err, errlen, "spill directory not given");
        return P2D_EINVAL;
    }
    if (strlen(dir) + sizeof "/p2d-spill-XXXXXX" > PATH_MAX) {
        if (err)
            snprintf(err, errlen, "spill directory name too long (%zu bytes)", strlen(dir));
        return P2D_EINVAL;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        if (err)
            snprintf(err, errlen, "out of memory creating the spill file");
        return P2D_ENOMEM;
    }
    s->fd = -1;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    if (open_file(s, dir, flags) != 0) {
        int e = errno;

        if (err)
            snprintf(err, errlen, "could not create a spill file in \"%s\": %s%s", dir, strerror(e),
                     e == ENOENT || e == ENOTDIR || e == EACCES || e == EROFS
                         ? "; hint: choose an existing, writable spill directory"
                         : "");
        rc = e == ENOMEM ? P2D_ENOMEM : P2D_EIO;
        goto fail;
    }
    /* Any failure to set up a ring (ENOSYS, EPERM under a seccomp policy or
     * io_uring_disabled, ENOMEM) leaves the FIFO on pwrite / pread. */
    if (!(flags & P2D__SPILL_NO_URING) && io_uring_queue_init(SPILL_QUEUE_DEPTH, &s->ring, 0) == 0)
        s->uring = true;
    *out = s;
    return 0;

fail:
    free(s);
    return rc;
}

int p2d_spill_create(const char *dir, struct p2d_spill **out, char *err, size_t errlen)
{
    return p2d__spill_create_flags(dir, 0, out, err, errlen);
}

void p2d_spill_destroy(struct p2d_spill *s)
{
    if (!s)
        return;
    if (s->uring)
        io_uring_queue_exit(&s->ring);
    if (s->fd >= 0)
        close(s->fd);
    free(s->blobs);
    free(s);
}

/* Makes room for one more index entry at the tail. 0 or P2D_ENOMEM. */
static int index_reserve(struct p2d_spill *s)
{
    struct spill_blob *grown;
    size_t cap;

    if (s->head + s->count < s->cap)
        return 0;
    if (s->head > 0 && s->head >= s->count) {
        /* at least half the array is consumed: slide the live part down */
        memmove(s->blobs, s->blobs + s->head, s->count * sizeof *s->blobs);
        s->head = 0;
        return 0;
    }
    if (s->cap > SIZE_MAX / 2 / sizeof *s->blobs)
        return P2D_ENOMEM;
    cap = s->cap ? s->cap * 2 : SPILL_INDEX_MIN;
    grown = realloc(s->blobs, cap * sizeof *grown);
    if (!grown)
        return P2D_ENOMEM;
    s->blobs = grown;
    s->cap = cap;
    return 0;
}

static int io_failed(struct p2d_spill *s, bool writing, size_t len, uint64_t off, int e)
{
    const char *hint = "";

    if (e == SPILL_EOF)
        return seterr(s, P2D_EIO,
                      "could not read %zu bytes at offset %llu of the spill file in \"%s\": "
                      "the file ends early",
                      len, (unsigned long long)off, s->dir);
    if (e == ENOSPC || e == EDQUOT)
        hint = "; hint: free space there, or give the spill a directory on a larger file system";
    else if (e == EFBIG)
        hint = "; hint: the file size limit (ulimit -f) or the file system's largest file "
               "was reached";
    return seterr(s, e == ENOMEM ? P2D_ENOMEM : P2D_EIO,
                  "could not %s %zu bytes at offset %llu of the spill file in \"%s\": %s%s",
                  writing ? "write" : "read", len, (unsigned long long)off, s->dir, strerror(e),
                  hint);
}

int p2d_spill_push(struct p2d_spill *s, const void *data, size_t len, uint64_t tag)
{
    struct spill_blob *b;
    int rc;

    s->errmsg[0] = '\0';
    if (len > 0 && !data)
        return seterr(s, P2D_EINVAL, "spill push of %zu bytes without data", len);
    if ((uint64_t)len > (uint64_t)INT64_MAX - s->end)
        return seterr(s, P2D_EIO, "spill file in \"%s\" cannot grow past %llu bytes", s->dir,
                      (unsigned long long)s->end);
    if (index_reserve(s) != 0)
        return seterr(s, P2D_ENOMEM, "out of memory growing the spill index (%zu blobs)", s->count);
    if (len > 0) {
        /* the cast drops const only for the shared helper; writes never store into buf */
        rc = transfer(s, true, (uint8_t *)(uintptr_t)data, len, s->end);
        if (rc != 0) {
            /* give back what the partial write took */
            truncate_best_effort(s->fd, s->end);
            return io_failed(s, true, len, s->end, rc);
        }
    }
    b = &s->blobs[s->head + s->count];
    b->off = s->end;
    b->len = len;
    b->tag = tag;
    s->count++;
    s->end += len;
    s->bytes += len;
    s->total_written += len;
    return 0;
}

bool p2d_spill_peek(struct p2d_spill *s, size_t *len, uint64_t *tag)
{
    const struct spill_blob *b;

    if (s->count == 0) {
        if (len)
            *len = 0;
        if (tag)
            *tag = 0;
        return false;
    }
    b = &s->blobs[s->head];
    if (len)
        *len = (size_t)b->len;
    if (tag)
        *tag = b->tag;
    return true;
}

int p2d_spill_pop(struct p2d_spill *s, void *dst, size_t cap, size_t *len, uint64_t *tag)
{
    struct spill_blob b;
    int rc;

    s->errmsg[0] = '\0';
    if (s->count == 0)
        return seterr(s, P2D_EINVAL, "spill pop from an empty FIFO");
    b = s->blobs[s->head];
    if (b.len > cap)
        return seterr(s, P2D_EINVAL,
                      "spill pop into %zu bytes, but the oldest blob holds %llu bytes", cap,
                      (unsigned long long)b.len);
    if (b.len > 0 && !dst)
        return seterr(s, P2D_EINVAL, "spill pop of %llu bytes without a buffer",
                      (unsigned long long)b.len);
    if (b.len > 0) {
        rc = transfer(s, false, dst, (size_t)b.len, b.off);
        if (rc != 0)
            return io_failed(s, false, (size_t)b.len, b.off, rc);
    }
    s->head++;
    s->count--;
    s->bytes -= b.len;
    if (len)
        *len = (size_t)b.len;
    if (tag)
        *tag = b.tag;
    reclaim(s);
    return 0;
}

size_t p2d_spill_count(const struct p2d_spill *s)
{
    return s->count;
}

uint64_t p2d_spill_bytes(const struct p2d_spill *s)
{
    return s->bytes;
}

uint64_t p2d_spill_total_written(const struct p2d_spill *s)
{
    return s->total_written;
}

bool p2d_spill_uses_uring(const struct p2d_spill *s)
{
    return s->uring;
}

int p2d_spill_disk_usage(const struct p2d_spill *s, uint64_t *size, uint64_t *allocated)
{
    struct stat st;

    if (fstat(s->fd, &st) != 0)
        return P2D_EIO;
    if (size)
        *size = (uint64_t)st.st_size;
    if (allocated)
        *allocated = (uint64_t)st.st_blocks * 512;
    return 0;
}

const char *p2d_spill_errmsg(const struct p2d_spill *s)
{
    return s->errmsg;
}
