/* SPDX-License-Identifier: BSD-3-Clause */
/* CPU sets as used by -m and every cpumask parameter: "0x3", "3", "[0,2-3]". */
#ifndef VHOSTD_CPUSET_H
#define VHOSTD_CPUSET_H

#include <stdbool.h>
#include <stdint.h>

#define CPUSET_MAX_CPUS 1024

struct cpuset {
	uint8_t bits[CPUSET_MAX_CPUS / 8];
};

/* 0, or -EINVAL for malformed input or a cpu >= CPUSET_MAX_CPUS. Empty sets are -EINVAL. */
int cpuset_parse(struct cpuset *set, const char *str);
/* "0x" + lowercase hex (SPDK's vhost format). */
const char *cpuset_fmt_hex(const struct cpuset *set, char *buf, int len);
void cpuset_zero(struct cpuset *set);
void cpuset_set_cpu(struct cpuset *set, uint32_t cpu, bool state);
bool cpuset_get_cpu(const struct cpuset *set, uint32_t cpu);
uint32_t cpuset_count(const struct cpuset *set);
bool cpuset_equal(const struct cpuset *a, const struct cpuset *b);
/* true if every cpu of `sub` is in `set`. */
bool cpuset_is_subset(const struct cpuset *sub, const struct cpuset *set);
void cpuset_and(struct cpuset *dst, const struct cpuset *src);
/* Lowest cpu at or after `from`, or -1. */
int cpuset_next(const struct cpuset *set, int from);

#endif /* VHOSTD_CPUSET_H */
