/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split and packed virtqueues over hostile guest memory. See virtqueue.h.
 *
 * Ordering: the guest publishes descriptors before the avail index (split) or
 * before the head's flags (packed), so both are read with acquire semantics
 * and everything after them is read once into locals (the guest may rewrite
 * its memory at any time; we never read a field twice). We publish used
 * entries before the used index / used flags with release semantics, and a
 * full barrier separates publishing from reading the guest's suppression
 * fields (used_event, flags), as the virtio spec requires.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtqueue.h"

#include "vhostd/log.h"
#include "vhostd/util.h"

#define PACKED_DESC_F_AVAIL	(1u << 7)
#define PACKED_DESC_F_USED	(1u << 15)
#define PACKED_EVENT_ENABLE	0x0
#define PACKED_EVENT_DISABLE	0x1
#define PACKED_EVENT_DESC	0x2

#define vq_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define vq_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define vq_read_once(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define vq_write_once(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define vq_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

int
vhost_mem_gpa_to_iov(const struct vhost_mem *mem, uint64_t gpa, uint64_t len, struct iovec *iov,
		     uint16_t *iovcnt, uint16_t iov_max)
{
	uint32_t i;

	if (len == 0) {
		return 0;
	}
	if (gpa + len < gpa) {
		return -EFAULT;
	}
	while (len > 0) {
		const struct vhost_mem_region *r = NULL;
		uint64_t chunk;

		for (i = 0; i < mem->nregions && i < VHOST_MEM_MAX_REGIONS; i++) {
			if (gpa >= mem->regions[i].gpa &&
			    gpa - mem->regions[i].gpa < mem->regions[i].size) {
				r = &mem->regions[i];
				break;
			}
		}
		if (r == NULL) {
			return -EFAULT;
		}
		if (*iovcnt >= iov_max) {
			return -E2BIG;
		}
		chunk = VHD_MIN(len, r->size - (gpa - r->gpa));
		iov[*iovcnt].iov_base = (void *)(uintptr_t)(r->hva + (gpa - r->gpa));
		iov[*iovcnt].iov_len = chunk;
		(*iovcnt)++;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

void *
vhost_mem_gpa_to_vva(const struct vhost_mem *mem, uint64_t gpa, uint64_t len)
{
	uint32_t i;

	if (gpa + len < gpa) {
		return NULL;
	}
	for (i = 0; i < mem->nregions && i < VHOST_MEM_MAX_REGIONS; i++) {
		const struct vhost_mem_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa)) {
			return (void *)(uintptr_t)(r->hva + (gpa - r->gpa));
		}
	}
	return NULL;
}

int
vhost_vq_init(struct vhost_vq *vq)
{
	if (vq->size == 0 || vq->size > VHOST_VQ_MAX_SIZE || vq->mem == NULL) {
		return -EINVAL;
	}
	if (vq->packed) {
		if (vq->desc_packed == NULL || vq->driver_event == NULL ||
		    vq->device_event == NULL || vq->last_avail_idx >= vq->size ||
		    vq->last_used_idx >= vq->size) {
			return -EINVAL;
		}
	} else if (vq->desc == NULL || vq->avail == NULL || vq->used == NULL ||
		   !VHD_IS_POW2(vq->size)) {
		return -EINVAL;
	}
	vq->broken = false;
	vq->avail_idx = vq->last_avail_idx;
	vq->signalled_used_valid = false;
	vq->call_pending = false;
	vq->inflight_cnt = 0;
	vq->req_cnt = 0;
	vq->irq_delay_us = 0;
	vq->next_call_us = 0;
	vhost_vq_notify_disable(vq);
	return 0;
}

static void
vq_mark_broken(struct vhost_vq *vq, const char *why)
{
	if (!vq->broken) {
		VHD_ERRLOG_RATELIMIT("virtqueue %p broken by the guest: %s\n", (void *)vq, why);
	}
	vq->broken = true;
}

/* Append one guest buffer to elem, enforcing readable-before-writable. */
static int
vq_add_buf(struct vhost_vq *vq, struct vhost_vq_elem *elem, uint64_t addr, uint32_t len,
	   bool write, uint64_t *in_len, uint16_t iov_max)
{
	if (!write && elem->iovcnt != elem->out_cnt) {
		/* A device-readable buffer after a device-writable one. */
		return -EIO;
	}
	if (len > 0 && vhost_mem_gpa_to_iov(vq->mem, addr, len, elem->iov, &elem->iovcnt,
					    iov_max) != 0) {
		return -EIO;
	}
	if (write) {
		*in_len += len;
	} else {
		elem->out_cnt = elem->iovcnt;
	}
	return 0;
}

