/* auth: see auth.h. EVP_PKEY stays in this file. */
#include "auth.h"
#include "jwt.h"
#include "log.h"
#include <ctype.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define AUTH_MAX_KEYS 64
#define AUTH_MAX_KEY_FILE (1 << 20)

struct auth {
	EVP_PKEY *keys[AUTH_MAX_KEYS];
	int nkeys;
	char *basic; /* the Basic credential, trailing '=' trimmed; NULL: none */
	char *gid;
};

static char *auth_strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		abort();
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

static size_t auth_trim_eq(const char *s, size_t n)
{
	while (n > 0 && s[n - 1] == '=')
		n--;
	return n;
}

static int auth_load_pem(struct auth *a, const char *text, struct err *e)
{
	if (strstr(text, "PRIVATE KEY"))
		return err_set(e, "the JWT key is a private key: give the public key");
	BIO *bio = BIO_new_mem_buf(text, -1);
	if (!bio)
		abort();
	EVP_PKEY *k;
	int rc = 0;
	while ((k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) != NULL) {
		if (EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
			EVP_PKEY_free(k);
			rc = err_set(e, "a JWT key is not an Ed25519 public key");
			break;
		}
		if (a->nkeys == AUTH_MAX_KEYS) {
			EVP_PKEY_free(k);
			rc = err_set(e, "more than %d JWT keys", AUTH_MAX_KEYS);
			break;
		}
		a->keys[a->nkeys++] = k;
	}
	BIO_free(bio);
	ERR_clear_error();
	if (rc == 0 && a->nkeys == 0)
		rc = err_set(e, "no PEM public key found in the JWT key");
	return rc;
}

static int auth_load_raw(struct auth *a, const char *text, struct err *e)
{
	while (isspace((unsigned char)*text))
		text++;
	size_t n = strlen(text);
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		n--;
	unsigned char raw[33];
	if (jwt_b64url_decode(text, n, raw, sizeof raw) != 32)
		return err_set(e, "the JWT key is neither PEM nor 32 bytes of unpadded base64url");
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
	if (!k) {
		ERR_clear_error();
		return err_set(e, "the JWT key is not a valid Ed25519 public key");
	}
	a->keys[a->nkeys++] = k;
	return 0;
}

int auth_new(const struct auth_opts *o, struct auth **out, struct err *e)
{
	struct auth *a = calloc(1, sizeof *a);
	if (!a)
		abort();
	if (o->jwt_key) {
		int rc = strstr(o->jwt_key, "-----BEGIN") ? auth_load_pem(a, o->jwt_key, e) : auth_load_raw(a, o->jwt_key, e);
		if (rc) {
			auth_free(a);
			return -1;
		}
	}
	if (o->http_auth) {
		if (strncasecmp(o->http_auth, "basic:", 6) != 0 || !o->http_auth[6]) {
			auth_free(a);
			return err_set(e, "--http-auth: expected basic:<base64 of user:password>");
		}
		const char *c = o->http_auth + 6;
		a->basic = auth_strndup(c, auth_trim_eq(c, strlen(c)));
	}
	if (o->gid && *o->gid)
		a->gid = auth_strndup(o->gid, strlen(o->gid));
	*out = a;
	return 0;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->nkeys; i++)
		EVP_PKEY_free(a->keys[i]);
	free(a->basic);
	free(a->gid);
	free(a);
}

char *auth_read_key_file(const char *path, struct err *e)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		err_set(e, "cannot open JWT key file %s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(AUTH_MAX_KEY_FILE + 1);
	if (!buf)
		abort();
	size_t n = fread(buf, 1, AUTH_MAX_KEY_FILE + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad || n > AUTH_MAX_KEY_FILE || memchr(buf, 0, n)) {
		free(buf);
		err_set(e, "cannot read JWT key file %s (unreadable, too large or binary)", path);
		return NULL;
	}
	buf[n] = 0;
	return buf;
}

