/* tokencollector command line: parse options, load the config, dispatch. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_server.h"
#include "api_admin.h"
#include "config.h"
#include "config_map.h"
#include "daemon.h"
#include "engine.h"
#include "import.h"
#include "isolation.h"
#include "log.h"
#include "plugin_guard.h"
#include "registry.h"
#include "status_cli.h"
#include "store.h"
#include "util.h"
#include "version.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_CONFIG = 2, EXIT_PARTIAL = 3 };

static const char usage_text[] =
    "usage: tokencollector [-c FILE] [options] [COMMAND]\n"
    "\n"
    "Keeps Solana tokens enriched from rate-limited APIs through source plugins.\n"
    "\n"
    "commands:\n"
    "  (none)               run continuously: refresh every token on its schedule until\n"
    "                       SIGTERM or SIGINT (in-flight work finishes, then exit 0)\n"
    "  --once               process every pending token once, print a summary, exit\n"
    "  import PATH|-        add token addresses (one per line) to the store\n"
    "  status [URL]         ask the running daemon (its admin API at URL, default\n"
    "                       $TC_API_URL) and print the scheduler and every source\n"
    "  migrate              create or upgrade the store's schema, then exit\n"
    "  serve                the HTTP API alone ([api] listen), without collecting: one\n"
    "                       of several API nodes on a store that collectors fill\n"
    "  --check-config       validate the config, load every plugin and check that the\n"
    "                       store can be written, then exit\n"
    "  --config-help        every config key: type, default, range, meaning; then the\n"
    "                       keys of each plugin in plugin_dir (--plugin FILE.so: only\n"
    "                       that plugin; --markdown: as a Markdown table)\n"
    "\n"
    "options:\n"
    "  -c, --config FILE    config file (default: conf/tokencollector.ini)\n"
    "  --log-level LEVEL    error, warn, info or debug (overrides [core] log_level)\n"
    "  --no-progress        no progress line even on a terminal\n"
    "  -V, --version        print the version and the plugin ABI, exit\n"
    "  -h, --help           this text\n"
    "\n"
    "exit codes: 0 success; 1 runtime failure (store or network); 2 usage or\n"
    "config error (printed as FILE:LINE: ...); 3 import finished but rejected\n"
    "some lines.\n";

static engine *running_engine;

static void on_signal(int sig)
{
    (void)sig;
    if (running_engine)
        engine_request_stop(running_engine);
}

/* Loads and checks source I's plugin; 0 when it is usable. */
static int check_source(const config *cfg, size_t i)
{
    char err[1024];
    source_instance *inst = registry_open(cfg->path, cfg->plugin_dir, &cfg->sources[i], err, sizeof err);
    if (!inst) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    printf("source %-14s plugin %s %s (ABI %u.%u), chunk %zu of max %zu%s\n", inst->name, inst->vt->name,
           inst->vt->version ? inst->vt->version : "?", inst->vt->abi_major, inst->vt->abi_minor,
           inst->chunk_size, inst->vt->max_chunk, cfg->sources[i].enabled ? "" : ", disabled");
    source_unref(inst);
    return 0;
}

/* Each plugin is loaded (its constructor run, create called) in a child:
 * one that crashes is an error naming it, not the checker's death. */
static int check_source_isolated(const config *cfg, size_t i)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return check_source(cfg, i);
    if (pid == 0) {
        int rc = check_source(cfg, i);
        fflush(stdout);
        fflush(stderr);
        _exit(rc == 0 ? 0 : 2);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status)) {
        const cfg_source *src = &cfg->sources[i];
        fprintf(stderr, "%s:%d: [source %s] plugin %s crashed while loading (signal %d, %s): the collector would "
                "die with it\n", cfg->path, src->line, src->name, src->plugin, WTERMSIG(status),
                strsignal(WTERMSIG(status)));
        return -1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int check_config(const config *cfg)
{
    char err[1024];
    int ok = 1;
    for (size_t i = 0; i < cfg->n_sources; i++)
        if (check_source_isolated(cfg, i) != 0)
            ok = 0;
    for (size_t i = 0; i < cfg->n_limiters; i++)
        printf("limiter %-13s %.4g requests/s, burst %.4g\n", cfg->limiters[i].name, cfg->limiters[i].rate_per_s,
               cfg->limiters[i].burst);
    if (store_check_access(cfg->store, err, sizeof err) != 0) {
        fprintf(stderr, "%s: [core] %s\n", cfg->path, err);
        ok = 0;
    }
    if (!ok)
        return EXIT_CONFIG;
    printf("%s: OK\n", cfg->path);
    return EXIT_OK;
}

static int describe_plugin(const char *path, int markdown)
{
    char err[1024];
    if (registry_describe(path, stdout, markdown, err, sizeof err) == 0)
        return EXIT_OK;
    fprintf(stderr, "%s\n", err);
    return EXIT_CONFIG;
}

static int is_plugin_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 3 && !strcmp(e->d_name + n - 3, ".so");
}

