/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/scsi/scsi_bdev.c: every command, its data bytes and its error sense. */
#include "scsi_ut_common.h"

static uint8_t g_buf[1 << 20];
static uint8_t g_buf2[1 << 20];

static void
cdb_rw10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	scsi_put32(&cdb[2], lba);
	scsi_put16(&cdb[7], n);
}

static void
cdb_rw16(uint8_t *cdb, uint8_t op, uint64_t lba, uint32_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	scsi_put64(&cdb[2], lba);
	scsi_put32(&cdb[10], n);
}

/* ---- generic CDB checks ---- */

static void
test_cdb_invalid_opcode(void **state)
{
	uint8_t cdb[16] = {0xc0};

	ut_assert_sense(ut_exec(cdb, 16, SCSI_DIR_NONE, NULL, 0), SCSI_SENSE_ILLEGAL_REQUEST,
			0x20, 0x00);
	cdb[0] = 0x9e;		/* known opcode, unknown service action */
	cdb[1] = 0x11;
	ut_assert_invalid_field(ut_exec(cdb, 16, SCSI_DIR_NONE, NULL, 0), true, 1, 4);
	ut_assert_sense(ut_exec(cdb, 0, SCSI_DIR_NONE, NULL, 0), SCSI_SENSE_ILLEGAL_REQUEST,
			0x20, 0x00);
}

static void
test_cdb_short(void **state)
{
	uint8_t cdb[16];

	cdb_rw10(cdb, SBC_READ_10, 0, 1);
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 512), true, 5, -1);
	cdb_rw16(cdb, SBC_READ_16, 0, 1);
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 512), true, 9, -1);
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_READ], 0);
}

static void
test_cdb_reserved_bits(void **state)
{
	uint8_t cdb[16];

	cdb_rw10(cdb, SBC_READ_10, 0, 1);
	cdb[1] = 0x20;	/* RDPROTECT */
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 512), true, 1, 5);
	cdb[1] = 0x01;
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 512), true, 1, 0);
	cdb[1] = 0;
	cdb[6] = 0x40;	/* reserved above GROUP NUMBER */
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 512), true, 6, 6);
	cdb[6] = 0;
	cdb[9] = 0x04;	/* NACA */
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 512), true, 9, 2);
	memset(cdb, 0, 16);
	cdb[0] = SPC_INQUIRY;
	cdb[1] = 0x02;	/* CMDDT (obsolete) */
	cdb[4] = 36;
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 36), true, 1, 1);
	memset(cdb, 0, 16);
	cdb[0] = SPC_TEST_UNIT_READY;
	cdb[3] = 0x80;
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_NONE, NULL, 0), true, 3, 7);
}

/* ---- INQUIRY ---- */

static void
test_inquiry_standard(void **state)
{
	static const uint8_t expect[36] = {
		0x00, 0x00, 0x06, 0x12, 91, 0x00, 0x00, 0x02,
		'V', 'H', 'O', 'S', 'T', 'D', ' ', ' ',
		'F', 'a', 'k', 'e', ' ', 'D', 'i', 's', 'k', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
		'0', '0', '0', '1',
	};
	uint8_t cdb[6] = {SPC_INQUIRY, 0, 0, 0, 255, 0};
	struct scsi_task *t;
	uint32_t alloc;

	memset(g_buf, 0xee, 256);
	t = ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 96);
	assert_int_equal(t->residual, 255 - 96);
	assert_memory_equal(g_buf, expect, 36);
	assert_int_equal(scsi_get16(&g_buf[58]), 0x00a0);
	assert_int_equal(scsi_get16(&g_buf[60]), 0x0460);
	assert_int_equal(scsi_get16(&g_buf[62]), 0x04c0);
	assert_int_equal(g_buf[96], 0xee);
	/* allocation length truncates */
	for (alloc = 0; alloc <= 96; alloc += 5) {
		cdb[4] = alloc;
		t = ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255);
		ut_assert_good(t);
		assert_int_equal(t->data_transferred, alloc);
	}
	/* a buffer shorter than the allocation length bounds it too */
	cdb[4] = 96;
	t = ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 10);
	assert_int_equal(t->data_transferred, 10);
	assert_int_equal(t->residual, 0);
	/* page code without EVPD */
	cdb[2] = 0x80;
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255), true, 2, -1);
}

static struct scsi_task *
inquiry_vpd(uint8_t page, uint16_t alloc)
{
	uint8_t cdb[6] = {SPC_INQUIRY, 0x01, page, 0, 0, 0};

	scsi_put16(&cdb[3], alloc);
	memset(g_buf, 0xee, 512);
	return ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 512);
}

static void
test_inquiry_vpd_pages(void **state)
{
	static const uint8_t p00[] = {0, 0x00, 0, 6, 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};
	static const uint8_t p80[] = {0, 0x80, 0, 32, '1', '0', '1', '1', '1', '2', '1', '3'};
	static const uint8_t naa[] = {0x01, 0x03, 0x00, 0x08, 0x38, 0x08, 0x08, 0x08,
				      0x08, 0x08, 0x08, 0x08};
	static const uint8_t relport[] = {0x01, 0x14, 0, 4, 0, 0, 0, 1};
	struct scsi_task *t;

	t = inquiry_vpd(0x00, 255);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, sizeof(p00));
	assert_memory_equal(g_buf, p00, sizeof(p00));

	t = inquiry_vpd(0x80, 255);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 36);
	assert_memory_equal(g_buf, p80, sizeof(p80));
	assert_memory_equal(&g_buf[4 + 24], "1c1d1e1f", 8);

	t = inquiry_vpd(0x83, 255);
	ut_assert_good(t);
	/* NAA 3h: UUID bytes i ^ i+8 = 0x08, top nibble 3 */
	assert_memory_equal(&g_buf[4], naa, sizeof(naa));
	assert_int_equal(g_buf[16], 0x02);
	assert_int_equal(g_buf[17], 0x01);
	assert_int_equal(g_buf[19], 8 + 32);
	assert_memory_equal(&g_buf[20], "VHOSTD  101112", 14);
	assert_memory_equal(&g_buf[20 + 40], relport, sizeof(relport));
	assert_int_equal(scsi_get16(&g_buf[2]), 12 + 44 + 8);
	assert_int_equal(t->data_transferred, 4 + 12 + 44 + 8);

	g_bdev->max_transfer = 256;
	g_bdev->optimal_boundary = 8;
	g_bdev->max_unmap = 2048;
	t = inquiry_vpd(0xb0, 255);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 0x40);
	assert_int_equal(scsi_get16(&g_buf[2]), 0x3c);
	assert_int_equal(g_buf[4], 0x01);		/* WSNZ */
	assert_int_equal(g_buf[5], 255);		/* MAX COMPARE AND WRITE */
	assert_int_equal(scsi_get16(&g_buf[6]), 1);
	assert_int_equal(scsi_get32(&g_buf[8]), 256);
	assert_int_equal(scsi_get32(&g_buf[12]), 8);
	assert_int_equal(scsi_get32(&g_buf[20]), 2048);
	assert_int_equal(scsi_get32(&g_buf[24]), 256);
	assert_int_equal(scsi_get64(&g_buf[36]), 0x400000);

	t = inquiry_vpd(0xb1, 255);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 0x40);
	assert_int_equal(scsi_get16(&g_buf[4]), 1);	/* non-rotating */

	t = inquiry_vpd(0xb2, 255);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 8);
	assert_int_equal(g_buf[5], 0xe4);		/* LBPU LBPWS LBPWS10 LBPRZ */
	assert_int_equal(g_buf[6], 0x02);
	g_bdev->unmap_zeroes = false;
	inquiry_vpd(0xb2, 255);
	assert_int_equal(g_buf[5], 0xe0);
	g_bdev->supported &= ~(1u << BDEV_IO_TYPE_UNMAP);
	inquiry_vpd(0xb2, 255);
	assert_int_equal(g_buf[5], 0x00);
	assert_int_equal(g_buf[6], 0x00);
	inquiry_vpd(0xb0, 255);
	assert_int_equal(scsi_get32(&g_buf[20]), 0);

	ut_assert_invalid_field(inquiry_vpd(0x99, 255), true, 2, -1);
}

