/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user core over DPDK 22.11 rte_vhost: EAL set-up, controllers,
 * sessions, the rte_vhost callbacks and message hooks, queue pollers.
 *
 * Session life cycle (see ../../shared/research/vhost-facts.md):
 *   new_connection        session created, message hooks installed
 *   SET_VRING_KICK (post) that queue starts (the session starts with the
 *                         first one); new_device starts any ready queue left
 *   GET_VRING_BASE (pre)  the whole session stops; the ring bases are handed
 *                         back to rte_vhost for the reply
 *   SET_MEM_TABLE         stop before (pre), restart the kicked queues after (post)
 *   destroy_device / destroy_connection / RESET_OWNER: stop
 * A stop waits until every request in flight has completed and nothing on
 * the controller thread can touch guest memory; only then does the waiting
 * vhost-events thread return to rte_vhost (which may unmap it).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_vhost.h>

#include "vhost_internal.h"

#include "vhostd/log.h"
#include "vhostd/subsystem.h"
#include "vhostd/util.h"

VHD_LOG_REGISTER_COMPONENT(vhost)

/* vhost-user requests we hook (docs/interop/vhost-user.rst). */
enum {
	VHU_SET_FEATURES = 2,
	VHU_RESET_OWNER = 4,
	VHU_SET_MEM_TABLE = 5,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_SET_VRING_ENABLE = 18,
	VHU_GET_CONFIG = 24,
	VHU_SET_CONFIG = 25,
	VHU_GET_INFLIGHT_FD = 31,
	VHU_SET_INFLIGHT_FD = 32,
	VHU_RESET_DEVICE = 34,
};

#define VHU_CONFIG_MAX		256
#define VHU_PAYLOAD_MAX		632	/* rte_vhost's payload union (its crypto session is the largest) */
#define VHU_MAX_FDS		8
#define VHU_VRING_IDX_MASK	0xffull
#define VHU_VRING_NOFD_MASK	(1ull << 8)

/* rte_vhost does not install its message struct: ours, with the layout of the spec. */
struct vhu_config {
	uint32_t	offset;
	uint32_t	size;
	uint32_t	flags;
	uint8_t		region[VHU_CONFIG_MAX];
};

struct vhu_msg {
	uint32_t	request;
	uint32_t	flags;
	uint32_t	size;
	union {
		uint64_t		u64;
		struct {
			uint32_t	index;
			uint32_t	num;
		} state;
		struct vhu_config	cfg;
		struct {
			uint64_t	mmap_size;
			uint64_t	mmap_offset;
			uint16_t	num_queues;
			uint16_t	queue_size;
		} inflight;	/* 24 bytes with its padding, as on the wire */
		uint8_t			raw[VHU_PAYLOAD_MAX];
	} payload;
} __attribute__((packed));

/*
 * What the hooks really get: rte_vhost's struct vhu_msg_context (DPDK 22.11
 * lib/vhost/vhost_user.h, whose comment says external message handlers rely
 * on its layout): the message, then the fds that came with it.
 */
struct vhu_msg_ctx {
	struct vhu_msg	msg;
	int		fds[VHU_MAX_FDS];
	int		fd_num;
} __attribute__((packed));

_Static_assert(offsetof(struct vhu_msg_ctx, fds) == 644 &&
		       offsetof(struct vhu_msg_ctx, fd_num) == 676,
	       "rte_vhost 22.11's vhu_msg_context layout");

#define VHU_HDR_SIZE	12u
#define VHU_CFG_HDR	12u

pthread_mutex_t g_vhost_mutex = PTHREAD_MUTEX_INITIALIZER;
static TAILQ_HEAD(, vhost_dev) g_vhost_devs = TAILQ_HEAD_INITIALIZER(g_vhost_devs);
static struct vhost_session *g_vid_sessions[RTE_MAX_VHOST_DEVICE];
static bool g_eal_ready;
static char g_sock_dir[PATH_MAX];
static int g_sock_mode = -1;
static uid_t g_sock_uid = (uid_t)-1;
static gid_t g_sock_gid = (gid_t)-1;
static uint32_t g_max_ctrlrs = VHOST_MAX_CONTROLLERS_DEFAULT;

/* ---- DPDK logs into our logger ---------------------------------------------------- */

static ssize_t
vhost_rte_log_write(void *cookie, const char *buf, size_t size)
{
	enum log_level level;
	int rte_level = rte_log_cur_msg_loglevel();
	int len = (int)size;

	if (rte_level <= (int)RTE_LOG_ERR) {
		level = LOG_LEVEL_ERROR;
	} else if (rte_level == (int)RTE_LOG_WARNING) {
		level = LOG_LEVEL_WARN;
	} else if (rte_level == (int)RTE_LOG_NOTICE) {
		level = LOG_LEVEL_NOTICE;
	} else if (rte_level == (int)RTE_LOG_INFO) {
		level = LOG_LEVEL_INFO;
	} else {
		level = LOG_LEVEL_DEBUG;
	}
	if (level > log_get_level()) {
		return (ssize_t)size;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
		len--;
	}
	log_write(level, "dpdk", 0, "rte", "%.*s\n", len, buf);
	return (ssize_t)size;
}

static void
vhost_sock_options_load(void)
{
	const char *dir = subsystem_get_option("vhost_sock_dir");
	const char *mode = subsystem_get_option("vhost_sock_mode");
	const char *owner = subsystem_get_option("vhost_sock_owner");
	const char *max_ctrlrs = subsystem_get_option("vhost_max_controllers");
	uint64_t max;

	if (dir == NULL || dir[0] == '\0') {
		if (getcwd(g_sock_dir, sizeof(g_sock_dir)) == NULL) {
			snprintf(g_sock_dir, sizeof(g_sock_dir), ".");
		}
	} else if (realpath(dir, g_sock_dir) == NULL) {
		snprintf(g_sock_dir, sizeof(g_sock_dir), "%s", dir);
	}
	if (mode != NULL) {
		char *end;
		long m = strtol(mode, &end, 8);

		if (*end == '\0' && m >= 0 && m <= 07777) {
			g_sock_mode = (int)m;
		} else {
			VHD_WARNLOG("vhost_sock_mode '%s' is not an octal mode; ignored\n", mode);
		}
	}
	if (max_ctrlrs != NULL) {
		if (util_parse_u64(max_ctrlrs, &max) == 0 && max >= 1 &&
		    max <= VHOST_MAX_CONTROLLERS_DEFAULT) {
			g_max_ctrlrs = (uint32_t)max;
		} else {
			VHD_WARNLOG("vhost_max_controllers '%s' is not 1-%d; ignored\n", max_ctrlrs,
				    VHOST_MAX_CONTROLLERS_DEFAULT);
		}
	}
	if (owner != NULL) {
		char buf[128];
		char *grp;
		uint64_t v;

		snprintf(buf, sizeof(buf), "%s", owner);
		grp = strchr(buf, ':');
		if (grp != NULL) {
			*grp++ = '\0';
		}
		if (buf[0] != '\0') {
			struct passwd *pw = getpwnam(buf);

			if (pw != NULL) {
				g_sock_uid = pw->pw_uid;
			} else if (util_parse_u64(buf, &v) == 0) {
				g_sock_uid = (uid_t)v;
			} else {
				VHD_WARNLOG("vhost_sock_owner: unknown user '%s'\n", buf);
			}
		}
		if (grp != NULL && grp[0] != '\0') {
			struct group *gr = getgrnam(grp);

			if (gr != NULL) {
				g_sock_gid = gr->gr_gid;
			} else if (util_parse_u64(grp, &v) == 0) {
				g_sock_gid = (gid_t)v;
			} else {
				VHD_WARNLOG("vhost_sock_owner: unknown group '%s'\n", grp);
			}
		}
	}
}

uint32_t
vhost_get_max_controllers(void)
{
	vhost_get_sock_dir();	/* loads the options */
	return g_max_ctrlrs;
}

const char *
vhost_get_sock_dir(void)
{
	if (g_sock_dir[0] == '\0') {
		vhost_sock_options_load();
	}
	return g_sock_dir;
}

/*
 * rte_eal_init runs on a helper thread started by the subsystem init: it
 * takes ~100 ms even statically linked (TSC calibration sleeps), which must
 * not delay the daemon's start-up, and it pins its calling thread to the
 * main lcore, which must not be a reactor. The first controller waits for it.
 */
static pthread_t g_eal_tid;
static bool g_eal_started;
static bool g_eal_joined;
static int g_eal_rc;
static uint64_t g_eal_ms;

