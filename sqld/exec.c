/* exec: runs Hrana statements, batches, sequences, describes and cursors on a
 * sqlite3 connection (see exec.h for the contract). This file holds the
 * access checks, errors, prepare, the statement cache, one statement,
 * sequences and describe; exec_val.c (values and their sizes), exec_lex.c
 * (SQL lexing) and exec_batch.c (batches and cursors) hold the rest, and
 * exec_int.h what they share. The invariants below are the whole module's.
 *
 * Invariants: every sqlite3_stmt is finalized before the function that
 * prepared it returns, except a cursor's current step, which the cursor owns
 * until the step ends or the cursor closes. Result strings and values are
 * copied into the caller's arena; rows are gathered in a malloc'd vector and
 * copied into the arena once, so a big result costs its size once in the
 * arena. Out-of-memory aborts (sqld policy).
 *
 * Threads: worker threads; one connection, one thread at a time. */
#include "exec_int.h"
#include "metrics.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *exec_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fputs("sqlwire: out of memory\n", stderr);
		abort();
	}
	return q;
}

/* ---- access (exec.h "access"): per worker thread ---- */

static _Thread_local unsigned exec_tl_allow = EXEC_ALLOW_ALL;
static _Thread_local bool exec_tl_forbidden;        /* a statement was refused */
static _Thread_local bool exec_tl_attach_denied;    /* the authorizer refused an ATTACH (this prepare) */
static _Thread_local const void *exec_tl_attach_st; /* the last statement prepared with an ATTACH */
static _Thread_local bool exec_tl_attach_seen;

void exec_set_allow(unsigned allow)
{
	exec_tl_allow = allow;
	exec_tl_forbidden = false;
}

unsigned exec_allow(void)
{
	return exec_tl_allow;
}

bool exec_take_forbidden(void)
{
	bool f = exec_tl_forbidden;
	exec_tl_forbidden = false;
	return f;
}

bool exec_attach_allowed(void)
{
	exec_tl_attach_seen = true;
	if (exec_tl_allow & EXEC_ALLOW_ATTACH)
		return true;
	exec_tl_attach_denied = true;
	return false;
}

static void forbid(struct hr_error *err, const char *what)
{
	exec_tl_forbidden = true;
	err->code = HR_E_FORBIDDEN;
	err->message = what;
	err->extended_code = 0;
}

/* SQLite's own classification decides: a statement that may write the
 * database (sqlite3_stmt_readonly false, which includes BEGIN IMMEDIATE and
 * EXCLUSIVE) needs the write permission. Call before the first step. */
int exec_guard(sqlite3_stmt *st, struct hr_error *err)
{
	if (!(exec_tl_allow & EXEC_ALLOW_READ)) {
		forbid(err, "Authorization forbidden: the credential has no read permission");
		return -1;
	}
	if ((exec_tl_allow & EXEC_ALLOW_WRITE) || sqlite3_stmt_readonly(st))
		return 0;
	forbid(err, "Authorization forbidden: the credential has no write permission");
	return -1;
}

/* Prepares through SQLite, noting what the authorizer saw (ATTACH). */
static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, const char **tail)
{
	exec_tl_attach_denied = exec_tl_attach_seen = false;
	int rc = sqlite3_prepare_v3(db, sql, -1, 0, st, tail);
	if (exec_tl_attach_seen && *st)
		exec_tl_attach_st = *st; /* never kept in the statement cache */
	return rc;
}

/* ---- errors ---- */

