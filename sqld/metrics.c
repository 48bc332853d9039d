/* metrics: see metrics.h.
 *
 * FORMAT (Prometheus text exposition 0.0.4, one metric family after another):
 *   # HELP <name> <text>\n
 *   # TYPE <name> counter|gauge|histogram\n
 *   <name>{<label>="<value>",...} <number>\n
 * A histogram family has <name>_bucket{le="<bound>"} lines with cumulative
 * counts, the last with le="+Inf", then <name>_sum and <name>_count. Label
 * values escape backslash, double quote and newline. */
#include "metrics.h"
#include "ns.h"
#include "rlog.h"
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static const char *const metrics_req_names[MR_COUNT] = {
	"ws_message", "pipeline", "cursor", "v1_execute", "v1_batch", "legacy",
	"replication", "proxy", "dump", "admin", "other",
};

/* statement latency bounds, microseconds (rendered in seconds) */
static const int64_t metrics_bounds_us[] = {100, 500, 1000, 5000, 10000, 50000, 100000, 500000, 1000000, 5000000};
#define METRICS_NB (sizeof metrics_bounds_us / sizeof metrics_bounds_us[0])

static struct {
	atomic_uint_fast64_t req[MR_COUNT];
	atomic_int_fast64_t conns, streams;
	atomic_uint_fast64_t stmt_bucket[METRICS_NB + 1]; /* not cumulative; last: +Inf */
	atomic_uint_fast64_t stmt_sum_us, stmt_count;
	atomic_uint_fast64_t ckpt_count, ckpt_sum_us;
	atomic_uint_fast64_t bytes_in, bytes_out;
	pthread_mutex_t mu; /* the error table */
	char codes[METRICS_MAX_CODES][48];
	uint64_t code_counts[METRICS_MAX_CODES];
	uint64_t other_codes;
	size_t ncodes;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER};

int64_t metrics_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void metrics_request(enum metrics_req k)
{
	if ((unsigned)k < MR_COUNT)
		atomic_fetch_add_explicit(&M.req[k], 1, memory_order_relaxed);
}

void metrics_conn(int delta)
{
	atomic_fetch_add_explicit(&M.conns, delta, memory_order_relaxed);
}

void metrics_stream(int delta)
{
	atomic_fetch_add_explicit(&M.streams, delta, memory_order_relaxed);
}

void metrics_error(const char *code)
{
	if (!code || !*code)
		code = "UNKNOWN";
	pthread_mutex_lock(&M.mu);
	size_t i = 0;
	while (i < M.ncodes && strcmp(M.codes[i], code) != 0)
		i++;
	if (i == M.ncodes) {
		if (M.ncodes == METRICS_MAX_CODES || strlen(code) >= sizeof M.codes[0]) {
			M.other_codes++;
			pthread_mutex_unlock(&M.mu);
			return;
		}
		strcpy(M.codes[i], code);
		M.code_counts[i] = 0;
		M.ncodes++;
	}
	M.code_counts[i]++;
	pthread_mutex_unlock(&M.mu);
}

void metrics_stmt(int64_t us, const char *code)
{
	if (us < 0)
		us = 0;
	size_t b = 0;
	while (b < METRICS_NB && us > metrics_bounds_us[b])
		b++;
	atomic_fetch_add_explicit(&M.stmt_bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&M.stmt_sum_us, (uint64_t)us, memory_order_relaxed);
	atomic_fetch_add_explicit(&M.stmt_count, 1, memory_order_relaxed);
	if (code)
		metrics_error(code);
}

void metrics_checkpoint(int64_t us)
{
	atomic_fetch_add_explicit(&M.ckpt_count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&M.ckpt_sum_us, (uint64_t)(us < 0 ? 0 : us), memory_order_relaxed);
}

void metrics_bytes_in(size_t n)
{
	atomic_fetch_add_explicit(&M.bytes_in, n, memory_order_relaxed);
}

void metrics_bytes_out(size_t n)
{
	atomic_fetch_add_explicit(&M.bytes_out, n, memory_order_relaxed);
}

void metrics_reset(void)
{
	for (size_t i = 0; i < MR_COUNT; i++)
		M.req[i] = 0;
	M.conns = M.streams = 0;
	for (size_t i = 0; i <= METRICS_NB; i++)
		M.stmt_bucket[i] = 0;
	M.stmt_sum_us = M.stmt_count = M.ckpt_count = M.ckpt_sum_us = M.bytes_in = M.bytes_out = 0;
	pthread_mutex_lock(&M.mu);
	M.ncodes = 0;
	M.other_codes = 0;
	pthread_mutex_unlock(&M.mu);
}

/* ---- rendering ---- */

