/* exec: runs Hrana statements, batches, sequences, describes and cursors on
 * one SQLite connection and produces the results of hrana.h (PROTOCOL.md §3).
 *
 * exec never sees an encoding: it takes the decoded model and builds result
 * structures in the caller's arena. sqlite3_stmt never leaves exec*.c.
 *
 * Threads: called on worker threads. A connection is used by one thread at a
 * time (the caller holds it, db_conn_enter/leave); the functions keep no
 * global state. sqlite3_interrupt() from another thread makes the running
 * statement fail with an ordinary SQLITE_INTERRUPT statement error; the
 * caller maps it (e.g. to TRANSACTION_TIMEOUT).
 *
 * Errors: SQL failures are data, not failures of the call. A function that
 * fills a `struct hr_error *err` sets both err->code and err->message, with
 * the strings in the arena `a` (or static). Codes are PROTOCOL.md §4.6:
 *   SQL_NO_STATEMENT       nothing but whitespace, comments and ';'
 *   SQL_MANY_STATEMENTS    the text after the first statement holds more than
 *                          whitespace, ';' and comments
 *   SQL_INPUT_ERROR        prepare failed and SQLite names an offset:
 *                          "SQL input error: <msg> (at offset N)"
 *   ARGS_INVALID           "Arguments do not match SQL parameters: ..."
 *   ARGS_BOTH_POSITIONAL_AND_NAMED
 *   RESPONSE_TOO_LARGE     "Response is too large"
 *   SQLITE_*               exec_code_name() of the primary result code,
 *                          "SQLite error: <sqlite3_errmsg>"
 *   SQLITE_MISMATCH        a text value that is not valid UTF-8 (sqlwire's
 *                          choice; sqld fails such a statement differently)
 * Right after exec_stmt() or exec_sequence() fail with a SQLITE_* code,
 * sqlite3_extended_errcode(db) still holds the extended result code (the
 * model has no field for it).
 *
 * Statement semantics (PROTOCOL.md §3.2-3.3): exactly one statement per Stmt;
 * parameters are bound by sqld's algorithm (Params::bind): for parameter i,
 * "?NNN" takes positional arg NNN, ":x"/"@x"/"$x" take the named arg "x" with
 * its prefix, else the one without it, a nameless "?" takes positional arg i;
 * more args than parameters or a parameter without a value is ARGS_INVALID
 * (EXPLAIN statements leave missing values NULL instead). affected_row_count
 * is sqlite3_changes64() for INSERT/REPLACE/UPDATE/DELETE (exec_stmt_kind),
 * else 0; last_insert_rowid is set for INSERT/REPLACE only. rows_read counts
 * the rows the statement produced (also with want_rows false), rows_written
 * equals affected_row_count. has_replication_index is left false. */
#ifndef SQLWIRE_EXEC_H
#define SQLWIRE_EXEC_H
#include "arena.h"
#include "err.h"
#include "hrana.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sqlite3;

struct exec_limits {
	size_t max_response_size; /* estimated encoded bytes, 0 = unlimited */
};

/* Runs one statement. s->sql must be set (stored-SQL ids are resolved by the
 * caller). lim may be NULL (unlimited). Returns 0 and sets *out (arena) or
 * returns -1 with a statement error in *err (strings in the arena; *out is
 * NULL). A statement that passes the size limit stops stepping early. */
int exec_stmt(struct sqlite3 *db, const struct hr_stmt *s, const struct exec_limits *lim, struct arena *a,
	      struct hr_stmt_result **out, struct hr_error *err);

/* Protocol-level validation of a batch before it runs (sqld turns these into
 * protocol errors): a condition referring to a step >= its own step's index
 * ("Invalid reference to step in a batch condition"), an is_autocommit
 * condition when version < 3. Returns 0 or -1 with the message in *e. */
int exec_batch_check(const struct hr_batch *b, int version, struct err *e);

/* Runs the steps in order on db, without an implicit transaction; a step runs
 * when it has no condition or its condition holds: ok(i) iff step i ran and
 * succeeded, error(i) iff it ran and failed (a skipped step is neither),
 * is_autocommit = sqlite3_get_autocommit() when the condition is evaluated.
 * Returns 0 and sets *out (arena; one step_results and one step_errors entry
 * per step: ok → result/NULL, failed → NULL/error, skipped → NULL/NULL), or -1
 * for a batch-level error in *err: RESPONSE_TOO_LARGE when the estimated size
 * of all steps together passes lim->max_response_size (the steps before it
 * did run). lim may be NULL. */
int exec_batch(struct sqlite3 *db, const struct hr_batch *b, const struct exec_limits *lim, struct arena *a,
	       struct hr_batch_result **out, struct hr_error *err);

/* Runs the ;-separated statements of sql one after the other, ignoring rows,
 * without parameters (a statement with parameters fails with ARGS_INVALID).
 * Returns 0, or -1 at the first failing statement (later ones do not run),
 * with the statement error in *err. An SQL_INPUT_ERROR offset counts from the
 * start of sql. */
int exec_sequence(struct sqlite3 *db, const char *sql, struct arena *a, struct hr_error *err);

