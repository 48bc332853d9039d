/* exec_val: values between Hrana and SQLite for exec (exec_int.h): the
 * estimates of their encoded sizes and the response budget, binding a
 * statement's arguments by sqld's algorithm, reading column names and
 * values (copied into the caller's arena). Worker threads. */
#include "exec_int.h"
#include "hjson.h"
#include <stdlib.h>
#include <string.h>

static void args_error(struct arena *a, struct hr_error *err, const char *detail)
{
	exec_set_error(err, HR_E_ARGS_INVALID, arena_printf(a, "Arguments do not match SQL parameters: %s", detail));
}

/* ---- size estimates (of the JSON encoding) ---- */

size_t exec_value_size(const struct hr_value *v)
{
	return hjson_value_size(v) + 1; /* and a separating comma */
}

size_t exec_cols_size(const struct hr_col *cols, size_t n)
{
	size_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += 30 + (cols[i].name ? strlen(cols[i].name) : 4) + (cols[i].decltype ? strlen(cols[i].decltype) : 4);
	return s;
}

size_t exec_error_size(const struct hr_error *e)
{
	return 40 + (e->message ? strlen(e->message) : 0) + (e->code ? strlen(e->code) : 0);
}


/* Adds n to the budget; false (and nothing added) when that passes max. */
bool exec_budget_take(struct exec_budget *b, size_t n)
{
	if (b->max && (b->used > b->max || n > b->max - b->used))
		return false;
	b->used += n;
	return true;
}

/* ---- bind, read ---- */

/* The named arg called exactly name; the last one wins, as in sqld's map. */
static const struct hr_value *find_named(const struct hr_stmt *s, const char *name)
{
	const struct hr_value *v = NULL;
	for (size_t i = 0; i < s->nnamed; i++)
		if (s->named[i].name && strcmp(s->named[i].name, name) == 0)
			v = &s->named[i].value;
	return v;
}

/* True when s has more distinct named-arg names than limit (sqld keeps them
 * in a map, so repeated names count once). O(nnamed * limit). */
static bool too_many_named(const struct hr_stmt *s, size_t limit, size_t *found)
{
	*found = s->nnamed;
	if (s->nnamed <= limit)
		return false;
	size_t *uniq = exec_xrealloc(NULL, (limit + 1) * sizeof *uniq), n = 0;
	for (size_t i = 0; i < s->nnamed && n <= limit; i++) {
		size_t j = 0;
		while (j < n && strcmp(s->named[uniq[j]].name ? s->named[uniq[j]].name : "",
				       s->named[i].name ? s->named[i].name : "") != 0)
			j++;
		if (j == n)
			uniq[n++] = i;
	}
	free(uniq);
	*found = n;
	return n > limit;
}

static const struct hr_value *find_pos(const struct hr_stmt *s, long pos)
{
	return pos >= 1 && (size_t)pos <= s->nargs ? &s->args[pos - 1] : NULL;
}

static int bind_value(sqlite3_stmt *st, int i, const struct hr_value *v)
{
	switch (v->type) {
	case HR_INTEGER: return sqlite3_bind_int64(st, i, v->i);
	case HR_FLOAT: return sqlite3_bind_double(st, i, v->f);
	case HR_TEXT:
		if (!v->s || v->n == 0)
			return sqlite3_bind_text64(st, i, "", 0, SQLITE_STATIC, SQLITE_UTF8);
		return sqlite3_bind_text64(st, i, v->s, v->n, SQLITE_STATIC, SQLITE_UTF8);
	case HR_BLOB:
		/* a NULL or zero-length pointer would bind NULL: keep it a blob */
		if (!v->s || v->n == 0)
			return sqlite3_bind_zeroblob(st, i, 0);
		return sqlite3_bind_blob64(st, i, v->s, v->n, SQLITE_STATIC);
	default: return sqlite3_bind_null(st, i);
	}
}

/* Binds s's args by sqld's algorithm (PROTOCOL.md §3.2). The values are bound
 * SQLITE_STATIC: s must outlive st's use. */
