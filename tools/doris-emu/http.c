/*
 * http.c - doris-emu's FE and BE HTTP listeners: routing, Basic auth,
 * privileges, the FE's 307 to the BE, Stream Load bodies, 2PC, SQL over
 * HTTP, discovery endpoints, the /_emu admin endpoints and fault hooks.
 *
 * DESIGN (threads): two libmicrohttpd daemons (FE and BE), each with one
 * thread per connection, so a load that blocks in SQLite, or a handler that
 * hangs on purpose, holds only its own connection. A request's state
 * (struct req) is created by the URI log callback (which also keeps the raw
 * URI for the 307 Location), lives in *con_cls, and is freed by the
 * completion callback, which also abandons a load whose connection died
 * before its end and writes the request's log line.
 *
 * libmicrohttpd answers "100 Continue" only when the handler returns from
 * its first call without queuing a response. Every rejection is therefore
 * queued on that first call, so a rejected body is never read, as Doris's
 * FE and BE do (doris-protocol.md §1.4).
 *
 * Shared mutable state: the counters of /_emu/stats (relaxed atomics,
 * statistics only) and the stop flag with its condition variable, which
 * wakes handlers sleeping for slow / hang faults.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

/* Per-connection buffer of the BE: large, so that body chunks arrive in big
 * pieces. libmicrohttpd zeroes the whole buffer after every request, so the
 * FE (SQL, 307s: small requests, bodies collected piecewise) gets a small
 * one; with 4 MB the memset was ~15% of the CPU of a CREATE TABLE. */
#define CONN_MEMORY_LIMIT    (4u * 1024 * 1024)
#define FE_CONN_MEMORY_LIMIT (256u * 1024)
/* Largest body collected in memory (SQL statements, fault specs, ...). */
#define SMALL_BODY_MAX (16u * 1024 * 1024)

enum role {
    ROLE_FE,
    ROLE_BE,
};

struct daemon_ctx {
    struct emu_server *srv;
    enum role role;
};

struct emu_server {
    struct emu_server_config cfg;
    struct daemon_ctx fe_ctx;
    struct daemon_ctx be_ctx;
    struct MHD_Daemon *fe;
    struct MHD_Daemon *be;
    int fe_port;
    int be_port;

    pthread_mutex_t stop_mu; /* guards stopping; stop_cv wakes fault sleepers */
    pthread_cond_t stop_cv;
    bool stopping;

    pthread_mutex_t log_mu; /* one log line at a time */

    /* /_emu/stats, relaxed atomics (statistics only) */
    int64_t loads_ok;
    int64_t loads_failed;
    int64_t rows_loaded;
    int64_t rows_filtered;
    int64_t bytes_received;
    int64_t requests;
};

/* What a request does with its body once the first call accepted it. */
enum body_mode {
    BODY_NONE,    /* answered already, or no body expected: ignore bytes */
    BODY_LOAD,    /* BE Stream Load: feed emu_load */
    BODY_COLLECT, /* collect into req->body, act on the final call */
};

/* The action that runs on the final call for BODY_COLLECT / BODY_NONE. */
enum final_action {
    FINAL_NOTHING,
    FINAL_QUERY,
    FINAL_LIGHT_SCHEMA_CHANGE,
    FINAL_FAULT_ADD,
};

struct req {
    struct daemon_ctx *dctx;
    char *raw_uri; /* path and query as sent, escaped */
    bool started;
    bool answered;
    enum body_mode mode;
    enum final_action action;
    struct timespec t0;

    char method[16];
    char path[512]; /* unescaped path (for the log) */
    char user[128];
    char db[256];
    char table[256];

    struct emu_load *load; /* BE load in progress, owned */
    struct emu_fault_hit fault;
    long long body_bytes;
    long reset_at; /* reset fault: close once this many body bytes arrived */

    struct emu_buf body; /* BODY_COLLECT */

    unsigned status;      /* answered HTTP status, 0 if none */
    size_t resp_bytes;    /* answer body size */
    char load_status[32]; /* Status of a load answer, for the log */
};

/* ---- small helpers ------------------------------------------------------ */

static int64_t stat_add(int64_t *counter, int64_t n)
{
    return __atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static int64_t stat_get(const int64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* emu_header_fn for load.c: req is the MHD connection. */
static const char *load_header(void *conn, const char *name)
{
    return header(conn, name);
}

static void copy_str(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decodes standard base64 (padding optional) into out; returns the length
 * or -1 on a bad character or when out is too small. */
static long b64_decode(const char *in, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    unsigned acc = 0;
    int bits = 0;

    while (n > 0 && in[n - 1] == '=')
        n--;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)in[i]);

        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (len + 1 >= cap)
                return -1;
            out[len++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[len] = '\0';
    return (long)len;
}

struct basic {
    char user[128];
    char password[256];
};

/* Parses "Authorization: Basic base64(user:password)". */
static bool parse_basic(struct MHD_Connection *conn, struct basic *b)
{
    const char *h = header(conn, "Authorization");
    char decoded[512];
    long n;
    char *colon;

    if (!h)
        return false;
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "Basic ", 6) != 0)
        return false;
    h += 6;
    while (*h == ' ')
        h++;
    n = b64_decode(h, strcspn(h, " \r\n"), decoded, sizeof(decoded));
    if (n <= 0)
        return false;
    colon = memchr(decoded, ':', (size_t)n);
    if (!colon || colon == decoded)
        return false;
    copy_str(b->user, sizeof(b->user), decoded, (size_t)(colon - decoded));
    copy_str(b->password, sizeof(b->password), colon + 1, (size_t)(n - (colon + 1 - decoded)));
    return true;
}

/* Percent-encodes what java.net.URI quotes in a userinfo component. */
static void userinfo_escape(struct emu_buf *out, const char *s)
{
    static const char keep[] = "_-!.~'()*,;:$&+=";

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            (*p < 0x80 && strchr(keep, *p)))
            emu_buf_append(out, p, 1);
        else
            emu_buf_printf(out, "%%%02X", *p);
    }
}