/* --config-help: the host's keys, then each plugin of PLUGIN_DIR. A config
 * that does not load is no reason to refuse help: the default plugin_dir
 * is used then. */
static int config_help(const char *config_path, const char *plugin, int markdown)
{
    if (plugin)
        return describe_plugin(plugin, markdown);
    cfg_print_help(stdout, markdown);
    if (markdown)
        return EXIT_OK;
    config cfg;
    char err[1024];
    int loaded = config_load_ex(config_path, &cfg, CONFIG_STORE_ONLY, err, sizeof err) == 0;
    const char *dir = loaded && cfg.plugin_dir ? cfg.plugin_dir : cfg_key_find(CFG_SEC_CORE, "plugin_dir")->def;
    struct dirent **entries = NULL;
    int n = scandir(dir, &entries, is_plugin_file, alphasort);
    printf("\nplugins in %s (each [source NAME] takes the keys above plus its plugin's):\n", dir);
    if (n < 0)
        printf("  (cannot read %s)\n", dir);
    for (int i = 0; i < n; i++) {
        char *path = registry_resolve_path(dir, entries[i]->d_name);
        printf("\n");
        describe_plugin(path, 0);
        free(path);
        free(entries[i]);
    }
    free(entries);
    if (loaded)
        config_free(&cfg);
    return EXIT_OK;
}

/* `migrate`: the store's schema brought to this build's version (creating
 * it when empty). Safe to run again, and from several hosts at once. */
static int run_migrate(const config *cfg)
{
    char msg[1024], err[1024];
    if (store_migrate(cfg->store, msg, sizeof msg, err, sizeof err) != 0) {
        fprintf(stderr, "error %s\n", err);
        return EXIT_RUNTIME;
    }
    printf("%s\n", msg);
    return EXIT_OK;
}

/* `serve`: the HTTP API alone (no collector) until SIGTERM or SIGINT.
 * Opens the store read-only: its schema must be current already. */