static void *
vhost_eal_thread(void *arg)
{
	static cookie_io_functions_t log_fns = {.write = vhost_rte_log_write};
	char *argv[16];
	char lcore[16], prefix[64];
	uint64_t t0 = util_now_us();
	int argc = 0, cpu = (int)(intptr_t)arg;
	FILE *stream;

	pthread_setname_np(pthread_self(), "vhost-eal-init");
	snprintf(lcore, sizeof(lcore), "%d", cpu);
	snprintf(prefix, sizeof(prefix), "vhostd%d", (int)getpid());
	argv[argc++] = "vhostd";
	argv[argc++] = "-l";
	argv[argc++] = lcore;
	argv[argc++] = "--no-huge";
	argv[argc++] = "--no-pci";
	argv[argc++] = "--no-shconf";
	argv[argc++] = "-m";
	argv[argc++] = "64";
	argv[argc++] = "--no-telemetry";
	argv[argc++] = "--file-prefix";
	argv[argc++] = prefix;
	argv[argc++] = "--log-level";
	/* -L vhost with --log-level INFO or DEBUG also shows rte_vhost's own
	 * per-message trace ("read message VHOST_USER_..."). */
	argv[argc++] = log_get_flag("vhost") && log_get_level() >= LOG_LEVEL_INFO ?
		       "lib.vhost.*:info" : "lib.vhost.*:notice";
	argv[argc] = NULL;

	stream = fopencookie(NULL, "w", log_fns);
	if (stream != NULL) {
		setvbuf(stream, NULL, _IOLBF, 0);
		rte_openlog_stream(stream);
	}
	if (rte_eal_init(argc, argv) < 0) {
		g_eal_rc = -(rte_errno ? rte_errno : EINVAL);
		VHD_ERRLOG("vhost: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return NULL;
	}
	g_eal_ms = (util_now_us() - t0) / 1000;
	return NULL;
}

static int
vhost_eal_start(void)
{
	const struct cpuset *mask;
	int cpu = 0, rc;

	if (g_eal_started) {
		return 0;
	}
	vhost_sock_options_load();
	mask = reactors_get_cpumask();
	if (mask != NULL && cpuset_next(mask, 0) >= 0) {
		cpu = cpuset_next(mask, 0);
	}
	/* Let EAL's control threads (vhost-events) float over every CPU but the main
	 * lcore, rather than inherit the pinned mask of the reactor calling us. */
	{
		pthread_attr_t attr;
		cpu_set_t all;
		long i, n = sysconf(_SC_NPROCESSORS_ONLN);

		CPU_ZERO(&all);
		for (i = 0; i < n && i < CPU_SETSIZE; i++) {
			CPU_SET(i, &all);
		}
		pthread_attr_init(&attr);
		pthread_attr_setaffinity_np(&attr, sizeof(all), &all);
		rc = pthread_create(&g_eal_tid, &attr, vhost_eal_thread, (void *)(intptr_t)cpu);
		pthread_attr_destroy(&attr);
	}
	if (rc != 0) {
		return -rc;
	}
	g_eal_started = true;
	return 0;
}

int
vhost_lib_init(void)
{
	uint64_t t0;
	int rc;

	if (g_eal_ready) {
		return 0;
	}
	if (g_eal_joined) {
		return g_eal_rc;
	}
	rc = vhost_eal_start();
	if (rc != 0) {
		return rc;
	}
	t0 = util_now_us();
	pthread_join(g_eal_tid, NULL);
	g_eal_joined = true;
	if (g_eal_rc != 0) {
		return g_eal_rc;
	}
	g_eal_ready = true;
	VHD_NOTICELOG("vhost: DPDK EAL ready: init took %llu ms, waited %llu ms (no hugepages)\n",
		      (unsigned long long)g_eal_ms,
		      (unsigned long long)((util_now_us() - t0) / 1000));
	return 0;
}

/* ---- names ------------------------------------------------------------------------ */

int
vhost_name_check(const char *name)
{
	if (name == NULL || !util_name_is_safe(name, VHOST_NAME_MAX)) {
		return -EINVAL;
	}
	if (strlen(vhost_get_sock_dir()) + 1 + strlen(name) > VHOST_SOCK_PATH_MAX) {
		return -ENAMETOOLONG;
	}
	return 0;
}

struct vhost_dev *
vhost_dev_find(const char *name)
{
	struct vhost_dev *vdev;

	TAILQ_FOREACH(vdev, &g_vhost_devs, link) {
		if (strcmp(vdev->name, name) == 0) {
			return vdev;
		}
	}
	return NULL;
}

static uint32_t
vhost_controller_count_locked(void)
{
	struct vhost_dev *vdev;
	uint32_t n = 0;

	TAILQ_FOREACH(vdev, &g_vhost_devs, link) {
		n++;
	}
	return n;
}

uint32_t
vhost_controller_count(void)
{
	struct vhost_dev *vdev;
	uint32_t n = 0;

	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_FOREACH(vdev, &g_vhost_devs, link) {
		n++;
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	return n;
}

/* ---- queue threads: queues and pollers --------------------------------------------- */

/* The queues of a group: grp->index, + ngrps, ... below max_queues. */
#define VHOST_GRP_FOREACH_VQ(s, grp, i) \
	for ((i) = (grp)->index; (i) < (s)->max_queues; (i) += (s)->ngrps)

static uint32_t vhost_qgroup_inflight(const struct vhost_qgroup *grp);

uint32_t
vhost_session_inflight(const struct vhost_session *s)
{
	uint32_t n = 0;
	uint16_t g;

	for (g = 0; g < s->ngrps; g++) {
		n += vhost_qgroup_inflight(&s->grps[g]);
	}
	return n;
}

static uint32_t
vhost_qgroup_inflight(const struct vhost_qgroup *grp)
{
	const struct vhost_session *s = grp->session;
	uint32_t n = 0;
	uint16_t i;

	VHOST_GRP_FOREACH_VQ(s, grp, i) {
		if (s->vqs[i].started) {
			n += s->vqs[i].vq.inflight_cnt;
		}
	}
	return n;
}

static void
vhost_session_update_info(struct vhost_session *s)
{
	s->info_started = s->started;
	s->info_max_queues = s->max_queues;
	s->info_inflight = vhost_session_inflight(s);
}

static int
vhost_session_poll(void *ctx)
{
	struct vhost_qgroup *grp = ctx;
	struct vhost_session *s = grp->session;
	uint64_t now = 0;
	int work = 0;
	uint16_t i;

	VHOST_GRP_FOREACH_VQ(s, grp, i) {
		struct vhost_session_vq *svq = &s->vqs[i];

		if (!svq->started) {
			continue;
		}
		if (svq->vq.notify_enabled) {
			vhost_vq_notify_disable(&svq->vq);
		}
		work += s->vdev->ops->vq_poll(s, svq, VHOST_VQ_POLL_BUDGET);
		if (svq->vq.call_pending) {
			/* The clock only matters to a coalescing delay. */
			if (now == 0 && svq->vq.irq_delay_us != 0) {
				now = util_now_us();
			}
			vhost_vq_flush_calls(&svq->vq, now, false);
		}
	}
	return work > 0 ? POLLER_BUSY : POLLER_IDLE;
}

/* Before the reactor sleeps: call the guest for everything pending, re-arm kicks. */
static bool
vhost_session_sleep(void *ctx)
{
	struct vhost_qgroup *grp = ctx;
	struct vhost_session *s = grp->session;
	bool idle = true;
	uint16_t i;

	VHOST_GRP_FOREACH_VQ(s, grp, i) {
		struct vhost_session_vq *svq = &s->vqs[i];

		if (!svq->started) {
			continue;
		}
		vhost_vq_flush_calls(&svq->vq, 0, true);
		if (!vhost_vq_notify_enable(&svq->vq)) {
			idle = false;
		}
	}
	return idle;
}

static int
vhost_session_kick(void *ctx)
{
	struct vhost_session_vq *svq = ctx;

	thread_eventfd_drain(svq->vq.kickfd);
	return vhost_session_poll(svq->grp);
}

/* The queue's thread: wake on its kick fd (interrupt/adaptive mode). */
static void
vhost_session_vq_arm_kick(struct vhost_session_vq *svq)
{
	if (svq->vq.kickfd < 0) {
		return;
	}
	svq->intr = thread_interrupt_register(svq->vq.kickfd, vhost_session_kick, svq,
					      "vhost_kick");
	if (svq->intr == NULL) {
		VHD_WARNLOG("%s: queue %u: kick interrupt not registered; polling only\n",
			    svq->session->name, svq->qid);
	}
}

static int
vhost_session_stats(void *ctx)
{
	struct vhost_qgroup *grp = ctx;
	struct vhost_session *s = grp->session;
	uint16_t i;

	VHOST_GRP_FOREACH_VQ(s, grp, i) {
		if (s->vqs[i].started) {
			vhost_vq_coalesce_update(&s->vqs[i].vq, s->coal_delay_us,
						 s->coal_io_threshold);
		}
	}
	return POLLER_IDLE;
}

/* The group's thread. */
static void
vhost_qgroup_apply_coalescing(struct vhost_qgroup *grp, uint32_t delay_us, uint32_t iops)
{
	struct vhost_session *s = grp->session;

	s->coal_delay_us = delay_us;
	s->coal_io_threshold = (uint32_t)((uint64_t)iops * VHOST_STATS_INTERVAL_MS / 1000);
	if (delay_us != 0 && grp->started && grp->stats_poller == NULL) {
		grp->stats_poller = poller_register(vhost_session_stats, grp,
						    VHOST_STATS_INTERVAL_MS * 1000, "vhost_stats");
	} else if (delay_us == 0 && grp->stats_poller != NULL) {
		uint16_t i;

		poller_unregister(&grp->stats_poller);
		VHOST_GRP_FOREACH_VQ(s, grp, i) {
			s->vqs[i].vq.irq_delay_us = 0;
		}
	}
}

/* ---- inflight tracking through rte_vhost's shared region -------------------------- */

static void
vq_inflight_set_split(void *ctx, uint16_t head)
{
	struct vhost_session_vq *svq = ctx;

	rte_vhost_set_inflight_desc_split(svq->session->vid, svq->qid, head);
}

static void
vq_inflight_last_split(void *ctx, uint16_t head)
{
	struct vhost_session_vq *svq = ctx;

	rte_vhost_set_last_inflight_io_split(svq->session->vid, svq->qid, head);
}

/*
 * Clearing an entry is ours, not rte_vhost's: rte_vhost_clr_inflight_desc_split()
 * (and _packed) fence before and after the store, and the first fence waits for
 * the used-ring stores to reach lines the guest is polling, a third of the
 * server's time at QD 32 on null. What a restarted backend needs (rte_vhost's
 * vhost_check_queue_inflights_*) is only the order of the stores: used entry and
 * index, then the entry cleared, then the region's used index. Release stores
 * give that order on every architecture; a killed process's stores still reach
 * memory.
 */
static void
vq_inflight_clr_split(void *ctx, uint16_t last_used_idx, uint16_t head)
{
	struct vhost_session_vq *svq = ctx;
	struct rte_vhost_inflight_info_split *info = svq->inflight_region;

	__atomic_store_n(&info->desc[head].inflight, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&info->used_idx, last_used_idx, __ATOMIC_RELEASE);
}

static void
vq_inflight_set_packed(void *ctx, uint16_t head, uint16_t last, uint16_t *entry)
{
	struct vhost_session_vq *svq = ctx;

	rte_vhost_set_inflight_desc_packed(svq->session->vid, svq->qid, head, last, entry);
}

static void
vq_inflight_last_packed(void *ctx, uint16_t entry)
{
	struct vhost_session_vq *svq = ctx;

	rte_vhost_set_last_inflight_io_packed(svq->session->vid, svq->qid, entry);
}

static void
vq_inflight_clr_packed(void *ctx, uint16_t entry)
{
	struct vhost_session_vq *svq = ctx;
	struct rte_vhost_inflight_info_packed *info = svq->inflight_region;

	__atomic_store_n(&info->desc[entry].inflight, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&info->old_free_head, info->free_head, __ATOMIC_RELEASE);
	__atomic_store_n(&info->old_used_idx, info->used_idx, __ATOMIC_RELEASE);
	__atomic_store_n(&info->old_used_wrap_counter, info->used_wrap_counter, __ATOMIC_RELEASE);
}

/* Packed resubmission: the descriptors rte_vhost copied into entry's chain of the region. */
static int
vq_inflight_get_packed(void *ctx, uint16_t entry, struct vring_packed_desc *descs, uint16_t max)
{
	struct vhost_session_vq *svq = ctx;
	struct rte_vhost_inflight_info_packed *info = svq->inflight_region;
	uint16_t i, n, idx = entry;

	if (entry >= info->desc_num || info->desc[entry].num == 0 ||
	    info->desc[entry].num > info->desc_num) {
		return -EINVAL;
	}
	n = info->desc[entry].num;
	for (i = 0; i < n && i < max; i++) {
		if (idx >= info->desc_num) {
			return -EINVAL;
		}
		descs[i].addr = info->desc[idx].addr;
		descs[i].len = info->desc[idx].len;
		descs[i].id = info->desc[idx].id;
		descs[i].flags = info->desc[idx].flags;
		idx = info->desc[idx].next;
	}
	return n;
}

static const struct vhost_vq_inflight_ops g_inflight_split_ops = {
	.set_split = vq_inflight_set_split,
	.last_split = vq_inflight_last_split,
	.clr_split = vq_inflight_clr_split,
};

static const struct vhost_vq_inflight_ops g_inflight_packed_ops = {
	.set_packed = vq_inflight_set_packed,
	.last_packed = vq_inflight_last_packed,
	.clr_packed = vq_inflight_clr_packed,
	.get_packed = vq_inflight_get_packed,
};

/* ---- start / stop, prepared on vhost-events, applied on the controller thread ----- */

struct vq_start_req {
	struct vhost_session	*s;
	uint16_t		qid;
	bool			session_start;
	uint64_t		features;
	struct vhost_mem	mem;
	struct rte_vhost_vring	vring;
	void			*inflight_region;	/* NULL: no inflight tracking */
	uint16_t		last_avail;
	uint16_t		last_used;
	uint16_t		*resubmit;
	uint16_t		resubmit_cnt;
	int			callfd;		/* our dups; -1 once the queue took them */
	int			kickfd;
};

static void
vhost_session_op_done(struct vhost_session *s, int rc)
{
	s->op_rc = rc;
	sem_post(&s->sem);
}

static int
vhost_session_wait(struct vhost_session *s)
{
	struct timespec ts;
	uint32_t waited_s = 0;

	for (;;) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 3;
		if (sem_timedwait(&s->sem, &ts) == 0) {
			return s->op_rc;
		}
		if (errno == ETIMEDOUT) {
			waited_s += 3;
			VHD_WARNLOG("%s: still waiting for the controller thread (%us): "
				    "requests in flight cannot be abandoned\n", s->name, waited_s);
		}
	}
}

/* Run fn(s) on `thread` (s->op_ctx = ctx) and wait for its vhost_session_op_done(). */
static int
vhost_session_call_on(struct vhost_session *s, struct thread *thread, thread_msg_fn fn, void *ctx)
{
	int rc;

	/* Only non-reactor threads get here, so waiting while holding op_lock is safe. */
	pthread_mutex_lock(&s->op_lock);
	s->op_ctx = ctx;
	rc = thread_send_msg(thread, fn, s);
	if (rc != 0) {
		VHD_ERRLOG("%s: cannot reach the controller thread: %s\n", s->name,
			   strerror(-rc));
	} else {
		rc = vhost_session_wait(s);
	}
	pthread_mutex_unlock(&s->op_lock);
	return rc;
}

static int
vhost_session_call(struct vhost_session *s, thread_msg_fn fn, void *ctx)
{
	return vhost_session_call_on(s, s->vdev->thread, fn, ctx);
}

/*
 * A queue's call and kick fds are our own dups of rte_vhost's: rte_vhost closes its
 * copy as soon as SET_VRING_CALL/KICK or GET_VRING_BASE is handled, which is before
 * the controller thread hears of it. With a shared fd number, a completion signalled
 * in that window went to a closed (or reused) fd and the guest never heard of it; with
 * EVENT_IDX it then never would (the used_event it waits on had been passed).
 */
static int
vhost_fd_dup(int fd)
{
	int nfd;

	if (fd < 0) {
		return -1;
	}
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0) {
		VHD_ERRLOG("vhost: cannot duplicate an eventfd: %s\n", strerror(errno));
	}
	return nfd;
}