static int
vq_finish_elem(struct vhost_vq_elem *elem, uint64_t in_len)
{
	if (in_len > UINT32_MAX) {
		return -EIO;
	}
	elem->in_len = (uint32_t)in_len;
	return 0;
}

static int
vq_split_walk(struct vhost_vq *vq, uint16_t head, struct vhost_vq_elem *elem, uint16_t iov_max)
{
	const struct vring_desc *table = vq->desc;
	uint32_t table_size = vq->size;
	uint32_t idx = head;
	uint32_t count = 0;
	uint64_t in_len = 0;
	bool in_indirect = false;
	int rc;

	for (;;) {
		struct vring_desc d;

		if (++count > table_size) {
			return -EIO;	/* longer than its table: a loop */
		}
		d.addr = vq_read_once(&table[idx].addr);
		d.len = vq_read_once(&table[idx].len);
		d.flags = vq_read_once(&table[idx].flags);
		d.next = vq_read_once(&table[idx].next);

		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!vq->indirect || in_indirect || (d.flags & VRING_DESC_F_NEXT)) {
				return -EIO;
			}
			if (d.len == 0 || d.len % sizeof(struct vring_desc) != 0 ||
			    d.len / sizeof(struct vring_desc) > VHOST_VQ_MAX_INDIRECT ||
			    d.addr % sizeof(struct vring_desc) != 0) {
				return -EIO;
			}
			table = vhost_mem_gpa_to_vva(vq->mem, d.addr, d.len);
			if (table == NULL) {
				return -EIO;
			}
			table_size = d.len / sizeof(struct vring_desc);
			idx = 0;
			count = 0;
			in_indirect = true;
			continue;
		}
		rc = vq_add_buf(vq, elem, d.addr, d.len, d.flags & VRING_DESC_F_WRITE, &in_len,
				iov_max);
		if (rc != 0) {
			return rc;
		}
		if (!(d.flags & VRING_DESC_F_NEXT)) {
			break;
		}
		if (d.next >= table_size) {
			return -EIO;
		}
		idx = d.next;
	}
	return vq_finish_elem(elem, in_len);
}

static void
vq_elem_reset(struct vhost_vq_elem *elem)
{
	elem->iovcnt = 0;
	elem->out_cnt = 0;
	elem->in_len = 0;
	elem->ndesc = 1;
	elem->inflight_entry = 0;
}

int
vhost_vq_pop_head(struct vhost_vq *vq, uint16_t head, struct vhost_vq_elem *elem,
		  uint16_t iov_max)
{
	int rc;

	if (vq->broken || vq->packed) {
		return vq->broken ? 0 : -EINVAL;
	}
	if (head >= vq->size) {
		vq_mark_broken(vq, "head index out of range");
		return -EPROTO;
	}
	vq_elem_reset(elem);
	elem->id = head;
	vq->inflight_cnt++;
	rc = vq_split_walk(vq, head, elem, iov_max);
	return rc == 0 ? 1 : rc;
}

static int
vq_split_pop(struct vhost_vq *vq, struct vhost_vq_elem *elem, uint16_t iov_max)
{
	uint16_t head;
	int rc;

	/*
	 * avail->idx is read again only once we have caught up with the last
	 * value read: the guest writes it for every request, and each read of a
	 * line the other core is writing is a cache-line transfer.
	 */
	if (vq->avail_idx == vq->last_avail_idx) {
		vq->avail_idx = vq_load_acquire(&vq->avail->idx);
		if (vq->avail_idx == vq->last_avail_idx) {
			return 0;
		}
		if ((uint16_t)(vq->avail_idx - vq->last_avail_idx) > vq->size) {
			vq_mark_broken(vq, "avail index moved by more than the queue size");
			return -EPROTO;
		}
	}
	head = vq_read_once(&vq->avail->ring[vq->last_avail_idx & (vq->size - 1)]);
	if (head >= vq->size) {
		vq_mark_broken(vq, "head index out of range");
		return -EPROTO;
	}
	vq->last_avail_idx++;
	if (vq->last_avail_idx != vq->avail_idx) {
		/* The next request's first descriptor: its miss overlaps this walk. */
		uint16_t next = vq_read_once(&vq->avail->ring[vq->last_avail_idx & (vq->size - 1)]);

		__builtin_prefetch(&vq->desc[next & (vq->size - 1)]);
	}
	if (vq->inflight && vq->inflight->set_split) {
		vq->inflight->set_split(vq->inflight_ctx, head);
	}
	vq_elem_reset(elem);
	elem->id = head;
	vq->inflight_cnt++;
	rc = vq_split_walk(vq, head, elem, iov_max);
	return rc == 0 ? 1 : rc;
}

