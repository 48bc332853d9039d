/* net_admin: the admin listener of net (net_int.h, --admin-listen-addr):
 * a second vhost of the same context, served by the same callback
 * (c->admin); its requests are authorized with the admin key, and answered
 * by admin.h on a worker. Service thread, but for the job's run function
 * (a worker). */
#include "net_int.h"
#include "cfg.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void net_admin_run(struct work_job *w)
{
	struct net_admin_job *j = (struct net_admin_job *)w;
	admin_handle(j->m, j->path, strlen(j->path), j->body ? j->body : "", j->n, &j->r);
}

static void net_admin_done(struct work_job *w)
{
	struct net_admin_job *j = (struct net_admin_job *)w;
	N.admin_busy--;
	if (j->c) {
		j->c->ajob = NULL;
		net_reply(j->c, j->r.status, j->r.ctype, j->r.body.p ? j->r.body.p : "", j->r.body.len);
	}
	buf_free(&j->r.body);
	free(j->path);
	free(j->body);
	free(j);
}

void net_admin_answer(struct net_conn *c, const char *body, size_t n)
{
	struct net_admin_job *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	j->w.run = net_admin_run;
	j->w.done = net_admin_done;
	j->c = c;
	j->m = c->ameth;
	j->path = strdup(c->rpath);
	j->body = n ? malloc(n) : NULL;
	if (!j->path || (n && !j->body))
		abort();
	if (n)
		memcpy(j->body, body, n);
	j->n = n;
	c->ajob = j;
	N.admin_busy++;
	work_submit(&j->w);
}

/* A request on the admin listener: authorized, then answered at once or
 * after its body (POST). */
int net_admin_request(struct net_conn *c, struct lws *wsi, int meth, const char *uri, int ulen)
{
	char auth[1024];
	int al = lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION);
	if (!admin_authorized(N.cfg->admin_auth_key, al > 0 ? auth : NULL)) {
		net_reply_generic(c, 401, "Unauthorized");
		return 0;
	}
	c->ameth = meth == LWSHUMETH_GET ? ADMIN_GET : meth == LWSHUMETH_POST ? ADMIN_POST
		 : meth == LWSHUMETH_DELETE ? ADMIN_DELETE : ADMIN_OTHER;
	c->rpath = strndup(uri, (size_t)ulen);
	if (!c->rpath)
		abort();
	char te[64], cl[32];
	c->body_chunked = lws_hdr_copy(wsi, te, sizeof te, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 &&
			  strcasestr(te, "chunked") != NULL;
	bool has_cl = lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0;
	unsigned long long clen = has_cl ? strtoull(cl, NULL, 10) : 0;
	if (!admin_wants_body(c->ameth, uri, (size_t)ulen) || (!c->body_chunked && clen == 0)) {
		net_admin_answer(c, "", 0);
		return 0;
	}
	if (clen > N.cfg->max_body_size) {
		net_reply_too_large(c);
		return 0;
	}
	c->route = NR_ADMIN;
	c->body_done = false;
	chunked_init(&c->chunk);
	return 0;
}

static const struct lws_protocols net_admin_protocols[] = {
	{"http", net_callback, sizeof(struct net_conn), 64 * 1024, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* The admin listener: a second vhost of the same context, so the same
 * service thread serves it. */
int net_start_admin(const struct cfg *c, struct err *e)
{
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = c->admin_port;
	info.iface = c->admin_host;
	info.protocols = net_admin_protocols;
	info.vhost_name = "admin";
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
	if (strchr(c->admin_host, ':'))
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_DISABLE_IPV6;
	info.max_http_header_data = 8192;
	info.timeout_secs = 30;
	N.admin_vh = lws_create_vhost(N.ctx, &info);
	N.admin_port = N.admin_vh ? lws_get_vhost_listen_port(N.admin_vh) : 0;
	if (!N.admin_vh || N.admin_port <= 0)
		return err_set(e, "cannot listen on %s:%d (admin)", c->admin_host, c->admin_port);
	return 0;
}

int net_admin_port(void)
{
	return N.admin_port;
}
