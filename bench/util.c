/* util: clocks, sockets, buffers, latency samples, and a minimal JSON reader
 * (enough to find fields in a response and to check them; it walks the real
 * structure, so a key is only found where it belongs). */
#include "bench.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "sqlwire-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	fflush(stdout);
	exit(1);
}

int tcp_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
		die("TCP_NODELAY: %s", strerror(errno));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect 127.0.0.1:%d: %s", port, strerror(errno));
	return fd;
}

void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("send: %s", k < 0 ? strerror(errno) : "closed");
		c += k;
		n -= (size_t)k;
	}
}

uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

int rand_key(uint64_t *s)
{
	return 1 + (int)(rng_next(s) % BENCH_ROWS);
}

void fill_random(void *p, size_t n)
{
	if (getrandom(p, n, 0) != (ssize_t)n)
		die("getrandom failed");
}

/* ---- bbuf ---- */

void bb_reserve(struct bbuf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t c = b->cap ? b->cap : 4096;
	while (c < b->len + extra + 1)
		c *= 2;
	b->p = realloc(b->p, c);
	if (!b->p)
		die("out of memory");
	b->cap = c;
}

void bb_add(struct bbuf *b, const void *p, size_t n)
{
	bb_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
}

void bb_printf(struct bbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	bb_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void bb_free(struct bbuf *b)
{
	free(b->p);
	*b = (struct bbuf){0};
}

/* ---- latency samples ---- */

void lat_add(struct lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v)
			die("out of memory");
	}
	l->v[l->n++] = ns;
}

void lat_merge(struct lat *dst, const struct lat *src)
{
	for (size_t i = 0; i < src->n; i++)
		lat_add(dst, src->v[i]);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

double lat_pct_us(struct lat *l, double pct)
{
	if (!l->n)
		return 0;
	qsort(l->v, l->n, sizeof *l->v, cmp_u64);
	size_t rank = (size_t)((pct / 100.0) * (double)l->n + 0.999999); /* nearest-rank */
	if (rank < 1)
		rank = 1;
	if (rank > l->n)
		rank = l->n;
	return (double)l->v[rank - 1] / 1000.0;
}

void lat_free(struct lat *l)
{
	free(l->v);
	*l = (struct lat){0};
}

/* ---- JSON ---- */

static const char *ws_(const char *p, const char *end)
{
	while (p && p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static const char *skip_str(const char *p, const char *end)
{
	if (p >= end || *p != '"')
		return NULL;
	for (p++; p < end; p++) {
		if (*p == '\\') {
			p++;
			continue;
		}
		if (*p == '"')
			return p + 1;
	}
	return NULL;
}

const char *js_skip(const char *p, const char *end)
{
	p = ws_(p, end);
	if (!p || p >= end)
		return NULL;
	if (*p == '"')
		return skip_str(p, end);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		bool obj = *p == '{';
		p = ws_(p + 1, end);
		if (p < end && *p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = skip_str(ws_(p, end), end);
				p = ws_(p, end);
				if (!p || p >= end || *p != ':')
					return NULL;
				p++;
			}
			p = ws_(js_skip(p, end), end);
			if (!p || p >= end)
				return NULL;
			if (*p == close)
				return p + 1;
			if (*p != ',')
				return NULL;
			p++;
		}
	}
	/* number, true, false, null */
	const char *s = p;
	while (p < end && (strchr("+-.eE", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
		p++;
	return p > s ? p : NULL;
}

const char *js_get(const char *obj, const char *end, const char *key)
{
	const char *p = ws_(obj, end);
	if (!p || p >= end || *p != '{')
		return NULL;
	size_t klen = strlen(key);
	p = ws_(p + 1, end);
	if (p < end && *p == '}')
		return NULL;
	for (;;) {
		p = ws_(p, end);
		const char *k = p;
		p = skip_str(p, end);
		if (!p)
			return NULL;
		bool match = (size_t)(p - k) == klen + 2 && memcmp(k + 1, key, klen) == 0;
		p = ws_(p, end);
		if (p >= end || *p != ':')
			return NULL;
		p = ws_(p + 1, end);
		if (match)
			return p;
		p = ws_(js_skip(p, end), end);
		if (!p || p >= end || *p != ',')
			return NULL;
		p++;
	}
}

const char *js_at(const char *arr, const char *end, size_t idx)
{
	const char *p = ws_(arr, end);
	if (!p || p >= end || *p != '[')
		return NULL;
	p = ws_(p + 1, end);
	if (p < end && *p == ']')
		return NULL;
	for (size_t i = 0;; i++) {
		p = ws_(p, end);
		if (i == idx)
			return p;
		p = ws_(js_skip(p, end), end);
		if (!p || p >= end || *p != ',')
			return NULL;
		p++;
	}
}

long js_len(const char *arr, const char *end)
{
	const char *p = ws_(arr, end);
	if (!p || p >= end || *p != '[')
		return -1;
	p = ws_(p + 1, end);
	if (p < end && *p == ']')
		return 0;
	for (long n = 1;; n++) {
		p = ws_(js_skip(p, end), end);
		if (!p || p >= end)
			return -1;
		if (*p == ']')
			return n;
		if (*p != ',')
			return -1;
		p++;
	}
}

bool js_str_eq(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);
	return p && p + n + 2 <= end && p[0] == '"' && memcmp(p + 1, s, n) == 0 && p[n + 1] == '"';
}

bool js_str_copy(const char *p, const char *end, char *out, size_t cap)
{
	if (!p || p >= end || *p != '"')
		return false;
	size_t n = 0;
	for (p++; p < end && *p != '"'; p++) {
		char c = *p;
		if (c == '\\') {
			if (++p >= end || !strchr("\"\\/", *p))
				return false; /* batons and values here never need other escapes */
			c = *p;
		}
		if (n + 1 >= cap)
			return false;
		out[n++] = c;
	}
	if (p >= end)
		return false;
	out[n] = 0;
	return true;
}

bool js_int(const char *p, const char *end, long long *out)
{
	if (!p || p >= end)
		return false;
	bool quoted = *p == '"';
	if (quoted)
		p++;
	char *e;
	errno = 0;
	long long v = strtoll(p, &e, 10);
	if (e == p || errno || e > end || (quoted && (e >= end || *e != '"')))
		return false;
	*out = v;
	return true;
}

bool js_is_null(const char *p, const char *end)
{
	return p && p + 4 <= end && memcmp(p, "null", 4) == 0;
}

const char *js_path(const char *p, const char *end, const char *path)
{
	char part[64];
	while (p && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof part)
			return NULL;
		memcpy(part, path, n);
		part[n] = 0;
		path += n + (path[n] == '.');
		if (part[0] >= '0' && part[0] <= '9')
			p = js_at(p, end, (size_t)atol(part));
		else
			p = js_get(p, end, part);
	}
	return p;
}