static void
test_inquiry_vpd_truncation(void **state)
{
	static const uint8_t pages[] = {0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};
	struct scsi_task *t;
	uint32_t full, alloc;
	size_t i;

	for (i = 0; i < sizeof(pages); i++) {
		full = inquiry_vpd(pages[i], 512)->data_transferred;
		memcpy(g_buf2, g_buf, full);
		for (alloc = 0; alloc <= full; alloc++) {
			t = inquiry_vpd(pages[i], alloc);
			ut_assert_good(t);
			assert_int_equal(t->data_transferred, alloc);
			assert_memory_equal(g_buf, g_buf2, alloc);
			assert_int_equal(g_buf[alloc], 0xee);
		}
	}
}

/* ---- READ CAPACITY ---- */

static void
test_read_capacity_10(void **state)
{
	static const uint8_t expect[8] = {0, 0, 0x03, 0xff, 0, 0, 0x02, 0};
	uint8_t cdb[10] = {SBC_READ_CAPACITY_10};
	struct scsi_task *t;
	struct bdev *big;
	struct scsi_lun_opts o = {.lun_id = 2, .bdev_name = "Big"};

	t = ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 8);
	ut_assert_good(t);
	assert_memory_equal(g_buf, expect, 8);
	cdb[5] = 1;	/* LBA without PMI */
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 8), true, 2, -1);
	cdb[8] = 1;	/* PMI: accepted */
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 8));
	/* truncation by the buffer */
	cdb[5] = 0;
	t = ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 4);
	assert_int_equal(t->data_transferred, 4);

	/* > 2^32 blocks: RC10 says 0xffffffff so the initiator uses RC16 */
	big = fake_bdev_create("Big", 512, 0x100000010ull);
	assert_int_equal(scsi_dev_add_lun(g_dev, &o), 0);
	ut_clear_ua(&g_port, 2);
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = SBC_READ_CAPACITY_10;
	t = ut_exec_port(&g_port, 2, cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 8);
	ut_assert_good(t);
	assert_int_equal(scsi_get32(g_buf), 0xffffffffu);
	assert_int_equal(scsi_get32(&g_buf[4]), 512);
	{
		uint8_t c16[16] = {SPC_SERVICE_ACTION_IN_16, SBC_SAI_READ_CAPACITY_16};

		scsi_put32(&c16[10], 32);
		ut_assert_good(ut_exec_port(&g_port, 2, c16, 16, SCSI_DIR_FROM_DEV, g_buf, 32));
		assert_int_equal(scsi_get64(g_buf), 0x10000000full);
	}
	{
		int done = 0;

		assert_int_equal(scsi_dev_remove_lun(g_dev, 2, ut_dev_done, &done), 0);
		ut_poll_threads();
		assert_int_equal(done, 1);
	}
	fake_bdev_destroy(big);
}

static void
test_read_capacity_16(void **state)
{
	uint8_t cdb[16] = {SPC_SERVICE_ACTION_IN_16, SBC_SAI_READ_CAPACITY_16};
	uint8_t expect[32] = {0, 0, 0, 0, 0, 0, 0x03, 0xff, 0, 0, 0x02, 0x00, 0, 0, 0xc0, 0};
	struct scsi_task *t;
	uint32_t alloc;

	scsi_put32(&cdb[10], 32);
	t = ut_exec(cdb, 16, SCSI_DIR_FROM_DEV, g_buf, 64);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 32);
	assert_int_equal(t->residual, 32);
	assert_memory_equal(g_buf, expect, 32);
	for (alloc = 0; alloc <= 32; alloc++) {
		scsi_put32(&cdb[10], alloc);
		t = ut_exec(cdb, 16, SCSI_DIR_FROM_DEV, g_buf, 64);
		assert_int_equal(t->data_transferred, alloc);
	}
	/* physical 4 KiB: exponent 3; no unmap: no LBPME */
	g_bdev->phys_block_size = 4096;
	g_bdev->supported &= ~(1u << BDEV_IO_TYPE_UNMAP);
	scsi_put32(&cdb[10], 32);
	ut_exec(cdb, 16, SCSI_DIR_FROM_DEV, g_buf, 32);
	assert_int_equal(g_buf[13], 3);
	assert_int_equal(g_buf[14], 0);
	cdb[9] = 1;	/* LBA without PMI */
	ut_assert_invalid_field(ut_exec(cdb, 16, SCSI_DIR_FROM_DEV, g_buf, 32), true, 2, -1);
}

/* ---- READ / WRITE ---- */

static void
test_write_read_all_sizes(void **state)
{
	uint8_t cdb[16];
	struct scsi_task *t;
	int i;

	for (i = 0; i < 1024; i++) {
		g_buf[i] = (uint8_t)(i * 7 + 1);
	}
	cdb_rw10(cdb, SBC_WRITE_10, 5, 2);
	t = ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 1024);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 1024);
	assert_memory_equal(g_bdev->data + 5 * 512, g_buf, 1024);
	assert_int_equal(g_bdev->last_offset[BDEV_IO_TYPE_WRITE], 5);

	memset(g_buf2, 0, 1024);
	cdb_rw16(cdb, SBC_READ_16, 5, 2);
	t = ut_exec(cdb, 16, SCSI_DIR_FROM_DEV, g_buf2, 1024);
	ut_assert_good(t);
	assert_memory_equal(g_buf2, g_buf, 1024);

	memset(cdb, 0, 16);
	cdb[0] = SBC_READ_12;
	scsi_put32(&cdb[2], 6);
	scsi_put32(&cdb[6], 1);
	t = ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf2, 512);
	ut_assert_good(t);
	assert_memory_equal(g_buf2, g_buf + 512, 512);

	/* READ(6): 21-bit LBA, length 0 means 256 blocks */
	memset(cdb, 0, 16);
	cdb[0] = SBC_READ_6;
	cdb[1] = 0x00;
	cdb[3] = 5;
	t = ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf2, 256 * 512);
	ut_assert_good(t);
	assert_int_equal(g_bdev->last_num[BDEV_IO_TYPE_READ], 256);
	assert_memory_equal(g_buf2, g_buf, 1024);

	memset(cdb, 0, 16);
	cdb[0] = SBC_WRITE_6;
	cdb[3] = 100;
	cdb[4] = 1;
	ut_assert_good(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_memory_equal(g_bdev->data + 100 * 512, g_buf, 512);

	memset(cdb, 0, 16);
	cdb[0] = SBC_WRITE_12;
	scsi_put32(&cdb[2], 200);
	scsi_put32(&cdb[6], 1);
	ut_assert_good(ut_exec(cdb, 12, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_memory_equal(g_bdev->data + 200 * 512, g_buf, 512);

	cdb_rw16(cdb, SBC_WRITE_16, 1023, 1);
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_memory_equal(g_bdev->data + 1023 * 512, g_buf, 512);
}

static void
test_rw_out_of_range(void **state)
{
	uint8_t cdb[16];

	cdb_rw10(cdb, SBC_READ_10, 1023, 2);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 1024),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x21, 0x00);
	cdb_rw10(cdb, SBC_READ_10, 1024, 0);	/* even with no blocks */
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, NULL, 0),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x21, 0x00);
	cdb_rw16(cdb, SBC_WRITE_16, UINT64_MAX, 2);	/* LBA + length overflows */
	ut_assert_sense(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 1024),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x21, 0x00);
	cdb_rw16(cdb, SBC_READ_16, 1, UINT32_MAX);
	ut_assert_sense(ut_exec(cdb, 16, SCSI_DIR_FROM_DEV, g_buf, 1024),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x21, 0x00);
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_READ], 0);
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_WRITE], 0);
	/* zero blocks at a valid LBA: nothing to do */
	cdb_rw10(cdb, SBC_WRITE_10, 10, 0);
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_NONE, NULL, 0));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_WRITE], 0);
}

