/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bdev core: registry, descriptors, claims, per-thread channels with bdev_io
 * pools, submission checks, inline-completion deferral, splitting, bounce
 * buffers, reset, resize and statistics.
 *
 * Locking: the registry (g_bdevs, aliases, descriptor lists, claims, state)
 * is guarded by g_bdev_mutex and touched only on the control path. The I/O
 * path uses only per-channel state owned by one thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/bdev_module.h"
#include "vhostd/log.h"

#include "bdev_internal.h"

#define BDEV_BOUNCE_CACHE_MAX	(128 * 1024)
#define BDEV_MAX_IOVCNT		1024
#define BDEV_RESET_DRAIN_US	100

struct bdev_desc {
	struct bdev		*bdev;
	struct thread		*thread;
	bdev_event_cb		event_cb;
	void			*event_ctx;
	bool			write;
	bool			closed;
	uint32_t		refs;	/* 1 while open + 1 per event message in flight */
	TAILQ_ENTRY(bdev_desc)	link;
};

struct bdev_channel {
	struct bdev			*bdev;
	struct io_channel		*backend_ch;
	struct thread			*thread;
	uint8_t				*pool;
	size_t				io_size;
	uint32_t			pool_count;
	uint32_t			num_free;
	TAILQ_HEAD(, bdev_io)		free_ios;
	/* Split parents waiting for a child bdev_io (internal, served before users). */
	TAILQ_HEAD(, bdev_io)		queued;
	/* Completed inside submit: run the callbacks from a message. */
	TAILQ_HEAD(, bdev_io)		deferred;
	bool				cpl_msg_pending;
	bool				in_retry;
	struct poller			*defer_poller;
	struct bdev_io_wait_entry	*wait_head;
	struct bdev_io_wait_entry	*wait_tail;
	uint64_t			outstanding;	/* user I/O between submit and callback */
	bool				frozen;		/* reset in progress: new I/O aborted */
	struct poller			*drain_poller;
	struct io_channel_iter		*drain_iter;
	struct bdev_io_stat		stat;
	uint32_t			sample_ctr;
};

struct bdev_reset_ctx {
	struct bdev_io		*io;
	TAILQ_HEAD(, bdev_io)	queued;		/* later resets, started when this one is done */
};

static pthread_mutex_t g_bdev_mutex = PTHREAD_MUTEX_INITIALIZER;
static TAILQ_HEAD(bdev_list, bdev) g_bdevs = TAILQ_HEAD_INITIALIZER(g_bdevs);
static struct bdev_module *g_modules;
static uint32_t g_pool_size = BDEV_IO_POOL_SIZE;

static void bdev_io_finish(struct bdev_io *io);
static void bdev_io_split_continue(struct bdev_io *parent);
static void bdev_io_submit_to_backend(struct bdev_io *io);
static void bdev_reset_drain(struct bdev_io *io);

static inline void *
bdev_io_dev(struct bdev *bdev)
{
	/* Not the bdev pointer itself: backends use that as their own io_device. */
	return &bdev->internal;
}

static inline struct bdev *
bdev_from_io_dev(void *io_device)
{
	return VHD_CONTAINER_OF(io_device, struct bdev, internal);
}

/* ---- modules ---- */

void
bdev_module_register(struct bdev_module *module)
{
	struct bdev_module **p;

	for (p = &g_modules; *p != NULL; p = &(*p)->next) {
		if (strcmp((*p)->name, module->name) == 0) {
			VHD_ERRLOG("bdev module %s registered twice\n", module->name);
			abort();
		}
	}
	module->next = NULL;
	*p = module;
}

struct bdev_module *
bdev_module_find(const char *name)
{
	struct bdev_module *m;

	for (m = g_modules; m != NULL; m = m->next) {
		if (strcmp(m->name, name) == 0) {
			return m;
		}
	}
	return NULL;
}

struct bdev_module *
bdev_module_first(void)
{
	return g_modules;
}

struct bdev_module *
bdev_module_next(struct bdev_module *m)
{
	return m->next;
}

