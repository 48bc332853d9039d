/* rb: sections 4-6 of `make bench` (replication lag, initial sync
 * throughput, capture overhead), built by bench/run.sh into
 * build/<variant>/bench/sqlwire-bench-repl from the C files of bench/repl plus the
 * shared bench/util.c (clocks, sockets, buffers, JSON) and bench/ws.c (the
 * Hrana 2 WebSocket client), linked against libsqld.a and libproto.a for
 * the in-process capture benchmark.
 *
 * The replication client here (gw.c) is written from PROTOCOL.md §8 and
 * REPLICA_TRAFFIC.md alone: its own HTTP/1.1 and chunked parsing, its own
 * gRPC-web framing and protobuf walking, none of sqld's codecs, so a bug in
 * those cannot hide itself. Every answer is checked; the first wrong one
 * stops the run with the request and response bytes.
 *
 * Threads: struct gw is used by one thread at a time. */
#ifndef SQLWIRE_BENCH_RB_H
#define SQLWIRE_BENCH_RB_H
#include "../bench.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RB_FRAME_SIZE 4120
#define RB_PAGE 4096

/* ---- options (main.c) ---- */
struct rb_opts {
	const char *sqld_bin;
	const char *dir;
	int lag_rounds, lag_ms, lag_pace_us;
	int sync_mb, sync_rounds;
	int cap_rounds, cap_ms;
	const char *only; /* "4", "5", "6", "45", ...: sections to run (NULL: all) */
};
extern struct rb_opts RO;

/* ---- sqld processes (proc.c) ---- */
struct sqld_proc {
	pid_t pid;
	int port;
	char dir[4096]; /* --db-path */
	char out[4200], err[4200];
};
/* Starts bin --db-path dir --http-listen-addr 127.0.0.1:0 extra... as a child
 * that dies with us (PR_SET_PDEATHSIG) and waits for its listening line. */
void sqld_spawn(struct sqld_proc *s, const char *bin, const char *dir, const char *const *extra);
/* SIGTERM and wait (up to 30 s, then SIGKILL); returns the exit status
 * (-1: killed). */
int sqld_stop(struct sqld_proc *s);
void sqld_kill(struct sqld_proc *s); /* SIGKILL and reap; accepts a stopped one */
/* Write requests and cache flushes the disks (whole devices) completed so
 * far, for everyone (/proc/diskstats). */
void rb_disk_ios(long long *writes, long long *flushes);
/* CPU time a process's threads have run (their schedstat), nanoseconds. */
uint64_t rb_cpu_ns(int pid);
extern bool rb_ok; /* set at the very end: otherwise exit prints the sqld logs' tails */

/* Contention monitor: CPU time and disk writes of processes that are not
 * ours (ours = this process and its children) between rb_snap_take and
 * rb_contention. Our fsyncs make the file system write its journal, which no
 * process is charged for, so the disk verdict uses idle probes instead
 * (rb_idle_disk: what others write while we sleep ms), one before the
 * section's measurement and one rb_contention takes after it. */
struct rb_snap {
	long long busy, ours, disk, ours_disk;
	uint64_t t;
};
void rb_snap_take(struct rb_snap *s);
double rb_idle_disk(int ms); /* MB/s written by others while we sleep */
/* Prints the "meanwhile ..." lines; returns true when contested. */
bool rb_contention(const struct rb_snap *a, double idle_before);

/* Signed samples (nanoseconds). */
struct sam {
	int64_t *v;
	size_t n, cap;
};
void sam_add(struct sam *s, int64_t ns);
double sam_pct_ms(struct sam *s, double pct); /* sorts; nearest rank */
double sam_pct_us(struct sam *s, double pct);
void sam_free(struct sam *s);

/* Verdicts, counted for the closing line. */
void rb_verdict(bool ok, bool contested);
void hexdump_to(struct bbuf *b, const void *p, size_t n, size_t max);

/* ---- gRPC-web over HTTP/1.1 (gw.c) ---- */
struct gw {
	int fd, port;
	char token[128];       /* session token from Hello ("" before) */
	struct bbuf rx;        /* socket bytes; from rx_off on not consumed */
	size_t rx_off;
	struct bbuf pl;        /* de-chunked body bytes; from pl_off on not consumed */
	size_t pl_off;
	/* the response being read */
	char head[2048];       /* its status line and headers (for reports) */
	int http_status;
	bool chunked, body_end, trailers_only, got_trailers;
	long long remain;      /* content-length body bytes left (-1: chunked) */
	int cstate;            /* chunk decoder */
	uint64_t csize;
	int grpc_status;
	char grpc_msg[512];
	/* the request last sent (for reports) */
	char method[64];
	struct bbuf req;
	bool soft;             /* stream mode: a closed socket is not fatal */
	bool closed;
	bool conn_close;       /* the response said "connection: close" */
	unsigned long calls, reconnects; /* new TCP connections after "connection: close" */
};
void gw_open(struct gw *g, int port);
void rb_recv_timeout(int fd, int secs); /* SO_RCVTIMEO (also for bench/ws.c sockets) */
void gw_close(struct gw *g);
/* Sends POST /wal_log.ReplicationLog/<method> with one gRPC-web data frame
 * holding pb[0..n), chunked like libsql's client, x-session-token when
 * known, and reads the response head (dies unless HTTP 200). */
void gw_call(struct gw *g, const char *method, const void *pb, size_t n);
/* The next gRPC-web message of the response: 1 = a data message in *p, *n
 * (valid until the next gw_* call), 0 = the trailers came (grpc_status /
 * grpc_msg set; the body is consumed, the connection reusable), -1 = the
 * connection ended (soft mode only; otherwise dies). */
int gw_msg(struct gw *g, const uint8_t **p, size_t *n);
/* gw_msg for a data message consumed as it arrives: field(arg, number,
 * bytes, length) for each top-level length-delimited field as soon as it is
 * whole (the bytes are valid until drain(arg), which comes before the buffer
 * they sit in changes, and once at the end). Only a bounded window of the
 * message is ever buffered. Returns 1 (*msg_len = the message's length), 0
 * at the trailers, -1, like gw_msg. */
typedef void (*gw_field_fn)(void *arg, uint32_t fno, const uint8_t *d, size_t dl);
int gw_msg_each(struct gw *g, gw_field_fn field, void (*drain)(void *arg), void *arg, size_t *msg_len);
/* Dies with the request, the response head and what came, for reports. */
void gw_fail(struct gw *g, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* Hello{handshake_version=1}: stores the token; returns log_id and the
 * current replication index (has_index false when the log is empty). */
struct hello {
	char log_id[64];
	bool has_index;
	uint64_t index;
};
void gw_hello(struct gw *g, struct hello *h);
/* LogOffset{next_offset} protobuf into out (<= 11 bytes); returns length. */
size_t pb_log_offset(uint8_t *out, uint64_t next_offset);

/* protobuf walking */
bool pb_varint(const uint8_t **p, const uint8_t *e, uint64_t *v);
/* One field: number, wire type, varint value or length-delimited bytes.
 * false on malformed input or wire types other than 0 and 2. */
bool pb_field(const uint8_t **p, const uint8_t *e, uint32_t *fno, int *wt, uint64_t *v, const uint8_t **d,
	      size_t *dl);
/* Frame{data=1, timestamp=2, durable_frame_no=3}: data must be 4120 bytes. */
bool pb_frame_data(const uint8_t *p, size_t n, const uint8_t **data);

static inline uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}
static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- the sections ---- */
void sec_lag(void);     /* 4: lag.c */
void sec_sync(void);    /* 5: sync.c */
void sec_capture(void); /* 6: capov.c */
#endif
