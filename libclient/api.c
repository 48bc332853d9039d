/* api: the public sqlwire_* entry points for connections: open (LOCAL,
 * REMOTE or REPLICA, see api_int.h), close, errors, exec, changes, memory,
 * and the replica's sync calls. Statements are in api_stmt.c.
 *
 * LOCAL connections pass every call straight to SQLite, so their behaviour,
 * error state and speed are SQLite's. REMOTE and REPLICA connections keep
 * their error state in one of three places (api_esrc): the local sqlite3
 * handle, the struct remote, or the connection's own message.
 * Threads: any; see api_int.h for the locking. */
#include "api_int.h"
#include "uri.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Static_assert(SQLWIRE_OK == SQLITE_OK && SQLWIRE_ROW == SQLITE_ROW && SQLWIRE_DONE == SQLITE_DONE, "codes");
_Static_assert(SQLWIRE_CONSTRAINT_UNIQUE == SQLITE_CONSTRAINT_UNIQUE, "extended codes");
_Static_assert(SQLWIRE_OPEN_URI == SQLITE_OPEN_URI && SQLWIRE_OPEN_READONLY == SQLITE_OPEN_READONLY, "flags");
_Static_assert(SQLWIRE_INTEGER == SQLITE_INTEGER && SQLWIRE_NULL == SQLITE_NULL && SQLWIRE_TEXT == SQLITE_TEXT,
	       "types");
_Static_assert(sizeof(sqlwire_int64) == sizeof(sqlite3_int64), "int64");

#define DEFAULT_TIMEOUT_MS 10000

/* ---- library and memory ---- */

const char *sqlwire_libversion(void) { return sqlite3_libversion(); }
int sqlwire_libversion_number(void) { return sqlite3_libversion_number(); }
const char *sqlwire_version(void) { return SQLWIRE_VERSION; }
int sqlwire_threadsafe(void) { return 1; }
int sqlwire_initialize(void) { return sqlite3_initialize(); }
int sqlwire_shutdown(void) { return sqlite3_shutdown(); }
const char *sqlwire_sourceid(void) { return sqlite3_sourceid(); }
int sqlwire_complete(const char *sql) { return sqlite3_complete(sql); }
int sqlwire_sleep(int ms) { return sqlite3_sleep(ms); }
void *sqlwire_malloc(int n) { return sqlite3_malloc(n); }
void *sqlwire_malloc64(sqlwire_uint64 n) { return sqlite3_malloc64(n); }
void *sqlwire_realloc(void *p, int n) { return sqlite3_realloc(p, n); }
void sqlwire_free(void *p) { sqlite3_free(p); }
char *sqlwire_vmprintf(const char *fmt, va_list ap) { return sqlite3_vmprintf(fmt, ap); }

char *sqlwire_mprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *r = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	return r;
}

