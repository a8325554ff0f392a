/* SPDX-License-Identifier: BSD-3-Clause */
/* bdev_error_create / bdev_error_inject_error / bdev_error_delete. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/rpc.h"

#include "bdev_error.h"

struct rpc_error_create {
	char	*base_name;
	char	*uuid;
};

static const struct rpc_decoder rpc_error_create_decoders[] = {
	{"base_name", offsetof(struct rpc_error_create, base_name), rpc_decode_string, false},
	{"uuid", offsetof(struct rpc_error_create, uuid), rpc_decode_string, true},
};

static void
rpc_bdev_error_create(struct rpc_request *req, struct json_object *params)
{
	struct rpc_error_create p = {};
	struct rpc_decode_error err;
	struct util_uuid uuid;
	struct bdev *bdev;
	int rc;

	if (rpc_decode_object(params, rpc_error_create_decoders,
			      VHD_COUNTOF(rpc_error_create_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	if (bdev_rpc_parse_uuid(p.uuid, &uuid) != 0) {
		rpc_send_error(req, -EINVAL, "Invalid parameters: uuid: not a UUID");
		goto out;
	}
	rc = bdev_error_create(p.base_name, &uuid, &bdev);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
		goto out;
	}
	rpc_send_string(req, bdev_get_name(bdev));
out:
	free(p.base_name);
	free(p.uuid);
}
RPC_REGISTER("bdev_error_create", rpc_bdev_error_create, RPC_STATE_RUNTIME | RPC_MUTATES);

struct rpc_error_inject {
	char		*name;
	char		*io_type;
	char		*error_type;
	uint32_t	num;
	uint32_t	queue_depth;
	uint64_t	corrupt_offset;
	uint32_t	corrupt_value;
};

static const struct rpc_decoder rpc_error_inject_decoders[] = {
	{"name", offsetof(struct rpc_error_inject, name), rpc_decode_string, false},
	{"io_type", offsetof(struct rpc_error_inject, io_type), rpc_decode_string, false},
	{"error_type", offsetof(struct rpc_error_inject, error_type), rpc_decode_string, false},
	{"num", offsetof(struct rpc_error_inject, num), rpc_decode_uint32, true},
	{"queue_depth", offsetof(struct rpc_error_inject, queue_depth), rpc_decode_uint32, true},
	{"corrupt_offset", offsetof(struct rpc_error_inject, corrupt_offset), rpc_decode_uint64,
	 true},
	{"corrupt_value", offsetof(struct rpc_error_inject, corrupt_value), rpc_decode_uint32, true},
};

static int
rpc_error_io_type(const char *s, enum bdev_io_type *t, bool *clear_all)
{
	static const struct {
		const char		*name;
		enum bdev_io_type	type;
	} map[] = {
		{"read", BDEV_IO_TYPE_READ},
		{"write", BDEV_IO_TYPE_WRITE},
		{"unmap", BDEV_IO_TYPE_UNMAP},
		{"flush", BDEV_IO_TYPE_FLUSH},
		{"write_zeroes", BDEV_IO_TYPE_WRITE_ZEROES},
		{"all", BDEV_NUM_IO_TYPES},
		{"clear", BDEV_NUM_IO_TYPES},
	};
	size_t i;

	for (i = 0; i < VHD_COUNTOF(map); i++) {
		if (strcmp(s, map[i].name) == 0) {
			*t = map[i].type;
			*clear_all = strcmp(s, "clear") == 0;
			return 0;
		}
	}
	return -EINVAL;
}

static int
rpc_error_error_type(const char *s, enum error_inject_type *t)
{
	if (strcmp(s, "failure") == 0) {
		*t = ERROR_INJECT_FAILURE;
	} else if (strcmp(s, "pending") == 0) {
		*t = ERROR_INJECT_PENDING;
	} else if (strcmp(s, "corrupt_data") == 0) {
		*t = ERROR_INJECT_CORRUPT;
	} else if (strcmp(s, "clear") == 0) {
		*t = ERROR_INJECT_NONE;
	} else {
		return -EINVAL;
	}
	return 0;
}

static void
rpc_bdev_error_inject_error(struct rpc_request *req, struct json_object *params)
{
	struct rpc_error_inject p = {.num = 1};
	struct rpc_decode_error err;
	enum bdev_io_type io_type;
	enum error_inject_type type;
	bool clear_all;
	int rc;

	if (rpc_decode_object(params, rpc_error_inject_decoders,
			      VHD_COUNTOF(rpc_error_inject_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	if (rpc_error_io_type(p.io_type, &io_type, &clear_all) != 0) {
		rpc_send_error(req, -EINVAL, "Invalid parameters: io_type: %s", p.io_type);
		goto out;
	}
	if (rpc_error_error_type(p.error_type, &type) != 0) {
		rpc_send_error(req, -EINVAL, "Invalid parameters: error_type: %s", p.error_type);
		goto out;
	}
	if (clear_all) {
		type = ERROR_INJECT_NONE;
	}
	if (p.corrupt_value > 255) {
		rpc_send_error(req, -EINVAL, "Invalid parameters: corrupt_value: 1..255");
		goto out;
	}
	if (type == ERROR_INJECT_CORRUPT && p.corrupt_value == 0) {
		p.corrupt_value = 0xff;
	}
	rc = bdev_error_inject(p.name, io_type, type, p.num, p.corrupt_offset,
			       (uint8_t)p.corrupt_value);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
		goto out;
	}
	rpc_send_bool(req, true);
out:
	free(p.name);
	free(p.io_type);
	free(p.error_type);
}
RPC_REGISTER("bdev_error_inject_error", rpc_bdev_error_inject_error, RPC_STATE_RUNTIME);

struct rpc_error_delete {
	char	*name;
};

static const struct rpc_decoder rpc_error_delete_decoders[] = {
	{"name", offsetof(struct rpc_error_delete, name), rpc_decode_string, false},
};

static void
rpc_bdev_error_delete(struct rpc_request *req, struct json_object *params)
{
	struct rpc_error_delete p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_error_delete_decoders,
			      VHD_COUNTOF(rpc_error_delete_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	rc = bdev_error_delete(p.name, bdev_rpc_delete_done, req);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
	}
out:
	free(p.name);
}
RPC_REGISTER("bdev_error_delete", rpc_bdev_error_delete, RPC_STATE_RUNTIME | RPC_MUTATES);
