/*
 * streamload.h - what a Stream Load answer means, and labels.
 *
 * Pure: no I/O. The writer sends, this module decides (doris-protocol.md
 * §2.2-§2.4): done, retry with the same label (now or after backoff),
 * resolve a precommitted 2PC transaction, or stop with a clear report.
 */
#ifndef P2D_STREAMLOAD_H
#define P2D_STREAMLOAD_H

#include <stddef.h>
#include <stdint.h>

enum p2d_load_outcome {
    P2D_LOAD_DONE,         /* Success, Publish Timeout, or Label Already Exists + FINISHED */
    P2D_LOAD_WAIT_RUNNING, /* Label Already Exists + RUNNING: wait, retry with the same label */
    P2D_LOAD_PRECOMMITTED, /* Label Already Exists + PRECOMMITTED: commit or abort by label */
    P2D_LOAD_RETRY,        /* transient ([E-235], [E-238], MEM_LIMIT, timeouts, ...): back off */
    P2D_LOAD_BAD_DATA,     /* rows rejected (too many filtered rows): stop the table, report */
    P2D_LOAD_FATAL,        /* configuration / privilege / protocol problem: stop */
};

struct p2d_load_answer {
    enum p2d_load_outcome outcome;
    int64_t txn_id;
    int64_t total_rows;
    int64_t loaded_rows;
    int64_t filtered_rows;
    int64_t load_bytes;
    int64_t load_time_ms;
    char status[32];       /* "Success", "Fail", ... */
    char existing[16];     /* ExistingJobStatus, if any */
    char message[1024];    /* Message, cut to fit */
    char error_url[512];   /* ErrorURL, if any */
    char first_error[512]; /* FirstErrorMsg, if any */
};

/*
 * Decodes a BE/FE answer body (HTTP status http) into *a. A body that is
 * not the documented JSON gives P2D_LOAD_RETRY for 5xx / empty answers
 * (transport-level: retry with the same label) and P2D_LOAD_FATAL for other
 * non-JSON answers, with a message saying what came back. FE auth failures
 * ({"code":401}) and RestBaseResult FAILED answers are FATAL. Returns
 * a->outcome.
 */
enum p2d_load_outcome p2d_streamload_decode(long http, const char *body, size_t n,
                                            struct p2d_load_answer *a);

const char *p2d_load_outcome_name(enum p2d_load_outcome o);

/*
 * Builds the deterministic label of one load into out (size >= 129):
 *   p2d_<job>_<table>_<part>_<seq>
 * job is the job's short id, table the destination table name, part the
 * range or batch id, seq the load's number within it. Characters outside
 * [-_A-Za-z0-9] are replaced by '_'; if the result would exceed Doris's 128
 * bytes, the table part is shortened and an FNV-1a hash of the full name is
 * appended, so distinct inputs keep distinct labels. Same inputs, same label.
 */
void p2d_streamload_label(const char *job, const char *table, int64_t part, int64_t seq, char *out,
                          size_t outlen);

#endif
