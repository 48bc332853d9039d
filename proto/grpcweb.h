/* grpcweb: gRPC-web message framing (binary mode, application/grpc-web), the
 * transport embedded replicas use for the replication and proxy services on
 * the user HTTP port (PROTOCOL.md §8.4 Step 2, REPLICA_TRAFFIC.md).
 *
 * FORMAT
 *   A body (request or response) is a sequence of frames:
 *     offset  size  field
 *     0       1     flags: 0x00 data frame, 0x80 trailer frame; bit 0x01 =
 *                   payload compressed (never negotiated here: an error);
 *                   any other bit set is an error too
 *     1       4     L = payload length, u32 big-endian
 *     5       L     payload: a protobuf message (data) or a trailer block
 *   A trailer block is HTTP/1-style header lines, each ended by CRLF:
 *     "grpc-status:" decimal-code CRLF  "grpc-message:" percent-encoded CRLF
 *   The trailer frame, when present, is the last frame of a body. The
 *   grpc-message value is percent-encoded per the gRPC spec: every byte
 *   outside 0x20..0x7E, and '%' itself, becomes "%XX" (upper-case hex).
 *   Worked examples: HelloRequest{handshake_version=1} in a request body =
 *   00 00000002 0801; an OK trailer = 80 0000000f "grpc-status:0\r\n".
 *
 * Threads: one decoder per body, used by one thread at a time; the encoders
 * and parsers are pure. */
#ifndef SQLWIRE_GRPCWEB_H
#define SQLWIRE_GRPCWEB_H
#include "arena.h"
#include "buf.h"
#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* gRPC status codes (grpc/doc/statuscodes.md). */
#define GRPC_STATUS_OK 0
#define GRPC_STATUS_CANCELLED 1
#define GRPC_STATUS_UNKNOWN 2
#define GRPC_STATUS_INVALID_ARGUMENT 3
#define GRPC_STATUS_DEADLINE_EXCEEDED 4
#define GRPC_STATUS_NOT_FOUND 5
#define GRPC_STATUS_ALREADY_EXISTS 6
#define GRPC_STATUS_PERMISSION_DENIED 7
#define GRPC_STATUS_RESOURCE_EXHAUSTED 8
#define GRPC_STATUS_FAILED_PRECONDITION 9
#define GRPC_STATUS_ABORTED 10
#define GRPC_STATUS_OUT_OF_RANGE 11
#define GRPC_STATUS_UNIMPLEMENTED 12
#define GRPC_STATUS_INTERNAL 13
#define GRPC_STATUS_UNAVAILABLE 14
#define GRPC_STATUS_DATA_LOSS 15
#define GRPC_STATUS_UNAUTHENTICATED 16

#define GRPCWEB_FLAG_DATA 0x00
#define GRPCWEB_FLAG_TRAILERS 0x80
#define GRPCWEB_FLAG_COMPRESSED 0x01
#define GRPCWEB_HDR_SIZE 5
#define GRPCWEB_DEFAULT_MAX_MSG ((size_t)16 << 20) /* 16 MiB */

/* Error codes (negative). The decoder stays failed after any of them. */
#define GRPCWEB_E_COMPRESSED (-1) /* flag bit 0x01: we never negotiate compression */
#define GRPCWEB_E_FLAGS (-2)      /* flag bits other than 0x80 / 0x01 */
#define GRPCWEB_E_TOO_LARGE (-3)  /* declared length above the decoder's maximum */
#define GRPCWEB_E_AFTER_TRAILERS (-4) /* bytes after the trailer frame */
#define GRPCWEB_E_TRUNCATED (-5)  /* grpcweb_dec_end: the body stopped inside a frame */
#define GRPCWEB_E_TRAILERS (-6)   /* grpcweb_parse_trailers: malformed block */

/* ---- incremental decoder ---- */
struct grpcweb_frame {
	uint8_t flags;       /* GRPCWEB_FLAG_DATA or GRPCWEB_FLAG_TRAILERS */
	const uint8_t *data; /* payload, borrowed (see grpcweb_dec_feed) */
	size_t len;
};

struct grpcweb_dec {
	size_t max_msg;      /* largest payload accepted */
	int state;           /* internal */
	int err;             /* the GRPCWEB_E_* code once failed */
	uint8_t hdr[GRPCWEB_HDR_SIZE];
	size_t hdr_len;      /* header bytes gathered so far */
	size_t need;         /* payload length of the current frame */
	struct buf msg;      /* payload bytes gathered so far (split frames only) */
	size_t nframes;      /* frames yielded so far */
};

