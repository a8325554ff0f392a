/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Delay bdev: each read/write goes to the base at once; its completion is
 * held until submit time + latency (one I/O in 100 gets the p99 latency,
 * the others the average). Held completions sit in per-channel FIFOs (the
 * latency is fixed per I/O class, so deadlines are in order) drained by a
 * timed poller that is paused while nothing is held, so an idle reactor can
 * sleep. Other I/O types pass through undelayed. Reset is left to the core,
 * which waits for the held I/O to drain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/log.h"
#include "vhostd/rpc.h"

#include "bdev_delay.h"

#define DELAY_POLL_US	10

struct delay_disk {
	struct bdev		bdev;	/* first */
	struct bdev_desc	*base_desc;
	struct bdev		*base;
	uint64_t		latency_us[DELAY_NUM_LATENCIES];	/* atomic */
};

struct delay_task {
	struct bdev_io_wait_entry	wait;
	struct io_channel		*ch;
	uint64_t			deadline_us;
	enum bdev_io_status		status;
	int				err;
	TAILQ_ENTRY(delay_task)		link;
};

TAILQ_HEAD(delay_list, delay_task);

struct delay_channel {
	struct io_channel	*base_ch;
	struct delay_list	lists[DELAY_NUM_LATENCIES];
	uint32_t		held;
	struct poller		*poller;
	bool			paused;
	uint32_t		seed;
};

static struct bdev_module g_delay_module = {
	.name = "delay",
	.ctx_size = sizeof(struct delay_task),
};
BDEV_MODULE_REGISTER(delay, &g_delay_module);

static const char *const g_latency_names[DELAY_NUM_LATENCIES] = {
	"avg_read", "p99_read", "avg_write", "p99_write",
};
static const char *const g_latency_params[DELAY_NUM_LATENCIES] = {
	"avg_read_latency", "p99_read_latency", "avg_write_latency", "p99_write_latency",
};

int
delay_latency_type_from_name(const char *name, enum delay_latency_type *type)
{
	int i;

	for (i = 0; i < DELAY_NUM_LATENCIES; i++) {
		if (strcmp(name, g_latency_names[i]) == 0) {
			*type = i;
			return 0;
		}
	}
	return -EINVAL;
}

static void
delay_free_disk(void *io_device)
{
	struct delay_disk *disk = io_device;

	free(disk->bdev.name);
	free(disk);
}

static void
delay_io_device_unregistered(void *io_device)
{
	struct delay_disk *disk = io_device;

	bdev_destruct_done(&disk->bdev, 0);
	delay_free_disk(disk);
}

static int
delay_destruct(struct bdev *bdev)
{
	struct delay_disk *disk = VHD_CONTAINER_OF(bdev, struct delay_disk, bdev);

	bdev_close(disk->base_desc);
	disk->base_desc = NULL;
	io_device_unregister(disk, delay_io_device_unregistered);
	return 1;
}

static int
delay_poll(void *arg)
{
	struct delay_channel *ch = arg;
	uint64_t now = util_now_us();
	struct delay_task *t;
	int i, n = 0;

	for (i = 0; i < DELAY_NUM_LATENCIES; i++) {
		while ((t = TAILQ_FIRST(&ch->lists[i])) != NULL && t->deadline_us <= now) {
			TAILQ_REMOVE(&ch->lists[i], t, link);
			ch->held--;
			n++;
			bdev_io_complete_status(bdev_io_from_ctx(t), t->status, t->err);
		}
	}
	if (ch->held == 0 && !ch->paused) {
		poller_pause(ch->poller);
		ch->paused = true;
	}
	return n > 0 ? POLLER_BUSY : POLLER_IDLE;
}

static void
delay_base_done(struct bdev_io *base_io, bool success, void *arg)
{
	struct bdev_io *io = arg;
	struct delay_task *t = bdev_io_get_driver_ctx(io);
	struct delay_channel *ch = io_channel_get_ctx(t->ch);
	struct delay_disk *disk = VHD_CONTAINER_OF(io->bdev, struct delay_disk, bdev);
	int cls;

	t->status = bdev_io_get_status(base_io);
	t->err = bdev_io_get_errno(base_io);
	bdev_free_io(base_io);
	if (io->type != BDEV_IO_TYPE_READ && io->type != BDEV_IO_TYPE_WRITE) {
		bdev_io_complete_status(io, t->status, t->err);
		return;
	}
	cls = io->type == BDEV_IO_TYPE_READ ? DELAY_AVG_READ : DELAY_AVG_WRITE;
	/* One in a hundred takes the tail latency. */
	ch->seed = ch->seed * 1103515245u + 12345u;
	if ((ch->seed >> 16) % 100 == 0) {
		cls++;
	}
	t->deadline_us += __atomic_load_n(&disk->latency_us[cls], __ATOMIC_RELAXED);
	TAILQ_INSERT_TAIL(&ch->lists[cls], t, link);
	ch->held++;
	if (ch->paused) {
		poller_resume(ch->poller);
		ch->paused = false;
	}
}

