/*
 * metrics_test.c - the Prometheus endpoint over real HTTP on 127.0.0.1:
 * address parsing (table), the exact exposition text of a labelled counter
 * and a label-less gauge updated from two threads while the endpoint is
 * scraped, escaping of label values and help text, value formatting,
 * /healthz, 404 and 405, a bad address and a busy port with their
 * messages, the series cap and its overflow series, a NULL registry doing
 * nothing, and a clean stop (the port is closed afterwards).
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/metrics.h"
#include "p2d_error.h"
#include "testlib.h"

#define ROUNDS 200000

static void test_parse_addr(void)
{
    static const struct {
        const char *addr;
        int rc;
        const char *host; /* or the expected text in err */
        int port;
    } cases[] = {
        {"127.0.0.1:9187", 0, "127.0.0.1", 9187},
        {"*:0", 0, "", 0},
        {":9187", 0, "", 9187},
        {"0.0.0.0:65535", 0, "0.0.0.0", 65535},
        {"localhost:1", 0, "localhost", 1},
        {"[::1]:0", 0, "::1", 0},
        {"[::]:9187", 0, "::", 9187},
        {"nohost:abc", P2D_EINVAL, "port \"abc\" is not a number from 0 to 65535", 0},
        {"host:65536", P2D_EINVAL, "port \"65536\" is not a number", 0},
        {"host:-1", P2D_EINVAL, "port \"-1\" is not a number", 0},
        {"host:", P2D_EINVAL, "port \"\" is not a number", 0},
        {"host:000009187", P2D_EINVAL, "is not a number", 0},
        {"9187", P2D_EINVAL, "invalid metrics address \"9187\": no port; hint: use HOST:PORT", 0},
        {"::1:9187", P2D_EINVAL, "an IPv6 address must be in brackets", 0},
        {"[::1]9187", P2D_EINVAL, "needs the form [ADDRESS]:PORT", 0},
        {"[]:9187", P2D_EINVAL, "needs the form [ADDRESS]:PORT", 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char host[64] = "unset", err[256] = "";
        int port = -7;
        int rc = p2d_metrics_parse_addr(cases[i].addr, host, sizeof(host), &port, err, sizeof(err));

        T_EQ_INT(rc, cases[i].rc);
        if (cases[i].rc == 0) {
            T_EQ_STR(host, cases[i].host);
            T_EQ_INT(port, cases[i].port);
        } else {
            T_HAS_STR(err, cases[i].host);
            T_HAS_STR(err, "hint: ");
        }
    }
}

static void get(int port, const char *method, const char *path, struct t_resp *resp)
{
    char url[128];
    struct t_req req = {0};

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    req.method = method;
    req.url = url;
    req.timeout_ms = 10000;
    t_http(&req, resp);
}

/* ---- two writers, one scraper -------------------------------------------- */

static const char odd_label[] = "odd \"q\" \\ x\ny";

struct writer {
    struct p2d_metrics *m;
    int id;
    int rows_family, lag_family, rounds_family;
    struct p2d_metric *first_odd; /* what this thread got for odd_label */
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    /* each thread looks its series up itself, as engine threads will */
    struct p2d_metric *plain = p2d_metrics_series(w->m, w->rows_family, "public.t");
    struct p2d_metric *odd = p2d_metrics_series(w->m, w->rows_family, odd_label);
    struct p2d_metric *lag = p2d_metrics_series(w->m, w->lag_family, NULL);

    struct p2d_metric *rounds = NULL;
    char label[16];

    w->first_odd = odd;
    for (int i = 0; i < ROUNDS; i++) {
        p2d_metric_add(plain, 1);
        p2d_metric_add(odd, 0.5);
        p2d_metric_add(lag, 1);
        p2d_metric_add(lag, -1);
        if (i == ROUNDS / 2) {
            /* a series made while the other thread writes and scrapes run */
            snprintf(label, sizeof(label), "w%d", w->id);
            rounds = p2d_metrics_series(w->m, w->rounds_family, label);
        }
    }
    p2d_metric_set(rounds, ROUNDS);
    return NULL;
}