/* A label like the BE's generate_uuid_string() for loads without one. */
static void uuid_label(char *out, size_t cap)
{
    unsigned char r[16];

    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        for (size_t i = 0; i < sizeof(r); i++)
            r[i] = (unsigned char)((uint64_t)ts.tv_nsec >> (i % 8) ^ (uint64_t)ts.tv_sec >> i);
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, cap, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
}

/*
 * Sleeps up to ms milliseconds (ms <= 0: until shutdown), waking early when
 * the server stops. Returns true if the server is stopping.
 */
static bool sleep_unless_stopping(struct emu_server *s, int ms)
{
    struct timespec deadline;
    bool stopping;

    clock_gettime(CLOCK_REALTIME, &deadline);
    if (ms > 0) {
        deadline.tv_sec += ms / 1000;
        deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&s->stop_mu);
    while (!s->stopping) {
        int rc = ms > 0 ? pthread_cond_timedwait(&s->stop_cv, &s->stop_mu, &deadline)
                        : pthread_cond_wait(&s->stop_cv, &s->stop_mu);

        if (rc == ETIMEDOUT)
            break;
    }
    stopping = s->stopping;
    pthread_mutex_unlock(&s->stop_mu);
    return stopping;
}

/* ---- answers ------------------------------------------------------------ */

static enum MHD_Result answer_raw(struct MHD_Connection *conn, struct req *r, unsigned status,
                                  const char *content_type, const char *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    r->answered = true;
    r->mode = BODY_NONE;
    r->status = status;
    r->resp_bytes = len;
    return ret;
}

/* Answers compact JSON (Spring / Jackson style) and takes the reference. */
static enum MHD_Result answer_json(struct MHD_Connection *conn, struct req *r, unsigned status,
                                   json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY);
    enum MHD_Result ret;

    json_decref(obj);
    if (!text)
        return MHD_NO;
    ret = answer_raw(conn, r, status, "application/json", text, strlen(text));
    free(text);
    return ret;
}

/* FE ResponseEntityBuilder body: {"msg":..,"code":..,"data":..,"count":0}. */
static json_t *fe_body(const char *msg, int code, json_t *data)
{
    json_t *o = json_object();

    json_object_set_new(o, "msg", json_string(msg));
    json_object_set_new(o, "code", json_integer(code));
    json_object_set_new(o, "data", data ? data : json_null());
    json_object_set_new(o, "count", json_integer(0));
    return o;
}

static json_t *json_text(const char *s)
{
    json_t *j = json_string(s);

    return j ? j : json_stringn_nocheck(s, strlen(s));
}

static enum MHD_Result fe_unauthorized(struct MHD_Connection *conn, struct req *r, const char *data)
{
    return answer_json(conn, r, MHD_HTTP_OK, fe_body("Unauthorized", 401, json_text(data)));
}

static enum MHD_Result fe_common_error(struct MHD_Connection *conn, struct req *r, const char *data)
{
    return answer_json(conn, r, MHD_HTTP_OK, fe_body("Error", 1, json_text(data)));
}

/* RestBaseResult: {"status":"FAILED","msg":..}. */
static enum MHD_Result fe_failed(struct MHD_Connection *conn, struct req *r, const char *msg)
{
    json_t *o = json_object();

    json_object_set_new(o, "status", json_string("FAILED"));
    json_object_set_new(o, "msg", json_text(msg));
    return answer_json(conn, r, MHD_HTTP_OK, o);
}

/* Spring Boot's default error body, as a Java web app answers unknown paths. */
static enum MHD_Result fe_spring_error(struct MHD_Connection *conn, struct req *r, unsigned status,
                                       const char *error)
{
    char stamp[64];
    time_t now = time(NULL);
    struct tm tm;
    json_t *o = json_object();

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S.000+00:00", &tm);
    json_object_set_new(o, "timestamp", json_string(stamp));
    json_object_set_new(o, "status", json_integer(status));
    json_object_set_new(o, "error", json_string(error));
    json_object_set_new(o, "path", json_text(r->path));
    return answer_json(conn, r, status, o);
}

/* Renders a BE answer (4-space pretty JSON, as the BE's PrettyWriter). */
static enum MHD_Result be_answer(struct MHD_Connection *conn, struct req *r, json_t *answer)
{
    char *text = emu_answer_text(answer);
    const char *status = json_string_value(json_object_get(answer, "Status"));
    enum MHD_Result ret;

    if (status)
        snprintf(r->load_status, sizeof(r->load_status), "%s", status);
    json_decref(answer);
    if (!text)
        return MHD_NO;
    ret = answer_raw(conn, r, MHD_HTTP_OK, NULL, text, strlen(text));
    free(text);
    return ret;
}

/* A Stream Load answer for failures decided before the load begins (auth),
 * with the keys of doris-protocol.md §2.2 in order. */
static json_t *be_fail_answer(const char *label, const char *message)
{
    static const char *const counters[] = {
        "NumberTotalRows", "NumberLoadedRows", "NumberFilteredRows", "NumberUnselectedRows",
        "LoadBytes",       "LoadTimeMs",       "BeginTxnTimeMs",     "StreamLoadPutTimeMs",
        "ReadDataTimeMs",  "WriteDataTimeMs",  "ReceiveDataTimeMs",  "CommitAndPublishTimeMs",
    };
    json_t *o = json_object();

    json_object_set_new(o, "TxnId", json_integer(-1));
    json_object_set_new(o, "Label", json_text(label));
    json_object_set_new(o, "Comment", json_string(""));
    json_object_set_new(o, "TwoPhaseCommit", json_string("false"));
    json_object_set_new(o, "Status", json_string("Fail"));
    json_object_set_new(o, "Message", json_text(message));
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        json_object_set_new(o, counters[i], json_integer(0));
    return o;
}

/* Status::to_json of the BE: {"status": CODE, "msg": text}. */
static enum MHD_Result be_status(struct MHD_Connection *conn, struct req *r, const char *code,
                                 const char *msg)
{
    json_t *o = json_object();

    json_object_set_new(o, "status", json_string(code));
    json_object_set_new(o, "msg", json_text(msg));
    return be_answer(conn, r, o);
}

