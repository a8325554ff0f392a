/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/jsonrpc over real Unix sockets, with lib/thread's interrupts and pollers
 * replaced by a poll(2) loop the test turns by hand (ut_poll()).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../../../lib/jsonrpc/jsonrpc_scan.c"
#include "../../../../lib/jsonrpc/jsonrpc_server.c"

/* ---- lib/thread stubs ---- */

#define UT_MAX_HANDLERS 512

struct thread_interrupt {
	int			fd;
	thread_interrupt_fn	fn;
	void			*ctx;
	bool			live;
};

struct poller {
	poller_fn	fn;
	void		*ctx;
	bool		live;
	uint64_t	period_us;
};

static struct thread_interrupt g_intrs[UT_MAX_HANDLERS];
static struct poller g_pollers[UT_MAX_HANDLERS];
static int g_num_pollers_live;

struct thread_interrupt *
thread_interrupt_register(int fd, thread_interrupt_fn fn, void *ctx, const char *name)
{
	int i;

	for (i = 0; i < UT_MAX_HANDLERS; i++) {
		if (!g_intrs[i].live) {
			g_intrs[i] = (struct thread_interrupt){fd, fn, ctx, true};
			return &g_intrs[i];
		}
	}
	return NULL;
}

void
thread_interrupt_unregister(struct thread_interrupt **intr)
{
	if (*intr != NULL) {
		(*intr)->live = false;
		*intr = NULL;
	}
}

struct poller *
poller_register(poller_fn fn, void *ctx, uint64_t period_us, const char *name)
{
	int i;

	for (i = 0; i < UT_MAX_HANDLERS; i++) {
		if (!g_pollers[i].live) {
			g_pollers[i] = (struct poller){fn, ctx, true, period_us};
			g_num_pollers_live++;
			return &g_pollers[i];
		}
	}
	return NULL;
}

void
poller_unregister(struct poller **p)
{
	if (*p != NULL) {
		(*p)->live = false;
		g_num_pollers_live--;
		*p = NULL;
	}
}

struct thread *
thread_get_current(void)
{
	return (struct thread *)0x1;
}

/* Run every readable interrupt and every poller until nothing happens. */
static void
ut_poll(void)
{
	int rounds, i, progress;
	struct pollfd pfd;

	for (rounds = 0; rounds < 10000; rounds++) {
		progress = 0;
		for (i = 0; i < UT_MAX_HANDLERS; i++) {
			if (!g_intrs[i].live) {
				continue;
			}
			pfd = (struct pollfd){.fd = g_intrs[i].fd, .events = POLLIN};
			if (poll(&pfd, 1, 0) == 1) {
				g_intrs[i].fn(g_intrs[i].ctx);
				progress = 1;
			}
		}
		for (i = 0; i < UT_MAX_HANDLERS; i++) {
			if (g_pollers[i].live && g_pollers[i].fn(g_pollers[i].ctx) == POLLER_BUSY) {
				progress = 1;
			}
		}
		if (!progress) {
			return;
		}
	}
	fail_msg("ut_poll: no quiescence");
}

/* ---- test handler ---- */

#define UT_MAX_DEFERRED 512

static struct jsonrpc_request *g_deferred[UT_MAX_DEFERRED];
static int g_num_deferred;
static int g_num_calls;
static char g_last_method[64];

static void
ut_handler(struct jsonrpc_request *req, const char *method, struct json_object *params, void *ctx)
{
	g_num_calls++;
	snprintf(g_last_method, sizeof(g_last_method), "%s", method);
	if (strcmp(method, "echo") == 0) {
		jsonrpc_send_result(req, params ? json_object_get(params) : NULL);
	} else if (strcmp(method, "defer") == 0) {
		assert_true(g_num_deferred < UT_MAX_DEFERRED);
		g_deferred[g_num_deferred++] = req;
	} else if (strcmp(method, "fail") == 0) {
		jsonrpc_send_error(req, -32603, "Internal error");
	} else if (strcmp(method, "big") == 0) {
		char *s = malloc(8 << 20);

		memset(s, 'x', (8 << 20) - 1);
		s[(8 << 20) - 1] = '\0';
		jsonrpc_send_result(req, json_object_new_string(s));
		free(s);
	} else {
		jsonrpc_send_error(req, -32601, "Method not found");
	}
}

