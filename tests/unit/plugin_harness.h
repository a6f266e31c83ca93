/*
 * Test harness for source plugins: loads the real .so through dlopen (so the
 * ABI path is what is tested), provides a fake tc_host (settings, request
 * recorder, log capture) and a collecting tc_emit.
 *
 * Plugins are looked up in $TC_PLUGIN_DIR, else build/plugins/; fixtures in
 * $TC_FIXTURE_DIR, else tests/fixtures/. Tests run from the repository root.
 */
#ifndef TC_PLUGIN_HARNESS_H
#define TC_PLUGIN_HARNESS_H

#include <stddef.h>
#include "tokencollector/plugin.h"

/* ---- Loading --------------------------------------------------------------- */

typedef struct ph_plugin {
    void *dl;
    const tc_source *src;
    char path[1024];
} ph_plugin;

/* Loads NAME.so and checks its descriptor (ph_abi_check). 0, or -1 with ERR. */
int ph_plugin_load(ph_plugin *p, const char *name, char *err, size_t errlen);
void ph_plugin_unload(ph_plugin *p);

/* What the host checks before calling anything: abi_major, struct_size
 * covering parse_response, name, max_chunk > 0, all callbacks present. */
int ph_abi_check(const tc_source *s, char *err, size_t errlen);

/* ---- Instances ---------------------------------------------------------- */

/* The harness's settings: a NULL-terminated key, value list. Passed to the
 * plugin as the opaque tc_settings (the plugin never looks inside). */
typedef struct ph_settings {
    const char *const *kv;
} ph_settings;

typedef struct ph_instance {
    ph_plugin *plugin;
    void *self;
    tc_host host;
    ph_settings settings;
    int nlog[4];         /* lines logged per tc_log_level */
    char last_log[512];  /* last line logged */
    uint32_t emit_size;  /* tc_emit.struct_size ph_parse offers: 0 = this
                            host's; offsetof(tc_emit, extra_num) = a 1.0 host's */
} ph_instance;

/* Creates an instance with settings KV = {"key","value",...,NULL} (KV may be
 * NULL). Returns NULL and writes create()'s message into ERR on failure. */
ph_instance *ph_create(ph_plugin *p, const char *const *kv, char *err, size_t errlen);
void ph_destroy(ph_instance *in);

/* ---- Requests ---------------------------------------------------------------- */

#define PH_MAX_HEADERS 16

/* What build_request produced; passed to the plugin as the opaque tc_request. */
typedef struct ph_request {
    int url_calls, body_calls;
    tc_method method;
    char *url;
    size_t nheaders;
    char *hname[PH_MAX_HEADERS];
    char *hvalue[PH_MAX_HEADERS];
    char *content_type;
    char *body;
    size_t body_len;
    int bad_calls; /* builder calls the host rejected */
} ph_request;

/* Runs build_request; returns its result. Free REQ with ph_request_free. */
int ph_build(ph_instance *in, const char *const *addrs, size_t n, ph_request *req);
void ph_request_free(ph_request *req);
/* Value of header NAME (case-insensitive), or NULL. */
const char *ph_request_header(const ph_request *req, const char *name);

/* ---- Responses / collected results ---------------------------------------- */

#define PH_NFIELDS TC_FIELD_COUNT_V1

typedef struct ph_link {
    int kind;
    char *label; /* may be NULL */
    char *url;
} ph_link;

/* An extra (tc_emit.extra_*, ABI 1.1) as the host would keep it. */
typedef struct ph_extra {
    char key[TC_EXTRA_KEY_MAX + 1];
    char type;     /* 'n' number, 's' string, 'b' bool */
    double num;    /* 'n'; 'b': 0 or 1 */
    char *str;     /* 's' */
    int set_count; /* times set (1 expected) */
} ph_extra;

typedef struct ph_token {
    const char *addr;
    int known;
    int set_count[PH_NFIELDS];  /* times the field was set (1 expected) */
    char *str[PH_NFIELDS];
    double num[PH_NFIELDS];
    size_t nlinks;
    ph_link *links;
    size_t nextras;             /* at most TC_EXTRA_MAX, in the order first set */
    ph_extra *extras;
} ph_token;

