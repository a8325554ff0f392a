/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/virtio private structures, shared by its .c files and its unit tests. */
#ifndef VIRTIO_INTERNAL_H
#define VIRTIO_INTERNAL_H

#include "vhostd/virtio.h"

#define VIRTIO_INDIRECT_MAX	64	/* entries per indirect table */
#define VIRTIO_SLOT_SCRATCH	512	/* guest bytes per request slot */

struct virtio_mem_region {
	uint64_t	gpa;
	uint64_t	size;
	uint64_t	bump;		/* next free offset for virtio_mem_alloc_in() */
	int		fd;
	uint8_t		*hva;
};

struct virtio_mem {
	uint32_t			n;
	struct virtio_mem_region	r[VIRTIO_MEM_MAX_REGIONS];
};

enum virtio_req_kind {
	VIRTIO_REQ_BLK = 1,
	VIRTIO_REQ_SCSI_CMD,
	VIRTIO_REQ_SCSI_TMF,
	VIRTIO_REQ_SCSI_EVENT,
};

/* A request slot: header/status scratch space in guest memory. */
struct virtio_req {
	uint8_t		*scratch;	/* VIRTIO_SLOT_SCRATCH bytes of guest memory */
	uint8_t		*status;	/* where the device writes the status/response */
	virtio_req_cb	cb;
	void		*cb_arg;
	uint16_t	next_free;
	uint8_t		kind;
	bool		busy;
};

/* Per chain (split: per head descriptor; packed: per buffer id). */
struct virtio_chain {
	void		*ctx;
	uint16_t	ndescs;		/* ring descriptors the chain uses */
	uint16_t	tail;		/* split: last descriptor of the chain */
	bool		busy;
};

struct virtio_vq {
	struct virtio_dev	*dev;
	struct virtio_mem	*mem;
	uint16_t		index;
	uint16_t		size;
	bool			packed;
	bool			event_idx;
	bool			indirect;
	bool			intr_enabled;
	int			kick_fd;
	int			call_fd;

	/* split */
	struct vring_desc	*desc;
	struct vring_avail	*avail;
	struct vring_used	*used;
	uint16_t		avail_idx;	/* shadow of avail->idx */
	uint16_t		last_used_idx;
	uint16_t		used_idx;	/* shadow of used->idx: read again only once caught up */
	uint16_t		*next_free;	/* private free list (never read back from the ring) */

	/* packed */
	struct vring_packed_desc	*pdesc;
	struct vring_packed_desc_event	*driver_ev;
	struct vring_packed_desc_event	*device_ev;
	uint16_t		avail_pos;
	uint16_t		used_pos;
	bool			avail_wrap;
	bool			used_wrap;
	uint16_t		*id_next;	/* free buffer ids */
	uint16_t		id_free_head;

	uint16_t		free_head;	/* split: free descriptor list */
	uint16_t		num_free;	/* free ring descriptors */
	uint16_t		num_added;	/* since the last notify */
	struct virtio_chain	*chains;	/* [size] */
	uint8_t			*indirect_tables;	/* [size][VIRTIO_INDIRECT_MAX] descs */
	uint16_t		*raw_ndescs;	/* packed raw pushes: slots per id */

	struct virtio_req	*reqs;
	uint16_t		nreqs;
	uint16_t		req_free_head;
	uint32_t		inflight;

	/* loopback device side (virtio_vq_echo_serve) */
	uint16_t		echo_avail;	/* split: next avail idx; packed: position */
	uint16_t		echo_used;	/* split: used idx */
	bool			echo_wrap;	/* packed wrap counter (avail == used in order) */
	bool			echo_scsi;

	/* scsi eventq buffers */
	struct virtio_scsi_event	*events;
	uint16_t		nevents;
};

/*
 * Set up a virtqueue's rings, free lists and indirect tables inside `mem`.
 * `features` decides EVENT_IDX / INDIRECT / PACKED. No fds, no socket: the
 * unit tests drive it with an in-process fake device.
 */
int virtio_vq_init(struct virtio_vq *vq, struct virtio_mem *mem, uint16_t index, uint16_t size,
		   uint64_t features, uint16_t nslots);
void virtio_vq_fini(struct virtio_vq *vq);

#define VHD_VIRTIO_NOREQ 0xffffu

#endif /* VIRTIO_INTERNAL_H */