static void
test_rw_buffer_mismatch(void **state)
{
	uint8_t cdb[16];
	struct scsi_task *t;

	/* transfer length beyond the iovec */
	cdb_rw10(cdb, SBC_READ_10, 0, 4);
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 1024), true, 7, -1);
	memset(cdb, 0, 16);
	cdb[0] = SBC_WRITE_6;
	cdb[4] = 0;	/* 256 blocks */
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, 512), true, 4, -1);
	cdb_rw16(cdb, SBC_READ_16, 0, 2);
	ut_assert_invalid_field(ut_exec(cdb, 16, SCSI_DIR_FROM_DEV, g_buf, 1000), true, 10, -1);
	memset(cdb, 0, 16);
	cdb[0] = SBC_READ_12;
	scsi_put32(&cdb[6], 1);
	ut_assert_invalid_field(ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, NULL, 0), true, 6, -1);
	/* wrong direction */
	cdb_rw10(cdb, SBC_WRITE_10, 0, 1);
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 512), true, 7, -1);
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_READ], 0);
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_WRITE], 0);

	/* a larger buffer: underflow residual */
	cdb_rw10(cdb, SBC_READ_10, 0, 1);
	t = ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 4096);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 512);
	assert_int_equal(t->residual, 4096 - 512);
	assert_int_equal(g_cmd.iov[0].iov_len, 4096);	/* trimmed only while running */
}

static void
test_rw_multi_iov_trim(void **state)
{
	uint8_t cdb[16];
	struct ut_cmd *c = &g_cmd;

	memset(g_bdev->data, 0x5a, 2048);
	cdb_rw10(cdb, SBC_READ_10, 0, 3);
	memset(c, 0, sizeof(*c));
	scsi_task_init(&c->task, ut_task_cb, c);
	memcpy(c->task.cdb, cdb, 10);
	c->task.cdb_len = 10;
	c->task.dxfer_dir = SCSI_DIR_FROM_DEV;
	c->iov[0].iov_base = g_buf;
	c->iov[0].iov_len = 512;
	c->iov[1].iov_base = g_buf2;
	c->iov[1].iov_len = 4096;
	c->iov[2].iov_base = g_buf + 4096;
	c->iov[2].iov_len = 512;
	c->task.iovs = c->iov;
	c->task.iovcnt = 3;
	c->task.transfer_len = 512 + 4096 + 512;
	c->task.initiator_port = &g_port;
	g_bdev->hold = true;
	scsi_dev_queue_task(g_dev, &c->task);
	ut_poll_threads();
	assert_int_equal(g_bdev->num_pending, 1);
	assert_int_equal(c->iov[1].iov_len, 1024);	/* trimmed for the bdev */
	fake_bdev_complete(g_bdev, 0);
	ut_poll_threads();
	assert_int_equal(c->done, 1);
	ut_assert_good(&c->task);
	assert_int_equal(c->iov[1].iov_len, 4096);	/* restored */
	assert_int_equal(c->task.data_transferred, 1536);
	assert_int_equal(c->task.residual, 512 + 4096 + 512 - 1536);
	assert_int_equal(g_buf2[0], 0x5a);
}

static void
test_rw_backend_errors(void **state)
{
	uint8_t cdb[16];

	cdb_rw10(cdb, SBC_READ_10, 0, 1);
	fake_bdev_fail_next(g_bdev, BDEV_IO_STATUS_MEDIUM_ERROR, -EIO, 1);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 512),
			SCSI_SENSE_MEDIUM_ERROR, 0x11, 0x00);
	fake_bdev_fail_next(g_bdev, BDEV_IO_STATUS_FAILED, -EIO, 1);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 512),
			SCSI_SENSE_MEDIUM_ERROR, 0x11, 0x00);
	fake_bdev_fail_next(g_bdev, BDEV_IO_STATUS_FAILED, -ETIMEDOUT, 1);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 512),
			SCSI_SENSE_HARDWARE_ERROR, 0x44, 0x00);
	fake_bdev_fail_next(g_bdev, BDEV_IO_STATUS_ABORTED, -ECANCELED, 1);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 512),
			SCSI_SENSE_ABORTED_COMMAND, 0x00, 0x00);
	cdb_rw10(cdb, SBC_WRITE_10, 0, 1);
	fake_bdev_fail_next(g_bdev, BDEV_IO_STATUS_FAILED, -EIO, 1);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 512),
			SCSI_SENSE_MEDIUM_ERROR, 0x0c, 0x00);
	fake_bdev_fail_next(g_bdev, BDEV_IO_STATUS_NOSPACE, -ENOSPC, 1);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 512),
			SCSI_SENSE_DATA_PROTECT, 0x27, 0x07);
	/* submission errors */
	fake_bdev_submit_fail_next(g_bdev, -EINVAL, 1);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 512),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x21, 0x00);
	fake_bdev_submit_fail_next(g_bdev, -EBADF, 1);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 512),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x25, 0x00);
	fake_bdev_submit_fail_next(g_bdev, -EIO, 1);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 512),
			SCSI_SENSE_HARDWARE_ERROR, 0x44, 0x00);
	fake_bdev_submit_fail_next(g_bdev, -ENOTSUP, 1);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 512),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x20, 0x00);
}

static void
test_rw_enomem_retry(void **state)
{
	uint8_t cdb[16];

	memset(g_buf, 0x77, 512);
	cdb_rw10(cdb, SBC_WRITE_10, 3, 1);
	fake_bdev_submit_fail_next(g_bdev, -ENOMEM, 1);
	ut_cmd_start(&g_cmd, &g_port, 0, cdb, 10, SCSI_DIR_TO_DEV, g_buf, 512);
	ut_poll_threads();
	assert_int_equal(g_cmd.done, 0);	/* parked */
	assert_non_null(g_bdev->io_wait);
	fake_bdev_run_io_wait(g_bdev);
	ut_poll_threads();
	assert_int_equal(g_cmd.done, 1);
	ut_assert_good(&g_cmd.task);
	assert_int_equal(g_bdev->data[3 * 512], 0x77);
}

