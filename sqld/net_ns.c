/* net_ns: a namespace's first open, on a worker (net_int.h).
 *
 * Opening a namespace verifies its frame log and may rebuild it from the
 * database (seconds for a large one), so the service thread never does it:
 * net_resolve_ns only takes namespaces already open (ns_get_open), and for
 * one that exists but is not open yet the request waits for a job that
 * calls ns_get on a worker. Meanwhile the request goes on where it does not
 * need the namespace (headers, authentication, body); where it does, it
 * stops, and the job's completion carries on with `then`:
 *   - an HTTP request: its body is complete (net_http_body_done waits);
 *   - GET /dump: the dump starts;
 *   - a WebSocket: its session opens (messages received meanwhile are
 *     decoded and kept, and the socket's input is paused), then the kept
 *     messages go to it in order.
 * The job holds what it opened until its completion: with the connection
 * gone by then (c NULL), the reference is given back.
 *
 * Invariant: a connection has at most one job (c->nsjob), and c->nsjob is
 * set exactly while that job is in flight. Service thread, but for the
 * job's run function (a worker). */
#include "net_int.h"
#include "ns.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct net_ns_job {
	struct work_job w; /* first */
	struct net_conn *c; /* NULL once the connection is gone */
	void (*then)(struct net_conn *c);
	char name[NS_NAME_MAX + 1];
	struct ns *ns;
	int status; /* 0, or the HTTP status of the failure (msg) */
	char msg[600];
};

/* Tests only: with SQLWIRE_TEST_NS_OPEN_GATE naming a file, a first open
 * waits until that file exists (at most a minute), so a test can hold
 * opens in flight and see what the server does meanwhile. */
static void net_ns_test_gate(void)
{
	const char *g = getenv("SQLWIRE_TEST_NS_OPEN_GATE");
	for (int i = 0; g && *g && i < 6000 && access(g, F_OK) != 0; i++)
		usleep(10000);
}

static void net_ns_run(struct work_job *w)
{
	struct net_ns_job *j = (struct net_ns_job *)w;
	struct err e = {{0}};
	net_ns_test_gate();
	int rc = ns_get(j->name, &j->ns, &e);
	if (rc) {
		j->status = rc == NS_ENOENT ? 404 : 500;
		snprintf(j->msg, sizeof j->msg, "%s", e.msg);
	}
}

static void net_ns_done(struct work_job *w)
{
	struct net_ns_job *j = (struct net_ns_job *)w;
	N.ns_busy--;
	struct net_conn *c = j->c;
	if (!c) {
		ns_put(j->ns);
		free(j);
		return;
	}
	c->nsjob = NULL;
	c->ns = j->ns;
	c->ns_status = j->status;
	snprintf(c->ns_msg, sizeof c->ns_msg, "%s", j->msg);
	void (*then)(struct net_conn *) = j->then;
	free(j);
	then(c);
}

void net_ns_open_later(struct net_conn *c, const char *name, void (*then)(struct net_conn *c))
{
	struct net_ns_job *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	j->w.run = net_ns_run;
	j->w.done = net_ns_done;
	j->c = c;
	j->then = then;
	snprintf(j->name, sizeof j->name, "%s", name);
	c->nsjob = j;
	c->ns_status = 0;
	c->ns_msg[0] = 0;
	N.ns_busy++;
	work_submit(&j->w);
}

void net_ns_forget(struct net_conn *c)
{
	if (c->nsjob)
		c->nsjob->c = NULL; /* its completion gives the namespace back */
	c->nsjob = NULL;
}