static void
vhost_fd_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
	}
	*fd = -1;
}

static void
vhost_session_vq_release_fds(struct vhost_session_vq *svq)
{
	if (svq->owns_fds) {
		vhost_fd_close(&svq->vq.callfd);
		vhost_fd_close(&svq->vq.kickfd);
		svq->owns_fds = false;
	}
}

static void
vhost_session_vq_stop_one(struct vhost_session *s, struct vhost_session_vq *svq)
{
	if (!svq->started) {
		vhost_session_vq_release_fds(svq);
		return;
	}
	vhost_vq_flush_calls(&svq->vq, 0, true);
	thread_interrupt_unregister(&svq->intr);
	s->vdev->ops->vq_stop(s, svq);
	vhost_session_vq_release_fds(svq);
	svq->started = false;
	svq->base_valid = true;
}

/* The group's thread: its poller and per-thread personality state, once. */
static int
vhost_qgroup_start(struct vhost_qgroup *grp)
{
	struct vhost_session *s = grp->session;
	char name[32];
	int rc;

	if (grp->started) {
		return 0;
	}
	if (s->vdev->ops->grp_start != NULL) {
		rc = s->vdev->ops->grp_start(s, grp);
		if (rc != 0) {
			return rc;
		}
	}
	snprintf(name, sizeof(name), "vhost_session.%u", grp->index);
	grp->poller = poller_register(vhost_session_poll, grp, 0, name);
	if (grp->poller == NULL) {
		if (s->vdev->ops->grp_stop != NULL) {
			s->vdev->ops->grp_stop(s, grp);
		}
		return -ENOMEM;
	}
	poller_set_sleep_cb(grp->poller, vhost_session_sleep);
	grp->started = true;
	vhost_qgroup_apply_coalescing(grp, s->vdev->coal_delay_base_us,
				      s->vdev->coal_iops_threshold);
	return 0;
}

static void
vhost_session_start_vq_msg(void *ctx)
{
	struct vhost_session *s = ctx;
	struct vq_start_req *req = s->op_ctx;
	struct vhost_session_vq *svq = &s->vqs[req->qid];
	struct vhost_vq *vq = &svq->vq;
	int rc;

	svq->base_valid = false;
	if (req->session_start && !s->started) {
		s->features = req->features;
		s->mem = req->mem;
		if (s->vdev->ops->session_start != NULL) {
			rc = s->vdev->ops->session_start(s);
			if (rc != 0) {
				vhost_session_op_done(s, rc);
				return;
			}
		}
		s->started = true;
		pthread_mutex_lock(&g_vhost_mutex);
		s->info_started = true;
		pthread_mutex_unlock(&g_vhost_mutex);
	}
	if (!s->started) {
		vhost_session_op_done(s, -EINVAL);
		return;
	}
	rc = vhost_qgroup_start(svq->grp);
	if (rc != 0) {
		vhost_session_op_done(s, rc);
		return;
	}
	vhost_session_vq_stop_one(s, svq);

	memset(vq, 0, sizeof(*vq));
	svq->session = s;
	svq->qid = req->qid;
	/* The fds are the queue's from here on, started or not (stop_one closes them). */
	vq->callfd = req->callfd;
	vq->kickfd = req->kickfd;
	req->callfd = -1;
	req->kickfd = -1;
	svq->owns_fds = true;
	vq->size = req->vring.size;
	vq->packed = s->features & (1ull << VHOST_F_RING_PACKED);
	vq->event_idx = s->features & (1ull << VHOST_F_EVENT_IDX);
	vq->indirect = s->features & (1ull << VHOST_F_INDIRECT_DESC);
	vq->desc = req->vring.desc;
	vq->avail = req->vring.avail;
	vq->used = req->vring.used;
	vq->mem = &s->mem;
	if (vq->packed) {
		vq->last_avail_idx = req->last_avail & 0x7fff;
		vq->avail_wrap = req->last_avail >> 15;
		vq->last_used_idx = req->last_used & 0x7fff;
		vq->used_wrap = req->last_used >> 15;
	} else {
		vq->last_avail_idx = req->last_avail;
		vq->last_used_idx = req->last_used;
	}
	svq->inflight_region = req->inflight_region;
	if (svq->inflight_region != NULL) {
		vq->inflight = vq->packed ? &g_inflight_packed_ops : &g_inflight_split_ops;
		vq->inflight_ctx = svq;
	}
	rc = vhost_vq_init(vq);
	if (rc != 0) {
		VHD_ERRLOG("%s: queue %u has an invalid ring (size %u)\n", s->name, req->qid,
			   vq->size);
		vhost_session_vq_release_fds(svq);
		vhost_session_op_done(s, rc);
		return;
	}
	rc = s->vdev->ops->vq_start(s, svq);
	if (rc != 0) {
		vhost_session_vq_release_fds(svq);
		vhost_session_op_done(s, rc);
		return;
	}
	svq->started = true;
	if (req->qid >= s->max_queues) {
		s->max_queues = req->qid + 1;
	}
	vhost_session_vq_arm_kick(svq);
	/* Requests that were in flight when a previous backend went away. */
	if (req->resubmit_cnt > 0 && s->vdev->ops->vq_resubmit != NULL) {
		uint16_t i;

		VHD_NOTICELOG("%s: queue %u: resubmitting %u inflight requests (%s ring)\n",
			      s->name, req->qid, req->resubmit_cnt, vq->packed ? "packed" : "split");
		for (i = 0; i < req->resubmit_cnt; i++) {
			s->vdev->ops->vq_resubmit(s, svq, req->resubmit[i]);
		}
	}
	pthread_mutex_lock(&g_vhost_mutex);
	vhost_session_update_info(s);
	pthread_mutex_unlock(&g_vhost_mutex);
	VHD_INFOLOG("%s: queue %u started (%s ring, size %u%s)\n", s->name, req->qid,
		    vq->packed ? "packed" : "split", vq->size, vq->event_idx ? ", event_idx" : "");
	vhost_session_op_done(s, 0);
}

