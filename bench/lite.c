/* lite: the in-process SQLite baseline: the same file settings as sqld's
 * primary (WAL, 4096-byte pages, synchronous=FULL unless told otherwise),
 * statements prepared once and reset after each use. */
#include "bench.h"
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lite {
	sqlite3 *db;
	sqlite3_stmt *sel, *ins;
};

struct lite *lite_open(const char *path)
{
	struct lite *l = calloc(1, sizeof *l);
	if (!l)
		die("out of memory");
	if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		die("sqlite open %s: %s", path, sqlite3_errmsg(l->db));
	lite_exec(l, "PRAGMA page_size=4096");
	lite_exec(l, "PRAGMA journal_mode=WAL");
	lite_exec(l, "PRAGMA synchronous=FULL");
	return l;
}

void lite_exec(struct lite *l, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(l->db, sql, NULL, NULL, &err) != SQLITE_OK)
		die("sqlite: %s: %s", sql, err);
}

void lite_point(struct lite *l, int key)
{
	if (!l->sel && sqlite3_prepare_v2(l->db, "SELECT v FROM kv WHERE k = ?", -1, &l->sel, NULL) != SQLITE_OK)
		die("sqlite prepare: %s", sqlite3_errmsg(l->db));
	char want[64];
	snprintf(want, sizeof want, BENCH_VALUE_FMT, key);
	sqlite3_bind_int(l->sel, 1, key);
	if (sqlite3_step(l->sel) != SQLITE_ROW)
		die("sqlite point read of %d: %s", key, sqlite3_errmsg(l->db));
	const char *v = (const char *)sqlite3_column_text(l->sel, 0);
	if (!v || strcmp(v, want) != 0)
		die("sqlite point read of %d: got '%s'", key, v ? v : "NULL");
	if (sqlite3_step(l->sel) != SQLITE_DONE)
		die("sqlite point read of %d: more than one row", key);
	sqlite3_reset(l->sel);
}

void lite_insert(struct lite *l, const char *v)
{
	if (!l->ins && sqlite3_prepare_v2(l->db, "INSERT INTO ins(v) VALUES (?)", -1, &l->ins, NULL) != SQLITE_OK)
		die("sqlite prepare: %s", sqlite3_errmsg(l->db));
	sqlite3_bind_text(l->ins, 1, v, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(l->ins) != SQLITE_DONE || sqlite3_changes(l->db) != 1)
		die("sqlite insert: %s", sqlite3_errmsg(l->db));
	sqlite3_reset(l->ins);
}

void lite_close(struct lite *l)
{
	if (l) {
		sqlite3_finalize(l->sel);
		sqlite3_finalize(l->ins);
		sqlite3_close(l->db);
		free(l);
	}
}
