/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/scsi private definitions. */
#ifndef VHOSTD_SCSI_INTERNAL_H
#define VHOSTD_SCSI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/queue.h>

#include "vhostd/bdev.h"
#include "vhostd/scsi.h"
#include "vhostd/thread.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                                                \
	for ((var) = TAILQ_FIRST((head)); (var) && ((tvar) = TAILQ_NEXT((var), field), 1);        \
	     (var) = (tvar))
#endif

/* ---- opcodes ---- */
#define SPC_TEST_UNIT_READY		0x00
#define SPC_REQUEST_SENSE		0x03
#define SBC_READ_6			0x08
#define SBC_WRITE_6			0x0a
#define SPC_INQUIRY			0x12
#define SPC_MODE_SELECT_6		0x15
#define SPC_MODE_SENSE_6		0x1a
#define SBC_START_STOP_UNIT		0x1b
#define SPC_PREVENT_ALLOW		0x1e
#define SBC_READ_CAPACITY_10		0x25
#define SBC_READ_10			0x28
#define SBC_WRITE_10			0x2a
#define SBC_WRITE_AND_VERIFY_10		0x2e
#define SBC_VERIFY_10			0x2f
#define SBC_SYNCHRONIZE_CACHE_10	0x35
#define SBC_WRITE_SAME_10		0x41
#define SBC_UNMAP			0x42
#define SPC_MODE_SELECT_10		0x55
#define SPC_MODE_SENSE_10		0x5a
#define SPC_PERSISTENT_RESERVE_IN	0x5e
#define SPC_PERSISTENT_RESERVE_OUT	0x5f
#define SBC_READ_16			0x88
#define SBC_COMPARE_AND_WRITE		0x89
#define SBC_WRITE_16			0x8a
#define SBC_WRITE_AND_VERIFY_16		0x8e
#define SBC_VERIFY_16			0x8f
#define SBC_SYNCHRONIZE_CACHE_16	0x91
#define SBC_WRITE_SAME_16		0x93
#define SPC_SERVICE_ACTION_IN_16	0x9e
#define SBC_SAI_READ_CAPACITY_16	0x10
#define SPC_REPORT_LUNS			0xa0
#define SPC_MAINTENANCE_IN		0xa3
#define SPC_MI_REPORT_SUPPORTED_OPCODES	0x0c
#define SBC_READ_12			0xa8
#define SBC_WRITE_12			0xaa

/* ---- additional sense codes (asc << 8 | ascq) ---- */
#define SCSI_ASC_NO_ADDITIONAL			0x00, 0x00
#define SCSI_ASC_WRITE_ERROR			0x0c, 0x00
#define SCSI_ASC_UNRECOVERED_READ_ERROR		0x11, 0x00
#define SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR	0x1a, 0x00
#define SCSI_ASC_INVALID_OPCODE			0x20, 0x00
#define SCSI_ASC_LBA_OUT_OF_RANGE		0x21, 0x00
#define SCSI_ASC_INVALID_FIELD_IN_CDB		0x24, 0x00
#define SCSI_ASC_LUN_NOT_SUPPORTED		0x25, 0x00
#define SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST	0x26, 0x00
#define SCSI_ASC_INVALID_RELEASE_OF_PR		0x26, 0x04
#define SCSI_ASC_WRITE_PROTECTED		0x27, 0x00
#define SCSI_ASC_SPACE_ALLOC_FAILED		0x27, 0x07
#define SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED	0x39, 0x00
#define SCSI_ASC_MISCOMPARE_DURING_VERIFY	0x1d, 0x00
#define SCSI_ASC_INTERNAL_TARGET_FAILURE	0x44, 0x00
#define SCSI_ASC_INSUFFICIENT_REG_RESOURCES	0x55, 0x04

/* ---- unit attention conditions, bit = priority (lowest bit reported first) ---- */
enum scsi_ua {
	SCSI_UA_POWER_ON = 0,		/* 29h/00h */
	SCSI_UA_BUS_DEVICE_RESET,	/* 29h/03h: LUN / target reset */
	SCSI_UA_NEXUS_LOSS,		/* 29h/07h: I_T nexus reset */
	SCSI_UA_COMMANDS_CLEARED,	/* 2Fh/00h: cleared by another initiator */
	SCSI_UA_MODE_CHANGED,		/* 2Ah/01h */
	SCSI_UA_RES_PREEMPTED,		/* 2Ah/03h */
	SCSI_UA_RES_RELEASED,		/* 2Ah/04h */
	SCSI_UA_REG_PREEMPTED,		/* 2Ah/05h */
	SCSI_UA_CAPACITY_CHANGED,	/* 2Ah/09h */
	SCSI_UA_LUNS_CHANGED,		/* 3Fh/0Eh */
	SCSI_UA_COUNT,
};

