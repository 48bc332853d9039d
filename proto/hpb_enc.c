/* hpb_enc: the encoders of hpb.h (responses on the server side, requests on
 * the client side). Each builds the protobuf-c structures in a temporary
 * arena, pointing at the caller's strings and bytes (nothing is copied), and
 * packs them straight into the caller's buf. Pure; any thread.
 * FORMAT: see hpb.c and proto/hrana.proto. */
#include "hpb.h"
#include "hrana.pb-c.h"
#include <string.h>

static Hrana__Empty hpb_empty = HRANA__EMPTY__INIT;

static char *S(const char *s)
{
	return (char *)(s ? s : "");
}

static void e_pack(struct buf *b, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	buf_reserve(b, n + 1);
	protobuf_c_message_pack(m, (uint8_t *)b->p + b->len);
	b->len += n;
	b->p[b->len] = 0;
}

static void e_varint(struct buf *b, uint64_t v)
{
	char tmp[10];
	size_t k = 0;
	do {
		tmp[k++] = (char)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
		v >>= 7;
	} while (v);
	buf_put(b, tmp, k);
}

static void e_pack_delim(struct buf *b, const ProtobufCMessage *m)
{
	e_varint(b, protobuf_c_message_get_packed_size(m));
	e_pack(b, m);
}

/* ---- shared structures ---- */

static void e_value_into(Hrana__Value *pv, const struct hr_value *v)
{
	hrana__value__init(pv);
	switch (v->type) {
	case HR_INTEGER:
		pv->value_case = HRANA__VALUE__VALUE_INTEGER;
		pv->integer = v->i;
		break;
	case HR_FLOAT:
		pv->value_case = HRANA__VALUE__VALUE_FLOAT_VALUE;
		pv->float_value = v->f;
		break;
	case HR_TEXT:
		pv->value_case = HRANA__VALUE__VALUE_TEXT;
		pv->text.data = (uint8_t *)v->s;
		pv->text.len = v->n;
		break;
	case HR_BLOB:
		pv->value_case = HRANA__VALUE__VALUE_BLOB;
		pv->blob.data = (uint8_t *)v->s;
		pv->blob.len = v->n;
		break;
	default:
		pv->value_case = HRANA__VALUE__VALUE_NULL_VALUE;
		pv->null_value = &hpb_empty;
		break;
	}
}

static Hrana__Value **e_values(struct arena *t, const struct hr_value *v, size_t n)
{
	if (!n)
		return NULL;
	Hrana__Value *all = ARENA_ARRAY(t, Hrana__Value, n);
	Hrana__Value **pp = ARENA_ARRAY(t, Hrana__Value *, n);
	for (size_t i = 0; i < n; i++) {
		e_value_into(&all[i], &v[i]);
		pp[i] = &all[i];
	}
	return pp;
}

static Hrana__Error *e_error(struct arena *t, const struct hr_error *er)
{
	Hrana__Error *pe = ARENA_NEW(t, Hrana__Error);
	hrana__error__init(pe);
	pe->message = S(er->message);
	if (er->code) {
		pe->opt_code_case = HRANA__ERROR__OPT_CODE_CODE;
		pe->code = (char *)er->code;
	}
	return pe;
}

static Hrana__Col **e_cols(struct arena *t, const struct hr_col *cols, size_t n)
{
	if (!n)
		return NULL;
	Hrana__Col *all = ARENA_ARRAY(t, Hrana__Col, n);
	Hrana__Col **pp = ARENA_ARRAY(t, Hrana__Col *, n);
	for (size_t i = 0; i < n; i++) {
		hrana__col__init(&all[i]);
		if (cols[i].name) {
			all[i].opt_name_case = HRANA__COL__OPT_NAME_NAME;
			all[i].name = (char *)cols[i].name;
		}
		if (cols[i].decltype) {
			all[i].opt_decltype_case = HRANA__COL__OPT_DECLTYPE_DECLTYPE;
			all[i].decltype = (char *)cols[i].decltype;
		}
		pp[i] = &all[i];
	}
	return pp;
}

