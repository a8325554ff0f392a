/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Devices and LUNs: lifecycle, hot-remove, task dispatch and completion,
 * unit attentions, LBA range locks, task management.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/log.h"
#include "scsi_internal.h"

VHD_LOG_REGISTER_COMPONENT(scsi)

static void scsi_dev_check_destroy(struct scsi_dev *dev);
static void scsi_lun_check_drained(struct scsi_lun *lun);
static void scsi_tmf_child_done(struct scsi_task *tmf);

/* ---- completion ---------------------------------------------------------------- */

static void
scsi_task_call_cb(struct scsi_task *task)
{
	struct scsi_dev *dev = task->dev;

	if (task->flags & SCSI_TASK_F_TMF) {
		dev->pending_tmfs--;
	} else {
		dev->in_flight_tasks--;
	}
	if (task->cb_fn != NULL) {
		task->cb_fn(task, task->cb_arg);
	}
	/* dev is freed only from a message, so it is still valid here */
	scsi_dev_check_destroy(dev);
}

static void
scsi_dev_deferred_msg(void *ctx)
{
	struct scsi_dev *dev = ctx;
	struct scsi_task *task;

	dev->deferred_scheduled = false;
	while ((task = TAILQ_FIRST(&dev->deferred)) != NULL) {
		TAILQ_REMOVE(&dev->deferred, task, link);
		scsi_task_call_cb(task);
	}
	scsi_dev_check_destroy(dev);
}

/* Run the task's callback, deferred if we are still inside the queue call. */
static void
scsi_task_complete(struct scsi_task *task)
{
	struct scsi_dev *dev = task->dev;

	if (!(task->flags & SCSI_TASK_F_IN_SUBMIT)) {
		scsi_task_call_cb(task);
		return;
	}
	TAILQ_INSERT_TAIL(&dev->deferred, task, link);
	if (!dev->deferred_scheduled) {
		if (thread_send_msg(dev->thread, scsi_dev_deferred_msg, dev) == 0) {
			dev->deferred_scheduled = true;
		} else {
			/* Ring full: complete now rather than never. */
			VHD_ERRLOG_RATELIMIT("scsi %s: cannot defer completion\n", dev->name);
			TAILQ_REMOVE(&dev->deferred, task, link);
			scsi_task_call_cb(task);
		}
	}
}

void
scsi_task_finish(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	struct scsi_task *parent;

	if (task->flags & SCSI_TASK_F_DONE) {
		VHD_ERRLOG("scsi: task %p completed twice\n", (void *)task);
		return;
	}
	task->flags |= SCSI_TASK_F_DONE;
	if (task->trim_iov != NULL) {
		task->trim_iov->iov_len = task->trim_len;
		task->trim_iov = NULL;
	}
	free(task->bounce);
	task->bounce = NULL;
	task->bounce_len = 0;
	if (task->flags & SCSI_TASK_F_ABORTED) {
		task->status = SCSI_STATUS_TASK_ABORTED;
		task->sense_len = 0;
	}
	task->residual = task->transfer_len > task->data_transferred ?
			 task->transfer_len - task->data_transferred : 0;

	parent = task->parent;
	task->parent = NULL;
	if (lun != NULL) {
		TAILQ_REMOVE(&lun->tasks, task, link);
		scsi_lun_range_release(lun, task);
	}
	scsi_task_complete(task);
	/* task may be gone now */
	if (parent != NULL) {
		scsi_tmf_child_done(parent);
	}
	if (lun != NULL) {
		scsi_lun_check_drained(lun);
	}
}

/* ---- unit attentions ----------------------------------------------------------- */

static const uint8_t g_ua_sense[SCSI_UA_COUNT][2] = {
	[SCSI_UA_POWER_ON] = {0x29, 0x00},
	[SCSI_UA_BUS_DEVICE_RESET] = {0x29, 0x03},
	[SCSI_UA_NEXUS_LOSS] = {0x29, 0x07},
	[SCSI_UA_COMMANDS_CLEARED] = {0x2f, 0x00},
	[SCSI_UA_MODE_CHANGED] = {0x2a, 0x01},
	[SCSI_UA_RES_PREEMPTED] = {0x2a, 0x03},
	[SCSI_UA_RES_RELEASED] = {0x2a, 0x04},
	[SCSI_UA_REG_PREEMPTED] = {0x2a, 0x05},
	[SCSI_UA_CAPACITY_CHANGED] = {0x2a, 0x09},
	[SCSI_UA_LUNS_CHANGED] = {0x3f, 0x0e},
};

