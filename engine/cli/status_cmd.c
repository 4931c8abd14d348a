/*
 * status_cmd.c - `pg2doris status` (status_cmd.h): what a job's state
 * directory says, while a sync runs or after it stopped.
 *
 * The store is opened read-only and without the directory lock
 * (p2d_state_open_readonly): a running sync holds the lock and keeps
 * writing, and SQLite's WAL lets this reader see its last committed state.
 * Whether a pg2doris holds the lock is read from /proc/locks, never by
 * trying the lock, which would make a sync starting at that moment fail.
 *
 * Everything is first gathered into one JSON object; --json prints it,
 * and the text form is rendered from the same object, so both always show
 * the same fields. With --source the slot is also looked up at the source
 * to show how far the job is behind the source's WAL.
 */
#include "cli/status_cmd.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "control/state.h"
#include "job/job.h"
#include "p2d_error.h"
#include "snapshot/pgconn.h"
#include "snapshot/slot.h"

#define DOUBT_SHOWN 5 /* labels in doubt listed in the text form */

const char p2d_cli_status_usage[] =
    "pg2doris status [--state DIR] [--json] [--source CONNINFO]\n\n"
    "Shows what a job's state directory records, also while a sync is running (it\n"
    "reads without taking the state's lock): job id, whether a pg2doris is running on\n"
    "it (pid), phase, slot, publication, consistent point, acked LSN, tables with their\n"
    "ranges planned / running / done, loads in doubt (sent, Doris's answer not yet\n"
    "recorded) and the progress counters. The state is not changed.\n\n"
    "  --state DIR         the sync's state directory (default: ./" P2D_JOB_DEFAULT_STATE_DIR ")\n"
    "  --json              print one JSON object with the same fields\n"
    "  --source CONNINFO   also look the slot up at the source: active or not, WAL\n"
    "                      position, bytes behind the source's current WAL position\n";

static const char *const phase_names[] = {"new", "schema", "full", "incremental", "done"};
static const char *const range_keys[] = {"planned", "running", "done"};

static const char *phase_name(enum p2d_state_phase p)
{
    return (unsigned)p < sizeof(phase_names) / sizeof(phase_names[0]) ? phase_names[p] : "unknown";
}

static json_t *lsn_json(uint64_t lsn)
{
    char text[32];

    return json_string(p2d_pg_lsn_format(lsn, text, sizeof(text)));
}

static json_t *range_counts_json(const int64_t counts[3])
{
    json_t *o = json_object();

    for (int k = 0; k < 3; k++)
        json_object_set_new(o, range_keys[k], json_integer(counts[k]));
    json_object_set_new(o, "total", json_integer(counts[0] + counts[1] + counts[2]));
    return o;
}

/* The tables of the saved plan, each with its range counts and rows done. */
static json_t *tables_json(const struct p2d_state_plan *plan)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < plan->ntables; i++) {
        const struct p2d_state_table *t = &plan->tables[i];
        int64_t counts[3] = {0, 0, 0}, rows = 0;
        char src[300], dst[400];

        for (size_t r = 0; r < plan->nranges; r++) {
            const struct p2d_state_range *rg = &plan->ranges[r];

            if (rg->table_id != t->table_id || (unsigned)rg->status > P2D_RANGE_DONE ||
                !p2d_state_range_counted(rg))
                continue;
            counts[rg->status]++;
            if (rg->status == P2D_RANGE_DONE)
                rows += rg->rows;
        }
        snprintf(src, sizeof(src), "%s.%s", t->src_schema, t->src_table);
        snprintf(dst, sizeof(dst), "%s.%s", t->dest_db, t->dest_table);
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:s,s:b,s:o,s:I}", "source", src, "dest", dst, "model",
                           t->model == P2D_STATE_DUPLICATE ? "duplicate" : "unique",
                           "schema_synced", (int)t->schema_synced, "ranges",
                           range_counts_json(counts), "rows_done", (json_int_t)rows));
    }
    return arr;
}

/* Reads everything the store holds into o. Returns 0 or the store's error
 * (message in p2d_state_errmsg). */
