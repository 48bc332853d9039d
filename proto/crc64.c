/* crc64: see crc64.h. The register is kept in reflected form (bit 0 is the
 * coefficient of x^63), so a byte is consumed low bits first. Slice-by-8:
 * crc64_tab[k][b] is the effect of byte b followed by k zero bytes. */
#include "crc64.h"
#include <pthread.h>

#define CRC64_POLY_REFLECTED 0xD800000000000000ull

static uint64_t crc64_tab[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

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
}

/* Runs the raw (reflected) register over p[0..n); no pre/post inversion. */
static uint64_t crc64_raw(uint64_t reg, const unsigned char *p, size_t n)
{
	pthread_once(&crc64_once, crc64_init);
	while (n >= 8) {
		uint64_t w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
			     (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
			     (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
		reg ^= w;
		reg = crc64_tab[7][reg & 0xff] ^ crc64_tab[6][(reg >> 8) & 0xff] ^
		      crc64_tab[5][(reg >> 16) & 0xff] ^ crc64_tab[4][(reg >> 24) & 0xff] ^
		      crc64_tab[3][(reg >> 32) & 0xff] ^ crc64_tab[2][(reg >> 40) & 0xff] ^
		      crc64_tab[1][(reg >> 48) & 0xff] ^ crc64_tab[0][reg >> 56];
		p += 8;
		n -= 8;
	}
	while (n--)
		reg = (reg >> 8) ^ crc64_tab[0][(reg ^ *p++) & 0xff];
	return reg;
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