struct scsi_nexus *
scsi_lun_get_nexus(struct scsi_lun *lun, const struct scsi_port *port, bool create)
{
	struct scsi_nexus *n;

	if (port == NULL) {
		return NULL;
	}
	TAILQ_FOREACH(n, &lun->nexuses, link) {
		if (n->port_id == port->id) {
			return n;
		}
	}
	if (!create || lun->num_nexus >= SCSI_LUN_MAX_NEXUS) {
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		return NULL;
	}
	n->port_id = port->id;
	memcpy(n->name, port->name, sizeof(n->name));
	n->ua = 1u << SCSI_UA_POWER_ON;	/* first contact: the LUN "powered on" */
	TAILQ_INSERT_TAIL(&lun->nexuses, n, link);
	lun->num_nexus++;
	return n;
}

void
scsi_lun_set_ua_all(struct scsi_lun *lun, enum scsi_ua ua, const struct scsi_port *except)
{
	struct scsi_nexus *n;

	TAILQ_FOREACH(n, &lun->nexuses, link) {
		if (except == NULL || n->port_id != except->id) {
			n->ua |= 1u << ua;
		}
	}
}

void
scsi_lun_set_ua_port_name(struct scsi_lun *lun, enum scsi_ua ua, const char *name,
			  const struct scsi_port *except)
{
	struct scsi_nexus *n;

	TAILQ_FOREACH(n, &lun->nexuses, link) {
		if (strcmp(n->name, name) == 0 && (except == NULL || n->port_id != except->id)) {
			n->ua |= 1u << ua;
		}
	}
}

bool
scsi_lun_pop_ua(struct scsi_lun *lun, const struct scsi_port *port, uint8_t *asc, uint8_t *ascq)
{
	struct scsi_nexus *n = scsi_lun_get_nexus(lun, port, true);
	int bit;

	if (n == NULL || n->ua == 0) {
		return false;
	}
	bit = __builtin_ctz(n->ua);
	/* A reset supersedes the older conditions it implies. */
	if (bit <= SCSI_UA_NEXUS_LOSS) {
		n->ua &= ~((1u << SCSI_UA_NEXUS_LOSS) | (1u << SCSI_UA_BUS_DEVICE_RESET) |
			   (1u << SCSI_UA_POWER_ON));
	} else {
		n->ua &= ~(1u << bit);
	}
	*asc = g_ua_sense[bit][0];
	*ascq = g_ua_sense[bit][1];
	return true;
}

bool
scsi_lun_report_ua(struct scsi_lun *lun, struct scsi_task *task)
{
	uint8_t asc, ascq;

	if (!scsi_lun_pop_ua(lun, task->initiator_port, &asc, &ascq)) {
		return false;
	}
	scsi_task_set_sense(task, SCSI_SENSE_UNIT_ATTENTION, asc, ascq);
	return true;
}

/* ---- LBA range locks (COMPARE AND WRITE atomicity) ------------------------------ */

static bool
ranges_overlap(const struct scsi_task *a, const struct scsi_task *b)
{
	if (a->num_blocks == 0 || b->num_blocks == 0) {
		return false;
	}
	return a->lba < b->lba + b->num_blocks && b->lba < a->lba + a->num_blocks;
}

/* May `task` start? Admitted range holders and earlier blocked tasks are obstacles. */
static bool
scsi_lun_range_can_start(struct scsi_lun *lun, struct scsi_task *task)
{
	struct scsi_task *t;

	TAILQ_FOREACH(t, &lun->tasks, link) {
		if (t == task || !(t->flags & SCSI_TASK_F_RANGE) ||
		    (t->flags & SCSI_TASK_F_BLOCKED)) {
			continue;
		}
		if (((t->flags | task->flags) & SCSI_TASK_F_LOCK) && ranges_overlap(t, task)) {
			return false;
		}
	}
	TAILQ_FOREACH(t, &lun->blocked, wait_link) {
		if (t == task) {
			break;
		}
		if (ranges_overlap(t, task)) {
			return false;
		}
	}
	return true;
}

bool
scsi_lun_range_admit(struct scsi_lun *lun, struct scsi_task *task)
{
	task->flags |= SCSI_TASK_F_RANGE;
	if (task->flags & SCSI_TASK_F_LOCK) {
		lun->num_locks++;
	} else if (lun->num_locks == 0) {
		return true;	/* fast path: no COMPARE AND WRITE anywhere */
	}
	if (scsi_lun_range_can_start(lun, task)) {
		return true;
	}
	task->flags |= SCSI_TASK_F_BLOCKED;
	TAILQ_INSERT_TAIL(&lun->blocked, task, wait_link);
	return false;
}

