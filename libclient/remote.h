/* remote: a remote database over Hrana 3 (JSON), one Hrana stream per
 * connection: over one persistent WebSocket (ws://, wss://, libsql://) or over
 * HTTP pipeline requests carrying a baton (http://, https://).
 *
 * The calls mirror sqlite3's connection and statement API and return SQLite
 * result codes (SQLITE_OK, SQLITE_ROW, SQLITE_DONE, SQLITE_CONSTRAINT, ...):
 * the api layer (api.c) passes them through. After an error,
 * remote_errmsg()/remote_extended_errcode() describe it (Hrana error codes
 * mapped onto SQLite's; extended codes where the server gives them).
 * Threads: one thread at a time per struct remote (the api serialises).
 *
 * CONTRACT shared by libclient modules (api.c uses it): do not change a
 * signature without updating every caller. */
#ifndef SQLWIRE_REMOTE_H
#define SQLWIRE_REMOTE_H
#include "hrana.h"
#include <stdbool.h>
#include <stdint.h>

struct remote;
struct remote_stmt;

/* url: ws://, wss://, libsql://, http://, https://; auth_token may be NULL
 * (sent as "Authorization: Bearer <token>", as libSQL clients send it).
 * Returns SQLITE_OK or SQLITE_CANTOPEN / SQLITE_AUTH / ... with *out set to
 * a handle that carries the error message (close it) or NULL on NOMEM. */
int remote_open(const char *url, const char *auth_token, int timeout_ms, struct remote **out);
void remote_close(struct remote *r); /* closes the stream (rolls back); accepts NULL */
const char *remote_errmsg(struct remote *r);
int remote_errcode(struct remote *r);
int remote_extended_errcode(struct remote *r);

/* Splits off the first statement of sql[0..nbytes) (nbytes < 0: to the NUL)
 * and prepares it; *tail points past it. An empty statement gives *out=NULL
 * and SQLITE_OK, as sqlite3_prepare_v2 does. */
int remote_prepare(struct remote *r, const char *sql, int nbytes, struct remote_stmt **out, const char **tail);
/* The value is copied. idx from 1. */
int remote_bind(struct remote_stmt *s, int idx, const struct hr_value *v);
int remote_bind_parameter_count(struct remote_stmt *s);
const char *remote_bind_parameter_name(struct remote_stmt *s, int idx); /* with its prefix, NULL for "?" */
int remote_bind_parameter_index(struct remote_stmt *s, const char *name);
int remote_clear_bindings(struct remote_stmt *s);
/* First step executes the statement (rows buffered or fetched through a
 * cursor); later steps walk the rows. SQLITE_ROW / SQLITE_DONE / error. */
int remote_step(struct remote_stmt *s);
int remote_reset(struct remote_stmt *s);
void remote_finalize(struct remote_stmt *s); /* accepts NULL */
int remote_column_count(struct remote_stmt *s); /* before the first step too */
const char *remote_column_name(struct remote_stmt *s, int i);
const char *remote_column_decltype(struct remote_stmt *s, int i);
int remote_data_count(struct remote_stmt *s);
/* The current row's value; borrowed until the next step/reset/finalize. */
const struct hr_value *remote_column_value(struct remote_stmt *s, int i);
bool remote_stmt_readonly(struct remote_stmt *s);
const char *remote_sql(struct remote_stmt *s);

int64_t remote_changes(struct remote *r);      /* of the last INSERT/UPDATE/DELETE */
int64_t remote_total_changes(struct remote *r);
int64_t remote_last_insert_rowid(struct remote *r);
bool remote_get_autocommit(struct remote *r);
/* The replication_index of the last statement that had one (for
 * read-your-writes on replicas); false if none yet. */
bool remote_replication_index(struct remote *r, uint64_t *frame_no);
#endif
