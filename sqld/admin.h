/* admin: the admin API on --admin-listen-addr (PROTOCOL.md §6.3):
 *   POST   /v1/namespaces/:ns/create       body: optional config fields (ns.h)
 *   DELETE /v1/namespaces/:ns
 *   POST   /v1/namespaces/:ns/fork/:to
 *   GET    /v1/namespaces/:ns/config       POST: set the fields given
 *   GET    /v1/namespaces/:ns/stats
 *   POST   /v1/namespaces/:ns/checkpoint
 *   GET    /metrics                        Prometheus text (metrics.h)
 *   GET    /health
 * With --admin-auth-key K every request needs `Authorization: Basic K` or
 * `Bearer K` (scheme case-insensitive, exact compare of K) else 401.
 * Answers are JSON ({"error": "..."} on failure: 400 invalid name or body,
 * 404 no such namespace, 409 exists already, 500 otherwise).
 *
 * net owns the sockets and calls admin_handle with a complete request, on a
 * worker thread (a fork copies the database before it answers; the network
 * thread keeps serving meanwhile). admin_handle is safe from any thread. */
#ifndef SQLWIRE_ADMIN_H
#define SQLWIRE_ADMIN_H
#include "buf.h"
#include <stdbool.h>
#include <stddef.h>

enum admin_method { ADMIN_GET, ADMIN_POST, ADMIN_DELETE, ADMIN_OTHER };

struct admin_resp {
	int status;
	const char *ctype; /* static */
	struct buf body;   /* the caller frees it */
};

/* key NULL: everyone may. authorization: the header's value or NULL. */
bool admin_authorized(const char *key, const char *authorization);
/* True when the route takes a request body (net collects it first). */
bool admin_wants_body(enum admin_method m, const char *path, size_t plen);
void admin_handle(enum admin_method m, const char *path, size_t plen, const char *body, size_t n,
		  struct admin_resp *r);
#endif
