/* auth: who may come in, and what they may do (PROTOCOL.md §7).
 *
 * Strategies, chosen by configuration (auth_new):
 *   none   neither a JWT key nor Basic credentials configured: every request
 *          gets full access, whatever it sends (as libSQL).
 *   JWT    EdDSA (Ed25519) only, verified with OpenSSL against each
 *          configured public key in turn; claims exp (60 s leeway), id, a, p
 *          decide the grant per namespace (below). Any other alg is refused.
 *   Basic  `--http-auth basic:<base64 user:pass>`: `Basic <same>` (trailing
 *          '=' ignored on both sides) gets full access.
 * When both JWT and Basic are configured, either credential is accepted
 * (libSQL uses only Basic then; see README).
 *
 * Grant for namespace ns from a verified token (PROTOCOL.md §7.2):
 *   `p` present: the union over its kinds naming ns in `ns` (or one of the
 *   server's LIBSQL_GID in `tags`): ro → read; rw, ddl → read+write;
 *   roa → read+attach; rwa → read+write+attach.
 *   else `id` absent or equal to ns: `a` ro → read, roa → read+attach,
 *   rw or absent → read+write; `id` naming another namespace → nothing.
 * A verified token that grants nothing on ns is AUTH_E_FORBIDDEN (403).
 *
 * The credential is the value of an Authorization header ("Bearer <jwt>",
 * "Basic <cred>", scheme case-insensitive); WebSocket hello.jwt is passed
 * as "Bearer <jwt>" (auth_check_jwt).
 *
 * Threads: auth_new/auth_free on the main thread; auth_check* from any
 * thread at once (the keys are read-only after auth_new). */
#ifndef SQLWIRE_AUTH_H
#define SQLWIRE_AUTH_H
#include "err.h"
#include <stdbool.h>
#include <stdint.h>

#define AUTH_DEFAULT_NS "default"
#define AUTH_EXP_LEEWAY_S 60

/* what a grant allows (bits); same values as exec's EXEC_ALLOW_* */
enum {
	AUTH_READ = 1,
	AUTH_WRITE = 2,
	AUTH_ATTACH = 4,
	AUTH_FULL = AUTH_READ | AUTH_WRITE | AUTH_ATTACH,
};

struct auth_grant {
	unsigned allow; /* AUTH_* bits; never 0 after a successful check */
};

/* Failures, each with its Hrana code (auth_code) and HTTP status
 * (auth_http_status). */
enum auth_fail {
	AUTH_OK = 0,
	AUTH_E_HEADER_NOT_FOUND = -1,   /* 401 AUTH_HEADER_NOT_FOUND */
	AUTH_E_HEADER_MALFORMED = -2,   /* 401 AUTH_HEADER_MALFORMED: no "<scheme> <value>" */
	AUTH_E_UNSUPPORTED_SCHEME = -3, /* 401 AUTH_HTTP_HEADER_UNSUPPORTED_SCHEME */
	AUTH_E_BASIC_NOT_ALLOWED = -4,  /* 401 AUTH_BASIC_NOT_ALLOWED */
	AUTH_E_BASIC_REJECTED = -5,     /* 401 AUTH_BASIC_REJECTED */
	AUTH_E_JWT_NOT_ALLOWED = -6,    /* 401 AUTH_JWT_NOT_ALLOWED */
	AUTH_E_JWT_INVALID = -7,        /* 401 AUTH_JWT_INVALID: format, alg, signature, key */
	AUTH_E_JWT_EXPIRED = -8,        /* 401 AUTH_JWT_EXPIRED */
	AUTH_E_FORBIDDEN = -9,          /* 403 FORBIDDEN: no permission on the namespace */
};

struct auth;

struct auth_opts {
	const char *jwt_key;    /* PEM block(s) or base64url raw key text; NULL: no JWT */
	const char *http_auth;  /* "basic:<credential>"; NULL: no Basic */
	const char *gid;        /* LIBSQL_GID for `p` tags; may be NULL */
};

/* Loads the keys. Returns 0 with *out (auth_free), or -1 with *e: a PEM
 * that is not an Ed25519 public key (a private key is refused), a raw key
 * that is not 32 bytes of base64url, an http_auth without "basic:". */
int auth_new(const struct auth_opts *o, struct auth **out, struct err *e);
void auth_free(struct auth *a); /* accepts NULL */
/* Reads a key file (for --auth-jwt-key-file) into a malloc'd string. */
char *auth_read_key_file(const char *path, struct err *e);
/* True when some strategy is configured (requests must authenticate). */
bool auth_enabled(const struct auth *a);

/* Checks an Authorization header value (NULL: none sent) for namespace ns.
 * Returns AUTH_OK with *out, or an AUTH_E_* with the reason in e->msg
 * (e.g. "The JWT has expired"). a == NULL or no strategy: full access. */
int auth_check(const struct auth *a, const char *header, const char *ns, struct auth_grant *out, struct err *e);
/* The same at a given time (Unix seconds), for tests. */
int auth_check_at(const struct auth *a, const char *header, const char *ns, int64_t now, struct auth_grant *out,
		  struct err *e);
/* WebSocket hello: jwt (NULL: absent) is taken as "Bearer <jwt>"; when it
 * is absent, fallback (the upgrade request's Authorization header, or
 * NULL) is checked instead. */
int auth_check_jwt(const struct auth *a, const char *jwt, const char *fallback, const char *ns,
		   struct auth_grant *out, struct err *e);

const char *auth_code(int fail);    /* "AUTH_JWT_EXPIRED", ...; "AUTH_FAILED" for unknown */
int auth_http_status(int fail);     /* 401 or 403 */
/* The forbidden statement message for namespace ns into buf. */
const char *auth_forbidden_msg(char *buf, unsigned n, const char *ns, unsigned needed);
#endif
