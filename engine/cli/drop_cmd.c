/*
 * drop_cmd.c - `pg2doris drop` (drop_cmd.h): the end of a job. Drops the
 * replication slot and the publication "p2d_<job>" at the source, then
 * removes the files of the state directory that pg2doris owns.
 *
 * Which job: the one the state directory records, when it has a store;
 * else the fingerprint of the flags, which is why drop takes the same
 * --source, --dest and selection flags as sync (job/job.h: the fingerprint
 * covers the source, the destination and the selection). When both are
 * there they must agree, so a wrong --state cannot drop another job's slot.
 *
 * Order: the state lock is taken first and held to the end, so a sync
 * cannot start on the directory in between; the slot and publication go
 * next; the state is removed only once they are gone, so a failure at the
 * source leaves the state that names them. Destination tables are kept.
 */
#include "cli/drop_cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "base/log.h"
#include "control/state.h"
#include "job/job.h"
#include "p2d_error.h"
#include "snapshot/pgconn.h"
#include "snapshot/slot.h"

#define ACTIVE_WAIT_MS 10000 /* a killed sync's walsender takes a moment to go */
#define ACTIVE_POLL_MS 500

const char p2d_cli_drop_usage[] =
    "pg2doris drop --source CONNINFO [--dest URL] [--state DIR] [selection flags]\n\n"
    "Drops the job's replication slot and publication \"p2d_<job>\" at the source and\n"
    "forgets its state: removes state.db (with its -wal and -shm files) and state.lock\n"
    "from --state DIR, and DIR itself when nothing else is in it. Destination tables\n"
    "and their data are NOT dropped.\n\n"
    "Which job: the one recorded in --state DIR; then --source is enough. Without a\n"
    "state, give the same --source, --dest and selection flags (--include, --exclude,\n"
    "--job, --name-case) as the sync: the job id is their fingerprint. Given both, they\n"
    "must name the same job. A slot still in use is waited for up to 10 s. A pg2doris\n"
    "still running on the state (it holds state.lock) makes drop refuse (exit 7).\n"
    "When nothing is left to drop, drop says so and exits 0.\n\n"
    "  --source CONNINFO       PostgreSQL of the sync (libpq string or URI)\n"
    "  --dest URL              Doris FE of the sync; needed when --state holds no job\n"
    "  --state DIR             the sync's state directory (default: ./" P2D_JOB_DEFAULT_STATE_DIR
    ")\n"
    "  --include, --exclude, --job, --name-case\n"
    "                          as given to the sync (they are part of the job id)\n"
    "  --log-level, --log-format  as for sync\n"
    "other sync flags are accepted and ignored, so a sync command line can be reused.\n";

/* Prints each line of text to stderr as "pg2doris drop: [prefix]line". */
static void print_lines(const char *prefix, const char *text)
{
    while (*text) {
        size_t n = strcspn(text, "\n");

        fprintf(stderr, "pg2doris drop: %s%.*s\n", prefix, (int)n, text);
        text += n;
        if (*text == '\n')
            text++;
    }
}