/* The group's thread, once none of its requests is in flight. */
static void
vhost_qgroup_stop_finish(struct vhost_qgroup *grp)
{
	struct vhost_session *s = grp->session;
	uint16_t i;

	poller_unregister(&grp->stop_poller);
	VHOST_GRP_FOREACH_VQ(s, grp, i) {
		vhost_session_vq_stop_one(s, &s->vqs[i]);
	}
	if (s->vdev->ops->grp_stop != NULL) {
		s->vdev->ops->grp_stop(s, grp);
	}
	grp->started = false;
	pthread_mutex_lock(&g_vhost_mutex);
	vhost_session_update_info(s);
	pthread_mutex_unlock(&g_vhost_mutex);
	vhost_session_op_done(s, 0);
}

static int
vhost_qgroup_stop_poll(void *ctx)
{
	struct vhost_qgroup *grp = ctx;

	if (vhost_qgroup_inflight(grp) > 0) {
		return POLLER_IDLE;
	}
	vhost_qgroup_stop_finish(grp);
	return POLLER_BUSY;
}

static void
vhost_qgroup_stop_msg(void *ctx)
{
	struct vhost_session *s = ctx;
	struct vhost_qgroup *grp = s->op_ctx;
	uint16_t i;

	if (!grp->started) {
		vhost_session_op_done(s, 0);
		return;
	}
	/* No new requests from here on; completions of those in flight still land. */
	poller_unregister(&grp->poller);
	poller_unregister(&grp->stats_poller);
	VHOST_GRP_FOREACH_VQ(s, grp, i) {
		thread_interrupt_unregister(&s->vqs[i].intr);
	}
	if (vhost_qgroup_inflight(grp) == 0) {
		vhost_qgroup_stop_finish(grp);
		return;
	}
	grp->stop_poller = poller_register(vhost_qgroup_stop_poll, grp, 1000, "vhost_stop");
	if (grp->stop_poller == NULL) {
		VHD_ERRLOG("%s: no memory for the stop poller\n", s->name);
		vhost_session_op_done(s, -ENOMEM);
	}
}

/* Controller thread, every group stopped. */
static void
vhost_session_stop_msg(void *ctx)
{
	struct vhost_session *s = ctx;

	if (s->started) {
		if (s->vdev->ops->session_stop != NULL) {
			s->vdev->ops->session_stop(s);
		}
		s->started = false;
		pthread_mutex_lock(&g_vhost_mutex);
		vhost_session_update_info(s);
		pthread_mutex_unlock(&g_vhost_mutex);
		VHD_INFOLOG("%s: stopped\n", s->name);
	}
	vhost_session_op_done(s, 0);
}

/* vhost-events (or the delete helper): stop and hand the ring bases back to rte_vhost. */
static void
vhost_session_stop(struct vhost_session *s)
{
	uint16_t i;

	for (i = 0; i < s->ngrps; i++) {
		vhost_session_call_on(s, s->grps[i].thread, vhost_qgroup_stop_msg, &s->grps[i]);
	}
	vhost_session_call(s, vhost_session_stop_msg, NULL);
	for (i = 0; i < s->max_queues; i++) {
		struct vhost_vq *vq = &s->vqs[i].vq;

		if (!s->vqs[i].base_valid) {
			continue;
		}
		s->vqs[i].base_valid = false;
		if (vq->packed) {
			rte_vhost_set_vring_base(s->vid, i, vhost_vq_packed_avail_base(vq),
						 vhost_vq_packed_used_base(vq));
		} else {
			rte_vhost_set_vring_base(s->vid, i, vq->last_avail_idx,
						 vq->last_used_idx);
		}
	}
}

static int
vhost_session_start_vq(struct vhost_session *s, uint16_t qid)
{
	struct vq_start_req req = {.s = s, .qid = qid, .callfd = -1, .kickfd = -1};
	struct rte_vhost_ring_inflight inflight;
	struct rte_vhost_resubmit_info *ri = NULL;
	struct rte_vhost_memory *mem = NULL;
	uint16_t resubmit[VHOST_VQ_MAX_SIZE > 1024 ? 1024 : VHOST_VQ_MAX_SIZE];
	uint32_t i;
	int rc;

	if (qid >= VHOST_MAX_VQS) {
		VHD_ERRLOG("%s: queue %u is beyond the %u we serve\n", s->name, qid,
			   VHOST_MAX_VQS);
		return -EINVAL;
	}
	if (s->vdev->deleting) {
		return -ESHUTDOWN;
	}
	if (rte_vhost_get_vhost_vring(s->vid, qid, &req.vring) != 0 || req.vring.desc == NULL ||
	    req.vring.size == 0) {
		/* Not configured or not translatable yet: SET_VRING_ENABLE and
		 * new_device try again. */
		VHD_DEBUGLOG(vhost, "%s: queue %u not ready to start yet\n", s->name, qid);
		return -EAGAIN;
	}
	if (rte_vhost_get_vring_base(s->vid, qid, &req.last_avail, &req.last_used) != 0) {
		return -EINVAL;
	}
	if (!s->info_started) {
		req.session_start = true;
		if (rte_vhost_get_negotiated_features(s->vid, &req.features) != 0 ||
		    rte_vhost_get_mem_table(s->vid, &mem) != 0) {
			VHD_ERRLOG("%s: no features or memory table yet\n", s->name);
			free(mem);
			return -EINVAL;
		}
		if (mem->nregions > VHOST_MEM_MAX_REGIONS) {
			free(mem);
			return -EINVAL;
		}
		req.mem.nregions = mem->nregions;
		for (i = 0; i < mem->nregions; i++) {
			req.mem.regions[i].gpa = mem->regions[i].guest_phys_addr;
			req.mem.regions[i].size = mem->regions[i].size;
			req.mem.regions[i].hva = mem->regions[i].host_user_addr;
		}
		free(mem);
	} else {
		req.features = s->features;
	}
	memset(&inflight, 0, sizeof(inflight));
	if (rte_vhost_get_vhost_ring_inflight(s->vid, qid, &inflight) == 0 &&
	    inflight.inflight_split != NULL) {
		/* desc_num is the frontend's queue_size (split and packed alike):
		 * entries up to the ring's size must fit, or tracking would write
		 * past the queue's part of the region. */
		if (inflight.inflight_split->desc_num < req.vring.size) {
			VHD_ERRLOG("%s: queue %u: inflight region holds %u entries for a ring "
				   "of %u: not tracking inflight requests\n", s->name, qid,
				   inflight.inflight_split->desc_num, req.vring.size);
			goto no_inflight;
		}
		req.inflight_region = inflight.inflight_split;
		/* Packed: both positions restart at the last used slot; each request
		 * resubmitted from its entry's copies moves avail past its chain. */
		if (req.features & (1ull << VHOST_F_RING_PACKED)) {
			rte_vhost_get_vring_base_from_inflight(s->vid, qid, &req.last_avail,
							       &req.last_used);
		}
		if (inflight.resubmit_inflight != NULL &&
		    inflight.resubmit_inflight->resubmit_num > 0) {
			/* Split: heads; packed: entries. rte_vhost sorts the list newest
			 * first (descending counter): resubmit oldest first, in the order
			 * the guest made them. */
			ri = inflight.resubmit_inflight;
			for (i = 0; i < ri->resubmit_num && i < VHD_COUNTOF(resubmit); i++) {
				resubmit[i] = ri->resubmit_list[ri->resubmit_num - 1 - i].index;
			}
			req.resubmit = resubmit;
			req.resubmit_cnt = (uint16_t)i;
		}
	}
no_inflight:
	req.callfd = vhost_fd_dup(req.vring.callfd);
	req.kickfd = vhost_fd_dup(req.vring.kickfd);
	if ((req.vring.callfd >= 0 && req.callfd < 0) || (req.vring.kickfd >= 0 && req.kickfd < 0)) {
		vhost_fd_close(&req.callfd);
		vhost_fd_close(&req.kickfd);
		return -EMFILE;
	}
	rc = vhost_session_call_on(s, s->vqs[qid].grp->thread, vhost_session_start_vq_msg, &req);
	/* Not taken when the session could not start (or the thread is unreachable). */
	vhost_fd_close(&req.callfd);
	vhost_fd_close(&req.kickfd);
	if (rc != 0) {
		VHD_ERRLOG("%s: queue %u failed to start: %s\n", s->name, qid, strerror(-rc));
	} else {
		s->vq_live[qid] = true;
		/* rte_vhost keeps the list for the connection's life: a later start of
		 * this queue (guest reset, queue restart) must not run them again. */
		if (ri != NULL) {
			ri->resubmit_num = 0;
		}
	}
	return rc;
}

