/*
 * emu_common.h - helpers shared by the doris-emu conformance tests: URLs of
 * the emulator the harness started, SQL over HTTP, Stream Loads, raw
 * sockets for requests libcurl cannot hold open, and starting a private
 * doris-emu (for restarts and signals).
 */
#ifndef EMU_COMMON_H
#define EMU_COMMON_H

#include "testlib.h"

#include <sys/types.h>

/* Ports of the harness's doris-emu (EMU_FE_PORT / EMU_BE_PORT). */
extern int ec_fe_port;
extern int ec_be_port;

void ec_init(void);

/* "http://127.0.0.1:<fe or be><path>" in a static rotating buffer. */
const char *ec_fe_url(const char *path);
const char *ec_be_url(const char *path);
const char *ec_url(int port, const char *path);

/* POST /api/query/default_cluster/<db> {"stmt": sql} as user:pw (non-streaming
 * unless stream). The caller frees resp. */
void ec_sql_as(int fe_port, const char *userpwd, const char *db, const char *sql, bool stream,
               struct t_resp *resp);
/* Runs sql as root on the harness emu and checks code 0. */
void ec_sql_ok(const char *db, const char *sql);
/* Rows of a SELECT as "c1|c2;c1|c2" (NULL as "NULL"); malloc'd, "" on error. */
char *ec_rows(int fe_port, const char *db, const char *sql);

/* A Stream Load through the FE following the 307 (curl --location-trusted).
 * headers: NULL-terminated extra "Name: value" strings (may be NULL). */
void ec_load(int fe_port, const char *userpwd, const char *db, const char *table,
             const char *const *headers, const char *body, size_t len, struct t_resp *resp);

/* ec_load as root on the harness emu, optionally with a chunked body. */
void ec_load_ex(const char *db, const char *table, const char *const *headers, const char *body,
                size_t len, bool chunked, struct t_resp *resp);
/* Checks a load answer: Status, NumberTotalRows, NumberLoadedRows, NumberFilteredRows
 * (reported at the caller's line). */
#define EC_LOAD_IS(r, status, total, loaded, filtered)                                             \
    do {                                                                                           \
        T_EQ_STR(t_json_str((r)->json, "Status"), status);                                         \
        T_EQ_INT(t_json_int((r)->json, "NumberTotalRows"), total);                                 \
        T_EQ_INT(t_json_int((r)->json, "NumberLoadedRows"), loaded);                               \
        T_EQ_INT(t_json_int((r)->json, "NumberFilteredRows"), filtered);                           \
    } while (0)

/* Raw TCP to 127.0.0.1:port. */
int ec_connect(int port);
int ec_send_all(int fd, const char *p, size_t n);
/* Reads until the header block ends (and Content-Length bytes of body) or
 * timeout; returns a malloc'd NUL-terminated string. */
char *ec_read_response(int fd, int timeout_ms);

/* Basic credentials "user:pw" as base64 in a static buffer. */
const char *ec_basic(const char *userpwd);

/* Starts $P2D_BUILD_DIR/doris-emu with free ports and extra args; waits for
 * the ready line. Returns the pid (-1 on failure) and the ports. */
pid_t ec_spawn_emu(const char *const *args, int *fe_port, int *be_port);
/* Sends sig, waits up to timeout_ms; returns the exit status, or -1 when it
 * did not exit (then it is killed), or 128+N when killed by signal N. */
int ec_stop_emu(pid_t pid, int sig, int timeout_ms);

/* A fresh temporary directory (malloc'd). */
char *ec_tmpdir(void);

#endif
