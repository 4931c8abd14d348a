/*
 * sync_cmd.c - `pg2doris sync|precheck|verify`: flags and job file into a
 * struct p2d_job (job/job.h), problems reported one per line with exit code
 * P2D_EXIT_USAGE, warnings printed, and --dry-run printing the resolved job
 * (passwords masked). The pipeline behind the commands is not part of this
 * build yet; without --dry-run they say so and exit with P2D_EXIT_USAGE.
 */
#include "cli/sync_cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/job.h"
#include "p2d_error.h"

#define DRY_RUN_HELP "  --dry-run               validate, print the resolved job and exit\n"

const char p2d_cli_sync_usage[] =
    "pg2doris sync --source CONNINFO --dest URL [--mode schema,full,incremental] "
    "[flags]\n\n" P2D_JOB_FLAGS_HELP DRY_RUN_HELP;
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
