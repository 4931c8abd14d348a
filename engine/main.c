/*
 * main.c - pg2doris entry point: global flags and subcommand dispatch.
 *
 * Each subcommand owns its flags; main only finds the command, answers
 * --help / --version, and turns the command's result into an exit code
 * (p2d_error.h, enum p2d_exit).
 */
#include <stdio.h>
#include <string.h>

#include "cli/drop_cmd.h"
#include "cli/status_cmd.h"
#include "cli/sync_cmd.h"
#include "p2d_error.h"
#include "p2d_version.h"

struct command {
    const char *name;
    const char *summary;
    const char *usage;
    int (*run)(int argc, char **argv); /* NULL: not part of this build yet */
};

static const struct command commands[] = {
    {"sync", "schema sync, parallel full load, then incremental sync from the WAL",
     p2d_cli_sync_usage, p2d_cli_sync_run},
    {"precheck", "check source and destination before a sync, item by item", p2d_cli_precheck_usage,
     p2d_cli_precheck_run},
    {"verify", "compare source and destination tables (counts, keyed rows)", p2d_cli_verify_usage,
     p2d_cli_verify_run},
    {"drop", "drop a job's slot and publication, forget its state (Doris tables stay)",
     p2d_cli_drop_usage, p2d_cli_drop_run},
    {"status", "show a job's progress from its state directory (also while it runs)",
     p2d_cli_status_usage, p2d_cli_status_run},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_help(FILE *out)
{
    fprintf(out, "pg2doris %s - keep Apache Doris / SelectDB in step with PostgreSQL\n\n",
            P2D_VERSION);
    fprintf(out, "usage: pg2doris COMMAND [flags]\n       pg2doris COMMAND --help\n\n");
    fprintf(out, "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s%s\n", commands[i].name, commands[i].summary,
                commands[i].run ? "" : " (not in this build yet)");
    fprintf(out, "\nglobal flags:\n  --help     this text\n  --version  version and build\n");
    fprintf(out, "\nexit codes: 0 ok, 1 internal, 2 usage, 3 precheck, 4 source, 5 destination,\n"
                 "            6 verify mismatch, 7 state, 8 interrupted\n");
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    const struct command *cmd;

    if (argc < 2) {
        print_help(stderr);
        return P2D_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc > 2 && (cmd = find_command(argv[2])) != NULL) {
            printf("usage: %s\n\n%s\n", cmd->usage, cmd->summary);
            return P2D_EXIT_OK;
        }
        print_help(stdout);
        return P2D_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("pg2doris %s (%s)\n", P2D_VERSION, P2D_GIT_SHA);
        return P2D_EXIT_OK;
    }
    cmd = find_command(argv[1]);
    if (!cmd) {
        fprintf(stderr, "pg2doris: unknown command \"%s\"\n", argv[1]);
        fprintf(stderr, "hint: run \"pg2doris --help\" for the list of commands\n");
        return P2D_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s\n\n%s\n", cmd->usage, cmd->summary);
            return P2D_EXIT_OK;
        }
    }
    if (!cmd->run) {
        fprintf(stderr, "pg2doris: command \"%s\" is not part of this build yet\n", cmd->name);
        return P2D_EXIT_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
}
