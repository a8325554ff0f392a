/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * io_uring bdev: one ring per channel (thread) with the file registered
 * (IOSQE_FIXED_FILE). Submission is batched: submit_request only fills SQEs,
 * the channel poller calls io_uring_submit() once per reactor iteration and
 * reaps the CQ from user space. An eventfd registered with the ring is a
 * thread interrupt, so an interrupt-mode reactor sleeps until completions
 * arrive; the poller's sleep_cb refuses to sleep with SQEs not yet submitted.
 * Discard is fallocate(PUNCH_HOLE) on files and BLKDISCARD on block devices.
 */
#include <errno.h>
#include <linux/falloc.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vhostd/log.h"
#include "vhostd/rpc.h"

#include "../bdev_file.h"
#include "bdev_uring.h"

#define URING_QUEUE_DEPTH	1024
#define URING_REAP_BATCH	64

struct uring_disk {
	struct bdev		bdev;	/* first */
	char			*filename;
	struct bdev_file	file;
};

struct uring_channel {
	struct io_uring		ring;
	bool			ring_ok;
	bool			fixed;		/* fd registered as fixed file 0 */
	int			efd;
	int			fd;
	bool			evfd_on;	/* completions signal the eventfd */
	uint32_t		queued;		/* SQEs filled, not yet submitted */
	uint32_t		inflight;
	struct poller		*poller;
	struct thread_interrupt	*intr;
};

static struct bdev_module g_uring_module = {
	.name = "uring",
	.ctx_size = 0,
};
BDEV_MODULE_REGISTER(uring, &g_uring_module);

static void
uring_free_disk(void *io_device)
{
	struct uring_disk *disk = io_device;

	bdev_file_close(&disk->file);
	free(disk->filename);
	free(disk->bdev.name);
	free(disk);
}

static void
uring_io_device_unregistered(void *io_device)
{
	struct uring_disk *disk = io_device;

	bdev_destruct_done(&disk->bdev, 0);
	uring_free_disk(disk);
}

static int
uring_destruct(struct bdev *bdev)
{
	io_device_unregister(bdev, uring_io_device_unregistered);
	return 1;
}

static int
uring_flush_sq(struct uring_channel *ch)
{
	int rc;

	if (ch->queued == 0) {
		return 0;
	}
	rc = io_uring_submit(&ch->ring);
	if (rc > 0) {
		ch->inflight += (uint32_t)rc;
		ch->queued -= VHD_MIN((uint32_t)rc, ch->queued);
	} else if (rc < 0 && rc != -EAGAIN && rc != -EBUSY) {
		VHD_ERRLOG_RATELIMIT("uring: io_uring_submit: %s\n", strerror(-rc));
	}
	return rc;
}

static int
uring_reap(struct uring_channel *ch)
{
	struct io_uring_cqe *cqe;
	unsigned head;
	int n = 0;

	io_uring_for_each_cqe(&ch->ring, head, cqe) {
		struct bdev_io *io = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		n++;
		ch->inflight--;
		if (res < 0) {
			bdev_io_complete_errno(io, res);
		} else if ((io->type == BDEV_IO_TYPE_READ || io->type == BDEV_IO_TYPE_WRITE) &&
			   (uint64_t)res != bdev_io_num_bytes(io)) {
			bdev_io_complete_errno(io, -EIO);
		} else {
			bdev_io_complete(io, BDEV_IO_STATUS_SUCCESS);
		}
		if (n == URING_REAP_BATCH) {
			break;
		}
	}
	io_uring_cq_advance(&ch->ring, (unsigned)n);
	return n;
}

static int
uring_poll(void *arg)
{
	struct uring_channel *ch = arg;
	int n = 0;

	if (ch->evfd_on) {
		/* Awake and polling: spare the kernel an eventfd write per completion. */
		io_uring_cq_eventfd_toggle(&ch->ring, false);
		ch->evfd_on = false;
	}
	if (ch->queued != 0) {
		uring_flush_sq(ch);
		n = 1;
	}
	if (ch->inflight != 0) {
		n += uring_reap(ch);
	}
	return n > 0 ? POLLER_BUSY : POLLER_IDLE;
}

static bool
uring_sleep_ok(void *arg)
{
	struct uring_channel *ch = arg;

	if (ch->queued != 0) {
		uring_flush_sq(ch);
		return false;
	}
	/* Re-arm the eventfd, then look again: a completion may have raced in. */
	if (!ch->evfd_on) {
		io_uring_cq_eventfd_toggle(&ch->ring, true);
		ch->evfd_on = true;
	}
	return !io_uring_cq_ready(&ch->ring);
}

