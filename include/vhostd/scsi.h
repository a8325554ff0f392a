/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SCSI target (SPC-4 / SBC-3 subset), transport independent.
 *
 * A struct scsi_dev is one SCSI target device holding up to SCSI_DEV_MAX_LUN
 * logical units; each struct scsi_lun is backed by one bdev descriptor. A
 * transport (vhost-scsi) fills a struct scsi_task per command and queues it
 * with scsi_dev_queue_task(); lib/scsi decodes the CDB, moves data through
 * the task's iovecs, fills status/sense/residual and calls the task's cb_fn.
 *
 * Threading: a scsi_dev belongs to the thread that created it (its "owner
 * thread"). Every function below (except the pure helpers marked "any
 * thread") must be called on that thread, and every callback (task
 * completion, event_cb, remove/destroy callbacks) runs on it. The LUNs' bdev
 * descriptors are opened there and their io_channels are taken there lazily
 * on the first I/O. vhost-scsi runs all sessions of a controller on one
 * thread, so this costs nothing on the I/O path and needs no locks.
 *
 * Completion contract (STYLE.md rule 5): scsi_dev_queue_task() and
 * scsi_dev_queue_mgmt_task() never fail: the task's cb_fn runs exactly once,
 * on the owner thread, never before the queue call has returned.
 *
 * Addressing: task->lun_id is the flat LUN number (0..16383). The helpers
 * scsi_lun_id_decode()/scsi_lun_id_encode() convert to and from the 8-byte
 * SAM LUN field. A command for a LUN that does not exist (or is being
 * removed) is answered by the "null LUN": INQUIRY gives peripheral
 * qualifier 3 / device type 0x1f, REPORT LUNS and REQUEST SENSE answer, and
 * everything else gets CHECK CONDITION, ILLEGAL REQUEST, LOGICAL UNIT NOT
 * SUPPORTED (25h/00h).
 */
#ifndef VHOSTD_SCSI_H
#define VHOSTD_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "vhostd/bdev.h"

#define SCSI_DEV_MAX_LUN	64	/* LUN ids 0..63 per device */
#define SCSI_DEV_MAX_NAME	255
#define SCSI_PORT_MAX_NAME	223	/* fits an SPC iSCSI TransportID */
#define SCSI_CDB_MAX_LEN	32
#define SCSI_SENSE_BUF_SIZE	96	/* virtio-scsi sense_size default */

/* SAM status codes (task->status). */
enum scsi_status {
	SCSI_STATUS_GOOD = 0x00,
	SCSI_STATUS_CHECK_CONDITION = 0x02,
	SCSI_STATUS_CONDITION_MET = 0x04,
	SCSI_STATUS_BUSY = 0x08,
	SCSI_STATUS_RESERVATION_CONFLICT = 0x18,
	SCSI_STATUS_TASK_SET_FULL = 0x28,
	SCSI_STATUS_ACA_ACTIVE = 0x30,
	SCSI_STATUS_TASK_ABORTED = 0x40,
};

/* Sense keys. */
enum scsi_sense_key {
	SCSI_SENSE_NO_SENSE = 0x0,
	SCSI_SENSE_RECOVERED_ERROR = 0x1,
	SCSI_SENSE_NOT_READY = 0x2,
	SCSI_SENSE_MEDIUM_ERROR = 0x3,
	SCSI_SENSE_HARDWARE_ERROR = 0x4,
	SCSI_SENSE_ILLEGAL_REQUEST = 0x5,
	SCSI_SENSE_UNIT_ATTENTION = 0x6,
	SCSI_SENSE_DATA_PROTECT = 0x7,
	SCSI_SENSE_ABORTED_COMMAND = 0xb,
	SCSI_SENSE_MISCOMPARE = 0xe,
};

enum scsi_data_dir {
	SCSI_DIR_NONE = 0,
	SCSI_DIR_TO_DEV,	/* data-out: initiator -> target (writes) */
	SCSI_DIR_FROM_DEV,	/* data-in: target -> initiator (reads) */
};

