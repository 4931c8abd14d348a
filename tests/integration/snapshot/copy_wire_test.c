/*
 * copy_wire_test.c - snapshot/copy_wire against a real PostgreSQL 15: the
 * rows of a COPY read off the socket are byte for byte those PQgetCopyData
 * returns for the same COPY (many small rows, empty rows, rows of 5 MB,
 * with the default buffer and with tiny ones that make every row cross a
 * buffer boundary), "COPY n" is read, rows may be read 32 bytes past their
 * end (ASan build), and afterwards libpq runs the next query on the same
 * PGconn inside the same transaction with SO_RCVLOWAT back at 1 byte. An
 * error mid-stream (22012 after 499 rows), an error before any row, a
 * backend terminated mid-COPY (57P01, class connect), a NOTICE (logged, the
 * COPY goes on), a ParameterStatus (the session must be closed), binary
 * COPY and a statement that is not a COPY are reported as libpq would.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "base/log.h"
#include "p2d_error.h"
#include "snapshot/copy_wire.h"
#include "snapshot/pgconn.h"
#include "engine_it.h"
#include "testlib.h"

static const char *conninfo;
static PGconn *ref; /* the reference: libpq's own COPY reading */

/* The rows of one COPY, concatenated, with their offsets. */
struct rowset {
    char *data;
    size_t len, cap;
    size_t *off; /* n + 1 offsets */
    size_t n, ncap;
};

static void rowset_add(struct rowset *s, const char *row, size_t n)
{
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2 + 1024;
        s->data = realloc(s->data, s->cap);
    }
    if (s->n + 2 > s->ncap) {
        s->ncap = s->ncap * 2 + 1024;
        s->off = realloc(s->off, s->ncap * sizeof(*s->off));
    }
    if (!s->data || !s->off)
        abort();
    if (s->n == 0)
        s->off[0] = 0;
    memcpy(s->data + s->len, row, n);
    s->len += n;
    s->off[++s->n] = s->len;
}

static void rowset_free(struct rowset *s)
{
    free(s->data);
    free(s->off);
    memset(s, 0, sizeof(*s));
}

/* Same rows, same bytes: one failure naming the first difference. */
static void check_same_rows(const struct rowset *got, const struct rowset *want, const char *what)
{
    size_t i;

    if (got->n != want->n) {
        t_fail_at(__FILE__, __LINE__, "%s: %zu rows, want %zu", what, got->n, want->n);
        return;
    }
    for (i = 0; i < got->n; i++) {
        size_t gl = got->off[i + 1] - got->off[i], wl = want->off[i + 1] - want->off[i];

        if (gl != wl || memcmp(got->data + got->off[i], want->data + want->off[i], gl) != 0) {
            t_fail_at(__FILE__, __LINE__, "%s: row %zu differs (%zu bytes, want %zu)", what, i, gl,
                      wl);
            return;
        }
    }
    t_passed++;
}

/* A reader's session: connected, in a REPEATABLE READ transaction. */
static PGconn *session(void)
{
    struct p2d_pg_error e;
    PGconn *c = NULL;

    if (p2d_pg_connect(conninfo, P2D_PG_SQL, "copy_wire_test", &c, &e) != 0) {
        fprintf(stderr, "connect: %s\n", e.message);
        exit(1);
    }
    it_pg_ok(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    return c;
}

/* The COPY through libpq; returns 0 with *copy_n from "COPY n", or
 * P2D_ESOURCE with err filled as the reader fills it. */
static int libpq_copy(PGconn *c, const char *sql, struct rowset *rows, long long *copy_n,
                      struct p2d_pg_error *err)
{
    PGresult *r = PQexec(c, sql);
    char *row;
    int n, rc = 0;

    *copy_n = -1;
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        p2d_pg_error_from(c, r, "COPY failed", err);
        PQclear(r);
        return P2D_ESOURCE;
    }
    PQclear(r);
    while ((n = PQgetCopyData(c, &row, 0)) > 0) {
        rowset_add(rows, row, (size_t)n);
        PQfreemem(row);
    }
    r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        p2d_pg_error_from(c, r, "COPY failed", err);
        rc = P2D_ESOURCE;
    } else {
        *copy_n = strtoll(PQcmdTuples(r), NULL, 10);
    }
    PQclear(r);
    while ((r = PQgetResult(c)) != NULL)
        PQclear(r);
    return rc;
}

