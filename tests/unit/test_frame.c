/* Unit tests for proto/frame.c: byte layout, round trips, verification. */
#include "crc64.h"
#include "frame.h"
#include "t.h"
#include <stdlib.h>
#include <string.h>

static void fill(unsigned char *page, int seed)
{
	for (int i = 0; i < FRAME_PAGE_SIZE; i++)
		page[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

static void layout(void)
{
	unsigned char b[FRAME_HDR_SIZE];
	struct frame_hdr h = {.frame_no = 0x0102030405060708ull,
			      .checksum = 0x1112131415161718ull,
			      .page_no = 0x21222324u,
			      .size_after = 0x31323334u};
	frame_hdr_encode(b, &h);
	static const unsigned char want[FRAME_HDR_SIZE] = {
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x18, 0x17, 0x16, 0x15,
		0x14, 0x13, 0x12, 0x11, 0x24, 0x23, 0x22, 0x21, 0x34, 0x33, 0x32, 0x31};
	CHECK(memcmp(b, want, sizeof want) == 0);
	struct frame_hdr d;
	frame_hdr_decode(b, &d);
	CHECK(d.frame_no == h.frame_no && d.checksum == h.checksum);
	CHECK(d.page_no == h.page_no && d.size_after == h.size_after);
	CHECK(FRAME_SIZE == 4120);
}

static void encode_roundtrip(void)
{
	unsigned char page[FRAME_PAGE_SIZE], f[FRAME_SIZE];
	fill(page, 1);
	uint64_t ck = frame_encode(f, 42, 7, 3, 0, page);
	CHECK(ck == crc64_chain(7, page, FRAME_PAGE_SIZE));
	CHECK(ck == frame_checksum(7, page));
	CHECK(frame_get_no(f) == 42);
	CHECK(frame_get_checksum(f) == ck);
	CHECK(frame_get_page_no(f) == 3);
	CHECK(frame_get_size_after(f) == 0);
	CHECK(!frame_is_commit(f));
	CHECK(memcmp(f + FRAME_OFF_PAGE, page, FRAME_PAGE_SIZE) == 0);
	frame_set_size_after(f, 99);
	CHECK(frame_is_commit(f) && frame_get_size_after(f) == 99);
	CHECK(frame_verify(f, 42, 7, NULL) == 0); /* size_after is outside the checksum */
}

static void verify(void)
{
	unsigned char page[FRAME_PAGE_SIZE], f[FRAME_SIZE];
	fill(page, 2);
	frame_encode(f, 5, 1234, 9, 10, page);
	const char *why = "x";
	CHECK(frame_verify(f, 5, 1234, &why) == 0 && why == NULL);
	CHECK(frame_verify(f, 6, 1234, &why) != 0 && why != NULL);
	CHECK(frame_verify(f, 5, 1235, &why) != 0);
	unsigned char g[FRAME_SIZE];
	for (int off = FRAME_OFF_PAGE; off < FRAME_SIZE; off += 97) {
		memcpy(g, f, sizeof g);
		g[off] ^= 1;
		CHECK(frame_verify(g, 5, 1234, NULL) != 0);
	}
	for (int off = 0; off < FRAME_OFF_PAGE_NO; off++) { /* frame_no and checksum */
		memcpy(g, f, sizeof g);
		g[off] ^= 0x80;
		CHECK(frame_verify(g, 5, 1234, NULL) != 0);
	}
	memcpy(g, f, sizeof g);
	memset(g + FRAME_OFF_PAGE_NO, 0, 4);
	CHECK(frame_verify(g, 5, 1234, &why) != 0 && strcmp(why, "page_no 0") == 0);
}

static void chain(void)
{
	unsigned char page[FRAME_PAGE_SIZE], f[4][FRAME_SIZE];
	uint64_t prev = 0;
	for (int i = 0; i < 4; i++) {
		fill(page, i + 10);
		prev = frame_encode(f[i], (uint64_t)i, prev, (uint32_t)i + 1, i == 3 ? 4 : 0, page);
	}
	prev = 0;
	for (int i = 0; i < 4; i++) {
		CHECK(frame_verify(f[i], (uint64_t)i, prev, NULL) == 0);
		prev = frame_get_checksum(f[i]);
	}
	/* swapping two frames breaks the chain */
	CHECK(frame_verify(f[2], 1, frame_get_checksum(f[0]), NULL) != 0);
}

static void le_helpers(void)
{
	unsigned char b[8];
	frame_put_le64(b, 0x8877665544332211ull);
	CHECK(b[0] == 0x11 && b[7] == 0x88);
	CHECK(frame_get_le64(b) == 0x8877665544332211ull);
	frame_put_le32(b, 0xA1B2C3D4u);
	CHECK(b[0] == 0xD4 && b[3] == 0xA1);
	CHECK(frame_get_le32(b) == 0xA1B2C3D4u);
}

int main(void)
{
	T_RUN(layout);
	T_RUN(encode_roundtrip);
	T_RUN(verify);
	T_RUN(chain);
	T_RUN(le_helpers);
	return T_DONE();
}
