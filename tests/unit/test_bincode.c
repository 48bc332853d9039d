/* Unit tests for proto/bincode.c. */
#include "bincode.h"
#include "t.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Encodes v, checks the size agrees, decodes it back into *out. */
static int round_trip(struct arena *a, const struct hr_value *v, struct hr_value *out, struct buf *b)
{
	buf_init(b);
	bincode_encode_value(b, v);
	if (b->len != bincode_value_size(v))
		return -100;
	unsigned char direct[64];
	if (b->len <= sizeof direct &&
	    (bincode_write_value(direct, v) != b->len || memcmp(direct, b->p, b->len) != 0))
		return -101;
	return bincode_decode_value(a, b->p, b->len, out, NULL);
}

static void integer_one_exact_bytes(void)
{
	static const unsigned char want[] = {0x01, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0};
	struct hr_value v = {.type = HR_INTEGER, .i = 1};
	struct buf b;
	buf_init(&b);
	bincode_encode_value(&b, &v);
	CHECK(b.len == sizeof want && memcmp(b.p, want, sizeof want) == 0);
	struct arena a;
	arena_init(&a);
	struct hr_value out;
	CHECK(bincode_decode_value(&a, want, sizeof want, &out, NULL) == 0);
	CHECK(out.type == HR_INTEGER && out.i == 1);
	buf_free(&b);
	arena_free(&a);
}

static void exact_bytes_each_type(void)
{
	struct arena a;
	arena_init(&a);
	struct buf b;
	struct hr_value out;
	struct hr_value null = {.type = HR_NULL};
	CHECK(round_trip(&a, &null, &out, &b) == 0);
	CHECK(b.len == 4 && memcmp(b.p, "\0\0\0\0", 4) == 0 && out.type == HR_NULL);
	buf_free(&b);

	struct hr_value neg = {.type = HR_INTEGER, .i = -2};
	CHECK(round_trip(&a, &neg, &out, &b) == 0);
	CHECK(memcmp(b.p, "\x01\0\0\0\xfe\xff\xff\xff\xff\xff\xff\xff", 12) == 0);
	CHECK(out.type == HR_INTEGER && out.i == -2);
	buf_free(&b);

	struct hr_value real = {.type = HR_FLOAT, .f = 1.5}; /* 0x3FF8000000000000 */
	CHECK(round_trip(&a, &real, &out, &b) == 0);
	CHECK(memcmp(b.p, "\x02\0\0\0\0\0\0\0\0\0\xf8\x3f", 12) == 0);
	CHECK(out.type == HR_FLOAT && out.f == 1.5);
	buf_free(&b);

	struct hr_value text = {.type = HR_TEXT, .s = "h\xc3\xa9", .n = 3};
	CHECK(round_trip(&a, &text, &out, &b) == 0);
	CHECK(b.len == 15 && memcmp(b.p, "\x03\0\0\0\x03\0\0\0\0\0\0\0h\xc3\xa9", 15) == 0);
	CHECK(out.type == HR_TEXT && out.n == 3 && memcmp(out.s, "h\xc3\xa9", 4) == 0);
	buf_free(&b);

	struct hr_value blob = {.type = HR_BLOB, .s = "\0\x01\xff", .n = 3};
	CHECK(round_trip(&a, &blob, &out, &b) == 0);
	CHECK(b.len == 15 && memcmp(b.p, "\x04\0\0\0\x03\0\0\0\0\0\0\0\0\x01\xff", 15) == 0);
	CHECK(out.type == HR_BLOB && out.n == 3 && memcmp(out.s, "\0\x01\xff", 3) == 0);
	CHECK(out.s[3] == 0); /* NUL after the bytes */
	buf_free(&b);
	arena_free(&a);
}

static void extremes_round_trip(void)
{
	struct arena a;
	arena_init(&a);
	struct buf b;
	struct hr_value out;
	int64_t ints[] = {0, 1, -1, INT64_MAX, INT64_MIN, 4096, -4096};
	for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
		struct hr_value v = {.type = HR_INTEGER, .i = ints[k]};
		CHECK(round_trip(&a, &v, &out, &b) == 0 && out.type == HR_INTEGER && out.i == ints[k]);
		buf_free(&b);
	}
	double reals[] = {0.0, -0.0, 1e308, -1e-308, 5e-324, INFINITY, -INFINITY};
	for (size_t k = 0; k < sizeof reals / sizeof reals[0]; k++) {
		struct hr_value v = {.type = HR_FLOAT, .f = reals[k]};
		CHECK(round_trip(&a, &v, &out, &b) == 0 && out.type == HR_FLOAT);
		CHECK(memcmp(&out.f, &reals[k], 8) == 0); /* bit-exact, -0.0 included */
		buf_free(&b);
	}
	/* a NaN with a payload survives decode -> encode bit for bit */
	static const unsigned char nan[] = {2, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0xf8, 0x7f};
	CHECK(bincode_decode_value(&a, nan, sizeof nan, &out, NULL) == 0 && isnan(out.f));
	buf_init(&b);
	bincode_encode_value(&b, &out);
	CHECK(b.len == sizeof nan && memcmp(b.p, nan, sizeof nan) == 0);
	buf_free(&b);
	/* empty text and blob */
	struct hr_value et = {.type = HR_TEXT, .s = "", .n = 0}, eb = {.type = HR_BLOB, .s = NULL, .n = 0};
	CHECK(round_trip(&a, &et, &out, &b) == 0 && out.type == HR_TEXT && out.n == 0 && out.s &&
	      out.s[0] == 0);
	CHECK(b.len == 12);
	buf_free(&b);
	CHECK(round_trip(&a, &eb, &out, &b) == 0 && out.type == HR_BLOB && out.n == 0 && out.s);
	buf_free(&b);
	/* text with an embedded NUL keeps its length */
	struct hr_value tn = {.type = HR_TEXT, .s = "a\0b", .n = 3};
	CHECK(round_trip(&a, &tn, &out, &b) == 0 && out.n == 3 && memcmp(out.s, "a\0b", 3) == 0);
	buf_free(&b);
	/* a large blob */
	static char big[100000];
	memset(big, 0xAB, sizeof big);
	struct hr_value bb = {.type = HR_BLOB, .s = big, .n = sizeof big};
	CHECK(round_trip(&a, &bb, &out, &b) == 0 && out.n == sizeof big &&
	      memcmp(out.s, big, sizeof big) == 0);
	buf_free(&b);
	arena_free(&a);
}

