/* Unit tests for proto/grpcweb.c. */
#include "grpcweb.h"
#include "t.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A decoded frame, copied out of the decoder. */
struct got {
	uint8_t flags;
	size_t len;
	unsigned char data[256];
};

/* Feeds in[0..n) in chunks of `step` bytes (0: the whole input at once);
 * collects up to max frames; returns the last feed / end code. */
static int feed_chunks(const void *in, size_t n, size_t step, struct got *g, size_t max,
		       size_t *ngot, size_t max_msg)
{
	const unsigned char *s = in;
	struct grpcweb_dec d;
	grpcweb_dec_init(&d, max_msg);
	size_t off = 0;
	int rc = 0;
	*ngot = 0;
	if (!step)
		step = n ? n : 1;
	while (off < n) {
		size_t k = n - off < step ? n - off : step, pos = 0;
		while (pos < k) {
			size_t used;
			struct grpcweb_frame f;
			rc = grpcweb_dec_feed(&d, s + off + pos, k - pos, &used, &f, NULL);
			if (rc < 0)
				goto out;
			pos += used;
			if (rc == 1 && *ngot < max) {
				g[*ngot].flags = f.flags;
				g[*ngot].len = f.len;
				memcpy(g[*ngot].data, f.data, f.len < 256 ? f.len : 256);
				(*ngot)++;
			}
			if (rc == 0)
				break;
		}
		off += k;
	}
	rc = grpcweb_dec_end(&d, NULL);
out:
	grpcweb_dec_free(&d);
	return rc;
}

static void hello_request_example(void)
{
	/* REPLICA_TRAFFIC.md: Hello request body 00 00000002 0801 */
	static const unsigned char body[] = {0x00, 0, 0, 0, 2, 0x08, 0x01};
	struct buf b;
	buf_init(&b);
	grpcweb_encode_data(&b, "\x08\x01", 2);
	CHECK(b.len == sizeof body && memcmp(b.p, body, sizeof body) == 0);
	buf_free(&b);
	for (size_t step = 0; step <= sizeof body; step++) {
		struct got g[4];
		size_t n;
		CHECK(feed_chunks(body, sizeof body, step, g, 4, &n, 0) == 0);
		CHECK(n == 1 && g[0].flags == GRPCWEB_FLAG_DATA && g[0].len == 2 &&
		      memcmp(g[0].data, "\x08\x01", 2) == 0);
	}
}

static void batch_log_entries_examples(void)
{
	/* from offset 0: 00 00000000 (empty LogOffset); from offset 5: 00 00000002 0805 */
	static const unsigned char off0[] = {0, 0, 0, 0, 0};
	static const unsigned char off5[] = {0, 0, 0, 0, 2, 0x08, 0x05};
	struct buf b;
	buf_init(&b);
	grpcweb_encode_data(&b, "", 0);
	CHECK(b.len == 5 && memcmp(b.p, off0, 5) == 0);
	buf_free(&b);
	struct got g[2];
	size_t n;
	for (size_t step = 0; step <= 5; step++) {
		CHECK(feed_chunks(off0, sizeof off0, step, g, 2, &n, 0) == 0);
		CHECK(n == 1 && g[0].len == 0 && g[0].flags == 0);
	}
	CHECK(feed_chunks(off5, sizeof off5, 1, g, 2, &n, 0) == 0);
	CHECK(n == 1 && g[0].len == 2 && memcmp(g[0].data, "\x08\x05", 2) == 0);
	/* zero-length frames still hand out a non-NULL pointer */
	struct grpcweb_dec d;
	grpcweb_dec_init(&d, 0);
	struct grpcweb_frame f;
	size_t used;
	CHECK(grpcweb_dec_feed(&d, off0, 5, &used, &f, NULL) == 1 && used == 5 && f.data && f.len == 0);
	grpcweb_dec_free(&d);
}

/* A response body: two data frames and a trailer frame. */
static size_t build_response(struct buf *b)
{
	buf_init(b);
	grpcweb_encode_data(b, "abc", 3);
	size_t off = grpcweb_begin_data(b);
	buf_put(b, "0123456789", 10);
	grpcweb_end_data(b, off);
	grpcweb_encode_trailers(b, GRPC_STATUS_OK, NULL);
	return b->len;
}

