/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtqueue.c over a fake guest: guest memory is a heap buffer mapped by up to
 * three regions at chosen guest-physical addresses, the rings live in the
 * test, and every validation path of the split and packed rings is driven.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../../../../lib/vhost/virtqueue.c"

#define QSZ	8
#define MEMSZ	(64 * 1024)

/* Guest memory: [0x10000, +16K) region 0, [0x14000, +16K) region 1 (contiguous gpa,
 * separate hva), [0x100000, +32K) region 2 after a hole. */
static uint8_t *g_guest;
static struct vhost_mem g_mem;

struct ut_split {
	struct vring_desc	desc[QSZ];
	struct {
		uint16_t	flags;
		uint16_t	idx;
		uint16_t	ring[QSZ];
		uint16_t	used_event;
	} avail;
	struct {
		uint16_t		flags;
		uint16_t		idx;
		struct vring_used_elem	ring[QSZ];
		uint16_t		avail_event;
	} used;
};

static struct ut_split g_split;
static struct vhost_vq g_vq;
static struct iovec g_iov[16];
static struct vhost_vq_elem g_elem;

static void
ut_mem_init(void)
{
	memset(&g_mem, 0, sizeof(g_mem));
	g_mem.nregions = 3;
	/* region 1 is placed *below* region 0 in host memory: gpa-contiguous, hva-discontiguous */
	g_mem.regions[0] = (struct vhost_mem_region){0x10000, 0x4000, (uintptr_t)g_guest + 0x4000};
	g_mem.regions[1] = (struct vhost_mem_region){0x14000, 0x4000, (uintptr_t)g_guest};
	g_mem.regions[2] = (struct vhost_mem_region){0x100000, 0x8000, (uintptr_t)g_guest + 0x8000};
}

static int
ut_setup(void **state)
{
	g_guest = calloc(1, MEMSZ);
	ut_mem_init();
	memset(&g_split, 0, sizeof(g_split));
	memset(&g_vq, 0, sizeof(g_vq));
	g_vq.size = QSZ;
	g_vq.desc = g_split.desc;
	g_vq.avail = (struct vring_avail *)&g_split.avail;
	g_vq.used = (struct vring_used *)&g_split.used;
	g_vq.mem = &g_mem;
	g_vq.indirect = true;
	g_vq.callfd = -1;
	g_vq.kickfd = -1;
	g_elem.iov = g_iov;
	assert_int_equal(vhost_vq_init(&g_vq), 0);
	return 0;
}

static int
ut_teardown(void **state)
{
	if (g_vq.callfd >= 0) {
		close(g_vq.callfd);
	}
	free(g_guest);
	return 0;
}

static void
ut_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	g_split.desc[i] = (struct vring_desc){addr, len, flags, next};
}

static void
ut_avail(uint16_t head)
{
	g_split.avail.ring[g_split.avail.idx % QSZ] = head;
	g_split.avail.idx++;
}

/* ---- guest memory translation ---- */

static void
test_mem_translate_in_region(void **state)
{
	struct iovec iov[4];
	uint16_t cnt = 0;

	assert_int_equal(vhost_mem_gpa_to_iov(&g_mem, 0x10010, 100, iov, &cnt, 4), 0);
	assert_int_equal(cnt, 1);
	assert_ptr_equal(iov[0].iov_base, g_guest + 0x4010);
	assert_int_equal(iov[0].iov_len, 100);
}

static void
test_mem_translate_crosses_regions(void **state)
{
	struct iovec iov[4];
	uint16_t cnt = 0;

	assert_int_equal(vhost_mem_gpa_to_iov(&g_mem, 0x13ff0, 0x20, iov, &cnt, 4), 0);
	assert_int_equal(cnt, 2);
	assert_ptr_equal(iov[0].iov_base, g_guest + 0x7ff0);
	assert_int_equal(iov[0].iov_len, 0x10);
	assert_ptr_equal(iov[1].iov_base, g_guest);
	assert_int_equal(iov[1].iov_len, 0x10);
	/* A single host pointer cannot cover it. */
	assert_null(vhost_mem_gpa_to_vva(&g_mem, 0x13ff0, 0x20));
	assert_ptr_equal(vhost_mem_gpa_to_vva(&g_mem, 0x13ff0, 0x10), g_guest + 0x7ff0);
}

static void
test_mem_translate_errors(void **state)
{
	struct iovec iov[4];
	uint16_t cnt = 0;

	/* unmapped start, tail into the hole, last byte + 1 past a region */
	assert_int_equal(vhost_mem_gpa_to_iov(&g_mem, 0x0, 1, iov, &cnt, 4), -EFAULT);
	cnt = 0;
	assert_int_equal(vhost_mem_gpa_to_iov(&g_mem, 0x17fff, 2, iov, &cnt, 4), -EFAULT);
	cnt = 0;
	assert_int_equal(vhost_mem_gpa_to_iov(&g_mem, 0x107fff, 1, iov, &cnt, 4), 0);
	cnt = 0;
	assert_int_equal(vhost_mem_gpa_to_iov(&g_mem, 0x107fff, 2, iov, &cnt, 4), -EFAULT);
	/* overflow of gpa + len */
	cnt = 0;
	assert_int_equal(vhost_mem_gpa_to_iov(&g_mem, UINT64_MAX - 4, 16, iov, &cnt, 4), -EFAULT);
	assert_null(vhost_mem_gpa_to_vva(&g_mem, UINT64_MAX - 4, 16));
	/* iov array exhausted */
	cnt = 0;
	assert_int_equal(vhost_mem_gpa_to_iov(&g_mem, 0x13ff0, 0x20, iov, &cnt, 1), -E2BIG);
	/* zero length adds nothing */
	cnt = 0;
	assert_int_equal(vhost_mem_gpa_to_iov(&g_mem, 0, 0, iov, &cnt, 4), 0);
	assert_int_equal(cnt, 0);
	/* a bogus region count is bounded */
	g_mem.nregions = 1000;
	cnt = 0;
	assert_int_equal(vhost_mem_gpa_to_iov(&g_mem, 0x10000, 1, iov, &cnt, 4), 0);
	assert_null(vhost_mem_gpa_to_vva(&g_mem, 0x0, 1));
}

