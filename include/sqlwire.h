/* sqlwire.h: the public interface of libsqlwire, a C client library shaped
 * like SQLite's C API (every sqlwire_* function mirrors the sqlite3_* function
 * of the same name) that opens three kinds of database:
 *
 *   LOCAL    a plain path or file: URI. Every call goes straight to the
 *            system SQLite library: behaviour is exactly SQLite's.
 *   REMOTE   a URL (libsql://, wss://, ws://: Hrana over one WebSocket;
 *            https://, http://: Hrana over HTTP). Each connection is one Hrana
 *            stream, so explicit transactions work.
 *   REPLICA  a local path plus a sync_url (config struct or URI parameter):
 *            an embedded replica. Statements that only read, outside an
 *            explicit transaction, run on the local file at SQLite's speed;
 *            writes, transaction control and everything inside an explicit
 *            transaction go to the primary. After a write, the next read on
 *            the same connection waits until the replica has the write
 *            (read-your-writes). The file stays a plain SQLite database.
 *
 * Result codes, type codes, open flags and the destructor contract have
 * SQLite's numbers and meaning. Strings and blobs handed out by the library
 * follow SQLite's ownership rules: what a sqlwire_column_* or sqlwire_errmsg
 * call returns is borrowed until the next call that changes it; what the
 * library allocates for the caller (sqlwire_exec's *errmsg, sqlwire_mprintf)
 * is freed with sqlwire_free.
 *
 * Threads: as with SQLite in its default (serialized) mode, a connection and
 * its statements may be used from several threads; calls on one connection
 * are serialised inside the library. Different connections are independent.
 *
 * This header does not include <sqlite3.h>; <sqlwire_sqlite3.h> maps the
 * sqlite3_* names onto these for programs that want to stay unchanged. */
#ifndef SQLWIRE_H
#define SQLWIRE_H
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SQLWIRE_VERSION "0.1.0"
#define SQLWIRE_VERSION_NUMBER 1000 /* major*1000000 + minor*1000 + patch */

/* ---- types ---- */
typedef struct sqlwire sqlwire;           /* a database connection */
typedef struct sqlwire_stmt sqlwire_stmt; /* a prepared statement */
typedef long long int sqlwire_int64;
typedef unsigned long long int sqlwire_uint64;
typedef void (*sqlwire_destructor_type)(void *);
typedef int (*sqlwire_callback)(void *, int, char **, char **);

/* Destructor arguments of sqlwire_bind_text/blob: SQLWIRE_STATIC means the
 * caller keeps the bytes alive and unchanged until the statement is
 * finalized or the parameter rebound; SQLWIRE_TRANSIENT makes the library
 * copy them before the call returns; any other function is called on the
 * pointer once the library no longer needs it (also when the bind fails). */
#define SQLWIRE_STATIC ((sqlwire_destructor_type)0)
#define SQLWIRE_TRANSIENT ((sqlwire_destructor_type)-1)

