/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to lib/bdev: opening and sizing files/block devices for aio and uring. */
#ifndef VHOSTD_BDEV_FILE_H
#define VHOSTD_BDEV_FILE_H

#include <stdbool.h>
#include <stdint.h>

struct bdev;

struct bdev_file {
	int		fd;		/* -1 when closed */
	bool		is_blockdev;
	bool		direct;		/* opened with O_DIRECT */
	bool		readonly;
	bool		block_size_override;	/* block size given by the user */
	uint32_t	block_size;	/* the bdev's logical block size */
	uint32_t	detected_block_size;	/* 0 if unknown (regular file) */
	uint32_t	dio_align;	/* buffer alignment O_DIRECT needs (0: none) */
	uint64_t	size;		/* bytes */
};

/*
 * Open `filename` read-write (or read-only) with O_DIRECT (falling back to
 * buffered I/O with a warning where the filesystem refuses O_DIRECT), find
 * its size and logical block size. block_size 0 = detect: the device's
 * logical block size (BLKSSZGET), or 512 for a regular file (the kernel
 * cannot tell; pass block_size for 4Kn images). A given block_size must be a
 * power of two >= 512 and >= the detected size. The size must be a non-zero
 * multiple of the block size. 0, or -ENOENT/-EACCES/... (open), -EINVAL
 * (block size, size, not a file or block device). On failure nothing is open.
 */
int bdev_file_open(struct bdev_file *f, const char *filename, uint32_t block_size, bool readonly,
		   const char *log_name);
void bdev_file_close(struct bdev_file *f);
/* Current size in bytes: 0 or -errno. */
int bdev_file_get_size(struct bdev_file *f, uint64_t *size);
/* Synchronous discard (unmap) and zero-out of a byte range: 0 or -errno. */
int bdev_file_discard(struct bdev_file *f, uint64_t off, uint64_t len);
int bdev_file_zero(struct bdev_file *f, uint64_t off, uint64_t len);
/* Set the bdev's geometry, write cache, alignment and unmap semantics from an open file. */
void bdev_file_fill_bdev(struct bdev *bdev, const struct bdev_file *f);
/* Re-read the size and announce a new block count (RESIZE): 0, -EINVAL (empty) or -errno. */
int bdev_file_rescan(struct bdev *bdev, struct bdev_file *f);

#endif /* VHOSTD_BDEV_FILE_H */
