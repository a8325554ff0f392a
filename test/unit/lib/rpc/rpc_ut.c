/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/rpc: decoders (strict, relaxed: missing, unknown, duplicate, wrong type,
 * out of range), registry and states, responses from other threads, internal
 * calls, subsystems (order, failure, async fini), config document, state file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ut_thread.h"
#include "vhostd/rpc.h"
#include "vhostd/subsystem.h"
#include "vhostd/util.h"

/* ---- decoders ---- */

struct all_params {
	char			*s;
	bool			b;
	int32_t			i;
	uint32_t		u;
	uint64_t		q;
	struct json_object	*o;
};

static const struct rpc_decoder g_all_decoders[] = {
	{"s", offsetof(struct all_params, s), rpc_decode_string, false},
	{"b", offsetof(struct all_params, b), rpc_decode_bool, true},
	{"i", offsetof(struct all_params, i), rpc_decode_int32, true},
	{"u", offsetof(struct all_params, u), rpc_decode_uint32, true},
	{"q", offsetof(struct all_params, q), rpc_decode_uint64, true},
	{"o", offsetof(struct all_params, o), rpc_decode_object_ref, true},
};

static void
all_params_free(struct all_params *p)
{
	free(p->s);
	json_object_put(p->o);
	memset(p, 0, sizeof(*p));
}

/* Decode JSON text with the table; returns rc, fills err. */
static int
decode(const char *json, bool relaxed, struct all_params *p, struct rpc_decode_error *err)
{
	struct json_object *params = json ? json_tokener_parse(json) : NULL;
	int rc;

	if (json != NULL) {
		assert_non_null(params);
	}
	memset(p, 0, sizeof(*p));
	memset(err, 0, sizeof(*err));
	if (relaxed) {
		rc = rpc_decode_object_relaxed(params, g_all_decoders, VHD_COUNTOF(g_all_decoders), p,
					       err);
	} else {
		rc = rpc_decode_object(params, g_all_decoders, VHD_COUNTOF(g_all_decoders), p, err);
	}
	json_object_put(params);
	return rc;
}

static void
expect_fail(const char *json, const char *field, const char *reason)
{
	struct all_params p;
	struct rpc_decode_error err;

	assert_int_equal(decode(json, false, &p, &err), -EINVAL);
	assert_string_equal(err.field, field);
	assert_string_equal(err.reason, reason);
	all_params_free(&p);
}

static void
test_rpc_decode_all_types(void **state)
{
	struct all_params p;
	struct rpc_decode_error err;

	assert_int_equal(decode("{\"s\":\"name\",\"b\":true,\"i\":-5,\"u\":7,"
				"\"q\":9223372036854775813,\"o\":{\"x\":[1]}}", false, &p, &err), 0);
	assert_string_equal(p.s, "name");
	assert_true(p.b);
	assert_int_equal(p.i, -5);
	assert_int_equal(p.u, 7);
	assert_true(p.q == 9223372036854775813ull);
	assert_true(json_object_is_type(p.o, json_type_object));
	all_params_free(&p);
	/* Optional keys absent keep the caller's defaults. */
	memset(&p, 0, sizeof(p));
	assert_int_equal(decode("{\"s\":\"\"}", false, &p, &err), 0);
	assert_string_equal(p.s, "");
	assert_false(p.b);
	all_params_free(&p);
	/* Arrays are accepted by object_ref. */
	assert_int_equal(decode("{\"s\":\"x\",\"o\":[]}", false, &p, &err), 0);
	assert_true(json_object_is_type(p.o, json_type_array));
	all_params_free(&p);
}

static void
test_rpc_decode_boundaries(void **state)
{
	struct all_params p;
	struct rpc_decode_error err;

	assert_int_equal(decode("{\"s\":\"x\",\"i\":-2147483648,\"u\":4294967295,"
				"\"q\":18446744073709551615}", false, &p, &err), 0);
	assert_int_equal(p.i, INT32_MIN);
	assert_true(p.u == UINT32_MAX);
	assert_true(p.q == UINT64_MAX);
	all_params_free(&p);
	assert_int_equal(decode("{\"s\":\"x\",\"i\":2147483647,\"u\":0,\"q\":0}", false, &p, &err), 0);
	assert_int_equal(p.i, INT32_MAX);
	all_params_free(&p);
}

