/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ceph RBD bdev (librbd). Clusters are named rados connections shared by many
 * images; an image opened without a cluster name gets a private connection.
 *
 * Every call here runs on the app thread. Anything that may block on the
 * network (rados_connect, rbd_open, rbd_resize, rbd_close, rados_shutdown)
 * runs on a short-lived helper pthread; the callback comes back on the
 * calling thread when it is done.
 */
#ifndef VHOSTD_BDEV_RBD_H
#define VHOSTD_BDEV_RBD_H

#include <stdbool.h>
#include <stdint.h>

#include "vhostd/bdev_module.h"

struct json_object;

/* Used when the config map does not set client_mount_timeout (seconds). */
#define BDEV_RBD_DEFAULT_MOUNT_TIMEOUT	"10"
/* How long a bdev removal waits for rbd_close before detaching it (ms). */
#define BDEV_RBD_CLOSE_WAIT_MS		5000

struct rbd_cluster_opts {
	const char	*name;		/* NULL: private connection of one bdev */
	const char	*user_id;	/* NULL: "admin" */
	/* key/value pairs for rados_conf_set, applied last: NULL-terminated, even count */
	const char	**config;
	const char	*config_file;	/* NULL: Ceph's default search ($CEPH_CONF, /etc/ceph) */
	const char	*key_file;
};

struct rbd_bdev_opts {
	const char		*name;		/* NULL: "Ceph<N>" */
	const char		*pool_name;	/* required */
	const char		*rbd_name;	/* required */
	uint32_t		block_size;	/* 0: 512 */
	const char		*cluster_name;	/* registered cluster, or NULL: private connection */
	struct rbd_cluster_opts	cluster;	/* private connection parameters */
	struct util_uuid	uuid;
};

typedef void (*bdev_rbd_done_cb)(void *cb_arg, int rc, const char *errmsg);
typedef void (*bdev_rbd_create_cb)(void *cb_arg, struct bdev *bdev, int rc, const char *errmsg);

/*
 * Connect and register cluster `opts->name`. 0 (cb follows with the connect
 * result) or -EINVAL / -EEXIST / -ENOMEM (cb never runs).
 */
int bdev_rbd_register_cluster(const struct rbd_cluster_opts *opts, bdev_rbd_done_cb cb,
			      void *cb_arg);
/* 0 (cb follows), -ENOENT (unknown), -EBUSY (images use it). */
int bdev_rbd_unregister_cluster(const char *name, bdev_rbd_done_cb cb, void *cb_arg);
/* JSON description of one cluster (name) or an array of all (NULL). NULL: -ENOENT. */
struct json_object *bdev_rbd_get_clusters_info(const char *name);

/*
 * Open the image and register the bdev. 0 (cb follows) or -EINVAL / -EEXIST /
 * -ENOENT (unknown cluster) / -EBUSY (a close of the same image on that cluster
 * has not returned yet) / -ENOMEM (cb never runs).
 */
int bdev_rbd_create(const struct rbd_bdev_opts *opts, bdev_rbd_create_cb cb, void *cb_arg);
/* 0 (cb follows once the bdev is gone) or -ENODEV. */
int bdev_rbd_delete(const char *name, bdev_unregister_cb cb, void *cb_arg);
/* Grow the image to new_size_mib MiB. 0 (cb follows) or -ENODEV / -EINVAL (shrink). */
int bdev_rbd_resize(const char *name, uint64_t new_size_mib, bdev_rbd_done_cb cb, void *cb_arg);

#endif /* VHOSTD_BDEV_RBD_H */
