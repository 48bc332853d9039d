/* libFuzzer target: xport's pure parsers (libclient/xport_parse.c, built in
 * here because fuzz targets link only proto/): the HTTP response head (then
 * the chunked body after it, as xport reads it), and a run of WebSocket
 * frames with their payloads unmasked. Checks: a head that parses has the
 * same length when exactly its bytes are given; a frame header that parses
 * never claims more than 14 bytes and is stable under more input. */
#include "../../libclient/xport_parse.c"
#include "chunked.h"
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	struct xp_head h, h2;
	long hl = xp_head_parse((const char *)data, n, &h);
	if (hl > 0) {
		if ((size_t)hl > n || xp_head_parse((const char *)data, (size_t)hl, &h2) != hl || h2.status != h.status ||
		    h2.content_length != h.content_length)
			abort();
		if (h.chunked) {
			struct chunked c;
			struct buf out;
			size_t used = 0;
			buf_init(&out);
			chunked_init(&c);
			if (chunked_feed(&c, (const char *)data + hl, n - (size_t)hl, &out, &used) == 1 &&
			    used > n - (size_t)hl)
				abort();
			buf_free(&out);
		}
	}
	/* frames */
	size_t off = 0;
	uint8_t *copy = malloc(n ? n : 1);
	if (n)
		memcpy(copy, data, n);
	while (off < n) {
		struct xp_frame f, f2;
		int fl = xp_frame_parse(copy + off, n - off, &f);
		if (fl <= 0)
			break;
		if (fl > 14 || (size_t)fl > n - off)
			abort();
		if (xp_frame_parse(copy + off, (size_t)fl, &f2) != fl || f2.len != f.len || f2.opcode != f.opcode)
			abort();
		if (f.len > n - off - (size_t)fl)
			break;
		if (f.masked)
			xp_mask(copy + off + fl, (size_t)f.len, f.mask, 0);
		off += (size_t)fl + (size_t)f.len;
	}
	free(copy);
	char acc[32];
	char key[64];
	size_t kl = n < sizeof key - 1 ? n : sizeof key - 1;
	memcpy(key, data, kl);
	key[kl] = 0;
	xp_ws_accept(key, acc);
	if (strlen(acc) != 28)
		abort();
	return 0;
}
