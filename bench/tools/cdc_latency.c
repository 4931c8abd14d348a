/*
 * cdc_latency.c - the probes of bench/run's `latency` scenario: when does a
 * row written in PostgreSQL become visible on the other side? Every row
 * carries its id and its source time in microseconds since the epoch (the
 * writer's clock_timestamp()); this tool notes when each id is first seen
 * and writes one line per id, tab-separated:
 *
 *   ID  SOURCE_US  ASKED_US  SEEN_US
 *
 * ASKED_US is when the query that first returned the row was sent (the row
 * was not known to be visible before), SEEN_US when its answer arrived
 * (the row was visible by then). Lines are flushed after every poll or
 * input line. Runs until SIGTERM or SIGINT. Clocks: CLOCK_REALTIME, the
 * same clock PostgreSQL reads on this machine.
 *
 *   cdc_latency poll URL TABLE ID_COL TS_COL AFTER_ID INTERVAL_MS
 *       Reads the destination: every INTERVAL_MS (from the start of one
 *       poll to the start of the next) it POSTs
 *           {"stmt": "SELECT ID_COL, TS_COL FROM TABLE WHERE ID_COL > W"}
 *       to URL (a doris-emu or Doris FE .../api/query/default_cluster/DB,
 *       user root with an empty password) and notes the ids not seen
 *       before. W starts at AFTER_ID and moves up over ids seen without a
 *       gap, so rows that become visible out of id order are still found.
 *       Failed queries are counted and retried at the next tick; the count
 *       is printed to stderr at exit.
 *
 *   cdc_latency stamp PREFIX ID_COL TS_COL
 *       Reads test_decoding text (pg_recvlogical -P test_decoding -f -) on
 *       stdin and notes the lines starting with PREFIX (e.g.
 *       "table public.history: INSERT:"), taking ID_COL and TS_COL from
 *       their "name[type]:value" fields. ASKED_US = SEEN_US = when the line
 *       was read: the floor of commit-to-client latency of logical decoding.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct buf {
    char *p;
    size_t len, cap;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    size_t add = size * n;

    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        char *p;

        while (cap < b->len + add + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, add);
    b->len += add;
    b->p[b->len] = '\0';
    return add;
}

/* Seen ids above the watermark: a byte per id from base (base = W + 1). */
struct seen {
    int64_t base;
    unsigned char *bit;
    size_t cap;
};

/* Marks id; returns 1 if it was new, 0 if seen before, -1 without memory. */
static int seen_mark(struct seen *s, int64_t id)
{
    size_t off;

    if (id < s->base)
        return 0;
    off = (size_t)(id - s->base);
    if (off >= s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        unsigned char *p;

        while (cap <= off)
            cap *= 2;
        p = realloc(s->bit, cap);
        if (!p)
            return -1;
        memset(p + s->cap, 0, cap - s->cap);
        s->bit = p;
        s->cap = cap;
    }
    if (s->bit[off])
        return 0;
    s->bit[off] = 1;
    return 1;
}

/* Moves the watermark over the ids seen without a gap; returns it. */
static int64_t seen_advance(struct seen *s)
{
    size_t k = 0;

    while (k < s->cap && s->bit[k])
        k++;
    if (k > 0) {
        memmove(s->bit, s->bit + k, s->cap - k);
        memset(s->bit + s->cap - k, 0, k);
        s->base += (int64_t)k;
    }
    return s->base - 1;
}

static int json_int(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        *out = (int64_t)json_real_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        char *end;

        errno = 0;
        *out = strtoll(json_string_value(v), &end, 10);
        return errno || *end ? -1 : 0;
    }
    return -1;
}

static void sleep_until(int64_t t_us)
{
    int64_t d = t_us - now_us();
    struct timespec ts;

    if (d <= 0)
        return;
    ts.tv_sec = d / 1000000;
    ts.tv_nsec = (d % 1000000) * 1000;
    nanosleep(&ts, NULL); /* a signal ends it early: the loop checks stop */
}