static volatile unsigned overread_sum;

/* The COPY through copy_wire; the result of the last next(). Reads 32
 * bytes past every row's end, as vector scanners may. *max_cap gets the
 * largest buffer seen. */
static int wire_copy(struct p2d_copy_wire *w, PGconn *c, const char *sql, struct rowset *rows,
                     struct p2d_pg_error *err, size_t *max_cap)
{
    const char *row;
    size_t n;
    int rc;

    if (max_cap)
        *max_cap = 0;
    rc = p2d_copy_wire_start(w, c, sql, err);
    if (rc != 0)
        return rc;
    while ((rc = p2d_copy_wire_next(w, &row, &n, err)) == 1) {
        rowset_add(rows, row, n);
        for (size_t k = 0; k < 32; k++)
            overread_sum += (unsigned char)row[n + k];
        if (max_cap && p2d_copy_wire_capacity(w) > *max_cap)
            *max_cap = p2d_copy_wire_capacity(w);
    }
    return rc;
}

/* libpq takes over again: SO_RCVLOWAT is 1, the session is in its
 * transaction, and the next query's answer is right. */
static void check_libpq_after(PGconn *c, const char *what)
{
    int lowat = -1;
    socklen_t len = sizeof(lowat);
    PGresult *r;

    if (getsockopt(PQsocket(c), SOL_SOCKET, SO_RCVLOWAT, &lowat, &len) != 0)
        lowat = -1;
    if (lowat != 1) {
        t_fail_at(__FILE__, __LINE__, "%s: SO_RCVLOWAT is %d after the COPY", what, lowat);
        lowat = 1; /* or libpq's wait below would hang */
        (void)setsockopt(PQsocket(c), SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
    } else {
        t_passed++;
    }
    T_EQ_INT(PQtransactionStatus(c), PQTRANS_INTRANS);
    r = PQexec(c, "SELECT 40 + 2");
    T_EQ_INT(PQresultStatus(r), PGRES_TUPLES_OK);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        T_EQ_STR(PQgetvalue(r, 0, 0), "42");
    else
        fprintf(stderr, "%s: %s\n", what, PQerrorMessage(c));
    PQclear(r);
    T_EQ_INT(PQtransactionStatus(c), PQTRANS_INTRANS);
}

/* One COPY both ways, with a wire buffer of buf_size bytes: same rows,
 * same "COPY n", libpq fine afterwards. Returns the largest buffer seen. */
static size_t same_as_libpq(const char *sql, size_t buf_size)
{
    struct p2d_copy_wire *w = p2d_copy_wire_create(buf_size);
    struct rowset want = {0}, got = {0};
    struct p2d_pg_error e;
    long long want_n;
    size_t max_cap = 0;
    PGconn *c = session();
    char what[160];
    int rc;

    snprintf(what, sizeof(what), "%.100s (buffer %zu)", sql, buf_size);
    T_EQ_INT(libpq_copy(ref, sql, &want, &want_n, &e), 0);
    rc = wire_copy(w, c, sql, &got, &e, &max_cap);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", what, e.message);
    T_EQ_INT(rc, 0);
    check_same_rows(&got, &want, what);
    T_EQ_INT(p2d_copy_wire_rows(w), want_n);
    T_EQ_INT(p2d_copy_wire_rows(w), (long long)got.n);
    T_CHECK(p2d_copy_wire_must_close(w) == NULL);
    /* a large message's buffer is given back once it is consumed */
    T_EQ_INT(p2d_copy_wire_capacity(w), buf_size ? buf_size : P2D_COPY_WIRE_BUF);
    check_libpq_after(c, what);
    /* the same handle and session again: the state was reset */
    rowset_free(&got);
    T_EQ_INT(wire_copy(w, c, sql, &got, &e, NULL), 0);
    check_same_rows(&got, &want, what);
    check_libpq_after(c, what);
    PQfinish(c);
    p2d_copy_wire_destroy(w);
    rowset_free(&want);
    rowset_free(&got);
    return max_cap;
}

static void test_same_rows(void)
{
    /* ~14 MB of rows of 33-60 bytes, with escapes and NULLs */
    const char *small = "COPY (SELECT g, md5(g::text), CASE WHEN g % 7 = 0 THEN NULL ELSE "
                        "E'a\\tb\\\\c\\nd' || g END FROM generate_series(1, 200000) g) TO STDOUT";
    /* rows of 5.1 MB between small ones */
    const char *big = "COPY (SELECT g, CASE WHEN g % 1000 = 500 THEN repeat(md5(g::text), "
                      "160000) ELSE md5(g::text) END FROM generate_series(1, 3000) g) TO STDOUT";
    const char *empty_rows = "COPY (SELECT '' FROM generate_series(1, 5000)) TO STDOUT";
    const char *no_rows = "COPY (SELECT 1 WHERE false) TO STDOUT";
    static const size_t sizes[] = {0, 4096 + 7, 61};

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t max_cap;

        same_as_libpq(small, sizes[i]);
        max_cap = same_as_libpq(big, sizes[i]);
        T_CHECK(max_cap >= 5120000); /* grew for the 5 MB rows */
        same_as_libpq(empty_rows, sizes[i]);
        same_as_libpq(no_rows, sizes[i]);
    }
}