static void
test_write_read_only_lun(void **state)
{
	uint8_t cdb[16];

	cdb_rw10(cdb, SBC_WRITE_10, 0, 1);
	ut_assert_sense(ut_exec_port(&g_port, 1, cdb, 10, SCSI_DIR_TO_DEV, g_buf, 4096),
			SCSI_SENSE_DATA_PROTECT, 0x27, 0x00);
	cdb_rw10(cdb, SBC_READ_10, 0, 1);
	ut_assert_good(ut_exec_port(&g_port, 1, cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 4096));
	assert_int_equal(g_bdev_ro->submitted[BDEV_IO_TYPE_WRITE], 0);
}

static void
test_write_fua_and_wce(void **state)
{
	uint8_t cdb[16];

	cdb_rw10(cdb, SBC_WRITE_10, 0, 1);
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_FLUSH], 0);	/* WCE=1 */
	cdb[1] = 0x08;	/* FUA */
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_FLUSH], 1);
	assert_int_equal(g_bdev->last_offset[BDEV_IO_TYPE_FLUSH], 0);
	assert_int_equal(g_bdev->last_num[BDEV_IO_TYPE_FLUSH], 1);
	/* a failing flush fails the write */
	fake_bdev_fail_next(g_bdev, BDEV_IO_STATUS_FAILED, -EIO, 0);
	g_bdev->hold = true;
	ut_cmd_start(&g_cmd, &g_port, 0, cdb, 10, SCSI_DIR_TO_DEV, g_buf, 512);
	fake_bdev_complete(g_bdev, 1);
	fake_bdev_fail_next(g_bdev, BDEV_IO_STATUS_FAILED, -EIO, 1);
	fake_bdev_complete(g_bdev, 1);
	ut_poll_threads();
	assert_int_equal(g_cmd.done, 1);
	ut_assert_sense(&g_cmd.task, SCSI_SENSE_MEDIUM_ERROR, 0x0c, 0x00);
	g_bdev->hold = false;
	/* WRITE AND VERIFY: always durable */
	cdb_rw10(cdb, SBC_WRITE_AND_VERIFY_10, 0, 1);
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_FLUSH], 3);
	cdb_rw16(cdb, SBC_WRITE_AND_VERIFY_16, 0, 1);
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_FLUSH], 4);
	/* no write cache: no flush */
	g_bdev->write_cache = false;
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_FLUSH], 4);
}

/* ---- VERIFY ---- */

static void
test_verify(void **state)
{
	uint8_t cdb[16];
	struct scsi_task *t;

	memset(g_bdev->data + 512 * 4, 0x11, 1024);
	cdb_rw10(cdb, SBC_VERIFY_10, 4, 2);
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_NONE, NULL, 0));	/* BYTCHK=0 */
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_READ], 0);
	cdb[1] = 0x02;	/* BYTCHK=01b */
	memset(g_buf, 0x11, 1024);
	t = ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 1024);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 1024);
	g_buf[700] = 0x12;
	t = ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 1024);
	ut_assert_sense(t, SCSI_SENSE_MISCOMPARE, 0x1d, 0x00);
	assert_int_equal(t->sense_data[0], 0xf0);		/* VALID */
	assert_int_equal(scsi_get32(&t->sense_data[3]), 700);	/* offset of the miscompare */
	cdb[1] = 0x04;	/* BYTCHK=10b */
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 1024), true, 1, 2);
	cdb[1] = 0x06;	/* BYTCHK=11b */
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 1024), true, 1, 2);
	cdb_rw16(cdb, SBC_VERIFY_16, 1023, 2);
	ut_assert_sense(ut_exec(cdb, 16, SCSI_DIR_NONE, NULL, 0), SCSI_SENSE_ILLEGAL_REQUEST,
			0x21, 0x00);
	cdb_rw16(cdb, SBC_VERIFY_16, 4, 2);
	cdb[1] = 0x02;
	ut_assert_invalid_field(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512), true, 10, -1);
	fake_bdev_fail_next(g_bdev, BDEV_IO_STATUS_MEDIUM_ERROR, -EIO, 1);
	ut_assert_sense(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 1024), SCSI_SENSE_MEDIUM_ERROR,
			0x11, 0x00);
}

/* ---- SYNCHRONIZE CACHE ---- */

static void
test_sync_cache(void **state)
{
	uint8_t cdb[16];

	cdb_rw10(cdb, SBC_SYNCHRONIZE_CACHE_10, 0, 0);
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_NONE, NULL, 0));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_FLUSH], 1);
	assert_int_equal(g_bdev->last_num[BDEV_IO_TYPE_FLUSH], 1024);	/* to the end */
	cdb_rw16(cdb, SBC_SYNCHRONIZE_CACHE_16, 10, 20);
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_NONE, NULL, 0));
	assert_int_equal(g_bdev->last_offset[BDEV_IO_TYPE_FLUSH], 10);
	assert_int_equal(g_bdev->last_num[BDEV_IO_TYPE_FLUSH], 20);
	cdb_rw16(cdb, SBC_SYNCHRONIZE_CACHE_16, 1020, 20);
	ut_assert_sense(ut_exec(cdb, 16, SCSI_DIR_NONE, NULL, 0), SCSI_SENSE_ILLEGAL_REQUEST,
			0x21, 0x00);
	cdb_rw10(cdb, SBC_SYNCHRONIZE_CACHE_10, 0, 0);
	cdb[1] = 0x02;	/* IMMED */
	fake_bdev_fail_next(g_bdev, BDEV_IO_STATUS_FAILED, -EIO, 1);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_NONE, NULL, 0), SCSI_SENSE_MEDIUM_ERROR,
			0x0c, 0x00);
	g_bdev->supported &= ~(1u << BDEV_IO_TYPE_FLUSH);
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_NONE, NULL, 0));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_FLUSH], 3);
}

/* ---- UNMAP ---- */

static uint32_t
unmap_list(uint8_t *p, const uint64_t *lba, const uint32_t *n, uint32_t count)
{
	uint32_t i;

	memset(p, 0, 8 + 16 * count);
	scsi_put16(&p[0], 6 + 16 * count);
	scsi_put16(&p[2], 16 * count);
	for (i = 0; i < count; i++) {
		scsi_put64(&p[8 + 16 * i], lba[i]);
		scsi_put32(&p[8 + 16 * i + 8], n[i]);
	}
	return 8 + 16 * count;
}

