/* SPDX-License-Identifier: BSD-3-Clause */
/* bdev_delay_create / bdev_delay_update_latency / bdev_delay_delete. */
#include <errno.h>
#include <stdlib.h>

#include "vhostd/rpc.h"

#include "bdev_delay.h"

struct rpc_delay_create {
	char		*base_bdev_name;
	char		*name;
	uint64_t	lat[DELAY_NUM_LATENCIES];
	char		*uuid;
};

static const struct rpc_decoder rpc_delay_create_decoders[] = {
	{"base_bdev_name", offsetof(struct rpc_delay_create, base_bdev_name), rpc_decode_string,
	 false},
	{"name", offsetof(struct rpc_delay_create, name), rpc_decode_string, false},
	{"avg_read_latency", offsetof(struct rpc_delay_create, lat[DELAY_AVG_READ]),
	 rpc_decode_uint64, false},
	{"p99_read_latency", offsetof(struct rpc_delay_create, lat[DELAY_P99_READ]),
	 rpc_decode_uint64, false},
	{"avg_write_latency", offsetof(struct rpc_delay_create, lat[DELAY_AVG_WRITE]),
	 rpc_decode_uint64, false},
	{"p99_write_latency", offsetof(struct rpc_delay_create, lat[DELAY_P99_WRITE]),
	 rpc_decode_uint64, false},
	{"uuid", offsetof(struct rpc_delay_create, uuid), rpc_decode_string, true},
};

static void
rpc_bdev_delay_create(struct rpc_request *req, struct json_object *params)
{
	struct rpc_delay_create p = {};
	struct delay_bdev_opts opts = {};
	struct rpc_decode_error err;
	struct bdev *bdev;
	int rc, i;

	if (rpc_decode_object(params, rpc_delay_create_decoders,
			      VHD_COUNTOF(rpc_delay_create_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	if (bdev_rpc_parse_uuid(p.uuid, &opts.uuid) != 0) {
		rpc_send_error(req, -EINVAL, "Invalid parameters: uuid: not a UUID");
		goto out;
	}
	opts.name = p.name;
	opts.base_name = p.base_bdev_name;
	for (i = 0; i < DELAY_NUM_LATENCIES; i++) {
		opts.latency_us[i] = p.lat[i];
	}
	rc = bdev_delay_create(&opts, &bdev);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
		goto out;
	}
	rpc_send_string(req, bdev_get_name(bdev));
out:
	free(p.base_bdev_name);
	free(p.name);
	free(p.uuid);
}
RPC_REGISTER("bdev_delay_create", rpc_bdev_delay_create, RPC_STATE_RUNTIME | RPC_MUTATES);

struct rpc_delay_update {
	char		*delay_bdev_name;
	char		*latency_type;
	uint64_t	latency_us;
};

static const struct rpc_decoder rpc_delay_update_decoders[] = {
	{"delay_bdev_name", offsetof(struct rpc_delay_update, delay_bdev_name), rpc_decode_string,
	 false},
	{"latency_type", offsetof(struct rpc_delay_update, latency_type), rpc_decode_string, false},
	{"latency_us", offsetof(struct rpc_delay_update, latency_us), rpc_decode_uint64, false},
};

static void
rpc_bdev_delay_update_latency(struct rpc_request *req, struct json_object *params)
{
	struct rpc_delay_update p = {};
	struct rpc_decode_error err;
	enum delay_latency_type type;
	int rc;

	if (rpc_decode_object(params, rpc_delay_update_decoders,
			      VHD_COUNTOF(rpc_delay_update_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	if (delay_latency_type_from_name(p.latency_type, &type) != 0) {
		rpc_send_error(req, -EINVAL,
			       "Invalid parameters: latency_type: avg_read, p99_read, avg_write "
			       "or p99_write");
		goto out;
	}
	rc = bdev_delay_update_latency(p.delay_bdev_name, type, p.latency_us);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
		goto out;
	}
	rpc_send_bool(req, true);
out:
	free(p.delay_bdev_name);
	free(p.latency_type);
}
/* Not RPC_MUTATES-exempt: the latencies are part of the saved create call. */
RPC_REGISTER("bdev_delay_update_latency", rpc_bdev_delay_update_latency,
	     RPC_STATE_RUNTIME | RPC_MUTATES);

struct rpc_delay_delete {
	char	*name;
};

static const struct rpc_decoder rpc_delay_delete_decoders[] = {
	{"name", offsetof(struct rpc_delay_delete, name), rpc_decode_string, false},
};

static void
rpc_bdev_delay_delete(struct rpc_request *req, struct json_object *params)
{
	struct rpc_delay_delete p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_delay_delete_decoders,
			      VHD_COUNTOF(rpc_delay_delete_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	rc = bdev_delay_delete(p.name, bdev_rpc_delete_done, req);
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
	}
out:
	free(p.name);
}
RPC_REGISTER("bdev_delay_delete", rpc_bdev_delay_delete, RPC_STATE_RUNTIME | RPC_MUTATES);