/* ---- result codes: SQLite's numbers, primary and extended ---- */
#define SQLWIRE_OK                           0
#define SQLWIRE_ERROR                        1
#define SQLWIRE_INTERNAL                     2
#define SQLWIRE_PERM                         3
#define SQLWIRE_ABORT                        4
#define SQLWIRE_BUSY                         5
#define SQLWIRE_LOCKED                       6
#define SQLWIRE_NOMEM                        7
#define SQLWIRE_READONLY                     8
#define SQLWIRE_INTERRUPT                    9
#define SQLWIRE_IOERR                        10
#define SQLWIRE_CORRUPT                      11
#define SQLWIRE_NOTFOUND                     12
#define SQLWIRE_FULL                         13
#define SQLWIRE_CANTOPEN                     14
#define SQLWIRE_PROTOCOL                     15
#define SQLWIRE_EMPTY                        16
#define SQLWIRE_SCHEMA                       17
#define SQLWIRE_TOOBIG                       18
#define SQLWIRE_CONSTRAINT                   19
#define SQLWIRE_MISMATCH                     20
#define SQLWIRE_MISUSE                       21
#define SQLWIRE_NOLFS                        22
#define SQLWIRE_AUTH                         23
#define SQLWIRE_FORMAT                       24
#define SQLWIRE_RANGE                        25
#define SQLWIRE_NOTADB                       26
#define SQLWIRE_NOTICE                       27
#define SQLWIRE_WARNING                      28
#define SQLWIRE_ROW                          100
#define SQLWIRE_DONE                         101
#define SQLWIRE_ERROR_MISSING_COLLSEQ        257
#define SQLWIRE_ERROR_RETRY                  513
#define SQLWIRE_ERROR_SNAPSHOT               769
#define SQLWIRE_IOERR_READ                   266
#define SQLWIRE_IOERR_SHORT_READ             522
#define SQLWIRE_IOERR_WRITE                  778
#define SQLWIRE_IOERR_FSYNC                  1034
#define SQLWIRE_IOERR_DIR_FSYNC              1290
#define SQLWIRE_IOERR_TRUNCATE               1546
#define SQLWIRE_IOERR_FSTAT                  1802
#define SQLWIRE_IOERR_UNLOCK                 2058
#define SQLWIRE_IOERR_RDLOCK                 2314
#define SQLWIRE_IOERR_DELETE                 2570
#define SQLWIRE_IOERR_BLOCKED                2826
#define SQLWIRE_IOERR_NOMEM                  3082
#define SQLWIRE_IOERR_ACCESS                 3338
#define SQLWIRE_IOERR_CHECKRESERVEDLOCK      3594
#define SQLWIRE_IOERR_LOCK                   3850
#define SQLWIRE_IOERR_CLOSE                  4106
#define SQLWIRE_IOERR_DIR_CLOSE              4362
#define SQLWIRE_IOERR_SHMOPEN                4618
#define SQLWIRE_IOERR_SHMSIZE                4874
#define SQLWIRE_IOERR_SHMLOCK                5130
#define SQLWIRE_IOERR_SHMMAP                 5386
#define SQLWIRE_IOERR_SEEK                   5642
#define SQLWIRE_IOERR_DELETE_NOENT           5898
#define SQLWIRE_IOERR_MMAP                   6154
#define SQLWIRE_IOERR_GETTEMPPATH            6410
#define SQLWIRE_IOERR_CONVPATH               6666
#define SQLWIRE_IOERR_VNODE                  6922
#define SQLWIRE_IOERR_AUTH                   7178
#define SQLWIRE_IOERR_BEGIN_ATOMIC           7434
#define SQLWIRE_IOERR_COMMIT_ATOMIC          7690
#define SQLWIRE_IOERR_ROLLBACK_ATOMIC        7946
#define SQLWIRE_IOERR_DATA                   8202
#define SQLWIRE_IOERR_CORRUPTFS              8458
#define SQLWIRE_LOCKED_SHAREDCACHE           262
#define SQLWIRE_LOCKED_VTAB                  518
#define SQLWIRE_BUSY_RECOVERY                261
#define SQLWIRE_BUSY_SNAPSHOT                517
#define SQLWIRE_BUSY_TIMEOUT                 773
#define SQLWIRE_CANTOPEN_NOTEMPDIR           270
#define SQLWIRE_CANTOPEN_ISDIR               526
#define SQLWIRE_CANTOPEN_FULLPATH            782
#define SQLWIRE_CANTOPEN_CONVPATH            1038
#define SQLWIRE_CANTOPEN_DIRTYWAL            1294
#define SQLWIRE_CANTOPEN_SYMLINK             1550
#define SQLWIRE_CORRUPT_VTAB                 267
#define SQLWIRE_CORRUPT_SEQUENCE             523
#define SQLWIRE_CORRUPT_INDEX                779
#define SQLWIRE_READONLY_RECOVERY            264
#define SQLWIRE_READONLY_CANTLOCK            520
#define SQLWIRE_READONLY_ROLLBACK            776
#define SQLWIRE_READONLY_DBMOVED             1032
#define SQLWIRE_READONLY_CANTINIT            1288
#define SQLWIRE_READONLY_DIRECTORY           1544
#define SQLWIRE_ABORT_ROLLBACK               516
#define SQLWIRE_CONSTRAINT_CHECK             275
#define SQLWIRE_CONSTRAINT_COMMITHOOK        531
#define SQLWIRE_CONSTRAINT_FOREIGNKEY        787
#define SQLWIRE_CONSTRAINT_FUNCTION          1043
#define SQLWIRE_CONSTRAINT_NOTNULL           1299
#define SQLWIRE_CONSTRAINT_PRIMARYKEY        1555
#define SQLWIRE_CONSTRAINT_TRIGGER           1811
#define SQLWIRE_CONSTRAINT_UNIQUE            2067
#define SQLWIRE_CONSTRAINT_VTAB              2323
/* ---- flags of sqlwire_open_v2 (SQLite's) ---- */
#define SQLWIRE_OPEN_READONLY                0x00000001
#define SQLWIRE_OPEN_READWRITE               0x00000002
#define SQLWIRE_OPEN_CREATE                  0x00000004
#define SQLWIRE_OPEN_DELETEONCLOSE           0x00000008
#define SQLWIRE_OPEN_EXCLUSIVE               0x00000010
#define SQLWIRE_OPEN_AUTOPROXY               0x00000020
#define SQLWIRE_OPEN_URI                     0x00000040
#define SQLWIRE_OPEN_MEMORY                  0x00000080
#define SQLWIRE_OPEN_MAIN_DB                 0x00000100
#define SQLWIRE_OPEN_TEMP_DB                 0x00000200
#define SQLWIRE_OPEN_TRANSIENT_DB            0x00000400
#define SQLWIRE_OPEN_MAIN_JOURNAL            0x00000800
#define SQLWIRE_OPEN_TEMP_JOURNAL            0x00001000
#define SQLWIRE_OPEN_SUBJOURNAL              0x00002000
#define SQLWIRE_OPEN_SUPER_JOURNAL           0x00004000
#define SQLWIRE_OPEN_NOMUTEX                 0x00008000
#define SQLWIRE_OPEN_FULLMUTEX               0x00010000
#define SQLWIRE_OPEN_SHAREDCACHE             0x00020000
#define SQLWIRE_OPEN_PRIVATECACHE            0x00040000
#define SQLWIRE_OPEN_WAL                     0x00080000
#define SQLWIRE_OPEN_NOFOLLOW                0x01000000
#define SQLWIRE_OPEN_EXRESCODE               0x02000000
/* ---- flags of sqlwire_prepare_v3 (SQLite's; ignored by remote statements) ---- */
#define SQLWIRE_PREPARE_PERSISTENT           0x00000001
#define SQLWIRE_PREPARE_NORMALIZE            0x00000002
#define SQLWIRE_PREPARE_NO_VTAB              0x00000004
/* ---- fundamental datatypes, as sqlwire_column_type returns them ---- */
#define SQLWIRE_INTEGER 1
#define SQLWIRE_FLOAT 2
#define SQLWIRE_TEXT 3
#define SQLWIRE_BLOB 4
#define SQLWIRE_NULL 5
/* text encoding argument of sqlwire_bind_text64: only UTF-8 is supported */
#define SQLWIRE_UTF8 1

