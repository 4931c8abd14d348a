/*
 * writer.c - Stream Loads over curl multi with chunked bodies (see writer.h
 * for the design).
 *
 * Transfer states:  QUEUED -> FE (asking for the 307) -> BE (body flowing)
 *                   -> ANSWERED (outcome known) -> finished() once the end
 *                   batch was seen. The FE may also answer directly (auth
 *                   and header errors, or --dest naming a BE), which ends
 *                   the transfer.
 */
#include "sink/writer.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "base/log.h"
#include "p2d_error.h"

#define MAX_RINGS  1024
#define ANSWER_CAP (1 << 20)

enum xfer_state {
    XFER_QUEUED,
    XFER_FE,
    XFER_BE,
    XFER_ANSWERED,
};

struct p2d_xfer {
    struct p2d_writer *w;
    struct p2d_load *load;
    enum xfer_state state;
    CURL *easy;
    struct curl_slist *headers; /* copy of the load's headers + our own */
    struct p2d_batch *head;     /* pending batches, in order */
    struct p2d_batch *tail;
    bool end_seen;     /* the end batch arrived */
    bool body_done;    /* the read callback returned 0 (end of body) */
    bool paused;       /* the read callback returned PAUSE */
    bool body_started; /* the read callback handed out bytes */
    bool gz;           /* z is live: the body is deflated into curl's buffer */
    bool gz_end;       /* deflate returned Z_STREAM_END: the gzip trailer is out */
    z_stream z;
    long long body_done_ms;
    long long progress_ms; /* last read callback call or unpause */
    char *answer;
    size_t answer_len;
    struct p2d_load_answer result;
    struct p2d_xfer *next_queued;
    struct p2d_xfer *next_all, *prev_all; /* every unfinished transfer */
};

struct p2d_writer {
    struct p2d_writer_config cfg;
    CURLM *multi;
    struct p2d_ring *rings[MAX_RINGS];
    int nrings;
    int active; /* transfers in FE or BE state */
    int loads;  /* loads with a transfer not yet finished() */
    struct p2d_xfer *queue_head, *queue_tail;
    struct p2d_xfer *all; /* unfinished transfers (for timeouts and abort) */
    bool aborted;         /* atomic: set by p2d_writer_abort from any thread */
};

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake_multi(void *arg)
{
    curl_multi_wakeup(arg);
}

struct p2d_writer *p2d_writer_create(const struct p2d_writer_config *cfg)
{
    struct p2d_writer *w = calloc(1, sizeof(*w));

    if (!w)
        return NULL;
    w->cfg = *cfg;
    if (w->cfg.max_loads < 1)
        w->cfg.max_loads = 1;
    if (w->cfg.connect_timeout_ms <= 0)
        w->cfg.connect_timeout_ms = 10000;
    if (w->cfg.answer_timeout_ms <= 0)
        w->cfg.answer_timeout_ms = 600000;
    if (w->cfg.stall_timeout_ms <= 0)
        w->cfg.stall_timeout_ms = 300000;
    w->multi = curl_multi_init();
    if (!w->multi) {
        free(w);
        return NULL;
    }
    return w;
}

void p2d_writer_destroy(struct p2d_writer *w)
{
    if (!w)
        return;
    curl_multi_cleanup(w->multi);
    free(w);
}

int p2d_writer_add_ring(struct p2d_writer *w, struct p2d_ring *ring)
{
    if (w->nrings >= MAX_RINGS)
        return P2D_EINVAL;
    w->rings[w->nrings++] = ring;
    p2d_ring_set_wake(ring, wake_multi, w->multi);
    return 0;
}

void p2d_writer_abort(struct p2d_writer *w)
{
    __atomic_store_n(&w->aborted, true, __ATOMIC_SEQ_CST);
    curl_multi_wakeup(w->multi);
}

static bool is_aborted(struct p2d_writer *w)
{
    return __atomic_load_n(&w->aborted, __ATOMIC_SEQ_CST);
}

/* ---- curl callbacks -------------------------------------------------------- */

