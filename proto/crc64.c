/* crc64: see crc64.h. The register is kept in reflected form (bit 0 is the
 * coefficient of x^63), so a byte is consumed low bits first. Slice-by-8:
 * crc64_tab[k][b] is the effect of byte b followed by k zero bytes.
 *
 * Four lanes: one slice-by-8 chain waits on its own result every 8 bytes,
 * so a 4096-byte page (every frame's checksum) runs as four independent
 * chains over its four 1024-byte quarters, which the CPU overlaps, joined
 * with the identity raw(r, A || B) = shift(raw(r, A), |B|) ^ raw(0, B),
 * where shift(x, n) = raw(x, n zero bytes) is linear in x: crc64_shift[k][b]
 * is shift(b << 8k, CRC64_LANE) and a shift is 8 table lookups. About 3x
 * faster than one chain; the result is the same by construction, and
 * test_crc64 compares every length with a bit-by-bit reference.
 *
 * Carry-less multiplication (x86-64 with PCLMULQDQ, checked at run time):
 * 64 bytes at a time in four 16-byte accumulators, each folded forward by
 * multiplying its halves with x^(512+64-1) and x^(512-1) mod P (reflected;
 * the -1 is the reflected product's one-bit shift), then the four folded
 * into one 16 bytes apart (x^(128+64-1), x^(128-1)), and the last 16 bytes
 * run through the tables: raw(0, X || 0^k || Y) == raw(0, fold(X) ^ Y) is
 * all it relies on. The constants are computed at start-up and the path is
 * used only if it agrees with the tables on a test message. ~10x faster. */
#include "crc64.h"
#include <pthread.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CRC64_HAVE_CLMUL_CODE 1
#endif

#define CRC64_POLY_REFLECTED 0xD800000000000000ull

#define CRC64_LANE 1024 /* bytes per lane; a block is 4 lanes */

static uint64_t crc64_tab[8][256];
static uint64_t crc64_shift[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init_shift(void);
#ifdef CRC64_HAVE_CLMUL_CODE
static void crc64_init_clmul(void);
#endif

static void crc64_init(void)
{
	for (int b = 0; b < 256; b++) {
		uint64_t c = (uint64_t)b;
		for (int i = 0; i < 8; i++)
			c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
		crc64_tab[0][b] = c;
	}
	for (int b = 0; b < 256; b++)
		for (int k = 1; k < 8; k++) {
			uint64_t c = crc64_tab[k - 1][b];
			crc64_tab[k][b] = (c >> 8) ^ crc64_tab[0][c & 0xff];
		}
	crc64_init_shift();
#ifdef CRC64_HAVE_CLMUL_CODE
	crc64_init_clmul();
#endif
}

static uint64_t crc64_le64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static inline uint64_t crc64_step8(uint64_t reg, uint64_t w)
{
	reg ^= w;
	return crc64_tab[7][reg & 0xff] ^ crc64_tab[6][(reg >> 8) & 0xff] ^ crc64_tab[5][(reg >> 16) & 0xff] ^
	       crc64_tab[4][(reg >> 24) & 0xff] ^ crc64_tab[3][(reg >> 32) & 0xff] ^
	       crc64_tab[2][(reg >> 40) & 0xff] ^ crc64_tab[1][(reg >> 48) & 0xff] ^ crc64_tab[0][reg >> 56];
}

/* The register after CRC64_LANE zero bytes (crc64_shift, once built). */
static uint64_t crc64_shift_lane(uint64_t x)
{
	return crc64_shift[0][x & 0xff] ^ crc64_shift[1][(x >> 8) & 0xff] ^ crc64_shift[2][(x >> 16) & 0xff] ^
	       crc64_shift[3][(x >> 24) & 0xff] ^ crc64_shift[4][(x >> 32) & 0xff] ^
	       crc64_shift[5][(x >> 40) & 0xff] ^ crc64_shift[6][(x >> 48) & 0xff] ^ crc64_shift[7][x >> 56];
}

static uint64_t crc64_raw1(uint64_t reg, const unsigned char *p, size_t n);

static void crc64_init_shift(void)
{
	static const unsigned char zeros[CRC64_LANE];
	for (int k = 0; k < 8; k++)
		for (int b = 0; b < 256; b++)
			crc64_shift[k][b] = crc64_raw1((uint64_t)b << (8 * k), zeros, CRC64_LANE);
}

/* One chain, slice-by-8. */
static uint64_t crc64_raw1(uint64_t reg, const unsigned char *p, size_t n)
{
	while (n >= 8) {
		reg = crc64_step8(reg, crc64_le64(p));
		p += 8;
		n -= 8;
	}
	while (n--)
		reg = (reg >> 8) ^ crc64_tab[0][(reg ^ *p++) & 0xff];
	return reg;
}

#ifdef CRC64_HAVE_CLMUL_CODE
static int crc64_clmul_ok;
static uint64_t crc64_k16lo, crc64_k16hi, crc64_k64lo, crc64_k64hi;

/* x^n mod P, P = x^64 + x^4 + x^3 + x + 1, bit-reversed (the reflected form). */
static uint64_t crc64_xpow_rev(int n)
{
	uint64_t r = 1;
	for (int i = 0; i < n; i++)
		r = (r << 1) ^ ((r >> 63) ? 0x1Bull : 0);
	return crc64_bitrev(r);
}

__attribute__((target("pclmul,sse2"))) static inline __m128i crc64_fold(__m128i x, __m128i k)
{
	return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

/* n >= 64 */
__attribute__((target("pclmul,sse2"))) static uint64_t crc64_raw_clmul(uint64_t reg, const unsigned char *p,
									 size_t n)
{
	const __m128i k64 = _mm_set_epi64x((long long)crc64_k64hi, (long long)crc64_k64lo);
	const __m128i k16 = _mm_set_epi64x((long long)crc64_k16hi, (long long)crc64_k16lo);
	__m128i a0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_set_epi64x(0, (long long)reg));
	__m128i a1 = _mm_loadu_si128((const __m128i *)(p + 16));
	__m128i a2 = _mm_loadu_si128((const __m128i *)(p + 32));
	__m128i a3 = _mm_loadu_si128((const __m128i *)(p + 48));
	p += 64;
	n -= 64;
	while (n >= 64) {
		a0 = _mm_xor_si128(crc64_fold(a0, k64), _mm_loadu_si128((const __m128i *)p));
		a1 = _mm_xor_si128(crc64_fold(a1, k64), _mm_loadu_si128((const __m128i *)(p + 16)));
		a2 = _mm_xor_si128(crc64_fold(a2, k64), _mm_loadu_si128((const __m128i *)(p + 32)));
		a3 = _mm_xor_si128(crc64_fold(a3, k64), _mm_loadu_si128((const __m128i *)(p + 48)));
		p += 64;
		n -= 64;
	}
	__m128i a = _mm_xor_si128(crc64_fold(a0, k16), a1);
	a = _mm_xor_si128(crc64_fold(a, k16), a2);
	a = _mm_xor_si128(crc64_fold(a, k16), a3);
	while (n >= 16) {
		a = _mm_xor_si128(crc64_fold(a, k16), _mm_loadu_si128((const __m128i *)p));
		p += 16;
		n -= 16;
	}
	unsigned char last[16];
	_mm_storeu_si128((__m128i *)last, a);
	return crc64_raw1(crc64_raw1(0, last, 16), p, n);
}

static void crc64_init_clmul(void)
{
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("pclmul") || !__builtin_cpu_supports("sse2"))
		return;
	crc64_k16lo = crc64_xpow_rev(128 + 64 - 1);
	crc64_k16hi = crc64_xpow_rev(128 - 1);
	crc64_k64lo = crc64_xpow_rev(512 + 64 - 1);
	crc64_k64hi = crc64_xpow_rev(512 - 1);
	/* trust it only if it agrees with the tables */
	static unsigned char t[4096 + 77];
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (size_t i = 0; i < sizeof t; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		t[i] = (unsigned char)x;
	}
	static const size_t lens[] = {64, 65, 80, 127, 128, 4096, 4096 + 77};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
		if (crc64_raw_clmul(~(uint64_t)i, t, lens[i]) != crc64_raw1(~(uint64_t)i, t, lens[i]))
			return;
	crc64_clmul_ok = 1;
}
#endif