/* ---- library ---- */

/* Returns the version of the SQLite library that LOCAL and REPLICA
 * connections run on (e.g. "3.40.1"), as sqlite3_libversion() does, so a
 * program recompiled against <sqlwire_sqlite3.h> sees the same value.
 * Static string. Any thread. */
const char *sqlwire_libversion(void);
/* The same as a number (3040001). */
int sqlwire_libversion_number(void);
/* Returns libsqlwire's own version, SQLWIRE_VERSION ("0.1.0"). Static. */
const char *sqlwire_version(void);
/* Returns 1 when connections may be shared between threads (always). */
int sqlwire_threadsafe(void);

/* Library set-up and tear-down, SQLite's (calling them is optional, as in
 * SQLite). Return SQLWIRE_OK or SQLite's error. Not thread-safe (as in SQLite). */
int sqlwire_initialize(void);
int sqlwire_shutdown(void);
/* SQLite's source identifier of the library LOCAL connections run on. */
const char *sqlwire_sourceid(void);
/* 1 if sql ends with a complete statement (sqlite3_complete). */
int sqlwire_complete(const char *sql);
/* Sleeps at least ms milliseconds; returns the milliseconds slept. */
int sqlwire_sleep(int ms);

/* ---- memory (SQLite's allocator: these ARE sqlite3_malloc & co) ---- */

/* Allocate, resize and free memory the way sqlite3_malloc/realloc/free do.
 * sqlwire_free(NULL) does nothing. Use sqlwire_free for every string the
 * library allocates for you (sqlwire_exec's *errmsg, sqlwire_mprintf). */
void *sqlwire_malloc(int n);
void *sqlwire_malloc64(sqlwire_uint64 n);
void *sqlwire_realloc(void *p, int n);
void sqlwire_free(void *p);
/* printf into memory from sqlwire_malloc, with SQLite's extra conversions
 * (%q, %Q, %w). Returns NULL on out of memory. The caller frees it. */
