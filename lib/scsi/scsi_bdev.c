/* SPDX-License-Identifier: BSD-3-Clause */
/* SPC-4 / SBC-3 commands of a LUN backed by a bdev. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/log.h"
#include "scsi_internal.h"

#define SCSI_VENDOR		"VHOSTD  "
#define SCSI_REVISION		"0001"
#define SCSI_CAW_MAX_BLOCKS	255
#define SCSI_UNMAP_MAX_DESC	256
#define SCSI_UNMAP_MAX_LBAS	0xffffffffu
#define SCSI_WS_MAX_BLOCKS	0x400000u	/* MAXIMUM WRITE SAME LENGTH */
#define SCSI_WS_CHUNK_BYTES	(256 * 1024)	/* pattern buffer for WRITE SAME */

/* task->state: which bdev step runs next */
enum scsi_bdev_state {
	ST_NONE = 0,
	ST_READ,
	ST_WRITE,
	ST_WRITE_FLUSH,
	ST_FLUSH,
	ST_UNMAP,
	ST_WS_UNMAP,
	ST_WS_ZEROES,
	ST_WS_PATTERN,
	ST_CAW_READ,
	ST_CAW_WRITE,
	ST_VERIFY_READ,
};

/* task->step bits for reads/writes */
#define STEP_FUA	(1u << 0)

typedef enum scsi_exec (*scsi_cmd_fn)(struct scsi_task *task);

struct scsi_cmd_desc {
	uint8_t		opcode;
	uint8_t		sa;
	bool		has_sa;
	uint8_t		cdb_len;
	uint8_t		usage[16];	/* bits the device server looks at, per CDB byte */
	scsi_cmd_fn	fn;
};

static enum scsi_exec cmd_tur(struct scsi_task *task);
static enum scsi_exec cmd_request_sense(struct scsi_task *task);
static enum scsi_exec cmd_rw(struct scsi_task *task);
static enum scsi_exec cmd_inquiry(struct scsi_task *task);
static enum scsi_exec cmd_mode_select(struct scsi_task *task);
static enum scsi_exec cmd_mode_sense(struct scsi_task *task);
static enum scsi_exec cmd_start_stop(struct scsi_task *task);
static enum scsi_exec cmd_prevent_allow(struct scsi_task *task);
static enum scsi_exec cmd_read_capacity_10(struct scsi_task *task);
static enum scsi_exec cmd_read_capacity_16(struct scsi_task *task);
static enum scsi_exec cmd_verify(struct scsi_task *task);
static enum scsi_exec cmd_sync_cache(struct scsi_task *task);
static enum scsi_exec cmd_write_same(struct scsi_task *task);
static enum scsi_exec cmd_unmap(struct scsi_task *task);
static enum scsi_exec cmd_caw(struct scsi_task *task);
static enum scsi_exec cmd_report_luns(struct scsi_task *task);
static enum scsi_exec cmd_report_opcodes(struct scsi_task *task);

/* Sorted by opcode; also the answer of REPORT SUPPORTED OPERATION CODES. */
static const struct scsi_cmd_desc g_cmds[] = {
	{SPC_TEST_UNIT_READY, 0, false, 6, {0xff, 0, 0, 0, 0, 0}, cmd_tur},
	{SPC_REQUEST_SENSE, 0, false, 6, {0xff, 0x01, 0, 0, 0xff, 0}, cmd_request_sense},
	{SBC_READ_6, 0, false, 6, {0xff, 0x1f, 0xff, 0xff, 0xff, 0}, cmd_rw},
	{SBC_WRITE_6, 0, false, 6, {0xff, 0x1f, 0xff, 0xff, 0xff, 0}, cmd_rw},
	{SPC_INQUIRY, 0, false, 6, {0xff, 0x01, 0xff, 0xff, 0xff, 0}, cmd_inquiry},
	{SPC_MODE_SELECT_6, 0, false, 6, {0xff, 0x11, 0, 0, 0xff, 0}, cmd_mode_select},
	{SPC_MODE_SENSE_6, 0, false, 6, {0xff, 0x08, 0xff, 0xff, 0xff, 0}, cmd_mode_sense},
	{SBC_START_STOP_UNIT, 0, false, 6, {0xff, 0x01, 0, 0x0f, 0xf7, 0}, cmd_start_stop},
	{SPC_PREVENT_ALLOW, 0, false, 6, {0xff, 0, 0, 0, 0x03, 0}, cmd_prevent_allow},
	{SBC_READ_CAPACITY_10, 0, false, 10,
	 {0xff, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0}, cmd_read_capacity_10},
	{SBC_READ_10, 0, false, 10,
	 {0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0}, cmd_rw},
	{SBC_WRITE_10, 0, false, 10,
	 {0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0}, cmd_rw},
	{SBC_WRITE_AND_VERIFY_10, 0, false, 10,
	 {0xff, 0x12, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0}, cmd_rw},
	{SBC_VERIFY_10, 0, false, 10,
	 {0xff, 0x16, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0}, cmd_verify},
	{SBC_SYNCHRONIZE_CACHE_10, 0, false, 10,
	 {0xff, 0x02, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0}, cmd_sync_cache},
	{SBC_WRITE_SAME_10, 0, false, 10,
	 {0xff, 0x08, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0}, cmd_write_same},
	{SBC_UNMAP, 0, false, 10, {0xff, 0, 0, 0, 0, 0, 0x1f, 0xff, 0xff, 0}, cmd_unmap},
	{SPC_MODE_SELECT_10, 0, false, 10,
	 {0xff, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0}, cmd_mode_select},
	{SPC_MODE_SENSE_10, 0, false, 10,
	 {0xff, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0}, cmd_mode_sense},
	{SPC_PERSISTENT_RESERVE_IN, 0, false, 10,
	 {0xff, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, 0}, scsi_pr_in},
	{SPC_PERSISTENT_RESERVE_OUT, 0, false, 10,
	 {0xff, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0}, scsi_pr_out},
	{SBC_READ_16, 0, false, 16,
	 {0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0x1f, 0}, cmd_rw},
	{SBC_COMPARE_AND_WRITE, 0, false, 16,
	 {0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0xff, 0x1f, 0},
	 cmd_caw},
	{SBC_WRITE_16, 0, false, 16,
	 {0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0x1f, 0}, cmd_rw},
	{SBC_WRITE_AND_VERIFY_16, 0, false, 16,
	 {0xff, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0x1f, 0}, cmd_rw},
	{SBC_VERIFY_16, 0, false, 16,
	 {0xff, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0x1f, 0}, cmd_verify},
	{SBC_SYNCHRONIZE_CACHE_16, 0, false, 16,
	 {0xff, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0x1f, 0}, cmd_sync_cache},
	{SBC_WRITE_SAME_16, 0, false, 16,
	 {0xff, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0x1f, 0}, cmd_write_same},
	{SPC_SERVICE_ACTION_IN_16, SBC_SAI_READ_CAPACITY_16, true, 16,
	 {0xff, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0x01, 0}, cmd_read_capacity_16},
	{SPC_REPORT_LUNS, 0, false, 12,
	 {0xff, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0}, cmd_report_luns},
	{SPC_MAINTENANCE_IN, SPC_MI_REPORT_SUPPORTED_OPCODES, true, 12,
	 {0xff, 0x1f, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}, cmd_report_opcodes},
	{SBC_READ_12, 0, false, 12,
	 {0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0}, cmd_rw},
	{SBC_WRITE_12, 0, false, 12,
	 {0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0}, cmd_rw},
};