/* Task management functions (scsi_dev_queue_mgmt_task). */
enum scsi_tmf {
	SCSI_TMF_ABORT_TASK = 1,	/* the task with tmf_tag on this nexus + LUN */
	SCSI_TMF_ABORT_TASK_SET,	/* every task of this nexus on the LUN */
	SCSI_TMF_CLEAR_TASK_SET,	/* every task of every nexus on the LUN */
	SCSI_TMF_LUN_RESET,		/* CLEAR TASK SET + bdev reset + UA 29h/00h */
	SCSI_TMF_TARGET_RESET,		/* LUN RESET on every LUN of the device */
	SCSI_TMF_I_T_NEXUS_RESET,	/* abort this nexus's tasks on every LUN, UA 29h/07h */
	SCSI_TMF_QUERY_TASK,		/* is task tmf_tag still in the task set? */
};

/* Result of a task management function (task->tmf_response). */
enum scsi_tmf_response {
	SCSI_TMF_RESP_COMPLETE = 0,		/* done (ABORT TASK of an unknown tag too) */
	SCSI_TMF_RESP_SUCCEEDED,		/* QUERY TASK: the task exists */
	SCSI_TMF_RESP_REJECTED,			/* function not supported */
	SCSI_TMF_RESP_INVALID_LUN,		/* the LUN does not exist */
	SCSI_TMF_RESP_FAILED,
};

/* Events reported to the transport through scsi_dev_event_cb. */
enum scsi_lun_event {
	/* The LUN's capacity changed (bdev RESIZE); UA 2Ah/09h is queued on every
	 * nexus. vhost-scsi sends VIRTIO_SCSI_T_PARAM_CHANGE with reason 0x092a. */
	SCSI_LUN_EVENT_RESIZE,
	/* The bdev is going away (bdev REMOVE): the LUN entered the removing
	 * state on its own; LUN_REMOVED follows once it has drained. */
	SCSI_LUN_EVENT_REMOVING,
	/* The LUN is gone (drained, bdev closed): no longer in the device.
	 * vhost-scsi sends VIRTIO_SCSI_T_TRANSPORT_RESET / EVT_RESET_REMOVED. */
	SCSI_LUN_EVENT_REMOVED,
};

struct scsi_dev;
struct scsi_lun;
struct scsi_task;

/*
 * An initiator port: the "I" of an I_T nexus. Reservations and unit
 * attentions are kept per nexus. The transport owns the memory and keeps it
 * alive while any of its tasks is queued. Two ports with the same name are
 * the same initiator for persistent reservations (names must be stable for
 * APTPL state to be meaningful after a restart); `id` must be unique per
 * live port and identifies the nexus for unit attentions and TMFs.
 */
struct scsi_port {
	uint64_t	id;
	char		name[SCSI_PORT_MAX_NAME + 1];
};

/* Any thread. name is truncated to SCSI_PORT_MAX_NAME. */
void scsi_port_init(struct scsi_port *port, uint64_t id, const char *name);

typedef void (*scsi_task_cpl_cb)(struct scsi_task *task, void *cb_arg);

/*
 * One command (or one task management function). The transport allocates it
 * (e.g. from a per-queue pool: no malloc on the I/O path), calls
 * scsi_task_init(), sets the "in" fields, queues it, and reads the "out"
 * fields in cb_fn. The task must stay valid until cb_fn has run.
 */
struct scsi_task {
	/* ---- in: set by the transport ---- */
	uint8_t			cdb[SCSI_CDB_MAX_LEN];
	uint8_t			cdb_len;	/* bytes valid in cdb (6..32) */
	enum scsi_data_dir	dxfer_dir;
	struct iovec		*iovs;		/* data-in or data-out buffers */
	int			iovcnt;
	uint32_t		transfer_len;	/* bytes the initiator expects (<= iovec total) */
	uint32_t		lun_id;		/* flat LUN number, see scsi_lun_id_decode() */
	uint64_t		tag;		/* task tag, unique per nexus while queued */
	struct scsi_port	*initiator_port; /* required */
	scsi_task_cpl_cb	cb_fn;
	void			*cb_arg;

