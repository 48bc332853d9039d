/* sess_int.h: what sess.c (streams, jobs, the worker side), sess_ws.c (Hrana
 * over WebSocket) and sess_http.c (Hrana over HTTP: batons, pipelines,
 * cursors, stateless calls) share. Private to the sess module; sess.h is its
 * interface. */
#ifndef SQLWIRE_SESS_INT_H
#define SQLWIRE_SESS_INT_H
#include "sess.h"
#include "work.h"
#include <stdint.h>

#define SESS_WS_MAX_SQLS 150
#define SESS_HTTP_MAX_SQLS 50
#define SESS_HTTP_MAX_SQL_LEN (5 * 1024)
#define SESS_EXPIRED_KEEP_MS (300 * 1000)
#define SESS_CURSOR_CHUNK_ENTRIES 1024
#define SESS_CURSOR_CHUNK_BYTES (64 * 1024)

struct sess_sqls { /* stored SQL texts: a small map id -> heap string */
	int32_t *ids;
	char **sqls;
	size_t n, cap;
};

enum sess_kind {
	J_OPEN = 1,   /* WS open_stream */
	J_CLOSE,      /* close the stream (WS close_stream, teardown, expiry) */
	J_REQ,        /* one WS request on the stream */
	J_CUR_OPEN,   /* WS open_cursor */
	J_CUR_FETCH,  /* WS fetch_cursor */
	J_CUR_CLOSE,  /* WS close_cursor */
	J_PIPE,       /* HTTP pipeline */
	J_HCUR,       /* HTTP cursor: one chunk per run */
	J_V1_EXEC,    /* stateless calls: open, run, close */
	J_V1_BATCH,
	J_LEGACY,
};

struct sess_stream;

/* A job, and for HTTP also the call handle (struct sess_call). */
struct sess_job {
	struct work_job w;
	enum sess_kind kind;
	struct sess_stream *st;
	struct sess_job *qnext;
	struct arena *a;   /* the request's arena (owned) */
	struct arena out;  /* results of the last run */
	/* WS */
	struct sess_ws *ws;
	int32_t request_id;
	struct hr_req *req;
	/* HTTP */
	void *owner;       /* NULL once cancelled */
	int version;
	const struct hr_pipeline_req *pipe;
	const struct hr_batch *batch; /* cursor, v1 batch, legacy */
	const struct hr_stmt *stmt;   /* v1 execute */
	size_t nlegacy;
	bool cursor_started, cursor_done, closed_stream;
	bool submitted; /* on a worker or the completion queue */
	unsigned allow;  /* what the request's credential allows (EXEC_ALLOW_*) */
	bool forbidden;  /* a statement was refused for lack of permission */
	/* outputs */
	int ok; /* 1 ok, 0 Hrana error in err */
	struct hr_error err;
	struct hr_resp resp;
	const char *proto_err; /* HTTP: protocol error -> 400 text, stream dropped */
	struct hr_pipeline_resp presp;
	struct hr_batch_result *bres;
	struct hr_stmt_result *sres;
	struct hr_cursor_entry *entries;
	size_t nentries;
	struct buf wire; /* WS: the reply, encoded on the worker */
};

struct sess_stream {
	struct ns *ns;    /* a reference, dropped when the stream is freed */
	struct db_conn *conn;
	bool open_failed; /* WS: open_stream failed; requests get STREAM_NOT_OPEN */
	bool closing;     /* close job queued: nothing else may be queued */
	struct sess_job *running, *qhead, *qtail;
	/* WS */
	struct sess_ws *ws;
	int32_t ws_id;
	bool cursor_open; /* the client's view: open_cursor seen, close_cursor not yet */
	int32_t cursor_id;
	bool blocked;     /* a cursor job has started: only cursor jobs may run */
	struct exec_cursor *cursor; /* worker-owned */
	struct arena *cursor_arena; /* holds the cursor's batch */
	/* HTTP */
	uint64_t id, seq;
	int64_t last_ms;
	struct sess_sqls sqls; /* worker-owned (only touched by this stream's jobs) */
	struct sess_job *parked;
	struct sess_stream *next; /* ws->streams or the HTTP table */
};

struct sess_ws {
	void *owner; /* NULL once gone */
	struct ns *ns; /* a reference, bound at the upgrade */
	int version;
	sess_ws_encoder encode; /* set at open, read by workers */
	bool hello;
	unsigned allow;     /* the grant of the last successful hello */
	char *upgrade_auth; /* the upgrade request's Authorization header, or NULL */
	struct sess_sqls sqls;
	struct sess_stream *streams;
	size_t nstreams_alive; /* streams not yet freed (incl. closing ones) */
	struct sess_ws *next, *prev;
};

struct sess_expired {
	uint64_t id;
	int64_t at_ms;
	struct sess_expired *next;
};

struct sess_state {
	struct sess_limits lim;
	struct sess_ops ops;
	struct sess_stream *http; /* live HTTP streams */
	struct sess_expired *expired;
	struct sess_ws *wss;
	size_t busy; /* jobs submitted and not done */
	unsigned next_allow; /* the grant for the next HTTP call (sess_set_allow) */
	bool stopping;
};
extern struct sess_state S;
extern const char *const sess_forbidden_msg; /* 403 body of a refused statement */

/* shared by sess.c, sess_ws.c and sess_http.c (network thread unless noted) */
int64_t sess_now_ms(void); /* any thread */
const char *sess_sqls_get(const struct sess_sqls *s, int32_t id);
void sess_sqls_put(struct sess_sqls *s, int32_t id, const char *sql);
void sess_sqls_del(struct sess_sqls *s, int32_t id);
void sess_sqls_free(struct sess_sqls *s);
int sess_sqls_resolve_req(const struct sess_sqls *s, struct arena *a, struct hr_req *r); /* any thread */
struct sess_job *sess_job_new(enum sess_kind kind, struct sess_stream *st, struct arena *a);
void sess_job_free(struct sess_job *j);
void sess_job_submit(struct sess_job *j);
struct sess_stream *sess_stream_new(struct ns *ns); /* takes a reference of ns */
void sess_stream_push(struct sess_stream *st, struct sess_job *j);
void sess_stream_pump(struct sess_stream *st);
void sess_stream_close(struct sess_stream *st);
void sess_stream_free(struct sess_stream *st);
/* completions, called from the job-done dispatcher in sess.c */
void sess_ws_reply(struct sess_job *j);
void sess_ws_encode_reply(struct sess_job *j); /* worker thread */
void sess_ws_maybe_free(struct sess_ws *ws);
void sess_http_unlink(struct sess_stream *st);
bool sess_http_finish_pipeline(struct sess_job *j);
void sess_http_cursor_out(struct sess_job *j);
#endif
