/*
 * streamload.c - Stream Load answers and labels (see streamload.h).
 */
#include "sink/streamload.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

static void copy_str(json_t *obj, const char *key, char *out, size_t outlen)
{
    json_t *v = json_object_get(obj, key);

    out[0] = '\0';
    if (json_is_string(v))
        snprintf(out, outlen, "%s", json_string_value(v));
}

static int64_t get_int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static int has(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* Failures worth retrying with the same label after a backoff (§2.4). */
static int transient_message(const char *m)
{
    return has(m, "[E-235]") || has(m, "[E-238]") || has(m, "[MEM_LIMIT_EXCEEDED]") ||
           has(m, "[TIMEOUT]") || (has(m, "[CANCELLED]") && has(m, "timeout")) ||
           has(m, "is blocked on schema change") || has(m, "There is no space for group commit") ||
           has(m, "[NETWORK_ERROR]") || has(m, "[TOO_MANY_TASKS]") ||
           has(m, "[SERVICE_UNAVAILABLE]");
}

enum p2d_load_outcome p2d_streamload_decode(long http, const char *body, size_t n,
                                            struct p2d_load_answer *a)
{
    json_t *j;
    json_error_t jerr;

    memset(a, 0, sizeof(*a));
    a->txn_id = -1;
    j = n ? json_loadb(body, n, 0, &jerr) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        if (http >= 500 || http == 0 || n == 0) {
            snprintf(a->message, sizeof(a->message), "HTTP %ld with %s", http,
                     n ? "a body that is not JSON" : "no body");
            a->outcome = P2D_LOAD_RETRY;
        } else {
            snprintf(a->message, sizeof(a->message),
                     "HTTP %ld with a body that is not a Stream Load answer: %.200s", http, body);
            a->outcome = P2D_LOAD_FATAL;
        }
        return a->outcome;
    }
    copy_str(j, "Status", a->status, sizeof(a->status));
    if (!a->status[0]) {
        /* FE answers: {"msg":"Unauthorized","code":401,...} or RestBaseResult. */
        json_t *code = json_object_get(j, "code");
        char msg[512], data[512], st[32];

        copy_str(j, "msg", msg, sizeof(msg));
        copy_str(j, "data", data, sizeof(data));
        copy_str(j, "status", st, sizeof(st));
        if (json_is_integer(code) && json_integer_value(code) == 401)
            snprintf(a->message, sizeof(a->message), "authentication failed: %s", data);
        else
            snprintf(a->message, sizeof(a->message), "%s%s%s", st[0] ? st : "answer", ": ",
                     msg[0] ? msg : data);
        a->outcome = http >= 500 ? P2D_LOAD_RETRY : P2D_LOAD_FATAL;
        json_decref(j);
        return a->outcome;
    }
    copy_str(j, "ExistingJobStatus", a->existing, sizeof(a->existing));
    copy_str(j, "Message", a->message, sizeof(a->message));
    copy_str(j, "ErrorURL", a->error_url, sizeof(a->error_url));
    copy_str(j, "FirstErrorMsg", a->first_error, sizeof(a->first_error));
    a->txn_id = get_int(j, "TxnId");
    a->total_rows = get_int(j, "NumberTotalRows");
    a->loaded_rows = get_int(j, "NumberLoadedRows");
    a->filtered_rows = get_int(j, "NumberFilteredRows");
    a->load_bytes = get_int(j, "LoadBytes");
    a->load_time_ms = get_int(j, "LoadTimeMs");
    json_decref(j);

    if (strcmp(a->status, "Success") == 0 || strcmp(a->status, "Publish Timeout") == 0)
        a->outcome = P2D_LOAD_DONE;
    else if (strcmp(a->status, "Label Already Exists") == 0) {
        if (strcmp(a->existing, "FINISHED") == 0)
            a->outcome = P2D_LOAD_DONE;
        else if (strcmp(a->existing, "PRECOMMITTED") == 0)
            a->outcome = P2D_LOAD_PRECOMMITTED;
        else /* RUNNING, or empty (an old bug): the earlier try may still finish */
            a->outcome = P2D_LOAD_WAIT_RUNNING;
    } else if (has(a->message, "too many filtered rows") ||
               has(a->message, "[DATA_QUALITY_ERROR]") || a->error_url[0])
        a->outcome = P2D_LOAD_BAD_DATA;
    else if (transient_message(a->message))
        a->outcome = P2D_LOAD_RETRY;
    else
        a->outcome = P2D_LOAD_FATAL;
    return a->outcome;
}

const char *p2d_load_outcome_name(enum p2d_load_outcome o)
{
    static const char *const names[] = {"done",  "wait-running", "precommitted",
                                        "retry", "bad-data",     "fatal"};

    return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "unknown";
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* Copies s into out replacing bytes outside [-_A-Za-z0-9] by '_'. */
static size_t sanitize(const char *s, size_t max, char *out)
{
    size_t i;

    for (i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_';

        out[i] = ok ? (char)c : '_';
    }
    out[i] = '\0';
    return i;
}

void p2d_streamload_label(const char *job, const char *table, int64_t part, int64_t seq, char *out,
                          size_t outlen)
{
    char j[33], t[129], tail[64];
    size_t tail_len, room;
    int exact;

    sanitize(job, 32, j);
    snprintf(tail, sizeof(tail), "_%lld_%lld", (long long)part, (long long)seq);
    tail_len = strlen(tail);
    /* "p2d_" + job + "_" + table + tail <= 128 */
    room = 128 - 4 - strlen(j) - 1 - tail_len;
    exact = strlen(table) <= room;
    for (const char *p = table; *p && exact; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            exact = 0;
    if (exact) {
        sanitize(table, room, t);
    } else {
        /* Shortened or rewritten names get a hash of the original, so that
         * "a.b" and "a_b" (or two long names sharing a prefix) differ. */
        size_t keep = room > 9 ? room - 9 : 0;

        sanitize(table, keep, t);
        snprintf(t + strlen(t), sizeof(t) - strlen(t), "-%08x", fnv1a(table));
    }
    snprintf(out, outlen, "p2d_%s_%s%s", j, t, tail);
}
