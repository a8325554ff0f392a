/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost_blk.c: the virtio-blk request parser and the request state machine,
 * over a real split ring (virtqueue.c) in a fake guest and a stub bdev that
 * records submissions and completes them when told.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../../lib/vhost/virtqueue.c"
#include "../../../../lib/vhost/vhost_blk.c"

/* ---- stubs: vhost core, thread, rpc ---- */

pthread_mutex_t g_vhost_mutex = PTHREAD_MUTEX_INITIALIZER;

int
vhost_name_check(const char *name)
{
	return strchr(name, '/') ? -EINVAL : 0;
}

static int g_register_rc;
static uint64_t g_register_features;

int
vhost_dev_register(struct vhost_dev *vdev, const char *name, const char *cpumask,
		   const struct vhost_dev_ops *ops, uint64_t virtio_features,
		   uint64_t protocol_features)
{
	g_register_features = virtio_features;
	if (g_register_rc != 0) {
		return g_register_rc;
	}
	vdev->name = strdup(name);
	vdev->ops = ops;
	vdev->nqthreads = 1;
	return 0;
}

static struct vhost_session *g_session;

void
vhost_dev_foreach_session(struct vhost_dev *vdev, void (*fn)(struct vhost_session *s, void *ctx),
			  void *ctx)
{
	if (g_session != NULL) {
		fn(g_session, ctx);
	}
}

static int g_config_changes;

void
vhost_dev_signal_config_change(struct vhost_dev *vdev)
{
	g_config_changes++;
}

uint32_t
vhost_session_inflight(const struct vhost_session *s)
{
	return s->vqs[0].vq.inflight_cnt;
}

int
thread_send_msg(struct thread *thread, thread_msg_fn fn, void *ctx)
{
	fn(ctx);
	return 0;
}

struct thread *
thread_get_app(void)
{
	return NULL;
}

static poller_fn g_poller_fn;
static void *g_poller_ctx;

struct poller *
poller_register(poller_fn fn, void *ctx, uint64_t period_us, const char *name)
{
	g_poller_fn = fn;
	g_poller_ctx = ctx;
	return (struct poller *)&g_poller_fn;
}

void
poller_unregister(struct poller **p)
{
	g_poller_fn = NULL;
	*p = NULL;
}

void
rpc_config_add(struct json_object *config, const char *method, struct json_object *params)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "method", json_object_new_string(method));
	json_object_object_add(e, "params", params);
	json_object_array_add(config, e);
}

/* ---- stub bdev ---- */

struct bdev {
	const char	*name;
	uint32_t	block_size;
	uint64_t	num_blocks;
	bool		supported[BDEV_NUM_IO_TYPES];
	bool		unmap_zeroes;
	bool		write_cache;
};

struct bdev_desc {
	struct bdev	*bdev;
	bool		write;
};

struct bdev_io {
	enum bdev_io_type	type;
	uint64_t		offset;
	uint64_t		num;
	struct iovec		*iov;
	int			iovcnt;
	bdev_io_completion_cb	cb;
	void			*cb_arg;
};

static struct bdev g_bdev;
static struct bdev_desc g_desc;
static int g_channel;
static struct bdev_io g_ios[64];
static int g_nios;
static int g_submit_rc;
static struct bdev_io_wait_entry *g_wait;
static int g_queue_wait_rc;
static int g_opened, g_closed, g_channels_put;
static bdev_event_cb g_event_cb;
static void *g_event_ctx;

int
bdev_open_ext(const char *name, bool write, bdev_event_cb event_cb, void *event_ctx,
	      struct bdev_desc **desc)
{
	if (strcmp(name, g_bdev.name) != 0) {
		return -ENODEV;
	}
	g_desc.bdev = &g_bdev;
	g_desc.write = write;
	g_event_cb = event_cb;
	g_event_ctx = event_ctx;
	g_opened++;
	*desc = &g_desc;
	return 0;
}

void
bdev_close(struct bdev_desc *desc)
{
	g_closed++;
}

struct bdev *
bdev_desc_get_bdev(struct bdev_desc *desc)
{
	return desc->bdev;
}

const char *
bdev_get_name(const struct bdev *bdev)
{
	return bdev->name;
}

uint32_t
bdev_get_block_size(const struct bdev *bdev)
{
	return bdev->block_size;
}

uint64_t
bdev_get_num_blocks(const struct bdev *bdev)
{
	return bdev->num_blocks;
}

uint32_t
bdev_get_physical_block_size(const struct bdev *bdev)
{
	return 4096;
}

uint32_t
bdev_get_optimal_io_boundary(const struct bdev *bdev)
{
	return 0;
}

bool
bdev_has_write_cache(const struct bdev *bdev)
{
	return bdev->write_cache;
}

uint64_t
bdev_get_max_unmap_blocks(const struct bdev *bdev)
{
	return 0;
}

uint64_t
bdev_get_max_write_zeroes_blocks(const struct bdev *bdev)
{
	return 16;
}

bool
bdev_io_type_supported(const struct bdev *bdev, enum bdev_io_type type)
{
	return bdev->supported[type];
}

