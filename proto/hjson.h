/* hjson: the Hrana JSON codec (PROTOCOL.md §2.2-2.3, §3, §4.2-4.4, §6.1).
 *
 * Decoders turn one request body (a WebSocket text message, an HTTP body)
 * into the model of hrana.h; encoders write the model as JSON into a buf.
 * Decoding uses jansson internally (no jansson type leaks out of hjson.c);
 * encoding is hand-written and never touches jansson.
 *
 * Threads: every function is pure and reentrant; any thread may call them,
 * each with its own arena / buf.
 *
 * DECODERS (all hjson_decode_*)
 *   Return 0 on success or one of the negative HJSON_E_* codes, and on error
 *   write a short message naming the offending field into *e (e may be NULL):
 *     HJSON_E_SYNTAX        not JSON, invalid UTF-8, trailing garbage, nesting
 *                           deeper than 2048
 *     HJSON_E_SHAPE         valid JSON of the wrong shape: a missing required
 *                           field, a field of the wrong JSON type, an integer
 *                           field given as a float or out of its range (also
 *                           numbers too big for jansson), an i64 value given as
 *                           a JSON number or not a decimal string that fits,
 *                           bad base64, an unknown BatchCond or Value type
 *     HJSON_E_UNKNOWN_TYPE  an unknown "type" on a WS message or on a request
 *                           (a WS request type on HTTP or "close" on WS counts
 *                           as unknown)
 *     HJSON_E_INVALID       both or neither of sql / sql_id (Stmt, sequence,
 *                           describe)
 *   Everything the result points to is allocated in the arena `a` (strings are
 *   copied and NUL-terminated; text values keep their byte length, embedded
 *   NULs included); nothing refers to the input buffer afterwards. On error
 *   *out is unspecified and the arena may hold partial allocations.
 *   Only text values carry a length: any other string (sql, names, baton,
 *   jwt) that holds a "\u0000" is seen up to its first NUL. Unknown fields
 *   are ignored; of duplicate keys the last one wins. An optional field given
 *   as JSON null counts as absent. Versions are not checked: every Hrana 3
 *   request decodes; the session layer gates with hr_req_min_version().
 *
 * ENCODERS (all hjson_encode_* and hjson_put_*)
 *   Append exactly one JSON text (no newline) to b and cannot fail (buf
 *   aborts on out-of-memory). Strings are escaped ('"', '\\', control chars as
 *   \u00XX); bytes that are not valid UTF-8 are written as \ufffd. C strings
 *   stop at their NUL; text values are written with their length. i64 values
 *   that Hrana carries as strings are decimal strings; blobs are standard
 *   base64 without padding; floats use the shortest "%.{15,16,17}g" form that
 *   reads back to the same double (".0" appended when it would look like an
 *   integer); +Inf is 1e999, -Inf -1e999, NaN null. A NULL optional string is
 *   written as null. */
#ifndef SQLWIRE_HJSON_H
#define SQLWIRE_HJSON_H
#include "arena.h"
#include "buf.h"
#include "err.h"
#include "hrana.h"
#include <stddef.h>

#define HJSON_E_SYNTAX (-1)
#define HJSON_E_SHAPE (-2)
#define HJSON_E_UNKNOWN_TYPE (-3)
/* Well-formed, but breaks a protocol rule (both or neither of sql / sql_id):
 * sqld treats these as protocol violations (WebSocket close 1008). */
#define HJSON_E_INVALID (-4)

/* ---- decoders (server side: requests) ---- */

/* A WebSocket client message: {"type":"hello","jwt"?:str|null} or
 * {"type":"request","request_id":int32,"request":Request}. out->jwt is NULL
 * when the jwt is absent or null. Requests carry their stream_id etc. */
int hjson_decode_client_msg(struct arena *a, const char *buf, size_t n, struct hr_client_msg *out,
			    struct err *e);
/* POST /v2|v3/pipeline body: {"baton"?:str|null,"requests":[StreamRequest]}.
 * out->baton is NULL when absent or null; "close" becomes HR_REQ_CLOSE. */
int hjson_decode_pipeline_req(struct arena *a, const char *buf, size_t n, struct hr_pipeline_req *out,
			      struct err *e);
/* POST /v3/cursor body: {"baton"?:str|null,"batch":Batch}. */
int hjson_decode_cursor_req(struct arena *a, const char *buf, size_t n, struct hr_cursor_req *out,
			    struct err *e);
