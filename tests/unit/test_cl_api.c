/* Unit tests for libclient's api (LOCAL mode, every public function checked
 * against what the system SQLite does with the same calls), conv (SQLite's
 * value conversions, checked value by value against SQLite itself) and uri
 * (the sqlwire parameters of a file: URI). */
#include "conv.h"
#include "sqlwire.h"
#include "t.h"
#include "uri.h"
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];
static char path_a[300], path_b[300];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/sqlwire-test-clapi-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path_a, sizeof path_a, "%s/a.db", dir);
	snprintf(path_b, sizeof path_b, "%s/b.db", dir);
}

static void cleanup(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

#define CONST_LIST(X) \
	X(OK) \
	X(ERROR) \
	X(INTERNAL) \
	X(PERM) \
	X(ABORT) \
	X(BUSY) \
	X(LOCKED) \
	X(NOMEM) \
	X(READONLY) \
	X(INTERRUPT) \
	X(IOERR) \
	X(CORRUPT) \
	X(NOTFOUND) \
	X(FULL) \
	X(CANTOPEN) \
	X(PROTOCOL) \
	X(EMPTY) \
	X(SCHEMA) \
	X(TOOBIG) \
	X(CONSTRAINT) \
	X(MISMATCH) \
	X(MISUSE) \
	X(NOLFS) \
	X(AUTH) \
	X(FORMAT) \
	X(RANGE) \
	X(NOTADB) \
	X(NOTICE) \
	X(WARNING) \
	X(ROW) \
	X(DONE) \
	X(ERROR_MISSING_COLLSEQ) \
	X(ERROR_RETRY) \
	X(ERROR_SNAPSHOT) \
	X(IOERR_READ) \
	X(IOERR_SHORT_READ) \
	X(IOERR_WRITE) \
	X(IOERR_FSYNC) \
	X(IOERR_DIR_FSYNC) \
	X(IOERR_TRUNCATE) \
	X(IOERR_FSTAT) \
	X(IOERR_UNLOCK) \
	X(IOERR_RDLOCK) \
	X(IOERR_DELETE) \
	X(IOERR_BLOCKED) \
	X(IOERR_NOMEM) \
	X(IOERR_ACCESS) \
	X(IOERR_CHECKRESERVEDLOCK) \
	X(IOERR_LOCK) \
	X(IOERR_CLOSE) \
	X(IOERR_DIR_CLOSE) \
	X(IOERR_SHMOPEN) \
	X(IOERR_SHMSIZE) \
	X(IOERR_SHMLOCK) \
	X(IOERR_SHMMAP) \
	X(IOERR_SEEK) \
	X(IOERR_DELETE_NOENT) \
	X(IOERR_MMAP) \
	X(IOERR_GETTEMPPATH) \
	X(IOERR_CONVPATH) \
	X(IOERR_VNODE) \
	X(IOERR_AUTH) \
	X(IOERR_BEGIN_ATOMIC) \
	X(IOERR_COMMIT_ATOMIC) \
	X(IOERR_ROLLBACK_ATOMIC) \
	X(IOERR_DATA) \
	X(IOERR_CORRUPTFS) \
	X(LOCKED_SHAREDCACHE) \
	X(LOCKED_VTAB) \
	X(BUSY_RECOVERY) \
	X(BUSY_SNAPSHOT) \
	X(BUSY_TIMEOUT) \
	X(CANTOPEN_NOTEMPDIR) \
	X(CANTOPEN_ISDIR) \
	X(CANTOPEN_FULLPATH) \
	X(CANTOPEN_CONVPATH) \
	X(CANTOPEN_DIRTYWAL) \
	X(CANTOPEN_SYMLINK) \
	X(CORRUPT_VTAB) \
	X(CORRUPT_SEQUENCE) \
	X(CORRUPT_INDEX) \
	X(READONLY_RECOVERY) \
	X(READONLY_CANTLOCK) \
	X(READONLY_ROLLBACK) \
	X(READONLY_DBMOVED) \
	X(READONLY_CANTINIT) \
	X(READONLY_DIRECTORY) \
	X(ABORT_ROLLBACK) \
	X(CONSTRAINT_CHECK) \
	X(CONSTRAINT_COMMITHOOK) \
	X(CONSTRAINT_FOREIGNKEY) \
	X(CONSTRAINT_FUNCTION) \
	X(CONSTRAINT_NOTNULL) \
	X(CONSTRAINT_PRIMARYKEY) \
	X(CONSTRAINT_TRIGGER) \
	X(CONSTRAINT_UNIQUE) \
	X(CONSTRAINT_VTAB) \
	X(OPEN_READONLY) \
	X(OPEN_READWRITE) \
	X(OPEN_CREATE) \
	X(OPEN_DELETEONCLOSE) \
	X(OPEN_EXCLUSIVE) \
	X(OPEN_AUTOPROXY) \
	X(OPEN_URI) \
	X(OPEN_MEMORY) \
	X(OPEN_MAIN_DB) \
	X(OPEN_TEMP_DB) \
	X(OPEN_TRANSIENT_DB) \
	X(OPEN_MAIN_JOURNAL) \
	X(OPEN_TEMP_JOURNAL) \
	X(OPEN_SUBJOURNAL) \
	X(OPEN_SUPER_JOURNAL) \
	X(OPEN_NOMUTEX) \
	X(OPEN_FULLMUTEX) \
	X(OPEN_SHAREDCACHE) \
	X(OPEN_PRIVATECACHE) \
	X(OPEN_WAL) \
	X(OPEN_NOFOLLOW) \
	X(OPEN_EXRESCODE) \
	X(PREPARE_PERSISTENT) \
	X(PREPARE_NORMALIZE) \
	X(PREPARE_NO_VTAB) \
	X(INTEGER) \
	X(FLOAT) \
	X(TEXT) \
	X(BLOB) \
	X(NULL) \
	X(UTF8) \

static void constants(void)
{
#define X(n) CHECK(SQLWIRE_##n == SQLITE_##n);
	CONST_LIST(X)
#undef X
	CHECK(SQLWIRE_STATIC == (sqlwire_destructor_type)SQLITE_STATIC);
	CHECK(SQLWIRE_TRANSIENT == (sqlwire_destructor_type)SQLITE_TRANSIENT);
	CHECK(SQLWIRE_CONSTRAINT_UNIQUE == 2067);
	CHECK_STR(sqlwire_libversion(), sqlite3_libversion());
	CHECK(sqlwire_libversion_number() == sqlite3_libversion_number());
	CHECK_STR(sqlwire_version(), SQLWIRE_VERSION);
	CHECK(sqlwire_threadsafe() == 1);
	CHECK_STR(sqlwire_errstr(SQLWIRE_CONSTRAINT), sqlite3_errstr(SQLITE_CONSTRAINT));
	CHECK_STR(sqlwire_errmsg(NULL), sqlite3_errmsg(NULL));
	CHECK(sqlwire_errcode(NULL) == sqlite3_errcode(NULL));
}

static void misc(void)
{
	CHECK(sqlwire_initialize() == SQLWIRE_OK);
	CHECK_STR(sqlwire_sourceid(), sqlite3_sourceid());
	CHECK(sqlwire_complete("SELECT 1;") == 1);
	CHECK(sqlwire_complete("SELECT 'x;") == 0);
	CHECK(sqlwire_sleep(1) >= 1);
	sqlwire *db;
	CHECK(sqlwire_open(":memory:", &db) == SQLWIRE_OK);
	sqlwire_stmt *st;
	CHECK(sqlwire_prepare_v2(db, "SELECT ?1, ?2", -1, &st, NULL) == SQLWIRE_OK);
	sqlwire_bind_int(st, 1, 7);
	sqlwire_bind_text(st, 2, "it's", -1, SQLWIRE_STATIC);
	char *x = sqlwire_expanded_sql(st);
	CHECK_STR(x, "SELECT 7, 'it''s'");
	sqlwire_free(x);
	CHECK(sqlwire_expanded_sql(NULL) == NULL);
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK);
	/* interrupt: the running statement stops with SQLWIRE_INTERRUPT */
	CHECK(sqlwire_prepare_v2(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000000) "
				     "SELECT x FROM c", -1, &st, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_step(st) == SQLWIRE_ROW);
	sqlwire_interrupt(db);
	sqlwire_interrupt(NULL);
	int rc, n = 0;
	while ((rc = sqlwire_step(st)) == SQLWIRE_ROW)
		n++;
	CHECK(rc == SQLWIRE_INTERRUPT);
	CHECK(n < 999999);
	CHECK(sqlwire_finalize(st) == SQLWIRE_INTERRUPT);
	sqlwire_close(db);
}

