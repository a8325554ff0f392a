/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bdev_rbd_register_cluster / bdev_rbd_unregister_cluster / bdev_rbd_get_clusters_info /
 * bdev_rbd_create / bdev_rbd_delete / bdev_rbd_resize, with SPDK's parameters.
 * Connect, open and resize answer when librbd is done (deferred responses).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/rpc.h"

#include "bdev_rbd.h"

/* A JSON object of string values -> NULL-terminated key, value, ... array (borrowed strings). */
static int
rpc_rbd_config_map(struct json_object *obj, const char ***out, struct rpc_decode_error *err)
{
	const char **kv;
	size_t n, i = 0;

	*out = NULL;
	if (obj == NULL) {
		return 0;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err->reason, sizeof(err->reason), "expected an object of strings");
		return -EINVAL;
	}
	n = (size_t)json_object_object_length(obj);
	kv = calloc(2 * n + 1, sizeof(char *));
	if (kv == NULL) {
		return -ENOMEM;
	}
	json_object_object_foreach(obj, key, val) {
		if (!json_object_is_type(val, json_type_string) || key[0] == '\0') {
			snprintf(err->reason, sizeof(err->reason), "%.64s: expected a string",
				 key);
			free(kv);
			return -EINVAL;
		}
		kv[i++] = key;
		kv[i++] = json_object_get_string(val);
	}
	kv[i] = NULL;
	*out = kv;
	return 0;
}

static void
rpc_rbd_done(void *cb_arg, int rc, const char *errmsg)
{
	struct rpc_request *req = cb_arg;

	if (rc != 0) {
		rpc_send_error(req, rc, "%s", errmsg != NULL ? errmsg : strerror(-rc));
		return;
	}
	rpc_send_bool(req, true);
}

/* ---- bdev_rbd_register_cluster ---- */

struct rpc_register_cluster {
	char			*name;
	char			*user_id;
	struct json_object	*config_param;
	char			*config_file;
	char			*key_file;
	char			*core_mask;
};

static const struct rpc_decoder rpc_register_cluster_decoders[] = {
	{"name", offsetof(struct rpc_register_cluster, name), rpc_decode_string, false},
	{"user_id", offsetof(struct rpc_register_cluster, user_id), rpc_decode_string, true},
	{"config_param", offsetof(struct rpc_register_cluster, config_param), rpc_decode_object_ref,
	 true},
	{"config_file", offsetof(struct rpc_register_cluster, config_file), rpc_decode_string, true},
	{"key_file", offsetof(struct rpc_register_cluster, key_file), rpc_decode_string, true},
	/* Accepted for SPDK compatibility: librados threads are not pinned. */
	{"core_mask", offsetof(struct rpc_register_cluster, core_mask), rpc_decode_string, true},
};

static void
rpc_bdev_rbd_register_cluster(struct rpc_request *req, struct json_object *params)
{
	struct rpc_register_cluster p = {};
	struct rbd_cluster_opts opts = {};
	struct rpc_decode_error err = {};
	const char **kv = NULL;
	int rc;

	if (rpc_decode_object(params, rpc_register_cluster_decoders,
			      VHD_COUNTOF(rpc_register_cluster_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	if (rpc_rbd_config_map(p.config_param, &kv, &err) != 0) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS, "Invalid parameters: config_param: %s",
			       err.reason);
		goto out;
	}
	opts.name = p.name;
	opts.user_id = p.user_id;
	opts.config = kv;
	opts.config_file = p.config_file;
	opts.key_file = p.key_file;
	rc = bdev_rbd_register_cluster(&opts, rpc_rbd_done, req);
	if (rc == -EEXIST) {
		rpc_send_error(req, rc, "cluster %s already registered", p.name);
	} else if (rc == -EINVAL) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS, "Invalid parameters: name");
	} else if (rc != 0) {
		rpc_send_errno(req, rc, rc);
	}
out:
	free(kv);
	free(p.name);
	free(p.user_id);
	json_object_put(p.config_param);
	free(p.config_file);
	free(p.key_file);
	free(p.core_mask);
}
RPC_REGISTER("bdev_rbd_register_cluster", rpc_bdev_rbd_register_cluster,
	     RPC_STATE_RUNTIME | RPC_MUTATES);

