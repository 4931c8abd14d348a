/*
 * sync_cmd.h - the `sync`, `precheck` and `verify` commands: their help and
 * their run functions for main's dispatch table.
 */
#ifndef P2D_SYNC_CMD_H
#define P2D_SYNC_CMD_H

/* Full usage text (synopsis, then every flag) shown by `COMMAND --help`. */
extern const char p2d_cli_sync_usage[];
extern const char p2d_cli_precheck_usage[];
extern const char p2d_cli_verify_usage[];

/*
 * Run functions: argv[0] is the command name. They parse and validate the
 * flags and the job file; with --dry-run they print the resolved job and
 * exit 0. Return a process exit code (enum p2d_exit).
 */
int p2d_cli_sync_run(int argc, char **argv);
int p2d_cli_precheck_run(int argc, char **argv);
int p2d_cli_verify_run(int argc, char **argv);

#endif
