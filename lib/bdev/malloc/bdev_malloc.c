/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Malloc bdev: the whole disk is one anonymous mapping populated at create
 * time, so a create that would not fit fails at once instead of the first
 * write faulting later. I/O is memcpy and completes inside submit (the core
 * defers the user's callback).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vhostd/log.h"

#include "bdev_malloc.h"

struct malloc_disk {
	struct bdev	bdev;	/* first */
	uint8_t		*buf;
	size_t		size;
};

static struct bdev_module g_malloc_module = {
	.name = "malloc",
	.ctx_size = 0,
};
BDEV_MODULE_REGISTER(malloc, &g_malloc_module);

static uint32_t g_malloc_next_id;

static void
malloc_free_disk(struct malloc_disk *disk)
{
	if (disk->buf != NULL) {
		munmap(disk->buf, disk->size);
	}
	free(disk->bdev.name);
	free(disk);
}

static void
malloc_io_device_unregistered(void *io_device)
{
	struct malloc_disk *disk = io_device;

	bdev_destruct_done(&disk->bdev, 0);
	malloc_free_disk(disk);
}

static void
malloc_io_device_released(void *io_device)
{
	malloc_free_disk(io_device);
}

static int
malloc_destruct(struct bdev *bdev)
{
	io_device_unregister(bdev, malloc_io_device_unregistered);
	return 1;
}

static void
malloc_submit_request(struct io_channel *ch, struct bdev_io *io)
{
	struct malloc_disk *disk = VHD_CONTAINER_OF(io->bdev, struct malloc_disk, bdev);
	size_t off = io->offset_blocks * disk->bdev.blocklen;
	size_t len = bdev_io_num_bytes(io);

	switch (io->type) {
	case BDEV_IO_TYPE_READ:
		bdev_buf_to_iovs(io->iovs, io->iovcnt, 0, disk->buf + off, len);
		break;
	case BDEV_IO_TYPE_WRITE:
		bdev_iovs_to_buf(disk->buf + off, io->iovs, io->iovcnt, 0, len);
		break;
	case BDEV_IO_TYPE_UNMAP:
	case BDEV_IO_TYPE_WRITE_ZEROES:
		memset(disk->buf + off, 0, len);
		break;
	case BDEV_IO_TYPE_FLUSH:
	case BDEV_IO_TYPE_RESET:
		break;
	default:
		bdev_io_complete_status(io, BDEV_IO_STATUS_FAILED, -ENOTSUP);
		return;
	}
	bdev_io_complete(io, BDEV_IO_STATUS_SUCCESS);
}

static bool
malloc_io_type_supported(struct bdev *bdev, enum bdev_io_type type)
{
	switch (type) {
	case BDEV_IO_TYPE_READ:
	case BDEV_IO_TYPE_WRITE:
	case BDEV_IO_TYPE_UNMAP:
	case BDEV_IO_TYPE_FLUSH:
	case BDEV_IO_TYPE_RESET:
	case BDEV_IO_TYPE_WRITE_ZEROES:
		return true;
	default:
		return false;
	}
}

static struct io_channel *
malloc_get_io_channel(struct bdev *bdev)
{
	return io_channel_get(bdev);
}

static int
malloc_channel_create(void *io_device, void *ctx)
{
	return 0;
}

static void
malloc_channel_destroy(void *io_device, void *ctx)
{
}

void malloc_write_config_json(struct bdev *bdev, struct json_object *config);

static const struct bdev_fn_table malloc_fn_table = {
	.destruct		= malloc_destruct,
	.submit_request		= malloc_submit_request,
	.io_type_supported	= malloc_io_type_supported,
	.get_io_channel		= malloc_get_io_channel,
	.write_config_json	= malloc_write_config_json,	/* optional */
};

int
bdev_malloc_create(const struct malloc_bdev_opts *opts, struct bdev **_bdev)
{
	struct malloc_disk *disk;
	char auto_name[32];
	const char *name = opts->name;
	int rc;

	if (!VHD_IS_POW2(opts->block_size) || opts->block_size < 512) {
		VHD_ERRLOG("malloc: block_size %u is not a power of two >= 512\n", opts->block_size);
		return -EINVAL;
	}
	if (opts->physical_block_size != 0 &&
	    (!VHD_IS_POW2(opts->physical_block_size) ||
	     opts->physical_block_size < opts->block_size)) {
		VHD_ERRLOG("malloc: bad physical_block_size %u\n", opts->physical_block_size);
		return -EINVAL;
	}
	if (opts->num_blocks == 0 || opts->num_blocks > SIZE_MAX / opts->block_size) {
		VHD_ERRLOG("malloc: bad num_blocks %llu\n", (unsigned long long)opts->num_blocks);
		return -EINVAL;
	}
	if (name == NULL) {
		snprintf(auto_name, sizeof(auto_name), "Malloc%u", g_malloc_next_id++);
		name = auto_name;
	} else if (name[0] == '\0') {
		return -EINVAL;
	}
	if (bdev_get_by_name(name) != NULL) {
		VHD_ERRLOG("malloc: bdev %s already exists\n", name);
		return -EEXIST;
	}

	disk = calloc(1, sizeof(*disk));
	if (disk == NULL) {
		return -ENOMEM;
	}
	disk->size = opts->num_blocks * opts->block_size;
	disk->buf = mmap(NULL, disk->size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (disk->buf == MAP_FAILED) {
		rc = -errno;
		disk->buf = NULL;
		VHD_ERRLOG("%s: cannot allocate %zu bytes: %s\n", name, disk->size, strerror(-rc));
		rc = -ENOMEM;
		goto err_free;
	}
	/*
	 * Transparent huge pages: random 4 KiB copies over a large disk otherwise
	 * miss the TLB on nearly every I/O (3-4x slower under nested paging).
	 * Then populate now, so a disk that does not fit fails here, not later.
	 */
	madvise(disk->buf, disk->size, MADV_HUGEPAGE);
	if (madvise(disk->buf, disk->size, MADV_POPULATE_WRITE) != 0 && errno != EINVAL) {
		rc = -errno;
		VHD_ERRLOG("%s: cannot populate %zu bytes: %s\n", name, disk->size, strerror(-rc));
		rc = -ENOMEM;
		goto err_free;
	}
	disk->bdev.name = strdup(name);
	if (disk->bdev.name == NULL) {
		rc = -ENOMEM;
		goto err_free;
	}
	disk->bdev.product_name = "Malloc disk";
	disk->bdev.blocklen = opts->block_size;
	disk->bdev.phys_blocklen = opts->physical_block_size;
	disk->bdev.blockcnt = opts->num_blocks;
	disk->bdev.write_cache = true;
	disk->bdev.optimal_io_boundary = opts->optimal_io_boundary;
	disk->bdev.split_on_optimal_io_boundary = opts->optimal_io_boundary != 0;
	disk->bdev.unmap_reads_zeroes = true;
	disk->bdev.uuid = opts->uuid;
	disk->bdev.fn_table = &malloc_fn_table;
	disk->bdev.module = &g_malloc_module;

	io_device_register(disk, malloc_channel_create, malloc_channel_destroy, 0, name);
	rc = bdev_register(&disk->bdev);
	if (rc != 0) {
		io_device_unregister(disk, malloc_io_device_released);
		return rc;
	}
	if (_bdev != NULL) {
		*_bdev = &disk->bdev;
	}
	return 0;

err_free:
	malloc_free_disk(disk);
	return rc;
}

int
bdev_malloc_delete(const char *name, bdev_unregister_cb cb, void *cb_arg)
{
	return bdev_unregister_by_name(name, &g_malloc_module, cb, cb_arg);
}
