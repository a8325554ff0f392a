/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "bdev" subsystem (order 10) and the generic bdev RPCs:
 * bdev_get_bdevs, bdev_get_iostat, bdev_wait_for_examine.
 * Error behaviour follows SPDK's bdev modules: a decode failure is -32603
 * (the message names the field), a semantic failure is -errno.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/bdev_module.h"
#include "vhostd/log.h"
#include "vhostd/rpc.h"
#include "vhostd/subsystem.h"

#include "bdev_internal.h"

/* ---- subsystem ---- */

static int
bdev_subsystem_init(void)
{
	return bdev_modules_init();
}

static void
bdev_subsystem_fini(void (*done)(void))
{
	bdev_fini_all(done);
}

static void
bdev_subsystem_write_config(struct json_object *config)
{
	struct bdev *bdev;

	/* Registration order is dependency order: a virtual bdev comes after its base. */
	for (bdev = bdev_first(); bdev != NULL; bdev = bdev_next(bdev)) {
		if (bdev->internal.state != BDEV_STATE_READY ||
		    bdev->fn_table->write_config_json == NULL) {
			continue;
		}
		bdev->fn_table->write_config_json(bdev, config);
	}
}

static struct subsystem g_bdev_subsystem = {
	.name = "bdev",
	.order = 10,
	.init = bdev_subsystem_init,
	.fini = bdev_subsystem_fini,
	.write_config = bdev_subsystem_write_config,
};
SUBSYSTEM_REGISTER(g_bdev_subsystem);

/* ---- shared glue ---- */

void
bdev_rpc_delete_done(void *req, int rc)
{
	if (rc != 0) {
		rpc_send_errno(req, rc, rc);
		return;
	}
	rpc_send_bool(req, true);
}

int
bdev_rpc_parse_uuid(const char *str, struct util_uuid *uuid)
{
	memset(uuid, 0, sizeof(*uuid));
	if (str == NULL) {
		return 0;
	}
	return util_uuid_parse(str, uuid) == 0 ? 0 : -EINVAL;
}

/* ---- bdev_get_bdevs ---- */

