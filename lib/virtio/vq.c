/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Driver side of split and packed virtqueues. The device is untrusted: the
 * rings live in shared memory, so our bookkeeping (free lists, chain
 * lengths) is kept privately and every id the device returns is checked.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhostd/log.h"
#include "vhostd/util.h"
#include "virtio_internal.h"

#define VQ_MB() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define VQ_STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define VQ_LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define VQ_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)

#define PACKED_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PACKED_USED (1u << VRING_PACKED_DESC_F_USED)

static inline uint16_t *
split_used_event(struct virtio_vq *vq)
{
	return &vq->avail->ring[vq->size];
}

static inline uint16_t *
split_avail_event(struct virtio_vq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->size];
}

int
virtio_vq_init(struct virtio_vq *vq, struct virtio_mem *mem, uint16_t index, uint16_t size,
	       uint64_t features, uint16_t nslots)
{
	uint32_t i;

	memset(vq, 0, sizeof(*vq));
	vq->kick_fd = -1;
	vq->call_fd = -1;
	vq->mem = mem;
	vq->index = index;
	vq->size = size;
	vq->packed = (features >> VIRTIO_F_RING_PACKED) & 1;
	vq->event_idx = (features >> VIRTIO_RING_F_EVENT_IDX) & 1;
	vq->indirect = (features >> VIRTIO_RING_F_INDIRECT_DESC) & 1;
	vq->intr_enabled = true;
	if (size == 0 || size > 32768 || (!vq->packed && !VHD_IS_POW2(size))) {
		return -EINVAL;
	}

	if (vq->packed) {
		vq->pdesc = virtio_mem_alloc(mem, sizeof(*vq->pdesc) * size, 4096);
		vq->driver_ev = virtio_mem_alloc(mem, sizeof(*vq->driver_ev), 64);
		vq->device_ev = virtio_mem_alloc(mem, sizeof(*vq->device_ev), 64);
		if (!vq->pdesc || !vq->driver_ev || !vq->device_ev) {
			return -ENOMEM;
		}
		memset(vq->pdesc, 0, sizeof(*vq->pdesc) * size);
		vq->avail_wrap = true;
		vq->used_wrap = true;
		vq->id_next = calloc(size, sizeof(uint16_t));
		vq->raw_ndescs = calloc(size, sizeof(uint16_t));
		if (!vq->id_next || !vq->raw_ndescs) {
			return -ENOMEM;
		}
		for (i = 0; i < size; i++) {
			vq->id_next[i] = (uint16_t)(i + 1);
		}
		vq->id_free_head = 0;
	} else {
		vq->desc = virtio_mem_alloc(mem, sizeof(*vq->desc) * size, 4096);
		vq->avail = virtio_mem_alloc(mem, 6 + 2u * size, 64);
		vq->used = virtio_mem_alloc(mem, 6 + 8u * size, 4096);
		if (!vq->desc || !vq->avail || !vq->used) {
			return -ENOMEM;
		}
		memset(vq->desc, 0, sizeof(*vq->desc) * size);
		memset(vq->avail, 0, 6 + 2u * size);
		memset(vq->used, 0, 6 + 8u * size);
		vq->next_free = calloc(size, sizeof(uint16_t));
		if (!vq->next_free) {
			return -ENOMEM;
		}
		for (i = 0; i < size; i++) {
			vq->next_free[i] = (uint16_t)(i + 1);
		}
	}
	vq->free_head = 0;
	vq->num_free = size;
	vq->chains = calloc(size, sizeof(*vq->chains));
	if (!vq->chains) {
		return -ENOMEM;
	}
	if (vq->indirect) {
		vq->indirect_tables = virtio_mem_alloc(mem, (uint64_t)size * VIRTIO_INDIRECT_MAX * 16,
						       4096);
		if (!vq->indirect_tables) {
			return -ENOMEM;
		}
	}
	if (nslots) {
		vq->reqs = calloc(nslots, sizeof(*vq->reqs));
		if (!vq->reqs) {
			return -ENOMEM;
		}
		vq->nreqs = nslots;
		for (i = 0; i < nslots; i++) {
			vq->reqs[i].scratch = virtio_mem_alloc(mem, VIRTIO_SLOT_SCRATCH, 64);
			if (!vq->reqs[i].scratch) {
				return -ENOMEM;
			}
			vq->reqs[i].next_free = (i + 1 < nslots) ? (uint16_t)(i + 1) : VHD_VIRTIO_NOREQ;
		}
		vq->req_free_head = 0;
	} else {
		vq->req_free_head = VHD_VIRTIO_NOREQ;
	}
	return 0;
}