/* Gives a batch the writer is done with back to its owner: the pool, or
 * nobody for a foreign batch (its producer keeps it, batch.h). */
static void release_batch(struct p2d_writer *w, struct p2d_batch *b)
{
    if (!b->foreign)
        p2d_batch_put(w->cfg.pool, b);
}

/* Pops a batch whose bytes are all taken; returns it to the pool. */
static void pop_taken(struct p2d_xfer *x)
{
    struct p2d_batch *b = x->head;

    x->head = b->next;
    if (!x->head)
        x->tail = NULL;
    x->load->rows_sent += b->rows;
    release_batch(x->w, b);
}

/* compress_gz: deflates pending bytes straight into curl's upload buffer
 * (the fixed per-transfer output buffer: no copy of a batch is made); the
 * body is one gzip member, finished once the end batch was seen. Input
 * that yields no output yet stays in zlib's window, so the batches still
 * go back to the pool as soon as they are taken. */
static size_t read_gz(struct p2d_xfer *x, char *buf, size_t room)
{
    z_stream *z = &x->z;
    size_t out;

    z->next_out = (Bytef *)buf;
    z->avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
    while (z->avail_out > 0 && !x->gz_end) {
        struct p2d_batch *b = x->head;
        int zrc;

        if (b) {
            size_t k = b->len - b->sent;
            uInt in = k > UINT_MAX ? UINT_MAX : (uInt)k;

            if (k == 0) {
                pop_taken(x);
                continue;
            }
            z->next_in = (Bytef *)(b->data + b->sent);
            z->avail_in = in;
            zrc = deflate(z, Z_NO_FLUSH);
            b->sent += in - z->avail_in;
            x->load->raw_bytes += (long long)(in - z->avail_in);
            z->next_in = NULL;
            z->avail_in = 0;
            if (zrc != Z_OK && zrc != Z_BUF_ERROR)
                return CURL_READFUNC_ABORT;
            if (b->sent == b->len)
                pop_taken(x);
        } else if (x->end_seen) {
            zrc = deflate(z, Z_FINISH);
            if (zrc == Z_STREAM_END)
                x->gz_end = true;
            else if (zrc != Z_OK && zrc != Z_BUF_ERROR)
                return CURL_READFUNC_ABORT;
            else
                break; /* output buffer full: more on the next call */
        } else {
            break; /* everything pending is in zlib: wait for data */
        }
    }
    out = room - z->avail_out;
    x->load->bytes_sent += (long long)out;
    if (out > 0) {
        x->body_started = true;
        return out;
    }
    if (x->gz_end) {
        deflateEnd(z); /* free the window before the answer comes */
        x->gz = false;
        x->body_done = true;
        x->body_done_ms = now_ms();
        return 0;
    }
    x->paused = true;
    return CURL_READFUNC_PAUSE;
}

/* Hands pending bytes to curl; returns sent batches to the pool. */
static size_t read_body(char *buf, size_t size, size_t nitems, void *userp)
{
    struct p2d_xfer *x = userp;
    size_t room = size * nitems, out = 0;

    x->progress_ms = now_ms();
    if (x->load->compress_gz)
        return read_gz(x, buf, room);
    while (out < room && x->head) {
        struct p2d_batch *b = x->head;
        size_t k = b->len - b->sent;

        if (k > room - out)
            k = room - out;
        memcpy(buf + out, b->data + b->sent, k);
        b->sent += k;
        out += k;
        if (b->sent < b->len)
            break;
        x->head = b->next;
        if (!x->head)
            x->tail = NULL;
        x->load->rows_sent += b->rows;
        release_batch(x->w, b);
    }
    x->load->bytes_sent += (long long)out;
    x->load->raw_bytes += (long long)out;
    if (out > 0) {
        x->body_started = true;
        return out;
    }
    if (x->end_seen) {
        x->body_done = true;
        x->body_done_ms = now_ms();
        return 0;
    }
    x->paused = true;
    return CURL_READFUNC_PAUSE;
}