static void test_endpoint(void)
{
    struct p2d_metrics *m = NULL, *busy = NULL;
    struct writer w[2];
    pthread_t th[2];
    struct t_resp r;
    char err[512] = "", addr[64];
    int rows, lag, rounds, port, scrapes_ok = 0;
    char want[1024];
    bool w1_first;
    struct p2d_metric *odd;

    T_EQ_INT(p2d_metrics_start("127.0.0.1:0", &m, err, sizeof(err)), 0);
    T_EQ_STR(err, "");
    if (!m)
        return;
    port = p2d_metrics_port(m);
    T_CHECK(port > 0 && port <= 65535);

    T_EQ_INT(p2d_metrics_family(m, "p2d_rows_total", "Rows sent to Doris.", P2D_METRIC_COUNTER,
                                "table", &rows),
             0);
    T_EQ_INT(p2d_metrics_family(m, "p2d_lag_bytes", "Replication lag, a \\ and a\nnewline \"q\"",
                                P2D_METRIC_GAUGE, NULL, &lag),
             0);
    T_EQ_INT(rows, 0);
    T_EQ_INT(lag, 1);
    T_EQ_INT(p2d_metrics_family(m, "p2d_thread_rounds", "Rounds per thread.", P2D_METRIC_GAUGE,
                                "thread", &rounds),
             0);
    /* fix the series order: creation order is output order */
    T_CHECK(p2d_metrics_series(m, rows, "public.t") != NULL);
    odd = p2d_metrics_series(m, rows, odd_label);
    T_CHECK(odd != NULL);

    for (int i = 0; i < 2; i++) {
        w[i] = (struct writer){m, i, rows, lag, rounds, NULL};
        T_EQ_INT(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
    }
    /* scrape while the writers run: always a whole answer */
    for (int i = 0; i < 20; i++) {
        get(port, "GET", "/metrics", &r);
        if (r.status == 200 && strstr(r.body, "# TYPE p2d_lag_bytes gauge\n"))
            scrapes_ok++;
        t_resp_free(&r);
    }
    T_EQ_INT(scrapes_ok, 20);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        T_CHECK(w[i].first_odd == odd); /* same label, same handle */
    }
    p2d_metric_set(p2d_metrics_series(m, lag, "ignored"), 1.5);

    get(port, "GET", "/metrics", &r);
    T_EQ_INT(r.status, 200);
    /* the two threads made their "thread" series in either order */
    w1_first = r.body && strstr(r.body, "\"w1\"") && strstr(r.body, "\"w0\"") &&
               strstr(r.body, "\"w1\"") < strstr(r.body, "\"w0\"");
    snprintf(want, sizeof(want),
             "# HELP p2d_rows_total Rows sent to Doris.\n"
             "# TYPE p2d_rows_total counter\n"
             "p2d_rows_total{table=\"public.t\"} 400000\n"
             "p2d_rows_total{table=\"odd \\\"q\\\" \\\\ x\\ny\"} 200000\n"
             "# HELP p2d_lag_bytes Replication lag, a \\\\ and a\\nnewline \"q\"\n"
             "# TYPE p2d_lag_bytes gauge\n"
             "p2d_lag_bytes 1.5\n"
             "# HELP p2d_thread_rounds Rounds per thread.\n"
             "# TYPE p2d_thread_rounds gauge\n"
             "p2d_thread_rounds{thread=\"w%s\"} 200000\n"
             "p2d_thread_rounds{thread=\"w%s\"} 200000\n",
             w1_first ? "1" : "0", w1_first ? "0" : "1");
    T_EQ_STR(r.body, want);
    T_HAS_STR(r.headers, "Content-Type: text/plain; version=0.0.4; charset=utf-8");
    T_CHECK(r.headers && strstr(r.headers, "Connection: close") == NULL); /* kept alive */
    t_resp_free(&r);

    get(port, "GET", "/healthz", &r);
    T_EQ_INT(r.status, 200);
    T_EQ_STR(r.body, "ok\n");
    t_resp_free(&r);

    get(port, "GET", "/nope", &r);
    T_EQ_INT(r.status, 404);
    t_resp_free(&r);
    get(port, "GET", "/metrics?x=1", &r); /* a query string does not change the path */
    T_EQ_INT(r.status, 200);
    t_resp_free(&r);
    get(port, "GET", "/metrics/", &r);
    T_EQ_INT(r.status, 404);
    t_resp_free(&r);
    get(port, "DELETE", "/metrics", &r);
    T_EQ_INT(r.status, 405);
    T_HAS_STR(r.headers, "Allow: GET, HEAD");
    t_resp_free(&r);
    {
        char url[128];
        struct t_req req = {0};

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
        req.url = url;
        req.timeout_ms = 10000;
        req.body = "x=1";
        req.body_len = 3;
        req.method = "POST";
        t_http(&req, &r);
        T_EQ_INT(r.status, 405);
        t_resp_free(&r);
        req.method = "GET";
        t_http(&req, &r);
        T_EQ_INT(r.status, 400);
        t_resp_free(&r);
    }

    /* the port is taken by m */
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    T_EQ_INT(p2d_metrics_start(addr, &busy, err, sizeof(err)), P2D_EIO);
    T_CHECK(busy == NULL);
    T_HAS_STR(err, "cannot serve metrics on \"127.0.0.1:");
    T_HAS_STR(err, "Address already in use; hint: another process listens on that port: pick "
                   "another port, or 0 for any free one");

    p2d_metrics_stop(m);
    /* stopped: nothing answers on the port any more */
    get(port, "GET", "/healthz", &r);
    T_EQ_INT(r.status, 0);
    t_resp_free(&r);
}