typedef struct ph_collect {
    size_t n;
    ph_token *tok;
    size_t calls;    /* all emit calls */
    size_t rejected; /* calls a host rejects: unknown address, wrong type, bad field/kind, NULL,
                        an extra with a bad key, a non-finite number or over a bound */
    tc_emit emit;
} ph_collect;

/* Runs parse_response on a private, exactly sized copy of BODY (so ASan sees
 * over-reads), after resetting OUT. OUTCOME may be NULL. */
tc_status ph_parse(ph_instance *in, const char *const *addrs, size_t n, long status,
                   const char *body, size_t len, ph_collect *out, tc_outcome *outcome);
/* Same with a fixture file (relative to the fixture dir); fails the test if
 * the file is missing. */
tc_status ph_parse_fixture(ph_instance *in, const char *const *addrs, size_t n, long status,
                           const char *fixture, ph_collect *out, tc_outcome *outcome);
void ph_collect_free(ph_collect *c);

/* Fixture contents (malloc'd, NUL-terminated), or NULL. */
char *ph_fixture(const char *relpath, size_t *len);

/* Lookups on collected results; ADDR must be one of the chunk. */
const ph_token *ph_tok(const ph_collect *c, const char *addr);
const char *ph_str(const ph_collect *c, const char *addr, tc_field f); /* NULL: not set */
int ph_has(const ph_collect *c, const char *addr, tc_field f);
double ph_num(const ph_collect *c, const char *addr, tc_field f); /* NAN when not set */
size_t ph_nfields(const ph_collect *c, const char *addr);         /* distinct fields set */
size_t ph_nlinks(const ph_collect *c, const char *addr);
/* URL of the first link with KIND and LABEL (LABEL NULL matches a NULL label). */
const char *ph_link_url(const ph_collect *c, const char *addr, tc_link_kind kind, const char *label);
/* Extra KEY of ADDR, or NULL when it was not set. */
const ph_extra *ph_extra_of(const ph_collect *c, const char *addr, const char *key);
/* The host's rule for an extra's key (plugin.h): [a-z][a-z0-9_]{0,47} and
 * not a field's name. */
int ph_extra_key_ok(const char *key);
/* Number of fields and extras set more than once across all tokens. */
size_t ph_duplicates(const ph_collect *c);
/* Nothing at all was emitted (no setter call, no known mark). */
int ph_empty(const ph_collect *c);

/* ---- Robustness sweeps --------------------------------------------------- */

/* Parses proper prefixes of BODY (up to its last non-blank byte) with HTTP
 * 200: all of them up to 4 KiB, else a stride of 1 + len/4096 plus the last
 * 64 (all with PH_FULL_SWEEP=1). Each must return TC_RETRY and emit nothing.
 * Returns the number of prefixes that did not; *FIRST_BAD gets the first
 * such length. */
size_t ph_prefix_sweep(ph_instance *in, const char *const *addrs, size_t n, const char *body,
                       size_t len, size_t *first_bad);

/* Parses ITERATIONS deterministic random mutations of BODY (byte changes to
 * JSON-significant characters, deletions, duplications, cuts). The plugin
 * must not crash (ASan/UBSan builds check memory); returns the number of
 * emit calls a host would reject plus fields set twice, which must be 0.
 * STATUS_COUNTS[TC_OK..TC_FATAL] (may be NULL) gets how often each came back.
 * $PH_FUZZ_ITERATIONS overrides ITERATIONS for longer local runs. */
size_t ph_mutation_fuzz(ph_instance *in, const char *const *addrs, size_t n, const char *body,
                        size_t len, unsigned seed, int iterations, size_t status_counts[3]);

/* ---- Assertion helpers for cmocka tests (expand only in the test files,
 * which include <cmocka.h> first) ------------------------------------------- */

