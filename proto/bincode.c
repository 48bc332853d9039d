/* bincode: see bincode.h for the FORMAT block. Byte order is spelled out
 * byte by byte so the code does not depend on the host's endianness. */
#include "bincode.h"
#include <string.h>

_Static_assert(sizeof(double) == 8 && sizeof(uint64_t) == 8, "Real is the 8 bytes of an f64");

static void bincode_put_u32(unsigned char *d, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		d[i] = (unsigned char)(v >> (8 * i));
}

static void bincode_put_u64(unsigned char *d, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		d[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t bincode_get_u32(const unsigned char *s)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | s[i];
	return v;
}

static uint64_t bincode_get_u64(const unsigned char *s)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | s[i];
	return v;
}

size_t bincode_value_size(const struct hr_value *v)
{
	switch (v->type) {
	case HR_INTEGER:
	case HR_FLOAT:
		return 12;
	case HR_TEXT:
	case HR_BLOB:
		return 12 + v->n;
	default:
		return 4;
	}
}

size_t bincode_write_value(void *dst, const struct hr_value *v)
{
	unsigned char *d = dst;
	uint64_t bits;
	switch (v->type) {
	case HR_INTEGER:
		bincode_put_u32(d, BINCODE_TAG_INTEGER);
		bincode_put_u64(d + 4, (uint64_t)v->i);
		return 12;
	case HR_FLOAT:
		memcpy(&bits, &v->f, 8);
		bincode_put_u32(d, BINCODE_TAG_REAL);
		bincode_put_u64(d + 4, bits);
		return 12;
	case HR_TEXT:
	case HR_BLOB:
		bincode_put_u32(d, v->type == HR_TEXT ? BINCODE_TAG_TEXT : BINCODE_TAG_BLOB);
		bincode_put_u64(d + 4, (uint64_t)v->n);
		if (v->n)
			memcpy(d + 12, v->s, v->n);
		return 12 + v->n;
	default:
		bincode_put_u32(d, BINCODE_TAG_NULL);
		return 4;
	}
}

void bincode_encode_value(struct buf *b, const struct hr_value *v)
{
	size_t n = bincode_value_size(v);
	buf_reserve(b, n);
	bincode_write_value(b->p + b->len, v);
	b->len += n;
	b->p[b->len] = 0;
}

int bincode_decode_value(struct arena *a, const void *p, size_t n, struct hr_value *out,
			 struct err *e)
{
	const unsigned char *s = p;
	memset(out, 0, sizeof *out);
	if (n < 4)
		return err_set(e, "bincode value: truncated variant tag (%zu bytes)", n),
		       BINCODE_E_TRUNCATED;
	uint32_t tag = bincode_get_u32(s);
	size_t need;
	switch (tag) {
	case BINCODE_TAG_NULL:
		need = 4;
		break;
	case BINCODE_TAG_INTEGER:
	case BINCODE_TAG_REAL:
		need = 12;
		break;
	case BINCODE_TAG_TEXT:
	case BINCODE_TAG_BLOB: {
		if (n < 12)
			return err_set(e, "bincode value: truncated length"), BINCODE_E_TRUNCATED;
		uint64_t len = bincode_get_u64(s + 4);
		if (len > n - 12)
			return err_set(e, "bincode value: length %llu exceeds the %zu bytes left",
				       (unsigned long long)len, n - 12),
			       BINCODE_E_TRUNCATED;
		need = 12 + (size_t)len;
		break;
	}
	default:
		return err_set(e, "bincode value: unknown variant tag %u", (unsigned)tag), BINCODE_E_TAG;
	}
	if (n < need)
		return err_set(e, "bincode value: truncated payload"), BINCODE_E_TRUNCATED;
	if (n > need)
		return err_set(e, "bincode value: %zu trailing bytes", n - need), BINCODE_E_TRAILING;
	switch (tag) {
	case BINCODE_TAG_NULL:
		out->type = HR_NULL;
		break;
	case BINCODE_TAG_INTEGER:
		out->type = HR_INTEGER;
		out->i = (int64_t)bincode_get_u64(s + 4);
		break;
	case BINCODE_TAG_REAL: {
		uint64_t bits = bincode_get_u64(s + 4);
		out->type = HR_FLOAT;
		memcpy(&out->f, &bits, 8);
		break;
	}
	default: { /* Text, Blob */
		size_t len = need - 12;
		if (tag == BINCODE_TAG_TEXT && !hr_utf8_valid((const char *)s + 12, len))
			return err_set(e, "bincode value: text is not valid UTF-8"), BINCODE_E_UTF8;
		out->type = tag == BINCODE_TAG_TEXT ? HR_TEXT : HR_BLOB;
		out->s = arena_strndup(a, (const char *)s + 12, len);
		out->n = len;
		break;
	}
	}
	return 0;
}
