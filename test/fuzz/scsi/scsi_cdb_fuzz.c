/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: CDBs + data-out into a lib/scsi target backed by the
 * in-memory fake bdev, polled to completion. Each input is a sequence of up
 * to 8 records against one fresh device (so PR and mode state carry between
 * the records of one input, never between inputs):
 *
 *   byte 0      bits 0-1 direction (0 none, 1 data-out, 2-3 data-in)
 *               bit 2 second initiator, bits 3-4 LUN (0, 1 read-only, 2-3 absent)
 *               bit 5 hold the bdev I/O and send a TMF (bits 6-7: which) first
 *   byte 1      CDB length (mod 33)
 *   bytes 2-3   buffer length, little endian (<= 64 KiB)
 *   bytes 4-35  CDB
 *   rest        data-out bytes for this record (as many as the buffer length takes)
 *
 * Checked invariants: every task and TMF completes exactly once; status is
 * a SAM status; data_transferred <= transfer_len; residual is consistent;
 * sense length fits the buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_bdev.h"
#include "vhostd/log.h"
#include "vhostd/scsi.h"
#include "vhostd/thread.h"

#define REC_HDR		36
#define MAX_BUF		65536

static struct thread *g_thread;
static struct bdev *g_bdev, *g_bdev_ro;
static uint8_t g_buf[MAX_BUF];

struct fuzz_cmd {
	struct scsi_task	task;
	struct iovec		iov[2];
	int			done;
};

static void
poll_all(void)
{
	int i;

	for (i = 0; i < 100000; i++) {
		if (thread_poll(g_thread, 0) != POLLER_BUSY && !thread_has_msgs(g_thread)) {
			return;
		}
	}
	abort();	/* something never settles */
}

static void
task_cb(struct scsi_task *task, void *arg)
{
	struct fuzz_cmd *c = arg;

	c->done++;
}

static void
tmf_cb(struct scsi_task *task, void *arg)
{
	int *done = arg;

	(*done)++;
}

static void
dev_done(void *arg, int rc)
{
	*(int *)arg = 1;
}

static void
check_task(const struct scsi_task *t)
{
	switch (t->status) {
	case SCSI_STATUS_GOOD:
	case SCSI_STATUS_CHECK_CONDITION:
	case SCSI_STATUS_RESERVATION_CONFLICT:
	case SCSI_STATUS_TASK_ABORTED:
		break;
	default:
		abort();
	}
	if (t->data_transferred > t->transfer_len || t->sense_len > SCSI_SENSE_BUF_SIZE ||
	    t->residual != t->transfer_len - t->data_transferred) {
		abort();
	}
	if ((t->status == SCSI_STATUS_CHECK_CONDITION) != (t->sense_len != 0)) {
		abort();
	}
}

static void
fuzz_init(void)
{
	static int inited;

	if (inited) {
		return;
	}
	inited = 1;
	log_set_level(LOG_LEVEL_ERROR);
	if (thread_lib_init() != 0) {
		abort();
	}
	g_thread = thread_create("fuzz", NULL);
	if (g_thread == NULL) {
		abort();
	}
	thread_set_current(g_thread);
	g_bdev = fake_bdev_create("Fuzz0", 512, 4096);
	g_bdev_ro = fake_bdev_create("Fuzz1", 4096, 256);
	g_bdev->max_unmap = 64;
	g_bdev->max_write_zeroes = 100;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scsi_lun_opts o = {.lun_id = 0, .bdev_name = "Fuzz0"};
	struct scsi_port ports[2];
	struct scsi_dev *dev;
	struct fuzz_cmd c;
	struct scsi_task tmf;
	int rec, done = 0, tmf_done;
	size_t off = 0;

	fuzz_init();
	thread_set_current(g_thread);
	if (scsi_dev_create("fuzz", 0, NULL, NULL, &dev) != 0 || scsi_dev_add_lun(dev, &o) != 0) {
		abort();
	}
	o.lun_id = 1;
	o.bdev_name = "Fuzz1";
	o.read_only = true;
	if (scsi_dev_add_lun(dev, &o) != 0) {
		abort();
	}
	scsi_port_init(&ports[0], 1, "fuzz.host1");
	scsi_port_init(&ports[1], 2, "fuzz.host2");

	for (rec = 0; rec < 8 && size - off >= REC_HDR; rec++) {
		const uint8_t *h = data + off;
		uint8_t flags = h[0];
		uint32_t len = (uint32_t)h[2] | ((uint32_t)h[3] << 8);
		uint8_t dir = flags & 3;
		size_t dlen;

		off += REC_HDR;
		memset(g_buf, 0, len);
		if (dir == 1) {
			dlen = size - off < len ? size - off : len;
			memcpy(g_buf, data + off, dlen);
			off += dlen;
		}
		memset(&c, 0, sizeof(c));
		scsi_task_init(&c.task, task_cb, &c);
		memcpy(c.task.cdb, h + 4, 32);
		c.task.cdb_len = h[1] % 33;
		c.task.dxfer_dir = dir == 0 ? SCSI_DIR_NONE :
				   dir == 1 ? SCSI_DIR_TO_DEV : SCSI_DIR_FROM_DEV;
		/* two iovecs to exercise splitting */
		c.iov[0].iov_base = g_buf;
		c.iov[0].iov_len = len / 3;
		c.iov[1].iov_base = g_buf + len / 3;
		c.iov[1].iov_len = len - len / 3;
		c.task.iovs = c.iov;
		c.task.iovcnt = 2;
		c.task.transfer_len = len;
		c.task.lun_id = (flags >> 3) & 3;
		c.task.tag = rec + 1;
		c.task.initiator_port = &ports[(flags >> 2) & 1];
		g_bdev->hold = (flags & 0x20) != 0;
		g_bdev_ro->hold = g_bdev->hold;
		scsi_dev_queue_task(dev, &c.task);
		if (c.done != 0) {
			abort();	/* completed inside the queue call */
		}
		if (flags & 0x20) {
			static const enum scsi_tmf fns[4] = {SCSI_TMF_ABORT_TASK,
							     SCSI_TMF_LUN_RESET,
							     SCSI_TMF_I_T_NEXUS_RESET,
							     SCSI_TMF_CLEAR_TASK_SET};

			poll_all();
			tmf_done = 0;
			scsi_task_init(&tmf, tmf_cb, &tmf_done);
			tmf.initiator_port = c.task.initiator_port;
			tmf.lun_id = c.task.lun_id;
			tmf.tmf_function = fns[flags >> 6];
			tmf.tmf_tag = c.task.tag;
			scsi_dev_queue_mgmt_task(dev, &tmf);
			poll_all();
			g_bdev->hold = false;
			g_bdev_ro->hold = false;
			fake_bdev_complete(g_bdev, 0);
			fake_bdev_complete(g_bdev_ro, 0);
			poll_all();
			if (tmf_done != 1) {
				abort();
			}
		}
		poll_all();
		/* anything still held (e.g. a multi-step command) */
		while (fake_bdev_complete(g_bdev, 0) + fake_bdev_complete(g_bdev_ro, 0) != 0) {
			poll_all();
		}
		if (c.done != 1) {
			abort();
		}
		check_task(&c.task);
	}
	g_bdev->hold = false;
	scsi_dev_destroy(dev, dev_done, &done);
	poll_all();
	if (!done || g_bdev->open_count != 0) {
		abort();
	}
	return 0;
}
