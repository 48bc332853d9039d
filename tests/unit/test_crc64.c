/* Unit tests for proto/crc64.c against an independent reference: the
 * textbook Rocksoft-model CRC, computed bit by bit MSB-first with the
 * non-reflected polynomial 0x1B and explicit reflection of input bytes and
 * output (no tables, no reflected-register trick). Its `init` parameter is
 * exactly what the Rust `crc` 3.x crate's digest_with_initial(init)
 * overrides (crc-rs reverses it into its reflected register), which is how
 * libSQL chains frame checksums. */
#include "crc64.h"
#include "t.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t ref_reflect(uint64_t v, int bits)
{
	uint64_t r = 0;
	for (int i = 0; i < bits; i++)
		if (v & ((uint64_t)1 << i))
			r |= (uint64_t)1 << (bits - 1 - i);
	return r;
}

/* CRC-64/GO-ISO in the Rocksoft model with a caller-chosen init. */
static uint64_t ref_crc(uint64_t init, const unsigned char *p, size_t n)
{
	uint64_t reg = init;
	for (size_t i = 0; i < n; i++) {
		reg ^= ref_reflect(p[i], 8) << 56; /* refin */
		for (int b = 0; b < 8; b++)
			reg = (reg & ((uint64_t)1 << 63)) ? (reg << 1) ^ 0x1Bull : reg << 1;
	}
	return ref_reflect(reg, 64) ^ ~0ull; /* refout, xorout */
}

static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void check_value(void)
{
	const unsigned char *s = (const unsigned char *)"123456789";
	CHECK(ref_crc(~0ull, s, 9) == CRC64_CHECK); /* the reference itself is right */
	CHECK(crc64(s, 9) == CRC64_CHECK);
	CHECK(crc64_update(0, s, 9) == CRC64_CHECK);
	CHECK(crc64(s, 0) == 0);
	CHECK(crc64_chain(~0ull, s, 9) == CRC64_CHECK); /* chain with the algorithm's init */
}

static void matches_reference(void)
{
	unsigned char buf[5000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)rnd();
	/* every length across the slice-by-8 boundaries, and odd alignments */
	for (size_t n = 0; n <= 64; n++)
		for (size_t off = 0; off < 8; off++)
			CHECK(crc64(buf + off, n) == ref_crc(~0ull, buf + off, n));
	CHECK(crc64(buf, sizeof buf) == ref_crc(~0ull, buf, sizeof buf));
	CHECK(crc64(buf, 4096) == ref_crc(~0ull, buf, 4096));
	/* the four-lane blocks of 4096 bytes, several of them, with the rest
	 * done one byte or word at a time, at odd alignments */
	static unsigned char big[3 * 4096 + 64];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (unsigned char)rnd();
	static const size_t lens[] = {4095, 4096, 4097, 4103, 8192, 8192 + 13, 3 * 4096, 3 * 4096 + 57};
	for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
		for (size_t off = 0; off < 8; off += 3)
			CHECK(crc64(big + off, lens[k]) == ref_crc(~0ull, big + off, lens[k]));
	uint64_t half = crc64_update(0, big, 5000); /* continuation across a block edge */
	CHECK(crc64_update(half, big + 5000, 3 * 4096 - 5000) == crc64(big, 3 * 4096));
}

static void chain_matches_reference(void)
{
	unsigned char page[4096];
	for (int round = 0; round < 40; round++) {
		for (size_t i = 0; i < sizeof page; i++)
			page[i] = (unsigned char)rnd();
		uint64_t prev = round == 0 ? 0 : round == 1 ? ~0ull : rnd();
		size_t n = round < 20 ? sizeof page : (size_t)(rnd() % 100);
		CHECK(crc64_chain(prev, page, n) == ref_crc(prev, page, n));
	}
	/* a chain of frames as libSQL computes it, seeded with 0 for a new log */
	uint64_t a = 0, b = 0;
	for (int f = 0; f < 5; f++) {
		memset(page, f * 37 + 1, sizeof page);
		a = crc64_chain(a, page, sizeof page);
		b = ref_crc(b, page, sizeof page);
		CHECK(a == b);
	}
}

static void update_is_continuation(void)
{
	unsigned char buf[1000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)rnd();
	uint64_t whole = crc64(buf, sizeof buf);
	for (size_t cut = 0; cut <= sizeof buf; cut += 7) {
		uint64_t c = crc64_update(0, buf, cut);
		CHECK(crc64_update(c, buf + cut, sizeof buf - cut) == whole);
	}
}

static void chain_vs_update(void)
{
	/* crc64_chain(prev) == crc64_update(~bitrev(prev)): the documented
	 * difference between libSQL's chaining and a plain continuation */
	unsigned char buf[333];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)rnd();
	for (int i = 0; i < 20; i++) {
		uint64_t prev = rnd();
		CHECK(crc64_chain(prev, buf, sizeof buf) == crc64_update(~crc64_bitrev(prev), buf, sizeof buf));
	}
	/* and it is not a continuation of one message */
	uint64_t first = crc64(buf, 100);
	CHECK(crc64_chain(first, buf + 100, 233) != crc64(buf, 333));
}

static void bitrev(void)
{
	CHECK(crc64_bitrev(1) == 0x8000000000000000ull);
	CHECK(crc64_bitrev(0x8000000000000000ull) == 1);
	CHECK(crc64_bitrev(0x1Bull) == 0xD800000000000000ull); /* the poly, reflected */
	for (int i = 0; i < 100; i++) {
		uint64_t v = rnd();
		CHECK(crc64_bitrev(v) == ref_reflect(v, 64));
		CHECK(crc64_bitrev(crc64_bitrev(v)) == v);
	}
}

/* The same checks on the table-driven path, where the CPU would use
 * carry-less multiplication otherwise. */
static void tables_only(void)
{
	int had = crc64_use_clmul(1); /* whether the CPU has it */
	CHECK(crc64_use_clmul(0) == 0);
	matches_reference();
	chain_matches_reference();
	update_is_continuation();
	chain_vs_update();
	crc64_use_clmul(1);
	CHECK(crc64_use_clmul(1) == had);
#if defined(__x86_64__)
	fprintf(stderr, "crc64: carry-less multiplication %s\n", had ? "in use" : "not available");
#endif
}

int main(void)
{
	T_RUN(check_value);
	T_RUN(matches_reference);
	T_RUN(chain_matches_reference);
	T_RUN(update_is_continuation);
	T_RUN(chain_vs_update);
	T_RUN(bitrev);
	T_RUN(tables_only);
	return T_DONE();
}