	/* in, task management only */
	enum scsi_tmf		tmf_function;
	uint64_t		tmf_tag;	/* ABORT TASK / QUERY TASK target tag */

	/* ---- out: valid in cb_fn ---- */
	uint8_t			status;		/* enum scsi_status */
	uint8_t			sense_data[SCSI_SENSE_BUF_SIZE];
	uint32_t		sense_len;	/* 0 unless CHECK CONDITION */
	/* Data-in: bytes written to iovs. Data-out: bytes consumed from iovs. */
	uint32_t		data_transferred;
	/* transfer_len - data_transferred when the command moved less than the
	 * initiator offered (underflow); 0 otherwise. */
	uint32_t		residual;
	enum scsi_tmf_response	tmf_response;	/* task management only */

	/* ---- private to lib/scsi ---- */
	struct scsi_dev		*dev;
	struct scsi_lun		*lun;
	TAILQ_ENTRY(scsi_task)	link;
	TAILQ_ENTRY(scsi_task)	wait_link;
	uint32_t		state;
	uint32_t		flags;
	uint64_t		lba;
	uint64_t		num_blocks;
	uint64_t		offset;		/* progress of multi-step commands */
	uint32_t		step;
	int			outstanding;	/* bdev I/Os in flight for this task */
	void			*bounce;
	size_t			bounce_len;
	struct iovec		bounce_iov;
	struct bdev_io_wait_entry io_wait;
	struct scsi_task	*parent;	/* TMF that waits for this task */
	struct iovec		*trim_iov;	/* iovec shortened while the I/O runs */
	size_t			trim_len;	/* its original iov_len */
};

/*
 * Any thread: zero the task and set the completion callback.
 * While a command runs lib/scsi may shorten the iov_len of one of task->iovs
 * (so the bdev sees exactly the command's length); it is restored before
 * cb_fn runs.
 */
void scsi_task_init(struct scsi_task *task, scsi_task_cpl_cb cb_fn, void *cb_arg);

/*
 * Set CHECK CONDITION with the given sense in the format the LUN wants
 * (fixed, or descriptor when D_SENSE is set). Mostly internal, exported for
 * transports that must fail a task themselves (e.g. a bad data buffer).
 */
void scsi_task_set_sense(struct scsi_task *task, uint8_t sk, uint8_t asc, uint8_t ascq);

/*
 * Called on the owner thread for device/LUN events (see enum scsi_lun_event).
 * Must not destroy the device from inside the callback.
 */
typedef void (*scsi_dev_event_cb)(struct scsi_dev *dev, uint32_t lun_id,
				  enum scsi_lun_event event, void *ctx);
typedef void (*scsi_dev_done_cb)(void *cb_arg, int rc);

/*
 * Create an empty target device on the current (owner) thread. `name` is
 * reported in VPD 0x83 (SCSI name string) and logs; `id` is the transport's
 * number for it (vhost-scsi target number). event_cb may be NULL.
 * 0, -EINVAL (bad name), -ENOMEM.
 */
int scsi_dev_create(const char *name, uint32_t id, scsi_dev_event_cb event_cb, void *event_ctx,
		    struct scsi_dev **dev);

struct scsi_lun_opts {
	uint32_t	lun_id;		/* 0..SCSI_DEV_MAX_LUN-1 */
	const char	*bdev_name;
	/*
	 * File that keeps persistent-reservation state across restarts when an
	 * initiator sets APTPL (written with util_file_write_atomic, reloaded
	 * here). NULL: reservations are kept in memory only and a PERSISTENT
	 * RESERVE OUT with APTPL=1 fails with INVALID FIELD IN PARAMETER LIST.
	 */
	const char	*pr_path;
	bool		read_only;
};

/*
 * Open the bdev and add a LUN. Every nexus of the device gets a REPORTED
 * LUNS DATA HAS CHANGED unit attention on its other LUNs.
 * 0, -EEXIST (lun_id in use), -EINVAL (lun_id out of range, bad PR file),
 * -EBUSY (device being destroyed), or the bdev_open_ext error (-ENODEV...).
 */