static void delay_resubmit(void *arg);

static void
delay_forward(struct bdev_io *io)
{
	struct delay_disk *disk = VHD_CONTAINER_OF(io->bdev, struct delay_disk, bdev);
	struct delay_task *t = bdev_io_get_driver_ctx(io);
	struct delay_channel *ch = io_channel_get_ctx(t->ch);
	int rc;

	rc = bdev_io_forward(io, disk->base_desc, ch->base_ch, delay_base_done, io);
	if (rc == -ENOMEM) {
		t->wait.cb_fn = delay_resubmit;
		t->wait.cb_arg = io;
		rc = bdev_queue_io_wait(disk->base, ch->base_ch, &t->wait);
	}
	if (rc != 0) {
		bdev_io_complete_errno(io, rc);
	}
}

static void
delay_resubmit(void *arg)
{
	delay_forward(arg);
}

static void
delay_submit_request(struct io_channel *_ch, struct bdev_io *io)
{
	struct delay_task *t = bdev_io_get_driver_ctx(io);

	t->ch = _ch;
	t->deadline_us = util_now_us();
	delay_forward(io);
}

static bool
delay_io_type_supported(struct bdev *bdev, enum bdev_io_type type)
{
	struct delay_disk *disk = VHD_CONTAINER_OF(bdev, struct delay_disk, bdev);

	if (type == BDEV_IO_TYPE_RESET) {
		return false;	/* the core drains: held I/O completes on its own */
	}
	return bdev_io_type_supported(disk->base, type);
}

static struct io_channel *
delay_get_io_channel(struct bdev *bdev)
{
	return io_channel_get(bdev);
}

static int
delay_channel_create(void *io_device, void *ctx)
{
	struct delay_disk *disk = io_device;
	struct delay_channel *ch = ctx;
	int i;

	memset(ch, 0, sizeof(*ch));
	for (i = 0; i < DELAY_NUM_LATENCIES; i++) {
		TAILQ_INIT(&ch->lists[i]);
	}
	ch->seed = (uint32_t)(uintptr_t)ch;
	ch->base_ch = bdev_get_io_channel(disk->base_desc);
	if (ch->base_ch == NULL) {
		return -ENOMEM;
	}
	ch->poller = poller_register(delay_poll, ch, DELAY_POLL_US, "bdev_delay");
	if (ch->poller == NULL) {
		io_channel_put(ch->base_ch);
		return -ENOMEM;
	}
	poller_pause(ch->poller);
	ch->paused = true;
	return 0;
}

static void
delay_channel_destroy(void *io_device, void *ctx)
{
	struct delay_channel *ch = ctx;

	poller_unregister(&ch->poller);
	io_channel_put(ch->base_ch);
}

static void
delay_dump_info_json(struct bdev *bdev, struct json_object *ds)
{
	struct delay_disk *disk = VHD_CONTAINER_OF(bdev, struct delay_disk, bdev);
	struct json_object *o = json_object_new_object();
	int i;

	json_object_object_add(o, "name", json_object_new_string(bdev->name));
	json_object_object_add(o, "base_bdev_name", json_object_new_string(disk->base->name));
	for (i = 0; i < DELAY_NUM_LATENCIES; i++) {
		json_object_object_add(o, g_latency_params[i],
				       json_object_new_uint64(disk->latency_us[i]));
	}
	json_object_object_add(ds, "delay", o);
}

static void
delay_write_config_json(struct bdev *bdev, struct json_object *config)
{
	struct delay_disk *disk = VHD_CONTAINER_OF(bdev, struct delay_disk, bdev);
	struct json_object *p = json_object_new_object();
	char uuid[37];
	int i;

	util_uuid_fmt(uuid, &bdev->uuid);
	json_object_object_add(p, "base_bdev_name", json_object_new_string(disk->base->name));
	json_object_object_add(p, "name", json_object_new_string(bdev->name));
	for (i = 0; i < DELAY_NUM_LATENCIES; i++) {
		json_object_object_add(p, g_latency_params[i],
				       json_object_new_uint64(disk->latency_us[i]));
	}
	json_object_object_add(p, "uuid", json_object_new_string(uuid));
	rpc_config_add(config, "bdev_delay_create", p);
}

