/*
 * sync_cmd.c - `pg2doris sync|precheck|verify`: flags and job file into a
 * struct p2d_job (job/job.h), problems reported one per line with exit code
 * P2D_EXIT_USAGE, warnings printed, and --dry-run printing the resolved job
 * (passwords masked). `sync` runs the schema and full-load steps
 * (sync/fullload.h) and then streams changes (sync/incremental.h), as
 * --mode says (default: all three). precheck runs the checks of job/precheck.h and prints
 * them; verify compares source and destination (verify/verify.h) and
 * exits 0 on a match, P2D_EXIT_MISMATCH on a difference.
 */
#include "cli/sync_cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/job.h"
#include "job/precheck.h"
#include "p2d_error.h"
#include "sync/fullload.h"
#include "verify/verify.h"

#define DRY_RUN_HELP "  --dry-run               validate, print the resolved job and exit\n"

#define SYNC_MODE_HELP                                                                             \
    "--mode defaults to schema,full,incremental: after the full load the sync keeps\n"             \
    "streaming changes until SIGINT / SIGTERM, which flushes and acknowledges what is\n"           \
    "pending and exits 0. Without incremental the slot is dropped when the run ends. A\n"          \
    "rerun with the same --state resumes: only unfinished ranges are read again, and the\n"        \
    "stream continues from the last acknowledged position.\n"

const char p2d_cli_sync_usage[] = "pg2doris sync --source CONNINFO --dest URL [--mode schema,full] "
                                  "[flags]\n\n" P2D_JOB_FLAGS_HELP DRY_RUN_HELP SYNC_MODE_HELP;
const char p2d_cli_precheck_usage[] =
    "pg2doris precheck --source CONNINFO --dest URL [flags]\n\n" P2D_JOB_FLAGS_HELP DRY_RUN_HELP;
const char p2d_cli_verify_usage[] =
    "pg2doris verify --source CONNINFO --dest URL [--full] [flags]\n\n"
    "  --full                  compare every row, not counts and samples\n" P2D_JOB_FLAGS_HELP
        DRY_RUN_HELP;

/* Prints each line of text to stderr as "pg2doris CMD: [prefix]line". */
static void print_lines(const char *cmd, const char *prefix, const char *text)
{
    while (*text) {
        size_t n = strcspn(text, "\n");

        fprintf(stderr, "pg2doris %s: %s%.*s\n", cmd, prefix, (int)n, text);
        text += n;
        if (*text == '\n')
            text++;
    }
}

static int run(enum p2d_job_cmd kind, const char *cmd, int argc, char **argv)
{
    struct p2d_job_env env;
    struct p2d_job *job = NULL;
    char **args = calloc((size_t)argc + 1, sizeof(char *));
    char err[8192];
    bool dry_run = false;
    int nargs = 0, rc;

    if (!args) {
        fprintf(stderr, "pg2doris %s: out of memory\n", cmd);
        return P2D_EXIT_INTERNAL;
    }
    /* --dry-run belongs to the command, not to the job */
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--dry-run") == 0)
            dry_run = true;
        else
            args[nargs++] = argv[i];
    }
    p2d_job_env_from_process(&env);
    rc = p2d_job_parse(kind, nargs, args, &env, &job, err, sizeof(err));
    free(args);
    if (rc == P2D_ENOMEM) {
        fprintf(stderr, "pg2doris %s: out of memory\n", cmd);
        return P2D_EXIT_INTERNAL;
    }
    if (rc != 0) {
        print_lines(cmd, "", err);
        return P2D_EXIT_USAGE;
    }
    for (size_t i = 0; i < job->nwarnings; i++)
        print_lines(cmd, "warning: ", job->warnings[i]);
    if (dry_run) {
        char text[16384];

        p2d_job_describe(job, text, sizeof(text));
        fputs(text, stdout);
        p2d_job_destroy(job);
        return P2D_EXIT_OK;
    }
    if (kind == P2D_JOB_SYNC) {
        rc = p2d_fullload_run(job);
        p2d_job_destroy(job);
        return rc;
    }
    if (kind == P2D_JOB_PRECHECK) {
        struct p2d_precheck_report rep = {0};
        struct p2d_precheck_opts opts = {.check_conflicts = true};

        rc = p2d_precheck_run(job, &opts, &rep);
        p2d_precheck_print(&rep, stdout, stderr, false);
        p2d_precheck_report_fini(&rep);
        p2d_job_destroy(job);
        return rc;
    }
    if (kind == P2D_JOB_VERIFY) {
        rc = p2d_verify_run(job, job->verify_full);
        p2d_job_destroy(job);
        return rc;
    }
    p2d_job_destroy(job);
    fprintf(stderr,
            "pg2doris %s: the %s pipeline is not part of this build yet; hint: add --dry-run to "
            "check the flags and see the resolved job\n",
            cmd, cmd);
    return P2D_EXIT_USAGE;
}

int p2d_cli_sync_run(int argc, char **argv)
{
    return run(P2D_JOB_SYNC, "sync", argc, argv);
}

int p2d_cli_precheck_run(int argc, char **argv)
{
    return run(P2D_JOB_PRECHECK, "precheck", argc, argv);
}

int p2d_cli_verify_run(int argc, char **argv)
{
    return run(P2D_JOB_VERIFY, "verify", argc, argv);
}