/* ---- helpers ---- */

static char g_path[64];
static struct jsonrpc_server *g_srv;

static int
ut_setup(void **state)
{
	snprintf(g_path, sizeof(g_path), "/tmp/jsonrpc_ut.%d.sock", (int)getpid());
	unlink(g_path);
	g_num_deferred = 0;
	g_num_calls = 0;
	assert_int_equal(jsonrpc_server_listen(g_path, ut_handler, NULL, &g_srv), 0);
	return 0;
}

static int
ut_teardown(void **state)
{
	jsonrpc_server_close(g_srv);
	g_srv = NULL;
	ut_poll();
	assert_int_equal(g_num_pollers_live, 0);
	return 0;
}

static int
ut_connect(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", g_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ut_poll();
	return fd;
}

static void
ut_send(int fd, const char *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
	ut_poll();
}

static void
ut_sends(int fd, const char *s)
{
	ut_send(fd, s, strlen(s));
}

/* Non-blocking read of everything available; -1 in *eof if the peer closed. */
static size_t
ut_recv(int fd, char *buf, size_t cap, bool *eof)
{
	size_t n = 0;
	ssize_t r;

	*eof = false;
	for (;;) {
		ut_poll();
		r = recv(fd, buf + n, cap - 1 - n, MSG_DONTWAIT);
		if (r > 0) {
			n += (size_t)r;
			if (n == cap - 1) {
				break;
			}
			continue;
		}
		if (r == 0 || (r < 0 && errno == ECONNRESET)) {
			*eof = true;
		}
		break;
	}
	buf[n] = '\0';
	return n;
}

/* Parse the newline-separated responses in buf into out[]; returns the count. */
static int
ut_parse_lines(char *buf, struct json_object **out, int max)
{
	int n = 0;
	char *line, *save = NULL;

	for (line = strtok_r(buf, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
		out[n] = json_tokener_parse(line);
		assert_non_null(out[n]);
		n++;
	}
	return n;
}

static int64_t
ut_id(struct json_object *r)
{
	struct json_object *id;

	assert_true(json_object_object_get_ex(r, "id", &id));
	return json_object_is_type(id, json_type_null) ? -1 : json_object_get_int64(id);
}

static int
ut_error_code(struct json_object *r)
{
	struct json_object *e, *c;

	if (!json_object_object_get_ex(r, "error", &e)) {
		return 0;
	}
	assert_true(json_object_object_get_ex(e, "code", &c));
	return json_object_get_int(c);
}

static void
ut_put_all(struct json_object **r, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		json_object_put(r[i]);
	}
}

/* One request on a fresh connection; returns its single response. */
static struct json_object *
ut_one(const char *req, bool *eof)
{
	static char buf[65536];
	struct json_object *r[4];
	int fd = ut_connect(), n;

	ut_sends(fd, req);
	ut_recv(fd, buf, sizeof(buf), eof);
	n = ut_parse_lines(buf, r, 4);
	assert_int_equal(n, 1);
	close(fd);
	ut_poll();
	return r[0];
}

static void
ut_expect_error(const char *req, int code, int64_t id)
{
	bool eof;
	struct json_object *r = ut_one(req, &eof);

	assert_int_equal(ut_error_code(r), code);
	assert_int_equal(ut_id(r), id);
	json_object_put(r);
}

/* ---- tests ---- */

static const char g_three[] =
	"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"a\":[1,\"}\"]},\"id\":1}"
	"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":2}\n"
	"  {\"method\":\"echo\",\"params\":[\"x\\\"{\"],\"id\":3}\r\n";

static void
check_three(int fd)
{
	char buf[4096];
	struct json_object *r[8];
	bool eof;
	int n;

	ut_recv(fd, buf, sizeof(buf), &eof);
	assert_false(eof);
	n = ut_parse_lines(buf, r, 8);
	assert_int_equal(n, 3);
	assert_int_equal(ut_id(r[0]), 1);
	assert_int_equal(ut_id(r[1]), 2);
	assert_int_equal(ut_id(r[2]), 3);
	assert_string_equal(json_object_to_json_string_ext(r[0], JSON_C_TO_STRING_PLAIN),
			    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":[1,\"}\"]}}");
	ut_put_all(r, n);
}