bool
bdev_unmap_reads_zeroes(const struct bdev *bdev)
{
	return bdev->unmap_zeroes;
}

struct io_channel *
bdev_get_io_channel(struct bdev_desc *desc)
{
	return (struct io_channel *)&g_channel;
}

void
io_channel_put(struct io_channel *ch)
{
	g_channels_put++;
}

static int
stub_submit(enum bdev_io_type type, struct iovec *iov, int iovcnt, uint64_t offset,
	    uint64_t num, bdev_io_completion_cb cb, void *cb_arg)
{
	struct bdev_io *io;

	if (g_submit_rc != 0) {
		return g_submit_rc;
	}
	io = &g_ios[g_nios++];
	*io = (struct bdev_io){type, offset, num, iov, iovcnt, cb, cb_arg};
	return 0;
}

int
bdev_readv_blocks(struct bdev_desc *desc, struct io_channel *ch, struct iovec *iov, int iovcnt,
		  uint64_t offset_blocks, uint64_t num_blocks, bdev_io_completion_cb cb,
		  void *cb_arg)
{
	return stub_submit(BDEV_IO_TYPE_READ, iov, iovcnt, offset_blocks, num_blocks, cb, cb_arg);
}

int
bdev_writev_blocks(struct bdev_desc *desc, struct io_channel *ch, struct iovec *iov, int iovcnt,
		   uint64_t offset_blocks, uint64_t num_blocks, bdev_io_completion_cb cb,
		   void *cb_arg)
{
	return stub_submit(BDEV_IO_TYPE_WRITE, iov, iovcnt, offset_blocks, num_blocks, cb, cb_arg);
}

int
bdev_flush_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
		  uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg)
{
	return stub_submit(BDEV_IO_TYPE_FLUSH, NULL, 0, offset_blocks, num_blocks, cb, cb_arg);
}

int
bdev_unmap_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
		  uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg)
{
	return stub_submit(BDEV_IO_TYPE_UNMAP, NULL, 0, offset_blocks, num_blocks, cb, cb_arg);
}

int
bdev_write_zeroes_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
			 uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg)
{
	return stub_submit(BDEV_IO_TYPE_WRITE_ZEROES, NULL, 0, offset_blocks, num_blocks, cb,
			   cb_arg);
}

void
bdev_free_io(struct bdev_io *bdev_io)
{
}

int
bdev_queue_io_wait(struct bdev *bdev, struct io_channel *ch, struct bdev_io_wait_entry *entry)
{
	if (g_queue_wait_rc != 0) {
		return g_queue_wait_rc;
	}
	g_wait = entry;
	return 0;
}

static void
ut_complete(int i, bool success)
{
	g_ios[i].cb(&g_ios[i], success, g_ios[i].cb_arg);
}

/* ---- fake guest with a split ring of 8 ---- */

#define QSZ	8
static uint8_t *g_guest;	/* gpa 0x100000 .. +256K */
static struct vhost_mem g_mem;
static struct {
	struct vring_desc desc[QSZ];
	struct {
		uint16_t flags, idx, ring[QSZ], used_event;
	} avail;
	struct {
		uint16_t flags, idx;
		struct vring_used_elem ring[QSZ];
		uint16_t avail_event;
	} used;
} g_ring;
static struct blk_dev *g_blk;
static struct vhost_session *g_s;
static struct vhost_session_vq *g_svq;

#define GPA(off) (0x100000ull + (off))
#define HVA(off) (g_guest + (off))

static int
ut_setup(void **state)
{
	g_guest = calloc(1, 256 * 1024);
	g_mem.nregions = 1;
	g_mem.regions[0] = (struct vhost_mem_region){0x100000, 256 * 1024, (uintptr_t)g_guest};
	memset(&g_ring, 0, sizeof(g_ring));
	memset(&g_bdev, 0, sizeof(g_bdev));
	g_bdev.name = "Malloc0";
	g_bdev.block_size = 512;
	g_bdev.num_blocks = 1024;
	g_bdev.supported[BDEV_IO_TYPE_READ] = true;
	g_bdev.supported[BDEV_IO_TYPE_WRITE] = true;
	g_bdev.supported[BDEV_IO_TYPE_FLUSH] = true;
	g_bdev.supported[BDEV_IO_TYPE_UNMAP] = true;
	g_bdev.supported[BDEV_IO_TYPE_WRITE_ZEROES] = true;
	g_bdev.write_cache = true;
	g_nios = 0;
	g_submit_rc = 0;
	g_wait = NULL;
	g_queue_wait_rc = 0;
	g_register_rc = 0;
	g_opened = g_closed = g_channels_put = 0;

	assert_int_equal(vhost_blk_controller_create("c0", "Malloc0", NULL, false, false), 0);
	g_blk = g_event_ctx;
	g_s = calloc(1, sizeof(*g_s));
	g_s->vdev = &g_blk->vdev;
	snprintf(g_s->name, sizeof(g_s->name), "c0s0");
	g_s->ngrps = 1;
	g_s->grps[0].session = g_s;
	g_svq = &g_s->vqs[0];
	g_svq->session = g_s;
	g_svq->grp = &g_s->grps[0];
	g_svq->vq.size = QSZ;
	g_svq->vq.desc = g_ring.desc;
	g_svq->vq.avail = (struct vring_avail *)&g_ring.avail;
	g_svq->vq.used = (struct vring_used *)&g_ring.used;
	g_svq->vq.mem = &g_mem;
	g_svq->vq.callfd = -1;
	g_svq->vq.indirect = true;
	assert_int_equal(vhost_vq_init(&g_svq->vq), 0);
	assert_int_equal(blk_grp_start(g_s, &g_s->grps[0]), 0);
	assert_int_equal(blk_vq_start(g_s, g_svq), 0);
	g_s->max_queues = 1;
	g_session = g_s;
	return 0;
}