static void
test_rpc_decode_missing(void **state)
{
	expect_fail("{}", "s", "missing");
	expect_fail("{\"b\":true}", "s", "missing");
	expect_fail(NULL, "s", "missing");
}

static void
test_rpc_decode_unknown(void **state)
{
	struct all_params p;
	struct rpc_decode_error err;

	expect_fail("{\"s\":\"x\",\"extra\":1}", "extra", "unknown key");
	/* Relaxed: ignored, the rest decoded. */
	assert_int_equal(decode("{\"extra\":1,\"s\":\"x\",\"b\":true}", true, &p, &err), 0);
	assert_string_equal(p.s, "x");
	assert_true(p.b);
	all_params_free(&p);
	/* Relaxed still requires the required keys. */
	assert_int_equal(decode("{\"extra\":1}", true, &p, &err), -EINVAL);
	assert_string_equal(err.field, "s");
	assert_string_equal(err.reason, "missing");
}

static void
test_rpc_decode_duplicate(void **state)
{
	struct json_object *params = json_object_new_object();
	struct all_params p = {};
	struct rpc_decode_error err;

	/* json-c's parser keeps the last of duplicate keys; objects built with KEY_IS_NEW keep both. */
	json_object_object_add_ex(params, "s", json_object_new_string("a"),
				  JSON_C_OBJECT_ADD_KEY_IS_NEW);
	json_object_object_add_ex(params, "s", json_object_new_string("b"),
				  JSON_C_OBJECT_ADD_KEY_IS_NEW);
	assert_int_equal(rpc_decode_object(params, g_all_decoders, VHD_COUNTOF(g_all_decoders), &p,
					   &err), -EINVAL);
	assert_string_equal(err.field, "s");
	assert_string_equal(err.reason, "duplicate key");
	all_params_free(&p);
	assert_int_equal(rpc_decode_object_relaxed(params, g_all_decoders,
						   VHD_COUNTOF(g_all_decoders), &p, &err), -EINVAL);
	assert_string_equal(err.reason, "duplicate key");
	all_params_free(&p);
	json_object_put(params);
}

static void
test_rpc_decode_wrong_type(void **state)
{
	expect_fail("{\"s\":5}", "s", "expected string");
	expect_fail("{\"s\":null}", "s", "expected string");
	expect_fail("{\"s\":\"x\",\"b\":\"true\"}", "b", "expected bool");
	expect_fail("{\"s\":\"x\",\"b\":1}", "b", "expected bool");
	expect_fail("{\"s\":\"x\",\"i\":\"1\"}", "i", "expected int32");
	expect_fail("{\"s\":\"x\",\"i\":1.5}", "i", "expected int32");
	expect_fail("{\"s\":\"x\",\"u\":true}", "u", "expected uint32");
	expect_fail("{\"s\":\"x\",\"u\":1e3}", "u", "expected uint32");
	expect_fail("{\"s\":\"x\",\"q\":[1]}", "q", "expected uint64");
	expect_fail("{\"s\":\"x\",\"o\":\"{}\"}", "o", "expected object or array");
	expect_fail("{\"s\":\"x\",\"o\":null}", "o", "expected object or array");
	/* An embedded NUL would make C see a different string. */
	expect_fail("{\"s\":\"a\\u0000b\"}", "s", "expected string");
}

static void
test_rpc_decode_out_of_range(void **state)
{
	expect_fail("{\"s\":\"x\",\"i\":2147483648}", "i", "out of range for int32");
	expect_fail("{\"s\":\"x\",\"i\":-2147483649}", "i", "out of range for int32");
	expect_fail("{\"s\":\"x\",\"u\":-1}", "u", "out of range for uint32");
	expect_fail("{\"s\":\"x\",\"u\":4294967296}", "u", "out of range for uint32");
	expect_fail("{\"s\":\"x\",\"q\":-1}", "q", "out of range for uint64");
}

