/*
 * tokencollector plugin test kit: unit-test a source plugin without the host,
 * the network or a test framework.
 *
 * It loads your .so with dlopen and checks its descriptor as the host does,
 * gives it a fake host (settings from a string, a log, a request recorder
 * that refuses what the host refuses), runs build_request and parse_response,
 * and records everything the plugin emitted so that a test can assert on it.
 * Link with libtokencollector-testkit.a and -ldl:
 *
 *   cc $(pkg-config --cflags tokencollector) test_acme.c -o test_acme \
 *      $(pkg-config --variable=testkit_libs tokencollector)
 *
 * A test in a few lines (any framework works; TC_KIT_EXPECT needs none):
 *
 *   tc_kit_plugin *p = tc_kit_load("acme.so", err, sizeof err);
 *   tc_kit_instance *in = tc_kit_create(p, "base_url = http://127.0.0.1:9\n", err, sizeof err);
 *   tc_kit_request *req;
 *   TC_KIT_EXPECT(tc_kit_build(in, addrs, 2, &req) == 0);
 *   TC_KIT_EXPECT_STR(req->url, "http://127.0.0.1:9/prices?ids=A,B");
 *   tc_kit_result *res;
 *   TC_KIT_EXPECT(tc_kit_parse_file(in, addrs, 2, 200, TC_KIT_JSON, "test/prices.json", &res) == TC_OK);
 *   TC_KIT_CHECK(tc_kit_check_num(res, addrs[0], TC_PRICE_USD, 1.25));
 *   ... free what you made, then: return tc_kit_failures() != 0;
 *
 * Stability: functions and members are only ever added. The structs the kit
 * hands out are allocated by the kit and carry their size first, so a test
 * built against this header keeps working with a newer library. Everything
 * the kit returns stays valid until it is freed, and an instance must be
 * destroyed before its plugin is unloaded. Out of memory aborts: this is a
 * test tool. Not thread-safe.
 *
 * Environment: TC_PLUGIN_DIR (see tc_kit_load); TC_KIT_VERBOSE=1 prints the
 * plugin's log lines; TC_KIT_FULL_SWEEP=1 and TC_KIT_FUZZ_ITERATIONS=N make
 * the robustness sweeps longer.
 */
#ifndef TOKENCOLLECTOR_TESTKIT_H
#define TOKENCOLLECTOR_TESTKIT_H

#include <stddef.h>
#include <stdint.h>

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Grows by one with every addition to this header. */
#define TC_KIT_VERSION 2

/* The content type most recorded bodies have. */
#define TC_KIT_JSON "application/json"

/* ---- Loading ---------------------------------------------------------------- */

typedef struct tc_kit_plugin tc_kit_plugin; /* one dlopen'ed .so */

/* dlopens PATH (RTLD_NOW | RTLD_LOCAL, like the host) and checks its
 * descriptor with tc_kit_check_source. A PATH without '/' is looked up in
 * $TC_PLUGIN_DIR, else in the current directory. NULL with a reason in ERR
 * ("plugin PATH was built for plugin ABI 2.0, ...") on failure. */
tc_kit_plugin *tc_kit_load(const char *path, char *err, size_t errlen);
void tc_kit_unload(tc_kit_plugin *p); /* NULL: nothing */
const tc_source *tc_kit_source(const tc_kit_plugin *p);
const char *tc_kit_path(const tc_kit_plugin *p); /* the path dlopen got */

/* The checks the host makes before it calls anything in a descriptor:
 * abi_major equal to the host's, struct_size covering ABI 1.0's members,
 * a name, the four functions, max_chunk > 0. 0, or -1 with the host's
 * wording of the problem in ERR. */
int tc_kit_check_source(const tc_source *s, char *err, size_t errlen);

/* ---- Instances: create() with a fake host ------------------------------------ */

typedef struct tc_kit_instance tc_kit_instance;

/* Calls create() with SETTINGS, "key = value" lines as in a [source NAME]
 * section: blank lines and lines starting with ';' or '#' are skipped, a
 * ';' after white space starts a comment, a key given twice is an error.
 * No ${VAR} expansion and no type checks (the host's --check-config does
 * those). SETTINGS may be NULL. On failure returns NULL with create()'s
 * message (or the settings error) in ERR. */
tc_kit_instance *tc_kit_create(tc_kit_plugin *p, const char *settings, char *err, size_t errlen);
/* The same with KV = {"key", "value", ..., NULL} (may be NULL). */
tc_kit_instance *tc_kit_create_kv(tc_kit_plugin *p, const char *const *kv, char *err, size_t errlen);
void tc_kit_destroy(tc_kit_instance *in); /* calls destroy(); NULL: nothing */

/* The tc_emit.struct_size parse_response gets from IN from now on (also in
 * the sweeps): 0, the default, is this kit's sizeof(tc_emit);
 * TC_KIT_EMIT_SIZE_1_0 plays a host built for ABI 1.0, whose tc_emit ends
 * after known (no extras). A setter past SIZE is still filled in, but a
 * call to it is refused: a plugin must check TC_HAS_MEMBER first. */
