/* uri: the sqlwire options carried by a filename. A "file:" URI may hold
 * sync_url, auth_token, sync_interval_ms, read_your_writes, follow and
 * timeout_ms query parameters (percent-encoded): uri_parse takes them out and
 * leaves the rest of the URI for SQLite. A URL filename (ws://, wss://,
 * http://, https://, libsql://) names a remote database; its authToken (or
 * auth_token) parameter is split off the same way. Pure; any thread. */
#ifndef SQLWIRE_URI_H
#define SQLWIRE_URI_H
#include <stdbool.h>

struct uri_cfg {
	char *sqlite_name; /* for sqlite3_open_v2: the filename with our parameters removed */
	char *path;        /* the file's path, percent-decoded (for the replica sync) */
	char *sync_url;    /* NULL when absent; likewise auth_token */
	char *auth_token;
	int sync_interval_ms; /* -1 when absent; likewise the three below */
	int read_your_writes;
	int follow;
	int timeout_ms;
	bool had_params; /* one of ours was present (then SQLite needs SQLITE_OPEN_URI) */
};

/* Fills *c from filename. Returns 0, -1 on out of memory, -2 for a
 * malformed value (a number that is not one); c is then freed. */
int uri_parse(const char *filename, struct uri_cfg *c);
void uri_free(struct uri_cfg *c);
/* true when filename is a URL naming a remote database. */
bool uri_is_url(const char *filename);
/* url without its authToken/auth_token parameter (*clean, new) and that
 * parameter's decoded value (*token, new, NULL if absent). 0 or -1 (NOMEM). */
int uri_url_split(const char *url, char **clean, char **token);
#endif
