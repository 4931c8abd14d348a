/*
 * incremental.c - the WAL streamer (incremental.h).
 *
 * DESIGN: the calling thread is both the WAL thread and the control
 * thread: it owns the replication connection, the relation cache, the
 * per-table batches, the state store and the Doris SQL client. One writer
 * thread (sink/writer.h) sends the Stream Loads; its finished() callback
 * appends the load to an event list (mutex) and writes to an eventfd, so
 * the main loop, which sleeps in poll() on the replication socket and that
 * eventfd, wakes for either. Nobody spins.
 *
 * Flow of a change: pgoutput message -> txn_order (is it allowed now) ->
 * table by relation -> values in the table's send layout -> batcher
 * (batcher.h). A table's batch is sealed when --batch-timeout-ms has
 * passed since the table's last load began, when it reaches its size
 * limit, or before DDL / TRUNCATE / stop. Sealed bodies queue per table
 * and go out one at a time, so a table's loads commit in order.
 *
 * Acknowledgement (DESIGN §4.1, docs/pg-replication.md §3.5): every
 * transaction gets a sequence number at Begin; every record keeps it. The
 * flush LSN may move to the end LSN of a received Commit once no record
 * of that transaction or an earlier one is still held anywhere (open
 * batch, queued or in-flight load). The LSN is written to the state store
 * first and sent to PostgreSQL after; it never goes back and never passes
 * what was received. With nothing held and no transaction open, a
 * keepalive's position may be acknowledged too (idle or filtered
 * databases, §8.4).
 *
 * Restart: START_REPLICATION at the stored LSN; a transaction whose commit
 * record begins before it is skipped (§3.6). Labels are
 * p2d_<job>_<table>_<first change LSN>_<hash of last LSN, rows, body>:
 * the same cut of the same changes gets the same label after a crash, and
 * Doris's "Label Already Exists" then says it was applied; another cut
 * re-applies the changes, which converges (keyed upserts and deletes).
 */
#include "sync/incremental.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/text.h"
#include "cdc/batcher.h"
#include "cdc/pgoutput.h"
#include "cdc/relcache.h"
#include "cdc/spill.h"
#include "cdc/txn_order.h"
#include "cdc/wal.h"
#include "control/metrics.h"
#include "control/throttle.h"
#include "p2d_error.h"
#include "schema/ddl.h"
#include "schema/typemap.h"
#include "sink/streamload.h"
#include "sink/writer.h"
#include "snapshot/pgconn.h"
#include "xfer/batch.h"
#include "xfer/ring.h"

#define MOD               "cdc"
#define FEEDBACK_EVERY_MS 10000
#define PROGRESS_EVERY_MS 10000
#define SLOT_EVERY_MS     10000
#define BACKOFF_MAX_MS    30000
#define MAX_COLS          1600
#define ISSUE_LOG_MAX     20

struct inc;

struct inc_load {
    struct inc_load *next;       /* table queue */
    struct inc_load *next_event; /* writer -> main */
    struct inc_table *t;
    struct p2d_cdc_body body;
    struct p2d_load load;
    struct p2d_batch batch; /* foreign batch over body.data */
    struct curl_slist *headers;
    struct p2d_load_answer answer; /* written by the writer thread under mu */
    bool sent;                     /* handed to the writer, outcome pending */
    bool spilled;                  /* body.data is in the table's spill file, not in memory */
    int attempts;
    int64_t due_ns; /* retry time */
    int64_t first_fail_ns;
    int backoff_ms;
};

struct inc_table {
    const struct p2d_table *cat;
    struct p2d_ddl_table *ddl;
    int64_t table_id;
    char name[300]; /* "schema.table" */
    char dest[400]; /* "db.table" */
    unsigned dml;
    bool unique;
    bool layout_ok; /* a Relation has set the send layout */
    uint32_t relid;
    int ncols;
    struct p2d_batcher_col *cols; /* send layout */
    int *rel_pos;                 /* layout column -> Relation column */
    int *layout_of;               /* Relation column -> layout column, -1 */
    int rel_ncols;
    int nkeys;         /* source key columns in the layout */
    bool *src_key;     /* layout column is a source key column */
    char **doris_cols; /* source columns the Doris table has (Doris names) */
    int ndoris;
    struct p2d_batcher *batch;
    int64_t last_send_ns;
    int64_t batch_first_ns;       /* when the open batch got its first change */
    struct inc_load *head, *tail; /* sealed loads, oldest first; head may be in flight */
    size_t queued_bytes;
    struct p2d_spill *spill; /* sealed bodies waiting beyond the memory budget */
    int64_t inserts, updates, deletes, loads, issues;
    int64_t filled; /* key changes whose unchanged TOAST values were read from the source */
    struct p2d_metric *m_ins, *m_upd, *m_del, *m_loads;
};

struct commit_rec {
    uint64_t txn;
    uint64_t end_lsn;
    int64_t commit_ts_us;
};

struct inc {
    const struct p2d_inc_opts *o;
    const struct p2d_job *job;
    struct inc_table *tables;
    size_t ntables;
    struct inc_table *last_table;  /* table_of_relid's last hit */
    struct p2d_catalog **catalogs; /* re-reads after DDL, freed at the end */
    size_t ncatalogs;

    struct p2d_wal *wal;
    struct p2d_relcache *rc;
    struct p2d_txn_order *order;
    struct p2d_pgmsg msg;
    struct p2d_pgval *vals; /* decoder storage */
    struct p2d_pgrelcol *relcols;
    struct p2d_pgval row[MAX_COLS], oldrow[MAX_COLS]; /* values in layout order */

    /* transactions */
    uint64_t txn_seq;
    bool in_txn, skipping;
    int64_t txn_commit_ts_us;
    struct commit_rec *commits; /* received, not yet acknowledged; a FIFO */
    size_t ncommits, commits_head, commits_cap;

    uint64_t start_lsn;
    uint64_t received_lsn; /* highest position received (commit end or keepalive) */
    uint64_t acked_lsn;    /* stored and sent */
    uint64_t sent_lsn;     /* last flush sent to PostgreSQL */
    int64_t acked_commit_ts_us;
    uint64_t server_lsn; /* keepalive walEnd */

    /* writer */
    struct p2d_writer *writer;
    struct p2d_batch_pool *pool;
    struct p2d_ring *ring;
    pthread_t writer_thread;
    bool writer_started;
    int writer_rc;
    int efd;
    pthread_mutex_t mu;
    struct inc_load *events, **events_tail;

    size_t held_bytes; /* open batches + queued bodies */
    size_t batch_limit;
    int64_t last_feedback_ns, last_progress_ns, last_slot_ns, last_store_ns;
    int64_t changes, loads_done, rows_loaded, bytes_loaded;
    int issue_logs;
    bool fatal;
    int fatal_code;
    char slot_wal_status[16];
    int64_t slot_retained;
    size_t spilled_bytes; /* bodies in spill files now */
    int64_t spilled_total;

    struct p2d_metrics *metrics; /* NULL: --metrics-addr not given (calls are no-ops) */
    struct p2d_metric *m_lag_bytes, *m_lag_s, *m_acked, *m_received, *m_server, *m_held, *m_spilled,
        *m_retained, *m_rows, *m_status;
    char m_status_name[16];
    int f_status;
    int64_t last_publish_ns;

    struct p2d_bucket rows_tb, bytes_tb; /* --rows-per-sec, --mb-per-sec */
    int64_t throttle_until_ns;           /* do not read the stream before this */
    int64_t last_prune_ns;
    uint64_t catchup_lsn;     /* the source's WAL end when the stream (re)started */
    bool caught_up;           /* the stream reached catchup_lsn (its tail went out) */
    int64_t ack_due_ns;       /* a position to store was put off until then (0: none) */
    size_t catchup_limit;     /* batch size limit while catching up */
    uint64_t pending_ack_lsn; /* that position, confirmed but not stored yet */
    int64_t pending_ack_ts_us;
};

/* ---- small helpers ---------------------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void log_pg_error(const char *what, const struct p2d_pg_error *e)
{
    P2D_ERROR(MOD, "%s: %s%s%s", what, e->message, e->hint[0] ? "; hint: " : "", e->hint);
}

static void fail(struct inc *s, int code)
{
    if (!s->fatal) {
        s->fatal = true;
        s->fatal_code = code;
    }
}

static char *lsn_str(uint64_t lsn, char *buf)
{
    return p2d_pg_lsn_format(lsn, buf, 32);
}

/* ---- writer side -------------------------------------------------------------------- */

/* Hands load l with its answer a to the main loop (any thread). */
static void post_event(struct inc *s, struct inc_load *l, const struct p2d_load_answer *a)
{
    uint64_t one = 1;

    pthread_mutex_lock(&s->mu);
    l->answer = *a;
    l->next_event = NULL;
    *s->events_tail = l;
    s->events_tail = &l->next_event;
    pthread_mutex_unlock(&s->mu);
    if (write(s->efd, &one, sizeof(one)) < 0) {
        /* the counter cannot overflow in practice; the loop also polls */
    }
}

static void on_finished(struct p2d_load *load, const struct p2d_load_answer *a, void *arg)
{
    post_event(arg, load->user, a);
}

static void *writer_main(void *arg)
{
    struct inc *s = arg;
    uint64_t one = 1;

    s->writer_rc = p2d_writer_run(s->writer);
    if (write(s->efd, &one, sizeof(one)) < 0) {
        /* see on_finished */
    }
    return NULL;
}

/* Hands the head load of t to the writer (label recorded first). */
static void send_load(struct inc *s, struct inc_load *l)
{
    struct inc_table *t = l->t;
    bool already_done = false;

    if (l->attempts == 0) {
        if (p2d_state_load_record(s->o->st, l->load.label, t->table_id, -1, &already_done) != 0) {
            P2D_ERROR(MOD, "%s", p2d_state_errmsg(s->o->st));
            fail(s, P2D_EXIT_STATE);
            return;
        }
        if (already_done) {
            /* applied before a crash: Doris has it */
            struct p2d_load_answer a = {.outcome = P2D_LOAD_DONE, .status = "Recorded"};

            P2D_INFO(MOD, "load %s of \"%s\" was applied before", l->load.label, t->name);
            l->sent = true;
            post_event(s, l, &a);
            return;
        }
    }
    if (l->spilled) {
        size_t len = 0;
        uint64_t tag;
        char *data = malloc(l->body.len ? l->body.len : 1);

        if (!data || p2d_spill_pop(t->spill, data, l->body.len, &len, &tag) != 0 ||
            len != l->body.len) {
            P2D_ERROR(MOD, "table \"%s\": cannot read a load back from the spill file: %s", t->name,
                      data ? p2d_spill_errmsg(t->spill) : "out of memory");
            free(data);
            fail(s, P2D_EXIT_INTERNAL);
            return;
        }
        l->body.data = data;
        l->spilled = false;
        s->spilled_bytes -= l->body.len;
        s->held_bytes += l->body.len;
    }
    l->attempts++;
    l->load.cancel = false;
    l->load.rows_sent = l->load.bytes_sent = l->load.raw_bytes = 0;
    memset(&l->batch, 0, sizeof(l->batch));
    l->batch.load = &l->load;
    l->batch.data = l->body.data;
    l->batch.len = l->batch.cap = l->body.len;
    l->batch.rows = l->body.rows;
    l->batch.end = true;
    l->batch.foreign = true;
    l->sent = true;
    if (p2d_ring_push_mpsc(s->ring, &l->batch, NULL) != 0) {
        P2D_ERROR(MOD, "cannot hand a load to the writer");
        l->sent = false;
        fail(s, P2D_EXIT_INTERNAL);
    }
}

