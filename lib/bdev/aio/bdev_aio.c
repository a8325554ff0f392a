/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AIO bdev: libaio with O_DIRECT. One io_context per channel (thread). The
 * kernel signals completions on an eventfd registered as a thread interrupt,
 * so a reactor in interrupt mode sleeps until I/O completes; in poll mode a
 * poller reaps while I/O is in flight. Unmap and write-zeroes are
 * synchronous fallocate/ioctl calls (as in SPDK's aio module).
 */
#include <errno.h>
#include <libaio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vhostd/log.h"
#include "vhostd/rpc.h"

#include "../bdev_file.h"
#include "bdev_aio.h"

#define AIO_QUEUE_DEPTH	1024
#define AIO_REAP_BATCH	64

struct aio_disk {
	struct bdev		bdev;	/* first */
	char			*filename;
	struct bdev_file	file;
	bool			fallocate;
};

struct aio_channel {
	io_context_t		ctx;
	int			efd;
	uint32_t		inflight;
	struct poller		*poller;
	struct thread_interrupt	*intr;
};

struct aio_task {
	struct iocb		iocb;
};

static struct bdev_module g_aio_module = {
	.name = "aio",
	.ctx_size = sizeof(struct aio_task),
};
BDEV_MODULE_REGISTER(aio, &g_aio_module);

static void
aio_free_disk(void *io_device)
{
	struct aio_disk *disk = io_device;

	bdev_file_close(&disk->file);
	free(disk->filename);
	free(disk->bdev.name);
	free(disk);
}

static void
aio_io_device_unregistered(void *io_device)
{
	struct aio_disk *disk = io_device;

	bdev_destruct_done(&disk->bdev, 0);
	aio_free_disk(disk);
}

static int
aio_destruct(struct bdev *bdev)
{
	io_device_unregister(bdev, aio_io_device_unregistered);
	return 1;
}

/*
 * The kernel's completion ring is mapped at the io_context address (stable
 * ABI since 2.6, used by SPDK and fio's userspace_reap): read it without a
 * syscall. Polling with io_getevents() would cost a syscall per iteration.
 */
#define AIO_RING_MAGIC	0xa10a10a1
struct aio_uring {
	uint32_t	id;
	uint32_t	nr;
	uint32_t	head;
	uint32_t	tail;
	uint32_t	magic;
	uint32_t	compat_features;
	uint32_t	incompat_features;
	uint32_t	header_length;
	struct io_event	events[];
};

static int
aio_getevents(struct aio_channel *ch, struct io_event *events, int max)
{
	struct aio_uring *ring = (struct aio_uring *)ch->ctx;
	struct timespec zero = {0, 0};
	uint32_t head, tail;
	int n = 0;

	if (ring->magic != AIO_RING_MAGIC || ring->incompat_features != 0) {
		return io_getevents(ch->ctx, 0, max, events, &zero);
	}
	head = ring->head;
	tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
	while (head != tail && n < max) {
		events[n++] = ring->events[head];
		head = (head + 1) % ring->nr;
	}
	__atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
	return n;
}

static int
aio_reap(struct aio_channel *ch)
{
	struct io_event events[AIO_REAP_BATCH];
	int n, i;

	if (ch->inflight == 0) {
		return 0;
	}
	n = aio_getevents(ch, events, AIO_REAP_BATCH);
	if (n <= 0) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct aio_task *t = (struct aio_task *)events[i].obj;
		struct bdev_io *io = bdev_io_from_ctx(t);
		long res = (long)events[i].res;

		ch->inflight--;
		if (res < 0) {
			bdev_io_complete_errno(io, (int)res);
		} else if ((io->type == BDEV_IO_TYPE_READ || io->type == BDEV_IO_TYPE_WRITE) &&
			   (uint64_t)res != bdev_io_num_bytes(io)) {
			bdev_io_complete_errno(io, -EIO);
		} else {
			bdev_io_complete(io, BDEV_IO_STATUS_SUCCESS);
		}
	}
	return n;
}

static int
aio_poll(void *arg)
{
	return aio_reap(arg) > 0 ? POLLER_BUSY : POLLER_IDLE;
}

