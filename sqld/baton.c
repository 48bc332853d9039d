/* baton: see baton.h. */
#include "baton.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static unsigned char baton_key[32];
static EVP_MAC *baton_mac_alg;
static EVP_MAC_CTX *baton_mac_ctx; /* keyed once; duplicated for each use */

int baton_init(void)
{
	if (RAND_bytes(baton_key, sizeof baton_key) != 1)
		return -1;
	if (!baton_mac_alg && !(baton_mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL)))
		return -1;
	EVP_MAC_CTX_free(baton_mac_ctx);
	baton_mac_ctx = EVP_MAC_CTX_new(baton_mac_alg);
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_construct_end()};
	if (!baton_mac_ctx || !EVP_MAC_init(baton_mac_ctx, baton_key, sizeof baton_key, params))
		return -1;
	return 0;
}

uint64_t baton_random64(void)
{
	uint64_t v;
	if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
		abort();
	return v;
}

static void baton_put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t baton_get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void baton_mac(const unsigned char *msg, unsigned char *mac)
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(baton_mac_ctx);
	size_t len = 0;
	if (!ctx || !EVP_MAC_update(ctx, msg, 16) || !EVP_MAC_final(ctx, mac, &len, 32) || len != 32)
		abort();
	EVP_MAC_CTX_free(ctx);
}

void baton_encode(uint64_t stream_id, uint64_t seq, char *out)
{
	unsigned char raw[48];
	baton_put64(raw, stream_id);
	baton_put64(raw + 8, seq);
	baton_mac(raw, raw + 16);
	/* 48 bytes encode to exactly 64 characters, no padding needed */
	EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw);
	out[BATON_TEXT_LEN] = 0;
}

int baton_decode(const char *s, size_t n, uint64_t *stream_id, uint64_t *seq)
{
	/* accept the padding-free form and a form with stray '=' (none is due) */
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n != BATON_TEXT_LEN)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return -1;
	}
	unsigned char raw[48 + 2];
	if (EVP_DecodeBlock(raw, (const unsigned char *)s, (int)n) != 48)
		return -1;
	unsigned char mac[32];
	baton_mac(raw, mac);
	if (CRYPTO_memcmp(mac, raw + 16, 32) != 0)
		return -1;
	*stream_id = baton_get64(raw);
	*seq = baton_get64(raw + 8);
	return 0;
}
