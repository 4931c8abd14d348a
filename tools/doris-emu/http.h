/*
 * http.h - doris-emu's FE and BE HTTP listeners (http.c).
 */
#ifndef EMU_HTTP_H
#define EMU_HTTP_H

#include "emu.h"

#include <stdio.h>

struct emu_server_config {
    const char *host;          /* IPv4 address to bind, also the BE host in 307 Locations */
    int fe_port;               /* 0: any free port */
    int be_port;               /* 0: any free port */
    struct emu_store *store;   /* borrowed until emu_server_stop returns */
    struct emu_auth *auth;     /* borrowed */
    struct emu_faults *faults; /* borrowed */
    long max_body_mb;          /* streaming_load_max_mb */
    long json_max_mb;          /* streaming_load_json_max_mb */
    FILE *log;                 /* request log (one line per request), NULL for none */
    FILE *errlog;              /* server errors (libmicrohttpd), never NULL */
};

struct emu_server;

/* Starts both listeners. Returns NULL with err filled when a port cannot be
 * bound. The config is copied; the objects it points to are borrowed. */
struct emu_server *emu_server_start(const struct emu_server_config *cfg, struct emu_err *err);

int emu_server_fe_port(const struct emu_server *s);
int emu_server_be_port(const struct emu_server *s);

/* Wakes handlers that hang or sleep on purpose (faults), stops both
 * listeners, waits for every connection thread and frees the server. */
void emu_server_stop(struct emu_server *s);

#endif
