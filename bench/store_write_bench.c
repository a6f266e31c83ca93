/* Store write throughput: N synthetic token results committed in batches of
 * 50, 500 and 5000 through the store interface, for SQLite and PostgreSQL.
 *
 *   build/bench/store_write_bench [N]        (default N = 20000)
 *
 * Each run starts from an empty store, imports N addresses, then
 *   pass 1 "first write": claims and commits every token (prices, links,
 *          sources are inserted),
 *   pass 2 "rewrite":     claims them again (due) and commits new values
 *          (every row conflicts and is updated).
 * Reported: committed token rows per second of commit time (the claim is
 * timed separately), median of 3 runs.
 *
 * Stores: TC_BENCH_SQLITE (default sqlite:/tmp/tc-bench-PID.db) and
 * TC_PG_URI; without TC_PG_URI a throwaway server is started with
 * tests/pg/pg_harness.sh (TC_PG_FSYNC=on for durable commits; the harness
 * default is off). TC_BENCH_BACKENDS=sqlite or =postgresql runs one only;
 * TC_BENCH_BATCHES=500 (or a comma list) picks the batch sizes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "store.h"
#include "util.h"

#define NSRC 3
static const char *const src_names[NSRC] = {"jupiter", "helius", "dexscreener"};

typedef struct proto {
    char addr[48];
    source_outcome outs[NSRC];
    tc_values per[NSRC];
    tc_values merged;
} proto;

static void make_proto(proto *p, size_t i, int pass)
{
    memset(p, 0, sizeof *p);
    double price = (double)(i % 997 + 1) * 0.0137 * (pass + 1);
    char name[64], sym[16], img[96], supply[32], url[96];
    snprintf(name, sizeof name, "Token \"%zu\" caf\xc3\xa9", i);
    snprintf(sym, sizeof sym, "T%zu", i % 100000);
    snprintf(img, sizeof img, "https://img.example/%zu.png", i);
    snprintf(supply, sizeof supply, "%llu", 1000000000000000000ULL + (unsigned long long)i);
    tc_values *m = &p->merged;
    values_set_str(m, TC_NAME, name);
    values_set_str(m, TC_SYMBOL, sym);
    values_set_num(m, TC_DECIMALS, (double)(i % 10));
    values_set_str(m, TC_IMAGE_URL, img);
    values_set_str(m, TC_SUPPLY, supply);
    values_set_num(m, TC_PRICE_USD, price);
    values_set_num(m, TC_MARKET_CAP, price * 1e9);
    values_set_num(m, TC_FDV, price * 1.2e9);
    values_set_num(m, TC_LIQUIDITY_USD, price * 3e5);
    values_set_num(m, TC_VOLUME_24H, price * 7e4);
    values_set_num(m, TC_CHANGE_24H, (double)((long)(i % 41) - 20) / 4);
    snprintf(url, sizeof url, "https://x.com/t%zu", i);
    values_add_link(m, TC_LINK_SOCIAL, "twitter", url);
    snprintf(url, sizeof url, "https://t.me/t%zu", i);
    values_add_link(m, TC_LINK_SOCIAL, "telegram", url);
    snprintf(url, sizeof url, "https://t%zu.example", i);
    values_add_link(m, TC_LINK_WEBSITE, "Website", url);
    /* jupiter and dexscreener know it, helius answered without it. */
    p->outs[0] = OUTCOME_FOUND;
    values_set_str(&p->per[0], TC_NAME, name);
    values_set_str(&p->per[0], TC_SYMBOL, sym);
    values_set_num(&p->per[0], TC_DECIMALS, (double)(i % 10));
    values_set_num(&p->per[0], TC_PRICE_USD, price);
    p->outs[1] = OUTCOME_MISSING;
    p->outs[2] = OUTCOME_FOUND;
    values_set_num(&p->per[2], TC_PRICE_USD, price);
    values_set_version(&p->per[0], "1.0.0"); /* as every record the engine commits */
    values_set_version(&p->per[2], "1.0.0");
    values_set_num(&p->per[2], TC_LIQUIDITY_USD, price * 3e5);
    values_set_num(&p->per[2], TC_VOLUME_24H, price * 7e4);
    values_copy_links(&p->per[2], m, TC_LINK_SOCIAL);
}