static void record_load_answer(struct emu_server *s, const json_t *answer)
{
    const char *status = json_string_value(json_object_get(answer, "Status"));
    json_t *loaded = json_object_get(answer, "NumberLoadedRows");
    json_t *filtered = json_object_get(answer, "NumberFilteredRows");

    if (status && (strcmp(status, "Success") == 0 || strcmp(status, "Publish Timeout") == 0)) {
        stat_add(&s->loads_ok, 1);
        stat_add(&s->rows_loaded, json_integer_value(loaded));
    } else {
        stat_add(&s->loads_failed, 1);
    }
    stat_add(&s->rows_filtered, json_integer_value(filtered));
}

/* ---- paths -------------------------------------------------------------- */

#define MAX_SEGS 8

struct path {
    int n;
    char seg[MAX_SEGS][256];
};

/* Splits "/api/db/t/_stream_load" into segments; false when too deep. */
static bool split_path(const char *url, struct path *p)
{
    const char *s = url;

    p->n = 0;
    while (*s) {
        size_t len;

        while (*s == '/')
            s++;
        if (!*s)
            break;
        len = strcspn(s, "/");
        if (p->n == MAX_SEGS || len >= sizeof(p->seg[0]))
            return false;
        memcpy(p->seg[p->n], s, len);
        p->seg[p->n][len] = '\0';
        p->n++;
        s += len;
    }
    return true;
}

static bool seg_is(const struct path *p, int i, const char *s)
{
    return i < p->n && strcmp(p->seg[i], s) == 0;
}

/* ---- FE ----------------------------------------------------------------- */

/* Checks Basic credentials at the FE; on failure answers 401 JSON. */
static bool fe_login(struct MHD_Connection *conn, struct req *r, enum MHD_Result *ret)
{
    struct emu_server *s = r->dctx->srv;
    struct basic b;
    char msg[512];

    if (!parse_basic(conn, &b)) {
        *ret = fe_unauthorized(conn, r, "Need auth information.");
        return false;
    }
    snprintf(r->user, sizeof(r->user), "%s", b.user);
    if (!emu_auth_login(s->cfg.auth, b.user, b.password)) {
        snprintf(msg, sizeof(msg), "Access denied for user '%s@%s' (using password: %s)", b.user,
                 s->cfg.host, b.password[0] ? "YES" : "NO");
        *ret = fe_unauthorized(conn, r, msg);
        return false;
    }
    return true;
}

/* The 307 to the BE: Location http://user:password@be:port/path[?query]. */
static enum MHD_Result fe_redirect(struct MHD_Connection *conn, struct req *r)
{
    struct emu_server *s = r->dctx->srv;
    struct basic b;
    struct emu_buf loc;
    const char *raw = r->raw_uri ? r->raw_uri : r->path;
    const char *q = strchr(raw, '?');
    struct MHD_Response *resp;
    enum MHD_Result ret;
    static const char body[] = "";

    emu_buf_init(&loc);
    emu_buf_printf(&loc, "http://");
    if (parse_basic(conn, &b)) {
        userinfo_escape(&loc, b.user);
        emu_buf_append(&loc, ":", 1);
        userinfo_escape(&loc, b.password);
        emu_buf_append(&loc, "@", 1);
    }
    emu_buf_printf(&loc, "%s:%d", s->cfg.host, s->be_port);
    emu_buf_append(&loc, raw, q ? (size_t)(q - raw) : strlen(raw));
    if (q && q[1])
        emu_buf_printf(&loc, "%s", q);
    resp = MHD_create_response_from_buffer(0, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        emu_buf_fini(&loc);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html;charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc.data);
    ret = MHD_queue_response(conn, MHD_HTTP_TEMPORARY_REDIRECT, resp);
    MHD_destroy_response(resp);
    emu_buf_fini(&loc);
    r->answered = true;
    r->mode = BODY_NONE;
    r->status = MHD_HTTP_TEMPORARY_REDIRECT;
    return ret;
}

static enum MHD_Result fe_stream_load(struct MHD_Connection *conn, struct req *r)
{
    struct emu_server *s = r->dctx->srv;
    const char *gc = header(conn, "group_commit");
    enum MHD_Result ret;

    if (gc && strcasecmp(gc, "sync_mode") != 0 && strcasecmp(gc, "async_mode") != 0 &&
        strcasecmp(gc, "off_mode") != 0)
        return fe_failed(conn, r,
                         "Header `group_commit` can only be `sync_mode`, `async_mode` or "
                         "`off_mode`.");
    if (!fe_login(conn, r, &ret))
        return ret;
    if (!header(conn, "Expect"))
        return fe_failed(conn, r, "There is no 100-continue header");
    if (!emu_auth_has(s->cfg.auth, r->user, EMU_PRIV_LOAD, r->db, r->table))
        return fe_failed(conn, r,
                         "Access denied; you need (at least one of) the Admin_priv,Load_priv "
                         "privilege(s) for this operation");
    return fe_redirect(conn, r);
}

static enum MHD_Result fe_stream_load_2pc(struct MHD_Connection *conn, struct req *r)
{
    enum MHD_Result ret;

    if (!fe_login(conn, r, &ret))
        return ret;
    if (!header(conn, "txn_id") && !header(conn, "label"))
        return fe_failed(conn, r, "No transaction id or label selected.");
    if (!header(conn, "txn_operation"))
        return fe_failed(conn, r, "No transaction operation('commit' or 'abort') selected.");
    return fe_redirect(conn, r);
}

static enum MHD_Result fe_health(struct MHD_Connection *conn, struct req *r)
{
    json_t *data = json_pack("{s:i,s:i}", "total_backend_num", 1, "online_backend_num", 1);

    return answer_json(conn, r, MHD_HTTP_OK, fe_body("success", 0, data));
}

static enum MHD_Result fe_bootstrap(struct MHD_Connection *conn, struct req *r)
{
    json_t *data = json_pack("{s:i,s:i,s:i,s:i,s:s}", "replayedJournalId", 0, "queryPort", 0,
                             "rpcPort", 0, "arrowFlightSqlPort", 0, "version", "");

    return answer_json(conn, r, MHD_HTTP_OK, fe_body("success", 0, data));
}

