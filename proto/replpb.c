/* replpb: see replpb.h. With pbwire.c (its decoder, shared with hpb), the
 * only file that sees protobuf-c types (generated from the proto/ schemas
 * into build/<variant>/gen/).
 *
 * Decoding is two passes over the bytes (pbwire.h, shared with hpb.c):
 *   1. a scan walks the wire format with the message descriptors, without
 *      allocating: it bounds the nesting depth (protobuf-c recurses once per
 *      nested message and has no limit of its own) and checks every known
 *      string field for UTF-8 without NULs, so that the C strings protobuf-c
 *      hands out are exactly the bytes that were sent;
 *   2. protobuf-c unpacks with an allocator that takes its memory from the
 *      caller's arena (its free is a no-op), so the decoded strings and bytes
 *      are used in place, and the plain structures are built next to them.
 * Encoding builds the protobuf-c structures in a temporary arena (pointing at
 * the caller's strings and bytes, plus the bincode bytes of the values) and
 * packs them straight into the caller's buf. */
#include "replpb.h"
#include "bincode.h"
#include "metadata.pb-c.h"
#include "proxy.pb-c.h"
#include "replication_log.pb-c.h"
#include "pbwire.h"
#include <string.h>

static ProtobufCMessage *rp_unpack(struct arena *a, const ProtobufCMessageDescriptor *d,
				   const void *p, size_t n, int *rc, struct err *e)
{
	static const struct pbwire_rules rules = {.max_depth = REPLPB_MAX_DEPTH, .no_nul = true};
	ProtobufCMessage *m = pbwire_unpack(a, d, p, n, &rules, rc, e);
	if (!m)
		*rc = *rc == PBWIRE_E_STRING ? REPLPB_E_INVALID : REPLPB_E_WIRE;
	return m;
}

/* A proxy.Value into an hr_value; `what`/`idx` name it in the message. */
static int rp_value_from(struct arena *a, const Proxy__Value *v, struct hr_value *out,
			 const char *what, size_t idx, struct err *e)
{
	struct err be;
	if (bincode_decode_value(a, v->data.data, v->data.len, out, &be) != 0) {
		err_set(e, "%s %zu: %s", what, idx, be.msg);
		return REPLPB_E_INVALID;
	}
	return 0;
}

static int rp_cond_from(struct arena *a, const Proxy__Cond *c, size_t step_i, struct hr_cond *out,
			struct err *e)
{
	memset(out, 0, sizeof *out);
	switch (c->cond_case) {
	case PROXY__COND__COND_OK:
	case PROXY__COND__COND_ERR: {
		int64_t st = c->cond_case == PROXY__COND__COND_OK ? c->ok->step : c->err->step;
		if (st < 0 || (uint64_t)st >= step_i || (uint64_t)st > UINT32_MAX) {
			err_set(e, "step %zu: its condition refers to step %lld (only earlier steps may "
				   "be referred to)",
				step_i, (long long)st);
			return REPLPB_E_INVALID;
		}
		out->type = c->cond_case == PROXY__COND__COND_OK ? HR_COND_OK : HR_COND_ERROR;
		out->step = (uint32_t)st;
		return 0;
	}
	case PROXY__COND__COND_NOT:
		if (!c->not_->cond) {
			err_set(e, "step %zu: NotCond without cond", step_i);
			return REPLPB_E_INVALID;
		}
		out->type = HR_COND_NOT;
		out->nconds = 1;
		out->conds = ARENA_NEW(a, struct hr_cond);
		return rp_cond_from(a, c->not_->cond, step_i, out->conds, e);
	case PROXY__COND__COND_AND:
	case PROXY__COND__COND_OR: {
		bool is_and = c->cond_case == PROXY__COND__COND_AND;
		size_t nc = is_and ? c->and_->n_conds : c->or_->n_conds;
		Proxy__Cond **cs = is_and ? c->and_->conds : c->or_->conds;
		out->type = is_and ? HR_COND_AND : HR_COND_OR;
		out->nconds = nc;
		out->conds = nc ? ARENA_ARRAY(a, struct hr_cond, nc) : NULL;
		for (size_t k = 0; k < nc; k++) {
			int rc = rp_cond_from(a, cs[k], step_i, &out->conds[k], e);
			if (rc)
				return rc;
		}
		return 0;
	}
	case PROXY__COND__COND_IS_AUTOCOMMIT:
		out->type = HR_COND_IS_AUTOCOMMIT;
		return 0;
	default:
		err_set(e, "step %zu: Cond with no condition set", step_i);
		return REPLPB_E_INVALID;
	}
}

