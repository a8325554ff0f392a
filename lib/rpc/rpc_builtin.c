/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Built-in methods: introspection (rpc_get_methods, versions, reactors,
 * threads), save_config and its SPDK relatives, and logging. Logging state is
 * a subsystem ("log") of its own so that save_config and --state keep it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "vhostd/cpuset.h"
#include "vhostd/log.h"
#include "vhostd/rpc.h"
#include "vhostd/subsystem.h"
#include "vhostd/thread.h"
#include "vhostd/util.h"

#include "rpc_internal.h"

/* ---- rpc_get_methods ---- */

struct rpc_get_methods_params {
	bool	current;
	bool	include_aliases;
};

static const struct rpc_decoder rpc_get_methods_decoders[] = {
	{"current", offsetof(struct rpc_get_methods_params, current), rpc_decode_bool, true},
	{"include_aliases", offsetof(struct rpc_get_methods_params, include_aliases),
	 rpc_decode_bool, true},
};

struct rpc_get_methods_ctx {
	struct rpc_get_methods_params	p;
	const char			**names;
	size_t				n;
	size_t				cap;
};

static void
rpc_get_methods_collect(const char *name, uint32_t mask, bool is_alias, void *arg)
{
	struct rpc_get_methods_ctx *ctx = arg;

	if (is_alias && !ctx->p.include_aliases) {
		return;
	}
	if (ctx->p.current && (mask & rpc_get_state()) == 0) {
		return;
	}
	if (ctx->n == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 64;
		const char **names = realloc(ctx->names, cap * sizeof(*names));

		if (names == NULL) {
			return;
		}
		ctx->names = names;
		ctx->cap = cap;
	}
	ctx->names[ctx->n++] = name;
}

static int
rpc_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
rpc_get_methods(struct rpc_request *req, struct json_object *params)
{
	struct rpc_get_methods_ctx ctx = {};
	struct rpc_decode_error err;
	struct json_object *result;
	size_t i;

	if (rpc_decode_object(params, rpc_get_methods_decoders,
			      VHD_COUNTOF(rpc_get_methods_decoders), &ctx.p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		return;
	}
	rpc_method_foreach(rpc_get_methods_collect, &ctx);
	if (ctx.n > 0) {
		qsort(ctx.names, ctx.n, sizeof(*ctx.names), rpc_name_cmp);
	}
	result = json_object_new_array();
	for (i = 0; i < ctx.n; i++) {
		json_object_array_add(result, json_object_new_string(ctx.names[i]));
	}
	free(ctx.names);
	rpc_send_result(req, result);
}
RPC_REGISTER("rpc_get_methods", rpc_get_methods, RPC_STATE_STARTUP | RPC_STATE_RUNTIME)

/* ---- versions ---- */

static struct json_object *
rpc_version_object(void)
{
	struct json_object *o = json_object_new_object();
	struct json_object *fields = json_object_new_object();
	unsigned int major = 0, minor = 0, patch = 0;
	char suffix[32] = "";

	sscanf(VHD_VERSION_STRING, "%u.%u.%u%31s", &major, &minor, &patch, suffix);
	json_object_object_add(o, "version", json_object_new_string("vhostd v" VHD_VERSION_STRING));
	json_object_object_add(fields, "major", json_object_new_int((int)major));
	json_object_object_add(fields, "minor", json_object_new_int((int)minor));
	json_object_object_add(fields, "patch", json_object_new_int((int)patch));
	json_object_object_add(fields, "suffix", json_object_new_string(suffix));
	json_object_object_add(o, "fields", fields);
	return o;
}

static void
rpc_vhostd_get_version(struct rpc_request *req, struct json_object *params)
{
	if (rpc_reject_params(req, params)) {
		return;
	}
	rpc_send_result(req, rpc_version_object());
}
RPC_REGISTER("vhostd_get_version", rpc_vhostd_get_version, RPC_STATE_STARTUP | RPC_STATE_RUNTIME)

static void
rpc_spdk_get_version(struct rpc_request *req, struct json_object *params)
{
	rpc_vhostd_get_version(req, params);
}
/* SPDK's name, so SPDK's own tools recognise the daemon. */
RPC_REGISTER("spdk_get_version", rpc_spdk_get_version, RPC_STATE_STARTUP | RPC_STATE_RUNTIME)

/* ---- framework_get_reactors / thread_get_stats ---- */

/* "0x3" -> "3": SPDK prints thread cpumasks without the prefix here. */
static const char *
rpc_cpumask_plain(const struct cpuset *set, char *buf, int len)
{
	const char *s = cpuset_fmt_hex(set, buf, len);

	if (s != NULL && strncmp(s, "0x", 2) == 0) {
		return s + 2;
	}
	return s != NULL ? s : "";
}

/* usr, sys, irq jiffies of one cpu from /proc/stat (0 when unreadable). */
static void
rpc_proc_stat_cpu(uint32_t cpu, uint64_t *usr, uint64_t *sys, uint64_t *irq)
{
	char line[512], want[32];
	unsigned long long u, n, s, idle, iow, i;
	FILE *f = fopen("/proc/stat", "r");

	*usr = *sys = *irq = 0;
	if (f == NULL) {
		return;
	}
	snprintf(want, sizeof(want), "cpu%u ", cpu);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, want, strlen(want)) == 0 &&
		    sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu", &u, &n, &s, &idle,
			   &iow, &i) == 6) {
			*usr = u;
			*sys = s;
			*irq = i;
			break;
		}
	}
	fclose(f);
}

