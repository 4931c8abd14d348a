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
                                " USING (table_id) WHERE t.src_table = ?1 AND r.kind = 0"
                                " ORDER BY r.range_id",
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

/* ==== Long-running syncs (incremental sync, issue 4) ====================== */

pid_t it_start_pg2doris(const char *const *args, const char *logpath)
{
    char bin[512];
    char *argv[64];
    int n = 0;
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
    return pid > 0 ? pid : -1;
}

int it_log_count(const char *logpath, const char *text)
{
    char *s = it_slurp(logpath);
    int n = 0;

    for (const char *p = s; *text && (p = strstr(p, text)); p += strlen(text))
        n++;
    free(s);
    return n;
}

/* A small file read up to its end (for /proc files, whose size reads 0),
 * NUL-terminated into out. */
static void read_small(const char *path, char *out, size_t outlen)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0;

    out[0] = '\0';
    if (!f)
        return;
    while (n + 1 < outlen) {
        size_t got = fread(out + n, 1, outlen - 1 - n, f);

        if (got == 0)
            break;
        n += got;
    }
    out[n] = '\0';
    fclose(f);
}

bool it_pid_alive(pid_t pid)
{
    char path[64], stat[1024], *close_paren;

    if (pid <= 0 || kill(pid, 0) != 0)
        return false;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    read_small(path, stat, sizeof(stat));
    close_paren = strrchr(stat, ')'); /* "pid (comm) S ..." */
    return close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z' && close_paren[2] != 'X';
}

static void print_log_tail(const char *logpath, int lines)
{
    char *s = it_slurp(logpath);
    size_t n = strlen(s);
    const char *p = s + n;

    while (p > s && lines >= 0) {
        p--;
        if (*p == '\n')
            lines--;
    }
    fprintf(stderr, "---- last lines of %s ----\n%s\n----\n", logpath, p);
    free(s);
}

bool it_wait_log_n(pid_t pid, const char *logpath, const char *text, int n, int timeout_ms)
{
    struct timespec poll = {0, 50 * 1000000L};

    for (int waited = 0;; waited += 50) {
        if (it_log_count(logpath, text) >= n)
            return true;
        if (waited >= timeout_ms || (pid > 0 && !it_pid_alive(pid))) {
            if (it_log_count(logpath, text) >= n)
                return true;
            fprintf(stderr, "waited %d ms for %d x \"%s\" in %s: %s\n", waited, n, text, logpath,
                    pid > 0 && !it_pid_alive(pid) ? "the process exited" : "timed out");
            print_log_tail(logpath, 30);
            return false;
        }
        nanosleep(&poll, NULL);
    }
}

int it_stop_pg2doris(pid_t pid, int sig, int timeout_ms)
{
    struct timespec poll = {0, 20 * 1000000L};
    int status = 0;
    pid_t r = 0;

    if (pid <= 0)
        return -1;
    if (sig)
        kill(pid, sig);
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            break;
        nanosleep(&poll, NULL);
    }
    if (r != pid) {
        fprintf(stderr, "pid %d did not exit within %d ms after signal %d: SIGKILL\n", (int)pid,
                timeout_ms, sig);
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

void it_pg_current_lsn(PGconn *conn, char *out, size_t outlen)
{
    PGresult *r = PQexec(conn, "SELECT pg_current_wal_insert_lsn()");

    out[0] = '\0';
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        snprintf(out, outlen, "%s", PQgetvalue(r, 0, 0));
    T_CHECK(out[0] != '\0');
    PQclear(r);
}

int it_state_slot(const char *dir, char *out, size_t outlen)
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;

    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/state.db", dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT slot_name FROM job", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
        sqlite3_column_text(st, 0)[0]) {
        snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

bool it_wait_slot_flushed(PGconn *conn, const char *slot, const char *target, pid_t pid,
                          int timeout_ms)
{
    struct timespec poll = {0, 100 * 1000000L};
    char sql[512], last[64] = "?";

    snprintf(sql, sizeof(sql),
             "SELECT confirmed_flush_lsn, confirmed_flush_lsn >= '%s'::pg_lsn"
             " FROM pg_replication_slots WHERE slot_name = '%s'",
             target, slot);
    for (int waited = 0;; waited += 100) {
        PGresult *r = PQexec(conn, sql);
        bool done = false;

        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
            snprintf(last, sizeof(last), "%s", PQgetvalue(r, 0, 0));
            done = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
        } else if (PQstatus(conn) != CONNECTION_OK) {
            PQreset(conn);
        }
        PQclear(r);
        if (done)
            return true;
        if (waited >= timeout_ms || (pid > 0 && !it_pid_alive(pid))) {
            fprintf(stderr, "slot %s: confirmed_flush_lsn %s did not reach %s within %d ms%s\n",
                    slot, last, target, waited,
                    pid > 0 && !it_pid_alive(pid) ? " (pg2doris exited)" : "");
            return false;
        }
        nanosleep(&poll, NULL);
    }
}

