/* exec_batch: batches for exec (exec_int.h): checking and evaluating step
 * conditions, running a whole batch, and cursors, which run a batch step by
 * step and hand out its entries in pieces (a cursor owns its current
 * step's statement until the step ends or the cursor closes). Worker
 * threads. */
#include "exec_int.h"
#include <stdlib.h>
#include <string.h>

enum { OUT_NONE = 0, OUT_OK, OUT_ERR }; /* what became of a batch step */

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
		int rc = exec_run_stmt(db, &step->stmt, &bud, a, &r->step_results[i], &e);
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
			if (exec_open_stmt(c->db, s->sql, a, &st, &e) != 0) {
				entry_step_error(&ev, (uint32_t)c->i, &e);
				cursor_step_done(c, OUT_ERR);
				continue;
			}
			if (exec_guard(st, &e) != 0 || exec_bind_args(c->db, st, s, a, &e) != 0) {
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
			exec_sqlite_error(c->db, rc, a, &e);
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
