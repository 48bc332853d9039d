/* hjson_client: see hjson_client.h. jtree parses the whole message into the
 * caller's arena (strings included, so the model points into that tree) and
 * the walkers below fill the model. jtree replaced jansson here: jansson's
 * per-object hash tables and mallocs were most of a remote round trip's
 * client CPU. */
#include "hjson_client.h"
#include "jtree.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- encoders ---------------- */

void hjson_client_encode_hello(struct buf *b, const char *jwt)
{
	struct hr_client_msg m = {.type = HR_CMSG_HELLO, .jwt = jwt};
	hjson_encode_client_msg(b, &m);
}

void hjson_client_encode_request(struct buf *b, int32_t request_id, const struct hr_req *r)
{
	struct hr_client_msg m = {.type = HR_CMSG_REQUEST, .request_id = request_id, .req = *r};
	hjson_encode_client_msg(b, &m);
}

void hjson_client_encode_pipeline(struct buf *b, const char *baton, const struct hr_req *reqs, size_t n)
{
	struct hr_pipeline_req p = {.baton = baton, .requests = (struct hr_req *)reqs, .nrequests = n};
	hjson_encode_pipeline_req(b, &p);
}

/* ---------------- decoding helpers ---------------- */

struct hc_ctx {
	struct arena *a;
	struct err *e;
};

static int hc_shape(struct hc_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int hc_shape(struct hc_ctx *c, const char *fmt, ...)
{
	if (c->e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->e->msg, sizeof c->e->msg, fmt, ap);
		va_end(ap);
	}
	return HJSON_E_SHAPE;
}

/* The field, or NULL when absent or JSON null. */
static const struct jtree *hc_opt(const struct jtree *obj, const char *key)
{
	const struct jtree *v = jtree_get(obj, key);
	return v && !(v->type == JT_NULL) ? v : NULL;
}

/* A string that must not hold a NUL (tags, names): "" when it does. */
static const char *hc_tag(const struct jtree *s)
{
	const char *v = s->s;
	return v && strlen(v) == s->n ? v : "";
}

static int hc_str(struct hc_ctx *c, const struct jtree *obj, const char *key, const char *where, bool required,
		  const char **out)
{
	const struct jtree *v = hc_opt(obj, key);
	*out = NULL;
	if (!v)
		return required ? hc_shape(c, "Missing `%s` in %s", key, where) : 0;
	if (!(v->type == JT_STR))
		return hc_shape(c, "Invalid `%s` in %s: expected a string", key, where);
	*out = v->s;
	return 0;
}