/* ---- loads and the ack ------------------------------------------------------------- */

static void free_load(struct inc_load *l)
{
    if (!l)
        return;
    p2d_cdc_body_free(&l->body);
    curl_slist_free_all(l->headers);
    free(l);
}

static uint64_t table_min_txn(const struct inc_table *t)
{
    uint64_t m = t->batch ? p2d_batcher_min_txn(t->batch) : UINT64_MAX;

    for (const struct inc_load *l = t->head; l; l = l->next)
        if (l->body.min_txn < m)
            m = l->body.min_txn;
    return m;
}

static bool table_idle(const struct inc_table *t)
{
    return !t->head && (!t->batch || p2d_batcher_rows(t->batch) == 0);
}

/* A new SQL session to the source, settings pinned again; a failure shows
 * on the session's next query. */
static void reset_src(struct inc *s)
{
    struct p2d_pg_error e;

    if (p2d_pg_reset(s->o->src, &e) != 0)
        P2D_DEBUG(MOD, "%s", e.message);
}

/* Moves the flush LSN as far as the held records allow; stores it; sends it. */
static void advance_ack(struct inc *s, bool force_feedback)
{
    /* confirmed commits already taken off the queue but not stored yet */
    uint64_t low = UINT64_MAX,
             ack = s->pending_ack_lsn > s->acked_lsn ? s->pending_ack_lsn : s->acked_lsn;
    int64_t ts = s->pending_ack_lsn > s->acked_lsn ? s->pending_ack_ts_us : s->acked_commit_ts_us;
    bool all_idle = true;
    int64_t now = now_ns();
    const uint64_t known = ack; /* logged once, not at every deferred store */

    s->ack_due_ns = 0;

    for (size_t i = 0; i < s->ntables; i++) {
        uint64_t m = table_min_txn(&s->tables[i]);

        if (m < low)
            low = m;
        if (!table_idle(&s->tables[i]))
            all_idle = false;
    }
    while (s->ncommits > 0) {
        struct commit_rec *c = &s->commits[s->commits_head];

        if (c->txn >= low)
            break;
        if (c->end_lsn > ack) {
            ack = c->end_lsn;
            ts = c->commit_ts_us;
        }
        s->commits_head = (s->commits_head + 1) % s->commits_cap;
        s->ncommits--;
    }
    if (all_idle && s->ncommits == 0 && !s->in_txn && s->received_lsn > ack)
        ack = s->received_lsn; /* nothing held: everything received is done */
    if (ack > s->received_lsn)
        ack = s->received_lsn; /* never past what was received */
    if (ack > s->acked_lsn) {
        char x[32], y[32];

        if (ack > known)
            P2D_DEBUG(MOD, "ack %s -> %s (low txn %" PRIu64 ", %zu commits held, idle %d)",
                      lsn_str(s->acked_lsn, x), lsn_str(ack, y), low, s->ncommits, all_idle);
        /* store at most every 200 ms (one fsync), but always when forced;
         * the loop wakes for a store it put off (ack_due_ns) */
        s->pending_ack_lsn = ack;
        s->pending_ack_ts_us = ts;
        if (!force_feedback && now - s->last_store_ns < 200000000LL) {
            s->ack_due_ns = s->last_store_ns + 200000000LL;
        } else {
            if (p2d_state_lsn_set(s->o->st, ack) != 0) {
                P2D_ERROR(MOD, "%s", p2d_state_errmsg(s->o->st));
                fail(s, P2D_EXIT_STATE);
                return;
            }
            s->last_store_ns = now;
            s->acked_lsn = ack;
            s->acked_commit_ts_us = ts;
            /* Everything confirmed and acked: no replay can bring these
             * labels back, so the state need not keep them (once a minute). */
            if (all_idle && s->ncommits == 0 && !s->in_txn &&
                now - s->last_prune_ns > 60000000000LL) {
                if (p2d_state_loads_forget_done(s->o->st, -1, NULL) != 0)
                    P2D_WARN(MOD, "%s", p2d_state_errmsg(s->o->st));
                s->last_prune_ns = now;
            }
        }
    }
    if (s->wal && (force_feedback || s->acked_lsn > s->sent_lsn ||
                   now - s->last_feedback_ns >= (int64_t)FEEDBACK_EVERY_MS * 1000000)) {
        struct p2d_pg_error e;

        if (p2d_wal_feedback(s->wal, s->received_lsn, s->acked_lsn, false, &e) == 0) {
            s->sent_lsn = s->acked_lsn;
            s->last_feedback_ns = now;
        }
        /* a failed send shows up as a broken stream on the next read */
    }
}

static int64_t backoff_next(int *ms)
{
    *ms = *ms ? (*ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *ms * 2) : 1000;
    return (int64_t)*ms * 1000000;
}

/* Starts the head load of every table that has none in flight and is due. */
static void start_loads(struct inc *s)
{
    int64_t now = now_ns();

    for (size_t i = 0; i < s->ntables && !s->fatal; i++) {
        struct inc_load *l = s->tables[i].head;

        if (l && !l->sent && l->due_ns <= now)
            send_load(s, l);
    }
}

/* Handles the writer's answers (main thread). */
static void drain_events(struct inc *s)
{
    struct inc_load *list, *next;
    uint64_t junk;

    if (read(s->efd, &junk, sizeof(junk)) < 0) {
        /* EAGAIN: nothing counted; the list is checked anyway */
    }
    pthread_mutex_lock(&s->mu);
    list = s->events;
    s->events = NULL;
    s->events_tail = &s->events;
    pthread_mutex_unlock(&s->mu);
    for (struct inc_load *l = list; l; l = next) {
        struct inc_table *t = l->t;
        const struct p2d_load_answer *a = &l->answer;
        int64_t now = now_ns();

        next = l->next_event;
        l->sent = false;
        if (a->outcome == P2D_LOAD_DONE) {
            if (strcmp(a->status, "Recorded") != 0 &&
                p2d_state_load_finish(s->o->st, l->load.label, P2D_LOAD_STATUS_DONE, a->txn_id,
                                      a->loaded_rows, NULL) != 0) {
                P2D_ERROR(MOD, "%s", p2d_state_errmsg(s->o->st));
                fail(s, P2D_EXIT_STATE);
            }
            P2D_DEBUG(MOD, "load %s of \"%s\": %s, %lld rows", l->load.label, t->name, a->status,
                      (long long)l->body.rows);
            t->head = l->next;
            if (!t->head)
                t->tail = NULL;
            t->queued_bytes -= l->body.len;
            s->held_bytes -= l->body.len;
            t->loads++;
            p2d_metric_set(t->m_loads, (double)t->loads);
            s->loads_done++;
            s->rows_loaded += l->body.rows;
            s->bytes_loaded += (int64_t)l->body.len;
            free_load(l);
            continue;
        }
        if (a->outcome == P2D_LOAD_BAD_DATA || a->outcome == P2D_LOAD_FATAL) {
            P2D_ERROR(MOD, "Doris refused load %s of \"%s\": %s%s%s%s%s", l->load.label, t->name,
                      a->message[0] ? a->message : a->status,
                      a->first_error[0] ? "; first error: " : "", a->first_error,
                      a->error_url[0] ? "; error rows: " : "", a->error_url);
            if (p2d_state_load_finish(s->o->st, l->load.label, P2D_LOAD_STATUS_FAILED, -1, 0,
                                      a->message) != 0)
                P2D_WARN(MOD, "%s", p2d_state_errmsg(s->o->st));
            fail(s, P2D_EXIT_DEST);
            continue;
        }
        /* RETRY, WAIT_RUNNING, PRECOMMITTED: the same label again, later */
        {
            bool transport = a->status[0] == '\0';
            int window_min = transport ? s->job->retry_connect_min : s->job->retry_other_min;

            if (!l->first_fail_ns)
                l->first_fail_ns = now;
            if (now - l->first_fail_ns > (int64_t)window_min * 60 * 1000000000LL) {
                P2D_ERROR(MOD,
                          "load %s of \"%s\" kept failing for %d minutes: %s; hint: check the "
                          "destination, or raise %s",
                          l->load.label, t->name, window_min,
                          a->message[0] ? a->message : a->status,
                          transport ? "--retry-connect" : "--retry-other");
                fail(s, P2D_EXIT_DEST);
                continue;
            }
            l->due_ns = now + backoff_next(&l->backoff_ms);
            P2D_WARN(MOD, "load %s of \"%s\" failed (%s): %s; retrying in %d s with the same label",
                     l->load.label, t->name, p2d_load_outcome_name(a->outcome),
                     a->message[0] ? a->message : a->status, l->backoff_ms / 1000);
        }
    }
}

/* ---- sealing ------------------------------------------------------------------------ */

static void on_issue(void *arg, const struct p2d_value_issue *issue, const char *column,
                     const char *key)
{
    struct inc_table *t = arg;

    t->issues++;
    if (t->issues <= ISSUE_LOG_MAX)
        P2D_WARN(MOD, "table \"%s\", key (%s), column \"%s\": %s value %s (%s)", t->name, key,
                 column, p2d_typemap_issue_name(issue->kind),
                 p2d_typemap_action_name(issue->action), p2d_typemap_rule_name(issue->rule));
}

static struct curl_slist *load_headers(struct inc *s, const struct p2d_cdc_body *b)
{
    struct curl_slist *h = curl_slist_append(NULL, b->columns);

    if (s->job->format == P2D_FORMAT_JSON) {
        h = curl_slist_append(h, "format: json");
        h = curl_slist_append(h, "read_json_by_line: true");
        h = curl_slist_append(h, "num_as_string: true");
    } else {
        h = curl_slist_append(h, "column_separator: \\t");
        h = curl_slist_append(h, "enclose: \"");
        h = curl_slist_append(h, "escape: \\");
    }
    if (b->partial)
        h = curl_slist_append(h, "partial_columns: true");
    return h;
}

/* Moves a waiting load's body to t's spill file (io_uring), so the stream
 * keeps reading while Doris catches up; it comes back in queue order when
 * the load reaches the head (send_load). Returns 0, or -1 when spilling is
 * not possible (then the body stays in memory and the main loop stops
 * reading until loads finish). */
