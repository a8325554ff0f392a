/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/vhost internals: controllers (struct vhost_dev), sessions (one per
 * vhost-user connection) and the personality table (struct vhost_dev_ops).
 *
 * Threads:
 *   - app thread: RPCs, controller create/delete, bdev events.
 *   - controller thread (vdev->thread, one per controller, on its cpumask):
 *     everything a session does with guest memory: pollers, kick interrupts,
 *     personality I/O, and the start/stop steps below.
 *   - queue threads: a personality with spread_queues (vhost-blk) whose
 *     cpumask has several cores gets one more thread on each other core of the
 *     mask (vdev->qthreads[1..], "<ctrlr>.q<cpu>"); queue i of a session
 *     belongs to qthreads[i % nqthreads] (qthreads[0] is the controller
 *     thread). A queue's poller, kick interrupt, I/O and start/stop run on its
 *     thread only, grouped per session and thread in a struct vhost_qgroup.
 *   - rte_vhost's "vhost-events" thread: vhost-user messages and callbacks.
 *     It only gathers what rte_vhost knows, posts a message to the controller
 *     thread and, where the protocol requires it, waits on the session's
 *     semaphore. It never touches a running virtqueue.
 *   g_vhost_mutex guards the controller list and each controller's session
 *   list; it is never held while waiting for another thread.
 */
#ifndef VHOST_INTERNAL_H
#define VHOST_INTERNAL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "virtqueue.h"

#include "vhostd/cpuset.h"
#include "vhostd/thread.h"
#include "vhostd/vhost.h"

struct json_object;
struct vhost_dev;
struct vhost_qgroup;
struct vhost_session;

/* rte_vhost's GET_QUEUE_NUM answer in 22.11 (VHOST_MAX_QUEUE_PAIRS). */
#define VHOST_MAX_VQS		128
/* Threads one controller's queues are spread over (the controller thread included). */
#define VHOST_MAX_QTHREADS	16
/* Requests taken from one queue per poller run. */
#define VHOST_VQ_POLL_BUDGET	32
/* Coalescing statistics interval (SPDK_VHOST_STATS_CHECK_INTERVAL_MS). */
#define VHOST_STATS_INTERVAL_MS	10

/* virtio feature bits shared by every personality. */
#define VHOST_F_VERSION_1		32
#define VHOST_F_ANY_LAYOUT		27
#define VHOST_F_PROTOCOL_FEATURES	30
#define VHOST_F_RING_PACKED		34
#define VHOST_F_INDIRECT_DESC		28
#define VHOST_F_EVENT_IDX		29

/* vhost-user protocol features we add to rte_vhost's defaults. */
#define VHOST_USER_PROTOCOL_F_CONFIG		9
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD	12

struct vhost_session_vq {
	struct vhost_vq		vq;
	struct vhost_session	*session;
	uint16_t		qid;
	bool			started;
	bool			base_valid;	/* stopped: indexes to hand back to rte_vhost */
	bool			owns_fds;	/* vq.callfd/kickfd are our dups: close them */
	struct thread_interrupt	*intr;
	struct vhost_qgroup	*grp;		/* the thread this queue runs on */
	void			*priv;		/* personality: per-queue task pool */
	/* rte_vhost's inflight region of this queue (split or packed layout), or NULL.
	 * Mapped until the session stops: GET/SET_INFLIGHT_FD stop a started session. */
	void			*inflight_region;
};

/* A session's queues on one thread: queues grp->index, + ngrps, + 2 * ngrps, ... */
struct vhost_qgroup {
	struct vhost_session	*session;
	struct thread		*thread;
	uint16_t		index;
	/* The group's thread only. */
	bool			started;
	struct poller		*poller;
	struct poller		*stats_poller;
	struct poller		*stop_poller;
	void			*priv;		/* personality: per-thread state (channels) */
};

struct vhost_session {
	struct vhost_dev	*vdev;
	int			vid;
	uint32_t		id;
	char			name[VHOST_NAME_MAX + 16];

