/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhd-tool: the one static helper of the e2e guest (also run on the host).
 *
 *   vhd-tool insmod FILE[:PARAMS]...    finit_module() each file in order, in
 *                                       one process (EEXIST is not an error);
 *                                       PARAMS like "scan=sync" (commas: spaces)
 *   vhd-tool write  DEV OFF LEN SEED [BS]  write the pattern with O_DIRECT
 *   vhd-tool verify DEV OFF LEN SEED [BS]  read back with O_DIRECT and compare
 *   vhd-tool loop   DEV OFF LEN SEED     write+verify forever (the kill test)
 *   vhd-tool stream DEV OFF NBLK BS W STOPOFF
 *                         writer W: sequence-numbered blocks 0, 1, 2, ... to
 *                         block seq % NBLK of [OFF, OFF + NBLK * BS), O_DIRECT,
 *                         fdatasync every 8 blocks, until the 8 bytes at
 *                         STOPOFF read "VHD-STOP"; prints "VHD-STREAM-END: W OFF
 *                         NBLK BS COUNT" (COUNT = blocks acknowledged)
 *   vhd-tool stream-verify DEV OFF NBLK BS W COUNT
 *                         every block holds the last sequence number written
 *                         to it (or zeroes if never written), untorn
 *
 * The pattern is a function of (seed, absolute byte offset) only, so the host
 * can check any range of the backing file without knowing how it was written.
 * SEED 0 means all zeroes (what write-zeroes leaves behind).
 * VHD_TOOL_BUFFERED=1 in the environment drops O_DIRECT (host files).
 * Exit 0 on success, 1 on a mismatch or I/O error (with one line saying which).
 *
 * A stream block: header {magic, writer, seq, block number, checksum} then the
 * pattern of seed (seq << 8 | W) + 1; the checksum (FNV-1a over the block with
 * the checksum field zero) tells a torn block from a stale or lost one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define VHD_TOOL_ALIGN	4096

static uint64_t
pattern_word(uint64_t seed, uint64_t off)
{
	uint64_t z;

	if (seed == 0) {
		return 0;
	}
	z = (seed * 0x9e3779b97f4a7c15ULL) ^ off;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
pattern_fill(uint64_t *buf, uint64_t off, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len / 8; i++) {
		buf[i] = pattern_word(seed, off + i * 8);
	}
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0') {
		fprintf(stderr, "vhd-tool: bad number '%s'\n", s);
		return -EINVAL;
	}
	return 0;
}

static int
open_dev(const char *path, int flags)
{
	const char *buffered = getenv("VHD_TOOL_BUFFERED");
	int fd;

	if (buffered == NULL || strcmp(buffered, "1") != 0) {
		flags |= O_DIRECT;
	}
	fd = open(path, flags);
	if (fd < 0) {
		fprintf(stderr, "vhd-tool: open %s: %s\n", path, strerror(errno));
	}
	return fd;
}

static int
do_insmod(int argc, char **argv)
{
	int i, fd, failed = 0;
	char *params, *c;

	for (i = 0; i < argc; i++) {
		params = strchr(argv[i], ':');
		if (params != NULL) {
			*params++ = '\0';
			for (c = params; *c != '\0'; c++) {
				if (*c == ',') {
					*c = ' ';
				}
			}
		} else {
			params = "";
		}
		fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "vhd-tool: open %s: %s\n", argv[i], strerror(errno));
			failed = 1;
			continue;
		}
		if (syscall(SYS_finit_module, fd, params, 0) != 0 && errno != EEXIST) {
			fprintf(stderr, "vhd-tool: insmod %s: %s\n", argv[i], strerror(errno));
			failed = 1;
		}
		close(fd);
	}
	return failed;
}

