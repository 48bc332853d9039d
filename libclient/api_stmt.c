/* api_stmt: the public sqlwire_* entry points for prepared statements
 * (prepare, bind, step, reset, finalize, column_*), dispatching on the
 * statement kind (api_int.h): LOCAL statements call SQLite directly (the
 * replica's point read costs one extra branch and one relaxed atomic load
 * over plain sqlite3); REMOTE statements go through remote.h under the
 * connection's mutex and convert values as SQLite would (conv.h); DUAL
 * statements (replica reads) run locally unless the connection is inside a
 * transaction on the primary, and wait for the connection's last write first
 * (read-your-writes).
 * Threads: any; see api_int.h. */
#include "api_int.h"
#include "conv.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IS_LOCAL(s) ((s)->kind == SK_LOCAL || ((s)->kind == SK_DUAL && !(s)->on_remote))

/* The error state is SQLite's again (after an error of our own, e.g. a
 * failed sqlwire_sync, or a remote one). A relaxed load on the hot path. */
static inline void stmt_lite_err(struct sqlwire *db)
{
	if (atomic_load_explicit(&db->esrc, memory_order_relaxed) != ES_LITE)
		atomic_store_explicit(&db->esrc, ES_LITE, memory_order_relaxed);
}

/* ---- prepare ---- */

/* BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT, RELEASE: SQLite calls them
 * read-only, but on a replica they belong to the primary. */
static bool stmt_is_txn_control(const char *z)
{
	for (;;) {
		while (*z == ' ' || *z == '\t' || *z == '\n' || *z == '\r' || *z == '\f' || *z == '\v')
			z++;
		if (z[0] == '-' && z[1] == '-') {
			while (*z && *z != '\n')
				z++;
		} else if (z[0] == '/' && z[1] == '*') {
			const char *e = strstr(z + 2, "*/");
			z = e ? e + 2 : z + strlen(z);
		} else
			break;
	}
	static const char *const kw[] = {"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"};
	size_t n = 0;
	while ((z[n] >= 'a' && z[n] <= 'z') || (z[n] >= 'A' && z[n] <= 'Z'))
		n++;
	for (size_t i = 0; i < sizeof kw / sizeof *kw; i++)
		if (strlen(kw[i]) == n && !strncasecmp(z, kw[i], n))
			return true;
	return false;
}

static int stmt_wrap(struct sqlwire *db, enum stmt_kind kind, sqlite3_stmt *ls, struct remote_stmt *rs,
		     sqlwire_stmt **out)
{
	sqlwire_stmt *s = calloc(1, sizeof *s);
	if (!s) {
		sqlite3_finalize(ls);
		if (rs) {
			pthread_mutex_lock(&db->mu);
			remote_finalize(rs);
			pthread_mutex_unlock(&db->mu);
		}
		if (db->mode == API_LOCAL)
			return SQLITE_NOMEM;
		return api_own_error(db, SQLITE_NOMEM, "out of memory");
	}
	s->db = db;
	s->kind = kind;
	s->ls = ls;
	s->rs = rs;
	atomic_fetch_add(&db->nstmt, 1);
	*out = s;
	return SQLITE_OK;
}

/* mu held: a remote statement for sql on db (opening the remote first) */
static int stmt_remote_prepare(struct sqlwire *db, const char *sql, int n, struct remote_stmt **rs, const char **tail)
{
	int rc = api_ensure_remote(db);
	if (rc != SQLITE_OK)
		return rc;
	rc = remote_prepare(db->rem, sql, n, rs, tail);
	return rc == SQLITE_OK ? rc : api_remote_error(db, rc);
}

