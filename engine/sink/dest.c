/*
 * dest.c - parsing of the --dest URL (see dest.h).
 */
#include "sink/dest.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "p2d_error.h"

/* Percent-decodes p[0..n) into out (size outlen); false if too long or bad. */
static bool decode(const char *p, size_t n, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = p[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= n)
                return false;
            hi = p2d_hex_digit(p[i + 1]);
            lo = p2d_hex_digit(p[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= outlen)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, (size_t)errlen, __VA_ARGS__);                                                \
        return P2D_EINVAL;                                                                         \
    } while (0)

int p2d_dest_parse(const char *url, const char *env_password, struct p2d_dest *d, char *err,
                   int errlen)
{
    const char *p, *auth_end, *at, *host, *host_end, *colon, *path;
    const char *hint = "expected http[s]://USER[:PASSWORD]@FE_HOST:PORT/DATABASE";
    char portbuf[16];
    long port;
    char *end;

    memset(d, 0, sizeof(*d));
    if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else if (strncmp(url, "https://", 8) == 0) {
        d->tls = true;
        p = url + 8;
    } else {
        FAIL("invalid --dest: scheme must be http or https; %s", hint);
    }
    auth_end = p + strcspn(p, "/?#");
    at = NULL;
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@')
            at = q; /* the last '@' ends the userinfo */
    if (!at)
        FAIL("invalid --dest: no user name; %s", hint);
    colon = memchr(p, ':', (size_t)(at - p));
    if (!decode(p, (size_t)((colon ? colon : at) - p), d->user, sizeof(d->user)) || !d->user[0])
        FAIL("invalid --dest: bad or empty user name; %s", hint);
    if (colon && !decode(colon + 1, (size_t)(at - colon - 1), d->password, sizeof(d->password)))
        FAIL("invalid --dest: bad percent-encoding in the password");
    if (env_password && *env_password && !d->password[0]) {
        if (strlen(env_password) >= sizeof(d->password))
            FAIL("PG2DORIS_DEST_PASSWORD is too long");
        strcpy(d->password, env_password);
    }
    host = at + 1;
    if (*host == '[') { /* [IPv6]:port */
        host_end = memchr(host, ']', (size_t)(auth_end - host));
        if (!host_end)
            FAIL("invalid --dest: unterminated [IPv6] host; %s", hint);
        host_end++;
    } else {
        host_end = memchr(host, ':', (size_t)(auth_end - host));
        if (!host_end)
            host_end = auth_end;
    }
    if (host_end == host || (size_t)(host_end - host) >= sizeof(d->host))
        FAIL("invalid --dest: bad host; %s", hint);
    memcpy(d->host, host, (size_t)(host_end - host));
    if (host_end >= auth_end || *host_end != ':')
        FAIL("invalid --dest: the FE port is required (Doris FE http_port, often 8030; "
             "SelectDB 8080); %s",
             hint);
    if ((size_t)(auth_end - host_end - 1) >= sizeof(portbuf))
        FAIL("invalid --dest: bad port; %s", hint);
    memcpy(portbuf, host_end + 1, (size_t)(auth_end - host_end - 1));
    portbuf[auth_end - host_end - 1] = '\0';
    port = strtol(portbuf, &end, 10);
    if (!portbuf[0] || *end || port < 1 || port > 65535)
        FAIL("invalid --dest: bad port \"%s\"; %s", portbuf, hint);
    d->port = (int)port;
    path = auth_end;
    if (*path != '/' || !path[1])
        FAIL("invalid --dest: the database name is missing; %s", hint);
    path++;
    if (strcspn(path, "/?#") != strlen(path))
        FAIL("invalid --dest: the path must be just the database name; %s", hint);
    if (!decode(path, strlen(path), d->database, sizeof(d->database)))
        FAIL("invalid --dest: bad database name; %s", hint);
    if (!isalpha((unsigned char)d->database[0]))
        FAIL("invalid --dest: database \"%s\" must start with a letter (Doris names: "
             "[a-zA-Z][a-zA-Z0-9-_]*)",
             d->database);
    for (const char *q = d->database; *q; q++)
        if (!isalnum((unsigned char)*q) && *q != '_' && *q != '-')
            FAIL("invalid --dest: database \"%s\" has characters Doris does not accept "
                 "([a-zA-Z][a-zA-Z0-9-_]*)",
                 d->database);
    snprintf(d->base_url, sizeof(d->base_url), "%s://%s:%d", d->tls ? "https" : "http", d->host,
             d->port);
    return 0;
}

void p2d_dest_describe(const struct p2d_dest *d, char *out, int outlen)
{
    snprintf(out, (size_t)outlen, "%s://%s%s@%s:%d/%s", d->tls ? "https" : "http", d->user,
             d->password[0] ? ":****" : "", d->host, d->port, d->database);
}
