/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON-RPC 2.0 server: listen socket, connections, framing, ordering.
 *
 * Everything here runs on the server's thread. A connection is freed once its
 * fd is closed and no request of it is still queued (a handler may answer a
 * request long after the client went away): `refs` counts the open fd, each
 * queued request and each stack frame working on the connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "vhostd/jsonrpc.h"
#include "vhostd/log.h"
#include "vhostd/thread.h"
#include "vhostd/util.h"

#define JSONRPC_SUN_PATH_MAX	sizeof(((struct sockaddr_un *)0)->sun_path)
#define JSONRPC_READ_CHUNK	(64 * 1024)
#define JSONRPC_READS_PER_WAKE	16
/* Stop reading a connection while this many requests wait for their answer... */
#define JSONRPC_MAX_INFLIGHT	128
/* ...or while this much output is unsent. */
#define JSONRPC_OUT_PAUSE	(4 * 1024 * 1024)
/* Retry a full socket after this long, doubling while the client reads nothing. */
#define JSONRPC_FLUSH_PERIOD_US	200
#define JSONRPC_FLUSH_PERIOD_MAX_US	(100 * 1000)


struct jsonrpc_conn;

struct jsonrpc_request {
	struct jsonrpc_conn		*conn;
	TAILQ_ENTRY(jsonrpc_request)	link;
	struct json_object		*id;		/* NULL: id null or absent */
	bool				notification;
	bool				done;
	char				*resp;		/* NULL: nothing to send */
	size_t				resp_len;
};

struct jsonrpc_conn {
	struct jsonrpc_server		*srv;		/* NULL once the server closed */
	TAILQ_ENTRY(jsonrpc_conn)	link;
	int				fd;
	int				refs;
	struct thread_interrupt		*intr;
	struct poller			*flush_poller;
	uint64_t			flush_period_us;
	struct json_tokener		*tok;
	char				*in;
	size_t				in_len;
	size_t				in_cap;
	size_t				parse_pos;	/* of `in`, fed to the tokener */
	char				*out;
	size_t				out_len;
	size_t				out_off;
	size_t				out_cap;
	TAILQ_HEAD(, jsonrpc_request)	reqs;
	uint32_t			inflight;
	bool				in_process;
	bool				read_paused;
	bool				eof;		/* peer EOF: finish, then close */
	bool				closing;	/* protocol error: finish, then close */
};

struct jsonrpc_server {
	int				fd;
	int				lock_fd;
	struct thread_interrupt		*intr;
	struct thread			*thread;
	jsonrpc_handler_fn		fn;
	void				*ctx;
	TAILQ_HEAD(, jsonrpc_conn)	conns;
	int				nconns;
	char				path[JSONRPC_SUN_PATH_MAX];
	char				lock_path[JSONRPC_SUN_PATH_MAX + 8];
};

static void conn_process_input(struct jsonrpc_conn *conn);
static void conn_write(struct jsonrpc_conn *conn);
static int conn_read_cb(void *ctx);

static void
conn_free(struct jsonrpc_conn *conn)
{
	json_tokener_free(conn->tok);
	free(conn->in);
	free(conn->out);
	free(conn);
}

static void
conn_unref(struct jsonrpc_conn *conn)
{
	if (--conn->refs == 0) {
		conn_free(conn);
	}
}

static void
request_free(struct jsonrpc_request *req)
{
	json_object_put(req->id);
	free(req->resp);
	free(req);
}

static void
conn_read_pause(struct jsonrpc_conn *conn)
{
	if (conn->intr != NULL) {
		thread_interrupt_unregister(&conn->intr);
	}
	conn->read_paused = true;
}

/* Close the fd now; queued requests keep the struct until they are answered. */
static void
conn_kill(struct jsonrpc_conn *conn)
{
	struct jsonrpc_request *req, *tmp;

	if (conn->fd < 0) {
		return;
	}
	if (conn->intr != NULL) {
		thread_interrupt_unregister(&conn->intr);
	}
	if (conn->flush_poller != NULL) {
		poller_unregister(&conn->flush_poller);
	}
	close(conn->fd);
	conn->fd = -1;
	if (conn->srv != NULL) {
		TAILQ_REMOVE(&conn->srv->conns, conn, link);
		conn->srv->nconns--;
		conn->srv = NULL;
	}
	conn->refs++;
	for (req = TAILQ_FIRST(&conn->reqs); req != NULL; req = tmp) {
		tmp = TAILQ_NEXT(req, link);
		if (req->done) {
			TAILQ_REMOVE(&conn->reqs, req, link);
			request_free(req);
			conn->refs--;
		}
	}
	conn->refs--;	/* the fd's reference */
	conn_unref(conn);
}

