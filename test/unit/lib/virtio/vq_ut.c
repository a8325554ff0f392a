/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ring code of lib/virtio against an in-process fake device written here,
 * independently of the library: split and packed, add/complete/wrap,
 * indirect tables, EVENT_IDX and flag-based notification suppression,
 * hostile used entries, the blk/scsi request layer and guest memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio_internal.h"

#define F_EVENT_IDX (1ull << VIRTIO_RING_F_EVENT_IDX)
#define F_INDIRECT (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define F_PACKED (1ull << VIRTIO_F_RING_PACKED)

/* ---- fake device ---- */

struct fake_buf {
	uint64_t	gpa;
	uint32_t	len;
	bool		write;
};

struct fake_dev {
	struct virtio_vq	*vq;
	uint16_t		last_avail;	/* split: next avail index; packed: position */
	bool			avail_wrap;
	uint16_t		used_pos;	/* packed: next used slot */
	bool			used_wrap;
	uint16_t		used_idx;	/* split */
};

struct fake_req {
	uint16_t	head;		/* split: head desc; packed: buffer id */
	uint16_t	nslots;		/* packed: ring slots the chain took */
	uint32_t	nbufs;
	struct fake_buf	bufs[VIRTIO_INDIRECT_MAX];
	bool		indirect;
};

static void
fake_init(struct fake_dev *d, struct virtio_vq *vq)
{
	memset(d, 0, sizeof(*d));
	d->vq = vq;
	d->avail_wrap = true;
	d->used_wrap = true;
}

static void
fake_walk_table(struct fake_dev *d, uint64_t gpa, uint32_t len, struct fake_req *r, bool packed)
{
	uint32_t n = len / 16, i;

	r->indirect = true;
	if (packed) {
		struct vring_packed_desc *t = virtio_mem_gpa_to_hva(d->vq->mem, gpa, len);

		assert_non_null(t);
		for (i = 0; i < n; i++) {
			r->bufs[r->nbufs++] = (struct fake_buf){t[i].addr, t[i].len,
				(t[i].flags & VRING_DESC_F_WRITE) != 0};
		}
	} else {
		struct vring_desc *t = virtio_mem_gpa_to_hva(d->vq->mem, gpa, len);
		uint16_t idx = 0;

		assert_non_null(t);
		for (i = 0; i < n; i++) {
			r->bufs[r->nbufs++] = (struct fake_buf){t[idx].addr, t[idx].len,
				(t[idx].flags & VRING_DESC_F_WRITE) != 0};
			if (!(t[idx].flags & VRING_DESC_F_NEXT)) {
				break;
			}
			idx = t[idx].next;
		}
	}
}

/* Take the next available chain; false if none. */
static bool
fake_pop(struct fake_dev *d, struct fake_req *r)
{
	struct virtio_vq *vq = d->vq;

	memset(r, 0, sizeof(*r));
	if (vq->packed) {
		struct vring_packed_desc *desc;
		uint16_t flags, pos = d->last_avail;
		bool wrap = d->avail_wrap;

		desc = &vq->pdesc[pos];
		flags = __atomic_load_n(&desc->flags, __ATOMIC_ACQUIRE);
		if (((flags >> VRING_PACKED_DESC_F_AVAIL) & 1) != wrap ||
		    ((flags >> VRING_PACKED_DESC_F_USED) & 1) == wrap) {
			return false;
		}
		for (;;) {
			desc = &vq->pdesc[pos];
			flags = desc->flags;
			assert_int_equal((flags >> VRING_PACKED_DESC_F_AVAIL) & 1, wrap);
			r->head = desc->id;
			r->nslots++;
			if (flags & VRING_DESC_F_INDIRECT) {
				fake_walk_table(d, desc->addr, desc->len, r, true);
			} else {
				r->bufs[r->nbufs++] = (struct fake_buf){desc->addr, desc->len,
					(flags & VRING_DESC_F_WRITE) != 0};
			}
			if (++pos == vq->size) {
				pos = 0;
				wrap = !wrap;
			}
			if (!(flags & VRING_DESC_F_NEXT)) {
				break;
			}
		}
		d->last_avail = pos;
		d->avail_wrap = wrap;
		return true;
	}
	if (__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) == d->last_avail) {
		return false;
	}
	{
		uint16_t idx = vq->avail->ring[d->last_avail % vq->size], n = 0;

		d->last_avail++;
		r->head = idx;
		for (;;) {
			struct vring_desc *desc = &vq->desc[idx];

			assert_true(idx < vq->size);
			assert_true(++n <= vq->size);
			if (desc->flags & VRING_DESC_F_INDIRECT) {
				fake_walk_table(d, desc->addr, desc->len, r, false);
			} else {
				r->bufs[r->nbufs++] = (struct fake_buf){desc->addr, desc->len,
					(desc->flags & VRING_DESC_F_WRITE) != 0};
			}
			if (!(desc->flags & VRING_DESC_F_NEXT)) {
				break;
			}
			idx = desc->next;
		}
	}
	return true;
}