static int rp_query_from(struct arena *a, const Proxy__Query *q, size_t step_i, struct hr_stmt *out,
			 struct err *e)
{
	memset(out, 0, sizeof *out);
	out->sql = q->stmt;
	out->want_rows = !q->skip_rows;
	int rc;
	if (q->params_case == PROXY__QUERY__PARAMS_POSITIONAL) {
		const Proxy__Positional *pos = q->positional;
		out->nargs = pos->n_values;
		out->args = out->nargs ? ARENA_ARRAY(a, struct hr_value, out->nargs) : NULL;
		for (size_t k = 0; k < out->nargs; k++)
			if ((rc = rp_value_from(a, pos->values[k], &out->args[k], "positional value", k,
						e)))
				return rc;
	} else if (q->params_case == PROXY__QUERY__PARAMS_NAMED) {
		const Proxy__Named *nm = q->named;
		if (nm->n_names != nm->n_values) {
			err_set(e, "step %zu: Named has %zu names but %zu values", step_i, nm->n_names,
				nm->n_values);
			return REPLPB_E_INVALID;
		}
		out->nnamed = nm->n_names;
		out->named = out->nnamed ? ARENA_ARRAY(a, struct hr_named_arg, out->nnamed) : NULL;
		for (size_t k = 0; k < out->nnamed; k++) {
			out->named[k].name = nm->names[k];
			if ((rc = rp_value_from(a, nm->values[k], &out->named[k].value, "named value",
						k, e)))
				return rc;
		}
	}
	return 0;
}

static int rp_program_from(struct arena *a, const Proxy__Program *pg, struct hr_batch *out,
			   struct err *e)
{
	memset(out, 0, sizeof *out);
	if (!pg)
		return 0;
	out->nsteps = pg->n_steps;
	out->steps = out->nsteps ? ARENA_ARRAY(a, struct hr_step, out->nsteps) : NULL;
	for (size_t i = 0; i < out->nsteps; i++) {
		const Proxy__Step *st = pg->steps[i];
		int rc;
		if (!st->query) {
			err_set(e, "step %zu has no query", i);
			return REPLPB_E_INVALID;
		}
		if (st->opt_cond_case == PROXY__STEP__OPT_COND_COND) {
			out->steps[i].cond = ARENA_NEW(a, struct hr_cond);
			if ((rc = rp_cond_from(a, st->cond, i, out->steps[i].cond, e)))
				return rc;
		}
		if ((rc = rp_query_from(a, st->query, i, &out->steps[i].stmt, e)))
			return rc;
	}
	return 0;
}

static void rp_cols_from(struct arena *a, Proxy__Column *const *cs, size_t n, struct hr_col **out,
			 size_t *nout)
{
	*nout = n;
	*out = n ? ARENA_ARRAY(a, struct hr_col, n) : NULL;
	for (size_t k = 0; k < n; k++) {
		(*out)[k].name = cs[k]->name;
		(*out)[k].decltype =
			cs[k]->opt_decltype_case == PROXY__COLUMN__OPT_DECLTYPE_DECLTYPE ? cs[k]->decltype
											 : NULL;
	}
}

static struct replpb_error *rp_error_from(struct arena *a, const Proxy__Error *er)
{
	struct replpb_error *o = ARENA_NEW(a, struct replpb_error);
	o->code = (int32_t)er->code;
	o->message = er->message;
	o->extended_code = er->extended_code;
	return o;
}

static int rp_rows_from(struct arena *a, const Proxy__ResultRows *r, size_t idx,
			struct hr_stmt_result *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	rp_cols_from(a, r->column_descriptions, r->n_column_descriptions, &out->cols, &out->ncols);
	out->nrows = r->n_rows;
	out->affected_row_count = r->affected_row_count;
	if (r->opt_last_insert_rowid_case == PROXY__RESULT_ROWS__OPT_LAST_INSERT_ROWID_LAST_INSERT_ROWID) {
		out->has_last_insert_rowid = true;
		out->last_insert_rowid = r->last_insert_rowid;
	}
	for (size_t k = 0; k < r->n_rows; k++)
		if (r->rows[k]->n_values != out->ncols) {
			err_set(e, "result %zu: row %zu has %zu values for %zu columns", idx, k,
				r->rows[k]->n_values, out->ncols);
			return REPLPB_E_INVALID;
		}
	/* nrows * ncols cannot overflow: that many values were decoded */
	size_t nv = out->nrows * out->ncols;
	out->rows = nv ? ARENA_ARRAY(a, struct hr_value, nv) : NULL;
	for (size_t k = 0; k < r->n_rows; k++)
		for (size_t c = 0; c < out->ncols; c++) {
			int rc = rp_value_from(a, r->rows[k]->values[c], &out->rows[k * out->ncols + c],
					       "row value", k * out->ncols + c, e);
			if (rc)
				return rc;
		}
	return 0;
}