static int run_serve(const config *cfg)
{
    if (!cfg->api.listen) {
        fprintf(stderr, "%s: serve needs [api] listen = HOST:PORT\n", cfg->path);
        return EXIT_CONFIG;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    char err[1024];
    if (api_admin_configure(cfg->api.admin_token_file, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return EXIT_CONFIG;
    }
    api_server *s = api_server_start(cfg, err, sizeof err);
    if (!s) {
        fprintf(stderr, "error %s\n", err);
        return EXIT_RUNTIME;
    }
    for (;;) {
        int sig = 0;
        sigwait(&set, &sig);
        if (sig != SIGHUP)
            break;
        LOG_INFO("api", "SIGHUP: serve has nothing to reload ([api] keys need a restart)");
    }
    LOG_INFO("api", "stopping");
    api_server_stop(s);
    return EXIT_OK;
}

static int run_once(const config *cfg, int show_progress)
{
    char err[1024];
    store *st = store_open(cfg->store, err, sizeof err);
    if (!st) {
        fprintf(stderr, "error %s\n", err);
        return EXIT_RUNTIME;
    }
    engine *e = engine_new(cfg, st, err, sizeof err);
    if (!e) {
        fprintf(stderr, "%s\n", err);
        store_close(st);
        return EXIT_CONFIG;
    }
    running_engine = e;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGHUP, SIG_IGN); /* reload is the daemon's; a one-pass run ignores it */
    int64_t t0 = now_mono_ns();
    int rc = engine_run_once(e, show_progress ? stderr : NULL);
    double wall = (double)(now_mono_ns() - t0) / 1e9;
    engine_print_summary(e, stdout, wall);
    running_engine = NULL;
    engine_free(e);
    store_close(st);
    return rc == 0 ? EXIT_OK : EXIT_RUNTIME;
}

/* `status [URL]`: the running daemon's state through its admin API. The
 * token is TC_ADMIN_TOKEN (as the daemon's). */
static int run_status(const char *config_path, const char *url, int n_args)
{
    (void)config_path;
    if (n_args > 2) {
        fprintf(stderr, "tokencollector: status takes at most one URL\n");
        return EXIT_CONFIG;
    }
    if (!url)
        url = getenv("TC_API_URL");
    if (!url || !*url) {
        fprintf(stderr, "tokencollector status: give the daemon's URL (http://127.0.0.1:PORT) or set TC_API_URL\n");
        return EXIT_CONFIG;
    }
    char err[512];
    if (api_admin_configure(NULL, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return EXIT_CONFIG;
    }
    return status_cli(url, api_admin_token(), stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
    const char *config_path = "conf/tokencollector.ini";
    const char *log_level = NULL;
    const char *help_plugin = NULL;
    int once = 0, check = 0, no_progress = 0, help_config = 0, markdown = 0;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},     {"once", no_argument, NULL, 'o'},
        {"check-config", no_argument, NULL, 'k'},     {"log-level", required_argument, NULL, 'l'},
        {"no-progress", no_argument, NULL, 'p'},      {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},             {"config-help", no_argument, NULL, 'H'},
        {"markdown", no_argument, NULL, 'm'},         {"plugin", required_argument, NULL, 'P'},
        {NULL, 0, NULL, 0}};
    /* The helper mode of isolation = process (isolation_child.c). */
    if (argc == 4 && !strcmp(argv[1], "--plugin-child"))
        return isolation_child_main(argv[2], argv[3]);
    int opt;
    while ((opt = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'o': once = 1; break;
        case 'k': check = 1; break;
        case 'l': log_level = optarg; break;
        case 'p': no_progress = 1; break;
        case 'H': help_config = 1; break;
        case 'm': markdown = 1; break;
        case 'P': help_plugin = optarg; break;
        case 'V':
            printf("tokencollector %s (plugin ABI %d.%d)\n", TC_VERSION_STRING, TC_ABI_MAJOR, TC_ABI_MINOR);
            return EXIT_OK;
        case 'h': fputs(usage_text, stdout); return EXIT_OK;
        default: fputs(usage_text, stderr); return EXIT_CONFIG;
        }
    }
    if (help_config)
        return config_help(config_path, help_plugin, markdown);
    const char *command = optind < argc ? argv[optind] : NULL;
    if (command && !strcmp(command, "status"))
        return run_status(config_path, optind + 1 < argc ? argv[optind + 1] : NULL, argc - optind);
    int migrate = command && !strcmp(command, "migrate"), serve = command && !strcmp(command, "serve");
    if (command && !migrate && !serve && strcmp(command, "import") != 0) {
        fprintf(stderr, "tokencollector: unknown command \"%s\"\n%s", command, usage_text);
        return EXIT_CONFIG;
    }
    if ((migrate || serve) && optind + 1 != argc) {
        fprintf(stderr, "tokencollector: %s takes no argument\n", command);
        return EXIT_CONFIG;
    }
    if (command && !migrate && !serve && optind + 2 != argc) {
        fprintf(stderr, "tokencollector: import takes exactly one PATH (or - for standard input)\n");
        return EXIT_CONFIG;
    }
    if (log_level && log_level_parse(log_level) < 0) {
        fprintf(stderr, "tokencollector: --log-level: expected error, warn, info or debug, got \"%s\"\n", log_level);
        return EXIT_CONFIG;
    }

#if !defined(__SANITIZE_ADDRESS__)
    plugin_guard_install(); /* a plugin's crash names it (sanitizer builds keep their own report) */
#endif
    config cfg;
    char err[1024];
    /* migrate and import only open the store: the sources' sections (and
     * their ${API_KEY}s) need not be complete for them. */
    unsigned load_flags = serve ? CONFIG_SERVE : command ? CONFIG_STORE_ONLY : 0;
    if (config_load_ex(config_path, &cfg, load_flags, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return EXIT_CONFIG;
    }
    log_set_level(log_level ? (tc_log_level)log_level_parse(log_level) : (tc_log_level)cfg.log_level);
    log_set_format(cfg.log_format ? (log_format)log_format_parse(cfg.log_format) : LOG_FORMAT_TEXT);

    int rc;
    if (check)
        rc = check_config(&cfg);
    else if (migrate)
        rc = run_migrate(&cfg);
    else if (serve)
        rc = run_serve(&cfg);
    else if (command)
        rc = import_addresses(&cfg, argv[optind + 1]);
    else if (once)
        rc = run_once(&cfg, !no_progress && isatty(STDERR_FILENO));
    else
        rc = daemon_run_opts(&cfg, &(daemon_opts){.keep_log_level = log_level != NULL});
    log_flush_repeats();
    config_free(&cfg);
    return rc;
}