static Hrana__StmtResult *e_stmt_result(struct arena *t, const struct hr_stmt_result *r)
{
	Hrana__StmtResult *ps = ARENA_NEW(t, Hrana__StmtResult);
	hrana__stmt_result__init(ps);
	if (!r)
		return ps;
	ps->n_cols = r->ncols;
	ps->cols = e_cols(t, r->cols, r->ncols);
	ps->n_rows = r->nrows;
	if (r->nrows) {
		Hrana__Row *rows = ARENA_ARRAY(t, Hrana__Row, r->nrows);
		ps->rows = ARENA_ARRAY(t, Hrana__Row *, r->nrows);
		for (size_t i = 0; i < r->nrows; i++) {
			hrana__row__init(&rows[i]);
			rows[i].n_values = r->ncols;
			rows[i].values = r->ncols ? e_values(t, r->rows + i * r->ncols, r->ncols) : NULL;
			ps->rows[i] = &rows[i];
		}
	}
	ps->affected_row_count = r->affected_row_count;
	if (r->has_last_insert_rowid) {
		ps->opt_last_insert_rowid_case = HRANA__STMT_RESULT__OPT_LAST_INSERT_ROWID_LAST_INSERT_ROWID;
		ps->last_insert_rowid = r->last_insert_rowid;
	}
	if (r->has_replication_index) {
		ps->opt_replication_index_case = HRANA__STMT_RESULT__OPT_REPLICATION_INDEX_REPLICATION_INDEX;
		ps->replication_index = r->replication_index;
	}
	ps->rows_read = r->rows_read;
	ps->rows_written = r->rows_written;
	ps->query_duration_ms = r->query_duration_ms;
	return ps;
}

static Hrana__BatchResult *e_batch_result(struct arena *t, const struct hr_batch_result *r)
{
	Hrana__BatchResult *pb = ARENA_NEW(t, Hrana__BatchResult);
	hrana__batch_result__init(pb);
	if (!r || !r->nsteps)
		return pb;
	pb->step_results = ARENA_ARRAY(t, Hrana__BatchResult__StepResult *, r->nsteps);
	pb->step_errors = ARENA_ARRAY(t, Hrana__BatchResult__StepError *, r->nsteps);
	for (size_t i = 0; i < r->nsteps; i++) {
		if (r->step_results && r->step_results[i]) {
			Hrana__BatchResult__StepResult *en = ARENA_NEW(t, Hrana__BatchResult__StepResult);
			hrana__batch_result__step_result__init(en);
			en->key = (uint32_t)i;
			en->value = e_stmt_result(t, r->step_results[i]);
			pb->step_results[pb->n_step_results++] = en;
		}
		if (r->step_errors && r->step_errors[i]) {
			Hrana__BatchResult__StepError *en = ARENA_NEW(t, Hrana__BatchResult__StepError);
			hrana__batch_result__step_error__init(en);
			en->key = (uint32_t)i;
			en->value = e_error(t, r->step_errors[i]);
			pb->step_errors[pb->n_step_errors++] = en;
		}
	}
	return pb;
}

static Hrana__DescribeResult *e_describe_result(struct arena *t, const struct hr_describe_result *r)
{
	Hrana__DescribeResult *pd = ARENA_NEW(t, Hrana__DescribeResult);
	hrana__describe_result__init(pd);
	if (!r)
		return pd;
	pd->n_params = r->nparams;
	if (r->nparams) {
		Hrana__DescribeParam *all = ARENA_ARRAY(t, Hrana__DescribeParam, r->nparams);
		pd->params = ARENA_ARRAY(t, Hrana__DescribeParam *, r->nparams);
		for (size_t i = 0; i < r->nparams; i++) {
			hrana__describe_param__init(&all[i]);
			if (r->params[i].name) {
				all[i].opt_name_case = HRANA__DESCRIBE_PARAM__OPT_NAME_NAME;
				all[i].name = (char *)r->params[i].name;
			}
			pd->params[i] = &all[i];
		}
	}
	pd->n_cols = r->ncols;
	if (r->ncols) {
		Hrana__DescribeCol *all = ARENA_ARRAY(t, Hrana__DescribeCol, r->ncols);
		pd->cols = ARENA_ARRAY(t, Hrana__DescribeCol *, r->ncols);
		for (size_t i = 0; i < r->ncols; i++) {
			hrana__describe_col__init(&all[i]);
			all[i].name = S(r->cols[i].name);
			if (r->cols[i].decltype) {
				all[i].opt_decltype_case = HRANA__DESCRIBE_COL__OPT_DECLTYPE_DECLTYPE;
				all[i].decltype = (char *)r->cols[i].decltype;
			}
			pd->cols[i] = &all[i];
		}
	}
	pd->is_explain = r->is_explain;
	pd->is_readonly = r->is_readonly;
	return pd;
}

