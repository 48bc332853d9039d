/* Unit tests for proto/chunked.c. */
#include "chunked.h"
#include "t.h"
#include <string.h>

static int feed_all(const char *in, size_t step, struct buf *out, size_t *used_total)
{
	struct chunked c;
	chunked_init(&c);
	size_t n = strlen(in), off = 0;
	int rc = 0;
	while (off < n) {
		size_t k = n - off < step ? n - off : step, used = 0;
		rc = chunked_feed(&c, in + off, k, out, &used);
		if (rc < 0)
			return rc;
		off += used;
		if (rc == 1)
			break;
	}
	*used_total = off;
	return rc;
}

static void simple(void)
{
	const char *body = "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
	for (size_t step = 1; step <= strlen(body); step++) {
		struct buf out;
		buf_init(&out);
		size_t used;
		CHECK(feed_all(body, step, &out, &used) == 1);
		CHECK(out.len == 12 && memcmp(out.p, "hello, world", 12) == 0);
		CHECK(used == strlen(body));
		buf_free(&out);
	}
}

static void trailers_and_lf(void)
{
	struct buf out;
	buf_init(&out);
	size_t used;
	CHECK(feed_all("A\nabcdefghij\n0\nX-Trailer: 1\n\nEXTRA", 64, &out, &used) == 1);
	CHECK(out.len == 10);
	CHECK(used == strlen("A\nabcdefghij\n0\nX-Trailer: 1\n\n"));
	buf_free(&out);
}

static void incomplete(void)
{
	struct buf out;
	buf_init(&out);
	size_t used;
	CHECK(feed_all("5\r\nhel", 64, &out, &used) == 0);
	CHECK(feed_all("5\r\nhello\r\n0\r\n", 64, &out, &used) == 0);
	buf_free(&out);
}

static void malformed(void)
{
	const char *bad[] = {"x\r\n", "\r\n", "5\r\nhelloX\r\n", "5\rX", "fffffffffffffff\r\n", "5\r\nhello\r\n0\r\n\rX"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct buf out;
		buf_init(&out);
		size_t used;
		CHECK(feed_all(bad[i], 64, &out, &used) == -1);
		buf_free(&out);
	}
}

int main(void)
{
	T_RUN(simple);
	T_RUN(trailers_and_lf);
	T_RUN(incomplete);
	T_RUN(malformed);
	return T_DONE();
}
