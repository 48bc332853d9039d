/* exec_int: what the files of the exec module share. Private to
 * sqld/exec*.c; exec.h is the module's interface, and the top of exec.c has
 * the module's invariants.
 *
 *   exec.c        everything else (see its top)
 *   exec_lex.c    SQL lexing: fillers, the statement classifier
 *
 * Threads: worker threads; one connection, one thread at a time. */
#ifndef SQLWIRE_EXEC_INT_H
#define SQLWIRE_EXEC_INT_H
#include "exec.h"
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

/* exec_lex.c */
const char *exec_skip_filler(const char *p, bool semis);
bool exec_kind_counts_changes(enum exec_kind k);
bool exec_kind_has_rowid(enum exec_kind k);
#endif