static int poll_main(int argc, char **argv)
{
    const char *url, *table, *idc, *tsc;
    int64_t after, interval_us, next;
    struct seen seen = {0};
    struct buf body = {0};
    struct curl_slist *hdr = NULL;
    CURL *c;
    long polls = 0, failures = 0, rows = 0;

    if (argc != 8) {
        fprintf(stderr, "usage: cdc_latency poll URL TABLE ID_COL TS_COL AFTER_ID INTERVAL_MS\n");
        return 2;
    }
    url = argv[2];
    table = argv[3];
    idc = argv[4];
    tsc = argv[5];
    after = strtoll(argv[6], NULL, 10);
    interval_us = strtoll(argv[7], NULL, 10) * 1000;
    if (interval_us <= 0) {
        fprintf(stderr, "cdc_latency: INTERVAL_MS must be positive\n");
        return 2;
    }
    seen.base = after + 1;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    c = curl_easy_init();
    if (!c)
        return 1;
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_USERPWD, "root:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);

    next = now_us();
    while (!stop) {
        char stmt[512], *req;
        json_t *ans, *data;
        int64_t asked, got;
        CURLcode rc;
        long http = 0;

        sleep_until(next);
        if (stop)
            break;
        next += interval_us;
        if (next < now_us()) /* a slow answer: start the next poll now, do not burst */
            next = now_us();
        snprintf(stmt, sizeof(stmt), "SELECT %s, %s FROM %s WHERE %s > %" PRId64, idc, tsc, table,
                 idc, seen.base - 1);
        {
            json_t *o = json_pack("{s:s}", "stmt", stmt);

            req = json_dumps(o, JSON_COMPACT);
            json_decref(o);
        }
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
        body.len = 0;
        asked = now_us();
        rc = curl_easy_perform(c);
        got = now_us();
        free(req);
        polls++;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
        if (rc != CURLE_OK || http != 200 || body.len == 0) {
            if (failures++ < 5)
                fprintf(stderr, "cdc_latency: poll failed: %s (HTTP %ld)\n",
                        rc != CURLE_OK ? curl_easy_strerror(rc) : "answer", http);
            continue;
        }
        ans = json_loads(body.p, 0, NULL);
        data = ans ? json_object_get(json_object_get(ans, "data"), "data") : NULL;
        if (!json_is_array(data) || json_integer_value(json_object_get(ans, "code")) != 0) {
            if (failures++ < 5)
                fprintf(stderr, "cdc_latency: unexpected answer: %.300s\n", body.p);
            json_decref(ans);
            continue;
        }
        for (size_t i = 0; i < json_array_size(data); i++) {
            json_t *row = json_array_get(data, i);
            int64_t id, ts;
            int fresh;

            if (json_int(json_array_get(row, 0), &id) || json_int(json_array_get(row, 1), &ts))
                continue; /* NULL source time: not a probe row */
            fresh = seen_mark(&seen, id);
            if (fresh < 0) {
                fprintf(stderr, "cdc_latency: out of memory\n");
                return 1;
            }
            if (fresh) {
                printf("%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n", id, ts, asked, got);
                rows++;
            }
        }
        json_decref(ans);
        seen_advance(&seen);
        fflush(stdout);
    }
    fprintf(stderr, "cdc_latency: %ld polls, %ld failed, %ld rows seen, watermark %" PRId64 "\n",
            polls, failures, rows, seen.base - 1);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    curl_global_cleanup();
    free(body.p);
    free(seen.bit);
    return 0;
}

/* The value of "name[type]:value" in a test_decoding line; 0 if found. */
static int field(const char *line, const char *name, int64_t *out)
{
    size_t n = strlen(name);

    for (const char *p = line; (p = strstr(p, name)) != NULL; p += n) {
        const char *q;
        char *end;

        if (p != line && p[-1] != ' ')
            continue;
        if (p[n] != '[')
            continue;
        q = strstr(p + n, "]:");
        if (!q)
            return -1;
        errno = 0;
        *out = strtoll(q + 2, &end, 10);
        return errno || end == q + 2 ? -1 : 0;
    }
    return -1;
}

static int stamp_main(int argc, char **argv)
{
    const char *prefix, *idc, *tsc;
    size_t plen;
    char *line = NULL;
    size_t cap = 0;
    long rows = 0;

    if (argc != 5) {
        fprintf(stderr, "usage: cdc_latency stamp PREFIX ID_COL TS_COL\n");
        return 2;
    }
    prefix = argv[2];
    idc = argv[3];
    tsc = argv[4];
    plen = strlen(prefix);
    while (!stop && getline(&line, &cap, stdin) > 0) {
        int64_t t = now_us(), id, ts;

        if (strncmp(line, prefix, plen) != 0)
            continue;
        if (field(line, idc, &id) || field(line, tsc, &ts))
            continue;
        printf("%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n", id, ts, t, t);
        fflush(stdout);
        rows++;
    }
    free(line);
    fprintf(stderr, "cdc_latency: %ld rows stamped\n", rows);
    return 0;
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};

    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && strcmp(argv[1], "poll") == 0)
        return poll_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "stamp") == 0)
        return stamp_main(argc, argv);
    fprintf(stderr, "usage: cdc_latency poll URL TABLE ID_COL TS_COL AFTER_ID INTERVAL_MS\n"
                    "       cdc_latency stamp PREFIX ID_COL TS_COL\n");
    return 2;
}
