/*
 * batcher_test.c - per-table CDC batches: in-batch dedupe per key, unchanged
 * TOAST taken over from an earlier change or sent as a partial update,
 * delete rows with fillers, the Duplicate change-log columns, refusals, and
 * a batch that grows large and is sealed and reused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/batcher.h"
#include "p2d_error.h"
#include "testlib.h"

static struct p2d_pgval T(const char *s) {
    return (struct p2d_pgval){
        .kind = P2D_PGVAL_TEXT, .data = (const uint8_t *)s, .len = (uint32_t)strlen(s)};
}

static const struct p2d_pgval N = {.kind = P2D_PGVAL_NULL};
static const struct p2d_pgval U = {.kind = P2D_PGVAL_UNCHANGED};

/* id INT key, name TEXT NOT NULL, big TEXT */
static struct p2d_batcher_col cols3[3];

static struct p2d_batcher *make(bool unique)
{
    struct p2d_batcher_layout l = {
        .table = "db.t", .unique = unique, .format = P2D_ENCODE_CSV, .ncols = 3, .cols = cols3};

    cols3[0] = (struct p2d_batcher_col){.enc = {.name = "id", .rule = P2D_VR_INT, .not_null = true},
                                        .key = unique};
    cols3[1] =
        (struct p2d_batcher_col){.enc = {.name = "name", .rule = P2D_VR_TEXT, .not_null = true}};
    cols3[2] = (struct p2d_batcher_col){.enc = {.name = "big", .rule = P2D_VR_TEXT}};
    return p2d_batcher_create(&l);
}

static int add(struct p2d_batcher *b, enum p2d_cdc_op op, struct p2d_pgval a, struct p2d_pgval c,
               struct p2d_pgval d, uint64_t lsn, uint64_t txn)
{
    struct p2d_pgval v[3] = {a, c, d};
    char err[512];
    int rc = p2d_batcher_add(b, op, v, lsn, INT64_C(1700000000123456), txn, err, sizeof(err));

    if (rc != 0)
        fprintf(stderr, "  (add refused: %s)\n", err);
    return rc;
}

static char *body_text(const struct p2d_cdc_body *body)
{
    char *s = malloc(body->len + 1);

    memcpy(s, body->data, body->len);
    s[body->len] = '\0';
    return s;
}

static void test_dedupe_and_deletes(void)
{
    struct p2d_batcher *b = make(true);
    struct p2d_cdc_body *bodies;
    int n;
    char err[512];
    char *text;

    T_CHECK(b != NULL);
    T_EQ_INT(add(b, P2D_CDC_UPSERT, T("1"), T("a"), T("x"), 100, 1), 0);
    T_EQ_INT(add(b, P2D_CDC_UPSERT, T("2"), T("b"), N, 110, 1), 0);
    T_EQ_INT(add(b, P2D_CDC_UPSERT, T("1"), T("a2"), T("x"), 120, 2), 0); /* replaces lsn 100 */
    T_EQ_INT(add(b, P2D_CDC_DELETE, T("2"), N, N, 130, 3), 0);            /* replaces the upsert */
    T_EQ_INT(add(b, P2D_CDC_UPSERT, T("3"), T("tab\there"), N, 140, 3), 0);
    T_EQ_INT((int)p2d_batcher_rows(b), 3);
    T_EQ_INT((int)p2d_batcher_min_txn(b), 1);
    T_EQ_INT(p2d_batcher_seal(b, &bodies, &n, NULL, NULL, err, sizeof(err)), 0);
    T_EQ_INT(n, 1);
    T_EQ_STR(bodies[0].columns, "columns: `id`,`name`,`big`,__DORIS_DELETE_SIGN__");
    text = body_text(&bodies[0]);
    /* order of arrival of the live records; the delete of NOT NULL "name"
     * gets a filler, NULL "big" stays NULL */
    T_EQ_STR(text, "1\ta2\tx\t0\n2\t\t\\N\t1\n3\t\"tab\there\"\t\\N\t0\n");
    T_EQ_INT((int)bodies[0].rows, 3);
    T_EQ_INT((int)bodies[0].deletes, 1);
    T_EQ_INT((int)bodies[0].first_lsn, 120);
    T_EQ_INT((int)bodies[0].last_lsn, 140);
    T_EQ_INT((int)bodies[0].min_txn, 2);
    free(text);
    p2d_cdc_body_free(&bodies[0]);
    free(bodies);
    /* sealed: empty again */
    T_EQ_INT((int)p2d_batcher_rows(b), 0);
    T_EQ_INT(p2d_batcher_min_txn(b) == UINT64_MAX, 1);
    T_EQ_INT(p2d_batcher_seal(b, &bodies, &n, NULL, NULL, err, sizeof(err)), 0);
    T_EQ_INT(n, 0);
    free(bodies);
    p2d_batcher_destroy(b);
}