static void frames_split_everywhere(void)
{
	struct buf b;
	build_response(&b);
	CHECK(b.len == 8 + 15 + 5 + strlen("grpc-status:0\r\n"));
	/* the trailer frame of REPLICA_TRAFFIC.md: 80 0000000f "grpc-status:0\r\n" */
	CHECK(memcmp(b.p + 23, "\x80\0\0\0\x0fgrpc-status:0\r\n", 20) == 0);
	/* every chunk size */
	for (size_t step = 0; step <= b.len; step++) {
		struct got g[4];
		size_t n;
		CHECK(feed_chunks(b.p, b.len, step, g, 4, &n, 0) == 0);
		CHECK(n == 3);
		CHECK(g[0].flags == 0 && g[0].len == 3 && memcmp(g[0].data, "abc", 3) == 0);
		CHECK(g[1].flags == 0 && g[1].len == 10 && memcmp(g[1].data, "0123456789", 10) == 0);
		CHECK(g[2].flags == GRPCWEB_FLAG_TRAILERS && g[2].len == 15 &&
		      memcmp(g[2].data, "grpc-status:0\r\n", 15) == 0);
	}
	/* every single split point into two chunks */
	for (size_t cut = 0; cut <= b.len; cut++) {
		struct grpcweb_dec d;
		grpcweb_dec_init(&d, 0);
		size_t frames = 0;
		const char *parts[2] = {b.p, b.p + cut};
		size_t lens[2] = {cut, b.len - cut};
		for (int p = 0; p < 2; p++) {
			size_t pos = 0;
			for (;;) {
				size_t used;
				struct grpcweb_frame f;
				int rc = grpcweb_dec_feed(&d, parts[p] + pos, lens[p] - pos, &used, &f,
							  NULL);
				CHECK(rc >= 0);
				pos += used;
				if (rc != 1)
					break;
				frames++;
			}
		}
		CHECK(frames == 3 && grpcweb_dec_end(&d, NULL) == 0 && grpcweb_dec_got_trailers(&d));
		grpcweb_dec_free(&d);
	}
	buf_free(&b);
}

static void zero_copy_when_whole(void)
{
	struct buf b;
	build_response(&b);
	struct grpcweb_dec d;
	grpcweb_dec_init(&d, 0);
	size_t used;
	struct grpcweb_frame f;
	CHECK(grpcweb_dec_feed(&d, b.p, b.len, &used, &f, NULL) == 1);
	CHECK(used == 8 && f.data == (const uint8_t *)b.p + 5 && f.len == 3);
	CHECK(d.msg.cap == 0); /* nothing buffered */
	grpcweb_dec_free(&d);
	/* a split payload is buffered and handed out from the decoder */
	grpcweb_dec_init(&d, 0);
	CHECK(grpcweb_dec_feed(&d, b.p, 6, &used, &f, NULL) == 0 && used == 6);
	CHECK(grpcweb_dec_feed(&d, b.p + 6, b.len - 6, &used, &f, NULL) == 1 && used == 2);
	CHECK(f.len == 3 && memcmp(f.data, "abc", 3) == 0 && f.data == (const uint8_t *)d.msg.p);
	grpcweb_dec_free(&d);
	buf_free(&b);
}

static void compressed_and_bad_flags(void)
{
	struct got g[2];
	size_t n;
	static const unsigned char c1[] = {0x01, 0, 0, 0, 1, 'x'};
	static const unsigned char c81[] = {0x81, 0, 0, 0, 0};
	static const unsigned char f02[] = {0x02, 0, 0, 0, 0};
	static const unsigned char f40[] = {0x40, 0, 0, 0, 0};
	static const unsigned char ff[] = {0xff};
	CHECK(feed_chunks(c1, sizeof c1, 1, g, 2, &n, 0) == GRPCWEB_E_COMPRESSED && n == 0);
	CHECK(feed_chunks(c81, sizeof c81, 0, g, 2, &n, 0) == GRPCWEB_E_COMPRESSED);
	CHECK(feed_chunks(f02, sizeof f02, 0, g, 2, &n, 0) == GRPCWEB_E_FLAGS);
	CHECK(feed_chunks(f40, sizeof f40, 0, g, 2, &n, 0) == GRPCWEB_E_FLAGS);
	CHECK(feed_chunks(ff, 1, 0, g, 2, &n, 0) == GRPCWEB_E_COMPRESSED);
	/* the failure is reported with a message and sticks */
	struct grpcweb_dec d;
	grpcweb_dec_init(&d, 0);
	struct err e;
	size_t used;
	struct grpcweb_frame f;
	static const unsigned char ok_then_bad[] = {0, 0, 0, 0, 0, 0x01};
	CHECK(grpcweb_dec_feed(&d, ok_then_bad, 6, &used, &f, &e) == 1 && used == 5);
	CHECK(grpcweb_dec_feed(&d, ok_then_bad + 5, 1, &used, &f, &e) == GRPCWEB_E_COMPRESSED);
	CHECK(strstr(e.msg, "compress") != NULL);
	CHECK(grpcweb_dec_feed(&d, ok_then_bad, 5, &used, &f, NULL) == GRPCWEB_E_COMPRESSED);
	CHECK(grpcweb_dec_end(&d, NULL) == GRPCWEB_E_COMPRESSED);
	grpcweb_dec_free(&d);
}

