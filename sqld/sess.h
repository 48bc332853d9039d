/* sess: Hrana sessions — WebSocket connections with their streams, stored SQL
 * and cursors, and Hrana-over-HTTP streams named by batons (PROTOCOL.md §2-4).
 *
 * sess turns decoded requests (the model of proto/hrana.h) into jobs on the
 * worker threads, one job at a time per stream so a stream's requests run in
 * order, and hands model responses back to the transport through struct
 * sess_ops. It never sees bytes or an encoding.
 *
 * Thread: everything here runs on the network thread, except the bodies of
 * jobs, which run on workers and touch only their own stream's connection.
 *
 * Ownership: each entry point takes an arena (heap-allocated with
 * sess_arena_new) that holds the decoded request; sess frees it when the
 * request is answered. The transport's per-connection pointer ("owner") must
 * stay valid until it calls sess_ws_gone / sess_call_cancel. */
#ifndef SQLWIRE_SESS_H
#define SQLWIRE_SESS_H
#include "arena.h"
#include "buf.h"
#include "hrana.h"
#include <stdbool.h>
#include <stddef.h>

struct ns;
struct cfg;
struct sess_ws;
struct sess_call;

/* What an HTTP call produced. Exactly one of the pointers is set. */
struct sess_http_out {
	int status;                                /* HTTP status */
	const char *text;                          /* protocol error: text/plain body */
	const char *generic_error;                 /* {"error": "..."} body */
	const struct hr_error *error;              /* Hrana Error body (STREAM_EXPIRED, /v1 errors) */
	const struct hr_pipeline_resp *pipeline;   /* /v2, /v3 pipeline */
	const struct hr_cursor_resp *cursor_head;  /* first chunk of a cursor body ... */
	const struct hr_cursor_entry *entries;     /* ... and the entries of this chunk */
	size_t nentries;
	bool more;                                 /* cursor: call sess_call_continue for the next chunk */
	const struct hr_stmt_result *v1_execute;   /* /v1/execute */
	const struct hr_batch_result *v1_batch;    /* /v1/batch */
	const struct hr_batch_result *legacy;      /* POST / */
};

/* Encodes a server message for a WebSocket (the transport's encoding, with
 * whatever headroom it needs). Must be callable from any thread: sess calls
 * it on the worker that ran the request, so the network thread only writes. */
typedef void (*sess_ws_encoder)(struct buf *b, const struct hr_server_msg *m);

struct sess_ops {
	void (*ws_send)(void *owner, const struct hr_server_msg *m);
	/* Sends bytes made by the session's encoder (b is the encoder's output). */
	void (*ws_send_encoded)(void *owner, struct buf *b);
	void (*ws_close)(void *owner, int code, const char *reason);
	/* Called once per call, or once per chunk for cursors (out->more). */
	void (*http_out)(void *owner, const struct sess_http_out *out);
	/* The namespace a transport connection was bound to (ns.h), borrowed:
	 * sess takes its own reference for each WebSocket session and stream.
	 * Asked when a session or a stream is made. */
	struct ns *(*owner_ns)(void *owner);
};

struct sess_limits {
	const struct auth *auth; /* WebSocket hello checks (auth.h); NULL: open access */
	size_t max_response_size;
	int stream_idle_ms;   /* HTTP stream expiry */
	int max_reqs;         /* jobs in flight before HTTP gets 429 */
	const char *self_url; /* base_url, may be NULL */
};

/* Streams are bound to the namespace of the connection that made them
 * (ops->owner_ns); an HTTP baton of another namespace is an invalid baton. */
void sess_init(const struct sess_limits *lim, const struct sess_ops *ops);
/* Stops everything: closes every stream (rolling back) and waits for the
 * workers' jobs; call before work_stop(). */
void sess_shutdown(void);
void sess_tick(void); /* about once a second: expires idle HTTP streams */
size_t sess_busy_jobs(void);

struct arena *sess_arena_new(void);
void sess_arena_free(struct arena *a);

/* Authentication (auth.h): the transport checks the credential of an HTTP
 * request before it starts the call, and tells sess what the grant allows
 * (AUTH_* / EXEC_ALLOW_* bits) right before calling one of sess_http_*:
 * that call's statements run with it. Consumed by the next call; a call
 * started without it may run no statement that reads or writes (0). A
 * statement the grant forbids makes the HTTP answer 403 {"error": ...} (and
 * drops the stream); over WebSocket it is a response_error FORBIDDEN. */
void sess_set_allow(unsigned allow);
/* WebSocket: the Authorization header of the upgrade request (copied), used
 * by a hello without a jwt. Call right after sess_ws_open. */
void sess_ws_set_upgrade_auth(struct sess_ws *ws, const char *header);

/* WebSocket: version is the negotiated Hrana version (1..3). */
struct sess_ws *sess_ws_open(void *owner, int version, sess_ws_encoder encode);
void sess_ws_msg(struct sess_ws *ws, struct arena *a, const struct hr_client_msg *m);
void sess_ws_gone(struct sess_ws *ws); /* the socket is gone; no more callbacks */

/* HTTP: each returns a call handle, valid until its last http_out callback
 * (or sess_call_cancel). version: 2 or 3. */
struct sess_call *sess_http_pipeline(void *owner, int version, struct arena *a, const struct hr_pipeline_req *r);
struct sess_call *sess_http_cursor(void *owner, struct arena *a, const struct hr_cursor_req *r);
struct sess_call *sess_http_v1_execute(void *owner, struct arena *a, const struct hr_stmt *s);
struct sess_call *sess_http_v1_batch(void *owner, struct arena *a, const struct hr_batch *b);
struct sess_call *sess_http_legacy(void *owner, struct arena *a, const struct hr_stmt *stmts, size_t n);
void sess_call_continue(struct sess_call *c); /* the previous cursor chunk is sent */
void sess_call_cancel(struct sess_call *c);   /* the HTTP connection is gone */
#endif
