/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-scsi personality: one controller = one virtio-scsi HBA.
 *
 * Queues (virtio-scsi): 0 controlq (task management, async notification),
 * 1 eventq (hotplug / parameter change events), 2.. request queues.
 *
 * Ownership: the target table (which slot holds which lib/scsi device, and
 * whether it is being removed), every scsi_dev, every task and every session
 * belong to the controller thread. RPCs reach it by message, so a target that
 * starts being removed refuses new I/O from that instant on, on every
 * session (there is no second copy of the state that could lag behind).
 * What vhost_get_controllers and save_config print is a copy kept under
 * g_vhost_mutex, updated by the controller thread after each change.
 *
 * Hot-remove: the slot is marked removing (new commands: BAD_TARGET), the
 * device is destroyed by lib/scsi, which drains the commands in flight on
 * every session, each LUN's release reports REMOVED and the guests get
 * TRANSPORT_RESET/REMOVED for it; the RPC is answered last. A bdev that goes
 * away underneath a LUN takes the same path (lib/scsi starts it). Events
 * that find no eventq buffer wait in a per-session queue; overflow sets
 * VIRTIO_SCSI_T_EVENTS_MISSED on the next one delivered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "vhost_internal.h"
#include "vhost_scsi.h"

#include "vhostd/bdev.h"
#include "vhostd/log.h"
#include "vhostd/rpc.h"
#include "vhostd/scsi.h"
#include "vhostd/util.h"

VHD_LOG_REGISTER_COMPONENT(vhost_scsi)

#define SCSI_CONTROLQ		0
#define SCSI_EVENTQ		1
#define SCSI_REQUESTQ0		2
/* Descriptor segments accepted per command beyond the queue size (header, response). */
#define SCSI_IOV_EXTRA		8
#define SCSI_IOV_CAP		1024
#define SCSI_CTRL_IOV_MAX	16
#define SCSI_EVENT_IOV_MAX	16
/* QEMU's vhost-user-scsi param_change reason for CAPACITY DATA HAS CHANGED. */
#define SCSI_REASON_CAPACITY	(0x2a | (0x09 << 8))

enum scsi_tgt_state {
	TGT_EMPTY = 0,
	TGT_ACTIVE,
	TGT_REMOVING,
};

struct scsi_waiter {
	vhost_scsi_done_cb	cb;
	void			*cb_arg;
	struct scsi_waiter	*next;
};

struct scsi_ctrlr;

/* Controller thread only. */
struct scsi_tgt {
	struct scsi_ctrlr	*ctrlr;
	uint32_t		num;
	enum scsi_tgt_state	state;
	struct scsi_dev		*dev;
	struct scsi_waiter	*waiters;	/* remove_target RPCs answered at the end */
};

/*
 * A session that stopped without leaving (SET_MEM_TABLE, a device reset): whether it
 * left events undelivered, and the controller's event count at that moment. If events
 * were lost, its next start begins with EVENTS_MISSED so that the guest rescans.
 */
#define SCSI_STOPPED_MAX	16

struct scsi_stopped {
	bool		used;
	bool		pending;
	uint32_t	id;
	uint64_t	gen;
};

/* g_vhost_mutex: what the RPCs print. */
struct scsi_tgt_info {
	bool	present;
	char	*bdev[SCSI_DEV_MAX_LUN];
};

struct scsi_ctrlr {
	struct vhost_dev	vdev;		/* first: VHD_CONTAINER_OF */
	bool			started;	/* app thread: socket registered */
	struct scsi_tgt		tgts[VHOST_SCSI_MAX_TARGETS];
	struct scsi_tgt_info	info[VHOST_SCSI_MAX_TARGETS];
	/* Controller thread: events generated, and sessions stopped with their count. */
	uint64_t		event_gen;
	struct scsi_stopped	stopped[SCSI_STOPPED_MAX];
	uint32_t		stopped_next;
	/* Controller-thread delete. */
	bool			shutting_down;
	uint32_t		shutdown_pending;
	void			(*shutdown_done)(void *ctx);
	void			*shutdown_ctx;
};

struct scsi_session {
	struct scsi_port	port;
	struct vhost_scsi_evq	evq;
	uint64_t		events_sent;
};

enum scsi_vtask_kind {
	VTASK_CMD,
	VTASK_TMF,
};

struct scsi_vtask {
	struct scsi_task	task;		/* lib/scsi's part */
	struct vhost_session_vq	*svq;
	struct vhost_vq_elem	elem;
	struct iovec		*iov;
	struct vhost_scsi_cmd	cmd;
	enum scsi_vtask_kind	kind;
	bool			busy;
	uint32_t		used_len;
};

struct scsi_vq {
	struct scsi_vtask	*tasks;
	struct iovec		*spare;
	struct iovec		*block;		/* one allocation for every iovec array */
	uint16_t		size;
	uint16_t		iov_max;
};

static const struct vhost_dev_ops g_scsi_ops;
static uint64_t g_scsi_port_id;

static inline struct scsi_ctrlr *
to_scsi(struct vhost_dev *vdev)
{
	return VHD_CONTAINER_OF(vdev, struct scsi_ctrlr, vdev);
}

static bool
session_has(const struct vhost_session *s, unsigned int bit)
{
	return (s->features >> bit) & 1;
}

/* ---- events (controller thread) ------------------------------------------------ */