void
scsi_lun_range_release(struct scsi_lun *lun, struct scsi_task *task)
{
	TAILQ_HEAD(, scsi_task) start = TAILQ_HEAD_INITIALIZER(start);
	struct scsi_task *t, *tmp;

	if (!(task->flags & SCSI_TASK_F_RANGE)) {
		return;
	}
	if (task->flags & SCSI_TASK_F_BLOCKED) {
		TAILQ_REMOVE(&lun->blocked, task, wait_link);
		task->flags &= ~SCSI_TASK_F_BLOCKED;
	}
	task->flags &= ~SCSI_TASK_F_RANGE;
	if (task->flags & SCSI_TASK_F_LOCK) {
		task->flags &= ~SCSI_TASK_F_LOCK;
		lun->num_locks--;
	}
	TAILQ_FOREACH_SAFE(t, &lun->blocked, wait_link, tmp) {
		if (scsi_lun_range_can_start(lun, t)) {
			TAILQ_REMOVE(&lun->blocked, t, wait_link);
			t->flags &= ~SCSI_TASK_F_BLOCKED;
			TAILQ_INSERT_TAIL(&start, t, wait_link);
		}
	}
	while ((t = TAILQ_FIRST(&start)) != NULL) {
		TAILQ_REMOVE(&start, t, wait_link);
		scsi_bdev_resume(t);
	}
}

/* ---- task management ----------------------------------------------------------- */

static void
scsi_tmf_finish(struct scsi_task *tmf)
{
	scsi_task_complete(tmf);
}

static void
scsi_tmf_child_done(struct scsi_task *tmf)
{
	if (--tmf->outstanding == 0) {
		scsi_tmf_finish(tmf);
	}
}

/* Abort one command; the TMF waits for it if its I/O is in flight. */
static void
scsi_task_abort(struct scsi_task *task, struct scsi_task *tmf)
{
	if (task->flags & (SCSI_TASK_F_ABORTED | SCSI_TASK_F_DONE)) {
		return;
	}
	task->flags |= SCSI_TASK_F_ABORTED;
	if (task->flags & SCSI_TASK_F_BLOCKED) {
		/* Never reached the bdev: finish now (deferred: we are inside a queue call). */
		task->flags |= SCSI_TASK_F_IN_SUBMIT;
		scsi_task_finish(task);
		return;
	}
	/* In flight at the bdev or parked for a bdev_io: finishes from its callback. */
	if (tmf != NULL) {
		task->parent = tmf;
		tmf->outstanding++;
	}
}

static uint32_t
scsi_lun_abort_matching(struct scsi_lun *lun, const struct scsi_port *port, const char *name,
			struct scsi_task *tmf, struct scsi_task *except)
{
	struct scsi_task *t, *tmp;
	uint32_t n = 0;

	TAILQ_FOREACH_SAFE(t, &lun->tasks, link, tmp) {
		if (t == except || (t->flags & SCSI_TASK_F_ABORTED)) {
			continue;
		}
		if (port != NULL &&
		    (t->initiator_port == NULL || t->initiator_port->id != port->id)) {
			continue;
		}
		if (name != NULL &&
		    (t->initiator_port == NULL || strcmp(t->initiator_port->name, name) != 0)) {
			continue;
		}
		scsi_task_abort(t, tmf);
		n++;
		/* finishing a blocked task may have released others: restart the walk */
		tmp = TAILQ_FIRST(&lun->tasks);
	}
	return n;
}

void
scsi_lun_abort_port_name(struct scsi_lun *lun, const char *name, struct scsi_task *except)
{
	scsi_lun_abort_matching(lun, NULL, name, NULL, except);
}

struct scsi_reset_ctx {
	struct scsi_lun		*lun;
	struct scsi_task	*tmf;
};

static void
scsi_lun_reset_done(struct bdev_io *bdev_io, bool success, void *cb_arg)
{
	struct scsi_reset_ctx *ctx = cb_arg;
	struct scsi_lun *lun = ctx->lun;
	struct scsi_task *tmf = ctx->tmf;

	bdev_free_io(bdev_io);
	free(ctx);
	lun->resets--;
	if (tmf != NULL) {
		scsi_tmf_child_done(tmf);
	}
	scsi_lun_check_drained(lun);
}