static void
rpc_reactor_thread_info(struct thread *t, void *ctx)
{
	struct json_object *arr = ctx, *o = json_object_new_object();
	struct thread_stats st;
	char buf[CPUSET_MAX_CPUS / 4 + 8];

	thread_get_stats(t, &st);
	json_object_object_add(o, "name", json_object_new_string(thread_get_name(t)));
	json_object_object_add(o, "id", json_object_new_uint64(thread_get_id(t)));
	json_object_object_add(o, "cpumask",
			       json_object_new_string(rpc_cpumask_plain(thread_get_cpumask(t), buf,
									sizeof(buf))));
	json_object_object_add(o, "elapsed", json_object_new_uint64(st.busy_ticks + st.idle_ticks));
	json_object_array_add(arr, o);
}

static void
rpc_framework_get_reactors(struct rpc_request *req, struct json_object *params)
{
	struct reactor_stats *stats;
	struct json_object *result, *reactors, *r, *threads;
	uint32_t n, i;
	uint64_t usr, sys, irq;

	if (params != NULL) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS,
			       "`framework_get_reactors` requires no arguments");
		return;
	}
	stats = calloc(CPUSET_MAX_CPUS, sizeof(*stats));
	if (stats == NULL) {
		rpc_send_errno(req, RPC_ERROR_INTERNAL_ERROR, -ENOMEM);
		return;
	}
	n = reactors_get_stats(stats, CPUSET_MAX_CPUS);
	result = json_object_new_object();
	json_object_object_add(result, "tick_rate", json_object_new_uint64(util_get_ticks_hz()));
	json_object_object_add(result, "pid", json_object_new_int((int)getpid()));
	reactors = json_object_new_array();
	for (i = 0; i < n; i++) {
		r = json_object_new_object();
		rpc_proc_stat_cpu(stats[i].lcore, &usr, &sys, &irq);
		json_object_object_add(r, "lcore", json_object_new_int((int)stats[i].lcore));
		json_object_object_add(r, "tid", json_object_new_int(stats[i].tid));
		json_object_object_add(r, "busy", json_object_new_uint64(stats[i].busy_ticks));
		json_object_object_add(r, "idle", json_object_new_uint64(stats[i].idle_ticks));
		json_object_object_add(r, "in_interrupt",
				       json_object_new_boolean(stats[i].in_interrupt));
		json_object_object_add(r, "irq", json_object_new_uint64(irq));
		json_object_object_add(r, "sys", json_object_new_uint64(sys));
		json_object_object_add(r, "usr", json_object_new_uint64(usr));
		threads = json_object_new_array();
		reactor_for_each_thread(stats[i].lcore, rpc_reactor_thread_info, threads);
		json_object_object_add(r, "lw_threads", threads);
		json_object_array_add(reactors, r);
	}
	json_object_object_add(result, "reactors", reactors);
	free(stats);
	rpc_send_result(req, result);
}
RPC_REGISTER("framework_get_reactors", rpc_framework_get_reactors, RPC_STATE_RUNTIME)

