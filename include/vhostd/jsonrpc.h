/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON-RPC 2.0 server on a Unix stream socket (lib/jsonrpc).
 *
 * The server lives on the thread that called jsonrpc_server_listen() (the app
 * thread): the listen fd and every client fd are thread interrupts there, all
 * I/O is nonblocking. Each connection parses a stream of requests with json-c's
 * tokener (back to back, with or without separators, split anywhere) and
 * answers them in request order even when a handler answers late.
 *
 * Protocol errors are answered by the server itself, never reach the handler:
 *   -32700 parse error (then the connection is closed),
 *   -32600 invalid request (top-level array, jsonrpc != "2.0", method not a
 *          string, params neither object nor array nor null, id of a bad type,
 *          duplicate keys at the top level, a request over 1 MiB: then closed),
 *   -32602 duplicate key or out-of-range integer anywhere inside params
 *          ("Invalid parameters: <key>: duplicate key"; json-c keeps only the
 *          last of duplicate keys, so the raw text is scanned).
 * Notifications (no "id") get no reply on success; errors are sent with id null.
 */
#ifndef VHOSTD_JSONRPC_H
#define VHOSTD_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;
struct jsonrpc_server;
struct jsonrpc_request;

/*
 * A connection beyond this many is sent one error response (id null, code
 * JSONRPC_ERROR_TOO_MANY_CLIENTS, "Too many connections: ...") and closed.
 */
#define JSONRPC_MAX_CLIENTS		64
#define JSONRPC_ERROR_TOO_MANY_CLIENTS	(-32000)
#define JSONRPC_MAX_REQUEST_SIZE	(1024 * 1024)
/* A connection whose unsent responses exceed this (client not reading) is closed. */
#define JSONRPC_MAX_OUTPUT_SIZE		(64 * 1024 * 1024)

/*
 * Called on the server's thread for each valid request. `params` is NULL when
 * absent or null and is only borrowed for the duration of the call. The handler
 * must eventually call jsonrpc_send_result() or jsonrpc_send_error() exactly once,
 * on the server's thread, now or later.
 */
typedef void (*jsonrpc_handler_fn)(struct jsonrpc_request *req, const char *method,
				   struct json_object *params, void *ctx);

/*
 * Create `path` (mode 0600) and listen on it on the current thread. A lock file
 * `<path>.lock` (flock) is taken first so that two servers cannot share a socket:
 * -EADDRINUSE if another process holds it. A stale socket file left by a dead
 * server is replaced; a non-socket file at `path` is -EEXIST. 0 or -errno.
 */
int jsonrpc_server_listen(const char *path, jsonrpc_handler_fn fn, void *ctx,
			  struct jsonrpc_server **server);
/*
 * Stop listening, close every connection (requests still running finish, their
 * responses are dropped), remove the socket and the lock file. Server's thread.
 */
void jsonrpc_server_close(struct jsonrpc_server *server);
/* Number of open client connections. */
int jsonrpc_server_num_clients(const struct jsonrpc_server *server);

/* Take ownership of `result` (NULL sends JSON null). Server's thread. */
void jsonrpc_send_result(struct jsonrpc_request *req, struct json_object *result);
/* {"code":code,"message":message}. Server's thread. */
void jsonrpc_send_error(struct jsonrpc_request *req, int code, const char *message);
/* True if the request has no id (no reply is sent on success). */
bool jsonrpc_request_is_notification(const struct jsonrpc_request *req);

/*
 * Scan raw JSON text (already accepted by json-c) for duplicate object keys
 * and integers outside [INT64_MIN, UINT64_MAX] (json-c clamps them silently).
 * Returns 0 if clean; otherwise 1 and fills `key` with the offending key (or
 * "" for an array element), *depth with the nesting depth of the object that
 * holds it (1 = top level) and *is_range with 0 for a duplicate, 1 for a
 * number out of range.
 */
int jsonrpc_scan_raw(const char *text, size_t len, char *key, size_t key_size, int *depth,
		     int *is_range);

#endif /* VHOSTD_JSONRPC_H */