static void
fake_push(struct fake_dev *d, const struct fake_req *r, uint32_t len)
{
	struct virtio_vq *vq = d->vq;

	if (vq->packed) {
		struct vring_packed_desc *desc = &vq->pdesc[d->used_pos];
		uint16_t flags = d->used_wrap ? ((1u << VRING_PACKED_DESC_F_AVAIL) |
						 (1u << VRING_PACKED_DESC_F_USED)) : 0;

		desc->id = r->head;
		desc->len = len;
		__atomic_store_n(&desc->flags, flags, __ATOMIC_RELEASE);
		d->used_pos = (uint16_t)(d->used_pos + r->nslots);
		if (d->used_pos >= vq->size) {
			d->used_pos = (uint16_t)(d->used_pos - vq->size);
			d->used_wrap = !d->used_wrap;
		}
		return;
	}
	vq->used->ring[d->used_idx % vq->size].id = r->head;
	vq->used->ring[d->used_idx % vq->size].len = len;
	d->used_idx++;
	__atomic_store_n(&vq->used->idx, d->used_idx, __ATOMIC_RELEASE);
}

/* ---- fixtures ---- */

static struct virtio_mem *
mem_one(uint64_t size)
{
	struct virtio_mem_region_spec s = {.gpa = 0x100000, .size = size};
	struct virtio_mem *mem = NULL;

	assert_int_equal(virtio_mem_create(&s, 1, &mem), 0);
	return mem;
}

/* ---- guest memory ---- */

static void
test_mem_create_bad_specs(void **state)
{
	struct virtio_mem_region_spec s[9] = {{0, 4096}, {4096, 4096}};
	struct virtio_mem *mem = NULL;

	assert_int_equal(virtio_mem_create(s, 0, &mem), -EINVAL);
	assert_int_equal(virtio_mem_create(s, 9, &mem), -EINVAL);
	assert_int_equal(virtio_mem_create(NULL, 1, &mem), -EINVAL);
	s[0].size = 100;
	assert_int_equal(virtio_mem_create(s, 1, &mem), -EINVAL);	/* not page sized */
	s[0].size = 8192;
	assert_int_equal(virtio_mem_create(s, 2, &mem), -EINVAL);	/* overlap */
	s[0] = (struct virtio_mem_region_spec){123, 4096};
	assert_int_equal(virtio_mem_create(s, 1, &mem), -EINVAL);	/* unaligned gpa */
	s[0] = (struct virtio_mem_region_spec){UINT64_MAX - 4095, 8192};
	assert_int_equal(virtio_mem_create(s, 1, &mem), -EINVAL);	/* wraps */
	s[0] = (struct virtio_mem_region_spec){0, 0};
	assert_int_equal(virtio_mem_create(s, 1, &mem), -EINVAL);
	assert_null(mem);
}

static void
test_mem_regions_gaps_and_edges(void **state)
{
	struct virtio_mem_region_spec s[2] = {{0, 64 * 1024}, {1ull << 30, 64 * 1024}};
	struct virtio_mem *mem;
	uint64_t gpa, size;
	uint8_t *p, *end;
	void *hva;

	assert_int_equal(virtio_mem_create(s, 2, &mem), 0);
	assert_int_equal(virtio_mem_region_count(mem), 2);
	assert_int_equal(virtio_mem_region_get(mem, 1, &gpa, &size, &hva), 0);
	assert_int_equal(gpa, 1ull << 30);
	assert_int_equal(virtio_mem_region_get(mem, 2, NULL, NULL, NULL), -EINVAL);
	/* last byte of region 0 is in, one past is in the gap */
	end = virtio_mem_gpa_to_hva(mem, 64 * 1024 - 512, 512);
	assert_non_null(end);
	assert_null(virtio_mem_gpa_to_hva(mem, 64 * 1024 - 512, 513));
	assert_null(virtio_mem_gpa_to_hva(mem, 64 * 1024, 1));
	assert_null(virtio_mem_gpa_to_hva(mem, (1ull << 30) - 1, 2));	/* straddles into region 1 */
	assert_non_null(virtio_mem_gpa_to_hva(mem, (1ull << 30) + 65535, 1));
	assert_null(virtio_mem_gpa_to_hva(mem, UINT64_MAX, 2));
	assert_int_equal(virtio_mem_hva_to_gpa(mem, end, &gpa), 0);
	assert_int_equal(gpa, 64 * 1024 - 512);
	assert_int_equal(virtio_mem_hva_to_gpa(mem, &gpa, &gpa), -EFAULT);
	/* allocation: alignment, region choice, exhaustion */
	p = virtio_mem_alloc_in(mem, 1, 100, 4096);
	assert_non_null(p);
	assert_int_equal(virtio_mem_hva_to_gpa(mem, p, &gpa), 0);
	assert_int_equal(gpa, 1ull << 30);
	assert_null(virtio_mem_alloc_in(mem, 1, 64 * 1024, 1));
	assert_null(virtio_mem_alloc_in(mem, 2, 1, 1));
	assert_null(virtio_mem_alloc_in(mem, 0, 1, 3));	/* not a power of two */
	assert_non_null(virtio_mem_alloc(mem, 60 * 1024, 4096));	/* region 0 */
	assert_non_null(virtio_mem_alloc(mem, 32 * 1024, 4096));	/* falls to region 1 */
	assert_null(virtio_mem_alloc(mem, 64 * 1024, 4096));
	virtio_mem_destroy(mem);
	virtio_mem_destroy(NULL);
}

/* ---- split ring ---- */

