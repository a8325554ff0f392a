/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bdev_uring_create / bdev_uring_delete / bdev_uring_rescan. Like SPDK, a
 * failed create is -32603 "Unable to create URING bdev"; unlike SPDK, the
 * message keeps the reason.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/rpc.h"

#include "bdev_uring.h"

struct rpc_uring_create {
	char		*name;
	char		*filename;
	uint32_t	block_size;
	char		*uuid;
};

static const struct rpc_decoder rpc_uring_create_decoders[] = {
	{"name", offsetof(struct rpc_uring_create, name), rpc_decode_string, false},
	{"filename", offsetof(struct rpc_uring_create, filename), rpc_decode_string, false},
	{"block_size", offsetof(struct rpc_uring_create, block_size), rpc_decode_uint32, true},
	{"uuid", offsetof(struct rpc_uring_create, uuid), rpc_decode_string, true},
};

static void
rpc_bdev_uring_create(struct rpc_request *req, struct json_object *params)
{
	struct rpc_uring_create p = {};
	struct uring_bdev_opts opts = {};
	struct rpc_decode_error err;
	struct bdev *bdev;
	int rc;

	if (rpc_decode_object(params, rpc_uring_create_decoders,
			      VHD_COUNTOF(rpc_uring_create_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	if (bdev_rpc_parse_uuid(p.uuid, &opts.uuid) != 0) {
		rpc_send_error(req, RPC_ERROR_INTERNAL_ERROR,
			       "Unable to create URING bdev: uuid: not a UUID");
		goto out;
	}
	opts.name = p.name;
	opts.filename = p.filename;
	opts.block_size = p.block_size;
	rc = bdev_uring_create(&opts, &bdev);
	if (rc != 0) {
		rpc_send_error(req, RPC_ERROR_INTERNAL_ERROR, "Unable to create URING bdev: %s",
			       strerror(-rc));
		goto out;
	}
	rpc_send_string(req, bdev_get_name(bdev));
out:
	free(p.name);
	free(p.filename);
	free(p.uuid);
}
RPC_REGISTER("bdev_uring_create", rpc_bdev_uring_create, RPC_STATE_RUNTIME | RPC_MUTATES);

struct rpc_uring_name {
	char	*name;
};

static const struct rpc_decoder rpc_uring_name_decoders[] = {
	{"name", offsetof(struct rpc_uring_name, name), rpc_decode_string, false},
};

static void
rpc_bdev_uring_delete(struct rpc_request *req, struct json_object *params)
{
	struct rpc_uring_name p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_uring_name_decoders,
			      VHD_COUNTOF(rpc_uring_name_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	rc = bdev_uring_delete(p.name, bdev_rpc_delete_done, req);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
	}
out:
	free(p.name);
}
RPC_REGISTER("bdev_uring_delete", rpc_bdev_uring_delete, RPC_STATE_RUNTIME | RPC_MUTATES);

static void
rpc_bdev_uring_rescan(struct rpc_request *req, struct json_object *params)
{
	struct rpc_uring_name p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_uring_name_decoders,
			      VHD_COUNTOF(rpc_uring_name_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	rc = bdev_uring_rescan(p.name);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
		goto out;
	}
	rpc_send_bool(req, true);
out:
	free(p.name);
}
RPC_REGISTER("bdev_uring_rescan", rpc_bdev_uring_rescan, RPC_STATE_RUNTIME);
