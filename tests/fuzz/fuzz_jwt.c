/* libFuzzer target: the JWT compact-form parser (proto/jwt.c), which reads
 * untrusted Authorization headers before any signature check.
 *
 * Invariants checked on every input:
 *   - the return code is 0, JWT_E_FORMAT or JWT_E_ALG, and a failure
 *     leaves nothing to free (sig, id, p lists NULL);
 *   - on success: alg is EdDSA, the signing input is the input up to its
 *     second dot, the signature decodes to what the third part says, the
 *     `a` claim is one of the three values, and every `p` string is a NUL-
 *     terminated copy;
 *   - jwt_b64url_decode of each part agrees with the parser (round trip
 *     through a re-encoding gives the same characters).
 * The input is copied into an exact-size buffer so a read past the end is
 * caught by ASan. */
#include "jwt.h"
#include <stdlib.h>
#include <string.h>

static void b64enc(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = a[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = a[v & 63];
	}
	out[o] = 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	char *tok = malloc(n ? n : 1);
	if (!tok)
		return 0;
	memcpy(tok, data, n);
	struct jwt j;
	struct err e;
	int rc = jwt_parse(tok, n, &j, &e);
	if (rc != 0) {
		if (rc != JWT_E_FORMAT && rc != JWT_E_ALG)
			abort();
		if (j.sig || j.id || j.has_p)
			abort();
	} else {
		if (j.alg != JWT_ALG_EDDSA || j.signing_input != tok || j.signing_len >= n)
			abort();
		const char *d2 = memrchr(tok, '.', n);
		if (!d2 || (size_t)(d2 - tok) != j.signing_len)
			abort();
		/* the third part re-encodes to itself (canonical base64url) */
		size_t sl = n - j.signing_len - 1;
		char *re = malloc(j.sig_len / 3 * 4 + 8);
		b64enc(j.sig, j.sig_len, re);
		if (strlen(re) != sl || memcmp(re, d2 + 1, sl) != 0)
			abort();
		free(re);
		if (j.a != JWT_A_NONE && j.a != JWT_A_RO && j.a != JWT_A_RW && j.a != JWT_A_ROA)
			abort();
		for (int k = 0; k < JWT_P_COUNT; k++) {
			for (size_t i = 0; i < j.p[k].nns; i++)
				(void)strlen(j.p[k].ns[i]);
			for (size_t i = 0; i < j.p[k].ntags; i++)
				(void)strlen(j.p[k].tags[i]);
			if (!j.has_p && (j.p[k].nns || j.p[k].ntags))
				abort();
		}
		if (j.id)
			(void)strlen(j.id);
		jwt_free(&j);
	}
	/* the decoder alone, on the whole input */
	unsigned char *out = malloc(n / 4 * 3 + 3);
	long m = jwt_b64url_decode(tok, n, out, n / 4 * 3 + 3);
	if (m >= 0) {
		char *re = malloc((size_t)m / 3 * 4 + 8);
		b64enc(out, (size_t)m, re);
		if (strlen(re) != n || memcmp(re, tok, n) != 0)
			abort();
		free(re);
	}
	free(out);
	free(tok);
	return 0;
}
