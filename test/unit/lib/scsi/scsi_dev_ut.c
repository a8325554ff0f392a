/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/scsi/scsi_dev.c: devices and LUNs, the null LUN, unit attentions,
 * hot-remove and resize, task management against in-flight I/O, the
 * COMPARE AND WRITE range lock, completion deferral.
 */
#include "scsi_ut_common.h"

static uint8_t g_buf[65536];

static void
cdb_rw10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	scsi_put32(&cdb[2], lba);
	scsi_put16(&cdb[7], n);
}

static const uint8_t g_tur[6] = {0};

/* ---- lifecycle ---- */

static void
test_dev_create_errors(void **state)
{
	struct scsi_dev *dev;
	struct scsi_lun_opts o = {.lun_id = 0, .bdev_name = "Malloc0"};
	char name[300];
	int done = 0;

	assert_int_equal(scsi_dev_create("", 0, NULL, NULL, &dev), -EINVAL);
	assert_int_equal(scsi_dev_create(NULL, 0, NULL, NULL, &dev), -EINVAL);
	memset(name, 'a', sizeof(name));
	name[299] = 0;
	assert_int_equal(scsi_dev_create(name, 0, NULL, NULL, &dev), -EINVAL);
	assert_int_equal(scsi_dev_create("t1", 7, NULL, NULL, &dev), 0);
	assert_string_equal(scsi_dev_get_name(dev), "t1");
	assert_int_equal(scsi_dev_get_id(dev), 7);
	assert_null(scsi_dev_first_lun(dev));
	assert_int_equal(scsi_dev_add_lun(dev, NULL), -EINVAL);
	o.lun_id = SCSI_DEV_MAX_LUN;
	assert_int_equal(scsi_dev_add_lun(dev, &o), -EINVAL);
	o.lun_id = 3;
	o.bdev_name = "nope";
	assert_int_equal(scsi_dev_add_lun(dev, &o), -ENODEV);
	o.bdev_name = "Malloc0";
	g_bdev->open_rc = -EPERM;
	assert_int_equal(scsi_dev_add_lun(dev, &o), -EPERM);
	g_bdev->open_rc = 0;
	assert_int_equal(scsi_dev_add_lun(dev, &o), 0);
	assert_int_equal(scsi_dev_add_lun(dev, &o), -EEXIST);
	assert_non_null(scsi_dev_get_lun(dev, 3));
	assert_null(scsi_dev_get_lun(dev, 2));
	assert_null(scsi_dev_get_lun(dev, 9999));
	assert_int_equal(scsi_lun_get_id(scsi_dev_first_lun(dev)), 3);
	assert_null(scsi_dev_next_lun(dev, scsi_dev_first_lun(dev)));
	assert_string_equal(scsi_lun_get_bdev_name(scsi_dev_get_lun(dev, 3)), "Malloc0");
	assert_ptr_equal(scsi_lun_get_bdev(scsi_dev_get_lun(dev, 3)), g_bdev);
	assert_false(scsi_lun_is_removing(scsi_dev_get_lun(dev, 3)));
	assert_false(scsi_dev_has_pending_tasks(dev));
	assert_int_equal(scsi_dev_remove_lun(dev, 4, NULL, NULL), -ENODEV);
	assert_int_equal(scsi_dev_remove_lun(dev, 99, NULL, NULL), -ENODEV);
	assert_int_equal(g_bdev->open_count, 2);
	scsi_dev_destroy(dev, ut_dev_done, &done);
	assert_int_equal(scsi_dev_add_lun(dev, &o), -EBUSY);
	scsi_dev_destroy(dev, ut_dev_done, &done);	/* second call: ignored */
	ut_poll_threads();
	assert_int_equal(done, 1);
	assert_int_equal(g_bdev->open_count, 1);
}

static void
test_dev_bad_pr_file(void **state)
{
	struct scsi_lun_opts o = {.lun_id = 5, .bdev_name = "Malloc0"};
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/vhostd_scsi_dev_ut_bad.%d.pr", (int)getpid());
	o.pr_path = path;
	f = fopen(path, "w");

	assert_non_null(f);
	fputs("garbage\n", f);
	fclose(f);
	assert_int_equal(scsi_dev_add_lun(g_dev, &o), -EINVAL);
	assert_int_equal(g_bdev->open_count, 1);
	unlink(o.pr_path);
}

/* ---- completion contract ---- */

