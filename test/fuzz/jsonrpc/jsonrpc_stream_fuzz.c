/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: a byte stream from one client into lib/jsonrpc over a real
 * socket, with lib/thread's fd handlers replaced by a poll(2) loop.
 *
 *   byte 0      chunking: the stream is written in pieces of (byte0 % 64) + 1 bytes,
 *               the server polled after each piece
 *   byte 1      bit 0: answer deferred requests in reverse order; bit 1: the client
 *               closes without reading; bit 2: half-close (shutdown SHUT_WR) at the end
 *   rest        the stream
 *
 * The handler answers "echo" with its params, "fail" with an error, "defer" later,
 * anything else -32601. Checked: every line the server sends is a JSON object with
 * exactly "jsonrpc":"2.0", "id" and one of result/error; error objects hold exactly
 * code and message; no connection outlives its client; the raw scanner never reads
 * past the end of its input (ASan); nothing leaks (LSan).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../../lib/jsonrpc/jsonrpc_scan.c"
#include "../../../lib/jsonrpc/jsonrpc_server.c"

#define FZ_MAX_HANDLERS 256
#define FZ_MAX_DEFERRED 256

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
};

static struct thread_interrupt g_intrs[FZ_MAX_HANDLERS];
static struct poller g_pollers[FZ_MAX_HANDLERS];

struct thread_interrupt *
thread_interrupt_register(int fd, thread_interrupt_fn fn, void *ctx, const char *name)
{
	int i;

	for (i = 0; i < FZ_MAX_HANDLERS; i++) {
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

	for (i = 0; i < FZ_MAX_HANDLERS; i++) {
		if (!g_pollers[i].live) {
			g_pollers[i] = (struct poller){fn, ctx, true};
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
		*p = NULL;
	}
}

struct thread *
thread_get_current(void)
{
	return (struct thread *)0x1;
}

static void
fz_poll(void)
{
	struct pollfd pfd;
	int rounds, i, progress;

	for (rounds = 0; rounds < 1000; rounds++) {
		progress = 0;
		for (i = 0; i < FZ_MAX_HANDLERS; i++) {
			if (!g_intrs[i].live) {
				continue;
			}
			pfd = (struct pollfd){.fd = g_intrs[i].fd, .events = POLLIN};
			if (poll(&pfd, 1, 0) == 1) {
				g_intrs[i].fn(g_intrs[i].ctx);
				progress = 1;
			}
		}
		for (i = 0; i < FZ_MAX_HANDLERS; i++) {
			if (g_pollers[i].live && g_pollers[i].fn(g_pollers[i].ctx) == POLLER_BUSY) {
				progress = 1;
			}
		}
		if (!progress) {
			return;
		}
	}
}

static struct jsonrpc_request *g_deferred[FZ_MAX_DEFERRED];
static int g_num_deferred;

static void
fz_handler(struct jsonrpc_request *req, const char *method, struct json_object *params, void *ctx)
{
	if (strcmp(method, "echo") == 0) {
		jsonrpc_send_result(req, params ? json_object_get(params) : NULL);
	} else if (strcmp(method, "fail") == 0) {
		jsonrpc_send_error(req, -32603, "Internal error");
	} else if (strcmp(method, "defer") == 0 && g_num_deferred < FZ_MAX_DEFERRED) {
		g_deferred[g_num_deferred++] = req;
	} else {
		jsonrpc_send_error(req, -32601, "Method not found");
	}
}

static struct jsonrpc_server *g_srv;
static char g_path[64];

static void
fz_check_output(char *out, size_t len)
{
	char *line, *save = NULL, *end;
	struct json_object *o, *v, *e;
	int n;

	/* Only complete lines are checked; a closed connection may cut the last one. */
	end = memrchr(out, '\n', len);
	if (end == NULL) {
		return;
	}
	*end = '\0';
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		o = json_tokener_parse(line);
		if (o == NULL || !json_object_is_type(o, json_type_object)) {
			fprintf(stderr, "bad response line: %s\n", line);
			abort();
		}
		n = json_object_object_length(o);
		if (n != 3 || !json_object_object_get_ex(o, "jsonrpc", &v) ||
		    strcmp(json_object_get_string(v), "2.0") != 0 ||
		    !json_object_object_get_ex(o, "id", &v)) {
			fprintf(stderr, "bad response: %s\n", line);
			abort();
		}
		if (json_object_object_get_ex(o, "error", &e) &&
		    (json_object_object_length(e) != 2 ||
		     !json_object_object_get_ex(e, "code", &v) ||
		     !json_object_object_get_ex(e, "message", &v))) {
			fprintf(stderr, "bad error object: %s\n", line);
			abort();
		}
		json_object_put(o);
	}
}

static void
fz_drain(int fd, char **out, size_t *len, size_t *cap)
{
	ssize_t r;

	for (;;) {
		if (*cap - *len < 65536) {
			*cap = *cap * 2 + 65536;
			*out = realloc(*out, *cap);
		}
		r = recv(fd, *out + *len, *cap - *len - 1, MSG_DONTWAIT);
		if (r <= 0) {
			return;
		}
		*len += (size_t)r;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t chunk, off, len = 0, cap = 0;
	char key[64], *out = NULL;
	int fd, depth, range, i;
	uint8_t flags;

	if (size < 2) {
		return 0;
	}
	chunk = (size_t)(data[0] % 64) + 1;
	flags = data[1];
	data += 2;
	size -= 2;
	jsonrpc_scan_raw((const char *)data, size, key, sizeof(key), &depth, &range);

	if (g_srv == NULL) {
		log_set_level(LOG_LEVEL_ERROR);
		snprintf(g_path, sizeof(g_path), "/tmp/jsonrpc_fuzz.%d.sock", (int)getpid());
		if (jsonrpc_server_listen(g_path, fz_handler, NULL, &g_srv) != 0) {
			abort();
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", g_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		abort();
	}
	fz_poll();
	for (off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (send(fd, data + off, n, MSG_NOSIGNAL) < 0) {
			break;	/* the server closed us (parse error, oversize) */
		}
		fz_poll();
		if (!(flags & 2)) {
			fz_drain(fd, &out, &len, &cap);
		}
	}
	if (flags & 4) {
		shutdown(fd, SHUT_WR);
		fz_poll();
	}
	for (i = 0; i < g_num_deferred; i++) {
		int k = (flags & 1) ? g_num_deferred - 1 - i : i;

		jsonrpc_send_result(g_deferred[k], json_object_new_int(k));
		fz_poll();
		if (!(flags & 2)) {
			fz_drain(fd, &out, &len, &cap);
		}
	}
	g_num_deferred = 0;
	if (!(flags & 2)) {
		fz_drain(fd, &out, &len, &cap);
		fz_check_output(out, len);
	}
	close(fd);
	fz_poll();
	if (jsonrpc_server_num_clients(g_srv) != 0) {
		fprintf(stderr, "connection leaked\n");
		abort();
	}
	free(out);
	return 0;
}
