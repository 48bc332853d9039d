/* repl_proxy: proxy.Proxy (repl_int.h). Each client_id has a struct
 * repl_client whose calls run one at a time, in order, on its own database
 * connection (queues: network thread); Execute runs a program with exec's
 * batch semantics and Describe describes a statement (workers). */
#include "repl_int.h"
#include <stdlib.h>
#include <string.h>

/* ---- proxy clients ---- */

struct repl_client *repl_client_find(struct ns *ns, const char *id)
{
	for (struct repl_client *cl = R.clients; cl; cl = cl->next)
		if (cl->ns == ns && strcmp(cl->id, id) == 0)
			return cl;
	return NULL;
}

void repl_client_free(struct repl_client *cl)
{
	for (struct repl_client **pp = &R.clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	R.nclients--;
	ns_put(cl->ns);
	free(cl);
}

/* Starts the client's next call, or frees an idle client that holds no
 * connection. May free cl. */
void repl_client_pump(struct repl_client *cl)
{
	if (cl->running)
		return;
	struct repl_call *c = cl->qhead;
	if (!c) {
		if (!cl->conn)
			repl_client_free(cl);
		return;
	}
	cl->qhead = c->qnext;
	if (!cl->qhead)
		cl->qtail = NULL;
	c->qnext = NULL;
	c->queued = false;
	cl->running = c;
	repl_call_submit(c);
}

void repl_client_push(struct repl_client *cl, struct repl_call *c)
{
	c->cl = cl;
	c->queued = true;
	c->qnext = NULL;
	if (cl->qtail)
		cl->qtail->qnext = c;
	else
		cl->qhead = c;
	cl->qtail = c;
	repl_client_pump(cl);
}

void repl_client_unqueue(struct repl_call *c)
{
	struct repl_client *cl = c->cl;
	struct repl_call *prev = NULL;
	for (struct repl_call *q = cl->qhead; q; prev = q, q = q->qnext)
		if (q == c) {
			if (prev)
				prev->qnext = c->qnext;
			else
				cl->qhead = c->qnext;
			if (cl->qtail == c)
				cl->qtail = prev;
			break;
		}
	c->queued = false;
	c->qnext = NULL;
}

void repl_client_close_later(struct repl_client *cl)
{
	struct repl_call *c = repl_call_new(M_CLOSE, cl->ns, NULL, NULL);
	repl_client_push(cl, c);
}

/* Opens the client's connection on first use and enters it. */
static struct db_conn *proxy_enter(struct repl_call *c)
{
	struct repl_client *cl = c->cl;
	if (ns_deleted(cl->ns)) {
		repl_fail(c, GRPC_STATUS_FAILED_PRECONDITION, "NAMESPACE_DOESNT_EXIST");
		return NULL;
	}
	if (!cl->conn) {
		struct err e = {{0}};
		if (db_conn_open(ns_db(cl->ns), &cl->conn, &e)) {
			log_error("proxy: %s", e.msg);
			repl_fail(c, GRPC_STATUS_UNAVAILABLE, e.msg);
			return NULL;
		}
	}
	db_conn_enter(cl->conn);
	exec_set_allow(c->allow);
	return cl->conn;
}

static const char *const txn_timeout_msg = "Transaction timed out: it held the write lock too long while others waited";

/* proxy.Error of a statement error (PROTOCOL.md §8.2). */
static struct replpb_error *proxy_error(struct arena *a, const struct hr_error *he, bool timed_out)
{
	struct replpb_error *pe = ARENA_NEW(a, struct replpb_error);
	const char *code = he->code ? he->code : "";
	pe->message = he->message ? he->message : "";
	pe->extended_code = he->extended_code;
	if (timed_out || strcmp(code, HR_E_TRANSACTION_TIMEOUT) == 0) {
		pe->code = REPLPB_ERROR_TX_TIMEOUT;
		if (timed_out)
			pe->message = txn_timeout_msg;
	} else if (strcmp(code, HR_E_ARGS_INVALID) == 0 || strcmp(code, HR_E_ARGS_BOTH) == 0) {
		pe->code = REPLPB_ERROR_SQL_ERROR;
	} else if (strcmp(code, "SQLITE_BUSY") == 0 || strcmp(code, HR_E_TRANSACTION_BUSY) == 0) {
		pe->code = REPLPB_ERROR_TX_BUSY;
	} else {
		pe->code = REPLPB_ERROR_INTERNAL;
	}
	return pe;
}

void repl_run_execute(struct repl_call *c)
{
	struct db_conn *conn = proxy_enter(c);
	if (!conn)
		return;
	struct arena *a = &c->out_a;
	struct sqlite3 *db = db_conn_sqlite(conn);
	const struct hr_batch *b = &c->prog.pgm;
	struct replpb_execute_results r = {0};
	r.nresults = b->nsteps;
	r.results = ARENA_ARRAY(a, struct replpb_query_result, b->nsteps ? b->nsteps : 1);
	if (db_conn_take_timeout(conn)) {
		/* its transaction was rolled back while it sat idle holding the lock */
		static const struct hr_error to = {.code = HR_E_TRANSACTION_TIMEOUT};
		for (size_t i = 0; i < b->nsteps; i++)
			r.results[i].error = proxy_error(a, &to, true);
	} else {
		struct exec_limits lim = {REPL_MAX_RESPONSE};
		struct hr_batch_result *br = NULL;
		struct hr_error berr = {0};
		int rc = exec_batch(db, b, &lim, a, &br, &berr);
		if (exec_take_forbidden()) {
			/* a step the credential may not run: the program is refused */
			db_conn_leave(conn);
			repl_fail(c, GRPC_STATUS_PERMISSION_DENIED,
			     "Authorization forbidden: the credential has no write permission");
			return;
		}
		bool timed_out = db_conn_timed_out(conn);
		if (timed_out) {
			/* interrupted by a write-lock steal while it ran */
			struct hr_error ignored;
			db_conn_take_timeout(conn);
			if (!exec_is_autocommit(db))
				exec_sequence(db, "ROLLBACK", a, &ignored);
		}
		if (rc) {
			db_conn_leave(conn);
			repl_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, berr.message ? berr.message : "Response is too large");
			return;
		}
		uint64_t q = 0, rd = 0, wr = 0; /* the namespace's usage (admin stats) */
		for (size_t i = 0; i < b->nsteps; i++)
			if (br->step_results[i])
				q++, rd += br->step_results[i]->rows_read, wr += br->step_results[i]->rows_written;
		ns_count(c->ns, q, rd, wr);
		for (size_t i = 0; i < b->nsteps; i++) {
			if (br->step_errors[i])
				r.results[i].error = proxy_error(a, br->step_errors[i], timed_out);
			else
				r.results[i].rows = br->step_results[i]; /* NULL: skipped, an empty ResultRows */
		}
	}
	r.state = exec_is_autocommit(db) ? REPLPB_STATE_INIT : REPLPB_STATE_TXN;
	/* after the program: a write is in the log before its commit returns */
	r.has_current_frame_no = rlog_last_commit(ns_log(c->ns), &r.current_frame_no);
	db_conn_leave(conn);
	size_t off = grpcweb_begin_data(&c->out);
	replpb_encode_execute_results(&c->out, &r);
	grpcweb_end_data(&c->out, off);
	repl_finish_ok(c);
}

void repl_run_describe(struct repl_call *c)
{
	struct db_conn *conn = proxy_enter(c);
	if (!conn)
		return;
	struct arena *a = &c->out_a;
	struct hr_describe_result *d = NULL;
	struct hr_error err = {0};
	int rc = exec_describe(db_conn_sqlite(conn), c->desc.stmt, a, &d, &err);
	db_conn_leave(conn);
	struct replpb_describe_result r = {0};
	if (rc) {
		r.error = proxy_error(a, &err, false);
	} else {
		r.cols = d->cols;
		r.ncols = d->ncols;
		r.param_names = ARENA_ARRAY(a, const char *, d->nparams ? d->nparams : 1);
		for (size_t i = 0; i < d->nparams; i++)
			if (d->params[i].name)
				r.param_names[r.nparam_names++] = d->params[i].name;
		r.param_count = d->nparams;
	}
	size_t off = grpcweb_begin_data(&c->out);
	replpb_encode_describe_result(&c->out, &r);
	grpcweb_end_data(&c->out, off);
	repl_finish_ok(c);
}
