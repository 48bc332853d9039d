/* Unit tests for sqld/metrics.c: the Prometheus text exposition format
 * (HELP/TYPE lines, cumulative histogram buckets ending at +Inf, _sum and
 * _count, label escaping, errors by code with the overflow bucket). */
#include "metrics.h"
#include "t.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static char *render(void)
{
	struct buf b;
	buf_init(&b);
	metrics_render(&b);
	buf_putc(&b, 0);
	return buf_steal(&b, NULL);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n'))
			return true;
	return false;
}

static void format_lines(void)
{
	metrics_reset();
	char *t = render();
	/* every family has HELP and TYPE before its samples */
	CHECK(has_line(t, "# TYPE sqld_requests_total counter"));
	CHECK(has_line(t, "# TYPE sqld_statement_duration_seconds histogram"));
	CHECK(has_line(t, "# TYPE sqld_connections_open gauge"));
	CHECK(strstr(t, "# HELP sqld_bytes_sent_total ") != NULL);
	CHECK(has_line(t, "sqld_requests_total{kind=\"pipeline\"} 0"));
	CHECK(has_line(t, "sqld_statement_duration_seconds_bucket{le=\"+Inf\"} 0"));
	CHECK(has_line(t, "sqld_statement_duration_seconds_count 0"));
	/* every non-comment line is "name[{labels}] value" */
	char *save = NULL;
	for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#')
			continue;
		char *sp = strrchr(l, ' ');
		CHECK(sp && sp > l);
		if (!sp)
			continue;
		char *end;
		strtod(sp + 1, &end);
		CHECK(*end == 0);
		CHECK(strncmp(l, "sqld_", 5) == 0);
	}
	free(t);
}

static void counters_move(void)
{
	metrics_reset();
	metrics_request(MR_PIPELINE);
	metrics_request(MR_PIPELINE);
	metrics_request(MR_DUMP);
	metrics_request(MR_COUNT); /* ignored */
	metrics_conn(1);
	metrics_conn(1);
	metrics_conn(-1);
	metrics_stream(3);
	metrics_bytes_in(10);
	metrics_bytes_out(20);
	metrics_checkpoint(1500000);
	char *t = render();
	CHECK(has_line(t, "sqld_requests_total{kind=\"pipeline\"} 2"));
	CHECK(has_line(t, "sqld_requests_total{kind=\"dump\"} 1"));
	CHECK(has_line(t, "sqld_connections_open 1"));
	CHECK(has_line(t, "sqld_streams_open 3"));
	CHECK(has_line(t, "sqld_bytes_received_total 10"));
	CHECK(has_line(t, "sqld_bytes_sent_total 20"));
	CHECK(has_line(t, "sqld_checkpoints_total 1"));
	CHECK(has_line(t, "sqld_checkpoint_duration_seconds_total 1.500000"));
	free(t);
}

static void histogram(void)
{
	metrics_reset();
	metrics_stmt(50, NULL);       /* <= 100 us */
	metrics_stmt(100, NULL);      /* the bound itself counts in its bucket */
	metrics_stmt(700, NULL);      /* <= 1 ms */
	metrics_stmt(9000000, NULL);  /* 9 s: only +Inf */
	char *t = render();
	CHECK(has_line(t, "sqld_statement_duration_seconds_bucket{le=\"0.000100\"} 2"));
	CHECK(has_line(t, "sqld_statement_duration_seconds_bucket{le=\"0.000500\"} 2"));
	CHECK(has_line(t, "sqld_statement_duration_seconds_bucket{le=\"0.001000\"} 3"));
	CHECK(has_line(t, "sqld_statement_duration_seconds_bucket{le=\"5.000000\"} 3"));
	CHECK(has_line(t, "sqld_statement_duration_seconds_bucket{le=\"+Inf\"} 4"));
	CHECK(has_line(t, "sqld_statement_duration_seconds_sum 9.000850"));
	CHECK(has_line(t, "sqld_statement_duration_seconds_count 4"));
	/* buckets never decrease */
	long long prev = -1;
	for (const char *p = t; (p = strstr(p, "sqld_statement_duration_seconds_bucket{")); p++) {
		long long v = atoll(strchr(p, '}') + 2);
		CHECK(v >= prev);
		prev = v;
	}
	free(t);
}

static void errors(void)
{
	metrics_reset();
	metrics_stmt(10, "SQLITE_CONSTRAINT");
	metrics_error("SQLITE_CONSTRAINT");
	metrics_error("a\"b\\c\nd");
	metrics_error(NULL);
	char *t = render();
	CHECK(has_line(t, "sqld_errors_total{code=\"SQLITE_CONSTRAINT\"} 2"));
	CHECK(has_line(t, "sqld_errors_total{code=\"a\\\"b\\\\c\\nd\"} 1"));
	CHECK(has_line(t, "sqld_errors_total{code=\"UNKNOWN\"} 1"));
	free(t);
	/* more distinct codes than the table holds: the rest count as OTHER */
	metrics_reset();
	char code[32];
	for (int i = 0; i < METRICS_MAX_CODES + 5; i++) {
		snprintf(code, sizeof code, "C%d", i);
		metrics_error(code);
	}
	t = render();
	CHECK(has_line(t, "sqld_errors_total{code=\"C0\"} 1"));
	CHECK(has_line(t, "sqld_errors_total{code=\"OTHER\"} 5"));
	free(t);
}

int main(void)
{
	T_RUN(format_lines);
	T_RUN(counters_move);
	T_RUN(histogram);
	T_RUN(errors);
	return T_DONE();
}