static int stmt_prepare(sqlwire *db, const char *sql, int n, unsigned flags, bool v3, sqlwire_stmt **out,
			const char **tail)
{
	if (!out)
		return SQLITE_MISUSE;
	*out = NULL;
	if (!db || !sql)
		return SQLITE_MISUSE;
	sqlite3_stmt *ls = NULL;
	struct remote_stmt *rs = NULL;
	int rc;
	switch (db->mode) {
	case API_LOCAL:
		stmt_lite_err(db);
		rc = v3 ? sqlite3_prepare_v3(db->lite, sql, n, flags, &ls, tail) : sqlite3_prepare_v2(db->lite, sql, n, &ls, tail);
		if (rc != SQLITE_OK || !ls)
			return rc;
		return stmt_wrap(db, SK_LOCAL, ls, NULL, out);
	case API_REMOTE:
		pthread_mutex_lock(&db->mu);
		rc = remote_prepare(db->rem, sql, n, &rs, tail);
		rc = rc == SQLITE_OK ? rc : api_remote_error(db, rc);
		pthread_mutex_unlock(&db->mu);
		if (rc != SQLITE_OK || !rs)
			return rc;
		return stmt_wrap(db, SK_REMOTE, NULL, rs, out);
	case API_REPLICA:
		break;
	}
	/* After a write, compile against the schema that includes it (a table
	 * just created on the primary). A failure here is reported by the
	 * first step, which waits again. */
	if (atomic_load(&db->slow) == SLOW_RYW)
		(void)api_ryw_wait(db, false);
	const char *ltail = NULL;
	rc = sqlite3_prepare_v3(db->lite, sql, n, flags, &ls, &ltail);
	stmt_lite_err(db);
	if (rc == SQLITE_OK) {
		if (tail)
			*tail = ltail;
		if (!ls)
			return SQLITE_OK;
		if (db->readonly) /* a read-only replica connection: SQLite refuses the writes */
			return stmt_wrap(db, SK_LOCAL, ls, NULL, out);
		const char *text = sqlite3_sql(ls);
		if (sqlite3_stmt_readonly(ls) && !stmt_is_txn_control(text))
			return stmt_wrap(db, SK_DUAL, ls, NULL, out);
		/* a write or transaction control: the primary runs it */
		char *copy = strdup(text);
		sqlite3_finalize(ls);
		if (!copy)
			return api_own_error(db, SQLITE_NOMEM, "out of memory");
		pthread_mutex_lock(&db->mu);
		rc = stmt_remote_prepare(db, copy, -1, &rs, NULL);
		pthread_mutex_unlock(&db->mu);
		if (rc != SQLITE_OK || !rs) {
			free(copy);
			return rc;
		}
		rc = stmt_wrap(db, SK_REMOTE, NULL, rs, out);
		if (rc == SQLITE_OK)
			(*out)->sql = copy;
		else
			free(copy);
		return rc;
	}
	if ((rc & 0xff) != SQLITE_ERROR)
		return rc;
	/* The replica cannot compile it (e.g. it lacks the table so far): let
	 * the primary try. If the primary is unreachable, report the local
	 * error, which says what is missing. */
	char keep[512];
	snprintf(keep, sizeof keep, "%s", sqlite3_errmsg(db->lite));
	int kcode = sqlite3_extended_errcode(db->lite);
	pthread_mutex_lock(&db->mu);
	int rrc = api_ensure_remote(db);
	if (rrc == SQLITE_OK) {
		rc = remote_prepare(db->rem, sql, n, &rs, tail);
		rc = rc == SQLITE_OK ? rc : api_remote_error(db, rc);
	} else
		api_own_error(db, kcode, "%s", keep);
	pthread_mutex_unlock(&db->mu);
	if (rc != SQLITE_OK || !rs)
		return rc;
	return stmt_wrap(db, SK_REMOTE, NULL, rs, out);
}

int sqlwire_prepare(sqlwire *db, const char *sql, int n, sqlwire_stmt **out, const char **tail)
{
	return stmt_prepare(db, sql, n, 0, false, out, tail);
}
int sqlwire_prepare_v2(sqlwire *db, const char *sql, int n, sqlwire_stmt **out, const char **tail)
{
	return stmt_prepare(db, sql, n, 0, false, out, tail);
}
int sqlwire_prepare_v3(sqlwire *db, const char *sql, int n, unsigned int flags, sqlwire_stmt **out,
		       const char **tail)
{
	return stmt_prepare(db, sql, n, flags, true, out, tail);
}

/* ---- bindings ---- */

static void stmt_free_value(struct hr_value *v)
{
	if (v->type == HR_TEXT || v->type == HR_BLOB)
		free((void *)v->s);
	memset(v, 0, sizeof *v);
	v->type = HR_NULL;
}

static void stmt_free_args(sqlwire_stmt *s)
{
	for (int i = 0; i < s->nargs; i++)
		stmt_free_value(&s->args[i]);
	free(s->args);
	s->args = NULL;
	s->nargs = 0;
}

