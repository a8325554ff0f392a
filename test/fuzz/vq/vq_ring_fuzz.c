/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: lib/vhost/virtqueue.c over a hostile guest. The input
 * chooses the ring type (split/packed), size, negotiated features, starting
 * indexes and a list of operations (pop, pop_head, push, guest writes into
 * its own memory, flush/notify); the rest of it is the guest memory (rings,
 * descriptor tables, indirect tables). Every popped element is checked:
 * iovecs inside guest memory, counts within bounds, in_len equal to the sum of
 * the device-writable iovecs, buffer id inside the ring, inflight count exact.
 *
 * Input: [0] mode (bit0 packed, bit1 event_idx, bit2 indirect, bit3 inflight
 * ops), [1] size, [2] iov_max, [3..4] start index, [5] op count N,
 * N op bytes (+ argument bytes), then guest memory.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../lib/vhost/virtqueue.c"
#include "../common/fuzz_guest.h"

#define IOV_MAX_FUZZ	64

struct outstanding {
	uint16_t	id;
	uint16_t	ndesc;
	uint16_t	inflight_entry;
	uint32_t	in_len;
};

static struct vhost_vq g_vq;
static uint32_t g_inflight_set;

static void
fz_set_split(void *ctx, uint16_t head)
{
	FG_CHECK(head < g_vq.size);
	g_inflight_set++;
}

static void
fz_last_split(void *ctx, uint16_t head)
{
	FG_CHECK(head < g_vq.size);
}

static void
fz_clr_split(void *ctx, uint16_t last_used_idx, uint16_t head)
{
	FG_CHECK(head < g_vq.size);
}

static void
fz_set_packed(void *ctx, uint16_t head, uint16_t last, uint16_t *inflight_entry)
{
	FG_CHECK(head < g_vq.size && last < g_vq.size);
	*inflight_entry = head;
	g_inflight_set++;
}

static void
fz_last_packed(void *ctx, uint16_t inflight_entry)
{
	FG_CHECK(inflight_entry < g_vq.size);
}

static void
fz_clr_packed(void *ctx, uint16_t inflight_entry)
{
	FG_CHECK(inflight_entry < g_vq.size);
}

static const struct vhost_vq_inflight_ops g_inflight_ops = {
	.set_split = fz_set_split,
	.last_split = fz_last_split,
	.clr_split = fz_clr_split,
	.set_packed = fz_set_packed,
	.last_packed = fz_last_packed,
	.clr_packed = fz_clr_packed,
};

