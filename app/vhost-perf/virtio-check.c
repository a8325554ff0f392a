/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-check: conformance and hostile-guest checks of a vhost-user-blk
 * backend, built on lib/virtio's request and raw ring APIs.
 *
 * Each check opens its own connection with three guest memory regions and
 * gaps between them (0: 8 MiB at 0, 1: 1 MiB at 1 GiB, 2: 1 MiB at 2 GiB).
 * Conformance checks use the request API. Hostile checks write bad
 * descriptors straight into the ring, kick, and classify what the backend
 * did: completed (with which status), dropped, disconnected, or marked
 * the device NEEDS_RESET. A hostile check fails when the backend reports
 * success for an invalid request, when another queue of the same device
 * stops serving (unless the device was marked broken or disconnected), or
 * when the daemon no longer serves a fresh connection.
 *
 * Packed-only checks write descriptors with bad AVAIL/USED (wrap) bits and
 * bad buffer ids. With --scsi the device is a vhost-user-scsi controller
 * (target --target, LUN 0): SCSI conformance plus hostile virtio-scsi
 * requests (header sizes, LUN format, CDB length, read-only buffers).
 *
 *   virtio-check -s SOCK [--packed] [--scsi [--target N]] [--only REGEX] [--list]
 *                [--timeout-ms N]
 * exit: 0 all passed, 1 a check failed, 2 usage, 3 cannot connect at all.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhostd/log.h"
#include "vhostd/util.h"
#include "vhostd/virtio.h"

#define R1_GPA (1ull << 30)
#define R2_GPA (2ull << 30)
#define R_SIZE (1ull << 20)
#define QSIZE 64

struct ctx {
	struct virtio_dev	*dev;
	struct virtio_mem	*mem;
	struct virtio_vq	*vq;
	uint64_t		cap_sectors;
	uint32_t		blk_size;
	char			msg[512];
};

struct chain_desc {
	uint64_t	addr;
	uint32_t	len;
	uint16_t	flags;
	uint16_t	next;
};

enum outcome { OUT_COMPLETED, OUT_DROPPED, OUT_DISCONNECTED, OUT_NEEDS_RESET };

static const char *g_sock;
static uint64_t g_status_gpa;	/* status byte of the last request built */
static uint8_t *g_ro_buf;	/* a buffer the device must not write, or NULL */
static uint32_t g_ro_len = 512;	/* its length (filled with 0x5c) */
static bool g_packed;
static bool g_scsi;
static uint8_t g_target;
static uint32_t g_timeout_ms = 2000;

static int
ctx_open(struct ctx *c)
{
	struct virtio_dev_opts o = {
		.socket_path = g_sock, .type = g_scsi ? VIRTIO_DEV_SCSI : VIRTIO_DEV_BLK,
		.timeout_ms = g_timeout_ms,
		.packed = g_packed, .queue_size = QSIZE, .nregions = 3,
		.regions = {{0, 8ull << 20}, {R1_GPA, R_SIZE}, {R2_GPA, R_SIZE}},
	};
	struct virtio_blk_config cfg = {0};
	struct virtio_dev *probe;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = virtio_dev_connect(&o, &probe);
	if (rc != 0) {
		return rc;
	}
	if (g_scsi) {
		/* controlq, eventq, one or two request queues */
		if (virtio_dev_max_queues(probe) < 3) {
			virtio_dev_destroy(probe);
			return -ENOTSUP;
		}
		o.num_queues = virtio_dev_max_queues(probe) >= 4 ? 4 : 3;
	} else {
		o.num_queues = virtio_dev_max_queues(probe) >= 2 ? 2 : 1;
	}
	virtio_dev_destroy(probe);
	rc = virtio_dev_open(&o, &c->dev);
	if (rc != 0) {
		return rc;
	}
	c->mem = virtio_dev_mem(c->dev);
	c->vq = virtio_dev_vq(c->dev, g_scsi ? 2 : 0);
	if (g_scsi) {
		c->blk_size = 512;
		return 0;
	}
	rc = virtio_dev_get_config(c->dev, &cfg, 0, 60);
	if (rc != 0) {
		virtio_dev_destroy(c->dev);
		c->dev = NULL;
		return rc;
	}
	c->cap_sectors = cfg.capacity;
	c->blk_size = virtio_dev_has_feature(c->dev, VIRTIO_BLK_F_BLK_SIZE) ? cfg.blk_size : 512;
	return 0;
}

static void
ctx_close(struct ctx *c)
{
	virtio_dev_destroy(c->dev);
	c->dev = NULL;
}

static uint64_t
gpa_of(struct ctx *c, const void *p)
{
	uint64_t gpa = 0;

	virtio_mem_hva_to_gpa(c->mem, p, &gpa);
	return gpa;
}

/* ---- synchronous request helper ---- */

struct sync_req {
	bool	done;
	int	status;
	uint32_t len;
};

static void
sync_cb(void *arg, const struct virtio_req_result *res)
{
	struct sync_req *s = arg;

	s->done = true;
	s->status = res->status;
	s->len = res->used_len;
}

static int
wait_done(struct virtio_vq *vq, const bool *done)
{
	int rc;

	virtio_vq_notify(vq);
	while (!*done) {
		rc = virtio_vq_wait(vq, g_timeout_ms);
		if (rc != 0) {
			return rc;
		}
		virtio_vq_process(vq, 16);
	}
	return 0;
}

static int
sync_wait(struct virtio_vq *vq, struct sync_req *s)
{
	return wait_done(vq, &s->done);
}

/* ---- synchronous SCSI command (LUN 0 of `target`) ---- */

struct scsi_sync {
	bool		done;
	int		response;	/* VIRTIO_SCSI_S_* or -errno */
	uint8_t		status;		/* SCSI status */
	uint32_t	resid;
};

static void
scsi_sync_cb(void *arg, const struct virtio_req_result *res)
{
	struct scsi_sync *s = arg;

	s->done = true;
	s->response = res->status;
	if (res->scsi != NULL) {
		s->status = res->scsi->status;
		s->resid = res->scsi->resid;
	}
}

static int
scsi_cmd(struct virtio_vq *vq, uint8_t target, const uint8_t *cdb, uint32_t cdb_len,
	 struct iovec *iov, int iovcnt, bool to_dev, struct scsi_sync *s)
{
	int rc;

	memset(s, 0, sizeof(*s));
	rc = virtio_scsi_submit(vq, target, 0, cdb, cdb_len, iov, iovcnt, to_dev, scsi_sync_cb, s);
	if (rc == 0) {
		rc = wait_done(vq, &s->done);
	}
	return rc;
}

/* A command the device served: TEST UNIT READY answered with response OK. */
static int
scsi_served(struct virtio_vq *vq)
{
	uint8_t tur[6] = {0};
	struct scsi_sync s;
	int rc = scsi_cmd(vq, g_target, tur, sizeof(tur), NULL, 0, false, &s);

	if (rc == 0 && s.response != VIRTIO_SCSI_S_OK) {
		rc = -EIO;
	}
	return rc;
}

static int
blk_io(struct virtio_vq *vq, uint32_t type, uint64_t sector, struct iovec *iov, int iovcnt,
       int *status)
{
	struct sync_req s = {0};
	int rc;

	rc = virtio_blk_submit(vq, type, sector, iov, iovcnt, sync_cb, &s);
	if (rc == 0) {
		rc = sync_wait(vq, &s);
	}
	*status = s.status;
	return rc;
}

static int
blk_range(struct virtio_vq *vq, uint32_t type, uint64_t sector, uint32_t n, uint32_t flags,
	  int *status)
{
	struct sync_req s = {0};
	int rc;

	rc = virtio_blk_submit_range(vq, type, sector, n, flags, sync_cb, &s);
	if (rc == 0) {
		rc = sync_wait(vq, &s);
	}
	*status = s.status;
	return rc;
}

#define CHECK(cond, ...)                                                                          \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			snprintf(c->msg, sizeof(c->msg), __VA_ARGS__);                            \
			return 1;                                                                 \
		}                                                                                 \
	} while (0)