/* DUAL: keep a copy of a value SQLite accepted for parameter i */
static int stmt_record(sqlwire_stmt *s, int i, const struct hr_value *v)
{
	if (i > s->nargs) {
		int n = sqlite3_bind_parameter_count(s->ls);
		if (n < i)
			n = i;
		struct hr_value *a = realloc(s->args, sizeof *a * (size_t)n);
		if (!a)
			return api_own_error(s->db, SQLITE_NOMEM, "out of memory");
		for (int k = s->nargs; k < n; k++) {
			memset(&a[k], 0, sizeof a[k]);
			a[k].type = HR_NULL;
		}
		s->args = a;
		s->nargs = n;
	}
	struct hr_value c = *v;
	if (v->type == HR_TEXT || v->type == HR_BLOB) {
		char *p = malloc(v->n + 1);
		if (!p)
			return api_own_error(s->db, SQLITE_NOMEM, "out of memory");
		if (v->n)
			memcpy(p, v->s, v->n);
		p[v->n] = 0;
		c.s = p;
	}
	stmt_free_value(&s->args[i - 1]);
	s->args[i - 1] = c;
	return SQLITE_OK;
}

/* After the local bind (DUAL: lrc is its result) or instead of it (REMOTE). */
static int stmt_bind(sqlwire_stmt *s, int i, const struct hr_value *v, int lrc)
{
	if (s->kind == SK_DUAL)
		return lrc == SQLITE_OK ? stmt_record(s, i, v) : lrc;
	pthread_mutex_lock(&s->db->mu);
	int rc = remote_bind(s->rs, i, v);
	rc = rc == SQLITE_OK ? rc : api_remote_error(s->db, rc);
	pthread_mutex_unlock(&s->db->mu);
	return rc;
}

static void stmt_destroy(void (*d)(void *), const void *p)
{
	if (d != SQLITE_STATIC && d != SQLITE_TRANSIENT)
		d((void *)p);
}

int sqlwire_bind_null(sqlwire_stmt *s, int i)
{
	if (!s)
		return SQLITE_MISUSE;
	if (s->kind == SK_LOCAL)
		return sqlite3_bind_null(s->ls, i);
	struct hr_value v = {.type = HR_NULL};
	return stmt_bind(s, i, &v, s->ls ? sqlite3_bind_null(s->ls, i) : 0);
}

int sqlwire_bind_int64(sqlwire_stmt *s, int i, sqlwire_int64 x)
{
	if (!s)
		return SQLITE_MISUSE;
	if (s->kind == SK_LOCAL)
		return sqlite3_bind_int64(s->ls, i, x);
	struct hr_value v = {.type = HR_INTEGER, .i = x};
	return stmt_bind(s, i, &v, s->ls ? sqlite3_bind_int64(s->ls, i, x) : 0);
}

int sqlwire_bind_int(sqlwire_stmt *s, int i, int x) { return sqlwire_bind_int64(s, i, x); }

int sqlwire_bind_double(sqlwire_stmt *s, int i, double x)
{
	if (!s)
		return SQLITE_MISUSE;
	if (s->kind == SK_LOCAL)
		return sqlite3_bind_double(s->ls, i, x);
	struct hr_value v = {.type = HR_FLOAT, .f = x};
	return stmt_bind(s, i, &v, s->ls ? sqlite3_bind_double(s->ls, i, x) : 0);
}