static void
rpc_thread_stats_one(struct thread *t, void *ctx)
{
	struct json_object *arr = ctx, *o = json_object_new_object();
	struct thread_stats st;
	char buf[CPUSET_MAX_CPUS / 4 + 8];

	thread_get_stats(t, &st);
	json_object_object_add(o, "name", json_object_new_string(thread_get_name(t)));
	json_object_object_add(o, "id", json_object_new_uint64(thread_get_id(t)));
	json_object_object_add(o, "cpumask",
			       json_object_new_string(rpc_cpumask_plain(thread_get_cpumask(t), buf,
									sizeof(buf))));
	json_object_object_add(o, "busy", json_object_new_uint64(st.busy_ticks));
	json_object_object_add(o, "idle", json_object_new_uint64(st.idle_ticks));
	json_object_object_add(o, "active_pollers_count", json_object_new_int64(st.active_pollers));
	json_object_object_add(o, "timed_pollers_count", json_object_new_int64(st.timed_pollers));
	json_object_object_add(o, "paused_pollers_count", json_object_new_int64(st.paused_pollers));
	json_object_array_add(arr, o);
}

static void
rpc_thread_get_stats(struct rpc_request *req, struct json_object *params)
{
	struct json_object *result, *threads;

	if (params != NULL) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS,
			       "'thread_get_stats' requires no arguments");
		return;
	}
	result = json_object_new_object();
	json_object_object_add(result, "tick_rate", json_object_new_uint64(util_get_ticks_hz()));
	threads = json_object_new_array();
	thread_iterate(rpc_thread_stats_one, threads);
	json_object_object_add(result, "threads", threads);
	rpc_send_result(req, result);
}
RPC_REGISTER("thread_get_stats", rpc_thread_get_stats, RPC_STATE_RUNTIME)

/* ---- save_config, framework_get_subsystems, framework_get_config ---- */

static void
rpc_save_config(struct rpc_request *req, struct json_object *params)
{
	if (rpc_reject_params(req, params)) {
		return;
	}
	rpc_send_result(req, rpc_config_build());
}
RPC_REGISTER("save_config", rpc_save_config, RPC_STATE_RUNTIME)

static void
rpc_framework_get_subsystems(struct rpc_request *req, struct json_object *params)
{
	struct json_object *result;
	struct subsystem *s;

	if (rpc_reject_params(req, params)) {
		return;
	}
	result = json_object_new_array();
	for (s = subsystem_first(); s != NULL; s = subsystem_next(s)) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "subsystem", json_object_new_string(s->name));
		json_object_object_add(o, "depends_on", json_object_new_array());
		json_object_array_add(result, o);
	}
	rpc_send_result(req, result);
}
RPC_REGISTER("framework_get_subsystems", rpc_framework_get_subsystems,
	     RPC_STATE_STARTUP | RPC_STATE_RUNTIME)

struct rpc_name_param {
	char	*name;
};

static const struct rpc_decoder rpc_name_decoders[] = {
	{"name", offsetof(struct rpc_name_param, name), rpc_decode_string, false},
};

static void
rpc_framework_get_config(struct rpc_request *req, struct json_object *params)
{
	struct rpc_name_param p = {};
	struct rpc_decode_error err;
	struct json_object *entry, *config = NULL;
	struct subsystem *s;

	if (rpc_decode_object(params, rpc_name_decoders, VHD_COUNTOF(rpc_name_decoders), &p,
			      &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		free(p.name);
		return;
	}
	for (s = subsystem_first(); s != NULL; s = subsystem_next(s)) {
		if (strcmp(s->name, p.name) == 0) {
			break;
		}
	}
	if (s == NULL) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS, "Subsystem '%s' not found", p.name);
		free(p.name);
		return;
	}
	entry = rpc_subsystem_config(s);
	json_object_object_get_ex(entry, "config", &config);
	json_object_get(config);
	json_object_put(entry);
	free(p.name);
	rpc_send_result(req, config);
}
RPC_REGISTER("framework_get_config", rpc_framework_get_config, RPC_STATE_RUNTIME)

/* ---- logging ---- */

struct rpc_log_flag_param {
	char	*flag;
};

static const struct rpc_decoder rpc_log_flag_decoders[] = {
	{"flag", offsetof(struct rpc_log_flag_param, flag), rpc_decode_string, false},
};

