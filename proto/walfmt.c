/* walfmt: see walfmt.h (the FORMAT block there is the reference). The code
 * follows SQLite's src/wal.c: walChecksumBytes, walIndexRecover's header
 * checks, walDecodeFrame and walEncodeFrame. */
#include "walfmt.h"
#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(struct walfmt_hdr_disk) == WALFMT_HDR_SIZE, "WAL header is 32 bytes");
_Static_assert(offsetof(struct walfmt_hdr_disk, version) == 4, "version at 4");
_Static_assert(offsetof(struct walfmt_hdr_disk, page_size) == 8, "page_size at 8");
_Static_assert(offsetof(struct walfmt_hdr_disk, ckpt_seq) == 12, "ckpt_seq at 12");
_Static_assert(offsetof(struct walfmt_hdr_disk, salt1) == 16, "salt1 at 16");
_Static_assert(offsetof(struct walfmt_hdr_disk, salt2) == 20, "salt2 at 20");
_Static_assert(offsetof(struct walfmt_hdr_disk, cksum1) == 24, "cksum1 at 24");
_Static_assert(offsetof(struct walfmt_hdr_disk, cksum2) == 28, "cksum2 at 28");
_Static_assert(sizeof(struct walfmt_frame_disk) == WALFMT_FRAME_HDR_SIZE, "frame header is 24 bytes");
_Static_assert(offsetof(struct walfmt_frame_disk, db_size) == 4, "db_size at 4");
_Static_assert(offsetof(struct walfmt_frame_disk, salt1) == 8, "frame salt1 at 8");
_Static_assert(offsetof(struct walfmt_frame_disk, salt2) == 12, "frame salt2 at 12");
_Static_assert(offsetof(struct walfmt_frame_disk, cksum1) == 16, "frame cksum1 at 16");
_Static_assert(offsetof(struct walfmt_frame_disk, cksum2) == 20, "frame cksum2 at 20");

/* The checksum covers the first 24 header bytes and the first 8 frame-header
 * bytes (page_no, db_size); both multiples of 8 as the algorithm needs. */
#define WALFMT_HDR_CKSUM_BYTES 24
#define WALFMT_FRAME_CKSUM_BYTES 8

uint32_t walfmt_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void walfmt_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void walfmt_checksum(bool big_endian, const uint8_t *p, size_t n, struct walfmt_cksum *ck)
{
	uint32_t s0 = ck->s0, s1 = ck->s1;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	bool swap = big_endian;
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	bool swap = !big_endian;
#else
#error "unknown byte order"
#endif
	n &= ~(size_t)7;
	if (swap) {
		for (size_t i = 0; i < n; i += 8) {
			uint32_t x[2];
			memcpy(x, p + i, 8);
			s0 += __builtin_bswap32(x[0]) + s1;
			s1 += __builtin_bswap32(x[1]) + s0;
		}
	} else {
		for (size_t i = 0; i < n; i += 8) {
			uint32_t x[2];
			memcpy(x, p + i, 8);
			s0 += x[0] + s1;
			s1 += x[1] + s0;
		}
	}
	ck->s0 = s0;
	ck->s1 = s1;
}

static bool walfmt_page_size_ok(uint32_t sz)
{
	return sz >= WALFMT_MIN_PAGE && sz <= WALFMT_MAX_PAGE && (sz & (sz - 1)) == 0;
}

int walfmt_hdr_decode(const uint8_t b[WALFMT_HDR_SIZE], struct walfmt_hdr *h, struct err *e)
{
	h->magic = walfmt_get32(b + 0);
	h->version = walfmt_get32(b + 4);
	h->page_size = walfmt_get32(b + 8);
	h->ckpt_seq = walfmt_get32(b + 12);
	h->salt1 = walfmt_get32(b + 16);
	h->salt2 = walfmt_get32(b + 20);
	h->cksum.s0 = walfmt_get32(b + 24);
	h->cksum.s1 = walfmt_get32(b + 28);
	/* The order of the checks is recovery's: magic and page size, then the
	 * checksum, and only then the version. */
	if ((h->magic & ~1u) != WALFMT_MAGIC) {
		err_set(e, "WAL header: bad magic 0x%08x", h->magic);
		return WALFMT_ENOTWAL;
	}
	if (!walfmt_page_size_ok(h->page_size)) {
		err_set(e, "WAL header: bad page size %u", h->page_size);
		return WALFMT_ENOTWAL;
	}
	struct walfmt_cksum ck = {0, 0};
	walfmt_checksum(walfmt_big_endian(h), b, WALFMT_HDR_CKSUM_BYTES, &ck);
	if (ck.s0 != h->cksum.s0 || ck.s1 != h->cksum.s1) {
		err_set(e, "WAL header: checksum mismatch");
		return WALFMT_ENOTWAL;
	}
	if (h->version != WALFMT_VERSION) {
		err_set(e, "WAL header: unsupported version %u", h->version);
		return WALFMT_EVERSION;
	}
	return 0;
}