/* ---- bdev_rbd_unregister_cluster / bdev_rbd_get_clusters_info ---- */

struct rpc_rbd_name {
	char	*name;
};

static const struct rpc_decoder rpc_rbd_name_decoders[] = {
	{"name", offsetof(struct rpc_rbd_name, name), rpc_decode_string, false},
};

static const struct rpc_decoder rpc_rbd_opt_name_decoders[] = {
	{"name", offsetof(struct rpc_rbd_name, name), rpc_decode_string, true},
};

static void
rpc_bdev_rbd_unregister_cluster(struct rpc_request *req, struct json_object *params)
{
	struct rpc_rbd_name p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_rbd_name_decoders, VHD_COUNTOF(rpc_rbd_name_decoders),
			      &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	rc = bdev_rbd_unregister_cluster(p.name, rpc_rbd_done, req);
	if (rc == -ENOENT) {
		rpc_send_error(req, rc, "cluster %s not found", p.name);
	} else if (rc == -EBUSY) {
		rpc_send_error(req, rc, "cluster %s is in use by rbd bdevs (or connecting)",
			       p.name);
	} else if (rc != 0) {
		rpc_send_errno(req, rc, rc);
	}
out:
	free(p.name);
}
RPC_REGISTER("bdev_rbd_unregister_cluster", rpc_bdev_rbd_unregister_cluster,
	     RPC_STATE_RUNTIME | RPC_MUTATES);

static void
rpc_bdev_rbd_get_clusters_info(struct rpc_request *req, struct json_object *params)
{
	struct rpc_rbd_name p = {};
	struct rpc_decode_error err;
	struct json_object *info;

	if (rpc_decode_object(params, rpc_rbd_opt_name_decoders,
			      VHD_COUNTOF(rpc_rbd_opt_name_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	info = bdev_rbd_get_clusters_info(p.name);
	if (info == NULL) {
		rpc_send_error(req, -ENOENT, "cluster %s not found", p.name);
		goto out;
	}
	rpc_send_result(req, info);
out:
	free(p.name);
}
RPC_REGISTER("bdev_rbd_get_clusters_info", rpc_bdev_rbd_get_clusters_info, RPC_STATE_RUNTIME);

/* ---- bdev_rbd_create ---- */

struct rpc_rbd_create {
	char			*name;
	char			*user_id;
	char			*pool_name;
	char			*rbd_name;
	uint32_t		block_size;
	struct json_object	*config;
	char			*cluster_name;
	char			*uuid;
};

static const struct rpc_decoder rpc_rbd_create_decoders[] = {
	{"name", offsetof(struct rpc_rbd_create, name), rpc_decode_string, true},
	{"user_id", offsetof(struct rpc_rbd_create, user_id), rpc_decode_string, true},
	{"pool_name", offsetof(struct rpc_rbd_create, pool_name), rpc_decode_string, false},
	{"rbd_name", offsetof(struct rpc_rbd_create, rbd_name), rpc_decode_string, false},
	{"block_size", offsetof(struct rpc_rbd_create, block_size), rpc_decode_uint32, true},
	{"config", offsetof(struct rpc_rbd_create, config), rpc_decode_object_ref, true},
	{"cluster_name", offsetof(struct rpc_rbd_create, cluster_name), rpc_decode_string, true},
	{"uuid", offsetof(struct rpc_rbd_create, uuid), rpc_decode_string, true},
};

static void
rpc_rbd_create_done(void *cb_arg, struct bdev *bdev, int rc, const char *errmsg)
{
	struct rpc_request *req = cb_arg;

	if (rc != 0) {
		rpc_send_error(req, rc, "%s", errmsg != NULL ? errmsg : strerror(-rc));
		return;
	}
	rpc_send_string(req, bdev_get_name(bdev));
}

static void
rpc_bdev_rbd_create(struct rpc_request *req, struct json_object *params)
{
	struct rpc_rbd_create p = {};
	struct rbd_bdev_opts opts = {};
	struct rpc_decode_error err = {};
	const char **kv = NULL;
	int rc;

	if (rpc_decode_object(params, rpc_rbd_create_decoders,
			      VHD_COUNTOF(rpc_rbd_create_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	if (rpc_rbd_config_map(p.config, &kv, &err) != 0) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS, "Invalid parameters: config: %s",
			       err.reason);
		goto out;
	}
	if (p.cluster_name != NULL && (p.user_id != NULL || p.config != NULL)) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS,
			       "Invalid parameters: cluster_name excludes user_id and config");
		goto out;
	}
	if (bdev_rpc_parse_uuid(p.uuid, &opts.uuid) != 0) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS, "Invalid parameters: uuid: not a UUID");
		goto out;
	}
	opts.name = p.name;
	opts.pool_name = p.pool_name;
	opts.rbd_name = p.rbd_name;
	opts.block_size = p.block_size;
	opts.cluster_name = p.cluster_name;
	opts.cluster.user_id = p.user_id;
	opts.cluster.config = kv;
	rc = bdev_rbd_create(&opts, rpc_rbd_create_done, req);
	if (rc == -ENOENT) {
		rpc_send_error(req, rc, "cluster %s not found", p.cluster_name);
	} else if (rc == -EEXIST) {
		rpc_send_error(req, rc, "bdev %s already exists", p.name);
	} else if (rc == -EBUSY) {
		rpc_send_error(req, rc, "image %s/%s is open on cluster %s, or a previous close "
			       "of it has not finished (cluster unreachable?): retry later", p.pool_name, p.rbd_name,
			       p.cluster_name);
	} else if (rc == -EINVAL) {
		rpc_send_error(req, RPC_ERROR_INVALID_PARAMS,
			       "Invalid parameters: name, pool_name, rbd_name or block_size");
	} else if (rc != 0) {
		rpc_send_errno(req, rc, rc);
	}
out:
	free(kv);
	free(p.name);
	free(p.user_id);
	free(p.pool_name);
	free(p.rbd_name);
	json_object_put(p.config);
	free(p.cluster_name);
	free(p.uuid);
}
RPC_REGISTER("bdev_rbd_create", rpc_bdev_rbd_create, RPC_STATE_RUNTIME | RPC_MUTATES);

