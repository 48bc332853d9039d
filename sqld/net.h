/* net: the user port — HTTP/1.1 (keep-alive, chunked bodies, CORS) and
 * Hrana over WebSocket at GET /, on libwebsockets (DESIGN.md §2.6).
 *
 * One service thread (the caller of net_run) owns every socket and all of
 * sess; it never runs SQLite. Worker completions wake it through
 * lws_cancel_service. struct lws stays inside net*.c. */
#ifndef SQLWIRE_NET_H
#define SQLWIRE_NET_H
#include "err.h"

struct cfg;

struct auth;
/* The authentication every route that reaches the database checks
 * (auth.h); call before net_start. NULL or never called: open access. */
void net_set_auth(const struct auth *a);
/* Binds the listener (and the admin listener when cfg asks), starts the
 * workers and the replication services. Every request is served by the
 * namespace it names (ns.h; the registry must be initialised). */
int net_start(const struct cfg *c, struct err *e);
/* Serves until net_request_stop(); then stops accepting, finishes in-flight
 * work within the shutdown bound, rolls back open streams and returns. */
void net_run(void);
void net_request_stop(void); /* async-signal-safe */
int net_port(void);
int net_admin_port(void); /* 0 without an admin listener */
#endif
