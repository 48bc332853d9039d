/* hrana: the one internal model of Hrana requests and responses (DESIGN.md §2.7).
 *
 * Every encoding (JSON now, protobuf later) and every transport (WebSocket,
 * HTTP pipeline, HTTP cursor, /v1) decodes into these structures and encodes
 * from them; the executor never sees an encoding. Field meanings follow
 * PROTOCOL.md §2.3, §3 and §4.2 exactly.
 *
 * Memory: every pointer inside these structures points into the arena the
 * decoder or the executor was given; nothing here is freed on its own.
 * Strings are NUL-terminated UTF-8 (validated by the decoders); blobs carry
 * their length. A NULL string pointer means "absent / null". */
#ifndef SQLWIRE_HRANA_H
#define SQLWIRE_HRANA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- values and statements (PROTOCOL.md §3.1, §3.2) ---- */
enum hr_vtype { HR_NULL = 0, HR_INTEGER, HR_FLOAT, HR_TEXT, HR_BLOB };

struct hr_value {
	enum hr_vtype type;
	int64_t i;     /* HR_INTEGER */
	double f;      /* HR_FLOAT */
	const char *s; /* HR_TEXT: UTF-8 (also NUL-terminated); HR_BLOB: bytes */
	size_t n;      /* HR_TEXT / HR_BLOB length in bytes */
};

struct hr_named_arg {
	const char *name; /* as sent: with or without its prefix char */
	struct hr_value value;
};

struct hr_stmt {
	const char *sql;  /* NULL when sql_id is used */
	bool has_sql_id;
	int32_t sql_id;
	struct hr_value *args;
	size_t nargs;
	struct hr_named_arg *named;
	size_t nnamed;
	bool want_rows;   /* default true */
};

/* ---- batches (PROTOCOL.md §3.4) ---- */
enum hr_cond_type { HR_COND_OK = 1, HR_COND_ERROR, HR_COND_NOT, HR_COND_AND, HR_COND_OR, HR_COND_IS_AUTOCOMMIT };

struct hr_cond {
	enum hr_cond_type type;
	uint32_t step;          /* OK / ERROR */
	struct hr_cond *conds;  /* NOT: exactly one; AND / OR: nconds */
	size_t nconds;
};

struct hr_step {
	struct hr_cond *cond; /* NULL: run unconditionally */
	struct hr_stmt stmt;
};

struct hr_batch {
	struct hr_step *steps;
	size_t nsteps;
};

/* ---- results (PROTOCOL.md §3.3, §3.5, §3.7) ---- */
struct hr_error {
	const char *message;
	const char *code;  /* always set by sqld */
	int extended_code; /* SQLite's extended result code when the error came
			      from SQLite, else 0; not sent in Hrana (libSQL's
			      Proxy protocol carries it) */
};

struct hr_col {
	const char *name;     /* may be NULL */
	const char *decltype; /* may be NULL */
};

struct hr_stmt_result {
	struct hr_col *cols;
	size_t ncols;
	struct hr_value *rows; /* nrows * ncols values, row-major */
	size_t nrows;
	uint64_t affected_row_count;
	bool has_last_insert_rowid;
	int64_t last_insert_rowid;
	bool has_replication_index;
	uint64_t replication_index;
	uint64_t rows_read, rows_written;
	double query_duration_ms;
};

struct hr_batch_result {
	size_t nsteps;
	struct hr_stmt_result **step_results; /* [nsteps], NULL entries where none */
	struct hr_error **step_errors;        /* [nsteps], NULL entries where none */
	bool has_replication_index;
	uint64_t replication_index;
};

struct hr_describe_param {
	const char *name; /* NULL for a nameless '?' */
};
struct hr_describe_result {
	struct hr_describe_param *params;
	size_t nparams;
	struct hr_col *cols;
	size_t ncols;
	bool is_explain, is_readonly;
};

/* ---- cursor entries (PROTOCOL.md §3.6; we never emit replication_index) ---- */
enum hr_entry_type { HR_ENTRY_STEP_BEGIN = 1, HR_ENTRY_STEP_END, HR_ENTRY_STEP_ERROR, HR_ENTRY_ROW, HR_ENTRY_ERROR };

struct hr_cursor_entry {
	enum hr_entry_type type;
	uint32_t step;               /* STEP_BEGIN, STEP_ERROR */
	struct hr_col *cols;         /* STEP_BEGIN */
	size_t ncols;
	struct hr_value *row;        /* ROW: ncols values */
	size_t nrow;
	uint64_t affected_row_count; /* STEP_END */
	bool has_last_insert_rowid;
	int64_t last_insert_rowid;
	struct hr_error error;       /* STEP_ERROR, ERROR */
};

/* ---- requests (WS RequestMsg payloads and HTTP StreamRequests) ---- */
enum hr_req_type {
	HR_REQ_OPEN_STREAM = 1, HR_REQ_CLOSE_STREAM, HR_REQ_EXECUTE, HR_REQ_BATCH,
	HR_REQ_OPEN_CURSOR, HR_REQ_CLOSE_CURSOR, HR_REQ_FETCH_CURSOR, HR_REQ_SEQUENCE,
	HR_REQ_DESCRIBE, HR_REQ_STORE_SQL, HR_REQ_CLOSE_SQL, HR_REQ_GET_AUTOCOMMIT,
	HR_REQ_CLOSE /* HTTP stream request "close" */
};