bool auth_enabled(const struct auth *a)
{
	return a && (a->nkeys > 0 || a->basic);
}

/* ---- checks ---- */

static int auth_fail(struct err *e, int code, const char *msg)
{
	err_set(e, "%s", msg);
	return code;
}

static bool auth_list_has(char *const *l, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(l[i], s) == 0)
			return true;
	return false;
}

/* What a verified token allows on ns (PROTOCOL.md §7.2). */
static unsigned auth_token_allow(const struct auth *a, const struct jwt *t, const char *ns)
{
	if (t->has_p) {
		static const unsigned bits[JWT_P_COUNT] = {
			[JWT_P_RO] = AUTH_READ,
			[JWT_P_RW] = AUTH_READ | AUTH_WRITE,
			[JWT_P_ROA] = AUTH_READ | AUTH_ATTACH,
			[JWT_P_RWA] = AUTH_READ | AUTH_WRITE | AUTH_ATTACH,
			[JWT_P_DDL] = AUTH_READ | AUTH_WRITE,
		};
		unsigned allow = 0;
		for (int k = 0; k < JWT_P_COUNT; k++)
			if (auth_list_has(t->p[k].ns, t->p[k].nns, ns) ||
			    auth_list_has(t->p[k].tags, t->p[k].ntags, a->gid))
				allow |= bits[k];
		return allow;
	}
	if (t->id && strcmp(t->id, ns) != 0)
		return 0;
	switch (t->a) {
	case JWT_A_RO:
		return AUTH_READ;
	case JWT_A_ROA:
		return AUTH_READ | AUTH_ATTACH;
	default:
		return AUTH_READ | AUTH_WRITE;
	}
}

static bool auth_verify(const struct auth *a, const struct jwt *t)
{
	if (t->sig_len != 64)
		return false;
	bool ok = false;
	for (int i = 0; i < a->nkeys && !ok; i++) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		if (!ctx)
			abort();
		ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, a->keys[i]) == 1 &&
		     EVP_DigestVerify(ctx, t->sig, t->sig_len, (const unsigned char *)t->signing_input, t->signing_len) == 1;
		EVP_MD_CTX_free(ctx);
	}
	ERR_clear_error();
	return ok;
}

static int auth_jwt(const struct auth *a, const char *tok, size_t n, const char *ns, int64_t now,
		    struct auth_grant *out, struct err *e)
{
	if (a->nkeys == 0)
		return auth_fail(e, AUTH_E_JWT_NOT_ALLOWED, "Authentication using a JWT is not allowed");
	struct jwt t;
	struct err pe = {{0}};
	if (jwt_parse(tok, n, &t, &pe)) {
		log_debug("auth: JWT refused: %s", pe.msg);
		return auth_fail(e, AUTH_E_JWT_INVALID, "The JWT is invalid");
	}
	int rc = AUTH_OK;
	if (!auth_verify(a, &t)) {
		log_debug("auth: JWT refused: no configured key verifies its signature");
		rc = auth_fail(e, AUTH_E_JWT_INVALID, "The JWT is invalid");
	} else if (t.has_exp && t.exp < INT64_MAX - AUTH_EXP_LEEWAY_S && t.exp + AUTH_EXP_LEEWAY_S < now) {
		rc = auth_fail(e, AUTH_E_JWT_EXPIRED, "The JWT has expired");
	} else {
		out->allow = auth_token_allow(a, &t, ns);
		if (!out->allow) {
			err_set(e, "Authorization forbidden: the token grants no access to namespace `%s`", ns);
			rc = AUTH_E_FORBIDDEN;
		}
	}
	jwt_free(&t);
	return rc;
}

