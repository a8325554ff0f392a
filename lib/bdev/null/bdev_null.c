/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Null bdev: no storage. Reads fill the buffers with zeroes (so a guest never
 * sees stale memory), writes, write-zeroes and reset succeed at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/log.h"

#include "bdev_null.h"

struct null_disk {
	struct bdev	bdev;	/* first */
};

static struct bdev_module g_null_module = {
	.name = "null",
	.ctx_size = 0,
};
BDEV_MODULE_REGISTER(null, &g_null_module);

static void
null_free_disk(void *io_device)
{
	struct null_disk *disk = io_device;

	free(disk->bdev.name);
	free(disk);
}

static void
null_io_device_unregistered(void *io_device)
{
	struct null_disk *disk = io_device;

	bdev_destruct_done(&disk->bdev, 0);
	null_free_disk(disk);
}

static int
null_destruct(struct bdev *bdev)
{
	io_device_unregister(bdev, null_io_device_unregistered);
	return 1;
}

static void
null_submit_request(struct io_channel *ch, struct bdev_io *io)
{
	switch (io->type) {
	case BDEV_IO_TYPE_READ:
		bdev_iovs_zero(io->iovs, io->iovcnt);
		break;
	case BDEV_IO_TYPE_WRITE:
	case BDEV_IO_TYPE_WRITE_ZEROES:
	case BDEV_IO_TYPE_RESET:
		break;
	default:
		bdev_io_complete_status(io, BDEV_IO_STATUS_FAILED, -ENOTSUP);
		return;
	}
	bdev_io_complete(io, BDEV_IO_STATUS_SUCCESS);
}

static bool
null_io_type_supported(struct bdev *bdev, enum bdev_io_type type)
{
	switch (type) {
	case BDEV_IO_TYPE_READ:
	case BDEV_IO_TYPE_WRITE:
	case BDEV_IO_TYPE_WRITE_ZEROES:
	case BDEV_IO_TYPE_RESET:
		return true;
	default:
		return false;
	}
}

static struct io_channel *
null_get_io_channel(struct bdev *bdev)
{
	return io_channel_get(bdev);
}

static int
null_channel_create(void *io_device, void *ctx)
{
	return 0;
}

static void
null_channel_destroy(void *io_device, void *ctx)
{
}

void null_write_config_json(struct bdev *bdev, struct json_object *config);

static const struct bdev_fn_table null_fn_table = {
	.destruct		= null_destruct,
	.submit_request		= null_submit_request,
	.io_type_supported	= null_io_type_supported,
	.get_io_channel		= null_get_io_channel,
	.write_config_json	= null_write_config_json,	/* optional */
};

int
bdev_null_create(const struct null_bdev_opts *opts, struct bdev **_bdev)
{
	struct null_disk *disk;
	int rc;

	if (opts->name == NULL || opts->name[0] == '\0') {
		return -EINVAL;
	}
	if (!VHD_IS_POW2(opts->block_size) || opts->block_size < 512) {
		VHD_ERRLOG("null: block_size %u is not a power of two >= 512\n", opts->block_size);
		return -EINVAL;
	}
	if (opts->physical_block_size != 0 &&
	    (!VHD_IS_POW2(opts->physical_block_size) ||
	     opts->physical_block_size < opts->block_size)) {
		return -EINVAL;
	}
	if (opts->num_blocks == 0 || opts->num_blocks > UINT64_MAX / opts->block_size) {
		VHD_ERRLOG("null: bad num_blocks %llu\n", (unsigned long long)opts->num_blocks);
		return -EINVAL;
	}
	if (bdev_get_by_name(opts->name) != NULL) {
		VHD_ERRLOG("null: bdev %s already exists\n", opts->name);
		return -EEXIST;
	}
	disk = calloc(1, sizeof(*disk));
	if (disk == NULL) {
		return -ENOMEM;
	}
	disk->bdev.name = strdup(opts->name);
	if (disk->bdev.name == NULL) {
		free(disk);
		return -ENOMEM;
	}
	disk->bdev.product_name = "Null disk";
	disk->bdev.blocklen = opts->block_size;
	disk->bdev.phys_blocklen = opts->physical_block_size;
	disk->bdev.blockcnt = opts->num_blocks;
	disk->bdev.uuid = opts->uuid;
	disk->bdev.fn_table = &null_fn_table;
	disk->bdev.module = &g_null_module;

	io_device_register(disk, null_channel_create, null_channel_destroy, 0, opts->name);
	rc = bdev_register(&disk->bdev);
	if (rc != 0) {
		io_device_unregister(disk, null_free_disk);
		return rc;
	}
	if (_bdev != NULL) {
		*_bdev = &disk->bdev;
	}
	return 0;
}

int
bdev_null_delete(const char *name, bdev_unregister_cb cb, void *cb_arg)
{
	return bdev_unregister_by_name(name, &g_null_module, cb, cb_arg);
}

int
bdev_null_resize(const char *name, uint64_t new_size_mb)
{
	struct bdev *bdev = bdev_get_by_name(name);
	uint64_t bytes;

	if (bdev == NULL || bdev->module != &g_null_module) {
		return -ENODEV;
	}
	if (new_size_mb == 0 || new_size_mb > UINT64_MAX >> 20) {
		return -EINVAL;
	}
	bytes = new_size_mb << 20;
	if (bytes % bdev->blocklen != 0) {
		return -EINVAL;
	}
	return bdev_notify_blockcnt_change(bdev, bytes / bdev->blocklen);
}