/* Deliver what the session's queue holds while the guest has eventq buffers. */
static int
scsi_events_flush(struct vhost_session *s)
{
	struct scsi_session *ss = s->priv;
	struct vhost_session_vq *svq;
	struct virtio_scsi_event ev;
	struct iovec iov[SCSI_EVENT_IOV_MAX];
	struct vhost_vq_elem elem;
	int n = 0, rc;

	if (ss == NULL || s->max_queues <= SCSI_EVENTQ || !s->vqs[SCSI_EVENTQ].started) {
		return 0;
	}
	svq = &s->vqs[SCSI_EVENTQ];
	while (vhost_scsi_evq_peek(&ss->evq, &ev)) {
		elem.iov = iov;
		rc = vhost_vq_pop(&svq->vq, &elem, SCSI_EVENT_IOV_MAX);
		if (rc == 0 || rc == -EPROTO) {
			break;	/* no buffer: the event waits for the guest's next one */
		}
		n++;
		if (rc < 0 || elem.out_cnt != 0 ||
		    vhost_scsi_iov_scatter(iov, elem.iovcnt, &ev, sizeof(ev)) != sizeof(ev)) {
			/* A buffer that cannot hold an event: give it back empty, keep the event. */
			VHD_ERRLOG_RATELIMIT("%s: eventq buffer unusable; event kept\n", s->name);
			vhost_vq_push(&svq->vq, &elem, 0);
			continue;
		}
		vhost_vq_push(&svq->vq, &elem, sizeof(ev));
		vhost_scsi_evq_pop(&ss->evq);
		ss->events_sent++;
		VHD_DEBUGLOG(vhost_scsi, "%s: event 0x%x target %u lun %u reason %u sent\n",
			     s->name, ev.event, ev.lun[1], ev.lun[3], ev.reason);
	}
	if (n > 0) {
		vhost_vq_flush_calls(&svq->vq, 0, true);
	}
	return n;
}

struct scsi_event_req {
	uint32_t	event;
	uint32_t	reason;
	uint8_t		target;
	uint32_t	lun;
	unsigned int	feature;
};

static void
scsi_session_queue_event(struct vhost_session *s, void *ctx)
{
	struct scsi_event_req *r = ctx;
	struct scsi_session *ss = s->priv;
	bool missed;

	if (ss == NULL) {
		return;
	}
	if (!session_has(s, r->feature)) {
		/* The driver did not ask for these (no HOTPLUG/CHANGE): it rescans itself. */
		return;
	}
	missed = ss->evq.missed;
	vhost_scsi_evq_push(&ss->evq, r->event, r->target, r->lun, r->reason);
	if (ss->evq.missed && !missed) {
		VHD_WARNLOG("%s: event queue full; the guest will see EVENTS_MISSED and rescan\n",
			    s->name);
	}
	scsi_events_flush(s);
}

static void
scsi_ctrlr_event(struct scsi_ctrlr *c, uint32_t event, uint32_t reason, uint32_t target,
		 uint32_t lun, unsigned int feature)
{
	struct scsi_event_req r = {
		.event = event, .reason = reason, .target = (uint8_t)target, .lun = lun,
		.feature = feature,
	};

	c->event_gen++;
	vhost_dev_foreach_session(&c->vdev, scsi_session_queue_event, &r);
}

/* ---- info copy (controller thread writes, app thread reads) -------------------- */

