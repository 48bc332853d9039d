/* Unit tests of xport's TLS: a self-signed certificate for "localhost" made
 * here with OpenSSL's API, written to a temp dir, is the only CA (SSL_CERT_FILE, read
 * by OpenSSL's default verify paths), and an OpenSSL server thread in this
 * process answers HTTPS and WSS. Checked: requests and WebSocket messages
 * over TLS, hostname verification (the same server reached as 127.0.0.1 is
 * refused), and no SIGPIPE when writing into a dropped TLS connection. */
#include "t.h"
#include "xport.h"
#include "xport_parse.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char dir[256];
static int srv_fd, srv_port;
static SSL_CTX *srv_ctx;
static pthread_t srv_th;
static volatile int srv_stop;

static size_t ssl_get_request(SSL *s, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		buf[n] = 0;
		char *e = strstr(buf, "\r\n\r\n");
		if (e) {
			const char *cl = strcasestr(buf, "Content-Length:");
			size_t want = (size_t)(e + 4 - buf) + (cl ? (size_t)atoi(cl + 15) : 0);
			if (n >= want)
				return n;
		}
		int k = SSL_read(s, buf + n, (int)(cap - 1 - n));
		if (k <= 0)
			return 0;
		n += (size_t)k;
	}
}

static void serve(SSL *s)
{
	char b[8192];
	size_t n = ssl_get_request(s, b, sizeof b);
	if (!n)
		return;
	if (strncmp(b, "GET ", 4) == 0) { /* WebSocket: echo one message */
		const char *k = strcasestr(b, "Sec-WebSocket-Key: ");
		char key[64] = "", acc[32], resp[400];
		if (k)
			sscanf(k + 19, "%63[^\r]", key);
		xp_ws_accept(key, acc);
		int rl = snprintf(resp, sizeof resp,
				  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				  "Sec-WebSocket-Accept: %s\r\n\r\n",
				  acc);
		SSL_write(s, resp, rl);
		if (strncmp(b, "GET /close", 10) == 0)
			return; /* gone: the client's next writes meet a reset */
		uint8_t f[512];
		int got = 0;
		while (got < 2 || got < 2 + 4 + (f[1] & 0x7f)) {
			int r = SSL_read(s, f + got, (int)sizeof f - got);
			if (r <= 0)
				return;
			got += r;
		}
		size_t len = f[1] & 0x7f;
		uint8_t out[130] = {0x81, (uint8_t)len};
		for (size_t i = 0; i < len; i++)
			out[2 + i] = f[6 + i] ^ f[2 + (i & 3)];
		SSL_write(s, out, (int)(2 + len));
		SSL_read(s, f, sizeof f); /* until the client goes */
		return;
	}
	const char *body = "{\"tls\":true}";
	char resp[200];
	int rl = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
	SSL_write(s, resp, rl);
	ssl_get_request(s, b, sizeof b); /* keep-alive until the client closes */
}

static void *srv_main(void *arg)
{
	for (;;) {
		int fd = accept(srv_fd, NULL, NULL);
		if (fd < 0 || srv_stop) {
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		SSL *s = SSL_new(srv_ctx);
		SSL_set_fd(s, fd);
		if (SSL_accept(s) == 1)
			serve(s);
		SSL_free(s);
		close(fd);
	}
}

/* A self-signed P-256 certificate for DNS:localhost, written to cert_path
 * (the trust store of this test); the key stays in memory for the server. */
static EVP_PKEY *make_cert(const char *cert_path)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *c = X509_new();
	if (!k || !c)
		return NULL;
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 2 * 86400);
	X509_set_pubkey(c, k);
	X509_NAME *n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(c, n);
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, c, c, NULL, NULL, 0);
	X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost");
	X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
	int ok = san && bc && X509_add_ext(c, san, -1) && X509_add_ext(c, bc, -1) && X509_sign(c, k, EVP_sha256());
	X509_EXTENSION_free(san);
	X509_EXTENSION_free(bc);
	FILE *f = ok ? fopen(cert_path, "w") : NULL;
	ok = f && PEM_write_X509(f, c);
	if (f)
		fclose(f);
	if (ok && srv_ctx == NULL) {
		srv_ctx = SSL_CTX_new(TLS_server_method());
		ok = srv_ctx && SSL_CTX_use_certificate(srv_ctx, c) == 1 && SSL_CTX_use_PrivateKey(srv_ctx, k) == 1;
	}
	X509_free(c);
	if (!ok) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

