/* sync_follow: the background threads of the sync module: the interval
 * thread (a round every interval_ms) and the follow thread (LogEntries on
 * its own connection, frames applied as they arrive through sync_txn, with
 * mu taken only around the apply; a round first, to catch up and to handle
 * snapshots and lineage changes, and again whenever the stream ends). */
#include "sync_int.h"

#include "frame.h"
#include "grpcweb.h"
#include "replpb.h"
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- threads ---- */

void *sync_interval_main(void *arg)
{
	struct sync *s = arg;
	while (!sync_nap(s, s->o.interval_ms)) {
		struct err e;
		sync_pull(s, NULL, &e);
	}
	return NULL;
}

void *sync_follow_main(void *arg)
{
	struct sync *s = arg;
	struct xport *fx = NULL;
	int fails = 0;
	while (!sync_stopping(s)) {
		struct err e;
		/* catch up (Hello, snapshots, lineage changes) with a round */
		if (sync_pull(s, NULL, &e) < 0) {
			if (sync_nap(s, fails++ < 5 ? 100 : 1000))
				break;
			continue;
		}
		char session[sizeof s->session];
		pthread_mutex_lock(&s->mu);
		memcpy(session, s->session, sizeof session);
		pthread_mutex_unlock(&s->mu);
		struct meta_pos p;
		pthread_mutex_lock(&s->pmu);
		p = s->pos;
		pthread_mutex_unlock(&s->pmu);
		if (!fx && xport_http_open(s->url, SYNC_FOLLOW_IDLE_MS, &fx, &e)) {
			if (sync_nap(s, 500))
				break;
			continue;
		}
		struct buf req;
		buf_init(&req);
		struct replpb_log_offset lo = {.next_offset = sync_next_offset(&p)};
		replpb_encode_log_offset(&req, &lo);
		/* frames go to apply as they arrive (mu taken around each apply):
		 * neither a long stream nor a huge transaction is held in memory */
		struct sync_txn t;
		sync_txn_init(&t, s, false, true);
		struct arena a;
		arena_init(&a);
		struct sync_rpc_resp r;
		pthread_mutex_lock(&s->pmu);
		s->follow_live = true;
		pthread_mutex_unlock(&s->pmu);
		int rc = sync_rpc_stream(s, &fx, session, "LogEntries", &req, SYNC_STREAM_FRAME, sync_txn_frame, &t, &a, &r,
					 &e);
		pthread_mutex_lock(&s->pmu);
		s->follow_live = false;
		pthread_mutex_unlock(&s->pmu);
		sync_txn_free(&t); /* a transaction cut short is fetched again */
		arena_free(&a);
		buf_free(&req);
		bool bad = rc != 0 || r.status != GRPC_STATUS_OK; /* includes SYNC_E_MOVED: start again from the position */
		bool idle = rc == SYNC_E_NET && r.http == 200; /* a quiet stream timed out: reopen */
		if (bad && !idle) {
			if (sync_nap(s, fails++ < 5 ? 50 : 500))
				break;
		} else {
			fails = 0;
		}
	}
	xport_close(fx);
	return NULL;
}
