/* repl_int: what the files of the repl module share. Private to
 * sqld/repl*.c; repl.h is the module's interface, and the top of repl.c
 * describes calls, session tokens, the invariants and the threads.
 *
 *   repl.c        session tokens, calls and their life, completions on the
 *                 network thread, the commit watcher, init/stop/tick
 *   repl_start.c  a call arrives: method, namespace, token, message; Hello
 *   repl_log.c    the worker side of ReplicationLog: BatchLogEntries (whole
 *                 or in pieces), LogEntries chunks, Snapshot chunks
 *   repl_proxy.c  Proxy: clients and their queues (network thread), Execute
 *                 and Describe (workers) */
#ifndef SQLWIRE_REPL_INT_H
#define SQLWIRE_REPL_INT_H
#include "repl.h"
#include "db.h"
#include "exec.h"
#include "frame.h"
#include "grpcweb.h"
#include "log.h"
#include "metrics.h"
#include "ns.h"
#include "replpb.h"
#include "rlog.h"
#include "sess.h"
#include "work.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define REPL_BATCH_FRAMES 1024   /* BatchLogEntries: frames per answer (then to the commit) */
#define REPL_STREAM_FRAMES 256   /* LogEntries / Snapshot: frames per chunk (~1 MB) */
#define REPL_BATCH_PIECE 256     /* BatchLogEntries answers longer than this go out in pieces */
#define REPL_MAX_MSG_LOG ((size_t)1 << 20)  /* HelloRequest / LogOffset are a few bytes */
#define REPL_MAX_MSG_PROXY ((size_t)8 << 20)
#define REPL_MAX_RESPONSE ((size_t)10 << 20) /* Proxy results, estimated like Hrana's */
#define REPL_CLIENT_IDLE_MS 30000
#define REPL_MAX_CLIENTS 512
#define REPL_MAX_CLIENT_ID 128
#define REPL_WATCH_MS 250        /* the watcher's rlog_wait bound (shutdown latency) */
#define REPL_UUID_LEN 36

#define REPL_PFX_LOG "/wal_log.ReplicationLog/"
#define REPL_PFX_PROXY "/proxy.Proxy/"

enum repl_method {
	M_NONE = 0,
	M_HELLO,
	M_LOG_ENTRIES,
	M_BATCH,
	M_SNAPSHOT,
	M_EXECUTE,
	M_DESCRIBE,
	M_DISCONNECT,
	M_CLOSE, /* internal: closes an idle proxy client's connection */
};

struct repl_client {
	char id[REPL_MAX_CLIENT_ID + 1];
	struct ns *ns;             /* the namespace it was made for (a reference) */
	struct db_conn *conn;      /* worker-owned: opened / closed by the client's jobs */
	struct repl_call *running; /* the job in flight, at most one */
	struct repl_call *qhead, *qtail;
	int64_t last_ms;
	struct repl_client *next;
};

struct repl_call {
	struct work_job w; /* first: jobs are cast back to calls */
	enum repl_method m;
	struct ns *ns;     /* the call's namespace (a reference) */
	void *owner;       /* NULL once answered or cancelled */
	struct arena *a;   /* the request: body, metadata, decoded message (owned) */
	struct arena out_a;/* results of the last run */
	struct buf out;    /* response bytes made by the last run */
	bool finished;     /* out ends the response (it holds the trailers) */
	bool submitted;
	bool queued;
	bool awaiting;
	bool waiting;
	unsigned allow;    /* the credential's grant (repl_md.allow): what proxy statements may do */
	/* replication */
	char log_id[RLOG_ID_STRLEN + 1]; /* the lineage the session token stood for */
	uint64_t next;                   /* next frame_no wanted */
	struct rlog_snap *snap;
	uint64_t snap_sent;
	bool piecewise;    /* BatchLogEntries sent in pieces, frames [next, span.end) */
	struct rlog_span span; /* pins the log file holding them (a compaction meanwhile cannot take them) */
	struct rlog_batch batch;
	/* proxy */
	struct repl_client *cl;
	struct replpb_program_req prog;
	struct replpb_describe_req desc;
	struct repl_call *qnext;
	/* every call not yet freed */
	struct repl_call *prev, *lnext;
};

struct repl_state {
	bool on;
	struct repl_ops ops;
	unsigned char secret[16];
	char generation_id[REPL_UUID_LEN + 1];
	struct repl_call *calls;
	struct repl_client *clients;
	size_t nclients;
	size_t busy; /* call jobs submitted and not done */
	bool stopping;
	/* the commit watcher; these fields are guarded by mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t watcher;
	bool watcher_started;
	bool watch_stop;
	size_t nstreams;       /* LogEntries streams alive */
	uint64_t commit_seq;   /* bumped by repl_commit_hook: some namespace committed */
	uint64_t notified_seq; /* the commit_seq the last notification covered */
	bool notify_pending;   /* the notify job is submitted and not done */
	struct work_job notify;
};
extern struct repl_state R; /* repl.c */

/* repl.c */
int64_t repl_now_ms(void);
void repl_token(const char *log_id, char out[REPL_UUID_LEN + 1]); /* the session token for a lineage */
struct repl_call *repl_call_new(enum repl_method m, struct ns *ns, void *owner, struct arena *a);
void repl_call_submit(struct repl_call *c);
void repl_call_emit(struct repl_call *c, bool more);
void repl_answer_status(void *owner, int status, const char *msg); /* an answer of trailers only */

/* repl_log.c: worker side; the answer goes to c->out */
void repl_fail(struct repl_call *c, int status, const char *msg);
void repl_finish_ok(struct repl_call *c);
void repl_run_batch(struct repl_call *c);
void repl_run_log_entries(struct repl_call *c);
void repl_run_snapshot(struct repl_call *c);

/* repl_proxy.c: clients (network thread), Execute and Describe (workers) */
struct repl_client *repl_client_find(struct ns *ns, const char *id);
void repl_client_free(struct repl_client *cl);
void repl_client_pump(struct repl_client *cl);
void repl_client_push(struct repl_client *cl, struct repl_call *c);
void repl_client_unqueue(struct repl_call *c);
void repl_client_close_later(struct repl_client *cl);
void repl_run_execute(struct repl_call *c);
void repl_run_describe(struct repl_call *c);
#endif
