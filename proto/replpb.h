/* replpb: the protobuf codec of the replication services (PROTOCOL.md §8.2):
 * wal_log.ReplicationLog (proto/replication_log.proto, with
 * metadata.DatabaseConfig from proto/metadata.proto) and proxy.Proxy
 * (proto/proxy.proto). Both directions: the server decodes requests and
 * encodes responses, the client library (and the tests) encode requests and
 * decode responses. gRPC-web framing is grpcweb.h's job; the bytes here are
 * one bare protobuf message each.
 *
 * protobuf-c is used inside replpb.c only: every message crosses this
 * interface as the plain structures below (or as the Hrana model of hrana.h
 * where it fits: a Program is a struct hr_batch, a Query a struct hr_stmt, a
 * Cond a struct hr_cond, ResultRows a struct hr_stmt_result, and every
 * proxy.Value -- bincode inside protobuf bytes, see bincode.h -- a struct
 * hr_value).
 *
 * Mapping of proxy.Query to struct hr_stmt:
 *   stmt -> sql; skip_rows -> !want_rows; has_sql_id is never set.
 *   Positional{values} -> args/nargs; Named{names, values} -> named/nnamed
 *   (names as sent); neither -> no arguments. The encoder writes Named when
 *   nnamed > 0 and otherwise a Positional, even an empty one (as libSQL's
 *   client does: "12 00" in REPLICA_TRAFFIC.md).
 * Mapping of proxy.Cond to struct hr_cond: ok / err -> HR_COND_OK /
 *   HR_COND_ERROR with step; not -> HR_COND_NOT with one child; and / or ->
 *   HR_COND_AND / HR_COND_OR; is_autocommit -> HR_COND_IS_AUTOCOMMIT.
 *
 * Threads: pure functions; any thread, each with its own arena / buf.
 *
 * DECODERS (replpb_decode_*)
 *   Decode one message p[0..n) into *out; everything *out points to is
 *   allocated in the arena `a` (or is static, like "" for an absent string),
 *   nothing refers to p afterwards. Return 0, or on error a negative code
 *   with a message in *e (e may be NULL); *out is then unspecified and the
 *   arena may hold partial allocations:
 *     REPLPB_E_WIRE     not a well-formed protobuf message of that type, a
 *                       group, a field number 0, or messages nested deeper
 *                       than REPLPB_MAX_DEPTH (checked before protobuf-c
 *                       recurses, so hostile nesting cannot exhaust the stack)
 *     REPLPB_E_INVALID  well-formed, but breaks a rule: a string field that is
 *                       not UTF-8 or holds a NUL; a proxy.Value that is not
 *                       one bincode value (see bincode.h); a Step without a
 *                       query; a Cond with no member; a cond step outside
 *                       0 .. (index of its own step - 1); Named with more or
 *                       fewer names than values; a QueryResult or
 *                       DescribeResult with neither member; a Row whose width
 *                       is not the number of columns
 *   Unknown fields are ignored. Absent proto3 strings decode as "" (never
 *   NULL); absent optional strings as NULL; absent optional scalars leave
 *   has_* false. bytes fields keep their length and get a NUL after them.
 *
 * ENCODERS (replpb_encode_*)
 *   Append exactly one message to b (buf aborts on out-of-memory) in
 *   field-number order, omitting proto3 defaults, as prost does -- so a
 *   message decoded and encoded again comes out byte-identical unless it
 *   carried unknown fields, defaults written explicitly or fields out of
 *   order. A NULL string is written as absent (""). The few that can be
 *   handed something unencodable return 0 or REPLPB_E_INVALID (message in
 *   *e) and then leave b as it was; the others cannot fail. proxy.Ack and
 *   every other empty message encode as zero bytes. */
#ifndef SQLWIRE_REPLPB_H
#define SQLWIRE_REPLPB_H
#include "arena.h"
#include "buf.h"
#include "err.h"
#include "hrana.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLPB_E_WIRE (-1)
#define REPLPB_E_INVALID (-2)
#define REPLPB_MAX_DEPTH 100 /* message nesting, the same limit as prost */

/* wal_log.LogOffset.WalFlavor */
#define REPLPB_WAL_FLAVOR_SQLITE 0
#define REPLPB_WAL_FLAVOR_LIBSQL 1
/* metadata.DurabilityMode */
#define REPLPB_DURABILITY_RELAXED 0
#define REPLPB_DURABILITY_STRONG 1
#define REPLPB_DURABILITY_EXTRA 2
#define REPLPB_DURABILITY_OFF 3
/* proxy.State */
#define REPLPB_STATE_INIT 0
#define REPLPB_STATE_INVALID 1
#define REPLPB_STATE_TXN 2
/* proxy.Error.ErrorCode */
#define REPLPB_ERROR_SQL_ERROR 0
#define REPLPB_ERROR_TX_BUSY 1
#define REPLPB_ERROR_TX_TIMEOUT 2
#define REPLPB_ERROR_INTERNAL 3

/* ---- wal_log / metadata ---- */
struct replpb_hello_req {
	bool has_handshake_version;
	uint64_t handshake_version; /* clients send 1 */
};

struct replpb_log_offset {
	uint64_t next_offset;
	bool has_wal_flavor;
	int32_t wal_flavor; /* REPLPB_WAL_FLAVOR_*, any value as sent */
};

