/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-scsi wire formats for the vhost-scsi personality: LUN addressing,
 * splitting a request chain into header / data-out / response / data-in, and
 * the per-session event queue. Pure code (no threads, no DPDK): unit-tested
 * by test/unit/lib/vhost_scsi/vhost_scsi_ut.c.
 *
 * Every byte comes from the guest: lengths are summed in 64 bits, a response
 * is only written where the chain has room for all of it, and a header that
 * spans several descriptors is gathered rather than read in place.
 */
#include <errno.h>
#include <string.h>

#include "vhost_scsi.h"

#include "vhostd/scsi.h"
#include "vhostd/util.h"

int
vhost_scsi_lun_decode(const uint8_t lun[8], uint8_t *target, uint32_t *lun_id)
{
	if (lun[0] != 1) {
		return -ENODEV;
	}
	*target = lun[1];
	/* lun[2..7] is a single-level SAM LUN: peripheral (00b) or flat (01b). */
	if (scsi_lun_id_decode(&lun[2], 6, lun_id) != 0) {
		return -EINVAL;
	}
	return 0;
}

void
vhost_scsi_event_lun(uint8_t out[8], uint8_t target, uint32_t lun_id)
{
	memset(out, 0, 8);
	out[0] = 1;
	out[1] = target;
	out[2] = (uint8_t)((lun_id >> 8) & 0x3f);
	out[3] = (uint8_t)(lun_id & 0xff);
}

uint64_t
vhost_scsi_iov_gather(const struct iovec *iov, uint16_t cnt, void *buf, uint64_t len)
{
	uint64_t done = 0;
	uint16_t i;

	for (i = 0; i < cnt && done < len; i++) {
		uint64_t n = VHD_MIN(len - done, (uint64_t)iov[i].iov_len);

		memcpy((uint8_t *)buf + done, iov[i].iov_base, n);
		done += n;
	}
	return done;
}

uint64_t
vhost_scsi_iov_scatter(const struct iovec *iov, uint16_t cnt, const void *buf, uint64_t len)
{
	uint64_t done = 0;
	uint16_t i;

	for (i = 0; i < cnt && done < len; i++) {
		uint64_t n = VHD_MIN(len - done, (uint64_t)iov[i].iov_len);

		memcpy(iov[i].iov_base, (const uint8_t *)buf + done, n);
		done += n;
	}
	return done;
}

/* Skip `skip` bytes of iov[*first, end): advance *first and trim the first iovec left. */
static uint64_t
iov_skip(struct iovec *iov, uint16_t *first, uint16_t end, uint64_t skip)
{
	uint64_t done = 0;

	while (done < skip && *first < end) {
		uint64_t n = VHD_MIN(skip - done, (uint64_t)iov[*first].iov_len);

		iov[*first].iov_base = (uint8_t *)iov[*first].iov_base + n;
		iov[*first].iov_len -= n;
		done += n;
		if (iov[*first].iov_len == 0) {
			(*first)++;
		}
	}
	/* Leave no empty iovec at the front of what remains. */
	while (*first < end && iov[*first].iov_len == 0) {
		(*first)++;
	}
	return done;
}

static uint64_t
iov_sum(const struct iovec *iov, uint16_t cnt)
{
	uint64_t n = 0;
	uint16_t i;

	for (i = 0; i < cnt; i++) {
		n += iov[i].iov_len;
	}
	return n;
}

uint16_t
vhost_scsi_locate_in(const struct iovec *iov, uint16_t iovcnt, uint16_t out_cnt, uint32_t len,
		     struct iovec *resp)
{
	uint64_t done = 0;
	uint16_t i, n = 0;

	if (out_cnt > iovcnt) {
		return 0;
	}
	for (i = out_cnt; i < iovcnt && done < len; i++) {
		uint64_t take = VHD_MIN((uint64_t)len - done, (uint64_t)iov[i].iov_len);

		if (take == 0) {
			continue;
		}
		if (n == VHOST_SCSI_RESP_IOV_MAX) {
			return 0;
		}
		resp[n].iov_base = iov[i].iov_base;
		resp[n].iov_len = take;
		n++;
		done += take;
	}
	return done == len ? n : 0;
}

int
vhost_scsi_parse_cmd(struct iovec *iov, uint16_t iovcnt, uint16_t out_cnt,
		     struct vhost_scsi_cmd *cmd)
{
	uint16_t first_out = 0, first_in;

	memset(cmd, 0, sizeof(*cmd));
	if (out_cnt > iovcnt) {
		return -EFAULT;
	}
	/* Response: the first VHOST_SCSI_RESP_SIZE writable bytes. */
	cmd->resp_cnt = vhost_scsi_locate_in(iov, iovcnt, out_cnt, VHOST_SCSI_RESP_SIZE,
					     cmd->resp);
	if (cmd->resp_cnt == 0) {
		return -EFAULT;
	}
	first_in = out_cnt;
	iov_skip(iov, &first_in, iovcnt, VHOST_SCSI_RESP_SIZE);
	cmd->data_in = &iov[first_in];
	cmd->data_in_cnt = iovcnt - first_in;
	cmd->data_in_len = iov_sum(cmd->data_in, cmd->data_in_cnt);

	/* Header: the first VHOST_SCSI_REQ_SIZE readable bytes, however split. */
	if (vhost_scsi_iov_gather(iov, out_cnt, &cmd->req, VHOST_SCSI_REQ_SIZE) !=
	    VHOST_SCSI_REQ_SIZE) {
		cmd->data_in_cnt = 0;
		cmd->data_in_len = 0;
		return -EINVAL;
	}
	iov_skip(iov, &first_out, out_cnt, VHOST_SCSI_REQ_SIZE);
	cmd->data_out = &iov[first_out];
	cmd->data_out_cnt = out_cnt - first_out;
	cmd->data_out_len = iov_sum(cmd->data_out, cmd->data_out_cnt);
	return 0;
}

void
vhost_scsi_evq_push(struct vhost_scsi_evq *q, uint32_t event, uint8_t target, uint32_t lun_id,
		    uint32_t reason)
{
	struct virtio_scsi_event *ev;

	if (q->cnt == VHOST_SCSI_EVENTS_MAX) {
		q->missed = true;
		q->dropped++;
		return;
	}
	ev = &q->ev[(q->head + q->cnt) % VHOST_SCSI_EVENTS_MAX];
	memset(ev, 0, sizeof(*ev));
	ev->event = event;
	vhost_scsi_event_lun(ev->lun, target, lun_id);
	ev->reason = reason;
	q->cnt++;
}

bool
vhost_scsi_evq_peek(const struct vhost_scsi_evq *q, struct virtio_scsi_event *ev)
{
	if (q->cnt == 0) {
		if (!q->missed) {
			return false;
		}
		memset(ev, 0, sizeof(*ev));
		ev->event = VIRTIO_SCSI_T_NO_EVENT | VIRTIO_SCSI_T_EVENTS_MISSED;
		return true;
	}
	*ev = q->ev[q->head];
	if (q->missed) {
		ev->event |= VIRTIO_SCSI_T_EVENTS_MISSED;
	}
	return true;
}

void
vhost_scsi_evq_pop(struct vhost_scsi_evq *q)
{
	q->missed = false;
	if (q->cnt == 0) {
		return;
	}
	q->head = (q->head + 1) % VHOST_SCSI_EVENTS_MAX;
	q->cnt--;
}