static struct json_object *
bdev_info_json(struct bdev *bdev)
{
	struct json_object *o, *aliases, *io, *limits, *ds;
	struct bdev_alias *a;
	char uuid[37];
	int t;
	static const char *const spdk_io_types[] = {
		"read", "write", "unmap", "flush", "reset", "nvme_admin", "nvme_io",
		"nvme_io_md", "write_zeroes", "zcopy", "get_zone_info", "zone_management",
		"zone_append", "compare", "compare_and_write", "abort", "seek_hole",
		"seek_data", "copy", "nvme_iov_md", "nvme_nssr",
	};
	static const enum bdev_io_type ours[] = {
		BDEV_IO_TYPE_READ, BDEV_IO_TYPE_WRITE, BDEV_IO_TYPE_UNMAP, BDEV_IO_TYPE_FLUSH,
		BDEV_IO_TYPE_RESET, BDEV_IO_TYPE_INVALID, BDEV_IO_TYPE_INVALID,
		BDEV_IO_TYPE_INVALID, BDEV_IO_TYPE_WRITE_ZEROES,
	};

	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(bdev->name));
	aliases = json_object_new_array();
	TAILQ_FOREACH(a, &bdev->internal.aliases, link) {
		json_object_array_add(aliases, json_object_new_string(a->alias));
	}
	json_object_object_add(o, "aliases", aliases);
	json_object_object_add(o, "product_name", json_object_new_string(bdev->product_name));
	json_object_object_add(o, "block_size", json_object_new_int64(bdev->blocklen));
	json_object_object_add(o, "num_blocks",
			       json_object_new_uint64(bdev_get_num_blocks(bdev)));
	json_object_object_add(o, "preferred_write_alignment", json_object_new_int(0));
	json_object_object_add(o, "preferred_write_granularity", json_object_new_int(0));
	json_object_object_add(o, "optimal_write_size", json_object_new_int(0));
	json_object_object_add(o, "preferred_unmap_alignment", json_object_new_int(0));
	json_object_object_add(o, "preferred_unmap_granularity", json_object_new_int(0));
	util_uuid_fmt(uuid, &bdev->uuid);
	json_object_object_add(o, "uuid", json_object_new_string(uuid));
	limits = json_object_new_object();
	json_object_object_add(limits, "rw_ios_per_sec", json_object_new_int(0));
	json_object_object_add(limits, "rw_mbytes_per_sec", json_object_new_int(0));
	json_object_object_add(limits, "r_mbytes_per_sec", json_object_new_int(0));
	json_object_object_add(limits, "w_mbytes_per_sec", json_object_new_int(0));
	json_object_object_add(o, "assigned_rate_limits", limits);
	json_object_object_add(o, "claimed", json_object_new_boolean(bdev_is_claimed(bdev)));
	if (bdev_is_claimed(bdev)) {
		json_object_object_add(o, "claim_type", json_object_new_string("exclusive_write"));
	}
	json_object_object_add(o, "zoned", json_object_new_boolean(false));
	io = json_object_new_object();
	for (t = 0; t < (int)VHD_COUNTOF(spdk_io_types); t++) {
		bool sup = t < (int)VHD_COUNTOF(ours) && ours[t] != BDEV_IO_TYPE_INVALID &&
			   bdev_io_type_supported(bdev, ours[t]);

		json_object_object_add(io, spdk_io_types[t], json_object_new_boolean(sup));
	}
	json_object_object_add(o, "supported_io_types", io);
	/* Ours, beyond SPDK's shape: what vhost-blk/scsi advertise. */
	json_object_object_add(o, "physical_block_size",
			       json_object_new_int64(bdev_get_physical_block_size(bdev)));
	json_object_object_add(o, "write_cache", json_object_new_boolean(bdev->write_cache));
	json_object_object_add(o, "optimal_io_boundary",
			       json_object_new_int64(bdev->optimal_io_boundary));
	json_object_object_add(o, "max_transfer_blocks", json_object_new_int64(bdev->max_rw_blocks));
	ds = json_object_new_object();
	if (bdev->fn_table->dump_info_json != NULL) {
		bdev->fn_table->dump_info_json(bdev, ds);
	}
	json_object_object_add(o, "driver_specific", ds);
	return o;
}

struct rpc_get_bdevs {
	char		*name;
	uint64_t	timeout;
};

static const struct rpc_decoder rpc_get_bdevs_decoders[] = {
	{"name", offsetof(struct rpc_get_bdevs, name), rpc_decode_string, true},
	{"timeout", offsetof(struct rpc_get_bdevs, timeout), rpc_decode_uint64, true},
};

struct rpc_get_bdevs_wait {
	struct rpc_request	*req;
	char			*name;
	uint64_t		deadline_us;
	struct poller		*poller;
};

static void
rpc_get_bdevs_send_one(struct rpc_request *req, struct bdev *bdev)
{
	struct json_object *arr = json_object_new_array();

	json_object_array_add(arr, bdev_info_json(bdev));
	rpc_send_result(req, arr);
}

static int
rpc_get_bdevs_wait_poll(void *ctx)
{
	struct rpc_get_bdevs_wait *w = ctx;
	struct bdev *bdev = bdev_get_by_name(w->name);

	if (bdev == NULL && util_now_us() < w->deadline_us) {
		return POLLER_IDLE;
	}
	if (bdev != NULL) {
		rpc_get_bdevs_send_one(w->req, bdev);
	} else {
		rpc_send_errno(w->req, -ENODEV, -ENODEV);
	}
	poller_unregister(&w->poller);
	free(w->name);
	free(w);
	return POLLER_BUSY;
}