/* Graceful end: after EOF or a protocol error, once every answer is sent. */
static void
conn_maybe_finish(struct jsonrpc_conn *conn)
{
	if (conn->fd >= 0 && (conn->eof || conn->closing) && !conn->in_process &&
	    TAILQ_EMPTY(&conn->reqs) && conn->out_off == conn->out_len) {
		conn_kill(conn);
	}
}

static int
conn_out_append(struct jsonrpc_conn *conn, const char *data, size_t len)
{
	size_t pending = conn->out_len - conn->out_off;

	if (pending + len > JSONRPC_MAX_OUTPUT_SIZE) {
		VHD_WARNLOG_RATELIMIT("jsonrpc: client fd %d does not read its responses "
					  "(%zu bytes unsent), closing\n", conn->fd, pending + len);
		return -ENOBUFS;
	}
	if (conn->out_off > 0 && conn->out_len + len > conn->out_cap) {
		memmove(conn->out, conn->out + conn->out_off, pending);
		conn->out_off = 0;
		conn->out_len = pending;
	}
	if (conn->out_len + len > conn->out_cap) {
		size_t cap = conn->out_cap ? conn->out_cap : 4096;
		char *p;

		while (cap < conn->out_len + len) {
			cap *= 2;
		}
		p = realloc(conn->out, cap);
		if (p == NULL) {
			return -ENOMEM;
		}
		conn->out = p;
		conn->out_cap = cap;
	}
	memcpy(conn->out + conn->out_len, data, len);
	conn->out_len += len;
	return 0;
}

static int
conn_flush_poll(void *ctx)
{
	struct jsonrpc_conn *conn = ctx;
	size_t off_before = conn->out_off;
	bool progress;

	conn->refs++;
	conn_write(conn);
	progress = conn->fd < 0 || conn->out_off != off_before;
	if (conn->flush_poller != NULL &&
	    ((!progress && conn->flush_period_us < JSONRPC_FLUSH_PERIOD_MAX_US) ||
	     (progress && conn->flush_period_us > JSONRPC_FLUSH_PERIOD_US))) {
		/* A client that does not read must not keep the reactor awake; one that
		 * reads again gets the fast period back. */
		poller_unregister(&conn->flush_poller);
		conn->flush_period_us = progress ? JSONRPC_FLUSH_PERIOD_US :
					VHD_MIN(conn->flush_period_us * 2,
						(uint64_t)JSONRPC_FLUSH_PERIOD_MAX_US);
		conn->flush_poller = poller_register(conn_flush_poll, conn, conn->flush_period_us,
						     "jsonrpc_flush");
		if (conn->flush_poller == NULL) {
			conn_kill(conn);
		}
	}
	conn_unref(conn);
	return progress ? POLLER_BUSY : POLLER_IDLE;
}

static void
conn_read_resume_check(struct jsonrpc_conn *conn)
{
	if (!conn->read_paused || conn->fd < 0 || conn->eof || conn->closing) {
		return;
	}
	if (conn->inflight >= JSONRPC_MAX_INFLIGHT ||
	    conn->out_len - conn->out_off >= JSONRPC_OUT_PAUSE) {
		return;
	}
	conn->intr = thread_interrupt_register(conn->fd, conn_read_cb, conn, "jsonrpc_conn");
	if (conn->intr == NULL) {
		VHD_ERRLOG("jsonrpc: cannot watch client fd %d, closing it\n", conn->fd);
		conn_kill(conn);
		return;
	}
	conn->read_paused = false;
	conn_process_input(conn);
}