const char *exec_code_name(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_INTERNAL: return "SQLITE_INTERNAL";
	case SQLITE_PERM: return "SQLITE_PERM";
	case SQLITE_ABORT: return "SQLITE_ABORT";
	case SQLITE_BUSY: return "SQLITE_BUSY";
	case SQLITE_LOCKED: return "SQLITE_LOCKED";
	case SQLITE_NOMEM: return "SQLITE_NOMEM";
	case SQLITE_READONLY: return "SQLITE_READONLY";
	case SQLITE_INTERRUPT: return "SQLITE_INTERRUPT";
	case SQLITE_IOERR: return "SQLITE_IOERR";
	case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
	case SQLITE_NOTFOUND: return "SQLITE_NOTFOUND";
	case SQLITE_FULL: return "SQLITE_FULL";
	case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
	case SQLITE_PROTOCOL: return "SQLITE_PROTOCOL";
	case SQLITE_SCHEMA: return "SQLITE_SCHEMA";
	case SQLITE_TOOBIG: return "SQLITE_TOOBIG";
	case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT";
	case SQLITE_MISMATCH: return "SQLITE_MISMATCH";
	case SQLITE_MISUSE: return "SQLITE_MISUSE";
	case SQLITE_NOLFS: return "SQLITE_NOLFS";
	case SQLITE_AUTH: return "SQLITE_AUTH";
	case SQLITE_RANGE: return "SQLITE_RANGE";
	case SQLITE_NOTADB: return "SQLITE_NOTADB";
	default: return "SQLITE_UNKNOWN"; /* SQLITE_ERROR, EMPTY, FORMAT, NOTICE, WARNING */
	}
}

void exec_set_error(struct hr_error *err, const char *code, const char *message)
{
	err->code = code;
	err->message = message;
	err->extended_code = 0;
}

/* The connection's current error as a statement error (call before anything
 * else touches db). */
void exec_sqlite_error(sqlite3 *db, int rc, struct arena *a, struct hr_error *err)
{
	exec_set_error(err, exec_code_name(rc), arena_printf(a, "SQLite error: %s", sqlite3_errmsg(db)));
	err->extended_code = sqlite3_extended_errcode(db);
}

/* A failed prepare of the text that starts `base` bytes into the caller's SQL. */
static void prepare_error(sqlite3 *db, int rc, size_t base, struct arena *a, struct hr_error *err)
{
	if (exec_tl_attach_denied) {
		exec_tl_attach_denied = false;
		forbid(err, "Authorization forbidden: the credential has no attach permission");
		return;
	}
	int off = sqlite3_error_offset(db);
	if (off >= 0)
	{
		exec_set_error(err, HR_E_SQL_INPUT_ERROR,
			       arena_printf(a, "SQL input error: %s (at offset %zu)", sqlite3_errmsg(db), base + (size_t)off));
		err->extended_code = sqlite3_extended_errcode(db);
	}
	else
		exec_sqlite_error(db, rc, a, err);
}

/* ---- prepare ---- */

