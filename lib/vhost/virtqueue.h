/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Virtqueues, our own code: split and packed rings, direct and indirect
 * descriptors, EVENT_IDX, guest notification and interrupt coalescing.
 *
 * Everything the guest wrote is hostile. Ring pointers (desc/avail/used) come
 * from rte_vhost, which translated and bounds-checked them; every descriptor
 * address, length, index, flag and chain length is checked here against our
 * own copy of the guest memory map. Nothing here depends on DPDK, so it is
 * unit-tested over a fake guest memory map.
 *
 * Thread: a virtqueue is touched only by the thread that polls it.
 */
#ifndef VHOST_VIRTQUEUE_H
#define VHOST_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_ring.h>

#define VHOST_MEM_MAX_REGIONS	8
/* Largest queue the virtio spec allows. */
#define VHOST_VQ_MAX_SIZE	32768
/* Largest indirect table we accept, in descriptors. */
#define VHOST_VQ_MAX_INDIRECT	4096

/* Our copy of the guest memory map (gpa -> hva), from the SET_MEM_TABLE message. */
struct vhost_mem_region {
	uint64_t	gpa;
	uint64_t	size;
	uint64_t	hva;
};

struct vhost_mem {
	uint32_t		nregions;
	struct vhost_mem_region	regions[VHOST_MEM_MAX_REGIONS];
};

/*
 * Translate [gpa, gpa+len) into up to iov_max iovecs appended at iov[*iovcnt],
 * splitting where the range crosses regions. 0, -EFAULT (a byte is not
 * mapped, or gpa+len overflows), -E2BIG (more than iov_max iovecs needed).
 */
int vhost_mem_gpa_to_iov(const struct vhost_mem *mem, uint64_t gpa, uint64_t len,
			 struct iovec *iov, uint16_t *iovcnt, uint16_t iov_max);
/* Host address of [gpa, gpa+len) if it lies inside one region, else NULL. */
void *vhost_mem_gpa_to_vva(const struct vhost_mem *mem, uint64_t gpa, uint64_t len);

/* Inflight tracking (rte_vhost's shared inflight region); all optional. */
struct vhost_vq_inflight_ops {
	void	(*set_split)(void *ctx, uint16_t head);
	void	(*last_split)(void *ctx, uint16_t head);
	void	(*clr_split)(void *ctx, uint16_t last_used_idx, uint16_t head);
	void	(*set_packed)(void *ctx, uint16_t head, uint16_t last, uint16_t *inflight_entry);
	void	(*last_packed)(void *ctx, uint16_t inflight_entry);
	void	(*clr_packed)(void *ctx, uint16_t inflight_entry);
	/* The number of descriptors an inflight entry recorded (its chain, > 0), the
	 * first min(that, max) copied into descs in chain order; or a negative errno.
	 * For packed resubmission. */
	int	(*get_packed)(void *ctx, uint16_t inflight_entry, struct vring_packed_desc *descs,
			      uint16_t max);
};

struct vhost_vq {
	uint16_t	size;
	bool		packed;
	bool		event_idx;	/* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool		indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool		broken;		/* the guest violated the spec: no more processing */
	bool		notify_enabled;	/* we asked the guest to kick */

	union {
		struct vring_desc	*desc;
		struct vring_packed_desc *desc_packed;
	};
	union {
		struct vring_avail	*avail;
		struct vring_packed_desc_event *driver_event;
	};
	union {
		struct vring_used	*used;
		struct vring_packed_desc_event *device_event;
	};

	/* Split: free-running indexes. Packed: ring slot (< size) plus wrap counters. */
	uint16_t	last_avail_idx;
	uint16_t	last_used_idx;
	uint16_t	avail_idx;	/* split: shadow of avail->idx, read again once caught up;
				 * vhost_vq_init() sets it: set the indexes before */
	bool		avail_wrap;
	bool		used_wrap;

	/* Guest notification. */
	int		callfd;
	int		kickfd;
	uint16_t	signalled_used;
	bool		signalled_used_valid;
	bool		call_pending;	/* used entries published, guest not called yet */
	uint64_t	calls;		/* eventfd writes done */