/* Send what we can; arm the flush poller when the socket is full. */
static void
conn_write(struct jsonrpc_conn *conn)
{
	ssize_t n;

	while (conn->fd >= 0 && conn->out_off < conn->out_len) {
		n = send(conn->fd, conn->out + conn->out_off, conn->out_len - conn->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			conn->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (conn->flush_poller == NULL) {
				conn->flush_period_us = JSONRPC_FLUSH_PERIOD_US;
				conn->flush_poller = poller_register(conn_flush_poll, conn,
								     conn->flush_period_us,
								     "jsonrpc_flush");
				if (conn->flush_poller == NULL) {
					VHD_ERRLOG("jsonrpc: no flush poller, closing client\n");
					conn_kill(conn);
				}
			}
			return;
		}
		/* EPIPE, ECONNRESET...: the client is gone. */
		conn_kill(conn);
		return;
	}
	if (conn->fd < 0) {
		return;
	}
	conn->out_off = conn->out_len = 0;
	if (conn->flush_poller != NULL) {
		poller_unregister(&conn->flush_poller);
	}
	conn->refs++;
	conn_read_resume_check(conn);
	if (conn->fd >= 0) {
		conn_maybe_finish(conn);
	}
	conn_unref(conn);
}

/* Move the answered requests at the head of the queue to the output, in order. */
static void
conn_flush_ready(struct jsonrpc_conn *conn)
{
	struct jsonrpc_request *req;
	int rc = 0;

	conn->refs++;
	while ((req = TAILQ_FIRST(&conn->reqs)) != NULL && req->done) {
		TAILQ_REMOVE(&conn->reqs, req, link);
		if (req->resp != NULL && rc == 0 && conn->fd >= 0) {
			rc = conn_out_append(conn, req->resp, req->resp_len);
		}
		request_free(req);
		conn->refs--;
	}
	if (rc != 0) {
		conn_kill(conn);
	} else if (conn->fd >= 0) {
		conn_write(conn);
	}
	conn_unref(conn);
}

static struct jsonrpc_request *
request_new(struct jsonrpc_conn *conn)
{
	struct jsonrpc_request *req = calloc(1, sizeof(*req));

	if (req == NULL) {
		return NULL;
	}
	req->conn = conn;
	TAILQ_INSERT_TAIL(&conn->reqs, req, link);
	conn->refs++;
	conn->inflight++;
	return req;
}

static void
request_complete(struct jsonrpc_request *req, const char *key, struct json_object *value)
{
	struct jsonrpc_conn *conn = req->conn;
	struct json_object *o;
	const char *s;
	size_t len;

	if (req->done) {
		VHD_ERRLOG("jsonrpc: second response to one request ignored\n");
		json_object_put(value);
		return;
	}
	req->done = true;
	conn->inflight--;
	if (conn->fd < 0 || (req->notification && strcmp(key, "result") == 0)) {
		json_object_put(value);
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
		json_object_object_add(o, "id", json_object_get(req->id));
		json_object_object_add(o, key, value);
		s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		req->resp = malloc(len + 1);
		if (req->resp != NULL) {
			memcpy(req->resp, s, len);
			req->resp[len] = '\n';
			req->resp_len = len + 1;
		}
		json_object_put(o);
	}
	if (conn->fd < 0) {
		TAILQ_REMOVE(&conn->reqs, req, link);
		request_free(req);
		conn_unref(conn);
		return;
	}
	conn_flush_ready(conn);
}

void
jsonrpc_send_result(struct jsonrpc_request *req, struct json_object *result)
{
	request_complete(req, "result", result);
}

void
jsonrpc_send_error(struct jsonrpc_request *req, int code, const char *message)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_int(code));
	json_object_object_add(e, "message", json_object_new_string(message ? message : ""));
	if (req->notification) {
		/* Errors to notifications are still reported, with id null (as SPDK). */
		req->notification = false;
	}
	request_complete(req, "error", e);
}

bool
jsonrpc_request_is_notification(const struct jsonrpc_request *req)
{
	return req->notification;
}

static void
conn_send_error_new(struct jsonrpc_conn *conn, int code, const char *message)
{
	struct jsonrpc_request *req = request_new(conn);

	if (req == NULL) {
		conn_kill(conn);
		return;
	}
	jsonrpc_send_error(req, code, message);
}