/* ---- registry rules -------------------------------------------------------- */

static char *render(struct p2d_metrics *m)
{
    struct p2d_buf b;
    char *text;

    p2d_buf_init(&b, 0);
    T_EQ_INT(p2d_metrics_render(m, &b), 0);
    text = calloc(1, b.len + 1);
    if (text && b.len)
        memcpy(text, b.data, b.len);
    p2d_buf_fini(&b);
    return text;
}

static void test_registry_rules(void)
{
    struct p2d_metrics *m = NULL;
    char err[256] = "", *text;
    int fam, g, c, id;
    struct p2d_metric *s, *first_overflow = NULL, *counter;
    int made = 0;

    T_EQ_INT(p2d_metrics_start("localhost:0", &m, err, sizeof(err)), 0);
    if (!m) {
        printf("localhost:0 did not start: %s\n", err);
        return;
    }
    /* names */
    T_EQ_INT(p2d_metrics_family(m, "9bad", "", P2D_METRIC_GAUGE, NULL, &id), P2D_EINVAL);
    T_EQ_INT(id, -1);
    T_EQ_INT(p2d_metrics_family(m, "bad-name", "", P2D_METRIC_GAUGE, NULL, &id), P2D_EINVAL);
    T_EQ_INT(p2d_metrics_family(m, "ok", "", P2D_METRIC_GAUGE, "__reserved", &id), P2D_EINVAL);
    T_EQ_INT(p2d_metrics_family(m, "ok", "", P2D_METRIC_GAUGE, "a:b", &id), P2D_EINVAL);
    {
        char help[P2D_METRICS_MAX_HELP + 2];

        memset(help, 'h', sizeof(help) - 1);
        help[sizeof(help) - 1] = '\0';
        T_EQ_INT(p2d_metrics_family(m, "ok", help, P2D_METRIC_GAUGE, NULL, &id), P2D_EINVAL);
    }
    T_EQ_INT(p2d_metrics_family(m, "ns:ok_1", "values", P2D_METRIC_GAUGE, NULL, &g), 0);
    T_EQ_INT(p2d_metrics_family(m, "ns:ok_1", "again", P2D_METRIC_GAUGE, NULL, &id), P2D_EINVAL);
    T_EQ_INT(p2d_metrics_family(m, "c_total", "c", P2D_METRIC_COUNTER, NULL, &c), 0);

    /* values and their text */
    s = p2d_metrics_series(m, g, NULL);
    counter = p2d_metrics_series(m, c, NULL);
    p2d_metric_add(counter, 2);
    p2d_metric_add(counter, -1); /* counters do not go down */
    p2d_metric_add(counter, NAN);
    T_CHECK(p2d_metric_get(counter) == 2);
    p2d_metric_add(s, -3); /* gauges do */
    T_CHECK(p2d_metric_get(s) == -3);
    p2d_metric_set(s, 0.1);
    text = render(m);
    T_HAS_STR(text, "\nns:ok_1 0.1\n");
    T_HAS_STR(text, "\nc_total 2\n");
    free(text);
    static const struct {
        double v;
        const char *line;
    } values[] = {
        {1e20, "\nns:ok_1 1e+20\n"},
        {-42, "\nns:ok_1 -42\n"},
        {1.0 / 3.0, "\nns:ok_1 0.33333333333333331\n"},
        {0.1 + 0.2, "\nns:ok_1 0.30000000000000004\n"},
        {2.5e-7, "\nns:ok_1 2.5e-07\n"},
        {INFINITY, "\nns:ok_1 +Inf\n"},
        {-INFINITY, "\nns:ok_1 -Inf\n"},
        {NAN, "\nns:ok_1 NaN\n"},
        {-0.0, "\nns:ok_1 0\n"},
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        p2d_metric_set(s, values[i].v);
        text = render(m);
        T_HAS_STR(text, values[i].line);
        free(text);
    }

    /* an undeclared family and an over-long label go to the overflow series */
    {
        char *long_label = malloc(P2D_METRICS_MAX_VALUE + 2);

        T_EQ_INT(p2d_metrics_family(m, "many", "many series", P2D_METRIC_COUNTER, "n", &fam), 0);
        memset(long_label, 'x', P2D_METRICS_MAX_VALUE + 1);
        long_label[P2D_METRICS_MAX_VALUE + 1] = '\0';
        first_overflow = p2d_metrics_series(m, 99, "a");
        T_CHECK(first_overflow != NULL);
        T_CHECK(p2d_metrics_series(m, fam, long_label) == first_overflow);
        long_label[P2D_METRICS_MAX_VALUE] = '\0'; /* exactly the limit is fine */
        T_CHECK(p2d_metrics_series(m, fam, long_label) != first_overflow);
        free(long_label);
    }

    /* the series cap: 2 label-less series + 1 long one exist already */
    for (int i = 0; i < P2D_METRICS_MAX_SERIES + 10; i++) {
        char label[32];

        snprintf(label, sizeof(label), "s%d", i);
        s = p2d_metrics_series(m, fam, label);
        if (s == first_overflow)
            break;
        T_CHECK(p2d_metrics_series(m, fam, label) == s); /* found again, not made twice */
        p2d_metric_add(s, 1);
        made++;
    }
    T_EQ_INT(made, P2D_METRICS_MAX_SERIES - 3);
    p2d_metric_add(s, 5); /* the overflow series takes updates quietly */
    text = render(m);
    {
        char line[64];

        snprintf(line, sizeof(line), "\nmany{n=\"s%d\"} 1\n", made - 1);
        T_HAS_STR(text, line);
        snprintf(line, sizeof(line), "many{n=\"s%d\"}", made);
        T_CHECK(strstr(text, line) == NULL);
    }
    free(text);
    /* no room left for the series of a new label-less family */
    T_EQ_INT(p2d_metrics_family(m, "late", "", P2D_METRIC_GAUGE, NULL, &id), P2D_EFULL);
    p2d_metrics_stop(m);
}