static int gather_state(struct p2d_state *st, const char *dir, json_t *o)
{
    struct p2d_state_job sj;
    struct p2d_state_plan plan = {0};
    struct p2d_state_counter *counters = NULL;
    char **labels = NULL, created[40] = "";
    size_t nlabels = 0, ncounters = 0;
    int64_t counts[3];
    json_t *doubt, *cs;
    struct tm tm;
    time_t t;
    long pid = 0;
    int rc;

    if ((rc = p2d_state_job_get(st, &sj)) != 0 || (rc = p2d_state_range_counts(st, counts)) != 0 ||
        (rc = p2d_state_plan_load(st, &plan)) != 0 ||
        (rc = p2d_state_loads_in_doubt(st, &labels, &nlabels)) != 0 ||
        (rc = p2d_state_counters_list(st, &counters, &ncounters)) != 0)
        goto out;
    t = (time_t)sj.created;
    if (gmtime_r(&t, &tm))
        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);

    json_object_set_new(o, "state_dir", json_string(dir));
    json_object_set_new(o, "job", json_string(sj.fingerprint));
    json_object_set_new(o, "created", json_string(created));
    if (p2d_state_lock_holder(dir, &pid) != 0) {
        json_object_set_new(o, "running", json_null()); /* cannot tell */
        json_object_set_new(o, "pid", json_null());
    } else {
        json_object_set_new(o, "running", json_boolean(pid > 0));
        json_object_set_new(o, "pid", pid > 0 ? json_integer(pid) : json_null());
    }
    json_object_set_new(o, "phase", json_string(phase_name(sj.phase)));
    json_object_set_new(o, "source_system_id", json_string(sj.source_system_id));
    json_object_set_new(o, "slot", json_string(sj.slot_name));
    json_object_set_new(o, "publication", json_string(sj.publication_name));
    json_object_set_new(o, "snapshot", json_string(sj.snapshot_name));
    json_object_set_new(o, "consistent_lsn",
                        sj.consistent_lsn ? lsn_json(sj.consistent_lsn) : json_null());
    json_object_set_new(o, "acked_lsn", lsn_json(sj.acked_lsn));
    json_object_set_new(o, "ranges", range_counts_json(counts));
    json_object_set_new(o, "tables", tables_json(&plan));
    doubt = json_array();
    for (size_t i = 0; i < nlabels; i++)
        json_array_append_new(doubt, json_string(labels[i]));
    json_object_set_new(o, "loads_in_doubt", json_integer((json_int_t)nlabels));
    json_object_set_new(o, "loads_in_doubt_labels", doubt);
    cs = json_object();
    for (size_t i = 0; i < ncounters; i++)
        json_object_set_new(cs, counters[i].name, json_integer(counters[i].value));
    json_object_set_new(o, "counters", cs);
out:
    p2d_state_counters_free(counters, ncounters);
    p2d_state_labels_free(labels, nlabels);
    p2d_state_plan_free(&plan);
    return rc;
}

/* Looks the job's slot up at the source into o's "source" member. Returns
 * an exit code; on failure the member holds {"error": ...}. */
