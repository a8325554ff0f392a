/* SPDX-License-Identifier: BSD-3-Clause */
/* In-memory fake bdev for lib/scsi tests (see fake_bdev.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_bdev.h"
#include "vhostd/thread.h"

static TAILQ_HEAD(, bdev) g_fake_bdevs = TAILQ_HEAD_INITIALIZER(g_fake_bdevs);

static int
fake_ch_create(void *io_device, void *ctx_buf)
{
	return 0;
}

static void
fake_ch_destroy(void *io_device, void *ctx_buf)
{
}

struct bdev *
fake_bdev_create(const char *name, uint32_t block_size, uint64_t num_blocks)
{
	struct bdev *b = calloc(1, sizeof(*b));
	int i;

	if (b == NULL) {
		abort();
	}
	snprintf(b->name, sizeof(b->name), "%s", name);
	snprintf(b->product, sizeof(b->product), "Fake Disk");
	b->block_size = block_size;
	b->phys_block_size = block_size;
	b->num_blocks = num_blocks;
	for (i = 0; i < 16; i++) {
		b->uuid.u[i] = (uint8_t)(0x10 + i);
	}
	b->write_cache = true;
	b->unmap_zeroes = true;
	b->supported = (1u << BDEV_IO_TYPE_READ) | (1u << BDEV_IO_TYPE_WRITE) |
		       (1u << BDEV_IO_TYPE_UNMAP) | (1u << BDEV_IO_TYPE_FLUSH) |
		       (1u << BDEV_IO_TYPE_RESET) | (1u << BDEV_IO_TYPE_WRITE_ZEROES);
	/* big fake disks (capacity tests) keep no data */
	if (num_blocks * block_size <= 64ull * 1024 * 1024) {
		b->data = calloc(num_blocks, block_size);
		if (b->data == NULL) {
			abort();
		}
	}
	TAILQ_INIT(&b->pending);
	TAILQ_INIT(&b->descs);
	TAILQ_INSERT_TAIL(&g_fake_bdevs, b, link);
	io_device_register(b, fake_ch_create, fake_ch_destroy, sizeof(int), b->name);
	return b;
}

void
fake_bdev_destroy(struct bdev *b)
{
	TAILQ_REMOVE(&g_fake_bdevs, b, link);
	io_device_unregister(b, NULL);
	free(b->data);
	free(b);
}

struct bdev *
bdev_get_by_name(const char *name)
{
	struct bdev *b;

	TAILQ_FOREACH(b, &g_fake_bdevs, link) {
		if (strcmp(b->name, name) == 0) {
			return b;
		}
	}
	return NULL;
}

const char *
bdev_get_name(const struct bdev *bdev)
{
	return bdev->name;
}

