/* cl_integ: the C side of the client integration tests
 * (tests/integ/client_api.test.mjs starts a real sqld and runs this).
 *
 *   cl_integ remote URL          every API function on a REMOTE connection
 *   cl_integ replica PATH URL    routing, read-your-writes, transactions and
 *                                sync on an embedded replica of URL at PATH
 *   cl_integ auth PATH WS_URL RW_TOKEN RO_TOKEN   tokens and a JWT-protected
 *                                sqld: remote (ws, http) and replica
 *   cl_integ offline PATH URL    the replica at PATH with its primary down:
 *                                open and local reads work, sync fails clearly
 *
 * Prints failures on stderr and "N passed, N failed" on stdout (t.h). */
#include "t.h"
#include <sqlite3.h>
#include <sqlwire.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *url, *path;

static long long one_int(sqlwire *db, const char *sql)
{
	sqlwire_stmt *st = NULL;
	long long v = -999;
	int rc = sqlwire_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLWIRE_OK && (rc = sqlwire_step(st)) == SQLWIRE_ROW)
		v = sqlwire_column_int64(st, 0);
	else
		fprintf(stderr, "one_int(%s): %d %s\n", sql, rc, sqlwire_errmsg(db));
	sqlwire_finalize(st);
	return v;
}

/* the count straight from the replica file, through SQLite */
static long long file_count(const char *sql)
{
	sqlite3 *sq;
	long long v = -999;
	if (sqlite3_open_v2(path, &sq, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_stmt *st;
		int rc = sqlite3_prepare_v2(sq, sql, -1, &st, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		else
			fprintf(stderr, "file_count(%s): %d %s\n", sql, rc, sqlite3_errmsg(sq));
		sqlite3_finalize(st);
	}
	sqlite3_close(sq);
	return v;
}

static int nfreed;
static void count_free(void *p)
{
	nfreed++;
	free(p);
}

static int cb_rows;
static int cb(void *arg, int n, char **vals, char **names)
{
	(void)arg;
	cb_rows++;
	CHECK(n == 2);
	CHECK_STR(names[0], "a");
	CHECK(vals[1] == NULL || strlen(vals[1]) > 0);
	return cb_rows == 3; /* stop at the third row */
}

/* ---------------- REMOTE ---------------- */

static sqlwire *rdb;

static void r_open(void)
{
	CHECK(sqlwire_open_v2(url, &rdb, SQLWIRE_OPEN_READWRITE, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_errcode(rdb) == SQLWIRE_OK);
	CHECK(sqlwire_busy_timeout(rdb, 100) == SQLWIRE_OK);
	CHECK(sqlwire_exec(rdb,
			   "DROP TABLE IF EXISTS t; CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT UNIQUE, v REAL, b BLOB)",
			   NULL, NULL, NULL) == SQLWIRE_OK);
}

static void r_bind_and_columns(void)
{
	sqlwire_stmt *st = NULL;
	const char *tail = NULL;
	/* (named and ?NNN parameters cannot be mixed on a remote statement: the
	 * Hrana server binds either positional or named arguments) */
	const char *sql = "INSERT INTO t(id, name, v, b) VALUES(:id, :name, @v, $b); SELECT 1";
	CHECK(sqlwire_prepare_v2(rdb, sql, -1, &st, &tail) == SQLWIRE_OK);
	CHECK_STR(tail, " SELECT 1");
	CHECK(sqlwire_stmt_readonly(st) == 0);
	CHECK(sqlwire_bind_parameter_count(st) == 4);
	CHECK(sqlwire_bind_parameter_index(st, ":name") == 2);
	CHECK(sqlwire_bind_parameter_index(st, "$b") == 4);
	CHECK(sqlwire_bind_parameter_index(st, ":nope") == 0);
	CHECK_STR(sqlwire_bind_parameter_name(st, 3), "@v");
	CHECK_STR(sqlwire_bind_parameter_name(st, 1), ":id");
	nfreed = 0;
	CHECK(sqlwire_bind_int(st, 1, 1) == SQLWIRE_OK);
	CHECK(sqlwire_bind_text(st, 2, strdup("one"), -1, count_free) == SQLWIRE_OK);
	CHECK(nfreed == 1); /* the destructor ran once the value was copied */
	CHECK(sqlwire_bind_double(st, 3, 1.5) == SQLWIRE_OK);
	CHECK(sqlwire_bind_blob(st, 4, "\x00\x01\x02", 3, SQLWIRE_TRANSIENT) == SQLWIRE_OK);
	CHECK(sqlwire_step(st) == SQLWIRE_DONE);
	CHECK(sqlwire_changes(rdb) == 1 && sqlwire_changes64(rdb) == 1);
	CHECK(sqlwire_last_insert_rowid(rdb) == 1);
	CHECK(sqlwire_reset(st) == SQLWIRE_OK);
	CHECK(sqlwire_bind_int64(st, 1, 2) == SQLWIRE_OK);
	CHECK(sqlwire_bind_text64(st, 2, "twoXX", 3, SQLWIRE_STATIC, SQLWIRE_UTF8) == SQLWIRE_OK);
	CHECK(sqlwire_bind_null(st, 3) == SQLWIRE_OK);
	CHECK(sqlwire_bind_zeroblob(st, 4, 5) == SQLWIRE_OK);
	CHECK(sqlwire_step(st) == SQLWIRE_DONE);
	CHECK(sqlwire_reset(st) == SQLWIRE_OK);
	CHECK(sqlwire_bind_int64(st, 1, INT64_MAX) == SQLWIRE_OK);
	CHECK(sqlwire_bind_text(st, 2, "12abc", -1, SQLWIRE_STATIC) == SQLWIRE_OK);
	CHECK(sqlwire_bind_double(st, 3, 1e20) == SQLWIRE_OK);
	CHECK(sqlwire_bind_blob64(st, 4, "xyz", 3, SQLWIRE_STATIC) == SQLWIRE_OK);
	CHECK(sqlwire_step(st) == SQLWIRE_DONE);
	CHECK(sqlwire_last_insert_rowid(rdb) == INT64_MAX);
	CHECK(sqlwire_reset(st) == SQLWIRE_OK);
	CHECK(sqlwire_clear_bindings(st) == SQLWIRE_OK);
	CHECK(sqlwire_bind_int(st, 1, 3) == SQLWIRE_OK);
	CHECK(sqlwire_bind_zeroblob64(st, 4, 0) == SQLWIRE_OK);
	CHECK(sqlwire_step(st) == SQLWIRE_DONE); /* name and v NULL after clear_bindings */
	CHECK(sqlwire_total_changes(rdb) >= 4 && sqlwire_total_changes64(rdb) >= 4);
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK);

	CHECK(sqlwire_prepare_v2(rdb, "SELECT id, name, v, b, v * 2 AS dbl FROM t ORDER BY id", -1, &st, NULL) ==
	      SQLWIRE_OK);
	CHECK(sqlwire_stmt_readonly(st) == 1);
	CHECK(sqlwire_step(st) == SQLWIRE_ROW);
	CHECK(sqlwire_stmt_busy(st) == 1);
	CHECK(sqlwire_column_count(st) == 5 && sqlwire_data_count(st) == 5);
	CHECK_STR(sqlwire_column_name(st, 4), "dbl");
	CHECK(sqlwire_column_name(st, 5) == NULL);
	const char *dt = sqlwire_column_decltype(st, 1);
	CHECK(dt == NULL || strcmp(dt, "TEXT") == 0);
	CHECK(sqlwire_column_type(st, 0) == SQLWIRE_INTEGER && sqlwire_column_int(st, 0) == 1);
	CHECK_STR((const char *)sqlwire_column_text(st, 0), "1");
	CHECK_STR((const char *)sqlwire_column_text(st, 1), "one");
	CHECK(sqlwire_column_bytes(st, 1) == 3);
	CHECK(sqlwire_column_type(st, 2) == SQLWIRE_FLOAT && sqlwire_column_double(st, 2) == 1.5);
	CHECK_STR((const char *)sqlwire_column_text(st, 2), "1.5");
	CHECK(sqlwire_column_int(st, 2) == 1);
	CHECK(sqlwire_column_type(st, 3) == SQLWIRE_BLOB && sqlwire_column_bytes(st, 3) == 3);
	CHECK(sqlwire_column_blob(st, 3) && memcmp(sqlwire_column_blob(st, 3), "\x00\x01\x02", 3) == 0);
	CHECK(sqlwire_column_double(st, 4) == 3.0);
	CHECK_STR((const char *)sqlwire_column_text(st, 4), "3.0");
	CHECK(sqlwire_step(st) == SQLWIRE_ROW);
	CHECK(sqlwire_column_int64(st, 0) == 2);
	CHECK_STR((const char *)sqlwire_column_text(st, 1), "two");
	CHECK(sqlwire_column_type(st, 2) == SQLWIRE_NULL && sqlwire_column_text(st, 2) == NULL);
	CHECK(sqlwire_column_double(st, 2) == 0.0);
	CHECK(sqlwire_column_bytes(st, 3) == 5 && sqlwire_column_blob(st, 3) &&
	      memcmp(sqlwire_column_blob(st, 3), "\0\0\0\0\0", 5) == 0);
	CHECK(sqlwire_step(st) == SQLWIRE_ROW);
	CHECK(sqlwire_column_int64(st, 0) == 3);
	CHECK(sqlwire_column_type(st, 1) == SQLWIRE_NULL);
	CHECK(sqlwire_column_blob(st, 3) == NULL && sqlwire_column_bytes(st, 3) == 0); /* zero-length blob */
	CHECK(sqlwire_step(st) == SQLWIRE_ROW);
	CHECK(sqlwire_column_int64(st, 0) == INT64_MAX);
	CHECK(sqlwire_column_int(st, 1) == 12); /* text "12abc" as an integer */
	CHECK_STR((const char *)sqlwire_column_text(st, 2), "1.0e+20");
	CHECK(sqlwire_column_int64(st, 2) == INT64_MAX); /* saturates */
	CHECK(sqlwire_step(st) == SQLWIRE_DONE);
	CHECK(sqlwire_stmt_busy(st) == 0);
	CHECK(sqlwire_data_count(st) == 0);
	/* a further step restarts, as SQLite */
	CHECK(sqlwire_step(st) == SQLWIRE_ROW && sqlwire_column_int(st, 0) == 1);
	CHECK_STR(sqlwire_sql(st), "SELECT id, name, v, b, v * 2 AS dbl FROM t ORDER BY id");
	CHECK(sqlwire_db_handle(st) == rdb);
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK);

	/* many rows (the server may page them) */
	CHECK(one_int(rdb, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000) "
			   "SELECT sum(x) FROM c") == 12502500);
	CHECK(sqlwire_prepare_v2(rdb,
				 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) SELECT x FROM c",
				 -1, &st, NULL) == SQLWIRE_OK);
	long long n = 0, sum = 0;
	while (sqlwire_step(st) == SQLWIRE_ROW) {
		n++;
		sum += sqlwire_column_int64(st, 0);
	}
	CHECK(n == 3000 && sum == 4501500);
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK);
}