static void
test_jsonrpc_framing_every_split(void **state)
{
	size_t len = strlen(g_three), i, j;
	int fd = ut_connect();

	for (i = 0; i <= len; i++) {
		ut_send(fd, g_three, i);
		ut_send(fd, g_three + i, len - i);
		check_three(fd);
	}
	/* Two split points, every pair at a stride. */
	for (i = 0; i <= len; i += 3) {
		for (j = i; j <= len; j += 5) {
			ut_send(fd, g_three, i);
			ut_send(fd, g_three + i, j - i);
			ut_send(fd, g_three + j, len - j);
			check_three(fd);
		}
	}
	/* One byte at a time. */
	for (i = 0; i < len; i++) {
		ut_send(fd, g_three + i, 1);
	}
	check_three(fd);
	assert_int_equal(jsonrpc_server_num_clients(g_srv), 1);
	close(fd);
	ut_poll();
	assert_int_equal(jsonrpc_server_num_clients(g_srv), 0);
}

static void
test_jsonrpc_pipelining_deferred_order(void **state)
{
	char buf[4096];
	struct json_object *r[8];
	bool eof;
	int fd = ut_connect(), n;

	ut_sends(fd, "{\"method\":\"defer\",\"id\":1}{\"method\":\"echo\",\"id\":2}"
		     "{\"method\":\"defer\",\"id\":3}{\"method\":\"echo\",\"id\":4}");
	assert_int_equal(g_num_deferred, 2);
	assert_int_equal(ut_recv(fd, buf, sizeof(buf), &eof), 0);
	/* The later one answered first: still nothing, request 1 blocks the line. */
	jsonrpc_send_result(g_deferred[1], json_object_new_int(30));
	assert_int_equal(ut_recv(fd, buf, sizeof(buf), &eof), 0);
	jsonrpc_send_result(g_deferred[0], json_object_new_int(10));
	ut_recv(fd, buf, sizeof(buf), &eof);
	n = ut_parse_lines(buf, r, 8);
	assert_int_equal(n, 4);
	assert_int_equal(ut_id(r[0]), 1);
	assert_int_equal(ut_id(r[1]), 2);
	assert_int_equal(ut_id(r[2]), 3);
	assert_int_equal(ut_id(r[3]), 4);
	ut_put_all(r, n);
	close(fd);
	ut_poll();
}

static void
test_jsonrpc_client_gone_with_deferred(void **state)
{
	int fd = ut_connect();

	ut_sends(fd, "{\"method\":\"defer\",\"id\":1}{\"method\":\"defer\",\"id\":2}"
		     "{\"method\":\"echo\",\"id\":3}");
	assert_int_equal(g_num_deferred, 2);
	close(fd);
	ut_poll();
	/* EOF may be a half-close: the connection waits to answer what was asked. */
	assert_int_equal(jsonrpc_server_num_clients(g_srv), 1);
	jsonrpc_send_error(g_deferred[1], -32603, "late");
	assert_int_equal(jsonrpc_server_num_clients(g_srv), 1);
	/* Writing to the vanished client fails: the connection goes, nothing leaks. */
	jsonrpc_send_result(g_deferred[0], json_object_new_boolean(true));
	ut_poll();
	assert_int_equal(jsonrpc_server_num_clients(g_srv), 0);
}

static void
test_jsonrpc_deferred_after_server_close(void **state)
{
	int fd = ut_connect();

	ut_sends(fd, "{\"method\":\"defer\",\"id\":1}");
	assert_int_equal(g_num_deferred, 1);
	jsonrpc_server_close(g_srv);
	jsonrpc_send_result(g_deferred[0], NULL);
	close(fd);
	assert_int_equal(access(g_path, F_OK), -1);
	assert_int_equal(ut_setup(NULL), 0);	/* teardown closes this one */
}

