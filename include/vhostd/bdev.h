/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Block devices, for code that *uses* them (vhost-blk, lib/scsi, bench).
 * Backends implement them through bdev_module.h.
 *
 * Contract (STYLE.md rule 5): every submit function returns 0 and the callback
 * runs exactly once, on the submitting thread, never before the call returns;
 * or it returns -errno and the callback never runs:
 *   -EINVAL  range or argument error (offset+length overflow, past the end,
 *            zero blocks where invalid, iovecs shorter than the length)
 *   -ENOTSUP the bdev does not support this I/O type
 *   -EBADF   the descriptor is read-only (writes) or the bdev is being removed
 *   -ENOMEM  no bdev_io free on this channel: park with bdev_queue_io_wait()
 * Thread: submit on the thread that owns the channel (bdev_get_io_channel()).
 */
#ifndef VHOSTD_BDEV_H
#define VHOSTD_BDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vhostd/thread.h"
#include "vhostd/util.h"

struct bdev;
struct bdev_desc;
struct bdev_io;

enum bdev_io_type {
	BDEV_IO_TYPE_INVALID = 0,
	BDEV_IO_TYPE_READ,
	BDEV_IO_TYPE_WRITE,
	BDEV_IO_TYPE_UNMAP,
	BDEV_IO_TYPE_FLUSH,
	BDEV_IO_TYPE_RESET,
	BDEV_IO_TYPE_WRITE_ZEROES,
	BDEV_NUM_IO_TYPES
};

/* Completion status; the errno (bdev_io_get_errno) carries detail. */
enum bdev_io_status {
	BDEV_IO_STATUS_SUCCESS = 0,
	BDEV_IO_STATUS_FAILED = -1,		/* generic failure, errno says why */
	BDEV_IO_STATUS_MEDIUM_ERROR = -2,	/* unrecovered read/write error (EIO from media) */
	BDEV_IO_STATUS_ABORTED = -3,		/* aborted by reset/removal */
	BDEV_IO_STATUS_MISCOMPARE = -4,		/* data did not match (compare-type I/O) */
	BDEV_IO_STATUS_NOSPACE = -5,		/* thin backend out of space (ENOSPC) */
};

enum bdev_event_type {
	BDEV_EVENT_REMOVE,	/* close the descriptor soon: removal waits for it */
	BDEV_EVENT_RESIZE,	/* bdev_get_num_blocks() has a new value */
};

/* Runs on the thread that opened the descriptor. */
typedef void (*bdev_event_cb)(enum bdev_event_type type, struct bdev *bdev, void *event_ctx);
/* Runs on the submitting thread; the io must be released with bdev_free_io(). */
typedef void (*bdev_io_completion_cb)(struct bdev_io *bdev_io, bool success, void *cb_arg);

/* ---- lookup and properties (any thread; the bdev must be open or the list locked) ---- */

/* By name or alias (UUID string is an alias). NULL if absent. */
struct bdev *bdev_get_by_name(const char *name);
struct bdev *bdev_first(void);
struct bdev *bdev_next(struct bdev *prev);

const char *bdev_get_name(const struct bdev *bdev);
const char *bdev_get_product_name(const struct bdev *bdev);
uint32_t bdev_get_block_size(const struct bdev *bdev);
uint64_t bdev_get_num_blocks(const struct bdev *bdev);
const struct util_uuid *bdev_get_uuid(const struct bdev *bdev);
bool bdev_has_write_cache(const struct bdev *bdev);
/* Blocks; 0 = none. */
uint32_t bdev_get_optimal_io_boundary(const struct bdev *bdev);
/* Largest single I/O in blocks the core accepts without splitting (0 = unlimited). */
uint32_t bdev_get_max_transfer_blocks(const struct bdev *bdev);
/* Physical block size in bytes (>= block size). */
uint32_t bdev_get_physical_block_size(const struct bdev *bdev);
bool bdev_io_type_supported(const struct bdev *bdev, enum bdev_io_type type);
/* Largest unmap / write-zeroes in blocks per request (0 = unlimited). */
uint64_t bdev_get_max_unmap_blocks(const struct bdev *bdev);
uint64_t bdev_get_max_write_zeroes_blocks(const struct bdev *bdev);
/* True if unmapped blocks read back as zeroes. */
bool bdev_unmap_reads_zeroes(const struct bdev *bdev);
bool bdev_is_claimed(const struct bdev *bdev);

