/*
 * dest.h - the Doris destination named by --dest:
 *   http[s]://USER[:PASSWORD]@FE_HOST:PORT/DATABASE
 * USER and PASSWORD may be percent-encoded; the password may instead come
 * from PG2DORIS_DEST_PASSWORD (which wins over an empty URL password).
 */
#ifndef P2D_DEST_H
#define P2D_DEST_H

#include <stdbool.h>

struct p2d_dest {
    bool tls;
    char user[128];
    char password[256];
    char host[256];
    int port;
    char database[128];
    char base_url[512]; /* "http://host:port", no credentials */
};

/*
 * Parses url into *d. env_password (may be NULL) is PG2DORIS_DEST_PASSWORD.
 * Returns 0, or P2D_EINVAL with a message in err (never containing the
 * password) saying what is wrong and what form is expected.
 */
int p2d_dest_parse(const char *url, const char *env_password, struct p2d_dest *d, char *err,
                   int errlen) __attribute__((warn_unused_result));

/* The URL with the password masked, for messages. */
void p2d_dest_describe(const struct p2d_dest *d, char *out, int outlen);

#endif