static Hrana__CursorEntry *e_entry(struct arena *t, const struct hr_cursor_entry *en)
{
	Hrana__CursorEntry *pe = ARENA_NEW(t, Hrana__CursorEntry);
	hrana__cursor_entry__init(pe);
	switch (en->type) {
	case HR_ENTRY_STEP_BEGIN:
		pe->entry_case = HRANA__CURSOR_ENTRY__ENTRY_STEP_BEGIN;
		pe->step_begin = ARENA_NEW(t, Hrana__StepBeginEntry);
		hrana__step_begin_entry__init(pe->step_begin);
		pe->step_begin->step = en->step;
		pe->step_begin->n_cols = en->ncols;
		pe->step_begin->cols = e_cols(t, en->cols, en->ncols);
		break;
	case HR_ENTRY_STEP_END:
		pe->entry_case = HRANA__CURSOR_ENTRY__ENTRY_STEP_END;
		pe->step_end = ARENA_NEW(t, Hrana__StepEndEntry);
		hrana__step_end_entry__init(pe->step_end);
		pe->step_end->affected_row_count = en->affected_row_count;
		if (en->has_last_insert_rowid) {
			pe->step_end->opt_last_insert_rowid_case = HRANA__STEP_END_ENTRY__OPT_LAST_INSERT_ROWID_LAST_INSERT_ROWID;
			pe->step_end->last_insert_rowid = en->last_insert_rowid;
		}
		break;
	case HR_ENTRY_STEP_ERROR:
		pe->entry_case = HRANA__CURSOR_ENTRY__ENTRY_STEP_ERROR;
		pe->step_error = ARENA_NEW(t, Hrana__StepErrorEntry);
		hrana__step_error_entry__init(pe->step_error);
		pe->step_error->step = en->step;
		pe->step_error->error = e_error(t, &en->error);
		break;
	case HR_ENTRY_ROW:
		pe->entry_case = HRANA__CURSOR_ENTRY__ENTRY_ROW;
		pe->row = ARENA_NEW(t, Hrana__Row);
		hrana__row__init(pe->row);
		pe->row->n_values = en->nrow;
		pe->row->values = e_values(t, en->row, en->nrow);
		break;
	default:
		pe->entry_case = HRANA__CURSOR_ENTRY__ENTRY_ERROR;
		pe->error = e_error(t, &en->error);
		break;
	}
	return pe;
}

/* ---- server side ---- */

static void *e_exec(struct arena *t, const struct hr_resp *r)
{
	Hrana__ExecuteResp *x = ARENA_NEW(t, Hrana__ExecuteResp);
	hrana__execute_resp__init(x);
	x->result = e_stmt_result(t, r->stmt_result);
	return x;
}

static void *e_batch_resp(struct arena *t, const struct hr_resp *r)
{
	Hrana__BatchResp *x = ARENA_NEW(t, Hrana__BatchResp);
	hrana__batch_resp__init(x);
	x->result = e_batch_result(t, r->batch_result);
	return x;
}

static void *e_describe(struct arena *t, const struct hr_resp *r)
{
	Hrana__DescribeResp *x = ARENA_NEW(t, Hrana__DescribeResp);
	hrana__describe_resp__init(x);
	x->result = e_describe_result(t, r->describe_result);
	return x;
}

static void *e_autocommit(struct arena *t, const struct hr_resp *r)
{
	Hrana__GetAutocommitResp *x = ARENA_NEW(t, Hrana__GetAutocommitResp);
	hrana__get_autocommit_resp__init(x);
	x->is_autocommit = r->is_autocommit;
	return x;
}

static void *e_fetch(struct arena *t, const struct hr_resp *r)
{
	Hrana__FetchCursorResp *x = ARENA_NEW(t, Hrana__FetchCursorResp);
	hrana__fetch_cursor_resp__init(x);
	x->done = r->done;
	x->n_entries = r->nentries;
	x->entries = r->nentries ? ARENA_ARRAY(t, Hrana__CursorEntry *, r->nentries) : NULL;
	for (size_t i = 0; i < r->nentries; i++)
		x->entries[i] = e_entry(t, &r->entries[i]);
	return x;
}

/* The response body for a WS response of type t: its field number in
 * ResponseOkMsg equals the RequestMsg one (hr_req_type + 1). */