void walfmt_hdr_encode(struct walfmt_hdr *h, uint8_t b[WALFMT_HDR_SIZE])
{
	walfmt_put32(b + 0, h->magic);
	walfmt_put32(b + 4, h->version);
	walfmt_put32(b + 8, h->page_size);
	walfmt_put32(b + 12, h->ckpt_seq);
	walfmt_put32(b + 16, h->salt1);
	walfmt_put32(b + 20, h->salt2);
	h->cksum.s0 = h->cksum.s1 = 0;
	walfmt_checksum(walfmt_big_endian(h), b, WALFMT_HDR_CKSUM_BYTES, &h->cksum);
	walfmt_put32(b + 24, h->cksum.s0);
	walfmt_put32(b + 28, h->cksum.s1);
}

void walfmt_frame_decode(const uint8_t b[WALFMT_FRAME_HDR_SIZE], struct walfmt_frame *f)
{
	f->page_no = walfmt_get32(b + 0);
	f->db_size = walfmt_get32(b + 4);
	f->salt1 = walfmt_get32(b + 8);
	f->salt2 = walfmt_get32(b + 12);
	f->cksum.s0 = walfmt_get32(b + 16);
	f->cksum.s1 = walfmt_get32(b + 20);
}

void walfmt_chain_init(struct walfmt_chain *c, const struct walfmt_hdr *h)
{
	c->hdr = *h;
	c->ck = h->cksum;
	c->nframes = 0;
}

bool walfmt_chain_next(struct walfmt_chain *c, const uint8_t *frame, struct walfmt_frame *f)
{
	struct walfmt_frame fr;
	walfmt_frame_decode(frame, &fr);
	if (fr.salt1 != c->hdr.salt1 || fr.salt2 != c->hdr.salt2 || fr.page_no == 0)
		return false;
	struct walfmt_cksum ck = c->ck;
	bool be = walfmt_big_endian(&c->hdr);
	walfmt_checksum(be, frame, WALFMT_FRAME_CKSUM_BYTES, &ck);
	walfmt_checksum(be, frame + WALFMT_FRAME_HDR_SIZE, c->hdr.page_size, &ck);
	if (ck.s0 != fr.cksum.s0 || ck.s1 != fr.cksum.s1)
		return false;
	c->ck = ck;
	c->nframes++;
	if (f)
		*f = fr;
	return true;
}

void walfmt_chain_seal(struct walfmt_chain *c, uint32_t page_no, uint32_t db_size, const uint8_t *page,
		       uint8_t out[WALFMT_FRAME_HDR_SIZE])
{
	bool be = walfmt_big_endian(&c->hdr);
	walfmt_put32(out + 0, page_no);
	walfmt_put32(out + 4, db_size);
	walfmt_put32(out + 8, c->hdr.salt1);
	walfmt_put32(out + 12, c->hdr.salt2);
	walfmt_checksum(be, out, WALFMT_FRAME_CKSUM_BYTES, &c->ck);
	walfmt_checksum(be, page, c->hdr.page_size, &c->ck);
	walfmt_put32(out + 16, c->ck.s0);
	walfmt_put32(out + 20, c->ck.s1);
	c->nframes++;
}

int walfmt_scan(const uint8_t *p, size_t n, struct walfmt_scan *s, struct err *e)
{
	memset(s, 0, sizeof *s);
	if (n < WALFMT_HDR_SIZE)
		return 0; /* too short for a header: empty */
	int rc = walfmt_hdr_decode(p, &s->hdr, e);
	if (rc == WALFMT_ENOTWAL)
		return 0;
	if (rc < 0)
		return rc;
	s->hdr_ok = true;
	s->ck = s->hdr.cksum;
	struct walfmt_chain c;
	walfmt_chain_init(&c, &s->hdr);
	size_t fsz = walfmt_frame_size(s->hdr.page_size);
	size_t nframes = (n - WALFMT_HDR_SIZE) / fsz;
	/* Recovery's frame counter is a u32; a file that large cannot be
	 * passed here anyway on 64-bit hosts in practice, but stay exact. */
	if (nframes > UINT32_MAX)
		nframes = UINT32_MAX;
	for (size_t i = 0; i < nframes; i++) {
		struct walfmt_frame f;
		if (!walfmt_chain_next(&c, p + WALFMT_HDR_SIZE + i * fsz, &f))
			break;
		if (f.db_size != 0) {
			s->mx_frame = c.nframes;
			s->n_page = f.db_size;
			s->ck = c.ck;
			s->ncommits++;
		}
	}
	s->nvalid = c.nframes;
	return 0;
}
