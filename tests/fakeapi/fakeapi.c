/*
 * fakeapi: a local stand-in for Jupiter, Helius and DexScreener.
 *
 * Speaks the real endpoints' paths and response shapes with deterministic
 * data (fake_data.c, fake_render.c), enforces each source's published rate
 * limit as a sliding window (HTTP 429 + Retry-After), adds latency, injects
 * faults on demand and counts everything it served, so tests can assert on
 * calls, rates and 429s. See README.md next to this file.
 *
 * This file is the command line: the options, the port file, the signals.
 * The server itself is fake_server.c (HTTP) and fake_state.c (limits,
 * faults, counters), which in-process tests start directly.
 */
#include "fake_server.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_WINDOW_LIMIT 10000000u
#define DEFAULT_PORT 8899

/* --------------------------------------------------------------- options */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: fakeapi [options]\n"
            "  --port N                 listen on 127.0.0.1:N (default %d; 0 = ephemeral)\n"
            "  --port-file PATH         write the bound port to PATH once listening\n"
            "  --latency MIN-MAX        added latency per source request, ms (default 0-0)\n"
            "  --unknown-all PERMILLE   addresses unknown to every source (default 20)\n"
            "  --unknown SOURCE=PERMILLE addresses unknown to SOURCE (defaults 50, 30, 120)\n"
            "  --limit SOURCE=L/Wms     at most L requests per W ms sliding window\n"
            "                           (defaults jupiter=60/60000ms helius=2/1000ms\n"
            "                           dexscreener=300/60000ms)\n"
            "  --scale F                divide every window by F (F times faster)\n"
            "  --seed N                 seed of the fault and latency PRNGs (default 1)\n"
            "  --drift PERMILLE/MS      prices of that share of addresses move every MS\n"
            "                           milliseconds (daemon runs; default off)\n"
            "  --verbose                log each request to stderr\n"
            "SOURCE is jupiter, helius or dexscreener.\n",
            DEFAULT_PORT);
}

static int parse_source_assignment(const char *arg, fake_source *source, const char **value)
{
    const char *eq = strchr(arg, '=');
    if (!eq)
        return -1;
    char name[32];
    size_t len = (size_t)(eq - arg);
    if (len >= sizeof name)
        return -1;
    memcpy(name, arg, len);
    name[len] = '\0';
    *value = eq + 1;
    return fake_source_by_name(name, source);
}

static int parse_limit(fake_server_options *o, const char *arg)
{
    fake_source s;
    const char *v;
    if (parse_source_assignment(arg, &s, &v) != 0)
        return -1;
    char *end;
    errno = 0;
    unsigned long limit = strtoul(v, &end, 10);
    if (errno || end == v || *end != '/' || v[0] == '-' || limit < 1 || limit > MAX_WINDOW_LIMIT)
        return -1;
    const char *w = end + 1;
    double window_ms = strtod(w, &end);
    if (end == w || !(window_ms > 0) || !isfinite(window_ms) || (*end && strcmp(end, "ms") != 0))
        return -1;
    o->limit[s] = (unsigned)limit;
    o->window_ms[s] = window_ms;
    return 0;
}

static int parse_options(fake_server_options *o, int argc, char **argv, const char **port_file)
{
    enum { OPT_PORT = 1000, OPT_PORT_FILE, OPT_LATENCY, OPT_UNKNOWN_ALL, OPT_UNKNOWN,
           OPT_LIMIT, OPT_SCALE, OPT_SEED, OPT_VERBOSE, OPT_HELP, OPT_DRIFT };
    static const struct option LONG_OPTIONS[] = {
        { "port", required_argument, NULL, OPT_PORT },
        { "port-file", required_argument, NULL, OPT_PORT_FILE },
        { "latency", required_argument, NULL, OPT_LATENCY },
        { "unknown-all", required_argument, NULL, OPT_UNKNOWN_ALL },
        { "unknown", required_argument, NULL, OPT_UNKNOWN },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "scale", required_argument, NULL, OPT_SCALE },
        { "seed", required_argument, NULL, OPT_SEED },
        { "drift", required_argument, NULL, OPT_DRIFT },
        { "verbose", no_argument, NULL, OPT_VERBOSE },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "h", LONG_OPTIONS, NULL)) != -1) {
        int bad = 0;
        unsigned u;
        char *end;
        fake_source s;
        const char *v;
        switch (opt) {
        case OPT_PORT:
            bad = fake_parse_uint(optarg, 65535, &o->port);
            break;
        case OPT_PORT_FILE:
            *port_file = optarg;
            break;
        case OPT_LATENCY: {
            unsigned long lo = strtoul(optarg, &end, 10), hi = lo;
            if (end == optarg || optarg[0] == '-')
                bad = 1;
            else if (*end == '-')
                hi = strtoul(end + 1, &end, 10);
            if (!bad && (*end || hi < lo || hi > 600000))
                bad = 1;
            o->latency_min_ms = (unsigned)lo;
            o->latency_max_ms = (unsigned)hi;
            break;
        }
        case OPT_UNKNOWN_ALL:
            bad = fake_parse_uint(optarg, 1000, &o->profile.unknown_all_permille);
            break;
        case OPT_UNKNOWN:
            bad = parse_source_assignment(optarg, &s, &v) != 0 || fake_parse_uint(v, 1000, &u) != 0;
            if (!bad)
                o->profile.unknown_permille[s] = u;
            break;
        case OPT_LIMIT:
            bad = parse_limit(o, optarg);
            break;
        case OPT_SCALE:
            o->scale = strtod(optarg, &end);
            bad = end == optarg || *end || !(o->scale > 0) || !isfinite(o->scale);
            break;
        case OPT_DRIFT: {
            unsigned long period;
            bad = sscanf(optarg, "%u/%lu", &o->drift_permille, &period) != 2 || o->drift_permille > 1000 ||
                  period == 0;
            o->drift_period_ms = period;
            break;
        }
        case OPT_SEED:
            errno = 0;
            o->seed = strtoull(optarg, &end, 0);
            bad = errno || end == optarg || *end;
            break;
        case OPT_VERBOSE:
            o->verbose = 1;
            break;
        case OPT_HELP:
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "fakeapi: bad value for --%s: '%s'\n",
                    LONG_OPTIONS[opt - OPT_PORT].name, optarg);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fakeapi: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Write the port to PATH atomically (readers never see a partial file). */
static int write_port_file(const char *path, unsigned port)
{
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    if (!tmp)
        return -1;
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = -1;
    if (f) {
        int written = fprintf(f, "%u\n", port) > 0;
        if (fclose(f) == 0 && written && rename(tmp, path) == 0)
            rc = 0;
    }
    if (rc != 0) {
        fprintf(stderr, "fakeapi: cannot write port file %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}


/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    fake_server_options opts;
    fake_server_options_default(&opts);
    opts.port = DEFAULT_PORT;
    const char *port_file = NULL;
    if (parse_options(&opts, argc, argv, &port_file) != 0)
        return 2;

    /* Block the stop signals in every thread; main waits for them below. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    unsigned bound;
    fake_server *srv = fake_server_start(&opts, &bound);
    if (!srv) {
        fprintf(stderr, "fakeapi: cannot listen on 127.0.0.1:%u\n", opts.port);
        return 1;
    }
    int rc = 0;
    if (port_file && write_port_file(port_file, bound) != 0)
        rc = 1;

    while (rc == 0) {
        int sig;
        if (sigwait(&stop_signals, &sig) == 0)
            break;
    }
    fake_server_stop(srv);
    return rc;
}
