/* remote_query: libsqlwire against a remote database.
 *
 *   remote_query URL        e.g. ws://127.0.0.1:8080 or http://127.0.0.1:8080
 *                           (libsql://host?authToken=... for a hosted one)
 *
 * Opens the URL (one Hrana stream), creates a table, inserts rows with bound
 * parameters inside an explicit transaction, and queries them back. Every
 * call is the sqlite3 call of the same name with sqlwire_ in front. */
#include <sqlwire.h>
#include <stdio.h>

static int fail(sqlwire *db, const char *what)
{
	fprintf(stderr, "remote_query: %s: %s (%d)\n", what, sqlwire_errmsg(db), sqlwire_extended_errcode(db));
	sqlwire_close(db);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: remote_query URL\n");
		return 2;
	}
	sqlwire *db = NULL;
	if (sqlwire_open(argv[1], &db) != SQLWIRE_OK)
		return fail(db, "open");
	if (sqlwire_exec(db, "CREATE TABLE IF NOT EXISTS fruit(id INTEGER PRIMARY KEY, name TEXT, price REAL)", NULL,
			 NULL, NULL) != SQLWIRE_OK)
		return fail(db, "create");

	/* an explicit transaction: every statement runs on this connection's stream */
	if (sqlwire_exec(db, "BEGIN", NULL, NULL, NULL) != SQLWIRE_OK)
		return fail(db, "begin");
	sqlwire_stmt *ins = NULL;
	if (sqlwire_prepare_v2(db, "INSERT INTO fruit(name, price) VALUES(?, ?)", -1, &ins, NULL) != SQLWIRE_OK)
		return fail(db, "prepare insert");
	const char *names[] = {"apple", "pear", "plum"};
	for (int i = 0; i < 3; i++) {
		sqlwire_bind_text(ins, 1, names[i], -1, SQLWIRE_STATIC);
		sqlwire_bind_double(ins, 2, 1.25 * (i + 1));
		if (sqlwire_step(ins) != SQLWIRE_DONE)
			return fail(db, "insert");
		sqlwire_reset(ins);
	}
	sqlwire_finalize(ins);
	printf("in transaction: autocommit=%d last_insert_rowid=%lld\n", sqlwire_get_autocommit(db),
	       sqlwire_last_insert_rowid(db));
	if (sqlwire_exec(db, "COMMIT", NULL, NULL, NULL) != SQLWIRE_OK)
		return fail(db, "commit");

	sqlwire_stmt *q = NULL;
	if (sqlwire_prepare_v2(db, "SELECT name, price FROM fruit WHERE price > ?1 ORDER BY id", -1, &q, NULL) !=
	    SQLWIRE_OK)
		return fail(db, "prepare select");
	sqlwire_bind_double(q, 1, 1.0);
	int rc, n = 0;
	while ((rc = sqlwire_step(q)) == SQLWIRE_ROW) {
		printf("%s %s %.2f\n", sqlwire_column_name(q, 0), sqlwire_column_text(q, 0), sqlwire_column_double(q, 1));
		n++;
	}
	if (rc != SQLWIRE_DONE)
		return fail(db, "select");
	sqlwire_finalize(q);
	printf("rows: %d\n", n);
	return sqlwire_close(db) == SQLWIRE_OK ? 0 : 1;
}