/* ---- conformance ---- */

static int
chk_config(struct ctx *c)
{
	CHECK(c->cap_sectors > 0, "capacity 0");
	CHECK(c->blk_size >= 512 && VHD_IS_POW2(c->blk_size), "blk_size %u", c->blk_size);
	CHECK(virtio_dev_has_feature(c->dev, VIRTIO_F_VERSION_1), "no VERSION_1");
	snprintf(c->msg, sizeof(c->msg), "capacity %" PRIu64 " sectors, blk_size %u, %u queues",
		 c->cap_sectors, c->blk_size, virtio_dev_max_queues(c->dev));
	return 0;
}

/* Write and read back across region edges: the data spans the end of region 1 and the
 * start of region 2 as two iovs, at the first and the last 4 KiB of the disk. */
static int
chk_rw_region_edges(struct ctx *c)
{
	uint8_t *a = virtio_mem_gpa_to_hva(c->mem, R1_GPA + R_SIZE - 2048, 2048);
	uint8_t *b = virtio_mem_gpa_to_hva(c->mem, R2_GPA, 2048);
	uint64_t sectors[2] = {0, c->cap_sectors - 8};
	struct iovec iov[2] = {{a, 2048}, {b, 2048}};
	int st, rc, i, j;

	CHECK(a && b, "edge buffers");
	if (virtio_dev_has_feature(c->dev, VIRTIO_BLK_F_RO)) {
		snprintf(c->msg, sizeof(c->msg), "read-only device: write skipped");
		return 0;
	}
	for (i = 0; i < 2; i++) {
		for (j = 0; j < 2048; j++) {
			a[j] = (uint8_t)(j * 7 + i);
			b[j] = (uint8_t)(j * 13 + i);
		}
		rc = blk_io(c->vq, VIRTIO_BLK_T_OUT, sectors[i], iov, 2, &st);
		CHECK(rc == 0 && st == VIRTIO_BLK_S_OK, "write sector %" PRIu64 ": rc %d status %d",
		      sectors[i], rc, st);
		memset(a, 0, 2048);
		memset(b, 0, 2048);
		rc = blk_io(c->vq, VIRTIO_BLK_T_IN, sectors[i], iov, 2, &st);
		CHECK(rc == 0 && st == VIRTIO_BLK_S_OK, "read sector %" PRIu64 ": rc %d status %d",
		      sectors[i], rc, st);
		for (j = 0; j < 2048; j++) {
			CHECK(a[j] == (uint8_t)(j * 7 + i) && b[j] == (uint8_t)(j * 13 + i),
			      "sector %" PRIu64 ": data differs at byte %d", sectors[i], j);
		}
	}
	return 0;
}

static int
chk_flush(struct ctx *c)
{
	int st, rc = blk_io(c->vq, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &st);

	CHECK(rc == 0, "flush: %s", strerror(-rc));
	if (virtio_dev_has_feature(c->dev, VIRTIO_BLK_F_FLUSH)) {
		CHECK(st == VIRTIO_BLK_S_OK, "flush with F_FLUSH: status %d", st);
	} else {
		CHECK(st == VIRTIO_BLK_S_OK || st == VIRTIO_BLK_S_UNSUPP, "flush: status %d", st);
	}
	return 0;
}

static int
chk_get_id(struct ctx *c)
{
	uint8_t *id = virtio_mem_alloc(c->mem, 20, 64);
	struct iovec iov = {id, 20};
	int st, rc;

	memset(id, 0xff, 20);
	rc = blk_io(c->vq, VIRTIO_BLK_T_GET_ID, 0, &iov, 1, &st);
	CHECK(rc == 0, "get_id: %s", strerror(-rc));
	CHECK(st == VIRTIO_BLK_S_OK || st == VIRTIO_BLK_S_UNSUPP, "get_id: status %d", st);
	snprintf(c->msg, sizeof(c->msg), "status %d id \"%.20s\"", st, st == 0 ? (char *)id : "");
	return 0;
}

static int
chk_discard_write_zeroes(struct ctx *c)
{
	uint8_t *d = virtio_mem_alloc(c->mem, 4096, 4096);
	struct iovec iov = {d, 4096};
	int st, rc, j;

	if (virtio_dev_has_feature(c->dev, VIRTIO_BLK_F_DISCARD)) {
		rc = blk_range(c->vq, VIRTIO_BLK_T_DISCARD, 64, 8, 0, &st);
		CHECK(rc == 0 && st == VIRTIO_BLK_S_OK, "discard: rc %d status %d", rc, st);
	}
	if (!virtio_dev_has_feature(c->dev, VIRTIO_BLK_F_WRITE_ZEROES) ||
	    virtio_dev_has_feature(c->dev, VIRTIO_BLK_F_RO)) {
		snprintf(c->msg, sizeof(c->msg), "no WRITE_ZEROES offered");
		return 0;
	}
	memset(d, 0x77, 4096);
	rc = blk_io(c->vq, VIRTIO_BLK_T_OUT, 128, &iov, 1, &st);
	CHECK(rc == 0 && st == 0, "write: rc %d status %d", rc, st);
	rc = blk_range(c->vq, VIRTIO_BLK_T_WRITE_ZEROES, 128, 8, 0, &st);
	CHECK(rc == 0 && st == 0, "write_zeroes: rc %d status %d", rc, st);
	rc = blk_io(c->vq, VIRTIO_BLK_T_IN, 128, &iov, 1, &st);
	CHECK(rc == 0 && st == 0, "read: rc %d status %d", rc, st);
	for (j = 0; j < 4096; j++) {
		CHECK(d[j] == 0, "byte %d is 0x%02x after WRITE_ZEROES", j, d[j]);
	}
	return 0;
}

static int
chk_out_of_range(struct ctx *c)
{
	uint8_t *d = virtio_mem_alloc(c->mem, 4096, 4096);
	struct iovec iov = {d, 4096};
	int st, rc;

	rc = blk_io(c->vq, VIRTIO_BLK_T_IN, c->cap_sectors, &iov, 1, &st);
	CHECK(rc == 0 && st == VIRTIO_BLK_S_IOERR, "read at capacity: rc %d status %d", rc, st);
	rc = blk_io(c->vq, VIRTIO_BLK_T_IN, c->cap_sectors - 4, &iov, 1, &st);
	CHECK(rc == 0 && st == VIRTIO_BLK_S_IOERR, "read across the end: rc %d status %d", rc, st);
	rc = blk_io(c->vq, VIRTIO_BLK_T_IN, UINT64_MAX - 3, &iov, 1, &st);
	CHECK(rc == 0 && st == VIRTIO_BLK_S_IOERR, "read at sector 2^64-4: rc %d status %d", rc,
	      st);
	return 0;
}

static int
chk_unknown_type(struct ctx *c)
{
	int st, rc = blk_io(c->vq, 0x55, 0, NULL, 0, &st);

	CHECK(rc == 0 && st == VIRTIO_BLK_S_UNSUPP, "type 0x55: rc %d status %d", rc, st);
	return 0;
}

/* ---- hostile ---- */

struct bufs {
	struct virtio_blk_outhdr	*hdr;
	uint8_t				*data;
	uint8_t				*status;
	uint64_t			hdr_gpa, data_gpa, status_gpa;
};

static void
bufs_init(struct ctx *c, struct bufs *b, uint32_t type)
{
	b->hdr = virtio_mem_alloc(c->mem, 64, 64);
	b->data = virtio_mem_alloc(c->mem, 4096, 4096);
	b->status = virtio_mem_alloc(c->mem, 64, 64);
	b->hdr->type = type;
	b->hdr->ioprio = 0;
	b->hdr->sector = 0;
	memset(b->data, 0x5c, 4096);
	*b->status = 0xee;
	b->hdr_gpa = gpa_of(c, b->hdr);
	b->data_gpa = gpa_of(c, b->data);
	b->status_gpa = gpa_of(c, b->status);
	g_status_gpa = b->status_gpa;
}