static void
test_rpc_decode_not_object(void **state)
{
	struct all_params p;
	struct rpc_decode_error err;

	expect_fail("[\"x\"]", "params", "expected object");
	/* err may be NULL. */
	memset(&p, 0, sizeof(p));
	struct json_object *o = json_tokener_parse("{}");
	assert_int_equal(rpc_decode_object(o, g_all_decoders, VHD_COUNTOF(g_all_decoders), &p,
					   NULL), -EINVAL);
	json_object_put(o);
	/* Zero decoders: only {} or no params pass. */
	o = json_tokener_parse("{\"a\":1}");
	assert_int_equal(rpc_decode_object(o, NULL, 0, &p, &err), -EINVAL);
	assert_string_equal(err.reason, "unknown key");
	assert_int_equal(rpc_decode_object_relaxed(o, NULL, 0, &p, &err), 0);
	json_object_put(o);
	assert_int_equal(rpc_decode_object(NULL, NULL, 0, &p, &err), 0);
}

/* ---- methods and internal calls ---- */

struct call_result {
	int			calls;
	int			code;
	char			message[256];
	char			result[16384];
	struct thread		*thread;
};

static void
call_cb(void *cb_arg, int code, const char *message, struct json_object *result)
{
	struct call_result *r = cb_arg;

	r->calls++;
	r->code = code;
	r->thread = thread_get_current();
	snprintf(r->message, sizeof(r->message), "%s", message ? message : "");
	snprintf(r->result, sizeof(r->result), "%s",
		 result ? json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN) : "");
}

static void
call(const char *method, const char *params_json, struct call_result *r)
{
	struct json_object *params = params_json ? json_tokener_parse(params_json) : NULL;

	memset(r, 0, sizeof(*r));
	rpc_call_internal(method, params, call_cb, r);
	json_object_put(params);
}

struct ut_echo_params {
	char		*name;
	uint32_t	count;
};

static const struct rpc_decoder ut_echo_decoders[] = {
	{"name", offsetof(struct ut_echo_params, name), rpc_decode_string, false},
	{"count", offsetof(struct ut_echo_params, count), rpc_decode_uint32, true},
};

