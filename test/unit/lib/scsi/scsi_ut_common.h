/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared fixture for the lib/scsi unit tests: one fake reactor thread, a
 * target "tgt0" with LUN 0 on fake bdev Malloc0 (1024 x 512 B) and LUN 1
 * read-only on Malloc1, two initiator ports, and helpers that run one
 * command to completion and check status and sense bytes exactly.
 */
#ifndef SCSI_UT_COMMON_H
#define SCSI_UT_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "common/ut_thread.h"
#include "fake_bdev.h"
#include "vhostd/scsi.h"
#include "scsi_internal.h"

static struct bdev *g_bdev, *g_bdev_ro;
static struct scsi_dev *g_dev;
static struct scsi_port g_port, g_port2;
static uint64_t g_tag;

#define UT_MAX_EVENTS 16
static struct {
	uint32_t		lun_id;
	enum scsi_lun_event	event;
} g_events[UT_MAX_EVENTS];
static int g_num_events;

static void
ut_event_cb(struct scsi_dev *dev, uint32_t lun_id, enum scsi_lun_event event, void *ctx)
{
	if (g_num_events < UT_MAX_EVENTS) {
		g_events[g_num_events].lun_id = lun_id;
		g_events[g_num_events].event = event;
		g_num_events++;
	}
}

struct ut_cmd {
	struct scsi_task	task;
	struct iovec		iov[4];
	int			done;
};

static void
ut_task_cb(struct scsi_task *task, void *arg)
{
	struct ut_cmd *c = arg;

	c->done++;
}

/* Queue a command; it must not complete before the queue call returns. */
static void
ut_cmd_start(struct ut_cmd *c, struct scsi_port *port, uint32_t lun, const uint8_t *cdb,
	     uint8_t cdb_len, enum scsi_data_dir dir, void *buf, uint32_t len)
{
	memset(c, 0, sizeof(*c));
	scsi_task_init(&c->task, ut_task_cb, c);
	memcpy(c->task.cdb, cdb, cdb_len);
	c->task.cdb_len = cdb_len;
	c->task.dxfer_dir = dir;
	c->iov[0].iov_base = buf;
	c->iov[0].iov_len = len;
	c->task.iovs = c->iov;
	c->task.iovcnt = buf != NULL ? 1 : 0;
	c->task.transfer_len = buf != NULL ? len : 0;
	c->task.lun_id = lun;
	c->task.tag = ++g_tag;
	c->task.initiator_port = port;
	scsi_dev_queue_task(g_dev, &c->task);
	assert_int_equal(c->done, 0);
}

static struct ut_cmd g_cmd;

/* Run a command to completion (exactly one callback). */
static struct scsi_task *
ut_exec_port(struct scsi_port *port, uint32_t lun, const uint8_t *cdb, uint8_t cdb_len,
	     enum scsi_data_dir dir, void *buf, uint32_t len)
{
	ut_cmd_start(&g_cmd, port, lun, cdb, cdb_len, dir, buf, len);
	ut_poll_threads();
	assert_int_equal(g_cmd.done, 1);
	return &g_cmd.task;
}

static inline struct scsi_task *
ut_exec(const uint8_t *cdb, uint8_t cdb_len, enum scsi_data_dir dir, void *buf, uint32_t len)
{
	return ut_exec_port(&g_port, 0, cdb, cdb_len, dir, buf, len);
}

static void
ut_assert_good(const struct scsi_task *t)
{
	assert_int_equal(t->status, SCSI_STATUS_GOOD);
	assert_int_equal(t->sense_len, 0);
}