/* Put `n` descriptors in the ring (split: at table slots 0..n-1, head 0) and kick. */
static int
push_chain(struct ctx *c, const struct chain_desc *d, uint16_t n, uint16_t head)
{
	uint16_t i;

	if (virtio_vq_is_packed(c->vq)) {
		struct vring_packed_desc pd[QSIZE];

		if (n > QSIZE) {
			return -EINVAL;
		}
		for (i = 0; i < n; i++) {
			pd[i] = (struct vring_packed_desc){.addr = d[i].addr, .len = d[i].len,
							   .id = 0, .flags = d[i].flags};
		}
		virtio_vq_raw_packed_push(c->vq, pd, n);
	} else {
		for (i = 0; i < n; i++) {
			virtio_vq_raw_split_desc(c->vq, i, d[i].addr, d[i].len, d[i].flags, d[i].next);
		}
		virtio_vq_raw_split_avail(c->vq, head);
	}
	virtio_vq_raw_kick(c->vq);
	return 0;
}

static enum outcome
await(struct ctx *c, uint32_t *id, uint32_t *len)
{
	uint64_t end = util_now_us() + 1000ull * 1000;
	uint8_t status;

	for (;;) {
		if (virtio_vq_raw_get_used(c->vq, id, len) == 0) {
			return OUT_COMPLETED;
		}
		if (!virtio_dev_is_connected(c->dev)) {
			return OUT_DISCONNECTED;
		}
		if (util_now_us() >= end) {
			break;
		}
		virtio_vq_wait(c->vq, 20);
	}
	if (virtio_dev_get_status(c->dev, &status) == 0 && (status & VIRTIO_DEV_STATUS_NEEDS_RESET)) {
		return OUT_NEEDS_RESET;
	}
	return virtio_dev_is_connected(c->dev) ? OUT_DROPPED : OUT_DISCONNECTED;
}

/* A valid read on queue 1 of the same device, if there is one. */
static int
other_queue_ok(struct ctx *c, char *note, size_t len)
{
	struct virtio_vq *q1 = virtio_dev_vq(c->dev, g_scsi ? 3 : 1);
	uint8_t *d;
	struct iovec iov;
	int st, rc;

	if (q1 == NULL) {
		snprintf(note, len, "; single queue");
		return 0;
	}
	if (g_scsi) {
		rc = scsi_served(q1);
		if (rc != 0) {
			snprintf(note, len, "; request queue 1 stopped serving (%s)", strerror(-rc));
			return 1;
		}
		snprintf(note, len, "; request queue 1 ok");
		return 0;
	}
	d = virtio_mem_alloc(c->mem, 4096, 4096);
	iov = (struct iovec){d, 4096};
	rc = blk_io(q1, VIRTIO_BLK_T_IN, 0, &iov, 1, &st);
	if (rc != 0 || st != 0) {
		snprintf(note, len, "; queue 1 stopped serving (rc %d status %d)", rc, st);
		return 1;
	}
	snprintf(note, len, "; queue 1 ok");
	return 0;
}

typedef int (*build_fn)(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head);
/* A whole check of its own (several chains, fix-ups): 0 pass, 1 fail; sets the outcome. */
typedef int (*custom_fn)(struct ctx *c, char *msg, size_t len, enum outcome *o);

struct hostile {
	const char	*name;
	build_fn	build;
	bool		split_only;
	bool		ok_allowed;	/* a success status is legitimate too */
	bool		packed_only;
	custom_fn	custom;
};

/* What the status buffer at g_status_gpa holds. */
enum status_kind { ST_BLK, ST_SCSI_CMD, ST_SCSI_CTRL };
static enum status_kind g_status_kind;
static uint8_t g_ro_pat = 0x5c;	/* what g_ro_buf holds */
static bool g_resid_ok;		/* scsi: success is fine if nothing was transferred (resid) */