/* ---- rte_vhost callbacks (vhost-events thread) ------------------------------------ */

static struct vhost_session *
vhost_session_by_vid(int vid)
{
	struct vhost_session *s = NULL;

	if (vid < 0 || vid >= RTE_MAX_VHOST_DEVICE) {
		return NULL;
	}
	pthread_mutex_lock(&g_vhost_mutex);
	s = g_vid_sessions[vid];
	pthread_mutex_unlock(&g_vhost_mutex);
	return s;
}

/* Bytes of one queue's part of an inflight region (docs/interop/vhost-user.rst), 64-aligned. */
static uint64_t
vhost_inflight_queue_bytes(bool packed, uint16_t queue_size)
{
	/* split: features, version, desc_num, last_batch_head, used_idx, 16-byte entries;
	 * packed: features, 6 u16 and 9 u8 fields, 32-byte entries */
	uint64_t n = packed ? 32ull * queue_size + 8 + 6 * 2 + 9 : 16ull * queue_size + 8 + 4 * 2;

	return (n + 63) & ~63ull;
}

/*
 * SET_INFLIGHT_FD: rte_vhost maps mmap_size bytes of the fd at mmap_offset
 * (after unmapping the old region) and then writes each of num_queues parts at
 * queue_bytes intervals, checking none of it: a region too small for its
 * queues, or a file shorter than the mapping (SIGBUS), would crash the daemon.
 */
static bool
vhost_inflight_msg_valid(struct vhost_session *s, const struct vhu_msg_ctx *ctx)
{
	const struct vhu_msg *msg = &ctx->msg;
	uint16_t nq = msg->payload.inflight.num_queues, qs = msg->payload.inflight.queue_size;
	uint64_t size = msg->payload.inflight.mmap_size, off = msg->payload.inflight.mmap_offset;
	uint64_t features = 0;
	struct stat st;

	if (msg->size != sizeof(msg->payload.inflight) || ctx->fd_num != 1 || ctx->fds[0] < 0) {
		VHD_ERRLOG("%s: SET_INFLIGHT_FD with a payload of %u bytes and %d fds\n", s->name,
			   msg->size, ctx->fd_num);
		return false;
	}
	/* The layout rte_vhost picks: the features negotiated so far. */
	rte_vhost_get_negotiated_features(s->vid, &features);
	if (nq == 0 || qs == 0 || qs > VHOST_VQ_MAX_SIZE ||
	    size / nq < vhost_inflight_queue_bytes(features & (1ull << VHOST_F_RING_PACKED), qs)) {
		VHD_ERRLOG("%s: SET_INFLIGHT_FD: %u queues of %u entries do not fit in %" PRIu64
			   " bytes\n", s->name, nq, qs, size);
		return false;
	}
	if (off % (uint64_t)sysconf(_SC_PAGESIZE) != 0 || fstat(ctx->fds[0], &st) != 0 ||
	    st.st_size < 0 || off > (uint64_t)st.st_size || size > (uint64_t)st.st_size - off) {
		VHD_ERRLOG("%s: SET_INFLIGHT_FD: %" PRIu64 " bytes at offset %" PRIu64
			   " are not in its file\n", s->name, size, off);
		return false;
	}
	return true;
}

/*
 * Refuse a message from the pre-hook. rte_vhost takes it as handled and leaves
 * the fds it carried open: close them. Without REPLY_ACK, rte_vhost then
 * closes the connection.
 */
static enum rte_vhost_msg_result
vhost_msg_refuse(struct vhu_msg_ctx *ctx)
{
	int i, n = ctx->fd_num;

	for (i = 0; i < n && i < VHU_MAX_FDS; i++) {
		if (ctx->fds[i] >= 0) {
			close(ctx->fds[i]);
			ctx->fds[i] = -1;
		}
	}
	ctx->fd_num = 0;
	return RTE_VHOST_MSG_RESULT_ERR;
}

static enum rte_vhost_msg_result
vhost_pre_msg(int vid, void *_msg)
{
	struct vhost_session *s = vhost_session_by_vid(vid);
	struct vhu_msg *msg = _msg;
	struct vhost_dev *vdev;
	uint16_t i, qid;
	int rc;

	if (s == NULL) {
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	}
	vdev = s->vdev;
	switch (msg->request) {
	case VHU_GET_CONFIG:
		if (msg->size != VHU_CFG_HDR + msg->payload.cfg.size ||
		    msg->payload.cfg.size > VHU_CONFIG_MAX || vdev->ops->get_config == NULL) {
			VHD_ERRLOG("%s: GET_CONFIG with bad size %u\n", s->name,
				   msg->payload.cfg.size);
			msg->size = 0;
			return RTE_VHOST_MSG_RESULT_REPLY;
		}
		memset(msg->payload.cfg.region, 0, msg->payload.cfg.size);
		rc = vdev->ops->get_config(vdev, msg->payload.cfg.region, msg->payload.cfg.size);
		if (rc != 0) {
			msg->size = 0;
		}
		return RTE_VHOST_MSG_RESULT_REPLY;
	case VHU_SET_CONFIG:
		if (msg->size != VHU_CFG_HDR + msg->payload.cfg.size ||
		    msg->payload.cfg.size > VHU_CONFIG_MAX ||
		    msg->payload.cfg.offset > VHU_CONFIG_MAX - msg->payload.cfg.size) {
			return RTE_VHOST_MSG_RESULT_ERR;
		}
		if (vdev->ops->set_config == NULL) {
			return RTE_VHOST_MSG_RESULT_OK;
		}
		rc = vdev->ops->set_config(vdev, msg->payload.cfg.region, msg->payload.cfg.offset,
					   msg->payload.cfg.size, msg->payload.cfg.flags);
		return rc == 0 ? RTE_VHOST_MSG_RESULT_OK : RTE_VHOST_MSG_RESULT_ERR;
	case VHU_GET_VRING_BASE:
		vhost_session_stop(s);
		pthread_mutex_lock(&g_vhost_mutex);
		s->info_started = false;
		pthread_mutex_unlock(&g_vhost_mutex);
		for (i = 0; i < VHOST_MAX_VQS; i++) {
			s->vq_kicked[i] = false;
			s->vq_live[i] = false;
		}
		s->needs_restart = false;
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	case VHU_SET_MEM_TABLE:
		if (s->info_started) {
			vhost_session_stop(s);
			pthread_mutex_lock(&g_vhost_mutex);
			s->info_started = false;
			pthread_mutex_unlock(&g_vhost_mutex);
			memset(s->vq_live, 0, sizeof(s->vq_live));
			s->needs_restart = true;
		}
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	case VHU_SET_VRING_KICK:
		qid = msg->payload.u64 & VHU_VRING_IDX_MASK;
		if (qid < VHOST_MAX_VQS && s->inflight_stale[qid]) {
			/* rte_vhost would read the unmapped region at this kick. */
			VHD_ERRLOG("%s: queue %u kicked without an inflight region since the last "
				   "was replaced: refused\n", s->name, qid);
			return vhost_msg_refuse(_msg);
		}
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	case VHU_SET_INFLIGHT_FD:
		if (!vhost_inflight_msg_valid(s, _msg)) {
			return vhost_msg_refuse(_msg);
		}
		/* Until it succeeds (the post-hook), no queue has a region: rte_vhost
		 * unmaps the old one first and may fail after. */
		for (i = 0; i < VHOST_MAX_VQS; i++) {
			s->inflight_stale[i] = true;
		}
		/* fall through */
	case VHU_GET_INFLIGHT_FD:
		/* rte_vhost unmaps the old region: nothing may still write to it. QEMU
		 * sends both before it sets up the rings; a frontend that sends them to
		 * running queues gets them stopped (drained), to be started again by
		 * its next SET_VRING_KICK. */
		if (!s->info_started) {
			return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
		}
		VHD_WARNLOG("%s: inflight region replaced while running: queues stopped\n",
			    s->name);
		/* fall through */
	case VHU_RESET_OWNER:
	case VHU_RESET_DEVICE:
		vhost_session_stop(s);
		pthread_mutex_lock(&g_vhost_mutex);
		s->info_started = false;
		pthread_mutex_unlock(&g_vhost_mutex);
		for (i = 0; i < VHOST_MAX_VQS; i++) {
			s->vq_kicked[i] = false;
			s->vq_live[i] = false;
		}
		s->needs_restart = false;
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	default:
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	}
}

struct vq_callfd_req {
	uint16_t	qid;
	int		callfd;
};