static inline bool
vq_packed_desc_is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & PACKED_DESC_F_AVAIL) == wrap && !!(flags & PACKED_DESC_F_USED) != wrap;
}

/* Parse ndesc descriptors from ring[slot] on (wrapping at ring_size): the ring itself,
 * or the copies an inflight entry kept. */
static int
vq_packed_parse(struct vhost_vq *vq, const struct vring_packed_desc *ring, uint16_t ring_size,
		uint16_t slot, uint16_t ndesc, struct vhost_vq_elem *elem, uint16_t iov_max)
{
	uint64_t in_len = 0;
	uint16_t n;
	int rc;

	for (n = 0; n < ndesc; n++) {
		const struct vring_packed_desc *d = &ring[slot];
		uint64_t addr = vq_read_once(&d->addr);
		uint32_t len = vq_read_once(&d->len);
		uint16_t flags = vq_read_once(&d->flags);

		if (flags & VRING_DESC_F_INDIRECT) {
			const struct vring_packed_desc *table;
			uint32_t i, cnt;

			if (!vq->indirect || (flags & VRING_DESC_F_NEXT)) {
				return -EIO;
			}
			if (len == 0 || len % sizeof(*table) != 0 ||
			    len / sizeof(*table) > VHOST_VQ_MAX_INDIRECT || addr % sizeof(*table)) {
				return -EIO;
			}
			table = vhost_mem_gpa_to_vva(vq->mem, addr, len);
			if (table == NULL) {
				return -EIO;
			}
			cnt = len / sizeof(*table);
			for (i = 0; i < cnt; i++) {
				uint16_t f = vq_read_once(&table[i].flags);

				if (f & VRING_DESC_F_INDIRECT) {
					return -EIO;
				}
				rc = vq_add_buf(vq, elem, vq_read_once(&table[i].addr),
						vq_read_once(&table[i].len), f & VRING_DESC_F_WRITE,
						&in_len, iov_max);
				if (rc != 0) {
					return rc;
				}
			}
			break;
		}
		rc = vq_add_buf(vq, elem, addr, len, flags & VRING_DESC_F_WRITE, &in_len, iov_max);
		if (rc != 0) {
			return rc;
		}
		if (++slot == ring_size) {
			slot = 0;
		}
	}
	return vq_finish_elem(elem, in_len);
}

static int
vq_packed_pop(struct vhost_vq *vq, struct vhost_vq_elem *elem, uint16_t iov_max)
{
	uint16_t slot = vq->last_avail_idx;
	uint16_t head = slot;
	uint16_t flags, id = 0, ndesc = 0;
	bool wrap = vq->avail_wrap;
	int rc;

	flags = vq_load_acquire(&vq->desc_packed[slot].flags);
	if (!vq_packed_desc_is_avail(flags, wrap)) {
		return 0;
	}
	/* Find the end of the chain first: indexes must advance even for a bad request. */
	for (;;) {
		if (ndesc > 0) {
			flags = vq_load_acquire(&vq->desc_packed[slot].flags);
			if (!vq_packed_desc_is_avail(flags, wrap)) {
				vq_mark_broken(vq, "chain continues into a descriptor not available");
				return -EPROTO;
			}
		}
		if (++ndesc > vq->size) {
			vq_mark_broken(vq, "descriptor chain longer than the ring");
			return -EPROTO;
		}
		id = vq_read_once(&vq->desc_packed[slot].id);
		if (!(flags & VRING_DESC_F_NEXT)) {
			break;
		}
		if (++slot == vq->size) {
			slot = 0;
			wrap = !wrap;
		}
	}
	if (id >= vq->size) {
		vq_mark_broken(vq, "buffer id out of range");
		return -EPROTO;
	}
	if (++slot == vq->size) {
		slot = 0;
		wrap = !wrap;
	}
	vq->last_avail_idx = slot;
	vq->avail_wrap = wrap;

	vq_elem_reset(elem);
	elem->id = id;
	elem->ndesc = ndesc;
	if (vq->inflight && vq->inflight->set_packed) {
		uint16_t last = (uint16_t)((head + ndesc - 1) % vq->size);

		vq->inflight->set_packed(vq->inflight_ctx, head, last, &elem->inflight_entry);
	}
	vq->inflight_cnt++;
	rc = vq_packed_parse(vq, vq->desc_packed, vq->size, head, ndesc, elem, iov_max);
	return rc == 0 ? 1 : rc;
}

