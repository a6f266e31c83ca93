/* The physical limits beside the collector's CPU per token (bench/cpu.sh):
 * what the two unavoidable pieces of its work cost on this machine when
 * done by a bare program, with nothing else around them.
 *
 *   cpu_floor sqlite SRC.db DST.db BATCH
 *       Writes the rows a collector run stored in SRC (tokens' columns,
 *       token_prices, token_socials, token_websites, token_sources) into
 *       DST, a store holding the same tokens just imported, with prepared
 *       statements, one transaction per BATCH tokens: the tokens row
 *       updated, the others upserted. Only the writes are timed.
 *   cpu_floor json URL TOKENS_FILE
 *       Asks the fake upstream at URL for TOKENS_FILE's addresses in the
 *       shipped chunk sizes (Jupiter 100, Helius 1000, DexScreener 30) and
 *       parses every body with cJSON (parse and delete). Only the parsing
 *       is timed.
 *
 * Prints "us_per_token X" (CPU of the process, user + sys) and details. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, sqlite3 *db)
{
    fprintf(stderr, "cpu_floor: %s: %s\n", what, db ? sqlite3_errmsg(db) : "failed");
    exit(1);
}

/* ---- sqlite ------------------------------------------------------------------------------ */

enum { T_TOKENS, T_PRICES, T_SOCIALS, T_WEBSITES, T_SOURCES, T_N };
static const char *const tables[T_N] = {"tokens", "token_prices", "token_socials", "token_websites",
                                        "token_sources"};

typedef struct table {
    int ncol;
    char *cols[64];
    sqlite3_stmt *read, *write;
    sqlite3_value **rows; /* ncol values a row */
    size_t n, cap;
} table;

