/* The PostgreSQL store's statements: their names, their texts and the layout
 * of their parameters. Owns nothing at run time; what runs them is
 * store_pg_session.c, what fills their parameters the other store_pg_*.c
 * files. Must not hold code: a change here is a change of the SQL. */
#ifndef TC_STORE_PG_SQL_H
#define TC_STORE_PG_SQL_H

#include <stdint.h>

/* Every prepared statement; each connection prepares them all. */
enum { PS_CLAIM_PENDING, PS_CLAIM_DUE, PS_CLAIM_ADDRESSES, PS_CLAIM_MINE, PS_RELEASE, PS_IMPORT, PS_COMMIT_PLAN,
       PS_COMMIT, PS_COMMIT_ROWS, PS_COMMIT_DONE, PS_LOAD_SOURCES, PS_SCAN, PS_COUNT, PS_CHANGES, PS_SET_CONTEST,
       PS_SOURCE_FETCHES, PS_N };

extern const char *const store_pg_ps_name[PS_N];
extern const char *const store_pg_ps_sql[PS_N];

/* Statement A (PS_COMMIT): $1 claim id, $2 now, then the A_* arrays.
 * Statement B (PS_COMMIT_ROWS): $1 now, then the B_* arrays. */
#define COMMIT_NPARAMS 22
#define ROWS_NPARAMS 23
#define MAX_NPARAMS (COMMIT_NPARAMS > ROWS_NPARAMS ? COMMIT_NPARAMS : ROWS_NPARAMS)

/* The binary arrays of the commit, in parameter order: A_* for statement A
 * (tokens), B_* for statement B (the other tables). */
enum { A_ADDR, A_STATUS, A_NAME, A_SYMBOL, A_DECIMALS, A_IMAGE, A_DESC, A_SUPPLY, A_META, A_INTERVAL,
       A_PRICE, A_MCAP, A_FDV, A_LIQ, A_VOL, A_CHG, A_NEXT_AT, A_OUTSTANDING, A_OUT_ATTEMPTS, A_PRIORITY,
       B_P_ADDR, B_P_STORED, B_P_PRICE, B_P_MCAP, B_P_FDV, B_P_LIQ, B_P_VOL, B_P_CHG,
       B_S_ADDR, B_S_TYPE, B_S_URL, B_S_OP, B_W_ADDR, B_W_URL, B_W_LABEL, B_W_OP,
       B_F_ADDR, B_F_SOURCE, B_F_DATA, B_F_OP, B_F_VERSION, B_C_ADDR, ARR_N };
#define A_FIRST A_ADDR
#define A_END (A_PRIORITY + 1)
#define B_FIRST B_P_ADDR
#define B_END ARR_N
_Static_assert(2 + A_END - A_FIRST == COMMIT_NPARAMS, "A: claim id, now, then its arrays");
_Static_assert(1 + B_END - B_FIRST == ROWS_NPARAMS, "B: now, then its arrays");

/* The element type oid of each array (as cast in the SQL; 0: text). */
extern const uint32_t store_pg_arr_oid[ARR_N];

/* B's op column: what to do with a row of token_socials, token_websites or
 * token_sources. */
enum { ROW_DELETE = 0, ROW_UPDATE = 1, ROW_INSERT = 2 };

#endif