static struct replpb_db_config *rp_config_from(struct arena *a, const Metadata__DatabaseConfig *c)
{
	struct replpb_db_config *o = ARENA_NEW(a, struct replpb_db_config);
	o->block_reads = c->block_reads;
	o->block_writes = c->block_writes;
	if (c->opt_block_reason_case == METADATA__DATABASE_CONFIG__OPT_BLOCK_REASON_BLOCK_REASON)
		o->block_reason = c->block_reason;
	o->max_db_pages = c->max_db_pages;
	if (c->opt_heartbeat_url_case == METADATA__DATABASE_CONFIG__OPT_HEARTBEAT_URL_HEARTBEAT_URL)
		o->heartbeat_url = c->heartbeat_url;
	if (c->opt_bottomless_db_id_case ==
	    METADATA__DATABASE_CONFIG__OPT_BOTTOMLESS_DB_ID_BOTTOMLESS_DB_ID)
		o->bottomless_db_id = c->bottomless_db_id;
	if (c->opt_jwt_key_case == METADATA__DATABASE_CONFIG__OPT_JWT_KEY_JWT_KEY)
		o->jwt_key = c->jwt_key;
	if (c->opt_txn_timeout_s_case == METADATA__DATABASE_CONFIG__OPT_TXN_TIMEOUT_S_TXN_TIMEOUT_S) {
		o->has_txn_timeout_s = true;
		o->txn_timeout_s = c->txn_timeout_s;
	}
	o->allow_attach = c->allow_attach;
	if (c->opt_max_row_size_case == METADATA__DATABASE_CONFIG__OPT_MAX_ROW_SIZE_MAX_ROW_SIZE) {
		o->has_max_row_size = true;
		o->max_row_size = c->max_row_size;
	}
	if (c->opt_shared_schema_case == METADATA__DATABASE_CONFIG__OPT_SHARED_SCHEMA_SHARED_SCHEMA) {
		o->has_shared_schema = true;
		o->shared_schema = c->shared_schema;
	}
	if (c->opt_shared_schema_name_case ==
	    METADATA__DATABASE_CONFIG__OPT_SHARED_SCHEMA_NAME_SHARED_SCHEMA_NAME)
		o->shared_schema_name = c->shared_schema_name;
	if (c->opt_durability_mode_case ==
	    METADATA__DATABASE_CONFIG__OPT_DURABILITY_MODE_DURABILITY_MODE) {
		o->has_durability_mode = true;
		o->durability_mode = (int32_t)c->durability_mode;
	}
	return o;
}

static void rp_frame_from(const WalLog__Frame *f, struct replpb_frame *out)
{
	memset(out, 0, sizeof *out);
	out->data = f->data.data;
	out->len = f->data.len;
	if (f->opt_timestamp_case == WAL_LOG__FRAME__OPT_TIMESTAMP_TIMESTAMP) {
		out->has_timestamp = true;
		out->timestamp = f->timestamp;
	}
	if (f->opt_durable_frame_no_case == WAL_LOG__FRAME__OPT_DURABLE_FRAME_NO_DURABLE_FRAME_NO) {
		out->has_durable_frame_no = true;
		out->durable_frame_no = f->durable_frame_no;
	}
}

#define RP_UNPACK(T, desc)                                                   \
	int rc;                                                              \
	const T *m = (const T *)rp_unpack(a, &(desc), p, n, &rc, e);        \
	if (!m)                                                              \
		return rc

int replpb_decode_hello_req(struct arena *a, const void *p, size_t n, struct replpb_hello_req *out,
			    struct err *e)
{
	RP_UNPACK(WalLog__HelloRequest, wal_log__hello_request__descriptor);
	memset(out, 0, sizeof *out);
	if (m->opt_handshake_version_case ==
	    WAL_LOG__HELLO_REQUEST__OPT_HANDSHAKE_VERSION_HANDSHAKE_VERSION) {
		out->has_handshake_version = true;
		out->handshake_version = m->handshake_version;
	}
	return 0;
}

int replpb_decode_log_offset(struct arena *a, const void *p, size_t n,
			     struct replpb_log_offset *out, struct err *e)
{
	RP_UNPACK(WalLog__LogOffset, wal_log__log_offset__descriptor);
	memset(out, 0, sizeof *out);
	out->next_offset = m->next_offset;
	if (m->opt_wal_flavor_case == WAL_LOG__LOG_OFFSET__OPT_WAL_FLAVOR_WAL_FLAVOR) {
		out->has_wal_flavor = true;
		out->wal_flavor = (int32_t)m->wal_flavor;
	}
	return 0;
}

int replpb_decode_program_req(struct arena *a, const void *p, size_t n,
			      struct replpb_program_req *out, struct err *e)
{
	RP_UNPACK(Proxy__ProgramReq, proxy__program_req__descriptor);
	memset(out, 0, sizeof *out);
	out->client_id = m->client_id;
	return rp_program_from(a, m->pgm, &out->pgm, e);
}

