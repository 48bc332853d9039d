/* hrana: helpers over the request model (see hrana.h). Pure functions, any thread. */
#include "hrana.h"
#include <string.h>

static const struct {
	const char *name;
	int min_version;
} hr_req_types[] = {
	[HR_REQ_OPEN_STREAM] = {"open_stream", 1},
	[HR_REQ_CLOSE_STREAM] = {"close_stream", 1},
	[HR_REQ_EXECUTE] = {"execute", 1},
	[HR_REQ_BATCH] = {"batch", 1},
	[HR_REQ_OPEN_CURSOR] = {"open_cursor", 3},
	[HR_REQ_CLOSE_CURSOR] = {"close_cursor", 3},
	[HR_REQ_FETCH_CURSOR] = {"fetch_cursor", 3},
	[HR_REQ_SEQUENCE] = {"sequence", 2},
	[HR_REQ_DESCRIBE] = {"describe", 2},
	[HR_REQ_STORE_SQL] = {"store_sql", 2},
	[HR_REQ_CLOSE_SQL] = {"close_sql", 2},
	[HR_REQ_GET_AUTOCOMMIT] = {"get_autocommit", 3},
	[HR_REQ_CLOSE] = {"close", 2},
};
#define HR_NREQ (sizeof hr_req_types / sizeof hr_req_types[0])

const char *hr_req_type_name(enum hr_req_type t)
{
	if ((size_t)t >= HR_NREQ || !hr_req_types[t].name)
		return "unknown";
	return hr_req_types[t].name;
}

enum hr_req_type hr_req_type_from_name(const char *name)
{
	for (size_t i = 1; i < HR_NREQ; i++)
		if (hr_req_types[i].name && strcmp(hr_req_types[i].name, name) == 0)
			return (enum hr_req_type)i;
	return 0;
}

int hr_req_min_version(enum hr_req_type t)
{
	if ((size_t)t >= HR_NREQ)
		return 99;
	return hr_req_types[t].min_version;
}

bool hr_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		unsigned cp, min;
		if ((c & 0xE0) == 0xC0) {
			len = 2, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

bool hr_parse_i64(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (i == n)
		return false;
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';
		if (d > 9 || v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (!neg)
		*out = (int64_t)v;
	else if (v == (uint64_t)INT64_MAX + 1)
		*out = INT64_MIN;
	else
		*out = -(int64_t)v;
	return true;
}
