/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-scsi wire formats: LUN addressing (targets, flat and peripheral LUNs,
 * every malformed form), the event LUN encoding Linux expects, splitting
 * request chains of every shape into header / data-out / response / data-in,
 * and the per-session event queue (order, wrap, overflow -> EVENTS_MISSED).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "../../../../lib/vhost/vhost_scsi_proto.c"

/* ---- addressing ---- */

static void
test_lun_decode_flat_and_peripheral(void **state)
{
	uint8_t lun[8] = {1, 7, 0x40, 0x05, 0, 0, 0, 0};
	uint8_t t = 0;
	uint32_t id = 99;

	assert_int_equal(vhost_scsi_lun_decode(lun, &t, &id), 0);
	assert_int_equal(t, 7);
	assert_int_equal(id, 5);
	lun[1] = 255;
	lun[2] = 0x40 | 0x3f;
	lun[3] = 0xff;
	assert_int_equal(vhost_scsi_lun_decode(lun, &t, &id), 0);
	assert_int_equal(t, 255);
	assert_int_equal(id, 16383);
	/* Peripheral addressing (00b), bus 0. */
	memcpy(lun, (uint8_t[8]){1, 3, 0, 9, 0, 0, 0, 0}, 8);
	assert_int_equal(vhost_scsi_lun_decode(lun, &t, &id), 0);
	assert_int_equal(t, 3);
	assert_int_equal(id, 9);
}

static void
test_lun_decode_bad_target_format(void **state)
{
	uint8_t lun[8] = {0, 0, 0x40, 0, 0, 0, 0, 0};
	uint8_t t;
	uint32_t id;

	assert_int_equal(vhost_scsi_lun_decode(lun, &t, &id), -ENODEV);
	lun[0] = 2;
	assert_int_equal(vhost_scsi_lun_decode(lun, &t, &id), -ENODEV);
	lun[0] = 0xff;
	assert_int_equal(vhost_scsi_lun_decode(lun, &t, &id), -ENODEV);
}

static void
test_lun_decode_incorrect_lun(void **state)
{
	static const uint8_t bad[][8] = {
		{1, 0, 0x80, 0, 0, 0, 0, 0},	/* logical unit addressing */
		{1, 0, 0xc0, 0, 0, 0, 0, 0},	/* extended */
		{1, 0, 0x40, 0, 1, 0, 0, 0},	/* second level */
		{1, 0, 0x40, 0, 0, 0, 0, 1},	/* junk at the end */
		{1, 0, 0x01, 0, 0, 0, 0, 0},	/* peripheral, bus 1 */
	};
	uint8_t t = 0;
	uint32_t id;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vhost_scsi_lun_decode(bad[i], &t, &id), -EINVAL);
		assert_int_equal(t, 0);	/* the target is still known: BAD_TARGET vs INCORRECT_LUN */
	}
}

static void
test_event_lun_has_no_flat_flag(void **state)
{
	uint8_t out[8];

	vhost_scsi_event_lun(out, 200, 0);
	assert_memory_equal(out, ((uint8_t[8]){1, 200, 0, 0, 0, 0, 0, 0}), 8);
	vhost_scsi_event_lun(out, 1, 63);
	assert_memory_equal(out, ((uint8_t[8]){1, 1, 0, 63, 0, 0, 0, 0}), 8);
	vhost_scsi_event_lun(out, 1, 0x1234);
	assert_memory_equal(out, ((uint8_t[8]){1, 1, 0x12, 0x34, 0, 0, 0, 0}), 8);
}

/* ---- chains ---- */

static uint8_t g_buf[8192];

static void
fill_req(uint8_t *p, uint8_t target, uint8_t opcode)
{
	struct virtio_scsi_cmd_req req;

	memset(&req, 0, sizeof(req));
	req.lun[0] = 1;
	req.lun[1] = target;
	req.lun[2] = 0x40;
	req.tag = 0x1122334455667788ull;
	req.cdb[0] = opcode;
	req.cdb[31] = 0xee;
	memcpy(p, &req, sizeof(req));
}

