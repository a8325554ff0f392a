/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Method registry, dispatch from lib/jsonrpc, responses (forwarded to the app
 * thread when sent elsewhere), RPC state, internal calls for config replay,
 * save_config document and the --state file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/jsonrpc.h"
#include "vhostd/log.h"
#include "vhostd/rpc.h"
#include "vhostd/subsystem.h"
#include "vhostd/thread.h"
#include "vhostd/util.h"

#include "rpc_internal.h"

struct rpc_method {
	char			*name;
	rpc_handler_fn		fn;
	uint32_t		mask;
	char			*alias_of;	/* non-NULL for an alias */
	struct rpc_method	*next;
};

struct rpc_request {
	struct jsonrpc_request	*jreq;		/* NULL for internal calls */
	rpc_internal_cb		cb;
	void			*cb_arg;
	char			*method;
	uint32_t		mask;
	bool			responded;
};

struct rpc_response {
	struct rpc_request	*req;
	int			code;
	char			*message;
	struct json_object	*result;
};

static struct rpc_method *g_methods;
static uint32_t g_rpc_state = RPC_STATE_STARTUP;
static struct jsonrpc_server *g_server;

static struct rpc_method *
rpc_find_entry(const char *name)
{
	struct rpc_method *m;

	for (m = g_methods; m != NULL; m = m->next) {
		if (strcmp(m->name, name) == 0) {
			return m;
		}
	}
	return NULL;
}

static void
rpc_register_entry(const char *name, rpc_handler_fn fn, uint32_t mask, const char *alias_of)
{
	struct rpc_method *m;

	if (name == NULL || rpc_find_entry(name) != NULL) {
		/* Two registrations of one name are a build bug: refuse to start. */
		fprintf(stderr, "vhostd: RPC method %s registered twice\n", name ? name : "(null)");
		abort();
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL || (m->name = strdup(name)) == NULL ||
	    (alias_of != NULL && (m->alias_of = strdup(alias_of)) == NULL)) {
		fprintf(stderr, "vhostd: out of memory registering RPC %s\n", name);
		abort();
	}
	m->fn = fn;
	m->mask = mask;
	m->next = g_methods;
	g_methods = m;
}

void
rpc_register_method(const char *name, rpc_handler_fn fn, uint32_t state_mask)
{
	rpc_register_entry(name, fn, state_mask, NULL);
}

void
rpc_register_alias(const char *alias, const char *name)
{
	rpc_register_entry(alias, NULL, 0, name);
}

/* Resolve aliases (registered in any constructor order). */
static struct rpc_method *
rpc_find_method(const char *name)
{
	struct rpc_method *m = rpc_find_entry(name);
	int hops;

	for (hops = 0; m != NULL && m->alias_of != NULL && hops < 8; hops++) {
		m = rpc_find_entry(m->alias_of);
	}
	return (m != NULL && m->alias_of == NULL) ? m : NULL;
}

void
rpc_method_foreach(void (*fn)(const char *name, uint32_t mask, bool is_alias, void *ctx),
		   void *ctx)
{
	struct rpc_method *m, *target;

	for (m = g_methods; m != NULL; m = m->next) {
		target = rpc_find_method(m->name);
		if (target != NULL) {
			fn(m->name, target->mask, m->alias_of != NULL, ctx);
		}
	}
}

uint32_t
rpc_get_state(void)
{
	return __atomic_load_n(&g_rpc_state, __ATOMIC_RELAXED);
}

void
rpc_set_state(uint32_t state)
{
	__atomic_store_n(&g_rpc_state, state, __ATOMIC_RELAXED);
}

const char *
rpc_request_method(const struct rpc_request *req)
{
	return req->method;
}

