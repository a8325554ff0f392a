/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Error-injection bdev. EE_<base> passes I/O to its base, except the next
 * `num` I/Os of an armed type, which fail, hang (pending) or have one data
 * byte corrupted. Pending I/Os are held per channel and aborted by a reset
 * (on every channel) or when the bdev goes away. Injection counters are
 * shared by all threads: they are decremented atomically.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/log.h"
#include "vhostd/rpc.h"

#include "bdev_error.h"

struct error_inject {
	enum error_inject_type	type;
	uint32_t		count;	/* atomic */
	uint64_t		corrupt_offset;
	uint8_t			corrupt_value;
};

struct error_disk {
	struct bdev		bdev;	/* first */
	struct bdev_desc	*base_desc;
	struct bdev		*base;
	struct error_inject	inject[BDEV_NUM_IO_TYPES];
	TAILQ_ENTRY(error_disk)	link;
};

struct error_task {
	struct bdev_io_wait_entry	wait;
	struct io_channel		*ch;
	enum error_inject_type		action;
	uint64_t			corrupt_offset;
	uint8_t				corrupt_value;
	TAILQ_ENTRY(error_task)		link;
};

struct error_channel {
	struct io_channel		*base_ch;
	TAILQ_HEAD(, error_task)	pending;
};

static struct bdev_module g_error_module = {
	.name = "error",
	.ctx_size = sizeof(struct error_task),
};
BDEV_MODULE_REGISTER(error, &g_error_module);

static void
error_free_disk(void *io_device)
{
	struct error_disk *disk = io_device;

	free(disk->bdev.name);
	free(disk);
}

static void
error_io_device_unregistered(void *io_device)
{
	struct error_disk *disk = io_device;

	bdev_destruct_done(&disk->bdev, 0);
	error_free_disk(disk);
}

static int
error_destruct(struct bdev *bdev)
{
	struct error_disk *disk = VHD_CONTAINER_OF(bdev, struct error_disk, bdev);

	bdev_close(disk->base_desc);
	disk->base_desc = NULL;
	io_device_unregister(disk, error_io_device_unregistered);
	return 1;
}

static void
error_corrupt(struct bdev_io *io, uint64_t off, uint8_t value)
{
	int i;

	for (i = 0; i < io->iovcnt; i++) {
		if (off < io->iovs[i].iov_len) {
			((uint8_t *)io->iovs[i].iov_base)[off] ^= value;
			return;
		}
		off -= io->iovs[i].iov_len;
	}
}

static void error_resubmit(void *arg);

static void
error_base_done(struct bdev_io *base_io, bool success, void *arg)
{
	struct bdev_io *io = arg;
	struct error_task *t = bdev_io_get_driver_ctx(io);

	if (success && t->action == ERROR_INJECT_CORRUPT && io->type == BDEV_IO_TYPE_READ) {
		error_corrupt(io, t->corrupt_offset, t->corrupt_value);
	}
	bdev_io_complete_like(io, base_io);
	bdev_free_io(base_io);
}

static void
error_forward(struct bdev_io *io)
{
	struct error_disk *disk = VHD_CONTAINER_OF(io->bdev, struct error_disk, bdev);
	struct error_task *t = bdev_io_get_driver_ctx(io);
	struct error_channel *ch = io_channel_get_ctx(t->ch);
	int rc;

	rc = bdev_io_forward(io, disk->base_desc, ch->base_ch, error_base_done, io);
	if (rc == -ENOMEM) {
		t->wait.cb_fn = error_resubmit;
		t->wait.cb_arg = io;
		rc = bdev_queue_io_wait(disk->base, ch->base_ch, &t->wait);
	}
	if (rc != 0) {
		bdev_io_complete_errno(io, rc);
	}
}

static void
error_resubmit(void *arg)
{
	error_forward(arg);
}