char *sqlwire_snprintf(int n, char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *r = sqlite3_vsnprintf(n, buf, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- error state ---- */

int api_rc(struct sqlwire *db, int rc) { return db->exres ? rc : (rc & 0xff); }

int api_own_error(struct sqlwire *db, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(db->emsg, sizeof db->emsg, fmt, ap);
	va_end(ap);
	db->ecode = db->eext = code;
	atomic_store_explicit(&db->esrc, ES_OWN, memory_order_relaxed);
	return api_rc(db, code);
}

int api_remote_error(struct sqlwire *db, int rc)
{
	atomic_store_explicit(&db->esrc, ES_REMOTE, memory_order_relaxed);
	if (db->exres && db->rem && (remote_extended_errcode(db->rem) & 0xff) == (rc & 0xff))
		return remote_extended_errcode(db->rem);
	return api_rc(db, rc);
}

int sqlwire_errcode(sqlwire *db)
{
	if (!db)
		return SQLITE_NOMEM;
	switch (atomic_load_explicit(&db->esrc, memory_order_relaxed)) {
	case ES_LITE:
		return db->lite ? sqlite3_errcode(db->lite) : SQLITE_OK;
	case ES_REMOTE:
		return remote_errcode(db->rem) & 0xff;
	default:
		return db->ecode & 0xff;
	}
}

int sqlwire_extended_errcode(sqlwire *db)
{
	if (!db)
		return SQLITE_NOMEM;
	switch (atomic_load_explicit(&db->esrc, memory_order_relaxed)) {
	case ES_LITE:
		return db->lite ? sqlite3_extended_errcode(db->lite) : SQLITE_OK;
	case ES_REMOTE:
		return remote_extended_errcode(db->rem);
	default:
		return db->eext;
	}
}

const char *sqlwire_errmsg(sqlwire *db)
{
	if (!db)
		return sqlite3_errstr(SQLITE_NOMEM);
	switch (atomic_load_explicit(&db->esrc, memory_order_relaxed)) {
	case ES_LITE:
		return db->lite ? sqlite3_errmsg(db->lite) : "not an error";
	case ES_REMOTE: {
		const char *m = remote_errmsg(db->rem);
		return m ? m : "not an error";
	}
	default:
		return db->emsg;
	}
}

const char *sqlwire_errstr(int rc) { return sqlite3_errstr(rc); }

int sqlwire_extended_result_codes(sqlwire *db, int onoff)
{
	if (!db)
		return SQLITE_MISUSE;
	db->exres = onoff != 0;
	if (db->lite)
		return sqlite3_extended_result_codes(db->lite, onoff);
	return SQLITE_OK;
}

void sqlwire_interrupt(sqlwire *db)
{
	if (db && db->lite)
		sqlite3_interrupt(db->lite);
}

int sqlwire_busy_timeout(sqlwire *db, int ms)
{
	if (!db)
		return SQLITE_MISUSE;
	if (db->lite)
		return sqlite3_busy_timeout(db->lite, ms);
	return SQLITE_OK;
}

/* ---- open / close ---- */

void sqlwire_config_init(sqlwire_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->read_your_writes = 1;
}

static struct sqlwire *api_new(enum api_mode mode)
{
	struct sqlwire *db = calloc(1, sizeof *db);
	if (!db)
		return NULL;
	db->mode = mode;
	pthread_mutex_init(&db->mu, NULL);
	atomic_init(&db->slow, 0);
	atomic_init(&db->esrc, ES_LITE);
	atomic_init(&db->nstmt, 0);
	atomic_init(&db->zombie, false);
	db->ryw = true;
	db->timeout_ms = DEFAULT_TIMEOUT_MS;
	return db;
}

static void api_free(struct sqlwire *db, bool close_lite)
{
	sync_close(db->sync);
	remote_close(db->rem);
	if (close_lite && db->lite)
		sqlite3_close_v2(db->lite);
	free(db->url);
	free(db->token);
	pthread_mutex_destroy(&db->mu);
	free(db);
}

static int api_open_remote(struct sqlwire *db, const char *filename, const sqlwire_config *cfg)
{
	char *token = NULL;
	if (uri_url_split(filename, &db->url, &token) < 0)
		return api_own_error(db, SQLITE_NOMEM, "out of memory");
	if (cfg && cfg->auth_token) {
		free(token);
		token = strdup(cfg->auth_token);
		if (!token)
			return api_own_error(db, SQLITE_NOMEM, "out of memory");
	}
	db->token = token;
	struct remote *r = NULL;
	int rc = remote_open(db->url, db->token, db->timeout_ms, &r);
	if (rc != SQLITE_OK) {
		api_own_error(db, rc, "cannot open %s: %s", db->url, r ? remote_errmsg(r) : "out of memory");
		remote_close(r);
		return api_rc(db, rc);
	}
	db->rem = r;
	atomic_store_explicit(&db->esrc, ES_REMOTE, memory_order_relaxed);
	return SQLITE_OK;
}

static int api_open_replica(struct sqlwire *db, struct uri_cfg *uc, int flags, const char *zVfs, int interval,
			    bool follow)
{
	struct sync_opts o = {
		.db_path = uc->path,
		.sync_url = db->url,
		.auth_token = db->token,
		.timeout_ms = db->timeout_ms,
		.interval_ms = interval,
		.follow = follow,
	};
	struct err e = {{0}};
	if (!(flags & SQLITE_OPEN_CREATE) && access(uc->path, F_OK) != 0) /* as SQLite without CREATE */
		return api_own_error(db, SQLITE_CANTOPEN, "unable to open database file");
	if (sync_open(&o, &db->sync, &e) < 0) {
		db->sync = NULL;
		return api_own_error(db, SQLITE_CANTOPEN, "cannot open the replica %s: %s", uc->path, e.msg);
	}
	/* Reads only: the local connection can never write the replica. */
	int lflags = (flags & ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_READONLY;
	if (uc->had_params)
		lflags |= SQLITE_OPEN_URI;
	int rc = sqlite3_open_v2(uc->sqlite_name, &db->lite, lflags, zVfs);
	atomic_store_explicit(&db->esrc, ES_LITE, memory_order_relaxed);
	if (rc == SQLITE_OK && db->exres)
		sqlite3_extended_result_codes(db->lite, 1);
	return rc;
}

static int api_open(const char *filename, sqlwire **ppDb, int flags, const char *zVfs, const sqlwire_config *cfg)
{
	if (!ppDb)
		return SQLITE_MISUSE;
	*ppDb = NULL;
	if (!filename)
		filename = "";
	if (uri_is_url(filename)) {
		struct sqlwire *db = api_new(API_REMOTE);
		if (!db)
			return SQLITE_NOMEM;
		*ppDb = db;
		db->exres = (flags & SQLITE_OPEN_EXRESCODE) != 0;
		if (cfg && cfg->timeout_ms > 0)
			db->timeout_ms = cfg->timeout_ms;
		return api_open_remote(db, filename, cfg);
	}
	struct uri_cfg uc;
	int prc = uri_parse(filename, &uc);
	if (prc == -1)
		return SQLITE_NOMEM;
	const char *sync_url = cfg && cfg->sync_url ? cfg->sync_url : prc == 0 ? uc.sync_url : NULL;
	struct sqlwire *db = api_new(sync_url ? API_REPLICA : API_LOCAL);
	if (!db) {
		if (prc == 0)
			uri_free(&uc);
		return SQLITE_NOMEM;
	}
	*ppDb = db;
	db->exres = (flags & SQLITE_OPEN_EXRESCODE) != 0;
	if (prc < 0)
		return api_own_error(db, SQLITE_MISUSE, "bad sqlwire parameter value in URI %s", filename);
	int rc;
	if (!sync_url) {
		rc = sqlite3_open_v2(uc.sqlite_name, &db->lite, flags | (uc.had_params ? SQLITE_OPEN_URI : 0), zVfs);
	} else {
		const char *tok = cfg && cfg->auth_token ? cfg->auth_token : uc.auth_token;
		db->url = strdup(sync_url);
		db->token = tok ? strdup(tok) : NULL;
		int interval = cfg && cfg->sync_interval_ms > 0 ? cfg->sync_interval_ms
							       : uc.sync_interval_ms > 0 ? uc.sync_interval_ms : 0;
		bool follow = (cfg && cfg->follow) || uc.follow == 1;
		db->ryw = cfg ? cfg->read_your_writes != 0 && uc.read_your_writes != 0 : uc.read_your_writes != 0;
		if (cfg && cfg->timeout_ms > 0)
			db->timeout_ms = cfg->timeout_ms;
		else if (uc.timeout_ms > 0)
			db->timeout_ms = uc.timeout_ms;
		db->readonly = (flags & SQLITE_OPEN_READONLY) != 0;
		if (!db->url || (tok && !db->token))
			rc = api_own_error(db, SQLITE_NOMEM, "out of memory");
		else
			rc = api_open_replica(db, &uc, flags, zVfs, interval, follow);
	}
	uri_free(&uc);
	return rc;
}

int sqlwire_open_v2(const char *filename, sqlwire **ppDb, int flags, const char *zVfs)
{
	return api_open(filename, ppDb, flags, zVfs, NULL);
}

int sqlwire_open(const char *filename, sqlwire **ppDb)
{
	return api_open(filename, ppDb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL, NULL);
}

int sqlwire_open_config(const char *filename, sqlwire **ppDb, int flags, const sqlwire_config *cfg)
{
	return api_open(filename, ppDb, flags, NULL, cfg);
}

int sqlwire_close(sqlwire *db)
{
	if (!db)
		return SQLITE_OK;
	if (db->mode != API_LOCAL && atomic_load(&db->nstmt) > 0)
		return api_own_error(db, SQLITE_BUSY, "unable to close due to unfinalized statements or unfinished backups");
	if (db->lite) {
		/* LOCAL: SQLite itself refuses while it has statements */
		int rc = sqlite3_close(db->lite);
		if (rc != SQLITE_OK) {
			atomic_store_explicit(&db->esrc, ES_LITE, memory_order_relaxed);
			return rc;
		}
		db->lite = NULL;
	}
	api_free(db, false);
	return SQLITE_OK;
}

int sqlwire_close_v2(sqlwire *db)
{
	if (!db)
		return SQLITE_OK;
	if (db->lite) {
		sqlite3_close_v2(db->lite); /* SQLite keeps its own zombie alive */
	}
	atomic_store(&db->zombie, true);
	if (atomic_load(&db->nstmt) == 0)
		api_free(db, false);
	return SQLITE_OK;
}

void api_stmt_gone(struct sqlwire *db)
{
	if (atomic_fetch_sub(&db->nstmt, 1) == 1 && atomic_load(&db->zombie))
		api_free(db, false);
}

/* ---- remote / replica state ---- */

int api_ensure_remote(struct sqlwire *db)
{
	if (db->rem)
		return SQLITE_OK;
	struct remote *r = NULL;
	int rc = remote_open(db->url, db->token, db->timeout_ms, &r);
	if (rc != SQLITE_OK) {
		api_own_error(db, rc, "cannot reach the primary %s: %s", db->url, r ? remote_errmsg(r) : "out of memory");
		remote_close(r);
		return api_rc(db, rc);
	}
	db->rem = r;
	return SQLITE_OK;
}

void api_after_remote(struct sqlwire *db)
{
	if (db->mode != API_REPLICA || !db->rem)
		return;
	bool ac = remote_get_autocommit(db->rem);
	if (ac)
		atomic_fetch_and(&db->slow, ~SLOW_TXN);
	else
		atomic_fetch_or(&db->slow, SLOW_TXN);
	uint64_t idx;
	if (remote_replication_index(db->rem, &idx) && (!db->has_seen_index || idx > db->seen_index)) {
		db->seen_index = idx;
		db->has_seen_index = true;
		if (db->ryw && ac) {
			if (!(atomic_load(&db->slow) & SLOW_RYW) || idx > db->ryw_frame)
				db->ryw_frame = idx;
			atomic_fetch_or(&db->slow, SLOW_RYW);
		}
	}
}

static int api_sync_rc(struct sqlwire *db, int rc, const char *what, const struct err *e)
{
	const char *m = e->msg[0] ? e->msg : "failed";
	if (rc == SYNC_E_TIMEOUT || rc == -ETIMEDOUT)
		return api_own_error(db, SQLITE_BUSY, "%s: timed out: %s", what, m);
	if (rc == SYNC_E_AUTH)
		return api_own_error(db, SQLITE_AUTH, "%s: %s", what, m);
	return api_own_error(db, SQLITE_IOERR, "%s: %s", what, m);
}

int api_ryw_wait(struct sqlwire *db, bool report)
{
	pthread_mutex_lock(&db->mu);
	if (!(atomic_load(&db->slow) & SLOW_RYW)) {
		pthread_mutex_unlock(&db->mu);
		return SQLITE_OK;
	}
	uint64_t frame = db->ryw_frame;
	pthread_mutex_unlock(&db->mu);
	struct err e = {{0}};
	int rc = sync_until(db->sync, frame, db->timeout_ms, &e);
	pthread_mutex_lock(&db->mu);
	/* On failure the read is told once (report); later reads run on what
	 * the replica has, so an offline replica keeps reading. */
	if (db->ryw_frame <= frame && (rc == 0 || report))
		atomic_fetch_and(&db->slow, ~SLOW_RYW);
	if (rc != 0) {
		char what[96];
		snprintf(what, sizeof what, "read-your-writes: the replica did not reach frame %llu",
			 (unsigned long long)frame);
		rc = api_sync_rc(db, rc, what, &e);
	}
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int sqlwire_sync(sqlwire *db, sqlwire_sync_info *info)
{
	if (!db)
		return SQLITE_MISUSE;
	if (info)
		memset(info, 0, sizeof *info);
	if (db->mode != API_REPLICA)
		return api_own_error(db, SQLITE_MISUSE, "not an embedded replica (open it with a sync_url)");
	struct sync_info si = {0};
	struct err e = {{0}};
	int rc = sync_pull(db->sync, &si, &e);
	if (rc < 0)
		return api_sync_rc(db, rc, "sync", &e);
	if (info) {
		info->frame_no = si.frame_no;
		info->frames_applied = si.frames_applied;
		info->has_frame = si.has_frame;
	}
	return SQLITE_OK;
}

int sqlwire_sync_until(sqlwire *db, sqlwire_uint64 frame_no, int timeout_ms)
{
	if (!db)
		return SQLITE_MISUSE;
	if (db->mode != API_REPLICA)
		return api_own_error(db, SQLITE_MISUSE, "not an embedded replica (open it with a sync_url)");
	struct err e = {{0}};
	int rc = sync_until(db->sync, frame_no, timeout_ms, &e);
	return rc < 0 ? api_sync_rc(db, rc, "sync_until", &e) : SQLITE_OK;
}

int sqlwire_sync_position(sqlwire *db, sqlwire_sync_info *info)
{
	if (!db || !info)
		return SQLITE_MISUSE;
	memset(info, 0, sizeof *info);
	if (db->mode != API_REPLICA)
		return api_own_error(db, SQLITE_MISUSE, "not an embedded replica (open it with a sync_url)");
	struct sync_info si = {0};
	sync_position(db->sync, &si);
	info->frame_no = si.frame_no;
	info->has_frame = si.has_frame;
	return SQLITE_OK;
}

/* ---- changes, autocommit ---- */

static int64_t api_remote_num(struct sqlwire *db, int64_t (*f)(struct remote *))
{
	pthread_mutex_lock(&db->mu);
	int64_t v = db->rem ? f(db->rem) : 0;
	pthread_mutex_unlock(&db->mu);
	return v;
}

sqlwire_int64 sqlwire_changes64(sqlwire *db)
{
	if (!db)
		return 0;
	return db->mode == API_LOCAL || db->readonly ? sqlite3_changes64(db->lite) : api_remote_num(db, remote_changes);
}
int sqlwire_changes(sqlwire *db) { return (int)sqlwire_changes64(db); }

sqlwire_int64 sqlwire_total_changes64(sqlwire *db)
{
	if (!db)
		return 0;
	return db->mode == API_LOCAL || db->readonly ? sqlite3_total_changes64(db->lite)
						     : api_remote_num(db, remote_total_changes);
}
int sqlwire_total_changes(sqlwire *db) { return (int)sqlwire_total_changes64(db); }

sqlwire_int64 sqlwire_last_insert_rowid(sqlwire *db)
{
	if (!db)
		return 0;
	return db->mode == API_LOCAL || db->readonly ? sqlite3_last_insert_rowid(db->lite)
						     : api_remote_num(db, remote_last_insert_rowid);
}

int sqlwire_get_autocommit(sqlwire *db)
{
	if (!db)
		return 1;
	if (db->mode == API_LOCAL || db->readonly)
		return sqlite3_get_autocommit(db->lite);
	if (db->mode == API_REPLICA)
		return !(atomic_load(&db->slow) & SLOW_TXN);
	pthread_mutex_lock(&db->mu);
	int ac = db->rem ? remote_get_autocommit(db->rem) : 1;
	pthread_mutex_unlock(&db->mu);
	return ac;
}

/* ---- exec ---- */

static int api_exec_generic(sqlwire *db, const char *sql, sqlwire_callback cb, void *arg, char **errmsg)
{
	int rc = SQLITE_OK;
	const char *rest = sql;
	char **cols = NULL;
	while (rc == SQLITE_OK && rest && *rest) {
		sqlwire_stmt *st = NULL;
		const char *tail = NULL;
		rc = sqlwire_prepare_v2(db, rest, -1, &st, &tail);
		if (rc != SQLITE_OK)
			break;
		rest = tail;
		if (!st)
			continue;
		for (;;) {
			rc = sqlwire_step(st);
			if (rc != SQLITE_ROW)
				break;
			if (!cb)
				continue;
			int n = sqlwire_column_count(st);
			char **c2 = realloc(cols, sizeof *cols * (size_t)(2 * n + 1));
			if (!c2) {
				rc = api_own_error(db, SQLITE_NOMEM, "out of memory");
				break;
			}
			cols = c2;
			for (int i = 0; i < n; i++) {
				cols[i] = (char *)sqlwire_column_name(st, i);
				cols[n + i] = (char *)sqlwire_column_text(st, i);
			}
			if (cb(arg, n, cols + n, cols)) {
				rc = api_own_error(db, SQLITE_ABORT, "query aborted");
				break;
			}
		}
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
		if (rc != SQLITE_OK) {
			if (errmsg)
				*errmsg = sqlite3_mprintf("%s", sqlwire_errmsg(db));
			int own = rc;
			char keep[sizeof db->emsg];
			int kcode = sqlwire_extended_errcode(db);
			snprintf(keep, sizeof keep, "%s", sqlwire_errmsg(db));
			sqlwire_finalize(st);
			api_own_error(db, kcode, "%s", keep); /* finalize must not clear it */
			rc = own;
			break;
		}
		rc = sqlwire_finalize(st);
	}
	free(cols);
	if (rc != SQLITE_OK && errmsg && !*errmsg)
		*errmsg = sqlite3_mprintf("%s", sqlwire_errmsg(db));
	return rc;
}

int sqlwire_exec(sqlwire *db, const char *sql, sqlwire_callback cb, void *arg, char **errmsg)
{
	if (errmsg)
		*errmsg = NULL;
	if (!db)
		return SQLITE_MISUSE;
	if (db->mode == API_LOCAL) {
		atomic_store_explicit(&db->esrc, ES_LITE, memory_order_relaxed);
		return sqlite3_exec(db->lite, sql, cb, arg, errmsg);
	}
	return api_exec_generic(db, sql, cb, arg, errmsg);
}
