/*
 * spill_test.c - the disk overflow FIFO on real files in a fresh directory
 * under /tmp: order and contents of mixed sizes (empty, 1 byte, 1 MiB + 7,
 * 20 MiB), interleaved pushes and pops against a model queue, a pop into
 * a short buffer that leaves the blob, truncation when the FIFO empties,
 * hole punching of a large consumed prefix, 300 MiB streamed through in
 * 8 MiB blobs, a write refused by the file size limit (EFBIG) that leaves
 * the FIFO intact, and creation in a missing directory. The FIFO cases run
 * on io_uring, on the pwrite / pread fallback, and with mkstemp instead of
 * O_TMPFILE; the directory must be empty afterwards (the file has no name).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cdc/spill.h"
#include "p2d_error.h"
#include "testlib.h"

#define MIB ((size_t)1 << 20)

static char dir[64];

/* Deterministic bytes for a blob: xorshift64 seeded by its tag. */
static uint64_t next_word(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void fill(uint8_t *p, size_t n, uint64_t tag)
{
    uint64_t x = tag * 0x9E3779B97F4A7C15ull + 1, w;
    size_t i;

    for (i = 0; i + 8 <= n; i += 8) {
        w = next_word(&x);
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] = (uint8_t)next_word(&x);
}

/* True when p[0, n) is what fill(p, n, tag) wrote. */
static bool matches(const uint8_t *p, size_t n, uint64_t tag)
{
    uint64_t x = tag * 0x9E3779B97F4A7C15ull + 1, w;
    size_t i;

    for (i = 0; i + 8 <= n; i += 8) {
        w = next_word(&x);
        if (memcmp(p + i, &w, 8) != 0)
            return false;
    }
    for (; i < n; i++)
        if (p[i] != (uint8_t)next_word(&x))
            return false;
    return true;
}

static int dir_entries(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static struct p2d_spill *open_spill(int flags)
{
    struct p2d_spill *s = NULL;
    char err[512];
    int rc = p2d__spill_create_flags(dir, flags, &s, err, sizeof err);

    T_EQ_INT(rc, 0);
    if (rc != 0)
        fprintf(stderr, "create: %s\n", err);
    return s;
}

static uint64_t file_size(struct p2d_spill *s)
{
    uint64_t size = UINT64_MAX;

    T_EQ_INT(p2d_spill_disk_usage(s, &size, NULL), 0);
    return size;
}

/* Pushes len pattern bytes under tag. */
static int push_pattern(struct p2d_spill *s, uint8_t *scratch, size_t len, uint64_t tag)
{
    fill(scratch, len, tag);
    return p2d_spill_push(s, scratch, len, tag);
}

/* Pops the oldest blob and checks it is want_len bytes of tag's pattern. */
static void pop_expect(struct p2d_spill *s, uint8_t *scratch, size_t cap, size_t want_len,
                       uint64_t want_tag)
{
    size_t len = SIZE_MAX, peek_len = SIZE_MAX;
    uint64_t tag = UINT64_MAX, peek_tag = UINT64_MAX;

    T_CHECK(p2d_spill_peek(s, &peek_len, &peek_tag));
    T_EQ_INT(peek_len, want_len);
    T_EQ_INT(peek_tag, want_tag);
    T_EQ_INT(p2d_spill_pop(s, scratch, cap, &len, &tag), 0);
    T_EQ_INT(len, want_len);
    T_EQ_INT(tag, want_tag);
    T_CHECK(len == want_len && matches(scratch, len, want_tag));
}

static void test_mixed_sizes(int flags, uint8_t *buf)
{
    static const size_t sizes[] = {0, 1, MIB + 7, 20 * MIB, 0, 3};
    const size_t n = sizeof sizes / sizeof sizes[0];
    struct p2d_spill *s = open_spill(flags);
    uint64_t total = 0, written_before;
    size_t len;
    uint64_t tag;

    if (!s)
        return;
    if (flags & P2D__SPILL_NO_URING)
        T_CHECK(!p2d_spill_uses_uring(s));
    T_EQ_INT(dir_entries(), 0);

    /* empty FIFO */
    T_CHECK(!p2d_spill_peek(s, &len, &tag));
    T_EQ_INT(len, 0);
    T_EQ_INT(tag, 0);
    T_EQ_INT(p2d_spill_pop(s, buf, 1, &len, &tag), P2D_EINVAL);
    T_HAS_STR(p2d_spill_errmsg(s), "empty");

    for (size_t i = 0; i < n; i++) {
        T_EQ_INT(push_pattern(s, buf, sizes[i], 100 + i), 0);
        total += sizes[i];
    }
    T_EQ_INT(p2d_spill_count(s), n);
    T_EQ_INT(p2d_spill_bytes(s), total);
    T_EQ_INT(p2d_spill_total_written(s), total);
    T_EQ_INT(file_size(s), total);
    T_EQ_STR(p2d_spill_errmsg(s), "");

    for (size_t i = 0; i < n; i++) {
        pop_expect(s, buf, 20 * MIB, sizes[i], 100 + i);
        total -= sizes[i];
        T_EQ_INT(p2d_spill_bytes(s), total);
        T_EQ_INT(p2d_spill_count(s), n - 1 - i);
    }

    /* emptied: the file is cut back to nothing, the lifetime counter stays */
    T_EQ_INT(file_size(s), 0);
    T_EQ_INT(p2d_spill_bytes(s), 0);
    written_before = p2d_spill_total_written(s);
    T_EQ_INT(push_pattern(s, buf, MIB, 7), 0);
    T_EQ_INT(file_size(s), MIB); /* written from offset 0 again */
    T_EQ_INT(p2d_spill_total_written(s), written_before + MIB);
    pop_expect(s, buf, MIB, MIB, 7);
    T_EQ_INT(file_size(s), 0);

    /* a buffer one byte short: refused, the blob stays first */
    T_EQ_INT(push_pattern(s, buf, 100, 8), 0);
    T_EQ_INT(push_pattern(s, buf, 5, 9), 0);
    T_EQ_INT(p2d_spill_pop(s, buf, 99, &len, &tag), P2D_EINVAL);
    T_HAS_STR(p2d_spill_errmsg(s), "100 bytes");
    T_EQ_INT(p2d_spill_count(s), 2);
    T_EQ_INT(p2d_spill_bytes(s), 105);
    pop_expect(s, buf, 100, 100, 8);
    pop_expect(s, buf, 5, 5, 9);

    p2d_spill_destroy(s);
    T_EQ_INT(dir_entries(), 0);
}

/* Pushes and pops in a pseudo-random order against a model queue. */
static void test_interleaved(int flags, uint8_t *buf)
{
    enum { OPS = 400, MODEL = 512 };
    struct p2d_spill *s = open_spill(flags);
    size_t model_len[MODEL];
    uint64_t model_tag[MODEL];
    size_t head = 0, tail = 0;
    uint64_t x = 42, bytes = 0, next_tag = 1000;

    if (!s)
        return;
    for (int op = 0; op < OPS; op++) {
        uint64_t r = next_word(&x);

        if (tail - head < MODEL && (head == tail || r % 5 < 3)) {
            /* mostly small, sometimes a few MiB, sometimes empty */
            size_t len = r % 7 == 0 ? 0 : r % 11 == 0 ? (size_t)(r >> 20) % (3 * MIB) : r % 5000;

            T_EQ_INT(push_pattern(s, buf, len, next_tag), 0);
            model_len[tail % MODEL] = len;
            model_tag[tail % MODEL] = next_tag++;
            tail++;
            bytes += len;
        } else {
            pop_expect(s, buf, 3 * MIB, model_len[head % MODEL], model_tag[head % MODEL]);
            bytes -= model_len[head % MODEL];
            head++;
        }
        T_EQ_INT(p2d_spill_count(s), tail - head);
        T_EQ_INT(p2d_spill_bytes(s), bytes);
    }
    while (head < tail) {
        pop_expect(s, buf, 3 * MIB, model_len[head % MODEL], model_tag[head % MODEL]);
        head++;
    }
    T_EQ_INT(p2d_spill_count(s), 0);
    T_EQ_INT(file_size(s), 0);
    p2d_spill_destroy(s);
}

/* A consumed prefix over 64 MiB and half the file is punched out. */
static void test_punch(uint8_t *buf)
{
    struct p2d_spill *s = open_spill(0);
    uint64_t size = 0, allocated = 0;

    if (!s)
        return;
    for (uint64_t t = 0; t < 3; t++)
        T_EQ_INT(push_pattern(s, buf, 40 * MIB, t), 0);
    pop_expect(s, buf, 40 * MIB, 40 * MIB, 0);
    T_EQ_INT(p2d_spill_disk_usage(s, &size, &allocated), 0);
    T_EQ_INT(size, 120 * MIB);
    T_CHECK(allocated >= 80 * MIB); /* 40 MiB consumed: below the threshold */
    pop_expect(s, buf, 40 * MIB, 40 * MIB, 1);
    T_EQ_INT(p2d_spill_disk_usage(s, &size, &allocated), 0);
    T_EQ_INT(size, 120 * MIB); /* the apparent size is kept */
    T_CHECK(allocated <= 48 * MIB);
    if (allocated > 48 * MIB)
        fprintf(stderr, "allocated after punching: %llu\n", (unsigned long long)allocated);
    pop_expect(s, buf, 40 * MIB, 40 * MIB, 2); /* the data behind the hole is intact */
    T_EQ_INT(file_size(s), 0);
    p2d_spill_destroy(s);
}

/* 300 MiB through in 8 MiB blobs, four waiting at any time. */
static void test_stream(uint8_t *buf)
{
    const size_t blob = 8 * MIB;
    const uint64_t blobs = 300 * MIB / blob + 1;
    struct p2d_spill *s = open_spill(0);
    uint64_t pushed = 0, popped = 0, allocated, max_allocated = 0;

    if (!s)
        return;
    while (popped < blobs) {
        while (pushed < blobs && pushed - popped < 4) {
            T_EQ_INT(push_pattern(s, buf, blob, pushed), 0);
            pushed++;
        }
        pop_expect(s, buf, blob, blob, popped);
        popped++;
        T_EQ_INT(p2d_spill_disk_usage(s, NULL, &allocated), 0);
        if (allocated > max_allocated)
            max_allocated = allocated;
    }
    T_EQ_INT(p2d_spill_total_written(s), blobs * blob);
    T_EQ_INT(p2d_spill_count(s), 0);
    T_EQ_INT(file_size(s), 0);
    /* the FIFO never emptied until the end, so only punching kept it small */
    T_CHECK(max_allocated <= 128 * MIB);
    fprintf(stderr, "stream: %llu MiB through, at most %llu MiB on disk, io_uring %s\n",
            (unsigned long long)(blobs * blob / MIB), (unsigned long long)(max_allocated / MIB),
            p2d_spill_uses_uring(s) ? "yes" : "no");
    p2d_spill_destroy(s);
}

/* The file size limit refuses a write: the FIFO is as before, and works on. */
static void test_write_refused(int flags, uint8_t *buf)
{
    struct rlimit old, lim;
    struct p2d_spill *s;

    if (getrlimit(RLIMIT_FSIZE, &old) != 0 || old.rlim_cur < 8 * MIB) {
        fprintf(stderr, "file size limit below 8 MiB: EFBIG case skipped\n");
        return;
    }
    s = open_spill(flags);
    if (!s)
        return;
    T_EQ_INT(push_pattern(s, buf, 2 * MIB, 1), 0);
    lim = old;
    lim.rlim_cur = 4 * MIB + 1000; /* the third 1 MiB request ends short, its rest fails */
    T_EQ_INT(setrlimit(RLIMIT_FSIZE, &lim), 0);
    T_EQ_INT(push_pattern(s, buf, 3 * MIB, 2), P2D_EIO);
    T_EQ_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
    T_HAS_STR(p2d_spill_errmsg(s), "could not write 3145728 bytes at offset 2097152");
    T_HAS_STR(p2d_spill_errmsg(s), dir);
    T_HAS_STR(p2d_spill_errmsg(s), strerror(EFBIG));
    T_EQ_INT(p2d_spill_count(s), 1);
    T_EQ_INT(p2d_spill_bytes(s), 2 * MIB);
    T_EQ_INT(p2d_spill_total_written(s), 2 * MIB);
    T_EQ_INT(file_size(s), 2 * MIB); /* the partial tail is cut off */

    T_EQ_INT(push_pattern(s, buf, 3 * MIB, 3), 0);
    T_EQ_STR(p2d_spill_errmsg(s), "");
    pop_expect(s, buf, 3 * MIB, 2 * MIB, 1);
    pop_expect(s, buf, 3 * MIB, 3 * MIB, 3);
    p2d_spill_destroy(s);
}

static void test_create_errors(void)
{
    struct p2d_spill *s = (struct p2d_spill *)&s;
    char missing[128], err[512];

    snprintf(missing, sizeof missing, "%s/no/such/dir", dir);
    T_EQ_INT(p2d_spill_create(missing, &s, err, sizeof err), P2D_EIO);
    T_CHECK(s == NULL);
    T_HAS_STR(err, "could not create a spill file in");
    T_HAS_STR(err, missing);
    T_HAS_STR(err, strerror(ENOENT));
    T_HAS_STR(err, "hint:");

    s = (struct p2d_spill *)&s;
    T_EQ_INT(p2d__spill_create_flags(missing, P2D__SPILL_NO_TMPFILE, &s, err, sizeof err), P2D_EIO);
    T_CHECK(s == NULL);
    T_HAS_STR(err, strerror(ENOENT));

    T_EQ_INT(p2d_spill_create("", &s, err, sizeof err), P2D_EINVAL);
    T_EQ_INT(p2d_spill_create(NULL, &s, NULL, 0), P2D_EINVAL);
    p2d_spill_destroy(NULL);
}

int main(void)
{
    static const int modes[] = {0, P2D__SPILL_NO_URING, P2D__SPILL_NO_TMPFILE};
    uint8_t *buf;

    /* the EFBIG case must get an error, not die of SIGXFSZ */
    signal(SIGXFSZ, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/p2d-spill-test-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    buf = malloc(40 * MIB);
    T_CHECK(buf != NULL);
    if (buf) {
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            test_mixed_sizes(modes[m], buf);
            test_interleaved(modes[m], buf);
            test_write_refused(modes[m], buf);
        }
        test_punch(buf);
        test_stream(buf);
    }
    test_create_errors();
    free(buf);
    T_EQ_INT(dir_entries(), 0); /* no spill file outlives its FIFO or has a name */
    T_EQ_INT(rmdir(dir), 0);
    return t_done();
}