static void
test_vq_init_bad_size(void **state)
{
	struct virtio_mem *mem = mem_one(1 << 20);
	struct virtio_vq vq;

	assert_int_equal(virtio_vq_init(&vq, mem, 0, 0, 0, 0), -EINVAL);
	virtio_vq_fini(&vq);
	assert_int_equal(virtio_vq_init(&vq, mem, 0, 12, 0, 0), -EINVAL);	/* split: pow2 */
	virtio_vq_fini(&vq);
	assert_int_equal(virtio_vq_init(&vq, mem, 0, 12, F_PACKED, 0), 0);	/* packed: any */
	virtio_vq_fini(&vq);
	/* too little memory (indirect tables: 32768 x 64 x 16 bytes) */
	assert_int_equal(virtio_vq_init(&vq, mem, 0, 32768, F_INDIRECT, 0), -ENOMEM);
	virtio_vq_fini(&vq);
	virtio_mem_destroy(mem);
}

static void
ring_add_complete_wrap(uint64_t features, uint16_t size)
{
	struct virtio_mem *mem = mem_one(4 << 20);
	struct virtio_buf b[3];
	struct virtio_vq vq;
	struct fake_dev d;
	struct fake_req reqs[64];
	uint8_t *data = NULL;
	uint32_t iter, i, len, nreq;
	uint64_t gpa;
	void *ctx;

	assert_int_equal(virtio_vq_init(&vq, mem, 0, size, features, 0), 0);
	fake_init(&d, &vq);
	data = virtio_mem_alloc(mem, 3 * 4096, 4096);
	assert_non_null(data);
	/* > 65536 requests: the split avail/used indexes and the packed wrap counters wrap */
	for (iter = 0; iter < 70000;) {
		uint16_t n = (uint16_t)(1 + iter % 3);

		nreq = 0;
		while (vq.num_free >= 3 && nreq < 64) {
			for (i = 0; i < n; i++) {
				b[i] = (struct virtio_buf){data + i * 4096, 100 + i, i + 1u == n};
			}
			assert_int_equal(virtio_vq_add(&vq, b, n, false,
						       (void *)(uintptr_t)(iter + 1)), 0);
			assert_true(fake_pop(&d, &reqs[nreq]));
			assert_int_equal(reqs[nreq].nbufs, n);
			for (i = 0; i < n; i++) {
				assert_int_equal(virtio_mem_hva_to_gpa(mem, data + i * 4096, &gpa), 0);
				assert_int_equal(reqs[nreq].bufs[i].gpa, gpa);
				assert_int_equal(reqs[nreq].bufs[i].len, 100 + i);
				assert_int_equal(reqs[nreq].bufs[i].write, i + 1u == n);
			}
			nreq++;
			iter++;
		}
		assert_false(fake_pop(&d, &reqs[nreq]));
		/* complete in reverse order (out of order for the driver) */
		for (i = nreq; i-- > 0;) {
			fake_push(&d, &reqs[i], i);
		}
		for (i = nreq; i-- > 0;) {
			assert_true(virtio_vq_has_used(&vq));
			assert_int_equal(virtio_vq_get_used(&vq, &ctx, &len), 0);
			assert_int_equal(len, i);
			assert_int_equal((uintptr_t)ctx, iter - nreq + i + 1);
		}
		assert_int_equal(virtio_vq_get_used(&vq, &ctx, &len), -EAGAIN);
		assert_int_equal(vq.num_free, size);
	}
	virtio_vq_fini(&vq);
	virtio_mem_destroy(mem);
}

static void
test_split_add_complete_wrap(void **state)
{
	ring_add_complete_wrap(0, 8);
	ring_add_complete_wrap(F_EVENT_IDX, 16);
}

static void
test_packed_add_complete_wrap(void **state)
{
	ring_add_complete_wrap(F_PACKED, 8);
	ring_add_complete_wrap(F_PACKED | F_EVENT_IDX, 7);	/* odd size: chains straddle the wrap */
}

static void
ring_full_and_errors(uint64_t features)
{
	struct virtio_mem *mem = mem_one(1 << 20);
	struct virtio_buf b[5];
	struct virtio_vq vq;
	uint8_t *data;
	int i;
	uint8_t outside;

	assert_int_equal(virtio_vq_init(&vq, mem, 0, 4, features, 0), 0);
	data = virtio_mem_alloc(mem, 4096, 4096);
	for (i = 0; i < 5; i++) {
		b[i] = (struct virtio_buf){data, 16, false};
	}
	assert_int_equal(virtio_vq_add(&vq, b, 0, false, NULL), -EINVAL);
	assert_int_equal(virtio_vq_add(&vq, b, 5, false, NULL), -EINVAL);	/* longer than ring */
	assert_int_equal(virtio_vq_add(&vq, b, 2, true, NULL), -ENOTSUP);	/* no INDIRECT */
	b[1].addr = &outside;
	assert_int_equal(virtio_vq_add(&vq, b, 2, false, NULL), -EINVAL);	/* not guest memory */
	{
		uint64_t rsize;
		void *base;

		assert_int_equal(virtio_mem_region_get(mem, 0, NULL, &rsize, &base), 0);
		b[1].addr = (uint8_t *)base + rsize - 8;
		b[1].len = 9;	/* straddles the end of the region */
	}
	assert_int_equal(virtio_vq_add(&vq, b, 2, false, NULL), -EINVAL);
	b[1] = b[0];
	assert_int_equal(virtio_vq_add(&vq, b, 3, false, NULL), 0);
	assert_int_equal(virtio_vq_add(&vq, b, 2, false, NULL), -ENOSPC);
	assert_int_equal(virtio_vq_add(&vq, b, 1, false, NULL), 0);
	assert_int_equal(virtio_vq_free_descs(&vq), 0);
	assert_int_equal(virtio_vq_add(&vq, b, 1, false, NULL), -ENOSPC);
	virtio_vq_fini(&vq);
	virtio_mem_destroy(mem);
}

