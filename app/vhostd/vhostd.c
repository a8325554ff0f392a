/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhostd: options, start-up, config replay, signals, systemd notification.
 *
 * Start-up: options -> log -> reactors -> app thread; then on the app thread:
 * signalfd, subsystem options, subsystem_init_all(), RPC socket, replay of
 * --state (or -c when no state file exists yet), READY=1. With --wait-for-rpc
 * the socket listens in the STARTUP state and framework_start_init does the
 * rest. Shutdown (SIGTERM/SIGINT, spdk_kill_instance) runs in reverse:
 * STOPPING=1, RPC socket closed, subsystems finalised, reactors stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "vhostd/cpuset.h"
#include "vhostd/jsonrpc.h"
#include "vhostd/log.h"
#include "vhostd/rpc.h"
#include "vhostd/subsystem.h"
#include "vhostd/thread.h"
#include "vhostd/util.h"

#include "vhostd_internal.h"

#define VHOSTD_DEFAULT_RPC_SOCK	"/var/tmp/vhostd.sock"
#define VHOSTD_MAX_CONFIG_SIZE	(64u * 1024 * 1024)
#define VHOSTD_MAX_LOGFLAGS	64
/* rte_vhost's MAX_VHOST_SOCKET: one vhost-user socket per controller. */
#define VHOSTD_DEFAULT_MAX_CTRLRS	1024

struct vhostd_opts {
	struct cpuset		cpumask;
	const char		*cpumask_str;
	const char		*rpc_sock;
	char			*sock_dir;
	const char		*config;
	const char		*state;
	const char		*pidfile;
	bool			wait_for_rpc;
	enum reactor_mode	mode;
	bool			log_level_set;
	enum log_level		log_level;
	const char		*logflags[VHOSTD_MAX_LOGFLAGS];
	int			num_logflags;
	/* -1: leave as created (RPC socket 0600, owner the daemon's user). */
	int			rpc_sock_mode;
	uid_t			rpc_sock_uid;
	gid_t			rpc_sock_gid;
	const char		*vhost_sock_mode;
	const char		*vhost_sock_owner;
	const char		*max_ctrlrs;
};

static struct vhostd_opts g_opts;
static int g_exit_code;
static int g_sigfd = -1;
static struct thread_interrupt *g_sig_intr;
static bool g_shutting_down;
static bool g_framework_started;
static bool g_pidfile_written;

