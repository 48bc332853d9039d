/* replica: an embedded replica with sync and read-your-writes.
 *
 *   replica PATH SYNC_URL     e.g. replica /tmp/app.db http://127.0.0.1:8080
 *
 * PATH is a local SQLite file kept in step with the primary at SYNC_URL.
 * Reads run on PATH at in-process SQLite speed; writes go to the primary;
 * after a write, the next read on this connection already sees it. */
#include <sqlwire.h>
#include <stdio.h>

static int fail(sqlwire *db, const char *what)
{
	fprintf(stderr, "replica: %s: %s (%d)\n", what, sqlwire_errmsg(db), sqlwire_extended_errcode(db));
	sqlwire_close(db);
	return 1;
}

static long long count(sqlwire *db)
{
	sqlwire_stmt *st = NULL;
	long long n = -1;
	if (sqlwire_prepare_v2(db, "SELECT count(*) FROM notes", -1, &st, NULL) == SQLWIRE_OK &&
	    sqlwire_step(st) == SQLWIRE_ROW)
		n = sqlwire_column_int64(st, 0);
	sqlwire_finalize(st);
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: replica PATH SYNC_URL\n");
		return 2;
	}
	sqlwire_config cfg;
	sqlwire_config_init(&cfg); /* read_your_writes = 1 */
	cfg.sync_url = argv[2];
	sqlwire *db = NULL;
	if (sqlwire_open_config(argv[1], &db, SQLWIRE_OPEN_READWRITE | SQLWIRE_OPEN_CREATE, &cfg) != SQLWIRE_OK)
		return fail(db, "open");

	/* pull what the primary has */
	sqlwire_sync_info info;
	if (sqlwire_sync(db, &info) != SQLWIRE_OK)
		return fail(db, "sync");
	printf("synced: frame_no=%llu frames_applied=%llu\n", info.has_frame ? info.frame_no : 0ULL,
	       info.frames_applied);

	/* writes go to the primary... */
	if (sqlwire_exec(db, "CREATE TABLE IF NOT EXISTS notes(id INTEGER PRIMARY KEY, body TEXT)", NULL, NULL,
			 NULL) != SQLWIRE_OK)
		return fail(db, "create");
	long long before = count(db);
	sqlwire_stmt *ins = NULL;
	if (sqlwire_prepare_v2(db, "INSERT INTO notes(body) VALUES(?)", -1, &ins, NULL) != SQLWIRE_OK)
		return fail(db, "prepare");
	sqlwire_bind_text(ins, 1, "written through the replica", -1, SQLWIRE_STATIC);
	if (sqlwire_step(ins) != SQLWIRE_DONE)
		return fail(db, "insert");
	sqlwire_finalize(ins);
	printf("inserted rowid %lld on the primary\n", sqlwire_last_insert_rowid(db));

	/* ...and the next local read sees them (read-your-writes) */
	long long after = count(db);
	if (after < 0)
		return fail(db, "count");
	printf("local count: %lld -> %lld\n", before, after);
	sqlwire_sync_position(db, &info);
	printf("replica at frame %llu\n", info.frame_no);
	int ok = after == before + 1;
	sqlwire_close(db);
	printf("%s\n", ok ? "read-your-writes: ok" : "read-your-writes: FAILED");
	return ok ? 0 : 1;
}