/* The state check: 0, or the code and SPDK's message for a wrong-state call. */
static int
rpc_check_state(const struct rpc_method *m, const char **message)
{
	uint32_t state = rpc_get_state();

	if ((m->mask & state & (RPC_STATE_STARTUP | RPC_STATE_RUNTIME)) != 0) {
		return 0;
	}
	if (state == RPC_STATE_STARTUP) {
		*message = "Method may only be called after framework is initialized using "
			   "framework_start_init RPC.";
	} else {
		*message = "Method may only be called before framework is initialized. Use "
			   "--wait-for-rpc command line parameter and then issue this RPC before "
			   "the framework_start_init RPC.";
	}
	return RPC_ERROR_INVALID_STATE;
}

static struct rpc_request *
rpc_request_new(const char *method, uint32_t mask)
{
	struct rpc_request *req = calloc(1, sizeof(*req));

	if (req == NULL) {
		return NULL;
	}
	req->method = strdup(method);
	if (req->method == NULL) {
		free(req);
		return NULL;
	}
	req->mask = mask;
	return req;
}

static void
rpc_request_free(struct rpc_request *req)
{
	free(req->method);
	free(req);
}

int
rpc_state_save(void)
{
	const char *path = subsystem_get_option("state_file");
	struct json_object *doc;
	const char *text;
	size_t len;
	char *buf;
	int rc;

	if (path == NULL || path[0] == '\0') {
		return 0;
	}
	doc = rpc_config_build();
	text = json_object_to_json_string_length(doc, JSON_C_TO_STRING_PRETTY |
						 JSON_C_TO_STRING_SPACED |
						 JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	buf = malloc(len + 1);
	if (buf == NULL) {
		json_object_put(doc);
		return -ENOMEM;
	}
	memcpy(buf, text, len);
	buf[len] = '\n';
	rc = util_file_write_atomic(path, buf, len + 1, 0600);
	if (rc != 0) {
		VHD_ERRLOG("rpc: cannot write state file %s: %s\n", path, strerror(-rc));
	}
	free(buf);
	json_object_put(doc);
	return rc;
}

/* App thread: deliver one response and free the request. */
static void
rpc_complete(struct rpc_request *req, int code, const char *message, struct json_object *result)
{
	if (code == 0 && req->jreq != NULL && (req->mask & RPC_MUTATES) != 0) {
		/* Durable before the client hears of success. */
		rpc_state_save();
	}
	if (req->jreq == NULL) {
		if (req->cb != NULL) {
			req->cb(req->cb_arg, code, message, code == 0 ? result : NULL);
		}
		json_object_put(result);
	} else if (code == 0) {
		jsonrpc_send_result(req->jreq, result);
	} else {
		json_object_put(result);
		jsonrpc_send_error(req->jreq, code, message);
	}
	rpc_request_free(req);
}

static void
rpc_complete_msg(void *ctx)
{
	struct rpc_response *rsp = ctx;

	rpc_complete(rsp->req, rsp->code, rsp->message, rsp->result);
	free(rsp->message);
	free(rsp);
}

static bool
rpc_on_app_thread(void)
{
	struct thread *app = thread_get_app();

	return app == NULL || thread_get_current() == app;
}

/* Takes `message` (malloc'ed or NULL) and `result`. */
static void
rpc_respond(struct rpc_request *req, int code, char *message, struct json_object *result)
{
	struct rpc_response *rsp;

	if (req->responded) {
		VHD_ERRLOG("rpc: %s answered twice; second answer dropped\n", req->method);
		free(message);
		json_object_put(result);
		return;
	}
	req->responded = true;
	if (rpc_on_app_thread()) {
		rpc_complete(req, code, message, result);
		free(message);
		return;
	}
	rsp = calloc(1, sizeof(*rsp));
	if (rsp != NULL) {
		rsp->req = req;
		rsp->code = code;
		rsp->message = message;
		rsp->result = result;
		if (thread_send_msg(thread_get_app(), rpc_complete_msg, rsp) == 0) {
			return;
		}
		free(rsp);
	}
	/* Cannot reach the app thread: the request is lost, say so loudly. */
	VHD_ERRLOG("rpc: cannot forward the response of %s to the app thread\n", req->method);
	free(message);
	json_object_put(result);
}

void
rpc_send_result(struct rpc_request *req, struct json_object *result)
{
	rpc_respond(req, 0, NULL, result);
}

void
rpc_send_bool(struct rpc_request *req, bool value)
{
	rpc_respond(req, 0, NULL, json_object_new_boolean(value));
}

void
rpc_send_string(struct rpc_request *req, const char *value)
{
	rpc_respond(req, 0, NULL, json_object_new_string(value ? value : ""));
}

void
rpc_send_error(struct rpc_request *req, int code, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		msg = NULL;
	}
	va_end(ap);
	if (code == 0) {
		code = RPC_ERROR_INTERNAL_ERROR;
	}
	rpc_respond(req, code, msg, NULL);
}

