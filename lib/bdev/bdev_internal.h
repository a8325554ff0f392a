/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to lib/bdev: what bdev_rpc.c needs from the core. */
#ifndef VHOSTD_BDEV_INTERNAL_H
#define VHOSTD_BDEV_INTERNAL_H

#include "vhostd/bdev_module.h"

/* Call every module's module_init in registration order. 0 or the first -errno. */
int bdev_modules_init(void);
/* Unregister every bdev (newest first), then module_fini of every module, then done(). */
void bdev_fini_all(void (*done)(void));

/* Initialise a stat so that mins read as "none". */
void bdev_io_stat_init(struct bdev_io_stat *stat);

#endif /* VHOSTD_BDEV_INTERNAL_H */
