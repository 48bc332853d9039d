/* libFuzzer target: proto/walfmt.c's WAL reader (walfmt_scan, and through
 * it the header decoder and walfmt_chain_next).
 *
 * Input byte 0 chooses the mode:
 *   even: the rest is a WAL file image, taken as is;
 *   odd:  the rest is a recipe for a WAL whose frames mostly chain, so the
 *         fuzzer gets past the checksums: bit 1 = page size 1024 (else 512),
 *         bit 2 = big-endian checksums, bits 3.. = a seed; then per frame a
 *         control byte (bit 0 commit, bit 1 damage the header, bit 2 damage
 *         the page, bit 3 wrong salt, bit 4 page number 0, bits 5-7 page
 *         number) and up to page-size bytes of page data.
 * Either way walfmt_scan must not crash and must agree exactly with the
 * naive reference below, which stops at the first frame whose salts or
 * checksum do not chain (or whose page number is 0) and reports the last
 * commit frame before it. */
#include "walfmt.h"
#include <stdlib.h>
#include <string.h>

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t word(const uint8_t *p, int big)
{
	return big ? be32(p) : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}

static void ref_sum(int big, const uint8_t *p, size_t n, uint32_t *s0, uint32_t *s1)
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		*s0 += word(p + i, big) + *s1;
		*s1 += word(p + i + 4, big) + *s0;
	}
}

struct ref {
	int hdr_ok, eversion;
	uint32_t nvalid, mx, npage, commits, ck0, ck1;
};

static void ref_scan(const uint8_t *p, size_t n, struct ref *r)
{
	memset(r, 0, sizeof *r);
	if (n < 32)
		return;
	uint32_t magic = be32(p), ver = be32(p + 4), psz = be32(p + 8);
	if (magic != 0x377f0682 && magic != 0x377f0683)
		return;
	if (psz < 512 || psz > 65536 || (psz & (psz - 1)))
		return;
	int big = (int)(magic & 1);
	uint32_t s0 = 0, s1 = 0;
	ref_sum(big, p, 24, &s0, &s1);
	if (s0 != be32(p + 24) || s1 != be32(p + 28))
		return;
	if (ver != 3007000) {
		r->eversion = 1;
		return;
	}
	r->hdr_ok = 1;
	r->ck0 = s0;
	r->ck1 = s1;
	size_t fsz = 24 + (size_t)psz;
	for (size_t off = 32; off + fsz <= n; off += fsz) {
		const uint8_t *f = p + off;
		if (memcmp(f + 8, p + 16, 8) != 0 || be32(f) == 0)
			break;
		ref_sum(big, f, 8, &s0, &s1);
		ref_sum(big, f + 24, psz, &s0, &s1);
		if (s0 != be32(f + 16) || s1 != be32(f + 20))
			break;
		r->nvalid++;
		if (be32(f + 4)) {
			r->mx = r->nvalid;
			r->npage = be32(f + 4);
			r->commits++;
			r->ck0 = s0;
			r->ck1 = s1;
		}
	}
}

static uint8_t *build(const uint8_t *d, size_t n, size_t *out_n)
{
	if (n < 1)
		return NULL;
	uint8_t mode = d[0];
	uint32_t psz = (mode & 2) ? 1024 : 512;
	struct walfmt_hdr h = {.magic = WALFMT_MAGIC | ((mode >> 2) & 1u), .version = WALFMT_VERSION,
			       .page_size = psz, .ckpt_seq = mode >> 3, .salt1 = 0x1234u * mode, .salt2 = 77};
	d++;
	n--;
	size_t cap = 32, nframes = 0;
	for (size_t i = 0; i < n; i += 1 + psz)
		nframes++;
	cap += nframes * (24 + psz);
	uint8_t *w = calloc(1, cap);
	if (!w)
		abort();
	walfmt_hdr_encode(&h, w);
	struct walfmt_chain c;
	walfmt_chain_init(&c, &h);
	size_t off = 32;
	for (size_t i = 0; i < n; i += 1 + psz) {
		uint8_t ctl = d[i];
		uint8_t *f = w + off;
		size_t take = n - i - 1 < psz ? n - i - 1 : psz;
		memcpy(f + 24, d + i + 1, take);
		uint32_t pg = (ctl & 0x10) ? 0 : 1 + (ctl >> 5);
		walfmt_chain_seal(&c, pg, (ctl & 1) ? pg + 3 : 0, f + 24, f);
		if (ctl & 2)
			f[ctl % 24] ^= 0x5a;
		if (ctl & 4)
			f[24 + (ctl * 7u) % psz] ^= 0x01;
		if (ctl & 8)
			f[12] ^= 0x80;
		off += 24 + psz;
	}
	*out_n = off;
	return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	if (n < 1)
		return 0;
	uint8_t *own = NULL;
	const uint8_t *p;
	size_t len;
	if (data[0] & 1) {
		own = build(data + 1, n - 1, &len);
		if (!own)
			return 0;
		p = own;
	} else {
		p = data + 1;
		len = n - 1;
	}
	struct walfmt_scan s;
	struct err e;
	int rc = walfmt_scan(p, len, &s, &e);
	struct ref r;
	ref_scan(p, len, &r);
	if (r.eversion) {
		if (rc != WALFMT_EVERSION)
			abort();
	} else {
		if (rc != 0 || s.hdr_ok != (r.hdr_ok != 0))
			abort();
		if (s.hdr_ok && (s.nvalid != r.nvalid || s.mx_frame != r.mx || s.n_page != r.npage ||
				 s.ncommits != r.commits || s.ck.s0 != r.ck0 || s.ck.s1 != r.ck1))
			abort();
		if (s.mx_frame > s.nvalid)
			abort();
	}
	/* The header decoder on its own, and encode(decode(x)) == x for valid ones. */
	if (len >= 32) {
		struct walfmt_hdr h;
		if (walfmt_hdr_decode(p, &h, NULL) == 0) {
			uint8_t b[32];
			walfmt_hdr_encode(&h, b);
			if (memcmp(b, p, 32) != 0)
				abort();
		}
	}
	free(own);
	return 0;
}
