/* SPDX-License-Identifier: BSD-3-Clause */
/* Tasks: sense data, data-in/data-out copying, LUN addressing, ports. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scsi_internal.h"

void
scsi_port_init(struct scsi_port *port, uint64_t id, const char *name)
{
	memset(port, 0, sizeof(*port));
	port->id = id;
	if (name != NULL) {
		snprintf(port->name, sizeof(port->name), "%s", name);
	}
}

void
scsi_task_init(struct scsi_task *task, scsi_task_cpl_cb cb_fn, void *cb_arg)
{
	memset(task, 0, sizeof(*task));
	task->cb_fn = cb_fn;
	task->cb_arg = cb_arg;
}

bool
scsi_task_d_sense(const struct scsi_task *task)
{
	return task->lun != NULL && task->lun->mode.d_sense;
}

void
scsi_task_build_sense(uint8_t *buf, uint32_t *len, bool d_sense, uint8_t sk, uint8_t asc,
		      uint8_t ascq)
{
	if (d_sense) {
		memset(buf, 0, 8);
		buf[0] = 0x72;		/* current error, descriptor format */
		buf[1] = sk & 0x0f;
		buf[2] = asc;
		buf[3] = ascq;
		buf[7] = 0;		/* additional sense length */
		*len = 8;
	} else {
		memset(buf, 0, 18);
		buf[0] = 0x70;		/* current error, fixed format */
		buf[2] = sk & 0x0f;
		buf[7] = 10;		/* additional sense length */
		buf[12] = asc;
		buf[13] = ascq;
		*len = 18;
	}
}

void
scsi_task_set_sense_full(struct scsi_task *task, uint8_t sk, uint8_t asc, uint8_t ascq,
			 bool d_sense)
{
	task->status = SCSI_STATUS_CHECK_CONDITION;
	scsi_task_build_sense(task->sense_data, &task->sense_len, d_sense, sk, asc, ascq);
}

void
scsi_task_set_sense(struct scsi_task *task, uint8_t sk, uint8_t asc, uint8_t ascq)
{
	scsi_task_set_sense_full(task, sk, asc, ascq, scsi_task_d_sense(task));
}

/* Sense-key specific bytes (3): SKSV, C/D, BPV, bit pointer, field pointer. */
static void
sense_key_specific(uint8_t *p, bool cdb, uint16_t byte, int bit)
{
	p[0] = 0x80 | (cdb ? 0x40 : 0);
	if (bit >= 0) {
		p[0] |= 0x08 | (bit & 0x7);
	}
	scsi_put16(p + 1, byte);
}

void
scsi_task_invalid_field(struct scsi_task *task, bool cdb, uint16_t byte, int bit)
{
	uint8_t *s = task->sense_data;

	if (cdb) {
		scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST,
				    SCSI_ASC_INVALID_FIELD_IN_CDB);
	} else {
		scsi_task_set_sense(task, SCSI_SENSE_ILLEGAL_REQUEST,
				    SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST);
	}
	if (s[0] == 0x72) {
		/* sense key specific descriptor: type 02h, length 06h */
		s[8] = 0x02;
		s[9] = 0x06;
		s[10] = 0;
		s[11] = 0;
		sense_key_specific(&s[12], cdb, byte, bit);
		s[15] = 0;
		s[7] = 8;
		task->sense_len = 16;
	} else {
		sense_key_specific(&s[15], cdb, byte, bit);
	}
}

void
scsi_task_miscompare(struct scsi_task *task, uint32_t offset)
{
	uint8_t *s = task->sense_data;

	scsi_task_set_sense(task, SCSI_SENSE_MISCOMPARE, SCSI_ASC_MISCOMPARE_DURING_VERIFY);
	if (s[0] == 0x72) {
		/* information descriptor: type 00h, length 0Ah, VALID */
		s[8] = 0x00;
		s[9] = 0x0a;
		s[10] = 0x80;
		s[11] = 0;
		scsi_put64(&s[12], offset);
		s[7] = 12;
		task->sense_len = 20;
	} else {
		s[0] |= 0x80;	/* VALID: INFORMATION holds the offset */
		scsi_put32(&s[3], offset);
	}
}