static void truncated_every_prefix(void)
{
	struct arena a;
	arena_init(&a);
	struct hr_value vals[] = {
		{.type = HR_NULL},
		{.type = HR_INTEGER, .i = 77},
		{.type = HR_FLOAT, .f = 2.5},
		{.type = HR_TEXT, .s = "hello", .n = 5},
		{.type = HR_BLOB, .s = "\x01\x02", .n = 2},
	};
	for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
		struct buf b;
		buf_init(&b);
		bincode_encode_value(&b, &vals[k]);
		for (size_t n = 0; n < b.len; n++) {
			struct hr_value out;
			struct err e;
			int rc = bincode_decode_value(&a, b.p, n, &out, &e);
			CHECK(rc == BINCODE_E_TRUNCATED);
			CHECK(out.type == HR_NULL);
		}
		/* one byte more is trailing garbage */
		buf_putc(&b, 0);
		struct hr_value out;
		CHECK(bincode_decode_value(&a, b.p, b.len, &out, NULL) == BINCODE_E_TRAILING);
		buf_free(&b);
	}
	CHECK(bincode_decode_value(&a, NULL, 0, &(struct hr_value){0}, NULL) == BINCODE_E_TRUNCATED);
	arena_free(&a);
}

static void bad_tags(void)
{
	struct arena a;
	arena_init(&a);
	struct err e;
	struct hr_value out;
	static const unsigned char t5[] = {5, 0, 0, 0};
	static const unsigned char tbig[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
	static const unsigned char thigh[] = {1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}; /* 0x01000001 */
	CHECK(bincode_decode_value(&a, t5, sizeof t5, &out, &e) == BINCODE_E_TAG);
	CHECK(strstr(e.msg, "tag 5") != NULL);
	CHECK(bincode_decode_value(&a, tbig, sizeof tbig, &out, NULL) == BINCODE_E_TAG);
	CHECK(bincode_decode_value(&a, thigh, sizeof thigh, &out, NULL) == BINCODE_E_TAG);
	arena_free(&a);
}

static void absurd_lengths_allocate_nothing(void)
{
	struct arena a;
	arena_init(&a);
	struct hr_value out;
	unsigned char in[12 + 4] = {3, 0, 0, 0};
	uint64_t lens[] = {UINT64_MAX, (uint64_t)1 << 63, (uint64_t)1 << 32, 5, 1000000};
	for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
		for (int i = 0; i < 8; i++)
			in[4 + i] = (unsigned char)(lens[k] >> (8 * i));
		for (int tag = 3; tag <= 4; tag++) {
			in[0] = (unsigned char)tag;
			CHECK(bincode_decode_value(&a, in, sizeof in, &out, NULL) == BINCODE_E_TRUNCATED);
		}
	}
	CHECK(a.used == 0); /* nothing was allocated for any of them */
	/* the exact length is fine */
	in[0] = 4;
	memset(in + 4, 0, 8);
	in[4] = 4;
	CHECK(bincode_decode_value(&a, in, sizeof in, &out, NULL) == 0 && out.n == 4);
	arena_free(&a);
}

static void text_must_be_utf8(void)
{
	struct arena a;
	arena_init(&a);
	const char *bad[] = {"\xc0\x80", "\xed\xa0\x80", "\x80", "\xf4\x90\x80\x80", "ab\xe2\x82"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct hr_value v = {.type = HR_TEXT, .s = bad[k], .n = strlen(bad[k])}, out;
		struct buf b;
		buf_init(&b);
		bincode_encode_value(&b, &v); /* the encoder writes what it is given */
		CHECK(bincode_decode_value(&a, b.p, b.len, &out, NULL) == BINCODE_E_UTF8);
		/* the same bytes as a blob are fine */
		b.p[0] = 4;
		CHECK(bincode_decode_value(&a, b.p, b.len, &out, NULL) == 0 && out.type == HR_BLOB);
		buf_free(&b);
	}
	arena_free(&a);
}

static void sizes(void)
{
	struct hr_value v = {.type = HR_TEXT, .s = "abc", .n = 3};
	CHECK(bincode_value_size(&v) == 15);
	v.type = HR_BLOB;
	CHECK(bincode_value_size(&v) == 15);
	v.type = HR_NULL;
	CHECK(bincode_value_size(&v) == 4);
	v.type = HR_INTEGER;
	CHECK(bincode_value_size(&v) == 12);
	v.type = HR_FLOAT;
	CHECK(bincode_value_size(&v) == 12);
}

int main(void)
{
	T_RUN(integer_one_exact_bytes);
	T_RUN(exact_bytes_each_type);
	T_RUN(extremes_round_trip);
	T_RUN(truncated_every_prefix);
	T_RUN(bad_tags);
	T_RUN(absurd_lengths_allocate_nothing);
	T_RUN(text_must_be_utf8);
	T_RUN(sizes);
	return T_DONE();
}
