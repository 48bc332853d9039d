/* sqlwire_sqlite3.h: SQLite's names for libsqlwire. Include it instead of
 * <sqlite3.h> (or put include/compat first on the include path, which is
 * what `pkg-config --cflags sqlwire-sqlite3` does, so that an unchanged
 * `#include <sqlite3.h>` lands here) and a program written for sqlite3
 * compiles against libsqlwire without a source change: every sqlite3_*
 * function that libsqlwire mirrors, the types (sqlite3, sqlite3_stmt,
 * sqlite3_int64, ...) and every SQLITE_* result code, open flag, type code
 * and destructor constant are mapped onto their sqlwire equivalents.
 *
 * The program then gets embedded replicas by changing only its filename:
 *   sqlite3_open_v2("file:app.db?sync_url=http://host:8080&auth_token=...",
 *                   &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL);
 * and a remote database with a URL ("libsql://...", "ws://host:8080").
 *
 * Only what sqlwire.h declares is mapped; a program that uses other parts of
 * SQLite's API (user functions, sqlite3_value, backups, blobs, hooks...)
 * fails to compile or link against this header, on purpose: it needs the
 * real SQLite. Never include this together with the real <sqlite3.h>. */
#ifndef SQLWIRE_SQLITE3_H
#define SQLWIRE_SQLITE3_H
#ifdef SQLITE3_H
#error "sqlwire_sqlite3.h and the real <sqlite3.h> cannot be used in one file"
#endif
#define SQLITE3_H 1 /* a later #include of the real header becomes a no-op */
#include <sqlwire.h>

/* The SQLite release this mapping was written against; sqlite3_libversion()
 * reports the one libsqlwire runs on. */
#define SQLITE_VERSION "3.40.1"
#define SQLITE_VERSION_NUMBER 3040001

typedef sqlwire sqlite3;
typedef sqlwire_stmt sqlite3_stmt;
typedef sqlwire_int64 sqlite3_int64;
typedef sqlwire_uint64 sqlite3_uint64;
typedef sqlwire_int64 sqlite_int64;
typedef sqlwire_uint64 sqlite_uint64;
typedef sqlwire_destructor_type sqlite3_destructor_type;
typedef sqlwire_callback sqlite3_callback;

#define SQLITE_STATIC SQLWIRE_STATIC
#define SQLITE_TRANSIENT SQLWIRE_TRANSIENT
#define SQLITE3_TEXT SQLWIRE_TEXT

/* functions */
#define sqlite3_initialize sqlwire_initialize
#define sqlite3_shutdown sqlwire_shutdown
#define sqlite3_sourceid sqlwire_sourceid
#define sqlite3_complete sqlwire_complete
#define sqlite3_sleep sqlwire_sleep
#define sqlite3_interrupt sqlwire_interrupt
#define sqlite3_bind_blob sqlwire_bind_blob
#define sqlite3_bind_blob64 sqlwire_bind_blob64
#define sqlite3_bind_double sqlwire_bind_double
#define sqlite3_bind_int sqlwire_bind_int
#define sqlite3_bind_int64 sqlwire_bind_int64
#define sqlite3_bind_null sqlwire_bind_null
#define sqlite3_bind_parameter_count sqlwire_bind_parameter_count
#define sqlite3_bind_parameter_index sqlwire_bind_parameter_index
#define sqlite3_bind_parameter_name sqlwire_bind_parameter_name
#define sqlite3_bind_text sqlwire_bind_text
#define sqlite3_bind_text64 sqlwire_bind_text64
#define sqlite3_bind_zeroblob sqlwire_bind_zeroblob
#define sqlite3_bind_zeroblob64 sqlwire_bind_zeroblob64
#define sqlite3_busy_timeout sqlwire_busy_timeout
#define sqlite3_changes sqlwire_changes
#define sqlite3_changes64 sqlwire_changes64
#define sqlite3_clear_bindings sqlwire_clear_bindings
#define sqlite3_close sqlwire_close
#define sqlite3_close_v2 sqlwire_close_v2
#define sqlite3_column_blob sqlwire_column_blob
#define sqlite3_column_bytes sqlwire_column_bytes
#define sqlite3_column_count sqlwire_column_count
#define sqlite3_column_decltype sqlwire_column_decltype
#define sqlite3_column_double sqlwire_column_double
#define sqlite3_column_int sqlwire_column_int
#define sqlite3_column_int64 sqlwire_column_int64
#define sqlite3_column_name sqlwire_column_name
#define sqlite3_column_text sqlwire_column_text
#define sqlite3_column_type sqlwire_column_type
#define sqlite3_data_count sqlwire_data_count
#define sqlite3_db_handle sqlwire_db_handle
#define sqlite3_errcode sqlwire_errcode
#define sqlite3_errmsg sqlwire_errmsg
#define sqlite3_errstr sqlwire_errstr
#define sqlite3_exec sqlwire_exec
#define sqlite3_expanded_sql sqlwire_expanded_sql
#define sqlite3_extended_errcode sqlwire_extended_errcode
#define sqlite3_extended_result_codes sqlwire_extended_result_codes
#define sqlite3_finalize sqlwire_finalize
#define sqlite3_free sqlwire_free
#define sqlite3_get_autocommit sqlwire_get_autocommit
#define sqlite3_last_insert_rowid sqlwire_last_insert_rowid
#define sqlite3_libversion sqlwire_libversion
#define sqlite3_libversion_number sqlwire_libversion_number
#define sqlite3_malloc sqlwire_malloc
#define sqlite3_malloc64 sqlwire_malloc64
#define sqlite3_mprintf sqlwire_mprintf
#define sqlite3_open sqlwire_open
#define sqlite3_open_v2 sqlwire_open_v2
#define sqlite3_prepare sqlwire_prepare
#define sqlite3_prepare_v2 sqlwire_prepare_v2
#define sqlite3_prepare_v3 sqlwire_prepare_v3
#define sqlite3_realloc sqlwire_realloc
#define sqlite3_reset sqlwire_reset
#define sqlite3_snprintf sqlwire_snprintf
#define sqlite3_sql sqlwire_sql
#define sqlite3_step sqlwire_step
#define sqlite3_stmt_busy sqlwire_stmt_busy
#define sqlite3_stmt_readonly sqlwire_stmt_readonly
#define sqlite3_threadsafe sqlwire_threadsafe
#define sqlite3_total_changes sqlwire_total_changes
#define sqlite3_total_changes64 sqlwire_total_changes64
#define sqlite3_vmprintf sqlwire_vmprintf

