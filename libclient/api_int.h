/* api_int: the structures behind the public sqlwire / sqlwire_stmt handles,
 * shared by api.c (connections, errors, exec, sync) and api_stmt.c
 * (statements). Private to libclient.
 *
 * Invariants:
 * - mode never changes after open. LOCAL: lite only. REMOTE: rem only.
 *   REPLICA: lite (opened read-only on the replica file: local writes are
 *   impossible by construction) + sync + rem (opened lazily at the first
 *   statement that needs the primary, so an offline open succeeds).
 * - mu serialises every use of rem and of the error/flag fields below; the
 *   hot path of a local statement takes no lock: it reads `slow` (atomic)
 *   and goes straight to sqlite3 when it is 0.
 * - A statement is LOCAL (ls only: LOCAL mode, or a replica statement the
 *   replica itself must answer, e.g. on a READONLY connection), REMOTE (rs
 *   only) or DUAL (a replica read: ls, plus rs prepared lazily when it has
 *   to run inside a remote transaction; its bindings are recorded in `args`
 *   so they can be replayed on rs).
 * Threads: see sqlwire.h (calls on one connection are serialised). */
#ifndef SQLWIRE_API_INT_H
#define SQLWIRE_API_INT_H
#include "remote.h"
#include "sqlwire.h"
#include "sync.h"
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum api_mode { API_LOCAL, API_REMOTE, API_REPLICA };
/* where the connection's current error state lives */
enum api_esrc { ES_LITE, ES_REMOTE, ES_OWN };
/* bits of sqlwire.slow: a local read must take the slow path */
enum { SLOW_RYW = 1, SLOW_TXN = 2 };

struct sqlwire {
	enum api_mode mode;
	sqlite3 *lite;
	struct remote *rem;
	struct sync *sync;
	pthread_mutex_t mu;
	_Atomic int slow;  /* SLOW_* */
	_Atomic int esrc;  /* enum api_esrc */
	_Atomic int nstmt; /* statements not finalized */
	_Atomic bool zombie;
	int ecode, eext; /* ES_OWN */
	char emsg[512];
	bool exres;    /* extended result codes */
	bool readonly; /* opened SQLITE_OPEN_READONLY */
	/* replica / remote */
	char *url, *token;
	int timeout_ms;
	bool ryw;
	uint64_t ryw_frame; /* valid when slow & SLOW_RYW */
	uint64_t seen_index;
	bool has_seen_index;
	int64_t changes, total_changes, last_rowid; /* REPLICA: of the primary */
};

enum stmt_kind { SK_LOCAL, SK_REMOTE, SK_DUAL };

struct sqlwire_stmt {
	struct sqlwire *db;
	enum stmt_kind kind;
	sqlite3_stmt *ls;
	struct remote_stmt *rs;
	bool on_remote; /* DUAL: this run goes to rs */
	bool started;   /* REMOTE/on_remote: stepped since the last reset */
	int last_rc;    /* REMOTE: the last step's result (reset/finalize return it) */
	/* DUAL: recorded bindings; REMOTE: text conversion cache per column */
	struct hr_value *args;
	int nargs;
	char **cache;
	int ncache;
	char *sql; /* REMOTE statements prepared on the replica path: own copy */
};

/* api.c */
int api_own_error(struct sqlwire *db, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int api_remote_error(struct sqlwire *db, int rc);
int api_rc(struct sqlwire *db, int rc); /* masks to the primary code unless extended codes are on */
int api_ensure_remote(struct sqlwire *db); /* REPLICA: opens rem if needed; mu held */
void api_after_remote(struct sqlwire *db); /* updates txn/ryw state after a remote statement; mu held */
/* REPLICA: waits for the pending write; no lock held. A failure clears the
 * pending write only if report (the caller then returns the error). */
int api_ryw_wait(struct sqlwire *db, bool report);
void api_stmt_gone(struct sqlwire *db);    /* a statement was finalized (frees a zombie) */
#endif