static bool hc_parse_u64(const char *s, size_t n, uint64_t *out)
{
	if (n == 0)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* An i64 carried as a decimal string (or, leniently, a JSON integer). */
static int hc_i64(struct hc_ctx *c, const struct jtree *v, const char *key, const char *where, int64_t *out)
{
	if ((v->type == JT_INT)) {
		*out = v->i;
		return 0;
	}
	if ((v->type == JT_STR) && hr_parse_i64(v->s, v->n, out))
		return 0;
	return hc_shape(c, "Invalid `%s` in %s: expected an i64 as a decimal string", key, where);
}

/* A u64 as a decimal string or a non-negative JSON integer. */
static int hc_u64(struct hc_ctx *c, const struct jtree *v, const char *key, const char *where, uint64_t *out)
{
	if ((v->type == JT_INT) && v->i >= 0) {
		*out = (uint64_t)v->i;
		return 0;
	}
	if ((v->type == JT_STR) && hc_parse_u64(v->s, v->n, out))
		return 0;
	return hc_shape(c, "Invalid `%s` in %s: expected a u64", key, where);
}

static int hc_opt_u64(struct hc_ctx *c, const struct jtree *obj, const char *key, const char *where, bool *has,
		      uint64_t *out)
{
	const struct jtree *v = hc_opt(obj, key);
	*has = v != NULL;
	*out = 0;
	return v ? hc_u64(c, v, key, where, out) : 0;
}

static int hc_value(struct hc_ctx *c, const struct jtree *j, struct hr_value *out)
{
	memset(out, 0, sizeof *out);
	if (j->type != JT_OBJ)
		return hc_shape(c, "Invalid Value: expected an object");
	const struct jtree *t = jtree_get(j, "type");
	if (!t || !(t->type == JT_STR))
		return hc_shape(c, "Invalid Value: missing or non-string `type`");
	const char *type = hc_tag(t);
	if (!strcmp(type, "null")) {
		out->type = HR_NULL;
		return 0;
	}
	if (!strcmp(type, "blob")) {
		const struct jtree *v = jtree_get(j, "base64");
		if (!v || !(v->type == JT_STR))
			return hc_shape(c, "Invalid blob Value: missing or non-string `base64`");
		size_t n = v->n, cap = n / 4 * 3 + 2, got = 0;
		unsigned char *p = arena_alloc(c->a, cap + 1);
		if (hjson_base64_decode(v->s, n, p, cap, &got) != 0)
			return hc_shape(c, "Invalid blob Value: not valid base64");
		p[got] = 0;
		out->type = HR_BLOB;
		out->s = (const char *)p;
		out->n = got;
		return 0;
	}
	const struct jtree *v = jtree_get(j, "value");
	if (!strcmp(type, "integer")) {
		if (!v)
			return hc_shape(c, "Invalid integer Value: missing `value`");
		out->type = HR_INTEGER;
		return hc_i64(c, v, "value", "integer Value", &out->i);
	}
	if (!strcmp(type, "float")) {
		if (!v)
			return hc_shape(c, "Invalid float Value: missing `value`");
		if ((v->type == JT_NULL)) { /* sqld's rendering of NaN / Inf */
			out->type = HR_NULL;
			return 0;
		}
		if (!(v->type == JT_INT || v->type == JT_REAL))
			return hc_shape(c, "Invalid float Value: `value` is not a number");
		out->type = HR_FLOAT;
		out->f = v->d;
		return 0;
	}
	if (!strcmp(type, "text")) {
		if (!v || !(v->type == JT_STR))
			return hc_shape(c, "Invalid text Value: missing or non-string `value`");
		out->type = HR_TEXT;
		out->n = v->n;
		out->s = v->s;
		return 0;
	}
	return hc_shape(c, "Invalid Value: unknown type `%.40s`", type);
}

static int hc_cols(struct hc_ctx *c, const struct jtree *obj, const char *where, struct hr_col **out, size_t *n)
{
	const struct jtree *arr = jtree_get(obj, "cols");
	*out = NULL;
	*n = 0;
	if (!arr || !(arr->type == JT_ARR))
		return hc_shape(c, "Invalid %s: `cols` must be an array", where);
	size_t k = arr->n;
	struct hr_col *cols = ARENA_ARRAY(c->a, struct hr_col, k ? k : 1);
	for (size_t i = 0; i < k; i++) {
		const struct jtree *col = &arr->items[i];
		if (!(col->type == JT_OBJ))
			return hc_shape(c, "Invalid Col in %s: expected an object", where);
		int rc = hc_str(c, col, "name", "Col", false, &cols[i].name);
		if (!rc)
			rc = hc_str(c, col, "decltype", "Col", false, &cols[i].decltype);
		if (rc)
			return rc;
	}
	*out = cols;
	*n = k;
	return 0;
}

static int hc_error(struct hc_ctx *c, const struct jtree *j, struct hr_error *out)
{
	memset(out, 0, sizeof *out);
	if (j->type != JT_OBJ)
		return hc_shape(c, "Invalid Error: expected an object");
	int rc = hc_str(c, j, "message", "Error", true, &out->message);
	if (!rc)
		rc = hc_str(c, j, "code", "Error", false, &out->code);
	const struct jtree *x = hc_opt(j, "extended_code");
	if (!rc && x) {
		if (!(x->type == JT_INT) || x->i < 0 || x->i > INT32_MAX)
			return hc_shape(c, "Invalid `extended_code` in Error");
		out->extended_code = (int)x->i;
	}
	return rc;
}

static int hc_stmt_result(struct hc_ctx *c, const struct jtree *j, struct hr_stmt_result **outp)
{
	if (j->type != JT_OBJ)
		return hc_shape(c, "Invalid StmtResult: expected an object");
	struct hr_stmt_result *r = ARENA_NEW(c->a, struct hr_stmt_result);
	*outp = r;
	int rc = hc_cols(c, j, "StmtResult", &r->cols, &r->ncols);
	if (rc)
		return rc;
	const struct jtree *rows = jtree_get(j, "rows");
	if (!rows || !(rows->type == JT_ARR))
		return hc_shape(c, "Invalid StmtResult: `rows` must be an array");
	r->nrows = rows->n;
	size_t total = r->nrows * r->ncols;
	if (r->ncols && total / r->ncols != r->nrows)
		return hc_shape(c, "Invalid StmtResult: too many values");
	r->rows = ARENA_ARRAY(c->a, struct hr_value, total ? total : 1);
	for (size_t i = 0; i < r->nrows; i++) {
		const struct jtree *row = &rows->items[i];
		if (!(row->type == JT_ARR) || row->n != r->ncols)
			return hc_shape(c, "Invalid StmtResult: row %zu is not an array of %zu values", i, r->ncols);
		for (size_t k = 0; k < r->ncols; k++)
			if ((rc = hc_value(c, &row->items[k], &r->rows[i * r->ncols + k])) != 0)
				return rc;
	}
	const struct jtree *v = hc_opt(j, "affected_row_count");
	if (v && (rc = hc_u64(c, v, "affected_row_count", "StmtResult", &r->affected_row_count)) != 0)
		return rc;
	if ((v = hc_opt(j, "last_insert_rowid")) != NULL) {
		r->has_last_insert_rowid = true;
		if ((rc = hc_i64(c, v, "last_insert_rowid", "StmtResult", &r->last_insert_rowid)) != 0)
			return rc;
	}
	bool has;
	if ((rc = hc_opt_u64(c, j, "replication_index", "StmtResult", &r->has_replication_index,
			     &r->replication_index)) != 0 ||
	    (rc = hc_opt_u64(c, j, "rows_read", "StmtResult", &has, &r->rows_read)) != 0 ||
	    (rc = hc_opt_u64(c, j, "rows_written", "StmtResult", &has, &r->rows_written)) != 0)
		return rc;
	if ((v = hc_opt(j, "query_duration_ms")) != NULL) {
		if (!(v->type == JT_INT || v->type == JT_REAL))
			return hc_shape(c, "Invalid `query_duration_ms` in StmtResult");
		r->query_duration_ms = v->d;
	}
	return 0;
}

static int hc_batch_result(struct hc_ctx *c, const struct jtree *j, struct hr_batch_result **outp)
{
	if (j->type != JT_OBJ)
		return hc_shape(c, "Invalid BatchResult: expected an object");
	struct hr_batch_result *r = ARENA_NEW(c->a, struct hr_batch_result);
	*outp = r;
	const struct jtree *res = jtree_get(j, "step_results"), *errs = jtree_get(j, "step_errors");
	if (!res || !(res->type == JT_ARR) || !errs || !(errs->type == JT_ARR))
		return hc_shape(c, "Invalid BatchResult: `step_results` and `step_errors` must be arrays");
	if (res->n != errs->n)
		return hc_shape(c, "Invalid BatchResult: `step_results` and `step_errors` differ in length");
	r->nsteps = res->n;
	r->step_results = ARENA_ARRAY(c->a, struct hr_stmt_result *, r->nsteps ? r->nsteps : 1);
	r->step_errors = ARENA_ARRAY(c->a, struct hr_error *, r->nsteps ? r->nsteps : 1);
	int rc;
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct jtree *sr = &res->items[i], *se = &errs->items[i];
		if (!(sr->type == JT_NULL) && (rc = hc_stmt_result(c, sr, &r->step_results[i])) != 0)
			return rc;
		if (!(se->type == JT_NULL)) {
			r->step_errors[i] = ARENA_NEW(c->a, struct hr_error);
			if ((rc = hc_error(c, se, r->step_errors[i])) != 0)
				return rc;
		}
	}
	return hc_opt_u64(c, j, "replication_index", "BatchResult", &r->has_replication_index,
			  &r->replication_index);
}

