/* SPDX-License-Identifier: BSD-3-Clause */
/* Error-injection bdev EE_<base> (fault injection for tests). App thread. */
#ifndef VHOSTD_BDEV_ERROR_H
#define VHOSTD_BDEV_ERROR_H

#include <stdint.h>

#include "vhostd/bdev_module.h"

enum error_inject_type {
	ERROR_INJECT_NONE = 0,
	ERROR_INJECT_FAILURE,	/* complete with FAILED (-EIO) */
	ERROR_INJECT_PENDING,	/* never complete (until reset or delete) */
	ERROR_INJECT_CORRUPT,	/* pass through, XOR one byte of the data */
};

/* Create EE_<base_name> on top of base_name (claimed). 0, -ENODEV, -EPERM (claimed), -EEXIST, -ENOMEM. */
int bdev_error_create(const char *base_name, const struct util_uuid *uuid, struct bdev **bdev);
/* 0 (cb follows) or -ENODEV. */
int bdev_error_delete(const char *name, bdev_unregister_cb cb, void *cb_arg);
/*
 * Inject `type` into the next `num` I/Os of io_type (BDEV_NUM_IO_TYPES: all types;
 * ERROR_INJECT_NONE clears). For CORRUPT, byte `corrupt_offset` of the data is
 * XORed with `corrupt_value` (writes before they reach the base, reads after).
 * 0, -ENODEV, -EINVAL.
 */
int bdev_error_inject(const char *name, enum bdev_io_type io_type, enum error_inject_type type,
		      uint32_t num, uint64_t corrupt_offset, uint8_t corrupt_value);

#endif /* VHOSTD_BDEV_ERROR_H */
