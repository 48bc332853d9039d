/* conv: SQLite's value conversions on remote values (see conv.h). The rules
 * follow SQLite 3.40's documented and observed behaviour (tested against the
 * system library in tests/unit/test_cl_api.c):
 *   text -> integer: skip whitespace, optional sign, the leading decimal
 *     digits only ("12abc" and "1e3" are 12 and 1); more than the int64
 *     range saturates; no digits gives 0.
 *   text -> real: the longest leading decimal number with optional fraction
 *     and exponent ("1.5e3x" is 1500.0); none gives 0.0.
 *   real -> integer: truncation, saturating at the int64 range.
 *   real -> text: printf "%.15g", with ".0" added when the result has no
 *     '.' (so 1.0 is "1.0" and 1e20 is "1.0e+20"), "Inf"/"-Inf".
 *   blob -> number: its bytes read as text. */
#include "conv.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int conv_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int conv_type(const struct hr_value *v)
{
	if (!v)
		return 5;
	switch (v->type) {
	case HR_INTEGER:
		return 1;
	case HR_FLOAT:
		return 2;
	case HR_TEXT:
		return 3;
	case HR_BLOB:
		return 4;
	default:
		return 5;
	}
}

int64_t conv_atoi64(const char *z, size_t n)
{
	size_t i = 0;
	int neg = 0;
	while (i < n && conv_isspace(z[i]))
		i++;
	if (i < n && (z[i] == '-' || z[i] == '+')) {
		neg = z[i] == '-';
		i++;
	}
	while (i < n && z[i] == '0')
		i++;
	size_t start = i;
	uint64_t u = 0;
	while (i < n && z[i] >= '0' && z[i] <= '9')
		u = u * 10 + (uint64_t)(z[i++] - '0');
	size_t nd = i - start;
	int over = 0;
	if (nd > 19)
		over = 1;
	else if (nd == 19) {
		int c = memcmp(z + start, "9223372036854775808", 19);
		if (c > 0)
			over = 1;
		else if (c == 0)
			return neg ? INT64_MIN : INT64_MAX;
	}
	if (over)
		return neg ? INT64_MIN : INT64_MAX;
	return neg ? (int64_t)(0 - u) : (int64_t)u;
}

double conv_atof(const char *z, size_t n)
{
	size_t i = 0;
	while (i < n && conv_isspace(z[i]))
		i++;
	size_t b = i;
	if (i < n && (z[i] == '-' || z[i] == '+'))
		i++;
	size_t digits = 0;
	while (i < n && z[i] >= '0' && z[i] <= '9')
		i++, digits++;
	if (i < n && z[i] == '.') {
		i++;
		while (i < n && z[i] >= '0' && z[i] <= '9')
			i++, digits++;
	}
	if (!digits)
		return 0.0;
	if (i < n && (z[i] == 'e' || z[i] == 'E')) {
		size_t j = i + 1;
		if (j < n && (z[j] == '-' || z[j] == '+'))
			j++;
		if (j < n && z[j] >= '0' && z[j] <= '9') {
			while (j < n && z[j] >= '0' && z[j] <= '9')
				j++;
			i = j;
		}
	}
	char small[64];
	char *buf = i - b < sizeof small ? small : malloc(i - b + 1);
	if (!buf)
		return 0.0;
	memcpy(buf, z + b, i - b);
	buf[i - b] = 0;
	double r = strtod(buf, NULL);
	if (buf != small)
		free(buf);
	return r;
}

int conv_ftoa(double r, char buf[32])
{
	if (isinf(r))
		return snprintf(buf, 32, "%s", r < 0 ? "-Inf" : "Inf");
	if (isnan(r))
		return snprintf(buf, 32, "NaN");
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%.15g", r);
	if (strchr(tmp, '.'))
		return snprintf(buf, 32, "%s", tmp);
	char *e = strchr(tmp, 'e');
	if (!e)
		return snprintf(buf, 32, "%s.0", tmp);
	(void)n;
	return snprintf(buf, 32, "%.*s.0%s", (int)(e - tmp), tmp, e);
}

int64_t conv_int64(const struct hr_value *v)
{
	if (!v)
		return 0;
	switch (v->type) {
	case HR_INTEGER:
		return v->i;
	case HR_FLOAT:
		if (isnan(v->f))
			return 0;
		if (v->f <= (double)INT64_MIN)
			return INT64_MIN;
		if (v->f >= (double)INT64_MAX)
			return INT64_MAX;
		return (int64_t)v->f;
	case HR_TEXT:
	case HR_BLOB:
		return conv_atoi64(v->s, v->n);
	default:
		return 0;
	}
}

double conv_double(const struct hr_value *v)
{
	if (!v)
		return 0.0;
	switch (v->type) {
	case HR_INTEGER:
		return (double)v->i;
	case HR_FLOAT:
		return v->f;
	case HR_TEXT:
	case HR_BLOB:
		return conv_atof(v->s, v->n);
	default:
		return 0.0;
	}
}

static const char *conv_keep(char **cache, const char *p, size_t n, int *nomem)
{
	free(*cache);
	*cache = malloc(n + 1);
	if (!*cache) {
		*nomem = 1;
		return NULL;
	}
	memcpy(*cache, p, n);
	(*cache)[n] = 0;
	return *cache;
}

const char *conv_text(const struct hr_value *v, char **cache, int *n, int *nomem)
{
	char buf[32];
	int len;
	*n = 0;
	if (!v)
		return NULL;
	switch (v->type) {
	case HR_INTEGER:
		len = snprintf(buf, sizeof buf, "%lld", (long long)v->i);
		*n = len;
		return conv_keep(cache, buf, (size_t)len, nomem);
	case HR_FLOAT:
		len = conv_ftoa(v->f, buf);
		*n = len;
		return conv_keep(cache, buf, (size_t)len, nomem);
	case HR_TEXT:
		*n = (int)v->n;
		return v->s ? v->s : "";
	case HR_BLOB:
		*n = (int)v->n;
		return conv_keep(cache, v->s ? v->s : "", v->n, nomem);
	default:
		return NULL;
	}
}

const void *conv_blob(const struct hr_value *v, char **cache, int *n, int *nomem)
{
	*n = 0;
	if (!v)
		return NULL;
	if (v->type == HR_BLOB || v->type == HR_TEXT) {
		*n = (int)v->n;
		return v->n ? v->s : NULL;
	}
	return conv_text(v, cache, n, nomem);
}