void tc_kit_set_emit_size(tc_kit_instance *in, uint32_t size);
#define TC_KIT_EMIT_SIZE_1_0 ((uint32_t)offsetof(tc_emit, extra_num))

/* The tc_host the plugin got, e.g. to copy and shrink for an old-host test. */
const tc_host *tc_kit_host(const tc_kit_instance *in);
/* Lines the plugin logged at LEVEL since create(), and the last one ("" if none). */
unsigned tc_kit_log_count(const tc_kit_instance *in, tc_log_level level);
const char *tc_kit_last_log(const tc_kit_instance *in);

/* ---- Requests -------------------------------------------------------------- */

typedef struct tc_kit_header {
    const char *name, *value;
} tc_kit_header;

/* What build_request made through the host's request builders. */
typedef struct tc_kit_request {
    uint32_t struct_size;
    tc_method method;         /* 0 until request_url was accepted */
    const char *url;          /* NULL until request_url was accepted */
    size_t nheaders;          /* in the order they were added */
    const tc_kit_header *headers;
    const char *content_type; /* NULL: none given, or no body */
    const char *body;         /* NULL: no body; NUL-terminated, body_len without it */
    size_t body_len;
    unsigned url_calls, header_calls, body_calls;
    unsigned refused;         /* builder calls the host would refuse (-1 returned) */
} tc_kit_request;

/* Runs build_request for ADDRS[0..N) and returns its result. *OUT gets the
 * request even when build_request failed; free it with tc_kit_request_free. */
int tc_kit_build(tc_kit_instance *in, const char *const *addrs, size_t n, tc_kit_request **out);
void tc_kit_request_free(tc_kit_request *r);
/* The first header NAME (compared case-insensitively), or NULL. */
const char *tc_kit_header_value(const tc_kit_request *r, const char *name);

/* ---- Responses and what the plugin emitted --------------------------------------- */

typedef struct tc_kit_link {
    tc_link_kind kind;
    const char *label; /* may be NULL */
    const char *url;
} tc_kit_link;

/* An extra (tc_emit.extra_num / extra_str / extra_bool, ABI 1.1) as the
 * host keeps it: the last accepted value of its key. */
typedef enum tc_kit_extra_type { TC_KIT_EXTRA_NUM = 1, TC_KIT_EXTRA_STR = 2, TC_KIT_EXTRA_BOOL = 3 } tc_kit_extra_type;

typedef struct tc_kit_extra {
    uint32_t struct_size;
    const char *key;
    tc_kit_extra_type type;
    double num;      /* TC_KIT_EXTRA_NUM; TC_KIT_EXTRA_BOOL: 0 or 1 */
    const char *str; /* TC_KIT_EXTRA_STR, else NULL */
    unsigned times;  /* accepted calls with this key (the host keeps the last; once expected) */
} tc_kit_extra;

typedef struct tc_kit_result {
    uint32_t struct_size;
    tc_status status;          /* what parse_response returned */
    const tc_outcome *outcome; /* as the plugin left it (garbage on entry, as in the host) */
    size_t calls;              /* every setter call */
    size_t refused;            /* calls the host would refuse: an address not in the
                                  chunk, the wrong setter for a field, an unknown field
                                  or link kind, NULL, a non-finite number, an empty URL;
                                  an extra whose key breaks tc_extra_key_ok (sdk/extra.h),
                                  a string over TC_EXTRA_STR_MAX bytes, a key past
                                  TC_EXTRA_MAX for the address, a setter past emit_size */
    /* TC_KIT_VERSION 2 */
    uint32_t emit_size;        /* the tc_emit.struct_size the plugin got */
} tc_kit_result;

/* Runs parse_response for the chunk ADDRS[0..N) on a response with HTTP
 * STATUS, CONTENT_TYPE (may be NULL) and BODY[0..LEN), given to the plugin
 * in an exactly sized copy that is wiped afterwards (so AddressSanitizer
 * sees over-reads and kept pointers show). Returns parse_response's status;
 * *OUT gets everything emitted (also when the status is not TC_OK, so that
 * a test can check nothing was). Free it with tc_kit_result_free. */
tc_status tc_kit_parse(tc_kit_instance *in, const char *const *addrs, size_t n, long status,
                       const char *content_type, const char *body, size_t len, tc_kit_result **out);
/* The same with the body read from the file PATH; a missing file is a
 * broken test: the kit says so on stderr and aborts. */
tc_status tc_kit_parse_file(tc_kit_instance *in, const char *const *addrs, size_t n, long status,
                            const char *content_type, const char *path, tc_kit_result **out);
void tc_kit_result_free(tc_kit_result *r);

/* The contents of PATH, malloc'd and NUL-terminated (LEN without the NUL,
 * may be NULL), or NULL when it cannot be read. */
char *tc_kit_read_file(const char *path, size_t *len);