static void memory(void)
{
	char *p = sqlwire_mprintf("%q|%Q|%d", "it's", NULL, 42);
	CHECK_STR(p, "it''s|NULL|42");
	sqlwire_free(p);
	char buf[8];
	CHECK(sqlwire_snprintf(sizeof buf, buf, "%s", "abcdefghij") == buf);
	CHECK_STR(buf, "abcdefg");
	void *m = sqlwire_malloc(10);
	CHECK(m != NULL);
	m = sqlwire_realloc(m, 100);
	CHECK(m != NULL);
	sqlwire_free(m);
	m = sqlwire_malloc64(16);
	CHECK(m != NULL);
	sqlwire_free(m);
	sqlwire_free(NULL);
}

/* one statement's rows as "a,b;c,d" text (NULL as "~") */
static void dump_w(sqlwire *db, const char *sql, char *out, size_t cap)
{
	sqlwire_stmt *st = NULL;
	out[0] = 0;
	CHECK(sqlwire_prepare_v2(db, sql, -1, &st, NULL) == SQLWIRE_OK);
	int rc;
	while ((rc = sqlwire_step(st)) == SQLWIRE_ROW) {
		for (int i = 0; i < sqlwire_column_count(st); i++) {
			const unsigned char *t = sqlwire_column_text(st, i);
			snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "," : "", t ? (const char *)t : "~");
		}
		snprintf(out + strlen(out), cap - strlen(out), ";");
	}
	CHECK(rc == SQLWIRE_DONE);
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK);
}

