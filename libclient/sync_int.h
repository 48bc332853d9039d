/* sync_int: what the parts of the sync module share (sync.c: rounds,
 * applying and the public calls; sync_rpc.c: the gRPC-web calls;
 * sync_follow.c: the interval and follow threads). Not a contract outside
 * the module. Threads and locks: see sync.c. */
#ifndef SQLWIRE_SYNC_INT_H
#define SQLWIRE_SYNC_INT_H
#include "apply.h"
#include "arena.h"
#include "buf.h"
#include "meta.h"
#include "sync.h"
#include "sync_stream.h"
#include "xport.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SYNC_DEFAULT_TIMEOUT 10000
#define SYNC_FOLLOW_IDLE_MS 1000 /* a quiet LogEntries stream is reopened this often */
#define SYNC_E_MOVED (-100) /* internal: the position moved under us; reload and refetch */
#define SYNC_CT_GRPC "application/grpc-web"
#define SYNC_SVC "/wal_log.ReplicationLog/"

struct sync {
	struct sync_opts o;
	char *db_path, *url, *auth_hdr;
	pthread_mutex_t mu;
	struct apply *ap;
	struct meta *mt;
	struct xport *x;     /* rounds (under mu) */
	char session[128];   /* under mu; the follow thread copies it under mu */
	bool has_session;
	bool has_log;        /* the lineage of the last Hello */
	uint8_t log_id[16];
	bool has_index;      /* the primary's last frame_no at the last Hello */
	uint64_t index;
	pthread_mutex_t pmu;
	pthread_cond_t pcv;
	struct meta_pos pos; /* cached position (pmu) */
	bool stop;           /* (pmu) */
	pthread_t th_interval, th_follow;
	bool run_interval, run_follow;
	bool follow_live;    /* (pmu) the follow stream is open and caught up */
	size_t mem_peak;     /* (pmu) most bytes an answer's buffers held at once (see sync_mem_peak) */
};

#define SYNC_TXN_CHUNK 256 /* frames gathered before a transaction streams into the -wal */
#define SYNC_TXN_STOP 1    /* sync_txn_frame: the rest of the answer is not needed */

/* Frames of an answer applied as they arrive (sync_txn.c). A transaction
 * of up to SYNC_TXN_CHUNK frames is gathered and applied whole once its
 * commit frame is there (sync_apply_txn: the write lock is held only for
 * the local writes); a longer one takes the write lock when the chunk
 * fills, and every later frame goes straight into the -wal, unpublished
 * until the commit frame (log order) or the end of the stream (a
 * snapshot, one transaction) comes. The checks of check_txn (page 0,
 * order, the commit frame last) run frame by frame. */
struct sync_txn {
	struct sync *s;
	bool snapshot;
	bool lock;           /* take s->mu around applies (follow thread); else mu is held */
	bool locked;         /* holding mu for an open streaming transaction */
	bool open;           /* apply_begin done: frames go to the -wal */
	bool sealed;         /* snapshot: the commit frame came (must be the last) */
	bool stopped;        /* a snapshot already applied: the rest is not needed */
	uint8_t *buf;        /* frames not yet given to apply */
	const uint8_t **ptr;
	size_t n, cap;
	uint64_t total;      /* frames of the current transaction */
	uint64_t first_no, prev_no;
	uint32_t size_after; /* of the last frame */
	struct meta_pos p;   /* the position when the streaming transaction opened */
	uint64_t napplied;   /* frames applied (whole transactions) */
};
void sync_txn_init(struct sync_txn *t, struct sync *s, bool snapshot, bool lock);
/* One frame (FRAME_SIZE bytes): 0, SYNC_TXN_STOP, or an error
 * (SYNC_E_MOVED, SYNC_E_PROTO, SYNC_E_LOCAL...); after an error call
 * sync_txn_abort. Usable as a sync_stream_fn. */
int sync_txn_frame(void *arg, const uint8_t *f, struct err *e);
/* The answer ended with an OK status: a snapshot is published; a log tail
 * without its commit frame is dropped (fetched again next time). */
int sync_txn_finish(struct sync_txn *t, struct err *e);
/* Drops what is open (frames written stay past mxFrame, unseen). */
void sync_txn_abort(struct sync_txn *t);
void sync_txn_free(struct sync_txn *t); /* aborts first */
/* Buffer bytes the transaction state holds now. */
size_t sync_txn_mem(const struct sync_txn *t);

struct sync_rpc_resp {
	int http;            /* HTTP status (sync_rpc_stream) */
	int status;          /* grpc-status */
	const char *message; /* grpc-message */
	const uint8_t **msgs; /* data frames (arena copies) */
	size_t *lens;
	size_t n, cap;
};

/* sync.c */
uint64_t sync_now_ms(void);
void sync_set_pos(struct sync *s, const struct meta_pos *p);
bool sync_stopping(struct sync *s);
bool sync_nap(struct sync *s, int ms); /* waits up to ms or until stop; true if stopping */
uint64_t sync_next_offset(const struct meta_pos *p);
/* Applies one whole transaction (mu held): 1 applied, 0 already there,
 * SYNC_E_MOVED, or an error. */
int sync_apply_txn(struct sync *s, const uint8_t *const *f, size_t n, bool snapshot, struct err *e);
/* Under the open write lock: the stored position, a pending record resolved. */
int sync_load_pos(struct sync *s, const struct apply_state *st, struct meta_pos *p, struct err *e);
/* Raises mem_peak to bytes (pmu taken inside). */
void sync_mem_note(struct sync *s, size_t bytes);
/* Tests: the most bytes the sync's answer buffers (HTTP, gRPC-web, frames
 * gathered, the applier's) held at once, summed over their peaks. */
size_t sync_mem_peak(struct sync *s);

/* sync_rpc.c (mu held, except sync_rpc_hdrs, and sync_rpc_stream on the
 * follow thread's own connection) */
size_t sync_rpc_hdrs(struct sync *s, const char *session, struct xport_hdr *h); /* h: 4 entries */
int sync_rpc_call(struct sync *s, const char *method, const struct buf *req, struct arena *a,
		  struct sync_rpc_resp *r, struct err *e);
/* A call whose answer carries frames, decoded as it arrives (mode: a
 * SYNC_STREAM_*); fn gets each frame. r gets the status (message in a) and
 * r->n the data messages. Returns 0 when the answer ended with trailers,
 * fn's non-zero return when it stopped the answer (the connection is then
 * dropped), SYNC_E_NET / SYNC_E_PROTO / SYNC_E_AUTH. extra: bytes the
 * caller's state holds, polled for the memory accounting. */
int sync_rpc_stream(struct sync *s, struct xport **x, const char *session, const char *method, const struct buf *req,
		    int mode, sync_stream_fn fn, struct sync_txn *t, struct arena *a, struct sync_rpc_resp *r,
		    struct err *e);
int sync_rpc_fail(const char *method, const struct sync_rpc_resp *r, struct err *e);
bool sync_rpc_precond(const struct sync_rpc_resp *r, const char *what);
int sync_rpc_hello(struct sync *s, struct err *e);

/* sync_follow.c: thread entry points (arg = struct sync *) */
void *sync_interval_main(void *arg);
void *sync_follow_main(void *arg);
#endif
