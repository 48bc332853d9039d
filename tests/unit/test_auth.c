/* Unit tests for sqld/auth.c: key loading (PEM, several PEM, raw base64url,
 * refusals), Ed25519 verification, expiry with its leeway, the grant rules
 * of PROTOCOL.md §7.2 (a, id, p, tags), Basic, header parsing, the failure
 * codes and statuses. Keys are generated here with OpenSSL; tokens are
 * signed here. */
#include "auth.h"
#include "exec.h"
#include "t.h"
#include <sqlite3.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1800000000

static void b64u(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = in[i] << 16;
		if (i + 1 < n)
			v |= in[i + 1] << 8;
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

static EVP_PKEY *keygen(int type)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(type, NULL);
	EVP_PKEY *k = NULL;
	EVP_PKEY_keygen_init(c);
	if (type == EVP_PKEY_RSA)
		EVP_PKEY_CTX_set_rsa_keygen_bits(c, 1024);
	EVP_PKEY_keygen(c, &k);
	EVP_PKEY_CTX_free(c);
	return k;
}

/* PEM of the public key (static buffer per slot) */
static const char *pub_pem(EVP_PKEY *k, int slot)
{
	static char buf[2][4096];
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(b, k);
	int n = BIO_read(b, buf[slot], sizeof buf[slot] - 1);
	buf[slot][n > 0 ? n : 0] = 0;
	BIO_free(b);
	return buf[slot];
}