static void
test_parse_canonical(void **state)
{
	struct vhost_scsi_cmd cmd;
	struct iovec iov[4] = {
		{g_buf, 51}, {g_buf + 100, 512}, {g_buf + 1000, 108}, {g_buf + 2000, 4096},
	};

	assert_int_equal(VHOST_SCSI_REQ_SIZE, 51);
	assert_int_equal(VHOST_SCSI_RESP_SIZE, 108);
	fill_req(g_buf, 4, 0x2a);
	assert_int_equal(vhost_scsi_parse_cmd(iov, 4, 2, &cmd), 0);
	assert_int_equal(cmd.req.lun[1], 4);
	assert_int_equal(cmd.req.cdb[0], 0x2a);
	assert_int_equal(cmd.req.cdb[31], 0xee);
	assert_true(cmd.req.tag == 0x1122334455667788ull);
	assert_int_equal(cmd.data_out_cnt, 1);
	assert_ptr_equal(cmd.data_out[0].iov_base, g_buf + 100);
	assert_int_equal(cmd.data_out_len, 512);
	assert_int_equal(cmd.resp_cnt, 1);
	assert_ptr_equal(cmd.resp[0].iov_base, g_buf + 1000);
	assert_int_equal(cmd.data_in_cnt, 1);
	assert_ptr_equal(cmd.data_in[0].iov_base, g_buf + 2000);
	assert_int_equal(cmd.data_in_len, 4096);
}

static void
test_parse_any_layout(void **state)
{
	struct vhost_scsi_cmd cmd;
	/* Header split 10 + 30 + 11, the last piece continuing with 100 bytes of data-out;
	 * response split 8 + 100 where the second piece runs on into 50 bytes of data-in. */
	struct iovec iov[6] = {
		{g_buf, 10}, {g_buf + 10, 30}, {g_buf + 40, 111},
		{g_buf + 1000, 8}, {g_buf + 1008, 150}, {g_buf + 3000, 0},
	};

	fill_req(g_buf, 9, 0x28);
	assert_int_equal(vhost_scsi_parse_cmd(iov, 6, 3, &cmd), 0);
	assert_int_equal(cmd.req.lun[1], 9);
	assert_int_equal(cmd.req.cdb[0], 0x28);
	assert_int_equal(cmd.data_out_len, 100);
	assert_int_equal(cmd.data_out_cnt, 1);
	assert_ptr_equal(cmd.data_out[0].iov_base, g_buf + 51);
	assert_int_equal(cmd.resp_cnt, 2);
	assert_int_equal(cmd.resp[0].iov_len, 8);
	assert_int_equal(cmd.resp[1].iov_len, 100);
	assert_int_equal(cmd.data_in_len, 50);
	assert_ptr_equal(cmd.data_in[0].iov_base, g_buf + 1008 + 100);
}

static void
test_parse_no_data(void **state)
{
	struct vhost_scsi_cmd cmd;
	struct iovec iov[2] = {{g_buf, 51}, {g_buf + 1000, 108}};

	fill_req(g_buf, 0, 0);
	assert_int_equal(vhost_scsi_parse_cmd(iov, 2, 1, &cmd), 0);
	assert_int_equal(cmd.data_out_len, 0);
	assert_int_equal(cmd.data_out_cnt, 0);
	assert_int_equal(cmd.data_in_len, 0);
	assert_int_equal(cmd.data_in_cnt, 0);
}

static void
test_parse_response_too_small(void **state)
{
	struct vhost_scsi_cmd cmd;
	struct iovec iov[2] = {{g_buf, 51}, {g_buf + 1000, 107}};
	struct iovec none[1] = {{g_buf, 51}};

	assert_int_equal(vhost_scsi_parse_cmd(iov, 2, 1, &cmd), -EFAULT);
	assert_int_equal(cmd.resp_cnt, 0);
	assert_int_equal(vhost_scsi_parse_cmd(none, 1, 1, &cmd), -EFAULT);
	assert_int_equal(vhost_scsi_parse_cmd(iov, 2, 3, &cmd), -EFAULT);	/* out_cnt > iovcnt */
}

