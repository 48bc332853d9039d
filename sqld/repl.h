/* repl: libSQL's replication services over gRPC-web on the user port
 * (PROTOCOL.md §8.2, §8.4; REPLICA_TRAFFIC.md):
 *   POST /wal_log.ReplicationLog/{Hello, BatchLogEntries, LogEntries, Snapshot}
 *   POST /proxy.Proxy/{Execute, Describe, Disconnect}
 *
 * net collects the HTTP request body (chunked or not) and hands it over with
 * the call's metadata; repl decodes the gRPC-web frame and the protobuf
 * message (proto/grpcweb, proto/replpb), runs the work on worker threads
 * (struct work_job, like sess), and answers with the bytes of a gRPC-web
 * response body: data frames and, at the end, the trailer frame with
 * grpc-status / grpc-message. Errors are trailers, never HTTP errors (the
 * HTTP status is always 200, content type application/grpc-web+proto).
 * LogEntries is a server stream that stays open and pushes frames as they
 * commit: its body comes in several chunks (out->more), and net calls
 * repl_continue once a chunk is written.
 *
 * Threads: every function here runs on the network thread; jobs run on
 * workers. The owner pointer must stay valid until the last out() call
 * (more == false) or repl_cancel(). */
#ifndef SQLWIRE_REPL_H
#define SQLWIRE_REPL_H
#include "arena.h"
#include "buf.h"
#include "err.h"
#include <stdbool.h>
#include <stddef.h>

struct db;
struct rlog;
struct repl_call;

struct repl_ops {
	/* Bytes of the response body. Called once per call, or once per chunk
	 * of a stream (more: another chunk follows after repl_continue). */
	void (*out)(void *owner, const void *p, size_t n, bool more);
	/* Optional: out(owner, b->p, b->len, false), taking b's memory instead
	 * of copying it (b is left empty). Used for whole unary bodies, which
	 * can be tens of MB (a BatchLogEntries answer holds a whole
	 * transaction). */
	void (*out_buf)(void *owner, struct buf *b);
};

struct repl_md { /* request metadata (HTTP headers); NULL when absent */
	const char *session_token; /* x-session-token */
	const char *namespace_bin; /* x-namespace-bin (base64 of the namespace) */
	const char *authorization; /* x-authorization */
	unsigned allow;            /* the grant net's auth check found (auth.h AUTH_* bits) */
};

/* Starts repl's commit watcher thread (LogEntries streams wait on it, not
 * on a worker; repl_commit_hook wakes it). Every call is served by the
 * namespace its x-namespace-bin names (ns.h): required when namespaces are
 * enabled (INVALID_ARGUMENT "Missing x-namespace-bin metadata"), a missing
 * one is FAILED_PRECONDITION "NAMESPACE_DOESNT_EXIST"; with namespaces off
 * it must decode and is ignored. Proxy clients are keyed by (namespace,
 * client_id). Session tokens are UUID strings derived from a random secret
 * made here and the namespace log's current log_id: they change on restart
 * and when the log starts a new lineage, and differ between namespaces. */
int repl_init(const struct repl_ops *ops, struct err *e);
/* cap_opts.on_commit of every namespace (ns_opts.on_commit): a capture
 * happened, LogEntries streams of that namespace may have frames. Any thread. */
void repl_commit_hook(void *arg);
/* Shutdown, first step, while net still serves: new calls get UNAVAILABLE;
 * LogEntries streams end with OK trailers (Snapshot streams with
 * UNAVAILABLE) as soon as no job of theirs is in flight; unary calls in
 * flight finish normally. Idempotent. */
void repl_stop(void);
/* Shutdown, last step, after net dropped every connection (each call was
 * cancelled): repl_stop if not done, stops the watcher thread, closes
 * every proxy connection (rolling back) and waits for repl's jobs,
 * interrupting statements (db_interrupt_all). Before work_stop(). */
void repl_shutdown(void);
void repl_tick(void); /* about once a second: closes proxy connections idle for 30 s */
size_t repl_busy_jobs(void);

/* True when path[0..n) is one of the routes above. */
bool repl_route(const char *path, size_t n);
/* Starts a call. a: heap arena from sess_arena_new holding body and md
 * (taken; freed when the call ends). Returns a handle valid until the last
 * out() (more == false) or repl_cancel; NULL if answered already. */
struct repl_call *repl_start(void *owner, const char *path, size_t plen, const struct repl_md *md, struct arena *a,
			     const unsigned char *body, size_t n);
void repl_continue(struct repl_call *c); /* the previous chunk is written */
void repl_cancel(struct repl_call *c);   /* the HTTP connection is gone */
#endif