static int
ut_teardown(void **state)
{
	blk_vq_stop(g_s, g_svq);
	blk_grp_stop(g_s, &g_s->grps[0]);
	free(g_s);
	g_session = NULL;
	free(g_blk->vdev.name);
	blk_destroy(&g_blk->vdev);
	free(g_guest);
	return 0;
}

/* Request: header at 0x0, data at 0x1000 (len), status at 0x800. */
static void
ut_req(uint16_t head, uint32_t type, uint64_t sector, uint32_t len, bool data_write)
{
	struct virtio_blk_outhdr *hdr = (void *)HVA(0x100 * head);
	uint16_t d0 = head, d1 = (head + 1) % QSZ, d2 = (head + 2) % QSZ;

	hdr->type = type;
	hdr->ioprio = 0;
	hdr->sector = sector;
	*HVA(0x800 + head) = 0xff;
	g_ring.desc[d0] = (struct vring_desc){GPA(0x100 * head), 16, VRING_DESC_F_NEXT, d1};
	if (len > 0) {
		g_ring.desc[d1] = (struct vring_desc){GPA(0x1000), len,
						      VRING_DESC_F_NEXT |
							      (data_write ? VRING_DESC_F_WRITE : 0),
						      d2};
		g_ring.desc[d2] = (struct vring_desc){GPA(0x800 + head), 1, VRING_DESC_F_WRITE, 0};
	} else {
		g_ring.desc[d1] = (struct vring_desc){GPA(0x800 + head), 1, VRING_DESC_F_WRITE, 0};
	}
	g_ring.avail.ring[g_ring.avail.idx % QSZ] = head;
	g_ring.avail.idx++;
}

static uint8_t
ut_status(uint16_t head)
{
	return *HVA(0x800 + head);
}

static void
ut_poll(void)
{
	blk_vq_poll(g_s, g_svq, 32);
}

/* ---- parser ---- */

static void
test_parse_header_split_and_status(void **state)
{
	uint8_t hdr[16] = {0}, data[1024], status[2];
	struct iovec iov[4];
	struct vhost_blk_req req;

	hdr[0] = VIRTIO_BLK_T_IN;
	hdr[8] = 7;	/* sector */
	iov[0] = (struct iovec){hdr, 5};
	iov[1] = (struct iovec){hdr + 5, 11};
	iov[2] = (struct iovec){data, 1024};
	iov[3] = (struct iovec){status, 2};	/* status is the last byte */
	assert_int_equal(vhost_blk_parse(iov, 4, 2, &req), 0);
	assert_int_equal(req.type, VIRTIO_BLK_T_IN);
	assert_int_equal(req.sector, 7);
	assert_ptr_equal(req.status, &status[1]);
	assert_int_equal(req.data_len, 1025);
	assert_int_equal(req.data_cnt, 2);

	/* header and data in one readable buffer (OUT), barrier bit ignored */
	{
		uint8_t buf[16 + 512];

		memset(buf, 0, sizeof(buf));
		buf[0] = VIRTIO_BLK_T_OUT;
		buf[3] = 0x80;
		iov[0] = (struct iovec){buf, sizeof(buf)};
		iov[1] = (struct iovec){status, 1};
		assert_int_equal(vhost_blk_parse(iov, 2, 1, &req), 0);
		assert_int_equal(req.type, VIRTIO_BLK_T_OUT);
		assert_int_equal(req.data_cnt, 1);
		assert_ptr_equal(req.data[0].iov_base, buf + 16);
		assert_int_equal(req.data_len, 512);
		assert_true(req.data_readable);
	}
}