static void
test_parse_response_too_scattered(void **state)
{
	struct vhost_scsi_cmd cmd;
	struct iovec iov[12];
	int i;

	iov[0] = (struct iovec){g_buf, 51};
	for (i = 1; i < 12; i++) {
		iov[i] = (struct iovec){g_buf + 1000 + 10 * i, 10};	/* 110 bytes in 11 pieces */
	}
	assert_int_equal(vhost_scsi_parse_cmd(iov, 12, 1, &cmd), -EFAULT);
	/* 8 pieces are fine: 7 x 10 + 38. */
	iov[8].iov_len = 38;
	assert_int_equal(vhost_scsi_parse_cmd(iov, 9, 1, &cmd), 0);
	assert_int_equal(cmd.resp_cnt, 8);
}

static void
test_parse_short_header(void **state)
{
	struct vhost_scsi_cmd cmd;
	struct iovec iov[3] = {{g_buf, 20}, {g_buf + 1000, 108}, {g_buf + 2000, 512}};

	assert_int_equal(vhost_scsi_parse_cmd(iov, 3, 1, &cmd), -EINVAL);
	/* The response can still be written; no data-in is exposed. */
	assert_int_equal(cmd.resp_cnt, 1);
	assert_int_equal(cmd.data_in_len, 0);
	/* No readable part at all. */
	assert_int_equal(vhost_scsi_parse_cmd(&iov[1], 2, 0, &cmd), -EINVAL);
}

static void
test_parse_zero_length_iovecs(void **state)
{
	struct vhost_scsi_cmd cmd;
	struct iovec iov[6] = {
		{g_buf, 0}, {g_buf, 51}, {g_buf + 51, 0}, {g_buf + 1000, 0}, {g_buf + 1000, 108},
		{g_buf + 2000, 0},
	};

	fill_req(g_buf, 2, 0x12);
	assert_int_equal(vhost_scsi_parse_cmd(iov, 6, 3, &cmd), 0);
	assert_int_equal(cmd.req.lun[1], 2);
	assert_int_equal(cmd.data_out_len, 0);
	assert_int_equal(cmd.resp_cnt, 1);
	assert_int_equal(cmd.data_in_len, 0);
}

static void
test_locate_in(void **state)
{
	struct iovec resp[VHOST_SCSI_RESP_IOV_MAX];
	struct iovec iov[3] = {{g_buf, 24}, {g_buf + 100, 0}, {g_buf + 200, 1}};

	assert_int_equal(vhost_scsi_locate_in(iov, 3, 1, 1, resp), 1);
	assert_ptr_equal(resp[0].iov_base, g_buf + 200);
	assert_int_equal(vhost_scsi_locate_in(iov, 3, 1, 2, resp), 0);
	assert_int_equal(vhost_scsi_locate_in(iov, 3, 4, 1, resp), 0);
	assert_int_equal(vhost_scsi_locate_in(iov, 1, 1, 1, resp), 0);
}

static void
test_iov_gather_scatter(void **state)
{
	uint8_t src[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, dst[10];
	struct iovec iov[3] = {{g_buf, 3}, {g_buf + 50, 0}, {g_buf + 100, 4}};

	memset(g_buf, 0, sizeof(g_buf));
	assert_int_equal(vhost_scsi_iov_scatter(iov, 3, src, 10), 7);
	assert_memory_equal(g_buf, src, 3);
	assert_memory_equal(g_buf + 100, src + 3, 4);
	memset(dst, 0xaa, sizeof(dst));
	assert_int_equal(vhost_scsi_iov_gather(iov, 3, dst, 5), 5);
	assert_memory_equal(dst, src, 5);
	assert_int_equal(dst[5], 0xaa);
}

/* ---- event queue ---- */

static void
test_evq_order_and_wrap(void **state)
{
	struct vhost_scsi_evq q;
	struct virtio_scsi_event ev = {0};
	uint32_t i, round;

	memset(&q, 0, sizeof(q));
	assert_false(vhost_scsi_evq_peek(&q, &ev));
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 40; i++) {
			vhost_scsi_evq_push(&q, VIRTIO_SCSI_T_TRANSPORT_RESET, (uint8_t)i, i % 3,
					    VIRTIO_SCSI_EVT_RESET_RESCAN);
		}
		for (i = 0; i < 40; i++) {
			assert_true(vhost_scsi_evq_peek(&q, &ev));
			/* peek does not consume */
			assert_true(vhost_scsi_evq_peek(&q, &ev));
			assert_int_equal(ev.event, VIRTIO_SCSI_T_TRANSPORT_RESET);
			assert_int_equal(ev.lun[0], 1);
			assert_int_equal(ev.lun[1], i);
			assert_int_equal(ev.lun[3], i % 3);
			assert_int_equal(ev.reason, VIRTIO_SCSI_EVT_RESET_RESCAN);
			vhost_scsi_evq_pop(&q);
		}
		assert_false(vhost_scsi_evq_peek(&q, &ev));
	}
	assert_false(q.missed);
	assert_int_equal(q.dropped, 0);
}