int it_verify_full(const char *source, const char *dest, const char *const *extra,
                   const char *logpath, char **out)
{
    const char *args[64] = {"verify", "--full", "--source", source, "--dest", dest};
    int n = 6, rc;

    for (int i = 0; extra && extra[i] && n < 63; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    rc = it_run_pg2doris(args, logpath, NULL, 0, 0);
    if (out)
        *out = it_slurp(logpath);
    return rc;
}

long long it_proc_vmhwm_kb(pid_t pid)
{
    char path[64], s[8192], *p;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    read_small(path, s, sizeof(s));
    p = strstr(s, "VmHWM:");
    return p ? strtoll(p + 6, NULL, 10) : -1;
}

/* A Doris answer value as text, pointing into v or into small. */
static void cell_text(const json_t *v, char *small, size_t smalllen, const char **p, size_t *len)
{
    if (json_is_string(v)) {
        *p = json_string_value(v);
        *len = json_string_length(v);
        return;
    }
    if (json_is_true(v) || json_is_false(v))
        snprintf(small, smalllen, "%s", json_is_true(v) ? "t" : "f");
    else if (json_is_real(v))
        snprintf(small, smalllen, "%.17g", json_real_value(v));
    else
        it_doris_text(v, small, smalllen);
    *p = small;
    *len = strlen(small);
}

long long it_compare_rows(PGconn *conn, const char *pg_sql, struct p2d_doris_sql *sql,
                          const char *db, const char *doris_sql, const char *label,
                          long long *nrows)
{
    char err[512], small[128];
    enum p2d_doris_fail fail;
    json_t *data = NULL, *rows;
    PGresult *r = PQexec(conn, pg_sql);
    long long bad = 0;
    int np, nshown = 0;
    size_t nd;

    if (nrows)
        *nrows = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: source query failed: %s -> %s", label, pg_sql, PQerrorMessage(conn));
        PQclear(r);
        return -1;
    }
    if (p2d_doris_sql_exec(sql, db, doris_sql, &data, &fail, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: doris query failed: %s -> %s\n", label, doris_sql, err);
        PQclear(r);
        return -1;
    }
    rows = p2d_doris_rows(data);
    np = PQntuples(r);
    nd = json_array_size(rows);
    if (nrows)
        *nrows = np;
    if ((size_t)np != nd) {
        fprintf(stderr, "%s: source has %d rows, doris %zu\n", label, np, nd);
        bad += np > (int)nd ? np - (long long)nd : (long long)nd - np;
    }
    for (int i = 0; i < np && (size_t)i < nd; i++) {
        const json_t *drow = json_array_get(rows, (size_t)i);
        bool row_bad = json_array_size(drow) != (size_t)PQnfields(r);

        for (int c = 0; c < PQnfields(r) && !row_bad; c++) {
            const char *want = PQgetisnull(r, i, c) ? "<NULL>" : PQgetvalue(r, i, c), *got;
            size_t wlen = strlen(want), glen;

            cell_text(json_array_get(drow, (size_t)c), small, sizeof(small), &got, &glen);
            if (glen != wlen || memcmp(got, want, wlen) != 0) {
                row_bad = true;
                if (nshown++ < 5)
                    fprintf(stderr, "%s: row %d column %d: doris \"%.*s\" != source \"%.*s\"\n",
                            label, i, c, (int)(glen > 200 ? 200 : glen), got,
                            (int)(wlen > 200 ? 200 : wlen), want);
            }
        }
        bad += row_bad;
    }
    PQclear(r);
    json_decref(data);
    return bad;
}

void it_doris_columns(struct p2d_doris_sql *sql, const char *db, const char *table, char *out,
                      size_t outlen)
{
    char stmt[600], err[512];
    enum p2d_doris_fail fail;
    json_t *data = NULL, *rows, *row;
    size_t i, n = 0;

    snprintf(out, outlen, "<error>");
    snprintf(stmt, sizeof(stmt), "DESC `%s`", table);
    if (p2d_doris_sql_exec(sql, db, stmt, &data, &fail, err, sizeof(err)) != 0) {
        fprintf(stderr, "doris: %s: %s\n", stmt, err);
        return;
    }
    out[0] = '\0';
    rows = p2d_doris_rows(data);
    json_array_foreach(rows, i, row)
    {
        const char *name = json_string_value(json_array_get(row, 0));

        if (name && n < outlen)
            n += (size_t)snprintf(out + n, outlen - n, "%s%s", i ? "," : "", name);
    }
    json_decref(data);
}
