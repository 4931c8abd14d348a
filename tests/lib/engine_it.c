/*
 * engine_it.c - integration-test helpers for the pg2doris binary (see
 * engine_it.h).
 */
#include "engine_it.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "testlib.h"

void it_pg_ok_at(PGconn *conn, const char *sql, const char *file, int line)
{
    PGresult *r = PQexec(conn, sql);

    if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
        t_passed++;
    else
        t_fail_at(file, line, "SQL failed: %s\n  -> %s", sql, PQerrorMessage(conn));
    PQclear(r);
}

long long it_pg_scalar(PGconn *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    long long n = -1;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        n = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

PGconn *it_pg_fresh_db(const char *db, char *conninfo, size_t len)
{
    PGconn *admin = PQconnectdb(t_env("P2D_PG_CONNINFO")), *c;
    char sql[256];

    T_EQ_INT(PQstatus(admin), CONNECTION_OK);
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db);
    it_pg_ok(admin, sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
    it_pg_ok(admin, sql);
    PQfinish(admin);
    snprintf(conninfo, len, "%s dbname=%s", t_env("P2D_PG_CONNINFO"), db);
    c = PQconnectdb(conninfo);
    T_EQ_INT(PQstatus(c), CONNECTION_OK);
    return c;
}

long long it_slots_left(PGconn *conn)
{
    return it_pg_scalar(conn,
                        "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'p2d\\_%'");
}

char *it_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;

    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s = calloc((size_t)(n > 0 ? n : 0) + 1, 1);
    if (n > 0 && fread(s, 1, (size_t)n, f) != (size_t)n)
        s[0] = '\0';
    fclose(f);
    return s;
}

static bool file_has(const char *path, const char *text)
{
    char *s = it_slurp(path);
    bool found = strstr(s, text) != NULL;

    free(s);
    return found;
}

int it_run_pg2doris(const char *const *args, const char *logpath, const char *wait_text,
                    int after_ms, int sig)
{
    char bin[512];
    char *argv[64];
    int n = 0, status = 0;
    pid_t pid;

    snprintf(bin, sizeof(bin), "%s/pg2doris", t_env("P2D_BUILD_DIR"));
    argv[n++] = bin;
    for (int i = 0; args[i] && n < 63; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    pid = fork();
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (fd < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(bin, argv);
        _exit(127);
    }
    T_CHECK(pid > 0);
    if (wait_text) {
        struct timespec poll = {0, 20 * 1000000L};
        struct timespec ts = {after_ms / 1000, (long)(after_ms % 1000) * 1000000L};

        for (int i = 0; i < 6000 && !file_has(logpath, wait_text); i++)
            nanosleep(&poll, NULL);
        T_CHECK(file_has(logpath, wait_text));
        nanosleep(&ts, NULL);
        kill(pid, sig);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

void it_doris_text(const json_t *v, char *out, size_t outlen)
{
    if (json_is_null(v))
        snprintf(out, outlen, "<NULL>");
    else if (json_is_string(v))
        snprintf(out, outlen, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(out, outlen, "<other>");
}

void it_doris_value(struct p2d_doris_sql *sql, const char *db, const char *q, char *out,
                    size_t outlen)
{
    char err[512];
    enum p2d_doris_fail fail;
    json_t *data = NULL, *rows, *v;

    snprintf(out, outlen, "<error>");
    if (p2d_doris_sql_exec(sql, db, q, &data, &fail, err, sizeof(err)) != 0) {
        fprintf(stderr, "doris: %s: %s\n", q, err);
        return;
    }
    rows = p2d_doris_rows(data);
    v = json_array_get(json_array_get(rows, 0), 0);
    if (json_array_size(rows) != 1)
        snprintf(out, outlen, "<%zu rows>", json_array_size(rows));
    else
        it_doris_text(v, out, outlen);
    json_decref(data);
}

long long it_doris_count(struct p2d_doris_sql *sql, const char *db, const char *q)
{
    char v[64], *end;
    long long n;

    it_doris_value(sql, db, q, v, sizeof(v));
    n = strtoll(v, &end, 10);
    return end != v && *end == '\0' ? n : -1;
}

void it_doris_ok(struct p2d_doris_sql *sql, const char *db, const char *stmt)
{
    char err[512];
    enum p2d_doris_fail fail;
    json_t *data = NULL;

    if (p2d_doris_sql_exec(sql, db, stmt, &data, &fail, err, sizeof(err)) == 0)
        t_passed++;
    else
        t_fail_at(__FILE__, __LINE__, "doris SQL failed: %s\n  -> %s", stmt, err);
    json_decref(data);
}

int it_state_ranges(const char *dir, const char *table, unsigned char *done, int max, int *ndone)
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = 0, nd = 0;

    snprintf(path, sizeof(path), "%s/state.db", dir);
    T_EQ_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    T_EQ_INT(sqlite3_prepare_v2(db,
                                "SELECT r.range_id, r.status FROM ranges r JOIN tables t"
                                " USING (table_id) WHERE t.src_table = ?1 ORDER BY r.range_id",
                                -1, &st, NULL),
             SQLITE_OK);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int id = sqlite3_column_int(st, 0);
        bool is_done = strcmp((const char *)sqlite3_column_text(st, 1), "DONE") == 0;

        if (done && id >= 0 && id < max)
            done[id] = is_done;
        nd += is_done;
        n++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (ndone)
        *ndone = nd;
    return n;
}

void it_emu_fault(const char *spec)
{
    char url[256];
    struct t_req req = {.method = spec ? "POST" : "DELETE"};
    struct t_resp resp;

    snprintf(url, sizeof(url), "http://127.0.0.1:%s/_emu/faults", t_env("EMU_FE_PORT"));
    req.url = url;
    if (spec) {
        req.body = spec;
        req.body_len = strlen(spec);
    }
    t_http(&req, &resp);
    T_EQ_INT(resp.status, 200);
    t_resp_free(&resp);
}