/* Prepares exactly one statement without running it. Returns 0 and sets *out
 * (arena): params[i] = name of parameter i+1 with its prefix (NULL for a
 * nameless '?'), cols, is_explain, is_readonly. Or -1 with *err. */
int exec_describe(struct sqlite3 *db, const char *sql, struct arena *a, struct hr_describe_result **out,
		  struct hr_error *err);

/* sqlite3_get_autocommit(db) != 0. */
bool exec_is_autocommit(struct sqlite3 *db);

/* ---- cursors (Hrana 3, PROTOCOL.md §3.6) ----
 * A cursor runs a batch incrementally: between fetches it holds at most one
 * live statement (the current step's), so a huge result never sits in memory.
 * For each step that runs it yields step_begin{step, cols}, the rows (none
 * when want_rows is false), step_end{affected_row_count, last_insert_rowid};
 * a failing step yields step_error{step, error} (after its step_begin and
 * some rows, or alone when prepare/bind failed). Skipped steps yield nothing.
 * Conditions as in exec_batch; the condition of the next step is evaluated
 * as soon as the previous step finished. Never fails as a whole and has no
 * response-size limit (fetches split by max_bytes instead). */
struct exec_cursor;

/* New cursor over b on db (malloc'd; aborts on out-of-memory). Nothing runs
 * yet. b and everything it points to must stay valid until exec_cursor_close,
 * and db must not be used by anyone else meanwhile (except between fetches by
 * the same owner, who must not step statements of its own). */
struct exec_cursor *exec_cursor_open(struct sqlite3 *db, const struct hr_batch *b);

/* Produces up to max_entries entries into *entries (arena array of *n; NULL
 * when *n == 0). Stops once the estimated encoded size of the entries produced
 * reaches max_bytes, but always produces at least one entry unless the cursor
 * is finished or max_entries is 0. *done is true once the batch is finished
 * (no entries will follow). Returns 0. */
int exec_cursor_fetch(struct exec_cursor *c, struct arena *a, uint32_t max_entries, size_t max_bytes,
		      struct hr_cursor_entry **entries, size_t *n, bool *done);

/* Finalizes the live statement, if any, and frees c; accepts NULL. The steps
 * not run yet never run. */
void exec_cursor_close(struct exec_cursor *c);

/* Finalizes every statement exec keeps prepared on db (its statement
 * cache); call before sqlite3_close. */
void exec_forget(struct sqlite3 *db);

/* ---- access (authentication's grant, PROTOCOL.md §7.2) ----
 * What the statements run by the calling thread may do, set by the caller
 * before each job (sess, repl) from the request's grant; a new thread
 * allows everything (EXEC_ALLOW_ALL). Decided by SQLite's classification,
 * never by reading SQL text: every statement needs EXEC_ALLOW_READ (so a
 * grant of 0 runs nothing); one for which sqlite3_stmt_readonly()
 * is false (writes, DDL, BEGIN IMMEDIATE/EXCLUSIVE, writing PRAGMAs) needs
 * EXEC_ALLOW_WRITE, and fails before its first step with the statement
 * error FORBIDDEN; describe is not refused. An ATTACH needs
 * EXEC_ALLOW_ATTACH: the connection's authorizer asks exec_attach_allowed()
 * while SQLite prepares it, and the prepare error becomes FORBIDDEN. A
 * statement prepared with an ATTACH is never reused from the statement
 * cache. */
#define HR_E_FORBIDDEN "FORBIDDEN"
enum { EXEC_ALLOW_READ = 1, EXEC_ALLOW_WRITE = 2, EXEC_ALLOW_ATTACH = 4, EXEC_ALLOW_ALL = 7 };
void exec_set_allow(unsigned allow); /* also clears the forbidden mark */
unsigned exec_allow(void);
/* True when a statement was refused (FORBIDDEN) since exec_set_allow or the
 * last call; clears the mark. */
bool exec_take_forbidden(void);
/* For the authorizer on an SQLITE_ATTACH action: whether this thread may. */
bool exec_attach_allowed(void);

/* ---- helpers ---- */

/* Hrana code for a SQLite result code (primary or extended): "SQLITE_CONSTRAINT",
 * "SQLITE_BUSY", ...; SQLITE_ERROR and codes sqld does not name (EMPTY, FORMAT,
 * NOTICE, WARNING, unknown) give "SQLITE_UNKNOWN" as sqld does. Static string. */
const char *exec_code_name(int sqlite_rc);

/* The kind of a statement by its leading keyword (skipping whitespace, ';'
 * and comments, case-insensitive). For WITH, the kind of the first of SELECT,
 * INSERT, REPLACE, UPDATE, DELETE, VALUES at parenthesis depth 0 after the
 * CTE list (string literals, quoted identifiers and comments skipped);
 * EXEC_KIND_OTHER when there is none. "INSERT OR REPLACE" is an insert. */
enum exec_kind {
	EXEC_KIND_OTHER = 0,
	EXEC_KIND_SELECT,
	EXEC_KIND_VALUES,
	EXEC_KIND_INSERT,
	EXEC_KIND_REPLACE,
	EXEC_KIND_UPDATE,
	EXEC_KIND_DELETE,
	EXEC_KIND_EXPLAIN,
};
enum exec_kind exec_stmt_kind(const char *sql);
#endif