static int spill_body(struct inc *s, struct inc_table *t, struct inc_load *l)
{
    char err[512];

    if (!t->spill && p2d_spill_create(s->job->state_dir, &t->spill, err, sizeof(err)) != 0) {
        P2D_WARN(MOD, "cannot spill to disk (%s): holding changes in memory instead", err);
        return -1;
    }
    if (p2d_spill_push(t->spill, l->body.data, l->body.len, 0) != 0) {
        P2D_WARN(MOD, "cannot spill to disk (%s): holding changes in memory instead",
                 p2d_spill_errmsg(t->spill));
        return -1;
    }
    free(l->body.data);
    l->body.data = NULL;
    l->spilled = true;
    s->spilled_bytes += l->body.len;
    s->spilled_total += (int64_t)l->body.len;
    return 0;
}

/* Seals t's open batch into loads at the end of its queue. */
static void seal_table(struct inc *s, struct inc_table *t)
{
    struct p2d_cdc_body *bodies = NULL;
    int nbodies = 0, rc;
    size_t before;
    char err[1024];

    if (!t->batch || p2d_batcher_rows(t->batch) == 0)
        return;
    before = p2d_batcher_bytes(t->batch);
    rc = p2d_batcher_seal(t->batch, &bodies, &nbodies, on_issue, t, err, sizeof(err));
    if (rc != 0) {
        if (rc == P2D_EDATA || rc == P2D_EPROTO)
            P2D_ERROR(MOD, "%s", err);
        else
            P2D_ERROR(MOD, "table \"%s\": cannot build a load: %s", t->name, p2d_strerror(rc));
        fail(s, rc == P2D_EDATA ? P2D_EXIT_DEST : P2D_EXIT_INTERNAL);
        return;
    }
    s->held_bytes -= before - p2d_batcher_bytes(t->batch);
    for (int i = 0; i < nbodies; i++) {
        struct inc_load *l = calloc(1, sizeof(*l));
        uint64_t seq;

        if (!l) {
            for (int j = i; j < nbodies; j++)
                p2d_cdc_body_free(&bodies[j]);
            fail(s, P2D_EXIT_INTERNAL);
            break;
        }
        l->t = t;
        l->body = bodies[i];
        l->headers = load_headers(s, &l->body);
        snprintf(l->load.db, sizeof(l->load.db), "%s", t->ddl->database);
        snprintf(l->load.table, sizeof(l->load.table), "%s", t->ddl->table);
        /* what the load holds: its last change, row count, place in the
         * seal, columns and bytes (two bodies may share first and last LSN:
         * the delete and the upsert of a key-changing UPDATE) */
        seq = p2d_fnv1a64(P2D_FNV1A64_BASIS, &l->body.last_lsn, sizeof(l->body.last_lsn));
        seq = p2d_fnv1a64(seq, &l->body.rows, sizeof(l->body.rows));
        seq = p2d_fnv1a64(seq, &i, sizeof(i));
        seq = p2d_fnv1a64(seq, l->body.columns, strlen(l->body.columns));
        seq = p2d_fnv1a64(seq, l->body.data, l->body.len);
        seq &= INT64_MAX;
        if (seq == 0) /* full-load labels end in their read count, _0 first */
            seq = 1;
        p2d_streamload_label(s->o->job_id, t->ddl->table, (int64_t)(l->body.first_lsn & INT64_MAX),
                             (int64_t)seq, l->load.label, sizeof(l->load.label));
        l->load.headers = l->headers;
        l->load.user = l;
        l->load.compress_gz = s->job->compress == P2D_COMPRESS_GZ;
        if (t->tail)
            t->tail->next = l;
        else
            t->head = l;
        t->tail = l;
        t->queued_bytes += l->body.len;
        /* spill from a quarter of the budget: open batches, the body being
         * sealed and one read back from the spill file all fit beside it,
         * and the stream keeps reading while Doris catches up */
        if (l != t->head && s->held_bytes + l->body.len > (size_t)s->job->memory / 4 &&
            spill_body(s, t, l) == 0)
            continue;
        s->held_bytes += l->body.len;
    }
    free(bodies);
    t->last_send_ns = now_ns();
}

/* Seals every table whose batch is due (timeout) or full, and once, when
 * the stream reaches the end of the backlog it started with, every batch:
 * that tail would otherwise wait up to a batch timeout after the backlog
 * was read (one extra load per table and catch-up). */
static void seal_due(struct inc *s)
{
    int64_t now = now_ns(), timeout = (int64_t)s->job->batch_timeout_ms * 1000000;
    bool tail = false;

    if (s->catchup_lsn && !s->caught_up && s->server_lsn >= s->catchup_lsn) {
        s->caught_up = true;
        tail = true;
        P2D_DEBUG(MOD, "caught up with the backlog; loading what it left in batches");
    }
    for (size_t i = 0; i < s->ntables && !s->fatal; i++) {
        struct inc_table *t = &s->tables[i];

        if (!t->batch || p2d_batcher_rows(t->batch) == 0)
            continue;
        if (tail) {
            seal_table(s, t);
            continue;
        }
        /* While catching up, a batch is full at a quarter of the limit:
         * loads then overlap with the decoding of the rest of the backlog
         * instead of all waiting for its end. */
        if (p2d_batcher_bytes(t->batch) >=
            (s->server_lsn < s->catchup_lsn ? s->catchup_limit : s->batch_limit)) {
            seal_table(s, t);
            continue;
        }
        if (now - t->last_send_ns < timeout)
            continue;
        /* Catching up with the WAL that was there when the stream started:
         * a batch that is neither full nor a batch timeout old waits for
         * more, so a backlog goes out in full loads and not as a first
         * small one that would hold the rest back for a batch timeout. */
        if (s->server_lsn < s->catchup_lsn && now - t->batch_first_ns < timeout)
            continue;
        seal_table(s, t);
    }
}

/* Milliseconds until the next batch is due (or limit). */
static int next_due_ms(struct inc *s, int limit)
{
    int64_t now = now_ns(), timeout = (int64_t)s->job->batch_timeout_ms * 1000000, best = limit;

    for (size_t i = 0; i < s->ntables; i++) {
        struct inc_table *t = &s->tables[i];
        struct inc_load *l = t->head;

        if (t->batch && p2d_batcher_rows(t->batch) > 0) {
            int64_t due = t->last_send_ns + timeout;

            /* held while catching up (seal_due): due when a timeout old */
            if (s->server_lsn < s->catchup_lsn && t->batch_first_ns + timeout > due)
                due = t->batch_first_ns + timeout;
            int64_t ms = (due - now) / 1000000;

            if (ms < best)
                best = ms < 0 ? 0 : ms;
        }
        if (l && !l->sent && l->due_ns > now) {
            int64_t ms = (l->due_ns - now) / 1000000;

            if (ms < best)
                best = ms < 0 ? 0 : ms;
        }
    }
    return (int)best;
}

/* Waits (processing answers) until every load of t, or of every table
 * when t is NULL, is confirmed. Seals first. */
static void wait_idle(struct inc *s, struct inc_table *t)
{
    for (;;) {
        bool idle = true;

        for (size_t i = 0; i < s->ntables; i++) {
            struct inc_table *x = &s->tables[i];

            if (t && x != t)
                continue;
            seal_table(s, x);
            if (x->head)
                idle = false;
        }
        if (idle || s->fatal)
            return;
        start_loads(s);
        if (s->writer_rc != 0 || s->fatal)
            return;
        {
            struct pollfd p = {.fd = s->efd, .events = POLLIN};

            (void)poll(&p, 1, next_due_ms(s, 1000));
        }
        drain_events(s);
        advance_ack(s, false);
        if (s->o->signals && *s->o->signals > 1) { /* a second signal: give up waiting */
            P2D_WARN(MOD, "second signal: stopping without waiting for pending loads");
            fail(s, P2D_EXIT_INTERRUPT);
            return;
        }
    }
}

/* ---- the send layout and DDL ---------------------------------------------------------- */

static void free_layout(struct inc_table *t)
{
    free(t->cols);
    free(t->rel_pos);
    free(t->layout_of);
    free(t->src_key);
    t->src_key = NULL;
    t->cols = NULL;
    t->rel_pos = t->layout_of = NULL;
    t->ncols = t->rel_ncols = t->nkeys = 0;
    t->layout_ok = false;
    p2d_batcher_destroy(t->batch);
    t->batch = NULL;
}

static int doris_col_index(const struct inc_table *t, const char *name)
{
    for (int i = 0; i < t->ndoris; i++)
        if (strcasecmp(t->doris_cols[i], name) == 0)
            return i;
    return -1;
}

static int doris_cols_add(struct inc_table *t, const char *name)
{
    char **grown = realloc(t->doris_cols, (size_t)(t->ndoris + 1) * sizeof(*grown));

    if (!grown)
        return P2D_ENOMEM;
    t->doris_cols = grown;
    if (!(t->doris_cols[t->ndoris] = strdup(name)))
        return P2D_ENOMEM;
    t->ndoris++;
    return 0;
}

/* Reads the Doris table's columns (DESC), keeping the source ones. */
static int read_doris_cols(struct inc *s, struct inc_table *t)
{
    char stmt[1024], q1[300], q2[600], err[1024];
    enum p2d_doris_fail f;
    json_t *data = NULL, *rows;
    size_t i;
    json_t *row;

    p2d_doris_quote_ident(t->ddl->database, q1, sizeof(q1));
    p2d_doris_quote_ident(t->ddl->table, q2, sizeof(q2));
    snprintf(stmt, sizeof(stmt), "DESC %s.%s", q1, q2);
    if (p2d_doris_sql_exec(s->o->sql, t->ddl->database, stmt, &data, &f, err, sizeof(err)) != 0) {
        P2D_ERROR(MOD,
                  "cannot read the columns of \"%s\": %s; hint: the stream needs the Doris "
                  "tables: create them with pg2doris sync --mode schema (same flags), then run "
                  "this again",
                  t->dest, err);
        return P2D_EDEST;
    }
    rows = p2d_doris_rows(data);
    json_array_foreach(rows, i, row)
    {
        json_t *field = json_is_array(row) ? json_array_get(row, 0) : NULL;
        const char *name = json_string_value(field);

        if (!name || strcmp(name, "_is_deleted") == 0 || strcmp(name, "_version") == 0 ||
            strcmp(name, "_record_id") == 0 || strncmp(name, "__DORIS_", 8) == 0)
            continue;
        if (doris_cols_add(t, name) != 0) {
            json_decref(data);
            return P2D_ENOMEM;
        }
    }
    json_decref(data);
    return 0;
}

/* The DDL column of source column name in dt, or NULL. */
static const struct p2d_ddl_column *ddl_col_of(const struct p2d_ddl_table *dt,
                                               const struct p2d_table *ct, const char *name)
{
    for (size_t i = 0; i < dt->ncolumns; i++) {
        const struct p2d_ddl_column *dc = &dt->columns[i];

        if (dc->kind == P2D_DDL_SOURCE && strcmp(ct->columns[dc->source].name, name) == 0)
            return dc;
    }
    return NULL;
}