static int setup(void)
{
	snprintf(dir, sizeof dir, "%s/sqlwire-tls-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	char cert[300];
	snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	EVP_PKEY *k = make_cert(cert);
	if (!k)
		return -1;
	EVP_PKEY_free(k); /* the server context holds its own reference */
	setenv("SSL_CERT_FILE", cert, 1); /* before xport's first TLS use */
	setenv("SSL_CERT_DIR", dir, 1);
	srv_fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(srv_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(srv_fd, 8) != 0)
		return -1;
	socklen_t l = sizeof a;
	getsockname(srv_fd, (struct sockaddr *)&a, &l);
	srv_port = ntohs(a.sin_port);
	pthread_create(&srv_th, NULL, srv_main, NULL);
	return 0;
}

static void teardown(void)
{
	srv_stop = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv_port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	connect(fd, (struct sockaddr *)&a, sizeof a);
	pthread_join(srv_th, NULL);
	close(fd);
	close(srv_fd);
	SSL_CTX_free(srv_ctx);
	char cert[300];
	snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	if (unlink(cert) != 0 || rmdir(dir) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void test_https(void)
{
	char url[64];
	snprintf(url, sizeof url, "https://localhost:%d", srv_port);
	struct xport *x = NULL;
	struct err e;
	int rc = xport_http_open(url, 5000, &x, &e);
	if (rc)
		fprintf(stderr, "https open: %s\n", e.msg);
	CHECK(rc == 0);
	if (!x)
		return;
	struct buf r;
	buf_init(&r);
	int status = 0;
	for (int i = 0; i < 2; i++) { /* twice: keep-alive over TLS */
		r.len = 0;
		rc = xport_http_post(x, "/v3/pipeline", "application/json", "{}", 2, NULL, 0, &status, &r, &e);
		if (rc)
			fprintf(stderr, "https post: %s\n", e.msg);
		CHECK(rc == 0 && status == 200 && r.len == 12 && !memcmp(r.p, "{\"tls\":true}", 12));
	}
	buf_free(&r);
	xport_close(x);
}

static void test_wss(void)
{
	char url[64];
	snprintf(url, sizeof url, "wss://localhost:%d", srv_port);
	struct xport *x = NULL;
	struct err e;
	const char *chosen;
	int rc = xport_ws_open(url, NULL, NULL, 0, 5000, &x, &chosen, &e);
	if (rc)
		fprintf(stderr, "wss open: %s\n", e.msg);
	CHECK(rc == 0);
	if (!x)
		return;
	CHECK(xport_ws_send(x, "over tls", 8, &e) == 0);
	struct buf m;
	buf_init(&m);
	CHECK(xport_ws_recv(x, &m, &e) == 0 && m.len == 8 && !memcmp(m.p, "over tls", 8));
	buf_free(&m);
	xport_close(x);
}

/* Writing into a TLS connection the server has dropped gives an error, not
 * a SIGPIPE that would kill this process (SIGPIPE is at its default here). */
static void test_no_sigpipe(void)
{
	char url[64];
	snprintf(url, sizeof url, "wss://localhost:%d/close", srv_port);
	struct xport *x = NULL;
	struct err e;
	const char *chosen;
	CHECK(xport_ws_open(url, NULL, NULL, 0, 5000, &x, &chosen, &e) == 0);
	if (!x)
		return;
	usleep(100000);
	char big[4096];
	memset(big, 'x', sizeof big);
	int rc = 0;
	for (int i = 0; i < 50 && rc == 0; i++) {
		rc = xport_ws_send(x, big, sizeof big, &e);
		usleep(2000);
	}
	CHECK(rc == XPORT_E_IO);
	xport_close(x);
}

static void test_hostname_mismatch(void)
{
	char url[64];
	snprintf(url, sizeof url, "https://127.0.0.1:%d", srv_port); /* the cert names localhost only */
	struct xport *x = NULL;
	struct err e = {""};
	CHECK(xport_http_open(url, 5000, &x, &e) == XPORT_E_CONNECT && !x);
	CHECK(strstr(e.msg, "certificate verification") != NULL);
	snprintf(url, sizeof url, "http://localhost:%d", srv_port); /* plain HTTP to a TLS server */
	CHECK(xport_http_open(url, 2000, &x, &e) == 0);
	if (x) {
		struct buf r;
		buf_init(&r);
		int status;
		CHECK(xport_http_post(x, "/", NULL, "x", 1, NULL, 0, &status, &r, &e) == XPORT_E_IO);
		buf_free(&r);
		xport_close(x);
	}
}

int main(void)
{
	alarm(120);
	if (setup() != 0) {
		fprintf(stderr, "TLS test setup failed (certificate, loopback)\n");
		t_fail++;
		return T_DONE();
	}
	T_RUN(test_https);
	T_RUN(test_wss);
	T_RUN(test_no_sigpipe);
	T_RUN(test_hostname_mismatch);
	teardown();
	return T_DONE();
}
