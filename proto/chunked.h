/* chunked: an incremental decoder for HTTP/1.1 chunked transfer coding
 * (RFC 9112 §7.1), used for request bodies (libwebsockets hands them over
 * still framed) and, in the client, for response bodies.
 *
 * FORMAT
 *   chunk      = size-in-hex [ ";" extension ] CRLF  data(size bytes) CRLF
 *   last-chunk = "0" [ ";" extension ] CRLF
 *   trailer    = *( field-line CRLF ) CRLF
 * A lone LF is accepted where CRLF is due. Sizes above CHUNKED_MAX_SIZE, a
 * non-hex size, or bytes after the end are errors. One decoder per body;
 * no allocation of its own; any thread, one at a time. */
#ifndef SQLWIRE_CHUNKED_H
#define SQLWIRE_CHUNKED_H
#include "buf.h"
#include <stddef.h>
#include <stdint.h>

#define CHUNKED_MAX_SIZE ((uint64_t)1 << 40)

struct chunked {
	int state;
	uint64_t size;   /* bytes left in the current chunk */
	int ndigits;
	int line_len;    /* length of the current trailer line */
};

void chunked_init(struct chunked *c);
/* Feeds in[0..n): appends the data bytes to out. Returns 0 (more expected),
 * 1 (the body is complete; *used tells how many input bytes belonged to it)
 * or -1 (malformed). */
int chunked_feed(struct chunked *c, const char *in, size_t n, struct buf *out, size_t *used);
#endif