uint32_t
scsi_task_buf_len(const struct scsi_task *task)
{
	uint64_t total = 0;
	int i;

	if (task->iovs == NULL || task->iovcnt <= 0) {
		return 0;
	}
	for (i = 0; i < task->iovcnt; i++) {
		total += task->iovs[i].iov_len;
	}
	return (uint32_t)VHD_MIN(total, (uint64_t)task->transfer_len);
}

void
scsi_task_data_in(struct scsi_task *task, const void *buf, uint32_t len)
{
	const uint8_t *src = buf;
	uint32_t done = 0;
	int i;

	if (task->dxfer_dir != SCSI_DIR_FROM_DEV || task->iovs == NULL) {
		task->data_transferred = 0;
		return;
	}
	len = VHD_MIN(len, task->transfer_len);
	for (i = 0; i < task->iovcnt && done < len; i++) {
		size_t n = VHD_MIN(task->iovs[i].iov_len, (size_t)(len - done));

		memcpy(task->iovs[i].iov_base, src + done, n);
		done += n;
	}
	task->data_transferred = done;
}

uint32_t
scsi_task_data_out(struct scsi_task *task, uint32_t offset, void *buf, uint32_t len)
{
	uint8_t *dst = buf;
	uint64_t pos = 0;
	uint32_t done = 0;
	int i;

	if (task->dxfer_dir != SCSI_DIR_TO_DEV || task->iovs == NULL) {
		return 0;
	}
	if (offset >= task->transfer_len) {
		return 0;
	}
	len = VHD_MIN(len, task->transfer_len - offset);
	for (i = 0; i < task->iovcnt && done < len; i++) {
		uint64_t l = task->iovs[i].iov_len;
		uint64_t start, n;

		if (pos + l <= offset) {
			pos += l;
			continue;
		}
		start = offset > pos ? offset - pos : 0;
		n = VHD_MIN(l - start, (uint64_t)(len - done));
		memcpy(dst + done, (uint8_t *)task->iovs[i].iov_base + start, n);
		done += n;
		pos += l;
	}
	return done;
}

int64_t
scsi_task_data_out_cmp(struct scsi_task *task, uint32_t offset, const void *buf, uint32_t len)
{
	const uint8_t *b = buf;
	uint8_t tmp[512];
	uint32_t done = 0;

	while (done < len) {
		uint32_t n = VHD_MIN((uint32_t)sizeof(tmp), len - done);
		uint32_t got = scsi_task_data_out(task, offset + done, tmp, n);
		uint32_t i;

		for (i = 0; i < got; i++) {
			if (tmp[i] != b[done + i]) {
				return (int64_t)done + i;
			}
		}
		if (got < n) {
			return (int64_t)done + got;
		}
		done += n;
	}
	return -1;
}

int
scsi_lun_id_decode(const uint8_t *lun, size_t len, uint32_t *lun_id)
{
	size_t i;

	if (lun == NULL || len < 2) {
		return -EINVAL;
	}
	for (i = 2; i < len; i++) {
		if (lun[i] != 0) {
			return -EINVAL;
		}
	}
	switch (lun[0] >> 6) {
	case 0:	/* peripheral device addressing, bus 0 */
		if (lun[0] != 0) {
			return -EINVAL;
		}
		*lun_id = lun[1];
		return 0;
	case 1:	/* flat space addressing */
		*lun_id = ((uint32_t)(lun[0] & 0x3f) << 8) | lun[1];
		return 0;
	default:
		return -EINVAL;
	}
}

void
scsi_lun_id_encode(uint32_t lun_id, uint8_t out[8])
{
	memset(out, 0, 8);
	if (lun_id < 256) {
		out[1] = lun_id;
	} else {
		out[0] = 0x40 | ((lun_id >> 8) & 0x3f);
		out[1] = lun_id & 0xff;
	}
}