const char *
bdev_get_product_name(const struct bdev *bdev)
{
	return bdev->product;
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

const struct util_uuid *
bdev_get_uuid(const struct bdev *bdev)
{
	return &bdev->uuid;
}

bool
bdev_has_write_cache(const struct bdev *bdev)
{
	return bdev->write_cache;
}

uint32_t
bdev_get_optimal_io_boundary(const struct bdev *bdev)
{
	return bdev->optimal_boundary;
}

uint32_t
bdev_get_max_transfer_blocks(const struct bdev *bdev)
{
	return bdev->max_transfer;
}

uint32_t
bdev_get_physical_block_size(const struct bdev *bdev)
{
	return bdev->phys_block_size;
}

bool
bdev_io_type_supported(const struct bdev *bdev, enum bdev_io_type type)
{
	return (bdev->supported & (1u << type)) != 0;
}

uint64_t
bdev_get_max_unmap_blocks(const struct bdev *bdev)
{
	return bdev->max_unmap;
}

uint64_t
bdev_get_max_write_zeroes_blocks(const struct bdev *bdev)
{
	return bdev->max_write_zeroes;
}

bool
bdev_unmap_reads_zeroes(const struct bdev *bdev)
{
	return bdev->unmap_zeroes;
}

int
bdev_open_ext(const char *name, bool write, bdev_event_cb event_cb, void *event_ctx,
	      struct bdev_desc **descp)
{
	struct bdev *b = bdev_get_by_name(name);
	struct bdev_desc *d;

	if (b == NULL) {
		return -ENODEV;
	}
	if (b->open_rc != 0) {
		return b->open_rc;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		return -ENOMEM;
	}
	d->bdev = b;
	d->write = write;
	d->event_cb = event_cb;
	d->event_ctx = event_ctx;
	TAILQ_INSERT_TAIL(&b->descs, d, link);
	b->open_count++;
	*descp = d;
	return 0;
}

void
bdev_close(struct bdev_desc *desc)
{
	TAILQ_REMOVE(&desc->bdev->descs, desc, link);
	desc->bdev->open_count--;
	free(desc);
}

struct bdev *
bdev_desc_get_bdev(struct bdev_desc *desc)
{
	return desc->bdev;
}

struct io_channel *
bdev_get_io_channel(struct bdev_desc *desc)
{
	return io_channel_get(desc->bdev);
}

static void
fake_io_do(struct bdev_io *io)
{
	struct bdev *b = io->bdev;
	uint64_t pos = io->offset_blocks * b->block_size;
	uint64_t len = io->num_blocks * b->block_size;
	int i;

	if (b->cpl_count > 0 && io->type != BDEV_IO_TYPE_RESET) {
		b->cpl_count--;
		io->status = b->cpl_status;
		io->err = b->cpl_errno;
		return;
	}
	if (b->data == NULL) {
		return;
	}
	switch (io->type) {
	case BDEV_IO_TYPE_READ:
	case BDEV_IO_TYPE_WRITE:
		for (i = 0; i < io->iovcnt && len > 0; i++) {
			uint64_t n = io->iov[i].iov_len < len ? io->iov[i].iov_len : len;

			if (io->type == BDEV_IO_TYPE_READ) {
				memcpy(io->iov[i].iov_base, b->data + pos, n);
			} else {
				memcpy(b->data + pos, io->iov[i].iov_base, n);
			}
			pos += n;
			len -= n;
		}
		break;
	case BDEV_IO_TYPE_UNMAP:
	case BDEV_IO_TYPE_WRITE_ZEROES:
		memset(b->data + pos, 0, len);
		break;
	default:
		break;
	}
}

static void
fake_io_finish(struct bdev_io *io)
{
	io->done = true;
	io->cb(io, io->status == BDEV_IO_STATUS_SUCCESS, io->cb_arg);
}

static void
fake_io_msg(void *ctx)
{
	struct bdev_io *io = ctx;

	fake_io_do(io);
	fake_io_finish(io);
}

static void
fake_reset_msg(void *ctx)
{
	struct bdev_io *io = ctx, *p;
	struct bdev *b = io->bdev;

	while ((p = TAILQ_FIRST(&b->pending)) != NULL) {
		TAILQ_REMOVE(&b->pending, p, link);
		b->num_pending--;
		p->status = BDEV_IO_STATUS_ABORTED;
		fake_io_finish(p);
	}
	fake_io_finish(io);
}

static int
fake_submit(struct bdev_desc *desc, enum bdev_io_type type, struct iovec *iov, int iovcnt,
	    uint64_t offset, uint64_t num, bdev_io_completion_cb cb, void *cb_arg)
{
	struct bdev *b = desc->bdev;
	struct bdev_io *io;
	uint64_t total = 0;
	int i;

	if (b->submit_rc_count > 0) {
		b->submit_rc_count--;
		return b->submit_rc;
	}
	if (!bdev_io_type_supported(b, type)) {
		return -ENOTSUP;
	}
	if (!desc->write && type != BDEV_IO_TYPE_READ && type != BDEV_IO_TYPE_RESET &&
	    type != BDEV_IO_TYPE_FLUSH) {
		return -EBADF;
	}
	if (type != BDEV_IO_TYPE_RESET) {
		if (offset > b->num_blocks || num > b->num_blocks - offset) {
			return -EINVAL;
		}
	}
	if (type == BDEV_IO_TYPE_READ || type == BDEV_IO_TYPE_WRITE) {
		for (i = 0; i < iovcnt; i++) {
			total += iov[i].iov_len;
		}
		if (num == 0 || total < num * b->block_size) {
			return -EINVAL;
		}
	}
	io = calloc(1, sizeof(*io));
	if (io == NULL) {
		return -ENOMEM;
	}
	io->bdev = b;
	io->type = type;
	io->iov = iov;
	io->iovcnt = iovcnt;
	io->offset_blocks = offset;
	io->num_blocks = num;
	io->cb = cb;
	io->cb_arg = cb_arg;
	io->thread = thread_get_current();
	b->submitted[type]++;
	b->last_offset[type] = offset;
	b->last_num[type] = num;
	if (type == BDEV_IO_TYPE_RESET) {
		b->resets++;
		thread_send_msg(io->thread, fake_reset_msg, io);
	} else if (b->hold) {
		TAILQ_INSERT_TAIL(&b->pending, io, link);
		b->num_pending++;
	} else {
		thread_send_msg(io->thread, fake_io_msg, io);
	}
	return 0;
}

uint32_t
fake_bdev_complete(struct bdev *b, uint32_t n)
{
	struct bdev_io *io;
	uint32_t done = 0;

	while ((n == 0 || done < n) && (io = TAILQ_FIRST(&b->pending)) != NULL) {
		TAILQ_REMOVE(&b->pending, io, link);
		b->num_pending--;
		fake_io_do(io);
		fake_io_finish(io);
		done++;
	}
	return done;
}

void
fake_bdev_fail_next(struct bdev *b, enum bdev_io_status status, int err, uint32_t count)
{
	b->cpl_status = status;
	b->cpl_errno = err;
	b->cpl_count = count;
}

void
fake_bdev_submit_fail_next(struct bdev *b, int rc, uint32_t count)
{
	b->submit_rc = rc;
	b->submit_rc_count = count;
}

void
fake_bdev_run_io_wait(struct bdev *b)
{
	struct bdev_io_wait_entry *e;

	while ((e = b->io_wait) != NULL) {
		b->io_wait = e->next;
		e->cb_fn(e->cb_arg);
	}
}

void
fake_bdev_resize(struct bdev *b, uint64_t num_blocks)
{
	struct bdev_desc *d, *tmp;
	uint8_t *data = calloc(num_blocks, b->block_size);

	if (data == NULL) {
		abort();
	}
	memcpy(data, b->data, (num_blocks < b->num_blocks ? num_blocks : b->num_blocks) *
	       b->block_size);
	free(b->data);
	b->data = data;
	b->num_blocks = num_blocks;
	for (d = TAILQ_FIRST(&b->descs); d != NULL; d = tmp) {
		tmp = TAILQ_NEXT(d, link);
		d->event_cb(BDEV_EVENT_RESIZE, b, d->event_ctx);
	}
}

void
fake_bdev_hot_remove(struct bdev *b)
{
	struct bdev_desc *d, *tmp;

	for (d = TAILQ_FIRST(&b->descs); d != NULL; d = tmp) {
		tmp = TAILQ_NEXT(d, link);
		d->event_cb(BDEV_EVENT_REMOVE, b, d->event_ctx);
	}
}

int
bdev_readv_blocks(struct bdev_desc *desc, struct io_channel *ch, struct iovec *iov, int iovcnt,
		  uint64_t offset_blocks, uint64_t num_blocks, bdev_io_completion_cb cb,
		  void *cb_arg)
{
	return fake_submit(desc, BDEV_IO_TYPE_READ, iov, iovcnt, offset_blocks, num_blocks, cb,
			   cb_arg);
}

int
bdev_writev_blocks(struct bdev_desc *desc, struct io_channel *ch, struct iovec *iov,
		   int iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
		   bdev_io_completion_cb cb, void *cb_arg)
{
	return fake_submit(desc, BDEV_IO_TYPE_WRITE, iov, iovcnt, offset_blocks, num_blocks, cb,
			   cb_arg);
}

int
bdev_flush_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
		  uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg)
{
	return fake_submit(desc, BDEV_IO_TYPE_FLUSH, NULL, 0, offset_blocks, num_blocks, cb,
			   cb_arg);
}