static void
test_parse_errors(void **state)
{
	uint8_t hdr[16] = {0}, data[512], status;
	struct iovec iov[4];
	struct vhost_blk_req req;

	/* no writable byte: no status to report through */
	iov[0] = (struct iovec){hdr, 16};
	assert_int_equal(vhost_blk_parse(iov, 1, 1, &req), -EINVAL);
	assert_null(req.status);
	/* a zero-length writable buffer does not count */
	iov[1] = (struct iovec){&status, 0};
	assert_int_equal(vhost_blk_parse(iov, 2, 1, &req), -EINVAL);
	/* short header: status still found */
	iov[0] = (struct iovec){hdr, 15};
	iov[1] = (struct iovec){&status, 1};
	assert_int_equal(vhost_blk_parse(iov, 2, 1, &req), -EINVAL);
	assert_ptr_equal(req.status, &status);
	/* IN with a readable payload after the header */
	hdr[0] = VIRTIO_BLK_T_IN;
	iov[0] = (struct iovec){hdr, 16};
	iov[1] = (struct iovec){data, 512};
	iov[2] = (struct iovec){&status, 1};
	assert_int_equal(vhost_blk_parse(iov, 3, 2, &req), -EINVAL);
	/* OUT with a writable payload */
	hdr[0] = VIRTIO_BLK_T_OUT;
	assert_int_equal(vhost_blk_parse(iov, 3, 1, &req), -EINVAL);
	/* out_cnt beyond iovcnt */
	assert_int_equal(vhost_blk_parse(iov, 3, 4, &req), -EINVAL);
}

/* ---- request state machine ---- */

static void
test_read_write_zero_copy(void **state)
{
	ut_req(0, VIRTIO_BLK_T_IN, 8, 1024, true);
	ut_req(3, VIRTIO_BLK_T_OUT, 2, 512, false);
	ut_poll();
	assert_int_equal(g_nios, 2);
	assert_int_equal(g_ios[0].type, BDEV_IO_TYPE_READ);
	assert_int_equal(g_ios[0].offset, 8);
	assert_int_equal(g_ios[0].num, 2);
	assert_ptr_equal(g_ios[0].iov[0].iov_base, HVA(0x1000));	/* guest buffer itself */
	assert_int_equal(g_ios[1].type, BDEV_IO_TYPE_WRITE);
	assert_int_equal(g_ios[1].offset, 2);
	assert_int_equal(g_svq->vq.inflight_cnt, 2);
	ut_complete(1, true);
	ut_complete(0, false);
	assert_int_equal(ut_status(3), VIRTIO_BLK_S_OK);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(g_ring.used.idx, 2);
	assert_int_equal(g_ring.used.ring[0].id, 3);
	assert_int_equal(g_ring.used.ring[0].len, 1);
	assert_int_equal(g_ring.used.ring[1].id, 0);
	assert_int_equal(g_ring.used.ring[1].len, 1);	/* failed read: only the status */
	assert_int_equal(g_svq->vq.inflight_cnt, 0);

	ut_req(0, VIRTIO_BLK_T_IN, 0, 512, true);
	ut_poll();
	ut_complete(2, true);
	assert_int_equal(g_ring.used.ring[2].len, 513);
}

static void
test_readonly_and_alignment(void **state)
{
	g_blk->readonly = true;
	ut_req(0, VIRTIO_BLK_T_OUT, 0, 512, false);
	ut_req(3, VIRTIO_BLK_T_DISCARD, 0, 16, false);
	ut_poll();
	assert_int_equal(g_nios, 0);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(ut_status(3), VIRTIO_BLK_S_IOERR);
	g_blk->readonly = false;

	/* 4K bdev: 512-byte sector not aligned, length not a multiple */
	g_blk->block_size = 4096;
	ut_req(0, VIRTIO_BLK_T_IN, 1, 4096, true);
	ut_req(3, VIRTIO_BLK_T_IN, 8, 512, true);
	ut_poll();
	assert_int_equal(g_nios, 0);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(ut_status(3), VIRTIO_BLK_S_IOERR);
	ut_req(0, VIRTIO_BLK_T_IN, 8, 4096, true);
	ut_poll();
	assert_int_equal(g_nios, 1);
	assert_int_equal(g_ios[0].offset, 1);
	assert_int_equal(g_ios[0].num, 1);
	ut_complete(0, true);
	/* sector overflow */
	ut_req(0, VIRTIO_BLK_T_IN, UINT64_MAX / 256, 4096, true);
	ut_poll();
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_IOERR);
}

static void
test_unsupported_and_malformed(void **state)
{
	ut_req(0, 99, 0, 0, false);
	ut_poll();
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_UNSUPP);
	/* descriptor outside guest memory: completed with nothing written */
	g_ring.desc[5] = (struct vring_desc){0x1, 16, 0, 0};
	g_ring.avail.ring[g_ring.avail.idx % QSZ] = 5;
	g_ring.avail.idx++;
	ut_poll();
	assert_int_equal(g_ring.used.ring[1].id, 5);
	assert_int_equal(g_ring.used.ring[1].len, 0);
	/* no status byte at all */
	g_ring.desc[5] = (struct vring_desc){GPA(0), 16, 0, 0};
	g_ring.avail.ring[g_ring.avail.idx % QSZ] = 5;
	g_ring.avail.idx++;
	ut_poll();
	assert_int_equal(g_ring.used.ring[2].len, 0);
	assert_int_equal(g_svq->vq.inflight_cnt, 0);
	assert_false(g_svq->vq.broken);
}