static void
ut_rpc_echo(struct rpc_request *req, struct json_object *params)
{
	struct ut_echo_params p = {};
	struct rpc_decode_error err;

	if (rpc_decode_object(params, ut_echo_decoders, VHD_COUNTOF(ut_echo_decoders), &p,
			      &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
	} else if (p.count == 13) {
		rpc_send_errno(req, RPC_ERROR_INVALID_PARAMS, -EEXIST);
	} else if (p.count == 14) {
		rpc_send_error(req, -ENODEV, "%s: %d", rpc_request_method(req), 14);
	} else {
		rpc_send_string(req, p.name);
	}
	free(p.name);
}
RPC_REGISTER("ut_echo", ut_rpc_echo, RPC_STATE_RUNTIME)

static void
ut_rpc_startup_only(struct rpc_request *req, struct json_object *params)
{
	if (!rpc_reject_params(req, params)) {
		rpc_send_bool(req, true);
	}
}
RPC_REGISTER("ut_startup_only", ut_rpc_startup_only, RPC_STATE_STARTUP)

static int g_mutations;

static void
ut_rpc_mutate(struct rpc_request *req, struct json_object *params)
{
	g_mutations++;
	rpc_send_bool(req, true);
}
RPC_REGISTER("ut_mutate", ut_rpc_mutate, RPC_STATE_RUNTIME | RPC_MUTATES)

/* Answer from thread 1, as a handler that sends work to another thread. */
static void
ut_answer_on_thread1(void *ctx)
{
	assert_ptr_equal(thread_get_current(), ut_thread(1));
	rpc_send_result(ctx, json_object_new_int(42));
}

static void
ut_rpc_deferred(struct rpc_request *req, struct json_object *params)
{
	assert_int_equal(thread_send_msg(ut_thread(1), ut_answer_on_thread1, req), 0);
}
RPC_REGISTER("ut_deferred", ut_rpc_deferred, RPC_STATE_RUNTIME)

__attribute__((constructor)) static void
ut_register_aliases(void)
{
	rpc_register_alias("ut_echo_alias", "ut_echo");
	rpc_register_alias("ut_dangling_alias", "ut_no_such_method");
}

static void
test_rpc_internal_calls(void **state)
{
	struct call_result r;

	rpc_set_state(RPC_STATE_RUNTIME);
	call("ut_echo", "{\"name\":\"disk0\"}", &r);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.result, "\"disk0\"");
	call("ut_echo_alias", "{\"name\":\"a\"}", &r);
	assert_int_equal(r.code, 0);
	call("ut_dangling_alias", NULL, &r);
	assert_int_equal(r.code, RPC_ERROR_METHOD_NOT_FOUND);
	call("no_such", NULL, &r);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.code, RPC_ERROR_METHOD_NOT_FOUND);
	assert_string_equal(r.message, "Method not found");
	call("ut_echo", "{\"name\":1}", &r);
	assert_int_equal(r.code, RPC_ERROR_INVALID_PARAMS);
	assert_string_equal(r.message, "Invalid parameters: name: expected string");
	call("ut_echo", "{\"name\":\"x\",\"count\":4294967296}", &r);
	assert_string_equal(r.message, "Invalid parameters: count: out of range for uint32");
	call("ut_echo", "{\"name\":\"x\",\"count\":13}", &r);
	assert_int_equal(r.code, RPC_ERROR_INVALID_PARAMS);
	assert_string_equal(r.message, "File exists");
	call("ut_echo", "{\"name\":\"x\",\"count\":14}", &r);
	assert_int_equal(r.code, -ENODEV);
	assert_string_equal(r.message, "ut_echo: 14");
	/* Wrong state: SPDK's code -1 and message. */
	call("ut_startup_only", NULL, &r);
	assert_int_equal(r.code, RPC_ERROR_INVALID_STATE);
	assert_non_null(strstr(r.message, "before framework is initialized"));
	rpc_set_state(RPC_STATE_STARTUP);
	call("ut_echo", "{\"name\":\"x\"}", &r);
	assert_int_equal(r.code, RPC_ERROR_INVALID_STATE);
	assert_non_null(strstr(r.message, "after framework is initialized"));
	call("ut_startup_only", "{}", &r);
	assert_int_equal(r.code, RPC_ERROR_INVALID_PARAMS);
	assert_string_equal(r.message, "'ut_startup_only' requires no arguments");
	call("ut_startup_only", NULL, &r);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.result, "true");
	rpc_set_state(RPC_STATE_RUNTIME);
}

static void
test_rpc_builtin_methods(void **state)
{
	struct call_result r;

	rpc_set_state(RPC_STATE_RUNTIME);
	call("rpc_get_methods", NULL, &r);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.result, "\"ut_echo\""));
	assert_non_null(strstr(r.result, "\"save_config\""));
	assert_null(strstr(r.result, "ut_echo_alias"));
	assert_null(strstr(r.result, "ut_dangling_alias"));
	call("rpc_get_methods", "{\"include_aliases\":true}", &r);
	assert_non_null(strstr(r.result, "\"ut_echo_alias\""));
	assert_non_null(strstr(r.result, "\"log_set_print_level\""));
	call("rpc_get_methods", "{\"current\":true}", &r);
	assert_null(strstr(r.result, "ut_startup_only"));
	call("rpc_get_methods", "{\"current\":1}", &r);
	assert_string_equal(r.message, "Invalid parameters: current: expected bool");
	call("vhostd_get_version", NULL, &r);
	assert_string_equal(r.result, "{\"version\":\"vhostd v" VHD_VERSION_STRING "\",\"fields\":"
			    "{\"major\":0,\"minor\":1,\"patch\":0,\"suffix\":\"\"}}");
	call("spdk_get_version", "{}", &r);
	assert_int_equal(r.code, RPC_ERROR_INVALID_PARAMS);
	call("log_set_level", "{\"level\":\"debug\"}", &r);
	assert_int_equal(r.code, 0);
	call("log_get_print_level", NULL, &r);
	assert_string_equal(r.result, "\"DEBUG\"");
	call("log_set_level", "{\"level\":\"NOTICE\"}", &r);
	call("log_set_flag", "{\"flag\":\"nope\"}", &r);
	assert_int_equal(r.code, RPC_ERROR_INVALID_PARAMS);
	call("log_set_flag", "{}", &r);
	assert_string_equal(r.message, "Invalid parameters: flag: missing");
	call("framework_get_config", "{\"name\":\"ut_b\"}", &r);
	assert_string_equal(r.result, "[{\"method\":\"ut_echo\",\"params\":{\"name\":\"b\"}}]");
	call("framework_get_config", "{\"name\":\"nope\"}", &r);
	assert_int_equal(r.code, RPC_ERROR_INVALID_PARAMS);
}