static void
scsi_lun_mode_defaults(struct scsi_lun *lun)
{
	lun->mode.wce = lun->bdev != NULL ? bdev_has_write_cache(lun->bdev) : false;
	lun->mode.d_sense = false;
}

static void
scsi_lun_reset(struct scsi_lun *lun, struct scsi_task *tmf)
{
	struct scsi_reset_ctx *ctx;
	bool busy = !TAILQ_EMPTY(&lun->tasks);

	scsi_lun_abort_matching(lun, NULL, NULL, tmf, NULL);
	scsi_lun_set_ua_all(lun, SCSI_UA_BUS_DEVICE_RESET, NULL);
	scsi_lun_mode_defaults(lun);
	lun->prevent_removal = false;
	if (!busy || lun->ch == NULL || lun->state != SCSI_LUN_ACTIVE) {
		return;
	}
	/* Hurry the in-flight I/O along; the aborted tasks finish from their callbacks. */
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		return;
	}
	ctx->lun = lun;
	ctx->tmf = tmf;
	if (bdev_reset(lun->desc, lun->ch, scsi_lun_reset_done, ctx) != 0) {
		free(ctx);
		return;
	}
	lun->resets++;
	tmf->outstanding++;
}

static struct scsi_lun *
scsi_dev_lun_any(struct scsi_dev *dev, uint32_t lun_id)
{
	struct scsi_lun *lun;

	if (lun_id >= SCSI_DEV_MAX_LUN) {
		return NULL;
	}
	lun = dev->luns[lun_id];
	if (lun == NULL || lun->state == SCSI_LUN_CLOSING) {
		return NULL;
	}
	return lun;
}

void
scsi_dev_queue_mgmt_task(struct scsi_dev *dev, struct scsi_task *tmf)
{
	struct scsi_lun *lun = scsi_dev_lun_any(dev, tmf->lun_id);
	struct scsi_nexus *n;
	struct scsi_task *t;
	uint32_t i;

	tmf->dev = dev;
	tmf->lun = NULL;
	tmf->flags = SCSI_TASK_F_TMF | SCSI_TASK_F_IN_SUBMIT;
	tmf->outstanding = 0;
	tmf->status = SCSI_STATUS_GOOD;
	tmf->sense_len = 0;
	tmf->tmf_response = SCSI_TMF_RESP_COMPLETE;
	dev->pending_tmfs++;

	switch (tmf->tmf_function) {
	case SCSI_TMF_ABORT_TASK:
	case SCSI_TMF_QUERY_TASK:
		if (lun == NULL) {
			tmf->tmf_response = SCSI_TMF_RESP_INVALID_LUN;
			break;
		}
		TAILQ_FOREACH(t, &lun->tasks, link) {
			if (t->tag == tmf->tmf_tag && t->initiator_port != NULL &&
			    tmf->initiator_port != NULL &&
			    t->initiator_port->id == tmf->initiator_port->id) {
				break;
			}
		}
		if (tmf->tmf_function == SCSI_TMF_QUERY_TASK) {
			tmf->tmf_response = t != NULL ? SCSI_TMF_RESP_SUCCEEDED :
					    SCSI_TMF_RESP_COMPLETE;
		} else if (t != NULL) {
			scsi_task_abort(t, tmf);
		}
		break;
	case SCSI_TMF_ABORT_TASK_SET:
	case SCSI_TMF_CLEAR_TASK_SET:
		if (lun == NULL) {
			tmf->tmf_response = SCSI_TMF_RESP_INVALID_LUN;
			break;
		}
		if (tmf->tmf_function == SCSI_TMF_ABORT_TASK_SET) {
			if (tmf->initiator_port != NULL) {
				scsi_lun_abort_matching(lun, tmf->initiator_port, NULL, tmf, NULL);
			}
			break;
		}
		/* Other initiators whose commands were cleared hear about it. */
		TAILQ_FOREACH(n, &lun->nexuses, link) {
			if (tmf->initiator_port != NULL && n->port_id == tmf->initiator_port->id) {
				continue;
			}
			TAILQ_FOREACH(t, &lun->tasks, link) {
				if (t->initiator_port != NULL &&
				    t->initiator_port->id == n->port_id) {
					n->ua |= 1u << SCSI_UA_COMMANDS_CLEARED;
					break;
				}
			}
		}
		scsi_lun_abort_matching(lun, NULL, NULL, tmf, NULL);
		break;
	case SCSI_TMF_LUN_RESET:
		if (lun == NULL) {
			tmf->tmf_response = SCSI_TMF_RESP_INVALID_LUN;
			break;
		}
		scsi_lun_reset(lun, tmf);
		break;
	case SCSI_TMF_TARGET_RESET:
		for (i = 0; i < SCSI_DEV_MAX_LUN; i++) {
			lun = scsi_dev_lun_any(dev, i);
			if (lun != NULL) {
				scsi_lun_reset(lun, tmf);
			}
		}
		break;
	case SCSI_TMF_I_T_NEXUS_RESET:
		if (tmf->initiator_port == NULL) {
			tmf->tmf_response = SCSI_TMF_RESP_FAILED;
			break;
		}
		for (i = 0; i < SCSI_DEV_MAX_LUN; i++) {
			lun = scsi_dev_lun_any(dev, i);
			if (lun == NULL) {
				continue;
			}
			scsi_lun_abort_matching(lun, tmf->initiator_port, NULL, tmf, NULL);
			n = scsi_lun_get_nexus(lun, tmf->initiator_port, false);
			if (n != NULL) {
				n->ua |= 1u << SCSI_UA_NEXUS_LOSS;
			}
		}
		break;
	default:
		tmf->tmf_response = SCSI_TMF_RESP_REJECTED;
		break;
	}
	if (tmf->outstanding == 0) {
		scsi_tmf_finish(tmf);
	}
	tmf->flags &= ~SCSI_TASK_F_IN_SUBMIT;
}

