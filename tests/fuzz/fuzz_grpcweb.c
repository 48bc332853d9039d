/* libFuzzer target: the gRPC-web framer. The input is fed whole, byte by
 * byte, and (for inputs up to 1 KiB) split in two at every position; every
 * way must yield the same frames and end with the same code. What decodes
 * without error re-encodes to the input bytes. Trailer frames also go
 * through the trailer parser, and what parses re-encodes and parses back
 * the same. */
#include "grpcweb.h"
#include <stdlib.h>
#include <string.h>

#define MAX_MSG 4096

/* Feeds the chunks; frames are re-encoded into out. Returns the end code. */
static int run(const unsigned char *data, const size_t *cuts, size_t ncuts, size_t n,
	       struct buf *out)
{
	struct grpcweb_dec d;
	grpcweb_dec_init(&d, MAX_MSG);
	size_t start = 0;
	int rc = 0;
	for (size_t c = 0; c <= ncuts && rc >= 0; c++) {
		size_t end = c < ncuts ? cuts[c] : n, pos = start;
		while (pos < end) {
			size_t used;
			struct grpcweb_frame f;
			rc = grpcweb_dec_feed(&d, data + pos, end - pos, &used, &f, NULL);
			if (rc < 0)
				break;
			if (used > end - pos)
				abort();
			pos += used;
			if (rc == 0) {
				if (pos != end)
					abort(); /* 0 means everything was consumed */
				break;
			}
			if (f.len > MAX_MSG || (f.flags != 0 && f.flags != GRPCWEB_FLAG_TRAILERS))
				abort();
			unsigned char h[5] = {f.flags, (unsigned char)(f.len >> 24),
					      (unsigned char)(f.len >> 16), (unsigned char)(f.len >> 8),
					      (unsigned char)f.len};
			buf_put(out, h, 5);
			buf_put(out, f.data, f.len);
		}
		start = end;
	}
	if (rc >= 0)
		rc = grpcweb_dec_end(&d, NULL);
	grpcweb_dec_free(&d);
	return rc;
}

static void check_trailers(const unsigned char *p, size_t n)
{
	struct arena a;
	arena_init(&a);
	struct grpcweb_trailers t, t2;
	if (grpcweb_parse_trailers(&a, p, n, &t, NULL) == 0 && t.message_len == strlen(t.message)) {
		struct buf b;
		buf_init(&b);
		grpcweb_encode_trailers(&b, t.status, t.message);
		if (grpcweb_parse_trailers(&a, b.p + 5, b.len - 5, &t2, NULL) != 0 ||
		    t2.status != t.status || t2.message_len != t.message_len ||
		    memcmp(t2.message, t.message, t.message_len) != 0)
			abort();
		buf_free(&b);
	}
	arena_free(&a);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	struct buf whole, other;
	buf_init(&whole);
	int rw = run(data, NULL, 0, n, &whole);
	if (rw == 0 && (whole.len != n || (n && memcmp(whole.p, data, n) != 0)))
		abort(); /* a clean decode re-encodes to the input */
	/* byte by byte */
	size_t *cuts = malloc((n + 1) * sizeof *cuts);
	for (size_t i = 0; i < n; i++)
		cuts[i] = i + 1;
	buf_init(&other);
	int rb = run(data, cuts, n ? n - 1 : 0, n, &other);
	if (rb != rw || other.len != whole.len || (whole.len && memcmp(other.p, whole.p, whole.len)))
		abort();
	buf_free(&other);
	/* two chunks, every split point */
	if (n <= 1024) {
		for (size_t k = 0; k <= n; k++) {
			buf_init(&other);
			int rs = run(data, &k, 1, n, &other);
			if (rs != rw || other.len != whole.len ||
			    (whole.len && memcmp(other.p, whole.p, whole.len)))
				abort();
			buf_free(&other);
		}
	}
	free(cuts);
	/* the trailer parser on every trailer frame (and on the raw input) */
	for (size_t off = 0; off + 5 <= whole.len;) {
		size_t len = (size_t)(unsigned char)whole.p[off + 1] << 24 |
			     (size_t)(unsigned char)whole.p[off + 2] << 16 |
			     (size_t)(unsigned char)whole.p[off + 3] << 8 | (unsigned char)whole.p[off + 4];
		if ((unsigned char)whole.p[off] == GRPCWEB_FLAG_TRAILERS)
			check_trailers((const unsigned char *)whole.p + off + 5, len);
		off += 5 + len;
	}
	check_trailers(data, n);
	buf_free(&whole);
	return 0;
}
