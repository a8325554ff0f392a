/* SPDX-License-Identifier: BSD-3-Clause */
/* bdev_aio_create / bdev_aio_delete / bdev_aio_rescan. */
#include <errno.h>
#include <stdlib.h>

#include "vhostd/rpc.h"

#include "bdev_aio.h"

struct rpc_aio_create {
	char		*name;
	char		*filename;
	uint32_t	block_size;
	bool		readonly;
	bool		fallocate;
	char		*uuid;
};

static const struct rpc_decoder rpc_aio_create_decoders[] = {
	{"name", offsetof(struct rpc_aio_create, name), rpc_decode_string, false},
	{"filename", offsetof(struct rpc_aio_create, filename), rpc_decode_string, false},
	{"block_size", offsetof(struct rpc_aio_create, block_size), rpc_decode_uint32, true},
	{"readonly", offsetof(struct rpc_aio_create, readonly), rpc_decode_bool, true},
	{"fallocate", offsetof(struct rpc_aio_create, fallocate), rpc_decode_bool, true},
	{"uuid", offsetof(struct rpc_aio_create, uuid), rpc_decode_string, true},
};

static void
rpc_bdev_aio_create(struct rpc_request *req, struct json_object *params)
{
	struct rpc_aio_create p = {};
	struct aio_bdev_opts opts = {};
	struct rpc_decode_error err;
	struct bdev *bdev;
	int rc;

	if (rpc_decode_object(params, rpc_aio_create_decoders,
			      VHD_COUNTOF(rpc_aio_create_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	if (bdev_rpc_parse_uuid(p.uuid, &opts.uuid) != 0) {
		rpc_send_error(req, -EINVAL, "Invalid parameters: uuid: not a UUID");
		goto out;
	}
	opts.name = p.name;
	opts.filename = p.filename;
	opts.block_size = p.block_size;
	opts.readonly = p.readonly;
	opts.fallocate = p.fallocate;
	rc = bdev_aio_create(&opts, &bdev);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
		goto out;
	}
	rpc_send_string(req, bdev_get_name(bdev));
out:
	free(p.name);
	free(p.filename);
	free(p.uuid);
}
RPC_REGISTER("bdev_aio_create", rpc_bdev_aio_create, RPC_STATE_RUNTIME | RPC_MUTATES);

struct rpc_aio_name {
	char	*name;
};

static const struct rpc_decoder rpc_aio_name_decoders[] = {
	{"name", offsetof(struct rpc_aio_name, name), rpc_decode_string, false},
};

static void
rpc_bdev_aio_delete(struct rpc_request *req, struct json_object *params)
{
	struct rpc_aio_name p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_aio_name_decoders, VHD_COUNTOF(rpc_aio_name_decoders),
			      &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	rc = bdev_aio_delete(p.name, bdev_rpc_delete_done, req);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
	}
out:
	free(p.name);
}
RPC_REGISTER("bdev_aio_delete", rpc_bdev_aio_delete, RPC_STATE_RUNTIME | RPC_MUTATES);

static void
rpc_bdev_aio_rescan(struct rpc_request *req, struct json_object *params)
{
	struct rpc_aio_name p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_aio_name_decoders, VHD_COUNTOF(rpc_aio_name_decoders),
			      &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	rc = bdev_aio_rescan(p.name);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
		goto out;
	}
	rpc_send_bool(req, true);
out:
	free(p.name);
}
RPC_REGISTER("bdev_aio_rescan", rpc_bdev_aio_rescan, RPC_STATE_RUNTIME);