static void
test_completion_deferred(void **state)
{
	struct ut_cmd c;

	/* synchronous command: still completes from a message, never inside the call */
	ut_cmd_start(&c, &g_port, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0);
	assert_true(scsi_dev_has_pending_tasks(g_dev));
	ut_poll_threads();
	assert_int_equal(c.done, 1);
	assert_false(scsi_dev_has_pending_tasks(g_dev));
	/* null LUN too */
	ut_cmd_start(&c, &g_port, 9, g_tur, 6, SCSI_DIR_NONE, NULL, 0);
	ut_poll_threads();
	assert_int_equal(c.done, 1);
	/* missing initiator port: treated as no LUN */
	ut_cmd_start(&c, NULL, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0);
	ut_poll_threads();
	ut_assert_sense(&c.task, SCSI_SENSE_ILLEGAL_REQUEST, 0x25, 0x00);
}

/* ---- null LUN ---- */

static void
test_null_lun(void **state)
{
	uint8_t inq[6] = {SPC_INQUIRY, 0, 0, 0, 96, 0};
	uint8_t rl[12] = {SPC_REPORT_LUNS};
	uint8_t rs[6] = {SPC_REQUEST_SENSE, 0, 0, 0, 18, 0};
	uint8_t rd[10];
	struct scsi_task *t;

	t = ut_exec_port(&g_port, 7, inq, 6, SCSI_DIR_FROM_DEV, g_buf, 255);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 96);
	assert_int_equal(g_buf[0], 0x7f);
	assert_int_equal(g_buf[2], 0x06);
	inq[4] = 1;
	t = ut_exec_port(&g_port, 7, inq, 6, SCSI_DIR_FROM_DEV, g_buf, 255);
	assert_int_equal(t->data_transferred, 1);
	inq[1] = 1;	/* EVPD on an absent LUN */
	ut_assert_sense(ut_exec_port(&g_port, 7, inq, 6, SCSI_DIR_FROM_DEV, g_buf, 255),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x25, 0x00);
	/* REPORT LUNS answers on any LUN */
	scsi_put32(&rl[6], 256);
	t = ut_exec_port(&g_port, 7, rl, 12, SCSI_DIR_FROM_DEV, g_buf, 256);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 24);
	assert_int_equal(scsi_get32(g_buf), 16);
	assert_int_equal(g_buf[17], 1);
	rl[2] = 0x09;
	ut_assert_invalid_field(ut_exec_port(&g_port, 7, rl, 12, SCSI_DIR_FROM_DEV, g_buf, 256),
				true, 2, -1);
	/* REQUEST SENSE: sense data says LOGICAL UNIT NOT SUPPORTED, status GOOD */
	t = ut_exec_port(&g_port, 7, rs, 6, SCSI_DIR_FROM_DEV, g_buf, 18);
	ut_assert_good(t);
	assert_int_equal(t->data_transferred, 18);
	assert_int_equal(g_buf[2], SCSI_SENSE_ILLEGAL_REQUEST);
	assert_int_equal(g_buf[12], 0x25);
	/* everything else */
	ut_assert_sense(ut_exec_port(&g_port, 7, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x25, 0x00);
	cdb_rw10(rd, SBC_READ_10, 0, 1);
	ut_assert_sense(ut_exec_port(&g_port, 300, rd, 10, SCSI_DIR_FROM_DEV, g_buf, 512),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x25, 0x00);
	/* short CDBs on the null LUN */
	ut_assert_sense(ut_exec_port(&g_port, 7, inq, 3, SCSI_DIR_FROM_DEV, g_buf, 512),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x25, 0x00);
	ut_assert_sense(ut_exec_port(&g_port, 7, rl, 10, SCSI_DIR_FROM_DEV, g_buf, 512),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x25, 0x00);
	ut_assert_sense(ut_exec_port(&g_port, 7, rs, 4, SCSI_DIR_FROM_DEV, g_buf, 512),
			SCSI_SENSE_ILLEGAL_REQUEST, 0x25, 0x00);
}

/* ---- unit attentions ---- */