/* Prepares d; max_msg 0 means GRPCWEB_DEFAULT_MAX_MSG. No allocation. */
void grpcweb_dec_init(struct grpcweb_dec *d, size_t max_msg);
/* Frees what d holds (accepts a zeroed or already freed decoder). */
void grpcweb_dec_free(struct grpcweb_dec *d);

/* Feeds in[0..n) (chunks of any size, including 0). Stops after the first
 * frame that completes and returns:
 *    1  a frame: *out is filled, *used = input bytes consumed (call again
 *       with in + *used to get the next frames);
 *    0  every byte was consumed (*used = n) and no frame completed yet;
 *   <0  a GRPCWEB_E_* code, message in *e (e may be NULL); *used is
 *       unspecified, and every later call fails the same way.
 * out->data points either into `in` (a frame wholly inside this chunk and
 * nothing buffered: no copy) or into d's own buffer; either way it is valid
 * until the next call on d and, in the first case, as long as `in` is.
 * Payload bytes are buffered only as they arrive: a declared length is never
 * allocated up front, and one above max_msg fails as soon as the 5-byte
 * header is complete. */
int grpcweb_dec_feed(struct grpcweb_dec *d, const void *in, size_t n, size_t *used,
		     struct grpcweb_frame *out, struct err *e);

/* Call at the end of the body: 0 when it ended between frames,
 * GRPCWEB_E_TRUNCATED when inside one (or the error the decoder failed
 * with earlier). */
int grpcweb_dec_end(const struct grpcweb_dec *d, struct err *e);

/* True once a trailer frame was yielded (any further byte is an error). */
bool grpcweb_dec_got_trailers(const struct grpcweb_dec *d);

/* ---- encoders (append to b; buf aborts on out-of-memory) ---- */
/* One data frame around p[0..n). n must be below 2^32. */
void grpcweb_encode_data(struct buf *b, const void *p, size_t n);
/* Zero-copy variant: grpcweb_begin_data appends a header with a placeholder
 * length and returns its offset in b; append the payload to b, then
 * grpcweb_end_data(b, offset) fills in the length (everything after the
 * header). */
size_t grpcweb_begin_data(struct buf *b);
void grpcweb_end_data(struct buf *b, size_t offset);
/* The trailer frame "grpc-status:<status>\r\n" followed, when message is not
 * NULL, by "grpc-message:<percent-encoded message>\r\n" (an empty message
 * gives an empty value). */
void grpcweb_encode_trailers(struct buf *b, int status, const char *message);
/* Appends s[0..n) percent-encoded for grpc-message (also usable as the
 * value of a grpc-message HTTP header in a trailers-only response). */
void grpcweb_pct_encode(struct buf *b, const char *s, size_t n);

/* ---- trailer block parser (client side, tests) ---- */
struct grpcweb_trailers {
	int status;          /* grpc-status */
	const char *message; /* grpc-message, percent-decoded, NUL-terminated;
			        "" when absent (arena or static storage) */
	size_t message_len;  /* may hold NULs that came from %00 */
};

/* Parses a trailer block p[0..n) (the payload of a trailer frame): lines
 * ended by CRLF or a lone LF (the last line may lack it), each "name:value";
 * names are case-insensitive, spaces and tabs around the value are dropped,
 * unknown names are ignored, of repeated names the last one wins.
 * grpc-status must be present and a decimal number 0..2147483647. The
 * message is percent-decoded leniently, as the gRPC spec asks: a '%' not
 * followed by two hex digits is kept as is. Returns 0 or GRPCWEB_E_TRAILERS
 * (message in *e). The decoded message is allocated in `a`. */
int grpcweb_parse_trailers(struct arena *a, const void *p, size_t n, struct grpcweb_trailers *out,
			   struct err *e);

/* Percent-decodes s[0..n) into a (NUL-terminated; *outlen = length). */
char *grpcweb_pct_decode(struct arena *a, const char *s, size_t n, size_t *outlen);

/* The canonical name of a status code ("OK", "FAILED_PRECONDITION", ...),
 * "UNKNOWN_STATUS" for codes outside 0..16. Static storage. */
const char *grpcweb_status_name(int status);
#endif
