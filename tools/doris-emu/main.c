/*
 * main.c - doris-emu's command line: parse flags, open the store, load
 * users and faults, start the FE and BE listeners, print the ready line,
 * and shut down cleanly on SIGTERM / SIGINT.
 *
 * DESIGN (signals): SIGTERM, SIGINT and SIGPIPE are blocked before any
 * thread starts, so every libmicrohttpd thread inherits the mask; the main
 * thread then waits for SIGTERM / SIGINT in sigwait() and does the shutdown
 * itself, in order: listeners (waking hung handlers), store, users, faults.
 */
#include "emu.h"
#include "http.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2
#define EXIT_START 1

static void usage(FILE *out)
{
    fprintf(out,
            "usage: doris-emu --fe-port N --be-port N [--host 127.0.0.1] [--data FILE|:memory:]\n"
            "                 [--users FILE] [--discard] [--fault SPEC]... [--seed N]\n"
            "                 [--max-body-mb N] [--log FILE|-] [--quiet]\n"
            "\n"
            "A local stand-in for an Apache Doris / SelectDB FE and BE (HTTP only).\n"
            "  --fe-port N       FE HTTP port (0 picks a free port)\n"
            "  --be-port N       BE HTTP port (0 picks a free port)\n"
            "  --host ADDR       IPv4 address to listen on and to name in redirects\n"
            "  --data FILE       SQLite file for tables and labels (default :memory:)\n"
            "  --users FILE      users and grants (default: root, empty password, ADMIN)\n"
            "  --discard         parse and check loads but store no rows (benchmarks)\n"
            "  --fault SPEC      inject a fault (repeatable), e.g. kind=e235,nth=2\n"
            "  --seed N          seed for rate= faults (default 1)\n"
            "  --max-body-mb N   streaming_load_max_mb (default 10240)\n"
            "  --log FILE|-      request log (default stderr; - is stderr)\n"
            "  --quiet           no request log\n"
            "Prints \"doris-emu ready fe_port=N be_port=N\" on stdout once both listen.\n");
}

__attribute__((format(printf, 1, 2), noreturn)) static void die_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("doris-emu: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nhint: run doris-emu --help\n", stderr);
    exit(EXIT_USAGE);
}

static long parse_number(const char *flag, const char *v, long min, long max)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max) {
        fprintf(stderr, "doris-emu: invalid value \"%s\" for %s: expected a number in [%ld, %ld]\n",
                v, flag, min, max);
        exit(EXIT_USAGE);
    }
    return n;
}