static void print_pg_error(const char *what, const struct p2d_pg_error *e)
{
    fprintf(stderr, "pg2doris drop: %s: %s%s%s\n", what, e->message, e->hint[0] ? "; hint: " : "",
            e->hint);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* The "source" member (host, port, dbname) of a canonical job text as
 * compact JSON into out ("" when absent). */
static void source_identity(const char *canonical, char *out, size_t outlen)
{
    json_t *root = canonical ? json_loads(canonical, 0, NULL) : NULL;
    char *text = NULL;

    out[0] = '\0';
    if (json_is_object(json_object_get(root, "source")))
        text = json_dumps(json_object_get(root, "source"), JSON_COMPACT | JSON_SORT_KEYS);
    if (text)
        snprintf(out, outlen, "%s", text);
    free(text);
    json_decref(root);
}

/*
 * The job id named by the state: the slot name recorded in the job row
 * (without its prefix), else the fingerprint. Refuses (P2D_EXIT_STATE) a
 * state that belongs to another job than the flags name: with --dest the
 * fingerprints must be equal, without it the source identities.
 */
static int job_from_state(struct p2d_state *st, const struct p2d_job *job, bool dest_given,
                          const char *flags_fp, char *job_id, size_t idlen)
{
    struct p2d_state_job sj;
    char *stored = NULL, *mine = NULL, a[512], b[512], check[P2D_SLOT_NAME_MAX];
    const char *dir = job->state_dir;
    int code = P2D_EXIT_OK;

    if (p2d_state_job_get(st, &sj) != 0) {
        fprintf(stderr, "pg2doris drop: %s; hint: remove \"%s\" by hand once the slot is gone\n",
                p2d_state_errmsg(st), dir);
        return P2D_EXIT_STATE;
    }
    if (strncmp(sj.slot_name, P2D_SLOT_PREFIX, strlen(P2D_SLOT_PREFIX)) == 0)
        snprintf(job_id, idlen, "%.*s", P2D_SLOT_NAME_MAX - 1,
                 sj.slot_name + strlen(P2D_SLOT_PREFIX));
    else
        snprintf(job_id, idlen, "%.*s", P2D_SLOT_NAME_MAX - 1, sj.fingerprint);
    if (p2d_slot_name(job_id, check, sizeof(check)) != 0) {
        fprintf(stderr,
                "pg2doris drop: state in \"%s\" names no valid job (\"%s\"); hint: drop "
                "with --dest and the sync's flags, and --state pointing elsewhere\n",
                dir, job_id);
        return P2D_EXIT_STATE;
    }
    if (dest_given) {
        if (strcmp(flags_fp, sj.fingerprint) != 0) {
            fprintf(stderr,
                    "pg2doris drop: state in \"%s\" belongs to job %s, the flags name job %s; "
                    "hint: give the flags of the sync that made this state, or leave out --dest "
                    "to drop the job the state names\n",
                    dir, sj.fingerprint, flags_fp);
            return P2D_EXIT_STATE;
        }
        return P2D_EXIT_OK;
    }
    /* without --dest only the source can be compared: it must be the one
     * the state was made for, or the slot looked for would be elsewhere */
    if (p2d_state_job_canonical(st, &stored) != 0) {
        fprintf(stderr, "pg2doris drop: %s\n", p2d_state_errmsg(st));
        return P2D_EXIT_STATE;
    }
    mine = p2d_job_canonical(job);
    if (!mine) {
        free(stored);
        fprintf(stderr, "pg2doris drop: out of memory\n");
        return P2D_EXIT_INTERNAL;
    }
    source_identity(stored, a, sizeof(a));
    source_identity(mine, b, sizeof(b));
    if (a[0] && strcmp(a, b) != 0) {
        fprintf(stderr,
                "pg2doris drop: state in \"%s\" was made for source %s, --source names %s; "
                "hint: give the --source of the sync that made this state\n",
                dir, a, b);
        code = P2D_EXIT_STATE;
    }
    free(stored);
    free(mine);
    return code;
}

/* Waits up to ACTIVE_WAIT_MS for slot_name to become inactive. */
static void wait_inactive(PGconn *conn, const char *slot_name)
{
    bool said = false;

    for (int waited = 0; waited < ACTIVE_WAIT_MS; waited += ACTIVE_POLL_MS) {
        struct p2d_slot_status s;
        struct p2d_pg_error e;

        if (p2d_slot_status(conn, slot_name, &s, &e) != 0 || !s.exists || !s.active)
            return;
        if (!said)
            P2D_INFO("drop", "slot \"%s\" is active for PID %d; waiting up to %d s", slot_name,
                     s.active_pid, ACTIVE_WAIT_MS / 1000);
        said = true;
        sleep_ms(ACTIVE_POLL_MS);
    }
}

/* Drops slot and publication of job_id. Returns an exit code. */
static int drop_at_source(const struct p2d_job *job, const char *job_id, bool *slot_dropped,
                          bool *pub_dropped)
{
    char slot_name[P2D_SLOT_NAME_MAX];
    struct p2d_pg_error e;
    PGconn *conn = NULL;
    int rc;

    if (p2d_slot_name(job_id, slot_name, sizeof(slot_name)) != 0)
        return P2D_EXIT_INTERNAL; /* checked by the caller */
    if ((rc = p2d_pg_connect(job->source, P2D_PG_SQL, "pg2doris drop", &conn, &e)) != 0) {
        if (conn)
            PQfinish(conn);
        print_pg_error("cannot connect to the source", &e);
        return rc == P2D_ENOMEM ? P2D_EXIT_INTERNAL : P2D_EXIT_SOURCE;
    }
    wait_inactive(conn, slot_name);
    rc = p2d_slot_drop(conn, job_id, slot_dropped, pub_dropped, &e);
    PQfinish(conn);
    if (rc != 0) {
        print_pg_error("cannot drop the slot and publication; the state is kept", &e);
        return rc == P2D_ENOMEM ? P2D_EXIT_INTERNAL : P2D_EXIT_SOURCE;
    }
    return P2D_EXIT_OK;
}

int p2d_cli_drop_run(int argc, char **argv)
{
    struct p2d_job_env env;
    struct p2d_job *job = NULL;
    struct p2d_state *st = NULL;
    char err[8192], flags_fp[P2D_JOB_FINGERPRINT_LEN] = "", job_id[P2D_SLOT_NAME_MAX] = "";
    char what[1024] = "";
    bool dest_given, found = false, slot_dropped = false, pub_dropped = false;
    bool dir_removed = false, state_removed = false;
    int code, rc, nremoved = 0;

    p2d_job_env_from_process(&env);
    rc = p2d_job_parse(P2D_JOB_DROP, argc, argv, &env, &job, err, sizeof(err));
    if (rc == P2D_ENOMEM) {
        fprintf(stderr, "pg2doris drop: out of memory\n");
        return P2D_EXIT_INTERNAL;
    }
    if (rc != 0) {
        print_lines("", err);
        return P2D_EXIT_USAGE;
    }
    p2d_log_setup((enum p2d_log_level)job->log_level, (enum p2d_log_format)job->log_format, -1);
    dest_given = job->dest_url != NULL;
    if (dest_given && p2d_job_fingerprint(job, flags_fp) != 0) {
        code = P2D_EXIT_INTERNAL;
        goto out;
    }

    rc = p2d_state_open_for_drop(job->state_dir, &st, &found, err, sizeof(err));
    if (rc != 0) {
        print_lines("", err);
        code = rc == P2D_ENOMEM ? P2D_EXIT_INTERNAL : P2D_EXIT_STATE;
        goto out;
    }
    if (found) {
        code = job_from_state(st, job, dest_given, flags_fp, job_id, sizeof(job_id));
        if (code != P2D_EXIT_OK)
            goto out;
    } else if (dest_given) {
        snprintf(job_id, sizeof(job_id), "%s", flags_fp);
    } else {
        /* a lock file made just now (or left by a run that never made a
         * store) goes again */
        rc = p2d_state_forget(st, &nremoved, &dir_removed, err, sizeof(err));
        st = NULL;
        printf("nothing to drop: no job state in \"%s\"\n", job->state_dir);
        fprintf(stderr, "pg2doris drop: hint: to drop the slot of a job whose state is gone, give "
                        "the --dest and selection flags of its sync as well\n");
        code = rc == 0 ? P2D_EXIT_OK : P2D_EXIT_STATE;
        if (rc != 0)
            print_lines("", err);
        goto out;
    }

    code = drop_at_source(job, job_id, &slot_dropped, &pub_dropped);
    if (code != P2D_EXIT_OK)
        goto out;
    if (st) {
        rc = p2d_state_forget(st, &nremoved, &dir_removed, err, sizeof(err));
        st = NULL;
        if (rc != 0) {
            print_lines("", err);
            code = P2D_EXIT_STATE;
        }
        state_removed = rc == 0 && found;
    }

    if (slot_dropped)
        snprintf(what, sizeof(what), "slot \"" P2D_SLOT_PREFIX "%s\"", job_id);
    if (pub_dropped)
        snprintf(what + strlen(what), sizeof(what) - strlen(what),
                 "%spublication \"" P2D_SLOT_PREFIX "%s\"", what[0] ? ", " : "", job_id);
    if (state_removed)
        snprintf(what + strlen(what), sizeof(what) - strlen(what), "%sstate in \"%s\"%s",
                 what[0] ? ", " : "", job->state_dir, dir_removed ? " (directory removed)" : "");
    if (what[0])
        printf("job %s: dropped %s; destination tables are kept\n", job_id, what);
    else
        printf("nothing to drop for job %s: no slot, publication or state\n", job_id);
out:
    p2d_state_close(st);
    p2d_job_destroy(job);
    return code;
}
