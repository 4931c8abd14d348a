/*
 * metrics.h - the engine's Prometheus endpoint (`sync --metrics-addr
 * HOST:PORT`): a registry of counters and gauges that the WAL, writer and
 * control threads update, and an HTTP server thread (libmicrohttpd) that
 * answers `GET /metrics` in the text exposition format 0.0.4 and
 * `GET /healthz` with "ok".
 *
 * Families are declared up front (name, help, type, at most one label);
 * each label value is one series, reached through a handle that stays valid
 * until p2d_metrics_stop(). Updating a handle is one relaxed atomic
 * operation: no lock, never blocked by a scrape. A mutex guards only the
 * creation of families and series.
 *
 * Metrics off is a NULL registry: every function below accepts NULL (and a
 * NULL series handle) and then does nothing, so callers need no ifs.
 */
#ifndef P2D_METRICS_H
#define P2D_METRICS_H

#include <stddef.h>

#include "base/buf.h"

#define P2D_METRICS_MAX_FAMILIES 64
#define P2D_METRICS_MAX_SERIES   4096 /* per registry, all families together */
#define P2D_METRICS_MAX_NAME     128  /* metric and label names, bytes */
#define P2D_METRICS_MAX_HELP     512
#define P2D_METRICS_MAX_VALUE    1024 /* label values, bytes */

struct p2d_metrics;
struct p2d_metric; /* one series: a family with one label value */

enum p2d_metric_type {
    P2D_METRIC_COUNTER,
    P2D_METRIC_GAUGE,
};

/*
 * Splits addr "HOST:PORT" into host (copied into host, size hostlen) and
 * port (0..65535; 0 asks for any free port). HOST may be an IPv4 address, a
 * name such as "localhost", "*" or empty (every IPv4 interface), or an IPv6
 * address in brackets ("[::1]:9187"; host gets it without the brackets).
 * Pure: no lookup happens here. Returns 0, or P2D_EINVAL with the reason
 * in err.
 */
int p2d_metrics_parse_addr(const char *addr, char *host, size_t hostlen, int *port, char *err,
                           size_t errlen) __attribute__((warn_unused_result));

/*
 * Creates an empty registry and starts the HTTP server thread listening on
 * addr (see p2d_metrics_parse_addr; a name is resolved with getaddrinfo and
 * the first address that binds is used). On success sets *out and returns
 * 0. Otherwise writes the reason and a hint into err and returns
 * P2D_EINVAL (bad addr, unknown host), P2D_EIO (cannot listen: port in use,
 * address not local, no permission) or P2D_ENOMEM. addr is borrowed until
 * return.
 */
int p2d_metrics_start(const char *addr, struct p2d_metrics **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The port the server listens on (the chosen one when addr asked for 0);
 * -1 for NULL. */
int p2d_metrics_port(const struct p2d_metrics *m);

/*
 * Stops the server (closes the socket, ends open connections, joins the
 * thread) and frees the registry with every series. No other thread may
 * use m or any of its handles from now on: stop it after the threads that
 * update metrics have ended. Accepts NULL.
 */
void p2d_metrics_stop(struct p2d_metrics *m);

/*
 * Declares a family. name: [a-zA-Z_:][a-zA-Z0-9_:]*; help: text of at most
 * P2D_METRICS_MAX_HELP bytes (NULL: none; a newline or backslash in it is
 * escaped on output); label_name:
 * [a-zA-Z_][a-zA-Z0-9_]* not starting with "__", or NULL for a family of
 * one series without labels (created now, at 0). All are copied. Sets
 * *family_id and returns 0; P2D_EINVAL for a bad or already declared name,
 * P2D_EFULL past P2D_METRICS_MAX_FAMILIES, P2D_ENOMEM. Thread-safe (takes
 * the registry mutex); a family may be declared while the server runs.
 * With m NULL returns 0 and sets *family_id to -1.
 */
int p2d_metrics_family(struct p2d_metrics *m, const char *name, const char *help,
                       enum p2d_metric_type type, const char *label_name, int *family_id)
    __attribute__((warn_unused_result));

/*
 * Returns the series of family_id for label_value, creating it at 0 on
 * first use. label_value is copied (NULL counts as ""); it is ignored for a
 * family without a label. The handle is valid until p2d_metrics_stop().
 *
 * Thread-safe; takes the registry mutex for the lookup, so look a series up
 * once (per table, per thread) and keep the handle rather than calling this
 * per row. Never fails: past P2D_METRICS_MAX_SERIES series, for a label
 * value longer than P2D_METRICS_MAX_VALUE or an unknown family_id it
 * returns a shared overflow series that is updated but never shown, and
 * logs a warning once. Returns NULL when m is NULL.
 */
struct p2d_metric *p2d_metrics_series(struct p2d_metrics *m, int family_id,
                                      const char *label_value);

/*
 * Updates a series (NULL: nothing happens). Lock-free and wait-free for
 * set, lock-free for add (a compare-and-swap loop on the value's bits);
 * relaxed ordering: a scrape sees each value as of some recent moment, and
 * values of different series are not taken at one instant.
 *
 * set: any series (a counter may mirror a total kept elsewhere; keep it
 * monotonic). add: for a counter, v must be >= 0 (a negative or NaN v is
 * ignored); for a gauge, any v (negative to decrease).
 */
void p2d_metric_set(struct p2d_metric *s, double v);
void p2d_metric_add(struct p2d_metric *s, double v);

/* The current value (0 for NULL); for tests and progress lines. */
double p2d_metric_get(const struct p2d_metric *s);

/*
 * Appends the exposition text of every family to out: "# HELP", "# TYPE",
 * then one line per series in creation order, `name{label="value"} v` (or
 * `name v`). Values are read with relaxed loads while writers keep going;
 * the mutex is not taken. Returns 0, P2D_EFULL when out's cap is reached
 * or P2D_ENOMEM (out then holds a partial text). With m NULL appends
 * nothing and returns 0. This is what GET /metrics serves.
 */
int p2d_metrics_render(struct p2d_metrics *m, struct p2d_buf *out)
    __attribute__((warn_unused_result));

#endif
