/*
 * stream_common.h - what the streaming tests share: a write workload that
 * runs in a thread on its own PostgreSQL session while pg2doris streams,
 * survives a PostgreSQL restart (it reconnects and goes on), and counts
 * what it did; plus the per-test scratch directory and Doris client.
 */
#ifndef P2D_STREAM_COMMON_H
#define P2D_STREAM_COMMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "sink/doris_sql.h"

struct sw_ctx;

/* One iteration of a workload: a few statements through sw_exec. */
typedef void (*sw_step_fn)(struct sw_ctx *c);

struct sw_ctx {
    PGconn *conn;
    unsigned seed;
    long long iter;
    void *user; /* the test's own workload state */
    /* statistics (read after sw_stop) */
    long long txns;   /* statements sent that succeeded */
    long long errors; /* statements that failed on a live connection */
    long long reconnects;
    char first_error[512];
};

struct sw_workload {
    const char *conninfo;
    sw_step_fn init; /* after every (re)connect, may be NULL (temp tables, ...) */
    sw_step_fn step;
    int pause_us; /* between steps */
    unsigned seed;
    void *user;
    /* running */
    pthread_t thread;
    volatile int stop;
    struct sw_ctx ctx;
};

/* Starts the workload thread. */
void sw_start(struct sw_workload *w);
/* Stops it and waits for it; prints its counts. */
void sw_stop(struct sw_workload *w);

/* Runs sql (one or more statements, e.g. "BEGIN; ...; COMMIT") on the
 * workload's session. Returns 0, or -1 when it failed (an open transaction
 * is rolled back; a broken connection is re-made by the loop). */
int sw_exec(struct sw_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A pseudo-random number in [0, n). */
int sw_rand(struct sw_ctx *c, int n);

/* Per-test scratch: tmpdir /tmp/p2d_<name>_<pid>, the Doris destination
 * URL of database db and a Doris SQL client for it. */
struct sw_env {
    char tmpdir[256];
    char dest[256];
    char db[64];
    struct p2d_doris_sql *dsql;
};
void sw_env_init(struct sw_env *e, const char *name, const char *db);
void sw_env_fini(struct sw_env *e);

/* Path under the scratch directory into out. */
const char *sw_path(const struct sw_env *e, const char *leaf, char *out, size_t outlen);

/* The first line of out that holds needle (copied into line), for report checks. */
const char *sw_line_with(const char *out, const char *needle, char *line, size_t linelen);

/* Asserts that verify's line for table (e.g. "public.t") in out says
 * "match", printing the line when it does not. */
void sw_verify_line_match(const char *out, const char *table);

/* Asserts that Doris query q (database e->db) gives want (it_doris_value
 * text), printing both when it does not. */
void sw_expect_doris(const struct sw_env *e, const char *q, const char *want);

/* Seconds since an arbitrary start (monotonic). */
double sw_now(void);

#endif