/* text (blob=false) or blob of n bytes, with SQLite's destructor contract */
static int stmt_bind_bytes(sqlwire_stmt *s, int i, const void *p, sqlite3_uint64 n, void (*d)(void *), bool blob)
{
	if (!s) {
		if (p)
			stmt_destroy(d, p);
		return SQLITE_MISUSE;
	}
	if (s->kind == SK_LOCAL)
		return blob ? sqlite3_bind_blob64(s->ls, i, p, n, d) : sqlite3_bind_text64(s->ls, i, p, n, d, SQLITE_UTF8);
	struct hr_value v = {.type = p ? (blob ? HR_BLOB : HR_TEXT) : HR_NULL, .s = p, .n = p ? (size_t)n : 0};
	if (n > 0x7fffffff) {
		if (p)
			stmt_destroy(d, p);
		return SQLITE_TOOBIG;
	}
	int rc;
	if (s->kind == SK_DUAL) {
		/* the copy first: SQLite may call d as soon as it is done */
		rc = stmt_bind(s, i, &v, sqlite3_bind_null(s->ls, i));
		if (rc == SQLITE_OK) {
			rc = blob ? sqlite3_bind_blob64(s->ls, i, p, n, d) : sqlite3_bind_text64(s->ls, i, p, n, d, SQLITE_UTF8);
			if (rc != SQLITE_OK)
				stmt_free_value(&s->args[i - 1]);
		} else if (p)
			stmt_destroy(d, p);
		return rc;
	}
	rc = stmt_bind(s, i, &v, 0);
	if (p)
		stmt_destroy(d, p);
	return rc;
}

int sqlwire_bind_text(sqlwire_stmt *s, int i, const char *p, int n, void (*d)(void *))
{
	if (s && s->kind == SK_LOCAL)
		return sqlite3_bind_text(s->ls, i, p, n, d);
	return stmt_bind_bytes(s, i, p, p && n < 0 ? strlen(p) : (sqlite3_uint64)(n < 0 ? 0 : n), d, false);
}

int sqlwire_bind_text64(sqlwire_stmt *s, int i, const char *p, sqlwire_uint64 n, void (*d)(void *),
			unsigned char enc)
{
	if (s && s->kind == SK_LOCAL)
		return sqlite3_bind_text64(s->ls, i, p, n, d, enc);
	if (enc != SQLITE_UTF8) {
		if (p)
			stmt_destroy(d, p);
		return SQLITE_MISUSE;
	}
	return stmt_bind_bytes(s, i, p, n, d, false);
}

int sqlwire_bind_blob(sqlwire_stmt *s, int i, const void *p, int n, void (*d)(void *))
{
	if (s && s->kind == SK_LOCAL)
		return sqlite3_bind_blob(s->ls, i, p, n, d);
	if (n < 0) {
		if (p)
			stmt_destroy(d, p);
		return SQLITE_MISUSE;
	}
	return stmt_bind_bytes(s, i, p, (sqlite3_uint64)n, d, true);
}

int sqlwire_bind_blob64(sqlwire_stmt *s, int i, const void *p, sqlwire_uint64 n, void (*d)(void *))
{
	return stmt_bind_bytes(s, i, p, n, d, true);
}

int sqlwire_bind_zeroblob64(sqlwire_stmt *s, int i, sqlwire_uint64 n)
{
	if (!s)
		return SQLITE_MISUSE;
	if (s->kind == SK_LOCAL)
		return sqlite3_bind_zeroblob64(s->ls, i, n);
	if (n > 1000000000)
		return SQLITE_TOOBIG;
	void *z = calloc(1, (size_t)n + 1);
	if (!z)
		return api_own_error(s->db, SQLITE_NOMEM, "out of memory");
	return stmt_bind_bytes(s, i, z, n, free, true);
}

int sqlwire_bind_zeroblob(sqlwire_stmt *s, int i, int n)
{
	if (s && s->kind == SK_LOCAL)
		return sqlite3_bind_zeroblob(s->ls, i, n);
	return sqlwire_bind_zeroblob64(s, i, n < 0 ? 0 : (sqlwire_uint64)n);
}

int sqlwire_bind_parameter_count(sqlwire_stmt *s)
{
	if (!s)
		return 0;
	if (s->ls)
		return sqlite3_bind_parameter_count(s->ls);
	pthread_mutex_lock(&s->db->mu);
	int n = remote_bind_parameter_count(s->rs);
	pthread_mutex_unlock(&s->db->mu);
	return n;
}

int sqlwire_bind_parameter_index(sqlwire_stmt *s, const char *name)
{
	if (!s || !name)
		return 0;
	if (s->ls)
		return sqlite3_bind_parameter_index(s->ls, name);
	pthread_mutex_lock(&s->db->mu);
	int n = remote_bind_parameter_index(s->rs, name);
	pthread_mutex_unlock(&s->db->mu);
	return n;
}

