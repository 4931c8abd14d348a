/*
 * status_cmd.h - `pg2doris status`: a job's progress from its state
 * directory, as text or one JSON object, without taking the state's lock.
 */
#ifndef P2D_STATUS_CMD_H
#define P2D_STATUS_CMD_H

/* Full usage text shown by `status --help`. */
extern const char p2d_cli_status_usage[];

/* argv[0] is "status". Returns a process exit code (enum p2d_exit). */
int p2d_cli_status_run(int argc, char **argv);

#endif