static void
test_ring_full_and_errors(void **state)
{
	ring_full_and_errors(0);
	ring_full_and_errors(F_PACKED);
}

static void
ring_indirect(uint64_t features)
{
	struct virtio_mem *mem = mem_one(4 << 20);
	struct virtio_buf b[VIRTIO_INDIRECT_MAX];
	struct virtio_vq vq;
	struct fake_dev d;
	struct fake_req r;
	uint8_t *data;
	uint32_t len, i, round;
	void *ctx;

	assert_int_equal(virtio_vq_init(&vq, mem, 0, 4, features | F_INDIRECT, 0), 0);
	fake_init(&d, &vq);
	data = virtio_mem_alloc(mem, VIRTIO_INDIRECT_MAX * 64, 64);
	for (i = 0; i < VIRTIO_INDIRECT_MAX; i++) {
		b[i] = (struct virtio_buf){data + i * 64, 64, (i & 1) != 0};
	}
	/* 64 buffers through a 4-entry ring, several times around */
	for (round = 0; round < 10; round++) {
		assert_int_equal(virtio_vq_add(&vq, b, VIRTIO_INDIRECT_MAX, true, &d), 0);
		assert_int_equal(virtio_vq_free_descs(&vq), 3);
		assert_true(fake_pop(&d, &r));
		assert_true(r.indirect);
		assert_int_equal(r.nslots > 1 ? 0 : r.nslots, vq.packed ? 1 : 0);
		assert_int_equal(r.nbufs, VIRTIO_INDIRECT_MAX);
		for (i = 0; i < VIRTIO_INDIRECT_MAX; i++) {
			assert_int_equal(r.bufs[i].len, 64);
			assert_int_equal(r.bufs[i].write, (i & 1) != 0);
			assert_ptr_equal(virtio_mem_gpa_to_hva(mem, r.bufs[i].gpa, 64), data + i * 64);
		}
		fake_push(&d, &r, 7);
		assert_int_equal(virtio_vq_get_used(&vq, &ctx, &len), 0);
		assert_ptr_equal(ctx, &d);
		assert_int_equal(len, 7);
	}
	assert_int_equal(virtio_vq_add(&vq, b, VIRTIO_INDIRECT_MAX + 1, true, NULL), -EINVAL);
	virtio_vq_fini(&vq);
	virtio_mem_destroy(mem);
}

static void
test_split_indirect(void **state)
{
	ring_indirect(0);
}

static void
test_packed_indirect(void **state)
{
	ring_indirect(F_PACKED);
}

/* ---- notifications ---- */

static uint64_t
kicks(struct virtio_vq *vq)
{
	uint64_t v = 0;

	if (read(vq->kick_fd, &v, sizeof(v)) != sizeof(v)) {
		return 0;
	}
	return v;
}

static void
test_split_event_idx_kick(void **state)
{
	struct virtio_mem *mem = mem_one(1 << 20);
	struct virtio_vq vq;
	struct virtio_buf b;
	uint16_t *avail_event;
	int i;

	assert_int_equal(virtio_vq_init(&vq, mem, 0, 8, F_EVENT_IDX, 0), 0);
	vq.kick_fd = eventfd(0, EFD_NONBLOCK);
	b = (struct virtio_buf){virtio_mem_alloc(mem, 64, 64), 64, false};
	avail_event = (uint16_t *)&vq.used->ring[8];
	assert_false(virtio_vq_notify(&vq));	/* nothing added */
	/* device wants a kick once avail idx passes 0: adding entry 0 triggers */
	*avail_event = 0;
	assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);
	assert_true(virtio_vq_notify(&vq));
	assert_int_equal(kicks(&vq), 1);
	/* device asks for a kick after entry 3: adding 1 and 2 does not kick */
	*avail_event = 3;
	for (i = 0; i < 2; i++) {
		assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);
		assert_false(virtio_vq_notify(&vq));
	}
	assert_int_equal(kicks(&vq), 0);
	/* a batch of two (3 and 4) crossing the event kicks once */
	assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);
	assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);
	assert_true(virtio_vq_notify(&vq));
	assert_int_equal(kicks(&vq), 1);
	/* flags are ignored with EVENT_IDX */
	vq.used->flags = VRING_USED_F_NO_NOTIFY;
	*avail_event = 5;
	assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);
	assert_true(virtio_vq_notify(&vq));
	virtio_vq_fini(&vq);
	virtio_mem_destroy(mem);
}