/* An I_T nexus as seen by one LUN: its pending unit attentions. */
struct scsi_nexus {
	uint64_t		port_id;
	uint32_t		ua;		/* bitmask of enum scsi_ua */
	char			name[SCSI_PORT_MAX_NAME + 1];
	TAILQ_ENTRY(scsi_nexus)	link;
};

#define SCSI_LUN_MAX_NEXUS	1024

/* ---- persistent reservations ---- */
enum scsi_pr_type {
	SCSI_PR_NONE = 0,
	SCSI_PR_WRITE_EXCLUSIVE = 1,
	SCSI_PR_EXCLUSIVE_ACCESS = 3,
	SCSI_PR_WRITE_EXCLUSIVE_RO = 5,
	SCSI_PR_EXCLUSIVE_ACCESS_RO = 6,
	SCSI_PR_WRITE_EXCLUSIVE_AR = 7,
	SCSI_PR_EXCLUSIVE_ACCESS_AR = 8,
};

#define SCSI_PR_MAX_REGISTRANTS	256

struct scsi_pr_reg {
	uint64_t			key;
	char				name[SCSI_PORT_MAX_NAME + 1];
	TAILQ_ENTRY(scsi_pr_reg)	link;
};

struct scsi_pr {
	TAILQ_HEAD(, scsi_pr_reg)	regs;
	uint32_t			num_regs;
	uint32_t			generation;
	uint8_t				type;	/* enum scsi_pr_type, NONE = no reservation */
	struct scsi_pr_reg		*holder; /* NULL for all-registrants types */
	bool				aptpl;
	char				*path;	/* APTPL file, NULL = not persistent */
};

/* ---- mode pages ---- */
struct scsi_mode {
	bool	wce;		/* caching page */
	bool	d_sense;	/* control page */
};

enum scsi_lun_state {
	SCSI_LUN_ACTIVE = 0,
	SCSI_LUN_REMOVING,	/* draining outstanding tasks */
	SCSI_LUN_CLOSING,	/* drained; release scheduled */
};

struct scsi_lun {
	struct scsi_dev			*dev;
	uint32_t			id;
	enum scsi_lun_state		state;
	struct bdev_desc		*desc;
	struct bdev			*bdev;
	struct io_channel		*ch;
	bool				read_only;
	char				*bdev_name;

	TAILQ_HEAD(, scsi_task)		tasks;		/* queued and not completed */
	TAILQ_HEAD(, scsi_task)		blocked;	/* waiting for an LBA range */
	uint32_t			num_locks;	/* COMPARE AND WRITE in flight or blocked */
	uint32_t			resets;		/* bdev resets in flight */

	TAILQ_HEAD(, scsi_nexus)	nexuses;
	uint32_t			num_nexus;

	struct scsi_pr			pr;
	struct scsi_mode		mode;
	bool				prevent_removal;

	scsi_dev_done_cb		remove_cb;
	void				*remove_cb_arg;
};

struct scsi_dev {
	char			name[SCSI_DEV_MAX_NAME + 1];
	uint32_t		id;
	struct thread		*thread;
	struct scsi_lun		*luns[SCSI_DEV_MAX_LUN];
	uint32_t		num_luns;
	scsi_dev_event_cb	event_cb;
	void			*event_ctx;

	TAILQ_HEAD(, scsi_task)	deferred;	/* completions waiting for the message */
	bool			deferred_scheduled;
	uint32_t		pending_tmfs;
	uint32_t		in_flight_tasks; /* tasks not yet completed (incl. deferred) */

	bool			destroying;
	scsi_dev_done_cb	destroy_cb;
	void			*destroy_cb_arg;
	bool			destroy_scheduled;
};

/* task->flags */
#define SCSI_TASK_F_IN_SUBMIT	(1u << 0)	/* inside scsi_dev_queue_task() */
#define SCSI_TASK_F_ABORTED	(1u << 1)	/* finish with TASK ABORTED */
#define SCSI_TASK_F_RANGE	(1u << 2)	/* holds an LBA range (data I/O) */
#define SCSI_TASK_F_LOCK	(1u << 3)	/* exclusive range (COMPARE AND WRITE) */
#define SCSI_TASK_F_BLOCKED	(1u << 4)	/* on lun->blocked */
#define SCSI_TASK_F_IO_WAIT	(1u << 5)	/* parked in bdev_queue_io_wait() */
#define SCSI_TASK_F_TMF		(1u << 6)
#define SCSI_TASK_F_DONE	(1u << 7)

/* Execution result of a command handler. */
enum scsi_exec {
	SCSI_EXEC_COMPLETE,	/* status/sense/data set: finish now */
	SCSI_EXEC_PENDING,	/* bdev I/O in flight: finishes later */
};

