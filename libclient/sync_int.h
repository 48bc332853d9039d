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
};

struct sync_rpc_resp {
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

/* sync_rpc.c (mu held, except sync_rpc_hdrs and sync_rpc_frame) */
size_t sync_rpc_hdrs(struct sync *s, const char *session, struct xport_hdr *h); /* h: 4 entries */
int sync_rpc_call(struct sync *s, const char *method, const struct buf *req, struct arena *a,
		  struct sync_rpc_resp *r, struct err *e);
int sync_rpc_fail(const char *method, const struct sync_rpc_resp *r, struct err *e);
bool sync_rpc_precond(const struct sync_rpc_resp *r, const char *what);
int sync_rpc_hello(struct sync *s, struct err *e);
/* Decodes one Frame message; *out (4120 bytes) lives in a. */
int sync_rpc_frame(struct arena *a, const uint8_t *p, size_t n, const uint8_t **out, struct err *e);

/* sync_follow.c: thread entry points (arg = struct sync *) */
void *sync_interval_main(void *arg);
void *sync_follow_main(void *arg);
#endif