static int
h_head_out_of_range(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;

	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	d[0] = (struct chain_desc){b.hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
	d[1] = (struct chain_desc){b.status_gpa, 1, VRING_DESC_F_WRITE, 0};
	*n = 2;
	*head = QSIZE + 3;
	return 0;
}

static int
h_next_out_of_range(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;

	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	d[0] = (struct chain_desc){b.hdr_gpa, 16, VRING_DESC_F_NEXT, QSIZE + 10};
	*n = 1;
	return 0;
}

static int
h_desc_loop(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;

	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	d[0] = (struct chain_desc){b.hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
	d[1] = (struct chain_desc){b.data_gpa, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2};
	d[2] = (struct chain_desc){b.data_gpa + 512, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1};
	*n = 3;
	return 0;
}

static int
h_addr_outside_memory(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;

	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	d[0] = (struct chain_desc){b.hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
	d[1] = (struct chain_desc){R1_GPA - (64ull << 20), 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2};
	d[2] = (struct chain_desc){b.status_gpa, 1, VRING_DESC_F_WRITE, 0};
	*n = 3;
	return 0;
}

static int
h_header_outside_memory(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;

	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	d[0] = (struct chain_desc){UINT64_MAX - 8, 16, VRING_DESC_F_NEXT, 1};
	d[1] = (struct chain_desc){b.status_gpa, 1, VRING_DESC_F_WRITE, 0};
	*n = 2;
	return 0;
}

static int
h_straddle_region_end(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;

	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	d[0] = (struct chain_desc){b.hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
	d[1] = (struct chain_desc){R1_GPA + R_SIZE - 256, 512,
				   VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2};
	d[2] = (struct chain_desc){b.status_gpa, 1, VRING_DESC_F_WRITE, 0};
	*n = 3;
	return 0;
}

static int
h_huge_length(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;

	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	d[0] = (struct chain_desc){b.hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
	d[1] = (struct chain_desc){b.data_gpa, UINT32_MAX, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2};
	d[2] = (struct chain_desc){b.status_gpa, 1, VRING_DESC_F_WRITE, 0};
	*n = 3;
	return 0;
}

/* Indirect table helpers: `t` entries in guest memory, one ring descriptor pointing at it. */
static struct vring_desc *
indirect_table(struct ctx *c, struct bufs *b, uint32_t entries)
{
	struct vring_desc *t = virtio_mem_alloc(c->mem, 16ull * (entries + 1), 16);
	uint32_t i;

	for (i = 0; i < entries; i++) {
		t[i] = (struct vring_desc){b->data_gpa + (i % 8) * 512, 512,
					   VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, (uint16_t)(i + 1)};
	}
	t[0] = (struct vring_desc){b->hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
	t[entries - 1] = (struct vring_desc){b->status_gpa, 1, VRING_DESC_F_WRITE, 0};
	return t;
}

static void
to_packed_table(struct vring_desc *t, uint32_t entries)
{
	/* packed indirect tables use the packed layout: addr, len, id, flags */
	struct vring_packed_desc *p = (struct vring_packed_desc *)t;
	uint32_t i;

	for (i = 0; i < entries; i++) {
		uint16_t flags = t[i].flags & ~VRING_DESC_F_NEXT;

		p[i].id = 0;
		p[i].flags = flags;
	}
}

static int
h_indirect_bad(struct ctx *c, struct chain_desc *d, uint16_t *n, uint32_t entries, uint32_t len,
	       int variant)
{
	struct vring_desc *t;
	struct bufs b;

	if (!virtio_dev_has_feature(c->dev, VIRTIO_RING_F_INDIRECT_DESC)) {
		return 77;
	}
	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	t = indirect_table(c, &b, entries);
	if (variant == 1) {
		t[1].flags |= VRING_DESC_F_INDIRECT;	/* nested */
	} else if (variant == 2) {
		t[1].next = 100;	/* next beyond the table */
	}
	if (virtio_vq_is_packed(c->vq)) {
		to_packed_table(t, entries);
	}
	d[0] = (struct chain_desc){gpa_of(c, t), len, VRING_DESC_F_INDIRECT, 0};
	if (variant == 3) {
		d[0].addr = R2_GPA + R_SIZE + 4096;	/* table outside guest memory */
	}
	*n = 1;
	return 0;
}

static int
h_indirect_len_not_multiple(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	return h_indirect_bad(c, d, n, 3, 40, 0);
}

static int
h_indirect_len_zero(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	return h_indirect_bad(c, d, n, 3, 0, 0);
}

static int
h_indirect_nested(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	return h_indirect_bad(c, d, n, 3, 48, 1);
}

static int
h_indirect_next_out_of_table(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	return h_indirect_bad(c, d, n, 3, 48, 2);
}

static int
h_indirect_table_outside_memory(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	return h_indirect_bad(c, d, n, 3, 48, 3);
}

static int
h_indirect_longer_than_ring(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	return h_indirect_bad(c, d, n, QSIZE + 8, (QSIZE + 8) * 16, 0);
}

static int
h_chain_longer_than_ring(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;
	uint16_t i;

	/* split: every table slot chained in a cycle that never ends */
	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	d[0] = (struct chain_desc){b.hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
	for (i = 1; i < QSIZE; i++) {
		d[i] = (struct chain_desc){b.data_gpa, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
					   (uint16_t)((i + 1) % QSIZE)};
	}
	*n = QSIZE;
	return 0;
}

static int
h_short_header(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;

	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	d[0] = (struct chain_desc){b.hdr_gpa, 8, VRING_DESC_F_NEXT, 1};
	d[1] = (struct chain_desc){b.data_gpa, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2};
	d[2] = (struct chain_desc){b.status_gpa, 1, VRING_DESC_F_WRITE, 0};
	*n = 3;
	return 0;
}

static int
h_no_status_buffer(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;

	bufs_init(c, &b, VIRTIO_BLK_T_OUT);
	d[0] = (struct chain_desc){b.hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
	d[1] = (struct chain_desc){b.data_gpa, 512, 0, 0};	/* last buffer read-only */
	*n = 2;
	return 0;
}

static int
h_status_len_zero(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;

	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	d[0] = (struct chain_desc){b.hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
	d[1] = (struct chain_desc){b.data_gpa, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2};
	d[2] = (struct chain_desc){b.status_gpa, 0, VRING_DESC_F_WRITE, 0};
	*n = 3;
	return 0;
}

static int
h_read_into_readonly(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;

	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	d[0] = (struct chain_desc){b.hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
	d[1] = (struct chain_desc){b.data_gpa, 512, VRING_DESC_F_NEXT, 2};	/* not WRITE */
	g_ro_buf = b.data;
	d[2] = (struct chain_desc){b.status_gpa, 1, VRING_DESC_F_WRITE, 0};
	*n = 3;
	return 0;
}

static int
h_header_writable(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;

	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	d[0] = (struct chain_desc){b.hdr_gpa, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1};
	d[1] = (struct chain_desc){b.data_gpa, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2};
	d[2] = (struct chain_desc){b.status_gpa, 1, VRING_DESC_F_WRITE, 0};
	*n = 3;
	return 0;
}

static int
h_unaligned_length(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct bufs b;

	bufs_init(c, &b, VIRTIO_BLK_T_IN);
	d[0] = (struct chain_desc){b.hdr_gpa, 16, VRING_DESC_F_NEXT, 1};
	d[1] = (struct chain_desc){b.data_gpa, 100, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2};
	d[2] = (struct chain_desc){b.status_gpa, 1, VRING_DESC_F_WRITE, 0};
	*n = 3;
	return 0;
}

static const char *outcome_name(enum outcome o);
static bool status_read(struct ctx *c, char *buf, size_t len);

static int
h_indirect_with_next(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	int rc = h_indirect_bad(c, d, n, 3, 48, 0);

	if (rc != 0) {
		return rc;
	}
	/* INDIRECT and NEXT together: forbidden for the driver in both ring layouts */
	d[0].flags |= VRING_DESC_F_NEXT;
	d[0].next = 1;
	d[1] = (struct chain_desc){g_status_gpa, 1, VRING_DESC_F_WRITE, 0};
	*n = 2;
	return 0;
}

static int
h_indirect_len_huge(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	int rc = h_indirect_bad(c, d, n, 3, 48, 0);

	if (rc != 0) {
		return rc;
	}
	/* 65536 entries: inside guest memory (region 0), far beyond any ring */
	d[0].addr = 0;
	d[0].len = 65536 * 16;
	return 0;
}

/* ---- packed ring: wrap bits and buffer ids ---- */

#define PK_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PK_USED (1u << VRING_PACKED_DESC_F_USED)

/* A valid 3-descriptor read of sector 0 (header, 512 bytes, status) with buffer id `id`. */
static void
packed_read_chain(struct ctx *c, struct bufs *b, struct vring_packed_desc *pd, uint16_t id,
		  uint16_t bits)
{
	bufs_init(c, b, VIRTIO_BLK_T_IN);
	pd[0] = (struct vring_packed_desc){b->hdr_gpa, 16, id, VRING_DESC_F_NEXT | bits};
	pd[1] = (struct vring_packed_desc){b->data_gpa, 512, id,
					   VRING_DESC_F_NEXT | VRING_DESC_F_WRITE | bits};
	pd[2] = (struct vring_packed_desc){b->status_gpa, 1, id, VRING_DESC_F_WRITE | bits};
}

/*
 * The head's AVAIL/USED bits do not say "available in this lap": the device
 * must not consume it (it is not a request yet). Then the driver writes the
 * right bits into the same slot: the device must serve it normally.
 * variant 0: AVAIL == USED (looks used); 1: the previous lap's encoding.
 */
static int
packed_not_available(struct ctx *c, char *msg, size_t len, enum outcome *o, int variant)
{
	bool wrap = virtio_vq_raw_packed_wrap(c->vq);
	uint16_t good = wrap ? PK_AVAIL : PK_USED;
	uint16_t bad = variant == 0 ? (wrap ? PK_AVAIL | PK_USED : 0) : (wrap ? PK_USED : PK_AVAIL);
	struct vring_packed_desc pd[3];
	void *d, *a, *u;
	struct vring_packed_desc *ring;
	uint32_t id, ulen;
	struct bufs b;
	char st[96];

	/* a fresh connection: the first push goes to slot 0 */
	packed_read_chain(c, &b, pd, 1, good);
	pd[0].flags = (uint16_t)((pd[0].flags & ~(PK_AVAIL | PK_USED)) | bad);
	virtio_vq_raw_packed_push_verbatim(c->vq, pd, 3);
	virtio_vq_raw_kick(c->vq);
	virtio_vq_rings(c->vq, &d, &a, &u);
	ring = d;
	if (variant == 0) {
		/*
		 * AVAIL == USED == wrap is also what a used descriptor looks like to
		 * the driver: tell them apart by what a device completion writes
		 * (the used length, the status byte, the data).
		 */
		usleep(500 * 1000);
		*o = virtio_dev_is_connected(c->dev) ? OUT_DROPPED : OUT_DISCONNECTED;
		if (*b.status != 0xee || b.data[0] != 0x5c || ring[0].len != 16) {
			snprintf(msg, len, "consumed a head that is not available (flags 0x%04x, driver"
				 " wrap %d): used len %u status %d", pd[0].flags, wrap, ring[0].len,
				 *b.status);
			return 1;
		}
	} else {
		*o = await(c, &id, &ulen);
	}
	if (*o == OUT_COMPLETED) {
		status_read(c, st, sizeof(st));
		snprintf(msg, len, "consumed a head that is not available (flags 0x%04x, driver wrap %d):"
			 " completed id %u %s", pd[0].flags, wrap, id, st);
		return 1;
	}
	if (*o != OUT_DROPPED) {
		snprintf(msg, len, "not yet available, but the device reacted: %s", outcome_name(*o));
		return 1;
	}
	/* now make it available */
	__atomic_store_n(&ring[0].flags, (uint16_t)((pd[0].flags & ~(PK_AVAIL | PK_USED)) | good),
			 __ATOMIC_RELEASE);
	virtio_vq_raw_kick(c->vq);
	*o = await(c, &id, &ulen);
	if (*o != OUT_COMPLETED || !status_read(c, st, sizeof(st))) {
		snprintf(msg, len, "ignored while not available, but once available: %s%s%s",
			 outcome_name(*o), *o == OUT_COMPLETED ? " " : "",
			 *o == OUT_COMPLETED ? st : "");
		return 1;
	}
	snprintf(msg, len, "ignored while its flags were 0x%04x (driver wrap %d), served once"
		 " available: id %u %s", pd[0].flags, wrap, id, st);
	return 0;
}

static int
c_packed_head_looks_used(struct ctx *c, char *msg, size_t len, enum outcome *o)
{
	return packed_not_available(c, msg, len, o, 0);
}

static int
c_packed_head_previous_lap(struct ctx *c, char *msg, size_t len, enum outcome *o)
{
	return packed_not_available(c, msg, len, o, 1);
}

/*
 * Run one raw packed chain and classify it: completion status (success is a
 * failure unless ok_allowed), the id echoed (must equal want_id when completed).
 */
static int
packed_run(struct ctx *c, struct vring_packed_desc *pd, uint16_t n, bool verbatim, bool ok_allowed,
	   int want_id, char *msg, size_t len, enum outcome *o)
{
	uint32_t id = 0, ulen = 0;
	char st[96];
	bool ok;

	if (verbatim) {
		virtio_vq_raw_packed_push_verbatim(c->vq, pd, n);
	} else {
		virtio_vq_raw_packed_push(c->vq, pd, n);
	}
	virtio_vq_raw_kick(c->vq);
	*o = await(c, &id, &ulen);
	if (*o != OUT_COMPLETED) {
		snprintf(msg, len, "%s", outcome_name(*o));
		return 0;
	}
	ok = status_read(c, st, sizeof(st));
	snprintf(msg, len, "completed id %u len %u %s", id, ulen, st);
	if (want_id >= 0 && id != (uint32_t)want_id) {
		snprintf(msg + strlen(msg), len - strlen(msg), " - used id is not the buffer id %d",
			 want_id);
		return 1;
	}
	if (ok && !ok_allowed) {
		snprintf(msg + strlen(msg), len - strlen(msg),
			 " - success reported for an invalid request");
		return 1;
	}
	return 0;
}

/*
 * Head available, the rest of the chain not: `tail` is OR-ed into the other
 * descriptors' flags after their AVAIL/USED bits are cleared.
 */
static int
packed_tail_bits(struct ctx *c, char *msg, size_t len, enum outcome *o, uint16_t id,
		 uint16_t tail)
{
	bool wrap = virtio_vq_raw_packed_wrap(c->vq);
	struct vring_packed_desc pd[3];
	struct bufs b;
	int i;

	packed_read_chain(c, &b, pd, id, wrap ? PK_AVAIL : PK_USED);
	for (i = 1; i < 3; i++) {
		pd[i].flags = (uint16_t)((pd[i].flags & ~(PK_AVAIL | PK_USED)) | tail);
	}
	return packed_run(c, pd, 3, true, true, id, msg, len, o);
}

/* The rest of the chain carries the previous lap's bits. */
static int
c_packed_chain_tail_not_available(struct ctx *c, char *msg, size_t len, enum outcome *o)
{
	return packed_tail_bits(c, msg, len, o, 2,
				virtio_vq_raw_packed_wrap(c->vq) ? PK_USED : PK_AVAIL);
}

/* AVAIL and USED both set on every descriptor but the head (inconsistent inside a chain). */
static int
c_packed_chain_flags_inconsistent(struct ctx *c, char *msg, size_t len, enum outcome *o)
{
	return packed_tail_bits(c, msg, len, o, 3, PK_AVAIL | PK_USED);
}

/* Buffer id beyond the queue size (ids are the driver's, in 0..size-1). */
static int
c_packed_buffer_id_out_of_range(struct ctx *c, char *msg, size_t len, enum outcome *o)
{
	struct vring_packed_desc pd[3];
	struct bufs b;

	packed_read_chain(c, &b, pd, 0x7fff, 0);
	return packed_run(c, pd, 3, false, true, 0x7fff, msg, len, o);
}

/* Different ids inside one chain: the device must report the last descriptor's id. */
static int
c_packed_buffer_id_differs_in_chain(struct ctx *c, char *msg, size_t len, enum outcome *o)
{
	struct vring_packed_desc pd[3];
	struct bufs b;

	packed_read_chain(c, &b, pd, 9, 0);
	pd[0].id = 40;
	pd[1].id = 41;
	return packed_run(c, pd, 3, false, true, 9, msg, len, o);
}

/* Two chains in flight with the same buffer id: both are valid reads. */
static int
c_packed_buffer_id_duplicate(struct ctx *c, char *msg, size_t len, enum outcome *o)
{
	struct vring_packed_desc pd[3];
	struct bufs b1, b2;
	uint32_t id[2] = {0, 0}, ulen;
	int i;

	packed_read_chain(c, &b1, pd, 5, 0);
	virtio_vq_raw_packed_push(c->vq, pd, 3);
	packed_read_chain(c, &b2, pd, 5, 0);
	virtio_vq_raw_packed_push(c->vq, pd, 3);
	virtio_vq_raw_kick(c->vq);
	for (i = 0; i < 2; i++) {
		*o = await(c, &id[i], &ulen);
		if (*o != OUT_COMPLETED) {
			snprintf(msg, len, "%d of 2 completed, then %s", i, outcome_name(*o));
			return 0;
		}
	}
	snprintf(msg, len, "both completed, ids %u %u, status %d %d", id[0], id[1], *b1.status,
		 *b2.status);
	if (id[0] != 5 || id[1] != 5) {
		snprintf(msg + strlen(msg), len - strlen(msg), " - used id is not the buffer id 5");
		return 1;
	}
	return 0;
}

static const struct hostile g_hostile[] = {
	{.name = "head_index_out_of_range", .build = h_head_out_of_range, .split_only = true},
	{.name = "next_index_out_of_range", .build = h_next_out_of_range, .split_only = true},
	{.name = "descriptor_loop", .build = h_desc_loop, .split_only = true},
	{.name = "chain_longer_than_ring", .build = h_chain_longer_than_ring, .split_only = true},
	{.name = "data_outside_memory", .build = h_addr_outside_memory},
	{.name = "header_outside_memory", .build = h_header_outside_memory},
	{.name = "data_straddles_region_end", .build = h_straddle_region_end},
	{.name = "data_length_4g", .build = h_huge_length},
	{.name = "indirect_len_not_multiple_of_16", .build = h_indirect_len_not_multiple},
	{.name = "indirect_len_zero", .build = h_indirect_len_zero},
	{.name = "indirect_nested", .build = h_indirect_nested, .ok_allowed = true},
	{.name = "indirect_next_out_of_table", .build = h_indirect_next_out_of_table, .split_only = true},
	{.name = "indirect_table_outside_memory", .build = h_indirect_table_outside_memory},
	{.name = "indirect_longer_than_ring", .build = h_indirect_longer_than_ring, .ok_allowed = true},
	{.name = "header_too_short", .build = h_short_header},
	{.name = "no_status_buffer", .build = h_no_status_buffer},
	{.name = "status_len_zero", .build = h_status_len_zero},
	{.name = "read_into_readonly_buffer", .build = h_read_into_readonly, .ok_allowed = true},
	{.name = "header_device_writable", .build = h_header_writable, .ok_allowed = true},
	{.name = "data_len_not_sector_multiple", .build = h_unaligned_length},
	/* The spec forbids it to the driver and says nothing of the device: QEMU's
	 * libvhost-user serves the table, vhostd refuses it; neither may crash. */
	{.name = "indirect_with_next", .build = h_indirect_with_next, .ok_allowed = true},
	{.name = "indirect_len_65536_entries", .build = h_indirect_len_huge},
	{.name = "packed_head_looks_used", .custom = c_packed_head_looks_used, .packed_only = true},
	{.name = "packed_head_previous_lap", .custom = c_packed_head_previous_lap,
	 .packed_only = true},
	{.name = "packed_chain_tail_not_available", .custom = c_packed_chain_tail_not_available,
	 .packed_only = true},
	{.name = "packed_chain_flags_inconsistent", .custom = c_packed_chain_flags_inconsistent,
	 .packed_only = true},
	{.name = "packed_buffer_id_out_of_range", .custom = c_packed_buffer_id_out_of_range,
	 .packed_only = true},
	{.name = "packed_buffer_id_differs_in_chain",
	 .custom = c_packed_buffer_id_differs_in_chain, .packed_only = true},
	{.name = "packed_buffer_id_duplicate", .custom = c_packed_buffer_id_duplicate,
	 .packed_only = true},
};

static const char *
outcome_name(enum outcome o)
{
	static const char *n[] = {"completed", "dropped (no completion in 1 s)", "disconnected",
				  "device marked NEEDS_RESET"};

	return n[o];
}

/*
 * The outcome of a completed request: what the device wrote in the status
 * buffer. Returns true for "success" and describes it in buf.
 */
static bool
status_read(struct ctx *c, char *buf, size_t len)
{
	const uint8_t *p;

	switch (g_status_kind) {
	case ST_SCSI_CMD:
		p = virtio_mem_gpa_to_hva(c->mem, g_status_gpa, 12);
		if (p == NULL) {
			snprintf(buf, len, "status buffer unreadable");
			return false;
		}
		if (p[11] == 0xee) {
			snprintf(buf, len, "response not written");
			return false;
		}
		snprintf(buf, len, "response %u scsi status 0x%02x resid %u", p[11], p[10],
			 (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
			 (uint32_t)p[7] << 24);
		if (g_resid_ok && p[11] == 0 && p[10] == 0 && p[4] != 0) {
			return false;	/* nothing transferred, and said so */
		}
		return p[11] == VIRTIO_SCSI_S_OK && p[10] == 0;
	case ST_SCSI_CTRL:
		p = virtio_mem_gpa_to_hva(c->mem, g_status_gpa, 1);
		if (p == NULL || *p == 0xee) {
			snprintf(buf, len, "response not written");
			return false;
		}
		snprintf(buf, len, "response %u", *p);
		return *p == VIRTIO_SCSI_S_OK;
	case ST_BLK:
	default:
		p = virtio_mem_gpa_to_hva(c->mem, g_status_gpa, 1);
		if (p == NULL) {
			snprintf(buf, len, "status buffer unreadable");
			return false;
		}
		snprintf(buf, len, "status %d%s", *p, *p == 0xee ? " (status not written)" : "");
		return *p == VIRTIO_BLK_S_OK;
	}
}

/* The daemon must still serve a fresh connection. */
static int
fresh_connection_ok(void)
{
	struct ctx fresh;
	int rc, st;

	rc = ctx_open(&fresh);
	if (rc != 0) {
		return rc;
	}
	if (g_scsi) {
		rc = scsi_served(fresh.vq);
	} else {
		uint8_t *buf = virtio_mem_alloc(fresh.mem, 4096, 4096);
		struct iovec iov = {buf, 4096};

		rc = blk_io(fresh.vq, VIRTIO_BLK_T_IN, 0, &iov, 1, &st);
		if (rc == 0 && st != 0) {
			rc = -EIO;
		}
	}
	ctx_close(&fresh);
	return rc;
}

/* Run one hostile case: 0 pass, 1 fail, 77 skip. */
static int
run_hostile(const struct hostile *h, char *msg, size_t msglen)
{
	struct chain_desc d[QSIZE + 8];
	struct ctx c;
	uint16_t n = 0, head = 0;
	uint32_t id = 0, len = 0;
	enum outcome o;
	char note[160] = "", st[96];
	int rc, verdict = 0;

	if (h->split_only && g_packed) {
		snprintf(msg, msglen, "split ring only");
		return 77;
	}
	if (h->packed_only && !g_packed) {
		snprintf(msg, msglen, "packed ring only");
		return 77;
	}
	rc = ctx_open(&c);
	if (rc != 0) {
		snprintf(msg, msglen, "cannot open the device: %s", strerror(-rc));
		return 1;
	}
	g_status_kind = g_scsi ? ST_SCSI_CMD : ST_BLK;
	g_ro_pat = 0x5c;
	g_ro_len = 512;
	g_resid_ok = false;
	msg[0] = '\0';
	if (h->custom != NULL) {
		verdict = h->custom(&c, msg, msglen, &o);
		if (verdict == 77) {
			ctx_close(&c);
			return 77;
		}
	} else {
		rc = h->build(&c, d, &n, &head);
		if (rc == 77) {
			ctx_close(&c);
			snprintf(msg, msglen, "INDIRECT_DESC not offered");
			return 77;
		}
		push_chain(&c, d, n, head);
		o = await(&c, &id, &len);
		if (o == OUT_COMPLETED) {
			bool ok = status_read(&c, st, sizeof(st));

			snprintf(msg, msglen, "completed id %u len %u %s", id, len, st);
			if (ok && !h->ok_allowed) {
				verdict = 1;
				snprintf(msg + strlen(msg), msglen - strlen(msg),
					 " - success reported for an invalid request");
			}
		} else {
			snprintf(msg, msglen, "%s", outcome_name(o));
		}
	}
	if (g_ro_buf != NULL) {
		uint32_t k;

		for (k = 0; k < g_ro_len && g_ro_buf[k] == g_ro_pat; k++) {
		}
		if (k < g_ro_len) {
			verdict = 1;
			snprintf(msg + strlen(msg), msglen - strlen(msg),
				 " - the device wrote into a read-only buffer (byte %u)", k);
		}
		g_ro_buf = NULL;
	}
	if (o == OUT_COMPLETED || o == OUT_DROPPED) {
		if (other_queue_ok(&c, note, sizeof(note)) != 0) {
			verdict = 1;
		}
		snprintf(msg + strlen(msg), msglen - strlen(msg), "%s", note);
	}
	ctx_close(&c);
	rc = fresh_connection_ok();
	if (rc != 0) {
		snprintf(msg + strlen(msg), msglen - strlen(msg),
			 "; a new connection fails afterwards: %s", strerror(-rc));
		verdict = 1;
	} else {
		snprintf(msg + strlen(msg), msglen - strlen(msg), "; new connection ok");
	}
	return verdict;
}

struct conformance {
	const char	*name;
	int		(*fn)(struct ctx *c);
};

static const struct conformance g_conf[] = {
	{"config", chk_config},
	{"rw_region_edges", chk_rw_region_edges},
	{"flush", chk_flush},
	{"get_id", chk_get_id},
	{"discard_write_zeroes", chk_discard_write_zeroes},
	{"out_of_range", chk_out_of_range},
	{"unknown_type", chk_unknown_type},
};

/* ---- virtio-scsi (--scsi): conformance and hostile requests ---- */

static const uint8_t g_read10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};

static int
chk_scsi_inquiry(struct ctx *c)
{
	uint8_t cdb[6] = {0x12, 0, 0, 0, 96, 0}, *d = virtio_mem_alloc(c->mem, 96, 64);
	struct iovec iov = {d, 96};
	struct scsi_sync s;
	int rc;

	memset(d, 0xff, 96);
	rc = scsi_cmd(c->vq, g_target, cdb, 6, &iov, 1, false, &s);
	CHECK(rc == 0, "inquiry: %s", strerror(-rc));
	CHECK(s.response == VIRTIO_SCSI_S_OK && s.status == 0, "inquiry: response %d status 0x%x",
	      s.response, s.status);
	CHECK((d[0] & 0x1f) == 0, "peripheral device type %u, expected 0 (disk)", d[0] & 0x1f);
	snprintf(c->msg, sizeof(c->msg), "\"%.8s %.16s\"", d + 8, d + 16);
	return 0;
}

static int
chk_scsi_write_read(struct ctx *c)
{
	uint8_t w10[10] = {0x2a, 0, 0, 0, 0, 8, 0, 0, 8, 0}, r10[10] = {0x28, 0, 0, 0, 0, 8, 0, 0, 8, 0};
	uint8_t *d = virtio_mem_alloc(c->mem, 4096, 4096);
	struct iovec iov = {d, 4096};
	struct scsi_sync s;
	int rc, i, tries;

	for (i = 0; i < 4096; i++) {
		d[i] = (uint8_t)(i * 31 + 7);
	}
	/* the first command after attach may get a unit attention */
	for (tries = 0; tries < 3; tries++) {
		rc = scsi_cmd(c->vq, g_target, w10, 10, &iov, 1, true, &s);
		if (rc != 0 || s.status != 0x02) {
			break;
		}
	}
	CHECK(rc == 0 && s.response == 0 && s.status == 0, "write(10): rc %d response %d status 0x%x",
	      rc, s.response, s.status);
	memset(d, 0, 4096);
	rc = scsi_cmd(c->vq, g_target, r10, 10, &iov, 1, false, &s);
	CHECK(rc == 0 && s.response == 0 && s.status == 0, "read(10): rc %d response %d status 0x%x",
	      rc, s.response, s.status);
	for (i = 0; i < 4096; i++) {
		CHECK(d[i] == (uint8_t)(i * 31 + 7), "data differs at byte %d", i);
	}
	return 0;
}

struct sbufs {
	struct virtio_scsi_cmd_req	*cmd;
	uint8_t				*resp;
	uint8_t				*data;
	uint64_t			cmd_gpa, resp_gpa, data_gpa;
};

/* A command to LUN 0 of the target under test; response 0xee, data 0x5c. */
static void
sbufs_init(struct ctx *c, struct sbufs *b, const uint8_t *cdb, uint32_t cdb_len)
{
	b->cmd = virtio_mem_alloc(c->mem, 256, 64);
	b->resp = virtio_mem_alloc(c->mem, 256, 64);
	b->data = virtio_mem_alloc(c->mem, 4096, 4096);
	memset(b->cmd, 0, 256);
	virtio_scsi_lun_encode(b->cmd->lun, g_target, 0);
	b->cmd->tag = 77;
	memcpy(b->cmd->cdb, cdb, cdb_len);
	memset(b->resp, 0xee, 256);
	memset(b->data, 0x5c, 4096);
	b->cmd_gpa = gpa_of(c, b->cmd);
	b->resp_gpa = gpa_of(c, b->resp);
	b->data_gpa = gpa_of(c, b->data);
	g_status_gpa = b->resp_gpa;
}

#define CMD_LEN ((uint32_t)sizeof(struct virtio_scsi_cmd_req))
#define RESP_LEN ((uint32_t)sizeof(struct virtio_scsi_cmd_resp))
#define F_N VRING_DESC_F_NEXT
#define F_W VRING_DESC_F_WRITE

/* cmd (readable, cmd_len), response (writable, resp_len), 512 bytes of data-in. */
static void
scsi_read_chain(struct sbufs *b, struct chain_desc *d, uint16_t *n, uint32_t cmd_len,
		uint32_t resp_len)
{
	d[0] = (struct chain_desc){b->cmd_gpa, cmd_len, F_N, 1};
	d[1] = (struct chain_desc){b->resp_gpa, resp_len, F_N | F_W, 2};
	d[2] = (struct chain_desc){b->data_gpa, 512, F_W, 0};
	*n = 3;
}

static int
s_header_too_short(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct sbufs b;

	sbufs_init(c, &b, g_read10, 10);
	scsi_read_chain(&b, d, n, 20, RESP_LEN);
	return 0;
}

static int
s_response_too_short(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct sbufs b;

	sbufs_init(c, &b, g_read10, 10);
	scsi_read_chain(&b, d, n, CMD_LEN, 4);
	/* nothing past the 4 bytes given may change */
	g_ro_buf = b.resp + 4;
	g_ro_len = 200;
	g_ro_pat = 0xee;
	return 0;
}

/* A READ(10) whose LUN field has byte `i` set to `v` (and byte `j` to `w`). */
static void
s_read_lun(struct ctx *c, struct chain_desc *d, uint16_t *n, int i, uint8_t v, int j, uint8_t w)
{
	struct sbufs b;

	sbufs_init(c, &b, g_read10, 10);
	b.cmd->lun[i] = v;
	b.cmd->lun[j] = w;
	scsi_read_chain(&b, d, n, CMD_LEN, RESP_LEN);
}

static int
s_lun_byte0_not_1(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	s_read_lun(c, d, n, 0, 0, 0, 0);
	return 0;
}

static int
s_lun_bad_address_method(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	/* extended addressing: not what virtio-scsi uses */
	s_read_lun(c, d, n, 2, 0xc0, 3, 0x12);
	return 0;
}

static int
s_target_missing(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	s_read_lun(c, d, n, 1, (uint8_t)(g_target + 100), 1, (uint8_t)(g_target + 100));
	return 0;
}

static int
s_lun_missing(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	s_read_lun(c, d, n, 3, 200, 3, 200);
	return 0;
}

/* A variable-length CDB (0x7f) that says it is 8 + 248 bytes: more than cdb_size (32). */
static int
s_cdb_longer_than_cdb_size(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	uint8_t cdb[32] = {0x7f, 0, 0, 0, 0, 0, 0, 248, 0x00, 0x09};
	struct sbufs b;

	sbufs_init(c, &b, cdb, sizeof(cdb));
	scsi_read_chain(&b, d, n, CMD_LEN, RESP_LEN);
	return 0;
}

/* The driver believes cdb_size is 64: a 83-byte header; the extra 32 bytes look like data-out. */
static int
s_header_larger_than_cdb_size(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct sbufs b;

	sbufs_init(c, &b, g_read10, 10);
	scsi_read_chain(&b, d, n, CMD_LEN + 32, RESP_LEN);
	return 0;
}

/* READ with its data buffer device-readable (after the writable response). */
static int
s_read_into_readonly(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct sbufs b;

	sbufs_init(c, &b, g_read10, 10);
	scsi_read_chain(&b, d, n, CMD_LEN, RESP_LEN);
	d[2].flags = 0;
	g_ro_buf = b.data;
	g_resid_ok = true;
	return 0;
}

/* READ with the data-in buffer (read-only) placed before the response. */
static int
s_read_into_readonly_data_out(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct sbufs b;

	sbufs_init(c, &b, g_read10, 10);
	d[0] = (struct chain_desc){b.cmd_gpa, CMD_LEN, F_N, 1};
	d[1] = (struct chain_desc){b.data_gpa, 512, F_N, 2};
	d[2] = (struct chain_desc){b.resp_gpa, RESP_LEN, F_W, 0};
	*n = 3;
	g_ro_buf = b.data;
	g_resid_ok = true;
	return 0;
}

static int
s_response_readonly(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct sbufs b;

	sbufs_init(c, &b, g_read10, 10);
	scsi_read_chain(&b, d, n, CMD_LEN, RESP_LEN);
	d[1].flags = F_N;
	g_ro_buf = b.resp;
	g_ro_len = RESP_LEN;
	g_ro_pat = 0xee;
	return 0;
}

static int
s_no_response_buffer(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	struct sbufs b;

	sbufs_init(c, &b, g_read10, 10);
	d[0] = (struct chain_desc){b.cmd_gpa, CMD_LEN, 0, 0};
	*n = 1;
	return 0;
}

/* WRITE(10) of 1 block with 512 bytes of data-out and 512 of data-in too (INOUT). */
static int
s_write_with_data_in_too(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	uint8_t w10[10] = {0x2a, 0, 0, 0, 0, 16, 0, 0, 1, 0};
	struct sbufs b;

	sbufs_init(c, &b, w10, 10);
	d[0] = (struct chain_desc){b.cmd_gpa, CMD_LEN, F_N, 1};
	d[1] = (struct chain_desc){b.data_gpa, 512, F_N, 2};
	d[2] = (struct chain_desc){b.resp_gpa, RESP_LEN, F_N | F_W, 3};
	d[3] = (struct chain_desc){b.data_gpa + 512, 512, F_W, 0};
	*n = 4;
	return 0;
}

/* controlq: a TMF request cut to its 4-byte type. */
static int
s_ctrl_tmf_short(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	uint32_t *req = virtio_mem_alloc(c->mem, 64, 64);
	uint8_t *resp = virtio_mem_alloc(c->mem, 64, 64);

	*req = VIRTIO_SCSI_T_TMF;
	memset(resp, 0xee, 64);
	c->vq = virtio_dev_vq(c->dev, 0);
	g_status_kind = ST_SCSI_CTRL;
	g_status_gpa = gpa_of(c, resp);
	d[0] = (struct chain_desc){gpa_of(c, req), 4, F_N, 1};
	d[1] = (struct chain_desc){g_status_gpa, 16, F_W, 0};
	*n = 2;
	return 0;
}

/* controlq: an unknown request type. */
static int
s_ctrl_unknown_type(struct ctx *c, struct chain_desc *d, uint16_t *n, uint16_t *head)
{
	uint32_t *req = virtio_mem_alloc(c->mem, 64, 64);
	uint8_t *resp = virtio_mem_alloc(c->mem, 64, 64);

	memset(req, 0, 64);
	*req = 0x77;
	memset(resp, 0xee, 64);
	c->vq = virtio_dev_vq(c->dev, 0);
	g_status_kind = ST_SCSI_CTRL;
	g_status_gpa = gpa_of(c, resp);
	d[0] = (struct chain_desc){gpa_of(c, req), 64, F_N, 1};
	d[1] = (struct chain_desc){g_status_gpa, 16, F_W, 0};
	*n = 2;
	return 0;
}

static const struct conformance g_scsi_conf[] = {
	{"scsi_inquiry", chk_scsi_inquiry},
	{"scsi_write_read", chk_scsi_write_read},
};

static const struct hostile g_scsi_hostile[] = {
	{.name = "scsi_header_too_short", .build = s_header_too_short},
	{.name = "scsi_response_too_short", .build = s_response_too_short, .ok_allowed = true},
	{.name = "scsi_lun_byte0_not_1", .build = s_lun_byte0_not_1},
	{.name = "scsi_lun_bad_address_method", .build = s_lun_bad_address_method},
	{.name = "scsi_target_missing", .build = s_target_missing},
	{.name = "scsi_lun_missing", .build = s_lun_missing},
	{.name = "scsi_cdb_longer_than_cdb_size", .build = s_cdb_longer_than_cdb_size},
	{.name = "scsi_header_larger_than_cdb_size", .build = s_header_larger_than_cdb_size,
	 .ok_allowed = true},
	{.name = "scsi_read_into_readonly_buffer", .build = s_read_into_readonly},
	{.name = "scsi_read_into_readonly_data_out", .build = s_read_into_readonly_data_out},
	{.name = "scsi_response_readonly", .build = s_response_readonly, .ok_allowed = true},
	{.name = "scsi_no_response_buffer", .build = s_no_response_buffer, .ok_allowed = true},
	{.name = "scsi_write_with_data_in_too", .build = s_write_with_data_in_too,
	 .ok_allowed = true},
	{.name = "scsi_ctrl_tmf_short", .build = s_ctrl_tmf_short},
	{.name = "scsi_ctrl_unknown_type", .build = s_ctrl_unknown_type},
};

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"packed", no_argument, NULL, 'p'},
		{"only", required_argument, NULL, 'o'},
		{"list", no_argument, NULL, 'l'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"scsi", no_argument, NULL, 'S'},
		{"target", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const struct conformance *conf = g_conf;
	const struct hostile *hostile = g_hostile;
	uint32_t nconf = VHD_COUNTOF(g_conf), nhostile = VHD_COUNTOF(g_hostile);
	const char *only = NULL;
	bool list = false;
	uint32_t pass = 0, fail = 0, skip = 0, i;
	regex_t re;
	char msg[512];
	uint64_t v;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "s:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			g_sock = optarg;
			break;
		case 'p':
			g_packed = true;
			break;
		case 'o':
			only = optarg;
			break;
		case 'l':
			list = true;
			break;
		case 'S':
			g_scsi = true;
			break;
		case 'T':
			if (util_parse_u64(optarg, &v) != 0 || v > 255) {
				fprintf(stderr, "bad --target\n");
				return 2;
			}
			g_target = (uint8_t)v;
			break;
		case 't':
			if (util_parse_u64(optarg, &v) != 0 || v == 0 || v > 600000) {
				fprintf(stderr, "bad --timeout-ms\n");
				return 2;
			}
			g_timeout_ms = (uint32_t)v;
			break;
		default:
			fprintf(stderr, "usage: virtio-check -s SOCK [--packed] [--scsi [--target N]] "
				"[--only REGEX] [--list] [--timeout-ms N]\n");
			return ch == 'h' ? 0 : 2;
		}
	}
	if (g_scsi) {
		conf = g_scsi_conf;
		nconf = VHD_COUNTOF(g_scsi_conf);
		hostile = g_scsi_hostile;
		nhostile = VHD_COUNTOF(g_scsi_hostile);
	}
	if (list) {
		for (i = 0; i < nconf; i++) {
			printf("conformance/%s\n", conf[i].name);
		}
		for (i = 0; i < nhostile; i++) {
			printf("hostile/%s\n", hostile[i].name);
		}
		return 0;
	}
	if (g_sock == NULL) {
		fprintf(stderr, "virtio-check: -s SOCK is required\n");
		return 2;
	}
	if (only && regcomp(&re, only, REG_EXTENDED | REG_NOSUB) != 0) {
		fprintf(stderr, "virtio-check: bad regex %s\n", only);
		return 2;
	}
	/* Hostile input makes a backend log loudly; keep our own errors only. */
	log_set_level(LOG_LEVEL_WARN);
	{
		struct ctx c;

		rc = ctx_open(&c);
		if (rc != 0) {
			fprintf(stderr, "virtio-check: %s: %s\n", g_sock, strerror(-rc));
			return 3;
		}
		ctx_close(&c);
	}
	for (i = 0; i < nconf; i++) {
		char name[128];
		struct ctx c;

		snprintf(name, sizeof(name), "conformance/%s", conf[i].name);
		if (only && regexec(&re, name, 0, NULL, 0) != 0) {
			continue;
		}
		msg[0] = '\0';
		rc = ctx_open(&c);
		if (rc == 0) {
			c.msg[0] = '\0';
			rc = conf[i].fn(&c);
			snprintf(msg, sizeof(msg), "%s", c.msg);
			ctx_close(&c);
		} else {
			snprintf(msg, sizeof(msg), "cannot open: %s", strerror(-rc));
			rc = 1;
		}
		printf("%s  %s%s%s\n", rc ? "FAIL" : "PASS", name, msg[0] ? ": " : "", msg);
		rc ? fail++ : pass++;
	}
	for (i = 0; i < nhostile; i++) {
		char name[128];

		snprintf(name, sizeof(name), "hostile/%s", hostile[i].name);
		if (only && regexec(&re, name, 0, NULL, 0) != 0) {
			continue;
		}
		if (hostile[i].packed_only && !g_packed) {
			continue;	/* not even listed as skipped: split is the default */
		}
		rc = run_hostile(&hostile[i], msg, sizeof(msg));
		printf("%s  %s: %s\n", rc == 0 ? "PASS" : rc == 77 ? "SKIP" : "FAIL", name, msg);
		fflush(stdout);
		if (rc == 0) {
			pass++;
		} else if (rc == 77) {
			skip++;
		} else {
			fail++;
		}
	}
	printf("virtio-check: %u passed, %u failed, %u skipped\n", pass, fail, skip);
	if (only) {
		regfree(&re);
	}
	return fail ? 1 : 0;
}