static void
test_rpc_response_from_other_thread(void **state)
{
	struct call_result r;

	rpc_set_state(RPC_STATE_RUNTIME);
	ut_set_thread(0);
	call("ut_deferred", NULL, &r);
	assert_int_equal(r.calls, 0);
	ut_poll_threads();
	assert_int_equal(r.calls, 1);
	assert_string_equal(r.result, "42");
	/* Delivered on the app thread, not on the thread that answered. */
	assert_ptr_equal(r.thread, ut_thread(0));
}

/* ---- subsystems ---- */

static char g_order[64];
static int g_fail_init;
static void (*g_pending_fini_done)(void);

static int
ut_a_init(void)
{
	strcat(g_order, "+a");
	return 0;
}

static void
ut_a_fini(void (*done)(void))
{
	strcat(g_order, "-a");
	done();
}

static int
ut_b_init(void)
{
	strcat(g_order, "+b");
	return g_fail_init ? -ENOSPC : 0;
}

static void
ut_b_fini(void (*done)(void))
{
	/* Asynchronous: finishes when the test says so. */
	strcat(g_order, "-b");
	g_pending_fini_done = done;
}

static void
ut_b_write_config(struct json_object *config)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "name", json_object_new_string("b"));
	rpc_config_add(config, "ut_echo", p);
}

static int
ut_c_init(void)
{
	strcat(g_order, "+c");
	return 0;
}

static void
ut_c_fini(void (*done)(void))
{
	strcat(g_order, "-c");
	done();
}

static struct subsystem g_ut_c = {.name = "ut_c", .order = 300, .init = ut_c_init,
				  .fini = ut_c_fini};
static struct subsystem g_ut_a = {.name = "ut_a", .order = 100, .init = ut_a_init,
				  .fini = ut_a_fini};
static struct subsystem g_ut_b = {.name = "ut_b", .order = 200, .init = ut_b_init,
				  .fini = ut_b_fini, .write_config = ut_b_write_config};
static struct subsystem g_ut_nofn = {.name = "ut_nofn", .order = 250};
SUBSYSTEM_REGISTER(g_ut_c)
SUBSYSTEM_REGISTER(g_ut_a)
SUBSYSTEM_REGISTER(g_ut_b)
SUBSYSTEM_REGISTER(g_ut_nofn)

static int g_fini_done_calls;

static void
ut_fini_done(void)
{
	g_fini_done_calls++;
}

static void
test_subsystem_order_and_fini(void **state)
{
	struct subsystem *s;
	int last = -1000;

	for (s = subsystem_first(); s != NULL; s = subsystem_next(s)) {
		assert_true(s->order >= last);
		last = s->order;
	}
	g_order[0] = '\0';
	g_fail_init = 0;
	assert_int_equal(subsystem_init_all(), 0);
	assert_string_equal(g_order, "+a+b+c");
	g_order[0] = '\0';
	g_fini_done_calls = 0;
	subsystem_fini_all(ut_fini_done);
	assert_string_equal(g_order, "-c-b");
	assert_int_equal(g_fini_done_calls, 0);
	g_pending_fini_done();
	assert_string_equal(g_order, "-c-b-a");
	assert_int_equal(g_fini_done_calls, 1);
}