/* Leading colon: a missing value comes back as a colon, not as an unknown option. */
static const char *g_short_opts = ":m:r:S:c:L:hv";
enum {
	OPT_STATE = 256,
	OPT_WAIT_FOR_RPC,
	OPT_LOG_LEVEL,
	OPT_MODE,
	OPT_PIDFILE,
	OPT_RPC_SOCK_MODE,
	OPT_RPC_SOCK_OWNER,
	OPT_VHOST_SOCK_MODE,
	OPT_VHOST_SOCK_OWNER,
	OPT_MAX_CTRLRS,
};
static const struct option g_long_opts[] = {
	{"cpumask", required_argument, NULL, 'm'},
	{"rpc-socket", required_argument, NULL, 'r'},
	{"vhost-sock-dir", required_argument, NULL, 'S'},
	{"config", required_argument, NULL, 'c'},
	{"state", required_argument, NULL, OPT_STATE},
	{"wait-for-rpc", no_argument, NULL, OPT_WAIT_FOR_RPC},
	{"logflag", required_argument, NULL, 'L'},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"mode", required_argument, NULL, OPT_MODE},
	{"pidfile", required_argument, NULL, OPT_PIDFILE},
	{"rpc-socket-mode", required_argument, NULL, OPT_RPC_SOCK_MODE},
	{"rpc-socket-owner", required_argument, NULL, OPT_RPC_SOCK_OWNER},
	{"vhost-sock-mode", required_argument, NULL, OPT_VHOST_SOCK_MODE},
	{"vhost-sock-owner", required_argument, NULL, OPT_VHOST_SOCK_OWNER},
	{"max-controllers", required_argument, NULL, OPT_MAX_CTRLRS},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'v'},
	{NULL, 0, NULL, 0},
};

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: vhostd [options]\n"
		"  -m, --cpumask MASK         reactor cores: 0x3, [0,2-3] (default 0x1)\n"
		"  -r, --rpc-socket PATH      JSON-RPC Unix socket (default %s)\n"
		"  -S, --vhost-sock-dir DIR   vhost-user socket directory (default: current dir)\n"
		"  -c, --config FILE          replay this JSON config (save_config format) at start\n"
		"      --state FILE           load FILE at start if it exists (instead of -c) and\n"
		"                             rewrite it after every state-changing RPC\n"
		"      --wait-for-rpc         wait for framework_start_init before initialising\n"
		"  -L, --logflag FLAG         enable debug log flag (repeatable; 'all' for every flag)\n"
		"      --log-level LEVEL      ERROR, WARNING, NOTICE (default), INFO, DEBUG\n"
		"      --mode MODE            reactor mode: poll, interrupt, adaptive (default)\n"
		"      --pidfile FILE         write the daemon's pid to FILE\n"
		"      --rpc-socket-mode MODE octal mode of the RPC socket (default 0600)\n"
		"      --rpc-socket-owner USER[:GROUP]  chown the RPC socket (names or ids)\n"
		"      --vhost-sock-mode MODE octal mode of each vhost-user socket\n"
		"      --vhost-sock-owner USER[:GROUP]  chown each vhost-user socket\n"
		"      --max-controllers N    vhost controllers at most (default %d)\n"
		"  -h, --help                 this help\n"
		"  -v, --version              print the version\n",
		VHOSTD_DEFAULT_RPC_SOCK, VHOSTD_DEFAULT_MAX_CTRLRS);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vhostd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see vhostd --help)\n", stderr);
	exit(2);
}

/* An octal file mode: 0..0777 (no setuid/setgid/sticky bits on a socket). */
static int
parse_sock_mode(const char *opt, const char *s)
{
	char *end;
	long m;

	errno = 0;
	m = strtol(s, &end, 8);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || m < 0 || m > 0777) {
		usage_error("invalid %s '%s' (octal 0000-0777, e.g. 0660)", opt, s);
	}
	return (int)m;
}

/* USER[:GROUP], USER or :GROUP; names or numeric ids. Unset parts stay -1. */
static void
parse_sock_owner(const char *opt, const char *s, uid_t *uid, gid_t *gid)
{
	char buf[256], *grp;
	struct passwd *pw;
	struct group *gr;
	uint64_t v;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if ((size_t)snprintf(buf, sizeof(buf), "%s", s) >= sizeof(buf)) {
		usage_error("%s '%s' is too long", opt, s);
	}
	grp = strchr(buf, ':');
	if (grp != NULL) {
		*grp++ = '\0';
	}
	if (buf[0] == '\0' && (grp == NULL || grp[0] == '\0')) {
		usage_error("%s '%s': expected USER[:GROUP]", opt, s);
	}
	if (buf[0] != '\0') {
		pw = getpwnam(buf);
		if (pw != NULL) {
			*uid = pw->pw_uid;
		} else if (util_parse_u64(buf, &v) == 0 && v < (uid_t)-1) {
			*uid = (uid_t)v;
		} else {
			usage_error("%s: unknown user '%s'", opt, buf);
		}
	}
	if (grp != NULL && grp[0] != '\0') {
		gr = getgrnam(grp);
		if (gr != NULL) {
			*gid = gr->gr_gid;
		} else if (util_parse_u64(grp, &v) == 0 && v < (gid_t)-1) {
			*gid = (gid_t)v;
		} else {
			usage_error("%s: unknown group '%s'", opt, grp);
		}
	}
}