static void absurd_lengths(void)
{
	struct grpcweb_dec d;
	struct err e;
	size_t used;
	struct grpcweb_frame f;
	/* 4 GiB - 1 declared, default 16 MiB limit: fails on the header alone */
	static const unsigned char huge[] = {0, 0xff, 0xff, 0xff, 0xff, 'a', 'b'};
	grpcweb_dec_init(&d, 0);
	CHECK(grpcweb_dec_feed(&d, huge, sizeof huge, &used, &f, &e) == GRPCWEB_E_TOO_LARGE);
	CHECK(strstr(e.msg, "4294967295") != NULL);
	CHECK(d.msg.cap == 0); /* nothing was allocated */
	grpcweb_dec_free(&d);
	/* 16 MiB exactly is accepted (header only here: nothing allocated yet) */
	static const unsigned char max[] = {0, 0x01, 0x00, 0x00, 0x00};
	grpcweb_dec_init(&d, 0);
	CHECK(grpcweb_dec_feed(&d, max, sizeof max, &used, &f, NULL) == 0 && d.msg.cap == 0);
	CHECK(grpcweb_dec_end(&d, NULL) == GRPCWEB_E_TRUNCATED);
	grpcweb_dec_free(&d);
	static const unsigned char over[] = {0, 0x01, 0x00, 0x00, 0x01};
	grpcweb_dec_init(&d, 0);
	CHECK(grpcweb_dec_feed(&d, over, sizeof over, &used, &f, NULL) == GRPCWEB_E_TOO_LARGE);
	grpcweb_dec_free(&d);
	/* a configured limit */
	struct got g[2];
	size_t n;
	unsigned char ten[15] = {0, 0, 0, 0, 10};
	CHECK(feed_chunks(ten, sizeof ten, 1, g, 2, &n, 10) == 0 && n == 1 && g[0].len == 10);
	ten[4] = 11;
	CHECK(feed_chunks(ten, sizeof ten, 1, g, 2, &n, 10) == GRPCWEB_E_TOO_LARGE);
	/* trailer frames are limited too */
	unsigned char tr[5] = {0x80, 0, 0, 0, 11};
	CHECK(feed_chunks(tr, sizeof tr, 0, g, 2, &n, 10) == GRPCWEB_E_TOO_LARGE);
	/* a big declared length is buffered only as the bytes arrive */
	grpcweb_dec_init(&d, 0);
	static const unsigned char mib[] = {0, 0x00, 0x10, 0x00, 0x00, 'x', 'y', 'z'}; /* 1 MiB */
	CHECK(grpcweb_dec_feed(&d, mib, sizeof mib, &used, &f, NULL) == 0);
	CHECK(d.msg.len == 3 && d.msg.cap < 4096);
	grpcweb_dec_free(&d);
}

static void truncated_bodies(void)
{
	struct buf b;
	build_response(&b);
	/* every strict prefix that is not a frame boundary is truncated */
	for (size_t n = 0; n < b.len; n++) {
		struct got g[4];
		size_t ng;
		int rc = feed_chunks(b.p, n, 1, g, 4, &ng, 0);
		bool boundary = n == 0 || n == 8 || n == 23;
		CHECK(boundary ? rc == 0 : rc == GRPCWEB_E_TRUNCATED);
	}
	buf_free(&b);
}

