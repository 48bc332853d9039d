/* db: see db.h. */
#include "db.h"
#include "cap.h"
#include "exec.h"
#include "vfs.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct db {
	char *dir, *path;
	struct db_opts o;
	pthread_mutex_t mu; /* guards the list and every conn's tracking fields */
	struct db_conn *conns;
	struct cap *cap;          /* capture, once db_set_cap ran */
	atomic_int interrupted; /* db_interrupt_all ran: busy handlers give up */
	/* db_set_limits: read by the authorizer on any worker, hence atomics */
	atomic_bool block_reads, block_writes;
	atomic_uint_fast64_t max_pages;
	atomic_int txn_timeout_ms;
	atomic_int limits_gen; /* bumped by db_set_limits; conns catch up at enter */
};

struct db_conn {
	struct db *db;
	sqlite3 *sq;
	pthread_mutex_t mu; /* held by the worker running a job on it */
	/* guarded by db->mu: */
	struct db_conn *next, *prev;
	int64_t write_since_ms; /* 0: not holding the write lock (as far as we know) */
	int64_t wait_start_ms;
	bool timed_out;
	int limits_gen; /* the db->limits_gen this connection applied */
};

static int64_t db_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int db_exec(sqlite3 *sq, const char *sql, struct err *e)
{
	char *msg = NULL;
	if (sqlite3_exec(sq, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(e, "%s: %s", sql, msg ? msg : sqlite3_errmsg(sq));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int db_pragma_int(sqlite3 *sq, const char *sql, long long *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(sq, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Brings the file to WAL mode with 4096-byte pages. A database made elsewhere
 * with another page size is rewritten once by VACUUM. */
static int db_prepare_file(const char *path, struct err *e)
{
	sqlite3 *sq = NULL;
	int rc = sqlite3_open_v2(path, &sq, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		err_set(e, "cannot open %s: %s", path, sq ? sqlite3_errmsg(sq) : sqlite3_errstr(rc));
		sqlite3_close(sq);
		return -1;
	}
	sqlite3_busy_timeout(sq, 10000);
	/* checkpoints are cap's business, even this connection's last close */
	sqlite3_db_config(sq, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	long long psize = 0, pages = 0;
	if (db_pragma_int(sq, "PRAGMA page_size", &psize) || db_pragma_int(sq, "PRAGMA page_count", &pages)) {
		err_set(e, "%s is not a SQLite database: %s", path, sqlite3_errmsg(sq));
		goto fail;
	}
	if (psize != 4096) {
		if (db_exec(sq, "PRAGMA journal_mode=DELETE", e) || db_exec(sq, "PRAGMA page_size=4096", e))
			goto fail;
		if (pages > 0 && db_exec(sq, "VACUUM", e))
			goto fail;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(sq, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK) {
		err_set(e, "journal_mode: %s", sqlite3_errmsg(sq));
		goto fail;
	}
	rc = sqlite3_step(st);
	const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	bool wal = mode && strcmp(mode, "wal") == 0;
	sqlite3_finalize(st);
	if (!wal) {
		err_set(e, "cannot put %s in WAL mode: %s", path, sqlite3_errmsg(sq));
		goto fail;
	}
	if (db_exec(sq, "CREATE TABLE IF NOT EXISTS temp.sqlwire_probe(x); DROP TABLE temp.sqlwire_probe", e))
		goto fail;
	sqlite3_close(sq);
	return 0;
fail:
	sqlite3_close(sq);
	return -1;
}

int db_open(const struct db_opts *o, struct db **out, struct err *e)
{
	if (mkdir(o->dir, 0755) != 0 && errno != EEXIST)
		return err_set(e, "cannot create %s: %s", o->dir, strerror(errno));
	struct db *db = calloc(1, sizeof *db);
	if (!db)
		abort();
	db->o = *o;
	if (db->o.txn_timeout_ms <= 0)
		db->o.txn_timeout_ms = 5000;
	if (db->o.busy_timeout_ms <= 0)
		db->o.busy_timeout_ms = 15000;
	db->dir = strdup(o->dir);
	if (asprintf(&db->path, "%s/data", o->dir) < 0)
		abort();
	db->o.dir = db->dir;
	db->txn_timeout_ms = db->o.txn_timeout_ms;
	pthread_mutex_init(&db->mu, NULL);
	if (db_prepare_file(db->path, e)) {
		db_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	pthread_mutex_destroy(&db->mu);
	free(db->dir);
	free(db->path);
	free(db);
}

const char *db_path(const struct db *db)
{
	return db->path;
}

/* Steals the write lock from a connection that has held it too long. Runs in
 * the waiting connection's busy handler, on the waiter's worker thread. */
static void db_steal(struct db_conn *me, int64_t now)
{
	struct db *db = me->db;
	pthread_mutex_lock(&db->mu);
	struct db_conn *victim = NULL;
	for (struct db_conn *c = db->conns; c; c = c->next)
		if (c != me && c->write_since_ms && now - c->write_since_ms > db->txn_timeout_ms) {
			victim = c;
			break;
		}
	if (!victim) {
		pthread_mutex_unlock(&db->mu);
		return;
	}
	victim->timed_out = true;
	victim->write_since_ms = 0;
	if (pthread_mutex_trylock(&victim->mu) == 0) {
		/* idle between requests: roll it back ourselves */
		pthread_mutex_unlock(&db->mu);
		if (!sqlite3_get_autocommit(victim->sq))
			sqlite3_exec(victim->sq, "ROLLBACK", NULL, NULL, NULL);
		pthread_mutex_unlock(&victim->mu);
	} else {
		/* mid-statement: interrupt it; db_conn_leave finishes the rollback */
		sqlite3_interrupt(victim->sq);
		pthread_mutex_unlock(&db->mu);
	}
}

static int db_busy(void *arg, int n)
{
	struct db_conn *me = arg;
	int64_t now = db_now_ms();
	if (n == 0)
		me->wait_start_ms = now;
	if (now - me->wait_start_ms > me->db->o.busy_timeout_ms || me->db->interrupted)
		return 0;
	db_steal(me, now);
	usleep(n < 10 ? 1000 : 5000);
	return 1;
}

void db_interrupt_all(struct db *db)
{
	pthread_mutex_lock(&db->mu);
	db->interrupted = 1;
	for (struct db_conn *c = db->conns; c; c = c->next)
		sqlite3_interrupt(c->sq);
	pthread_mutex_unlock(&db->mu);
}

/* Keeps clients from turning capture off or reaching the primary's files
 * behind its back (DESIGN.md §2.2). SQLite classifies the statement; we only
 * look at what it tells us. */
static int db_authorize(void *arg, int action, const char *a1, const char *a2, const char *dbname, const char *trigger)
{
	struct db *db = arg;
	(void)trigger;
	if (db && db->block_reads && action != SQLITE_TRANSACTION)
		return SQLITE_DENY; /* a namespace blocked for reads (ns.h config) */
	if (db && db->block_writes && !(dbname && strcmp(dbname, "temp") == 0)) {
		switch (action) {
		case SQLITE_INSERT: case SQLITE_UPDATE: case SQLITE_DELETE:
		case SQLITE_CREATE_INDEX: case SQLITE_CREATE_TABLE: case SQLITE_CREATE_TRIGGER:
		case SQLITE_CREATE_VIEW: case SQLITE_DROP_INDEX: case SQLITE_DROP_TABLE:
		case SQLITE_DROP_TRIGGER: case SQLITE_DROP_VIEW: case SQLITE_ALTER_TABLE:
		case SQLITE_REINDEX: case SQLITE_ANALYZE: case SQLITE_CREATE_VTABLE: case SQLITE_DROP_VTABLE:
			return SQLITE_DENY;
		}
	}
	if (action == SQLITE_PRAGMA && a1) {
		if (strcasecmp(a1, "wal_checkpoint") == 0)
			return SQLITE_DENY;
		if (a2 && (strcasecmp(a1, "journal_mode") == 0 || strcasecmp(a1, "wal_autocheckpoint") == 0 ||
			   strcasecmp(a1, "locking_mode") == 0))
			return SQLITE_DENY;
	}
	if (action == SQLITE_ATTACH && !exec_attach_allowed())
		return SQLITE_DENY; /* the credential's grant (auth.h) */
	if (action == SQLITE_ATTACH && a1 && a1[0] && strcmp(a1, ":memory:") != 0)
		return SQLITE_DENY; /* as libSQL without allow_attach */
	return SQLITE_OK;
}

void db_set_cap(struct db *db, struct cap *cap)
{
	db->cap = cap;
}

bool db_last_commit(struct db *db, uint64_t *frame_no)
{
	return db->cap && cap_last_commit(db->cap, frame_no);
}

int db_conn_open(struct db *db, struct db_conn **out, struct err *e)
{
	struct db_conn *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->db = db;
	int rc = sqlite3_open_v2(db->path, &c->sq, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
				 db->cap ? VFS_NAME : NULL);
	if (rc != SQLITE_OK) {
		err_set(e, "cannot open %s: %s", db->path, c->sq ? sqlite3_errmsg(c->sq) : sqlite3_errstr(rc));
		sqlite3_close(c->sq);
		free(c);
		return -1;
	}
	sqlite3_busy_handler(c->sq, db_busy, c);
	sqlite3_wal_autocheckpoint(c->sq, 0); /* before the hook: it replaces the hook */
	if (db->cap)
		sqlite3_wal_hook(c->sq, cap_wal_hook, NULL);
	sqlite3_db_config(c->sq, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	c->limits_gen = -1; /* authorizer and max_page_count at the first enter */
	if (db_exec(c->sq, db->o.sync_normal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL", e)) {
		sqlite3_close(c->sq);
		free(c);
		return -1;
	}
	/* after our PRAGMA (block_reads would deny it); again at enter when the
	 * limits change */
	sqlite3_set_authorizer(c->sq, db_authorize, db);
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_lock(&db->mu);
	c->next = db->conns;
	if (db->conns)
		db->conns->prev = c;
	db->conns = c;
	pthread_mutex_unlock(&db->mu);
	*out = c;
	return 0;
}

void db_conn_close(struct db_conn *c)
{
	if (!c)
		return;
	struct db *db = c->db;
	pthread_mutex_lock(&db->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		db->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&db->mu);
	pthread_mutex_lock(&c->mu); /* wait out a stealer rolling us back */
	pthread_mutex_unlock(&c->mu);
	exec_forget(c->sq); /* the statement cache (before ROLLBACK: no pending reads) */
	if (!sqlite3_get_autocommit(c->sq))
		sqlite3_exec(c->sq, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close_v2(c->sq);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void db_set_limits(struct db *db, const struct db_limits *l)
{
	db->block_reads = l->block_reads;
	db->block_writes = l->block_writes;
	db->max_pages = l->max_pages;
	db->txn_timeout_ms = l->txn_timeout_ms > 0 ? l->txn_timeout_ms : db->o.txn_timeout_ms;
	db->limits_gen++;
}

void db_conn_enter(struct db_conn *c)
{
	pthread_mutex_lock(&c->mu);
	int gen = c->db->limits_gen;
	if (gen != c->limits_gen) {
		c->limits_gen = gen;
		/* our own PRAGMA first (block_reads would deny it), then the
		 * authorizer: installing it expires cached statements, so they are
		 * authorized again under the new limits when they next run */
		sqlite3_set_authorizer(c->sq, NULL, NULL);
		char sql[80];
		uint64_t mp = c->db->max_pages;
		snprintf(sql, sizeof sql, "PRAGMA max_page_count=%llu",
			 (unsigned long long)(mp ? mp : 4294967294ull));
		sqlite3_exec(c->sq, sql, NULL, NULL, NULL);
		sqlite3_set_authorizer(c->sq, db_authorize, c->db);
	}
}

void db_conn_leave(struct db_conn *c)
{
	struct db *db = c->db;
	bool writing = sqlite3_txn_state(c->sq, "main") == SQLITE_TXN_WRITE;
	pthread_mutex_lock(&db->mu);
	bool timed_out = c->timed_out;
	if (!writing || timed_out)
		c->write_since_ms = 0;
	else if (!c->write_since_ms)
		c->write_since_ms = db_now_ms();
	pthread_mutex_unlock(&db->mu);
	if (timed_out && !sqlite3_get_autocommit(c->sq))
		sqlite3_exec(c->sq, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&c->mu);
}

struct sqlite3 *db_conn_sqlite(struct db_conn *c)
{
	return c->sq;
}

bool db_conn_take_timeout(struct db_conn *c)
{
	pthread_mutex_lock(&c->db->mu);
	bool t = c->timed_out;
	c->timed_out = false;
	pthread_mutex_unlock(&c->db->mu);
	return t;
}

bool db_conn_timed_out(struct db_conn *c)
{
	pthread_mutex_lock(&c->db->mu);
	bool t = c->timed_out;
	pthread_mutex_unlock(&c->db->mu);
	return t;
}
