/* hpb: see hpb.h. Decoding (requests on the server side, responses on the
 * client side). Encoding is in hpb_enc.c. Only these two files (and
 * pbwire.c, the decoder they share with replpb.c) see protobuf-c types
 * (generated from proto/hrana.proto into build/<v>/gen/).
 *
 * Decoding is two passes over the bytes (pbwire.h, shared with replpb.c):
 *   1. a scan walks the wire format with the message descriptors without
 *      allocating: it bounds the nesting depth (protobuf-c recurses once per
 *      nested message and has no limit of its own), rejects what protobuf-c
 *      would reject anyway with a clearer message, and checks every known
 *      string field is UTF-8;
 *   2. protobuf-c unpacks with an allocator taking memory from the caller's
 *      arena (free is a no-op), so its strings and bytes are used in place;
 *      then the model of hrana.h is built next to them.
 * The wire format pass 1 reads is described in pbwire.h.
 */
#include "hpb.h"
#include "hrana.pb-c.h"
#include "pbwire.h"
#include <string.h>

static ProtobufCMessage *hpb_unpack(struct arena *a, const ProtobufCMessageDescriptor *d, const void *p, size_t n,
				    int *rc, struct err *e)
{
	static const struct pbwire_rules rules = {.max_depth = HPB_MAX_DEPTH};
	ProtobufCMessage *m = pbwire_unpack(a, d, p, n, &rules, rc, e);
	if (!m)
		*rc = HPB_E_SYNTAX;
	return m;
}

/* ---- shared structures ---- */

struct dctx {
	struct arena *a;
	struct err *e;
};

static int d_value(struct dctx *c, const Hrana__Value *pv, struct hr_value *v)
{
	memset(v, 0, sizeof *v);
	if (!pv)
		return 0; /* a missing value is null */
	switch (pv->value_case) {
	case HRANA__VALUE__VALUE_INTEGER:
		v->type = HR_INTEGER;
		v->i = pv->integer;
		break;
	case HRANA__VALUE__VALUE_FLOAT_VALUE:
		v->type = HR_FLOAT;
		v->f = pv->float_value;
		break;
	case HRANA__VALUE__VALUE_TEXT:
		if (!hr_utf8_valid((const char *)pv->text.data, pv->text.len)) {
			err_set(c->e, "Value.text: invalid UTF-8");
			return HPB_E_SYNTAX;
		}
		v->type = HR_TEXT;
		v->s = arena_strndup(c->a, (const char *)pv->text.data, pv->text.len);
		v->n = pv->text.len;
		break;
	case HRANA__VALUE__VALUE_BLOB:
		v->type = HR_BLOB;
		v->s = pv->blob.data ? (const char *)pv->blob.data : "";
		v->n = pv->blob.len;
		break;
	default: /* null, or no variant */
		v->type = HR_NULL;
		break;
	}
	return 0;
}