static void
test_reused_id_breaks_queue(void **state)
{
	ut_req(0, VIRTIO_BLK_T_IN, 0, 512, true);
	ut_poll();
	assert_int_equal(g_nios, 1);
	ut_req(0, VIRTIO_BLK_T_IN, 0, 512, true);	/* same head while in flight */
	ut_poll();
	assert_true(g_svq->vq.broken);
	assert_int_equal(g_nios, 1);
	assert_int_equal(g_svq->vq.inflight_cnt, 1);
	ut_complete(0, true);
	assert_int_equal(g_svq->vq.inflight_cnt, 0);
}

static void
test_flush_get_id(void **state)
{
	char *id;

	ut_req(0, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	ut_poll();
	assert_int_equal(g_ios[0].type, BDEV_IO_TYPE_FLUSH);
	assert_int_equal(g_ios[0].num, 1024);
	ut_complete(0, true);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_OK);
	g_bdev.supported[BDEV_IO_TYPE_FLUSH] = false;
	ut_req(0, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	ut_poll();
	assert_int_equal(g_nios, 1);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_OK);

	ut_req(3, VIRTIO_BLK_T_GET_ID, 0, 20, true);
	ut_poll();
	id = (char *)HVA(0x1000);
	assert_memory_equal(id, "Malloc0", 7);
	assert_int_equal(ut_status(3), VIRTIO_BLK_S_OK);
	assert_int_equal(g_ring.used.ring[2].len, 21);
}

static void
ut_seg(uint64_t sector, uint32_t n, uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes *seg = (void *)HVA(0x1000);

	seg->sector = sector;
	seg->num_sectors = n;
	seg->flags = flags;
}

static void
test_discard_write_zeroes(void **state)
{
	ut_seg(8, 16, 0);
	ut_req(0, VIRTIO_BLK_T_DISCARD, 0, 16, false);
	ut_poll();
	assert_int_equal(g_ios[0].type, BDEV_IO_TYPE_UNMAP);
	assert_int_equal(g_ios[0].offset, 8);
	assert_int_equal(g_ios[0].num, 16);
	ut_complete(0, true);
	/* discard with the unmap flag is unsupported */
	ut_seg(8, 16, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	ut_req(0, VIRTIO_BLK_T_DISCARD, 0, 16, false);
	ut_poll();
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_UNSUPP);
	/* write zeroes + unmap: unmap only if unmapped blocks read back as zeroes */
	ut_req(0, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
	ut_poll();
	assert_int_equal(g_ios[1].type, BDEV_IO_TYPE_WRITE_ZEROES);
	ut_complete(1, true);
	g_bdev.unmap_zeroes = true;
	ut_req(0, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
	ut_poll();
	assert_int_equal(g_ios[2].type, BDEV_IO_TYPE_UNMAP);
	ut_complete(2, true);
	/* two segments (we advertise one), unknown flags, zero sectors */
	ut_req(0, VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, false);
	ut_poll();
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_IOERR);
	ut_seg(0, 1, 0x4);
	ut_req(0, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
	ut_poll();
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_UNSUPP);
	ut_seg(0, 0, 0);
	ut_req(0, VIRTIO_BLK_T_DISCARD, 0, 16, false);
	ut_poll();
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_OK);
	assert_int_equal(g_nios, 3);
}

static void
test_enomem_parks_and_retries(void **state)
{
	g_submit_rc = -ENOMEM;
	ut_req(0, VIRTIO_BLK_T_IN, 0, 512, true);
	ut_poll();
	assert_non_null(g_wait);
	assert_int_equal(g_nios, 0);
	assert_int_equal(g_ring.used.idx, 0);
	g_submit_rc = 0;
	g_wait->cb_fn(g_wait->cb_arg);
	assert_int_equal(g_nios, 1);
	ut_complete(0, true);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_OK);
	/* other submit errors fail the request */
	g_submit_rc = -EINVAL;
	ut_req(0, VIRTIO_BLK_T_IN, 0, 512, true);
	ut_poll();
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_IOERR);
}

static void
test_hot_remove_and_resize(void **state)
{
	ut_req(0, VIRTIO_BLK_T_IN, 0, 512, true);
	ut_poll();
	g_event_cb(BDEV_EVENT_REMOVE, &g_bdev, g_event_ctx);
	assert_non_null(g_poller_fn);
	assert_int_equal(g_poller_fn(g_poller_ctx), POLLER_IDLE);	/* one in flight */
	ut_req(3, VIRTIO_BLK_T_IN, 0, 512, true);
	ut_poll();
	assert_int_equal(ut_status(3), VIRTIO_BLK_S_IOERR);	/* new I/O fails at once */
	ut_complete(0, true);
	assert_int_equal(g_poller_fn(g_poller_ctx), POLLER_BUSY);
	assert_int_equal(g_channels_put, 1);
	assert_int_equal(g_closed, 1);
	assert_null(g_blk->bdev);
	{
		uint8_t cfg[64];

		memset(cfg, 0xaa, sizeof(cfg));
		assert_int_equal(blk_get_config(&g_blk->vdev, cfg, sizeof(cfg)), 0);
		assert_int_equal(cfg[0], 0);	/* all-zero config, not an error */
	}
	g_event_cb(BDEV_EVENT_RESIZE, &g_bdev, g_event_ctx);
	assert_int_equal(g_config_changes, 1);
}