/* ---- descriptors ---- */

/*
 * Open by name. event_cb is required (REMOVE must be handled). The descriptor
 * belongs to the calling thread. 0, -ENODEV (no such bdev), -EPERM (write on
 * a claimed bdev by a non-claimer), -EBUSY (being removed).
 */
int bdev_open_ext(const char *name, bool write, bdev_event_cb event_cb, void *event_ctx,
		  struct bdev_desc **desc);
/* Close on the thread that opened it; all channels from it must be put first. */
void bdev_close(struct bdev_desc *desc);
struct bdev *bdev_desc_get_bdev(struct bdev_desc *desc);
/* Exclusive write claim by module `owner`: 0 or -EPERM if already claimed. */
int bdev_desc_claim(struct bdev_desc *desc, const char *owner);

/* This thread's channel for the bdev (refcounted; io_channel_put() it). */
struct io_channel *bdev_get_io_channel(struct bdev_desc *desc);

/* ---- I/O ---- */

int bdev_readv_blocks(struct bdev_desc *desc, struct io_channel *ch, struct iovec *iov, int iovcnt,
		      uint64_t offset_blocks, uint64_t num_blocks, bdev_io_completion_cb cb,
		      void *cb_arg);
int bdev_writev_blocks(struct bdev_desc *desc, struct io_channel *ch, struct iovec *iov,
		       int iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
		       bdev_io_completion_cb cb, void *cb_arg);
int bdev_read_blocks(struct bdev_desc *desc, struct io_channel *ch, void *buf,
		     uint64_t offset_blocks, uint64_t num_blocks, bdev_io_completion_cb cb,
		     void *cb_arg);
int bdev_write_blocks(struct bdev_desc *desc, struct io_channel *ch, void *buf,
		      uint64_t offset_blocks, uint64_t num_blocks, bdev_io_completion_cb cb,
		      void *cb_arg);
int bdev_flush_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
		      uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg);
int bdev_unmap_blocks(struct bdev_desc *desc, struct io_channel *ch, uint64_t offset_blocks,
		      uint64_t num_blocks, bdev_io_completion_cb cb, void *cb_arg);
int bdev_write_zeroes_blocks(struct bdev_desc *desc, struct io_channel *ch,
			     uint64_t offset_blocks, uint64_t num_blocks,
			     bdev_io_completion_cb cb, void *cb_arg);
/* Abort what is outstanding on every channel of the bdev, then complete. */
int bdev_reset(struct bdev_desc *desc, struct io_channel *ch, bdev_io_completion_cb cb,
	       void *cb_arg);

void bdev_free_io(struct bdev_io *bdev_io);
enum bdev_io_status bdev_io_get_status(const struct bdev_io *bdev_io);
/* 0 on success, else -errno (e.g. -EIO, -ETIMEDOUT, -ENOSPC). */
int bdev_io_get_errno(const struct bdev_io *bdev_io);
enum bdev_io_type bdev_io_get_type(const struct bdev_io *bdev_io);

/* Parking after -ENOMEM: cb_fn runs on this thread once a bdev_io is free. */
struct bdev_io_wait_entry {
	struct bdev	*bdev;
	void		(*cb_fn)(void *cb_arg);
	void		*cb_arg;
	struct bdev_io_wait_entry *next;	/* private */
};
int bdev_queue_io_wait(struct bdev *bdev, struct io_channel *ch, struct bdev_io_wait_entry *entry);

#endif /* VHOSTD_BDEV_H */