char *sqlwire_mprintf(const char *fmt, ...);
char *sqlwire_vmprintf(const char *fmt, va_list ap);
/* SQLite's snprintf: note the argument order (size first); returns buf. */
char *sqlwire_snprintf(int n, char *buf, const char *fmt, ...);

/* ---- opening and closing ---- */

/* Options beyond sqlite3_open_v2's. Start from sqlwire_config_init(); fields
 * left at their initial value take the default. Strings are copied by the
 * open call; the struct may be discarded when it returns. */
typedef struct sqlwire_config {
	const char *sync_url;   /* the primary of a REPLICA (http://, https://,
	                         * libsql://); NULL: LOCAL (or REMOTE for a URL) */
	const char *auth_token; /* sent as "Authorization: Bearer <token>"; may be NULL */
	int sync_interval_ms;   /* > 0: a background thread syncs the replica every
	                         * sync_interval_ms; 0 (default): only sqlwire_sync */
	int read_your_writes;   /* 1 (default): after a write, the next local read
	                         * of this connection waits for it; 0: off */
	int follow;             /* 1: a thread follows the primary's log and applies
	                         * each transaction as it commits; 0 (default) */
	int timeout_ms;         /* network timeout per request; 0: 10000 */
} sqlwire_config;

/* Fills *cfg with the defaults (all NULL / 0, read_your_writes = 1). */
void sqlwire_config_init(sqlwire_config *cfg);

/* Opens a connection, as sqlite3_open_v2 does.
 *   filename  a path, a "file:" URI, ":memory:", or a URL: "libsql://host",
 *             "wss://host", "ws://host:port" (Hrana over WebSocket) or
 *             "https://host", "http://host:port" (Hrana over HTTP) opens a
 *             REMOTE database. A URL may carry "?authToken=..." (libSQL's
 *             spelling) instead of the auth_token option.
 *             A "file:" URI may carry the parameters sync_url, auth_token,
 *             sync_interval_ms, read_your_writes and follow (the fields of
 *             sqlwire_config, percent-encoded where needed): with sync_url
 *             it opens a REPLICA. These parameters are recognised with or
 *             without SQLWIRE_OPEN_URI, and removed before the rest of the
 *             URI reaches SQLite.
 *   *ppDb     OUT: the new connection. Like SQLite, it is set even when the
 *             open fails (except on out of memory, when it is NULL) so that
 *             sqlwire_errmsg can say why; close it with sqlwire_close.
 *   flags     SQLWIRE_OPEN_* as for sqlite3_open_v2. REPLICA: READONLY
 *             refuses writes (SQLWIRE_READONLY), otherwise writes go to the
 *             primary and the local file is only ever written by the sync.
 *             REMOTE: READONLY/CREATE/URI/mutex flags are ignored.
 *   zVfs      SQLite VFS name for LOCAL and the replica's reads, or NULL.
 * Returns SQLWIRE_OK, or an error code (CANTOPEN, NOMEM, AUTH, ...).
 * A REPLICA opens even when the primary is unreachable: local reads work and
 * the connection reaches the primary only for its first write or sync.
 * A REMOTE open connects at once (and fails with SQLWIRE_CANTOPEN if it
 * cannot). Any thread. */
int sqlwire_open_v2(const char *filename, sqlwire **ppDb, int flags, const char *zVfs);
/* sqlwire_open_v2 with SQLWIRE_OPEN_READWRITE | SQLWIRE_OPEN_CREATE. */
int sqlwire_open(const char *filename, sqlwire **ppDb);
/* sqlwire_open_v2 plus a config (NULL = defaults). Fields set in cfg take
 * precedence over the same parameters in a "file:" URI. */
int sqlwire_open_config(const char *filename, sqlwire **ppDb, int flags, const sqlwire_config *cfg);

/* Closes the connection. Returns SQLWIRE_BUSY (and keeps the connection
 * open) while it has statements that are not finalized; SQLWIRE_OK
 * otherwise. A remote connection's open transaction is rolled back on the
 * server; a replica's background threads are stopped. close(NULL) is a
 * no-op returning SQLWIRE_OK. */