/* POST /v1/execute body {"stmt":Stmt} and POST /v1/batch body {"batch":Batch}. */
int hjson_decode_v1_execute(struct arena *a, const char *buf, size_t n, struct hr_stmt *out, struct err *e);
int hjson_decode_v1_batch(struct arena *a, const char *buf, size_t n, struct hr_batch *out, struct err *e);
/* Legacy POST / body (PROTOCOL.md §6.1): {"statements":[Query]}. OUT: *stmts
 * (arena array of *nstmts statements; NULL when there are none). Plain JSON
 * values: null, integer → HR_INTEGER, other number → HR_FLOAT, string → text,
 * true/false → HR_INTEGER 1/0, {"base64":str} → blob. An object params
 * becomes named args (keys kept as sent). */
int hjson_decode_legacy(struct arena *a, const char *buf, size_t n, struct hr_stmt **stmts, size_t *nstmts,
			struct err *e);

/* ---- response encoders (server side) ---- */

/* {"type":"hello_ok"} | {"type":"hello_error","error":Error}
 * | {"type":"response_ok","request_id":N,"response":Response}
 * | {"type":"response_error","request_id":N,"error":Error} */
void hjson_encode_server_msg(struct buf *b, const struct hr_server_msg *m);
/* {"baton":..,"base_url":..,"results":[{"type":"ok","response":..}|{"type":"error","error":..}]} */
void hjson_encode_pipeline_resp(struct buf *b, const struct hr_pipeline_resp *r);
/* First line of a cursor body: {"baton":..,"base_url":..}. */
void hjson_encode_cursor_resp(struct buf *b, const struct hr_cursor_resp *r);
/* One CursorEntry (PROTOCOL.md §3.6). The caller adds the "\n". */
void hjson_encode_cursor_entry(struct buf *b, const struct hr_cursor_entry *en);
/* {"message":..,"code":..}; "code" is left out when er->code is NULL. */
void hjson_encode_error(struct buf *b, const struct hr_error *er);
/* /v1 responses: {"result":StmtResult} and {"result":BatchResult}. */
void hjson_encode_v1_execute_resp(struct buf *b, const struct hr_stmt_result *r);
void hjson_encode_v1_batch_resp(struct buf *b, const struct hr_batch_result *r);
/* Legacy POST / response: a JSON array with one element per step of r:
 * {"results":{"columns","rows","rows_read","rows_written","query_duration_ms"}}
 * for a step with a result, {"error":message} for a failed one, null for a
 * skipped one. Pass nsteps = the number of user statements (hide the
 * trailing ROLLBACK step by lowering nsteps in a copy). */
void hjson_encode_legacy_resp(struct buf *b, const struct hr_batch_result *r);

/* Building blocks of the above, for callers that assemble responses. */
void hjson_encode_resp(struct buf *b, const struct hr_resp *r); /* Response / StreamResponse */
void hjson_encode_stmt_result(struct buf *b, const struct hr_stmt_result *r);
void hjson_encode_batch_result(struct buf *b, const struct hr_batch_result *r);
void hjson_encode_describe_result(struct buf *b, const struct hr_describe_result *r);
void hjson_encode_value(struct buf *b, const struct hr_value *v); /* Hrana Value object */

/* Upper bound of the bytes hjson_encode_value writes for v (exact except for
 * floats, which count as 25 characters); also bounds the legacy plain form. */
size_t hjson_value_size(const struct hr_value *v);

/* ---- request encoders (client side; tests and fuzz round trips) ---- */

/* The inverse of the decoders above: decode(encode(x)) == x for any x a
 * decoder produced. Stmts always carry "args", "named_args", "want_rows". */
void hjson_encode_client_msg(struct buf *b, const struct hr_client_msg *m);
void hjson_encode_pipeline_req(struct buf *b, const struct hr_pipeline_req *r);
void hjson_encode_cursor_req(struct buf *b, const struct hr_cursor_req *r);
void hjson_encode_v1_execute_req(struct buf *b, const struct hr_stmt *s);
void hjson_encode_v1_batch_req(struct buf *b, const struct hr_batch *bt);
/* {"statements":[{"q":sql,"params":[..]|{..}}]} with plain JSON values. */
void hjson_encode_legacy_req(struct buf *b, const struct hr_stmt *stmts, size_t nstmts);

/* ---- primitives ---- */

/* A JSON string literal of s[0..n), quotes included. */
void hjson_put_str(struct buf *b, const char *s, size_t n);
/* Standard base64 of p[0..n) without '=' padding and without quotes. */
void hjson_put_base64(struct buf *b, const void *p, size_t n);
/* Decodes standard base64 with or without '=' padding (padding, when present,
 * must complete the last quantum; unused trailing bits must be zero) into
 * out[0..cap). Returns 0 and sets *outn, or -1 for invalid input or when
 * cap is too small; n / 4 * 3 + 2 bytes always suffice. */
int hjson_base64_decode(const char *s, size_t n, unsigned char *out, size_t cap, size_t *outn);
#endif
