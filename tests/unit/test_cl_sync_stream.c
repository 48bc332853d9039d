/* test_cl_sync_stream: libclient/sync_stream.c, the incremental decoder of
 * frame-carrying replication answers:
 *  - a Snapshot/LogEntries body (Frame messages) and a BatchLogEntries body
 *    (one Frames message, with unknown fields of every wire type between
 *    the frames) give the same frames however the bytes are split;
 *  - a 1000-frame Frames message is decoded holding one Frame at a time;
 *  - malformed bodies are refused: compression, unknown flags, a second
 *    Frames message, the wrong wire type for frames, a field past the end
 *    of the message, a frame that is not 4120 bytes, an oversized Frame
 *    (refused from its header, nothing buffered), bytes after the
 *    trailers, a body cut inside a message;
 *  - the callback can stop the decoding. */
#include "frame.h"
#include "grpcweb.h"
#include "replpb.h"
#include "sync_stream.h"
#include "t.h"
#include <stdlib.h>
#include <string.h>

struct got {
	uint64_t nos[2048];
	size_t n;
	bool bad;
	int stop_at; /* return 7 at this frame (1-based); 0: never */
};

static void mkframe(uint8_t *f, uint64_t no)
{
	memset(f, 0, FRAME_SIZE);
	frame_put_le64(f, no);
	frame_put_le32(f + 16, (uint32_t)(no + 1));
	for (size_t i = FRAME_HDR_SIZE; i < FRAME_SIZE; i++)
		f[i] = (uint8_t)(no * 31 + i);
}

static int on_frame(void *arg, const uint8_t *f, struct err *e)
{
	struct got *g = arg;
	uint8_t want[FRAME_SIZE];
	uint64_t no = frame_get_no(f);
	mkframe(want, no);
	if (memcmp(want, f, FRAME_SIZE) != 0)
		g->bad = true;
	if (g->n < 2048)
		g->nos[g->n++] = no;
	return g->stop_at && (int)g->n == g->stop_at ? 7 : 0;
}

static void frame_msg(struct buf *b, uint64_t no, size_t len)
{
	uint8_t f[FRAME_SIZE];
	mkframe(f, no);
	struct replpb_frame fr = {.data = f, .len = len, .has_timestamp = true, .timestamp = 12345};
	replpb_encode_frame(b, &fr);
}

/* A Snapshot-like body: n Frame messages, numbered down from n-1. */
static void body_stream(struct buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct buf m;
		buf_init(&m);
		frame_msg(&m, n - 1 - i, FRAME_SIZE);
		grpcweb_encode_data(b, m.p, m.len);
		buf_free(&m);
	}
	grpcweb_encode_trailers(b, 0, NULL);
}

/* A BatchLogEntries-like body: frames 0..n-1 with unknown fields around. */
static void body_frames(struct buf *b, size_t n, bool extras)
{
	struct buf m;
	buf_init(&m);
	for (size_t i = 0; i < n; i++) {
		if (extras) {
			static const uint8_t unk[] = {0x10, 0x96, 0x01,                   /* field 2 varint */
						      0x3a, 0x03, 'x', 'y', 'z',          /* field 7 bytes */
						      0x19, 1, 2, 3, 4, 5, 6, 7, 8,       /* field 3 fixed64 */
						      0x25, 1, 2, 3, 4,                   /* field 4 fixed32 */
						      0x42, 0x00};                        /* field 8 empty */
			buf_put(&m, unk, sizeof unk);
		}
		struct buf f;
		buf_init(&f);
		frame_msg(&f, i, FRAME_SIZE);
		buf_putc(&m, 0x0a);
		size_t len = f.len;
		while (len >= 0x80) {
			buf_putc(&m, (char)(len | 0x80));
			len >>= 7;
		}
		buf_putc(&m, (char)len);
		buf_put(&m, f.p, f.len);
		buf_free(&f);
	}
	grpcweb_encode_data(b, m.p, m.len);
	buf_free(&m);
	grpcweb_encode_trailers(b, 0, NULL);
}

/* Decodes b in pieces of `step` bytes (0: whole). Returns the feed/end code. */
static int decode(const struct buf *b, int mode, size_t step, struct got *g, size_t *peak, int *status)
{
	struct sync_stream d;
	sync_stream_init(&d, mode);
	struct err e;
	int rc = 0;
	size_t off = 0;
	while (rc == 0 && off < b->len) {
		size_t k = step && b->len - off > step ? step : b->len - off;
		rc = sync_stream_feed(&d, b->p + off, k, on_frame, g, &e);
		off += k;
	}
	if (rc == 0)
		rc = sync_stream_end(&d, &e);
	if (rc == 0 && status)
		*status = d.got_trailer ? d.status : -1;
	if (peak)
		*peak = d.peak;
	sync_stream_free(&d);
	return rc;
}