static int
aio_interrupt(void *arg)
{
	struct aio_channel *ch = arg;

	thread_eventfd_drain(ch->efd);
	return aio_reap(ch) > 0 ? POLLER_BUSY : POLLER_IDLE;
}

static int
aio_channel_create(void *io_device, void *ctx)
{
	struct aio_channel *ch = ctx;
	int rc;

	memset(ch, 0, sizeof(*ch));
	ch->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ch->efd < 0) {
		return -errno;
	}
	rc = io_setup(AIO_QUEUE_DEPTH, &ch->ctx);
	if (rc < 0) {
		VHD_ERRLOG("aio: io_setup: %s\n", strerror(-rc));
		goto err_close;
	}
	ch->poller = poller_register(aio_poll, ch, 0, "bdev_aio");
	if (ch->poller == NULL) {
		rc = -ENOMEM;
		goto err_destroy;
	}
	ch->intr = thread_interrupt_register(ch->efd, aio_interrupt, ch, "bdev_aio");
	if (ch->intr == NULL) {
		rc = -ENOMEM;
		goto err_poller;
	}
	return 0;

err_poller:
	poller_unregister(&ch->poller);
err_destroy:
	io_destroy(ch->ctx);
err_close:
	close(ch->efd);
	ch->efd = -1;
	return rc;
}

static void
aio_channel_destroy(void *io_device, void *ctx)
{
	struct aio_channel *ch = ctx;

	thread_interrupt_unregister(&ch->intr);
	poller_unregister(&ch->poller);
	io_destroy(ch->ctx);
	close(ch->efd);
	ch->efd = -1;
}

static void
aio_submit_request(struct io_channel *_ch, struct bdev_io *io)
{
	struct aio_disk *disk = VHD_CONTAINER_OF(io->bdev, struct aio_disk, bdev);
	struct aio_channel *ch = io_channel_get_ctx(_ch);
	struct aio_task *t = bdev_io_get_driver_ctx(io);
	struct iocb *iocb = &t->iocb;
	uint64_t off = io->offset_blocks * disk->bdev.blocklen;
	int rc;

	switch (io->type) {
	case BDEV_IO_TYPE_READ:
		io_prep_preadv(iocb, disk->file.fd, io->iovs, io->iovcnt, (long long)off);
		break;
	case BDEV_IO_TYPE_WRITE:
		io_prep_pwritev(iocb, disk->file.fd, io->iovs, io->iovcnt, (long long)off);
		break;
	case BDEV_IO_TYPE_FLUSH:
		io_prep_fdsync(iocb, disk->file.fd);
		break;
	case BDEV_IO_TYPE_UNMAP:
		bdev_io_complete_errno(io, bdev_file_discard(&disk->file, off,
							     bdev_io_num_bytes(io)));
		return;
	case BDEV_IO_TYPE_WRITE_ZEROES:
		bdev_io_complete_errno(io, bdev_file_zero(&disk->file, off, bdev_io_num_bytes(io)));
		return;
	default:
		bdev_io_complete_status(io, BDEV_IO_STATUS_FAILED, -ENOTSUP);
		return;
	}
	io_set_eventfd(iocb, ch->efd);
	iocb->data = io;
	rc = io_submit(ch->ctx, 1, &iocb);
	if (rc == 1) {
		ch->inflight++;
		return;
	}
	if (rc == -EINVAL && io->type == BDEV_IO_TYPE_FLUSH) {
		/* Old kernels lack IOCB_CMD_FDSYNC. */
		bdev_io_complete_errno(io, fdatasync(disk->file.fd) == 0 ? 0 : -errno);
		return;
	}
	if (rc == -EAGAIN || rc == 0) {
		rc = -ENOMEM;
	}
	VHD_ERRLOG_RATELIMIT("%s: io_submit: %s\n", disk->bdev.name, strerror(-rc));
	bdev_io_complete_errno(io, rc);
}

static bool
aio_io_type_supported(struct bdev *bdev, enum bdev_io_type type)
{
	struct aio_disk *disk = VHD_CONTAINER_OF(bdev, struct aio_disk, bdev);

	switch (type) {
	case BDEV_IO_TYPE_READ:
	case BDEV_IO_TYPE_FLUSH:
		return true;
	case BDEV_IO_TYPE_WRITE:
	case BDEV_IO_TYPE_UNMAP:
	case BDEV_IO_TYPE_WRITE_ZEROES:
		return !disk->file.readonly;
	default:
		return false;
	}
}