/* Validate one decoded request and hand it to the handler. */
static void
conn_handle_request(struct jsonrpc_conn *conn, struct json_object *obj, const char *raw,
		    size_t raw_len)
{
	struct json_object *version, *id = NULL, *method, *params = NULL;
	struct jsonrpc_request *req;
	bool has_id;
	char key[64], msg[128];
	int depth, is_range;
	enum json_type t;

	req = request_new(conn);
	if (req == NULL) {
		conn_kill(conn);
		return;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		/* Batches (arrays) are not supported, like SPDK. */
		goto invalid;
	}
	has_id = json_object_object_get_ex(obj, "id", &id);
	if (has_id) {
		t = json_object_get_type(id);
		if (t != json_type_null && t != json_type_string && t != json_type_int &&
		    t != json_type_double) {
			goto invalid;
		}
		req->id = json_object_get(id);
	} else {
		req->notification = true;
	}
	if (json_object_object_get_ex(obj, "jsonrpc", &version)) {
		if (!json_object_is_type(version, json_type_string) ||
		    strcmp(json_object_get_string(version), "2.0") != 0) {
			goto invalid;
		}
	}
	if (!json_object_object_get_ex(obj, "method", &method) ||
	    !json_object_is_type(method, json_type_string) ||
	    (size_t)json_object_get_string_len(method) != strlen(json_object_get_string(method))) {
		goto invalid;
	}
	if (json_object_object_get_ex(obj, "params", &params)) {
		t = json_object_get_type(params);
		if (t == json_type_null) {
			params = NULL;
		} else if (t != json_type_object && t != json_type_array) {
			goto invalid;
		}
	}
	if (jsonrpc_scan_raw(raw, raw_len, key, sizeof(key), &depth, &is_range)) {
		if (is_range) {
			snprintf(msg, sizeof(msg), "Invalid parameters: %s: integer out of range",
				 key);
			jsonrpc_send_error(req, -32602, msg);
		} else if (depth <= 1) {
			goto invalid;
		} else {
			snprintf(msg, sizeof(msg), "Invalid parameters: %s: duplicate key", key);
			jsonrpc_send_error(req, -32602, msg);
		}
		return;
	}
	if (conn->srv == NULL || conn->srv->fn == NULL) {
		jsonrpc_send_error(req, -32603, "Internal error");
		return;
	}
	conn->srv->fn(req, json_object_get_string(method), params, conn->srv->ctx);
	return;

invalid:
	json_object_put(req->id);
	req->id = NULL;
	req->notification = false;
	jsonrpc_send_error(req, -32600, "Invalid request");
}

static void
conn_stop_input(struct jsonrpc_conn *conn)
{
	conn->closing = true;
	if (conn->intr != NULL) {
		thread_interrupt_unregister(&conn->intr);
	}
}

/* Parse and dispatch every complete request buffered in `in`. */
static void
conn_process_input(struct jsonrpc_conn *conn)
{
	struct json_object *obj;
	enum json_tokener_error err;
	size_t end;
	char msg[96];

	if (conn->in_process) {
		return;
	}
	conn->in_process = true;
	conn->refs++;
	while (conn->fd >= 0 && !conn->closing && conn->parse_pos < conn->in_len) {
		if (conn->inflight >= JSONRPC_MAX_INFLIGHT ||
		    conn->out_len - conn->out_off >= JSONRPC_OUT_PAUSE) {
			conn_read_pause(conn);
			break;
		}
		obj = json_tokener_parse_ex(conn->tok, conn->in + conn->parse_pos,
					    (int)(conn->in_len - conn->parse_pos));
		err = json_tokener_get_error(conn->tok);
		if (obj == NULL && err == json_tokener_continue) {
			conn->parse_pos = conn->in_len;
			break;
		}
		if (obj == NULL) {
			VHD_WARNLOG_RATELIMIT("jsonrpc: parse error on client fd %d: %s\n",
						  conn->fd, json_tokener_error_desc(err));
			conn_stop_input(conn);
			conn_send_error_new(conn, -32700, "Parse error");
			break;
		}
		end = conn->parse_pos + json_tokener_get_parse_end(conn->tok);
		if (end > JSONRPC_MAX_REQUEST_SIZE) {
			/* Complete, but read in one go with its end: refused below like the rest. */
			json_object_put(obj);
			break;
		}
		conn_handle_request(conn, obj, conn->in, end);
		json_object_put(obj);
		memmove(conn->in, conn->in + end, conn->in_len - end);
		conn->in_len -= end;
		conn->parse_pos = 0;
		json_tokener_reset(conn->tok);
	}
	if (conn->fd >= 0 && !conn->closing && conn->in_len > JSONRPC_MAX_REQUEST_SIZE) {
		VHD_WARNLOG_RATELIMIT("jsonrpc: request over %d bytes on client fd %d, "
					  "closing\n", JSONRPC_MAX_REQUEST_SIZE, conn->fd);
		conn_stop_input(conn);
		snprintf(msg, sizeof(msg), "Invalid request: larger than %d bytes",
			 JSONRPC_MAX_REQUEST_SIZE);
		conn_send_error_new(conn, -32600, msg);
	}
	conn->in_process = false;
	if (conn->fd >= 0) {
		conn_maybe_finish(conn);
	}
	conn_unref(conn);
}

