/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/scsi/scsi_task.c: sense formats, data-in/data-out copying, ports. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vhostd/scsi.h"
#include "scsi_internal.h"

static void
test_sense_fixed(void **state)
{
	static const uint8_t expect[18] = {0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0,
					   0x24, 0x00, 0, 0xc8, 0x00, 0x07};
	struct scsi_task t;

	scsi_task_init(&t, NULL, NULL);
	scsi_task_set_sense(&t, SCSI_SENSE_NOT_READY, 0x04, 0x01);
	assert_int_equal(t.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(t.sense_len, 18);
	assert_int_equal(t.sense_data[2], 0x02);
	assert_int_equal(t.sense_data[12], 0x04);
	assert_int_equal(t.sense_data[13], 0x01);
	scsi_task_invalid_field(&t, true, 7, 0);
	assert_memory_equal(t.sense_data, expect, 18);
	scsi_task_invalid_field(&t, false, 0x1234, -1);
	assert_int_equal(t.sense_data[12], 0x26);
	assert_int_equal(t.sense_data[15], 0x80);
	assert_int_equal(t.sense_data[16], 0x12);
	assert_int_equal(t.sense_data[17], 0x34);
	scsi_task_miscompare(&t, 0x01020304);
	assert_int_equal(t.sense_data[0], 0xf0);
	assert_int_equal(t.sense_data[2], 0x0e);
	assert_memory_equal(&t.sense_data[3], ((uint8_t[4]){1, 2, 3, 4}), 4);
	assert_int_equal(t.sense_data[12], 0x1d);
}

static void
test_sense_descriptor(void **state)
{
	struct scsi_task t;
	uint32_t len;
	uint8_t buf[32];

	scsi_task_build_sense(buf, &len, true, SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x00);
	assert_int_equal(len, 8);
	assert_memory_equal(buf, ((uint8_t[8]){0x72, 0x06, 0x29, 0, 0, 0, 0, 0}), 8);
	scsi_task_init(&t, NULL, NULL);
	scsi_task_set_sense_full(&t, SCSI_SENSE_MEDIUM_ERROR, 0x11, 0x00, true);
	assert_int_equal(t.sense_len, 8);
	assert_int_equal(t.sense_data[0], 0x72);
	assert_int_equal(t.sense_data[1], 0x03);
}

static void
test_data_in_out(void **state)
{
	uint8_t a[3], b[5], c[8], src[16], dst[16];
	struct iovec iov[3] = {{a, 3}, {b, 5}, {c, 8}};
	struct scsi_task t;
	int i;

	for (i = 0; i < 16; i++) {
		src[i] = (uint8_t)(i + 1);
	}
	scsi_task_init(&t, NULL, NULL);
	t.iovs = iov;
	t.iovcnt = 3;
	t.transfer_len = 16;
	t.dxfer_dir = SCSI_DIR_FROM_DEV;
	assert_int_equal(scsi_task_buf_len(&t), 16);
	scsi_task_data_in(&t, src, 10);
	assert_int_equal(t.data_transferred, 10);
	assert_memory_equal(a, src, 3);
	assert_memory_equal(b, src + 3, 5);
	assert_memory_equal(c, src + 8, 2);
	/* bounded by transfer_len */
	t.transfer_len = 4;
	assert_int_equal(scsi_task_buf_len(&t), 4);
	scsi_task_data_in(&t, src, 16);
	assert_int_equal(t.data_transferred, 4);
	/* wrong direction: nothing */
	t.dxfer_dir = SCSI_DIR_TO_DEV;
	scsi_task_data_in(&t, src, 16);
	assert_int_equal(t.data_transferred, 0);
	/* data-out from an offset across iovecs */
	t.transfer_len = 16;
	memcpy(a, src, 3);
	memcpy(b, src + 3, 5);
	memcpy(c, src + 8, 8);
	memset(dst, 0, sizeof(dst));
	assert_int_equal(scsi_task_data_out(&t, 2, dst, 9), 9);
	assert_memory_equal(dst, src + 2, 9);
	assert_int_equal(scsi_task_data_out(&t, 14, dst, 9), 2);
	assert_int_equal(scsi_task_data_out(&t, 16, dst, 9), 0);
	assert_int_equal(scsi_task_data_out_cmp(&t, 1, src + 1, 15), -1);
	dst[0] = src[6] ^ 0xff;
	memcpy(dst + 1, src + 7, 5);
	assert_int_equal(scsi_task_data_out_cmp(&t, 6, dst, 6), 0);
	/* compare past the end of the data: differs where the data stops */
	assert_int_equal(scsi_task_data_out_cmp(&t, 12, src + 12, 8), 4);
	t.dxfer_dir = SCSI_DIR_FROM_DEV;
	assert_int_equal(scsi_task_data_out(&t, 0, dst, 9), 0);
	t.iovs = NULL;
	assert_int_equal(scsi_task_buf_len(&t), 0);
	/* a transport that sets iovcnt without iovs: nothing is touched */
	assert_int_equal(scsi_task_data_out(&t, 0, dst, 9), 0);
	t.dxfer_dir = SCSI_DIR_FROM_DEV;
	scsi_task_data_in(&t, src, 16);
	assert_int_equal(t.data_transferred, 0);
}

static void
test_port_init(void **state)
{
	struct scsi_port p;
	char longname[400];

	memset(longname, 'x', sizeof(longname));
	longname[399] = 0;
	scsi_port_init(&p, 42, longname);
	assert_int_equal(p.id, 42);
	assert_int_equal(strlen(p.name), SCSI_PORT_MAX_NAME);
	scsi_port_init(&p, 1, NULL);
	assert_string_equal(p.name, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sense_fixed),
		cmocka_unit_test(test_sense_descriptor),
		cmocka_unit_test(test_data_in_out),
		cmocka_unit_test(test_port_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