static void r_errors(void)
{
	sqlwire_stmt *st = NULL;
	/* a syntax error: at prepare or at the first step */
	int rc = sqlwire_prepare_v2(rdb, "SELEC 1", -1, &st, NULL);
	if (rc == SQLWIRE_OK)
		rc = sqlwire_step(st);
	CHECK(rc == SQLWIRE_ERROR);
	CHECK(sqlwire_errcode(rdb) == SQLWIRE_ERROR);
	CHECK(strstr(sqlwire_errmsg(rdb), "syntax error") != NULL);
	sqlwire_finalize(st);
	st = NULL;
	/* unknown table */
	rc = sqlwire_prepare_v2(rdb, "SELECT * FROM nope", -1, &st, NULL);
	if (rc == SQLWIRE_OK)
		rc = sqlwire_step(st);
	CHECK(rc == SQLWIRE_ERROR);
	CHECK(strstr(sqlwire_errmsg(rdb), "no such table: nope") != NULL);
	sqlwire_finalize(st);
	/* a constraint: primary code from step, extended code from the server */
	CHECK(sqlwire_prepare_v2(rdb, "INSERT INTO t(name) VALUES('one')", -1, &st, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_step(st) == SQLWIRE_CONSTRAINT);
	CHECK(sqlwire_errcode(rdb) == SQLWIRE_CONSTRAINT);
	CHECK(sqlwire_extended_errcode(rdb) == SQLWIRE_CONSTRAINT_UNIQUE);
	CHECK(strstr(sqlwire_errmsg(rdb), "UNIQUE constraint failed: t.name") != NULL);
	CHECK(sqlwire_reset(st) == SQLWIRE_CONSTRAINT);
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK);
	/* with extended result codes, step returns the extended code */
	CHECK(sqlwire_extended_result_codes(rdb, 1) == SQLWIRE_OK);
	char *msg = NULL;
	/* (sqld sends only the primary code; the extended one is derived from
	 * the message, which says UNIQUE also for a rowid primary key) */
	int rc2 = sqlwire_exec(rdb, "INSERT INTO t(id) VALUES(1)", NULL, NULL, &msg);
	CHECK(rc2 == SQLWIRE_CONSTRAINT_PRIMARYKEY || rc2 == SQLWIRE_CONSTRAINT_UNIQUE);
	CHECK(msg != NULL && strstr(msg, "UNIQUE constraint failed: t.id") != NULL);
	sqlwire_free(msg);
	CHECK(sqlwire_extended_result_codes(rdb, 0) == SQLWIRE_OK);
	/* the connection keeps working after errors */
	CHECK(one_int(rdb, "SELECT count(*) FROM t") == 4);
}