static void
test_vq_init_rejects_bad_setup(void **state)
{
	struct vhost_vq vq = g_vq;

	vq.size = 0;
	assert_int_equal(vhost_vq_init(&vq), -EINVAL);
	vq.size = 6;	/* split rings are powers of two */
	assert_int_equal(vhost_vq_init(&vq), -EINVAL);
	vq.size = QSZ;
	vq.desc = NULL;
	assert_int_equal(vhost_vq_init(&vq), -EINVAL);
	vq = g_vq;
	vq.mem = NULL;
	assert_int_equal(vhost_vq_init(&vq), -EINVAL);
	vq = g_vq;
	vq.size = VHOST_VQ_MAX_SIZE + 1;
	assert_int_equal(vhost_vq_init(&vq), -EINVAL);
	vq = g_vq;
	vq.packed = true;
	vq.last_avail_idx = QSZ;
	assert_int_equal(vhost_vq_init(&vq), -EINVAL);
}

/* ---- split ring ---- */

static void
test_split_empty(void **state)
{
	assert_false(vhost_vq_has_avail(&g_vq));
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 0);
}

static void
test_split_chain_read_write(void **state)
{
	ut_desc(3, 0x10000, 16, VRING_DESC_F_NEXT, 5);
	ut_desc(5, 0x13ff0, 0x20, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	ut_desc(1, 0x100000, 1, VRING_DESC_F_WRITE, 0);
	ut_avail(3);
	assert_true(vhost_vq_has_avail(&g_vq));
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
	assert_int_equal(g_elem.id, 3);
	assert_int_equal(g_elem.out_cnt, 1);
	assert_int_equal(g_elem.iovcnt, 4);	/* the middle buffer crosses two regions */
	assert_int_equal(g_elem.in_len, 0x21);
	assert_ptr_equal(g_elem.iov[3].iov_base, g_guest + 0x8000);
	assert_int_equal(g_vq.inflight_cnt, 1);
	assert_false(vhost_vq_has_avail(&g_vq));

	vhost_vq_push(&g_vq, &g_elem, 0x21);
	assert_int_equal(g_split.used.idx, 1);
	assert_int_equal(g_split.used.ring[0].id, 3);
	assert_int_equal(g_split.used.ring[0].len, 0x21);
	assert_int_equal(g_vq.inflight_cnt, 0);
	assert_true(g_vq.call_pending);
}

static void
test_split_bad_address_fails_request(void **state)
{
	ut_desc(0, 0x10000, 16, VRING_DESC_F_NEXT, 1);
	ut_desc(1, 0x18000, 16, VRING_DESC_F_WRITE, 0);	/* in the hole */
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	assert_int_equal(g_elem.id, 0);
	assert_false(g_vq.broken);
	vhost_vq_push(&g_vq, &g_elem, 0);
	assert_int_equal(g_split.used.idx, 1);
	/* the queue keeps working */
	ut_desc(2, 0x10000, 16, 0, 0);
	ut_avail(2);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
	assert_int_equal(g_elem.id, 2);
}

static void
test_split_head_out_of_range_breaks(void **state)
{
	ut_avail(QSZ);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EPROTO);
	assert_true(g_vq.broken);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 0);
	assert_false(vhost_vq_has_avail(&g_vq));
	assert_true(vhost_vq_notify_enable(&g_vq));	/* broken rings never keep us awake */
}

static void
test_split_avail_jump_breaks(void **state)
{
	g_split.avail.idx = QSZ + 1;
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EPROTO);
	assert_true(g_vq.broken);
}

/*
 * avail->idx is read once per catch-up: entries up to the value read are
 * popped without reading it again (a cache-line transfer per request), and a
 * bad index is caught at the next read.
 */
static void
test_split_avail_idx_read_once_per_catch_up(void **state)
{
	ut_desc(0, 0x10000, 1, VRING_DESC_F_WRITE, 0);
	ut_avail(0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
	g_split.avail.idx = 2 + QSZ + 5;	/* the guest jumps it now */
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);	/* from the value read */
	assert_false(g_vq.broken);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EPROTO);	/* read again */
	assert_true(g_vq.broken);
}

static void
test_split_loop_fails(void **state)
{
	ut_desc(0, 0x10000, 1, VRING_DESC_F_NEXT, 1);
	ut_desc(1, 0x10000, 1, VRING_DESC_F_NEXT, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 64), -EIO);
	/* self loop */
	ut_desc(4, 0x10000, 0, VRING_DESC_F_NEXT, 4);
	ut_avail(4);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 64), -EIO);
	assert_int_equal(g_elem.id, 4);
}

static void
test_split_next_out_of_range_fails(void **state)
{
	ut_desc(0, 0x10000, 1, VRING_DESC_F_NEXT, QSZ);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
}