static int
uring_interrupt(void *arg)
{
	struct uring_channel *ch = arg;

	thread_eventfd_drain(ch->efd);
	return uring_reap(ch) > 0 ? POLLER_BUSY : POLLER_IDLE;
}

static int
uring_channel_create(void *io_device, void *ctx)
{
	struct uring_disk *disk = io_device;
	struct uring_channel *ch = ctx;
	int rc;

	memset(ch, 0, sizeof(*ch));
	ch->efd = -1;
	rc = io_uring_queue_init(URING_QUEUE_DEPTH, &ch->ring, 0);
	if (rc < 0) {
		VHD_ERRLOG("%s: io_uring_queue_init: %s\n", disk->bdev.name, strerror(-rc));
		return rc;
	}
	ch->ring_ok = true;
	ch->fd = disk->file.fd;
	if (io_uring_register_files(&ch->ring, &disk->file.fd, 1) == 0) {
		ch->fixed = true;
		ch->fd = 0;
	}
	ch->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ch->efd < 0) {
		rc = -errno;
		goto err;
	}
	rc = io_uring_register_eventfd(&ch->ring, ch->efd);
	if (rc < 0) {
		goto err;
	}
	ch->evfd_on = true;
	ch->poller = poller_register(uring_poll, ch, 0, "bdev_uring");
	if (ch->poller == NULL) {
		rc = -ENOMEM;
		goto err;
	}
	poller_set_sleep_cb(ch->poller, uring_sleep_ok);
	ch->intr = thread_interrupt_register(ch->efd, uring_interrupt, ch, "bdev_uring");
	if (ch->intr == NULL) {
		rc = -ENOMEM;
		goto err;
	}
	return 0;

err:
	poller_unregister(&ch->poller);
	if (ch->efd >= 0) {
		close(ch->efd);
		ch->efd = -1;
	}
	io_uring_queue_exit(&ch->ring);
	return rc;
}

static void
uring_channel_destroy(void *io_device, void *ctx)
{
	struct uring_channel *ch = ctx;

	thread_interrupt_unregister(&ch->intr);
	poller_unregister(&ch->poller);
	io_uring_queue_exit(&ch->ring);
	close(ch->efd);
	ch->efd = -1;
}

static bool uring_io_type_supported(struct bdev *bdev, enum bdev_io_type type);

static void
uring_submit_request(struct io_channel *_ch, struct bdev_io *io)
{
	struct uring_disk *disk = VHD_CONTAINER_OF(io->bdev, struct uring_disk, bdev);
	struct uring_channel *ch = io_channel_get_ctx(_ch);
	uint64_t off = io->offset_blocks * disk->bdev.blocklen;
	uint64_t len = bdev_io_num_bytes(io);
	struct io_uring_sqe *sqe;

	if (!uring_io_type_supported(io->bdev, io->type)) {
		bdev_io_complete_status(io, BDEV_IO_STATUS_FAILED, -ENOTSUP);
		return;
	}
	if (io->type == BDEV_IO_TYPE_UNMAP && disk->file.is_blockdev) {
		bdev_io_complete_errno(io, bdev_file_discard(&disk->file, off, len));
		return;
	}
	if (io->type == BDEV_IO_TYPE_WRITE_ZEROES && disk->file.is_blockdev) {
		bdev_io_complete_errno(io, bdev_file_zero(&disk->file, off, len));
		return;
	}
	sqe = io_uring_get_sqe(&ch->ring);
	if (sqe == NULL) {
		uring_flush_sq(ch);
		sqe = io_uring_get_sqe(&ch->ring);
		if (sqe == NULL) {
			bdev_io_complete_errno(io, -ENOMEM);
			return;
		}
	}
	switch (io->type) {
	case BDEV_IO_TYPE_READ:
		io_uring_prep_readv(sqe, ch->fd, io->iovs, (unsigned)io->iovcnt, off);
		break;
	case BDEV_IO_TYPE_WRITE:
		io_uring_prep_writev(sqe, ch->fd, io->iovs, (unsigned)io->iovcnt, off);
		break;
	case BDEV_IO_TYPE_FLUSH:
		io_uring_prep_fsync(sqe, ch->fd, IORING_FSYNC_DATASYNC);
		break;
	case BDEV_IO_TYPE_UNMAP:
		io_uring_prep_fallocate(sqe, ch->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					off, len);
		break;
	case BDEV_IO_TYPE_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, ch->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					off, len);
		break;
	default:
		/* Unreachable: the core checks io_type_supported. Keep the SQE harmless. */
		io_uring_prep_nop(sqe);
		break;
	}
	if (ch->fixed) {
		io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	}
	io_uring_sqe_set_data(sqe, io);
	ch->queued++;
}