/* ---- commands ------------------------------------------------------------------ */

static struct scsi_lun *
scsi_dev_lun_active(struct scsi_dev *dev, uint32_t lun_id)
{
	struct scsi_lun *lun;

	if (dev->destroying || lun_id >= SCSI_DEV_MAX_LUN) {
		return NULL;
	}
	lun = dev->luns[lun_id];
	if (lun == NULL || lun->state != SCSI_LUN_ACTIVE) {
		return NULL;
	}
	return lun;
}

/* Commands that neither report nor clear a unit attention (SPC-4 5.14). */
static bool
scsi_cmd_ignores_ua(uint8_t opcode)
{
	return opcode == SPC_INQUIRY || opcode == SPC_REPORT_LUNS || opcode == SPC_REQUEST_SENSE;
}

void
scsi_dev_queue_task(struct scsi_dev *dev, struct scsi_task *task)
{
	struct scsi_lun *lun = scsi_dev_lun_active(dev, task->lun_id);

	task->dev = dev;
	task->lun = NULL;
	task->flags = SCSI_TASK_F_IN_SUBMIT;
	task->status = SCSI_STATUS_GOOD;
	task->sense_len = 0;
	task->data_transferred = 0;
	task->residual = 0;
	task->parent = NULL;
	task->outstanding = 0;
	task->bounce = NULL;
	task->trim_iov = NULL;
	task->num_blocks = 0;
	dev->in_flight_tasks++;

	if (lun == NULL || task->initiator_port == NULL) {
		scsi_dev_exec_null_lun(dev, task);
		scsi_task_finish(task);
		goto out;
	}
	task->lun = lun;
	TAILQ_INSERT_TAIL(&lun->tasks, task, link);
	if (!scsi_cdb_check(task)) {
		scsi_task_finish(task);
		goto out;
	}
	if (!scsi_cmd_ignores_ua(task->cdb[0]) && scsi_lun_report_ua(lun, task)) {
		scsi_task_finish(task);
		goto out;
	}
	if (scsi_pr_check(task)) {
		scsi_task_finish(task);
		goto out;
	}
	if (scsi_bdev_execute(task) == SCSI_EXEC_COMPLETE) {
		scsi_task_finish(task);
	}
out:
	task->flags &= ~SCSI_TASK_F_IN_SUBMIT;
}

/* ---- null LUN ------------------------------------------------------------------ */

uint32_t
scsi_dev_report_luns(struct scsi_dev *dev, uint8_t select, uint8_t *buf, uint32_t len)
{
	uint32_t i, n = 0;

	memset(buf, 0, 8);
	if (select != 0x01) {	/* 01h: well known LUNs only, of which we have none */
		for (i = 0; i < SCSI_DEV_MAX_LUN; i++) {
			if (scsi_dev_lun_active(dev, i) == NULL) {
				continue;
			}
			if (8 + (n + 1) * 8 > len) {
				break;
			}
			scsi_lun_id_encode(i, buf + 8 + n * 8);
			n++;
		}
	}
	scsi_put32(buf, n * 8);
	return 8 + n * 8;
}

