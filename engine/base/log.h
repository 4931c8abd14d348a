/*
 * log.h - the engine's log: one line per event, as text or JSON lines, to
 * stderr (or a file). Secrets never reach it: passwords inside libpq
 * connection strings and URLs are masked by p2d_log_mask_secrets(), which
 * every message passes through.
 *
 * Thread-safe: a line is formatted on the caller's stack and written with
 * one write(2), so lines of different threads never interleave.
 */
#ifndef P2D_LOG_H
#define P2D_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum p2d_log_level {
    P2D_LOG_DEBUG,
    P2D_LOG_INFO,
    P2D_LOG_WARN,
    P2D_LOG_ERROR,
};

enum p2d_log_format {
    P2D_LOG_TEXT,
    P2D_LOG_JSON,
};

/* Sets where and how lines go; fd -1 keeps the current (stderr by default).
 * Call before threads start. */
void p2d_log_setup(enum p2d_log_level min_level, enum p2d_log_format format, int fd);

/* Parses "debug|info|warn|error" / "text|json"; -1 if unknown. */
int p2d_log_level_parse(const char *s);
int p2d_log_format_parse(const char *s);

/* Logs one event. module names the source ("reader", "writer", ...). */
void p2d_log(enum p2d_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define P2D_DEBUG(mod, ...) p2d_log(P2D_LOG_DEBUG, mod, __VA_ARGS__)
#define P2D_INFO(mod, ...)  p2d_log(P2D_LOG_INFO, mod, __VA_ARGS__)
#define P2D_WARN(mod, ...)  p2d_log(P2D_LOG_WARN, mod, __VA_ARGS__)
#define P2D_ERROR(mod, ...) p2d_log(P2D_LOG_ERROR, mod, __VA_ARGS__)

/*
 * Copies text into out (size outlen, always NUL-terminated) with secrets
 * replaced by "****": the value of password=... in libpq keyword/value
 * strings (quoted or not), the password part of user:password@ in URLs
 * (postgres://, postgresql://, http://, https://), and the value of
 * PGPASSWORD= / PG2DORIS_DEST_PASSWORD= assignments. Returns out.
 */
char *p2d_log_mask_secrets(const char *text, char *out, size_t outlen);

#endif
