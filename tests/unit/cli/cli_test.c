/*
 * cli_test.c - the pg2doris binary's dispatch: help, version, unknown
 * commands and flags give the documented output and exit codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "testlib.h"

static int run(const char *args, char **out)
{
    char cmd[1024];
    FILE *f;
    char buf[8192];
    size_t n;
    int st;

    snprintf(cmd, sizeof(cmd), "%s/pg2doris %s 2>&1", t_env("P2D_BUILD_DIR"), args);
    f = popen(cmd, "r");
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    st = pclose(f);
    *out = strdup(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
    char *out;

    T_EQ_INT(run("--version", &out), 0);
    T_HAS_STR(out, "pg2doris 0.");
    free(out);

    T_EQ_INT(run("--help", &out), 0);
    T_HAS_STR(out, "sync");
    T_HAS_STR(out, "precheck");
    T_HAS_STR(out, "verify");
    free(out);

    T_EQ_INT(run("", &out), 2);
    free(out);

    T_EQ_INT(run("frobnicate", &out), 2);
    T_HAS_STR(out, "unknown command \"frobnicate\"");
    free(out);

    T_EQ_INT(run("sync --help", &out), 0);
    T_HAS_STR(out, "--source CONNINFO");
    free(out);

    T_EQ_INT(run("help verify", &out), 0);
    T_HAS_STR(out, "pg2doris verify");
    free(out);
    return t_done();
}