static void
test_evq_overflow_sets_missed(void **state)
{
	struct vhost_scsi_evq q;
	struct virtio_scsi_event ev = {0};
	uint32_t i;

	memset(&q, 0, sizeof(q));
	for (i = 0; i < VHOST_SCSI_EVENTS_MAX + 5; i++) {
		vhost_scsi_evq_push(&q, VIRTIO_SCSI_T_PARAM_CHANGE, (uint8_t)i, 0, 0x092a);
	}
	assert_int_equal(q.cnt, VHOST_SCSI_EVENTS_MAX);
	assert_true(q.missed);
	assert_int_equal(q.dropped, 5);
	/* The next event delivered carries EVENTS_MISSED; the ones after it do not. */
	assert_true(vhost_scsi_evq_peek(&q, &ev));
	assert_int_equal(ev.event, VIRTIO_SCSI_T_PARAM_CHANGE | VIRTIO_SCSI_T_EVENTS_MISSED);
	assert_int_equal(ev.lun[1], 0);
	vhost_scsi_evq_pop(&q);
	assert_true(vhost_scsi_evq_peek(&q, &ev));
	assert_int_equal(ev.event, VIRTIO_SCSI_T_PARAM_CHANGE);
	assert_int_equal(ev.lun[1], 1);
	for (i = 1; i < VHOST_SCSI_EVENTS_MAX; i++) {
		vhost_scsi_evq_pop(&q);
	}
	assert_false(vhost_scsi_evq_peek(&q, &ev));
}

static void
test_evq_missed_alone(void **state)
{
	struct vhost_scsi_evq q;
	struct virtio_scsi_event ev = {0};

	/* A missed flag with nothing queued still reaches the guest. */
	memset(&q, 0, sizeof(q));
	q.missed = true;
	assert_true(vhost_scsi_evq_peek(&q, &ev));
	assert_int_equal(ev.event, VIRTIO_SCSI_T_NO_EVENT | VIRTIO_SCSI_T_EVENTS_MISSED);
	vhost_scsi_evq_pop(&q);
	assert_false(q.missed);
	assert_false(vhost_scsi_evq_peek(&q, &ev));
	vhost_scsi_evq_pop(&q);	/* popping an empty queue is harmless */
	assert_int_equal(q.cnt, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lun_decode_flat_and_peripheral),
		cmocka_unit_test(test_lun_decode_bad_target_format),
		cmocka_unit_test(test_lun_decode_incorrect_lun),
		cmocka_unit_test(test_event_lun_has_no_flat_flag),
		cmocka_unit_test(test_parse_canonical),
		cmocka_unit_test(test_parse_any_layout),
		cmocka_unit_test(test_parse_no_data),
		cmocka_unit_test(test_parse_response_too_small),
		cmocka_unit_test(test_parse_response_too_scattered),
		cmocka_unit_test(test_parse_short_header),
		cmocka_unit_test(test_parse_zero_length_iovecs),
		cmocka_unit_test(test_locate_in),
		cmocka_unit_test(test_iov_gather_scatter),
		cmocka_unit_test(test_evq_order_and_wrap),
		cmocka_unit_test(test_evq_overflow_sets_missed),
		cmocka_unit_test(test_evq_missed_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
