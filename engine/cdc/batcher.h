/*
 * batcher.h - one destination table's pending CDC changes, and how they
 * become Stream Load bodies (docs/doris-protocol.md §5).
 *
 * Changes arrive in commit order, already mapped to the table's send
 * layout (the Doris columns the stream currently carries, in one order).
 * A batch keeps them as compact records until it is sealed; sealing
 * encodes the live records into one or more bodies and empties the batch.
 *
 * Unique Key tables: INSERT / UPDATE are upserts, DELETE a keyed delete
 * through __DORIS_DELETE_SIGN__. Per-key commit order is kept by in-batch
 * dedupe: a later change of a key replaces the earlier record of that key
 * in the same batch, so a body holds each key at most once and the
 * replacement order of rows inside one load (which Doris does not
 * guarantee) never matters; batches of one table are loaded one after the
 * other. An upsert with unchanged TOAST values ('u') takes those values
 * from the record it replaces when that record has them; what is still
 * unknown after that goes out as a partial-column update (a separate body
 * per set of present columns, "partial_columns: true"), so the destination
 * keeps its current value. Delete rows carry the key and, for NOT NULL
 * columns without a known value, a neutral filler ("0", "", 1970-01-01):
 * Doris reads delete rows like any row, and the filler never lands.
 *
 * Duplicate Key tables: every change is appended with `_is_deleted`,
 * `_version` (commit time, Unix seconds) and `_record_id` (the change's
 * LSN: unique, and increasing in commit order for any one row, because
 * PostgreSQL's row locks order the changes of a row). Unchanged TOAST
 * values cannot be partial updates there; the caller fills them from a
 * REPLICA IDENTITY FULL old tuple or refuses the change.
 *
 * Pure: no I/O (apart from the issue callback), one owner.
 */
#ifndef P2D_BATCHER_H
#define P2D_BATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdc/pgoutput.h"
#include "xfer/encode.h"

enum p2d_cdc_op {
    P2D_CDC_UPSERT = 1, /* INSERT, or the new row of an UPDATE */
    P2D_CDC_DELETE,     /* DELETE, or the old key of a key-changing UPDATE */
};

/* One column of the send layout. */
struct p2d_batcher_col {
    struct p2d_encode_col enc; /* name: the Doris column name */
    bool key;
};

struct p2d_batcher_layout {
    const char *table; /* "db.table" for messages */
    bool unique;       /* Unique Key model; else Duplicate Key with the three extra columns */
    enum p2d_encode_format format;
    int ncols;
    const struct p2d_batcher_col *cols; /* copied by create */
};

/* One sealed Stream Load body. */
struct p2d_cdc_body {
    char *data; /* malloc'd */
    size_t len;
    int64_t rows;
    int64_t deletes;
    bool partial;       /* partial-column update */
    char *columns;      /* the "columns: ..." header line, malloc'd */
    uint64_t first_lsn; /* smallest and largest change LSN inside */
    uint64_t last_lsn;
    uint64_t min_txn; /* smallest transaction sequence inside */
};

void p2d_cdc_body_free(struct p2d_cdc_body *body); /* accepts NULL */

/* A value that did not land exactly (clamped, nulled, ...): column index
 * into the layout, the issue, and the row's key as text ("k1=5, k2=x"). */
typedef void (*p2d_batcher_issue_fn)(void *arg, const struct p2d_value_issue *issue,
                                     const char *column, const char *key);

struct p2d_batcher;

/* Creates an empty batch for layout (copied). NULL when out of memory or
 * when the layout is unusable (no columns; a Unique table without keys). */
struct p2d_batcher *p2d_batcher_create(const struct p2d_batcher_layout *layout);
void p2d_batcher_destroy(struct p2d_batcher *b); /* accepts NULL */

/*
 * Adds one change. vals[0..ncols) are the values in layout order ('n',
 * 't', or 'u' for an unchanged TOAST value; 'b' is refused); for a DELETE
 * only the key columns need values. lsn is the change's own LSN,
 * commit_ts_us its transaction's commit time (Unix microseconds), txn the
 * transaction's sequence number (increasing). Copies every byte it keeps.
 * Returns 0; P2D_EINVAL with err for a change the table cannot take (a
 * NULL key, 'u' on a Duplicate table, a delete without its key); P2D_ENOMEM.
 */
int p2d_batcher_add(struct p2d_batcher *b, enum p2d_cdc_op op, const struct p2d_pgval *vals,
                    uint64_t lsn, int64_t commit_ts_us, uint64_t txn, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Live records (changes still to send), bytes held, smallest transaction
 * sequence held (UINT64_MAX when empty). */
int64_t p2d_batcher_rows(const struct p2d_batcher *b);
size_t p2d_batcher_bytes(const struct p2d_batcher *b);
uint64_t p2d_batcher_min_txn(const struct p2d_batcher *b);

/*
 * Encodes the live records into bodies and empties the batch. On success
 * *bodies is a malloc'd array of *nbodies bodies (the caller frees each
 * with p2d_cdc_body_free and the array with free); zero bodies when the
 * batch was empty. Values that do not land exactly go to issue (may be
 * NULL). A value Doris cannot take at all (REJECTED) fails the seal with
 * P2D_EDATA and err naming table, key and column; the batch is then
 * unchanged. P2D_ENOMEM.
 */
int p2d_batcher_seal(struct p2d_batcher *b, struct p2d_cdc_body **bodies, int *nbodies,
                     p2d_batcher_issue_fn issue, void *arg, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
