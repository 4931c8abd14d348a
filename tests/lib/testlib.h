/*
 * testlib.h - the one assert header for pg2doris tests, plus real HTTP
 * through libcurl and environment lookup for integration tests.
 *
 * Assertions print both sides and the location, count the failure, and let
 * the test go on; a test's main ends with `return t_done();`, which prints
 * "N passed, N failed" and gives the exit code.
 */
#ifndef P2D_TESTLIB_H
#define P2D_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

extern int t_passed;
extern int t_failed;

void t_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int t_done(void);

#define T_CHECK(cond)                                                                              \
    do {                                                                                           \
        if (cond)                                                                                  \
            t_passed++;                                                                            \
        else                                                                                       \
            t_fail_at(__FILE__, __LINE__, "check failed: %s", #cond);                              \
    } while (0)

#define T_EQ_INT(got, want)                                                                        \
    do {                                                                                           \
        long long t_g_ = (long long)(got), t_w_ = (long long)(want);                               \
        if (t_g_ == t_w_)                                                                          \
            t_passed++;                                                                            \
        else                                                                                       \
            t_fail_at(__FILE__, __LINE__, "%s == %s: got %lld, want %lld", #got, #want, t_g_,      \
                      t_w_);                                                                       \
    } while (0)

#define T_EQ_STR(got, want)                                                                        \
    do {                                                                                           \
        const char *t_g_ = (got), *t_w_ = (want);                                                  \
        if (t_g_ && t_w_ && strcmp(t_g_, t_w_) == 0)                                               \
            t_passed++;                                                                            \
        else                                                                                       \
            t_fail_at(__FILE__, __LINE__, "%s == %s:\n  got  \"%s\"\n  want \"%s\"", #got, #want,  \
                      t_g_ ? t_g_ : "(null)", t_w_ ? t_w_ : "(null)");                             \
    } while (0)

/* got contains want as a substring */
#define T_HAS_STR(got, want)                                                                       \
    do {                                                                                           \
        const char *t_g_ = (got), *t_w_ = (want);                                                  \
        if (t_g_ && t_w_ && strstr(t_g_, t_w_))                                                    \
            t_passed++;                                                                            \
        else                                                                                       \
            t_fail_at(__FILE__, __LINE__, "%s contains %s:\n  got  \"%s\"\n  want \"%s\"", #got,   \
                      #want, t_g_ ? t_g_ : "(null)", t_w_ ? t_w_ : "(null)");                      \
    } while (0)

/* Environment variable, or abort the test with a clear message. */
const char *t_env(const char *name);
int t_env_int(const char *name);

/* ---- HTTP through libcurl ---------------------------------------------- */

struct t_resp {
    long status; /* HTTP status of the final response, 0 on transport error */
    char *body;  /* NUL-terminated */
    size_t body_len;
    char *headers;  /* raw header block(s) of the final response */
    char *location; /* Location header, if any */
    char curl_error[256];
    int curl_code;
    json_t *json; /* body parsed (NULL if not JSON); keys keep their order */
};

struct t_req {
    const char *method; /* "GET", "PUT", "POST", ... */
    const char *url;
    const char *userpwd;     /* "user:pass" for Basic auth, NULL for none */
    const char *headers[64]; /* "Name: value" strings, NULL-terminated */
    const char *body;        /* may be NULL */
    size_t body_len;
    bool chunked;    /* send body with Transfer-Encoding: chunked */
    bool follow;     /* follow 307 with credentials (--location-trusted) */
    long timeout_ms; /* default 30000 */
};

/* Performs the request. Always returns (status 0 on transport errors). */
void t_http(const struct t_req *req, struct t_resp *resp);
void t_resp_free(struct t_resp *resp);

/* Keys of a JSON object in order, joined with ',' (for key-order checks). */
char *t_json_keys(const json_t *obj);
/* Member as string / integer (NULL / -1 when missing or of another type). */
const char *t_json_str(const json_t *obj, const char *key);
long long t_json_int(const json_t *obj, const char *key);

/* Runs a shell command and returns its stdout (malloc'd, trailing newline removed). */
char *t_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