	/*
	 * Session state, written only between a full stop and the first queue
	 * start (both serialised by vhost-events), read by every queue thread.
	 */
	bool			started;
	uint64_t		features;
	struct vhost_mem	mem;
	uint32_t		coal_delay_us;
	uint32_t		coal_io_threshold;	/* requests per stats interval */
	uint16_t		max_queues;		/* highest started qid + 1 */
	uint16_t		ngrps;			/* vdev->nqthreads at connection */
	struct vhost_qgroup	grps[VHOST_MAX_QTHREADS];
	struct vhost_session_vq	vqs[VHOST_MAX_VQS];
	void			*priv;			/* personality: per-session state */

	/* vhost-events bookkeeping (only that thread writes these). */
	bool			needs_restart;
	bool			vq_kicked[VHOST_MAX_VQS];
	/* rte_vhost still points the queue at an inflight region it has unmapped
	 * (after GET_INFLIGHT_FD, or a SET_INFLIGHT_FD that failed or left the queue
	 * out): its SET_VRING_KICK is refused until a SET_INFLIGHT_FD covers it. */
	bool			inflight_stale[VHOST_MAX_VQS];
	/* The queue started since the session last stopped (a kick alone does not
	 * start it: its ring may not be translatable yet). */
	bool			vq_live[VHOST_MAX_VQS];

	/* Hand-off between vhost-events (or the delete helper) and the controller
	 * thread; op_lock serialises callers, refs (g_vhost_mutex) keeps the session
	 * alive while the delete helper uses it. */
	pthread_mutex_t		op_lock;
	uint32_t		refs;
	sem_t			sem;
	int			op_rc;
	void			*op_ctx;

	/* Shown by vhost_get_controllers (read under g_vhost_mutex). */
	bool			info_started;
	uint16_t		info_max_queues;
	uint32_t		info_inflight;

	TAILQ_ENTRY(vhost_session) link;
};

/*
 * A personality (vhost-blk; vhost-scsi later). Members marked
 * "controller thread" run on vdev->thread.
 */
struct vhost_dev_ops {
	const char	*type;		/* "blk" */
	/*
	 * Spread a session's queues over one thread per core of the controller's
	 * cpumask. Then every queue callback below runs on the queue's thread and
	 * per-thread state (bdev channels) belongs in grp_start/grp_stop.
	 */
	bool		spread_queues;
	/* Optional. The first queue's thread: per-session state. 0 or -errno. */
	int		(*session_start)(struct vhost_session *s);
	/* Optional. Controller thread: undo session_start; every queue group stopped. */
	void		(*session_stop)(struct vhost_session *s);
	/* Optional. The group's thread, before its first queue starts: per-thread state. */
	int		(*grp_start)(struct vhost_session *s, struct vhost_qgroup *grp);
	/* Optional. The group's thread: undo grp_start; none of its requests in flight. */
	void		(*grp_stop)(struct vhost_session *s, struct vhost_qgroup *grp);
	/* Required. Queue thread: per-queue state sized by svq->vq.size. 0 or -errno. */
	int		(*vq_start)(struct vhost_session *s, struct vhost_session_vq *svq);
	/* Required. Queue thread: free per-queue state; nothing in flight. */
	void		(*vq_stop)(struct vhost_session *s, struct vhost_session_vq *svq);
	/* Required. Queue thread: take up to `budget` requests; returns how many. */
	int		(*vq_poll)(struct vhost_session *s, struct vhost_session_vq *svq,
				   uint32_t budget);
	/* Optional. Queue thread: re-run the request at `head` (split) or inflight
	 * entry (packed): inflight resubmission after a backend restart. */
	int		(*vq_resubmit)(struct vhost_session *s, struct vhost_session_vq *svq,
				       uint16_t head);
	/* Optional. vhost-events: fill `len` bytes of config space. 0 or -errno. */
	int		(*get_config)(struct vhost_dev *vdev, uint8_t *config, uint32_t len);
	/* Optional. vhost-events. 0 or -errno. */
	int		(*set_config)(struct vhost_dev *vdev, const uint8_t *data, uint32_t offset,
				      uint32_t size, uint32_t flags);
	/* Required. App thread: fill "backend_specific" of vhost_get_controllers. */
	void		(*dump_info_json)(struct vhost_dev *vdev, struct json_object *backend);
	/* Required. App thread: append the RPC that recreates the controller. */
	void		(*write_config_json)(struct vhost_dev *vdev, struct json_object *config);
	/* Required. App thread: release the personality (sessions are gone). */
	void		(*destroy)(struct vhost_dev *vdev);
	/* Optional. Controller thread, on delete, after every session is gone and before
	 * the thread exits: release controller-thread state (channels, descriptors), then
	 * call done(done_ctx) exactly once (on any thread). destroy follows. */
	void		(*shutdown)(struct vhost_dev *vdev, void (*done)(void *done_ctx),
				    void *done_ctx);
};

