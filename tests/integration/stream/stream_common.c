/*
 * stream_common.c - the streaming tests' workload thread and scratch
 * environment (stream_common.h).
 */
#include "stream_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sink/dest.h"
#include "engine_it.h"
#include "testlib.h"

double sw_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sw_rand(struct sw_ctx *c, int n)
{
    return n > 0 ? (int)(rand_r(&c->seed) % (unsigned)n) : 0;
}

int sw_exec(struct sw_ctx *c, const char *fmt, ...)
{
    char *sql = NULL;
    va_list ap;
    PGresult *r;
    int n, rc = 0;

    va_start(ap, fmt);
    n = vasprintf(&sql, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    r = PQexec(c->conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = -1;
        if (PQstatus(c->conn) == CONNECTION_OK) {
            if (c->errors++ == 0)
                snprintf(c->first_error, sizeof(c->first_error), "%.200s -> %s", sql,
                         PQerrorMessage(c->conn));
            if (PQtransactionStatus(c->conn) != PQTRANS_IDLE)
                PQclear(PQexec(c->conn, "ROLLBACK"));
        }
    } else {
        c->txns++;
    }
    PQclear(r);
    free(sql);
    return rc;
}

static void *sw_main(void *arg)
{
    struct sw_workload *w = arg;
    struct sw_ctx *c = &w->ctx;
    bool fresh = true;

    c->conn = PQconnectdb(w->conninfo);
    while (!w->stop) {
        if (PQstatus(c->conn) != CONNECTION_OK) {
            usleep(100000);
            PQreset(c->conn);
            c->reconnects++;
            fresh = true;
            continue;
        }
        if (fresh && w->init)
            w->init(c);
        fresh = false;
        w->step(c);
        c->iter++;
        if (w->pause_us > 0)
            usleep((useconds_t)w->pause_us);
    }
    PQfinish(c->conn);
    c->conn = NULL;
    return NULL;
}

void sw_start(struct sw_workload *w)
{
    memset(&w->ctx, 0, sizeof(w->ctx));
    w->ctx.seed = w->seed ? w->seed : 1;
    w->ctx.user = w->user;
    w->stop = 0;
    T_EQ_INT(pthread_create(&w->thread, NULL, sw_main, w), 0);
}

void sw_stop(struct sw_workload *w)
{
    __atomic_store_n(&w->stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(w->thread, NULL);
    fprintf(stderr,
            "workload: %lld iterations, %lld statements ok, %lld failed, %lld reconnects%s%s\n",
            w->ctx.iter, w->ctx.txns, w->ctx.errors, w->ctx.reconnects,
            w->ctx.errors ? "; first failure: " : "", w->ctx.first_error);
}

void sw_env_init(struct sw_env *e, const char *name, const char *db)
{
    struct p2d_dest d;
    char err[256];

    snprintf(e->tmpdir, sizeof(e->tmpdir), "/tmp/p2d_%s_%d", name, (int)getpid());
    mkdir(e->tmpdir, 0755);
    snprintf(e->db, sizeof(e->db), "%s", db);
    snprintf(e->dest, sizeof(e->dest), "http://root@127.0.0.1:%s/%s", t_env("EMU_FE_PORT"), db);
    T_EQ_INT(p2d_dest_parse(e->dest, NULL, &d, err, sizeof(err)), 0);
    e->dsql = p2d_doris_sql_create(&d, 60000);
    T_CHECK(e->dsql != NULL);
}

void sw_env_fini(struct sw_env *e)
{
    p2d_doris_sql_destroy(e->dsql);
    if (t_failed == 0)
        free(t_sh("rm -rf %s", e->tmpdir));
    else
        fprintf(stderr, "logs kept in %s\n", e->tmpdir);
}

const char *sw_path(const struct sw_env *e, const char *leaf, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", e->tmpdir, leaf);
    return out;
}

const char *sw_line_with(const char *out, const char *needle, char *line, size_t linelen)
{
    const char *p = strstr(out, needle), *b, *end;

    line[0] = '\0';
    if (!p)
        return line;
    for (b = p; b > out && b[-1] != '\n'; b--)
        ;
    end = strchr(p, '\n');
    if (!end)
        end = p + strlen(p);
    snprintf(line, linelen, "%.*s", (int)(end - b), b);
    return line;
}

void sw_verify_line_match(const char *out, const char *table)
{
    char needle[128], line[1024];

    snprintf(needle, sizeof(needle), "table \"%s\" ->", table);
    sw_line_with(out, needle, line, sizeof(line));
    if (!strstr(line, ": match,"))
        fprintf(stderr, "verify of %s: \"%s\"\n", table, line);
    T_HAS_STR(line, ": match,");
}

void sw_expect_doris(const struct sw_env *e, const char *q, const char *want)
{
    char got[512];

    it_doris_value(e->dsql, e->db, q, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", q, got, want);
    T_EQ_STR(got, want);
}