static void
parse_opts(int argc, char **argv)
{
	cpu_set_t allowed;
	uint32_t cpu;
	int c, idx;

	g_opts.cpumask_str = "0x1";
	g_opts.rpc_sock = VHOSTD_DEFAULT_RPC_SOCK;
	g_opts.mode = REACTOR_MODE_ADAPTIVE;
	g_opts.rpc_sock_mode = -1;
	g_opts.rpc_sock_uid = (uid_t)-1;
	g_opts.rpc_sock_gid = (gid_t)-1;
	opterr = 0;
	for (;;) {
		idx = -1;
		c = getopt_long(argc, argv, g_short_opts, g_long_opts, &idx);
		if (c == -1) {
			break;
		}
		switch (c) {
		case 'm':
			g_opts.cpumask_str = optarg;
			break;
		case 'r':
			g_opts.rpc_sock = optarg;
			break;
		case 'S':
			g_opts.sock_dir = optarg;
			break;
		case 'c':
			g_opts.config = optarg;
			break;
		case OPT_STATE:
			g_opts.state = optarg;
			break;
		case OPT_WAIT_FOR_RPC:
			g_opts.wait_for_rpc = true;
			break;
		case 'L':
			if (g_opts.num_logflags == VHOSTD_MAX_LOGFLAGS) {
				usage_error("too many -L options");
			}
			if (log_set_flag(optarg, false) != 0) {
				usage_error("unknown log flag '%s'", optarg);
			}
			g_opts.logflags[g_opts.num_logflags++] = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (log_level_from_name(optarg, &g_opts.log_level) != 0) {
				usage_error("invalid --log-level '%s' (ERROR, WARNING, NOTICE, INFO, "
					    "DEBUG)", optarg);
			}
			g_opts.log_level_set = true;
			break;
		case OPT_MODE:
			if (reactor_mode_from_name(optarg, &g_opts.mode) != 0) {
				usage_error("invalid --mode '%s' (poll, interrupt, adaptive)", optarg);
			}
			break;
		case OPT_PIDFILE:
			g_opts.pidfile = optarg;
			break;
		case OPT_RPC_SOCK_MODE:
			g_opts.rpc_sock_mode = parse_sock_mode("--rpc-socket-mode", optarg);
			break;
		case OPT_RPC_SOCK_OWNER:
			parse_sock_owner("--rpc-socket-owner", optarg, &g_opts.rpc_sock_uid,
					 &g_opts.rpc_sock_gid);
			break;
		case OPT_VHOST_SOCK_MODE:
			parse_sock_mode("--vhost-sock-mode", optarg);
			g_opts.vhost_sock_mode = optarg;
			break;
		case OPT_VHOST_SOCK_OWNER: {
			uid_t uid;
			gid_t gid;

			parse_sock_owner("--vhost-sock-owner", optarg, &uid, &gid);
			g_opts.vhost_sock_owner = optarg;
			break;
		}
		case OPT_MAX_CTRLRS: {
			uint64_t v;

			if (util_parse_u64(optarg, &v) != 0 || v < 1 || v > VHOSTD_DEFAULT_MAX_CTRLRS) {
				usage_error("invalid --max-controllers '%s' (1-%d)", optarg,
					    VHOSTD_DEFAULT_MAX_CTRLRS);
			}
			g_opts.max_ctrlrs = optarg;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		case 'v':
			printf("vhostd v%s\n", VHD_VERSION_STRING);
			exit(0);
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			if (strncmp(argv[optind - 1], "--", 2) == 0) {
				usage_error("unknown option or unexpected value '%s'", argv[optind - 1]);
			}
			usage_error("unknown option '-%c'", optopt);
		}
	}
	if (optind < argc) {
		usage_error("unexpected argument '%s'", argv[optind]);
	}
	if (cpuset_parse(&g_opts.cpumask, g_opts.cpumask_str) != 0) {
		usage_error("invalid --cpumask '%s'", g_opts.cpumask_str);
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
		for (cpu = 0; cpu < CPUSET_MAX_CPUS && cpu < CPU_SETSIZE; cpu++) {
			if (cpuset_get_cpu(&g_opts.cpumask, cpu) && !CPU_ISSET(cpu, &allowed)) {
				usage_error("--cpumask %s: cpu %u is not available to this process",
					    g_opts.cpumask_str, cpu);
			}
		}
	}
	if (g_opts.rpc_sock[0] == '\0') {
		usage_error("--rpc-socket must not be empty");
	}
	if (g_opts.sock_dir == NULL) {
		g_opts.sock_dir = getcwd(NULL, 0);
		if (g_opts.sock_dir == NULL) {
			usage_error("cannot get the current directory: %s", strerror(errno));
		}
	} else {
		g_opts.sock_dir = strdup(g_opts.sock_dir);
	}
}

/* -L and --log-level; applied at start and again after replay so the command line wins. */
static void
apply_log_opts(void)
{
	int i;

	if (g_opts.log_level_set) {
		log_set_level(g_opts.log_level);
	} else if (g_opts.num_logflags > 0 && log_get_level() < LOG_LEVEL_DEBUG) {
		/* A debug flag is useless without the debug level, as SPDK's -L. */
		log_set_level(LOG_LEVEL_DEBUG);
	}
	for (i = 0; i < g_opts.num_logflags; i++) {
		log_set_flag(g_opts.logflags[i], true);
	}
}

/* ---- config replay ---- */

struct replay {
	const char		*path;
	struct json_object	*doc;
	size_t			si;	/* subsystem index */
	size_t			ci;	/* entry index inside it */
	void			(*done)(void *ctx, int rc, const char *message);
	void			*ctx;
	char			msg[512];
};

static void replay_next(void *arg);

static bool
subsystem_known(const char *name)
{
	struct subsystem *s;

	for (s = subsystem_first(); s != NULL; s = subsystem_next(s)) {
		if (strcmp(s->name, name) == 0) {
			return true;
		}
	}
	return false;
}

static void
replay_finish(struct replay *r, int rc)
{
	json_object_put(r->doc);
	r->done(r->ctx, rc, r->msg);
	free(r);
}

static void
replay_entry_done(void *arg, int code, const char *message, struct json_object *result)
{
	struct replay *r = arg;
	struct json_object *subs, *sub, *config, *entry, *m, *name;

	if (code != 0) {
		json_object_object_get_ex(r->doc, "subsystems", &subs);
		sub = json_object_array_get_idx(subs, r->si);
		json_object_object_get_ex(sub, "subsystem", &name);
		json_object_object_get_ex(sub, "config", &config);
		entry = json_object_array_get_idx(config, r->ci);
		json_object_object_get_ex(entry, "method", &m);
		snprintf(r->msg, sizeof(r->msg),
			 "%s: subsystem %s entry %zu (%s) failed: %s (code %d)", r->path,
			 json_object_get_string(name), r->ci, json_object_get_string(m),
			 message ? message : "", code);
		VHD_ERRLOG("%s\n", r->msg);
		replay_finish(r, -EINVAL);
		return;
	}
	r->ci++;
	/* Continue from the message queue: no recursion however long the config is. */
	if (thread_send_msg(thread_get_current(), replay_next, r) != 0) {
		replay_next(r);
	}
}

static void
replay_fail(struct replay *r)
{
	VHD_ERRLOG("%s\n", r->msg);
	replay_finish(r, -EINVAL);
}

static void
replay_next(void *arg)
{
	struct replay *r = arg;
	struct json_object *subs, *sub, *config = NULL, *entry, *m, *params = NULL, *name = NULL;

	if (g_shutting_down) {
		snprintf(r->msg, sizeof(r->msg), "%s: replay interrupted by shutdown", r->path);
		replay_finish(r, -ECANCELED);
		return;
	}
	json_object_object_get_ex(r->doc, "subsystems", &subs);
	for (;;) {
		if (r->si >= json_object_array_length(subs)) {
			VHD_NOTICELOG("%s: configuration loaded\n", r->path);
			replay_finish(r, 0);
			return;
		}
		sub = json_object_array_get_idx(subs, r->si);
		if (!json_object_is_type(sub, json_type_object) ||
		    !json_object_object_get_ex(sub, "subsystem", &name) ||
		    !json_object_is_type(name, json_type_string)) {
			snprintf(r->msg, sizeof(r->msg),
				 "%s: subsystems[%zu] is not {\"subsystem\": NAME, ...}", r->path,
				 r->si);
			replay_fail(r);
			return;
		}
		if (!json_object_object_get_ex(sub, "config", &config) ||
		    json_object_is_type(config, json_type_null)) {
			config = NULL;
		} else if (!json_object_is_type(config, json_type_array)) {
			snprintf(r->msg, sizeof(r->msg), "%s: subsystem %s: \"config\" is not an array",
				 r->path, json_object_get_string(name));
			replay_fail(r);
			return;
		}
		if (config != NULL && r->ci == 0 && json_object_array_length(config) > 0 &&
		    !subsystem_known(json_object_get_string(name))) {
			/* SPDK configs carry subsystems vhostd does not have (iobuf, sock, accel...). */
			VHD_WARNLOG("%s: subsystem %s is not part of vhostd: its %zu entries are "
				    "skipped\n", r->path, json_object_get_string(name),
				    json_object_array_length(config));
			config = NULL;
		}
		if (config == NULL || r->ci >= json_object_array_length(config)) {
			r->si++;
			r->ci = 0;
			continue;
		}
		break;
	}
	entry = json_object_array_get_idx(config, r->ci);
	if (!json_object_is_type(entry, json_type_object) ||
	    !json_object_object_get_ex(entry, "method", &m) ||
	    !json_object_is_type(m, json_type_string)) {
		snprintf(r->msg, sizeof(r->msg), "%s: subsystem %s entry %zu has no \"method\" string",
			 r->path, json_object_get_string(name), r->ci);
		replay_fail(r);
		return;
	}
	if (json_object_object_get_ex(entry, "params", &params) &&
	    json_object_is_type(params, json_type_null)) {
		params = NULL;
	}
	rpc_call_internal(json_object_get_string(m), params, replay_entry_done, r);
}

static void
config_replay(const char *path, void (*done)(void *ctx, int rc, const char *message), void *ctx)
{
	struct replay *r = calloc(1, sizeof(*r));
	struct json_object *subs;
	enum json_tokener_error jerr;
	char *buf = NULL, key[64];
	size_t len;
	int rc, depth, is_range;

	if (r == NULL) {
		done(ctx, -ENOMEM, "out of memory");
		return;
	}
	r->path = path;
	r->done = done;
	r->ctx = ctx;
	rc = util_file_read(path, &buf, &len, VHOSTD_MAX_CONFIG_SIZE);
	if (rc != 0) {
		snprintf(r->msg, sizeof(r->msg), "%s: cannot read: %s", path, strerror(-rc));
		VHD_ERRLOG("%s\n", r->msg);
		replay_finish(r, rc);
		return;
	}
	r->doc = json_tokener_parse_verbose(buf, &jerr);
	/* json-c keeps the last of duplicate keys and clamps huge integers: refuse both. */
	if (r->doc != NULL && jsonrpc_scan_raw(buf, len, key, sizeof(key), &depth, &is_range)) {
		snprintf(r->msg, sizeof(r->msg), "%s: %s \"%s\"", path,
			 is_range ? "integer out of range at key" : "duplicate key", key);
		VHD_ERRLOG("%s\n", r->msg);
		free(buf);
		replay_finish(r, -EINVAL);
		return;
	}
	free(buf);
	if (r->doc == NULL || !json_object_object_get_ex(r->doc, "subsystems", &subs) ||
	    !json_object_is_type(subs, json_type_array)) {
		snprintf(r->msg, sizeof(r->msg), "%s: not a vhostd config (%s)", path,
			 r->doc == NULL ? json_tokener_error_desc(jerr) :
			 "no \"subsystems\" array");
		VHD_ERRLOG("%s\n", r->msg);
		replay_finish(r, -EINVAL);
		return;
	}
	VHD_NOTICELOG("%s: loading configuration\n", path);
	replay_next(r);
}

/* ---- framework start ---- */

struct framework_start {
	void	(*done)(void *ctx, int rc, const char *message);
	void	*ctx;
};

static void
framework_replay_done(void *arg, int rc, const char *message)
{
	struct framework_start *fs = arg;

	if (rc == 0) {
		apply_log_opts();
		if (g_opts.state != NULL) {
			rc = rpc_state_save();
			message = "cannot write the state file";
		}
	}
	if (rc == 0) {
		g_framework_started = true;
		vhostd_rpc_wake_waiters();
		VHD_NOTICELOG("vhostd v%s ready\n", VHD_VERSION_STRING);
	}
	fs->done(fs->ctx, rc, message);
	free(fs);
}

void
vhostd_framework_start(void (*done)(void *ctx, int rc, const char *message), void *ctx)
{
	struct framework_start *fs;
	const char *path = NULL;
	struct stat st;
	int rc;

	rc = subsystem_init_all();
	if (rc != 0) {
		done(ctx, rc, "subsystem initialisation failed");
		return;
	}
	rpc_set_state(RPC_STATE_RUNTIME);
	if (g_opts.state != NULL && stat(g_opts.state, &st) == 0) {
		path = g_opts.state;
		if (g_opts.config != NULL) {
			VHD_NOTICELOG("state file %s exists: it is loaded instead of %s\n",
				      g_opts.state, g_opts.config);
		}
	} else if (g_opts.config != NULL) {
		path = g_opts.config;
	}
	fs = calloc(1, sizeof(*fs));
	if (fs == NULL) {
		done(ctx, -ENOMEM, "out of memory");
		return;
	}
	fs->done = done;
	fs->ctx = ctx;
	if (path == NULL) {
		framework_replay_done(fs, 0, NULL);
		return;
	}
	config_replay(path, framework_replay_done, fs);
}

bool
vhostd_framework_started(void)
{
	return g_framework_started;
}

/* ---- shutdown ---- */

static void
app_fini_done(void)
{
	if (g_sig_intr != NULL) {
		thread_interrupt_unregister(&g_sig_intr);
	}
	if (g_sigfd >= 0) {
		close(g_sigfd);
		g_sigfd = -1;
	}
	thread_exit(thread_get_current());
	reactors_stop();
}

void
vhostd_shutdown(int exit_code)
{
	if (exit_code != 0 && g_exit_code == 0) {
		g_exit_code = exit_code;
	}
	if (g_shutting_down) {
		return;
	}
	g_shutting_down = true;
	VHD_NOTICELOG("shutting down\n");
	sd_notify(0, "STOPPING=1");
	vhostd_rpc_fail_waiters();
	rpc_close();
	subsystem_fini_all(app_fini_done);
}

static int
signal_cb(void *ctx)
{
	struct signalfd_siginfo si;

	while (read(g_sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		VHD_NOTICELOG("received %s\n", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
		vhostd_shutdown(0);
	}
	return POLLER_BUSY;
}

/* ---- start-up on the app thread ---- */

/*
 * The socket is created 0600 before listen(); the options only widen access,
 * so applying them after listen() never exposes it to more users than asked.
 * Owner first: until then a wider mode would apply to the daemon's user.
 */
static int
rpc_sock_apply_perms(void)
{
	if ((g_opts.rpc_sock_uid != (uid_t)-1 || g_opts.rpc_sock_gid != (gid_t)-1) &&
	    chown(g_opts.rpc_sock, g_opts.rpc_sock_uid, g_opts.rpc_sock_gid) != 0) {
		VHD_ERRLOG("--rpc-socket-owner: chown %s: %s\n", g_opts.rpc_sock, strerror(errno));
		return -errno;
	}
	if (g_opts.rpc_sock_mode >= 0 && chmod(g_opts.rpc_sock, (mode_t)g_opts.rpc_sock_mode) != 0) {
		VHD_ERRLOG("--rpc-socket-mode: chmod %s: %s\n", g_opts.rpc_sock, strerror(errno));
		return -errno;
	}
	return 0;
}

static void
write_pidfile(void)
{
	char buf[32];
	int n, rc;

	if (g_opts.pidfile == NULL) {
		return;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	rc = util_file_write_atomic(g_opts.pidfile, buf, (size_t)n, 0644);
	if (rc != 0) {
		VHD_ERRLOG("cannot write pid file %s: %s\n", g_opts.pidfile, strerror(-rc));
		return;
	}
	g_pidfile_written = true;
}

static void
startup_done(void *ctx, int rc, const char *message)
{
	if (g_shutting_down) {
		return;		/* a signal came during start-up: its exit code stands */
	}
	if (rc != 0) {
		VHD_ERRLOG("start-up failed: %s\n", message ? message : strerror(-rc));
		vhostd_shutdown(1);
		return;
	}
	sd_notify(0, "READY=1");
}

static void
app_start(void *ctx)
{
	char buf[CPUSET_MAX_CPUS / 4 + 8];
	sigset_t set;
	int rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	g_sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (g_sigfd < 0 ||
	    (g_sig_intr = thread_interrupt_register(g_sigfd, signal_cb, NULL, "signals")) == NULL) {
		VHD_ERRLOG("cannot watch signals: %s\n", strerror(errno));
		vhostd_shutdown(1);
		return;
	}
	subsystem_set_option("vhost_sock_dir", g_opts.sock_dir);
	subsystem_set_option("state_file", g_opts.state);
	subsystem_set_option("cpumask", cpuset_fmt_hex(&g_opts.cpumask, buf, sizeof(buf)));
	subsystem_set_option("vhost_sock_mode", g_opts.vhost_sock_mode);
	subsystem_set_option("vhost_sock_owner", g_opts.vhost_sock_owner);
	subsystem_set_option("vhost_max_controllers", g_opts.max_ctrlrs);

	rc = rpc_listen(g_opts.rpc_sock);
	if (rc != 0) {
		VHD_ERRLOG("cannot serve RPC on %s: %s\n", g_opts.rpc_sock, strerror(-rc));
		vhostd_shutdown(1);
		return;
	}
	rc = rpc_sock_apply_perms();
	if (rc != 0) {
		vhostd_shutdown(1);
		return;
	}
	VHD_NOTICELOG("vhostd v%s: RPC on %s, vhost sockets in %s, cpumask %s, %s mode\n",
		      VHD_VERSION_STRING, g_opts.rpc_sock, g_opts.sock_dir, buf,
		      reactor_mode_name(g_opts.mode));
	write_pidfile();
	if (g_opts.wait_for_rpc) {
		VHD_NOTICELOG("waiting for framework_start_init RPC\n");
		sd_notify(0, "READY=1");
		return;
	}
	vhostd_framework_start(startup_done, NULL);
}

int
main(int argc, char **argv)
{
	struct cpuset app_mask;
	struct thread *app;
	sigset_t set;
	int rc;

	parse_opts(argc, argv);
	apply_log_opts();

	/* Every thread inherits this mask: the signals are only read through signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = thread_lib_init();
	if (rc == 0) {
		rc = reactors_init(&g_opts.cpumask, g_opts.mode);
	}
	if (rc != 0) {
		VHD_ERRLOG("cannot start reactors: %s\n", strerror(-rc));
		return 1;
	}
	cpuset_zero(&app_mask);
	cpuset_set_cpu(&app_mask, (uint32_t)cpuset_next(&g_opts.cpumask, 0), true);
	app = thread_create("app_thread", &app_mask);
	if (app == NULL || thread_send_msg(app, app_start, NULL) != 0) {
		VHD_ERRLOG("cannot create the app thread\n");
		reactors_fini();
		return 1;
	}
	reactors_start();
	reactors_fini();
	/* The app thread asked to exit just before the reactors stopped: let it finish. */
	if (thread_get_app() != NULL) {
		thread_poll(thread_get_app(), 0);
	}
	thread_lib_fini();
	if (g_pidfile_written) {
		unlink(g_opts.pidfile);
	}
	free(g_opts.sock_dir);
	VHD_NOTICELOG("exit %d\n", g_exit_code);
	return g_exit_code;
}