static void
test_config_space(void **state)
{
	struct virtio_blk_config cfg;
	uint8_t big[256];

	memset(big, 0xaa, sizeof(big));
	assert_int_equal(blk_get_config(&g_blk->vdev, big, sizeof(big)), 0);
	memcpy(&cfg, big, sizeof(cfg));
	assert_int_equal(cfg.capacity, 1024);
	assert_int_equal(cfg.blk_size, 512);
	assert_int_equal(cfg.seg_max, BLK_SEG_MAX);
	assert_int_equal(cfg.size_max, BLK_SIZE_MAX);
	assert_int_equal(cfg.physical_block_exp, 3);	/* 4096 / 512 */
	assert_int_equal(cfg.wce, 1);
	assert_int_equal(cfg.max_discard_seg, 1);
	assert_int_equal(cfg.max_discard_sectors, BLK_MAX_DISCARD_SECTORS);
	assert_int_equal(cfg.max_write_zeroes_sectors, 16);
	assert_int_equal(cfg.discard_sector_alignment, 1);
	assert_int_equal(big[sizeof(cfg)], 0xaa);	/* nothing written past the struct */
}


/* ---- write cache mode (VIRTIO_BLK_F_CONFIG_WCE) ---- */

#define WCE_OFF ((uint32_t)offsetof(struct virtio_blk_config, wce))

static uint8_t
ut_cfg_wce(struct blk_dev *b)
{
	struct virtio_blk_config cfg;

	assert_int_equal(blk_get_config(&b->vdev, (uint8_t *)&cfg, sizeof(cfg)), 0);
	return cfg.wce;
}

static int
ut_set_wce(uint32_t offset, uint32_t size, uint8_t value)
{
	uint8_t region[256];

	memset(region, value, sizeof(region));
	return blk_set_config(&g_blk->vdev, region, offset, size, 0);
}

/* A second controller "c1" on the stub bdev as it is now; destroyed by ut_put_c1. */
static struct blk_dev *
ut_create_c1(void)
{
	assert_int_equal(vhost_blk_controller_create("c1", "Malloc0", NULL, false, false), 0);
	return g_event_ctx;
}

static void
ut_put_c1(struct blk_dev *b)
{
	free(b->vdev.name);
	blk_destroy(&b->vdev);
}

static void
test_config_wce_offered_iff_flush(void **state)
{
	struct blk_dev *b;
	uint8_t one = 0;

	/* ut_setup's controller: the bdev flushes */
	assert_true(g_register_features & (1ull << VIRTIO_BLK_F_FLUSH));
	assert_true(g_register_features & (1ull << VIRTIO_BLK_F_CONFIG_WCE));

	g_bdev.supported[BDEV_IO_TYPE_FLUSH] = false;
	b = ut_create_c1();
	assert_false(g_register_features & (1ull << VIRTIO_BLK_F_FLUSH));
	assert_false(g_register_features & (1ull << VIRTIO_BLK_F_CONFIG_WCE));
	/* no CONFIG_WCE: wce is read-only, a write is refused and changes nothing */
	assert_int_equal(ut_cfg_wce(b), 1);
	assert_int_equal(blk_set_config(&b->vdev, &one, WCE_OFF, 1, 0), -ENOTSUP);
	assert_int_equal(ut_cfg_wce(b), 1);
	ut_put_c1(b);

	/* flush but no volatile cache: offered, starts in writethrough */
	g_bdev.supported[BDEV_IO_TYPE_FLUSH] = true;
	g_bdev.write_cache = false;
	b = ut_create_c1();
	assert_true(g_register_features & (1ull << VIRTIO_BLK_F_CONFIG_WCE));
	assert_int_equal(ut_cfg_wce(b), 0);
	ut_put_c1(b);
}

static void
test_config_wce_readback(void **state)
{
	assert_int_equal(ut_cfg_wce(g_blk), 1);	/* the bdev's write cache */
	assert_int_equal(ut_set_wce(WCE_OFF, 1, 0), 0);
	assert_int_equal(ut_cfg_wce(g_blk), 0);
	assert_int_equal(ut_set_wce(WCE_OFF, 1, 0), 0);	/* idempotent */
	assert_int_equal(ut_cfg_wce(g_blk), 0);
	assert_int_equal(ut_set_wce(WCE_OFF, 1, 1), 0);
	assert_int_equal(ut_cfg_wce(g_blk), 1);
}

