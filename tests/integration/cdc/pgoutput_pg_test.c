/*
 * pgoutput_pg_test.c - the decoder against real PostgreSQL bytes. A
 * publication and a pgoutput slot see inserts, updates under REPLICA
 * IDENTITY DEFAULT (key change -> 'K') and FULL ('O'), an unchanged TOAST
 * value ('u'), deletes, TRUNCATE, ALTER TABLE ADD COLUMN, a transactional
 * message, and (proto 2, streaming on, logical_decoding_work_mem 64kB) a
 * large streamed transaction with a rolled-back savepoint. Each row of
 * pg_logical_slot_peek_binary_changes is one pgoutput message: every one
 * is decoded, run through txn_order and relcache, and the values checked.
 */
#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "cdc/pgoutput.h"
#include "cdc/relcache.h"
#include "cdc/txn_order.h"
#include "p2d_error.h"
#include "testlib.h"

static PGconn *conn;

static void exec_ok(const char *sql)
{
    PGresult *r = PQexec(conn, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        t_fail_at(__FILE__, __LINE__, "%s: %s", sql, PQerrorMessage(conn));
    else
        t_passed++;
    PQclear(r);
}

static bool val_is(const struct p2d_pgval *v, const char *text)
{
    return v->kind == 't' && v->len == strlen(text) && memcmp(v->data, text, v->len) == 0;
}

/* What the stream said, in order, as compact text for the assertions. */
struct seen {
    char log[8192];
    size_t len;
    int inserts, updates_k, updates_o, updates_plain, deletes_k, deletes_o, truncates;
    int unchanged, messages, relations, stream_relations, adds, streamed, stream_commits,
        subxact_aborts;
    uint64_t dropped, committed_items;
    bool toast_full_old; /* an 'O' tuple carried the 10000-byte value */
};

static void logs(struct seen *s, const char *word)
{
    size_t k = strlen(word);

    if (s->len + k + 2 < sizeof s->log) {
        memcpy(s->log + s->len, word, k);
        s->log[s->len + k] = ' ';
        s->len += k + 1;
        s->log[s->len] = 0;
    }
}

/* Peeks the slot with these options; decodes and checks every message. */
static void run(const char *slot, int proto, const char *extra_opts, struct seen *s)
{
    char sql[512];
    PGresult *r;
    struct p2d_txn_order *t = p2d_txn_order_create(8, 1024);
    struct p2d_relcache *rc = p2d_relcache_create(64, 64);
    static struct p2d_pgval vals[3200];
    static struct p2d_pgrelcol cols[1600];
    static struct p2d_pgval cut_vals[3200]; /* the cut checks must not overwrite vals */
    static struct p2d_pgrelcol cut_cols[1600];
    int failures = 0;

    snprintf(sql, sizeof sql,
             "SELECT data FROM pg_logical_slot_peek_binary_changes('%s', NULL, NULL, "
             "'proto_version', '%d', 'publication_names', 'p2d_pub'%s)",
             slot, proto, extra_opts);
    r = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        t_fail_at(__FILE__, __LINE__, "%s: %s", sql, PQerrorMessage(conn));
        PQclear(r);
        return;
    }
    printf("proto %d: %d messages\n", proto, PQntuples(r));
    T_CHECK(PQntuples(r) > 5);
    for (int i = 0; i < PQntuples(r); i++) {
        const uint8_t *p = (const uint8_t *)PQgetvalue(r, i, 0);
        size_t n = (size_t)PQgetlength(r, i, 0);
        struct p2d_pgmsg m;
        struct p2d_pgerr err;
        struct p2d_txn_step step;
        struct p2d_reldiff diff;
        bool changed;
        int rc_;

        p2d_pgmsg_init(&m, vals, 3200, cols, 1600);
        rc_ = p2d_pgoutput_decode(p, n, proto, p2d_txn_order_in_stream(t), &m, &err);
        if (rc_ != 0) {
            if (failures++ < 5)
                t_fail_at(__FILE__, __LINE__, "message %d (%zu bytes, '%c'): %s", i, n, p[0],
                          err.msg);
            continue;
        }
        /* every truncation of a real message is refused */
        for (size_t cut = 0; cut < n && cut < 64; cut++) {
            struct p2d_pgmsg m2;

            p2d_pgmsg_init(&m2, cut_vals, 3200, cut_cols, 1600);
            if (p2d_pgoutput_decode(p, cut, proto, p2d_txn_order_in_stream(t), &m2, &err) == 0 &&
                !(m.kind == P2D_PGMSG_STREAM_ABORT && cut == 9))
                t_fail_at(__FILE__, __LINE__, "message %d cut at %zu decoded", i, cut);
        }
        rc_ = p2d_txn_order_feed(t, &m, &step, &err);
        if (rc_ != 0) {
            t_fail_at(__FILE__, __LINE__, "message %d: %s", i, err.msg);
            continue;
        }
        switch (m.kind) {
        case P2D_PGMSG_RELATION:
            s->relations++;
            if (step.action == P2D_TXN_BUFFER)
                s->stream_relations++;
            T_EQ_INT(p2d_relcache_apply(rc, &m, &diff), 0);
            if (diff.flags & P2D_RELDIFF_ADDED) {
                s->adds++;
                T_EQ_INT(diff.nchanges, 1);
                T_EQ_STR(diff.changes[0].new_name, "c");
                T_EQ_INT(diff.changes[0].new_typoid, 23);
            }
            {
                char w[80];

                snprintf(w, sizeof w, "R(%s)", m.u.relation.relname);
                logs(s, w);
            }
            break;
        case P2D_PGMSG_TYPE:
            T_EQ_INT(p2d_relcache_apply_type(rc, &m, &changed), 0);
            break;
        case P2D_PGMSG_INSERT:
            s->inserts++;
            if (step.action == P2D_TXN_BUFFER)
                s->streamed++;
            if (step.action == P2D_TXN_BUFFER && m.u.change.newtup.vals[0].len == 4 &&
                memcmp(m.u.change.newtup.vals[0].data, "2001", 4) == 0)
                T_EQ_INT(step.subxid != step.xid, 1); /* the savepoint's rows carry its xid */
            else
                logs(s, "I");
            T_CHECK(p2d_relcache_get(rc, m.u.change.relid) != NULL);
            T_EQ_INT(m.u.change.newtup.ncols, p2d_relcache_get(rc, m.u.change.relid)->ncols);
            break;
        case P2D_PGMSG_UPDATE:
            if (m.u.change.old_kind == 'K') {
                s->updates_k++;
                T_CHECK(val_is(&m.u.change.old.vals[0], "1"));
                T_EQ_INT(m.u.change.old.vals[1].kind, 'n'); /* non-key columns are 'n' */
                T_CHECK(val_is(&m.u.change.newtup.vals[0], "2"));
            } else if (m.u.change.old_kind == 'O') {
                s->updates_o++;
                T_CHECK(val_is(&m.u.change.old.vals[1], "x"));
                T_CHECK(val_is(&m.u.change.newtup.vals[1], "y"));
                if (m.u.change.old.vals[2].len == 10000)
                    s->toast_full_old = true;

            } else {
                s->updates_plain++;
            }
            for (int c = 0; c < m.u.change.newtup.ncols; c++)
                if (m.u.change.newtup.vals[c].kind == 'u')
                    s->unchanged++;
            logs(s, m.u.change.old_kind == 'K' ? "UK" : m.u.change.old_kind ? "UO" : "U");
            break;
        case P2D_PGMSG_DELETE:
            if (m.u.change.old_kind == 'K')
                s->deletes_k++;
            else
                s->deletes_o++;
            logs(s, m.u.change.old_kind == 'K' ? "DK" : "DO");
            break;
        case P2D_PGMSG_TRUNCATE:
            s->truncates++;
            T_EQ_INT(m.u.truncate.nrels, 1);
            T_EQ_INT(p2d_relcache_get(rc, p2d_pgmsg_truncate_relid(&m, 0)) != NULL, 1);
            logs(s, "T");
            break;
        case P2D_PGMSG_MESSAGE:
            s->messages++;
            T_EQ_STR(m.u.message.prefix, "p2d");
            T_EQ_INT(m.u.message.content_len, 5);
            T_CHECK(memcmp(m.u.message.content, "hello", 5) == 0);
            T_EQ_INT(m.u.message.flags, P2D_MESSAGE_TRANSACTIONAL);
            logs(s, "M");
            break;
        case P2D_PGMSG_BEGIN:
            logs(s, "B");
            break;
        case P2D_PGMSG_COMMIT:
            T_CHECK(m.u.commit.end_lsn > m.u.commit.commit_lsn);
            logs(s, "C");
            break;
        case P2D_PGMSG_STREAM_COMMIT:
            s->stream_commits++;
            s->committed_items = step.count;
            logs(s, "c");
            break;
        case P2D_PGMSG_STREAM_ABORT:
            if (step.action == P2D_TXN_DISCARD_SUBXACT) {
                s->subxact_aborts++;
                s->dropped += step.count;
            }
            break;
        default:
            break;
        }
    }
    T_EQ_INT(failures, 0);
    T_CHECK(!p2d_txn_order_in_stream(t));
    PQclear(r);
    p2d_txn_order_destroy(t);
    p2d_relcache_destroy(rc);
}

