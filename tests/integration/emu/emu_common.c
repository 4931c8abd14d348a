/*
 * emu_common.c - see emu_common.h.
 */
#include "emu_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int ec_fe_port;
int ec_be_port;

void ec_init(void)
{
    ec_fe_port = t_env_int("EMU_FE_PORT");
    ec_be_port = t_env_int("EMU_BE_PORT");
}

const char *ec_url(int port, const char *path)
{
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];

    snprintf(b, sizeof(bufs[0]), "http://127.0.0.1:%d%s", port, path);
    return b;
}

const char *ec_fe_url(const char *path)
{
    return ec_url(ec_fe_port, path);
}

const char *ec_be_url(const char *path)
{
    return ec_url(ec_be_port, path);
}

void ec_sql_as(int fe_port, const char *userpwd, const char *db, const char *sql, bool stream,
               struct t_resp *resp)
{
    char path[512];
    json_t *body = json_pack("{s:s}", "stmt", sql);
    char *text = json_dumps(body, JSON_COMPACT);
    struct t_req req = {0};

    snprintf(path, sizeof(path), "/api/query/default_cluster/%s", db);
    req.method = "POST";
    req.url = ec_url(fe_port, path);
    req.userpwd = userpwd;
    req.headers[0] = "Content-Type: application/json";
    req.headers[1] = stream ? NULL : "X-Doris-Stream: false";
    req.body = text;
    req.body_len = strlen(text);
    t_http(&req, resp);
    free(text);
    json_decref(body);
}

void ec_sql_ok(const char *db, const char *sql)
{
    struct t_resp r;

    ec_sql_as(ec_fe_port, "root:", db, sql, false, &r);
    if (t_json_int(r.json, "code") != 0)
        t_fail_at(__FILE__, __LINE__, "sql \"%s\" failed: %s", sql, r.body);
    else
        t_passed++;
    t_resp_free(&r);
}

char *ec_rows(int fe_port, const char *db, const char *sql)
{
    struct t_resp r;
    json_t *rows, *row, *cell;
    size_t i, j;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    ec_sql_as(fe_port, "root:", db, sql, false, &r);
    rows = json_object_get(json_object_get(r.json, "data"), "data");
    json_array_foreach(rows, i, row)
    {
        if (i)
            fputc(';', f);
        json_array_foreach(row, j, cell)
        {
            if (j)
                fputc('|', f);
            if (json_is_string(cell))
                fputs(json_string_value(cell), f);
            else if (json_is_null(cell))
                fputs("NULL", f);
            else {
                char *t = json_dumps(cell, JSON_ENCODE_ANY | JSON_COMPACT);

                fputs(t ? t : "?", f);
                free(t);
            }
        }
    }
    fclose(f);
    if (!json_is_array(rows))
        fprintf(stderr, "ec_rows: \"%s\" gave %s\n", sql, r.body);
    t_resp_free(&r);
    return out;
}

void ec_load(int fe_port, const char *userpwd, const char *db, const char *table,
             const char *const *headers, const char *body, size_t len, struct t_resp *resp)
{
    char path[512];
    struct t_req req = {0};
    int n = 0;

    snprintf(path, sizeof(path), "/api/%s/%s/_stream_load", db, table);
    req.method = "PUT";
    req.url = ec_url(fe_port, path);
    req.userpwd = userpwd;
    req.follow = true;
    req.headers[n++] = "Expect: 100-continue";
    for (int i = 0; headers && headers[i] && n < 63; i++)
        req.headers[n++] = headers[i];
    req.body = body;
    req.body_len = len;
    t_http(&req, resp);
}

void ec_load_ex(const char *db, const char *table, const char *const *headers, const char *body,
                size_t len, bool chunked, struct t_resp *resp)
{
    char path[512];
    struct t_req req = {0};
    int n = 0;

    snprintf(path, sizeof(path), "/api/%s/%s/_stream_load", db, table);
    req.method = "PUT";
    req.url = ec_url(ec_fe_port, path);
    req.userpwd = "root:";
    req.follow = true;
    req.chunked = chunked;
    req.headers[n++] = "Expect: 100-continue";
    for (int i = 0; headers && headers[i] && n < 63; i++)
        req.headers[n++] = headers[i];
    req.body = body;
    req.body_len = len;
    t_http(&req, resp);
}

int ec_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int ec_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

char *ec_read_response(int fd, int timeout_ms)
{
    char *buf = calloc(1, 1 << 16);
    size_t len = 0, cap = (1 << 16) - 1;

    while (len < cap) {
        struct pollfd pfd = {fd, POLLIN, 0};
        char *end;
        ssize_t k;

        if (poll(&pfd, 1, timeout_ms) <= 0)
            break;
        k = recv(fd, buf + len, cap - len, 0);
        if (k <= 0)
            break;
        len += (size_t)k;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            size_t head = (size_t)(end + 4 - buf);

            if (strncmp(buf, "HTTP/1.1 100", 12) == 0 && len == head)
                break; /* an interim 100 Continue on its own */
            if (!cl || cl > end || len >= head + strtoul(cl + 17, NULL, 10))
                break;
        }
    }
    return buf;
}

const char *ec_basic(const char *userpwd)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static char out[512];
    const unsigned char *p = (const unsigned char *)userpwd;
    size_t n = strlen(userpwd), o = 0;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);

        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

pid_t ec_spawn_emu(const char *const *args, int *fe_port, int *be_port)
{
    int pipefd[2];
    pid_t pid;
    char bin[1024], line[256];
    FILE *f;

    snprintf(bin, sizeof(bin), "%s/doris-emu", t_env("P2D_BUILD_DIR"));
    if (pipe(pipefd) < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        const char *argv[64];
        int n = 0;

        dup2(pipefd[1], 1);
        close(pipefd[0]);
        close(pipefd[1]);
        argv[n++] = bin;
        argv[n++] = "--fe-port";
        argv[n++] = "0";
        argv[n++] = "--be-port";
        argv[n++] = "0";
        argv[n++] = "--quiet";
        for (int i = 0; args && args[i] && n < 62; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    f = fdopen(pipefd[0], "r");
    *fe_port = *be_port = 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "doris-emu ready fe_port=%d be_port=%d", fe_port, be_port) == 2)
            break;
    }
    fclose(f);
    if (*fe_port == 0) {
        ec_stop_emu(pid, SIGKILL, 2000);
        return -1;
    }
    return pid;
}

int ec_stop_emu(pid_t pid, int sig, int timeout_ms)
{
    int status;

    kill(pid, sig);
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        pid_t k = waitpid(pid, &status, WNOHANG);

        if (k == pid) {
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            return 128 + WTERMSIG(status);
        }
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

char *ec_tmpdir(void)
{
    char *d = strdup("/tmp/emu-test.XXXXXX");

    if (!mkdtemp(d)) {
        perror("mkdtemp");
        exit(2);
    }
    return d;
}
