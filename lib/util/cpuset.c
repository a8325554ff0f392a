/* SPDX-License-Identifier: BSD-3-Clause */
/* CPU sets: hex masks ("0x3", or "3" as SPDK accepts) and lists ("[0,2-3]"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vhostd/cpuset.h"

void
cpuset_zero(struct cpuset *set)
{
	memset(set, 0, sizeof(*set));
}

void
cpuset_set_cpu(struct cpuset *set, uint32_t cpu, bool state)
{
	if (cpu >= CPUSET_MAX_CPUS) {
		return;
	}
	if (state) {
		set->bits[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
	} else {
		set->bits[cpu / 8] &= (uint8_t)~(1u << (cpu % 8));
	}
}

bool
cpuset_get_cpu(const struct cpuset *set, uint32_t cpu)
{
	if (cpu >= CPUSET_MAX_CPUS) {
		return false;
	}
	return (set->bits[cpu / 8] >> (cpu % 8)) & 1;
}

uint32_t
cpuset_count(const struct cpuset *set)
{
	uint32_t i, n = 0;

	for (i = 0; i < sizeof(set->bits); i++) {
		n += (uint32_t)__builtin_popcount(set->bits[i]);
	}
	return n;
}

bool
cpuset_equal(const struct cpuset *a, const struct cpuset *b)
{
	return memcmp(a->bits, b->bits, sizeof(a->bits)) == 0;
}

bool
cpuset_is_subset(const struct cpuset *sub, const struct cpuset *set)
{
	size_t i;

	for (i = 0; i < sizeof(sub->bits); i++) {
		if ((sub->bits[i] & ~set->bits[i]) != 0) {
			return false;
		}
	}
	return true;
}

void
cpuset_and(struct cpuset *dst, const struct cpuset *src)
{
	size_t i;

	for (i = 0; i < sizeof(dst->bits); i++) {
		dst->bits[i] &= src->bits[i];
	}
}

int
cpuset_next(const struct cpuset *set, int from)
{
	int cpu;

	for (cpu = from < 0 ? 0 : from; cpu < CPUSET_MAX_CPUS; cpu++) {
		if (cpuset_get_cpu(set, (uint32_t)cpu)) {
			return cpu;
		}
	}
	return -1;
}

static int
cpuset_hexval(char c)
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

/* Decimal cpu number below CPUSET_MAX_CPUS; advances *p. */
static int
cpuset_parse_cpu(const char **p, uint32_t *cpu)
{
	const char *s = *p;
	uint32_t v = 0;

	if (*s < '0' || *s > '9') {
		return -EINVAL;
	}
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint32_t)(*s - '0');
		if (v >= CPUSET_MAX_CPUS) {
			return -EINVAL;
		}
		s++;
	}
	*p = s;
	*cpu = v;
	return 0;
}

static void
cpuset_skip_spaces(const char **p)
{
	while (**p == ' ' || **p == '\t') {
		(*p)++;
	}
}

static int
cpuset_parse_list(struct cpuset *set, const char *s)
{
	uint32_t lo, hi, c;

	/* s points after '[' */
	for (;;) {
		cpuset_skip_spaces(&s);
		if (cpuset_parse_cpu(&s, &lo) != 0) {
			return -EINVAL;
		}
		hi = lo;
		cpuset_skip_spaces(&s);
		if (*s == '-') {
			s++;
			cpuset_skip_spaces(&s);
			if (cpuset_parse_cpu(&s, &hi) != 0 || hi < lo) {
				return -EINVAL;
			}
			cpuset_skip_spaces(&s);
		}
		for (c = lo; c <= hi; c++) {
			cpuset_set_cpu(set, c, true);
		}
		if (*s == ',') {
			s++;
			continue;
		}
		if (*s == ']' && s[1] == '\0') {
			return 0;
		}
		return -EINVAL;
	}
}

static int
cpuset_parse_hex(struct cpuset *set, const char *s)
{
	size_t len, i;
	uint32_t cpu;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
	}
	len = strlen(s);
	if (len == 0) {
		return -EINVAL;
	}
	/* Least significant digit last. */
	for (i = 0; i < len; i++) {
		int v = cpuset_hexval(s[len - 1 - i]);
		int b;

		if (v < 0) {
			return -EINVAL;
		}
		for (b = 0; b < 4; b++) {
			if (!(v & (1 << b))) {
				continue;
			}
			cpu = (uint32_t)(i * 4 + (size_t)b);
			if (i >= CPUSET_MAX_CPUS / 4) {
				return -EINVAL;
			}
			cpuset_set_cpu(set, cpu, true);
		}
	}
	return 0;
}

int
cpuset_parse(struct cpuset *set, const char *str)
{
	struct cpuset tmp;
	int rc;

	if (set == NULL || str == NULL) {
		return -EINVAL;
	}
	cpuset_zero(&tmp);
	if (str[0] == '[') {
		rc = cpuset_parse_list(&tmp, str + 1);
	} else {
		rc = cpuset_parse_hex(&tmp, str);
	}
	if (rc != 0) {
		return rc;
	}
	if (cpuset_count(&tmp) == 0) {
		return -EINVAL;
	}
	*set = tmp;
	return 0;
}

const char *
cpuset_fmt_hex(const struct cpuset *set, char *buf, int len)
{
	static const char digits[] = "0123456789abcdef";
	int nib, top = -1, off;

	if (buf == NULL || len <= 0) {
		return buf;
	}
	for (nib = CPUSET_MAX_CPUS / 4 - 1; nib >= 0; nib--) {
		if ((set->bits[nib / 2] >> ((nib % 2) * 4)) & 0xf) {
			top = nib;
			break;
		}
	}
	off = snprintf(buf, (size_t)len, "0x");
	if (off >= len) {
		return buf;
	}
	if (top < 0) {
		top = 0;
	}
	for (nib = top; nib >= 0 && off < len - 1; nib--) {
		buf[off++] = digits[(set->bits[nib / 2] >> ((nib % 2) * 4)) & 0xf];
	}
	buf[off] = '\0';
	return buf;
}