static void
test_jsonrpc_parse_error_closes(void **state)
{
	char buf[4096];
	struct json_object *r[8];
	bool eof;
	int fd = ut_connect(), n;

	/* A good request, then garbage: the first is answered, then -32700, then EOF. */
	ut_sends(fd, "{\"method\":\"echo\",\"id\":1} {\"method\":]");
	ut_recv(fd, buf, sizeof(buf), &eof);
	assert_true(eof);
	n = ut_parse_lines(buf, r, 8);
	assert_int_equal(n, 2);
	assert_int_equal(ut_id(r[0]), 1);
	assert_int_equal(ut_error_code(r[0]), 0);
	assert_int_equal(ut_error_code(r[1]), -32700);
	assert_int_equal(ut_id(r[1]), -1);
	ut_put_all(r, n);
	close(fd);
	ut_poll();
	assert_int_equal(jsonrpc_server_num_clients(g_srv), 0);
}

static void
test_jsonrpc_parse_error_waits_for_deferred(void **state)
{
	char buf[4096];
	struct json_object *r[8];
	bool eof;
	int fd = ut_connect(), n;

	ut_sends(fd, "{\"method\":\"defer\",\"id\":1}\x01");
	assert_int_equal(ut_recv(fd, buf, sizeof(buf), &eof), 0);
	assert_false(eof);
	jsonrpc_send_result(g_deferred[0], json_object_new_int(1));
	ut_recv(fd, buf, sizeof(buf), &eof);
	assert_true(eof);
	n = ut_parse_lines(buf, r, 8);
	assert_int_equal(n, 2);
	assert_int_equal(ut_id(r[0]), 1);
	assert_int_equal(ut_error_code(r[1]), -32700);
	ut_put_all(r, n);
	close(fd);
}

static void
test_jsonrpc_invalid_requests(void **state)
{
	ut_expect_error("[]", -32600, -1);
	ut_expect_error("[{\"method\":\"echo\",\"id\":1}]", -32600, -1);
	ut_expect_error("{\"jsonrpc\":\"1.0\",\"method\":\"echo\",\"id\":1}", -32600, -1);
	ut_expect_error("{\"jsonrpc\":null,\"method\":\"echo\",\"id\":1}", -32600, -1);
	ut_expect_error("{\"method\":1,\"id\":1}", -32600, -1);
	ut_expect_error("{\"id\":1}", -32600, -1);
	ut_expect_error("{\"method\":\"echo\",\"params\":true,\"id\":1}", -32600, -1);
	ut_expect_error("{\"method\":\"echo\",\"params\":\"s\",\"id\":1}", -32600, -1);
	ut_expect_error("{\"method\":\"echo\",\"id\":{}}", -32600, -1);
	ut_expect_error("{\"method\":\"echo\",\"id\":false}", -32600, -1);
	ut_expect_error("{\"method\":\"ec\\u0000ho\",\"id\":1}", -32600, -1);
	ut_expect_error("{\"method\":\"echo\",\"id\":1,\"id\":2}", -32600, -1);
	ut_expect_error("17 ", -32600, -1);
	assert_int_equal(g_num_calls, 0);
	/* Codes from the handler, ids echoed. */
	ut_expect_error("{\"method\":\"nope\",\"id\":5}", -32601, 5);
	ut_expect_error("{\"method\":\"fail\",\"id\":6}", -32603, 6);
	/* Duplicate keys and clamped integers inside params: -32602 naming the key. */
	ut_expect_error("{\"method\":\"echo\",\"params\":{\"k\":1,\"k\":2},\"id\":7}", -32602, 7);
	ut_expect_error("{\"method\":\"echo\",\"params\":{\"o\":{\"a\":1,\"b\":{},\"a\":3}},\"id\":8}",
			-32602, 8);
	ut_expect_error("{\"method\":\"echo\",\"params\":{\"n\":18446744073709551616},\"id\":9}",
			-32602, 9);
	ut_expect_error("{\"method\":\"echo\",\"params\":{\"n\":-9223372036854775809},\"id\":9}",
			-32602, 9);
	assert_int_equal(g_num_calls, 2);
}

