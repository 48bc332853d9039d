/* Unit tests of libclient/remote.c (and remote_sql.c, remote_err.c): SQL
 * splitting against sqlite3_prepare_v2's own tails, error mapping, and the
 * whole backend against the real sqld over ws:// and http://: every value
 * type, bindings by position and by name, errors with codes, explicit
 * transactions, changes / last_insert_rowid, multi-statement tails. */
#include "remote.h"
#include "remote_int.h"
#include "sqld_child.h"
#include "t.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

static struct sqld_child srv;
static char url[128];
static int table_seq;

/* ---------------- without a server ---------------- */

static void test_split_matches_sqlite(void)
{
	sqlite3 *db;
	sqlite3_open(":memory:", &db);
	sqlite3_exec(db, "CREATE TABLE x(a); CREATE TABLE y(b)", NULL, NULL, NULL);
	static const char *cases[] = {
		"  SELECT 1; SELECT 2",
		";SELECT 1",
		" ; ; SELECT 1;",
		"-- c\n",
		"/* x */ ; ",
		"SELECT 1 -- tail",
		"SELECT 1;-- c\n  ",
		"CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; SELECT 2; END; SELECT 3",
		"SELECT 'a;b'; x",
		"SELECT \"a;\" FROM (SELECT 1 AS \"a;\");SELECT 2",
		"",
		"SELECT 1",
		"SELECT 1 /* ; */ ; SELECT [x;y] FROM x",
		"INSERT INTO x VALUES(';');;;INSERT INTO y VALUES(2)",
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *sql = cases[i];
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		int rc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
		CHECK(rc == SQLITE_OK);
		struct remote_split sp;
		remote_split_sql(sql, strlen(sql), &sp);
		if ((size_t)(tail - sql) != sp.end)
			fprintf(stderr, "case %zu: sqlite tail at %td, ours at %zu\n", i, tail - sql, sp.end);
		CHECK((size_t)(tail - sql) == sp.end);
		CHECK((st != NULL) == (sp.len > 0));
		if (st)
			CHECK(strlen(sqlite3_sql(st)) == sp.end);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

static void test_keywords(void)
{
	CHECK(remote_keyword("  begin immediate", 17) == RKW_BEGIN);
	CHECK(remote_keyword("COMMIT", 6) == RKW_COMMIT);
	CHECK(remote_keyword("end transaction", 15) == RKW_COMMIT);
	CHECK(remote_keyword("ROLLBACK", 8) == RKW_ROLLBACK);
	CHECK(remote_keyword("rollback transaction to sp", 26) == RKW_ROLLBACK_TO);
	CHECK(remote_keyword("/* c */ insert into t values(1)", 31) == RKW_DML);
	CHECK(remote_keyword("BEGINNING", 9) == RKW_OTHER);
	CHECK(remote_keyword("SELECT 1", 8) == RKW_OTHER);
	char nm[64];
	CHECK(remote_savepoint_name("SAVEPOINT Ab_1", 14, nm, sizeof nm) == 4 && !strcmp(nm, "ab_1"));
	CHECK(remote_savepoint_name("release savepoint \"X y\"", 23, nm, sizeof nm) == 3 && !strcmp(nm, "x y"));
	CHECK(remote_savepoint_name("RELEASE [q]", 11, nm, sizeof nm) == 1 && !strcmp(nm, "q"));
	CHECK(remote_savepoint_name("SELECT 1", 8, nm, sizeof nm) == 0);
	CHECK(remote_param_hint("SELECT :a", 9) == REMOTE_P_NAMED);
	CHECK(remote_param_hint("SELECT @b, $c, ?", 16) == (REMOTE_P_NAMED | REMOTE_P_POSITIONAL));
	CHECK(remote_param_hint("SELECT ':a?', \"@b\" -- $c ?", 27) == 0);
	CHECK(remote_param_hint("SELECT ?1, ?", 12) == REMOTE_P_POSITIONAL);
	CHECK(remote_param_hint("SELECT 1 /* ? */", 16) == 0);
}

static void test_error_mapping(void)
{
	int ext;
	struct hr_error e1 = {.message = "SQLite error: UNIQUE constraint failed: t.x", .code = "SQLITE_CONSTRAINT"};
	CHECK(remote_map_error(&e1, &ext) == SQLITE_CONSTRAINT && ext == SQLITE_CONSTRAINT_UNIQUE);
	struct hr_error e2 = {.message = "NOT NULL constraint failed: t.x", .code = "SQLITE_CONSTRAINT"};
	CHECK(remote_map_error(&e2, &ext) == SQLITE_CONSTRAINT && ext == SQLITE_CONSTRAINT_NOTNULL);
	struct hr_error e3 = {.message = "x", .code = "SQLITE_CONSTRAINT", .extended_code = SQLITE_CONSTRAINT_PRIMARYKEY};
	CHECK(remote_map_error(&e3, &ext) == SQLITE_CONSTRAINT && ext == SQLITE_CONSTRAINT_PRIMARYKEY);
	struct hr_error e4 = {.message = "busy", .code = "SQLITE_BUSY"};
	CHECK(remote_map_error(&e4, &ext) == SQLITE_BUSY && ext == SQLITE_BUSY);
	struct hr_error e5 = {.message = "SQL input error: near \"x\": syntax error (at offset 0)", .code = "SQL_PARSE_ERROR"};
	CHECK(remote_map_error(&e5, &ext) == SQLITE_ERROR);
	struct hr_error e6 = {.message = "expired", .code = "TRANSACTION_TIMEOUT"};
	CHECK(remote_map_error(&e6, &ext) == SQLITE_ABORT && ext == SQLITE_ABORT_ROLLBACK);
	struct hr_error e7 = {.message = "no", .code = "AUTH_JWT_INVALID"};
	CHECK(remote_map_error(&e7, &ext) == SQLITE_AUTH);
	struct hr_error e8 = {.message = "?", .code = NULL};
	CHECK(remote_map_error(&e8, &ext) == SQLITE_ERROR);
	char m[128];
	remote_clean_message(m, sizeof m, e5.message);
	CHECK_STR(m, "near \"x\": syntax error");
	remote_clean_message(m, sizeof m, e1.message);
	CHECK_STR(m, "UNIQUE constraint failed: t.x");
}

/* ---------------- against sqld ---------------- */

/* Runs sql (one statement, no rows expected) and returns the step result. */
static int run(struct remote *r, const char *sql)
{
	struct remote_stmt *s = NULL;
	int rc = remote_prepare(r, sql, -1, &s, NULL);
	if (rc != SQLITE_OK || !s)
		return rc;
	while ((rc = remote_step(s)) == SQLITE_ROW)
		;
	remote_finalize(s);
	return rc;
}

/* The single integer a query returns, or INT64_MIN. */
static int64_t query_int(struct remote *r, const char *sql)
{
	struct remote_stmt *s = NULL;
	int64_t v = INT64_MIN;
	if (remote_prepare(r, sql, -1, &s, NULL) == SQLITE_OK && s && remote_step(s) == SQLITE_ROW &&
	    remote_column_value(s, 0)->type == HR_INTEGER)
		v = remote_column_value(s, 0)->i;
	remote_finalize(s);
	return v;
}

static struct remote *open_remote(void)
{
	struct remote *r = NULL;
	int rc = remote_open(url, NULL, 10000, &r);
	if (rc != SQLITE_OK)
		fprintf(stderr, "open %s: %s\n", url, r ? remote_errmsg(r) : "nomem");
	CHECK(rc == SQLITE_OK);
	return rc == SQLITE_OK ? r : (remote_close(r), NULL);
}

static void test_values(void)
{
	struct remote *r = open_remote();
	if (!r)
		return;
	struct remote_stmt *s = NULL;
	const char *sql = "SELECT NULL AS n, 42 AS i, -9223372036854775808 AS mn, 3.5 AS f, 'héllo' AS t, x'00ff10' AS b, "
			  "CAST(x'610062' AS TEXT) AS tn, 1e300 AS big";
	CHECK(remote_prepare(r, sql, -1, &s, NULL) == SQLITE_OK && s);
	CHECK(remote_step(s) == SQLITE_ROW);
	CHECK(remote_column_count(s) == 8);
	CHECK(remote_data_count(s) == 8);
	CHECK_STR(remote_column_name(s, 0), "n");
	CHECK_STR(remote_column_name(s, 6), "tn");
	CHECK(remote_column_value(s, 0)->type == HR_NULL);
	CHECK(remote_column_value(s, 1)->type == HR_INTEGER && remote_column_value(s, 1)->i == 42);
	CHECK(remote_column_value(s, 2)->type == HR_INTEGER && remote_column_value(s, 2)->i == INT64_MIN);
	CHECK(remote_column_value(s, 3)->type == HR_FLOAT && remote_column_value(s, 3)->f == 3.5);
	const struct hr_value *t = remote_column_value(s, 4);
	CHECK(t->type == HR_TEXT && t->n == 6 && memcmp(t->s, "héllo", 6) == 0);
	const struct hr_value *b = remote_column_value(s, 5);
	CHECK(b->type == HR_BLOB && b->n == 3 && memcmp(b->s, "\x00\xff\x10", 3) == 0);
	const struct hr_value *tn = remote_column_value(s, 6);
	CHECK(tn->type == HR_TEXT && tn->n == 3 && memcmp(tn->s, "a\0b", 3) == 0);
	CHECK(remote_column_value(s, 7)->type == HR_FLOAT && remote_column_value(s, 7)->f == 1e300);
	CHECK(remote_column_value(s, 8)->type == HR_NULL); /* out of range */
	CHECK(remote_step(s) == SQLITE_DONE);
	CHECK(remote_data_count(s) == 0);
	/* step after DONE runs it again, as sqlite3_step does */
	CHECK(remote_step(s) == SQLITE_ROW);
	CHECK(remote_reset(s) == SQLITE_OK);
	remote_finalize(s);
	remote_close(r);
}

static void test_bind_positional(void)
{
	struct remote *r = open_remote();
	if (!r)
		return;
	struct remote_stmt *s = NULL;
	CHECK(remote_prepare(r, "SELECT ?, ?, ?, ?, ?, typeof(?6), ?7", -1, &s, NULL) == SQLITE_OK && s);
	struct hr_value v[7] = {
		{.type = HR_INTEGER, .i = INT64_MAX},
		{.type = HR_FLOAT, .f = -0.125},
		{.type = HR_TEXT, .s = "a\"b\\c\n", .n = 6},
		{.type = HR_BLOB, .s = "\x01\x02\x00", .n = 3},
		{.type = HR_NULL},
		{.type = HR_BLOB, .s = "", .n = 0},
		{.type = HR_TEXT, .s = "x\0y", .n = 3},
	};
	for (int i = 0; i < 7; i++)
		CHECK(remote_bind(s, i + 1, &v[i]) == SQLITE_OK);
	CHECK(remote_bind(s, 0, &v[0]) == SQLITE_RANGE);
	CHECK(remote_step(s) == SQLITE_ROW);
	CHECK(remote_column_value(s, 0)->i == INT64_MAX);
	CHECK(remote_column_value(s, 1)->f == -0.125);
	CHECK(remote_column_value(s, 2)->n == 6 && !memcmp(remote_column_value(s, 2)->s, "a\"b\\c\n", 6));
	CHECK(remote_column_value(s, 3)->type == HR_BLOB && remote_column_value(s, 3)->n == 3);
	CHECK(remote_column_value(s, 4)->type == HR_NULL);
	CHECK(remote_column_value(s, 5)->type == HR_TEXT && !strcmp(remote_column_value(s, 5)->s, "blob"));
	CHECK(remote_column_value(s, 6)->n == 3 && !memcmp(remote_column_value(s, 6)->s, "x\0y", 3));
	/* binding while running is misuse; after reset it is fine */
	CHECK(remote_bind(s, 1, &v[4]) == SQLITE_MISUSE);
	remote_reset(s);
	CHECK(remote_bind(s, 1, &v[4]) == SQLITE_OK);
	CHECK(remote_step(s) == SQLITE_ROW && remote_column_value(s, 0)->type == HR_NULL);
	remote_reset(s);
	/* an unbound middle parameter is NULL */
	remote_clear_bindings(s);
	CHECK(remote_bind(s, 3, &v[0]) == SQLITE_OK);
	CHECK(remote_bind(s, 7, &v[0]) == SQLITE_OK);
	CHECK(remote_step(s) == SQLITE_ROW);
	CHECK(remote_column_value(s, 0)->type == HR_NULL && remote_column_value(s, 2)->i == INT64_MAX);
	remote_finalize(s);
	remote_close(r);
}

static void test_bind_named(void)
{
	struct remote *r = open_remote();
	if (!r)
		return;
	struct remote_stmt *s = NULL;
	CHECK(remote_prepare(r, "SELECT :a, @b, $c, :a || 'x'", -1, &s, NULL) == SQLITE_OK && s);
	CHECK(remote_bind_parameter_count(s) == 3);
	CHECK_STR(remote_bind_parameter_name(s, 1), ":a");
	CHECK_STR(remote_bind_parameter_name(s, 2), "@b");
	CHECK_STR(remote_bind_parameter_name(s, 3), "$c");
	CHECK(remote_bind_parameter_name(s, 4) == NULL);
	CHECK(remote_bind_parameter_index(s, "@b") == 2);
	CHECK(remote_bind_parameter_index(s, "b") == 0);
	CHECK(remote_column_count(s) == 4); /* before the first step: describe */
	struct hr_value a = {.type = HR_TEXT, .s = "A", .n = 1}, c = {.type = HR_INTEGER, .i = 7};
	CHECK(remote_bind(s, 1, &a) == SQLITE_OK);
	CHECK(remote_bind(s, 3, &c) == SQLITE_OK);
	CHECK(remote_bind(s, 4, &c) == SQLITE_RANGE);
	CHECK(remote_step(s) == SQLITE_ROW);
	CHECK(remote_column_value(s, 0)->type == HR_TEXT && !strcmp(remote_column_value(s, 0)->s, "A"));
	CHECK(remote_column_value(s, 1)->type == HR_NULL); /* unbound */
	CHECK(remote_column_value(s, 2)->type == HR_INTEGER && remote_column_value(s, 2)->i == 7);
	CHECK(!strcmp(remote_column_value(s, 3)->s, "Ax"));
	remote_finalize(s);
	/* never bound at all: NULLs, as in SQLite */
	CHECK(remote_prepare(r, "SELECT :a IS NULL, @b IS NULL", -1, &s, NULL) == SQLITE_OK && s);
	CHECK(remote_step(s) == SQLITE_ROW);
	CHECK(remote_column_value(s, 0)->i == 1 && remote_column_value(s, 1)->i == 1);
	remote_finalize(s);
	CHECK(remote_prepare(r, "SELECT ? IS NULL", -1, &s, NULL) == SQLITE_OK && s);
	CHECK(remote_step(s) == SQLITE_ROW && remote_column_value(s, 0)->i == 1);
	remote_finalize(s);
	/* a positional statement has nameless parameters */
	CHECK(remote_prepare(r, "SELECT ?, ?5", -1, &s, NULL) == SQLITE_OK && s);
	CHECK(remote_bind_parameter_count(s) == 5);
	CHECK(remote_bind_parameter_name(s, 1) == NULL);
	CHECK_STR(remote_bind_parameter_name(s, 5), "?5");
	remote_finalize(s);
	remote_close(r);
}

static void test_errors(void)
{
	struct remote *r = open_remote();
	if (!r)
		return;
	char sql[200];
	int t = ++table_seq;
	snprintf(sql, sizeof sql, "CREATE TABLE e%d(x UNIQUE NOT NULL, y CHECK (y > 0))", t);
	CHECK(run(r, sql) == SQLITE_DONE);
	snprintf(sql, sizeof sql, "INSERT INTO e%d VALUES (1, 1)", t);
	CHECK(run(r, sql) == SQLITE_DONE);
	CHECK(run(r, sql) == SQLITE_CONSTRAINT);
	CHECK(remote_errcode(r) == SQLITE_CONSTRAINT);
	CHECK(remote_extended_errcode(r) == SQLITE_CONSTRAINT_UNIQUE);
	CHECK(strstr(remote_errmsg(r), "UNIQUE constraint failed") == remote_errmsg(r));
	snprintf(sql, sizeof sql, "INSERT INTO e%d VALUES (NULL, 1)", t);
	CHECK(run(r, sql) == SQLITE_CONSTRAINT && remote_extended_errcode(r) == SQLITE_CONSTRAINT_NOTNULL);
	snprintf(sql, sizeof sql, "INSERT INTO e%d VALUES (5, -1)", t);
	CHECK(run(r, sql) == SQLITE_CONSTRAINT && remote_extended_errcode(r) == SQLITE_CONSTRAINT_CHECK);
	CHECK(run(r, "SELEC 1") == SQLITE_ERROR);
	CHECK(strstr(remote_errmsg(r), "syntax error") != NULL);
	CHECK(run(r, "SELECT * FROM no_such_table") == SQLITE_ERROR);
	CHECK(strstr(remote_errmsg(r), "no such table") != NULL);
	/* a failed statement: reset reports the error, the next run works */
	struct remote_stmt *s = NULL;
	CHECK(remote_prepare(r, "SELECT * FROM no_such_table", -1, &s, NULL) == SQLITE_OK);
	CHECK(remote_step(s) == SQLITE_ERROR);
	CHECK(remote_reset(s) == SQLITE_ERROR);
	CHECK(remote_reset(s) == SQLITE_OK);
	remote_finalize(s);
	CHECK(query_int(r, "SELECT 5") == 5);
	CHECK(remote_errcode(r) == SQLITE_OK);
	remote_close(r);
}

static void test_transactions(void)
{
	struct remote *r = open_remote(), *o = open_remote();
	if (!r || !o) {
		remote_close(r);
		remote_close(o);
		return;
	}
	char sql[200];
	int t = ++table_seq;
	snprintf(sql, sizeof sql, "CREATE TABLE tx%d(k INTEGER PRIMARY KEY, v)", t);
	CHECK(run(r, sql) == SQLITE_DONE);
	CHECK(remote_get_autocommit(r));
	CHECK(run(r, "BEGIN") == SQLITE_DONE);
	CHECK(!remote_get_autocommit(r));
	snprintf(sql, sizeof sql, "INSERT INTO tx%d(v) VALUES ('a'), ('b')", t);
	CHECK(run(r, sql) == SQLITE_DONE);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM tx%d", t);
	CHECK(query_int(r, sql) == 2);
	CHECK(query_int(o, sql) == 0); /* another stream does not see it yet */
	CHECK(!remote_get_autocommit(r));
	CHECK(run(r, "ROLLBACK") == SQLITE_DONE);
	CHECK(remote_get_autocommit(r));
	CHECK(query_int(r, sql) == 0);
	CHECK(run(r, "BEGIN IMMEDIATE") == SQLITE_DONE);
	snprintf(sql, sizeof sql, "INSERT INTO tx%d(v) VALUES ('c')", t);
	CHECK(run(r, sql) == SQLITE_DONE);
	CHECK(run(r, "COMMIT") == SQLITE_DONE);
	CHECK(remote_get_autocommit(r));
	snprintf(sql, sizeof sql, "SELECT count(*) FROM tx%d", t);
	CHECK(query_int(o, sql) == 1);
	/* savepoints */
	CHECK(run(r, "SAVEPOINT sp1") == SQLITE_DONE);
	CHECK(!remote_get_autocommit(r));
	CHECK(run(r, "SAVEPOINT \"Sp2\"") == SQLITE_DONE);
	CHECK(run(r, "RELEASE sp2") == SQLITE_DONE);
	CHECK(!remote_get_autocommit(r));
	CHECK(run(r, "SAVEPOINT sp3") == SQLITE_DONE);
	CHECK(run(r, "RELEASE SAVEPOINT SP1") == SQLITE_DONE); /* releases sp3 too */
	CHECK(remote_get_autocommit(r));
	CHECK(run(r, "BEGIN") == SQLITE_DONE);
	CHECK(run(r, "SAVEPOINT sp4") == SQLITE_DONE);
	CHECK(run(r, "RELEASE sp4") == SQLITE_DONE);
	CHECK(!remote_get_autocommit(r)); /* BEGIN's transaction stays */
	CHECK(run(r, "ROLLBACK") == SQLITE_DONE);
	CHECK(remote_get_autocommit(r));
	/* an error inside a transaction keeps it open (SQLite semantics) */
	CHECK(run(r, "BEGIN") == SQLITE_DONE);
	CHECK(run(r, "SELECT * FROM nope") == SQLITE_ERROR);
	CHECK(!remote_get_autocommit(r));
	CHECK(run(r, "COMMIT") == SQLITE_DONE);
	CHECK(remote_get_autocommit(r));
	remote_close(r);
	remote_close(o);
}

static void test_changes(void)
{
	struct remote *r = open_remote();
	if (!r)
		return;
	char sql[200];
	int t = ++table_seq;
	snprintf(sql, sizeof sql, "CREATE TABLE ch%d(k INTEGER PRIMARY KEY, v)", t);
	CHECK(run(r, sql) == SQLITE_DONE);
	int64_t total0 = remote_total_changes(r);
	snprintf(sql, sizeof sql, "INSERT INTO ch%d(k, v) VALUES (10, 'a'), (20, 'b'), (30, 'c')", t);
	CHECK(run(r, sql) == SQLITE_DONE);
	CHECK(remote_changes(r) == 3);
	CHECK(remote_last_insert_rowid(r) == 30);
	uint64_t ri = 0;
	CHECK(remote_replication_index(r, &ri) && ri > 0);
	snprintf(sql, sizeof sql, "UPDATE ch%d SET v = 'z' WHERE k >= 20", t);
	CHECK(run(r, sql) == SQLITE_DONE);
	CHECK(remote_changes(r) == 2);
	CHECK(remote_last_insert_rowid(r) == 30);
	uint64_t ri2 = 0;
	CHECK(remote_replication_index(r, &ri2) && ri2 > ri);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM ch%d", t);
	CHECK(query_int(r, sql) == 3);
	CHECK(remote_changes(r) == 2); /* a SELECT leaves changes() alone */
	snprintf(sql, sizeof sql, "DELETE FROM ch%d WHERE k = 999", t);
	CHECK(run(r, sql) == SQLITE_DONE);
	CHECK(remote_changes(r) == 0);
	CHECK(remote_total_changes(r) - total0 == 5);
	remote_close(r);
}

static void test_tail(void)
{
	struct remote *r = open_remote();
	if (!r)
		return;
	char sql[400];
	int t = ++table_seq;
	snprintf(sql, sizeof sql,
		 "CREATE TABLE tl%d(x); INSERT INTO tl%d VALUES (';'); -- c\n INSERT INTO tl%d VALUES (2);\n"
		 "SELECT count(*), min(x) FROM tl%d; /* end */ ",
		 t, t, t, t);
	const char *p = sql;
	int nstmts = 0, rows = 0;
	while (*p) {
		struct remote_stmt *s = NULL;
		const char *tail = NULL;
		CHECK(remote_prepare(r, p, -1, &s, &tail) == SQLITE_OK);
		CHECK(tail > p);
		if (!s) {
			CHECK(*tail == 0);
			p = tail;
			continue;
		}
		nstmts++;
		int rc;
		while ((rc = remote_step(s)) == SQLITE_ROW) {
			rows++;
			CHECK(remote_column_value(s, 0)->i == 2);
			CHECK(remote_column_value(s, 1)->type == HR_INTEGER && remote_column_value(s, 1)->i == 2);
		}
		CHECK(rc == SQLITE_DONE);
		remote_finalize(s);
		p = tail;
	}
	CHECK(nstmts == 4);
	CHECK(rows == 1);
	/* nbytes bounds the text */
	struct remote_stmt *s = NULL;
	const char *tail = NULL;
	CHECK(remote_prepare(r, "SELECT 1; SELECT 2", 8, &s, &tail) == SQLITE_OK && s);
	CHECK_STR(remote_sql(s), "SELECT 1");
	CHECK(remote_step(s) == SQLITE_ROW && remote_column_value(s, 0)->i == 1);
	remote_finalize(s);
	remote_close(r);
}

static void test_columns(void)
{
	struct remote *r = open_remote();
	if (!r)
		return;
	char sql[200];
	int t = ++table_seq;
	snprintf(sql, sizeof sql, "CREATE TABLE co%d(a INTEGER, b VARCHAR(10))", t);
	CHECK(run(r, sql) == SQLITE_DONE);
	snprintf(sql, sizeof sql, "SELECT a, b AS bee FROM co%d", t);
	struct remote_stmt *s = NULL;
	CHECK(remote_prepare(r, sql, -1, &s, NULL) == SQLITE_OK && s);
	CHECK(remote_stmt_readonly(s));
	CHECK(remote_column_count(s) == 2);
	CHECK_STR(remote_column_name(s, 1), "bee");
	CHECK_STR(remote_column_decltype(s, 0), "INTEGER");
	CHECK(remote_step(s) == SQLITE_DONE);
	CHECK_STR(remote_column_decltype(s, 1), "VARCHAR(10)");
	CHECK(remote_column_name(s, 2) == NULL);
	remote_finalize(s);
	snprintf(sql, sizeof sql, "INSERT INTO co%d VALUES (1, 'x')", t);
	CHECK(remote_prepare(r, sql, -1, &s, NULL) == SQLITE_OK && s);
	CHECK(!remote_stmt_readonly(s));
	remote_finalize(s);
	remote_close(r);
}

static void test_open_errors(void)
{
	struct remote *r = NULL;
	/* a port nobody listens on (sqld's port + a wrap-around guess is racy;
	 * port 1 on loopback is refused) */
	CHECK(remote_open("ws://127.0.0.1:1", NULL, 2000, &r) == SQLITE_CANTOPEN);
	CHECK(r && strstr(remote_errmsg(r), "127.0.0.1") != NULL);
	remote_close(r);
	CHECK(remote_open("http://127.0.0.1:1", NULL, 2000, &r) == SQLITE_CANTOPEN);
	remote_close(r);
	CHECK(remote_open("ftp://x", NULL, 2000, &r) == SQLITE_CANTOPEN);
	remote_close(r);
}


/* ---------------- a TCP proxy in front of sqld that can cut connections ---------------- */

static int px_lfd, px_port;
static _Atomic int px_cut, px_stop;
static pthread_t px_th;

static int px_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void *px_main(void *arg)
{
	int fds[64];
	int n = 0; /* pairs: fds[2k] client side, fds[2k+1] sqld side */
	while (!px_stop) {
		if (px_cut) {
			for (int i = 0; i < n; i++)
				close(fds[i]);
			n = 0;
			px_cut = 0;
		}
		struct pollfd p[65];
		p[0] = (struct pollfd){.fd = px_lfd, .events = POLLIN};
		for (int i = 0; i < n; i++)
			p[i + 1] = (struct pollfd){.fd = fds[i], .events = POLLIN};
		int polled = n; /* pairs accepted below are polled next time */
		if (poll(p, (nfds_t)n + 1, 20) <= 0)
			continue;
		if ((p[0].revents & POLLIN) && n + 2 <= 64) {
			int c = accept(px_lfd, NULL, NULL);
			int s2 = c >= 0 ? px_connect(srv.port) : -1;
			if (c >= 0 && s2 >= 0) {
				fds[n++] = c;
				fds[n++] = s2;
			} else if (c >= 0) {
				close(c);
			}
		}
		for (int i = 0; i < polled; i++) {
			if (!(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[65536];
			ssize_t k = read(fds[i], buf, sizeof buf);
			int peer = fds[i ^ 1];
			if (k > 0 && write(peer, buf, (size_t)k) == k)
				continue;
			/* one side ended: drop the pair */
			int a = i & ~1;
			close(fds[a]);
			close(fds[a + 1]);
			fds[a] = fds[n - 2];
			fds[a + 1] = fds[n - 1];
			n -= 2;
			break; /* indexes changed: poll again */
		}
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return NULL;
}

static void px_start(void)
{
	px_lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(px_lfd, (struct sockaddr *)&a, sizeof a);
	listen(px_lfd, 16);
	socklen_t l = sizeof a;
	getsockname(px_lfd, (struct sockaddr *)&a, &l);
	px_port = ntohs(a.sin_port);
	pthread_create(&px_th, NULL, px_main, NULL);
}

static void px_stop_all(void)
{
	px_stop = 1;
	pthread_join(px_th, NULL);
	close(px_lfd);
}

static void px_cut_now(void)
{
	px_cut = 1;
	while (px_cut)
		usleep(5000);
}

/* A cut connection: a WebSocket statement in flight fails with IOERR and the
 * next one reconnects (a new stream: autocommit again); HTTP reconnects
 * under the same baton and the transaction survives. */
static void test_reconnect(void)
{
	char purl[64];
	bool ws = !strncmp(url, "ws", 2);
	snprintf(purl, sizeof purl, "%s://127.0.0.1:%d", ws ? "ws" : "http", px_port);
	struct remote *r = NULL;
	int orc = remote_open(purl, NULL, 5000, &r);
	if (orc != SQLITE_OK)
		fprintf(stderr, "open %s: %s\n", purl, r ? remote_errmsg(r) : "nomem");
	CHECK(orc == SQLITE_OK);
	if (orc != SQLITE_OK) {
		remote_close(r);
		return;
	}
	char sql[200];
	int t = ++table_seq;
	snprintf(sql, sizeof sql, "CREATE TABLE rc%d(x)", t);
	CHECK(run(r, sql) == SQLITE_DONE);
	CHECK(run(r, "BEGIN") == SQLITE_DONE);
	snprintf(sql, sizeof sql, "INSERT INTO rc%d VALUES (1)", t);
	CHECK(run(r, sql) == SQLITE_DONE);
	px_cut_now();
	snprintf(sql, sizeof sql, "SELECT count(*) FROM rc%d", t);
	if (ws) {
		CHECK(query_int(r, sql) == INT64_MIN);
		CHECK(remote_errcode(r) == SQLITE_IOERR);
		CHECK(query_int(r, sql) == 0); /* reconnected; the transaction is gone */
		CHECK(remote_get_autocommit(r));
	} else {
		CHECK(query_int(r, sql) == 1); /* same stream, new TCP connection */
		CHECK(!remote_get_autocommit(r));
		CHECK(run(r, "COMMIT") == SQLITE_DONE);
		CHECK(remote_get_autocommit(r));
	}
	remote_close(r);
}

/* HTTP streams expire after 10 s idle in sqld: outside a transaction a new
 * stream replaces the old one unseen; inside one the statement fails with
 * SQLITE_ABORT and the connection is back in autocommit mode. */
static void test_http_expiry(void)
{
	struct remote *a = open_remote(), *b = open_remote();
	if (!a || !b) {
		remote_close(a);
		remote_close(b);
		return;
	}
	CHECK(query_int(a, "SELECT 1") == 1);
	CHECK(run(b, "BEGIN") == SQLITE_DONE);
	CHECK(query_int(b, "SELECT 2") == 2);
	sleep(12);
	CHECK(query_int(a, "SELECT 3") == 3);
	CHECK(remote_get_autocommit(a));
	CHECK(query_int(b, "SELECT 4") == INT64_MIN);
	CHECK(remote_errcode(b) == SQLITE_ABORT);
	CHECK(strstr(remote_errmsg(b), "expired") != NULL);
	CHECK(remote_get_autocommit(b));
	CHECK(query_int(b, "SELECT 5") == 5); /* and a new stream from then on */
	remote_close(a);
	remote_close(b);
}

static void suite(const char *scheme)
{
	snprintf(url, sizeof url, "%s://127.0.0.1:%d", scheme, srv.port);
	fprintf(stderr, "-- %s\n", url);
	T_RUN(test_values);
	T_RUN(test_bind_positional);
	T_RUN(test_bind_named);
	T_RUN(test_errors);
	T_RUN(test_transactions);
	T_RUN(test_changes);
	T_RUN(test_tail);
	T_RUN(test_columns);
	T_RUN(test_reconnect);
}

int main(void)
{
	alarm(300); /* a hung server must not hang the suite */
	T_RUN(test_split_matches_sqlite);
	T_RUN(test_keywords);
	T_RUN(test_error_mapping);
	T_RUN(test_open_errors);
	if (sqld_start(&srv) != 0) {
		t_fail++;
		return T_DONE();
	}
	px_start();
	suite("ws");
	remote_ws_protocols = "hrana2"; /* no get_autocommit: statements are followed */
	fprintf(stderr, "(hrana2)\n");
	suite("ws");
	remote_ws_protocols = "hrana3, hrana2";
	suite("http");
	T_RUN(test_http_expiry);
	px_stop_all();
	sqld_stop(&srv);
	return T_DONE();
}