static void
test_unmap(void **state)
{
	uint8_t cdb[10] = {SBC_UNMAP};
	uint64_t lba[3] = {10, 100, 50};
	uint32_t n[3] = {10, 0, 3};
	uint32_t len;

	memset(g_bdev->data, 0xff, 1024 * 512);
	len = unmap_list(g_buf, lba, n, 3);
	scsi_put16(&cdb[7], len);
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, len));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_UNMAP], 2);
	assert_int_equal(g_bdev->data[10 * 512], 0);
	assert_int_equal(g_bdev->data[20 * 512 - 1], 0);
	assert_int_equal(g_bdev->data[20 * 512], 0xff);
	assert_int_equal(g_bdev->data[52 * 512], 0);
	assert_int_equal(g_bdev->data[53 * 512], 0xff);
	/* split by the bdev's max unmap */
	g_bdev->max_unmap = 4;
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, len));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_UNMAP], 2 + 3 + 1);
	/* zero length list: nothing */
	scsi_put16(&cdb[7], 0);
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, NULL, 0));
	/* short list */
	scsi_put16(&cdb[7], 7);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 7), SCSI_SENSE_ILLEGAL_REQUEST,
			0x1a, 0x00);
	/* list longer than the data sent */
	scsi_put16(&cdb[7], len);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, len - 1),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x1a, 0x00);
	/* descriptor data length beyond the list */
	scsi_put16(&g_buf[2], 16 * 4);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, len), SCSI_SENSE_ILLEGAL_REQUEST,
			0x1a, 0x00);
	/* one descriptor out of range: nothing is unmapped */
	lba[2] = 1020;
	n[2] = 5;
	len = unmap_list(g_buf, lba, n, 3);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, len), SCSI_SENSE_ILLEGAL_REQUEST,
			0x21, 0x00);
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_UNMAP], 6);
	/* read-only LUN, unsupported bdev */
	ut_assert_sense(ut_exec_port(&g_port, 1, cdb, 10, SCSI_DIR_TO_DEV, g_buf, len),
			SCSI_SENSE_DATA_PROTECT, 0x27, 0x00);
	g_bdev->supported &= ~(1u << BDEV_IO_TYPE_UNMAP);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, len), SCSI_SENSE_ILLEGAL_REQUEST,
			0x20, 0x00);
}

static void
test_unmap_too_many_descriptors(void **state)
{
	static uint64_t lba[257];
	static uint32_t n[257];
	uint8_t cdb[10] = {SBC_UNMAP};
	uint32_t len;

	len = unmap_list(g_buf, lba, n, 257);
	scsi_put16(&cdb[7], len);
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, len), false, 2, -1);
}

/* ---- WRITE SAME ---- */

static void
test_write_same(void **state)
{
	uint8_t cdb[16];
	uint32_t i;

	/* a pattern */
	for (i = 0; i < 512; i++) {
		g_buf[i] = (uint8_t)i;
	}
	cdb_rw10(cdb, SBC_WRITE_SAME_10, 7, 3);
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 512));
	for (i = 7; i < 10; i++) {
		assert_memory_equal(g_bdev->data + i * 512, g_buf, 512);
	}
	assert_int_equal(g_bdev->data[10 * 512], 0);
	/* a big pattern write goes in chunks */
	cdb_rw16(cdb, SBC_WRITE_SAME_16, 0, 1000);
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_WRITE], 1 + 2);
	assert_memory_equal(g_bdev->data + 999 * 512, g_buf, 512);
	/* zeroes: write zeroes, or unmap with the UNMAP bit */
	memset(g_buf, 0, 512);
	cdb_rw16(cdb, SBC_WRITE_SAME_16, 0, 8);
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_WRITE_ZEROES], 1);
	assert_int_equal(g_bdev->data[0], 0);
	cdb[1] = 0x08;
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_UNMAP], 1);
	assert_int_equal(g_bdev->last_num[BDEV_IO_TYPE_UNMAP], 8);
	/* UNMAP bit but unmapped blocks do not read zeroes: write zeroes */
	g_bdev->unmap_zeroes = false;
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_WRITE_ZEROES], 2);
	/* NDOB: no data-out, zeroes */
	cdb[1] = 0x01;
	memset(g_bdev->data, 0xab, 512);
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_NONE, NULL, 0));
	assert_int_equal(g_bdev->data[0], 0);
	/* no write zeroes support: the zero pattern is written */
	g_bdev->supported &= ~(1u << BDEV_IO_TYPE_WRITE_ZEROES);
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_NONE, NULL, 0));
	assert_int_equal(g_bdev->last_num[BDEV_IO_TYPE_WRITE], 8);
	/* errors */
	cdb_rw10(cdb, SBC_WRITE_SAME_10, 7, 0);
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, 512), true, 7, -1);
	cdb_rw16(cdb, SBC_WRITE_SAME_16, 7, 0x400001);
	ut_assert_invalid_field(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512), true, 10, -1);
	cdb_rw16(cdb, SBC_WRITE_SAME_16, 1020, 5);
	ut_assert_sense(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512), SCSI_SENSE_ILLEGAL_REQUEST,
			0x21, 0x00);
	cdb_rw16(cdb, SBC_WRITE_SAME_16, 0, 5);
	ut_assert_invalid_field(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 100), true, 10, -1);
	cdb[1] = 0x10;	/* ANCHOR */
	ut_assert_invalid_field(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512), true, 1, 4);
	cdb[1] = 0;
	ut_assert_sense(ut_exec_port(&g_port, 1, cdb, 16, SCSI_DIR_TO_DEV, g_buf, 4096),
			SCSI_SENSE_DATA_PROTECT, 0x27, 0x00);
	fake_bdev_fail_next(g_bdev, BDEV_IO_STATUS_FAILED, -EIO, 1);
	ut_assert_sense(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512), SCSI_SENSE_MEDIUM_ERROR,
			0x0c, 0x00);
}

/* ---- COMPARE AND WRITE ---- */

static void
test_compare_and_write(void **state)
{
	uint8_t cdb[16] = {SBC_COMPARE_AND_WRITE};
	struct scsi_task *t;

	memset(g_bdev->data + 20 * 512, 0x33, 1024);
	scsi_put64(&cdb[2], 20);
	cdb[13] = 2;
	memset(g_buf, 0x33, 1024);
	memset(g_buf + 1024, 0x44, 1024);
	t = ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 2048);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 2048);
	assert_memory_equal(g_bdev->data + 20 * 512, g_buf + 1024, 1024);
	/* now the medium holds 0x44: miscompare at byte 0, nothing written */
	g_buf[1024] = 0x55;
	t = ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 2048);
	ut_assert_sense(t, SCSI_SENSE_MISCOMPARE, 0x1d, 0x00);
	assert_int_equal(scsi_get32(&t->sense_data[3]), 0);
	assert_int_equal(g_bdev->data[20 * 512], 0x44);
	memset(g_buf, 0x44, 1024);
	g_buf[600] = 0;
	t = ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 2048);
	assert_int_equal(scsi_get32(&t->sense_data[3]), 600);
	/* zero blocks: nothing */
	cdb[13] = 0;
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 2048));
	cdb[13] = 2;
	ut_assert_invalid_field(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 2047), true, 13, -1);
	scsi_put64(&cdb[2], 1023);
	ut_assert_sense(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 2048),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x21, 0x00);
	cdb[10] = 1;	/* reserved */
	ut_assert_invalid_field(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 2048), true, 10, 0);
	cdb[10] = 0;
	ut_assert_sense(ut_exec_port(&g_port, 1, cdb, 16, SCSI_DIR_TO_DEV, g_buf, 2048),
			SCSI_SENSE_DATA_PROTECT, 0x27, 0x00);
	scsi_put64(&cdb[2], 0);
	fake_bdev_fail_next(g_bdev, BDEV_IO_STATUS_MEDIUM_ERROR, -EIO, 1);
	ut_assert_sense(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 2048), SCSI_SENSE_MEDIUM_ERROR,
			0x11, 0x00);
}

