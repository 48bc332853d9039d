/* libFuzzer target: libclient/sync_stream.c, the incremental decoder of
 * frame-carrying replication answers. The first input byte picks the mode
 * (bit 0: FRAME / FRAMES) and, with the second, a split point; the rest is
 * the body. It is decoded whole, split in two, and byte by byte: every way
 * must give the same frames (counted and hashed), the same code and the
 * same trailer status, and never buffer more than SYNC_STREAM_MAX_MSG. */
#include "frame.h"
#include "sync_stream.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sum {
	uint64_t n, h;
};

static int on_frame(void *arg, const uint8_t *f, struct err *e)
{
	struct sum *s = arg;
	s->n++;
	for (size_t i = 0; i < FRAME_SIZE; i += 97)
		s->h = s->h * 1000003u ^ f[i];
	s->h ^= frame_get_no(f);
	return 0;
}

static int run(int mode, const uint8_t *p, size_t n, size_t cut, size_t step, struct sum *s, int *status)
{
	struct sync_stream d;
	sync_stream_init(&d, mode);
	struct err e;
	int rc = 0;
	size_t off = 0;
	while (rc == 0 && off < n) {
		size_t k = n - off;
		if (step)
			k = k < step ? k : step;
		else if (off < cut)
			k = cut - off;
		rc = sync_stream_feed(&d, p + off, k, on_frame, s, &e);
		off += k;
	}
	if (rc == 0)
		rc = sync_stream_end(&d, &e);
	*status = d.got_trailer ? d.status : -1;
	if (d.peak > SYNC_STREAM_MAX_MSG * 2 + 64)
		abort();
	sync_stream_free(&d);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int mode = data[0] & 1 ? SYNC_STREAM_FRAMES : SYNC_STREAM_FRAME;
	const uint8_t *p = data + 2;
	size_t n = size - 2;
	size_t cut = n ? ((size_t)data[0] << 8 | data[1]) % (n + 1) : 0;
	struct sum a = {0}, b = {0}, c = {0};
	int sa, sb, sc;
	int ra = run(mode, p, n, n, 0, &a, &sa);
	int rb = run(mode, p, n, cut, 0, &b, &sb);
	if (ra != rb || a.n != b.n || a.h != b.h || (ra == 0 && sa != sb))
		abort();
	if (n <= 4096) {
		int rc = run(mode, p, n, 0, 1, &c, &sc);
		if (rc != ra || c.n != a.n || c.h != a.h || (ra == 0 && sc != sa))
			abort();
	}
	return 0;
}