int
vhost_vq_pop_inflight_packed(struct vhost_vq *vq, uint16_t entry, struct vhost_vq_elem *elem,
			     uint16_t iov_max)
{
	struct vring_packed_desc local[16], *descs = local;
	uint16_t id;
	int n, rc;

	if (vq->broken || !vq->packed || vq->inflight == NULL ||
	    vq->inflight->get_packed == NULL) {
		return vq->broken ? 0 : -EINVAL;
	}
	n = vq->inflight->get_packed(vq->inflight_ctx, entry, descs, VHD_COUNTOF(local));
	if (n > (int)VHD_COUNTOF(local) && n <= vq->size) {
		descs = calloc((size_t)n, sizeof(*descs));
		if (descs == NULL) {
			vq_mark_broken(vq, "no memory to resubmit an inflight request");
			return -EPROTO;
		}
		n = vq->inflight->get_packed(vq->inflight_ctx, entry, descs, (uint16_t)n);
	}
	if (n <= 0 || n > vq->size) {
		rc = -EPROTO;
		vq_mark_broken(vq, "inflight entry unreadable");
		goto out;
	}
	/* The buffer id is in the chain's last descriptor. */
	id = descs[n - 1].id;
	if (id >= vq->size) {
		rc = -EPROTO;
		vq_mark_broken(vq, "inflight buffer id out of range");
		goto out;
	}
	/* The ring restarts at the last used slot: the chain took n slots after it. */
	vq->last_avail_idx += n;
	if (vq->last_avail_idx >= vq->size) {
		vq->last_avail_idx -= vq->size;
		vq->avail_wrap = !vq->avail_wrap;
	}
	vq_elem_reset(elem);
	elem->id = id;
	elem->ndesc = (uint16_t)n;
	elem->inflight_entry = entry;
	vq->inflight_cnt++;
	rc = vq_packed_parse(vq, descs, (uint16_t)n, 0, (uint16_t)n, elem, iov_max);
	rc = rc == 0 ? 1 : rc;
out:
	if (descs != local) {
		free(descs);
	}
	return rc;
}

int
vhost_vq_pop(struct vhost_vq *vq, struct vhost_vq_elem *elem, uint16_t iov_max)
{
	if (vq->broken) {
		return 0;
	}
	return vq->packed ? vq_packed_pop(vq, elem, iov_max) : vq_split_pop(vq, elem, iov_max);
}

bool
vhost_vq_has_avail(const struct vhost_vq *vq)
{
	if (vq->broken) {
		return false;
	}
	if (vq->packed) {
		return vq_packed_desc_is_avail(
			vq_load_acquire(&vq->desc_packed[vq->last_avail_idx].flags), vq->avail_wrap);
	}
	return vq_load_acquire(&vq->avail->idx) != vq->last_avail_idx;
}

void
vhost_vq_push(struct vhost_vq *vq, const struct vhost_vq_elem *elem, uint32_t len)
{
	if (vq->packed) {
		struct vring_packed_desc *d = &vq->desc_packed[vq->last_used_idx];
		uint16_t flags = vq->used_wrap ? (PACKED_DESC_F_AVAIL | PACKED_DESC_F_USED) : 0;

		if (len > 0) {
			flags |= VRING_DESC_F_WRITE;
		}
		if (vq->inflight && vq->inflight->last_packed) {
			vq->inflight->last_packed(vq->inflight_ctx, elem->inflight_entry);
		}
		vq_write_once(&d->id, elem->id);
		vq_write_once(&d->len, len);
		vq_store_release(&d->flags, flags);
		vq->last_used_idx += elem->ndesc;
		if (vq->last_used_idx >= vq->size) {
			vq->last_used_idx -= vq->size;
			vq->used_wrap = !vq->used_wrap;
		}
		if (vq->inflight && vq->inflight->clr_packed) {
			vq->inflight->clr_packed(vq->inflight_ctx, elem->inflight_entry);
		}
	} else {
		struct vring_used_elem *u = &vq->used->ring[vq->last_used_idx & (vq->size - 1)];

		vq_write_once(&u->id, elem->id);
		vq_write_once(&u->len, len);
		if (vq->inflight && vq->inflight->last_split) {
			vq->inflight->last_split(vq->inflight_ctx, elem->id);
		}
		vq->last_used_idx++;
		vq_store_release(&vq->used->idx, vq->last_used_idx);
		if (vq->inflight && vq->inflight->clr_split) {
			vq->inflight->clr_split(vq->inflight_ctx, vq->last_used_idx, elem->id);
		}
	}
	if (vq->inflight_cnt > 0) {
		vq->inflight_cnt--;
	}
	vq->req_cnt++;
	vq->call_pending = true;
}

