/* Unit tests for proto/jwt.c: base64url, compact-form splitting, header and
 * claim shapes, the EdDSA-only rule. Signatures are not checked here (that
 * is auth.c's job, tests/unit/test_auth.c). */
#include "jwt.h"
#include "t.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void b64enc(const char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = a[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = a[v & 63];
	}
	out[o] = 0;
}

/* header.claims.sig with base64url of the given texts */
static char *tok(const char *header, const char *claims, const char *sig)
{
	static char buf[3][4096];
	b64enc(header, strlen(header), buf[0]);
	b64enc(claims, strlen(claims), buf[1]);
	b64enc(sig, strlen(sig), buf[2]);
	char *t = malloc(13000);
	snprintf(t, 13000, "%s.%s.%s", buf[0], buf[1], buf[2]);
	return t;
}

static int parse(const char *t, struct jwt *j)
{
	struct err e = {{0}};
	int rc = jwt_parse(t, strlen(t), j, &e);
	if (rc == 0)
		CHECK(e.msg[0] == 0);
	else
		CHECK(e.msg[0] != 0);
	return rc;
}

static void base64url(void)
{
	unsigned char out[16];
	CHECK(jwt_b64url_decode("", 0, out, sizeof out) == 0);
	CHECK(jwt_b64url_decode("YQ", 2, out, sizeof out) == 1 && out[0] == 'a');
	CHECK(jwt_b64url_decode("YWI", 3, out, sizeof out) == 2 && memcmp(out, "ab", 2) == 0);
	CHECK(jwt_b64url_decode("YWJj", 4, out, sizeof out) == 3 && memcmp(out, "abc", 3) == 0);
	CHECK(jwt_b64url_decode("-_8", 3, out, sizeof out) == 2 && out[0] == 0xfb && out[1] == 0xff);
	CHECK(jwt_b64url_decode("YQ==", 4, out, sizeof out) == -1); /* padding */
	CHECK(jwt_b64url_decode("Y", 1, out, sizeof out) == -1);    /* 4k+1 */
	CHECK(jwt_b64url_decode("YR", 2, out, sizeof out) == -1);   /* non-zero trailing bits */
	CHECK(jwt_b64url_decode("+/8", 3, out, sizeof out) == -1);  /* standard alphabet */
	CHECK(jwt_b64url_decode("YW Jj", 5, out, sizeof out) == -1);
	CHECK(jwt_b64url_decode("YWJjYWJj", 8, out, 5) == -1);       /* does not fit */
}

static void good_token(void)
{
	char *t = tok("{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}",
		      "{\"exp\":1700000000,\"id\":\"db1\",\"a\":\"ro\",\"p\":{\"rw\":{\"ns\":[\"x\",\"y\"],\"tags\":[\"g\"]},"
		      "\"roa\":{\"ns\":[]},\"other\":{\"ns\":5}},\"extra\":[1,2]}",
		      "0123456789012345678901234567890123456789012345678901234567890123");
	struct jwt j;
	CHECK(parse(t, &j) == 0);
	CHECK(j.alg == JWT_ALG_EDDSA);
	CHECK_STR(j.alg_name, "EdDSA");
	CHECK(j.has_exp && j.exp == 1700000000);
	CHECK_STR(j.id, "db1");
	CHECK(j.a == JWT_A_RO);
	CHECK(j.has_p);
	CHECK(j.p[JWT_P_RW].nns == 2 && strcmp(j.p[JWT_P_RW].ns[1], "y") == 0);
	CHECK(j.p[JWT_P_RW].ntags == 1 && strcmp(j.p[JWT_P_RW].tags[0], "g") == 0);
	CHECK(j.p[JWT_P_ROA].nns == 0);
	CHECK(j.p[JWT_P_RO].nns == 0 && j.p[JWT_P_DDL].nns == 0);
	CHECK(j.sig_len == 64 && memcmp(j.sig, "0123", 4) == 0);
	/* the signing input is header.claims as sent */
	const char *dot2 = strrchr(t, '.');
	CHECK(j.signing_input == t && j.signing_len == (size_t)(dot2 - t));
	jwt_free(&j);
	jwt_free(&j); /* a freed struct is zeroed: freeing again is harmless */
	free(t);
}

static void empty_claims(void)
{
	char *t = tok("{\"alg\":\"EdDSA\"}", "{}", "s");
	struct jwt j;
	CHECK(parse(t, &j) == 0);
	CHECK(!j.has_exp && !j.id && j.a == JWT_A_NONE && !j.has_p);
	jwt_free(&j);
	free(t);
	/* fractional exp is truncated; null id/a/p are absent */
	t = tok("{\"alg\":\"EdDSA\"}", "{\"exp\":12.9,\"id\":null,\"a\":null,\"p\":null}", "s");
	CHECK(parse(t, &j) == 0);
	CHECK(j.has_exp && j.exp == 12 && !j.id && !j.has_p);
	jwt_free(&j);
	free(t);
}