int
bdev_unmap_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
		  uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg)
{
	return fake_submit(desc, BDEV_IO_TYPE_UNMAP, NULL, 0, offset_blocks, num_blocks, cb,
			   cb_arg);
}

int
bdev_write_zeroes_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
			 uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg)
{
	return fake_submit(desc, BDEV_IO_TYPE_WRITE_ZEROES, NULL, 0, offset_blocks, num_blocks,
			   cb, cb_arg);
}

int
bdev_reset(struct bdev_desc *desc, struct io_channel *ch, bdev_io_completion_cb cb, void *cb_arg)
{
	return fake_submit(desc, BDEV_IO_TYPE_RESET, NULL, 0, 0, 0, cb, cb_arg);
}

void
bdev_free_io(struct bdev_io *bdev_io)
{
	free(bdev_io);
}

enum bdev_io_status
bdev_io_get_status(const struct bdev_io *bdev_io)
{
	return bdev_io->status;
}

int
bdev_io_get_errno(const struct bdev_io *bdev_io)
{
	return bdev_io->status == BDEV_IO_STATUS_SUCCESS ? 0 : bdev_io->err;
}

enum bdev_io_type
bdev_io_get_type(const struct bdev_io *bdev_io)
{
	return bdev_io->type;
}

int
bdev_queue_io_wait(struct bdev *bdev, struct io_channel *ch, struct bdev_io_wait_entry *entry)
{
	struct bdev_io_wait_entry **p = &bdev->io_wait;

	while (*p != NULL) {
		p = &(*p)->next;
	}
	entry->next = NULL;
	*p = entry;
	return 0;
}