static enum MHD_Result fe_backends(struct MHD_Connection *conn, struct req *r)
{
    struct emu_server *s = r->dctx->srv;
    enum MHD_Result ret;
    json_t *be, *data;

    if (!fe_login(conn, r, &ret))
        return ret;
    be = json_pack("{s:s,s:i,s:b}", "ip", s->cfg.host, "http_port", s->be_port, "is_alive", 1);
    data = json_pack("{s:[o]}", "backends", be);
    return answer_json(conn, r, MHD_HTTP_OK, fe_body("success", 0, data));
}

static enum MHD_Result fe_table_schema(struct MHD_Connection *conn, struct req *r)
{
    struct emu_server *s = r->dctx->srv;
    struct emu_err err = {"", ""};
    struct emu_table *t;
    enum MHD_Result ret;
    json_t *data;

    if (!fe_login(conn, r, &ret))
        return ret;
    if (!emu_auth_has(s->cfg.auth, r->user, EMU_PRIV_SELECT, r->db, r->table))
        return fe_unauthorized(conn, r,
                               "Access denied; you need (at least one of) the "
                               "Admin_priv,Select_priv privilege(s) for this operation");
    t = emu_store_table(s->cfg.store, r->db, r->table, &err);
    if (!t)
        return fe_common_error(conn, r, err.msg);
    data = emu_store_table_schema_json(t);
    emu_table_unref(t);
    return answer_json(conn, r, MHD_HTTP_OK, fe_body("success", 0, data));
}

/* The privilege name Doris prints in "Access denied" for one need. */
static const char *priv_name(unsigned priv)
{
    if (priv & EMU_PRIV_ADMIN)
        return "ADMIN";
    if (priv & EMU_PRIV_CREATE)
        return "CREATE";
    if (priv & EMU_PRIV_ALTER)
        return "ALTER";
    if (priv & EMU_PRIV_DROP)
        return "DROP";
    if (priv & EMU_PRIV_LOAD)
        return "LOAD";
    return "SELECT";
}

static enum MHD_Result sql_error(struct MHD_Connection *conn, struct req *r, const char *detail)
{
    char *msg = NULL;
    enum MHD_Result ret;

    if (asprintf(&msg, "Failed to execute sql: errCode = 2, detailMessage = %s", detail) < 0)
        return MHD_NO;
    ret = fe_common_error(conn, r, msg);
    free(msg);
    return ret;
}

/* POST /api/query/{ns}/{db} once the body is in (§6.1). */
static enum MHD_Result fe_query_final(struct MHD_Connection *conn, struct req *r)
{
    struct emu_server *s = r->dctx->srv;
    json_t *req_body = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    json_t *stmt = json_object_get(req_body, "stmt");
    json_t *is_sync = json_object_get(req_body, "is_sync");
    json_t *limit_j = json_object_get(req_body, "limit");
    long limit = json_is_integer(limit_j) ? (long)json_integer_value(limit_j) : 1000;
    const char *stream_hdr = header(conn, "X-Doris-Stream");
    bool streaming = !(stream_hdr && strcasecmp(stream_hdr, "false") == 0);
    struct emu_priv_need needs[16];
    struct emu_err err = {"", ""};
    json_t *result = NULL, *out;
    const char *type;
    int nneeds;
    enum MHD_Result ret;

    if (!json_is_string(stmt) || !json_string_value(stmt)[0]) {
        json_decref(req_body);
        return answer_json(
            conn, r, MHD_HTTP_OK,
            fe_body("Bad Request", 403, json_string("Missing statement request body")));
    }
    if (is_sync && json_is_false(is_sync)) {
        json_decref(req_body);
        return fe_common_error(conn, r, "Not support async query execution");
    }
    nneeds = emu_sql_required_privs(json_string_value(stmt), r->db, needs,
                                    (int)(sizeof(needs) / sizeof(needs[0])), &err);
    if (nneeds < 0) {
        json_decref(req_body);
        return sql_error(conn, r, err.msg);
    }
    for (int i = 0; i < nneeds; i++) {
        if (!emu_auth_has(s->cfg.auth, r->user, needs[i].priv, needs[i].db, needs[i].table)) {
            char msg[256];

            snprintf(msg, sizeof(msg),
                     "Access denied; you need (at least one of) the (%s) privilege(s) for this "
                     "operation",
                     priv_name(needs[i].priv));
            json_decref(req_body);
            return sql_error(conn, r, msg);
        }
    }
    if (emu_store_exec_sql(s->cfg.store, r->db, json_string_value(stmt), limit, &result, &err) <
        0) {
        json_decref(req_body);
        return sql_error(conn, r, err.msg);
    }
    json_decref(req_body);
    type = json_string_value(json_object_get(result, "type"));
    if (!streaming) {
        out = fe_body("success", 0, result);
    } else if (type && strcmp(type, "result_set") == 0) {
        /* JsonStreamResponse writes the data first. */
        out = json_object();
        json_object_set_new(out, "data", result);
        json_object_set_new(out, "msg", json_string("success"));
        json_object_set_new(out, "code", json_integer(0));
    } else {
        out = json_object();
        json_object_set_new(out, "msg", json_string("success"));
        json_object_set_new(out, "code", json_integer(0));
        json_object_set_new(out, "data", result);
    }
    ret = answer_json(conn, r, MHD_HTTP_OK, out);
    return ret;
}

/* GET /api/enable_light_schema_change/{db}/{table} with its JSON body (§6.2). */
static enum MHD_Result fe_light_schema_change_final(struct MHD_Connection *conn, struct req *r)
{
    struct emu_server *s = r->dctx->srv;
    json_t *body = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    bool is_drop = json_is_true(json_object_get(body, "isDropColumn"));
    const char *column = json_string_value(json_object_get(body, "columnName"));
    struct emu_err err = {"", ""};
    struct emu_table *t = emu_store_table(s->cfg.store, r->db, r->table, &err);
    char msg[600];
    enum MHD_Result ret;