static void
test_more_backend_paths(void **state)
{
	uint8_t cdb[16] = {SBC_COMPARE_AND_WRITE};
	struct scsi_task *t;

	/* CAW with FUA flushes after the write */
	memset(g_buf, 0, 1024);
	scsi_put64(&cdb[2], 40);
	cdb[1] = 0x08;
	cdb[13] = 1;
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 1024));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_FLUSH], 1);
	/* a bdev that reports MISCOMPARE itself */
	fake_bdev_fail_next(g_bdev, BDEV_IO_STATUS_MISCOMPARE, -EILSEQ, 1);
	ut_assert_sense(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 1024), SCSI_SENSE_MISCOMPARE,
			0x1d, 0x00);
	/* WRITE SAME zeroes split by the bdev's limits */
	g_bdev->max_write_zeroes = 3;
	cdb_rw16(cdb, SBC_WRITE_SAME_16, 0, 8);
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_WRITE_ZEROES], 3);
	assert_int_equal(g_bdev->last_offset[BDEV_IO_TYPE_WRITE_ZEROES], 6);
	assert_int_equal(g_bdev->last_num[BDEV_IO_TYPE_WRITE_ZEROES], 2);
	g_bdev->max_unmap = 5;
	cdb[1] = 0x08;
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, g_buf, 512));
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_UNMAP], 2);
	/* a bdev without a UUID: serial number is the bdev name */
	memset(&g_bdev->uuid, 0, sizeof(g_bdev->uuid));
	t = inquiry_vpd(0x80, 255);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 4 + 7);
	assert_memory_equal(&g_buf[4], "Malloc0", 7);
	/* SYNCHRONIZE CACHE of the last block */
	cdb_rw10(cdb, SBC_SYNCHRONIZE_CACHE_10, 1023, 0);
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_NONE, NULL, 0));
	assert_int_equal(g_bdev->last_offset[BDEV_IO_TYPE_FLUSH], 1023);
	assert_int_equal(g_bdev->last_num[BDEV_IO_TYPE_FLUSH], 1);
}

/* ---- misc commands ---- */

static void
test_tur_start_stop_prevent(void **state)
{
	uint8_t cdb[6] = {SPC_TEST_UNIT_READY};

	ut_assert_good(ut_exec(cdb, 6, SCSI_DIR_NONE, NULL, 0));
	cdb[0] = SBC_START_STOP_UNIT;
	cdb[4] = 0x01;
	ut_assert_good(ut_exec(cdb, 6, SCSI_DIR_NONE, NULL, 0));
	cdb[4] = 0x02;	/* LOEJ, stop */
	ut_assert_good(ut_exec(cdb, 6, SCSI_DIR_NONE, NULL, 0));
	cdb[4] = 0x30;	/* power condition */
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_NONE, NULL, 0), true, 4, 7);
	cdb[4] = 0x08;	/* reserved */
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_NONE, NULL, 0), true, 4, 3);
	cdb[0] = SPC_PREVENT_ALLOW;
	cdb[4] = 0x01;
	ut_assert_good(ut_exec(cdb, 6, SCSI_DIR_NONE, NULL, 0));
	cdb[4] = 0x04;
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_NONE, NULL, 0), true, 4, 2);
}

static void
test_request_sense(void **state)
{
	static const uint8_t none[18] = {0x70, 0, 0, 0, 0, 0, 0, 10};
	uint8_t cdb[6] = {SPC_REQUEST_SENSE, 0, 0, 0, 252, 0};
	struct scsi_task *t;

	t = ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 252);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 18);
	assert_memory_equal(g_buf, none, 18);
	/* a pending unit attention is returned (and cleared) as data, status GOOD */
	g_bdev->hold = false;
	fake_bdev_resize(g_bdev, 2048);
	t = ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 252);
	ut_assert_good(t);
	assert_int_equal(g_buf[2], SCSI_SENSE_UNIT_ATTENTION);
	assert_int_equal(g_buf[12], 0x2a);
	assert_int_equal(g_buf[13], 0x09);
	t = ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 252);
	assert_int_equal(g_buf[2], 0);
	/* descriptor format */
	cdb[1] = 0x01;
	t = ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 252);
	assert_int_equal(t->data_transferred, 8);
	assert_int_equal(g_buf[0], 0x72);
	/* truncated */
	cdb[1] = 0;
	cdb[4] = 3;
	t = ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 252);
	assert_int_equal(t->data_transferred, 3);
	cdb[1] = 0x02;
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 252), true, 1, 1);
}

static void
test_report_luns(void **state)
{
	static const uint8_t expect[24] = {0, 0, 0, 16, 0, 0, 0, 0,
					   0, 0, 0, 0, 0, 0, 0, 0,
					   0, 1, 0, 0, 0, 0, 0, 0};
	uint8_t cdb[12] = {SPC_REPORT_LUNS};
	struct scsi_task *t;
	uint32_t alloc;

	scsi_put32(&cdb[6], 4096);
	t = ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 24);
	assert_memory_equal(g_buf, expect, 24);
	for (alloc = 0; alloc <= 24; alloc++) {
		scsi_put32(&cdb[6], alloc);
		assert_int_equal(ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096)->data_transferred,
				 alloc);
	}
	scsi_put32(&cdb[6], 4096);
	cdb[2] = 0x01;	/* well known only: none */
	t = ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096);
	assert_int_equal(t->data_transferred, 8);
	assert_int_equal(scsi_get32(g_buf), 0);
	cdb[2] = 0x03;
	ut_assert_invalid_field(ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096), true, 2, -1);
}