static size_t collect_answer(char *data, size_t size, size_t nmemb, void *userp)
{
    struct p2d_xfer *x = userp;
    size_t n = size * nmemb;
    char *p;

    if (x->answer_len + n > ANSWER_CAP)
        return 0; /* not a Stream Load answer: fail the transfer */
    p = realloc(x->answer, x->answer_len + n + 1);
    if (!p)
        return 0;
    x->answer = p;
    memcpy(x->answer + x->answer_len, data, n);
    x->answer_len += n;
    x->answer[x->answer_len] = '\0';
    return n;
}

/* ---- transfers -------------------------------------------------------------- */

static int start_request(struct p2d_xfer *x, const char *url)
{
    struct p2d_writer *w = x->w;
    CURL *h = curl_easy_init();

    if (!h)
        return P2D_ENOMEM;
    x->easy = h;
    free(x->answer);
    x->answer = NULL;
    x->answer_len = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L); /* PUT; no size given: chunked */
    /* 2 MiB (curl's largest): fewer read callbacks and send calls per body;
     * measured 1.14 -> 1.08 s of engine CPU per GB of COPY text (2M rows) */
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(h, CURLOPT_READDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_answer);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(h, CURLOPT_USERNAME, w->cfg.dest.user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, w->cfg.dest.password);
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, w->cfg.connect_timeout_ms);
    /* Never send body bytes before the server's verdict on the headers: the
     * FE answers 307 without reading the body, and the body is not kept. */
    curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, w->cfg.answer_timeout_ms);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    x->progress_ms = now_ms();
    x->paused = false;
    if (curl_multi_add_handle(w->multi, h) != CURLM_OK) {
        curl_easy_cleanup(h);
        x->easy = NULL;
        return P2D_EIO;
    }
    return 0;
}