    if (!t) {
        json_decref(body);
        return fe_common_error(conn, r, err.msg);
    }
    if (!t->light_schema_change) {
        snprintf(msg, sizeof(msg), "table %s disable light schema change", r->table);
        ret = fe_common_error(conn, r, msg);
    } else if (is_drop && column && emu_table_column(t, column, strlen(column)) >= 0 &&
               t->cols[emu_table_column(t, column, strlen(column))].is_key) {
        snprintf(msg, sizeof(msg),
                 "Column %s is primary key in materializedIndex that can't do the light schema "
                 "change",
                 column);
        ret = fe_common_error(conn, r, msg);
    } else {
        ret = answer_json(conn, r, MHD_HTTP_OK, fe_body("success", 0, NULL));
    }
    emu_table_unref(t);
    json_decref(body);
    return ret;
}

/* ---- admin (/_emu, FE port, no auth) ------------------------------------ */

static enum MHD_Result admin_stats(struct MHD_Connection *conn, struct req *r)
{
    struct emu_server *s = r->dctx->srv;
    json_t *o = json_object();

    json_object_set_new(o, "loads_ok", json_integer(stat_get(&s->loads_ok)));
    json_object_set_new(o, "loads_failed", json_integer(stat_get(&s->loads_failed)));
    json_object_set_new(o, "rows_loaded", json_integer(stat_get(&s->rows_loaded)));
    json_object_set_new(o, "rows_filtered", json_integer(stat_get(&s->rows_filtered)));
    json_object_set_new(o, "bytes_received", json_integer(stat_get(&s->bytes_received)));
    json_object_set_new(o, "requests", json_integer(stat_get(&s->requests)));
    json_object_set_new(o, "discard", json_boolean(emu_store_discard(s->cfg.store)));
    return answer_json(conn, r, MHD_HTTP_OK, o);
}

static enum MHD_Result admin_fault_add_final(struct MHD_Connection *conn, struct req *r)
{
    struct emu_server *s = r->dctx->srv;
    struct emu_err err = {"", ""};

    if (emu_faults_add(s->cfg.faults, r->body.data ? r->body.data : "", &err) < 0) {
        json_t *o = json_object();

        json_object_set_new(o, "error", json_text(err.msg));
        return answer_json(conn, r, MHD_HTTP_BAD_REQUEST, o);
    }
    return answer_json(conn, r, MHD_HTTP_OK, emu_faults_json(s->cfg.faults));
}

static enum MHD_Result admin_route(struct MHD_Connection *conn, struct req *r, const struct path *p)
{
    struct emu_server *s = r->dctx->srv;