/* ---- bdev_rbd_delete / bdev_rbd_resize ---- */

static void
rpc_bdev_rbd_delete(struct rpc_request *req, struct json_object *params)
{
	struct rpc_rbd_name p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_rbd_name_decoders, VHD_COUNTOF(rpc_rbd_name_decoders),
			      &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	rc = bdev_rbd_delete(p.name, bdev_rpc_delete_done, req);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
	}
out:
	free(p.name);
}
RPC_REGISTER("bdev_rbd_delete", rpc_bdev_rbd_delete, RPC_STATE_RUNTIME | RPC_MUTATES);

struct rpc_rbd_resize {
	char		*name;
	uint64_t	new_size;
};

static const struct rpc_decoder rpc_rbd_resize_decoders[] = {
	{"name", offsetof(struct rpc_rbd_resize, name), rpc_decode_string, false},
	{"new_size", offsetof(struct rpc_rbd_resize, new_size), rpc_decode_uint64, false},
};

static void
rpc_bdev_rbd_resize(struct rpc_request *req, struct json_object *params)
{
	struct rpc_rbd_resize p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_rbd_resize_decoders,
			      VHD_COUNTOF(rpc_rbd_resize_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	rc = bdev_rbd_resize(p.name, p.new_size, rpc_rbd_done, req);
	if (rc == -EINVAL) {
		rpc_send_error(req, rc, "new_size %llu MiB: must be > 0 and not smaller than the bdev",
			       (unsigned long long)p.new_size);
	} else if (rc != 0) {
		rpc_send_errno(req, rc, rc);
	}
out:
	free(p.name);
}
RPC_REGISTER("bdev_rbd_resize", rpc_bdev_rbd_resize, RPC_STATE_RUNTIME | RPC_MUTATES);
