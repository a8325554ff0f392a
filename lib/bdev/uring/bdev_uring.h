/* SPDX-License-Identifier: BSD-3-Clause */
/* io_uring bdev (liburing) on a file or block device. App thread. */
#ifndef VHOSTD_BDEV_URING_H
#define VHOSTD_BDEV_URING_H

#include <stdint.h>

#include "vhostd/bdev_module.h"

struct uring_bdev_opts {
	const char		*name;		/* required */
	const char		*filename;	/* required */
	uint32_t		block_size;	/* 0: detect (512 for regular files) */
	struct util_uuid	uuid;
};

/* 0, -EINVAL, -ENOENT/-EACCES (open), -EEXIST, -ENOMEM. Nothing left behind on failure. */
int bdev_uring_create(const struct uring_bdev_opts *opts, struct bdev **bdev);
/* 0 (cb follows) or -ENODEV. */
int bdev_uring_delete(const char *name, bdev_unregister_cb cb, void *cb_arg);
/* Re-read the size; a change sends BDEV_EVENT_RESIZE. 0, -ENODEV, -EBUSY, -EINVAL. */
int bdev_uring_rescan(const char *name);

#endif /* VHOSTD_BDEV_URING_H */