void
rpc_send_errno(struct rpc_request *req, int code, int neg_errno)
{
	rpc_send_error(req, code, "%s", strerror(neg_errno < 0 ? -neg_errno : neg_errno));
}

/* lib/jsonrpc hands every valid request here (app thread). */
static void
rpc_jsonrpc_handler(struct jsonrpc_request *jreq, const char *method, struct json_object *params,
		    void *ctx)
{
	struct rpc_method *m = rpc_find_method(method);
	struct rpc_request *req;
	const char *msg;
	int code;

	if (m == NULL) {
		jsonrpc_send_error(jreq, RPC_ERROR_METHOD_NOT_FOUND, "Method not found");
		return;
	}
	code = rpc_check_state(m, &msg);
	if (code != 0) {
		jsonrpc_send_error(jreq, code, msg);
		return;
	}
	req = rpc_request_new(method, m->mask);
	if (req == NULL) {
		jsonrpc_send_error(jreq, RPC_ERROR_INTERNAL_ERROR, "Internal error");
		return;
	}
	req->jreq = jreq;
	m->fn(req, params);
}

void
rpc_call_internal(const char *method, struct json_object *params, rpc_internal_cb cb,
		  void *cb_arg)
{
	struct rpc_method *m = rpc_find_method(method);
	struct rpc_request *req;
	const char *msg;
	int code;

	if (m == NULL) {
		cb(cb_arg, RPC_ERROR_METHOD_NOT_FOUND, "Method not found", NULL);
		return;
	}
	code = rpc_check_state(m, &msg);
	if (code != 0) {
		cb(cb_arg, code, msg, NULL);
		return;
	}
	req = rpc_request_new(method, m->mask);
	if (req == NULL) {
		cb(cb_arg, RPC_ERROR_INTERNAL_ERROR, "Internal error", NULL);
		return;
	}
	req->cb = cb;
	req->cb_arg = cb_arg;
	m->fn(req, params);
}

int
rpc_listen(const char *path)
{
	if (g_server != NULL) {
		return -EBUSY;
	}
	return jsonrpc_server_listen(path, rpc_jsonrpc_handler, NULL, &g_server);
}

void
rpc_close(void)
{
	jsonrpc_server_close(g_server);
	g_server = NULL;
}

/* ---- config ---- */

void
rpc_config_add(struct json_object *config, const char *method, struct json_object *params)
{
	struct json_object *entry = json_object_new_object();

	json_object_object_add(entry, "method", json_object_new_string(method));
	if (params != NULL) {
		json_object_object_add(entry, "params", params);
	}
	json_object_array_add(config, entry);
}

struct json_object *
rpc_config_build(void)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *subsystems = json_object_new_array();
	struct subsystem *s;

	for (s = subsystem_first(); s != NULL; s = subsystem_next(s)) {
		json_object_array_add(subsystems, rpc_subsystem_config(s));
	}
	json_object_object_add(doc, "subsystems", subsystems);
	return doc;
}

struct json_object *
rpc_subsystem_config(struct subsystem *s)
{
	struct json_object *entry = json_object_new_object();
	struct json_object *config = json_object_new_array();

	if (s->write_config != NULL) {
		s->write_config(config);
	}
	json_object_object_add(entry, "subsystem", json_object_new_string(s->name));
	json_object_object_add(entry, "config", config);
	return entry;
}