void
scsi_dev_exec_null_lun(struct scsi_dev *dev, struct scsi_task *task)
{
	uint8_t buf[8 + 8 * SCSI_DEV_MAX_LUN];
	const uint8_t *cdb = task->cdb;
	uint32_t len, alloc;

	task->lun = NULL;
	switch (cdb[0]) {
	case SPC_INQUIRY:
		if (task->cdb_len < 6 || (cdb[1] & 0x01)) {
			break;
		}
		alloc = scsi_get16(&cdb[3]);
		scsi_bdev_inquiry_std(NULL, buf, &len);
		scsi_task_data_in(task, buf, VHD_MIN(len, alloc));
		return;
	case SPC_REPORT_LUNS:
		if (task->cdb_len < 12) {
			break;
		}
		if (cdb[2] > 0x02) {
			scsi_task_invalid_field(task, true, 2, -1);
			return;
		}
		alloc = scsi_get32(&cdb[6]);
		len = scsi_dev_report_luns(dev, cdb[2], buf, sizeof(buf));
		scsi_task_data_in(task, buf, VHD_MIN(len, alloc));
		return;
	case SPC_REQUEST_SENSE:
		if (task->cdb_len < 6) {
			break;
		}
		/* The sense data itself reports the missing LUN, with GOOD status. */
		scsi_task_build_sense(buf, &len, cdb[1] & 0x01, SCSI_SENSE_ILLEGAL_REQUEST,
				      SCSI_ASC_LUN_NOT_SUPPORTED);
		scsi_task_data_in(task, buf, VHD_MIN(len, (uint32_t)cdb[4]));
		return;
	default:
		break;
	}
	scsi_task_set_sense_full(task, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED,
				 false);
}

/* ---- LUN lifecycle ------------------------------------------------------------- */

static void
scsi_lun_free(struct scsi_lun *lun)
{
	struct scsi_nexus *n;

	while ((n = TAILQ_FIRST(&lun->nexuses)) != NULL) {
		TAILQ_REMOVE(&lun->nexuses, n, link);
		free(n);
	}
	scsi_pr_fini(lun);
	free(lun->bdev_name);
	free(lun);
}

static void
scsi_dev_luns_changed(struct scsi_dev *dev, uint32_t except_id)
{
	uint32_t i;

	for (i = 0; i < SCSI_DEV_MAX_LUN; i++) {
		if (i != except_id && dev->luns[i] != NULL) {
			scsi_lun_set_ua_all(dev->luns[i], SCSI_UA_LUNS_CHANGED, NULL);
		}
	}
}

static void
scsi_lun_release_msg(void *ctx)
{
	struct scsi_lun *lun = ctx;
	struct scsi_dev *dev = lun->dev;
	scsi_dev_done_cb cb = lun->remove_cb;
	void *cb_arg = lun->remove_cb_arg;
	uint32_t id = lun->id;

	if (lun->ch != NULL) {
		io_channel_put(lun->ch);
		lun->ch = NULL;
	}
	if (lun->desc != NULL) {
		bdev_close(lun->desc);
		lun->desc = NULL;
	}
	dev->luns[id] = NULL;
	dev->num_luns--;
	scsi_lun_free(lun);
	scsi_dev_luns_changed(dev, id);
	VHD_INFOLOG("scsi %s: LUN %u removed\n", dev->name, id);
	if (dev->event_cb != NULL) {
		dev->event_cb(dev, id, SCSI_LUN_EVENT_REMOVED, dev->event_ctx);
	}
	if (cb != NULL) {
		cb(cb_arg, 0);
	}
	scsi_dev_check_destroy(dev);
}

static void
scsi_lun_check_drained(struct scsi_lun *lun)
{
	if (lun->state != SCSI_LUN_REMOVING || !TAILQ_EMPTY(&lun->tasks) || lun->resets != 0) {
		return;
	}
	lun->state = SCSI_LUN_CLOSING;
	if (thread_send_msg(lun->dev->thread, scsi_lun_release_msg, lun) != 0) {
		VHD_ERRLOG("scsi %s: cannot schedule LUN %u release\n", lun->dev->name, lun->id);
		scsi_lun_release_msg(lun);
	}
}