static void test_toast(void)
{
    struct p2d_batcher *b = make(true);
    struct p2d_cdc_body *bodies;
    int n;
    char err[512];
    char *t0, *t1;

    /* key 1: an earlier change in the batch has the value: merged, full row */
    T_EQ_INT(add(b, P2D_CDC_UPSERT, T("1"), T("a"), T("BIG"), 100, 1), 0);
    T_EQ_INT(add(b, P2D_CDC_UPSERT, T("1"), T("a2"), U, 110, 2), 0);
    /* key 2: nothing to take it from: a partial update without "big" */
    T_EQ_INT(add(b, P2D_CDC_UPSERT, T("2"), T("b2"), U, 120, 3), 0);
    /* key 3: two partial changes merge, still partial */
    T_EQ_INT(add(b, P2D_CDC_UPSERT, T("3"), T("c"), U, 130, 4), 0);
    T_EQ_INT(add(b, P2D_CDC_UPSERT, T("3"), T("c2"), U, 140, 5), 0);
    T_EQ_INT(p2d_batcher_seal(b, &bodies, &n, NULL, NULL, err, sizeof(err)), 0);
    T_EQ_INT(n, 2);
    T_CHECK(!bodies[0].partial);
    T_CHECK(bodies[1].partial);
    T_EQ_STR(bodies[1].columns, "columns: `id`,`name`");
    t0 = body_text(&bodies[0]);
    t1 = body_text(&bodies[1]);
    T_EQ_STR(t0, "1\ta2\tBIG\t0\n");
    T_EQ_STR(t1, "2\tb2\n3\tc2\n");
    free(t0);
    free(t1);
    for (int i = 0; i < n; i++)
        p2d_cdc_body_free(&bodies[i]);
    free(bodies);
    /* an unchanged TOAST value in a delete, a NULL key: refused */
    T_EQ_INT(add(b, P2D_CDC_UPSERT, N, T("x"), T("y"), 150, 6), P2D_EINVAL);
    T_EQ_INT((int)p2d_batcher_rows(b), 0);
    p2d_batcher_destroy(b);
}

static void test_duplicate(void)
{
    struct p2d_batcher *b = make(false);
    struct p2d_cdc_body *bodies;
    int n;
    char err[512];
    char *text;

    T_EQ_INT(add(b, P2D_CDC_UPSERT, T("1"), T("a"), N, 100, 1), 0);
    T_EQ_INT(add(b, P2D_CDC_DELETE, T("1"), T("a"), N, 110, 2), 0);
    T_EQ_INT(add(b, P2D_CDC_UPSERT, T("1"), T("b"), N, 120, 2), 0); /* no dedupe: a log */
    T_EQ_INT((int)p2d_batcher_rows(b), 3);
    /* a Duplicate table cannot take a partial update */
    T_EQ_INT(add(b, P2D_CDC_UPSERT, T("2"), T("c"), U, 130, 3), P2D_EINVAL);
    T_EQ_INT(p2d_batcher_seal(b, &bodies, &n, NULL, NULL, err, sizeof(err)), 0);
    T_EQ_INT(n, 1);
    T_EQ_STR(bodies[0].columns, "columns: `id`,`name`,`big`,`_is_deleted`,`_version`,`_record_id`");
    text = body_text(&bodies[0]);
    T_EQ_STR(text, "1\ta\t\\N\t0\t1700000000\t100\n"
                   "1\ta\t\\N\t1\t1700000000\t110\n"
                   "1\tb\t\\N\t0\t1700000000\t120\n");
    free(text);
    p2d_cdc_body_free(&bodies[0]);
    free(bodies);
    p2d_batcher_destroy(b);
}

/* Many keys, many replacements, a large value: the map grows, the arena
 * grows, and a sealed batch is reused. */
static void test_large(void)
{
    struct p2d_batcher *b = make(true);
    struct p2d_cdc_body *bodies;
    char key[32], *big = malloc(300000);
    int n;
    char err[512];

    memset(big, 'z', 299999);
    big[299999] = '\0';
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 20000; i++) {
            snprintf(key, sizeof(key), "%d", i % 5000);
            T_EQ_INT(add(b, P2D_CDC_UPSERT, T(key), T("v"), i == 7 ? T(big) : N, (uint64_t)i + 1,
                         (uint64_t)i + 1),
                     0);
        }
        T_EQ_INT((int)p2d_batcher_rows(b), 5000);
        T_EQ_INT(p2d_batcher_seal(b, &bodies, &n, NULL, NULL, err, sizeof(err)), 0);
        T_EQ_INT(n, 1);
        T_EQ_INT((int)bodies[0].rows, 5000);
        T_EQ_INT((int)bodies[0].first_lsn, 15001);
        p2d_cdc_body_free(&bodies[0]);
        free(bodies);
    }
    free(big);
    p2d_batcher_destroy(b);
}

int main(void)
{
    test_dedupe_and_deletes();
    test_toast();
    test_duplicate();
    test_large();
    return t_done();
}
