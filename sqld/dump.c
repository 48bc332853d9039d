/* dump: see dump.h.
 *
 * FORMAT of the text (UTF-8, one statement per line unless a value holds a
 * newline):
 *   PRAGMA foreign_keys=OFF;
 *   BEGIN TRANSACTION;
 *   <CREATE TABLE ...>;                 every ordinary table, in schema order
 *   INSERT INTO "<t>" VALUES(<v>,...);  its rows
 *   DELETE FROM sqlite_sequence;        when AUTOINCREMENT is used, then its rows
 *   <CREATE INDEX|TRIGGER|VIEW ...>;    in schema order
 *   COMMIT;
 * Values: NULL; integers in decimal; reals with 17 significant digits and a
 * decimal point (Inf as 1e999, NaN as NULL); text as '...' with ' doubled
 * (text holding a NUL byte as CAST(X'..' AS TEXT)); blobs as X'hex'.
 *
 * State machine of a call (c->phase): P_START (open, BEGIN, header) →
 * P_TABLES (next table: its CREATE, then P_ROWS) → P_ROWS (INSERTs until the
 * table ends, back to P_TABLES) → P_OTHERS (indexes, triggers, views) →
 * P_DONE (COMMIT written, connection closed). Invariant: the call's
 * statements and connection are touched only by its job, one at a time. */
#include "dump.h"
#include "buf.h"
#include "db.h"
#include "exec.h"
#include "log.h"
#include "ns.h"
#include "work.h"
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { P_START, P_TABLES, P_ROWS, P_OTHERS, P_DONE };

struct dump_call {
	struct work_job w; /* first: jobs are cast back to calls */
	struct ns *ns;
	void *owner;       /* NULL once cancelled or finished */
	bool submitted;
	bool finished;     /* out ends the dump */
	int phase;
	struct db_conn *conn;
	sqlite3_stmt *tables, *rows, *others;
	char *table;       /* the table whose rows are being dumped */
	struct buf out;
};

static struct {
	struct dump_ops ops;
	size_t busy;
} D;

static void dump_quote_ident(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_putc(b, '"');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

static void dump_hex(struct buf *b, const unsigned char *p, int n)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < n; i++) {
		buf_putc(b, hex[p[i] >> 4]);
		buf_putc(b, hex[p[i] & 15]);
	}
}

static void dump_value(struct buf *b, sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		buf_printf(b, "%lld", (long long)sqlite3_column_int64(st, i));
		break;
	case SQLITE_FLOAT: {
		double d = sqlite3_column_double(st, i);
		if (isnan(d)) {
			buf_puts(b, "NULL");
		} else if (isinf(d)) {
			buf_puts(b, d < 0 ? "-1e999" : "1e999");
		} else {
			char *s = sqlite3_mprintf("%!.17g", d);
			buf_puts(b, s ? s : "0.0");
			sqlite3_free(s);
		}
		break;
	}
	case SQLITE_TEXT: {
		const unsigned char *t = sqlite3_column_text(st, i);
		int n = sqlite3_column_bytes(st, i);
		if (memchr(t, 0, (size_t)n)) {
			buf_puts(b, "CAST(X'");
			dump_hex(b, t, n);
			buf_puts(b, "' AS TEXT)");
			break;
		}
		buf_putc(b, '\'');
		for (int k = 0; k < n; k++) {
			if (t[k] == '\'')
				buf_putc(b, '\'');
			buf_putc(b, (char)t[k]);
		}
		buf_putc(b, '\'');
		break;
	}
	case SQLITE_BLOB:
		buf_puts(b, "X'");
		dump_hex(b, sqlite3_column_blob(st, i), sqlite3_column_bytes(st, i));
		buf_putc(b, '\'');
		break;
	default:
		buf_puts(b, "NULL");
	}
}

static void dump_close_conn(struct dump_call *c)
{
	sqlite3_finalize(c->tables);
	sqlite3_finalize(c->rows);
	sqlite3_finalize(c->others);
	c->tables = c->rows = c->others = NULL;
	free(c->table);
	c->table = NULL;
	if (c->conn) {
		sqlite3_exec(db_conn_sqlite(c->conn), "COMMIT", NULL, NULL, NULL); /* ends the read */
		db_conn_close(c->conn);
		c->conn = NULL;
	}
}

static void dump_run_close(struct work_job *w)
{
	dump_close_conn((struct dump_call *)w);
}

static void dump_fail(struct dump_call *c, const char *what)
{
	const char *msg = c->conn ? sqlite3_errmsg(db_conn_sqlite(c->conn)) : "";
	log_warn("dump of %s: %s: %s", ns_name(c->ns), what, msg);
	buf_printf(&c->out, "-- error: %s: %s\n", what, msg);
	c->finished = true;
	c->phase = P_DONE;
}

static int dump_prepare(struct dump_call *c, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(db_conn_sqlite(c->conn), sql, -1, st, NULL) == SQLITE_OK ? 0 : -1;
}

