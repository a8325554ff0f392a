/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-scsi RPCs with SPDK's names, parameters, results and errors
 * (../../shared/research/SPDK-RPC.md §2): every failure is -32602 with
 * strerror text. Extensions: 256 targets (SPDK: 8), an optional `lun` on
 * vhost_scsi_controller_add_target, vhost_scsi_controller_add_lun and
 * vhost_scsi_controller_remove_lun for several LUNs per target, and a clear
 * error (not a crash) when vhost_start_scsi_controller names a blk controller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "vhost_internal.h"
#include "vhost_scsi.h"

#include "vhostd/rpc.h"
#include "vhostd/util.h"

static void
rpc_scsi_send_rc(struct rpc_request *req, const char *ctrlr, int rc)
{
	if (rc == -EINVAL && ctrlr != NULL) {
		struct vhost_dev *vdev;
		bool other = false;

		pthread_mutex_lock(&g_vhost_mutex);
		vdev = vhost_dev_find(ctrlr);
		if (vdev != NULL && strcmp(vdev->ops->type, "scsi") != 0) {
			other = true;
		}
		pthread_mutex_unlock(&g_vhost_mutex);
		if (other) {
			rpc_send_error(req, RPC_ERROR_INVALID_PARAMS,
				       "Invalid argument: %s is not a vhost-scsi controller", ctrlr);
			return;
		}
	}
	rpc_send_errno(req, RPC_ERROR_INVALID_PARAMS, rc);
}

/* Deferred answers from the controller thread: an integer, or true. */
static void
rpc_scsi_done_int(void *cb_arg, int rc)
{
	struct rpc_request *req = cb_arg;

	if (rc < 0) {
		rpc_send_errno(req, RPC_ERROR_INVALID_PARAMS, rc);
	} else {
		rpc_send_result(req, json_object_new_int(rc));
	}
}

static void
rpc_scsi_done_bool(void *cb_arg, int rc)
{
	struct rpc_request *req = cb_arg;

	if (rc < 0) {
		rpc_send_errno(req, RPC_ERROR_INVALID_PARAMS, rc);
	} else {
		rpc_send_bool(req, true);
	}
}

/* ---- vhost_create_scsi_controller ---- */

struct rpc_scsi_create {
	char	*ctrlr;
	char	*cpumask;
	bool	delay;
};

static const struct rpc_decoder rpc_scsi_create_decoders[] = {
	{"ctrlr", offsetof(struct rpc_scsi_create, ctrlr), rpc_decode_string, false},
	{"cpumask", offsetof(struct rpc_scsi_create, cpumask), rpc_decode_string, true},
	{"delay", offsetof(struct rpc_scsi_create, delay), rpc_decode_bool, true},
};