static void free_proto(proto *p)
{
    values_clear(&p->merged);
    for (int k = 0; k < NSRC; k++)
        values_clear(&p->per[k]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char *harness(void)
{
    static char path[1024];
    const char *src = getenv("TC_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/pg/pg_harness.sh", src ? src : ".");
    return path;
}

/* A fresh, empty store at URI (dropping what a previous run left). */
static store *fresh_store(const char *uri)
{
    char err[1024];
    if (!strncmp(uri, "sqlite:", 7)) {
        char path[1100];
        const char *sfx[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s%s", uri + 7, sfx[i]);
            unlink(path);
        }
    } else {
        PGconn *c = PQconnectdb(uri);
        if (PQstatus(c) != CONNECTION_OK) {
            fprintf(stderr, "connect: %s", PQerrorMessage(c));
            exit(1);
        }
        PQclear(PQexec(c, "SET client_min_messages = warning"));
        PQclear(PQexec(c, "DROP TABLE IF EXISTS token_sources, token_websites, token_socials, token_prices,"
                          " tokens, schema_migrations CASCADE"));
        PQfinish(c);
    }
    store *st = store_open(uri, err, sizeof err);
    if (!st) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    return st;
}

typedef struct pass_time {
    double commit_s, claim_s;
    size_t rows;
} pass_time;

static void run_pass(store *st, proto *protos, size_t n, size_t batch, int pass, pass_time *pt)
{
    char err[1024];
    token_result *res = calloc(batch, sizeof *res);
    size_t done = 0;
    unsigned k = 0;
    pt->commit_s = pt->claim_s = 0;
    pt->rows = 0;
    int64_t now = 1000000 + pass * 100000;
    while (done < n) {
        char id[48];
        snprintf(id, sizeof id, "bench:%d:%u", pass, k++);
        claim_request rq = {.owner = "bench", .claim_id = id, .now = now, .lease_s = 600, .max = batch,
                            .due = pass ? 1 : 0};
        claimed_token *addrs;
        size_t got;
        int64_t t0 = now_mono_ns();
        if (store_claim(st, &rq, &addrs, &got, err, sizeof err)) {
            fprintf(stderr, "claim: %s\n", err);
            exit(1);
        }
        int64_t t1 = now_mono_ns();
        if (got == 0) {
            claimed_tokens_free(addrs, got);
            break;
        }
        for (size_t i = 0; i < got; i++) {
            size_t idx = (size_t)atol(addrs[i].address + 2); /* "BT%07zu" */
            proto *p = &protos[idx];
            res[i] = (token_result){.address = addrs[i].address,
                                    .status = STATUS_ENRICHED,
                                    .merged = p->merged,
                                    .n_sources = NSRC,
                                    .source_names = src_names,
                                    .outcomes = p->outs,
                                    .per_source = p->per,
                                    .refresh_interval_s = 30 + (int)(idx % 4) * 15};
        }
        size_t fenced;
        int64_t t2 = now_mono_ns();
        if (store_commit(st, res, got, now, id, &fenced, err, sizeof err)) {
            fprintf(stderr, "commit: %s\n", err);
            exit(1);
        }
        int64_t t3 = now_mono_ns();
        pt->claim_s += (double)(t1 - t0) / 1e9;
        pt->commit_s += (double)(t3 - t2) / 1e9;
        pt->rows += got - fenced;
        done += got;
        claimed_tokens_free(addrs, got);
    }
    free(res);
}

static void bench_backend(const char *label, const char *uri, size_t n)
{
    size_t batches[8] = {50, 500, 5000};
    size_t n_batches = 3;
    const char *only = getenv("TC_BENCH_BATCHES"); /* e.g. "500" or "50,5000" */
    if (only && *only) {
        n_batches = 0;
        for (const char *p = only; *p && n_batches < 8;) {
            char *end;
            unsigned long v = strtoul(p, &end, 10);
            if (end == p)
                break;
            if (v > 0)
                batches[n_batches++] = v;
            p = *end == ',' ? end + 1 : end;
        }
    }
    char **addrs = xmalloc(n * sizeof *addrs);
    proto *protos[2];
    for (int pass = 0; pass < 2; pass++) {
        protos[pass] = xcalloc(n, sizeof *protos[pass]);
        for (size_t i = 0; i < n; i++)
            make_proto(&protos[pass][i], i, pass);
    }
    for (size_t i = 0; i < n; i++) {
        addrs[i] = xmalloc(24);
        snprintf(addrs[i], 24, "BT%07zu", i);
    }
    printf("%-11s %6s %8s | %14s %14s | %14s %14s\n", label, "batch", "tokens", "first write/s", "claim+write/s",
           "rewrite/s", "claim+rewr/s");
    for (size_t b = 0; b < n_batches; b++) {
        double w[3], wc[3], r[3], rc[3];
        for (int run = 0; run < 3; run++) {
            store *st = fresh_store(uri);
            size_t ins;
            char err[1024];
            for (size_t off = 0; off < n; off += 10000) {
                size_t m = n - off < 10000 ? n - off : 10000;
                if (store_import(st, (const char *const *)addrs + off, m, &ins, err, sizeof err)) {
                    fprintf(stderr, "import: %s\n", err);
                    exit(1);
                }
            }
            pass_time p1, p2;
            run_pass(st, protos[0], n, batches[b], 0, &p1);
            run_pass(st, protos[1], n, batches[b], 1, &p2);
            if (p1.rows != n || p2.rows != n) {
                fprintf(stderr, "%s: wrote %zu and %zu of %zu rows\n", label, p1.rows, p2.rows, n);
                exit(1);
            }
            w[run] = (double)n / p1.commit_s;
            wc[run] = (double)n / (p1.commit_s + p1.claim_s);
            r[run] = (double)n / p2.commit_s;
            rc[run] = (double)n / (p2.commit_s + p2.claim_s);
            store_close(st);
        }
        qsort(w, 3, sizeof *w, cmp_double);
        qsort(wc, 3, sizeof *wc, cmp_double);
        qsort(r, 3, sizeof *r, cmp_double);
        qsort(rc, 3, sizeof *rc, cmp_double);
        printf("%-11s %6zu %8zu | %14.0f %14.0f | %14.0f %14.0f\n", label, batches[b], n, w[1], wc[1], r[1], rc[1]);
        fflush(stdout);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++)
            free_proto(&protos[pass][i]);
        free(protos[pass]);
    }
    for (size_t i = 0; i < n; i++)
        free(addrs[i]);
    free(addrs);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 20000;
    if (n == 0 || n > 9999999) {
        fprintf(stderr, "usage: %s [N (1..9999999)]\n", argv[0]);
        return 2;
    }
    const char *only = getenv("TC_BENCH_BACKENDS");
    printf("store write benchmark: %zu tokens per run, median of 3 runs, committed token rows per second\n"
           "(each token row is written with 6 more: 1 token_prices, 2 token_socials, 1 token_websites,\n"
           " 2 token_sources; rows per second over all tables = 7 x the figures below)\n",
           n);
    if (!only || strstr(only, "sqlite")) {
        char sq[256];
        const char *env = getenv("TC_BENCH_SQLITE");
        snprintf(sq, sizeof sq, "%s", env ? env : "");
        if (!env)
            snprintf(sq, sizeof sq, "sqlite:/tmp/tc-bench-%d.db", (int)getpid());
        bench_backend("sqlite", sq, n);
        if (!env) {
            const char *sfx[] = {"", "-wal", "-shm"};
            for (int i = 0; i < 3; i++) {
                char path[300];
                snprintf(path, sizeof path, "%s%s", sq + 7, sfx[i]);
                unlink(path);
            }
        }
    }
    if (!only || strstr(only, "postgres")) {
        char *uri = getenv("TC_PG_URI") ? xstrdup(getenv("TC_PG_URI")) : NULL;
        int started = 0;
        if (!uri) {
            char cmd[1100], line[1024] = "";
            snprintf(cmd, sizeof cmd, "sh '%s' start", harness());
            FILE *p = popen(cmd, "r");
            if (p && !fgets(line, sizeof line, p))
                line[0] = '\0';
            int st = p ? pclose(p) : -1;
            line[strcspn(line, "\r\n")] = '\0';
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && !strncmp(line, "postgresql://", 13)) {
                uri = xstrdup(line);
                started = 1;
            } else
                printf("postgresql: skipped (no server: set TC_PG_URI or install postgresql)\n");
        }
        if (uri) {
            printf("postgresql: fsync %s\n", getenv("TC_PG_FSYNC") ? getenv("TC_PG_FSYNC") : (started ? "off" : "as configured"));
            bench_backend("postgresql", uri, n);
            if (started) {
                char cmd[2200];
                snprintf(cmd, sizeof cmd, "sh '%s' stop '%s'", harness(), uri);
                if (system(cmd) != 0)
                    fprintf(stderr, "stopping the server failed\n");
            }
            free(uri);
        }
    }
    return 0;
}