static void
test_jsonrpc_dup_key_message(void **state)
{
	bool eof;
	struct json_object *r = ut_one("{\"method\":\"echo\",\"params\":{\"name\":\"a\",\"n\\u0061me\":"
				       "\"b\"},\"id\":1}", &eof);
	struct json_object *e, *m;

	assert_true(json_object_object_get_ex(r, "error", &e));
	assert_true(json_object_object_get_ex(e, "message", &m));
	assert_string_equal(json_object_get_string(m), "Invalid parameters: name: duplicate key");
	json_object_put(r);
}

static void
test_jsonrpc_ids_verbatim(void **state)
{
	bool eof;
	struct json_object *r;

	r = ut_one("{\"method\":\"echo\",\"id\":\"abc\"}", &eof);
	assert_string_equal(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
			    "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"result\":null}");
	json_object_put(r);
	r = ut_one("{\"method\":\"echo\",\"id\":null}", &eof);
	assert_string_equal(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
			    "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":null}");
	json_object_put(r);
	r = ut_one("{\"method\":\"echo\",\"id\":18446744073709551615}", &eof);
	assert_string_equal(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
			    "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551615,\"result\":null}");
	json_object_put(r);
}

static void
test_jsonrpc_notifications(void **state)
{
	char buf[4096];
	struct json_object *r[8];
	bool eof;
	int fd = ut_connect(), n;

	ut_sends(fd, "{\"method\":\"echo\"}{\"method\":\"nope\"}{\"method\":\"defer\"}"
		     "{\"method\":\"echo\",\"id\":4}");
	assert_int_equal(g_num_calls, 4);
	jsonrpc_send_result(g_deferred[0], json_object_new_int(1));
	ut_recv(fd, buf, sizeof(buf), &eof);
	n = ut_parse_lines(buf, r, 8);
	assert_int_equal(n, 2);
	assert_int_equal(ut_error_code(r[0]), -32601);
	assert_int_equal(ut_id(r[0]), -1);
	assert_int_equal(ut_id(r[1]), 4);
	ut_put_all(r, n);
	close(fd);
}

static void
test_jsonrpc_oversize(void **state)
{
	size_t len = JSONRPC_MAX_REQUEST_SIZE + 4096, off = 0;
	char *big = malloc(len), buf[4096];
	struct json_object *r[2];
	bool eof = false;
	ssize_t w;
	int fd = ut_connect(), n;

	memcpy(big, "{\"method\":\"echo\",\"params\":{\"s\":\"", 32);
	memset(big + 32, 'a', len - 32);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (off < len) {
		w = send(fd, big + off, len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
		} else if (errno != EAGAIN) {
			break;
		}
		ut_poll();
	}
	ut_recv(fd, buf, sizeof(buf), &eof);
	assert_true(eof);
	n = ut_parse_lines(buf, r, 2);
	assert_int_equal(n, 1);
	assert_int_equal(ut_error_code(r[0]), -32600);
	ut_put_all(r, n);
	assert_int_equal(g_num_calls, 0);
	free(big);
	close(fd);
	ut_poll();
	assert_int_equal(jsonrpc_server_num_clients(g_srv), 0);
}

/* A complete request just over the limit, read in the same wake as its end, is refused too. */
static void
test_jsonrpc_oversize_complete(void **state)
{
	size_t len = JSONRPC_MAX_REQUEST_SIZE + 64, off = 0;
	char *big = malloc(len), buf[4096];
	struct json_object *r[2];
	bool eof = false;
	ssize_t w;
	int fd = ut_connect(), n;

	memcpy(big, "{\"method\":\"echo\",\"params\":{\"s\":\"", 32);
	memset(big + 32, 'a', len - 32);
	memcpy(big + len - 3, "\"}}", 3);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (off < len) {
		w = send(fd, big + off, len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
		} else if (errno != EAGAIN) {
			break;
		}
		ut_poll();
	}
	ut_recv(fd, buf, sizeof(buf), &eof);
	assert_true(eof);
	n = ut_parse_lines(buf, r, 2);
	assert_int_equal(n, 1);
	assert_int_equal(ut_error_code(r[0]), -32600);
	ut_put_all(r, n);
	assert_int_equal(g_num_calls, 0);
	free(big);
	close(fd);
	ut_poll();
	assert_int_equal(jsonrpc_server_num_clients(g_srv), 0);
}

