/*
 * p2d_error.h - the one error convention of pg2doris: functions return int,
 * 0 for success or a negative P2D_E* code from the table below, and
 * p2d_strerror() names it. Exit codes of the program are separate (p2d_exit).
 */
#ifndef P2D_ERROR_H
#define P2D_ERROR_H

/* X(name, value, text) */
#define P2D_ERRORS(X)                                                                              \
    X(P2D_OK, 0, "success")                                                                        \
    X(P2D_ENOMEM, -1, "out of memory")                                                             \
    X(P2D_EINVAL, -2, "invalid argument")                                                          \
    X(P2D_EIO, -3, "input/output error")                                                           \
    X(P2D_ESOURCE, -4, "source database error")                                                    \
    X(P2D_EDEST, -5, "destination error")                                                          \
    X(P2D_ESTATE, -6, "state store error")                                                         \
    X(P2D_ERETRY, -7, "transient failure, retry")                                                  \
    X(P2D_ECANCEL, -8, "cancelled")                                                                \
    X(P2D_EDATA, -9, "value cannot be represented in the destination")                             \
    X(P2D_EPROTO, -10, "protocol violation")                                                       \
    X(P2D_EFULL, -11, "buffer limit reached")

enum p2d_error {
#define P2D_ERROR_ENUM(name, value, text) name = value,
    P2D_ERRORS(P2D_ERROR_ENUM)
#undef P2D_ERROR_ENUM
};

/* Text for an error code; never NULL. */
const char *p2d_strerror(int code);

/*
 * Exit codes. Each class of failure has its own, so scripts can tell a bad
 * flag from an unreachable source from a verification mismatch.
 */
enum p2d_exit {
    P2D_EXIT_OK = 0,
    P2D_EXIT_INTERNAL = 1,  /* a bug or an unexpected system failure */
    P2D_EXIT_USAGE = 2,     /* bad arguments or job file */
    P2D_EXIT_PRECHECK = 3,  /* a precheck item failed */
    P2D_EXIT_SOURCE = 4,    /* PostgreSQL unreachable or refused */
    P2D_EXIT_DEST = 5,      /* Doris unreachable or refused */
    P2D_EXIT_MISMATCH = 6,  /* verify found differences */
    P2D_EXIT_STATE = 7,     /* state directory unusable or from another job */
    P2D_EXIT_INTERRUPT = 8, /* stopped by a signal before finishing */
};

#endif