static void
rpc_bdev_get_bdevs(struct rpc_request *req, struct json_object *params)
{
	struct rpc_get_bdevs p = {};
	struct rpc_decode_error err;
	struct json_object *arr;
	struct bdev *bdev;

	if (rpc_decode_object(params, rpc_get_bdevs_decoders, VHD_COUNTOF(rpc_get_bdevs_decoders),
			      &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	if (p.name == NULL) {
		arr = json_object_new_array();
		for (bdev = bdev_first(); bdev != NULL; bdev = bdev_next(bdev)) {
			json_object_array_add(arr, bdev_info_json(bdev));
		}
		rpc_send_result(req, arr);
		goto out;
	}
	bdev = bdev_get_by_name(p.name);
	if (bdev != NULL) {
		rpc_get_bdevs_send_one(req, bdev);
		goto out;
	}
	if (p.timeout == 0) {
		rpc_send_errno(req, -ENODEV, -ENODEV);
		goto out;
	}
	{
		struct rpc_get_bdevs_wait *w = calloc(1, sizeof(*w));

		if (w == NULL) {
			rpc_send_errno(req, -ENOMEM, -ENOMEM);
			goto out;
		}
		w->req = req;
		w->name = p.name;
		p.name = NULL;
		w->deadline_us = util_now_us() + VHD_MIN(p.timeout, (uint64_t)3600 * 1000) * 1000;
		w->poller = poller_register(rpc_get_bdevs_wait_poll, w, 10 * 1000,
					    "bdev_get_bdevs_wait");
		if (w->poller == NULL) {
			free(w->name);
			free(w);
			rpc_send_errno(req, -ENOMEM, -ENOMEM);
		}
	}
out:
	free(p.name);
}
RPC_REGISTER("bdev_get_bdevs", rpc_bdev_get_bdevs, RPC_STATE_RUNTIME);

/* ---- bdev_get_iostat ---- */

struct rpc_get_iostat {
	char	*name;
	bool	per_channel;
	char	*reset_mode;
};

static const struct rpc_decoder rpc_get_iostat_decoders[] = {
	{"name", offsetof(struct rpc_get_iostat, name), rpc_decode_string, true},
	{"per_channel", offsetof(struct rpc_get_iostat, per_channel), rpc_decode_bool, true},
	{"reset_mode", offsetof(struct rpc_get_iostat, reset_mode), rpc_decode_string, true},
};

struct rpc_iostat_ctx {
	struct rpc_request	*req;
	struct json_object	*bdevs;
	struct bdev		**list;
	size_t			count;
	size_t			next;
	int			reset;
	struct bdev_io_stat	stat;
};

static void
iostat_add_type(struct json_object *o, const char *name, const struct bdev_io_type_stat *s,
		bool with_ops_bytes)
{
	char key[64];

	if (with_ops_bytes) {
		snprintf(key, sizeof(key), "bytes_%s", name);
		json_object_object_add(o, key, json_object_new_uint64(s->bytes));
		snprintf(key, sizeof(key), "num_%s_ops", name);
		json_object_object_add(o, key, json_object_new_uint64(s->ops));
	}
}

static void
iostat_add_lat(struct json_object *o, const char *name, const struct bdev_io_type_stat *s)
{
	char key[64];

	snprintf(key, sizeof(key), "%s_latency_ticks", name);
	json_object_object_add(o, key, json_object_new_uint64(s->lat_sum));
	snprintf(key, sizeof(key), "max_%s_latency_ticks", name);
	json_object_object_add(o, key, json_object_new_uint64(s->lat_max));
	snprintf(key, sizeof(key), "min_%s_latency_ticks", name);
	json_object_object_add(o, key,
			       json_object_new_uint64(s->lat_min == UINT64_MAX ? 0 : s->lat_min));
}

static struct json_object *
iostat_json(struct bdev *bdev, const struct bdev_io_stat *st)
{
	static const struct bdev_io_type_stat none = {.lat_min = UINT64_MAX};
	struct json_object *o = json_object_new_object(), *errs;
	static const char *const status_names[] = {
		"", "failed", "medium_error", "aborted", "miscompare", "nospace",
	};
	int i;

	if (bdev != NULL) {
		json_object_object_add(o, "name", json_object_new_string(bdev->name));
	}
	iostat_add_type(o, "read", &st->type[BDEV_IO_TYPE_READ], true);
	json_object_object_add(o, "bytes_written",
			       json_object_new_uint64(st->type[BDEV_IO_TYPE_WRITE].bytes));
	json_object_object_add(o, "num_write_ops",
			       json_object_new_uint64(st->type[BDEV_IO_TYPE_WRITE].ops));
	json_object_object_add(o, "bytes_unmapped",
			       json_object_new_uint64(st->type[BDEV_IO_TYPE_UNMAP].bytes));
	json_object_object_add(o, "num_unmap_ops",
			       json_object_new_uint64(st->type[BDEV_IO_TYPE_UNMAP].ops));
	json_object_object_add(o, "bytes_copied", json_object_new_uint64(0));
	json_object_object_add(o, "num_copy_ops", json_object_new_uint64(0));
	iostat_add_lat(o, "read", &st->type[BDEV_IO_TYPE_READ]);
	iostat_add_lat(o, "write", &st->type[BDEV_IO_TYPE_WRITE]);
	iostat_add_lat(o, "unmap", &st->type[BDEV_IO_TYPE_UNMAP]);
	iostat_add_lat(o, "copy", &none);
	/* Ours, beyond SPDK's shape. */
	json_object_object_add(o, "bytes_zeroed",
			       json_object_new_uint64(st->type[BDEV_IO_TYPE_WRITE_ZEROES].bytes));
	json_object_object_add(o, "num_write_zeroes_ops",
			       json_object_new_uint64(st->type[BDEV_IO_TYPE_WRITE_ZEROES].ops));
	json_object_object_add(o, "num_flush_ops",
			       json_object_new_uint64(st->type[BDEV_IO_TYPE_FLUSH].ops));
	json_object_object_add(o, "num_reset_ops",
			       json_object_new_uint64(st->type[BDEV_IO_TYPE_RESET].ops));
	if (bdev == NULL) {
		return o;	/* per-channel entries carry no io_error, as SPDK */
	}
	errs = json_object_new_object();
	for (i = 1; i < (int)VHD_COUNTOF(status_names); i++) {
		if (st->errors[i] != 0) {
			json_object_object_add(errs, status_names[i],
					       json_object_new_uint64(st->errors[i]));
		}
	}
	json_object_object_add(o, "io_error", errs);
	return o;
}

static void rpc_iostat_next(struct rpc_iostat_ctx *c);

static void
rpc_iostat_one_done(struct bdev *bdev, struct bdev_io_stat *stat, void *cb_arg, int rc)
{
	struct rpc_iostat_ctx *c = cb_arg;

	json_object_array_add(c->bdevs, iostat_json(bdev, stat));
	rpc_iostat_next(c);
}

static void
rpc_iostat_next(struct rpc_iostat_ctx *c)
{
	struct json_object *res;

	if (c->next < c->count) {
		bdev_get_iostat(c->list[c->next++], &c->stat, c->reset, rpc_iostat_one_done, c);
		return;
	}
	res = json_object_new_object();
	json_object_object_add(res, "tick_rate", json_object_new_uint64(util_get_ticks_hz()));
	json_object_object_add(res, "ticks", json_object_new_uint64(util_get_ticks()));
	json_object_object_add(res, "bdevs", c->bdevs);
	rpc_send_result(c->req, res);
	free(c->list);
	free(c);
}

struct rpc_iostat_ch_ctx {
	struct rpc_request	*req;
	struct json_object	*channels;
};

static void
rpc_iostat_ch_each(struct thread *thread, const struct bdev_io_stat *stat, void *arg)
{
	struct rpc_iostat_ch_ctx *c = arg;
	struct json_object *o = iostat_json(NULL, stat);

	json_object_object_add(o, "thread_id", json_object_new_uint64(thread_get_id(thread)));
	json_object_array_add(c->channels, o);
}

static void
rpc_iostat_ch_done(struct bdev *bdev, void *arg, int rc)
{
	struct rpc_iostat_ch_ctx *c = arg;
	struct json_object *res;

	if (rc != 0) {
		json_object_put(c->channels);
		rpc_send_errno(c->req, rc, rc);
		free(c);
		return;
	}
	res = json_object_new_object();
	json_object_object_add(res, "tick_rate", json_object_new_uint64(util_get_ticks_hz()));
	json_object_object_add(res, "ticks", json_object_new_uint64(util_get_ticks()));
	json_object_object_add(res, "name", json_object_new_string(bdev->name));
	json_object_object_add(res, "channels", c->channels);
	rpc_send_result(c->req, res);
	free(c);
}

/* SPDK's per_channel form: {"tick_rate","ticks","name","channels":[{"thread_id",...}]}. */
static void
rpc_iostat_per_channel(struct rpc_request *req, const char *name)
{
	struct rpc_iostat_ch_ctx *c;
	struct bdev *bdev;

	if (name == NULL) {
		rpc_send_errno(req, -EINVAL, -EINVAL);
		return;
	}
	bdev = bdev_get_by_name(name);
	if (bdev == NULL) {
		rpc_send_errno(req, -ENODEV, -ENODEV);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		rpc_send_errno(req, -ENOMEM, -ENOMEM);
		return;
	}
	c->req = req;
	c->channels = json_object_new_array();
	bdev_get_iostat_per_channel(bdev, rpc_iostat_ch_each, rpc_iostat_ch_done, c);
}

static void
rpc_bdev_get_iostat(struct rpc_request *req, struct json_object *params)
{
	struct rpc_get_iostat p = {};
	struct rpc_decode_error err;
	struct rpc_iostat_ctx *c = NULL;
	struct bdev *bdev;
	int reset = 0;
	size_t n = 0;

	if (rpc_decode_object(params, rpc_get_iostat_decoders,
			      VHD_COUNTOF(rpc_get_iostat_decoders), &p, &err) != 0) {
		rpc_send_decode_error(req, RPC_ERROR_INTERNAL_ERROR, &err);
		goto out;
	}
	if (p.reset_mode != NULL) {
		if (strcmp(p.reset_mode, "all") == 0) {
			reset = 1;
		} else if (strcmp(p.reset_mode, "maxmin") == 0) {
			reset = 2;
		} else if (strcmp(p.reset_mode, "none") != 0) {
			rpc_send_error(req, RPC_ERROR_INTERNAL_ERROR,
				       "Invalid parameters: reset_mode: expected all, maxmin or none");
			goto out;
		}
	}
	if (p.per_channel) {
		rpc_iostat_per_channel(req, p.name);
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		rpc_send_errno(req, -ENOMEM, -ENOMEM);
		goto out;
	}
	c->req = req;
	c->reset = reset;
	if (p.name != NULL) {
		bdev = bdev_get_by_name(p.name);
		if (bdev == NULL) {
			rpc_send_errno(req, -ENODEV, -ENODEV);
			free(c);
			goto out;
		}
		c->list = calloc(1, sizeof(*c->list));
		if (c->list != NULL) {
			c->list[n++] = bdev;
		}
	} else {
		size_t cap = 0;

		for (bdev = bdev_first(); bdev != NULL; bdev = bdev_next(bdev)) {
			cap++;
		}
		c->list = calloc(cap + 1, sizeof(*c->list));
		for (bdev = bdev_first(); c->list != NULL && bdev != NULL && n < cap;
		     bdev = bdev_next(bdev)) {
			if (bdev->internal.state == BDEV_STATE_READY) {
				c->list[n++] = bdev;
			}
		}
	}
	if (c->list == NULL) {
		rpc_send_errno(req, -ENOMEM, -ENOMEM);
		free(c);
		goto out;
	}
	c->count = n;
	c->bdevs = json_object_new_array();
	rpc_iostat_next(c);
out:
	free(p.name);
	free(p.reset_mode);
}
RPC_REGISTER("bdev_get_iostat", rpc_bdev_get_iostat, RPC_STATE_RUNTIME);

/* ---- bdev_wait_for_examine ---- */

static void
rpc_bdev_wait_for_examine(struct rpc_request *req, struct json_object *params)
{
	if (rpc_reject_params(req, params)) {
		return;
	}
	/* No examine step exists: every bdev is usable once its create RPC answered. */
	rpc_send_bool(req, true);
}
RPC_REGISTER("bdev_wait_for_examine", rpc_bdev_wait_for_examine,
	     RPC_STATE_STARTUP | RPC_STATE_RUNTIME);