/* Field F of ADDR is set exactly once and equals EXPECTED exactly. */
#define PH_ASSERT_NUM(c, addr, f, expected)                                              \
    do {                                                                               \
        const ph_token *t_ = ph_tok((c), (addr));                                      \
        double want_ = (expected);                                                     \
        if (!t_ || t_->set_count[(f)] != 1 || !(t_->num[(f)] == want_))                \
            fail_msg("%s field %d: set %d times, got %.17g, want %.17g", (addr), (int)(f), \
                     t_ ? t_->set_count[(f)] : -1, t_ ? t_->num[(f)] : 0.0, want_);    \
    } while (0)

/* String field F of ADDR is set exactly once and equals EXPECTED. */
#define PH_ASSERT_STR(c, addr, f, expected)                                              \
    do {                                                                               \
        const ph_token *t_ = ph_tok((c), (addr));                                      \
        const char *want_ = (expected);                                                \
        if (!t_ || t_->set_count[(f)] != 1 || !t_->str[(f)] || strcmp(t_->str[(f)], want_) != 0) \
            fail_msg("%s field %d: set %d times, got \"%s\", want \"%s\"", (addr), (int)(f),   \
                     t_ ? t_->set_count[(f)] : -1, (t_ && t_->str[(f)]) ? t_->str[(f)] : "(null)", want_); \
    } while (0)

/* Field F of ADDR was not emitted. */
#define PH_ASSERT_UNSET(c, addr, f)                                                      \
    do {                                                                               \
        if (ph_has((c), (addr), (f)))                                                  \
            fail_msg("%s field %d: emitted but should not be", (addr), (int)(f));       \
    } while (0)

/* Link (KIND, LABEL) of ADDR exists with URL. */
#define PH_ASSERT_LINK(c, addr, kind, label, url)                                        \
    do {                                                                               \
        const char *u_ = ph_link_url((c), (addr), (kind), (label));                    \
        if (!u_ || strcmp(u_, (url)) != 0)                                             \
            fail_msg("%s link %s: got %s, want %s", (addr), (label) ? (label) : "(null)", \
                     u_ ? u_ : "(none)", (url));                                       \
    } while (0)

/* Extra KEY of ADDR is set exactly once, as a number (KIND 'n') or a bool
 * ('b': 0 or 1), and equals EXPECTED exactly. */
#define PH_ASSERT_EXTRA_NUM_(c, addr, key, kind, expected)                               \
    do {                                                                               \
        const ph_extra *e_ = ph_extra_of((c), (addr), (key));                          \
        double want_ = (expected);                                                     \
        if (!e_ || e_->set_count != 1 || e_->type != (kind) || !(e_->num == want_))    \
            fail_msg("%s extra %s: set %d times as '%c', got %.17g, want '%c' %.17g", (addr), (key), \
                     e_ ? e_->set_count : 0, e_ ? e_->type : '-', e_ ? e_->num : 0.0, (kind), want_); \
    } while (0)
#define PH_ASSERT_EXTRA_NUM(c, addr, key, expected) PH_ASSERT_EXTRA_NUM_(c, addr, key, 'n', expected)
#define PH_ASSERT_EXTRA_BOOL(c, addr, key, expected) PH_ASSERT_EXTRA_NUM_(c, addr, key, 'b', (expected) != 0)

/* String extra KEY of ADDR is set exactly once and equals EXPECTED. */
#define PH_ASSERT_EXTRA_STR(c, addr, key, expected)                                      \
    do {                                                                               \
        const ph_extra *e_ = ph_extra_of((c), (addr), (key));                          \
        const char *want_ = (expected);                                                \
        if (!e_ || e_->set_count != 1 || e_->type != 's' || strcmp(e_->str, want_) != 0) \
            fail_msg("%s extra %s: set %d times, got \"%s\", want \"%s\"", (addr), (key), \
                     e_ ? e_->set_count : 0, (e_ && e_->str) ? e_->str : "(none)", want_); \
    } while (0)

/* Extra KEY of ADDR was not emitted. */
#define PH_ASSERT_NO_EXTRA(c, addr, key)                                                 \
    do {                                                                               \
        if (ph_extra_of((c), (addr), (key)))                                           \
            fail_msg("%s extra %s: emitted but should not be", (addr), (key));         \
    } while (0)

#endif