static int gather_source(const char *conninfo, const char *slot_name, json_t *o)
{
    struct p2d_pg_error e;
    struct p2d_slot_status s;
    PGconn *conn = NULL;
    json_t *src = json_object();
    char cur_text[64] = "";
    uint64_t cur = 0;
    bool null = true;
    int code = P2D_EXIT_OK;

    json_object_set_new(o, "source", src);
    if (p2d_pg_connect(conninfo, P2D_PG_SQL, "pg2doris status", &conn, &e) != 0) {
        code = P2D_EXIT_SOURCE;
        goto fail;
    }
    if (!slot_name || !slot_name[0]) {
        json_object_set_new(src, "slot_exists", json_false());
        goto out;
    }
    if (p2d_slot_status(conn, slot_name, &s, &e) != 0) {
        code = P2D_EXIT_SOURCE;
        goto fail;
    }
    json_object_set_new(src, "slot_exists", json_boolean(s.exists));
    if (!s.exists)
        goto out;
    json_object_set_new(src, "slot_active", json_boolean(s.active));
    json_object_set_new(src, "active_pid", s.active ? json_integer(s.active_pid) : json_null());
    json_object_set_new(src, "wal_status", json_string(s.wal_status));
    json_object_set_new(src, "restart_lsn", lsn_json(s.restart_lsn));
    json_object_set_new(src, "confirmed_flush_lsn", lsn_json(s.confirmed_flush_lsn));
    /* a standby has no current write position: the lag is then left out */
    if (p2d_pg_query_value(conn,
                           "SELECT CASE WHEN pg_is_in_recovery() THEN NULL"
                           " ELSE pg_current_wal_lsn() END",
                           "cannot read the current WAL position", cur_text, sizeof(cur_text),
                           &null, &e) == 0 &&
        !null && p2d_pg_lsn_parse(cur_text, &cur) == 0) {
        json_object_set_new(src, "current_lsn", lsn_json(cur));
        json_object_set_new(src, "lag_bytes",
                            json_integer(cur > s.confirmed_flush_lsn
                                             ? (json_int_t)(cur - s.confirmed_flush_lsn)
                                             : 0));
        json_object_set_new(
            src, "retained_bytes",
            json_integer(cur > s.restart_lsn ? (json_int_t)(cur - s.restart_lsn) : 0));
    }
    goto out;
fail:
    json_object_set_new(src, "error",
                        json_sprintf("%s%s%s", e.message, e.hint[0] ? "; hint: " : "", e.hint));
out:
    if (conn)
        PQfinish(conn);
    return code;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s && s[0] ? s : "-";
}