static void load_columns(sqlite3 *db, table *t, const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", name);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql, db);
    while (sqlite3_step(st) == SQLITE_ROW && t->ncol < 64)
        t->cols[t->ncol++] = strdup((const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
}

/* "a, b, c" of T's columns, from FIRST. */
static void col_list(char *out, size_t len, const table *t, int first, const char *fmt)
{
    out[0] = '\0';
    for (int i = first; i < t->ncol; i++) {
        size_t l = strlen(out);
        snprintf(out + l, len - l, i > first ? ", " : "");
        l = strlen(out);
        snprintf(out + l, len - l, fmt, t->cols[i], i + 1);
    }
}

static void prepare_table(sqlite3 *src, sqlite3 *dst, table *t, int k)
{
    load_columns(src, t, tables[k]);
    char cols[4096], vals[4096], sql[9000];
    col_list(cols, sizeof cols, t, 0, "%s");
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE address >= ?1 AND address <= ?2", cols, tables[k]);
    if (sqlite3_prepare_v2(src, sql, -1, &t->read, NULL) != SQLITE_OK)
        die(sql, src);
    if (k == T_TOKENS) { /* the row import made: updated, as the collector does */
        col_list(vals, sizeof vals, t, 1, "%s = ?%d");
        snprintf(sql, sizeof sql, "UPDATE tokens SET %s WHERE address = ?1", vals);
    } else {
        col_list(vals, sizeof vals, t, 0, "?%2$d");
        snprintf(sql, sizeof sql, "INSERT INTO %s(%s) VALUES (%s) ON CONFLICT DO NOTHING", tables[k], cols, vals);
    }
    if (sqlite3_prepare_v3(dst, sql, -1, SQLITE_PREPARE_PERSISTENT, &t->write, NULL) != SQLITE_OK)
        die(sql, dst);
}

static void read_rows(table *t, const char *lo, const char *hi)
{
    for (size_t i = 0; i < t->n * (size_t)t->ncol; i++)
        sqlite3_value_free(t->rows[i]);
    t->n = 0;
    sqlite3_bind_text(t->read, 1, lo, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(t->read, 2, hi, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(t->read) == SQLITE_ROW) {
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 1024;
            t->rows = realloc(t->rows, t->cap * (size_t)t->ncol * sizeof *t->rows);
        }
        for (int c = 0; c < t->ncol; c++)
            t->rows[t->n * (size_t)t->ncol + (size_t)c] = sqlite3_value_dup(sqlite3_column_value(t->read, c));
        t->n++;
    }
    sqlite3_reset(t->read);
}

static void write_rows(sqlite3 *dst, table *t)
{
    for (size_t r = 0; r < t->n; r++) {
        for (int c = 0; c < t->ncol; c++)
            sqlite3_bind_value(t->write, c + 1, t->rows[r * (size_t)t->ncol + (size_t)c]);
        if (sqlite3_step(t->write) != SQLITE_DONE)
            die("write", dst);
        sqlite3_reset(t->write);
    }
}

static int floor_sqlite(const char *src_path, const char *dst_path, int batch)
{
    sqlite3 *src, *dst;
    if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die(src_path, src);
    if (sqlite3_open(dst_path, &dst) != SQLITE_OK)
        die(dst_path, dst);
    /* The collector's own settings (store_sqlite.c). */
    sqlite3_exec(dst, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                      " PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;", NULL, NULL, NULL);
    table t[T_N] = {0};
    for (int k = 0; k < T_N; k++)
        prepare_table(src, dst, &t[k], k);
    sqlite3_stmt *addrs;
    if (sqlite3_prepare_v2(src, "SELECT address FROM tokens ORDER BY address", -1, &addrs, NULL) != SQLITE_OK)
        die("addresses", src);
    char **list = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(addrs) == SQLITE_ROW) {
        if (n == cap)
            list = realloc(list, (cap = cap ? cap * 2 : 4096) * sizeof *list);
        list[n++] = strdup((const char *)sqlite3_column_text(addrs, 0));
    }
    sqlite3_finalize(addrs);
    double spent = 0;
    size_t rows = 0;
    for (size_t i = 0; i < n; i += (size_t)batch) {
        size_t last = i + (size_t)batch - 1 < n ? i + (size_t)batch - 1 : n - 1;
        for (int k = 0; k < T_N; k++)
            read_rows(&t[k], list[i], list[last]);
        double t0 = cpu_s();
        if (sqlite3_exec(dst, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            die("begin", dst);
        for (int k = 0; k < T_N; k++) {
            write_rows(dst, &t[k]);
            rows += t[k].n;
        }
        if (sqlite3_exec(dst, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            die("commit", dst);
        spent += cpu_s() - t0;
    }
    printf("us_per_token %.2f\ntokens %zu\nrows_per_token %.2f\ncpu_s %.3f\n", spent * 1e6 / (double)n, n,
           (double)rows / (double)n, spent);
    sqlite3_close(dst);
    sqlite3_close(src);
    return 0;
}

/* ---- json -------------------------------------------------------------------------------- */

typedef struct buf {
    char *s;
    size_t len, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    put(ud, p, size * nmemb);
    return size * nmemb;
}

static int floor_json(const char *url, const char *tokens_path)
{
    FILE *f = fopen(tokens_path, "r");
    if (!f)
        die(tokens_path, NULL);
    char **list = NULL, line[256];
    size_t n = 0, cap = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        if (n == cap)
            list = realloc(list, (cap = cap ? cap * 2 : 4096) * sizeof *list);
        list[n++] = strdup(line);
    }
    fclose(f);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    static const size_t chunk[3] = {100, 1000, 30};
    double spent = 0;
    size_t bytes = 0, bodies = 0;
    buf u = {0}, body = {0}, resp = {0};
    for (int src = 0; src < 3; src++)
        for (size_t i = 0; i < n; i += chunk[src]) {
            size_t end = i + chunk[src] < n ? i + chunk[src] : n;
            u.len = body.len = resp.len = 0;
            put(&u, url, strlen(url));
            if (src == 1) {
                put(&u, "/?api-key=bench", 15);
                const char *head = "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"method\":\"getAssetBatch\",\"params\":{\"ids\":[";
                put(&body, head, strlen(head));
            } else
                put(&u, src == 0 ? "/tokens/v2/search?query=" : "/tokens/v1/solana/",
                    strlen(src == 0 ? "/tokens/v2/search?query=" : "/tokens/v1/solana/"));
            for (size_t k = i; k < end; k++) {
                buf *b = src == 1 ? &body : &u;
                if (k > i)
                    put(b, ",", 1);
                if (src == 1)
                    put(b, "\"", 1);
                put(b, list[k], strlen(list[k]));
                if (src == 1)
                    put(b, "\"", 1);
            }
            if (src == 1)
                put(&body, "]}}", 3);
            curl_easy_setopt(h, CURLOPT_URL, u.s);
            if (src == 1) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.s);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body.len);
            } else
                curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
            curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
            curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
            long status = 0;
            if (curl_easy_perform(h) != CURLE_OK ||
                (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status), status != 200)) {
                fprintf(stderr, "cpu_floor: %s: HTTP %ld\n", u.s, status);
                return 1;
            }
            double t0 = cpu_s();
            cJSON *j = cJSON_ParseWithLength(resp.s, resp.len);
            if (!j) {
                fprintf(stderr, "cpu_floor: %s: not JSON\n", u.s);
                return 1;
            }
            cJSON_Delete(j);
            spent += cpu_s() - t0;
            bytes += resp.len;
            bodies++;
        }
    printf("us_per_token %.2f\ntokens %zu\nbodies %zu\nkb_per_token %.2f\nmb_per_s %.1f\n", spent * 1e6 / (double)n,
           n, bodies, (double)bytes / 1024.0 / (double)n, (double)bytes / 1e6 / spent);
    curl_easy_cleanup(h);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "sqlite"))
        return floor_sqlite(argv[2], argv[3], atoi(argv[4]) > 0 ? atoi(argv[4]) : 50);
    if (argc == 4 && !strcmp(argv[1], "json"))
        return floor_json(argv[2], argv[3]);
    fprintf(stderr, "usage: cpu_floor sqlite SRC.db DST.db BATCH | cpu_floor json URL TOKENS_FILE\n");
    return 2;
}