int scsi_dev_add_lun(struct scsi_dev *dev, const struct scsi_lun_opts *opts);

/*
 * Hot-remove a LUN: new tasks for it are answered by the null LUN at once,
 * outstanding tasks drain (their bdev I/O completes normally), then its
 * io_channel and descriptor are released, the LUN leaves the device,
 * SCSI_LUN_EVENT_REMOVED is reported and cb_fn(cb_arg, 0) runs.
 * 0, or -ENODEV (no such LUN), -EALREADY (already being removed: cb_fn will
 * not run; the earlier removal completes as usual).
 */
int scsi_dev_remove_lun(struct scsi_dev *dev, uint32_t lun_id, scsi_dev_done_cb cb_fn,
			void *cb_arg);

/*
 * Remove every LUN (as above), then free the device and call cb_fn(cb_arg, 0).
 * New tasks for the device fail as for an absent LUN meanwhile. The device
 * pointer is invalid once cb_fn has been called.
 */
void scsi_dev_destroy(struct scsi_dev *dev, scsi_dev_done_cb cb_fn, void *cb_arg);

/*
 * Execute a command (task->cdb ...). Never fails; see the completion
 * contract above. Owner thread.
 */
void scsi_dev_queue_task(struct scsi_dev *dev, struct scsi_task *task);

/*
 * Execute a task management function (task->tmf_function, task->lun_id,
 * task->tmf_tag, task->initiator_port). Aborted commands complete with
 * status TASK ABORTED before the TMF completes; a command whose bdev I/O is
 * in flight is waited for (LUN RESET also resets the bdev to hurry it up)
 * and still completes exactly once. Result in task->tmf_response.
 */
void scsi_dev_queue_mgmt_task(struct scsi_dev *dev, struct scsi_task *task);

/*
 * Forget an initiator port: drop its unit attentions (its registrations,
 * which are keyed by name, stay). Call when the transport session ends,
 * after its tasks have completed.
 */
void scsi_dev_free_port(struct scsi_dev *dev, const struct scsi_port *port);

/* ---- inspection (owner thread) ---- */
const char *scsi_dev_get_name(const struct scsi_dev *dev);
uint32_t scsi_dev_get_id(const struct scsi_dev *dev);
/* The LUN if present and not being removed, else NULL. */
struct scsi_lun *scsi_dev_get_lun(struct scsi_dev *dev, uint32_t lun_id);
/* Iterate present LUNs in id order (NULL at end). */
struct scsi_lun *scsi_dev_first_lun(struct scsi_dev *dev);
struct scsi_lun *scsi_dev_next_lun(struct scsi_dev *dev, struct scsi_lun *prev);
/* Commands or TMFs queued and not yet completed, on all LUNs. */
bool scsi_dev_has_pending_tasks(const struct scsi_dev *dev);

uint32_t scsi_lun_get_id(const struct scsi_lun *lun);
const char *scsi_lun_get_bdev_name(const struct scsi_lun *lun);
struct bdev *scsi_lun_get_bdev(const struct scsi_lun *lun);
bool scsi_lun_is_removing(const struct scsi_lun *lun);

/* ---- LUN addressing (any thread) ---- */

/*
 * Decode an 8-byte SAM LUN field (peripheral 00b or flat 01b single-level
 * addressing) into a flat LUN number. -EINVAL for other formats or non-zero
 * second-level bytes. Note virtio-scsi puts the 8 bytes at lun[0..7] with
 * lun[0]=1, lun[1]=target: pass &lun[2] and a length of 6 in that case.
 */
int scsi_lun_id_decode(const uint8_t *lun, size_t len, uint32_t *lun_id);
/* Encode as REPORT LUNS does: peripheral (00b) for id < 256, flat (01b) above. */
void scsi_lun_id_encode(uint32_t lun_id, uint8_t out[8]);

#endif /* VHOSTD_SCSI_H */
