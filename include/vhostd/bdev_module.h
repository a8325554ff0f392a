/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Block devices, for code that *implements* them (lib/bdev/<backend>/).
 * Users include bdev.h only.
 *
 * A backend embeds `struct bdev` first in its own struct, fills the public
 * fields, and calls bdev_register(). The core owns everything in
 * `bdev->internal` and `bdev_io->internal`; backends never touch them.
 *
 * Threads:
 *   - bdev_register/bdev_unregister, module init/fini, destruct,
 *     dump_info_json and write_config_json run on the app thread (the RPC
 *     thread). bdev_unregister may be called from any thread: its callback
 *     runs on that thread.
 *   - get_io_channel runs on the thread creating its first bdev channel;
 *     submit_request on the thread that owns that channel; the backend must
 *     complete the I/O (bdev_io_complete*) on that same thread. Completing
 *     inside submit_request is allowed: the core defers the user callback.
 *   - io_type_supported may run on any thread (must be a pure function).
 */
#ifndef VHOSTD_BDEV_MODULE_H
#define VHOSTD_BDEV_MODULE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "vhostd/bdev.h"
#include "vhostd/thread.h"
#include "vhostd/util.h"

struct json_object;
struct bdev_desc;

struct bdev_module {
	const char	*name;
	/* Optional. App thread, at "bdev" subsystem init. 0 or -errno. */
	int		(*module_init)(void);
	/* Optional. App thread, at subsystem fini after every bdev is gone. */
	void		(*module_fini)(void);
	/* Bytes of per-I/O scratch space at bdev_io_get_driver_ctx() (no malloc per I/O). */
	uint32_t	ctx_size;
	struct bdev_module *next;	/* private */
};

void bdev_module_register(struct bdev_module *module);
/* One line beside the module: `BDEV_MODULE_REGISTER(malloc, &g_malloc_module);` */
#define BDEV_MODULE_REGISTER(name, module)                                                        \
	__attribute__((constructor)) static void bdev_module_register_##name(void)               \
	{                                                                                         \
		bdev_module_register(module);                                                     \
	}
struct bdev_module *bdev_module_find(const char *name);

struct bdev_fn_table {
	/*
	 * Required. App thread (the unregistering thread), after every
	 * descriptor closed and every channel was destroyed. The core is done
	 * with the bdev: free it. Return 0 when done, or 1 and call
	 * bdev_destruct_done() later (then free after that call).
	 */
	int			(*destruct)(struct bdev *bdev);
	/* Required. Channel thread. Complete exactly once with bdev_io_complete*(). */
	void			(*submit_request)(struct io_channel *ch, struct bdev_io *bdev_io);
	/* Required. Any thread. */
	bool			(*io_type_supported)(struct bdev *bdev, enum bdev_io_type type);
	/* Required. The thread that creates a bdev channel; the core puts it. */
	struct io_channel	*(*get_io_channel)(struct bdev *bdev);
	/* Optional. App thread: fill the "driver_specific" object of bdev_get_bdevs. */
	void			(*dump_info_json)(struct bdev *bdev, struct json_object *driver_specific);
	/* Optional. App thread: rpc_config_add() the RPC that recreates this bdev. */
	void			(*write_config_json)(struct bdev *bdev, struct json_object *config);
};

struct bdev_alias {
	char			*alias;
	TAILQ_ENTRY(bdev_alias)	link;
};

enum bdev_state {
	BDEV_STATE_INVALID = 0,
	BDEV_STATE_READY,
	BDEV_STATE_REMOVING,
};

/* Core-private part of struct bdev. */
struct bdev_internal {
	enum bdev_state			state;
	TAILQ_HEAD(, bdev_alias)	aliases;
	TAILQ_HEAD(, bdev_desc)		descs;
	struct bdev_desc		*claim_desc;
	char				*claim_owner;
	void				(*unregister_cb)(void *cb_arg, int rc);
	void				*unregister_cb_arg;
	struct thread			*unregister_thread;
	struct bdev_io_stat		*retired_stat;	/* folded-in stats of destroyed channels */
	struct bdev_reset_ctx		*reset;		/* reset in progress */
	TAILQ_ENTRY(bdev)		link;
};

