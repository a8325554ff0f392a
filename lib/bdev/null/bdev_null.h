/* SPDX-License-Identifier: BSD-3-Clause */
/* Null bdev: reads return zeroes, writes are discarded. App thread. */
#ifndef VHOSTD_BDEV_NULL_H
#define VHOSTD_BDEV_NULL_H

#include <stdint.h>

#include "vhostd/bdev_module.h"

struct null_bdev_opts {
	const char		*name;		/* required */
	uint64_t		num_blocks;
	uint32_t		block_size;	/* power of two >= 512 */
	uint32_t		physical_block_size;
	struct util_uuid	uuid;
};

/* 0 and *bdev, -EINVAL, -EEXIST, -ENOMEM. */
int bdev_null_create(const struct null_bdev_opts *opts, struct bdev **bdev);
/* 0 (cb follows) or -ENODEV. */
int bdev_null_delete(const char *name, bdev_unregister_cb cb, void *cb_arg);
/* New size in MiB: 0, -ENODEV, -EINVAL (not a whole number of blocks, or 0), -EBUSY (shrink while open). */
int bdev_null_resize(const char *name, uint64_t new_size_mb);

#endif /* VHOSTD_BDEV_NULL_H */