static bool
error_take(struct error_inject *inj)
{
	uint32_t c = __atomic_load_n(&inj->count, __ATOMIC_RELAXED);

	while (c > 0) {
		if (__atomic_compare_exchange_n(&inj->count, &c, c - 1, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			return true;
		}
	}
	return false;
}

struct error_reset_ctx {
	struct bdev_io	*io;
};

static void
error_abort_pending_ch(struct io_channel_iter *i)
{
	struct error_channel *ch = io_channel_get_ctx(io_channel_iter_get_channel(i));
	struct error_task *t;

	while ((t = TAILQ_FIRST(&ch->pending)) != NULL) {
		TAILQ_REMOVE(&ch->pending, t, link);
		bdev_io_complete(bdev_io_from_ctx(t), BDEV_IO_STATUS_ABORTED);
	}
	io_channel_iter_continue(i, 0);
}

static void
error_abort_pending_done(struct io_channel_iter *i, int status)
{
	struct bdev_io *io = io_channel_iter_get_ctx(i);

	/* Pending I/O is gone everywhere: now reset the base. */
	error_forward(io);
}

static void
error_submit_request(struct io_channel *_ch, struct bdev_io *io)
{
	struct error_disk *disk = VHD_CONTAINER_OF(io->bdev, struct error_disk, bdev);
	struct error_channel *ch = io_channel_get_ctx(_ch);
	struct error_task *t = bdev_io_get_driver_ctx(io);
	struct error_inject *inj = &disk->inject[io->type];

	t->ch = _ch;
	t->action = ERROR_INJECT_NONE;
	if (io->type == BDEV_IO_TYPE_RESET) {
		io_channel_for_each(disk, error_abort_pending_ch, io, error_abort_pending_done);
		return;
	}
	if (inj->type != ERROR_INJECT_NONE && error_take(inj)) {
		t->action = inj->type;
		t->corrupt_offset = inj->corrupt_offset;
		t->corrupt_value = inj->corrupt_value;
	}
	switch (t->action) {
	case ERROR_INJECT_FAILURE:
		bdev_io_complete_status(io, BDEV_IO_STATUS_FAILED, -EIO);
		return;
	case ERROR_INJECT_PENDING:
		TAILQ_INSERT_TAIL(&ch->pending, t, link);
		return;
	case ERROR_INJECT_CORRUPT:
		if (io->type == BDEV_IO_TYPE_WRITE) {
			error_corrupt(io, t->corrupt_offset, t->corrupt_value);
		}
		break;
	default:
		break;
	}
	error_forward(io);
}

static bool
error_io_type_supported(struct bdev *bdev, enum bdev_io_type type)
{
	struct error_disk *disk = VHD_CONTAINER_OF(bdev, struct error_disk, bdev);

	if (type == BDEV_IO_TYPE_RESET) {
		return true;
	}
	return bdev_io_type_supported(disk->base, type);
}

static struct io_channel *
error_get_io_channel(struct bdev *bdev)
{
	return io_channel_get(bdev);
}

static int
error_channel_create(void *io_device, void *ctx)
{
	struct error_disk *disk = io_device;
	struct error_channel *ch = ctx;

	TAILQ_INIT(&ch->pending);
	ch->base_ch = bdev_get_io_channel(disk->base_desc);
	return ch->base_ch != NULL ? 0 : -ENOMEM;
}

static void
error_channel_destroy(void *io_device, void *ctx)
{
	struct error_channel *ch = ctx;

	io_channel_put(ch->base_ch);
}

static void
error_dump_info_json(struct bdev *bdev, struct json_object *ds)
{
	struct error_disk *disk = VHD_CONTAINER_OF(bdev, struct error_disk, bdev);
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "base_bdev", json_object_new_string(disk->base->name));
	json_object_object_add(ds, "error_disk", o);
}

static void
error_write_config_json(struct bdev *bdev, struct json_object *config)
{
	struct error_disk *disk = VHD_CONTAINER_OF(bdev, struct error_disk, bdev);
	struct json_object *p = json_object_new_object();
	char uuid[37];

	util_uuid_fmt(uuid, &bdev->uuid);
	json_object_object_add(p, "base_name", json_object_new_string(disk->base->name));
	json_object_object_add(p, "uuid", json_object_new_string(uuid));
	rpc_config_add(config, "bdev_error_create", p);
}

static const struct bdev_fn_table error_fn_table = {
	.destruct		= error_destruct,
	.submit_request		= error_submit_request,
	.io_type_supported	= error_io_type_supported,
	.get_io_channel		= error_get_io_channel,
	.dump_info_json		= error_dump_info_json,		/* optional */
	.write_config_json	= error_write_config_json,	/* optional */
};

static void
error_base_event(enum bdev_event_type type, struct bdev *base, void *ctx)
{
	struct error_disk *disk = ctx;

	if (type == BDEV_EVENT_REMOVE) {
		/* The base is going: so do we (destruct closes the base descriptor). */
		bdev_unregister(&disk->bdev, NULL, NULL);
	} else if (type == BDEV_EVENT_RESIZE) {
		bdev_notify_blockcnt_change(&disk->bdev, bdev_get_num_blocks(base));
	}
}

