/* net_int: what the files of the net module share. Private to sqld/net*.c;
 * net.h is the module's interface, and the top of net.c describes the routes,
 * the connection model and the module's invariants.
 *
 *   net.c        the libwebsockets context, the user listener (and its TLS),
 *                the one callback, the service loop, shutdown
 *   net_out.c    HTTP responses: queueing, the writer, sess/repl/dump answers
 *   net_http.c   HTTP requests: routing, namespace, authentication, bodies
 *   net_ws.c     Hrana over WebSocket: upgrade, receive, send queue, close
 *   net_admin.c  the admin listener: its vhost and its requests (on workers)
 *   net_ns.c     a namespace's first open, on a worker, and what waits for it
 *
 * Threads: everything here runs on the service thread (the caller of
 * net_run), except net_ws_encode/net_ws_encode_pb (pure, called by workers)
 * and the work_job run functions of admin and namespace jobs (workers). */
#ifndef SQLWIRE_NET_INT_H
#define SQLWIRE_NET_INT_H
#include "net.h"
#include "admin.h"
#include "buf.h"
#include "chunked.h"
#include "sess.h"
#include "work.h"
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct dump_call;
struct ns;
struct net_ns_job;
struct repl_call;
#include "ns.h" /* NS_NAME_MAX */

enum net_route {
	NR_NONE = 0,
	NR_PIPE2,
	NR_PIPE3,
	NR_CURSOR3,
	NR_PIPE3PB, /* protobuf: c->pb */
	NR_CURSOR3PB,
	NR_V1_EXEC,
	NR_V1_BATCH,
	NR_LEGACY,
	NR_REPL, /* gRPC-web: repl */
	NR_ADMIN, /* the admin listener (admin.h) */
};

struct net_early { /* a WebSocket message received before its session opened */
	struct net_early *next;
	struct arena *a;
	struct hr_client_msg *m;
};

struct net_msg { /* a queued WebSocket message, LWS_PRE bytes of headroom first */
	struct net_msg *next;
	size_t len;
	unsigned char data[];
};

struct net_conn {
	struct lws *wsi;
	bool is_ws;
	bool pb; /* protobuf encoding (this HTTP request / this WebSocket) */
	bool admin;           /* on the admin listener */
	struct ns *ns;        /* the request's (HTTP) or connection's (WS) namespace, a reference */
	char nsname[NS_NAME_MAX + 1]; /* its name, known before it is open */
	struct net_ns_job *nsjob; /* its first open, on a worker (net_ns.c) */
	int ns_status;        /* after the job: 0, or the HTTP status of its failure */
	char ns_msg[600];
	struct dump_call *dcall; /* GET /dump in progress */
	struct net_admin_job *ajob; /* an admin request on a worker */
	enum admin_method ameth;
	/* HTTP */
	enum net_route route;
	struct buf body;
	bool body_overflow;
	bool body_chunked; /* Transfer-Encoding: chunked: lws passes the framing through */
	bool body_done;
	bool body_waiting;    /* the body is complete; the namespace is still opening */
	struct chunked chunk;
	struct sess_call *call;
	int status;
	const char *ctype;
	struct buf out;       /* response body; bytes [out_off, out.len) not yet written */
	size_t out_off;
	bool headers_sent;
	bool chunked;         /* cursor: Transfer-Encoding chunked, more may come */
	bool out_final;       /* no more body after out */
	bool want_continue;   /* cursor / stream: ask sess or repl for more once out is written */
	unsigned allow;       /* the request's grant (auth.h), checked at its headers */
	/* gRPC-web */
	struct repl_call *rcall;
	char *rpath;          /* the request path, and the metadata headers (NULL: absent) */
	char *md_token, *md_ns, *md_auth;
	/* WebSocket */
	struct sess_ws *ws;
	int version;
	struct buf rx;
	struct net_early *early_head, *early_tail; /* decoded while the namespace opens */
	char *upgrade_cred;   /* the upgrade's credential, until the session opens */
	struct net_msg *q_head, *q_tail;
	int close_code;
	char close_reason[124];
	bool lingering;                 /* a normal close (1000) waits: input is dropped meanwhile */
	lws_sorted_usec_list_t linger;
};

/* Admin requests run on a worker: a fork copies a database, a create or
 * delete opens or closes one, and the network thread must not wait on that. */