static void test_stream_splits(void)
{
	static const size_t steps[] = {0, 1, 2, 3, 5, 7, 13, 4096, 4121, 16384};
	for (int mode = 0; mode < 2; mode++) {
		struct buf b;
		buf_init(&b);
		if (mode == SYNC_STREAM_FRAME)
			body_stream(&b, 5);
		else
			body_frames(&b, 5, true);
		for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
			struct got g = {0};
			int status = -2;
			CHECK(decode(&b, mode, steps[i], &g, NULL, &status) == 0);
			CHECK(status == 0);
			CHECK(!g.bad && g.n == 5);
			for (size_t k = 0; k < g.n; k++)
				CHECK(g.nos[k] == (mode == SYNC_STREAM_FRAME ? 4 - k : k));
		}
		buf_free(&b);
	}
	/* an empty Frames message, then an error status */
	struct buf b;
	buf_init(&b);
	grpcweb_encode_data(&b, "", 0);
	grpcweb_encode_trailers(&b, 9, "NEED_SNAPSHOT");
	struct sync_stream d;
	sync_stream_init(&d, SYNC_STREAM_FRAMES);
	struct got g = {0};
	struct err e;
	CHECK(sync_stream_feed(&d, b.p, b.len, on_frame, &g, &e) == 0 && sync_stream_end(&d, &e) == 0);
	CHECK(d.got_trailer && d.status == 9 && d.ndata == 1 && g.n == 0);
	CHECK_STR(d.message, "NEED_SNAPSHOT");
	sync_stream_free(&d);
	buf_free(&b);
}

static void test_stream_bounded(void)
{
	struct buf b;
	buf_init(&b);
	body_frames(&b, 1000, false); /* one 4 MB Frames message */
	struct got g = {0};
	size_t peak = 0;
	CHECK(decode(&b, SYNC_STREAM_FRAMES, 16384, &g, &peak, NULL) == 0);
	CHECK(!g.bad && g.n == 1000 && g.nos[999] == 999);
	CHECK(peak > 0 && peak <= 2 * FRAME_SIZE + 64);
	buf_free(&b);
}

/* Decodes raw bytes whole and split by one; both must fail with rc. */
static void expect_fail(const void *p, size_t n, int mode, int rc)
{
	struct buf b;
	buf_init(&b);
	buf_put(&b, p, n);
	for (size_t step = 0; step < 2; step++) {
		struct got g = {0};
		CHECK(decode(&b, mode, step, &g, NULL, NULL) == rc);
	}
	buf_free(&b);
}

static void test_stream_errors(void)
{
	static const uint8_t compressed[] = {0x01, 0, 0, 0, 0};
	expect_fail(compressed, sizeof compressed, SYNC_STREAM_FRAME, SYNC_STREAM_E_FORMAT);
	static const uint8_t flags[] = {0x40, 0, 0, 0, 0};
	expect_fail(flags, sizeof flags, SYNC_STREAM_FRAMES, SYNC_STREAM_E_FORMAT);
	static const uint8_t two[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	expect_fail(two, sizeof two, SYNC_STREAM_FRAMES, SYNC_STREAM_E_FORMAT);
	static const uint8_t wiretype[] = {0, 0, 0, 0, 2, 0x08, 0x01};
	expect_fail(wiretype, sizeof wiretype, SYNC_STREAM_FRAMES, SYNC_STREAM_E_FORMAT);
	static const uint8_t past[] = {0, 0, 0, 0, 3, 0x12, 0x05, 0};
	expect_fail(past, sizeof past, SYNC_STREAM_FRAMES, SYNC_STREAM_E_FORMAT);
	static const uint8_t group[] = {0, 0, 0, 0, 1, 0x13};
	expect_fail(group, sizeof group, SYNC_STREAM_FRAMES, SYNC_STREAM_E_FORMAT);
	static const uint8_t field0[] = {0, 0, 0, 0, 2, 0x00, 0x00};
	expect_fail(field0, sizeof field0, SYNC_STREAM_FRAMES, SYNC_STREAM_E_FORMAT);
	static const uint8_t huge[] = {0, 0x7f, 0xff, 0xff, 0xff};
	expect_fail(huge, sizeof huge, SYNC_STREAM_FRAME, SYNC_STREAM_E_FORMAT);
	static const uint8_t hugesub[] = {0, 0x7f, 0xff, 0xff, 0xff, 0x0a, 0xff, 0xff, 0x7f};
	expect_fail(hugesub, sizeof hugesub, SYNC_STREAM_FRAMES, SYNC_STREAM_E_FORMAT);
	static const uint8_t cut[] = {0, 0, 0, 0x10, 0x00, 0x0a};
	expect_fail(cut, sizeof cut, SYNC_STREAM_FRAME, SYNC_STREAM_E_TRUNCATED);
	expect_fail(cut, 3, SYNC_STREAM_FRAMES, SYNC_STREAM_E_TRUNCATED);
	/* a short frame */
	struct buf b, m;
	buf_init(&b);
	buf_init(&m);
	frame_msg(&m, 3, 100);
	grpcweb_encode_data(&b, m.p, m.len);
	expect_fail(b.p, b.len, SYNC_STREAM_FRAME, SYNC_STREAM_E_FORMAT);
	/* bytes after the trailers */
	b.len = 0;
	grpcweb_encode_trailers(&b, 0, NULL);
	buf_putc(&b, 0);
	expect_fail(b.p, b.len, SYNC_STREAM_FRAME, SYNC_STREAM_E_FORMAT);
	/* the callback stops the decoding with its own code */
	b.len = 0;
	body_stream(&b, 4);
	struct got g = {.stop_at = 2};
	CHECK(decode(&b, SYNC_STREAM_FRAME, 0, &g, NULL, NULL) == 7 && g.n == 2);
	buf_free(&b);
	buf_free(&m);
}

int main(void)
{
	T_RUN(test_stream_splits);
	T_RUN(test_stream_bounded);
	T_RUN(test_stream_errors);
	return T_DONE();
}