static void head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void label_value(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_putc(b, '\\'), buf_putc(b, *v);
		else if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *v);
	}
}

static void seconds(struct buf *b, uint64_t us)
{
	buf_printf(b, "%llu.%06llu", (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000));
}

struct ns_lines {
	struct buf commit, logb;
};

static void ns_line(struct ns *n, void *arg)
{
	struct ns_lines *l = arg;
	struct rlog_stat st;
	rlog_stat(ns_log(n), &st);
	if (st.has_commit) {
		buf_puts(&l->commit, "sqld_commit_position{namespace=\"");
		label_value(&l->commit, ns_name(n));
		buf_printf(&l->commit, "\"} %llu\n", (unsigned long long)st.last_commit);
	}
	buf_puts(&l->logb, "sqld_frame_log_bytes{namespace=\"");
	label_value(&l->logb, ns_name(n));
	buf_printf(&l->logb, "\"} %llu\n", (unsigned long long)(st.log_bytes + st.snap_bytes));
}

void metrics_render(struct buf *b)
{
	head(b, "sqld_connections_open", "gauge", "Open client connections (HTTP and WebSocket) on the user port.");
	buf_printf(b, "sqld_connections_open %lld\n", (long long)M.conns);
	head(b, "sqld_streams_open", "gauge", "Open Hrana streams (WebSocket and HTTP batons).");
	buf_printf(b, "sqld_streams_open %lld\n", (long long)M.streams);
	head(b, "sqld_requests_total", "counter", "Requests received, by kind.");
	for (size_t i = 0; i < MR_COUNT; i++)
		buf_printf(b, "sqld_requests_total{kind=\"%s\"} %llu\n", metrics_req_names[i], (unsigned long long)M.req[i]);
	head(b, "sqld_statement_duration_seconds", "histogram", "Time to run one SQL statement.");
	uint64_t cum = 0;
	for (size_t i = 0; i <= METRICS_NB; i++) {
		cum += M.stmt_bucket[i];
		buf_puts(b, "sqld_statement_duration_seconds_bucket{le=\"");
		if (i < METRICS_NB)
			seconds(b, (uint64_t)metrics_bounds_us[i]);
		else
			buf_puts(b, "+Inf");
		buf_printf(b, "\"} %llu\n", (unsigned long long)cum);
	}
	buf_puts(b, "sqld_statement_duration_seconds_sum ");
	seconds(b, M.stmt_sum_us);
	buf_printf(b, "\nsqld_statement_duration_seconds_count %llu\n", (unsigned long long)M.stmt_count);
	head(b, "sqld_errors_total", "counter", "Errors answered to clients, by error code.");
	pthread_mutex_lock(&M.mu);
	for (size_t i = 0; i < M.ncodes; i++) {
		buf_puts(b, "sqld_errors_total{code=\"");
		label_value(b, M.codes[i]);
		buf_printf(b, "\"} %llu\n", (unsigned long long)M.code_counts[i]);
	}
	if (M.other_codes)
		buf_printf(b, "sqld_errors_total{code=\"OTHER\"} %llu\n", (unsigned long long)M.other_codes);
	pthread_mutex_unlock(&M.mu);
	head(b, "sqld_checkpoints_total", "counter", "WAL checkpoints run.");
	buf_printf(b, "sqld_checkpoints_total %llu\n", (unsigned long long)M.ckpt_count);
	head(b, "sqld_checkpoint_duration_seconds_total", "counter", "Time spent in WAL checkpoints.");
	buf_puts(b, "sqld_checkpoint_duration_seconds_total ");
	seconds(b, M.ckpt_sum_us);
	buf_putc(b, '\n');
	head(b, "sqld_bytes_received_total", "counter", "Request bytes received (HTTP bodies, WebSocket messages).");
	buf_printf(b, "sqld_bytes_received_total %llu\n", (unsigned long long)M.bytes_in);
	head(b, "sqld_bytes_sent_total", "counter", "Response bytes sent (HTTP bodies, WebSocket messages).");
	buf_printf(b, "sqld_bytes_sent_total %llu\n", (unsigned long long)M.bytes_out);
	struct ns_lines l;
	buf_init(&l.commit);
	buf_init(&l.logb);
	ns_each_open(ns_line, &l);
	head(b, "sqld_commit_position", "gauge", "frame_no of the last commit in the namespace's frame log.");
	buf_put(b, l.commit.p ? l.commit.p : "", l.commit.len);
	head(b, "sqld_frame_log_bytes", "gauge", "Bytes of the namespace's frame log and snapshots on disk.");
	buf_put(b, l.logb.p ? l.logb.p : "", l.logb.len);
	buf_free(&l.commit);
	buf_free(&l.logb);
}