static void open_close(void)
{
	setup();
	sqlwire *db = NULL;
	CHECK(sqlwire_open(path_a, &db) == SQLWIRE_OK);
	CHECK(db != NULL);
	CHECK(sqlwire_errcode(db) == SQLWIRE_OK);
	CHECK_STR(sqlwire_errmsg(db), "not an error");
	CHECK(sqlwire_close(db) == SQLWIRE_OK);
	CHECK(sqlwire_close(NULL) == SQLWIRE_OK);
	CHECK(sqlwire_close_v2(NULL) == SQLWIRE_OK);

	/* a missing file without CREATE fails like SQLite, with a handle */
	char missing[320];
	snprintf(missing, sizeof missing, "%s/nope/x.db", dir);
	sqlite3 *sq = NULL;
	int src = sqlite3_open_v2(missing, &sq, SQLITE_OPEN_READWRITE, NULL);
	db = NULL;
	int wrc = sqlwire_open_v2(missing, &db, SQLWIRE_OPEN_READWRITE, NULL);
	CHECK(src == SQLITE_CANTOPEN && wrc == src);
	CHECK(db != NULL);
	CHECK(sqlwire_errcode(db) == sqlite3_errcode(sq));
	CHECK_STR(sqlwire_errmsg(db), sqlite3_errmsg(sq));
	sqlwire_close(db);
	sqlite3_close(sq);

	/* READONLY refuses writes with SQLite's code */
	CHECK(sqlwire_open_v2(path_a, &db, SQLWIRE_OPEN_READONLY, NULL) == SQLWIRE_OK);
	char *msg = NULL;
	CHECK(sqlwire_exec(db, "CREATE TABLE t(x)", NULL, NULL, &msg) == SQLWIRE_READONLY);
	CHECK_STR(msg, "attempt to write a readonly database");
	sqlwire_free(msg);
	CHECK(sqlwire_close_v2(db) == SQLWIRE_OK);

	/* ":memory:" and a file: URI with SQLite's own parameters */
	CHECK(sqlwire_open_v2(":memory:", &db, SQLWIRE_OPEN_READWRITE | SQLWIRE_OPEN_CREATE, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)", NULL, NULL, NULL) == SQLWIRE_OK);
	sqlwire_close(db);
	char uri[400];
	snprintf(uri, sizeof uri, "file:%s?mode=rwc&read_your_writes=0&follow=1", path_b);
	CHECK(sqlwire_open_v2(uri, &db, SQLWIRE_OPEN_READWRITE | SQLWIRE_OPEN_CREATE | SQLWIRE_OPEN_URI, NULL) ==
	      SQLWIRE_OK);
	CHECK(sqlwire_exec(db, "CREATE TABLE u(x)", NULL, NULL, NULL) == SQLWIRE_OK);
	sqlwire_close(db);
	/* our parameters work without SQLWIRE_OPEN_URI too, and did not end up in the name */
	snprintf(uri, sizeof uri, "file:%s?follow=0", path_b);
	CHECK(sqlwire_open(uri, &db) == SQLWIRE_OK);
	char out[200];
	dump_w(db, "SELECT name FROM sqlite_schema", out, sizeof out);
	CHECK_STR(out, "u;");
	sqlwire_close(db);
	CHECK(access(path_b, F_OK) == 0);
	/* a bad value of one of ours */
	snprintf(uri, sizeof uri, "file:%s?sync_interval_ms=abc", path_b);
	CHECK(sqlwire_open(uri, &db) == SQLWIRE_MISUSE);
	CHECK(strstr(sqlwire_errmsg(db), "sqlwire parameter") != NULL);
	sqlwire_close(db);

	/* config: no sync_url means LOCAL */
	sqlwire_config cfg;
	sqlwire_config_init(&cfg);
	CHECK(cfg.read_your_writes == 1 && cfg.sync_url == NULL && cfg.follow == 0);
	CHECK(sqlwire_open_config(path_a, &db, SQLWIRE_OPEN_READWRITE, &cfg) == SQLWIRE_OK);
	sqlwire_sync_info info;
	CHECK(sqlwire_sync(db, &info) == SQLWIRE_MISUSE);
	CHECK(strstr(sqlwire_errmsg(db), "not an embedded replica") != NULL);
	CHECK(sqlwire_sync_until(db, 1, 10) == SQLWIRE_MISUSE);
	CHECK(sqlwire_sync_position(db, &info) == SQLWIRE_MISUSE);
	/* the next SQLite call owns the error state again */
	sqlwire_stmt *st = NULL;
	CHECK(sqlwire_prepare_v2(db, "SELECT * FROM nope", -1, &st, NULL) == SQLWIRE_ERROR);
	CHECK_STR(sqlwire_errmsg(db), "no such table: nope");
	CHECK(sqlwire_errcode(db) == SQLWIRE_ERROR);
	CHECK(sqlwire_prepare_v2(db, "SELECT 1", -1, &st, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_step(st) == SQLWIRE_ROW);
	CHECK(sqlwire_errcode(db) == SQLWIRE_ROW || sqlwire_errcode(db) == SQLWIRE_OK);
	sqlwire_finalize(st);
	sqlwire_close(db);
	cleanup();
}

/* The same script through sqlwire and through sqlite3 gives the same
 * results, codes and messages. */
static void errors_and_codes(void)
{
	setup();
	sqlwire *db;
	sqlite3 *sq;
	CHECK(sqlwire_open(path_a, &db) == SQLWIRE_OK);
	CHECK(sqlite3_open(path_b, &sq) == SQLITE_OK);
	const char *setup_sql = "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, v REAL);"
				"INSERT INTO t(name, v) VALUES('a', 1.5), ('b', 2)";
	CHECK(sqlwire_exec(db, setup_sql, NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlite3_exec(sq, setup_sql, NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlwire_changes(db) == sqlite3_changes(sq) && sqlwire_changes(db) == 2);
	CHECK(sqlwire_changes64(db) == 2);
	CHECK(sqlwire_total_changes(db) == sqlite3_total_changes(sq));
	CHECK(sqlwire_total_changes64(db) == 2);
	CHECK(sqlwire_last_insert_rowid(db) == sqlite3_last_insert_rowid(sq) && sqlwire_last_insert_rowid(db) == 2);

	/* syntax error at prepare */
	sqlwire_stmt *st = (sqlwire_stmt *)1;
	sqlite3_stmt *ss = (sqlite3_stmt *)1;
	CHECK(sqlwire_prepare_v2(db, "SELEC 1", -1, &st, NULL) == SQLWIRE_ERROR);
	CHECK(sqlite3_prepare_v2(sq, "SELEC 1", -1, &ss, NULL) == SQLITE_ERROR);
	CHECK(st == NULL && ss == NULL);
	CHECK_STR(sqlwire_errmsg(db), sqlite3_errmsg(sq));
	CHECK(sqlwire_errcode(db) == SQLWIRE_ERROR);

	/* constraint at step: primary code from step, extended from extended_errcode */
	const char *dup = "INSERT INTO t(name) VALUES('a')";
	CHECK(sqlwire_prepare_v2(db, dup, -1, &st, NULL) == SQLWIRE_OK);
	CHECK(sqlite3_prepare_v2(sq, dup, -1, &ss, NULL) == SQLITE_OK);
	int wrc = sqlwire_step(st), src = sqlite3_step(ss);
	CHECK(wrc == src && wrc == SQLWIRE_CONSTRAINT);
	CHECK(sqlwire_errcode(db) == SQLWIRE_CONSTRAINT);
	CHECK(sqlwire_extended_errcode(db) == SQLWIRE_CONSTRAINT_UNIQUE);
	CHECK_STR(sqlwire_errmsg(db), sqlite3_errmsg(sq));
	CHECK_STR(sqlwire_errmsg(db), "UNIQUE constraint failed: t.name");
	CHECK(sqlwire_reset(st) == sqlite3_reset(ss));
	CHECK(sqlwire_finalize(st) == sqlite3_finalize(ss));
	/* extended result codes on: step returns the extended code */
	CHECK(sqlwire_extended_result_codes(db, 1) == SQLWIRE_OK);
	char *msg = NULL;
	CHECK(sqlwire_exec(db, "INSERT INTO t(name) VALUES(NULL)", NULL, NULL, &msg) == SQLWIRE_CONSTRAINT_NOTNULL);
	CHECK_STR(msg, "NOT NULL constraint failed: t.name");
	sqlwire_free(msg);
	CHECK(sqlwire_extended_result_codes(db, 0) == SQLWIRE_OK);

	/* autocommit and explicit transactions */
	CHECK(sqlwire_get_autocommit(db) == 1);
	CHECK(sqlwire_exec(db, "BEGIN", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_get_autocommit(db) == 0);
	CHECK(sqlwire_exec(db, "INSERT INTO t(name) VALUES('c')", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_exec(db, "ROLLBACK", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_get_autocommit(db) == 1);
	char out[200];
	dump_w(db, "SELECT count(*) FROM t", out, sizeof out);
	CHECK_STR(out, "2;");

	/* busy: a second connection holding the write lock */
	sqlwire *db2;
	CHECK(sqlwire_open(path_a, &db2) == SQLWIRE_OK);
	CHECK(sqlwire_busy_timeout(db2, 10) == SQLWIRE_OK);
	CHECK(sqlwire_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_exec(db2, "INSERT INTO t(name) VALUES('z')", NULL, NULL, NULL) == SQLWIRE_BUSY);
	CHECK(sqlwire_errcode(db2) == SQLWIRE_BUSY);
	CHECK(sqlwire_exec(db, "COMMIT", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_exec(db2, "INSERT INTO t(name) VALUES('z')", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_close(db2) == SQLWIRE_OK);

	/* close with an unfinalized statement: BUSY, then close_v2 zombie */
	CHECK(sqlwire_prepare_v2(db, "SELECT 1", -1, &st, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_close(db) == SQLWIRE_BUSY);
	CHECK(sqlwire_errcode(db) == SQLWIRE_BUSY);
	CHECK(sqlwire_step(st) == SQLWIRE_ROW);
	CHECK(sqlwire_close_v2(db) == SQLWIRE_OK);
	CHECK(sqlwire_column_int(st, 0) == 1);
	CHECK(sqlwire_db_handle(st) == db);
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK); /* frees the zombie (ASan/valgrind would say otherwise) */
	sqlite3_close(sq);
	cleanup();
}

static int ndestroyed;
static void count_free(void *p)
{
	ndestroyed++;
	free(p);
}

static void prepare_bind(void)
{
	setup();
	sqlwire *db;
	CHECK(sqlwire_open(path_a, &db) == SQLWIRE_OK);
	/* tails and empty statements */
	const char *sql = "  -- nothing\n ; SELECT 1; SELECT 2 ;  ";
	sqlwire_stmt *st = (sqlwire_stmt *)1;
	const char *tail = NULL;
	CHECK(sqlwire_prepare_v2(db, sql, -1, &st, &tail) == SQLWIRE_OK);
	CHECK(st != NULL);
	CHECK_STR(sqlwire_sql(st), "  -- nothing\n ; SELECT 1;"); /* SQLite keeps the lead */
	CHECK_STR(tail, " SELECT 2 ;  ");
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK);
	CHECK(sqlwire_prepare(db, "   ", -1, &st, &tail) == SQLWIRE_OK);
	CHECK(st == NULL);
	CHECK(sqlwire_prepare_v3(db, "SELECT 3xyz", 8, SQLWIRE_PREPARE_PERSISTENT, &st, &tail) == SQLWIRE_OK);
	CHECK(sqlwire_step(st) == SQLWIRE_ROW && sqlwire_column_int(st, 0) == 3);
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK);
	CHECK(sqlwire_finalize(NULL) == SQLWIRE_OK);
	CHECK(sqlwire_reset(NULL) == SQLWIRE_OK);

	/* every bind, against the same binds through sqlite3 */
	CHECK(sqlwire_prepare_v2(db, "SELECT ?1, :n, @m, $p, ?5, ?6, ?7, ?8, ?9, ?10, ?11", -1, &st, NULL) ==
	      SQLWIRE_OK);
	CHECK(sqlwire_stmt_readonly(st) == 1);
	CHECK(sqlwire_bind_parameter_count(st) == 11);
	CHECK(sqlwire_bind_parameter_index(st, ":n") == 2);
	CHECK(sqlwire_bind_parameter_index(st, "$p") == 4);
	CHECK(sqlwire_bind_parameter_index(st, ":zz") == 0);
	CHECK_STR(sqlwire_bind_parameter_name(st, 3), "@m");
	CHECK_STR(sqlwire_bind_parameter_name(st, 1), "?1");
	CHECK(sqlwire_bind_parameter_name(st, 12) == NULL);
	CHECK(sqlwire_bind_int(st, 1, -7) == SQLWIRE_OK);
	CHECK(sqlwire_bind_int64(st, 2, INT64_MAX) == SQLWIRE_OK);
	CHECK(sqlwire_bind_double(st, 3, 0.25) == SQLWIRE_OK);
	CHECK(sqlwire_bind_text(st, 4, "hello", -1, SQLWIRE_STATIC) == SQLWIRE_OK);
	char *heap = strdup("héllo");
	ndestroyed = 0;
	CHECK(sqlwire_bind_text(st, 5, heap, 3, count_free) == SQLWIRE_OK);
	CHECK(sqlwire_bind_text64(st, 6, "xyz", 2, SQLWIRE_TRANSIENT, SQLWIRE_UTF8) == SQLWIRE_OK);
	CHECK(sqlwire_bind_blob(st, 7, "\x01\x00\x02", 3, SQLWIRE_TRANSIENT) == SQLWIRE_OK);
	CHECK(sqlwire_bind_blob64(st, 8, "ab", 2, SQLWIRE_STATIC) == SQLWIRE_OK);
	CHECK(sqlwire_bind_zeroblob(st, 9, 4) == SQLWIRE_OK);
	CHECK(sqlwire_bind_zeroblob64(st, 10, 2) == SQLWIRE_OK);
	CHECK(sqlwire_bind_null(st, 11) == SQLWIRE_OK);
	CHECK(sqlwire_bind_int(st, 12, 1) == SQLWIRE_RANGE);
	CHECK(sqlwire_bind_int(st, 0, 1) == SQLWIRE_RANGE);
	/* a failing bind still calls the destructor */
	CHECK(sqlwire_bind_text(st, 99, strdup("x"), -1, count_free) == SQLWIRE_RANGE);
	CHECK(ndestroyed == 1);
	CHECK(sqlwire_column_count(st) == 11);
	CHECK(sqlwire_data_count(st) == 0);
	CHECK(sqlwire_step(st) == SQLWIRE_ROW);
	CHECK(sqlwire_stmt_busy(st) == 1);
	CHECK(sqlwire_data_count(st) == 11);
	/* binding a running statement is misuse */
	CHECK(sqlwire_bind_int(st, 1, 1) == SQLWIRE_MISUSE);
	CHECK(sqlwire_column_int(st, 0) == -7 && sqlwire_column_type(st, 0) == SQLWIRE_INTEGER);
	CHECK(sqlwire_column_int64(st, 1) == INT64_MAX);
	CHECK(sqlwire_column_int(st, 1) == -1); /* low 32 bits, as SQLite */
	CHECK(sqlwire_column_double(st, 2) == 0.25 && sqlwire_column_type(st, 2) == SQLWIRE_FLOAT);
	CHECK_STR((const char *)sqlwire_column_text(st, 3), "hello");
	CHECK_STR((const char *)sqlwire_column_text(st, 4), "hé");
	CHECK(sqlwire_column_bytes(st, 4) == 3);
	CHECK_STR((const char *)sqlwire_column_text(st, 5), "xy");
	CHECK(sqlwire_column_type(st, 6) == SQLWIRE_BLOB);
	CHECK(sqlwire_column_bytes(st, 6) == 3 && memcmp(sqlwire_column_blob(st, 6), "\x01\x00\x02", 3) == 0);
	CHECK(sqlwire_column_bytes(st, 7) == 2);
	CHECK(sqlwire_column_bytes(st, 8) == 4 && memcmp(sqlwire_column_blob(st, 8), "\0\0\0\0", 4) == 0);
	CHECK(sqlwire_column_bytes(st, 9) == 2);
	CHECK(sqlwire_column_type(st, 10) == SQLWIRE_NULL && sqlwire_column_text(st, 10) == NULL);
	CHECK(sqlwire_column_text(st, 11) == NULL && sqlwire_column_type(st, 11) == SQLWIRE_NULL);
	CHECK(sqlwire_column_name(st, 1) != NULL && strcmp(sqlwire_column_name(st, 1), ":n") == 0);
	CHECK(sqlwire_column_name(st, 11) == NULL);
	CHECK(sqlwire_step(st) == SQLWIRE_DONE);
	CHECK(sqlwire_stmt_busy(st) == 0);
	/* reset keeps bindings, clear_bindings drops them */
	CHECK(sqlwire_reset(st) == SQLWIRE_OK);
	CHECK(sqlwire_step(st) == SQLWIRE_ROW && sqlwire_column_int(st, 0) == -7);
	CHECK(sqlwire_reset(st) == SQLWIRE_OK);
	CHECK(sqlwire_clear_bindings(st) == SQLWIRE_OK);
	CHECK(sqlwire_step(st) == SQLWIRE_ROW && sqlwire_column_type(st, 0) == SQLWIRE_NULL);
	/* after DONE a further step restarts, as SQLite */
	CHECK(sqlwire_step(st) == SQLWIRE_DONE);
	CHECK(sqlwire_step(st) == SQLWIRE_ROW);
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK);
	CHECK(ndestroyed == 2); /* the STATIC-less text was released by SQLite */

	/* decltype and names of a table */
	CHECK(sqlwire_exec(db, "CREATE TABLE d(a INTEGER, b VARCHAR(10), c)", NULL, NULL, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_prepare_v2(db, "SELECT a AS x, b, c, a + 1 FROM d", -1, &st, NULL) == SQLWIRE_OK);
	CHECK_STR(sqlwire_column_decltype(st, 0), "INTEGER");
	CHECK_STR(sqlwire_column_decltype(st, 1), "VARCHAR(10)");
	CHECK(sqlwire_column_decltype(st, 2) == NULL);
	CHECK(sqlwire_column_decltype(st, 3) == NULL);
	CHECK_STR(sqlwire_column_name(st, 0), "x");
	CHECK(sqlwire_step(st) == SQLWIRE_DONE);
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK);
	CHECK(sqlwire_prepare_v2(db, "INSERT INTO d VALUES(1, 2, 3)", -1, &st, NULL) == SQLWIRE_OK);
	CHECK(sqlwire_stmt_readonly(st) == 0);
	CHECK(sqlwire_column_count(st) == 0);
	CHECK(sqlwire_finalize(st) == SQLWIRE_OK);
	sqlwire_close(db);
	cleanup();
}

struct rows {
	int n;
	char buf[256];
	int stop_after;
};

static int collect(void *arg, int n, char **vals, char **names)
{
	struct rows *r = arg;
	for (int i = 0; i < n; i++)
		snprintf(r->buf + strlen(r->buf), sizeof r->buf - strlen(r->buf), "%s=%s ", names[i],
			 vals[i] ? vals[i] : "NULL");
	return ++r->n == r->stop_after;
}

static void exec_callback(void)
{
	setup();
	sqlwire *db;
	CHECK(sqlwire_open(path_a, &db) == SQLWIRE_OK);
	struct rows r = {0};
	char *msg = (char *)1;
	CHECK(sqlwire_exec(db, "CREATE TABLE t(a, b); INSERT INTO t VALUES(1, 'x'), (2, NULL); SELECT * FROM t", collect,
			   &r, &msg) == SQLWIRE_OK);
	CHECK(msg == NULL);
	CHECK(r.n == 2);
	CHECK_STR(r.buf, "a=1 b=x a=2 b=NULL ");
	memset(&r, 0, sizeof r);
	r.stop_after = 1;
	CHECK(sqlwire_exec(db, "SELECT * FROM t", collect, &r, &msg) == SQLWIRE_ABORT);
	CHECK_STR(msg, "query aborted");
	CHECK(r.n == 1);
	sqlwire_free(msg);
	CHECK(sqlwire_exec(db, "SELECT * FROM nope", NULL, NULL, &msg) == SQLWIRE_ERROR);
	CHECK_STR(msg, "no such table: nope");
	sqlwire_free(msg);
	sqlwire_close(db);
	cleanup();
}

/* ---- conv: value by value against SQLite ---- */

static sqlite3 *conv_db;

static void conv_one(const struct hr_value *v)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(conv_db, "SELECT ?", -1, &st, NULL) != SQLITE_OK) {
		CHECK(0);
		return;
	}
	switch (v->type) {
	case HR_INTEGER:
		sqlite3_bind_int64(st, 1, v->i);
		break;
	case HR_FLOAT:
		sqlite3_bind_double(st, 1, v->f);
		break;
	case HR_TEXT:
		sqlite3_bind_text(st, 1, v->s, (int)v->n, SQLITE_STATIC);
		break;
	case HR_BLOB:
		sqlite3_bind_blob(st, 1, v->s, (int)v->n, SQLITE_STATIC);
		break;
	default:
		break;
	}
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK(conv_type(v) == sqlite3_column_type(st, 0));
	int64_t ci = conv_int64(v), si = sqlite3_column_int64(st, 0);
	if (ci != si)
		fprintf(stderr, "int64 of type %d '%.*s': conv %lld sqlite %lld\n", v->type, (int)v->n,
			v->s ? v->s : "", (long long)ci, (long long)si);
	CHECK(ci == si);
	double cd = conv_double(v), sd = sqlite3_column_double(st, 0);
	if (!(cd == sd || (isnan(cd) && isnan(sd))))
		fprintf(stderr, "double of type %d '%.*s': conv %.17g sqlite %.17g\n", v->type, (int)v->n,
			v->s ? v->s : "", cd, sd);
	CHECK(cd == sd || (isnan(cd) && isnan(sd)));
	sqlite3_reset(st);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	char *cache = NULL;
	int n = -1, nomem = 0;
	const char *ct = conv_text(v, &cache, &n, &nomem);
	const char *stx = (const char *)sqlite3_column_text(st, 0);
	int sn = sqlite3_column_bytes(st, 0);
	CHECK((ct == NULL) == (stx == NULL));
	if (ct && stx) {
		if (n != sn || memcmp(ct, stx, (size_t)n) != 0)
			fprintf(stderr, "text of type %d: conv '%s' sqlite '%s'\n", v->type, ct, stx);
		CHECK(n == sn && memcmp(ct, stx, (size_t)n) == 0);
		CHECK(ct[n] == 0);
	}
	sqlite3_reset(st);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	const void *cb = conv_blob(v, &cache, &n, &nomem);
	const void *sb = sqlite3_column_blob(st, 0);
	sn = sqlite3_column_bytes(st, 0);
	CHECK((cb == NULL) == (sb == NULL));
	CHECK(n == sn);
	if (cb && sb)
		CHECK(memcmp(cb, sb, (size_t)n) == 0);
	CHECK(nomem == 0);
	free(cache);
	sqlite3_finalize(st);
}

static void conv_vs_sqlite(void)
{
	CHECK(sqlite3_open(":memory:", &conv_db) == SQLITE_OK);
	struct hr_value v = {.type = HR_NULL};
	conv_one(&v);
	static const int64_t ints[] = {0, 1, -1, 42, INT64_MAX, INT64_MIN, 1000000000000LL};
	for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
		struct hr_value x = {.type = HR_INTEGER, .i = ints[i]};
		conv_one(&x);
	}
	static const double dbls[] = {0.0, 1.0, -1.0, 0.1, 1.5, 100.0, 1e15, 1e16, 1e20, 1.5e-7, 3.141592653589793,
				      -2.5e300, 9.2233720368547758e18, -9.3e18, 1e-320, 123456789.125, 0.30000000000000004,
				      INFINITY, -INFINITY};
	for (size_t i = 0; i < sizeof dbls / sizeof *dbls; i++) {
		struct hr_value x = {.type = HR_FLOAT, .f = dbls[i]};
		conv_one(&x);
	}
	static const char *const texts[] = {"", "0", "12", "  12", "-12", "+7", "12abc", "1e3", "1.9", "-1.9e2x",
					    "abc", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
					    "-9223372036854775809", "99999999999999999999", "0x10", " \t\n5", "00012",
					    ".5", "5.", "1e", "1e+", "-", "1.5E-3", "hé", "3.0"};
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		struct hr_value x = {.type = HR_TEXT, .s = texts[i], .n = strlen(texts[i])};
		conv_one(&x);
		struct hr_value b = {.type = HR_BLOB, .s = texts[i], .n = strlen(texts[i])};
		conv_one(&b);
	}
	struct hr_value emb = {.type = HR_BLOB, .s = "a\0b", .n = 3};
	conv_one(&emb);
	sqlite3_close(conv_db);
}

/* ---- uri ---- */

static void uri_params(void)
{
	struct uri_cfg c;
	CHECK(uri_parse("plain.db", &c) == 0);
	CHECK_STR(c.sqlite_name, "plain.db");
	CHECK_STR(c.path, "plain.db");
	CHECK(c.sync_url == NULL && !c.had_params && c.follow == -1);
	uri_free(&c);

	CHECK(uri_parse("file:app%20x.db?cache=shared&sync_url=http%3A%2F%2F127.0.0.1%3A9&auth_token=t%2Bk&"
			"sync_interval_ms=1000&read_your_writes=0&follow=true&timeout_ms=50&mode=ro#frag",
			&c) == 0);
	CHECK_STR(c.sqlite_name, "file:app%20x.db?cache=shared&mode=ro#frag");
	CHECK_STR(c.path, "app x.db");
	CHECK_STR(c.sync_url, "http://127.0.0.1:9");
	CHECK_STR(c.auth_token, "t+k");
	CHECK(c.sync_interval_ms == 1000 && c.read_your_writes == 0 && c.follow == 1 && c.timeout_ms == 50);
	CHECK(c.had_params);
	uri_free(&c);

	CHECK(uri_parse("file:///abs/dir/r.db?sync_url=http://h:1", &c) == 0);
	CHECK_STR(c.sqlite_name, "file:///abs/dir/r.db");
	CHECK_STR(c.path, "/abs/dir/r.db");
	CHECK_STR(c.sync_url, "http://h:1");
	uri_free(&c);
	CHECK(uri_parse("file://localhost/abs/r.db", &c) == 0);
	CHECK_STR(c.path, "/abs/r.db");
	CHECK(!c.had_params);
	uri_free(&c);
	CHECK(uri_parse("file:x.db?follow=maybe", &c) == -2);
	CHECK(uri_parse("file:x.db?sync_interval_ms=-5", &c) == -2);

	CHECK(uri_is_url("libsql://db.example.com"));
	CHECK(uri_is_url("WSS://h"));
	CHECK(uri_is_url("http://127.0.0.1:8080"));
	CHECK(!uri_is_url("file:x.db"));
	CHECK(!uri_is_url("x.db"));
	char *clean, *tok;
	CHECK(uri_url_split("libsql://h.example?authToken=abc%2Ed&tls=1", &clean, &tok) == 0);
	CHECK_STR(clean, "libsql://h.example?tls=1");
	CHECK_STR(tok, "abc.d");
	free(clean);
	free(tok);
	CHECK(uri_url_split("ws://127.0.0.1:1/", &clean, &tok) == 0);
	CHECK_STR(clean, "ws://127.0.0.1:1/");
	CHECK(tok == NULL);
	free(clean);
}

/* A URL that nothing listens on: REMOTE open fails with a handle and a message. */
static void remote_unreachable(void)
{
	sqlwire *db = NULL;
	int rc = sqlwire_open("http://127.0.0.1:1", &db);
	CHECK(rc == SQLWIRE_CANTOPEN);
	CHECK(db != NULL);
	CHECK(sqlwire_errcode(db) == SQLWIRE_CANTOPEN);
	CHECK(strstr(sqlwire_errmsg(db), "127.0.0.1:1") != NULL);
	CHECK(sqlwire_close(db) == SQLWIRE_OK);
}

int main(void)
{
	T_RUN(constants);
	T_RUN(memory);
	T_RUN(misc);
	T_RUN(open_close);
	T_RUN(errors_and_codes);
	T_RUN(prepare_bind);
	T_RUN(exec_callback);
	T_RUN(conv_vs_sqlite);
	T_RUN(uri_params);
	T_RUN(remote_unreachable);
	return T_DONE();
}