static void e_ws_resp(struct arena *t, Hrana__ResponseOkMsg *ok, const struct hr_resp *r)
{
	ok->response_case = (Hrana__ResponseOkMsg__ResponseCase)((int)r->type + 1);
	switch (r->type) {
	case HR_REQ_EXECUTE:
		ok->execute = e_exec(t, r);
		break;
	case HR_REQ_BATCH:
		ok->batch = e_batch_resp(t, r);
		break;
	case HR_REQ_FETCH_CURSOR:
		ok->fetch_cursor = e_fetch(t, r);
		break;
	case HR_REQ_DESCRIBE:
		ok->describe = e_describe(t, r);
		break;
	case HR_REQ_GET_AUTOCOMMIT:
		ok->get_autocommit = e_autocommit(t, r);
		break;
	case HR_REQ_OPEN_STREAM:
	case HR_REQ_CLOSE_STREAM:
	case HR_REQ_OPEN_CURSOR:
	case HR_REQ_CLOSE_CURSOR:
	case HR_REQ_SEQUENCE:
	case HR_REQ_STORE_SQL:
	case HR_REQ_CLOSE_SQL:
		ok->open_stream = &hpb_empty; /* every member of the union is an Empty * here */
		break;
	default: /* HTTP "close" has no WS response: leave the oneof unset */
		ok->response_case = HRANA__RESPONSE_OK_MSG__RESPONSE__NOT_SET;
		break;
	}
}

void hpb_encode_server_msg(struct buf *b, const struct hr_server_msg *m)
{
	struct arena t;
	arena_init(&t);
	Hrana__ServerMsg sm = HRANA__SERVER_MSG__INIT;
	Hrana__HelloErrorMsg he = HRANA__HELLO_ERROR_MSG__INIT;
	Hrana__ResponseErrorMsg re = HRANA__RESPONSE_ERROR_MSG__INIT;
	Hrana__ResponseOkMsg ok = HRANA__RESPONSE_OK_MSG__INIT;
	switch (m->type) {
	case HR_SMSG_HELLO_ERROR:
		sm.msg_case = HRANA__SERVER_MSG__MSG_HELLO_ERROR;
		sm.hello_error = &he;
		he.error = e_error(&t, &m->error);
		break;
	case HR_SMSG_RESPONSE_OK:
		sm.msg_case = HRANA__SERVER_MSG__MSG_RESPONSE_OK;
		sm.response_ok = &ok;
		ok.request_id = m->request_id;
		e_ws_resp(&t, &ok, &m->resp);
		break;
	case HR_SMSG_RESPONSE_ERROR:
		sm.msg_case = HRANA__SERVER_MSG__MSG_RESPONSE_ERROR;
		sm.response_error = &re;
		re.request_id = m->request_id;
		re.error = e_error(&t, &m->error);
		break;
	default:
		sm.msg_case = HRANA__SERVER_MSG__MSG_HELLO_OK;
		sm.hello_ok = &hpb_empty;
		break;
	}
	e_pack(b, &sm.base);
	arena_free(&t);
}

static Hrana__StreamResponse *e_stream_resp(struct arena *t, const struct hr_resp *r)
{
	Hrana__StreamResponse *sr = ARENA_NEW(t, Hrana__StreamResponse);
	hrana__stream_response__init(sr);
	switch (r->type) {
	case HR_REQ_CLOSE:
		sr->response_case = HRANA__STREAM_RESPONSE__RESPONSE_CLOSE;
		sr->close = &hpb_empty;
		break;
	case HR_REQ_EXECUTE:
		sr->response_case = HRANA__STREAM_RESPONSE__RESPONSE_EXECUTE;
		sr->execute = e_exec(t, r);
		break;
	case HR_REQ_BATCH:
		sr->response_case = HRANA__STREAM_RESPONSE__RESPONSE_BATCH;
		sr->batch = e_batch_resp(t, r);
		break;
	case HR_REQ_SEQUENCE:
		sr->response_case = HRANA__STREAM_RESPONSE__RESPONSE_SEQUENCE;
		sr->sequence = &hpb_empty;
		break;
	case HR_REQ_DESCRIBE:
		sr->response_case = HRANA__STREAM_RESPONSE__RESPONSE_DESCRIBE;
		sr->describe = e_describe(t, r);
		break;
	case HR_REQ_STORE_SQL:
		sr->response_case = HRANA__STREAM_RESPONSE__RESPONSE_STORE_SQL;
		sr->store_sql = &hpb_empty;
		break;
	case HR_REQ_CLOSE_SQL:
		sr->response_case = HRANA__STREAM_RESPONSE__RESPONSE_CLOSE_SQL;
		sr->close_sql = &hpb_empty;
		break;
	case HR_REQ_GET_AUTOCOMMIT:
		sr->response_case = HRANA__STREAM_RESPONSE__RESPONSE_GET_AUTOCOMMIT;
		sr->get_autocommit = e_autocommit(t, r);
		break;
	default: /* WS-only types have no HTTP response */
		break;
	}
	return sr;
}

