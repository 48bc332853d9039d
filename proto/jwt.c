/* jwt: see jwt.h. json_t never leaves this file. */
#include "jwt.h"
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JWT_MAX_LIST 1024 /* entries in one ns/tags array of `p` */

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long jwt_b64url_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
	if (n % 4 == 1)
		return -1;
	size_t outlen = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	if (outlen > cap || outlen > LONG_MAX)
		return -1;
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) /* the bits left over must be zero (canonical form) */
		return -1;
	return (long)o;
}

/* Decodes one part into a malloc'd buffer (NUL-terminated for JSON). */
static unsigned char *jwt_part(const char *s, size_t n, size_t *len)
{
	unsigned char *p = malloc(n / 4 * 3 + 4);
	if (!p)
		return NULL;
	long r = jwt_b64url_decode(s, n, p, n / 4 * 3 + 3);
	if (r < 0) {
		free(p);
		return NULL;
	}
	p[r] = 0;
	*len = (size_t)r;
	return p;
}

static json_t *jwt_json(const char *s, size_t n)
{
	size_t len = 0;
	unsigned char *p = jwt_part(s, n, &len);
	if (!p)
		return NULL;
	json_error_t je;
	json_t *j = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &je);
	free(p);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static char *jwt_strdup(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

/* An array of strings into *out / *n. Returns -1 if v is not one. */
static int jwt_strings(json_t *v, char ***out, size_t *n)
{
	if (!json_is_array(v) || json_array_size(v) > JWT_MAX_LIST)
		return -1;
	size_t cnt = json_array_size(v);
	char **arr = calloc(cnt ? cnt : 1, sizeof *arr);
	if (!arr)
		return -1;
	*out = arr;
	*n = 0;
	for (size_t i = 0; i < cnt; i++) {
		json_t *s = json_array_get(v, i);
		if (!json_is_string(s))
			return -1;
		if (!(arr[i] = jwt_strdup(json_string_value(s))))
			return -1;
		(*n)++;
	}
	return 0;
}

static void jwt_plist_free(struct jwt_plist *l)
{
	for (size_t i = 0; i < l->nns; i++)
		free(l->ns[i]);
	for (size_t i = 0; i < l->ntags; i++)
		free(l->tags[i]);
	free(l->ns);
	free(l->tags);
	memset(l, 0, sizeof *l);
}

void jwt_free(struct jwt *j)
{
	if (!j)
		return;
	free(j->sig);
	free(j->id);
	for (int k = 0; k < JWT_P_COUNT; k++)
		jwt_plist_free(&j->p[k]);
	memset(j, 0, sizeof *j);
}

static int jwt_claims(json_t *c, struct jwt *out, struct err *e)
{
	json_t *v;
	if ((v = json_object_get(c, "exp")) != NULL) {
		if (!json_is_number(v))
			return err_set(e, "the exp claim is not a number");
		out->has_exp = true;
		if (json_is_integer(v)) {
			out->exp = (int64_t)json_integer_value(v);
		} else {
			double d = json_real_value(v);
			if (!isfinite(d) || d < -9.2e18 || d > 9.2e18)
				return err_set(e, "the exp claim is out of range");
			out->exp = (int64_t)d;
		}
	}
	if ((v = json_object_get(c, "id")) != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return err_set(e, "the id claim is not a string");
		if (!(out->id = jwt_strdup(json_string_value(v))))
			return err_set(e, "out of memory");
	}
	if ((v = json_object_get(c, "a")) != NULL && !json_is_null(v)) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";
		if (strcmp(s, "ro") == 0)
			out->a = JWT_A_RO;
		else if (strcmp(s, "rw") == 0)
			out->a = JWT_A_RW;
		else if (strcmp(s, "roa") == 0)
			out->a = JWT_A_ROA;
		else
			return err_set(e, "the a claim is not one of ro, rw, roa");
	}
	if ((v = json_object_get(c, "p")) != NULL && !json_is_null(v)) {
		static const char *const kinds[JWT_P_COUNT] = {"ro", "rw", "roa", "rwa", "ddl"};
		if (!json_is_object(v))
			return err_set(e, "the p claim is not an object");
		out->has_p = true;
		for (int k = 0; k < JWT_P_COUNT; k++) {
			json_t *o = json_object_get(v, kinds[k]);
			if (!o || json_is_null(o))
				continue;
			if (!json_is_object(o))
				return err_set(e, "p.%s is not an object", kinds[k]);
			json_t *ns = json_object_get(o, "ns"), *tags = json_object_get(o, "tags");
			if (ns && !json_is_null(ns) && jwt_strings(ns, &out->p[k].ns, &out->p[k].nns))
				return err_set(e, "p.%s.ns is not an array of strings", kinds[k]);
			if (tags && !json_is_null(tags) && jwt_strings(tags, &out->p[k].tags, &out->p[k].ntags))
				return err_set(e, "p.%s.tags is not an array of strings", kinds[k]);
		}
	}
	return 0;
}