static void
test_set_config_bad_rejected(void **state)
{
	uint8_t start;

	for (start = 0; start <= 1; start++) {
		assert_int_equal(ut_set_wce(WCE_OFF, 1, start), 0);
		/* wrong offset (the byte after wce, the one before, capacity) */
		assert_int_equal(ut_set_wce(WCE_OFF + 1, 1, !start), -EINVAL);
		assert_int_equal(ut_set_wce(WCE_OFF - 1, 1, !start), -EINVAL);
		assert_int_equal(ut_set_wce(0, 1, !start), -EINVAL);
		/* wrong size: empty, two bytes, the whole config */
		assert_int_equal(ut_set_wce(WCE_OFF, 0, !start), -EINVAL);
		assert_int_equal(ut_set_wce(WCE_OFF, 2, !start), -EINVAL);
		assert_int_equal(ut_set_wce(0, sizeof(struct virtio_blk_config), !start),
				 -EINVAL);
		/* values other than 0 and 1 */
		assert_int_equal(ut_set_wce(WCE_OFF, 1, 2), -EINVAL);
		assert_int_equal(ut_set_wce(WCE_OFF, 1, 0xff), -EINVAL);
		assert_int_equal(ut_cfg_wce(g_blk), start);
	}
	/* and the I/O path still runs in writeback (no flush) */
	ut_req(0, VIRTIO_BLK_T_OUT, 0, 512, false);
	ut_poll();
	ut_complete(0, true);
	assert_int_equal(g_nios, 1);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_OK);
}

static void
test_writethrough_write_then_flush(void **state)
{
	assert_int_equal(ut_set_wce(WCE_OFF, 1, 0), 0);
	ut_req(0, VIRTIO_BLK_T_OUT, 2, 512, false);
	ut_poll();
	assert_int_equal(g_nios, 1);
	assert_int_equal(g_ios[0].type, BDEV_IO_TYPE_WRITE);
	ut_complete(0, true);
	/* the write is done, the request is not: a flush of the whole bdev follows */
	assert_int_equal(g_nios, 2);
	assert_int_equal(g_ios[1].type, BDEV_IO_TYPE_FLUSH);
	assert_int_equal(g_ios[1].offset, 0);
	assert_int_equal(g_ios[1].num, 1024);
	assert_int_equal(ut_status(0), 0xff);
	assert_int_equal(g_ring.used.idx, 0);
	assert_int_equal(g_svq->vq.inflight_cnt, 1);
	ut_complete(1, true);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_OK);
	assert_int_equal(g_ring.used.idx, 1);
	assert_int_equal(g_ring.used.ring[0].len, 1);
	assert_int_equal(g_svq->vq.inflight_cnt, 0);

	/* write zeroes, written or unmapped, is a write too */
	ut_seg(8, 16, 0);
	ut_req(0, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
	ut_poll();
	assert_int_equal(g_ios[2].type, BDEV_IO_TYPE_WRITE_ZEROES);
	ut_complete(2, true);
	assert_int_equal(g_ios[3].type, BDEV_IO_TYPE_FLUSH);
	assert_int_equal(g_ring.used.idx, 1);
	ut_complete(3, true);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_OK);
	g_bdev.unmap_zeroes = true;
	ut_seg(8, 16, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	ut_req(0, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
	ut_poll();
	assert_int_equal(g_ios[4].type, BDEV_IO_TYPE_UNMAP);
	ut_complete(4, true);
	assert_int_equal(g_ios[5].type, BDEV_IO_TYPE_FLUSH);
	ut_complete(5, true);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_OK);

	/* reads, discards and flushes are not followed by a flush */
	ut_req(0, VIRTIO_BLK_T_IN, 0, 512, true);
	ut_poll();
	ut_complete(6, true);
	ut_seg(8, 16, 0);
	ut_req(0, VIRTIO_BLK_T_DISCARD, 0, 16, false);
	ut_poll();
	ut_complete(7, true);
	ut_req(0, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	ut_poll();
	ut_complete(8, true);
	assert_int_equal(g_nios, 9);
	assert_int_equal(g_ring.used.idx, 6);
	assert_int_equal(g_svq->vq.inflight_cnt, 0);
}

static void
test_writethrough_errors(void **state)
{
	assert_int_equal(ut_set_wce(WCE_OFF, 1, 0), 0);
	/* the write fails: IOERR at once, no flush */
	ut_req(0, VIRTIO_BLK_T_OUT, 0, 512, false);
	ut_poll();
	ut_complete(0, false);
	assert_int_equal(g_nios, 1);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_IOERR);
	/* the flush fails */
	ut_req(0, VIRTIO_BLK_T_OUT, 0, 512, false);
	ut_poll();
	ut_complete(1, true);
	assert_int_equal(g_ios[2].type, BDEV_IO_TYPE_FLUSH);
	ut_complete(2, false);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(g_ring.used.ring[1].len, 1);
	/* the flush cannot be submitted */
	ut_req(0, VIRTIO_BLK_T_OUT, 0, 512, false);
	ut_poll();
	g_submit_rc = -EINVAL;
	ut_complete(3, true);
	g_submit_rc = 0;
	assert_int_equal(g_nios, 4);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_IOERR);
	/* no bdev_io for the flush: parked, then retried */
	ut_req(0, VIRTIO_BLK_T_OUT, 0, 512, false);
	ut_poll();
	g_submit_rc = -ENOMEM;
	ut_complete(4, true);
	assert_non_null(g_wait);
	assert_int_equal(g_nios, 5);
	assert_int_equal(ut_status(0), 0xff);
	g_submit_rc = 0;
	g_wait->cb_fn(g_wait->cb_arg);
	assert_int_equal(g_ios[5].type, BDEV_IO_TYPE_FLUSH);
	assert_int_equal(ut_status(0), 0xff);
	ut_complete(5, true);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_OK);
	/* no bdev_io and it cannot wait for one */
	ut_req(0, VIRTIO_BLK_T_OUT, 0, 512, false);
	ut_poll();
	g_submit_rc = -ENOMEM;
	g_queue_wait_rc = -EINVAL;
	ut_complete(6, true);
	g_submit_rc = 0;
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(g_ring.used.idx, 5);
	assert_int_equal(g_svq->vq.inflight_cnt, 0);
}