void hpb_encode_pipeline_resp(struct buf *b, const struct hr_pipeline_resp *r)
{
	struct arena t;
	arena_init(&t);
	Hrana__PipelineRespBody pr = HRANA__PIPELINE_RESP_BODY__INIT;
	if (r->baton) {
		pr.opt_baton_case = HRANA__PIPELINE_RESP_BODY__OPT_BATON_BATON;
		pr.baton = (char *)r->baton;
	}
	if (r->base_url) {
		pr.opt_base_url_case = HRANA__PIPELINE_RESP_BODY__OPT_BASE_URL_BASE_URL;
		pr.base_url = (char *)r->base_url;
	}
	pr.n_results = r->nresults;
	if (r->nresults) {
		Hrana__StreamResult *all = ARENA_ARRAY(&t, Hrana__StreamResult, r->nresults);
		pr.results = ARENA_ARRAY(&t, Hrana__StreamResult *, r->nresults);
		for (size_t i = 0; i < r->nresults; i++) {
			hrana__stream_result__init(&all[i]);
			if (r->results[i].ok) {
				all[i].result_case = HRANA__STREAM_RESULT__RESULT_OK;
				all[i].ok = e_stream_resp(&t, &r->results[i].resp);
			} else {
				all[i].result_case = HRANA__STREAM_RESULT__RESULT_ERROR;
				all[i].error = e_error(&t, &r->results[i].error);
			}
			pr.results[i] = &all[i];
		}
	}
	e_pack(b, &pr.base);
	arena_free(&t);
}

void hpb_encode_error(struct buf *b, const struct hr_error *er)
{
	struct arena t;
	arena_init(&t);
	e_pack(b, &e_error(&t, er)->base);
	arena_free(&t);
}

void hpb_encode_cursor_resp_delim(struct buf *b, const struct hr_cursor_resp *r)
{
	Hrana__CursorRespBody cr = HRANA__CURSOR_RESP_BODY__INIT;
	if (r->baton) {
		cr.opt_baton_case = HRANA__CURSOR_RESP_BODY__OPT_BATON_BATON;
		cr.baton = (char *)r->baton;
	}
	if (r->base_url) {
		cr.opt_base_url_case = HRANA__CURSOR_RESP_BODY__OPT_BASE_URL_BASE_URL;
		cr.base_url = (char *)r->base_url;
	}
	e_pack_delim(b, &cr.base);
}

void hpb_encode_cursor_entry_delim(struct buf *b, const struct hr_cursor_entry *en)
{
	struct arena t;
	arena_init(&t);
	e_pack_delim(b, &e_entry(&t, en)->base);
	arena_free(&t);
}

/* ---- client side: requests ---- */

static Hrana__Value *e_value(struct arena *t, const struct hr_value *v)
{
	Hrana__Value *pv = ARENA_NEW(t, Hrana__Value);
	e_value_into(pv, v);
	return pv;
}

static Hrana__Stmt *e_stmt(struct arena *t, const struct hr_stmt *s)
{
	Hrana__Stmt *ps = ARENA_NEW(t, Hrana__Stmt);
	hrana__stmt__init(ps);
	if (s->sql) {
		ps->opt_sql_case = HRANA__STMT__OPT_SQL_SQL;
		ps->sql = (char *)s->sql;
	}
	if (s->has_sql_id) {
		ps->opt_sql_id_case = HRANA__STMT__OPT_SQL_ID_SQL_ID;
		ps->sql_id = s->sql_id;
	}
	ps->n_args = s->nargs;
	ps->args = e_values(t, s->args, s->nargs);
	ps->n_named_args = s->nnamed;
	if (s->nnamed) {
		ps->named_args = ARENA_ARRAY(t, Hrana__NamedArg *, s->nnamed);
		for (size_t i = 0; i < s->nnamed; i++) {
			Hrana__NamedArg *na = ARENA_NEW(t, Hrana__NamedArg);
			hrana__named_arg__init(na);
			na->name = S(s->named[i].name);
			na->value = e_value(t, &s->named[i].value);
			ps->named_args[i] = na;
		}
	}
	ps->opt_want_rows_case = HRANA__STMT__OPT_WANT_ROWS_WANT_ROWS;
	ps->want_rows = s->want_rows;
	return ps;
}