static int
conn_read_cb(void *ctx)
{
	struct jsonrpc_conn *conn = ctx;
	ssize_t n;
	int i;

	conn->refs++;
	for (i = 0; i < JSONRPC_READS_PER_WAKE; i++) {
		if (conn->fd < 0 || conn->read_paused || conn->closing || conn->eof) {
			break;
		}
		if (conn->in_cap - conn->in_len < JSONRPC_READ_CHUNK) {
			size_t cap = conn->in_len + JSONRPC_READ_CHUNK;
			char *p = realloc(conn->in, cap);

			if (p == NULL) {
				conn_kill(conn);
				break;
			}
			conn->in = p;
			conn->in_cap = cap;
		}
		n = recv(conn->fd, conn->in + conn->in_len, conn->in_cap - conn->in_len,
			 MSG_DONTWAIT);
		if (n > 0) {
			conn->in_len += (size_t)n;
			conn_process_input(conn);
			continue;
		}
		if (n == 0) {
			/* The client is done sending; answer what it asked, then close. */
			conn->eof = true;
			thread_interrupt_unregister(&conn->intr);
			conn_maybe_finish(conn);
			break;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			conn_kill(conn);
		}
		break;
	}
	conn_unref(conn);
	return POLLER_BUSY;
}

static void
server_add_conn(struct jsonrpc_server *srv, int fd)
{
	struct jsonrpc_conn *conn = calloc(1, sizeof(*conn));

	if (conn == NULL) {
		close(fd);
		return;
	}
	conn->fd = fd;
	conn->refs = 1;
	conn->srv = srv;
	TAILQ_INIT(&conn->reqs);
	conn->tok = json_tokener_new();
	if (conn->tok == NULL) {
		goto err;
	}
	json_tokener_set_flags(conn->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
					  JSON_TOKENER_VALIDATE_UTF8);
	conn->intr = thread_interrupt_register(fd, conn_read_cb, conn, "jsonrpc_conn");
	if (conn->intr == NULL) {
		goto err;
	}
	TAILQ_INSERT_TAIL(&srv->conns, conn, link);
	srv->nconns++;
	return;
err:
	VHD_ERRLOG("jsonrpc: cannot set up a client connection\n");
	close(fd);
	if (conn->tok != NULL) {
		json_tokener_free(conn->tok);
	}
	free(conn);
}

/*
 * Tell a connection over the limit why it is closed. The socket is new, so
 * its send buffer takes the whole message; a short write just loses the text.
 */
static void
server_refuse(int fd)
{
	char msg[160];
	int n;

	n = snprintf(msg, sizeof(msg), "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":%d,"
		     "\"message\":\"Too many connections: the limit is %d clients\"}}\n",
		     JSONRPC_ERROR_TOO_MANY_CLIENTS, JSONRPC_MAX_CLIENTS);
	(void)send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int
server_accept_cb(void *ctx)
{
	struct jsonrpc_server *srv = ctx;
	int fd, i;

	for (i = 0; i < JSONRPC_MAX_CLIENTS * 2; i++) {
		fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) {
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				VHD_ERRLOG_RATELIMIT("jsonrpc: accept on %s: %s\n", srv->path,
						     strerror(errno));
			}
			break;
		}
		if (srv->nconns >= JSONRPC_MAX_CLIENTS) {
			VHD_WARNLOG_RATELIMIT("jsonrpc: %s already has %d clients, "
						  "closing a new connection\n", srv->path,
						  JSONRPC_MAX_CLIENTS);
			server_refuse(fd);
			close(fd);
			continue;
		}
		server_add_conn(srv, fd);
	}
	return POLLER_BUSY;
}