int main(int argc, char **argv)
{
    enum {
        OPT_FE_PORT = 1000,
        OPT_BE_PORT,
        OPT_HOST,
        OPT_DATA,
        OPT_USERS,
        OPT_DISCARD,
        OPT_FAULT,
        OPT_SEED,
        OPT_MAX_BODY,
        OPT_LOG,
        OPT_QUIET,
        OPT_HELP,
    };
    static const struct option opts[] = {
        {"fe-port", required_argument, NULL, OPT_FE_PORT},
        {"be-port", required_argument, NULL, OPT_BE_PORT},
        {"host", required_argument, NULL, OPT_HOST},
        {"data", required_argument, NULL, OPT_DATA},
        {"users", required_argument, NULL, OPT_USERS},
        {"discard", no_argument, NULL, OPT_DISCARD},
        {"fault", required_argument, NULL, OPT_FAULT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"max-body-mb", required_argument, NULL, OPT_MAX_BODY},
        {"log", required_argument, NULL, OPT_LOG},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    long fe_port = -1, be_port = -1, max_body_mb = 10240;
    unsigned long long seed = 1;
    const char *host = "127.0.0.1", *data = ":memory:", *users = NULL, *log_path = NULL;
    const char **fault_specs = calloc((size_t)argc + 1, sizeof(char *));
    int nfaults = 0, opt, sig;
    bool discard = false, quiet = false;
    struct emu_err err = {"", ""};
    struct emu_store *store = NULL;
    struct emu_auth *auth = NULL;
    struct emu_faults *faults = NULL;
    struct emu_server *server = NULL;
    struct emu_server_config cfg;
    FILE *log = stderr;
    sigset_t sigs;

    if (!fault_specs)
        abort();
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_FE_PORT:
            fe_port = parse_number("--fe-port", optarg, 0, 65535);
            break;
        case OPT_BE_PORT:
            be_port = parse_number("--be-port", optarg, 0, 65535);
            break;
        case OPT_HOST:
            host = optarg;
            break;
        case OPT_DATA:
            data = optarg;
            break;
        case OPT_USERS:
            users = optarg;
            break;
        case OPT_DISCARD:
            discard = true;
            break;
        case OPT_FAULT:
            fault_specs[nfaults++] = optarg;
            break;
        case OPT_SEED:
            seed = (unsigned long long)parse_number("--seed", optarg, 0, LONG_MAX);
            break;
        case OPT_MAX_BODY:
            max_body_mb = parse_number("--max-body-mb", optarg, 1, 1L << 30);
            break;
        case OPT_LOG:
            log_path = optarg;
            break;
        case OPT_QUIET:
            quiet = true;
            break;
        case OPT_HELP:
            usage(stdout);
            return 0;
        case ':':
            die_usage("option \"%s\" needs a value", argv[optind - 1]);
        default:
            die_usage("unknown option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument \"%s\"", argv[optind]);
    if (fe_port < 0 || be_port < 0)
        die_usage("%s", "--fe-port and --be-port are required (0 picks a free port)");
    if (fe_port != 0 && fe_port == be_port)
        die_usage("%s", "--fe-port and --be-port must differ");

    /* Faults are checked before anything starts, so a typo exits 2. */
    faults = emu_faults_create((uint64_t)seed);
    for (int i = 0; i < nfaults; i++) {
        if (emu_faults_add(faults, fault_specs[i], &err) < 0) {
            fprintf(stderr, "doris-emu: bad --fault \"%s\": %s\n", fault_specs[i], err.msg);
            emu_faults_free(faults);
            free(fault_specs);
            return EXIT_USAGE;
        }
    }
    free(fault_specs);
    if (log_path && strcmp(log_path, "-") != 0) {
        log = fopen(log_path, "a");
        if (!log) {
            fprintf(stderr, "doris-emu: could not open log file \"%s\": %s\n", log_path,
                    strerror(errno));
            emu_faults_free(faults);
            return EXIT_USAGE;
        }
    }
    auth = emu_auth_load(users, &err);
    if (!auth) {
        fprintf(stderr, "doris-emu: %s\n", err.msg);
        emu_faults_free(faults);
        if (log != stderr)
            fclose(log);
        return EXIT_USAGE;
    }

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    store = emu_store_open(data, discard, &err);
    if (!store) {
        fprintf(stderr, "doris-emu: could not open the store \"%s\": %s\n", data, err.msg);
        emu_auth_free(auth);
        emu_faults_free(faults);
        return EXIT_START;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = host;
    cfg.fe_port = (int)fe_port;
    cfg.be_port = (int)be_port;
    cfg.store = store;
    cfg.auth = auth;
    cfg.faults = faults;
    cfg.max_body_mb = max_body_mb;
    cfg.json_max_mb = 100;
    cfg.log = quiet ? NULL : log;
    cfg.errlog = stderr;
    server = emu_server_start(&cfg, &err);
    if (!server) {
        fprintf(stderr, "doris-emu: %s\n", err.msg);
        emu_store_close(store);
        emu_auth_free(auth);
        emu_faults_free(faults);
        return EXIT_START;
    }
    printf("doris-emu ready fe_port=%d be_port=%d\n", emu_server_fe_port(server),
           emu_server_be_port(server));
    fflush(stdout);

    sigdelset(&sigs, SIGPIPE);
    do {
        if (sigwait(&sigs, &sig) != 0)
            sig = SIGTERM;
    } while (sig != SIGTERM && sig != SIGINT);
    if (!quiet) {
        fprintf(log, "doris-emu: %s received, shutting down\n",
                sig == SIGTERM ? "SIGTERM" : "SIGINT");
        fflush(log);
    }
    emu_server_stop(server);
    emu_store_close(store);
    emu_auth_free(auth);
    emu_faults_free(faults);
    if (log != stderr)
        fclose(log);
    return 0;
}