static const struct scsi_cmd_desc *
scsi_cmd_find(uint8_t opcode, bool *opcode_known, uint8_t sa)
{
	size_t i;

	*opcode_known = false;
	for (i = 0; i < VHD_COUNTOF(g_cmds); i++) {
		if (g_cmds[i].opcode != opcode) {
			continue;
		}
		*opcode_known = true;
		if (!g_cmds[i].has_sa || g_cmds[i].sa == sa) {
			return &g_cmds[i];
		}
	}
	return NULL;
}

static int
highest_bit(uint8_t v)
{
	return 31 - __builtin_clz(v);
}

bool
scsi_cdb_check(struct scsi_task *task)
{
	const struct scsi_cmd_desc *d;
	bool known;
	uint8_t bad;
	int i;

	if (task->cdb_len == 0 || task->cdb_len > SCSI_CDB_MAX_LEN) {
		scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
		return false;
	}
	d = scsi_cmd_find(task->cdb[0], &known, task->cdb_len > 1 ? task->cdb[1] & 0x1f : 0);
	if (d == NULL) {
		if (known) {
			scsi_task_invalid_field(task, true, 1, 4);
		} else {
			scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST,
					    SCSI_ASC_INVALID_OPCODE);
		}
		return false;
	}
	if (task->cdb_len < d->cdb_len) {
		/* truncated CDB: the missing bytes hold required fields */
		scsi_task_invalid_field(task, true, task->cdb_len - 1, -1);
		return false;
	}
	for (i = 1; i < d->cdb_len; i++) {
		bad = task->cdb[i] & ~d->usage[i];
		if (bad != 0) {
			scsi_task_invalid_field(task, true, i, highest_bit(bad));
			return false;
		}
	}
	return true;
}

/* ---- error translation (bdev -> SCSI), one place ---- */

static void
scsi_bdev_submit_error(struct scsi_task *task, int rc, bool write)
{
	switch (rc) {
	case -EINVAL:
		scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
		break;
	case -ENOTSUP:
		scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
		break;
	case -EBADF:
		/* read-only LUNs never get here: the bdev is being removed */
		scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
		break;
	default:
		scsi_task_set_sense(task, SCSI_SENSE_HARDWARE_ERROR,
				    SCSI_ASC_INTERNAL_TARGET_FAILURE);
		break;
	}
}