int sqlwire_close(sqlwire *db);
/* Like sqlwire_close, but with unfinalized statements the connection becomes
 * a zombie that is freed when the last one is finalized. Returns SQLWIRE_OK. */
int sqlwire_close_v2(sqlwire *db);

/* ---- errors ---- */

/* The result code of the most recent failing call on db (after a success,
 * what SQLite reports: usually SQLWIRE_OK). errcode gives the primary code
 * (low 8 bits), extended_errcode the extended one when known (for REMOTE:
 * the server's extended code when it sends one, else the primary code).
 * sqlwire_errmsg: English text describing it, borrowed until the next call
 * on db; never NULL ("out of memory" for a NULL db). Call them from the
 * thread that made the failing call (another thread's call may change them). */
int sqlwire_errcode(sqlwire *db);
int sqlwire_extended_errcode(sqlwire *db);
const char *sqlwire_errmsg(sqlwire *db);
/* English text for a result code (static string), like sqlite3_errstr. */
const char *sqlwire_errstr(int rc);
/* onoff != 0: API calls return extended result codes (as
 * SQLWIRE_OPEN_EXRESCODE does). Returns SQLWIRE_OK. */
int sqlwire_extended_result_codes(sqlwire *db, int onoff);
/* Makes the statements running on a LOCAL or REPLICA connection's local
 * file stop with SQLWIRE_INTERRUPT as soon as they can (sqlite3_interrupt);
 * statements on a remote server are not interrupted. Any thread. */
void sqlwire_interrupt(sqlwire *db);
/* How long a LOCAL or REPLICA connection retries a locked file (SQLite's
 * busy handler); for REMOTE it is accepted and has no effect (the server
 * waits for locks itself). Returns SQLWIRE_OK. */
int sqlwire_busy_timeout(sqlwire *db, int ms);

/* ---- prepared statements ---- */

/* Compiles the first statement of zSql (nByte < 0: up to the NUL; else at
 * most nByte bytes). *ppStmt OUT: the statement, or NULL when zSql held
 * only whitespace or comments (then returns SQLWIRE_OK) or on error.
 * *pzTail OUT (if pzTail != NULL): points just past the compiled statement
 * inside zSql. Returns SQLWIRE_OK or an error (then errmsg says why).
 * REMOTE: the statement is compiled by the server at its first step, so a
 * syntax error or unknown table surfaces from sqlwire_step instead; asking
 * for column names or the count before the first step costs a round trip.
 * REPLICA: the statement is compiled on the local file to learn whether it
 * only reads; if it cannot be (e.g. the table exists only on the primary
 * so far) it runs on the primary. A statement for the primary opens the
 * connection to it if needed and fails with SQLWIRE_CANTOPEN when it is
 * unreachable. After a write on this connection, prepare first waits for
 * the replica to have it (read-your-writes), so the write's schema changes
 * are visible. prepare_v3's prepFlags apply to local statements.
 * The statement belongs to db; finalize it before closing db. */
int sqlwire_prepare(sqlwire *db, const char *zSql, int nByte, sqlwire_stmt **ppStmt, const char **pzTail);
int sqlwire_prepare_v2(sqlwire *db, const char *zSql, int nByte, sqlwire_stmt **ppStmt, const char **pzTail);
int sqlwire_prepare_v3(sqlwire *db, const char *zSql, int nByte, unsigned int prepFlags, sqlwire_stmt **ppStmt,
		       const char **pzTail);

/* Binding: parameters are numbered from 1 (?NNN, :name, @name, $name take
 * the numbers SQLite gives them). Values stay bound across sqlwire_reset.
 * Returns SQLWIRE_OK, SQLWIRE_RANGE for a bad index, SQLWIRE_MISUSE when the
 * statement is running (stepped and not reset), SQLWIRE_NOMEM, SQLWIRE_TOOBIG.
 * text/blob: n < 0 for text means up to the NUL; the destructor follows the
 * SQLWIRE_STATIC/TRANSIENT contract above and is called even on failure.
 * text64 accepts only SQLWIRE_UTF8 as encoding. zeroblob binds n zero bytes. */
int sqlwire_bind_null(sqlwire_stmt *s, int i);
int sqlwire_bind_int(sqlwire_stmt *s, int i, int v);
int sqlwire_bind_int64(sqlwire_stmt *s, int i, sqlwire_int64 v);
int sqlwire_bind_double(sqlwire_stmt *s, int i, double v);
int sqlwire_bind_text(sqlwire_stmt *s, int i, const char *v, int n, void (*destructor)(void *));
int sqlwire_bind_text64(sqlwire_stmt *s, int i, const char *v, sqlwire_uint64 n, void (*destructor)(void *),
			unsigned char encoding);
