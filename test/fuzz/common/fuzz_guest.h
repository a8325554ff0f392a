/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fake guest for the virtqueue fuzz targets: five memory regions, each its
 * own exactly-sized heap block (so ASan sees any access past a region), the
 * ring at the start of region 0, and the region contents taken from the fuzz
 * input. Include after virtqueue.h (or virtqueue.c).
 *
 * Guest-physical layout:
 *   region 0  gpa 0x0000          8K   rings: desc table at 0, avail at 0x1000,
 *                                     used at 0x1400 (queue of up to 256)
 *   region 1  gpa 0x2000          4K   gpa-contiguous with region 0, hva apart
 *   region 2  gpa 0x4000          2K   after a hole
 *   region 3  gpa 0x10000         16K  data / indirect tables
 *   region 4  gpa 2^64 - 4K       4K   the top of the address space (overflow)
 */
#ifndef FUZZ_GUEST_H
#define FUZZ_GUEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FG_NREGIONS	5
#define FG_QMAX		256
#define FG_AVAIL_OFF	0x1000
#define FG_USED_OFF	0x1400

static const uint64_t fg_gpa[FG_NREGIONS] = {0x0, 0x2000, 0x4000, 0x10000,
					     0xfffffffffffff000ull};
static const uint64_t fg_size[FG_NREGIONS] = {0x2000, 0x1000, 0x800, 0x4000, 0x1000};

struct fg_guest {
	uint8_t		*mem[FG_NREGIONS];
	struct vhost_mem map;
};

/* Fill the regions from data (repeating it); g must be static (regions are reused). */
static inline void
fg_guest_init(struct fg_guest *g, const uint8_t *data, size_t len)
{
	uint32_t r;
	size_t pos = 0;

	memset(&g->map, 0, sizeof(g->map));
	g->map.nregions = FG_NREGIONS;
	for (r = 0; r < FG_NREGIONS; r++) {
		size_t i, n;

		/* Allocated once per process (page faults dominate otherwise); each
		 * region keeps its own ASan redzones. */
		if (g->mem[r] == NULL) {
			g->mem[r] = malloc(fg_size[r]);
		}
		if (len == 0) {
			memset(g->mem[r], 0, fg_size[r]);
		} else if (r == 0) {
			/* Region 0 (the rings) takes the input as is. */
			pos = len < fg_size[0] ? len : fg_size[0];
			memcpy(g->mem[0], data, pos);
			memset(g->mem[0] + pos, 0, fg_size[0] - pos);
		} else {
			/* The others repeat it. */
			for (i = 0; i < fg_size[r]; i += n) {
				n = len - pos % len;
				if (n > fg_size[r] - i) {
					n = fg_size[r] - i;
				}
				memcpy(g->mem[r] + i, data + pos % len, n);
				pos += n;
			}
		}
		g->map.regions[r].gpa = fg_gpa[r];
		g->map.regions[r].size = fg_size[r];
		g->map.regions[r].hva = (uintptr_t)g->mem[r];
	}
}

static inline void
fg_guest_fini(struct fg_guest *g)
{
	(void)g;	/* the regions are reused by the next run */
}

/* Is [p, p+len) inside one region's host memory? */
static inline int
fg_guest_contains(const struct fg_guest *g, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	uint32_t r;

	for (r = 0; r < FG_NREGIONS; r++) {
		uintptr_t b = (uintptr_t)g->mem[r];

		if (a >= b && a - b <= fg_size[r] && len <= fg_size[r] - (a - b)) {
			return 1;
		}
	}
	return 0;
}

/* Point vq at the rings in region 0 (split or packed layout). */
static inline void
fg_guest_ring(struct fg_guest *g, struct vhost_vq *vq)
{
	uint8_t *base = g->mem[0];

	vq->mem = &g->map;
	if (vq->packed) {
		vq->desc_packed = (struct vring_packed_desc *)base;
		vq->driver_event = (struct vring_packed_desc_event *)(base + FG_AVAIL_OFF);
		vq->device_event = (struct vring_packed_desc_event *)(base + FG_USED_OFF);
	} else {
		vq->desc = (struct vring_desc *)base;
		vq->avail = (struct vring_avail *)(base + FG_AVAIL_OFF);
		vq->used = (struct vring_used *)(base + FG_USED_OFF);
	}
}

/* A byte reader over the fuzz input; returns 0 past the end. */
struct fg_in {
	const uint8_t	*p;
	size_t		len;
	size_t		pos;
};

static inline uint8_t
fg_u8(struct fg_in *in)
{
	return in->pos < in->len ? in->p[in->pos++] : 0;
}

static inline uint16_t
fg_u16(struct fg_in *in)
{
	uint16_t v = fg_u8(in);

	return (uint16_t)(v | (uint16_t)fg_u8(in) << 8);
}

#define FG_CHECK(c) do { if (!(c)) { __builtin_trap(); } } while (0)

#endif /* FUZZ_GUEST_H */