static void
test_writeback_no_flush(void **state)
{
	/* the bdev's default (writeback) and an explicit switch back */
	ut_req(0, VIRTIO_BLK_T_OUT, 0, 512, false);
	ut_poll();
	ut_complete(0, true);
	assert_int_equal(g_nios, 1);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_OK);
	assert_int_equal(ut_set_wce(WCE_OFF, 1, 0), 0);
	assert_int_equal(ut_set_wce(WCE_OFF, 1, 1), 0);
	ut_req(0, VIRTIO_BLK_T_OUT, 0, 512, false);
	ut_poll();
	ut_complete(1, true);
	assert_int_equal(g_nios, 2);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_OK);

	/* the mode is sampled when the write is submitted */
	assert_int_equal(ut_set_wce(WCE_OFF, 1, 0), 0);
	ut_req(0, VIRTIO_BLK_T_OUT, 0, 512, false);
	ut_poll();
	assert_int_equal(ut_set_wce(WCE_OFF, 1, 1), 0);
	ut_complete(2, true);
	assert_int_equal(g_ios[3].type, BDEV_IO_TYPE_FLUSH);
	ut_complete(3, true);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_OK);

	/* writethrough on a bdev without a volatile cache: writes are durable already */
	g_blk->write_cache = false;
	assert_int_equal(ut_set_wce(WCE_OFF, 1, 0), 0);
	ut_req(0, VIRTIO_BLK_T_OUT, 0, 512, false);
	ut_poll();
	ut_complete(4, true);
	assert_int_equal(g_nios, 5);
	assert_int_equal(ut_status(0), VIRTIO_BLK_S_OK);
}

static void
test_create_errors_and_features(void **state)
{
	assert_int_equal(vhost_blk_controller_create("c1", "Nope", NULL, false, false), -ENODEV);
	assert_int_equal(vhost_blk_controller_create("a/b", "Malloc0", NULL, false, false),
			 -EINVAL);
	g_register_rc = -EEXIST;
	assert_int_equal(vhost_blk_controller_create("c1", "Malloc0", NULL, true, true), -EEXIST);
	assert_true(g_register_features & (1ull << VIRTIO_BLK_F_RO));
	assert_true(g_register_features & (1ull << VHOST_F_RING_PACKED));
	assert_false(g_register_features & (1ull << VIRTIO_BLK_F_DISCARD));
	assert_false(g_desc.write);
	g_bdev.block_size = 520;
	g_register_rc = 0;
	assert_int_equal(vhost_blk_controller_create("c1", "Malloc0", NULL, false, false),
			 -EINVAL);
	g_bdev.block_size = 512;
}

static void
test_config_json(void **state)
{
	struct json_object *cfg = json_object_new_array();
	struct json_object *backend = json_object_new_object();

	g_blk->vdev.coal_delay_base_us = 10;
	g_blk->vdev.coal_iops_threshold = 1000;
	blk_write_config_json(&g_blk->vdev, cfg);
	assert_int_equal(json_object_array_length(cfg), 2);
	assert_string_equal(json_object_to_json_string_ext(json_object_array_get_idx(cfg, 0),
							    JSON_C_TO_STRING_PLAIN),
			    "{\"method\":\"vhost_create_blk_controller\",\"params\":{\"ctrlr\":"
			    "\"c0\",\"dev_name\":\"Malloc0\",\"cpumask\":\"0x0\",\"readonly\":"
			    "false,\"packed_ring\":false}}");
	blk_dump_info_json(&g_blk->vdev, backend);
	assert_string_equal(json_object_to_json_string_ext(backend, JSON_C_TO_STRING_PLAIN),
			    "{\"block\":{\"readonly\":false,\"bdev\":\"Malloc0\",\"transport\":"
			    "\"vhost_user_blk\"}}");
	json_object_put(cfg);
	json_object_put(backend);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_header_split_and_status),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test_setup_teardown(test_read_write_zero_copy, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_readonly_and_alignment, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_unsupported_and_malformed, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_reused_id_breaks_queue, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_flush_get_id, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_discard_write_zeroes, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_enomem_parks_and_retries, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_hot_remove_and_resize, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_config_space, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_create_errors_and_features, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_config_json, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_config_wce_offered_iff_flush, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_config_wce_readback, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_set_config_bad_rejected, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_writethrough_write_then_flush, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_writethrough_errors, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_writeback_no_flush, ut_setup, ut_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