/* An error from the server, before or after rows: the rows before it are
 * libpq's, the error is the one the reader reports through libpq. */
static void check_error(const char *sql, long long want_rows, const char *want_sqlstate,
                        const char *want_message)
{
    struct p2d_copy_wire *w = p2d_copy_wire_create(4096);
    struct rowset want = {0}, got = {0};
    struct p2d_pg_error we, ge;
    long long want_n;
    PGconn *c = session(), *r = session();

    T_EQ_INT(libpq_copy(r, sql, &want, &want_n, &we), P2D_ESOURCE);
    T_EQ_INT(wire_copy(w, c, sql, &got, &ge, NULL), P2D_ESOURCE);
    check_same_rows(&got, &want, sql);
    T_EQ_INT((long long)got.n, want_rows);
    T_EQ_STR(ge.sqlstate, want_sqlstate);
    T_EQ_STR(ge.message, want_message);
    T_EQ_STR(ge.message, we.message);
    T_EQ_STR(ge.sqlstate, we.sqlstate);
    T_EQ_STR(ge.hint, we.hint);
    T_EQ_INT(ge.cls, we.cls);
    T_EQ_INT(p2d_copy_wire_rows(w), -1);
    /* the response was read to ReadyForQuery: libpq, idle, can still roll
     * back (the reader closes such a session anyway) */
    T_EQ_INT(PQtransactionStatus(c), PQTRANS_INTRANS);
    it_pg_ok(c, "ROLLBACK");
    T_EQ_INT(PQtransactionStatus(c), PQTRANS_IDLE);
    PQfinish(c);
    PQfinish(r);
    p2d_copy_wire_destroy(w);
    rowset_free(&want);
    rowset_free(&got);
}

static void test_errors(void)
{
    check_error("COPY (SELECT 1/(500-g) FROM generate_series(1,1000) g) TO STDOUT", 499, "22012",
                "COPY failed: division by zero");
    check_error("COPY (SELECT * FROM no_such_table) TO STDOUT", 0, "42P01",
                "COPY failed: relation \"no_such_table\" does not exist");
}