/* One pass over [off, off + len) in chunks of bs; write or verify. */
static int
pattern_pass(int fd, const char *dev, uint64_t off, uint64_t len, uint64_t seed,
	     uint64_t bs, int write_it, void *buf, void *want)
{
	uint64_t done = 0, n, i;
	ssize_t rc;

	while (done < len) {
		n = len - done < bs ? len - done : bs;
		if (write_it) {
			pattern_fill(buf, off + done, n, seed);
			rc = pwrite(fd, buf, n, off + done);
		} else {
			rc = pread(fd, buf, n, off + done);
		}
		if (rc < 0) {
			fprintf(stderr, "vhd-tool: %s %s at %" PRIu64 " len %" PRIu64 ": %s\n",
				write_it ? "write" : "read", dev, off + done, n, strerror(errno));
			return 1;
		}
		if ((uint64_t)rc != n) {
			fprintf(stderr, "vhd-tool: short %s %s at %" PRIu64 ": %zd of %" PRIu64 "\n",
				write_it ? "write" : "read", dev, off + done, rc, n);
			return 1;
		}
		if (!write_it) {
			pattern_fill(want, off + done, n, seed);
			if (memcmp(buf, want, n) != 0) {
				for (i = 0; i < n / 8; i++) {
					if (((uint64_t *)buf)[i] != ((uint64_t *)want)[i]) {
						break;
					}
				}
				fprintf(stderr, "vhd-tool: MISMATCH %s at byte %" PRIu64
					" (seed %" PRIu64 "): got %016" PRIx64 " want %016" PRIx64 "\n",
					dev, off + done + i * 8, seed, ((uint64_t *)buf)[i],
					((uint64_t *)want)[i]);
				return 1;
			}
		}
		done += n;
	}
	return 0;
}

static int
do_pattern(const char *mode, int argc, char **argv)
{
	uint64_t off, len, seed, bs = 1024 * 1024;
	int write_it = strcmp(mode, "verify") != 0;
	int loop = strcmp(mode, "loop") == 0;
	void *buf = NULL, *want = NULL;
	int fd, rc = 1;
	uint64_t iter = 0;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: vhd-tool %s DEV OFF LEN SEED [BS]\n", mode);
		return 2;
	}
	if (parse_u64(argv[1], &off) || parse_u64(argv[2], &len) || parse_u64(argv[3], &seed) ||
	    (argc == 5 && parse_u64(argv[4], &bs))) {
		return 2;
	}
	if (bs == 0 || bs % 8 != 0 || len % 8 != 0) {
		fprintf(stderr, "vhd-tool: BS and LEN must be multiples of 8\n");
		return 2;
	}
	if (posix_memalign(&buf, VHD_TOOL_ALIGN, bs) != 0 ||
	    posix_memalign(&want, VHD_TOOL_ALIGN, bs) != 0) {
		fprintf(stderr, "vhd-tool: out of memory\n");
		goto out;
	}
	fd = open_dev(argv[0], write_it ? O_RDWR : O_RDONLY);
	if (fd < 0) {
		goto out;
	}
	if (!loop) {
		rc = pattern_pass(fd, argv[0], off, len, seed, bs, write_it, buf, want);
		if (rc == 0 && write_it && fdatasync(fd) != 0) {
			fprintf(stderr, "vhd-tool: fdatasync %s: %s\n", argv[0], strerror(errno));
			rc = 1;
		}
	} else {
		for (;;) {
			rc = pattern_pass(fd, argv[0], off, len, seed + iter, bs, 1, buf, want);
			rc = rc ? rc : pattern_pass(fd, argv[0], off, len, seed + iter, bs, 0,
						    buf, want);
			if (rc != 0) {
				break;
			}
			if (iter++ == 0) {
				printf("VHD-IO-RUNNING\n");
				fflush(stdout);
			}
		}
	}
	close(fd);
out:
	free(buf);
	free(want);
	return rc;
}

#define STREAM_MAGIC	0x314d525453444856ULL	/* "VHDSTRM1" */
#define STREAM_HDR	5
#define STREAM_STOP	"VHD-STOP"