int
bdev_error_create(const char *base_name, const struct util_uuid *uuid, struct bdev **_bdev)
{
	struct error_disk *disk;
	char name[256];
	int rc;

	if (base_name == NULL || base_name[0] == '\0') {
		return -EINVAL;
	}
	if ((size_t)snprintf(name, sizeof(name), "EE_%s", base_name) >= sizeof(name)) {
		return -EINVAL;
	}
	if (bdev_get_by_name(name) != NULL) {
		return -EEXIST;
	}
	disk = calloc(1, sizeof(*disk));
	if (disk == NULL) {
		return -ENOMEM;
	}
	disk->bdev.name = strdup(name);
	if (disk->bdev.name == NULL) {
		free(disk);
		return -ENOMEM;
	}
	rc = bdev_open_ext(base_name, true, error_base_event, disk, &disk->base_desc);
	if (rc != 0) {
		VHD_ERRLOG("%s: cannot open base bdev %s: %s\n", name, base_name, strerror(-rc));
		goto err_free;
	}
	rc = bdev_desc_claim(disk->base_desc, "error");
	if (rc != 0) {
		goto err_close;
	}
	disk->base = bdev_desc_get_bdev(disk->base_desc);
	disk->bdev.product_name = "Error Injection Disk";
	disk->bdev.blocklen = disk->base->blocklen;
	disk->bdev.phys_blocklen = disk->base->phys_blocklen;
	disk->bdev.blockcnt = bdev_get_num_blocks(disk->base);
	disk->bdev.write_cache = disk->base->write_cache;
	disk->bdev.optimal_io_boundary = disk->base->optimal_io_boundary;
	disk->bdev.unmap_reads_zeroes = disk->base->unmap_reads_zeroes;
	if (uuid != NULL) {
		disk->bdev.uuid = *uuid;
	}
	disk->bdev.fn_table = &error_fn_table;
	disk->bdev.module = &g_error_module;
	io_device_register(disk, error_channel_create, error_channel_destroy,
			   sizeof(struct error_channel), name);
	rc = bdev_register(&disk->bdev);
	if (rc != 0) {
		bdev_close(disk->base_desc);
		io_device_unregister(disk, error_free_disk);
		return rc;
	}
	if (_bdev != NULL) {
		*_bdev = &disk->bdev;
	}
	return 0;

err_close:
	bdev_close(disk->base_desc);
err_free:
	error_free_disk(disk);
	return rc;
}

int
bdev_error_delete(const char *name, bdev_unregister_cb cb, void *cb_arg)
{
	return bdev_unregister_by_name(name, &g_error_module, cb, cb_arg);
}

int
bdev_error_inject(const char *name, enum bdev_io_type io_type, enum error_inject_type type,
		  uint32_t num, uint64_t corrupt_offset, uint8_t corrupt_value)
{
	struct bdev *bdev = bdev_get_by_name(name);
	struct error_disk *disk;
	int t;

	if (bdev == NULL || bdev->module != &g_error_module) {
		return -ENODEV;
	}
	if (io_type <= BDEV_IO_TYPE_INVALID || io_type > BDEV_NUM_IO_TYPES ||
	    type > ERROR_INJECT_CORRUPT) {
		return -EINVAL;
	}
	if (type == ERROR_INJECT_CORRUPT && corrupt_value == 0) {
		return -EINVAL;
	}
	disk = VHD_CONTAINER_OF(bdev, struct error_disk, bdev);
	for (t = BDEV_IO_TYPE_READ; t < BDEV_NUM_IO_TYPES; t++) {
		struct error_inject *inj = &disk->inject[t];

		if (io_type != BDEV_NUM_IO_TYPES && (int)io_type != t) {
			continue;
		}
		if (t == BDEV_IO_TYPE_RESET) {
			continue;	/* resets are how pending I/O is recovered */
		}
		__atomic_store_n(&inj->count, 0, __ATOMIC_RELAXED);
		inj->type = type;
		inj->corrupt_offset = corrupt_offset;
		inj->corrupt_value = corrupt_value;
		__atomic_store_n(&inj->count, type == ERROR_INJECT_NONE ? 0 : num,
				 __ATOMIC_RELEASE);
	}
	return 0;
}