static void
test_ua_power_on_per_nexus(void **state)
{
	struct scsi_port p3;
	uint8_t inq[6] = {SPC_INQUIRY, 0, 0, 0, 36, 0};
	uint8_t rl[12] = {SPC_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};

	scsi_port_init(&p3, 3, "iqn.2026-01.test:host3");
	/* INQUIRY and REPORT LUNS neither report nor clear it */
	ut_assert_good(ut_exec_port(&p3, 0, inq, 6, SCSI_DIR_FROM_DEV, g_buf, 36));
	ut_assert_good(ut_exec_port(&p3, 0, rl, 12, SCSI_DIR_FROM_DEV, g_buf, 256));
	ut_assert_sense(ut_exec_port(&p3, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x00);
	ut_assert_good(ut_exec_port(&p3, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0));
	/* per LUN */
	ut_assert_sense(ut_exec_port(&p3, 1, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x00);
	/* forgetting the port makes it new again */
	scsi_dev_free_port(g_dev, &p3);
	ut_assert_sense(ut_exec_port(&p3, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x00);
	/* other nexuses unaffected */
	ut_assert_good(ut_exec_port(&g_port, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0));
}

static void
test_ua_luns_changed(void **state)
{
	struct scsi_lun_opts o = {.lun_id = 4, .bdev_name = "Malloc0", .read_only = true};
	int done = 0;

	assert_int_equal(scsi_dev_add_lun(g_dev, &o), 0);
	ut_assert_sense(ut_exec_port(&g_port, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x3f, 0x0e);
	ut_assert_sense(ut_exec_port(&g_port2, 1, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x3f, 0x0e);
	ut_assert_good(ut_exec_port(&g_port, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0));
	/* the new LUN says power on */
	ut_assert_sense(ut_exec_port(&g_port, 4, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x00);
	assert_int_equal(scsi_dev_remove_lun(g_dev, 4, ut_dev_done, &done), 0);
	ut_poll_threads();
	assert_int_equal(done, 1);
	ut_assert_sense(ut_exec_port(&g_port, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x3f, 0x0e);
	assert_int_equal(g_num_events, 1);
	assert_int_equal(g_events[0].event, SCSI_LUN_EVENT_REMOVED);
	assert_int_equal(g_events[0].lun_id, 4);
}

static void
test_resize(void **state)
{
	uint8_t rc10[10] = {SBC_READ_CAPACITY_10};
	struct scsi_task *t;

	fake_bdev_resize(g_bdev, 4096);
	assert_int_equal(g_num_events, 1);
	assert_int_equal(g_events[0].event, SCSI_LUN_EVENT_RESIZE);
	assert_int_equal(g_events[0].lun_id, 0);
	t = ut_exec(rc10, 10, SCSI_DIR_FROM_DEV, g_buf, 8);
	ut_assert_sense(t, SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x09);
	t = ut_exec(rc10, 10, SCSI_DIR_FROM_DEV, g_buf, 8);
	ut_assert_good(t);
	assert_int_equal(scsi_get32(g_buf), 4095);
	ut_assert_sense(ut_exec_port(&g_port2, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x09);
	/* a reset UA is reported first, and supersedes power on */
	fake_bdev_resize(g_bdev, 2048);
	ut_tmf_start(&g_port, 0, SCSI_TMF_LUN_RESET, 0);
	ut_poll_threads();
	ut_assert_sense(ut_exec_port(&g_port, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x03);
	ut_assert_sense(ut_exec_port(&g_port, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x2a, 0x09);
	ut_assert_good(ut_exec_port(&g_port, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0));
}

/* ---- hot-remove ---- */

static void
test_hot_remove_bdev_event(void **state)
{
	struct ut_cmd c1, c2;
	uint8_t rd[10];

	g_bdev->hold = true;
	cdb_rw10(rd, SBC_READ_10, 0, 1);
	ut_cmd_start(&c1, &g_port, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf, 512);
	ut_poll_threads();
	assert_int_equal(g_bdev->num_pending, 1);
	fake_bdev_hot_remove(g_bdev);
	assert_int_equal(g_num_events, 1);
	assert_int_equal(g_events[0].event, SCSI_LUN_EVENT_REMOVING);
	/* second REMOVE event: ignored */
	fake_bdev_hot_remove(g_bdev);
	assert_int_equal(g_num_events, 1);
	/* new commands: LUN gone */
	ut_cmd_start(&c2, &g_port, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0);
	ut_poll_threads();
	ut_assert_sense(&c2.task, SCSI_SENSE_ILLEGAL_REQUEST, 0x25, 0x00);
	assert_null(scsi_dev_get_lun(g_dev, 0));
	assert_int_equal(scsi_dev_remove_lun(g_dev, 0, NULL, NULL), -EALREADY);
	/* the outstanding read drains normally, then the LUN goes */
	assert_int_equal(g_bdev->open_count, 1);
	fake_bdev_complete(g_bdev, 0);
	assert_int_equal(c1.done, 1);
	ut_assert_good(&c1.task);
	ut_poll_threads();
	assert_int_equal(g_bdev->open_count, 0);
	assert_int_equal(g_num_events, 2);
	assert_int_equal(g_events[1].event, SCSI_LUN_EVENT_REMOVED);
	assert_int_equal(scsi_dev_remove_lun(g_dev, 0, NULL, NULL), -ENODEV);
	/* REPORT LUNS no longer lists it; the survivor hears about it */
	ut_assert_sense(ut_exec_port(&g_port, 1, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x3f, 0x0e);
}

static void
test_remove_lun_waits_for_io(void **state)
{
	struct ut_cmd c1;
	uint8_t wr[10];
	int done = 0;

	g_bdev->hold = true;
	cdb_rw10(wr, SBC_WRITE_10, 0, 1);
	ut_cmd_start(&c1, &g_port, 0, wr, 10, SCSI_DIR_TO_DEV, g_buf, 512);
	assert_int_equal(scsi_dev_remove_lun(g_dev, 0, ut_dev_done, &done), 0);
	assert_true(scsi_lun_is_removing(g_dev->luns[0]));
	ut_poll_threads();
	assert_int_equal(done, 0);
	/* transport tears down at the same moment: destroy waits as well */
	{
		int ddone = 0;

		fake_bdev_hot_remove(g_bdev);	/* bdev vanishes too: nothing extra */
		assert_int_equal(g_num_events, 0);
		fake_bdev_complete(g_bdev, 0);
		ut_poll_threads();
		assert_int_equal(c1.done, 1);
		ut_assert_good(&c1.task);
		assert_int_equal(done, 1);
		assert_int_equal(g_bdev->open_count, 0);
		(void)ddone;
	}
}

/* Removal, bdev REMOVE and device destroy all at once, with I/O in flight. */
static void
test_remove_remove_event_and_destroy_race(void **state)
{
	struct scsi_dev *dev;
	struct scsi_lun_opts o = {.lun_id = 0, .bdev_name = "Malloc0"};
	struct ut_cmd c1;
	uint8_t rd[10];
	int removed = 0, destroyed = 0;
	struct scsi_dev *saved = g_dev;

	assert_int_equal(scsi_dev_create("t3", 3, ut_event_cb, NULL, &dev), 0);
	assert_int_equal(scsi_dev_add_lun(dev, &o), 0);
	g_dev = dev;
	ut_clear_ua(&g_port, 0);
	g_bdev->hold = true;
	cdb_rw10(rd, SBC_READ_10, 0, 1);
	ut_cmd_start(&c1, &g_port, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf, 512);
	assert_int_equal(scsi_dev_remove_lun(dev, 0, ut_dev_done, &removed), 0);
	scsi_dev_destroy(dev, ut_dev_done, &destroyed);
	fake_bdev_hot_remove(g_bdev);
	ut_poll_threads();
	assert_int_equal(removed + destroyed, 0);
	/* both g_dev's LUN 0 and t3's LUN 0 got REMOVING; only t3's is drained by us */
	fake_bdev_complete(g_bdev, 0);
	ut_poll_threads();
	assert_int_equal(c1.done, 1);
	ut_assert_good(&c1.task);
	assert_int_equal(removed, 1);
	assert_int_equal(destroyed, 1);
	g_dev = saved;
	assert_int_equal(g_bdev->open_count, 0);
}

static void
test_destroy_with_io_in_flight(void **state)
{
	struct ut_cmd c1;
	struct scsi_dev *dev;
	struct scsi_lun_opts o = {.lun_id = 0, .bdev_name = "Malloc0"};
	uint8_t rd[10];
	int done = 0;

	assert_int_equal(scsi_dev_create("t2", 1, NULL, NULL, &dev), 0);
	assert_int_equal(scsi_dev_add_lun(dev, &o), 0);
	g_bdev->hold = true;
	cdb_rw10(rd, SBC_READ_10, 0, 1);
	memset(&c1, 0, sizeof(c1));
	scsi_task_init(&c1.task, ut_task_cb, &c1);
	memcpy(c1.task.cdb, rd, 10);
	c1.task.cdb_len = 10;
	c1.task.dxfer_dir = SCSI_DIR_FROM_DEV;
	c1.iov[0].iov_base = g_buf;
	c1.iov[0].iov_len = 512;
	c1.task.iovs = c1.iov;
	c1.task.iovcnt = 1;
	c1.task.transfer_len = 512;
	c1.task.initiator_port = &g_port;
	scsi_dev_queue_task(dev, &c1.task);
	ut_poll_threads();
	/* power-on UA answered it: run it again for real */
	assert_int_equal(c1.done, 1);
	c1.done = 0;
	scsi_dev_queue_task(dev, &c1.task);
	ut_poll_threads();
	assert_int_equal(c1.done, 0);
	scsi_dev_destroy(dev, ut_dev_done, &done);
	ut_poll_threads();
	assert_int_equal(done, 0);
	fake_bdev_complete(g_bdev, 0);
	ut_poll_threads();
	assert_int_equal(c1.done, 1);
	assert_int_equal(done, 1);
	assert_int_equal(g_bdev->open_count, 1);
}

/* ---- task management ---- */

static void
test_tmf_abort_task_in_flight(void **state)
{
	struct ut_cmd c1, c2;
	uint8_t rd[10];

	g_bdev->hold = true;
	cdb_rw10(rd, SBC_READ_10, 0, 1);
	ut_cmd_start(&c1, &g_port, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf, 512);
	ut_cmd_start(&c2, &g_port, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf + 512, 512);
	ut_poll_threads();
	/* QUERY TASK finds it */
	ut_tmf_start(&g_port, 0, SCSI_TMF_QUERY_TASK, c1.task.tag);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 1);
	assert_int_equal(g_tmf.tmf_response, SCSI_TMF_RESP_SUCCEEDED);
	/* ... but not from another nexus */
	ut_tmf_start(&g_port2, 0, SCSI_TMF_QUERY_TASK, c1.task.tag);
	ut_poll_threads();
	assert_int_equal(g_tmf.tmf_response, SCSI_TMF_RESP_COMPLETE);
	/* ABORT TASK waits for the bdev I/O */
	ut_tmf_start(&g_port, 0, SCSI_TMF_ABORT_TASK, c1.task.tag);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 0);
	assert_int_equal(c1.done, 0);
	fake_bdev_complete(g_bdev, 1);
	ut_poll_threads();
	assert_int_equal(c1.done, 1);
	assert_int_equal(c1.task.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(c1.task.sense_len, 0);
	assert_int_equal(g_tmf_done, 1);
	assert_int_equal(g_tmf.tmf_response, SCSI_TMF_RESP_COMPLETE);
	/* the other one is untouched */
	fake_bdev_complete(g_bdev, 0);
	ut_poll_threads();
	assert_int_equal(c2.done, 1);
	ut_assert_good(&c2.task);
	assert_int_equal(c1.done, 1);	/* never twice */
	/* QUERY TASK / ABORT TASK of a finished tag */
	ut_tmf_start(&g_port, 0, SCSI_TMF_QUERY_TASK, c1.task.tag);
	ut_poll_threads();
	assert_int_equal(g_tmf.tmf_response, SCSI_TMF_RESP_COMPLETE);
	ut_tmf_start(&g_port, 0, SCSI_TMF_ABORT_TASK, c1.task.tag);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 1);
	assert_int_equal(g_tmf.tmf_response, SCSI_TMF_RESP_COMPLETE);
}

static void
test_tmf_abort_task_set_and_clear(void **state)
{
	struct ut_cmd c1, c2, c3;
	uint8_t rd[10];

	g_bdev->hold = true;
	cdb_rw10(rd, SBC_READ_10, 0, 1);
	ut_cmd_start(&c1, &g_port, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf, 512);
	ut_cmd_start(&c2, &g_port2, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf + 512, 512);
	ut_cmd_start(&c3, &g_port, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf + 1024, 512);
	ut_tmf_start(&g_port, 0, SCSI_TMF_ABORT_TASK_SET, 0);
	fake_bdev_complete(g_bdev, 0);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 1);
	assert_int_equal(c1.task.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(c3.task.status, SCSI_STATUS_TASK_ABORTED);
	ut_assert_good(&c2.task);
	/* CLEAR TASK SET: everyone's; the other initiator gets 2Fh/00h */
	ut_cmd_start(&c1, &g_port, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf, 512);
	ut_cmd_start(&c2, &g_port2, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf + 512, 512);
	ut_tmf_start(&g_port, 0, SCSI_TMF_CLEAR_TASK_SET, 0);
	fake_bdev_complete(g_bdev, 0);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 1);
	assert_int_equal(c1.task.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(c2.task.status, SCSI_STATUS_TASK_ABORTED);
	g_bdev->hold = false;
	ut_assert_sense(ut_exec_port(&g_port2, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x2f, 0x00);
	ut_assert_good(ut_exec_port(&g_port, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0));
	/* idle task set: completes at once (deferred) */
	ut_tmf_start(&g_port, 0, SCSI_TMF_ABORT_TASK_SET, 0);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 1);
}

static void
test_tmf_lun_reset(void **state)
{
	struct ut_cmd c1, c2;
	uint8_t rd[10];

	g_bdev->hold = true;
	cdb_rw10(rd, SBC_READ_10, 0, 1);
	ut_cmd_start(&c1, &g_port, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf, 512);
	ut_cmd_start(&c2, &g_port2, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf, 512);
	ut_tmf_start(&g_port, 0, SCSI_TMF_LUN_RESET, 0);
	/* the bdev reset aborts the held I/O */
	ut_poll_threads();
	assert_int_equal(g_bdev->resets, 1);
	assert_int_equal(g_tmf_done, 1);
	assert_int_equal(g_tmf.tmf_response, SCSI_TMF_RESP_COMPLETE);
	assert_int_equal(c1.done, 1);
	assert_int_equal(c2.done, 1);
	assert_int_equal(c1.task.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(c2.task.status, SCSI_STATUS_TASK_ABORTED);
	g_bdev->hold = false;
	ut_assert_sense(ut_exec_port(&g_port, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x03);
	ut_assert_sense(ut_exec_port(&g_port2, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x03);
	/* LUN 1 was not reset */
	ut_assert_good(ut_exec_port(&g_port, 1, g_tur, 6, SCSI_DIR_NONE, NULL, 0));
	/* idle reset: no bdev reset */
	ut_tmf_start(&g_port, 0, SCSI_TMF_LUN_RESET, 0);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 1);
	assert_int_equal(g_bdev->resets, 1);
	/* reset fails to submit: the aborted I/O is still waited for */
	ut_clear_ua(&g_port, 0);
	g_bdev->hold = true;
	ut_cmd_start(&c1, &g_port, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf, 512);
	fake_bdev_submit_fail_next(g_bdev, -ENOMEM, 1);
	ut_tmf_start(&g_port, 0, SCSI_TMF_LUN_RESET, 0);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 0);
	fake_bdev_complete(g_bdev, 0);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 1);
	assert_int_equal(c1.task.status, SCSI_STATUS_TASK_ABORTED);
}

static void
test_tmf_target_and_nexus_reset(void **state)
{
	struct ut_cmd c1, c2;
	uint8_t rd[10];

	g_bdev->hold = true;
	cdb_rw10(rd, SBC_READ_10, 0, 1);
	ut_cmd_start(&c1, &g_port, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf, 512);
	ut_cmd_start(&c2, &g_port2, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf, 512);
	ut_tmf_start(&g_port2, 0, SCSI_TMF_I_T_NEXUS_RESET, 0);
	fake_bdev_complete(g_bdev, 0);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 1);
	ut_assert_good(&c1.task);
	assert_int_equal(c2.task.status, SCSI_STATUS_TASK_ABORTED);
	g_bdev->hold = false;
	ut_assert_sense(ut_exec_port(&g_port2, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x07);
	ut_assert_sense(ut_exec_port(&g_port2, 1, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x07);
	ut_assert_good(ut_exec_port(&g_port, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0));
	/* TARGET RESET: every LUN */
	ut_tmf_start(&g_port, 5, SCSI_TMF_TARGET_RESET, 0);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 1);
	ut_assert_sense(ut_exec_port(&g_port, 0, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x03);
	ut_assert_sense(ut_exec_port(&g_port, 1, g_tur, 6, SCSI_DIR_NONE, NULL, 0),
			SCSI_SENSE_UNIT_ATTENTION, 0x29, 0x03);
}

static void
test_tmf_errors(void **state)
{
	static const enum scsi_tmf lun_fns[] = {SCSI_TMF_ABORT_TASK, SCSI_TMF_ABORT_TASK_SET,
						SCSI_TMF_CLEAR_TASK_SET, SCSI_TMF_LUN_RESET,
						SCSI_TMF_QUERY_TASK};
	size_t i;

	for (i = 0; i < VHD_COUNTOF(lun_fns); i++) {
		ut_tmf_start(&g_port, 9, lun_fns[i], 0);
		ut_poll_threads();
		assert_int_equal(g_tmf_done, 1);
		assert_int_equal(g_tmf.tmf_response, SCSI_TMF_RESP_INVALID_LUN);
	}
	ut_tmf_start(&g_port, 0, (enum scsi_tmf)99, 0);
	ut_poll_threads();
	assert_int_equal(g_tmf.tmf_response, SCSI_TMF_RESP_REJECTED);
	ut_tmf_start(NULL, 0, SCSI_TMF_I_T_NEXUS_RESET, 0);
	ut_poll_threads();
	assert_int_equal(g_tmf.tmf_response, SCSI_TMF_RESP_FAILED);
}

static void
test_tmf_abort_io_wait(void **state)
{
	struct ut_cmd c1;
	uint8_t rd[10];

	cdb_rw10(rd, SBC_READ_10, 0, 1);
	fake_bdev_submit_fail_next(g_bdev, -ENOMEM, 1);
	ut_cmd_start(&c1, &g_port, 0, rd, 10, SCSI_DIR_FROM_DEV, g_buf, 512);
	ut_poll_threads();
	ut_tmf_start(&g_port, 0, SCSI_TMF_ABORT_TASK, c1.task.tag);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 0);
	fake_bdev_run_io_wait(g_bdev);
	ut_poll_threads();
	assert_int_equal(g_tmf_done, 1);
	assert_int_equal(c1.done, 1);
	assert_int_equal(c1.task.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_READ], 0);
}

/* ---- COMPARE AND WRITE range lock ---- */

static void
caw_cdb(uint8_t *cdb, uint64_t lba, uint8_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = SBC_COMPARE_AND_WRITE;
	scsi_put64(&cdb[2], lba);
	cdb[13] = n;
}

static void
test_caw_range_lock(void **state)
{
	static uint8_t cawbuf[1024], wbuf[512], rbuf[512], rbuf2[512];
	struct ut_cmd w, caw, r_same, r_other, w2;
	uint8_t cdb[16];

	memset(g_bdev->data + 10 * 512, 0xaa, 512);
	memset(cawbuf, 0xaa, 512);
	memset(cawbuf + 512, 0xbb, 512);
	memset(wbuf, 0xaa, 512);
	g_bdev->hold = true;
	/* a write in flight on LBA 10 */
	cdb_rw10(cdb, SBC_WRITE_10, 10, 1);
	ut_cmd_start(&w, &g_port, 0, cdb, 10, SCSI_DIR_TO_DEV, wbuf, 512);
	/* CAW on LBA 10 waits for it */
	caw_cdb(cdb, 10, 1);
	ut_cmd_start(&caw, &g_port, 0, cdb, 16, SCSI_DIR_TO_DEV, cawbuf, 1024);
	/* a read of LBA 10 queued after the CAW waits behind it */
	cdb_rw10(cdb, SBC_READ_10, 10, 1);
	ut_cmd_start(&r_same, &g_port2, 0, cdb, 10, SCSI_DIR_FROM_DEV, rbuf, 512);
	/* other LBAs are not held up */
	cdb_rw10(cdb, SBC_READ_10, 100, 1);
	ut_cmd_start(&r_other, &g_port2, 0, cdb, 10, SCSI_DIR_FROM_DEV, rbuf2, 512);
	ut_poll_threads();
	assert_int_equal(g_bdev->num_pending, 2);	/* write + far read */
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_READ], 1);
	/* write done: CAW's read goes */
	fake_bdev_complete(g_bdev, 1);
	ut_poll_threads();
	assert_int_equal(w.done, 1);
	assert_int_equal(g_bdev->num_pending, 2);	/* far read + CAW read */
	/* a write on the range now also waits (CAW holds it) */
	cdb_rw10(cdb, SBC_WRITE_10, 10, 1);
	ut_cmd_start(&w2, &g_port2, 0, cdb, 10, SCSI_DIR_TO_DEV, wbuf, 512);
	ut_poll_threads();
	assert_int_equal(g_bdev->num_pending, 2);
	fake_bdev_complete(g_bdev, 2);	/* far read, CAW read -> CAW write */
	ut_poll_threads();
	assert_int_equal(r_other.done, 1);
	assert_int_equal(g_bdev->num_pending, 1);	/* CAW write only */
	assert_int_equal(r_same.done, 0);
	fake_bdev_complete(g_bdev, 1);	/* CAW done -> read and write admitted */
	ut_poll_threads();
	assert_int_equal(caw.done, 1);
	ut_assert_good(&caw.task);
	assert_int_equal(g_bdev->num_pending, 2);
	fake_bdev_complete(g_bdev, 0);
	ut_poll_threads();
	assert_int_equal(r_same.done, 1);
	assert_int_equal(w2.done, 1);
	assert_int_equal(rbuf[0], 0xbb);	/* saw the CAW's data, not a torn state */
	assert_int_equal(g_bdev->data[10 * 512], 0xaa);	/* w2 came last */
}

static void
test_caw_blocked_abort(void **state)
{
	static uint8_t cawbuf[1024], wbuf[512];
	struct ut_cmd w, caw;
	uint8_t cdb[16];

	g_bdev->hold = true;
	cdb_rw10(cdb, SBC_WRITE_10, 10, 1);
	ut_cmd_start(&w, &g_port, 0, cdb, 10, SCSI_DIR_TO_DEV, wbuf, 512);
	caw_cdb(cdb, 10, 1);
	ut_cmd_start(&caw, &g_port, 0, cdb, 16, SCSI_DIR_TO_DEV, cawbuf, 1024);
	ut_poll_threads();
	/* the blocked CAW never reached the bdev: abort is immediate */
	ut_tmf_start(&g_port, 0, SCSI_TMF_ABORT_TASK, caw.task.tag);
	assert_int_equal(caw.done, 0);	/* deferred, not inside the TMF call */
	ut_poll_threads();
	assert_int_equal(caw.done, 1);
	assert_int_equal(caw.task.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(g_tmf_done, 1);
	fake_bdev_complete(g_bdev, 0);
	ut_poll_threads();
	assert_int_equal(w.done, 1);
	assert_int_equal(g_bdev->submitted[BDEV_IO_TYPE_READ], 0);
	/* lock released: a new CAW runs at once */
	memset(cawbuf, 0, 512);
	memset(g_bdev->data + 10 * 512, 0, 512);
	g_bdev->hold = false;
	ut_assert_good(ut_exec(cdb, 16, SCSI_DIR_TO_DEV, cawbuf, 1024));
}

/* ---- LUN id helpers ---- */

static void
test_lun_id_codec(void **state)
{
	uint8_t l[8];
	uint32_t id;
	const uint8_t virtio[8] = {1, 2, 0x40, 0x05, 0, 0, 0, 0};
	const uint8_t virtio_big[8] = {1, 2, 0x41, 0x05, 0, 0, 0, 0};

	scsi_lun_id_encode(5, l);
	assert_memory_equal(l, ((uint8_t[8]){0, 5, 0, 0, 0, 0, 0, 0}), 8);
	assert_int_equal(scsi_lun_id_decode(l, 8, &id), 0);
	assert_int_equal(id, 5);
	scsi_lun_id_encode(300, l);
	assert_memory_equal(l, ((uint8_t[8]){0x41, 0x2c, 0, 0, 0, 0, 0, 0}), 8);
	assert_int_equal(scsi_lun_id_decode(l, 8, &id), 0);
	assert_int_equal(id, 300);
	assert_int_equal(scsi_lun_id_decode(&virtio[2], 6, &id), 0);
	assert_int_equal(id, 5);
	assert_int_equal(scsi_lun_id_decode(&virtio_big[2], 6, &id), 0);
	assert_int_equal(id, 0x105);
	l[0] = 0x80;	/* logical unit addressing */
	assert_int_equal(scsi_lun_id_decode(l, 8, &id), -EINVAL);
	l[0] = 0x01;	/* peripheral with a bus number */
	assert_int_equal(scsi_lun_id_decode(l, 8, &id), -EINVAL);
	l[0] = 0;
	l[2] = 1;	/* second level */
	assert_int_equal(scsi_lun_id_decode(l, 8, &id), -EINVAL);
	assert_int_equal(scsi_lun_id_decode(l, 1, &id), -EINVAL);
	assert_int_equal(scsi_lun_id_decode(NULL, 8, &id), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		UT_TEST(test_dev_create_errors),
		UT_TEST(test_dev_bad_pr_file),
		UT_TEST(test_completion_deferred),
		UT_TEST(test_null_lun),
		UT_TEST(test_ua_power_on_per_nexus),
		UT_TEST(test_ua_luns_changed),
		UT_TEST(test_resize),
		UT_TEST(test_hot_remove_bdev_event),
		UT_TEST(test_remove_lun_waits_for_io),
		UT_TEST(test_remove_remove_event_and_destroy_race),
		UT_TEST(test_destroy_with_io_in_flight),
		UT_TEST(test_tmf_abort_task_in_flight),
		UT_TEST(test_tmf_abort_task_set_and_clear),
		UT_TEST(test_tmf_lun_reset),
		UT_TEST(test_tmf_target_and_nexus_reset),
		UT_TEST(test_tmf_errors),
		UT_TEST(test_tmf_abort_io_wait),
		UT_TEST(test_caw_range_lock),
		UT_TEST(test_caw_blocked_abort),
		UT_TEST(test_lun_id_codec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