    if (p->n == 2 && seg_is(p, 1, "faults")) {
        if (strcmp(r->method, "POST") == 0) {
            r->mode = BODY_COLLECT;
            r->action = FINAL_FAULT_ADD;
            return MHD_YES;
        }
        if (strcmp(r->method, "DELETE") == 0) {
            emu_faults_clear(s->cfg.faults);
            return answer_json(conn, r, MHD_HTTP_OK, emu_faults_json(s->cfg.faults));
        }
        if (strcmp(r->method, "GET") == 0)
            return answer_json(conn, r, MHD_HTTP_OK, emu_faults_json(s->cfg.faults));
        return fe_spring_error(conn, r, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    if (p->n == 2 && seg_is(p, 1, "stats")) {
        if (strcmp(r->method, "GET") == 0)
            return admin_stats(conn, r);
        return fe_spring_error(conn, r, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    return fe_spring_error(conn, r, MHD_HTTP_NOT_FOUND, "Not Found");
}

/* Routes an FE request on its first call. */
static enum MHD_Result fe_route(struct MHD_Connection *conn, struct req *r, const struct path *p)
{
    struct emu_server *s = r->dctx->srv;
    bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    bool put = strcmp(r->method, "PUT") == 0;
    bool post = strcmp(r->method, "POST") == 0;
    const char *want = NULL; /* the method of a known path, for 405 */
    struct emu_fault_hit hit;
    enum MHD_Result ret;

    if (seg_is(p, 0, "_emu"))
        return admin_route(conn, r, p);
    if (!seg_is(p, 0, "api"))
        return fe_spring_error(conn, r, MHD_HTTP_NOT_FOUND, "Not Found");

    /* Remember db / table for fault matching and logging. */
    if (p->n == 4 && (seg_is(p, 3, "_stream_load") || seg_is(p, 3, "_stream_load_2pc") ||
                      seg_is(p, 3, "_schema"))) {
        snprintf(r->db, sizeof(r->db), "%s", p->seg[1]);
        snprintf(r->table, sizeof(r->table), "%s", p->seg[2]);
    } else if (p->n == 3 && seg_is(p, 2, "_stream_load_2pc")) {
        snprintf(r->db, sizeof(r->db), "%s", p->seg[1]);
    } else if (p->n == 4 && seg_is(p, 1, "query")) {
        snprintf(r->db, sizeof(r->db), "%s", p->seg[3]);
    } else if (p->n == 4 && seg_is(p, 1, "enable_light_schema_change")) {
        snprintf(r->db, sizeof(r->db), "%s", p->seg[2]);
        snprintf(r->table, sizeof(r->table), "%s", p->seg[3]);
    }
    if (emu_faults_match(s->cfg.faults, true, r->db[0] ? r->db : NULL,
                         r->table[0] ? r->table : NULL, &hit)) {
        snprintf(r->load_status, sizeof(r->load_status), "fault:fe_down");
        return MHD_NO; /* FE down: close without an answer */
    }

    if (p->n == 2 && seg_is(p, 1, "health")) {
        if (get)
            return fe_health(conn, r);
        want = "GET";
    } else if (p->n == 2 && seg_is(p, 1, "bootstrap")) {
        if (get)
            return fe_bootstrap(conn, r);
        want = "GET";
    } else if (p->n == 2 && seg_is(p, 1, "backends")) {
        if (get)
            return fe_backends(conn, r);
        want = "GET";
    } else if (p->n == 4 && seg_is(p, 1, "query")) {
        if (post) {
            if (!fe_login(conn, r, &ret))
                return ret;
            r->mode = BODY_COLLECT;
            r->action = FINAL_QUERY;
            return MHD_YES;
        }
        want = "POST";
    } else if (p->n == 4 && seg_is(p, 1, "enable_light_schema_change")) {
        if (get) {
            if (!fe_login(conn, r, &ret))
                return ret;
            r->mode = BODY_COLLECT;
            r->action = FINAL_LIGHT_SCHEMA_CHANGE;
            return MHD_YES;
        }
        want = "GET";
    } else if (p->n == 4 && seg_is(p, 3, "_stream_load")) {
        if (put)
            return fe_stream_load(conn, r);
        want = "PUT";
    } else if ((p->n == 4 || p->n == 3) && seg_is(p, p->n - 1, "_stream_load_2pc")) {
        if (put)
            return fe_stream_load_2pc(conn, r);
        want = "PUT";
    } else if (p->n == 4 && seg_is(p, 3, "_schema")) {
        if (get)
            return fe_table_schema(conn, r);
        want = "GET";
    }
    if (want)
        return fe_spring_error(conn, r, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed");
    return fe_spring_error(conn, r, MHD_HTTP_NOT_FOUND, "Not Found");
}

/* ---- BE ----------------------------------------------------------------- */

/* Basic credentials and LOAD at the BE (the FE checks them in the begin
 * RPC). Returns NULL when allowed, else the Stream Load "Message". */
static const char *be_check_load(struct MHD_Connection *conn, struct req *r, char *msg, size_t cap)
{
    struct emu_server *s = r->dctx->srv;
    struct basic b;

    if (!parse_basic(conn, &b))
        return "[NOT_AUTHORIZED]no valid Basic authorization";
    snprintf(r->user, sizeof(r->user), "%s", b.user);
    if (!emu_auth_login(s->cfg.auth, b.user, b.password)) {
        snprintf(msg, cap,
                 "[ANALYSIS_ERROR]TStatus: errCode = 2, detailMessage = Access denied for user "
                 "'%s@%s' (using password: %s)",
                 b.user, s->cfg.host, b.password[0] ? "YES" : "NO");
        return msg;
    }
    if (!emu_auth_has(s->cfg.auth, b.user, EMU_PRIV_LOAD, r->db, r->table)) {
        snprintf(msg, cap,
                 "[ANALYSIS_ERROR]TStatus: errCode = 2, detailMessage = Access denied; you need "
                 "(at least one of) the LOAD privilege(s) for this operation");
        return msg;
    }
    return NULL;
}

static enum MHD_Result be_stream_load(struct MHD_Connection *conn, struct req *r)
{
    struct emu_server *s = r->dctx->srv;
    struct emu_load_env env;
    const char *denied;
    json_t *answer = NULL;
    char msg[700];

    denied = be_check_load(conn, r, msg, sizeof(msg));
    if (denied) {
        const char *label = header(conn, "label");
        char uuid[40];

        if (!label || !*label) {
            uuid_label(uuid, sizeof(uuid));
            label = uuid;
        }
        stat_add(&s->loads_failed, 1);
        return be_answer(conn, r, be_fail_answer(label, denied));
    }
    if (emu_faults_match(s->cfg.faults, false, r->db, r->table, &r->fault)) {
        if (r->fault.kind == EMU_FAULT_HTTP5XX) {
            char text[96];
            int n = snprintf(text, sizeof(text), "injected fault: HTTP %d\n", r->fault.status);

            snprintf(r->load_status, sizeof(r->load_status), "fault:http5xx");
            stat_add(&s->loads_failed, 1);
            return answer_raw(conn, r, (unsigned)r->fault.status, "text/plain", text, (size_t)n);
        }
    }
    memset(&env, 0, sizeof(env));
    env.store = s->cfg.store;
    env.be_host = s->cfg.host;
    env.be_port = s->be_port;
    env.max_body_mb = s->cfg.max_body_mb;
    env.json_max_mb = s->cfg.json_max_mb;
    r->load = emu_load_begin(&env, r->db, r->table, load_header, conn, &answer);
    if (!r->load) {
        if (!answer)
            answer = be_fail_answer(header(conn, "label") ? header(conn, "label") : "",
                                    "[INTERNAL_ERROR]load could not begin");
        record_load_answer(s, answer);
        return be_answer(conn, r, answer);
    }
    r->mode = BODY_LOAD;
    r->reset_at = r->fault.kind == EMU_FAULT_RESET ? r->fault.after_bytes : -1;
    return MHD_YES; /* no answer queued: libmicrohttpd sends 100 Continue */
}

/* One body chunk of a BE load. Returns MHD_NO to drop the connection. */
static enum MHD_Result be_load_data(struct req *r, const char *p, size_t n)
{
    struct emu_server *s = r->dctx->srv;

    r->body_bytes += (long long)n;
    stat_add(&s->bytes_received, (int64_t)n);
    if (r->fault.kind == EMU_FAULT_RESET) {
        if (r->reset_at < 0)
            r->reset_at = (long)(n / 2); /* default: half of the first chunk */
        if (r->body_bytes >= r->reset_at) {
            emu_load_abandon(r->load);
            r->load = NULL;
            snprintf(r->load_status, sizeof(r->load_status), "fault:reset");
            stat_add(&s->loads_failed, 1);
            return MHD_NO;
        }
    }
    if (r->fault.kind == EMU_FAULT_HANG)
        return MHD_YES; /* the body is read and dropped; nothing will be applied */
    emu_load_feed(r->load, p, n);
    return MHD_YES;
}

/* The end of a BE load body. */
static enum MHD_Result be_load_final(struct MHD_Connection *conn, struct req *r)
{
    struct emu_server *s = r->dctx->srv;
    struct emu_load *l = r->load;
    json_t *answer;

    r->load = NULL;
    switch (r->fault.kind) {
    case EMU_FAULT_RESET: /* the body ended before `after` bytes: close now */
    case EMU_FAULT_HANG:
        emu_load_abandon(l);
        stat_add(&s->loads_failed, 1);
        snprintf(r->load_status, sizeof(r->load_status), "fault:%s",
                 r->fault.kind == EMU_FAULT_HANG ? "hang" : "reset");
        if (r->fault.kind == EMU_FAULT_HANG)
            sleep_unless_stopping(s, r->fault.ms);
        return MHD_NO;
    case EMU_FAULT_E235:
    case EMU_FAULT_MEM_LIMIT:
    case EMU_FAULT_PUBLISH_TIMEOUT:
        answer = emu_load_finish(l, &r->fault);
        break;
    default:
        answer = emu_load_finish(l, NULL);
        break;
    }
    record_load_answer(s, answer);
    if (r->fault.kind == EMU_FAULT_LOST_ANSWER) {
        const char *status = json_string_value(json_object_get(answer, "Status"));

        snprintf(r->load_status, sizeof(r->load_status), "lost:%s", status ? status : "?");
        json_decref(answer);
        return MHD_NO;
    }
    if (r->fault.kind == EMU_FAULT_SLOW && sleep_unless_stopping(s, r->fault.ms)) {
        json_decref(answer);
        return MHD_NO;
    }
    return be_answer(conn, r, answer);
}

static enum MHD_Result be_stream_load_2pc(struct MHD_Connection *conn, struct req *r)
{
    struct emu_server *s = r->dctx->srv;
    const char *txn_hdr = header(conn, "txn_id");
    const char *label = header(conn, "label");
    const char *op = header(conn, "txn_operation");
    struct emu_err err = {"", ""};
    int64_t txn_id = -1;
    char msg[1100];
    struct basic b;

    if (!parse_basic(conn, &b))
        return be_status(conn, r, "NOT_AUTHORIZED", "no valid Basic authorization");
    snprintf(r->user, sizeof(r->user), "%s", b.user);
    if (txn_hdr && *txn_hdr) {
        char *end;

        errno = 0;
        txn_id = strtoll(txn_hdr, &end, 10);
        if (errno || end == txn_hdr || *end || txn_id < 0) {
            snprintf(msg, sizeof(msg), "convert txn_id [%s] failed, reason=stoull", txn_hdr);
            return be_status(conn, r, "INTERNAL_ERROR", msg);
        }
    } else if (!label || !*label) {
        return be_status(conn, r, "INTERNAL_ERROR", "No transaction id or label selected.");
    }
    if (!op || (strcmp(op, "commit") != 0 && strcmp(op, "abort") != 0))
        return be_status(conn, r, "INTERNAL_ERROR",
                         "transaction operation should be 'commit' or 'abort'");
    if (!emu_auth_login(s->cfg.auth, b.user, b.password)) {
        snprintf(msg, sizeof(msg),
                 "errCode = 2, detailMessage = Access denied for user '%s@%s' (using password: "
                 "%s)",
                 b.user, s->cfg.host, b.password[0] ? "YES" : "NO");
        return be_status(conn, r, "ANALYSIS_ERROR", msg);
    }
    if (!emu_auth_has(s->cfg.auth, b.user, EMU_PRIV_LOAD, r->db, r->table)) {
        return be_status(conn, r, "ANALYSIS_ERROR",
                         "errCode = 2, detailMessage = Access denied; you need (at least one of) "
                         "the LOAD privilege(s) for this operation");
    }
    if (emu_store_txn_2pc(s->cfg.store, r->db, txn_id, txn_id >= 0 ? NULL : label,
                          strcmp(op, "commit") == 0, msg, sizeof(msg), &err) < 0)
        return be_status(conn, r, err.code[0] ? err.code : "INTERNAL_ERROR", err.msg);
    return be_status(conn, r, "Success", msg);
}

static enum MHD_Result be_error_log(struct MHD_Connection *conn, struct req *r)
{
    struct emu_server *s = r->dctx->srv;
    const char *file = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "file");
    size_t len = 0;
    char *text = file ? emu_store_error_log_get(s->cfg.store, file, &len) : NULL;
    enum MHD_Result ret;

    if (!text) {
        static const char missing[] = "File not found\n";

        return answer_raw(conn, r, MHD_HTTP_NOT_FOUND, "text/plain", missing, sizeof(missing) - 1);
    }
    ret = answer_raw(conn, r, MHD_HTTP_OK, "text/plain; charset=utf-8", text, len);
    free(text);
    return ret;
}

static enum MHD_Result be_route(struct MHD_Connection *conn, struct req *r, const struct path *p)
{
    bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    bool put = strcmp(r->method, "PUT") == 0;
    static const char not_found[] = "Not Found";

    if (seg_is(p, 0, "api")) {
        if (p->n == 2 && seg_is(p, 1, "health") && get) {
            static const char body[] = "{\"status\": \"OK\",\"msg\": \"To Be Added\"}";

            return answer_raw(conn, r, MHD_HTTP_OK, "application/json", body, sizeof(body) - 1);
        }
        if (p->n == 2 && seg_is(p, 1, "_load_error_log") && get)
            return be_error_log(conn, r);
        if (p->n == 4 && seg_is(p, 3, "_stream_load") && put) {
            snprintf(r->db, sizeof(r->db), "%s", p->seg[1]);
            snprintf(r->table, sizeof(r->table), "%s", p->seg[2]);
            return be_stream_load(conn, r);
        }
        if ((p->n == 3 || p->n == 4) && seg_is(p, p->n - 1, "_stream_load_2pc") && put) {
            snprintf(r->db, sizeof(r->db), "%s", p->seg[1]);
            if (p->n == 4)
                snprintf(r->table, sizeof(r->table), "%s", p->seg[2]);
            return be_stream_load_2pc(conn, r);
        }
    }
    return answer_raw(conn, r, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof(not_found) - 1);
}

/* ---- libmicrohttpd callbacks -------------------------------------------- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct req *r = calloc(1, sizeof(*r));

    if (!r)
        abort();
    r->dctx = cls;
    r->raw_uri = strdup(uri ? uri : "");
    if (!r->raw_uri)
        abort();
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    emu_buf_init(&r->body);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct daemon_ctx *d = cls;
    struct req *r = *con_cls;

    if (!r) {
        r = on_uri(d, url, conn);
        *con_cls = r;
    }
    if (!r->started) {
        struct path p;

        r->started = true;
        stat_add(&d->srv->requests, 1);
        snprintf(r->method, sizeof(r->method), "%s", method);
        snprintf(r->path, sizeof(r->path), "%s", url);
        if (!split_path(url, &p)) {
            if (d->role == ROLE_FE)
                return fe_spring_error(conn, r, MHD_HTTP_NOT_FOUND, "Not Found");
            return answer_raw(conn, r, MHD_HTTP_NOT_FOUND, "text/plain", "Not Found", 9);
        }
        return d->role == ROLE_FE ? fe_route(conn, r, &p) : be_route(conn, r, &p);
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        switch (r->mode) {
        case BODY_LOAD:
            return be_load_data(r, upload_data, n);
        case BODY_COLLECT:
            if (r->body.len + n > SMALL_BODY_MAX)
                return MHD_NO;
            emu_buf_append(&r->body, upload_data, n);
            return MHD_YES;
        case BODY_NONE:
            return MHD_YES;
        }
        return MHD_YES;
    }
    if (r->answered)
        return MHD_YES;
    if (r->mode == BODY_LOAD)
        return be_load_final(conn, r);
    switch (r->action) {
    case FINAL_QUERY:
        return fe_query_final(conn, r);
    case FINAL_LIGHT_SCHEMA_CHANGE:
        return fe_light_schema_change_final(conn, r);
    case FINAL_FAULT_ADD:
        return admin_fault_add_final(conn, r);
    case FINAL_NOTHING:
        break;
    }
    return MHD_NO;
}

static const char *term_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "ok";
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
        return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read-error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client-abort";
    }
    return "?";
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct daemon_ctx *d = cls;
    struct emu_server *s = d->srv;
    struct req *r = *con_cls;

    if (!r)
        return;
    *con_cls = NULL;
    if (r->load) {
        /* The connection went away before the body ended: nothing is applied. */
        emu_load_abandon(r->load);
        r->load = NULL;
        stat_add(&s->loads_failed, 1);
        if (!r->load_status[0])
            snprintf(r->load_status, sizeof(r->load_status), "abandoned");
    }
    if (s->cfg.log && r->started) {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;

        localtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
        pthread_mutex_lock(&s->log_mu);
        fprintf(s->cfg.log, "%s %s %s %s user=%s status=%u in=%lld out=%zu ms=%.1f%s%s%s%s%s\n",
                stamp, d->role == ROLE_FE ? "fe" : "be", r->method, r->path,
                r->user[0] ? r->user : "-", r->status, r->body_bytes + (long long)r->body.len,
                r->resp_bytes, ms_since(&r->t0), r->load_status[0] ? " load=\"" : "",
                r->load_status, r->load_status[0] ? "\"" : "",
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " end=",
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : term_name(toe));
        fflush(s->cfg.log);
        pthread_mutex_unlock(&s->log_mu);
    }
    emu_buf_fini(&r->body);
    free(r->raw_uri);
    free(r);
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    struct emu_server *s = cls;

    pthread_mutex_lock(&s->log_mu);
    fputs("doris-emu: libmicrohttpd: ", s->cfg.errlog);
    vfprintf(s->cfg.errlog, fmt, ap);
    fflush(s->cfg.errlog);
    pthread_mutex_unlock(&s->log_mu);
}

/* ---- start / stop ------------------------------------------------------- */

static struct MHD_Daemon *start_daemon(struct emu_server *s, struct daemon_ctx *d, int port,
                                       int *bound, struct emu_err *err)
{
    struct sockaddr_in addr;
    struct MHD_Daemon *daemon;
    const union MHD_DaemonInfo *info;

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, s->cfg.host, &addr.sin_addr) != 1) {
        emu_err_set(err, "http", "\"%s\" is not an IPv4 address\nhint: use --host 127.0.0.1",
                    s->cfg.host);
        return NULL;
    }
    daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
            MHD_USE_POLL,
        0, NULL, NULL, on_request, d, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_URI_LOG_CALLBACK, on_uri, d,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, d, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(d->role == ROLE_FE ? FE_CONN_MEMORY_LIMIT : CONN_MEMORY_LIMIT),
        MHD_OPTION_CONNECTION_MEMORY_INCREMENT, (size_t)(64 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)256, MHD_OPTION_END);
    if (!daemon) {
        emu_err_set(err, "http", "could not listen on %s:%d (%s)\nhint: pick another port",
                    s->cfg.host, port, strerror(errno ? errno : EADDRINUSE));
        return NULL;
    }
    info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    *bound = info ? (int)info->port : port;
    return daemon;
}