static void end_request(struct p2d_xfer *x)
{
    if (x->easy) {
        curl_multi_remove_handle(x->w->multi, x->easy);
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
}

static void answer_transport(struct p2d_xfer *x, const char *what)
{
    memset(&x->result, 0, sizeof(x->result));
    x->result.outcome = P2D_LOAD_RETRY;
    x->result.txn_id = -1;
    snprintf(x->result.message, sizeof(x->result.message), "%s", what);
}

static void drop_pending(struct p2d_xfer *x)
{
    while (x->head) {
        struct p2d_batch *b = x->head;

        x->head = b->next;
        release_batch(x->w, b);
    }
    x->tail = NULL;
}

/* Called when the transfer has its outcome. The load finishes once its end
 * batch was seen too; until then later batches are dropped on arrival. */
static void settle(struct p2d_xfer *x)
{
    struct p2d_writer *w = x->w;

    end_request(x);
    if (x->state == XFER_FE || x->state == XFER_BE)
        w->active--;
    x->state = XFER_ANSWERED;
    if (x->result.outcome != P2D_LOAD_DONE || !x->end_seen)
        __atomic_store_n(&x->load->cancel, true, __ATOMIC_RELAXED);
    drop_pending(x);
    if (!x->end_seen)
        return;
    if (x->result.outcome == P2D_LOAD_DONE && !x->body_done &&
        strcmp(x->result.status, "Label Already Exists") != 0) {
        /* A success of this attempt before its whole body went out cannot
         * be true. ("Label Already Exists" + FINISHED is answered at header
         * time and speaks of an earlier attempt: that one is fine.) */
        x->result.outcome = P2D_LOAD_RETRY;
        snprintf(x->result.message, sizeof(x->result.message),
                 "Doris answered Success before the body was complete");
    }
    x->load->xfer = NULL;
    w->loads--;
    if (x->prev_all)
        x->prev_all->next_all = x->next_all;
    else
        w->all = x->next_all;
    if (x->next_all)
        x->next_all->prev_all = x->prev_all;
    w->cfg.finished(x->load, &x->result, w->cfg.arg);
    if (x->gz)
        deflateEnd(&x->z);
    curl_slist_free_all(x->headers);
    free(x->answer);
    free(x);
}

static void start_fe(struct p2d_xfer *x)
{
    struct p2d_writer *w = x->w;
    char url[1024], *db, *table;
    int rc;

    db = curl_easy_escape(NULL, x->load->db, 0);
    table = curl_easy_escape(NULL, x->load->table, 0);
    snprintf(url, sizeof(url), "%s/api/%s/%s/_stream_load", w->cfg.dest.base_url, db, table);
    curl_free(db);
    curl_free(table);
    x->state = XFER_FE;
    w->active++;
    rc = start_request(x, url);
    if (rc != 0) {
        answer_transport(x, "cannot start a request (out of memory or curl error)");
        settle(x);
    }
}

static void start_queued(struct p2d_writer *w)
{
    while (w->queue_head && w->active < w->cfg.max_loads) {
        struct p2d_xfer *x = w->queue_head;

        w->queue_head = x->next_queued;
        if (!w->queue_head)
            w->queue_tail = NULL;
        start_fe(x);
    }
}

/* Takes a transfer that never started out of the start queue. */
static void unqueue(struct p2d_writer *w, struct p2d_xfer *x)
{
    struct p2d_xfer **pp = &w->queue_head, *prev = NULL;

    while (*pp && *pp != x) {
        prev = *pp;
        pp = &(*pp)->next_queued;
    }
    if (!*pp)
        return;
    *pp = x->next_queued;
    if (w->queue_tail == x)
        w->queue_tail = prev;
    x->next_queued = NULL;
}

static struct p2d_xfer *new_xfer(struct p2d_writer *w, struct p2d_load *load)
{
    struct p2d_xfer *x = calloc(1, sizeof(*x));
    char label[160];

    if (!x)
        return NULL;
    if (load->compress_gz) {
        /* gzip wrapper (windowBits 15 + 16), level 1: speed over ratio */
        if (deflateInit2(&x->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(x);
            return NULL;
        }
        x->gz = true;
    }
    x->w = w;
    x->load = load;
    x->state = XFER_QUEUED;
    for (const struct curl_slist *h = load->headers; h; h = h->next)
        x->headers = curl_slist_append(x->headers, h->data);
    if (load->compress_gz)
        x->headers = curl_slist_append(x->headers, "compress_type: gz");
    x->headers = curl_slist_append(x->headers, "Expect: 100-continue");
    snprintf(label, sizeof(label), "label: %s", load->label);
    x->headers = curl_slist_append(x->headers, label);
    load->xfer = x;
    w->loads++;
    x->next_all = w->all;
    if (w->all)
        w->all->prev_all = x;
    w->all = x;
    if (w->queue_tail)
        w->queue_tail->next_queued = x;
    else
        w->queue_head = x;
    w->queue_tail = x;
    return x;
}

/* Routes one popped batch to its load's transfer. */
static void route_batch(struct p2d_writer *w, struct p2d_batch *b)
{
    struct p2d_load *load = b->load;
    struct p2d_xfer *x = load->xfer;
    bool end = b->end;

    if (!x) {
        x = new_xfer(w, load);
        if (!x) {
            P2D_ERROR("writer", "out of memory starting load \"%s\"", load->label);
            release_batch(w, b);
            return;
        }
    }
    if (end)
        x->end_seen = true;
    if (end && b->abort && x->state != XFER_ANSWERED) {
        /* The producer gave up on this load: ending the body would commit a
         * partial range under its label. Fail the transfer instead; the
         * range is re-read with the same label. */
        if (x->state == XFER_QUEUED)
            unqueue(w, x);
        answer_transport(x, "the reader did not produce the whole load");
        release_batch(w, b);
        settle(x);
        return;
    }
    if (x->state == XFER_ANSWERED) {
        release_batch(w, b);
        if (end) /* the failed load is now complete: report it */
            settle(x);
        return;
    }
    b->next = NULL;
    b->sent = 0;
    if (x->tail)
        x->tail->next = b;
    else
        x->head = b;
    x->tail = b;
    if (x->paused && x->easy) {
        x->paused = false;
        x->progress_ms = now_ms();
        curl_easy_pause(x->easy, CURLPAUSE_CONT);
    }
}

static void on_done(struct p2d_writer *w, CURL *h, CURLcode code)
{
    struct p2d_xfer *x = NULL;
    long http = 0;
    char *location = NULL;

    curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
    if (code != CURLE_OK) {
        char msg[512];

        snprintf(msg, sizeof(msg), "%s: %s", x->state == XFER_FE ? "FE" : "BE",
                 curl_easy_strerror(code));
        answer_transport(x, msg);
        settle(x);
        return;
    }
    if (x->state == XFER_FE && (http == 307 || http == 302 || http == 301)) {
        char url[2048];

        curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location);
        if (!location || x->body_started) {
            answer_transport(x, x->body_started ? "FE redirected after reading body bytes"
                                                : "FE redirect without a Location");
            settle(x);
            return;
        }
        snprintf(url, sizeof(url), "%s", location);
        end_request(x);
        x->state = XFER_BE;
        if (start_request(x, url) != 0) {
            answer_transport(x, "cannot start the BE request");
            settle(x);
        }
        return;
    }
    p2d_streamload_decode(http, x->answer ? x->answer : "", x->answer_len, &x->result);
    settle(x);
}

/* Gives up on transfers whose server stopped taking the body or answering. */
static void check_timeouts(struct p2d_writer *w)
{
    long long now = now_ms();
    struct p2d_xfer *x = w->all, *next;

    for (; x; x = next) {
        next = x->next_all; /* settle() may free x */
        if (x->state != XFER_FE && x->state != XFER_BE)
            continue;
        if (x->body_done && now - x->body_done_ms > w->cfg.answer_timeout_ms) {
            answer_transport(x, "no answer from Doris within the answer timeout");
            settle(x);
        } else if (!x->body_done && !x->paused && x->head &&
                   now - x->progress_ms > w->cfg.stall_timeout_ms) {
            answer_transport(x, "Doris stopped reading the load body (stall timeout)");
            settle(x);
        }
    }
}

/* Abort: every unfinished load ends now with outcome RETRY ("aborted"). */
static void abort_all(struct p2d_writer *w)
{
    struct p2d_xfer *x = w->all, *next;

    w->queue_head = w->queue_tail = NULL;
    for (; x; x = next) {
        next = x->next_all;
        if (x->state != XFER_ANSWERED)
            answer_transport(x, "aborted");
        x->end_seen = true;
        settle(x);
    }
}

static bool all_rings_drained(struct p2d_writer *w)
{
    for (int i = 0; i < w->nrings; i++)
        if (!p2d_ring_drained(w->rings[i]))
            return false;
    return true;
}

int p2d_writer_run(struct p2d_writer *w)
{
    for (;;) {
        int running = 0, msgs;
        CURLMsg *m;

        for (int i = 0; i < w->nrings; i++) {
            struct p2d_batch *b;

            while ((b = p2d_ring_trypop_mpsc(w->rings[i])) != NULL)
                route_batch(w, b);
        }
        start_queued(w);
        if (is_aborted(w)) {
            abort_all(w);
            return 0;
        }
        if (curl_multi_perform(w->multi, &running) != CURLM_OK)
            return P2D_EIO;
        while ((m = curl_multi_info_read(w->multi, &msgs)) != NULL)
            if (m->msg == CURLMSG_DONE)
                on_done(w, m->easy_handle, m->data.result);
        check_timeouts(w);
        /* An answer or a timeout above may have freed a slot: start queued
         * loads now. Waiting for the top of the loop would mean waiting for
         * the next ring push or the 1 s poll timeout, and a producer that
         * already pushed all its loads (or is blocked on the pool they hold)
         * pushes nothing more. A new handle is due at once, so the poll
         * below returns immediately. */
        start_queued(w);
        if (w->loads == 0 && all_rings_drained(w))
            return 0;
        if (curl_multi_poll(w->multi, NULL, 0, 1000, NULL) != CURLM_OK)
            return P2D_EIO;
    }
}