int sqlwire_bind_blob(sqlwire_stmt *s, int i, const void *v, int n, void (*destructor)(void *));
int sqlwire_bind_blob64(sqlwire_stmt *s, int i, const void *v, sqlwire_uint64 n, void (*destructor)(void *));
int sqlwire_bind_zeroblob(sqlwire_stmt *s, int i, int n);
int sqlwire_bind_zeroblob64(sqlwire_stmt *s, int i, sqlwire_uint64 n);
/* The largest parameter number (0 if none). */
int sqlwire_bind_parameter_count(sqlwire_stmt *s);
/* The number of the parameter named zName (with its prefix, e.g. ":id"),
 * or 0 if there is none. */
int sqlwire_bind_parameter_index(sqlwire_stmt *s, const char *zName);
/* The name of parameter i with its prefix; NULL for a nameless "?" or an
 * out-of-range i. Borrowed until the statement is finalized. */
const char *sqlwire_bind_parameter_name(sqlwire_stmt *s, int i);
/* Sets every parameter to NULL. Returns SQLWIRE_OK. */
int sqlwire_clear_bindings(sqlwire_stmt *s);

/* Runs the statement to its next row. Returns SQLWIRE_ROW (a row is ready
 * for sqlwire_column_*), SQLWIRE_DONE (finished; a further step restarts
 * the statement, as SQLite does), or an
 * error code (errmsg says why; sqlwire_reset returns it again).
 * REMOTE: the first step sends the statement and receives its rows.
 * REPLICA: the first step of a local read first waits for the connection's
 * last write (read-your-writes) and fails with SQLWIRE_IOERR or SQLWIRE_BUSY
 * when the replica cannot catch up (the primary is down, or the timeout
 * passed); that is reported once, and later reads run on what the replica
 * has (so an offline replica keeps reading). Inside an explicit transaction (opened by BEGIN on
 * the primary) reads run on the primary, where the transaction's writes are. */
int sqlwire_step(sqlwire_stmt *s);
/* Rewinds the statement so that it runs again from the start (bindings are
 * kept). Returns SQLWIRE_OK, or the error of the statement's last step, as
 * sqlite3_reset does. reset(NULL) returns SQLWIRE_OK. */
int sqlwire_reset(sqlwire_stmt *s);
/* Destroys the statement. Returns SQLWIRE_OK or the error of its last step.
 * finalize(NULL) is a no-op returning SQLWIRE_OK. */
int sqlwire_finalize(sqlwire_stmt *s);

/* ---- results ---- */

/* Number of columns of the result (0 for statements without rows). */
int sqlwire_column_count(sqlwire_stmt *s);
/* Number of columns of the current row: column_count after SQLWIRE_ROW,
 * 0 otherwise. */
int sqlwire_data_count(sqlwire_stmt *s);
/* Column i's name (the AS name when there is one); borrowed until the
 * statement is finalized or re-prepared. NULL for a bad i. */
const char *sqlwire_column_name(sqlwire_stmt *s, int i);
/* The declared type of the table column behind result column i, or NULL
 * (expressions, or a remote server that does not say). Borrowed. */
const char *sqlwire_column_decltype(sqlwire_stmt *s, int i);
/* The type of column i of the current row: SQLWIRE_INTEGER, FLOAT, TEXT,
 * BLOB or NULL (the type the value came with, also after a conversion). */
int sqlwire_column_type(sqlwire_stmt *s, int i);
/* Column i of the current row converted as SQLite converts:
 *   int/int64: REAL truncates (saturating), TEXT/BLOB parse a leading integer
 *              (0 if none), NULL is 0; column_int keeps the low 32 bits.
 *   double:    INTEGER widens, TEXT/BLOB parse a leading number, NULL is 0.0.
 *   text:      INTEGER and REAL print as SQLite prints them ("1.0", "1.5e+20"),
 *              BLOB bytes are returned NUL-terminated; NULL gives NULL.
 *   blob:      TEXT bytes, numbers as their text; a zero-length value or
 *              NULL gives NULL.
 *   bytes:     the size in bytes of the text or blob form (call it after
 *              column_text/column_blob, as SQLite advises).
 * Pointers are borrowed until the next step, reset or finalize of s (or the
 * next conversion of the same column). An out-of-range i gives 0/NULL. */
