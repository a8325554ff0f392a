/* SPDX-License-Identifier: BSD-3-Clause */
/* Clock, number parsing, names, UUIDs and whole-file I/O. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vhostd/log.h"
#include "vhostd/util.h"

VHD_LOG_REGISTER_COMPONENT(util)

uint64_t
util_get_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t
util_get_ticks_hz(void)
{
	return 1000000000ULL;
}

uint64_t
util_now_us(void)
{
	return util_get_ticks() / 1000;
}

int
util_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	const char *p = s;
	char *end;
	int base = 10;

	if (s == NULL || out == NULL) {
		return -EINVAL;
	}
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	/* strtoull alone would accept spaces, signs and an empty "0x". */
	if (!(base == 16 ? isxdigit((unsigned char)p[0]) : isdigit((unsigned char)p[0]))) {
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(p, &end, base);
	if (errno == ERANGE) {
		return -ERANGE;
	}
	if (errno != 0 || *end != '\0') {
		return -EINVAL;
	}
	*out = v;
	return 0;
}

bool
util_name_is_safe(const char *name, size_t max_len)
{
	size_t i;

	if (name == NULL || name[0] == '\0') {
		return false;
	}
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (i >= max_len) {
			return false;
		}
		if (!isalnum((unsigned char)c) && c != '.' && c != '_' && c != '-') {
			return false;
		}
	}
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int
util_random_bytes(void *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = getrandom((char *)buf + off, len - off, 0);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

void
util_uuid_generate(struct util_uuid *uuid)
{
	if (util_random_bytes(uuid->u, sizeof(uuid->u)) != 0) {
		/* getrandom cannot fail on a supported kernel; still never return a fixed UUID. */
		uint64_t t = util_get_ticks() ^ ((uint64_t)getpid() << 32);
		size_t i;

		for (i = 0; i < sizeof(uuid->u); i++) {
			t = t * 6364136223846793005ULL + 1442695040888963407ULL;
			uuid->u[i] = (uint8_t)(t >> 56);
		}
	}
	/* RFC 4122 version 4 (random), variant 10xx. */
	uuid->u[6] = (uuid->u[6] & 0x0f) | 0x40;
	uuid->u[8] = (uuid->u[8] & 0x3f) | 0x80;
}

static int
util_hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int
util_uuid_parse(const char *str, struct util_uuid *uuid)
{
	struct util_uuid tmp;
	size_t i, b = 0;

	if (str == NULL || uuid == NULL || strlen(str) != 36) {
		return -EINVAL;
	}
	for (i = 0; i < 36;) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (str[i] != '-') {
				return -EINVAL;
			}
			i++;
			continue;
		}
		hi = util_hexval(str[i]);
		lo = util_hexval(str[i + 1]);
		if (hi < 0 || lo < 0) {
			return -EINVAL;
		}
		tmp.u[b++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	*uuid = tmp;
	return 0;
}

void
util_uuid_fmt(char out[37], const struct util_uuid *uuid)
{
	const uint8_t *u = uuid->u;

	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
		 u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
}

bool
util_uuid_is_null(const struct util_uuid *uuid)
{
	size_t i;

	for (i = 0; i < sizeof(uuid->u); i++) {
		if (uuid->u[i] != 0) {
			return false;
		}
	}
	return true;
}

static int
util_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory holding `path` so the rename itself is durable. */
static int
util_fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc = 0;

	if (slash == NULL) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		if ((size_t)(slash - path) >= sizeof(dir)) {
			return -ENAMETOOLONG;
		}
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	if (fsync(fd) != 0) {
		rc = -errno;
	}
	close(fd);
	return rc;
}

int
util_file_write_atomic(const char *path, const void *buf, size_t len, int mode)
{
	char tmp[PATH_MAX];
	int fd, rc;

	if (path == NULL || path[0] == '\0' || (buf == NULL && len > 0)) {
		return -EINVAL;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		return -ENAMETOOLONG;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		VHD_ERRLOG("%s: cannot create temporary file: %s\n", path, strerror(-rc));
		return rc;
	}
	if (fchmod(fd, (mode_t)mode) != 0) {
		rc = -errno;
		goto err_unlink;
	}
	rc = util_write_all(fd, buf, len);
	if (rc != 0) {
		goto err_unlink;
	}
	if (fsync(fd) != 0) {
		rc = -errno;
		goto err_unlink;
	}
	if (close(fd) != 0) {
		rc = -errno;
		fd = -1;
		goto err_unlink;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = -errno;
		goto err_unlink;
	}
	return util_fsync_parent(path);

err_unlink:
	VHD_ERRLOG("%s: atomic write failed: %s\n", path, strerror(-rc));
	if (fd >= 0) {
		close(fd);
	}
	unlink(tmp);
	return rc;
}

int
util_file_read(const char *path, char **buf, size_t *len, size_t max_len)
{
	size_t cap = 4096, off = 0;
	char *data, *tmp;
	ssize_t n;
	int fd, rc;

	if (path == NULL || buf == NULL) {
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	data = malloc(cap + 1);
	if (data == NULL) {
		rc = -ENOMEM;
		goto err_close;
	}
	for (;;) {
		if (off == cap) {
			if (cap > max_len) {
				rc = -EFBIG;
				goto err_free;
			}
			cap *= 2;
			tmp = realloc(data, cap + 1);
			if (tmp == NULL) {
				rc = -ENOMEM;
				goto err_free;
			}
			data = tmp;
		}
		n = read(fd, data + off, cap - off);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			rc = -errno;
			goto err_free;
		}
		if (n == 0) {
			break;
		}
		off += (size_t)n;
		if (off > max_len) {
			rc = -EFBIG;
			goto err_free;
		}
	}
	close(fd);
	data[off] = '\0';
	*buf = data;
	if (len != NULL) {
		*len = off;
	}
	return 0;

err_free:
	free(data);
err_close:
	close(fd);
	return rc;
}
