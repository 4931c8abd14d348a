/*
 * pg_emu_test.c - the harness gives one test a real PostgreSQL 15 (logical
 * WAL, slots, senders) and a doris-emu; hostile text copied out of
 * PostgreSQL and stream-loaded through libcurl comes back byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "testlib.h"

static PGconn *conn;

static char *query1(const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    char *v = NULL;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        v = strdup(PQgetvalue(r, 0, 0));
    else if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "query failed: %s: %s", sql, PQerrorMessage(conn));
    PQclear(r);
    return v;
}

static void exec_ok(const char *sql)
{
    PGresult *r = PQexec(conn, sql);

    T_CHECK(PQresultStatus(r) == PGRES_COMMAND_OK);
    PQclear(r);
}

/* POST one statement to the FE; returns the parsed answer (caller frees). */
static json_t *emu_sql(const char *db, const char *stmt)
{
    char url[256];
    struct t_req req = {.method = "POST", .userpwd = "root:"};
    struct t_resp resp;
    json_t *body = json_pack("{s:s}", "stmt", stmt), *ans;
    char *text = json_dumps(body, 0);

    snprintf(url, sizeof(url), "http://127.0.0.1:%s/api/query/default_cluster/%s",
             t_env("EMU_FE_PORT"), db);
    req.url = url;
    req.headers[0] = "Content-Type: application/json";
    req.body = text;
    req.body_len = strlen(text);
    t_http(&req, &resp);
    T_EQ_INT(resp.status, 200);
    T_EQ_INT(t_json_int(resp.json, "code"), 0);
    if (t_json_int(resp.json, "code") != 0)
        fprintf(stderr, "emu answered: %s\n", resp.body);
    ans = json_incref(resp.json);
    t_resp_free(&resp);
    free(text);
    json_decref(body);
    return ans;
}

int main(void)
{
    char *v;
    PGresult *r;
    char *csv = NULL;
    size_t csv_len = 0;
    json_t *ans, *rows;

    conn = PQconnectdb(t_env("P2D_PG_CONNINFO"));
    T_CHECK(PQstatus(conn) == CONNECTION_OK);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(conn));
        return t_done();
    }
    v = query1("SHOW server_version_num");
    T_CHECK(v && atoi(v) >= 150000 && atoi(v) < 160000);
    free(v);
    v = query1("SHOW wal_level");
    T_EQ_STR(v, "logical");
    free(v);
    v = query1("SHOW max_replication_slots");
    T_CHECK(v && atoi(v) >= 10);
    free(v);
    v = query1("SHOW max_wal_senders");
    T_CHECK(v && atoi(v) >= 10);
    free(v);

    /* Hostile text: tab, newline, CR, backslash, quotes, \N as text, UTF-8. */
    exec_ok("CREATE TABLE hostile (id int PRIMARY KEY, t text)");
    exec_ok("INSERT INTO hostile VALUES (1, E'tab\\there'), (2, E'line\\nbreak\\r'),"
            " (3, E'back\\\\slash'), (4, '\"quoted\", ''single'''), (5, E'\\\\N'),"
            " (6, 'żółw 🐢 日本'), (7, NULL), (8, '')");

    r = PQexec(conn, "COPY (SELECT id, t FROM hostile ORDER BY id) TO STDOUT WITH (FORMAT csv, "
                     "NULL '\\N', ESCAPE '\\', FORCE_QUOTE (t))");
    T_CHECK(PQresultStatus(r) == PGRES_COPY_OUT);
    PQclear(r);
    for (;;) {
        char *buf;
        int n = PQgetCopyData(conn, &buf, 0);

        if (n < 0)
            break;
        csv = realloc(csv, csv_len + (size_t)n + 1);
        memcpy(csv + csv_len, buf, (size_t)n);
        csv_len += (size_t)n;
        PQfreemem(buf);
    }
    PQclear(PQgetResult(conn));
    T_CHECK(csv_len > 0);

    json_decref(emu_sql("information_schema", "CREATE DATABASE h"));
    json_decref(emu_sql("h", "CREATE TABLE hostile (id INT NOT NULL, t STRING NULL) UNIQUE "
                             "KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1 "
                             "PROPERTIES (\"replication_num\" = \"1\")"));
    {
        char url[256];
        struct t_req req = {.method = "PUT", .userpwd = "root:", .follow = true};
        struct t_resp resp;

        snprintf(url, sizeof(url), "http://127.0.0.1:%s/api/h/hostile/_stream_load",
                 t_env("EMU_FE_PORT"));
        req.url = url;
        req.headers[0] = "Expect: 100-continue";
        req.headers[1] = "label: harness-hostile";
        req.headers[2] = "column_separator: ,";
        req.headers[3] = "enclose: \"";
        req.headers[4] = "escape: \\";
        req.headers[5] = "strict_mode: true";
        req.body = csv;
        req.body_len = csv_len;
        t_http(&req, &resp);
        T_EQ_INT(resp.status, 200);
        T_EQ_STR(t_json_str(resp.json, "Status"), "Success");
        T_EQ_INT(t_json_int(resp.json, "NumberLoadedRows"), 8);
        if (!t_json_str(resp.json, "Status") || strcmp(t_json_str(resp.json, "Status"), "Success"))
            fprintf(stderr, "load answer: %s\n", resp.body);
        t_resp_free(&resp);
    }

    /* Compare every value with the source, byte for byte. */
    ans = emu_sql("h", "SELECT id, t FROM hostile ORDER BY id");
    rows = json_object_get(json_object_get(ans, "data"), "data");
    T_EQ_INT(json_array_size(rows), 8);
    r = PQexec(conn, "SELECT id, t FROM hostile ORDER BY id");
    T_EQ_INT(PQntuples(r), 8);
    for (int i = 0; i < PQntuples(r) && i < (int)json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, (size_t)i);
        json_t *t = json_array_get(row, 1);

        T_EQ_INT(json_integer_value(json_array_get(row, 0)), atoi(PQgetvalue(r, i, 0)));
        if (PQgetisnull(r, i, 1))
            T_CHECK(json_is_null(t));
        else
            T_EQ_STR(json_string_value(t), PQgetvalue(r, i, 1));
    }
    PQclear(r);
    json_decref(ans);
    free(csv);
    PQfinish(conn);
    return t_done();
}