static void r_transactions_exec(void)
{
	CHECK(sqlwire_get_autocommit(rdb) == 1);
	CHECK(sqlwire_exec(rdb, "BEGIN", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_get_autocommit(rdb) == 0);
	CHECK(sqlwire_exec(rdb, "INSERT INTO t(name) VALUES('tx')", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(one_int(rdb, "SELECT count(*) FROM t") == 5); /* sees its own write */
	/* another connection does not */
	sqlwire *other = NULL;
	CHECK(sqlwire_open(url, &other) == SQLWIRE_OK);
	CHECK(one_int(other, "SELECT count(*) FROM t") == 4);
	CHECK(sqlwire_close(other) == SQLWIRE_OK);
	CHECK(sqlwire_exec(rdb, "ROLLBACK", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_get_autocommit(rdb) == 1);
	CHECK(one_int(rdb, "SELECT count(*) FROM t") == 4);
	CHECK(sqlwire_exec(rdb, "BEGIN; INSERT INTO t(name) VALUES('c1'); COMMIT", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(one_int(rdb, "SELECT count(*) FROM t") == 5);

	cb_rows = 0;
	char *msg = (char *)1;
	CHECK(sqlwire_exec(rdb, "SELECT id AS a, name FROM t ORDER BY id LIMIT 2", cb, NULL, &msg) == SQLWIRE_OK);
	CHECK(msg == NULL && cb_rows == 2);
	cb_rows = 0;
	CHECK(sqlwire_exec(rdb, "SELECT id AS a, name FROM t ORDER BY id", cb, NULL, &msg) == SQLWIRE_ABORT);
	CHECK(cb_rows == 3);
	CHECK_STR(msg, "query aborted");
	sqlwire_free(msg);
	CHECK(sqlwire_exec(rdb, "SELECT 1; SELECT * FROM nope", NULL, NULL, &msg) == SQLWIRE_ERROR);
	CHECK(msg && strstr(msg, "no such table") != NULL);
	sqlwire_free(msg);
}

static void r_close(void)
{
	sqlwire_stmt *st = NULL;
	CHECK(sqlwire_prepare_v2(rdb, "SELECT 1", -1, &st, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_close(rdb) == SQLWIRE_BUSY);
	CHECK(sqlwire_errcode(rdb) == SQLWIRE_BUSY);
	CHECK(sqlwire_close_v2(rdb) == SQLWIRE_OK);
	CHECK(sqlwire_step(st) == SQLWIRE_ROW && sqlwire_column_int(st, 0) == 1);
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK); /* frees the zombie */
	/* a URL nothing listens on */
	sqlwire *db = NULL;
	CHECK(sqlwire_open("ws://127.0.0.1:1", &db) == SQLWIRE_CANTOPEN);
	CHECK(db != NULL && sqlwire_errcode(db) == SQLWIRE_CANTOPEN);
	sqlwire_close(db);
}

/* ---------------- REPLICA ---------------- */

static sqlwire *pdb;

static void p_open_and_route(void)
{
	sqlwire_config cfg;
	sqlwire_config_init(&cfg);
	cfg.sync_url = url;
	CHECK(sqlwire_open_config(path, &pdb, SQLWIRE_OPEN_READWRITE | SQLWIRE_OPEN_CREATE, &cfg) == SQLWIRE_OK);
	sqlwire_sync_info info;
	CHECK(sqlwire_sync(pdb, &info) == SQLWIRE_OK);
	/* a table that exists only on the primary so far: prepared there */
	CHECK(sqlwire_exec(pdb, "CREATE TABLE r(id INTEGER PRIMARY KEY, v TEXT)", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_exec(pdb, "INSERT INTO r(v) VALUES('a')", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_changes(pdb) == 1);
	CHECK(sqlwire_last_insert_rowid(pdb) == 1);
	/* read-your-writes: the read runs locally and already sees the row */
	CHECK(one_int(pdb, "SELECT count(*) FROM r") == 1);
	CHECK(file_count("SELECT count(*) FROM r") == 1); /* the replica file has it */
	CHECK(sqlwire_sync_position(pdb, &info) == SQLWIRE_OK);
	CHECK(info.has_frame && info.frame_no > 0);
	/* a read-only statement runs locally: it is prepared and steps with no primary round trip */
	sqlwire_stmt *st = NULL;
	CHECK(sqlwire_prepare_v2(pdb, "SELECT v FROM r WHERE id = ?", -1, &st, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_stmt_readonly(st) == 1);
	CHECK(sqlwire_bind_int(st, 1, 1) == SQLWIRE_OK);
	CHECK(sqlwire_step(st) == SQLWIRE_ROW);
	CHECK_STR((const char *)sqlwire_column_text(st, 0), "a");
	CHECK(sqlwire_column_type(st, 0) == SQLWIRE_TEXT);
	CHECK_STR(sqlwire_column_decltype(st, 0), "TEXT"); /* local statements know it */
	CHECK(sqlwire_step(st) == SQLWIRE_DONE);
	/* many writes, each visible to the next read */
	sqlwire_stmt *ins = NULL;
	CHECK(sqlwire_prepare_v2(pdb, "INSERT INTO r(v) VALUES(?)", -1, &ins, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_stmt_readonly(ins) == 0);
	for (int i = 0; i < 20; i++) {
		char v[16];
		snprintf(v, sizeof v, "w%d", i);
		CHECK(sqlwire_bind_text(ins, 1, v, -1, SQLWIRE_TRANSIENT) == SQLWIRE_OK);
		CHECK(sqlwire_step(ins) == SQLWIRE_DONE);
		CHECK(sqlwire_reset(ins) == SQLWIRE_OK);
		CHECK(sqlwire_reset(st) == SQLWIRE_OK);
		CHECK(sqlwire_bind_int64(st, 1, sqlwire_last_insert_rowid(pdb)) == SQLWIRE_OK);
		CHECK(sqlwire_step(st) == SQLWIRE_ROW);
		CHECK_STR((const char *)sqlwire_column_text(st, 0), v);
	}
	CHECK(sqlwire_finalize(ins) == SQLWIRE_OK);
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK);
	CHECK(one_int(pdb, "SELECT count(*) FROM r") == 21);
}

static void p_transactions(void)
{
	CHECK(sqlwire_get_autocommit(pdb) == 1);
	/* prepared before the transaction, stepped inside it */
	sqlwire_stmt *cnt = NULL;
	CHECK(sqlwire_prepare_v2(pdb, "SELECT count(*) FROM r WHERE v >= ?", -1, &cnt, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_bind_text(cnt, 1, "", 0, SQLWIRE_STATIC) == SQLWIRE_OK);
	CHECK(sqlwire_exec(pdb, "BEGIN", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_get_autocommit(pdb) == 0);
	CHECK(sqlwire_exec(pdb, "INSERT INTO r(v) VALUES('in-tx')", NULL, NULL, NULL) == SQLWIRE_OK);
	/* inside the transaction reads go to the primary and see its writes */
	CHECK(one_int(pdb, "SELECT count(*) FROM r") == 22);
	CHECK(sqlwire_step(cnt) == SQLWIRE_ROW && sqlwire_column_int(cnt, 0) == 22);
	CHECK(sqlwire_reset(cnt) == SQLWIRE_OK);
	CHECK(file_count("SELECT count(*) FROM r") == 21); /* the replica does not have it */
	CHECK(sqlwire_exec(pdb, "ROLLBACK", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_get_autocommit(pdb) == 1);
	CHECK(one_int(pdb, "SELECT count(*) FROM r") == 21);
	CHECK(sqlwire_step(cnt) == SQLWIRE_ROW && sqlwire_column_int(cnt, 0) == 21); /* local again */
	CHECK(sqlwire_reset(cnt) == SQLWIRE_OK);
	CHECK(sqlwire_exec(pdb, "BEGIN; INSERT INTO r(v) VALUES('c'); INSERT INTO r(v) VALUES('d'); COMMIT", NULL, NULL,
			   NULL) == SQLWIRE_OK);
	CHECK(sqlwire_step(cnt) == SQLWIRE_ROW && sqlwire_column_int(cnt, 0) == 23);
	CHECK(sqlwire_finalize(cnt) == SQLWIRE_OK);
	/* errors from the primary keep their codes */
	CHECK(sqlwire_exec(pdb, "INSERT INTO r(id, v) VALUES(1, 'dup')", NULL, NULL, NULL) == SQLWIRE_CONSTRAINT);
	CHECK((sqlwire_extended_errcode(pdb) & 0xff) == SQLWIRE_CONSTRAINT);
	/* a syntax error is found locally */
	CHECK(sqlwire_exec(pdb, "SELEC 1", NULL, NULL, NULL) == SQLWIRE_ERROR);
	CHECK(strstr(sqlwire_errmsg(pdb), "syntax error") != NULL);
	CHECK(one_int(pdb, "SELECT 40 + 2") == 42);
}

static void p_sync_and_others(void)
{
	/* a second connection, with read_your_writes off, catches up by sync */
	sqlwire *p2 = NULL;
	char uri[1024];
	snprintf(uri, sizeof uri, "file:%s?sync_url=%s&read_your_writes=0", path, url);
	CHECK(sqlwire_open_v2(uri, &p2, SQLWIRE_OPEN_READWRITE | SQLWIRE_OPEN_URI, NULL) == SQLWIRE_OK);
	CHECK(one_int(p2, "SELECT count(*) FROM r") == 23);
	/* a write through a plain remote connection: the replica sees it after sync */
	sqlwire *rem = NULL;
	CHECK(sqlwire_open(url, &rem) == SQLWIRE_OK);
	CHECK(sqlwire_exec(rem, "INSERT INTO r(v) VALUES('from-elsewhere')", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_close(rem) == SQLWIRE_OK);
	CHECK(one_int(p2, "SELECT count(*) FROM r") == 23);
	sqlwire_sync_info info, before;
	CHECK(sqlwire_sync_position(p2, &before) == SQLWIRE_OK);
	CHECK(sqlwire_sync(p2, &info) == SQLWIRE_OK);
	CHECK(info.has_frame && info.frame_no > before.frame_no && info.frames_applied >= 1);
	CHECK(one_int(p2, "SELECT count(*) FROM r") == 24);
	CHECK(one_int(pdb, "SELECT count(*) FROM r") == 24); /* same file */
	CHECK(sqlwire_sync_until(p2, info.frame_no, 1000) == SQLWIRE_OK);
	CHECK(sqlwire_sync(p2, &info) == SQLWIRE_OK && info.frames_applied == 0);
	CHECK(sqlwire_close(p2) == SQLWIRE_OK);

	/* a read-only replica connection refuses writes like SQLite */
	sqlwire_config cfg;
	sqlwire_config_init(&cfg);
	cfg.sync_url = url;
	sqlwire *ro = NULL;
	CHECK(sqlwire_open_config(path, &ro, SQLWIRE_OPEN_READONLY, &cfg) == SQLWIRE_OK);
	CHECK(sqlwire_exec(ro, "INSERT INTO r(v) VALUES('no')", NULL, NULL, NULL) == SQLWIRE_READONLY);
	CHECK(one_int(ro, "SELECT count(*) FROM r") == 24);
	CHECK(sqlwire_close(ro) == SQLWIRE_OK);

	/* without SQLWIRE_OPEN_CREATE a missing replica file is not created, as in SQLite */
	char missing[600];
	snprintf(missing, sizeof missing, "%s-missing", path);
	sqlwire *mdb = NULL;
	CHECK(sqlwire_open_config(missing, &mdb, SQLWIRE_OPEN_READWRITE, &cfg) == SQLWIRE_CANTOPEN);
	CHECK(sqlwire_errcode(mdb) == SQLWIRE_CANTOPEN);
	sqlwire_close(mdb);
	CHECK(access(missing, F_OK) != 0);

	/* sync on a non-replica */
	sqlwire *loc = NULL;
	CHECK(sqlwire_open(":memory:", &loc) == SQLWIRE_OK);
	CHECK(sqlwire_sync(loc, &info) == SQLWIRE_MISUSE);
	sqlwire_close(loc);

	/* the replica is a plain SQLite database */
	CHECK(file_count("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'") == 1);
	CHECK(sqlwire_close(pdb) == SQLWIRE_OK);
}

/* follow mode and the interval thread: a write made elsewhere shows up in
 * the replica without any sqlwire_sync call */
static void p_follow_and_interval(void)
{
	static const char *const params[] = {"follow=1", "sync_interval_ms=50"};
	for (int k = 0; k < 2; k++) {
		char uri[1024];
		snprintf(uri, sizeof uri, "file:%s?sync_url=%s&%s", path, url, params[k]);
		sqlwire *p = NULL;
		CHECK(sqlwire_open_v2(uri, &p, SQLWIRE_OPEN_READWRITE | SQLWIRE_OPEN_URI, NULL) == SQLWIRE_OK);
		long long before = one_int(p, "SELECT count(*) FROM r");
		sqlwire *rem = NULL;
		CHECK(sqlwire_open(url, &rem) == SQLWIRE_OK);
		CHECK(sqlwire_exec(rem, "INSERT INTO r(v) VALUES('pushed')", NULL, NULL, NULL) == SQLWIRE_OK);
		CHECK(sqlwire_close(rem) == SQLWIRE_OK);
		long long now = before;
		for (int i = 0; i < 1000 && now == before; i++) { /* up to 10 s */
			usleep(10000);
			now = one_int(p, "SELECT count(*) FROM r");
		}
		if (now != before + 1)
			fprintf(stderr, "%s: %lld -> %lld\n", params[k], before, now);
		CHECK(now == before + 1);
		CHECK(sqlwire_close(p) == SQLWIRE_OK);
	}
}

/* one replica connection shared by threads: each writes through it and
 * reads its own rows back (serialised inside the library) */
static sqlwire *shared;
static void *p_thread(void *arg)
{
	long id = (long)arg;
	int bad = 0;
	sqlwire_stmt *ins = NULL, *sel = NULL;
	if (sqlwire_prepare_v2(shared, "INSERT INTO th(t, n) VALUES(?, ?)", -1, &ins, NULL) != SQLWIRE_OK ||
	    sqlwire_prepare_v2(shared, "SELECT count(*) FROM th WHERE t = ?", -1, &sel, NULL) != SQLWIRE_OK)
		bad++;
	for (int i = 0; i < 20 && !bad; i++) {
		sqlwire_bind_int64(ins, 1, id);
		sqlwire_bind_int(ins, 2, i);
		if (sqlwire_step(ins) != SQLWIRE_DONE)
			bad++;
		sqlwire_reset(ins);
		sqlwire_bind_int64(sel, 1, id);
		if (sqlwire_step(sel) != SQLWIRE_ROW || sqlwire_column_int(sel, 0) < i + 1)
			bad++;
		sqlwire_reset(sel);
	}
	sqlwire_finalize(ins);
	sqlwire_finalize(sel);
	return (void *)(long)bad;
}

static void p_threads(void)
{
	sqlwire_config cfg;
	sqlwire_config_init(&cfg);
	cfg.sync_url = url;
	CHECK(sqlwire_open_config(path, &shared, SQLWIRE_OPEN_READWRITE, &cfg) == SQLWIRE_OK);
	CHECK(sqlwire_exec(shared, "CREATE TABLE th(t INTEGER, n INTEGER)", NULL, NULL, NULL) == SQLWIRE_OK);
	pthread_t th[4];
	for (long i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, p_thread, (void *)i) == 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		CHECK(r == NULL);
	}
	CHECK(one_int(shared, "SELECT count(*) FROM th") == 80);
	CHECK(sqlwire_close(shared) == SQLWIRE_OK);
}

static void offline(void)
{
	sqlwire_config cfg;
	sqlwire_config_init(&cfg);
	cfg.sync_url = url;
	cfg.timeout_ms = 2000;
	sqlwire *db = NULL;
	CHECK(sqlwire_open_config(path, &db, SQLWIRE_OPEN_READWRITE | SQLWIRE_OPEN_CREATE, &cfg) == SQLWIRE_OK);
	CHECK(one_int(db, "SELECT count(*) FROM r") == 26);
	sqlwire_sync_info info;
	int rc = sqlwire_sync(db, &info);
	CHECK(rc == SQLWIRE_IOERR);
	CHECK(strstr(sqlwire_errmsg(db), "sync") != NULL);
	fprintf(stderr, "offline sync error (expected): %s\n", sqlwire_errmsg(db));
	/* local reads still work after the failed sync */
	CHECK(one_int(db, "SELECT count(*) FROM r WHERE v = 'a'") == 1);
	/* a write needs the primary */
	rc = sqlwire_exec(db, "INSERT INTO r(v) VALUES('x')", NULL, NULL, NULL);
	CHECK(rc != SQLWIRE_OK);
	fprintf(stderr, "offline write error (expected): %d %s\n", rc, sqlwire_errmsg(db));
	CHECK(sqlwire_sync_position(db, &info) == SQLWIRE_OK && info.has_frame);
	CHECK(sqlwire_close(db) == SQLWIRE_OK);
}

/* read-your-writes when the primary dies right after a write: the next read
 * reports that it cannot see the write, once; later reads use the replica */
static pid_t primary_pid;
static void ryw_down(void)
{
	sqlwire_config cfg;
	sqlwire_config_init(&cfg);
	cfg.sync_url = url;
	cfg.timeout_ms = 2000;
	sqlwire *db = NULL;
	CHECK(sqlwire_open_config(path, &db, SQLWIRE_OPEN_READWRITE | SQLWIRE_OPEN_CREATE, &cfg) == SQLWIRE_OK);
	CHECK(sqlwire_exec(db, "CREATE TABLE d(x)", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_exec(db, "INSERT INTO d VALUES(1)", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(one_int(db, "SELECT count(*) FROM d") == 1); /* synced */
	CHECK(sqlwire_exec(db, "INSERT INTO d VALUES(2)", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(kill(primary_pid, SIGKILL) == 0);
	sqlwire *probe = NULL;
	for (int i = 0; i < 500; i++) { /* until the primary is gone */
		int rc = sqlwire_open(url, &probe);
		sqlwire_close(probe);
		if (rc != SQLWIRE_OK)
			break;
		usleep(10000);
	}
	sqlwire_stmt *st = NULL;
	CHECK(sqlwire_prepare_v2(db, "SELECT count(*) FROM d", -1, &st, NULL) == SQLWIRE_OK);
	int rc = sqlwire_step(st);
	CHECK(rc == SQLWIRE_IOERR);
	CHECK(strstr(sqlwire_errmsg(db), "read-your-writes") != NULL);
	fprintf(stderr, "ryw with the primary down (expected): %s\n", sqlwire_errmsg(db));
	sqlwire_reset(st);
	CHECK(sqlwire_step(st) == SQLWIRE_ROW && sqlwire_column_int(st, 0) == 1); /* the replica's data */
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK);
	CHECK(one_int(db, "SELECT count(*) FROM d") == 1);
	CHECK(sqlwire_close(db) == SQLWIRE_OK);
}

/* ---- auth: sqld started with a JWT key; tokens made by the test ---- */
static const char *tok_rw, *tok_ro;

/* The result of running sql on a REMOTE connection opened with token. */
static int remote_run(const char *u, const char *token, const char *sql)
{
	sqlwire_config cfg;
	sqlwire_config_init(&cfg);
	cfg.auth_token = token;
	sqlwire *db = NULL;
	int rc = sqlwire_open_config(u, &db, SQLWIRE_OPEN_READWRITE, &cfg);
	if (rc == SQLWIRE_OK)
		rc = sqlwire_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLWIRE_OK && !strstr(sqlwire_errmsg(db), "uth") && !strstr(sqlwire_errmsg(db), "orbidden"))
		fprintf(stderr, "remote_run(%s): %d %s\n", sql, rc, sqlwire_errmsg(db));
	sqlwire_close(db);
	return rc;
}

static void a_remote(void)
{
	/* url is ws://..., the same server over http:// is derived from it */
	char http_url[256];
	snprintf(http_url, sizeof http_url, "http://%s", url + strlen("ws://"));
	const char *urls[] = {url, http_url};
	for (int i = 0; i < 2; i++) {
		const char *u = urls[i];
		CHECK(remote_run(u, tok_rw, "CREATE TABLE IF NOT EXISTS a(x); INSERT INTO a VALUES (1)") == SQLWIRE_OK);
		CHECK(remote_run(u, tok_ro, "SELECT count(*) FROM a") == SQLWIRE_OK);
		/* a read-only token cannot write, no token and a bad token get nothing */
		CHECK(remote_run(u, tok_ro, "INSERT INTO a VALUES (2)") != SQLWIRE_OK);
		CHECK(remote_run(u, NULL, "SELECT count(*) FROM a") == SQLWIRE_AUTH);
		CHECK(remote_run(u, "not-a-jwt", "SELECT count(*) FROM a") == SQLWIRE_AUTH);
	}
	sqlwire *db = NULL;
	sqlwire_config cfg;
	sqlwire_config_init(&cfg);
	cfg.auth_token = tok_rw;
	CHECK(sqlwire_open_config(url, &db, SQLWIRE_OPEN_READWRITE, &cfg) == SQLWIRE_OK);
	CHECK(one_int(db, "SELECT count(*) FROM a") == 2);
	sqlwire_close(db);
}

static void a_replica(void)
{
	char http_url[256];
	snprintf(http_url, sizeof http_url, "http://%s", url + strlen("ws://"));
	/* without a token the replica opens (offline-capable) but cannot sync */
	sqlwire_config cfg;
	sqlwire_config_init(&cfg);
	cfg.sync_url = http_url;
	sqlwire *db = NULL;
	CHECK(sqlwire_open_config(path, &db, SQLWIRE_OPEN_READWRITE | SQLWIRE_OPEN_CREATE, &cfg) == SQLWIRE_OK);
	sqlwire_sync_info info;
	CHECK(sqlwire_sync(db, &info) != SQLWIRE_OK);
	sqlwire_close(db);
	/* with the read-write token: sync, local read, forwarded write, read-your-writes */
	cfg.auth_token = tok_rw;
	CHECK(sqlwire_open_config(path, &db, SQLWIRE_OPEN_READWRITE | SQLWIRE_OPEN_CREATE, &cfg) == SQLWIRE_OK);
	CHECK(sqlwire_sync(db, &info) == SQLWIRE_OK);
	CHECK(info.frames_applied > 0);
	CHECK(one_int(db, "SELECT count(*) FROM a") == 2);
	CHECK(sqlwire_exec(db, "INSERT INTO a VALUES (3)", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(one_int(db, "SELECT count(*) FROM a") == 3);
	CHECK(file_count("SELECT count(*) FROM a") == 3);
	sqlwire_close(db);
	/* the read-only token syncs but its write is refused on the primary */
	cfg.auth_token = tok_ro;
	CHECK(sqlwire_open_config(path, &db, SQLWIRE_OPEN_READWRITE | SQLWIRE_OPEN_CREATE, &cfg) == SQLWIRE_OK);
	CHECK(sqlwire_sync(db, &info) == SQLWIRE_OK);
	CHECK(sqlwire_exec(db, "INSERT INTO a VALUES (4)", NULL, NULL, NULL) != SQLWIRE_OK);
	CHECK(one_int(db, "SELECT count(*) FROM a") == 3);
	sqlwire_close(db);
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "auth")) {
		path = argv[2];
		url = argv[3];
		tok_rw = argv[4];
		tok_ro = argv[5];
		T_RUN(a_remote);
		T_RUN(a_replica);
		return T_DONE();
	}
	if (argc == 3 && !strcmp(argv[1], "remote")) {
		url = argv[2];
		T_RUN(r_open);
		T_RUN(r_bind_and_columns);
		T_RUN(r_errors);
		T_RUN(r_transactions_exec);
		T_RUN(r_close);
	} else if (argc == 4 && !strcmp(argv[1], "replica")) {
		path = argv[2];
		url = argv[3];
		T_RUN(p_open_and_route);
		T_RUN(p_transactions);
		T_RUN(p_sync_and_others);
		T_RUN(p_follow_and_interval);
		T_RUN(p_threads);
	} else if (argc == 5 && !strcmp(argv[1], "ryw_down")) {
		path = argv[2];
		url = argv[3];
		primary_pid = (pid_t)atol(argv[4]);
		T_RUN(ryw_down);
	} else if (argc == 4 && !strcmp(argv[1], "offline")) {
		path = argv[2];
		url = argv[3];
		T_RUN(offline);
	} else {
		fprintf(stderr, "usage: cl_integ remote URL | replica PATH URL | offline PATH URL | ryw_down PATH URL PID\n");
		return 2;
	}
	return T_DONE();
}