static void nothing_after_trailers(void)
{
	struct buf b;
	build_response(&b);
	buf_putc(&b, 0);
	struct got g[4];
	size_t n;
	CHECK(feed_chunks(b.p, b.len, 0, g, 4, &n, 0) == GRPCWEB_E_AFTER_TRAILERS && n == 3);
	CHECK(feed_chunks(b.p, b.len, 1, g, 4, &n, 0) == GRPCWEB_E_AFTER_TRAILERS && n == 3);
	buf_free(&b);
	/* an empty feed is fine in every state */
	struct grpcweb_dec d;
	grpcweb_dec_init(&d, 0);
	size_t used = 99;
	struct grpcweb_frame f;
	CHECK(grpcweb_dec_feed(&d, "", 0, &used, &f, NULL) == 0 && used == 0);
	CHECK(grpcweb_dec_end(&d, NULL) == 0 && !grpcweb_dec_got_trailers(&d));
	grpcweb_dec_free(&d);
}

static void trailers_encoding(void)
{
	struct buf b;
	buf_init(&b);
	grpcweb_encode_trailers(&b, GRPC_STATUS_FAILED_PRECONDITION, "NO_HELLO");
	const char *want = "grpc-status:9\r\ngrpc-message:NO_HELLO\r\n";
	CHECK(b.len == 5 + strlen(want) && (unsigned char)b.p[0] == 0x80);
	CHECK(b.p[4] == (char)strlen(want) && memcmp(b.p + 5, want, strlen(want)) == 0);
	buf_free(&b);
	/* empty message: an empty value */
	buf_init(&b);
	grpcweb_encode_trailers(&b, 0, "");
	CHECK(b.len == 5 + 30 && memcmp(b.p + 5, "grpc-status:0\r\ngrpc-message:\r\n", 30) == 0);
	buf_free(&b);
	/* special characters: %, CR, LF, non-ASCII, DEL, control */
	buf_init(&b);
	grpcweb_encode_trailers(&b, GRPC_STATUS_INTERNAL, "100% sure\r\n\xc3\xa9\x7f\x01 ~");
	const char *want2 = "grpc-status:13\r\ngrpc-message:100%25 sure%0D%0A%C3%A9%7F%01 ~\r\n";
	CHECK(b.len == 5 + strlen(want2) && memcmp(b.p + 5, want2, strlen(want2)) == 0);
	/* and back through the decoder and the parser */
	struct got g[1];
	size_t n;
	CHECK(feed_chunks(b.p, b.len, 3, g, 1, &n, 0) == 0 && n == 1 && g[0].flags == 0x80);
	struct arena a;
	arena_init(&a);
	struct grpcweb_trailers t;
	CHECK(grpcweb_parse_trailers(&a, g[0].data, g[0].len, &t, NULL) == 0);
	CHECK(t.status == 13 && t.message_len == 17);
	CHECK(memcmp(t.message, "100% sure\r\n\xc3\xa9\x7f\x01 ~", 17) == 0);
	arena_free(&a);
	buf_free(&b);
	/* the header-value form on its own */
	buf_init(&b);
	grpcweb_pct_encode(&b, "a%b\tc", 5);
	CHECK_STR(b.p, "a%25b%09c");
	buf_free(&b);
	/* regression (fuzz_grpcweb): a space at either end survives the round
	 * trip through a header line, whose value the parser trims */
	buf_init(&b);
	grpcweb_pct_encode(&b, " a b ", 5);
	CHECK_STR(b.p, "%20a b%20");
	buf_free(&b);
	buf_init(&b);
	grpcweb_encode_trailers(&b, 14, "a ");
	arena_init(&a);
	CHECK(grpcweb_parse_trailers(&a, b.p + 5, b.len - 5, &t, NULL) == 0);
	CHECK(t.message_len == 2 && memcmp(t.message, "a ", 2) == 0);
	arena_free(&a);
	buf_free(&b);
}