struct bdev {
	/* Required, unique among names and aliases; owned by the backend. */
	char				*name;
	/* Required, static string ("Malloc disk"). */
	const char			*product_name;
	/* Required: power of two >= 512. */
	uint32_t			blocklen;
	/* Optional: 0 means blocklen. */
	uint32_t			phys_blocklen;
	/* Required: > 0. Change it only with bdev_notify_blockcnt_change(). */
	uint64_t			blockcnt;
	bool				write_cache;
	/* Optional (blocks): reported; split on it if split_on_optimal_io_boundary. */
	uint32_t			optimal_io_boundary;
	bool				split_on_optimal_io_boundary;
	/* Optional: largest read/write in blocks the backend accepts (0 = any): the core splits. */
	uint32_t			max_rw_blocks;
	/* Optional: largest unmap / write-zeroes in blocks (0 = any): the core splits. */
	uint64_t			max_unmap_blocks;
	uint64_t			max_write_zeroes_blocks;
	/*
	 * Optional: buffer address and length alignment in bytes the backend
	 * needs (O_DIRECT: the logical block size). 0/1 = none. Unaligned
	 * iovecs go through a core bounce buffer.
	 */
	uint32_t			required_alignment;
	bool				unmap_reads_zeroes;
	/* Optional: all-zero means generated by bdev_register(). */
	struct util_uuid		uuid;
	const struct bdev_fn_table	*fn_table;	/* required */
	struct bdev_module		*module;	/* required */

	struct bdev_internal		internal;	/* core-private */
};

/* Internal-per-I/O state: core-private. */
#define BDEV_IO_CHILD_IOVS 32
struct bdev_channel;
struct bdev_io_internal {
	struct bdev_channel	*ch;
	struct bdev_desc	*desc;
	bdev_io_completion_cb	cb;
	void			*cb_arg;
	uint64_t		submit_tsc;
	enum bdev_io_status	status;
	int			err;
	bool			in_submit;
	bool			deferred;
	bool			is_child;
	bool			bounced;
	/* The user's iovecs while a bounce or split is in place. */
	struct iovec		*orig_iovs;
	int			orig_iovcnt;
	struct iovec		single_iov;	/* read_blocks/write_blocks buffer */
	void			*bounce_buf;	/* cached with the pooled bdev_io */
	size_t			bounce_len;
	struct iovec		bounce_iov;
	/* Split parent state. */
	struct bdev_io		*parent;
	uint64_t		split_offset;
	uint64_t		split_remaining;
	int			split_iov_idx;
	size_t			split_iov_off;
	struct iovec		child_iovs[BDEV_IO_CHILD_IOVS];
	TAILQ_ENTRY(bdev_io)	link;
};

struct bdev_io {
	struct bdev		*bdev;
	enum bdev_io_type	type;
	/* READ/WRITE: the data. Other types: NULL/0. */
	struct iovec		*iovs;
	int			iovcnt;
	uint64_t		offset_blocks;
	uint64_t		num_blocks;
	struct bdev_io_internal	internal;	/* core-private */
	uint8_t			driver_ctx[] __attribute__((aligned(16)));
};

static inline void *
bdev_io_get_driver_ctx(struct bdev_io *bdev_io)
{
	return bdev_io->driver_ctx;
}

static inline struct bdev_io *
bdev_io_from_ctx(void *ctx)
{
	return VHD_CONTAINER_OF(ctx, struct bdev_io, driver_ctx);
}

/*
 * Per-type counters (ticks from util_get_ticks()). ops and bytes are exact.
 * Latency is sampled (one I/O in BDEV_LAT_SAMPLE per channel, the first one
 * included: a clock read costs ~90 ns on this class of VM); bdev_get_iostat()
 * scales lat_sum to all ops. min/max are over the samples.
 */
#define BDEV_LAT_SAMPLE 64
struct bdev_io_type_stat {
	uint64_t	ops;
	uint64_t	bytes;
	uint64_t	lat_sum;
	uint64_t	lat_min;	/* UINT64_MAX when no op */
	uint64_t	lat_max;
	uint64_t	lat_samples;
};

struct bdev_io_stat {
	struct bdev_io_type_stat	type[BDEV_NUM_IO_TYPES];
	uint64_t			errors[6];	/* indexed by -status (FAILED..NOSPACE) */
};

/* ---- registration ---- */

/*
 * Make the bdev visible. App thread. Generates a UUID if none, adds the UUID
 * string as an alias. 0, -EINVAL (bad geometry/fn table), -EEXIST (name or
 * UUID taken), -ENOMEM.
 */
int bdev_register(struct bdev *bdev);

typedef void (*bdev_unregister_cb)(void *cb_arg, int rc);
/*
 * Start removal: new opens fail with -EBUSY, new I/O with -EBADF, every open
 * descriptor gets BDEV_EVENT_REMOVE on its thread. Once all are closed and
 * every channel is gone, destruct runs and then cb(cb_arg, 0) on the calling
 * thread. cb may be NULL. Calling it twice: cb(-EBUSY).
 */
void bdev_unregister(struct bdev *bdev, bdev_unregister_cb cb, void *cb_arg);
/*
 * Unregister the bdev `name` (or alias) if it belongs to `module`: 0 (cb will run),
 * -ENODEV (no such bdev or another module's). App thread.
 */
int bdev_unregister_by_name(const char *name, struct bdev_module *module, bdev_unregister_cb cb,
			    void *cb_arg);
