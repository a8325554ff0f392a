/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the vhost-blk request path (lib/vhost/vhost_blk.c over
 * lib/vhost/virtqueue.c) against a hostile guest and a stub bdev whose
 * completions, failures, -ENOMEM parking, resize and hot-remove the input
 * schedules. Also GET_CONFIG / SET_CONFIG through the personality's ops with
 * every length the vhost-user pre-message hook lets through (<= 256 bytes).
 *
 * Input: [0] mode (bit0 packed, bit1 event_idx, bit2 indirect, bit3 readonly,
 * bit4 4K blocks, bit5 no flush, bit6 no unmap / write-zeroes, bit7 unmap
 * reads zeroes), [1] queue size, [2..3] start index, [4] op count N, N op
 * bytes, then guest memory (see ../common/fuzz_guest.h).
 *
 * Checked: every bdev I/O's iovecs lie in guest memory and cover exactly
 * num_blocks * block_size; every completion targets a busy task; after all
 * I/O is completed nothing is left in flight, no task stays busy and every
 * channel is put; a hot-remove closes the descriptor once idle; config reads
 * never overrun their buffer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../lib/vhost/virtqueue.c"
#include "../../../lib/vhost/vhost_blk.c"
#include "../common/fuzz_guest.h"

static struct fg_guest g_guest;

/* vhost.c's VHU_CONFIG_MAX: the largest config payload the hook passes on. */
#define VHU_CONFIG_MAX_FUZZ	256

/* ---- stubs: vhost core, thread, rpc ---- */

pthread_mutex_t g_vhost_mutex = PTHREAD_MUTEX_INITIALIZER;

int
vhost_name_check(const char *name)
{
	return 0;
}

int
vhost_dev_register(struct vhost_dev *vdev, const char *name, const char *cpumask,
		   const struct vhost_dev_ops *ops, uint64_t virtio_features,
		   uint64_t protocol_features)
{
	vdev->name = strdup(name);
	vdev->ops = ops;
	vdev->nqthreads = 1;
	vdev->virtio_features = virtio_features;
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

/* One poller at a time (the hot-remove drain poller); run by run_pollers(). */
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
	if (*p == (struct poller *)&g_poller_fn) {
		g_poller_fn = NULL;
	}
	*p = NULL;
}

static void
run_pollers(void)
{
	int i;

	for (i = 0; i < 4 && g_poller_fn != NULL; i++) {
		g_poller_fn(g_poller_ctx);
	}
}

void
rpc_config_add(struct json_object *config, const char *method, struct json_object *params)
{
	json_object_put(params);
}

/* ---- stub bdev ---- */

struct bdev {
	const char	*name;
	uint32_t	block_size;
	uint64_t	num_blocks;
	bool		supported[BDEV_NUM_IO_TYPES];
	bool		unmap_zeroes;
};

struct bdev_desc {
	struct bdev	*bdev;
	bool		open;
};

struct bdev_io {
	enum bdev_io_type	type;
	bdev_io_completion_cb	cb;
	void			*cb_arg;
};

#define MAX_IOS		512
#define MAX_WAITS	512

static struct bdev g_bdev;
static struct bdev_desc g_desc;
static int g_channel;
static int g_channels;
static struct bdev_io g_ios[MAX_IOS];
static uint32_t g_nios;
static int g_submit_rc;
static struct bdev_io_wait_entry *g_waits[MAX_WAITS];
static uint32_t g_nwaits;
static bdev_event_cb g_event_cb;
static void *g_event_ctx;

int
bdev_open_ext(const char *name, bool write, bdev_event_cb event_cb, void *event_ctx,
	      struct bdev_desc **desc)
{
	FG_CHECK(!g_desc.open);
	g_desc.bdev = &g_bdev;
	g_desc.open = true;
	g_event_cb = event_cb;
	g_event_ctx = event_ctx;
	*desc = &g_desc;
	return 0;
}

void
bdev_close(struct bdev_desc *desc)
{
	FG_CHECK(desc == &g_desc && g_desc.open);
	g_desc.open = false;
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
	return true;
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
	FG_CHECK(desc->open);
	g_channels++;
	return (struct io_channel *)&g_channel;
}

void
io_channel_put(struct io_channel *ch)
{
	FG_CHECK(g_channels > 0);
	g_channels--;
}

static int
stub_submit(enum bdev_io_type type, struct iovec *iov, int iovcnt, uint64_t num,
	    bdev_io_completion_cb cb, void *cb_arg)
{
	struct blk_task *task = cb_arg;
	uint64_t total = 0;
	int i;

	FG_CHECK(g_desc.open);
	FG_CHECK(task->busy);
	FG_CHECK(num > 0);
	if (iov != NULL) {
		FG_CHECK(iovcnt > 0 && iovcnt <= BLK_IOV_MAX);
		for (i = 0; i < iovcnt; i++) {
			FG_CHECK(iov[i].iov_len == 0 ||
				 fg_guest_contains(&g_guest, iov[i].iov_base, iov[i].iov_len));
			total += iov[i].iov_len;
			if (iov[i].iov_len > 0 && type == BDEV_IO_TYPE_READ) {
				/* The device writes guest memory: must be device-writable. */
				((uint8_t *)iov[i].iov_base)[0] = 0xd1;
				((uint8_t *)iov[i].iov_base)[iov[i].iov_len - 1] = 0xd2;
			}
		}
		FG_CHECK(total == num * g_bdev.block_size);
	}
	if (g_submit_rc != 0) {
		return g_submit_rc;
	}
	FG_CHECK(g_nios < MAX_IOS);
	g_ios[g_nios++] = (struct bdev_io){type, cb, cb_arg};
	return 0;
}

