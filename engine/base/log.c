/*
 * log.c - text or JSON-lines logging with secrets masked (see log.h).
 */
#include "base/log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum p2d_log_level min_level = P2D_LOG_INFO;
static enum p2d_log_format log_format = P2D_LOG_TEXT;
static int log_fd = STDERR_FILENO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void p2d_log_setup(enum p2d_log_level level, enum p2d_log_format format, int fd)
{
    min_level = level;
    log_format = format;
    if (fd >= 0)
        log_fd = fd;
}

int p2d_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return P2D_LOG_WARN;
    return -1;
}

int p2d_log_format_parse(const char *s)
{
    if (strcasecmp(s, "text") == 0)
        return P2D_LOG_TEXT;
    if (strcasecmp(s, "json") == 0)
        return P2D_LOG_JSON;
    return -1;
}

/* Appends at most n bytes of p to out[*len] (cap outlen, NUL kept). */
static void put(char *out, size_t outlen, size_t *len, const char *p, size_t n)
{
    if (*len + 1 >= outlen)
        return;
    if (n > outlen - 1 - *len)
        n = outlen - 1 - *len;
    memcpy(out + *len, p, n);
    *len += n;
    out[*len] = '\0';
}

static bool starts_with_ci(const char *p, const char *word)
{
    return strncasecmp(p, word, strlen(word)) == 0;
}

/* Length of a libpq value starting at p: quoted ('...' with \' escapes) or
 * up to the next space. */
static size_t conninfo_value_len(const char *p)
{
    size_t i = 0;

    if (p[0] == '\'') {
        for (i = 1; p[i] && p[i] != '\''; i++)
            if (p[i] == '\\' && p[i + 1])
                i++;
        return p[i] ? i + 1 : i;
    }
    while (p[i] && !isspace((unsigned char)p[i]))
        i++;
    return i;
}

char *p2d_log_mask_secrets(const char *text, char *out, size_t outlen)
{
    static const char *const assigns[] = {"password", "PGPASSWORD", "PG2DORIS_DEST_PASSWORD"};
    size_t len = 0;
    const char *p = text;

    if (outlen == 0)
        return out;
    out[0] = '\0';
    while (*p) {
        bool masked = false;

        /* keyword = value forms; the keyword must start a word */
        if (p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_')) {
            for (size_t k = 0; k < sizeof(assigns) / sizeof(assigns[0]) && !masked; k++) {
                size_t wl = strlen(assigns[k]);
                const char *q = p + wl;

                if (!starts_with_ci(p, assigns[k]))
                    continue;
                while (*q == ' ')
                    q++;
                if (*q != '=')
                    continue;
                q++;
                while (*q == ' ')
                    q++;
                put(out, outlen, &len, p, (size_t)(q - p));
                put(out, outlen, &len, "****", 4);
                p = q + conninfo_value_len(q);
                masked = true;
            }
        }
        /* scheme://user:password@host */
        if (!masked && p[0] == ':' && p[1] == '/' && p[2] == '/') {
            const char *auth = p + 3;
            size_t span = strcspn(auth, "/?# \t\n'\"");
            const char *at = memchr(auth, '@', span);

            if (at) {
                /* the last '@' of the authority ends the userinfo */
                const char *last_at = at, *colon;

                while ((at = memchr(at + 1, '@', span - (size_t)(at + 1 - auth))) != NULL)
                    last_at = at;
                colon = memchr(auth, ':', (size_t)(last_at - auth));
                if (colon) {
                    put(out, outlen, &len, p, (size_t)(colon + 1 - p));
                    put(out, outlen, &len, "****", 4);
                    p = last_at;
                    masked = true;
                }
            }
        }
        if (!masked)
            put(out, outlen, &len, p++, 1);
    }
    return out;
}

/* JSON string body escaping into out. */
static void put_json_escaped(char *out, size_t outlen, size_t *len, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(out, outlen, len, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(out, outlen, len, esc, 6);
        } else {
            put(out, outlen, len, (const char *)&c, 1);
        }
    }
}

void p2d_log(enum p2d_log_level level, const char *module, const char *fmt, ...)
{
    char raw[4096], msg[4096], line[8192 + 256], stamp[64];
    size_t len = 0;
    struct timeval tv;
    struct tm tm;
    va_list ap;
    ssize_t w;

    if (level < min_level)
        return;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    p2d_log_mask_secrets(raw, msg, sizeof(msg));
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
    line[0] = '\0';
    if (log_format == P2D_LOG_JSON) {
        put(line, sizeof(line), &len, "{\"ts\":\"", 7);
        put(line, sizeof(line), &len, stamp, strlen(stamp));
        put(line, sizeof(line), &len, "\",\"level\":\"", 11);
        put(line, sizeof(line), &len, level_names[level], strlen(level_names[level]));
        put(line, sizeof(line), &len, "\",\"module\":\"", 12);
        put_json_escaped(line, sizeof(line), &len, module);
        put(line, sizeof(line), &len, "\",\"msg\":\"", 9);
        put_json_escaped(line, sizeof(line), &len, msg);
        put(line, sizeof(line), &len, "\"}\n", 3);
    } else {
        len = (size_t)snprintf(line, sizeof(line), "%s %-5s %s: %s\n", stamp, level_names[level],
                               module, msg);
        if (len >= sizeof(line))
            len = sizeof(line) - 1;
    }
    w = write(log_fd, line, len);
    (void)w; /* nowhere left to report a failing log write */
}
