/* Unit tests for sqld/db.c: file preparation and write-lock stealing. */
#include "db.h"
#include "t.h"
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static struct db *open_db(int txn_timeout_ms)
{
	snprintf(dir, sizeof dir, "/tmp/sqlwire-test-db-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	struct db_opts o = {.dir = dir, .txn_timeout_ms = txn_timeout_ms, .busy_timeout_ms = 3000};
	struct db *db = NULL;
	struct err e;
	CHECK(db_open(&o, &db, &e) == 0);
	return db;
}

static void cleanup(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

static long long one_int(sqlite3 *sq, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;
	if (sqlite3_prepare_v2(sq, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void wal_and_page_size(void)
{
	struct db *db = open_db(5000);
	struct db_conn *c;
	struct err e;
	CHECK(db_conn_open(db, &c, &e) == 0);
	sqlite3 *sq = db_conn_sqlite(c);
	CHECK(one_int(sq, "PRAGMA page_size") == 4096);
	sqlite3_stmt *st;
	CHECK(sqlite3_prepare_v2(sq, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	CHECK(one_int(sq, "PRAGMA synchronous") == 2); /* FULL */
	db_conn_close(c);
	db_close(db);
	cleanup();
}

static void converts_page_size(void)
{
	snprintf(dir, sizeof dir, "/tmp/sqlwire-test-db-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	char path[300];
	snprintf(path, sizeof path, "%s/data", dir);
	sqlite3 *sq;
	CHECK(sqlite3_open(path, &sq) == SQLITE_OK);
	CHECK(sqlite3_exec(sq, "PRAGMA page_size=1024; CREATE TABLE t(x); INSERT INTO t VALUES (7)", 0, 0, 0) == SQLITE_OK);
	sqlite3_close(sq);
	struct db_opts o = {.dir = dir};
	struct db *db;
	struct err e;
	CHECK(db_open(&o, &db, &e) == 0);
	struct db_conn *c;
	CHECK(db_conn_open(db, &c, &e) == 0);
	CHECK(one_int(db_conn_sqlite(c), "PRAGMA page_size") == 4096);
	CHECK(one_int(db_conn_sqlite(c), "SELECT x FROM t") == 7);
	db_conn_close(c);
	db_close(db);
	cleanup();
}

static void not_a_database(void)
{
	snprintf(dir, sizeof dir, "/tmp/sqlwire-test-db-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "printf 'this is not sqlite at all, not at all, no no no no no no no' > %s/data", dir);
	CHECK(system(cmd) == 0);
	struct db_opts o = {.dir = dir};
	struct db *db = NULL;
	struct err e = {{0}};
	CHECK(db_open(&o, &db, &e) != 0);
	CHECK(strstr(e.msg, "not a SQLite database") != NULL || strstr(e.msg, "file is not a database") != NULL);
	cleanup();
}

struct waiter {
	struct db_conn *c;
	int rc;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	db_conn_enter(w->c);
	w->rc = sqlite3_exec(db_conn_sqlite(w->c), "BEGIN IMMEDIATE; INSERT INTO t VALUES (2); COMMIT", 0, 0, 0);
	db_conn_leave(w->c);
	return NULL;
}

static void steals_idle_writer(void)
{
	struct db *db = open_db(200);
	struct db_conn *a, *b;
	struct err e;
	CHECK(db_conn_open(db, &a, &e) == 0);
	CHECK(db_conn_open(db, &b, &e) == 0);
	db_conn_enter(a);
	CHECK(sqlite3_exec(db_conn_sqlite(a), "CREATE TABLE t(x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1)", 0, 0, 0) == SQLITE_OK);
	db_conn_leave(a); /* a now holds the write lock, idle */
	struct waiter w = {b, -1};
	pthread_t th;
	pthread_create(&th, NULL, waiter_main, &w);
	pthread_join(th, NULL);
	CHECK(w.rc == SQLITE_OK);
	db_conn_enter(a);
	CHECK(db_conn_take_timeout(a));
	CHECK(!db_conn_take_timeout(a)); /* reported once */
	CHECK(sqlite3_get_autocommit(db_conn_sqlite(a)));
	CHECK(one_int(db_conn_sqlite(a), "SELECT group_concat(x) FROM t") == 2); /* a's row rolled back */
	db_conn_leave(a);
	db_conn_close(a);
	db_conn_close(b);
	db_close(db);
	cleanup();
}

static void young_writer_is_not_stolen(void)
{
	struct db *db = open_db(60000);
	struct db_conn *a, *b;
	struct err e;
	CHECK(db_conn_open(db, &a, &e) == 0);
	CHECK(db_conn_open(db, &b, &e) == 0);
	db_conn_enter(a);
	CHECK(sqlite3_exec(db_conn_sqlite(a), "CREATE TABLE t(x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1)", 0, 0, 0) == SQLITE_OK);
	db_conn_leave(a);
	/* b gives up after its busy timeout (3 s) instead of stealing */
	struct waiter w = {b, -1};
	waiter_main(&w);
	CHECK(w.rc == SQLITE_BUSY);
	db_conn_enter(a);
	CHECK(!db_conn_take_timeout(a));
	CHECK(sqlite3_exec(db_conn_sqlite(a), "COMMIT", 0, 0, 0) == SQLITE_OK);
	db_conn_leave(a);
	db_conn_close(a);
	db_conn_close(b);
	db_close(db);
	cleanup();
}

int main(void)
{
	T_RUN(wal_and_page_size);
	T_RUN(converts_page_size);
	T_RUN(not_a_database);
	T_RUN(steals_idle_writer);
	T_RUN(young_writer_is_not_stolen);
	return T_DONE();
}