static void test_metrics_off(void)
{
    struct p2d_buf b;
    int id = 5;

    T_EQ_INT(p2d_metrics_family(NULL, "x", "y", P2D_METRIC_COUNTER, "t", &id), 0);
    T_EQ_INT(id, -1);
    T_CHECK(p2d_metrics_series(NULL, id, "t") == NULL);
    p2d_metric_add(NULL, 1);
    p2d_metric_set(NULL, 1);
    T_CHECK(p2d_metric_get(NULL) == 0);
    T_EQ_INT(p2d_metrics_port(NULL), -1);
    p2d_buf_init(&b, 0);
    T_EQ_INT(p2d_metrics_render(NULL, &b), 0);
    T_EQ_INT(b.len, 0);
    p2d_buf_fini(&b);
    p2d_metrics_stop(NULL);
}

static void test_bad_addresses(void)
{
    struct p2d_metrics *m = (struct p2d_metrics *)&m; /* must be reset to NULL */
    char err[512] = "";

    T_EQ_INT(p2d_metrics_start("nohost:abc", &m, err, sizeof(err)), P2D_EINVAL);
    T_CHECK(m == NULL);
    T_EQ_STR(err, "invalid metrics address \"nohost:abc\": port \"abc\" is not a number from 0 "
                  "to 65535; hint: use HOST:PORT, e.g. 127.0.0.1:9187, *:9187 or [::1]:9187");

    /* 192.0.2.1 (TEST-NET-1) is nobody's local address */
    T_EQ_INT(p2d_metrics_start("192.0.2.1:0", &m, err, sizeof(err)), P2D_EIO);
    T_CHECK(m == NULL);
    T_HAS_STR(err, "cannot serve metrics on \"192.0.2.1:0\": ");
    T_HAS_STR(err, "hint: that address is not one of this machine's");
}

/* "*" and IPv6 loopback, when this machine has it */
static void test_other_hosts(void)
{
    struct p2d_metrics *m = NULL;
    char err[512] = "", url[64];
    struct t_resp r;
    struct t_req req = {0};
    int rc;

    T_EQ_INT(p2d_metrics_start("*:0", &m, err, sizeof(err)), 0);
    get(p2d_metrics_port(m), "GET", "/healthz", &r);
    T_EQ_INT(r.status, 200);
    t_resp_free(&r);
    p2d_metrics_stop(m);

    m = NULL;
    rc = p2d_metrics_start("[::1]:0", &m, err, sizeof(err));
    if (rc != 0) {
        printf("skipping [::1]: %s\n", err);
        return;
    }
    snprintf(url, sizeof(url), "http://[::1]:%d/healthz", p2d_metrics_port(m));
    req.url = url;
    req.timeout_ms = 10000;
    t_http(&req, &r);
    T_EQ_INT(r.status, 200);
    T_EQ_STR(r.body, "ok\n");
    t_resp_free(&r);
    p2d_metrics_stop(m);
}

int main(void)
{
    test_parse_addr();
    test_metrics_off();
    test_bad_addresses();
    test_endpoint();
    test_registry_rules();
    test_other_hosts();
    return t_done();
}