int
bdev_readv_blocks(struct bdev_desc *desc, struct io_channel *ch, struct iovec *iov, int iovcnt,
		  uint64_t offset_blocks, uint64_t num_blocks, bdev_io_completion_cb cb,
		  void *cb_arg)
{
	return stub_submit(BDEV_IO_TYPE_READ, iov, iovcnt, num_blocks, cb, cb_arg);
}

int
bdev_writev_blocks(struct bdev_desc *desc, struct io_channel *ch, struct iovec *iov, int iovcnt,
		   uint64_t offset_blocks, uint64_t num_blocks, bdev_io_completion_cb cb,
		   void *cb_arg)
{
	FG_CHECK(!to_blk(((struct blk_task *)cb_arg)->svq->session->vdev)->readonly);
	return stub_submit(BDEV_IO_TYPE_WRITE, iov, iovcnt, num_blocks, cb, cb_arg);
}

int
bdev_flush_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
		  uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg)
{
	return stub_submit(BDEV_IO_TYPE_FLUSH, NULL, 0, num_blocks ? num_blocks : 1, cb, cb_arg);
}

int
bdev_unmap_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
		  uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg)
{
	return stub_submit(BDEV_IO_TYPE_UNMAP, NULL, 0, num_blocks, cb, cb_arg);
}

int
bdev_write_zeroes_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
			 uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg)
{
	return stub_submit(BDEV_IO_TYPE_WRITE_ZEROES, NULL, 0, num_blocks, cb, cb_arg);
}

void
bdev_free_io(struct bdev_io *bdev_io)
{
}

int
bdev_queue_io_wait(struct bdev *bdev, struct io_channel *ch, struct bdev_io_wait_entry *entry)
{
	if (g_nwaits == MAX_WAITS) {
		return -EINVAL;
	}
	g_waits[g_nwaits++] = entry;
	return 0;
}

/* ---- the target ---- */

static void
complete_io(uint32_t k, bool success)
{
	struct bdev_io io = g_ios[k];

	memmove(&g_ios[k], &g_ios[k + 1], (g_nios - k - 1) * sizeof(g_ios[0]));
	g_nios--;
	FG_CHECK(((struct blk_task *)io.cb_arg)->busy);
	io.cb(&io, success, io.cb_arg);
}

static void
retry_wait(void)
{
	struct bdev_io_wait_entry *e = g_waits[0];

	memmove(&g_waits[0], &g_waits[1], (g_nwaits - 1) * sizeof(g_waits[0]));
	g_nwaits--;
	e->cb_fn(e->cb_arg);
}