/* Re-reads the catalog and re-plans t from it (after DDL). */
static int replan_table(struct inc *s, struct inc_table *t)
{
    struct p2d_catalog *cat = NULL, **grown;
    const struct p2d_table *ct;
    struct p2d_ddl_table *dt = NULL;
    struct p2d_pg_error e;
    char err[2048];

    for (int attempt = 0;; attempt++) {
        if (PQstatus(s->o->src) == CONNECTION_BAD)
            reset_src(s);
        if (p2d_catalog_read(s->o->src, s->job, 0, &cat, &e) == 0)
            break;
        /* the session may have died with a PostgreSQL restart: a new one */
        if (attempt < 30 && (p2d_pg_error_is_connect(&e) || PQstatus(s->o->src) != CONNECTION_OK ||
                             strstr(e.message, "terminating connection"))) {
            P2D_WARN(MOD, "%s; reconnecting the source session", e.message);
            reset_src(s);
            sleep(attempt < 5 ? 1 : 2);
            continue;
        }
        log_pg_error("cannot re-read the source catalog after a schema change", &e);
        return P2D_ESOURCE;
    }
    grown = realloc(s->catalogs, (s->ncatalogs + 1) * sizeof(*grown));
    if (!grown) {
        p2d_catalog_destroy(cat);
        return P2D_ENOMEM;
    }
    s->catalogs = grown;
    s->catalogs[s->ncatalogs++] = cat;
    ct = p2d_catalog_find(cat, t->cat->schema, t->cat->name);
    if (!ct) {
        P2D_ERROR(MOD,
                  "table \"%s\" is no longer in the source catalog (dropped or renamed); hint: "
                  "drop it from the job and resync",
                  t->name);
        return P2D_ESOURCE;
    }
    if (p2d_ddl_plan(ct, s->job, NULL, &dt, err, sizeof(err)) != 0) {
        P2D_ERROR(MOD, "table \"%s\": %s", t->name, err);
        return P2D_EINVAL;
    }
    p2d_ddl_table_destroy(t->ddl);
    t->ddl = dt;
    t->cat = ct;
    return 0;
}

static int run_doris(struct inc *s, struct inc_table *t, const char *stmt)
{
    char err[1024];
    enum p2d_doris_fail f;

    int64_t first = now_ns();
    int backoff = 0;

    P2D_INFO(MOD, "%s", stmt);
    while (p2d_doris_sql_exec(s->o->sql, t->ddl->database, stmt, NULL, &f, err, sizeof(err)) != 0) {
        /* unreachable Doris: retried for --retry-connect minutes */
        if (f != P2D_DORIS_TRANSPORT ||
            now_ns() - first > (int64_t)s->job->retry_connect_min * 60 * 1000000000LL ||
            (s->o->signals && *s->o->signals > 1)) {
            P2D_ERROR(MOD, "cannot change \"%s\": %s", t->dest, err);
            return P2D_EDEST;
        }
        P2D_WARN(MOD, "cannot reach Doris for \"%s\" (%s); retrying", t->dest, err);
        usleep((useconds_t)(backoff_next(&backoff) / 1000));
    }
    return 0;
}

/*
 * ALTER TABLE ... ADD COLUMN with a DEFAULT fills the rows that exist in
 * PostgreSQL without writing them (a "fast default", pg_attribute
 * attmissingval): no change for them ever reaches the stream. Doris fills
 * its existing rows with the column's DEFAULT, so the statement in q gets
 * that value. Values whose text Doris reads differently (booleans, JSON,
 * rules that clamp) are left out with a warning. Returns 0 or P2D_ENOMEM.
 */
static int add_missing_default(struct inc *s, struct inc_table *t, const struct p2d_ddl_column *dc,
                               struct p2d_buf *q)
{
    struct p2d_buf sql, lit;
    struct p2d_pg_error e;
    PGresult *r = NULL;
    const char *name = t->cat->columns[dc->source].name;
    char *at, *v;
    size_t n;
    int rc;

    p2d_buf_init(&sql, 1 << 16);
    rc = p2d_pg_appendf(&sql,
                        "SELECT attmissingval::text FROM pg_attribute WHERE attrelid = %u "
                        "AND atthasmissing AND attname = ",
                        t->cat->oid);
    if (rc == 0)
        rc = p2d_pg_append_literal(s->o->src, &sql, name);
    if (rc == 0 && p2d_pg_exec(s->o->src, (const char *)sql.data, "cannot read a column default",
                               &r, &e) != 0) {
        P2D_WARN(MOD, "%s; rows older than column \"%s\" keep NULL in Doris", e.message, name);
        r = NULL;
    }
    p2d_buf_fini(&sql);
    if (rc != 0 || !r || PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
        PQclear(r);
        return rc == P2D_ENOMEM ? rc : 0;
    }
    v = PQgetvalue(r, 0, 0); /* an array of one: {7} or {"a b"} or {NULL} */
    n = strlen(v);
    if (n < 2 || strcmp(v, "{NULL}") == 0) {
        PQclear(r);
        return 0;
    }
    v[n - 1] = '\0';
    v++;
    if (*v == '"') { /* quoted element: drop the quotes, undo \ escapes */
        char *w = v, *rd = v + 1;

        while (*rd && *rd != '"') {
            if (*rd == '\\' && rd[1])
                rd++;
            *w++ = *rd++;
        }
        *w = '\0';
    }
    if (dc->d.rule != P2D_VR_INT && dc->d.rule != P2D_VR_DECIMAL && dc->d.rule != P2D_VR_TEXT &&
        dc->d.rule != P2D_VR_DATE && dc->d.rule != P2D_VR_TIMESTAMP) {
        P2D_WARN(MOD,
                 "table \"%s\": column \"%s\" was added with a default the Doris DEFAULT cannot "
                 "carry exactly; rows older than the column keep NULL in Doris; hint: UPDATE them "
                 "in the source to stream their values",
                 t->name, name);
        PQclear(r);
        return 0;
    }
    at = strstr((char *)q->data, " COMMENT '");
    p2d_buf_init(&lit, 1 << 20);
    rc = p2d_pg_appendf(&lit, " DEFAULT ");
    if (rc == 0)
        rc = p2d_ddl_append_literal(&lit, v);
    if (rc == 0)
        rc = p2d_pg_appendf(&lit, "%s", at ? at : "");
    if (rc == 0) {
        q->len = at ? (size_t)(at - (char *)q->data) : q->len;
        rc = p2d_buf_append(q, lit.data, lit.len + 1); /* with the NUL */
        if (rc == 0)
            q->len--;
    }
    p2d_buf_fini(&lit);
    PQclear(r);
    return rc == 0 ? 0 : P2D_ENOMEM;
}

/*
 * A Relation for t: (re)builds the send layout from it and brings the
 * Doris table in line: columns the stream carries and Doris lacks are
 * added; Doris columns the stream no longer carries are dropped when the
 * source catalog has them no more (a replay of an older shape after a
 * restart leaves them alone). Renames and type changes are reported, not
 * guessed.
 */
