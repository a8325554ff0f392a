/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the vhost-user handling that is ours, in lib/vhost/vhost.c:
 * the pre / post message hooks (GET_CONFIG, SET_CONFIG, GET_VRING_BASE,
 * SET_MEM_TABLE, RESET_OWNER / RESET_DEVICE, SET_VRING_KICK, SET_VRING_ENABLE,
 * SET_VRING_CALL) and the rte_vhost device callbacks (new / destroy connection,
 * new / destroy device), in any order a hostile front-end can produce, with the
 * session start / stop hand-off to the controller thread and the queue start
 * (ring set-up, inflight resubmission) that they trigger.
 *
 * vhost.c is compiled into this file so its static hooks are called directly;
 * rte_vhost is replaced by a fake device table (below) that the input drives:
 * negotiated features, a memory table over a harness-owned "guest" buffer,
 * per-queue rings (any size, placed anywhere the whole ring fits in the
 * buffer), bases, kick fds, inflight regions with resubmit lists. The
 * controller is a registered vhost_dev with a fake personality whose queue
 * poll pops requests from the rings and completes them at once or holds them
 * (a slow backend) until the input releases them or the session stops.
 * As in the daemon, the hooks run on a "vhost-events" pthread while the
 * controller thread is polled (here by the fuzzer's own thread).
 *
 * Input: a sequence of 16-byte operations (see fuzz_op below).
 * Checked besides ASan / UBSan / LSan:
 *   GET_CONFIG replies with size 0 or the request's size, the personality sees
 *   len <= 256; SET_CONFIG reaches the personality only with offset + size <=
 *   256; after GET_VRING_BASE, RESET_* and destroy_device the session and all its
 *   queues are stopped; personality start / stop calls are balanced (session
 *   and per queue), a queue is never stopped with requests in flight, and none
 *   is started on a ring vhost_vq_init refused (the in-flight check only with
 *   VHD_FUZZ_LENIENT unset, the default: crashes-found/README); after destroy_connection of
 *   every vid nothing is left (sessions, queues, requests, pollers).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../../lib/vhost/vhost.c"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_VIDS	4
#define FUZZ_QUEUES	8
#define GUEST_SIZE	(256u * 1024)
#define HELD_MAX	4

#define FUZZ_CHECK(c)	do { if (!(c)) { __builtin_trap(); } } while (0)

/* ---- fake rte_vhost ------------------------------------------------------------------ */

struct fake_q {
	bool		configured;
	uint16_t	size;
	uint32_t	desc_off, avail_off, used_off;
	uint16_t	last_avail, last_used;
	bool		kick;
	bool		inflight;
	bool		inflight_short;	/* the region holds fewer entries than the ring */
	uint16_t	resubmit_num;
	struct rte_vhost_resubmit_desc resubmit[8];
};

struct fake_dev {
	bool		ifname_ok;
	bool		hooks_fail;
	bool		features_ok;
	bool		mem_ok;
	uint64_t	features;
	uint32_t	nregions;
	uint64_t	region_size[2];
	uint16_t	vring_num;
	struct fake_q	q[FUZZ_QUEUES];
};

static struct fake_dev g_fake[FUZZ_VIDS];
static uint8_t *g_guest;
static int g_kickfd = -1;
/* Each queue's inflight region, room for the largest ring in either layout: vhost.c
 * writes entries itself (clearing them), within desc_num. */
#define FUZZ_INFLIGHT_ENTRIES	32768
static void *g_inflight[FUZZ_QUEUES];
static struct rte_vhost_resubmit_info g_resubmit_info;

RTE_DEFINE_PER_LCORE(int, _rte_errno);

static struct fake_q *
fake_q(int vid, uint16_t qid)
{
	if (vid < 0 || vid >= FUZZ_VIDS || qid >= FUZZ_QUEUES) {
		return NULL;
	}
	return &g_fake[vid].q[qid];
}

int
rte_vhost_get_ifname(int vid, char *buf, size_t len)
{
	if (vid < 0 || vid >= FUZZ_VIDS || !g_fake[vid].ifname_ok) {
		return -1;
	}
	snprintf(buf, len, "%s", "fuzz.sock");
	return 0;
}

int
rte_vhost_extern_callback_register(int vid, struct rte_vhost_user_extern_ops const * const ops,
				   void *ctx)
{
	return g_fake[vid].hooks_fail ? -1 : 0;
}

int
rte_vhost_get_vhost_vring(int vid, uint16_t vring_idx, struct rte_vhost_vring *vring)
{
	struct fake_q *q = fake_q(vid, vring_idx);

	memset(vring, 0, sizeof(*vring));
	vring->callfd = -1;
	vring->kickfd = -1;
	if (q == NULL || !q->configured) {
		return -1;
	}
	vring->desc = (struct vring_desc *)(g_guest + q->desc_off);
	vring->avail = (struct vring_avail *)(g_guest + q->avail_off);
	vring->used = (struct vring_used *)(g_guest + q->used_off);
	vring->size = q->size;
	vring->kickfd = q->kick ? g_kickfd : -1;
	return 0;
}

int
rte_vhost_get_vring_base(int vid, uint16_t queue_id, uint16_t *last_avail_idx,
			 uint16_t *last_used_idx)
{
	struct fake_q *q = fake_q(vid, queue_id);

	if (q == NULL) {
		return -1;
	}
	*last_avail_idx = q->last_avail;
	*last_used_idx = q->last_used;
	return 0;
}

int
rte_vhost_get_vring_base_from_inflight(int vid, uint16_t queue_id, uint16_t *last_avail_idx,
				       uint16_t *last_used_idx)
{
	return rte_vhost_get_vring_base(vid, queue_id, last_avail_idx, last_used_idx);
}

int
rte_vhost_set_vring_base(int vid, uint16_t queue_id, uint16_t last_avail_idx,
			 uint16_t last_used_idx)
{
	struct fake_q *q = fake_q(vid, queue_id);

	FUZZ_CHECK(vid >= 0 && vid < FUZZ_VIDS && queue_id < VHOST_MAX_VQS);
	if (q != NULL) {
		q->last_avail = last_avail_idx;
		q->last_used = last_used_idx;
	}
	return 0;
}

int
rte_vhost_get_negotiated_features(int vid, uint64_t *features)
{
	if (!g_fake[vid].features_ok) {
		return -1;
	}
	*features = g_fake[vid].features;
	return 0;
}

int
rte_vhost_get_mem_table(int vid, struct rte_vhost_memory **mem)
{
	struct fake_dev *d = &g_fake[vid];
	struct rte_vhost_memory *m;
	uint32_t i, n = d->nregions;

	if (!d->mem_ok) {
		return -1;
	}
	/* n may exceed what vhost.c accepts (VHOST_MEM_MAX_REGIONS): only 2 are real. */
	m = calloc(1, sizeof(*m) + n * sizeof(m->regions[0]));
	if (m == NULL) {
		return -1;
	}
	m->nregions = n;
	for (i = 0; i < n; i++) {
		m->regions[i].guest_phys_addr = (uint64_t)i << 20;
		m->regions[i].size = d->region_size[i & 1];
		m->regions[i].host_user_addr = (uint64_t)(uintptr_t)g_guest +
					       (i & 1) * (GUEST_SIZE / 2);
	}
	*mem = m;
	return 0;
}

int
rte_vhost_get_vhost_ring_inflight(int vid, uint16_t vring_idx,
				  struct rte_vhost_ring_inflight *vring)
{
	struct fake_q *q = fake_q(vid, vring_idx);

	if (q == NULL || !q->inflight) {
		return -1;
	}
	if (g_inflight[vring_idx] == NULL) {
		g_inflight[vring_idx] = calloc(1, sizeof(struct rte_vhost_inflight_info_packed) +
						       FUZZ_INFLIGHT_ENTRIES *
							       sizeof(struct rte_vhost_inflight_desc_packed));
		FUZZ_CHECK(g_inflight[vring_idx] != NULL);
	}
	g_resubmit_info.resubmit_list = q->resubmit;
	g_resubmit_info.resubmit_num = q->resubmit_num;
	vring->inflight_split = g_inflight[vring_idx];
	/* desc_num sits at the same offset in both layouts. */
	vring->inflight_split->desc_num = q->inflight_short ? q->size / 2 :
				VHD_MIN(q->size, (uint16_t)FUZZ_INFLIGHT_ENTRIES);
	vring->resubmit_inflight = &g_resubmit_info;
	return 0;
}

uint16_t
rte_vhost_get_vring_num(int vid)
{
	return g_fake[vid].vring_num;
}

int
rte_vhost_set_inflight_desc_split(int vid, uint16_t vring_idx, uint16_t idx)
{
	return 0;
}

int
rte_vhost_set_last_inflight_io_split(int vid, uint16_t vring_idx, uint16_t idx)
{
	return 0;
}

int
rte_vhost_clr_inflight_desc_split(int vid, uint16_t vring_idx, uint16_t last_used_idx,
				  uint16_t idx)
{
	return 0;
}

int
rte_vhost_set_inflight_desc_packed(int vid, uint16_t vring_idx, uint16_t head, uint16_t last,
				   uint16_t *inflight_entry)
{
	*inflight_entry = 0;
	return 0;
}

int
rte_vhost_set_last_inflight_io_packed(int vid, uint16_t vring_idx, uint16_t head)
{
	return 0;
}

int
rte_vhost_clr_inflight_desc_packed(int vid, uint16_t vring_idx, uint16_t head)
{
	return 0;
}

/* Never reached from the hooks: controller registration and EAL start-up. */
int
rte_vhost_slave_config_change(int vid, bool need_reply)
{
	return 0;
}

int
rte_eal_init(int argc, char **argv)
{
	return -1;
}

int
rte_log_cur_msg_loglevel(void)
{
	return 0;
}

int
rte_openlog_stream(FILE *f)
{
	return 0;
}

const char *
rte_strerror(int errnum)
{
	return strerror(errnum);
}

int
rte_vhost_driver_callback_register(const char *path, struct rte_vhost_device_ops const * const ops)
{
	return -1;
}

int
rte_vhost_driver_get_protocol_features(const char *path, uint64_t *protocol_features)
{
	return -1;
}

int
rte_vhost_driver_register(const char *path, uint64_t flags)
{
	return -1;
}

int
rte_vhost_driver_set_features(const char *path, uint64_t features)
{
	return -1;
}

int
rte_vhost_driver_set_protocol_features(const char *path, uint64_t protocol_features)
{
	return -1;
}

int
rte_vhost_driver_start(const char *path)
{
	return -1;
}

int
rte_vhost_driver_unregister(const char *path)
{
	return -1;
}

/* lib/rpc is not linked: the vhost subsystem is never initialised here. */
void
subsystem_register(struct subsystem *subsystem)
{
}

const char *
subsystem_get_option(const char *key)
{
	return NULL;
}

/* ---- fake personality ---------------------------------------------------------------- */

struct fake_vq {
	uint32_t		held;
	struct vhost_vq_elem	elem[HELD_MAX];
	struct iovec		iov[HELD_MAX][16];
};

struct fake_session {
	struct poller	*completer;
};

static bool g_trace;

#define fuzz_trace(...)	do { if (g_trace) { fprintf(stderr, __VA_ARGS__); } } while (0)

static int g_sessions_started;
static int g_vqs_started;
static uint8_t g_fail_session_start;
static uint8_t g_fail_vq_start;
static uint8_t g_hold;
static bool g_release;
static bool g_strict;
static uint64_t g_restart_inflight;

static void
fake_complete(struct vhost_session_vq *svq)
{
	struct fake_vq *f = svq->priv;
	uint32_t i;

	for (i = 0; i < f->held; i++) {
		vhost_vq_push(&svq->vq, &f->elem[i], f->elem[i].in_len);
	}
	f->held = 0;
}

static int
fake_completer(void *ctx)
{
	struct vhost_session *s = ctx;
	uint16_t i;
	int n = 0;

	/* Held requests complete once released, or when the session is stopping (the
	 * session poller is gone then: a stop waits for them). */
	if (!g_release && s->grps[0].poller != NULL) {
		return POLLER_IDLE;
	}
	for (i = 0; i < s->max_queues; i++) {
		if (s->vqs[i].started && s->vqs[i].priv != NULL) {
			n += (int)((struct fake_vq *)s->vqs[i].priv)->held;
			fake_complete(&s->vqs[i]);
		}
	}
	return n > 0 ? POLLER_BUSY : POLLER_IDLE;
}

static int
fake_session_start(struct vhost_session *s)
{
	struct fake_session *fs;

	FUZZ_CHECK(!s->started && s->priv == NULL);
	if (g_fail_session_start) {
		return -ENOMEM;
	}
	fs = calloc(1, sizeof(*fs));
	FUZZ_CHECK(fs != NULL);
	fs->completer = poller_register(fake_completer, s, 0, "fuzz_completer");
	FUZZ_CHECK(fs->completer != NULL);
	s->priv = fs;
	g_sessions_started++;
	return 0;
}

static void
fake_session_stop(struct vhost_session *s)
{
	struct fake_session *fs = s->priv;
	uint16_t i;

	FUZZ_CHECK(fs != NULL);
	for (i = 0; i < VHOST_MAX_VQS; i++) {
		FUZZ_CHECK(!s->vqs[i].started);
	}
	poller_unregister(&fs->completer);
	free(fs);
	s->priv = NULL;
	g_sessions_started--;
}

static int
fake_vq_start(struct vhost_session *s, struct vhost_session_vq *svq)
{
	FUZZ_CHECK(s->started && !svq->started && svq->priv == NULL);
	FUZZ_CHECK(svq->vq.size > 0 && svq->vq.size <= VHOST_VQ_MAX_SIZE);
	if (g_fail_vq_start) {
		return -ENOMEM;
	}
	svq->priv = calloc(1, sizeof(struct fake_vq));
	FUZZ_CHECK(svq->priv != NULL);
	g_vqs_started++;
	fuzz_trace("vq_start %s q%u size %u\n", s->name, svq->qid, svq->vq.size);
	return 0;
}

static void
fake_vq_stop(struct vhost_session *s, struct vhost_session_vq *svq)
{
	struct fake_vq *f = svq->priv;

	FUZZ_CHECK(f != NULL && svq->started);
	/*
	 * The personality frees its requests here: none may still be in flight.
	 * Finding kick_restart_inflight (test/fuzz/vhost/crashes-found/README, fixed
	 * in 8781fd0): a second SET_VRING_KICK for a started queue restarted it
	 * without waiting for its requests; it now only swaps the kick fd.
	 * VHD_FUZZ_LENIENT tolerates a stop with requests in flight again.
	 */
	if (f->held != 0 || svq->vq.inflight_cnt != 0) {
		/* Only on that restart path: a session stop unregisters the poller first. */
		FUZZ_CHECK(!g_strict && s->grps[0].poller != NULL);
		g_restart_inflight++;
	}
	fuzz_trace("vq_stop %s q%u held %u inflight %u\n", s->name, svq->qid, f->held,
		   svq->vq.inflight_cnt);
	free(f);
	svq->priv = NULL;
	g_vqs_started--;
}

static int
fake_vq_poll(struct vhost_session *s, struct vhost_session_vq *svq, uint32_t budget)
{
	struct fake_vq *f = svq->priv;
	struct vhost_vq_elem elem;
	struct iovec iov[16];
	int n = 0, rc;

	while (budget-- > 0 && !svq->vq.broken) {
		if (f->held < g_hold && f->held < HELD_MAX) {
			struct vhost_vq_elem *e = &f->elem[f->held];

			e->iov = f->iov[f->held];
			/* -EIO: a malformed request, still owned by us until pushed. */
			rc = vhost_vq_pop(&svq->vq, e, 16);
			if (rc <= 0 && rc != -EIO) {
				break;
			}
			f->held++;
			fuzz_trace("held %u (rc %d)\n", f->held, rc);
		} else {
			elem.iov = iov;
			rc = vhost_vq_pop(&svq->vq, &elem, 16);
			if (rc <= 0 && rc != -EIO) {
				break;
			}
			vhost_vq_push(&svq->vq, &elem, 0);
		}
		n++;
	}
	return n;
}

static int
fake_vq_resubmit(struct vhost_session *s, struct vhost_session_vq *svq, uint16_t head)
{
	struct vhost_vq_elem elem;
	struct iovec iov[16];
	int rc;

	FUZZ_CHECK(svq->started || svq->priv != NULL);
	elem.iov = iov;
	rc = vhost_vq_pop_head(&svq->vq, head, &elem, 16);
	if (rc > 0 || rc == -EIO) {
		vhost_vq_push(&svq->vq, &elem, 0);
	}
	return 0;
}

static uint8_t g_cfg_fill;
static uint8_t g_cfg_fail;

static int
fake_get_config(struct vhost_dev *vdev, uint8_t *config, uint32_t len)
{
	FUZZ_CHECK(len <= VHU_CONFIG_MAX);
	memset(config, g_cfg_fill | 1, len);
	return g_cfg_fail ? -EINVAL : 0;
}

static int
fake_set_config(struct vhost_dev *vdev, const uint8_t *data, uint32_t offset, uint32_t size,
		uint32_t flags)
{
	uint8_t copy[VHU_CONFIG_MAX];

	FUZZ_CHECK(size <= VHU_CONFIG_MAX && offset <= VHU_CONFIG_MAX - size);
	memcpy(copy, data, size);	/* ASan: the whole range lies in the message */
	return g_cfg_fail ? -EINVAL : 0;
}

static void
fake_json(struct vhost_dev *vdev, struct json_object *o)
{
}

static void
fake_destroy(struct vhost_dev *vdev)
{
}

static const struct vhost_dev_ops g_fake_ops = {
	.type = "fuzz",
	.session_start = fake_session_start,
	.session_stop = fake_session_stop,
	.vq_start = fake_vq_start,
	.vq_stop = fake_vq_stop,
	.vq_poll = fake_vq_poll,
	.vq_resubmit = fake_vq_resubmit,
	.get_config = fake_get_config,
	.set_config = fake_set_config,
	.dump_info_json = fake_json,
	.write_config_json = fake_json,
	.destroy = fake_destroy,
};

/* Same personality without the optional config ops (filled in at initialisation). */
static struct vhost_dev_ops g_fake_ops_nocfg;

/* ---- the vhost-events thread ---------------------------------------------------------- */

enum ev_kind {
	EV_NEW_CONN,
	EV_DESTROY_CONN,
	EV_NEW_DEV,
	EV_DESTROY_DEV,
	EV_PRE_MSG,
	EV_POST_MSG,
	EV_COUNT
};

static struct vhost_dev g_vdev;
static struct thread *g_ctrl;
static pthread_t g_events;
static sem_t g_ev_go;
static atomic_int g_ev_done;
static enum ev_kind g_ev_kind;
static int g_ev_vid;
static struct vhu_msg *g_ev_msg;
static int g_ev_rc;

static void *
events_main(void *arg)
{
	for (;;) {
		sem_wait(&g_ev_go);
		switch (g_ev_kind) {
		case EV_NEW_CONN:
			g_ev_rc = vhost_new_connection(g_ev_vid);
			break;
		case EV_DESTROY_CONN:
			vhost_destroy_connection(g_ev_vid);
			break;
		case EV_NEW_DEV:
			g_ev_rc = vhost_new_device(g_ev_vid);
			break;
		case EV_DESTROY_DEV:
			vhost_destroy_device(g_ev_vid);
			break;
		case EV_PRE_MSG:
			g_ev_rc = vhost_pre_msg(g_ev_vid, g_ev_msg);
			break;
		case EV_POST_MSG:
			g_ev_rc = vhost_post_msg(g_ev_vid, g_ev_msg);
			break;
		default:
			break;
		}
		atomic_store(&g_ev_done, 1);
	}
	return NULL;
}

/* Run one rte_vhost callback on vhost-events while this thread is the controller's reactor. */
static int
run_event(enum ev_kind kind, int vid, struct vhu_msg *msg)
{
	uint64_t start = util_now_us();

	fuzz_trace("event %d vid %d request %d\n", (int)kind, vid, msg ? (int)msg->request : -1);
	g_ev_kind = kind;
	g_ev_vid = vid;
	g_ev_msg = msg;
	g_ev_rc = 0;
	atomic_store(&g_ev_done, 0);
	sem_post(&g_ev_go);
	while (!atomic_load(&g_ev_done)) {
		if (thread_poll(g_ctrl, 0) != POLLER_BUSY) {
			sched_yield();
		}
		/* A hand-off that never completes is a hang (vhost-events would wait forever). */
		FUZZ_CHECK(util_now_us() - start < 15u * 1000 * 1000);
	}
	return g_ev_rc;
}

static void
poll_ctrl(int n)
{
	while (n-- > 0) {
		thread_poll(g_ctrl, 0);
	}
}

static struct vhost_session *
session_of(int vid)
{
	return g_vid_sessions[vid];
}

static void
check_stopped(int vid)
{
	struct vhost_session *s = session_of(vid);
	uint16_t i;

	if (s == NULL) {
		return;
	}
	FUZZ_CHECK(!s->started && !s->info_started && s->priv == NULL);
	for (i = 0; i < VHOST_MAX_VQS; i++) {
		FUZZ_CHECK(!s->vqs[i].started && s->vqs[i].priv == NULL && !s->vq_live[i]);
	}
}

static void
check_counts(void)
{
	struct vhost_session *s;
	int sessions = 0, vqs = 0;
	uint16_t i;

	TAILQ_FOREACH(s, &g_vdev.sessions, link) {
		sessions += s->started;
		for (i = 0; i < VHOST_MAX_VQS; i++) {
			vqs += s->vqs[i].started;
			FUZZ_CHECK(i < s->max_queues || !s->vqs[i].started);
		}
	}
	FUZZ_CHECK(sessions == g_sessions_started && vqs == g_vqs_started);
}

/* ---- input ----------------------------------------------------------------------------- */

/*
 * Each operation is 16 bytes: op, vid, a, b, then 12 argument bytes (x[]).
 *   op % 12:
 *   0 new_connection   1 destroy_connection   2 new_device   3 destroy_device
 *   4 pre_msg          5 post_msg             (request from a, see g_requests;
 *                                              payload from x[], size below)
 *   6 configure queue b % 8: size, ring offsets, bases, kick, inflight, resubmit
 *   7 device state: features, mem table, vring_num, ifname / hook failure
 *   8 personality knobs: session / queue start failure, config failure, up to
 *     b % 5 requests per queue held (completed while a & 8 or at session stop)
 *   9 poll the controller thread a times
 *   10 write x[2..11] into the guest at 2 * x[0..1] (the guest edits its rings)
 *   11 swap the personality between with and without get/set_config
 */
static const uint32_t g_requests[] = {
	VHU_SET_FEATURES, VHU_RESET_OWNER, VHU_SET_MEM_TABLE, VHU_GET_VRING_BASE,
	VHU_SET_VRING_KICK, VHU_SET_VRING_CALL, VHU_SET_VRING_ENABLE, VHU_GET_CONFIG,
	VHU_SET_CONFIG, VHU_RESET_DEVICE, VHU_GET_CONFIG, VHU_SET_CONFIG,
	VHU_GET_INFLIGHT_FD, VHU_SET_INFLIGHT_FD,
};

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t
get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static const uint16_t g_sizes[] = {1, 2, 4, 8, 16, 64, 128, 256, 1024, 32768, 3, 0};

static void
configure_queue(struct fake_q *q, const uint8_t *x, uint8_t a)
{
	uint32_t desc_len, avail_len, used_len, room;

	q->configured = (a & 1) != 0;
	q->kick = (a & 2) != 0;
	q->inflight = (a & 4) != 0;
	q->size = (a & 8) ? get16(x) : g_sizes[x[0] % VHD_COUNTOF(g_sizes)];
	q->last_avail = get16(x + 2);
	q->last_used = get16(x + 4);
	q->inflight_short = (x[11] & 1) != 0;
	q->resubmit_num = x[6] % 10;	/* up to 9: more than the list holds (8) */
	for (uint16_t i = 0; i < 8; i++) {
		q->resubmit[i].index = (uint16_t)(x[7] + i * x[8]);
		q->resubmit[i].counter = i;
	}
	/* Rings sized for the larger of split and packed; placed where they fit. */
	desc_len = 16u * q->size;
	avail_len = 6u + 2u * q->size;
	used_len = 6u + 8u * q->size;
	if (desc_len + avail_len + used_len + 16 > GUEST_SIZE) {
		q->configured = false;	/* rte_vhost could not translate such a ring */
		return;
	}
	room = GUEST_SIZE - desc_len - avail_len - used_len;
	q->desc_off = ((uint32_t)x[9] * 4099u) % room & ~15u;
	q->avail_off = q->desc_off + desc_len;
	q->used_off = (q->avail_off + avail_len + 3) & ~3u;
	if (q->used_off + used_len > GUEST_SIZE) {
		q->used_off = q->avail_off + avail_len;
		q->used_off &= ~3u;
	}
	if (x[10] & 1) {
		/* Overlapping rings: what a hostile guest may well configure. */
		q->used_off = q->desc_off;
	}
}

static void
device_state(struct fake_dev *d, const uint8_t *x, uint8_t a, uint8_t b)
{
	d->ifname_ok = (a & 1) == 0;
	d->hooks_fail = (a & 2) != 0;
	d->features_ok = (a & 4) == 0;
	d->mem_ok = (a & 8) == 0;
	d->features = ((uint64_t)get32(x) << 32 | get32(x + 4)) &
		      ((1ull << VHOST_F_RING_PACKED) | (1ull << VHOST_F_EVENT_IDX) |
		       (1ull << VHOST_F_INDIRECT_DESC) | (1ull << VHOST_F_VERSION_1) |
		       (x[11] & 1 ? ~0ull : 0));
	d->nregions = b % 11;
	d->region_size[0] = (get16(x + 8) + 1ull) * 4 % (GUEST_SIZE / 2 + 1);
	d->region_size[1] = (x[10] + 1ull) * 1024 % (GUEST_SIZE / 2 + 1);
	d->vring_num = (uint16_t)(a >> 4) * 9;	/* up to 135: more than VHOST_MAX_VQS */
}

static void
send_msg(enum ev_kind kind, int vid, uint8_t a, uint8_t b, const uint8_t *x)
{
	/* What rte_vhost hands the hooks: the message and the fds it carried. */
	struct vhu_msg_ctx *ctx = calloc(1, sizeof(*ctx));
	struct vhu_msg *msg = ctx ? &ctx->msg : NULL;
	uint32_t req_size, cfg_size, orig_size;
	int rc, fd = -1;

	FUZZ_CHECK(msg != NULL);
	msg->request = (a & 0x80) ? a & 0x3f : g_requests[a % VHD_COUNTOF(g_requests)];
	msg->flags = 1;
	/* Payload: a u64 / vring state, or a config header (offset, size, flags). */
	msg->payload.u64 = (uint64_t)get32(x) | (uint64_t)get32(x + 4) << 32;
	cfg_size = (b & 0x40) ? get32(x + 4) : x[4] % (VHU_CONFIG_MAX + 16);
	if (msg->request == VHU_GET_CONFIG || msg->request == VHU_SET_CONFIG) {
		msg->payload.cfg.offset = (b & 0x20) ? get32(x) : x[0] % (VHU_CONFIG_MAX + 16);
		msg->payload.cfg.size = cfg_size;
		msg->payload.cfg.flags = get32(x + 8);
		memset(msg->payload.cfg.region, x[9], sizeof(msg->payload.cfg.region));
	}
	req_size = (b & 0x80) ? get16(x + 10) : VHU_CFG_HDR + msg->payload.cfg.size;
	if ((b & 0xc0) == 0 && msg->request != VHU_GET_CONFIG && msg->request != VHU_SET_CONFIG) {
		req_size = sizeof(uint64_t);
	}
	if (msg->request == VHU_SET_INFLIGHT_FD || msg->request == VHU_GET_INFLIGHT_FD) {
		/* mmap_size from x[0..3] (scaled), mmap_offset 0, num_queues, queue_size */
		msg->payload.inflight.mmap_size = (uint64_t)get32(x) << (x[9] & 15);
		msg->payload.inflight.mmap_offset = 0;
		msg->payload.inflight.num_queues = x[8] % 10;
		msg->payload.inflight.queue_size = (x[9] & 0x10) ? get16(x + 4) :
							   g_sizes[x[4] % VHD_COUNTOF(g_sizes)];
		if ((b & 0xc0) == 0) {
			req_size = sizeof(msg->payload.inflight);
		}
		/* Sometimes a page-aligned offset (x[10] bit 2) and the region's file
		 * (bit 1): a memfd of x[11] pages, maybe shorter than the mapping. */
		if (x[10] & 4) {
			msg->payload.inflight.mmap_offset = (uint64_t)(x[10] >> 4) << 12;
		}
	}
	if ((x[10] & 2) && (msg->request == VHU_SET_INFLIGHT_FD ||
			    msg->request == VHU_SET_VRING_KICK)) {
		fd = memfd_create("fuzz-inflight", MFD_CLOEXEC);
		FUZZ_CHECK(fd >= 0 && ftruncate(fd, (off_t)x[11] << 12) == 0);
		ctx->fds[0] = fd;
		ctx->fd_num = 1;
	}
	msg->size = req_size;
	orig_size = msg->size;
	rc = run_event(kind, vid, msg);
	if (fd >= 0) {
		/* Refused: the hook closed it (rte_vhost would not). Else rte_vhost's. */
		if (rc == RTE_VHOST_MSG_RESULT_ERR && kind == EV_PRE_MSG) {
			FUZZ_CHECK(ctx->fd_num == 0 && fcntl(fd, F_GETFD) == -1);
		} else {
			FUZZ_CHECK(ctx->fd_num == 1 && ctx->fds[0] == fd);
			close(fd);
		}
	}
	if (kind == EV_PRE_MSG && session_of(vid) != NULL) {
		switch (msg->request) {
		case VHU_GET_CONFIG:
			FUZZ_CHECK(rc == RTE_VHOST_MSG_RESULT_REPLY);
			FUZZ_CHECK(msg->size == 0 || msg->size == orig_size);
			if (msg->size != 0) {
				FUZZ_CHECK(msg->size == VHU_CFG_HDR + msg->payload.cfg.size &&
					   msg->payload.cfg.size <= VHU_CONFIG_MAX);
			}
			break;
		case VHU_GET_VRING_BASE:
		case VHU_RESET_OWNER:
		case VHU_RESET_DEVICE:
			FUZZ_CHECK(rc == RTE_VHOST_MSG_RESULT_NOT_HANDLED);
			check_stopped(vid);
			break;
		default:
			break;
		}
	} else if (session_of(vid) == NULL) {
		FUZZ_CHECK(rc == RTE_VHOST_MSG_RESULT_NOT_HANDLED);
	}
	free(ctx);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (thread_lib_init() != 0) {
		abort();
	}
	g_ctrl = thread_create("fuzz_ctrl", NULL);
	g_guest = malloc(GUEST_SIZE);
	g_kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	/* Strict since 8781fd0 fixed kick_restart_inflight; VHD_FUZZ_LENIENT tolerates it. */
	g_strict = getenv("VHD_FUZZ_LENIENT") == NULL;
	g_trace = getenv("VHD_FUZZ_LOG") != NULL;
	if (g_ctrl == NULL || g_guest == NULL || g_kickfd < 0) {
		abort();
	}
	g_vdev.name = "fuzz";
	g_vdev.path = "fuzz.sock";
	g_vdev.thread = g_ctrl;
	g_vdev.qthreads[0] = g_ctrl;
	g_vdev.nqthreads = 1;
	g_vdev.ops = &g_fake_ops;
	g_fake_ops_nocfg = g_fake_ops;
	g_fake_ops_nocfg.get_config = NULL;
	g_fake_ops_nocfg.set_config = NULL;
	g_fake_ops_nocfg.vq_resubmit = NULL;
	TAILQ_INIT(&g_vdev.sessions);
	TAILQ_INSERT_TAIL(&g_vhost_devs, &g_vdev, link);
	sem_init(&g_ev_go, 0, 0);
	if (pthread_create(&g_events, NULL, events_main, NULL) != 0) {
		abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off;
	int vid;

	memset(g_fake, 0, sizeof(g_fake));
	for (vid = 0; vid < FUZZ_VIDS; vid++) {
		g_fake[vid].ifname_ok = true;
		g_fake[vid].features_ok = true;
		g_fake[vid].mem_ok = true;
		g_fake[vid].nregions = 1;
		g_fake[vid].region_size[0] = GUEST_SIZE / 2;
		g_fake[vid].region_size[1] = GUEST_SIZE / 2;
		g_fake[vid].vring_num = 2;
	}
	g_fail_session_start = 0;
	g_fail_vq_start = 0;
	g_hold = 0;
	g_release = true;
	g_cfg_fill = 0;
	g_cfg_fail = 0;
	g_vdev.ops = &g_fake_ops;
	g_vdev.deleting = false;
	/* The guest: zeroes, then the input (rings full of input-derived descriptors). */
	memset(g_guest, 0, GUEST_SIZE);
	for (off = 0; off < GUEST_SIZE && size > 0; off += 4096) {
		memcpy(g_guest + off, data, size < 4096 ? size : 4096);
	}

	for (off = 0; off + 16 <= size; off += 16) {
		const uint8_t *p = data + off;
		const uint8_t *x = p + 4;
		uint8_t op = p[0] % 12, a = p[2], b = p[3];

		vid = p[1] % FUZZ_VIDS;
		switch (op) {
		case 0:
			if (session_of(vid) == NULL) {
				if (run_event(EV_NEW_CONN, vid, NULL) != 0) {
					FUZZ_CHECK(session_of(vid) == NULL);
				} else {
					FUZZ_CHECK(session_of(vid) != NULL);
				}
			}
			break;
		case 1:
			run_event(EV_DESTROY_CONN, vid, NULL);
			FUZZ_CHECK(session_of(vid) == NULL);
			break;
		case 2:
			run_event(EV_NEW_DEV, vid, NULL);
			break;
		case 3:
			run_event(EV_DESTROY_DEV, vid, NULL);
			check_stopped(vid);
			break;
		case 4:
			send_msg(EV_PRE_MSG, vid, a, b, x);
			break;
		case 5:
			send_msg(EV_POST_MSG, vid, a, b, x);
			break;
		case 6:
			configure_queue(&g_fake[vid].q[b % FUZZ_QUEUES], x, a);
			break;
		case 7:
			device_state(&g_fake[vid], x, a, b);
			break;
		case 8:
			g_fail_session_start = (a & 1) != 0;
			g_fail_vq_start = (a & 2) != 0;
			g_cfg_fail = (a & 4) != 0;
			g_hold = b % (HELD_MAX + 1);
			g_release = (a & 8) != 0;
			g_cfg_fill = x[0];
			break;
		case 9:
			poll_ctrl(a % 64);
			break;
		case 10:
			memcpy(g_guest + (get16(x) * 2u) % (GUEST_SIZE - 10), x + 2, 10);
			break;
		case 11:
			g_vdev.ops = (a & 1) ? &g_fake_ops_nocfg : &g_fake_ops;
			break;
		default:
			break;
		}
		check_counts();
	}

	/* The front-end goes away on every vid: nothing may be left behind. */
	for (vid = 0; vid < FUZZ_VIDS; vid++) {
		run_event(EV_DESTROY_CONN, vid, NULL);
		FUZZ_CHECK(session_of(vid) == NULL);
	}
	poll_ctrl(4);
	FUZZ_CHECK(TAILQ_EMPTY(&g_vdev.sessions));
	FUZZ_CHECK(g_sessions_started == 0 && g_vqs_started == 0);
	return 0;
}
