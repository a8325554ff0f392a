/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: virtio-scsi requests as vhost-scsi receives them. Chains
 * are popped from a hostile ring (lib/vhost/virtqueue.c over the fake guest of
 * ../common/fuzz_guest.h) and decoded with lib/vhost/vhost_scsi_proto.c:
 * requestq commands (vhost_scsi_parse_cmd, then the LUN decode), controlq
 * TMF / AN requests (vhost_scsi_locate_in for the response), and the event
 * queue (push / peek / pop with overflow into EVENTS_MISSED). The answer is
 * written where the parser says, as vhost_scsi.c does, so ASan sees any
 * response, sense or data-in location outside guest memory. The CDB itself
 * is fuzzed against lib/scsi by scsi_cdb_fuzz.
 *
 * Input: [0] mode (bit0 packed, bit2 indirect, bit3 controlq), [1] queue
 * size, [2..3] start index, [4] op count N, N op bytes, then guest memory.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../lib/vhost/virtqueue.c"
#include "../../../lib/vhost/vhost_scsi_proto.c"
#include "../common/fuzz_guest.h"

#define IOV_MAX_FUZZ	132

static struct fg_guest g_guest;
static struct vhost_scsi_evq g_evq;

static uint64_t
fz_iov_sum(const struct iovec *iov, uint16_t cnt)
{
	uint64_t n = 0;
	uint16_t i;

	for (i = 0; i < cnt; i++) {
		FG_CHECK(iov[i].iov_len == 0 ||
			 fg_guest_contains(&g_guest, iov[i].iov_base, iov[i].iov_len));
		n += iov[i].iov_len;
	}
	return n;
}

static uint32_t
handle_cmd(struct vhost_vq_elem *elem)
{
	struct vhost_scsi_cmd cmd;
	struct virtio_scsi_cmd_resp resp;
	uint8_t target;
	uint32_t lun;
	int rc;

	rc = vhost_scsi_parse_cmd(elem->iov, elem->iovcnt, elem->out_cnt, &cmd);
	FG_CHECK(rc == 0 || rc == -EFAULT || rc == -EINVAL);
	FG_CHECK(cmd.resp_cnt <= VHOST_SCSI_RESP_IOV_MAX);
	if (rc == -EFAULT) {
		FG_CHECK(cmd.resp_cnt == 0);
		return 0;
	}
	FG_CHECK(fz_iov_sum(cmd.resp, cmd.resp_cnt) >= VHOST_SCSI_RESP_SIZE);
	memset(&resp, 0, sizeof(resp));
	if (rc == 0) {
		FG_CHECK(fz_iov_sum(cmd.data_out, cmd.data_out_cnt) == cmd.data_out_len);
		FG_CHECK(fz_iov_sum(cmd.data_in, cmd.data_in_cnt) == cmd.data_in_len);
		FG_CHECK(cmd.data_out_len == 0 || cmd.data_in_len == 0 ||
			 cmd.data_out_cnt + cmd.data_in_cnt <= elem->iovcnt);
		if (cmd.data_out_cnt > 0) {
			FG_CHECK(cmd.data_out >= elem->iov &&
				 cmd.data_out + cmd.data_out_cnt <= elem->iov + elem->out_cnt);
		}
		if (cmd.data_in_cnt > 0) {
			FG_CHECK(cmd.data_in >= elem->iov + elem->out_cnt &&
				 cmd.data_in + cmd.data_in_cnt <= elem->iov + elem->iovcnt);
		}
		rc = vhost_scsi_lun_decode(cmd.req.lun, &target, &lun);
		FG_CHECK(rc == 0 || rc == -ENODEV || rc == -EINVAL);
		if (rc == 0) {
			/* Data-in as a READ would write it, then a sense of full size. */
			uint8_t pattern[512];

			memset(pattern, 0xab, sizeof(pattern));
			FG_CHECK(vhost_scsi_iov_scatter(cmd.data_in, cmd.data_in_cnt, pattern,
							VHD_MIN(cmd.data_in_len, sizeof(pattern))) ==
				 VHD_MIN(cmd.data_in_len, sizeof(pattern)));
			resp.sense_len = VIRTIO_SCSI_SENSE_SIZE;
			resp.status = 2;
		} else {
			resp.response = rc == -ENODEV ? VIRTIO_SCSI_S_BAD_TARGET :
							VIRTIO_SCSI_S_INCORRECT_LUN;
		}
	} else {
		resp.response = VIRTIO_SCSI_S_FAILURE;
	}
	FG_CHECK(vhost_scsi_iov_scatter(cmd.resp, cmd.resp_cnt, &resp, sizeof(resp)) ==
		 sizeof(resp));
	return (uint32_t)sizeof(resp);
}

