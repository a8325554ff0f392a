/* SPDX-License-Identifier: BSD-3-Clause */
/* Small helpers shared by every library. */
#ifndef VHOSTD_UTIL_H
#define VHOSTD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define VHD_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define VHD_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))
#define VHD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VHD_MAX(a, b) ((a) > (b) ? (a) : (b))
#define VHD_LIKELY(x) __builtin_expect(!!(x), 1)
#define VHD_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define VHD_ALIGN_UP(v, a) (((v) + (a) - 1) & ~((__typeof__(v))(a) - 1))
#define VHD_IS_POW2(v) ((v) != 0 && (((v) & ((v) - 1)) == 0))
#define VHD_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)

/* Monotonic clock. */
uint64_t util_get_ticks(void);		/* ns resolution ticks */
uint64_t util_get_ticks_hz(void);	/* ticks per second */
uint64_t util_now_us(void);

/* strtoull with full validation: 0 or -EINVAL/-ERANGE. Accepts 0x prefix. */
int util_parse_u64(const char *s, uint64_t *out);

/* Name valid for a controller/bdev name that becomes a path component:
 * [A-Za-z0-9._-], 1..max_len chars, not "." or "..". */
bool util_name_is_safe(const char *name, size_t max_len);

/* UUID as 16 bytes; string form 36 chars + NUL. */
struct util_uuid {
	uint8_t u[16];
};
void util_uuid_generate(struct util_uuid *uuid);
int util_uuid_parse(const char *str, struct util_uuid *uuid);	/* 0 or -EINVAL */
void util_uuid_fmt(char out[37], const struct util_uuid *uuid);
bool util_uuid_is_null(const struct util_uuid *uuid);

/* Write `len` bytes to `path` atomically: temp file + fsync + rename + dir fsync. */
int util_file_write_atomic(const char *path, const void *buf, size_t len, int mode);
/* Read a whole file (NUL-terminated, caller frees); max_len bounds it. */
int util_file_read(const char *path, char **buf, size_t *len, size_t max_len);

#endif /* VHOSTD_UTIL_H */