/* ---- scsi_task.c ---- */
void scsi_task_set_sense_full(struct scsi_task *task, uint8_t sk, uint8_t asc, uint8_t ascq,
			      bool d_sense);
/* INVALID FIELD IN CDB (cdb) / PARAMETER LIST (!cdb) with the field pointer. bit -1: none. */
void scsi_task_invalid_field(struct scsi_task *task, bool cdb, uint16_t byte, int bit);
/* MISCOMPARE with INFORMATION = offset. */
void scsi_task_miscompare(struct scsi_task *task, uint32_t offset);
void scsi_task_build_sense(uint8_t *buf, uint32_t *len, bool d_sense, uint8_t sk, uint8_t asc,
			   uint8_t ascq);
/* Copy `len` bytes of response into the data-in buffer, bounded by transfer_len. */
void scsi_task_data_in(struct scsi_task *task, const void *buf, uint32_t len);
/* Gather up to `len` data-out bytes from `offset`; returns bytes copied. */
uint32_t scsi_task_data_out(struct scsi_task *task, uint32_t offset, void *buf, uint32_t len);
/* Bytes available in the task's buffer for its direction. */
uint32_t scsi_task_buf_len(const struct scsi_task *task);
/* Compare data-out bytes [offset, offset+len) with buf: index of the first difference or -1. */
int64_t scsi_task_data_out_cmp(struct scsi_task *task, uint32_t offset, const void *buf,
			       uint32_t len);
bool scsi_task_d_sense(const struct scsi_task *task);

/* ---- scsi_dev.c / scsi_lun.c ---- */
void scsi_task_finish(struct scsi_task *task);
void scsi_lun_task_done(struct scsi_task *task);
struct scsi_nexus *scsi_lun_get_nexus(struct scsi_lun *lun, const struct scsi_port *port,
				      bool create);
void scsi_lun_set_ua_all(struct scsi_lun *lun, enum scsi_ua ua, const struct scsi_port *except);
void scsi_lun_set_ua_port_name(struct scsi_lun *lun, enum scsi_ua ua, const char *name,
			       const struct scsi_port *except);
/* Report (and clear) the highest priority UA as CHECK CONDITION. true if one was pending. */
bool scsi_lun_report_ua(struct scsi_lun *lun, struct scsi_task *task);
/* Clear the highest priority UA into fixed/descriptor sense bytes; false if none. */
bool scsi_lun_pop_ua(struct scsi_lun *lun, const struct scsi_port *port, uint8_t *asc,
		     uint8_t *ascq);
void scsi_lun_abort_port_name(struct scsi_lun *lun, const char *name, struct scsi_task *except);
int scsi_lun_get_channel(struct scsi_lun *lun);
/* Range admission for data commands; false: the task was put on lun->blocked. */
bool scsi_lun_range_admit(struct scsi_lun *lun, struct scsi_task *task);
void scsi_lun_range_release(struct scsi_lun *lun, struct scsi_task *task);
/* Null LUN: INQUIRY, REPORT LUNS, REQUEST SENSE answers; others LUN NOT SUPPORTED. */
void scsi_dev_exec_null_lun(struct scsi_dev *dev, struct scsi_task *task);
uint32_t scsi_dev_report_luns(struct scsi_dev *dev, uint8_t select, uint8_t *buf, uint32_t len);

/* ---- scsi_bdev.c ---- */
enum scsi_exec scsi_bdev_execute(struct scsi_task *task);
/* Re-enter a task parked by the range lock or by -ENOMEM. */
void scsi_bdev_resume(struct scsi_task *task);
/* Check CDB length, control byte and reserved bits; false: task has sense. */
bool scsi_cdb_check(struct scsi_task *task);
void scsi_bdev_inquiry_std(struct scsi_lun *lun, uint8_t *buf, uint32_t *len);

/* ---- scsi_pr.c ---- */
int scsi_pr_init(struct scsi_lun *lun, const char *path);
void scsi_pr_fini(struct scsi_lun *lun);
/* true if the command conflicts with the reservation (status set). */
bool scsi_pr_check(struct scsi_task *task);
enum scsi_exec scsi_pr_in(struct scsi_task *task);
enum scsi_exec scsi_pr_out(struct scsi_task *task);

/* ---- helpers ---- */
static inline uint16_t
scsi_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
scsi_get24(const uint8_t *p)
{
	return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}

static inline uint32_t
scsi_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t
scsi_get64(const uint8_t *p)
{
	return ((uint64_t)scsi_get32(p) << 32) | scsi_get32(p + 4);
}

static inline void
scsi_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void
scsi_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline void
scsi_put64(uint8_t *p, uint64_t v)
{
	scsi_put32(p, v >> 32);
	scsi_put32(p + 4, (uint32_t)v);
}

#endif /* VHOSTD_SCSI_INTERNAL_H */