void
virtio_vq_fini(struct virtio_vq *vq)
{
	free(vq->next_free);
	free(vq->id_next);
	free(vq->raw_ndescs);
	free(vq->chains);
	free(vq->reqs);
	free(vq->events);
	if (vq->kick_fd >= 0) {
		close(vq->kick_fd);
	}
	if (vq->call_fd >= 0) {
		close(vq->call_fd);
	}
	memset(vq, 0, sizeof(*vq));
	vq->kick_fd = -1;
	vq->call_fd = -1;
}

uint16_t
virtio_vq_index(const struct virtio_vq *vq)
{
	return vq->index;
}

uint16_t
virtio_vq_size(const struct virtio_vq *vq)
{
	return vq->size;
}

bool
virtio_vq_is_packed(const struct virtio_vq *vq)
{
	return vq->packed;
}

uint16_t
virtio_vq_free_descs(const struct virtio_vq *vq)
{
	return vq->num_free;
}

int
virtio_vq_call_fd(const struct virtio_vq *vq)
{
	return vq->call_fd;
}

int
virtio_vq_kick_fd(const struct virtio_vq *vq)
{
	return vq->kick_fd;
}

struct virtio_dev *
virtio_vq_dev(struct virtio_vq *vq)
{
	return vq->dev;
}

void
virtio_vq_rings(struct virtio_vq *vq, void **desc, void **avail, void **used)
{
	if (vq->packed) {
		*desc = vq->pdesc;
		*avail = vq->driver_ev;
		*used = vq->device_ev;
	} else {
		*desc = vq->desc;
		*avail = vq->avail;
		*used = vq->used;
	}
}

/* Translate and validate the buffers of a chain. */
static int
vq_bufs_gpa(struct virtio_vq *vq, const struct virtio_buf *bufs, uint16_t n, uint64_t *gpas)
{
	uint16_t i;

	for (i = 0; i < n; i++) {
		if (virtio_mem_hva_to_gpa(vq->mem, bufs[i].addr, &gpas[i]) != 0 ||
		    virtio_mem_gpa_to_hva(vq->mem, gpas[i], bufs[i].len) == NULL) {
			return -EINVAL;
		}
	}
	return 0;
}

