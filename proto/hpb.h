/* hpb: the Hrana 3 protobuf codec (PROTOCOL.md §5; schema proto/hrana.proto).
 *
 * The protobuf twin of hjson: decoders turn one request body (a WebSocket
 * binary message of subprotocol hrana3-protobuf, a /v3-protobuf/ HTTP body)
 * into the model of hrana.h, encoders write the model as protobuf into a buf.
 * protobuf-c does the wire work; its types never leave hpb.c / hpb_enc.c.
 *
 * Threads: every function is pure and reentrant; any thread may call them,
 * each with its own arena / buf.
 *
 * DECODERS (all hpb_decode_*)
 *   Return 0 or one of the HPB_E_* codes (the same numbers and meanings as
 *   HJSON_E_*, so a transport maps both the same way), and say why in *e:
 *     HPB_E_SYNTAX        not protobuf (truncated, bad wire type, length past
 *                         the end, a field of the wrong wire type), a string
 *                         or text value that is not UTF-8, messages nested
 *                         deeper than HPB_MAX_DEPTH
 *     HPB_E_SHAPE         well-formed protobuf the model cannot hold: a
 *                         BatchCond with none of its variants set (client
 *                         side also: a StmtResult row whose value count is
 *                         not its column count, a BatchResult step index
 *                         over 2^20)
 *     HPB_E_UNKNOWN_TYPE  a ClientMsg / RequestMsg / StreamRequest with none
 *                         of its variants set (also one the schema does not
 *                         know: unknown fields are ignored)
 *     HPB_E_INVALID       both or neither of sql / sql_id (Stmt, sequence,
 *                         describe)
 *   proto3 rules: an absent field has its default (0, "", false, an empty
 *   message): a missing Stmt is an empty one (→ HPB_E_INVALID), a missing
 *   Batch has no steps, a Value with no variant set is null; want_rows absent
 *   means true. Unknown fields are ignored; a scalar field sent twice:
 *   the last one wins. Strings are C strings seen up to their first NUL (as in
 *   hjson); text values keep their byte length. Everything the result points
 *   to lives in the arena `a`. Versions are not checked (as in hjson).
 *
 * ENCODERS (all hpb_encode_*)
 *   Append one protobuf message to b and cannot fail (out of memory aborts).
 *   NULL optional strings are left out; text values are written with their
 *   length; a batch result writes one map entry per non-NULL step result or
 *   error. Cursor bodies are a length-delimited stream: the *_delim encoders
 *   write the message's varint length first.
 *
 * CLIENT SIDE (tests, fuzz round trips, bench): request encoders, response
 *   decoders. decode(encode(x)) == x for the model, except that a decoded
 *   batch result has as many steps as its highest map key + 1 (protobuf
 *   carries no step count), and a decoded StmtResult row count is what was
 *   sent. */
#ifndef SQLWIRE_HPB_H
#define SQLWIRE_HPB_H
#include "arena.h"
#include "buf.h"
#include "err.h"
#include "hrana.h"
#include <stddef.h>

#define HPB_E_SYNTAX (-1)
#define HPB_E_SHAPE (-2)
#define HPB_E_UNKNOWN_TYPE (-3)
#define HPB_E_INVALID (-4)

/* Deepest nesting of messages a decoder accepts (protobuf-c recurses once per
 * level; a BatchCond `not` chain costs one level per cond). */
#define HPB_MAX_DEPTH 1000

/* ---- decoders (server side: requests) ---- */
int hpb_decode_client_msg(struct arena *a, const void *p, size_t n, struct hr_client_msg *out, struct err *e);
int hpb_decode_pipeline_req(struct arena *a, const void *p, size_t n, struct hr_pipeline_req *out, struct err *e);
int hpb_decode_cursor_req(struct arena *a, const void *p, size_t n, struct hr_cursor_req *out, struct err *e);

/* ---- encoders (server side: responses) ---- */
void hpb_encode_server_msg(struct buf *b, const struct hr_server_msg *m);
void hpb_encode_pipeline_resp(struct buf *b, const struct hr_pipeline_resp *r);
void hpb_encode_error(struct buf *b, const struct hr_error *er);
/* /v3-protobuf/cursor body items: varint length + CursorRespBody / CursorEntry. */
void hpb_encode_cursor_resp_delim(struct buf *b, const struct hr_cursor_resp *r);
void hpb_encode_cursor_entry_delim(struct buf *b, const struct hr_cursor_entry *en);

/* ---- client side ---- */
void hpb_encode_client_msg(struct buf *b, const struct hr_client_msg *m);
void hpb_encode_pipeline_req(struct buf *b, const struct hr_pipeline_req *r);
void hpb_encode_cursor_req(struct buf *b, const struct hr_cursor_req *r);
int hpb_decode_server_msg(struct arena *a, const void *p, size_t n, struct hr_server_msg *out, struct err *e);
int hpb_decode_pipeline_resp(struct arena *a, const void *p, size_t n, struct hr_pipeline_resp *out, struct err *e);
int hpb_decode_cursor_resp(struct arena *a, const void *p, size_t n, struct hr_cursor_resp *out, struct err *e);
int hpb_decode_cursor_entry(struct arena *a, const void *p, size_t n, struct hr_cursor_entry *out, struct err *e);
/* One item of a length-delimited stream at p[*off..n): sets *item / *len and
 * advances *off. Returns 1 for an item, 0 at the clean end, HPB_E_SYNTAX for a
 * truncated length or item. */
int hpb_next_delim(const void *p, size_t n, size_t *off, const void **item, size_t *len);
#endif