static void
test_split_readable_after_writable_fails(void **state)
{
	ut_desc(0, 0x10000, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	ut_desc(1, 0x10010, 16, 0, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
}

static void
test_split_too_many_segments_fails(void **state)
{
	uint16_t i;

	for (i = 0; i < QSZ; i++) {
		ut_desc(i, 0x10000 + i, 1, i + 1 < QSZ ? VRING_DESC_F_NEXT : 0, i + 1);
	}
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 4), -EIO);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, QSZ), 1);
	assert_int_equal(g_elem.iovcnt, QSZ);
}

static void
test_split_writable_len_overflow_fails(void **state)
{
	/* A huge fake region (never dereferenced) lets two 4 GiB-1 buffers be mapped. */
	g_mem.regions[2] = (struct vhost_mem_region){1ull << 40, 1ull << 34, 0x100000};
	ut_desc(0, 1ull << 40, UINT32_MAX, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	ut_desc(1, 1ull << 40, UINT32_MAX, VRING_DESC_F_WRITE, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
}

static void
test_split_zero_len_desc(void **state)
{
	ut_desc(0, 0, 0, VRING_DESC_F_NEXT, 1);
	ut_desc(1, 0x10000, 4, VRING_DESC_F_WRITE, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
	assert_int_equal(g_elem.iovcnt, 1);
	assert_int_equal(g_elem.out_cnt, 0);
}

static struct vring_desc *
ut_indirect_table(uint64_t gpa_off)
{
	/* table in region 2 at gpa 0x100000 + off */
	return (struct vring_desc *)(g_guest + 0x8000 + gpa_off);
}

static void
test_split_indirect(void **state)
{
	struct vring_desc *t = ut_indirect_table(0x100);

	t[0] = (struct vring_desc){0x10000, 16, VRING_DESC_F_NEXT, 2};
	t[2] = (struct vring_desc){0x10100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1};
	t[1] = (struct vring_desc){0x10400, 1, VRING_DESC_F_WRITE, 0};
	ut_desc(6, 0x100100, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	ut_avail(6);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
	assert_int_equal(g_elem.id, 6);
	assert_int_equal(g_elem.iovcnt, 3);
	assert_int_equal(g_elem.out_cnt, 1);
	assert_int_equal(g_elem.in_len, 513);

	/* a direct descriptor followed by an indirect table is allowed too */
	ut_desc(0, 0x10000, 16, VRING_DESC_F_NEXT, 6);
	t[0].flags = 0;
	t[0].addr = 0x10010;
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
	assert_int_equal(g_elem.iovcnt, 2);	/* t[0] has no NEXT now: the table ends there */
	assert_int_equal(g_elem.out_cnt, 2);
}

static void
test_split_indirect_errors(void **state)
{
	struct vring_desc *t = ut_indirect_table(0x200);
	int i;

	t[0] = (struct vring_desc){0x10000, 16, 0, 0};

	/* not negotiated */
	g_vq.indirect = false;
	ut_desc(0, 0x100200, 16, VRING_DESC_F_INDIRECT, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	g_vq.indirect = true;
	/* INDIRECT | NEXT */
	ut_desc(0, 0x100200, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	/* size 0, not a multiple of 16, too large, misaligned */
	ut_desc(0, 0x100200, 0, VRING_DESC_F_INDIRECT, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	ut_desc(0, 0x100200, 24, VRING_DESC_F_INDIRECT, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	ut_desc(0, 0x100000, (VHOST_VQ_MAX_INDIRECT + 1) * 16, VRING_DESC_F_INDIRECT, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	ut_desc(0, 0x100208, 16, VRING_DESC_F_INDIRECT, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	/* table outside memory, and across two regions */
	ut_desc(0, 0x20000, 16, VRING_DESC_F_INDIRECT, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	ut_desc(0, 0x13ff0, 32, VRING_DESC_F_INDIRECT, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	/* nested indirect */
	t[0] = (struct vring_desc){0x100200, 16, VRING_DESC_F_INDIRECT, 0};
	ut_desc(0, 0x100200, 16, VRING_DESC_F_INDIRECT, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	/* loop inside the table, next past the table */
	for (i = 0; i < 4; i++) {
		t[i] = (struct vring_desc){0x10000, 1, VRING_DESC_F_NEXT, (uint16_t)((i + 1) % 4)};
	}
	ut_desc(0, 0x100200, 64, VRING_DESC_F_INDIRECT, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 64), -EIO);
	t[3].next = 4;
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 64), -EIO);
	assert_false(g_vq.broken);
}

static void
test_split_index_wraparound(void **state)
{
	int i;

	g_vq.last_avail_idx = 65534;
	g_vq.last_used_idx = 65534;
	g_split.avail.idx = 65534;
	g_split.used.idx = 65534;
	assert_int_equal(vhost_vq_init(&g_vq), 0);	/* indexes are set before init */
	ut_desc(0, 0x10000, 1, VRING_DESC_F_WRITE, 0);
	for (i = 0; i < 4; i++) {
		ut_avail(0);
		assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
		vhost_vq_push(&g_vq, &g_elem, 1);
	}
	assert_int_equal(g_vq.last_avail_idx, 2);
	assert_int_equal(g_split.used.idx, 2);
	assert_int_equal(g_split.used.ring[1].id, 0);
}

static int g_ops_set, g_ops_last, g_ops_clr;
static uint16_t g_ops_head, g_ops_used_idx;

static void
ut_set_split(void *ctx, uint16_t head)
{
	g_ops_set++;
	g_ops_head = head;
}

static void
ut_last_split(void *ctx, uint16_t head)
{
	assert_int_equal(head, g_ops_head);
	g_ops_last++;
}

static void
ut_clr_split(void *ctx, uint16_t last_used_idx, uint16_t head)
{
	g_ops_clr++;
	g_ops_used_idx = last_used_idx;
}

static const struct vhost_vq_inflight_ops g_ut_inflight = {
	.set_split = ut_set_split,
	.last_split = ut_last_split,
	.clr_split = ut_clr_split,
};

static void
test_split_inflight_hooks(void **state)
{
	g_vq.inflight = &g_ut_inflight;
	ut_desc(2, 0x10000, 1, 0, 0);
	ut_avail(2);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
	assert_int_equal(g_ops_set, 1);
	assert_int_equal(g_ops_head, 2);
	vhost_vq_push(&g_vq, &g_elem, 0);
	assert_int_equal(g_ops_last, 1);
	assert_int_equal(g_ops_clr, 1);
	assert_int_equal(g_ops_used_idx, 1);
	/* resubmission by head */
	assert_int_equal(vhost_vq_pop_head(&g_vq, 2, &g_elem, 16), 1);
	assert_int_equal(g_elem.id, 2);
	assert_int_equal(vhost_vq_pop_head(&g_vq, QSZ, &g_elem, 16), -EPROTO);
	assert_true(g_vq.broken);
}

static uint64_t
ut_eventfd_count(int fd)
{
	eventfd_t v = 0;

	if (eventfd_read(fd, &v) != 0) {
		return 0;
	}
	return v;
}

static void
ut_complete_one(void)
{
	ut_desc(0, 0x10000, 1, VRING_DESC_F_WRITE, 0);
	ut_avail(0);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
	vhost_vq_push(&g_vq, &g_elem, 1);
}

static void
test_split_call_flags(void **state)
{
	g_vq.callfd = eventfd(0, EFD_NONBLOCK);
	assert_false(vhost_vq_flush_calls(&g_vq, 0, false));	/* nothing pending */
	ut_complete_one();
	assert_true(vhost_vq_flush_calls(&g_vq, 0, false));
	assert_int_equal(ut_eventfd_count(g_vq.callfd), 1);
	g_split.avail.flags = VRING_AVAIL_F_NO_INTERRUPT;
	ut_complete_one();
	assert_false(vhost_vq_flush_calls(&g_vq, 0, false));
	assert_false(g_vq.call_pending);
	assert_int_equal(ut_eventfd_count(g_vq.callfd), 0);
}

static void
test_split_event_idx_used_event(void **state)
{
	g_vq.event_idx = true;
	g_vq.callfd = eventfd(0, EFD_NONBLOCK);
	g_split.avail.flags = VRING_AVAIL_F_NO_INTERRUPT;	/* ignored with EVENT_IDX */
	/* first completion always calls (nothing signalled yet) */
	ut_complete_one();
	assert_true(vhost_vq_flush_calls(&g_vq, 0, false));
	/* the guest wants a call only once used idx passes 3 */
	g_split.avail.used_event = 3;
	ut_complete_one();	/* used 2 */
	assert_false(vhost_vq_flush_calls(&g_vq, 0, false));
	ut_complete_one();	/* used 3 */
	assert_false(vhost_vq_flush_calls(&g_vq, 0, false));
	ut_complete_one();	/* used 4: crossed event 3 */
	assert_true(vhost_vq_flush_calls(&g_vq, 0, false));
	/* batch crossing the event in one flush */
	g_split.avail.used_event = 5;
	ut_complete_one();
	ut_complete_one();
	ut_complete_one();	/* used 7 */
	assert_true(vhost_vq_flush_calls(&g_vq, 0, false));
	assert_int_equal(ut_eventfd_count(g_vq.callfd), 3);
	assert_int_equal(g_vq.calls, 3);
}

static void
test_split_notify_enable_disable(void **state)
{
	/* init disabled kicks */
	assert_int_equal(g_split.used.flags, VRING_USED_F_NO_NOTIFY);
	assert_true(vhost_vq_notify_enable(&g_vq));
	assert_int_equal(g_split.used.flags, 0);
	vhost_vq_notify_disable(&g_vq);
	assert_int_equal(g_split.used.flags, VRING_USED_F_NO_NOTIFY);
	/* work raced in: do not sleep */
	ut_desc(0, 0x10000, 1, 0, 0);
	ut_avail(0);
	assert_false(vhost_vq_notify_enable(&g_vq));

	/* EVENT_IDX: avail_event carries our position */
	g_vq.event_idx = true;
	g_split.used.flags = 0;
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
	vhost_vq_notify_disable(&g_vq);
	assert_int_equal(g_split.used.flags, 0);
	assert_true(vhost_vq_notify_enable(&g_vq));
	assert_int_equal(g_split.used.avail_event, 1);
}

static void
test_coalescing(void **state)
{
	g_vq.callfd = eventfd(0, EFD_NONBLOCK);
	g_vq.req_cnt = 50;
	vhost_vq_coalesce_update(&g_vq, 100, 100);
	assert_int_equal(g_vq.irq_delay_us, 0);
	assert_int_equal(g_vq.req_cnt, 0);
	g_vq.req_cnt = 300;
	vhost_vq_coalesce_update(&g_vq, 100, 100);
	assert_int_equal(g_vq.irq_delay_us, 200);
	g_vq.req_cnt = 100000;
	vhost_vq_coalesce_update(&g_vq, 100, 100);
	assert_int_equal(g_vq.irq_delay_us, 1000);	/* capped at 10x base */
	g_vq.req_cnt = 100000;
	vhost_vq_coalesce_update(&g_vq, 0, 100);	/* off */
	assert_int_equal(g_vq.irq_delay_us, 0);

	g_vq.req_cnt = 300;
	vhost_vq_coalesce_update(&g_vq, 100, 100);
	ut_complete_one();
	assert_true(vhost_vq_flush_calls(&g_vq, 1000, false));	/* first call at once */
	ut_complete_one();
	assert_false(vhost_vq_flush_calls(&g_vq, 1100, false));	/* within the 200 us window */
	assert_true(g_vq.call_pending);
	assert_true(vhost_vq_flush_calls(&g_vq, 1200, false));
	ut_complete_one();
	assert_true(vhost_vq_flush_calls(&g_vq, 1201, true));	/* forced (before sleeping) */
	assert_int_equal(ut_eventfd_count(g_vq.callfd), 3);
}

/* ---- packed ring ---- */

#define F_AVAIL	(1u << 7)
#define F_USED	(1u << 15)

static struct vring_packed_desc g_pdesc[QSZ];
static struct vring_packed_desc_event g_drv_ev, g_dev_ev;
static bool g_drv_wrap;
static uint16_t g_drv_slot;

static int
ut_packed_setup(void **state)
{
	g_guest = calloc(1, MEMSZ);
	ut_mem_init();
	memset(g_pdesc, 0, sizeof(g_pdesc));
	memset(&g_drv_ev, 0, sizeof(g_drv_ev));
	memset(&g_dev_ev, 0, sizeof(g_dev_ev));
	g_drv_wrap = true;
	g_drv_slot = 0;
	memset(&g_vq, 0, sizeof(g_vq));
	g_vq.packed = true;
	g_vq.size = QSZ;
	g_vq.desc_packed = g_pdesc;
	g_vq.driver_event = &g_drv_ev;
	g_vq.device_event = &g_dev_ev;
	g_vq.avail_wrap = true;
	g_vq.used_wrap = true;
	g_vq.mem = &g_mem;
	g_vq.indirect = true;
	g_vq.callfd = -1;
	g_vq.kickfd = -1;
	g_elem.iov = g_iov;
	assert_int_equal(vhost_vq_init(&g_vq), 0);
	return 0;
}

/* Driver side: add a chain of n buffers; the head's flags are written last. */
static void
ut_packed_add(uint16_t id, const struct vring_packed_desc *bufs, int n)
{
	uint16_t head = g_drv_slot, head_flags = 0;
	int i;

	for (i = 0; i < n; i++) {
		uint16_t flags = bufs[i].flags | (i + 1 < n ? VRING_DESC_F_NEXT : 0);

		flags |= g_drv_wrap ? F_AVAIL : F_USED;
		g_pdesc[g_drv_slot].addr = bufs[i].addr;
		g_pdesc[g_drv_slot].len = bufs[i].len;
		g_pdesc[g_drv_slot].id = id;
		if (i == 0) {
			head_flags = flags;
		} else {
			g_pdesc[g_drv_slot].flags = flags;
		}
		if (++g_drv_slot == QSZ) {
			g_drv_slot = 0;
			g_drv_wrap = !g_drv_wrap;
		}
	}
	g_pdesc[head].flags = head_flags;
}

static void
test_packed_chain_and_push(void **state)
{
	struct vring_packed_desc bufs[3] = {
		{0x10000, 16, 0, 0},
		{0x10100, 512, 0, VRING_DESC_F_WRITE},
		{0x10400, 1, 0, VRING_DESC_F_WRITE},
	};

	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 0);
	ut_packed_add(5, bufs, 3);
	assert_true(vhost_vq_has_avail(&g_vq));
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
	assert_int_equal(g_elem.id, 5);
	assert_int_equal(g_elem.ndesc, 3);
	assert_int_equal(g_elem.out_cnt, 1);
	assert_int_equal(g_elem.in_len, 513);
	assert_int_equal(g_vq.last_avail_idx, 3);
	assert_false(vhost_vq_has_avail(&g_vq));

	vhost_vq_push(&g_vq, &g_elem, 513);
	assert_int_equal(g_pdesc[0].id, 5);
	assert_int_equal(g_pdesc[0].len, 513);
	assert_true(g_pdesc[0].flags & F_AVAIL);
	assert_true(g_pdesc[0].flags & F_USED);
	assert_int_equal(g_vq.last_used_idx, 3);
}

static void
test_packed_wraparound(void **state)
{
	struct vring_packed_desc bufs[3] = {
		{0x10000, 16, 0, 0},
		{0x10100, 4, 0, VRING_DESC_F_WRITE},
		{0x10400, 1, 0, VRING_DESC_F_WRITE},
	};
	int i;

	/* 3-descriptor chains in an 8-slot ring: chains straddle the end */
	for (i = 0; i < 10; i++) {
		ut_packed_add((uint16_t)(i % QSZ), bufs, 3);
		assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
		assert_int_equal(g_elem.id, i % QSZ);
		assert_int_equal(g_elem.iovcnt, 3);
		vhost_vq_push(&g_vq, &g_elem, 5);
		assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 0);
	}
	assert_int_equal(g_vq.last_avail_idx, 30 % QSZ);
	assert_int_equal(g_vq.avail_wrap, (30 / QSZ) % 2 == 0);
	assert_int_equal(g_vq.last_used_idx, g_vq.last_avail_idx);
	assert_int_equal(g_vq.used_wrap, g_vq.avail_wrap);
	assert_int_equal(vhost_vq_packed_avail_base(&g_vq),
			 (uint16_t)(g_vq.last_avail_idx | (g_vq.avail_wrap ? 0x8000 : 0)));
	assert_int_equal(vhost_vq_packed_used_base(&g_vq), vhost_vq_packed_avail_base(&g_vq));
}

static void
test_packed_indirect(void **state)
{
	struct vring_packed_desc *t = (struct vring_packed_desc *)(g_guest + 0x8000 + 0x300);
	struct vring_packed_desc ind = {0x100300, 3 * 16, 0, VRING_DESC_F_INDIRECT};

	t[0] = (struct vring_packed_desc){0x10000, 16, 0, 0};
	t[1] = (struct vring_packed_desc){0x10100, 512, 0, VRING_DESC_F_WRITE};
	t[2] = (struct vring_packed_desc){0x10400, 1, 0, VRING_DESC_F_WRITE};
	ut_packed_add(2, &ind, 1);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
	assert_int_equal(g_elem.id, 2);
	assert_int_equal(g_elem.ndesc, 1);
	assert_int_equal(g_elem.iovcnt, 3);
	assert_int_equal(g_elem.in_len, 513);

	/* errors: nested, misaligned, not negotiated, readable after writable */
	t[1].flags = VRING_DESC_F_INDIRECT;
	ut_packed_add(2, &ind, 1);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	t[1].flags = VRING_DESC_F_WRITE;
	t[2].flags = 0;
	ut_packed_add(2, &ind, 1);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	t[2].flags = VRING_DESC_F_WRITE;
	ind.addr += 8;
	ut_packed_add(2, &ind, 1);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	ind.addr -= 8;
	ind.len = 40;
	ut_packed_add(2, &ind, 1);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	ind.len = 48;
	g_vq.indirect = false;
	ut_packed_add(2, &ind, 1);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	g_vq.indirect = true;
	ind.addr = 0x20000;
	ut_packed_add(2, &ind, 1);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	assert_false(g_vq.broken);
}

/* A fake inflight region for packed resubmission: entry -> its descriptor copies. */
static struct vring_packed_desc g_inf_desc[32];
static int g_inf_num;		/* what get_packed reports: > 0 chain length, < 0 error */
static uint16_t g_inf_entry, g_inf_clr_entry, g_inf_last_entry;
static int g_inf_calls;

static int
ut_get_packed(void *ctx, uint16_t entry, struct vring_packed_desc *descs, uint16_t max)
{
	int i;

	g_inf_calls++;
	g_inf_entry = entry;
	for (i = 0; i < g_inf_num && i < max; i++) {
		descs[i] = g_inf_desc[i];
	}
	return g_inf_num;
}

static void
ut_last_packed(void *ctx, uint16_t entry)
{
	g_inf_last_entry = entry;
}

static void
ut_clr_packed(void *ctx, uint16_t entry)
{
	g_inf_clr_entry = entry;
}

static const struct vhost_vq_inflight_ops g_ut_inflight_packed = {
	.last_packed = ut_last_packed,
	.clr_packed = ut_clr_packed,
	.get_packed = ut_get_packed,
};

static void
test_packed_inflight_resubmit(void **state)
{
	/* A 3-descriptor chain recorded in entry 4 (id in the last one), resubmitted
	 * after a restart at used slot 6 (wrap set): avail moves to slot 1, wrap clear. */
	g_inf_desc[0] = (struct vring_packed_desc){0x10000, 16, 9, VRING_DESC_F_NEXT};
	g_inf_desc[1] = (struct vring_packed_desc){0x10100, 512, 9,
						   VRING_DESC_F_NEXT | VRING_DESC_F_WRITE};
	g_inf_desc[2] = (struct vring_packed_desc){0x10400, 1, 5, VRING_DESC_F_WRITE};
	g_inf_num = 3;
	g_vq.inflight = &g_ut_inflight_packed;
	g_vq.last_avail_idx = g_vq.last_used_idx = 6;
	assert_int_equal(vhost_vq_pop_inflight_packed(&g_vq, 4, &g_elem, 16), 1);
	assert_int_equal(g_inf_entry, 4);
	assert_int_equal(g_elem.id, 5);
	assert_int_equal(g_elem.ndesc, 3);
	assert_int_equal(g_elem.inflight_entry, 4);
	assert_int_equal(g_elem.iovcnt, 3);
	assert_int_equal(g_elem.out_cnt, 1);
	assert_int_equal(g_elem.in_len, 513);
	assert_int_equal(g_vq.last_avail_idx, 1);
	assert_false(g_vq.avail_wrap);
	assert_int_equal(g_vq.inflight_cnt, 1);
	/* Its completion goes to the used slot the ring restarted at, and clears the entry. */
	vhost_vq_push(&g_vq, &g_elem, 513);
	assert_int_equal(g_pdesc[6].id, 5);
	assert_int_equal(g_pdesc[6].len, 513);
	assert_int_equal(g_inf_last_entry, 4);
	assert_int_equal(g_inf_clr_entry, 4);
	assert_int_equal(g_vq.last_used_idx, 1);
	assert_false(g_vq.used_wrap);
	assert_int_equal(g_vq.inflight_cnt, 0);
	assert_false(g_vq.broken);
}

static void
test_packed_inflight_resubmit_indirect_and_long(void **state)
{
	struct vring_packed_desc *t = (struct vring_packed_desc *)(g_guest + 0x8000 + 0x300);
	struct iovec iov[32];
	struct vhost_vq_elem elem = {.iov = iov};
	int i;

	g_vq.inflight = &g_ut_inflight_packed;
	/* One indirect descriptor: the table is read from guest memory. */
	t[0] = (struct vring_packed_desc){0x10000, 16, 0, 0};
	t[1] = (struct vring_packed_desc){0x10100, 8, 0, VRING_DESC_F_WRITE};
	g_inf_desc[0] = (struct vring_packed_desc){0x100300, 2 * 16, 3, VRING_DESC_F_INDIRECT};
	g_inf_num = 1;
	assert_int_equal(vhost_vq_pop_inflight_packed(&g_vq, 0, &g_elem, 16), 1);
	assert_int_equal(g_elem.id, 3);
	assert_int_equal(g_elem.ndesc, 1);
	assert_int_equal(g_elem.iovcnt, 2);
	assert_int_equal(g_vq.last_avail_idx, 1);

	/* A chain longer than the on-stack copy (16) in a 32-entry ring: copied to the heap. */
	g_vq.size = 32;
	g_vq.last_avail_idx = 30;
	g_vq.avail_wrap = true;
	for (i = 0; i < 20; i++) {
		g_inf_desc[i] = (struct vring_packed_desc){0x10000 + i * 16, 16, 7,
							   i < 19 ? VRING_DESC_F_NEXT : 0};
	}
	g_inf_num = 20;
	g_inf_calls = 0;
	assert_int_equal(vhost_vq_pop_inflight_packed(&g_vq, 17, &elem, 32), 1);
	assert_int_equal(g_inf_calls, 2);
	assert_int_equal(elem.id, 7);
	assert_int_equal(elem.ndesc, 20);
	assert_int_equal(elem.iovcnt, 20);
	assert_int_equal(g_vq.last_avail_idx, 18);
	assert_false(g_vq.avail_wrap);
	/* A bad buffer in the chain fails the request, not the ring; the slots are consumed. */
	g_inf_desc[2].addr = 0x18000;
	g_inf_num = 3;
	g_inf_desc[2].flags = 0;
	assert_int_equal(vhost_vq_pop_inflight_packed(&g_vq, 1, &elem, 32), -EIO);
	assert_int_equal(elem.id, 7);
	assert_int_equal(g_vq.last_avail_idx, 21);
	assert_false(g_vq.broken);
	g_vq.size = QSZ;
}

static void
test_packed_inflight_resubmit_errors(void **state)
{
	/* Not packed, or no way to read the region: refused, nothing changes. */
	g_vq.packed = false;
	assert_int_equal(vhost_vq_pop_inflight_packed(&g_vq, 0, &g_elem, 16), -EINVAL);
	g_vq.packed = true;
	assert_int_equal(vhost_vq_pop_inflight_packed(&g_vq, 0, &g_elem, 16), -EINVAL);
	g_vq.inflight = &g_ut_inflight;	/* split hooks only */
	assert_int_equal(vhost_vq_pop_inflight_packed(&g_vq, 0, &g_elem, 16), -EINVAL);
	assert_false(g_vq.broken);

	g_vq.inflight = &g_ut_inflight_packed;
	/* Unreadable entry, empty chain, a chain longer than the ring: the ring breaks. */
	g_inf_num = -ENOENT;
	assert_int_equal(vhost_vq_pop_inflight_packed(&g_vq, 0, &g_elem, 16), -EPROTO);
	assert_true(g_vq.broken);
	assert_int_equal(vhost_vq_pop_inflight_packed(&g_vq, 0, &g_elem, 16), 0);
	g_vq.broken = false;
	g_inf_num = 0;
	assert_int_equal(vhost_vq_pop_inflight_packed(&g_vq, 0, &g_elem, 16), -EPROTO);
	g_vq.broken = false;
	g_inf_num = QSZ + 1;
	assert_int_equal(vhost_vq_pop_inflight_packed(&g_vq, 0, &g_elem, 16), -EPROTO);
	g_vq.broken = false;
	/* Buffer id out of range. */
	g_inf_desc[0] = (struct vring_packed_desc){0x10000, 16, QSZ, 0};
	g_inf_num = 1;
	assert_int_equal(vhost_vq_pop_inflight_packed(&g_vq, 0, &g_elem, 16), -EPROTO);
	assert_true(g_vq.broken);
	assert_int_equal(g_vq.last_avail_idx, 0);
	assert_int_equal(g_vq.inflight_cnt, 0);
}

static void
test_packed_bad_address_fails_request(void **state)
{
	struct vring_packed_desc bufs[2] = {
		{0x10000, 16, 0, 0},
		{0x18000, 1, 0, VRING_DESC_F_WRITE},
	};

	ut_packed_add(7, bufs, 2);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EIO);
	assert_int_equal(g_elem.id, 7);
	assert_int_equal(g_elem.ndesc, 2);
	assert_int_equal(g_vq.last_avail_idx, 2);	/* the chain is consumed */
	vhost_vq_push(&g_vq, &g_elem, 0);
	assert_int_equal(g_vq.last_used_idx, 2);
	assert_false(g_pdesc[0].flags & VRING_DESC_F_WRITE);
}

static void
test_packed_bad_id_breaks(void **state)
{
	struct vring_packed_desc b = {0x10000, 16, 0, 0};

	ut_packed_add(QSZ, &b, 1);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EPROTO);
	assert_true(g_vq.broken);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 0);
}

static void
test_packed_endless_chain_breaks(void **state)
{
	int i;

	/* every slot available, every one with NEXT: the chain never ends */
	for (i = 0; i < QSZ; i++) {
		g_pdesc[i] = (struct vring_packed_desc){0x10000, 1, 0, F_AVAIL | VRING_DESC_F_NEXT};
	}
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 64), -EPROTO);
	assert_true(g_vq.broken);
}

static void
test_packed_chain_into_unavailable_breaks(void **state)
{
	g_pdesc[0] = (struct vring_packed_desc){0x10000, 1, 0, F_AVAIL | VRING_DESC_F_NEXT};
	g_pdesc[1] = (struct vring_packed_desc){0x10000, 1, 0, 0};	/* not made available */
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), -EPROTO);
	assert_true(g_vq.broken);
}

static void
ut_packed_complete_one(uint16_t id)
{
	struct vring_packed_desc b = {0x10000, 1, 0, VRING_DESC_F_WRITE};

	ut_packed_add(id, &b, 1);
	assert_int_equal(vhost_vq_pop(&g_vq, &g_elem, 16), 1);
	vhost_vq_push(&g_vq, &g_elem, 1);
}

static void
test_packed_driver_event(void **state)
{
	g_vq.callfd = eventfd(0, EFD_NONBLOCK);
	g_drv_ev.flags = 0x1;	/* DISABLE */
	ut_packed_complete_one(0);
	assert_false(vhost_vq_flush_calls(&g_vq, 0, false));
	g_drv_ev.flags = 0x0;	/* ENABLE */
	ut_packed_complete_one(1);
	assert_true(vhost_vq_flush_calls(&g_vq, 0, false));

	/* DESC without EVENT_IDX acts like ENABLE */
	g_drv_ev.flags = 0x2;
	ut_packed_complete_one(2);
	assert_true(vhost_vq_flush_calls(&g_vq, 0, false));

	/* DESC with EVENT_IDX: call once used passes slot 5 (wrap counter 1) */
	g_vq.event_idx = true;
	g_drv_ev.off_wrap = 5 | 0x8000;
	ut_packed_complete_one(3);	/* used slot now 4 */
	assert_false(vhost_vq_flush_calls(&g_vq, 0, false));
	ut_packed_complete_one(4);	/* 5 */
	assert_false(vhost_vq_flush_calls(&g_vq, 0, false));
	ut_packed_complete_one(5);	/* 6: crossed */
	assert_true(vhost_vq_flush_calls(&g_vq, 0, false));
	/* event in the next lap (wrap counter 0), slot 1 */
	g_drv_ev.off_wrap = 1;
	ut_packed_complete_one(6);	/* 7 */
	assert_false(vhost_vq_flush_calls(&g_vq, 0, false));
	ut_packed_complete_one(7);	/* 0, wrapped */
	assert_false(vhost_vq_flush_calls(&g_vq, 0, false));
	ut_packed_complete_one(0);	/* 1 */
	assert_false(vhost_vq_flush_calls(&g_vq, 0, false));
	ut_packed_complete_one(1);	/* 2: crossed */
	assert_true(vhost_vq_flush_calls(&g_vq, 0, false));
	/* a reserved flags value calls */
	g_drv_ev.flags = 0x3;
	ut_packed_complete_one(2);
	assert_true(vhost_vq_flush_calls(&g_vq, 0, false));
	assert_int_equal(ut_eventfd_count(g_vq.callfd), 5);
}

static void
test_packed_notify(void **state)
{
	struct vring_packed_desc b = {0x10000, 1, 0, 0};

	assert_int_equal(g_dev_ev.flags, 0x1);
	assert_true(vhost_vq_notify_enable(&g_vq));
	assert_int_equal(g_dev_ev.flags, 0x0);
	vhost_vq_notify_disable(&g_vq);
	assert_int_equal(g_dev_ev.flags, 0x1);
	ut_packed_add(0, &b, 1);
	assert_false(vhost_vq_notify_enable(&g_vq));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mem_translate_in_region, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_mem_translate_crosses_regions, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_mem_translate_errors, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_vq_init_rejects_bad_setup, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_empty, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_chain_read_write, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_bad_address_fails_request, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_head_out_of_range_breaks, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_avail_jump_breaks, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_avail_idx_read_once_per_catch_up, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_loop_fails, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_next_out_of_range_fails, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_readable_after_writable_fails, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_too_many_segments_fails, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_writable_len_overflow_fails, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_zero_len_desc, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_indirect, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_indirect_errors, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_index_wraparound, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_inflight_hooks, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_call_flags, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_event_idx_used_event, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_split_notify_enable_disable, ut_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_coalescing, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_packed_chain_and_push, ut_packed_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_packed_wraparound, ut_packed_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_packed_indirect, ut_packed_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_packed_bad_address_fails_request,
						ut_packed_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_packed_bad_id_breaks, ut_packed_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_packed_endless_chain_breaks, ut_packed_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_packed_chain_into_unavailable_breaks,
						ut_packed_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_packed_driver_event, ut_packed_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_packed_notify, ut_packed_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_packed_inflight_resubmit, ut_packed_setup,
						ut_teardown),
		cmocka_unit_test_setup_teardown(test_packed_inflight_resubmit_indirect_and_long,
						ut_packed_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_packed_inflight_resubmit_errors,
						ut_packed_setup, ut_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