int jwt_parse(const char *tok, size_t n, struct jwt *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	if (n == 0)
		return err_set(e, "the token is empty"), JWT_E_FORMAT;
	if (n > JWT_MAX_LEN)
		return err_set(e, "the token is too long"), JWT_E_FORMAT;
	const char *d1 = memchr(tok, '.', n);
	const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - tok)) : NULL;
	if (!d1 || !d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - tok)))
		return err_set(e, "the token does not have three parts"), JWT_E_FORMAT;
	const char *end = tok + n;
	json_t *h = jwt_json(tok, (size_t)(d1 - tok));
	if (!h)
		return err_set(e, "the token header is not base64url of a JSON object"), JWT_E_FORMAT;
	int rc = 0;
	json_t *alg = json_object_get(h, "alg"), *typ = json_object_get(h, "typ");
	if (!json_is_string(alg)) {
		rc = JWT_E_FORMAT, err_set(e, "the token header has no alg");
		goto out_h;
	}
	if (typ && !json_is_string(typ)) {
		rc = JWT_E_FORMAT, err_set(e, "the token header's typ is not a string");
		goto out_h;
	}
	const char *an = json_string_value(alg);
	size_t al = strlen(an);
	if (al >= sizeof out->alg_name)
		al = sizeof out->alg_name - 1;
	memcpy(out->alg_name, an, al);
	out->alg_name[al] = 0;
	out->alg = strcmp(an, "EdDSA") == 0 ? JWT_ALG_EDDSA : JWT_ALG_OTHER;
	if (json_object_get(h, "crit")) {
		rc = JWT_E_ALG, err_set(e, "the token header has crit extensions");
		goto out_h;
	}
	json_t *c = jwt_json(d1 + 1, (size_t)(d2 - d1 - 1));
	if (!c) {
		rc = JWT_E_FORMAT, err_set(e, "the token claims are not base64url of a JSON object");
		goto out_h;
	}
	if (jwt_claims(c, out, e)) {
		rc = JWT_E_FORMAT;
		goto out_c;
	}
	out->sig = jwt_part(d2 + 1, (size_t)(end - d2 - 1), &out->sig_len);
	if (!out->sig) {
		rc = JWT_E_FORMAT, err_set(e, "the token signature is not base64url");
		goto out_c;
	}
	if (out->alg != JWT_ALG_EDDSA) {
		rc = JWT_E_ALG, err_set(e, "the token algorithm %s is not supported (EdDSA only)", out->alg_name);
		goto out_c;
	}
	out->signing_input = tok;
	out->signing_len = (size_t)(d2 - tok);
out_c:
	json_decref(c);
out_h:
	json_decref(h);
	if (rc) {
		char name[sizeof out->alg_name];
		memcpy(name, out->alg_name, sizeof name);
		enum jwt_alg a = out->alg;
		jwt_free(out);
		memcpy(out->alg_name, name, sizeof name); /* kept for messages */
		out->alg = a;
	}
	return rc;
}