/* One chunk. */
static void dump_run(struct work_job *w)
{
	struct dump_call *c = (struct dump_call *)w;
	buf_free(&c->out);
	if (c->phase == P_START) {
		struct err e = {{0}};
		if (ns_deleted(c->ns))
			err_set(&e, "Namespace `%s` doesn't exist", ns_name(c->ns));
		if (e.msg[0] || db_conn_open(ns_db(c->ns), &c->conn, &e)) {
			buf_printf(&c->out, "-- error: %s\n", e.msg);
			c->finished = true;
			c->phase = P_DONE;
			return;
		}
	}
	db_conn_enter(c->conn);
	sqlite3 *db = db_conn_sqlite(c->conn);
	while (c->out.len < DUMP_CHUNK && !c->finished) {
		switch (c->phase) {
		case P_START:
			/* one read transaction for the whole dump: it starts at the
			 * first read, the schema query below */
			if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
			    dump_prepare(c, "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND sql NOT NULL "
					    "ORDER BY name = 'sqlite_sequence', rowid", &c->tables) ||
			    dump_prepare(c, "SELECT sql FROM sqlite_schema WHERE type IN ('index', 'trigger', 'view') "
					    "AND sql NOT NULL ORDER BY rowid", &c->others)) {
				dump_fail(c, "cannot read the schema");
				break;
			}
			buf_puts(&c->out, "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n");
			c->phase = P_TABLES;
			break;
		case P_TABLES: {
			int rc = sqlite3_step(c->tables);
			if (rc == SQLITE_DONE) {
				c->phase = P_OTHERS;
				break;
			}
			if (rc != SQLITE_ROW) {
				dump_fail(c, "cannot read the schema");
				break;
			}
			const char *name = (const char *)sqlite3_column_text(c->tables, 0);
			const char *sql = (const char *)sqlite3_column_text(c->tables, 1);
			if (!name || !sql)
				break;
			bool seq = strcmp(name, "sqlite_sequence") == 0;
			if (!seq && strncmp(name, "sqlite_", 7) == 0)
				break; /* sqlite_stat*: made by ANALYZE */
			if (seq)
				buf_puts(&c->out, "DELETE FROM sqlite_sequence;\n");
			else
				buf_printf(&c->out, "%s;\n", sql);
			if (sqlite3_strnicmp(sql, "CREATE VIRTUAL TABLE", 20) == 0)
				break;
			struct buf q;
			buf_init(&q);
			buf_puts(&q, "SELECT * FROM ");
			dump_quote_ident(&q, name);
			buf_putc(&q, 0);
			int prc = dump_prepare(c, q.p, &c->rows);
			buf_free(&q);
			if (prc) {
				dump_fail(c, "cannot read a table");
				break;
			}
			c->table = strdup(name);
			if (!c->table)
				abort();
			c->phase = P_ROWS;
			break;
		}
		case P_ROWS: {
			int rc = sqlite3_step(c->rows);
			if (rc == SQLITE_ROW) {
				buf_puts(&c->out, "INSERT INTO ");
				dump_quote_ident(&c->out, c->table);
				buf_puts(&c->out, " VALUES(");
				int n = sqlite3_column_count(c->rows);
				for (int i = 0; i < n; i++) {
					if (i)
						buf_putc(&c->out, ',');
					dump_value(&c->out, c->rows, i);
				}
				buf_puts(&c->out, ");\n");
				break;
			}
			if (rc != SQLITE_DONE) {
				dump_fail(c, "cannot read a table");
				break;
			}
			sqlite3_finalize(c->rows);
			c->rows = NULL;
			free(c->table);
			c->table = NULL;
			c->phase = P_TABLES;
			break;
		}
		case P_OTHERS: {
			int rc = sqlite3_step(c->others);
			if (rc == SQLITE_ROW) {
				buf_printf(&c->out, "%s;\n", (const char *)sqlite3_column_text(c->others, 0));
				break;
			}
			if (rc != SQLITE_DONE) {
				dump_fail(c, "cannot read the schema");
				break;
			}
			buf_puts(&c->out, "COMMIT;\n");
			c->finished = true;
			c->phase = P_DONE;
			break;
		}
		default:
			c->finished = true;
		}
	}
	db_conn_leave(c->conn);
	if (c->finished)
		dump_close_conn(c);
}

static void dump_free(struct dump_call *c)
{
	buf_free(&c->out);
	ns_put(c->ns);
	free(c);
}

static void dump_done(struct work_job *w)
{
	struct dump_call *c = (struct dump_call *)w;
	D.busy--;
	c->submitted = false;
	if (!c->owner) {
		if (!c->finished) {
			/* cancelled mid-way: close on a worker (it may do I/O) */
			c->phase = P_DONE;
			c->finished = true;
			c->w.run = dump_run_close;
			D.busy++;
			c->submitted = true;
			work_submit(&c->w);
			return;
		}
		dump_free(c);
		return;
	}
	void *owner = c->owner;
	if (c->finished)
		c->owner = NULL;
	D.ops.out(owner, c->out.p ? c->out.p : "", c->out.len, !c->finished);
	if (c->finished)
		dump_free(c);
}

static void dump_submit(struct dump_call *c)
{
	D.busy++;
	c->submitted = true;
	work_submit(&c->w);
}

void dump_init(const struct dump_ops *ops)
{
	D.ops = *ops;
	D.busy = 0;
}

struct dump_call *dump_start(void *owner, struct ns *ns)
{
	struct dump_call *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->w.run = dump_run;
	c->w.done = dump_done;
	c->ns = ns_ref(ns);
	c->owner = owner;
	buf_init(&c->out);
	dump_submit(c);
	return c;
}

void dump_continue(struct dump_call *c)
{
	if (c)
		dump_submit(c);
}

void dump_cancel(struct dump_call *c)
{
	if (!c)
		return;
	c->owner = NULL;
	if (c->submitted)
		return; /* the completion cleans up */
	/* between chunks: the connection is closed on a worker */
	c->phase = P_DONE;
	c->finished = true;
	c->w.run = dump_run_close;
	dump_submit(c);
}

size_t dump_busy_jobs(void)
{
	return D.busy;
}

void dump_shutdown(void)
{
	while (D.busy) {
		work_drain();
		if (D.busy) {
			struct timespec ts = {0, 2 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
}
