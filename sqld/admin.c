/* admin: see admin.h. Paths are split on '/'; a name segment must pass
 * ns_name_valid (no "..", no '/', no percent-escapes), so no request can
 * name a directory outside <db-path>/dbs. */
#include "admin.h"
#include "cap.h"
#include "hjson.h"
#include "metrics.h"
#include "ns.h"
#include "rlog.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ADMIN_MAX_SEGS 6

static void admin_json(struct admin_resp *r, int status, const char *text)
{
	r->status = status;
	r->ctype = "application/json";
	buf_puts(&r->body, text);
}

static void admin_error(struct admin_resp *r, int status, const char *msg)
{
	r->status = status;
	r->ctype = "application/json";
	buf_puts(&r->body, "{\"error\":");
	hjson_put_str(&r->body, msg, strlen(msg));
	buf_putc(&r->body, '}');
}

/* ns.h error codes as HTTP statuses */
static void admin_ns_error(struct admin_resp *r, int rc, const struct err *e)
{
	int status = rc == NS_ENOENT ? 404 : rc == NS_EEXIST || rc == NS_EBUSY ? 409 : rc == NS_EINVAL ? 400 : 500;
	admin_error(r, status, e->msg[0] ? e->msg : "failed");
}

bool admin_authorized(const char *key, const char *authorization)
{
	if (!key)
		return true;
	if (!authorization)
		return false;
	const char *v = authorization;
	while (*v == ' ')
		v++;
	if (strncasecmp(v, "basic ", 6) == 0 || strncasecmp(v, "bearer ", 7) == 0)
		v = strchr(v, ' ');
	else
		return false;
	while (*v == ' ')
		v++;
	size_t n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return n == strlen(key) && memcmp(v, key, n) == 0;
}

/* Splits "/a/b/c" into segments (copied into store). Returns the count, or
 * -1 when there are too many or one is empty. */
static int admin_split(const char *path, size_t plen, char *store, size_t cap, const char *segs[ADMIN_MAX_SEGS])
{
	if (plen == 0 || path[0] != '/' || plen >= cap)
		return -1;
	memcpy(store, path + 1, plen - 1);
	store[plen - 1] = 0;
	int n = 0;
	char *p = store;
	for (;;) {
		if (n == ADMIN_MAX_SEGS)
			return -1;
		segs[n++] = p;
		char *slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = 0;
		p = slash + 1;
	}
	for (int i = 0; i < n; i++)
		if (!segs[i][0])
			return -1;
	return n;
}

bool admin_wants_body(enum admin_method m, const char *path, size_t plen)
{
	(void)path, (void)plen;
	return m == ADMIN_POST;
}

static void admin_stats(struct ns *n, struct admin_resp *r)
{
	struct rlog_stat st;
	rlog_stat(ns_log(n), &st);
	r->status = 200;
	r->ctype = "application/json";
	struct buf *b = &r->body;
	buf_puts(b, "{\"namespace\":");
	hjson_put_str(b, ns_name(n), strlen(ns_name(n)));
	if (st.has_commit)
		buf_printf(b, ",\"replication_index\":%llu", (unsigned long long)st.last_commit);
	else
		buf_puts(b, ",\"replication_index\":null");
	buf_printf(b, ",\"storage_bytes_used\":%llu,\"frame_log_bytes\":%llu,\"log_id\":",
		   (unsigned long long)ns_storage_bytes(n), (unsigned long long)(st.log_bytes + st.snap_bytes));
	hjson_put_str(b, st.log_id, strlen(st.log_id));
	struct ns_usage u;
	ns_usage(n, &u);
	buf_printf(b, ",\"first_frame_no\":%llu,\"next_frame_no\":%llu,\"query_count\":%llu,\"rows_read_count\":%llu,"
		   "\"rows_written_count\":%llu}",
		   (unsigned long long)st.first_frame_no, (unsigned long long)st.next_frame_no,
		   (unsigned long long)u.queries, (unsigned long long)u.rows_read, (unsigned long long)u.rows_written);
}

void admin_handle(enum admin_method m, const char *path, size_t plen, const char *body, size_t n,
		  struct admin_resp *r)
{
	metrics_request(MR_ADMIN);
	buf_init(&r->body);
	char store[1024];
	const char *s[ADMIN_MAX_SEGS];
	int ns = admin_split(path, plen, store, sizeof store, s);
	struct err e = {{0}};
	if (ns == 1 && m == ADMIN_GET && strcmp(s[0], "metrics") == 0) {
		r->status = 200;
		r->ctype = "text/plain; version=0.0.4; charset=utf-8";
		metrics_render(&r->body);
		return;
	}
	if (ns == 1 && m == ADMIN_GET && strcmp(s[0], "health") == 0) {
		r->status = 200;
		r->ctype = "text/plain";
		return;
	}
	if (ns < 3 || strcmp(s[0], "v1") != 0 || strcmp(s[1], "namespaces") != 0) {
		admin_error(r, 404, "Not found");
		return;
	}
	const char *name = s[2];
	if (!ns_name_valid(name, strlen(name))) {
		admin_error(r, 400, "Invalid namespace name");
		return;
	}
	int rc;
	if (ns == 3 && m == ADMIN_DELETE) {
		if ((rc = ns_delete(name, &e)))
			admin_ns_error(r, rc, &e);
		else
			admin_json(r, 200, "{}");
		return;
	}
	if (ns == 4 && m == ADMIN_POST && strcmp(s[3], "create") == 0) {
		struct ns_config cfg;
		memset(&cfg, 0, sizeof cfg);
		if (n && ns_config_parse(body, n, &cfg, &e)) {
			admin_error(r, 400, e.msg);
			return;
		}
		if ((rc = ns_create(name, &cfg, &e)))
			admin_ns_error(r, rc, &e);
		else
			admin_json(r, 200, "{}");
		return;
	}
	if (ns == 5 && m == ADMIN_POST && strcmp(s[3], "fork") == 0) {
		if (!ns_name_valid(s[4], strlen(s[4]))) {
			admin_error(r, 400, "Invalid namespace name");
			return;
		}
		if ((rc = ns_fork(name, s[4], &e)))
			admin_ns_error(r, rc, &e);
		else
			admin_json(r, 200, "{}");
		return;
	}
	if (ns != 4 || (m != ADMIN_GET && m != ADMIN_POST)) {
		admin_error(r, 404, "Not found");
		return;
	}
	const char *op = s[3];
	bool known = (strcmp(op, "config") == 0) || (m == ADMIN_GET && strcmp(op, "stats") == 0) ||
		     (m == ADMIN_POST && strcmp(op, "checkpoint") == 0);
	if (!known) {
		admin_error(r, 404, "Not found");
		return;
	}
	struct ns *x;
	if ((rc = ns_get(name, &x, &e))) {
		admin_ns_error(r, rc, &e);
		return;
	}
	if (strcmp(op, "config") == 0) {
		struct ns_config cfg;
		ns_get_config(x, &cfg);
		if (m == ADMIN_POST && (ns_config_parse(n ? body : "{}", n ? n : 2, &cfg, &e) ||
					ns_set_config(x, &cfg, &e))) {
			admin_error(r, 400, e.msg);
		} else {
			r->status = 200;
			r->ctype = "application/json";
			ns_config_render(&cfg, &r->body);
		}
	} else if (strcmp(op, "stats") == 0) {
		admin_stats(x, r);
	} else {
		if (cap_checkpoint_now(ns_cap(x), &e))
			admin_error(r, 500, e.msg);
		else
			admin_json(r, 200, "{}");
	}
	ns_put(x);
}
