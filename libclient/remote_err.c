/* remote_err: Hrana error codes (PROTOCOL.md §4.6) mapped onto SQLite's
 * result codes, with extended codes derived from the message where SQLite's
 * wording is unambiguous, and the server's decoration stripped from the
 * message so that errmsg reads as sqlite3_errmsg would.
 * Pure functions; any thread. */
#include "remote_int.h"
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int code;
} remote_sqlite_names[] = {
	{"SQLITE_ERROR", SQLITE_ERROR},
	{"SQLITE_INTERNAL", SQLITE_INTERNAL},
	{"SQLITE_PERM", SQLITE_PERM},
	{"SQLITE_ABORT", SQLITE_ABORT},
	{"SQLITE_BUSY", SQLITE_BUSY},
	{"SQLITE_LOCKED", SQLITE_LOCKED},
	{"SQLITE_NOMEM", SQLITE_NOMEM},
	{"SQLITE_READONLY", SQLITE_READONLY},
	{"SQLITE_INTERRUPT", SQLITE_INTERRUPT},
	{"SQLITE_IOERR", SQLITE_IOERR},
	{"SQLITE_CORRUPT", SQLITE_CORRUPT},
	{"SQLITE_NOTFOUND", SQLITE_NOTFOUND},
	{"SQLITE_FULL", SQLITE_FULL},
	{"SQLITE_CANTOPEN", SQLITE_CANTOPEN},
	{"SQLITE_PROTOCOL", SQLITE_PROTOCOL},
	{"SQLITE_EMPTY", SQLITE_EMPTY},
	{"SQLITE_SCHEMA", SQLITE_SCHEMA},
	{"SQLITE_TOOBIG", SQLITE_TOOBIG},
	{"SQLITE_CONSTRAINT", SQLITE_CONSTRAINT},
	{"SQLITE_MISMATCH", SQLITE_MISMATCH},
	{"SQLITE_MISUSE", SQLITE_MISUSE},
	{"SQLITE_NOLFS", SQLITE_NOLFS},
	{"SQLITE_AUTH", SQLITE_AUTH},
	{"SQLITE_FORMAT", SQLITE_FORMAT},
	{"SQLITE_RANGE", SQLITE_RANGE},
	{"SQLITE_NOTADB", SQLITE_NOTADB},
	{"SQLITE_NOTICE", SQLITE_NOTICE},
	{"SQLITE_WARNING", SQLITE_WARNING},
	{"SQLITE_UNKNOWN", SQLITE_ERROR}, /* rusqlite's name for a plain SQLITE_ERROR */
	/* extended names, should a server send them */
	{"SQLITE_CONSTRAINT_CHECK", SQLITE_CONSTRAINT_CHECK},
	{"SQLITE_CONSTRAINT_COMMITHOOK", SQLITE_CONSTRAINT_COMMITHOOK},
	{"SQLITE_CONSTRAINT_FOREIGNKEY", SQLITE_CONSTRAINT_FOREIGNKEY},
	{"SQLITE_CONSTRAINT_FUNCTION", SQLITE_CONSTRAINT_FUNCTION},
	{"SQLITE_CONSTRAINT_NOTNULL", SQLITE_CONSTRAINT_NOTNULL},
	{"SQLITE_CONSTRAINT_PRIMARYKEY", SQLITE_CONSTRAINT_PRIMARYKEY},
	{"SQLITE_CONSTRAINT_TRIGGER", SQLITE_CONSTRAINT_TRIGGER},
	{"SQLITE_CONSTRAINT_UNIQUE", SQLITE_CONSTRAINT_UNIQUE},
	{"SQLITE_CONSTRAINT_VTAB", SQLITE_CONSTRAINT_VTAB},
	{"SQLITE_CONSTRAINT_ROWID", SQLITE_CONSTRAINT_ROWID},
	{"SQLITE_CONSTRAINT_DATATYPE", SQLITE_CONSTRAINT_DATATYPE},
	{"SQLITE_BUSY_SNAPSHOT", SQLITE_BUSY_SNAPSHOT},
	{"SQLITE_BUSY_RECOVERY", SQLITE_BUSY_RECOVERY},
	{"SQLITE_READONLY_DBMOVED", SQLITE_READONLY_DBMOVED},
	{"SQLITE_ABORT_ROLLBACK", SQLITE_ABORT_ROLLBACK},
};