static void wrong_algorithms(void)
{
	const char *algs[] = {"{\"alg\":\"none\"}", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"alg\":\"RS256\"}",
			      "{\"alg\":\"eddsa\"}", "{\"alg\":\"EdDSA\",\"crit\":[\"b64\"]}"};
	for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
		char *t = tok(algs[i], "{}", "sig");
		struct jwt j;
		CHECK(parse(t, &j) == JWT_E_ALG);
		CHECK(j.sig == NULL && j.id == NULL);
		free(t);
	}
	/* alg none with an empty signature part */
	char h[64], c[8];
	b64enc("{\"alg\":\"none\"}", 14, h);
	b64enc("{}", 2, c);
	char t[160];
	snprintf(t, sizeof t, "%s.%s.", h, c);
	struct jwt j;
	CHECK(parse(t, &j) == JWT_E_ALG);
	CHECK_STR(j.alg_name, "none");
}

static void malformed(void)
{
	struct jwt j;
	const char *raw[] = {"", "abc", "a.b", "a.b.c.d", "...", "e30.e30", "e30.e30.e30.", "!!!.e30.e30"};
	for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
		CHECK(parse(raw[i], &j) == JWT_E_FORMAT);
	const char *bad[][2] = {
		{"[]", "{}"},                                  /* header not an object */
		{"{\"typ\":\"JWT\"}", "{}"},                   /* no alg */
		{"{\"alg\":5}", "{}"},                         /* alg not a string */
		{"{\"alg\":\"EdDSA\",\"typ\":1}", "{}"},       /* typ not a string */
		{"{\"alg\":\"EdDSA\"}", "[]"},                 /* claims not an object */
		{"{\"alg\":\"EdDSA\"}", "{\"exp\":\"soon\"}"}, /* exp not a number */
		{"{\"alg\":\"EdDSA\"}", "{\"id\":7}"},
		{"{\"alg\":\"EdDSA\"}", "{\"a\":\"rwx\"}"},
		{"{\"alg\":\"EdDSA\"}", "{\"p\":[]}"},
		{"{\"alg\":\"EdDSA\"}", "{\"p\":{\"ro\":{\"ns\":\"db\"}}}"},
		{"{\"alg\":\"EdDSA\"}", "{\"p\":{\"rw\":{\"ns\":[1]}}}"},
		{"{\"alg\":\"EdDSA\"}", "{\"p\":{\"rw\":{\"tags\":{}}}}"},
		{"{\"alg\":\"EdDSA\"}", "{\"p\":{\"rw\":true}}"},
		{"{\"alg\":\"EdDSA\"}", "{\"a\":\"ro\",\"a\":\"rw\"}"}, /* duplicate key */
		{"{\"alg\":\"EdDSA\"}", "{"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *t = tok(bad[i][0], bad[i][1], "s");
		int rc = parse(t, &j);
		if (rc != JWT_E_FORMAT)
			fprintf(stderr, "case %zu: %s %s -> %d\n", i, bad[i][0], bad[i][1], rc);
		CHECK(rc == JWT_E_FORMAT);
		free(t);
	}
	/* a signature part that is not base64url */
	char h[64], c[8], t[200];
	b64enc("{\"alg\":\"EdDSA\"}", 15, h);
	b64enc("{}", 2, c);
	snprintf(t, sizeof t, "%s.%s.ab=c", h, c);
	CHECK(parse(t, &j) == JWT_E_FORMAT);
	/* too long */
	size_t n = JWT_MAX_LEN + 1;
	char *big = malloc(n + 1);
	memset(big, 'A', n);
	big[n] = 0;
	big[10] = '.';
	big[20] = '.';
	struct err e;
	CHECK(jwt_parse(big, n, &j, &e) == JWT_E_FORMAT);
	free(big);
}

static void not_nul_terminated(void)
{
	char *t = tok("{\"alg\":\"EdDSA\"}", "{\"id\":\"x\"}", "sig");
	size_t n = strlen(t);
	char *copy = malloc(n);
	memcpy(copy, t, n); /* no NUL */
	struct jwt j;
	struct err e;
	CHECK(jwt_parse(copy, n, &j, &e) == 0);
	CHECK_STR(j.id, "x");
	jwt_free(&j);
	/* a prefix of a token is not a token */
	CHECK(jwt_parse(copy, n - 6, &j, &e) == JWT_E_FORMAT);
	free(copy);
	free(t);
}

int main(void)
{
	T_RUN(base64url);
	T_RUN(good_token);
	T_RUN(empty_claims);
	T_RUN(wrong_algorithms);
	T_RUN(malformed);
	T_RUN(not_nul_terminated);
	return T_DONE();
}
