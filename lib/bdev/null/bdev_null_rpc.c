/* SPDX-License-Identifier: BSD-3-Clause */
/* bdev_null_create / bdev_null_delete / bdev_null_resize and save_config. */
#include <errno.h>
#include <stdlib.h>

#include "vhostd/rpc.h"

#include "bdev_null.h"

void null_write_config_json(struct bdev *bdev, struct json_object *config);

struct rpc_null_create {
	char		*name;
	uint64_t	num_blocks;
	uint32_t	block_size;
	uint32_t	physical_block_size;
	char		*uuid;
	uint32_t	md_size;
	int32_t		dif_type;
	bool		dif_is_head_of_md;
	uint32_t	dif_pi_format;
	uint32_t	pref[5];
};

static const struct rpc_decoder rpc_null_create_decoders[] = {
	{"name", offsetof(struct rpc_null_create, name), rpc_decode_string, false},
	{"num_blocks", offsetof(struct rpc_null_create, num_blocks), rpc_decode_uint64, false},
	{"block_size", offsetof(struct rpc_null_create, block_size), rpc_decode_uint32, false},
	{"physical_block_size", offsetof(struct rpc_null_create, physical_block_size),
	 rpc_decode_uint32, true},
	{"uuid", offsetof(struct rpc_null_create, uuid), rpc_decode_string, true},
	{"md_size", offsetof(struct rpc_null_create, md_size), rpc_decode_uint32, true},
	{"dif_type", offsetof(struct rpc_null_create, dif_type), rpc_decode_int32, true},
	{"dif_is_head_of_md", offsetof(struct rpc_null_create, dif_is_head_of_md), rpc_decode_bool,
	 true},
	{"dif_pi_format", offsetof(struct rpc_null_create, dif_pi_format), rpc_decode_uint32, true},
	/* Accepted for SPDK config compatibility; only 0 is meaningful here. */
	{"preferred_write_alignment", offsetof(struct rpc_null_create, pref[0]), rpc_decode_uint32,
	 true},
	{"preferred_write_granularity", offsetof(struct rpc_null_create, pref[1]),
	 rpc_decode_uint32, true},
	{"optimal_write_size", offsetof(struct rpc_null_create, pref[2]), rpc_decode_uint32, true},
	{"preferred_unmap_alignment", offsetof(struct rpc_null_create, pref[3]), rpc_decode_uint32,
	 true},
	{"preferred_unmap_granularity", offsetof(struct rpc_null_create, pref[4]),
	 rpc_decode_uint32, true},
};

static void
rpc_bdev_null_create(struct rpc_request *req, struct json_object *params)
{
	struct rpc_null_create p = {};
	struct null_bdev_opts opts = {};
	struct rpc_decode_error err;
	struct bdev *bdev;
	int rc;

	if (rpc_decode_object(params, rpc_null_create_decoders,
			      VHD_COUNTOF(rpc_null_create_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	if (p.md_size != 0 || p.dif_type != 0 || p.dif_is_head_of_md || p.dif_pi_format != 0) {
		rpc_send_error(req, -ENOTSUP, "metadata and DIF are not supported");
		goto out;
	}
	if (bdev_rpc_parse_uuid(p.uuid, &opts.uuid) != 0) {
		rpc_send_error(req, -EINVAL, "Invalid parameters: uuid: not a UUID");
		goto out;
	}
	opts.name = p.name;
	opts.num_blocks = p.num_blocks;
	opts.block_size = p.block_size;
	opts.physical_block_size = p.physical_block_size;
	rc = bdev_null_create(&opts, &bdev);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
		goto out;
	}
	rpc_send_string(req, bdev_get_name(bdev));
out:
	free(p.name);
	free(p.uuid);
}
RPC_REGISTER("bdev_null_create", rpc_bdev_null_create, RPC_STATE_RUNTIME | RPC_MUTATES);

struct rpc_null_delete {
	char	*name;
};

static const struct rpc_decoder rpc_null_delete_decoders[] = {
	{"name", offsetof(struct rpc_null_delete, name), rpc_decode_string, false},
};

static void
rpc_bdev_null_delete(struct rpc_request *req, struct json_object *params)
{
	struct rpc_null_delete p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_null_delete_decoders,
			      VHD_COUNTOF(rpc_null_delete_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	rc = bdev_null_delete(p.name, bdev_rpc_delete_done, req);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
	}
out:
	free(p.name);
}
RPC_REGISTER("bdev_null_delete", rpc_bdev_null_delete, RPC_STATE_RUNTIME | RPC_MUTATES);

struct rpc_null_resize {
	char		*name;
	uint64_t	new_size;
};

static const struct rpc_decoder rpc_null_resize_decoders[] = {
	{"name", offsetof(struct rpc_null_resize, name), rpc_decode_string, false},
	{"new_size", offsetof(struct rpc_null_resize, new_size), rpc_decode_uint64, false},
};

static void
rpc_bdev_null_resize(struct rpc_request *req, struct json_object *params)
{
	struct rpc_null_resize p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_null_resize_decoders,
			      VHD_COUNTOF(rpc_null_resize_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	rc = bdev_null_resize(p.name, p.new_size);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
		goto out;
	}
	rpc_send_bool(req, true);
out:
	free(p.name);
}
RPC_REGISTER("bdev_null_resize", rpc_bdev_null_resize, RPC_STATE_RUNTIME | RPC_MUTATES);

void
null_write_config_json(struct bdev *bdev, struct json_object *config)
{
	struct json_object *p = json_object_new_object();
	char uuid[37];

	util_uuid_fmt(uuid, bdev_get_uuid(bdev));
	json_object_object_add(p, "name", json_object_new_string(bdev->name));
	json_object_object_add(p, "num_blocks", json_object_new_uint64(bdev_get_num_blocks(bdev)));
	json_object_object_add(p, "block_size", json_object_new_int64(bdev->blocklen));
	json_object_object_add(p, "physical_block_size",
			       json_object_new_int64(bdev_get_physical_block_size(bdev)));
	json_object_object_add(p, "uuid", json_object_new_string(uuid));
	rpc_config_add(config, "bdev_null_create", p);
}