struct vhost_dev {
	char			*name;
	char			*path;
	struct cpuset		cpumask;
	struct thread		*thread;
	struct thread		*qthreads[VHOST_MAX_QTHREADS];	/* [0] = thread */
	uint16_t		nqthreads;
	const struct vhost_dev_ops *ops;
	uint64_t		virtio_features;
	uint64_t		protocol_features;
	bool			registered;	/* rte_vhost socket registered and started */
	bool			deleting;	/* no new connections or starts */

	uint32_t		coal_delay_base_us;
	uint32_t		coal_iops_threshold;

	TAILQ_HEAD(, vhost_session) sessions;
	uint32_t		next_session_id;
	TAILQ_ENTRY(vhost_dev)	link;
};

extern pthread_mutex_t g_vhost_mutex;

/* Create and register a controller; `vdev` is embedded first in the personality's struct. */
int vhost_dev_register(struct vhost_dev *vdev, const char *name, const char *cpumask,
		       const struct vhost_dev_ops *ops, uint64_t virtio_features,
		       uint64_t protocol_features);
/*
 * Like vhost_dev_register; with `delay` the controller is listed and its thread
 * exists, but its socket is not bound until vhost_dev_start().
 */
int vhost_dev_register_ext(struct vhost_dev *vdev, const char *name, const char *cpumask,
			   const struct vhost_dev_ops *ops, uint64_t virtio_features,
			   uint64_t protocol_features, bool delay);
/* App thread: bind and listen on the socket of a delayed controller. Idempotent: 0 or -errno. */
int vhost_dev_start(struct vhost_dev *vdev);
/* App thread, under g_vhost_mutex or not: lookup by name. */
struct vhost_dev *vhost_dev_find(const char *name);
/* Reactor thread: run fn(s, ctx) on each started session (synchronously, under
 * g_vhost_mutex). */
void vhost_dev_foreach_session(struct vhost_dev *vdev,
			       void (*fn)(struct vhost_session *s, void *ctx), void *ctx);
/* Any thread: ask the guests of every session for a config re-read (resize). */
void vhost_dev_signal_config_change(struct vhost_dev *vdev);

/* Controller thread: the number of requests in flight across the session's queues. */
uint32_t vhost_session_inflight(const struct vhost_session *s);

/* virtio-blk request parsing (vhost_blk.c), exposed for the unit test. */
struct vhost_blk_req {
	uint32_t	type;
	uint64_t	sector;
	uint8_t		*status;
	struct iovec	*data;		/* points into the request's iovec array */
	uint16_t	data_cnt;
	uint64_t	data_len;
	bool		data_readable;	/* data is device-readable (OUT, DISCARD, ...) */
};
int vhost_blk_parse(struct iovec *iov, uint16_t iovcnt, uint16_t out_cnt,
		    struct vhost_blk_req *req);

#endif /* VHOST_INTERNAL_H */