int replpb_decode_describe_req(struct arena *a, const void *p, size_t n,
			       struct replpb_describe_req *out, struct err *e)
{
	RP_UNPACK(Proxy__DescribeRequest, proxy__describe_request__descriptor);
	out->client_id = m->client_id;
	out->stmt = m->stmt;
	return 0;
}

int replpb_decode_disconnect(struct arena *a, const void *p, size_t n,
			     struct replpb_disconnect *out, struct err *e)
{
	RP_UNPACK(Proxy__DisconnectMessage, proxy__disconnect_message__descriptor);
	out->client_id = m->client_id;
	return 0;
}

int replpb_decode_hello_resp(struct arena *a, const void *p, size_t n,
			     struct replpb_hello_resp *out, struct err *e)
{
	RP_UNPACK(WalLog__HelloResponse, wal_log__hello_response__descriptor);
	memset(out, 0, sizeof *out);
	out->generation_id = m->generation_id;
	out->generation_start_index = m->generation_start_index;
	out->log_id = m->log_id;
	out->session_token = (const uint8_t *)arena_strndup(
		a, (const char *)m->session_token.data, m->session_token.len);
	out->session_token_len = m->session_token.len;
	if (m->opt_current_replication_index_case ==
	    WAL_LOG__HELLO_RESPONSE__OPT_CURRENT_REPLICATION_INDEX_CURRENT_REPLICATION_INDEX) {
		out->has_current_replication_index = true;
		out->current_replication_index = m->current_replication_index;
	}
	if (m->config)
		out->config = rp_config_from(a, m->config);
	return 0;
}

int replpb_decode_frame(struct arena *a, const void *p, size_t n, struct replpb_frame *out,
			struct err *e)
{
	RP_UNPACK(WalLog__Frame, wal_log__frame__descriptor);
	rp_frame_from(m, out);
	return 0;
}

int replpb_decode_frames(struct arena *a, const void *p, size_t n, struct replpb_frames *out,
			 struct err *e)
{
	RP_UNPACK(WalLog__Frames, wal_log__frames__descriptor);
	out->nframes = m->n_frames;
	out->frames = m->n_frames ? ARENA_ARRAY(a, struct replpb_frame, m->n_frames) : NULL;
	for (size_t k = 0; k < m->n_frames; k++)
		rp_frame_from(m->frames[k], &out->frames[k]);
	return 0;
}

int replpb_decode_execute_results(struct arena *a, const void *p, size_t n,
				  struct replpb_execute_results *out, struct err *e)
{
	RP_UNPACK(Proxy__ExecuteResults, proxy__execute_results__descriptor);
	memset(out, 0, sizeof *out);
	out->state = (int32_t)m->state;
	if (m->opt_current_frame_no_case ==
	    PROXY__EXECUTE_RESULTS__OPT_CURRENT_FRAME_NO_CURRENT_FRAME_NO) {
		out->has_current_frame_no = true;
		out->current_frame_no = m->current_frame_no;
	}
	out->nresults = m->n_results;
	out->results = m->n_results ? ARENA_ARRAY(a, struct replpb_query_result, m->n_results) : NULL;
	for (size_t k = 0; k < m->n_results; k++) {
		const Proxy__QueryResult *q = m->results[k];
		if (q->row_result_case == PROXY__QUERY_RESULT__ROW_RESULT_ERROR) {
			out->results[k].error = rp_error_from(a, q->error);
		} else if (q->row_result_case == PROXY__QUERY_RESULT__ROW_RESULT_ROW) {
			out->results[k].rows = ARENA_NEW(a, struct hr_stmt_result);
			if ((rc = rp_rows_from(a, q->row, k, out->results[k].rows, e)))
				return rc;
		} else {
			err_set(e, "result %zu has neither error nor rows", k);
			return REPLPB_E_INVALID;
		}
	}
	return 0;
}

int replpb_decode_describe_result(struct arena *a, const void *p, size_t n,
				  struct replpb_describe_result *out, struct err *e)
{
	RP_UNPACK(Proxy__DescribeResult, proxy__describe_result__descriptor);
	memset(out, 0, sizeof *out);
	if (m->describe_result_case == PROXY__DESCRIBE_RESULT__DESCRIBE_RESULT_ERROR) {
		out->error = rp_error_from(a, m->error);
		return 0;
	}
	if (m->describe_result_case != PROXY__DESCRIBE_RESULT__DESCRIBE_RESULT_DESCRIPTION) {
		err_set(e, "DescribeResult has neither error nor description");
		return REPLPB_E_INVALID;
	}
	const Proxy__Description *d = m->description;
	rp_cols_from(a, d->column_descriptions, d->n_column_descriptions, &out->cols, &out->ncols);
	out->nparam_names = d->n_param_names;
	out->param_names = (const char **)d->param_names;
	out->param_count = d->param_count;
	return 0;
}