static void
scsi_info_set_lun(struct scsi_ctrlr *c, uint32_t num, uint32_t lun, const char *bdev)
{
	char *copy = bdev != NULL ? strdup(bdev) : NULL;
	char *old;

	pthread_mutex_lock(&g_vhost_mutex);
	old = c->info[num].bdev[lun];
	c->info[num].bdev[lun] = copy;
	if (bdev != NULL) {
		c->info[num].present = true;
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	free(old);
}

static void
scsi_info_clear(struct scsi_ctrlr *c, uint32_t num)
{
	uint32_t l;

	pthread_mutex_lock(&g_vhost_mutex);
	c->info[num].present = false;
	for (l = 0; l < SCSI_DEV_MAX_LUN; l++) {
		free(c->info[num].bdev[l]);
		c->info[num].bdev[l] = NULL;
	}
	pthread_mutex_unlock(&g_vhost_mutex);
}

/* ---- targets (controller thread) ------------------------------------------------ */

static void scsi_tgt_start_removal(struct scsi_tgt *t);

static void
scsi_tgt_destroyed(void *cb_arg, int rc)
{
	struct scsi_tgt *t = cb_arg;
	struct scsi_ctrlr *c = t->ctrlr;
	struct scsi_waiter *w = t->waiters;

	t->dev = NULL;
	t->state = TGT_EMPTY;
	t->waiters = NULL;
	scsi_info_clear(c, t->num);
	VHD_NOTICELOG("%s: target %u removed\n", c->vdev.name, t->num);
	while (w != NULL) {
		struct scsi_waiter *next = w->next;

		w->cb(w->cb_arg, 0);
		free(w);
		w = next;
	}
	if (c->shutting_down && --c->shutdown_pending == 0) {
		c->shutdown_done(c->shutdown_ctx);
	}
}

static void
scsi_tgt_destroy_msg(void *ctx)
{
	struct scsi_tgt *t = ctx;

	scsi_dev_destroy(t->dev, scsi_tgt_destroyed, t);
}

static void
scsi_tgt_start_removal(struct scsi_tgt *t)
{
	t->state = TGT_REMOVING;
	/* Never from inside a lib/scsi callback: destroy from a fresh message. */
	if (thread_send_msg(t->ctrlr->vdev.thread, scsi_tgt_destroy_msg, t) != 0) {
		VHD_ERRLOG("%s: cannot schedule removal of target %u\n", t->ctrlr->vdev.name,
			   t->num);
		scsi_dev_destroy(t->dev, scsi_tgt_destroyed, t);
	}
}

static void
scsi_dev_event(struct scsi_dev *dev, uint32_t lun_id, enum scsi_lun_event event, void *ctx)
{
	struct scsi_tgt *t = ctx;
	struct scsi_ctrlr *c = t->ctrlr;

	switch (event) {
	case SCSI_LUN_EVENT_RESIZE:
		VHD_NOTICELOG("%s: target %u LUN %u capacity changed; telling the guests\n",
			      c->vdev.name, t->num, lun_id);
		scsi_ctrlr_event(c, VIRTIO_SCSI_T_PARAM_CHANGE, SCSI_REASON_CAPACITY, t->num,
				 lun_id, VIRTIO_SCSI_F_CHANGE);
		break;
	case SCSI_LUN_EVENT_REMOVING:
		VHD_WARNLOG("%s: target %u LUN %u: bdev going away; draining\n", c->vdev.name,
			    t->num, lun_id);
		break;
	case SCSI_LUN_EVENT_REMOVED:
		scsi_info_set_lun(c, t->num, lun_id, NULL);
		scsi_ctrlr_event(c, VIRTIO_SCSI_T_TRANSPORT_RESET, VIRTIO_SCSI_EVT_RESET_REMOVED,
				 t->num, lun_id, VIRTIO_SCSI_F_HOTPLUG);
		/* The last LUN gone underneath (bdev removal): the target follows. */
		if (t->state == TGT_ACTIVE && scsi_dev_first_lun(dev) == NULL) {
			scsi_tgt_start_removal(t);
		}
		break;
	}
}

struct scsi_op {
	struct scsi_ctrlr	*ctrlr;
	int32_t			num;
	uint32_t		lun;
	char			*bdev_name;
	vhost_scsi_done_cb	cb;
	void			*cb_arg;
};

static void
scsi_op_finish(struct scsi_op *op, int rc)
{
	if (op->cb != NULL) {
		op->cb(op->cb_arg, rc);
	}
	free(op->bdev_name);
	free(op);
}

static int
scsi_tgt_add_lun(struct scsi_tgt *t, uint32_t lun, const char *bdev_name)
{
	struct scsi_lun_opts opts = {.lun_id = lun, .bdev_name = bdev_name};
	int rc;

	rc = scsi_dev_add_lun(t->dev, &opts);
	if (rc != 0) {
		VHD_ERRLOG("%s: target %u: cannot add LUN %u on bdev %s: %s\n",
			   t->ctrlr->vdev.name, t->num, lun, bdev_name, strerror(-rc));
		return rc == -ENODEV ? -EINVAL : rc;
	}
	scsi_info_set_lun(t->ctrlr, t->num, lun, bdev_name);
	return 0;
}

static void
scsi_add_target_msg(void *ctx)
{
	struct scsi_op *op = ctx;
	struct scsi_ctrlr *c = op->ctrlr;
	struct scsi_tgt *t;
	char name[32];
	int32_t num = op->num;
	int rc;

	if (c->shutting_down) {
		scsi_op_finish(op, -ENODEV);
		return;
	}
	if (num < 0) {
		for (num = 0; num < VHOST_SCSI_MAX_TARGETS; num++) {
			if (c->tgts[num].state == TGT_EMPTY) {
				break;
			}
		}
		if (num == VHOST_SCSI_MAX_TARGETS) {
			scsi_op_finish(op, -ENOSPC);
			return;
		}
	}
	t = &c->tgts[num];
	if (t->state != TGT_EMPTY) {
		scsi_op_finish(op, t->state == TGT_REMOVING ? -EBUSY : -EEXIST);
		return;
	}
	snprintf(name, sizeof(name), "Target %d", num);
	rc = scsi_dev_create(name, (uint32_t)num, scsi_dev_event, t, &t->dev);
	if (rc != 0) {
		scsi_op_finish(op, rc);
		return;
	}
	rc = scsi_tgt_add_lun(t, op->lun, op->bdev_name);
	if (rc != 0) {
		scsi_dev_destroy(t->dev, NULL, NULL);
		t->dev = NULL;
		scsi_op_finish(op, rc);
		return;
	}
	t->state = TGT_ACTIVE;
	VHD_NOTICELOG("%s: target %d added (LUN %u on bdev %s)\n", c->vdev.name, num, op->lun,
		      op->bdev_name);
	scsi_ctrlr_event(c, VIRTIO_SCSI_T_TRANSPORT_RESET, VIRTIO_SCSI_EVT_RESET_RESCAN,
			 (uint32_t)num, op->lun, VIRTIO_SCSI_F_HOTPLUG);
	scsi_op_finish(op, num);
}

static void
scsi_add_lun_msg(void *ctx)
{
	struct scsi_op *op = ctx;
	struct scsi_ctrlr *c = op->ctrlr;
	struct scsi_tgt *t = &c->tgts[op->num];
	int rc;

	if (c->shutting_down || t->state == TGT_EMPTY) {
		scsi_op_finish(op, -ENODEV);
		return;
	}
	if (t->state == TGT_REMOVING) {
		scsi_op_finish(op, -EBUSY);
		return;
	}
	rc = scsi_tgt_add_lun(t, op->lun, op->bdev_name);
	if (rc == 0) {
		scsi_ctrlr_event(c, VIRTIO_SCSI_T_TRANSPORT_RESET, VIRTIO_SCSI_EVT_RESET_RESCAN,
				 t->num, op->lun, VIRTIO_SCSI_F_HOTPLUG);
	}
	scsi_op_finish(op, rc);
}

static void
scsi_remove_target_msg(void *ctx)
{
	struct scsi_op *op = ctx;
	struct scsi_ctrlr *c = op->ctrlr;
	struct scsi_tgt *t = &c->tgts[op->num];
	struct scsi_waiter *w;

	if (c->shutting_down) {
		scsi_op_finish(op, -ENODEV);
		return;
	}
	/* SPDK answers EBUSY for an empty slot and for one already being removed. */
	if (t->state != TGT_ACTIVE) {
		scsi_op_finish(op, -EBUSY);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		scsi_op_finish(op, -ENOMEM);
		return;
	}
	w->cb = op->cb;
	w->cb_arg = op->cb_arg;
	t->waiters = w;
	op->cb = NULL;
	scsi_op_finish(op, 0);
	VHD_NOTICELOG("%s: removing target %u\n", c->vdev.name, t->num);
	scsi_tgt_start_removal(t);
}

static void
scsi_remove_lun_done(void *cb_arg, int rc)
{
	scsi_op_finish(cb_arg, rc);
}

static void
scsi_remove_lun_msg(void *ctx)
{
	struct scsi_op *op = ctx;
	struct scsi_ctrlr *c = op->ctrlr;
	struct scsi_tgt *t = &c->tgts[op->num];
	int rc;

	if (c->shutting_down || t->state == TGT_EMPTY) {
		scsi_op_finish(op, -ENODEV);
		return;
	}
	if (t->state == TGT_REMOVING) {
		scsi_op_finish(op, -EBUSY);
		return;
	}
	rc = scsi_dev_remove_lun(t->dev, op->lun, scsi_remove_lun_done, op);
	if (rc != 0) {
		scsi_op_finish(op, rc == -EALREADY ? -EBUSY : rc);
	}
}

/* Controller thread: delete. Every session is gone; destroy every device. */
static void
scsi_shutdown(struct vhost_dev *vdev, void (*done)(void *ctx), void *ctx)
{
	struct scsi_ctrlr *c = to_scsi(vdev);
	uint32_t i;

	c->shutting_down = true;
	c->shutdown_done = done;
	c->shutdown_ctx = ctx;
	c->shutdown_pending = 1;
	for (i = 0; i < VHOST_SCSI_MAX_TARGETS; i++) {
		struct scsi_tgt *t = &c->tgts[i];

		if (t->state == TGT_EMPTY) {
			continue;
		}
		c->shutdown_pending++;
		if (t->state == TGT_ACTIVE) {
			t->state = TGT_REMOVING;
			scsi_dev_destroy(t->dev, scsi_tgt_destroyed, t);
		}
	}
	if (--c->shutdown_pending == 0) {
		done(ctx);
	}
}

/* ---- requestq ------------------------------------------------------------------- */

static void
scsi_vtask_push(struct scsi_vtask *vt)
{
	vt->busy = false;
	vhost_vq_push(&vt->svq->vq, &vt->elem, vt->used_len);
}

/* Write a response with `response` and nothing else (no SCSI status). */
static void
scsi_cmd_fail(struct scsi_vtask *vt, uint8_t response)
{
	struct virtio_scsi_cmd_resp resp;

	memset(&resp, 0, sizeof(resp));
	resp.response = response;
	resp.resid = (uint32_t)VHD_MIN(vt->cmd.data_in_len + vt->cmd.data_out_len,
				       (uint64_t)UINT32_MAX);
	vhost_scsi_iov_scatter(vt->cmd.resp, vt->cmd.resp_cnt, &resp, sizeof(resp));
	vt->used_len = VHOST_SCSI_RESP_SIZE;
	scsi_vtask_push(vt);
}

static void
scsi_cmd_done(struct scsi_task *task, void *cb_arg)
{
	struct scsi_vtask *vt = cb_arg;
	struct virtio_scsi_cmd_resp resp;
	uint64_t total = vt->cmd.data_in_len + vt->cmd.data_out_len;

	memset(&resp, 0, sizeof(resp));
	resp.response = VIRTIO_SCSI_S_OK;
	resp.status = task->status;
	resp.sense_len = VHD_MIN(task->sense_len, (uint32_t)VIRTIO_SCSI_SENSE_SIZE);
	memcpy(resp.sense, task->sense_data, resp.sense_len);
	resp.resid = (uint32_t)VHD_MIN(total - VHD_MIN((uint64_t)task->data_transferred, total),
				       (uint64_t)UINT32_MAX);
	vhost_scsi_iov_scatter(vt->cmd.resp, vt->cmd.resp_cnt, &resp, sizeof(resp));
	vt->used_len = VHOST_SCSI_RESP_SIZE;
	if (task->dxfer_dir == SCSI_DIR_FROM_DEV) {
		vt->used_len += VHD_MIN(task->data_transferred, (uint32_t)vt->cmd.data_in_len);
	}
	scsi_vtask_push(vt);
}

static void
scsi_cmd_start(struct vhost_session *s, struct scsi_vtask *vt, int pop_rc)
{
	struct scsi_ctrlr *c = to_scsi(s->vdev);
	struct scsi_session *ss = s->priv;
	struct scsi_task *task = &vt->task;
	struct vhost_scsi_cmd *cmd = &vt->cmd;
	struct scsi_tgt *t;
	uint8_t target;
	uint32_t lun_id;
	int rc;

	vt->kind = VTASK_CMD;
	vt->used_len = 0;
	if (pop_rc < 0) {
		memset(cmd, 0, sizeof(*cmd));
		scsi_vtask_push(vt);	/* malformed chain: nothing written */
		return;
	}
	rc = vhost_scsi_parse_cmd(vt->elem.iov, vt->elem.iovcnt, vt->elem.out_cnt, cmd);
	if (rc == -EFAULT) {
		VHD_ERRLOG_RATELIMIT("%s: request without room for a response\n", s->name);
		scsi_vtask_push(vt);
		return;
	}
	if (rc != 0) {
		VHD_ERRLOG_RATELIMIT("%s: request with a short header\n", s->name);
		scsi_cmd_fail(vt, VIRTIO_SCSI_S_FAILURE);
		return;
	}
	rc = vhost_scsi_lun_decode(cmd->req.lun, &target, &lun_id);
	if (rc == -ENODEV) {
		scsi_cmd_fail(vt, VIRTIO_SCSI_S_BAD_TARGET);
		return;
	}
	t = &c->tgts[target];
	/* Empty, or being removed: no new I/O ever reaches a target on its way out. */
	if (t->state != TGT_ACTIVE || ss == NULL) {
		scsi_cmd_fail(vt, VIRTIO_SCSI_S_BAD_TARGET);
		return;
	}
	if (rc != 0) {
		scsi_cmd_fail(vt, VIRTIO_SCSI_S_INCORRECT_LUN);
		return;
	}
	if (cmd->data_out_len > UINT32_MAX || cmd->data_in_len > UINT32_MAX) {
		scsi_cmd_fail(vt, VIRTIO_SCSI_S_OVERRUN);
		return;
	}
	scsi_task_init(task, scsi_cmd_done, vt);
	memcpy(task->cdb, cmd->req.cdb, sizeof(task->cdb));
	task->cdb_len = SCSI_CDB_MAX_LEN;
	task->lun_id = lun_id;
	task->tag = cmd->req.tag;
	task->initiator_port = &ss->port;
	/* INOUT: lib/scsi moves one direction; data-out wins, data-in stays residual. */
	if (cmd->data_out_len > 0) {
		task->dxfer_dir = SCSI_DIR_TO_DEV;
		task->iovs = cmd->data_out;
		task->iovcnt = cmd->data_out_cnt;
		task->transfer_len = (uint32_t)cmd->data_out_len;
	} else if (cmd->data_in_len > 0) {
		task->dxfer_dir = SCSI_DIR_FROM_DEV;
		task->iovs = cmd->data_in;
		task->iovcnt = cmd->data_in_cnt;
		task->transfer_len = (uint32_t)cmd->data_in_len;
	} else {
		task->dxfer_dir = SCSI_DIR_NONE;
	}
	scsi_dev_queue_task(t->dev, task);
}

/* ---- controlq ------------------------------------------------------------------- */

static void
scsi_ctrl_answer(struct scsi_vtask *vt, const void *resp, uint32_t len)
{
	vhost_scsi_iov_scatter(vt->cmd.resp, vt->cmd.resp_cnt, resp, len);
	vt->used_len = len;
	scsi_vtask_push(vt);
}

static uint8_t
scsi_tmf_response(enum scsi_tmf_response r)
{
	switch (r) {
	case SCSI_TMF_RESP_COMPLETE:
		return VIRTIO_SCSI_S_OK;	/* FUNCTION COMPLETE */
	case SCSI_TMF_RESP_SUCCEEDED:
		return VIRTIO_SCSI_S_FUNCTION_SUCCEEDED;
	case SCSI_TMF_RESP_REJECTED:
		return VIRTIO_SCSI_S_FUNCTION_REJECTED;
	case SCSI_TMF_RESP_INVALID_LUN:
		return VIRTIO_SCSI_S_INCORRECT_LUN;
	case SCSI_TMF_RESP_FAILED:
	default:
		return VIRTIO_SCSI_S_FAILURE;
	}
}

static void
scsi_tmf_done(struct scsi_task *task, void *cb_arg)
{
	struct scsi_vtask *vt = cb_arg;
	struct virtio_scsi_ctrl_tmf_resp resp = {.response = scsi_tmf_response(task->tmf_response)};

	/* Rare, and the sign of a guest timeout: worth a line for the operator. */
	VHD_NOTICELOG("%s: task management %d on LUN %u (tag 0x%llx): response %u\n",
		      vt->svq->session->name, (int)task->tmf_function, task->lun_id,
		      (unsigned long long)task->tmf_tag, resp.response);
	scsi_ctrl_answer(vt, &resp, sizeof(resp));
}

static bool
scsi_tmf_map(uint32_t subtype, enum scsi_tmf *fn)
{
	switch (subtype) {
	case VIRTIO_SCSI_T_TMF_ABORT_TASK:
		*fn = SCSI_TMF_ABORT_TASK;
		return true;
	case VIRTIO_SCSI_T_TMF_ABORT_TASK_SET:
		*fn = SCSI_TMF_ABORT_TASK_SET;
		return true;
	case VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET:
		*fn = SCSI_TMF_CLEAR_TASK_SET;
		return true;
	case VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET:
		*fn = SCSI_TMF_I_T_NEXUS_RESET;
		return true;
	case VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET:
		*fn = SCSI_TMF_LUN_RESET;
		return true;
	case VIRTIO_SCSI_T_TMF_QUERY_TASK:
		*fn = SCSI_TMF_QUERY_TASK;
		return true;
	default:
		return false;	/* CLEAR ACA, QUERY TASK SET */
	}
}

static void
scsi_ctrl_start(struct vhost_session *s, struct scsi_vtask *vt, int pop_rc)
{
	struct scsi_ctrlr *c = to_scsi(s->vdev);
	struct scsi_session *ss = s->priv;
	struct iovec *iov = vt->elem.iov;
	uint16_t out_cnt = vt->elem.out_cnt, iovcnt = vt->elem.iovcnt;
	uint32_t type;

	vt->kind = VTASK_TMF;
	vt->used_len = 0;
	memset(&vt->cmd, 0, sizeof(vt->cmd));
	if (pop_rc < 0 ||
	    vhost_scsi_iov_gather(iov, out_cnt, &type, sizeof(type)) != sizeof(type)) {
		scsi_vtask_push(vt);
		return;
	}
	if (type == VIRTIO_SCSI_T_TMF) {
		struct virtio_scsi_ctrl_tmf_req req;
		struct virtio_scsi_ctrl_tmf_resp resp = {.response = VIRTIO_SCSI_S_OK};
		struct scsi_task *task = &vt->task;
		enum scsi_tmf fn;
		struct scsi_tgt *t;
		uint8_t target;
		uint32_t lun_id;
		int rc;

		vt->cmd.resp_cnt = vhost_scsi_locate_in(iov, iovcnt, out_cnt, sizeof(resp),
							vt->cmd.resp);
		if (vt->cmd.resp_cnt == 0) {
			scsi_vtask_push(vt);
			return;
		}
		if (vhost_scsi_iov_gather(iov, out_cnt, &req, sizeof(req)) != sizeof(req)) {
			resp.response = VIRTIO_SCSI_S_FAILURE;
			scsi_ctrl_answer(vt, &resp, sizeof(resp));
			return;
		}
		rc = vhost_scsi_lun_decode(req.lun, &target, &lun_id);
		t = rc == -ENODEV ? NULL : &c->tgts[target];
		if (t == NULL || t->state != TGT_ACTIVE || ss == NULL) {
			resp.response = VIRTIO_SCSI_S_BAD_TARGET;
			scsi_ctrl_answer(vt, &resp, sizeof(resp));
			return;
		}
		if (rc != 0) {
			resp.response = VIRTIO_SCSI_S_INCORRECT_LUN;
			scsi_ctrl_answer(vt, &resp, sizeof(resp));
			return;
		}
		if (!scsi_tmf_map(req.subtype, &fn)) {
			resp.response = VIRTIO_SCSI_S_FUNCTION_REJECTED;
			scsi_ctrl_answer(vt, &resp, sizeof(resp));
			return;
		}
		scsi_task_init(task, scsi_tmf_done, vt);
		task->tmf_function = fn;
		task->tmf_tag = req.tag;
		task->lun_id = lun_id;
		task->initiator_port = &ss->port;
		scsi_dev_queue_mgmt_task(t->dev, task);
		return;
	}
	if (type == VIRTIO_SCSI_T_AN_QUERY || type == VIRTIO_SCSI_T_AN_SUBSCRIBE) {
		struct virtio_scsi_ctrl_an_req req;
		struct virtio_scsi_ctrl_an_resp resp;

		vt->cmd.resp_cnt = vhost_scsi_locate_in(iov, iovcnt, out_cnt, sizeof(resp),
							vt->cmd.resp);
		if (vt->cmd.resp_cnt == 0) {
			scsi_vtask_push(vt);
			return;
		}
		memset(&resp, 0, sizeof(resp));
		/* We report no asynchronous notification events: event_actual = 0. */
		resp.response = vhost_scsi_iov_gather(iov, out_cnt, &req, sizeof(req)) ==
						sizeof(req) ? VIRTIO_SCSI_S_OK : VIRTIO_SCSI_S_FAILURE;
		scsi_ctrl_answer(vt, &resp, sizeof(resp));
		return;
	}
	VHD_ERRLOG_RATELIMIT("%s: unknown controlq request type %u\n", s->name, type);
	scsi_vtask_push(vt);
}

/* ---- queues --------------------------------------------------------------------- */

static bool
scsi_vtask_take(struct vhost_session_vq *svq, struct scsi_vq *q, struct vhost_vq_elem *elem,
		struct scsi_vtask **out)
{
	struct scsi_vtask *vt = &q->tasks[elem->id];
	struct iovec *tmp;

	if (elem->id >= q->size || vt->busy) {
		VHD_ERRLOG_RATELIMIT("%s: queue %u: guest reused request id %u while in flight\n",
				     svq->session->name, svq->qid, elem->id);
		svq->vq.broken = true;
		if (svq->vq.inflight_cnt > 0) {
			svq->vq.inflight_cnt--;
		}
		return false;
	}
	tmp = vt->iov;
	vt->iov = q->spare;
	q->spare = tmp;
	vt->elem = *elem;
	vt->elem.iov = vt->iov;
	vt->busy = true;
	*out = vt;
	return true;
}

static int
scsi_vq_poll(struct vhost_session *s, struct vhost_session_vq *svq, uint32_t budget)
{
	struct scsi_vq *q = svq->priv;
	struct vhost_vq_elem elem;
	struct scsi_vtask *vt;
	uint32_t n = 0;
	int rc;

	if (svq->qid == SCSI_EVENTQ) {
		return scsi_events_flush(s);
	}
	if (q == NULL) {
		return 0;
	}
	while (n < budget) {
		elem.iov = q->spare;
		rc = vhost_vq_pop(&svq->vq, &elem, q->iov_max);
		if (rc == 0 || rc == -EPROTO) {
			break;
		}
		n++;
		if (!scsi_vtask_take(svq, q, &elem, &vt)) {
			break;
		}
		if (svq->qid == SCSI_CONTROLQ) {
			scsi_ctrl_start(s, vt, rc == 1 ? 0 : rc);
		} else {
			scsi_cmd_start(s, vt, rc == 1 ? 0 : rc);
		}
	}
	return (int)n;
}

static int
scsi_vq_start(struct vhost_session *s, struct vhost_session_vq *svq)
{
	struct scsi_vq *q;
	uint32_t i;

	if (svq->qid == SCSI_EVENTQ) {
		svq->priv = NULL;	/* events are popped one at a time when there is one */
		return 0;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		return -ENOMEM;
	}
	q->size = svq->vq.size;
	q->iov_max = svq->qid == SCSI_CONTROLQ ? SCSI_CTRL_IOV_MAX :
			(uint16_t)(VHD_MIN((uint32_t)q->size, (uint32_t)SCSI_IOV_CAP) +
				   SCSI_IOV_EXTRA);
	q->tasks = calloc(q->size, sizeof(*q->tasks));
	q->block = calloc((size_t)(q->size + 1) * q->iov_max, sizeof(struct iovec));
	if (q->tasks == NULL || q->block == NULL) {
		free(q->tasks);
		free(q->block);
		free(q);
		return -ENOMEM;
	}
	q->spare = q->block;
	for (i = 0; i < q->size; i++) {
		q->tasks[i].svq = svq;
		q->tasks[i].iov = q->block + (size_t)(i + 1) * q->iov_max;
	}
	svq->priv = q;
	return 0;
}

static void
scsi_vq_stop(struct vhost_session *s, struct vhost_session_vq *svq)
{
	struct scsi_vq *q = svq->priv;

	if (q == NULL) {
		return;
	}
	free(q->block);
	free(q->tasks);
	free(q);
	svq->priv = NULL;
}

static int
scsi_session_start(struct vhost_session *s)
{
	struct scsi_ctrlr *c = to_scsi(s->vdev);
	struct scsi_session *ss = calloc(1, sizeof(*ss));
	char name[SCSI_PORT_MAX_NAME + 1];
	uint32_t i;

	if (ss == NULL) {
		return -ENOMEM;
	}
	/* A stable name per controller: a reconnecting guest is the same PR initiator. */
	snprintf(name, sizeof(name), "vhostd.%s", s->vdev->name);
	scsi_port_init(&ss->port, __atomic_add_fetch(&g_scsi_port_id, 1, __ATOMIC_RELAXED), name);
	/* Restarted on the same connection: were events lost while it was stopped? */
	for (i = 0; i < SCSI_STOPPED_MAX; i++) {
		struct scsi_stopped *st = &c->stopped[i];

		if (st->used && st->id == s->id) {
			if (st->pending || st->gen != c->event_gen) {
				ss->evq.missed = true;
				VHD_NOTICELOG("%s: events happened while stopped; sending "
					      "EVENTS_MISSED\n", s->name);
			}
			st->used = false;
		}
	}
	s->priv = ss;
	return 0;
}

static void
scsi_session_stop(struct vhost_session *s)
{
	struct scsi_ctrlr *c = to_scsi(s->vdev);
	struct scsi_session *ss = s->priv;
	uint32_t i;

	if (ss == NULL) {
		return;
	}
	for (i = 0; i < VHOST_SCSI_MAX_TARGETS; i++) {
		if (c->tgts[i].dev != NULL) {
			scsi_dev_free_port(c->tgts[i].dev, &ss->port);
		}
	}
	if (ss->evq.cnt > 0) {
		VHD_INFOLOG("%s: %u undelivered events; EVENTS_MISSED if it restarts\n", s->name,
			    ss->evq.cnt);
	}
	/* Remember where this session stood; a new connection never matches its id. */
	c->stopped[c->stopped_next] = (struct scsi_stopped){
		.used = true, .pending = ss->evq.cnt > 0 || ss->evq.missed, .id = s->id,
		.gen = c->event_gen,
	};
	c->stopped_next = (c->stopped_next + 1) % SCSI_STOPPED_MAX;
	free(ss);
	s->priv = NULL;
}

/* ---- RPC-facing (app thread, g_vhost_mutex held by the caller) ------------------- */

static void
scsi_dump_info_json(struct vhost_dev *vdev, struct json_object *backend)
{
	struct scsi_ctrlr *c = to_scsi(vdev);
	struct json_object *arr = json_object_new_array();
	uint32_t i, l;

	for (i = 0; i < VHOST_SCSI_MAX_TARGETS; i++) {
		struct json_object *t, *luns;
		char name[32];

		if (!c->info[i].present) {
			continue;
		}
		t = json_object_new_object();
		luns = json_object_new_array();
		snprintf(name, sizeof(name), "Target %u", i);
		json_object_object_add(t, "scsi_dev_num", json_object_new_int64(i));
		json_object_object_add(t, "id", json_object_new_int64(i));
		json_object_object_add(t, "target_name", json_object_new_string(name));
		for (l = 0; l < SCSI_DEV_MAX_LUN; l++) {
			struct json_object *lo;

			if (c->info[i].bdev[l] == NULL) {
				continue;
			}
			lo = json_object_new_object();
			json_object_object_add(lo, "id", json_object_new_int64(l));
			json_object_object_add(lo, "bdev_name",
					       json_object_new_string(c->info[i].bdev[l]));
			json_object_array_add(luns, lo);
		}
		json_object_object_add(t, "luns", luns);
		json_object_array_add(arr, t);
	}
	json_object_object_add(backend, "scsi", arr);
}

static void
scsi_write_config_json(struct vhost_dev *vdev, struct json_object *config)
{
	struct scsi_ctrlr *c = to_scsi(vdev);
	struct json_object *params;
	char mask[CPUSET_MAX_CPUS / 4 + 3];
	uint32_t i, l;

	/* Created delayed so that every target is in place before QEMU can connect. */
	params = json_object_new_object();
	json_object_object_add(params, "ctrlr", json_object_new_string(vdev->name));
	json_object_object_add(params, "cpumask",
			       json_object_new_string(cpuset_fmt_hex(&vdev->cpumask, mask,
								     sizeof(mask))));
	json_object_object_add(params, "delay", json_object_new_boolean(true));
	rpc_config_add(config, "vhost_create_scsi_controller", params);

	for (i = 0; i < VHOST_SCSI_MAX_TARGETS; i++) {
		bool first = true;

		if (!c->info[i].present) {
			continue;
		}
		for (l = 0; l < SCSI_DEV_MAX_LUN; l++) {
			if (c->info[i].bdev[l] == NULL) {
				continue;
			}
			params = json_object_new_object();
			json_object_object_add(params, "ctrlr", json_object_new_string(vdev->name));
			json_object_object_add(params, "scsi_target_num", json_object_new_int64(i));
			json_object_object_add(params, "bdev_name",
					       json_object_new_string(c->info[i].bdev[l]));
			if (first) {
				if (l != 0) {
					json_object_object_add(params, "lun",
							       json_object_new_int64(l));
				}
				rpc_config_add(config, "vhost_scsi_controller_add_target", params);
				first = false;
			} else {
				json_object_object_add(params, "lun", json_object_new_int64(l));
				rpc_config_add(config, "vhost_scsi_controller_add_lun", params);
			}
		}
	}
	if (c->started) {
		params = json_object_new_object();
		json_object_object_add(params, "ctrlr", json_object_new_string(vdev->name));
		rpc_config_add(config, "vhost_start_scsi_controller", params);
	}
	if (vdev->coal_delay_base_us != VHOST_COALESCING_DELAY_BASE_US ||
	    vdev->coal_iops_threshold != VHOST_COALESCING_IOPS_THRESHOLD) {
		params = json_object_new_object();
		json_object_object_add(params, "ctrlr", json_object_new_string(vdev->name));
		json_object_object_add(params, "delay_base_us",
				       json_object_new_int64(vdev->coal_delay_base_us));
		json_object_object_add(params, "iops_threshold",
				       json_object_new_int64(vdev->coal_iops_threshold));
		rpc_config_add(config, "vhost_controller_set_coalescing", params);
	}
}

static void
scsi_destroy(struct vhost_dev *vdev)
{
	struct scsi_ctrlr *c = to_scsi(vdev);
	uint32_t i;

	for (i = 0; i < VHOST_SCSI_MAX_TARGETS; i++) {
		scsi_info_clear(c, i);
	}
	free(c);
}

static const struct vhost_dev_ops g_scsi_ops = {
	.type = "scsi",
	.session_start = scsi_session_start,
	.session_stop = scsi_session_stop,
	.vq_start = scsi_vq_start,
	.vq_stop = scsi_vq_stop,
	.vq_poll = scsi_vq_poll,
	.dump_info_json = scsi_dump_info_json,
	.write_config_json = scsi_write_config_json,
	.destroy = scsi_destroy,
	.shutdown = scsi_shutdown,
};

/* ---- controller API (app thread) ------------------------------------------------ */

int
vhost_scsi_controller_create(const char *name, const char *cpumask, bool delay)
{
	struct scsi_ctrlr *c;
	uint64_t features;
	uint32_t i;
	int rc;

	rc = vhost_name_check(name);
	if (rc != 0) {
		return rc;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return -ENOMEM;
	}
	for (i = 0; i < VHOST_SCSI_MAX_TARGETS; i++) {
		c->tgts[i].ctrlr = c;
		c->tgts[i].num = i;
	}
	/* QEMU 7.2 forwards what the guest acks unfiltered (but HOTPLUG): offer them all. */
	features = (1ull << VIRTIO_SCSI_F_INOUT) | (1ull << VIRTIO_SCSI_F_HOTPLUG) |
		   (1ull << VIRTIO_SCSI_F_CHANGE);
	/* QEMU forwards RING_PACKED too (-device vhost-user-scsi-pci,packed=on): offer it,
	 * or DPDK would drop the connection when the guest acks it. */
	features |= 1ull << VHOST_F_RING_PACKED;
	c->started = !delay;
	/* No F_CONFIG: QEMU builds the virtio-scsi config space itself. */
	rc = vhost_dev_register_ext(&c->vdev, name, cpumask, &g_scsi_ops, features, 0, delay);
	if (rc != 0) {
		free(c);
		return rc;
	}
	return 0;
}

/* The scsi controller `name`, or NULL with *rc = -ENODEV / -EINVAL. */
static struct scsi_ctrlr *
scsi_ctrlr_get(const char *name, int *rc)
{
	struct vhost_dev *vdev;

	pthread_mutex_lock(&g_vhost_mutex);
	vdev = name != NULL ? vhost_dev_find(name) : NULL;
	if (vdev == NULL || vdev->deleting) {
		pthread_mutex_unlock(&g_vhost_mutex);
		*rc = -ENODEV;
		return NULL;
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	if (vdev->ops != &g_scsi_ops) {
		*rc = -EINVAL;
		return NULL;
	}
	*rc = 0;
	return to_scsi(vdev);
}

int
vhost_scsi_controller_start(const char *name)
{
	struct scsi_ctrlr *c;
	int rc;

	c = scsi_ctrlr_get(name, &rc);
	if (c == NULL) {
		return rc;
	}
	rc = vhost_dev_start(&c->vdev);
	if (rc == 0) {
		pthread_mutex_lock(&g_vhost_mutex);
		c->started = true;
		pthread_mutex_unlock(&g_vhost_mutex);
	}
	return rc;
}

static int
scsi_op_post(const char *name, int32_t num, uint32_t lun, const char *bdev_name,
	     thread_msg_fn fn, vhost_scsi_done_cb cb, void *cb_arg)
{
	struct scsi_ctrlr *c;
	struct scsi_op *op;
	int rc;

	c = scsi_ctrlr_get(name, &rc);
	if (c == NULL) {
		return rc;
	}
	if (num < -1 || num >= VHOST_SCSI_MAX_TARGETS || lun >= SCSI_DEV_MAX_LUN) {
		return -EINVAL;
	}
	if (bdev_name != NULL && bdev_get_by_name(bdev_name) == NULL) {
		VHD_ERRLOG("%s: no bdev named %s\n", name, bdev_name);
		return -EINVAL;
	}
	op = calloc(1, sizeof(*op));
	if (op == NULL) {
		return -ENOMEM;
	}
	op->ctrlr = c;
	op->num = num;
	op->lun = lun;
	op->cb = cb;
	op->cb_arg = cb_arg;
	if (bdev_name != NULL) {
		op->bdev_name = strdup(bdev_name);
		if (op->bdev_name == NULL) {
			free(op);
			return -ENOMEM;
		}
	}
	rc = thread_send_msg(c->vdev.thread, fn, op);
	if (rc != 0) {
		free(op->bdev_name);
		free(op);
		return rc;
	}
	return 0;
}

int
vhost_scsi_controller_add_target(const char *name, int32_t num, const char *bdev_name,
				 uint32_t lun, vhost_scsi_done_cb cb, void *cb_arg)
{
	if (bdev_name == NULL) {
		return -EINVAL;
	}
	return scsi_op_post(name, num, lun, bdev_name, scsi_add_target_msg, cb, cb_arg);
}

int
vhost_scsi_controller_add_lun(const char *name, uint32_t num, const char *bdev_name, uint32_t lun,
			      vhost_scsi_done_cb cb, void *cb_arg)
{
	int rc;

	if (bdev_name == NULL || num >= VHOST_SCSI_MAX_TARGETS) {
		return scsi_ctrlr_get(name, &rc) == NULL ? rc : -EINVAL;
	}
	return scsi_op_post(name, (int32_t)num, lun, bdev_name, scsi_add_lun_msg, cb, cb_arg);
}

int
vhost_scsi_controller_remove_target(const char *name, uint32_t num, vhost_scsi_done_cb cb,
				    void *cb_arg)
{
	int rc;

	if (num >= VHOST_SCSI_MAX_TARGETS) {
		return scsi_ctrlr_get(name, &rc) == NULL ? rc : -EINVAL;
	}
	return scsi_op_post(name, (int32_t)num, 0, NULL, scsi_remove_target_msg, cb, cb_arg);
}

int
vhost_scsi_controller_remove_lun(const char *name, uint32_t num, uint32_t lun,
				 vhost_scsi_done_cb cb, void *cb_arg)
{
	int rc;

	if (num >= VHOST_SCSI_MAX_TARGETS) {
		return scsi_ctrlr_get(name, &rc) == NULL ? rc : -EINVAL;
	}
	return scsi_op_post(name, (int32_t)num, lun, NULL, scsi_remove_lun_msg, cb, cb_arg);
}