const char *sqlwire_bind_parameter_name(sqlwire_stmt *s, int i)
{
	if (!s)
		return NULL;
	if (s->ls)
		return sqlite3_bind_parameter_name(s->ls, i);
	pthread_mutex_lock(&s->db->mu);
	const char *n = remote_bind_parameter_name(s->rs, i);
	pthread_mutex_unlock(&s->db->mu);
	return n;
}

int sqlwire_clear_bindings(sqlwire_stmt *s)
{
	if (!s)
		return SQLITE_MISUSE;
	int rc = SQLITE_OK;
	if (s->ls)
		rc = sqlite3_clear_bindings(s->ls);
	stmt_free_args(s);
	if (s->rs) {
		pthread_mutex_lock(&s->db->mu);
		remote_clear_bindings(s->rs);
		pthread_mutex_unlock(&s->db->mu);
	}
	return rc;
}

/* ---- step / reset / finalize ---- */

static void stmt_clear_cache(sqlwire_stmt *s)
{
	for (int i = 0; i < s->ncache; i++) {
		free(s->cache[i]);
		s->cache[i] = NULL;
	}
}

/* mu held: rewinds the remote side */
static int stmt_remote_reset(sqlwire_stmt *s)
{
	int rc = SQLITE_OK;
	if (s->started && s->last_rc != SQLITE_ROW && s->last_rc != SQLITE_DONE)
		rc = s->last_rc;
	stmt_clear_cache(s);
	if (s->rs)
		remote_reset(s->rs);
	s->started = false;
	s->last_rc = SQLITE_OK;
	return rc;
}