struct emu_server *emu_server_start(const struct emu_server_config *cfg, struct emu_err *err)
{
    struct emu_server *s = calloc(1, sizeof(*s));

    if (!s)
        abort();
    s->cfg = *cfg;
    pthread_mutex_init(&s->stop_mu, NULL);
    pthread_cond_init(&s->stop_cv, NULL);
    pthread_mutex_init(&s->log_mu, NULL);
    s->fe_ctx.srv = s;
    s->fe_ctx.role = ROLE_FE;
    s->be_ctx.srv = s;
    s->be_ctx.role = ROLE_BE;
    /* The BE first: the FE's 307 names the BE's bound port. */
    s->be = start_daemon(s, &s->be_ctx, cfg->be_port, &s->be_port, err);
    if (!s->be)
        goto fail;
    s->fe = start_daemon(s, &s->fe_ctx, cfg->fe_port, &s->fe_port, err);
    if (!s->fe)
        goto fail;
    return s;
fail:
    emu_server_stop(s);
    return NULL;
}

int emu_server_fe_port(const struct emu_server *s)
{
    return s->fe_port;
}

int emu_server_be_port(const struct emu_server *s)
{
    return s->be_port;
}

void emu_server_stop(struct emu_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->stop_mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->stop_cv);
    pthread_mutex_unlock(&s->stop_mu);
    if (s->fe)
        MHD_stop_daemon(s->fe);
    if (s->be)
        MHD_stop_daemon(s->be);
    pthread_mutex_destroy(&s->log_mu);
    pthread_cond_destroy(&s->stop_cv);
    pthread_mutex_destroy(&s->stop_mu);
    free(s);
}
