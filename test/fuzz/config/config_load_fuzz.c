/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the config file loading of vhostd -c / --state, i.e.
 * app/vhostd/vhostd.c's vhostd_framework_start -> config_replay (file read,
 * duplicate-key / integer-range scan, document shape checks, subsystem skip
 * list, entry-by-entry replay through rpc_call_internal from the message
 * queue) -> framework_replay_done (state file written). vhostd.c is compiled
 * into this file (its main renamed) so its static functions run unchanged.
 *
 * Linked: lib/util, thread, jsonrpc, rpc, bdev (+ malloc, null, delay, error),
 * scsi with their subsystems; lib/vhost (DPDK, sockets) and the file bdevs
 * are not, so their subsystems are "not part of vhostd" here and skipped like
 * an SPDK config's iobuf or sock sections, and vhostd_rpc.c's framework
 * methods (spdk_kill_instance would end the process) are unknown methods.
 *
 * Input: the config file's bytes. Per input, with --state pointing at a file
 * that does not exist yet:
 *   1. load the input as -c; it succeeds or fails with a message;
 *   2. on failure no state file may have been written;
 *   3. on success the state file (save_config of what was loaded) must load
 *      again after every subsystem is finished and re-initialised (what
 *      vhostd writes after an RPC it must read back after a restart), and the
 *      state written after that second load must be byte-identical.
 * Nothing leaks (LSan) across the finish / initialise cycles.
 * Resource caps: more than 64 entries replayed per load, or bdev_malloc_create
 * above 64 MiB, are answered with an error by the harness (the load then
 * fails, as it would for any failing entry).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define main vhostd_main
#include "../../../app/vhostd/vhostd.c"
#undef main

#include "../common/fuzz_app.h"

#define MAX_CALLS	64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void __real_rpc_call_internal(const char *method, struct json_object *params, rpc_internal_cb cb,
			      void *cb_arg);
void __wrap_rpc_call_internal(const char *method, struct json_object *params, rpc_internal_cb cb,
			      void *cb_arg);

static struct thread *g_app;
static char g_dir[256];
static char g_cfg_path[300];
static char g_state_path[300];
static uint32_t g_calls;

/* vhostd_rpc.c is not linked: nobody waits for framework_wait_init here. */
void
vhostd_rpc_wake_waiters(void)
{
}

void
vhostd_rpc_fail_waiters(void)
{
}

/* No systemd here; start-up and shutdown notifications are not reached anyway. */
int
sd_notify(int unset_environment, const char *state)
{
	return 0;
}

void
__wrap_rpc_call_internal(const char *method, struct json_object *params, rpc_internal_cb cb,
			 void *cb_arg)
{
	if (++g_calls > MAX_CALLS || fuzz_app_call_too_big(method, params)) {
		cb(cb_arg, -32602, "refused by the fuzz harness (resource cap)", NULL);
		return;
	}
	__real_rpc_call_internal(method, params, cb, cb_arg);
}

struct load {
	int	done;
	int	rc;
};

static void
load_done(void *ctx, int rc, const char *message)
{
	struct load *l = ctx;

	if (l->done) {
		__builtin_trap();	/* completed twice */
	}
	if (rc != 0 && message == NULL) {
		__builtin_trap();	/* a failure the operator would not be told about */
	}
	l->done = 1;
	l->rc = rc;
}

static int
load(void)
{
	struct load l = {0, 0};

	g_calls = 0;
	g_framework_started = false;
	vhostd_framework_start(load_done, &l);
	fuzz_app_poll(g_app, &l.done);
	fuzz_app_poll(g_app, NULL);
	if ((l.rc == 0) != g_framework_started) {
		__builtin_trap();
	}
	return l.rc;
}

static int g_fini_done;

static void
fini_done(void)
{
	g_fini_done = 1;
}

static void
unload(void)
{
	g_fini_done = 0;
	subsystem_fini_all(fini_done);
	fuzz_app_poll(g_app, &g_fini_done);
	fuzz_app_poll(g_app, NULL);
}

static char *
read_state(size_t *len)
{
	char *buf = NULL;

	if (util_file_read(g_state_path, &buf, len, VHOSTD_MAX_CONFIG_SIZE) != 0) {
		__builtin_trap();	/* a successful load must leave the state file */
	}
	return buf;
}

static void
remove_files(void)
{
	unlink(g_cfg_path);
	unlink(g_state_path);
	rmdir(g_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	/* /dev/shm when present: the state file is written with fsync. */
	snprintf(g_dir, sizeof(g_dir), "%s/vhd-config-fuzz.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (tmp != NULL ? tmp : "/tmp"));
	if (mkdtemp(g_dir) == NULL) {
		abort();
	}
	snprintf(g_cfg_path, sizeof(g_cfg_path), "%s/config.json", g_dir);
	snprintf(g_state_path, sizeof(g_state_path), "%s/state.json", g_dir);
	atexit(remove_files);
	if (thread_lib_init() != 0) {
		abort();
	}
	g_app = thread_create("app_thread", NULL);
	if (g_app == NULL) {
		abort();
	}
	thread_set_current(g_app);
	g_opts.config = g_cfg_path;
	g_opts.state = g_state_path;
	g_opts.rpc_sock_mode = -1;
	subsystem_set_option("state_file", g_state_path);
	subsystem_set_option("cpumask", "0x1");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *first, *second;
	size_t first_len, second_len;
	struct stat st;
	int fd;

	unlink(g_state_path);
	fd = open(g_cfg_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size)) {
		abort();
	}
	close(fd);

	if (load() != 0) {
		if (stat(g_state_path, &st) == 0) {
			__builtin_trap();	/* state saved for a failed load */
		}
		unload();
		return 0;
	}
	first = read_state(&first_len);
	unload();
	/* The state file exists now: it is what gets loaded (instead of -c). */
	if (load() != 0) {
		__builtin_trap();	/* vhostd would not come back after a restart */
	}
	second = read_state(&second_len);
	unload();
	if (first_len != second_len || memcmp(first, second, first_len) != 0) {
		__builtin_trap();	/* the state drifts across a restart */
	}
	free(first);
	free(second);
	return 0;
}