static int stmt_step_remote(sqlwire_stmt *s)
{
	struct sqlwire *db = s->db;
	pthread_mutex_lock(&db->mu);
	if (s->started && s->last_rc != SQLITE_ROW) {
		/* SQLite restarts a finished statement on the next step */
		stmt_remote_reset(s);
		if (s->kind == SK_DUAL) {
			s->on_remote = false;
			pthread_mutex_unlock(&db->mu);
			return sqlwire_step(s);
		}
	}
	stmt_clear_cache(s);
	bool first = !s->started;
	int rc = remote_step(s->rs);
	s->started = true;
	s->last_rc = rc;
	if (first || rc != SQLITE_ROW)
		api_after_remote(db);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		atomic_store_explicit(&db->esrc, ES_REMOTE, memory_order_relaxed);
	else
		rc = api_remote_error(db, rc);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

/* DUAL at its first step while the connection has a remote transaction or a
 * write to wait for */
static int stmt_step_slow(sqlwire_stmt *s)
{
	struct sqlwire *db = s->db;
	int slow = atomic_load(&db->slow);
	if (slow & SLOW_TXN) {
		/* inside a transaction on the primary: read there, where the
		 * transaction's own writes are */
		pthread_mutex_lock(&db->mu);
		int rc = SQLITE_OK;
		if (!s->rs)
			rc = stmt_remote_prepare(db, sqlite3_sql(s->ls), -1, &s->rs, NULL);
		else
			stmt_remote_reset(s);
		if (rc == SQLITE_OK && s->rs) {
			remote_clear_bindings(s->rs);
			for (int i = 0; i < s->nargs && rc == SQLITE_OK; i++)
				if (s->args[i].type != HR_NULL)
					rc = remote_bind(s->rs, i + 1, &s->args[i]);
			if (rc != SQLITE_OK)
				rc = api_remote_error(db, rc);
		}
		pthread_mutex_unlock(&db->mu);
		if (rc != SQLITE_OK)
			return rc;
		s->on_remote = true;
		s->started = false;
		return stmt_step_remote(s);
	}
	if (slow & SLOW_RYW) {
		int rc = api_ryw_wait(db, true);
		if (rc != SQLITE_OK)
			return rc;
	}
	stmt_lite_err(db);
	return sqlite3_step(s->ls);
}

int sqlwire_step(sqlwire_stmt *s)
{
	if (!s)
		return SQLITE_MISUSE;
	if (s->kind == SK_LOCAL) {
		stmt_lite_err(s->db);
		return sqlite3_step(s->ls);
	}
	if (s->kind == SK_DUAL && !s->on_remote) {
		if (atomic_load_explicit(&s->db->slow, memory_order_relaxed) == 0 || sqlite3_stmt_busy(s->ls)) {
			stmt_lite_err(s->db);
			return sqlite3_step(s->ls);
		}
		return stmt_step_slow(s);
	}
	return stmt_step_remote(s);
}

int sqlwire_reset(sqlwire_stmt *s)
{
	if (!s)
		return SQLITE_OK;
	if (s->kind == SK_LOCAL) {
		stmt_lite_err(s->db);
		return sqlite3_reset(s->ls);
	}
	int rc = SQLITE_OK;
	if (s->ls) {
		rc = sqlite3_reset(s->ls);
		stmt_lite_err(s->db);
	}
	if (s->rs && (s->kind == SK_REMOTE || s->on_remote)) {
		pthread_mutex_lock(&s->db->mu);
		rc = stmt_remote_reset(s);
		pthread_mutex_unlock(&s->db->mu);
		rc = api_rc(s->db, rc);
	}
	s->on_remote = false;
	return rc;
}

int sqlwire_finalize(sqlwire_stmt *s)
{
	if (!s)
		return SQLITE_OK;
	struct sqlwire *db = s->db;
	int rc = SQLITE_OK;
	if (s->ls)
		rc = sqlite3_finalize(s->ls);
	if (s->rs) {
		pthread_mutex_lock(&db->mu);
		if (s->kind == SK_REMOTE || s->on_remote)
			rc = api_rc(db, stmt_remote_reset(s));
		remote_finalize(s->rs);
		pthread_mutex_unlock(&db->mu);
	}
	stmt_clear_cache(s);
	free(s->cache);
	stmt_free_args(s);
	free(s->sql);
	free(s);
	api_stmt_gone(db);
	return rc;
}

/* ---- results ---- */

int sqlwire_column_count(sqlwire_stmt *s)
{
	if (!s)
		return 0;
	if (IS_LOCAL(s))
		return sqlite3_column_count(s->ls);
	pthread_mutex_lock(&s->db->mu);
	int n = remote_column_count(s->rs);
	pthread_mutex_unlock(&s->db->mu);
	return n;
}

int sqlwire_data_count(sqlwire_stmt *s)
{
	if (!s)
		return 0;
	if (IS_LOCAL(s))
		return sqlite3_data_count(s->ls);
	pthread_mutex_lock(&s->db->mu);
	int n = remote_data_count(s->rs);
	pthread_mutex_unlock(&s->db->mu);
	return n;
}

const char *sqlwire_column_name(sqlwire_stmt *s, int i)
{
	if (!s)
		return NULL;
	if (IS_LOCAL(s))
		return sqlite3_column_name(s->ls, i);
	pthread_mutex_lock(&s->db->mu);
	const char *n = i >= 0 && i < remote_column_count(s->rs) ? remote_column_name(s->rs, i) : NULL;
	pthread_mutex_unlock(&s->db->mu);
	return n;
}

const char *sqlwire_column_decltype(sqlwire_stmt *s, int i)
{
	if (!s)
		return NULL;
	if (IS_LOCAL(s))
		return sqlite3_column_decltype(s->ls, i);
	pthread_mutex_lock(&s->db->mu);
	const char *n = i >= 0 && i < remote_column_count(s->rs) ? remote_column_decltype(s->rs, i) : NULL;
	pthread_mutex_unlock(&s->db->mu);
	return n;
}

/* the current remote row's value i, or NULL; mu held */
static const struct hr_value *stmt_value(sqlwire_stmt *s, int i)
{
	if (!s->started || s->last_rc != SQLITE_ROW || i < 0 || i >= remote_data_count(s->rs))
		return NULL;
	return remote_column_value(s->rs, i);
}

int sqlwire_column_type(sqlwire_stmt *s, int i)
{
	if (!s)
		return SQLITE_NULL;
	if (IS_LOCAL(s))
		return sqlite3_column_type(s->ls, i);
	pthread_mutex_lock(&s->db->mu);
	int t = conv_type(stmt_value(s, i));
	pthread_mutex_unlock(&s->db->mu);
	return t;
}

sqlwire_int64 sqlwire_column_int64(sqlwire_stmt *s, int i)
{
	if (!s)
		return 0;
	if (IS_LOCAL(s))
		return sqlite3_column_int64(s->ls, i);
	pthread_mutex_lock(&s->db->mu);
	int64_t v = conv_int64(stmt_value(s, i));
	pthread_mutex_unlock(&s->db->mu);
	return v;
}

int sqlwire_column_int(sqlwire_stmt *s, int i)
{
	if (s && IS_LOCAL(s))
		return sqlite3_column_int(s->ls, i);
	return (int)sqlwire_column_int64(s, i);
}

double sqlwire_column_double(sqlwire_stmt *s, int i)
{
	if (!s)
		return 0.0;
	if (IS_LOCAL(s))
		return sqlite3_column_double(s->ls, i);
	pthread_mutex_lock(&s->db->mu);
	double v = conv_double(stmt_value(s, i));
	pthread_mutex_unlock(&s->db->mu);
	return v;
}

/* mu held: a slot for column i's converted text */
static char **stmt_slot(sqlwire_stmt *s, int i)
{
	if (i >= s->ncache) {
		int n = remote_column_count(s->rs);
		if (n <= i)
			n = i + 1;
		char **c = realloc(s->cache, sizeof *c * (size_t)n);
		if (!c)
			return NULL;
		for (int k = s->ncache; k < n; k++)
			c[k] = NULL;
		s->cache = c;
		s->ncache = n;
	}
	return &s->cache[i];
}

/* text (blob=false) or blob form of the current remote value i */
static const void *stmt_bytes(sqlwire_stmt *s, int i, bool blob, int *n)
{
	*n = 0;
	pthread_mutex_lock(&s->db->mu);
	const struct hr_value *v = stmt_value(s, i);
	const void *p = NULL;
	int nomem = 0;
	if (v && v->type != HR_NULL) {
		char **slot = stmt_slot(s, i);
		if (!slot)
			nomem = 1;
		else
			p = blob ? conv_blob(v, slot, n, &nomem) : (const void *)conv_text(v, slot, n, &nomem);
	}
	if (nomem)
		api_own_error(s->db, SQLITE_NOMEM, "out of memory");
	pthread_mutex_unlock(&s->db->mu);
	return p;
}

const unsigned char *sqlwire_column_text(sqlwire_stmt *s, int i)
{
	if (!s)
		return NULL;
	if (IS_LOCAL(s))
		return sqlite3_column_text(s->ls, i);
	int n;
	return stmt_bytes(s, i, false, &n);
}

const void *sqlwire_column_blob(sqlwire_stmt *s, int i)
{
	if (!s)
		return NULL;
	if (IS_LOCAL(s))
		return sqlite3_column_blob(s->ls, i);
	int n;
	return stmt_bytes(s, i, true, &n);
}

int sqlwire_column_bytes(sqlwire_stmt *s, int i)
{
	if (!s)
		return 0;
	if (IS_LOCAL(s))
		return sqlite3_column_bytes(s->ls, i);
	int n;
	stmt_bytes(s, i, false, &n);
	return n;
}

int sqlwire_stmt_readonly(sqlwire_stmt *s)
{
	if (!s)
		return 1;
	if (s->ls)
		return sqlite3_stmt_readonly(s->ls);
	pthread_mutex_lock(&s->db->mu);
	int r = remote_stmt_readonly(s->rs);
	pthread_mutex_unlock(&s->db->mu);
	return r;
}

int sqlwire_stmt_busy(sqlwire_stmt *s)
{
	if (!s)
		return 0;
	if (IS_LOCAL(s))
		return sqlite3_stmt_busy(s->ls);
	return s->started && s->last_rc == SQLITE_ROW;
}

const char *sqlwire_sql(sqlwire_stmt *s)
{
	if (!s)
		return NULL;
	if (s->ls)
		return sqlite3_sql(s->ls);
	if (s->sql)
		return s->sql;
	pthread_mutex_lock(&s->db->mu);
	const char *q = remote_sql(s->rs);
	pthread_mutex_unlock(&s->db->mu);
	return q;
}

char *sqlwire_expanded_sql(sqlwire_stmt *s)
{
	if (!s)
		return NULL;
	if (s->ls)
		return sqlite3_expanded_sql(s->ls);
	const char *q = sqlwire_sql(s);
	return q ? sqlite3_mprintf("%s", q) : NULL;
}

sqlwire *sqlwire_db_handle(sqlwire_stmt *s) { return s ? s->db : NULL; }