static void
test_subsystem_init_failure(void **state)
{
	g_order[0] = '\0';
	g_fail_init = 1;
	assert_int_equal(subsystem_init_all(), -ENOSPC);
	assert_string_equal(g_order, "+a+b");
	/* Only what initialised is finalised (b failed: not b, not c). */
	g_order[0] = '\0';
	g_fini_done_calls = 0;
	subsystem_fini_all(ut_fini_done);
	assert_string_equal(g_order, "-a");
	assert_int_equal(g_fini_done_calls, 1);
	g_fail_init = 0;
	/* Nothing initialised: done at once. */
	subsystem_fini_all(ut_fini_done);
	assert_int_equal(g_fini_done_calls, 2);
}

static void
test_subsystem_options(void **state)
{
	assert_null(subsystem_get_option("ut_opt"));
	subsystem_set_option("ut_opt", "one");
	assert_string_equal(subsystem_get_option("ut_opt"), "one");
	subsystem_set_option("ut_opt", "two");
	assert_string_equal(subsystem_get_option("ut_opt"), "two");
	subsystem_set_option("ut_opt", NULL);
	assert_null(subsystem_get_option("ut_opt"));
}

/* ---- config and state file ---- */

static void
test_rpc_config_build_and_state(void **state)
{
	struct json_object *doc, *subs, *e, *name, *config;
	struct call_result r;
	char path[64], *buf;
	size_t len, i, n;
	struct stat st;
	ino_t ino;

	doc = rpc_config_build();
	assert_true(json_object_object_get_ex(doc, "subsystems", &subs));
	n = json_object_array_length(subs);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(subs, i);
		assert_true(json_object_object_get_ex(e, "subsystem", &name));
		assert_true(json_object_object_get_ex(e, "config", &config));
		assert_true(json_object_is_type(config, json_type_array));
		if (strcmp(json_object_get_string(name), "ut_b") == 0) {
			assert_string_equal(json_object_to_json_string_ext(config,
									   JSON_C_TO_STRING_PLAIN),
					    "[{\"method\":\"ut_echo\",\"params\":{\"name\":\"b\"}}]");
		}
	}
	json_object_put(doc);

	/* No state file configured: nothing written. */
	subsystem_set_option("state_file", NULL);
	assert_int_equal(rpc_state_save(), 0);
	snprintf(path, sizeof(path), "/tmp/rpc_ut_state.%d.json", (int)getpid());
	unlink(path);
	subsystem_set_option("state_file", path);
	assert_int_equal(rpc_state_save(), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	ino = st.st_ino;
	assert_int_equal(util_file_read(path, &buf, &len, 1 << 20), 0);
	doc = json_tokener_parse(buf);
	assert_non_null(doc);
	assert_true(json_object_object_get_ex(doc, "subsystems", &subs));
	json_object_put(doc);
	free(buf);
	/* Internal calls (config replay) never rewrite the state, even mutating ones. */
	call("ut_mutate", NULL, &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_ino == ino);
	/* An unwritable path reports the error. */
	subsystem_set_option("state_file", "/nonexistent-dir/state.json");
	assert_true(rpc_state_save() < 0);
	subsystem_set_option("state_file", NULL);
	unlink(path);
}

static int
group_setup(void **state)
{
	ut_threads_init(2);
	return 0;
}

static int
group_teardown(void **state)
{
	ut_threads_fini();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rpc_decode_all_types),
		cmocka_unit_test(test_rpc_decode_boundaries),
		cmocka_unit_test(test_rpc_decode_missing),
		cmocka_unit_test(test_rpc_decode_unknown),
		cmocka_unit_test(test_rpc_decode_duplicate),
		cmocka_unit_test(test_rpc_decode_wrong_type),
		cmocka_unit_test(test_rpc_decode_out_of_range),
		cmocka_unit_test(test_rpc_decode_not_object),
		cmocka_unit_test(test_rpc_internal_calls),
		cmocka_unit_test(test_rpc_builtin_methods),
		cmocka_unit_test(test_rpc_response_from_other_thread),
		cmocka_unit_test(test_subsystem_order_and_fini),
		cmocka_unit_test(test_subsystem_init_failure),
		cmocka_unit_test(test_subsystem_options),
		cmocka_unit_test(test_rpc_config_build_and_state),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