int
bdev_modules_init(void)
{
	struct bdev_module *m;
	int rc;

	for (m = g_modules; m != NULL; m = m->next) {
		if (m->module_init == NULL) {
			continue;
		}
		rc = m->module_init();
		if (rc != 0) {
			VHD_ERRLOG("bdev module %s: init failed: %s\n", m->name, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

void
bdev_set_io_pool_size(uint32_t count)
{
	g_pool_size = count ? count : BDEV_IO_POOL_SIZE;
}

/* ---- registry and properties ---- */

static struct bdev *
bdev_find_locked(const char *name)
{
	struct bdev *bdev;
	struct bdev_alias *a;

	TAILQ_FOREACH(bdev, &g_bdevs, internal.link) {
		if (strcmp(bdev->name, name) == 0) {
			return bdev;
		}
		TAILQ_FOREACH(a, &bdev->internal.aliases, link) {
			if (strcmp(a->alias, name) == 0) {
				return bdev;
			}
		}
	}
	return NULL;
}

struct bdev *
bdev_get_by_name(const char *name)
{
	struct bdev *bdev;

	if (name == NULL) {
		return NULL;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	bdev = bdev_find_locked(name);
	pthread_mutex_unlock(&g_bdev_mutex);
	return bdev;
}

struct bdev *
bdev_first(void)
{
	struct bdev *bdev;

	pthread_mutex_lock(&g_bdev_mutex);
	bdev = TAILQ_FIRST(&g_bdevs);
	pthread_mutex_unlock(&g_bdev_mutex);
	return bdev;
}

struct bdev *
bdev_next(struct bdev *prev)
{
	struct bdev *bdev;

	pthread_mutex_lock(&g_bdev_mutex);
	bdev = TAILQ_NEXT(prev, internal.link);
	pthread_mutex_unlock(&g_bdev_mutex);
	return bdev;
}

const char *
bdev_get_name(const struct bdev *bdev)
{
	return bdev->name;
}

const char *
bdev_get_product_name(const struct bdev *bdev)
{
	return bdev->product_name;
}

uint32_t
bdev_get_block_size(const struct bdev *bdev)
{
	return bdev->blocklen;
}

uint64_t
bdev_get_num_blocks(const struct bdev *bdev)
{
	return __atomic_load_n(&bdev->blockcnt, __ATOMIC_RELAXED);
}

const struct util_uuid *
bdev_get_uuid(const struct bdev *bdev)
{
	return &bdev->uuid;
}

bool
bdev_has_write_cache(const struct bdev *bdev)
{
	return bdev->write_cache;
}

uint32_t
bdev_get_optimal_io_boundary(const struct bdev *bdev)
{
	return bdev->optimal_io_boundary;
}

uint32_t
bdev_get_max_transfer_blocks(const struct bdev *bdev)
{
	return bdev->max_rw_blocks;
}

uint32_t
bdev_get_physical_block_size(const struct bdev *bdev)
{
	return bdev->phys_blocklen > bdev->blocklen ? bdev->phys_blocklen : bdev->blocklen;
}

bool
bdev_io_type_supported(const struct bdev *bdev, enum bdev_io_type type)
{
	if (type <= BDEV_IO_TYPE_INVALID || type >= BDEV_NUM_IO_TYPES) {
		return false;
	}
	if (type == BDEV_IO_TYPE_RESET) {
		/* The core drains and aborts even when the backend has no reset of its own. */
		return true;
	}
	return bdev->fn_table->io_type_supported((struct bdev *)bdev, type);
}

uint64_t
bdev_get_max_unmap_blocks(const struct bdev *bdev)
{
	return bdev->max_unmap_blocks;
}

uint64_t
bdev_get_max_write_zeroes_blocks(const struct bdev *bdev)
{
	return bdev->max_write_zeroes_blocks;
}

bool
bdev_unmap_reads_zeroes(const struct bdev *bdev)
{
	return bdev->unmap_reads_zeroes;
}

bool
bdev_is_claimed(const struct bdev *bdev)
{
	return bdev->internal.claim_desc != NULL;
}

const char *
bdev_get_claim_owner(const struct bdev *bdev)
{
	return bdev->internal.claim_owner;
}

uint32_t
bdev_get_desc_count(struct bdev *bdev)
{
	struct bdev_desc *desc;
	uint32_t n = 0;

	pthread_mutex_lock(&g_bdev_mutex);
	TAILQ_FOREACH(desc, &bdev->internal.descs, link) {
		n++;
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	return n;
}

const char *
bdev_io_type_name(enum bdev_io_type type)
{
	static const char *const names[BDEV_NUM_IO_TYPES] = {
		[BDEV_IO_TYPE_INVALID] = "invalid",
		[BDEV_IO_TYPE_READ] = "read",
		[BDEV_IO_TYPE_WRITE] = "write",
		[BDEV_IO_TYPE_UNMAP] = "unmap",
		[BDEV_IO_TYPE_FLUSH] = "flush",
		[BDEV_IO_TYPE_RESET] = "reset",
		[BDEV_IO_TYPE_WRITE_ZEROES] = "write_zeroes",
	};

	if (type < 0 || type >= BDEV_NUM_IO_TYPES) {
		return "invalid";
	}
	return names[type];
}

static int
bdev_alias_add_locked(struct bdev *bdev, const char *alias)
{
	struct bdev_alias *a;

	if (bdev_find_locked(alias) != NULL) {
		return -EEXIST;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		return -ENOMEM;
	}
	a->alias = strdup(alias);
	if (a->alias == NULL) {
		free(a);
		return -ENOMEM;
	}
	TAILQ_INSERT_TAIL(&bdev->internal.aliases, a, link);
	return 0;
}

int
bdev_alias_add(struct bdev *bdev, const char *alias)
{
	int rc;

	if (alias == NULL || alias[0] == '\0') {
		return -EINVAL;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	rc = bdev_alias_add_locked(bdev, alias);
	pthread_mutex_unlock(&g_bdev_mutex);
	return rc;
}

int
bdev_alias_del(struct bdev *bdev, const char *alias)
{
	struct bdev_alias *a;
	int rc = -ENOENT;

	pthread_mutex_lock(&g_bdev_mutex);
	TAILQ_FOREACH(a, &bdev->internal.aliases, link) {
		if (strcmp(a->alias, alias) == 0) {
			TAILQ_REMOVE(&bdev->internal.aliases, a, link);
			free(a->alias);
			free(a);
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	return rc;
}

static void
bdev_aliases_free(struct bdev *bdev)
{
	struct bdev_alias *a;

	while ((a = TAILQ_FIRST(&bdev->internal.aliases)) != NULL) {
		TAILQ_REMOVE(&bdev->internal.aliases, a, link);
		free(a->alias);
		free(a);
	}
}

void
bdev_io_stat_init(struct bdev_io_stat *stat)
{
	int t;

	memset(stat, 0, sizeof(*stat));
	for (t = 0; t < BDEV_NUM_IO_TYPES; t++) {
		stat->type[t].lat_min = UINT64_MAX;
	}
}

static void
bdev_io_stat_add(struct bdev_io_stat *dst, const struct bdev_io_stat *src)
{
	int t;

	for (t = 0; t < BDEV_NUM_IO_TYPES; t++) {
		dst->type[t].ops += src->type[t].ops;
		dst->type[t].bytes += src->type[t].bytes;
		dst->type[t].lat_sum += src->type[t].lat_sum;
		dst->type[t].lat_samples += src->type[t].lat_samples;
		dst->type[t].lat_min = VHD_MIN(dst->type[t].lat_min, src->type[t].lat_min);
		dst->type[t].lat_max = VHD_MAX(dst->type[t].lat_max, src->type[t].lat_max);
	}
	for (t = 0; t < (int)VHD_COUNTOF(dst->errors); t++) {
		dst->errors[t] += src->errors[t];
	}
}

static void
bdev_io_stat_reset(struct bdev_io_stat *stat, int mode)
{
	int t;

	if (mode == 1) {
		bdev_io_stat_init(stat);
	} else if (mode == 2) {
		for (t = 0; t < BDEV_NUM_IO_TYPES; t++) {
			stat->type[t].lat_min = UINT64_MAX;
			stat->type[t].lat_max = 0;
		}
	}
}

static int bdev_channel_create(void *io_device, void *ctx_buf);
static void bdev_channel_destroy(void *io_device, void *ctx_buf);

int
bdev_register(struct bdev *bdev)
{
	char uuid_str[37];
	const struct bdev_fn_table *fn;
	int rc;

	if (bdev == NULL || bdev->name == NULL || bdev->name[0] == '\0' || bdev->module == NULL ||
	    bdev->fn_table == NULL) {
		return -EINVAL;
	}
	fn = bdev->fn_table;
	if (fn->destruct == NULL || fn->submit_request == NULL || fn->io_type_supported == NULL ||
	    fn->get_io_channel == NULL) {
		VHD_ERRLOG("%s: fn_table lacks a required member\n", bdev->name);
		return -EINVAL;
	}
	if (!VHD_IS_POW2(bdev->blocklen) || bdev->blocklen < 512 || bdev->blockcnt == 0 ||
	    bdev->blockcnt > UINT64_MAX / bdev->blocklen) {
		VHD_ERRLOG("%s: bad geometry: block size %u, %llu blocks\n", bdev->name,
			   bdev->blocklen, (unsigned long long)bdev->blockcnt);
		return -EINVAL;
	}
	if (bdev->required_alignment > 1 && !VHD_IS_POW2(bdev->required_alignment)) {
		return -EINVAL;
	}
	if (bdev->product_name == NULL) {
		bdev->product_name = bdev->module->name;
	}

	memset(&bdev->internal, 0, sizeof(bdev->internal));
	TAILQ_INIT(&bdev->internal.aliases);
	TAILQ_INIT(&bdev->internal.descs);
	bdev->internal.retired_stat = malloc(sizeof(struct bdev_io_stat));
	if (bdev->internal.retired_stat == NULL) {
		return -ENOMEM;
	}
	bdev_io_stat_init(bdev->internal.retired_stat);

	if (util_uuid_is_null(&bdev->uuid)) {
		util_uuid_generate(&bdev->uuid);
	}
	util_uuid_fmt(uuid_str, &bdev->uuid);

	pthread_mutex_lock(&g_bdev_mutex);
	if (bdev_find_locked(bdev->name) != NULL) {
		pthread_mutex_unlock(&g_bdev_mutex);
		VHD_ERRLOG("%s: a bdev with this name already exists\n", bdev->name);
		rc = -EEXIST;
		goto err_free_stat;
	}
	rc = bdev_alias_add_locked(bdev, uuid_str);
	if (rc != 0) {
		pthread_mutex_unlock(&g_bdev_mutex);
		VHD_ERRLOG("%s: uuid %s: %s\n", bdev->name, uuid_str, strerror(-rc));
		goto err_free_stat;
	}
	bdev->internal.state = BDEV_STATE_READY;
	TAILQ_INSERT_TAIL(&g_bdevs, bdev, internal.link);
	pthread_mutex_unlock(&g_bdev_mutex);

	io_device_register(bdev_io_dev(bdev), bdev_channel_create, bdev_channel_destroy,
			   sizeof(struct bdev_channel), bdev->name);
	VHD_INFOLOG("%s: registered (%s, %llu x %u)\n", bdev->name, bdev->product_name,
		    (unsigned long long)bdev->blockcnt, bdev->blocklen);
	return 0;

err_free_stat:
	free(bdev->internal.retired_stat);
	bdev->internal.retired_stat = NULL;
	return rc;
}

/* ---- events ---- */

struct bdev_event_msg {
	struct bdev_desc	*desc;
	enum bdev_event_type	type;
};

static void
bdev_desc_put_locked(struct bdev_desc *desc)
{
	if (--desc->refs == 0) {
		free(desc);
	}
}

static void
bdev_desc_event_msg(void *ctx)
{
	struct bdev_event_msg *ev = ctx;
	struct bdev_desc *desc = ev->desc;

	if (!desc->closed) {
		desc->event_cb(ev->type, desc->bdev, desc->event_ctx);
	}
	pthread_mutex_lock(&g_bdev_mutex);
	bdev_desc_put_locked(desc);
	pthread_mutex_unlock(&g_bdev_mutex);
	free(ev);
}

static void
bdev_desc_send_event_locked(struct bdev_desc *desc, enum bdev_event_type type)
{
	struct bdev_event_msg *ev;

	ev = malloc(sizeof(*ev));
	if (ev == NULL) {
		VHD_ERRLOG("%s: no memory for an event\n", desc->bdev->name);
		return;
	}
	ev->desc = desc;
	ev->type = type;
	desc->refs++;
	if (thread_send_msg(desc->thread, bdev_desc_event_msg, ev) != 0) {
		VHD_ERRLOG("%s: cannot send an event to %s\n", desc->bdev->name,
			   thread_get_name(desc->thread));
		desc->refs--;
		free(ev);
	}
}

int
bdev_notify_blockcnt_change(struct bdev *bdev, uint64_t blockcnt)
{
	struct bdev_desc *desc;

	if (blockcnt == 0 || blockcnt > UINT64_MAX / bdev->blocklen) {
		return -EINVAL;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	if (blockcnt < bdev->blockcnt && !TAILQ_EMPTY(&bdev->internal.descs)) {
		pthread_mutex_unlock(&g_bdev_mutex);
		VHD_ERRLOG("%s: cannot shrink while open\n", bdev->name);
		return -EBUSY;
	}
	if (blockcnt == bdev->blockcnt) {
		pthread_mutex_unlock(&g_bdev_mutex);
		return 0;
	}
	__atomic_store_n(&bdev->blockcnt, blockcnt, __ATOMIC_RELAXED);
	TAILQ_FOREACH(desc, &bdev->internal.descs, link) {
		bdev_desc_send_event_locked(desc, BDEV_EVENT_RESIZE);
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	return 0;
}

/* ---- descriptors ---- */

int
bdev_open_ext(const char *name, bool write, bdev_event_cb event_cb, void *event_ctx,
	      struct bdev_desc **_desc)
{
	struct bdev_desc *desc;
	struct bdev *bdev;
	struct thread *thread;

	if (name == NULL || event_cb == NULL || _desc == NULL) {
		return -EINVAL;
	}
	thread = thread_get_current();
	if (thread == NULL) {
		return -EINVAL;
	}
	desc = calloc(1, sizeof(*desc));
	if (desc == NULL) {
		return -ENOMEM;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	bdev = bdev_find_locked(name);
	if (bdev == NULL) {
		pthread_mutex_unlock(&g_bdev_mutex);
		free(desc);
		return -ENODEV;
	}
	if (bdev->internal.state != BDEV_STATE_READY) {
		pthread_mutex_unlock(&g_bdev_mutex);
		free(desc);
		return -EBUSY;
	}
	if (write && bdev->internal.claim_desc != NULL) {
		pthread_mutex_unlock(&g_bdev_mutex);
		free(desc);
		VHD_ERRLOG("%s: claimed by %s: cannot open for writing\n", bdev->name,
			   bdev->internal.claim_owner);
		return -EPERM;
	}
	desc->bdev = bdev;
	desc->thread = thread;
	desc->event_cb = event_cb;
	desc->event_ctx = event_ctx;
	desc->write = write;
	desc->refs = 1;
	TAILQ_INSERT_TAIL(&bdev->internal.descs, desc, link);
	pthread_mutex_unlock(&g_bdev_mutex);
	*_desc = desc;
	return 0;
}

struct bdev *
bdev_desc_get_bdev(struct bdev_desc *desc)
{
	return desc->bdev;
}

int
bdev_desc_claim(struct bdev_desc *desc, const char *owner)
{
	struct bdev *bdev = desc->bdev;
	char *o;

	o = strdup(owner ? owner : "?");
	if (o == NULL) {
		return -ENOMEM;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	if (bdev->internal.claim_desc != NULL) {
		pthread_mutex_unlock(&g_bdev_mutex);
		VHD_ERRLOG("%s: already claimed by %s\n", bdev->name, bdev->internal.claim_owner);
		free(o);
		return -EPERM;
	}
	bdev->internal.claim_desc = desc;
	bdev->internal.claim_owner = o;
	desc->write = true;
	pthread_mutex_unlock(&g_bdev_mutex);
	return 0;
}

static void bdev_unregister_continue(struct bdev *bdev);

void
bdev_close(struct bdev_desc *desc)
{
	struct bdev *bdev = desc->bdev;
	bool last;

	pthread_mutex_lock(&g_bdev_mutex);
	TAILQ_REMOVE(&bdev->internal.descs, desc, link);
	if (bdev->internal.claim_desc == desc) {
		bdev->internal.claim_desc = NULL;
		free(bdev->internal.claim_owner);
		bdev->internal.claim_owner = NULL;
	}
	desc->closed = true;
	last = bdev->internal.state == BDEV_STATE_REMOVING && TAILQ_EMPTY(&bdev->internal.descs);
	bdev_desc_put_locked(desc);
	pthread_mutex_unlock(&g_bdev_mutex);
	if (last) {
		bdev_unregister_continue(bdev);
	}
}

/* ---- unregister ---- */

struct bdev_unregister_done_ctx {
	bdev_unregister_cb	cb;
	void			*cb_arg;
	int			rc;
};

static void
bdev_unregister_done_msg(void *ctx)
{
	struct bdev_unregister_done_ctx *c = ctx;

	if (c->cb != NULL) {
		c->cb(c->cb_arg, c->rc);
	}
	free(c);
}

void
bdev_destruct_done(struct bdev *bdev, int rc)
{
	struct bdev_unregister_done_ctx *c;
	struct thread *thread = bdev->internal.unregister_thread;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		VHD_ERRLOG("%s: no memory to finish unregister\n", bdev->name);
		return;
	}
	c->cb = bdev->internal.unregister_cb;
	c->cb_arg = bdev->internal.unregister_cb_arg;
	c->rc = rc;
	if (thread == thread_get_current() || thread_send_msg(thread, bdev_unregister_done_msg, c)) {
		bdev_unregister_done_msg(c);
	}
}

static void
bdev_io_device_unregistered(void *io_device)
{
	struct bdev *bdev = bdev_from_io_dev(io_device);
	bdev_unregister_cb cb = bdev->internal.unregister_cb;
	void *cb_arg = bdev->internal.unregister_cb_arg;
	int rc;

	pthread_mutex_lock(&g_bdev_mutex);
	TAILQ_REMOVE(&g_bdevs, bdev, internal.link);
	pthread_mutex_unlock(&g_bdev_mutex);
	bdev_aliases_free(bdev);
	free(bdev->internal.retired_stat);
	bdev->internal.retired_stat = NULL;
	VHD_INFOLOG("%s: unregistered\n", bdev->name);

	rc = bdev->fn_table->destruct(bdev);
	if (rc > 0) {
		return;	/* bdev_destruct_done() follows */
	}
	/* bdev may be freed now. */
	if (cb != NULL) {
		cb(cb_arg, rc);
	}
}

static void
bdev_unregister_msg(void *ctx)
{
	struct bdev *bdev = ctx;

	io_device_unregister(bdev_io_dev(bdev), bdev_io_device_unregistered);
}

static void
bdev_unregister_continue(struct bdev *bdev)
{
	if (thread_send_msg(bdev->internal.unregister_thread, bdev_unregister_msg, bdev) != 0) {
		VHD_ERRLOG("%s: cannot reach the unregistering thread\n", bdev->name);
	}
}

void
bdev_unregister(struct bdev *bdev, bdev_unregister_cb cb, void *cb_arg)
{
	struct bdev_desc *desc;
	bool empty;

	pthread_mutex_lock(&g_bdev_mutex);
	if (bdev->internal.state != BDEV_STATE_READY) {
		pthread_mutex_unlock(&g_bdev_mutex);
		if (cb != NULL) {
			cb(cb_arg, -EBUSY);
		}
		return;
	}
	bdev->internal.state = BDEV_STATE_REMOVING;
	bdev->internal.unregister_cb = cb;
	bdev->internal.unregister_cb_arg = cb_arg;
	bdev->internal.unregister_thread = thread_get_current();
	TAILQ_FOREACH(desc, &bdev->internal.descs, link) {
		bdev_desc_send_event_locked(desc, BDEV_EVENT_REMOVE);
	}
	empty = TAILQ_EMPTY(&bdev->internal.descs);
	pthread_mutex_unlock(&g_bdev_mutex);
	VHD_INFOLOG("%s: removing\n", bdev->name);
	if (empty) {
		bdev_unregister_continue(bdev);
	}
}

int
bdev_unregister_by_name(const char *name, struct bdev_module *module, bdev_unregister_cb cb,
			void *cb_arg)
{
	struct bdev *bdev;

	if (name == NULL) {
		return -ENODEV;
	}
	pthread_mutex_lock(&g_bdev_mutex);
	/* By name or alias (UUID), as SPDK's spdk_bdev_unregister_by_name. */
	bdev = bdev_find_locked(name);
	if (bdev == NULL || bdev->module != module) {
		pthread_mutex_unlock(&g_bdev_mutex);
		return -ENODEV;
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	bdev_unregister(bdev, cb, cb_arg);
	return 0;
}

struct bdev_fini_ctx {
	void	(*done)(void);
};

static void bdev_fini_next(void *ctx, int rc);

static void
bdev_fini_next(void *ctx, int rc)
{
	struct bdev_fini_ctx *f = ctx;
	struct bdev *bdev;
	struct bdev_module *m;

	pthread_mutex_lock(&g_bdev_mutex);
	TAILQ_FOREACH_REVERSE(bdev, &g_bdevs, bdev_list, internal.link) {
		if (bdev->internal.state == BDEV_STATE_READY) {
			break;
		}
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	if (bdev != NULL) {
		bdev_unregister(bdev, bdev_fini_next, f);
		return;
	}
	for (m = g_modules; m != NULL; m = m->next) {
		if (m->module_fini != NULL) {
			m->module_fini();
		}
	}
	f->done();
	free(f);
}

void
bdev_fini_all(void (*done)(void))
{
	struct bdev_fini_ctx *f;

	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		done();
		return;
	}
	f->done = done;
	bdev_fini_next(f, 0);
}

/* ---- channels ---- */

static int
bdev_channel_create(void *io_device, void *ctx_buf)
{
	struct bdev *bdev = bdev_from_io_dev(io_device);
	struct bdev_channel *ch = ctx_buf;
	struct bdev_io *io;
	uint32_t i;

	memset(ch, 0, sizeof(*ch));
	ch->bdev = bdev;
	ch->thread = thread_get_current();
	TAILQ_INIT(&ch->free_ios);
	TAILQ_INIT(&ch->queued);
	TAILQ_INIT(&ch->deferred);
	bdev_io_stat_init(&ch->stat);

	ch->backend_ch = bdev->fn_table->get_io_channel(bdev);
	if (ch->backend_ch == NULL) {
		VHD_ERRLOG("%s: backend channel failed\n", bdev->name);
		return -ENOMEM;
	}
	ch->io_size = VHD_ALIGN_UP(sizeof(struct bdev_io) + bdev->module->ctx_size, (size_t)64);
	ch->pool_count = g_pool_size;
	if (posix_memalign((void **)&ch->pool, 64, ch->io_size * ch->pool_count) != 0) {
		io_channel_put(ch->backend_ch);
		return -ENOMEM;
	}
	memset(ch->pool, 0, ch->io_size * ch->pool_count);
	for (i = 0; i < ch->pool_count; i++) {
		io = (struct bdev_io *)(ch->pool + (size_t)i * ch->io_size);
		io->internal.ch = ch;
		TAILQ_INSERT_TAIL(&ch->free_ios, io, internal.link);
	}
	ch->num_free = ch->pool_count;
	return 0;
}

static void
bdev_channel_destroy(void *io_device, void *ctx_buf)
{
	struct bdev *bdev = bdev_from_io_dev(io_device);
	struct bdev_channel *ch = ctx_buf;
	struct bdev_io *io;
	uint32_t i;

	if (ch->outstanding != 0 || ch->num_free != ch->pool_count) {
		VHD_ERRLOG("%s: channel destroyed with %llu I/O outstanding, %u bdev_io not freed\n",
			   bdev->name, (unsigned long long)ch->outstanding,
			   ch->pool_count - ch->num_free);
	}
	pthread_mutex_lock(&g_bdev_mutex);
	if (bdev->internal.retired_stat != NULL) {
		bdev_io_stat_add(bdev->internal.retired_stat, &ch->stat);
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	for (i = 0; i < ch->pool_count; i++) {
		io = (struct bdev_io *)(ch->pool + (size_t)i * ch->io_size);
		free(io->internal.bounce_buf);
	}
	poller_unregister(&ch->defer_poller);
	poller_unregister(&ch->drain_poller);
	free(ch->pool);
	ch->pool = NULL;
	io_channel_put(ch->backend_ch);
}

struct io_channel *
bdev_get_io_channel(struct bdev_desc *desc)
{
	return io_channel_get(bdev_io_dev(desc->bdev));
}

static inline struct bdev_io *
bdev_channel_get_io(struct bdev_channel *ch)
{
	struct bdev_io *io = TAILQ_FIRST(&ch->free_ios);

	if (VHD_UNLIKELY(io == NULL)) {
		return NULL;
	}
	TAILQ_REMOVE(&ch->free_ios, io, internal.link);
	ch->num_free--;
	return io;
}

static void
bdev_channel_retry(struct bdev_channel *ch)
{
	struct bdev_io *parent;
	struct bdev_io_wait_entry *e;

	if (ch->in_retry) {
		return;
	}
	ch->in_retry = true;
	while (ch->num_free > 0 && (parent = TAILQ_FIRST(&ch->queued)) != NULL) {
		TAILQ_REMOVE(&ch->queued, parent, internal.link);
		bdev_io_split_continue(parent);
	}
	while (ch->num_free > 0 && ch->wait_head != NULL) {
		e = ch->wait_head;
		ch->wait_head = e->next;
		if (ch->wait_head == NULL) {
			ch->wait_tail = NULL;
		}
		e->next = NULL;
		e->cb_fn(e->cb_arg);
	}
	ch->in_retry = false;
}

static inline void
bdev_channel_put_io(struct bdev_channel *ch, struct bdev_io *io)
{
	TAILQ_INSERT_HEAD(&ch->free_ios, io, internal.link);
	ch->num_free++;
}

void
bdev_free_io(struct bdev_io *io)
{
	struct bdev_channel *ch = io->internal.ch;

	bdev_channel_put_io(ch, io);
	if (VHD_UNLIKELY(ch->wait_head != NULL || !TAILQ_EMPTY(&ch->queued))) {
		bdev_channel_retry(ch);
	}
}

int
bdev_queue_io_wait(struct bdev *bdev, struct io_channel *_ch, struct bdev_io_wait_entry *entry)
{
	struct bdev_channel *ch = io_channel_get_ctx(_ch);

	if (entry == NULL || entry->cb_fn == NULL || ch->bdev != bdev) {
		return -EINVAL;
	}
	if (ch->num_free > 0) {
		/* A bdev_io is free: the caller should just retry. */
		return -EINVAL;
	}
	entry->bdev = bdev;
	entry->next = NULL;
	if (ch->wait_tail != NULL) {
		ch->wait_tail->next = entry;
	} else {
		ch->wait_head = entry;
	}
	ch->wait_tail = entry;
	return 0;
}

enum bdev_io_status
bdev_io_get_status(const struct bdev_io *io)
{
	return io->internal.status;
}

int
bdev_io_get_errno(const struct bdev_io *io)
{
	return io->internal.err;
}

enum bdev_io_type
bdev_io_get_type(const struct bdev_io *io)
{
	return io->type;
}

/* ---- completion ---- */

static int
bdev_channel_defer_poll(void *ctx);

static void
bdev_channel_run_deferred(struct bdev_channel *ch)
{
	TAILQ_HEAD(, bdev_io) list = TAILQ_HEAD_INITIALIZER(list);
	struct bdev_io *io;

	/* Take the batch: completions deferred by callbacks go to the next message. */
	TAILQ_CONCAT(&list, &ch->deferred, internal.link);
	while ((io = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, io, internal.link);
		io->internal.deferred = false;
		bdev_io_finish(io);
	}
}

static void
bdev_channel_deferred_msg(void *ctx)
{
	struct bdev_channel *ch = ctx;

	ch->cpl_msg_pending = false;
	bdev_channel_run_deferred(ch);
}

static int
bdev_channel_defer_poll(void *ctx)
{
	struct bdev_channel *ch = ctx;

	poller_unregister(&ch->defer_poller);
	ch->cpl_msg_pending = false;
	bdev_channel_run_deferred(ch);
	return POLLER_BUSY;
}

static void
bdev_io_defer(struct bdev_io *io)
{
	struct bdev_channel *ch = io->internal.ch;

	io->internal.deferred = true;
	TAILQ_INSERT_TAIL(&ch->deferred, io, internal.link);
	if (ch->cpl_msg_pending) {
		return;
	}
	ch->cpl_msg_pending = true;
	if (VHD_UNLIKELY(thread_send_msg(ch->thread, bdev_channel_deferred_msg, ch) != 0)) {
		/* Message ring full: fall back to a one-shot poller. */
		ch->defer_poller = poller_register(bdev_channel_defer_poll, ch, 0, "bdev_defer");
		if (ch->defer_poller == NULL) {
			VHD_ERRLOG("%s: cannot defer a completion\n", ch->bdev->name);
			abort();
		}
	}
}

static enum bdev_io_status
bdev_errno_to_status(int neg_errno)
{
	switch (neg_errno) {
	case 0:
		return BDEV_IO_STATUS_SUCCESS;
	case -EIO:
	case -EILSEQ:
		return BDEV_IO_STATUS_MEDIUM_ERROR;
	case -ENOSPC:
		return BDEV_IO_STATUS_NOSPACE;
	case -ECANCELED:
		return BDEV_IO_STATUS_ABORTED;
	default:
		return BDEV_IO_STATUS_FAILED;
	}
}

void
bdev_io_complete_status(struct bdev_io *io, enum bdev_io_status status, int neg_errno)
{
	io->internal.status = status;
	if (status != BDEV_IO_STATUS_SUCCESS && neg_errno == 0) {
		switch (status) {
		case BDEV_IO_STATUS_ABORTED:
			neg_errno = -ECANCELED;
			break;
		case BDEV_IO_STATUS_NOSPACE:
			neg_errno = -ENOSPC;
			break;
		case BDEV_IO_STATUS_MISCOMPARE:
			neg_errno = -EILSEQ;
			break;
		default:
			neg_errno = -EIO;
			break;
		}
	}
	io->internal.err = status == BDEV_IO_STATUS_SUCCESS ? 0 : neg_errno;
	if (io->internal.in_submit) {
		bdev_io_defer(io);
		return;
	}
	bdev_io_finish(io);
}

void
bdev_io_complete(struct bdev_io *io, enum bdev_io_status status)
{
	bdev_io_complete_status(io, status, 0);
}

void
bdev_io_complete_errno(struct bdev_io *io, int neg_errno)
{
	bdev_io_complete_status(io, bdev_errno_to_status(neg_errno), neg_errno);
}

static void
bdev_io_unbounce(struct bdev_io *io)
{
	if (io->type == BDEV_IO_TYPE_READ && io->internal.status == BDEV_IO_STATUS_SUCCESS) {
		bdev_buf_to_iovs(io->internal.orig_iovs, io->internal.orig_iovcnt, 0,
				 io->internal.bounce_iov.iov_base, io->internal.bounce_iov.iov_len);
	}
	io->iovs = io->internal.orig_iovs;
	io->iovcnt = io->internal.orig_iovcnt;
	io->internal.bounced = false;
	if (io->internal.bounce_len > BDEV_BOUNCE_CACHE_MAX) {
		free(io->internal.bounce_buf);
		io->internal.bounce_buf = NULL;
		io->internal.bounce_len = 0;
	}
}

static void bdev_io_child_done(struct bdev_io *child);

static void
bdev_io_account(struct bdev_channel *ch, struct bdev_io *io)
{
	struct bdev_io_type_stat *s;
	uint64_t lat;

	if (io->internal.status != BDEV_IO_STATUS_SUCCESS) {
		int idx = -io->internal.status;

		if (idx > 0 && idx < (int)VHD_COUNTOF(ch->stat.errors)) {
			ch->stat.errors[idx]++;
		}
		return;
	}
	s = &ch->stat.type[io->type];
	s->ops++;
	if (io->type != BDEV_IO_TYPE_FLUSH && io->type != BDEV_IO_TYPE_RESET) {
		s->bytes += io->num_blocks * io->bdev->blocklen;
	}
	if (io->internal.submit_tsc == 0) {
		return;	/* not sampled */
	}
	lat = util_get_ticks() - io->internal.submit_tsc;
	s->lat_samples++;
	s->lat_sum += lat;
	if (lat < s->lat_min) {
		s->lat_min = lat;
	}
	if (lat > s->lat_max) {
		s->lat_max = lat;
	}
}

static void
bdev_io_finish(struct bdev_io *io)
{
	struct bdev_channel *ch = io->internal.ch;

	if (io->internal.bounced) {
		bdev_io_unbounce(io);
	}
	if (io->internal.is_child) {
		bdev_io_child_done(io);
		return;
	}
	if (io->type == BDEV_IO_TYPE_RESET) {
		/* The backend finished its part: now drain every channel. */
		bdev_reset_drain(io);
		return;
	}
	ch->outstanding--;
	bdev_io_account(ch, io);
	io->internal.cb(io, io->internal.status == BDEV_IO_STATUS_SUCCESS, io->internal.cb_arg);
}

/* Complete an I/O the core fails itself after submit returned 0. */
static void
bdev_io_fail_deferred(struct bdev_io *io, enum bdev_io_status status, int neg_errno)
{
	io->internal.status = status;
	io->internal.err = neg_errno;
	bdev_io_defer(io);
}

/* ---- submission ---- */

static bool
bdev_iovs_aligned(const struct iovec *iovs, int iovcnt, uint32_t align)
{
	uintptr_t mask = align - 1;
	int i;

	for (i = 0; i < iovcnt; i++) {
		if ((((uintptr_t)iovs[i].iov_base) | iovs[i].iov_len) & mask) {
			return false;
		}
	}
	return true;
}

static int
bdev_io_bounce(struct bdev_io *io)
{
	size_t len = bdev_io_num_bytes(io);
	uint32_t align = VHD_MAX(io->bdev->required_alignment, 4096u);

	if (io->internal.bounce_len < len) {
		void *buf;

		if (posix_memalign(&buf, align, len) != 0) {
			return -ENOMEM;
		}
		free(io->internal.bounce_buf);
		io->internal.bounce_buf = buf;
		io->internal.bounce_len = len;
	}
	io->internal.orig_iovs = io->iovs;
	io->internal.orig_iovcnt = io->iovcnt;
	io->internal.bounce_iov.iov_base = io->internal.bounce_buf;
	io->internal.bounce_iov.iov_len = len;
	if (io->type == BDEV_IO_TYPE_WRITE) {
		bdev_iovs_to_buf(io->internal.bounce_buf, io->iovs, io->iovcnt, 0, len);
	}
	io->iovs = &io->internal.bounce_iov;
	io->iovcnt = 1;
	io->internal.bounced = true;
	return 0;
}

static void
bdev_io_submit_to_backend(struct bdev_io *io)
{
	struct bdev *bdev = io->bdev;

	io->internal.in_submit = true;
	if ((io->type == BDEV_IO_TYPE_READ || io->type == BDEV_IO_TYPE_WRITE) &&
	    bdev->required_alignment > 1 &&
	    !bdev_iovs_aligned(io->iovs, io->iovcnt, bdev->required_alignment)) {
		if (bdev_io_bounce(io) != 0) {
			VHD_ERRLOG_RATELIMIT("%s: no memory for a bounce buffer\n", bdev->name);
			bdev_io_complete_status(io, BDEV_IO_STATUS_FAILED, -ENOMEM);
			io->internal.in_submit = false;
			return;
		}
	}
	bdev->fn_table->submit_request(io->internal.ch->backend_ch, io);
	io->internal.in_submit = false;
}

static uint64_t
bdev_io_type_limit(const struct bdev *bdev, enum bdev_io_type type)
{
	switch (type) {
	case BDEV_IO_TYPE_READ:
	case BDEV_IO_TYPE_WRITE:
		return bdev->max_rw_blocks;
	case BDEV_IO_TYPE_UNMAP:
		return bdev->max_unmap_blocks;
	case BDEV_IO_TYPE_WRITE_ZEROES:
		return bdev->max_write_zeroes_blocks;
	default:
		return 0;
	}
}

static bool
bdev_io_needs_split(const struct bdev_io *io)
{
	const struct bdev *bdev = io->bdev;
	uint64_t limit = bdev_io_type_limit(bdev, io->type);
	uint64_t b = bdev->optimal_io_boundary;

	if (limit != 0 && io->num_blocks > limit) {
		return true;
	}
	if (bdev->split_on_optimal_io_boundary && b != 0 &&
	    (io->type == BDEV_IO_TYPE_READ || io->type == BDEV_IO_TYPE_WRITE)) {
		return io->offset_blocks / b != (io->offset_blocks + io->num_blocks - 1) / b;
	}
	return false;
}

static void
bdev_io_child_done(struct bdev_io *child)
{
	struct bdev_io *parent = child->internal.parent;
	struct bdev_channel *ch = child->internal.ch;
	enum bdev_io_status status = child->internal.status;
	int err = child->internal.err;

	bdev_channel_put_io(ch, child);
	if (status != BDEV_IO_STATUS_SUCCESS) {
		parent->internal.status = status;
		parent->internal.err = err;
		parent->internal.split_remaining = 0;
		bdev_io_finish(parent);
	} else if (parent->internal.split_remaining > 0) {
		bdev_io_split_continue(parent);
	} else {
		parent->internal.status = BDEV_IO_STATUS_SUCCESS;
		parent->internal.err = 0;
		bdev_io_finish(parent);
	}
	if (ch->wait_head != NULL || !TAILQ_EMPTY(&ch->queued)) {
		bdev_channel_retry(ch);
	}
}

/* Fill child->internal.child_iovs with up to `bytes` from the parent's position. */
static size_t
bdev_io_child_iovs(struct bdev_io *parent, struct bdev_io *child, size_t bytes, int *cnt)
{
	int idx = parent->internal.split_iov_idx;
	size_t off = parent->internal.split_iov_off;
	size_t got = 0;
	int n = 0;

	while (got < bytes && n < BDEV_IO_CHILD_IOVS && idx < parent->iovcnt) {
		size_t avail = parent->iovs[idx].iov_len - off;
		size_t take = VHD_MIN(avail, bytes - got);

		if (take == 0) {
			idx++;
			off = 0;
			continue;
		}
		child->internal.child_iovs[n].iov_base = (uint8_t *)parent->iovs[idx].iov_base + off;
		child->internal.child_iovs[n].iov_len = take;
		n++;
		got += take;
		off += take;
		if (off == parent->iovs[idx].iov_len) {
			idx++;
			off = 0;
		}
	}
	*cnt = n;
	return got;
}

static void
bdev_io_advance_iovs(struct bdev_io *parent, size_t bytes)
{
	while (bytes > 0) {
		struct iovec *iov = &parent->iovs[parent->internal.split_iov_idx];
		size_t avail = iov->iov_len - parent->internal.split_iov_off;

		if (bytes < avail) {
			parent->internal.split_iov_off += bytes;
			return;
		}
		bytes -= avail;
		parent->internal.split_iov_idx++;
		parent->internal.split_iov_off = 0;
	}
}

static void
bdev_io_split_continue(struct bdev_io *parent)
{
	struct bdev_channel *ch = parent->internal.ch;
	struct bdev *bdev = parent->bdev;
	struct bdev_io *child;
	uint64_t n = parent->internal.split_remaining;
	uint64_t limit = bdev_io_type_limit(bdev, parent->type);
	uint64_t b = bdev->optimal_io_boundary;
	bool rw = parent->type == BDEV_IO_TYPE_READ || parent->type == BDEV_IO_TYPE_WRITE;
	int iovcnt = 0;

	child = bdev_channel_get_io(ch);
	if (child == NULL) {
		TAILQ_INSERT_TAIL(&ch->queued, parent, internal.link);
		return;
	}
	if (limit != 0) {
		n = VHD_MIN(n, limit);
	}
	if (rw && bdev->split_on_optimal_io_boundary && b != 0) {
		n = VHD_MIN(n, b - parent->internal.split_offset % b);
	}
	if (rw) {
		size_t want = n * bdev->blocklen;
		size_t got = bdev_io_child_iovs(parent, child, want, &iovcnt);

		if (got < want) {
			/* Too many small iovecs: a shorter child, still whole blocks. */
			size_t whole = got - got % bdev->blocklen;

			if (whole == 0) {
				bdev_channel_put_io(ch, child);
				parent->internal.status = BDEV_IO_STATUS_FAILED;
				parent->internal.err = -EINVAL;
				bdev_io_defer(parent);
				return;
			}
			n = whole / bdev->blocklen;
			got = bdev_io_child_iovs(parent, child, whole, &iovcnt);
		}
		bdev_io_advance_iovs(parent, got);
	}
	child->bdev = bdev;
	child->type = parent->type;
	child->iovs = rw ? child->internal.child_iovs : NULL;
	child->iovcnt = rw ? iovcnt : 0;
	child->offset_blocks = parent->internal.split_offset;
	child->num_blocks = n;
	child->internal.desc = parent->internal.desc;
	child->internal.parent = parent;
	child->internal.is_child = true;
	child->internal.bounced = false;
	child->internal.deferred = false;
	child->internal.status = BDEV_IO_STATUS_SUCCESS;
	child->internal.err = 0;
	parent->internal.split_offset += n;
	parent->internal.split_remaining -= n;
	bdev_io_submit_to_backend(child);
}

static void
bdev_io_submit(struct bdev_io *io)
{
	struct bdev_channel *ch = io->internal.ch;

	ch->outstanding++;
	io->internal.submit_tsc = (ch->sample_ctr++ % BDEV_LAT_SAMPLE) == 0 ? util_get_ticks() : 0;
	if (VHD_UNLIKELY(ch->frozen)) {
		bdev_io_fail_deferred(io, BDEV_IO_STATUS_ABORTED, -ECANCELED);
		return;
	}
	if (VHD_UNLIKELY(bdev_io_needs_split(io))) {
		io->internal.split_offset = io->offset_blocks;
		io->internal.split_remaining = io->num_blocks;
		io->internal.split_iov_idx = 0;
		io->internal.split_iov_off = 0;
		bdev_io_split_continue(io);
		return;
	}
	bdev_io_submit_to_backend(io);
}

static inline bool
bdev_io_is_write(enum bdev_io_type type)
{
	return type == BDEV_IO_TYPE_WRITE || type == BDEV_IO_TYPE_UNMAP ||
	       type == BDEV_IO_TYPE_WRITE_ZEROES;
}

static int
bdev_io_prep(struct bdev_desc *desc, struct io_channel *_ch, enum bdev_io_type type,
	     uint64_t offset, uint64_t num, bdev_io_completion_cb cb, void *cb_arg,
	     struct bdev_io **out)
{
	struct bdev *bdev = desc->bdev;
	struct bdev_channel *ch;
	struct bdev_io *io;
	uint64_t blockcnt;

	if (VHD_UNLIKELY(cb == NULL || _ch == NULL)) {
		return -EINVAL;
	}
	if (VHD_UNLIKELY(bdev->internal.state != BDEV_STATE_READY)) {
		return -EBADF;
	}
	if (VHD_UNLIKELY(bdev_io_is_write(type) && !desc->write)) {
		return -EBADF;
	}
	if (type != BDEV_IO_TYPE_READ && !bdev_io_type_supported(bdev, type)) {
		return -ENOTSUP;
	}
	blockcnt = bdev_get_num_blocks(bdev);
	if (VHD_UNLIKELY(num == 0 && type != BDEV_IO_TYPE_FLUSH)) {
		return -EINVAL;
	}
	if (VHD_UNLIKELY(offset + num < offset || offset + num > blockcnt ||
			 num > UINT64_MAX / bdev->blocklen)) {
		return -EINVAL;
	}
	ch = io_channel_get_ctx(_ch);
	if (VHD_UNLIKELY(ch->bdev != bdev)) {
		return -EINVAL;
	}
	io = bdev_channel_get_io(ch);
	if (VHD_UNLIKELY(io == NULL)) {
		return -ENOMEM;
	}
	io->bdev = bdev;
	io->type = type;
	io->iovs = NULL;
	io->iovcnt = 0;
	io->offset_blocks = offset;
	io->num_blocks = num;
	io->internal.desc = desc;
	io->internal.cb = cb;
	io->internal.cb_arg = cb_arg;
	io->internal.status = BDEV_IO_STATUS_SUCCESS;
	io->internal.err = 0;
	io->internal.in_submit = false;
	io->internal.deferred = false;
	io->internal.is_child = false;
	io->internal.bounced = false;
	io->internal.parent = NULL;
	*out = io;
	return 0;
}

static int
bdev_rw(struct bdev_desc *desc, struct io_channel *ch, enum bdev_io_type type, struct iovec *iov,
	int iovcnt, uint64_t offset, uint64_t num, bdev_io_completion_cb cb, void *cb_arg)
{
	struct bdev_io *io;
	size_t need, total = 0;
	int i, rc;

	if (VHD_UNLIKELY(iov == NULL || iovcnt <= 0 || iovcnt > BDEV_MAX_IOVCNT)) {
		return -EINVAL;
	}
	rc = bdev_io_prep(desc, ch, type, offset, num, cb, cb_arg, &io);
	if (VHD_UNLIKELY(rc != 0)) {
		return rc;
	}
	need = num * desc->bdev->blocklen;
	for (i = 0; i < iovcnt && total < need; i++) {
		total += iov[i].iov_len;
	}
	if (VHD_UNLIKELY(total < need)) {
		bdev_channel_put_io(io->internal.ch, io);
		return -EINVAL;
	}
	if (VHD_UNLIKELY(total > need || i < iovcnt)) {
		/* Longer than the I/O: hand the backend exactly `need` bytes. */
		size_t got = 0;
		int n = 0, j;

		if (i > BDEV_IO_CHILD_IOVS) {
			bdev_channel_put_io(io->internal.ch, io);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			size_t take = VHD_MIN(iov[j].iov_len, need - got);

			io->internal.child_iovs[n].iov_base = iov[j].iov_base;
			io->internal.child_iovs[n].iov_len = take;
			n++;
			got += take;
		}
		iov = io->internal.child_iovs;
		iovcnt = n;
	}
	io->iovs = iov;
	io->iovcnt = iovcnt;
	bdev_io_submit(io);
	return 0;
}

int
bdev_readv_blocks(struct bdev_desc *desc, struct io_channel *ch, struct iovec *iov, int iovcnt,
		  uint64_t offset_blocks, uint64_t num_blocks, bdev_io_completion_cb cb,
		  void *cb_arg)
{
	return bdev_rw(desc, ch, BDEV_IO_TYPE_READ, iov, iovcnt, offset_blocks, num_blocks, cb,
		       cb_arg);
}

int
bdev_writev_blocks(struct bdev_desc *desc, struct io_channel *ch, struct iovec *iov, int iovcnt,
		   uint64_t offset_blocks, uint64_t num_blocks, bdev_io_completion_cb cb,
		   void *cb_arg)
{
	return bdev_rw(desc, ch, BDEV_IO_TYPE_WRITE, iov, iovcnt, offset_blocks, num_blocks, cb,
		       cb_arg);
}

static int
bdev_rw_buf(struct bdev_desc *desc, struct io_channel *_ch, enum bdev_io_type type, void *buf,
	    uint64_t offset, uint64_t num, bdev_io_completion_cb cb, void *cb_arg)
{
	struct bdev_io *io;
	int rc;

	if (VHD_UNLIKELY(buf == NULL)) {
		return -EINVAL;
	}
	rc = bdev_io_prep(desc, _ch, type, offset, num, cb, cb_arg, &io);
	if (VHD_UNLIKELY(rc != 0)) {
		return rc;
	}
	io->internal.single_iov.iov_base = buf;
	io->internal.single_iov.iov_len = num * desc->bdev->blocklen;
	io->iovs = &io->internal.single_iov;
	io->iovcnt = 1;
	bdev_io_submit(io);
	return 0;
}

int
bdev_read_blocks(struct bdev_desc *desc, struct io_channel *ch, void *buf, uint64_t offset_blocks,
		 uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg)
{
	return bdev_rw_buf(desc, ch, BDEV_IO_TYPE_READ, buf, offset_blocks, num_blocks, cb, cb_arg);
}

int
bdev_write_blocks(struct bdev_desc *desc, struct io_channel *ch, void *buf,
		  uint64_t offset_blocks, uint64_t num_blocks, bdev_io_completion_cb cb,
		  void *cb_arg)
{
	return bdev_rw_buf(desc, ch, BDEV_IO_TYPE_WRITE, buf, offset_blocks, num_blocks, cb,
			   cb_arg);
}

static int
bdev_nodata(struct bdev_desc *desc, struct io_channel *ch, enum bdev_io_type type,
	    uint64_t offset, uint64_t num, bdev_io_completion_cb cb, void *cb_arg)
{
	struct bdev_io *io;
	int rc;

	rc = bdev_io_prep(desc, ch, type, offset, num, cb, cb_arg, &io);
	if (rc != 0) {
		return rc;
	}
	bdev_io_submit(io);
	return 0;
}

int
bdev_flush_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
		  uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg)
{
	return bdev_nodata(desc, ch, BDEV_IO_TYPE_FLUSH, offset_blocks, num_blocks, cb, cb_arg);
}

int
bdev_unmap_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
		  uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg)
{
	return bdev_nodata(desc, ch, BDEV_IO_TYPE_UNMAP, offset_blocks, num_blocks, cb, cb_arg);
}

int
bdev_write_zeroes_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
			 uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg)
{
	return bdev_nodata(desc, ch, BDEV_IO_TYPE_WRITE_ZEROES, offset_blocks, num_blocks, cb,
			   cb_arg);
}

/* ---- reset ---- */

static void bdev_reset_start(struct bdev_io *io);

static void
bdev_reset_start_msg(void *ctx)
{
	bdev_reset_start(ctx);
}

static void
bdev_reset_unfreeze_ch(struct io_channel_iter *i)
{
	struct bdev_channel *ch = io_channel_get_ctx(io_channel_iter_get_channel(i));

	ch->frozen = false;
	io_channel_iter_continue(i, 0);
}

static void
bdev_reset_unfrozen(struct io_channel_iter *i, int status)
{
	struct bdev_io *io = io_channel_iter_get_ctx(i);
	struct bdev *bdev = io->bdev;
	struct bdev_reset_ctx *r;
	struct bdev_io *next;

	pthread_mutex_lock(&g_bdev_mutex);
	r = bdev->internal.reset;
	bdev->internal.reset = NULL;
	pthread_mutex_unlock(&g_bdev_mutex);

	bdev_io_account(io->internal.ch, io);
	io->internal.cb(io, io->internal.status == BDEV_IO_STATUS_SUCCESS, io->internal.cb_arg);

	/* Start the resets that queued behind this one, each on its own thread. */
	while (r != NULL && (next = TAILQ_FIRST(&r->queued)) != NULL) {
		TAILQ_REMOVE(&r->queued, next, internal.link);
		if (thread_send_msg(next->internal.ch->thread, bdev_reset_start_msg, next) != 0) {
			VHD_ERRLOG("%s: cannot start a queued reset\n", bdev->name);
		}
	}
	free(r);
}

static int
bdev_reset_drain_poll(void *ctx)
{
	struct bdev_channel *ch = ctx;

	if (ch->outstanding != 0) {
		return POLLER_IDLE;
	}
	poller_unregister(&ch->drain_poller);
	io_channel_iter_continue(ch->drain_iter, 0);
	return POLLER_BUSY;
}

static void
bdev_reset_drain_ch(struct io_channel_iter *i)
{
	struct bdev_channel *ch = io_channel_get_ctx(io_channel_iter_get_channel(i));

	if (ch->outstanding == 0) {
		io_channel_iter_continue(i, 0);
		return;
	}
	ch->drain_iter = i;
	ch->drain_poller = poller_register(bdev_reset_drain_poll, ch, BDEV_RESET_DRAIN_US,
					   "bdev_reset_drain");
	if (ch->drain_poller == NULL) {
		io_channel_iter_continue(i, -ENOMEM);
	}
}

static void
bdev_reset_drained(struct io_channel_iter *i, int status)
{
	struct bdev_io *io = io_channel_iter_get_ctx(i);

	if (status != 0 && io->internal.status == BDEV_IO_STATUS_SUCCESS) {
		io->internal.status = BDEV_IO_STATUS_FAILED;
		io->internal.err = status;
	}
	io_channel_for_each(bdev_io_dev(io->bdev), bdev_reset_unfreeze_ch, io,
			    bdev_reset_unfrozen);
}

static void
bdev_reset_drain(struct bdev_io *io)
{
	io_channel_for_each(bdev_io_dev(io->bdev), bdev_reset_drain_ch, io, bdev_reset_drained);
}

static void
bdev_reset_freeze_ch(struct io_channel_iter *i)
{
	struct bdev_channel *ch = io_channel_get_ctx(io_channel_iter_get_channel(i));
	struct bdev_io *parent;

	ch->frozen = true;
	/* Split parents waiting for a bdev_io never reached the backend: abort them. */
	while ((parent = TAILQ_FIRST(&ch->queued)) != NULL) {
		TAILQ_REMOVE(&ch->queued, parent, internal.link);
		parent->internal.status = BDEV_IO_STATUS_ABORTED;
		parent->internal.err = -ECANCELED;
		bdev_io_finish(parent);
	}
	io_channel_iter_continue(i, 0);
}

static void
bdev_reset_frozen(struct io_channel_iter *i, int status)
{
	struct bdev_io *io = io_channel_iter_get_ctx(i);
	struct bdev *bdev = io->bdev;

	if (bdev->fn_table->io_type_supported(bdev, BDEV_IO_TYPE_RESET)) {
		/* The backend aborts what it holds; bdev_io_finish() then drains. */
		bdev_io_submit_to_backend(io);
		return;
	}
	bdev_reset_drain(io);
}

static void
bdev_reset_start(struct bdev_io *io)
{
	struct bdev *bdev = io->bdev;
	struct bdev_reset_ctx *r;

	pthread_mutex_lock(&g_bdev_mutex);
	r = bdev->internal.reset;
	if (r != NULL) {
		TAILQ_INSERT_TAIL(&r->queued, io, internal.link);
		pthread_mutex_unlock(&g_bdev_mutex);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		pthread_mutex_unlock(&g_bdev_mutex);
		io->internal.status = BDEV_IO_STATUS_FAILED;
		io->internal.err = -ENOMEM;
		io->internal.cb(io, false, io->internal.cb_arg);
		return;
	}
	r->io = io;
	TAILQ_INIT(&r->queued);
	bdev->internal.reset = r;
	pthread_mutex_unlock(&g_bdev_mutex);
	io_channel_for_each(bdev_io_dev(bdev), bdev_reset_freeze_ch, io, bdev_reset_frozen);
}

int
bdev_reset(struct bdev_desc *desc, struct io_channel *ch, bdev_io_completion_cb cb, void *cb_arg)
{
	struct bdev *bdev = desc->bdev;
	struct bdev_io *io;
	int rc;

	rc = bdev_io_prep(desc, ch, BDEV_IO_TYPE_RESET, 0, 1, cb, cb_arg, &io);
	if (rc != 0) {
		return rc;
	}
	io->num_blocks = 0;
	io->internal.submit_tsc = util_get_ticks();
	(void)bdev;
	/* Every step below is a message or channel walk: the callback never runs inline. */
	bdev_reset_start(io);
	return 0;
}

/* ---- statistics ---- */

struct bdev_iostat_ctx {
	struct bdev		*bdev;
	struct bdev_io_stat	*stat;
	int			reset;
	bdev_get_iostat_cb	cb;
	void			*cb_arg;
};

static void
bdev_iostat_ch(struct io_channel_iter *i)
{
	struct bdev_iostat_ctx *c = io_channel_iter_get_ctx(i);
	struct bdev_channel *ch = io_channel_get_ctx(io_channel_iter_get_channel(i));

	bdev_io_stat_add(c->stat, &ch->stat);
	bdev_io_stat_reset(&ch->stat, c->reset);
	io_channel_iter_continue(i, 0);
}

static void
bdev_io_stat_scale(struct bdev_io_stat *stat)
{
	struct bdev_io_type_stat *s;
	int t;

	/* Scale the sampled latency sum to every op. */
	for (t = 0; t < BDEV_NUM_IO_TYPES; t++) {
		s = &stat->type[t];
		if (s->lat_samples != 0 && s->ops > s->lat_samples) {
			s->lat_sum = (uint64_t)((double)s->lat_sum * s->ops / s->lat_samples);
		}
	}
}

static void
bdev_iostat_done(struct io_channel_iter *i, int status)
{
	struct bdev_iostat_ctx *c = io_channel_iter_get_ctx(i);

	bdev_io_stat_scale(c->stat);
	c->cb(c->bdev, c->stat, c->cb_arg, status);
	free(c);
}

void
bdev_get_iostat(struct bdev *bdev, struct bdev_io_stat *stat, int reset, bdev_get_iostat_cb cb,
		void *cb_arg)
{
	struct bdev_iostat_ctx *c;

	bdev_io_stat_init(stat);
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		cb(bdev, stat, cb_arg, -ENOMEM);
		return;
	}
	c->bdev = bdev;
	c->stat = stat;
	c->reset = reset;
	c->cb = cb;
	c->cb_arg = cb_arg;
	pthread_mutex_lock(&g_bdev_mutex);
	if (bdev->internal.retired_stat != NULL) {
		bdev_io_stat_add(stat, bdev->internal.retired_stat);
		bdev_io_stat_reset(bdev->internal.retired_stat, reset);
	}
	pthread_mutex_unlock(&g_bdev_mutex);
	io_channel_for_each(bdev_io_dev(bdev), bdev_iostat_ch, c, bdev_iostat_done);
}

struct bdev_iostat_ch_ctx {
	struct bdev	*bdev;
	void		(*each)(struct thread *thread, const struct bdev_io_stat *stat, void *arg);
	void		(*done)(struct bdev *bdev, void *arg, int rc);
	void		*cb_arg;
};

static void
bdev_iostat_ch_each(struct io_channel_iter *i)
{
	struct bdev_iostat_ch_ctx *c = io_channel_iter_get_ctx(i);
	struct io_channel *_ch = io_channel_iter_get_channel(i);
	struct bdev_channel *ch = io_channel_get_ctx(_ch);
	struct bdev_io_stat copy = ch->stat;

	bdev_io_stat_scale(&copy);
	c->each(io_channel_get_thread(_ch), &copy, c->cb_arg);
	io_channel_iter_continue(i, 0);
}

static void
bdev_iostat_ch_done(struct io_channel_iter *i, int status)
{
	struct bdev_iostat_ch_ctx *c = io_channel_iter_get_ctx(i);

	c->done(c->bdev, c->cb_arg, status);
	free(c);
}

void
bdev_get_iostat_per_channel(struct bdev *bdev,
			    void (*each)(struct thread *thread, const struct bdev_io_stat *stat,
					 void *cb_arg),
			    void (*done)(struct bdev *bdev, void *cb_arg, int rc), void *cb_arg)
{
	struct bdev_iostat_ch_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		done(bdev, cb_arg, -ENOMEM);
		return;
	}
	c->bdev = bdev;
	c->each = each;
	c->done = done;
	c->cb_arg = cb_arg;
	io_channel_for_each(bdev_io_dev(bdev), bdev_iostat_ch_each, c, bdev_iostat_ch_done);
}

/* ---- iovec helpers ---- */

void
bdev_iovs_to_buf(void *buf, const struct iovec *iovs, int iovcnt, size_t off, size_t len)
{
	uint8_t *dst = buf;
	int i;

	for (i = 0; i < iovcnt && len > 0; i++) {
		size_t l = iovs[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l = VHD_MIN(l - off, len);
		memcpy(dst, (uint8_t *)iovs[i].iov_base + off, l);
		dst += l;
		len -= l;
		off = 0;
	}
}

void
bdev_buf_to_iovs(const struct iovec *iovs, int iovcnt, size_t off, const void *buf, size_t len)
{
	const uint8_t *src = buf;
	int i;

	for (i = 0; i < iovcnt && len > 0; i++) {
		size_t l = iovs[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l = VHD_MIN(l - off, len);
		memcpy((uint8_t *)iovs[i].iov_base + off, src, l);
		src += l;
		len -= l;
		off = 0;
	}
}

void
bdev_iovs_zero(const struct iovec *iovs, int iovcnt)
{
	int i;

	for (i = 0; i < iovcnt; i++) {
		memset(iovs[i].iov_base, 0, iovs[i].iov_len);
	}
}

/* ---- virtual bdev helpers ---- */

int
bdev_io_forward(struct bdev_io *io, struct bdev_desc *desc, struct io_channel *ch,
		bdev_io_completion_cb cb, void *cb_arg)
{
	switch (io->type) {
	case BDEV_IO_TYPE_READ:
		return bdev_readv_blocks(desc, ch, io->iovs, io->iovcnt, io->offset_blocks,
					 io->num_blocks, cb, cb_arg);
	case BDEV_IO_TYPE_WRITE:
		return bdev_writev_blocks(desc, ch, io->iovs, io->iovcnt, io->offset_blocks,
					  io->num_blocks, cb, cb_arg);
	case BDEV_IO_TYPE_UNMAP:
		return bdev_unmap_blocks(desc, ch, io->offset_blocks, io->num_blocks, cb, cb_arg);
	case BDEV_IO_TYPE_FLUSH:
		return bdev_flush_blocks(desc, ch, io->offset_blocks, io->num_blocks, cb, cb_arg);
	case BDEV_IO_TYPE_WRITE_ZEROES:
		return bdev_write_zeroes_blocks(desc, ch, io->offset_blocks, io->num_blocks, cb,
						cb_arg);
	case BDEV_IO_TYPE_RESET:
		return bdev_reset(desc, ch, cb, cb_arg);
	default:
		return -ENOTSUP;
	}
}

void
bdev_io_complete_like(struct bdev_io *io, const struct bdev_io *base_io)
{
	bdev_io_complete_status(io, base_io->internal.status, base_io->internal.err);
}