static Hrana__BatchCond *e_cond(struct arena *t, const struct hr_cond *c)
{
	Hrana__BatchCond *pc = ARENA_NEW(t, Hrana__BatchCond);
	hrana__batch_cond__init(pc);
	Hrana__BatchCond__CondList *list = NULL;
	switch (c->type) {
	case HR_COND_OK:
		pc->cond_case = HRANA__BATCH_COND__COND_STEP_OK;
		pc->step_ok = c->step;
		return pc;
	case HR_COND_ERROR:
		pc->cond_case = HRANA__BATCH_COND__COND_STEP_ERROR;
		pc->step_error = c->step;
		return pc;
	case HR_COND_NOT:
		pc->cond_case = HRANA__BATCH_COND__COND_NOT_COND;
		pc->not_cond = e_cond(t, c->conds);
		return pc;
	case HR_COND_IS_AUTOCOMMIT:
		pc->cond_case = HRANA__BATCH_COND__COND_IS_AUTOCOMMIT;
		pc->is_autocommit = &hpb_empty;
		return pc;
	case HR_COND_AND:
	case HR_COND_OR:
		list = ARENA_NEW(t, Hrana__BatchCond__CondList);
		hrana__batch_cond__cond_list__init(list);
		list->n_conds = c->nconds;
		list->conds = c->nconds ? ARENA_ARRAY(t, Hrana__BatchCond *, c->nconds) : NULL;
		for (size_t i = 0; i < c->nconds; i++)
			list->conds[i] = e_cond(t, &c->conds[i]);
		if (c->type == HR_COND_AND) {
			pc->cond_case = HRANA__BATCH_COND__COND_AND_CONDS;
			pc->and_conds = list;
		} else {
			pc->cond_case = HRANA__BATCH_COND__COND_OR_CONDS;
			pc->or_conds = list;
		}
		return pc;
	}
	return pc;
}

static Hrana__Batch *e_batch(struct arena *t, const struct hr_batch *bt)
{
	Hrana__Batch *pb = ARENA_NEW(t, Hrana__Batch);
	hrana__batch__init(pb);
	pb->n_steps = bt->nsteps;
	pb->steps = bt->nsteps ? ARENA_ARRAY(t, Hrana__BatchStep *, bt->nsteps) : NULL;
	for (size_t i = 0; i < bt->nsteps; i++) {
		Hrana__BatchStep *ps = ARENA_NEW(t, Hrana__BatchStep);
		hrana__batch_step__init(ps);
		if (bt->steps[i].cond)
			ps->condition = e_cond(t, bt->steps[i].cond);
		ps->stmt = e_stmt(t, &bt->steps[i].stmt);
		pb->steps[i] = ps;
	}
	return pb;
}

/* Sets the opt_sql / opt_sql_id oneofs of a sequence / describe message. */
#define SET_SQL_OR_ID(m, PFX, r)                                 \
	do {                                                     \
		if ((r)->sql) {                                  \
			(m)->opt_sql_case = PFX##__OPT_SQL_SQL;  \
			(m)->sql = (char *)(r)->sql;             \
		}                                                \
		if ((r)->has_sql_id) {                           \
			(m)->opt_sql_id_case = PFX##__OPT_SQL_ID_SQL_ID; \
			(m)->sql_id = (r)->sql_id;               \
		}                                                \
	} while (0)


