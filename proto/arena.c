/* arena: see arena.h. Blocks of at least 16 KiB; a large request gets a block
 * of its own so small ones keep filling the current block. */
#include "arena.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena_blk {
	struct arena_blk *next;
	size_t cap, off;
	_Alignas(16) unsigned char data[];
};

#define ARENA_BLK_MIN (16 * 1024)

static void *arena_oom(void)
{
	fputs("sqlwire: out of memory\n", stderr);
	abort();
}

void arena_init(struct arena *a)
{
	a->head = NULL;
	a->used = 0;
}

void arena_free(struct arena *a)
{
	struct arena_blk *b = a->head;
	while (b) {
		struct arena_blk *n = b->next;
		free(b);
		b = n;
	}
	arena_init(a);
}

void *arena_alloc(struct arena *a, size_t n)
{
	size_t need = (n + 15) & ~(size_t)15;
	if (need < n)
		return arena_oom();
	struct arena_blk *b = a->head;
	if (!b || b->cap - b->off < need) {
		size_t cap = need > ARENA_BLK_MIN ? need : ARENA_BLK_MIN;
		struct arena_blk *nb = malloc(sizeof *nb + cap);
		if (!nb)
			return arena_oom();
		nb->cap = cap;
		nb->off = 0;
		if (b && need > ARENA_BLK_MIN && b->cap - b->off >= ARENA_BLK_MIN / 4) {
			/* big one-off: keep the current block at the head */
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			a->head = nb;
		}
		b = nb;
	}
	void *p = b->data + b->off;
	b->off += need;
	a->used += need;
	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (n)
		memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void *arena_memdup(struct arena *a, const void *p, size_t n)
{
	void *d = arena_alloc(a, n ? n : 1);
	if (n)
		memcpy(d, p, n);
	return d;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	char *p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