static int d_values(struct dctx *c, Hrana__Value **pv, size_t n, struct hr_value **out)
{
	*out = n ? ARENA_ARRAY(c->a, struct hr_value, n) : NULL;
	for (size_t i = 0; i < n; i++) {
		int rc = d_value(c, pv[i], &(*out)[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* Exactly one of sql / sql_id. */
static int d_sql_or_id(struct dctx *c, const char *what, bool has_sql, const char *sql, bool has_id, int32_t id,
		       const char **osql, bool *ohas, int32_t *oid)
{
	if (has_sql == has_id) {
		err_set(c->e, has_sql ? "%s: Either `sql` or `sql_id` are required, but not both"
				      : "%s: Either `sql` or `sql_id` are required",
			what);
		return HPB_E_INVALID;
	}
	*osql = has_sql ? sql : NULL;
	*ohas = has_id;
	*oid = has_id ? id : 0;
	return 0;
}

static int d_stmt(struct dctx *c, const Hrana__Stmt *ps, struct hr_stmt *s)
{
	static const Hrana__Stmt empty = HRANA__STMT__INIT;
	if (!ps)
		ps = &empty;
	memset(s, 0, sizeof *s);
	int rc = d_sql_or_id(c, "Stmt", ps->opt_sql_case == HRANA__STMT__OPT_SQL_SQL, ps->sql,
			     ps->opt_sql_id_case == HRANA__STMT__OPT_SQL_ID_SQL_ID, ps->sql_id, &s->sql,
			     &s->has_sql_id, &s->sql_id);
	if (rc)
		return rc;
	if ((rc = d_values(c, ps->args, ps->n_args, &s->args)))
		return rc;
	s->nargs = ps->n_args;
	s->nnamed = ps->n_named_args;
	s->named = s->nnamed ? ARENA_ARRAY(c->a, struct hr_named_arg, s->nnamed) : NULL;
	for (size_t i = 0; i < s->nnamed; i++) {
		s->named[i].name = ps->named_args[i]->name;
		if ((rc = d_value(c, ps->named_args[i]->value, &s->named[i].value)))
			return rc;
	}
	s->want_rows = ps->opt_want_rows_case == HRANA__STMT__OPT_WANT_ROWS_WANT_ROWS ? ps->want_rows : true;
	return 0;
}

static int d_cond(struct dctx *c, const Hrana__BatchCond *pc, struct hr_cond *out)
{
	memset(out, 0, sizeof *out);
	const Hrana__BatchCond__CondList *list = NULL;
	switch (pc->cond_case) {
	case HRANA__BATCH_COND__COND_STEP_OK:
		out->type = HR_COND_OK;
		out->step = pc->step_ok;
		return 0;
	case HRANA__BATCH_COND__COND_STEP_ERROR:
		out->type = HR_COND_ERROR;
		out->step = pc->step_error;
		return 0;
	case HRANA__BATCH_COND__COND_NOT_COND:
		out->type = HR_COND_NOT;
		out->nconds = 1;
		out->conds = ARENA_NEW(c->a, struct hr_cond);
		return d_cond(c, pc->not_cond, out->conds);
	case HRANA__BATCH_COND__COND_AND_CONDS:
		out->type = HR_COND_AND;
		list = pc->and_conds;
		break;
	case HRANA__BATCH_COND__COND_OR_CONDS:
		out->type = HR_COND_OR;
		list = pc->or_conds;
		break;
	case HRANA__BATCH_COND__COND_IS_AUTOCOMMIT:
		out->type = HR_COND_IS_AUTOCOMMIT;
		return 0;
	default:
		err_set(c->e, "BatchCond: none of its variants is set");
		return HPB_E_SHAPE;
	}
	out->nconds = list->n_conds;
	out->conds = out->nconds ? ARENA_ARRAY(c->a, struct hr_cond, out->nconds) : NULL;
	for (size_t i = 0; i < out->nconds; i++) {
		int rc = d_cond(c, list->conds[i], &out->conds[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static int d_batch(struct dctx *c, const Hrana__Batch *pb, struct hr_batch *b)
{
	memset(b, 0, sizeof *b);
	if (!pb)
		return 0;
	b->nsteps = pb->n_steps;
	b->steps = b->nsteps ? ARENA_ARRAY(c->a, struct hr_step, b->nsteps) : NULL;
	for (size_t i = 0; i < b->nsteps; i++) {
		const Hrana__BatchStep *ps = pb->steps[i];
		int rc;
		if (ps->condition) {
			b->steps[i].cond = ARENA_NEW(c->a, struct hr_cond);
			if ((rc = d_cond(c, ps->condition, b->steps[i].cond)))
				return rc;
		}
		if ((rc = d_stmt(c, ps->stmt, &b->steps[i].stmt)))
			return rc;
	}
	return 0;
}

/* ---- requests ---- */

#define SQL_OR_ID(c, what, m, PFX, r)                                                                         \
	d_sql_or_id(c, what, (m)->opt_sql_case == PFX##__OPT_SQL_SQL, (m)->sql,                               \
		    (m)->opt_sql_id_case == PFX##__OPT_SQL_ID_SQL_ID, (m)->sql_id, &(r)->sql, &(r)->has_sql_id, \
		    &(r)->sql_id)

static int d_ws_req(struct dctx *c, const Hrana__RequestMsg *pm, struct hr_req *r)
{
	memset(r, 0, sizeof *r);
	switch (pm->request_case) {
	case HRANA__REQUEST_MSG__REQUEST_OPEN_STREAM:
		r->type = HR_REQ_OPEN_STREAM;
		r->stream_id = pm->open_stream->stream_id;
		return 0;
	case HRANA__REQUEST_MSG__REQUEST_CLOSE_STREAM:
		r->type = HR_REQ_CLOSE_STREAM;
		r->stream_id = pm->close_stream->stream_id;
		return 0;
	case HRANA__REQUEST_MSG__REQUEST_EXECUTE:
		r->type = HR_REQ_EXECUTE;
		r->stream_id = pm->execute->stream_id;
		return d_stmt(c, pm->execute->stmt, &r->stmt);
	case HRANA__REQUEST_MSG__REQUEST_BATCH:
		r->type = HR_REQ_BATCH;
		r->stream_id = pm->batch->stream_id;
		return d_batch(c, pm->batch->batch, &r->batch);
	case HRANA__REQUEST_MSG__REQUEST_OPEN_CURSOR:
		r->type = HR_REQ_OPEN_CURSOR;
		r->stream_id = pm->open_cursor->stream_id;
		r->cursor_id = pm->open_cursor->cursor_id;
		return d_batch(c, pm->open_cursor->batch, &r->batch);
	case HRANA__REQUEST_MSG__REQUEST_CLOSE_CURSOR:
		r->type = HR_REQ_CLOSE_CURSOR;
		r->cursor_id = pm->close_cursor->cursor_id;
		return 0;
	case HRANA__REQUEST_MSG__REQUEST_FETCH_CURSOR:
		r->type = HR_REQ_FETCH_CURSOR;
		r->cursor_id = pm->fetch_cursor->cursor_id;
		r->max_count = pm->fetch_cursor->max_count;
		return 0;
	case HRANA__REQUEST_MSG__REQUEST_SEQUENCE:
		r->type = HR_REQ_SEQUENCE;
		r->stream_id = pm->sequence->stream_id;
		return SQL_OR_ID(c, "sequence", pm->sequence, HRANA__SEQUENCE_REQ, r);
	case HRANA__REQUEST_MSG__REQUEST_DESCRIBE:
		r->type = HR_REQ_DESCRIBE;
		r->stream_id = pm->describe->stream_id;
		return SQL_OR_ID(c, "describe", pm->describe, HRANA__DESCRIBE_REQ, r);
	case HRANA__REQUEST_MSG__REQUEST_STORE_SQL:
		r->type = HR_REQ_STORE_SQL;
		r->has_sql_id = true;
		r->sql_id = pm->store_sql->sql_id;
		r->sql = pm->store_sql->sql;
		return 0;
	case HRANA__REQUEST_MSG__REQUEST_CLOSE_SQL:
		r->type = HR_REQ_CLOSE_SQL;
		r->has_sql_id = true;
		r->sql_id = pm->close_sql->sql_id;
		return 0;
	case HRANA__REQUEST_MSG__REQUEST_GET_AUTOCOMMIT:
		r->type = HR_REQ_GET_AUTOCOMMIT;
		r->stream_id = pm->get_autocommit->stream_id;
		return 0;
	default:
		err_set(c->e, "RequestMsg: no known request is set");
		return HPB_E_UNKNOWN_TYPE;
	}
}

static int d_stream_req(struct dctx *c, const Hrana__StreamRequest *pq, struct hr_req *r)
{
	memset(r, 0, sizeof *r);
	switch (pq->request_case) {
	case HRANA__STREAM_REQUEST__REQUEST_CLOSE:
		r->type = HR_REQ_CLOSE;
		return 0;
	case HRANA__STREAM_REQUEST__REQUEST_EXECUTE:
		r->type = HR_REQ_EXECUTE;
		return d_stmt(c, pq->execute->stmt, &r->stmt);
	case HRANA__STREAM_REQUEST__REQUEST_BATCH:
		r->type = HR_REQ_BATCH;
		return d_batch(c, pq->batch->batch, &r->batch);
	case HRANA__STREAM_REQUEST__REQUEST_SEQUENCE:
		r->type = HR_REQ_SEQUENCE;
		return SQL_OR_ID(c, "sequence", pq->sequence, HRANA__SEQUENCE_STREAM_REQ, r);
	case HRANA__STREAM_REQUEST__REQUEST_DESCRIBE:
		r->type = HR_REQ_DESCRIBE;
		return SQL_OR_ID(c, "describe", pq->describe, HRANA__DESCRIBE_STREAM_REQ, r);
	case HRANA__STREAM_REQUEST__REQUEST_STORE_SQL:
		r->type = HR_REQ_STORE_SQL;
		r->has_sql_id = true;
		r->sql_id = pq->store_sql->sql_id;
		r->sql = pq->store_sql->sql;
		return 0;
	case HRANA__STREAM_REQUEST__REQUEST_CLOSE_SQL:
		r->type = HR_REQ_CLOSE_SQL;
		r->has_sql_id = true;
		r->sql_id = pq->close_sql->sql_id;
		return 0;
	case HRANA__STREAM_REQUEST__REQUEST_GET_AUTOCOMMIT:
		r->type = HR_REQ_GET_AUTOCOMMIT;
		return 0;
	default:
		err_set(c->e, "StreamRequest: no known request is set");
		return HPB_E_UNKNOWN_TYPE;
	}
}

int hpb_decode_client_msg(struct arena *a, const void *p, size_t n, struct hr_client_msg *out, struct err *e)
{
	int rc;
	Hrana__ClientMsg *m = (Hrana__ClientMsg *)hpb_unpack(a, &hrana__client_msg__descriptor, p, n, &rc, e);
	if (!m)
		return rc;
	struct dctx c = {a, e};
	memset(out, 0, sizeof *out);
	switch (m->msg_case) {
	case HRANA__CLIENT_MSG__MSG_HELLO:
		out->type = HR_CMSG_HELLO;
		out->jwt = m->hello->opt_jwt_case == HRANA__HELLO_MSG__OPT_JWT_JWT ? m->hello->jwt : NULL;
		return 0;
	case HRANA__CLIENT_MSG__MSG_REQUEST:
		out->type = HR_CMSG_REQUEST;
		out->request_id = m->request->request_id;
		return d_ws_req(&c, m->request, &out->req);
	default:
		err_set(e, "ClientMsg: neither hello nor request is set");
		return HPB_E_UNKNOWN_TYPE;
	}
}

int hpb_decode_pipeline_req(struct arena *a, const void *p, size_t n, struct hr_pipeline_req *out, struct err *e)
{
	int rc;
	Hrana__PipelineReqBody *m =
		(Hrana__PipelineReqBody *)hpb_unpack(a, &hrana__pipeline_req_body__descriptor, p, n, &rc, e);
	if (!m)
		return rc;
	struct dctx c = {a, e};
	memset(out, 0, sizeof *out);
	out->baton = m->opt_baton_case == HRANA__PIPELINE_REQ_BODY__OPT_BATON_BATON ? m->baton : NULL;
	out->nrequests = m->n_requests;
	out->requests = out->nrequests ? ARENA_ARRAY(a, struct hr_req, out->nrequests) : NULL;
	for (size_t i = 0; i < out->nrequests; i++)
		if ((rc = d_stream_req(&c, m->requests[i], &out->requests[i])))
			return rc;
	return 0;
}

int hpb_decode_cursor_req(struct arena *a, const void *p, size_t n, struct hr_cursor_req *out, struct err *e)
{
	int rc;
	Hrana__CursorReqBody *m = (Hrana__CursorReqBody *)hpb_unpack(a, &hrana__cursor_req_body__descriptor, p, n, &rc, e);
	if (!m)
		return rc;
	struct dctx c = {a, e};
	memset(out, 0, sizeof *out);
	out->baton = m->opt_baton_case == HRANA__CURSOR_REQ_BODY__OPT_BATON_BATON ? m->baton : NULL;
	return d_batch(&c, m->batch, &out->batch);
}

/* ===================================================================== */
/* client side: responses                                                */
/* ===================================================================== */

static void d_error(const Hrana__Error *pe, struct hr_error *er)
{
	memset(er, 0, sizeof *er);
	if (!pe) {
		er->message = "";
		return;
	}
	er->message = pe->message;
	er->code = pe->opt_code_case == HRANA__ERROR__OPT_CODE_CODE ? pe->code : NULL;
}

static struct hr_col *d_cols(struct dctx *c, Hrana__Col **pc, size_t n)
{
	struct hr_col *cols = n ? ARENA_ARRAY(c->a, struct hr_col, n) : NULL;
	for (size_t i = 0; i < n; i++) {
		cols[i].name = pc[i]->opt_name_case == HRANA__COL__OPT_NAME_NAME ? pc[i]->name : NULL;
		cols[i].decltype = pc[i]->opt_decltype_case == HRANA__COL__OPT_DECLTYPE_DECLTYPE ? pc[i]->decltype : NULL;
	}
	return cols;
}

static int d_stmt_result(struct dctx *c, const Hrana__StmtResult *ps, struct hr_stmt_result **out)
{
	static const Hrana__StmtResult empty = HRANA__STMT_RESULT__INIT;
	if (!ps)
		ps = &empty;
	struct hr_stmt_result *r = ARENA_NEW(c->a, struct hr_stmt_result);
	*out = r;
	r->ncols = ps->n_cols;
	r->cols = d_cols(c, ps->cols, ps->n_cols);
	r->nrows = ps->n_rows;
	r->rows = r->nrows && r->ncols ? ARENA_ARRAY(c->a, struct hr_value, r->nrows * r->ncols) : NULL;
	for (size_t i = 0; i < r->nrows; i++) {
		if (ps->rows[i]->n_values != r->ncols) {
			err_set(c->e, "StmtResult: row %zu has %zu values for %zu columns", i, ps->rows[i]->n_values,
				r->ncols);
			return HPB_E_SHAPE;
		}
		for (size_t k = 0; k < r->ncols; k++) {
			int rc = d_value(c, ps->rows[i]->values[k], &r->rows[i * r->ncols + k]);
			if (rc)
				return rc;
		}
	}
	r->affected_row_count = ps->affected_row_count;
	r->has_last_insert_rowid = ps->opt_last_insert_rowid_case == HRANA__STMT_RESULT__OPT_LAST_INSERT_ROWID_LAST_INSERT_ROWID;
	r->last_insert_rowid = r->has_last_insert_rowid ? ps->last_insert_rowid : 0;
	r->has_replication_index = ps->opt_replication_index_case == HRANA__STMT_RESULT__OPT_REPLICATION_INDEX_REPLICATION_INDEX;
	r->replication_index = r->has_replication_index ? ps->replication_index : 0;
	r->rows_read = ps->rows_read;
	r->rows_written = ps->rows_written;
	r->query_duration_ms = ps->query_duration_ms;
	return 0;
}

#define HPB_MAX_STEPS (1u << 20)

static int d_batch_result(struct dctx *c, const Hrana__BatchResult *pb, struct hr_batch_result **out)
{
	static const Hrana__BatchResult empty = HRANA__BATCH_RESULT__INIT;
	if (!pb)
		pb = &empty;
	struct hr_batch_result *r = ARENA_NEW(c->a, struct hr_batch_result);
	*out = r;
	size_t n = 0;
	for (size_t i = 0; i < pb->n_step_results; i++)
		if ((size_t)pb->step_results[i]->key + 1 > n)
			n = (size_t)pb->step_results[i]->key + 1;
	for (size_t i = 0; i < pb->n_step_errors; i++)
		if ((size_t)pb->step_errors[i]->key + 1 > n)
			n = (size_t)pb->step_errors[i]->key + 1;
	if (n > HPB_MAX_STEPS) {
		err_set(c->e, "BatchResult: step index too large");
		return HPB_E_SHAPE;
	}
	r->nsteps = n;
	r->step_results = n ? ARENA_ARRAY(c->a, struct hr_stmt_result *, n) : NULL;
	r->step_errors = n ? ARENA_ARRAY(c->a, struct hr_error *, n) : NULL;
	for (size_t i = 0; i < pb->n_step_results; i++) {
		int rc = d_stmt_result(c, pb->step_results[i]->value, &r->step_results[pb->step_results[i]->key]);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < pb->n_step_errors; i++) {
		struct hr_error *er = ARENA_NEW(c->a, struct hr_error);
		d_error(pb->step_errors[i]->value, er);
		r->step_errors[pb->step_errors[i]->key] = er;
	}
	return 0;
}

static int d_describe_result(struct dctx *c, const Hrana__DescribeResult *pd, struct hr_describe_result **out)
{
	static const Hrana__DescribeResult empty = HRANA__DESCRIBE_RESULT__INIT;
	if (!pd)
		pd = &empty;
	struct hr_describe_result *r = ARENA_NEW(c->a, struct hr_describe_result);
	*out = r;
	r->nparams = pd->n_params;
	r->params = r->nparams ? ARENA_ARRAY(c->a, struct hr_describe_param, r->nparams) : NULL;
	for (size_t i = 0; i < r->nparams; i++)
		r->params[i].name = pd->params[i]->opt_name_case == HRANA__DESCRIBE_PARAM__OPT_NAME_NAME ? pd->params[i]->name : NULL;
	r->ncols = pd->n_cols;
	r->cols = r->ncols ? ARENA_ARRAY(c->a, struct hr_col, r->ncols) : NULL;
	for (size_t i = 0; i < r->ncols; i++) {
		r->cols[i].name = pd->cols[i]->name;
		r->cols[i].decltype = pd->cols[i]->opt_decltype_case == HRANA__DESCRIBE_COL__OPT_DECLTYPE_DECLTYPE ? pd->cols[i]->decltype : NULL;
	}
	r->is_explain = pd->is_explain;
	r->is_readonly = pd->is_readonly;
	return 0;
}

static int d_entry(struct dctx *c, const Hrana__CursorEntry *pe, struct hr_cursor_entry *en)
{
	memset(en, 0, sizeof *en);
	switch (pe->entry_case) {
	case HRANA__CURSOR_ENTRY__ENTRY_STEP_BEGIN:
		en->type = HR_ENTRY_STEP_BEGIN;
		en->step = pe->step_begin->step;
		en->ncols = pe->step_begin->n_cols;
		en->cols = d_cols(c, pe->step_begin->cols, en->ncols);
		return 0;
	case HRANA__CURSOR_ENTRY__ENTRY_STEP_END:
		en->type = HR_ENTRY_STEP_END;
		en->affected_row_count = pe->step_end->affected_row_count;
		en->has_last_insert_rowid = pe->step_end->opt_last_insert_rowid_case ==
					    HRANA__STEP_END_ENTRY__OPT_LAST_INSERT_ROWID_LAST_INSERT_ROWID;
		en->last_insert_rowid = en->has_last_insert_rowid ? pe->step_end->last_insert_rowid : 0;
		return 0;
	case HRANA__CURSOR_ENTRY__ENTRY_STEP_ERROR:
		en->type = HR_ENTRY_STEP_ERROR;
		en->step = pe->step_error->step;
		d_error(pe->step_error->error, &en->error);
		return 0;
	case HRANA__CURSOR_ENTRY__ENTRY_ROW:
		en->type = HR_ENTRY_ROW;
		en->nrow = pe->row->n_values;
		return d_values(c, pe->row->values, en->nrow, &en->row);
	case HRANA__CURSOR_ENTRY__ENTRY_ERROR:
		en->type = HR_ENTRY_ERROR;
		d_error(pe->error, &en->error);
		return 0;
	default:
		err_set(c->e, "CursorEntry: no known entry is set");
		return HPB_E_UNKNOWN_TYPE;
	}
}

/* The response's type is the variant's field number: 2..13 on WebSocket
 * (RequestMsg numbering), 1..8 on HTTP (StreamRequest numbering). */
static const enum hr_req_type hpb_ws_types[14] = {
	[2] = HR_REQ_OPEN_STREAM, [3] = HR_REQ_CLOSE_STREAM, [4] = HR_REQ_EXECUTE,     [5] = HR_REQ_BATCH,
	[6] = HR_REQ_OPEN_CURSOR, [7] = HR_REQ_CLOSE_CURSOR, [8] = HR_REQ_FETCH_CURSOR, [9] = HR_REQ_SEQUENCE,
	[10] = HR_REQ_DESCRIBE,   [11] = HR_REQ_STORE_SQL,   [12] = HR_REQ_CLOSE_SQL,   [13] = HR_REQ_GET_AUTOCOMMIT,
};
static const enum hr_req_type hpb_http_types[9] = {
	[1] = HR_REQ_CLOSE,    [2] = HR_REQ_EXECUTE,   [3] = HR_REQ_BATCH,     [4] = HR_REQ_SEQUENCE,
	[5] = HR_REQ_DESCRIBE, [6] = HR_REQ_STORE_SQL, [7] = HR_REQ_CLOSE_SQL, [8] = HR_REQ_GET_AUTOCOMMIT,
};

/* The parts shared by WS and HTTP responses (same message types). */
static int d_resp_body(struct dctx *c, struct hr_resp *r, const Hrana__ExecuteResp *ex, const Hrana__BatchResp *ba,
		       const Hrana__FetchCursorResp *fc, const Hrana__DescribeResp *de, const Hrana__GetAutocommitResp *ga)
{
	int rc = 0;
	if (ex)
		rc = d_stmt_result(c, ex->result, &r->stmt_result);
	else if (ba)
		rc = d_batch_result(c, ba->result, &r->batch_result);
	else if (de)
		rc = d_describe_result(c, de->result, &r->describe_result);
	else if (ga)
		r->is_autocommit = ga->is_autocommit;
	else if (fc) {
		r->done = fc->done;
		r->nentries = fc->n_entries;
		r->entries = r->nentries ? ARENA_ARRAY(c->a, struct hr_cursor_entry, r->nentries) : NULL;
		for (size_t i = 0; i < r->nentries && !rc; i++)
			rc = d_entry(c, fc->entries[i], &r->entries[i]);
	}
	return rc;
}

int hpb_decode_server_msg(struct arena *a, const void *p, size_t n, struct hr_server_msg *out, struct err *e)
{
	int rc;
	Hrana__ServerMsg *m = (Hrana__ServerMsg *)hpb_unpack(a, &hrana__server_msg__descriptor, p, n, &rc, e);
	if (!m)
		return rc;
	struct dctx c = {a, e};
	memset(out, 0, sizeof *out);
	switch (m->msg_case) {
	case HRANA__SERVER_MSG__MSG_HELLO_OK:
		out->type = HR_SMSG_HELLO_OK;
		return 0;
	case HRANA__SERVER_MSG__MSG_HELLO_ERROR:
		out->type = HR_SMSG_HELLO_ERROR;
		d_error(m->hello_error->error, &out->error);
		return 0;
	case HRANA__SERVER_MSG__MSG_RESPONSE_ERROR:
		out->type = HR_SMSG_RESPONSE_ERROR;
		out->request_id = m->response_error->request_id;
		d_error(m->response_error->error, &out->error);
		return 0;
	case HRANA__SERVER_MSG__MSG_RESPONSE_OK: {
		const Hrana__ResponseOkMsg *ok = m->response_ok;
		out->type = HR_SMSG_RESPONSE_OK;
		out->request_id = ok->request_id;
		unsigned t = (unsigned)ok->response_case;
		if (t >= 14 || !hpb_ws_types[t]) {
			err_set(e, "ResponseOkMsg: no known response is set");
			return HPB_E_UNKNOWN_TYPE;
		}
		out->resp.type = hpb_ws_types[t];
		return d_resp_body(&c, &out->resp, t == 4 ? ok->execute : NULL, t == 5 ? ok->batch : NULL,
				   t == 8 ? ok->fetch_cursor : NULL, t == 10 ? ok->describe : NULL,
				   t == 13 ? ok->get_autocommit : NULL);
	}
	default:
		err_set(e, "ServerMsg: no known message is set");
		return HPB_E_UNKNOWN_TYPE;
	}
}

int hpb_decode_pipeline_resp(struct arena *a, const void *p, size_t n, struct hr_pipeline_resp *out, struct err *e)
{
	int rc;
	Hrana__PipelineRespBody *m =
		(Hrana__PipelineRespBody *)hpb_unpack(a, &hrana__pipeline_resp_body__descriptor, p, n, &rc, e);
	if (!m)
		return rc;
	struct dctx c = {a, e};
	memset(out, 0, sizeof *out);
	out->baton = m->opt_baton_case == HRANA__PIPELINE_RESP_BODY__OPT_BATON_BATON ? m->baton : NULL;
	out->base_url = m->opt_base_url_case == HRANA__PIPELINE_RESP_BODY__OPT_BASE_URL_BASE_URL ? m->base_url : NULL;
	out->nresults = m->n_results;
	out->results = out->nresults ? ARENA_ARRAY(a, struct hr_stream_result, out->nresults) : NULL;
	for (size_t i = 0; i < out->nresults; i++) {
		const Hrana__StreamResult *sr = m->results[i];
		struct hr_stream_result *o = &out->results[i];
		if (sr->result_case == HRANA__STREAM_RESULT__RESULT_ERROR) {
			d_error(sr->error, &o->error);
			continue;
		}
		const Hrana__StreamResponse *ok = sr->result_case == HRANA__STREAM_RESULT__RESULT_OK ? sr->ok : NULL;
		unsigned t = ok ? (unsigned)ok->response_case : 0;
		if (t >= 9 || !hpb_http_types[t]) {
			err_set(e, "StreamResult: no known result is set");
			return HPB_E_UNKNOWN_TYPE;
		}
		o->ok = true;
		o->resp.type = hpb_http_types[t];
		if ((rc = d_resp_body(&c, &o->resp, t == 2 ? ok->execute : NULL, t == 3 ? ok->batch : NULL, NULL,
				      t == 5 ? ok->describe : NULL, t == 8 ? ok->get_autocommit : NULL)))
			return rc;
	}
	return 0;
}

int hpb_decode_cursor_resp(struct arena *a, const void *p, size_t n, struct hr_cursor_resp *out, struct err *e)
{
	int rc;
	Hrana__CursorRespBody *m =
		(Hrana__CursorRespBody *)hpb_unpack(a, &hrana__cursor_resp_body__descriptor, p, n, &rc, e);
	if (!m)
		return rc;
	out->baton = m->opt_baton_case == HRANA__CURSOR_RESP_BODY__OPT_BATON_BATON ? m->baton : NULL;
	out->base_url = m->opt_base_url_case == HRANA__CURSOR_RESP_BODY__OPT_BASE_URL_BASE_URL ? m->base_url : NULL;
	return 0;
}

int hpb_decode_cursor_entry(struct arena *a, const void *p, size_t n, struct hr_cursor_entry *out, struct err *e)
{
	int rc;
	Hrana__CursorEntry *m = (Hrana__CursorEntry *)hpb_unpack(a, &hrana__cursor_entry__descriptor, p, n, &rc, e);
	if (!m)
		return rc;
	struct dctx c = {a, e};
	return d_entry(&c, m, out);
}

int hpb_next_delim(const void *p, size_t n, size_t *off, const void **item, size_t *len)
{
	if (*off >= n)
		return 0;
	size_t i = *off;
	uint64_t v;
	if (!pbwire_varint(p, n, &i, &v) || v > n - i)
		return HPB_E_SYNTAX;
	*item = (const uint8_t *)p + i;
	*len = (size_t)v;
	*off = i + (size_t)v;
	return 1;
}