void hpb_encode_client_msg(struct buf *b, const struct hr_client_msg *m)
{
	struct arena t;
	arena_init(&t);
	Hrana__ClientMsg cm = HRANA__CLIENT_MSG__INIT;
	if (m->type == HR_CMSG_HELLO) {
		Hrana__HelloMsg *h = ARENA_NEW(&t, Hrana__HelloMsg);
		hrana__hello_msg__init(h);
		if (m->jwt) {
			h->opt_jwt_case = HRANA__HELLO_MSG__OPT_JWT_JWT;
			h->jwt = (char *)m->jwt;
		}
		cm.msg_case = HRANA__CLIENT_MSG__MSG_HELLO;
		cm.hello = h;
		e_pack(b, &cm.base);
		arena_free(&t);
		return;
	}
	const struct hr_req *r = &m->req;
	Hrana__RequestMsg *q = ARENA_NEW(&t, Hrana__RequestMsg);
	hrana__request_msg__init(q);
	q->request_id = m->request_id;
	cm.msg_case = HRANA__CLIENT_MSG__MSG_REQUEST;
	cm.request = q;
	switch (r->type) {
	case HR_REQ_OPEN_STREAM:
		q->request_case = HRANA__REQUEST_MSG__REQUEST_OPEN_STREAM;
		q->open_stream = ARENA_NEW(&t, Hrana__OpenStreamReq);
		hrana__open_stream_req__init(q->open_stream);
		q->open_stream->stream_id = r->stream_id;
		break;
	case HR_REQ_CLOSE_STREAM:
		q->request_case = HRANA__REQUEST_MSG__REQUEST_CLOSE_STREAM;
		q->close_stream = ARENA_NEW(&t, Hrana__CloseStreamReq);
		hrana__close_stream_req__init(q->close_stream);
		q->close_stream->stream_id = r->stream_id;
		break;
	case HR_REQ_EXECUTE:
		q->request_case = HRANA__REQUEST_MSG__REQUEST_EXECUTE;
		q->execute = ARENA_NEW(&t, Hrana__ExecuteReq);
		hrana__execute_req__init(q->execute);
		q->execute->stream_id = r->stream_id;
		q->execute->stmt = e_stmt(&t, &r->stmt);
		break;
	case HR_REQ_BATCH:
		q->request_case = HRANA__REQUEST_MSG__REQUEST_BATCH;
		q->batch = ARENA_NEW(&t, Hrana__BatchReq);
		hrana__batch_req__init(q->batch);
		q->batch->stream_id = r->stream_id;
		q->batch->batch = e_batch(&t, &r->batch);
		break;
	case HR_REQ_OPEN_CURSOR:
		q->request_case = HRANA__REQUEST_MSG__REQUEST_OPEN_CURSOR;
		q->open_cursor = ARENA_NEW(&t, Hrana__OpenCursorReq);
		hrana__open_cursor_req__init(q->open_cursor);
		q->open_cursor->stream_id = r->stream_id;
		q->open_cursor->cursor_id = r->cursor_id;
		q->open_cursor->batch = e_batch(&t, &r->batch);
		break;
	case HR_REQ_CLOSE_CURSOR:
		q->request_case = HRANA__REQUEST_MSG__REQUEST_CLOSE_CURSOR;
		q->close_cursor = ARENA_NEW(&t, Hrana__CloseCursorReq);
		hrana__close_cursor_req__init(q->close_cursor);
		q->close_cursor->cursor_id = r->cursor_id;
		break;
	case HR_REQ_FETCH_CURSOR:
		q->request_case = HRANA__REQUEST_MSG__REQUEST_FETCH_CURSOR;
		q->fetch_cursor = ARENA_NEW(&t, Hrana__FetchCursorReq);
		hrana__fetch_cursor_req__init(q->fetch_cursor);
		q->fetch_cursor->cursor_id = r->cursor_id;
		q->fetch_cursor->max_count = r->max_count;
		break;
	case HR_REQ_SEQUENCE:
		q->request_case = HRANA__REQUEST_MSG__REQUEST_SEQUENCE;
		q->sequence = ARENA_NEW(&t, Hrana__SequenceReq);
		hrana__sequence_req__init(q->sequence);
		q->sequence->stream_id = r->stream_id;
		SET_SQL_OR_ID(q->sequence, HRANA__SEQUENCE_REQ, r);
		break;
	case HR_REQ_DESCRIBE:
		q->request_case = HRANA__REQUEST_MSG__REQUEST_DESCRIBE;
		q->describe = ARENA_NEW(&t, Hrana__DescribeReq);
		hrana__describe_req__init(q->describe);
		q->describe->stream_id = r->stream_id;
		SET_SQL_OR_ID(q->describe, HRANA__DESCRIBE_REQ, r);
		break;
	case HR_REQ_STORE_SQL:
		q->request_case = HRANA__REQUEST_MSG__REQUEST_STORE_SQL;
		q->store_sql = ARENA_NEW(&t, Hrana__StoreSqlReq);
		hrana__store_sql_req__init(q->store_sql);
		q->store_sql->sql_id = r->sql_id;
		q->store_sql->sql = S(r->sql);
		break;
	case HR_REQ_CLOSE_SQL:
		q->request_case = HRANA__REQUEST_MSG__REQUEST_CLOSE_SQL;
		q->close_sql = ARENA_NEW(&t, Hrana__CloseSqlReq);
		hrana__close_sql_req__init(q->close_sql);
		q->close_sql->sql_id = r->sql_id;
		break;
	case HR_REQ_GET_AUTOCOMMIT:
		q->request_case = HRANA__REQUEST_MSG__REQUEST_GET_AUTOCOMMIT;
		q->get_autocommit = ARENA_NEW(&t, Hrana__GetAutocommitReq);
		hrana__get_autocommit_req__init(q->get_autocommit);
		q->get_autocommit->stream_id = r->stream_id;
		break;
	default: /* HTTP close: no WS request; leave the oneof unset */
		break;
	}
	e_pack(b, &cm.base);
	arena_free(&t);
}