static void
test_split_flags_kick_and_interrupts(void **state)
{
	struct virtio_mem *mem = mem_one(1 << 20);
	struct virtio_vq vq;
	struct virtio_buf b;
	uint16_t *used_event;

	assert_int_equal(virtio_vq_init(&vq, mem, 0, 8, 0, 0), 0);
	vq.kick_fd = eventfd(0, EFD_NONBLOCK);
	b = (struct virtio_buf){virtio_mem_alloc(mem, 64, 64), 64, false};
	vq.used->flags = VRING_USED_F_NO_NOTIFY;
	assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);
	assert_false(virtio_vq_notify(&vq));
	vq.used->flags = 0;
	assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);
	assert_true(virtio_vq_notify(&vq));
	assert_int_equal(kicks(&vq), 1);
	virtio_vq_disable_interrupts(&vq);
	assert_int_equal(vq.avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
	virtio_vq_enable_interrupts(&vq);
	assert_int_equal(vq.avail->flags, 0);
	virtio_vq_fini(&vq);

	/* EVENT_IDX: used_event follows what we consumed, or stays behind when disabled */
	assert_int_equal(virtio_vq_init(&vq, mem, 0, 8, F_EVENT_IDX, 0), 0);
	used_event = &vq.avail->ring[8];
	{
		struct fake_dev d;
		struct fake_req r;
		uint32_t len;
		void *ctx;

		fake_init(&d, &vq);
		virtio_vq_enable_interrupts(&vq);
		assert_int_equal(*used_event, 0);
		assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);
		assert_true(fake_pop(&d, &r));
		fake_push(&d, &r, 1);
		assert_int_equal(virtio_vq_get_used(&vq, &ctx, &len), 0);
		assert_int_equal(*used_event, 1);
		/* device side: a call is due when used idx moves past used_event */
		assert_true(vring_need_event(*used_event, 2, 1));
		virtio_vq_disable_interrupts(&vq);
		assert_int_equal(*used_event, 0);
		assert_false(vring_need_event(*used_event, 2, 1));
	}
	virtio_vq_fini(&vq);
	virtio_mem_destroy(mem);
}

