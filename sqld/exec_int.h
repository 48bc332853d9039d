/* exec_int: what the files of the exec module share. Private to
 * sqld/exec*.c; exec.h is the module's interface, and the top of exec.c has
 * the module's invariants.
 *
 *   exec.c        access checks, errors, prepare, the statement cache, one
 *                 statement, sequences, describe
 *   exec_val.c    values between Hrana and SQLite: size estimates, binding
 *                 arguments, reading columns and values
 *   exec_lex.c    SQL lexing: fillers, the statement classifier
 *   exec_batch.c  batches: conditions, whole batches, cursors
 *
 * Threads: worker threads; one connection, one thread at a time. */
#ifndef SQLWIRE_EXEC_INT_H
#define SQLWIRE_EXEC_INT_H
#include "exec.h"
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#define EXEC_TOO_LARGE (-2) /* internal: exec_run_stmt passed the size budget */

struct exec_budget {
	size_t max; /* 0 = unlimited */
	size_t used;
};

/* exec.c */
void *exec_xrealloc(void *p, size_t n); /* aborts on out-of-memory */
int exec_guard(sqlite3_stmt *st, struct hr_error *err);
void exec_set_error(struct hr_error *err, const char *code, const char *message);
void exec_sqlite_error(sqlite3 *db, int rc, struct arena *a, struct hr_error *err);
int exec_open_stmt(sqlite3 *db, const char *sql, struct arena *a, sqlite3_stmt **out, struct hr_error *err);
int exec_run_stmt(sqlite3 *db, const struct hr_stmt *s, struct exec_budget *bud, struct arena *a,
		  struct hr_stmt_result **out, struct hr_error *err);

/* exec_val.c */
size_t exec_value_size(const struct hr_value *v);
size_t exec_cols_size(const struct hr_col *cols, size_t n);
size_t exec_error_size(const struct hr_error *e);
bool exec_budget_take(struct exec_budget *b, size_t n);
int exec_bind_args(sqlite3 *db, sqlite3_stmt *st, const struct hr_stmt *s, struct arena *a, struct hr_error *err);
struct hr_col *exec_read_cols(sqlite3_stmt *st, struct arena *a, size_t *ncols);
int exec_peek_value(sqlite3_stmt *st, int col, struct arena *a, struct hr_value *v, struct hr_error *err);
void exec_own_value(struct arena *a, struct hr_value *v);

/* exec_lex.c */
const char *exec_skip_filler(const char *p, bool semis);
bool exec_kind_counts_changes(enum exec_kind k);
bool exec_kind_has_rowid(enum exec_kind k);
#endif