static const char *priv_pem(EVP_PKEY *k)
{
	static char buf[4096];
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	int n = BIO_read(b, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	BIO_free(b);
	return buf;
}

static const char *raw_pub(EVP_PKEY *k)
{
	static char out[64];
	unsigned char raw[32];
	size_t n = sizeof raw;
	EVP_PKEY_get_raw_public_key(k, raw, &n);
	b64u(raw, n, out);
	return out;
}

/* "Bearer <header>.<claims>.<sig>" signed by k (EdDSA), static buffer */
static const char *bearer_alg(EVP_PKEY *k, const char *header, const char *claims)
{
	static char out[4096];
	char h[1024], c[2048], s[128];
	b64u((const unsigned char *)header, strlen(header), h);
	b64u((const unsigned char *)claims, strlen(claims), c);
	char input[3200];
	snprintf(input, sizeof input, "%s.%s", h, c);
	unsigned char sig[64];
	size_t sl = sizeof sig;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_DigestSignInit(m, NULL, NULL, NULL, k);
	EVP_DigestSign(m, sig, &sl, (const unsigned char *)input, strlen(input));
	EVP_MD_CTX_free(m);
	b64u(sig, sl, s);
	snprintf(out, sizeof out, "Bearer %s.%s", input, s);
	return out;
}

static const char *bearer(EVP_PKEY *k, const char *claims)
{
	return bearer_alg(k, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", claims);
}

static struct auth *make(const char *key, const char *basic, const char *gid)
{
	struct auth_opts o = {.jwt_key = key, .http_auth = basic, .gid = gid};
	struct auth *a = NULL;
	struct err e = {{0}};
	int rc = auth_new(&o, &a, &e);
	if (rc)
		fprintf(stderr, "auth_new: %s\n", e.msg);
	CHECK(rc == 0 && a);
	return a;
}

/* check at NOW on "default"; returns the code and the allow bits in *allow */
static int chk(struct auth *a, const char *hdr, const char *ns, unsigned *allow)
{
	struct auth_grant g = {99};
	struct err e = {{0}};
	int rc = auth_check_at(a, hdr, ns, NOW, &g, &e);
	if (rc == AUTH_OK)
		CHECK(g.allow != 0);
	else
		CHECK(e.msg[0] != 0 && g.allow == 0);
	if (allow)
		*allow = g.allow;
	return rc;
}

static EVP_PKEY *k1, *k2;

static void open_access(void)
{
	unsigned allow;
	struct auth *a = make(NULL, NULL, NULL);
	CHECK(!auth_enabled(a));
	CHECK(chk(a, NULL, "default", &allow) == AUTH_OK && allow == AUTH_FULL);
	CHECK(chk(a, "Bearer ", "default", &allow) == AUTH_OK && allow == AUTH_FULL);
	CHECK(chk(a, "garbage", "x", &allow) == AUTH_OK && allow == AUTH_FULL);
	CHECK(chk(NULL, NULL, NULL, &allow) == AUTH_OK && allow == AUTH_FULL);
	struct auth_grant g;
	struct err e;
	CHECK(auth_check_jwt(a, "not-a-jwt", NULL, NULL, &g, &e) == AUTH_OK && g.allow == AUTH_FULL);
	auth_free(a);
	auth_free(NULL);
}

static void pem_key(void)
{
	struct auth *a = make(pub_pem(k1, 0), NULL, NULL);
	CHECK(auth_enabled(a));
	unsigned allow;
	CHECK(chk(a, bearer(k1, "{}"), "default", &allow) == AUTH_OK && allow == (AUTH_READ | AUTH_WRITE));
	CHECK(chk(a, bearer(k1, "{\"a\":\"rw\"}"), "default", &allow) == AUTH_OK && allow == (AUTH_READ | AUTH_WRITE));
	CHECK(chk(a, bearer(k1, "{\"a\":\"ro\"}"), "default", &allow) == AUTH_OK && allow == AUTH_READ);
	CHECK(chk(a, bearer(k1, "{\"a\":\"roa\"}"), "default", &allow) == AUTH_OK && allow == (AUTH_READ | AUTH_ATTACH));
	/* scheme case-insensitive, extra blanks tolerated */
	char h[4096];
	snprintf(h, sizeof h, "  bEaReR   %s  ", bearer(k1, "{}") + 7);
	CHECK(chk(a, h, "default", NULL) == AUTH_OK);
	/* another key, a flipped signature bit, a truncated signature */
	CHECK(chk(a, bearer(k2, "{}"), "default", NULL) == AUTH_E_JWT_INVALID);
	snprintf(h, sizeof h, "%s", bearer(k1, "{}"));
	size_t n = strlen(h);
	h[n - 5] = h[n - 5] == 'A' ? 'B' : 'A';
	CHECK(chk(a, h, "default", NULL) == AUTH_E_JWT_INVALID);
	snprintf(h, sizeof h, "%s", bearer(k1, "{}"));
	h[strlen(h) - 4] = 0;
	CHECK(chk(a, h, "default", NULL) == AUTH_E_JWT_INVALID);
	/* the claims changed after signing */
	snprintf(h, sizeof h, "%s", bearer(k1, "{\"a\":\"ro\"}"));
	char *dot1 = strchr(h, '.'), *dot2 = strchr(dot1 + 1, '.');
	char forged[4096], c[128];
	b64u((const unsigned char *)"{\"a\":\"rw\"}", 10, c);
	snprintf(forged, sizeof forged, "%.*s.%s%s", (int)(dot1 - h), h, c, dot2);
	CHECK(chk(a, forged, "default", NULL) == AUTH_E_JWT_INVALID);
	/* wrong algorithms, even when otherwise "signed" */
	CHECK(chk(a, bearer_alg(k1, "{\"alg\":\"none\"}", "{}"), "default", NULL) == AUTH_E_JWT_INVALID);
	CHECK(chk(a, bearer_alg(k1, "{\"alg\":\"HS256\"}", "{}"), "default", NULL) == AUTH_E_JWT_INVALID);
	CHECK(chk(a, bearer_alg(k1, "{\"alg\":\"RS256\"}", "{}"), "default", NULL) == AUTH_E_JWT_INVALID);
	CHECK(chk(a, "Bearer a.b.c", "default", NULL) == AUTH_E_JWT_INVALID);
	CHECK(chk(a, "Bearer ", "default", NULL) == AUTH_E_JWT_INVALID);
	auth_free(a);
}

static void expiry(void)
{
	struct auth *a = make(pub_pem(k1, 0), NULL, NULL);
	char claims[64];
	snprintf(claims, sizeof claims, "{\"exp\":%d}", NOW + 10);
	CHECK(chk(a, bearer(k1, claims), "default", NULL) == AUTH_OK);
	snprintf(claims, sizeof claims, "{\"exp\":%d}", NOW - AUTH_EXP_LEEWAY_S); /* at the edge of the leeway */
	CHECK(chk(a, bearer(k1, claims), "default", NULL) == AUTH_OK);
	snprintf(claims, sizeof claims, "{\"exp\":%d}", NOW - AUTH_EXP_LEEWAY_S - 1);
	CHECK(chk(a, bearer(k1, claims), "default", NULL) == AUTH_E_JWT_EXPIRED);
	CHECK(chk(a, bearer(k1, "{\"exp\":9223372036854775807}"), "default", NULL) == AUTH_OK);
	CHECK(chk(a, bearer(k1, "{\"exp\":-9223372036854775807}"), "default", NULL) == AUTH_E_JWT_EXPIRED);
	/* nbf is not checked (as libSQL) */
	snprintf(claims, sizeof claims, "{\"nbf\":%d}", NOW + 1000);
	CHECK(chk(a, bearer(k1, claims), "default", NULL) == AUTH_OK);
	/* the real clock: an hour ago is expired */
	struct auth_grant g;
	struct err e;
	snprintf(claims, sizeof claims, "{\"exp\":%lld}", (long long)time(NULL) - 3600);
	CHECK(auth_check(a, bearer(k1, claims), NULL, &g, &e) == AUTH_E_JWT_EXPIRED);
	CHECK(strstr(e.msg, "expired") != NULL);
	auth_free(a);
}

static void grants(void)
{
	struct auth *a = make(pub_pem(k1, 0), NULL, "gid-7");
	unsigned allow;
	/* legacy id */
	CHECK(chk(a, bearer(k1, "{\"id\":\"db1\"}"), "db1", &allow) == AUTH_OK && allow == (AUTH_READ | AUTH_WRITE));
	CHECK(chk(a, bearer(k1, "{\"id\":\"db1\",\"a\":\"ro\"}"), "db1", &allow) == AUTH_OK && allow == AUTH_READ);
	CHECK(chk(a, bearer(k1, "{\"id\":\"db1\"}"), "default", NULL) == AUTH_E_FORBIDDEN);
	/* p decides alone when present */
	const char *p = "{\"id\":\"db1\",\"a\":\"rw\",\"p\":{\"ro\":{\"ns\":[\"db1\",\"db2\"]},\"rwa\":{\"ns\":[\"db3\"]},"
			"\"ddl\":{\"ns\":[\"db4\"]},\"roa\":{\"ns\":[\"db2\"]},\"rw\":{\"tags\":[\"gid-7\"]}}}";
	CHECK(chk(a, bearer(k1, p), "db1", &allow) == AUTH_OK && allow == (AUTH_READ | AUTH_WRITE)); /* ro + tag rw */
	struct auth *notag = make(pub_pem(k1, 0), NULL, NULL);
	CHECK(chk(notag, bearer(k1, p), "db1", &allow) == AUTH_OK && allow == AUTH_READ);
	CHECK(chk(notag, bearer(k1, p), "db2", &allow) == AUTH_OK && allow == (AUTH_READ | AUTH_ATTACH));
	CHECK(chk(notag, bearer(k1, p), "db3", &allow) == AUTH_OK && allow == AUTH_FULL);
	CHECK(chk(notag, bearer(k1, p), "db4", &allow) == AUTH_OK && allow == (AUTH_READ | AUTH_WRITE));
	CHECK(chk(notag, bearer(k1, p), "db5", NULL) == AUTH_E_FORBIDDEN);
	CHECK(chk(notag, bearer(k1, "{\"p\":{}}"), "default", NULL) == AUTH_E_FORBIDDEN);
	auth_free(notag);
	auth_free(a);
}

static void key_forms(void)
{
	/* two PEM keys: either verifies */
	char both[8192];
	snprintf(both, sizeof both, "%s%s", pub_pem(k1, 0), pub_pem(k2, 1));
	struct auth *a = make(both, NULL, NULL);
	CHECK(chk(a, bearer(k1, "{}"), "default", NULL) == AUTH_OK);
	CHECK(chk(a, bearer(k2, "{}"), "default", NULL) == AUTH_OK);
	auth_free(a);
	/* raw base64url, with surrounding whitespace */
	char raw[96];
	snprintf(raw, sizeof raw, " %s\n", raw_pub(k2));
	a = make(raw, NULL, NULL);
	CHECK(chk(a, bearer(k2, "{}"), "default", NULL) == AUTH_OK);
	CHECK(chk(a, bearer(k1, "{}"), "default", NULL) == AUTH_E_JWT_INVALID);
	auth_free(a);
	/* refusals */
	EVP_PKEY *rsa = keygen(EVP_PKEY_RSA);
	const char *bad[] = {priv_pem(k1), "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "short",
			     "YWJj", NULL};
	for (int i = 0; bad[i]; i++) {
		struct auth_opts o = {.jwt_key = bad[i]};
		struct auth *x = NULL;
		struct err e = {{0}};
		CHECK(auth_new(&o, &x, &e) == -1 && x == NULL && e.msg[0]);
	}
	struct auth_opts o = {.jwt_key = pub_pem(rsa, 0)};
	struct auth *x = NULL;
	struct err e = {{0}};
	CHECK(auth_new(&o, &x, &e) == -1 && strstr(e.msg, "Ed25519"));
	EVP_PKEY_free(rsa);
	struct auth_opts ob = {.http_auth = "digest:abc"};
	CHECK(auth_new(&ob, &x, &e) == -1);
}

static void basic(void)
{
	/* "alice:pw" = YWxpY2U6cHc= */
	struct auth *a = make(NULL, "basic:YWxpY2U6cHc=", NULL);
	unsigned allow;
	CHECK(chk(a, "Basic YWxpY2U6cHc=", "default", &allow) == AUTH_OK && allow == AUTH_FULL);
	CHECK(chk(a, "basic YWxpY2U6cHc", "default", NULL) == AUTH_OK);
	CHECK(chk(a, "Basic YWxpY2U6cHd4", "default", NULL) == AUTH_E_BASIC_REJECTED);
	CHECK(chk(a, "Basic YWxpY2U6c", "default", NULL) == AUTH_E_BASIC_REJECTED); /* a prefix is not a match */
	CHECK(chk(a, bearer(k1, "{}"), "default", NULL) == AUTH_E_JWT_NOT_ALLOWED);
	auth_free(a);
	/* JWT only: Basic is not allowed */
	a = make(pub_pem(k1, 0), NULL, NULL);
	CHECK(chk(a, "Basic YWxpY2U6cHc=", "default", NULL) == AUTH_E_BASIC_NOT_ALLOWED);
	auth_free(a);
	/* both: either works */
	a = make(pub_pem(k1, 0), "basic:YWxpY2U6cHc=", NULL);
	CHECK(chk(a, "Basic YWxpY2U6cHc=", "default", NULL) == AUTH_OK);
	CHECK(chk(a, bearer(k1, "{\"a\":\"ro\"}"), "default", &allow) == AUTH_OK && allow == AUTH_READ);
	/* WebSocket: hello.jwt, else the upgrade's header */
	struct auth_grant g;
	struct err e;
	CHECK(auth_check_jwt(a, NULL, "Basic YWxpY2U6cHc=", NULL, &g, &e) == AUTH_OK && g.allow == AUTH_FULL);
	CHECK(auth_check_jwt(a, NULL, NULL, NULL, &g, &e) == AUTH_E_HEADER_NOT_FOUND);
	CHECK(auth_check_jwt(a, bearer(k1, "{}") + 7, "Basic wrong", NULL, &g, &e) == AUTH_OK);
	CHECK(auth_check_jwt(a, "x.y.z", "Basic YWxpY2U6cHc=", NULL, &g, &e) == AUTH_E_JWT_INVALID);
	auth_free(a);
}

static void headers_and_codes(void)
{
	struct auth *a = make(pub_pem(k1, 0), NULL, NULL);
	CHECK(chk(a, NULL, "default", NULL) == AUTH_E_HEADER_NOT_FOUND);
	CHECK(chk(a, "", "default", NULL) == AUTH_E_HEADER_MALFORMED);
	CHECK(chk(a, "Bearer", "default", NULL) == AUTH_E_HEADER_MALFORMED);
	CHECK(chk(a, "Digest abc", "default", NULL) == AUTH_E_UNSUPPORTED_SCHEME);
	auth_free(a);
	CHECK_STR(auth_code(AUTH_E_HEADER_NOT_FOUND), "AUTH_HEADER_NOT_FOUND");
	CHECK_STR(auth_code(AUTH_E_JWT_INVALID), "AUTH_JWT_INVALID");
	CHECK_STR(auth_code(AUTH_E_JWT_EXPIRED), "AUTH_JWT_EXPIRED");
	CHECK_STR(auth_code(AUTH_E_BASIC_REJECTED), "AUTH_BASIC_REJECTED");
	CHECK_STR(auth_code(AUTH_E_UNSUPPORTED_SCHEME), "AUTH_HTTP_HEADER_UNSUPPORTED_SCHEME");
	CHECK_STR(auth_code(AUTH_E_FORBIDDEN), "FORBIDDEN");
	CHECK_STR(auth_code(-100), "AUTH_FAILED");
	CHECK(auth_http_status(AUTH_E_JWT_EXPIRED) == 401);
	CHECK(auth_http_status(AUTH_E_FORBIDDEN) == 403);
	char buf[200];
	CHECK(strstr(auth_forbidden_msg(buf, sizeof buf, "db1", AUTH_WRITE), "write permission on namespace `db1`"));
}


/* ---- the grant applied to statements (exec.h "access") ---- */

static int test_authorizer(void *arg, int action, const char *a1, const char *a2, const char *db, const char *trig)
{
	(void)arg, (void)a1, (void)a2, (void)db, (void)trig;
	return action == SQLITE_ATTACH && !exec_attach_allowed() ? SQLITE_DENY : SQLITE_OK;
}

/* runs sql with exec_stmt; returns 0 ok, 1 FORBIDDEN, 2 other error */
static int run(sqlite3 *db, const char *sql)
{
	struct arena a;
	arena_init(&a);
	struct hr_stmt st = {.sql = sql, .want_rows = true};
	struct hr_stmt_result *r = NULL;
	struct hr_error err = {0};
	int rc = exec_stmt(db, &st, NULL, &a, &r, &err);
	int out = rc == 0 ? 0 : strcmp(err.code, HR_E_FORBIDDEN) == 0 ? 1 : 2;
	if (out == 2)
		fprintf(stderr, "%s: %s %s\n", sql, err.code, err.message);
	arena_free(&a);
	return out;
}

static void exec_access(void)
{
	sqlite3 *db;
	CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	sqlite3_set_authorizer(db, test_authorizer, NULL);
	exec_set_allow(EXEC_ALLOW_ALL);
	CHECK(run(db, "CREATE TABLE t(x)") == 0);
	CHECK(run(db, "INSERT INTO t VALUES (1)") == 0);
	CHECK(run(db, "CREATE INDEX i0 ON t(x)") == 0);
	CHECK(!exec_take_forbidden());
	exec_set_allow(EXEC_ALLOW_READ);
	CHECK(run(db, "SELECT * FROM t") == 0);
	CHECK(!exec_take_forbidden());
	const char *writes[] = {"INSERT INTO t VALUES (2)", "UPDATE t SET x = 3", "DELETE FROM t", "CREATE TABLE u(y)",
				"DROP TABLE t", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE", "PRAGMA user_version = 3",
				"CREATE INDEX i ON t(x)", "ALTER TABLE t ADD COLUMN z", "REINDEX", "VACUUM",
				"VACUUM INTO '/tmp/sqlwire-test-auth-vacuum.db'", "CREATE TEMP TABLE tt(x)", NULL};
	for (int i = 0; writes[i]; i++) {
		int r = run(db, writes[i]);
		if (r != 1)
			fprintf(stderr, "not refused: %s\n", writes[i]);
		CHECK(r == 1);
		CHECK(exec_take_forbidden());
		CHECK(!exec_take_forbidden()); /* cleared */
	}
	/* the INSERT was prepared and cached with write access above: the cache
	 * does not skip the check */
	exec_set_allow(EXEC_ALLOW_ALL);
	CHECK(run(db, "INSERT INTO t VALUES (1)") == 0);
	exec_set_allow(EXEC_ALLOW_READ);
	CHECK(run(db, "INSERT INTO t VALUES (1)") == 1);
	const char *reads[] = {"BEGIN", "SELECT count(*) FROM t", "SAVEPOINT s", "RELEASE s", "COMMIT", "PRAGMA user_version", NULL};
	for (int i = 0; reads[i]; i++)
		CHECK(run(db, reads[i]) == 0);
	/* ATTACH needs the attach bit; a cached ATTACH is not reused by a lesser grant */
	CHECK(run(db, "ATTACH ':memory:' AS aux") == 1);
	CHECK(exec_take_forbidden());
	exec_set_allow(EXEC_ALLOW_READ | EXEC_ALLOW_ATTACH);
	CHECK(run(db, "ATTACH ':memory:' AS aux") == 0);
	CHECK(run(db, "DETACH aux") == 0);
	exec_set_allow(EXEC_ALLOW_READ);
	CHECK(run(db, "ATTACH ':memory:' AS aux") == 1);
	/* a grant of nothing runs nothing */
	exec_set_allow(0);
	CHECK(run(db, "SELECT 1") == 1);
	CHECK(exec_take_forbidden());
	exec_set_allow(EXEC_ALLOW_READ);
	/* sequence: refused at the write, the read before it ran */
	struct arena a;
	arena_init(&a);
	struct hr_error err = {0};
	CHECK(exec_sequence(db, "SELECT 1; INSERT INTO t VALUES (5); SELECT 2", &a, &err) == -1);
	CHECK_STR(err.code, HR_E_FORBIDDEN);
	arena_free(&a);
	CHECK(exec_take_forbidden());
	exec_set_allow(EXEC_ALLOW_ALL);
	exec_forget(db);
	sqlite3_close(db);
}

int main(void)
{
	k1 = keygen(EVP_PKEY_ED25519);
	k2 = keygen(EVP_PKEY_ED25519);
	T_RUN(open_access);
	T_RUN(pem_key);
	T_RUN(expiry);
	T_RUN(grants);
	T_RUN(key_forms);
	T_RUN(basic);
	T_RUN(headers_and_codes);
	T_RUN(exec_access);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	return T_DONE();
}