/* CHECK CONDITION with fixed-format sense sk/asc/ascq (bytes checked exactly). */
static void
ut_assert_sense(const struct scsi_task *t, uint8_t sk, uint8_t asc, uint8_t ascq)
{
	assert_int_equal(t->status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(t->sense_len, 18);
	assert_int_equal(t->sense_data[0] & 0x7f, 0x70);
	assert_int_equal(t->sense_data[2], sk);
	assert_int_equal(t->sense_data[7], 10);
	assert_int_equal(t->sense_data[12], asc);
	assert_int_equal(t->sense_data[13], ascq);
}

/* INVALID FIELD IN CDB / PARAMETER LIST with its sense-key specific pointer. */
static inline void
ut_assert_invalid_field(const struct scsi_task *t, bool cdb, uint16_t byte, int bit)
{
	ut_assert_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, cdb ? 0x24 : 0x26, 0);
	assert_int_equal(t->sense_data[15],
			 0x80 | (cdb ? 0x40 : 0) | (bit >= 0 ? (0x08 | bit) : 0));
	assert_int_equal(t->sense_data[16], byte >> 8);
	assert_int_equal(t->sense_data[17], byte & 0xff);
}

static void
ut_tmf_cb(struct scsi_task *task, void *arg)
{
	int *done = arg;

	(*done)++;
}

static struct scsi_task g_tmf;
static int g_tmf_done;

static inline void
ut_tmf_start(struct scsi_port *port, uint32_t lun, enum scsi_tmf fn, uint64_t tag)
{
	g_tmf_done = 0;
	scsi_task_init(&g_tmf, ut_tmf_cb, &g_tmf_done);
	g_tmf.initiator_port = port;
	g_tmf.lun_id = lun;
	g_tmf.tmf_function = fn;
	g_tmf.tmf_tag = tag;
	scsi_dev_queue_mgmt_task(g_dev, &g_tmf);
	assert_int_equal(g_tmf_done, 0);
}

static void
ut_dev_done(void *arg, int rc)
{
	int *done = arg;

	assert_int_equal(rc, 0);
	(*done)++;
}

/* TEST UNIT READY until GOOD: consumes the power-on unit attention. */
static inline void
ut_clear_ua(struct scsi_port *port, uint32_t lun)
{
	uint8_t cdb[6] = {0};
	int i;

	for (i = 0; i < 16; i++) {
		if (ut_exec_port(port, lun, cdb, 6, SCSI_DIR_NONE, NULL, 0)->status ==
		    SCSI_STATUS_GOOD) {
			return;
		}
	}
	fail();
}

static int
ut_setup(void **state)
{
	struct scsi_lun_opts o = {.lun_id = 0, .bdev_name = "Malloc0"};

	ut_threads_init(1);
	g_bdev = fake_bdev_create("Malloc0", 512, 1024);
	g_bdev_ro = fake_bdev_create("Malloc1", 4096, 64);
	g_num_events = 0;
	assert_int_equal(scsi_dev_create("tgt0", 0, ut_event_cb, NULL, &g_dev), 0);
	assert_int_equal(scsi_dev_add_lun(g_dev, &o), 0);
	o.lun_id = 1;
	o.bdev_name = "Malloc1";
	o.read_only = true;
	assert_int_equal(scsi_dev_add_lun(g_dev, &o), 0);
	scsi_port_init(&g_port, 1, "iqn.2026-01.test:host1");
	scsi_port_init(&g_port2, 2, "iqn.2026-01.test:host2");
	ut_clear_ua(&g_port, 0);
	ut_clear_ua(&g_port2, 0);
	ut_clear_ua(&g_port, 1);
	ut_clear_ua(&g_port2, 1);
	return 0;
}

static int
ut_teardown(void **state)
{
	int done = 0;

	g_bdev->hold = false;
	fake_bdev_complete(g_bdev, 0);
	scsi_dev_destroy(g_dev, ut_dev_done, &done);
	ut_poll_threads();
	assert_int_equal(done, 1);
	assert_int_equal(g_bdev->open_count, 0);
	assert_int_equal(g_bdev_ro->open_count, 0);
	fake_bdev_destroy(g_bdev);
	fake_bdev_destroy(g_bdev_ro);
	ut_poll_threads();
	ut_threads_fini();
	return 0;
}

#define UT_TEST(fn) cmocka_unit_test_setup_teardown(fn, ut_setup, ut_teardown)

#endif /* SCSI_UT_COMMON_H */