static void
test_jsonrpc_max_clients(void **state)
{
	int fds[JSONRPC_MAX_CLIENTS + 1], i;
	char buf[256];
	bool eof;

	for (i = 0; i <= JSONRPC_MAX_CLIENTS; i++) {
		fds[i] = ut_connect();
	}
	assert_int_equal(jsonrpc_server_num_clients(g_srv), JSONRPC_MAX_CLIENTS);
	/* The 65th was told why, then closed by the server. */
	assert_true(ut_recv(fds[JSONRPC_MAX_CLIENTS], buf, sizeof(buf), &eof) > 0);
	assert_true(eof);
	assert_non_null(strstr(buf, "\"code\":-32000"));
	assert_non_null(strstr(buf, "Too many connections: the limit is 64 clients"));
	assert_non_null(strstr(buf, "\"id\":null"));
	ut_sends(fds[0], "{\"method\":\"echo\",\"id\":1}");
	assert_true(ut_recv(fds[0], buf, sizeof(buf), &eof) > 0);
	for (i = 0; i <= JSONRPC_MAX_CLIENTS; i++) {
		close(fds[i]);
	}
	ut_poll();
	assert_int_equal(jsonrpc_server_num_clients(g_srv), 0);
	fds[0] = ut_connect();
	assert_int_equal(jsonrpc_server_num_clients(g_srv), 1);
	close(fds[0]);
	ut_poll();
}

static void
test_jsonrpc_partial_writes(void **state)
{
	size_t total = 0, want = (8u << 20) - 1;
	char *buf = malloc(1 << 20);
	bool eof = false;
	ssize_t r;
	int fd = ut_connect();

	ut_sends(fd, "{\"method\":\"big\",\"id\":1}{\"method\":\"echo\",\"id\":2}");
	/* The socket buffer cannot take 8 MiB: the rest waits for the flush poller. */
	assert_true(g_num_pollers_live > 0);
	for (;;) {
		ut_poll();
		r = recv(fd, buf, 1 << 20, MSG_DONTWAIT);
		if (r > 0) {
			total += (size_t)r;
			continue;
		}
		if (r == 0) {
			eof = true;
			break;
		}
		if (total >= want + 40) {
			break;
		}
	}
	assert_false(eof);
	/* 8 MiB of x in the first answer and the whole second answer. */
	assert_true(total > want);
	assert_int_equal(g_num_pollers_live, 0);
	free(buf);
	close(fd);
	ut_poll();
}

static void
test_jsonrpc_inflight_limit_pauses_reading(void **state)
{
	static char buf[65536];
	struct json_object *r[320];
	char req[64];
	size_t len = 0;
	bool eof;
	int fd = ut_connect(), i, n, total = 0;
	char *all = malloc(300 * 40);

	for (i = 0; i < 300; i++) {
		len += (size_t)sprintf(all + len, "{\"method\":\"defer\",\"id\":%d}", i);
	}
	ut_send(fd, all, len);
	/* Only JSONRPC_MAX_INFLIGHT are dispatched; the rest wait in the buffer. */
	assert_int_equal(g_num_deferred, JSONRPC_MAX_INFLIGHT);
	/* Each answer frees a slot: a sliding window, in order, until all 300 ran. */
	for (i = 0; i < 300; i++) {
		assert_true(i < g_num_deferred);
		assert_true(g_num_deferred - i <= JSONRPC_MAX_INFLIGHT);
		jsonrpc_send_result(g_deferred[i], json_object_new_int(i));
		ut_poll();
	}
	assert_int_equal(g_num_deferred, 300);
	while (total < 300) {
		ut_recv(fd, buf, sizeof(buf), &eof);
		assert_false(eof);
		n = ut_parse_lines(buf, r, 320);
		assert_true(n > 0);
		for (i = 0; i < n; i++) {
			assert_int_equal(ut_id(r[i]), total + i);
		}
		total += n;
		ut_put_all(r, n);
	}
	snprintf(req, sizeof(req), "{\"method\":\"echo\",\"id\":1}");
	ut_sends(fd, req);
	assert_true(ut_recv(fd, buf, sizeof(buf), &eof) > 0);
	free(all);
	close(fd);
	ut_poll();
}