/* Prepares exactly one statement of sql into *out. */
int exec_open_stmt(sqlite3 *db, const char *sql, struct arena *a, sqlite3_stmt **out, struct hr_error *err)
{
	*out = NULL;
	if (!sql) {
		exec_set_error(err, HR_E_SQL_NO_STATEMENT, "SQL string does not contain any statement");
		return -1;
	}
	sqlite3_stmt *st = NULL;
	const char *p = sql, *tail = NULL;
	for (;;) {
		/* SQLite skips leading ';' itself; loop in case it stops after one */
		int rc = prepare(db, p, &st, &tail);
		if (rc != SQLITE_OK) {
			prepare_error(db, rc, (size_t)(p - sql), a, err);
			sqlite3_finalize(st);
			return -1;
		}
		if (st || !tail || tail <= p || !*exec_skip_filler(tail, true))
			break;
		p = tail;
	}
	if (!st) {
		exec_set_error(err, HR_E_SQL_NO_STATEMENT, "SQL string does not contain any statement");
		return -1;
	}
	if (tail && *exec_skip_filler(tail, true)) {
		sqlite3_finalize(st);
		exec_set_error(err, HR_E_SQL_MANY_STATEMENTS, "SQL string contains more than one statement");
		return -1;
	}
	*out = st;
	return 0;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- the statement cache ----
 * A statement run by exec_run_stmt stays prepared on its connection, reset,
 * and is found again by its exact SQL text (up to EXEC_CACHE_MAX per
 * connection); SQLite re-prepares it by itself after a schema change. A
 * statement that is not busy on a connection can only be a cached one:
 * exec's other users (sequence, describe, cursors) finalize theirs before
 * they return or keep them busy, and a connection runs one exec call at a
 * time. */
#define EXEC_CACHE_MAX 32

static sqlite3_stmt *cache_find(sqlite3 *db, const char *sql)
{
	for (sqlite3_stmt *c = sqlite3_next_stmt(db, NULL); c; c = sqlite3_next_stmt(db, c))
		if (!sqlite3_stmt_busy(c) && strcmp(sqlite3_sql(c), sql) == 0)
			return c;
	return NULL;
}

static void cache_release(sqlite3 *db, sqlite3_stmt *st)
{
	if (st == exec_tl_attach_st) {
		/* an ATTACH is checked when prepared: never reused by another credential */
		exec_tl_attach_st = NULL;
		sqlite3_finalize(st);
		return;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	int n = 0;
	for (sqlite3_stmt *c = sqlite3_next_stmt(db, NULL); c && n <= EXEC_CACHE_MAX; c = sqlite3_next_stmt(db, c))
		n++;
	if (n > EXEC_CACHE_MAX)
		sqlite3_finalize(st);
}

void exec_forget(sqlite3 *db)
{
	sqlite3_stmt *st;
	while ((st = sqlite3_next_stmt(db, NULL)) != NULL)
		sqlite3_finalize(st);
}

/* ---- statements ---- */

/* Runs s, charging its estimated size to bud. Returns 0 with *out, -1 with a
 * statement error, EXEC_TOO_LARGE with RESPONSE_TOO_LARGE in *err. */
static int run_stmt_timed(sqlite3 *db, const struct hr_stmt *s, struct exec_budget *bud, struct arena *a,
			  struct hr_stmt_result **out, struct hr_error *err);

/* run_stmt_timed with its latency and error code counted (metrics.h). */
int exec_run_stmt(sqlite3 *db, const struct hr_stmt *s, struct exec_budget *bud, struct arena *a,
		  struct hr_stmt_result **out, struct hr_error *err)
{
	int64_t t0 = metrics_now_us();
	int rc = run_stmt_timed(db, s, bud, a, out, err);
	metrics_stmt(metrics_now_us() - t0, rc ? err->code : NULL);
	return rc;
}

static int run_stmt_timed(sqlite3 *db, const struct hr_stmt *s, struct exec_budget *bud, struct arena *a,
			  struct hr_stmt_result **out, struct hr_error *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	*out = NULL;
	sqlite3_stmt *st = s->sql ? cache_find(db, s->sql) : NULL;
	if (!st && exec_open_stmt(db, s->sql, a, &st, err) != 0)
		return -1;
	if (exec_guard(st, err) != 0) {
		cache_release(db, st);
		return -1;
	}
	if (exec_bind_args(db, st, s, a, err) != 0) {
		cache_release(db, st);
		return -1;
	}
	struct hr_stmt_result *r = ARENA_NEW(a, struct hr_stmt_result);
	r->cols = exec_read_cols(st, a, &r->ncols);
	int rc = 0;
	struct hr_value *vals = NULL;
	size_t nvals = 0, cap = 0;
	uint64_t nrows = 0;
	if (!exec_budget_take(bud, exec_cols_size(r->cols, r->ncols)))
		goto too_large;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		nrows++;
		if (!s->want_rows)
			continue;
		if (!exec_budget_take(bud, 2))
			goto too_large;
		if (cap - nvals < r->ncols) {
			cap = cap ? cap * 2 : 64;
			if (cap < nvals + r->ncols)
				cap = nvals + r->ncols;
			vals = exec_xrealloc(vals, cap * sizeof *vals);
		}
		for (size_t i = 0; i < r->ncols; i++) {
			struct hr_value *v = &vals[nvals];
			if (exec_peek_value(st, (int)i, a, v, err) != 0)
				goto fail;
			if (!exec_budget_take(bud, exec_value_size(v)))
				goto too_large;
			exec_own_value(a, v);
			nvals++;
		}
	}
	if (rc != SQLITE_DONE) {
		exec_sqlite_error(db, rc, a, err);
		goto fail;
	}
	enum exec_kind k = exec_stmt_kind(s->sql);
	if (exec_kind_counts_changes(k))
		r->affected_row_count = (uint64_t)sqlite3_changes64(db);
	if (exec_kind_has_rowid(k)) {
		r->has_last_insert_rowid = true;
		r->last_insert_rowid = sqlite3_last_insert_rowid(db);
	}
	cache_release(db, st);
	if (s->want_rows) {
		r->nrows = (size_t)nrows;
		r->rows = nvals ? arena_memdup(a, vals, nvals * sizeof *vals) : NULL;
	}
	free(vals);
	r->rows_read = nrows;
	r->rows_written = r->affected_row_count;
	r->query_duration_ms = ms_since(&t0);
	*out = r;
	return 0;

too_large:
	exec_set_error(err, HR_E_RESPONSE_TOO_LARGE, "Response is too large");
	cache_release(db, st);
	free(vals);
	return EXEC_TOO_LARGE;
fail:
	cache_release(db, st);
	free(vals);
	return -1;
}

int exec_stmt(sqlite3 *db, const struct hr_stmt *s, const struct exec_limits *lim, struct arena *a,
	      struct hr_stmt_result **out, struct hr_error *err)
{
	struct exec_budget bud = {lim ? lim->max_response_size : 0, 0};
	return exec_run_stmt(db, s, &bud, a, out, err) == 0 ? 0 : -1;
}

/* ---- sequences, describe, autocommit ---- */

int exec_sequence(sqlite3 *db, const char *sql, struct arena *a, struct hr_error *err)
{
	static const struct hr_stmt no_args = {.want_rows = false};
	const char *p = sql ? sql : "";
	for (;;) {
		p = exec_skip_filler(p, true);
		if (!*p)
			return 0;
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		int rc = prepare(db, p, &st, &tail);
		if (rc != SQLITE_OK) {
			prepare_error(db, rc, (size_t)(p - sql), a, err);
			sqlite3_finalize(st);
			return -1;
		}
		if (!tail || tail <= p) /* cannot happen; never loop forever */
			tail = p + strlen(p);
		p = tail;
		if (!st)
			continue;
		if (exec_guard(st, err) != 0 || exec_bind_args(db, st, &no_args, a, err) != 0) {
			sqlite3_finalize(st);
			return -1;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (rc != SQLITE_DONE) {
			exec_sqlite_error(db, rc, a, err);
			sqlite3_finalize(st);
			return -1;
		}
		sqlite3_finalize(st);
	}
}

int exec_describe(sqlite3 *db, const char *sql, struct arena *a, struct hr_describe_result **out,
		  struct hr_error *err)
{
	*out = NULL;
	sqlite3_stmt *st;
	if (exec_open_stmt(db, sql, a, &st, err) != 0)
		return -1;
	struct hr_describe_result *r = ARENA_NEW(a, struct hr_describe_result);
	int np = sqlite3_bind_parameter_count(st);
	r->nparams = (size_t)np;
	if (np > 0) {
		r->params = ARENA_ARRAY(a, struct hr_describe_param, (size_t)np);
		for (int i = 0; i < np; i++) {
			const char *name = sqlite3_bind_parameter_name(st, i + 1);
			r->params[i].name = name ? arena_strdup(a, name) : NULL;
		}
	}
	r->cols = exec_read_cols(st, a, &r->ncols);
	r->is_explain = sqlite3_stmt_isexplain(st) != 0;
	r->is_readonly = sqlite3_stmt_readonly(st) != 0;
	sqlite3_finalize(st);
	*out = r;
	return 0;
}

bool exec_is_autocommit(sqlite3 *db)
{
	return sqlite3_get_autocommit(db) != 0;
}
