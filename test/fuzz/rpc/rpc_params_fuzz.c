/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: every registered RPC method's parameter decoding and
 * handler, called through rpc_call_internal (the config replay path) in a
 * process where lib/rpc, lib/bdev (+ malloc, null, delay, error backends) and
 * lib/scsi are linked and their subsystems initialised on a polled app thread.
 * lib/vhost (DPDK, sockets, controller threads on reactors) and the file
 * backends (aio, uring: they open paths) are not linked; their decoders are
 * covered by their unit tests.
 *
 * Input: JSON text, one of
 *   {"subsystems":[{"subsystem":..,"config":[{"method":..,"params":..},..]},..]}
 *        (save_config format: the -c replay order)
 *   [{"method":..,"params":..}, ...]   or   {"method":..,"params":..}
 *   or "@N" + JSON params: call the N-th registered method (mod count) with them
 * After each input every subsystem is finished and initialised again, so no
 * state carries between inputs. Checked: every call completes exactly once
 * with either a result or an error code and message; nothing leaks (LSan).
 *
 * Resource caps (requests an operator may legitimately make, but which would
 * only measure this machine's memory): bdev_malloc_create above 64 MiB is
 * skipped.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "vhostd/rpc.h"
#include "vhostd/subsystem.h"
#include "vhostd/thread.h"

#include "rpc_internal.h"
#include "../common/fuzz_app.h"

#define MAX_CALLS	64
#define MAX_METHODS	256

static struct thread *g_app;
static char *g_methods[MAX_METHODS];
static uint32_t g_nmethods;

struct call {
	int	completions;
	int	code;
};

static void
call_done(void *cb_arg, int code, const char *message, struct json_object *result)
{
	struct call *c = cb_arg;

	c->completions++;
	c->code = code;
	if (code != 0) {
		if (message == NULL) {
			__builtin_trap();
		}
		(void)strlen(message);
	} else if (result != NULL) {
		(void)json_object_to_json_string(result);
	}
}

static void
call_one(const char *method, struct json_object *params)
{
	struct call c = {0, 0};

	if (method == NULL || fuzz_app_call_too_big(method, params)) {
		return;
	}
	/* rpc_call_internal borrows params for the duration of the call. */
	rpc_call_internal(method, params, call_done, &c);
	fuzz_app_poll(g_app, &c.completions);
	fuzz_app_poll(g_app, NULL);
	if (c.completions != 1) {
		__builtin_trap();
	}
}

static void
call_entry(struct json_object *entry)
{
	struct json_object *m, *params = NULL;

	if (!json_object_is_type(entry, json_type_object) ||
	    !json_object_object_get_ex(entry, "method", &m) ||
	    !json_object_is_type(m, json_type_string)) {
		return;
	}
	json_object_object_get_ex(entry, "params", &params);
	call_one(json_object_get_string(m), params);
}

static void
collect_method(const char *name, uint32_t mask, bool is_alias, void *ctx)
{
	if (g_nmethods < MAX_METHODS && strcmp(name, "spdk_kill_instance") != 0) {
		g_methods[g_nmethods++] = strdup(name);
	}
}

static int g_fini_done;

static void
fini_done(void)
{
	g_fini_done = 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (thread_lib_init() != 0) {
		abort();
	}
	g_app = thread_create("app", NULL);
	if (g_app == NULL) {
		abort();
	}
	thread_set_current(g_app);
	if (subsystem_init_all() != 0) {
		abort();
	}
	rpc_set_state(RPC_STATE_RUNTIME);
	rpc_method_foreach(collect_method, NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener *tok;
	struct json_object *doc, *subs, *sub, *config;
	size_t i, j, calls = 0;

	if (size > 0 && data[0] == '@') {
		/* "@N <params>": the N-th registered method. */
		uint32_t n = size > 1 ? data[1] : 0;

		data += 2 > size ? size : 2;
		size -= 2 > size ? size : 2;
		tok = json_tokener_new();
		doc = json_tokener_parse_ex(tok, (const char *)data, (int)size);
		json_tokener_free(tok);
		if (g_nmethods > 0) {
			call_one(g_methods[n % g_nmethods], doc);
		}
		json_object_put(doc);
		goto reset;
	}
	tok = json_tokener_new();
	doc = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	if (doc == NULL) {
		return 0;
	}
	if (json_object_is_type(doc, json_type_array)) {
		for (i = 0; i < json_object_array_length(doc) && calls < MAX_CALLS; i++, calls++) {
			call_entry(json_object_array_get_idx(doc, i));
		}
	} else if (json_object_object_get_ex(doc, "subsystems", &subs) &&
		   json_object_is_type(subs, json_type_array)) {
		for (i = 0; i < json_object_array_length(subs); i++) {
			sub = json_object_array_get_idx(subs, i);
			if (!json_object_is_type(sub, json_type_object) ||
			    !json_object_object_get_ex(sub, "config", &config) ||
			    !json_object_is_type(config, json_type_array)) {
				continue;
			}
			for (j = 0; j < json_object_array_length(config) && calls < MAX_CALLS;
			     j++, calls++) {
				call_entry(json_object_array_get_idx(config, j));
			}
		}
	} else {
		call_entry(doc);
	}
	/* What save_config would write now must build (and be valid JSON). */
	{
		struct json_object *saved = rpc_config_build();

		if (saved == NULL) {
			__builtin_trap();
		}
		(void)json_object_to_json_string(saved);
		json_object_put(saved);
	}
	json_object_put(doc);
reset:
	g_fini_done = 0;
	subsystem_fini_all(fini_done);
	fuzz_app_poll(g_app, &g_fini_done);
	fuzz_app_poll(g_app, NULL);
	if (subsystem_init_all() != 0) {
		__builtin_trap();
	}
	rpc_set_state(RPC_STATE_RUNTIME);
	return 0;
}