static void
vhost_session_set_callfd_msg(void *ctx)
{
	struct vhost_session *s = ctx;
	struct vq_callfd_req *req = s->op_ctx;
	struct vhost_session_vq *svq = &s->vqs[req->qid];

	if (svq->started && svq->owns_fds) {
		vhost_fd_close(&svq->vq.callfd);
		svq->vq.callfd = req->callfd;
		req->callfd = -1;
		/*
		 * QEMU switches between its masked notifier and the guest's on MSI-X
		 * (un)masking and checks the old one for a pending call without
		 * waiting for us: a call made in between would be lost. A spurious one
		 * is always allowed (virtio 1.2 2.7.10), so signal the new fd once.
		 */
		if (svq->vq.callfd >= 0) {
			eventfd_write(svq->vq.callfd, 1);
		}
	}
	vhost_session_op_done(s, 0);
}

struct vq_kickfd_req {
	uint16_t	qid;
	int		kickfd;
};

static void
vhost_session_set_kickfd_msg(void *ctx)
{
	struct vhost_session *s = ctx;
	struct vq_kickfd_req *req = s->op_ctx;
	struct vhost_session_vq *svq = &s->vqs[req->qid];

	if (svq->started && svq->owns_fds) {
		thread_interrupt_unregister(&svq->intr);
		vhost_fd_close(&svq->vq.kickfd);
		svq->vq.kickfd = req->kickfd;
		req->kickfd = -1;
		vhost_session_vq_arm_kick(svq);
	}
	vhost_session_op_done(s, 0);
}

/* vhost-events: hand a running queue the kick fd rte_vhost now holds. */
static void
vhost_session_swap_kickfd(struct vhost_session *s, uint16_t qid)
{
	struct vq_kickfd_req req = {.qid = qid, .kickfd = -1};
	struct rte_vhost_vring vring;

	if (rte_vhost_get_vhost_vring(s->vid, qid, &vring) == 0) {
		req.kickfd = vhost_fd_dup(vring.kickfd);
	}
	VHD_INFOLOG("%s: queue %u: new kick fd while running\n", s->name, qid);
	vhost_session_call_on(s, s->vqs[qid].grp->thread, vhost_session_set_kickfd_msg, &req);
	vhost_fd_close(&req.kickfd);
}

static enum rte_vhost_msg_result
vhost_post_msg(int vid, void *_msg)
{
	struct vhost_session *s = vhost_session_by_vid(vid);
	struct vhu_msg *msg = _msg;
	uint16_t qid, i;

	if (s == NULL) {
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	}
	switch (msg->request) {
	case VHU_GET_INFLIGHT_FD:
		/* rte_vhost mapped a new region and unmapped the old one, but left every
		 * queue pointing at the old one until a SET_INFLIGHT_FD. */
		for (i = 0; i < VHOST_MAX_VQS; i++) {
			s->inflight_stale[i] = true;
		}
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	case VHU_SET_INFLIGHT_FD:
		/* rte_vhost pointed queues 0 .. num_queues - 1 into the new region. */
		for (i = 0; i < VHOST_MAX_VQS && i < msg->payload.inflight.num_queues; i++) {
			s->inflight_stale[i] = false;
		}
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	case VHU_SET_VRING_KICK:
		qid = msg->payload.u64 & VHU_VRING_IDX_MASK;
		if (qid >= VHOST_MAX_VQS) {
			return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
		}
		s->vq_kicked[qid] = true;
		if (s->vq_live[qid] && s->info_started) {
			/* A new kick fd for a running ring (the spec allows it): swap the
			 * fd only. Restarting would drop the requests in flight. */
			vhost_session_swap_kickfd(s, qid);
			return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
		}
		/* The spec: start polling a queue once its kick fd arrives. */
		vhost_session_start_vq(s, qid);
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	case VHU_SET_VRING_ENABLE:
		qid = msg->payload.state.index;
		if (qid < VHOST_MAX_VQS && msg->payload.state.num == 1 && s->vq_kicked[qid] &&
		    !s->vq_live[qid]) {
			vhost_session_start_vq(s, qid);
		}
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	case VHU_SET_VRING_CALL:
		qid = msg->payload.u64 & VHU_VRING_IDX_MASK;
		if (qid < VHOST_MAX_VQS && s->info_started) {
			struct rte_vhost_vring vring;
			struct vq_callfd_req req = {.qid = qid, .callfd = -1};

			if (rte_vhost_get_vhost_vring(vid, qid, &vring) == 0) {
				req.callfd = vhost_fd_dup(vring.callfd);
			}
			vhost_session_call_on(s, s->vqs[qid].grp->thread,
					      vhost_session_set_callfd_msg, &req);
			vhost_fd_close(&req.callfd);
		}
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	case VHU_SET_MEM_TABLE:
		if (s->needs_restart) {
			s->needs_restart = false;
			for (i = 0; i < VHOST_MAX_VQS; i++) {
				/* A queue started since (destroy_device, then a kick) runs. */
				if (s->vq_kicked[i] && !(s->vq_live[i] && s->info_started)) {
					vhost_session_start_vq(s, i);
				}
			}
		}
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	default:
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	}
}

static const struct rte_vhost_user_extern_ops g_extern_ops = {
	.pre_msg_handle = vhost_pre_msg,
	.post_msg_handle = vhost_post_msg,
};

static struct vhost_dev *
vhost_dev_find_by_path(const char *path)
{
	struct vhost_dev *vdev;

	TAILQ_FOREACH(vdev, &g_vhost_devs, link) {
		if (strcmp(vdev->path, path) == 0) {
			return vdev;
		}
	}
	return NULL;
}

static int
vhost_new_connection(int vid)
{
	char path[PATH_MAX];
	struct vhost_dev *vdev;
	struct vhost_session *s;
	uint32_t i;

	if (vid < 0 || vid >= RTE_MAX_VHOST_DEVICE ||
	    rte_vhost_get_ifname(vid, path, sizeof(path)) != 0) {
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return -1;
	}
	sem_init(&s->sem, 0, 0);
	pthread_mutex_init(&s->op_lock, NULL);
	s->refs = 1;
	s->vid = vid;
	pthread_mutex_lock(&g_vhost_mutex);
	vdev = vhost_dev_find_by_path(path);
	if (vdev == NULL || vdev->deleting) {
		pthread_mutex_unlock(&g_vhost_mutex);
		VHD_WARNLOG("vhost: refusing a connection on %s: no controller or being deleted\n",
			    path);
		sem_destroy(&s->sem);
		pthread_mutex_destroy(&s->op_lock);
		free(s);
		return -1;
	}
	s->vdev = vdev;
	s->ngrps = vdev->nqthreads;
	for (i = 0; i < s->ngrps; i++) {
		s->grps[i].session = s;
		s->grps[i].thread = vdev->qthreads[i];
		s->grps[i].index = (uint16_t)i;
	}
	for (i = 0; i < VHOST_MAX_VQS; i++) {
		s->vqs[i].grp = &s->grps[i % s->ngrps];
	}
	s->id = vdev->next_session_id++;
	snprintf(s->name, sizeof(s->name), "%ss%u", vdev->name, s->id);
	TAILQ_INSERT_TAIL(&vdev->sessions, s, link);
	g_vid_sessions[vid] = s;
	pthread_mutex_unlock(&g_vhost_mutex);

	if (rte_vhost_extern_callback_register(vid, &g_extern_ops, NULL) != 0) {
		VHD_ERRLOG("%s: cannot install message hooks\n", s->name);
		pthread_mutex_lock(&g_vhost_mutex);
		TAILQ_REMOVE(&vdev->sessions, s, link);
		g_vid_sessions[vid] = NULL;
		pthread_mutex_unlock(&g_vhost_mutex);
		sem_destroy(&s->sem);
		pthread_mutex_destroy(&s->op_lock);
		free(s);
		return -1;
	}
	VHD_NOTICELOG("%s: new vhost-user connection (vid %d)\n", s->name, vid);
	return 0;
}

static void
vhost_session_put(struct vhost_session *s)
{
	bool last;

	pthread_mutex_lock(&g_vhost_mutex);
	last = --s->refs == 0;
	pthread_mutex_unlock(&g_vhost_mutex);
	if (last) {
		sem_destroy(&s->sem);
		pthread_mutex_destroy(&s->op_lock);
		free(s);
	}
}