bool
vhost_vq_need_call(struct vhost_vq *vq)
{
	uint16_t old, new, event;
	bool valid;

	vq_mb();
	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	new = vq->last_used_idx;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;

	if (!vq->packed) {
		if (!vq->event_idx) {
			return !(vq_read_once(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
		}
		if (!valid) {
			return true;
		}
		event = vq_read_once(&vq->avail->ring[vq->size]);	/* used_event */
		return vring_need_event(event, new, old);
	} else {
		uint16_t flags = vq_read_once(&vq->driver_event->flags);
		uint16_t off_wrap, off;

		if (flags == PACKED_EVENT_DISABLE) {
			return false;
		}
		if (flags == PACKED_EVENT_ENABLE || !vq->event_idx || !valid) {
			return true;
		}
		if (flags != PACKED_EVENT_DESC) {
			return true;	/* reserved value: err on the side of calling */
		}
		off_wrap = vq_read_once(&vq->driver_event->off_wrap);
		off = off_wrap & 0x7fff;
		/* Unroll both indexes onto one line so that the wrap counters compare. */
		if (new <= old) {
			old -= vq->size;
		}
		if ((bool)(off_wrap >> 15) != vq->used_wrap) {
			off -= vq->size;
		}
		return vring_need_event(off, new, old);
	}
}

bool
vhost_vq_flush_calls(struct vhost_vq *vq, uint64_t now_us, bool force)
{
	if (!vq->call_pending) {
		return false;
	}
	if (!force && vq->irq_delay_us != 0 && now_us < vq->next_call_us) {
		return false;
	}
	vq->call_pending = false;
	vq->next_call_us = now_us + vq->irq_delay_us;
	if (!vhost_vq_need_call(vq)) {
		return false;
	}
	if (vq->callfd >= 0) {
		eventfd_write(vq->callfd, 1);
	}
	vq->calls++;
	return true;
}

void
vhost_vq_notify_disable(struct vhost_vq *vq)
{
	vq->notify_enabled = false;
	if (vq->packed) {
		vq_write_once(&vq->device_event->flags, PACKED_EVENT_DISABLE);
	} else if (!vq->event_idx) {
		/* With EVENT_IDX the flag is ignored: a stale avail_event suppresses kicks. */
		vq_write_once(&vq->used->flags, VRING_USED_F_NO_NOTIFY);
	}
}

bool
vhost_vq_notify_enable(struct vhost_vq *vq)
{
	if (vq->broken) {
		return true;
	}
	vq->notify_enabled = true;
	if (vq->packed) {
		vq_write_once(&vq->device_event->flags, PACKED_EVENT_ENABLE);
	} else if (vq->event_idx) {
		/* avail_event lives just past the used ring. */
		vq_write_once((uint16_t *)&vq->used->ring[vq->size], vq->last_avail_idx);
	} else {
		vq_write_once(&vq->used->flags, 0);
	}
	vq_mb();
	return !vhost_vq_has_avail(vq);
}

void
vhost_vq_coalesce_update(struct vhost_vq *vq, uint32_t delay_base_us, uint32_t io_threshold)
{
	uint32_t cnt = vq->req_cnt;

	vq->req_cnt = 0;
	if (delay_base_us == 0 || io_threshold == 0 || cnt <= io_threshold) {
		vq->irq_delay_us = 0;
		return;
	}
	vq->irq_delay_us = (uint64_t)delay_base_us * (cnt - io_threshold) / io_threshold;
	/* Bound the added latency: never more than 10 times the base delay. */
	if (vq->irq_delay_us > (uint64_t)delay_base_us * 10) {
		vq->irq_delay_us = (uint64_t)delay_base_us * 10;
	}
}

uint16_t
vhost_vq_packed_avail_base(const struct vhost_vq *vq)
{
	return (uint16_t)(vq->last_avail_idx | (vq->avail_wrap ? 0x8000 : 0));
}

uint16_t
vhost_vq_packed_used_base(const struct vhost_vq *vq)
{
	return (uint16_t)(vq->last_used_idx | (vq->used_wrap ? 0x8000 : 0));
}
