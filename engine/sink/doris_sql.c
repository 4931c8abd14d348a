/*
 * doris_sql.c - SQL over the FE's HTTP port (see doris_sql.h).
 *
 * Uses the non-streaming answer shape (X-Doris-Stream: false), whose
 * success and failure bodies are one JSON object each (§6.1).
 */
#include "sink/doris_sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "p2d_error.h"

struct p2d_doris_sql {
    struct p2d_dest dest;
    CURL *curl;
    long timeout_ms;
    char *body;
    size_t body_len;
    size_t body_cap;
};

struct p2d_doris_sql *p2d_doris_sql_create(const struct p2d_dest *dest, long timeout_ms)
{
    struct p2d_doris_sql *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->dest = *dest;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 60000;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return NULL;
    }
    return c;
}

void p2d_doris_sql_destroy(struct p2d_doris_sql *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c->body);
    free(c);
}

static size_t collect(char *data, size_t size, size_t nmemb, void *userp)
{
    struct p2d_doris_sql *c = userp;
    size_t n = size * nmemb;

    /* An answer larger than 256 MiB is not one we asked for. */
    if (c->body_len + n + 1 > (size_t)256 << 20)
        return 0;
    if (c->body_len + n + 1 > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        char *p;

        while (cap < c->body_len + n + 1)
            cap *= 2;
        p = realloc(c->body, cap);
        if (!p)
            return 0;
        c->body = p;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, data, n);
    c->body_len += n;
    c->body[c->body_len] = '\0';
    return n;
}

static int failed(enum p2d_doris_fail why, enum p2d_doris_fail *fail, char *err, size_t errlen,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int failed(enum p2d_doris_fail why, enum p2d_doris_fail *fail, char *err, size_t errlen,
                  const char *fmt, ...)
{
    va_list ap;

    if (fail)
        *fail = why;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return why == P2D_DORIS_TRANSPORT ? P2D_ERETRY : P2D_EDEST;
}

int p2d_doris_sql_exec(struct p2d_doris_sql *c, const char *db, const char *stmt, json_t **data,
                       enum p2d_doris_fail *fail, char *err, size_t errlen)
{
    char url[1024], *escaped_db, *payload;
    struct curl_slist *hdrs = NULL;
    json_t *req, *ans, *code;
    CURLcode rc;
    long http = 0;
    char ebuf[CURL_ERROR_SIZE] = "";

    if (fail)
        *fail = P2D_DORIS_OK;
    if (data)
        *data = NULL;
    escaped_db = curl_easy_escape(c->curl, db, 0);
    snprintf(url, sizeof(url), "%s/api/query/default_cluster/%s", c->dest.base_url,
             escaped_db ? escaped_db : db);
    curl_free(escaped_db);
    req = json_pack("{s:s}", "stmt", stmt);
    payload = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!payload)
        return failed(P2D_DORIS_PROTOCOL, fail, err, errlen, "statement is not valid UTF-8");
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "X-Doris-Stream: false");
    c->body_len = 0;
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c->curl, CURLOPT_USERNAME, c->dest.user);
    curl_easy_setopt(c->curl, CURLOPT_PASSWORD, c->dest.password);
    curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, ebuf);
    rc = curl_easy_perform(c->curl);
    curl_slist_free_all(hdrs);
    free(payload);
    if (rc != CURLE_OK)
        return failed(P2D_DORIS_TRANSPORT, fail, err, errlen, "cannot reach the Doris FE at %s: %s",
                      c->dest.base_url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &http);
    ans = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
    code = json_object_get(ans, "code");
    if (!ans || !json_is_integer(code)) {
        json_decref(ans);
        return failed(P2D_DORIS_PROTOCOL, fail, err, errlen,
                      "the Doris FE answered HTTP %ld without the expected JSON (%s); hint: is "
                      "--dest the FE http port?",
                      http, c->body_len ? "unexpected body" : "empty body");
    }
    if (json_integer_value(code) == 401) {
        json_decref(ans);
        return failed(P2D_DORIS_AUTH, fail, err, errlen,
                      "the Doris FE refused user \"%s\": wrong user name or password%s",
                      c->dest.user, "; hint: check --dest or PG2DORIS_DEST_PASSWORD");
    }
    if (json_integer_value(code) != 0) {
        json_t *d = json_object_get(ans, "data");
        const char *text = json_is_string(d) ? json_string_value(d) : "(no detail)";

        if (fail)
            *fail = P2D_DORIS_SQL;
        snprintf(err, errlen, "Doris refused the statement: %s", text);
        json_decref(ans);
        return P2D_EDEST;
    }
    if (data)
        *data = json_incref(json_object_get(ans, "data"));
    json_decref(ans);
    return 0;
}

json_t *p2d_doris_rows(json_t *data)
{
    json_t *rows = json_object_get(data, "data");

    return json_is_array(rows) ? rows : NULL;
}

void p2d_doris_quote_ident(const char *name, char *out, size_t outlen)
{
    size_t o = 0;

    if (outlen < 3) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    out[o++] = '`';
    for (; *name && o + 3 < outlen; name++) {
        if (*name == '`')
            out[o++] = '`';
        out[o++] = *name;
    }
    out[o++] = '`';
    out[o] = '\0';
}