static json_int_t num(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void print_text(const json_t *o, FILE *out)
{
    const json_t *ranges = json_object_get(o, "ranges"), *tables = json_object_get(o, "tables");
    const json_t *running = json_object_get(o, "running"),
                 *counters = json_object_get(o, "counters");
    const json_t *labels = json_object_get(o, "loads_in_doubt_labels");
    const json_t *src = json_object_get(o, "source"), *t, *v;
    const char *key;
    size_t i;

    fprintf(out, "%-18s %s\n", "job", str(o, "job"));
    if (json_is_true(running))
        fprintf(out, "%-18s %s (in use by pg2doris pid %" JSON_INTEGER_FORMAT ")\n", "state",
                str(o, "state_dir"), num(o, "pid"));
    else if (json_is_false(running))
        fprintf(out, "%-18s %s (no pg2doris is running on it)\n", "state", str(o, "state_dir"));
    else
        fprintf(out, "%-18s %s\n", "state", str(o, "state_dir"));
    fprintf(out, "%-18s %s\n", "created", str(o, "created"));
    fprintf(out, "%-18s %s\n", "phase", str(o, "phase"));
    fprintf(out, "%-18s %s\n", "slot", str(o, "slot"));
    fprintf(out, "%-18s %s\n", "publication", str(o, "publication"));
    fprintf(out, "%-18s %s\n", "consistent point", str(o, "consistent_lsn"));
    fprintf(out, "%-18s %s\n", "acked LSN", str(o, "acked_lsn"));
    fprintf(out,
            "%-18s %" JSON_INTEGER_FORMAT " planned, %" JSON_INTEGER_FORMAT
            " running, %" JSON_INTEGER_FORMAT " done (%" JSON_INTEGER_FORMAT " in all)\n",
            "ranges", num(ranges, "planned"), num(ranges, "running"), num(ranges, "done"),
            num(ranges, "total"));
    fprintf(out, "%-18s %" JSON_INTEGER_FORMAT, "loads in doubt", num(o, "loads_in_doubt"));
    json_array_foreach(labels, i, v)
    {
        if (i == DOUBT_SHOWN) {
            fprintf(out, ", ...");
            break;
        }
        fprintf(out, "%s%s", i == 0 ? " (" : ", ", json_string_value(v));
    }
    fprintf(out, "%s\n", json_array_size(labels) ? ")" : "");
    fprintf(out, "%-18s %zu\n", "tables", json_array_size(tables));
    json_array_foreach(tables, i, t)
    {
        const json_t *r = json_object_get(t, "ranges");

        fprintf(out,
                "  %s -> %s (%s%s): %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
                " ranges done, %" JSON_INTEGER_FORMAT " running, %" JSON_INTEGER_FORMAT
                " rows loaded\n",
                str(t, "source"), str(t, "dest"), str(t, "model"),
                json_is_true(json_object_get(t, "schema_synced")) ? "" : ", schema not synced",
                num(r, "done"), num(r, "total"), num(r, "running"), num(t, "rows_done"));
    }
    fprintf(out, "%-18s %s\n", "counters", json_object_size(counters) ? "" : "none");
    json_object_foreach((json_t *)counters, key, v)
        fprintf(out, "  %-30s %" JSON_INTEGER_FORMAT "\n", key, json_integer_value(v));
    if (src) {
        if (json_object_get(src, "error"))
            fprintf(out, "%-18s cannot be read: %s\n", "slot at source", str(src, "error"));
        else if (!json_is_true(json_object_get(src, "slot_exists")))
            fprintf(out, "%-18s does not exist\n", "slot at source");
        else {
            fprintf(out, "%-18s exists, %s", "slot at source",
                    json_is_true(json_object_get(src, "slot_active")) ? "active" : "inactive");
            if (json_is_true(json_object_get(src, "slot_active")))
                fprintf(out, " (pid %" JSON_INTEGER_FORMAT ")", num(src, "active_pid"));
            fprintf(out, ", wal_status %s, confirmed flush %s\n", str(src, "wal_status"),
                    str(src, "confirmed_flush_lsn"));
            if (json_object_get(src, "current_lsn"))
                fprintf(out,
                        "%-18s %" JSON_INTEGER_FORMAT " bytes behind %s; %" JSON_INTEGER_FORMAT
                        " bytes of WAL retained for the slot\n",
                        "lag", num(src, "lag_bytes"), str(src, "current_lsn"),
                        num(src, "retained_bytes"));
        }
    }
    if (json_is_false(running) && strcmp(str(o, "phase"), "done") != 0)
        fprintf(out, "hint: no pg2doris runs this job now; rerun the sync with this --state to "
                     "resume it, or run \"pg2doris drop\" to end it\n");
}

int p2d_cli_status_run(int argc, char **argv)
{
    const char *dir = P2D_JOB_DEFAULT_STATE_DIR, *source = NULL;
    struct p2d_state *st = NULL;
    bool as_json = false;
    char err[2048];
    json_t *o = NULL;
    int code = P2D_EXIT_OK;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--json") == 0) {
            as_json = true;
        } else if (strcmp(a, "--state") == 0 || strcmp(a, "--source") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "pg2doris status: flag \"%s\" needs a value\n", a);
                return P2D_EXIT_USAGE;
            }
            if (strcmp(a, "--state") == 0)
                dir = argv[++i];
            else
                source = argv[++i];
        } else if (strncmp(a, "--state=", 8) == 0) {
            dir = a + 8;
        } else if (strncmp(a, "--source=", 9) == 0) {
            source = a + 9;
        } else {
            fprintf(stderr,
                    "pg2doris status: unknown argument \"%s\"; hint: run \"pg2doris status "
                    "--help\" for the flags\n",
                    a);
            return P2D_EXIT_USAGE;
        }
    }
    if (!dir[0]) {
        fprintf(stderr, "pg2doris status: --state needs a directory\n");
        return P2D_EXIT_USAGE;
    }
    if (p2d_state_open_readonly(dir, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "pg2doris status: %s\n", err);
        return P2D_EXIT_STATE;
    }
    if (!(o = json_object())) {
        code = P2D_EXIT_INTERNAL;
        goto out;
    }
    if (gather_state(st, dir, o) != 0) {
        fprintf(stderr, "pg2doris status: %s\n", p2d_state_errmsg(st));
        code = P2D_EXIT_STATE;
        goto out;
    }
    if (source)
        code = gather_source(source, json_string_value(json_object_get(o, "slot")), o);
    if (as_json) {
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        if (!text) {
            code = P2D_EXIT_INTERNAL;
            goto out;
        }
        printf("%s\n", text);
        free(text);
    } else {
        print_text(o, stdout);
    }
out:
    json_decref(o);
    p2d_state_close(st);
    return code;
}