static uint32_t
handle_ctrl(struct vhost_vq_elem *elem)
{
	struct iovec resp[VHOST_SCSI_RESP_IOV_MAX];
	union {
		struct virtio_scsi_ctrl_tmf_req tmf;
		struct virtio_scsi_ctrl_an_req an;
	} req;
	union {
		struct virtio_scsi_ctrl_tmf_resp tmf;
		struct virtio_scsi_ctrl_an_resp an;
	} r;
	uint32_t type = 0, len;
	uint16_t n;
	uint8_t target;
	uint32_t lun;

	memset(&req, 0, sizeof(req));
	memset(&r, 0, sizeof(r));
	vhost_scsi_iov_gather(elem->iov, elem->out_cnt, &type, sizeof(type));
	if (type == VIRTIO_SCSI_T_TMF) {
		len = sizeof(r.tmf);
		vhost_scsi_iov_gather(elem->iov, elem->out_cnt, &req.tmf, sizeof(req.tmf));
		(void)vhost_scsi_lun_decode(req.tmf.lun, &target, &lun);
	} else {
		len = sizeof(r.an);
		vhost_scsi_iov_gather(elem->iov, elem->out_cnt, &req.an, sizeof(req.an));
		(void)vhost_scsi_lun_decode(req.an.lun, &target, &lun);
	}
	n = vhost_scsi_locate_in(elem->iov, elem->iovcnt, elem->out_cnt, len, resp);
	FG_CHECK(n <= VHOST_SCSI_RESP_IOV_MAX);
	if (n == 0) {
		return 0;
	}
	FG_CHECK(fz_iov_sum(resp, n) == len);
	FG_CHECK(vhost_scsi_iov_scatter(resp, n, &r, len) == len);
	return len;
}

static void
deliver_event(struct vhost_vq_elem *elem)
{
	struct virtio_scsi_event ev;
	struct iovec resp[VHOST_SCSI_RESP_IOV_MAX];
	uint16_t n;

	if (!vhost_scsi_evq_peek(&g_evq, &ev)) {
		return;
	}
	n = vhost_scsi_locate_in(elem->iov, elem->iovcnt, elem->out_cnt, sizeof(ev), resp);
	if (n > 0) {
		FG_CHECK(vhost_scsi_iov_scatter(resp, n, &ev, sizeof(ev)) == sizeof(ev));
		vhost_scsi_evq_pop(&g_evq);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_in in = {data, size, 0};
	struct vhost_vq vq;
	struct iovec iov[IOV_MAX_FUZZ];
	struct vhost_vq_elem elem;
	const uint8_t *ops;
	uint8_t mode, nops;
	uint16_t start;
	uint32_t i, pending = 0, len;
	int rc;

	memset(&vq, 0, sizeof(vq));
	memset(&g_evq, 0, sizeof(g_evq));
	mode = fg_u8(&in);
	vq.packed = mode & 1;
	vq.indirect = (mode >> 2) & 1;
	vq.size = vq.packed ? (uint16_t)(1 + fg_u8(&in) % FG_QMAX) :
			      (uint16_t)(1u << (fg_u8(&in) % 9));
	start = fg_u16(&in);
	if (vq.packed) {
		vq.last_avail_idx = vq.last_used_idx = (uint16_t)((start & 0x7fff) % vq.size);
		vq.avail_wrap = vq.used_wrap = !(start & 0x8000);
	} else {
		vq.last_avail_idx = vq.last_used_idx = start;
	}
	vq.callfd = -1;
	vq.kickfd = -1;
	nops = fg_u8(&in);
	ops = in.p + in.pos;
	if (in.len - in.pos < nops) {
		nops = (uint8_t)(in.len - in.pos);
	}
	in.pos += nops;
	fg_guest_init(&g_guest, in.p + in.pos, in.len - in.pos);
	fg_guest_ring(&g_guest, &vq);
	FG_CHECK(vhost_vq_init(&vq) == 0);
	elem.iov = iov;

	for (i = 0; i < (uint32_t)nops + vq.size; i++) {
		uint8_t op = i < nops ? ops[i] : 0;
		uint8_t arg = op >> 2;

		switch (op & 3) {
		case 0:
		case 1:
			/* Every request is answered at once: never more than size outstanding. */
			rc = vhost_vq_pop(&vq, &elem, IOV_MAX_FUZZ);
			if (rc == 0 || rc == -EPROTO) {
				if (i >= nops) {
					i = nops + vq.size;
				}
				break;
			}
			len = 0;
			if (rc == 1) {
				if (op & 1) {
					deliver_event(&elem);
				} else if (mode & 8) {
					len = handle_ctrl(&elem);
				} else {
					len = handle_cmd(&elem);
				}
			}
			vhost_vq_push(&vq, &elem, len);
			break;
		case 2:
			vhost_scsi_evq_push(&g_evq, arg & 3, (uint8_t)(arg * 7), arg & 0xf,
					    arg >> 4);
			pending++;
			break;
		case 3:
			vhost_scsi_evq_pop(&g_evq);
			break;
		}
		FG_CHECK(vq.inflight_cnt == 0);
		FG_CHECK(g_evq.cnt <= VHOST_SCSI_EVENTS_MAX);
	}
	(void)pending;
	return 0;
}
