/* sync_stream: an incremental decoder of the replication answers that carry
 * frames (PROTOCOL.md §8.2, §8.4 Step 2), so a replica applies frames as
 * they arrive and never holds a whole answer: a Snapshot or LogEntries
 * stream (one Frame message per gRPC-web data frame) or a BatchLogEntries
 * answer (one Frames message, however long, walked field by field).
 *
 * FORMAT (the body of the HTTP response, bytes untrusted)
 *   gRPC-web frames (proto/grpcweb.h): flags u8 (0x00 data, 0x80 trailer;
 *   any other bit is an error), length u32 BE, payload.
 *   SYNC_STREAM_FRAME mode: each data payload is one `Frame` message
 *     (data=1 bytes, timestamp=2, durable_frame_no=3), decoded whole by
 *     replpb_decode_frame; at most SYNC_STREAM_MAX_MSG bytes.
 *   SYNC_STREAM_FRAMES mode: at most one data payload, a `Frames` message:
 *     a sequence of fields, each a varint key (field << 3 | wire type) then
 *       wire type 0: a varint; 1: 8 bytes; 2: varint length + bytes;
 *       5: 4 bytes (3, 4: groups, refused; field 0 refused);
 *     field 1 (wire type 2 only) is one `Frame` of at most
 *     SYNC_STREAM_MAX_MSG bytes, buffered and decoded whole; other fields
 *     are skipped without buffering.
 *   The trailer payload (at most SYNC_STREAM_MAX_MSG) is parsed by
 *   grpcweb_parse_trailers; nothing may follow it.
 * Every Frame's data must be FRAME_SIZE (4120) bytes.
 *
 * Memory: at most one Frame message or trailer block is buffered
 * (SYNC_STREAM_MAX_MSG); `peak` records the largest buffer held.
 *
 * Threads: one decoder per answer, one thread at a time. */
#ifndef SQLWIRE_SYNC_STREAM_H
#define SQLWIRE_SYNC_STREAM_H
#include "arena.h"
#include "buf.h"
#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNC_STREAM_FRAME 0  /* Snapshot, LogEntries: a stream of Frame messages */
#define SYNC_STREAM_FRAMES 1 /* BatchLogEntries: one Frames message */
#define SYNC_STREAM_MAX_MSG ((size_t)64 << 10)

/* Errors (negative). The decoder stays failed after any of them. */
#define SYNC_STREAM_E_FORMAT (-1) /* bad bytes (message in the struct err) */
#define SYNC_STREAM_E_TRUNCATED (-2) /* sync_stream_end: the body stopped inside a frame */

/* Called for each frame as it is decoded: f is FRAME_SIZE bytes, valid
 * during the call. A non-zero return stops the decoding; feed returns it. */
typedef int (*sync_stream_fn)(void *arg, const uint8_t *f, struct err *e);

struct sync_stream {
	int mode;
	int state;           /* internal */
	int err;             /* set once failed */
	uint8_t hdr[5];
	size_t hdr_len;
	uint64_t left;       /* payload bytes left in the current gRPC-web frame */
	uint64_t need;       /* bytes left of the current field (skip or message) */
	uint64_t varint;     /* FRAMES: the varint being read */
	unsigned vshift;
	uint32_t key;        /* FRAMES: the current field's key */
	bool vlen;           /* FRAMES: the varint is a length (not a key / value) */
	struct buf msg;      /* the Frame message or trailer being gathered */
	size_t ndata;        /* data frames seen */
	uint64_t nframes;    /* frames given to the callback */
	bool got_trailer;
	int status;          /* grpc-status, once got_trailer */
	const char *message; /* grpc-message (in `a`), once got_trailer */
	struct arena a;      /* the trailer's message */
	size_t peak;         /* largest msg buffer held, bytes */
};

void sync_stream_init(struct sync_stream *d, int mode);
void sync_stream_free(struct sync_stream *d); /* accepts a zeroed decoder */
/* Feeds p[0..n) (any split); fn is called for every complete frame.
 * Returns 0, an error (< 0, message in *e), or fn's non-zero return. */
int sync_stream_feed(struct sync_stream *d, const void *p, size_t n, sync_stream_fn fn, void *arg, struct err *e);
/* At the end of the body: 0 when it ended between gRPC-web frames (and,
 * in FRAMES mode, between fields), else SYNC_STREAM_E_TRUNCATED. */
int sync_stream_end(const struct sync_stream *d, struct err *e);
#endif
