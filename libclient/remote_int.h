/* remote_int: helpers of the remote backend shared by remote.c, remote_err.c
 * and remote_sql.c (and their unit tests). Private to libclient. */
#ifndef SQLWIRE_REMOTE_INT_H
#define SQLWIRE_REMOTE_INT_H
#include "hrana.h"
#include <stdbool.h>
#include <stddef.h>

/* remote_err.c: the SQLite primary code of a Hrana error; *ext gets the
 * extended code (the server's when it sent one of the same family, else one
 * derived from the message, else the primary code). */
int remote_map_error(const struct hr_error *er, int *ext);
/* The message without the server's "SQLite error: " style prefix and
 * " (at offset N)" suffix, as sqlite3_errmsg would say it. */
void remote_clean_message(char *out, size_t cap, const char *msg);

/* remote.c: the WebSocket subprotocols offered (tests lower it to "hrana2"
 * to exercise the Hrana 2 paths). */
extern const char *remote_ws_protocols;

/* remote_sql.c */
struct remote_split {
	size_t lead;  /* bytes of whitespace, comments and ';' before the statement */
	size_t len;   /* bytes of the statement from `lead` on (0: no statement) */
	size_t end;   /* where the tail starts */
};
/* Splits the first statement off sql[0..n) as sqlite3_prepare_v2 does (the
 * statement ends at the first ';' where sqlite3_complete() says it is whole,
 * or at the end of the text). */
void remote_split_sql(const char *sql, size_t n, struct remote_split *out);

/* What a statement does to the transaction state, from its first keyword. */
enum remote_kw {
	RKW_OTHER = 0, RKW_BEGIN, RKW_COMMIT, RKW_ROLLBACK, /* ROLLBACK without TO */
	RKW_ROLLBACK_TO, RKW_SAVEPOINT, RKW_RELEASE, RKW_DML /* INSERT/UPDATE/DELETE/REPLACE */
};
enum remote_kw remote_keyword(const char *sql, size_t n);
/* The savepoint named by a SAVEPOINT or RELEASE statement, lower-cased into
 * out (NUL-terminated); returns its length, 0 if none. */
size_t remote_savepoint_name(const char *sql, size_t n, char *out, size_t cap);
/* Which kinds of parameters the statement may hold outside literals,
 * identifiers and comments (false positives are allowed): a bit set of
 * REMOTE_P_POSITIONAL ('?', '?NNN') and REMOTE_P_NAMED (:x, @x, $x). */
enum { REMOTE_P_POSITIONAL = 1, REMOTE_P_NAMED = 2 };
int remote_param_hint(const char *sql, size_t n);
#endif
