/*
 * metrics.c - counters and gauges for Prometheus, served over HTTP (see
 * metrics.h).
 *
 * DESIGN: the registry is two append-only arrays inside one allocation:
 * families[] and series[]. An entry is written in full under the mutex and
 * then published by a release store of nfamilies / nseries; a reader that
 * loads the count with acquire sees every entry below it complete, and
 * those entries never change again (except the value). So the scrape (the
 * libmicrohttpd thread, in render) walks the arrays without the mutex, and
 * the updating threads (WAL, writer, control) touch only the value of
 * their series: a relaxed atomic on the bits of a double. The mutex orders
 * creators among themselves and guards the lookup index, which only they
 * read. Entries are never removed, so handles stay valid until stop.
 *
 * The server is one libmicrohttpd daemon with its own polling thread. We
 * bind and listen ourselves (so the error of a busy port or a foreign
 * address is exact) and hand the socket over with MHD_OPTION_LISTEN_SOCKET.
 */
#include "control/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/log.h"
#include "p2d_error.h"

#define INDEX_SLOTS      (2 * P2D_METRICS_MAX_SERIES) /* power of two, load <= 1/2 */
#define RENDER_CAP       (32u << 20)                  /* worst case is about 10 MiB */
#define CONN_LIMIT       32
#define CONN_TIMEOUT_SEC 10
#define CONTENT_TYPE     "text/plain; version=0.0.4; charset=utf-8"

/* One cache line each, so threads updating different series do not
 * contend for a line. */
struct p2d_metric {
    _Alignas(64) _Atomic uint64_t bits; /* the value as double bits; relaxed: statistics */
    int family;                         /* -1 for the overflow series */
    bool counter;
    char *label_value; /* owned; NULL without a label */
};

struct family {
    char name[P2D_METRICS_MAX_NAME + 1];
    char help[P2D_METRICS_MAX_HELP + 1];
    char label_name[P2D_METRICS_MAX_NAME + 1]; /* "" without a label */
    enum p2d_metric_type type;
};

struct p2d_metrics {
    struct MHD_Daemon *daemon;
    int port;

    pthread_mutex_t mu; /* guards creation: writes to the arrays and index[] */
    /* Counts publish the entries below them: release store after the entry
     * is written (under mu), acquire load in render. */
    _Atomic int nfamilies;
    _Atomic int nseries;
    struct family families[P2D_METRICS_MAX_FAMILIES];
    struct p2d_metric series[P2D_METRICS_MAX_SERIES];
    int32_t index[INDEX_SLOTS]; /* series number + 1, 0 = empty; guarded by mu */

    struct p2d_metric overflow; /* handed out when a series cannot be made */
    atomic_bool warned_full;    /* relaxed: only keeps a warning to one line */
    atomic_bool warned_long;
    atomic_bool warned_family;
};

/* ---- address ------------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

#define ADDR_HINT "hint: use HOST:PORT, e.g. 127.0.0.1:9187, *:9187 or [::1]:9187"

int p2d_metrics_parse_addr(const char *addr, char *host, size_t hostlen, int *port, char *err,
                           size_t errlen)
{
    const char *host_start, *host_end, *port_text;
    size_t n;
    long value = 0;

    if (!addr) {
        set_err(err, errlen, "no metrics address given; " ADDR_HINT);
        return P2D_EINVAL;
    }
    if (addr[0] == '[') {
        host_start = addr + 1;
        host_end = strchr(host_start, ']');
        if (!host_end || host_end == host_start || host_end[1] != ':') {
            set_err(err, errlen,
                    "invalid metrics address \"%s\": an IPv6 address needs the form "
                    "[ADDRESS]:PORT; " ADDR_HINT,
                    addr);
            return P2D_EINVAL;
        }
        port_text = host_end + 2;
    } else {
        host_start = addr;
        host_end = strrchr(addr, ':');
        if (!host_end) {
            set_err(err, errlen, "invalid metrics address \"%s\": no port; " ADDR_HINT, addr);
            return P2D_EINVAL;
        }
        if (memchr(addr, ':', (size_t)(host_end - addr))) {
            set_err(
                err, errlen,
                "invalid metrics address \"%s\": an IPv6 address must be in brackets; " ADDR_HINT,
                addr);
            return P2D_EINVAL;
        }
        port_text = host_end + 1;
    }
    if (port_text[0] == '\0' || strspn(port_text, "0123456789") != strlen(port_text) ||
        strlen(port_text) > 5 || (value = strtol(port_text, NULL, 10)) > 65535) {
        set_err(err, errlen,
                "invalid metrics address \"%s\": port \"%s\" is not a number from 0 to "
                "65535; " ADDR_HINT,
                addr, port_text);
        return P2D_EINVAL;
    }
    n = (size_t)(host_end - host_start);
    if (n >= hostlen) {
        set_err(err, errlen, "invalid metrics address \"%s\": host name too long; " ADDR_HINT,
                addr);
        return P2D_EINVAL;
    }
    memcpy(host, host_start, n);
    host[n] = '\0';
    if (strcmp(host, "*") == 0)
        host[0] = '\0';
    *port = (int)value;
    return 0;
}

/* ---- listening ---------------------------------------------------------- */

