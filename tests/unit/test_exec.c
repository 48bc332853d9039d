/* Unit tests of sqld/exec: statements, binding, errors, batches, sequences,
 * describe, cursors and response-size limits on an in-memory database. */
#include "exec.h"
#include "t.h"
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- helpers ---- */

static sqlite3 *open_db(void)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
		fprintf(stderr, "cannot open db\n");
		exit(2);
	}
	return db;
}

static void sql_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "%s: %s: %s\n", t_case, sql, msg);
		t_case_failed = 1;
	}
	sqlite3_free(msg);
}

static int64_t scalar(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -999;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static struct hr_stmt S(const char *sql)
{
	return (struct hr_stmt){.sql = sql, .want_rows = true};
}
static struct hr_value VI(int64_t i)
{
	return (struct hr_value){.type = HR_INTEGER, .i = i};
}
static struct hr_value VF(double f)
{
	return (struct hr_value){.type = HR_FLOAT, .f = f};
}
static struct hr_value VT(const char *s, size_t n)
{
	return (struct hr_value){.type = HR_TEXT, .s = s, .n = n};
}
static struct hr_value VS(const char *s)
{
	return VT(s, strlen(s));
}
static struct hr_value VB(const void *p, size_t n)
{
	return (struct hr_value){.type = HR_BLOB, .s = p, .n = n};
}
static struct hr_value VN(void)
{
	return (struct hr_value){.type = HR_NULL};
}

/* Runs s expecting success. */
static struct hr_stmt_result *run_ok(sqlite3 *db, struct arena *a, const struct hr_stmt *s)
{
	struct hr_stmt_result *r = NULL;
	struct hr_error e = {0};
	if (exec_stmt(db, s, NULL, a, &r, &e) != 0) {
		fprintf(stderr, "%s: %s: unexpected error %s: %s\n", t_case, s->sql, e.code, e.message);
		t_case_failed = 1;
		return NULL;
	}
	return r;
}

/* Runs s expecting a statement error; returns it. */
static struct hr_error run_err(sqlite3 *db, struct arena *a, const struct hr_stmt *s)
{
	struct hr_stmt_result *r = NULL;
	struct hr_error e = {0};
	if (exec_stmt(db, s, NULL, a, &r, &e) == 0) {
		fprintf(stderr, "%s: %s: unexpected success\n", t_case, s->sql);
		t_case_failed = 1;
		e.code = e.message = "(none)";
	} else {
		CHECK(r == NULL);
		CHECK(e.code != NULL && e.message != NULL);
	}
	return e;
}

static const struct hr_value *cell(const struct hr_stmt_result *r, size_t row, size_t col)
{
	return &r->rows[row * r->ncols + col];
}

static int64_t int_cell(const struct hr_stmt_result *r, size_t row, size_t col)
{
	if (!r || row >= r->nrows || col >= r->ncols || cell(r, row, col)->type != HR_INTEGER)
		return -999;
	return cell(r, row, col)->i;
}

static const char *text_cell(const struct hr_stmt_result *r, size_t row, size_t col)
{
	if (!r || row >= r->nrows || col >= r->ncols || cell(r, row, col)->type != HR_TEXT)
		return NULL;
	return cell(r, row, col)->s;
}

static struct hr_cond *C_OK(struct arena *a, uint32_t step)
{
	struct hr_cond *c = ARENA_NEW(a, struct hr_cond);
	c->type = HR_COND_OK;
	c->step = step;
	return c;
}
static struct hr_cond *C_ERR(struct arena *a, uint32_t step)
{
	struct hr_cond *c = C_OK(a, step);
	c->type = HR_COND_ERROR;
	return c;
}
static struct hr_cond *C_AUTO(struct arena *a)
{
	struct hr_cond *c = ARENA_NEW(a, struct hr_cond);
	c->type = HR_COND_IS_AUTOCOMMIT;
	return c;
}
static struct hr_cond *C_LIST(struct arena *a, enum hr_cond_type t, struct hr_cond *x, struct hr_cond *y)
{
	struct hr_cond *c = ARENA_NEW(a, struct hr_cond);
	c->type = t;
	c->nconds = y ? 2 : 1;
	c->conds = ARENA_ARRAY(a, struct hr_cond, c->nconds);
	c->conds[0] = *x;
	if (y)
		c->conds[1] = *y;
	return c;
}
static struct hr_cond *C_NOT(struct arena *a, struct hr_cond *x)
{
	return C_LIST(a, HR_COND_NOT, x, NULL);
}

/* ---- classifier ---- */

static void test_kind(void)
{
	CHECK(exec_stmt_kind("SELECT 1") == EXEC_KIND_SELECT);
	CHECK(exec_stmt_kind("  select 1") == EXEC_KIND_SELECT);
	CHECK(exec_stmt_kind("insert into t values(1)") == EXEC_KIND_INSERT);
	CHECK(exec_stmt_kind("INSERT OR REPLACE INTO t VALUES(1)") == EXEC_KIND_INSERT);
	CHECK(exec_stmt_kind("Replace INTO t VALUES(1)") == EXEC_KIND_REPLACE);
	CHECK(exec_stmt_kind("/* c */ -- d\n UPDATE t SET x=1") == EXEC_KIND_UPDATE);
	CHECK(exec_stmt_kind(";; DELETE FROM t") == EXEC_KIND_DELETE);
	CHECK(exec_stmt_kind("VALUES(1)") == EXEC_KIND_VALUES);
	CHECK(exec_stmt_kind("EXPLAIN INSERT INTO t VALUES(1)") == EXEC_KIND_EXPLAIN);
	CHECK(exec_stmt_kind("explain query plan delete from t") == EXEC_KIND_EXPLAIN);
	CHECK(exec_stmt_kind("CREATE TABLE t(x)") == EXEC_KIND_OTHER);
	CHECK(exec_stmt_kind("PRAGMA user_version") == EXEC_KIND_OTHER);
	CHECK(exec_stmt_kind("BEGIN") == EXEC_KIND_OTHER);
	CHECK(exec_stmt_kind("") == EXEC_KIND_OTHER);
	CHECK(exec_stmt_kind("INSERTX") == EXEC_KIND_OTHER);
	CHECK(exec_stmt_kind(NULL) == EXEC_KIND_OTHER);
	CHECK(exec_stmt_kind("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x") == EXEC_KIND_INSERT);
	CHECK(exec_stmt_kind("WITH x AS (SELECT 1) SELECT * FROM x") == EXEC_KIND_SELECT);
	CHECK(exec_stmt_kind("with recursive c(n) as (values(1) union all select n+1 from c where n<5) "
			     "delete from t where x in c") == EXEC_KIND_DELETE);
	CHECK(exec_stmt_kind("WITH a AS MATERIALIZED (SELECT ')' AS \"insert\"), [update] AS (SELECT 2)"
			     " /* select */ -- select\n REPLACE INTO t SELECT * FROM a") == EXEC_KIND_REPLACE);
	CHECK(exec_stmt_kind("WITH a(x, y) AS NOT MATERIALIZED (SELECT 1, 2) UPDATE t SET x = 1") == EXEC_KIND_UPDATE);
	CHECK(exec_stmt_kind("WITH `q``(` AS (SELECT 'it''s (') VALUES(1)") == EXEC_KIND_VALUES);
	CHECK(exec_stmt_kind("WITH broken AS (SELECT 1") == EXEC_KIND_OTHER);
}

/* ---- values and binding ---- */

static void test_values_roundtrip(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	static const char nul_text[] = "a\0b";
	static const unsigned char blob[] = {0, 1, 2, 0xff};
	struct hr_value args[] = {
		VN(), VI(INT64_MIN), VI(INT64_MAX), VI(0), VF(0.5), VF(-1.25e300), VF(3.0),
		VT(nul_text, 3), VS("héllo ✓"), VT("", 0), VB(blob, sizeof blob), VB(NULL, 0), VB("", 0),
	};
	size_t n = sizeof args / sizeof args[0];
	struct hr_stmt s = S("SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, typeof(?11), ?12, typeof(?13)");
	s.args = args;
	s.nargs = n;
	struct hr_stmt_result *r = run_ok(db, &a, &s);
	CHECK(r && r->ncols == n && r->nrows == 1);
	if (r && r->ncols == n && r->nrows == 1) {
		CHECK(cell(r, 0, 0)->type == HR_NULL);
		CHECK(int_cell(r, 0, 1) == INT64_MIN);
		CHECK(int_cell(r, 0, 2) == INT64_MAX);
		CHECK(int_cell(r, 0, 3) == 0);
		CHECK(cell(r, 0, 4)->type == HR_FLOAT && cell(r, 0, 4)->f == 0.5);
		CHECK(cell(r, 0, 5)->type == HR_FLOAT && cell(r, 0, 5)->f == -1.25e300);
		CHECK(cell(r, 0, 6)->type == HR_FLOAT && cell(r, 0, 6)->f == 3.0);
		CHECK(cell(r, 0, 7)->type == HR_TEXT && cell(r, 0, 7)->n == 3 && memcmp(cell(r, 0, 7)->s, "a\0b", 4) == 0);
		CHECK_STR(text_cell(r, 0, 8), "héllo ✓");
		CHECK(cell(r, 0, 9)->type == HR_TEXT && cell(r, 0, 9)->n == 0 && cell(r, 0, 9)->s);
		CHECK_STR(text_cell(r, 0, 10), "blob");
		CHECK(cell(r, 0, 11)->type == HR_BLOB && cell(r, 0, 11)->n == 0 && cell(r, 0, 11)->s);
		CHECK_STR(text_cell(r, 0, 12), "blob");
		CHECK_STR(r->cols[1].name, "?");
		CHECK(r->cols[1].decltype == NULL);
		CHECK(!r->has_last_insert_rowid && r->affected_row_count == 0);
		CHECK(r->rows_read == 1 && r->rows_written == 0 && r->query_duration_ms >= 0);
		CHECK(!r->has_replication_index);
	}

	/* through a table: the bytes survive storage, decltypes come back */
	sql_ok(db, "CREATE TABLE v(i INTEGER, f REAL, t TEXT, b BLOB, n)");
	struct hr_value row[] = {VI(-7), VF(2.5), VT(nul_text, 3), VB(blob, sizeof blob), VN()};
	s = S("INSERT INTO v VALUES (?, ?, ?, ?, ?)");
	s.args = row;
	s.nargs = 5;
	run_ok(db, &a, &s);
	struct hr_value empty_blob[] = {VB(NULL, 0)};
	s = S("INSERT INTO v(b) VALUES (?)");
	s.args = empty_blob;
	s.nargs = 1;
	run_ok(db, &a, &s);
	CHECK(scalar(db, "SELECT count(*) FROM v WHERE b = x''") == 1);
	s = S("SELECT i, f, t, b, n FROM v ORDER BY rowid");
	r = run_ok(db, &a, &s);
	CHECK(r && r->nrows == 2 && r->ncols == 5);
	if (r && r->nrows == 2) {
		CHECK_STR(r->cols[0].name, "i");
		CHECK_STR(r->cols[0].decltype, "INTEGER");
		CHECK_STR(r->cols[3].decltype, "BLOB");
		CHECK(r->cols[4].decltype == NULL);
		CHECK(int_cell(r, 0, 0) == -7);
		CHECK(cell(r, 0, 1)->f == 2.5);
		CHECK(cell(r, 0, 2)->n == 3 && memcmp(cell(r, 0, 2)->s, "a\0b", 3) == 0);
		CHECK(cell(r, 0, 3)->type == HR_BLOB && cell(r, 0, 3)->n == 4 && memcmp(cell(r, 0, 3)->s, blob, 4) == 0);
		CHECK(cell(r, 0, 4)->type == HR_NULL);
		CHECK(cell(r, 1, 3)->type == HR_BLOB && cell(r, 1, 3)->n == 0);
		CHECK(r->rows_read == 2);
	}
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

static void test_invalid_utf8(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	struct hr_stmt s = S("SELECT CAST(x'61ff' AS TEXT)");
	struct hr_error e = run_err(db, &a, &s);
	CHECK_STR(e.code, "SQLITE_MISMATCH");
	CHECK(strncmp(e.message, "SQLite error: ", 14) == 0);
	/* rows not wanted: the value is never read */
	s.want_rows = false;
	CHECK(run_ok(db, &a, &s) != NULL);
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

static void test_bind_positional(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	struct hr_value args[] = {VI(10), VI(20), VI(30)};
	struct hr_stmt s = S("SELECT ?, ?");
	s.args = args;
	s.nargs = 2;
	struct hr_stmt_result *r = run_ok(db, &a, &s);
	CHECK(int_cell(r, 0, 0) == 10 && int_cell(r, 0, 1) == 20);

	s = S("SELECT ? || ?2 || ?1");
	s.args = args;
	s.nargs = 2;
	CHECK_STR(text_cell(run_ok(db, &a, &s), 0, 0), "102010");

	s = S("SELECT ?2, ?1");
	s.args = args;
	s.nargs = 2;
	r = run_ok(db, &a, &s);
	CHECK(int_cell(r, 0, 0) == 20 && int_cell(r, 0, 1) == 10);

	/* ?3 alone: parameters 1 and 2 are nameless and take args 1 and 2 */
	s = S("SELECT ?3");
	s.args = args;
	s.nargs = 3;
	CHECK(int_cell(run_ok(db, &a, &s), 0, 0) == 30);
	s.nargs = 1;
	struct hr_error e = run_err(db, &a, &s);
	CHECK_STR(e.code, "ARGS_INVALID");
	CHECK_STR(e.message, "Arguments do not match SQL parameters: value for parameter 2 not found");
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

static void test_bind_named(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	struct hr_named_arg named[] = {{":a", VI(1)}, {"b", VI(2)}, {"$c", VI(3)}};
	struct hr_stmt s = S("SELECT :a, @b, $c");
	s.named = named;
	s.nnamed = 3;
	struct hr_stmt_result *r = run_ok(db, &a, &s);
	CHECK(int_cell(r, 0, 0) == 1 && int_cell(r, 0, 1) == 2 && int_cell(r, 0, 2) == 3);

	/* without prefixes */
	struct hr_named_arg bare[] = {{"a", VS("x")}, {"b", VS("y")}, {"c", VS("z")}};
	s.named = bare;
	r = run_ok(db, &a, &s);
	CHECK_STR(text_cell(r, 0, 0), "x");
	CHECK_STR(text_cell(r, 0, 2), "z");

	/* the full name wins over the bare one */
	struct hr_named_arg both[] = {{"first", VI(10)}, {"$first", VI(20)}};
	s = S("SELECT :first || $first");
	s.named = both;
	s.nnamed = 2;
	CHECK_STR(text_cell(run_ok(db, &a, &s), 0, 0), "1020");

	/* repeated parameter, and a repeated arg name (the last one wins) */
	struct hr_named_arg rep[] = {{"x", VI(1)}, {"x", VI(2)}};
	s = S("SELECT :x + :x");
	s.named = rep;
	s.nnamed = 2;
	CHECK(int_cell(run_ok(db, &a, &s), 0, 0) == 4);

	/* a different prefix does not match */
	struct hr_named_arg colon[] = {{":a", VI(1)}};
	s = S("SELECT @a");
	s.named = colon;
	s.nnamed = 1;
	struct hr_error e = run_err(db, &a, &s);
	CHECK_STR(e.code, "ARGS_INVALID");
	CHECK_STR(e.message, "Arguments do not match SQL parameters: value for parameter @a not found");
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

static void test_bind_errors(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	struct hr_value args[] = {VI(1), VI(2)};
	struct hr_named_arg named[] = {{"a", VI(1)}, {"b", VI(2)}};

	struct hr_stmt s = S("SELECT ?");
	s.args = args;
	s.nargs = 2;
	struct hr_error e = run_err(db, &a, &s);
	CHECK_STR(e.code, "ARGS_INVALID");
	CHECK_STR(e.message, "Arguments do not match SQL parameters: too many parameters, expected 1 found 2");

	s = S("SELECT 1");
	s.args = args;
	s.nargs = 1;
	CHECK_STR(run_err(db, &a, &s).code, "ARGS_INVALID");

	s = S("SELECT :a");
	s.named = named;
	s.nnamed = 2;
	e = run_err(db, &a, &s);
	CHECK_STR(e.code, "ARGS_INVALID");
	CHECK_STR(e.message, "Arguments do not match SQL parameters: too many parameters, expected 1 found 2");
	struct hr_named_arg dup[] = {{"a", VI(1)}, {"a", VI(2)}, {"a", VI(3)}, {"b", VI(4)}};
	s.named = dup;
	s.nnamed = 3; /* a repeated name counts once */
	CHECK(int_cell(run_ok(db, &a, &s), 0, 0) == 3);
	s.nnamed = 4;
	CHECK_STR(run_err(db, &a, &s).code, "ARGS_INVALID");

	s = S("SELECT ?, ?");
	s.args = args;
	s.nargs = 1;
	e = run_err(db, &a, &s);
	CHECK_STR(e.message, "Arguments do not match SQL parameters: value for parameter 2 not found");

	s = S("SELECT :zz");
	e = run_err(db, &a, &s);
	CHECK_STR(e.code, "ARGS_INVALID");
	CHECK_STR(e.message, "Arguments do not match SQL parameters: value for parameter :zz not found");

	/* positional args do not fill named parameters and vice versa */
	s = S("SELECT :a");
	s.args = args;
	s.nargs = 1;
	CHECK_STR(run_err(db, &a, &s).code, "ARGS_INVALID");
	s = S("SELECT ?");
	s.named = named;
	s.nnamed = 1;
	CHECK_STR(run_err(db, &a, &s).code, "ARGS_INVALID");

	/* both kinds */
	s = S("SELECT ?, :a");
	s.args = args;
	s.nargs = 1;
	s.named = named;
	s.nnamed = 1;
	e = run_err(db, &a, &s);
	CHECK_STR(e.code, "ARGS_BOTH_POSITIONAL_AND_NAMED");
	CHECK_STR(e.message, "Specifying both positional and named arguments is not supported");

	/* EXPLAIN: missing values stay NULL */
	s = S("EXPLAIN SELECT ?, :x");
	struct hr_stmt_result *r = run_ok(db, &a, &s);
	CHECK(r && r->nrows > 0 && r->ncols == 8);
	CHECK(r && r->affected_row_count == 0 && !r->has_last_insert_rowid);
	s = S("EXPLAIN QUERY PLAN SELECT :x");
	CHECK(run_ok(db, &a, &s) != NULL);
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

/* ---- statement count, prepare and step errors ---- */

static void test_statement_count(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	const char *none[] = {"", "   ", "-- just a comment", "/* c */ ; ;", ";"};
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
		struct hr_stmt s = S(none[i]);
		struct hr_error e = run_err(db, &a, &s);
		CHECK_STR(e.code, "SQL_NO_STATEMENT");
		CHECK_STR(e.message, "SQL string does not contain any statement");
	}
	const char *many[] = {"SELECT 1; SELECT 2", "SELECT 1;;\n SELECT 2 -- x", "SELECT 1; garbage",
			      "SELECT 1 /* a */ ; /* b */ SELECT 2"};
	for (size_t i = 0; i < sizeof many / sizeof many[0]; i++) {
		struct hr_stmt s = S(many[i]);
		struct hr_error e = run_err(db, &a, &s);
		CHECK_STR(e.code, "SQL_MANY_STATEMENTS");
		CHECK_STR(e.message, "SQL string contains more than one statement");
	}
	const char *one[] = {"SELECT 1;", "SELECT 1; -- done", "SELECT 1 /* x */ ;;  \n", "  ;SELECT 1",
			     "SELECT 1; /* unterminated", "SELECT ';' -- ;\n"};
	for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
		struct hr_stmt s = S(one[i]);
		struct hr_stmt_result *r = run_ok(db, &a, &s);
		CHECK(r && r->nrows == 1);
	}
	/* exec_describe follows the same rules */
	struct hr_describe_result *d;
	struct hr_error e;
	CHECK(exec_describe(db, "SELECT 1; SELECT 2", &a, &d, &e) == -1);
	CHECK_STR(e.code, "SQL_MANY_STATEMENTS");
	CHECK(exec_describe(db, " -- x", &a, &d, &e) == -1);
	CHECK_STR(e.code, "SQL_NO_STATEMENT");
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

static void test_prepare_errors(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	sql_ok(db, "CREATE TABLE t(x)");
	struct hr_stmt s = S("SELEC 1");
	struct hr_error e = run_err(db, &a, &s);
	CHECK_STR(e.code, "SQL_INPUT_ERROR");
	CHECK_STR(e.message, "SQL input error: near \"SELEC\": syntax error (at offset 0)");
	s = S("SELECT nosuch FROM t");
	e = run_err(db, &a, &s);
	CHECK_STR(e.code, "SQL_INPUT_ERROR");
	CHECK_STR(e.message, "SQL input error: no such column: nosuch (at offset 7)");
	/* SQLite 3.40.1 gives no offset for a missing table */
	s = S("SELECT * FROM nosuch");
	e = run_err(db, &a, &s);
	CHECK_STR(e.code, "SQLITE_UNKNOWN");
	CHECK_STR(e.message, "SQLite error: no such table: nosuch");
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

static int interrupt_now(void *arg)
{
	(void)arg;
	return 1;
}

static void test_step_errors(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	sql_ok(db, "CREATE TABLE test(x UNIQUE)");
	sql_ok(db, "INSERT INTO test VALUES (1)");
	struct hr_stmt s = S("INSERT INTO test VALUES (1)");
	struct hr_error e = run_err(db, &a, &s);
	CHECK_STR(e.code, "SQLITE_CONSTRAINT");
	CHECK_STR(e.message, "SQLite error: UNIQUE constraint failed: test.x");
	CHECK(sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_UNIQUE);

	s = S("SELECT abs(-9223372036854775807 - 1)");
	e = run_err(db, &a, &s);
	CHECK_STR(e.code, "SQLITE_UNKNOWN");
	CHECK_STR(e.message, "SQLite error: integer overflow");

	/* an interrupt is an ordinary statement error */
	sqlite3_progress_handler(db, 1, interrupt_now, NULL);
	s = S("WITH RECURSIVE c(n) AS (VALUES(1) UNION ALL SELECT n+1 FROM c) SELECT count(*) FROM c");
	e = run_err(db, &a, &s);
	CHECK_STR(e.code, "SQLITE_INTERRUPT");
	CHECK_STR(e.message, "SQLite error: interrupted");
	sqlite3_progress_handler(db, 0, NULL, NULL);

	CHECK_STR(exec_code_name(SQLITE_BUSY), "SQLITE_BUSY");
	CHECK_STR(exec_code_name(SQLITE_BUSY_SNAPSHOT), "SQLITE_BUSY");
	CHECK_STR(exec_code_name(SQLITE_ERROR), "SQLITE_UNKNOWN");
	CHECK_STR(exec_code_name(SQLITE_NOTICE), "SQLITE_UNKNOWN");
	CHECK_STR(exec_code_name(SQLITE_READONLY), "SQLITE_READONLY");
	CHECK_STR(exec_code_name(SQLITE_NOTADB), "SQLITE_NOTADB");
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

/* ---- results: counts, rowids, RETURNING, want_rows ---- */

static void test_affected_and_rowid(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	sql_ok(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, x)");
	struct hr_stmt s = S("INSERT INTO t(x) VALUES (1), (2)");
	struct hr_stmt_result *r = run_ok(db, &a, &s);
	CHECK(r && r->affected_row_count == 2 && r->has_last_insert_rowid && r->last_insert_rowid == 2);
	CHECK(r && r->rows_written == 2 && r->rows_read == 0 && r->ncols == 0);

	s = S("SELECT * FROM t");
	r = run_ok(db, &a, &s);
	CHECK(r && r->affected_row_count == 0 && !r->has_last_insert_rowid && r->nrows == 2);

	s = S("UPDATE t SET x = x + 1");
	r = run_ok(db, &a, &s);
	CHECK(r && r->affected_row_count == 2 && !r->has_last_insert_rowid);

	s = S("CREATE TABLE u(y)"); /* DDL: changes() is stale, masked */
	r = run_ok(db, &a, &s);
	CHECK(r && r->affected_row_count == 0 && !r->has_last_insert_rowid);

	s = S("WITH v(n) AS (VALUES (10), (11), (12)) INSERT INTO t(x) SELECT n FROM v");
	r = run_ok(db, &a, &s);
	CHECK(r && r->affected_row_count == 3 && r->has_last_insert_rowid && r->last_insert_rowid == 5);

	s = S("REPLACE INTO t(id, x) VALUES (1, 'r')");
	r = run_ok(db, &a, &s);
	CHECK(r && r->affected_row_count == 1 && r->has_last_insert_rowid && r->last_insert_rowid == 1);

	s = S("DELETE FROM t WHERE id > 3");
	r = run_ok(db, &a, &s);
	CHECK(r && r->affected_row_count == 2 && !r->has_last_insert_rowid);

	s = S("EXPLAIN INSERT INTO t(x) VALUES (1)");
	r = run_ok(db, &a, &s);
	CHECK(r && r->affected_row_count == 0 && !r->has_last_insert_rowid);

	s = S("SELECT changes()");
	r = run_ok(db, &a, &s);
	CHECK(r && r->affected_row_count == 0);

	/* RETURNING */
	s = S("INSERT INTO t(x) VALUES ('a'), ('b') RETURNING id, x");
	r = run_ok(db, &a, &s);
	CHECK(r && r->nrows == 2 && r->ncols == 2 && r->affected_row_count == 2);
	CHECK(int_cell(r, 0, 0) == 4 && int_cell(r, 1, 0) == 5);
	CHECK_STR(text_cell(r, 1, 1), "b");
	CHECK(r && r->last_insert_rowid == 5);

	s = S("DELETE FROM t WHERE x = 'a' RETURNING id");
	r = run_ok(db, &a, &s);
	CHECK(r && r->nrows == 1 && int_cell(r, 0, 0) == 4 && r->affected_row_count == 1);

	/* want_rows false: cols but no rows, and the statement runs through */
	s = S("UPDATE t SET x = 'z' RETURNING id");
	s.want_rows = false;
	r = run_ok(db, &a, &s);
	CHECK(r && r->nrows == 0 && r->rows == NULL && r->ncols == 1 && r->affected_row_count == 4);
	CHECK(r && r->rows_read == 4);
	CHECK(scalar(db, "SELECT count(*) FROM t WHERE x = 'z'") == 4);
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

/* ---- batches ---- */

static void test_batch_conditions(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	sql_ok(db, "CREATE TABLE log(n)");
	char sql[32][64];
	struct hr_step steps[32];
	memset(steps, 0, sizeof steps);
	size_t n = 0;
#define STEP(c, q)                                    \
	do {                                          \
		steps[n].cond = (c);                  \
		steps[n].stmt = S(q);                 \
		n++;                                  \
	} while (0)
#define LOGSTEP(c)                                                              \
	do {                                                                    \
		snprintf(sql[n], sizeof sql[n], "INSERT INTO log VALUES (%zu)", n); \
		STEP(c, sql[n]);                                                \
	} while (0)
	LOGSTEP(NULL);                                              /* 0 ok */
	STEP(NULL, "SELECT * FROM nosuch");                         /* 1 error */
	LOGSTEP(C_OK(&a, 0));                                       /* 2 runs */
	LOGSTEP(C_OK(&a, 1));                                       /* 3 skipped */
	LOGSTEP(C_ERR(&a, 1));                                      /* 4 runs */
	LOGSTEP(C_OK(&a, 3));                                       /* 5 skipped: 3 was skipped */
	LOGSTEP(C_ERR(&a, 3));                                      /* 6 skipped likewise */
	LOGSTEP(C_NOT(&a, C_OK(&a, 3)));                            /* 7 runs */
	LOGSTEP(C_LIST(&a, HR_COND_AND, C_OK(&a, 0), C_ERR(&a, 1))); /* 8 runs */
	LOGSTEP(C_LIST(&a, HR_COND_AND, C_OK(&a, 0), C_OK(&a, 1)));  /* 9 skipped */
	LOGSTEP(C_LIST(&a, HR_COND_OR, C_OK(&a, 1), C_OK(&a, 3)));   /* 10 skipped */
	LOGSTEP(C_LIST(&a, HR_COND_OR, C_OK(&a, 1), C_ERR(&a, 1)));  /* 11 runs */
	LOGSTEP(C_AUTO(&a));                                        /* 12 runs */
	STEP(NULL, "BEGIN");                                        /* 13 */
	LOGSTEP(C_AUTO(&a));                                        /* 14 skipped: in a txn */
	LOGSTEP(C_NOT(&a, C_AUTO(&a)));                             /* 15 runs */
	STEP(C_OK(&a, 15), "COMMIT");                               /* 16 */
	LOGSTEP(C_NOT(&a, C_ERR(&a, 14)));                          /* 17 runs */
	struct hr_batch b = {steps, n};
	struct err ce;
	CHECK(exec_batch_check(&b, 3, &ce) == 0);
	struct hr_batch_result *r = NULL;
	struct hr_error e = {0};
	CHECK(exec_batch(db, &b, NULL, &a, &r, &e) == 0);
	static const int ran[] = {1, 2, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1}; /* 2: error */
	CHECK(n == sizeof ran / sizeof ran[0]);
	CHECK(r && r->nsteps == n);
	for (size_t i = 0; r && i < n; i++) {
		if (ran[i] == 1)
			CHECK(r->step_results[i] != NULL && r->step_errors[i] == NULL);
		else if (ran[i] == 2)
			CHECK(r->step_results[i] == NULL && r->step_errors[i] != NULL);
		else
			CHECK(r->step_results[i] == NULL && r->step_errors[i] == NULL);
		if ((ran[i] == 1) != (r->step_results[i] != NULL))
			fprintf(stderr, "  step %zu\n", i);
	}
	if (r && r->step_errors[1]) {
		CHECK_STR(r->step_errors[1]->code, "SQLITE_UNKNOWN");
		CHECK_STR(r->step_errors[1]->message, "SQLite error: no such table: nosuch");
	}
	CHECK(r && r->step_results[0] && r->step_results[0]->affected_row_count == 1);
	CHECK(!r || !r->has_replication_index);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT group_concat(n, ',') FROM (SELECT n FROM log ORDER BY n)", -1, &st, NULL);
	sqlite3_step(st);
	CHECK_STR((const char *)sqlite3_column_text(st, 0), "0,2,4,7,8,11,12,15,17");
	sqlite3_finalize(st);
	CHECK(sqlite3_get_autocommit(db));
	CHECK(exec_is_autocommit(db));
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
#undef STEP
#undef LOGSTEP
}

static void test_batch_check(void)
{
	struct arena a;
	arena_init(&a);
	struct hr_step steps[3];
	memset(steps, 0, sizeof steps);
	for (int i = 0; i < 3; i++)
		steps[i].stmt = S("SELECT 1");
	struct hr_batch b = {steps, 3};
	struct err e = {{0}};
	CHECK(exec_batch_check(&b, 1, &e) == 0);

	steps[0].cond = C_OK(&a, 0);
	CHECK(exec_batch_check(&b, 3, &e) == -1);
	CHECK_STR(e.msg, "Invalid reference to step in a batch condition");
	steps[0].cond = NULL;

	steps[2].cond = C_ERR(&a, 2);
	CHECK(exec_batch_check(&b, 3, &e) == -1);
	steps[2].cond = C_LIST(&a, HR_COND_AND, C_OK(&a, 1), C_NOT(&a, C_ERR(&a, 5)));
	e.msg[0] = 0;
	CHECK(exec_batch_check(&b, 3, &e) == -1);
	CHECK_STR(e.msg, "Invalid reference to step in a batch condition");
	steps[2].cond = C_LIST(&a, HR_COND_OR, C_OK(&a, 0), C_ERR(&a, 1));
	CHECK(exec_batch_check(&b, 3, &e) == 0);

	steps[1].cond = C_NOT(&a, C_AUTO(&a));
	CHECK(exec_batch_check(&b, 3, &e) == 0);
	CHECK(exec_batch_check(&b, 2, &e) == -1);
	CHECK(strstr(e.msg, "is_autocommit") != NULL);
	CHECK(exec_batch_check(&b, 1, NULL) == -1);
	arena_free(&a);
}

static void test_batch_step_kinds_of_error(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	struct hr_value one = VI(1);
	struct hr_step steps[4];
	memset(steps, 0, sizeof steps);
	steps[0].stmt = S("SELECT 1; SELECT 2");
	steps[1].stmt = S("SELECT ?");
	steps[2].stmt = S("SELECT ?");
	steps[2].stmt.args = &one;
	steps[2].stmt.nargs = 1;
	steps[3].stmt = S("");
	struct hr_batch b = {steps, 4};
	struct hr_batch_result *r = NULL;
	struct hr_error e;
	CHECK(exec_batch(db, &b, NULL, &a, &r, &e) == 0);
	if (r) {
		CHECK(r->step_errors[0] && strcmp(r->step_errors[0]->code, "SQL_MANY_STATEMENTS") == 0);
		CHECK(r->step_errors[1] && strcmp(r->step_errors[1]->code, "ARGS_INVALID") == 0);
		CHECK(r->step_results[2] && int_cell(r->step_results[2], 0, 0) == 1);
		CHECK(r->step_errors[3] && strcmp(r->step_errors[3]->code, "SQL_NO_STATEMENT") == 0);
	}
	/* an empty batch */
	b.nsteps = 0;
	CHECK(exec_batch(db, &b, NULL, &a, &r, &e) == 0);
	CHECK(r && r->nsteps == 0);
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

/* ---- sequence, describe ---- */

static void test_sequence(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	struct hr_error e = {0};
	CHECK(exec_sequence(db, "CREATE TABLE s(x); INSERT INTO s VALUES (1);\n-- c\nINSERT INTO s VALUES (2);; SELECT * FROM s",
			    &a, &e) == 0);
	CHECK(scalar(db, "SELECT count(*) FROM s") == 2);
	CHECK(exec_sequence(db, "", &a, &e) == 0);
	CHECK(exec_sequence(db, " ; -- nothing", &a, &e) == 0);

	CHECK(exec_sequence(db, "INSERT INTO s VALUES (3); INSERT INTO nosuch VALUES (1); INSERT INTO s VALUES (4)", &a,
			    &e) == -1);
	CHECK_STR(e.code, "SQLITE_UNKNOWN");
	CHECK_STR(e.message, "SQLite error: no such table: nosuch");
	CHECK(scalar(db, "SELECT count(*) FROM s") == 3);

	CHECK(exec_sequence(db, "INSERT INTO s VALUES (5); SELEC 1", &a, &e) == -1);
	CHECK_STR(e.code, "SQL_INPUT_ERROR");
	CHECK_STR(e.message, "SQL input error: near \"SELEC\": syntax error (at offset 26)");
	CHECK(scalar(db, "SELECT count(*) FROM s") == 4);

	CHECK(exec_sequence(db, "INSERT INTO s VALUES (?)", &a, &e) == -1);
	CHECK_STR(e.code, "ARGS_INVALID");

	sql_ok(db, "CREATE TABLE u(x UNIQUE); INSERT INTO u VALUES (1)");
	CHECK(exec_sequence(db, "INSERT INTO u VALUES (2); INSERT INTO u VALUES (1); INSERT INTO u VALUES (3)", &a,
			    &e) == -1);
	CHECK_STR(e.code, "SQLITE_CONSTRAINT");
	CHECK(sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_UNIQUE);
	CHECK(scalar(db, "SELECT count(*) FROM u") == 2);
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

static void test_describe(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	sql_ok(db, "CREATE TABLE t(a INTEGER, b TEXT)");
	struct hr_describe_result *d = NULL;
	struct hr_error e;
	CHECK(exec_describe(db, "SELECT a, b AS bee, 1 FROM t WHERE a = ? AND b = :name OR a = @x", &a, &d, &e) == 0);
	if (d) {
		CHECK(d->nparams == 3);
		CHECK(d->nparams == 3 && d->params[0].name == NULL);
		CHECK_STR(d->params[1].name, ":name");
		CHECK_STR(d->params[2].name, "@x");
		CHECK(d->ncols == 3);
		CHECK_STR(d->cols[0].name, "a");
		CHECK_STR(d->cols[0].decltype, "INTEGER");
		CHECK_STR(d->cols[1].name, "bee");
		CHECK_STR(d->cols[1].decltype, "TEXT");
		CHECK(d->cols[2].decltype == NULL);
		CHECK(d->is_readonly && !d->is_explain);
	}
	CHECK(exec_describe(db, "INSERT INTO t VALUES (?1, $v)", &a, &d, &e) == 0);
	if (d) {
		CHECK(d->nparams == 2 && d->ncols == 0 && !d->is_readonly && !d->is_explain);
		CHECK_STR(d->params[0].name, "?1");
		CHECK_STR(d->params[1].name, "$v");
	}
	CHECK(exec_describe(db, "EXPLAIN QUERY PLAN SELECT * FROM t", &a, &d, &e) == 0);
	CHECK(d && d->is_explain && d->nparams == 0 && d->ncols == 4);
	/* describe does not run anything */
	CHECK(exec_describe(db, "DELETE FROM t", &a, &d, &e) == 0);
	CHECK(exec_describe(db, "SELEC", &a, &d, &e) == -1 && d == NULL);
	CHECK_STR(e.code, "SQL_INPUT_ERROR");
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

/* ---- cursors ---- */

struct collected {
	struct hr_cursor_entry e[256];
	size_t n;
	int fetches;
};

/* Fetches until done; every fetch must make progress. */
static void drain(struct exec_cursor *c, struct arena *a, uint32_t max_entries, size_t max_bytes,
		  struct collected *out)
{
	bool done = false;
	while (!done && out->fetches < 1000) {
		struct hr_cursor_entry *en = NULL;
		size_t n = 0;
		exec_cursor_fetch(c, a, max_entries, max_bytes, &en, &n, &done);
		out->fetches++;
		CHECK(n <= max_entries);
		CHECK(done || n > 0);
		for (size_t i = 0; i < n && out->n < 256; i++)
			out->e[out->n++] = en[i];
	}
	CHECK(done);
}

static void test_cursor(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	sql_ok(db, "CREATE TABLE c(x INTEGER PRIMARY KEY, t TEXT); INSERT INTO c VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e')");
	struct hr_value v = VS("new");
	struct hr_step steps[8];
	memset(steps, 0, sizeof steps);
	steps[0].stmt = S("SELECT x, t FROM c ORDER BY x");                 /* begin, 5 rows, end */
	steps[1].stmt = S("INSERT INTO c(t) VALUES (?)");                   /* begin, end */
	steps[1].stmt.args = &v;
	steps[1].stmt.nargs = 1;
	steps[2].stmt = S("SELECT nosuch FROM c");                          /* step_error alone */
	steps[3].cond = C_OK(&a, 2);                                        /* skipped */
	steps[3].stmt = S("SELECT 1");
	steps[4].cond = C_ERR(&a, 2);                                       /* begin, 2 rows, error */
	steps[4].stmt = S("SELECT CASE WHEN x < 3 THEN x ELSE abs(x - 9223372036854775807 - 4) END FROM c ORDER BY x");
	steps[5].cond = C_LIST(&a, HR_COND_AND, C_ERR(&a, 4), C_AUTO(&a));  /* begin, 1 row, end */
	steps[5].stmt = S("SELECT count(*) AS n FROM c");
	steps[6].stmt = S("UPDATE c SET t = 'u' WHERE x > 4 RETURNING x"); /* rows not wanted */
	steps[6].stmt.want_rows = false;
	steps[7].cond = C_OK(&a, 3);                                        /* skipped: last step */
	steps[7].stmt = S("SELECT 2");
	struct hr_batch b = {steps, 8};

	struct exec_cursor *c = exec_cursor_open(db, &b);
	struct collected got = {0};
	drain(c, &a, 2, 1 << 20, &got);
	exec_cursor_close(c);

	static const struct {
		enum hr_entry_type t;
		int step;
	} want[] = {
		{HR_ENTRY_STEP_BEGIN, 0}, {HR_ENTRY_ROW, 0}, {HR_ENTRY_ROW, 0}, {HR_ENTRY_ROW, 0},
		{HR_ENTRY_ROW, 0}, {HR_ENTRY_ROW, 0}, {HR_ENTRY_STEP_END, 0},
		{HR_ENTRY_STEP_BEGIN, 1}, {HR_ENTRY_STEP_END, 1},
		{HR_ENTRY_STEP_ERROR, 2},
		{HR_ENTRY_STEP_BEGIN, 4}, {HR_ENTRY_ROW, 4}, {HR_ENTRY_ROW, 4}, {HR_ENTRY_STEP_ERROR, 4},
		{HR_ENTRY_STEP_BEGIN, 5}, {HR_ENTRY_ROW, 5}, {HR_ENTRY_STEP_END, 5},
		{HR_ENTRY_STEP_BEGIN, 6}, {HR_ENTRY_STEP_END, 6},
	};
	size_t nwant = sizeof want / sizeof want[0];
	CHECK(got.n == nwant);
	CHECK(got.fetches == (int)(nwant + 1) / 2);
	for (size_t i = 0; i < nwant && i < got.n; i++) {
		CHECK(got.e[i].type == want[i].t);
		if (got.e[i].type != want[i].t)
			fprintf(stderr, "  entry %zu: type %d, want %d\n", i, got.e[i].type, want[i].t);
		if (want[i].t == HR_ENTRY_STEP_BEGIN || want[i].t == HR_ENTRY_STEP_ERROR)
			CHECK(got.e[i].step == (uint32_t)want[i].step);
	}
	if (got.n == nwant) {
		struct hr_cursor_entry *e = got.e;
		CHECK(e[0].ncols == 2);
		CHECK_STR(e[0].cols[0].name, "x");
		CHECK_STR(e[0].cols[0].decltype, "INTEGER");
		CHECK(e[1].nrow == 2 && e[1].row[0].type == HR_INTEGER && e[1].row[0].i == 1);
		CHECK(e[5].row[1].type == HR_TEXT && strcmp(e[5].row[1].s, "e") == 0);
		CHECK(e[6].affected_row_count == 0 && !e[6].has_last_insert_rowid);
		CHECK(e[7].ncols == 0);
		CHECK(e[8].affected_row_count == 1 && e[8].has_last_insert_rowid && e[8].last_insert_rowid == 6);
		CHECK_STR(e[9].error.code, "SQL_INPUT_ERROR");
		CHECK(e[12].row[0].i == 2);
		CHECK_STR(e[13].error.code, "SQLITE_UNKNOWN");
		CHECK_STR(e[13].error.message, "SQLite error: integer overflow");
		CHECK_STR(e[14].cols[0].name, "n");
		CHECK(e[15].row[0].i == 6);
		CHECK(e[18].affected_row_count == 2 && !e[18].has_last_insert_rowid);
	}
	CHECK(scalar(db, "SELECT count(*) FROM c WHERE t = 'u'") == 2);

	/* one entry per fetch (step 1 added a row to c); done comes with the last entry */
	c = exec_cursor_open(db, &b);
	struct collected one = {0};
	drain(c, &a, 1, 1 << 20, &one);
	exec_cursor_close(c);
	CHECK(one.n == nwant + 1 && one.fetches == (int)nwant + 1);

	/* max_entries 0 makes no progress; closing mid-way finalizes the step */
	c = exec_cursor_open(db, &b);
	struct hr_cursor_entry *en;
	size_t n;
	bool done;
	exec_cursor_fetch(c, &a, 0, 1000, &en, &n, &done);
	CHECK(n == 0 && en == NULL && !done);
	exec_cursor_fetch(c, &a, 3, 1 << 20, &en, &n, &done);
	CHECK(n == 3 && !done && en[0].type == HR_ENTRY_STEP_BEGIN);
	exec_cursor_close(c);
	exec_cursor_close(NULL);

	/* an empty batch and an all-skipped batch are done at once */
	struct hr_batch empty = {NULL, 0};
	c = exec_cursor_open(db, &empty);
	exec_cursor_fetch(c, &a, 10, 1000, &en, &n, &done);
	CHECK(n == 0 && done);
	exec_cursor_close(c);
	struct hr_step skip[2];
	memset(skip, 0, sizeof skip);
	skip[0].cond = C_NOT(&a, C_AUTO(&a));
	skip[0].stmt = S("SELECT 1");
	skip[1].cond = C_OK(&a, 0);
	skip[1].stmt = S("SELECT 2");
	struct hr_batch allskip = {skip, 2};
	c = exec_cursor_open(db, &allskip);
	exec_cursor_fetch(c, &a, 10, 1000, &en, &n, &done);
	CHECK(n == 0 && done);
	exec_cursor_close(c);

	/* the last step's end and done come together */
	struct hr_batch single = {steps, 2};
	c = exec_cursor_open(db, &single);
	struct collected s1 = {0};
	drain(c, &a, 100, 1 << 20, &s1);
	exec_cursor_close(c);
	CHECK(s1.fetches == 1 && s1.n == 11); /* 7 rows by now */
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

/* ---- response size ---- */

static void test_too_large(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	sql_ok(db, "CREATE TABLE big(x); WITH RECURSIVE c(n) AS (VALUES(1) UNION ALL SELECT n+1 FROM c WHERE n < 100)"
		   " INSERT INTO big SELECT randomblob(1000) FROM c");
	struct exec_limits lim = {50 * 1000};
	struct hr_stmt s = S("SELECT x FROM big");
	struct hr_stmt_result *r = NULL;
	struct hr_error e = {0};
	CHECK(exec_stmt(db, &s, &lim, &a, &r, &e) == -1 && r == NULL);
	CHECK_STR(e.code, "RESPONSE_TOO_LARGE");
	CHECK_STR(e.message, "Response is too large");
	/* the same without rows, or with a bigger limit, passes */
	s.want_rows = false;
	CHECK(exec_stmt(db, &s, &lim, &a, &r, &e) == 0 && r && r->nrows == 0 && r->rows_read == 100);
	s.want_rows = true;
	lim.max_response_size = 1000 * 1000;
	CHECK(exec_stmt(db, &s, &lim, &a, &r, &e) == 0 && r && r->nrows == 100);
	lim.max_response_size = 0; /* unlimited */
	CHECK(exec_stmt(db, &s, &lim, &a, &r, &e) == 0 && r && r->nrows == 100);

	/* batch: each step fits, the sum does not */
	struct hr_step steps[3];
	memset(steps, 0, sizeof steps);
	steps[0].stmt = S("SELECT x FROM big LIMIT 30");
	steps[1].stmt = S("SELECT x FROM big LIMIT 30");
	steps[2].stmt = S("SELECT x FROM big LIMIT 30");
	struct hr_batch b = {steps, 3};
	struct hr_batch_result *br = NULL;
	lim.max_response_size = 50 * 1000;
	CHECK(exec_batch(db, &b, &lim, &a, &br, &e) == -1 && br == NULL);
	CHECK_STR(e.code, "RESPONSE_TOO_LARGE");
	b.nsteps = 1;
	CHECK(exec_batch(db, &b, &lim, &a, &br, &e) == 0 && br && br->step_results[0]);

	/* cursor: splits by max_bytes instead of failing */
	steps[0].stmt = S("SELECT x FROM big");
	struct exec_cursor *c = exec_cursor_open(db, &b);
	struct arena fa;
	arena_init(&fa);
	bool done = false;
	int fetches = 0;
	size_t rows = 0;
	while (!done && fetches < 500) {
		struct hr_cursor_entry *en;
		size_t n;
		exec_cursor_fetch(c, &fa, 1000, 10 * 1000, &en, &n, &done);
		fetches++;
		CHECK(n >= 1 || done);
		size_t nrow = 0;
		for (size_t i = 0; i < n; i++)
			nrow += en[i].type == HR_ENTRY_ROW;
		CHECK(nrow <= 8); /* 10 KB of ~1.4 KB rows, plus the one passing the mark */
		rows += nrow;
		arena_free(&fa);
	}
	exec_cursor_close(c);
	CHECK(done && rows == 100 && fetches >= 13);

	/* a single entry bigger than max_bytes still comes through */
	c = exec_cursor_open(db, &b);
	struct collected tiny = {0};
	drain(c, &fa, 1000, 1, &tiny);
	exec_cursor_close(c);
	CHECK(tiny.n == 102 && tiny.fetches == 102);
	arena_free(&fa);
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

static void test_cursor_utf8_and_interrupt(void)
{
	sqlite3 *db = open_db();
	struct arena a;
	arena_init(&a);
	struct hr_step steps[2];
	memset(steps, 0, sizeof steps);
	steps[0].stmt = S("SELECT 'ok' UNION ALL SELECT CAST(x'ff' AS TEXT)");
	steps[1].cond = C_ERR(&a, 0);
	steps[1].stmt = S("SELECT 2");
	struct hr_batch b = {steps, 2};
	struct exec_cursor *c = exec_cursor_open(db, &b);
	struct collected got = {0};
	drain(c, &a, 100, 1 << 20, &got);
	exec_cursor_close(c);
	CHECK(got.n == 6);
	if (got.n == 6) {
		CHECK(got.e[0].type == HR_ENTRY_STEP_BEGIN && got.e[1].type == HR_ENTRY_ROW);
		CHECK(got.e[2].type == HR_ENTRY_STEP_ERROR && strcmp(got.e[2].error.code, "SQLITE_MISMATCH") == 0);
		CHECK(got.e[3].type == HR_ENTRY_STEP_BEGIN && got.e[3].step == 1);
		CHECK(got.e[5].type == HR_ENTRY_STEP_END);
	}
	/* an interrupt inside a cursor step */
	sqlite3_progress_handler(db, 1, interrupt_now, NULL);
	steps[0].stmt = S("WITH RECURSIVE c(n) AS (VALUES(1) UNION ALL SELECT n+1 FROM c) SELECT count(*) FROM c");
	c = exec_cursor_open(db, &b);
	struct collected intr = {0};
	drain(c, &a, 100, 1 << 20, &intr);
	exec_cursor_close(c);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	CHECK(intr.n >= 2 && intr.e[1].type == HR_ENTRY_STEP_ERROR);
	if (intr.n >= 2 && intr.e[1].type == HR_ENTRY_STEP_ERROR)
		CHECK_STR(intr.e[1].error.code, "SQLITE_INTERRUPT");
	arena_free(&a);
	exec_forget(db);
	sqlite3_close(db);
}

int main(void)
{
	T_RUN(test_kind);
	T_RUN(test_values_roundtrip);
	T_RUN(test_invalid_utf8);
	T_RUN(test_bind_positional);
	T_RUN(test_bind_named);
	T_RUN(test_bind_errors);
	T_RUN(test_statement_count);
	T_RUN(test_prepare_errors);
	T_RUN(test_step_errors);
	T_RUN(test_affected_and_rowid);
	T_RUN(test_batch_conditions);
	T_RUN(test_batch_check);
	T_RUN(test_batch_step_kinds_of_error);
	T_RUN(test_sequence);
	T_RUN(test_describe);
	T_RUN(test_cursor);
	T_RUN(test_too_large);
	T_RUN(test_cursor_utf8_and_interrupt);
	return T_DONE();
}