static void
rpc_vhost_create_scsi_controller(struct rpc_request *req, struct json_object *params)
{
	struct rpc_scsi_create p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_scsi_create_decoders,
			      VHD_COUNTOF(rpc_scsi_create_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
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
	rc = vhost_scsi_controller_create(p.ctrlr, p.cpumask, p.delay);
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
	free(p.cpumask);
}
RPC_REGISTER("vhost_create_scsi_controller", rpc_vhost_create_scsi_controller,
	     RPC_STATE_RUNTIME | RPC_MUTATES)

/* ---- vhost_start_scsi_controller ---- */

struct rpc_scsi_ctrlr {
	char	*ctrlr;
};

static const struct rpc_decoder rpc_scsi_ctrlr_decoders[] = {
	{"ctrlr", offsetof(struct rpc_scsi_ctrlr, ctrlr), rpc_decode_string, false},
};

static void
rpc_vhost_start_scsi_controller(struct rpc_request *req, struct json_object *params)
{
	struct rpc_scsi_ctrlr p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_scsi_ctrlr_decoders,
			      VHD_COUNTOF(rpc_scsi_ctrlr_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	rc = vhost_scsi_controller_start(p.ctrlr);
	if (rc != 0) {
		rpc_scsi_send_rc(req, p.ctrlr, rc);
		goto out;
	}
	rpc_send_bool(req, true);
out:
	free(p.ctrlr);
}
RPC_REGISTER("vhost_start_scsi_controller", rpc_vhost_start_scsi_controller,
	     RPC_STATE_RUNTIME | RPC_MUTATES)

/* ---- vhost_scsi_controller_add_target / add_lun ---- */

struct rpc_scsi_add {
	char		*ctrlr;
	int32_t		scsi_target_num;
	char		*bdev_name;
	uint32_t	lun;
};

static const struct rpc_decoder rpc_scsi_add_target_decoders[] = {
	{"ctrlr", offsetof(struct rpc_scsi_add, ctrlr), rpc_decode_string, false},
	{"scsi_target_num", offsetof(struct rpc_scsi_add, scsi_target_num), rpc_decode_int32,
	 false},
	{"bdev_name", offsetof(struct rpc_scsi_add, bdev_name), rpc_decode_string, false},
	{"lun", offsetof(struct rpc_scsi_add, lun), rpc_decode_uint32, true},
};

static void
rpc_vhost_scsi_controller_add_target(struct rpc_request *req, struct json_object *params)
{
	struct rpc_scsi_add p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_scsi_add_target_decoders,
			      VHD_COUNTOF(rpc_scsi_add_target_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	rc = vhost_scsi_controller_add_target(p.ctrlr, p.scsi_target_num, p.bdev_name, p.lun,
					      rpc_scsi_done_int, req);
	if (rc != 0) {
		rpc_scsi_send_rc(req, p.ctrlr, rc);
	}
out:
	free(p.ctrlr);
	free(p.bdev_name);
}
RPC_REGISTER("vhost_scsi_controller_add_target", rpc_vhost_scsi_controller_add_target,
	     RPC_STATE_RUNTIME | RPC_MUTATES)

static const struct rpc_decoder rpc_scsi_add_lun_decoders[] = {
	{"ctrlr", offsetof(struct rpc_scsi_add, ctrlr), rpc_decode_string, false},
	{"scsi_target_num", offsetof(struct rpc_scsi_add, scsi_target_num), rpc_decode_int32,
	 false},
	{"bdev_name", offsetof(struct rpc_scsi_add, bdev_name), rpc_decode_string, false},
	{"lun", offsetof(struct rpc_scsi_add, lun), rpc_decode_uint32, false},
};

static void
rpc_vhost_scsi_controller_add_lun(struct rpc_request *req, struct json_object *params)
{
	struct rpc_scsi_add p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_scsi_add_lun_decoders,
			      VHD_COUNTOF(rpc_scsi_add_lun_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	if (p.scsi_target_num < 0) {
		rc = -EINVAL;
	} else {
		rc = vhost_scsi_controller_add_lun(p.ctrlr, (uint32_t)p.scsi_target_num,
						   p.bdev_name, p.lun, rpc_scsi_done_bool, req);
	}
	if (rc != 0) {
		rpc_scsi_send_rc(req, p.ctrlr, rc);
	}
out:
	free(p.ctrlr);
	free(p.bdev_name);
}
RPC_REGISTER("vhost_scsi_controller_add_lun", rpc_vhost_scsi_controller_add_lun,
	     RPC_STATE_RUNTIME | RPC_MUTATES)

/* ---- vhost_scsi_controller_remove_target / remove_lun ---- */

struct rpc_scsi_remove {
	char		*ctrlr;
	uint32_t	scsi_target_num;
	uint32_t	lun;
};

static const struct rpc_decoder rpc_scsi_remove_target_decoders[] = {
	{"ctrlr", offsetof(struct rpc_scsi_remove, ctrlr), rpc_decode_string, false},
	{"scsi_target_num", offsetof(struct rpc_scsi_remove, scsi_target_num), rpc_decode_uint32,
	 false},
};

static void
rpc_vhost_scsi_controller_remove_target(struct rpc_request *req, struct json_object *params)
{
	struct rpc_scsi_remove p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_scsi_remove_target_decoders,
			      VHD_COUNTOF(rpc_scsi_remove_target_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	/* Answered once every session has dropped the target. */
	rc = vhost_scsi_controller_remove_target(p.ctrlr, p.scsi_target_num, rpc_scsi_done_bool,
						 req);
	if (rc != 0) {
		rpc_scsi_send_rc(req, p.ctrlr, rc);
	}
out:
	free(p.ctrlr);
}
RPC_REGISTER("vhost_scsi_controller_remove_target", rpc_vhost_scsi_controller_remove_target,
	     RPC_STATE_RUNTIME | RPC_MUTATES)

static const struct rpc_decoder rpc_scsi_remove_lun_decoders[] = {
	{"ctrlr", offsetof(struct rpc_scsi_remove, ctrlr), rpc_decode_string, false},
	{"scsi_target_num", offsetof(struct rpc_scsi_remove, scsi_target_num), rpc_decode_uint32,
	 false},
	{"lun", offsetof(struct rpc_scsi_remove, lun), rpc_decode_uint32, false},
};

static void
rpc_vhost_scsi_controller_remove_lun(struct rpc_request *req, struct json_object *params)
{
	struct rpc_scsi_remove p = {};
	struct rpc_decode_error err;
	int rc;

	if (rpc_decode_object(params, rpc_scsi_remove_lun_decoders,
			      VHD_COUNTOF(rpc_scsi_remove_lun_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INVALID_PARAMS, &err);
		goto out;
	}
	rc = vhost_scsi_controller_remove_lun(p.ctrlr, p.scsi_target_num, p.lun,
					      rpc_scsi_done_bool, req);
	if (rc != 0) {
		rpc_scsi_send_rc(req, p.ctrlr, rc);
	}
out:
	free(p.ctrlr);
}
RPC_REGISTER("vhost_scsi_controller_remove_lun", rpc_vhost_scsi_controller_remove_lun,
	     RPC_STATE_RUNTIME | RPC_MUTATES)