static uint64_t
ut_live_poller_period(void)
{
	int i;

	for (i = 0; i < UT_MAX_HANDLERS; i++) {
		if (g_pollers[i].live) {
			return g_pollers[i].period_us;
		}
	}
	return 0;
}

static void
test_jsonrpc_flush_backoff(void **state)
{
	char *buf = malloc(1 << 20);
	size_t total = 0;
	ssize_t r;
	int fd = ut_connect(), i;

	ut_sends(fd, "{\"method\":\"big\",\"id\":1}");
	assert_int_equal(g_num_pollers_live, 1);
	/* The client reads nothing: the retry period backs off to its maximum. */
	for (i = 0; i < 20; i++) {
		ut_poll();
	}
	assert_true(ut_live_poller_period() == JSONRPC_FLUSH_PERIOD_MAX_US);
	/* Reading again: progress restores the fast period, then the poller goes. */
	r = recv(fd, buf, 1 << 20, MSG_DONTWAIT);
	assert_true(r > 0);
	total += (size_t)r;
	for (i = 0; i < UT_MAX_HANDLERS; i++) {
		if (g_pollers[i].live) {
			assert_int_equal(g_pollers[i].fn(g_pollers[i].ctx), POLLER_BUSY);
			break;
		}
	}
	assert_true(ut_live_poller_period() == JSONRPC_FLUSH_PERIOD_US);
	while (total < (8u << 20)) {
		r = recv(fd, buf, 1 << 20, MSG_DONTWAIT);
		if (r > 0) {
			total += (size_t)r;
		}
		ut_poll();
	}
	assert_int_equal(g_num_pollers_live, 0);
	free(buf);
	close(fd);
	ut_poll();
}

