/* hjson_client: the client direction of the Hrana JSON codec (PROTOCOL.md
 * §2.2-2.3, §3, §4.2): requests are encoded (by hjson's request encoders),
 * server messages and pipeline responses are decoded into hrana.h.
 *
 * Decoding parses with jtree (proto/jtree.h) into the arena given: everything
 * a decoded result points to lives there (strings NUL-terminated, text
 * values keep their length); nothing refers to the input afterwards. On
 * error the arena may hold partial allocations and *out is unspecified.
 *
 * Decoders return 0 or a negative HJSON_E_* code (hjson.h) and say why in *e:
 *   HJSON_E_SYNTAX        not JSON / invalid UTF-8 / trailing garbage
 *   HJSON_E_SHAPE         a missing or ill-typed field, a row whose length is
 *                         not the column count, an i64 that does not fit,
 *                         bad base64, an unknown Value type, batch arrays of
 *                         different lengths
 *   HJSON_E_UNKNOWN_TYPE  an unknown message or response "type"
 * Leniencies (the server may be another implementation): integers given as
 * JSON numbers where Hrana uses decimal strings are accepted; a float value
 * of null (what a Rust sqld writes for NaN/Inf) decodes as HR_NULL, and
 * 1e999 / -1e999 (what our sqld writes for +-Inf) as infinities; unknown fields
 * are ignored; an Error may carry an integer "extended_code" (then
 * hr_error.extended_code has it; otherwise 0).
 *
 * Threads: pure and reentrant; one arena / buf per caller. */
#ifndef SQLWIRE_HJSON_CLIENT_H
#define SQLWIRE_HJSON_CLIENT_H
#include "arena.h"
#include "buf.h"
#include "err.h"
#include "hjson.h"
#include "hrana.h"
#include <stddef.h>
#include <stdint.h>

/* {"type":"hello","jwt":jwt|null} */
void hjson_client_encode_hello(struct buf *b, const char *jwt);
/* {"type":"request","request_id":id,"request":Request} (a WS request). */
void hjson_client_encode_request(struct buf *b, int32_t request_id, const struct hr_req *r);
/* {"baton":baton|null,"requests":[StreamRequest...]} (HTTP pipeline). */
void hjson_client_encode_pipeline(struct buf *b, const char *baton, const struct hr_req *reqs, size_t n);

/* One WebSocket server message: hello_ok, hello_error, response_ok (the
 * Response decoded by its own "type"), response_error. */
int hjson_client_decode_server_msg(struct arena *a, const char *buf, size_t n, struct hr_server_msg *out,
				   struct err *e);
/* A pipeline response body {"baton","base_url","results":[StreamResult]}. */
int hjson_client_decode_pipeline_resp(struct arena *a, const char *buf, size_t n, struct hr_pipeline_resp *out,
				      struct err *e);
/* The body of a failed HTTP request: a Hrana Error {"message","code"} or
 * sqld's generic {"error":"..."} (code NULL then). */
int hjson_client_decode_error(struct arena *a, const char *buf, size_t n, struct hr_error *out, struct err *e);
#endif