static int hc_bool(struct hc_ctx *c, const struct jtree *obj, const char *key, const char *where, bool *out)
{
	const struct jtree *v = jtree_get(obj, key);
	if (!v || !(v->type == JT_TRUE || v->type == JT_FALSE))
		return hc_shape(c, "Invalid %s: `%s` must be a boolean", where, key);
	*out = (v->type == JT_TRUE);
	return 0;
}

static int hc_describe_result(struct hc_ctx *c, const struct jtree *j, struct hr_describe_result **outp)
{
	if (j->type != JT_OBJ)
		return hc_shape(c, "Invalid DescribeResult: expected an object");
	struct hr_describe_result *r = ARENA_NEW(c->a, struct hr_describe_result);
	*outp = r;
	const struct jtree *params = jtree_get(j, "params");
	if (!params || !(params->type == JT_ARR))
		return hc_shape(c, "Invalid DescribeResult: `params` must be an array");
	r->nparams = params->n;
	r->params = ARENA_ARRAY(c->a, struct hr_describe_param, r->nparams ? r->nparams : 1);
	int rc;
	for (size_t i = 0; i < r->nparams; i++) {
		const struct jtree *p = &params->items[i];
		if (!(p->type == JT_OBJ))
			return hc_shape(c, "Invalid DescribeParam: expected an object");
		if ((rc = hc_str(c, p, "name", "DescribeParam", false, &r->params[i].name)) != 0)
			return rc;
	}
	if ((rc = hc_cols(c, j, "DescribeResult", &r->cols, &r->ncols)) != 0 ||
	    (rc = hc_bool(c, j, "is_explain", "DescribeResult", &r->is_explain)) != 0 ||
	    (rc = hc_bool(c, j, "is_readonly", "DescribeResult", &r->is_readonly)) != 0)
		return rc;
	return 0;
}