static void
scsi_lun_start_removal(struct scsi_lun *lun, scsi_dev_done_cb cb_fn, void *cb_arg)
{
	lun->state = SCSI_LUN_REMOVING;
	lun->remove_cb = cb_fn;
	lun->remove_cb_arg = cb_arg;
	scsi_lun_check_drained(lun);
}

static void
scsi_lun_bdev_event(enum bdev_event_type type, struct bdev *bdev, void *event_ctx)
{
	struct scsi_lun *lun = event_ctx;
	struct scsi_dev *dev = lun->dev;

	switch (type) {
	case BDEV_EVENT_REMOVE:
		if (lun->state != SCSI_LUN_ACTIVE) {
			return;
		}
		VHD_NOTICELOG("scsi %s: bdev %s of LUN %u is being removed\n", dev->name,
			      lun->bdev_name, lun->id);
		if (dev->event_cb != NULL) {
			dev->event_cb(dev, lun->id, SCSI_LUN_EVENT_REMOVING, dev->event_ctx);
		}
		scsi_lun_start_removal(lun, NULL, NULL);
		break;
	case BDEV_EVENT_RESIZE:
		if (lun->state != SCSI_LUN_ACTIVE) {
			return;
		}
		scsi_lun_set_ua_all(lun, SCSI_UA_CAPACITY_CHANGED, NULL);
		if (dev->event_cb != NULL) {
			dev->event_cb(dev, lun->id, SCSI_LUN_EVENT_RESIZE, dev->event_ctx);
		}
		break;
	default:
		break;
	}
}

int
scsi_lun_get_channel(struct scsi_lun *lun)
{
	if (lun->ch == NULL) {
		lun->ch = bdev_get_io_channel(lun->desc);
		if (lun->ch == NULL) {
			return -ENOMEM;
		}
	}
	return 0;
}

int
scsi_dev_add_lun(struct scsi_dev *dev, const struct scsi_lun_opts *opts)
{
	struct scsi_lun *lun;
	int rc;

	if (opts == NULL || opts->bdev_name == NULL || opts->lun_id >= SCSI_DEV_MAX_LUN) {
		return -EINVAL;
	}
	if (dev->destroying) {
		return -EBUSY;
	}
	if (dev->luns[opts->lun_id] != NULL) {
		return -EEXIST;
	}
	lun = calloc(1, sizeof(*lun));
	if (lun == NULL) {
		return -ENOMEM;
	}
	lun->dev = dev;
	lun->id = opts->lun_id;
	lun->read_only = opts->read_only;
	TAILQ_INIT(&lun->tasks);
	TAILQ_INIT(&lun->blocked);
	TAILQ_INIT(&lun->nexuses);
	TAILQ_INIT(&lun->pr.regs);
	lun->bdev_name = strdup(opts->bdev_name);
	if (lun->bdev_name == NULL) {
		rc = -ENOMEM;
		goto err_free;
	}
	rc = bdev_open_ext(opts->bdev_name, !opts->read_only, scsi_lun_bdev_event, lun,
			   &lun->desc);
	if (rc != 0) {
		VHD_ERRLOG("scsi %s: cannot open bdev %s: %d\n", dev->name, opts->bdev_name, rc);
		goto err_free;
	}
	lun->bdev = bdev_desc_get_bdev(lun->desc);
	scsi_lun_mode_defaults(lun);
	rc = scsi_pr_init(lun, opts->pr_path);
	if (rc != 0) {
		goto err_close;
	}
	dev->luns[lun->id] = lun;
	dev->num_luns++;
	scsi_dev_luns_changed(dev, lun->id);
	return 0;

err_close:
	bdev_close(lun->desc);
err_free:
	scsi_lun_free(lun);
	return rc;
}

int
scsi_dev_remove_lun(struct scsi_dev *dev, uint32_t lun_id, scsi_dev_done_cb cb_fn, void *cb_arg)
{
	struct scsi_lun *lun;

	if (lun_id >= SCSI_DEV_MAX_LUN || dev->luns[lun_id] == NULL) {
		return -ENODEV;
	}
	lun = dev->luns[lun_id];
	if (lun->state != SCSI_LUN_ACTIVE) {
		return -EALREADY;
	}
	scsi_lun_start_removal(lun, cb_fn, cb_arg);
	return 0;
}

/* ---- device lifecycle ---------------------------------------------------------- */

int
scsi_dev_create(const char *name, uint32_t id, scsi_dev_event_cb event_cb, void *event_ctx,
		struct scsi_dev **devp)
{
	struct scsi_dev *dev;