static bool
uring_io_type_supported(struct bdev *bdev, enum bdev_io_type type)
{
	switch (type) {
	case BDEV_IO_TYPE_READ:
	case BDEV_IO_TYPE_WRITE:
	case BDEV_IO_TYPE_FLUSH:
	case BDEV_IO_TYPE_UNMAP:
	case BDEV_IO_TYPE_WRITE_ZEROES:
		return true;
	default:
		return false;
	}
}

static struct io_channel *
uring_get_io_channel(struct bdev *bdev)
{
	return io_channel_get(bdev);
}

static void
uring_dump_info_json(struct bdev *bdev, struct json_object *ds)
{
	struct uring_disk *disk = VHD_CONTAINER_OF(bdev, struct uring_disk, bdev);
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "filename", json_object_new_string(disk->filename));
	json_object_object_add(o, "direct", json_object_new_boolean(disk->file.direct));
	json_object_object_add(ds, "uring", o);
}

static void
uring_write_config_json(struct bdev *bdev, struct json_object *config)
{
	struct uring_disk *disk = VHD_CONTAINER_OF(bdev, struct uring_disk, bdev);
	struct json_object *p = json_object_new_object();
	char uuid[37];

	util_uuid_fmt(uuid, &bdev->uuid);
	json_object_object_add(p, "name", json_object_new_string(bdev->name));
	json_object_object_add(p, "filename", json_object_new_string(disk->filename));
	json_object_object_add(p, "block_size", json_object_new_int64(bdev->blocklen));
	json_object_object_add(p, "uuid", json_object_new_string(uuid));
	rpc_config_add(config, "bdev_uring_create", p);
}

static const struct bdev_fn_table uring_fn_table = {
	.destruct		= uring_destruct,
	.submit_request		= uring_submit_request,
	.io_type_supported	= uring_io_type_supported,
	.get_io_channel		= uring_get_io_channel,
	.dump_info_json		= uring_dump_info_json,		/* optional */
	.write_config_json	= uring_write_config_json,	/* optional */
};

int
bdev_uring_create(const struct uring_bdev_opts *opts, struct bdev **_bdev)
{
	struct uring_disk *disk;
	int rc;

	if (opts->name == NULL || opts->name[0] == '\0' || opts->filename == NULL) {
		return -EINVAL;
	}
	if (bdev_get_by_name(opts->name) != NULL) {
		VHD_ERRLOG("uring: bdev %s already exists\n", opts->name);
		return -EEXIST;
	}
	disk = calloc(1, sizeof(*disk));
	if (disk == NULL) {
		return -ENOMEM;
	}
	disk->file.fd = -1;
	disk->bdev.name = strdup(opts->name);
	disk->filename = strdup(opts->filename);
	if (disk->bdev.name == NULL || disk->filename == NULL) {
		rc = -ENOMEM;
		goto err_free;
	}
	rc = bdev_file_open(&disk->file, opts->filename, opts->block_size, false, opts->name);
	if (rc != 0) {
		goto err_free;
	}
	disk->bdev.product_name = "URING bdev";
	bdev_file_fill_bdev(&disk->bdev, &disk->file);
	disk->bdev.uuid = opts->uuid;
	disk->bdev.fn_table = &uring_fn_table;
	disk->bdev.module = &g_uring_module;

	io_device_register(disk, uring_channel_create, uring_channel_destroy,
			   sizeof(struct uring_channel), opts->name);
	rc = bdev_register(&disk->bdev);
	if (rc != 0) {
		io_device_unregister(disk, uring_free_disk);
		return rc;
	}
	if (_bdev != NULL) {
		*_bdev = &disk->bdev;
	}
	return 0;

err_free:
	uring_free_disk(disk);
	return rc;
}

int
bdev_uring_delete(const char *name, bdev_unregister_cb cb, void *cb_arg)
{
	return bdev_unregister_by_name(name, &g_uring_module, cb, cb_arg);
}

int
bdev_uring_rescan(const char *name)
{
	struct bdev *bdev = bdev_get_by_name(name);
	struct uring_disk *disk;

	if (bdev == NULL || bdev->module != &g_uring_module) {
		return -ENODEV;
	}
	disk = VHD_CONTAINER_OF(bdev, struct uring_disk, bdev);
	return bdev_file_rescan(bdev, &disk->file);
}