/* A Response / StreamResponse, by its own "type". */
static int hc_resp(struct hc_ctx *c, const struct jtree *j, struct hr_resp *out)
{
	memset(out, 0, sizeof *out);
	if (j->type != JT_OBJ)
		return hc_shape(c, "Invalid Response: expected an object");
	const struct jtree *t = jtree_get(j, "type");
	if (!t || !(t->type == JT_STR))
		return hc_shape(c, "Invalid Response: missing or non-string `type`");
	out->type = hr_req_type_from_name(hc_tag(t));
	const struct jtree *res = jtree_get(j, "result");
	if ((int)out->type == 0) {
		if (c->e)
			snprintf(c->e->msg, sizeof c->e->msg, "Unknown Response type `%.40s`", hc_tag(t));
		return HJSON_E_UNKNOWN_TYPE;
	}
	switch (out->type) {
	case HR_REQ_EXECUTE:
		if (!res)
			return hc_shape(c, "Invalid execute Response: missing `result`");
		return hc_stmt_result(c, res, &out->stmt_result);
	case HR_REQ_BATCH:
		if (!res)
			return hc_shape(c, "Invalid batch Response: missing `result`");
		return hc_batch_result(c, res, &out->batch_result);
	case HR_REQ_DESCRIBE:
		if (!res)
			return hc_shape(c, "Invalid describe Response: missing `result`");
		return hc_describe_result(c, res, &out->describe_result);
	case HR_REQ_GET_AUTOCOMMIT:
		return hc_bool(c, j, "is_autocommit", "get_autocommit Response", &out->is_autocommit);
	case HR_REQ_FETCH_CURSOR:
		/* we never open cursors; refuse rather than half-decode */
		if (c->e)
			snprintf(c->e->msg, sizeof c->e->msg, "Unexpected fetch_cursor Response");
		return HJSON_E_UNKNOWN_TYPE;
	default:
		return 0; /* open_stream, close_stream, sequence, store_sql, close_sql, close, cursors */
	}
}

static int hc_root(struct hc_ctx *c, const char *buf, size_t n, const char *what, const struct jtree **root)
{
	struct jtree *j;
	struct err je;
	int rc = jtree_parse(c->a, buf, n, &j, &je);
	if (rc == JTREE_E_RANGE)
		return hc_shape(c, "Invalid %s: %s", what, je.msg);
	if (rc) {
		err_set(c->e, "%s in %s", je.msg, what);
		return HJSON_E_SYNTAX;
	}
	if (j->type != JT_OBJ)
		return hc_shape(c, "Invalid %s: expected a JSON object", what);
	*root = j;
	return 0;
}

static int hc_req_id(struct hc_ctx *c, const struct jtree *root, int32_t *out)
{
	const struct jtree *v = jtree_get(root, "request_id");
	if (!v || !(v->type == JT_INT) || v->i < INT32_MIN || v->i > INT32_MAX)
		return hc_shape(c, "Invalid server message: `request_id` must be an int32");
	*out = (int32_t)v->i;
	return 0;
}