static const char *listen_hint(int err)
{
    switch (err) {
    case EADDRINUSE:
        return "another process listens on that port: pick another port, or 0 for any free one";
    case EADDRNOTAVAIL:
        return "that address is not one of this machine's: use 127.0.0.1, * or a local address";
    case EACCES:
        return "ports below 1024 need privileges: use a port from 1024 up";
    case EAFNOSUPPORT:
        return "this machine has no such address family: use an IPv4 address";
    default:
        return "check the address, or use 127.0.0.1:0";
    }
}

/* Opens a listening TCP socket on sa. Returns the socket, or -1 with errno. */
static int listen_on(const struct sockaddr *sa, socklen_t salen)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1, saved;

    if (fd < 0)
        return -1;
    /* Lets a restarted run take the port while old connections sit in
     * TIME_WAIT; a live listener still makes bind fail with EADDRINUSE. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
        goto fail;
    if (bind(fd, sa, salen) != 0 || listen(fd, 64) != 0)
        goto fail;
    return fd;
fail:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/*
 * Resolves host (as p2d_metrics_parse_addr left it) and listens on the
 * first address that binds. Returns the socket or -1 with err written.
 */
static int open_listener(const char *addr, const char *host, int port, int *rc, char *err,
                         size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    char port_text[8];
    int fd = -1, gai, last_errno = 0;

    if (host[0] == '\0') {
        struct sockaddr_in any;

        memset(&any, 0, sizeof(any));
        any.sin_family = AF_INET;
        any.sin_addr.s_addr = htonl(INADDR_ANY);
        any.sin_port = htons((uint16_t)port);
        fd = listen_on((const struct sockaddr *)&any, sizeof(any));
        last_errno = errno;
    } else {
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        snprintf(port_text, sizeof(port_text), "%d", port);
        gai = getaddrinfo(host, port_text, &hints, &res);
        if (gai != 0) {
            set_err(err, errlen,
                    "cannot serve metrics on \"%s\": host \"%s\" not found (%s); hint: use an IP "
                    "address, localhost or *",
                    addr, host, gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
            *rc = P2D_EINVAL;
            return -1;
        }
        for (ai = res; ai && fd < 0; ai = ai->ai_next) {
            fd = listen_on(ai->ai_addr, ai->ai_addrlen);
            if (fd < 0)
                last_errno = errno;
        }
        freeaddrinfo(res);
    }
    if (fd < 0) {
        set_err(err, errlen, "cannot serve metrics on \"%s\": %s; hint: %s", addr,
                strerror(last_errno), listen_hint(last_errno));
        *rc = last_errno == ENOMEM ? P2D_ENOMEM : P2D_EIO;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/* ---- values ------------------------------------------------------------- */

static uint64_t to_bits(double v)
{
    uint64_t bits;

    memcpy(&bits, &v, sizeof(bits));
    return bits;
}

static double from_bits(uint64_t bits)
{
    double v;

    memcpy(&v, &bits, sizeof(v));
    return v;
}

void p2d_metric_set(struct p2d_metric *s, double v)
{
    if (s)
        atomic_store_explicit(&s->bits, to_bits(v), memory_order_relaxed);
}

void p2d_metric_add(struct p2d_metric *s, double v)
{
    uint64_t old;

    if (!s || (s->counter && !(v >= 0)))
        return;
    old = atomic_load_explicit(&s->bits, memory_order_relaxed);
    /* Relaxed: the value publishes nothing else; a failed CAS reloads old. */
    while (!atomic_compare_exchange_weak_explicit(&s->bits, &old, to_bits(from_bits(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

double p2d_metric_get(const struct p2d_metric *s)
{
    if (!s)
        return 0;
    return from_bits(atomic_load_explicit(&s->bits, memory_order_relaxed));
}

/* ---- registry ----------------------------------------------------------- */

static bool valid_name(const char *name, bool colon_ok)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > P2D_METRICS_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon_ok && c == ':') || (i > 0 && c >= '0' && c <= '9');

        if (!ok)
            return false;
    }
    return true;
}

static uint32_t series_hash(int family, const char *label)
{
    uint32_t h = 2166136261u ^ (uint32_t)family; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)label; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* Adds series n (already written) to the index. Caller holds mu. */
static void index_put(struct p2d_metrics *m, int n)
{
    const struct p2d_metric *s = &m->series[n];
    uint32_t slot = series_hash(s->family, s->label_value ? s->label_value : "");

    while (m->index[slot & (INDEX_SLOTS - 1)] != 0)
        slot++;
    m->index[slot & (INDEX_SLOTS - 1)] = n + 1;
}

/* Finds the series of (family, label), or NULL. Caller holds mu. */
static struct p2d_metric *index_get(struct p2d_metrics *m, int family, const char *label)
{
    uint32_t slot = series_hash(family, label);
    int32_t e;

    while ((e = m->index[slot & (INDEX_SLOTS - 1)]) != 0) {
        struct p2d_metric *s = &m->series[e - 1];

        if (s->family == family && strcmp(s->label_value ? s->label_value : "", label) == 0)
            return s;
        slot++;
    }
    return NULL;
}

/*
 * Appends a series for (family, label) and publishes it. Caller holds mu.
 * Returns NULL when full or out of memory.
 */
static struct p2d_metric *series_new(struct p2d_metrics *m, int family, const char *label)
{
    int n = atomic_load_explicit(&m->nseries, memory_order_relaxed); /* only creators write it */
    struct p2d_metric *s;

    if (n >= P2D_METRICS_MAX_SERIES)
        return NULL;
    s = &m->series[n];
    s->label_value = NULL;
    if (label) {
        s->label_value = strdup(label);
        if (!s->label_value)
            return NULL;
    }
    s->family = family;
    s->counter = m->families[family].type == P2D_METRIC_COUNTER;
    atomic_init(&s->bits, to_bits(0.0));
    index_put(m, n);
    /* Publishes the series written above to render (acquire in render). */
    atomic_store_explicit(&m->nseries, n + 1, memory_order_release);
    return s;
}

/* True the first time only: keeps a warning to one line per registry. */
static bool first_time(atomic_bool *flag)
{
    return !atomic_exchange_explicit(flag, true, memory_order_relaxed);
}

int p2d_metrics_family(struct p2d_metrics *m, const char *name, const char *help,
                       enum p2d_metric_type type, const char *label_name, int *family_id)
{
    struct family *f;
    int n, rc = 0;

    *family_id = -1;
    if (!m)
        return 0;
    if (!valid_name(name, true) || (label_name && !valid_name(label_name, false)) ||
        (label_name && strncmp(label_name, "__", 2) == 0) ||
        (help && strlen(help) > P2D_METRICS_MAX_HELP) ||
        (type != P2D_METRIC_COUNTER && type != P2D_METRIC_GAUGE))
        return P2D_EINVAL;
    pthread_mutex_lock(&m->mu);
    n = atomic_load_explicit(&m->nfamilies, memory_order_relaxed); /* only creators write it */
    for (int i = 0; i < n; i++) {
        if (strcmp(m->families[i].name, name) == 0) {
            rc = P2D_EINVAL;
            goto out;
        }
    }
    if (n >= P2D_METRICS_MAX_FAMILIES) {
        rc = P2D_EFULL;
        goto out;
    }
    if (!label_name &&
        atomic_load_explicit(&m->nseries, memory_order_relaxed) >= P2D_METRICS_MAX_SERIES) {
        rc = P2D_EFULL;
        goto out;
    }
    f = &m->families[n];
    snprintf(f->name, sizeof(f->name), "%s", name);
    snprintf(f->help, sizeof(f->help), "%s", help ? help : "");
    snprintf(f->label_name, sizeof(f->label_name), "%s", label_name ? label_name : "");
    f->type = type;
    /* The one series of a family without labels exists from the start, so
     * the family shows 0 before the first update. */
    if (!label_name && !series_new(m, n, NULL)) {
        rc = P2D_ENOMEM;
        goto out;
    }
    /* Publishes the family written above to render (acquire in render). A
     * label-less family's series becomes visible just before its family;
     * render only shows series of families it sees, so that is harmless. */
    atomic_store_explicit(&m->nfamilies, n + 1, memory_order_release);
    *family_id = n;
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

struct p2d_metric *p2d_metrics_series(struct p2d_metrics *m, int family_id, const char *label_value)
{
    struct p2d_metric *s;
    const char *label;

    if (!m)
        return NULL;
    if (!label_value)
        label_value = "";
    /* Acquire pairs with the release in p2d_metrics_family: the family's
     * entry is complete (a caller normally got the id from that call). */
    if (family_id < 0 || family_id >= atomic_load_explicit(&m->nfamilies, memory_order_acquire)) {
        if (first_time(&m->warned_family))
            P2D_WARN("metrics", "series asked of undeclared family %d; it is not shown", family_id);
        return &m->overflow;
    }
    if (m->families[family_id].label_name[0] == '\0') {
        label_value = "";
    } else if (strlen(label_value) > P2D_METRICS_MAX_VALUE) {
        if (first_time(&m->warned_long))
            P2D_WARN("metrics",
                     "a value of label \"%s\" of \"%s\" is longer than %d bytes; its series is "
                     "not shown (logged once)",
                     m->families[family_id].label_name, m->families[family_id].name,
                     P2D_METRICS_MAX_VALUE);
        return &m->overflow;
    }
    pthread_mutex_lock(&m->mu);
    s = index_get(m, family_id, label_value);
    if (!s) {
        label = m->families[family_id].label_name[0] ? label_value : NULL;
        s = series_new(m, family_id, label);
    }
    pthread_mutex_unlock(&m->mu);
    if (!s) {
        if (first_time(&m->warned_full))
            P2D_WARN("metrics",
                     "cannot add a series to \"%s\": the limit of %d series is reached (or "
                     "memory is out); new series are not shown (logged once); hint: run fewer "
                     "tables per job to see all of them",
                     m->families[family_id].name, P2D_METRICS_MAX_SERIES);
        return &m->overflow;
    }
    return s;
}

/* ---- rendering ---------------------------------------------------------- */

static int put(struct p2d_buf *out, const char *s, size_t n)
{
    return p2d_buf_append(out, s, n);
}

static int put_str(struct p2d_buf *out, const char *s)
{
    return put(out, s, strlen(s));
}

/* Appends s escaped: backslash and newline always, '"' when quotes is set
 * (label values; HELP text keeps its quotes). */
static int put_escaped(struct p2d_buf *out, const char *s, bool quotes)
{
    const char *run = s;
    int rc;

    for (; *s; s++) {
        const char *esc = *s == '\\'              ? "\\\\"
                          : *s == '\n'            ? "\\n"
                          : (*s == '"' && quotes) ? "\\\""
                                                  : NULL;

        if (!esc)
            continue;
        if ((rc = put(out, run, (size_t)(s - run))) != 0 || (rc = put_str(out, esc)) != 0)
            return rc;
        run = s + 1;
    }
    return put(out, run, (size_t)(s - run));
}

/* Formats v as the exposition format wants it: integers without a
 * fraction, other values in the shortest text that reads back the same. */
static void format_value(double v, char *text, size_t len)
{
    if (isnan(v)) {
        snprintf(text, len, "NaN");
    } else if (isinf(v)) {
        snprintf(text, len, "%s", v > 0 ? "+Inf" : "-Inf");
    } else if (v == 0) {
        snprintf(text, len, "0");
    } else if (v == trunc(v) && fabs(v) < 1e15) {
        snprintf(text, len, "%.0f", v);
    } else {
        snprintf(text, len, "%.15g", v);
        if (strtod(text, NULL) != v)
            snprintf(text, len, "%.17g", v);
    }
}

static int render_family(struct p2d_metrics *m, int fi, int nseries, struct p2d_buf *out)
{
    const struct family *f = &m->families[fi];
    char value[40];
    int rc;

    if ((rc = put_str(out, "# HELP ")) != 0 || (rc = put_str(out, f->name)) != 0 ||
        (rc = put_str(out, " ")) != 0 || (rc = put_escaped(out, f->help, false)) != 0 ||
        (rc = put_str(out, "\n# TYPE ")) != 0 || (rc = put_str(out, f->name)) != 0 ||
        (rc = put_str(out, f->type == P2D_METRIC_COUNTER ? " counter\n" : " gauge\n")) != 0)
        return rc;
    for (int i = 0; i < nseries; i++) {
        const struct p2d_metric *s = &m->series[i];

        if (s->family != fi)
            continue;
        if ((rc = put_str(out, f->name)) != 0)
            return rc;
        if (s->label_value) {
            if ((rc = put_str(out, "{")) != 0 || (rc = put_str(out, f->label_name)) != 0 ||
                (rc = put_str(out, "=\"")) != 0 ||
                (rc = put_escaped(out, s->label_value, true)) != 0 ||
                (rc = put_str(out, "\"}")) != 0)
                return rc;
        }
        format_value(p2d_metric_get(s), value, sizeof(value));
        if ((rc = put_str(out, " ")) != 0 || (rc = put_str(out, value)) != 0 ||
            (rc = put_str(out, "\n")) != 0)
            return rc;
    }
    return 0;
}

int p2d_metrics_render(struct p2d_metrics *m, struct p2d_buf *out)
{
    int nfamilies, nseries, rc;

    if (!m)
        return 0;
    /* Acquire pairs with the release stores in p2d_metrics_family and
     * series_new: every entry below the counts is complete. */
    nfamilies = atomic_load_explicit(&m->nfamilies, memory_order_acquire);
    nseries = atomic_load_explicit(&m->nseries, memory_order_acquire);
    for (int fi = 0; fi < nfamilies; fi++) {
        if ((rc = render_family(m, fi, nseries, out)) != 0)
            return rc;
    }
    return 0;
}

/* ---- HTTP --------------------------------------------------------------- */

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status,
                              const char *content_type, void *body, size_t len, bool owned)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (owned)
        resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    else
        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES ||
        (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return answer(conn, status, "text/plain; charset=utf-8", (void *)text, strlen(text), false);
}

static enum MHD_Result serve_metrics(struct p2d_metrics *m, struct MHD_Connection *conn)
{
    struct p2d_buf out;
    int rc;

    p2d_buf_init(&out, RENDER_CAP);
    rc = p2d_metrics_render(m, &out);
    if (rc != 0) {
        P2D_WARN("metrics", "cannot render metrics: %s", p2d_strerror(rc));
        p2d_buf_fini(&out);
        return answer_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render metrics\n");
    }
    if (out.len == 0) {
        p2d_buf_fini(&out);
        return answer(conn, MHD_HTTP_OK, CONTENT_TYPE, (void *)"", 0, false);
    }
    /* The response takes out.data and frees it once sent. */
    return answer(conn, MHD_HTTP_OK, CONTENT_TYPE, out.data, out.len, true);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    /* Their addresses mark how far a request came, in *req_cls. */
    static int headers_seen, body_seen;
    struct p2d_metrics *m = cls;

    (void)version;
    (void)upload;
    /* Other methods are refused at once, without reading a body (the
     * connection closes after the answer). */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    /* The first call carries only the headers. Answering then would make
     * libmicrohttpd close the connection (a body might follow), so wait
     * for the next call, after the whole request: scrapers keep their
     * connection. A GET that does send a body is read to its end (the
     * library does not take an answer earlier), dropped and refused. */
    if (*req_cls == NULL) {
        *req_cls = &headers_seen;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        *upload_size = 0;
        *req_cls = &body_seen;
        return MHD_YES;
    }
    if (*req_cls == &body_seen)
        return answer_text(conn, MHD_HTTP_BAD_REQUEST, "a GET request has no body\n");
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(m, conn);
    if (strcmp(url, "/healthz") == 0)
        return answer_text(conn, MHD_HTTP_OK, "ok\n");
    return answer_text(conn, MHD_HTTP_NOT_FOUND, "not found; try /metrics or /healthz\n");
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    P2D_WARN("metrics", "http server: %s", line);
}

/* ---- start / stop ------------------------------------------------------- */

int p2d_metrics_start(const char *addr, struct p2d_metrics **out, char *err, size_t errlen)
{
    char host[NI_MAXHOST + 1];
    struct p2d_metrics *m = NULL;
    int port, fd, rc;

    *out = NULL;
    rc = p2d_metrics_parse_addr(addr, host, sizeof(host), &port, err, errlen);
    if (rc != 0)
        return rc;
    /* aligned_alloc: the series are cache-line aligned, which calloc does
     * not promise. sizeof(*m) is a multiple of that alignment. */
    m = aligned_alloc(_Alignof(struct p2d_metrics), sizeof(*m));
    if (!m) {
        set_err(err, errlen, "cannot serve metrics: out of memory");
        return P2D_ENOMEM;
    }
    memset(m, 0, sizeof(*m));
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        set_err(err, errlen, "cannot serve metrics: out of memory");
        return P2D_ENOMEM;
    }
    m->overflow.family = -1;
    atomic_init(&m->overflow.bits, to_bits(0.0));
    atomic_init(&m->nfamilies, 0);
    atomic_init(&m->nseries, 0);

    fd = open_listener(addr, host, port, &rc, err, errlen);
    if (fd < 0)
        goto fail;
    m->port = bound_port(fd);
    /* From here the daemon owns fd: it closes it in MHD_stop_daemon, and
     * also when it fails to start once it has taken it (seen with 0.9.75;
     * our option list is fixed, so the earlier failure of a bad option
     * cannot happen). Closing it here as well could close a descriptor
     * another thread has just opened. */
    m->daemon = MHD_start_daemon(
        MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, m, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, m, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)CONN_TIMEOUT_SEC, MHD_OPTION_END);
    if (!m->daemon) {
        set_err(err, errlen,
                "cannot serve metrics on \"%s\": the HTTP server did not start (see the log "
                "above); hint: run without --metrics-addr",
                addr);
        rc = P2D_EIO;
        goto fail;
    }
    P2D_INFO("metrics", "serving metrics on \"%s\" (port %d): GET /metrics, GET /healthz", addr,
             m->port);
    *out = m;
    return 0;
fail:
    pthread_mutex_destroy(&m->mu);
    free(m);
    return rc;
}

int p2d_metrics_port(const struct p2d_metrics *m)
{
    return m ? m->port : -1;
}

void p2d_metrics_stop(struct p2d_metrics *m)
{
    int n;

    if (!m)
        return;
    /* Joins the server thread: no render runs after this. */
    MHD_stop_daemon(m->daemon);
    n = atomic_load_explicit(&m->nseries, memory_order_acquire);
    for (int i = 0; i < n; i++)
        free(m->series[i].label_value);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