struct hr_req {
	enum hr_req_type type;
	int32_t stream_id; /* WS: open/close_stream, execute, batch, open_cursor, sequence, describe, get_autocommit */
	int32_t cursor_id; /* open/close/fetch_cursor */
	uint32_t max_count;/* fetch_cursor */
	const char *sql;   /* sequence, describe (one of sql / sql_id), store_sql */
	bool has_sql_id;
	int32_t sql_id;    /* sequence, describe, store_sql, close_sql */
	struct hr_stmt stmt;   /* execute */
	struct hr_batch batch; /* batch, open_cursor */
};

struct hr_resp {
	enum hr_req_type type; /* equals the request's type */
	struct hr_stmt_result *stmt_result;         /* execute */
	struct hr_batch_result *batch_result;       /* batch */
	struct hr_describe_result *describe_result; /* describe */
	bool is_autocommit;                         /* get_autocommit */
	struct hr_cursor_entry *entries;            /* fetch_cursor */
	size_t nentries;
	bool done;                                  /* fetch_cursor */
};

/* ---- WebSocket messages (PROTOCOL.md §2.2) ---- */
enum hr_cmsg_type { HR_CMSG_HELLO = 1, HR_CMSG_REQUEST };
struct hr_client_msg {
	enum hr_cmsg_type type;
	const char *jwt;    /* hello: NULL when absent or null */
	int32_t request_id; /* request */
	struct hr_req req;  /* request */
};

enum hr_smsg_type { HR_SMSG_HELLO_OK = 1, HR_SMSG_HELLO_ERROR, HR_SMSG_RESPONSE_OK, HR_SMSG_RESPONSE_ERROR };
struct hr_server_msg {
	enum hr_smsg_type type;
	int32_t request_id;    /* response_ok / response_error */
	struct hr_resp resp;   /* response_ok */
	struct hr_error error; /* hello_error / response_error */
};

/* ---- HTTP bodies (PROTOCOL.md §4.2, §4.4) ---- */
struct hr_pipeline_req {
	const char *baton; /* NULL: absent or null */
	struct hr_req *requests;
	size_t nrequests;
};

struct hr_stream_result {
	bool ok;
	struct hr_resp resp;   /* ok */
	struct hr_error error; /* !ok */
};

struct hr_pipeline_resp {
	const char *baton;    /* NULL: stream closed */
	const char *base_url; /* NULL: none */
	struct hr_stream_result *results;
	size_t nresults;
};

struct hr_cursor_req {
	const char *baton;
	struct hr_batch batch;
};

struct hr_cursor_resp { /* the first item of a cursor response body */
	const char *baton;
	const char *base_url;
};

/* Error codes of PROTOCOL.md §4.6 that are not SQLite codes. */
#define HR_E_SQL_PARSE_ERROR "SQL_PARSE_ERROR"
#define HR_E_SQL_NO_STATEMENT "SQL_NO_STATEMENT"
#define HR_E_SQL_MANY_STATEMENTS "SQL_MANY_STATEMENTS"
#define HR_E_SQL_INPUT_ERROR "SQL_INPUT_ERROR"
#define HR_E_ARGS_INVALID "ARGS_INVALID"
#define HR_E_ARGS_BOTH "ARGS_BOTH_POSITIONAL_AND_NAMED"
#define HR_E_TRANSACTION_TIMEOUT "TRANSACTION_TIMEOUT"
#define HR_E_TRANSACTION_BUSY "TRANSACTION_BUSY"
#define HR_E_RESPONSE_TOO_LARGE "RESPONSE_TOO_LARGE"
#define HR_E_STREAM_NOT_OPEN "STREAM_NOT_OPEN"
#define HR_E_CURSOR_NOT_OPEN "CURSOR_NOT_OPEN"
#define HR_E_SQL_STORE_TOO_MANY "SQL_STORE_TOO_MANY"
#define HR_E_SQL_STORE_TOO_LARGE "SQL_STORE_TOO_LARGE"
#define HR_E_STREAM_EXPIRED "STREAM_EXPIRED"
#define HR_E_SQL_NOT_FOUND "SQL_NOT_FOUND"

/* The request type's name on the wire ("execute", "close", ...), and back.
 * hr_req_type_from_name returns 0 for an unknown name. */
const char *hr_req_type_name(enum hr_req_type t);
enum hr_req_type hr_req_type_from_name(const char *name);
/* Minimum Hrana version that has this request (HTTP "close" counts as 2). */
int hr_req_min_version(enum hr_req_type t);
/* True when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
bool hr_utf8_valid(const char *s, size_t n);
/* Parses s[0..n) as a decimal int64 with an optional sign, nothing else
 * (the form Hrana sends integers in); false on anything else or overflow. */
bool hr_parse_i64(const char *s, size_t n, int64_t *out);
#endif
