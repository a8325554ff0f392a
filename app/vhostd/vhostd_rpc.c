/* SPDX-License-Identifier: BSD-3-Clause */
/* Methods that drive the daemon itself: framework_start_init, framework_wait_init, spdk_kill_instance. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhostd/log.h"
#include "vhostd/rpc.h"
#include "vhostd/util.h"

#include "vhostd_internal.h"

struct waiter {
	struct rpc_request	*req;
	struct waiter		*next;
};

static struct waiter *g_waiters;
static bool g_start_in_progress;

void
vhostd_rpc_wake_waiters(void)
{
	struct waiter *w;

	while ((w = g_waiters) != NULL) {
		g_waiters = w->next;
		rpc_send_bool(w->req, true);
		free(w);
	}
}

void
vhostd_rpc_fail_waiters(void)
{
	struct waiter *w;

	while ((w = g_waiters) != NULL) {
		g_waiters = w->next;
		rpc_send_error(w->req, RPC_ERROR_INTERNAL_ERROR, "vhostd is shutting down");
		free(w);
	}
}

static void
rpc_framework_wait_init(struct rpc_request *req, struct json_object *params)
{
	struct waiter *w;

	if (rpc_reject_params(req, params)) {
		return;
	}
	if (vhostd_framework_started()) {
		rpc_send_bool(req, true);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		rpc_send_error(req, RPC_ERROR_INTERNAL_ERROR, "Out of memory");
		return;
	}
	w->req = req;
	w->next = g_waiters;
	g_waiters = w;
}
RPC_REGISTER("framework_wait_init", rpc_framework_wait_init, RPC_STATE_STARTUP | RPC_STATE_RUNTIME)

static void
framework_start_done(void *ctx, int rc, const char *message)
{
	struct rpc_request *req = ctx;

	g_start_in_progress = false;
	if (rc != 0) {
		rpc_send_error(req, RPC_ERROR_INTERNAL_ERROR, "framework_start_init failed: %s",
			       message);
		vhostd_shutdown(1);
		return;
	}
	rpc_send_bool(req, true);
}

static void
rpc_framework_start_init(struct rpc_request *req, struct json_object *params)
{
	if (rpc_reject_params(req, params)) {
		return;
	}
	if (g_start_in_progress) {
		rpc_send_error(req, RPC_ERROR_INVALID_STATE, "framework_start_init already running");
		return;
	}
	g_start_in_progress = true;
	vhostd_framework_start(framework_start_done, req);
}
RPC_REGISTER("framework_start_init", rpc_framework_start_init, RPC_STATE_STARTUP)

struct rpc_kill_params {
	char	*sig_name;
};

static const struct rpc_decoder rpc_kill_decoders[] = {
	{"sig_name", offsetof(struct rpc_kill_params, sig_name), rpc_decode_string, false},
};

static void
rpc_spdk_kill_instance(struct rpc_request *req, struct json_object *params)
{
	static const struct {
		const char	*name;
		int		sig;
	} sigs[] = {
		{"SIGINT", SIGINT}, {"SIGTERM", SIGTERM}, {"SIGKILL", SIGKILL},
	};
	struct rpc_kill_params p = {};
	struct rpc_decode_error err;
	size_t i;

	if (rpc_decode_object(params, rpc_kill_decoders, VHD_COUNTOF(rpc_kill_decoders), &p,
			      &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		free(p.sig_name);
		return;
	}
	for (i = 0; i < VHD_COUNTOF(sigs); i++) {
		if (strcmp(p.sig_name, sigs[i].name) == 0) {
			break;
		}
	}
	if (i == VHD_COUNTOF(sigs)) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS,
			       "Invalid parameters: sig_name: '%s' is not SIGINT, SIGTERM or SIGKILL",
			       p.sig_name);
		free(p.sig_name);
		return;
	}
	VHD_NOTICELOG("spdk_kill_instance: sending %s to myself\n", p.sig_name);
	free(p.sig_name);
	/* The answer is on its way before the signal: SIGTERM/SIGINT are read by signalfd. */
	rpc_send_bool(req, true);
	kill(getpid(), sigs[i].sig);
}
RPC_REGISTER("spdk_kill_instance", rpc_spdk_kill_instance, RPC_STATE_STARTUP | RPC_STATE_RUNTIME)
