/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fake bdev for lib/scsi unit tests and the CDB fuzzer: an in-memory disk
 * implementing the bdev.h functions lib/scsi calls. I/O is either completed
 * by a message on the submitting thread (auto mode) or held until the test
 * calls fake_bdev_complete(). Errors are injected per submission or per
 * completion.
 */
#ifndef FAKE_BDEV_H
#define FAKE_BDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "vhostd/bdev.h"

struct bdev_io {
	struct bdev		*bdev;
	enum bdev_io_type	type;
	struct iovec		*iov;
	int			iovcnt;
	uint64_t		offset_blocks;
	uint64_t		num_blocks;
	bdev_io_completion_cb	cb;
	void			*cb_arg;
	enum bdev_io_status	status;
	int			err;
	struct thread		*thread;
	bool			done;
	TAILQ_ENTRY(bdev_io)	link;
};

struct bdev {
	char			name[64];
	char			product[32];
	uint32_t		block_size;
	uint32_t		phys_block_size;
	uint64_t		num_blocks;
	struct util_uuid	uuid;
	bool			write_cache;
	bool			unmap_zeroes;
	uint32_t		supported;	/* bitmask of 1 << bdev_io_type */
	uint64_t		max_unmap;
	uint64_t		max_write_zeroes;
	uint32_t		max_transfer;
	uint32_t		optimal_boundary;
	uint8_t			*data;		/* num_blocks * block_size bytes */

	bool			hold;		/* keep I/O until fake_bdev_complete() */
	TAILQ_HEAD(, bdev_io)	pending;
	uint32_t		num_pending;

	/* error injection */
	int			submit_rc;	/* next submissions return this ... */
	uint32_t		submit_rc_count;	/* ... this many times */
	enum bdev_io_status	cpl_status;	/* next completions fail with this ... */
	int			cpl_errno;
	uint32_t		cpl_count;	/* ... this many times */
	int			open_rc;

	/* statistics */
	uint32_t		submitted[BDEV_NUM_IO_TYPES];
	uint64_t		last_offset[BDEV_NUM_IO_TYPES];
	uint64_t		last_num[BDEV_NUM_IO_TYPES];
	uint32_t		open_count;
	uint32_t		resets;

	struct bdev_io_wait_entry *io_wait;
	TAILQ_HEAD(, bdev_desc)	descs;
	TAILQ_ENTRY(bdev)	link;
};

struct bdev_desc {
	struct bdev		*bdev;
	bool			write;
	bdev_event_cb		event_cb;
	void			*event_ctx;
	TAILQ_ENTRY(bdev_desc)	link;
};

struct bdev *fake_bdev_create(const char *name, uint32_t block_size, uint64_t num_blocks);
void fake_bdev_destroy(struct bdev *bdev);
/* Complete up to `n` held I/Os (0 = all) in submission order. Returns how many. */
uint32_t fake_bdev_complete(struct bdev *bdev, uint32_t n);
/* Fail the next `count` completions with status/errno. */
void fake_bdev_fail_next(struct bdev *bdev, enum bdev_io_status status, int err, uint32_t count);
/* Make the next `count` submissions return rc. */
void fake_bdev_submit_fail_next(struct bdev *bdev, int rc, uint32_t count);
/* Run parked io_wait entries (after -ENOMEM). */
void fake_bdev_run_io_wait(struct bdev *bdev);
void fake_bdev_resize(struct bdev *bdev, uint64_t num_blocks);
void fake_bdev_hot_remove(struct bdev *bdev);

#endif /* FAKE_BDEV_H */