/* constants */
#define SQLITE_OK SQLWIRE_OK
#define SQLITE_ERROR SQLWIRE_ERROR
#define SQLITE_INTERNAL SQLWIRE_INTERNAL
#define SQLITE_PERM SQLWIRE_PERM
#define SQLITE_ABORT SQLWIRE_ABORT
#define SQLITE_BUSY SQLWIRE_BUSY
#define SQLITE_LOCKED SQLWIRE_LOCKED
#define SQLITE_NOMEM SQLWIRE_NOMEM
#define SQLITE_READONLY SQLWIRE_READONLY
#define SQLITE_INTERRUPT SQLWIRE_INTERRUPT
#define SQLITE_IOERR SQLWIRE_IOERR
#define SQLITE_CORRUPT SQLWIRE_CORRUPT
#define SQLITE_NOTFOUND SQLWIRE_NOTFOUND
#define SQLITE_FULL SQLWIRE_FULL
#define SQLITE_CANTOPEN SQLWIRE_CANTOPEN
#define SQLITE_PROTOCOL SQLWIRE_PROTOCOL
#define SQLITE_EMPTY SQLWIRE_EMPTY
#define SQLITE_SCHEMA SQLWIRE_SCHEMA
#define SQLITE_TOOBIG SQLWIRE_TOOBIG
#define SQLITE_CONSTRAINT SQLWIRE_CONSTRAINT
#define SQLITE_MISMATCH SQLWIRE_MISMATCH
#define SQLITE_MISUSE SQLWIRE_MISUSE
#define SQLITE_NOLFS SQLWIRE_NOLFS
#define SQLITE_AUTH SQLWIRE_AUTH
#define SQLITE_FORMAT SQLWIRE_FORMAT
#define SQLITE_RANGE SQLWIRE_RANGE
#define SQLITE_NOTADB SQLWIRE_NOTADB
#define SQLITE_NOTICE SQLWIRE_NOTICE
#define SQLITE_WARNING SQLWIRE_WARNING
#define SQLITE_ROW SQLWIRE_ROW
#define SQLITE_DONE SQLWIRE_DONE
#define SQLITE_ERROR_MISSING_COLLSEQ SQLWIRE_ERROR_MISSING_COLLSEQ
#define SQLITE_ERROR_RETRY SQLWIRE_ERROR_RETRY
#define SQLITE_ERROR_SNAPSHOT SQLWIRE_ERROR_SNAPSHOT
#define SQLITE_IOERR_READ SQLWIRE_IOERR_READ
#define SQLITE_IOERR_SHORT_READ SQLWIRE_IOERR_SHORT_READ
#define SQLITE_IOERR_WRITE SQLWIRE_IOERR_WRITE
#define SQLITE_IOERR_FSYNC SQLWIRE_IOERR_FSYNC
#define SQLITE_IOERR_DIR_FSYNC SQLWIRE_IOERR_DIR_FSYNC
#define SQLITE_IOERR_TRUNCATE SQLWIRE_IOERR_TRUNCATE
#define SQLITE_IOERR_FSTAT SQLWIRE_IOERR_FSTAT
#define SQLITE_IOERR_UNLOCK SQLWIRE_IOERR_UNLOCK
#define SQLITE_IOERR_RDLOCK SQLWIRE_IOERR_RDLOCK
#define SQLITE_IOERR_DELETE SQLWIRE_IOERR_DELETE
#define SQLITE_IOERR_BLOCKED SQLWIRE_IOERR_BLOCKED
#define SQLITE_IOERR_NOMEM SQLWIRE_IOERR_NOMEM
#define SQLITE_IOERR_ACCESS SQLWIRE_IOERR_ACCESS
#define SQLITE_IOERR_CHECKRESERVEDLOCK SQLWIRE_IOERR_CHECKRESERVEDLOCK
#define SQLITE_IOERR_LOCK SQLWIRE_IOERR_LOCK
#define SQLITE_IOERR_CLOSE SQLWIRE_IOERR_CLOSE
#define SQLITE_IOERR_DIR_CLOSE SQLWIRE_IOERR_DIR_CLOSE
#define SQLITE_IOERR_SHMOPEN SQLWIRE_IOERR_SHMOPEN
#define SQLITE_IOERR_SHMSIZE SQLWIRE_IOERR_SHMSIZE
#define SQLITE_IOERR_SHMLOCK SQLWIRE_IOERR_SHMLOCK
#define SQLITE_IOERR_SHMMAP SQLWIRE_IOERR_SHMMAP
#define SQLITE_IOERR_SEEK SQLWIRE_IOERR_SEEK
#define SQLITE_IOERR_DELETE_NOENT SQLWIRE_IOERR_DELETE_NOENT
#define SQLITE_IOERR_MMAP SQLWIRE_IOERR_MMAP
#define SQLITE_IOERR_GETTEMPPATH SQLWIRE_IOERR_GETTEMPPATH
#define SQLITE_IOERR_CONVPATH SQLWIRE_IOERR_CONVPATH
#define SQLITE_IOERR_VNODE SQLWIRE_IOERR_VNODE
#define SQLITE_IOERR_AUTH SQLWIRE_IOERR_AUTH
#define SQLITE_IOERR_BEGIN_ATOMIC SQLWIRE_IOERR_BEGIN_ATOMIC
#define SQLITE_IOERR_COMMIT_ATOMIC SQLWIRE_IOERR_COMMIT_ATOMIC
#define SQLITE_IOERR_ROLLBACK_ATOMIC SQLWIRE_IOERR_ROLLBACK_ATOMIC
#define SQLITE_IOERR_DATA SQLWIRE_IOERR_DATA
#define SQLITE_IOERR_CORRUPTFS SQLWIRE_IOERR_CORRUPTFS
#define SQLITE_LOCKED_SHAREDCACHE SQLWIRE_LOCKED_SHAREDCACHE
#define SQLITE_LOCKED_VTAB SQLWIRE_LOCKED_VTAB
#define SQLITE_BUSY_RECOVERY SQLWIRE_BUSY_RECOVERY
#define SQLITE_BUSY_SNAPSHOT SQLWIRE_BUSY_SNAPSHOT
#define SQLITE_BUSY_TIMEOUT SQLWIRE_BUSY_TIMEOUT
#define SQLITE_CANTOPEN_NOTEMPDIR SQLWIRE_CANTOPEN_NOTEMPDIR
#define SQLITE_CANTOPEN_ISDIR SQLWIRE_CANTOPEN_ISDIR
#define SQLITE_CANTOPEN_FULLPATH SQLWIRE_CANTOPEN_FULLPATH
#define SQLITE_CANTOPEN_CONVPATH SQLWIRE_CANTOPEN_CONVPATH
#define SQLITE_CANTOPEN_DIRTYWAL SQLWIRE_CANTOPEN_DIRTYWAL
#define SQLITE_CANTOPEN_SYMLINK SQLWIRE_CANTOPEN_SYMLINK
#define SQLITE_CORRUPT_VTAB SQLWIRE_CORRUPT_VTAB
#define SQLITE_CORRUPT_SEQUENCE SQLWIRE_CORRUPT_SEQUENCE
#define SQLITE_CORRUPT_INDEX SQLWIRE_CORRUPT_INDEX
#define SQLITE_READONLY_RECOVERY SQLWIRE_READONLY_RECOVERY
#define SQLITE_READONLY_CANTLOCK SQLWIRE_READONLY_CANTLOCK
#define SQLITE_READONLY_ROLLBACK SQLWIRE_READONLY_ROLLBACK
#define SQLITE_READONLY_DBMOVED SQLWIRE_READONLY_DBMOVED
#define SQLITE_READONLY_CANTINIT SQLWIRE_READONLY_CANTINIT
#define SQLITE_READONLY_DIRECTORY SQLWIRE_READONLY_DIRECTORY
#define SQLITE_ABORT_ROLLBACK SQLWIRE_ABORT_ROLLBACK
#define SQLITE_CONSTRAINT_CHECK SQLWIRE_CONSTRAINT_CHECK
#define SQLITE_CONSTRAINT_COMMITHOOK SQLWIRE_CONSTRAINT_COMMITHOOK
#define SQLITE_CONSTRAINT_FOREIGNKEY SQLWIRE_CONSTRAINT_FOREIGNKEY
#define SQLITE_CONSTRAINT_FUNCTION SQLWIRE_CONSTRAINT_FUNCTION
#define SQLITE_CONSTRAINT_NOTNULL SQLWIRE_CONSTRAINT_NOTNULL
#define SQLITE_CONSTRAINT_PRIMARYKEY SQLWIRE_CONSTRAINT_PRIMARYKEY
#define SQLITE_CONSTRAINT_TRIGGER SQLWIRE_CONSTRAINT_TRIGGER
#define SQLITE_CONSTRAINT_UNIQUE SQLWIRE_CONSTRAINT_UNIQUE
#define SQLITE_CONSTRAINT_VTAB SQLWIRE_CONSTRAINT_VTAB
#define SQLITE_OPEN_READONLY SQLWIRE_OPEN_READONLY
#define SQLITE_OPEN_READWRITE SQLWIRE_OPEN_READWRITE
#define SQLITE_OPEN_CREATE SQLWIRE_OPEN_CREATE
#define SQLITE_OPEN_DELETEONCLOSE SQLWIRE_OPEN_DELETEONCLOSE
#define SQLITE_OPEN_EXCLUSIVE SQLWIRE_OPEN_EXCLUSIVE
#define SQLITE_OPEN_AUTOPROXY SQLWIRE_OPEN_AUTOPROXY
#define SQLITE_OPEN_URI SQLWIRE_OPEN_URI
#define SQLITE_OPEN_MEMORY SQLWIRE_OPEN_MEMORY
#define SQLITE_OPEN_MAIN_DB SQLWIRE_OPEN_MAIN_DB
#define SQLITE_OPEN_TEMP_DB SQLWIRE_OPEN_TEMP_DB
#define SQLITE_OPEN_TRANSIENT_DB SQLWIRE_OPEN_TRANSIENT_DB
#define SQLITE_OPEN_MAIN_JOURNAL SQLWIRE_OPEN_MAIN_JOURNAL
#define SQLITE_OPEN_TEMP_JOURNAL SQLWIRE_OPEN_TEMP_JOURNAL
#define SQLITE_OPEN_SUBJOURNAL SQLWIRE_OPEN_SUBJOURNAL
#define SQLITE_OPEN_SUPER_JOURNAL SQLWIRE_OPEN_SUPER_JOURNAL
#define SQLITE_OPEN_NOMUTEX SQLWIRE_OPEN_NOMUTEX
#define SQLITE_OPEN_FULLMUTEX SQLWIRE_OPEN_FULLMUTEX
#define SQLITE_OPEN_SHAREDCACHE SQLWIRE_OPEN_SHAREDCACHE
#define SQLITE_OPEN_PRIVATECACHE SQLWIRE_OPEN_PRIVATECACHE
#define SQLITE_OPEN_WAL SQLWIRE_OPEN_WAL
#define SQLITE_OPEN_NOFOLLOW SQLWIRE_OPEN_NOFOLLOW
#define SQLITE_OPEN_EXRESCODE SQLWIRE_OPEN_EXRESCODE
#define SQLITE_PREPARE_PERSISTENT SQLWIRE_PREPARE_PERSISTENT
#define SQLITE_PREPARE_NORMALIZE SQLWIRE_PREPARE_NORMALIZE
#define SQLITE_PREPARE_NO_VTAB SQLWIRE_PREPARE_NO_VTAB
#define SQLITE_INTEGER SQLWIRE_INTEGER
#define SQLITE_FLOAT SQLWIRE_FLOAT
#define SQLITE_TEXT SQLWIRE_TEXT
#define SQLITE_BLOB SQLWIRE_BLOB
#define SQLITE_NULL SQLWIRE_NULL
#define SQLITE_UTF8 SQLWIRE_UTF8
#endif