/* ===================================================================== */
/* encoding                                                              */
/* ===================================================================== */

#define RP_STR(s) ((char *)((s) ? (s) : ""))

static void rp_pack(struct buf *b, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	buf_reserve(b, n);
	size_t w = protobuf_c_message_pack(m, (uint8_t *)b->p + b->len);
	b->len += w;
	b->p[b->len] = 0;
}

static size_t rp_put_varint(uint8_t *d, uint64_t v)
{
	size_t k = 0;
	while (v >= 0x80) {
		d[k++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	d[k++] = (uint8_t)v;
	return k;
}

static Proxy__Value *rp_value_to(struct arena *t, const struct hr_value *v)
{
	Proxy__Value *pv = ARENA_NEW(t, Proxy__Value);
	proxy__value__init(pv);
	size_t n = bincode_value_size(v);
	uint8_t *d = arena_alloc(t, n);
	bincode_write_value(d, v);
	pv->data.data = d;
	pv->data.len = n;
	return pv;
}

static Proxy__Column **rp_cols_to(struct arena *t, const struct hr_col *cols, size_t n)
{
	if (!n)
		return NULL;
	Proxy__Column **o = ARENA_ARRAY(t, Proxy__Column *, n);
	for (size_t k = 0; k < n; k++) {
		o[k] = ARENA_NEW(t, Proxy__Column);
		proxy__column__init(o[k]);
		o[k]->name = RP_STR(cols[k].name);
		if (cols[k].decltype) {
			o[k]->opt_decltype_case = PROXY__COLUMN__OPT_DECLTYPE_DECLTYPE;
			o[k]->decltype = (char *)cols[k].decltype;
		}
	}
	return o;
}

static Proxy__Error *rp_error_to(struct arena *t, const struct replpb_error *er)
{
	Proxy__Error *o = ARENA_NEW(t, Proxy__Error);
	proxy__error__init(o);
	o->code = (Proxy__Error__ErrorCode)er->code;
	o->message = RP_STR(er->message);
	o->extended_code = er->extended_code;
	return o;
}

static void rp_frame_to(WalLog__Frame *m, const struct replpb_frame *f)
{
	wal_log__frame__init(m);
	m->data.data = (uint8_t *)f->data;
	m->data.len = f->data ? f->len : 0;
	if (f->has_timestamp) {
		m->opt_timestamp_case = WAL_LOG__FRAME__OPT_TIMESTAMP_TIMESTAMP;
		m->timestamp = f->timestamp;
	}
	if (f->has_durable_frame_no) {
		m->opt_durable_frame_no_case = WAL_LOG__FRAME__OPT_DURABLE_FRAME_NO_DURABLE_FRAME_NO;
		m->durable_frame_no = f->durable_frame_no;
	}
}

void replpb_encode_hello_resp(struct buf *b, const struct replpb_hello_resp *r)
{
	WalLog__HelloResponse m = WAL_LOG__HELLO_RESPONSE__INIT;
	Metadata__DatabaseConfig cfg = METADATA__DATABASE_CONFIG__INIT;
	m.generation_id = RP_STR(r->generation_id);
	m.generation_start_index = r->generation_start_index;
	m.log_id = RP_STR(r->log_id);
	m.session_token.data = (uint8_t *)r->session_token;
	m.session_token.len = r->session_token ? r->session_token_len : 0;
	if (r->has_current_replication_index) {
		m.opt_current_replication_index_case =
			WAL_LOG__HELLO_RESPONSE__OPT_CURRENT_REPLICATION_INDEX_CURRENT_REPLICATION_INDEX;
		m.current_replication_index = r->current_replication_index;
	}
	const struct replpb_db_config *c = r->config;
	if (c) {
		cfg.block_reads = c->block_reads;
		cfg.block_writes = c->block_writes;
		if (c->block_reason) {
			cfg.opt_block_reason_case =
				METADATA__DATABASE_CONFIG__OPT_BLOCK_REASON_BLOCK_REASON;
			cfg.block_reason = (char *)c->block_reason;
		}
		cfg.max_db_pages = c->max_db_pages;
		if (c->heartbeat_url) {
			cfg.opt_heartbeat_url_case =
				METADATA__DATABASE_CONFIG__OPT_HEARTBEAT_URL_HEARTBEAT_URL;
			cfg.heartbeat_url = (char *)c->heartbeat_url;
		}
		if (c->bottomless_db_id) {
			cfg.opt_bottomless_db_id_case =
				METADATA__DATABASE_CONFIG__OPT_BOTTOMLESS_DB_ID_BOTTOMLESS_DB_ID;
			cfg.bottomless_db_id = (char *)c->bottomless_db_id;
		}
		if (c->jwt_key) {
			cfg.opt_jwt_key_case = METADATA__DATABASE_CONFIG__OPT_JWT_KEY_JWT_KEY;
			cfg.jwt_key = (char *)c->jwt_key;
		}
		if (c->has_txn_timeout_s) {
			cfg.opt_txn_timeout_s_case =
				METADATA__DATABASE_CONFIG__OPT_TXN_TIMEOUT_S_TXN_TIMEOUT_S;
			cfg.txn_timeout_s = c->txn_timeout_s;
		}
		cfg.allow_attach = c->allow_attach;
		if (c->has_max_row_size) {
			cfg.opt_max_row_size_case =
				METADATA__DATABASE_CONFIG__OPT_MAX_ROW_SIZE_MAX_ROW_SIZE;
			cfg.max_row_size = c->max_row_size;
		}
		if (c->has_shared_schema) {
			cfg.opt_shared_schema_case =
				METADATA__DATABASE_CONFIG__OPT_SHARED_SCHEMA_SHARED_SCHEMA;
			cfg.shared_schema = c->shared_schema;
		}
		if (c->shared_schema_name) {
			cfg.opt_shared_schema_name_case =
				METADATA__DATABASE_CONFIG__OPT_SHARED_SCHEMA_NAME_SHARED_SCHEMA_NAME;
			cfg.shared_schema_name = (char *)c->shared_schema_name;
		}
		if (c->has_durability_mode) {
			cfg.opt_durability_mode_case =
				METADATA__DATABASE_CONFIG__OPT_DURABILITY_MODE_DURABILITY_MODE;
			cfg.durability_mode = (Metadata__DurabilityMode)c->durability_mode;
		}
		m.config = &cfg;
	}
	rp_pack(b, &m.base);
}

void replpb_encode_frame(struct buf *b, const struct replpb_frame *f)
{
	WalLog__Frame m;
	rp_frame_to(&m, f);
	rp_pack(b, &m.base);
}

void replpb_frames_append(struct buf *b, const struct replpb_frame *f)
{
	WalLog__Frame m;
	rp_frame_to(&m, f);
	uint8_t hdr[11];
	hdr[0] = (1 << 3) | 2; /* Frames.frames = 1, length-delimited */
	size_t h = 1 + rp_put_varint(hdr + 1, protobuf_c_message_get_packed_size(&m.base));
	buf_put(b, hdr, h);
	rp_pack(b, &m.base);
}

void replpb_encode_frames(struct buf *b, const struct replpb_frames *f)
{
	buf_reserve(b, 0); /* an empty Frames still leaves b->p usable */
	for (size_t k = 0; k < f->nframes; k++)
		replpb_frames_append(b, &f->frames[k]);
}

void replpb_encode_execute_results(struct buf *b, const struct replpb_execute_results *r)
{
	struct arena t;
	arena_init(&t);
	Proxy__ExecuteResults m = PROXY__EXECUTE_RESULTS__INIT;
	m.state = (Proxy__State)r->state;
	if (r->has_current_frame_no) {
		m.opt_current_frame_no_case = PROXY__EXECUTE_RESULTS__OPT_CURRENT_FRAME_NO_CURRENT_FRAME_NO;
		m.current_frame_no = r->current_frame_no;
	}
	m.n_results = r->nresults;
	m.results = r->nresults ? ARENA_ARRAY(&t, Proxy__QueryResult *, r->nresults) : NULL;
	for (size_t k = 0; k < r->nresults; k++) {
		const struct replpb_query_result *qr = &r->results[k];
		Proxy__QueryResult *q = ARENA_NEW(&t, Proxy__QueryResult);
		proxy__query_result__init(q);
		m.results[k] = q;
		if (qr->error) {
			q->row_result_case = PROXY__QUERY_RESULT__ROW_RESULT_ERROR;
			q->error = rp_error_to(&t, qr->error);
			continue;
		}
		Proxy__ResultRows *rr = ARENA_NEW(&t, Proxy__ResultRows);
		proxy__result_rows__init(rr);
		q->row_result_case = PROXY__QUERY_RESULT__ROW_RESULT_ROW;
		q->row = rr;
		const struct hr_stmt_result *sr = qr->rows;
		if (!sr)
			continue;
		rr->n_column_descriptions = sr->ncols;
		rr->column_descriptions = rp_cols_to(&t, sr->cols, sr->ncols);
		rr->n_rows = sr->nrows;
		rr->rows = sr->nrows ? ARENA_ARRAY(&t, Proxy__Row *, sr->nrows) : NULL;
		for (size_t i = 0; i < sr->nrows; i++) {
			Proxy__Row *row = ARENA_NEW(&t, Proxy__Row);
			proxy__row__init(row);
			row->n_values = sr->ncols;
			row->values = sr->ncols ? ARENA_ARRAY(&t, Proxy__Value *, sr->ncols) : NULL;
			for (size_t c = 0; c < sr->ncols; c++)
				row->values[c] = rp_value_to(&t, &sr->rows[i * sr->ncols + c]);
			rr->rows[i] = row;
		}
		rr->affected_row_count = sr->affected_row_count;
		if (sr->has_last_insert_rowid) {
			rr->opt_last_insert_rowid_case =
				PROXY__RESULT_ROWS__OPT_LAST_INSERT_ROWID_LAST_INSERT_ROWID;
			rr->last_insert_rowid = sr->last_insert_rowid;
		}
	}
	rp_pack(b, &m.base);
	arena_free(&t);
}

void replpb_encode_describe_result(struct buf *b, const struct replpb_describe_result *r)
{
	struct arena t;
	arena_init(&t);
	Proxy__DescribeResult m = PROXY__DESCRIBE_RESULT__INIT;
	Proxy__Description d = PROXY__DESCRIPTION__INIT;
	if (r->error) {
		m.describe_result_case = PROXY__DESCRIBE_RESULT__DESCRIBE_RESULT_ERROR;
		m.error = rp_error_to(&t, r->error);
	} else {
		m.describe_result_case = PROXY__DESCRIBE_RESULT__DESCRIBE_RESULT_DESCRIPTION;
		m.description = &d;
		d.n_column_descriptions = r->ncols;
		d.column_descriptions = rp_cols_to(&t, r->cols, r->ncols);
		d.n_param_names = r->nparam_names;
		d.param_names = r->nparam_names ? ARENA_ARRAY(&t, char *, r->nparam_names) : NULL;
		for (size_t k = 0; k < r->nparam_names; k++)
			d.param_names[k] = RP_STR(r->param_names[k]);
		d.param_count = r->param_count;
	}
	rp_pack(b, &m.base);
	arena_free(&t);
}

void replpb_encode_hello_req(struct buf *b, const struct replpb_hello_req *r)
{
	WalLog__HelloRequest m = WAL_LOG__HELLO_REQUEST__INIT;
	if (r->has_handshake_version) {
		m.opt_handshake_version_case =
			WAL_LOG__HELLO_REQUEST__OPT_HANDSHAKE_VERSION_HANDSHAKE_VERSION;
		m.handshake_version = r->handshake_version;
	}
	rp_pack(b, &m.base);
}

void replpb_encode_log_offset(struct buf *b, const struct replpb_log_offset *r)
{
	WalLog__LogOffset m = WAL_LOG__LOG_OFFSET__INIT;
	m.next_offset = r->next_offset;
	if (r->has_wal_flavor) {
		m.opt_wal_flavor_case = WAL_LOG__LOG_OFFSET__OPT_WAL_FLAVOR_WAL_FLAVOR;
		m.wal_flavor = (WalLog__LogOffset__WalFlavor)r->wal_flavor;
	}
	rp_pack(b, &m.base);
}

static int rp_cond_to(struct arena *t, const struct hr_cond *c, size_t step_i, Proxy__Cond **out,
		      struct err *e)
{
	Proxy__Cond *o = ARENA_NEW(t, Proxy__Cond);
	proxy__cond__init(o);
	*out = o;
	switch (c->type) {
	case HR_COND_OK:
		o->cond_case = PROXY__COND__COND_OK;
		o->ok = ARENA_NEW(t, Proxy__OkCond);
		proxy__ok_cond__init(o->ok);
		o->ok->step = c->step;
		return 0;
	case HR_COND_ERROR:
		o->cond_case = PROXY__COND__COND_ERR;
		o->err = ARENA_NEW(t, Proxy__ErrCond);
		proxy__err_cond__init(o->err);
		o->err->step = c->step;
		return 0;
	case HR_COND_NOT:
		if (c->nconds != 1 || !c->conds) {
			err_set(e, "step %zu: a NOT condition needs exactly one operand", step_i);
			return REPLPB_E_INVALID;
		}
		o->cond_case = PROXY__COND__COND_NOT;
		o->not_ = ARENA_NEW(t, Proxy__NotCond);
		proxy__not_cond__init(o->not_);
		return rp_cond_to(t, &c->conds[0], step_i, &o->not_->cond, e);
	case HR_COND_AND:
	case HR_COND_OR: {
		Proxy__Cond **cs = c->nconds ? ARENA_ARRAY(t, Proxy__Cond *, c->nconds) : NULL;
		for (size_t k = 0; k < c->nconds; k++) {
			int rc = rp_cond_to(t, &c->conds[k], step_i, &cs[k], e);
			if (rc)
				return rc;
		}
		if (c->type == HR_COND_AND) {
			o->cond_case = PROXY__COND__COND_AND;
			o->and_ = ARENA_NEW(t, Proxy__AndCond);
			proxy__and_cond__init(o->and_);
			o->and_->n_conds = c->nconds;
			o->and_->conds = cs;
		} else {
			o->cond_case = PROXY__COND__COND_OR;
			o->or_ = ARENA_NEW(t, Proxy__OrCond);
			proxy__or_cond__init(o->or_);
			o->or_->n_conds = c->nconds;
			o->or_->conds = cs;
		}
		return 0;
	}
	case HR_COND_IS_AUTOCOMMIT:
		o->cond_case = PROXY__COND__COND_IS_AUTOCOMMIT;
		o->is_autocommit = ARENA_NEW(t, Proxy__IsAutocommitCond);
		proxy__is_autocommit_cond__init(o->is_autocommit);
		return 0;
	default:
		err_set(e, "step %zu: unknown condition type %d", step_i, (int)c->type);
		return REPLPB_E_INVALID;
	}
}

static int rp_query_to(struct arena *t, const struct hr_stmt *s, size_t step_i, Proxy__Query **out,
		       struct err *e)
{
	if (s->has_sql_id || !s->sql) {
		err_set(e, "step %zu: a statement needs its SQL text (stored SQL has no protobuf form)",
			step_i);
		return REPLPB_E_INVALID;
	}
	if (s->nargs && s->nnamed) {
		err_set(e, "step %zu: both positional and named arguments", step_i);
		return REPLPB_E_INVALID;
	}
	Proxy__Query *q = ARENA_NEW(t, Proxy__Query);
	proxy__query__init(q);
	q->stmt = (char *)s->sql;
	q->skip_rows = !s->want_rows;
	if (s->nnamed) {
		Proxy__Named *nm = ARENA_NEW(t, Proxy__Named);
		proxy__named__init(nm);
		nm->n_names = nm->n_values = s->nnamed;
		nm->names = ARENA_ARRAY(t, char *, s->nnamed);
		nm->values = ARENA_ARRAY(t, Proxy__Value *, s->nnamed);
		for (size_t k = 0; k < s->nnamed; k++) {
			nm->names[k] = RP_STR(s->named[k].name);
			nm->values[k] = rp_value_to(t, &s->named[k].value);
		}
		q->params_case = PROXY__QUERY__PARAMS_NAMED;
		q->named = nm;
	} else {
		Proxy__Positional *pos = ARENA_NEW(t, Proxy__Positional);
		proxy__positional__init(pos);
		pos->n_values = s->nargs;
		pos->values = s->nargs ? ARENA_ARRAY(t, Proxy__Value *, s->nargs) : NULL;
		for (size_t k = 0; k < s->nargs; k++)
			pos->values[k] = rp_value_to(t, &s->args[k]);
		q->params_case = PROXY__QUERY__PARAMS_POSITIONAL;
		q->positional = pos;
	}
	*out = q;
	return 0;
}

int replpb_encode_program_req(struct buf *b, const struct replpb_program_req *r, struct err *e)
{
	struct arena t;
	arena_init(&t);
	Proxy__ProgramReq m = PROXY__PROGRAM_REQ__INIT;
	Proxy__Program pg = PROXY__PROGRAM__INIT;
	m.client_id = RP_STR(r->client_id);
	m.pgm = &pg;
	pg.n_steps = r->pgm.nsteps;
	pg.steps = r->pgm.nsteps ? ARENA_ARRAY(&t, Proxy__Step *, r->pgm.nsteps) : NULL;
	int rc = 0;
	for (size_t i = 0; i < r->pgm.nsteps && !rc; i++) {
		const struct hr_step *st = &r->pgm.steps[i];
		Proxy__Step *ps = ARENA_NEW(&t, Proxy__Step);
		proxy__step__init(ps);
		pg.steps[i] = ps;
		if (st->cond) {
			ps->opt_cond_case = PROXY__STEP__OPT_COND_COND;
			rc = rp_cond_to(&t, st->cond, i, &ps->cond, e);
		}
		if (!rc)
			rc = rp_query_to(&t, &st->stmt, i, &ps->query, e);
	}
	if (!rc)
		rp_pack(b, &m.base);
	arena_free(&t);
	return rc;
}

void replpb_encode_describe_req(struct buf *b, const struct replpb_describe_req *r)
{
	Proxy__DescribeRequest m = PROXY__DESCRIBE_REQUEST__INIT;
	m.client_id = RP_STR(r->client_id);
	m.stmt = RP_STR(r->stmt);
	rp_pack(b, &m.base);
}

void replpb_encode_disconnect(struct buf *b, const struct replpb_disconnect *r)
{
	Proxy__DisconnectMessage m = PROXY__DISCONNECT_MESSAGE__INIT;
	m.client_id = RP_STR(r->client_id);
	rp_pack(b, &m.base);
}
