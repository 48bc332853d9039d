/* exec: runs Hrana statements, batches, sequences, describes and cursors on a
 * sqlite3 connection (see exec.h for the contract). Parts of the module are
 * in exec_val.c (values and their sizes) and exec_lex.c (SQL lexing), which
 * share exec_int.h with this file. The invariants below are the whole
 * module's.
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
#include "hjson.h"
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define EXEC_TOO_LARGE (-2) /* internal: run_stmt passed the size budget */

enum { OUT_NONE = 0, OUT_OK, OUT_ERR }; /* what became of a batch step */

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
static int guard(sqlite3_stmt *st, struct hr_error *err)
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
static void sqlite_error(sqlite3 *db, int rc, struct arena *a, struct hr_error *err)
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
		sqlite_error(db, rc, a, err);
}

/* ---- prepare ---- */

/* Prepares exactly one statement of sql into *out. */
static int open_stmt(sqlite3 *db, const char *sql, struct arena *a, sqlite3_stmt **out, struct hr_error *err)
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
 * A statement run by run_stmt stays prepared on its connection, reset, and is
 * found again by its exact SQL text (up to EXEC_CACHE_MAX per connection);
 * SQLite re-prepares it by itself after a schema change. A statement that is
 * not busy on a connection can only be a cached one: exec's other users
 * (sequence, describe, cursors) finalize theirs before they return or keep
 * them busy, and a connection runs one exec call at a time. */
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
static int run_stmt(sqlite3 *db, const struct hr_stmt *s, struct exec_budget *bud, struct arena *a,
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
	if (!st && open_stmt(db, s->sql, a, &st, err) != 0)
		return -1;
	if (guard(st, err) != 0) {
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
		sqlite_error(db, rc, a, err);
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
	return run_stmt(db, s, &bud, a, out, err) == 0 ? 0 : -1;
}

/* ---- batches ---- */

static int check_cond(const struct hr_cond *c, size_t step_i, int version, struct err *e)
{
	switch (c->type) {
	case HR_COND_OK:
	case HR_COND_ERROR:
		if ((size_t)c->step >= step_i)
			return err_set(e, "Invalid reference to step in a batch condition");
		return 0;
	case HR_COND_NOT:
	case HR_COND_AND:
	case HR_COND_OR:
		for (size_t i = 0; i < c->nconds; i++)
			if (check_cond(&c->conds[i], step_i, version, e) != 0)
				return -1;
		return 0;
	case HR_COND_IS_AUTOCOMMIT:
		if (version < 3)
			return err_set(e, "BatchCond of type `is_autocommit` is only supported in protocol version "
					  "hrana3 and higher");
		return 0;
	}
	return err_set(e, "Unknown BatchCond type %d", (int)c->type);
}

int exec_batch_check(const struct hr_batch *b, int version, struct err *e)
{
	for (size_t i = 0; i < b->nsteps; i++)
		if (b->steps[i].cond && check_cond(b->steps[i].cond, i, version, e) != 0)
			return -1;
	return 0;
}

/* outcome[0..ndone) tells what became of the steps before the current one. */
static bool cond_eval(const struct hr_cond *c, const uint8_t *outcome, size_t ndone, sqlite3 *db)
{
	switch (c->type) {
	case HR_COND_OK: return (size_t)c->step < ndone && outcome[c->step] == OUT_OK;
	case HR_COND_ERROR: return (size_t)c->step < ndone && outcome[c->step] == OUT_ERR;
	case HR_COND_NOT: return !(c->nconds >= 1 && cond_eval(&c->conds[0], outcome, ndone, db));
	case HR_COND_AND:
		for (size_t i = 0; i < c->nconds; i++)
			if (!cond_eval(&c->conds[i], outcome, ndone, db))
				return false;
		return true;
	case HR_COND_OR:
		for (size_t i = 0; i < c->nconds; i++)
			if (cond_eval(&c->conds[i], outcome, ndone, db))
				return true;
		return false;
	case HR_COND_IS_AUTOCOMMIT: return sqlite3_get_autocommit(db) != 0;
	}
	return false;
}

int exec_batch(sqlite3 *db, const struct hr_batch *b, const struct exec_limits *lim, struct arena *a,
	       struct hr_batch_result **out, struct hr_error *err)
{
	struct exec_budget bud = {lim ? lim->max_response_size : 0, 0};
	struct hr_batch_result *r = ARENA_NEW(a, struct hr_batch_result);
	size_t n = b->nsteps;
	r->nsteps = n;
	r->step_results = ARENA_ARRAY(a, struct hr_stmt_result *, n ? n : 1);
	r->step_errors = ARENA_ARRAY(a, struct hr_error *, n ? n : 1);
	uint8_t *outcome = ARENA_ARRAY(a, uint8_t, n ? n : 1);
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct hr_step *step = &b->steps[i];
		if (step->cond && !cond_eval(step->cond, outcome, i, db))
			continue;
		struct hr_error e = {0};
		int rc = run_stmt(db, &step->stmt, &bud, a, &r->step_results[i], &e);
		if (rc == EXEC_TOO_LARGE) {
			*err = e;
			return -1;
		}
		if (rc == 0) {
			outcome[i] = OUT_OK;
		} else {
			outcome[i] = OUT_ERR;
			r->step_errors[i] = arena_memdup(a, &e, sizeof e);
			bud.used += exec_error_size(&e); /* may overshoot: the next step then fails */
		}
	}
	*out = r;
	return 0;
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
		if (guard(st, err) != 0 || exec_bind_args(db, st, &no_args, a, err) != 0) {
			sqlite3_finalize(st);
			return -1;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (rc != SQLITE_DONE) {
			sqlite_error(db, rc, a, err);
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
	if (open_stmt(db, sql, a, &st, err) != 0)
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

/* ---- cursors ---- */

struct exec_cursor {
	sqlite3 *db;
	const struct hr_batch *b;
	size_t i;          /* current step: the one st belongs to, or the next to run */
	sqlite3_stmt *st;  /* live statement of step i, or NULL */
	size_t ncols;      /* of st */
	bool settled;      /* i is at a step whose condition holds, or at the end */
	uint8_t *outcome;  /* [nsteps] */
};

struct exec_cursor *exec_cursor_open(sqlite3 *db, const struct hr_batch *b)
{
	struct exec_cursor *c = exec_xrealloc(NULL, sizeof *c);
	memset(c, 0, sizeof *c);
	c->db = db;
	c->b = b;
	c->outcome = exec_xrealloc(NULL, b->nsteps ? b->nsteps : 1);
	memset(c->outcome, 0, b->nsteps ? b->nsteps : 1);
	return c;
}

void exec_cursor_close(struct exec_cursor *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->st);
	free(c->outcome);
	free(c);
}

/* Moves c->i to the first step at or after it whose condition holds (skipped
 * steps leave OUT_NONE behind). Conditions are evaluated right after the
 * previous step ended, as a batch would. */
static void cursor_settle(struct exec_cursor *c)
{
	while (c->i < c->b->nsteps) {
		const struct hr_cond *cond = c->b->steps[c->i].cond;
		if (!cond || cond_eval(cond, c->outcome, c->i, c->db))
			break;
		c->i++;
	}
	c->settled = true;
}

/* The current step ended (st already finalized or never prepared). */
static void cursor_step_done(struct exec_cursor *c, int outcome)
{
	c->outcome[c->i] = (uint8_t)outcome;
	c->st = NULL;
	c->i++;
	cursor_settle(c);
}

struct entry_vec {
	struct hr_cursor_entry *v;
	size_t n, cap;
	size_t bytes;
};

static struct hr_cursor_entry *entry_add(struct entry_vec *ev, enum hr_entry_type type)
{
	if (ev->n == ev->cap) {
		ev->cap = ev->cap ? ev->cap * 2 : 16;
		ev->v = exec_xrealloc(ev->v, ev->cap * sizeof *ev->v);
	}
	struct hr_cursor_entry *en = &ev->v[ev->n++];
	memset(en, 0, sizeof *en);
	en->type = type;
	return en;
}

static void entry_step_error(struct entry_vec *ev, uint32_t step, const struct hr_error *e)
{
	struct hr_cursor_entry *en = entry_add(ev, HR_ENTRY_STEP_ERROR);
	en->step = step;
	en->error = *e;
	ev->bytes += 20 + exec_error_size(e);
}

int exec_cursor_fetch(struct exec_cursor *c, struct arena *a, uint32_t max_entries, size_t max_bytes,
		      struct hr_cursor_entry **entries, size_t *n, bool *done)
{
	struct entry_vec ev = {0};
	if (!c->settled)
		cursor_settle(c);
	while (ev.n < max_entries && (ev.n == 0 || ev.bytes < max_bytes)) {
		const struct hr_batch *b = c->b;
		if (!c->st) {
			if (c->i >= b->nsteps)
				break;
			const struct hr_stmt *s = &b->steps[c->i].stmt;
			struct hr_error e;
			sqlite3_stmt *st;
			if (open_stmt(c->db, s->sql, a, &st, &e) != 0) {
				entry_step_error(&ev, (uint32_t)c->i, &e);
				cursor_step_done(c, OUT_ERR);
				continue;
			}
			if (guard(st, &e) != 0 || exec_bind_args(c->db, st, s, a, &e) != 0) {
				sqlite3_finalize(st);
				entry_step_error(&ev, (uint32_t)c->i, &e);
				cursor_step_done(c, OUT_ERR);
				continue;
			}
			c->st = st;
			struct hr_cursor_entry *en = entry_add(&ev, HR_ENTRY_STEP_BEGIN);
			en->step = (uint32_t)c->i;
			en->cols = exec_read_cols(st, a, &en->ncols);
			c->ncols = en->ncols;
			ev.bytes += 40 + exec_cols_size(en->cols, en->ncols);
			continue;
		}
		const struct hr_stmt *s = &b->steps[c->i].stmt;
		int rc = sqlite3_step(c->st);
		if (rc == SQLITE_ROW) {
			if (!s->want_rows)
				continue;
			struct hr_value *row = c->ncols ? ARENA_ARRAY(a, struct hr_value, c->ncols) : NULL;
			struct hr_error e;
			size_t bytes = 10, i;
			for (i = 0; i < c->ncols; i++) {
				if (exec_peek_value(c->st, (int)i, a, &row[i], &e) != 0)
					break;
				exec_own_value(a, &row[i]);
				bytes += exec_value_size(&row[i]);
			}
			if (i < c->ncols) {
				sqlite3_finalize(c->st);
				entry_step_error(&ev, (uint32_t)c->i, &e);
				cursor_step_done(c, OUT_ERR);
				continue;
			}
			struct hr_cursor_entry *en = entry_add(&ev, HR_ENTRY_ROW);
			en->row = row;
			en->nrow = c->ncols;
			ev.bytes += bytes;
		} else if (rc == SQLITE_DONE) {
			struct hr_cursor_entry *en = entry_add(&ev, HR_ENTRY_STEP_END);
			enum exec_kind k = exec_stmt_kind(s->sql);
			if (exec_kind_counts_changes(k))
				en->affected_row_count = (uint64_t)sqlite3_changes64(c->db);
			if (exec_kind_has_rowid(k)) {
				en->has_last_insert_rowid = true;
				en->last_insert_rowid = sqlite3_last_insert_rowid(c->db);
			}
			ev.bytes += 100;
			sqlite3_finalize(c->st);
			cursor_step_done(c, OUT_OK);
		} else {
			struct hr_error e;
			sqlite_error(c->db, rc, a, &e);
			sqlite3_finalize(c->st);
			entry_step_error(&ev, (uint32_t)c->i, &e);
			cursor_step_done(c, OUT_ERR);
		}
	}
	*n = ev.n;
	*entries = ev.n ? arena_memdup(a, ev.v, ev.n * sizeof *ev.v) : NULL;
	free(ev.v);
	*done = !c->st && c->i >= c->b->nsteps;
	return 0;
}