struct replpb_db_config {
	bool block_reads, block_writes;
	const char *block_reason; /* NULL: absent (so for every optional string) */
	uint64_t max_db_pages;
	const char *heartbeat_url;
	const char *bottomless_db_id;
	const char *jwt_key;
	bool has_txn_timeout_s;
	uint64_t txn_timeout_s;
	bool allow_attach;
	bool has_max_row_size;
	uint64_t max_row_size;
	bool has_shared_schema;
	bool shared_schema;
	const char *shared_schema_name;
	bool has_durability_mode;
	int32_t durability_mode; /* REPLPB_DURABILITY_* */
};

struct replpb_hello_resp {
	const char *generation_id; /* UUID string */
	uint64_t generation_start_index;
	const char *log_id;        /* UUID string */
	const uint8_t *session_token; /* bytes (a UUID string in practice) */
	size_t session_token_len;
	bool has_current_replication_index; /* absent while the log is empty */
	uint64_t current_replication_index;
	struct replpb_db_config *config; /* NULL: absent */
};

struct replpb_frame {
	const uint8_t *data; /* 4120 bytes in practice; may be NULL when len is 0 */
	size_t len;
	bool has_timestamp;
	int64_t timestamp;   /* commit time, ms */
	bool has_durable_frame_no;
	uint64_t durable_frame_no;
};

struct replpb_frames {
	struct replpb_frame *frames;
	size_t nframes;
};

/* ---- proxy ---- */
struct replpb_program_req {
	const char *client_id; /* UUID string */
	struct hr_batch pgm;   /* an absent Program decodes as zero steps */
};

struct replpb_describe_req {
	const char *client_id;
	const char *stmt;
};

struct replpb_disconnect {
	const char *client_id;
};

struct replpb_error {
	int32_t code;          /* REPLPB_ERROR_*, any value as sent */
	const char *message;
	int32_t extended_code; /* SQLite extended result code */
};

struct replpb_query_result {
	/* Exactly one is set when decoded. The encoder writes error when it is
	 * not NULL, else rows (NULL rows = an empty ResultRows, e.g. for a
	 * skipped step). Of rows only cols (name, decltype), rows / nrows (each
	 * row ncols values), affected_row_count and last_insert_rowid are on
	 * the wire; a NULL column name is written as "". */
	struct replpb_error *error;
	struct hr_stmt_result *rows;
};

struct replpb_execute_results {
	struct replpb_query_result *results; /* one per step */
	size_t nresults;
	int32_t state; /* REPLPB_STATE_* */
	bool has_current_frame_no;
	uint64_t current_frame_no;
};

struct replpb_describe_result {
	struct replpb_error *error; /* not NULL: the error member, the rest unused */
	struct hr_col *cols;        /* Description.column_descriptions */
	size_t ncols;
	const char **param_names;
	size_t nparam_names;
	uint64_t param_count;
};

/* ---- server side: decode requests ---- */
int replpb_decode_hello_req(struct arena *a, const void *p, size_t n, struct replpb_hello_req *out,
			    struct err *e);
int replpb_decode_log_offset(struct arena *a, const void *p, size_t n,
			     struct replpb_log_offset *out, struct err *e);
int replpb_decode_program_req(struct arena *a, const void *p, size_t n,
			      struct replpb_program_req *out, struct err *e);
int replpb_decode_describe_req(struct arena *a, const void *p, size_t n,
			       struct replpb_describe_req *out, struct err *e);
int replpb_decode_disconnect(struct arena *a, const void *p, size_t n,
			     struct replpb_disconnect *out, struct err *e);

/* ---- server side: encode responses ---- */
void replpb_encode_hello_resp(struct buf *b, const struct replpb_hello_resp *m);
void replpb_encode_frame(struct buf *b, const struct replpb_frame *f);
void replpb_encode_frames(struct buf *b, const struct replpb_frames *f);
/* Appends one `frames` entry: a Frames message is the concatenation of its
 * entries (none = the empty message), so a BatchLogEntries answer can be
 * built one frame at a time without an array. */
void replpb_frames_append(struct buf *b, const struct replpb_frame *f);
void replpb_encode_execute_results(struct buf *b, const struct replpb_execute_results *r);
void replpb_encode_describe_result(struct buf *b, const struct replpb_describe_result *r);

/* ---- client side: encode requests ---- */
void replpb_encode_hello_req(struct buf *b, const struct replpb_hello_req *m);
void replpb_encode_log_offset(struct buf *b, const struct replpb_log_offset *m);
/* REPLPB_E_INVALID when a statement has no sql, uses sql_id, or has both
 * positional and named arguments, or a cond is malformed (an unknown type,
 * NOT without exactly one child). */
int replpb_encode_program_req(struct buf *b, const struct replpb_program_req *r, struct err *e);
void replpb_encode_describe_req(struct buf *b, const struct replpb_describe_req *m);
void replpb_encode_disconnect(struct buf *b, const struct replpb_disconnect *m);

/* ---- client side: decode responses ---- */
int replpb_decode_hello_resp(struct arena *a, const void *p, size_t n,
			     struct replpb_hello_resp *out, struct err *e);
int replpb_decode_frame(struct arena *a, const void *p, size_t n, struct replpb_frame *out,
			struct err *e);
int replpb_decode_frames(struct arena *a, const void *p, size_t n, struct replpb_frames *out,
			 struct err *e);
int replpb_decode_execute_results(struct arena *a, const void *p, size_t n,
				  struct replpb_execute_results *out, struct err *e);
int replpb_decode_describe_result(struct arena *a, const void *p, size_t n,
				  struct replpb_describe_result *out, struct err *e);
#endif