static int on_relation(struct inc *s, struct inc_table *t, const struct p2d_rel *rel,
                       const struct p2d_reldiff *diff)
{
    char desc[2048];
    bool changed;
    int rc;

    if (diff->flags == 0 && t->layout_ok && t->relid == rel->relid)
        return 0; /* a re-send (ANALYZE, VACUUM, ...) */
    if (diff->flags & (P2D_RELDIFF_RENAMED | P2D_RELDIFF_RETYPED | P2D_RELDIFF_RENAMEREL)) {
        p2d_reldiff_describe(rel, diff, desc, sizeof(desc));
        P2D_ERROR(MOD,
                  "a schema change of \"%s\" cannot be applied automatically: %s; hint: a column "
                  "rename or type change must be made on the Doris table by hand (or the table "
                  "resynced), then the sync restarted",
                  t->name, desc);
        return P2D_ESOURCE;
    }
    if (diff->flags & ~(unsigned)(P2D_RELDIFF_NEW | P2D_RELDIFF_KEY | P2D_RELDIFF_IDENTITY |
                                  P2D_RELDIFF_REORDERED)) {
        p2d_reldiff_describe(rel, diff, desc, sizeof(desc));
        P2D_INFO(MOD, "schema change: %s", desc);
    }
    /* rows of the old shape go out first */
    wait_idle(s, t);
    if (s->fatal)
        return P2D_EDEST;
    changed = t->layout_ok;
    free_layout(t);
    if (rel->ncols > MAX_COLS)
        return P2D_EINVAL;
    /* Re-plan from the catalog, once and before the layout borrows the
     * plan's names, when the stream carries a column the plan lacks or
     * Doris has one the stream lacks (ADD / DROP COLUMN). */
    {
        bool need = false;

        for (int j = 0; j < rel->ncols && !need; j++)
            need = ddl_col_of(t->ddl, t->cat, rel->cols[j].name) == NULL;
        for (int i = 0; i < t->ndoris && !need; i++) {
            bool in_stream = false;

            for (int j = 0; j < rel->ncols && !in_stream; j++) {
                const struct p2d_ddl_column *dc = ddl_col_of(t->ddl, t->cat, rel->cols[j].name);

                in_stream = dc && strcasecmp(dc->name, t->doris_cols[i]) == 0;
            }
            need = !in_stream;
        }
        if (need && (rc = replan_table(s, t)) != 0)
            return rc;
    }
    t->cols = calloc((size_t)rel->ncols + 1, sizeof(*t->cols));
    t->rel_pos = calloc((size_t)rel->ncols + 1, sizeof(*t->rel_pos));
    t->layout_of = calloc((size_t)rel->ncols + 1, sizeof(*t->layout_of));
    t->src_key = calloc((size_t)rel->ncols + 1, sizeof(*t->src_key));
    if (!t->cols || !t->rel_pos || !t->layout_of || !t->src_key)
        return P2D_ENOMEM;
    for (int j = 0; j < rel->ncols; j++) {
        const struct p2d_ddl_column *dc = ddl_col_of(t->ddl, t->cat, rel->cols[j].name);

        if (!dc) {
            P2D_ERROR(MOD,
                      "table \"%s\": column \"%s\" is in the stream but no longer in the source "
                      "catalog, so its type cannot be mapped; hint: resync the table",
                      t->name, rel->cols[j].name);
            return P2D_ESOURCE;
        }
        t->layout_of[j] = t->ncols;
        t->rel_pos[t->ncols] = j;
        p2d_encode_col_from(&t->cols[t->ncols].enc, dc->name, &dc->d);
        /* Unique: the Doris key. Duplicate: no dedupe, so no batcher key; the
         * source key (if any) still tells a key change (src_key). */
        t->cols[t->ncols].key = t->unique && dc->is_key;
        t->src_key[t->ncols] = t->cat->columns[dc->source].key_position > 0;
        t->nkeys += t->src_key[t->ncols];
        t->ncols++;
    }
    t->rel_ncols = rel->ncols;
    for (size_t i = 0; i < t->ddl->nkey; i++) {
        bool found = false;

        if (t->ddl->columns[i].kind != P2D_DDL_SOURCE)
            continue;
        for (int c = 0; c < t->ncols; c++)
            found = found || strcasecmp(t->cols[c].enc.name, t->ddl->columns[i].name) == 0;
        if (!found) {
            P2D_ERROR(MOD,
                      "table \"%s\": key column \"%s\" is not in the stream; hint: the key "
                      "cannot change under a running sync; resync the table",
                      t->name, t->ddl->columns[i].name);
            return P2D_ESOURCE;
        }
    }
    /* columns to add */
    for (int c = 0; c < t->ncols; c++) {
        const struct p2d_ddl_column *dc;
        struct p2d_buf q;
        char err[1024];

        if (doris_col_index(t, t->cols[c].enc.name) >= 0)
            continue;
        dc = ddl_col_of(t->ddl, t->cat, rel->cols[t->rel_pos[c]].name);
        p2d_buf_init(&q, 1 << 20);
        {
            /* the plan (from the catalog of now) has the column already:
             * render the ALTER against the plan without it */
            struct p2d_ddl_table without = *t->ddl;
            struct p2d_ddl_column *kept = calloc(t->ddl->ncolumns, sizeof(*kept));

            if (!kept) {
                p2d_buf_fini(&q);
                return P2D_ENOMEM;
            }
            without.ncolumns = 0;
            for (size_t i = 0; i < t->ddl->ncolumns; i++)
                if (strcasecmp(t->ddl->columns[i].name, dc->name) != 0)
                    kept[without.ncolumns++] = t->ddl->columns[i];
            without.columns = kept;
            rc = p2d_ddl_alter_add_column(&without, dc->name, &dc->d,
                                          t->cat->columns[dc->source].type_display, &q, err,
                                          sizeof(err));
            free(kept);
        }
        if (rc == 0 && q.len == 0)
            rc = P2D_EINVAL;
        if (rc == 0)
            rc = add_missing_default(s, t, dc, &q);
        if (rc == 0)
            rc = run_doris(s, t, (const char *)q.data);
        else if (rc == P2D_EINVAL)
            P2D_ERROR(MOD, "table \"%s\": cannot add column \"%s\": %s", t->name, dc->name, err);
        p2d_buf_fini(&q);
        if (rc == 0)
            rc = doris_cols_add(t, dc->name);
        if (rc != 0)
            return rc;
    }
    /* columns to drop: in Doris, not in the stream, not in the source any more */
    for (int i = 0; i < t->ndoris;) {
        bool in_stream = false, in_source = false;

        for (int c = 0; c < t->ncols; c++)
            in_stream = in_stream || strcasecmp(t->cols[c].enc.name, t->doris_cols[i]) == 0;
        in_source = in_stream || p2d_ddl_column_index(t->ddl, t->doris_cols[i]) >= 0;
        if (in_stream || in_source) {
            i++;
            continue;
        }
        {
            struct p2d_buf q;
            char err[1024];

            p2d_buf_init(&q, 1 << 20);
            rc = p2d_ddl_alter_drop_column(t->ddl, t->doris_cols[i], &q, err, sizeof(err));
            if (rc == P2D_EINVAL) {
                /* the re-planned layout no longer has it: render by hand */
                char q1[300], q2[600], q3[600];

                p2d_buf_reset(&q);
                p2d_doris_quote_ident(t->ddl->database, q1, sizeof(q1));
                p2d_doris_quote_ident(t->ddl->table, q2, sizeof(q2));
                p2d_doris_quote_ident(t->doris_cols[i], q3, sizeof(q3));
                rc = p2d_pg_appendf(&q, "ALTER TABLE %s.%s DROP COLUMN %s", q1, q2, q3);
            }
            if (rc == 0)
                rc = run_doris(s, t, (const char *)q.data);
            p2d_buf_fini(&q);
            if (rc != 0)
                return rc;
            free(t->doris_cols[i]);
            memmove(&t->doris_cols[i], &t->doris_cols[i + 1],
                    (size_t)(t->ndoris - i - 1) * sizeof(*t->doris_cols));
            t->ndoris--;
        }
    }
    {
        struct p2d_batcher_layout l = {
            .table = t->dest,
            .unique = t->unique,
            .format = s->job->format == P2D_FORMAT_JSON ? P2D_ENCODE_JSON : P2D_ENCODE_CSV,
            .ncols = t->ncols,
            .cols = t->cols,
        };

        t->batch = p2d_batcher_create(&l);
        if (!t->batch) {
            P2D_ERROR(MOD, "table \"%s\": cannot make a batch for its columns", t->name);
            return P2D_ENOMEM;
        }
    }
    t->relid = rel->relid;
    t->layout_ok = true;
    if (changed)
        P2D_INFO(MOD, "table \"%s\" now streams %d columns", t->name, t->ncols);
    return 0;
}

/* ---- changes -------------------------------------------------------------------------- */

/* The table a change's relid streams into. Per change: the last hit is
 * tried first (changes come in runs of one table). */
static struct inc_table *table_of_relid(struct inc *s, uint32_t relid)
{
    struct inc_table *t = s->last_table;

    if (t && t->layout_ok && t->relid == relid)
        return t;
    for (size_t i = 0; i < s->ntables; i++)
        if (s->tables[i].layout_ok && s->tables[i].relid == relid)
            return s->last_table = &s->tables[i];
    return NULL;
}

static struct inc_table *table_of_rel(struct inc *s, const struct p2d_rel *rel)
{
    for (size_t i = 0; i < s->ntables; i++)
        if (strcmp(s->tables[i].cat->schema, rel->nspname) == 0 &&
            strcmp(s->tables[i].cat->name, rel->relname) == 0)
            return &s->tables[i];
    return NULL;
}

/* Tuple values into out[] in layout order. */
static void to_layout(const struct inc_table *t, const struct p2d_pgtuple *tup,
                      struct p2d_pgval *out)
{
    for (int c = 0; c < t->ncols; c++) {
        int j = t->rel_pos[c];

        if (j < tup->ncols)
            out[c] = tup->vals[j];
        else
            out[c] = (struct p2d_pgval){.kind = P2D_PGVAL_NULL};
    }
}

static bool key_equal(const struct inc_table *t, const struct p2d_pgval *a,
                      const struct p2d_pgval *b)
{
    for (int c = 0; c < t->ncols; c++) {
        if (!t->src_key[c])
            continue;
        if (a[c].kind != b[c].kind || a[c].len != b[c].len ||
            (a[c].len && memcmp(a[c].data, b[c].data, a[c].len) != 0))
            return false;
    }
    return true;
}

static int add_change(struct inc *s, struct inc_table *t, enum p2d_cdc_op op,
                      const struct p2d_pgval *vals, uint64_t lsn)
{
    char err[1024];
    size_t before = p2d_batcher_bytes(t->batch);
    int rc =
        p2d_batcher_add(t->batch, op, vals, lsn, s->txn_commit_ts_us, s->txn_seq, err, sizeof(err));

    if (rc == P2D_EINVAL) {
        P2D_ERROR(MOD, "%s", err);
        return P2D_ESOURCE;
    }
    if (rc != 0)
        return rc;
    s->held_bytes += p2d_batcher_bytes(t->batch) - before;
    if (p2d_batcher_rows(t->batch) == 1)
        t->batch_first_ns = now_ns();
    s->changes++;
    if (p2d_batcher_bytes(t->batch) >= s->batch_limit)
        seal_table(s, t);
    return 0;
}

/*
 * A key-changing UPDATE on REPLICA IDENTITY DEFAULT / USING INDEX that left
 * a TOASTed value alone: the value is in no message (the old tuple holds
 * the key only), and the row under the new key is not in Doris yet, so a
 * partial update cannot supply it. It is read from the source by the new
 * key instead: the row as it is now, which may be newer than this change;
 * every later change of that key follows in the stream, so the destination
 * still converges to the source. Returns 0 with the values filled into
 * s->row (pointing into *res, which the caller clears), 1 when no row has
 * that key any more (a later change deleted it or moved it away: the
 * stream brings that change too, so nothing is written under the new key),
 * or P2D_ESOURCE after logging why.
 */
static int fill_unchanged(struct inc *s, struct inc_table *t, uint32_t relid, PGresult **res)
{
    const struct p2d_rel *rel = p2d_relcache_get(s->rc, relid);
    const char *params[MAX_COLS];
    char *owned[MAX_COLS];
    int nparams = 0, rc = 0, ncols = 0, colof[MAX_COLS];
    struct p2d_buf sql;
    struct p2d_pg_error e;

    *res = NULL;
    if (!rel)
        return P2D_ESOURCE;
    if (PQstatus(s->o->src) == CONNECTION_BAD)
        reset_src(s);
    p2d_buf_init(&sql, 1 << 20);
    rc = p2d_pg_appendf(&sql, "SELECT ");
    for (int c = 0; rc == 0 && c < t->ncols; c++) {
        if (s->row[c].kind != P2D_PGVAL_UNCHANGED)
            continue;
        if (ncols && (rc = p2d_pg_appendf(&sql, ", ")) != 0)
            break;
        rc = p2d_pg_append_ident(s->o->src, &sql, rel->cols[t->rel_pos[c]].name);
        colof[ncols++] = c;
    }
    if (rc == 0)
        rc = p2d_pg_appendf(&sql, " FROM %s", t->cat->relkind == 'p' ? "" : "ONLY ");
    if (rc == 0)
        rc = p2d_pg_append_ident(s->o->src, &sql, rel->nspname);
    if (rc == 0)
        rc = p2d_pg_appendf(&sql, ".");
    if (rc == 0)
        rc = p2d_pg_append_ident(s->o->src, &sql, rel->relname);
    for (int c = 0; rc == 0 && c < t->ncols; c++) {
        if (!t->src_key[c])
            continue;
        if (s->row[c].kind != P2D_PGVAL_TEXT) {
            rc = P2D_EINVAL; /* keys are never NULL or unchanged */
            break;
        }
        owned[nparams] = strndup((const char *)s->row[c].data, s->row[c].len);
        if (!owned[nparams]) {
            rc = P2D_ENOMEM;
            break;
        }
        params[nparams] = owned[nparams];
        nparams++;
        if ((rc = p2d_pg_appendf(&sql, " %s ", nparams == 1 ? "WHERE" : "AND")) == 0 &&
            (rc = p2d_pg_append_ident(s->o->src, &sql, rel->cols[t->rel_pos[c]].name)) == 0)
            rc = p2d_pg_appendf(&sql, " = $%d", nparams);
    }
    if (rc == 0) {
        for (int attempt = 0; attempt < 2; attempt++) {
            *res = PQexecParams(s->o->src, (const char *)sql.data, nparams, NULL, params, NULL,
                                NULL, 0);
            if (PQresultStatus(*res) == PGRES_TUPLES_OK || PQstatus(s->o->src) == CONNECTION_OK)
                break;
            if (attempt == 0) { /* PostgreSQL restarted: once more on a new session */
                PQclear(*res);
                *res = NULL;
                reset_src(s);
            }
        }
        if (PQresultStatus(*res) != PGRES_TUPLES_OK) {
            p2d_pg_error_from(s->o->src, *res, "cannot read a row under its new key", &e);
            P2D_ERROR(MOD, "table \"%s\": %s", t->name, e.message);
            rc = P2D_ESOURCE;
        } else if (PQntuples(*res) == 0) {
            rc = 1;
        } else {
            for (int i = 0; i < ncols; i++)
                s->row[colof[i]] =
                    PQgetisnull(*res, 0, i)
                        ? (struct p2d_pgval){.kind = P2D_PGVAL_NULL}
                        : (struct p2d_pgval){.kind = P2D_PGVAL_TEXT,
                                             .data = (const uint8_t *)PQgetvalue(*res, 0, i),
                                             .len = (uint32_t)PQgetlength(*res, 0, i)};
        }
    } else {
        P2D_ERROR(MOD, "table \"%s\": cannot build the query of a row under its new key: %s",
                  t->name, p2d_strerror(rc));
        rc = P2D_ESOURCE;
    }
    for (int i = 0; i < nparams; i++)
        free(owned[i]);
    p2d_buf_fini(&sql);
    if (rc != 0 && rc != 1) {
        PQclear(*res);
        *res = NULL;
    }
    return rc;
}