/* Check and touch one popped element; returns a checksum so nothing is optimised out. */
static uint32_t
check_elem(const struct fg_guest *g, const struct vhost_vq_elem *elem, int rc, uint16_t iov_max)
{
	uint64_t in = 0;
	uint32_t sum = 0;
	uint16_t i;

	FG_CHECK(elem->iovcnt <= iov_max);
	FG_CHECK(elem->out_cnt <= elem->iovcnt);
	FG_CHECK(elem->id < g_vq.size);
	if (g_vq.packed) {
		FG_CHECK(elem->ndesc >= 1 && elem->ndesc <= g_vq.size);
	}
	if (rc != 1) {
		return 0;
	}
	for (i = 0; i < elem->iovcnt; i++) {
		const struct iovec *v = &elem->iov[i];

		FG_CHECK(v->iov_len > 0);
		FG_CHECK(fg_guest_contains(g, v->iov_base, v->iov_len));
		if (i < elem->out_cnt) {
			sum += ((const uint8_t *)v->iov_base)[0];
			sum += ((const uint8_t *)v->iov_base)[v->iov_len - 1];
		} else {
			((uint8_t *)v->iov_base)[0] = 0x5a;
			((uint8_t *)v->iov_base)[v->iov_len - 1] = 0xa5;
			in += v->iov_len;
		}
	}
	FG_CHECK(in == elem->in_len);
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_in in = {data, size, 0};
	static struct fg_guest g;
	struct iovec iov[IOV_MAX_FUZZ];
	struct vhost_vq_elem elem;
	struct outstanding *out;
	uint32_t nout = 0, i;
	uint8_t mode, nops;
	const uint8_t *ops;
	uint16_t iov_max, start;
	volatile uint32_t sink = 0;
	int rc;

	mode = fg_u8(&in);
	memset(&g_vq, 0, sizeof(g_vq));
	g_vq.packed = mode & 1;
	g_vq.event_idx = (mode >> 1) & 1;
	g_vq.indirect = (mode >> 2) & 1;
	if (mode & 8) {
		g_vq.inflight = &g_inflight_ops;
	}
	if (g_vq.packed) {
		g_vq.size = (uint16_t)(1 + fg_u8(&in) % FG_QMAX);
	} else {
		g_vq.size = (uint16_t)(1u << (fg_u8(&in) % 9));
	}
	iov_max = (uint16_t)(1 + fg_u8(&in) % IOV_MAX_FUZZ);
	start = fg_u16(&in);
	if (g_vq.packed) {
		g_vq.last_avail_idx = g_vq.last_used_idx = (uint16_t)((start & 0x7fff) % g_vq.size);
		g_vq.avail_wrap = g_vq.used_wrap = !(start & 0x8000);
	} else {
		g_vq.last_avail_idx = g_vq.last_used_idx = start;
	}
	g_vq.callfd = -1;
	g_vq.kickfd = -1;
	nops = fg_u8(&in);
	ops = in.p + in.pos;
	if (in.len - in.pos < nops) {
		nops = (uint8_t)(in.len - in.pos);
	}
	in.pos += nops;

	fg_guest_init(&g, in.p + in.pos, in.len - in.pos);
	fg_guest_ring(&g, &g_vq);
	FG_CHECK(vhost_vq_init(&g_vq) == 0);
	out = calloc(g_vq.size, sizeof(*out));
	elem.iov = iov;
	g_inflight_set = 0;

	/* Each op byte: low 3 bits the operation, the rest its argument. */
	for (i = 0; i < (uint32_t)nops + g_vq.size * 2u; i++) {
		uint8_t op = i < nops ? ops[i] : 0;	/* then drain: pop until empty */
		uint8_t arg = op >> 3;

		switch (op & 7) {
		case 0: /* pop */
		case 1:
			if (nout == g_vq.size) {
				/* A well-behaved device never holds more than size requests. */
				goto push;
			}
			rc = vhost_vq_pop(&g_vq, &elem, (uint16_t)(1 + (arg % iov_max)));
			FG_CHECK(rc == 0 || rc == 1 || rc == -EIO || rc == -EPROTO);
			if (rc == -EPROTO) {
				FG_CHECK(g_vq.broken);
			}
			if (rc == 1 || rc == -EIO) {
				sink += check_elem(&g, &elem, rc, (uint16_t)(1 + (arg % iov_max)));
				out[nout++] = (struct outstanding){elem.id, elem.ndesc,
								   elem.inflight_entry, elem.in_len};
			} else if (i >= nops) {
				i = nops + g_vq.size * 2u;	/* drained */
			}
			break;
		case 2: /* pop_head (split inflight resubmission) */
			if (nout == g_vq.size) {
				goto push;
			}
			rc = vhost_vq_pop_head(&g_vq, (uint16_t)(arg * 9), &elem, iov_max);
			FG_CHECK(rc == 0 || rc == 1 || rc == -EIO || rc == -EPROTO ||
				 (rc == -EINVAL && g_vq.packed));
			if (rc == 1 || rc == -EIO) {
				sink += check_elem(&g, &elem, rc, iov_max);
				out[nout++] = (struct outstanding){elem.id, elem.ndesc,
								   elem.inflight_entry, elem.in_len};
			}
			break;
		case 3: /* push the oldest (or newest) outstanding request */
push:
			if (nout > 0) {
				struct vhost_vq_elem e = {0};
				uint32_t k = (arg & 1) ? nout - 1 : 0;

				e.id = out[k].id;
				e.ndesc = out[k].ndesc;
				e.inflight_entry = out[k].inflight_entry;
				vhost_vq_push(&g_vq, &e, arg & 2 ? out[k].in_len : 0);
				memmove(&out[k], &out[k + 1], (nout - k - 1) * sizeof(*out));
				nout--;
			}
			break;
		case 4: { /* the guest writes 2 bytes of its ring memory */
			uint32_t off = ((uint32_t)arg << 8 | (i + 1 < nops ? ops[i + 1] : 0)) %
				       (FG_USED_OFF + 8u * FG_QMAX);

			g.mem[0][off] = (uint8_t)(i * 31);
			g.mem[0][off + 1] = arg;
			break;
		}
		case 5:
			sink += vhost_vq_flush_calls(&g_vq, i, arg & 1);
			break;
		case 6:
			sink += vhost_vq_notify_enable(&g_vq);
			sink += vhost_vq_has_avail(&g_vq);
			break;
		case 7:
			vhost_vq_notify_disable(&g_vq);
			vhost_vq_coalesce_update(&g_vq, arg, 3);
			sink += vhost_vq_packed_avail_base(&g_vq) + vhost_vq_packed_used_base(&g_vq);
			break;
		}
		FG_CHECK(g_vq.inflight_cnt == nout);
		if (g_vq.packed) {
			FG_CHECK(g_vq.last_avail_idx < g_vq.size && g_vq.last_used_idx < g_vq.size);
		}
	}
	while (nout > 0) {
		struct vhost_vq_elem e = {0};

		e.id = out[nout - 1].id;
		e.ndesc = out[nout - 1].ndesc;
		e.inflight_entry = out[nout - 1].inflight_entry;
		vhost_vq_push(&g_vq, &e, out[nout - 1].in_len);
		nout--;
	}
	sink += vhost_vq_flush_calls(&g_vq, 0, true);
	(void)sink;
	free(out);
	fg_guest_fini(&g);
	return 0;
}