int hjson_client_decode_server_msg(struct arena *a, const char *buf, size_t n, struct hr_server_msg *out,
				   struct err *e)
{
	struct hc_ctx c = {.a = a, .e = e};
	const struct jtree *root;
	memset(out, 0, sizeof *out);
	int rc = hc_root(&c, buf, n, "server message", &root);
	if (rc)
		return rc;
	const struct jtree *t = jtree_get(root, "type");
	const char *type = t && (t->type == JT_STR) ? hc_tag(t) : NULL;
	if (!type) {
		rc = hc_shape(&c, "Invalid server message: missing or non-string `type`");
	} else if (!strcmp(type, "hello_ok")) {
		out->type = HR_SMSG_HELLO_OK;
	} else if (!strcmp(type, "hello_error")) {
		out->type = HR_SMSG_HELLO_ERROR;
		const struct jtree *er = jtree_get(root, "error");
		rc = er ? hc_error(&c, er, &out->error) : hc_shape(&c, "Invalid hello_error: missing `error`");
	} else if (!strcmp(type, "response_ok")) {
		out->type = HR_SMSG_RESPONSE_OK;
		const struct jtree *r = jtree_get(root, "response");
		rc = hc_req_id(&c, root, &out->request_id);
		if (!rc)
			rc = r ? hc_resp(&c, r, &out->resp) : hc_shape(&c, "Invalid response_ok: missing `response`");
	} else if (!strcmp(type, "response_error")) {
		out->type = HR_SMSG_RESPONSE_ERROR;
		const struct jtree *er = jtree_get(root, "error");
		rc = hc_req_id(&c, root, &out->request_id);
		if (!rc)
			rc = er ? hc_error(&c, er, &out->error) : hc_shape(&c, "Invalid response_error: missing `error`");
	} else {
		err_set(e, "Unknown server message type `%.40s`", type);
		rc = HJSON_E_UNKNOWN_TYPE;
	}
	return rc;
}

int hjson_client_decode_pipeline_resp(struct arena *a, const char *buf, size_t n, struct hr_pipeline_resp *out,
				      struct err *e)
{
	struct hc_ctx c = {.a = a, .e = e};
	const struct jtree *root;
	memset(out, 0, sizeof *out);
	int rc = hc_root(&c, buf, n, "pipeline response", &root);
	if (rc)
		return rc;
	const struct jtree *res = jtree_get(root, "results");
	if ((rc = hc_str(&c, root, "baton", "pipeline response", false, &out->baton)) != 0 ||
	    (rc = hc_str(&c, root, "base_url", "pipeline response", false, &out->base_url)) != 0)
		goto done;
	if (!res || !(res->type == JT_ARR)) {
		rc = hc_shape(&c, "Invalid pipeline response: `results` must be an array");
		goto done;
	}
	out->nresults = res->n;
	out->results = ARENA_ARRAY(a, struct hr_stream_result, out->nresults ? out->nresults : 1);
	for (size_t i = 0; i < out->nresults && !rc; i++) {
		const struct jtree *r = &res->items[i];
		const struct jtree *t = (r->type == JT_OBJ) ? jtree_get(r, "type") : NULL;
		const char *type = t && (t->type == JT_STR) ? hc_tag(t) : "";
		struct hr_stream_result *sr = &out->results[i];
		if (!strcmp(type, "ok")) {
			const struct jtree *resp = jtree_get(r, "response");
			sr->ok = true;
			rc = resp ? hc_resp(&c, resp, &sr->resp) : hc_shape(&c, "Invalid StreamResult: missing `response`");
		} else if (!strcmp(type, "error")) {
			const struct jtree *er = jtree_get(r, "error");
			rc = er ? hc_error(&c, er, &sr->error) : hc_shape(&c, "Invalid StreamResult: missing `error`");
		} else {
			rc = hc_shape(&c, "Invalid StreamResult: `type` must be \"ok\" or \"error\"");
		}
	}
done:
	return rc;
}

int hjson_client_decode_error(struct arena *a, const char *buf, size_t n, struct hr_error *out, struct err *e)
{
	struct hc_ctx c = {.a = a, .e = e};
	const struct jtree *root;
	memset(out, 0, sizeof *out);
	int rc = hc_root(&c, buf, n, "error body", &root);
	if (rc)
		return rc;
	if (hc_opt(root, "message"))
		rc = hc_error(&c, root, out);
	else
		rc = hc_str(&c, root, "error", "error body", true, &out->message);
	return rc;
}