static int on_change(struct inc *s, const struct p2d_pgmsg *m, uint64_t lsn)
{
    struct inc_table *t = table_of_relid(s, m->u.change.relid);
    const struct p2d_pgtuple *oldt = &m->u.change.old, *newt = &m->u.change.newtup;
    char kind = m->kind;
    int rc;

    if (!t)
        return 0; /* not a table of this job (the publication may be shared) */
    if (kind == P2D_PGMSG_INSERT) {
        if (!(t->dml & P2D_DML_INSERT))
            return 0;
        t->inserts++;
        to_layout(t, newt, s->row);
        return add_change(s, t, P2D_CDC_UPSERT, s->row, lsn);
    }
    if (kind == P2D_PGMSG_DELETE) {
        if (!(t->dml & P2D_DML_DELETE))
            return 0;
        t->deletes++;
        to_layout(t, oldt, s->oldrow);
        return add_change(s, t, P2D_CDC_DELETE, s->oldrow, lsn);
    }
    /* UPDATE */
    if (!(t->dml & P2D_DML_UPDATE))
        return 0;
    t->updates++;
    to_layout(t, newt, s->row);
    if (m->u.change.old_kind) {
        bool keyless = t->nkeys == 0;

        to_layout(t, oldt, s->oldrow);
        if (m->u.change.old_kind == 'O') /* REPLICA IDENTITY FULL: fill unchanged TOAST */
            for (int c = 0; c < t->ncols; c++)
                if (s->row[c].kind == P2D_PGVAL_UNCHANGED)
                    s->row[c] = s->oldrow[c];
        /* A changed key: the old key goes first. On a table without a key
         * (Duplicate, REPLICA IDENTITY FULL) the old row is marked deleted. */
        if (!keyless && !key_equal(t, s->row, s->oldrow)) {
            for (int c = 0; c < t->ncols; c++) {
                PGresult *res = NULL;

                if (s->row[c].kind != P2D_PGVAL_UNCHANGED)
                    continue;
                /* the new key's row needs the value, and it is neither in
                 * the stream nor under the new key in Doris */
                rc = fill_unchanged(s, t, m->u.change.relid, &res);
                if (rc < 0)
                    return rc;
                t->filled++;
                if (t->filled == 1)
                    P2D_INFO(MOD,
                             "table \"%s\": an UPDATE changed the key and left a TOASTed "
                             "value unchanged; it is read from the source under the new key "
                             "(REPLICA IDENTITY FULL would carry it in the WAL)",
                             t->name);
                {
                    int found = rc == 0;

                    rc = add_change(s, t, P2D_CDC_DELETE, s->oldrow, lsn);
                    if (rc == 0 && found)
                        rc = add_change(s, t, P2D_CDC_UPSERT, s->row, lsn);
                }
                PQclear(res);
                return rc;
            }
        }
        if (keyless ? m->u.change.old_kind == 'O' : !key_equal(t, s->row, s->oldrow)) {
            rc = add_change(s, t, P2D_CDC_DELETE, s->oldrow, lsn);
            if (rc != 0)
                return rc;
        }
    }
    return add_change(s, t, P2D_CDC_UPSERT, s->row, lsn);
}

static int on_truncate(struct inc *s, const struct p2d_pgmsg *m)
{
    for (uint32_t i = 0; i < m->u.truncate.nrels; i++) {
        struct inc_table *t = table_of_relid(s, p2d_pgmsg_truncate_relid(m, i));
        char q1[300], q2[600], stmt[1024];
        int rc;

        if (!t)
            continue;
        if (s->job->on_truncate == P2D_TRUNCATE_REFUSE) {
            P2D_ERROR(MOD,
                      "source table \"%s\" was truncated and --on-truncate is refuse: the sync "
                      "stops before it; hint: truncate \"%s\" in Doris by hand and restart with "
                      "--on-truncate apply, or resync the table",
                      t->name, t->dest);
            return P2D_ESOURCE;
        }
        wait_idle(s, t);
        if (s->fatal)
            return P2D_EDEST;
        p2d_doris_quote_ident(t->ddl->database, q1, sizeof(q1));
        p2d_doris_quote_ident(t->ddl->table, q2, sizeof(q2));
        snprintf(stmt, sizeof(stmt), "TRUNCATE TABLE %s.%s", q1, q2);
        P2D_INFO(MOD, "source table \"%s\" was truncated", t->name);
        if ((rc = run_doris(s, t, stmt)) != 0)
            return rc;
    }
    return 0;
}

static int push_commit(struct inc *s, uint64_t end_lsn)
{
    if (s->ncommits == s->commits_cap) {
        size_t cap = s->commits_cap ? s->commits_cap * 2 : 1024;
        struct commit_rec *c = malloc(cap * sizeof(*c));

        if (!c)
            return P2D_ENOMEM;
        for (size_t i = 0; i < s->ncommits; i++)
            c[i] = s->commits[(s->commits_head + i) % s->commits_cap];
        free(s->commits);
        s->commits = c;
        s->commits_cap = cap;
        s->commits_head = 0;
    }
    s->commits[(s->commits_head + s->ncommits) % s->commits_cap] = (struct commit_rec){
        .txn = s->txn_seq, .end_lsn = end_lsn, .commit_ts_us = s->txn_commit_ts_us};
    s->ncommits++;
    return 0;
}

/* Takes one row and its bytes from the --rows-per-sec / --mb-per-sec
 * buckets; when they are in debt, the loop stops reading until they are
 * not (it still answers Doris and sends status updates meanwhile). */
static void throttle(struct inc *s, int64_t bytes)
{
    int64_t now = now_ns(), wait = 0, w;

    if (s->job->rows_per_sec > 0 && (w = p2d_bucket_take(&s->rows_tb, 1, now)) > wait)
        wait = w;
    if (s->job->mb_per_sec > 0 && (w = p2d_bucket_take(&s->bytes_tb, bytes, now)) > wait)
        wait = w;
    if (wait > 0)
        s->throttle_until_ns = now + wait;
}

/* One XLogData payload. Returns 0, or a negative P2D_E* (logged). */
static int on_xlogdata(struct inc *s, const struct p2d_walmsg *w)
{
    struct p2d_pgerr perr;
    struct p2d_txn_step step;
    struct p2d_pgmsg *m = &s->msg;
    int rc;

    rc = p2d_pgoutput_decode(w->payload, w->payload_len, p2d_wal_proto(s->wal),
                             p2d_txn_order_in_stream(s->order), m, &perr);
    if (rc != 0) {
        P2D_ERROR(MOD, "cannot decode the replication stream at %" PRIX64 ": %s", w->wal_start,
                  perr.msg);
        return P2D_EPROTO;
    }
    rc = p2d_txn_order_feed(s->order, m, &step, &perr);
    if (rc != 0) {
        P2D_ERROR(MOD, "the replication stream broke its order: %s", perr.msg);
        return P2D_EPROTO;
    }
    switch (m->kind) {
    case P2D_PGMSG_BEGIN:
        s->in_txn = true;
        s->skipping = m->u.begin.final_lsn < s->start_lsn;
        s->txn_seq++;
        s->txn_commit_ts_us = m->u.begin.commit_ts + P2D_PG_EPOCH_OFFSET_US;
        return 0;
    case P2D_PGMSG_COMMIT:
        P2D_DEBUG(MOD, "commit txn %" PRIu64 " end %" PRIX64, s->txn_seq, m->u.commit.end_lsn);
        s->in_txn = false;
        if (m->u.commit.end_lsn > s->received_lsn)
            s->received_lsn = m->u.commit.end_lsn;
        if (s->skipping) {
            s->skipping = false;
            return 0;
        }
        return push_commit(s, m->u.commit.end_lsn);
    case P2D_PGMSG_RELATION: {
        struct p2d_reldiff diff;
        const struct p2d_rel *rel;
        struct inc_table *t;

        if ((rc = p2d_relcache_apply(s->rc, m, &diff)) != 0) {
            P2D_ERROR(MOD, "cannot keep the relation of the stream: %s", p2d_strerror(rc));
            return rc;
        }
        rel = p2d_relcache_get(s->rc, m->u.relation.relid);
        t = table_of_rel(s, rel);
        if (!t)
            return 0;
        if (t->layout_ok && t->relid != rel->relid)
            diff.flags |= P2D_RELDIFF_NEW; /* another OID: a leaf, or a re-created table */
        return on_relation(s, t, rel, &diff);
    }
    case P2D_PGMSG_TYPE: {
        bool changed;

        return p2d_relcache_apply_type(s->rc, m, &changed);
    }
    case P2D_PGMSG_INSERT:
    case P2D_PGMSG_UPDATE:
    case P2D_PGMSG_DELETE:
        if (s->skipping)
            return 0;
        throttle(s, (int64_t)w->payload_len);
        return on_change(s, m, w->wal_start);
    case P2D_PGMSG_TRUNCATE:
        if (s->skipping)
            return 0;
        return on_truncate(s, m);
    default:
        return 0; /* Origin, Message: nothing to apply */
    }
}

/* ---- observability ----------------------------------------------------------------------- */