int sqlwire_column_int(sqlwire_stmt *s, int i);
sqlwire_int64 sqlwire_column_int64(sqlwire_stmt *s, int i);
double sqlwire_column_double(sqlwire_stmt *s, int i);
const unsigned char *sqlwire_column_text(sqlwire_stmt *s, int i);
const void *sqlwire_column_blob(sqlwire_stmt *s, int i);
int sqlwire_column_bytes(sqlwire_stmt *s, int i);

/* 1 when the statement does not write (transaction control statements
 * count as read-only, as in SQLite). */
int sqlwire_stmt_readonly(sqlwire_stmt *s);
/* 1 when the statement has been stepped and neither finished nor reset. */
int sqlwire_stmt_busy(sqlwire_stmt *s);
/* The SQL text of the statement; borrowed until finalize. */
const char *sqlwire_sql(sqlwire_stmt *s);
/* The SQL text with the bound parameters expanded, as
 * sqlite3_expanded_sql; a REMOTE statement's text is returned unexpanded.
 * New string: free it with sqlwire_free. NULL on out of memory. */
char *sqlwire_expanded_sql(sqlwire_stmt *s);
/* The connection a statement belongs to. */
sqlwire *sqlwire_db_handle(sqlwire_stmt *s);

/* ---- convenience ---- */

/* Runs every statement of zSql in turn, calling callback(arg, ncols,
 * values, names) for each result row (values as text, NULL for SQL NULL;
 * both arrays borrowed for the call). A non-zero return from the callback
 * stops with SQLWIRE_ABORT. Returns SQLWIRE_OK or the first error; if
 * errmsg != NULL, *errmsg OUT gets a copy of the error message (free it
 * with sqlwire_free) or NULL on success. */
int sqlwire_exec(sqlwire *db, const char *zSql, sqlwire_callback callback, void *arg, char **errmsg);

/* Rows changed by the most recent INSERT, UPDATE or DELETE on db (for a
 * REPLICA: by the last write sent to the primary). */
int sqlwire_changes(sqlwire *db);
sqlwire_int64 sqlwire_changes64(sqlwire *db);
/* Rows changed by every INSERT, UPDATE or DELETE since db was opened. */
int sqlwire_total_changes(sqlwire *db);
sqlwire_int64 sqlwire_total_changes64(sqlwire *db);
/* The rowid of the most recent successful INSERT on db (0 if none). */
sqlwire_int64 sqlwire_last_insert_rowid(sqlwire *db);
/* 1 when db is in autocommit mode, 0 inside an explicit transaction (for a
 * REPLICA: the transaction on the primary). */
int sqlwire_get_autocommit(sqlwire *db);

/* ---- embedded replicas ---- */

typedef struct sqlwire_sync_info {
	sqlwire_uint64 frame_no;       /* last frame applied (libSQL numbering);
	                                * meaningful when has_frame */
	sqlwire_uint64 frames_applied; /* frames applied by this call */
	int has_frame;                 /* 0 while the replica has nothing yet */
} sqlwire_sync_info;

/* Fetches and applies everything the primary has now, one whole
 * transaction at a time (readers never see part of one, and never wait).
 * info (OUT, may be NULL): the position reached and what was applied.
 * Returns SQLWIRE_OK; SQLWIRE_IOERR when the primary cannot be reached or
 * the transfer failed (errmsg says which; the replica stays consistent and
 * local reads keep working); SQLWIRE_AUTH when the token is refused;
 * SQLWIRE_MISUSE when db is not a replica. Any thread. */
int sqlwire_sync(sqlwire *db, sqlwire_sync_info *info);
/* Syncs until the replica has applied frame frame_no (at least), waiting at
 * most timeout_ms. Returns SQLWIRE_OK, SQLWIRE_BUSY on timeout, or as
 * sqlwire_sync. */
int sqlwire_sync_until(sqlwire *db, sqlwire_uint64 frame_no, int timeout_ms);
/* The replica's stored position without contacting the primary (info OUT).
 * Returns SQLWIRE_OK, or SQLWIRE_MISUSE when db is not a replica. */
int sqlwire_sync_position(sqlwire *db, sqlwire_sync_info *info);

#ifdef __cplusplus
}
#endif
#endif