static uint64_t
stream_csum(const uint64_t *blk, uint64_t bs)
{
	const unsigned char *p = (const unsigned char *)blk;
	uint64_t h = 0xcbf29ce484222325ULL, i;

	for (i = 0; i < bs; i++) {
		/* The checksum field itself counts as zero. */
		h ^= (i >= 32 && i < 40) ? 0 : p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
stream_fill(uint64_t *blk, uint64_t bs, uint64_t off, uint64_t w, uint64_t seq, uint64_t bno)
{
	pattern_fill(blk, off, bs, ((seq << 8) | w) + 1);
	blk[0] = STREAM_MAGIC;
	blk[1] = w;
	blk[2] = seq;
	blk[3] = bno;
	blk[4] = stream_csum(blk, bs);
}

static int
stream_args(int argc, char **argv, uint64_t *v)
{
	int i;

	if (argc != 6) {
		return -EINVAL;
	}
	for (i = 1; i < 6; i++) {
		if (parse_u64(argv[i], &v[i - 1]) != 0) {
			return -EINVAL;
		}
	}
	/* v: OFF NBLK BS W (STOPOFF | COUNT) */
	if (v[1] == 0 || v[2] < 512 || v[2] % 512 != 0 || v[3] > 255) {
		fprintf(stderr, "vhd-tool: NBLK > 0, BS a multiple of 512, W < 256\n");
		return -EINVAL;
	}
	return 0;
}

static int
stream_stop_seen(int fd, uint64_t stopoff, void *buf)
{
	if (pread(fd, buf, VHD_TOOL_ALIGN, stopoff) != VHD_TOOL_ALIGN) {
		fprintf(stderr, "vhd-tool: reading the stop marker: %s\n", strerror(errno));
		return -EIO;
	}
	return memcmp(buf, STREAM_STOP, strlen(STREAM_STOP)) == 0;
}

static int
do_stream(const char *dev, int argc, char **argv)
{
	uint64_t v[5], seq, bno;
	void *buf = NULL, *mark = NULL;
	int fd, rc = 1, stop;

	if (stream_args(argc, argv, v) != 0) {
		fprintf(stderr, "usage: vhd-tool stream DEV OFF NBLK BS W STOPOFF\n");
		return 2;
	}
	if (posix_memalign(&buf, VHD_TOOL_ALIGN, v[2]) != 0 ||
	    posix_memalign(&mark, VHD_TOOL_ALIGN, VHD_TOOL_ALIGN) != 0) {
		goto out;
	}
	fd = open_dev(dev, O_RDWR);
	if (fd < 0) {
		goto out;
	}
	for (seq = 0;; seq++) {
		if (seq % 16 == 0) {
			stop = stream_stop_seen(fd, v[4], mark);
			if (stop < 0) {
				break;
			}
			if (stop) {
				rc = 0;
				break;
			}
		}
		bno = seq % v[1];
		stream_fill(buf, v[2], v[0] + bno * v[2], v[3], seq, bno);
		if (pwrite(fd, buf, v[2], v[0] + bno * v[2]) != (ssize_t)v[2]) {
			fprintf(stderr, "vhd-tool: stream %" PRIu64 ": write of seq %" PRIu64
				" failed: %s\n", v[3], seq, strerror(errno));
			break;
		}
		if (seq % 8 == 7 && fdatasync(fd) != 0) {
			fprintf(stderr, "vhd-tool: stream %" PRIu64 ": fdatasync after seq %"
				PRIu64 " failed: %s\n", v[3], seq, strerror(errno));
			seq++;
			break;
		}
		if (seq == 0) {
			fprintf(stderr, "VHD-STREAM-RUNNING %" PRIu64 "\n", v[3]);
		} else if (seq % 4 == 0) {
			fprintf(stderr, "VHD-STREAM-PROGRESS %" PRIu64 " %" PRIu64 "\n", v[3], seq);
		}
	}
	if (rc == 0 && fdatasync(fd) != 0) {
		fprintf(stderr, "vhd-tool: final fdatasync: %s\n", strerror(errno));
		rc = 1;
	}
	/* seq blocks were acknowledged (0 .. seq - 1), also after a failure. */
	printf("VHD-STREAM-END: %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
	       v[3], v[0], v[1], v[2], seq);
	close(fd);
out:
	free(buf);
	free(mark);
	return rc;
}

static int
do_stream_verify(const char *dev, int argc, char **argv)
{
	uint64_t v[5], bno, seq, bad = 0, torn = 0, stale = 0, off;
	uint64_t *buf = NULL, *want = NULL;
	void *p;
	int fd, rc = 1;

	if (stream_args(argc, argv, v) != 0) {
		fprintf(stderr, "usage: vhd-tool stream-verify DEV OFF NBLK BS W COUNT\n");
		return 2;
	}
	if (posix_memalign(&p, VHD_TOOL_ALIGN, v[2]) != 0) {
		goto out;
	}
	buf = p;
	if (posix_memalign(&p, VHD_TOOL_ALIGN, v[2]) != 0) {
		goto out;
	}
	want = p;
	fd = open_dev(dev, O_RDONLY);
	if (fd < 0) {
		goto out;
	}
	for (bno = 0; bno < v[1]; bno++) {
		off = v[0] + bno * v[2];
		if (pread(fd, buf, v[2], off) != (ssize_t)v[2]) {
			fprintf(stderr, "vhd-tool: read %s at %" PRIu64 ": %s\n", dev, off,
				strerror(errno));
			bad++;
			break;
		}
		if (bno < v[4]) {
			/* The last seq with seq % NBLK == bno and seq < COUNT. */
			seq = bno + (v[4] - 1 - bno) / v[1] * v[1];
			stream_fill(want, v[2], off, v[3], seq, bno);
		} else {
			seq = UINT64_MAX;
			memset(want, 0, v[2]);
		}
		if (memcmp(buf, want, v[2]) == 0) {
			continue;
		}
		bad++;
		if (buf[0] == STREAM_MAGIC && buf[4] == stream_csum(buf, v[2])) {
			stale++;
		} else {
			torn++;
		}
		if (bad <= 5) {
			fprintf(stderr, "vhd-tool: stream %" PRIu64 " block %" PRIu64 " (byte %"
				PRIu64 "): want seq %" PRId64 ", holds %s seq %" PRIu64
				" writer %" PRIu64 "\n", v[3], bno, off, (int64_t)seq,
				buf[0] != STREAM_MAGIC ? "no header," :
				buf[4] != stream_csum(buf, v[2]) ? "a torn block," : "intact",
				buf[2], buf[1]);
		}
	}
	close(fd);
	if (bad == 0) {
		rc = 0;
	} else {
		fprintf(stderr, "vhd-tool: stream %" PRIu64 ": %" PRIu64 " of %" PRIu64
			" blocks wrong (%" PRIu64 " stale or lost, %" PRIu64 " torn)\n",
			v[3], bad, v[1], stale, torn);
	}
out:
	free(buf);
	free(want);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: vhd-tool insmod|write|verify|loop|stream|stream-verify ...\n");
		return 2;
	}
	if (strcmp(argv[1], "insmod") == 0) {
		return do_insmod(argc - 2, argv + 2);
	}
	if (strcmp(argv[1], "write") == 0 || strcmp(argv[1], "verify") == 0 ||
	    strcmp(argv[1], "loop") == 0) {
		return do_pattern(argv[1], argc - 2, argv + 2);
	}
	if (argc >= 3 && strcmp(argv[1], "stream") == 0) {
		return do_stream(argv[2], argc - 2, argv + 2);
	}
	if (argc >= 3 && strcmp(argv[1], "stream-verify") == 0) {
		return do_stream_verify(argv[2], argc - 2, argv + 2);
	}
	fprintf(stderr, "vhd-tool: unknown command '%s'\n", argv[1]);
	return 2;
}