struct killer {
    int pid;
};

static void *terminate_later(void *arg)
{
    struct killer *k = arg;
    char sql[128];
    PGconn *admin = session();
    PGresult *r;

    usleep(300 * 1000);
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", k->pid);
    r = PQexec(admin, sql);
    PQclear(r);
    PQfinish(admin);
    return NULL;
}

/* The backend is terminated mid-COPY: the server's FATAL error, class
 * connect (retried under --retry-connect). */
static void test_terminated(void)
{
    struct p2d_copy_wire *w = p2d_copy_wire_create(0);
    struct rowset got = {0};
    struct p2d_pg_error e;
    struct killer k;
    pthread_t t;
    PGconn *c = session();

    k.pid = PQbackendPID(c);
    pthread_create(&t, NULL, terminate_later, &k);
    T_EQ_INT(wire_copy(w, c,
                       "COPY (SELECT g, CASE WHEN g = 100 THEN pg_sleep(30)::text END FROM "
                       "generate_series(1, 200) g) TO STDOUT",
                       &got, &e, NULL),
             P2D_ESOURCE);
    pthread_join(t, NULL);
    T_EQ_INT((long long)got.n, 99);
    T_EQ_STR(e.sqlstate, "57P01");
    T_HAS_STR(e.message, "COPY failed: terminating connection");
    T_EQ_INT(e.cls, P2D_PG_CONNECT);
    T_CHECK(p2d_pg_error_is_connect(&e));
    PQfinish(c);
    p2d_copy_wire_destroy(w);
    rowset_free(&got);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s = calloc(1, 1 << 16);

    if (f && s)
        s[fread(s, 1, (1 << 16) - 1, f)] = '\0';
    if (f)
        fclose(f);
    return s;
}

/* A NOTICE and a WARNING in the middle of a COPY: logged, rows go on. */
static void test_notice(void)
{
    struct p2d_copy_wire *w = p2d_copy_wire_create(0);
    struct rowset got = {0}, want = {0};
    struct p2d_pg_error e;
    char path[] = "/tmp/copy_wire_test.XXXXXX";
    int fd = mkstemp(path);
    long long want_n;
    char *log;
    const char *sql = "COPY (SELECT g, noisy(g) FROM generate_series(1, 20000) g) TO STDOUT";
    PGconn *c = session();

    it_pg_ok(ref, "CREATE OR REPLACE FUNCTION noisy(g int) RETURNS int LANGUAGE plpgsql AS $$ "
                  "BEGIN IF g = 10000 THEN RAISE NOTICE 'halfway at %', g; END IF; "
                  "IF g = 15000 THEN RAISE WARNING 'three quarters at %', g; END IF; "
                  "RETURN g * 2; END $$");
    p2d_log_setup(P2D_LOG_INFO, P2D_LOG_TEXT, fd);
    T_EQ_INT(wire_copy(w, c, sql, &got, &e, NULL), 0);
    p2d_log_setup(P2D_LOG_INFO, P2D_LOG_TEXT, 2);
    T_EQ_INT(libpq_copy(ref, sql, &want, &want_n, &e), 0);
    check_same_rows(&got, &want, "COPY with notices");
    T_EQ_INT(p2d_copy_wire_rows(w), 20000);
    T_CHECK(p2d_copy_wire_must_close(w) == NULL);
    log = read_file(path);
    T_HAS_STR(log, "PostgreSQL NOTICE during a COPY: halfway at 10000");
    T_HAS_STR(log, "PostgreSQL WARNING during a COPY: three quarters at 15000");
    free(log);
    close(fd);
    unlink(path);
    check_libpq_after(c, "COPY with notices");
    PQfinish(c);
    p2d_copy_wire_destroy(w);
    rowset_free(&got);
    rowset_free(&want);
}

