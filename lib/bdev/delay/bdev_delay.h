/* SPDX-License-Identifier: BSD-3-Clause */
/* Delay bdev: adds latency to reads and writes of a base bdev. App thread. */
#ifndef VHOSTD_BDEV_DELAY_H
#define VHOSTD_BDEV_DELAY_H

#include <stdint.h>

#include "vhostd/bdev_module.h"

enum delay_latency_type {
	DELAY_AVG_READ = 0,
	DELAY_P99_READ,
	DELAY_AVG_WRITE,
	DELAY_P99_WRITE,
	DELAY_NUM_LATENCIES,
};

struct delay_bdev_opts {
	const char		*name;
	const char		*base_name;
	uint64_t		latency_us[DELAY_NUM_LATENCIES];
	struct util_uuid	uuid;
};

/*
 * 0, -EINVAL (p99 < avg, names), -ENODEV (no base), -EPERM (base claimed),
 * -EEXIST, -ENOMEM.
 */
int bdev_delay_create(const struct delay_bdev_opts *opts, struct bdev **bdev);
/* 0 (cb follows) or -ENODEV. */
int bdev_delay_delete(const char *name, bdev_unregister_cb cb, void *cb_arg);
/* Applies to I/O submitted afterwards. 0, -ENODEV, -EINVAL. */
int bdev_delay_update_latency(const char *name, enum delay_latency_type type, uint64_t us);
int delay_latency_type_from_name(const char *name, enum delay_latency_type *type);

#endif /* VHOSTD_BDEV_DELAY_H */
