/* pbwire: see pbwire.h. */
#include "pbwire.h"
#include "hrana.h"
#include <string.h>

#define PBWIRE_MAX_FIELD 0x1FFFFFFFu /* 2^29 - 1 */

bool pbwire_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *out)
{
	uint64_t v = 0;
	for (int k = 0; k < 10; k++) {
		if (*i >= n)
			return false;
		uint8_t c = p[(*i)++];
		if (k == 9 && c > 1)
			return false; /* more than 64 bits */
		v |= (uint64_t)(c & 0x7F) << (7 * k);
		if (!(c & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

static int pbwire_bad(struct err *e, const ProtobufCMessageDescriptor *d, const char *why)
{
	err_set(e, "malformed %s message: %s", d->name, why);
	return PBWIRE_E_WIRE;
}

/* The wire type protobuf-c expects for a known field of this type. */
static int pbwire_field_wire(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_DOUBLE:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return 1;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return 5;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return 2;
	default:
		return 0;
	}
}

static int pbwire_scan(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, int depth,
		       const struct pbwire_rules *r, struct err *e)
{
	size_t i = 0;
	while (i < n) {
		uint64_t key, v;
		if (!pbwire_varint(p, n, &i, &key))
			return pbwire_bad(e, d, "truncated field key");
		uint64_t fno = key >> 3;
		int wt = (int)(key & 7);
		if (fno == 0 || fno > PBWIRE_MAX_FIELD)
			return pbwire_bad(e, d, "invalid field number");
		const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)fno);
		/* a known field sent with another wire type: protobuf-c would fail
		 * (packed repeated scalars, wire 2 for a varint field, are fine) */
		if (f && wt != pbwire_field_wire(f) &&
		    !(wt == 2 && f->label == PROTOBUF_C_LABEL_REPEATED && pbwire_field_wire(f) != 2))
			return pbwire_bad(e, d, "a field has the wrong wire type");
		switch (wt) {
		case 0:
			if (!pbwire_varint(p, n, &i, &v))
				return pbwire_bad(e, d, "truncated varint");
			break;
		case 1:
			if (n - i < 8)
				return pbwire_bad(e, d, "truncated fixed64");
			i += 8;
			break;
		case 5:
			if (n - i < 4)
				return pbwire_bad(e, d, "truncated fixed32");
			i += 4;
			break;
		case 2:
			if (!pbwire_varint(p, n, &i, &v) || v > n - i)
				return pbwire_bad(e, d, "length runs past the end");
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
				if (depth >= r->max_depth) {
					err_set(e, "%s: messages nested deeper than %d", d->name, r->max_depth);
					return PBWIRE_E_WIRE;
				}
				int rc = pbwire_scan(f->descriptor, p + i, (size_t)v, depth + 1, r, e);
				if (rc)
					return rc;
			} else if (f && f->type == PROTOBUF_C_TYPE_STRING &&
				   ((r->no_nul && memchr(p + i, 0, (size_t)v)) ||
				    !hr_utf8_valid((const char *)p + i, (size_t)v))) {
				err_set(e, "%s.%s: invalid UTF-8%s", d->name, f->name,
					r->no_nul ? " or a NUL in a string" : "");
				return PBWIRE_E_STRING;
			}
			i += (size_t)v;
			break;
		default:
			return pbwire_bad(e, d, "unsupported wire type (groups are not supported)");
		}
	}
	return 0;
}

static void *pbwire_alloc(void *ad, size_t n)
{
	return arena_alloc(ad, n);
}

static void pbwire_nofree(void *ad, void *p)
{
	(void)ad;
	(void)p;
}

ProtobufCMessage *pbwire_unpack(struct arena *a, const ProtobufCMessageDescriptor *d, const void *p, size_t n,
				const struct pbwire_rules *r, int *rc, struct err *e)
{
	static const uint8_t empty[1];
	const uint8_t *s = p ? p : empty;
	if (!p)
		n = 0;
	if ((*rc = pbwire_scan(d, s, n, 1, r, e)) != 0)
		return NULL;
	ProtobufCAllocator al = {pbwire_alloc, pbwire_nofree, a};
	ProtobufCMessage *m = protobuf_c_message_unpack(d, &al, n, s);
	if (!m) {
		*rc = pbwire_bad(e, d, "rejected by the protobuf decoder");
		return NULL;
	}
	return m;
}