static const struct {
	const char *name;
	int code;
} remote_hrana_codes[] = {
	{"SQL_PARSE_ERROR", SQLITE_ERROR},
	{"SQL_INPUT_ERROR", SQLITE_ERROR},
	{"SQL_MANY_STATEMENTS", SQLITE_ERROR},
	{"SQL_NO_STATEMENT", SQLITE_ERROR},
	{"ARGS_INVALID", SQLITE_RANGE},
	{"ARGS_BOTH_POSITIONAL_AND_NAMED", SQLITE_RANGE},
	{"TRANSACTION_TIMEOUT", SQLITE_ABORT_ROLLBACK}, /* sqld rolled the transaction back */
	{"TRANSACTION_BUSY", SQLITE_BUSY},
	{"RESPONSE_TOO_LARGE", SQLITE_TOOBIG},
	{"BLOCKED", SQLITE_PERM},
	{"PROXY_ERROR", SQLITE_IOERR},
	{"STREAM_EXPIRED", SQLITE_ABORT},
	{"STREAM_NOT_OPEN", SQLITE_ABORT},
	{"SQL_STORE_TOO_MANY", SQLITE_FULL},
	{"SQL_STORE_TOO_LARGE", SQLITE_TOOBIG},
	{"SCHEMA_MIGRATION_ERROR", SQLITE_ERROR},
};

/* Extended constraint codes from SQLite's own wording. "UNIQUE constraint
 * failed" is also what a rowid / INTEGER PRIMARY KEY clash says (SQLite
 * reports CONSTRAINT_PRIMARYKEY there); without the schema we cannot tell,
 * so UNIQUE it is. */
static int remote_constraint_from_msg(const char *m)
{
	if (strstr(m, "UNIQUE constraint failed"))
		return SQLITE_CONSTRAINT_UNIQUE;
	if (strstr(m, "NOT NULL constraint failed"))
		return SQLITE_CONSTRAINT_NOTNULL;
	if (strstr(m, "CHECK constraint failed"))
		return SQLITE_CONSTRAINT_CHECK;
	if (strstr(m, "FOREIGN KEY constraint failed"))
		return SQLITE_CONSTRAINT_FOREIGNKEY;
	if (strstr(m, "cannot store ") && strstr(m, " value in "))
		return SQLITE_CONSTRAINT_DATATYPE;
	if (strstr(m, "PRIMARY KEY constraint failed"))
		return SQLITE_CONSTRAINT_PRIMARYKEY;
	return SQLITE_CONSTRAINT;
}

int remote_map_error(const struct hr_error *er, int *ext)
{
	const char *code = er->code ? er->code : "";
	const char *msg = er->message ? er->message : "";
	int c = SQLITE_ERROR;
	bool found = false;
	for (size_t i = 0; i < sizeof remote_sqlite_names / sizeof remote_sqlite_names[0] && !found; i++)
		if (!strcmp(code, remote_sqlite_names[i].name))
			c = remote_sqlite_names[i].code, found = true;
	for (size_t i = 0; i < sizeof remote_hrana_codes / sizeof remote_hrana_codes[0] && !found; i++)
		if (!strcmp(code, remote_hrana_codes[i].name))
			c = remote_hrana_codes[i].code, found = true;
	if (!found && !strncmp(code, "AUTH_", 5))
		c = SQLITE_AUTH;
	int x = c;
	if (er->extended_code && (er->extended_code & 0xff) == (c & 0xff))
		x = er->extended_code;
	else if (c == SQLITE_CONSTRAINT)
		x = remote_constraint_from_msg(msg);
	*ext = x;
	return x & 0xff;
}

void remote_clean_message(char *out, size_t cap, const char *msg)
{
	static const char *prefixes[] = {"SQLite error: ", "SQL input error: ", "SQLite failure: "};
	if (!msg)
		msg = "unknown error";
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (!strncmp(msg, prefixes[i], strlen(prefixes[i]))) {
			msg += strlen(prefixes[i]);
			break;
		}
	snprintf(out, cap, "%s", msg);
	/* "... (at offset 7)" */
	char *o = strstr(out, " (at offset ");
	if (o && o[strlen(o) - 1] == ')' && strspn(o + 12, "0123456789") == strlen(o + 12) - 1)
		*o = 0;
}