/* Lock `<path>.lock`; retry when the file we locked was unlinked under us. */
static int
server_lock(struct jsonrpc_server *srv)
{
	struct stat st_fd, st_path;
	int fd, rc, tries;

	for (tries = 0; tries < 10; tries++) {
		fd = open(srv->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = -errno;
			VHD_ERRLOG("jsonrpc: cannot open lock file %s: %s\n", srv->lock_path,
				   strerror(-rc));
			return rc;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			rc = -errno;
			close(fd);
			if (rc == -EWOULDBLOCK) {
				VHD_ERRLOG("jsonrpc: %s is in use by another process "
					   "(lock %s held)\n", srv->path, srv->lock_path);
				return -EADDRINUSE;
			}
			VHD_ERRLOG("jsonrpc: cannot lock %s: %s\n", srv->lock_path, strerror(-rc));
			return rc;
		}
		if (fstat(fd, &st_fd) == 0 && stat(srv->lock_path, &st_path) == 0 &&
		    st_fd.st_ino == st_path.st_ino && st_fd.st_dev == st_path.st_dev) {
			srv->lock_fd = fd;
			return 0;
		}
		close(fd);
	}
	return -EAGAIN;
}

int
jsonrpc_server_listen(const char *path, jsonrpc_handler_fn fn, void *ctx,
		      struct jsonrpc_server **server)
{
	struct jsonrpc_server *srv;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int rc;

	if (path == NULL || path[0] == '\0' || server == NULL) {
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(addr.sun_path)) {
		VHD_ERRLOG("jsonrpc: socket path %s is too long (max %zu)\n", path,
			   sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		return -ENOMEM;
	}
	srv->fd = -1;
	srv->lock_fd = -1;
	srv->fn = fn;
	srv->ctx = ctx;
	srv->thread = thread_get_current();
	TAILQ_INIT(&srv->conns);
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	snprintf(srv->lock_path, sizeof(srv->lock_path), "%s.lock", path);

	rc = server_lock(srv);
	if (rc != 0) {
		goto err_free;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			VHD_ERRLOG("jsonrpc: %s exists and is not a socket\n", path);
			rc = -EEXIST;
			goto err_unlock;
		}
		/* We hold the lock, so this socket was left behind by a dead server. */
		unlink(path);
	}
	srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->fd < 0) {
		rc = -errno;
		goto err_unlock;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (bind(srv->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		rc = -errno;
		VHD_ERRLOG("jsonrpc: cannot bind %s: %s\n", path, strerror(-rc));
		goto err_close;
	}
	/* Nobody can connect before listen(), so the mode is right before anyone can. */
	if (chmod(path, 0600) != 0 || listen(srv->fd, 128) != 0) {
		rc = -errno;
		VHD_ERRLOG("jsonrpc: cannot listen on %s: %s\n", path, strerror(-rc));
		goto err_unlink;
	}
	srv->intr = thread_interrupt_register(srv->fd, server_accept_cb, srv, "jsonrpc_listen");
	if (srv->intr == NULL) {
		rc = -ENOMEM;
		goto err_unlink;
	}
	*server = srv;
	return 0;

err_unlink:
	unlink(path);
err_close:
	close(srv->fd);
err_unlock:
	unlink(srv->lock_path);
	close(srv->lock_fd);
err_free:
	free(srv);
	return rc;
}

void
jsonrpc_server_close(struct jsonrpc_server *srv)
{
	struct jsonrpc_conn *conn;

	if (srv == NULL) {
		return;
	}
	if (srv->intr != NULL) {
		thread_interrupt_unregister(&srv->intr);
	}
	while ((conn = TAILQ_FIRST(&srv->conns)) != NULL) {
		/* One last try to deliver answers already made (spdk_kill_instance's). */
		if (conn->out_off < conn->out_len) {
			(void)!send(conn->fd, conn->out + conn->out_off,
				    conn->out_len - conn->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		conn_kill(conn);
	}
	close(srv->fd);
	unlink(srv->path);
	unlink(srv->lock_path);
	close(srv->lock_fd);
	free(srv);
}

int
jsonrpc_server_num_clients(const struct jsonrpc_server *srv)
{
	return srv->nconns;
}
