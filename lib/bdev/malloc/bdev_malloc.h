/* SPDX-License-Identifier: BSD-3-Clause */
/* Malloc bdev: RAM disk allocated up front. App thread. */
#ifndef VHOSTD_BDEV_MALLOC_H
#define VHOSTD_BDEV_MALLOC_H

#include <stdint.h>

#include "vhostd/bdev_module.h"

struct malloc_bdev_opts {
	const char		*name;		/* NULL: "Malloc<N>" */
	uint64_t		num_blocks;
	uint32_t		block_size;	/* power of two >= 512 */
	uint32_t		physical_block_size;	/* 0: block_size */
	uint32_t		optimal_io_boundary;
	struct util_uuid	uuid;		/* all zero: generated */
};

/*
 * Create and register. 0 and *bdev, or -EINVAL (sizes), -EEXIST (name or
 * UUID taken), -ENOMEM (no memory for the disk). Nothing is left behind on failure.
 */
int bdev_malloc_create(const struct malloc_bdev_opts *opts, struct bdev **bdev);
/* Unregister a malloc bdev by name: 0 (cb follows, once every user closed) or -ENODEV. */
int bdev_malloc_delete(const char *name, bdev_unregister_cb cb, void *cb_arg);

#endif /* VHOSTD_BDEV_MALLOC_H */
