/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost RPCs with SPDK's names, parameters and output shapes
 * (../../shared/research/SPDK-RPC.md §2). Every vhost_* failure is -32602
 * with strerror text, except vhost_get_controllers (-32603), as in SPDK.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "vhost_internal.h"

#include "vhostd/log.h"
#include "vhostd/rpc.h"
#include "vhostd/util.h"

struct vhost_dev *vhost_dev_first(void);
struct vhost_dev *vhost_dev_next(struct vhost_dev *vdev);

/* ---- vhost_create_blk_controller ---- */

struct rpc_blk_create {
	char	*ctrlr;
	char	*dev_name;
	char	*cpumask;
	char	*transport;
	bool	readonly;
	bool	packed_ring;
	bool	packed_ring_recovery;
};

static const struct rpc_decoder rpc_blk_create_decoders[] = {
	{"ctrlr", offsetof(struct rpc_blk_create, ctrlr), rpc_decode_string, false},
	{"dev_name", offsetof(struct rpc_blk_create, dev_name), rpc_decode_string, false},
	{"cpumask", offsetof(struct rpc_blk_create, cpumask), rpc_decode_string, true},
	{"transport", offsetof(struct rpc_blk_create, transport), rpc_decode_string, true},
	{"readonly", offsetof(struct rpc_blk_create, readonly), rpc_decode_bool, true},
	{"packed_ring", offsetof(struct rpc_blk_create, packed_ring), rpc_decode_bool, true},
	{"packed_ring_recovery", offsetof(struct rpc_blk_create, packed_ring_recovery),
	 rpc_decode_bool, true},
};

static void
rpc_vhost_create_blk_controller(struct rpc_request *req, struct json_object *params)
{
	struct rpc_blk_create p = {};
	struct rpc_decode_error err;
	int rc;

	/* SPDK decodes this one relaxed: unknown keys are ignored. */
	if (rpc_decode_object_relaxed(params, rpc_blk_create_decoders,
				      VHD_COUNTOF(rpc_blk_create_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	if (p.transport != NULL && strcasecmp(p.transport, "vhost_user_blk") != 0) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS,
			       "Invalid argument: unknown transport '%s'", p.transport);
		goto out;
	}
	rc = vhost_name_check(p.ctrlr);
	if (rc == -ENAMETOOLONG) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS,
			       "File name too long: %s/%s exceeds %d bytes", vhost_get_sock_dir(),
			       p.ctrlr, VHOST_SOCK_PATH_MAX);
		goto out;
	} else if (rc != 0) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS,
			       "Invalid argument: ctrlr must be 1-%d characters of [A-Za-z0-9._-]",
			       VHOST_NAME_MAX);
		goto out;
	}
	rc = vhost_blk_controller_create(p.ctrlr, p.dev_name, p.cpumask, p.readonly,
					 p.packed_ring);
	if (rc == -ENOSPC) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS,
			       "Too many controllers: the limit is %u (vhostd --max-controllers)",
			       vhost_get_max_controllers());
		goto out;
	} else if (rc != 0) {
		rpc_send_errno(req, RPC_ERROR_INVALID_PARAMS, rc);
		goto out;
	}
	rpc_send_bool(req, true);
out:
	free(p.ctrlr);
	free(p.dev_name);
	free(p.cpumask);
	free(p.transport);
}
RPC_REGISTER("vhost_create_blk_controller", rpc_vhost_create_blk_controller,
	     RPC_STATE_RUNTIME | RPC_MUTATES)

/* ---- vhost_delete_controller ---- */

struct rpc_delete {
	char	*ctrlr;
	bool	force;
};

static const struct rpc_decoder rpc_delete_decoders[] = {
	{"ctrlr", offsetof(struct rpc_delete, ctrlr), rpc_decode_string, false},
	{"force", offsetof(struct rpc_delete, force), rpc_decode_bool, true},
};

static void
rpc_vhost_delete_done(void *cb_arg, int rc)
{
	struct rpc_request *req = cb_arg;

	if (rc != 0) {
		rpc_send_errno(req, RPC_ERROR_INVALID_PARAMS, rc);
	} else {
		rpc_send_bool(req, true);
	}
}

static void
rpc_vhost_delete_controller(struct rpc_request *req, struct json_object *params)
{
	struct rpc_delete p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_delete_decoders, VHD_COUNTOF(rpc_delete_decoders), &p,
			      &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	rc = vhost_controller_delete(p.ctrlr, p.force, rpc_vhost_delete_done, req);
	if (rc == -EBUSY) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS,
			       "Device or resource busy: controller %s has a live vhost-user "
			       "connection (stop the guest, or pass force)", p.ctrlr);
	} else if (rc != 0) {
		rpc_send_errno(req, RPC_ERROR_INVALID_PARAMS, rc);
	}
out:
	free(p.ctrlr);
}
RPC_REGISTER("vhost_delete_controller", rpc_vhost_delete_controller,
	     RPC_STATE_RUNTIME | RPC_MUTATES)

/* ---- vhost_get_controllers ---- */

struct rpc_get {
	char	*name;
};

static const struct rpc_decoder rpc_get_decoders[] = {
	{"name", offsetof(struct rpc_get, name), rpc_decode_string, true},
};