static void
test_packed_event_suppression(void **state)
{
	struct virtio_mem *mem = mem_one(1 << 20);
	struct virtio_vq vq;
	struct virtio_buf b;
	int i;

	assert_int_equal(virtio_vq_init(&vq, mem, 0, 4, F_PACKED | F_EVENT_IDX, 0), 0);
	vq.kick_fd = eventfd(0, EFD_NONBLOCK);
	b = (struct virtio_buf){virtio_mem_alloc(mem, 64, 64), 64, false};
	vq.device_ev->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);
	assert_false(virtio_vq_notify(&vq));
	vq.device_ev->flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);
	assert_true(virtio_vq_notify(&vq));
	assert_int_equal(kicks(&vq), 1);
	/* DESC: kick when the descriptor at off 3 (wrap 1) is made available */
	vq.device_ev->flags = VRING_PACKED_EVENT_FLAG_DESC;
	vq.device_ev->off_wrap = 3 | (1u << 15);
	assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);	/* slot 2 */
	assert_false(virtio_vq_notify(&vq));
	assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);	/* slot 3 */
	assert_true(virtio_vq_notify(&vq));
	assert_true(vq.avail_pos == 0 && vq.avail_wrap == false);
	/* event in the next lap: slot 1 with wrap 0 */
	{
		struct fake_dev d;
		struct fake_req r;
		uint32_t len;
		void *ctx;

		fake_init(&d, &vq);
		for (i = 0; i < 4; i++) {
			assert_true(fake_pop(&d, &r));
			fake_push(&d, &r, 0);
			assert_int_equal(virtio_vq_get_used(&vq, &ctx, &len), 0);
		}
	}
	vq.device_ev->off_wrap = 1;
	assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);	/* slot 0, wrap 0 */
	assert_false(virtio_vq_notify(&vq));
	assert_int_equal(virtio_vq_add(&vq, &b, 1, false, NULL), 0);	/* slot 1 */
	assert_true(virtio_vq_notify(&vq));
	virtio_vq_disable_interrupts(&vq);
	assert_int_equal(vq.driver_ev->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	virtio_vq_enable_interrupts(&vq);
	assert_int_equal(vq.driver_ev->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	virtio_vq_fini(&vq);
	virtio_mem_destroy(mem);
}

/* ---- hostile device ---- */

static void
hostile_used(uint64_t features)
{
	struct virtio_mem *mem = mem_one(1 << 20);
	struct virtio_vq vq;
	struct virtio_buf b;
	struct fake_dev d;
	struct fake_req r;
	uint32_t len;
	void *ctx;

	assert_int_equal(virtio_vq_init(&vq, mem, 0, 8, features, 0), 0);
	fake_init(&d, &vq);
	b = (struct virtio_buf){virtio_mem_alloc(mem, 64, 64), 64, false};
	assert_int_equal(virtio_vq_add(&vq, &b, 1, false, (void *)1), 0);
	assert_true(fake_pop(&d, &r));
	/* an id out of range, then an id that is not in flight */
	r.head = 200;
	r.nslots = 1;
	fake_push(&d, &r, 0);
	assert_int_equal(virtio_vq_get_used(&vq, &ctx, &len), -EPROTO);
	r.head = 5;
	fake_push(&d, &r, 0);
	assert_int_equal(virtio_vq_get_used(&vq, &ctx, &len), -EPROTO);
	/* the real completion still works */
	r.head = 0;
	fake_push(&d, &r, 3);
	assert_int_equal(virtio_vq_get_used(&vq, &ctx, &len), 0);
	assert_ptr_equal(ctx, (void *)1);
	/* completing it twice is caught */
	fake_push(&d, &r, 3);
	assert_int_equal(virtio_vq_get_used(&vq, &ctx, &len), -EPROTO);
	assert_int_equal(virtio_vq_free_descs(&vq), 8);
	virtio_vq_fini(&vq);
	virtio_mem_destroy(mem);
}

static void
test_hostile_used_ids(void **state)
{
	hostile_used(0);
	hostile_used(F_PACKED);
}

/* ---- raw API ---- */

static void
test_raw_split_and_packed(void **state)
{
	struct virtio_mem *mem = mem_one(1 << 20);
	struct vring_packed_desc pd[2];
	struct virtio_vq vq;
	struct fake_dev d;
	struct fake_req r;
	uint32_t id, len;

	assert_int_equal(virtio_vq_init(&vq, mem, 0, 8, 0, 0), 0);
	fake_init(&d, &vq);
	assert_int_equal(virtio_vq_raw_split_desc(&vq, 8, 0, 0, 0, 0), -EINVAL);
	assert_int_equal(virtio_vq_raw_split_desc(&vq, 3, 0xdead0000, 77, VRING_DESC_F_WRITE, 9),
			 0);
	assert_int_equal(vq.desc[3].next, 9);
	assert_int_equal(virtio_vq_raw_split_avail(&vq, 1000), 0);	/* head >= size */
	assert_int_equal(vq.avail->ring[0], 1000);
	assert_int_equal(vq.avail->idx, 1);
	assert_int_equal(virtio_vq_raw_packed_push(&vq, pd, 1), -EINVAL);
	vq.used->ring[0] = (struct vring_used_elem){.id = 1000, .len = 5};
	vq.used->idx = 1;
	assert_int_equal(virtio_vq_raw_get_used(&vq, &id, &len), 0);
	assert_int_equal(id, 1000);
	assert_int_equal(len, 5);
	assert_int_equal(virtio_vq_raw_get_used(&vq, &id, &len), -EAGAIN);
	virtio_vq_fini(&vq);

	assert_int_equal(virtio_vq_init(&vq, mem, 0, 4, F_PACKED, 0), 0);
	fake_init(&d, &vq);
	assert_int_equal(virtio_vq_raw_split_avail(&vq, 0), -EINVAL);
	pd[0] = (struct vring_packed_desc){.addr = 0x100000, .len = 16, .id = 2,
					   .flags = VRING_DESC_F_NEXT};
	pd[1] = (struct vring_packed_desc){.addr = 0x100100, .len = 1, .id = 2,
					   .flags = VRING_DESC_F_WRITE};
	assert_int_equal(virtio_vq_raw_packed_push(&vq, pd, 2), 0);
	assert_true(fake_pop(&d, &r));
	assert_int_equal(r.nbufs, 2);
	assert_int_equal(r.head, 2);
	assert_int_equal(r.nslots, 2);
	fake_push(&d, &r, 1);
	assert_int_equal(virtio_vq_raw_get_used(&vq, &id, &len), 0);
	assert_int_equal(id, 2);
	assert_int_equal(vq.used_pos, 2);
	assert_int_equal(virtio_vq_raw_get_used(&vq, &id, &len), -EAGAIN);

	/* verbatim: flags (AVAIL/USED included) as given, the position still advances */
	assert_true(virtio_vq_raw_packed_wrap(&vq));
	pd[0].flags = VRING_DESC_F_NEXT | (1u << VRING_PACKED_DESC_F_AVAIL) |
		      (1u << VRING_PACKED_DESC_F_USED);
	pd[1].flags = VRING_DESC_F_WRITE;
	assert_int_equal(virtio_vq_raw_packed_push_verbatim(&vq, pd, 2), 0);
	assert_int_equal(vq.pdesc[2].flags, pd[0].flags);
	assert_int_equal(vq.pdesc[3].flags, VRING_DESC_F_WRITE);
	assert_int_equal(vq.avail_pos, 0);
	assert_false(virtio_vq_raw_packed_wrap(&vq));	/* wrapped */
	/* the head looks used to the device, not available: nothing to pop */
	assert_false(fake_pop(&d, &r));
	assert_int_equal(virtio_vq_raw_packed_push_verbatim(&vq, pd, 0), -EINVAL);
	virtio_vq_fini(&vq);
	virtio_mem_destroy(mem);
}

/* ---- request layer ---- */

static int g_cb_status;
static uint32_t g_cb_len;
static int g_cb_calls;
static uint8_t g_cb_scsi_status;

static void
req_cb(void *arg, const struct virtio_req_result *res)
{
	g_cb_calls++;
	g_cb_status = res->status;
	g_cb_len = res->used_len;
	g_cb_scsi_status = res->scsi ? res->scsi->status : 0xee;
	assert_ptr_equal(arg, &g_cb_calls);
}

static void
blk_requests(uint64_t features)
{
	struct virtio_mem *mem = mem_one(4 << 20);
	struct virtio_blk_outhdr *hdr;
	struct virtio_blk_discard_write_zeroes *seg;
	struct virtio_vq vq;
	struct fake_dev d;
	struct fake_req r;
	struct iovec iov[2];
	uint8_t *status, *data;
	int i;

	assert_int_equal(virtio_vq_init(&vq, mem, 0, 8, features, 2), 0);
	fake_init(&d, &vq);
	data = virtio_mem_alloc(mem, 8192, 4096);
	iov[0] = (struct iovec){data, 4096};
	iov[1] = (struct iovec){data + 4096, 4096};
	assert_int_equal(virtio_blk_submit(&vq, VIRTIO_BLK_T_IN, 8, iov, 2, req_cb, &g_cb_calls),
			 0);
	assert_int_equal(virtio_vq_inflight(&vq), 1);
	assert_true(fake_pop(&d, &r));
	assert_int_equal(r.nbufs, 4);
	hdr = virtio_mem_gpa_to_hva(mem, r.bufs[0].gpa, 16);
	assert_int_equal(hdr->type, VIRTIO_BLK_T_IN);
	assert_int_equal(hdr->sector, 8);
	assert_false(r.bufs[0].write);
	assert_true(r.bufs[1].write && r.bufs[2].write && r.bufs[3].write);
	assert_int_equal(r.bufs[3].len, 1);
	status = virtio_mem_gpa_to_hva(mem, r.bufs[3].gpa, 1);
	*status = VIRTIO_BLK_S_IOERR;
	fake_push(&d, &r, 8193);
	assert_int_equal(virtio_vq_process(&vq, 8), 1);
	assert_int_equal(g_cb_calls, 1);
	assert_int_equal(g_cb_status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(g_cb_len, 8193);
	assert_int_equal(virtio_vq_inflight(&vq), 0);

	/* OUT data is device-readable; a zero used length is a protocol error */
	assert_int_equal(virtio_blk_submit(&vq, VIRTIO_BLK_T_OUT, 0, iov, 1, req_cb, &g_cb_calls),
			 0);
	assert_true(fake_pop(&d, &r));
	assert_false(r.bufs[1].write);
	*(uint8_t *)virtio_mem_gpa_to_hva(mem, r.bufs[2].gpa, 1) = 0;
	fake_push(&d, &r, 0);
	assert_int_equal(virtio_vq_process(&vq, 8), 1);
	assert_int_equal(g_cb_status, -EPROTO);

	/* DISCARD carries one segment */
	assert_int_equal(virtio_blk_submit_range(&vq, VIRTIO_BLK_T_DISCARD, 64, 16, 0, req_cb,
						 &g_cb_calls), 0);
	assert_true(fake_pop(&d, &r));
	assert_int_equal(r.nbufs, 3);
	seg = virtio_mem_gpa_to_hva(mem, r.bufs[1].gpa, sizeof(*seg));
	assert_int_equal(seg->sector, 64);
	assert_int_equal(seg->num_sectors, 16);
	*(uint8_t *)virtio_mem_gpa_to_hva(mem, r.bufs[2].gpa, 1) = 0;
	fake_push(&d, &r, 1);
	assert_int_equal(virtio_vq_process(&vq, 8), 1);
	assert_int_equal(g_cb_status, 0);

	assert_int_equal(virtio_blk_submit(&vq, VIRTIO_BLK_T_IN, 0, iov, 100, req_cb,
					   &g_cb_calls), -EINVAL);
	/* slots run out before the ring does */
	for (i = 0; i < 2; i++) {
		assert_int_equal(virtio_blk_submit(&vq, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, req_cb,
						   &g_cb_calls), 0);
	}
	assert_int_equal(virtio_blk_submit(&vq, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, req_cb,
					   &g_cb_calls), -ENOSPC);
	virtio_vq_fini(&vq);
	virtio_mem_destroy(mem);
}

static void
test_blk_requests(void **state)
{
	g_cb_calls = 0;
	blk_requests(0);
	g_cb_calls = 0;
	blk_requests(F_PACKED | F_INDIRECT);
}

static void
test_scsi_requests(void **state)
{
	struct virtio_mem *mem = mem_one(4 << 20);
	struct virtio_scsi_cmd_req *cmd;
	struct virtio_scsi_cmd_resp *resp;
	struct virtio_scsi_ctrl_tmf_req *tmf;
	struct virtio_scsi_event *ev, got;
	struct virtio_vq vq, ctrl, evq;
	struct fake_dev d;
	struct fake_req r;
	struct iovec iov = {0};
	uint8_t cdb[10] = {0x28}, lun[8];

	virtio_scsi_lun_encode(lun, 3, 0x123);
	assert_int_equal(lun[0], 1);
	assert_int_equal(lun[1], 3);
	assert_int_equal(lun[2], 0x41);
	assert_int_equal(lun[3], 0x23);

	assert_int_equal(virtio_vq_init(&vq, mem, 2, 8, 0, 4), 0);
	fake_init(&d, &vq);
	iov.iov_base = virtio_mem_alloc(mem, 512, 512);
	iov.iov_len = 512;
	assert_int_equal(virtio_scsi_submit(&vq, 1, 0, cdb, 0, &iov, 1, false, req_cb,
					    &g_cb_calls), -EINVAL);
	assert_int_equal(virtio_scsi_submit(&vq, 1, 0, cdb, 33, &iov, 1, false, req_cb,
					    &g_cb_calls), -EINVAL);
	assert_int_equal(virtio_scsi_submit(&vq, 1, 0, cdb, 10, &iov, 1, false, req_cb,
					    &g_cb_calls), 0);
	assert_true(fake_pop(&d, &r));
	/* data-in: cmd (ro), resp (wo), data (wo) */
	assert_int_equal(r.nbufs, 3);
	assert_false(r.bufs[0].write);
	assert_true(r.bufs[1].write);
	assert_int_equal(r.bufs[1].len, sizeof(*resp));
	assert_true(r.bufs[2].write);
	cmd = virtio_mem_gpa_to_hva(mem, r.bufs[0].gpa, sizeof(*cmd));
	assert_int_equal(cmd->lun[1], 1);
	assert_int_equal(cmd->cdb[0], 0x28);
	resp = virtio_mem_gpa_to_hva(mem, r.bufs[1].gpa, sizeof(*resp));
	resp->response = VIRTIO_SCSI_S_OK;
	resp->status = 2;	/* CHECK CONDITION */
	fake_push(&d, &r, sizeof(*resp) + 512);
	g_cb_calls = 0;
	assert_int_equal(virtio_vq_process(&vq, 4), 1);
	assert_int_equal(g_cb_status, VIRTIO_SCSI_S_OK);
	assert_int_equal(g_cb_scsi_status, 2);
	/* data-out: cmd, data (ro), resp (wo) */
	assert_int_equal(virtio_scsi_submit(&vq, 1, 0, cdb, 10, &iov, 1, true, req_cb,
					    &g_cb_calls), 0);
	assert_true(fake_pop(&d, &r));
	assert_false(r.bufs[1].write);
	assert_true(r.bufs[2].write);
	virtio_vq_fini(&vq);

	/* TMF on the controlq */
	assert_int_equal(virtio_vq_init(&ctrl, mem, 0, 8, 0, 2), 0);
	fake_init(&d, &ctrl);
	assert_int_equal(virtio_scsi_submit_tmf(&ctrl, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, 2, 0,
						0, req_cb, &g_cb_calls), 0);
	assert_true(fake_pop(&d, &r));
	tmf = virtio_mem_gpa_to_hva(mem, r.bufs[0].gpa, sizeof(*tmf));
	assert_int_equal(tmf->type, VIRTIO_SCSI_T_TMF);
	assert_int_equal(tmf->subtype, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET);
	assert_int_equal(tmf->lun[1], 2);
	*(uint8_t *)virtio_mem_gpa_to_hva(mem, r.bufs[1].gpa, 1) = VIRTIO_SCSI_S_FUNCTION_SUCCEEDED;
	fake_push(&d, &r, 1);
	assert_int_equal(virtio_vq_process(&ctrl, 4), 1);
	assert_int_equal(g_cb_status, VIRTIO_SCSI_S_FUNCTION_SUCCEEDED);
	virtio_vq_fini(&ctrl);

	/* eventq: buffers posted, one event delivered, buffer re-posted */
	assert_int_equal(virtio_vq_init(&evq, mem, 1, 8, 0, 4), 0);
	fake_init(&d, &evq);
	assert_int_equal(virtio_scsi_event_post(&evq, 4), 0);
	assert_int_equal(virtio_scsi_event_post(&evq, 1), -ENOSPC);
	assert_int_equal(virtio_scsi_event_get(&evq, &got), -EAGAIN);
	assert_true(fake_pop(&d, &r));
	assert_true(r.bufs[0].write);
	ev = virtio_mem_gpa_to_hva(mem, r.bufs[0].gpa, sizeof(*ev));
	ev->event = VIRTIO_SCSI_T_TRANSPORT_RESET;
	ev->lun[1] = 5;
	ev->reason = VIRTIO_SCSI_EVT_RESET_RESCAN;
	fake_push(&d, &r, sizeof(*ev));
	assert_int_equal(virtio_scsi_event_get(&evq, &got), 0);
	assert_int_equal(got.event, VIRTIO_SCSI_T_TRANSPORT_RESET);
	assert_int_equal(got.lun[1], 5);
	assert_int_equal(got.reason, VIRTIO_SCSI_EVT_RESET_RESCAN);
	assert_int_equal(virtio_vq_inflight(&evq), 4);
	/* 3 still posted + the re-posted one */
	assert_true(fake_pop(&d, &r));
	assert_true(fake_pop(&d, &r));
	assert_true(fake_pop(&d, &r));
	assert_true(fake_pop(&d, &r));
	assert_false(fake_pop(&d, &r));
	virtio_vq_fini(&evq);
	virtio_mem_destroy(mem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_create_bad_specs),
		cmocka_unit_test(test_mem_regions_gaps_and_edges),
		cmocka_unit_test(test_vq_init_bad_size),
		cmocka_unit_test(test_split_add_complete_wrap),
		cmocka_unit_test(test_packed_add_complete_wrap),
		cmocka_unit_test(test_ring_full_and_errors),
		cmocka_unit_test(test_split_indirect),
		cmocka_unit_test(test_packed_indirect),
		cmocka_unit_test(test_split_event_idx_kick),
		cmocka_unit_test(test_split_flags_kick_and_interrupts),
		cmocka_unit_test(test_packed_event_suppression),
		cmocka_unit_test(test_hostile_used_ids),
		cmocka_unit_test(test_raw_split_and_packed),
		cmocka_unit_test(test_blk_requests),
		cmocka_unit_test(test_scsi_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
