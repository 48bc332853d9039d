/* buf: see buf.h. */
#include "buf.h"
#include "err.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int err_set(struct err *e, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void buf_init(struct buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->p);
	buf_init(b);
}

void buf_reserve(struct buf *b, size_t extra)
{
	if (b->cap - b->len > extra)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len <= extra) {
		if (cap > ((size_t)-1) / 2)
			abort();
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p) {
		fputs("sqlwire: out of memory\n", stderr);
		abort();
	}
	b->p = p;
	b->cap = cap;
}

void buf_put(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
}

void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = 0;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		if (b->p)
			b->p[0] = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = 0;
}

char *buf_steal(struct buf *b, size_t *len)
{
	char *p = b->p;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}
