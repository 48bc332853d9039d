/* dump: GET /dump (PROTOCOL.md §6.2), an SQL text dump of a namespace's
 * database, like the sqlite3 shell's .dump: PRAGMA foreign_keys=OFF, BEGIN
 * TRANSACTION, each table's CREATE statement followed by one INSERT per row,
 * sqlite_sequence as DELETE + INSERTs, then indexes, triggers and views,
 * COMMIT. Restoring it into an empty database gives the same schema and rows.
 *
 * The dump is made on worker threads from ONE read transaction on its own
 * connection (so it is a consistent snapshot however long it takes), in
 * chunks of about DUMP_CHUNK bytes: a job makes one chunk, the transport
 * writes it and calls dump_continue for the next, so a large database never
 * sits in memory. Like exec, this module steps SQLite statements itself.
 *
 * Not dumped: sqlite_stat* tables (run ANALYZE after restoring), the rows of
 * virtual tables (their CREATE VIRTUAL TABLE statement is dumped). Row ids of
 * rowid tables without an INTEGER PRIMARY KEY are not preserved
 * (?preserve_row_ids is ignored).
 *
 * Threads: every function here on the network thread; jobs on workers. The
 * owner pointer stays valid until the last out() (more == false) or
 * dump_cancel. */
#ifndef SQLWIRE_DUMP_H
#define SQLWIRE_DUMP_H
#include <stdbool.h>
#include <stddef.h>

#define DUMP_CHUNK (64 * 1024)

struct ns;
struct dump_call;

struct dump_ops {
	/* A chunk of the dump (more: another follows after dump_continue). On
	 * an error after the first chunk the text ends with a comment line
	 * "-- error: ..." and no COMMIT. */
	void (*out)(void *owner, const void *p, size_t n, bool more);
};

void dump_init(const struct dump_ops *ops);
/* Starts a dump of ns (takes its own reference). */
struct dump_call *dump_start(void *owner, struct ns *ns);
void dump_continue(struct dump_call *c); /* the previous chunk is written */
void dump_cancel(struct dump_call *c);   /* the connection is gone; accepts NULL */
size_t dump_busy_jobs(void);
/* After net dropped every connection: waits for the jobs in flight. */
void dump_shutdown(void);
#endif