static void
rpc_log_flag_common(struct rpc_request *req, struct json_object *params, bool enable)
{
	struct rpc_log_flag_param p = {};
	struct rpc_decode_error err;

	if (rpc_decode_object(params, rpc_log_flag_decoders, VHD_COUNTOF(rpc_log_flag_decoders),
			      &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
	} else if (log_set_flag(p.flag, enable) != 0) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS,
			       "Invalid parameters: flag: unknown log flag '%s'", p.flag);
	} else {
		rpc_send_bool(req, true);
	}
	free(p.flag);
}

static void
rpc_log_set_flag(struct rpc_request *req, struct json_object *params)
{
	rpc_log_flag_common(req, params, true);
}
RPC_REGISTER("log_set_flag", rpc_log_set_flag,
	     RPC_STATE_STARTUP | RPC_STATE_RUNTIME | RPC_MUTATES)

static void
rpc_log_clear_flag(struct rpc_request *req, struct json_object *params)
{
	rpc_log_flag_common(req, params, false);
}
RPC_REGISTER("log_clear_flag", rpc_log_clear_flag,
	     RPC_STATE_STARTUP | RPC_STATE_RUNTIME | RPC_MUTATES)

static void
rpc_log_get_flags(struct rpc_request *req, struct json_object *params)
{
	struct json_object *result;
	struct log_flag *f;

	if (rpc_reject_params(req, params)) {
		return;
	}
	result = json_object_new_object();
	for (f = log_flag_first(); f != NULL; f = log_flag_next(f)) {
		json_object_object_add(result, f->name, json_object_new_boolean(f->enabled));
	}
	rpc_send_result(req, result);
}
RPC_REGISTER("log_get_flags", rpc_log_get_flags, RPC_STATE_STARTUP | RPC_STATE_RUNTIME)

struct rpc_log_level_param {
	char	*level;
};

static const struct rpc_decoder rpc_log_level_decoders[] = {
	{"level", offsetof(struct rpc_log_level_param, level), rpc_decode_string, false},
};

static void
rpc_log_set_level(struct rpc_request *req, struct json_object *params)
{
	struct rpc_log_level_param p = {};
	struct rpc_decode_error err;
	enum log_level level;

	if (rpc_decode_object(params, rpc_log_level_decoders, VHD_COUNTOF(rpc_log_level_decoders),
			      &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
	} else if (log_level_from_name(p.level, &level) != 0) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS,
			       "Invalid parameters: level: unknown log level '%s' (ERROR, WARNING, "
			       "NOTICE, INFO, DEBUG)", p.level);
	} else {
		log_set_level(level);
		rpc_send_bool(req, true);
	}
	free(p.level);
}
RPC_REGISTER("log_set_level", rpc_log_set_level,
	     RPC_STATE_STARTUP | RPC_STATE_RUNTIME | RPC_MUTATES)

static void
rpc_log_get_level(struct rpc_request *req, struct json_object *params)
{
	if (rpc_reject_params(req, params)) {
		return;
	}
	rpc_send_string(req, log_level_name(log_get_level()));
}
RPC_REGISTER("log_get_level", rpc_log_get_level, RPC_STATE_STARTUP | RPC_STATE_RUNTIME)

/* One level drives both the filter and the console in vhostd (log.h). */
__attribute__((constructor)) static void
rpc_log_register_aliases(void)
{
	rpc_register_alias("log_set_print_level", "log_set_level");
	rpc_register_alias("log_get_print_level", "log_get_level");
}

/* save_config entries for the log state that differs from the defaults. */
static void
log_subsystem_write_config(struct json_object *config)
{
	struct json_object *p;
	struct log_flag *f;

	for (f = log_flag_first(); f != NULL; f = log_flag_next(f)) {
		if (f->enabled) {
			p = json_object_new_object();
			json_object_object_add(p, "flag", json_object_new_string(f->name));
			rpc_config_add(config, "log_set_flag", p);
		}
	}
	if (log_get_level() != LOG_LEVEL_NOTICE) {
		p = json_object_new_object();
		json_object_object_add(p, "level",
				       json_object_new_string(log_level_name(log_get_level())));
		rpc_config_add(config, "log_set_level", p);
	}
}

static struct subsystem g_log_subsystem = {
	.name		= "log",
	.order		= 1,
	.write_config	= log_subsystem_write_config,
};
SUBSYSTEM_REGISTER(g_log_subsystem)