static const struct bdev_fn_table delay_fn_table = {
	.destruct		= delay_destruct,
	.submit_request		= delay_submit_request,
	.io_type_supported	= delay_io_type_supported,
	.get_io_channel		= delay_get_io_channel,
	.dump_info_json		= delay_dump_info_json,		/* optional */
	.write_config_json	= delay_write_config_json,	/* optional */
};

static void
delay_base_event(enum bdev_event_type type, struct bdev *base, void *ctx)
{
	struct delay_disk *disk = ctx;

	if (type == BDEV_EVENT_REMOVE) {
		bdev_unregister(&disk->bdev, NULL, NULL);
	} else if (type == BDEV_EVENT_RESIZE) {
		bdev_notify_blockcnt_change(&disk->bdev, bdev_get_num_blocks(base));
	}
}

int
bdev_delay_create(const struct delay_bdev_opts *opts, struct bdev **_bdev)
{
	struct delay_disk *disk;
	int rc;

	if (opts->name == NULL || opts->name[0] == '\0' || opts->base_name == NULL) {
		return -EINVAL;
	}
	if (opts->latency_us[DELAY_P99_READ] < opts->latency_us[DELAY_AVG_READ] ||
	    opts->latency_us[DELAY_P99_WRITE] < opts->latency_us[DELAY_AVG_WRITE]) {
		VHD_ERRLOG("%s: p99 latency below the average\n", opts->name);
		return -EINVAL;
	}
	if (bdev_get_by_name(opts->name) != NULL) {
		return -EEXIST;
	}
	disk = calloc(1, sizeof(*disk));
	if (disk == NULL) {
		return -ENOMEM;
	}
	disk->bdev.name = strdup(opts->name);
	if (disk->bdev.name == NULL) {
		free(disk);
		return -ENOMEM;
	}
	memcpy(disk->latency_us, opts->latency_us, sizeof(disk->latency_us));
	rc = bdev_open_ext(opts->base_name, true, delay_base_event, disk, &disk->base_desc);
	if (rc != 0) {
		VHD_ERRLOG("%s: cannot open base bdev %s: %s\n", opts->name, opts->base_name,
			   strerror(-rc));
		goto err_free;
	}
	rc = bdev_desc_claim(disk->base_desc, "delay");
	if (rc != 0) {
		goto err_close;
	}
	disk->base = bdev_desc_get_bdev(disk->base_desc);
	disk->bdev.product_name = "delay";
	disk->bdev.blocklen = disk->base->blocklen;
	disk->bdev.phys_blocklen = disk->base->phys_blocklen;
	disk->bdev.blockcnt = bdev_get_num_blocks(disk->base);
	disk->bdev.write_cache = disk->base->write_cache;
	disk->bdev.optimal_io_boundary = disk->base->optimal_io_boundary;
	disk->bdev.unmap_reads_zeroes = disk->base->unmap_reads_zeroes;
	disk->bdev.uuid = opts->uuid;
	disk->bdev.fn_table = &delay_fn_table;
	disk->bdev.module = &g_delay_module;
	io_device_register(disk, delay_channel_create, delay_channel_destroy,
			   sizeof(struct delay_channel), opts->name);
	rc = bdev_register(&disk->bdev);
	if (rc != 0) {
		bdev_close(disk->base_desc);
		io_device_unregister(disk, delay_free_disk);
		return rc;
	}
	if (_bdev != NULL) {
		*_bdev = &disk->bdev;
	}
	return 0;

err_close:
	bdev_close(disk->base_desc);
err_free:
	delay_free_disk(disk);
	return rc;
}

int
bdev_delay_delete(const char *name, bdev_unregister_cb cb, void *cb_arg)
{
	return bdev_unregister_by_name(name, &g_delay_module, cb, cb_arg);
}

int
bdev_delay_update_latency(const char *name, enum delay_latency_type type, uint64_t us)
{
	struct bdev *bdev = bdev_get_by_name(name);
	struct delay_disk *disk;

	if (bdev == NULL || bdev->module != &g_delay_module) {
		return -ENODEV;
	}
	if ((int)type < 0 || type >= DELAY_NUM_LATENCIES) {
		return -EINVAL;
	}
	disk = VHD_CONTAINER_OF(bdev, struct delay_disk, bdev);
	__atomic_store_n(&disk->latency_us[type], us, __ATOMIC_RELAXED);
	return 0;
}