int exec_bind_args(sqlite3 *db, sqlite3_stmt *st, const struct hr_stmt *s, struct arena *a, struct hr_error *err)
{
	if (s->nargs && s->nnamed) {
		exec_set_error(err, HR_E_ARGS_BOTH, "Specifying both positional and named arguments is not supported");
		return -1;
	}
	int count = sqlite3_bind_parameter_count(st);
	size_t given = s->nargs;
	if (s->nnamed ? too_many_named(s, (size_t)count, &given) : given > (size_t)count) {
		/* (with named args, "found" counts distinct names up to count + 1) */
		args_error(a, err, arena_printf(a, "too many parameters, expected %d found %zu", count, given));
		return -1;
	}
	bool explain = sqlite3_stmt_isexplain(st) != 0;
	for (int i = 1; i <= count; i++) {
		const char *name = sqlite3_bind_parameter_name(st, i);
		const struct hr_value *v;
		if (!name)
			v = find_pos(s, i);
		else if (name[0] == '?')
			v = find_pos(s, strtol(name + 1, NULL, 10));
		else if (!(v = find_named(s, name)))
			v = find_named(s, name + 1);
		if (!v) {
			if (explain)
				continue; /* EXPLAIN: a missing value stays NULL */
			args_error(a, err,
				   name ? arena_printf(a, "value for parameter %s not found", name)
					: arena_printf(a, "value for parameter %d not found", i));
			return -1;
		}
		if (bind_value(st, i, v) != SQLITE_OK) {
			args_error(a, err, sqlite3_errmsg(db));
			return -1;
		}
	}
	return 0;
}

struct hr_col *exec_read_cols(sqlite3_stmt *st, struct arena *a, size_t *ncols)
{
	int n = sqlite3_column_count(st);
	*ncols = (size_t)n;
	if (n <= 0)
		return NULL;
	struct hr_col *cols = ARENA_ARRAY(a, struct hr_col, (size_t)n);
	for (int i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i), *decl = sqlite3_column_decltype(st, i);
		cols[i].name = name ? arena_strdup(a, name) : NULL;
		cols[i].decltype = decl ? arena_strdup(a, decl) : NULL;
	}
	return cols;
}

/* Column col of the current row into *v, pointing into SQLite's memory
 * (valid until the next step). Returns 0, or -1 with *err set for text that
 * is not UTF-8 or out-of-memory. */
int exec_peek_value(sqlite3_stmt *st, int col, struct arena *a, struct hr_value *v, struct hr_error *err)
{
	memset(v, 0, sizeof *v);
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_INTEGER:
		v->type = HR_INTEGER;
		v->i = sqlite3_column_int64(st, col);
		return 0;
	case SQLITE_FLOAT:
		v->type = HR_FLOAT;
		v->f = sqlite3_column_double(st, col);
		return 0;
	case SQLITE_TEXT: {
		const char *t = (const char *)sqlite3_column_text(st, col);
		size_t n = (size_t)sqlite3_column_bytes(st, col);
		if (!t) {
			exec_set_error(err, exec_code_name(SQLITE_NOMEM), "SQLite error: out of memory");
			return -1;
		}
		if (!hr_utf8_valid(t, n)) {
			exec_set_error(err, exec_code_name(SQLITE_MISMATCH),
				       arena_printf(a, "SQLite error: text in column %d is not valid UTF-8", col));
			return -1;
		}
		v->type = HR_TEXT;
		v->s = t;
		v->n = n;
		return 0;
	}
	case SQLITE_BLOB: {
		const void *p = sqlite3_column_blob(st, col);
		size_t n = (size_t)sqlite3_column_bytes(st, col);
		if (!p && n) {
			exec_set_error(err, exec_code_name(SQLITE_NOMEM), "SQLite error: out of memory");
			return -1;
		}
		v->type = HR_BLOB;
		v->s = p ? p : "";
		v->n = n;
		return 0;
	}
	default:
		v->type = HR_NULL;
		return 0;
	}
}

/* Copies the bytes v points to into the arena. */
void exec_own_value(struct arena *a, struct hr_value *v)
{
	if (v->type == HR_TEXT)
		v->s = arena_strndup(a, v->s, v->n);
	else if (v->type == HR_BLOB)
		v->s = arena_memdup(a, v->s, v->n);
}