/*
 * ParameterStatus. application_name is GUC_REPORT; since PostgreSQL 14 a
 * changed reported setting is sent once, just before ReadyForQuery, and
 * only if its value differs from the one last reported. So set_config()
 * inside the COPY yields a ParameterStatus (libpq's copy is stale: the
 * session must be closed), while a function's SET clause, undone when it
 * returns, yields none.
 */
static void test_parameter_status(void)
{
    struct p2d_copy_wire *w = p2d_copy_wire_create(0);
    struct rowset got = {0};
    struct p2d_pg_error e;
    PGconn *c = session();
    const char *why;

    it_pg_ok(ref, "CREATE OR REPLACE FUNCTION renamed(g int) RETURNS int LANGUAGE plpgsql "
                  "SET application_name = 'inside_function' AS $$ BEGIN RETURN g; END $$");
    T_EQ_INT(wire_copy(w, c, "COPY (SELECT renamed(g) FROM generate_series(1, 100) g) TO STDOUT",
                       &got, &e, NULL),
             0);
    T_EQ_INT((long long)got.n, 100);
    T_CHECK(p2d_copy_wire_must_close(w) == NULL);
    check_libpq_after(c, "COPY calling a function with SET");

    rowset_free(&got);
    T_EQ_INT(wire_copy(w, c,
                       "COPY (SELECT g, set_config('application_name', 'changed_in_copy', false) "
                       "FROM generate_series(1, 100) g) TO STDOUT",
                       &got, &e, NULL),
             0);
    T_EQ_INT((long long)got.n, 100);
    T_EQ_INT(p2d_copy_wire_rows(w), 100);
    why = p2d_copy_wire_must_close(w);
    T_HAS_STR(why, "ParameterStatus");
    /* what libpq believes is now wrong: the reason to close */
    T_EQ_STR(PQparameterStatus(c, "application_name"), "copy_wire_test");
    PQfinish(c);
    p2d_copy_wire_destroy(w);
    rowset_free(&got);
}

/* What copy_wire refuses. */
static void test_refused(void)
{
    struct p2d_copy_wire *w = p2d_copy_wire_create(0);
    struct rowset got = {0};
    struct p2d_pg_error e;
    PGconn *c = session();

    T_EQ_INT(wire_copy(w, c, "COPY (SELECT 1) TO STDOUT (FORMAT binary)", &got, &e, NULL),
             P2D_ESOURCE);
    T_HAS_STR(e.message, "binary");
    PQfinish(c);

    c = session();
    T_EQ_INT(wire_copy(w, c, "SELECT 1", &got, &e, NULL), P2D_ESOURCE);
    T_HAS_STR(e.message, "COPY failed: unexpected message type 0x54");
    T_EQ_INT(e.cls, P2D_PG_OTHER);
    PQfinish(c);

    /* not inside a transaction: libpq's state could not be kept */
    c = session();
    it_pg_ok(c, "COMMIT");
    T_EQ_INT(p2d_copy_wire_start(w, c, "COPY (SELECT 1) TO STDOUT", &e), P2D_EINVAL);
    {
        const char *row;
        size_t n;

        T_EQ_INT(p2d_copy_wire_next(w, &row, &n, &e), P2D_EINVAL);
    }
    PQfinish(c);
    T_EQ_INT(got.n, 0);
    p2d_copy_wire_destroy(w);
    rowset_free(&got);
}

int main(void)
{
    struct p2d_pg_error e;

    conninfo = t_env("P2D_PG_CONNINFO");
    if (p2d_pg_connect(conninfo, P2D_PG_SQL, "copy_wire_test", &ref, &e) != 0) {
        t_fail_at(__FILE__, __LINE__, "connect: %s", e.message);
        return t_done();
    }
    test_same_rows();
    test_errors();
    test_terminated();
    test_notice();
    test_parameter_status();
    test_refused();
    PQfinish(ref);
    return t_done();
}