/* The connection is gone: unlist the session and drop the connection's reference. */
static void
vhost_session_free(struct vhost_session *s)
{
	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_REMOVE(&s->vdev->sessions, s, link);
	if (g_vid_sessions[s->vid] == s) {
		g_vid_sessions[s->vid] = NULL;
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	vhost_session_put(s);
}

static void
vhost_destroy_connection(int vid)
{
	struct vhost_session *s = vhost_session_by_vid(vid);

	if (s == NULL) {
		return;
	}
	vhost_session_stop(s);
	VHD_NOTICELOG("%s: vhost-user connection closed\n", s->name);
	vhost_session_free(s);
}

static int
vhost_new_device(int vid)
{
	struct vhost_session *s = vhost_session_by_vid(vid);
	uint16_t i, n;

	if (s == NULL) {
		return -1;
	}
	/* Normally every queue already started on its kick; catch any that did not. */
	n = rte_vhost_get_vring_num(vid);
	for (i = 0; i < n && i < VHOST_MAX_VQS; i++) {
		struct rte_vhost_vring vring;

		if (s->vq_live[i] && s->info_started) {
			continue;
		}
		if (rte_vhost_get_vhost_vring(vid, i, &vring) == 0 && vring.desc != NULL &&
		    vring.kickfd >= 0) {
			s->vq_kicked[i] = true;
			vhost_session_start_vq(s, i);
		}
	}
	return 0;
}

static void
vhost_destroy_device(int vid)
{
	struct vhost_session *s = vhost_session_by_vid(vid);

	if (s == NULL) {
		return;
	}
	vhost_session_stop(s);
	pthread_mutex_lock(&g_vhost_mutex);
	s->info_started = false;
	pthread_mutex_unlock(&g_vhost_mutex);
	memset(s->vq_live, 0, sizeof(s->vq_live));
	s->needs_restart = false;
}

static const struct rte_vhost_device_ops g_vhost_device_ops = {
	.new_device = vhost_new_device,
	.destroy_device = vhost_destroy_device,
	.new_connection = vhost_new_connection,
	.destroy_connection = vhost_destroy_connection,
};

/* ---- controllers ------------------------------------------------------------------ */

static void
vhost_thread_exit_msg(void *ctx)
{
	thread_exit(ctx);
}

/* One queue thread on each core of the mask besides the controller thread's. */
static int
vhost_dev_create_qthreads(struct vhost_dev *vdev)
{
	uint32_t home = thread_get_lcore(vdev->thread);
	char name[VHOST_NAME_MAX + 16];
	struct cpuset one;
	int cpu;

	for (cpu = cpuset_next(&vdev->cpumask, 0); cpu >= 0;
	     cpu = cpuset_next(&vdev->cpumask, cpu + 1)) {
		if ((uint32_t)cpu == home || vdev->nqthreads == VHOST_MAX_QTHREADS) {
			continue;
		}
		cpuset_zero(&one);
		cpuset_set_cpu(&one, (uint32_t)cpu, true);
		snprintf(name, sizeof(name), "%s.q%d", vdev->name, cpu);
		vdev->qthreads[vdev->nqthreads] = thread_create(name, &one);
		if (vdev->qthreads[vdev->nqthreads] == NULL) {
			return -ENOMEM;
		}
		vdev->nqthreads++;
	}
	return 0;
}

static void
vhost_dev_exit_threads(struct vhost_dev *vdev)
{
	uint16_t i;

	for (i = 0; i < vdev->nqthreads; i++) {
		thread_send_msg(vdev->qthreads[i], vhost_thread_exit_msg, vdev->qthreads[i]);
		vdev->qthreads[i] = NULL;
	}
	vdev->nqthreads = 0;
}

static int
vhost_socket_prepare(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			VHD_ERRLOG("vhost: %s exists and is not a socket\n", path);
			return -EEXIST;
		}
		if (unlink(path) != 0) {
			return -errno;
		}
	}
	return 0;
}

int
vhost_dev_register(struct vhost_dev *vdev, const char *name, const char *cpumask,
		   const struct vhost_dev_ops *ops, uint64_t virtio_features,
		   uint64_t protocol_features)
{
	return vhost_dev_register_ext(vdev, name, cpumask, ops, virtio_features,
				      protocol_features, false);
}

int
vhost_dev_register_ext(struct vhost_dev *vdev, const char *name, const char *cpumask,
		       const struct vhost_dev_ops *ops, uint64_t virtio_features,
		       uint64_t protocol_features, bool delay)
{
	const struct cpuset *app_mask = reactors_get_cpumask();
	char path[PATH_MAX + VHOST_NAME_MAX + 2];
	int rc;

	rc = vhost_name_check(name);
	if (rc != 0) {
		return rc;
	}
	if (cpumask != NULL) {
		if (cpuset_parse(&vdev->cpumask, cpumask) != 0) {
			return -EINVAL;
		}
		if (app_mask != NULL && !cpuset_is_subset(&vdev->cpumask, app_mask)) {
			VHD_ERRLOG("%s: cpumask %s is outside the core mask\n", name, cpumask);
			return -EINVAL;
		}
	} else if (app_mask != NULL) {
		vdev->cpumask = *app_mask;
	} else {
		cpuset_zero(&vdev->cpumask);
		cpuset_set_cpu(&vdev->cpumask, 0, true);
	}
	rc = vhost_lib_init();
	if (rc != 0) {
		return rc;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", vhost_get_sock_dir(), name) >=
	    sizeof(path)) {
		return -ENAMETOOLONG;
	}

	pthread_mutex_lock(&g_vhost_mutex);
	if (vhost_dev_find(name) != NULL) {
		pthread_mutex_unlock(&g_vhost_mutex);
		return -EEXIST;
	}
	if (vhost_controller_count_locked() >= g_max_ctrlrs) {
		pthread_mutex_unlock(&g_vhost_mutex);
		VHD_ERRLOG("%s: too many controllers (limit %u)\n", name, g_max_ctrlrs);
		return -ENOSPC;
	}
	vdev->name = strdup(name);
	vdev->path = strdup(path);
	vdev->ops = ops;
	vdev->virtio_features = virtio_features | (1ull << VHOST_F_VERSION_1) |
				(1ull << VHOST_F_PROTOCOL_FEATURES) |
				(1ull << VHOST_F_INDIRECT_DESC) | (1ull << VHOST_F_EVENT_IDX) |
				(1ull << VHOST_F_ANY_LAYOUT);
	vdev->protocol_features = protocol_features;
	vdev->coal_delay_base_us = VHOST_COALESCING_DELAY_BASE_US;
	vdev->coal_iops_threshold = VHOST_COALESCING_IOPS_THRESHOLD;
	TAILQ_INIT(&vdev->sessions);
	if (vdev->name == NULL || vdev->path == NULL) {
		pthread_mutex_unlock(&g_vhost_mutex);
		rc = -ENOMEM;
		goto err_free;
	}
	/* Listed before the socket exists so new_connection finds it. */
	TAILQ_INSERT_TAIL(&g_vhost_devs, vdev, link);
	pthread_mutex_unlock(&g_vhost_mutex);

	vdev->thread = thread_create(name, &vdev->cpumask);
	if (vdev->thread == NULL) {
		rc = -ENOMEM;
		goto err_unlist;
	}
	vdev->qthreads[0] = vdev->thread;
	vdev->nqthreads = 1;
	if (ops->spread_queues) {
		rc = vhost_dev_create_qthreads(vdev);
		if (rc != 0) {
			goto err_thread;
		}
	}
	if (delay) {
		VHD_NOTICELOG("%s: %s controller created; socket %s waits for start\n", name,
			      ops->type, path);
		return 0;
	}
	rc = vhost_dev_start(vdev);
	if (rc != 0) {
		goto err_thread;
	}
	return 0;

err_thread:
	vhost_dev_exit_threads(vdev);
err_unlist:
	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_REMOVE(&g_vhost_devs, vdev, link);
	pthread_mutex_unlock(&g_vhost_mutex);
err_free:
	free(vdev->name);
	free(vdev->path);
	vdev->name = NULL;
	vdev->path = NULL;
	return rc;
}

int
vhost_dev_start(struct vhost_dev *vdev)
{
	const char *path = vdev->path;
	const char *name = vdev->name;
	uint64_t proto = 0;
	int rc;

	if (vdev->registered) {
		return 0;
	}
	if (vdev->deleting) {
		return -ENODEV;
	}
	rc = vhost_socket_prepare(path);
	if (rc != 0) {
		return rc;
	}
	if (rte_vhost_driver_register(path, 0) != 0) {
		VHD_ERRLOG("%s: rte_vhost_driver_register(%s) failed\n", name, path);
		return -EIO;
	}
	if (rte_vhost_driver_set_features(path, vdev->virtio_features) != 0 ||
	    rte_vhost_driver_callback_register(path, &g_vhost_device_ops) != 0 ||
	    rte_vhost_driver_get_protocol_features(path, &proto) != 0 ||
	    rte_vhost_driver_set_protocol_features(path, proto | vdev->protocol_features) != 0) {
		rc = -EIO;
		goto err_unregister;
	}
	if (rte_vhost_driver_start(path) != 0) {
		VHD_ERRLOG("%s: rte_vhost_driver_start(%s) failed\n", name, path);
		rc = -EIO;
		goto err_unregister;
	}
	if (g_sock_mode >= 0 && chmod(path, (mode_t)g_sock_mode) != 0) {
		VHD_WARNLOG("%s: chmod %o %s: %s\n", name, g_sock_mode, path, strerror(errno));
	}
	if ((g_sock_uid != (uid_t)-1 || g_sock_gid != (gid_t)-1) &&
	    chown(path, g_sock_uid, g_sock_gid) != 0) {
		VHD_WARNLOG("%s: chown %s: %s\n", name, path, strerror(errno));
	}
	vdev->registered = true;
	VHD_NOTICELOG("%s: %s controller listening on %s\n", name, vdev->ops->type, path);
	return 0;

err_unregister:
	rte_vhost_driver_unregister(path);
	return rc;
}

void
vhost_dev_foreach_session(struct vhost_dev *vdev, void (*fn)(struct vhost_session *s, void *ctx),
			  void *ctx)
{
	struct vhost_session *s;

	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_FOREACH(s, &vdev->sessions, link) {
		if (s->started) {
			fn(s, ctx);
		}
	}
	pthread_mutex_unlock(&g_vhost_mutex);
}

void
vhost_dev_signal_config_change(struct vhost_dev *vdev)
{
	struct vhost_session *s;

	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_FOREACH(s, &vdev->sessions, link) {
		/* need_reply=false: never wait on the guest from here. */
		if (rte_vhost_slave_config_change(s->vid, false) != 0) {
			VHD_WARNLOG("%s: config change notification failed\n", s->name);
		}
	}
	pthread_mutex_unlock(&g_vhost_mutex);
}

/* ---- coalescing ------------------------------------------------------------------- */

struct coal_req {
	struct vhost_dev	*vdev;
	uint32_t		delay;
	uint32_t		iops;
};