static Hrana__StreamRequest *e_stream_req(struct arena *t, const struct hr_req *r)
{
	Hrana__StreamRequest *q = ARENA_NEW(t, Hrana__StreamRequest);
	hrana__stream_request__init(q);
	switch (r->type) {
	case HR_REQ_CLOSE:
		q->request_case = HRANA__STREAM_REQUEST__REQUEST_CLOSE;
		q->close = &hpb_empty;
		break;
	case HR_REQ_EXECUTE:
		q->request_case = HRANA__STREAM_REQUEST__REQUEST_EXECUTE;
		q->execute = ARENA_NEW(t, Hrana__ExecuteStreamReq);
		hrana__execute_stream_req__init(q->execute);
		q->execute->stmt = e_stmt(t, &r->stmt);
		break;
	case HR_REQ_BATCH:
		q->request_case = HRANA__STREAM_REQUEST__REQUEST_BATCH;
		q->batch = ARENA_NEW(t, Hrana__BatchStreamReq);
		hrana__batch_stream_req__init(q->batch);
		q->batch->batch = e_batch(t, &r->batch);
		break;
	case HR_REQ_SEQUENCE:
		q->request_case = HRANA__STREAM_REQUEST__REQUEST_SEQUENCE;
		q->sequence = ARENA_NEW(t, Hrana__SequenceStreamReq);
		hrana__sequence_stream_req__init(q->sequence);
		SET_SQL_OR_ID(q->sequence, HRANA__SEQUENCE_STREAM_REQ, r);
		break;
	case HR_REQ_DESCRIBE:
		q->request_case = HRANA__STREAM_REQUEST__REQUEST_DESCRIBE;
		q->describe = ARENA_NEW(t, Hrana__DescribeStreamReq);
		hrana__describe_stream_req__init(q->describe);
		SET_SQL_OR_ID(q->describe, HRANA__DESCRIBE_STREAM_REQ, r);
		break;
	case HR_REQ_STORE_SQL:
		q->request_case = HRANA__STREAM_REQUEST__REQUEST_STORE_SQL;
		q->store_sql = ARENA_NEW(t, Hrana__StoreSqlStreamReq);
		hrana__store_sql_stream_req__init(q->store_sql);
		q->store_sql->sql_id = r->sql_id;
		q->store_sql->sql = S(r->sql);
		break;
	case HR_REQ_CLOSE_SQL:
		q->request_case = HRANA__STREAM_REQUEST__REQUEST_CLOSE_SQL;
		q->close_sql = ARENA_NEW(t, Hrana__CloseSqlStreamReq);
		hrana__close_sql_stream_req__init(q->close_sql);
		q->close_sql->sql_id = r->sql_id;
		break;
	case HR_REQ_GET_AUTOCOMMIT:
		q->request_case = HRANA__STREAM_REQUEST__REQUEST_GET_AUTOCOMMIT;
		q->get_autocommit = &hpb_empty;
		break;
	default: /* WS-only requests: leave the oneof unset */
		break;
	}
	return q;
}

void hpb_encode_pipeline_req(struct buf *b, const struct hr_pipeline_req *r)
{
	struct arena t;
	arena_init(&t);
	Hrana__PipelineReqBody pr = HRANA__PIPELINE_REQ_BODY__INIT;
	if (r->baton) {
		pr.opt_baton_case = HRANA__PIPELINE_REQ_BODY__OPT_BATON_BATON;
		pr.baton = (char *)r->baton;
	}
	pr.n_requests = r->nrequests;
	pr.requests = r->nrequests ? ARENA_ARRAY(&t, Hrana__StreamRequest *, r->nrequests) : NULL;
	for (size_t i = 0; i < r->nrequests; i++)
		pr.requests[i] = e_stream_req(&t, &r->requests[i]);
	e_pack(b, &pr.base);
	arena_free(&t);
}

void hpb_encode_cursor_req(struct buf *b, const struct hr_cursor_req *r)
{
	struct arena t;
	arena_init(&t);
	Hrana__CursorReqBody cr = HRANA__CURSOR_REQ_BODY__INIT;
	if (r->baton) {
		cr.opt_baton_case = HRANA__CURSOR_REQ_BODY__OPT_BATON_BATON;
		cr.baton = (char *)r->baton;
	}
	cr.batch = e_batch(&t, &r->batch);
	e_pack(b, &cr.base);
	arena_free(&t);
}