static void
scsi_bdev_io_error(struct scsi_task *task, enum bdev_io_status status, int err, bool write)
{
	if (status == BDEV_IO_STATUS_MEDIUM_ERROR ||
	    (status == BDEV_IO_STATUS_FAILED && err == -EIO)) {
		if (write) {
			scsi_task_set_sense(task, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
		} else {
			scsi_task_set_sense(task, SCSI_SENSE_MEDIUM_ERROR,
					    SCSI_ASC_UNRECOVERED_READ_ERROR);
		}
	} else if (status == BDEV_IO_STATUS_NOSPACE || err == -ENOSPC) {
		scsi_task_set_sense(task, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_SPACE_ALLOC_FAILED);
	} else if (status == BDEV_IO_STATUS_MISCOMPARE) {
		scsi_task_set_sense(task, SCSI_SENSE_MISCOMPARE, SCSI_ASC_MISCOMPARE_DURING_VERIFY);
	} else if (status == BDEV_IO_STATUS_ABORTED) {
		scsi_task_set_sense(task, SCSI_SENSE_ABORTED_COMMAND, SCSI_ASC_NO_ADDITIONAL);
	} else {
		scsi_task_set_sense(task, SCSI_SENSE_HARDWARE_ERROR,
				    SCSI_ASC_INTERNAL_TARGET_FAILURE);
	}
}

/* ---- bdev steps ---- */

static enum scsi_exec scsi_bdev_submit(struct scsi_task *task);

static bool
scsi_state_is_write(uint32_t state)
{
	return state != ST_READ && state != ST_CAW_READ && state != ST_VERIFY_READ;
}

static uint32_t
scsi_lun_block_size(const struct scsi_lun *lun)
{
	return bdev_get_block_size(lun->bdev);
}

/* Does a completed write need a flush to be durable (FUA, or write cache disabled)? */
static bool
scsi_write_needs_flush(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;

	if (!bdev_has_write_cache(lun->bdev) ||
	    !bdev_io_type_supported(lun->bdev, BDEV_IO_TYPE_FLUSH)) {
		return false;
	}
	return (task->step & STEP_FUA) || !lun->mode.wce;
}

static void
scsi_bdev_io_done(struct bdev_io *bdev_io, bool success, void *cb_arg)
{
	struct scsi_task *task = cb_arg;
	enum bdev_io_status status = bdev_io_get_status(bdev_io);
	int err = bdev_io_get_errno(bdev_io);
	uint32_t bs = scsi_lun_block_size(task->lun);
	int64_t diff;

	bdev_free_io(bdev_io);
	task->outstanding--;
	if (task->flags & SCSI_TASK_F_ABORTED) {
		scsi_task_finish(task);
		return;
	}
	if (!success) {
		scsi_bdev_io_error(task, status, err, scsi_state_is_write(task->state));
		scsi_task_finish(task);
		return;
	}
	switch (task->state) {
	case ST_READ:
		task->data_transferred = task->num_blocks * bs;
		break;
	case ST_WRITE:
		task->data_transferred = task->num_blocks * bs;
		if (scsi_write_needs_flush(task)) {
			task->state = ST_WRITE_FLUSH;
			goto next;
		}
		break;
	case ST_UNMAP:
	case ST_WS_UNMAP:
	case ST_WS_ZEROES:
	case ST_WS_PATTERN:
		/* progress was recorded at submit time; more to do? */
		goto next;
	case ST_CAW_READ:
		diff = scsi_task_data_out_cmp(task, 0, task->bounce, task->num_blocks * bs);
		if (diff >= 0) {
			scsi_task_miscompare(task, (uint32_t)diff);
			break;
		}
		scsi_task_data_out(task, task->num_blocks * bs, task->bounce,
				   task->num_blocks * bs);
		task->state = ST_CAW_WRITE;
		goto next;
	case ST_CAW_WRITE:
		task->data_transferred = 2 * task->num_blocks * bs;
		if (scsi_write_needs_flush(task)) {
			task->state = ST_WRITE_FLUSH;
			goto next;
		}
		break;
	case ST_VERIFY_READ:
		task->data_transferred = task->num_blocks * bs;
		diff = scsi_task_data_out_cmp(task, 0, task->bounce, task->num_blocks * bs);
		if (diff >= 0) {
			scsi_task_miscompare(task, (uint32_t)diff);
		}
		break;
	default:
		break;
	}
	scsi_task_finish(task);
	return;
next:
	if (scsi_bdev_submit(task) == SCSI_EXEC_COMPLETE) {
		scsi_task_finish(task);
	}
}

static void
scsi_bdev_io_wait_cb(void *cb_arg)
{
	struct scsi_task *task = cb_arg;

	task->flags &= ~SCSI_TASK_F_IO_WAIT;
	scsi_bdev_resume(task);
}

void
scsi_bdev_resume(struct scsi_task *task)
{
	if (task->flags & SCSI_TASK_F_ABORTED) {
		scsi_task_finish(task);
		return;
	}
	if (scsi_bdev_submit(task) == SCSI_EXEC_COMPLETE) {
		scsi_task_finish(task);
	}
}

/* UNMAP descriptor i of the parameter list held in task->bounce. */
static void
unmap_desc(const struct scsi_task *task, uint32_t i, uint64_t *lba, uint32_t *n)
{
	const uint8_t *d = (const uint8_t *)task->bounce + 8 + 16 * i;

	*lba = scsi_get64(d);
	*n = scsi_get32(d + 8);
}

/* Number of UNMAP descriptors (kept in bounce_iov.iov_len). */
#define UNMAP_NDESC(task) ((uint32_t)(task)->bounce_iov.iov_len)

/*
 * Issue the next bdev I/O of the task's state. SCSI_EXEC_PENDING: a callback
 * will come; SCSI_EXEC_COMPLETE: finished (all steps done or error set).
 */
static enum scsi_exec
scsi_bdev_submit(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	uint64_t lba, n, max;
	uint32_t cnt;
	int rc;

	if (scsi_lun_get_channel(lun) != 0) {
		scsi_task_set_sense(task, SCSI_SENSE_HARDWARE_ERROR,
				    SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return SCSI_EXEC_COMPLETE;
	}
	switch (task->state) {
	case ST_READ:
		rc = bdev_readv_blocks(lun->desc, lun->ch, task->iovs, (int)task->offset, task->lba,
				       task->num_blocks, scsi_bdev_io_done, task);
		break;
	case ST_WRITE:
		rc = bdev_writev_blocks(lun->desc, lun->ch, task->iovs, (int)task->offset,
					task->lba, task->num_blocks, scsi_bdev_io_done, task);
		break;
	case ST_WRITE_FLUSH:
	case ST_FLUSH:
		rc = bdev_flush_blocks(lun->desc, lun->ch, task->lba, task->num_blocks,
				       scsi_bdev_io_done, task);
		if (task->state == ST_WRITE_FLUSH) {
			task->state = ST_FLUSH;
		}
		break;
	case ST_UNMAP:
		/* task->step: descriptor index, task->offset: blocks done in it */
		for (;;) {
			if (task->step >= UNMAP_NDESC(task)) {
				return SCSI_EXEC_COMPLETE;
			}
			unmap_desc(task, task->step, &lba, &cnt);
			if (task->offset < cnt) {
				break;
			}
			task->step++;
			task->offset = 0;
		}
		max = bdev_get_max_unmap_blocks(lun->bdev);
		n = cnt - task->offset;
		if (max != 0 && n > max) {
			n = max;
		}
		rc = bdev_unmap_blocks(lun->desc, lun->ch, lba + task->offset, n,
				       scsi_bdev_io_done, task);
		if (rc == 0) {
			task->offset += n;
		}
		break;
	case ST_WS_UNMAP:
	case ST_WS_ZEROES:
	case ST_WS_PATTERN:
		if (task->offset >= task->num_blocks) {
			return SCSI_EXEC_COMPLETE;
		}
		n = task->num_blocks - task->offset;
		lba = task->lba + task->offset;
		if (task->state == ST_WS_UNMAP) {
			max = bdev_get_max_unmap_blocks(lun->bdev);
			if (max != 0 && n > max) {
				n = max;
			}
			rc = bdev_unmap_blocks(lun->desc, lun->ch, lba, n, scsi_bdev_io_done, task);
		} else if (task->state == ST_WS_ZEROES) {
			max = bdev_get_max_write_zeroes_blocks(lun->bdev);
			if (max != 0 && n > max) {
				n = max;
			}
			rc = bdev_write_zeroes_blocks(lun->desc, lun->ch, lba, n,
						      scsi_bdev_io_done, task);
		} else {
			max = task->bounce_len / scsi_lun_block_size(lun);
			if (n > max) {
				n = max;
			}
			task->bounce_iov.iov_base = task->bounce;
			task->bounce_iov.iov_len = n * scsi_lun_block_size(lun);
			rc = bdev_writev_blocks(lun->desc, lun->ch, &task->bounce_iov, 1, lba, n,
						scsi_bdev_io_done, task);
		}
		if (rc == 0) {
			task->offset += n;
		}
		break;
	case ST_CAW_READ:
	case ST_VERIFY_READ:
		task->bounce_iov.iov_base = task->bounce;
		task->bounce_iov.iov_len = task->bounce_len;
		rc = bdev_readv_blocks(lun->desc, lun->ch, &task->bounce_iov, 1, task->lba,
				       task->num_blocks, scsi_bdev_io_done, task);
		break;
	case ST_CAW_WRITE:
		task->bounce_iov.iov_base = task->bounce;
		task->bounce_iov.iov_len = task->bounce_len;
		rc = bdev_writev_blocks(lun->desc, lun->ch, &task->bounce_iov, 1, task->lba,
					task->num_blocks, scsi_bdev_io_done, task);
		break;
	default:
		return SCSI_EXEC_COMPLETE;
	}
	if (rc == 0) {
		task->outstanding++;
		return SCSI_EXEC_PENDING;
	}
	if (rc == -ENOMEM) {
		task->io_wait.bdev = lun->bdev;
		task->io_wait.cb_fn = scsi_bdev_io_wait_cb;
		task->io_wait.cb_arg = task;
		if (bdev_queue_io_wait(lun->bdev, lun->ch, &task->io_wait) == 0) {
			task->flags |= SCSI_TASK_F_IO_WAIT;
			return SCSI_EXEC_PENDING;
		}
	}
	scsi_bdev_submit_error(task, rc, scsi_state_is_write(task->state));
	return SCSI_EXEC_COMPLETE;
}

/* Admit to the LBA range lock, then submit. */
static enum scsi_exec
scsi_bdev_start(struct scsi_task *task)
{
	if (!scsi_lun_range_admit(task->lun, task)) {
		return SCSI_EXEC_PENDING;
	}
	return scsi_bdev_submit(task);
}

/* ---- helpers for command handlers ---- */

static enum scsi_exec
scsi_lba_out_of_range(struct scsi_task *task)
{
	scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	return SCSI_EXEC_COMPLETE;
}

static enum scsi_exec
scsi_write_protected(struct scsi_task *task)
{
	scsi_task_set_sense(task, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	return SCSI_EXEC_COMPLETE;
}

static enum scsi_exec
scsi_invalid_cdb(struct scsi_task *task, uint16_t byte, int bit)
{
	scsi_task_invalid_field(task, true, byte, bit);
	return SCSI_EXEC_COMPLETE;
}

/* lba + n within the LUN (n == 0: lba itself must exist). */
static bool
scsi_range_ok(struct scsi_lun *lun, uint64_t lba, uint64_t n)
{
	uint64_t nb = bdev_get_num_blocks(lun->bdev);

	if (n == 0) {
		return lba < nb || (lba == 0 && nb == 0);
	}
	return lba < nb && n <= nb - lba;
}

/*
 * Make the task's iovecs cover exactly `bytes`: shorten the last one needed
 * (restored at finish). Returns the iovec count to pass to the bdev, or -1 if
 * the buffer is too small.
 */
static int
scsi_task_trim_iovs(struct scsi_task *task, uint64_t bytes)
{
	uint64_t sum = 0;
	int i;

	if (bytes > task->transfer_len || task->iovs == NULL) {
		return -1;
	}
	for (i = 0; i < task->iovcnt; i++) {
		if (sum + task->iovs[i].iov_len >= bytes) {
			if (sum + task->iovs[i].iov_len > bytes) {
				task->trim_iov = &task->iovs[i];
				task->trim_len = task->iovs[i].iov_len;
				task->iovs[i].iov_len = bytes - sum;
			}
			return i + 1;
		}
		sum += task->iovs[i].iov_len;
	}
	return -1;
}

/* ---- READ / WRITE / WRITE AND VERIFY ---- */

static enum scsi_exec
cmd_rw(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	const uint8_t *cdb = task->cdb;
	uint64_t lba, n, bytes;
	uint16_t len_byte;
	bool write, fua = false;
	int iovcnt;

	switch (cdb[0]) {
	case SBC_READ_6:
	case SBC_WRITE_6:
		lba = scsi_get24(&cdb[1]) & 0x1fffff;
		n = cdb[4] == 0 ? 256 : cdb[4];
		len_byte = 4;
		break;
	case SBC_READ_10:
	case SBC_WRITE_10:
	case SBC_WRITE_AND_VERIFY_10:
		lba = scsi_get32(&cdb[2]);
		n = scsi_get16(&cdb[7]);
		len_byte = 7;
		break;
	case SBC_READ_12:
	case SBC_WRITE_12:
		lba = scsi_get32(&cdb[2]);
		n = scsi_get32(&cdb[6]);
		len_byte = 6;
		break;
	default:	/* 16-byte */
		lba = scsi_get64(&cdb[2]);
		n = scsi_get32(&cdb[10]);
		len_byte = 10;
		break;
	}
	write = cdb[0] != SBC_READ_6 && cdb[0] != SBC_READ_10 && cdb[0] != SBC_READ_12 &&
		cdb[0] != SBC_READ_16;
	if (cdb[0] != SBC_READ_6 && cdb[0] != SBC_WRITE_6) {
		fua = (cdb[1] & 0x08) != 0;
	}
	if (cdb[0] == SBC_WRITE_AND_VERIFY_10 || cdb[0] == SBC_WRITE_AND_VERIFY_16) {
		fua = true;	/* verified means on the medium */
	}
	if (write && lun->read_only) {
		return scsi_write_protected(task);
	}
	if (!scsi_range_ok(lun, lba, n)) {
		return scsi_lba_out_of_range(task);
	}
	if (n == 0) {
		return SCSI_EXEC_COMPLETE;
	}
	bytes = n * scsi_lun_block_size(lun);
	if (task->dxfer_dir != (write ? SCSI_DIR_TO_DEV : SCSI_DIR_FROM_DEV) ||
	    bytes > UINT32_MAX || scsi_task_buf_len(task) < bytes) {
		/* the initiator's buffer cannot hold what the CDB asks for */
		return scsi_invalid_cdb(task, len_byte, -1);
	}
	iovcnt = scsi_task_trim_iovs(task, bytes);
	if (iovcnt < 0) {
		return scsi_invalid_cdb(task, len_byte, -1);
	}
	task->lba = lba;
	task->num_blocks = n;
	task->offset = (uint64_t)iovcnt;
	task->step = fua ? STEP_FUA : 0;
	task->state = write ? ST_WRITE : ST_READ;
	return scsi_bdev_start(task);
}

/* ---- VERIFY ---- */

static enum scsi_exec
cmd_verify(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	const uint8_t *cdb = task->cdb;
	uint8_t bytchk = (cdb[1] >> 1) & 0x3;
	uint64_t lba, n, bytes;
	uint16_t len_byte;

	if (cdb[0] == SBC_VERIFY_10) {
		lba = scsi_get32(&cdb[2]);
		n = scsi_get16(&cdb[7]);
		len_byte = 7;
	} else {
		lba = scsi_get64(&cdb[2]);
		n = scsi_get32(&cdb[10]);
		len_byte = 10;
	}
	if (bytchk > 1) {
		/* 10b reserved, 11b (one block compared to each) not supported */
		return scsi_invalid_cdb(task, 1, 2);
	}
	if (!scsi_range_ok(lun, lba, n)) {
		return scsi_lba_out_of_range(task);
	}
	if (n == 0 || bytchk == 0) {
		return SCSI_EXEC_COMPLETE;	/* virtual medium: nothing to verify */
	}
	bytes = n * scsi_lun_block_size(lun);
	if (bytes > SCSI_WS_CHUNK_BYTES * 16) {
		return scsi_invalid_cdb(task, len_byte, -1);
	}
	if (task->dxfer_dir != SCSI_DIR_TO_DEV || scsi_task_buf_len(task) < bytes) {
		return scsi_invalid_cdb(task, len_byte, -1);
	}
	task->bounce = malloc(bytes);
	if (task->bounce == NULL) {
		scsi_task_set_sense(task, SCSI_SENSE_HARDWARE_ERROR,
				    SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return SCSI_EXEC_COMPLETE;
	}
	task->bounce_len = bytes;
	task->lba = lba;
	task->num_blocks = n;
	task->state = ST_VERIFY_READ;
	return scsi_bdev_start(task);
}

/* ---- COMPARE AND WRITE ---- */

static enum scsi_exec
cmd_caw(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	const uint8_t *cdb = task->cdb;
	uint64_t lba = scsi_get64(&cdb[2]);
	uint32_t n = cdb[13];
	uint64_t bytes;

	if (lun->read_only) {
		return scsi_write_protected(task);
	}
	if (!scsi_range_ok(lun, lba, n)) {
		return scsi_lba_out_of_range(task);
	}
	if (n == 0) {
		return SCSI_EXEC_COMPLETE;
	}
	bytes = (uint64_t)n * scsi_lun_block_size(lun);
	if (task->dxfer_dir != SCSI_DIR_TO_DEV || scsi_task_buf_len(task) < 2 * bytes) {
		return scsi_invalid_cdb(task, 13, -1);
	}
	task->bounce = malloc(bytes);
	if (task->bounce == NULL) {
		scsi_task_set_sense(task, SCSI_SENSE_HARDWARE_ERROR,
				    SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return SCSI_EXEC_COMPLETE;
	}
	task->bounce_len = bytes;
	task->lba = lba;
	task->num_blocks = n;
	task->step = (cdb[1] & 0x08) ? STEP_FUA : 0;
	task->state = ST_CAW_READ;
	task->flags |= SCSI_TASK_F_LOCK;
	return scsi_bdev_start(task);
}

/* ---- SYNCHRONIZE CACHE ---- */

static enum scsi_exec
cmd_sync_cache(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	const uint8_t *cdb = task->cdb;
	uint64_t lba, n;

	if (cdb[0] == SBC_SYNCHRONIZE_CACHE_10) {
		lba = scsi_get32(&cdb[2]);
		n = scsi_get16(&cdb[7]);
	} else {
		lba = scsi_get64(&cdb[2]);
		n = scsi_get32(&cdb[10]);
	}
	if (!scsi_range_ok(lun, lba, n)) {
		return scsi_lba_out_of_range(task);
	}
	if (n == 0) {
		n = bdev_get_num_blocks(lun->bdev) - lba;	/* to the end */
	}
	if (!bdev_io_type_supported(lun->bdev, BDEV_IO_TYPE_FLUSH) || n == 0) {
		return SCSI_EXEC_COMPLETE;
	}
	task->lba = lba;
	task->num_blocks = n;
	task->state = ST_FLUSH;
	return scsi_bdev_submit(task);	/* a flush does not take the range lock */
}

/* ---- UNMAP ---- */

static bool
scsi_lun_can_unmap(const struct scsi_lun *lun)
{
	return bdev_io_type_supported(lun->bdev, BDEV_IO_TYPE_UNMAP);
}

static enum scsi_exec
scsi_param_list_length_error(struct scsi_task *task)
{
	scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
	return SCSI_EXEC_COMPLETE;
}

static enum scsi_exec
cmd_unmap(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	uint32_t plen = scsi_get16(&task->cdb[7]);
	uint32_t bdlen, ndesc, i, cnt;
	uint64_t lba, lo = UINT64_MAX, hi = 0;
	uint8_t *p;

	if (!scsi_lun_can_unmap(lun)) {
		scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
		return SCSI_EXEC_COMPLETE;
	}
	if (lun->read_only) {
		return scsi_write_protected(task);
	}
	if (plen == 0) {
		return SCSI_EXEC_COMPLETE;
	}
	if (plen < 8) {
		return scsi_param_list_length_error(task);
	}
	p = malloc(plen);
	if (p == NULL) {
		scsi_task_set_sense(task, SCSI_SENSE_HARDWARE_ERROR,
				    SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return SCSI_EXEC_COMPLETE;
	}
	task->bounce = p;
	task->bounce_len = plen;
	if (scsi_task_data_out(task, 0, p, plen) < plen) {
		return scsi_param_list_length_error(task);
	}
	task->data_transferred = plen;
	bdlen = scsi_get16(&p[2]);
	if (scsi_get16(&p[0]) < 6 || bdlen + 8 > plen) {
		/* the UNMAP DATA LENGTH / BLOCK DESCRIPTOR DATA LENGTH exceed the list */
		return scsi_param_list_length_error(task);
	}
	ndesc = bdlen / 16;
	if (ndesc > SCSI_UNMAP_MAX_DESC) {
		scsi_task_invalid_field(task, false, 2, -1);
		return SCSI_EXEC_COMPLETE;
	}
	for (i = 0; i < ndesc; i++) {
		unmap_desc(task, i, &lba, &cnt);
		if (!scsi_range_ok(lun, lba, cnt)) {
			return scsi_lba_out_of_range(task);
		}
		if (cnt == 0) {
			continue;
		}
		lo = VHD_MIN(lo, lba);
		hi = VHD_MAX(hi, lba + cnt);
	}
	if (lo == UINT64_MAX) {
		return SCSI_EXEC_COMPLETE;
	}
	task->bounce_iov.iov_len = ndesc;
	task->lba = lo;
	task->num_blocks = hi - lo;
	task->step = 0;
	task->offset = 0;
	task->state = ST_UNMAP;
	return scsi_bdev_start(task);
}

/* ---- WRITE SAME ---- */

static bool
buf_is_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] != 0) {
			return false;
		}
	}
	return true;
}

static enum scsi_exec
cmd_write_same(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	const uint8_t *cdb = task->cdb;
	uint32_t bs = scsi_lun_block_size(lun);
	bool unmap = (cdb[1] & 0x08) != 0;
	bool ndob = cdb[0] == SBC_WRITE_SAME_16 && (cdb[1] & 0x01);
	uint64_t lba, n, chunk, i;
	uint16_t len_byte;
	bool zero;
	uint8_t *p;

	if (cdb[0] == SBC_WRITE_SAME_10) {
		lba = scsi_get32(&cdb[2]);
		n = scsi_get16(&cdb[7]);
		len_byte = 7;
	} else {
		lba = scsi_get64(&cdb[2]);
		n = scsi_get32(&cdb[10]);
		len_byte = 10;
	}
	if (lun->read_only) {
		return scsi_write_protected(task);
	}
	if (n == 0 || n > SCSI_WS_MAX_BLOCKS) {
		/* WSNZ=1 in the block limits page: 0 blocks is not "to the end" */
		return scsi_invalid_cdb(task, len_byte, -1);
	}
	if (!scsi_range_ok(lun, lba, n)) {
		return scsi_lba_out_of_range(task);
	}
	chunk = VHD_MAX(1u, SCSI_WS_CHUNK_BYTES / bs);
	chunk = VHD_MIN(chunk, n);
	p = calloc(1, chunk * bs);
	if (p == NULL) {
		scsi_task_set_sense(task, SCSI_SENSE_HARDWARE_ERROR,
				    SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return SCSI_EXEC_COMPLETE;
	}
	task->bounce = p;
	task->bounce_len = chunk * bs;
	if (!ndob) {
		if (task->dxfer_dir != SCSI_DIR_TO_DEV || scsi_task_buf_len(task) < bs ||
		    scsi_task_data_out(task, 0, p, bs) < bs) {
			return scsi_invalid_cdb(task, len_byte, -1);
		}
		task->data_transferred = bs;
	}
	zero = buf_is_zero(p, bs);
	if (zero && unmap && scsi_lun_can_unmap(lun) && bdev_unmap_reads_zeroes(lun->bdev)) {
		task->state = ST_WS_UNMAP;
	} else if (zero && bdev_io_type_supported(lun->bdev, BDEV_IO_TYPE_WRITE_ZEROES)) {
		task->state = ST_WS_ZEROES;
	} else {
		for (i = 1; i < chunk; i++) {
			memcpy(p + i * bs, p, bs);
		}
		task->state = ST_WS_PATTERN;
	}
	task->lba = lba;
	task->num_blocks = n;
	task->offset = 0;
	return scsi_bdev_start(task);
}

/* ---- simple commands ---- */

static enum scsi_exec
cmd_tur(struct scsi_task *task)
{
	return SCSI_EXEC_COMPLETE;
}

static enum scsi_exec
cmd_start_stop(struct scsi_task *task)
{
	if (task->cdb[4] & 0xf0) {
		/* power conditions: none supported */
		return scsi_invalid_cdb(task, 4, 7);
	}
	return SCSI_EXEC_COMPLETE;
}

static enum scsi_exec
cmd_prevent_allow(struct scsi_task *task)
{
	task->lun->prevent_removal = (task->cdb[4] & 0x03) != 0;
	return SCSI_EXEC_COMPLETE;
}

static enum scsi_exec
cmd_request_sense(struct scsi_task *task)
{
	uint8_t buf[SCSI_SENSE_BUF_SIZE], asc = 0, ascq = 0;
	bool desc = task->cdb[1] & 0x01;
	uint8_t sk = SCSI_SENSE_NO_SENSE;
	uint32_t len;

	if (scsi_lun_pop_ua(task->lun, task->initiator_port, &asc, &ascq)) {
		sk = SCSI_SENSE_UNIT_ATTENTION;
	}
	scsi_task_build_sense(buf, &len, desc, sk, asc, ascq);
	scsi_task_data_in(task, buf, VHD_MIN(len, (uint32_t)task->cdb[4]));
	return SCSI_EXEC_COMPLETE;
}

static enum scsi_exec
cmd_report_luns(struct scsi_task *task)
{
	uint8_t buf[8 + 8 * SCSI_DEV_MAX_LUN];
	uint32_t len;

	if (task->cdb[2] > 0x02) {
		return scsi_invalid_cdb(task, 2, -1);
	}
	len = scsi_dev_report_luns(task->dev, task->cdb[2], buf, sizeof(buf));
	scsi_task_data_in(task, buf, VHD_MIN(len, scsi_get32(&task->cdb[6])));
	return SCSI_EXEC_COMPLETE;
}

/* ---- READ CAPACITY ---- */

static enum scsi_exec
cmd_read_capacity_10(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	uint64_t last = bdev_get_num_blocks(lun->bdev) - 1;
	uint8_t buf[8];

	if (!(task->cdb[8] & 0x01) && scsi_get32(&task->cdb[2]) != 0) {
		return scsi_invalid_cdb(task, 2, -1);	/* LBA needs PMI */
	}
	scsi_put32(buf, last > 0xffffffffull ? 0xffffffffu : (uint32_t)last);
	scsi_put32(buf + 4, scsi_lun_block_size(lun));
	scsi_task_data_in(task, buf, sizeof(buf));
	return SCSI_EXEC_COMPLETE;
}

static uint8_t
scsi_lun_phys_exp(const struct scsi_lun *lun)
{
	uint32_t bs = scsi_lun_block_size(lun);
	uint32_t pbs = bdev_get_physical_block_size(lun->bdev);
	uint8_t e = 0;

	while (pbs > bs && e < 15) {
		pbs >>= 1;
		e++;
	}
	return e;
}

static enum scsi_exec
cmd_read_capacity_16(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	uint8_t buf[32];

	if (!(task->cdb[14] & 0x01) && scsi_get64(&task->cdb[2]) != 0) {
		return scsi_invalid_cdb(task, 2, -1);
	}
	memset(buf, 0, sizeof(buf));
	scsi_put64(buf, bdev_get_num_blocks(lun->bdev) - 1);
	scsi_put32(buf + 8, scsi_lun_block_size(lun));
	buf[13] = scsi_lun_phys_exp(lun);
	if (scsi_lun_can_unmap(lun)) {
		buf[14] = 0x80;				/* LBPME */
		if (bdev_unmap_reads_zeroes(lun->bdev)) {
			buf[14] |= 0x40;		/* LBPRZ */
		}
	}
	scsi_task_data_in(task, buf, VHD_MIN((uint32_t)sizeof(buf), scsi_get32(&task->cdb[10])));
	return SCSI_EXEC_COMPLETE;
}

/* ---- INQUIRY ---- */

static void
pad_copy(uint8_t *dst, const char *src, size_t len)
{
	size_t n = src != NULL ? strnlen(src, len) : 0;

	memset(dst, ' ', len);
	memcpy(dst, src, n);
}

void
scsi_bdev_inquiry_std(struct scsi_lun *lun, uint8_t *buf, uint32_t *len)
{
	memset(buf, 0, 96);
	buf[0] = lun != NULL ? 0x00 : 0x7f;	/* PQ 0 / PDT 0; PQ 3 / PDT 1Fh: no LUN */
	buf[2] = 0x06;				/* SPC-4 */
	buf[3] = 0x12;				/* HISUP, response data format 2 */
	buf[4] = 96 - 5;
	buf[7] = 0x02;				/* CMDQUE */
	pad_copy(&buf[8], SCSI_VENDOR, 8);
	pad_copy(&buf[16], lun != NULL ? bdev_get_product_name(lun->bdev) : "", 16);
	pad_copy(&buf[32], SCSI_REVISION, 4);
	/* version descriptors: SAM-5, SPC-4, SBC-3 */
	scsi_put16(&buf[58], 0x00a0);
	scsi_put16(&buf[60], 0x0460);
	scsi_put16(&buf[62], 0x04c0);
	*len = 96;
}

static void
scsi_lun_serial(const struct scsi_lun *lun, char *out, size_t out_len)
{
	const struct util_uuid *uuid = bdev_get_uuid(lun->bdev);
	size_t i;

	if (uuid == NULL || util_uuid_is_null(uuid)) {
		snprintf(out, out_len, "%s", lun->bdev_name);
		return;
	}
	for (i = 0; i < 16 && 2 * i + 2 < out_len; i++) {
		snprintf(out + 2 * i, 3, "%02x", uuid->u[i]);
	}
}

static uint32_t
vpd_device_id(const struct scsi_lun *lun, uint8_t *p)
{
	const struct util_uuid *uuid = bdev_get_uuid(lun->bdev);
	uint8_t u[16] = {0};
	char serial[64];
	uint32_t off = 4, n, i;

	if (uuid != NULL) {
		memcpy(u, uuid->u, 16);
	}
	/* NAA locally assigned (3h): 60 bits folded from the bdev UUID */
	p[off++] = 0x01;	/* protocol 0, code set binary */
	p[off++] = 0x03;	/* PIV 0, association LU, type NAA */
	p[off++] = 0;
	p[off++] = 8;
	for (i = 0; i < 8; i++) {
		p[off + i] = u[i] ^ u[i + 8];
	}
	p[off] = 0x30 | (p[off] & 0x0f);
	off += 8;
	/* T10 vendor ID: vendor + UUID (or bdev name) */
	scsi_lun_serial(lun, serial, sizeof(serial));
	n = 8 + (uint32_t)strlen(serial);
	p[off++] = 0x02;	/* code set ASCII */
	p[off++] = 0x01;	/* association LU, type T10 vendor ID */
	p[off++] = 0;
	p[off++] = n;
	memcpy(&p[off], SCSI_VENDOR, 8);
	memcpy(&p[off + 8], serial, n - 8);
	off += n;
	/* relative target port identifier 1 */
	p[off++] = 0x01;
	p[off++] = 0x14;	/* association target port, type 4 */
	p[off++] = 0;
	p[off++] = 4;
	p[off++] = 0;
	p[off++] = 0;
	p[off++] = 0;
	p[off++] = 1;
	return off;
}

static enum scsi_exec
cmd_inquiry(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	const uint8_t *cdb = task->cdb;
	uint32_t alloc = scsi_get16(&cdb[3]);
	uint8_t buf[256];
	uint32_t len;
	char serial[64];
	uint64_t v;

	if (!(cdb[1] & 0x01)) {
		if (cdb[2] != 0) {
			return scsi_invalid_cdb(task, 2, -1);
		}
		scsi_bdev_inquiry_std(lun, buf, &len);
		scsi_task_data_in(task, buf, VHD_MIN(len, alloc));
		return SCSI_EXEC_COMPLETE;
	}
	memset(buf, 0, sizeof(buf));
	buf[1] = cdb[2];
	switch (cdb[2]) {
	case 0x00:
		buf[4] = 0x00;
		buf[5] = 0x80;
		buf[6] = 0x83;
		buf[7] = 0xb0;
		buf[8] = 0xb1;
		buf[9] = 0xb2;
		len = 10;
		break;
	case 0x80:
		scsi_lun_serial(lun, serial, sizeof(serial));
		len = (uint32_t)strlen(serial);
		memcpy(&buf[4], serial, len);
		len += 4;
		break;
	case 0x83:
		len = vpd_device_id(lun, buf);
		break;
	case 0xb0:
		len = 0x40;
		buf[4] = 0x01;			/* WSNZ */
		buf[5] = SCSI_CAW_MAX_BLOCKS;
		scsi_put16(&buf[6], 1u << scsi_lun_phys_exp(lun));
		scsi_put32(&buf[8], bdev_get_max_transfer_blocks(lun->bdev));
		scsi_put32(&buf[12], bdev_get_optimal_io_boundary(lun->bdev));
		if (scsi_lun_can_unmap(lun)) {
			v = bdev_get_max_unmap_blocks(lun->bdev);
			scsi_put32(&buf[20], v == 0 || v > SCSI_UNMAP_MAX_LBAS ?
				   SCSI_UNMAP_MAX_LBAS : (uint32_t)v);
			scsi_put32(&buf[24], SCSI_UNMAP_MAX_DESC);
			scsi_put32(&buf[28], 1u << scsi_lun_phys_exp(lun));
		}
		scsi_put64(&buf[36], SCSI_WS_MAX_BLOCKS);
		break;
	case 0xb1:
		len = 0x40;
		scsi_put16(&buf[4], 0x0001);	/* non-rotating medium */
		break;
	case 0xb2:
		len = 8;
		if (scsi_lun_can_unmap(lun)) {
			buf[5] = 0x80 | 0x40 | 0x20;	/* LBPU, LBPWS, LBPWS10 */
			if (bdev_unmap_reads_zeroes(lun->bdev)) {
				buf[5] |= 0x04;		/* LBPRZ */
			}
			buf[6] = 0x02;			/* thin provisioned */
		}
		break;
	default:
		return scsi_invalid_cdb(task, 2, -1);
	}
	scsi_put16(&buf[2], len - 4);
	scsi_task_data_in(task, buf, VHD_MIN(len, alloc));
	return SCSI_EXEC_COMPLETE;
}

/* ---- MODE SENSE / MODE SELECT ---- */

#define MODE_PC_CURRENT		0
#define MODE_PC_CHANGEABLE	1
#define MODE_PC_DEFAULT		2
#define MODE_PC_SAVED		3

static const uint8_t g_mode_pages[] = {0x01, 0x08, 0x0a};

static uint32_t
mode_page(const struct scsi_lun *lun, uint8_t page, int pc, uint8_t *p)
{
	uint32_t len;

	switch (page) {
	case 0x01:	/* read-write error recovery */
		len = 12;
		break;
	case 0x08:	/* caching */
		len = 20;
		break;
	case 0x0a:	/* control */
		len = 12;
		break;
	default:
		return 0;
	}
	memset(p, 0, len);
	p[0] = page;
	p[1] = len - 2;
	if (page == 0x08) {
		if (pc == MODE_PC_CHANGEABLE) {
			p[2] = 0x04;
		} else if (pc == MODE_PC_DEFAULT) {
			p[2] = bdev_has_write_cache(lun->bdev) ? 0x04 : 0;
		} else {
			p[2] = lun->mode.wce ? 0x04 : 0;
		}
	} else if (page == 0x0a) {
		if (pc == MODE_PC_CHANGEABLE) {
			p[2] = 0x04;
		} else {
			p[2] = (pc == MODE_PC_CURRENT && lun->mode.d_sense) ? 0x04 : 0;
			p[3] = 0x10;	/* unrestricted reordering allowed */
		}
	}
	return len;
}

static enum scsi_exec
cmd_mode_sense(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	const uint8_t *cdb = task->cdb;
	bool six = cdb[0] == SPC_MODE_SENSE_6;
	bool dbd = cdb[1] & 0x08;
	bool llbaa = !six && (cdb[1] & 0x10);
	int pc = cdb[2] >> 6;
	uint8_t page = cdb[2] & 0x3f, subpage = cdb[3];
	uint32_t alloc = six ? cdb[4] : scsi_get16(&cdb[7]);
	uint32_t hdr = six ? 4 : 8, off, i;
	uint64_t nb = bdev_get_num_blocks(lun->bdev);
	uint8_t buf[256];

	if (pc == MODE_PC_SAVED) {
		scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST,
				    SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED);
		return SCSI_EXEC_COMPLETE;
	}
	memset(buf, 0, sizeof(buf));
	off = hdr;
	if (!dbd) {
		if (llbaa) {
			scsi_put64(&buf[off], nb);
			scsi_put32(&buf[off + 12], scsi_lun_block_size(lun));
			off += 16;
		} else {
			scsi_put32(&buf[off], nb > 0xffffffffull ? 0xffffffffu : (uint32_t)nb);
			scsi_put32(&buf[off + 4], scsi_lun_block_size(lun) & 0xffffff);
			off += 8;
		}
	}
	if (page == 0x3f) {
		if (subpage != 0x00 && subpage != 0xff) {
			return scsi_invalid_cdb(task, 3, -1);
		}
		for (i = 0; i < VHD_COUNTOF(g_mode_pages); i++) {
			off += mode_page(lun, g_mode_pages[i], pc, &buf[off]);
		}
	} else {
		uint32_t n = mode_page(lun, page, pc, &buf[off]);

		if (n == 0) {
			return scsi_invalid_cdb(task, 2, 5);
		}
		if (subpage != 0) {
			return scsi_invalid_cdb(task, 3, -1);
		}
		off += n;
	}
	if (six) {
		buf[0] = off - 1;
		buf[2] = (lun->read_only ? 0x80 : 0) | 0x10;	/* WP, DPOFUA */
		buf[3] = dbd ? 0 : 8;
	} else {
		scsi_put16(&buf[0], off - 2);
		buf[3] = (lun->read_only ? 0x80 : 0) | 0x10;
		buf[4] = llbaa && !dbd ? 0x01 : 0;		/* LONGLBA */
		scsi_put16(&buf[6], dbd ? 0 : (llbaa ? 16 : 8));
	}
	scsi_task_data_in(task, buf, VHD_MIN(off, alloc));
	return SCSI_EXEC_COMPLETE;
}

static enum scsi_exec
cmd_mode_select(struct scsi_task *task)
{
	struct scsi_lun *lun = task->lun;
	const uint8_t *cdb = task->cdb;
	bool six = cdb[0] == SPC_MODE_SELECT_6;
	uint32_t plen = six ? cdb[4] : scsi_get16(&cdb[7]);
	uint32_t hdr = six ? 4 : 8, bdlen, off, len, i, pass;
	uint8_t cur[32], chg[32], *p;
	struct scsi_mode mode = lun->mode;

	if (cdb[1] & 0x01) {
		return scsi_invalid_cdb(task, 1, 0);	/* SP: cannot save */
	}
	if (plen == 0) {
		return SCSI_EXEC_COMPLETE;
	}
	if (!(cdb[1] & 0x10)) {
		return scsi_invalid_cdb(task, 1, 4);	/* PF=0: vendor pages */
	}
	if (plen < hdr) {
		return scsi_param_list_length_error(task);
	}
	p = malloc(plen);
	if (p == NULL) {
		scsi_task_set_sense(task, SCSI_SENSE_HARDWARE_ERROR,
				    SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return SCSI_EXEC_COMPLETE;
	}
	task->bounce = p;
	task->bounce_len = plen;
	if (scsi_task_data_out(task, 0, p, plen) < plen) {
		return scsi_param_list_length_error(task);
	}
	task->data_transferred = plen;
	bdlen = six ? p[3] : scsi_get16(&p[6]);
	if (hdr + bdlen > plen) {
		return scsi_param_list_length_error(task);
	}
	if (bdlen != 0) {
		uint32_t want = (!six && (p[4] & 0x01)) ? 16 : 8;

		if (bdlen != want) {
			scsi_task_invalid_field(task, false, six ? 3 : 6, -1);
			return SCSI_EXEC_COMPLETE;
		}
		/* the block length cannot change */
		if ((want == 8 ? scsi_get24(&p[hdr + 5]) : scsi_get32(&p[hdr + 12])) !=
		    scsi_lun_block_size(lun)) {
			scsi_task_invalid_field(task, false, hdr + (want == 8 ? 5 : 12), -1);
			return SCSI_EXEC_COMPLETE;
		}
	}
	/* pass 0 validates everything, pass 1 applies */
	for (pass = 0; pass < 2; pass++) {
		for (off = hdr + bdlen; off < plen; off += len) {
			if (plen - off < 2) {
				return scsi_param_list_length_error(task);
			}
			if (p[off] & 0x80) {
				scsi_task_invalid_field(task, false, off, 7);	/* PS */
				return SCSI_EXEC_COMPLETE;
			}
			if (p[off] & 0x40) {
				scsi_task_invalid_field(task, false, off, 6);	/* SPF */
				return SCSI_EXEC_COMPLETE;
			}
			len = mode_page(lun, p[off] & 0x3f, MODE_PC_CURRENT, cur);
			if (len == 0) {
				scsi_task_invalid_field(task, false, off, 5);
				return SCSI_EXEC_COMPLETE;
			}
			if (p[off + 1] != len - 2) {
				scsi_task_invalid_field(task, false, off + 1, -1);
				return SCSI_EXEC_COMPLETE;
			}
			if (off + len > plen) {
				return scsi_param_list_length_error(task);
			}
			mode_page(lun, p[off] & 0x3f, MODE_PC_CHANGEABLE, chg);
			for (i = 2; i < len; i++) {
				uint8_t bad = (p[off + i] ^ cur[i]) & ~chg[i];

				if (bad != 0) {
					scsi_task_invalid_field(task, false, off + i,
								highest_bit(bad));
					return SCSI_EXEC_COMPLETE;
				}
			}
			if (pass == 1) {
				if ((p[off] & 0x3f) == 0x08) {
					mode.wce = (p[off + 2] & 0x04) != 0;
				} else if ((p[off] & 0x3f) == 0x0a) {
					mode.d_sense = (p[off + 2] & 0x04) != 0;
				}
			}
		}
	}
	if (mode.wce != lun->mode.wce || mode.d_sense != lun->mode.d_sense) {
		lun->mode = mode;
		scsi_lun_set_ua_all(lun, SCSI_UA_MODE_CHANGED, task->initiator_port);
	}
	return SCSI_EXEC_COMPLETE;
}

/* ---- REPORT SUPPORTED OPERATION CODES ---- */

static uint32_t
rsoc_timeouts(uint8_t *p)
{
	memset(p, 0, 12);
	scsi_put16(p, 0x0a);	/* descriptor length */
	return 12;
}

static enum scsi_exec
cmd_report_opcodes(struct scsi_task *task)
{
	const uint8_t *cdb = task->cdb;
	bool rctd = cdb[2] & 0x80;
	uint8_t opt = cdb[2] & 0x07, op = cdb[3];
	uint16_t sa = scsi_get16(&cdb[4]);
	uint32_t alloc = scsi_get32(&cdb[6]);
	const struct scsi_cmd_desc *d = NULL;
	uint8_t buf[4 + VHD_COUNTOF(g_cmds) * 20];
	uint32_t off = 0;
	size_t i;

	memset(buf, 0, sizeof(buf));
	if (opt == 0) {
		off = 4;
		for (i = 0; i < VHD_COUNTOF(g_cmds); i++) {
			d = &g_cmds[i];
			buf[off] = d->opcode;
			scsi_put16(&buf[off + 2], d->sa);
			buf[off + 5] = (rctd ? 0x02 : 0) | (d->has_sa ? 0x01 : 0);
			scsi_put16(&buf[off + 6], d->cdb_len);
			off += 8;
			if (rctd) {
				off += rsoc_timeouts(&buf[off]);
			}
		}
		scsi_put32(buf, off - 4);
	} else if (opt <= 3) {
		for (i = 0; i < VHD_COUNTOF(g_cmds); i++) {
			if (g_cmds[i].opcode != op) {
				continue;
			}
			if (opt == 1 && g_cmds[i].has_sa) {
				return scsi_invalid_cdb(task, 2, 2);
			}
			if (opt == 2 && !g_cmds[i].has_sa) {
				return scsi_invalid_cdb(task, 2, 2);
			}
			if (!g_cmds[i].has_sa || g_cmds[i].sa == sa) {
				d = &g_cmds[i];
				break;
			}
		}
		buf[1] = rctd ? 0x80 : 0;
		if (d == NULL) {
			buf[1] |= 0x01;		/* not supported */
			off = 4;
		} else {
			buf[1] |= 0x03;		/* supported, standard */
			scsi_put16(&buf[2], d->cdb_len);
			memcpy(&buf[4], d->usage, d->cdb_len);
			buf[4] = d->opcode;	/* usage data starts with the opcode */
			off = 4 + d->cdb_len;
			if (rctd) {
				off += rsoc_timeouts(&buf[off]);
			}
		}
	} else {
		return scsi_invalid_cdb(task, 2, 2);
	}
	scsi_task_data_in(task, buf, VHD_MIN(off, alloc));
	return SCSI_EXEC_COMPLETE;
}

/* ---- dispatch ---- */

enum scsi_exec
scsi_bdev_execute(struct scsi_task *task)
{
	const struct scsi_cmd_desc *d;
	bool known;

	d = scsi_cmd_find(task->cdb[0], &known, task->cdb[1] & 0x1f);
	if (d == NULL) {	/* scsi_cdb_check() let it through: cannot happen */
		scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
		return SCSI_EXEC_COMPLETE;
	}
	return d->fn(task);
}
