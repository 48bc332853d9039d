/* metrics: sqld's counters and gauges, rendered in the Prometheus text
 * exposition format (version 0.0.4) for GET /metrics on the admin listener
 * and, with --enable-metrics-on-user-port, on the user port.
 *
 * Every hook is a relaxed atomic update, callable from any thread (network,
 * workers, cap's checkpointer); errors by code take a small mutex (rare).
 * metrics_render reads the per-namespace gauges (commit position, frame-log
 * size) from the namespace registry at scrape time.
 *
 * Hook points: net (connections, requests by kind, bytes, HTTP errors), sess
 * (streams), exec's run_stmt (every execute/batch statement: latency and
 * error code; cursor steps span client fetches and are not timed), repl
 * (gRPC errors by status name), cap (checkpoints), admin. */
#ifndef SQLWIRE_METRICS_H
#define SQLWIRE_METRICS_H
#include "buf.h"
#include <stddef.h>
#include <stdint.h>

enum metrics_req {
	MR_WS_MSG = 0,  /* a Hrana request message over WebSocket */
	MR_PIPELINE,    /* /v2|/v3 pipeline */
	MR_CURSOR,      /* /v3/cursor */
	MR_V1_EXECUTE,
	MR_V1_BATCH,
	MR_LEGACY,      /* POST / */
	MR_REPLICATION, /* wal_log.ReplicationLog methods */
	MR_PROXY,       /* proxy.Proxy methods */
	MR_DUMP,
	MR_ADMIN,
	MR_OTHER,       /* probes, health, metrics, 404s */
	MR_COUNT
};

#define METRICS_MAX_CODES 64 /* distinct error codes kept; later ones count as "OTHER" */

void metrics_request(enum metrics_req k);
void metrics_conn(int delta);   /* open client connections (user port) */
void metrics_stream(int delta); /* open Hrana streams */
/* One statement ran for us microseconds; code: its error code, NULL if ok. */
void metrics_stmt(int64_t us, const char *code);
void metrics_error(const char *code); /* an error answered to a client */
void metrics_checkpoint(int64_t us);
void metrics_bytes_in(size_t n);
void metrics_bytes_out(size_t n);
int64_t metrics_now_us(void); /* monotonic */

/* Appends the whole exposition to b. */
void metrics_render(struct buf *b);
/* For tests: every counter back to zero. */
void metrics_reset(void);
#endif