/* For a destruct that returned 1. Any thread. */
void bdev_destruct_done(struct bdev *bdev, int rc);

/* Add / remove an alias: 0, -EEXIST, -ENOENT, -EINVAL, -ENOMEM. App thread. */
int bdev_alias_add(struct bdev *bdev, const char *alias);
int bdev_alias_del(struct bdev *bdev, const char *alias);

/*
 * Change the size and send BDEV_EVENT_RESIZE to every descriptor. Shrinking
 * while any descriptor is open: -EBUSY. 0 or -errno. App thread.
 */
int bdev_notify_blockcnt_change(struct bdev *bdev, uint64_t blockcnt);

/* Walk the modules (app thread). */
struct bdev_module *bdev_module_first(void);
struct bdev_module *bdev_module_next(struct bdev_module *m);

/* ---- I/O completion (channel thread) ---- */

void bdev_io_complete(struct bdev_io *bdev_io, enum bdev_io_status status);
/* 0 -> SUCCESS, -EIO -> MEDIUM_ERROR, -ENOSPC -> NOSPACE, -ECANCELED -> ABORTED, else FAILED. */
void bdev_io_complete_errno(struct bdev_io *bdev_io, int neg_errno);
/* Status with an explicit errno. */
void bdev_io_complete_status(struct bdev_io *bdev_io, enum bdev_io_status status, int neg_errno);

/* Number of bytes the I/O covers. */
static inline uint64_t
bdev_io_num_bytes(const struct bdev_io *bdev_io)
{
	return bdev_io->num_blocks * bdev_io->bdev->blocklen;
}

/*
 * Virtual bdevs: submit the same operation (type, range, iovecs) on a base
 * descriptor/channel. Same contract as the bdev.h submit functions (0 or
 * -errno; -ENOMEM: park with bdev_queue_io_wait on the base channel).
 */
int bdev_io_forward(struct bdev_io *bdev_io, struct bdev_desc *desc, struct io_channel *ch,
		    bdev_io_completion_cb cb, void *cb_arg);
/* Complete `bdev_io` with the status and errno of a finished base I/O. */
void bdev_io_complete_like(struct bdev_io *bdev_io, const struct bdev_io *base_io);

/* ---- statistics and helpers used by the RPC layer and virtual bdevs ---- */

typedef void (*bdev_get_iostat_cb)(struct bdev *bdev, struct bdev_io_stat *stat, void *cb_arg,
				   int rc);
/*
 * Sum the per-channel counters of every thread plus those of destroyed
 * channels. stat is the caller's; cb runs on the calling thread.
 * reset: 0 none, 1 all counters, 2 only min/max (after reading).
 */
void bdev_get_iostat(struct bdev *bdev, struct bdev_io_stat *stat, int reset,
		     bdev_get_iostat_cb cb, void *cb_arg);
/*
 * Per-channel counters: each(thread, stat, cb_arg) runs on every thread that
 * has a channel of the bdev, one after another (stat is a scaled copy, valid
 * during the call); then done(bdev, cb_arg, rc) on the calling thread.
 */
void bdev_get_iostat_per_channel(struct bdev *bdev,
				 void (*each)(struct thread *thread, const struct bdev_io_stat *stat,
					      void *cb_arg),
				 void (*done)(struct bdev *bdev, void *cb_arg, int rc), void *cb_arg);
const char *bdev_io_type_name(enum bdev_io_type type);
const char *bdev_get_claim_owner(const struct bdev *bdev);
/* Number of open descriptors (app thread, for tests and RPC). */
uint32_t bdev_get_desc_count(struct bdev *bdev);
/* Copy `len` bytes between iovecs and a flat buffer, starting `off` bytes into the iovecs. */
void bdev_iovs_to_buf(void *buf, const struct iovec *iovs, int iovcnt, size_t off, size_t len);
void bdev_buf_to_iovs(const struct iovec *iovs, int iovcnt, size_t off, const void *buf,
		      size_t len);
void bdev_iovs_zero(const struct iovec *iovs, int iovcnt);
/*
 * RPC glue shared by the backends' *_rpc.c (lib/bdev/bdev_rpc.c).
 * bdev_rpc_delete_done is a bdev_unregister_cb whose cb_arg is the
 * struct rpc_request: it sends `true`, or -errno with strerror text.
 */
void bdev_rpc_delete_done(void *req, int rc);
/* Parse an optional UUID string (NULL: leaves *uuid zero). 0 or -EINVAL. */
int bdev_rpc_parse_uuid(const char *str, struct util_uuid *uuid);

/* bdev_ios per channel, allocated at channel creation (default BDEV_IO_POOL_SIZE). */
#define BDEV_IO_POOL_SIZE 1024
/* Applies to channels created afterwards (tests, bench). 0 restores the default. */
void bdev_set_io_pool_size(uint32_t count);

#endif /* VHOSTD_BDEV_MODULE_H */
