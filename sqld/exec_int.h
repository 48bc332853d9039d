/* exec_int: what the files of the exec module share. Private to
 * sqld/exec*.c; exec.h is the module's interface, and the top of exec.c has
 * the module's invariants.
 *
 *   exec.c        everything else (see its top)
 *   exec_val.c    values between Hrana and SQLite: size estimates, binding
 *                 arguments, reading columns and values
 *   exec_lex.c    SQL lexing: fillers, the statement classifier
 *
 * Threads: worker threads; one connection, one thread at a time. */
#ifndef SQLWIRE_EXEC_INT_H
#define SQLWIRE_EXEC_INT_H
#include "exec.h"
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

struct exec_budget {
	size_t max; /* 0 = unlimited */
	size_t used;
};

/* exec.c */
void *exec_xrealloc(void *p, size_t n); /* aborts on out-of-memory */
void exec_set_error(struct hr_error *err, const char *code, const char *message);

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
