/* SPDX-License-Identifier: BSD-3-Clause */
/* File and block-device helpers shared by the aio and uring backends. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhostd/bdev_module.h"
#include "vhostd/log.h"
#include "vhostd/util.h"

#include "bdev_file.h"

int
bdev_file_get_size(struct bdev_file *f, uint64_t *size)
{
	struct stat st;

	if (f->is_blockdev) {
		if (ioctl(f->fd, BLKGETSIZE64, size) != 0) {
			return -errno;
		}
		return 0;
	}
	if (fstat(f->fd, &st) != 0) {
		return -errno;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

static uint32_t
bdev_file_dio_align(struct bdev_file *f)
{
#ifdef STATX_DIOALIGN
	struct statx stx;

	if (statx(f->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_mem_align != 0) {
		return VHD_MAX(stx.stx_dio_mem_align, stx.stx_dio_offset_align);
	}
#endif
	return 512;
}

int
bdev_file_open(struct bdev_file *f, const char *filename, uint32_t block_size, bool readonly,
	       const char *log_name)
{
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;
	int rc;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->readonly = readonly;
	if (filename == NULL || filename[0] == '\0') {
		return -EINVAL;
	}
	if (block_size != 0 && (!VHD_IS_POW2(block_size) || block_size < 512)) {
		VHD_ERRLOG("%s: block_size %u is not a power of two >= 512\n", log_name, block_size);
		return -EINVAL;
	}
	f->fd = open(filename, flags | O_DIRECT);
	if (f->fd >= 0) {
		f->direct = true;
	} else if (errno == EINVAL) {
		VHD_WARNLOG("%s: %s does not support O_DIRECT: using buffered I/O\n", log_name,
			    filename);
		f->fd = open(filename, flags);
	}
	if (f->fd < 0) {
		rc = -errno;
		VHD_ERRLOG("%s: cannot open %s: %s\n", log_name, filename, strerror(-rc));
		return rc;
	}
	if (fstat(f->fd, &st) != 0) {
		rc = -errno;
		goto err_close;
	}
	if (S_ISBLK(st.st_mode)) {
		int ssz = 0;

		f->is_blockdev = true;
		if (ioctl(f->fd, BLKSSZGET, &ssz) == 0 && ssz > 0) {
			f->detected_block_size = (uint32_t)ssz;
		}
	} else if (!S_ISREG(st.st_mode)) {
		VHD_ERRLOG("%s: %s is neither a regular file nor a block device\n", log_name,
			   filename);
		rc = -EINVAL;
		goto err_close;
	}
	if (block_size == 0) {
		block_size = f->detected_block_size ? f->detected_block_size : 512;
	} else {
		f->block_size_override = true;
		if (block_size < f->detected_block_size) {
			VHD_ERRLOG("%s: block_size %u is smaller than the device's %u\n", log_name,
				   block_size, f->detected_block_size);
			rc = -EINVAL;
			goto err_close;
		}
	}
	f->block_size = block_size;
	f->dio_align = f->direct ? bdev_file_dio_align(f) : 0;
	if (f->is_blockdev && f->detected_block_size > f->dio_align && f->direct) {
		f->dio_align = f->detected_block_size;
	}
	rc = bdev_file_get_size(f, &f->size);
	if (rc != 0) {
		goto err_close;
	}
	if (f->size == 0 || f->size % block_size != 0) {
		VHD_ERRLOG("%s: size of %s (%llu bytes) is not a non-zero multiple of %u\n",
			   log_name, filename, (unsigned long long)f->size, block_size);
		rc = -EINVAL;
		goto err_close;
	}
	return 0;

err_close:
	close(f->fd);
	f->fd = -1;
	return rc;
}

void
bdev_file_close(struct bdev_file *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
}

int
bdev_file_discard(struct bdev_file *f, uint64_t off, uint64_t len)
{
	if (f->is_blockdev) {
		uint64_t range[2] = {off, len};

		return ioctl(f->fd, BLKDISCARD, range) == 0 ? 0 : -errno;
	}
	return fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			 (off_t)len) == 0 ? 0 : -errno;
}

int
bdev_file_zero(struct bdev_file *f, uint64_t off, uint64_t len)
{
	if (f->is_blockdev) {
		uint64_t range[2] = {off, len};

		return ioctl(f->fd, BLKZEROOUT, range) == 0 ? 0 : -errno;
	}
	if (fallocate(f->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0) {
		return 0;
	}
	/* Filesystems without ZERO_RANGE: a hole reads back as zeroes too. */
	return fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			 (off_t)len) == 0 ? 0 : -errno;
}

void
bdev_file_fill_bdev(struct bdev *bdev, const struct bdev_file *f)
{
	bdev->blocklen = f->block_size;
	bdev->phys_blocklen = f->detected_block_size;
	bdev->blockcnt = f->size / f->block_size;
	bdev->write_cache = true;
	bdev->required_alignment = f->dio_align;
	/* Punched holes in a file read back as zeroes; a device's discard need not. */
	bdev->unmap_reads_zeroes = !f->is_blockdev;
}

int
bdev_file_rescan(struct bdev *bdev, struct bdev_file *f)
{
	uint64_t size;
	int rc;

	rc = bdev_file_get_size(f, &size);
	if (rc != 0) {
		return rc;
	}
	if (size / bdev->blocklen == 0) {
		return -EINVAL;
	}
	return bdev_notify_blockcnt_change(bdev, size / bdev->blocklen);
}
