/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user target: controllers that QEMU guests attach to over a Unix
 * socket at <sock-dir>/<name>. Built on DPDK rte_vhost (22.11); the
 * virtqueues and personalities (vhost-blk) are our own code.
 *
 * All functions run on the app thread unless stated otherwise. The library
 * registers the "vhost" subsystem (order 30): init sets up DPDK's EAL once,
 * fini deletes every controller, write_config emits one
 * vhost_create_blk_controller (+ vhost_controller_set_coalescing) each.
 *
 * Subsystem options read at init (subsystem_set_option):
 *   vhost_sock_dir    directory for sockets (default: the current directory)
 *   vhost_sock_mode   octal mode applied to each socket after it is bound
 *   vhost_sock_owner  "user[:group]" (names or numbers) for chown
 *   vhost_max_controllers  controllers at most, 1-1024 (default 1024, rte_vhost's
 *                     MAX_VHOST_SOCKET); creating one more fails with -ENOSPC
 */
#ifndef VHOSTD_VHOST_H
#define VHOSTD_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#define VHOST_NAME_MAX		64
/* sizeof(sockaddr_un.sun_path) - 1 */
#define VHOST_SOCK_PATH_MAX	107
/* rte_vhost's MAX_VHOST_SOCKET */
#define VHOST_MAX_CONTROLLERS_DEFAULT	1024

/* Default coalescing (SPDK): off, threshold 60000 IOPS. */
#define VHOST_COALESCING_DELAY_BASE_US	0
#define VHOST_COALESCING_IOPS_THRESHOLD	60000

/*
 * Initialise DPDK's EAL (no hugepages, no PCI, no shared config) and the
 * logging bridge. Idempotent. 0 or -errno. Called by the subsystem init.
 */
int vhost_lib_init(void);

/* Socket directory in use (absolute). */
const char *vhost_get_sock_dir(void);

/* Limit on the number of controllers (option vhost_max_controllers). */
uint32_t vhost_get_max_controllers(void);

/*
 * Check a controller name: [A-Za-z0-9._-], 1..64 characters, not "." or
 * "..", and <sock-dir>/<name> no longer than 107 bytes. 0, -EINVAL or
 * -ENAMETOOLONG.
 */
int vhost_name_check(const char *name);

/*
 * Create a vhost-blk controller on bdev `dev_name`. cpumask NULL: the app
 * core mask. 0, -EINVAL (bad name/cpumask), -ENAMETOOLONG, -EEXIST, -ENODEV
 * (no such bdev), or another -errno. The socket listens when this returns.
 */
int vhost_blk_controller_create(const char *name, const char *dev_name, const char *cpumask,
				bool readonly, bool packed_ring);

/*
 * Delete a controller. With a vhost-user connection present and !force the
 * call fails at once with -EBUSY. With force, the sessions are stopped
 * (in-flight I/O drains first), the connections closed and the socket
 * removed. Returns -ENODEV, -EBUSY, -EALREADY (being deleted), or 0 and then
 * cb(cb_arg, rc) runs once on the calling thread when the controller is gone.
 * Never blocks the calling reactor.
 */
int vhost_controller_delete(const char *name, bool force, void (*cb)(void *cb_arg, int rc),
			    void *cb_arg);

/*
 * Interrupt coalescing (SPDK semantics): above iops_threshold, guest
 * interrupts are delayed by up to delay_base_us scaled by the excess rate.
 * delay_base_us 0 turns it off. iops_threshold must be >= 100. 0, -ENODEV,
 * -EINVAL.
 */
int vhost_controller_set_coalescing(const char *name, uint32_t delay_base_us,
				    uint32_t iops_threshold);

/* Number of controllers. */
uint32_t vhost_controller_count(void);

#endif /* VHOSTD_VHOST_H */