static void slot_status(struct inc *s)
{
    char sql[512];
    struct p2d_pg_error e;
    PGresult *r = NULL;

    if (PQstatus(s->o->src) == CONNECTION_BAD)
        reset_src(s); /* PostgreSQL restarted under the stream */
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(wal_status, ''), "
             "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint "
             "FROM pg_replication_slots WHERE slot_name = '%s'",
             s->o->slot);
    if (p2d_pg_exec(s->o->src, sql, "cannot read the slot's status", &r, &e) != 0) {
        P2D_WARN(MOD, "%s", e.message);
        reset_src(s); /* a new session for the next time */
        return;
    }
    if (PQntuples(r) == 1) {
        snprintf(s->slot_wal_status, sizeof(s->slot_wal_status), "%s", PQgetvalue(r, 0, 0));
        s->slot_retained = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        if (strcmp(s->slot_wal_status, "unreserved") == 0 ||
            strcmp(s->slot_wal_status, "lost") == 0)
            P2D_WARN(MOD,
                     "slot \"%s\" has wal_status %s: PostgreSQL may remove WAL the sync still "
                     "needs; hint: raise max_slot_wal_keep_size or speed up the destination",
                     s->o->slot, s->slot_wal_status);
    }
    PQclear(r);
}

/* Lag in bytes (server position - acked) and seconds (age of the oldest
 * received but unacknowledged commit). */
static void lag(const struct inc *s, uint64_t *bytes, double *secs)
{
    *bytes = s->server_lsn > s->acked_lsn ? s->server_lsn - s->acked_lsn : 0;
    *secs = 0;
    if (s->ncommits > 0)
        *secs = (double)(wall_us() - s->commits[s->commits_head].commit_ts_us) / 1e6;
    if (*secs < 0)
        *secs = 0;
}

static void setup_metrics(struct inc *s)
{
    struct p2d_metrics *m = s->metrics;
    int f;

#define GAUGE(var, name, help)                                                                     \
    do {                                                                                           \
        if (p2d_metrics_family(m, name, help, P2D_METRIC_GAUGE, NULL, &f) == 0)                    \
            var = p2d_metrics_series(m, f, NULL);                                                  \
    } while (0)
    GAUGE(s->m_lag_bytes, "pg2doris_cdc_lag_bytes",
          "WAL bytes between the server and the acked LSN");
    GAUGE(s->m_lag_s, "pg2doris_cdc_lag_seconds",
          "age of the oldest received commit not yet confirmed by Doris");
    GAUGE(s->m_acked, "pg2doris_cdc_acked_lsn", "flush LSN confirmed to PostgreSQL (as a number)");
    GAUGE(s->m_received, "pg2doris_cdc_received_lsn", "highest LSN received");
    GAUGE(s->m_server, "pg2doris_cdc_server_lsn", "the walsender's position from keepalives");
    GAUGE(s->m_held, "pg2doris_cdc_memory_bytes", "change bytes held in memory");
    GAUGE(s->m_spilled, "pg2doris_cdc_spilled_bytes", "load bodies waiting in spill files");
    GAUGE(s->m_retained, "pg2doris_slot_retained_wal_bytes",
          "WAL the slot keeps (pg_current_wal_lsn - restart_lsn)");
    GAUGE(s->m_rows, "pg2doris_cdc_rows_loaded_total", "rows confirmed by Doris");
#undef GAUGE
    if (p2d_metrics_family(m, "pg2doris_slot_wal_status", "1 for the slot's current wal_status",
                           P2D_METRIC_GAUGE, "status", &s->f_status) != 0)
        s->f_status = -1;
    for (int k = 0; k < 4; k++) {
        static const char *const names[4] = {
            "pg2doris_cdc_inserts_total", "pg2doris_cdc_updates_total",
            "pg2doris_cdc_deletes_total", "pg2doris_cdc_loads_total"};
        static const char *const helps[4] = {"INSERTs streamed", "UPDATEs streamed",
                                             "DELETEs streamed", "Stream Loads confirmed"};

        if (p2d_metrics_family(m, names[k], helps[k], P2D_METRIC_COUNTER, "table", &f) != 0)
            continue;
        for (size_t i = 0; i < s->ntables; i++) {
            struct inc_table *t = &s->tables[i];
            struct p2d_metric *x = p2d_metrics_series(m, f, t->name);

            if (k == 0)
                t->m_ins = x;
            else if (k == 1)
                t->m_upd = x;
            else if (k == 2)
                t->m_del = x;
            else
                t->m_loads = x;
        }
    }
}

static void publish_metrics(struct inc *s)
{
    uint64_t lb;
    double ls;

    if (!s->metrics || now_ns() - s->last_publish_ns < 100000000LL)
        return;
    s->last_publish_ns = now_ns();
    lag(s, &lb, &ls);
    p2d_metric_set(s->m_lag_bytes, (double)lb);
    p2d_metric_set(s->m_lag_s, ls);
    p2d_metric_set(s->m_acked, (double)s->acked_lsn);
    p2d_metric_set(s->m_received, (double)s->received_lsn);
    p2d_metric_set(s->m_server, (double)s->server_lsn);
    p2d_metric_set(s->m_held, (double)s->held_bytes);
    p2d_metric_set(s->m_spilled, (double)s->spilled_bytes);
    p2d_metric_set(s->m_retained, (double)s->slot_retained);
    p2d_metric_set(s->m_rows, (double)s->rows_loaded);
    for (size_t i = 0; i < s->ntables; i++) {
        struct inc_table *t = &s->tables[i];

        p2d_metric_set(t->m_ins, (double)t->inserts);
        p2d_metric_set(t->m_upd, (double)t->updates);
        p2d_metric_set(t->m_del, (double)t->deletes);
    }
    if (strcmp(s->m_status_name, s->slot_wal_status) != 0 && s->slot_wal_status[0]) {
        p2d_metric_set(s->m_status, 0);
        s->m_status = p2d_metrics_series(s->metrics, s->f_status, s->slot_wal_status);
        p2d_metric_set(s->m_status, 1);
        snprintf(s->m_status_name, sizeof(s->m_status_name), "%s", s->slot_wal_status);
    }
}

static void progress(struct inc *s, bool force)
{
    int64_t now = now_ns();
    char a[32], b[32];
    double lag_s = 0;
    uint64_t lag_bytes;
    int64_t every = s->job->progress_every_s > 0 ? s->job->progress_every_s * 1000000000LL
                                                 : (int64_t)PROGRESS_EVERY_MS * 1000000;

    publish_metrics(s);
    if (!force && now - s->last_progress_ns < every)
        return;
    s->last_progress_ns = now;
    lag(s, &lag_bytes, &lag_s);
    P2D_INFO(MOD,
             "streaming: acked %s, server at %s, lag %" PRIu64 " bytes / %.1f s; %lld changes, "
             "%lld loads (%lld rows); %zu bytes in memory, %zu spilled; slot wal_status %s, "
             "retained %lld bytes",
             lsn_str(s->acked_lsn, a), lsn_str(s->server_lsn, b), lag_bytes, lag_s,
             (long long)s->changes, (long long)s->loads_done, (long long)s->rows_loaded,
             s->held_bytes, s->spilled_bytes, s->slot_wal_status[0] ? s->slot_wal_status : "?",
             (long long)s->slot_retained);
}

static void summary(struct inc *s)
{
    P2D_INFO(MOD, "%-40s %10s %10s %10s %8s", "table", "inserts", "updates", "deletes", "loads");
    for (size_t i = 0; i < s->ntables; i++) {
        const struct inc_table *t = &s->tables[i];

        P2D_INFO(MOD, "%-40s %10lld %10lld %10lld %8lld", t->name, (long long)t->inserts,
                 (long long)t->updates, (long long)t->deletes, (long long)t->loads);
    }
}

/* ---- setup and the loop -------------------------------------------------------------------- */

static int setup_tables(struct inc *s)
{
    const struct p2d_catalog *cat = s->o->cat;
    struct p2d_state_plan plan = {0};

    if (p2d_state_plan_load(s->o->st, &plan) != 0) {
        P2D_ERROR(MOD, "%s", p2d_state_errmsg(s->o->st));
        return P2D_EXIT_STATE;
    }
    s->tables = calloc(cat->ntables, sizeof(*s->tables));
    if (!s->tables) {
        p2d_state_plan_free(&plan);
        return P2D_EXIT_INTERNAL;
    }
    s->ntables = cat->ntables;
    for (size_t i = 0; i < cat->ntables; i++) {
        struct inc_table *t = &s->tables[i];
        const struct p2d_table *ct = &cat->tables[i];
        const struct p2d_job_table *cfg = p2d_job_table_config(s->job, ct->schema, ct->name);
        char err[2048];

        t->cat = ct;
        snprintf(t->name, sizeof(t->name), "%s.%s", ct->schema, ct->name);
        if (p2d_ddl_plan(ct, s->job, NULL, &t->ddl, err, sizeof(err)) != 0) {
            P2D_ERROR(MOD, "table \"%s\": %s", t->name, err);
            p2d_state_plan_free(&plan);
            return P2D_EXIT_PRECHECK;
        }
        snprintf(t->dest, sizeof(t->dest), "%s.%s", t->ddl->database, t->ddl->table);
        t->unique = t->ddl->model == P2D_MODEL_UNIQUE;
        t->dml = cfg ? cfg->dml : P2D_DML_ALL;
        for (size_t k = 0; k < plan.ntables; k++)
            if (strcmp(plan.tables[k].src_schema, ct->schema) == 0 &&
                strcmp(plan.tables[k].src_table, ct->name) == 0)
                t->table_id = plan.tables[k].table_id;
        if (read_doris_cols(s, t) != 0) {
            p2d_state_plan_free(&plan);
            return P2D_EXIT_DEST;
        }
        t->last_send_ns = 0; /* the first load of a run may go at once */
    }
    p2d_state_plan_free(&plan);
    return P2D_EXIT_OK;
}

static int start_writer(struct inc *s)
{
    struct p2d_writer_config wcfg = {0};

    s->pool = p2d_batch_pool_create(1, 4096);
    s->ring = p2d_ring_create(4096);
    if (!s->pool || !s->ring)
        return P2D_EXIT_INTERNAL;
    wcfg.dest = s->job->dest;
    wcfg.pool = s->pool;
    wcfg.max_loads = s->job->writers > 0 ? s->job->writers : 4;
    wcfg.finished = on_finished;
    wcfg.arg = s;
    s->writer = p2d_writer_create(&wcfg);
    if (!s->writer || p2d_writer_add_ring(s->writer, s->ring) != 0)
        return P2D_EXIT_INTERNAL;
    if (pthread_create(&s->writer_thread, NULL, writer_main, s) != 0)
        return P2D_EXIT_INTERNAL;
    s->writer_started = true;
    return P2D_EXIT_OK;
}

/* Connects (or reconnects) the stream at the acked position, retrying
 * connection failures for --retry-connect minutes. */