static void trailers_parsing(void)
{
	struct arena a;
	arena_init(&a);
	struct grpcweb_trailers t;
	struct err e;
	const char *s = "Grpc-Status: 12 \nx-other:1\r\nGRPC-MESSAGE:\tnot%20here \r\n";
	CHECK(grpcweb_parse_trailers(&a, s, strlen(s), &t, NULL) == 0);
	CHECK(t.status == 12);
	CHECK_STR(t.message, "not here");
	/* no trailing CRLF on the last line; empty lines skipped */
	s = "\r\ngrpc-message:x\r\n\r\ngrpc-status:0";
	CHECK(grpcweb_parse_trailers(&a, s, strlen(s), &t, NULL) == 0 && t.status == 0);
	CHECK_STR(t.message, "x");
	/* no message: "" */
	s = "grpc-status:0\r\n";
	CHECK(grpcweb_parse_trailers(&a, s, strlen(s), &t, NULL) == 0);
	CHECK(t.message && t.message[0] == 0 && t.message_len == 0);
	/* lenient percent-decoding */
	s = "grpc-status:2\r\ngrpc-message:%zz %4 %%41 100%\r\n";
	CHECK(grpcweb_parse_trailers(&a, s, strlen(s), &t, NULL) == 0);
	CHECK_STR(t.message, "%zz %4 %A 100%");
	/* %00 keeps its length */
	s = "grpc-status:2\r\ngrpc-message:a%00b\r\n";
	CHECK(grpcweb_parse_trailers(&a, s, strlen(s), &t, NULL) == 0 && t.message_len == 3);
	/* the last of repeated names wins */
	s = "grpc-status:1\r\ngrpc-status:14\r\n";
	CHECK(grpcweb_parse_trailers(&a, s, strlen(s), &t, NULL) == 0 && t.status == 14);
	/* errors */
	const char *bad[] = {
		"", "grpc-message:x\r\n", "grpc-status:\r\n", "grpc-status:-1\r\n",
		"grpc-status:1x\r\n", "grpc-status:2147483648\r\n", "grpc-status 0\r\n",
		":0\r\n", "grpc-status:0\rx\r\n",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		e.msg[0] = 0;
		CHECK(grpcweb_parse_trailers(&a, bad[k], strlen(bad[k]), &t, &e) == GRPCWEB_E_TRAILERS);
		CHECK(e.msg[0] != 0);
	}
	s = "grpc-status:2147483647";
	CHECK(grpcweb_parse_trailers(&a, s, strlen(s), &t, NULL) == 0 && t.status == 2147483647);
	arena_free(&a);
}

static void status_constants(void)
{
	CHECK(GRPC_STATUS_OK == 0 && GRPC_STATUS_CANCELLED == 1 && GRPC_STATUS_UNKNOWN == 2);
	CHECK(GRPC_STATUS_INVALID_ARGUMENT == 3 && GRPC_STATUS_PERMISSION_DENIED == 7);
	CHECK(GRPC_STATUS_FAILED_PRECONDITION == 9 && GRPC_STATUS_UNIMPLEMENTED == 12);
	CHECK(GRPC_STATUS_INTERNAL == 13 && GRPC_STATUS_UNAVAILABLE == 14);
	CHECK(GRPC_STATUS_UNAUTHENTICATED == 16);
	CHECK_STR(grpcweb_status_name(9), "FAILED_PRECONDITION");
	CHECK_STR(grpcweb_status_name(16), "UNAUTHENTICATED");
	CHECK_STR(grpcweb_status_name(17), "UNKNOWN_STATUS");
	CHECK_STR(grpcweb_status_name(-1), "UNKNOWN_STATUS");
}

static void large_frame_byte_by_byte(void)
{
	/* a 4120-byte WAL frame's worth of payload, fed byte by byte */
	size_t n = 4125;
	unsigned char *p = malloc(n);
	p[0] = 0;
	p[1] = 0, p[2] = 0, p[3] = 0x10, p[4] = 0x18;
	for (size_t i = 5; i < n; i++)
		p[i] = (unsigned char)(i * 7);
	struct grpcweb_dec d;
	grpcweb_dec_init(&d, 0);
	int frames = 0;
	for (size_t i = 0; i < n; i++) {
		size_t used;
		struct grpcweb_frame f;
		int rc = grpcweb_dec_feed(&d, p + i, 1, &used, &f, NULL);
		CHECK(rc >= 0 && used == 1);
		if (rc == 1) {
			frames++;
			CHECK(i == n - 1 && f.len == 4120 && memcmp(f.data, p + 5, 4120) == 0);
		}
	}
	CHECK(frames == 1 && grpcweb_dec_end(&d, NULL) == 0);
	grpcweb_dec_free(&d);
	free(p);
}

int main(void)
{
	T_RUN(hello_request_example);
	T_RUN(batch_log_entries_examples);
	T_RUN(frames_split_everywhere);
	T_RUN(zero_copy_when_whole);
	T_RUN(compressed_and_bad_flags);
	T_RUN(absurd_lengths);
	T_RUN(truncated_bodies);
	T_RUN(nothing_after_trailers);
	T_RUN(trailers_encoding);
	T_RUN(trailers_parsing);
	T_RUN(status_constants);
	T_RUN(large_frame_byte_by_byte);
	return T_DONE();
}