	/* Interrupt coalescing (SPDK's semantics). */
	uint32_t	req_cnt;	/* requests completed since the last stats check */
	uint64_t	irq_delay_us;	/* current delay; 0 = call at once */
	uint64_t	next_call_us;

	const struct vhost_mem		*mem;
	const struct vhost_vq_inflight_ops *inflight;
	void				*inflight_ctx;

	uint32_t	inflight_cnt;	/* popped and not pushed */
};

/* One request popped from a ring. */
struct vhost_vq_elem {
	uint16_t	id;		/* split: head index; packed: buffer id */
	uint16_t	ndesc;		/* packed: ring slots the chain used */
	uint16_t	inflight_entry;	/* packed inflight bookkeeping */
	uint16_t	iovcnt;		/* iovecs filled */
	uint16_t	out_cnt;	/* the first out_cnt iovecs are device-readable */
	uint32_t	in_len;		/* total bytes of the device-writable iovecs */
	struct iovec	*iov;
};

/* Set up a ring; the caller fills ring pointers, size, fds and indexes first. 0 or -EINVAL. */
int vhost_vq_init(struct vhost_vq *vq);

/*
 * Pop the next available request into elem (elem->iov must hold iov_max
 * entries). Returns 1 (elem filled), 0 (ring empty or broken), or:
 *   -EIO     the request is malformed (bad address, length, flags, loop,
 *            too many segments, readable after writable): elem->id is valid
 *            and the caller completes it with vhost_vq_push(vq, elem, 0) or
 *            an error status;
 *   -EPROTO  the ring itself is broken (head index out of range, avail
 *            index jumped more than the ring size): vq->broken is set and
 *            nothing more is popped.
 */
int vhost_vq_pop(struct vhost_vq *vq, struct vhost_vq_elem *elem, uint16_t iov_max);
/* Split only: parse the chain at `head` (inflight resubmission). Same returns as pop. */
int vhost_vq_pop_head(struct vhost_vq *vq, uint16_t head, struct vhost_vq_elem *elem,
		      uint16_t iov_max);
/*
 * Packed only: the request a previous backend left in flight in inflight entry
 * `entry` (rebuilt from the entry's descriptor copies, inflight->get_packed),
 * after a restart whose ring position is the last used slot: advances the
 * avail position past the chain. Same returns as pop, plus -EINVAL (split, or
 * no get_packed).
 */
int vhost_vq_pop_inflight_packed(struct vhost_vq *vq, uint16_t entry, struct vhost_vq_elem *elem,
				 uint16_t iov_max);
/* True if the guest made new requests available. */
bool vhost_vq_has_avail(const struct vhost_vq *vq);

/* Publish a completed request with `len` bytes written. Sets call_pending. */
void vhost_vq_push(struct vhost_vq *vq, const struct vhost_vq_elem *elem, uint32_t len);

/*
 * Call the guest if something is pending and its suppression (flags or
 * EVENT_IDX used_event / packed driver event) lets us, honouring the
 * coalescing delay. `now_us` is the current time. Returns true if the
 * callfd was written.
 */
bool vhost_vq_flush_calls(struct vhost_vq *vq, uint64_t now_us, bool force);
/* Would the guest want a call now (without writing anything)? */
bool vhost_vq_need_call(struct vhost_vq *vq);

/*
 * Kick suppression: enable (before sleeping) or disable (while polling).
 * Enabling returns false if requests raced in (the caller must not sleep).
 */
bool vhost_vq_notify_enable(struct vhost_vq *vq);
void vhost_vq_notify_disable(struct vhost_vq *vq);

/*
 * Recompute the coalescing delay from the requests completed since the last
 * check (SPDK's vhost_vq_update_stats): delay = base * (cnt - thr) / thr when
 * cnt > thr requests per interval, else 0.
 */
void vhost_vq_coalesce_update(struct vhost_vq *vq, uint32_t delay_base_us, uint32_t io_threshold);

/* Packed rings: index with the wrap counter in bit 15 (rte_vhost's vring base format). */
uint16_t vhost_vq_packed_avail_base(const struct vhost_vq *vq);
uint16_t vhost_vq_packed_used_base(const struct vhost_vq *vq);

#endif /* VHOST_VIRTQUEUE_H */