static int connect_stream(struct inc *s)
{
    struct p2d_wal_opts wo = {
        .conninfo = s->job->source,
        .slot = s->o->slot,
        .publication = s->o->publication,
    };
    int64_t first = now_ns();
    int backoff = 0;
    char a[32];

    for (;;) {
        struct p2d_pg_error e;
        int rc;

        s->start_lsn = s->acked_lsn > s->o->consistent_lsn ? s->acked_lsn : s->o->consistent_lsn;
        wo.start_lsn = s->start_lsn;
        rc = p2d_wal_start(&wo, &s->wal, &e);
        if (rc == 0) {
            P2D_INFO(MOD, "streaming slot \"%s\" from %s (pgoutput protocol %d)", s->o->slot,
                     lsn_str(s->start_lsn, a), p2d_wal_proto(s->wal));
            if (s->received_lsn < s->start_lsn)
                s->received_lsn = s->start_lsn;
            s->last_feedback_ns = 0;
            {
                char v[64];
                bool null = true;
                struct p2d_pg_error e2;

                if (PQstatus(s->o->src) == CONNECTION_BAD)
                    reset_src(s);
                s->catchup_lsn = 0;
                s->caught_up = false;
                if (p2d_pg_query_value(s->o->src, "SELECT pg_current_wal_insert_lsn()",
                                       "cannot read the WAL position", v, sizeof(v), &null,
                                       &e2) == 0 &&
                    !null && p2d_pg_lsn_parse(v, &s->catchup_lsn) == 0)
                    P2D_DEBUG(MOD, "catching up to %s", v);
            }
            return P2D_EXIT_OK;
        }
        if (rc == P2D_ENOMEM)
            return P2D_EXIT_INTERNAL;
        if (!p2d_pg_error_is_connect(&e) && !strstr(e.message, "is active for PID")) {
            log_pg_error("cannot stream changes", &e);
            return p2d_pg_error_exit_code(&e);
        }
        if (now_ns() - first > (int64_t)s->job->retry_connect_min * 60 * 1000000000LL) {
            log_pg_error("cannot reconnect to the source within --retry-connect", &e);
            return P2D_EXIT_SOURCE;
        }
        P2D_WARN(MOD, "%s; retrying", e.message);
        {
            int64_t wait = backoff_next(&backoff) / 1000000;

            for (int64_t waited = 0; waited < wait && !*s->o->stop; waited += 200)
                usleep(200000);
        }
        if (*s->o->stop)
            return P2D_EXIT_OK;
    }
}

/* After the stream broke: flush what was received (it is all committed),
 * forget the half-received transaction and reconnect. */
static int reconnect(struct inc *s)
{
    p2d_wal_close(s->wal);
    s->wal = NULL;
    wait_idle(s, NULL);
    if (s->fatal)
        return s->fatal_code;
    s->in_txn = false;
    s->skipping = false;
    p2d_txn_order_reset(s->order);
    advance_ack(s, true);
    return connect_stream(s);
}

static int loop(struct inc *s)
{
    for (;;) {
        const uint8_t *buf;
        size_t len;
        struct p2d_pg_error e;
        struct p2d_walmsg w;
        struct p2d_pgerr perr;
        int rc, timeout;

        if (*s->o->stop || s->fatal)
            return 0;
        timeout = next_due_ms(s, 1000);
        if (s->ack_due_ns > 0) {
            int64_t ms = (s->ack_due_ns - now_ns()) / 1000000 + 1;

            if (ms < timeout)
                timeout = ms < 0 ? 0 : (int)ms;
        }
        if (s->throttle_until_ns > now_ns()) {
            int64_t ms = (s->throttle_until_ns - now_ns()) / 1000000 + 1;

            if (ms < timeout)
                timeout = (int)ms;
        }
        if (s->held_bytes > (size_t)s->job->memory / 2 || s->throttle_until_ns > now_ns()) {
            /* over the budget or the throttles: let Doris catch up, or the
             * clock, before reading more */
            struct pollfd p = {.fd = s->efd, .events = POLLIN};

            start_loads(s);
            (void)poll(&p, 1, timeout);
            rc = 0;
        } else {
            rc = p2d_wal_next(s->wal, timeout, s->efd, &buf, &len, &e);
        }
        if (rc < 0) {
            if (!p2d_pg_error_is_connect(&e)) {
                log_pg_error("the replication stream failed", &e);
                fail(s, p2d_pg_error_exit_code(&e));
                return 0;
            }
            P2D_WARN(MOD, "%s; reconnecting", e.message);
            rc = reconnect(s);
            if (rc != P2D_EXIT_OK) {
                fail(s, rc);
                return 0;
            }
            continue;
        }
        if (rc == 1) {
            if (p2d_walmsg_decode(buf, len, &w, &perr) != 0) {
                P2D_ERROR(MOD, "bad message in the replication stream: %s", perr.msg);
                fail(s, P2D_EXIT_SOURCE);
                return 0;
            }
            if (w.kind == 'k') {
                char x[32];

                P2D_DEBUG(MOD, "keepalive %s reply %d", lsn_str(w.wal_end, x), w.reply_requested);
                if (w.wal_end > s->server_lsn)
                    s->server_lsn = w.wal_end;
                if (!s->in_txn && s->ncommits == 0 && w.wal_end > s->received_lsn)
                    s->received_lsn = w.wal_end;
                advance_ack(s, w.reply_requested);
            } else {
                if (w.wal_end > s->server_lsn)
                    s->server_lsn = w.wal_end;
                rc = on_xlogdata(s, &w);
                if (rc != 0) {
                    fail(s, rc == P2D_EDEST    ? P2D_EXIT_DEST
                            : rc == P2D_ENOMEM ? P2D_EXIT_INTERNAL
                                               : P2D_EXIT_SOURCE);
                    return 0;
                }
            }
        }
        drain_events(s);
        seal_due(s);
        start_loads(s);
        advance_ack(s, false);
        if (s->writer_rc != 0) {
            P2D_ERROR(MOD, "the writer stopped: %s", p2d_strerror(s->writer_rc));
            fail(s, P2D_EXIT_INTERNAL);
        }
        {
            int64_t now = now_ns();

            if (now - s->last_slot_ns >= (int64_t)SLOT_EVERY_MS * 1000000) {
                s->last_slot_ns = now;
                slot_status(s);
            }
        }
        progress(s, false);
    }
}

int p2d_incremental_run(const struct p2d_inc_opts *o)
{
    struct inc s = {.o = o, .job = o->job};
    int code;

    pthread_mutex_init(&s.mu, NULL);
    s.events_tail = &s.events;
    s.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s.vals = calloc(2 * MAX_COLS, sizeof(*s.vals));
    s.relcols = calloc(MAX_COLS, sizeof(*s.relcols));
    s.rc = p2d_relcache_create(4096, 4096);
    s.order = p2d_txn_order_create(64, 1024);
    if (s.efd < 0 || !s.vals || !s.relcols || !s.rc || !s.order) {
        code = P2D_EXIT_INTERNAL;
        goto out;
    }
    p2d_pgmsg_init(&s.msg, s.vals, 2 * MAX_COLS, s.relcols, MAX_COLS);
    /* --memory bounds the whole process's buffers: a batch is an eighth
     * (8 MiB of a 64 MiB budget, 16 MiB of the default), held changes
     * spill beyond a quarter, reading pauses beyond half (if spilling
     * fails); sealing copies one batch, sending reads one body back */
    s.batch_limit = (size_t)(o->job->memory / 8);
    if ((int64_t)s.batch_limit > o->job->bytes_per_load)
        s.batch_limit = (size_t)o->job->bytes_per_load;
    if (s.batch_limit < (1u << 20))
        s.batch_limit = 1u << 20;
    s.catchup_limit = s.batch_limit / 4 > (1u << 20) ? s.batch_limit / 4 : (1u << 20);
    if (p2d_state_lsn_get(o->st, &s.acked_lsn) != 0) {
        P2D_ERROR(MOD, "%s", p2d_state_errmsg(o->st));
        code = P2D_EXIT_STATE;
        goto out;
    }
    s.sent_lsn = s.acked_lsn;
    if (o->job->rows_per_sec > 0)
        p2d_bucket_init(&s.rows_tb, (double)o->job->rows_per_sec, now_ns());
    if (o->job->mb_per_sec > 0)
        p2d_bucket_init(&s.bytes_tb, (double)o->job->mb_per_sec * 1048576.0, now_ns());
    if ((code = setup_tables(&s)) != P2D_EXIT_OK)
        goto out;
    if (o->job->metrics_addr) {
        char err[512];

        if (p2d_metrics_start(o->job->metrics_addr, &s.metrics, err, sizeof(err)) != 0) {
            P2D_ERROR(MOD, "%s", err);
            code = P2D_EXIT_USAGE;
            goto out;
        }
        P2D_INFO(MOD, "metrics on http://%s/metrics (port %d)", o->job->metrics_addr,
                 p2d_metrics_port(s.metrics));
        setup_metrics(&s);
    }
    if ((code = start_writer(&s)) != P2D_EXIT_OK)
        goto out;
    if ((code = connect_stream(&s)) != P2D_EXIT_OK)
        goto out;
    slot_status(&s);
    (void)loop(&s);
    if (!s.fatal && s.wal) {
        char a[32];

        P2D_INFO(MOD, "stopping: flushing pending changes");
        wait_idle(&s, NULL);
        advance_ack(&s, true);
        P2D_INFO(MOD, "stopped at %s", lsn_str(s.acked_lsn, a));
    }
    code = s.fatal ? s.fatal_code : P2D_EXIT_OK;
    progress(&s, true);
    summary(&s);
out:
    p2d_wal_close(s.wal);
    if (s.writer_started) {
        if (s.fatal)
            p2d_writer_abort(s.writer);
        p2d_ring_close(s.ring);
        pthread_join(s.writer_thread, NULL);
        drain_events(&s);
    }
    for (size_t i = 0; i < s.ntables; i++) {
        struct inc_table *t = &s.tables[i];

        while (t->head) {
            struct inc_load *l = t->head;

            t->head = l->next;
            free_load(l);
        }
        free_layout(t);
        p2d_spill_destroy(t->spill);
        for (int k = 0; k < t->ndoris; k++)
            free(t->doris_cols[k]);
        free(t->doris_cols);
        p2d_ddl_table_destroy(t->ddl);
    }
    p2d_metrics_stop(s.metrics); /* after the writer: it frees every series */
    free(s.tables);
    for (size_t i = 0; i < s.ncatalogs; i++)
        p2d_catalog_destroy(s.catalogs[i]);
    free(s.catalogs);
    free(s.commits);
    p2d_writer_destroy(s.writer);
    p2d_ring_destroy(s.ring);
    p2d_batch_pool_destroy(s.pool);
    p2d_relcache_destroy(s.rc);
    p2d_txn_order_destroy(s.order);
    free(s.vals);
    free(s.relcols);
    if (s.efd >= 0)
        close(s.efd);
    pthread_mutex_destroy(&s.mu);
    return code;
}