int auth_check_at(const struct auth *a, const char *header, const char *ns, int64_t now, struct auth_grant *out,
		  struct err *e)
{
	out->allow = 0;
	if (!ns)
		ns = AUTH_DEFAULT_NS;
	if (!auth_enabled(a)) {
		out->allow = AUTH_FULL;
		return AUTH_OK;
	}
	if (!header)
		return auth_fail(e, AUTH_E_HEADER_NOT_FOUND, "Expected authorization header but none given");
	const char *p = header;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t sl = strcspn(p, " \t");
	const char *v = p + sl;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vl = strlen(v);
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r' || v[vl - 1] == '\n'))
		vl--;
	if (sl == 0 || !p[sl])
		return auth_fail(e, AUTH_E_HEADER_MALFORMED, "The authorization header is malformed: expected `<scheme> <credential>`");
	if (sl == 6 && strncasecmp(p, "Bearer", 6) == 0)
		return auth_jwt(a, v, vl, ns, now, out, e);
	if (sl == 5 && strncasecmp(p, "Basic", 5) == 0) {
		if (!a->basic)
			return auth_fail(e, AUTH_E_BASIC_NOT_ALLOWED, "Authentication using Basic is not allowed");
		size_t cl = auth_trim_eq(v, vl);
		if (cl != strlen(a->basic) || CRYPTO_memcmp(v, a->basic, cl) != 0) /* constant time */
			return auth_fail(e, AUTH_E_BASIC_REJECTED, "Authentication using Basic was rejected");
		out->allow = AUTH_FULL;
		return AUTH_OK;
	}
	err_set(e, "The authorization scheme `%.*s` is not supported", (int)(sl > 32 ? 32 : sl), p);
	return AUTH_E_UNSUPPORTED_SCHEME;
}

int auth_check(const struct auth *a, const char *header, const char *ns, struct auth_grant *out, struct err *e)
{
	return auth_check_at(a, header, ns, (int64_t)time(NULL), out, e);
}

int auth_check_jwt(const struct auth *a, const char *jwt, const char *fallback, const char *ns,
		   struct auth_grant *out, struct err *e)
{
	if (!jwt)
		return auth_check(a, fallback, ns, out, e);
	if (!auth_enabled(a))
		return auth_check(a, NULL, ns, out, e);
	out->allow = 0;
	if (!ns)
		ns = AUTH_DEFAULT_NS;
	return auth_jwt(a, jwt, strlen(jwt), ns, (int64_t)time(NULL), out, e);
}

const char *auth_code(int fail)
{
	switch (fail) {
	case AUTH_E_HEADER_NOT_FOUND: return "AUTH_HEADER_NOT_FOUND";
	case AUTH_E_HEADER_MALFORMED: return "AUTH_HEADER_MALFORMED";
	case AUTH_E_UNSUPPORTED_SCHEME: return "AUTH_HTTP_HEADER_UNSUPPORTED_SCHEME";
	case AUTH_E_BASIC_NOT_ALLOWED: return "AUTH_BASIC_NOT_ALLOWED";
	case AUTH_E_BASIC_REJECTED: return "AUTH_BASIC_REJECTED";
	case AUTH_E_JWT_NOT_ALLOWED: return "AUTH_JWT_NOT_ALLOWED";
	case AUTH_E_JWT_INVALID: return "AUTH_JWT_INVALID";
	case AUTH_E_JWT_EXPIRED: return "AUTH_JWT_EXPIRED";
	case AUTH_E_FORBIDDEN: return "FORBIDDEN";
	default: return "AUTH_FAILED";
	}
}

int auth_http_status(int fail)
{
	return fail == AUTH_E_FORBIDDEN ? 403 : 401;
}

const char *auth_forbidden_msg(char *buf, unsigned n, const char *ns, unsigned needed)
{
	snprintf(buf, n, "Authorization forbidden: the credential has no %s permission on namespace `%s`",
		 needed & AUTH_ATTACH ? "attach" : needed & AUTH_WRITE ? "write" : "read", ns ? ns : AUTH_DEFAULT_NS);
	return buf;
}