static void
test_jsonrpc_eof_answers_then_closes(void **state)
{
	char buf[4096];
	struct json_object *r[4];
	bool eof;
	int fd = ut_connect(), n;

	send(fd, "{\"method\":\"defer\",\"id\":1}{\"method\":", 35, MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	ut_poll();
	assert_int_equal(jsonrpc_server_num_clients(g_srv), 1);
	jsonrpc_send_result(g_deferred[0], json_object_new_int(1));
	ut_recv(fd, buf, sizeof(buf), &eof);
	assert_true(eof);
	n = ut_parse_lines(buf, r, 4);
	assert_int_equal(n, 1);
	assert_int_equal(ut_id(r[0]), 1);
	ut_put_all(r, n);
	assert_int_equal(jsonrpc_server_num_clients(g_srv), 0);
	close(fd);
}

static void
test_jsonrpc_socket_mode_and_lock(void **state)
{
	struct jsonrpc_server *srv2 = NULL;
	struct stat st;
	char path[100], lock[110], longp[200];
	int fd;

	assert_int_equal(stat(g_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(lock, sizeof(lock), "%s.lock", g_path);
	assert_int_equal(access(lock, F_OK), 0);
	/* Same path again: the lock refuses it (flock is per open file, so this tests it). */
	assert_int_equal(jsonrpc_server_listen(g_path, ut_handler, NULL, &srv2), -EADDRINUSE);
	assert_int_equal(access(g_path, F_OK), 0);
	/* A regular file in the way. */
	snprintf(path, sizeof(path), "%s.file", g_path);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(jsonrpc_server_listen(path, ut_handler, NULL, &srv2), -EEXIST);
	unlink(path);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	assert_int_equal(access(lock, F_OK), -1);
	/* Too long for sun_path. */
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(jsonrpc_server_listen(longp, ut_handler, NULL, &srv2), -ENAMETOOLONG);
	assert_int_equal(jsonrpc_server_listen("", ut_handler, NULL, &srv2), -EINVAL);
	/* A stale socket (no lock holder) is replaced. */
	snprintf(path, sizeof(path), "%s.stale", g_path);
	{
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
		close(s);
	}
	assert_int_equal(jsonrpc_server_listen(path, ut_handler, NULL, &srv2), 0);
	jsonrpc_server_close(srv2);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	assert_int_equal(access(lock, F_OK), -1);
}

/* ---- raw scanner ---- */

static int
scan(const char *s, char *key, int *depth, int *is_range)
{
	return jsonrpc_scan_raw(s, strlen(s), key, 64, depth, is_range);
}

static void
test_jsonrpc_scan_raw(void **state)
{
	char key[64];
	int depth, range;

	assert_int_equal(scan("{\"a\":1,\"b\":{\"a\":2},\"c\":[{\"a\":1},{\"a\":2}]}", key, &depth,
			      &range), 0);
	assert_int_equal(scan("{\"a\":1,\"a\":2}", key, &depth, &range), 1);
	assert_string_equal(key, "a");
	assert_int_equal(depth, 1);
	assert_int_equal(range, 0);
	assert_int_equal(scan("{\"p\":{\"x\":{\"k\":[{\"q\":1,\"q\":1}]}}}", key, &depth, &range), 1);
	assert_string_equal(key, "q");
	assert_int_equal(depth, 5);
	/* Escapes are decoded before comparing; braces and quotes in strings are not syntax. */
	assert_int_equal(scan("{\"\\u00e9\":1,\"\xc3\xa9\":2}", key, &depth, &range), 1);
	assert_string_equal(key, "\xc3\xa9");
	assert_int_equal(scan("{\"a\\\"}\":1,\"a\\\"{\":2,\"s\":\"{\\\"a\\\":1,\\\"a\\\":1}\"}", key,
			      &depth, &range), 0);
	assert_int_equal(scan("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", key, &depth, &range),
			 1);
	/* Values equal to keys are not keys. */
	assert_int_equal(scan("{\"a\":\"a\",\"b\":\"a\"}", key, &depth, &range), 0);
	/* Single-quoted strings (json-c accepts them). */
	assert_int_equal(scan("{'a':1,\"a\":2}", key, &depth, &range), 1);
	/* Integer range. */
	assert_int_equal(scan("{\"n\":18446744073709551615,\"m\":-9223372036854775808}", key, &depth,
			      &range), 0);
	assert_int_equal(scan("{\"n\":18446744073709551616}", key, &depth, &range), 1);
	assert_int_equal(range, 1);
	assert_string_equal(key, "n");
	assert_int_equal(scan("{\"m\":-9223372036854775809}", key, &depth, &range), 1);
	assert_int_equal(scan("{\"l\":[1,2,100000000000000000000000]}", key, &depth, &range), 1);
	assert_string_equal(key, "l");
	assert_int_equal(scan("{\"f\":1e999,\"g\":123456789012345678901234.5}", key, &depth, &range),
			 0);
	assert_int_equal(scan("{\"z\":00000000000000000000000001}", key, &depth, &range), 0);
	/* Many keys: sorted, not quadratic. */
	{
		size_t cap = 20 * 100000 + 16, n = 0;
		char *big = malloc(cap);
		int i;

		big[n++] = '{';
		for (i = 0; i < 100000; i++) {
			n += (size_t)sprintf(big + n, "%s\"k%d\":1", i ? "," : "", i);
		}
		big[n++] = '}';
		assert_int_equal(jsonrpc_scan_raw(big, n, key, 64, &depth, &range), 0);
		n--;
		n += (size_t)sprintf(big + n, ",\"k777\":2}");
		assert_int_equal(jsonrpc_scan_raw(big, n, key, 64, &depth, &range), 1);
		assert_string_equal(key, "k777");
		free(big);
	}
	/* Truncated or odd input never reads past the end. */
	assert_int_equal(scan("{\"a", key, &depth, &range), 0);
	assert_int_equal(scan("}}}]]]", key, &depth, &range), 0);
	assert_int_equal(scan("", key, &depth, &range), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_jsonrpc_framing_every_split, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_pipelining_deferred_order, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_client_gone_with_deferred, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_deferred_after_server_close, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_parse_error_closes, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_parse_error_waits_for_deferred, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_invalid_requests, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_dup_key_message, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_ids_verbatim, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_notifications, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_oversize, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_max_clients, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_partial_writes, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_flush_backoff, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_oversize_complete, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_inflight_limit_pauses_reading, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_eof_answers_then_closes, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_jsonrpc_socket_mode_and_lock, ut_setup, ut_teardown),
		cmocka_unit_test(test_jsonrpc_scan_raw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
