/* db: the primary database file and the connections that use it.
 *
 * db_open() prepares <dir>/data (WAL mode, page_size 4096, the chosen
 * synchronous level) once at start. Every Hrana stream gets its own
 * connection (db_conn_open), used by one worker thread at a time while it
 * holds the connection's mutex (db_conn_enter / db_conn_leave).
 *
 * Write-lock stealing (PROTOCOL.md §4.7): when a connection waits for the
 * write lock (its busy handler runs) and the holder has held it for more than
 * the transaction timeout, the holder's transaction is rolled back: directly
 * if the holder is idle, by sqlite3_interrupt if it is mid-statement. The
 * holder is marked timed out; its stream's next request fails with
 * TRANSACTION_TIMEOUT (db_conn_take_timeout). Threads: all functions are safe
 * from any thread; the registry of connections has its own mutex. */
#ifndef SQLWIRE_DB_H
#define SQLWIRE_DB_H
#include "err.h"
#include <stdbool.h>
#include <stdint.h>

struct sqlite3;
struct db;
struct db_conn;
struct cap;

struct db_opts {
	const char *dir;        /* the --db-path directory; created if missing */
	bool sync_normal;       /* synchronous=NORMAL instead of FULL */
	int txn_timeout_ms;     /* write-lock steal threshold, default 5000 */
	int busy_timeout_ms;    /* how long a writer waits for the lock in all */
};

int db_open(const struct db_opts *o, struct db **out, struct err *e);
void db_close(struct db *db); /* every connection must be closed first */
const char *db_path(const struct db *db); /* the database file */
/* From now on connections open through the capturing VFS (vfs.h). Call
 * before the first db_conn_open. */
void db_set_cap(struct db *db, struct cap *cap);
/* The commit position: frame_no of the last commit in the frame log. */
bool db_last_commit(struct db *db, uint64_t *frame_no);

/* Per-namespace limits (ns.h config), applied to every connection at its
 * next db_conn_enter: block_reads/block_writes deny statements through the
 * authorizer (SQLITE_AUTH), max_pages is PRAGMA max_page_count (0: no
 * limit), txn_timeout_ms replaces the steal threshold (0: keep db_opts'). */
struct db_limits {
	bool block_reads, block_writes;
	uint64_t max_pages;
	int txn_timeout_ms;
};
void db_set_limits(struct db *db, const struct db_limits *l);

/* Interrupts every running statement (shutdown past its bound). Any thread. */
void db_interrupt_all(struct db *db);

/* A new connection to the primary (call on a worker thread: it may do I/O). */
int db_conn_open(struct db *db, struct db_conn **out, struct err *e);
/* Rolls back any open transaction and closes; accepts NULL. Worker thread. */
void db_conn_close(struct db_conn *c);
/* Hold the connection for the duration of one job. */
void db_conn_enter(struct db_conn *c);
void db_conn_leave(struct db_conn *c); /* also updates write-lock tracking */
struct sqlite3 *db_conn_sqlite(struct db_conn *c);
/* True once (then cleared) if the connection's transaction was rolled back
 * because it held the write lock too long. Call between db_conn_enter/leave. */
bool db_conn_take_timeout(struct db_conn *c);
/* Marks the connection as timed out if it is inside one; for tests. */
bool db_conn_timed_out(struct db_conn *c);
#endif