static void
test_report_supported_opcodes(void **state)
{
	static const uint8_t read10[] = {0, 0x03, 0, 10, 0x28, 0x18, 0xff, 0xff, 0xff, 0xff,
					 0x1f, 0xff, 0xff, 0x00};
	uint8_t cdb[12] = {SPC_MAINTENANCE_IN, SPC_MI_REPORT_SUPPORTED_OPCODES};
	struct scsi_task *t;
	uint32_t n, len, i;
	bool found = false;

	scsi_put32(&cdb[6], 4096);
	t = ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096);
	ut_assert_good(t);
	len = scsi_get32(g_buf);
	n = len / 8;
	assert_int_equal(len % 8, 0);
	assert_true(n >= 33);
	assert_int_equal(t->data_transferred, 4 + len);
	for (i = 0; i < n; i++) {
		uint8_t *d = &g_buf[4 + 8 * i];

		if (d[0] == 0x9e) {
			assert_int_equal(scsi_get16(&d[2]), 0x10);
			assert_int_equal(d[5], 0x01);	/* SERVACTV */
			assert_int_equal(scsi_get16(&d[6]), 16);
			found = true;
		}
	}
	assert_true(found);
	/* RCTD: 20-byte descriptors */
	cdb[2] = 0x80;
	t = ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096);
	assert_int_equal(scsi_get32(g_buf), n * 20);
	assert_int_equal(g_buf[4 + 5], 0x02);		/* CTDP */
	assert_int_equal(scsi_get16(&g_buf[4 + 8]), 0x0a);
	/* one command */
	cdb[2] = 0x01;
	cdb[3] = SBC_READ_10;
	t = ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, sizeof(read10));
	assert_memory_equal(g_buf, read10, sizeof(read10));
	cdb[3] = 0xc0;	/* not supported */
	t = ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096);
	assert_int_equal(t->data_transferred, 4);
	assert_int_equal(g_buf[1], 0x01);
	cdb[3] = 0x9e;	/* has service actions: option 1 is wrong */
	ut_assert_invalid_field(ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096), true, 2, 2);
	cdb[2] = 0x02;
	scsi_put16(&cdb[4], 0x10);
	t = ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096);
	ut_assert_good(t);
	assert_int_equal(g_buf[1], 0x03);
	assert_int_equal(scsi_get16(&g_buf[2]), 16);
	assert_int_equal(g_buf[5], 0x1f);
	scsi_put16(&cdb[4], 0x11);
	ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096);
	assert_int_equal(g_buf[1], 0x01);
	cdb[3] = SBC_READ_10;	/* no service actions: option 2 is wrong */
	ut_assert_invalid_field(ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096), true, 2, 2);
	cdb[2] = 0x03;
	ut_assert_good(ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096));
	assert_int_equal(g_buf[1], 0x03);
	cdb[2] = 0x81;	/* RCTD + one command */
	t = ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096);
	assert_int_equal(t->data_transferred, sizeof(read10) + 12);
	assert_int_equal(g_buf[1], 0x83);
	cdb[2] = 0x04;
	ut_assert_invalid_field(ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096), true, 2, 2);
	cdb[2] = 0x01;
	scsi_put32(&cdb[6], 6);
	assert_int_equal(ut_exec(cdb, 12, SCSI_DIR_FROM_DEV, g_buf, 4096)->data_transferred, 6);
}

/* ---- MODE SENSE / MODE SELECT ---- */

static void
test_mode_sense_6(void **state)
{
	static const uint8_t caching[32] = {31, 0, 0x10, 8, 0, 0, 0x04, 0, 0, 0, 0x02, 0,
					    0x08, 0x12, 0x04};
	uint8_t cdb[6] = {SPC_MODE_SENSE_6, 0, 0x08, 0, 255, 0};
	struct scsi_task *t;
	uint32_t alloc;

	t = ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 32);
	assert_memory_equal(g_buf, caching, 32);
	for (alloc = 0; alloc <= 32; alloc++) {
		cdb[4] = alloc;
		assert_int_equal(ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255)->data_transferred,
				 alloc);
	}
	/* all pages, no block descriptor */
	cdb[1] = 0x08;
	cdb[2] = 0x3f;
	cdb[4] = 255;
	t = ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 4 + 12 + 20 + 12);
	assert_int_equal(g_buf[0], 47);
	assert_int_equal(g_buf[3], 0);
	assert_int_equal(g_buf[4], 0x01);
	assert_int_equal(g_buf[5], 0x0a);
	assert_int_equal(g_buf[16], 0x08);
	assert_int_equal(g_buf[36], 0x0a);
	assert_int_equal(g_buf[38], 0x00);	/* D_SENSE off */
	assert_int_equal(g_buf[39], 0x10);
	cdb[3] = 0xff;	/* all subpages */
	ut_assert_good(ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255));
	cdb[3] = 0x01;
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255), true, 3, -1);
	cdb[2] = 0x08;
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255), true, 3, -1);
	cdb[3] = 0;
	cdb[2] = 0x1c;	/* unsupported page */
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255), true, 2, 5);
	cdb[2] = 0x48;	/* changeable values of caching */
	ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255);
	assert_int_equal(g_buf[6], 0x04);
	cdb[2] = 0x88;	/* defaults */
	ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255);
	assert_int_equal(g_buf[6], 0x04);
	cdb[2] = 0xc8;	/* saved: not supported */
	ut_assert_sense(ut_exec(cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x39, 0x00);
	/* read-only LUN: WP */
	cdb[2] = 0x08;
	ut_exec_port(&g_port, 1, cdb, 6, SCSI_DIR_FROM_DEV, g_buf, 255);
	assert_int_equal(g_buf[2], 0x90);
}

static void
test_mode_sense_10(void **state)
{
	uint8_t cdb[10] = {SPC_MODE_SENSE_10, 0x10, 0x0a, 0, 0, 0, 0, 0, 255, 0};
	struct scsi_task *t;

	t = ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 255);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 8 + 16 + 12);
	assert_int_equal(scsi_get16(g_buf), 8 + 16 + 12 - 2);
	assert_int_equal(g_buf[3], 0x10);
	assert_int_equal(g_buf[4], 0x01);		/* LONGLBA */
	assert_int_equal(scsi_get16(&g_buf[6]), 16);
	assert_int_equal(scsi_get64(&g_buf[8]), 1024);
	assert_int_equal(scsi_get32(&g_buf[20]), 512);
	assert_int_equal(g_buf[24], 0x0a);
	cdb[1] = 0;
	t = ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 255);
	assert_int_equal(t->data_transferred, 8 + 8 + 12);
	assert_int_equal(scsi_get16(&g_buf[6]), 8);
	assert_int_equal(scsi_get32(&g_buf[8]), 1024);
	cdb[8] = 9;
	assert_int_equal(ut_exec(cdb, 10, SCSI_DIR_FROM_DEV, g_buf, 255)->data_transferred, 9);
}

static uint32_t
mode_select_caching(uint8_t *p, bool six, uint8_t byte2)
{
	uint32_t hdr = six ? 4 : 8;

	memset(p, 0, hdr + 20);
	p[hdr] = 0x08;
	p[hdr + 1] = 0x12;
	p[hdr + 2] = byte2;
	return hdr + 20;
}

static void
test_mode_select(void **state)
{
	uint8_t cdb[10] = {SPC_MODE_SELECT_6, 0x10};
	uint8_t sense[6] = {SPC_MODE_SENSE_6, 0, 0x08, 0, 255, 0};
	struct scsi_task *t;
	uint32_t len;

	len = mode_select_caching(g_buf, true, 0);	/* WCE off */
	cdb[4] = len;
	ut_assert_good(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len));
	ut_exec(sense, 6, SCSI_DIR_FROM_DEV, g_buf2, 255);
	assert_int_equal(g_buf2[4 + 8 + 2], 0x00);
	/* write-through now: every write is flushed */
	{
		uint8_t w[10];

		cdb_rw10(w, SBC_WRITE_10, 0, 1);
		ut_assert_good(ut_exec(w, 10, SCSI_DIR_TO_DEV, g_buf2, 512));
		assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_FLUSH], 1);
	}
	/* the other initiator hears about it; we do not */
	t = ut_exec_port(&g_port2, 0, sense, 6, SCSI_DIR_FROM_DEV, g_buf2, 255);
	ut_assert_sense(t, SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x01);
	ut_assert_good(ut_exec(sense, 6, SCSI_DIR_FROM_DEV, g_buf2, 255));
	/* MODE SELECT(10) back on, with a block descriptor of the right size */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = SPC_MODE_SELECT_10;
	cdb[1] = 0x10;
	memset(g_buf, 0, 64);
	scsi_put16(&g_buf[6], 8);
	scsi_put32(&g_buf[8 + 4], 512);
	g_buf[16] = 0x08;
	g_buf[17] = 0x12;
	g_buf[18] = 0x04;
	len = 16 + 20;
	scsi_put16(&cdb[7], len);
	ut_assert_good(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, len));
	ut_exec(sense, 6, SCSI_DIR_FROM_DEV, g_buf2, 255);
	assert_int_equal(g_buf2[4 + 8 + 2], 0x04);
	/* wrong block length */
	scsi_put32(&g_buf[8 + 4], 4096);
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, len), false, 13, -1);
	/* bad block descriptor length */
	scsi_put16(&g_buf[6], 4);
	ut_assert_invalid_field(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, len), false, 6, -1);
	/* block descriptor beyond the list */
	scsi_put16(&g_buf[6], 200);
	ut_assert_sense(ut_exec(cdb, 10, SCSI_DIR_TO_DEV, g_buf, len), SCSI_SENSE_ILLEGAL_REQUEST,
			0x1a, 0x00);
}