static int
vq_add_split(struct virtio_vq *vq, const struct virtio_buf *bufs, uint16_t n, bool indirect,
	     const uint64_t *gpas, void *ctx)
{
	uint16_t need = indirect ? 1 : n;
	uint16_t head, idx, prev = 0, i;

	if (vq->num_free < need) {
		return -ENOSPC;
	}
	head = vq->free_head;
	if (indirect) {
		struct vring_desc *t = (struct vring_desc *)(vq->indirect_tables +
							     (size_t)head * VIRTIO_INDIRECT_MAX * 16);
		uint64_t tgpa;

		for (i = 0; i < n; i++) {
			t[i].addr = gpas[i];
			t[i].len = bufs[i].len;
			t[i].flags = (uint16_t)((bufs[i].write ? VRING_DESC_F_WRITE : 0) |
						(i + 1 < n ? VRING_DESC_F_NEXT : 0));
			t[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
		}
		virtio_mem_hva_to_gpa(vq->mem, t, &tgpa);
		vq->desc[head].addr = tgpa;
		vq->desc[head].len = (uint32_t)n * 16;
		vq->desc[head].flags = VRING_DESC_F_INDIRECT;
		vq->desc[head].next = 0;
		prev = head;
		vq->free_head = vq->next_free[head];
	} else {
		idx = head;
		for (i = 0; i < n; i++) {
			vq->desc[idx].addr = gpas[i];
			vq->desc[idx].len = bufs[i].len;
			vq->desc[idx].flags = (uint16_t)((bufs[i].write ? VRING_DESC_F_WRITE : 0) |
							 (i + 1 < n ? VRING_DESC_F_NEXT : 0));
			vq->desc[idx].next = vq->next_free[idx];
			prev = idx;
			idx = vq->next_free[idx];
		}
		vq->free_head = idx;
	}
	vq->num_free -= need;
	vq->chains[head].ctx = ctx;
	vq->chains[head].ndescs = need;
	vq->chains[head].tail = prev;
	vq->chains[head].busy = true;

	vq->avail->ring[vq->avail_idx & (vq->size - 1)] = head;
	vq->avail_idx++;
	/* Descriptors and ring entry before the index the device polls. */
	VQ_STORE_REL(&vq->avail->idx, vq->avail_idx);
	vq->num_added++;
	return 0;
}

static inline void
packed_write_desc(struct virtio_vq *vq, uint16_t pos, uint64_t addr, uint32_t len, uint16_t id,
		  uint16_t flags, bool wrap, bool release)
{
	struct vring_packed_desc *d = &vq->pdesc[pos];

	flags = (uint16_t)(flags & ~(PACKED_AVAIL | PACKED_USED));
	flags |= wrap ? PACKED_AVAIL : PACKED_USED;
	d->addr = addr;
	d->len = len;
	d->id = id;
	if (release) {
		VQ_STORE_REL(&d->flags, flags);
	} else {
		d->flags = flags;
	}
}

static int
vq_add_packed(struct virtio_vq *vq, const struct virtio_buf *bufs, uint16_t n, bool indirect,
	      const uint64_t *gpas, void *ctx)
{
	uint16_t need = indirect ? 1 : n;
	uint16_t id, pos, i, head_flags;
	uint64_t head_addr;
	uint32_t head_len;
	bool wrap, head_wrap;

	if (vq->num_free < need || vq->id_free_head >= vq->size) {
		return -ENOSPC;
	}
	id = vq->id_free_head;
	vq->id_free_head = vq->id_next[id];
	pos = vq->avail_pos;
	wrap = vq->avail_wrap;
	head_wrap = wrap;
	if (indirect) {
		struct vring_packed_desc *t = (struct vring_packed_desc *)(vq->indirect_tables +
				(size_t)id * VIRTIO_INDIRECT_MAX * 16);

		for (i = 0; i < n; i++) {
			t[i].addr = gpas[i];
			t[i].len = bufs[i].len;
			t[i].id = 0;
			t[i].flags = bufs[i].write ? VRING_DESC_F_WRITE : 0;
		}
		virtio_mem_hva_to_gpa(vq->mem, t, &head_addr);
		head_len = (uint32_t)n * 16;
		head_flags = VRING_DESC_F_INDIRECT;
	} else {
		head_addr = gpas[0];
		head_len = bufs[0].len;
		head_flags = (uint16_t)((bufs[0].write ? VRING_DESC_F_WRITE : 0) |
					(n > 1 ? VRING_DESC_F_NEXT : 0));
		for (i = 1; i < n; i++) {
			if (++pos == vq->size) {
				pos = 0;
				wrap = !wrap;
			}
			packed_write_desc(vq, pos, gpas[i], bufs[i].len, id,
					  (uint16_t)((bufs[i].write ? VRING_DESC_F_WRITE : 0) |
						     (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
					  wrap, false);
		}
	}
	/* The head's flags make the whole chain visible: write them last. */
	packed_write_desc(vq, vq->avail_pos, head_addr, head_len, id, head_flags, head_wrap, true);
	if (++pos == vq->size) {
		pos = 0;
		wrap = !wrap;
	}
	vq->avail_pos = pos;
	vq->avail_wrap = wrap;
	vq->num_free -= need;
	vq->chains[id].ctx = ctx;
	vq->chains[id].ndescs = need;
	vq->chains[id].busy = true;
	vq->num_added += need;
	return 0;
}

int
virtio_vq_add(struct virtio_vq *vq, const struct virtio_buf *bufs, uint16_t n, bool indirect,
	      void *ctx)
{
	uint64_t gpas[VIRTIO_INDIRECT_MAX];
	int rc;

	if (n == 0 || n > VIRTIO_INDIRECT_MAX || (!indirect && n > vq->size)) {
		return -EINVAL;
	}
	if (indirect && !vq->indirect) {
		return -ENOTSUP;
	}
	rc = vq_bufs_gpa(vq, bufs, n, gpas);
	if (rc != 0) {
		return rc;
	}
	if (vq->packed) {
		return vq_add_packed(vq, bufs, n, indirect, gpas, ctx);
	}
	return vq_add_split(vq, bufs, n, indirect, gpas, ctx);
}

static bool
vq_kick_needed(struct virtio_vq *vq)
{
	uint16_t new_idx, old_idx;

	/* Our ring writes must be visible before we read the device's suppression state. */
	VQ_MB();
	if (vq->packed) {
		uint16_t flags = VQ_LOAD(&vq->device_ev->flags);
		uint16_t off_wrap, event;

		if (flags == VRING_PACKED_EVENT_FLAG_DISABLE) {
			return false;
		}
		if (flags != VRING_PACKED_EVENT_FLAG_DESC || !vq->event_idx) {
			return true;
		}
		off_wrap = VQ_LOAD(&vq->device_ev->off_wrap);
		new_idx = vq->avail_pos;
		old_idx = (uint16_t)(new_idx - vq->num_added);
		event = off_wrap & 0x7fff;
		if ((bool)(off_wrap >> 15) != vq->avail_wrap) {
			event = (uint16_t)(event - vq->size);
		}
		return vring_need_event(event, new_idx, old_idx);
	}
	if (vq->event_idx) {
		new_idx = vq->avail_idx;
		old_idx = (uint16_t)(new_idx - vq->num_added);
		return vring_need_event(VQ_LOAD(split_avail_event(vq)), new_idx, old_idx);
	}
	return !(VQ_LOAD(&vq->used->flags) & VRING_USED_F_NO_NOTIFY);
}

void
virtio_vq_raw_kick(struct virtio_vq *vq)
{
	uint64_t one = 1;
	ssize_t rc;

	if (vq->kick_fd >= 0) {
		rc = write(vq->kick_fd, &one, sizeof(one));
		(void)rc;
	}
}

bool
virtio_vq_notify(struct virtio_vq *vq)
{
	bool kick;

	if (vq->num_added == 0) {
		return false;
	}
	kick = vq_kick_needed(vq);
	vq->num_added = 0;
	if (kick) {
		virtio_vq_raw_kick(vq);
	}
	return kick;
}

/*
 * Split: whether the device has used entries we have not taken. used->idx is
 * read again only once we have caught up with the last value read: the device
 * writes it for every request, and each read of a line it is writing costs a
 * cache-line transfer between the cores.
 */
static bool
vq_split_used_pending(struct virtio_vq *vq)
{
	if (vq->used_idx != vq->last_used_idx) {
		return true;
	}
	vq->used_idx = VQ_LOAD_ACQ(&vq->used->idx);
	return vq->used_idx != vq->last_used_idx;
}

static int
vq_get_used_split(struct virtio_vq *vq, void **ctx, uint32_t *len)
{
	struct vring_used_elem e;
	struct virtio_chain *c;

	if (!vq_split_used_pending(vq)) {
		return -EAGAIN;
	}
	e = vq->used->ring[vq->last_used_idx & (vq->size - 1)];
	vq->last_used_idx++;
	if (vq->event_idx) {
		if (vq->intr_enabled) {
			VQ_STORE_REL(split_used_event(vq), vq->last_used_idx);
		} else if ((uint16_t)(vq->last_used_idx - *split_used_event(vq)) > 0x4000) {
			/* Keep used_event just behind us: no calls while polling. */
			*split_used_event(vq) = (uint16_t)(vq->last_used_idx - 1);
		}
	}
	if (e.id >= vq->size || !vq->chains[e.id].busy) {
		VHD_ERRLOG_RATELIMIT("virtio vq %u: device returned bad used id %u\n", vq->index,
				     e.id);
		return -EPROTO;
	}
	c = &vq->chains[e.id];
	/*
	 * next_free[] still links the chain's descriptors head to tail (they
	 * were taken in that order): splice the whole chain back at once.
	 */
	vq->next_free[c->tail] = vq->free_head;
	vq->free_head = (uint16_t)e.id;
	vq->num_free += c->ndescs;
	c->busy = false;
	*ctx = c->ctx;
	*len = e.len;
	return 0;
}

static int
vq_get_used_packed(struct virtio_vq *vq, void **ctx, uint32_t *len)
{
	struct vring_packed_desc *d = &vq->pdesc[vq->used_pos];
	uint16_t flags = VQ_LOAD_ACQ(&d->flags);
	bool avail = flags & PACKED_AVAIL, used = flags & PACKED_USED;
	struct virtio_chain *c;
	uint16_t id;

	if (avail != used || used != vq->used_wrap) {
		return -EAGAIN;
	}
	id = d->id;
	*len = d->len;
	if (id >= vq->size || !vq->chains[id].busy) {
		VHD_ERRLOG_RATELIMIT("virtio vq %u: device returned bad used id %u\n", vq->index,
				     id);
		/* Skip the slot so that we do not spin on it forever. */
		if (++vq->used_pos == vq->size) {
			vq->used_pos = 0;
			vq->used_wrap = !vq->used_wrap;
		}
		return -EPROTO;
	}
	c = &vq->chains[id];
	vq->used_pos = (uint16_t)(vq->used_pos + c->ndescs);
	if (vq->used_pos >= vq->size) {
		vq->used_pos = (uint16_t)(vq->used_pos - vq->size);
		vq->used_wrap = !vq->used_wrap;
	}
	vq->num_free += c->ndescs;
	c->busy = false;
	vq->id_next[id] = vq->id_free_head;
	vq->id_free_head = id;
	*ctx = c->ctx;
	return 0;
}

int
virtio_vq_get_used(struct virtio_vq *vq, void **ctx, uint32_t *len)
{
	if (vq->packed) {
		return vq_get_used_packed(vq, ctx, len);
	}
	return vq_get_used_split(vq, ctx, len);
}

bool
virtio_vq_has_used(struct virtio_vq *vq)
{
	if (vq->packed) {
		uint16_t flags = VQ_LOAD_ACQ(&vq->pdesc[vq->used_pos].flags);
		bool avail = flags & PACKED_AVAIL, used = flags & PACKED_USED;

		return avail == used && used == vq->used_wrap;
	}
	return vq_split_used_pending(vq);
}

void
virtio_vq_enable_interrupts(struct virtio_vq *vq)
{
	vq->intr_enabled = true;
	if (vq->packed) {
		VQ_STORE_REL(&vq->driver_ev->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	} else if (vq->event_idx) {
		VQ_STORE_REL(split_used_event(vq), vq->last_used_idx);
	} else {
		VQ_STORE_REL(&vq->avail->flags, 0);
	}
	/* The re-check of the used ring that follows must see the device's later writes. */
	VQ_MB();
}

void
virtio_vq_disable_interrupts(struct virtio_vq *vq)
{
	vq->intr_enabled = false;
	if (vq->packed) {
		VQ_STORE_REL(&vq->driver_ev->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	} else if (vq->event_idx) {
		VQ_STORE_REL(split_used_event(vq), (uint16_t)(vq->last_used_idx - 1));
	} else {
		VQ_STORE_REL(&vq->avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
	}
}

/* Implemented in vhost_user.c: the socket to watch while waiting, or -1. */
int virtio_dev_wait_fd(const struct virtio_dev *dev);
void virtio_dev_mark_disconnected(struct virtio_dev *dev);

int
virtio_vq_wait(struct virtio_vq *vq, uint32_t timeout_ms)
{
	struct pollfd pfd[2];
	uint64_t start = util_now_us(), now, cnt;
	int nfds = 0, rc, sockidx = -1;
	ssize_t r;

	virtio_vq_enable_interrupts(vq);
	for (;;) {
		if (virtio_vq_has_used(vq)) {
			return 0;
		}
		nfds = 0;
		if (vq->call_fd >= 0) {
			pfd[nfds].fd = vq->call_fd;
			pfd[nfds].events = POLLIN;
			nfds++;
		}
		sockidx = -1;
		if (vq->dev != NULL && virtio_dev_wait_fd(vq->dev) >= 0) {
			sockidx = nfds;
			pfd[nfds].fd = virtio_dev_wait_fd(vq->dev);
			pfd[nfds].events = POLLRDHUP;
			nfds++;
		}
		now = util_now_us();
		if (now - start >= (uint64_t)timeout_ms * 1000) {
			return -ETIMEDOUT;
		}
		/* Without a call fd, poll the ring every millisecond. */
		rc = poll(pfd, (nfds_t)nfds, vq->call_fd >= 0 ?
			  (int)(((uint64_t)timeout_ms * 1000 - (now - start) + 999) / 1000) : 1);
		if (rc < 0 && errno != EINTR) {
			return -errno;
		}
		if (rc <= 0) {
			continue;
		}
		if (sockidx >= 0 && (pfd[sockidx].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			virtio_dev_mark_disconnected(vq->dev);
			return virtio_vq_has_used(vq) ? 0 : -ENOTCONN;
		}
		if (vq->call_fd >= 0 && (pfd[0].revents & POLLIN)) {
			r = read(vq->call_fd, &cnt, sizeof(cnt));
			(void)r;
		}
	}
}

/* ---- raw access ---- */

int
virtio_vq_raw_split_desc(struct virtio_vq *vq, uint16_t idx, uint64_t gpa, uint32_t len,
			 uint16_t flags, uint16_t next)
{
	if (vq->packed || idx >= vq->size) {
		return -EINVAL;
	}
	vq->desc[idx].addr = gpa;
	vq->desc[idx].len = len;
	vq->desc[idx].flags = flags;
	vq->desc[idx].next = next;
	return 0;
}

int
virtio_vq_raw_split_avail(struct virtio_vq *vq, uint16_t head)
{
	if (vq->packed) {
		return -EINVAL;
	}
	vq->avail->ring[vq->avail_idx & (vq->size - 1)] = head;
	vq->avail_idx++;
	VQ_STORE_REL(&vq->avail->idx, vq->avail_idx);
	vq->num_added++;
	return 0;
}

static void
raw_packed_write(struct virtio_vq *vq, uint16_t pos, const struct vring_packed_desc *d, bool wrap,
		 bool verbatim, bool release)
{
	struct vring_packed_desc *r = &vq->pdesc[pos];

	if (!verbatim) {
		packed_write_desc(vq, pos, d->addr, d->len, d->id, d->flags, wrap, release);
		return;
	}
	r->addr = d->addr;
	r->len = d->len;
	r->id = d->id;
	if (release) {
		VQ_STORE_REL(&r->flags, d->flags);
	} else {
		r->flags = d->flags;
	}
}

static int
raw_packed_push(struct virtio_vq *vq, const struct vring_packed_desc *descs, uint16_t n,
		bool verbatim)
{
	uint16_t pos, i, head = vq->avail_pos;
	bool wrap, head_wrap = vq->avail_wrap;

	if (!vq->packed || n == 0 || n > vq->size) {
		return -EINVAL;
	}
	pos = vq->avail_pos;
	wrap = vq->avail_wrap;
	for (i = 1; i < n; i++) {
		if (++pos == vq->size) {
			pos = 0;
			wrap = !wrap;
		}
		raw_packed_write(vq, pos, &descs[i], wrap, verbatim, false);
	}
	raw_packed_write(vq, head, &descs[0], head_wrap, verbatim, true);
	if (++pos == vq->size) {
		pos = 0;
		wrap = !wrap;
	}
	vq->avail_pos = pos;
	vq->avail_wrap = wrap;
	vq->num_added += n;
	/* The device reports the chain under the id of its last descriptor. */
	vq->raw_ndescs[descs[n - 1].id % vq->size] = n;
	vq->raw_ndescs[descs[0].id % vq->size] = n;
	return 0;
}

int
virtio_vq_raw_packed_push(struct virtio_vq *vq, const struct vring_packed_desc *descs, uint16_t n)
{
	return raw_packed_push(vq, descs, n, false);
}

int
virtio_vq_raw_packed_push_verbatim(struct virtio_vq *vq, const struct vring_packed_desc *descs,
				   uint16_t n)
{
	return raw_packed_push(vq, descs, n, true);
}

bool
virtio_vq_raw_packed_wrap(const struct virtio_vq *vq)
{
	return vq->avail_wrap;
}

int
virtio_vq_raw_get_used(struct virtio_vq *vq, uint32_t *id, uint32_t *len)
{
	if (vq->packed) {
		struct vring_packed_desc *d = &vq->pdesc[vq->used_pos];
		uint16_t flags = VQ_LOAD_ACQ(&d->flags), skip;
		bool avail = flags & PACKED_AVAIL, used = flags & PACKED_USED;

		if (avail != used || used != vq->used_wrap) {
			return -EAGAIN;
		}
		*id = d->id;
		*len = d->len;
		skip = vq->raw_ndescs[d->id % vq->size];
		if (skip == 0) {
			skip = 1;
		}
		vq->used_pos = (uint16_t)(vq->used_pos + skip);
		if (vq->used_pos >= vq->size) {
			vq->used_pos = (uint16_t)(vq->used_pos % vq->size);
			vq->used_wrap = !vq->used_wrap;
		}
		return 0;
	}
	if (!vq_split_used_pending(vq)) {
		return -EAGAIN;
	}
	*id = vq->used->ring[vq->last_used_idx & (vq->size - 1)].id;
	*len = vq->used->ring[vq->last_used_idx & (vq->size - 1)].len;
	vq->last_used_idx++;
	if (vq->event_idx && vq->intr_enabled) {
		VQ_STORE_REL(split_used_event(vq), vq->last_used_idx);
	}
	return 0;
}

/* ---- loopback device side ---- */

#define ECHO_MAX_BUFS 8

struct echo_chain {
	uint64_t	addr[ECHO_MAX_BUFS];
	uint32_t	len[ECHO_MAX_BUFS];
	bool		write[ECHO_MAX_BUFS];
	uint32_t	n;
	uint64_t	last;	/* address of the last byte of the chain */
};

static void
echo_add(struct echo_chain *ch, uint64_t addr, uint32_t len, bool write)
{
	if (ch->n < ECHO_MAX_BUFS) {
		ch->addr[ch->n] = addr;
		ch->len[ch->n] = len;
		ch->write[ch->n] = write;
		ch->n++;
	}
	ch->last = addr + len - 1;
}

/* Walk an indirect table (split or packed layout). */
static void
echo_table(struct virtio_vq *vq, uint64_t gpa, uint32_t len, struct echo_chain *ch)
{
	void *t = virtio_mem_gpa_to_hva(vq->mem, gpa, len);
	uint32_t n = len / 16, i;

	for (i = 0; t != NULL && i < n; i++) {
		if (vq->packed) {
			struct vring_packed_desc *d = &((struct vring_packed_desc *)t)[i];

			echo_add(ch, d->addr, d->len, d->flags & VRING_DESC_F_WRITE);
		} else {
			struct vring_desc *d = &((struct vring_desc *)t)[i];

			echo_add(ch, d->addr, d->len, d->flags & VRING_DESC_F_WRITE);
		}
	}
}

/*
 * Complete a chain: blk writes status OK into its last byte; scsi writes a
 * good response into the first writable buffer (and answers READ CAPACITY(16)
 * for a 1 GiB disk of 512-byte blocks, so a SCSI client can size it).
 */
static void
echo_complete(struct virtio_vq *vq, const struct echo_chain *ch)
{
	uint32_t i, w;
	uint8_t *p;

	if (!vq->echo_scsi) {
		p = virtio_mem_gpa_to_hva(vq->mem, ch->last, 1);
		if (p != NULL) {
			*p = VIRTIO_BLK_S_OK;
		}
		return;
	}
	for (w = 0; w < ch->n && !ch->write[w]; w++) {
	}
	if (w == ch->n) {
		return;
	}
	p = virtio_mem_gpa_to_hva(vq->mem, ch->addr[w], ch->len[w]);
	if (p == NULL) {
		return;
	}
	if (ch->len[w] < sizeof(struct virtio_scsi_cmd_resp)) {
		*p = 0;	/* TMF / AN response byte */
		return;
	}
	memset(p, 0, sizeof(struct virtio_scsi_cmd_resp));
	if (w > 0 && w + 1 < ch->n && ch->len[0] >= sizeof(struct virtio_scsi_cmd_req)) {
		const struct virtio_scsi_cmd_req *cmd = virtio_mem_gpa_to_hva(vq->mem, ch->addr[0],
									       sizeof(*cmd));
		uint8_t *d = virtio_mem_gpa_to_hva(vq->mem, ch->addr[w + 1], ch->len[w + 1]);

		if (cmd != NULL && d != NULL && cmd->cdb[0] == 0x9e && (cmd->cdb[1] & 0x1f) == 0x10 &&
		    ch->len[w + 1] >= 12) {
			uint64_t last_lba = (1ull << 30) / 512 - 1;

			for (i = 0; i < 8; i++) {
				d[i] = (uint8_t)(last_lba >> (56 - 8 * i));
			}
			d[8] = 0;
			d[9] = 0;
			d[10] = 2;	/* 512 */
			d[11] = 0;
		}
	}
}

int
virtio_vq_echo_serve(struct virtio_vq *vq, uint32_t max)
{
	uint32_t done = 0;

	if (vq->packed) {
		while (done < max) {
			struct vring_packed_desc *d = &vq->pdesc[vq->echo_avail];
			uint16_t flags = VQ_LOAD_ACQ(&d->flags), head = vq->echo_avail, id = 0;
			uint16_t pos = vq->echo_avail, n = 0;
			struct echo_chain ch = {.n = 0};
			bool wrap = vq->echo_wrap;

			if (((flags & PACKED_AVAIL) != 0) != wrap || ((flags & PACKED_USED) != 0) == wrap) {
				break;
			}
			for (;;) {
				d = &vq->pdesc[pos];
				flags = d->flags;
				id = d->id;
				if (flags & VRING_DESC_F_INDIRECT) {
					echo_table(vq, d->addr, d->len, &ch);
				} else {
					echo_add(&ch, d->addr, d->len, flags & VRING_DESC_F_WRITE);
				}
				n++;
				if (++pos == vq->size) {
					pos = 0;
					wrap = !wrap;
				}
				if (!(flags & VRING_DESC_F_NEXT) || n >= vq->size) {
					break;
				}
			}
			echo_complete(vq, &ch);
			d = &vq->pdesc[head];
			d->id = id;
			d->len = 1;
			VQ_STORE_REL(&d->flags, (uint16_t)(vq->echo_wrap ? (PACKED_AVAIL | PACKED_USED) : 0));
			vq->echo_avail = pos;
			vq->echo_wrap = wrap;
			done++;
		}
		return (int)done;
	}
	{
		uint16_t avail_idx = VQ_LOAD_ACQ(&vq->avail->idx);

		while (vq->echo_avail != avail_idx && done < max) {
			uint16_t head = vq->avail->ring[vq->echo_avail & (vq->size - 1)], idx = head;
			struct echo_chain ch = {.n = 0};
			uint32_t n = 0;

			vq->echo_avail++;
			while (idx < vq->size && n++ < vq->size) {
				struct vring_desc *d = &vq->desc[idx];

				if (d->flags & VRING_DESC_F_INDIRECT) {
					echo_table(vq, d->addr, d->len, &ch);
				} else {
					echo_add(&ch, d->addr, d->len, d->flags & VRING_DESC_F_WRITE);
				}
				if (!(d->flags & VRING_DESC_F_NEXT)) {
					break;
				}
				idx = d->next;
			}
			echo_complete(vq, &ch);
			vq->used->ring[vq->echo_used & (vq->size - 1)].id = head;
			vq->used->ring[vq->echo_used & (vq->size - 1)].len = 1;
			vq->echo_used++;
			done++;
		}
		if (done) {
			VQ_STORE_REL(&vq->used->idx, vq->echo_used);
		}
	}
	return (int)done;
}