static struct json_object *
vhost_dev_info_json(struct vhost_dev *vdev)
{
	struct json_object *o = json_object_new_object();
	struct json_object *sessions = json_object_new_array();
	struct json_object *backend = json_object_new_object();
	struct vhost_session *s;
	char mask[CPUSET_MAX_CPUS / 4 + 3];

	json_object_object_add(o, "ctrlr", json_object_new_string(vdev->name));
	json_object_object_add(o, "cpumask", json_object_new_string(
						     cpuset_fmt_hex(&vdev->cpumask, mask,
								    sizeof(mask))));
	json_object_object_add(o, "delay_base_us", json_object_new_int64(vdev->coal_delay_base_us));
	json_object_object_add(o, "iops_threshold",
			       json_object_new_int64(vdev->coal_iops_threshold));
	json_object_object_add(o, "socket", json_object_new_string(vdev->path));
	TAILQ_FOREACH(s, &vdev->sessions, link) {
		struct json_object *so = json_object_new_object();

		json_object_object_add(so, "vid", json_object_new_int(s->vid));
		json_object_object_add(so, "id", json_object_new_int64(s->id));
		json_object_object_add(so, "name", json_object_new_string(s->name));
		json_object_object_add(so, "started", json_object_new_boolean(s->info_started));
		json_object_object_add(so, "max_queues",
				       json_object_new_int(s->info_started ? s->info_max_queues : 0));
		/* A racy snapshot of counters owned by the queue threads: display only. */
		json_object_object_add(so, "inflight_task_cnt",
				       json_object_new_int64(s->info_started ?
							     vhost_session_inflight(s) : 0));
		json_object_array_add(sessions, so);
	}
	json_object_object_add(o, "sessions", sessions);
	vdev->ops->dump_info_json(vdev, backend);
	json_object_object_add(o, "backend_specific", backend);
	return o;
}

static int
vhost_dev_cmp(const void *a, const void *b)
{
	const struct vhost_dev *const *x = a;
	const struct vhost_dev *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static void
rpc_vhost_get_controllers(struct rpc_request *req, struct json_object *params)
{
	struct rpc_get p = {};
	struct rpc_decode_error err;
	struct json_object *arr;
	struct vhost_dev *vdev, **list = NULL;
	size_t n = 0, i;

	if (rpc_decode_object(params, rpc_get_decoders, VHD_COUNTOF(rpc_get_decoders), &p,
			      &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	arr = json_object_new_array();
	pthread_mutex_lock(&g_vhost_mutex);
	if (p.name != NULL) {
		vdev = vhost_dev_find(p.name);
		if (vdev == NULL || vdev->deleting) {
			pthread_mutex_unlock(&g_vhost_mutex);
			json_object_put(arr);
			rpc_send_errno(req, RPC_ERROR_INTERNAL_ERROR, -ENODEV);
			goto out;
		}
		json_object_array_add(arr, vhost_dev_info_json(vdev));
	} else {
		for (vdev = vhost_dev_first(); vdev != NULL; vdev = vhost_dev_next(vdev)) {
			n++;
		}
		list = calloc(n ? n : 1, sizeof(*list));
		if (list == NULL) {
			pthread_mutex_unlock(&g_vhost_mutex);
			json_object_put(arr);
			rpc_send_errno(req, RPC_ERROR_INTERNAL_ERROR, -ENOMEM);
			goto out;
		}
		n = 0;
		for (vdev = vhost_dev_first(); vdev != NULL; vdev = vhost_dev_next(vdev)) {
			if (!vdev->deleting) {
				list[n++] = vdev;
			}
		}
		qsort(list, n, sizeof(*list), vhost_dev_cmp);
		for (i = 0; i < n; i++) {
			json_object_array_add(arr, vhost_dev_info_json(list[i]));
		}
		free(list);
	}
	pthread_mutex_unlock(&g_vhost_mutex);
	rpc_send_result(req, arr);
out:
	free(p.name);
}
RPC_REGISTER("vhost_get_controllers", rpc_vhost_get_controllers, RPC_STATE_RUNTIME)

/* ---- vhost_controller_set_coalescing ---- */

struct rpc_coalescing {
	char		*ctrlr;
	uint32_t	delay_base_us;
	uint32_t	iops_threshold;
};

static const struct rpc_decoder rpc_coalescing_decoders[] = {
	{"ctrlr", offsetof(struct rpc_coalescing, ctrlr), rpc_decode_string, false},
	{"delay_base_us", offsetof(struct rpc_coalescing, delay_base_us), rpc_decode_uint32, false},
	{"iops_threshold", offsetof(struct rpc_coalescing, iops_threshold), rpc_decode_uint32,
	 false},
};

static void
rpc_vhost_controller_set_coalescing(struct rpc_request *req, struct json_object *params)
{
	struct rpc_coalescing p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_coalescing_decoders,
			      VHD_COUNTOF(rpc_coalescing_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	rc = vhost_controller_set_coalescing(p.ctrlr, p.delay_base_us, p.iops_threshold);
	if (rc != 0) {
		rpc_send_errno(req, RPC_ERROR_INVALID_PARAMS, rc);
		goto out;
	}
	rpc_send_bool(req, true);
out:
	free(p.ctrlr);
}
RPC_REGISTER("vhost_controller_set_coalescing", rpc_vhost_controller_set_coalescing,
	     RPC_STATE_RUNTIME | RPC_MUTATES)
