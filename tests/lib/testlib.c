/*
 * testlib.c - assertions, libcurl requests and small helpers for tests.
 */
#include "testlib.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

int t_passed;
int t_failed;

void t_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    t_failed++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int t_done(void)
{
    printf("%d passed, %d failed\n", t_passed, t_failed);
    return t_failed == 0 && t_passed > 0 ? 0 : 1;
}

const char *t_env(const char *name)
{
    const char *v = getenv(name);

    if (!v || !*v) {
        fprintf(stderr,
                "test: environment variable \"%s\" is not set\n"
                "hint: run integration tests through tests/harness/with-env.sh\n",
                name);
        exit(2);
    }
    return v;
}

int t_env_int(const char *name)
{
    return atoi(t_env(name));
}

struct growbuf {
    char *p;
    size_t n;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *userp)
{
    struct growbuf *g = userp;
    size_t len = size * nmemb;
    char *np = realloc(g->p, g->n + len + 1);

    if (!np)
        return 0;
    g->p = np;
    memcpy(g->p + g->n, data, len);
    g->n += len;
    g->p[g->n] = '\0';
    return len;
}

static size_t collect_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct growbuf *g = userp;
    size_t len = size * nmemb;

    /* A new status line starts a new response (after 100 or 307): keep the last. */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0 && g->p) {
        free(g->p);
        g->p = NULL;
        g->n = 0;
    }
    return collect(data, size, nmemb, userp);
}

struct body_src {
    const char *p;
    size_t n;
    size_t off;
};

static size_t feed_body(char *buf, size_t size, size_t nmemb, void *userp)
{
    struct body_src *s = userp;
    size_t room = size * nmemb;
    size_t left = s->n - s->off;
    size_t k = left < room ? left : room;

    memcpy(buf, s->p + s->off, k);
    s->off += k;
    return k;
}

static int seek_body(void *userp, curl_off_t offset, int origin)
{
    struct body_src *s = userp;

    if (origin != SEEK_SET || offset < 0 || (size_t)offset > s->n)
        return CURL_SEEKFUNC_FAIL;
    s->off = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

void t_http(const struct t_req *req, struct t_resp *resp)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    struct growbuf body = {0}, head = {0};
    struct body_src src = {req->body ? req->body : "", req->body ? req->body_len : 0, 0};
    char errbuf[CURL_ERROR_SIZE] = "";

    memset(resp, 0, sizeof(*resp));
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method ? req->method : "GET");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 30000L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &head);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (req->userpwd) {
        curl_easy_setopt(h, CURLOPT_USERPWD, req->userpwd);
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    }
    if (req->follow) {
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 1L);
    }
    for (int i = 0; i < 64 && req->headers[i]; i++)
        hdrs = curl_slist_append(hdrs, req->headers[i]);
    if (req->body) {
        const char *m = req->method ? req->method : "PUT";

        if (strcmp(m, "PUT") == 0) {
            curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(h, CURLOPT_READFUNCTION, feed_body);
            curl_easy_setopt(h, CURLOPT_READDATA, &src);
            curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_body);
            curl_easy_setopt(h, CURLOPT_SEEKDATA, &src);
            if (req->chunked)
                hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
            else
                curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)src.n);
        } else {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)src.n);
        }
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

    resp->curl_code = (int)curl_easy_perform(h);
    if (resp->curl_code == CURLE_OK || resp->curl_code == CURLE_HTTP_RETURNED_ERROR)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    snprintf(resp->curl_error, sizeof(resp->curl_error), "%s", errbuf);
    if (resp->curl_code != CURLE_OK && !resp->curl_error[0])
        snprintf(resp->curl_error, sizeof(resp->curl_error), "%s",
                 curl_easy_strerror((CURLcode)resp->curl_code));
    {
        char *loc = NULL;

        if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
            resp->location = strdup(loc);
    }
    resp->body = body.p ? body.p : strdup("");
    resp->body_len = body.n;
    resp->headers = head.p ? head.p : strdup("");
    resp->json = json_loadb(resp->body, resp->body_len, JSON_DECODE_ANY, NULL);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
}

void t_resp_free(struct t_resp *resp)
{
    free(resp->body);
    free(resp->headers);
    free(resp->location);
    json_decref(resp->json);
    memset(resp, 0, sizeof(*resp));
}

char *t_json_keys(const json_t *obj)
{
    size_t cap = 1024, len = 0;
    char *out = calloc(1, cap);
    const char *key;
    json_t *val;

    if (!json_is_object(obj))
        return out;
    json_object_foreach((json_t *)obj, key, val)
    {
        size_t k = strlen(key);

        (void)val;
        while (len + k + 2 > cap)
            out = realloc(out, cap *= 2);
        if (len)
            out[len++] = ',';
        memcpy(out + len, key, k);
        len += k;
        out[len] = '\0';
    }
    return out;
}

const char *t_json_str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long t_json_int(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? json_integer_value(v) : -1;
}

char *t_sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    FILE *f;
    struct growbuf g = {0};
    char buf[4096];
    size_t k;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    f = popen(cmd, "r");
    if (!f)
        return strdup("");
    while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
        collect(buf, 1, k, &g);
    pclose(f);
    if (!g.p)
        return strdup("");
    while (g.n > 0 && g.p[g.n - 1] == '\n')
        g.p[--g.n] = '\0';
    return g.p;
}
