/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RPC method registry, parameter decoding, responses and save_config.
 *
 * Handlers run on the app thread. Each request gets exactly one response:
 * rpc_send_result()/rpc_send_bool()/rpc_send_error(), callable from any thread
 * (the response is forwarded to the app thread), possibly long after the
 * handler returned (deferred responses).
 *
 * Error codes follow SPDK (../doc/rpc.md): -32602 for bad params naming the
 * field, -32603 internal, -errno with strerror text for module failures.
 */
#ifndef VHOSTD_RPC_H
#define VHOSTD_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "vhostd/subsystem.h"

#define RPC_ERROR_PARSE_ERROR		-32700
#define RPC_ERROR_INVALID_REQUEST	-32600
#define RPC_ERROR_METHOD_NOT_FOUND	-32601
#define RPC_ERROR_INVALID_PARAMS	-32602
#define RPC_ERROR_INTERNAL_ERROR	-32603
#define RPC_ERROR_INVALID_STATE		-1

/* State mask bits for RPC_REGISTER. */
#define RPC_STATE_STARTUP	0x1u
#define RPC_STATE_RUNTIME	0x2u
/* The method changes state that save_config writes: --state is rewritten after its success. */
#define RPC_MUTATES		0x100u

struct rpc_request;

/* params is NULL when absent or null. The handler must not keep `params` after returning. */
typedef void (*rpc_handler_fn)(struct rpc_request *req, struct json_object *params);

void rpc_register_method(const char *name, rpc_handler_fn fn, uint32_t state_mask);
void rpc_register_alias(const char *alias, const char *name);

#define RPC_REGISTER(name, fn, mask)                                                              \
	__attribute__((constructor)) static void rpc_register_##fn(void)                        \
	{                                                                                         \
		rpc_register_method(name, fn, mask);                                              \
	}

/* ---- responses ---- */

/* Takes ownership of `result` (may be NULL: JSON null). */
void rpc_send_result(struct rpc_request *req, struct json_object *result);
void rpc_send_bool(struct rpc_request *req, bool value);
void rpc_send_string(struct rpc_request *req, const char *value);
void rpc_send_error(struct rpc_request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* code with strerror(-neg_errno) as the message. */
void rpc_send_errno(struct rpc_request *req, int code, int neg_errno);
const char *rpc_request_method(const struct rpc_request *req);

/* ---- parameter decoding ---- */

typedef int (*rpc_decode_fn)(struct json_object *val, void *out);

struct rpc_decoder {
	const char	*name;
	size_t		offset;
	rpc_decode_fn	decode;
	bool		optional;
};

/* Describes the first failure of rpc_decode_object(). */
struct rpc_decode_error {
	char	field[64];
	char	reason[96];	/* "missing", "unknown key", "duplicate key", "expected uint32", ... */
};

/*
 * Decode `params` (an object; NULL counts as {}) into `out` with the table.
 * Strict: missing required keys, unknown keys, duplicate keys (the raw text
 * is checked by lib/jsonrpc; json-c keeps the last), wrong types and
 * out-of-range values fail. 0 or -EINVAL with *err filled (err may be NULL).
 * On failure, strings already decoded stay in `out` for the caller's free helper.
 */
int rpc_decode_object(struct json_object *params, const struct rpc_decoder *decoders,
		      size_t num, void *out, struct rpc_decode_error *err);
/* Like rpc_decode_object but unknown keys are ignored (SPDK's relaxed decoder). */
int rpc_decode_object_relaxed(struct json_object *params, const struct rpc_decoder *decoders,
			      size_t num, void *out, struct rpc_decode_error *err);
/* Send -32602 "Invalid parameters: <field>: <reason>" (or `code`). */
void rpc_send_decode_error(struct rpc_request *req, int code, const struct rpc_decode_error *err);
/* Reject any params (methods without parameters): true if a -32602 was sent. */
bool rpc_reject_params(struct rpc_request *req, struct json_object *params);

int rpc_decode_string(struct json_object *val, void *out);	/* char **, strdup'ed */
int rpc_decode_bool(struct json_object *val, void *out);	/* bool * */
int rpc_decode_int32(struct json_object *val, void *out);	/* int32_t * */
int rpc_decode_uint32(struct json_object *val, void *out);	/* uint32_t * */
int rpc_decode_uint64(struct json_object *val, void *out);	/* uint64_t * */
int rpc_decode_object_ref(struct json_object *val, void *out);	/* struct json_object ** (get'ed) */

/* ---- state ---- */

uint32_t rpc_get_state(void);
void rpc_set_state(uint32_t state);

/* ---- config (save_config, -c, --state) ---- */

/*
 * Subsystems (include/vhostd/subsystem.h) write the RPCs that recreate their
 * objects into a JSON array with rpc_config_add(); save_config emits them in
 * ascending subsystem order, so replay order is dependency order.
 */
/* Append {"method":method,"params":params} to config (takes ownership of params). */
void rpc_config_add(struct json_object *config, const char *method, struct json_object *params);
/* The whole document {"subsystems":[...]} (caller puts it). */
struct json_object *rpc_config_build(void);

/*
 * Run one method internally (config replay). cb runs once, on the app thread,
 * with the result (borrowed) or an error code and message.
 */
typedef void (*rpc_internal_cb)(void *cb_arg, int code, const char *message,
				struct json_object *result);
void rpc_call_internal(const char *method, struct json_object *params, rpc_internal_cb cb,
		       void *cb_arg);

/* ---- server (additions: app/vhostd starts and stops the socket) ---- */

/*
 * Serve the registry on the Unix socket `path` (lib/jsonrpc) from the current
 * thread, which must be the app thread. 0 or -errno (-EADDRINUSE: another
 * daemon holds `<path>.lock`).
 */
int rpc_listen(const char *path);
/* Stop serving: close every client, remove the socket and its lock file. */
void rpc_close(void);
/*
 * Write rpc_config_build() to the "state_file" subsystem option atomically
 * (no-op when unset). Done automatically after every successful RPC_MUTATES
 * method called over the socket; app/vhostd calls it after config replay.
 * App thread. 0 or -errno.
 */
int rpc_state_save(void);

#endif /* VHOSTD_RPC_H */