static struct io_channel *
aio_get_io_channel(struct bdev *bdev)
{
	return io_channel_get(bdev);
}

static void
aio_dump_info_json(struct bdev *bdev, struct json_object *ds)
{
	struct aio_disk *disk = VHD_CONTAINER_OF(bdev, struct aio_disk, bdev);
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "filename", json_object_new_string(disk->filename));
	json_object_object_add(o, "block_size_override",
			       json_object_new_boolean(disk->file.block_size_override));
	json_object_object_add(o, "readonly", json_object_new_boolean(disk->file.readonly));
	json_object_object_add(o, "fallocate", json_object_new_boolean(disk->fallocate));
	json_object_object_add(o, "direct", json_object_new_boolean(disk->file.direct));
	json_object_object_add(ds, "aio", o);
}

static void
aio_write_config_json(struct bdev *bdev, struct json_object *config)
{
	struct aio_disk *disk = VHD_CONTAINER_OF(bdev, struct aio_disk, bdev);
	struct json_object *p = json_object_new_object();
	char uuid[37];

	util_uuid_fmt(uuid, &bdev->uuid);
	json_object_object_add(p, "name", json_object_new_string(bdev->name));
	json_object_object_add(p, "filename", json_object_new_string(disk->filename));
	if (disk->file.block_size_override) {
		json_object_object_add(p, "block_size", json_object_new_int64(bdev->blocklen));
	}
	json_object_object_add(p, "readonly", json_object_new_boolean(disk->file.readonly));
	json_object_object_add(p, "fallocate", json_object_new_boolean(disk->fallocate));
	json_object_object_add(p, "uuid", json_object_new_string(uuid));
	rpc_config_add(config, "bdev_aio_create", p);
}

static const struct bdev_fn_table aio_fn_table = {
	.destruct		= aio_destruct,
	.submit_request		= aio_submit_request,
	.io_type_supported	= aio_io_type_supported,
	.get_io_channel		= aio_get_io_channel,
	.dump_info_json		= aio_dump_info_json,		/* optional */
	.write_config_json	= aio_write_config_json,	/* optional */
};

int
bdev_aio_create(const struct aio_bdev_opts *opts, struct bdev **_bdev)
{
	struct aio_disk *disk;
	int rc;

	if (opts->name == NULL || opts->name[0] == '\0' || opts->filename == NULL) {
		return -EINVAL;
	}
	if (bdev_get_by_name(opts->name) != NULL) {
		VHD_ERRLOG("aio: bdev %s already exists\n", opts->name);
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
	rc = bdev_file_open(&disk->file, opts->filename, opts->block_size, opts->readonly,
			    opts->name);
	if (rc != 0) {
		goto err_free;
	}
	disk->fallocate = opts->fallocate;
	disk->bdev.product_name = "AIO disk";
	bdev_file_fill_bdev(&disk->bdev, &disk->file);
	disk->bdev.uuid = opts->uuid;
	disk->bdev.fn_table = &aio_fn_table;
	disk->bdev.module = &g_aio_module;

	io_device_register(disk, aio_channel_create, aio_channel_destroy,
			   sizeof(struct aio_channel), opts->name);
	rc = bdev_register(&disk->bdev);
	if (rc != 0) {
		io_device_unregister(disk, aio_free_disk);
		return rc;
	}
	if (_bdev != NULL) {
		*_bdev = &disk->bdev;
	}
	return 0;

err_free:
	aio_free_disk(disk);
	return rc;
}

int
bdev_aio_delete(const char *name, bdev_unregister_cb cb, void *cb_arg)
{
	return bdev_unregister_by_name(name, &g_aio_module, cb, cb_arg);
}

int
bdev_aio_rescan(const char *name)
{
	struct bdev *bdev = bdev_get_by_name(name);
	struct aio_disk *disk;

	if (bdev == NULL || bdev->module != &g_aio_module) {
		return -ENODEV;
	}
	disk = VHD_CONTAINER_OF(bdev, struct aio_disk, bdev);
	return bdev_file_rescan(bdev, &disk->file);
}
