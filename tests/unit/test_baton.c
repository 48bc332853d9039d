/* Unit tests for sqld/baton.c: round trip, forgery, truncation, alphabet. */
#include "baton.h"
#include "t.h"
#include <string.h>

static void roundtrip(void)
{
	char b[BATON_TEXT_LEN + 1];
	baton_encode(0x0102030405060708ull, 42, b);
	CHECK(strlen(b) == BATON_TEXT_LEN);
	CHECK(strchr(b, '=') == NULL);
	uint64_t id = 0, seq = 0;
	CHECK(baton_decode(b, strlen(b), &id, &seq) == 0);
	CHECK(id == 0x0102030405060708ull);
	CHECK(seq == 42);
	/* stray padding is tolerated */
	char padded[BATON_TEXT_LEN + 3];
	snprintf(padded, sizeof padded, "%s==", b);
	CHECK(baton_decode(padded, strlen(padded), &id, &seq) == 0);
}

static void forgery(void)
{
	char b[BATON_TEXT_LEN + 1];
	baton_encode(7, 8, b);
	uint64_t id, seq;
	for (size_t i = 0; i < BATON_TEXT_LEN; i++) {
		char f[BATON_TEXT_LEN + 1];
		memcpy(f, b, sizeof f);
		f[i] = f[i] == 'A' ? 'B' : 'A';
		CHECK(baton_decode(f, strlen(f), &id, &seq) != 0);
	}
}

static void garbage(void)
{
	uint64_t id, seq;
	CHECK(baton_decode("", 0, &id, &seq) != 0);
	CHECK(baton_decode("abc", 3, &id, &seq) != 0);
	char b[BATON_TEXT_LEN + 1];
	baton_encode(1, 2, b);
	CHECK(baton_decode(b, BATON_TEXT_LEN - 1, &id, &seq) != 0);
	b[5] = '!';
	CHECK(baton_decode(b, BATON_TEXT_LEN, &id, &seq) != 0);
	char z[BATON_TEXT_LEN + 1];
	memset(z, 'A', BATON_TEXT_LEN);
	z[BATON_TEXT_LEN] = 0;
	CHECK(baton_decode(z, BATON_TEXT_LEN, &id, &seq) != 0);
}

static void new_key_kills_batons(void)
{
	char b[BATON_TEXT_LEN + 1];
	baton_encode(1, 2, b);
	CHECK(baton_init() == 0); /* as after a restart */
	uint64_t id, seq;
	CHECK(baton_decode(b, BATON_TEXT_LEN, &id, &seq) != 0);
}

int main(void)
{
	baton_init();
	T_RUN(roundtrip);
	T_RUN(forgery);
	T_RUN(garbage);
	T_RUN(new_key_kills_batons);
	return T_DONE();
}
