/* SPDX-License-Identifier: BSD-3-Clause */
/* AIO bdev: Linux native AIO (libaio) on a file or block device. App thread. */
#ifndef VHOSTD_BDEV_AIO_H
#define VHOSTD_BDEV_AIO_H

#include <stdbool.h>
#include <stdint.h>

#include "vhostd/bdev_module.h"

struct aio_bdev_opts {
	const char		*name;		/* required */
	const char		*filename;	/* required */
	uint32_t		block_size;	/* 0: detect (512 for regular files) */
	bool			readonly;
	bool			fallocate;	/* accepted for SPDK compatibility; unmap is always on */
	struct util_uuid	uuid;
};

/* 0, -EINVAL, -ENOENT/-EACCES (open), -EEXIST, -ENOMEM. Nothing left behind on failure. */
int bdev_aio_create(const struct aio_bdev_opts *opts, struct bdev **bdev);
/* 0 (cb follows) or -ENODEV. */
int bdev_aio_delete(const char *name, bdev_unregister_cb cb, void *cb_arg);
/* Re-read the size; a change sends BDEV_EVENT_RESIZE. 0, -ENODEV, -EBUSY (shrink while open), -EINVAL. */
int bdev_aio_rescan(const char *name);

#endif /* VHOSTD_BDEV_AIO_H */