	if (name == NULL || name[0] == '\0' || strlen(name) > SCSI_DEV_MAX_NAME || devp == NULL) {
		return -EINVAL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		return -ENOMEM;
	}
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->id = id;
	dev->thread = thread_get_current();
	dev->event_cb = event_cb;
	dev->event_ctx = event_ctx;
	TAILQ_INIT(&dev->deferred);
	*devp = dev;
	return 0;
}

static void
scsi_dev_free_msg(void *ctx)
{
	struct scsi_dev *dev = ctx;
	scsi_dev_done_cb cb = dev->destroy_cb;
	void *cb_arg = dev->destroy_cb_arg;

	dev->destroy_scheduled = false;
	if (dev->num_luns != 0 || dev->in_flight_tasks != 0 || dev->pending_tmfs != 0 ||
	    dev->deferred_scheduled) {
		return;	/* something raced in; checked again when it finishes */
	}
	free(dev);
	if (cb != NULL) {
		cb(cb_arg, 0);
	}
}

static void
scsi_dev_check_destroy(struct scsi_dev *dev)
{
	if (!dev->destroying || dev->destroy_scheduled || dev->num_luns != 0 ||
	    dev->in_flight_tasks != 0 || dev->pending_tmfs != 0 || dev->deferred_scheduled) {
		return;
	}
	if (thread_send_msg(dev->thread, scsi_dev_free_msg, dev) == 0) {
		dev->destroy_scheduled = true;
	}
}

void
scsi_dev_destroy(struct scsi_dev *dev, scsi_dev_done_cb cb_fn, void *cb_arg)
{
	uint32_t i;

	if (dev->destroying) {
		return;
	}
	dev->destroying = true;
	dev->destroy_cb = cb_fn;
	dev->destroy_cb_arg = cb_arg;
	for (i = 0; i < SCSI_DEV_MAX_LUN; i++) {
		if (dev->luns[i] != NULL && dev->luns[i]->state == SCSI_LUN_ACTIVE) {
			scsi_lun_start_removal(dev->luns[i], NULL, NULL);
		}
	}
	scsi_dev_check_destroy(dev);
}

void
scsi_dev_free_port(struct scsi_dev *dev, const struct scsi_port *port)
{
	struct scsi_nexus *n;
	uint32_t i;

	for (i = 0; i < SCSI_DEV_MAX_LUN; i++) {
		if (dev->luns[i] == NULL) {
			continue;
		}
		n = scsi_lun_get_nexus(dev->luns[i], port, false);
		if (n != NULL) {
			TAILQ_REMOVE(&dev->luns[i]->nexuses, n, link);
			dev->luns[i]->num_nexus--;
			free(n);
		}
	}
}

/* ---- inspection ---------------------------------------------------------------- */

const char *
scsi_dev_get_name(const struct scsi_dev *dev)
{
	return dev->name;
}

uint32_t
scsi_dev_get_id(const struct scsi_dev *dev)
{
	return dev->id;
}

struct scsi_lun *
scsi_dev_get_lun(struct scsi_dev *dev, uint32_t lun_id)
{
	return scsi_dev_lun_active(dev, lun_id);
}

struct scsi_lun *
scsi_dev_first_lun(struct scsi_dev *dev)
{
	return scsi_dev_next_lun(dev, NULL);
}

struct scsi_lun *
scsi_dev_next_lun(struct scsi_dev *dev, struct scsi_lun *prev)
{
	uint32_t i = prev == NULL ? 0 : prev->id + 1;

	for (; i < SCSI_DEV_MAX_LUN; i++) {
		if (dev->luns[i] != NULL && dev->luns[i]->state == SCSI_LUN_ACTIVE) {
			return dev->luns[i];
		}
	}
	return NULL;
}

bool
scsi_dev_has_pending_tasks(const struct scsi_dev *dev)
{
	return dev->in_flight_tasks != 0 || dev->pending_tmfs != 0;
}

uint32_t
scsi_lun_get_id(const struct scsi_lun *lun)
{
	return lun->id;
}

const char *
scsi_lun_get_bdev_name(const struct scsi_lun *lun)
{
	return lun->bdev_name;
}

struct bdev *
scsi_lun_get_bdev(const struct scsi_lun *lun)
{
	return lun->bdev;
}

bool
scsi_lun_is_removing(const struct scsi_lun *lun)
{
	return lun->state != SCSI_LUN_ACTIVE;
}
