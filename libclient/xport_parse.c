/* xport_parse: see xport_parse.h (HTTP response head, WebSocket frame
 * headers, Sec-WebSocket-Accept). Pure functions; any thread. */
#include "xport_parse.h"
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

/* Finds the end of the line starting at p[i]; returns the index of its '\n'
 * or -1 if none in [i, n). */
static long xp_eol(const char *p, size_t n, size_t i)
{
	if (i >= n)
		return -1;
	const char *nl = memchr(p + i, '\n', n - i);
	return nl ? (long)(nl - p) : -1;
}

static bool xp_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* True when the comma list v[0..n) holds token tok (case-insensitive). */
static bool xp_list_has(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return true;
	}
	return false;
}

static void xp_copy(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = 0;
}

static int xp_header(struct xp_head *h, const char *name, size_t nl, const char *v, size_t vl, bool *keep_alive)
{
#define IS(s) (nl == sizeof(s) - 1 && strncasecmp(name, s, nl) == 0)
	if (IS("content-length")) {
		if (vl == 0 || vl > 18)
			return -1;
		int64_t x = 0;
		for (size_t i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9')
				return -1;
			x = x * 10 + (v[i] - '0');
		}
		if (h->content_length >= 0 && h->content_length != x)
			return -1;
		h->content_length = x;
	} else if (IS("transfer-encoding")) {
		/* the last coding must be chunked for us to know the length */
		size_t e = vl;
		while (e > 0 && v[e - 1] != ',')
			e--;
		h->chunked = xp_list_has(v + e, vl - e, "chunked");
		if (!h->chunked)
			return -1; /* a coding we cannot undo */
	} else if (IS("connection")) {
		if (xp_list_has(v, vl, "close"))
			h->conn_close = true;
		if (xp_list_has(v, vl, "keep-alive"))
			*keep_alive = true;
		if (xp_list_has(v, vl, "upgrade"))
			h->conn_upgrade = true;
	} else if (IS("upgrade")) {
		h->upgrade_websocket = xp_list_has(v, vl, "websocket");
	} else if (IS("sec-websocket-accept")) {
		xp_copy(h->accept, sizeof h->accept, v, vl);
	} else if (IS("sec-websocket-protocol")) {
		xp_copy(h->protocol, sizeof h->protocol, v, vl);
	}
	return 0;
#undef IS
}

long xp_head_parse(const char *p, size_t n, struct xp_head *h)
{
	memset(h, 0, sizeof *h);
	h->content_length = -1;
	size_t lim = n < XP_HEAD_MAX ? n : XP_HEAD_MAX;
	long eol = xp_eol(p, lim, 0);
	if (eol < 0)
		return n >= XP_HEAD_MAX || (lim >= 7 && memcmp(p, "HTTP/1.", 7) != 0) ? -1 : 0;
	/* status line */
	size_t ll = (size_t)eol;
	if (ll && p[ll - 1] == '\r')
		ll--;
	if (ll < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return -1;
	if (ll > 12 && p[12] != ' ')
		return -1;
	h->minor = p[7] - '0';
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (h->status < 100)
		return -1;
	bool keep_alive = false;
	size_t i = (size_t)eol + 1;
	for (;;) {
		eol = xp_eol(p, lim, i);
		if (eol < 0)
			return n >= XP_HEAD_MAX ? -1 : 0;
		size_t e = (size_t)eol;
		if (e > i && p[e - 1] == '\r')
			e--;
		if (e == i) { /* empty line: end of the head */
			if (h->minor == 0 && !keep_alive)
				h->conn_close = true;
			return eol + 1;
		}
		if (p[i] == ' ' || p[i] == '\t')
			return -1; /* obs-fold */
		size_t c = i;
		while (c < e && xp_tchar(p[c]))
			c++;
		if (c == i || c == e || p[c] != ':')
			return -1;
		size_t vs = c + 1, ve = e;
		while (vs < ve && (p[vs] == ' ' || p[vs] == '\t'))
			vs++;
		while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
			ve--;
		for (size_t k = vs; k < ve; k++)
			if ((unsigned char)p[k] < 0x20 && p[k] != '\t')
				return -1;
		if (xp_header(h, p + i, c - i, p + vs, ve - vs, &keep_alive) != 0)
			return -1;
		i = (size_t)eol + 1;
	}
}

int xp_frame_parse(const uint8_t *p, size_t n, struct xp_frame *f)
{
	if (n < 2)
		return 0;
	memset(f, 0, sizeof *f);
	if (p[0] & 0x70)
		return -1;
	f->fin = (p[0] & 0x80) != 0;
	f->opcode = p[0] & 0x0f;
	if (f->opcode > 2 && (f->opcode < 8 || f->opcode > 10))
		return -1;
	f->masked = (p[1] & 0x80) != 0;
	uint64_t len = p[1] & 0x7f;
	size_t hl = 2;
	if (len == 126) {
		if (n < 4)
			return 0;
		len = (uint64_t)p[2] << 8 | p[3];
		hl = 4;
	} else if (len == 127) {
		if (n < 10)
			return 0;
		if (p[2] & 0x80)
			return -1;
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | p[i];
		hl = 10;
	}
	if (f->opcode >= 8 && (!f->fin || len > 125))
		return -1;
	if (f->masked) {
		if (n < hl + 4)
			return 0;
		memcpy(f->mask, p + hl, 4);
		hl += 4;
	}
	f->len = len;
	return (int)hl;
}

size_t xp_frame_header(uint8_t *out, int opcode, bool fin, uint64_t len, const uint8_t mask[4])
{
	size_t i = 0;
	out[i++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
	if (len < 126) {
		out[i++] = (uint8_t)(0x80 | len);
	} else if (len <= 0xffff) {
		out[i++] = 0x80 | 126;
		out[i++] = (uint8_t)(len >> 8);
		out[i++] = (uint8_t)len;
	} else {
		out[i++] = 0x80 | 127;
		for (int s = 56; s >= 0; s -= 8)
			out[i++] = (uint8_t)(len >> s);
	}
	memcpy(out + i, mask, 4);
	return i + 4;
}

void xp_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off)
{
	size_t i = 0;
	/* align to the mask phase, then 8 bytes at a time */
	while (i < n && ((off + i) & 3))
		p[i] ^= mask[(off + i) & 3], i++;
	uint64_t m8;
	uint8_t m[8];
	for (int k = 0; k < 8; k++)
		m[k] = mask[k & 3];
	memcpy(&m8, m, 8);
	for (; i + 8 <= n; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		v ^= m8;
		memcpy(p + i, &v, 8);
	}
	for (; i < n; i++)
		p[i] ^= mask[(off + i) & 3];
}

void xp_ws_accept(const char *key, char out[32])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char md[SHA_DIGEST_LENGTH];
	char in[128];
	size_t kl = strlen(key);
	if (kl > sizeof in - sizeof guid)
		kl = sizeof in - sizeof guid;
	memcpy(in, key, kl);
	memcpy(in + kl, guid, sizeof guid - 1);
	unsigned int mdlen = 0;
	EVP_Digest(in, kl + sizeof guid - 1, md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}
