/* compat_sqlite3: an ordinary sqlite3 program. Nothing in it knows about
 * sqlwire: built with `cc $(pkg-config --cflags --libs sqlite3)` it uses
 * SQLite; built with `cc $(pkg-config --cflags --libs sqlwire-sqlite3)` the
 * same source runs on libsqlwire, and then its filename argument may also be
 *   file:app.db?sync_url=http://host:8080   an embedded replica
 *   ws://host:8080 or http://host:8080        a remote database
 *
 *   compat_sqlite3 FILENAME */
#include <sqlite3.h>
#include <stdio.h>

static int print_row(void *arg, int n, char **vals, char **names)
{
	(void)arg;
	for (int i = 0; i < n; i++)
		printf("%s%s=%s", i ? " " : "", names[i], vals[i] ? vals[i] : "NULL");
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: compat_sqlite3 FILENAME\n");
		return 2;
	}
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "open: %s\n", sqlite3_errmsg(db));
		sqlite3_close(db);
		return 1;
	}
	char *err = NULL;
	rc = sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS kv(k TEXT PRIMARY KEY, v INTEGER)", NULL, NULL, &err);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "create: %s\n", err);
		sqlite3_free(err);
		sqlite3_close(db);
		return 1;
	}
	sqlite3_stmt *st = NULL;
	rc = sqlite3_prepare_v2(db, "INSERT INTO kv(k, v) VALUES(?1, ?2) ON CONFLICT(k) DO UPDATE SET v = v + ?2", -1, &st,
				NULL);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "prepare: %s\n", sqlite3_errmsg(db));
		sqlite3_close(db);
		return 1;
	}
	sqlite3_bind_text(st, 1, "visits", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)1);
	if (sqlite3_step(st) != SQLITE_DONE) {
		fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		sqlite3_close(db);
		return 1;
	}
	printf("changes=%d\n", sqlite3_changes(db));
	sqlite3_finalize(st);

	/* a constraint error reads as SQLite's */
	rc = sqlite3_exec(db, "INSERT INTO kv(k, v) VALUES('visits', 0)", NULL, NULL, &err);
	printf("duplicate: rc=%d extended=%d msg=%s\n", rc, sqlite3_extended_errcode(db), err ? err : "");
	sqlite3_free(err);

	rc = sqlite3_exec(db, "SELECT k, v, typeof(v) AS t FROM kv ORDER BY k", print_row, NULL, &err);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "select: %s\n", err);
		sqlite3_free(err);
	}
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : 1;
}