int crc64_use_clmul(int on)
{
	pthread_once(&crc64_once, crc64_init);
#ifdef CRC64_HAVE_CLMUL_CODE
	static int available = -1;
	if (available < 0)
		available = crc64_clmul_ok;
	crc64_clmul_ok = on && available;
	return crc64_clmul_ok;
#else
	(void)on;
	return 0;
#endif
}

/* Runs the raw (reflected) register over p[0..n); no pre/post inversion. */
static uint64_t crc64_raw(uint64_t reg, const unsigned char *p, size_t n)
{
	pthread_once(&crc64_once, crc64_init);
#ifdef CRC64_HAVE_CLMUL_CODE
	if (crc64_clmul_ok && n >= 64)
		return crc64_raw_clmul(reg, p, n);
#endif
	while (n >= 4 * CRC64_LANE) {
		uint64_t r0 = reg, r1 = 0, r2 = 0, r3 = 0;
		const unsigned char *p1 = p + CRC64_LANE, *p2 = p1 + CRC64_LANE, *p3 = p2 + CRC64_LANE;
		for (size_t i = 0; i < CRC64_LANE; i += 8) {
			r0 = crc64_step8(r0, crc64_le64(p + i));
			r1 = crc64_step8(r1, crc64_le64(p1 + i));
			r2 = crc64_step8(r2, crc64_le64(p2 + i));
			r3 = crc64_step8(r3, crc64_le64(p3 + i));
		}
		reg = crc64_shift_lane(crc64_shift_lane(crc64_shift_lane(r0) ^ r1) ^ r2) ^ r3;
		p += 4 * CRC64_LANE;
		n -= 4 * CRC64_LANE;
	}
	return crc64_raw1(reg, p, n);
}

uint64_t crc64_bitrev(uint64_t v)
{
	v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
	v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
	v = ((v >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((v & 0x0F0F0F0F0F0F0F0Full) << 4);
	v = ((v >> 8) & 0x00FF00FF00FF00FFull) | ((v & 0x00FF00FF00FF00FFull) << 8);
	v = ((v >> 16) & 0x0000FFFF0000FFFFull) | ((v & 0x0000FFFF0000FFFFull) << 16);
	return (v >> 32) | (v << 32);
}

uint64_t crc64_update(uint64_t crc, const void *p, size_t n)
{
	return ~crc64_raw(~crc, p, n);
}

uint64_t crc64(const void *p, size_t n)
{
	return crc64_update(0, p, n);
}

uint64_t crc64_chain(uint64_t prev, const void *p, size_t n)
{
	return ~crc64_raw(crc64_bitrev(prev), p, n);
}