static void
test_mode_select_errors(void **state)
{
	uint8_t cdb[6] = {SPC_MODE_SELECT_6, 0x10};
	uint32_t len = mode_select_caching(g_buf, true, 0x04);

	cdb[4] = len;
	g_buf[4 + 3] = 0x01;	/* not changeable */
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len), false, 7, 0);
	g_buf[4 + 3] = 0;
	g_buf[4 + 2] = 0x05;	/* RCD not changeable */
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len), false, 6, 0);
	g_buf[4 + 2] = 0x04;
	g_buf[4 + 1] = 0x10;	/* wrong page length */
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len), false, 5, -1);
	g_buf[4 + 1] = 0x12;
	g_buf[4] = 0x88;	/* PS */
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len), false, 4, 7);
	g_buf[4] = 0x48;	/* SPF */
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len), false, 4, 6);
	g_buf[4] = 0x1c;	/* unknown page */
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len), false, 4, 5);
	g_buf[4] = 0x08;
	/* page runs past the list */
	cdb[4] = len - 1;
	ut_assert_sense(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len), SCSI_SENSE_ILLEGAL_REQUEST,
			0x1a, 0x00);
	cdb[4] = 5;	/* one byte of page header */
	ut_assert_sense(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len), SCSI_SENSE_ILLEGAL_REQUEST,
			0x1a, 0x00);
	cdb[4] = 3;	/* shorter than the header */
	ut_assert_sense(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len), SCSI_SENSE_ILLEGAL_REQUEST,
			0x1a, 0x00);
	cdb[4] = len;	/* more than was sent */
	ut_assert_sense(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len - 4),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x1a, 0x00);
	cdb[1] = 0x11;	/* SP */
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len), true, 1, 0);
	cdb[1] = 0x00;	/* PF=0 */
	ut_assert_invalid_field(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len), true, 1, 4);
	cdb[4] = 0;	/* empty list is fine */
	ut_assert_good(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, NULL, 0));
	/* nothing changed, nobody told */
	ut_assert_good(ut_exec_port(&g_port2, 0, (uint8_t[6]){0}, 6, SCSI_DIR_NONE, NULL, 0));
}

static void
test_descriptor_sense(void **state)
{
	uint8_t cdb[6] = {SPC_MODE_SELECT_6, 0x10};
	uint8_t bad[16] = {0xc0};
	uint8_t rd[10];
	struct scsi_task *t;
	uint32_t len = 4 + 12;

	memset(g_buf, 0, len);
	g_buf[4] = 0x0a;
	g_buf[5] = 0x0a;
	g_buf[6] = 0x04;	/* D_SENSE */
	g_buf[7] = 0x10;
	cdb[4] = len;
	ut_assert_good(ut_exec(cdb, 6, SCSI_DIR_TO_DEV, g_buf, len));
	t = ut_exec(bad, 16, SCSI_DIR_NONE, NULL, 0);
	assert_int_equal(t->status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(t->sense_len, 8);
	assert_memory_equal(t->sense_data, ((uint8_t[8]){0x72, 0x05, 0x20, 0, 0, 0, 0, 0}), 8);
	cdb_rw10(rd, SBC_READ_10, 0, 4);
	t = ut_exec(rd, 10, SCSI_DIR_FROM_DEV, g_buf, 512);
	assert_int_equal(t->sense_len, 16);
	assert_memory_equal(t->sense_data, ((uint8_t[16]){0x72, 0x05, 0x24, 0, 0, 0, 0, 8,
							  0x02, 0x06, 0, 0, 0xc0, 0, 7, 0}), 16);
	/* miscompare information descriptor */
	cdb_rw10(rd, SBC_VERIFY_10, 0, 1);
	rd[1] = 0x02;
	memset(g_buf, 1, 512);
	t = ut_exec(rd, 10, SCSI_DIR_TO_DEV, g_buf, 512);
	assert_int_equal(t->sense_len, 20);
	assert_memory_equal(t->sense_data, ((uint8_t[20]){0x72, 0x0e, 0x1d, 0, 0, 0, 0, 12,
							  0x00, 0x0a, 0x80, 0, 0, 0, 0, 0,
							  0, 0, 0, 0}), 20);
	/* LUN reset restores the default (fixed) format */
	ut_tmf_start(&g_port, 0, SCSI_TMF_LUN_RESET, 0);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 1);
	ut_clear_ua(&g_port, 0);
	t = ut_exec(bad, 16, SCSI_DIR_NONE, NULL, 0);
	assert_int_equal(t->sense_len, 18);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		UT_TEST(test_cdb_invalid_opcode),
		UT_TEST(test_cdb_short),
		UT_TEST(test_cdb_reserved_bits),
		UT_TEST(test_inquiry_standard),
		UT_TEST(test_inquiry_vpd_pages),
		UT_TEST(test_inquiry_vpd_truncation),
		UT_TEST(test_read_capacity_10),
		UT_TEST(test_read_capacity_16),
		UT_TEST(test_write_read_all_sizes),
		UT_TEST(test_rw_out_of_range),
		UT_TEST(test_rw_buffer_mismatch),
		UT_TEST(test_rw_multi_iov_trim),
		UT_TEST(test_rw_backend_errors),
		UT_TEST(test_rw_enomem_retry),
		UT_TEST(test_write_read_only_lun),
		UT_TEST(test_write_fua_and_wce),
		UT_TEST(test_verify),
		UT_TEST(test_sync_cache),
		UT_TEST(test_unmap),
		UT_TEST(test_unmap_too_many_descriptors),
		UT_TEST(test_write_same),
		UT_TEST(test_compare_and_write),
		UT_TEST(test_more_backend_paths),
		UT_TEST(test_tur_start_stop_prevent),
		UT_TEST(test_request_sense),
		UT_TEST(test_report_luns),
		UT_TEST(test_report_supported_opcodes),
		UT_TEST(test_mode_sense_6),
		UT_TEST(test_mode_sense_10),
		UT_TEST(test_mode_select),
		UT_TEST(test_mode_select_errors),
		UT_TEST(test_descriptor_sense),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
