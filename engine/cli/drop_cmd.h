/*
 * drop_cmd.h - `pg2doris drop`: remove a job's replication slot and
 * publication at the source and forget its state directory.
 */
#ifndef P2D_DROP_CMD_H
#define P2D_DROP_CMD_H

/* Full usage text shown by `drop --help`. */
extern const char p2d_cli_drop_usage[];

/* argv[0] is "drop". Returns a process exit code (enum p2d_exit). */
int p2d_cli_drop_run(int argc, char **argv);

#endif