struct net_admin_job {
	struct work_job w; /* first */
	struct net_conn *c; /* NULL once the connection is gone */
	enum admin_method m;
	char *path;
	char *body;
	size_t n;
	struct admin_resp r;
};

/* The module's state, one instance (N, defined in net.c): service thread
 * only, but for stop (net_request_stop, async-signal-safe) and ctx, which
 * net_wake reads on workers under net.c's mutex. */
struct net_state {
	const struct cfg *cfg;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	struct lws_vhost *admin_vh; /* --admin-listen-addr, or NULL */
	int admin_port;
	size_t admin_busy; /* admin jobs submitted and not done */
	size_t ns_busy;    /* namespace open jobs submitted and not done */
	lws_sorted_usec_list_t tick;
	volatile sig_atomic_t stop;
	bool stopping;
	int nconns;
	size_t out_bytes; /* response bytes buffered, all connections */
	int port;
	bool repl_on;     /* the replication routes are served */
	const struct auth *auth; /* net_set_auth; NULL: open access */
	bool tls;
};
extern struct net_state N; /* net.c */

/* net.c */
int net_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

/* net_out.c: HTTP responses */
int net_cors(struct lws *wsi, unsigned char **p, unsigned char *end);
void net_reply(struct net_conn *c, int status, const char *ctype, const char *body, size_t n);
void net_reply_text(struct net_conn *c, int status, const char *text);
void net_reply_generic(struct net_conn *c, int status, const char *msg);
void net_reply_grpc(struct net_conn *c, int status, const char *msg);
void net_repl_forget(struct net_conn *c);
void net_repl_out(void *owner, const void *p, size_t n, bool more);  /* repl_ops */
void net_repl_out_buf(void *owner, struct buf *b);                  /* repl_ops */
void net_dump_out(void *owner, const void *p, size_t n, bool more);  /* dump_ops */
struct ns *net_owner_ns(void *owner);                                /* sess_ops */
void net_http_out(void *owner, const struct sess_http_out *o);       /* sess_ops */
int net_http_write(struct net_conn *c);

/* net_http.c: HTTP requests */
bool net_path_is(const char *uri, int len, const char *path);
#define NET_NS_LATER 1 /* net_resolve_ns: it exists, not open yet: net_ns_open_later */
int net_resolve_ns(struct lws *wsi, struct ns **out, char name[NS_NAME_MAX + 1], char *msg, size_t cap);
void net_reply_too_large(struct net_conn *c);
void net_reply_bad_chunks(struct net_conn *c);
char *net_credential(struct lws *wsi, bool grpc);
int net_http_request(struct net_conn *c, struct lws *wsi);
void net_http_body_done(struct net_conn *c);

/* net_ws.c: WebSocket */
void net_ws_encode(struct buf *b, const struct hr_server_msg *m);    /* any thread */
void net_ws_encode_pb(struct buf *b, const struct hr_server_msg *m); /* any thread */
void net_ws_send_encoded(void *owner, struct buf *b);                /* sess_ops */
void net_ws_send(void *owner, const struct hr_server_msg *m);        /* sess_ops */
void net_ws_close(void *owner, int code, const char *reason);        /* sess_ops */
void net_ws_free_queue(struct net_conn *c);
int net_ws_writeable(struct net_conn *c);
int net_ws_receive(struct net_conn *c, const void *in, size_t len);
int net_confirm_upgrade(struct net_conn *c, struct lws *wsi);
void net_ws_established(struct net_conn *c, struct lws *wsi);
void net_ws_gone(struct net_conn *c);

/* net_ns.c: a namespace's first open. net_ns_open_later: a worker opens
 * name; then, on the service thread, c->ns holds it (or c->ns_status and
 * c->ns_msg say why not) and then(c) is called. net_ns_forget: the
 * connection is going away. */
void net_ns_open_later(struct net_conn *c, const char *name, void (*then)(struct net_conn *c));
void net_ns_forget(struct net_conn *c);

/* net_admin.c: the admin listener */
int net_start_admin(const struct cfg *c, struct err *e);
void net_admin_answer(struct net_conn *c, const char *body, size_t n);
int net_admin_request(struct net_conn *c, struct lws *wsi, int meth, const char *uri, int ulen);
#endif
