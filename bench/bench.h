/* bench: the benchmark client of `make bench` (bench/run.sh builds and runs it).
 *
 * One binary, sqlwire-bench, drives four targets with the same workload:
 *   sqld over WebSocket (Hrana 2, JSON)      ws.c
 *   sqld over HTTP (POST /v2/pipeline, baton) http.c
 *   the same two in Hrana 3 over protobuf    pb.c (subprotocol hrana3-protobuf,
 *                                            POST /v3-protobuf/pipeline)
 *   PostgreSQL through libpq                 pg.c
 *   SQLite in the same process               lite.c
 * and main.c prints every figure beside its baseline with the ratio.
 *
 * Every operation checks its answer (response_ok, the right request id, the
 * right row value / affected row count); the first wrong answer stops the run
 * with a message, so a figure never measures errors.
 *
 * Threads: a client object (struct ws, struct hc, struct pgc, struct lite) is
 * used by one thread at a time. */
#ifndef SQLWIRE_BENCH_H
#define SQLWIRE_BENCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_ROWS 10000
#define BENCH_VALUE_FMT "val-%d-abcdefghijklmnopqrstuvwxyz"
/* The same 10k rows in every backend: k = 1..10000, v = 'val-' || k || '-abc…z' */

/* ---- util.c ---- */
uint64_t now_ns(void);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
int tcp_connect(int port);             /* 127.0.0.1:port, TCP_NODELAY; dies on failure */
void write_all(int fd, const void *p, size_t n);
uint64_t rng_next(uint64_t *s);         /* xorshift64* */
int rand_key(uint64_t *s);              /* 1..BENCH_ROWS */
void fill_random(void *p, size_t n);    /* getrandom */

/* A growable byte buffer. */
struct bbuf {
	char *p;
	size_t len, cap;
};
void bb_reserve(struct bbuf *b, size_t extra);
void bb_add(struct bbuf *b, const void *p, size_t n);
void bb_printf(struct bbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bb_free(struct bbuf *b);

/* Latency samples in nanoseconds. */
struct lat {
	uint64_t *v;
	size_t n, cap;
};
void lat_add(struct lat *l, uint64_t ns);
void lat_merge(struct lat *dst, const struct lat *src);
double lat_pct_us(struct lat *l, double pct); /* sorts; pct in (0,100] */
void lat_free(struct lat *l);

/* Minimal JSON navigation over a NUL-terminated or length-bounded text.
 * Pointers point at the first character of a value; NULL means "not there /
 * malformed". Keys and compared strings must not need escapes. */
const char *js_skip(const char *p, const char *end);               /* past one value */
const char *js_get(const char *obj, const char *end, const char *key); /* member of an object */
const char *js_at(const char *arr, const char *end, size_t idx);    /* element of an array */
long js_len(const char *arr, const char *end);                     /* elements, -1 if not array */
bool js_str_eq(const char *p, const char *end, const char *s);     /* "s" exactly */
bool js_str_copy(const char *p, const char *end, char *out, size_t cap); /* unescapes \/ \\ \" */
bool js_int(const char *p, const char *end, long long *out);       /* JSON number or "123" */
bool js_is_null(const char *p, const char *end);
const char *js_path(const char *p, const char *end, const char *path); /* "a.b.0.c" */

/* ---- ws.c: WebSocket + Hrana 2 ---- */
struct ws {
	int fd;
	int port;
	int32_t next_id;
	uint64_t mask_rng;
	struct bbuf rx;   /* bytes received, from rx_off on not yet consumed */
	size_t rx_off;
	struct bbuf tx;   /* frame being sent */
	struct bbuf msg;  /* last whole message received */
	bool pb;          /* subprotocol hrana3-protobuf: binary messages */
};
void ws_open(struct ws *w, int port, const char *subprotocol); /* upgrade + hello (+ hello_ok) */
void ws_send_text(struct ws *w, const char *p, size_t n);
void ws_send_binary(struct ws *w, const void *p, size_t n);
const char *ws_recv_msg(struct ws *w, size_t *len);            /* text (or, if w->pb, binary) message */
/* Sends {"type":"request","request_id":N,"request":<req_json>} and returns the
 * "response" object of the matching response_ok; dies on response_error. */
const char *ws_request(struct ws *w, const char *req_json, size_t req_len, const char **end);
void ws_open_stream(struct ws *w, int32_t stream_id);
void ws_close(struct ws *w);

/* ---- http.c: Hrana over HTTP, one keep-alive connection, one stream ---- */
struct hc {
	int fd;
	int port;
	char baton[256]; /* "" = no stream yet */
	struct bbuf rx;
	size_t rx_off;
	struct bbuf tx, body;
};
void hc_open(struct hc *h, int port);
/* POSTs /v2/pipeline with the current baton and requests_json (a JSON array),
 * stores the new baton and returns the body's "results" array. */
const char *hc_pipeline(struct hc *h, const char *requests_json, const char **end);
void hc_close(struct hc *h);
/* POSTs body to path and returns the response body (status 200 required). */
const char *hc_post(struct hc *h, const char *path, const char *ctype, const void *body, size_t n, size_t *len);

/* ---- pb.c: Hrana 3 over protobuf, written by hand (PROTOCOL.md §5) ---- */
/* The point read over protobuf: WebSocket (stream 1 open) and HTTP (baton kept);
 * both check the row like the JSON ones. */
void ws_open_stream_pb(struct ws *w, int32_t stream_id);
void ws_point_pb(struct ws *w, int key, const char *sql, const char *want);
void http_point_pb(struct hc *h, int key, const char *sql, const char *want);

/* ---- pg.c ---- */
struct pgc;
struct pgc *pgc_open(int port);
void pgc_exec(struct pgc *c, const char *sql);      /* setup statements */
void pgc_prepare(struct pgc *c, const char *name, const char *sql, int nparams);
void pgc_point(struct pgc *c, int key);             /* prepared "sel", checks value */
void pgc_insert(struct pgc *c, const char *v);      /* prepared "ins", checks 1 row */
const char *pgc_version(struct pgc *c);
void pgc_close(struct pgc *c);

/* ---- lite.c ---- */
struct lite;
struct lite *lite_open(const char *path);           /* WAL, page_size 4096, synchronous=FULL */
void lite_exec(struct lite *l, const char *sql);
void lite_point(struct lite *l, int key);
void lite_insert(struct lite *l, const char *v);
void lite_close(struct lite *l);
#endif