static void
config_ops(struct vhost_dev *vdev, uint8_t arg, uint8_t arg2)
{
	uint32_t len = ((uint32_t)arg << 8 | arg2) % (VHU_CONFIG_MAX_FUZZ + 1);
	uint8_t *buf = malloc(len ? len : 1);
	uint32_t off = arg2 % (VHU_CONFIG_MAX_FUZZ + 1 - len);
	int rc;

	/* What the pre-message hook lets through: size <= 256, offset + size <= 256. */
	FG_CHECK(vdev->ops->get_config(vdev, buf, len) == 0);
	/* Only a one-byte write of wce (0 or 1) with CONFIG_WCE is taken. */
	rc = vdev->ops->set_config(vdev, buf, off, len, arg);
	FG_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOTSUP);
	FG_CHECK(rc != 0 || (off == offsetof(struct virtio_blk_config, wce) && len == 1 &&
			     buf[0] <= 1));
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_in in = {data, size, 0};
	struct vhost_session *s;
	struct vhost_session_vq *svq;
	struct blk_dev *bd;
	const uint8_t *ops;
	uint8_t mode, nops;
	uint16_t start;
	uint32_t i;
	bool removed = false;

	mode = fg_u8(&in);
	memset(&g_bdev, 0, sizeof(g_bdev));
	g_bdev.name = "Fuzz0";
	g_bdev.block_size = (mode & 0x10) ? 4096 : 512;
	g_bdev.num_blocks = 1 << 20;
	g_bdev.supported[BDEV_IO_TYPE_READ] = true;
	g_bdev.supported[BDEV_IO_TYPE_WRITE] = true;
	g_bdev.supported[BDEV_IO_TYPE_FLUSH] = !(mode & 0x20);
	g_bdev.supported[BDEV_IO_TYPE_UNMAP] = !(mode & 0x40);
	g_bdev.supported[BDEV_IO_TYPE_WRITE_ZEROES] = !(mode & 0x40) || (mode & 0x80);
	g_bdev.unmap_zeroes = mode & 0x80;
	g_nios = 0;
	g_nwaits = 0;
	g_submit_rc = 0;
	g_channels = 0;

	FG_CHECK(vhost_blk_controller_create("fz0", "Fuzz0", NULL, mode & 8, mode & 1) == 0);
	bd = g_event_ctx;

	s = calloc(1, sizeof(*s));
	s->vdev = &bd->vdev;
	snprintf(s->name, sizeof(s->name), "fz0s0");
	s->ngrps = 1;
	s->grps[0].session = s;
	svq = &s->vqs[0];
	svq->session = s;
	svq->grp = &s->grps[0];
	svq->vq.packed = mode & 1;
	svq->vq.event_idx = (mode >> 1) & 1;
	svq->vq.indirect = (mode >> 2) & 1;
	if (svq->vq.packed) {
		svq->vq.size = (uint16_t)(1 + fg_u8(&in) % FG_QMAX);
	} else {
		svq->vq.size = (uint16_t)(1u << (fg_u8(&in) % 9));
	}
	start = fg_u16(&in);
	if (svq->vq.packed) {
		svq->vq.last_avail_idx = svq->vq.last_used_idx =
			(uint16_t)((start & 0x7fff) % svq->vq.size);
		svq->vq.avail_wrap = svq->vq.used_wrap = !(start & 0x8000);
	} else {
		svq->vq.last_avail_idx = svq->vq.last_used_idx = start;
	}
	svq->vq.callfd = -1;
	svq->vq.kickfd = -1;
	nops = fg_u8(&in);
	ops = in.p + in.pos;
	if (in.len - in.pos < nops) {
		nops = (uint8_t)(in.len - in.pos);
	}
	in.pos += nops;
	fg_guest_init(&g_guest, in.p + in.pos, in.len - in.pos);
	fg_guest_ring(&g_guest, &svq->vq);
	FG_CHECK(vhost_vq_init(&svq->vq) == 0);
	FG_CHECK(blk_grp_start(s, &s->grps[0]) == 0);
	FG_CHECK(blk_vq_start(s, svq) == 0);
	s->max_queues = 1;
	g_session = s;
	g_poller_fn = NULL;

	for (i = 0; i < (uint32_t)nops + 4; i++) {
		uint8_t op = i < nops ? ops[i] : 0;	/* then a few more polls */
		uint8_t arg = op >> 3;
		uint8_t arg2 = i + 1 < nops ? ops[i + 1] : 0;

		switch (op & 7) {
		case 0:
		case 1:
			blk_vq_poll(s, svq, 1 + arg % VHOST_VQ_POLL_BUDGET);
			break;
		case 2:
			if (g_nios > 0) {
				complete_io((arg & 2) ? g_nios - 1 : 0, !(arg & 1));
			}
			break;
		case 3:
			g_submit_rc = (arg & 3) == 1 ? -ENOMEM : (arg & 3) == 2 ? -EIO : 0;
			break;
		case 4:
			if (g_nwaits > 0) {
				retry_wait();
			}
			break;
		case 5: {
			uint32_t off = ((uint32_t)arg << 8 | arg2) % (FG_USED_OFF + 8u * FG_QMAX);

			g_guest.mem[0][off] = (uint8_t)(i * 37);
			g_guest.mem[0][off + 1] = arg;
			break;
		}
		case 6:
			if (arg & 1) {
				config_ops(&bd->vdev, arg >> 1, arg2);
			} else if (!svq->vq.packed) {
				blk_vq_resubmit(s, svq, (uint16_t)(arg2 % (svq->vq.size + 1)));
			}
			break;
		case 7:
			if ((arg & 1) && !removed) {
				removed = true;
				g_event_cb(BDEV_EVENT_REMOVE, &g_bdev, g_event_ctx);
			} else {
				g_bdev.num_blocks = (uint64_t)arg2 << (arg & 31);
				g_event_cb(BDEV_EVENT_RESIZE, &g_bdev, g_event_ctx);
				config_ops(&bd->vdev, 0, 60);
			}
			break;
		}
	}

	/* Drain: parked requests resubmit, every I/O completes, nothing stays in flight. */
	g_submit_rc = 0;
	while (g_nwaits > 0 || g_nios > 0) {
		while (g_nwaits > 0) {
			retry_wait();
		}
		while (g_nios > 0) {
			complete_io(0, true);
		}
	}
	FG_CHECK(svq->vq.inflight_cnt == 0);
	for (i = 0; i < svq->vq.size; i++) {
		FG_CHECK(!((struct blk_vq *)svq->priv)->tasks[i].busy);
	}
	blk_vq_poll(s, svq, 1);	/* releases the channel after a hot-remove */
	run_pollers();
	blk_vq_stop(s, svq);
	blk_grp_stop(s, &s->grps[0]);
	g_session = NULL;
	FG_CHECK(g_channels == 0);
	FG_CHECK(!removed || !g_desc.open);
	free(s);
	free(bd->vdev.name);
	blk_destroy(&bd->vdev);
	FG_CHECK(!g_desc.open);
	return 0;
}