static void
vhost_coalescing_msg(void *ctx)
{
	struct coal_req *req = ctx;
	struct thread *self = thread_get_current();
	struct vhost_session *s;
	uint16_t i;

	/* Each queue thread gets this message and updates its own groups. */
	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_FOREACH(s, &req->vdev->sessions, link) {
		for (i = 0; i < s->ngrps; i++) {
			if (s->grps[i].thread == self && s->grps[i].started) {
				vhost_qgroup_apply_coalescing(&s->grps[i], req->delay, req->iops);
			}
		}
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	free(req);
}

int
vhost_controller_set_coalescing(const char *name, uint32_t delay_base_us, uint32_t iops_threshold)
{
	struct vhost_dev *vdev;
	struct coal_req *req;
	uint16_t i;

	if ((uint64_t)iops_threshold * VHOST_STATS_INTERVAL_MS / 1000 == 0) {
		VHD_ERRLOG("IOPS rate of %u is too low. Min is %u\n", iops_threshold,
			   1000 / VHOST_STATS_INTERVAL_MS);
		return -EINVAL;
	}
	if (delay_base_us > 1000000) {
		return -EINVAL;
	}
	pthread_mutex_lock(&g_vhost_mutex);
	vdev = vhost_dev_find(name);
	if (vdev == NULL || vdev->deleting) {
		pthread_mutex_unlock(&g_vhost_mutex);
		return -ENODEV;
	}
	vdev->coal_delay_base_us = delay_base_us;
	vdev->coal_iops_threshold = iops_threshold;
	pthread_mutex_unlock(&g_vhost_mutex);

	for (i = 0; i < vdev->nqthreads; i++) {
		req = calloc(1, sizeof(*req));
		if (req == NULL) {
			return -ENOMEM;
		}
		req->vdev = vdev;
		req->delay = delay_base_us;
		req->iops = iops_threshold;
		if (thread_send_msg(vdev->qthreads[i], vhost_coalescing_msg, req) != 0) {
			free(req);
			return -ENOMEM;
		}
	}
	return 0;
}

/* ---- delete: the blocking part runs on a helper pthread, never on a reactor -------- */

struct vhost_delete_ctx {
	struct vhost_dev	*vdev;
	struct thread		*origin;
	void			(*cb)(void *cb_arg, int rc);
	void			*cb_arg;
	int			rc;
};

static void
vhost_delete_finish(void *ctx)
{
	struct vhost_delete_ctx *dctx = ctx;
	struct vhost_dev *vdev = dctx->vdev;
	void (*cb)(void *, int) = dctx->cb;
	void *cb_arg = dctx->cb_arg;

	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_REMOVE(&g_vhost_devs, vdev, link);
	pthread_mutex_unlock(&g_vhost_mutex);
	vhost_dev_exit_threads(vdev);
	VHD_NOTICELOG("%s: controller deleted\n", vdev->name);
	free(vdev->name);
	free(vdev->path);
	vdev->name = NULL;
	vdev->path = NULL;
	vdev->ops->destroy(vdev);
	free(dctx);
	if (cb != NULL) {
		cb(cb_arg, 0);
	}
}

static void
vhost_delete_shutdown_done(void *ctx)
{
	struct vhost_delete_ctx *dctx = ctx;

	if (thread_send_msg(dctx->origin, vhost_delete_finish, dctx) != 0) {
		VHD_ERRLOG("%s: cannot return to the app thread\n", dctx->vdev->name);
	}
}

static void
vhost_delete_shutdown_msg(void *ctx)
{
	struct vhost_delete_ctx *dctx = ctx;

	dctx->vdev->ops->shutdown(dctx->vdev, vhost_delete_shutdown_done, dctx);
}

static void *
vhost_delete_thread(void *arg)
{
	struct vhost_delete_ctx *dctx = arg;
	struct vhost_dev *vdev = dctx->vdev;
	struct vhost_session *s;

	pthread_setname_np(pthread_self(), "vhost-delete");
	/* Stop every session first: rte_vhost's unregister only calls destroy_device
	 * for devices it saw start, and it unmaps guest memory right after. */
	for (;;) {
		struct vhost_session *todo = NULL;

		pthread_mutex_lock(&g_vhost_mutex);
		TAILQ_FOREACH(s, &vdev->sessions, link) {
			if (s->info_started) {
				todo = s;
				todo->refs++;	/* vhost-events may free it meanwhile */
				break;
			}
		}
		pthread_mutex_unlock(&g_vhost_mutex);
		if (todo == NULL) {
			break;
		}
		vhost_session_stop(todo);
		pthread_mutex_lock(&g_vhost_mutex);
		todo->info_started = false;
		pthread_mutex_unlock(&g_vhost_mutex);
		vhost_session_put(todo);
	}
	if (vdev->registered) {
		rte_vhost_driver_unregister(vdev->path);
		vdev->registered = false;
	}
	/* Sessions whose connections unregister closed (no destroy_connection for those). */
	for (;;) {
		pthread_mutex_lock(&g_vhost_mutex);
		s = TAILQ_FIRST(&vdev->sessions);
		pthread_mutex_unlock(&g_vhost_mutex);
		if (s == NULL) {
			break;
		}
		vhost_session_stop(s);
		vhost_session_free(s);
	}
	unlink(vdev->path);
	if (vdev->ops->shutdown != NULL) {
		/* The personality releases its controller-thread state before the thread exits. */
		if (thread_send_msg(vdev->thread, vhost_delete_shutdown_msg, dctx) == 0) {
			return NULL;
		}
		VHD_ERRLOG("%s: cannot reach the controller thread for shutdown\n", vdev->name);
	}
	if (thread_send_msg(dctx->origin, vhost_delete_finish, dctx) != 0) {
		VHD_ERRLOG("%s: cannot return to the app thread\n", vdev->name);
	}
	return NULL;
}

int
vhost_controller_delete(const char *name, bool force, void (*cb)(void *cb_arg, int rc),
			void *cb_arg)
{
	struct vhost_delete_ctx *dctx;
	struct vhost_dev *vdev;
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	dctx = calloc(1, sizeof(*dctx));
	if (dctx == NULL) {
		return -ENOMEM;
	}
	pthread_mutex_lock(&g_vhost_mutex);
	vdev = vhost_dev_find(name);
	if (vdev == NULL) {
		pthread_mutex_unlock(&g_vhost_mutex);
		free(dctx);
		return -ENODEV;
	}
	if (vdev->deleting) {
		pthread_mutex_unlock(&g_vhost_mutex);
		free(dctx);
		return -EALREADY;
	}
	if (!TAILQ_EMPTY(&vdev->sessions) && !force) {
		pthread_mutex_unlock(&g_vhost_mutex);
		VHD_ERRLOG("%s: controller has a live vhost-user connection; "
			   "disconnect the guest first or use force\n", name);
		free(dctx);
		return -EBUSY;
	}
	vdev->deleting = true;
	pthread_mutex_unlock(&g_vhost_mutex);

	dctx->vdev = vdev;
	dctx->origin = thread_get_current();
	dctx->cb = cb;
	dctx->cb_arg = cb_arg;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, vhost_delete_thread, dctx);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		pthread_mutex_lock(&g_vhost_mutex);
		vdev->deleting = false;
		pthread_mutex_unlock(&g_vhost_mutex);
		free(dctx);
		return -rc;
	}
	return 0;
}

/* ---- subsystem -------------------------------------------------------------------- */

static int
vhost_subsystem_init(void)
{
	/* Start EAL in the background; the first controller waits for it. */
	return vhost_eal_start();
}

struct vhost_fini_ctx {
	void	(*done)(void);
};

static void vhost_fini_next(void *arg, int rc);

static void
vhost_fini_next(void *arg, int rc)
{
	struct vhost_fini_ctx *fctx = arg;
	struct vhost_dev *vdev;
	void (*done)(void);

	for (;;) {
		char name[VHOST_NAME_MAX + 1];

		pthread_mutex_lock(&g_vhost_mutex);
		TAILQ_FOREACH(vdev, &g_vhost_devs, link) {
			if (!vdev->deleting) {
				break;
			}
		}
		if (vdev == NULL) {
			pthread_mutex_unlock(&g_vhost_mutex);
			break;
		}
		snprintf(name, sizeof(name), "%s", vdev->name);
		pthread_mutex_unlock(&g_vhost_mutex);
		if (vhost_controller_delete(name, true, vhost_fini_next, fctx) == 0) {
			return;
		}
	}
	if (vhost_controller_count() > 0) {
		return;	/* a delete in flight calls us again */
	}
	done = fctx->done;
	free(fctx);
	done();
}

static void
vhost_subsystem_fini(void (*done)(void))
{
	struct vhost_fini_ctx *fctx = calloc(1, sizeof(*fctx));

	if (fctx == NULL) {
		done();
		return;
	}
	fctx->done = done;
	vhost_fini_next(fctx, 0);
}

static void
vhost_subsystem_write_config(struct json_object *config)
{
	struct vhost_dev *vdev;

	pthread_mutex_lock(&g_vhost_mutex);
	TAILQ_FOREACH(vdev, &g_vhost_devs, link) {
		if (vdev->deleting) {
			continue;
		}
		vdev->ops->write_config_json(vdev, config);
	}
	pthread_mutex_unlock(&g_vhost_mutex);
}

/* Iteration for vhost_rpc.c (app thread, under g_vhost_mutex). */
struct vhost_dev *vhost_dev_first(void);
struct vhost_dev *vhost_dev_next(struct vhost_dev *vdev);

struct vhost_dev *
vhost_dev_first(void)
{
	return TAILQ_FIRST(&g_vhost_devs);
}

struct vhost_dev *
vhost_dev_next(struct vhost_dev *vdev)
{
	return TAILQ_NEXT(vdev, link);
}

static struct subsystem g_vhost_subsystem = {
	.name = "vhost",
	.order = 30,
	.init = vhost_subsystem_init,
	.fini = vhost_subsystem_fini,
	.write_config = vhost_subsystem_write_config,
};
SUBSYSTEM_REGISTER(g_vhost_subsystem)