/* Per address of the chunk (another address: 0, NULL or NAN). */
int tc_kit_known(const tc_kit_result *r, const char *addr);  /* a known mark or any value */
unsigned tc_kit_times(const tc_kit_result *r, const char *addr, tc_field f); /* times F was set */
const char *tc_kit_str(const tc_kit_result *r, const char *addr, tc_field f); /* NULL: not set */
double tc_kit_num(const tc_kit_result *r, const char *addr, tc_field f);      /* NAN: not set */
size_t tc_kit_nfields(const tc_kit_result *r, const char *addr); /* distinct fields set */
size_t tc_kit_nlinks(const tc_kit_result *r, const char *addr);
const tc_kit_link *tc_kit_link_at(const tc_kit_result *r, const char *addr, size_t i); /* emit order */
/* URL of the first link with KIND and LABEL (a NULL LABEL matches a NULL label). */
const char *tc_kit_link_url(const tc_kit_result *r, const char *addr, tc_link_kind kind, const char *label);
size_t tc_kit_duplicates(const tc_kit_result *r); /* fields and extras set more than once, all addresses */
int tc_kit_empty(const tc_kit_result *r);         /* no setter call at all */
/* ADDR's extras: how many distinct keys, the I-th in the order first set,
 * the one named KEY (NULL: not set). */
size_t tc_kit_nextras(const tc_kit_result *r, const char *addr);
const tc_kit_extra *tc_kit_extra_at(const tc_kit_result *r, const char *addr, size_t i);
const tc_kit_extra *tc_kit_extra_of(const tc_kit_result *r, const char *addr, const char *key);

/* ---- Checks for any framework ------------------------------------------------ */

/* Each returns NULL when the check holds, else a message saying what was
 * found, valid until the next check. Field F of ADDR was set exactly once
 * to WANT (compared exactly); to the string WANT; not at all; ADDR has a
 * link (KIND, LABEL) with URL. tc_kit_check_text compares two strings
 * (either may be NULL). */
const char *tc_kit_check_num(const tc_kit_result *r, const char *addr, tc_field f, double want);
const char *tc_kit_check_str(const tc_kit_result *r, const char *addr, tc_field f, const char *want);
const char *tc_kit_check_unset(const tc_kit_result *r, const char *addr, tc_field f);
const char *tc_kit_check_link(const tc_kit_result *r, const char *addr, tc_link_kind kind,
                              const char *label, const char *url);
const char *tc_kit_check_text(const char *got, const char *want);
/* Extra KEY of ADDR was set exactly once, as a number equal to WANT
 * (compared exactly); as a bool, true exactly when WANT is non-zero; as the
 * string WANT; not at all. */
const char *tc_kit_check_extra_num(const tc_kit_result *r, const char *addr, const char *key, double want);
const char *tc_kit_check_extra_bool(const tc_kit_result *r, const char *addr, const char *key, int want);
const char *tc_kit_check_extra_str(const tc_kit_result *r, const char *addr, const char *key, const char *want);
const char *tc_kit_check_extra_unset(const tc_kit_result *r, const char *addr, const char *key);

/* Without a framework: each failed expectation prints "FILE:LINE: what" on
 * stderr and is counted; main() returns tc_kit_failures() != 0. */
#define TC_KIT_EXPECT(cond) tc_kit_expect_((cond) ? NULL : "expected " #cond, __FILE__, __LINE__)
#define TC_KIT_EXPECT_STR(got, want) tc_kit_expect_(tc_kit_check_text((got), (want)), __FILE__, __LINE__)
#define TC_KIT_CHECK(message) tc_kit_expect_((message), __FILE__, __LINE__) /* a tc_kit_check_* */
int tc_kit_expect_(const char *failure, const char *file, int line); /* 1: passed */
unsigned tc_kit_failures(void);
unsigned tc_kit_passes(void);

/* ---- Robustness sweeps ----------------------------------------------------- */

/* Parses every proper prefix of BODY (up to its last non-blank byte) with
 * HTTP 200 and TC_KIT_JSON: every one must return TC_RETRY and emit nothing.
 * Bodies above 4 KiB are sampled (a stride of 1 + len/4096, plus the last
 * 64 cuts; all with TC_KIT_FULL_SWEEP=1). Returns how many prefixes did
 * not behave; *FIRST_BAD (may be NULL) gets the first such length. */
size_t tc_kit_prefix_sweep(tc_kit_instance *in, const char *const *addrs, size_t n, const char *body,
                           size_t len, size_t *first_bad);

/* Parses ITERATIONS deterministic random damages of BODY (JSON-significant
 * bytes changed, bytes deleted, spans duplicated, cuts). The plugin must not
 * crash (an ASan/UBSan build checks memory) and must not emit what a host
 * refuses, set a field twice, or emit and then fail. Returns the number of
 * such problems (0 expected). STATUS_COUNTS[TC_OK..TC_FATAL] (may be NULL)
 * counts the statuses. $TC_KIT_FUZZ_ITERATIONS overrides ITERATIONS. */
size_t tc_kit_fuzz(tc_kit_instance *in, const char *const *addrs, size_t n, const char *body, size_t len,
                   unsigned seed, int iterations, size_t status_counts[3]);

#ifdef __cplusplus
}
#endif
#endif /* TOKENCOLLECTOR_TESTKIT_H */
