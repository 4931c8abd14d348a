/*
 * source_db.c - see source_db.h.
 */
#include "source_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

static const char setup_sql[] =
    "DROP SCHEMA IF EXISTS app CASCADE; DROP SCHEMA IF EXISTS other CASCADE;"
    "DROP DOMAIN IF EXISTS price; DROP TYPE IF EXISTS mood;"
    "CREATE SCHEMA app; CREATE SCHEMA other;"
    "CREATE DOMAIN price AS numeric(10,2) NOT NULL CHECK (VALUE > 0);"
    "CREATE TYPE mood AS ENUM ('ok', 'bad');"
    "CREATE TABLE app.all_types (id bigserial PRIMARY KEY, s smallint, i integer NOT NULL,"
    " b bigint, ser serial, d numeric(12,3), dn numeric, r real, dp double precision NOT NULL,"
    " m money, c char(5), vc varchar(20) NOT NULL, t text, by bytea, ts timestamp(3),"
    " tstz timestamptz, dt date, tm time, tmtz timetz, iv interval, bo boolean NOT NULL,"
    " pt point, ip inet, tsv tsvector, x xml, j json, jb jsonb, u uuid, arr integer[],"
    " en mood, pr price, bits bit(3), vb varbit);"
    "CREATE TABLE app.comp (a integer, b text, v integer, PRIMARY KEY (b, a));"
    "CREATE TABLE app.uniq (x integer NOT NULL, y integer NOT NULL, z text, w integer);"
    "CREATE UNIQUE INDEX uniq_xy ON app.uniq (x, y);"
    "CREATE UNIQUE INDEX uniq_w ON app.uniq (w);"
    "CREATE UNIQUE INDEX uniq_part ON app.uniq (x) WHERE y > 0;"
    "ALTER TABLE app.uniq REPLICA IDENTITY USING INDEX uniq_xy;"
    "CREATE TABLE app.nokey (msg text, n integer);"
    "CREATE TABLE app.parted (id integer, at date NOT NULL, v text, PRIMARY KEY (id, at))"
    " PARTITION BY RANGE (at);"
    "CREATE TABLE app.parted_2024 PARTITION OF app.parted"
    " FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
    "CREATE TABLE app.parted_2025 PARTITION OF app.parted"
    " FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY RANGE (at);"
    "CREATE TABLE app.parted_2025_h1 PARTITION OF app.parted_2025"
    " FOR VALUES FROM ('2025-01-01') TO ('2025-07-01');"
    "INSERT INTO app.parted SELECT g, '2024-03-01', 'x' FROM generate_series(1, 100) g;"
    "CREATE TABLE app.\"Größe\" (id integer PRIMARY KEY, \"Wert\" text);"
    "CREATE TABLE other.comp (a integer PRIMARY KEY, v text);"
    "ANALYZE app.parted_2024;";

PGconn *source_db_setup(void)
{
    PGconn *conn = PQconnectdb(t_env("P2D_PG_CONNINFO"));
    PGresult *r;

    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect: %s", PQerrorMessage(conn));
        exit(1);
    }
    r = PQexec(conn, setup_sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "setup failed: %s", PQerrorMessage(conn));
        exit(1);
    }
    PQclear(r);
    return conn;
}

struct p2d_job *source_db_job(const char *db, const char *args, const char *job_json)
{
    static int n;
    char all[2048], path[256], *copy, *save = NULL, *tok, *argv[64], err[4096];
    const char *fe = getenv("EMU_FE_PORT");
    struct p2d_job_env env = {.cores = 2};
    struct p2d_job *job = NULL;
    int argc = 0;

    snprintf(all, sizeof(all), "--source host=localhost --dest http://root@127.0.0.1:%s/%s %s",
             fe ? fe : "1", db, args ? args : "");
    if (job_json) {
        FILE *f;
        size_t len = strlen(all);

        snprintf(path, sizeof(path), "/tmp/p2d_schema_job_%d_%d.json", (int)getpid(), n++);
        f = fopen(path, "w");
        fputs(job_json, f);
        fclose(f);
        snprintf(all + len, sizeof(all) - len, " --job %s", path);
    }
    copy = strdup(all);
    argv[argc++] = "sync";
    for (tok = strtok_r(copy, " ", &save); tok && argc < 63; tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    if (p2d_job_parse(P2D_JOB_SYNC, argc, argv, &env, &job, err, sizeof(err)) != 0)
        fprintf(stderr, "job parse failed: %s\n", err);
    T_CHECK(job != NULL);
    if (job_json)
        unlink(path);
    free(copy);
    return job;
}
