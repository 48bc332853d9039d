/* frame: see frame.h. */
#include "frame.h"
#include "crc64.h"
#include <string.h>

void frame_put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

void frame_put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

uint64_t frame_get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint32_t frame_get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void frame_hdr_encode(unsigned char *out, const struct frame_hdr *h)
{
	frame_put_le64(out + FRAME_OFF_NO, h->frame_no);
	frame_put_le64(out + FRAME_OFF_CHECKSUM, h->checksum);
	frame_put_le32(out + FRAME_OFF_PAGE_NO, h->page_no);
	frame_put_le32(out + FRAME_OFF_SIZE_AFTER, h->size_after);
}

void frame_hdr_decode(const unsigned char *in, struct frame_hdr *h)
{
	h->frame_no = frame_get_le64(in + FRAME_OFF_NO);
	h->checksum = frame_get_le64(in + FRAME_OFF_CHECKSUM);
	h->page_no = frame_get_le32(in + FRAME_OFF_PAGE_NO);
	h->size_after = frame_get_le32(in + FRAME_OFF_SIZE_AFTER);
}

uint64_t frame_get_no(const unsigned char *f)
{
	return frame_get_le64(f + FRAME_OFF_NO);
}

uint64_t frame_get_checksum(const unsigned char *f)
{
	return frame_get_le64(f + FRAME_OFF_CHECKSUM);
}

uint32_t frame_get_page_no(const unsigned char *f)
{
	return frame_get_le32(f + FRAME_OFF_PAGE_NO);
}

uint32_t frame_get_size_after(const unsigned char *f)
{
	return frame_get_le32(f + FRAME_OFF_SIZE_AFTER);
}

bool frame_is_commit(const unsigned char *f)
{
	return frame_get_size_after(f) != 0;
}

void frame_set_size_after(unsigned char *f, uint32_t size_after)
{
	frame_put_le32(f + FRAME_OFF_SIZE_AFTER, size_after);
}

uint64_t frame_checksum(uint64_t prev, const unsigned char *page)
{
	return crc64_chain(prev, page, FRAME_PAGE_SIZE);
}

uint64_t frame_encode(unsigned char *out, uint64_t no, uint64_t prev, uint32_t page_no,
		      uint32_t size_after, const unsigned char *page)
{
	struct frame_hdr h = {.frame_no = no,
			      .checksum = frame_checksum(prev, page),
			      .page_no = page_no,
			      .size_after = size_after};
	frame_hdr_encode(out, &h);
	memcpy(out + FRAME_OFF_PAGE, page, FRAME_PAGE_SIZE);
	return h.checksum;
}

int frame_verify(const unsigned char *f, uint64_t expect_no, uint64_t prev, const char **why)
{
	const char *w = NULL;
	if (frame_get_no(f) != expect_no)
		w = "unexpected frame_no";
	else if (frame_get_page_no(f) == 0)
		w = "page_no 0";
	else if (frame_get_checksum(f) != frame_checksum(prev, f + FRAME_OFF_PAGE))
		w = "checksum mismatch";
	if (why)
		*why = w;
	return w ? -1 : 0;
}
