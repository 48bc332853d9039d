/* jwt: the compact serialization of a JSON Web Token (RFC 7515/7519) as
 * libSQL uses it (PROTOCOL.md §7.2), parsed but NOT verified: this module
 * splits the token, decodes base64url, reads the header and the claims
 * (jansson stays inside jwt.c) and hands back the signing input and the
 * signature bytes for the caller (sqld/auth.c) to verify with the key.
 *
 * Pure and allocation-bounded: no global state, no clock, no keys; safe on
 * any thread; a fuzz target drives jwt_parse (tests/fuzz/fuzz_jwt.c).
 *
 * FORMAT (compact JWS):  B64URL(header) "." B64URL(claims) "." B64URL(sig)
 *   B64URL: RFC 4648 §5 alphabet (A-Z a-z 0-9 - _), no '=' padding, no
 *   whitespace; a length of 4k+1 characters is invalid.
 *   header: a JSON object; "alg" a string (required), "typ" optional
 *           string, "crit" must be absent (we understand no extension).
 *   claims: a JSON object; every claim optional:
 *     exp  number, Unix seconds (fractions are truncated)
 *     id   string: the one namespace a legacy token is for
 *     a    "ro" | "rw" | "roa"
 *     p    object with keys among "ro","rw","roa","rwa","ddl", each an
 *          object {"ns": [string...], "tags": [string...]} (both optional);
 *          other keys of p are ignored
 *     other claims are ignored.
 *   sig:   the signature bytes (64 for Ed25519; the length is checked by
 *          the verifier, not here).
 * The signing input is the first two parts with their dot, as sent. */
#ifndef SQLWIRE_JWT_H
#define SQLWIRE_JWT_H
#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JWT_MAX_LEN 16384 /* longer tokens are refused before any decoding */

enum jwt_alg { JWT_ALG_OTHER = 0, JWT_ALG_EDDSA };

/* the legacy `a` claim */
enum jwt_access { JWT_A_NONE = 0, JWT_A_RO, JWT_A_RW, JWT_A_ROA };

/* the kinds of the `p` claim */
enum jwt_pkind { JWT_P_RO = 0, JWT_P_RW, JWT_P_ROA, JWT_P_RWA, JWT_P_DDL, JWT_P_COUNT };

struct jwt_plist {
	char **ns;      /* namespaces (malloc'd strings) */
	size_t nns;
	char **tags;    /* group tags */
	size_t ntags;
};

struct jwt {
	enum jwt_alg alg;
	char alg_name[24];          /* as sent, truncated (for messages) */
	const char *signing_input;  /* borrowed from the token passed to jwt_parse */
	size_t signing_len;
	unsigned char *sig;         /* decoded signature (malloc'd) */
	size_t sig_len;
	/* claims */
	bool has_exp;
	int64_t exp;
	char *id;                   /* NULL when absent */
	enum jwt_access a;          /* JWT_A_NONE when absent */
	bool has_p;
	struct jwt_plist p[JWT_P_COUNT];
};

/* Error codes of jwt_parse. */
#define JWT_E_FORMAT (-1) /* not three base64url parts, bad JSON, wrong claim types */
#define JWT_E_ALG (-2)    /* well-formed, but alg is not EdDSA (or crit present) */

/* Parses tok[0..n) (need not be NUL-terminated; it must outlive *out, since
 * signing_input points into it). Returns 0 with *out filled (release with
 * jwt_free), or JWT_E_FORMAT / JWT_E_ALG with a message in *e and *out
 * holding nothing to free. */
int jwt_parse(const char *tok, size_t n, struct jwt *out, struct err *e);
void jwt_free(struct jwt *j); /* accepts a zeroed struct */

/* Decodes unpadded base64url s[0..n) into out (room for cap bytes).
 * Returns the decoded length, or -1 if s is not canonical base64url
 * (bad character, '=' padding, 4k+1 length, non-zero trailing bits) or
 * does not fit. */
long jwt_b64url_decode(const char *s, size_t n, unsigned char *out, size_t cap);
#endif