int main(void)
{
    struct seen s1, s2;

    conn = PQconnectdb(t_env("P2D_PG_CONNINFO"));
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s", PQerrorMessage(conn));
        return 1;
    }
    exec_ok("SET client_min_messages = warning");
    /* peek reads only up to the flushed WAL: make every commit flush */
    exec_ok("SET synchronous_commit = on");
    exec_ok("DROP PUBLICATION IF EXISTS p2d_pub");
    exec_ok("DROP TABLE IF EXISTS cdc_t, cdc_full, cdc_big");
    exec_ok("CREATE TABLE cdc_t (id int PRIMARY KEY, v text, big text)");
    exec_ok("ALTER TABLE cdc_t ALTER big SET STORAGE EXTERNAL"); /* out of line, uncompressed */
    exec_ok("CREATE TABLE cdc_full (id int PRIMARY KEY, v text, big text)");
    exec_ok("ALTER TABLE cdc_full REPLICA IDENTITY FULL");
    exec_ok("ALTER TABLE cdc_full ALTER big SET STORAGE EXTERNAL");
    exec_ok("CREATE TABLE cdc_big (id int PRIMARY KEY, v text)");
    exec_ok("CREATE PUBLICATION p2d_pub FOR TABLE cdc_t, cdc_full, cdc_big");
    exec_ok("SELECT pg_create_logical_replication_slot('p2d_cdc_test', 'pgoutput')");

    exec_ok("INSERT INTO cdc_t VALUES (1, 'a', repeat('x', 10000))");
    exec_ok("UPDATE cdc_t SET v = 'b' WHERE id = 1"); /* no K; big unchanged -> 'u' */
    exec_ok("UPDATE cdc_t SET id = 2 WHERE id = 1");  /* key change -> K */
    exec_ok("DELETE FROM cdc_t WHERE id = 2");        /* K */
    exec_ok("INSERT INTO cdc_full VALUES (1, 'x', repeat('z', 10000))");
    exec_ok("UPDATE cdc_full SET v = 'y'"); /* O with the detoasted value, N with 'u' */
    exec_ok("DELETE FROM cdc_full");        /* O */
    exec_ok("TRUNCATE cdc_t");
    exec_ok("ALTER TABLE cdc_t ADD COLUMN c int");
    exec_ok("BEGIN");
    exec_ok("INSERT INTO cdc_t VALUES (3, 'c', 'small', 7)");
    exec_ok("SELECT pg_logical_emit_message(true, 'p2d', 'hello')");
    exec_ok("COMMIT");

    memset(&s1, 0, sizeof s1);
    run("p2d_cdc_test", 1, ", 'messages', 'true'", &s1);
    printf("proto 1: %s\n", s1.log);
    T_EQ_INT(s1.inserts, 3);
    T_EQ_INT(s1.updates_plain, 1);
    T_EQ_INT(s1.updates_k, 1);
    T_EQ_INT(s1.updates_o, 1);
    T_EQ_INT(s1.deletes_k, 1);
    T_EQ_INT(s1.deletes_o, 1);
    T_EQ_INT(s1.truncates, 1);
    T_EQ_INT(s1.messages, 1);
    T_EQ_INT(s1.adds, 1);
    T_CHECK(s1.unchanged >= 2); /* DEFAULT and FULL both send 'u' in the new tuple */
    T_CHECK(s1.toast_full_old);
    T_HAS_STR(s1.log, "R(cdc_t) I C");
    T_HAS_STR(s1.log, "B R(cdc_t) I M C");

    /* proto 2 with streaming: one transaction far above 64kB, with a
     * savepoint rolled back in the middle */
    exec_ok("SELECT pg_drop_replication_slot('p2d_cdc_test')");
    exec_ok("SELECT pg_create_logical_replication_slot('p2d_cdc_test', 'pgoutput')");
    exec_ok("SET logical_decoding_work_mem = '64kB'");
    exec_ok("BEGIN");
    exec_ok("INSERT INTO cdc_big SELECT g, repeat('v', 100) FROM generate_series(1, 2000) g");
    exec_ok("SAVEPOINT s1");
    exec_ok("INSERT INTO cdc_big SELECT g, repeat('w', 100) FROM generate_series(2001, 3000) g");
    exec_ok("ROLLBACK TO SAVEPOINT s1");
    exec_ok("INSERT INTO cdc_big SELECT g, repeat('y', 100) FROM generate_series(3001, 4000) g");
    exec_ok("COMMIT");
    memset(&s2, 0, sizeof s2);
    run("p2d_cdc_test", 2, ", 'streaming', 'on'", &s2);
    printf("proto 2: streamed %d inserts, %d subxact aborts dropping %llu items, %d stream "
           "commits keeping %llu items\n",
           s2.streamed, s2.subxact_aborts, (unsigned long long)s2.dropped, s2.stream_commits,
           (unsigned long long)s2.committed_items);
    T_CHECK(s2.streamed > 3000);
    T_EQ_INT(s2.stream_commits, 1);
    T_EQ_INT(s2.subxact_aborts, 1);
    /* the savepoint's rows that were streamed before the rollback (the rest
     * never leave the server) are dropped; the other 3000 rows and the
     * Relation re-sent in each stream block remain */
    T_EQ_INT(s2.dropped, s2.streamed - 3000);
    T_CHECK(s2.stream_relations >= 1);
    T_EQ_INT(s2.committed_items, 3000 + s2.stream_relations);

    exec_ok("SELECT pg_drop_replication_slot('p2d_cdc_test')");
    exec_ok("DROP PUBLICATION p2d_pub");
    PQfinish(conn);
    return t_done();
}
